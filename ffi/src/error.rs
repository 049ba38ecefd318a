//! Statuses, the `cdyn_error` object, and the boundary every exported function goes through:
//! argument checks, panics caught, failures turned into a status and an optional error.

use std::any::Any;
use std::borrow::Cow;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use connect_dynamodb_core::ErrorKind;
use connect_dynamodb_runtime::RuntimeError;

use crate::config::setting_of;

/// The result of every fallible function. `CDYN_OK` is zero; every other value is a failure,
/// one per stable error code of the store (the same codes as the Node and Python faces, in the
/// same order). The values never change; new ones are only appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum cdyn_status {
    /// Success.
    CDYN_OK = 0,
    /// A configuration value is invalid; the message names the field.
    CDYN_ERR_INVALID_CONFIG = 1,
    /// An argument is invalid: a NULL pointer, a string that is not UTF-8, an empty or
    /// oversized session id, an expiry out of range, an unknown constant.
    CDYN_ERR_INVALID_ARGUMENT = 2,
    /// The session would exceed DynamoDB's 400 KB item size limit; nothing was written.
    CDYN_ERR_ITEM_TOO_LARGE = 3,
    /// The session text is not valid JSON; nothing was written.
    CDYN_ERR_SERIALIZATION = 4,
    /// The table does not exist (in this region, for these credentials).
    CDYN_ERR_TABLE_NOT_FOUND = 5,
    /// DynamoDB throttled the request and the retries ran out (retryable).
    CDYN_ERR_THROTTLED = 6,
    /// A conditional write failed (`CDYN_CONDITION_IF_ABSENT`, `CDYN_CONDITION_IF_PRESENT`,
    /// also on a session that has ended), a save met a concurrent change of a key it changed
    /// too under `CDYN_MERGE_ERROR` or kept meeting concurrent changes, or the table is being
    /// created or changed.
    CDYN_ERR_CONFLICT = 7,
    /// The credentials are missing, invalid, expired or lack permission.
    CDYN_ERR_AUTH = 8,
    /// DynamoDB did not answer in time (retryable).
    CDYN_ERR_TIMEOUT = 9,
    /// The connection to DynamoDB failed: refused, reset, DNS, TLS (retryable).
    CDYN_ERR_TRANSPORT = 10,
    /// DynamoDB answered with another error (internal server errors are retryable).
    CDYN_ERR_SERVICE = 11,
    /// A bug in this library, including a caught panic; please report it.
    CDYN_ERR_INTERNAL = 12,
    /// A stored session cannot be read by this store: it is encrypted with a key the store was
    /// not given (`cdyn_config_add_encryption_key`), or written in an item format newer than
    /// this version reads. Nothing was changed; with the key (or a newer version) it reads
    /// again. A damaged, tampered or moved ciphertext is not this error: it reads as no
    /// session.
    CDYN_ERR_UNREADABLE = 13,
}

use cdyn_status::*;

/// Every failure status, in the order of `ErrorKind::ALL`.
const FAILURES: [cdyn_status; 13] = [
    CDYN_ERR_INVALID_CONFIG,
    CDYN_ERR_INVALID_ARGUMENT,
    CDYN_ERR_ITEM_TOO_LARGE,
    CDYN_ERR_SERIALIZATION,
    CDYN_ERR_TABLE_NOT_FOUND,
    CDYN_ERR_THROTTLED,
    CDYN_ERR_CONFLICT,
    CDYN_ERR_AUTH,
    CDYN_ERR_TIMEOUT,
    CDYN_ERR_TRANSPORT,
    CDYN_ERR_SERVICE,
    CDYN_ERR_INTERNAL,
    CDYN_ERR_UNREADABLE,
];

impl cdyn_status {
    /// The status of a core error kind; a kind newer than this library is `INTERNAL`.
    pub(crate) fn of_kind(kind: ErrorKind) -> cdyn_status {
        ErrorKind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| FAILURES.get(i).copied())
            .unwrap_or(CDYN_ERR_INTERNAL)
    }

    /// The stable token, as a NUL-terminated static string.
    pub(crate) fn token(self) -> &'static std::ffi::CStr {
        match self {
            CDYN_OK => c"OK",
            CDYN_ERR_INVALID_CONFIG => c"INVALID_CONFIG",
            CDYN_ERR_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            CDYN_ERR_ITEM_TOO_LARGE => c"ITEM_TOO_LARGE",
            CDYN_ERR_SERIALIZATION => c"SERIALIZATION",
            CDYN_ERR_TABLE_NOT_FOUND => c"TABLE_NOT_FOUND",
            CDYN_ERR_THROTTLED => c"THROTTLED",
            CDYN_ERR_CONFLICT => c"CONFLICT",
            CDYN_ERR_AUTH => c"AUTH",
            CDYN_ERR_TIMEOUT => c"TIMEOUT",
            CDYN_ERR_TRANSPORT => c"TRANSPORT",
            CDYN_ERR_SERVICE => c"SERVICE",
            CDYN_ERR_INTERNAL => c"INTERNAL",
            CDYN_ERR_UNREADABLE => c"UNREADABLE",
        }
    }

    fn from_int(value: c_int) -> Option<cdyn_status> {
        if value == 0 {
            return Some(CDYN_OK);
        }
        let index = usize::try_from(value).ok()?.checked_sub(1)?;
        FAILURES.get(index).copied()
    }
}

/// The details of a failure: its status, a message and whether retrying may help.
///
/// Created by the library and handed to the caller through a `cdyn_error **` out-parameter or
/// a completion callback; the caller owns it and frees it with `cdyn_error_free`. An error is
/// immutable: its accessors may be called from any thread.
#[allow(non_camel_case_types)]
pub struct cdyn_error {
    status: cdyn_status,
    retryable: bool,
    message: CString,
    /// For `CDYN_ERR_INVALID_CONFIG`, the setter of the invalid setting.
    setter: Option<&'static CStr>,
}

impl std::fmt::Debug for cdyn_error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("cdyn_error")
            .field("status", &self.status)
            .field("retryable", &self.retryable)
            .field("message", &self.message)
            .field("setter", &self.setter)
            .finish()
    }
}

/// A failure inside the library, before it becomes a `cdyn_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: cdyn_status,
    retryable: bool,
    message: Cow<'static, str>,
    setter: Option<&'static CStr>,
}

impl Failure {
    pub(crate) fn new(status: cdyn_status, message: impl Into<Cow<'static, str>>) -> Self {
        Failure {
            status,
            retryable: false,
            message: message.into(),
            setter: None,
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Self {
        Failure::new(CDYN_ERR_INVALID_ARGUMENT, message)
    }

    pub(crate) fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Failure::new(CDYN_ERR_INTERNAL, message)
    }

    /// A caught panic. Its payload is dropped unread: a panic message is free text that could
    /// quote data, and error messages never carry session data.
    pub(crate) fn panic(_payload: Box<dyn Any + Send>) -> Self {
        Failure::internal(
            "libconnect_dynamodb hit an internal error (a Rust panic was caught); please report it",
        )
    }

    pub(crate) fn into_error(self) -> *mut cdyn_error {
        let text = self.message.replace('\0', " ");
        let message = CString::new(text).unwrap_or_default();
        Box::into_raw(Box::new(cdyn_error {
            status: self.status,
            retryable: self.retryable,
            message,
            setter: self.setter,
        }))
    }
}

impl From<connect_dynamodb_core::Error> for Failure {
    fn from(err: connect_dynamodb_core::Error) -> Self {
        // A configuration error names the C setting (see `config::setting_of`).
        let setting = err.config_field().map(setting_of);
        let message = match (setting, err.config_problem()) {
            (Some(s), Some(problem)) => Cow::Owned(s.message(problem)),
            _ => Cow::Owned(err.message().to_owned()),
        };
        Failure {
            status: cdyn_status::of_kind(err.kind()),
            retryable: err.is_retryable(),
            message,
            setter: setting.map(|s| s.setter),
        }
    }
}

impl From<RuntimeError> for Failure {
    fn from(err: RuntimeError) -> Self {
        Failure::internal(err.message())
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

/// Runs the body of an exported function: catches panics, and turns the outcome into a status
/// and, when `error` is not NULL, into `*error` (NULL on success).
pub(crate) fn boundary(error: *mut *mut cdyn_error, body: impl FnOnce() -> Outcome) -> cdyn_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(Failure::panic(p)));
    let (status, details) = match outcome {
        Ok(()) => (CDYN_OK, ptr::null_mut()),
        Err(failure) => {
            let status = failure.status;
            let details = if error.is_null() {
                ptr::null_mut()
            } else {
                // Building the error only allocates; a panic here cannot happen short of an
                // allocation failure, which aborts in Rust anyway.
                failure.into_error()
            };
            (status, details)
        }
    };
    if !error.is_null() {
        // SAFETY: the caller passes NULL or a pointer to writable storage for one pointer.
        unsafe { error.write(details) };
    }
    status
}

/// Runs `body`, catching panics, for functions that return a value and have no status.
pub(crate) fn infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The stable token of a status, e.g. `"TABLE_NOT_FOUND"` for `CDYN_ERR_TABLE_NOT_FOUND`,
/// `"OK"` for `CDYN_OK`, and `"UNKNOWN"` for a value that is not a status.
///
/// Ownership: the returned string is static; never free it.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn cdyn_status_str(status: c_int) -> *const c_char {
    infallible(c"UNKNOWN".as_ptr(), || {
        cdyn_status::from_int(status).map_or(c"UNKNOWN".as_ptr(), |s| s.token().as_ptr())
    })
}

/// The status of an error; `CDYN_OK` when `error` is NULL.
///
/// Ownership: borrows `error`.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_error_code(error: *const cdyn_error) -> cdyn_status {
    // SAFETY: NULL or an error the library returned and the caller has not freed.
    infallible(CDYN_ERR_INTERNAL, || {
        unsafe { error.as_ref() }.map_or(CDYN_OK, |e| e.status)
    })
}

/// The message of an error: what failed, in English, without session ids, session data or
/// credentials. An empty string when `error` is NULL.
///
/// Ownership: the string belongs to `error` and stays valid until `cdyn_error_free(error)`;
/// never free it.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_error_message(error: *const cdyn_error) -> *const c_char {
    infallible(c"".as_ptr(), || {
        // SAFETY: NULL or an error the library returned and the caller has not freed.
        unsafe { error.as_ref() }.map_or(c"".as_ptr(), |e| e.message.as_ptr())
    })
}

/// Whether the same call may succeed if tried again later (throttling, timeouts, connection
/// failures, DynamoDB's internal errors). `false` when `error` is NULL.
///
/// Ownership: borrows `error`.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_error_retryable(error: *const cdyn_error) -> bool {
    infallible(false, || {
        // SAFETY: NULL or an error the library returned and the caller has not freed.
        unsafe { error.as_ref() }.is_some_and(|e| e.retryable)
    })
}

/// For a `CDYN_ERR_INVALID_CONFIG` error, the name of the setter whose value is invalid, e.g.
/// `"cdyn_config_set_hash_key"`; NULL for other errors and when `error` is NULL.
///
/// Ownership: the string is static; never free it.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_error_field(error: *const cdyn_error) -> *const c_char {
    infallible(ptr::null(), || {
        // SAFETY: NULL or an error the library returned and the caller has not freed.
        unsafe { error.as_ref() }
            .and_then(|e| e.setter)
            .map_or(ptr::null(), CStr::as_ptr)
    })
}

/// Frees an error. `cdyn_error_free(NULL)` does nothing.
///
/// Ownership: takes `error`, which must not be used afterwards.
/// Thread safety: may be called from any thread, once per error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_error_free(error: *mut cdyn_error) {
    infallible((), || {
        if !error.is_null() {
            // SAFETY: an error the library returned, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(error) });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn statuses_follow_the_core_kinds_in_order() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            let status = cdyn_status::of_kind(*kind);
            assert_eq!(status as usize, i + 1);
            assert_eq!(FAILURES[i], status);
            assert_eq!(status.token().to_str().ok(), Some(kind.as_str()));
            assert_eq!(cdyn_status::from_int(i as c_int + 1), Some(status));
        }
        assert_eq!(FAILURES.len(), ErrorKind::ALL.len());
        assert_eq!(cdyn_status::from_int(FAILURES.len() as c_int + 1), None);
    }

    /// The enum C programs compile against (the committed header) lists the core's kinds, in
    /// the core's order, with codes 1, 2, ... after `CDYN_OK = 0`.
    #[test]
    fn the_header_enum_is_the_core_list() {
        let header = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../include/connect_dynamodb.h"
        ));
        let end = header.find("} cdyn_status;").expect("the enum");
        let start = header[..end].rfind("typedef enum {").expect("its start");
        let entries: Vec<(String, i64)> = header[start..end]
            .lines()
            .filter_map(|l| l.trim().strip_suffix(','))
            .filter_map(|l| l.split_once(" = "))
            .map(|(name, code)| (name.to_owned(), code.parse().expect("a number")))
            .collect();
        let mut expected = vec![("CDYN_OK".to_owned(), 0)];
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            expected.push((format!("CDYN_ERR_{}", kind.as_str()), i as i64 + 1));
        }
        assert_eq!(entries, expected);
    }

    #[test]
    fn status_str_knows_every_status_and_no_other_value() {
        let text = |v: c_int| {
            // SAFETY: cdyn_status_str returns a static NUL-terminated string.
            unsafe { CStr::from_ptr(cdyn_status_str(v)) }
                .to_str()
                .map(str::to_owned)
        };
        assert_eq!(text(0).ok().as_deref(), Some("OK"));
        assert_eq!(text(5).ok().as_deref(), Some("TABLE_NOT_FOUND"));
        assert_eq!(text(12).ok().as_deref(), Some("INTERNAL"));
        assert_eq!(text(13).ok().as_deref(), Some("UNREADABLE"));
        for v in [-1, 14, c_int::MAX, c_int::MIN] {
            assert_eq!(text(v).ok().as_deref(), Some("UNKNOWN"));
        }
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let mut error: *mut cdyn_error = ptr::null_mut();
        let status = boundary(&mut error, || panic!("boom"));
        assert_eq!(status, CDYN_ERR_INTERNAL);
        assert!(!error.is_null());
        // SAFETY: the error was just returned and is freed once below.
        unsafe {
            assert_eq!(cdyn_error_code(error), CDYN_ERR_INTERNAL);
            let message = CStr::from_ptr(cdyn_error_message(error)).to_string_lossy();
            assert!(message.contains("internal error"), "{message}");
            assert!(
                !message.contains("boom"),
                "the panic's text stays out: {message}"
            );
            assert!(!cdyn_error_retryable(error));
            cdyn_error_free(error);
        }
        // Without an error out-parameter the status is still reported.
        assert_eq!(
            boundary(ptr::null_mut(), || panic!("again")),
            CDYN_ERR_INTERNAL
        );
    }

    #[test]
    fn success_clears_the_error_out_parameter() {
        let mut error: *mut cdyn_error = ptr::NonNull::dangling().as_ptr();
        assert_eq!(boundary(&mut error, || Ok(())), CDYN_OK);
        assert!(error.is_null());
    }

    #[test]
    fn messages_with_nul_bytes_survive() {
        let error = Failure::invalid_argument("a\0b").into_error();
        // SAFETY: the error was just returned and is freed once below.
        unsafe {
            let message = CStr::from_ptr(cdyn_error_message(error)).to_string_lossy();
            assert_eq!(message, "a b");
            cdyn_error_free(error);
        }
    }
}
