//! The store's options, converted to the core's `Config`; the core's defaults as JavaScript
//! reads them; the testing clock; and reading an item the way the store does.

use std::collections::HashMap;
use std::sync::Arc;

use aws_credential_types::provider::SharedCredentialsProvider;
use connect_dynamodb_core::aws_sdk_dynamodb::types::AttributeValue;
use connect_dynamodb_core::{
    Billing, Config, ConfigField, Credentials, ErrorKind, FirstUse, MergePolicy, Secret,
    SessionStore, decode_item, expiry,
};
use napi::bindgen_prelude::{Either, Either3, PromiseRaw, Uint8Array};
use napi::{Env, Result};
use napi_derive::napi;

use crate::credentials::{CredentialsCallback, JsCredentials};
use crate::error::Failure;
use crate::store::{NativeStore, promise};

/// The store's options, as `lib/options.js` hands them over after checking their types: durations
/// in milliseconds unless named `...Secs`, counts as numbers. Ranges are the core's to check.
#[napi(object)]
#[derive(Clone, Default)]
pub struct NativeOptions {
    pub table: Option<String>,
    pub hash_key: Option<String>,
    pub prefix: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub consistent_read: Option<bool>,
    /// `ttl`, in seconds.
    pub default_lifetime_secs: Option<f64>,
    pub touch_after_secs: Option<f64>,
    pub reap_interval_ms: Option<f64>,
    /// `PAY_PER_REQUEST` or `PROVISIONED` (the default: the core's `Billing::CONNECT_DYNAMODB_3X`).
    pub billing_mode: Option<String>,
    pub read_capacity_units: Option<f64>,
    pub write_capacity_units: Option<f64>,
    pub connect_timeout_ms: Option<f64>,
    pub attempt_timeout_ms: Option<f64>,
    pub operation_timeout_ms: Option<f64>,
    pub max_attempts: Option<f64>,
    pub scan_segments: Option<f64>,
    pub tombstone_lifetime_ms: Option<f64>,
    /// `off`, `mine` or `error` (the core's `MergePolicy` names; `merge: false` is `off`).
    pub merge: Option<String>,
    pub absolute_timeout_ms: Option<f64>,
    pub user_field: Option<String>,
}

/// The options of sessions at rest, as `lib/options.js` hands them over: keys as bytes
/// (`Buffer`, `Uint8Array`) or base64 text. Copied at construction, so the caller may wipe its
/// buffers afterwards. Validation (lengths, base64, duplicates, the threshold's range) is the
/// core's.
#[napi(object)]
pub struct NativeAtRest {
    /// `encryptionKeys`: absent for the environment's (`CONNECT_DYNAMODB_ENCRYPTION_KEYS`),
    /// empty for none.
    pub encryption_keys: Option<Vec<Either<Uint8Array, String>>>,
    /// `idHashKey`: absent for the environment's (`CONNECT_DYNAMODB_ID_HASH_KEY`), `false` for none.
    pub id_hash_key: Option<Either3<Uint8Array, String, bool>>,
    /// `compressThreshold`, in bytes: absent for no compression.
    pub compress_threshold: Option<f64>,
    /// `decryptOnly`: the keys only decrypt; sessions are written unencrypted.
    pub decrypt_only: Option<bool>,
}

/// The at-rest options as the core's builder takes them.
#[derive(Clone, Default)]
struct AtRestOptions {
    /// `None`: from the environment.
    encryption_keys: Option<Vec<Secret>>,
    /// `None`: from the environment; `Some(None)`: off.
    id_hash_key: Option<Option<Secret>>,
    compress_threshold: Option<f64>,
    decrypt_only: bool,
}

impl AtRestOptions {
    fn from_native(native: Option<NativeAtRest>) -> Self {
        let Some(native) = native else {
            return AtRestOptions::default();
        };
        AtRestOptions {
            encryption_keys: native
                .encryption_keys
                .map(|keys| keys.into_iter().map(secret).collect()),
            id_hash_key: native.id_hash_key.map(|key| match key {
                Either3::A(bytes) => Some(Secret::Bytes(bytes.to_vec())),
                Either3::B(text) => Some(Secret::Base64(text)),
                Either3::C(_) => None,
            }),
            compress_threshold: native.compress_threshold,
            decrypt_only: native.decrypt_only.unwrap_or(false),
        }
    }
}

/// A key as the core takes it: bytes as `Bytes`, text as `Base64`.
fn secret(key: Either<Uint8Array, String>) -> Secret {
    match key {
        Either::A(bytes) => Secret::Bytes(bytes.to_vec()),
        Either::B(text) => Secret::Base64(text),
    }
}

/// The core's defaults, in the units of the Node options.
#[napi(object)]
pub struct Defaults {
    pub table: String,
    pub hash_key: String,
    pub prefix: String,
    /// Seconds of life of a session whose cookie has no expiry.
    pub ttl: f64,
    /// Seconds.
    pub touch_after: f64,
    pub consistent_read: bool,
    /// Milliseconds.
    pub connect_timeout: f64,
    /// Milliseconds.
    pub attempt_timeout: f64,
    /// Milliseconds.
    pub operation_timeout: f64,
    pub max_attempts: u32,
    pub scan_segments: u32,
    /// The billing of a table created on first use: `PROVISIONED`, as connect-dynamodb 3.x.
    pub billing_mode: String,
    pub read_capacity_units: f64,
    pub write_capacity_units: f64,
    /// Milliseconds a destroyed session's tombstone lives (0: tombstones off).
    pub tombstone_lifetime: f64,
    /// `off`: no versioned writes; or the policy's name, `mine` or `error`.
    pub merge: String,
    /// Milliseconds from a session's creation; absent: no absolute timeout.
    pub absolute_timeout: Option<f64>,
    /// The session field naming the user; absent: no user index.
    pub user_field: Option<String>,
}

/// The defaults of every option, from the core (connect-dynamodb 3.x's where it had one).
#[napi]
pub fn defaults(env: Env) -> Result<Defaults> {
    // The keys explicitly off: the defaults never read the environment, so a bad key there
    // fails the store that uses it, not loading the package.
    let c = Config::builder()
        .encryption_keys(Vec::new())
        .id_hash_key(None)
        .build()
        .map_err(|e| Failure::from(e).into_js(&env))?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let (read, write) = capacity_units(DEFAULT_BILLING);
    Ok(Defaults {
        table: c.table().to_owned(),
        hash_key: c.hash_key().to_owned(),
        prefix: c.prefix().to_owned(),
        ttl: c.default_lifetime().as_secs_f64(),
        touch_after: c.touch_after().as_secs_f64(),
        consistent_read: c.consistent_read(),
        connect_timeout: ms(c.connect_timeout()),
        attempt_timeout: ms(c.attempt_timeout()),
        operation_timeout: ms(c.operation_timeout()),
        max_attempts: c.max_attempts(),
        scan_segments: c.scan_segments(),
        billing_mode: billing_mode(DEFAULT_BILLING).to_owned(),
        read_capacity_units: read as f64,
        write_capacity_units: write as f64,
        tombstone_lifetime: ms(c.tombstone_lifetime()),
        merge: c.merge().map_or("off", MergePolicy::as_str).to_owned(),
        absolute_timeout: c.absolute_timeout().map(ms),
        user_field: c.user_field().map(str::to_owned),
    })
}

/// The billing of a table created on first use unless `createTable` says otherwise: the core's
/// `Billing::CONNECT_DYNAMODB_3X` (provisioned, 5 and 5 units), as connect-dynamodb 3.x.
const DEFAULT_BILLING: Billing = Billing::CONNECT_DYNAMODB_3X;

/// A billing's `createTable.billingMode` token.
fn billing_mode(billing: Billing) -> &'static str {
    match billing {
        Billing::OnDemand => "PAY_PER_REQUEST",
        Billing::Provisioned { .. } => "PROVISIONED",
    }
}

/// A billing's read and write capacity units; none (0, 0) when on demand.
fn capacity_units(billing: Billing) -> (i64, i64) {
    match billing {
        Billing::OnDemand => (0, 0),
        Billing::Provisioned { read, write } => (read, write),
    }
}

/// A clock that moves only when told to, for tests: pass it as the `clock` option and every
/// expiry and touch-throttle decision of the store reads it instead of the system clock.
#[napi]
pub struct ManualClock {
    clock: connect_dynamodb_core::ManualClock,
}

#[napi]
impl ManualClock {
    /// A clock standing at `startMs` (epoch milliseconds), or at the current time.
    #[napi(constructor)]
    pub fn new(env: Env, start_ms: Option<f64>) -> Result<Self> {
        let clock = match start_ms {
            None => connect_dynamodb_core::ManualClock::starting_now(),
            Some(ms) => expiry::from_epoch_millis(ms)
                .and_then(connect_dynamodb_core::ManualClock::new)
                .map_err(|e| Failure::from(e).into_js(&env))?,
        };
        Ok(ManualClock { clock })
    }

    /// Moves the clock forward by `ms` milliseconds.
    #[napi]
    pub fn advance(&self, env: Env, ms: f64) -> Result<()> {
        let by = std::time::Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
            Failure::new(
                ErrorKind::InvalidArgument,
                "a clock moves forward by a finite, non-negative number of milliseconds",
            )
            .into_js(&env)
        })?;
        self.clock
            .advance(by)
            .map_err(|e| Failure::from(e).into_js(&env))
    }

    /// Sets the clock to `ms` epoch milliseconds.
    #[napi]
    pub fn set(&self, env: Env, ms: f64) -> Result<()> {
        expiry::from_epoch_millis(ms)
            .and_then(|at| self.clock.set(at))
            .map_err(|e| Failure::from(e).into_js(&env))
    }

    /// The clock's time, in epoch milliseconds.
    #[napi]
    pub fn now(&self) -> f64 {
        use connect_dynamodb_core::Clock;
        expiry::epoch_millis(self.clock.now())
    }
}

/// A string, number or binary attribute of a DynamoDB item, as the AWS SDK for JavaScript
/// gives it (`{ S: '...' }`, `{ N: '...' }`, `{ B: Uint8Array }`).
#[napi(object)]
pub struct NativeItemValue {
    #[napi(js_name = "S")]
    pub s: Option<String>,
    #[napi(js_name = "N")]
    pub n: Option<String>,
    #[napi(js_name = "B")]
    pub b: Option<Uint8Array>,
}

/// The top-level session keys that every save of a Node session framework rewrites:
/// express-session, connect and @fastify/session keep the cookie in the session under
/// `cookie`, and stamp a new `expires` on it whenever they send the cookie. Two concurrent
/// requests therefore both "change" it; a merge takes the saving request's cookie instead of
/// counting it as a conflict (which under `merge: 'error'` would fail every concurrent save).
const FRAMEWORK_KEYS: [&str; 1] = ["cookie"];

/// The checked configuration of one `DynamoDBStore`: built at construction, so that an
/// invalid option throws at once; opens the native store on first use.
#[napi]
pub struct NativeConfig {
    options: NativeOptions,
    at_rest: AtRestOptions,
    clock: Option<connect_dynamodb_core::ManualClock>,
    provider: Option<SharedCredentialsProvider>,
    config: Config,
}

#[napi]
impl NativeConfig {
    /// Checks the options (`INVALID_CONFIG` naming the option otherwise). `credentials`, when
    /// given, is asked for credentials whenever the cached ones are about to expire. `atRest`
    /// holds the keys, copied here.
    #[napi(
        constructor,
        ts_args_type = "options: NativeOptions, clock?: ManualClock | undefined | null, credentials?: (() => Promise<NativeCredentials>) | undefined | null, atRest?: NativeAtRest | undefined | null"
    )]
    pub fn new(
        env: Env,
        options: NativeOptions,
        clock: Option<&ManualClock>,
        credentials: Option<CredentialsCallback>,
        at_rest: Option<NativeAtRest>,
    ) -> Result<Self> {
        let clock = clock.map(|c| c.clock.clone());
        let provider = credentials
            .map(|callback| SharedCredentialsProvider::new(JsCredentials(Arc::new(callback))));
        let at_rest = AtRestOptions::from_native(at_rest);
        let config = build_config(&options, &at_rest, clock.as_ref(), provider.clone())
            .map_err(|f| f.into_js(&env))?;
        Ok(NativeConfig {
            options,
            at_rest,
            clock,
            provider,
            config,
        })
    }

    #[napi(getter)]
    pub fn table(&self) -> String {
        self.config.table().to_owned()
    }

    #[napi(getter)]
    pub fn prefix(&self) -> String {
        self.config.prefix().to_owned()
    }

    #[napi(getter)]
    pub fn hash_key(&self) -> String {
        self.config.hash_key().to_owned()
    }

    /// Now on the store's clock, in epoch milliseconds.
    #[napi]
    pub fn now(&self) -> f64 {
        expiry::epoch_millis(self.config.now())
    }

    /// The `expires` value the store writes for a session expiring at `expiresMs` (epoch
    /// milliseconds), or living for the default lifetime: whole epoch seconds, rounded up.
    #[napi]
    pub fn expires_value(&self, env: Env, expires_ms: Option<f64>) -> Result<f64> {
        let secs = expires_ms
            .map(expiry::from_epoch_millis)
            .transpose()
            .and_then(|at| expiry::stored_secs(self.config.expiry_or_default(at)))
            .map_err(|e| Failure::from(e).into_js(&env))?;
        Ok(secs as f64)
    }

    /// Whether sessions are encrypted at rest.
    #[napi(getter)]
    pub fn encrypts(&self) -> bool {
        self.config.encrypts()
    }

    /// Whether session ids are hashed at rest.
    #[napi(getter)]
    pub fn hashes_ids(&self) -> bool {
        self.config.hashes_ids()
    }

    /// The session JSON of an item given by its string, number and binary attributes, read as
    /// the store reads its own items (on the store's clock, with its absolute timeout and its
    /// keys); `null` when expired, a tombstone, too old, a ghost or damaged. `UNREADABLE` for
    /// a session encrypted with a key the store lacks, or in a newer format.
    #[napi]
    pub fn parse_item(
        &self,
        env: Env,
        item: HashMap<String, NativeItemValue>,
    ) -> Result<Option<String>> {
        let item = item
            .into_iter()
            .filter_map(|(name, value)| match (value.s, value.n, value.b) {
                (Some(s), _, _) => Some((name, AttributeValue::S(s))),
                (None, Some(n), _) => Some((name, AttributeValue::N(n))),
                (None, None, Some(b)) => Some((name, AttributeValue::B(b.to_vec().into()))),
                (None, None, None) => None,
            })
            .collect();
        decode_item(item, &self.config)
            .map(|record| record.map(|r| r.session))
            .map_err(|e| Failure::from(e).into_js(&env))
    }

    /// Opens the store. `region` and `endpoint` (from a `client` option) apply unless the
    /// options give their own.
    #[napi(ts_return_type = "Promise<NativeStore>")]
    pub fn open<'env>(
        &self,
        env: &'env Env,
        region: Option<String>,
        endpoint: Option<String>,
    ) -> Result<PromiseRaw<'env, NativeStore>> {
        let mut options = self.options.clone();
        options.region = options.region.or(region);
        options.endpoint = options.endpoint.or(endpoint);
        let at_rest = self.at_rest.clone();
        let clock = self.clock.clone();
        let provider = self.provider.clone();
        promise(
            env,
            async move {
                let config = build_config(&options, &at_rest, clock.as_ref(), provider)?;
                Ok(SessionStore::connect(config).await?)
            },
            NativeStore::new,
        )
    }
}

fn build_config(
    o: &NativeOptions,
    at_rest: &AtRestOptions,
    clock: Option<&connect_dynamodb_core::ManualClock>,
    provider: Option<SharedCredentialsProvider>,
) -> std::result::Result<Config, Failure> {
    // First use goes through `initialize()` in `lib/store.js`, as connect-dynamodb 3.x's surface
    // has it (`describeSessionsTable()`, then `createSessionsTable()`, each replaceable by a
    // subclass); those are the core's `check_table` and `create_table`.
    let mut b = Config::builder().first_use(FirstUse::Nothing);
    if let Some(clock) = clock {
        b = b.clock(clock.clone());
    }
    if let Some(v) = &o.table {
        b = b.table(v);
    }
    if let Some(v) = &o.hash_key {
        b = b.hash_key(v);
    }
    if let Some(v) = &o.prefix {
        b = b.prefix(v);
    }
    if let Some(v) = &o.region {
        b = b.region(v);
    }
    if let Some(v) = &o.endpoint {
        b = b.endpoint(v);
    }
    match (&o.access_key_id, &o.secret_access_key) {
        (Some(id), Some(secret)) => {
            b = b.credentials(Credentials::new(id, secret, o.session_token.clone()));
        }
        (None, None) if o.session_token.is_some() => {
            return Err(Failure::config(
                ConfigField::SessionToken,
                "goes with accessKeyId and secretAccessKey",
            ));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(Failure::config(
                ConfigField::SecretAccessKey,
                "is needed with accessKeyId",
            ));
        }
        (None, Some(_)) => {
            return Err(Failure::config(
                ConfigField::AccessKeyId,
                "is needed with secretAccessKey",
            ));
        }
    }
    if let Some(provider) = provider {
        b = b.credentials_provider(provider);
    }
    if let Some(v) = o.consistent_read {
        b = b.consistent_read(v);
    }
    if let Some(secs) = o.default_lifetime_secs {
        b = b.default_lifetime(ConfigField::DefaultLifetime.seconds(secs)?);
    }
    if let Some(secs) = o.touch_after_secs {
        b = b.touch_after(ConfigField::TouchAfter.seconds(secs)?);
    }
    if let Some(ms) = o.reap_interval_ms {
        b = b.reap_interval(Some(ConfigField::ReapInterval.millis(ms)?));
    }
    let billing = match o.billing_mode.as_deref() {
        None => DEFAULT_BILLING,
        Some("PAY_PER_REQUEST") => Billing::OnDemand,
        Some("PROVISIONED") => Billing::CONNECT_DYNAMODB_3X,
        Some(_) => {
            return Err(Failure::config(
                ConfigField::Billing,
                "must be PAY_PER_REQUEST or PROVISIONED",
            ));
        }
    };
    // The capacity options apply to a provisioned table only; an on-demand one ignores them.
    b = b.billing(match billing {
        Billing::OnDemand => Billing::OnDemand,
        Billing::Provisioned { read, write } => Billing::Provisioned {
            read: whole(ConfigField::ReadCapacity, o.read_capacity_units)?.unwrap_or(read),
            write: whole(ConfigField::WriteCapacity, o.write_capacity_units)?.unwrap_or(write),
        },
    });
    if let Some(ms) = o.connect_timeout_ms {
        b = b.connect_timeout(ConfigField::ConnectTimeout.millis(ms)?);
    }
    if let Some(ms) = o.attempt_timeout_ms {
        b = b.attempt_timeout(ConfigField::AttemptTimeout.millis(ms)?);
    }
    if let Some(ms) = o.operation_timeout_ms {
        b = b.operation_timeout(ConfigField::OperationTimeout.millis(ms)?);
    }
    if let Some(v) = whole(ConfigField::MaxAttempts, o.max_attempts)? {
        b = b.max_attempts(saturate(v));
    }
    if let Some(v) = whole(ConfigField::ScanSegments, o.scan_segments)? {
        b = b.scan_segments(saturate(v));
    }
    if let Some(ms) = o.tombstone_lifetime_ms {
        b = b.tombstone_lifetime(ConfigField::TombstoneLifetime.millis(ms)?);
    }
    if let Some(name) = &o.merge {
        b = b.merge(MergePolicy::from_name(name)?);
    }
    b = b.merge_always_mine(FRAMEWORK_KEYS.iter().map(|&k| k.to_owned()).collect());
    if let Some(ms) = o.absolute_timeout_ms {
        b = b.absolute_timeout(Some(ConfigField::AbsoluteTimeout.millis(ms)?));
    }
    if let Some(field) = &o.user_field {
        b = b.user_field(Some(field.clone()));
    }
    // Absent keys: the core reads the environment.
    if let Some(keys) = &at_rest.encryption_keys {
        b = b.encryption_keys(keys.clone());
    }
    if let Some(key) = &at_rest.id_hash_key {
        b = b.id_hash_key(key.clone());
    }
    if let Some(v) = whole(ConfigField::CompressThreshold, at_rest.compress_threshold)? {
        // A negative threshold stays out of range, for the core's own check to name.
        b = b.compress_threshold(Some(u64::try_from(v).unwrap_or(u64::MAX)));
    }
    b = b.decrypt_only(at_rest.decrypt_only);
    Ok(b.build()?)
}

fn whole(field: ConfigField, value: Option<f64>) -> connect_dynamodb_core::Result<Option<i64>> {
    value.map(|v| field.whole(v)).transpose()
}

/// A count as the core's `u32` settings take it; out-of-range values stay out of range, for
/// the core's own check to name.
fn saturate(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}
