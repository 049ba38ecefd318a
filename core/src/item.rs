//! DynamoDB items <-> session records, in the format of the npm package connect-dynamodb.
//!
//! An item written by connect-dynamodb 3.x (and by this crate) is
//!
//! ```text
//! { <hash_key>: S "<prefix><sid>", expires: N <epoch seconds>, type: S "connect-session",
//!   sess: S "<session JSON>" }
//! ```
//!
//! Reading accepts everything published versions left in real tables:
//! - `expires` in epoch milliseconds (versions up to 1.0.11), whole seconds (1.0.12 to 3.0.2)
//!   and fractional seconds (3.0.3 and later). A value of 10^11 or more cannot be seconds
//!   (that is the year 5138) and is read as milliseconds.
//! - "ghost" items holding only the key and `expires` (3.x's unconditional touch after a
//!   destroy re-created them), items whose `sess` is missing, not a string or not valid JSON,
//!   and items whose `expires` is missing or not a number: all of these are "not found".
//!
//! Writing always uses whole seconds, rounded up, so DynamoDB's TTL reads it unambiguously.
//!
//! This crate adds attributes that connect-dynamodb 3.x neither writes nor reads, each only
//! where its feature writes it:
//!
//! ```text
//! ended:   N <epoch seconds>  a tombstone: the session was destroyed then (`sess` is "null")
//! version: N <count>          versioned writes (`merge`); an item without it is version 0
//! created: N <epoch seconds>  when the session was created (`absolute_timeout`, `user_field`)
//! user:    S <user id>        the session's user (`user_field`), key of the `user-index` GSI
//! ```
//!
//! A tombstone is `{ <hash_key>, expires: <end of the tombstone>, type, sess: "null", ended }`:
//! connect-dynamodb 3.x (and every older version) parses `sess` to `null`, which
//! express-session treats as "no session", so a process still on 3.x neither fails on a
//! tombstone nor serves it; `expires` lets DynamoDB's TTL remove it.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::at_rest::{self, AtRest, Decoded};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{self, LATEST_STORED_SECS, MILLIS_THRESHOLD};

/// The expiry attribute, which DynamoDB's TTL is enabled on.
pub const ATTR_EXPIRES: &str = "expires";
/// The constant type attribute written by connect-dynamodb.
pub const ATTR_TYPE: &str = "type";
/// The attribute holding the session JSON text.
pub const ATTR_SESS: &str = "sess";
/// The value of the type attribute.
pub const TYPE_VALUE: &str = "connect-session";
/// The attribute that marks a tombstone, holding when the session was destroyed.
pub const ATTR_ENDED: &str = "ended";
/// The version attribute of versioned writes.
pub const ATTR_VERSION: &str = "version";
/// The attribute holding when the session was created, in epoch seconds.
pub const ATTR_CREATED: &str = "created";
/// The attribute holding the session's user, key of [`USER_INDEX`].
pub const ATTR_USER: &str = "user";
/// The global secondary index on [`ATTR_USER`].
pub const USER_INDEX: &str = "user-index";
/// The `sess` text of a tombstone: JSON `null`, which every connect-dynamodb version reads as
/// "no session".
pub const TOMBSTONE_SESS: &str = "null";
/// The longest user id the store indexes, in bytes (DynamoDB allows 2048 for a key).
pub const MAX_USER_BYTES: usize = 1024;
/// The largest session version a save takes back (`SetOptions::loaded`): 2^53 - 1, the
/// largest integer JavaScript and every face hold exactly.
pub const MAX_VERSION: u64 = (1 << 53) - 1;

/// DynamoDB's item size limit, in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A stored session: its JSON text, when it expires, and when it was created.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session as JSON text, exactly as it was stored.
    pub session: String,
    /// When the session expires; it is never returned after this.
    pub expires_at: SystemTime,
    /// When the session was created, when the item records it (with `absolute_timeout` or
    /// `user_field` on).
    pub created_at: Option<SystemTime>,
    /// With versioned writes on (`merge`), the version `get` read (0 for an item without
    /// one, as connect-dynamodb 3.x writes). A request hands it back to its save
    /// ([`SetOptions::loaded`](crate::SetOptions::loaded)), so the save merges from exactly
    /// what this request loaded. `None` with `merge` off and outside `get`.
    pub version: Option<u64>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Session data may hold personal data or tokens: only its size is shown.
        f.debug_struct("SessionRecord")
            .field("session_bytes", &self.session.len())
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The value of an extra attribute, in DynamoDB's scalar types.
#[derive(Clone, PartialEq, Eq)]
pub enum ItemAttribute {
    /// A string.
    S(String),
    /// A number, as its decimal text (DynamoDB keeps up to 38 digits).
    N(String),
    /// Binary data.
    B(Vec<u8>),
}

impl std::fmt::Debug for ItemAttribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are copies of session data: only their type and size are shown.
        match self {
            ItemAttribute::S(s) => write!(f, "S({} bytes)", s.len()),
            ItemAttribute::N(n) => write!(f, "N({} bytes)", n.len()),
            ItemAttribute::B(b) => write!(f, "B({} bytes)", b.len()),
        }
    }
}

impl From<ItemAttribute> for AttributeValue {
    fn from(value: ItemAttribute) -> Self {
        match value {
            ItemAttribute::S(s) => AttributeValue::S(s),
            ItemAttribute::N(n) => AttributeValue::N(n),
            ItemAttribute::B(b) => AttributeValue::B(b.into()),
        }
    }
}

/// The expiry of an item in epoch seconds, or `None` when it has no usable `expires`.
pub(crate) fn item_expires(item: &HashMap<String, AttributeValue>) -> Option<f64> {
    match item.get(ATTR_EXPIRES) {
        Some(AttributeValue::N(n)) => expiry::parse_stored(n),
        _ => None,
    }
}

/// What an item holds, as the store reads it.
#[derive(Debug)]
pub(crate) enum Stored {
    /// A live session, with its version (0 when unversioned) and creation time.
    Live {
        record: SessionRecord,
        version: u64,
        created: Option<f64>,
    },
    /// A tombstone that has not ended: the session was destroyed moments ago.
    Tombstone,
    /// No live session: no item, or an expired, ghost, damaged or absolutely timed-out one.
    /// Its version and creation time, when it has them, for a write that replaces it.
    Absent { version: u64, created: Option<f64> },
}

impl Stored {
    pub(crate) fn into_record(self) -> Option<SessionRecord> {
        match self {
            Stored::Live { record, .. } => Some(record),
            _ => None,
        }
    }
}

/// The number in attribute `name`, when it is one.
fn number_of(item: &HashMap<String, AttributeValue>, name: &str) -> Option<f64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

/// Reads the item stored under `key` (the hash key's value). `oldest_created` is the earliest
/// creation time a session may have to be live (now minus the absolute timeout), when there
/// is one; `at_rest` decrypts and inflates the session. Takes the item by value so the
/// session text is moved, not copied. `UNREADABLE` for a session encrypted with a key
/// `at_rest` lacks, or in a newer format.
pub(crate) fn read(
    item: Option<HashMap<String, AttributeValue>>,
    now: f64,
    oldest_created: Option<f64>,
    key: &str,
    at_rest: &AtRest,
) -> Result<Stored> {
    read_known(item, now, oldest_created, key, at_rest, None)
}

/// [`read`], with `known`: a text known to be JSON text (the session's last, see
/// `memory::KnownJson`); a session text equal to it is not checked again.
pub(crate) fn read_known(
    item: Option<HashMap<String, AttributeValue>>,
    now: f64,
    oldest_created: Option<f64>,
    key: &str,
    at_rest: &AtRest,
    known: Option<&str>,
) -> Result<Stored> {
    let Some(mut item) = item else {
        return Ok(Stored::Absent {
            version: 0,
            created: None,
        });
    };
    let version = number_of(&item, ATTR_VERSION)
        .filter(|v| *v >= 0.0 && *v <= u64::MAX as f64)
        .map_or(0, |v| v as u64);
    let created = number_of(&item, ATTR_CREATED);
    let absent = Stored::Absent { version, created };
    let Some(expires) = item_expires(&item) else {
        return Ok(absent);
    };
    if expires <= now {
        return Ok(absent);
    }
    if item.contains_key(ATTR_ENDED) {
        return Ok(Stored::Tombstone);
    }
    if let (Some(oldest), Some(created)) = (oldest_created, created)
        && created <= oldest
    {
        return Ok(absent);
    }
    let Some(sess) = item.remove(ATTR_SESS) else {
        return Ok(absent);
    };
    let session = match at_rest.decode_known(key, sess, known)? {
        Decoded::Session(session) => session,
        Decoded::Damaged(why) => {
            // A plain text that is not JSON is what connect-dynamodb has always skipped
            // quietly; a binary session that does not decode is worth a word.
            if why != at_rest::NOT_JSON_TEXT {
                tracing::warn!(
                    problem = why,
                    "connect-dynamodb read a stored session it cannot decode; it counts as not found"
                );
            }
            return Ok(absent);
        }
    };
    Ok(Stored::Live {
        record: SessionRecord {
            session,
            expires_at: expiry::at_epoch_secs(expires),
            created_at: created.map(expiry::at_epoch_secs),
            version: None,
        },
        version,
        created,
    })
}

/// Decodes the item under `key` into a live session, or `None` when it is expired, a
/// tombstone, a ghost, damaged, or created at or before `oldest_created`.
pub(crate) fn decode(
    item: HashMap<String, AttributeValue>,
    now: f64,
    oldest_created: Option<f64>,
    key: &str,
    at_rest: &AtRest,
) -> Result<Option<SessionRecord>> {
    Ok(read(Some(item), now, oldest_created, key, at_rest)?.into_record())
}

/// Reads an item the caller fetched itself (with its hash key) as the store configured by
/// `config` reads its own, at the time of the configuration's clock: the live session, or
/// `None` when it is expired, a tombstone, absolutely timed out, a ghost, or damaged (for
/// faces that take items from elsewhere, e.g. connect-dynamodb 3.x's
/// `getParsedSession(output)` in Node). `UNREADABLE` for a session encrypted with a key
/// `config` lacks, or in a newer format.
pub fn decode_item(
    item: HashMap<String, AttributeValue>,
    config: &crate::Config,
) -> Result<Option<SessionRecord>> {
    let now = expiry::epoch_secs(config.now());
    let key = match item.get(&config.hash_key) {
        Some(AttributeValue::S(key)) => key.clone(),
        _ => String::new(),
    };
    decode(item, now, config.oldest_created(now), &key, &config.at_rest)
}

/// The value of the session field at `path` (dotted) as the `user` attribute stores it: a
/// string of 1 to [`MAX_USER_BYTES`] bytes, or a whole number as its decimal text. Anything
/// else (no such field, an object, a boolean, `null`) names no user.
pub(crate) fn user_of(session: &str, path: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(session).ok()?;
    let mut at = &value;
    for name in path.split('.') {
        at = at.as_object()?.get(name)?;
    }
    match at {
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= MAX_USER_BYTES => {
            Some(s.clone())
        }
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `text` is one valid JSON value.
pub(crate) fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Checks a write before it is sent: valid JSON, usable extra attributes, and an item that
/// fits DynamoDB's limit.
pub(crate) fn check_session(
    hash_key: &str,
    key: &str,
    session: &str,
    attributes: &[(String, ItemAttribute)],
    own: &OwnAttributes,
    at_rest: &AtRest,
) -> Result<()> {
    if !is_json(session) {
        return Err(Error::new(
            ErrorKind::Serialization,
            "the session is not valid JSON text",
        ));
    }
    for (index, (name, value)) in attributes.iter().enumerate() {
        if name.is_empty() || name.len() > 255 {
            return Err(Error::invalid_argument(
                "an extra attribute name must be 1 to 255 bytes long",
            ));
        }
        if [hash_key, ATTR_EXPIRES, ATTR_TYPE, ATTR_SESS].contains(&name.as_str())
            || own.names.contains(&name.as_str())
        {
            return Err(Error::invalid_argument(format!(
                "the extra attribute `{name}` would overwrite the session item's own attribute"
            )));
        }
        if attributes[..index].iter().any(|(other, _)| other == name) {
            return Err(Error::invalid_argument(format!(
                "the extra attribute `{name}` is given twice"
            )));
        }
        if let ItemAttribute::N(n) = value {
            let valid = n.trim() == n
                && n.parse::<f64>().is_ok_and(f64::is_finite)
                && n.bytes().filter(u8::is_ascii_digit).count() <= 38;
            if !valid {
                return Err(Error::invalid_argument(format!(
                    "the extra attribute `{name}` is not a number DynamoDB can store"
                )));
            }
        }
    }
    // A compressed session's size is known once it is compressed: `check_size` then.
    match at_rest.stored_len_bound(session) {
        Some(stored) => check_size(hash_key, key, stored, own, attributes_bytes(attributes)),
        None => Ok(()),
    }
}

/// The bytes the extra attributes take in an item (names and values).
pub(crate) fn attributes_bytes(attributes: &[(String, ItemAttribute)]) -> usize {
    attributes
        .iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    ItemAttribute::S(s) => s.len(),
                    ItemAttribute::B(b) => b.len(),
                    ItemAttribute::N(n) => n.len(),
                }
        })
        .sum()
}

/// Checks that an item whose `sess` takes `stored` bytes fits DynamoDB's limit.
pub(crate) fn check_size(
    hash_key: &str,
    key: &str,
    stored: usize,
    own: &OwnAttributes,
    extra: usize,
) -> Result<()> {
    // DynamoDB counts attribute names plus values; a number takes at most its text length.
    let size = hash_key.len()
        + key.len()
        + ATTR_EXPIRES.len()
        + 21
        + ATTR_TYPE.len()
        + TYPE_VALUE.len()
        + ATTR_SESS.len()
        + stored
        + own.bytes
        + extra;
    if size > MAX_ITEM_BYTES {
        return Err(Error::new(
            ErrorKind::ItemTooLarge,
            format!(
                "the session item would take {size} bytes, over DynamoDB's limit of {MAX_ITEM_BYTES}"
            ),
        ));
    }
    Ok(())
}

/// Room for the attributes the store adds beside the session, as `config` writes them:
/// `version` and `created` (names and numbers) and `user` (name and a user id of at most
/// [`MAX_USER_BYTES`]).
/// The attributes the configured features write beside `expires`, `type` and `sess`: their
/// names (an extra attribute of the same name is refused, while a feature that is off leaves
/// the name free, as connect-dynamodb 3.x's `specialKeys` may use it) and the bytes they take
/// at most.
pub(crate) struct OwnAttributes {
    pub(crate) names: Vec<&'static str>,
    pub(crate) bytes: usize,
}

pub(crate) fn own_attributes(config: &crate::Config) -> OwnAttributes {
    let mut own = OwnAttributes {
        names: Vec::new(),
        bytes: 0,
    };
    let mut add = |on: bool, name: &'static str, bytes: usize| {
        if on {
            own.names.push(name);
            own.bytes += name.len() + bytes;
        }
    };
    // A tombstone is a whole item of its own; `ended` on a live session would make it one.
    add(!config.tombstone_lifetime().is_zero(), ATTR_ENDED, 0);
    add(config.merge().is_some(), ATTR_VERSION, 21);
    add(config.records_creation(), ATTR_CREATED, 21);
    add(config.user_field().is_some(), ATTR_USER, MAX_USER_BYTES);
    own
}

/// A DynamoDB condition expression with the names and values it uses (DynamoDB refuses
/// names and values an expression does not use).
pub(crate) struct Condition {
    pub(crate) expression: String,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

impl Condition {
    /// True when this condition is false.
    pub(crate) fn negated(mut self) -> Self {
        self.expression = format!("(NOT {})", self.expression);
        self
    }

    /// True when both conditions are. Placeholders of the same name must hold the same value.
    pub(crate) fn and(mut self, other: Condition) -> Self {
        self.expression = format!("({} AND {})", self.expression, other.expression);
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }
}

/// True for an item whose `expires` lies in the future, in either stored unit, and not past
/// the year 9999.
fn unexpired(now: f64) -> Condition {
    Condition {
        expression: "((#e > :now AND #e < :ms_threshold) \
                     OR (#e >= :ms_threshold AND #e > :now_ms AND #e <= :latest_ms))"
            .to_owned(),
        names: names(&[("#e", ATTR_EXPIRES)]),
        values: HashMap::from([
            (":now".to_owned(), number(now)),
            (":now_ms".to_owned(), number(now * 1000.0)),
            (":ms_threshold".to_owned(), number(MILLIS_THRESHOLD)),
            (":latest_ms".to_owned(), number(LATEST_STORED_SECS * 1000.0)),
        ]),
    }
}

/// True for an item `get` would return: a string or binary `sess`, no tombstone mark, an `expires` in
/// the future, and, with an absolute timeout, no `created` at or before `oldest_created`.
pub(crate) fn live_session(now: f64, oldest_created: Option<f64>) -> Condition {
    let session = Condition {
        expression: "((attribute_type(#s, :string_type) OR attribute_type(#s, :binary_type)) \
                     AND attribute_not_exists(#ended))"
            .to_owned(),
        names: names(&[("#s", ATTR_SESS), ("#ended", ATTR_ENDED)]),
        values: HashMap::from([
            (":string_type".to_owned(), AttributeValue::S("S".to_owned())),
            (":binary_type".to_owned(), AttributeValue::S("B".to_owned())),
        ]),
    };
    let live = session.and(unexpired(now));
    within_absolute_timeout(live, oldest_created)
}

/// True for an entry of the user index that `user_sessions` lists: no tombstone mark, an
/// `expires` in the future, and, with an absolute timeout, created after `oldest_created`.
/// (The index does not project `sess`.)
pub(crate) fn live_index_entry(now: f64, oldest_created: Option<f64>) -> Condition {
    let live = Condition {
        expression: "attribute_not_exists(#ended)".to_owned(),
        names: names(&[("#ended", ATTR_ENDED)]),
        values: HashMap::new(),
    }
    .and(unexpired(now));
    within_absolute_timeout(live, oldest_created)
}

/// `live`, and with an absolute timeout, no `created` at or before `oldest_created`.
fn within_absolute_timeout(live: Condition, oldest_created: Option<f64>) -> Condition {
    match oldest_created {
        None => live,
        Some(oldest) => live.and(Condition {
            expression: "(attribute_not_exists(#c) OR #c > :oldest_created)".to_owned(),
            names: names(&[("#c", ATTR_CREATED)]),
            values: HashMap::from([(":oldest_created".to_owned(), number(oldest))]),
        }),
    }
}

/// The creation time an item records, in epoch seconds.
pub(crate) fn created_of(item: &HashMap<String, AttributeValue>) -> Option<f64> {
    number_of(item, ATTR_CREATED)
}

/// True for a tombstone that has not ended.
pub(crate) fn live_tombstone(now: f64) -> Condition {
    Condition {
        expression: "attribute_exists(#ended)".to_owned(),
        names: names(&[("#ended", ATTR_ENDED)]),
        values: HashMap::new(),
    }
    .and(unexpired(now))
}

/// True for an item of version `version` (an item without a version is version 0).
pub(crate) fn has_version(version: u64) -> Condition {
    if version == 0 {
        return Condition {
            expression: "attribute_not_exists(#v)".to_owned(),
            names: names(&[("#v", ATTR_VERSION)]),
            values: HashMap::new(),
        };
    }
    Condition {
        expression: "#v = :version".to_owned(),
        names: names(&[("#v", ATTR_VERSION)]),
        values: HashMap::from([(
            ":version".to_owned(),
            AttributeValue::N(version.to_string()),
        )]),
    }
}

/// True for an item created at `created`, or without a creation time.
pub(crate) fn created_at_or_unknown(created: f64) -> Condition {
    Condition {
        expression: "(attribute_not_exists(#c) OR #c = :created)".to_owned(),
        names: names(&[("#c", ATTR_CREATED)]),
        values: HashMap::from([(":created".to_owned(), number(created))]),
    }
}

/// True for an item whose `expires` is a number at or before now, in either stored unit.
pub(crate) fn expired(now: f64) -> Condition {
    Condition {
        expression: "((#e <= :now) OR (#e >= :ms_threshold AND #e <= :now_ms))".to_owned(),
        names: names(&[("#e", ATTR_EXPIRES)]),
        values: HashMap::from([
            (":now".to_owned(), number(now)),
            (":now_ms".to_owned(), number(now * 1000.0)),
            (":ms_threshold".to_owned(), number(MILLIS_THRESHOLD)),
        ]),
    }
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(crate) fn number(value: f64) -> AttributeValue {
    AttributeValue::N(format!("{value:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads an item stored under `sess:a`, with nothing at rest turned on.
    fn read(
        item: Option<HashMap<String, AttributeValue>>,
        now: f64,
        oldest_created: Option<f64>,
    ) -> Stored {
        super::read(item, now, oldest_created, "sess:a", &AtRest::default()).expect("readable")
    }

    /// Decodes an item stored under `sess:a`, with nothing at rest turned on.
    fn decode(
        item: HashMap<String, AttributeValue>,
        now: f64,
        oldest_created: Option<f64>,
    ) -> Option<SessionRecord> {
        super::decode(item, now, oldest_created, "sess:a", &AtRest::default()).expect("readable")
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    const NOW: f64 = 1_764_000_000.0;

    #[test]
    fn decodes_live_sessions_only() {
        let live = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S(r#"{"a":1}"#.into())),
        ]);
        let record = decode(live, NOW, None).expect("live");
        assert_eq!(record.session, r#"{"a":1}"#);
        assert_eq!(expiry::epoch_secs(record.expires_at), 1_764_000_100.0);

        let millis = item(&[
            ("expires", AttributeValue::N("1764000100000".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(millis, NOW, None).is_some());

        let expired_at_now = item(&[
            ("expires", AttributeValue::N("1764000000".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(expired_at_now, NOW, None).is_none());

        let ghost = item(&[("expires", AttributeValue::N("1764000100".into()))]);
        assert!(decode(ghost, NOW, None).is_none());

        let not_json = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S("{not json".into())),
        ]);
        assert!(decode(not_json, NOW, None).is_none());

        let sess_not_string = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::M(HashMap::new())),
        ]);
        assert!(decode(sess_not_string, NOW, None).is_none());

        let no_expires = item(&[("sess", AttributeValue::S("{}".into()))]);
        assert!(decode(no_expires, NOW, None).is_none());

        let absurd = item(&[
            ("expires", AttributeValue::N("1e300".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(absurd, NOW, None).is_none());

        let expires_string = item(&[
            ("expires", AttributeValue::S("1764000100".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(expires_string, NOW, None).is_none());
    }

    #[test]
    fn reads_tombstones_versions_creation_and_users() {
        let tombstone = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S(TOMBSTONE_SESS.into())),
            ("ended", AttributeValue::N("1764000000".into())),
        ]);
        assert!(matches!(
            read(Some(tombstone.clone()), NOW, None),
            Stored::Tombstone
        ));
        assert!(decode(tombstone, NOW, None).is_none());
        let ended_tombstone = item(&[
            ("expires", AttributeValue::N("1763999000".into())),
            ("sess", AttributeValue::S(TOMBSTONE_SESS.into())),
            ("ended", AttributeValue::N("1763990000".into())),
        ]);
        assert!(matches!(
            read(Some(ended_tombstone), NOW, None),
            Stored::Absent { .. }
        ));

        let versioned = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S("{}".into())),
            ("version", AttributeValue::N("7".into())),
            ("created", AttributeValue::N("1763990000".into())),
        ]);
        match read(Some(versioned.clone()), NOW, None) {
            Stored::Live {
                record,
                version,
                created,
            } => {
                assert_eq!(version, 7);
                assert_eq!(created, Some(1_763_990_000.0));
                assert_eq!(
                    record.created_at,
                    Some(expiry::at_epoch_secs(1_763_990_000.0))
                );
            }
            other => panic!("live expected, got {other:?}"),
        }
        // Created 10 000 s ago: live under a limit of 20 000 s, refused under one of 100 s.
        assert!(decode(versioned.clone(), NOW, Some(NOW - 20_000.0)).is_some());
        match read(Some(versioned), NOW, Some(NOW - 100.0)) {
            Stored::Absent { version, created } => {
                assert_eq!((version, created), (7, Some(1_763_990_000.0)));
            }
            other => panic!("absent expected, got {other:?}"),
        }
        // No creation time: the absolute timeout cannot apply (a connect-dynamodb 3.x item).
        let legacy = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(legacy, NOW, Some(NOW - 1.0)).is_some());
        assert!(matches!(
            read(None, NOW, None),
            Stored::Absent {
                version: 0,
                created: None
            }
        ));
    }

    #[test]
    fn the_user_is_a_string_or_a_whole_number_at_the_path() {
        let session = r#"{"passport":{"user":"ada"},"userId":42,"f":1.5,"o":{},"b":true,"e":""}"#;
        assert_eq!(user_of(session, "passport.user").as_deref(), Some("ada"));
        assert_eq!(user_of(session, "userId").as_deref(), Some("42"));
        for none in ["f", "o", "b", "e", "missing", "passport.user.x", "passport"] {
            assert_eq!(user_of(session, none), None, "{none}");
        }
        assert_eq!(user_of("[1]", "userId"), None);
        let long = format!(r#"{{"u":"{}"}}"#, "x".repeat(MAX_USER_BYTES + 1));
        assert_eq!(user_of(&long, "u"), None);
    }

    #[test]
    fn checks_json_and_size_before_writing() {
        let none = &[];
        assert!(
            check_session(
                "id",
                "sess:a",
                r#"{"cookie":{}}"#,
                none,
                &all_own(),
                &AtRest::default()
            )
            .is_ok()
        );
        assert_eq!(
            check_session("id", "sess:a", "{", none, &all_own(), &AtRest::default())
                .expect_err("bad")
                .kind(),
            ErrorKind::Serialization
        );
        assert_eq!(
            check_session("id", "sess:a", "", none, &all_own(), &AtRest::default())
                .expect_err("empty")
                .kind(),
            ErrorKind::Serialization
        );
        let big = format!("\"{}\"", "x".repeat(MAX_ITEM_BYTES));
        assert_eq!(
            check_session("id", "sess:a", &big, none, &all_own(), &AtRest::default())
                .expect_err("big")
                .kind(),
            ErrorKind::ItemTooLarge
        );
        // Extra attributes count towards the limit, and must not clash or be malformed.
        let half = "x".repeat(MAX_ITEM_BYTES / 2 + 10);
        let two_halves = [
            ("a".to_owned(), ItemAttribute::S(half.clone())),
            ("b".to_owned(), ItemAttribute::B(half.into_bytes())),
        ];
        assert_eq!(
            check_session(
                "id",
                "sess:a",
                "{}",
                &two_halves,
                &all_own(),
                &AtRest::default()
            )
            .expect_err("big")
            .kind(),
            ErrorKind::ItemTooLarge
        );
        let ok = [
            ("userId".to_owned(), ItemAttribute::S("u1".into())),
            ("age".to_owned(), ItemAttribute::N("-12.5e3".into())),
        ];
        assert!(check_session("id", "sess:a", "{}", &ok, &all_own(), &AtRest::default()).is_ok());
        for bad in [
            vec![("sess".to_owned(), ItemAttribute::S("x".into()))],
            vec![("ended".to_owned(), ItemAttribute::S("x".into()))],
            vec![("version".to_owned(), ItemAttribute::N("1".into()))],
            vec![("user".to_owned(), ItemAttribute::S("x".into()))],
            vec![("id".to_owned(), ItemAttribute::S("x".into()))],
            vec![(String::new(), ItemAttribute::S("x".into()))],
            vec![("n".to_owned(), ItemAttribute::N("12abc".into()))],
            vec![("n".to_owned(), ItemAttribute::N("NaN".into()))],
            vec![
                ("u".to_owned(), ItemAttribute::S("1".into())),
                ("u".to_owned(), ItemAttribute::S("2".into())),
            ],
        ] {
            assert_eq!(
                check_session("id", "sess:a", "{}", &bad, &all_own(), &AtRest::default())
                    .expect_err("bad")
                    .kind(),
                ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    /// The attributes every feature on writes.
    fn all_own() -> OwnAttributes {
        OwnAttributes {
            names: vec![ATTR_ENDED, ATTR_VERSION, ATTR_CREATED, ATTR_USER],
            bytes: 0,
        }
    }

    #[test]
    fn a_feature_that_is_off_leaves_its_attribute_name_free() {
        let none = OwnAttributes {
            names: Vec::new(),
            bytes: 0,
        };
        for name in ["ended", "version", "created", "user"] {
            let extra = [(name.to_owned(), ItemAttribute::S("x".into()))];
            assert!(check_session("id", "sess:a", "{}", &extra, &none, &AtRest::default()).is_ok());
            assert!(
                check_session("id", "sess:a", "{}", &extra, &all_own(), &AtRest::default())
                    .is_err()
            );
        }
    }

    #[test]
    fn record_debug_hides_session_text() {
        let record = SessionRecord {
            session: r#"{"token":"hunter2"}"#.into(),
            expires_at: std::time::UNIX_EPOCH,
            created_at: None,
            version: None,
        };
        assert!(!format!("{record:?}").contains("hunter2"));
    }
}
