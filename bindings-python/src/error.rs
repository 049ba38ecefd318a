//! Errors: the core's errors, and this module's own, raised as the Python exceptions of
//! `connect_dynamodb.exceptions`, looked up by the core's kind token.

use std::panic::{AssertUnwindSafe, catch_unwind};

use connect_dynamodb_core::{ConfigField, ErrorKind};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use pyo3::{IntoPyObject, IntoPyObjectExt};

use crate::options::option_name;

/// A failure on its way to Python: the kind token, whether a retry may succeed, and a message
/// that never holds a session id, a secret or a credential.
#[derive(Debug)]
pub(crate) struct StoreError {
    code: &'static str,
    retryable: bool,
    message: String,
}

impl StoreError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            code: kind.as_str(),
            retryable: kind.retryable_by_default(),
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        StoreError::new(ErrorKind::Internal, message)
    }

    /// A panic caught at the boundary.
    pub(crate) fn panicked() -> Self {
        StoreError::internal(
            "connect-dynamodb hit an internal error (a Rust panic); please report it",
        )
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        StoreError::new(ErrorKind::InvalidArgument, message)
    }

    /// An invalid constructor option: the message names the Python option of `field`.
    pub(crate) fn invalid_config(field: ConfigField, problem: &str) -> Self {
        StoreError::new(
            ErrorKind::InvalidConfig,
            format!("invalid option `{}`: {problem}", option_name(field)),
        )
    }

    /// The Python exception: an instance of the class `connect_dynamodb.exceptions` has for
    /// the code.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self.instantiate(py) {
            Ok(exception) => PyErr::from_value(exception),
            Err(err) => err,
        }
    }

    fn instantiate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
        let by_code = BY_CODE.import(py, "connect_dynamodb.exceptions", "_BY_CODE")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("retryable", self.retryable)?;
        let class = match by_code.get_item(self.code)? {
            Some(class) => class,
            None => {
                // A kind this package does not know: the base class, with the token.
                kwargs.set_item("code", self.code)?;
                py.import("connect_dynamodb.exceptions")?
                    .getattr("SessionStoreError")?
            }
        };
        class.call((PyString::new(py, &self.message),), Some(&kwargs))
    }
}

impl From<connect_dynamodb_core::Error> for StoreError {
    fn from(err: connect_dynamodb_core::Error) -> Self {
        if let (Some(field), Some(problem)) = (err.config_field(), err.config_problem()) {
            return StoreError::invalid_config(field, problem);
        }
        StoreError {
            code: err.code(),
            retryable: err.is_retryable(),
            message: err.message().to_owned(),
        }
    }
}

impl From<StoreError> for PyErr {
    fn from(err: StoreError) -> Self {
        Python::attach(|py| err.into_pyerr(py))
    }
}

/// The outcome of an asyncio call, turned into its value or its exception on the event loop's
/// thread when it completes the asyncio future (`runtime::awaitable`), so that no Tokio thread
/// has to take the GIL to build an exception.
#[derive(Debug)]
pub(crate) struct Answer<T>(pub(crate) Result<T, StoreError>);

impl<'py, T> IntoPyObject<'py> for Answer<T>
where
    T: IntoPyObject<'py>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(value) => value.into_bound_py_any(py),
            Err(err) => Err(err.into_pyerr(py)),
        }
    }
}

/// The value of an awaitable that has none: Python's `None` (a Rust `()` would become an
/// empty tuple).
#[derive(Debug)]
pub(crate) struct Nothing;

impl<'py> IntoPyObject<'py> for Nothing {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Self::Error> {
        Ok(py.None().into_bound(py))
    }
}

/// Runs the body of a method called from Python, turning a panic into `InternalError`
/// (pyo3 would raise `PanicException`, a `BaseException` that `except Exception` misses).
pub(crate) fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(_) => Err(StoreError::panicked().into()),
    }
}

/// A `TypeError` naming what an argument must be.
pub(crate) fn type_error(what: &str, must_be: &str) -> PyErr {
    PyTypeError::new_err(format!("{what} must be {must_be}"))
}

impl From<connect_dynamodb_runtime::RuntimeError> for StoreError {
    fn from(err: connect_dynamodb_runtime::RuntimeError) -> Self {
        StoreError::internal(err.message())
    }
}

/// The core's error kinds, as `[(code, retryable_default)]`: the list the package's
/// exception classes are tested against.
#[pyfunction]
pub(crate) fn error_kinds() -> Vec<(&'static str, bool)> {
    ErrorKind::ALL
        .iter()
        .map(|kind| (kind.as_str(), kind.retryable_by_default()))
        .collect()
}
