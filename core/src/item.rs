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

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_dynamodb::types::AttributeValue;

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

/// DynamoDB's item size limit, in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A stored session: its JSON text and when it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session as JSON text, exactly as it was stored.
    pub session: String,
    /// When the session expires; it is never returned after this.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Session data may hold personal data or tokens: only its size is shown.
        f.debug_struct("SessionRecord")
            .field("session_bytes", &self.session.len())
            .field("expires_at", &self.expires_at)
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

/// Decodes an item into a live session, or `None` when it is expired, a ghost, or unreadable.
/// Takes the item by value so the session text is moved, not copied.
pub(crate) fn decode(mut item: HashMap<String, AttributeValue>, now: f64) -> Option<SessionRecord> {
    let expires = item_expires(&item)?;
    if expires <= now {
        return None;
    }
    let session = match item.remove(ATTR_SESS) {
        Some(AttributeValue::S(s)) => s,
        _ => return None,
    };
    if !is_json(&session) {
        return None;
    }
    Some(SessionRecord {
        session,
        expires_at: expiry::at_epoch_secs(expires),
    })
}

/// Reads an item the caller fetched itself as the store reads its own: the live session, or
/// `None` when it is expired at `now`, a ghost, or unreadable (for faces that take items from
/// elsewhere, e.g. connect-dynamodb 3.x's `getParsedSession(output)` in Node).
pub fn decode_item(
    item: HashMap<String, AttributeValue>,
    now: SystemTime,
) -> Option<SessionRecord> {
    decode(item, expiry::epoch_secs(now))
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
) -> Result<()> {
    if !is_json(session) {
        return Err(Error::new(
            ErrorKind::Serialization,
            "the session is not valid JSON text",
        ));
    }
    let mut extra = 0;
    for (index, (name, value)) in attributes.iter().enumerate() {
        if name.is_empty() || name.len() > 255 {
            return Err(Error::invalid_argument(
                "an extra attribute name must be 1 to 255 bytes long",
            ));
        }
        if [hash_key, ATTR_EXPIRES, ATTR_TYPE, ATTR_SESS].contains(&name.as_str()) {
            return Err(Error::invalid_argument(format!(
                "the extra attribute `{name}` would overwrite the session item's own attribute"
            )));
        }
        if attributes[..index].iter().any(|(other, _)| other == name) {
            return Err(Error::invalid_argument(format!(
                "the extra attribute `{name}` is given twice"
            )));
        }
        let size = match value {
            ItemAttribute::S(s) => s.len(),
            ItemAttribute::B(b) => b.len(),
            ItemAttribute::N(n) => {
                let valid = n.trim() == n
                    && n.parse::<f64>().is_ok_and(f64::is_finite)
                    && n.bytes().filter(u8::is_ascii_digit).count() <= 38;
                if !valid {
                    return Err(Error::invalid_argument(format!(
                        "the extra attribute `{name}` is not a number DynamoDB can store"
                    )));
                }
                n.len()
            }
        };
        extra += name.len() + size;
    }
    // DynamoDB counts attribute names plus values; a number takes at most its text length.
    let size = hash_key.len()
        + key.len()
        + ATTR_EXPIRES.len()
        + 21
        + ATTR_TYPE.len()
        + TYPE_VALUE.len()
        + ATTR_SESS.len()
        + session.len()
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
        self.expression = format!("NOT {}", self.expression);
        self
    }
}

/// True for an item `get` would return: a string `sess` and an `expires` in the future, in
/// either stored unit, and not past the year 9999.
pub(crate) fn live_session(now: f64) -> Condition {
    Condition {
        expression: "(attribute_type(#s, :string_type) AND ((#e > :now AND #e < :ms_threshold) \
                     OR (#e >= :ms_threshold AND #e > :now_ms AND #e <= :latest_ms)))"
            .to_owned(),
        names: names(&[("#s", ATTR_SESS), ("#e", ATTR_EXPIRES)]),
        values: HashMap::from([
            (":string_type".to_owned(), AttributeValue::S("S".to_owned())),
            (":now".to_owned(), number(now)),
            (":now_ms".to_owned(), number(now * 1000.0)),
            (":ms_threshold".to_owned(), number(MILLIS_THRESHOLD)),
            (":latest_ms".to_owned(), number(LATEST_STORED_SECS * 1000.0)),
        ]),
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
        let record = decode(live, NOW).expect("live");
        assert_eq!(record.session, r#"{"a":1}"#);
        assert_eq!(expiry::epoch_secs(record.expires_at), 1_764_000_100.0);

        let millis = item(&[
            ("expires", AttributeValue::N("1764000100000".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(millis, NOW).is_some());

        let expired_at_now = item(&[
            ("expires", AttributeValue::N("1764000000".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(expired_at_now, NOW).is_none());

        let ghost = item(&[("expires", AttributeValue::N("1764000100".into()))]);
        assert!(decode(ghost, NOW).is_none());

        let not_json = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::S("{not json".into())),
        ]);
        assert!(decode(not_json, NOW).is_none());

        let sess_not_string = item(&[
            ("expires", AttributeValue::N("1764000100".into())),
            ("sess", AttributeValue::M(HashMap::new())),
        ]);
        assert!(decode(sess_not_string, NOW).is_none());

        let no_expires = item(&[("sess", AttributeValue::S("{}".into()))]);
        assert!(decode(no_expires, NOW).is_none());

        let absurd = item(&[
            ("expires", AttributeValue::N("1e300".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(absurd, NOW).is_none());

        let expires_string = item(&[
            ("expires", AttributeValue::S("1764000100".into())),
            ("sess", AttributeValue::S("{}".into())),
        ]);
        assert!(decode(expires_string, NOW).is_none());
    }

    #[test]
    fn checks_json_and_size_before_writing() {
        let none = &[];
        assert!(check_session("id", "sess:a", r#"{"cookie":{}}"#, none).is_ok());
        assert_eq!(
            check_session("id", "sess:a", "{", none)
                .expect_err("bad")
                .kind(),
            ErrorKind::Serialization
        );
        assert_eq!(
            check_session("id", "sess:a", "", none)
                .expect_err("empty")
                .kind(),
            ErrorKind::Serialization
        );
        let big = format!("\"{}\"", "x".repeat(MAX_ITEM_BYTES));
        assert_eq!(
            check_session("id", "sess:a", &big, none)
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
            check_session("id", "sess:a", "{}", &two_halves)
                .expect_err("big")
                .kind(),
            ErrorKind::ItemTooLarge
        );
        let ok = [
            ("userId".to_owned(), ItemAttribute::S("u1".into())),
            ("age".to_owned(), ItemAttribute::N("-12.5e3".into())),
        ];
        assert!(check_session("id", "sess:a", "{}", &ok).is_ok());
        for bad in [
            vec![("sess".to_owned(), ItemAttribute::S("x".into()))],
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
                check_session("id", "sess:a", "{}", &bad)
                    .expect_err("bad")
                    .kind(),
                ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn record_debug_hides_session_text() {
        let record = SessionRecord {
            session: r#"{"token":"hunter2"}"#.into(),
            expires_at: std::time::UNIX_EPOCH,
        };
        assert!(!format!("{record:?}").contains("hunter2"));
    }
}
