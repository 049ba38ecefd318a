//! What the at-rest options cost the app (`make bench`): the CPU this process spends per `get`
//! and per `set` with encryption, hashed ids and compression, each against the same store
//! with all of them off, measured in the same run on one DynamoDB Local; and the item size and
//! capacity units of a 50 KB session with and without compression, as DynamoDB Local counts
//! them.
//!
//!   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p connect-dynamodb-core \
//!     --example at_rest_bench
//!
//! CPU is the process's user plus system time (getrusage) over a batch of calls, so it counts
//! the SDK's request signing, HTTP and JSON work as well as the at-rest work; DynamoDB Local
//! runs in another process and is not counted. Batches of every configuration are interleaved
//! and the median batch is reported. Knobs: BENCH_ROUNDS (default 9), BENCH_OPS (per batch,
//! default 100).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use connect_dynamodb_core::{Config, Credentials, Secret, SessionStore};
use shop::{capacity, cart_session as session};

#[path = "../tests/common/shop.rs"]
mod shop;

/// The configurations compared, each on its own key prefix of one table.
const CONFIGS: [&str; 5] = [
    "off",
    "encryption",
    "hashed ids",
    "compression",
    "all three",
];

fn config(table: &str, name: &str) -> Config {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run through `make bench`");
    let mut c = Config::builder()
        .table(table)
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(Credentials::new("localtest", "localtest", None))
        .prefix(format!("{}:", name.replace(' ', "-")))
        .encryption_keys(Vec::new())
        .id_hash_key(None);
    let encrypt = || vec![Secret::Bytes(vec![0x5a; 32])];
    let hash = || Some(Secret::Bytes(vec![0xa5; 32]));
    c = match name {
        "off" => c,
        "encryption" => c.encryption_keys(encrypt()),
        "hashed ids" => c.id_hash_key(hash()),
        // The threshold a 50 KB session passes and a 1 KB one does not.
        "compression" => c.compress_threshold(Some(4096)),
        _ => c
            .encryption_keys(encrypt())
            .id_hash_key(hash())
            .compress_threshold(Some(4096)),
    };
    c.build().expect("config")
}

/// CPU time of this process so far (user + system).
fn cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let ops: usize = std::env::var("BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    // One thread: the calls run one after another, as one request of a web app makes them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(rounds, ops));
}

async fn run(rounds: usize, ops: usize) {
    let table = format!("bench-at-rest-{}", std::process::id());
    let mut stores = Vec::new();
    for name in CONFIGS {
        let store = SessionStore::connect(config(&table, name))
            .await
            .expect("store");
        if stores.is_empty() {
            store.create_table().await.expect("table");
        }
        stores.push(store);
    }
    println!(
        "\nat-rest options: CPU of this process per call, median of {rounds} batches of {ops} \
         (DynamoDB Local {})",
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_default()
    );
    println!(
        "{:<12} {:>8} {:>12} {:>10} {:>12} {:>10}",
        "option", "session", "get µs", "added", "set µs", "added"
    );
    for size in [1024, 50 * 1024] {
        let text = session(size);
        let sid = format!("bench-session-{size}");
        for store in &stores {
            store.set(&sid, &text, None).await.expect("set");
            // Warm the connection pool and the caches.
            for _ in 0..10 {
                store.get(&sid).await.expect("get");
            }
        }
        let mut get_cpu = vec![Vec::new(); stores.len()];
        let mut set_cpu = vec![Vec::new(); stores.len()];
        for _ in 0..rounds {
            for (at, store) in stores.iter().enumerate() {
                let start = cpu();
                for _ in 0..ops {
                    let record = store.get(&sid).await.expect("get");
                    assert!(record.is_some());
                }
                get_cpu[at].push((cpu() - start).as_secs_f64() * 1e6 / ops as f64);
                let start = cpu();
                for _ in 0..ops {
                    store.set(&sid, &text, None).await.expect("set");
                }
                set_cpu[at].push((cpu() - start).as_secs_f64() * 1e6 / ops as f64);
            }
        }
        let base_get = median(get_cpu[0].clone());
        let base_set = median(set_cpu[0].clone());
        for (at, name) in CONFIGS.iter().enumerate() {
            let get = median(get_cpu[at].clone());
            let set = median(set_cpu[at].clone());
            println!(
                "{name:<12} {:>7}B {get:>12.0} {:>+10.0} {set:>12.0} {:>+10.0}   (x{:.2} get, x{:.2} set)",
                text.len(),
                get - base_get,
                set - base_set,
                get / base_get,
                set / base_set
            );
        }
    }

    let text = session(50 * 1024);
    println!(
        "\na {} byte session: `sess` size and capacity units as DynamoDB Local counts them",
        text.len()
    );
    println!(
        "{:<12} {:>10} {:>20} {:>8}",
        "option", "sess bytes", "RCU (strong read)", "WCU"
    );
    for (name, store) in CONFIGS.iter().zip(&stores) {
        // One item under the store's prefix; its key is the prefix and what `ids` lists (the
        // session id, or with hashed ids its hash).
        store.clear().await.expect("clear");
        store.set("bench-capacity", &text, None).await.expect("set");
        let ids = store.ids().await.expect("ids");
        let key = format!("{}{}", store.config().prefix(), ids[0]);
        let (rcu, wcu, bytes) = capacity(store, &key).await;
        println!("{name:<12} {bytes:>10} {rcu:>20} {wcu:>8}");
    }
    stores[0]
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("delete table");
}
