//! The core of connect-dynamodb: a web session store on Amazon DynamoDB.
//!
//! This crate does all the work for the project's C, Node and Python faces. It reads and
//! writes tables in the item format of the npm package connect-dynamodb, so tables written by
//! any published connect-dynamodb version keep working, in both directions.
//!
//! Session data is opaque JSON text here: the faces serialize their framework's session.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use connect_dynamodb_core::{Config, SessionStore};
//!
//! # async fn run() -> Result<(), connect_dynamodb_core::Error> {
//! let config = Config::builder()
//!     .table("sessions")
//!     .region("eu-west-1")
//!     .build()?;
//! let store = SessionStore::connect(config).await?;
//! store.create_table().await?; // once, at deploy time; needs CreateTable permission
//!
//! let expires = SystemTime::now() + Duration::from_secs(3600);
//! store.set("a1b2c3", r#"{"user":"ada"}"#, Some(expires)).await?;
//! if let Some(record) = store.get("a1b2c3").await? {
//!     println!("{} until {:?}", record.session, record.expires_at);
//! }
//! store.touch("a1b2c3", Some(expires + Duration::from_secs(60))).await?;
//! store.destroy("a1b2c3").await?;
//! # Ok(()) }
//! ```
//!
//! # What the store guarantees
//!
//! - An expired session is never returned, however late DynamoDB's TTL deletes it.
//! - `touch` never re-creates a destroyed or expired session, and writes nothing when the new
//!   expiry is within the touch throttle of the stored one.
//! - A late `set` never brings back a session destroyed moments ago: `destroy` leaves a
//!   tombstone for `tombstone_lifetime` (an hour by default), and the save is
//!   [`SetOutcome::Ended`].
//! - With `merge` on, concurrent saves of one session lose no update: writes are versioned and
//!   a conflict is merged key by key (see [`MergePolicy`]).
//! - With `absolute_timeout` set, no session outlives its creation by more than that.
//! - With `user_field` set, a user's sessions are listed and ended through a global secondary
//!   index ([`SessionStore::user_sessions`], [`SessionStore::end_user_sessions`]).
//! - Reads are strongly consistent unless configured otherwise.
//! - `ids`, `all`, `length` and `clear` see only this store's prefix and follow every scan page.
//! - With `encryption_keys`, `id_hash_key` or `compress_threshold`, sessions are encrypted
//!   (AES-256-GCM, rotating keys), their ids hashed (HMAC-SHA-256) or compressed (DEFLATE) at
//!   rest, in one format every face reads (see the `at_rest` module's documentation and
//!   `tests/README.md`).
//! - Every failure is an [`Error`] with a stable [`ErrorKind`] token; no input panics.
//! - No session id, secret or credential appears in an error message, a log line or a `Debug`
//!   output.
//!
//! The store owns no runtime: call it from a Tokio runtime the caller owns.

mod at_rest;
pub mod cli;
mod config;
mod error;
pub mod expiry;
mod item;
pub mod kv;
mod memory;
mod merge;
mod reaper;
mod store;
mod table;
#[cfg(feature = "tower-sessions")]
pub mod tower;

pub use at_rest::{
    ENCRYPTION_KEY_BYTES, ENCRYPTION_OVERHEAD, ENV_ENCRYPTION_KEYS, ENV_ID_HASH_KEY,
    FORMAT_VERSION, MAX_ENCRYPTION_KEYS, MAX_ID_HASH_KEY_BYTES, MAX_SESSION_BYTES,
    MIN_ID_HASH_KEY_BYTES, Secret,
};
pub use config::{
    Billing, Config, ConfigBuilder, ConfigField, Credentials, DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CREATE_WAIT, DEFAULT_FIRST_USE, DEFAULT_HASH_KEY,
    DEFAULT_LIFETIME, DEFAULT_MAX_ATTEMPTS, DEFAULT_OPERATION_TIMEOUT, DEFAULT_PREFIX,
    DEFAULT_READ_CAPACITY, DEFAULT_SCAN_SEGMENTS, DEFAULT_TABLE, DEFAULT_TOMBSTONE_LIFETIME,
    DEFAULT_TOUCH_AFTER, DEFAULT_WRITE_CAPACITY, FirstUse, MAX_ATTEMPTS_RANGE, MAX_CAPACITY,
    MAX_SAVE_ATTEMPTS, MAX_SPAN, MAX_TIMEOUT, MAX_USER_FIELD_BYTES, MIN_REAP_INTERVAL, MergePolicy,
    SCAN_SEGMENTS_RANGE,
};
pub use error::{Error, ErrorKind, Result};
pub use expiry::{Clock, ManualClock, SystemClock};
pub use item::{
    ATTR_CREATED, ATTR_ENDED, ATTR_EXPIRES, ATTR_SESS, ATTR_TYPE, ATTR_USER, ATTR_VERSION,
    ItemAttribute, MAX_ITEM_BYTES, MAX_USER_BYTES, MAX_VERSION, SessionRecord, TOMBSTONE_SESS,
    TYPE_VALUE, USER_INDEX, decode_item,
};
pub use reaper::ReaperHandle;
pub use store::{
    ReapReport, Reencrypted, Saved, SessionStore, SetOptions, SetOutcome, TouchOutcome, Touched,
    UserSession, WriteCondition, build_client,
};
pub use table::{TableProblem, TableReport, TableSetup};

/// The AWS SDK for DynamoDB this crate is built on, for callers that build their own client.
pub use aws_sdk_dynamodb;

/// The README's Rust examples, compiled by `cargo test` so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
