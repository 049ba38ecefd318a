//! Python values to the core's types: durations, expiries, billing, extra attributes, counts.
//!
//! Wrong types are `TypeError`s; values of the right type that the store cannot use are the
//! package's `ConfigError` (constructor options) or `InvalidArgumentError` (call arguments).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_dynamodb_core::{Billing, ItemAttribute};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType,
};

use crate::error::{StoreError, type_error};

/// Text that UTF-8 cannot encode: a `str` holding a lone surrogate (as `surrogateescape`
/// decoding or a bad `\\udXXX` escape leaves). The store cannot send it to DynamoDB.
const SURROGATE: &str = "holds a lone surrogate, which UTF-8 cannot encode";

/// The text of a `str`; a `TypeError` for anything else, and `unencodable` for a `str` with a
/// lone surrogate (instead of Python's `UnicodeEncodeError`, whose `object` would carry the
/// whole text, a session id for instance).
fn text(
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

/// Seconds beyond which no duration or expiry is usable (about 31,700 years).
const MAX_SECONDS: f64 = 1e12;

/// The last second `datetime` can show (9999-12-31T23:59:59Z).
const MAX_DATETIME_SECONDS: f64 = 253_402_300_799.0;

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
fn number(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
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

/// Seconds from an int, a float or a `datetime.timedelta`.
fn seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
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

fn duration_of(secs: f64) -> Option<Duration> {
    if secs.is_finite() && (0.0..=MAX_SECONDS).contains(&secs) {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

/// A duration option of the constructor; the core checks its range.
pub(crate) fn config_duration(field: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs = seconds(value, &format!("`{field}`"))?;
    duration_of(secs).ok_or_else(|| {
        StoreError::invalid_config(field, "must be a finite, non-negative number of seconds").into()
    })
}

/// A duration argument of a method (the reaper interval); the core checks its range.
pub(crate) fn argument_duration(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs = seconds(value, what)?;
    duration_of(secs).ok_or_else(|| {
        StoreError::invalid_argument(format!(
            "{what} must be a finite, non-negative number of seconds"
        ))
        .into()
    })
}

/// An expiry: `None`, a `datetime` (aware, or naive in local time as `datetime.timestamp()`
/// reads it), or epoch seconds.
pub(crate) fn expiry(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<SystemTime>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let unusable = || StoreError::invalid_argument("`expires` is not a usable time");
    let secs = if let Some(secs) = number(value)? {
        secs
    } else if value.is_instance(datetime_type(value.py())?)? {
        value
            .call_method0("timestamp")
            .and_then(|t| t.extract::<f64>())
            .map_err(|_| unusable())?
    } else {
        return Err(type_error(
            "`expires`",
            "a datetime.datetime, epoch seconds (int or float) or None",
        ));
    };
    if !secs.is_finite() || secs.abs() > MAX_SECONDS {
        return Err(unusable().into());
    }
    let offset = Duration::from_secs_f64(secs.abs());
    Ok(Some(if secs >= 0.0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH - offset
    }))
}

/// Epoch seconds of a time.
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// An aware UTC `datetime` of epoch seconds (capped at `datetime`'s last second).
pub(crate) fn utc_datetime(py: Python<'_>, secs: f64) -> PyResult<Bound<'_, PyAny>> {
    let datetime = datetime_type(py)?;
    let utc = utc(py)?;
    if secs >= MAX_DATETIME_SECONDS {
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", utc)?;
        return datetime
            .getattr("max")?
            .call_method("replace", (), Some(&kwargs));
    }
    datetime.call_method1("fromtimestamp", (secs, utc))
}

/// The `billing` option: `"PAY_PER_REQUEST"`, `"PROVISIONED"` (5 read and 5 write units) or
/// `("PROVISIONED", read, write)`.
pub(crate) fn billing(value: &Bound<'_, PyAny>) -> PyResult<Billing> {
    let invalid = || -> PyErr {
        StoreError::invalid_config(
            "billing",
            "must be \"PAY_PER_REQUEST\", \"PROVISIONED\" or (\"PROVISIONED\", read, write)",
        )
        .into()
    };
    if let Ok(mode) = value.cast::<PyString>() {
        return match mode.to_cow()?.as_ref() {
            "PAY_PER_REQUEST" => Ok(Billing::OnDemand),
            "PROVISIONED" => Ok(Billing::Provisioned { read: 5, write: 5 }),
            _ => Err(invalid()),
        };
    }
    let Ok(tuple) = value.cast::<PyTuple>() else {
        return Err(invalid());
    };
    if tuple.len() != 3 {
        return Err(invalid());
    }
    let mode = tuple.get_item(0)?;
    if !mode.is_instance_of::<PyString>() || mode.extract::<String>()? != "PROVISIONED" {
        return Err(invalid());
    }
    let capacity = |item: Bound<'_, PyAny>| -> PyResult<i64> {
        if item.is_instance_of::<PyBool>() || !item.is_instance_of::<PyInt>() {
            return Err(invalid());
        }
        // Out-of-range capacities become 0, which the core rejects with its own message.
        Ok(item.extract::<i64>().unwrap_or(0))
    };
    Ok(Billing::Provisioned {
        read: capacity(tuple.get_item(1)?)?,
        write: capacity(tuple.get_item(2)?)?,
    })
}

/// A count option (`max_attempts`, `scan_segments`): an int; the core checks its range.
pub(crate) fn count(field: &str, value: &Bound<'_, PyAny>) -> PyResult<u32> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(type_error(&format!("`{field}`"), "an int"));
    }
    // Out-of-range values become 0, outside every count's range: the core names the range.
    Ok(value
        .extract::<i64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0))
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
