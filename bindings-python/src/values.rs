//! The value classes: `StoredSession`, `TouchResult`, `ReapReport`, `Credentials`, and the
//! testing clock `ManualClock`.

use std::time::{Duration, SystemTime};

use connect_dynamodb_core::{
    ManualClock as CoreManualClock, ReapReport as CoreReapReport, SessionRecord, TouchOutcome,
    Touched,
};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::convert;
use crate::error::{StoreError, guard};

/// A stored session: its JSON text and when it expires.
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

#[pymethods]
impl StoredSession {
    /// A stored session of `data` (JSON text) expiring at `expires` (a datetime or epoch
    /// seconds).
    #[new]
    fn new(data: String, expires: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard(|| {
            Ok(StoredSession(SessionRecord {
                session: data,
                expires_at: convert::required_expiry(expires)?,
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let expires = self.expires(py)?.call_method0("isoformat")?;
        Ok(format!(
            "StoredSession(<{} bytes of data>, expires={})",
            self.0.session.len(),
            expires.str()?.to_cow()?
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, (String, f64))> {
        let this = slf.get();
        let secs = connect_dynamodb_core::expiry::epoch_secs(this.0.expires_at);
        Ok((slf.get_type(), (this.0.session.clone(), secs)))
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
        self.expires_at
            .map(|at| convert::utc_datetime(py, at))
            .transpose()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let expires = match self.expires(py)? {
            Some(at) => at.call_method0("isoformat")?.str()?.to_cow()?.into_owned(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "TouchResult(outcome={:?}, expires={expires})",
            self.outcome()
        ))
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
