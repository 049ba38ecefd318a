//! The C face of connect-dynamodb: `libconnect_dynamodb.so` / `.a` and
//! `include/connect_dynamodb.h`, generated from this crate by cbindgen.
//!
//! Argument conversion, error mapping and runtime glue over `connect-dynamodb-core`, nothing
//! else. Every exported function goes through `error::boundary` (or `infallible` for those
//! without a status), which catches panics, so no panic ever unwinds into C. The doc comments
//! of the exported items are the header's prose: they say who owns what, whether a call is
//! thread-safe, and which statuses it returns.
//!
//! Each store operation is declared once (`operation.rs`); its blocking function (`store.rs`)
//! blocks on the process-local Tokio runtime of `connect-dynamodb-runtime` (built on first use,
//! again in a forked child), and its non-blocking twin (`nonblocking.rs`) runs on it and
//! delivers the result to a callback on a library thread.

// The exported functions are called from C: each one's doc comment (the header's prose) states
// its contract, which is its safety section, in the "Ownership" and "Thread safety" lines.
#![allow(clippy::missing_safety_doc)]

// Panics are caught at the boundary and become CDYN_ERR_INTERNAL; with panic=abort they would
// abort the C program instead, which the header promises never happens.
#[cfg(panic = "abort")]
compile_error!(
    "libconnect_dynamodb must be built with panic=unwind: panics become CDYN_ERR_INTERNAL"
);

mod clock;
mod config;
mod error;
mod nonblocking;
mod operation;
mod store;
mod values;

pub use clock::*;
pub use config::*;
pub use error::{
    cdyn_error, cdyn_error_code, cdyn_error_field, cdyn_error_free, cdyn_error_message,
    cdyn_error_retryable, cdyn_status, cdyn_status_str,
};
pub use nonblocking::*;
pub use store::{
    CDYN_CONDITION_ALWAYS, CDYN_CONDITION_IF_ABSENT, CDYN_CONDITION_IF_PRESENT,
    CDYN_EXPIRES_DEFAULT, CDYN_MAX_SAVE_ATTEMPTS, cdyn_condition, cdyn_save_outcome, cdyn_store,
    cdyn_store_clear, cdyn_store_create_table, cdyn_store_destroy, cdyn_store_end_user_sessions,
    cdyn_store_free, cdyn_store_get, cdyn_store_ids, cdyn_store_length, cdyn_store_load,
    cdyn_store_new, cdyn_store_reap, cdyn_store_reencrypt, cdyn_store_save, cdyn_store_set,
    cdyn_store_table_exists, cdyn_store_touch, cdyn_store_user_sessions, cdyn_store_verify_table,
    cdyn_touch_outcome, cdyn_version,
};
pub use values::*;
