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
//! (every other round in reverse order) and the median batch is reported. Knobs: BENCH_ROUNDS
//! (default 9), BENCH_OPS (per batch, default 100). With BENCH_OUT set, the figures are also
//! written to `$BENCH_OUT/at-rest.json`.

#![allow(clippy::print_stdout)]

use connect_dynamodb_core::{Config, Secret, SessionStore};
use serde_json::json;
use shop::{capacity, cart_session as session};

mod bench_common;
#[path = "../tests/common/shop.rs"]
mod shop;

use bench_common::{cpu, figure, knob, local_config, machine, median, now_iso, write_results};

/// The configurations compared, each on its own key prefix of one table.
const CONFIGS: [&str; 5] = [
    "off",
    "encryption",
    "hashed ids",
    "compression",
    "all three",
];

fn config(table: &str, name: &str) -> Config {
    let mut c = local_config(table)
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

fn main() {
    let rounds = knob("BENCH_ROUNDS", 9).max(1);
    let ops = knob("BENCH_OPS", 100).max(1);
    // One thread: the calls run one after another, as one request of a web app makes them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(rounds, ops));
}

/// The name of a configuration in the results file.
fn label(name: &str) -> &str {
    if name == "off" { "options off" } else { name }
}

async fn run(rounds: usize, ops: usize) {
    let mut figures = Vec::new();
    let mut notes = Vec::new();
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
        for round in 0..rounds {
            // Every other round in reverse order, so that no configuration always comes first.
            let mut order: Vec<usize> = (0..stores.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for at in order {
                let store = &stores[at];
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
        let base_get = median(&get_cpu[0]);
        let base_set = median(&set_cpu[0]);
        for (at, name) in CONFIGS.iter().enumerate() {
            let get = median(&get_cpu[at]);
            let set = median(&set_cpu[at]);
            for (call, runs) in [("get", &get_cpu[at]), ("set", &set_cpu[at])] {
                let scenario = format!("{call}, {} KB session", size / 1024);
                figures.push(figure(&scenario, label(name), "cpu_us_per_call", runs));
            }
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
        let scenario = "50 KB session";
        figures.push(figure(scenario, label(name), "rcu_per_request", &[rcu]));
        figures.push(figure(scenario, label(name), "wcu_per_request", &[wcu]));
        notes.push(format!(
            "{}: `sess` takes {bytes} bytes of the {} byte session.",
            label(name),
            text.len()
        ));
    }
    bench_common::delete_table(&stores[0], &table).await;

    write_results(&json!({
        "bench": "at-rest",
        "title": "Rust core: the CPU and capacity units of the at-rest options",
        "machine": machine(),
        "date": now_iso(),
        "method": format!(
            "CPU time of the bench process (getrusage, user + system) per SessionStore::get and \
             per set, over batches of {ops} calls on a current-thread runtime, the \
             configurations interleaved (every other round in reverse order), {rounds} rounds, \
             median batch; each configuration on its own key prefix of one table. Encryption: \
             AES-256-GCM; hashed ids: HMAC-SHA-256; compression: DEFLATE above 4096 bytes; all \
             three together. Capacity units: one strongly consistent GetItem and one PutItem of \
             the item each configuration wrote, as DynamoDB Local reports them \
             (ReturnConsumedCapacity). Release build, DynamoDB Local on the same machine (its CPU \
             is not counted)."
        ),
        "baseline": label(CONFIGS[0]),
        "stores": CONFIGS.iter().map(|&name| label(name)).collect::<Vec<_>>(),
        "figures": figures,
        "targets": [],
        "notes": notes,
    }));
}
