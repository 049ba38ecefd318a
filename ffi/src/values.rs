//! Data handed to C: strings (plain `malloc` buffers), string lists, user session lists,
//! reports.

use std::ffi::c_char;
use std::ptr;

use connect_dynamodb_core::{UserSession, expiry};

use crate::error::{Failure, Outcome, infallible};

/// What a reaper pass (`cdyn_store_reap`) or `cdyn_store_clear` did. A plain value: nothing
/// to free.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct cdyn_reap_report {
    /// Items DynamoDB scanned.
    pub scanned: u64,
    /// Items deleted.
    pub deleted: u64,
}

impl From<connect_dynamodb_core::ReapReport> for cdyn_reap_report {
    fn from(r: connect_dynamodb_core::ReapReport) -> Self {
        cdyn_reap_report {
            scanned: r.scanned,
            deleted: r.deleted,
        }
    }
}

/// What `cdyn_store_reencrypt` did. A plain value: nothing to free.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct cdyn_reencrypted {
    /// Items DynamoDB scanned.
    pub scanned: u64,
    /// Live sessions rewritten under the first encryption key.
    pub rewritten: u64,
    /// Live sessions left as they were because this store cannot read them: encrypted with a
    /// key it was not given, in a newer item format, or damaged.
    pub unreadable: u64,
}

impl From<connect_dynamodb_core::Reencrypted> for cdyn_reencrypted {
    fn from(r: connect_dynamodb_core::Reencrypted) -> Self {
        cdyn_reencrypted {
            scanned: r.scanned,
            rewritten: r.rewritten,
            unreadable: r.unreadable,
        }
    }
}

/// A list of strings returned by the library (session ids, table problems).
///
/// The caller owns it and frees it with `cdyn_string_list_free`, which also frees its
/// strings. A list is immutable: its accessors may be called from any thread.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct cdyn_string_list {
    /// Each string with a NUL byte appended.
    items: Vec<Box<[u8]>>,
}

impl cdyn_string_list {
    pub(crate) fn new(strings: impl IntoIterator<Item = String>) -> Self {
        cdyn_string_list {
            items: strings
                .into_iter()
                .map(|s| {
                    let mut bytes = s.into_bytes();
                    bytes.push(0);
                    bytes.into_boxed_slice()
                })
                .collect(),
        }
    }

    pub(crate) fn into_raw(self) -> *mut cdyn_string_list {
        Box::into_raw(Box::new(self))
    }
}

/// The number of strings in `list`; 0 when `list` is NULL.
///
/// Ownership: borrows `list`.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_string_list_count(list: *const cdyn_string_list) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a list the library returned and the caller has not freed.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// The string at `index` (0-based) of `list`, NUL-terminated; NULL when `list` is NULL or
/// `index` is not below `cdyn_string_list_count(list)`. When `len` is not NULL, `*len` is set
/// to the string's length in bytes (0 when NULL is returned); strings are UTF-8 and may
/// themselves contain NUL bytes only when DynamoDB holds such keys, which `len` reveals.
///
/// Ownership: the string belongs to `list` and stays valid until `cdyn_string_list_free(list)`;
/// never free it.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_string_list_at(
    list: *const cdyn_string_list,
    index: usize,
    len: *mut usize,
) -> *const c_char {
    infallible(ptr::null(), || {
        // SAFETY: NULL or a list the library returned and the caller has not freed.
        let item = unsafe { list.as_ref() }.and_then(|l| l.items.get(index));
        if !len.is_null() {
            // SAFETY: the caller passes NULL or writable storage for a size_t.
            unsafe { len.write(item.map_or(0, |s| s.len() - 1)) };
        }
        item.map_or(ptr::null(), |s| s.as_ptr().cast())
    })
}

/// Frees a string list and its strings. `cdyn_string_list_free(NULL)` does nothing.
///
/// Ownership: takes `list`, which must not be used afterwards.
/// Thread safety: may be called from any thread, once per list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_string_list_free(list: *mut cdyn_string_list) {
    infallible((), || {
        if !list.is_null() {
            // SAFETY: a list the library returned, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(list) });
        }
    });
}

/// The `created` of a `cdyn_user_session` whose item does not record its creation time.
pub const CDYN_CREATED_UNKNOWN: i64 = 0;

/// One of a user's sessions, as `cdyn_store_user_sessions` lists it: an entry of a
/// `cdyn_user_session_list`, read with `cdyn_user_session_list_at`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct cdyn_user_session {
    /// The session id (without the store's prefix), NUL-terminated UTF-8. It belongs to the
    /// list and stays valid until `cdyn_user_session_list_free`.
    pub id: *const c_char,
    /// The length of `id` in bytes.
    pub id_len: usize,
    /// When the session expires, in epoch seconds (as `cdyn_store_get` reports it).
    pub expires: i64,
    /// When the session was created, in epoch seconds; `CDYN_CREATED_UNKNOWN` (0) when its
    /// item does not record it.
    pub created: i64,
}

/// A list of a user's sessions, from `cdyn_store_user_sessions`.
///
/// The caller owns it and frees it with `cdyn_user_session_list_free`, which also frees its
/// entries. A list is immutable: its accessors may be called from any thread.
#[allow(non_camel_case_types)]
pub struct cdyn_user_session_list {
    /// Each id with a NUL byte appended; `entries` point into them (boxed: they never move).
    ids: Vec<Box<[u8]>>,
    entries: Vec<cdyn_user_session>,
}

impl std::fmt::Debug for cdyn_user_session_list {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Session ids are bearer credentials: only the count is shown.
        f.debug_struct("cdyn_user_session_list")
            .field("sessions", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl cdyn_user_session_list {
    pub(crate) fn new(sessions: Vec<UserSession>) -> Self {
        let mut list = cdyn_user_session_list {
            ids: Vec::with_capacity(sessions.len()),
            entries: Vec::with_capacity(sessions.len()),
        };
        for session in sessions {
            let id_len = session.id.len();
            let mut bytes = session.id.into_bytes();
            bytes.push(0);
            let id = bytes.into_boxed_slice();
            list.entries.push(cdyn_user_session {
                id: id.as_ptr().cast(),
                id_len,
                expires: expiry::whole_secs(session.expires_at),
                created: session
                    .created_at
                    .map_or(CDYN_CREATED_UNKNOWN, expiry::whole_secs),
            });
            list.ids.push(id);
        }
        list
    }

    pub(crate) fn into_raw(self) -> *mut cdyn_user_session_list {
        Box::into_raw(Box::new(self))
    }
}

/// The number of sessions in `list`; 0 when `list` is NULL.
///
/// Ownership: borrows `list`.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_user_session_list_count(
    list: *const cdyn_user_session_list,
) -> usize {
    infallible(0, || {
        // SAFETY: NULL or a list the library returned and the caller has not freed.
        unsafe { list.as_ref() }.map_or(0, |l| l.entries.len())
    })
}

/// The session at `index` (0-based) of `list`; NULL when `list` is NULL or `index` is not
/// below `cdyn_user_session_list_count(list)`.
///
/// Ownership: the entry and its id belong to `list` and stay valid until
/// `cdyn_user_session_list_free(list)`; never free them.
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_user_session_list_at(
    list: *const cdyn_user_session_list,
    index: usize,
) -> *const cdyn_user_session {
    infallible(ptr::null(), || {
        // SAFETY: NULL or a list the library returned and the caller has not freed.
        unsafe { list.as_ref() }
            .and_then(|l| l.entries.get(index))
            .map_or(ptr::null(), ptr::from_ref)
    })
}

/// Frees a list of a user's sessions and its entries. `cdyn_user_session_list_free(NULL)`
/// does nothing.
///
/// Ownership: takes `list`, which must not be used afterwards.
/// Thread safety: may be called from any thread, once per list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_user_session_list_free(list: *mut cdyn_user_session_list) {
    infallible((), || {
        if !list.is_null() {
            // SAFETY: a list the library returned, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(list) });
        }
    });
}

/// Frees a string the library returned (the session text of `cdyn_store_get`).
/// `cdyn_string_free(NULL)` does nothing.
///
/// Ownership: takes `string`, which must not be used afterwards. (The buffer comes from the C
/// library's `malloc`, so `free` would free it too; this function is the documented way.)
/// Thread safety: may be called from any thread, once per string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_string_free(string: *mut c_char) {
    infallible((), || {
        // SAFETY: NULL or a buffer from `c_string`, which allocates with malloc.
        unsafe { libc::free(string.cast()) }
    });
}

/// Copies `text` into a NUL-terminated `malloc` buffer the caller frees with
/// `cdyn_string_free`.
pub(crate) fn c_string(text: &str) -> Outcome<*mut c_char> {
    let size = text
        .len()
        .checked_add(1)
        .ok_or_else(|| Failure::internal("a string is too large"))?;
    // SAFETY: malloc with a non-zero size; the result is checked for NULL.
    let buffer = unsafe { libc::malloc(size) }.cast::<u8>();
    if buffer.is_null() {
        return Err(Failure::internal("out of memory"));
    }
    // SAFETY: `buffer` holds `size` bytes; the source holds `text.len()`.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), buffer, text.len());
        buffer.add(text.len()).write(0);
    }
    Ok(buffer.cast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn lists_hand_out_their_strings() {
        let list = cdyn_string_list::new(["a".to_owned(), "b\0c".to_owned()]).into_raw();
        let mut len = 99;
        // SAFETY: the list was just returned and is freed once below.
        unsafe {
            assert_eq!(cdyn_string_list_count(list), 2);
            let first = cdyn_string_list_at(list, 0, &mut len);
            assert_eq!(CStr::from_ptr(first).to_bytes(), b"a");
            assert_eq!(len, 1);
            assert!(!cdyn_string_list_at(list, 1, &mut len).is_null());
            assert_eq!(len, 3);
            assert!(cdyn_string_list_at(list, 2, &mut len).is_null());
            assert_eq!(len, 0);
            assert!(cdyn_string_list_at(ptr::null(), 0, ptr::null_mut()).is_null());
            assert_eq!(cdyn_string_list_count(ptr::null()), 0);
            cdyn_string_list_free(list);
            cdyn_string_list_free(ptr::null_mut());
        }
    }

    #[test]
    fn user_session_lists_hand_out_their_entries() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let list = cdyn_user_session_list::new(vec![
            UserSession {
                id: "first".to_owned(),
                expires_at: at(1_700_003_600),
                created_at: Some(at(1_700_000_000)),
            },
            UserSession {
                id: "second".to_owned(),
                expires_at: at(1_700_007_200),
                created_at: None,
            },
        ]);
        assert!(
            !format!("{list:?}").contains("first"),
            "ids stay out of Debug"
        );
        let list = list.into_raw();
        // SAFETY: the list was just returned and is freed once below.
        unsafe {
            assert_eq!(cdyn_user_session_list_count(list), 2);
            let first = &*cdyn_user_session_list_at(list, 0);
            assert_eq!(CStr::from_ptr(first.id).to_bytes(), b"first");
            assert_eq!(first.id_len, 5);
            assert_eq!(first.expires, 1_700_003_600);
            assert_eq!(first.created, 1_700_000_000);
            let second = &*cdyn_user_session_list_at(list, 1);
            assert_eq!(CStr::from_ptr(second.id).to_bytes(), b"second");
            assert_eq!(second.created, CDYN_CREATED_UNKNOWN);
            assert!(cdyn_user_session_list_at(list, 2).is_null());
            assert!(cdyn_user_session_list_at(ptr::null(), 0).is_null());
            assert_eq!(cdyn_user_session_list_count(ptr::null()), 0);
            cdyn_user_session_list_free(list);
            cdyn_user_session_list_free(ptr::null_mut());
        }
    }

    #[test]
    fn strings_are_copied_with_a_nul() {
        let s = c_string("{\"a\":1}").expect("malloc");
        // SAFETY: the string was just returned and is freed once below.
        unsafe {
            assert_eq!(CStr::from_ptr(s).to_bytes(), b"{\"a\":1}");
            cdyn_string_free(s);
            cdyn_string_free(ptr::null_mut());
        }
    }
}
