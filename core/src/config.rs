//! Store configuration: a [`Config`] built and validated by [`ConfigBuilder`].
//!
//! The defaults are those of the npm package connect-dynamodb 3.x (table `sessions`, hash key
//! `id`, prefix `sess:`, one day for sessions without an expiry, no reaper) plus the settings
//! that package lacked: consistent reads (on), touch throttling, timeouts and retries.

use std::fmt;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;

use crate::at_rest::{AtRest, ENV_ENCRYPTION_KEYS, ENV_ID_HASH_KEY, Secret};
use crate::error::{Error, Result};
use crate::expiry::{Clock, SharedClock};
use crate::item::{
    ATTR_CREATED, ATTR_ENDED, ATTR_EXPIRES, ATTR_SESS, ATTR_TYPE, ATTR_USER, ATTR_VERSION,
};

/// The default table name, as in connect-dynamodb.
pub const DEFAULT_TABLE: &str = "sessions";
/// The default hash key attribute, as in connect-dynamodb.
pub const DEFAULT_HASH_KEY: &str = "id";
/// The default key prefix, as in connect-dynamodb.
pub const DEFAULT_PREFIX: &str = "sess:";
/// The lifetime of a session stored without an expiry (a browser-session cookie), as in
/// connect-dynamodb: one day.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The default touch throttle: a touch that moves the stored expiry by less than this writes
/// nothing.
pub const DEFAULT_TOUCH_AFTER: Duration = Duration::from_secs(10 * 60);
/// The default time allowed to open a connection to DynamoDB. A TCP and TLS handshake with a
/// DynamoDB endpoint in the same region takes milliseconds; two seconds is a dead route.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default time allowed for one attempt of a request, from sending it to the whole answer.
/// DynamoDB answers a single-item request in milliseconds; an attempt without an answer after
/// three seconds is retried rather than waited for.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// The default time allowed for a whole request, retries included: two full attempts and the
/// backoff between them. A DynamoDB that accepts connections and never answers fails a request
/// with `TIMEOUT` after eight seconds, so a web request waiting on the store gets an answer
/// within ten.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
/// The default number of attempts of a request (the first try and its retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The default number of parallel scan segments used by ids/all/length/clear and the reaper.
pub const DEFAULT_SCAN_SEGMENTS: u32 = 4;
/// The default time `create_table` waits for a new table to become ACTIVE.
pub const DEFAULT_CREATE_WAIT: Duration = Duration::from_secs(120);
/// The default read capacity of a table created with provisioned capacity, as in
/// connect-dynamodb 3.x.
pub const DEFAULT_READ_CAPACITY: i64 = 5;
/// The default write capacity of a table created with provisioned capacity, as in
/// connect-dynamodb 3.x.
pub const DEFAULT_WRITE_CAPACITY: i64 = 5;
/// The largest provisioned read or write capacity the store asks for (DynamoDB's default
/// per-table quota).
pub const MAX_CAPACITY: i64 = 40_000;
/// What a store does about its table on first use, by default: check it, and create it when
/// it is missing (see [`FirstUse`]).
pub const DEFAULT_FIRST_USE: FirstUse = FirstUse::Create;

/// How long a destroyed session's tombstone lives, by default: one hour. A request that loaded
/// the session before it was destroyed and saves it afterwards finds the tombstone and writes
/// nothing, so the tombstone must outlive the slowest request. An hour is four times AWS
/// Lambda's longest run (15 minutes) and sixty times the idle timeout of an Application Load
/// Balancer, API Gateway (29 s) and gunicorn (30 s) by default; the tombstone costs one small
/// item for that hour, and DynamoDB's TTL deletes it afterwards.
pub const DEFAULT_TOMBSTONE_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How many times a save is tried when its condition meets a concurrent change (versioned
/// writes, a creation time this process did not know): the first write and its retries.
/// Ten: requests of one session saving at the same moment each win one round, so ten of them
/// all get through.
pub const MAX_SAVE_ATTEMPTS: u32 = 10;
/// The longest path of `user_field`, in bytes.
pub const MAX_USER_FIELD_BYTES: usize = 255;

/// The longest lifetime, throttle or reaper interval the store accepts: 100 years.
pub const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
/// The shortest reaper interval: one second.
pub const MIN_REAP_INTERVAL: Duration = Duration::from_secs(1);
/// The longest timeout or table-creation wait: one hour.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The range of `max_attempts`.
pub const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u32> = 1..=10;
/// The range of `scan_segments`.
pub const SCAN_SEGMENTS_RANGE: std::ops::RangeInclusive<u32> = 1..=64;

/// A configuration setting, as an [`INVALID_CONFIG`](crate::ErrorKind::InvalidConfig) error
/// names it ([`Error::config_field`]). Each face maps these to its own option names through
/// one table, so an error names the option the user wrote. Exhaustive on purpose: those
/// tables match every field, so a new field does not compile until every face names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigField {
    /// `table`
    Table,
    /// `hash_key`
    HashKey,
    /// `prefix`
    Prefix,
    /// `region`
    Region,
    /// `endpoint`
    Endpoint,
    /// `credentials.access_key_id`
    AccessKeyId,
    /// `credentials.secret_access_key`
    SecretAccessKey,
    /// `credentials.session_token`
    SessionToken,
    /// `credentials_provider`
    CredentialsProvider,
    /// `consistent_read`
    ConsistentRead,
    /// `default_lifetime`
    DefaultLifetime,
    /// `touch_after`
    TouchAfter,
    /// `reap_interval`
    ReapInterval,
    /// `billing`
    Billing,
    /// `read_capacity`
    ReadCapacity,
    /// `write_capacity`
    WriteCapacity,
    /// `first_use`
    FirstUse,
    /// `create_wait`
    CreateWait,
    /// `connect_timeout`
    ConnectTimeout,
    /// `attempt_timeout`
    AttemptTimeout,
    /// `operation_timeout`
    OperationTimeout,
    /// `max_attempts`
    MaxAttempts,
    /// `scan_segments`
    ScanSegments,
    /// `tombstone_lifetime`
    TombstoneLifetime,
    /// `merge`
    Merge,
    /// `absolute_timeout`
    AbsoluteTimeout,
    /// `user_field`
    UserField,
    /// `encryption_keys` (or the environment variable `CONNECT_DYNAMODB_ENCRYPTION_KEYS`)
    EncryptionKeys,
    /// `id_hash_key` (or the environment variable `CONNECT_DYNAMODB_ID_HASH_KEY`)
    IdHashKey,
    /// `compress_threshold`
    CompressThreshold,
    /// `decrypt_only`
    DecryptOnly,
}

impl ConfigField {
    /// Every field.
    pub const ALL: [ConfigField; 31] = [
        ConfigField::Table,
        ConfigField::HashKey,
        ConfigField::Prefix,
        ConfigField::Region,
        ConfigField::Endpoint,
        ConfigField::AccessKeyId,
        ConfigField::SecretAccessKey,
        ConfigField::SessionToken,
        ConfigField::CredentialsProvider,
        ConfigField::ConsistentRead,
        ConfigField::DefaultLifetime,
        ConfigField::TouchAfter,
        ConfigField::ReapInterval,
        ConfigField::Billing,
        ConfigField::ReadCapacity,
        ConfigField::WriteCapacity,
        ConfigField::FirstUse,
        ConfigField::CreateWait,
        ConfigField::ConnectTimeout,
        ConfigField::AttemptTimeout,
        ConfigField::OperationTimeout,
        ConfigField::MaxAttempts,
        ConfigField::ScanSegments,
        ConfigField::TombstoneLifetime,
        ConfigField::Merge,
        ConfigField::AbsoluteTimeout,
        ConfigField::UserField,
        ConfigField::EncryptionKeys,
        ConfigField::IdHashKey,
        ConfigField::CompressThreshold,
        ConfigField::DecryptOnly,
    ];

    /// The field's name in the Rust API (the [`ConfigBuilder`] method), e.g. `"hash_key"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConfigField::Table => "table",
            ConfigField::HashKey => "hash_key",
            ConfigField::Prefix => "prefix",
            ConfigField::Region => "region",
            ConfigField::Endpoint => "endpoint",
            ConfigField::AccessKeyId => "credentials.access_key_id",
            ConfigField::SecretAccessKey => "credentials.secret_access_key",
            ConfigField::SessionToken => "credentials.session_token",
            ConfigField::CredentialsProvider => "credentials_provider",
            ConfigField::ConsistentRead => "consistent_read",
            ConfigField::DefaultLifetime => "default_lifetime",
            ConfigField::TouchAfter => "touch_after",
            ConfigField::ReapInterval => "reap_interval",
            ConfigField::Billing => "billing",
            ConfigField::ReadCapacity => "read_capacity",
            ConfigField::WriteCapacity => "write_capacity",
            ConfigField::FirstUse => "first_use",
            ConfigField::CreateWait => "create_wait",
            ConfigField::ConnectTimeout => "connect_timeout",
            ConfigField::AttemptTimeout => "attempt_timeout",
            ConfigField::OperationTimeout => "operation_timeout",
            ConfigField::MaxAttempts => "max_attempts",
            ConfigField::ScanSegments => "scan_segments",
            ConfigField::TombstoneLifetime => "tombstone_lifetime",
            ConfigField::Merge => "merge",
            ConfigField::AbsoluteTimeout => "absolute_timeout",
            ConfigField::UserField => "user_field",
            ConfigField::EncryptionKeys => "encryption_keys",
            ConfigField::IdHashKey => "id_hash_key",
            ConfigField::CompressThreshold => "compress_threshold",
            ConfigField::DecryptOnly => "decrypt_only",
        }
    }

    /// A duration this field is given in seconds by a face (a float: Python, a CLI), checked:
    /// `INVALID_CONFIG` naming this field for NaN, infinities, negative values and values over
    /// 100 years. The field's own range is checked by [`ConfigBuilder::build`].
    pub fn seconds(self, secs: f64) -> Result<Duration> {
        if !(0.0..=MAX_SPAN.as_secs_f64()).contains(&secs) {
            return Err(Error::invalid_config(
                self,
                "must be a number of seconds from 0 to 100 years",
            ));
        }
        Ok(Duration::from_secs_f64(secs))
    }

    /// A duration this field is given in milliseconds by a face (JavaScript), checked as
    /// [`seconds`](Self::seconds) checks it.
    pub fn millis(self, millis: f64) -> Result<Duration> {
        if !(0.0..=MAX_SPAN.as_secs_f64() * 1000.0).contains(&millis) {
            return Err(Error::invalid_config(
                self,
                "must be a number of milliseconds from 0 to 100 years",
            ));
        }
        Ok(Duration::from_secs_f64(millis / 1000.0))
    }

    /// A whole number this field is given as a float by a face (JavaScript numbers, Python
    /// ints), checked to be whole and within `i64`. The field's own range is checked by
    /// [`ConfigBuilder::build`].
    pub fn whole(self, value: f64) -> Result<i64> {
        if value.fract() != 0.0 || !(-9.0e15..=9.0e15).contains(&value) {
            return Err(Error::invalid_config(self, "must be a whole number"));
        }
        Ok(value as i64)
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a store does about its table before its first session call (`get`, `set`, `touch`,
/// `destroy`, `ids`, `all`, `length`, `clear`, `reap`), once per store.
///
/// The default is [`Create`](FirstUse::Create), as connect-dynamodb 3.x does: a new user's
/// first request works without a deploy step, and a process pays one DescribeTable (no
/// capacity) for it. Production setups that create the table at deploy time choose
/// [`Nothing`](FirstUse::Nothing) to save that request and the permissions it needs. A role
/// without `dynamodb:DescribeTable` is not stopped by the check: an `AUTH` answer to it counts
/// as "the table exists", and the session call itself then says what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstUse {
    /// Check the table with DescribeTable and create it when missing (as
    /// [`create_table`](crate::SessionStore::create_table) does). With `user_field` set, an
    /// existing table without the `user-index` gets it, and the call waits until it is ACTIVE.
    #[default]
    Create,
    /// Check the table with DescribeTable; a missing table is `TABLE_NOT_FOUND`.
    Check,
    /// Make no request about the table.
    Nothing,
}

impl FirstUse {
    /// Every switch.
    pub const ALL: [FirstUse; 3] = [FirstUse::Create, FirstUse::Check, FirstUse::Nothing];

    /// The switch's name where a face takes it as text: `"create"`, `"check"` or `"nothing"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FirstUse::Create => "create",
            FirstUse::Check => "check",
            FirstUse::Nothing => "nothing",
        }
    }

    /// The switch named `name` (see [`as_str`](Self::as_str)): `INVALID_CONFIG` on `first_use`
    /// for any other text.
    pub fn from_name(name: &str) -> Result<FirstUse> {
        FirstUse::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                Error::invalid_config(
                    ConfigField::FirstUse,
                    "must be \"create\", \"check\" or \"nothing\"",
                )
            })
    }
}

/// Versioned writes and how a save that meets a concurrent change of the same session is
/// resolved (the `merge` setting; off by default).
///
/// With it on, every item carries a `version`; a save is conditional on the version this
/// process loaded, and when another request saved in between, the store reads the session
/// again and merges at the top level of the session object: the keys this request changed
/// (against what it loaded) are applied onto the current session, the keys it did not change
/// keep the other request's values, and a key both changed is decided by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergePolicy {
    /// A key both requests changed takes this request's value.
    Mine,
    /// A key both requests changed fails the save with `CONFLICT`; nothing is written.
    Error,
}

impl MergePolicy {
    /// Every policy.
    pub const ALL: [MergePolicy; 2] = [MergePolicy::Mine, MergePolicy::Error];

    /// The policy's name where a face takes it as text: `"mine"` or `"error"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MergePolicy::Mine => "mine",
            MergePolicy::Error => "error",
        }
    }

    /// The `merge` setting named `name`: `"off"` (versioned writes off), `"mine"` or
    /// `"error"`; `INVALID_CONFIG` on `merge` for any other text.
    pub fn from_name(name: &str) -> Result<Option<MergePolicy>> {
        if name == "off" {
            return Ok(None);
        }
        MergePolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_config(ConfigField::Merge, "must be \"off\", \"mine\" or \"error\"")
            })
    }
}

/// DynamoDB's limit on a partition key value, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 2048;

/// Static AWS credentials. `Debug` never shows the secret or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl Credentials {
    /// Credentials from an access key id, its secret, and a session token for temporary
    /// credentials.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &"** redacted **")
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// How a table created by the store is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Billing {
    /// On-demand (`PAY_PER_REQUEST`), the default.
    #[default]
    OnDemand,
    /// Provisioned capacity, in read and write capacity units.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

impl Billing {
    /// Provisioned capacity with connect-dynamodb 3.x's 5 read and 5 write units: the default
    /// of the Node face, which keeps 3.x's defaults.
    pub const CONNECT_DYNAMODB_3X: Billing = Billing::Provisioned {
        read: DEFAULT_READ_CAPACITY,
        write: DEFAULT_WRITE_CAPACITY,
    };
}

/// The validated configuration of a [`SessionStore`](crate::SessionStore).
#[derive(Clone)]
pub struct Config {
    pub(crate) table: String,
    pub(crate) hash_key: String,
    pub(crate) prefix: String,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) credentials_provider: Option<SharedCredentialsProvider>,
    pub(crate) consistent_read: bool,
    pub(crate) default_lifetime: Duration,
    pub(crate) touch_after: Duration,
    pub(crate) reap_interval: Option<Duration>,
    pub(crate) billing: Billing,
    pub(crate) first_use: FirstUse,
    pub(crate) clock: SharedClock,
    pub(crate) create_wait: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) scan_segments: u32,
    pub(crate) tombstone_lifetime: Duration,
    pub(crate) merge: Option<MergePolicy>,
    pub(crate) absolute_timeout: Option<Duration>,
    pub(crate) user_field: Option<String>,
    pub(crate) merge_always_mine: Vec<String>,
    pub(crate) at_rest: AtRest,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so that no credential can show: a provider's own Debug output may
        // print its access key id.
        f.debug_struct("Config")
            .field("table", &self.table)
            .field("hash_key", &self.hash_key)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field(
                "credentials_provider",
                &self
                    .credentials_provider
                    .as_ref()
                    .map(|_| "** caller's provider **"),
            )
            .field("consistent_read", &self.consistent_read)
            .field("default_lifetime", &self.default_lifetime)
            .field("touch_after", &self.touch_after)
            .field("reap_interval", &self.reap_interval)
            .field("billing", &self.billing)
            .field("first_use", &self.first_use)
            .field("clock", &self.clock)
            .field("create_wait", &self.create_wait)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("scan_segments", &self.scan_segments)
            .field("tombstone_lifetime", &self.tombstone_lifetime)
            .field("merge", &self.merge)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("user_field", &self.user_field)
            .field("merge_always_mine", &self.merge_always_mine)
            .field("at_rest", &self.at_rest)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            table: DEFAULT_TABLE.to_owned(),
            hash_key: DEFAULT_HASH_KEY.to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
            region: None,
            endpoint: None,
            credentials: None,
            credentials_provider: None,
            consistent_read: true,
            default_lifetime: DEFAULT_LIFETIME,
            touch_after: DEFAULT_TOUCH_AFTER,
            reap_interval: None,
            billing: Billing::OnDemand,
            first_use: DEFAULT_FIRST_USE,
            clock: SharedClock::default(),
            create_wait: DEFAULT_CREATE_WAIT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            scan_segments: DEFAULT_SCAN_SEGMENTS,
            tombstone_lifetime: DEFAULT_TOMBSTONE_LIFETIME,
            merge: None,
            absolute_timeout: None,
            user_field: None,
            merge_always_mine: Vec::new(),
            at_rest: AtRest::default(),
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
            encryption_keys: None,
            id_hash_key: None,
            compress_threshold: None,
            decrypt_only: false,
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
    /// The name of the hash key attribute.
    pub fn hash_key(&self) -> &str {
        &self.hash_key
    }
    /// The prefix put before every session id in the hash key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// The region, when set explicitly.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
    /// The endpoint URL, when set explicitly.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
    /// Whether reads are strongly consistent.
    pub fn consistent_read(&self) -> bool {
        self.consistent_read
    }
    /// The lifetime given to sessions stored without an expiry.
    pub fn default_lifetime(&self) -> Duration {
        self.default_lifetime
    }
    /// The touch throttle.
    pub fn touch_after(&self) -> Duration {
        self.touch_after
    }
    /// The interval of the background reaper, when it is on.
    pub fn reap_interval(&self) -> Option<Duration> {
        self.reap_interval
    }
    /// The billing of tables created by the store.
    pub fn billing(&self) -> Billing {
        self.billing
    }
    /// The number of parallel scan segments.
    pub fn scan_segments(&self) -> u32 {
        self.scan_segments
    }
    /// What the store does about its table on first use.
    pub fn first_use(&self) -> FirstUse {
        self.first_use
    }
    /// How long table creation waits for the table to become ACTIVE.
    pub fn create_wait(&self) -> Duration {
        self.create_wait
    }
    /// The time allowed to open a connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// The time allowed for one attempt of a request.
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }
    /// The time allowed for a request with its retries.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }
    /// Attempts per request.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    /// How long a destroyed session's tombstone lives; zero when `destroy` deletes the item.
    pub fn tombstone_lifetime(&self) -> Duration {
        self.tombstone_lifetime
    }
    /// Whether saves are versioned, and the policy for a key two requests both changed.
    pub fn merge(&self) -> Option<MergePolicy> {
        self.merge
    }
    /// The absolute lifetime of a session from its creation, when set.
    pub fn absolute_timeout(&self) -> Option<Duration> {
        self.absolute_timeout
    }
    /// The path of the session field that names the session's user, when set.
    pub fn user_field(&self) -> Option<&str> {
        self.user_field.as_deref()
    }
    /// The session keys a merge always takes from the saving request (see
    /// [`ConfigBuilder::merge_always_mine`]).
    pub fn merge_always_mine(&self) -> &[String] {
        &self.merge_always_mine
    }
    /// Whether items record their creation time (`created`): for the absolute timeout and for
    /// listing a user's sessions.
    pub fn records_creation(&self) -> bool {
        self.absolute_timeout.is_some() || self.user_field.is_some()
    }
    /// The earliest creation time, in epoch seconds, of a session that is live at `now` under
    /// the absolute timeout; `None` without one.
    pub(crate) fn oldest_created(&self, now: f64) -> Option<f64> {
        self.absolute_timeout.map(|t| now - t.as_secs_f64())
    }
    /// Whether sessions are written encrypted (keys given, and not
    /// [`decrypt_only`](Self::decrypt_only)).
    pub fn encrypts(&self) -> bool {
        self.at_rest.encrypts()
    }
    /// Whether the encryption keys only decrypt.
    pub fn decrypt_only(&self) -> bool {
        self.at_rest.decrypt_only()
    }
    /// The ids of the encryption keys (not secret: a hash of each key), the encrypting one
    /// first, as 8 hex digits each.
    pub fn encryption_key_ids(&self) -> Vec<String> {
        self.at_rest.key_ids()
    }
    /// Whether session ids are hashed at rest.
    pub fn hashes_ids(&self) -> bool {
        self.at_rest.hashes_ids()
    }
    /// The length above which session text is compressed, when compression is on.
    pub fn compress_threshold(&self) -> Option<usize> {
        self.at_rest.compress_threshold()
    }
    /// The current time on the store's clock.
    pub fn now(&self) -> std::time::SystemTime {
        self.clock.0.now()
    }

    /// The expiry a session is stored with: `expires_at`, or now plus the default lifetime
    /// when the caller gave none.
    pub fn expiry_or_default(
        &self,
        expires_at: Option<std::time::SystemTime>,
    ) -> std::time::SystemTime {
        expires_at.unwrap_or_else(|| self.now() + self.default_lifetime)
    }
}

/// Builds a [`Config`]; [`build`](ConfigBuilder::build) validates every field and names the
/// first invalid one in an `INVALID_CONFIG` error.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
    /// `None`: from the environment.
    encryption_keys: Option<Vec<Secret>>,
    /// `None`: from the environment; `Some(None)`: off.
    id_hash_key: Option<Option<Secret>>,
    compress_threshold: Option<u64>,
    decrypt_only: bool,
}

impl ConfigBuilder {
    /// The table name (default `sessions`): 3 to 255 characters of `a-z A-Z 0-9 _ - .`.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.config.table = table.into();
        self
    }
    /// The hash key attribute (default `id`), a string key of the table.
    pub fn hash_key(mut self, hash_key: impl Into<String>) -> Self {
        self.config.hash_key = hash_key.into();
        self
    }
    /// The prefix of every key (default `sess:`); may be empty.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }
    /// The AWS region; without it the default provider chain's region (`AWS_REGION`, profile).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }
    /// An endpoint URL, e.g. `http://127.0.0.1:8000` for DynamoDB Local.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.config.endpoint = Some(endpoint.into());
        self
    }
    /// Static credentials; without them the default AWS provider chain is used (environment,
    /// profile, web identity, container and instance metadata).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.config.credentials = Some(credentials);
        self
    }
    /// A credentials provider of the caller's, e.g. one that asks a host language's AWS SDK for
    /// refreshing credentials; the SDK caches what it returns until the credentials expire.
    /// Excludes [`credentials`](Self::credentials).
    pub fn credentials_provider(mut self, provider: SharedCredentialsProvider) -> Self {
        self.config.credentials_provider = Some(provider);
        self
    }
    /// Strongly consistent reads (default `true`), so a write is seen by the next read.
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.config.consistent_read = consistent;
        self
    }
    /// The lifetime of sessions stored without an expiry (default one day).
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.default_lifetime = lifetime;
        self
    }
    /// The touch throttle (default 10 minutes; zero turns throttling off). A touch that moves
    /// the stored expiry by less than this, or by less than a tenth of the session's remaining
    /// lifetime when that is shorter, writes nothing.
    pub fn touch_after(mut self, touch_after: Duration) -> Self {
        self.config.touch_after = touch_after;
        self
    }
    /// Turns the background reaper on with this interval (at least one second); `None`, the
    /// default, leaves it off.
    pub fn reap_interval(mut self, interval: Option<Duration>) -> Self {
        self.config.reap_interval = interval;
        self
    }
    /// The billing of a table created by the store (default on-demand).
    pub fn billing(mut self, billing: Billing) -> Self {
        self.config.billing = billing;
        self
    }
    /// What the store does about its table before its first session call (default
    /// [`FirstUse::Create`]).
    pub fn first_use(mut self, first_use: FirstUse) -> Self {
        self.config.first_use = first_use;
        self
    }
    /// The clock the store reads the current time from (default the system clock); tests use a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = SharedClock(std::sync::Arc::new(clock));
        self
    }
    /// How long table creation waits for the table to become ACTIVE (default 120 s).
    pub fn create_wait(mut self, wait: Duration) -> Self {
        self.config.create_wait = wait;
        self
    }
    /// The time allowed to open a connection (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }
    /// The time allowed for one attempt of a request (default 3 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config.attempt_timeout = timeout;
        self
    }
    /// The time allowed for a request with all its retries (default 8 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.config.operation_timeout = timeout;
        self
    }
    /// Attempts per request, the first included (default 3, at most 10).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }
    /// Parallel scan segments for ids/all/length/clear and the reaper (default 4, 1 to 64).
    pub fn scan_segments(mut self, segments: u32) -> Self {
        self.config.scan_segments = segments;
        self
    }

    /// How long a destroyed session's tombstone lives (default one hour; zero turns tombstones
    /// off, and `destroy` deletes the item as connect-dynamodb 3.x does). Until it ends, a
    /// `set` or `touch` of that id writes nothing: a request that loaded the session before it
    /// was destroyed cannot bring it back.
    pub fn tombstone_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.tombstone_lifetime = lifetime;
        self
    }
    /// Versioned writes with a three-way merge on a concurrent change (default `None`: off).
    /// See [`MergePolicy`].
    pub fn merge(mut self, policy: Option<MergePolicy>) -> Self {
        self.config.merge = policy;
        self
    }
    /// Top-level session keys that a merge always takes from the saving request, even when
    /// another request changed them too and the policy is [`MergePolicy::Error`]: a
    /// framework's own bookkeeping that every save rewrites, such as express-session's
    /// `cookie`. Set by a face for its framework, not a user option.
    pub fn merge_always_mine(mut self, keys: Vec<String>) -> Self {
        self.config.merge_always_mine = keys;
        self
    }
    /// An absolute lifetime from the session's creation (default `None`: none). `get` refuses
    /// a session older than this however active it is; `set` and `touch` never extend it.
    pub fn absolute_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.absolute_timeout = timeout;
        self
    }
    /// The session field that names the session's user (default `None`), as a dotted path into
    /// the session object: `passport.user`, `userId`, `_auth_user_id`. The store writes its
    /// value (a string or a whole number) to the item's `user` attribute, which a global
    /// secondary index makes searchable for [`user_sessions`](crate::SessionStore::user_sessions)
    /// and [`end_user_sessions`](crate::SessionStore::end_user_sessions).
    pub fn user_field(mut self, field: Option<String>) -> Self {
        self.config.user_field = field;
        self
    }

    /// Encrypt sessions at rest with AES-256-GCM (default: the keys in the environment
    /// variable `CONNECT_DYNAMODB_ENCRYPTION_KEYS`, base64 separated by commas; none: off).
    /// Each key is 32 bytes, given as bytes or base64. The first key encrypts every write;
    /// every key decrypts, so a new key goes first and the old one stays until nothing is
    /// encrypted with it ([`reencrypt`](crate::SessionStore::reencrypt) rewrites idle
    /// sessions). An empty list turns encryption off whatever the environment says.
    pub fn encryption_keys(mut self, keys: Vec<Secret>) -> Self {
        self.encryption_keys = Some(keys);
        self
    }
    /// Store a keyed hash (HMAC-SHA-256) of each session id instead of the id (default: the
    /// key in the environment variable `CONNECT_DYNAMODB_ID_HASH_KEY`, in base64; none: off).
    /// 32 to 64 bytes, as bytes or base64. `None` turns hashing off whatever the environment
    /// says. Changing or removing the key ends every session.
    pub fn id_hash_key(mut self, key: Option<Secret>) -> Self {
        self.id_hash_key = Some(key);
        self
    }
    /// Compress sessions whose JSON text is longer than this many bytes, with DEFLATE, before
    /// encrypting them (default `None`: never). At most 16 MiB.
    pub fn compress_threshold(mut self, bytes: Option<u64>) -> Self {
        self.compress_threshold = bytes;
        self
    }

    /// The encryption keys only decrypt (default `false`): sessions are read whether encrypted
    /// or not, and written unencrypted. The first step of turning encryption on in a fleet that
    /// deploys process by process: once every process can decrypt, turn this off and sessions
    /// are written encrypted from then on. `INVALID_CONFIG` without keys.
    pub fn decrypt_only(mut self, decrypt_only: bool) -> Self {
        self.decrypt_only = decrypt_only;
        self
    }

    /// Validates the settings, taking keys the options do not give from the environment.
    pub fn build(self) -> Result<Config> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`build`](Self::build) with `env` in place of the process environment.
    #[doc(hidden)]
    pub fn build_with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        self.config.at_rest = at_rest_of(
            self.encryption_keys.take(),
            self.id_hash_key.take(),
            self.compress_threshold,
            self.decrypt_only,
            &env,
        )?;
        self.validate()
    }

    fn validate(self) -> Result<Config> {
        let c = self.config;
        validate_table(&c.table)?;
        if c.hash_key.is_empty() || c.hash_key.len() > 255 {
            return Err(Error::invalid_config(
                ConfigField::HashKey,
                "must be 1 to 255 bytes long",
            ));
        }
        if [ATTR_EXPIRES, ATTR_TYPE, ATTR_SESS].contains(&c.hash_key.as_str()) {
            return Err(Error::invalid_config(
                ConfigField::HashKey,
                "must differ from the item's own attributes `expires`, `type` and `sess`",
            ));
        }
        // The attributes the configured features write: a hash key of the same name is refused
        // only when the feature is on, so a connect-dynamodb 3.x table keyed `user` still works.
        for (on, attribute, what) in [
            (
                !c.tombstone_lifetime.is_zero(),
                ATTR_ENDED,
                "marks the tombstone of an ended session",
            ),
            (
                c.merge.is_some(),
                ATTR_VERSION,
                "holds the version of versioned writes",
            ),
            (
                c.records_creation(),
                ATTR_CREATED,
                "holds the creation time of every session",
            ),
            (
                c.user_field.is_some(),
                ATTR_USER,
                "holds the user of every session",
            ),
        ] {
            if on && c.hash_key == attribute {
                return Err(Error::invalid_config(
                    ConfigField::HashKey,
                    format_args!("must differ from `{attribute}`, which {what} with these options"),
                ));
            }
        }
        if c.prefix.len() > 1024 {
            return Err(Error::invalid_config(
                ConfigField::Prefix,
                "must be at most 1024 bytes long",
            ));
        }
        if let Some(region) = &c.region
            && (region.is_empty()
                || region.len() > 64
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        {
            return Err(Error::invalid_config(
                ConfigField::Region,
                "must look like `us-east-1`: lowercase letters, digits and dashes",
            ));
        }
        if let Some(endpoint) = &c.endpoint {
            validate_endpoint(endpoint)?;
        }
        if let Some(credentials) = &c.credentials {
            if credentials.access_key_id.is_empty() {
                return Err(Error::invalid_config(
                    ConfigField::AccessKeyId,
                    "must not be empty",
                ));
            }
            if credentials.secret_access_key.is_empty() {
                return Err(Error::invalid_config(
                    ConfigField::SecretAccessKey,
                    "must not be empty",
                ));
            }
        }
        if let Some(credentials) = &c.credentials
            && credentials.session_token.as_deref() == Some("")
        {
            return Err(Error::invalid_config(
                ConfigField::SessionToken,
                "must not be empty",
            ));
        }
        if c.credentials.is_some() && c.credentials_provider.is_some() {
            return Err(Error::invalid_config(
                ConfigField::CredentialsProvider,
                "set either static credentials or a credentials provider, not both",
            ));
        }
        if c.default_lifetime.is_zero() || c.default_lifetime > MAX_SPAN {
            return Err(Error::invalid_config(
                ConfigField::DefaultLifetime,
                "must be more than zero and at most 100 years",
            ));
        }
        if c.touch_after > MAX_SPAN {
            return Err(Error::invalid_config(
                ConfigField::TouchAfter,
                "must be at most 100 years",
            ));
        }
        if let Some(interval) = c.reap_interval
            && (interval < MIN_REAP_INTERVAL || interval > MAX_SPAN)
        {
            return Err(Error::invalid_config(
                ConfigField::ReapInterval,
                "must be at least one second and at most 100 years",
            ));
        }
        if let Billing::Provisioned { read, write } = c.billing {
            for (field, units) in [
                (ConfigField::ReadCapacity, read),
                (ConfigField::WriteCapacity, write),
            ] {
                if !(1..=MAX_CAPACITY).contains(&units) {
                    return Err(Error::invalid_config(
                        field,
                        format_args!("provisioned capacity must be 1 to {MAX_CAPACITY} units"),
                    ));
                }
            }
        }
        for (field, value) in [
            (ConfigField::CreateWait, c.create_wait),
            (ConfigField::ConnectTimeout, c.connect_timeout),
            (ConfigField::AttemptTimeout, c.attempt_timeout),
            (ConfigField::OperationTimeout, c.operation_timeout),
        ] {
            if value.is_zero() || value > MAX_TIMEOUT {
                return Err(Error::invalid_config(
                    field,
                    "must be more than zero and at most one hour",
                ));
            }
        }
        if !MAX_ATTEMPTS_RANGE.contains(&c.max_attempts) {
            return Err(Error::invalid_config(
                ConfigField::MaxAttempts,
                "must be 1 to 10",
            ));
        }
        if !SCAN_SEGMENTS_RANGE.contains(&c.scan_segments) {
            return Err(Error::invalid_config(
                ConfigField::ScanSegments,
                "must be 1 to 64",
            ));
        }
        if c.tombstone_lifetime > MAX_SPAN {
            return Err(Error::invalid_config(
                ConfigField::TombstoneLifetime,
                "must be at most 100 years",
            ));
        }
        if let Some(timeout) = c.absolute_timeout
            && (timeout.is_zero() || timeout > MAX_SPAN)
        {
            return Err(Error::invalid_config(
                ConfigField::AbsoluteTimeout,
                "must be more than zero and at most 100 years",
            ));
        }
        if let Some(field) = &c.user_field {
            validate_user_field(field)?;
        }
        Ok(c)
    }
}

/// The at-rest settings from the options, falling back on the environment for the keys.
fn at_rest_of(
    keys: Option<Vec<Secret>>,
    id_hash_key: Option<Option<Secret>>,
    compress_threshold: Option<u64>,
    decrypt_only: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AtRest> {
    fn from_env(field: ConfigField, name: &'static str) -> impl Fn(&str) -> Error {
        move |problem| {
            Error::invalid_config(
                field,
                format_args!("{problem} (from the environment variable {name})"),
            )
        }
    }
    let mut key_bytes = Vec::new();
    let keys_from_env = keys.is_none();
    let hash_key_from_env = id_hash_key.is_none();
    match keys {
        Some(keys) => {
            for (index, key) in keys.iter().enumerate() {
                key_bytes.push(key.bytes().map_err(|problem| {
                    Error::invalid_config(
                        ConfigField::EncryptionKeys,
                        format_args!("key {} {problem}", index + 1),
                    )
                })?);
            }
        }
        None => {
            let wrap = from_env(ConfigField::EncryptionKeys, ENV_ENCRYPTION_KEYS);
            if let Some(list) = env(ENV_ENCRYPTION_KEYS).filter(|v| !v.trim().is_empty()) {
                for (index, text) in list.split(',').enumerate() {
                    key_bytes.push(
                        Secret::Base64(text.trim().to_owned())
                            .bytes()
                            .map_err(|problem| wrap(&format!("key {} {problem}", index + 1)))?,
                    );
                }
            }
        }
    }
    let hash_key = match id_hash_key {
        Some(None) => None,
        Some(Some(key)) => Some(
            key.bytes()
                .map_err(|problem| Error::invalid_config(ConfigField::IdHashKey, problem))?,
        ),
        None => match env(ENV_ID_HASH_KEY).filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(text) => Some(
                Secret::Base64(text)
                    .bytes()
                    .map_err(from_env(ConfigField::IdHashKey, ENV_ID_HASH_KEY))?,
            ),
        },
    };
    let threshold = compress_threshold.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    AtRest::new(&key_bytes, hash_key.as_deref(), threshold, decrypt_only).map_err(
        |(which, problem)| match which {
            0 | 1 if keys_from_env => {
                from_env(ConfigField::EncryptionKeys, ENV_ENCRYPTION_KEYS)(&problem)
            }
            0 | 1 => Error::invalid_config(ConfigField::EncryptionKeys, problem),
            2 if hash_key_from_env => from_env(ConfigField::IdHashKey, ENV_ID_HASH_KEY)(&problem),
            2 => Error::invalid_config(ConfigField::IdHashKey, problem),
            3 => Error::invalid_config(ConfigField::CompressThreshold, problem),
            _ => Error::invalid_config(ConfigField::DecryptOnly, problem),
        },
    )
}

/// A user field is a dotted path of one or more non-empty names, 1 to 255 bytes in all.
fn validate_user_field(field: &str) -> Result<()> {
    if field.is_empty() || field.len() > MAX_USER_FIELD_BYTES || field.split('.').any(str::is_empty)
    {
        return Err(Error::invalid_config(
            ConfigField::UserField,
            format_args!(
                "must be a dotted path of non-empty names (`passport.user`), 1 to {MAX_USER_FIELD_BYTES} bytes"
            ),
        ));
    }
    Ok(())
}

fn validate_table(table: &str) -> Result<()> {
    let ok_len = (3..=255).contains(&table.len());
    let ok_chars = table
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(Error::invalid_config(
            ConfigField::Table,
            "must be 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-` and `.`",
        ))
    }
}

fn validate_endpoint(endpoint: &str) -> Result<()> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(Error::invalid_config(
            ConfigField::Endpoint,
            "must be an http:// or https:// URL with a host",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn field_of(err: Error) -> String {
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        let field = err.config_field().expect("the field travels as data");
        let problem = err.config_problem().expect("and the problem beside it");
        assert_eq!(
            err.message(),
            format!("invalid configuration `{field}`: {problem}")
        );
        err.message().to_owned()
    }

    #[test]
    fn defaults_are_connect_dynamodb_defaults() {
        let c = Config::builder().build().expect("defaults are valid");
        assert_eq!(c.table(), "sessions");
        assert_eq!(c.hash_key(), "id");
        assert_eq!(c.prefix(), "sess:");
        assert_eq!(c.default_lifetime(), Duration::from_secs(86_400));
        assert!(c.consistent_read());
        assert_eq!(c.reap_interval(), None);
        assert_eq!(c.billing(), Billing::OnDemand);
        assert_eq!(c.first_use(), FirstUse::Create);
        // A DynamoDB that never answers fails a request within 10 s (issue: 15 s before).
        assert_eq!(c.connect_timeout(), Duration::from_secs(2));
        assert_eq!(c.attempt_timeout(), Duration::from_secs(3));
        assert_eq!(c.operation_timeout(), Duration::from_secs(8));
        // Tombstones on (an hour); versioned writes, absolute timeout and user index off.
        assert_eq!(c.tombstone_lifetime(), Duration::from_secs(3600));
        assert_eq!(c.merge(), None);
        assert_eq!(c.absolute_timeout(), None);
        assert_eq!(c.user_field(), None);
        assert!(!c.records_creation());
        // A 3.x table keyed `user` keeps working while the user index is off.
        assert!(Config::builder().hash_key("user").build().is_ok());
        // Tombstones off: a table keyed `ended` works too.
        assert!(
            Config::builder()
                .hash_key("ended")
                .tombstone_lifetime(Duration::ZERO)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn merge_policies_by_name() {
        assert_eq!(MergePolicy::from_name("off").expect("off"), None);
        for policy in MergePolicy::ALL {
            assert_eq!(
                MergePolicy::from_name(policy.as_str()).expect("named"),
                Some(policy)
            );
        }
        let err = MergePolicy::from_name("theirs").expect_err("unknown");
        assert_eq!(err.config_field(), Some(ConfigField::Merge));
    }

    #[test]
    fn keys_come_from_the_options_or_else_the_environment() {
        use crate::at_rest::{ENV_ENCRYPTION_KEYS, ENV_ID_HASH_KEY, Secret};
        let key_a = aws_smithy_types::base64::encode([1u8; 32]);
        let key_b = aws_smithy_types::base64::encode([2u8; 32]);
        let env = |name: &str| match name {
            ENV_ENCRYPTION_KEYS => Some(format!(" {key_a} ,{key_b}")),
            ENV_ID_HASH_KEY => Some(aws_smithy_types::base64::encode([3u8; 40])),
            _ => None,
        };
        let none = |_: &str| None;
        let off = Config::builder().build_with_env(none).expect("valid");
        assert!(!off.encrypts() && !off.hashes_ids() && off.compress_threshold().is_none());

        let from_env = Config::builder().build_with_env(env).expect("valid");
        assert_eq!(from_env.encryption_key_ids().len(), 2);
        assert!(from_env.hashes_ids());
        // Options win, and an empty list or `None` turns the feature off.
        let given = Config::builder()
            .encryption_keys(vec![Secret::Bytes(vec![2; 32])])
            .id_hash_key(None)
            .build_with_env(env)
            .expect("valid");
        assert_eq!(
            given.encryption_key_ids(),
            from_env.encryption_key_ids()[1..].to_vec()
        );
        assert!(!given.hashes_ids());
        let emptied = Config::builder()
            .encryption_keys(Vec::new())
            .build_with_env(env)
            .expect("valid");
        assert!(!emptied.encrypts());

        // Errors name the field (and the variable) but never show the key.
        let short_env = |name: &str| (name == ENV_ID_HASH_KEY).then(|| "c2VjcmV0".to_owned());
        let err = Config::builder()
            .build_with_env(short_env)
            .expect_err("short");
        assert_eq!(err.config_field(), Some(ConfigField::IdHashKey));
        assert!(err.to_string().contains(ENV_ID_HASH_KEY), "{err}");
        let bad_env = |name: &str| (name == ENV_ENCRYPTION_KEYS).then(|| "c2VjcmV0,***".to_owned());
        let err = Config::builder().build_with_env(bad_env).expect_err("bad");
        assert_eq!(err.config_field(), Some(ConfigField::EncryptionKeys));
        assert!(err.to_string().contains(ENV_ENCRYPTION_KEYS), "{err}");
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
        let err = Config::builder()
            .encryption_keys(vec![Secret::Base64("c2VjcmV0".to_owned())])
            .build_with_env(none)
            .expect_err("short");
        assert_eq!(err.config_field(), Some(ConfigField::EncryptionKeys));
        assert!(err.to_string().contains("6 bytes"), "{err}");
        let err = Config::builder()
            .id_hash_key(Some(Secret::Bytes(vec![0; 8])))
            .build_with_env(none)
            .expect_err("short");
        assert_eq!(err.config_field(), Some(ConfigField::IdHashKey));
        let err = Config::builder()
            .compress_threshold(Some(u64::MAX))
            .build_with_env(none)
            .expect_err("too big");
        assert_eq!(err.config_field(), Some(ConfigField::CompressThreshold));
        let shown = format!("{from_env:?}");
        assert!(
            !shown.contains(&key_a) && shown.contains("hashed_ids: true"),
            "{shown}"
        );
    }

    #[test]
    fn every_field_is_listed_once() {
        // Exhaustive: a field new in the core does not compile until it is counted here.
        let position = |field: ConfigField| match field {
            ConfigField::Table => 0,
            ConfigField::HashKey => 1,
            ConfigField::Prefix => 2,
            ConfigField::Region => 3,
            ConfigField::Endpoint => 4,
            ConfigField::AccessKeyId => 5,
            ConfigField::SecretAccessKey => 6,
            ConfigField::SessionToken => 7,
            ConfigField::CredentialsProvider => 8,
            ConfigField::ConsistentRead => 9,
            ConfigField::DefaultLifetime => 10,
            ConfigField::TouchAfter => 11,
            ConfigField::ReapInterval => 12,
            ConfigField::Billing => 13,
            ConfigField::ReadCapacity => 14,
            ConfigField::WriteCapacity => 15,
            ConfigField::FirstUse => 16,
            ConfigField::CreateWait => 17,
            ConfigField::ConnectTimeout => 18,
            ConfigField::AttemptTimeout => 19,
            ConfigField::OperationTimeout => 20,
            ConfigField::MaxAttempts => 21,
            ConfigField::ScanSegments => 22,
            ConfigField::TombstoneLifetime => 23,
            ConfigField::Merge => 24,
            ConfigField::AbsoluteTimeout => 25,
            ConfigField::UserField => 26,
            ConfigField::EncryptionKeys => 27,
            ConfigField::IdHashKey => 28,
            ConfigField::CompressThreshold => 29,
            ConfigField::DecryptOnly => 30,
        };
        let mut seen = [false; ConfigField::ALL.len()];
        for field in ConfigField::ALL {
            assert!(
                !std::mem::replace(&mut seen[position(field)], true),
                "{field:?} twice"
            );
        }
        assert!(seen.iter().all(|&s| s), "every field is in ALL");
    }

    #[test]
    fn each_invalid_value_names_its_field() {
        let cases: Vec<(ConfigBuilder, &str)> = vec![
            (Config::builder().table("ab"), "`table`"),
            (Config::builder().table("has space"), "`table`"),
            (Config::builder().hash_key(""), "`hash_key`"),
            (Config::builder().hash_key("type"), "`hash_key`"),
            (Config::builder().hash_key("sess"), "`hash_key`"),
            (Config::builder().hash_key("expires"), "`hash_key`"),
            (
                Config::builder().reap_interval(Some(Duration::from_secs(u64::MAX))),
                "`reap_interval`",
            ),
            (Config::builder().prefix("p".repeat(1025)), "`prefix`"),
            (Config::builder().region("US East"), "`region`"),
            (Config::builder().region(""), "`region`"),
            (Config::builder().endpoint("localhost:8000"), "`endpoint`"),
            (Config::builder().endpoint("http://"), "`endpoint`"),
            (
                Config::builder().credentials(Credentials::new("", "s", None)),
                "`credentials.access_key_id`",
            ),
            (
                Config::builder().credentials(Credentials::new("a", "", None)),
                "`credentials.secret_access_key`",
            ),
            (
                Config::builder().default_lifetime(Duration::ZERO),
                "`default_lifetime`",
            ),
            (
                Config::builder().reap_interval(Some(Duration::from_millis(10))),
                "`reap_interval`",
            ),
            (
                Config::builder().billing(Billing::Provisioned { read: 0, write: 1 }),
                "`read_capacity`",
            ),
            (
                Config::builder().connect_timeout(Duration::ZERO),
                "`connect_timeout`",
            ),
            (
                Config::builder().attempt_timeout(Duration::ZERO),
                "`attempt_timeout`",
            ),
            (
                Config::builder().operation_timeout(Duration::from_secs(7200)),
                "`operation_timeout`",
            ),
            (Config::builder().max_attempts(0), "`max_attempts`"),
            (
                Config::builder()
                    .credentials(Credentials::new("a", "b", None))
                    .credentials_provider(SharedCredentialsProvider::new(
                        aws_credential_types::Credentials::for_tests(),
                    )),
                "`credentials_provider`",
            ),
            (Config::builder().scan_segments(65), "`scan_segments`"),
            (
                Config::builder().tombstone_lifetime(Duration::from_secs(u64::MAX)),
                "`tombstone_lifetime`",
            ),
            (
                Config::builder().absolute_timeout(Some(Duration::ZERO)),
                "`absolute_timeout`",
            ),
            (
                Config::builder().user_field(Some("passport..user".into())),
                "`user_field`",
            ),
            (
                Config::builder().user_field(Some(String::new())),
                "`user_field`",
            ),
            (
                Config::builder().user_field(Some("u".repeat(256))),
                "`user_field`",
            ),
            (Config::builder().hash_key("ended"), "`hash_key`"),
            (
                Config::builder()
                    .hash_key("user")
                    .user_field(Some("userId".into())),
                "`hash_key`",
            ),
        ];
        for (builder, field) in cases {
            let message = field_of(builder.build().expect_err(field));
            assert!(message.contains(field), "{message} should name {field}");
        }
    }

    #[test]
    fn field_names_are_distinct_and_faces_convert_numbers_here() {
        let names: std::collections::HashSet<&str> =
            ConfigField::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names.len(), ConfigField::ALL.len());
        assert_eq!(
            ConfigField::TouchAfter.seconds(1.5).expect("valid"),
            Duration::from_millis(1500)
        );
        assert_eq!(
            ConfigField::TouchAfter.millis(1500.0).expect("valid"),
            Duration::from_millis(1500)
        );
        for bad in [f64::NAN, -1.0, f64::INFINITY, 4e9] {
            let err = ConfigField::DefaultLifetime
                .seconds(bad)
                .expect_err("out of range");
            assert_eq!(err.config_field(), Some(ConfigField::DefaultLifetime));
        }
        assert_eq!(ConfigField::MaxAttempts.whole(3.0).expect("whole"), 3);
        assert!(ConfigField::MaxAttempts.whole(2.5).is_err());
        assert!(ConfigField::MaxAttempts.whole(f64::NAN).is_err());
        let err = Config::builder()
            .billing(Billing::Provisioned {
                read: 5,
                write: MAX_CAPACITY + 1,
            })
            .build()
            .expect_err("too much");
        assert_eq!(err.config_field(), Some(ConfigField::WriteCapacity));
        assert_eq!(
            Billing::CONNECT_DYNAMODB_3X,
            Billing::Provisioned { read: 5, write: 5 }
        );
    }

    #[test]
    fn valid_values_are_accepted() {
        Config::builder()
            .table("my-app.sessions_v2")
            .prefix("")
            .region("eu-west-1")
            .endpoint("http://127.0.0.1:8000")
            .credentials(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                Some("tok".into()),
            ))
            .reap_interval(Some(Duration::from_secs(600)))
            .billing(Billing::Provisioned { read: 5, write: 5 })
            .touch_after(Duration::ZERO)
            .build()
            .expect("valid");
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials::new("AKIDVISIBLE", "SECRETVALUE", Some("TOKENVALUE".into()));
        let config = Config::builder()
            .credentials(c.clone())
            .build()
            .expect("valid");
        for text in [format!("{c:?}"), format!("{config:?}")] {
            assert!(!text.contains("AKIDVISIBLE"), "{text}");
            assert!(!text.contains("SECRETVALUE"), "{text}");
            assert!(!text.contains("TOKENVALUE"), "{text}");
        }
    }
}
