//! The key-value mode (`connect_dynamodb_core::kv`, Litestar's stores) against DynamoDB Local,
//! with a manual clock for every expiry.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue;
use connect_dynamodb_core::kv::{DEFAULT_PREFIX, KeyValueStore, KvExpiry};
use connect_dynamodb_core::{Clock, ErrorKind, MAX_ITEM_BYTES, ManualClock, SessionStore};

/// A clock at a whole second plus 250 ms, so that the milliseconds show.
fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(1_764_000_000_250)).expect("in range")
}

async fn fresh_kv(label: &str, clock: &ManualClock) -> (KeyValueStore, Requests) {
    let clock = clock.clone();
    let (store, requests) = fresh_store(label, move |c| c.clock(clock)).await;
    let kv = KeyValueStore::new(store, DEFAULT_PREFIX).expect("valid prefix");
    (kv, requests)
}

fn store_of(kv: &KeyValueStore) -> &SessionStore {
    kv.session_store()
}

fn b(bytes: &[u8]) -> AttributeValue {
    AttributeValue::B(bytes.to_vec().into())
}

#[tokio::test]
async fn values_round_trip_in_the_documented_item_shape() {
    let clock = clock();
    let (kv, requests) = fresh_kv("kv-roundtrip", &clock).await;
    assert_eq!(kv.get("missing", None).await.expect("get"), None);
    assert_eq!(requests.count("GetItem"), 1);

    let value = b"\x00\xffbinary \xc3\xbc value";
    kv.set("key", value, Some(Duration::from_millis(60_500)))
        .await
        .expect("set");
    assert_eq!(
        kv.get("key", None).await.expect("get").as_deref(),
        Some(&value[..])
    );
    let item = get_raw(store_of(&kv), "litestar:key").await.expect("item");
    assert_eq!(item.get("type"), Some(&s("connect-kv")));
    assert_eq!(item.get("value"), Some(&b(value)));
    // 1764000000.250 + 60.5 s: exact in milliseconds, rounded up to a second for the TTL.
    assert_eq!(item.get("expires_ms"), Some(&n(1_764_000_060_750u64)));
    assert_eq!(item.get("expires"), Some(&n(1_764_000_061u64)));
    assert_eq!(item.len(), 5, "{:?}", item.keys());

    // Without an expiry (None or zero), neither expiry attribute is written.
    for never in [None, Some(Duration::ZERO)] {
        kv.set("forever", b"", never).await.expect("set");
        let item = get_raw(store_of(&kv), "litestar:forever")
            .await
            .expect("item");
        assert!(!item.contains_key("expires") && !item.contains_key("expires_ms"));
        assert_eq!(
            kv.get("forever", None).await.expect("get"),
            Some(Vec::new())
        );
        assert_eq!(
            kv.expires_in("forever").await.expect("ttl"),
            Some(KvExpiry::Never)
        );
    }

    // A set replaces the value and its expiry.
    kv.set("key", b"second", None).await.expect("replace");
    assert_eq!(
        kv.get("key", None).await.expect("get").as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(
        kv.expires_in("key").await.expect("ttl"),
        Some(KvExpiry::Never)
    );
}

#[tokio::test]
async fn any_non_empty_key_works() {
    let clock = clock();
    let (kv, _) = fresh_kv("kv-keys", &clock).await;
    let mut keys: Vec<String> = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
        .chars()
        .map(String::from)
        .collect();
    keys.extend(["foo\u{c3}\u{bc}", "..", "ключ 🔑", "a:b:c", " "].map(String::from));
    for key in &keys {
        kv.set(key, key.as_bytes(), None).await.expect("set");
    }
    for key in &keys {
        assert_eq!(
            kv.get(key, None).await.expect("get").as_deref(),
            Some(key.as_bytes()),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn values_expire_on_the_store_clock_to_the_millisecond() {
    let clock = clock();
    let (kv, _) = fresh_kv("kv-expiry", &clock).await;
    kv.set("k", b"v", Some(Duration::from_secs(1)))
        .await
        .expect("set");
    assert_eq!(
        kv.expires_in("k").await.expect("ttl"),
        Some(KvExpiry::In(Duration::from_secs(1)))
    );
    clock.advance(Duration::from_millis(999)).expect("advance");
    assert!(kv.exists("k").await.expect("exists"));
    assert_eq!(
        kv.expires_in("k").await.expect("ttl"),
        Some(KvExpiry::In(Duration::from_millis(1)))
    );
    assert!(kv.get("k", None).await.expect("get").is_some());
    // Expiry is inclusive: at the expiry the value is gone, though the item is still there
    // (DynamoDB's TTL has not run).
    clock.advance(Duration::from_millis(1)).expect("advance");
    assert_eq!(kv.get("k", None).await.expect("get"), None);
    assert!(!kv.exists("k").await.expect("exists"));
    assert_eq!(kv.expires_in("k").await.expect("ttl"), None);
    assert!(get_raw(store_of(&kv), "litestar:k").await.is_some());
    // The expiry is kept to the millisecond, rounded down: never later than asked.
    kv.set("tiny", b"v", Some(Duration::from_micros(1_500)))
        .await
        .expect("set");
    assert!(kv.exists("tiny").await.expect("exists"));
    clock.advance(Duration::from_millis(1)).expect("advance");
    assert!(!kv.exists("tiny").await.expect("exists"));
    kv.set("instant", b"v", Some(Duration::from_micros(1)))
        .await
        .expect("set");
    assert!(!kv.exists("instant").await.expect("exists"));
    // Missing keys.
    assert!(!kv.exists("nothing").await.expect("exists"));
    assert_eq!(kv.expires_in("nothing").await.expect("ttl"), None);
}

#[tokio::test]
async fn get_renews_only_values_with_an_expiry_in_one_update() {
    let clock = clock();
    let (kv, requests) = fresh_kv("kv-renew", &clock).await;
    kv.set("k", b"v", Some(Duration::from_secs(1)))
        .await
        .expect("set");
    requests.reset();
    assert_eq!(
        kv.get("k", Some(Duration::from_secs(10)))
            .await
            .expect("renew")
            .as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(requests.count("UpdateItem"), 1);
    assert_eq!(
        requests.total(),
        1,
        "the read and the renewal are one request"
    );
    clock.advance(Duration::from_secs(2)).expect("advance");
    assert!(kv.get("k", None).await.expect("get").is_some());
    assert_eq!(
        kv.expires_in("k").await.expect("ttl"),
        Some(KvExpiry::In(Duration::from_secs(8)))
    );
    let item = get_raw(store_of(&kv), "litestar:k").await.expect("item");
    assert_eq!(item.get("expires_ms"), Some(&n(1_764_000_010_250u64)));
    assert_eq!(item.get("expires"), Some(&n(1_764_000_011u64)));

    // Never throttled: a renewal by the same amount a moment later writes again.
    clock.advance(Duration::from_millis(1)).expect("advance");
    kv.get("k", Some(Duration::from_secs(10)))
        .await
        .expect("renew");
    let item = get_raw(store_of(&kv), "litestar:k").await.expect("item");
    assert_eq!(item.get("expires_ms"), Some(&n(1_764_000_012_251u64)));

    // A value without an expiry keeps none, and is returned.
    kv.set("forever", b"f", None).await.expect("set");
    assert_eq!(
        kv.get("forever", Some(Duration::from_secs(10)))
            .await
            .expect("renew")
            .as_deref(),
        Some(&b"f"[..])
    );
    assert_eq!(
        kv.expires_in("forever").await.expect("ttl"),
        Some(KvExpiry::Never)
    );

    // Zero renews nothing: a plain read.
    requests.reset();
    kv.get("k", Some(Duration::ZERO)).await.expect("get");
    assert_eq!(
        (requests.count("GetItem"), requests.count("UpdateItem")),
        (1, 0)
    );

    // A missing or expired value is not brought back.
    assert_eq!(
        kv.get("missing", Some(Duration::from_secs(10)))
            .await
            .expect("renew"),
        None
    );
    assert!(get_raw(store_of(&kv), "litestar:missing").await.is_none());
    kv.set("short", b"s", Some(Duration::from_secs(1)))
        .await
        .expect("set");
    clock.advance(Duration::from_secs(1)).expect("advance");
    assert_eq!(
        kv.get("short", Some(Duration::from_secs(10)))
            .await
            .expect("renew"),
        None
    );
    assert_eq!(kv.get("short", None).await.expect("get"), None);
}

#[tokio::test]
async fn delete_and_bulk_deletes_keep_to_their_prefix() {
    let clock = clock();
    let (kv, requests) = fresh_kv("kv-delete", &clock).await;
    kv.delete("missing").await.expect("a missing key is fine");
    kv.set("k", b"v", None).await.expect("set");
    requests.reset();
    kv.delete("k").await.expect("delete");
    assert_eq!(requests.count("DeleteItem"), 1);
    assert_eq!(kv.get("k", None).await.expect("get"), None);
    kv.delete("k").await.expect("twice");

    let child = kv.with_namespace("sessions").expect("namespace");
    assert_eq!(child.prefix(), "litestar:sessions:");
    let grandchild = child.with_namespace("rate_limit").expect("namespace");
    assert_eq!(grandchild.prefix(), "litestar:sessions:rate_limit:");
    let sibling = kv.with_namespace("response_cache").expect("namespace");
    let other = KeyValueStore::new(store_of(&kv).clone(), "litestarx:").expect("prefix");
    for (i, store) in [&kv, &child, &grandchild, &sibling, &other]
        .into_iter()
        .enumerate()
    {
        store.set("same", &[i as u8], None).await.expect("set");
        store
            .set("expiring", b"e", Some(Duration::from_secs(10)))
            .await
            .expect("set");
    }
    // Namespaces are isolated from each other.
    for (i, store) in [&kv, &child, &grandchild, &sibling, &other]
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            store.get("same", None).await.expect("get"),
            Some(vec![i as u8])
        );
    }
    store_of(&kv)
        .set("sid", "{}", Some(clock.now() + Duration::from_secs(60)))
        .await
        .expect("a session beside them");

    // A child's delete_all takes its own values and its children's.
    let report = child.delete_all().await.expect("delete_all");
    assert_eq!(report.deleted, 4);
    for gone in [&child, &grandchild] {
        assert_eq!(gone.get("same", None).await.expect("get"), None);
    }
    for kept in [&kv, &sibling, &other] {
        assert!(kept.get("same", None).await.expect("get").is_some());
    }
    // The root's takes every namespace, and leaves other prefixes and sessions alone.
    let report = kv.delete_all().await.expect("delete_all");
    assert_eq!(report.deleted, 4);
    let mut left = all_raw_keys(store_of(&kv)).await;
    left.sort();
    assert_eq!(
        left,
        ["litestarx:expiring", "litestarx:same", "sess:sid"].map(String::from)
    );
    assert!(store_of(&kv).get("sid").await.expect("get").is_some());
}

#[tokio::test]
async fn delete_expired_deletes_only_expired_values() {
    let clock = clock();
    let (kv, _) = fresh_kv("kv-expired", &clock).await;
    let child = kv.with_namespace("child").expect("namespace");
    for i in 0..10 {
        let expires_in = (i % 2 == 0).then(|| Duration::from_millis(1));
        kv.set(&format!("key-{i}"), b"v", expires_in)
            .await
            .expect("set");
    }
    child
        .set("old", b"v", Some(Duration::from_millis(1)))
        .await
        .expect("set");
    kv.set("later", b"v", Some(Duration::from_secs(60)))
        .await
        .expect("set");
    clock.advance(Duration::from_secs(1)).expect("advance");
    let report = kv.delete_expired().await.expect("delete_expired");
    assert_eq!(report.deleted, 6);
    for i in 0..10 {
        let raw = get_raw(store_of(&kv), &format!("litestar:key-{i}")).await;
        assert_eq!(raw.is_some(), i % 2 == 1, "key-{i}");
    }
    assert!(kv.exists("later").await.expect("exists"));
}

#[tokio::test]
async fn keys_prefixes_and_values_are_checked_before_sending() {
    let clock = clock();
    let (kv, requests) = fresh_kv("kv-checks", &clock).await;
    let secret_key = "k-secret-0123456789".repeat(200);
    for err in [
        kv.set("", b"v", None).await.expect_err("empty key"),
        kv.get(&secret_key, None).await.expect_err("long key"),
        kv.set("k", b"v", Some(Duration::from_secs(200_000_000_000)))
            .await
            .expect_err("too far"),
        kv.get("k", Some(Duration::MAX)).await.expect_err("too far"),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(!err.to_string().contains("k-secret"), "{err}");
    }
    let limit = 2048 - "litestar:".len();
    kv.set(&"k".repeat(limit), b"v", None)
        .await
        .expect("the longest key");
    requests.reset();
    assert_eq!(
        kv.set(&"k".repeat(limit + 1), b"v", None)
            .await
            .expect_err("one byte more")
            .kind(),
        ErrorKind::InvalidArgument
    );

    // Values up to DynamoDB's item limit.
    let overhead = "id".len() + "litestar:big".len() + "type".len() + "connect-kv".len() + 5;
    let too_big = vec![7u8; MAX_ITEM_BYTES - overhead + 1];
    assert_eq!(
        kv.set("big", &too_big, None)
            .await
            .expect_err("too big")
            .kind(),
        ErrorKind::ItemTooLarge
    );
    assert_eq!(requests.total(), 0, "refused before sending");
    let fits = &too_big[1..];
    kv.set("big", fits, None).await.expect("at the limit");
    assert_eq!(
        kv.get("big", None).await.expect("get").map(|v| v.len()),
        Some(fits.len())
    );

    let store = store_of(&kv).clone();
    for prefix in ["", "sess:", "sess:kv:", "se"] {
        let err = KeyValueStore::new(store.clone(), prefix).expect_err("refused prefix");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{prefix:?}");
    }
    for namespace in ["", "a:b", ":"] {
        let err = kv.with_namespace(namespace).expect_err("refused namespace");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{namespace:?}");
    }
    assert!(kv.with_namespace("response_cache").is_ok());
    assert!(kv.with_namespace("ünïcode-ns.1").is_ok());
}

#[tokio::test]
async fn session_operations_leave_key_value_items_alone() {
    let clock = clock();
    let (kv, _) = fresh_kv("kv-sessions", &clock).await;
    let sessions = store_of(&kv).clone();
    kv.set("live", b"v", None).await.expect("set");
    kv.set("expiring", b"v", Some(Duration::from_secs(1)))
        .await
        .expect("set");
    sessions
        .set("sid", "{}", Some(clock.now() + Duration::from_secs(60)))
        .await
        .expect("session");
    clock.advance(Duration::from_secs(5)).expect("advance");
    assert_eq!(sessions.ids().await.expect("ids"), ["sid"]);
    assert_eq!(sessions.length().await.expect("length"), 1);
    assert_eq!(sessions.reap().await.expect("reap").deleted, 0);
    sessions.clear().await.expect("clear");
    assert!(kv.exists("live").await.expect("exists"));
    assert!(
        get_raw(&sessions, "litestar:expiring").await.is_some(),
        "only its own delete_expired or the TTL deletes it"
    );

    // A session store with an empty prefix sees every key, but a key-value item is no session.
    let everything = SessionStore::with_client(
        sessions.client().clone(),
        local_config(sessions.config().table())
            .prefix("")
            .clock(clock.clone())
            .build()
            .expect("config"),
    );
    assert!(everything.ids().await.expect("ids").is_empty());
    assert_eq!(everything.get("litestar:live").await.expect("get"), None);
    let kv_on_empty = KeyValueStore::new(everything, DEFAULT_PREFIX).expect("allowed");
    assert!(kv_on_empty.exists("live").await.expect("exists"));
}

#[tokio::test]
async fn the_clock_is_shared_with_the_session_store() {
    let start = SystemTime::now();
    let clock = ManualClock::new(start).expect("now");
    let (kv, _) = fresh_kv("kv-clock", &clock).await;
    assert_eq!(kv.session_store().config().now(), start);
    kv.set("k", b"v", Some(Duration::from_secs(3600)))
        .await
        .expect("set");
    clock.advance(Duration::from_secs(3600)).expect("advance");
    assert!(!kv.exists("k").await.expect("exists"));
    assert!(format!("{kv:?}").contains("litestar:"));
}

/// With hashed ids on, keys are hashed as session ids are: the keys of Litestar's server-side
/// sessions (session ids) do not stand in the table, while the prefix and namespaces stay.
#[tokio::test]
async fn keys_are_hashed_when_session_ids_are() {
    let clock = clock();
    let (store, _) = fresh_store("kv-hashed", move |c| {
        c.clock(clock)
            .id_hash_key(Some(connect_dynamodb_core::Secret::Bytes(vec![9; 32])))
    })
    .await;
    let kv = KeyValueStore::new(store, DEFAULT_PREFIX).expect("valid prefix");
    let sessions = kv.with_namespace("sessions").expect("namespace");
    let sid = "3f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b";
    sessions.set(sid, b"{}", None).await.expect("set");
    assert_eq!(
        sessions.get(sid, None).await.expect("get").as_deref(),
        Some(&b"{}"[..])
    );
    let keys = all_raw_keys(store_of(&kv)).await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with("litestar:sessions:"), "{}", keys[0]);
    assert!(!keys[0].contains(sid) && keys[0].len() == "litestar:sessions:".len() + 43);
    sessions.delete(sid).await.expect("delete");
    assert!(all_raw_keys(store_of(&kv)).await.is_empty());
}
