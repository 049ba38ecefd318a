//! The non-blocking store calls, for event-loop programs: each returns at once, and a
//! completion callback receives the result on a library thread.
//!
//! Every `cdyn_store_*_async` function follows the same contract:
//!
//! - It returns `CDYN_OK` when the call was started; its callback then runs exactly once.
//!   It returns `CDYN_ERR_INVALID_ARGUMENT` at once (and never calls the callback) for a NULL
//!   `store` or `callback`, a NULL or non-UTF-8 string, a negative expiry or an unknown
//!   constant; other problems (an empty session id, every DynamoDB failure) reach the
//!   callback.
//! - The callback runs on a thread of the library (never on the calling thread, never inside
//!   the `_async` call), with the `user_data` given. Callbacks of different calls may run at
//!   the same time on different threads. Keep them short, e.g. hand the result to your event
//!   loop; blocking calls of this library work inside a callback too. A callback must return
//!   normally (no C++ exception, no longjmp out of it).
//! - On success the callback's status is `CDYN_OK` and its error NULL; on failure the status
//!   is the failure's and the error describes it, with the other values empty (false, NULL,
//!   0). The callback owns the error and every string or list it receives: it frees them
//!   (`cdyn_error_free`, `cdyn_string_free`, `cdyn_string_list_free`), now or later, on any
//!   thread.
//! - The store is kept alive by the library until the callback has returned: the caller may
//!   call `cdyn_store_free` while calls are pending. Arguments are copied before the function
//!   returns.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;

use connect_dynamodb_core::SessionStore;
use futures_util::FutureExt;

use crate::config::str_arg;
use crate::error::{Failure, Outcome, boundary, cdyn_error, cdyn_status};
use crate::runtime::runtime;
use crate::store::{
    Found, Shared, UserData, cdyn_condition, cdyn_store, cdyn_touch_outcome, condition_arg,
    created, expiry_arg, problems,
};
use crate::values::{cdyn_reap_report, cdyn_string_list};

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

/// Receives the result of a call that returns nothing but its status (`cdyn_store_set_async`,
/// `cdyn_store_destroy_async`).
#[allow(non_camel_case_types)]
pub type cdyn_done_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, status: cdyn_status, error: *mut cdyn_error),
>;

/// Receives the result of `cdyn_store_touch_async` (the outcome is `CDYN_TOUCH_NOT_FOUND`
/// on failure).
#[allow(non_camel_case_types)]
pub type cdyn_touch_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: cdyn_status,
        outcome: cdyn_touch_outcome,
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

/// Receives a number (`cdyn_store_length_async`).
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

impl UserData {
    fn get(self) -> *mut c_void {
        self.0
    }
}

fn required<F>(callback: Option<F>) -> Outcome<F> {
    callback.ok_or_else(|| Failure::invalid_argument("`callback` is NULL"))
}

/// Starts `op` on the library's runtime; `deliver` then runs once with its result on a thread
/// of the runtime's blocking pool, so that a slow callback never holds up the workers.
fn submit<T, F, Fut, D>(store: *const cdyn_store, op: F, deliver: D) -> Outcome
where
    T: Send + 'static,
    F: FnOnce(SessionStore) -> Fut + Send + 'static,
    Fut: Future<Output = connect_dynamodb_core::Result<T>> + Send + 'static,
    D: FnOnce(Outcome<T>) + Send + 'static,
{
    // SAFETY: the caller passes NULL or a store that is not freed during this call.
    let shared = unsafe { store.as_ref() }
        .ok_or_else(|| Failure::invalid_argument("`store` is NULL"))?
        .shared
        .clone();
    let runtime = runtime()?;
    // From here on the callback runs exactly once, whatever happens to the task.
    let delivery = Delivery::new(deliver, Arc::clone(&shared));
    runtime.spawn(async move {
        let work = async {
            let store = shared.store().await?;
            Ok(op(store).await?)
        };
        let result = AssertUnwindSafe(work)
            .catch_unwind()
            .await
            .unwrap_or_else(|p| Err(Failure::panic(p)));
        drop(shared);
        // Detached: nothing waits for the callback.
        drop(tokio::task::spawn_blocking(move || delivery.run(result)));
    });
    Ok(())
}

/// Hands a call's result to its callback exactly once, and keeps the store's state alive until
/// the callback has returned. A delivery dropped before it ran (its task dropped unfinished,
/// which the library's runtime, never shut down, does not do today) calls the callback with
/// `CDYN_ERR_INTERNAL` instead, so that no caller can wait forever for a callback.
struct Delivery<T, D: FnOnce(Outcome<T>)> {
    deliver: Option<D>,
    shared: Option<Arc<Shared>>,
    _result: PhantomData<fn(T)>,
}

impl<T, D: FnOnce(Outcome<T>)> Delivery<T, D> {
    fn new(deliver: D, shared: Arc<Shared>) -> Self {
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

/// Converts a result for a callback: the converted outputs, or a status and an error.
fn respond<T, O>(
    result: Outcome<T>,
    convert: impl FnOnce(T) -> Outcome<O>,
) -> Result<O, (cdyn_status, *mut cdyn_error)> {
    catch_unwind(AssertUnwindSafe(|| result.and_then(convert)))
        .unwrap_or_else(|p| Err(Failure::panic(p)))
        .map_err(|f| (f.status, f.into_error()))
}

/// Non-blocking `cdyn_store_get`: `callback` receives what `cdyn_store_get` would set.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the session text and the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_get_async(
    store: *const cdyn_store,
    sid: *const c_char,
    callback: cdyn_get_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let sid = unsafe { str_arg(sid, "sid") }?.to_owned();
        submit(
            store,
            move |s| async move { s.get(&sid).await },
            move |result| {
                let user_data = user_data.get();
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe {
                    match respond(result, Found::of) {
                        Ok(f) => callback(
                            user_data,
                            cdyn_status::CDYN_OK,
                            f.found,
                            f.session,
                            f.len,
                            f.expires,
                            ptr::null_mut(),
                        ),
                        Err((status, error)) => {
                            let n = Found::NONE;
                            callback(user_data, status, n.found, n.session, n.len, 0, error)
                        }
                    }
                }
            },
        )
    })
}

/// Non-blocking `cdyn_store_set`, with the same arguments; `callback` receives the status.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_set`.
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
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        // SAFETY: the caller passes NULL or NUL-terminated strings.
        let sid = unsafe { str_arg(sid, "sid") }?.to_owned();
        // SAFETY: as above.
        let session = unsafe { str_arg(session, "session") }?.to_owned();
        let expires_at = expiry_arg(expires)?;
        let condition = condition_arg(condition)?;
        submit(
            store,
            move |s| async move { s.set_with(&sid, &session, expires_at, condition).await },
            move |result| done(callback, user_data, result),
        )
    })
}

/// Non-blocking `cdyn_store_touch`; `callback` receives the outcome.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_touch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_touch_async(
    store: *const cdyn_store,
    sid: *const c_char,
    expires: i64,
    callback: cdyn_touch_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let sid = unsafe { str_arg(sid, "sid") }?.to_owned();
        let expires_at = expiry_arg(expires)?;
        submit(
            store,
            move |s| async move { s.touch(&sid, expires_at).await },
            move |result| {
                let user_data = user_data.get();
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe {
                    match respond(result, |o| Ok(cdyn_touch_outcome::from(o.outcome))) {
                        Ok(o) => callback(user_data, cdyn_status::CDYN_OK, o, ptr::null_mut()),
                        Err((status, error)) => callback(
                            user_data,
                            status,
                            cdyn_touch_outcome::CDYN_TOUCH_NOT_FOUND,
                            error,
                        ),
                    }
                }
            },
        )
    })
}

/// Non-blocking `cdyn_store_destroy`; `callback` receives the status.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_destroy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_destroy_async(
    store: *const cdyn_store,
    sid: *const c_char,
    callback: cdyn_done_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let sid = unsafe { str_arg(sid, "sid") }?.to_owned();
        submit(
            store,
            move |s| async move { s.destroy(&sid).await },
            move |result| done(callback, user_data, result),
        )
    })
}

/// Non-blocking `cdyn_store_ids`; `callback` receives the list of ids.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the list and the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_ids`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_ids_async(
    store: *const cdyn_store,
    callback: cdyn_list_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.ids().await },
            move |result| {
                list(callback, user_data, result, |ids| {
                    Ok(cdyn_string_list::new(ids))
                })
            },
        )
    })
}

/// Non-blocking `cdyn_store_length`; `callback` receives the count.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_length_async(
    store: *const cdyn_store,
    callback: cdyn_count_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.length().await },
            move |result| {
                let user_data = user_data.get();
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe {
                    match respond(result, Ok) {
                        Ok(n) => callback(user_data, cdyn_status::CDYN_OK, n, ptr::null_mut()),
                        Err((status, error)) => callback(user_data, status, 0, error),
                    }
                }
            },
        )
    })
}

/// Non-blocking `cdyn_store_clear`; `callback` receives the report.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_clear`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_clear_async(
    store: *const cdyn_store,
    callback: cdyn_report_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.clear().await },
            move |result| report(callback, user_data, result),
        )
    })
}

/// Non-blocking `cdyn_store_reap`; `callback` receives the report.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_reap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_reap_async(
    store: *const cdyn_store,
    callback: cdyn_report_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.reap().await },
            move |result| report(callback, user_data, result),
        )
    })
}

/// Non-blocking `cdyn_store_create_table`; `callback` receives whether this call created the
/// table and the problems still found.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the list and the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_create_table`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_create_table_async(
    store: *const cdyn_store,
    callback: cdyn_create_table_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.create_table().await },
            move |result| {
                let user_data = user_data.get();
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe {
                    match respond(result, |setup| Ok(created(&setup))) {
                        Ok((was_created, list)) => callback(
                            user_data,
                            cdyn_status::CDYN_OK,
                            was_created,
                            list.into_raw(),
                            ptr::null_mut(),
                        ),
                        Err((status, error)) => {
                            callback(user_data, status, false, ptr::null_mut(), error)
                        }
                    }
                }
            },
        )
    })
}

/// Non-blocking `cdyn_store_table_exists`; `callback` receives whether the table exists.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_table_exists`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_table_exists_async(
    store: *const cdyn_store,
    callback: cdyn_flag_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.table_exists().await },
            move |result| {
                let user_data = user_data.get();
                // SAFETY: the caller's callback, called once with what its type documents.
                unsafe {
                    match respond(result, Ok) {
                        Ok(b) => callback(user_data, cdyn_status::CDYN_OK, b, ptr::null_mut()),
                        Err((status, error)) => callback(user_data, status, false, error),
                    }
                }
            },
        )
    })
}

/// Non-blocking `cdyn_store_verify_table`; `callback` receives the problems found.
///
/// Ownership: borrows `store`; copies the other arguments before returning. The callback
/// owns the list and the error it receives.
/// Thread safety: may be called from many threads at once on one store; the callback runs
/// once, on a library thread (see "Non-blocking calls" at the top of this header).
/// Returns `CDYN_OK` (started), or `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INTERNAL` (not
/// started: the callback is never called). The callback receives the statuses of
/// `cdyn_store_verify_table`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_store_verify_table_async(
    store: *const cdyn_store,
    callback: cdyn_list_callback,
    user_data: *mut c_void,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    boundary(error, || {
        let callback = required(callback)?;
        let user_data = UserData(user_data);
        submit(
            store,
            move |s| async move { s.verify_table().await },
            move |result| list(callback, user_data, result, |r| Ok(problems(&r))),
        )
    })
}

type DoneFn = unsafe extern "C" fn(*mut c_void, cdyn_status, *mut cdyn_error);
type ListFn =
    unsafe extern "C" fn(*mut c_void, cdyn_status, *mut cdyn_string_list, *mut cdyn_error);
type ReportFn = unsafe extern "C" fn(*mut c_void, cdyn_status, cdyn_reap_report, *mut cdyn_error);

fn done(callback: DoneFn, user_data: UserData, result: Outcome) {
    let user_data = user_data.get();
    // SAFETY: the caller's callback, called once with what its type documents.
    unsafe {
        match respond(result, Ok) {
            Ok(()) => callback(user_data, cdyn_status::CDYN_OK, ptr::null_mut()),
            Err((status, error)) => callback(user_data, status, error),
        }
    }
}

fn list<T>(
    callback: ListFn,
    user_data: UserData,
    result: Outcome<T>,
    convert: impl FnOnce(T) -> Outcome<cdyn_string_list>,
) {
    let user_data = user_data.get();
    // SAFETY: the caller's callback, called once with what its type documents.
    unsafe {
        match respond(result, convert) {
            Ok(l) => callback(
                user_data,
                cdyn_status::CDYN_OK,
                l.into_raw(),
                ptr::null_mut(),
            ),
            Err((status, error)) => callback(user_data, status, ptr::null_mut(), error),
        }
    }
}

fn report(
    callback: ReportFn,
    user_data: UserData,
    result: Outcome<connect_dynamodb_core::ReapReport>,
) {
    let user_data = user_data.get();
    // SAFETY: the caller's callback, called once with what its type documents.
    unsafe {
        match respond(result, |r| Ok(cdyn_reap_report::from(r))) {
            Ok(r) => callback(user_data, cdyn_status::CDYN_OK, r, ptr::null_mut()),
            Err((status, error)) => callback(user_data, status, cdyn_reap_report::default(), error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(
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
