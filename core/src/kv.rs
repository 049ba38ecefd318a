//! A general key-value store on the sessions table (Litestar stores): [`KeyValueStore`].
//!
//! A [`KeyValueStore`] is made from a [`SessionStore`] and shares its client, table, hash key,
//! clock and first-use table check; it has a key prefix of its own ([`DEFAULT_PREFIX`] by
//! default), and a namespace ([`KeyValueStore::with_namespace`]) appends `<namespace>:` to it.
//! Its items are
//!
//! ```text
//! { <hash_key>: S "<prefix><key>", type: S "connect-kv", value: B <bytes>,
//!   expires: N <epoch seconds, rounded up>, expires_ms: N <epoch milliseconds> }
//! ```
//!
//! `expires` is for DynamoDB's TTL, which deletes expired items some time later (up to days);
//! `expires_ms` is the expiry to the millisecond (rounded down), which every read checks
//! against the store's clock, so an expired value is never returned. Both are absent for a value that never expires.
//!
//! What the session store adds to sessions does not apply here: there are no tombstones, no
//! versioned writes or merges, and values are stored as they are given, **not encrypted or
//! compressed at rest** even when the session store is configured to encrypt sessions. With
//! hashed ids on (`id_hash_key`), keys are hashed as session ids are (the prefix and namespace
//! stay readable), so the keys of Litestar's server-side sessions, which are session ids, do
//! not stand in the table.
//!
//! Session operations leave these items alone: `ids`, `all`, `length` and `reencrypt` see
//! only items with a `sess`, and `clear` and the reaper only keys of the session prefix. (A
//! session store with an empty prefix is the exception: its `clear` deletes every item of the
//! table, and its reaper every expired one, key-value items included.)

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::config::MAX_KEY_BYTES;
use crate::error::{Error, ErrorKind, Result};
use crate::expiry;
use crate::item::{ATTR_EXPIRES, ATTR_TYPE, Condition, MAX_ITEM_BYTES};
use crate::store::{ReapReport, SessionStore};

/// The key prefix of a [`KeyValueStore`] made with [`KeyValueStore::new`] without one of its
/// own (Litestar's stores).
pub const DEFAULT_PREFIX: &str = "litestar:";
/// The value of the `type` attribute of a key-value item.
pub const KV_TYPE_VALUE: &str = "connect-kv";
/// The attribute holding the value (binary).
pub const ATTR_VALUE: &str = "value";
/// The attribute holding the exact expiry in epoch milliseconds.
pub const ATTR_EXPIRES_MS: &str = "expires_ms";
/// What a namespace appends to the prefix after its name; a namespace may not contain it.
pub const NAMESPACE_SEPARATOR: char = ':';

/// When a stored value expires, as [`KeyValueStore::expires_in`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvExpiry {
    /// The value was stored without an expiry.
    Never,
    /// The value expires after this time, on the store's clock (exact to the millisecond).
    In(Duration),
}

/// A key-value store on the sessions table: values of bytes under string keys, each with an
/// optional expiry. Cheap to clone; clones share the session store's client.
///
/// Every method is async and needs a Tokio runtime, which the caller owns.
#[derive(Clone)]
pub struct KeyValueStore {
    store: SessionStore,
    prefix: String,
}

impl std::fmt::Debug for KeyValueStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyValueStore")
            .field("table", &self.store.config().table())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// An expiry as it is written: whole epoch seconds, rounded up, for the TTL (which must not
/// delete a value before it expires), and epoch milliseconds, rounded down, for reads (a value
/// is never returned after the time it was given: at most a millisecond before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiry {
    secs: i64,
    millis: u64,
}

/// What a key-value item holds, as read at one time.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// A value that has not expired; `value` is `None` when the read did not fetch it.
    Live {
        value: Option<Vec<u8>>,
        expires_ms: Option<u64>,
    },
    /// No item, an expired one, or one that is not a key-value item of this format.
    Absent,
}

impl KeyValueStore {
    /// A key-value store on `store`'s table with the key prefix `prefix`, checked by
    /// [`check_prefix`].
    pub fn new(store: SessionStore, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        check_prefix(&prefix, store.config().prefix())?;
        Ok(KeyValueStore { store, prefix })
    }

    /// The store of the child namespace `namespace` (its prefix is [`namespaced_prefix`]):
    /// [`delete_all`](Self::delete_all) of this store deletes the child's values too, and not
    /// the other way round.
    pub fn with_namespace(&self, namespace: &str) -> Result<Self> {
        Self::new(
            self.store.clone(),
            namespaced_prefix(&self.prefix, namespace)?,
        )
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The session store this store was made from.
    pub fn session_store(&self) -> &SessionStore {
        &self.store
    }

    /// Stores `value` under `key`, replacing what is stored, to expire after `expires_in`
    /// (`None` or zero: never). One PutItem.
    ///
    /// `INVALID_ARGUMENT` for an empty or too long key, or an expiry past the range the store
    /// writes (the year 5138); `ITEM_TOO_LARGE` when the item would not fit DynamoDB's limit
    /// (checked before anything is sent).
    pub async fn set(&self, key: &str, value: &[u8], expires_in: Option<Duration>) -> Result<()> {
        let key = self.key(key)?;
        let expiry = self.expiry_after(expires_in)?;
        check_size(self.store.config().hash_key(), &key, value.len(), expiry)?;
        self.store.ensure_table().await?;
        let c = self.store.config();
        let mut request = self
            .store
            .client()
            .put_item()
            .table_name(c.table())
            .item(c.hash_key(), AttributeValue::S(key))
            .item(ATTR_TYPE, AttributeValue::S(KV_TYPE_VALUE.to_owned()))
            .item(ATTR_VALUE, AttributeValue::B(value.to_vec().into()));
        if let Some(expiry) = expiry {
            request = request
                .item(ATTR_EXPIRES, AttributeValue::N(expiry.secs.to_string()))
                .item(
                    ATTR_EXPIRES_MS,
                    AttributeValue::N(expiry.millis.to_string()),
                );
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("PutItem", e))
    }

    /// The value under `key`, or `None` when there is none or it has expired (on the store's
    /// clock, to the millisecond, however late DynamoDB's TTL deletes it).
    ///
    /// With `renew_for` (not zero), a value that has an expiry gets a new one, `renew_for`
    /// from now; a value without one keeps none. Never throttled: the read and the renewal are
    /// one UpdateItem, conditional on the value still being there and live, so it never
    /// brings back a value deleted or expired meanwhile. Without `renew_for`, one GetItem.
    pub async fn get(&self, key: &str, renew_for: Option<Duration>) -> Result<Option<Vec<u8>>> {
        let key = self.key(key)?;
        let renewal = self.expiry_after(renew_for)?;
        self.store.ensure_table().await?;
        let entry = match renewal {
            None => self.read(&key, true).await?,
            Some(expiry) => self.read_and_renew(&key, expiry).await?,
        };
        Ok(match entry {
            Entry::Live { value, .. } => value,
            Entry::Absent => None,
        })
    }

    /// Deletes the value under `key`; a missing key is not an error. One DeleteItem.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let key = self.key(key)?;
        self.store.ensure_table().await?;
        let c = self.store.config();
        self.store
            .client()
            .delete_item()
            .table_name(c.table())
            .key(c.hash_key(), AttributeValue::S(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("DeleteItem", e))
    }

    /// Deletes every value of this store's prefix, those of its child namespaces included;
    /// items of other prefixes (the parent namespace, sessions) are left alone. One scan of
    /// the table (in the session store's scan segments) and BatchWriteItem requests of 25.
    pub async fn delete_all(&self) -> Result<ReapReport> {
        self.store.delete_where(&self.prefix, kv_items()).await
    }

    /// Deletes the expired values of this store's prefix (and its child namespaces), which
    /// DynamoDB's TTL would delete later; like [`delete_all`](Self::delete_all), one scan.
    pub async fn delete_expired(&self) -> Result<ReapReport> {
        let now_ms = self.now_ms();
        let expired = kv_items().and(Condition {
            expression: "#ems <= :now_ms".to_owned(),
            names: HashMap::from([("#ems".to_owned(), ATTR_EXPIRES_MS.to_owned())]),
            values: HashMap::from([(":now_ms".to_owned(), AttributeValue::N(now_ms.to_string()))]),
        });
        self.store.delete_where(&self.prefix, expired).await
    }

    /// Whether a live value is stored under `key`. One GetItem.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let key = self.key(key)?;
        self.store.ensure_table().await?;
        Ok(matches!(self.read(&key, false).await?, Entry::Live { .. }))
    }

    /// When the value under `key` expires: [`KvExpiry::Never`] for one stored without an
    /// expiry, `None` when there is none or it has expired. One GetItem.
    pub async fn expires_in(&self, key: &str) -> Result<Option<KvExpiry>> {
        let key = self.key(key)?;
        self.store.ensure_table().await?;
        Ok(match self.read(&key, false).await? {
            Entry::Absent => None,
            Entry::Live {
                expires_ms: None, ..
            } => Some(KvExpiry::Never),
            Entry::Live {
                expires_ms: Some(ms),
                ..
            } => {
                let at = UNIX_EPOCH + Duration::from_millis(ms);
                // Live, so later than now; a clock moved meanwhile gives zero, not an error.
                let left = at
                    .duration_since(self.store.config().now())
                    .unwrap_or_default();
                Some(KvExpiry::In(left))
            }
        })
    }

    /// The full key of `key`, checked against DynamoDB's key limit.
    fn key(&self, key: &str) -> Result<String> {
        if key.is_empty() {
            return Err(Error::invalid_argument("the key is empty"));
        }
        if self.prefix.len() + key.len() > MAX_KEY_BYTES {
            return Err(Error::invalid_argument(format!(
                "the key is {} bytes long; with the prefix it may be at most {MAX_KEY_BYTES} bytes",
                key.len()
            )));
        }
        // With hashed ids on, keys are hashed too: the keys of Litestar's server-side sessions
        // are session ids, and a table dump must not give them away.
        Ok(format!(
            "{}{}",
            self.prefix,
            self.store.config().at_rest.stored_id(key)
        ))
    }

    /// The expiry `after` from now on the store's clock; `None` for `None` or zero.
    fn expiry_after(&self, after: Option<Duration>) -> Result<Option<Expiry>> {
        let Some(after) = after.filter(|d| !d.is_zero()) else {
            return Ok(None);
        };
        let at = self
            .store
            .config()
            .now()
            .checked_add(after)
            .ok_or_else(|| {
                Error::invalid_argument("the expiry lies past the range the store writes")
            })?;
        expiry_at(at).map(Some)
    }

    /// Now on the store's clock, in whole epoch milliseconds, rounded down.
    fn now_ms(&self) -> u64 {
        floor_ms(self.store.config().now())
    }

    /// Reads the item under `key` (its value too when `value`).
    async fn read(&self, key: &str, value: bool) -> Result<Entry> {
        let c = self.store.config();
        let mut request = self
            .store
            .client()
            .get_item()
            .table_name(c.table())
            .key(c.hash_key(), AttributeValue::S(key.to_owned()))
            .consistent_read(c.consistent_read())
            .expression_attribute_names("#t", ATTR_TYPE)
            .expression_attribute_names("#e", ATTR_EXPIRES)
            .expression_attribute_names("#ems", ATTR_EXPIRES_MS);
        request = if value {
            request
                .projection_expression("#t, #e, #ems, #v")
                .expression_attribute_names("#v", ATTR_VALUE)
        } else {
            request.projection_expression("#t, #e, #ems")
        };
        let out = request
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetItem", e))?;
        Ok(read_entry(out.item, self.now_ms()))
    }

    /// Reads the item under `key` and, when it is live and has an expiry, moves that to
    /// `expiry`: one UpdateItem, which returns the item whether its condition held or not.
    async fn read_and_renew(&self, key: &str, expiry: Expiry) -> Result<Entry> {
        let c = self.store.config();
        let now_ms = self.now_ms();
        let result = self
            .store
            .client()
            .update_item()
            .table_name(c.table())
            .key(c.hash_key(), AttributeValue::S(key.to_owned()))
            .update_expression("SET #e = :secs, #ems = :ms")
            .condition_expression("#t = :kv_type AND #ems > :now_ms")
            .expression_attribute_names("#t", ATTR_TYPE)
            .expression_attribute_names("#e", ATTR_EXPIRES)
            .expression_attribute_names("#ems", ATTR_EXPIRES_MS)
            .expression_attribute_values(":kv_type", AttributeValue::S(KV_TYPE_VALUE.to_owned()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":secs", AttributeValue::N(expiry.secs.to_string()))
            .expression_attribute_values(":ms", AttributeValue::N(expiry.millis.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(read_entry(out.attributes, now_ms)),
            Err(e) => {
                if let Some(UpdateItemError::ConditionalCheckFailedException(refused)) =
                    e.as_service_error()
                {
                    // Missing, expired, not a key-value item, or stored without an expiry
                    // (which is returned as it is).
                    return Ok(read_entry(refused.item.clone(), now_ms));
                }
                Err(Error::from_sdk("UpdateItem", e))
            }
        }
    }
}

/// Checks a key-value prefix beside the session prefix of the same store: `INVALID_ARGUMENT`
/// when it is empty (a bulk delete would then take the whole table), longer than a DynamoDB
/// key allows, or when it and the (non-empty) session prefix begin one another, so that one
/// store's bulk deletes would take the other's items.
pub fn check_prefix(prefix: &str, session_prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(Error::invalid_argument(
            "the key-value prefix is empty: `delete_all` would delete the whole table",
        ));
    }
    if prefix.len() >= MAX_KEY_BYTES {
        return Err(Error::invalid_argument(format!(
            "the key-value prefix is {} bytes long; a key may be at most {MAX_KEY_BYTES} bytes",
            prefix.len()
        )));
    }
    if !session_prefix.is_empty()
        && (prefix.starts_with(session_prefix) || session_prefix.starts_with(prefix))
    {
        return Err(Error::invalid_argument(format!(
            "the key-value prefix {prefix:?} and the session prefix {session_prefix:?} overlap: \
             the bulk deletes of one would delete the other's items"
        )));
    }
    Ok(())
}

/// The prefix of the child namespace `namespace` of the prefix `prefix`: `prefix`, then
/// `namespace`, then [`NAMESPACE_SEPARATOR`]. `INVALID_ARGUMENT` when `namespace` is empty or
/// contains the separator.
///
/// A key of the parent that begins with `<namespace>:` is the child's key of the rest: keys
/// of that shape and namespaces are not to be mixed.
pub fn namespaced_prefix(prefix: &str, namespace: &str) -> Result<String> {
    if namespace.is_empty() {
        return Err(Error::invalid_argument("a namespace must not be empty"));
    }
    if namespace.contains(NAMESPACE_SEPARATOR) {
        return Err(Error::invalid_argument(format!(
            "a namespace must not contain {NAMESPACE_SEPARATOR:?}"
        )));
    }
    Ok(format!("{prefix}{namespace}{NAMESPACE_SEPARATOR}"))
}

/// True for a key-value item.
fn kv_items() -> Condition {
    Condition {
        expression: "#t = :kv_type".to_owned(),
        names: HashMap::from([("#t".to_owned(), ATTR_TYPE.to_owned())]),
        values: HashMap::from([(
            ":kv_type".to_owned(),
            AttributeValue::S(KV_TYPE_VALUE.to_owned()),
        )]),
    }
}

/// The expiry written for the time `at`: `INVALID_ARGUMENT` out of the store's range.
fn expiry_at(at: SystemTime) -> Result<Expiry> {
    let secs = expiry::stored_secs(at)?;
    let exact = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::invalid_argument("the expiry lies before 1970"))?;
    Ok(Expiry {
        secs,
        // Below 10^14: `stored_secs` checked the range.
        millis: u64::try_from(exact.as_millis()).unwrap_or(u64::MAX),
    })
}

/// `t` in whole epoch milliseconds, rounded down (0 before 1970).
fn floor_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Reads a key-value item at `now_ms` (whole milliseconds, rounded down): a value is live
/// while its `expires_ms` is later than now, so a value set to expire at now has expired.
fn read_entry(item: Option<HashMap<String, AttributeValue>>, now_ms: u64) -> Entry {
    let Some(mut item) = item.filter(|i| !i.is_empty()) else {
        return Entry::Absent;
    };
    if !matches!(item.get(ATTR_TYPE), Some(AttributeValue::S(t)) if t == KV_TYPE_VALUE) {
        return Entry::Absent;
    }
    let expires_ms = match (item.get(ATTR_EXPIRES_MS), item.get(ATTR_EXPIRES)) {
        (Some(AttributeValue::N(ms)), _) => match ms.trim().parse::<u64>() {
            Ok(ms) => Some(ms),
            Err(_) => return Entry::Absent,
        },
        (Some(_), _) => return Entry::Absent,
        // Written by hand with only a TTL attribute: that is the expiry.
        (None, Some(AttributeValue::N(secs))) => match expiry::parse_stored(secs) {
            Some(secs) if secs >= 0.0 => Some((secs * 1000.0).ceil() as u64),
            _ => return Entry::Absent,
        },
        (None, Some(_)) => return Entry::Absent,
        (None, None) => None,
    };
    if expires_ms.is_some_and(|ms| ms <= now_ms) {
        return Entry::Absent;
    }
    let value = match item.remove(ATTR_VALUE) {
        Some(AttributeValue::B(blob)) => Some(blob.into_inner()),
        Some(_) => return Entry::Absent,
        None => None,
    };
    Entry::Live { value, expires_ms }
}

/// Checks that an item with a value of `value_len` bytes fits DynamoDB's limit.
fn check_size(hash_key: &str, key: &str, value_len: usize, expiry: Option<Expiry>) -> Result<()> {
    // DynamoDB counts attribute names plus values; a number takes at most 21 bytes.
    let expiry_bytes = if expiry.is_some() {
        ATTR_EXPIRES.len() + 21 + ATTR_EXPIRES_MS.len() + 21
    } else {
        0
    };
    let size = hash_key.len()
        + key.len()
        + ATTR_TYPE.len()
        + KV_TYPE_VALUE.len()
        + ATTR_VALUE.len()
        + value_len
        + expiry_bytes;
    if size > MAX_ITEM_BYTES {
        return Err(Error::new(
            ErrorKind::ItemTooLarge,
            format!("the item would take {size} bytes, over DynamoDB's limit of {MAX_ITEM_BYTES}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Option<HashMap<String, AttributeValue>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn kv() -> (&'static str, AttributeValue) {
        (ATTR_TYPE, AttributeValue::S(KV_TYPE_VALUE.to_owned()))
    }

    fn value(bytes: &[u8]) -> (&'static str, AttributeValue) {
        (ATTR_VALUE, AttributeValue::B(bytes.to_vec().into()))
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }

    #[test]
    fn expiries_round_down_to_the_millisecond_and_up_to_the_second() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_000_000_001);
        assert_eq!(
            expiry_at(at).expect("in range"),
            Expiry {
                secs: 1_764_000_001,
                millis: 1_764_000_000_000
            }
        );
        let exact = UNIX_EPOCH + Duration::from_millis(1_764_000_000_500);
        assert_eq!(
            expiry_at(exact).expect("in range"),
            Expiry {
                secs: 1_764_000_001,
                millis: 1_764_000_000_500
            }
        );
        assert_eq!(floor_ms(at), 1_764_000_000_000);
        let far = UNIX_EPOCH + Duration::from_secs(expiry::MAX_EXPIRES_SECS as u64 + 1);
        assert_eq!(
            expiry_at(far).expect_err("too far").kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn reads_live_values_only() {
        let now = 1_764_000_000_000;
        let live = item(&[kv(), value(b"v"), ("expires_ms", n("1764000000001"))]);
        assert_eq!(
            read_entry(live, now),
            Entry::Live {
                value: Some(b"v".to_vec()),
                expires_ms: Some(1_764_000_000_001)
            }
        );
        let at_now = item(&[kv(), value(b"v"), ("expires_ms", n("1764000000000"))]);
        assert_eq!(
            read_entry(at_now, now),
            Entry::Absent,
            "expiry is inclusive"
        );
        let never = item(&[kv(), value(b"")]);
        assert_eq!(
            read_entry(never, now),
            Entry::Live {
                value: Some(Vec::new()),
                expires_ms: None
            }
        );
        let ttl_only = item(&[kv(), value(b"v"), ("expires", n("1764000001"))]);
        assert_eq!(
            read_entry(ttl_only, now),
            Entry::Live {
                value: Some(b"v".to_vec()),
                expires_ms: Some(1_764_000_001_000)
            }
        );
        let projected = item(&[kv(), ("expires_ms", n("1764000000001"))]);
        assert!(matches!(
            read_entry(projected, now),
            Entry::Live { value: None, .. }
        ));
        for absent in [
            None,
            item(&[]),
            item(&[value(b"v")]),
            item(&[
                (ATTR_TYPE, AttributeValue::S("connect-session".into())),
                value(b"v"),
            ]),
            item(&[kv(), (ATTR_VALUE, AttributeValue::S("text".into()))]),
            item(&[kv(), value(b"v"), ("expires_ms", n("soon"))]),
            item(&[
                kv(),
                value(b"v"),
                ("expires_ms", AttributeValue::S("1".into())),
            ]),
        ] {
            assert_eq!(read_entry(absent, now), Entry::Absent);
        }
    }

    #[test]
    fn the_item_limit_counts_names_and_values() {
        let fits = MAX_ITEM_BYTES - ("id".len() + "litestar:k".len() + 4 + 10 + 5);
        assert!(check_size("id", "litestar:k", fits, None).is_ok());
        assert_eq!(
            check_size("id", "litestar:k", fits + 1, None)
                .expect_err("too large")
                .kind(),
            ErrorKind::ItemTooLarge
        );
        let expiry = Some(Expiry { secs: 1, millis: 1 });
        assert!(check_size("id", "litestar:k", fits, expiry).is_err());
    }
}
