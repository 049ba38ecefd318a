//! The value classes: `StoredSession`, `UserSession`, `TouchResult`, `ReapReport`,
//! `ReencryptReport`, `Credentials`, and the testing clock `ManualClock`.

use std::time::{Duration, SystemTime};

use connect_dynamodb_core::{
    ManualClock as CoreManualClock, ReapReport as CoreReapReport, Reencrypted, Saved,
    SessionRecord, SetOutcome, TouchOutcome, Touched, UserSession as CoreUserSession,
};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::convert;
use crate::error::{StoreError, guard};

/// A stored session: its JSON text, when it expires, when it was created (when the item
/// records it: with `absolute_timeout` or `user_field` set), and the version `get` read (with
/// `merge` on).
///
/// Immutable. Its `repr`, like the core record's `Debug`, shows the size of the data, never the
/// data.
#[pyclass(frozen, eq, module = "connect_dynamodb", name = "StoredSession")]
#[derive(Debug, PartialEq)]
pub(crate) struct StoredSession(SessionRecord);

impl From<SessionRecord> for StoredSession {
    fn from(record: SessionRecord) -> Self {
        StoredSession(record)
    }
}

/// An optional time as Python has it: an aware UTC `datetime`, or None.
fn optional_datetime(py: Python<'_>, at: Option<SystemTime>) -> PyResult<Option<Bound<'_, PyAny>>> {
    at.map(|at| convert::utc_datetime(py, at)).transpose()
}

/// The `isoformat()` of an optional time, or `None`, for a `repr`.
fn iso(at: Option<Bound<'_, PyAny>>) -> PyResult<String> {
    match at {
        Some(at) => Ok(at.call_method0("isoformat")?.str()?.to_cow()?.into_owned()),
        None => Ok("None".to_owned()),
    }
}

#[pymethods]
impl StoredSession {
    /// A stored session of `data` (JSON text) expiring at `expires`, created at `created`
    /// (datetimes or epoch seconds; `created` may be None) and read at `version` (or None).
    #[new]
    #[pyo3(signature = (data, expires, created = None, version = None))]
    fn new(
        data: String,
        expires: &Bound<'_, PyAny>,
        created: Option<&Bound<'_, PyAny>>,
        version: Option<u64>,
    ) -> PyResult<Self> {
        guard(|| {
            Ok(StoredSession(SessionRecord {
                session: data,
                expires_at: convert::required_expiry(expires)?,
                created_at: convert::expiry(created)?,
                version,
            }))
        })
    }

    /// The session as JSON text, exactly as it was stored.
    #[getter]
    fn data(&self) -> &str {
        &self.0.session
    }

    /// When the session expires: an aware `datetime` in UTC.
    #[getter]
    fn expires<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::utc_datetime(py, self.0.expires_at)
    }

    /// When the session was created, an aware UTC `datetime`; None when the item does not
    /// record it (written without `absolute_timeout` and `user_field`, or by another writer).
    #[getter]
    fn created<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime(py, self.0.created_at)
    }

    /// With `merge` on, the version `get` read (0 for an item written without versions, as
    /// connect-dynamodb 3.x writes); None with `merge` off. A request that saves the session
    /// passes it as `set(..., loaded=...)`, so that the store merges a concurrent change
    /// against exactly what this request loaded.
    #[getter]
    fn version(&self) -> Option<u64> {
        self.0.version
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let version = match self.0.version {
            Some(v) => format!(", version={v}"),
            None => String::new(),
        };
        Ok(format!(
            "StoredSession(<{} bytes of data>, expires={}, created={}{version})",
            self.0.session.len(),
            iso(Some(self.expires(py)?))?,
            iso(self.created(py)?)?
        ))
    }

    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, (String, f64, Option<f64>, Option<u64>))> {
        let this = slf.get();
        let secs = connect_dynamodb_core::expiry::epoch_secs(this.0.expires_at);
        let created = this
            .0
            .created_at
            .map(connect_dynamodb_core::expiry::epoch_secs);
        Ok((
            slf.get_type(),
            (this.0.session.clone(), secs, created, this.0.version),
        ))
    }
}

/// One of a user's sessions, as `user_sessions` lists it: its id, when it expires and when it
/// was created.
///
/// Immutable. Its `repr`, like the core's `Debug`, never shows the id: a session id is a
/// bearer credential, and a repr ends up in logs.
#[pyclass(frozen, eq, module = "connect_dynamodb", name = "UserSession")]
#[derive(Debug, PartialEq)]
pub(crate) struct UserSession(CoreUserSession);

impl From<CoreUserSession> for UserSession {
    fn from(session: CoreUserSession) -> Self {
        UserSession(session)
    }
}

#[pymethods]
impl UserSession {
    /// A user's session `id` expiring at `expires`, created at `created` (datetimes or epoch
    /// seconds; `created` may be None).
    #[new]
    #[pyo3(signature = (id, expires, created = None))]
    fn new(
        id: String,
        expires: &Bound<'_, PyAny>,
        created: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(|| {
            Ok(UserSession(CoreUserSession {
                id,
                expires_at: convert::required_expiry(expires)?,
                created_at: convert::expiry(created)?,
            }))
        })
    }

    /// The session id (without the store's prefix): what `get` and `destroy` take; with
    /// `id_hash_key`, its hash, which they do not take.
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// When the session expires: an aware `datetime` in UTC.
    #[getter]
    fn expires<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::utc_datetime(py, self.0.expires_at)
    }

    /// When the session was created, an aware UTC `datetime`; None when the item does not
    /// record it.
    #[getter]
    fn created<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime(py, self.0.created_at)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "UserSession(id=<redacted>, expires={}, created={})",
            iso(Some(self.expires(py)?))?,
            iso(self.created(py)?)?
        ))
    }

    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, (String, f64, Option<f64>))> {
        let this = slf.get();
        let secs = connect_dynamodb_core::expiry::epoch_secs(this.0.expires_at);
        let created = this
            .0
            .created_at
            .map(connect_dynamodb_core::expiry::epoch_secs);
        Ok((slf.get_type(), (this.0.id.clone(), secs, created)))
    }
}

/// What `touch_result` did: `outcome` ("updated", "throttled" or "not_found", as `touch`
/// returns it) and `expires`, the expiry the store holds afterwards (None when not found).
#[pyclass(frozen, eq, module = "connect_dynamodb", name = "TouchResult")]
#[derive(Debug, PartialEq)]
pub(crate) struct TouchResult {
    outcome: TouchOutcome,
    expires_at: Option<SystemTime>,
}

/// The token `touch` returns for an outcome.
pub(crate) fn outcome_str(outcome: TouchOutcome) -> &'static str {
    match outcome {
        TouchOutcome::Updated => "updated",
        TouchOutcome::Throttled => "throttled",
        TouchOutcome::NotFound => "not_found",
    }
}

impl From<Touched> for TouchResult {
    fn from(touched: Touched) -> Self {
        TouchResult {
            outcome: touched.outcome,
            expires_at: touched.expires_at,
        }
    }
}

#[pymethods]
impl TouchResult {
    /// "updated", "throttled" or "not_found".
    #[getter]
    fn outcome(&self) -> &'static str {
        outcome_str(self.outcome)
    }

    /// The stored expiry after the touch, an aware UTC `datetime`; None when not found.
    #[getter]
    fn expires<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime(py, self.expires_at)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TouchResult(outcome={:?}, expires={})",
            self.outcome(),
            iso(self.expires(py)?)?
        ))
    }
}

/// What `save` did: `outcome` ("written" or "ended", as `set` returns it) and `version`, the
/// version written (with `merge` on and the session written; otherwise None): the `loaded` of
/// a further save of the same session by the same request.
#[pyclass(frozen, eq, module = "connect_dynamodb", name = "SaveResult")]
#[derive(Debug, PartialEq)]
pub(crate) struct SaveResult(Saved);

/// The token `set` returns for an outcome.
pub(crate) fn set_outcome_str(outcome: SetOutcome) -> &'static str {
    match outcome {
        SetOutcome::Written => "written",
        SetOutcome::Ended => "ended",
    }
}

impl From<Saved> for SaveResult {
    fn from(saved: Saved) -> Self {
        SaveResult(saved)
    }
}

#[pymethods]
impl SaveResult {
    /// "written", or "ended" when the session has ended and nothing was written.
    #[getter]
    fn outcome(&self) -> &'static str {
        set_outcome_str(self.0.outcome)
    }

    /// The version written (with `merge` on and the session written), else None.
    #[getter]
    fn version(&self) -> Option<u64> {
        self.0.version
    }

    fn __repr__(&self) -> String {
        let version = self.0.version.map_or("None".to_owned(), |v| v.to_string());
        format!(
            "SaveResult(outcome={:?}, version={version})",
            self.outcome()
        )
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

/// What `reencrypt` did: items scanned, live sessions rewritten under the first encryption
/// key, and live sessions left as they were because they cannot be read (a key the store
/// lacks, a newer format, damaged).
#[pyclass(
    frozen,
    eq,
    get_all,
    module = "connect_dynamodb",
    name = "ReencryptReport"
)]
#[derive(Debug, PartialEq)]
pub(crate) struct ReencryptReport {
    /// Items DynamoDB scanned.
    scanned: u64,
    /// Live sessions rewritten under the first key.
    rewritten: u64,
    /// Live sessions that could not be read, left as they were.
    unreadable: u64,
}

impl From<Reencrypted> for ReencryptReport {
    fn from(report: Reencrypted) -> Self {
        ReencryptReport {
            scanned: report.scanned,
            rewritten: report.rewritten,
            unreadable: report.unreadable,
        }
    }
}

#[pymethods]
impl ReencryptReport {
    #[new]
    fn new(scanned: u64, rewritten: u64, unreadable: u64) -> Self {
        ReencryptReport {
            scanned,
            rewritten,
            unreadable,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "ReencryptReport(scanned={}, rewritten={}, unreadable={})",
            self.scanned, self.rewritten, self.unreadable
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (u64, u64, u64)) {
        let this = slf.get();
        (
            slf.get_type(),
            (this.scanned, this.rewritten, this.unreadable),
        )
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

impl PyCredentials {
    /// The core's credentials.
    pub(crate) fn core(&self) -> connect_dynamodb_core::Credentials {
        connect_dynamodb_core::Credentials::new(
            self.access_key_id.as_str(),
            self.secret_access_key.as_str(),
            self.session_token.clone(),
        )
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

/// A clock that moves only when told to, for tests of expiry and touch throttling: pass it as
/// a store's `clock=` and every expiry decision of that store reads it. Stores given the same
/// clock share its time.
#[pyclass(frozen, module = "connect_dynamodb.testing", name = "ManualClock")]
#[derive(Debug)]
pub(crate) struct PyManualClock {
    pub(crate) clock: CoreManualClock,
}

#[pymethods]
impl PyManualClock {
    /// A clock standing at `start` (a datetime or epoch seconds; default: the current time).
    #[new]
    #[pyo3(signature = (start = None))]
    fn new(start: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        guard(|| {
            let clock = match start.filter(|s| !s.is_none()) {
                Some(start) => CoreManualClock::new(convert::required_expiry(start)?)
                    .map_err(StoreError::from)?,
                None => CoreManualClock::starting_now(),
            };
            Ok(PyManualClock { clock })
        })
    }

    /// The clock's current time, an aware UTC `datetime`.
    fn now<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use connect_dynamodb_core::Clock;
        convert::utc_datetime(py, self.clock.now())
    }

    /// Moves the clock forward by `by` (seconds or a timedelta, not negative).
    fn advance(&self, by: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let by: Duration = convert::argument_duration("`by`", by)?;
            Ok(self.clock.advance(by).map_err(StoreError::from)?)
        })
    }

    /// Sets the clock to `to` (a datetime or epoch seconds).
    fn set(&self, to: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            Ok(self
                .clock
                .set(convert::required_expiry(to)?)
                .map_err(StoreError::from)?)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let now = self.now(py)?.call_method0("isoformat")?;
        Ok(format!("ManualClock({})", now.str()?.to_cow()?))
    }
}
