//! The store classes `SessionStore` (blocking) and `AsyncSessionStore` (asyncio), generated
//! from one declaration by [`store_classes!`], and the state they share ([`Shared`]).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use connect_dynamodb_core::{Config, ConfigBuilder, ReaperHandle, SessionStore as CoreStore};
use connect_dynamodb_core::{MergePolicy, SetOptions, WriteCondition};
use connect_dynamodb_runtime::{ProcessLocal, ProcessStore};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, SessionText, Sid, UserId};
use crate::error::{Nothing, StoreError, guard};
use crate::options::{Options, with_store_options};
use crate::runtime::{awaitable, wait, wait_here};
use crate::values::{
    PyCredentials, PyManualClock, ReapReport, ReencryptReport, SaveResult, StoredSession,
    TouchResult, UserSession,
};

type CoreResult<T> = Result<T, connect_dynamodb_core::Error>;

/// What both store classes are: the configuration, the per-process core store (rebuilt with a
/// new client in a forked child by [`ProcessStore`]), and this process's reaper.
///
/// The lock is only taken by threads holding the GIL and never held across a release of it,
/// so `os.fork()` (which holds the GIL) never forks while it is held.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// What `config` was built from, for [`Shared::with_merge_always_mine`].
    builder: ConfigBuilder,
    reap_interval: Option<Duration>,
    /// `None` once closed.
    store: Mutex<Option<Arc<ProcessStore>>>,
    /// The reaper this process started; a forked child starts with none.
    reaper: ProcessLocal<Mutex<Option<ReaperHandle>>>,
}

impl Shared {
    fn open(py: Python<'_>, options: &Options<'_>) -> PyResult<Self> {
        let settings = options.settings()?;
        let store = Arc::new(ProcessStore::new(settings.config.clone()));
        // Builds the client now, so that a missing region fails here.
        wait(py, store.store())?.map_err(StoreError::from)?;
        let shared = Shared {
            config: settings.config,
            builder: settings.builder,
            reap_interval: settings.reap_interval,
            store: Mutex::new(Some(store)),
            reaper: ProcessLocal::new(),
        };
        if let Some(interval) = shared.reap_interval {
            shared.start_reaper(py, Some(interval))?;
        }
        Ok(shared)
    }

    /// A store of this configuration whose merges take the saving request's value of `keys`
    /// even under the policy "error" (the core's `merge_always_mine`): a framework's own
    /// bookkeeping that every save rewrites. `None` when that changes nothing (merge is not
    /// "error", or no keys), so the caller keeps this store. The copy has its own client and
    /// memory of recent sessions, and no reaper.
    fn with_merge_always_mine(&self, py: Python<'_>, keys: Vec<String>) -> PyResult<Option<Self>> {
        if keys.is_empty() || self.config.merge() != Some(MergePolicy::Error) {
            return Ok(None);
        }
        self.process_store()?;
        let builder = self.builder.clone().merge_always_mine(keys);
        let config = builder.clone().build().map_err(StoreError::from)?;
        let store = Arc::new(ProcessStore::new(config.clone()));
        wait(py, store.store())?.map_err(StoreError::from)?;
        Ok(Some(Shared {
            config,
            builder,
            reap_interval: None,
            store: Mutex::new(Some(store)),
            reaper: ProcessLocal::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<ProcessStore>>> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn process_store(&self) -> PyResult<Arc<ProcessStore>> {
        self.lock()
            .clone()
            .ok_or_else(|| StoreError::invalid_argument("the store is closed").into())
    }

    /// The call `op` on this process's core store, as a future for the runtime.
    pub(crate) fn call<T, F, Fut>(
        &self,
        op: F,
    ) -> PyResult<impl Future<Output = Result<T, StoreError>> + use<T, F, Fut>>
    where
        F: FnOnce(CoreStore) -> Fut,
        Fut: Future<Output = CoreResult<T>>,
    {
        let process_store = self.process_store()?;
        Ok(async move {
            let store = process_store.store().await?;
            Ok(op(store).await?)
        })
    }

    /// The outcome of a touch that is throttled, decided at once on the calling thread by the
    /// core (`touch_if_throttled`), without a hand-off to the runtime; `None` when the touch
    /// needs a request, or this process's store is not built yet (then the call runs as any).
    fn touch_if_throttled(
        &self,
        sid: &str,
        expires: Option<std::time::SystemTime>,
    ) -> Option<connect_dynamodb_core::Touched> {
        // Only a store already built in this process: building one (a forked child's first
        // call) is the runtime's work, without the GIL.
        let store = self.process_store().ok()?.built()?;
        store.touch_if_throttled(sid, expires).ok().flatten()
    }

    /// Runs `op` and blocks the calling thread, without the GIL, until it ends.
    fn block<T, F, Fut>(&self, py: Python<'_>, op: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(CoreStore) -> Fut + Send,
        Fut: Future<Output = CoreResult<T>> + Send,
    {
        let process_store = self.process_store()?;
        // On the calling thread's own runtime and store once this process's store is built
        // (connect_dynamodb_runtime's "Calls that block the calling thread").
        let outcome = match process_store.thread_store() {
            Some(here) => wait_here(py, async move { Ok(op(here).await?) })?,
            None => wait(py, self.call(op)?)?,
        };
        outcome.map_err(|err: StoreError| err.into_pyerr(py))
    }

    /// Runs `op` on the runtime and returns an asyncio awaitable of its outcome.
    fn spawn<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(CoreStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static,
    {
        awaitable(py, self.call(op)?)
    }

    fn interval(&self, interval: Option<&Bound<'_, PyAny>>) -> PyResult<Duration> {
        let interval = interval
            .filter(|v| !v.is_none())
            .map(|v| convert::argument_duration("`interval`", v))
            .transpose()?;
        interval.or(self.reap_interval).ok_or_else(|| {
            StoreError::invalid_argument("no reaper interval: pass one, or set `reap_interval`")
                .into()
        })
    }

    /// This process's reaper slot.
    fn reaper_slot(&self) -> MutexGuard<'_, Option<ReaperHandle>> {
        let slot = match self.reaper.get() {
            Some(slot) => slot,
            None => self.reaper.install(Mutex::new(None)),
        };
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start_reaper(&self, py: Python<'_>, interval: Option<Duration>) -> PyResult<()> {
        let interval = match interval {
            Some(interval) => interval,
            None => self.interval(None)?,
        };
        let process_store = self.process_store()?;
        let store = wait(py, process_store.store())?.map_err(StoreError::from)?;
        let handle = crate::runtime::handle()?;
        let started = {
            let _runtime = handle.enter();
            store.start_reaper(interval)
        };
        // A running reaper is replaced; dropping its handle stops it.
        *self.reaper_slot() = Some(started.map_err(StoreError::from)?);
        Ok(())
    }

    fn take_reaper(&self) -> Option<ReaperHandle> {
        self.reaper.get()?;
        self.reaper_slot().take()
    }

    fn reaper_running(&self) -> bool {
        self.reaper.get().is_some()
            && self
                .reaper_slot()
                .as_ref()
                .is_some_and(|r| !r.is_finished())
    }

    /// Marks the store closed, releasing its client, and takes this process's reaper, to be
    /// stopped by the caller.
    fn close(&self) -> Option<ReaperHandle> {
        drop(self.lock().take());
        self.take_reaper()
    }

    fn is_closed(&self) -> bool {
        self.lock().is_none()
    }

    /// The store's `repr`: its table and prefix, and what it does at rest, by key ids (a hash
    /// of each key, not secret), never by key.
    fn repr(&self, class: &str) -> String {
        let c = &self.config;
        let mut at_rest = String::new();
        if c.encrypts() {
            at_rest.push_str(&format!(
                ", encryption_key_ids={:?}",
                c.encryption_key_ids()
            ));
        }
        if c.hashes_ids() {
            at_rest.push_str(", hashes_ids=True");
        }
        if let Some(bytes) = c.compress_threshold() {
            at_rest.push_str(&format!(", compress_threshold={bytes}"));
        }
        format!(
            "{class}(table={:?}, prefix={:?}{at_rest}{})",
            c.table(),
            c.prefix(),
            if self.is_closed() { ", closed" } else { "" }
        )
    }
}

fn set_options(
    if_absent: bool,
    if_present: bool,
    attributes: Option<&Bound<'_, PyAny>>,
    loaded: Option<u64>,
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
        loaded,
    })
}

/// A dict of `all`'s entries, built when the call completes.
pub(crate) struct Entries(Vec<(String, StoredSession)>);

impl<'py> IntoPyObject<'py> for Entries {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let dict = PyDict::new(py);
        for (id, session) in self.0 {
            dict.set_item(id, session)?;
        }
        Ok(dict)
    }
}

/// How a class runs a call: `SessionStore` blocks on it, `AsyncSessionStore` returns an
/// awaitable of it.
trait RunCall {
    type Out<'py, T>
    where
        T: 'py;

    fn run<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Self::Out<'py, T>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(CoreStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static;

    /// A call's outcome known at once, without the runtime.
    fn ready<'py, T>(&self, py: Python<'py>, value: T) -> PyResult<Self::Out<'py, T>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static;
}

impl RunCall for PySessionStore {
    type Out<'py, T>
        = T
    where
        T: 'py;

    fn run<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<T>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(CoreStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static,
    {
        self.shared.block(py, op)
    }

    fn ready<'py, T>(&self, _py: Python<'py>, value: T) -> PyResult<T>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        Ok(value)
    }
}

impl RunCall for PyAsyncSessionStore {
    type Out<'py, T>
        = Bound<'py, PyAny>
    where
        T: 'py;

    fn run<'py, T, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: FnOnce(CoreStore) -> Fut + Send + 'static,
        Fut: Future<Output = CoreResult<T>> + Send + 'static,
    {
        self.shared.spawn(py, op)
    }

    /// An asyncio future of the running loop that is already done: awaiting it does not
    /// suspend, and nothing crosses to the runtime's threads and back.
    fn ready<'py, T>(&self, py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        let future = py
            .import("asyncio")?
            .call_method0("get_running_loop")?
            .call_method0("create_future")?;
        future.call_method1("set_result", (value,))?;
        Ok(future)
    }
}

/// Generates both store classes from one declaration:
///
/// - `options`: the constructor's options (from [`with_store_options!`]), every one `None` by
///   default; the first is the only positional one;
/// - `twins`: the calls, each declared once as a block that converts the arguments and
///   evaluates to the operation on the core store, run by the class's [`RunCall`];
/// - `common`: methods copied into both classes as they are;
/// - `sync` / `async`: the methods of one class only.
macro_rules! store_classes {
    (
        options $options:tt
        twins $twins:tt
        common { $($common:tt)* }
        sync { $($sync:tt)* }
        async { $($async:tt)* }
    ) => {
        store_classes!(@class PySessionStore, $options, $twins, { $($common)* $($sync)* });
        store_classes!(@class PyAsyncSessionStore, $options, $twins, { $($common)* $($async)* });
    };
    (
        @class $class:ident,
        { $first:ident : $first_ty:ty, $($name:ident : $ty:ty),* $(,)? },
        {$(
            $(#[$($attr:tt)*])*
            fn $method:ident($($arg:ident : $arg_ty:ty),* $(,)?) -> $ret:ty $body:block
        )*},
        { $($extra:tt)* }
    ) => {
        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = ($first = None, *, $($name = None),*))]
            #[allow(clippy::too_many_arguments)]
            fn new<'py>(
                py: Python<'py>,
                $first: Option<$first_ty>,
                $($name: Option<$ty>),*
            ) -> PyResult<Self> {
                let options = Options { $first, $($name),* };
                guard(|| Ok(Self { shared: Shared::open(py, &options)? }))
            }

            $(
                $(#[$($attr)*])*
                #[allow(clippy::too_many_arguments)]
                fn $method<'py>(
                    &self,
                    py: Python<'py>,
                    $($arg: $arg_ty),*
                ) -> PyResult<<Self as RunCall>::Out<'py, $ret>> {
                    guard(|| {
                        let op = $body;
                        self.run(py, op)
                    })
                }
            )*

            $($extra)*
        }
    };
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
    pub(crate) shared: Shared,
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
    pub(crate) shared: Shared,
}

impl PySessionStore {
    const CLASS: &'static str = "SessionStore";
}

impl PyAsyncSessionStore {
    const CLASS: &'static str = "AsyncSessionStore";
}

impl std::fmt::Debug for PySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shared.repr(Self::CLASS))
    }
}

impl std::fmt::Debug for PyAsyncSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shared.repr(Self::CLASS))
    }
}

with_store_options!(store_classes! {
    twins {
        /// The session `sid`, or None when it is missing, expired or damaged (a ciphertext
        /// that does not decrypt counts as damaged). UnreadableError when it is encrypted with
        /// a key this store was not given, or stored in a newer format: nothing is changed, and
        /// with the key it reads again.
        fn get(sid: Sid) -> Option<StoredSession> {
            move |s: CoreStore| async move { Ok(s.get(&sid.0).await?.map(StoredSession::from)) }
        }

        /// Stores `data` (JSON text) under `sid` until `expires` (a datetime or epoch seconds;
        /// None: now plus `default_lifetime`): "written", or "ended" when the session has ended
        /// (destroyed moments ago, or older than `absolute_timeout`) and nothing was written, a
        /// quiet no-op. `if_absent` / `if_present` make the write conditional (ConflictError
        /// when the condition fails, an ended session included); `attributes` are written
        /// beside the session. With `merge` on, `loaded` is the `version` of the session as
        /// this request loaded it (`StoredSession.version`; after a save of this request, the
        /// `SaveResult.version` it returned): a change another request saved meanwhile is
        /// merged (ConflictError under "error" when both changed one key). `loaded=None` (a
        /// session the request did not load) replaces what is stored.
        #[pyo3(signature = (sid, data, expires = None, *, if_absent = false, if_present = false, attributes = None, loaded = None))]
        fn set(
            sid: Sid,
            data: SessionText,
            expires: Option<&Bound<'_, PyAny>>,
            if_absent: bool,
            if_present: bool,
            attributes: Option<&Bound<'_, PyAny>>,
            loaded: Option<u64>,
        ) -> &'static str {
            let expires = convert::expiry(expires)?;
            let options = set_options(if_absent, if_present, attributes, loaded)?;
            move |s: CoreStore| async move {
                let saved = s.save(&sid.0, &data.0, expires, options).await?;
                Ok(crate::values::set_outcome_str(saved.outcome))
            }
        }

        /// `set`, returning a `SaveResult`: the outcome and, with `merge` on, the version
        /// written, which a further save of the same session by the same request passes as
        /// `loaded`.
        #[pyo3(signature = (sid, data, expires = None, *, if_absent = false, if_present = false, attributes = None, loaded = None))]
        fn save(
            sid: Sid,
            data: SessionText,
            expires: Option<&Bound<'_, PyAny>>,
            if_absent: bool,
            if_present: bool,
            attributes: Option<&Bound<'_, PyAny>>,
            loaded: Option<u64>,
        ) -> SaveResult {
            let expires = convert::expiry(expires)?;
            let options = set_options(if_absent, if_present, attributes, loaded)?;
            move |s: CoreStore| async move {
                Ok(SaveResult::from(s.save(&sid.0, &data.0, expires, options).await?))
            }
        }

        /// Ends the session `sid` (one write): a tombstone that lives `tombstone_lifetime`, so
        /// that a request that loaded the session before and saves it afterwards writes
        /// nothing; a delete when `tombstone_lifetime` is 0. Ending a missing session is not an
        /// error.
        fn destroy(sid: Sid) -> Nothing {
            move |s: CoreStore| async move { s.destroy(&sid.0).await.map(|()| Nothing) }
        }

        /// The live sessions of `user` (the value of `user_field` in the session: a str, or an
        /// int as its digits), from the table's `user-index`: one Query per page, never a
        /// scan. The index is eventually consistent: a session saved a moment ago may be
        /// missing, one ended a moment ago may still be listed. ConfigError when `user_field`
        /// is not set.
        fn user_sessions(user: UserId) -> Vec<UserSession> {
            move |s: CoreStore| async move {
                let sessions = s.user_sessions(&user.0).await?;
                Ok(sessions.into_iter().map(UserSession::from).collect::<Vec<_>>())
            }
        }

        /// Ends every session `user_sessions(user)` lists but `keep` (a session id, usually
        /// the current request's); returns how many it ended. One Query per page of the index
        /// and one BatchWriteItem per 25 sessions.
        #[pyo3(signature = (user, *, keep = None))]
        fn end_user_sessions(user: UserId, keep: Option<Sid>) -> u64 {
            move |s: CoreStore| async move {
                s.end_user_sessions(&user.0, keep.as_ref().map(|k| k.0.as_str())).await
            }
        }

        /// The ids of all live sessions of this store's prefix.
        fn ids() -> Vec<String> {
            |s: CoreStore| async move { s.ids().await }
        }

        /// All live sessions of this store's prefix, by id.
        fn all() -> Entries {
            |s: CoreStore| async move {
                let all = s.all().await?;
                Ok(Entries(all.into_iter().map(|(id, r)| (id, r.into())).collect()))
            }
        }

        /// The number of live sessions of this store's prefix.
        fn length() -> u64 {
            |s: CoreStore| async move { s.length().await }
        }

        /// Deletes every item of this store's prefix, live or expired.
        fn clear() -> ReapReport {
            |s: CoreStore| async move { s.clear().await.map(ReapReport::from) }
        }

        /// One reaper pass: deletes the expired sessions of this store's prefix.
        fn reap() -> ReapReport {
            |s: CoreStore| async move { s.reap().await.map(ReapReport::from) }
        }

        /// Rewrites every live session of this store's prefix that is not encrypted with the
        /// first of `encryption_keys` (encrypted with an older key, or stored before encryption
        /// was turned on) under the first key, in one scan; each rewrite is conditional, so a
        /// session changed meanwhile keeps its change. Run it after putting a new key first;
        /// once it reports nothing left `unreadable`, the old key can go. Sessions it cannot
        /// read (a key this store lacks, damaged) are counted and left alone. ConfigError
        /// (`encryption_keys`) when the store has no keys.
        fn reencrypt() -> ReencryptReport {
            |s: CoreStore| async move { s.reencrypt().await.map(ReencryptReport::from) }
        }

        /// Whether the table exists.
        fn table_exists() -> bool {
            |s: CoreStore| async move { s.table_exists().await }
        }

        /// Creates the table (and its TTL) unless it exists; True when it was created now.
        fn create_table() -> bool {
            |s: CoreStore| async move { s.create_table().await.map(|setup| setup.created) }
        }

        /// What is wrong with the table for this store; an empty list when nothing is.
        fn verify_table() -> Vec<String> {
            |s: CoreStore| async move {
                let report = s.verify_table().await?;
                Ok(report.problems.iter().map(ToString::to_string).collect::<Vec<_>>())
            }
        }
    }
    common {
        /// Moves the expiry of a live session: "updated", "throttled" or "not_found".
        #[pyo3(signature = (sid, expires = None))]
        fn touch<'py>(
            &self,
            py: Python<'py>,
            sid: Sid,
            expires: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<<Self as RunCall>::Out<'py, &'static str>> {
            guard(|| {
                let expires = convert::expiry(expires)?;
                if let Some(touched) = self.shared.touch_if_throttled(&sid.0, expires) {
                    return self.ready(py, crate::values::outcome_str(touched.outcome));
                }
                self.run(py, move |s: CoreStore| async move {
                    let touched = s.touch(&sid.0, expires).await?;
                    Ok(crate::values::outcome_str(touched.outcome))
                })
            })
        }

        /// `touch`, returning a `TouchResult`: the outcome and the expiry the store holds
        /// afterwards (the new one when updated, the stored one when throttled).
        #[pyo3(signature = (sid, expires = None))]
        fn touch_result<'py>(
            &self,
            py: Python<'py>,
            sid: Sid,
            expires: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<<Self as RunCall>::Out<'py, TouchResult>> {
            guard(|| {
                let expires = convert::expiry(expires)?;
                if let Some(touched) = self.shared.touch_if_throttled(&sid.0, expires) {
                    return self.ready(py, TouchResult::from(touched));
                }
                self.run(py, move |s: CoreStore| async move {
                    Ok(TouchResult::from(s.touch(&sid.0, expires).await?))
                })
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

        /// The `merge` policy: "mine" or "error"; None when versioned writes are off.
        #[getter]
        fn merge(&self) -> Option<&'static str> {
            self.shared.config.merge().map(MergePolicy::as_str)
        }

        /// The session field that names the user (`user_field`), or None.
        #[getter]
        fn user_field(&self) -> Option<&str> {
            self.shared.config.user_field()
        }

        /// The ids of the encryption keys, the encrypting one first (8 hex digits each, a hash
        /// of the key: not secret); empty when sessions are not encrypted.
        #[getter]
        fn encryption_key_ids(&self) -> Vec<String> {
            self.shared.config.encryption_key_ids()
        }

        /// Whether session ids are stored as keyed hashes (`id_hash_key`).
        #[getter]
        fn hashes_ids(&self) -> bool {
            self.shared.config.hashes_ids()
        }

        /// The session length (bytes of JSON) above which sessions are compressed, or None.
        #[getter]
        fn compress_threshold(&self) -> Option<usize> {
            self.shared.config.compress_threshold()
        }

        /// For the framework integrations, not part of the API: this store, or (with
        /// `merge="error"`) a copy of it whose merges always take the saving request's value
        /// of `keys`, the framework's own bookkeeping that every save rewrites (starsessions'
        /// `__metadata__`, express-session's `cookie`), so that it never conflicts.
        fn _with_merge_always_mine(
            slf: &Bound<'_, Self>,
            keys: Vec<String>,
        ) -> PyResult<Py<Self>> {
            guard(|| match slf.get().shared.with_merge_always_mine(slf.py(), keys)? {
                Some(shared) => Py::new(slf.py(), Self { shared }),
                None => Ok(slf.clone().unbind()),
            })
        }

        fn __repr__(&self) -> String {
            self.shared.repr(Self::CLASS)
        }
    }
    sync {
        /// Starts the background reaper every `interval` (seconds or timedelta; default
        /// `reap_interval`), replacing a running one. It runs in this process only.
        #[pyo3(signature = (interval = None))]
        fn start_reaper(&self, py: Python<'_>, interval: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
            guard(|| {
                let interval = self.shared.interval(interval)?;
                self.shared.start_reaper(py, Some(interval))
            })
        }

        /// Stops the background reaper, if one runs, and waits until it has stopped.
        fn stop_reaper(&self, py: Python<'_>) -> PyResult<()> {
            guard(|| stop(py, self.shared.take_reaper()))
        }

        /// Stops the reaper and releases the client; later calls raise InvalidArgumentError.
        /// Closing twice is harmless.
        fn close(&self, py: Python<'_>) -> PyResult<()> {
            guard(|| stop(py, self.shared.close()))
        }

        fn __enter__(slf: Py<Self>) -> Py<Self> {
            slf
        }

        #[pyo3(signature = (*_exc))]
        fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
            self.close(py)
        }
    }
    async {
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
                self.shared.start_reaper(py, Some(interval))?;
                awaitable(py, async { Ok(Nothing) })
            })
        }

        /// Stops the background reaper, if one runs, and waits until it has stopped.
        fn stop_reaper<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            guard(|| stop_later(py, self.shared.take_reaper()))
        }

        /// Stops the reaper and releases the client; later calls raise InvalidArgumentError.
        fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            guard(|| stop_later(py, self.shared.close()))
        }

        /// Closes the store without waiting for the reaper to stop (`aclose` waits).
        fn close(&self) -> PyResult<()> {
            // Dropping the reaper's handle aborts its task.
            guard(|| {
                drop(self.shared.close());
                Ok(())
            })
        }

        fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
            let py = slf.py();
            let this = slf.unbind();
            awaitable(py, async move { Ok(this) })
        }

        #[pyo3(signature = (*_exc))]
        fn __aexit__<'py>(
            &self,
            py: Python<'py>,
            _exc: &Bound<'_, pyo3::types::PyTuple>,
        ) -> PyResult<Bound<'py, PyAny>> {
            self.aclose(py)
        }
    }
});

/// Stops `reaper` (when there is one), blocking until it has stopped.
fn stop(py: Python<'_>, reaper: Option<ReaperHandle>) -> PyResult<()> {
    if let Some(reaper) = reaper {
        wait(py, reaper.stop())?;
    }
    Ok(())
}

/// An awaitable that stops `reaper` (when there is one).
fn stop_later(py: Python<'_>, reaper: Option<ReaperHandle>) -> PyResult<Bound<'_, PyAny>> {
    awaitable(py, async move {
        if let Some(reaper) = reaper {
            reaper.stop().await;
        }
        Ok(Nothing)
    })
}
