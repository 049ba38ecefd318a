//! A [tower-sessions](https://docs.rs/tower-sessions) store on the core (feature
//! `tower-sessions`), for axum and other tower apps: [`DynamoDbStore`].
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use connect_dynamodb_core::{Config, SessionStore, tower::DynamoDbStore};
//! use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::time::Duration};
//!
//! async fn count(session: Session) -> String {
//!     let n: u64 = session.get("n").await.ok().flatten().unwrap_or(0);
//!     let _ = session.insert("n", n + 1).await;
//!     n.to_string()
//! }
//!
//! # async fn run() -> Result<(), connect_dynamodb_core::Error> {
//! let config = Config::builder().table("sessions").region("eu-west-1").build()?;
//! let store = DynamoDbStore::new(SessionStore::connect(config).await?);
//! let app: Router = Router::new().route("/", get(count)).layer(
//!     SessionManagerLayer::new(store)
//!         .with_expiry(Expiry::OnInactivity(Duration::hours(1))),
//! );
//! # let _ = app; Ok(()) }
//! ```
//!
//! # What it stores
//!
//! One item per session, in the format every connect-dynamodb face reads and writes: the key
//! is the store's prefix and the session id (tower-sessions' 22-character id), `expires` the
//! expiry in whole epoch seconds rounded up (for DynamoDB's TTL), and `sess` the session data
//! as a JSON object with an express-session `cookie` object beside the data:
//! `{"cookie": {"originalMaxAge": <ms>, "expires": "<ISO-8601, milliseconds>", "httpOnly":
//! true, "path": "/"}, ...data}`. So express-session can read the session (admin tools,
//! migrations, listings), and the `cookie` entry carries the exact expiry, to the millisecond.
//! The key `cookie` is therefore reserved: a session holding it cannot be saved (an
//! [`Encode`](session_store::Error::Encode) error).
//!
//! # Behaviour
//!
//! - `create` never overwrites: it writes only where no live session and no tombstone has
//!   the id, and draws a new [`Id`] on a collision (at most [`MAX_CREATE_ATTEMPTS`] times).
//! - `load` never returns an expired session, to the millisecond of its expiry, whenever
//!   DynamoDB's TTL deletes the item; nor a destroyed one.
//! - `save` writes the whole session with its new expiry, except when the data equals what
//!   this store last loaded for the id and the expiry does not move earlier: then it only
//!   moves the expiry with the core's [`touch`](SessionStore::touch), which writes nothing
//!   while the expiry moves by less than the touch throttle (`touch_after`, at most a tenth
//!   of the remaining lifetime). So with `with_always_save(true)` a request that only reads
//!   its session costs one GetItem, and a request never overwrites with what it loaded a
//!   change another request saved meanwhile.
//! - `delete` of a missing session is fine; it leaves a tombstone (as `destroy` does), so a
//!   concurrent request's save does not bring the session back.
//! - [`ExpiredDeletion::delete_expired`] is the core's [`reap`](SessionStore::reap).
//! - Errors are [`Backend`](session_store::Error::Backend) errors whose message starts with
//!   the core's [`ErrorKind`] code (`THROTTLED: ...`); they name no session id.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Map, Value};
use time::{Month, OffsetDateTime};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, ExpiredDeletion};

use crate::{Config, Error, ErrorKind, SessionStore, TouchOutcome, WriteCondition};

/// The key of the express-session `cookie` object in a stored session; reserved.
pub const COOKIE_KEY: &str = "cookie";

/// How many ids `create` tries before it gives up (a collision of random 128-bit ids is
/// practically impossible; each further one is a new draw).
pub const MAX_CREATE_ATTEMPTS: u32 = 8;

/// Loads remembered per generation; two generations are kept.
const REMEMBERED_LOADS: usize = 16 * 1024;

/// A tower-sessions `SessionStore` on a connect-dynamodb [`SessionStore`].
///
/// Cheap to clone; clones share the core store and what it remembers of loaded sessions.
#[derive(Clone)]
pub struct DynamoDbStore {
    store: SessionStore,
    loaded: Arc<Mutex<Loaded>>,
}

impl std::fmt::Debug for DynamoDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The core store's Debug shows no credential; the remembered loads (keyed by session
        // id, a bearer credential) are only counted.
        let remembered = self.loaded().len();
        f.debug_struct("DynamoDbStore")
            .field("store", &self.store)
            .field("remembered_loads", &remembered)
            .finish()
    }
}

impl From<SessionStore> for DynamoDbStore {
    fn from(store: SessionStore) -> Self {
        Self::new(store)
    }
}

impl DynamoDbStore {
    /// A tower-sessions store over `store` (its table, prefix, clock and options).
    pub fn new(store: SessionStore) -> Self {
        DynamoDbStore {
            store,
            loaded: Arc::new(Mutex::new(Loaded::default())),
        }
    }

    /// [`SessionStore::connect`] and [`new`](Self::new). Makes no request to DynamoDB.
    pub async fn connect(config: Config) -> crate::Result<Self> {
        Ok(Self::new(SessionStore::connect(config).await?))
    }

    /// The core store, for what tower-sessions has no call for: `create_table`, `reap` in the
    /// background (`start_reaper`), `user_sessions`, `end_user_sessions`.
    pub fn session_store(&self) -> &SessionStore {
        &self.store
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The JSON text stored for `record`: the express-session `cookie` object, then the data
    /// in key order.
    fn encode(&self, record: &Record) -> session_store::Result<String> {
        if record.data.contains_key(COOKIE_KEY) {
            return Err(session_store::Error::Encode(format!(
                "the session key `{COOKIE_KEY}` is reserved: it holds the express-session cookie \
                 object in the stored session"
            )));
        }
        let expires = SystemTime::from(record.expiry_date);
        let now = self.store.config().now();
        let max_age = expires
            .duration_since(now)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut sess = Map::new();
        sess.insert(
            COOKIE_KEY.to_owned(),
            serde_json::json!({
                "originalMaxAge": max_age,
                "expires": iso_millis(record.expiry_date),
                "httpOnly": true,
                "path": "/",
            }),
        );
        for (key, value) in record.data.iter().collect::<BTreeMap<_, _>>() {
            sess.insert(key.clone(), value.clone());
        }
        serde_json::to_string(&Value::Object(sess))
            .map_err(|e| session_store::Error::Encode(e.to_string()))
    }
}

#[async_trait]
impl session_store::SessionStore for DynamoDbStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let sess = self.encode(record)?;
        let expires = SystemTime::from(record.expiry_date);
        for _ in 0..MAX_CREATE_ATTEMPTS {
            match self
                .store
                .set_with(
                    &record.id.to_string(),
                    &sess,
                    Some(expires),
                    WriteCondition::IfAbsent,
                )
                .await
            {
                Ok(_) => return Ok(()),
                // A live session or a tombstone has this id: never overwritten, a new id drawn.
                Err(e) if e.kind() == ErrorKind::Conflict => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
        Err(session_store::Error::Backend(format!(
            "{}: no free session id in {MAX_CREATE_ATTEMPTS} attempts",
            ErrorKind::Conflict
        )))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let sid = record.id.to_string();
        let expires = SystemTime::from(record.expiry_date);
        let digest = digest(&record.data)?;
        let unchanged = self
            .loaded()
            .recall(&record.id)
            .is_some_and(|seen| seen.digest == digest && expires >= seen.expires);
        if unchanged {
            // The data is what was loaded: only the expiry moves, and not at all within the
            // touch throttle. A session ended meanwhile stays ended. A touch moves only the
            // stored `expires` (whole seconds), not the exact expiry in `sess`, so it is given
            // the expiry rounded down: the session may end up to a second early, never late.
            let whole = expires
                .duration_since(UNIX_EPOCH)
                .map(|d| UNIX_EPOCH + Duration::from_secs(d.as_secs()))
                .unwrap_or(expires);
            let touched = self.store.touch(&sid, Some(whole)).await.map_err(backend)?;
            if touched.outcome == TouchOutcome::NotFound {
                self.loaded().forget(&record.id);
            }
            return Ok(());
        }
        let sess = self.encode(record)?;
        self.store
            .set(&sid, &sess, Some(expires))
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(found) = self.store.get(&id.to_string()).await.map_err(backend)? else {
            self.loaded().forget(id);
            return Ok(None);
        };
        let Value::Object(mut sess) = serde_json::from_str(&found.session)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?
        else {
            return Err(session_store::Error::Decode(
                "the stored session is not a JSON object".to_owned(),
            ));
        };
        let written = match sess.remove(COOKIE_KEY) {
            Some(Value::Object(cookie)) => cookie
                .get("expires")
                .and_then(Value::as_str)
                .and_then(parse_iso_millis),
            _ => None,
        };
        let expires = exact_expiry(written, found.expires_at);
        if expires <= self.store.config().now() {
            self.loaded().forget(id);
            return Ok(None);
        }
        let data: HashMap<String, Value> = sess.into_iter().collect();
        self.loaded().remember(
            *id,
            Seen {
                digest: digest(&data)?,
                expires,
            },
        );
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: OffsetDateTime::from(expires),
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.loaded().forget(id);
        self.store.destroy(&id.to_string()).await.map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DynamoDbStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.store.reap().await.map(|_| ()).map_err(backend)
    }
}

/// A core error as tower-sessions carries it: the code first, then the message (which names
/// no session id).
fn backend(e: Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The expiry of a stored session: the exact one its `cookie` object holds, unless the stored
/// `expires` (whole seconds, rounded up) says otherwise: moved since by a touch, or capped by
/// the absolute timeout, or written by someone else.
fn exact_expiry(written: Option<SystemTime>, stored: SystemTime) -> SystemTime {
    match written {
        Some(exact)
            if exact <= stored
                && exact
                    .checked_add(Duration::from_secs(1))
                    .is_some_and(|t| t >= stored) =>
        {
            exact
        }
        _ => stored,
    }
}

/// `t` as JavaScript's `Date#toISOString` writes it: `YYYY-MM-DDTHH:MM:SS.sssZ`, the
/// milliseconds truncated (so the exact expiry read back is never later than the one given).
fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
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

/// Reads what [`iso_millis`] (or JavaScript) wrote; `None` for anything else.
fn parse_iso_millis(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
            .iter()
            .all(|&(i, c)| b[i] == c)
        && b[19] == b'.'
        && b[23] == b'Z';
    if !shape {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u16> {
        let digits = &text[from..to];
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let date = time::Date::from_calendar_date(
        i32::from(num(0, 4)?),
        Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?,
        u8::try_from(num(8, 10)?).ok()?,
    )
    .ok()?;
    let at = date
        .with_hms_milli(
            u8::try_from(num(11, 13)?).ok()?,
            u8::try_from(num(14, 16)?).ok()?,
            u8::try_from(num(17, 19)?).ok()?,
            num(20, 23)?,
        )
        .ok()?
        .assume_utc();
    Some(SystemTime::from(at))
}

/// A digest of session data, independent of the map's order.
fn digest(data: &HashMap<String, Value>) -> session_store::Result<[u8; 32]> {
    let sorted: BTreeMap<&String, &Value> = data.iter().collect();
    let bytes =
        serde_json::to_vec(&sorted).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
    Ok(out)
}

/// What a load found: the data's digest and the expiry.
#[derive(Clone, Copy)]
struct Seen {
    digest: [u8; 32],
    expires: SystemTime,
}

/// The sessions this store loaded lately, bounded: two generations of maps, the older
/// dropped when the newer is full.
#[derive(Default)]
struct Loaded {
    current: HashMap<Id, Seen>,
    previous: HashMap<Id, Seen>,
}

impl Loaded {
    fn remember(&mut self, id: Id, seen: Seen) {
        self.previous.remove(&id);
        if self.current.len() >= REMEMBERED_LOADS && !self.current.contains_key(&id) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id, seen);
    }

    fn recall(&self, id: &Id) -> Option<Seen> {
        self.current
            .get(id)
            .or_else(|| self.previous.get(id))
            .copied()
    }

    fn forget(&mut self, id: &Id) {
        self.current.remove(id);
        self.previous.remove(id);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_millis_round_trips_and_truncates() {
        let t =
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).expect("in range");
        let text = iso_millis(t);
        assert_eq!(text, "2023-11-14T22:13:20.123Z");
        let back = parse_iso_millis(&text).expect("parses");
        assert_eq!(
            OffsetDateTime::from(back).unix_timestamp_nanos(),
            1_700_000_000_123_000_000
        );
    }

    #[test]
    fn parse_iso_millis_refuses_other_shapes() {
        for text in [
            "",
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.123+00:00",
            "2023-13-14T22:13:20.123Z",
            "2023-11-14T25:13:20.123Z",
            "+023-11-14T22:13:20.123Z",
            "2023-11-14 22:13:20.123Z",
        ] {
            assert_eq!(parse_iso_millis(text), None, "{text}");
        }
    }

    #[test]
    fn exact_expiry_only_within_the_stored_second() {
        let stored = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let exact = stored - Duration::from_millis(700);
        assert_eq!(exact_expiry(Some(exact), stored), exact);
        assert_eq!(exact_expiry(Some(stored), stored), stored);
        // Touched later (stored moved on), capped earlier, or missing: the stored expiry.
        let old = stored - Duration::from_millis(1_001);
        assert_eq!(exact_expiry(Some(old), stored), stored);
        let later = stored + Duration::from_millis(1);
        assert_eq!(exact_expiry(Some(later), stored), stored);
        assert_eq!(exact_expiry(None, stored), stored);
    }

    #[test]
    fn digest_ignores_map_order() {
        let a: HashMap<String, Value> = (0..50).map(|i| (i.to_string(), Value::from(i))).collect();
        let b: HashMap<String, Value> = (0..50)
            .rev()
            .map(|i| (i.to_string(), Value::from(i)))
            .collect();
        assert_eq!(digest(&a).expect("digest"), digest(&b).expect("digest"));
        let mut c = a.clone();
        c.insert("0".to_owned(), Value::from("changed"));
        assert_ne!(digest(&a).expect("digest"), digest(&c).expect("digest"));
    }

    #[test]
    fn loaded_is_bounded() {
        let mut loaded = Loaded::default();
        let seen = Seen {
            digest: [0; 32],
            expires: SystemTime::UNIX_EPOCH,
        };
        for i in 0..(3 * REMEMBERED_LOADS as i128) {
            loaded.remember(Id(i), seen);
        }
        assert!(loaded.len() <= 2 * REMEMBERED_LOADS);
        assert!(
            loaded
                .recall(&Id(3 * REMEMBERED_LOADS as i128 - 1))
                .is_some()
        );
        assert!(loaded.recall(&Id(0)).is_none());
        loaded.forget(&Id(3 * REMEMBERED_LOADS as i128 - 1));
        assert!(
            loaded
                .recall(&Id(3 * REMEMBERED_LOADS as i128 - 1))
                .is_none()
        );
    }
}
