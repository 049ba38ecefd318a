//! Issue 11 against DynamoDB Local: tombstones against resurrection by a late save, versioned
//! writes with a three-way merge, the absolute timeout, and a user's sessions.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use connect_dynamodb_core::{
    ErrorKind, ItemAttribute, ManualClock, MergePolicy, SessionRecord, SessionStore, SetOptions,
    SetOutcome, TableProblem, TouchOutcome, WriteCondition,
};

const SID: &str = "concurrent-session";

/// A request's save of the session it loaded (`loaded`, from `get`), as every face does it.
async fn save_loaded(
    store: &SessionStore,
    session: &str,
    loaded: &SessionRecord,
) -> connect_dynamodb_core::Result<SetOutcome> {
    store
        .set_with(SID, session, None, SetOptions::loaded(loaded.version))
        .await
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON")
}

#[tokio::test]
async fn a_late_save_never_resurrects_a_destroyed_session() {
    let (store, requests) = fresh_store("tombstone", |c| c).await;
    store
        .set(SID, r#"{"user":"ada"}"#, Some(in_secs(3600)))
        .await
        .expect("login");
    // Request A loads the session; request B logs out; A saves late.
    let loaded = store.get(SID).await.expect("get").expect("found");
    requests.reset();
    store.destroy(SID).await.expect("logout");
    assert_eq!(requests.count("PutItem"), 1, "destroy is one write");
    assert_eq!(requests.total(), 1);
    requests.reset();
    let outcome = store
        .set(SID, &loaded.session, Some(in_secs(3600)))
        .await
        .expect("a late save is not an error");
    assert_eq!(outcome, SetOutcome::Ended);
    assert_eq!(requests.count("PutItem"), 1, "set is one conditional write");
    assert_eq!(requests.count("GetItem"), 0);
    assert_eq!(store.get(SID).await.expect("get"), None);
    let touched = store.touch(SID, Some(in_secs(7200))).await.expect("touch");
    assert_eq!(touched.outcome, TouchOutcome::NotFound);

    // The tombstone is connect-dynamodb 3.x-safe: `sess` is JSON null, `expires` its end.
    let item = get_raw(&store, &format!("sess:{SID}"))
        .await
        .expect("tombstone");
    assert_eq!(item.get("sess"), Some(&s("null")));
    assert!(item.contains_key("ended"));
    let ends: f64 = match item.get("expires") {
        Some(connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue::N(n)) => {
            n.parse().expect("number")
        }
        other => panic!("expires {other:?}"),
    };
    assert!(
        (ends - now_secs() - 3600.0).abs() < 5.0,
        "an hour by default"
    );

    // Conditional writes see it as gone: Django's update-only save fails, a create is refused.
    let err = store
        .set_with(SID, "{}", None, WriteCondition::IfPresent)
        .await
        .expect_err("update-only");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = store
        .set_with(SID, "{}", None, WriteCondition::IfAbsent)
        .await
        .expect_err("the id ended moments ago");
    assert_eq!(err.kind(), ErrorKind::Conflict);

    // Listing never shows it; a fresh id is not affected.
    assert!(store.ids().await.expect("ids").is_empty());
    assert_eq!(store.length().await.expect("length"), 0);
    assert_eq!(
        store.set("fresh", "{}", None).await.expect("set"),
        SetOutcome::Written
    );
    assert!(store.get("fresh").await.expect("get").is_some());
}

#[tokio::test]
async fn a_tombstone_ends_and_tombstones_can_be_turned_off() {
    let clock = ManualClock::starting_now();
    let (store, _) = fresh_store("tombstone-ends", |c| {
        c.clock(clock.clone())
            .tombstone_lifetime(Duration::from_secs(60))
    })
    .await;
    store.set(SID, "{}", None).await.expect("set");
    store.destroy(SID).await.expect("destroy");
    assert_eq!(
        store.set(SID, r#"{"late":1}"#, None).await.expect("late"),
        SetOutcome::Ended
    );
    clock.advance(Duration::from_secs(61)).expect("advance");
    assert_eq!(
        store.set(SID, r#"{"new":1}"#, None).await.expect("after"),
        SetOutcome::Written,
        "the tombstone has ended"
    );
    assert!(store.get(SID).await.expect("get").is_some());
    // The reaper removes ended tombstones like expired sessions.
    store.destroy("other").await.expect("destroy");
    clock.advance(Duration::from_secs(61)).expect("advance");
    assert!(store.reap().await.expect("reap").deleted >= 1);
    assert_eq!(get_raw(&store, "sess:other").await, None);

    let (plain, requests) =
        fresh_store("tombstone-off", |c| c.tombstone_lifetime(Duration::ZERO)).await;
    plain.set(SID, "{}", None).await.expect("set");
    requests.reset();
    plain.destroy(SID).await.expect("destroy");
    assert_eq!(requests.count("DeleteItem"), 1);
    assert_eq!(get_raw(&plain, &format!("sess:{SID}")).await, None);
    assert_eq!(
        plain.set(SID, "{}", None).await.expect("late"),
        SetOutcome::Written,
        "without tombstones a late save writes, as connect-dynamodb 3.x"
    );
}

/// Two requests that loaded one session save different keys: how many changes survive.
async fn two_requests_change_different_keys(policy: Option<MergePolicy>) -> serde_json::Value {
    let (store, requests) = fresh_store("merge", |c| c.merge(policy)).await;
    store
        .set(SID, r#"{"cart":[],"n":1}"#, None)
        .await
        .expect("create");
    let a = store.get(SID).await.expect("a").expect("found");
    let b = store.get(SID).await.expect("b").expect("found");
    let mut a_session = json(&a.session);
    a_session["cart"] = json("[1]");
    let mut b_session = json(&b.session);
    b_session["flash"] = json(r#""saved""#);
    requests.reset();
    save_loaded(&store, &b_session.to_string(), &b)
        .await
        .expect("b saves");
    assert_eq!(requests.total(), 1, "no conflict: one conditional write");
    requests.reset();
    save_loaded(&store, &a_session.to_string(), &a)
        .await
        .expect("a saves");
    if policy.is_some() {
        // The conflict: the refused write (DynamoDB returns the stored item with the refusal,
        // so nothing is read) and the merged write.
        assert_eq!(requests.count("PutItem"), 2);
        assert_eq!(requests.count("GetItem"), 0);
    }
    json(&store.get(SID).await.expect("get").expect("found").session)
}

#[tokio::test]
async fn versioned_writes_merge_concurrent_changes() {
    let lost = two_requests_change_different_keys(None).await;
    assert_eq!(
        lost,
        json(r#"{"cart":[1],"n":1}"#),
        "off: b's flash is lost"
    );
    for policy in MergePolicy::ALL {
        let merged = two_requests_change_different_keys(Some(policy)).await;
        assert_eq!(merged, json(r#"{"cart":[1],"n":1,"flash":"saved"}"#));
    }
}

#[tokio::test]
async fn a_key_both_requests_changed_follows_the_policy() {
    for policy in MergePolicy::ALL {
        let (store, _) = fresh_store("merge-policy", |c| c.merge(Some(policy))).await;
        store.set(SID, r#"{"n":1}"#, None).await.expect("create");
        let a = store.get(SID).await.expect("a loads").expect("found");
        let b = store.get(SID).await.expect("b loads").expect("found");
        save_loaded(&store, r#"{"n":3}"#, &b)
            .await
            .expect("b saves");
        // A third request reads b's save: a's save still merges from what a loaded.
        store.get(SID).await.expect("c loads");
        let a = save_loaded(&store, r#"{"n":2}"#, &a).await;
        let stored = json(&store.get(SID).await.expect("get").expect("found").session);
        match policy {
            MergePolicy::Mine => {
                assert_eq!(a.expect("mine"), SetOutcome::Written);
                assert_eq!(stored, json(r#"{"n":2}"#));
            }
            MergePolicy::Error => {
                let err = a.expect_err("conflict");
                assert_eq!(err.kind(), ErrorKind::Conflict);
                assert_eq!(stored, json(r#"{"n":3}"#), "nothing written");
            }
        }
    }
}

#[tokio::test]
async fn a_read_only_request_costs_one_read_and_a_versioned_item_reads_as_before() {
    let (store, requests) = fresh_store("merge-cost", |c| c.merge(Some(MergePolicy::Mine))).await;
    store.set(SID, r#"{"a":1}"#, None).await.expect("set");
    requests.reset();
    let loaded = store.get(SID).await.expect("get").expect("found");
    assert_eq!(requests.total(), 1);
    assert_eq!(loaded.version, Some(1));
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    assert_eq!(item.get("version"), Some(&n(1)));
    // Meanwhile connect-dynamodb 3.x overwrites it without a version (version 0): the
    // request's save merges onto that and moves past every version seen.
    put_raw(
        &store,
        &[
            ("id", s(&format!("sess:{SID}"))),
            ("expires", n(now_secs() as u64 + 600)),
            ("type", s("connect-session")),
            ("sess", s(r#"{"a":1,"by3x":true}"#)),
        ],
    )
    .await;
    save_loaded(&store, r#"{"a":2}"#, &loaded)
        .await
        .expect("save over 3.x");
    let item = get_raw(&store, &format!("sess:{SID}")).await.expect("item");
    assert_eq!(item.get("version"), Some(&n(2)));
    assert_eq!(
        json(&store.get(SID).await.expect("get").expect("found").session),
        json(r#"{"a":2,"by3x":true}"#)
    );
}

#[tokio::test]
async fn many_concurrent_requests_lose_no_update_with_merge_on() {
    for policy in [None, Some(MergePolicy::Mine)] {
        let (store, _) = fresh_store("merge-many", |c| c.merge(policy)).await;
        store.set(SID, "{}", None).await.expect("create");
        let rounds = 5;
        let width = 8;
        for round in 0..rounds {
            // Every request of a round loads before any saves: the interleaving that loses
            // updates, made certain with a barrier instead of timing.
            let barrier = Arc::new(tokio::sync::Barrier::new(width));
            let tasks: Vec<_> = (0..width)
                .map(|i| {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    tokio::spawn(async move {
                        let loaded = store.get(SID).await.expect("get").expect("found");
                        barrier.wait().await;
                        let mut session = json(&loaded.session);
                        session[format!("r{round}k{i}")] = json("true");
                        save_loaded(&store, &session.to_string(), &loaded).await
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task").expect("save");
            }
        }
        let stored = json(&store.get(SID).await.expect("get").expect("found").session);
        let kept = stored.as_object().expect("object").len();
        let lost = rounds * width - kept;
        match policy {
            None => assert!(lost > 0, "off: concurrent saves overwrite each other"),
            Some(_) => assert_eq!(lost, 0, "on: every change survives"),
        }
    }
}

#[tokio::test]
async fn the_absolute_timeout_is_never_extended() {
    let clock = ManualClock::starting_now();
    let (store, requests) = fresh_store("absolute", |c| {
        c.clock(clock.clone())
            .absolute_timeout(Some(Duration::from_secs(3600)))
            .touch_after(Duration::ZERO)
    })
    .await;
    store.set(SID, r#"{"n":0}"#, None).await.expect("create");
    let created = store
        .get(SID)
        .await
        .expect("get")
        .expect("found")
        .created_at
        .expect("the creation time is recorded");
    // Active every ten minutes: touched and saved, always a day ahead.
    for i in 1..6 {
        clock.advance(Duration::from_secs(600)).expect("advance");
        let in_a_day = Some(clock_now(&clock) + Duration::from_secs(86_400));
        store.touch(SID, in_a_day).await.expect("touch");
        store
            .set(SID, &format!(r#"{{"n":{i}}}"#), in_a_day)
            .await
            .expect("save");
        let record = store.get(SID).await.expect("get").expect("still live");
        assert_eq!(
            record.created_at,
            Some(created),
            "saves keep the creation time"
        );
        assert!(
            record.expires_at <= created + Duration::from_secs(3601),
            "the expiry never passes the absolute limit"
        );
    }
    clock
        .advance(Duration::from_secs(600))
        .expect("past the hour");
    assert_eq!(store.get(SID).await.expect("get"), None);
    assert!(store.ids().await.expect("ids").is_empty());
    let touched = store.touch(SID, None).await.expect("touch");
    assert_eq!(touched.outcome, TouchOutcome::NotFound);
    requests.reset();
    assert_eq!(
        store.set(SID, r#"{"late":1}"#, None).await.expect("late"),
        SetOutcome::Ended
    );
    // A regenerated session starts fresh.
    store.set("regenerated", "{}", None).await.expect("new id");
    let fresh = store.get("regenerated").await.expect("get").expect("found");
    assert!(fresh.created_at.expect("created") > created + Duration::from_secs(3000));

    // A store that did not load the session (another process) keeps the creation time too.
    let (other, _) = counted_store(store.config().clone()).await;
    clock.set(created).expect("back");
    store.set("kept", "{}", None).await.expect("create");
    let first = store
        .get("kept")
        .await
        .expect("get")
        .expect("found")
        .created_at;
    clock.advance(Duration::from_secs(1800)).expect("advance");
    other
        .set("kept", r#"{"x":1}"#, None)
        .await
        .expect("save elsewhere");
    assert_eq!(
        store
            .get("kept")
            .await
            .expect("get")
            .expect("found")
            .created_at,
        first
    );
}

fn clock_now(clock: &ManualClock) -> SystemTime {
    use connect_dynamodb_core::Clock;
    clock.now()
}

#[tokio::test]
async fn a_users_sessions_are_listed_and_ended_through_the_index() {
    let table = unique_table("users");
    let config = local_config(&table)
        .user_field(Some("passport.user".into()))
        .build()
        .expect("config");
    let (store, requests) = counted_store(config).await;
    let setup = store.create_table().await.expect("create");
    assert!(setup.report.is_ok(), "{:?}", setup.report);
    for (sid, user) in [
        ("laptop", "ada"),
        ("phone", "ada"),
        ("tablet", "ada"),
        ("x", "bob"),
    ] {
        store
            .set(sid, &format!(r#"{{"passport":{{"user":"{user}"}}}}"#), None)
            .await
            .expect("login");
    }
    store
        .set("anon", r#"{"cart":[]}"#, None)
        .await
        .expect("anonymous");
    requests.reset();
    let mut listed = store.user_sessions("ada").await.expect("list");
    assert_eq!(requests.count("Query"), 1);
    assert_eq!(requests.count("Scan"), 0, "never a scan");
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["laptop", "phone", "tablet"]);
    assert!(listed.iter().all(|s| s.created_at.is_some()));
    assert!(!format!("{listed:?}").contains("laptop"), "Debug hides ids");

    // Log out: the phone's session is destroyed, so it is not listed.
    store.destroy("phone").await.expect("logout");
    assert_eq!(store.user_sessions("ada").await.expect("list").len(), 2);
    // The user logs out of the phone app but keeps the session: the user attribute goes.
    store
        .set("x", r#"{"passport":{}}"#, None)
        .await
        .expect("logout");
    assert!(store.user_sessions("bob").await.expect("list").is_empty());

    // Keeping an empty id would keep nothing: refused, and nothing is ended.
    let err = store
        .end_user_sessions("ada", Some(""))
        .await
        .expect_err("empty except");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(store.user_sessions("ada").await.expect("list").len(), 2);

    // Log out everywhere but here.
    requests.reset();
    let ended = store
        .end_user_sessions("ada", Some("laptop"))
        .await
        .expect("end");
    assert_eq!(ended, 1);
    assert_eq!(requests.count("BatchWriteItem"), 1);
    assert!(store.get("tablet").await.expect("get").is_none());
    assert!(store.get("laptop").await.expect("get").is_some());
    // A late save of an ended session does not bring it back.
    assert_eq!(
        store
            .set("tablet", r#"{"passport":{"user":"ada"}}"#, None)
            .await
            .expect("late"),
        SetOutcome::Ended
    );
    assert_eq!(store.end_user_sessions("ada", None).await.expect("all"), 1);
    assert!(store.get("laptop").await.expect("get").is_none());
    assert!(store.get("anon").await.expect("get").is_some());

    // Numbers name users too (express apps often store a numeric id).
    store
        .set("numeric", r#"{"passport":{"user":42}}"#, None)
        .await
        .expect("set");
    assert_eq!(store.user_sessions("42").await.expect("list").len(), 1);
}

#[tokio::test]
async fn the_user_index_is_added_to_an_existing_table_and_verified() {
    let (plain, _) = fresh_store("users-added", |c| c).await;
    let table = plain.config().table().to_owned();
    let config = local_config(&table)
        .user_field(Some("userId".into()))
        .build()
        .expect("config");
    let (store, requests) = counted_store(config).await;
    // Session calls never wait for the index: the first use only checks the table, and the
    // sessions work while the index is missing; listing says what is missing.
    store
        .set("s0", r#"{"userId":"u1"}"#, None)
        .await
        .expect("set");
    assert_eq!(requests.count("UpdateTable"), 0);
    let err = store.user_sessions("u1").await.expect_err("no index");
    assert_eq!(err.kind(), ErrorKind::TableNotFound);
    assert!(err.to_string().contains("user-index"), "{err}");
    let report = store.verify_table().await.expect("verify");
    assert!(report.problems.contains(&TableProblem::UserIndexMissing));
    store.create_table().await.expect("adds the index");
    let report = store.verify_table().await.expect("verify");
    assert!(!report.problems.contains(&TableProblem::UserIndexMissing));
    store
        .set("s1", r#"{"userId":"u1"}"#, None)
        .await
        .expect("set");
    // DynamoDB filled the index with the session saved before it existed.
    assert_eq!(store.user_sessions("u1").await.expect("list").len(), 2);

    // Without user_field there is no index to ask.
    let err = plain.user_sessions("u1").await.expect_err("no user field");
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    let err = store.user_sessions("").await.expect_err("empty user");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn sequential_requests_never_conflict_under_the_error_policy() {
    let (store, requests) =
        fresh_store("merge-sequential", |c| c.merge(Some(MergePolicy::Error))).await;
    store.set(SID, r#"{"n":0}"#, None).await.expect("create");
    requests.reset();
    // One request after the other, each loading and changing the same key: no conflict, and
    // each save is one write.
    for i in 1..=6 {
        let loaded = store.get(SID).await.expect("get").expect("found");
        assert_eq!(json(&loaded.session)["n"], json(&(i - 1).to_string()));
        save_loaded(&store, &format!(r#"{{"n":{i}}}"#), &loaded)
            .await
            .expect("a later request's change of the same key is no conflict");
    }
    assert_eq!(requests.count("PutItem"), 6);
}

#[tokio::test]
async fn a_slow_request_merges_after_many_saves_of_its_session() {
    for policy in MergePolicy::ALL {
        let (store, _) = fresh_store("merge-slow", |c| c.merge(Some(policy))).await;
        store.set(SID, r#"{"n":0}"#, None).await.expect("create");
        // The slow request loads first and saves last.
        let slow = store.get(SID).await.expect("slow loads").expect("found");
        // Meanwhile twelve requests, one after another, each add a key.
        for i in 1..=12 {
            let loaded = store.get(SID).await.expect("get").expect("found");
            let mut session = json(&loaded.session);
            session[format!("k{i}")] = json(&i.to_string());
            save_loaded(&store, &session.to_string(), &loaded)
                .await
                .expect("save");
        }
        let mut mine = json(&slow.session);
        mine["slow"] = json("true");
        save_loaded(&store, &mine.to_string(), &slow)
            .await
            .expect("the slow request changed a key nobody else did");
        let stored = json(&store.get(SID).await.expect("get").expect("found").session);
        assert_eq!(stored["slow"], json("true"), "{policy:?}");
        for i in 1..=12 {
            assert_eq!(
                stored[format!("k{i}")],
                json(&i.to_string()),
                "{policy:?}: k{i}"
            );
        }
    }
}

#[tokio::test]
async fn a_later_request_removing_a_key_keeps_it_removed() {
    for policy in MergePolicy::ALL {
        let (store, _) = fresh_store("merge-remove", |c| c.merge(Some(policy))).await;
        store
            .set(SID, r#"{"cart":[]}"#, None)
            .await
            .expect("create");
        // Request 1 logs in and fills the cart; request 2, after it, logs out and empties it:
        // its session equals what request 1 loaded, and must still be written as it is.
        let one = store.get(SID).await.expect("get").expect("found");
        save_loaded(&store, r#"{"cart":[1],"user":"ada"}"#, &one)
            .await
            .expect("one saves");
        let two = store.get(SID).await.expect("get").expect("found");
        save_loaded(&store, r#"{"cart":[]}"#, &two)
            .await
            .expect("two saves");
        assert_eq!(
            json(&store.get(SID).await.expect("get").expect("found").session),
            json(r#"{"cart":[]}"#),
            "{policy:?}: the logout and the emptied cart stay"
        );
    }
}

#[tokio::test]
async fn a_request_that_saves_twice_continues_from_its_own_save() {
    for policy in MergePolicy::ALL {
        let (store, requests) = fresh_store("merge-twice", |c| c.merge(Some(policy))).await;
        store.set(SID, r#"{"n":0}"#, None).await.expect("create");
        let loaded = store.get(SID).await.expect("get").expect("found");
        let first = store
            .save(
                SID,
                r#"{"n":0,"flash":"hi"}"#,
                None,
                SetOptions::loaded(loaded.version),
            )
            .await
            .expect("first save");
        assert_eq!(first.outcome, SetOutcome::Written);
        assert_eq!(first.version, Some(2));
        requests.reset();
        // The flash is shown and removed; the request saves again from its first save.
        store
            .save(SID, r#"{"n":1}"#, None, SetOptions::loaded(first.version))
            .await
            .expect("second save");
        assert_eq!(requests.count("PutItem"), 1, "no conflict with itself");
        assert_eq!(
            json(&store.get(SID).await.expect("get").expect("found").session),
            json(r#"{"n":1}"#),
            "{policy:?}"
        );
    }
}

#[tokio::test]
async fn a_save_without_its_load_replaces_and_extra_attributes_do_not_merge() {
    let (store, _) = fresh_store("merge-unloaded", |c| c.merge(Some(MergePolicy::Mine))).await;
    store.set(SID, r#"{"a":1}"#, None).await.expect("create");
    let loaded = store.get(SID).await.expect("get").expect("found");
    // A version no `get` returns is refused.
    let err = store
        .set_with(SID, "{}", None, SetOptions::loaded(Some(u64::MAX)))
        .await
        .expect_err("impossible version");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // A session the request did not load (a new one under a known id): replaced whole.
    store.set(SID, r#"{"b":1}"#, None).await.expect("replace");
    assert_eq!(
        json(&store.get(SID).await.expect("get").expect("found").session),
        json(r#"{"b":1}"#)
    );
    // Extra attributes were derived from this request's session, not from a merged one: a
    // save that would need a merge is refused and writes nothing.
    let options = SetOptions {
        attributes: vec![("userId".into(), ItemAttribute::S("ada".into()))],
        ..SetOptions::loaded(loaded.version)
    };
    let err = store
        .set_with(SID, r#"{"a":1,"userId":"ada"}"#, None, options)
        .await
        .expect_err("a merge with extra attributes");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        json(&store.get(SID).await.expect("get").expect("found").session),
        json(r#"{"b":1}"#)
    );
}

#[tokio::test]
async fn a_load_the_store_has_forgotten_is_never_merged_from() {
    for policy in MergePolicy::ALL {
        let (store, _) = fresh_store("merge-forgotten", |c| c.merge(Some(policy))).await;
        store.set(SID, r#"{"n":0}"#, None).await.expect("create");
        let slow = store.get(SID).await.expect("slow loads").expect("found");
        // More saves of the session than the store remembers loads of it.
        for i in 1..=20 {
            let loaded = store.get(SID).await.expect("get").expect("found");
            save_loaded(&store, &format!(r#"{{"n":{i}}}"#), &loaded)
                .await
                .expect("save");
        }
        let result = save_loaded(&store, r#"{"n":0,"slow":true}"#, &slow).await;
        let stored = json(&store.get(SID).await.expect("get").expect("found").session);
        match policy {
            // Nothing to merge from: this request's session is written whole.
            MergePolicy::Mine => {
                assert_eq!(result.expect("mine"), SetOutcome::Written);
                assert_eq!(stored, json(r#"{"n":0,"slow":true}"#));
            }
            MergePolicy::Error => {
                assert_eq!(result.expect_err("error").kind(), ErrorKind::Conflict);
                assert_eq!(stored, json(r#"{"n":20}"#));
            }
        }
    }
}

#[tokio::test]
async fn a_user_index_that_leaves_out_what_listing_reads_is_reported() {
    use connect_dynamodb_core::aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let config = local_config(&unique_table("users-keys-only"))
        .user_field(Some("userId".into()))
        .first_use(connect_dynamodb_core::FirstUse::Nothing)
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let key = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .expect("key")
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("definition")
    };
    // Made by hand, as another tool might: the index projects only its keys.
    store
        .client()
        .create_table()
        .table_name(store.config().table())
        .key_schema(key("id"))
        .attribute_definitions(string("id"))
        .attribute_definitions(string("user"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("user-index")
                .key_schema(key("user"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .expect("index"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    let report = store.verify_table().await.expect("verify");
    assert!(
        report
            .problems
            .contains(&TableProblem::UserIndexProjection {
                missing: vec!["expires".into(), "created".into(), "ended".into()],
            }),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn a_second_save_after_a_merge_keeps_what_the_merge_brought_in() {
    for policy in MergePolicy::ALL {
        let (store, _) = fresh_store("merge-second", |c| c.merge(Some(policy))).await;
        store.set(SID, r#"{"a":1}"#, None).await.expect("create");
        let one = store.get(SID).await.expect("one loads").expect("found");
        let two = store.get(SID).await.expect("two loads").expect("found");
        save_loaded(&store, r#"{"a":1,"flash":"hi"}"#, &two)
            .await
            .expect("two saves");
        // One saves mid-request (merged with two's flash), changes more, and saves again from
        // its first save, still holding its own session without the flash.
        let first = store
            .save(
                SID,
                r#"{"a":1,"cart":[1]}"#,
                None,
                SetOptions::loaded(one.version),
            )
            .await
            .expect("first save");
        store
            .save(
                SID,
                r#"{"a":1,"cart":[1],"step":2}"#,
                None,
                SetOptions::loaded(first.version),
            )
            .await
            .expect("second save");
        assert_eq!(
            json(&store.get(SID).await.expect("get").expect("found").session),
            json(r#"{"a":1,"cart":[1],"flash":"hi","step":2}"#),
            "{policy:?}: two's flash survives one's second save"
        );
    }
}
