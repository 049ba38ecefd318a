//! The non-blocking store calls, for event-loop programs: each returns at once, and a
//! completion callback receives the result on a library thread.
//!
//! Every `cdyn_store_*_async` function runs the operation its blocking twin runs (both are
//! declared once, in `operation.rs`) and follows the contract stated under "Non-blocking
//! calls" at the top of the header (`ffi/cbindgen.toml`): it returns at once, and its callback
//! runs exactly once on a library thread, owning what it receives.

use std::ffi::{c_char, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;

use connect_dynamodb_runtime::{ProcessStore, handle};
use futures_util::FutureExt;

use crate::error::{Failure, Outcome, boundary, cdyn_error, cdyn_status};
use crate::operation::{self as op, CValue, Call, Callback};
use crate::store::{cdyn_condition, cdyn_save_outcome, cdyn_store, cdyn_touch_outcome, store_ref};
use crate::values::{cdyn_reap_report, cdyn_reencrypted, cdyn_string_list, cdyn_user_session_list};

/// Receives the result of `cdyn_store_get_async`: `found`, the session JSON text (NULL when
/// not found; the callback frees it with `cdyn_string_free`), its length in bytes and its
/// expiry in epoch seconds, as `cdyn_store_get` gives them.
#[allow(non_camel_case_types)]
pub type cdyn_get_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        found: bool,
        session: *mut c_char,
        session_len: usize,
        expires: i64,
        error: *mut cdyn_error,
    ),
>;

/// Receives the result of `cdyn_store_load_async`: what `cdyn_get_callback` receives, and
/// whether a version was loaded and which, as `cdyn_store_load` sets them (false and 0 when
/// not found, with versioned writes off, and on failure).
#[allow(non_camel_case_types)]
pub type cdyn_load_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        found: bool,
        session: *mut c_char,
        session_len: usize,
        expires: i64,
        has_version: bool,
        version: u64,
        error: *mut cdyn_error,
    ),
>;

/// Receives the result of a call that returns nothing but its status (`cdyn_store_set_async`,
/// `cdyn_store_destroy_async`).
#[allow(non_camel_case_types)]
pub type cdyn_done_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, status: cdyn_status, error: *mut cdyn_error),
>;

/// Receives the result of `cdyn_store_save_async`: what the save did and the version it
/// wrote, as `cdyn_store_save` sets them (`CDYN_SAVE_WRITTEN`, false and 0 on failure, where
/// they mean nothing: check the status).
#[allow(non_camel_case_types)]
pub type cdyn_save_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        outcome: cdyn_save_outcome,
        has_written_version: bool,
        written_version: u64,
        error: *mut cdyn_error,
    ),
>;

/// Receives the result of `cdyn_store_user_sessions_async`: the user's sessions, which the
/// callback frees with `cdyn_user_session_list_free` (NULL on failure).
#[allow(non_camel_case_types)]
pub type cdyn_user_sessions_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        sessions: *mut cdyn_user_session_list,
        error: *mut cdyn_error,
    ),
>;

/// Receives the result of `cdyn_store_touch_async`: the outcome and the expiry the session
/// has now, as `cdyn_store_touch` sets them (`CDYN_TOUCH_NOT_FOUND` and 0 on failure).
#[allow(non_camel_case_types)]
pub type cdyn_touch_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        outcome: cdyn_touch_outcome,
        stored_expires: i64,
        error: *mut cdyn_error,
    ),
>;

/// Receives a string list (`cdyn_store_ids_async`, `cdyn_store_verify_table_async`); the
/// callback frees it with `cdyn_string_list_free` (NULL on failure).
#[allow(non_camel_case_types)]
pub type cdyn_list_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        list: *mut cdyn_string_list,
        error: *mut cdyn_error,
    ),
>;

/// Receives a number: the count of `cdyn_store_length_async`, the sessions ended by
/// `cdyn_store_end_user_sessions_async` (0 on failure).
#[allow(non_camel_case_types)]
pub type cdyn_count_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        count: u64,
        error: *mut cdyn_error,
    ),
>;

/// Receives a reap report (`cdyn_store_clear_async`, `cdyn_store_reap_async`).
#[allow(non_camel_case_types)]
pub type cdyn_report_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        report: cdyn_reap_report,
        error: *mut cdyn_error,
    ),
>;

/// Receives what `cdyn_store_reencrypt_async` did.
#[allow(non_camel_case_types)]
pub type cdyn_reencrypted_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        report: cdyn_reencrypted,
        error: *mut cdyn_error,
    ),
>;

/// Receives a yes or no (`cdyn_store_table_exists_async`).
#[allow(non_camel_case_types)]
pub type cdyn_flag_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        flag: bool,
        error: *mut cdyn_error,
    ),
>;

/// Receives the result of `cdyn_store_create_table_async`: whether this call created the
/// table, and the problems still found (the callback frees the list with
/// `cdyn_string_list_free`; NULL on failure).
#[allow(non_camel_case_types)]
pub type cdyn_create_table_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        created: bool,
        problems: *mut cdyn_string_list,
        error: *mut cdyn_error,
    ),
>;

/// `user_data` of the non-blocking calls, handed back to the callback on another thread.
#[derive(Debug, Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the library never dereferences it; the caller who passes it to a non-blocking call
// accepts that its callback runs on a library thread.
unsafe impl Send for UserData {}

impl UserData {
    /// A method, so that a closure captures the whole `UserData`, not its pointer.
    fn get(self) -> *mut c_void {
        self.0
    }
}

/// Starts a store operation on the library's runtime and returns at once: the non-blocking
/// twin of `store::blocking`. The callback then runs exactly once, with the operation's C
/// values or its failure, on a thread of the runtime's blocking pool, so that a slow callback
/// never holds up the workers.
pub(crate) fn start<T: Send + 'static, O: CValue + 'static, C: Callback<O>>(
    store: *const cdyn_store,
    error: *mut *mut cdyn_error,
    callback: Option<C>,
    user_data: *mut c_void,
    args: impl FnOnce() -> Outcome<Call<T, O>>,
) -> cdyn_status {
    boundary(error, || {
        let callback = callback.ok_or_else(|| Failure::invalid_argument("`callback` is NULL"))?;
        let call = args()?;
        // SAFETY: the caller passes NULL or a store that is not freed during this call.
        let process = Arc::clone(unsafe { store_ref(store) }?);
        let runtime = handle()?;
        let user_data = UserData(user_data);
        // From here on the callback runs exactly once, whatever happens to the task.
        let delivery = Delivery::new(
            move |result: Outcome<T>| {
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe { respond(callback, user_data.get(), result, call.output) }
            },
            Arc::clone(&process),
        );
        runtime.spawn(async move {
            let work = async { Ok((call.run)(process.store().await?).await?) };
            let result = AssertUnwindSafe(work)
                .catch_unwind()
                .await
                .unwrap_or_else(|p| Err(Failure::panic(p)));
            drop(process);
            // Detached: nothing waits for the callback.
            drop(tokio::task::spawn_blocking(move || delivery.run(result)));
        });
        Ok(())
    })
}

/// Converts a result for a callback and calls it: the C values, or a status and an error.
///
/// # Safety
/// `callback` is the caller's, called once with what its type documents.
unsafe fn respond<T, O: CValue, C: Callback<O>>(
    callback: C,
    user_data: *mut c_void,
    result: Outcome<T>,
    output: fn(T) -> Outcome<O>,
) {
    let converted = catch_unwind(AssertUnwindSafe(|| result.and_then(output)))
        .unwrap_or_else(|p| Err(Failure::panic(p)));
    // SAFETY: per this function's contract.
    unsafe {
        match converted {
            Ok(values) => callback.call(user_data, cdyn_status::CDYN_OK, values, ptr::null_mut()),
            Err(f) => callback.call(user_data, f.status, O::EMPTY, f.into_error()),
        }
    }
}

/// Hands a call's result to its callback exactly once, and keeps the store's state alive until
/// the callback has returned. A delivery dropped before it ran (its task dropped unfinished,
/// which the library's runtime, never shut down, does not do today) calls the callback with
/// `CDYN_ERR_INTERNAL` instead, so that no caller can wait forever for a callback.
struct Delivery<T, D: FnOnce(Outcome<T>)> {
    deliver: Option<D>,
    shared: Option<Arc<ProcessStore>>,
    _result: PhantomData<fn(T)>,
}

impl<T, D: FnOnce(Outcome<T>)> Delivery<T, D> {
    fn new(deliver: D, shared: Arc<ProcessStore>) -> Self {
        Delivery {
            deliver: Some(deliver),
            shared: Some(shared),
            _result: PhantomData,
        }
    }

    fn run(mut self, result: Outcome<T>) {
        if let Some(deliver) = self.deliver.take() {
            deliver(result);
        }
    }
}

impl<T, D: FnOnce(Outcome<T>)> Drop for Delivery<T, D> {
    fn drop(&mut self) {
        if let Some(deliver) = self.deliver.take() {
            deliver(Err(Failure::internal(
                "the call was abandoned before its result could be delivered",
            )));
        }
        // Only now, after the callback has returned.
        drop(self.shared.take());
    }
}

impl<T, D: FnOnce(Outcome<T>)> std::fmt::Debug for Delivery<T, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("delivered", &self.deliver.is_none())
            .finish_non_exhaustive()
    }
}

/// Non-blocking `cdyn_store_get`; `callback` receives what `cdyn_store_get` would set, or one
/// of the failures of `cdyn_store_get` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_get_async(
    store: *const cdyn_store,
    sid: *const c_char,
    callback: cdyn_get_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::get(sid)
    })
}

/// Non-blocking `cdyn_store_load`; `callback` receives what `cdyn_store_load` would set, or
/// one of the failures of `cdyn_store_load` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_load_async(
    store: *const cdyn_store,
    sid: *const c_char,
    callback: cdyn_load_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::load(sid)
    })
}

/// Non-blocking `cdyn_store_set`, with the same arguments; `callback` receives the status, or
/// one of the failures of `cdyn_store_set` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_set_async(
    store: *const cdyn_store,
    sid: *const c_char,
    session: *const c_char,
    expires: i64,
    condition: cdyn_condition,
    callback: cdyn_done_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::set(sid, session, expires, condition)
    })
}

/// Non-blocking `cdyn_store_save`, with the same arguments but the outputs (`*loaded` is
/// copied before this returns); `callback` receives what the save did and the version it
/// wrote, or one of the failures of `cdyn_store_save` (see "Non-blocking calls" at the top of
/// this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_save_async(
    store: *const cdyn_store,
    sid: *const c_char,
    session: *const c_char,
    expires: i64,
    condition: cdyn_condition,
    loaded: *const u64,
    callback: cdyn_save_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::save(sid, session, expires, condition, loaded)
    })
}

/// Non-blocking `cdyn_store_touch`; `callback` receives the outcome and the expiry left stored,
/// or one of the failures of `cdyn_store_touch` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_touch_async(
    store: *const cdyn_store,
    sid: *const c_char,
    expires: i64,
    callback: cdyn_touch_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::touch(sid, expires)
    })
}

/// Non-blocking `cdyn_store_destroy`; `callback` receives the status, or one of the failures of
/// `cdyn_store_destroy` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_destroy_async(
    store: *const cdyn_store,
    sid: *const c_char,
    callback: cdyn_done_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::destroy(sid)
    })
}

/// Non-blocking `cdyn_store_ids`; `callback` receives the list of ids, or one of the failures
/// of `cdyn_store_ids` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_ids_async(
    store: *const cdyn_store,
    callback: cdyn_list_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe { op::ids() })
}

/// Non-blocking `cdyn_store_length`; `callback` receives the count, or one of the failures of
/// `cdyn_store_length` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_length_async(
    store: *const cdyn_store,
    callback: cdyn_count_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::length()
    })
}

/// Non-blocking `cdyn_store_clear`; `callback` receives the report, or one of the failures of
/// `cdyn_store_clear` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_clear_async(
    store: *const cdyn_store,
    callback: cdyn_report_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe { op::clear() })
}

/// Non-blocking `cdyn_store_reap`; `callback` receives the report, or one of the failures of
/// `cdyn_store_reap` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_reap_async(
    store: *const cdyn_store,
    callback: cdyn_report_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe { op::reap() })
}

/// Non-blocking `cdyn_store_reencrypt`; `callback` receives the report, or one of the
/// failures of `cdyn_store_reencrypt` (see "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_reencrypt_async(
    store: *const cdyn_store,
    callback: cdyn_reencrypted_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::reencrypt()
    })
}

/// Non-blocking `cdyn_store_create_table`; `callback` receives whether this call created the
/// table and the problems still found, or one of the failures of `cdyn_store_create_table` (see
/// "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_create_table_async(
    store: *const cdyn_store,
    callback: cdyn_create_table_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::create_table()
    })
}

/// Non-blocking `cdyn_store_table_exists`; `callback` receives whether the table exists, or one
/// of the failures of `cdyn_store_table_exists` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_table_exists_async(
    store: *const cdyn_store,
    callback: cdyn_flag_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::table_exists()
    })
}

/// Non-blocking `cdyn_store_verify_table`; `callback` receives the problems found, or one of
/// the failures of `cdyn_store_verify_table` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_verify_table_async(
    store: *const cdyn_store,
    callback: cdyn_list_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::verify_table()
    })
}

/// Non-blocking `cdyn_store_user_sessions`; `callback` receives the user's sessions, or one
/// of the failures of `cdyn_store_user_sessions` (see "Non-blocking calls" at the top of this
/// header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_user_sessions_async(
    store: *const cdyn_store,
    user: *const c_char,
    callback: cdyn_user_sessions_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::user_sessions(user)
    })
}

/// Non-blocking `cdyn_store_end_user_sessions` (`except` may be NULL); `callback` receives
/// how many sessions were ended, or one of the failures of `cdyn_store_end_user_sessions` (see
/// "Non-blocking calls" at the top of this header).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_end_user_sessions_async(
    store: *const cdyn_store,
    user: *const c_char,
    except: *const c_char,
    callback: cdyn_count_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    start(store, error, callback, user_data, || unsafe {
        op::end_user_sessions(user, except)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn shared() -> Arc<ProcessStore> {
        Arc::new(ProcessStore::new(
            connect_dynamodb_core::Config::builder()
                .region("us-east-1")
                .build()
                .expect("a valid configuration"),
        ))
    }

    #[test]
    fn a_delivery_runs_once_with_the_result() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let state = shared();
        let delivery = Delivery::new(
            move |r: Outcome<u32>| log.lock().expect("lock").push(r.map_err(|f| f.status)),
            Arc::clone(&state),
        );
        delivery.run(Ok(7));
        assert_eq!(*seen.lock().expect("lock"), vec![Ok(7)]);
        // The store's state is released once the callback has run.
        assert_eq!(Arc::strong_count(&state), 1);
    }

    #[test]
    fn a_dropped_delivery_still_calls_back_once_with_internal() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let state = shared();
        let delivery = Delivery::new(
            move |r: Outcome<u32>| log.lock().expect("lock").push(r.map_err(|f| f.status)),
            Arc::clone(&state),
        );
        drop(delivery);
        assert_eq!(
            *seen.lock().expect("lock"),
            vec![Err(cdyn_status::CDYN_ERR_INTERNAL)]
        );
        assert_eq!(Arc::strong_count(&state), 1);
    }
}
