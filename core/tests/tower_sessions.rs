//! The tower-sessions store (`connect_dynamodb_core::tower`, feature `tower-sessions`) against
//! DynamoDB Local, through a real axum 0.8 app with tower-sessions 0.15's
//! `SessionManagerLayer`, driven with `tower::ServiceExt::oneshot`: tower-sessions' own route
//! suite (`tests/common/mod.rs`, as every store of tower-sessions-stores runs it, the
//! `expired` test included), its store tests (create never overwrites), and what this store
//! adds: the exact expiry, the express-session item shape, request counts per view, cycle_id,
//! concurrent requests, the reaper, errors.

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use common::*;
use connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue;
use connect_dynamodb_core::tower::{COOKIE_KEY, DynamoDbStore};
use connect_dynamodb_core::{ConfigBuilder, FirstUse, ManualClock, TYPE_VALUE};
use futures_util::future::join_all;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_sessions::cookie::time::{self as time, OffsetDateTime};
use tower_sessions::cookie::{Cookie, SameSite};
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion, Expiry, Session, SessionManagerLayer, SessionStore};

/// A tower-sessions store on a fresh table, its client counting requests.
async fn tower_store(
    label: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (DynamoDbStore, Requests) {
    let (store, requests) = fresh_store(label, tweak).await;
    (DynamoDbStore::new(store), requests)
}

/// tower-sessions' test routes, and a few of ours.
fn routes() -> Router {
    Router::new()
        .route("/", get(|_: Session| async move { "Hello, world!" }))
        .route(
            "/insert",
            get(|session: Session| async move {
                session.insert("foo", 42).await.expect("insert");
            }),
        )
        .route(
            "/insert/{value}",
            get(|session: Session, Path(value): Path<u64>| async move {
                session.insert("foo", value).await.expect("insert");
            }),
        )
        .route(
            "/get",
            get(|session: Session| async move {
                format!(
                    "{}",
                    session.get::<u64>("foo").await.expect("get").expect("foo")
                )
            }),
        )
        .route(
            "/get_value",
            get(|session: Session| async move {
                format!("{:?}", session.get_value("foo").await.expect("get_value"))
            }),
        )
        .route(
            "/get_value/{key}",
            get(|session: Session, Path(key): Path<String>| async move {
                format!("{:?}", session.get_value(&key).await.expect("get_value"))
            }),
        )
        .route(
            "/remove_value",
            get(|session: Session| async move {
                session.remove_value("foo").await.expect("remove_value");
            }),
        )
        .route(
            "/cycle_id",
            get(|session: Session| async move {
                session.cycle_id().await.expect("cycle_id");
            }),
        )
        .route(
            "/flush",
            get(|session: Session| async move {
                session.flush().await.expect("flush");
            }),
        )
        .route(
            "/set_expiry",
            get(|session: Session| async move {
                let expiry =
                    Expiry::AtDateTime(OffsetDateTime::now_utc() + time::Duration::days(1));
                session.set_expiry(Some(expiry));
            }),
        )
        .route(
            "/remove_expiry",
            get(|session: Session| async move {
                session.set_expiry(Some(Expiry::OnSessionEnd));
            }),
        )
        .route(
            "/login/{user}",
            get(|session: Session, Path(user): Path<String>| async move {
                session.insert("user", user).await.expect("insert");
            }),
        )
        .route(
            "/try_get",
            get(|session: Session| async move {
                session
                    .get_value("foo")
                    .await
                    .map(|v| format!("{v:?}"))
                    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
            }),
        )
        .route(
            "/reserved",
            get(|session: Session| async move {
                session.insert(COOKIE_KEY, 1).await.expect("insert");
            }),
        )
}

/// The app over `store` with a one-hour inactivity expiry, as tower-sessions' suite builds it.
fn app(store: &DynamoDbStore) -> Router {
    app_with(store, |layer| {
        layer.with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
    })
}

fn app_with(
    store: &DynamoDbStore,
    tweak: impl FnOnce(SessionManagerLayer<DynamoDbStore>) -> SessionManagerLayer<DynamoDbStore>,
) -> Router {
    routes().layer(tweak(SessionManagerLayer::new(store.clone())))
}

struct Reply {
    status: StatusCode,
    cookie: Option<Cookie<'static>>,
    body: String,
}

/// One request to `app`, with the session cookie `id` when given.
async fn send(app: &Router, uri: &str, id: Option<&str>) -> Reply {
    let mut request = Request::builder().uri(uri);
    if let Some(id) = id {
        request = request.header(header::COOKIE, format!("id={id}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .flat_map(|value| value.to_str())
        .next()
        .map(|value| Cookie::parse(value.to_owned()).expect("a cookie"));
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    Reply {
        status,
        cookie,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    }
}

/// The session id of a reply's cookie.
fn id_of(reply: &Reply) -> String {
    reply.cookie.as_ref().expect("a cookie").value().to_owned()
}

/// The item of the session `id`, with the default prefix.
async fn item_of(store: &DynamoDbStore, id: &str) -> Option<HashMap<String, AttributeValue>> {
    get_raw(store.session_store(), &format!("sess:{id}")).await
}

fn sess_of(item: &HashMap<String, AttributeValue>) -> Value {
    match item.get("sess") {
        Some(AttributeValue::S(text)) => serde_json::from_str(text).expect("JSON"),
        other => panic!("sess is {other:?}"),
    }
}

fn record(data: Value, expiry: OffsetDateTime) -> Record {
    let Value::Object(map) = data else {
        panic!("data is an object")
    };
    Record {
        id: Id::default(),
        data: map.into_iter().collect(),
        expiry_date: expiry,
    }
}

fn at(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

/// A manual clock at the start of the current second plus `millis`.
fn clock_at_millis(millis: u64) -> (ManualClock, SystemTime) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let start = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis);
    (ManualClock::new(start).expect("in range"), start)
}

/// `send`, timed: the reply, the moment before the request and how long it took.
async fn send_timed(app: &Router, uri: &str, id: Option<&str>) -> (Reply, SystemTime, Duration) {
    let before = SystemTime::now();
    let reply = send(app, uri, id).await;
    let elapsed = before.elapsed().expect("the clock did not go back");
    (reply, before, elapsed)
}

/// Asserts that the cookie of a reply to a request that took `elapsed` lives `expected` from
/// the moment the request set its expiry: tower-sessions writes the whole seconds left when it
/// makes the cookie (Max-Age), so at most `expected` and at least `expected` less the request's
/// time and the cut-off fraction of a second. No bound depends on how fast the machine is.
fn assert_max_age(reply: &Reply, expected: time::Duration, elapsed: Duration) {
    let max_age = reply
        .cookie
        .as_ref()
        .expect("a cookie")
        .max_age()
        .expect("max age");
    let least = expected - elapsed - time::Duration::seconds(1);
    assert!(
        max_age <= expected && max_age >= least,
        "{max_age:?} is not {expected:?} less at most {elapsed:?} and a second"
    );
}

/// How the store turned an expiry into an item's whole seconds.
#[derive(Clone, Copy)]
enum Rounded {
    /// A write: never before the expiry.
    Up,
    /// A touch, which leaves the exact expiry in `sess` as it was: never after it.
    Down,
}

/// Asserts that an item's `expires` is `lifetime` after a moment within a request that began at
/// `before` and took `elapsed`, in whole seconds rounded as given; returns it.
fn assert_stored_after(
    item: &HashMap<String, AttributeValue>,
    lifetime: Duration,
    rounded: Rounded,
    before: SystemTime,
    elapsed: Duration,
) -> u64 {
    let expires: u64 = expires_of(item).parse().expect("whole seconds");
    let secs = |t: SystemTime| {
        let since = t.duration_since(UNIX_EPOCH).expect("after 1970");
        match rounded {
            Rounded::Up => since.as_secs() + u64::from(since.subsec_nanos() > 0),
            Rounded::Down => since.as_secs(),
        }
    };
    let first = secs(before + lifetime);
    let last = secs(before + elapsed + lifetime);
    assert!(
        (first..=last).contains(&expires),
        "expires {expires} is not within {first}..={last}"
    );
    expires
}

// --- tower-sessions' route suite (tests/common/mod.rs), each test on its own table ---

#[tokio::test]
async fn no_session_set() {
    let (store, requests) = tower_store("tw-none", |c| c).await;
    let reply = send(&app(&store), "/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.cookie.is_none());
    assert_eq!(requests.total(), 0, "an untouched session costs nothing");
}

#[tokio::test]
async fn bogus_session_cookie() {
    let (store, _) = tower_store("tw-bogus", |c| c).await;
    let reply = send(&app(&store), "/insert", Some("AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(id_of(&reply), "AAAAAAAAAAAAAAAAAAAAAA");
    assert!(item_of(&store, "AAAAAAAAAAAAAAAAAAAAAA").await.is_none());
}

#[tokio::test]
async fn malformed_session_cookie() {
    let (store, requests) = tower_store("tw-malformed", |c| c).await;
    let reply = send(&app(&store), "/", Some("malformed")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(id_of(&reply), "malformed");
    assert_eq!(requests.total(), 0);
}

#[tokio::test]
async fn insert_session() {
    let (store, _) = tower_store("tw-insert", |c| c).await;
    let reply = send(&app(&store), "/insert", None).await;
    let cookie = reply.cookie.expect("a cookie");
    assert_eq!(cookie.name(), "id");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert!(
        cookie
            .max_age()
            .is_some_and(|age| age <= time::Duration::hours(1))
    );
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
}

#[tokio::test]
async fn session_max_age() {
    let (store, _) = tower_store("tw-max-age", |c| c).await;
    let (reply, before, elapsed) = send_timed(&app_with(&store, |l| l), "/insert", None).await;
    let cookie = reply.cookie.expect("a cookie");
    assert_eq!(cookie.name(), "id");
    assert!(cookie.max_age().is_none());
    // tower-sessions' default: two weeks, stored as such.
    let item = item_of(&store, cookie.value()).await.expect("stored");
    assert_stored_after(
        &item,
        Duration::from_secs(14 * 86_400),
        Rounded::Up,
        before,
        elapsed,
    );
}

#[tokio::test]
async fn get_session() {
    let (store, _) = tower_store("tw-get", |c| c).await;
    let app = app(&store);
    let id = id_of(&send(&app, "/insert", None).await);
    let reply = send(&app, "/get", Some(&id)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "42");
}

#[tokio::test]
async fn get_no_value() {
    let (store, _) = tower_store("tw-no-value", |c| c).await;
    assert_eq!(send(&app(&store), "/get_value", None).await.body, "None");
}

#[tokio::test]
async fn remove_last_value() {
    let (store, _) = tower_store("tw-remove", |c| c).await;
    let app = app(&store);
    let id = id_of(&send(&app, "/insert", None).await);
    send(&app, "/remove_value", Some(&id)).await;
    assert_eq!(send(&app, "/get_value", Some(&id)).await.body, "None");
}

#[tokio::test]
async fn cycle_session_id() {
    let (store, _) = tower_store("tw-cycle", |c| c).await;
    let app = app(&store);
    let first = id_of(&send(&app, "/insert", None).await);
    let second = id_of(&send(&app, "/cycle_id", Some(&first)).await);
    assert_ne!(first, second);
    assert_eq!(send(&app, "/get", Some(&second)).await.body, "42");
    // The old id is ended for good: a tombstone, so a late save cannot bring it back.
    assert_eq!(send(&app, "/get_value", Some(&first)).await.body, "None");
    assert_tombstone(store.session_store(), &format!("sess:{first}")).await;
}

#[tokio::test]
async fn flush_session() {
    let (store, _) = tower_store("tw-flush", |c| c).await;
    let app = app_with(&store, |l| {
        l.with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
            .with_domain("localhost")
    });
    let id = id_of(&send(&app, "/insert", None).await);
    let reply = send(&app, "/flush", Some(&id)).await;
    let cookie = reply.cookie.expect("a removal cookie");
    assert_eq!(cookie.value(), "");
    assert_eq!(cookie.max_age(), Some(time::Duration::ZERO));
    assert_eq!(cookie.domain(), Some("localhost"));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(send(&app, "/get_value", Some(&id)).await.body, "None");
    assert_tombstone(store.session_store(), &format!("sess:{id}")).await;
}

#[tokio::test]
async fn set_expiry() {
    let (store, requests) = tower_store("tw-set-expiry", |c| c).await;
    let app = app(&store);
    let (reply, _, elapsed) = send_timed(&app, "/insert", None).await;
    let id = id_of(&reply);
    assert_max_age(&reply, time::Duration::hours(1), elapsed);
    requests.reset();
    let (reply, before, elapsed) = send_timed(&app, "/set_expiry", Some(&id)).await;
    assert_max_age(&reply, time::Duration::days(1), elapsed);
    // The data did not change: only the expiry moved, with one UpdateItem.
    assert_eq!(requests.count("GetItem"), 1);
    assert_eq!(requests.count("UpdateItem"), 1);
    assert_eq!(requests.total(), 2);
    // The day after the route's moment (within the request), in whole seconds rounded down:
    // the touch leaves the exact expiry in `sess` as it was, so the session may end up to a
    // second early, never late.
    let item = item_of(&store, &id).await.expect("stored");
    let expires = assert_stored_after(
        &item,
        Duration::from_secs(86_400),
        Rounded::Down,
        before,
        elapsed,
    );
    // Loaded with the new expiry: the stored one, as the cookie object still has the old one.
    let loaded = store
        .load(&id.parse().expect("an id"))
        .await
        .expect("load")
        .expect("live");
    assert_eq!(
        loaded.expiry_date,
        at(UNIX_EPOCH + Duration::from_secs(expires))
    );
    assert_eq!(send(&app, "/get", Some(&id)).await.body, "42");
}

#[tokio::test]
async fn change_expiry_type() {
    let (store, _) = tower_store("tw-expiry-type", |c| c).await;
    let app = app_with(&store, |l| l);
    let reply = send(&app, "/insert", None).await;
    let id = id_of(&reply);
    assert_eq!(reply.cookie.expect("cookie").max_age(), None);
    let (reply, _, elapsed) = send_timed(&app, "/set_expiry", Some(&id)).await;
    assert_max_age(&reply, time::Duration::days(1), elapsed);

    let app2 = self::app(&store);
    let (reply, _, elapsed) = send_timed(&app2, "/insert", None).await;
    let id = id_of(&reply);
    assert_max_age(&reply, time::Duration::hours(1), elapsed);
    let reply = send(&app2, "/remove_expiry", Some(&id)).await;
    assert_eq!(reply.cookie.expect("cookie").max_age(), None);
    assert_eq!(send(&app2, "/get", Some(&id)).await.body, "42");
}

/// tower-sessions-stores' `expired` test, on the store's clock instead of a sleep.
#[tokio::test]
async fn expired() {
    let clock = ManualClock::starting_now();
    let (store, _) = tower_store("tw-expired", |c| c.clock(clock.clone())).await;
    let app = app_with(&store, |l| {
        l.with_expiry(Expiry::OnInactivity(time::Duration::seconds(60)))
    });
    let id = id_of(&send(&app, "/insert", None).await);
    assert_eq!(
        send(&app, "/get_value", Some(&id)).await.body,
        "Some(Number(42))"
    );
    clock.advance(Duration::from_secs(61)).expect("advance");
    assert_eq!(send(&app, "/get_value", Some(&id)).await.body, "None");
    let parsed: Id = id.parse().expect("an id");
    assert_eq!(store.load(&parsed).await.expect("load"), None);
}

// --- the store ---

/// memory-store's `create_with_existing_id`: a colliding id gets a new one, and the session
/// stored under it is left as it was; an id ended moments ago (a tombstone) is not reused.
#[tokio::test]
async fn create_never_overwrites() {
    let (store, requests) = tower_store("tw-create", |c| c).await;
    let expiry = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut first = record(json!({"user": "ada"}), expiry);
    store.create(&mut first).await.expect("create");
    let taken = first.id;

    let mut second = record(json!({"user": "eve"}), expiry);
    second.id = taken;
    requests.reset();
    store.create(&mut second).await.expect("create");
    assert_ne!(second.id, taken, "a new id is drawn");
    assert_eq!(
        requests.count("PutItem"),
        2,
        "one refused write, one on the new id"
    );
    let kept = store.load(&taken).await.expect("load").expect("live");
    assert_eq!(kept.data["user"], json!("ada"));
    let other = store.load(&second.id).await.expect("load").expect("live");
    assert_eq!(other.data["user"], json!("eve"));

    store.delete(&taken).await.expect("delete");
    let mut third = record(json!({"user": "mallory"}), expiry);
    third.id = taken;
    store.create(&mut third).await.expect("create");
    assert_ne!(third.id, taken, "an id ended moments ago is not reused");
    assert_eq!(store.load(&taken).await.expect("load"), None);
}

/// memory-store's `create` / `save` / `load` / `delete`: load returns the record saved (the
/// expiry to the millisecond), delete then load is `None`.
#[tokio::test]
async fn create_save_load_delete() {
    let (store, _) = tower_store("tw-crud", |c| c).await;
    let expiry = at(SystemTime::now() + Duration::from_millis(3_600_123))
        .replace_nanosecond(123_000_000)
        .expect("whole milliseconds");
    let mut created = record(json!({"n": 1, "nested": {"b": [1, 2], "a": null}}), expiry);
    store.create(&mut created).await.expect("create");
    assert_eq!(
        store.load(&created.id).await.expect("load"),
        Some(created.clone())
    );

    let mut saved = created.clone();
    saved.data.insert("n".to_owned(), json!(2));
    saved.expiry_date = expiry + time::Duration::hours(2);
    store.save(&saved).await.expect("save");
    assert_eq!(
        store.load(&created.id).await.expect("load"),
        Some(saved.clone())
    );

    store.delete(&created.id).await.expect("delete");
    assert_eq!(store.load(&created.id).await.expect("load"), None);
}

/// `load` compares the exact expiry, not the whole second `expires` holds: a session saved
/// until x.5 s is over at x.6 s, although `expires` (rounded up) still says x+1.
#[tokio::test]
async fn load_never_returns_an_expired_session() {
    let (clock, start) = clock_at_millis(200);
    let (store, _) = tower_store("tw-exact", |c| c.clock(clock.clone())).await;
    let expires = start + Duration::from_millis(1_300); // S + 1.5 s
    let mut created = record(json!({"user": "ada"}), at(expires));
    store.create(&mut created).await.expect("create");
    let item = item_of(&store, &created.id.to_string())
        .await
        .expect("stored");
    let whole = start
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 2;
    assert_eq!(expires_of(&item), whole.to_string(), "rounded up");

    clock
        .set(expires - Duration::from_millis(100))
        .expect("set");
    assert!(store.load(&created.id).await.expect("load").is_some());
    clock.set(expires).expect("set");
    assert_eq!(store.load(&created.id).await.expect("load"), None);
    clock
        .set(expires + Duration::from_millis(100))
        .expect("set");
    assert_eq!(store.load(&created.id).await.expect("load"), None);
    // The core alone, on whole seconds, would still call it live.
    assert!(
        store
            .session_store()
            .get(&created.id.to_string())
            .await
            .expect("get")
            .is_some()
    );
}

/// A save of unchanged data moves the expiry with a touch, which stores whole seconds: the
/// session then ends at or before its new `expiry_date`, never after it.
#[tokio::test]
async fn a_touched_session_never_loads_past_its_expiry() {
    let (clock, start) = clock_at_millis(200);
    let (store, _) = tower_store("tw-touch-exact", |c| {
        c.clock(clock.clone()).touch_after(Duration::ZERO)
    })
    .await;
    let mut created = record(json!({"user": "ada"}), at(start + Duration::from_secs(60)));
    store.create(&mut created).await.expect("create");
    let mut loaded = store.load(&created.id).await.expect("load").expect("live");
    let moved = start + Duration::from_millis(120_700); // S + 120.9 s
    loaded.expiry_date = at(moved);
    store.save(&loaded).await.expect("save (a touch)");
    clock.set(moved).expect("set");
    assert_eq!(store.load(&created.id).await.expect("load"), None);
    clock.set(moved - Duration::from_secs(1)).expect("set");
    assert!(store.load(&created.id).await.expect("load").is_some());
}

/// A save stores the new expiry: with changed data, the whole session (the exact expiry in
/// the cookie object); with the data loaded and an earlier expiry, the whole session too (a
/// touch never shortens).
#[tokio::test]
async fn save_stores_the_new_expiry() {
    let (store, requests) = tower_store("tw-save-expiry", |c| c).await;
    let base = at(SystemTime::now())
        .replace_nanosecond(0)
        .expect("whole second");
    let mut created = record(json!({"n": 1}), base + time::Duration::hours(1));
    store.create(&mut created).await.expect("create");

    let mut later = store.load(&created.id).await.expect("load").expect("live");
    later.data.insert("n".to_owned(), json!(2));
    later.expiry_date = base + time::Duration::milliseconds(7_200_250);
    store.save(&later).await.expect("save");
    let item = item_of(&store, &created.id.to_string())
        .await
        .expect("stored");
    let base_secs = base.unix_timestamp();
    assert_eq!(expires_of(&item), (base_secs + 7_201).to_string());
    assert_eq!(
        sess_of(&item)["cookie"]["expires"],
        json!(iso(base + time::Duration::milliseconds(7_200_250)))
    );
    let loaded = store.load(&created.id).await.expect("load").expect("live");
    assert_eq!(loaded.expiry_date, later.expiry_date);

    // Same data, earlier expiry: written whole, not touched.
    let mut earlier = loaded.clone();
    earlier.expiry_date = base + time::Duration::minutes(30);
    requests.reset();
    store.save(&earlier).await.expect("save");
    assert_eq!(requests.count("PutItem"), 1);
    assert_eq!(requests.count("UpdateItem"), 0);
    let loaded = store.load(&created.id).await.expect("load").expect("live");
    assert_eq!(loaded.expiry_date, earlier.expiry_date);
}

/// The JavaScript `Date#toISOString` of `t`.
fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[tokio::test]
async fn deleting_a_missing_session_is_fine() {
    let (store, requests) = tower_store("tw-delete", |c| c).await;
    let id = Id::default();
    store.delete(&id).await.expect("delete a missing session");
    store.delete(&id).await.expect("and again");
    assert_eq!(requests.total(), 2);
    assert_eq!(store.load(&id).await.expect("load"), None);
}

/// The item is the one express-session reads through connect-dynamodb: `sess` holds the data
/// and a `cookie` object, which `load` takes out again; an item express wrote is read.
#[tokio::test]
async fn the_item_is_what_express_session_reads() {
    let (store, _) = tower_store("tw-shape", |c| c).await;
    let app = app(&store);
    let id = id_of(&send(&app, "/login/ada", None).await);
    assert_eq!(id.len(), 22);
    let item = item_of(&store, &id).await.expect("stored under sess:<id>");
    assert_eq!(item.get("type"), Some(&s(TYPE_VALUE)));
    let sess = sess_of(&item);
    assert_eq!(sess["user"], json!("ada"));
    let cookie = &sess["cookie"];
    assert_eq!(cookie["httpOnly"], json!(true));
    assert_eq!(cookie["path"], json!("/"));
    let max_age = cookie["originalMaxAge"].as_u64().expect("milliseconds");
    assert!((3_595_000..=3_600_000).contains(&max_age), "{max_age}");
    let iso_expires = cookie["expires"].as_str().expect("ISO-8601");
    assert_eq!(iso_expires.len(), 24, "{iso_expires}");
    let exact = OffsetDateTime::parse(iso_expires, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let stored: i64 = expires_of(&item).parse().expect("whole seconds");
    assert!(stored - 1 < exact.unix_timestamp() + 1 && exact.unix_timestamp() <= stored);
    // `cookie` is not session data.
    assert_eq!(
        send(&app, "/get_value/cookie", Some(&id)).await.body,
        "None"
    );
    assert_eq!(
        send(&app, "/get_value/user", Some(&id)).await.body,
        "Some(String(\"ada\"))"
    );

    // A session express-session wrote (through connect-dynamodb, any face) under an id
    // tower-sessions can carry.
    let express_id = Id::default().to_string();
    let expires = now_secs().ceil() as i64 + 3600;
    let express_sess = json!({
        "cookie": {"originalMaxAge": 3_600_000, "expires": "2099-01-01T00:00:00.000Z",
                   "secure": false, "httpOnly": true, "path": "/", "sameSite": "lax"},
        "user": "grace",
    });
    put_raw(
        store.session_store(),
        &[
            ("id", s(&format!("sess:{express_id}"))),
            ("expires", n(expires)),
            ("type", s(TYPE_VALUE)),
            ("sess", s(&express_sess.to_string())),
        ],
    )
    .await;
    assert_eq!(
        send(&app, "/get_value/user", Some(&express_id)).await.body,
        "Some(String(\"grace\"))"
    );
    let loaded = store
        .load(&express_id.parse().expect("an id"))
        .await
        .expect("load")
        .expect("live");
    assert!(!loaded.data.contains_key(COOKIE_KEY));
    // The cookie object's expiry is not within the stored second: the stored one counts.
    assert_eq!(loaded.expiry_date.unix_timestamp(), expires);
}

#[tokio::test]
async fn the_cookie_key_is_reserved() {
    let (store, requests) = tower_store("tw-reserved", |c| c).await;
    let reply = send(&app(&store), "/reserved", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.cookie.is_none());
    assert_eq!(requests.total(), 0, "nothing is sent");
    let mut reserved = record(
        json!({COOKIE_KEY: 1}),
        OffsetDateTime::now_utc() + time::Duration::hours(1),
    );
    let err = store.create(&mut reserved).await.expect_err("reserved");
    assert!(
        matches!(&err, tower_sessions::session_store::Error::Encode(m) if m.contains("reserved")),
        "{err:?}"
    );
}

/// Requests per view: a read-only request costs one GetItem, with or without
/// `with_always_save(true)`; a change costs a GetItem and a PutItem; a new session one
/// conditional PutItem.
#[tokio::test]
async fn request_counts_per_view() {
    let (store, requests) = tower_store("tw-counts", |c| c).await;
    let app = app(&store);
    let always = app_with(&store, |l| {
        l.with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
            .with_always_save(true)
    });

    let id = id_of(&send(&app, "/insert", None).await);
    assert_eq!(
        requests.count("PutItem"),
        1,
        "a new session: one conditional write"
    );
    assert_eq!(requests.total(), 1);

    for (label, app) in [("plain", &app), ("always_save", &always)] {
        for _ in 0..3 {
            requests.reset();
            let reply = send(app, "/get", Some(&id)).await;
            assert_eq!(reply.body, "42");
            assert_eq!(requests.count("GetItem"), 1, "{label}");
            assert_eq!(requests.total(), 1, "{label}: a read-only view is one read");
        }
        requests.reset();
        send(app, "/", Some(&id)).await;
        // always_save loads the session to save (slide) it, even when the handler did not
        // touch it: still one read.
        let reads = u64::from(label == "always_save");
        assert_eq!(
            requests.total(),
            reads,
            "{label}: a view not touching the session"
        );
    }
    // always_save sets the cookie on every view (sliding expiry); without it, only on change.
    assert!(send(&always, "/get", Some(&id)).await.cookie.is_some());
    assert!(send(&app, "/get", Some(&id)).await.cookie.is_none());

    requests.reset();
    send(&app, "/insert/7", Some(&id)).await;
    assert_eq!(requests.count("GetItem"), 1);
    assert_eq!(requests.count("PutItem"), 1);
    assert_eq!(requests.total(), 2, "a change: one read, one write");
    assert_eq!(send(&always, "/get", Some(&id)).await.body, "7");

    // always_save with an unknown cookie: one read, nothing saved (tower-sessions does not
    // save an empty session), the cookie removed.
    requests.reset();
    let reply = send(&always, "/get_value", Some("AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(reply.body, "None");
    assert_eq!(id_of(&reply), "", "a removal cookie");
    assert_eq!(requests.count("GetItem"), 1);
    assert_eq!(requests.total(), 1);
}

/// Without the touch throttle (`touch_after` zero), an always-save view moves the expiry
/// with one UpdateItem and writes no data; the session then loads with the moved expiry.
#[tokio::test]
async fn an_always_save_view_touches_past_the_throttle() {
    let (store, requests) = tower_store("tw-touch", |c| c.touch_after(Duration::ZERO)).await;
    let always = app_with(&store, |l| {
        l.with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
            .with_always_save(true)
    });
    let id = id_of(&send(&always, "/insert", None).await);
    let before = item_of(&store, &id).await.expect("stored");
    requests.reset();
    let reply = send(&always, "/get", Some(&id)).await;
    assert_eq!(reply.body, "42");
    assert_eq!(requests.count("GetItem"), 1);
    assert_eq!(requests.count("UpdateItem"), 1);
    assert_eq!(requests.total(), 2);
    let after = item_of(&store, &id).await.expect("stored");
    assert_eq!(
        after.get("sess"),
        before.get("sess"),
        "the data is not rewritten"
    );
    assert_eq!(send(&always, "/get", Some(&id)).await.body, "42");
}

/// A request that only read its session does not overwrite, on its always-save, a change
/// another request saved meanwhile.
#[tokio::test]
async fn a_read_only_save_keeps_a_concurrent_change() {
    let (store, _) = tower_store("tw-keep", |c| c).await;
    let expiry = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut created = record(json!({"cart": 1}), expiry);
    store.create(&mut created).await.expect("create");
    let read_only = store.load(&created.id).await.expect("load").expect("live");
    let mut writer = store.load(&created.id).await.expect("load").expect("live");
    writer.data.insert("cart".to_owned(), json!(2));
    store.save(&writer).await.expect("save");
    store.save(&read_only).await.expect("save");
    let now = store.load(&created.id).await.expect("load").expect("live");
    assert_eq!(now.data["cart"], json!(2));
}

#[tokio::test]
async fn concurrent_requests() {
    let (store, requests) = tower_store("tw-concurrent", |c| c).await;
    let app = app(&store);
    let always = app_with(&store, |l| {
        l.with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
            .with_always_save(true)
    });
    // Sixteen logins at once: sixteen sessions.
    let logins = join_all((0..16).map(|i| {
        let app = app.clone();
        async move { (i, id_of(&send(&app, &format!("/insert/{i}"), None).await)) }
    }))
    .await;
    let mut ids: Vec<&String> = logins.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    // Each reads its own back, all at once.
    let reads = join_all(logins.iter().map(|(i, id)| {
        let app = app.clone();
        async move { (*i, send(&app, "/get", Some(id)).await.body) }
    }))
    .await;
    for (i, body) in reads {
        assert_eq!(body, i.to_string());
    }
    // Eight always-save views of one session at once: eight reads, no write.
    let (_, id) = &logins[0];
    requests.reset();
    let views = join_all((0..8).map(|_| send(&always, "/get", Some(id)))).await;
    assert!(
        views
            .iter()
            .all(|r| r.status == StatusCode::OK && r.body == "0")
    );
    assert_eq!(requests.count("GetItem"), 8);
    assert_eq!(requests.total(), 8);
    // Concurrent changes of one session: every request succeeds, one value wins.
    let uris: Vec<String> = (100..108).map(|v| format!("/insert/{v}")).collect();
    let writes = join_all(uris.iter().map(|uri| send(&app, uri, Some(id)))).await;
    assert!(writes.iter().all(|r| r.status == StatusCode::OK));
    let body = send(&app, "/get", Some(id)).await.body;
    assert!(
        (100..108).map(|v: u64| v.to_string()).any(|v| v == body),
        "{body}"
    );
}

/// A user index works through the store: `user_field` names a key of the session data.
#[tokio::test]
async fn a_users_sessions_are_listed_and_ended() {
    let config = local_config(&unique_table("tw-user"))
        .user_field(Some("user".to_owned()))
        .build()
        .expect("config");
    let (store, _) = counted_store(config).await;
    let setup = store
        .create_table()
        .await
        .expect("create the table and its user index");
    assert!(setup.report.is_ok(), "{:?}", setup.report);
    let store = DynamoDbStore::new(store);
    let app = app(&store);
    let phone = id_of(&send(&app, "/login/ada", None).await);
    let laptop = id_of(&send(&app, "/login/ada", None).await);
    let listed = store
        .session_store()
        .user_sessions("ada")
        .await
        .expect("user sessions");
    let mut listed: Vec<String> = listed.into_iter().map(|s| s.id).collect();
    listed.sort();
    let mut expected = vec![phone.clone(), laptop.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    let ended = store
        .session_store()
        .end_user_sessions("ada", Some(&laptop))
        .await
        .expect("end");
    assert_eq!(ended, 1);
    assert_eq!(
        send(&app, "/get_value/user", Some(&phone)).await.body,
        "None"
    );
    assert_eq!(
        send(&app, "/get_value/user", Some(&laptop)).await.body,
        "Some(String(\"ada\"))"
    );
}

/// `delete_expired` is the core's reap: expired sessions of the prefix go, live ones stay.
#[tokio::test]
async fn delete_expired_reaps() {
    let clock = ManualClock::starting_now();
    let (store, _) = tower_store("tw-reap", |c| c.clock(clock.clone())).await;
    let now = clock_now(&clock);
    let mut ids = Vec::new();
    for minutes in [1, 1, 1, 60] {
        let mut r = record(
            json!({"m": minutes}),
            now + time::Duration::minutes(minutes),
        );
        store.create(&mut r).await.expect("create");
        ids.push(r.id);
    }
    clock.advance(Duration::from_secs(120)).expect("advance");
    store.delete_expired().await.expect("delete_expired");
    let keys = all_raw_keys(store.session_store()).await;
    assert_eq!(keys, [format!("sess:{}", ids[3])]);
    assert!(store.load(&ids[3]).await.expect("load").is_some());
}

fn clock_now(clock: &ManualClock) -> OffsetDateTime {
    use connect_dynamodb_core::Clock;
    at(clock.now())
}

/// Store errors reach tower-sessions as `Backend` errors led by the core's code, without the
/// session id; the app answers 500 and sets no cookie.
#[tokio::test]
async fn errors_carry_the_core_code_and_no_id() {
    let config = local_config(&unique_table("tw-missing"))
        .first_use(FirstUse::Check)
        .build()
        .expect("config");
    let store = DynamoDbStore::connect(config).await.expect("store");
    let id = Id::default();
    let err = store.load(&id).await.expect_err("no table");
    let tower_sessions::session_store::Error::Backend(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.starts_with("TABLE_NOT_FOUND: "), "{message}");
    assert!(!message.contains(&id.to_string()), "{message}");
    let reply = send(&app(&store), "/try_get", Some(&id.to_string())).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.body.contains("TABLE_NOT_FOUND"), "{}", reply.body);
    assert!(!reply.body.contains(&id.to_string()), "{}", reply.body);
    assert!(reply.cookie.is_none());
}

#[tokio::test]
async fn debug_shows_no_secret_and_no_id() {
    let (store, _) = tower_store("tw-debug", |c| c).await;
    let app = app(&store);
    let id = id_of(&send(&app, "/insert", None).await);
    send(&app, "/get", Some(&id)).await;
    let debug = format!("{store:?}");
    assert!(debug.contains("remembered_loads: 1"), "{debug}");
    assert!(!debug.contains(&id), "{debug}");
    assert!(!debug.contains("localtest"), "{debug}");
}
