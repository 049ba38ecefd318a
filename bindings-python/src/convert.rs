//! Call arguments to the core's types: session ids, session text, expiries (through the
//! core's `expiry` module), durations, extra attributes; and times back to `datetime`.
//!
//! Wrong types are `TypeError`s; values of the right type that the store cannot use are the
//! package's `InvalidArgumentError` (or `SerializationError` for session text).

use std::time::{Duration, SystemTime};

use connect_dynamodb_core::{ConfigField, ItemAttribute, expiry};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString, PyType};

use crate::error::{StoreError, type_error};

/// Text that UTF-8 cannot encode: a `str` holding a lone surrogate (as `surrogateescape`
/// decoding or a bad `\\udXXX` escape leaves). The store cannot send it to DynamoDB.
const SURROGATE: &str = "holds a lone surrogate, which UTF-8 cannot encode";

/// The text of a `str`; a `TypeError` for anything else, and `unencodable` for a `str` with a
/// lone surrogate (instead of Python's `UnicodeEncodeError`, whose `object` would carry the
/// whole text, a session id for instance).
pub(crate) fn text(
    value: &Bound<'_, PyAny>,
    what: &str,
    unencodable: impl FnOnce() -> StoreError,
) -> PyResult<String> {
    let Ok(text) = value.cast::<PyString>() else {
        let type_name = value.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "{what} must be str, not {type_name}"
        )));
    };
    match text.to_cow() {
        Ok(text) => Ok(text.into_owned()),
        Err(_) => Err(unencodable().into()),
    }
}

/// A session id argument: `str`; one UTF-8 cannot encode is an `InvalidArgumentError`.
pub(crate) struct Sid(pub(crate) String);

impl<'a, 'py> FromPyObject<'a, 'py> for Sid {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        text(&value, "`sid`", || {
            StoreError::invalid_argument(format!("the session id {SURROGATE}"))
        })
        .map(Sid)
    }
}

/// A user id argument (`user_sessions`, `end_user_sessions`): `str`, or an `int` (not `bool`),
/// taken as its decimal digits, which is how the store writes a whole-number user field.
pub(crate) struct UserId(pub(crate) String);

impl<'a, 'py> FromPyObject<'a, 'py> for UserId {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
            // The digits of the int itself, whatever `str()` of an int subclass says.
            let digits = value.py().get_type::<PyInt>().call1((value,))?.str()?;
            return Ok(UserId(digits.to_cow()?.into_owned()));
        }
        if !value.is_instance_of::<PyString>() {
            return Err(type_error("`user`", "str or int"));
        }
        text(&value, "`user`", || {
            StoreError::invalid_argument(format!("the user id {SURROGATE}"))
        })
        .map(UserId)
    }
}

/// A session's JSON text: `str`; one UTF-8 cannot encode is a `SerializationError`, as any
/// other text that is not JSON.
pub(crate) struct SessionText(pub(crate) String);

impl<'a, 'py> FromPyObject<'a, 'py> for SessionText {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        text(&value, "`data`", || {
            StoreError::new(
                connect_dynamodb_core::ErrorKind::Serialization,
                format!("the session data {SURROGATE}"),
            )
        })
        .map(SessionText)
    }
}

fn datetime_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TYPE.import(py, "datetime", "datetime")
}

fn timedelta_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TYPE.import(py, "datetime", "timedelta")
}

fn utc(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    UTC.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?
                .unbind(),
        )
    })
    .map(|utc| utc.bind(py))
}

/// A plain number (int or float, not bool) as f64; ints too large for a float are infinite.
pub(crate) fn number(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Some(value.extract::<f64>().unwrap_or(f64::INFINITY)));
    }
    if value.is_instance_of::<PyFloat>() {
        return value.extract::<f64>().map(Some);
    }
    Ok(None)
}

/// Seconds from an int, a float or a `datetime.timedelta`, unchecked: the core checks them.
pub(crate) fn seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    if let Some(secs) = number(value)? {
        return Ok(secs);
    }
    if value.is_instance(timedelta_type(value.py())?)? {
        return value.call_method0("total_seconds")?.extract::<f64>();
    }
    Err(type_error(
        what,
        "a number of seconds (int or float) or a datetime.timedelta",
    ))
}

/// A duration argument of a method (a reaper interval, a clock's step): seconds or a
/// timedelta, converted by the core's rules for durations.
pub(crate) fn argument_duration(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs = seconds(value, what)?;
    // Any field converts alike; the error is an argument's, not the field's.
    ConfigField::ReapInterval.seconds(secs).map_err(|_| {
        StoreError::invalid_argument(format!(
            "{what} must be a number of seconds from 0 to 100 years"
        ))
        .into()
    })
}

/// An expiry: `None`, a `datetime` (aware, or naive in local time as `datetime.timestamp()`
/// reads it), or epoch seconds; the core checks the range.
pub(crate) fn expiry(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<SystemTime>> {
    match value.filter(|v| !v.is_none()) {
        Some(value) => required_expiry(value).map(Some),
        None => Ok(None),
    }
}

/// An expiry that must be given: a `datetime` or epoch seconds.
pub(crate) fn required_expiry(value: &Bound<'_, PyAny>) -> PyResult<SystemTime> {
    let secs = if let Some(secs) = number(value)? {
        secs
    } else if value.is_instance(datetime_type(value.py())?)? {
        value
            .call_method0("timestamp")
            .and_then(|t| t.extract::<f64>())
            // A naive datetime outside the platform's local-time range.
            .unwrap_or(f64::NAN)
    } else {
        return Err(type_error(
            "`expires`",
            "a datetime.datetime, epoch seconds (int or float) or None",
        ));
    };
    Ok(expiry::from_epoch_secs(secs).map_err(StoreError::from)?)
}

/// An aware UTC `datetime` of a time.
pub(crate) fn utc_datetime(py: Python<'_>, at: SystemTime) -> PyResult<Bound<'_, PyAny>> {
    datetime_type(py)?.call_method1("fromtimestamp", (expiry::epoch_secs(at), utc(py)?))
}

/// Extra attributes written beside the session: str, int, float or bytes values.
pub(crate) fn attributes(
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(String, ItemAttribute)>> {
    let Some(mapping) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let items = mapping.call_method0("items").map_err(|_| {
        type_error(
            "`attributes`",
            "a mapping of str to str, int, float or bytes",
        )
    })?;
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        if !name.is_instance_of::<PyString>() {
            return Err(type_error("attribute names", "str"));
        }
        let name = text(&name, "attribute names", || {
            StoreError::invalid_argument(format!("an attribute name {SURROGATE}"))
        })?;
        let attribute = if value.is_instance_of::<PyString>() {
            ItemAttribute::S(text(&value, "attribute values", || {
                StoreError::invalid_argument(format!("an attribute value {SURROGATE}"))
            })?)
        } else if value.is_instance_of::<PyBool>() {
            return Err(type_error(
                "attribute values",
                "str, int, float or bytes (not bool)",
            ));
        } else if value.is_instance_of::<PyInt>() {
            // The digits of the int itself: `str()` of an int subclass may be anything (an
            // `IntEnum` member reads "Color.RED" before Python 3.11).
            let digits = value.py().get_type::<PyInt>().call1((value,))?.str()?;
            ItemAttribute::N(digits.to_cow()?.into_owned())
        } else if value.is_instance_of::<PyFloat>() {
            let number = value.extract::<f64>()?;
            if !number.is_finite() {
                return Err(
                    StoreError::invalid_argument("a float attribute value must be finite").into(),
                );
            }
            // Rust prints floats without an exponent, which every DynamoDB number accepts.
            ItemAttribute::N(format!("{number}"))
        } else if let Ok(bytes) = value.cast::<PyBytes>() {
            ItemAttribute::B(bytes.as_bytes().to_vec())
        } else if let Ok(bytes) = value.cast::<PyByteArray>() {
            ItemAttribute::B(bytes.to_vec())
        } else {
            return Err(type_error("attribute values", "str, int, float or bytes"));
        };
        out.push((name, attribute));
    }
    Ok(out)
}
