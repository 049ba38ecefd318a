//! `cdyn_store`: the blocking store calls, and the per-process client behind a store handle.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::process;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_dynamodb_core::{
    Config, ReaperHandle, SessionRecord, SessionStore, TableSetup, TouchOutcome, WriteCondition,
};

use crate::config::{cdyn_config, str_arg};
use crate::error::{Failure, Outcome, boundary, cdyn_error, cdyn_status, infallible};
use crate::runtime::{block_on, keep_forever};
use crate::values::{c_string, cdyn_reap_report, cdyn_string_list};

/// A session store on one DynamoDB table, from `cdyn_store_new`.
///
/// Thread safety: every `cdyn_store_*` call may run on many threads at once on one store
/// (the store shares one connection pool); only `cdyn_store_free` must not run while another
/// thread is inside a call on the same store. Non-blocking calls keep the store alive
/// internally until their callback has returned, so a store may be freed while calls are
/// pending.
///
/// After `fork()`, the child may keep using a store made by the parent: its first call in the
/// child builds a new runtime and connection pool for the child (the parent's are left alone,
/// untouched), so calls in the child work and never hang. Non-blocking calls pending in the
/// parent at the fork call back in the parent only; a configured reaper also runs in each
/// child that uses the store, from that first call until the child frees the store.
#[allow(non_camel_case_types)]
pub struct cdyn_store {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for cdyn_store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("cdyn_store")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// When `cdyn_store_set` may write: one of the `CDYN_CONDITION_` constants.
#[allow(non_camel_case_types)]
pub type cdyn_condition = u32;
/// Always write, replacing whatever is stored (what a web framework's save wants).
pub const CDYN_CONDITION_ALWAYS: cdyn_condition = 0;
/// Write only when no live session has this id; otherwise `CDYN_ERR_CONFLICT`.
pub const CDYN_CONDITION_IF_ABSENT: cdyn_condition = 1;
/// Write only when a live session has this id; otherwise `CDYN_ERR_CONFLICT`.
pub const CDYN_CONDITION_IF_PRESENT: cdyn_condition = 2;

/// The `expires` argument meaning "now plus the configured default lifetime".
pub const CDYN_EXPIRES_DEFAULT: i64 = 0;

/// What `cdyn_store_touch` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum cdyn_touch_outcome {
    /// The stored expiry was moved.
    CDYN_TOUCH_UPDATED = 0,
    /// The stored expiry is already close to the new one (the touch throttle): nothing was
    /// written.
    CDYN_TOUCH_THROTTLED = 1,
    /// No live session has this id (destroyed or expired): nothing was written; a touch never
    /// re-creates a session.
    CDYN_TOUCH_NOT_FOUND = 2,
}

impl From<TouchOutcome> for cdyn_touch_outcome {
    fn from(o: TouchOutcome) -> Self {
        match o {
            TouchOutcome::Updated => cdyn_touch_outcome::CDYN_TOUCH_UPDATED,
            TouchOutcome::Throttled => cdyn_touch_outcome::CDYN_TOUCH_THROTTLED,
            TouchOutcome::NotFound => cdyn_touch_outcome::CDYN_TOUCH_NOT_FOUND,
        }
    }
}

/// The state behind a store handle, shared with pending non-blocking calls.
pub(crate) struct Shared {
    config: Config,
    /// The store of the current process; see [`Shared::store`].
    current: AtomicPtr<Generation>,
}

/// A store (client, connection pool, reaper) belonging to one process.
struct Generation {
    pid: u32,
    store: SessionStore,
    _reaper: Option<ReaperHandle>,
}

// The state behind a store handle is shared by every thread that calls into the store and by
// the runtime's threads; its parts must allow that, checked here at compile time.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<Shared>();
    send_sync::<Config>();
    send_sync::<SessionStore>();
    // A generation is dropped on whichever thread drops the last reference to its `Shared`.
    send::<ReaperHandle>();
};

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        Shared {
            config,
            current: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The core store of this process: built on first use in each process, since a forked
    /// child cannot use the parent's connections. A parent's store is kept, never dropped (see
    /// `runtime.rs`). Must run on the library's runtime.
    pub(crate) async fn store(&self) -> Outcome<SessionStore> {
        if let Some(store) = self.existing() {
            return Ok(store);
        }
        let store = SessionStore::connect(self.config.clone()).await?;
        let reaper = store.start_configured_reaper()?;
        Ok(self.install(store, reaper))
    }

    /// The store of this process, when it has been built.
    fn existing(&self) -> Option<SessionStore> {
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: a generation is freed only when `Shared` is dropped; a replaced one is kept
        // forever.
        unsafe { current.as_ref() }
            .filter(|g| g.pid == process::id())
            .map(|g| g.store.clone())
    }

    /// Publishes a store built for this process, unless another thread was first.
    fn install(&self, store: SessionStore, reaper: Option<ReaperHandle>) -> SessionStore {
        let pid = process::id();
        let fresh = Box::into_raw(Box::new(Generation {
            pid,
            store: store.clone(),
            _reaper: reaper,
        }));
        let mut current = self.current.load(Ordering::Acquire);
        loop {
            // SAFETY: as in `existing`.
            if let Some(generation) = unsafe { current.as_ref() }
                && generation.pid == pid
            {
                // Another thread of this process was first: its store is used.
                // SAFETY: `fresh` was never published.
                drop(unsafe { Box::from_raw(fresh) });
                return generation.store.clone();
            }
            match self
                .current
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(previous) => {
                    // Null, or the store of a parent process.
                    keep_forever(previous.cast());
                    return store;
                }
                Err(installed) => current = installed,
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let current = *self.current.get_mut();
        // SAFETY: the generation is valid; nothing else refers to it any more.
        if let Some(generation) = unsafe { current.as_ref() } {
            if generation.pid == process::id() {
                // SAFETY: published by `store` with Box::into_raw, and dropped once, here.
                drop(unsafe { Box::from_raw(current) });
            } else {
                keep_forever(current.cast());
            }
        }
    }
}

/// # Safety
/// `store` is NULL or a store from `cdyn_store_new` that is not freed during the call.
pub(crate) unsafe fn store_ref<'a>(store: *const cdyn_store) -> Outcome<&'a Shared> {
    // SAFETY: per this function's contract.
    unsafe { store.as_ref() }
        .map(|s| &*s.shared)
        .ok_or_else(|| Failure::invalid_argument("`store` is NULL"))
}

/// A required out-parameter.
///
/// # Safety
/// `ptr` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out_arg<'a, T>(ptr: *mut T, name: &str) -> Outcome<&'a mut T> {
    // SAFETY: per this function's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::invalid_argument(format!("`{name}` is NULL")))
}

/// Writes an optional out-parameter.
///
/// # Safety
/// `ptr` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: per this function's contract.
        unsafe { ptr.write(value) };
    }
}

/// Runs a store operation on the runtime, blocking the calling thread.
fn call<T, F, Fut>(shared: &Shared, op: F) -> Outcome<T>
where
    T: Send,
    F: FnOnce(SessionStore) -> Fut + Send,
    Fut: Future<Output = connect_dynamodb_core::Result<T>> + Send,
{
    block_on(async move {
        let store = shared.store().await?;
        Ok(op(store).await?)
    })?
}

/// An expiry argument in epoch seconds.
pub(crate) fn expiry_arg(expires: i64) -> Outcome<Option<SystemTime>> {
    if expires == CDYN_EXPIRES_DEFAULT {
        return Ok(None);
    }
    u64::try_from(expires)
        .ok()
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .map(Some)
        .ok_or_else(|| {
            Failure::invalid_argument("`expires` must lie between 1970 and the year 5000")
        })
}

/// A write condition argument.
pub(crate) fn condition_arg(condition: cdyn_condition) -> Outcome<WriteCondition> {
    match condition {
        CDYN_CONDITION_ALWAYS => Ok(WriteCondition::Always),
        CDYN_CONDITION_IF_ABSENT => Ok(WriteCondition::IfAbsent),
        CDYN_CONDITION_IF_PRESENT => Ok(WriteCondition::IfPresent),
        _ => Err(Failure::invalid_argument(
            "`condition` is not one of the CDYN_CONDITION_ constants",
        )),
    }
}

/// Epoch seconds, rounded up (stored expiries are whole seconds, rounded up, too).
fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => {
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                secs.saturating_add(1)
            } else {
                secs
            }
        }
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The outputs of a get.
pub(crate) struct Found {
    pub(crate) found: bool,
    pub(crate) session: *mut c_char,
    pub(crate) len: usize,
    pub(crate) expires: i64,
}

impl Found {
    pub(crate) const NONE: Found = Found {
        found: false,
        session: ptr::null_mut(),
        len: 0,
        expires: 0,
    };

    pub(crate) fn of(record: Option<SessionRecord>) -> Outcome<Found> {
        Ok(match record {
            None => Found::NONE,
            Some(r) => Found {
                found: true,
                session: c_string(&r.session)?,
                len: r.session.len(),
                expires: epoch_secs(r.expires_at),
            },
        })
    }
}

pub(crate) fn problems(setup_report: &connect_dynamodb_core::TableReport) -> cdyn_string_list {
    cdyn_string_list::new(setup_report.problems.iter().map(ToString::to_string))
}

pub(crate) fn created(setup: &TableSetup) -> (bool, cdyn_string_list) {
    (setup.created, problems(&setup.report))
}

/// The version of this library, e.g. `"0.1.0"`.
///
/// Ownership: the string is static; never free it.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn cdyn_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Builds a store from `config` and stores it in `*store`. Makes no request to DynamoDB (use
/// `cdyn_store_verify_table` to check the table); starts the background reaper when the
/// configuration asks for one.
///
/// Ownership: borrows `config`, which is copied (free it whenever convenient). On success
/// `*store` receives a store the caller frees with `cdyn_store_free`; on failure `*store` is
/// set to NULL and `*error` (when `error` is not NULL) receives an error the caller frees with
/// `cdyn_error_free`. `*error` is set to NULL on success. The same `error` convention holds for
/// every function below that takes one.
/// Thread safety: may be called from any thread, also with one `config` on several threads.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (a NULL argument),
/// `CDYN_ERR_INVALID_CONFIG` (e.g. no region set and none in the environment) or
/// `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_new(
    config: *const cdyn_config,
    store: *mut *mut cdyn_store,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY: the caller passes NULL or writable storage for a pointer.
        let out = unsafe { out_arg(store, "store") }?;
        *out = ptr::null_mut();
        // SAFETY: the caller passes NULL or a live configuration.
        let config = unsafe { config.as_ref() }
            .ok_or_else(|| Failure::invalid_argument("`config` is NULL"))?
            .build()?;
        let shared = Arc::new(Shared::new(config));
        // Builds the client now, so that configuration problems show here.
        block_on(shared.store())??;
        *out = Box::into_raw(Box::new(cdyn_store { shared }));
        Ok(())
    })
}

/// Frees a store: stops its background reaper and closes its connections once the pending
/// non-blocking calls on it have completed. `cdyn_store_free(NULL)` does nothing.
///
/// Ownership: takes `store`, which must not be used afterwards.
/// Thread safety: not while another thread is inside a call on `store` (pending non-blocking
/// calls are fine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_free(store: *mut cdyn_store) {
    infallible((), || {
        if !store.is_null() {
            // SAFETY: a store from cdyn_store_new, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(store) });
        }
    });
}

/// Reads the session `sid`. When a live session exists, `*found` is set to true, `*session`
/// to its JSON text (NUL-terminated, exactly as stored), `*session_len` to its length in bytes
/// and `*expires` to its expiry in epoch seconds (rounded up). When there is none (never
/// stored, destroyed, or expired, however late DynamoDB's TTL deletes it), `*found` is false,
/// `*session` NULL and the lengths and expiry 0: a missing session is not an error.
///
/// Ownership: borrows `store` and `sid`. `*session` belongs to the caller, who frees it with
/// `cdyn_string_free`. `found` and `session` are required; `session_len` and `expires` may be
/// NULL. On failure the outputs are set as for a missing session.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8, an empty `sid`, or a key
/// over 2048 bytes), `CDYN_ERR_TABLE_NOT_FOUND`, `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`,
/// `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`, `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_get(
    store: *const cdyn_store,
    sid: *const c_char,
    found: *mut bool,
    session: *mut *mut c_char,
    session_len: *mut usize,
    expires: *mut i64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let found = unsafe { out_arg(found, "found") }?;
        let session = unsafe { out_arg(session, "session") }?;
        *found = false;
        *session = ptr::null_mut();
        unsafe {
            put(session_len, 0);
            put(expires, 0);
        }
        let shared = unsafe { store_ref(store) }?;
        let sid = unsafe { str_arg(sid, "sid") }?;
        let record = call(shared, |s| async move { s.get(sid).await })?;
        let out = Found::of(record)?;
        *found = out.found;
        *session = out.session;
        unsafe {
            put(session_len, out.len);
            put(expires, out.expires);
        }
        Ok(())
    })
}

/// Stores `session` (JSON text, NUL-terminated) under `sid` until `expires` (epoch seconds;
/// `CDYN_EXPIRES_DEFAULT` for now plus the default lifetime; a time in the past stores a
/// session that is already expired). `condition` is `CDYN_CONDITION_ALWAYS` (replace whatever
/// is stored), `CDYN_CONDITION_IF_ABSENT` or `CDYN_CONDITION_IF_PRESENT`; a condition that does
/// not hold gives `CDYN_ERR_CONFLICT` and leaves the stored session as it was.
///
/// Ownership: borrows every argument; the strings are copied.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8, an empty or oversized
/// `sid`, `expires` out of range, an unknown `condition`), `CDYN_ERR_SERIALIZATION` (not valid
/// JSON), `CDYN_ERR_ITEM_TOO_LARGE` (over DynamoDB's 400 KB), `CDYN_ERR_CONFLICT`,
/// `CDYN_ERR_TABLE_NOT_FOUND`, `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`,
/// `CDYN_ERR_TRANSPORT`, `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_set(
    store: *const cdyn_store,
    sid: *const c_char,
    session: *const c_char,
    expires: i64,
    condition: cdyn_condition,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let shared = unsafe { store_ref(store) }?;
        let sid = unsafe { str_arg(sid, "sid") }?;
        let session = unsafe { str_arg(session, "session") }?;
        let expires_at = expiry_arg(expires)?;
        let condition = condition_arg(condition)?;
        call(shared, |s| async move {
            s.set_with(sid, session, expires_at, condition).await
        })
    })
}

/// Moves the expiry of a live session to `expires` (epoch seconds, or `CDYN_EXPIRES_DEFAULT`)
/// without touching its data, and sets `*outcome` (when not NULL) to what happened:
/// `CDYN_TOUCH_UPDATED`, `CDYN_TOUCH_THROTTLED` (the stored expiry is already close; nothing
/// was sent) or `CDYN_TOUCH_NOT_FOUND` (no live session: never re-created).
///
/// Ownership: borrows every argument. `*outcome` is written only on success.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_TABLE_NOT_FOUND`,
/// `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`,
/// `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_touch(
    store: *const cdyn_store,
    sid: *const c_char,
    expires: i64,
    outcome: *mut cdyn_touch_outcome,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let shared = unsafe { store_ref(store) }?;
        let sid = unsafe { str_arg(sid, "sid") }?;
        let expires_at = expiry_arg(expires)?;
        let done = call(shared, |s| async move { s.touch(sid, expires_at).await })?;
        unsafe { put(outcome, done.outcome.into()) };
        Ok(())
    })
}

/// Deletes the session `sid`; deleting a missing session is not an error.
///
/// Ownership: borrows every argument.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_TABLE_NOT_FOUND`,
/// `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`,
/// `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_destroy(
    store: *const cdyn_store,
    sid: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let shared = unsafe { store_ref(store) }?;
        let sid = unsafe { str_arg(sid, "sid") }?;
        call(shared, |s| async move { s.destroy(sid).await })
    })
}

/// Lists the ids of all live sessions of the store's prefix (a parallel scan of the table),
/// in no particular order, into `*ids`.
///
/// Ownership: borrows `store`. `*ids` (required; NULL on failure) belongs to the caller, who
/// frees it with `cdyn_string_list_free`.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_TABLE_NOT_FOUND`,
/// `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`,
/// `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_ids(
    store: *const cdyn_store,
    ids: *mut *mut cdyn_string_list,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let out = unsafe { out_arg(ids, "ids") }?;
        *out = ptr::null_mut();
        let shared = unsafe { store_ref(store) }?;
        let list = call(shared, |s| async move { s.ids().await })?;
        *out = cdyn_string_list::new(list).into_raw();
        Ok(())
    })
}

/// Counts the live sessions of the store's prefix (a parallel scan) into `*length`
/// (required; 0 on failure).
///
/// Ownership: borrows every argument.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_ids`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_length(
    store: *const cdyn_store,
    length: *mut u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let out = unsafe { out_arg(length, "length") }?;
        *out = 0;
        let shared = unsafe { store_ref(store) }?;
        *out = call(shared, |s| async move { s.length().await })?;
        Ok(())
    })
}

/// Deletes every item of the store's prefix, live, expired or not (items of other prefixes in
/// the same table stay), and sets `*report` (when not NULL) to what was scanned and deleted.
///
/// Ownership: borrows every argument. `*report` is written only on success.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_ids`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_clear(
    store: *const cdyn_store,
    report: *mut cdyn_reap_report,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let shared = unsafe { store_ref(store) }?;
        let done = call(shared, |s| async move { s.clear().await })?;
        unsafe { put(report, done.into()) };
        Ok(())
    })
}

/// One reaper pass: deletes every expired session of the store's prefix (waiting first for a
/// pass of this store that is already running), and sets `*report` (when not NULL).
///
/// Ownership: borrows every argument. `*report` is written only on success.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_ids`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_reap(
    store: *const cdyn_store,
    report: *mut cdyn_reap_report,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let shared = unsafe { store_ref(store) }?;
        let done = call(shared, |s| async move { s.reap().await })?;
        unsafe { put(report, done.into()) };
        Ok(())
    })
}

/// Creates the table unless it exists (with the configured billing), waits until it is
/// ACTIVE, enables TTL on `expires`, and verifies it. `*created` (when not NULL) tells whether
/// this call created it (one of many concurrent callers does); `*problems` (when not NULL)
/// receives what is still wrong with the table, as `cdyn_store_verify_table` reports it
/// (empty when it is fit for sessions). Needs CreateTable, DescribeTable, UpdateTimeToLive
/// and DescribeTimeToLive permissions; meant for deploy time.
///
/// Ownership: borrows `store`. `*problems` belongs to the caller, who frees it with
/// `cdyn_string_list_free` (NULL on failure). `*created` is false on failure.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_TIMEOUT` (not ACTIVE within the
/// configured wait), `CDYN_ERR_CONFLICT`, `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`,
/// `CDYN_ERR_TRANSPORT`, `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_create_table(
    store: *const cdyn_store,
    created: *mut bool,
    problems: *mut *mut cdyn_string_list,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        unsafe {
            put(created, false);
            put(problems, ptr::null_mut());
        }
        let shared = unsafe { store_ref(store) }?;
        let setup = call(shared, |s| async move { s.create_table().await })?;
        let (was_created, list) = self::created(&setup);
        unsafe {
            put(created, was_created);
            if !problems.is_null() {
                problems.write(list.into_raw());
            }
        }
        Ok(())
    })
}

/// Sets `*exists` (required; false on failure) to whether the configured table exists.
/// Needs only DescribeTable.
///
/// Ownership: borrows every argument.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`,
/// `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`, `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_table_exists(
    store: *const cdyn_store,
    exists: *mut bool,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let out = unsafe { out_arg(exists, "exists") }?;
        *out = false;
        let shared = unsafe { store_ref(store) }?;
        *out = call(shared, |s| async move { s.table_exists().await })?;
        Ok(())
    })
}

/// Checks the configured table (ACTIVE, a single string hash key of the configured name, TTL
/// on `expires`) and sets `*problems` (required) to what is wrong, one English sentence per
/// problem; an empty list means the table is fit for sessions. Needs DescribeTable and
/// DescribeTimeToLive.
///
/// Ownership: borrows `store`. `*problems` (NULL on failure) belongs to the caller, who frees
/// it with `cdyn_string_list_free`.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT`, `CDYN_ERR_TABLE_NOT_FOUND`,
/// `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`,
/// `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_verify_table(
    store: *const cdyn_store,
    problems: *mut *mut cdyn_string_list,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY (this block): the documented contract of the pointers.
        let out = unsafe { out_arg(problems, "problems") }?;
        *out = ptr::null_mut();
        let shared = unsafe { store_ref(store) }?;
        let report = call(shared, |s| async move { s.verify_table().await })?;
        *out = self::problems(&report).into_raw();
        Ok(())
    })
}

/// `user_data` of the non-blocking calls, handed back to the callback on another thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the library never dereferences it; the caller who passes it to a non-blocking call
// accepts that its callback runs on a library thread.
unsafe impl Send for UserData {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_convert_both_ways() {
        assert_eq!(expiry_arg(CDYN_EXPIRES_DEFAULT).ok(), Some(None));
        assert!(expiry_arg(-1).is_err());
        // Far beyond what the core accepts, which refuses it later: no panic here.
        let _ = expiry_arg(i64::MAX);
        let t = expiry_arg(1_700_000_000).ok().flatten().expect("a time");
        assert_eq!(epoch_secs(t), 1_700_000_000);
        assert_eq!(epoch_secs(t + Duration::from_millis(1)), 1_700_000_001);
    }

    #[test]
    fn conditions_are_checked() {
        assert_eq!(condition_arg(0).ok(), Some(WriteCondition::Always));
        assert_eq!(condition_arg(1).ok(), Some(WriteCondition::IfAbsent));
        assert_eq!(condition_arg(2).ok(), Some(WriteCondition::IfPresent));
        assert!(condition_arg(3).is_err());
    }
}
