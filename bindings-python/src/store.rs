//! The store classes `SessionStore` (blocking) and `AsyncSessionStore` (asyncio), the value
//! classes `StoredSession`, `ReapReport` and `Credentials`, and the per-process state they
//! share.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use connect_dynamodb_core::{
    Config, Credentials as CoreCredentials, ReapReport as CoreReapReport, ReaperHandle,
    SessionRecord, SessionStore as CoreStore, SetOptions, TouchOutcome, WriteCondition,
};
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tokio::runtime::Handle;
use tokio::sync::OnceCell;

use crate::convert::{self, SessionText, Sid};
use crate::error::{Answer, Nothing, StoreError, guard, type_error};
use crate::runtime::{self, ForkSafeRuntime, ProcessId, process_id};

type CoreResult<T> = Result<T, connect_dynamodb_core::Error>;

/// A stored session: its JSON text and when it expires.
///
/// Immutable. Its `repr` shows the size of the data, never the data.
#[pyclass(frozen, eq, module = "connect_dynamodb", name = "StoredSession")]
#[derive(PartialEq)]
pub(crate) struct StoredSession {
    data: String,
    /// Epoch seconds.
    expires: f64,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("data_bytes", &self.data.len())
            .field("expires", &self.expires)
            .finish()
    }
}

impl From<SessionRecord> for StoredSession {
    fn from(record: SessionRecord) -> Self {
        StoredSession {
            data: record.session,
            expires: convert::epoch_seconds(record.expires_at),
        }
    }
}

#[pymethods]
impl StoredSession {
    /// A stored session of `data` (JSON text) expiring at `expires` (a datetime or epoch
    /// seconds).
    #[new]
    fn new(data: String, expires: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard(|| {
            let Some(at) = convert::expiry(Some(expires))? else {
                return Err(type_error("`expires`", "a datetime or epoch seconds"));
            };
            Ok(StoredSession {
                data,
                expires: convert::epoch_seconds(at),
            })
        })
    }

    /// The session as JSON text, exactly as it was stored.
    #[getter]
    fn data(&self) -> &str {
        &self.data
    }

    /// When the session expires: an aware `datetime` in UTC.
    #[getter]
    fn expires<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::utc_datetime(py, self.expires)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let expires = self.expires(py)?.call_method0("isoformat")?;
        Ok(format!(
            "StoredSession(<{} bytes of data>, expires={})",
            self.data.len(),
            expires.str()?.to_cow()?
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, (String, f64))> {
        let this = slf.get();
        Ok((slf.get_type(), (this.data.clone(), this.expires)))
    }
}

/// What a reaper pass or `clear` did: items scanned and items deleted.
#[pyclass(frozen, eq, get_all, module = "connect_dynamodb", name = "ReapReport")]
#[derive(Debug, PartialEq)]
pub(crate) struct ReapReport {
    /// Items DynamoDB scanned.
    scanned: u64,
    /// Items deleted.
    deleted: u64,
}

impl From<CoreReapReport> for ReapReport {
    fn from(report: CoreReapReport) -> Self {
        ReapReport {
            scanned: report.scanned,
            deleted: report.deleted,
        }
    }
}

#[pymethods]
impl ReapReport {
    #[new]
    fn new(scanned: u64, deleted: u64) -> Self {
        ReapReport { scanned, deleted }
    }

    fn __repr__(&self) -> String {
        format!(
            "ReapReport(scanned={}, deleted={})",
            self.scanned, self.deleted
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (u64, u64)) {
        let this = slf.get();
        (slf.get_type(), (this.scanned, this.deleted))
    }
}

/// Static AWS credentials. Its `repr` shows none of them.
#[pyclass(frozen, module = "connect_dynamodb", name = "Credentials")]
pub(crate) struct PyCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl std::fmt::Debug for PyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(** redacted **)")
    }
}

#[pymethods]
impl PyCredentials {
    /// Credentials from an access key id, its secret, and a session token for temporary
    /// credentials.
    #[new]
    #[pyo3(signature = (access_key_id, secret_access_key, session_token = None))]
    fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    ) -> Self {
        PyCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        }
    }

    #[getter]
    fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    #[getter]
    fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    #[getter]
    fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    fn __repr__(&self) -> String {
        let token = if self.session_token.is_some() {
            ", session_token=<redacted>"
        } else {
            ""
        };
        format!("Credentials(access_key_id=<redacted>, secret_access_key=<redacted>{token})")
    }
}

/// The constructor's options, as Python handed them over.
struct Options<'py> {
    table: String,
    prefix: String,
    hash_key: String,
    region: Option<String>,
    endpoint: Option<String>,
    credentials: Option<Bound<'py, PyCredentials>>,
    consistent_read: bool,
    default_lifetime: Option<Bound<'py, PyAny>>,
    touch_after: Option<Bound<'py, PyAny>>,
    reap_interval: Option<Bound<'py, PyAny>>,
    billing: Option<Bound<'py, PyAny>>,
    create_table: bool,
    create_wait: Option<Bound<'py, PyAny>>,
    connect_timeout: Option<Bound<'py, PyAny>>,
    attempt_timeout: Option<Bound<'py, PyAny>>,
    operation_timeout: Option<Bound<'py, PyAny>>,
    max_attempts: Option<Bound<'py, PyAny>>,
    scan_segments: Option<Bound<'py, PyAny>>,
}

impl<'py> Options<'py> {
    fn config(&self) -> PyResult<Config> {
        fn present<'a, 'py>(v: &'a Option<Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
            v.as_ref().filter(|v| !v.is_none())
        }
        let mut b = Config::builder()
            .first_use(connect_dynamodb_core::FirstUse::Nothing)
            .table(self.table.as_str())
            .prefix(self.prefix.as_str())
            .hash_key(self.hash_key.as_str())
            .consistent_read(self.consistent_read);
        if let Some(region) = &self.region {
            b = b.region(region.as_str());
        }
        if let Some(endpoint) = &self.endpoint {
            b = b.endpoint(endpoint.as_str());
        }
        if let Some(c) = &self.credentials {
            let c = c.get();
            b = b.credentials(CoreCredentials::new(
                c.access_key_id.as_str(),
                c.secret_access_key.as_str(),
                c.session_token.clone(),
            ));
        }
        if let Some(v) = present(&self.default_lifetime) {
            b = b.default_lifetime(convert::config_duration("default_lifetime", v)?);
        }
        if let Some(v) = present(&self.touch_after) {
            b = b.touch_after(convert::config_duration("touch_after", v)?);
        }
        if let Some(v) = present(&self.reap_interval) {
            b = b.reap_interval(Some(convert::config_duration("reap_interval", v)?));
        }
        if let Some(v) = present(&self.billing) {
            b = b.billing(convert::billing(v)?);
        }
        if let Some(v) = present(&self.create_wait) {
            b = b.create_wait(convert::config_duration("create_wait", v)?);
        }
        if let Some(v) = present(&self.connect_timeout) {
            b = b.connect_timeout(convert::config_duration("connect_timeout", v)?);
        }
        if let Some(v) = present(&self.attempt_timeout) {
            b = b.attempt_timeout(convert::config_duration("attempt_timeout", v)?);
        }
        if let Some(v) = present(&self.operation_timeout) {
            b = b.operation_timeout(convert::config_duration("operation_timeout", v)?);
        }
        if let Some(v) = present(&self.max_attempts) {
            b = b.max_attempts(convert::count("max_attempts", v)?);
        }
        if let Some(v) = present(&self.scan_segments) {
            b = b.scan_segments(convert::count("scan_segments", v)?);
        }
        Ok(b.build().map_err(StoreError::from)?)
    }
}

/// The core store of one process, with the runtime it runs on.
struct ProcessStore {
    process: ProcessId,
    handle: Handle,
    store: CoreStore,
    reaper: Option<ReaperHandle>,
    /// Set when the table is created on first use: holds once the table is ready.
    table_ready: Option<Arc<OnceCell<()>>>,
}

impl ProcessStore {
    fn call(&self) -> Call {
        Call {
            handle: self.handle.clone(),
            store: self.store.clone(),
            table_ready: self.table_ready.clone(),
        }
    }
}

/// What one call needs: the runtime, the core store, and the first-use table creation.
struct Call {
    handle: Handle,
    store: CoreStore,
    table_ready: Option<Arc<OnceCell<()>>>,
}

impl Call {
    async fn run<T, F, Fut>(self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(CoreStore) -> Fut,
        Fut: Future<Output = CoreResult<T>>,
    {
        if let Some(ready) = &self.table_ready {
            let store = &self.store;
            ready
                .get_or_try_init(|| async move { store.create_table().await.map(|_| ()) })
                .await?;
        }
        Ok(op(self.store).await?)
    }
}

struct State {
    closed: bool,
    current: Option<ProcessStore>,
}

/// What both store classes are: the configuration, and the core store of the current process,
/// rebuilt (with a new client on the new process's runtime) after `fork()`.
///
/// The state's lock is only taken by threads holding the GIL and is never held across a
/// release of the GIL, so `os.fork()` (which holds the GIL) never forks while it is held.
struct Shared {
    config: Config,
    create_table: bool,
    state: Mutex<State>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(stale) = state.current.take()
            && stale.process != process_id()
        {
            // A parent's client and reaper belong to a runtime that is gone in this process.
            std::mem::forget(stale);
        }
    }
}

fn closed_error() -> PyErr {
    StoreError::invalid_argument("the store is closed").into()
}

fn touch_outcome(outcome: TouchOutcome) -> &'static str {
    match outcome {
        TouchOutcome::Updated => "updated",
        TouchOutcome::Throttled => "throttled",
        TouchOutcome::NotFound => "not_found",
    }
}

fn set_options(
    if_absent: bool,
    if_present: bool,
    attributes: Option<&Bound<'_, PyAny>>,
) -> PyResult<SetOptions> {
    let condition = match (if_absent, if_present) {
        (false, false) => WriteCondition::Always,
        (true, false) => WriteCondition::IfAbsent,
        (false, true) => WriteCondition::IfPresent,
        (true, true) => {
            return Err(StoreError::invalid_argument(
                "`if_absent` and `if_present` exclude each other",
            )
            .into());
        }
    };
    Ok(SetOptions {
        condition,
        attributes: convert::attributes(attributes)?,
    })
}

impl Shared {
    fn open(py: Python<'_>, options: &Options<'_>) -> PyResult<Self> {
        let config = options.config()?;
        let shared = Shared {
            config,
            create_table: options.create_table,
            state: Mutex::new(State {
                closed: false,
                current: None,
            }),
        };
        // Builds the client now, so a missing region fails here.
        shared.call(py)?;
        if let Some(interval) = shared.config.reap_interval() {
            shared.start_reaper(py, Some(interval))?;
        }
        Ok(shared)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current process's store, built on first use in each process.
    fn call(&self, py: Python<'_>) -> PyResult<Call> {
        let process = process_id();
        {
            let mut state = self.lock();
            if state.closed {
                return Err(closed_error());
            }
            if let Some(current) = &state.current
                && current.process == process
            {
                return Ok(current.call());
            }
            if let Some(stale) = state.current.take() {
                // Built before a fork: see `Drop for Shared`.
                std::mem::forget(stale);
            }
        }
        let fresh = self.connect(py, process)?;
        let mut state = self.lock();
        if state.closed {
            return Err(closed_error());
        }
        if let Some(current) = &state.current
            && current.process == process
        {
            // Another thread was quicker; `fresh` is dropped in the process that built it.
            return Ok(current.call());
        }
        let call = fresh.call();
        state.current = Some(fresh);
        Ok(call)
    }

    fn connect(&self, py: Python<'_>, process: ProcessId) -> PyResult<ProcessStore> {
        let handle = runtime::handle()?;
        let store = wait(py, &handle, CoreStore::connect(self.config.clone()))?
            .map_err(StoreError::from)?;
        Ok(ProcessStore {
            process,
            handle,
            store,
            reaper: None,
            table_ready: self.create_table.then(|| Arc::new(OnceCell::new())),
        })
    }

    /// Runs `op` on the runtime and blocks the calling thread, without the GIL, until it ends.
    fn block<T, F, Fut>(&self, py: Python<'_>, op: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(CoreStore) -> Fut + Send,
        Fut: Future<Output = CoreResult<T>> + Send,
    {
        let call = self.call(py)?;
        let handle = call.handle.clone();
        wait(py, &handle, call.run(op))?.map_err(|err| err.into_pyerr(py))
    }

    /// Runs `op` on the runtime and returns an asyncio awaitable of its outcome.
    fn spawn<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(CoreStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static,
    {
        let call = self.call(py)?;
        awaitable(py, call.run(op))
    }

    fn interval(&self, interval: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
        interval
            .filter(|v| !v.is_none())
            .map(|v| convert::argument_duration("`interval`", v))
            .transpose()
    }

    fn start_reaper(&self, py: Python<'_>, interval: Option<Duration>) -> PyResult<()> {
        let Some(interval) = interval.or(self.config.reap_interval()) else {
            return Err(StoreError::invalid_argument(
                "no reaper interval: pass one, or set `reap_interval`",
            )
            .into());
        };
        let call = self.call(py)?;
        let started = {
            let _runtime = call.handle.enter();
            call.store.start_reaper(interval)
        };
        let reaper = started.map_err(StoreError::from)?;
        let mut state = self.lock();
        match state.current.as_mut() {
            Some(current) if current.process == process_id() => {
                // A running reaper is replaced; dropping its handle stops it.
                current.reaper = Some(reaper);
            }
            _ => drop(reaper),
        }
        Ok(())
    }

    /// Takes the running reaper of this process, if any, with its runtime.
    fn take_reaper(&self) -> Option<(Handle, ReaperHandle)> {
        let mut state = self.lock();
        let current = state.current.as_mut()?;
        if current.process != process_id() {
            return None;
        }
        let reaper = current.reaper.take()?;
        Some((current.handle.clone(), reaper))
    }

    fn reaper_running(&self) -> bool {
        let state = self.lock();
        state.current.as_ref().is_some_and(|current| {
            current.process == process_id()
                && current.reaper.as_ref().is_some_and(|r| !r.is_finished())
        })
    }

    /// Marks the store closed and takes this process's store, to be dropped by the caller
    /// after its reaper stopped.
    fn take_for_close(&self) -> Option<ProcessStore> {
        let mut state = self.lock();
        state.closed = true;
        let current = state.current.take()?;
        if current.process == process_id() {
            Some(current)
        } else {
            std::mem::forget(current);
            None
        }
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn repr(&self, class: &str) -> String {
        format!(
            "{class}(table={:?}, prefix={:?}{})",
            self.config.table(),
            self.config.prefix(),
            if self.is_closed() { ", closed" } else { "" }
        )
    }
}

/// A session store on one DynamoDB table, for threads: every call blocks the calling thread
/// (without holding the GIL) until DynamoDB answers. Safe to share between threads, and
/// usable in a child process after `os.fork()`.
#[pyclass(
    frozen,
    subclass,
    weakref,
    module = "connect_dynamodb",
    name = "SessionStore"
)]
pub(crate) struct PySessionStore {
    shared: Shared,
}

impl std::fmt::Debug for PySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shared.repr("SessionStore"))
    }
}

#[pymethods]
impl PySessionStore {
    #[new]
    #[pyo3(signature = (
        table = "sessions", *, prefix = "sess:", hash_key = "id", region = None, endpoint = None,
        credentials = None, consistent_read = true, default_lifetime = None, touch_after = None,
        reap_interval = None, billing = None, create_table = false, create_wait = None,
        connect_timeout = None, attempt_timeout = None, operation_timeout = None,
        max_attempts = None, scan_segments = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        py: Python<'py>,
        table: &str,
        prefix: &str,
        hash_key: &str,
        region: Option<String>,
        endpoint: Option<String>,
        credentials: Option<Bound<'py, PyCredentials>>,
        consistent_read: bool,
        default_lifetime: Option<Bound<'py, PyAny>>,
        touch_after: Option<Bound<'py, PyAny>>,
        reap_interval: Option<Bound<'py, PyAny>>,
        billing: Option<Bound<'py, PyAny>>,
        create_table: bool,
        create_wait: Option<Bound<'py, PyAny>>,
        connect_timeout: Option<Bound<'py, PyAny>>,
        attempt_timeout: Option<Bound<'py, PyAny>>,
        operation_timeout: Option<Bound<'py, PyAny>>,
        max_attempts: Option<Bound<'py, PyAny>>,
        scan_segments: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let options = Options {
            table: table.to_owned(),
            prefix: prefix.to_owned(),
            hash_key: hash_key.to_owned(),
            region,
            endpoint,
            credentials,
            consistent_read,
            default_lifetime,
            touch_after,
            reap_interval,
            billing,
            create_table,
            create_wait,
            connect_timeout,
            attempt_timeout,
            operation_timeout,
            max_attempts,
            scan_segments,
        };
        guard(|| {
            Ok(PySessionStore {
                shared: Shared::open(py, &options)?,
            })
        })
    }

    /// The session `sid`, or None when it is missing, expired or unreadable.
    fn get(&self, py: Python<'_>, sid: Sid) -> PyResult<Option<StoredSession>> {
        guard(|| {
            self.shared.block(py, move |s| async move {
                Ok(s.get(&sid.0).await?.map(StoredSession::from))
            })
        })
    }

    /// Stores `data` (JSON text) under `sid` until `expires` (a datetime or epoch seconds;
    /// None: now plus `default_lifetime`). `if_absent` / `if_present` make the write
    /// conditional (ConflictError when the condition fails); `attributes` are written beside
    /// the session.
    #[pyo3(signature = (sid, data, expires = None, *, if_absent = false, if_present = false, attributes = None))]
    #[allow(clippy::too_many_arguments)]
    fn set(
        &self,
        py: Python<'_>,
        sid: Sid,
        data: SessionText,
        expires: Option<&Bound<'_, PyAny>>,
        if_absent: bool,
        if_present: bool,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        guard(|| {
            let expires = convert::expiry(expires)?;
            let options = set_options(if_absent, if_present, attributes)?;
            self.shared.block(py, move |s| async move {
                s.set_with(&sid.0, &data.0, expires, options).await
            })
        })
    }

    /// Moves the expiry of a live session: "updated", "throttled" or "not_found".
    #[pyo3(signature = (sid, expires = None))]
    fn touch(
        &self,
        py: Python<'_>,
        sid: Sid,
        expires: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<&'static str> {
        guard(|| {
            let expires = convert::expiry(expires)?;
            self.shared.block(py, move |s| async move {
                s.touch(&sid.0, expires)
                    .await
                    .map(|t| touch_outcome(t.outcome))
            })
        })
    }

    /// Deletes the session `sid`; deleting a missing session is not an error.
    fn destroy(&self, py: Python<'_>, sid: Sid) -> PyResult<()> {
        guard(|| {
            self.shared
                .block(py, move |s| async move { s.destroy(&sid.0).await })
        })
    }

    /// The ids of all live sessions of this store's prefix.
    fn ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(|| self.shared.block(py, |s| async move { s.ids().await }))
    }

    /// All live sessions of this store's prefix, by id.
    fn all(&self, py: Python<'_>) -> PyResult<Entries> {
        guard(|| {
            self.shared
                .block(py, |s| async move { all(&s).await.map(Entries) })
        })
    }

    /// The number of live sessions of this store's prefix.
    fn length(&self, py: Python<'_>) -> PyResult<u64> {
        guard(|| self.shared.block(py, |s| async move { s.length().await }))
    }

    /// Deletes every item of this store's prefix, live or expired.
    fn clear(&self, py: Python<'_>) -> PyResult<ReapReport> {
        guard(|| {
            self.shared
                .block(py, |s| async move { s.clear().await.map(ReapReport::from) })
        })
    }

    /// One reaper pass: deletes the expired sessions of this store's prefix.
    fn reap(&self, py: Python<'_>) -> PyResult<ReapReport> {
        guard(|| {
            self.shared
                .block(py, |s| async move { s.reap().await.map(ReapReport::from) })
        })
    }

    /// Whether the table exists.
    fn table_exists(&self, py: Python<'_>) -> PyResult<bool> {
        guard(|| {
            self.shared
                .block(py, |s| async move { s.table_exists().await })
        })
    }

    /// Creates the table (and its TTL) unless it exists; True when it was created now.
    fn create_table(&self, py: Python<'_>) -> PyResult<bool> {
        guard(|| {
            let call = self.shared.call(py)?;
            wait(py, &call.handle, call.store.create_table())?
                .map(|setup| setup.created)
                .map_err(|err| StoreError::from(err).into_pyerr(py))
        })
    }

    /// What is wrong with the table for this store; an empty list when nothing is.
    fn verify_table(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(|| {
            self.shared.block(py, |s| async move {
                let report = s.verify_table().await?;
                Ok(report.problems.iter().map(ToString::to_string).collect())
            })
        })
    }

    /// Starts the background reaper every `interval` (seconds or timedelta; default
    /// `reap_interval`), replacing a running one. It runs in this process only.
    #[pyo3(signature = (interval = None))]
    fn start_reaper(&self, py: Python<'_>, interval: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        guard(|| {
            let interval = self.shared.interval(interval)?;
            self.shared.start_reaper(py, interval)
        })
    }

    /// Stops the background reaper, if one runs, and waits until it has stopped.
    fn stop_reaper(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            if let Some((handle, reaper)) = self.shared.take_reaper() {
                wait(py, &handle, reaper.stop())?;
            }
            Ok(())
        })
    }

    /// Stops the reaper and releases the client; later calls raise InvalidArgumentError.
    /// Closing twice is harmless.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            if let Some(mut current) = self.shared.take_for_close() {
                let handle = current.handle.clone();
                let reaper = current.reaper.take();
                drop(current);
                if let Some(reaper) = reaper {
                    wait(py, &handle, reaper.stop())?;
                }
            }
            Ok(())
        })
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Whether a background reaper runs in this process.
    #[getter]
    fn reaper_running(&self) -> bool {
        self.shared.reaper_running()
    }

    /// The table name.
    #[getter]
    fn table(&self) -> &str {
        self.shared.config.table()
    }

    /// The key prefix.
    #[getter]
    fn prefix(&self) -> &str {
        self.shared.config.prefix()
    }

    /// The hash key attribute.
    #[getter]
    fn hash_key(&self) -> &str {
        self.shared.config.hash_key()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        self.shared.repr("SessionStore")
    }
}

async fn all(store: &CoreStore) -> CoreResult<Vec<(String, StoredSession)>> {
    Ok(store
        .all()
        .await?
        .into_iter()
        .map(|(id, record)| (id, StoredSession::from(record)))
        .collect())
}

/// A session store on one DynamoDB table, for asyncio: every method but `close` returns an
/// awaitable (an asyncio future, started at once). The package's `AsyncSessionStore`
/// subclasses it with coroutine methods. Safe to share between threads and event loops, and
/// usable in a child process after `os.fork()`.
#[pyclass(
    frozen,
    subclass,
    weakref,
    module = "connect_dynamodb._native",
    name = "AsyncSessionStore"
)]
pub(crate) struct PyAsyncSessionStore {
    shared: Shared,
}

impl std::fmt::Debug for PyAsyncSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shared.repr("AsyncSessionStore"))
    }
}

/// A dict of `all`'s entries, built when the awaitable completes.
struct Entries(Vec<(String, StoredSession)>);

impl<'py> IntoPyObject<'py> for Entries {
    type Target = pyo3::types::PyDict;
    type Output = Bound<'py, pyo3::types::PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let dict = pyo3::types::PyDict::new(py);
        for (id, session) in self.0 {
            dict.set_item(id, session)?;
        }
        Ok(dict)
    }
}

#[pymethods]
impl PyAsyncSessionStore {
    #[new]
    #[pyo3(signature = (
        table = "sessions", *, prefix = "sess:", hash_key = "id", region = None, endpoint = None,
        credentials = None, consistent_read = true, default_lifetime = None, touch_after = None,
        reap_interval = None, billing = None, create_table = false, create_wait = None,
        connect_timeout = None, attempt_timeout = None, operation_timeout = None,
        max_attempts = None, scan_segments = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        py: Python<'py>,
        table: &str,
        prefix: &str,
        hash_key: &str,
        region: Option<String>,
        endpoint: Option<String>,
        credentials: Option<Bound<'py, PyCredentials>>,
        consistent_read: bool,
        default_lifetime: Option<Bound<'py, PyAny>>,
        touch_after: Option<Bound<'py, PyAny>>,
        reap_interval: Option<Bound<'py, PyAny>>,
        billing: Option<Bound<'py, PyAny>>,
        create_table: bool,
        create_wait: Option<Bound<'py, PyAny>>,
        connect_timeout: Option<Bound<'py, PyAny>>,
        attempt_timeout: Option<Bound<'py, PyAny>>,
        operation_timeout: Option<Bound<'py, PyAny>>,
        max_attempts: Option<Bound<'py, PyAny>>,
        scan_segments: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let options = Options {
            table: table.to_owned(),
            prefix: prefix.to_owned(),
            hash_key: hash_key.to_owned(),
            region,
            endpoint,
            credentials,
            consistent_read,
            default_lifetime,
            touch_after,
            reap_interval,
            billing,
            create_table,
            create_wait,
            connect_timeout,
            attempt_timeout,
            operation_timeout,
            max_attempts,
            scan_segments,
        };
        guard(|| {
            Ok(PyAsyncSessionStore {
                shared: Shared::open(py, &options)?,
            })
        })
    }

    /// The session `sid`, or None when it is missing, expired or unreadable.
    fn get<'py>(&self, py: Python<'py>, sid: Sid) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared.spawn(py, move |s| async move {
                Ok(s.get(&sid.0).await?.map(StoredSession::from))
            })
        })
    }

    /// Stores `data` (JSON text) under `sid` until `expires`; see `SessionStore.set`.
    #[pyo3(signature = (sid, data, expires = None, *, if_absent = false, if_present = false, attributes = None))]
    #[allow(clippy::too_many_arguments)]
    fn set<'py>(
        &self,
        py: Python<'py>,
        sid: Sid,
        data: SessionText,
        expires: Option<&Bound<'_, PyAny>>,
        if_absent: bool,
        if_present: bool,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let expires = convert::expiry(expires)?;
            let options = set_options(if_absent, if_present, attributes)?;
            self.shared.spawn(py, move |s| async move {
                s.set_with(&sid.0, &data.0, expires, options)
                    .await
                    .map(|()| Nothing)
            })
        })
    }

    /// Moves the expiry of a live session: "updated", "throttled" or "not_found".
    #[pyo3(signature = (sid, expires = None))]
    fn touch<'py>(
        &self,
        py: Python<'py>,
        sid: Sid,
        expires: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let expires = convert::expiry(expires)?;
            self.shared.spawn(py, move |s| async move {
                s.touch(&sid.0, expires)
                    .await
                    .map(|t| touch_outcome(t.outcome))
            })
        })
    }

    /// Deletes the session `sid`; deleting a missing session is not an error.
    fn destroy<'py>(&self, py: Python<'py>, sid: Sid) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared.spawn(py, move |s| async move {
                s.destroy(&sid.0).await.map(|()| Nothing)
            })
        })
    }

    /// The ids of all live sessions of this store's prefix.
    fn ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| self.shared.spawn(py, |s| async move { s.ids().await }))
    }

    /// All live sessions of this store's prefix, by id.
    fn all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared
                .spawn(py, |s| async move { all(&s).await.map(Entries) })
        })
    }

    /// The number of live sessions of this store's prefix.
    fn length<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| self.shared.spawn(py, |s| async move { s.length().await }))
    }

    /// Deletes every item of this store's prefix, live or expired.
    fn clear<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared
                .spawn(py, |s| async move { s.clear().await.map(ReapReport::from) })
        })
    }

    /// One reaper pass: deletes the expired sessions of this store's prefix.
    fn reap<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared
                .spawn(py, |s| async move { s.reap().await.map(ReapReport::from) })
        })
    }

    /// Whether the table exists.
    fn table_exists<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared
                .spawn(py, |s| async move { s.table_exists().await })
        })
    }

    /// Creates the table (and its TTL) unless it exists; True when it was created now.
    fn create_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let call = self.shared.call(py)?;
            awaitable(py, async move {
                let setup = call.store.create_table().await?;
                Ok(setup.created)
            })
        })
    }

    /// What is wrong with the table for this store; an empty list when nothing is.
    fn verify_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.shared.spawn(py, |s| async move {
                let report = s.verify_table().await?;
                Ok(report
                    .problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>())
            })
        })
    }

    /// Starts the background reaper every `interval` (seconds or timedelta; default
    /// `reap_interval`), replacing a running one. It runs in this process only.
    #[pyo3(signature = (interval = None))]
    fn start_reaper<'py>(
        &self,
        py: Python<'py>,
        interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let interval = self.shared.interval(interval)?;
            let started = self.shared.start_reaper(py, interval);
            ready(py, started.map(|()| Nothing))
        })
    }

    /// Stops the background reaper, if one runs, and waits until it has stopped.
    fn stop_reaper<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let reaper = self.shared.take_reaper().map(|(_, reaper)| reaper);
            stop(py, reaper)
        })
    }

    /// Stops the reaper and releases the client; later calls raise InvalidArgumentError.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let reaper = self
                .shared
                .take_for_close()
                .and_then(|mut current| current.reaper.take());
            stop(py, reaper)
        })
    }

    /// Closes the store without waiting for the reaper to stop (`aclose` waits).
    fn close(&self) -> PyResult<()> {
        guard(|| {
            // Dropping the store and its reaper handle aborts the reaper task.
            drop(self.shared.take_for_close());
            Ok(())
        })
    }

    /// Whether `close` or `aclose` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Whether a background reaper runs in this process.
    #[getter]
    fn reaper_running(&self) -> bool {
        self.shared.reaper_running()
    }

    /// The table name.
    #[getter]
    fn table(&self) -> &str {
        self.shared.config.table()
    }

    /// The key prefix.
    #[getter]
    fn prefix(&self) -> &str {
        self.shared.config.prefix()
    }

    /// The hash key attribute.
    #[getter]
    fn hash_key(&self) -> &str {
        self.shared.config.hash_key()
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.unbind();
        ready(py, Ok(this))
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.aclose(py)
    }

    fn __repr__(&self) -> String {
        self.shared.repr("AsyncSessionStore")
    }
}

/// How often a blocking call takes the GIL back to run Python's signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `future` on the runtime, blocking the calling thread without the GIL until it ends.
///
/// Every [`SIGNAL_CHECK`] the thread takes the GIL back to run the signal handlers, so Ctrl-C
/// (or any handler that raises) interrupts the call: the handler's exception is raised and
/// the future is dropped, which abandons the request.
fn wait<T, Fut>(py: Python<'_>, handle: &Handle, future: Fut) -> PyResult<T>
where
    T: Send,
    Fut: Future<Output = T> + Send,
{
    let mut future = std::pin::pin!(future);
    loop {
        let step = py.detach(|| {
            // The timer is made inside the runtime: it needs the runtime's time driver.
            handle.block_on(async { tokio::time::timeout(SIGNAL_CHECK, future.as_mut()).await })
        });
        match step {
            Ok(value) => return Ok(value),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// An asyncio awaitable of `future`'s outcome; a panic in it becomes `InternalError`.
pub(crate) fn awaitable<T, Fut>(py: Python<'_>, future: Fut) -> PyResult<Bound<'_, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, Answer<T>>(py, async move {
        let outcome = AssertUnwindSafe(future).catch_unwind().await;
        Ok(Answer(
            outcome.unwrap_or_else(|_| Err(StoreError::panicked())),
        ))
    })
}

/// An awaitable that is already done.
fn ready<'py, T>(py: Python<'py>, value: PyResult<T>) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let value = value?;
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, T>(
        py,
        async move { Ok(value) },
    )
}

/// An awaitable that stops `reaper` (when there is one).
fn stop(py: Python<'_>, reaper: Option<ReaperHandle>) -> PyResult<Bound<'_, PyAny>> {
    runtime::handle()?;
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, Nothing>(py, async move {
        if let Some(reaper) = reaper {
            reaper.stop().await;
        }
        Ok(Nothing)
    })
}
