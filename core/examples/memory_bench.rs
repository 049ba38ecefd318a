//! The core's memory and CPU in a Rust process (`make bench`): the resident set size when idle,
//! after a warm-up and after 100,000 mixed calls, and the CPU per call; the same calls as the C
//! face's bench (ffi/bench/memory_bench.c), made from Rust.
//!
//!   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p connect-dynamodb-core \
//!     --example memory_bench
//!
//! One store on a fresh table, on a multi-thread Tokio runtime with two workers; the calls
//! are awaited one after another in one task. About 60% `get`, 20% `set` and 20% `touch`,
//! over 1,000 session ids picked at random (a fixed seed), each session about 1 KB of JSON that
//! changes with every save. The touch throttle is 0, so every touch writes.
//!
//! RSS is the process's resident set now (/proc/self/statm): idle (the store and its table
//! created, one `get` made), after the warm-up (each id saved once, then the mix, 10,000 calls
//! in all) and after the 100,000 calls that follow; growth is the last minus the second. CPU
//! is the process's user plus system time (getrusage, all threads) per call over each tenth
//! of the 100,000 calls; the median tenth is reported. Knobs: BENCH_CALLS (default 100000),
//! BENCH_WARMUP (default 10000), BENCH_IDS (default 1000). With BENCH_OUT set, the figures are
//! also written to `$BENCH_OUT/rust-memory.json`.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use connect_dynamodb_core::SessionStore;
use serde_json::json;

mod bench_common;
// Its capacity helper is for the at-rest bench.
#[allow(dead_code)]
#[path = "../tests/common/shop.rs"]
mod shop;

use bench_common::{
    cpu, figure, knob, local_config, machine, max_rss_mib, median, now_iso, rss_mib, write_results,
};

const STORE: &str = "connect-dynamodb-core (Rust, release)";
const CHUNKS: usize = 10;
/// The RSS growth after warm-up that still counts as none: allocator noise.
const MAX_GROWTH_MIB: f64 = 1.0;

/// xorshift64*: the same sequence of calls in every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

struct Mix {
    store: SessionStore,
    ids: u64,
    random: Random,
    saves: u64,
    /// A cart of about 1 KB, without its opening brace.
    cart: String,
}

impl Mix {
    async fn save(&mut self, id: u64) {
        self.saves += 1;
        let session = format!(r#"{{"views":{},"user":"u-{id}",{}"#, self.saves, self.cart);
        self.store
            .set(&format!("bench-{id}"), &session, None)
            .await
            .expect("set");
    }

    /// One call of the mix: 60% get, 20% set, 20% touch, of a random id.
    async fn call(&mut self) {
        let r = self.random.next();
        let id = (r >> 8) % self.ids;
        let sid = format!("bench-{id}");
        match r % 10 {
            0..=5 => {
                self.store.get(&sid).await.expect("get");
            }
            6 | 7 => self.save(id).await,
            _ => {
                self.store.touch(&sid, None).await.expect("touch");
            }
        }
    }
}

fn main() {
    let calls = knob("BENCH_CALLS", 100_000).max(CHUNKS);
    let ids = knob("BENCH_IDS", 1000).max(1);
    let warmup = knob("BENCH_WARMUP", 10_000).max(ids);
    let per_chunk = calls / CHUNKS;
    let calls = per_chunk * CHUNKS;
    let table = format!("bench-rust-memory-{}", std::process::id());
    let started = Instant::now();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (idle, after_warmup, after, cpu_runs, wall) = runtime.block_on(async {
        let config = local_config(&table)
            .touch_after(Duration::ZERO)
            .build()
            .expect("config");
        let store = SessionStore::connect(config).await.expect("store");
        store.create_table().await.expect("table");
        store.get("bench-0").await.expect("get");
        let idle = rss_mib();

        let cart = shop::cart_session(1000);
        let mut mix = Mix {
            store,
            ids: ids as u64,
            random: Random(0x9e37_79b9_7f4a_7c15),
            saves: 0,
            cart: cart[1..].to_owned(),
        };
        for id in 0..ids as u64 {
            mix.save(id).await;
        }
        for _ in ids..warmup {
            mix.call().await;
        }
        let after_warmup = rss_mib();

        let mut cpu_runs = Vec::new();
        let wall = Instant::now();
        for _ in 0..CHUNKS {
            let start = cpu();
            for _ in 0..per_chunk {
                mix.call().await;
            }
            cpu_runs.push((cpu() - start).as_secs_f64() * 1e6 / per_chunk as f64);
        }
        let wall = wall.elapsed();
        let after = rss_mib();
        bench_common::delete_table(&mix.store, &table).await;
        (idle, after_warmup, after, cpu_runs, wall)
    });
    let peak = max_rss_mib();
    let growth = after - after_warmup;
    let rate = calls as f64 / wall.as_secs_f64();

    println!(
        "\nthe core in a Rust process: RSS and CPU, {calls} mixed calls (60% get, 20% set, 20% \
         touch) over {ids} ids, ~1 KB sessions (DynamoDB Local {})",
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_default()
    );
    println!("  RSS idle (store created, one call)  {idle:>8.1} MiB");
    println!("  RSS after {warmup:>6}-call warm-up        {after_warmup:>8.1} MiB");
    println!("  RSS after {calls:>6} more calls          {after:>8.1} MiB");
    println!("  growth after warm-up                {growth:>+8.2} MiB");
    println!("  peak RSS (ru_maxrss)                {peak:>8.1} MiB");
    println!(
        "  CPU per call (median of {CHUNKS} tenths)  {:>8.1} µs   ({rate:.0} calls/s wall)",
        median(&cpu_runs)
    );

    let after_label = format!("after {}k", calls / 1000);
    write_results(&json!({
        "bench": "rust-memory",
        "title": format!(
            "Rust core: process RSS and CPU per call, {}k mixed calls, 1 KB sessions",
            calls / 1000
        ),
        "machine": machine(),
        "date": now_iso(),
        "method": format!(
            "A Rust program (core/examples/memory_bench.rs, release build): one SessionStore \
             on a two-worker multi-thread Tokio runtime, the calls awaited one after another. \
             Mixed calls over {ids} ids, picked at random with a fixed seed: 60% get, 20% set \
             of a ~1 KB session that changes on every save, 20% touch with the touch throttle \
             at 0 (every touch writes). RSS from /proc/self/statm: idle (store and table \
             created, one get), after a {warmup}-call warm-up (each id saved once, then the \
             mix), after {calls} more calls; growth = the last minus the second. CPU: process \
             user + system time (getrusage) per call over each tenth of the {calls} calls, \
             median tenth. DynamoDB Local on the same machine (its CPU and memory are not \
             counted)."
        ),
        "baseline": null,
        "stores": [STORE],
        "figures": [
            figure("idle (store created, one call)", STORE, "rss_mib_idle", &[idle]),
            figure(&format!("after {}k warm-up", warmup / 1000), STORE, "rss_mib_after", &[after_warmup]),
            figure(&after_label, STORE, "rss_mib_after", &[after]),
            figure(&after_label, STORE, "rss_mib_growth", &[growth]),
            figure("mixed calls (60% get, 20% set, 20% touch)", STORE, "cpu_us_per_call", &cpu_runs),
        ],
        // "No growth after warm-up", with a MiB for the allocator's own rounding.
        "targets": [{
            "scenario": after_label,
            "metric": "rss_mib_growth",
            "store": STORE,
            "max_value": MAX_GROWTH_MIB,
        }],
        "notes": [format!(
            "Peak RSS (ru_maxrss) {peak:.1} MiB. {} calls in {:.0} s ({rate:.0} calls/s).",
            warmup + calls,
            started.elapsed().as_secs_f64()
        )],
    }));
}
