//! The ops CLI (`connect_dynamodb_core::cli`) against DynamoDB Local: every command, its text
//! and JSON output, its exit status, and the table `create-table` makes against what `iac`
//! prints.

mod common;

use std::collections::HashMap;

use common::{endpoint, fresh_store, get_raw, local_config, n, now_secs, put_raw, s, unique_table};
use connect_dynamodb_core::aws_sdk_dynamodb::types::{AttributeValue, BillingMode};
use connect_dynamodb_core::{ErrorKind, Secret, SessionStore, cli};
use serde_json::Value;

/// Runs the CLI with `args`, the process environment and the encryption variables of `keys`
/// (and no others): status, stdout, stderr.
async fn run_with(args: &[&str], keys: &[(&str, &str)]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let keys: HashMap<String, String> = keys
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let env = move |name: &str| {
        if name.starts_with("CONNECT_DYNAMODB_") {
            keys.get(name).cloned()
        } else {
            std::env::var(name).ok()
        }
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = cli::run_with_env(&args, &env, &mut out, &mut err).await;
    (
        status,
        String::from_utf8(out).expect("utf-8 stdout"),
        String::from_utf8(err).expect("utf-8 stderr"),
    )
}

async fn run(args: &[&str]) -> (i32, String, String) {
    run_with(args, &[]).await
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

async fn delete_table(store: &SessionStore) {
    let _ = store
        .client()
        .delete_table()
        .table_name(store.config().table())
        .send()
        .await;
}

#[tokio::test]
async fn create_table_makes_what_iac_prints_and_verify_passes() {
    let table = unique_table("cli-create");
    let endpoint = endpoint();
    let target = [
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--user-field",
        "userId",
    ];
    let with = |command: &[&'static str]| -> Vec<String> {
        command
            .iter()
            .map(|a| (*a).to_owned())
            .chain(target.iter().map(|a| (*a).to_owned()))
            .collect()
    };
    let created = with(&["create-table"]);
    let created: Vec<&str> = created.iter().map(String::as_str).collect();
    let (status, out, err) = run(&created).await;
    assert_eq!((status, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, format!("table {table}: created\nfit for sessions\n"));

    let again = with(&["create-table", "--json"]);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let (status, out, _) = run(&again).await;
    assert_eq!(status, 0);
    assert_eq!(
        json(&out),
        serde_json::json!({ "table": table, "created": false, "problems": [] })
    );

    let verify = with(&["verify"]);
    let verify: Vec<&str> = verify.iter().map(String::as_str).collect();
    let (status, out, _) = run(&verify).await;
    assert_eq!(
        (status, out),
        (0, format!("table {table}:\nfit for sessions\n"))
    );

    // The table DynamoDB describes is the one the CloudFormation template declares.
    let iac = with(&["iac", "--format", "cloudformation"]);
    let iac: Vec<&str> = iac.iter().map(String::as_str).collect();
    let (status, out, _) = run(&iac).await;
    assert_eq!(status, 0);
    let template = json(&out);
    let declared = &template["Resources"]["SessionsTable"]["Properties"];
    let store = SessionStore::connect(local_config(&table).build().expect("config"))
        .await
        .expect("store");
    let described = store
        .client()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    assert_eq!(
        declared["TableName"],
        described.table_name().unwrap_or_default()
    );
    assert_eq!(
        described
            .billing_mode_summary()
            .and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(declared["BillingMode"], "PAY_PER_REQUEST");
    let keys: Vec<Value> = described
        .key_schema()
        .iter()
        .map(|k| serde_json::json!({ "AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str() }))
        .collect();
    assert_eq!(declared["KeySchema"], Value::Array(keys));
    let mut definitions: Vec<Value> = described
        .attribute_definitions()
        .iter()
        .map(|d| serde_json::json!({ "AttributeName": d.attribute_name(), "AttributeType": d.attribute_type().as_str() }))
        .collect();
    definitions.sort_by_key(|d| d["AttributeName"].as_str().map(str::to_owned));
    let mut expected = declared["AttributeDefinitions"]
        .as_array()
        .expect("valid in this test")
        .clone();
    expected.sort_by_key(|d| d["AttributeName"].as_str().map(str::to_owned));
    assert_eq!(definitions, expected);
    let index = &described.global_secondary_indexes()[0];
    let declared_index = &declared["GlobalSecondaryIndexes"][0];
    assert_eq!(
        declared_index["IndexName"],
        index.index_name().unwrap_or_default()
    );
    let projection = index.projection().expect("projection");
    assert_eq!(
        declared_index["Projection"]["ProjectionType"],
        projection
            .projection_type()
            .map(|p| p.as_str())
            .unwrap_or_default()
    );
    assert_eq!(
        declared_index["Projection"]["NonKeyAttributes"],
        serde_json::json!(projection.non_key_attributes())
    );
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("ttl")
        .time_to_live_description
        .expect("ttl description");
    assert_eq!(
        declared["TimeToLiveSpecification"]["AttributeName"],
        ttl.attribute_name().unwrap_or_default()
    );
    delete_table(&store).await;
}

#[tokio::test]
async fn verify_reports_problems_with_status_3_and_a_missing_table_with_its_code() {
    let (store, _) = fresh_store("cli-verify", |c| c).await;
    let table = store.config().table().to_owned();
    let endpoint = endpoint();
    let (status, out, err) = run(&["verify", "--table", &table, "--endpoint", &endpoint]).await;
    assert_eq!((status, err.as_str()), (cli::EXIT_PROBLEMS, ""));
    assert_eq!(
        out,
        format!(
            "table {table}:\n1 problem:\n- TTL is not enabled: enable it on `expires` so \
             DynamoDB deletes expired sessions\n"
        )
    );
    let (status, out, _) = run(&[
        "verify",
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--json",
    ])
    .await;
    assert_eq!(status, cli::EXIT_PROBLEMS);
    let report = json(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(1));
    delete_table(&store).await;

    let (status, out, err) = run(&["stats", "--table", &table, "--endpoint", &endpoint]).await;
    assert_eq!(status, cli::exit_code(ErrorKind::TableNotFound));
    assert_eq!(status, 14);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "connect-dynamodb: TABLE_NOT_FOUND: the table does not exist\n"
    );
}

#[tokio::test]
async fn stats_count_a_table_of_known_contents() {
    let (store, _) = fresh_store("cli-stats", |c| c).await;
    let table = store.config().table().to_owned();
    let future = n((now_secs() + 86_400.0).ceil() as i64);
    let past = n((now_secs() - 1_000.0).floor() as i64);
    let text = |len: usize| s(&"x".repeat(len));
    for (key, attributes) in [
        (
            "sess:a",
            vec![("sess", text(10)), ("created", n(1_700_000_000))],
        ),
        (
            "sess:b",
            vec![("sess", text(300)), ("created", n(1_700_000_500))],
        ),
        (
            "sess:c",
            vec![
                ("sess", AttributeValue::B(vec![7; 5_000].into())),
                ("created", n(1_700_000_100)),
            ],
        ),
        (
            "sess:e",
            vec![("sess", s("null")), ("ended", n(1_700_000_000))],
        ),
        ("sess:f", vec![]),
        ("other:x", vec![("sess", text(10))]),
    ] {
        let mut item = vec![("id", s(key)), ("expires", future.clone())];
        item.extend(attributes);
        put_raw(&store, &item).await;
    }
    put_raw(
        &store,
        &[("id", s("sess:d")), ("expires", past), ("sess", text(10))],
    )
    .await;

    let endpoint = endpoint();
    let (status, out, err) = run(&["stats", "--table", &table, "--endpoint", &endpoint]).await;
    assert_eq!((status, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!(
            "table: {table}\nprefix: sess:\nitems: 6\nlive sessions: 3\nexpired sessions: 1\n\
             tombstones: 1\nother items: 1\n\
             sizes of live sessions (bytes of `sess` as stored):\n  under 256 B: 1\n  \
             256 B to 1 KiB: 1\n  1 KiB to 4 KiB: 0\n  4 KiB to 16 KiB: 1\n  \
             16 KiB to 64 KiB: 0\n  64 KiB and over: 0\n\
             total bytes of live sessions: 5310\nlargest live session: 5000 bytes\n\
             oldest live session: 2023-11-14T22:13:20Z (by created)\n\
             newest live session: 2023-11-14T22:21:40Z (by created)\n"
        )
    );

    // JSON on stdout, the progress of the scan on stderr only.
    let (status, out, err) = run(&[
        "stats",
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--json",
        "--progress",
        "1",
    ])
    .await;
    assert_eq!(status, 0);
    let stats = json(&out);
    assert_eq!(
        (
            &stats["items"],
            &stats["live"],
            &stats["expired"],
            &stats["tombstones"],
            &stats["other"]
        ),
        (
            &Value::from(6),
            &Value::from(3),
            &Value::from(1),
            &Value::from(1),
            &Value::from(1)
        )
    );
    let counts: Vec<u64> = stats["sizes"]
        .as_array()
        .expect("valid in this test")
        .iter()
        .map(|b| b["count"].as_u64().expect("valid in this test"))
        .collect();
    assert_eq!(counts, [1, 1, 0, 1, 0, 0]);
    assert_eq!(
        stats["oldest"],
        serde_json::json!({ "at": "2023-11-14T22:13:20Z", "epoch": 1_700_000_000, "by": "created" })
    );
    assert_eq!(stats["newest"]["epoch"], 1_700_000_500);
    assert!(!err.is_empty(), "progress lines expected");
    for line in err.lines() {
        assert!(
            line.starts_with("connect-dynamodb stats: ") && line.ends_with(" items scanned"),
            "{line}"
        );
    }

    // Another prefix sees its own items only; without creation times, by expiry.
    let (status, out, _) = run(&[
        "stats",
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--prefix",
        "other:",
        "--json",
    ])
    .await;
    assert_eq!(status, 0);
    let other = json(&out);
    assert_eq!(
        (&other["items"], &other["live"]),
        (&Value::from(1), &Value::from(1))
    );
    assert_eq!(other["oldest"]["by"], "expires");
    delete_table(&store).await;
}

#[tokio::test]
async fn reap_deletes_the_expired_items_of_the_prefix() {
    let (store, _) = fresh_store("cli-reap", |c| c).await;
    let table = store.config().table().to_owned();
    let future = n((now_secs() + 86_400.0).ceil() as i64);
    let past = n((now_secs() - 60.0).floor() as i64);
    for (key, expires) in [
        ("sess:live", &future),
        ("sess:old1", &past),
        ("sess:old2", &past),
        ("other:old", &past),
    ] {
        put_raw(
            &store,
            &[
                ("id", s(key)),
                ("expires", expires.clone()),
                ("sess", s("{}")),
            ],
        )
        .await;
    }
    let endpoint = endpoint();
    let (status, out, err) = run(&[
        "reap",
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--json",
        "--progress",
        "0",
    ])
    .await;
    assert_eq!((status, err.as_str()), (0, ""));
    let report = json(&out);
    assert_eq!(report["deleted"], 2);
    assert_eq!(report["scanned"], 4);
    assert!(get_raw(&store, "sess:live").await.is_some());
    assert!(get_raw(&store, "sess:old1").await.is_none());
    assert!(get_raw(&store, "other:old").await.is_some());
    let (status, out, _) = run(&["reap", "--table", &table, "--endpoint", &endpoint]).await;
    assert_eq!(
        (status, out),
        (
            0,
            format!("table {table}: deleted 0 expired items of 2 scanned\n")
        )
    );
    delete_table(&store).await;
}

#[tokio::test]
async fn end_user_sessions_ends_all_but_the_kept_one() {
    let table = unique_table("cli-users");
    let store = SessionStore::connect(
        local_config(&table)
            .user_field(Some("userId".into()))
            .build()
            .expect("config"),
    )
    .await
    .expect("store");
    store.create_table().await.expect("create");
    let expires = Some(std::time::SystemTime::now() + std::time::Duration::from_secs(3600));
    for sid in ["s1", "s2", "s3"] {
        store
            .set(sid, r#"{"userId":"ada"}"#, expires)
            .await
            .expect("set");
    }
    store
        .set("t1", r#"{"userId":"bob"}"#, expires)
        .await
        .expect("set");
    let endpoint = endpoint();
    let base = ["--table", table.as_str(), "--endpoint", endpoint.as_str()];

    // Without --user-field the store keeps no index: the flag is named.
    let mut args = vec!["end-user-sessions", "ada"];
    args.extend(base);
    let (status, out, err) = run(&args).await;
    assert_eq!(status, cli::exit_code(ErrorKind::InvalidConfig));
    assert_eq!(out, "");
    assert!(
        err.starts_with("connect-dynamodb: INVALID_CONFIG: invalid --user-field: "),
        "{err}"
    );

    args.extend(["--user-field", "userId", "--except", "s1"]);
    let (status, out, err) = run(&args).await;
    assert_eq!((status, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!("table {table}: ended 2 sessions of the user\n")
    );
    assert!(store.get("s1").await.expect("get").is_some());
    assert!(store.get("s2").await.expect("get").is_none());
    assert!(store.get("s3").await.expect("get").is_none());
    assert!(store.get("t1").await.expect("get").is_some());
    args.push("--json");
    let (status, out, _) = run(&args).await;
    assert_eq!(status, 0);
    assert_eq!(json(&out)["ended"], 0);
    delete_table(&store).await;
}

#[tokio::test]
async fn rotate_keys_reencrypts_under_the_first_key_of_the_environment() {
    let old = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let new = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let (writer, _) = fresh_store("cli-rotate", |c| {
        c.encryption_keys(vec![Secret::Base64(old.into())])
    })
    .await;
    let table = writer.config().table().to_owned();
    let expires = Some(std::time::SystemTime::now() + std::time::Duration::from_secs(3600));
    for sid in ["a", "b", "c"] {
        writer.set(sid, r#"{"n":1}"#, expires).await.expect("set");
    }
    let endpoint = endpoint();
    let args = [
        "rotate-keys",
        "--table",
        &table,
        "--endpoint",
        &endpoint,
        "--json",
    ];
    // Without keys there is nothing to encrypt with.
    let (status, _, err) = run_with(&args, &[]).await;
    assert_eq!(status, cli::exit_code(ErrorKind::InvalidConfig));
    assert!(err.contains("INVALID_CONFIG"), "{err}");

    let keys = format!("{new},{old}");
    let (status, out, err) = run_with(
        &args,
        &[("CONNECT_DYNAMODB_ENCRYPTION_KEYS", keys.as_str())],
    )
    .await;
    assert_eq!((status, err.as_str()), (0, ""));
    let report = json(&out);
    assert_eq!(report["rewritten"], 3);
    assert_eq!(report["unreadable"], 0);
    let reader = SessionStore::connect(
        local_config(&table)
            .encryption_keys(vec![Secret::Base64(new.into())])
            .build()
            .expect("config"),
    )
    .await
    .expect("store");
    assert_eq!(report["key"], reader.config().encryption_key_ids()[0]);
    for sid in ["a", "b", "c"] {
        assert!(
            reader
                .get(sid)
                .await
                .expect("readable under the new key alone")
                .is_some()
        );
    }
    delete_table(&writer).await;
}

#[tokio::test]
async fn a_transport_failure_exits_with_its_code() {
    let closed = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", probe.local_addr().expect("addr"))
    };
    let (status, out, err) = run(&["verify", "--endpoint", &closed]).await;
    assert_eq!(status, cli::exit_code(ErrorKind::Transport));
    assert_eq!(status, 19);
    assert_eq!(out, "");
    assert!(err.starts_with("connect-dynamodb: TRANSPORT: "), "{err}");
}

#[tokio::test]
async fn help_lists_every_command() {
    let (status, out, err) = run(&["--help"]).await;
    assert_eq!((status, err.as_str()), (0, ""));
    for command in [
        "create-table",
        "verify",
        "stats",
        "reap",
        "end-user-sessions",
        "rotate-keys",
        "iac",
    ] {
        assert!(out.contains(&format!("\n  {command}")), "{command}");
    }
    // The README quotes this text verbatim: `connect-dynamodb --help`.
}
