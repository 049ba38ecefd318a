//! Every store operation, declared once: its C arguments and how they are checked, the core
//! call, and the C values it hands back. The blocking `cdyn_store_<verb>` (`store.rs`) and its
//! non-blocking twin `cdyn_store_<verb>_async` (`nonblocking.rs`) both run the same
//! declaration; they differ only in where the values go (out-parameters, or the callback's
//! arguments).
//!
//! The exported functions themselves stay written out, one line of body each, because the
//! header is generated from them by cbindgen, which does not expand macros on stable Rust.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::time::SystemTime;

use connect_dynamodb_core::{
    ReapReport, Reencrypted, Saved, SessionRecord, SessionStore, SetOptions, SetOutcome,
    TableReport, TableSetup, TouchOutcome, Touched, UserSession, WriteCondition, expiry,
};
use futures_util::future::BoxFuture;

use crate::config::str_arg;
use crate::error::{Failure, Outcome, cdyn_error, cdyn_status};
use crate::store::{
    CDYN_CONDITION_ALWAYS, CDYN_CONDITION_IF_ABSENT, CDYN_CONDITION_IF_PRESENT,
    CDYN_EXPIRES_DEFAULT, cdyn_condition, cdyn_save_outcome, cdyn_touch_outcome,
};
use crate::values::{
    c_string, cdyn_reap_report, cdyn_reencrypted, cdyn_string_list, cdyn_user_session_list,
};

/// A store operation with its arguments checked and copied: the core call still to run, and
/// how its result becomes C values (on failure they are each one's `CValue::EMPTY`).
pub(crate) struct Call<T, O> {
    pub(crate) run: Box<dyn FnOnce(SessionStore) -> BoxFuture<'static, CoreResult<T>> + Send>,
    pub(crate) output: fn(T) -> Outcome<O>,
}

type CoreResult<T> = connect_dynamodb_core::Result<T>;

/// Declares each operation as a function from its C arguments to a [`Call`]: each argument
/// with its checker (`name: C type => checker`), the core call on the store `s`, and the C
/// values of a success (`output`).
macro_rules! operations {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($arg:ident: $raw:ty => $check:ident),*) -> $value:ty => $output:ty {
            run: |$s:ident| $call:expr,
            output: $convert:expr $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        ///
        /// # Safety
        /// Pointer arguments are NULL or NUL-terminated strings, valid during the call.
        pub(crate) unsafe fn $name($($arg: $raw),*) -> Outcome<Call<$value, $output>> {
            $(
                // SAFETY: per this function's contract (only the string checker is unsafe).
                #[allow(unused_unsafe)]
                let $arg = unsafe { $check($arg, stringify!($arg)) }?;
            )*
            Ok(Call {
                run: Box::new(move |$s: SessionStore| Box::pin(async move { $call.await })),
                output: $convert,
            })
        }
    )*};
}

operations! {
    /// `cdyn_store_get`: found, the session text, its length and its expiry.
    fn get(sid: *const c_char => text) -> Option<SessionRecord> => (bool, *mut c_char, usize, i64) {
        run: |s| s.get(&sid),
        output: found,
    }
    /// `cdyn_store_load`: as `cdyn_store_get`, and whether the session carries a version
    /// (versioned writes on) and which.
    fn load(sid: *const c_char => text) -> Option<SessionRecord> => (bool, *mut c_char, usize, i64, bool, u64) {
        run: |s| s.get(&sid),
        output: loaded,
    }
    /// `cdyn_store_save`: what the save did, and the version it wrote (versioned writes on).
    fn save(
        sid: *const c_char => text,
        session: *const c_char => text,
        expires: i64 => expiry_arg,
        condition: cdyn_condition => condition_arg,
        loaded: *const u64 => loaded_arg
    ) -> Saved => (cdyn_save_outcome, bool, u64) {
        run: |s| s.save(&sid, &session, expires, SetOptions { condition, loaded, ..SetOptions::default() }),
        output: |saved| Ok((saved.outcome.into(), saved.version.is_some(), saved.version.unwrap_or(0))),
    }
    /// `cdyn_store_touch`: the outcome and the expiry left stored.
    fn touch(sid: *const c_char => text, expires: i64 => expiry_arg) -> Touched => (cdyn_touch_outcome, i64) {
        run: |s| s.touch(&sid, expires),
        output: touched,
    }
    /// `cdyn_store_destroy`.
    fn destroy(sid: *const c_char => text) -> () => () {
        run: |s| s.destroy(&sid),
        output: Ok,
    }
    /// `cdyn_store_ids`: the ids.
    fn ids() -> Vec<String> => (*mut cdyn_string_list,) {
        run: |s| s.ids(),
        output: |ids| Ok((cdyn_string_list::new(ids).into_raw(),)),
    }
    /// `cdyn_store_length`: the count.
    fn length() -> u64 => (u64,) {
        run: |s| s.length(),
        output: |n| Ok((n,)),
    }
    /// `cdyn_store_clear`: what was deleted.
    fn clear() -> ReapReport => (cdyn_reap_report,) {
        run: |s| s.clear(),
        output: |r| Ok((r.into(),)),
    }
    /// `cdyn_store_reap`: what was deleted.
    fn reap() -> ReapReport => (cdyn_reap_report,) {
        run: |s| s.reap(),
        output: |r| Ok((r.into(),)),
    }
    /// `cdyn_store_reencrypt`: what was scanned, rewritten and left unreadable.
    fn reencrypt() -> Reencrypted => (cdyn_reencrypted,) {
        run: |s| s.reencrypt(),
        output: |r| Ok((r.into(),)),
    }
    /// `cdyn_store_create_table`: whether this call created it, and the problems left.
    fn create_table() -> TableSetup => (bool, *mut cdyn_string_list) {
        run: |s| s.create_table(),
        output: |setup| Ok((setup.created, problems(&setup.report))),
    }
    /// `cdyn_store_table_exists`: whether the table exists.
    fn table_exists() -> bool => (bool,) {
        run: |s| s.table_exists(),
        output: |exists| Ok((exists,)),
    }
    /// `cdyn_store_user_sessions`: the user's sessions.
    fn user_sessions(user: *const c_char => text) -> Vec<UserSession> => (*mut cdyn_user_session_list,) {
        run: |s| s.user_sessions(&user),
        output: |sessions| Ok((cdyn_user_session_list::new(sessions).into_raw(),)),
    }
    /// `cdyn_store_end_user_sessions`: how many were ended.
    fn end_user_sessions(
        user: *const c_char => text,
        except: *const c_char => optional_text
    ) -> u64 => (u64,) {
        run: |s| s.end_user_sessions(&user, except.as_deref()),
        output: |n| Ok((n,)),
    }
    /// `cdyn_store_verify_table`: the problems found.
    fn verify_table() -> TableReport => (*mut cdyn_string_list,) {
        run: |s| s.verify_table(),
        output: |report| Ok((problems(&report),)),
    }
}

/// `cdyn_store_set`: `cdyn_store_save` of a session this request did not load, without its
/// results.
///
/// # Safety
/// As for [`save`].
pub(crate) unsafe fn set(
    sid: *const c_char,
    session: *const c_char,
    expires: i64,
    condition: cdyn_condition,
) -> Outcome<Call<Saved, ()>> {
    // SAFETY: per this function's contract (a NULL `loaded`: not loaded).
    let call = unsafe { save(sid, session, expires, condition, ptr::null()) }?;
    Ok(Call {
        run: call.run,
        output: |_| Ok(()),
    })
}

/// Reads a NUL-terminated UTF-8 argument and copies it.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string, valid during the call.
pub(crate) unsafe fn text(ptr: *const c_char, name: &str) -> Outcome<String> {
    // SAFETY: per this function's contract.
    unsafe { str_arg(ptr, name) }.map(str::to_owned)
}

/// Reads an optional NUL-terminated UTF-8 argument (NULL: none) and copies it.
///
/// # Safety
/// As for [`text`].
pub(crate) unsafe fn optional_text(ptr: *const c_char, name: &str) -> Outcome<Option<String>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: per this function's contract.
    unsafe { text(ptr, name) }.map(Some)
}

/// An expiry argument in epoch seconds, or `CDYN_EXPIRES_DEFAULT`; the range is the core's.
fn expiry_arg(expires: i64, _name: &str) -> Outcome<Option<SystemTime>> {
    if expires == CDYN_EXPIRES_DEFAULT {
        return Ok(None);
    }
    Ok(Some(expiry::from_epoch_secs(expires as f64)?))
}

/// The version a save's session was loaded at: NULL for a session the request did not load.
///
/// # Safety
/// `ptr` is NULL or points to a `uint64_t`, valid during the call.
unsafe fn loaded_arg(ptr: *const u64, _name: &str) -> Outcome<Option<u64>> {
    // SAFETY: per this function's contract.
    Ok(unsafe { ptr.as_ref() }.copied())
}

/// A write condition argument.
fn condition_arg(condition: cdyn_condition, _name: &str) -> Outcome<WriteCondition> {
    match condition {
        CDYN_CONDITION_ALWAYS => Ok(WriteCondition::Always),
        CDYN_CONDITION_IF_ABSENT => Ok(WriteCondition::IfAbsent),
        CDYN_CONDITION_IF_PRESENT => Ok(WriteCondition::IfPresent),
        _ => Err(Failure::invalid_argument(
            "`condition` is not one of the CDYN_CONDITION_ constants",
        )),
    }
}

fn found(record: Option<SessionRecord>) -> Outcome<(bool, *mut c_char, usize, i64)> {
    let Some(r) = record else {
        return Ok((false, ptr::null_mut(), 0, 0));
    };
    let expires = expiry::whole_secs(r.expires_at);
    Ok((true, c_string(&r.session)?, r.session.len(), expires))
}

fn loaded(record: Option<SessionRecord>) -> Outcome<(bool, *mut c_char, usize, i64, bool, u64)> {
    let version = record.as_ref().and_then(|r| r.version);
    let (found, session, session_len, expires) = found(record)?;
    Ok((
        found,
        session,
        session_len,
        expires,
        version.is_some(),
        version.unwrap_or(0),
    ))
}

fn touched(done: Touched) -> Outcome<(cdyn_touch_outcome, i64)> {
    let expires = done.expires_at.map_or(0, expiry::whole_secs);
    Ok((done.outcome.into(), expires))
}

fn problems(report: &TableReport) -> *mut cdyn_string_list {
    cdyn_string_list::new(report.problems.iter().map(ToString::to_string)).into_raw()
}

impl From<SetOutcome> for cdyn_save_outcome {
    fn from(o: SetOutcome) -> Self {
        match o {
            SetOutcome::Written => cdyn_save_outcome::CDYN_SAVE_WRITTEN,
            SetOutcome::Ended => cdyn_save_outcome::CDYN_SAVE_ENDED,
        }
    }
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

/// A C value an operation hands back: what it is on failure, and how to free it when nobody
/// takes it (an optional out-parameter passed as NULL).
pub(crate) trait CValue: Sized {
    const EMPTY: Self;
    fn release(self) {}
}

macro_rules! plain_values {
    ($($t:ty = $empty:expr),*) => {$(impl CValue for $t { const EMPTY: Self = $empty; })*};
}
plain_values!(
    bool = false,
    usize = 0,
    i64 = 0,
    u64 = 0,
    cdyn_touch_outcome = cdyn_touch_outcome::CDYN_TOUCH_NOT_FOUND,
    cdyn_save_outcome = cdyn_save_outcome::CDYN_SAVE_WRITTEN,
    cdyn_reap_report = cdyn_reap_report {
        scanned: 0,
        deleted: 0
    },
    cdyn_reencrypted = cdyn_reencrypted {
        scanned: 0,
        rewritten: 0,
        unreadable: 0
    }
);

impl CValue for *mut c_char {
    const EMPTY: Self = ptr::null_mut();
    fn release(self) {
        // SAFETY: NULL or a string from `c_string`, owned by nobody else.
        unsafe { crate::values::cdyn_string_free(self) }
    }
}

impl CValue for *mut cdyn_string_list {
    const EMPTY: Self = ptr::null_mut();
    fn release(self) {
        // SAFETY: NULL or a list from `into_raw`, owned by nobody else.
        unsafe { crate::values::cdyn_string_list_free(self) }
    }
}

impl CValue for *mut cdyn_user_session_list {
    const EMPTY: Self = ptr::null_mut();
    fn release(self) {
        // SAFETY: NULL or a list from `into_raw`, owned by nobody else.
        unsafe { crate::values::cdyn_user_session_list_free(self) }
    }
}

/// An out-parameter of a blocking call.
#[derive(Debug)]
pub(crate) enum Out<T> {
    /// Must not be NULL (else `CDYN_ERR_INVALID_ARGUMENT`); set to the empty value first.
    Required(*mut T, &'static str),
    /// May be NULL; set to the empty value first.
    Optional(*mut T),
    /// May be NULL; written only on success.
    OnSuccess(*mut T),
}

impl<T: CValue> Out<T> {
    fn check(&self) -> Outcome {
        match self {
            Out::Required(p, name) if p.is_null() => {
                Err(Failure::invalid_argument(format!("`{name}` is NULL")))
            }
            _ => Ok(()),
        }
    }

    /// # Safety
    /// The pointer is NULL or valid for writes of a `T`.
    unsafe fn reset(&self) {
        if let Out::Required(p, _) | Out::Optional(p) = self
            && !p.is_null()
        {
            // SAFETY: per this function's contract.
            unsafe { p.write(T::EMPTY) }
        }
    }

    /// # Safety
    /// As for `reset`.
    unsafe fn write(&self, value: T) {
        let (Out::Required(p, _) | Out::Optional(p) | Out::OnSuccess(p)) = self;
        if p.is_null() {
            value.release();
        } else {
            // SAFETY: per this function's contract.
            unsafe { p.write(value) }
        }
    }
}

/// The out-parameters of a blocking call, matching its operation's C values `O`.
pub(crate) trait OutParams<O> {
    /// Checks the required ones.
    fn check(&self) -> Outcome;
    /// Sets them to the empty values (all but `OnSuccess` ones).
    ///
    /// # Safety
    /// Each pointer is NULL or valid for writes.
    unsafe fn reset(&self);
    /// Sets them to a success's values.
    ///
    /// # Safety
    /// As for `reset`.
    unsafe fn write(&self, values: O);
}

/// The completion callback of a non-blocking call whose operation hands back `O`.
pub(crate) trait Callback<O>: Copy + Send + 'static {
    /// # Safety
    /// The caller's callback: called once, with what its type documents.
    unsafe fn call(
        self,
        user_data: *mut c_void,
        status: cdyn_status,
        values: O,
        error: *mut cdyn_error,
    );
}

/// `OutParams` and `Callback` for each number of C values (`out value: Type`).
macro_rules! arities {
    ($(($($o:ident $v:ident: $t:ident),*))*) => {$(
        impl<$($t: CValue),*> OutParams<($($t,)*)> for ($(Out<$t>,)*) {
            fn check(&self) -> Outcome {
                let ($($o,)*) = self;
                $($o.check()?;)*
                Ok(())
            }
            unsafe fn reset(&self) {
                let ($($o,)*) = self;
                // SAFETY: per this function's contract.
                #[allow(unused_unsafe)]
                unsafe { $($o.reset();)* }
            }
            unsafe fn write(&self, ($($v,)*): ($($t,)*)) {
                let ($($o,)*) = self;
                // SAFETY: per this function's contract.
                #[allow(unused_unsafe)]
                unsafe { $($o.write($v);)* }
            }
        }

        impl<$($t: CValue + 'static),*> CValue for ($($t,)*) {
            const EMPTY: Self = ($($t::EMPTY,)*);
        }

        impl<$($t: 'static),*> Callback<($($t,)*)>
            for unsafe extern "C" fn(*mut c_void, cdyn_status, $($t,)* *mut cdyn_error)
        {
            unsafe fn call(
                self,
                user_data: *mut c_void,
                status: cdyn_status,
                ($($v,)*): ($($t,)*),
                error: *mut cdyn_error,
            ) {
                // SAFETY: per this function's contract.
                unsafe { self(user_data, status, $($v,)* error) }
            }
        }
    )*};
}

arities! {
    ()
    (oa a: A)
    (oa a: A, ob b: B)
    (oa a: A, ob b: B, oc c: C)
    (oa a: A, ob b: B, oc c: C, od d: D)
    (oa a: A, ob b: B, oc c: C, od d: D, oe e: E, of f: F)
}
