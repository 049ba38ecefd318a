//! What the core adds to the AWS SDK (`make bench`): the CPU this process spends per
//! `SessionStore::get` and per `SessionStore::set` against a bare aws-sdk-dynamodb GetItem and
//! PutItem of the same item (a 1 KB session under the same key), sent through the same client
//! (`SessionStore::client`), measured in the same run on one DynamoDB Local.
//!
//!   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run --release -p connect-dynamodb-core \
//!     --example sdk_overhead_bench
//!
//! Two runtime shapes, each with a store (and so a client) of its own:
//!
//! - a current-thread Tokio runtime, the calls awaited one after another inside it, as a
//!   request handler of a Rust app makes them;
//! - a multi-thread runtime with two workers, each call started from a thread outside it with
//!   `block_on`, as the C and Python faces make their blocking calls (connect-dynamodb-runtime).
//!
//! The bare calls are what an app would write by hand: a consistent GetItem of the key, its
//! `sess` text taken out; a PutItem of the four attributes the store writes (`id`, `expires`,
//! `type`, `sess`), without the store's condition that keeps a destroyed session destroyed.
//!
//! CPU is the process's user plus system time (getrusage, all threads) over a batch of calls,
//! so it counts the SDK's request signing, HTTP and JSON work; DynamoDB Local runs in another
//! process and is not counted. Batches of the bare call and the store's are interleaved (bare
//! first in even rounds, the store first in odd ones) and the median batch is reported.
//! Knobs: BENCH_ROUNDS (default 15), BENCH_OPS (calls per batch, default 300). With BENCH_OUT
//! set, the figures are also written to `$BENCH_OUT/core.json`.

#![allow(clippy::print_stdout)]

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use connect_dynamodb_core::SessionStore;
use connect_dynamodb_core::aws_sdk_dynamodb::Client;
use connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use tokio::runtime::{Builder, Runtime};

mod bench_common;
// Its capacity helper is for the at-rest bench.
#[allow(dead_code)]
#[path = "../tests/common/shop.rs"]
mod shop;

use bench_common::{cpu, figure, knob, local_config, machine, median, now_iso, write_results};

const BARE: &str = "bare aws-sdk-dynamodb call";
const STORE: &str = "SessionStore";
const SID: &str = "bench-overhead";
/// The largest ratio to the bare call that the core aims at.
const MAX_RATIO: f64 = 1.15;

/// How the calls of a batch are driven.
#[derive(Clone, Copy)]
enum Shape {
    /// All the calls of a batch awaited in one `block_on` of a current-thread runtime.
    CurrentThread,
    /// One `block_on` of a two-worker runtime per call, from the main thread.
    TwoWorkers,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::CurrentThread => "current-thread runtime",
            Shape::TwoWorkers => "2 workers",
        }
    }

    fn runtime(self) -> Runtime {
        match self {
            Shape::CurrentThread => Builder::new_current_thread().enable_all().build(),
            Shape::TwoWorkers => Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
        .expect("runtime")
    }

    /// Runs `ops` calls made by `call` and returns the CPU per call in µs.
    fn batch<F, Fut>(self, runtime: &Runtime, ops: usize, mut call: F) -> f64
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let start = cpu();
        match self {
            Shape::CurrentThread => runtime.block_on(async {
                for _ in 0..ops {
                    call().await;
                }
            }),
            Shape::TwoWorkers => {
                for _ in 0..ops {
                    runtime.block_on(call());
                }
            }
        }
        (cpu() - start).as_secs_f64() * 1e6 / ops as f64
    }
}

/// A bare GetItem of the session's item; returns the length of its `sess`.
async fn bare_get(client: &Client, table: &str, key: &str) -> usize {
    let out = client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    match out.item.as_ref().and_then(|item| item.get("sess")) {
        Some(AttributeValue::S(text)) => text.len(),
        other => panic!("sess is {other:?}"),
    }
}

/// A bare PutItem of the item the store writes for `session`, expiring in a day.
async fn bare_put(client: &Client, table: &str, key: &str, session: &str) {
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 86_400;
    client
        .put_item()
        .table_name(table)
        .item("id", AttributeValue::S(key.to_owned()))
        .item("expires", AttributeValue::N(expires.to_string()))
        .item("type", AttributeValue::S("connect-session".to_owned()))
        .item("sess", AttributeValue::S(session.to_owned()))
        .send()
        .await
        .expect("PutItem");
}

/// The runs (µs per call) of one shape: bare get, store get, bare set, store set.
struct Runs {
    get: [Vec<f64>; 2],
    set: [Vec<f64>; 2],
}

fn measure(shape: Shape, table: &str, text: &str, rounds: usize, ops: usize) -> Runs {
    let runtime = shape.runtime();
    let store = runtime
        .block_on(SessionStore::connect(
            local_config(table).build().expect("config"),
        ))
        .expect("store");
    let client = store.client().clone();
    let key = format!("{}{SID}", store.config().prefix());
    let (store, client, key) = (&store, &client, key.as_str());

    let get = |bare: bool| {
        move || async move {
            let len = if bare {
                bare_get(client, table, key).await
            } else {
                let record = store.get(SID).await.expect("get").expect("a live session");
                record.session.len()
            };
            assert_eq!(len, text.len());
        }
    };
    let set = |bare: bool| {
        move || async move {
            if bare {
                bare_put(client, table, key, text).await;
            } else {
                store.set(SID, text, None).await.expect("set");
            }
        }
    };

    // The item, the connection and the store's first-use check, before anything is timed.
    shape.batch(&runtime, 1, set(false));
    for bare in [true, false] {
        shape.batch(&runtime, 20, get(bare));
        shape.batch(&runtime, 20, set(bare));
    }
    let mut runs = Runs {
        get: [Vec::new(), Vec::new()],
        set: [Vec::new(), Vec::new()],
    };
    for round in 0..rounds {
        let order: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for bare in order {
            let at = usize::from(!bare);
            runs.get[at].push(shape.batch(&runtime, ops, get(bare)));
        }
        for bare in order {
            let at = usize::from(!bare);
            runs.set[at].push(shape.batch(&runtime, ops, set(bare)));
        }
    }
    runs
}

fn main() {
    let rounds = knob("BENCH_ROUNDS", 15).max(1);
    let ops = knob("BENCH_OPS", 300).max(1);
    let table = format!("bench-sdk-overhead-{}", std::process::id());
    let text = shop::cart_session(1024);

    let setup = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    setup.block_on(async {
        let store = SessionStore::connect(local_config(&table).build().expect("config"))
            .await
            .expect("store");
        store.create_table().await.expect("table");
    });

    println!(
        "\nthe core against the bare SDK: CPU of this process per call, median of {rounds} \
         batches of {ops}, a {} byte session (DynamoDB Local {})",
        text.len(),
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_default()
    );
    println!(
        "{:<24} {:<5} {:>10} {:>10} {:>8}   target",
        "runtime", "call", "bare µs", "store µs", "ratio"
    );
    let started = std::time::Instant::now();
    let mut figures = Vec::new();
    let mut targets = Vec::new();
    for shape in [Shape::CurrentThread, Shape::TwoWorkers] {
        let runs = measure(shape, &table, &text, rounds, ops);
        for (call, pair) in [("get", &runs.get), ("set", &runs.set)] {
            let (bare, store) = (median(&pair[0]), median(&pair[1]));
            let ratio = store / bare;
            println!(
                "{:<24} {call:<5} {bare:>10.1} {store:>10.1} {ratio:>7.2}x   <= {MAX_RATIO}x: {}",
                shape.label(),
                if ratio <= MAX_RATIO { "met" } else { "not met" }
            );
            let scenario = format!("{call} ({})", shape.label());
            figures.push(figure(&scenario, BARE, "cpu_us_per_call", &pair[0]));
            figures.push(figure(&scenario, STORE, "cpu_us_per_call", &pair[1]));
            targets.push(json!({
                "scenario": scenario,
                "metric": "cpu_us_per_call",
                "store": STORE,
                "against": BARE,
                "max_ratio": MAX_RATIO,
            }));
        }
    }
    let elapsed = started.elapsed();

    setup.block_on(async {
        let store = SessionStore::connect(local_config(&table).build().expect("config"))
            .await
            .expect("store");
        bench_common::delete_table(&store, &table).await;
    });

    let results: Value = json!({
        "bench": "core",
        "title": "Rust core: SessionStore against a bare aws-sdk-dynamodb call, 1 KB session",
        "machine": machine(),
        "date": now_iso(),
        "method": format!(
            "CPU time of the bench process (getrusage, user + system, all threads) per call, \
             over batches of {ops} calls; the batches of the bare call and of the store are \
             interleaved, {rounds} rounds, median batch. The bare calls go through the store's \
             own client (SessionStore::client): a consistent GetItem of the same key, and a \
             PutItem of the same four attributes (id, expires, type, sess) without the store's \
             condition. Release build, DynamoDB Local on the same machine (its CPU is not \
             counted). Current-thread runtime: the calls awaited one after another inside it; \
             2 workers: a two-worker multi-thread runtime, one block_on per call from the main \
             thread, as the C and Python faces call the core."
        ),
        "baseline": BARE,
        "stores": [BARE, STORE],
        "figures": figures,
        "targets": targets,
        "notes": [format!(
            "The session: {} bytes of JSON. {} calls measured in {:.0} s.",
            text.len(),
            rounds * ops * 8,
            elapsed.as_secs_f64()
        )],
    });
    write_results(&results);
}
