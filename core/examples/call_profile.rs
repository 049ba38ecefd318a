//! The calls that `make profile` samples with perf (scripts/profile.py): one store call, over
//! and over, on a current-thread Tokio runtime, as a Rust app's request handler makes it.
//!
//!   DYNAMODB_ENDPOINT=http://127.0.0.1:8000 PROFILE_CALL=set PROFILE_BYTES=51200 \
//!     cargo run --release -p connect-dynamodb-core --example call_profile
//!
//! PROFILE_CALL is `get` or `set` (default `get`), PROFILE_BYTES the size of the session's JSON
//! (default 1024; the web shop session of the other benches), PROFILE_CALLS the calls measured
//! (default 3000) after 100 that are not. Prints one JSON line: the call, the session's bytes,
//! the calls, and the CPU this process spent per measured call (user + system, all threads,
//! getrusage). Everything before the measured calls (the runtime, the table, the first
//! connection) takes well under a tenth of the run, which is what perf samples.

#![allow(clippy::print_stdout)]

use connect_dynamodb_core::SessionStore;
use serde_json::json;
use tokio::runtime::Builder;

mod bench_common;
// Its capacity helper is for the at-rest bench.
#[allow(dead_code)]
#[path = "../tests/common/shop.rs"]
mod shop;

use bench_common::{cpu, delete_table, knob, local_config};

const SID: &str = "profile";

fn main() {
    let call = std::env::var("PROFILE_CALL").unwrap_or_else(|_| "get".to_owned());
    assert!(
        call == "get" || call == "set",
        "PROFILE_CALL is get or set, not {call:?}"
    );
    let bytes = knob("PROFILE_BYTES", 1024);
    let calls = knob("PROFILE_CALLS", 3000).max(1);
    let table = format!("profile-{}", std::process::id());
    let text = shop::cart_session(bytes);

    let runtime = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let per_call = runtime.block_on(async {
        let store = SessionStore::connect(local_config(&table).build().expect("config"))
            .await
            .expect("store");
        store.create_table().await.expect("table");
        let one = async || {
            if call == "get" {
                let record = store.get(SID).await.expect("get").expect("a live session");
                assert_eq!(record.session.len(), text.len());
            } else {
                store.set(SID, &text, None).await.expect("set");
            }
        };
        store.set(SID, &text, None).await.expect("set");
        for _ in 0..100 {
            one().await;
        }
        let before = cpu();
        for _ in 0..calls {
            one().await;
        }
        let per_call = (cpu() - before).as_secs_f64() * 1e6 / calls as f64;
        delete_table(&store, &table).await;
        per_call
    });
    println!(
        "{}",
        json!({"call": call, "bytes": text.len(), "calls": calls, "cpu_us_per_call": per_call})
    );
}
