//! The core against a real server: AWS's DynamoDB Local, started by
//! `scripts/dynamodb-local.sh run` (that is, by `make test`).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::future;
use common::*;
use connect_dynamodb_core::aws_sdk_dynamodb::config::{
    Credentials as AwsCredentials, ProvideCredentials, SharedCredentialsProvider,
};
use connect_dynamodb_core::aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, ScalarAttributeType, TimeToLiveSpecification,
};
use connect_dynamodb_core::{
    Billing, Clock, ConfigBuilder, Credentials, Error, ErrorKind, FirstUse, ItemAttribute,
    ManualClock, Secret, SessionStore, SetOptions, SetOutcome, TableProblem, TouchOutcome,
    WriteCondition,
};
use futures_util::StreamExt;

const SID: &str = "Xk9_secret-session-id-0123456789ab";

fn assert_no_secret(err: &Error) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(SID), "the session id leaked into: {text}");
        assert!(
            !text.contains("localtest"),
            "a credential leaked into: {text}"
        );
    }
}

#[tokio::test]
async fn round_trip_set_get_replace_destroy() {
    let (store, requests) = fresh_store("roundtrip", |c| c).await;
    assert_eq!(store.get(SID).await.expect("get"), None);

    let json = r#"{"cookie":{"originalMaxAge":3600000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"user":"Ada Lovelace","n":[1,2.5,null],"é":"ü 🦀"}"#;
    let expires = in_secs(3600);
    store.set(SID, json, Some(expires)).await.expect("set");
    let record = store.get(SID).await.expect("get").expect("found");
    assert_eq!(
        record.session, json,
        "the JSON text comes back byte for byte"
    );
    let stored = record
        .expires_at
        .duration_since(expires)
        .unwrap_or_else(|e| panic!("stored expiry earlier than asked by {:?}", e.duration()));
    assert!(
        stored < Duration::from_secs(1),
        "expiry rounded up to whole seconds"
    );

    // The item is in connect-dynamodb 3.x's format.
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    assert_eq!(item.get("type"), Some(&s("connect-session")));
    assert_eq!(item.get("sess"), Some(&s(json)));
    assert!(
        !expires_of(&item).contains('.'),
        "whole seconds are written"
    );

    store
        .set(SID, r#"{"v":2}"#, Some(expires))
        .await
        .expect("replace");
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        r#"{"v":2}"#
    );

    // Reads are strongly consistent by default.
    assert!(
        requests
            .last_body("GetItem")
            .expect("a GetItem was sent")
            .contains(r#""ConsistentRead":true"#)
    );

    store.destroy(SID).await.expect("destroy");
    assert_eq!(store.get(SID).await.expect("get"), None);
    assert_tombstone(&store, &format!("sess:{SID}")).await;
    store
        .destroy(SID)
        .await
        .expect("destroying a missing session is fine");
}

#[tokio::test]
async fn eventually_consistent_reads_when_asked() {
    let (store, requests) = fresh_store("eventual", |c| c.consistent_read(false)).await;
    store.set(SID, "{}", Some(in_secs(60))).await.expect("set");
    store.get(SID).await.expect("get");
    assert!(
        requests
            .last_body("GetItem")
            .expect("a GetItem was sent")
            .contains(r#""ConsistentRead":false"#)
    );
}

#[tokio::test]
async fn custom_hash_key_and_prefix() {
    let (store, _) = fresh_store("custom", |c| c.hash_key("pk").prefix("app1/")).await;
    store
        .set("abc", "[]", Some(in_secs(60)))
        .await
        .expect("set");
    assert!(get_raw(&store, "app1/abc").await.is_some());
    assert_eq!(store.ids().await.expect("ids"), ["abc"]);
}

#[tokio::test]
async fn sessions_without_expiry_get_the_default_lifetime() {
    let (store, _) = fresh_store("lifetime", |c| {
        c.default_lifetime(Duration::from_secs(7200))
    })
    .await;
    let before = now_secs();
    store.set(SID, "{}", None).await.expect("set");
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    let expires: f64 = expires_of(&item).parse().expect("number");
    assert!(
        expires >= before + 7200.0 && expires <= now_secs() + 7201.0,
        "{expires}"
    );

    // One day by default, as in connect-dynamodb.
    let (store, _) = fresh_store("lifetime-default", |c| c).await;
    store.set(SID, "{}", None).await.expect("set");
    let record = store.get(SID).await.expect("get").expect("found");
    let left = record
        .expires_at
        .duration_since(SystemTime::now())
        .expect("in the future");
    assert!(left > Duration::from_secs(86_400 - 60) && left <= Duration::from_secs(86_401));
}

#[tokio::test]
async fn expired_sessions_are_never_returned() {
    let (store, _) = fresh_store("expiry", |c| c).await;
    // Already expired when written: stored, never returned.
    store
        .set(SID, "{}", Some(SystemTime::now() - Duration::from_secs(1)))
        .await
        .expect("set");
    assert_eq!(store.get(SID).await.expect("get"), None);
    assert!(get_raw(&store, &format!("sess:{SID}")).await.is_some());

    // `expires` equal to now is expired; one second ahead is live.
    let now = now_secs().floor();
    put_raw(
        &store,
        &[
            ("id", s("sess:at-now")),
            ("expires", n(now)),
            ("sess", s("{}")),
        ],
    )
    .await;
    assert_eq!(store.get("at-now").await.expect("get"), None);

    // A session that expires while in use: live, then gone, with no help from TTL. The store
    // reads the time from a clock the test moves, so nothing waits on the wall clock.
    let clock = ManualClock::starting_now();
    let (store, _) = fresh_store("expiry-clock", |c| c.clock(clock.clone())).await;
    store
        .set(
            "short",
            r#"{"a":1}"#,
            Some(clock.now() + Duration::from_millis(1500)),
        )
        .await
        .expect("set");
    assert!(store.get("short").await.expect("get").is_some());
    clock.advance(Duration::from_secs(1)).expect("advance");
    assert!(store.get("short").await.expect("get").is_some());
    clock.advance(Duration::from_millis(1600)).expect("advance");
    assert_eq!(store.get("short").await.expect("get"), None);
    assert!(
        get_raw(&store, "sess:short").await.is_some(),
        "the item is still there"
    );
    assert!(
        !store
            .ids()
            .await
            .expect("ids")
            .contains(&"short".to_owned())
    );
}

/// Converts DynamoDB JSON (`{"S": ...}`, `{"N": ...}`, `{"M": {...}}`) from a vector file.
fn attribute_from_json(value: &serde_json::Value) -> AttributeValue {
    let (kind, inner) = value
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a DynamoDB JSON value");
    match kind.as_str() {
        "S" => s(inner.as_str().expect("S is a string")),
        "N" => n(inner.as_str().expect("N is a string")),
        "B" => AttributeValue::B(
            aws_smithy_types::base64::decode(inner.as_str().expect("B is base64"))
                .expect("B is base64")
                .into(),
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .expect("M is an object")
                .iter()
                .map(|(k, v)| (k.clone(), attribute_from_json(v)))
                .collect(),
        ),
        other => panic!("unsupported attribute type {other}"),
    }
}

/// The vector file, parsed.
fn vector_file() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/stored-items.json"
    ))
    .expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}

/// The store options of the vector configuration `name` (`None`: the defaults).
fn vector_config(file: &serde_json::Value, name: Option<&str>, c: ConfigBuilder) -> ConfigBuilder {
    let key = |k: &serde_json::Value| {
        let name = k.as_str().expect("key name");
        Secret::Base64(
            file["at_rest"]["keys"][name]
                .as_str()
                .expect("key")
                .to_owned(),
        )
    };
    let Some(name) = name else {
        return c.encryption_keys(Vec::new()).id_hash_key(None);
    };
    let options = &file["at_rest"]["configs"][name];
    c.encryption_keys(
        options["encryption_keys"]
            .as_array()
            .map(|keys| keys.iter().map(key).collect())
            .unwrap_or_default(),
    )
    .id_hash_key(options.get("id_hash_key").map(key))
    .compress_threshold(options["compress_threshold"].as_u64())
}

/// Writes the vectors of configuration `config` as raw items, reads each through a store of
/// that configuration, and checks `get`, `ids`, `all` and `length` against them.
async fn check_vectors(config: Option<&str>) {
    let file = vector_file();
    let items: Vec<&serde_json::Value> = file["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|v| v["config"].as_str() == config)
        .collect();
    let (store, _) = fresh_store("vectors", |c| vector_config(&file, config, c)).await;
    let now = now_secs();
    let mut expected_live = Vec::new();
    for vector in &items {
        let name = vector["name"].as_str().expect("name");
        let key = vector["key"]
            .as_str()
            .map_or_else(|| format!("sess:{name}"), str::to_owned);
        let mut attributes = vec![("id".to_owned(), s(&key))];
        if !vector["expires"].is_null() {
            let at = now + vector["expires"]["offset_secs"].as_f64().expect("offset");
            let number = match vector["expires"]["unit"].as_str().expect("unit") {
                "s" => format!("{}", at.floor()),
                "s-fraction" => format!("{at:.3}"),
                "ms" => format!("{}", (at * 1000.0).floor()),
                other => panic!("unknown unit {other}"),
            };
            attributes.push(("expires".to_owned(), n(number)));
        }
        for (k, v) in vector["attributes"].as_object().expect("attributes") {
            attributes.push((k.clone(), attribute_from_json(v)));
        }
        let borrowed: Vec<(&str, AttributeValue)> = attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        put_raw(&store, &borrowed).await;
        if vector["found"].as_bool().expect("found") {
            // Listings name a session by what its key holds after the prefix.
            expected_live.push(key["sess:".len()..].to_owned());
        }
    }
    assert!(!expected_live.is_empty() && expected_live.len() < items.len());
    for vector in &items {
        let name = vector["name"].as_str().expect("name");
        let got = store.get(name).await;
        if let Some(token) = vector["error"].as_str() {
            let err = got.expect_err(name);
            assert_eq!(err.kind().as_str(), token, "{name}: {err}");
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got.is_some(),
            vector["found"].as_bool().expect("found"),
            "{name}"
        );
        if let Some(record) = got {
            let sess = vector["session"]
                .as_str()
                .or_else(|| vector["attributes"]["sess"]["S"].as_str())
                .expect("session text");
            assert_eq!(record.session, sess, "{name}");
            let offset = vector["expires"]["offset_secs"].as_f64().expect("offset");
            let left = record
                .expires_at
                .duration_since(SystemTime::now())
                .expect("in the future")
                .as_secs_f64();
            assert!(
                (left - offset).abs() < 5.0,
                "{name}: {left} s left, expected {offset}"
            );
        }
    }
    // ids, all and length agree with get (a session get cannot read is left out).
    let mut ids = store.ids().await.expect("ids");
    ids.sort();
    expected_live.sort();
    assert_eq!(ids, expected_live);
    let mut all: Vec<String> = store
        .all()
        .await
        .expect("all")
        .into_iter()
        .map(|(sid, _)| sid)
        .collect();
    all.sort();
    assert_eq!(all, expected_live);
    assert_eq!(
        store.length().await.expect("length"),
        expected_live.len() as u64
    );
}

#[tokio::test]
async fn reads_every_stored_item_vector() {
    check_vectors(None).await;
}

#[tokio::test]
async fn reads_every_encrypted_and_compressed_vector() {
    check_vectors(Some("at-rest")).await;
}

#[tokio::test]
async fn reads_every_hashed_id_vector() {
    check_vectors(Some("at-rest-hashed")).await;
}

#[tokio::test]
async fn touch_never_recreates_a_destroyed_or_expired_session() {
    let (store, requests) = fresh_store("touch-destroyed", |c| c).await;
    store.set(SID, "{}", Some(in_secs(600))).await.expect("set");
    store.destroy(SID).await.expect("destroy");
    assert_eq!(
        store
            .touch(SID, Some(in_secs(7200)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::NotFound
    );
    // The tombstone stays a tombstone: no ghost item, no session.
    assert_tombstone(&store, &format!("sess:{SID}")).await;

    // Never seen by this store: touch goes to DynamoDB, which refuses the condition.
    assert_eq!(
        store.touch("never-was", None).await.expect("touch").outcome,
        TouchOutcome::NotFound
    );
    assert_eq!(get_raw(&store, "sess:never-was").await, None);

    // Expired items, in seconds and in milliseconds, stay expired.
    let now = now_secs();
    for (sid, expires) in [
        ("old-secs", n((now - 5.0) as u64)),
        ("old-ms", n(((now - 5.0) * 1000.0) as u64)),
    ] {
        let key = format!("sess:{sid}");
        put_raw(
            &store,
            &[
                ("id", s(&key)),
                ("expires", expires.clone()),
                ("sess", s("{}")),
            ],
        )
        .await;
        assert_eq!(
            store
                .touch(sid, Some(in_secs(3600)))
                .await
                .expect("touch")
                .outcome,
            TouchOutcome::NotFound
        );
        let item = get_raw(&store, &key).await.expect("item");
        assert_eq!(item.get("expires"), Some(&expires), "{sid} unchanged");
        assert_eq!(store.get(sid).await.expect("get"), None);
    }

    // Damaged items stay "not found" for touch as for get: a map instead of session text, and
    // an expiry past the year 9999.
    put_raw(
        &store,
        &[
            ("id", s("sess:map")),
            ("expires", n((now + 600.0) as u64)),
            ("sess", AttributeValue::M(Default::default())),
        ],
    )
    .await;
    put_raw(
        &store,
        &[
            ("id", s("sess:far")),
            ("expires", n("1e20")),
            ("sess", s("{}")),
        ],
    )
    .await;
    for sid in ["map", "far"] {
        assert_eq!(
            store
                .touch(sid, Some(in_secs(3600)))
                .await
                .expect("touch")
                .outcome,
            TouchOutcome::NotFound,
            "{sid}"
        );
        assert_eq!(store.get(sid).await.expect("get"), None, "{sid}");
    }
    assert_eq!(
        expires_of(&get_raw(&store, "sess:far").await.expect("item")),
        "100000000000000000000"
    );

    // A live legacy millisecond item is touched into seconds.
    put_raw(
        &store,
        &[
            ("id", s("sess:live-ms")),
            ("expires", n(((now + 60.0) * 1000.0) as u64)),
            ("sess", s("{}")),
        ],
    )
    .await;
    assert_eq!(
        store
            .touch("live-ms", Some(in_secs(3600)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::Updated
    );
    let expires: f64 = expires_of(&get_raw(&store, "sess:live-ms").await.expect("item"))
        .parse()
        .expect("n");
    assert!((expires - (now + 3600.0)).abs() < 5.0, "{expires}");
    assert!(requests.count("UpdateItem") >= 4);
}

#[tokio::test]
async fn throttled_touch_sends_no_request() {
    let (store, requests) = fresh_store("touch-throttle", |c| {
        c.touch_after(Duration::from_secs(600))
    })
    .await;
    let first = in_secs(86_400);
    store
        .set(SID, r#"{"a":1}"#, Some(first))
        .await
        .expect("set");
    let (fresh, fresh_requests) = counted_store(store.config().clone()).await;

    // A read-only page view: express-session gets the session, then touches it with an expiry
    // a few seconds later than the stored one. One GetItem, nothing else.
    requests.reset();
    assert!(store.get(SID).await.expect("get").is_some());
    let outcome = store
        .touch(SID, Some(first + Duration::from_secs(5)))
        .await
        .expect("touch");
    assert_eq!(outcome.outcome, TouchOutcome::Throttled);
    assert_eq!(requests.count("GetItem"), 1);
    assert_eq!(requests.total(), 1, "the throttled touch made no request");
    // Faces ask first, without the runtime: the same decision, at once.
    let quick = store
        .touch_if_throttled(SID, Some(first + Duration::from_secs(5)))
        .expect("decided");
    assert_eq!(quick, Some(outcome));
    assert_eq!(
        store
            .touch_if_throttled(SID, Some(first + Duration::from_secs(3600)))
            .expect("decided"),
        None,
        "a touch past the throttle needs a request"
    );
    assert_eq!(
        store
            .touch_if_throttled("never-seen", None)
            .expect("decided"),
        None
    );
    assert_eq!(
        store
            .touch_if_throttled("", None)
            .expect_err("empty id")
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(requests.total(), 1, "deciding sends nothing");
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    let stored: f64 = expires_of(&item).parse().expect("n");
    // A throttled touch reports the expiry that stays stored, not the one it was given.
    assert_eq!(
        outcome
            .expires_at
            .map(connect_dynamodb_core::expiry::epoch_secs),
        Some(stored)
    );

    // A touch that moves the expiry by more than touch_after writes, once.
    requests.reset();
    let later = first + Duration::from_secs(3600);
    let touched = store.touch(SID, Some(later)).await.expect("touch");
    assert_eq!(touched.outcome, TouchOutcome::Updated);
    assert_eq!(
        touched
            .expires_at
            .and_then(|t| connect_dynamodb_core::expiry::stored_secs(t).ok()),
        connect_dynamodb_core::expiry::stored_secs(later).ok(),
        "an updated touch reports the expiry it wrote"
    );
    assert_eq!(requests.count("UpdateItem"), 1);
    let moved: f64 = expires_of(&get_raw(&store, &format!("sess:{SID}")).await.expect("item"))
        .parse()
        .expect("n");
    assert!((moved - stored - 3600.0).abs() < 2.0, "{stored} -> {moved}");
    // ...and the next small move is throttled again.
    requests.reset();
    assert_eq!(
        store
            .touch(SID, Some(later + Duration::from_secs(1)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::Throttled
    );
    assert_eq!(requests.total(), 0);

    // A store that has not seen the session's expiry cannot skip the write.
    assert_eq!(
        fresh
            .touch(SID, Some(later + Duration::from_secs(2)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::Updated
    );
    assert_eq!(fresh_requests.count("UpdateItem"), 1);

    // Sessions shorter than ten times touch_after are throttled by a tenth of their lifetime,
    // so an active short session never runs out.
    requests.reset();
    store
        .set("short", "{}", Some(in_secs(300)))
        .await
        .expect("set");
    assert_eq!(
        store
            .touch("short", Some(in_secs(300 + 40)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::Updated
    );
    assert_eq!(
        store
            .touch("short", Some(in_secs(300 + 45)))
            .await
            .expect("touch")
            .outcome,
        TouchOutcome::Throttled
    );
    assert_eq!(requests.count("UpdateItem"), 1);
}

#[tokio::test]
async fn touch_after_zero_always_writes() {
    let (store, requests) = fresh_store("touch-always", |c| c.touch_after(Duration::ZERO)).await;
    store.set(SID, "{}", Some(in_secs(600))).await.expect("set");
    for i in 1..=3 {
        assert_eq!(
            store
                .touch(SID, Some(in_secs(600 + i)))
                .await
                .expect("touch")
                .outcome,
            TouchOutcome::Updated
        );
    }
    assert_eq!(requests.count("UpdateItem"), 3);
}

#[tokio::test]
async fn three_thousand_sessions_through_ids_all_length_clear() {
    let (store, requests) = fresh_store("many", |c| c).await;
    // About 2 KB a session: 3,000 of them span more than one 1 MB scan page per segment.
    let padding = "x".repeat(2000);
    let expires = in_secs(3600);
    let sids: Vec<String> = (0..3000).map(|i| format!("sid-{i:05}")).collect();
    futures_util::stream::iter(sids.iter())
        .map(|sid| {
            let store = store.clone();
            let json = format!(r#"{{"sid":"{sid}","pad":"{padding}"}}"#);
            async move { store.set(sid, &json, Some(expires)).await }
        })
        .buffer_unordered(32)
        .for_each(|r| async { assert_eq!(r.expect("set"), SetOutcome::Written) })
        .await;
    // Neighbours that must be left alone or left out.
    for i in 0..10 {
        put_raw(
            &store,
            &[
                ("id", s(&format!("other:{i}"))),
                ("expires", n((now_secs() + 600.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
    }
    for i in 0..5 {
        put_raw(
            &store,
            &[
                ("id", s(&format!("sess:expired-{i}"))),
                ("expires", n((now_secs() - 60.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
        put_raw(
            &store,
            &[
                ("id", s(&format!("sess:ghost-{i}"))),
                ("expires", n((now_secs() + 600.0) as u64)),
            ],
        )
        .await;
    }
    let expected: HashSet<String> = sids.iter().cloned().collect();

    requests.reset();
    let ids = store.ids().await.expect("ids");
    assert_eq!(ids.len(), 3000);
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), expected);

    let all = store.all().await.expect("all");
    assert_eq!(all.len(), 3000);
    for (sid, record) in &all {
        assert!(
            record.session.contains(&format!(r#""sid":"{sid}""#)),
            "{sid}"
        );
    }
    let scans = requests.count("Scan");
    let segments = u64::from(store.config().scan_segments());
    assert!(
        scans >= 2 * segments,
        "`all` followed page after page ({scans} scans)"
    );

    assert_eq!(store.length().await.expect("length"), 3000);

    let report = store.clear().await.expect("clear");
    assert_eq!(
        report.deleted,
        3000 + 10,
        "live, expired and ghost items of the prefix"
    );
    assert_eq!(store.length().await.expect("length"), 0);
    let mut left = all_raw_keys(&store).await;
    left.sort();
    let others: Vec<String> = (0..10).map(|i| format!("other:{i}")).collect();
    assert_eq!(left, others, "other prefixes are left alone");
}

#[tokio::test]
async fn a_reaper_pass_deletes_expired_sessions_of_its_prefix_only() {
    let (store, _) = fresh_store("reap", |c| c.scan_segments(2)).await;
    let now = now_secs();
    for i in 0..10 {
        store
            .set(&format!("live-{i}"), "{}", Some(in_secs(600)))
            .await
            .expect("set");
        put_raw(
            &store,
            &[
                ("id", s(&format!("sess:old-s-{i}"))),
                ("expires", n((now - 60.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
        put_raw(
            &store,
            &[
                ("id", s(&format!("sess:old-ms-{i}"))),
                ("expires", n(((now - 60.0) * 1000.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
        put_raw(
            &store,
            &[
                ("id", s(&format!("other:old-{i}"))),
                ("expires", n((now - 60.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
    }
    let report = store.reap().await.expect("reap");
    assert_eq!(
        report.deleted,
        20,
        "{report:?}; left: {:?}",
        all_raw_keys(&store).await
    );
    assert_eq!(report.scanned, 40);
    let keys: HashSet<String> = all_raw_keys(&store).await.into_iter().collect();
    assert_eq!(keys.len(), 20, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("sess:live-") || k.starts_with("other:old-"))
    );
    assert_eq!(store.reap().await.expect("reap").deleted, 0);
}

#[tokio::test]
async fn the_background_reaper_runs_and_stops() {
    let (store, _) = fresh_store("reaper-bg", |c| {
        c.reap_interval(Some(Duration::from_secs(1)))
    })
    .await;
    let now = now_secs();
    for i in 0..5 {
        put_raw(
            &store,
            &[
                ("id", s(&format!("sess:old-{i}"))),
                ("expires", n((now - 60.0) as u64)),
                ("sess", s("{}")),
            ],
        )
        .await;
    }
    store
        .set("live", "{}", Some(in_secs(600)))
        .await
        .expect("set");
    let mut reaper = store
        .start_configured_reaper()
        .expect("start")
        .expect("configured on");
    // Wait for passes, not for time: the expired items are gone after at most a few passes.
    let mut passes = 0;
    while all_raw_keys(&store).await.len() > 1 {
        passes = tokio::time::timeout(Duration::from_secs(10), reaper.next_pass())
            .await
            .expect("a pass ends within ten seconds")
            .expect("the reaper is running");
        assert!(passes <= 5, "five passes did not reap five expired items");
    }
    assert!(passes >= 1 && reaper.passes() >= 1);
    assert_eq!(all_raw_keys(&store).await, ["sess:live"]);
    assert!(!reaper.is_finished());
    tokio::time::timeout(Duration::from_secs(5), reaper.stop())
        .await
        .expect("stop returns promptly");

    // Off unless configured.
    let (plain, _) = fresh_store("reaper-off", |c| c).await;
    assert!(plain.start_configured_reaper().expect("ok").is_none());
}

#[tokio::test]
async fn create_wait_and_verify_a_table() {
    let table = unique_table("create");
    let (store, requests) = counted_store(local_config(&table).build().expect("config")).await;
    let err = store.verify_table().await.expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::TableNotFound);
    assert!(!store.table_exists().await.expect("describe"));

    let setup = store.create_table().await.expect("create");
    assert!(setup.created);
    assert!(setup.report.is_ok(), "{:?}", setup.report);
    assert!(store.table_exists().await.expect("describe"));
    assert_eq!(requests.count("CreateTable"), 1);
    assert_eq!(requests.count("UpdateTimeToLive"), 1);
    let description = store
        .client()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let t = description.table.expect("table");
    assert_eq!(
        t.billing_mode_summary.and_then(|b| b.billing_mode),
        Some(BillingMode::PayPerRequest)
    );
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("ttl");
    let ttl = ttl.time_to_live_description.expect("ttl description");
    assert_eq!(ttl.attribute_name.as_deref(), Some("expires"));

    // A second call finds the table and changes nothing.
    requests.reset();
    let again = store.create_table().await.expect("again");
    assert!(!again.created && again.report.is_ok());
    assert_eq!(
        requests.count("CreateTable") + requests.count("UpdateTimeToLive"),
        0
    );

    // Provisioned capacity when asked.
    let table = unique_table("provisioned");
    let config = local_config(&table)
        .billing(Billing::Provisioned { read: 3, write: 4 })
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    store.create_table().await.expect("create");
    let t = store
        .client()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    let throughput = t.provisioned_throughput.expect("throughput");
    assert_eq!(
        (
            throughput.read_capacity_units,
            throughput.write_capacity_units
        ),
        (Some(3), Some(4))
    );
}

#[tokio::test]
async fn verify_reports_what_is_wrong() {
    let table = unique_table("wrong");
    let (store, _) = counted_store(local_config(&table).build().expect("config")).await;
    // A table made by hand: key `pk`, no TTL.
    create_table_by_hand(&store, "pk", ScalarAttributeType::N).await;
    let report = store.verify_table().await.expect("verify");
    assert_eq!(
        report.problems,
        [
            TableProblem::KeySchema {
                expected: "HASH id (S)".into(),
                found: "HASH pk (N)".into()
            },
            TableProblem::TtlDisabled,
        ]
    );
    assert!(report.problems[0].to_string().contains("HASH pk (N)"));

    // TTL on another attribute is reported, and create_table leaves it alone.
    store
        .client()
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("ttl");
    let setup = store.create_table().await.expect("setup");
    assert!(!setup.created);
    assert!(
        setup
            .report
            .problems
            .contains(&TableProblem::TtlOnOtherAttribute {
                attribute: "ttl".into()
            })
    );
}

#[tokio::test]
async fn concurrent_creators_create_the_table_once() {
    let table = unique_table("race");
    let config = local_config(&table).build().expect("config");
    let mut stores = Vec::new();
    for _ in 0..12 {
        stores.push(counted_store(config.clone()).await.0);
    }
    let setups =
        futures_util::future::join_all(stores.iter().map(SessionStore::create_table)).await;
    let mut created = 0;
    for setup in setups {
        let setup = setup.expect("every caller ends with a usable table");
        assert!(setup.report.is_ok(), "{:?}", setup.report);
        created += usize::from(setup.created);
    }
    assert_eq!(created, 1, "exactly one caller created the table");
    stores[3].set(SID, "{}", None).await.expect("usable");
    assert!(stores[7].get(SID).await.expect("get").is_some());
}

#[tokio::test]
async fn conditional_writes_report_conflicts() {
    let (store, _) = fresh_store("conditional", |c| c).await;
    store
        .set_with(SID, r#"{"v":1}"#, None, WriteCondition::IfAbsent)
        .await
        .expect("create");
    let err = store
        .set_with(SID, r#"{"v":2}"#, None, WriteCondition::IfAbsent)
        .await
        .expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_no_secret(&err);
    store
        .set_with(SID, r#"{"v":3}"#, None, WriteCondition::IfPresent)
        .await
        .expect("update");
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        r#"{"v":3}"#
    );

    store.destroy(SID).await.expect("destroy");
    let err = store
        .set_with(SID, "{}", None, WriteCondition::IfPresent)
        .await
        .expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_tombstone(&store, &format!("sess:{SID}")).await;

    // An expired or ghost item does not block a create.
    put_raw(
        &store,
        &[
            ("id", s("sess:old")),
            ("expires", n((now_secs() - 1.0) as u64)),
            ("sess", s("{}")),
        ],
    )
    .await;
    store
        .set_with("old", r#"{"new":true}"#, None, WriteCondition::IfAbsent)
        .await
        .expect("over expired");
    put_raw(
        &store,
        &[
            ("id", s("sess:ghost")),
            ("expires", n((now_secs() + 60.0) as u64)),
        ],
    )
    .await;
    store
        .set_with("ghost", "{}", None, WriteCondition::IfAbsent)
        .await
        .expect("over ghost");
}

#[tokio::test]
async fn extra_attributes_are_written_beside_the_session() {
    let (store, _) = fresh_store("extra", |c| c).await;
    let options = SetOptions {
        condition: WriteCondition::Always,
        attributes: vec![
            ("userId".to_owned(), ItemAttribute::S("u-42".into())),
            ("visits".to_owned(), ItemAttribute::N("7".into())),
            ("blob".to_owned(), ItemAttribute::B(vec![0, 1, 2])),
        ],
        ..SetOptions::default()
    };
    store
        .set_with(SID, r#"{"userId":"u-42"}"#, None, options)
        .await
        .expect("set");
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    assert_eq!(item.get("userId"), Some(&s("u-42")));
    assert_eq!(item.get("visits"), Some(&n(7)));
    assert_eq!(
        item.get("blob"),
        Some(&AttributeValue::B(vec![0u8, 1, 2].into()))
    );
    assert_eq!(item.get("type"), Some(&s("connect-session")));
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        r#"{"userId":"u-42"}"#
    );

    let clash = SetOptions {
        condition: WriteCondition::Always,
        attributes: vec![("expires".to_owned(), ItemAttribute::N("1".into()))],
        ..SetOptions::default()
    };
    let err = store
        .set_with(SID, "{}", None, clash)
        .await
        .expect_err("clash");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        get_raw(&store, &format!("sess:{SID}"))
            .await
            .expect("item")
            .contains_key("userId")
    );
}

#[tokio::test]
async fn a_callers_credentials_provider_is_asked_and_cached() {
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicU32);
    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(AwsCredentials::new(
                "fromprovider",
                "fromprovider",
                None,
                Some(SystemTime::now() + Duration::from_secs(3600)),
                "test",
            )))
        }
    }
    let provider = std::sync::Arc::new(Counting::default());
    let table = unique_table("provider");
    let config = connect_dynamodb_core::Config::builder()
        .table(&table)
        .endpoint(endpoint())
        .region("us-east-1")
        .credentials_provider(SharedCredentialsProvider::new(ProviderRef(
            provider.clone(),
        )))
        .build()
        .expect("config");
    let store = SessionStore::connect(config).await.expect("store");
    store.create_table().await.expect("create");
    store.set(SID, "{}", None).await.expect("set");
    assert!(store.get(SID).await.expect("get").is_some());
    let asked = provider.0.load(std::sync::atomic::Ordering::SeqCst);
    assert!(asked >= 1, "the provider was asked");
    assert!(
        asked <= 2,
        "its credentials were cached, asked {asked} times for 6 requests"
    );

    #[derive(Debug)]
    struct ProviderRef(std::sync::Arc<Counting>);
    impl ProvideCredentials for ProviderRef {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.provide_credentials()
        }
    }
}

#[tokio::test]
async fn bad_arguments_fail_before_any_request() {
    let (store, requests) = fresh_store("bad-args", |c| c).await;
    store
        .set(SID, r#"{"kept":true}"#, Some(in_secs(600)))
        .await
        .expect("set");
    requests.reset();

    let huge = format!(r#"{{"blob":"{}"}}"#, "x".repeat(400 * 1024));
    let err = store.set(SID, &huge, None).await.expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::ItemTooLarge);
    assert_no_secret(&err);

    let err = store
        .set(SID, "{not json", None)
        .await
        .expect_err("not json");
    assert_eq!(err.kind(), ErrorKind::Serialization);
    assert_no_secret(&err);

    for sid in ["".to_owned(), "s".repeat(2048)] {
        let err = store.get(&sid).await.expect_err("bad sid");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err = store.touch(&sid, None).await.expect_err("bad sid");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(!err.to_string().contains(&"s".repeat(100)));
    }
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(200_000_000_000);
    let err = store
        .set(SID, "{}", Some(far))
        .await
        .expect_err("far future");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    assert_eq!(requests.total(), 0, "nothing was sent");
    let kept = store.get(SID).await.expect("get").expect("still there");
    assert_eq!(
        kept.session, r#"{"kept":true}"#,
        "what was stored stays as it was"
    );
}

#[tokio::test]
async fn the_servers_own_item_size_error_is_what_the_mapping_expects() {
    // The store refuses oversized sessions before sending them; should one reach DynamoDB
    // anyway (another writer's attributes), its error is mapped to ITEM_TOO_LARGE by code and
    // message. This holds that rule against the real server.
    let (store, _) = fresh_store("server-size", |c| c).await;
    let err = store
        .client()
        .put_item()
        .table_name(store.config().table())
        .item("id", s("sess:big"))
        .item("sess", s(&"x".repeat(401 * 1024)))
        .send()
        .await
        .expect_err("over the limit")
        .into_service_error();
    use connect_dynamodb_core::aws_sdk_dynamodb::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("ValidationException"));
    let message = err.message().unwrap_or_default().to_ascii_lowercase();
    assert!(message.contains("item size"), "{message}");
}

#[tokio::test]
async fn missing_table_is_table_not_found() {
    let config = local_config(&unique_table("missing"))
        .first_use(FirstUse::Nothing)
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    for err in [
        store.get(SID).await.expect_err("get"),
        store.set(SID, "{}", None).await.expect_err("set"),
        store.touch(SID, None).await.expect_err("touch"),
        store.destroy(SID).await.expect_err("destroy"),
        store.ids().await.expect_err("ids"),
        store.clear().await.expect_err("clear"),
        store.reap().await.expect_err("reap"),
    ] {
        assert_eq!(err.kind(), ErrorKind::TableNotFound, "{err}");
        assert!(!err.is_retryable());
        assert!(
            std::error::Error::source(&err).is_some(),
            "the SDK error is kept"
        );
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn invalid_credentials_are_auth() {
    // DynamoDB Local accepts only access keys of letters and digits.
    let table = unique_table("auth");
    let config = local_config(&table)
        .credentials(Credentials::new("bad_key-!", "localtest", None))
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let err = store.get(SID).await.expect_err("auth");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("bad_key"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_stopped_server_is_transport() {
    // A port nobody listens on is a stopped server.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = local_config("sessions")
        .endpoint(format!("http://127.0.0.1:{port}"))
        .max_attempts(2)
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let started = Instant::now();
    let err = store.get(SID).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_server_that_never_answers_is_timeout() {
    // Accepts connections, reads nothing, answers nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = local_config("sessions")
        .endpoint(format!("http://127.0.0.1:{port}"))
        .attempt_timeout(Duration::from_millis(500))
        .max_attempts(2)
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), store.get(SID))
        .await
        .expect("the store gave up by itself")
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_no_secret(&err);

    // The defaults bound a hung server too: no call waits forever.
    let config = local_config("sessions")
        .endpoint(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let err = tokio::time::timeout(Duration::from_secs(60), store.destroy(SID))
        .await
        .expect("the default operation timeout ends the call")
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn first_use_creates_checks_or_leaves_the_table() {
    // Create, the default: the first session call creates the missing table, once.
    let config = local_config(&unique_table("first-create"))
        .build()
        .expect("config");
    assert_eq!(config.first_use(), FirstUse::Create);
    let (store, requests) = counted_store(config.clone()).await;
    let (other, _) = counted_store(config).await;
    let (a, b) = tokio::join!(store.set(SID, "{}", None), other.set("b", "{}", None));
    a.expect("set creates the table");
    b.expect("a concurrent first use waits for it");
    assert!(store.get(SID).await.expect("get").is_some());
    assert!(store.verify_table().await.expect("verify").is_ok());
    // Later calls make no table request.
    requests.reset();
    assert!(store.get("b").await.expect("get").is_some());
    assert_eq!(requests.total(), 1);

    // Check: a missing table is TABLE_NOT_FOUND and nothing is created.
    let config = local_config(&unique_table("first-check"))
        .first_use(FirstUse::Check)
        .build()
        .expect("config");
    let (store, requests) = counted_store(config).await;
    let err = store.get(SID).await.expect_err("missing table");
    assert_eq!(err.kind(), ErrorKind::TableNotFound, "{err}");
    assert_eq!(requests.count("CreateTable"), 0);
    assert!(!store.table_exists().await.expect("describe"));

    // Nothing: no table request at all; DynamoDB's own answer is the error.
    let config = local_config(&unique_table("first-nothing"))
        .first_use(FirstUse::Nothing)
        .build()
        .expect("config");
    let (store, requests) = counted_store(config).await;
    let err = store.get(SID).await.expect_err("missing table");
    assert_eq!(err.kind(), ErrorKind::TableNotFound, "{err}");
    assert_eq!(requests.count("DescribeTable"), 0);
    assert_eq!(requests.count("GetItem"), 1);
}

#[tokio::test]
async fn a_large_session_is_checked_again_whenever_its_stored_text_changes() {
    // A store remembers the last large text of a session it found to be JSON, so that reading
    // the same text again needs no check; any other text, written by anyone, is checked.
    let (store, _) = fresh_store("known-json", |c| c).await;
    let key = format!("{}{SID}", store.config().prefix());
    let large = |tag: &str| format!(r#"{{"tag":"{tag}","cart":[{}0]}}"#, "12345,".repeat(2000));
    let valid = large("a");
    assert!(valid.len() > 8 * 1024);
    // Another writer's item, an hour from expiry.
    let put_by_hand = |text: String| {
        let store = &store;
        let key = key.clone();
        async move {
            put_raw(
                store,
                &[
                    ("id", s(&key)),
                    ("expires", n((now_secs() + 3600.0).floor())),
                    ("type", s("connect-session")),
                    ("sess", s(&text)),
                ],
            )
            .await;
        }
    };
    let read = || async { store.get(SID).await.expect("get").map(|r| r.session) };

    store.set(SID, &valid, None).await.expect("set");
    assert_eq!(read().await.as_deref(), Some(valid.as_str()));
    assert_eq!(read().await.as_deref(), Some(valid.as_str()));
    // Damaged by another writer, one character short of the text this store wrote and read.
    put_by_hand(valid[..valid.len() - 1].to_owned()).await;
    assert_eq!(read().await, None);
    // Damaged at the same length, in the middle or at the end, each time just after the store
    // read (and so knows) the valid text again.
    let end = format!("{}x", &valid[..valid.len() - 1]);
    for damaged in [valid.replacen("\"cart\":", "\"cart\" ", 1), end] {
        assert_eq!(damaged.len(), valid.len());
        put_by_hand(valid.clone()).await;
        assert_eq!(read().await.as_deref(), Some(valid.as_str()));
        put_by_hand(damaged).await;
        assert_eq!(read().await, None);
    }
    let other = large("b");
    put_by_hand(other.clone()).await;
    assert_eq!(read().await.as_deref(), Some(other.as_str()));
    put_by_hand(valid.clone()).await;
    assert_eq!(read().await.as_deref(), Some(valid.as_str()));
}
