//! `cdyn_store`: the blocking store calls, and the per-process client behind a store handle.

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;

use connect_dynamodb_runtime::{ProcessStore, block_here, block_on};

use crate::config::cdyn_config;
use crate::error::{Failure, Outcome, boundary, cdyn_error, cdyn_status, infallible};
use crate::operation::{self as op, CValue, Call, Out, OutParams};
use crate::values::{cdyn_reap_report, cdyn_reencrypted, cdyn_string_list, cdyn_user_session_list};

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
#[derive(Debug)]
pub struct cdyn_store {
    /// The configuration and the store of each process (the shared runtime crate's).
    pub(crate) process: Arc<ProcessStore>,
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

/// The most PutItems one `cdyn_store_save` (or `cdyn_store_set`) sends when it keeps meeting
/// changes it did not know (other requests' versioned saves, a creation time): the first write
/// and its retries. After that many it gives up with `CDYN_ERR_CONFLICT`.
pub const CDYN_MAX_SAVE_ATTEMPTS: u32 = 10;
// The core decides the number; the header shows it.
const _: () = assert!(CDYN_MAX_SAVE_ATTEMPTS == connect_dynamodb_core::MAX_SAVE_ATTEMPTS);

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

/// What `cdyn_store_save` did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum cdyn_save_outcome {
    /// The session was written.
    CDYN_SAVE_WRITTEN = 0,
    /// The session has ended: it was destroyed moments ago (its tombstone is still there, see
    /// `cdyn_config_set_tombstone_lifetime`) or it is older than the absolute timeout
    /// (`cdyn_config_set_absolute_timeout`). Nothing was written: a request that loaded the
    /// session before it ended does not bring it back. Not an error.
    CDYN_SAVE_ENDED = 1,
}

/// # Safety
/// `store` is NULL or a store from `cdyn_store_new` that is not freed during the call.
pub(crate) unsafe fn store_ref<'a>(store: *const cdyn_store) -> Outcome<&'a Arc<ProcessStore>> {
    // SAFETY: per this function's contract.
    unsafe { store.as_ref() }
        .map(|s| &s.process)
        .ok_or_else(|| Failure::invalid_argument("`store` is NULL"))
}

/// Runs a store operation, blocking the calling thread, and writes
/// its C values to the out-parameters: the blocking twin of `nonblocking::start`.
pub(crate) fn blocking<T: Send + 'static, O: CValue>(
    store: *const cdyn_store,
    error: *mut *mut cdyn_error,
    outs: impl OutParams<O>,
    args: impl FnOnce() -> Outcome<Call<T, O>>,
) -> cdyn_status {
    boundary(error, || {
        outs.check()?;
        // SAFETY (this block and the write below): the exported functions' documented contract
        // of their out-parameters.
        unsafe { outs.reset() };
        let call = args()?;
        // SAFETY: the caller passes NULL or a store that is not freed during the call.
        let process = unsafe { store_ref(store) }?;
        // On the calling thread's own runtime and store once this process's store is built
        // (connect_dynamodb_runtime's "Calls that block the calling thread").
        let value = match process.thread_store() {
            Some(here) => block_here((call.run)(here))??,
            None => block_on(async move { (call.run)(process.store().await?).await })??,
        };
        let values = (call.output)(value)?;
        unsafe { outs.write(values) };
        Ok(())
    })
}

/// The version of this library, e.g. `"4.0.0-alpha.0"` (the npm package's and the wheel's too).
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
/// `CDYN_ERR_INTERNAL`. The table is checked (and created when missing) by the first session
/// call instead, as `cdyn_config_set_first_use` configures.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_new(
    config: *const cdyn_config,
    store: *mut *mut cdyn_store,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY: the caller passes NULL or writable storage for a pointer.
        let out = unsafe { store.as_mut() }
            .ok_or_else(|| Failure::invalid_argument("`store` is NULL"))?;
        *out = ptr::null_mut();
        // SAFETY: the caller passes NULL or a live configuration.
        let config = unsafe { config.as_ref() }
            .ok_or_else(|| Failure::invalid_argument("`config` is NULL"))?
            .build()?;
        let process = Arc::new(ProcessStore::new(config));
        // Builds the client now, so that configuration problems show here.
        block_on(process.store())??;
        *out = Box::into_raw(Box::new(cdyn_store { process }));
        Ok(())
    })
}

/// Frees a store: stops its background reaper and closes its connections once the pending
/// non-blocking calls on it have completed. (Blocking calls run over connections of the calling
/// thread: those of this thread close now, another thread's at its next blocking call, or when
/// it ends.)
/// `cdyn_store_free(NULL)` does nothing.
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
/// stored, destroyed, expired however late DynamoDB's TTL deletes it, or older than the
/// absolute timeout however active), `*found` is false,
/// `*session` NULL and the lengths and expiry 0: a missing session is not an error. With
/// versioned writes on (`cdyn_config_set_merge`), a request that saves the session afterwards
/// loads it with `cdyn_store_load` instead, which also gives the version to save from.
///
/// Ownership: borrows `store` and `sid`. `*session` belongs to the caller, who frees it with
/// `cdyn_string_free`. `found` and `session` are required; `session_len` and `expires` may be
/// NULL. On failure the outputs are set as for a missing session.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8, an empty `sid`, or a key
/// over 2048 bytes), `CDYN_ERR_UNREADABLE` (the session is encrypted with a key this store
/// was not given, or in a newer item format), `CDYN_ERR_TABLE_NOT_FOUND`,
/// `CDYN_ERR_THROTTLED`, `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`,
/// `CDYN_ERR_SERVICE` or `CDYN_ERR_INTERNAL`.
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
    blocking(
        store,
        error,
        (
            Out::Required(found, "found"),
            Out::Required(session, "session"),
            Out::Optional(session_len),
            Out::Optional(expires),
        ),
        || unsafe { op::get(sid) },
    )
}

/// `cdyn_store_get`, also giving the version the session was loaded at, for
/// `cdyn_store_save` (versioned writes, `cdyn_config_set_merge`). A request that loads a
/// session to change it and save it loads it with this call and hands the version to its save:
///
/// ```c
/// bool found, has_version;
/// uint64_t version;
/// cdyn_store_load(store, sid, &found, &json, NULL, NULL, &has_version, &version, &err);
/// /* ... the request changes the session ... */
/// cdyn_store_save(store, sid, new_json, expires, CDYN_CONDITION_ALWAYS,
///                 has_version ? &version : NULL, &outcome, &has_version, &version, &err);
/// /* a further save of this request passes the version this one wrote, as above */
/// ```
///
/// Sets what `cdyn_store_get` sets, and `*has_version` (when not NULL) to whether a version
/// was loaded: true for a live session with versioned writes on (an item without a version,
/// as connect-dynamodb 3.x and stores with merging off write it, is version 0), false with
/// versioned writes off or no live session. `*version` (when not NULL) receives the version,
/// 0 when there is none. Costs what `cdyn_store_get` costs (one GetItem): with versioned
/// writes on, the store remembers what it loaded (in bounded memory) so that a save of this
/// version can merge its changes onto another request's.
///
/// Ownership: borrows `store` and `sid`. `*session` belongs to the caller, who frees it with
/// `cdyn_string_free`. `found` and `session` are required; `session_len`, `expires`,
/// `has_version` and `version` may be NULL. On failure the outputs are set as for a missing
/// session.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_load(
    store: *const cdyn_store,
    sid: *const c_char,
    found: *mut bool,
    session: *mut *mut c_char,
    session_len: *mut usize,
    expires: *mut i64,
    has_version: *mut bool,
    version: *mut u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(
        store,
        error,
        (
            Out::Required(found, "found"),
            Out::Required(session, "session"),
            Out::Optional(session_len),
            Out::Optional(expires),
            Out::Optional(has_version),
            Out::Optional(version),
        ),
        || unsafe { op::load(sid) },
    )
}

/// Stores `session` (JSON text, NUL-terminated) under `sid` until `expires` (epoch seconds;
/// `CDYN_EXPIRES_DEFAULT` for now plus the default lifetime; a time in the past stores a
/// session that is already expired). `condition` is `CDYN_CONDITION_ALWAYS` (replace whatever
/// is stored), `CDYN_CONDITION_IF_ABSENT` or `CDYN_CONDITION_IF_PRESENT`; a condition that does
/// not hold gives `CDYN_ERR_CONFLICT` and leaves the stored session as it was.
///
/// A session that has ended (destroyed moments ago, or older than the absolute timeout) is
/// not written, and with `CDYN_CONDITION_ALWAYS` that is a quiet `CDYN_OK`: use
/// `cdyn_store_save` to learn whether the session was written. With `CDYN_CONDITION_IF_ABSENT`
/// or `CDYN_CONDITION_IF_PRESENT` an ended session gives `CDYN_ERR_CONFLICT`.
///
/// This is `cdyn_store_save` of a session the request did not load (`loaded` NULL): with
/// merging on (`cdyn_config_set_merge`) too, it replaces what is stored and merges nothing. To
/// keep a concurrent request's changes, load with `cdyn_store_load` and save with
/// `cdyn_store_save`, passing the version loaded.
///
/// One conditional PutItem. When its condition meets something this process did not know (a
/// tombstone; with merging on, any stored version), DynamoDB returns the stored item with the
/// refusal: a tombstone ends the save there, a stored session is replaced with one more
/// PutItem.
///
/// Ownership: borrows every argument; the strings are copied.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8, an empty or oversized
/// `sid`, `expires` out of range, an unknown `condition`), `CDYN_ERR_SERIALIZATION` (not valid
/// JSON), `CDYN_ERR_ITEM_TOO_LARGE` (over DynamoDB's 400 KB), `CDYN_ERR_CONFLICT`,
/// `CDYN_ERR_UNREADABLE` (a conditional write met a stored session this store cannot read),
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
    blocking(store, error, (), || unsafe {
        op::set(sid, session, expires, condition)
    })
}

/// Stores `session` under `sid` as `cdyn_store_set` does (the same `expires` and
/// `condition`), from the version the request loaded, and tells what it did.
///
/// `loaded` points to the version `cdyn_store_load` gave for this session (its `*version`
/// when `*has_version` was true), or to the `*written_version` of this request's previous
/// save of it; NULL for a session the request did not load (a new or regenerated one, or
/// with versioned writes off, where it is ignored). With versioned writes on
/// (`cdyn_config_set_merge`):
///
/// - `loaded` not NULL: the write is conditional on that version. When another request saved
///   the session in between, the keys this request changed (against what it loaded, which
///   the store remembers) are applied onto the stored session, the other keys keep the other
///   request's values, and a key both changed takes this request's value under
///   `CDYN_MERGE_MINE` or fails the save with `CDYN_ERR_CONFLICT` under `CDYN_MERGE_ERROR`
///   (nothing written). When another request saved in between and this store no longer
///   remembers that load (its bounded memory dropped it, or another store loaded it),
///   nothing can be merged: `CDYN_MERGE_MINE` writes this session whole and
///   `CDYN_MERGE_ERROR` gives `CDYN_ERR_CONFLICT`.
/// - `loaded` NULL: the session replaces what is stored (no merge), as `cdyn_store_set`.
/// - A request that saves a session twice passes the `*written_version` of its first save as
///   `loaded` of the second; passing the version it loaded instead makes the second save merge
///   against the first and can undo what the second changed (a key it deleted comes back).
///
/// Sets, on success: `*outcome` (when not NULL) to `CDYN_SAVE_WRITTEN`, or to
/// `CDYN_SAVE_ENDED` when the session has ended (destroyed moments ago, or older than the
/// absolute timeout) and nothing was written; `*has_written_version` (when not NULL) to
/// whether a version was written (versioned writes on and the session written); and
/// `*written_version` (when not NULL) to that version, 0 when there is none.
///
/// Costs what `cdyn_store_set` costs: one conditional PutItem; a save that meets a concurrent
/// change costs one more PutItem per round (DynamoDB returns the stored item with the refused
/// write, so nothing is read) and gives up with `CDYN_ERR_CONFLICT` after
/// `CDYN_MAX_SAVE_ATTEMPTS` writes. With versioned writes on, a save with `loaded` NULL
/// replaces the stored session: one PutItem when the store knows the stored version (it loaded
/// or saved it last), two when another process saved since (the first is refused).
///
/// Ownership: borrows every argument; the strings and `*loaded` are copied. The outputs are
/// written only on success.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_save(
    store: *const cdyn_store,
    sid: *const c_char,
    session: *const c_char,
    expires: i64,
    condition: cdyn_condition,
    loaded: *const u64,
    outcome: *mut cdyn_save_outcome,
    has_written_version: *mut bool,
    written_version: *mut u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(
        store,
        error,
        (
            Out::OnSuccess(outcome),
            Out::OnSuccess(has_written_version),
            Out::OnSuccess(written_version),
        ),
        || unsafe { op::save(sid, session, expires, condition, loaded) },
    )
}

/// Moves the expiry of a live session to `expires` (epoch seconds, or `CDYN_EXPIRES_DEFAULT`;
/// never past the session's creation plus the absolute timeout, when one is configured)
/// without touching its data, and sets `*outcome` (when not NULL) to what happened:
/// `CDYN_TOUCH_UPDATED`, `CDYN_TOUCH_THROTTLED` (the stored expiry is already close; nothing
/// was sent) or `CDYN_TOUCH_NOT_FOUND` (no live session: missing, expired, destroyed or older
/// than the absolute timeout; never re-created), and
/// `*stored_expires` (when not NULL) to the expiry the session has now, in epoch seconds as
/// `cdyn_store_get` reports it: the new one when updated, the one already stored when
/// throttled, 0 when not found.
///
/// Ownership: borrows every argument. `*outcome` and `*stored_expires` are written only on
/// success.
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
    stored_expires: *mut i64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(
        store,
        error,
        (Out::OnSuccess(outcome), Out::OnSuccess(stored_expires)),
        || unsafe { op::touch(sid, expires) },
    )
}

/// Ends the session `sid`; ending a missing session is not an error. One write request: a
/// tombstone (PutItem) that keeps the id ended for the configured tombstone lifetime, so that
/// a request that loaded the session before and saves or touches it afterwards writes nothing;
/// with the tombstone lifetime set to 0, a DeleteItem.
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
    blocking(store, error, (), || unsafe { op::destroy(sid) })
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
    blocking(store, error, (Out::Required(ids, "ids"),), || unsafe {
        op::ids()
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
    blocking(
        store,
        error,
        (Out::Required(length, "length"),),
        || unsafe { op::length() },
    )
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
    blocking(store, error, (Out::OnSuccess(report),), || unsafe {
        op::clear()
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
    blocking(store, error, (Out::OnSuccess(report),), || unsafe {
        op::reap()
    })
}

/// Re-encrypts idle sessions after a key rotation: one scan of the store's prefix that
/// rewrites every live session not encrypted with the first key
/// (`cdyn_config_add_encryption_key`), plain ones included, each with a conditional write
/// that leaves a session changed meanwhile alone. Sets `*report` (when not NULL) to what was
/// scanned, rewritten, and left as it was because this store cannot read it. Once it reports
/// nothing unreadable, the keys after the first one can be dropped. Sessions in use are
/// re-encrypted by their next write anyway.
///
/// Ownership: borrows every argument. `*report` is written only on success.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_ids`, and `CDYN_ERR_INVALID_CONFIG` when the store has
/// no encryption key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_reencrypt(
    store: *const cdyn_store,
    report: *mut cdyn_reencrypted,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(store, error, (Out::OnSuccess(report),), || unsafe {
        op::reencrypt()
    })
}

/// Creates the table unless it exists (with the configured billing), waits until it is
/// ACTIVE, enables TTL on `expires`, and verifies it. With a user field configured
/// (`cdyn_config_set_user_field`) it also creates the global secondary index `user-index`,
/// adding it to an existing table (which a store's first use, `cdyn_config_set_first_use`,
/// does not do), and waits for it. `*created` (when not NULL) tells whether
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
    blocking(
        store,
        error,
        (Out::Optional(created), Out::Optional(problems)),
        || unsafe { op::create_table() },
    )
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
    blocking(
        store,
        error,
        (Out::Required(exists, "exists"),),
        || unsafe { op::table_exists() },
    )
}

/// Checks the configured table (ACTIVE, a single string hash key of the configured name, TTL
/// on `expires`, and with a user field the index `user-index` on `user`) and sets `*problems`
/// (required) to what is wrong, one English sentence per problem; an empty list means the
/// table is fit for sessions. Needs DescribeTable and
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
    blocking(
        store,
        error,
        (Out::Required(problems, "problems"),),
        || unsafe { op::verify_table() },
    )
}

/// Lists the live sessions of `user` (the value of the configured user field in their
/// session JSON; a whole number is given as its decimal text, e.g. `"42"`) into `*sessions`:
/// each one's id, expiry and creation time, in no particular order. One Query of the index
/// `user-index` per page of results, never a scan. The index is eventually consistent: a
/// session saved a moment ago may be missing, and one ended a moment ago may still be listed.
///
/// Ownership: borrows every argument. `*sessions` (required; NULL on failure) belongs to the
/// caller, who frees it with `cdyn_user_session_list_free`.
/// Thread safety: may be called from many threads at once on one store.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_CONFIG` (no user field configured: the error names
/// `cdyn_config_set_user_field`), `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8, an empty
/// `user` or one over 1024 bytes), `CDYN_ERR_TABLE_NOT_FOUND` (no table, or a table without
/// the `user-index`, which only `cdyn_store_create_table` adds to an existing table),
/// `CDYN_ERR_THROTTLED`,
/// `CDYN_ERR_AUTH`, `CDYN_ERR_TIMEOUT`, `CDYN_ERR_TRANSPORT`, `CDYN_ERR_SERVICE` or
/// `CDYN_ERR_INTERNAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_user_sessions(
    store: *const cdyn_store,
    user: *const c_char,
    sessions: *mut *mut cdyn_user_session_list,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(
        store,
        error,
        (Out::Required(sessions, "sessions"),),
        || unsafe { op::user_sessions(user) },
    )
}

/// Ends every live session of `user` but `except` ("log out everywhere"; `except` is the
/// caller's current session id, or NULL to end them all), as `cdyn_store_destroy` ends one
/// (a tombstone each), and sets `*ended` (when not NULL) to how many it ended. Lists them as
/// `cdyn_store_user_sessions` does, then ends them in BatchWriteItem requests of 25. The index
/// is eventually consistent: a session saved a moment before this call may not be listed yet,
/// and then survives it.
///
/// Ownership: borrows every argument. `*ended` is set to 0 first.
/// Thread safety: may be called from many threads at once on one store.
/// Returns the statuses of `cdyn_store_user_sessions`, and `CDYN_ERR_INVALID_ARGUMENT` for an
/// empty `except` (no session has that id: it would keep none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_end_user_sessions(
    store: *const cdyn_store,
    user: *const c_char,
    except: *const c_char,
    ended: *mut u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    blocking(store, error, (Out::Optional(ended),), || unsafe {
        op::end_user_sessions(user, except)
    })
}
