//! `AsyncKeyValueStore`: the core's key-value mode (`connect_dynamodb_core::kv`) for asyncio,
//! on the table and client of a session store; what `connect_dynamodb.contrib.litestar` is
//! built on. Argument conversion and runtime glue only: prefixes, keys, expiries and item
//! shapes are the core's.

use std::future::Future;
use std::time::Duration;

use connect_dynamodb_core::SessionStore as CoreStore;
use connect_dynamodb_core::kv::{self, KeyValueStore, KvExpiry};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::convert;
use crate::error::{Nothing, StoreError, guard};
use crate::runtime::awaitable;
use crate::store::{PyAsyncSessionStore, PySessionStore, Shared};
use crate::values::ReapReport;

type CoreResult<T> = Result<T, connect_dynamodb_core::Error>;

/// The session store a key-value store was made from; its client, table and clock serve both.
enum Owner {
    Blocking(Py<PySessionStore>),
    Async(Py<PyAsyncSessionStore>),
}

impl Owner {
    fn shared(&self) -> &Shared {
        match self {
            Owner::Blocking(store) => &store.get().shared,
            Owner::Async(store) => &store.get().shared,
        }
    }

    fn clone_ref(&self, py: Python<'_>) -> Owner {
        match self {
            Owner::Blocking(store) => Owner::Blocking(store.clone_ref(py)),
            Owner::Async(store) => Owner::Async(store.clone_ref(py)),
        }
    }

    fn object(&self, py: Python<'_>) -> Py<PyAny> {
        match self {
            Owner::Blocking(store) => store.clone_ref(py).into_any(),
            Owner::Async(store) => store.clone_ref(py).into_any(),
        }
    }
}

/// A key argument: `str`; one UTF-8 cannot encode is an `InvalidArgumentError` (whose message
/// does not hold the key: a session id, for Litestar's sessions).
struct Key(String);

impl<'a, 'py> FromPyObject<'a, 'py> for Key {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        convert::text(&value, "`key`", || {
            StoreError::invalid_argument(
                "the key holds a lone surrogate, which UTF-8 cannot encode",
            )
        })
        .map(Key)
    }
}

/// A value argument: `bytes` or `bytearray` as they are, `str` as its UTF-8 bytes.
struct Value(Vec<u8>);

impl<'a, 'py> FromPyObject<'a, 'py> for Value {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Value(bytes.as_bytes().to_vec()));
        }
        if let Ok(bytes) = value.cast::<PyByteArray>() {
            return Ok(Value(bytes.to_vec()));
        }
        if value.cast::<PyString>().is_ok() {
            return convert::text(&value, "`value`", || {
                StoreError::invalid_argument(
                    "the value holds a lone surrogate, which UTF-8 cannot encode",
                )
            })
            .map(|text| Value(text.into_bytes()));
        }
        let type_name = value.get_type().name()?;
        Err(PyTypeError::new_err(format!(
            "`value` must be bytes, bytearray or str, not {type_name}"
        )))
    }
}

/// A value on its way back to Python, as `bytes` (a `Vec<u8>` would become a list).
struct Bytes(Vec<u8>);

impl<'py> IntoPyObject<'py> for Bytes {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyBytes::new(py, &self.0))
    }
}

/// An optional duration argument: None, or seconds (int or float) or a `timedelta`, from 0 to
/// 100 years; 0 means none.
fn duration(what: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| convert::argument_duration(what, v))
        .transpose()
}

/// A key-value store on a session store's table, for asyncio: values of bytes under string
/// keys, each with an optional expiry, in items of their own (`type` "connect-kv") under a key
/// prefix of their own (default "litestar:"). Every method but `with_namespace` returns an
/// awaitable; none binds to an event loop, so one store serves any loop and thread.
///
/// Values are stored as they are given: not encrypted, compressed or hashed at rest, whatever
/// the session store does with sessions. There are no tombstones: `delete` deletes.
#[pyclass(
    frozen,
    module = "connect_dynamodb._native",
    name = "AsyncKeyValueStore"
)]
pub(crate) struct PyAsyncKeyValueStore {
    owner: Owner,
    prefix: String,
}

impl PyAsyncKeyValueStore {
    /// Runs `op` on this store's core key-value store and returns an awaitable of its outcome.
    fn run<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(KeyValueStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static,
    {
        let prefix = self.prefix.clone();
        let call = self
            .owner
            .shared()
            .call(
                move |store: CoreStore| async move { op(KeyValueStore::new(store, prefix)?).await },
            )?;
        awaitable(py, call)
    }
}

#[pymethods]
impl PyAsyncKeyValueStore {
    /// The prefix of a store made without one: "litestar:".
    #[classattr]
    const DEFAULT_PREFIX: &'static str = kv::DEFAULT_PREFIX;

    /// A key-value store on the table of `store` (a `SessionStore` or an `AsyncSessionStore`,
    /// whose client, table, hash key, clock and first-use check it shares) with the key
    /// prefix `prefix` (default `DEFAULT_PREFIX`). InvalidArgumentError for an empty prefix or
    /// one that overlaps the session prefix.
    #[new]
    #[pyo3(signature = (store, prefix = None))]
    fn new(store: &Bound<'_, PyAny>, prefix: Option<String>) -> PyResult<Self> {
        guard(|| {
            let owner = if let Ok(s) = store.cast::<PyAsyncSessionStore>() {
                Owner::Async(s.clone().unbind())
            } else if let Ok(s) = store.cast::<PySessionStore>() {
                Owner::Blocking(s.clone().unbind())
            } else {
                let type_name = store.get_type().name()?;
                return Err(PyTypeError::new_err(format!(
                    "`store` must be a SessionStore or an AsyncSessionStore, not {type_name}"
                )));
            };
            let prefix = prefix.unwrap_or_else(|| kv::DEFAULT_PREFIX.to_owned());
            kv::check_prefix(&prefix, owner.shared().config.prefix()).map_err(StoreError::from)?;
            Ok(PyAsyncKeyValueStore { owner, prefix })
        })
    }

    /// The store of the child namespace `namespace`: its prefix is this one's followed by
    /// `namespace` and ":". `delete_all` of this store deletes the child's values too, not the
    /// other way round. InvalidArgumentError when `namespace` is empty or contains ":".
    fn with_namespace(&self, py: Python<'_>, namespace: &str) -> PyResult<Self> {
        guard(|| {
            let prefix =
                kv::namespaced_prefix(&self.prefix, namespace).map_err(StoreError::from)?;
            kv::check_prefix(&prefix, self.owner.shared().config.prefix())
                .map_err(StoreError::from)?;
            Ok(PyAsyncKeyValueStore {
                owner: self.owner.clone_ref(py),
                prefix,
            })
        })
    }

    /// Stores `value` (bytes; a str as UTF-8) under `key`, replacing what is stored, to expire
    /// after `expires_in` (seconds or a timedelta; None or 0: never). One PutItem.
    /// ItemTooLargeError when the item would not fit DynamoDB's limit.
    #[pyo3(signature = (key, value, expires_in = None))]
    fn set<'py>(
        &self,
        py: Python<'py>,
        key: Key,
        value: Value,
        expires_in: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let expires_in = duration("`expires_in`", expires_in)?;
            self.run(py, move |kv| async move {
                kv.set(&key.0, &value.0, expires_in).await.map(|()| Nothing)
            })
        })
    }

    /// The value (bytes) under `key`, or None when there is none or it has expired (on the
    /// store's clock, to the millisecond). With `renew_for` (seconds or a timedelta, not 0),
    /// a value that has an expiry gets a new one, `renew_for` from now, in the same request
    /// (one UpdateItem); without, one GetItem.
    #[pyo3(signature = (key, renew_for = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: Key,
        renew_for: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let renew_for = duration("`renew_for`", renew_for)?;
            self.run(py, move |kv| async move {
                Ok(kv.get(&key.0, renew_for).await?.map(Bytes))
            })
        })
    }

    /// Deletes the value under `key`; a missing key is not an error. One DeleteItem.
    fn delete<'py>(&self, py: Python<'py>, key: Key) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.run(py, move |kv| async move {
                kv.delete(&key.0).await.map(|()| Nothing)
            })
        })
    }

    /// Deletes every value of this store's prefix, its child namespaces' included; other
    /// prefixes and sessions are left alone. One scan of the table.
    fn delete_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.run(py, |kv| async move {
                kv.delete_all().await.map(ReapReport::from)
            })
        })
    }

    /// Deletes the expired values of this store's prefix (and its child namespaces), which
    /// DynamoDB's TTL deletes later anyway. One scan of the table.
    fn delete_expired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.run(py, |kv| async move {
                kv.delete_expired().await.map(ReapReport::from)
            })
        })
    }

    /// Whether a live value is stored under `key`. One GetItem.
    fn exists<'py>(&self, py: Python<'py>, key: Key) -> PyResult<Bound<'py, PyAny>> {
        guard(|| self.run(py, move |kv| async move { kv.exists(&key.0).await }))
    }

    /// The seconds (a float, exact to the millisecond) until the value under `key` expires;
    /// `math.inf` for a value stored without an expiry; None when there is none or it has
    /// expired. One GetItem.
    fn expires_in<'py>(&self, py: Python<'py>, key: Key) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            self.run(py, move |kv| async move {
                Ok(kv.expires_in(&key.0).await?.map(|expiry| match expiry {
                    KvExpiry::Never => f64::INFINITY,
                    KvExpiry::In(left) => left.as_secs_f64(),
                }))
            })
        })
    }

    /// The key prefix.
    #[getter]
    fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The session store this store was made from.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.owner.object(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "AsyncKeyValueStore(table={:?}, prefix={:?})",
            self.owner.shared().config.table(),
            self.prefix
        )
    }
}
