//! Sessions at rest against DynamoDB Local: encryption with rotating keys, hashed session ids
//! and compression, as the store writes and reads them, and what they cost in capacity.

mod common;

use std::collections::HashMap;

use common::*;
use connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue;
use connect_dynamodb_core::{
    ConfigBuilder, ErrorKind, MergePolicy, Secret, SessionStore, SetOptions, SetOutcome,
};

const SID: &str = "Xk9_secret-session-id-0123456789ab";
const K1: [u8; 32] = [0x11; 32];
const K2: [u8; 32] = [0x22; 32];
const K3: [u8; 32] = [0x33; 32];
const HASH_KEY: [u8; 32] = [0x44; 32];

fn keys(keys: &[[u8; 32]]) -> Vec<Secret> {
    keys.iter().map(|k| Secret::Bytes(k.to_vec())).collect()
}

/// Encryption with `with`, no hashing, no compression: whatever the environment says.
fn encrypted(with: &[[u8; 32]]) -> impl FnOnce(ConfigBuilder) -> ConfigBuilder {
    let with = keys(with);
    move |c| c.encryption_keys(with).id_hash_key(None)
}

/// Another store on the same table, with `tweak` applied to the table's plain configuration.
async fn same_table(
    store: &SessionStore,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> SessionStore {
    let config = tweak(local_config(store.config().table()))
        .build()
        .expect("config");
    counted_store(config).await.0
}

fn binary_sess(item: &HashMap<String, AttributeValue>) -> Vec<u8> {
    match item.get("sess") {
        Some(AttributeValue::B(blob)) => blob.as_ref().to_vec(),
        other => panic!("sess is {other:?}, not binary"),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn an_encrypted_session_round_trips_and_shows_nothing_at_rest() {
    let (store, requests) = fresh_store("enc", encrypted(&[K1])).await;
    let json = r#"{"cookie":{"path":"/"},"user":"Ada Lovelace","token":"tok_live_abc"}"#;
    store.set(SID, json, Some(in_secs(600))).await.expect("set");
    assert_eq!(
        requests.count("PutItem"),
        1,
        "one write, as without encryption"
    );
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    let sess = binary_sess(&item);
    assert_eq!(&sess[..2], &[1, 0x02], "format 1, encrypted");
    for secret in ["Ada", "tok_live_abc", "cookie"] {
        assert!(!contains(&sess, secret), "{secret} is readable at rest");
    }
    assert_eq!(item.get("type"), Some(&s("connect-session")));
    requests.reset();
    let record = store.get(SID).await.expect("get").expect("found");
    assert_eq!(record.session, json);
    assert_eq!(requests.total(), 1, "one GetItem");
    // touch moves the expiry without touching the ciphertext.
    store.touch(SID, Some(in_secs(7200))).await.expect("touch");
    let touched = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    assert_eq!(binary_sess(&touched), sess);
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        json
    );
    // The listing calls read it too, and destroy leaves the usual tombstone.
    assert_eq!(store.ids().await.expect("ids"), [SID]);
    assert_eq!(store.all().await.expect("all")[0].1.session, json);
    store.destroy(SID).await.expect("destroy");
    assert_tombstone(&store, &format!("sess:{SID}")).await;
    assert!(store.get(SID).await.expect("get").is_none());
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_id_or_damaged_is_not_found() {
    let (store, _) = fresh_store("enc-moved", encrypted(&[K1])).await;
    store
        .set("victim", r#"{"user":"admin"}"#, Some(in_secs(600)))
        .await
        .expect("set");
    store
        .set("attacker", r#"{"user":"mallory"}"#, Some(in_secs(600)))
        .await
        .expect("set");
    // Someone who can write the table copies the victim's session onto their own id.
    let victim = get_raw(&store, "sess:victim").await.expect("item");
    let mut copied = victim.clone();
    copied.insert("id".to_owned(), s("sess:attacker"));
    let borrowed: Vec<(&str, AttributeValue)> = copied
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    put_raw(&store, &borrowed).await;
    assert!(store.get("attacker").await.expect("get").is_none());
    // A flipped bit in the victim's own item.
    let mut damaged = victim.clone();
    let mut bytes = binary_sess(&victim);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    damaged.insert("sess".to_owned(), AttributeValue::B(bytes.into()));
    let borrowed: Vec<(&str, AttributeValue)> = damaged
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    put_raw(&store, &borrowed).await;
    assert!(store.get("victim").await.expect("get").is_none());
    // Not found means a new session may take the id: a save replaces the damaged item.
    assert_eq!(
        store
            .set("victim", r#"{"fresh":true}"#, None)
            .await
            .expect("set"),
        SetOutcome::Written
    );
    assert_eq!(
        store
            .get("victim")
            .await
            .expect("get")
            .expect("found")
            .session,
        r#"{"fresh":true}"#
    );
}

#[tokio::test]
async fn keys_rotate_without_downtime_and_reencrypt_rewrites_idle_sessions() {
    let (old, _) = fresh_store("rotate", encrypted(&[K1])).await;
    for sid in ["a", "b", "c"] {
        old.set(sid, &format!(r#"{{"sid":"{sid}"}}"#), Some(in_secs(600)))
            .await
            .expect("set");
    }
    // A session from before encryption was turned on, and one already destroyed.
    let plain = same_table(&old, |c| c.encryption_keys(Vec::new())).await;
    plain
        .set("plain", r#"{"sid":"plain"}"#, Some(in_secs(600)))
        .await
        .expect("set");
    old.set("gone", "{}", None).await.expect("set");
    old.destroy("gone").await.expect("destroy");

    // Step 1 of a rotation: K2 in front, K1 still there. Everything reads; writes use K2.
    let rotating = same_table(&old, encrypted(&[K2, K1])).await;
    for sid in ["a", "b", "c", "plain"] {
        assert!(rotating.get(sid).await.expect("get").is_some(), "{sid}");
    }
    rotating
        .set("a", r#"{"sid":"a","seen":2}"#, Some(in_secs(600)))
        .await
        .expect("set");
    // Step 2: re-encrypt the idle ones (b, c and the plain one; a is under K2 already).
    let report = rotating.reencrypt().await.expect("reencrypt");
    assert_eq!(report.rewritten, 3, "{report:?}");
    assert_eq!(report.unreadable, 0);
    assert!(report.scanned >= 5);
    assert_eq!(rotating.reencrypt().await.expect("again").rewritten, 0);
    // Step 3: K1 goes. Every session reads with K2 alone.
    let rotated = same_table(&old, encrypted(&[K2])).await;
    for sid in ["a", "b", "c", "plain"] {
        let record = rotated.get(sid).await.expect("get").expect(sid);
        assert!(record.session.contains(&format!(r#""sid":"{sid}""#)));
    }
    assert!(rotated.get("gone").await.expect("get").is_none());

    // A store missing the key says so, without the session id or any key, and changes nothing.
    let lacking = same_table(&old, encrypted(&[K3])).await;
    let err = lacking.get("b").await.expect_err("no key");
    assert_eq!(err.kind(), ErrorKind::Unreadable);
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("\"b\"") && !text.contains(SID), "{text}");
        assert!(
            !text.contains("17, 17") && !text.contains("ERERER"),
            "{text}"
        );
    }
    assert!(rotated.get("b").await.expect("get").is_some());
    // Listings leave it out instead of failing, and a re-encryption pass counts it.
    assert!(lacking.ids().await.expect("ids").is_empty());
    let report = lacking.reencrypt().await.expect("reencrypt");
    assert_eq!((report.rewritten, report.unreadable), (0, 4));
    // Without any key there is nothing to re-encrypt with.
    let err = plain.reencrypt().await.expect_err("no keys");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
}

/// Turning encryption on in a fleet that deploys process by process: first every process gets
/// the key to decrypt only, then every process encrypts. No process ever meets a session it
/// cannot read.
#[tokio::test]
async fn encryption_is_turned_on_in_two_deploys_without_unreadable_sessions() {
    let (before, _) = fresh_store("enc-on", |c| c.encryption_keys(Vec::new())).await;
    before.set("a", r#"{"n":1}"#, None).await.expect("set");
    // Deploy 1: decrypt only. Mixed with `before`, every session stays readable by both.
    let reading = same_table(&before, |c| {
        c.encryption_keys(keys(&[K1]))
            .id_hash_key(None)
            .decrypt_only(true)
    })
    .await;
    assert!(!reading.config().encrypts() && reading.config().decrypt_only());
    reading.set("b", r#"{"n":2}"#, None).await.expect("set");
    assert!(matches!(
        get_raw(&before, "sess:b").await.expect("item").get("sess"),
        Some(AttributeValue::S(_))
    ));
    assert!(before.get("b").await.expect("get").is_some());
    let err = reading.reencrypt().await.expect_err("decrypt only");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    // Deploy 2: encrypt. Mixed with `reading`, every session stays readable by both.
    let writing = same_table(&before, encrypted(&[K1])).await;
    writing.set("c", r#"{"n":3}"#, None).await.expect("set");
    binary_sess(&get_raw(&before, "sess:c").await.expect("item"));
    for sid in ["a", "b", "c"] {
        assert!(reading.get(sid).await.expect("get").is_some(), "{sid}");
        assert!(writing.get(sid).await.expect("get").is_some(), "{sid}");
    }
    assert_eq!(writing.reencrypt().await.expect("reencrypt").rewritten, 2);
    // decrypt_only without keys is a mistake.
    let err = local_config("any-table")
        .encryption_keys(Vec::new())
        .decrypt_only(true)
        .build()
        .expect_err("no keys");
    assert_eq!(
        err.config_field(),
        Some(connect_dynamodb_core::ConfigField::DecryptOnly)
    );
}

#[tokio::test]
async fn hashed_ids_keep_session_ids_out_of_the_table() {
    let (store, _) = fresh_store("hashed", |c| {
        c.encryption_keys(Vec::new())
            .id_hash_key(Some(Secret::Bytes(HASH_KEY.to_vec())))
    })
    .await;
    store
        .set(SID, r#"{"n":1}"#, Some(in_secs(600)))
        .await
        .expect("set");
    store
        .set("expired", "{}", Some(in_secs(600)))
        .await
        .expect("set");
    let keys = all_raw_keys(&store).await;
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert!(
            key.starts_with("sess:") && key.len() == "sess:".len() + 43,
            "{key}"
        );
        assert!(!key.contains(SID) && !key.contains("expired"));
    }
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        r#"{"n":1}"#
    );
    // Listings name sessions by their hash: not a cookie value.
    let ids = store.ids().await.expect("ids");
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|id| id.len() == 43 && id != SID));
    assert_eq!(store.length().await.expect("length"), 2);
    // The same key in another store finds them; another key does not.
    let other = same_table(&store, |c| {
        c.id_hash_key(Some(Secret::Bytes(K1.to_vec())))
            .encryption_keys(Vec::new())
    })
    .await;
    assert!(other.get(SID).await.expect("get").is_none());
    // touch, destroy, the reaper and clear work on hashed keys.
    assert_eq!(
        store
            .touch(SID, Some(in_secs(7200)))
            .await
            .expect("touch")
            .outcome,
        connect_dynamodb_core::TouchOutcome::Updated
    );
    store.destroy(SID).await.expect("destroy");
    assert!(store.get(SID).await.expect("get").is_none());
    assert_eq!(store.length().await.expect("length"), 1);
    let stale = format!("sess:{}", "x".repeat(43));
    put_raw(
        &store,
        &[
            ("id", s(&stale)),
            ("expires", n(now_secs() as u64 - 60)),
            ("sess", s("{}")),
        ],
    )
    .await;
    assert_eq!(store.reap().await.expect("reap").deleted, 1);
    assert_eq!(store.clear().await.expect("clear").deleted, 2);
}

#[tokio::test]
async fn a_users_sessions_are_found_and_ended_by_hashes() {
    let table = unique_table("hashed-users");
    let config = local_config(&table)
        .user_field(Some("userId".into()))
        .encryption_keys(keys(&[K1]))
        .id_hash_key(Some(Secret::Bytes(HASH_KEY.to_vec())))
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    store.create_table().await.expect("create");
    for sid in ["laptop", "phone", "tablet"] {
        store
            .set(sid, r#"{"userId":"ada@example.com"}"#, None)
            .await
            .expect("set");
    }
    // The user attribute is a keyed hash too: the index does not list who is logged in.
    let raw = store
        .client()
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("scan");
    for item in raw.items.unwrap_or_default() {
        let Some(AttributeValue::S(user)) = item.get("user") else {
            panic!("no user attribute")
        };
        assert!(!user.contains("ada") && user.len() == 43, "{user}");
    }
    let listed = store.user_sessions("ada@example.com").await.expect("list");
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|s| s.id.len() == 43));
    // "Log out everywhere but here" takes the real id of the session to keep.
    assert_eq!(
        store
            .end_user_sessions("ada@example.com", Some("phone"))
            .await
            .expect("end"),
        2
    );
    assert!(store.get("phone").await.expect("get").is_some());
    assert!(store.get("laptop").await.expect("get").is_none());
    assert!(store.get("tablet").await.expect("get").is_none());
}

#[tokio::test]
async fn concurrent_changes_merge_through_encryption() {
    let (store, _) = fresh_store("enc-merge", |c| {
        encrypted(&[K1])(c).merge(Some(MergePolicy::Mine))
    })
    .await;
    store
        .set(SID, r#"{"a":0,"b":0}"#, Some(in_secs(600)))
        .await
        .expect("set");
    let first = store.get(SID).await.expect("get").expect("found");
    let second = store.get(SID).await.expect("get").expect("found");
    store
        .save(
            SID,
            r#"{"a":1,"b":0}"#,
            Some(in_secs(600)),
            SetOptions::loaded(first.version),
        )
        .await
        .expect("save");
    // The second save meets the first: it merges from the encrypted item DynamoDB returned.
    store
        .save(
            SID,
            r#"{"a":0,"b":2}"#,
            Some(in_secs(600)),
            SetOptions::loaded(second.version),
        )
        .await
        .expect("save");
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        r#"{"a":1,"b":2}"#
    );
}

/// A 50 KB session, read (strongly consistent) and written, with and without compression, as
/// DynamoDB Local counts capacity (`make bench` prints the figures).
#[tokio::test]
async fn compression_cuts_the_capacity_of_a_large_session() {
    let session = shop::cart_session(50 * 1024);
    let (plain, _) = fresh_store("cu", |c| c.encryption_keys(Vec::new())).await;
    let compressed = same_table(&plain, |c| {
        c.encryption_keys(Vec::new()).compress_threshold(Some(4096))
    })
    .await;
    let both = same_table(&plain, |c| {
        encrypted(&[K1])(c).compress_threshold(Some(4096))
    })
    .await;
    plain.set("plain", &session, None).await.expect("set");
    compressed.set("small", &session, None).await.expect("set");
    both.set("sealed", &session, None).await.expect("set");
    let (plain_rcu, plain_wcu, plain_bytes) = shop::capacity(&plain, "sess:plain").await;
    let (rcu, wcu, bytes) = shop::capacity(&plain, "sess:small").await;
    let (sealed_rcu, sealed_wcu, sealed_bytes) = shop::capacity(&plain, "sess:sealed").await;
    // 50 KB: 13 read units (4 KB each, strongly consistent) and 50 write units (1 KB each).
    assert!(
        plain_rcu >= 12.0 && plain_wcu >= 49.0,
        "{plain_rcu} {plain_wcu}"
    );
    assert!(bytes * 4 < plain_bytes, "{bytes} of {plain_bytes}");
    assert!(
        rcu * 4.0 <= plain_rcu && wcu * 4.0 <= plain_wcu,
        "{rcu} {wcu}"
    );
    // 32 bytes more cost at most one more unit.
    assert!(sealed_rcu <= rcu + 1.0 && sealed_wcu <= wcu + 1.0);
    assert_eq!(
        sealed_bytes,
        bytes + 32,
        "encryption adds a key id, a nonce and a tag: 32 bytes"
    );
    // Every store reads each form back.
    for sid in ["plain", "small", "sealed"] {
        assert_eq!(
            both.get(sid).await.expect("get").expect(sid).session,
            session
        );
    }
    assert_eq!(
        compressed
            .get("small")
            .await
            .expect("get")
            .expect("found")
            .session,
        session
    );
}

#[tokio::test]
async fn a_session_too_large_even_compressed_is_refused_before_writing() {
    let (store, requests) = fresh_store("too-large", |c| {
        encrypted(&[K1])(c).compress_threshold(Some(1024))
    })
    .await;
    // Hardly compressible: 800 KB of pseudo-random letters take about 480 KB deflated.
    let mut state = 0x2545_f491_u64;
    let noise: String = (0..800_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let err = store
        .set(SID, &format!("\"{noise}\""), None)
        .await
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::ItemTooLarge);
    assert_eq!(requests.count("PutItem"), 0);
    // Compression on, the session under its threshold: stored as text, refused as text.
    let squeezing = same_table(&store, |c| {
        c.encryption_keys(Vec::new())
            .compress_threshold(Some(1_000_000))
    })
    .await;
    let err = squeezing
        .set(SID, &format!("\"{noise}\""), None)
        .await
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::ItemTooLarge);
    // Compressible, and far over 400 KB as text: it fits once compressed.
    let big = format!("[{}]", vec![r#"{"k":"v"}"#; 80_000].join(","));
    assert!(big.len() > 700_000);
    store.set(SID, &big, None).await.expect("fits compressed");
    assert_eq!(
        store.get(SID).await.expect("get").expect("found").session,
        big
    );
}
