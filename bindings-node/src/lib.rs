//! The napi addon under the npm package `connect-dynamodb`: argument conversion, error
//! mapping and runtime glue over `connect-dynamodb-core`, nothing else. The public JavaScript
//! surface (`DynamoDBStore`, `SessionStoreError`) is `index.js`.
//!
//! Every async method runs on napi-rs's Tokio runtime, whose threads never keep Node's event
//! loop alive. Failures reach JavaScript as errors whose message is [`ERROR_MARK`] followed by
//! a JSON object `{code, retryable, message, cause}`, which `index.js` turns into a
//! `SessionStoreError`.

// The napi objects are plain transfer structs; some carry credentials, which a derived Debug
// would print.
#![allow(missing_debug_implementations)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, error, future,
};
use connect_dynamodb_core::{
    Billing, Config, Credentials, ErrorKind, ItemAttribute, ReaperHandle, SessionStore, SetOptions,
    TouchOutcome, WriteCondition,
};
use napi::bindgen_prelude::{Buffer, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Error, Result, Status};
use napi_derive::napi;

/// Marks an error message that carries a store error as JSON.
pub const ERROR_MARK: &str = "\u{1}connect-dynamodb:";

/// The store's options, as `index.js` hands them over after checking their types.
/// Durations are in milliseconds.
#[napi(object)]
#[derive(Default)]
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
    pub default_lifetime_ms: Option<f64>,
    pub touch_after_ms: Option<f64>,
    pub reap_interval_ms: Option<f64>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: Option<String>,
    pub read_capacity_units: Option<i64>,
    pub write_capacity_units: Option<i64>,
    pub connect_timeout_ms: Option<f64>,
    pub attempt_timeout_ms: Option<f64>,
    pub operation_timeout_ms: Option<f64>,
    pub max_attempts: Option<u32>,
    pub scan_segments: Option<u32>,
}

/// Credentials as a JavaScript credentials provider returns them.
#[napi(object)]
pub struct NativeCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When the credentials expire, in epoch milliseconds.
    pub expiration_ms: Option<f64>,
}

/// A stored session.
#[napi(object)]
pub struct NativeRecord {
    /// The session JSON text.
    pub session: String,
    /// When it expires, in epoch milliseconds.
    pub expires_ms: f64,
}

/// A stored session with its id.
#[napi(object)]
pub struct NativeEntry {
    pub id: String,
    pub session: String,
    pub expires_ms: f64,
}

/// An attribute written beside the session (connect-dynamodb's `specialKeys`).
#[napi(object)]
pub struct NativeAttribute {
    pub name: String,
    /// `S`, `N` or `B`.
    pub kind: String,
    /// The value as text, for `S` and `N`.
    pub text: Option<String>,
    /// The value as bytes, for `B`.
    pub bytes: Option<Buffer>,
}

/// What a reaper pass or `clear` did.
#[napi(object)]
pub struct NativeReport {
    pub scanned: f64,
    pub deleted: f64,
}

/// What `createTable` did and found.
#[napi(object)]
pub struct NativeTableSetup {
    pub created: bool,
    pub problems: Vec<String>,
}

type CredentialsCallback =
    ThreadsafeFunction<(), Promise<NativeCredentials>, (), Status, false, true>;

/// The addon's own allocations (the SDK allocates many small objects per request) go to
/// mimalloc, which costs less CPU per allocation than glibc's malloc under threads. Node's own
/// heap is not affected.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Tokio runtime the addon's async methods run on. One worker thread: a store call spends
/// most of its time waiting on DynamoDB, and a single worker saves the thread wake-ups that
/// idle workers of a larger pool cost on every call. Its thread never keeps Node alive.
#[napi_derive::module_init]
fn init_runtime() {
    if let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("connect-dynamodb")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// Checks the options without building anything, so that `new DynamoDBStore(...)` can throw
/// `INVALID_CONFIG` at once.
#[napi]
pub fn check_options(options: NativeOptions) -> Result<()> {
    build_config(options, None).map(|_| ())
}

/// Builds a store. `credentials`, when given, is asked for credentials whenever the cached
/// ones are about to expire.
#[napi]
pub async fn open_store(
    options: NativeOptions,
    credentials: Option<CredentialsCallback>,
) -> Result<NativeStore> {
    let provider = credentials
        .map(|callback| SharedCredentialsProvider::new(JsCredentials(Arc::new(callback))));
    let config = build_config(options, provider)?;
    let store = SessionStore::connect(config).await.map_err(store_error)?;
    Ok(NativeStore {
        store,
        reaper: Mutex::new(None),
    })
}

/// The native half of `DynamoDBStore`.
#[napi]
pub struct NativeStore {
    store: SessionStore,
    reaper: Mutex<Option<ReaperHandle>>,
}

#[napi]
impl NativeStore {
    /// The session, or `null` when missing or expired.
    #[napi]
    pub async fn get(&self, sid: String) -> Result<Option<NativeRecord>> {
        let record = self.store.get(&sid).await.map_err(store_error)?;
        Ok(record.map(|r| NativeRecord {
            session: r.session,
            expires_ms: epoch_ms(r.expires_at),
        }))
    }

    /// Stores the session JSON until `expires_ms` (or the default lifetime). `condition` is
    /// `always` (default), `ifAbsent` or `ifPresent`.
    #[napi]
    pub async fn set(
        &self,
        sid: String,
        session: String,
        expires_ms: Option<f64>,
        attributes: Option<Vec<NativeAttribute>>,
        condition: Option<String>,
    ) -> Result<()> {
        let expires_at = expires_ms.map(system_time).transpose()?;
        let condition = match condition.as_deref() {
            None | Some("always") => WriteCondition::Always,
            Some("ifAbsent") => WriteCondition::IfAbsent,
            Some("ifPresent") => WriteCondition::IfPresent,
            Some(_) => {
                return Err(face_error(
                    ErrorKind::InvalidArgument,
                    "unknown write condition",
                ));
            }
        };
        let attributes = attributes
            .unwrap_or_default()
            .into_iter()
            .map(item_attribute)
            .collect::<Result<Vec<_>>>()?;
        let options = SetOptions {
            condition,
            attributes,
        };
        self.store
            .set_with(&sid, &session, expires_at, options)
            .await
            .map_err(store_error)
    }

    /// Moves the expiry of a live session: `updated`, `throttled` or `notFound`.
    #[napi]
    pub async fn touch(&self, sid: String, expires_ms: Option<f64>) -> Result<String> {
        let expires_at = expires_ms.map(system_time).transpose()?;
        let outcome = self
            .store
            .touch(&sid, expires_at)
            .await
            .map_err(store_error)?;
        Ok(match outcome.outcome {
            TouchOutcome::Updated => "updated",
            TouchOutcome::Throttled => "throttled",
            TouchOutcome::NotFound => "notFound",
        }
        .to_owned())
    }

    #[napi]
    pub async fn destroy(&self, sid: String) -> Result<()> {
        self.store.destroy(&sid).await.map_err(store_error)
    }

    #[napi]
    pub async fn ids(&self) -> Result<Vec<String>> {
        self.store.ids().await.map_err(store_error)
    }

    #[napi]
    pub async fn all(&self) -> Result<Vec<NativeEntry>> {
        let all = self.store.all().await.map_err(store_error)?;
        Ok(all
            .into_iter()
            .map(|(id, r)| NativeEntry {
                id,
                session: r.session,
                expires_ms: epoch_ms(r.expires_at),
            })
            .collect())
    }

    #[napi]
    pub async fn length(&self) -> Result<f64> {
        self.store
            .length()
            .await
            .map(|n| n as f64)
            .map_err(store_error)
    }

    #[napi]
    pub async fn clear(&self) -> Result<NativeReport> {
        self.store.clear().await.map(report).map_err(store_error)
    }

    #[napi]
    pub async fn reap(&self) -> Result<NativeReport> {
        self.store.reap().await.map(report).map_err(store_error)
    }

    /// Creates the table unless it exists, waits for it, enables TTL, and verifies it.
    #[napi]
    pub async fn create_table(&self) -> Result<NativeTableSetup> {
        let setup = self.store.create_table().await.map_err(store_error)?;
        Ok(NativeTableSetup {
            created: setup.created,
            problems: problems(&setup.report),
        })
    }

    /// Whether the table exists (DescribeTable only).
    #[napi]
    pub async fn table_exists(&self) -> Result<bool> {
        self.store.table_exists().await.map_err(store_error)
    }

    /// What is wrong with the table; `TABLE_NOT_FOUND` when it is missing.
    #[napi]
    pub async fn verify_table(&self) -> Result<Vec<String>> {
        let report = self.store.verify_table().await.map_err(store_error)?;
        Ok(problems(&report))
    }

    /// Starts the background reaper (replacing a running one).
    #[napi]
    pub fn start_reaper(&self, interval_ms: f64) -> Result<()> {
        let interval = duration("reapInterval", interval_ms)?;
        let handle = napi::bindgen_prelude::within_runtime_if_available(|| {
            self.store.start_reaper(interval)
        })
        .map_err(store_error)?;
        *self.reaper.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(())
    }

    /// Stops the background reaper, if one runs.
    #[napi]
    pub fn stop_reaper(&self) {
        // Dropping the handle aborts the reaper task.
        let handle = self
            .reaper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(handle);
    }
}

fn build_config(
    options: NativeOptions,
    provider: Option<SharedCredentialsProvider>,
) -> Result<Config> {
    // The JavaScript layer checks and creates the table itself, as connect-dynamodb 3.x.
    let mut b = Config::builder().first_use(connect_dynamodb_core::FirstUse::Nothing);
    if let Some(v) = options.table {
        b = b.table(v);
    }
    if let Some(v) = options.hash_key {
        b = b.hash_key(v);
    }
    if let Some(v) = options.prefix {
        b = b.prefix(v);
    }
    if let Some(v) = options.region {
        b = b.region(v);
    }
    if let Some(v) = options.endpoint {
        b = b.endpoint(v);
    }
    match (options.access_key_id, options.secret_access_key) {
        (Some(id), Some(secret)) => {
            b = b.credentials(Credentials::new(id, secret, options.session_token));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(config_error(
                "secretAccessKey",
                "is needed with accessKeyId",
            ));
        }
        (None, Some(_)) => {
            return Err(config_error(
                "accessKeyId",
                "is needed with secretAccessKey",
            ));
        }
    }
    if let Some(provider) = provider {
        b = b.credentials_provider(provider);
    }
    if let Some(v) = options.consistent_read {
        b = b.consistent_read(v);
    }
    if let Some(ms) = options.default_lifetime_ms {
        b = b.default_lifetime(duration("ttl", ms)?);
    }
    if let Some(ms) = options.touch_after_ms {
        b = b.touch_after(duration("touchAfter", ms)?);
    }
    if let Some(ms) = options.reap_interval_ms {
        b = b.reap_interval(Some(duration("reapInterval", ms)?));
    }
    match options.billing_mode.as_deref() {
        None | Some("PAY_PER_REQUEST") => {}
        Some("PROVISIONED") => {
            b = b.billing(Billing::Provisioned {
                read: options.read_capacity_units.unwrap_or(5),
                write: options.write_capacity_units.unwrap_or(5),
            });
        }
        Some(_) => {
            return Err(config_error(
                "createTable.billingMode",
                "must be PAY_PER_REQUEST or PROVISIONED",
            ));
        }
    }
    if let Some(ms) = options.connect_timeout_ms {
        b = b.connect_timeout(duration("connectTimeout", ms)?);
    }
    if let Some(ms) = options.attempt_timeout_ms {
        b = b.attempt_timeout(duration("attemptTimeout", ms)?);
    }
    if let Some(ms) = options.operation_timeout_ms {
        b = b.operation_timeout(duration("operationTimeout", ms)?);
    }
    if let Some(v) = options.max_attempts {
        b = b.max_attempts(v);
    }
    if let Some(v) = options.scan_segments {
        b = b.scan_segments(v);
    }
    b.build().map_err(store_error)
}

/// Asks a JavaScript function (e.g. an AWS SDK for JavaScript client's credentials provider)
/// for credentials.
struct JsCredentials(Arc<CredentialsCallback>);

impl std::fmt::Debug for JsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsCredentials")
    }
}

impl ProvideCredentials for JsCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let callback = self.0.clone();
        future::ProvideCredentials::new(async move {
            let failed = |reason: String| error::CredentialsError::provider_error(reason);
            let promise = callback
                .call_async(())
                .await
                .map_err(|e| failed(format!("the credentials function threw: {}", e.reason)))?;
            let c = promise.await.map_err(|e| {
                failed(format!(
                    "the credentials promise was rejected: {}",
                    e.reason
                ))
            })?;
            let expiry = c
                .expiration_ms
                .filter(|ms| (0.0..=1e15).contains(ms))
                .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms as u64)));
            Ok(aws_credential_types::Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                c.session_token,
                expiry,
                "connect-dynamodb-js",
            ))
        })
    }
}

fn item_attribute(a: NativeAttribute) -> Result<(String, ItemAttribute)> {
    let value = match (a.kind.as_str(), a.text, a.bytes) {
        ("S", Some(text), _) => ItemAttribute::S(text),
        ("N", Some(text), _) => ItemAttribute::N(text),
        ("B", _, Some(bytes)) => ItemAttribute::B(bytes.to_vec()),
        _ => {
            return Err(face_error(
                ErrorKind::InvalidArgument,
                "a special key's value does not match its type",
            ));
        }
    };
    Ok((a.name, value))
}

fn report(r: connect_dynamodb_core::ReapReport) -> NativeReport {
    NativeReport {
        scanned: r.scanned as f64,
        deleted: r.deleted as f64,
    }
}

fn problems(report: &connect_dynamodb_core::TableReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn epoch_ms(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    }
}

fn system_time(ms: f64) -> Result<SystemTime> {
    if !ms.is_finite() || ms.abs() > 1e15 {
        return Err(face_error(
            ErrorKind::InvalidArgument,
            "the expiry is not a usable time",
        ));
    }
    let offset = Duration::from_secs_f64(ms.abs() / 1000.0);
    Ok(if ms >= 0.0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH - offset
    })
}

fn duration(field: &str, ms: f64) -> Result<Duration> {
    if !(0.0..=1e13).contains(&ms) {
        return Err(config_error(
            field,
            "must be a finite, non-negative number of milliseconds",
        ));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

fn config_error(field: &str, problem: &str) -> Error {
    face_error(
        ErrorKind::InvalidConfig,
        &format!("invalid option `{field}`: {problem}"),
    )
}

fn face_error(kind: ErrorKind, message: &str) -> Error {
    payload_error(kind.as_str(), false, message, None)
}

/// A core error as a JavaScript error (see [`ERROR_MARK`]).
fn store_error(err: connect_dynamodb_core::Error) -> Error {
    let mut cause = Vec::new();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        cause.push(s.to_string());
        source = s.source();
    }
    let cause = (!cause.is_empty()).then(|| cause.join(": "));
    payload_error(err.code(), err.is_retryable(), err.message(), cause)
}

fn payload_error(code: &str, retryable: bool, message: &str, cause: Option<String>) -> Error {
    let payload = serde_json::json!({
        "code": code,
        "retryable": retryable,
        "message": message,
        "cause": cause,
    });
    Error::new(Status::GenericFailure, format!("{ERROR_MARK}{payload}"))
}
