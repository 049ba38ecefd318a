//! What the core's benchmarks (`make bench`) share: the process's CPU time and resident set
//! size, medians, the knobs, a DynamoDB Local configuration, and the JSON results file
//! (`$BENCH_OUT/<bench>.json`, read by `scripts/bench-report.py`; the schema is described
//! there).

// Each example uses its own part of this module.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_dynamodb_core::{Config, ConfigBuilder, Credentials};
use serde_json::{Value, json};

/// A configuration for DynamoDB Local at `DYNAMODB_ENDPOINT` (`scripts/dynamodb-local.sh run`
/// sets it), with static test credentials.
pub fn local_config(table: &str) -> ConfigBuilder {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run through `make bench`");
    Config::builder()
        .table(table)
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials(Credentials::new("localtest", "localtest", None))
}

/// A whole-number knob from the environment, or its default.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this process so far (user + system, all threads).
pub fn cpu() -> Duration {
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

/// The resident set size of this process now, in MiB (`/proc/self/statm`).
pub fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("resident pages in /proc/self/statm");
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    pages * page / (1024.0 * 1024.0)
}

/// The peak resident set size of this process so far, in MiB (getrusage's ru_maxrss).
pub fn max_rss_mib() -> f64 {
    // SAFETY: as in `cpu`.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

/// The median (the upper one of an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Rounded to two decimals, for the JSON file.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// One figure of the results: the median of `runs` for a scenario, a store and a metric.
pub fn figure(scenario: &str, store: &str, metric: &str, runs: &[f64]) -> Value {
    json!({
        "scenario": scenario,
        "store": store,
        "metric": metric,
        "median": round2(median(runs)),
        "runs": runs.iter().map(|&r| round2(r)).collect::<Vec<_>>(),
    })
}

/// The machine the bench runs on: CPU model, cores, memory, OS and the Rust compiler.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let command = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let os = command("uname", &["-sr"]);
    // "rustc 1.95.0 (...)": the version alone.
    let rustc = command("rustc", &["--version"])
        .split_whitespace()
        .nth(1)
        .unwrap_or("unknown")
        .to_owned();
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gib": (memory_kib / (1024.0 * 1024.0)).round(),
        "os": os,
        "runtimes": {"rustc": rustc, "dynamodb_local": dynamodb_local_version()},
    })
}

/// The DynamoDB Local version that scripts/dynamodb-local.sh runs (`None` outside the
/// checkout).
fn dynamodb_local_version() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dynamodb-local.sh");
    std::fs::read_to_string(script)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("jar_version="))
        .map(|v| v.trim().to_owned())
}

/// Now as an ISO 8601 UTC timestamp ("2026-12-07T01:23:45Z").
pub fn now_iso() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    connect_dynamodb_core::expiry::iso8601(secs)
}

/// Writes `results` to `$BENCH_OUT/<bench>.json` when BENCH_OUT is set (`make bench` sets it);
/// prints where. Without BENCH_OUT nothing is written.
pub fn write_results(results: &Value) {
    let Ok(dir) = std::env::var("BENCH_OUT") else {
        return;
    };
    let bench = results["bench"].as_str().expect("bench name");
    std::fs::create_dir_all(&dir).expect("BENCH_OUT directory");
    let path = std::path::Path::new(&dir).join(format!("{bench}.json"));
    let text = serde_json::to_string_pretty(results).expect("JSON");
    std::fs::write(&path, text + "\n").expect("write the results");
    println!("results written to {}", path.display());
}

/// Deletes the bench's table once its figures are taken.
pub async fn delete_table(store: &connect_dynamodb_core::SessionStore, table: &str) {
    store
        .client()
        .delete_table()
        .table_name(table)
        .send()
        .await
        .expect("delete table");
}
