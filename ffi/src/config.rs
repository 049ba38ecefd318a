//! `cdyn_config`: the store's settings, one typed setter per option of the core.
//!
//! Each setter validates the whole configuration with the new value, so an invalid value is
//! refused by the setter that brings it (`CDYN_ERR_INVALID_CONFIG`, naming the field) and the
//! configuration keeps its previous value.

use std::ffi::{CStr, c_char};
use std::ptr;
use std::time::Duration;

use connect_dynamodb_core::{
    Billing, Config, ConfigBuilder, ConfigField, Credentials, FirstUse, MergePolicy, Secret,
    SystemClock,
};

use crate::clock::cdyn_clock;
use crate::error::{Failure, Outcome, boundary, cdyn_error, cdyn_status, infallible};

/// The settings of a store, from `cdyn_config_new`. Every option starts at the core's default
/// (table `sessions`, hash key `id`, prefix `sess:`, the AWS default region and credentials
/// chains, consistent reads, a one-day default lifetime, a 10-minute touch throttle, no
/// reaper, on-demand billing, the table created on first use when missing, 2/3/8 s
/// connect/attempt/operation timeouts, 3 attempts, 4 scan segments, the system clock,
/// one-hour tombstones, merging off, no absolute timeout, no user field, no compression; no
/// encryption and no hashed ids unless the environment variables
/// `CONNECT_DYNAMODB_ENCRYPTION_KEYS` and `CONNECT_DYNAMODB_ID_HASH_KEY` give keys: see
/// `cdyn_config_add_encryption_key` and `cdyn_config_set_id_hash_key`).
///
/// A configuration is a plain object: setters must not run concurrently with other calls on
/// the same configuration; concurrent reads (`cdyn_store_new` from several threads) are fine.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct cdyn_config {
    builder: ConfigBuilder,
    /// The keys added by `cdyn_config_add_encryption_key(_base64)`, in order (the builder
    /// takes the whole list). `Secret` never shows its key in `Debug`.
    encryption_keys: Vec<Secret>,
}

impl cdyn_config {
    pub(crate) fn build(&self) -> Outcome<Config> {
        Ok(self.builder.clone().build()?)
    }
}

/// How a table created by `cdyn_store_create_table` is billed: one of the `CDYN_BILLING_`
/// constants.
#[allow(non_camel_case_types)]
pub type cdyn_billing = u32;
/// On-demand capacity (`PAY_PER_REQUEST`), the default.
pub const CDYN_BILLING_ON_DEMAND: cdyn_billing = 0;
/// Provisioned capacity, with the read and write capacity units given.
pub const CDYN_BILLING_PROVISIONED: cdyn_billing = 1;

/// What a store does about its table before its first session call: one of the
/// `CDYN_FIRST_USE_` constants (the core's `FirstUse`).
#[allow(non_camel_case_types)]
pub type cdyn_first_use = u32;
/// Check the table (DescribeTable) and create it when it is missing, as
/// `cdyn_store_create_table` does (with the `user-index` of a user field): the default, as in
/// connect-dynamodb 3.x. An existing table is left as it is: only `cdyn_store_create_table`
/// adds a missing `user-index` to it.
pub const CDYN_FIRST_USE_CREATE: cdyn_first_use = 0;
/// Check the table (DescribeTable); a missing table gives `CDYN_ERR_TABLE_NOT_FOUND`.
pub const CDYN_FIRST_USE_CHECK: cdyn_first_use = 1;
/// Make no request about the table (create it at deploy time).
pub const CDYN_FIRST_USE_NOTHING: cdyn_first_use = 2;

/// Whether saves are versioned, and how a save that meets a concurrent change of the same
/// session is resolved: one of the `CDYN_MERGE_` constants (the core's `merge` setting).
#[allow(non_camel_case_types)]
pub type cdyn_merge = u32;
/// Versioned writes off, the default: a save replaces the stored session, so of two requests
/// that loaded one session and changed different keys, the later save drops the earlier one's
/// change (as in connect-dynamodb 3.x, whose items carry no version).
pub const CDYN_MERGE_OFF: cdyn_merge = 0;
/// Versioned writes with a three-way merge at the top level of the session object: a key
/// both requests changed takes this request's value.
pub const CDYN_MERGE_MINE: cdyn_merge = 1;
/// Versioned writes with a three-way merge; a key both requests changed fails the save with
/// `CDYN_ERR_CONFLICT` and nothing is written.
pub const CDYN_MERGE_ERROR: cdyn_merge = 2;

/// A setting as the C API names it: its setter, and the option an error message quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) setter: &'static CStr,
    option: &'static str,
}

impl Setting {
    /// The message of an `INVALID_CONFIG` error, e.g. "cdyn_config_set_hash_key: invalid
    /// `hash_key`: must be 1 to 255 bytes long".
    pub(crate) fn message(self, problem: &str) -> String {
        let setter = self.setter.to_str().unwrap_or_default();
        format!("{setter}: invalid `{}`: {problem}", self.option)
    }
}

/// The C setting of each field of the core's configuration: the one table from the core's
/// names to the C API's. Exhaustive: a field new in the core does not compile until it is named
/// here.
pub(crate) fn setting_of(field: ConfigField) -> Setting {
    let (setter, option) = match field {
        ConfigField::Table => (c"cdyn_config_set_table", "table"),
        ConfigField::HashKey => (c"cdyn_config_set_hash_key", "hash_key"),
        ConfigField::Prefix => (c"cdyn_config_set_prefix", "prefix"),
        ConfigField::Region => (c"cdyn_config_set_region", "region"),
        ConfigField::Endpoint => (c"cdyn_config_set_endpoint", "endpoint"),
        ConfigField::AccessKeyId => (c"cdyn_config_set_credentials", "credentials.access_key_id"),
        ConfigField::SecretAccessKey => (
            c"cdyn_config_set_credentials",
            "credentials.secret_access_key",
        ),
        ConfigField::SessionToken => (c"cdyn_config_set_credentials", "credentials.session_token"),
        // The C API has no credentials provider; only static credentials can conflict with it.
        ConfigField::CredentialsProvider => (c"cdyn_config_set_credentials", "credentials"),
        ConfigField::ConsistentRead => (c"cdyn_config_set_consistent_read", "consistent_read"),
        ConfigField::DefaultLifetime => (c"cdyn_config_set_default_lifetime", "default_lifetime"),
        ConfigField::TouchAfter => (c"cdyn_config_set_touch_after", "touch_after"),
        ConfigField::ReapInterval => (c"cdyn_config_set_reap_interval", "reap_interval"),
        // Billing and both capacities come in one call, as its arguments.
        ConfigField::Billing => (c"cdyn_config_set_billing", "billing"),
        ConfigField::ReadCapacity => (c"cdyn_config_set_billing", "read_units"),
        ConfigField::WriteCapacity => (c"cdyn_config_set_billing", "write_units"),
        ConfigField::FirstUse => (c"cdyn_config_set_first_use", "first_use"),
        ConfigField::CreateWait => (c"cdyn_config_set_create_wait", "create_wait"),
        ConfigField::ConnectTimeout => (c"cdyn_config_set_connect_timeout", "connect_timeout"),
        ConfigField::AttemptTimeout => (c"cdyn_config_set_attempt_timeout", "attempt_timeout"),
        ConfigField::OperationTimeout => {
            (c"cdyn_config_set_operation_timeout", "operation_timeout")
        }
        ConfigField::MaxAttempts => (c"cdyn_config_set_max_attempts", "max_attempts"),
        ConfigField::ScanSegments => (c"cdyn_config_set_scan_segments", "scan_segments"),
        ConfigField::TombstoneLifetime => {
            (c"cdyn_config_set_tombstone_lifetime", "tombstone_lifetime")
        }
        ConfigField::Merge => (c"cdyn_config_set_merge", "merge"),
        ConfigField::AbsoluteTimeout => (c"cdyn_config_set_absolute_timeout", "absolute_timeout"),
        ConfigField::UserField => (c"cdyn_config_set_user_field", "user_field"),
        // Keys are added one call each (the `_base64` variants name the same setting).
        ConfigField::EncryptionKeys => (c"cdyn_config_add_encryption_key", "encryption_keys"),
        ConfigField::IdHashKey => (c"cdyn_config_set_id_hash_key", "id_hash_key"),
        ConfigField::CompressThreshold => {
            (c"cdyn_config_set_compress_threshold", "compress_threshold")
        }
        ConfigField::DecryptOnly => (c"cdyn_config_set_decrypt_only", "decrypt_only"),
    };
    Setting { setter, option }
}

/// Reads a NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Outcome<&'a str> {
    if ptr.is_null() {
        return Err(Failure::invalid_argument(format!("`{name}` is NULL")));
    }
    // SAFETY: per this function's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Failure::invalid_argument(format!("`{name}` is not valid UTF-8")))
}

/// Reads a byte buffer argument (`len` bytes at `ptr`) and copies it.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes, valid during the call.
unsafe fn bytes_arg(ptr: *const u8, len: usize, name: &str) -> Outcome<Vec<u8>> {
    if ptr.is_null() {
        return Err(Failure::invalid_argument(format!("`{name}` is NULL")));
    }
    // SAFETY: per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec())
}

/// # Safety
/// `config` is NULL or a configuration from `cdyn_config_new` that is not freed, and not
/// used by another thread during the call.
unsafe fn config_mut<'a>(config: *mut cdyn_config) -> Outcome<&'a mut cdyn_config> {
    // SAFETY: per this function's contract.
    unsafe { config.as_mut() }.ok_or_else(|| Failure::invalid_argument("`config` is NULL"))
}

/// Applies `change` when the configuration stays valid with it.
fn apply(
    config: *mut cdyn_config,
    error: *mut *mut cdyn_error,
    change: impl FnOnce(ConfigBuilder) -> Outcome<ConfigBuilder>,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY: the setters' documented contract.
        let config = unsafe { config_mut(config) }?;
        let next = change(config.builder.clone())?;
        next.clone().build()?;
        config.builder = next;
        Ok(())
    })
}

/// A duration given in milliseconds; its range is checked by the core's `build()`.
fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A new configuration with every option at its default.
///
/// Ownership: the caller owns the result and frees it with `cdyn_config_free`. Never NULL
/// (short of a bug in the library, when it is NULL).
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn cdyn_config_new() -> *mut cdyn_config {
    infallible(ptr::null_mut(), || {
        Box::into_raw(Box::new(cdyn_config {
            builder: Config::builder(),
            encryption_keys: Vec::new(),
        }))
    })
}

/// Frees a configuration. Stores built from it keep their own copy. `cdyn_config_free(NULL)`
/// does nothing.
///
/// Ownership: takes `config`, which must not be used afterwards.
/// Thread safety: not while another thread uses `config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_free(config: *mut cdyn_config) {
    infallible((), || {
        if !config.is_null() {
            // SAFETY: a configuration from cdyn_config_new, freed once (the caller's promise).
            drop(unsafe { Box::from_raw(config) });
        }
    });
}

/// Sets the table name (default `sessions`): 3 to 255 characters of `a-z A-Z 0-9 _ - .`.
///
/// Ownership: borrows every argument; `table` is copied. On failure `*error` (when `error` is
/// not NULL) receives an error the caller frees with `cdyn_error_free`; on success it is set
/// to NULL.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8) or
/// `CDYN_ERR_INVALID_CONFIG` (the configuration is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_table(
    config: *mut cdyn_config,
    table: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(b.table(unsafe { str_arg(table, "table") }?))
    })
}

/// Sets the prefix of every key (default `sess:`), at most 1024 bytes; may be empty.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_prefix(
    config: *mut cdyn_config,
    prefix: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(b.prefix(unsafe { str_arg(prefix, "prefix") }?))
    })
}

/// Sets the table's hash key attribute (default `id`), a string key; 1 to 255 bytes, not
/// `expires`, `type` or `sess`.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_hash_key(
    config: *mut cdyn_config,
    hash_key: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(b.hash_key(unsafe { str_arg(hash_key, "hash_key") }?))
    })
}

/// Sets the AWS region, e.g. `eu-west-1`. Without it the region comes from `AWS_REGION` or
/// the AWS profile, and `cdyn_store_new` fails with `CDYN_ERR_INVALID_CONFIG` when there is
/// none (unless an endpoint is set).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_region(
    config: *mut cdyn_config,
    region: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(b.region(unsafe { str_arg(region, "region") }?))
    })
}

/// Sets an endpoint URL (`http://` or `https://`), e.g. `http://127.0.0.1:8000` for
/// DynamoDB Local.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_endpoint(
    config: *mut cdyn_config,
    endpoint: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(b.endpoint(unsafe { str_arg(endpoint, "endpoint") }?))
    })
}

/// Sets static credentials: an access key id, its secret, and a session token for temporary
/// credentials (`session_token` may be NULL). Without them the AWS default provider chain is
/// used (environment, profile, SSO, web identity, container and instance metadata). The
/// strings are copied and never appear in an error message.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG` (an empty id
/// or secret).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_credentials(
    config: *mut cdyn_config,
    access_key_id: *const c_char,
    secret_access_key: *const c_char,
    session_token: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let id = unsafe { str_arg(access_key_id, "access_key_id") }?;
        // SAFETY: as above.
        let secret = unsafe { str_arg(secret_access_key, "secret_access_key") }?;
        let token = if session_token.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { str_arg(session_token, "session_token") }?.to_owned())
        };
        Ok(b.credentials(Credentials::new(id, secret, token)))
    })
}

/// Strongly consistent reads (default `true`), so a write is seen by the next read.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK` or `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_consistent_read(
    config: *mut cdyn_config,
    consistent_read: bool,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.consistent_read(consistent_read)))
}

/// The lifetime of sessions stored with `CDYN_EXPIRES_DEFAULT`, in milliseconds (default one
/// day; more than zero, at most 100 years).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_default_lifetime(
    config: *mut cdyn_config,
    lifetime_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.default_lifetime(millis(lifetime_ms)))
    })
}

/// The touch throttle in milliseconds (default 10 minutes; 0 writes on every touch): a touch
/// that moves the stored expiry by less than this (or by less than a tenth of the session's
/// remaining lifetime, when that is shorter) writes nothing.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_touch_after(
    config: *mut cdyn_config,
    touch_after_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.touch_after(millis(touch_after_ms))))
}

/// The interval of the background reaper in milliseconds (at least 1000), or 0 for none (the
/// default). A store built with a reaper runs a pass about every interval on a library thread
/// until `cdyn_store_free`; each pass deletes expired sessions of the store's prefix.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_reap_interval(
    config: *mut cdyn_config,
    interval_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.reap_interval((interval_ms > 0).then(|| millis(interval_ms))))
    })
}

/// The billing of a table created by `cdyn_store_create_table`: `CDYN_BILLING_ON_DEMAND`
/// (the default; `read_units` and `write_units` are ignored) or `CDYN_BILLING_PROVISIONED`
/// with 1 to 40000 read and write capacity units each.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (an unknown `billing`) or
/// `CDYN_ERR_INVALID_CONFIG` (a capacity out of that range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_billing(
    config: *mut cdyn_config,
    billing: cdyn_billing,
    read_units: i64,
    write_units: i64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| match billing {
        CDYN_BILLING_ON_DEMAND => Ok(b.billing(Billing::OnDemand)),
        CDYN_BILLING_PROVISIONED => Ok(b.billing(Billing::Provisioned {
            read: read_units,
            write: write_units,
        })),
        _ => Err(Failure::invalid_argument(
            "`billing` is not one of the CDYN_BILLING_ constants",
        )),
    })
}

/// How long `cdyn_store_create_table` waits for a new table to become ACTIVE, in
/// milliseconds (default 120 s; more than zero, at most one hour).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_create_wait(
    config: *mut cdyn_config,
    wait_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.create_wait(millis(wait_ms))))
}

/// The time allowed to open a connection, in milliseconds (default 2000; more than zero, at
/// most one hour).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_connect_timeout(
    config: *mut cdyn_config,
    timeout_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.connect_timeout(millis(timeout_ms))))
}

/// The time allowed for one attempt of a request, in milliseconds (default 3000; more than
/// zero, at most one hour).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_attempt_timeout(
    config: *mut cdyn_config,
    timeout_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.attempt_timeout(millis(timeout_ms))))
}

/// The time allowed for a request with all its retries, in milliseconds (default 8000; more
/// than zero, at most one hour). A DynamoDB that never answers gives `CDYN_ERR_TIMEOUT` after
/// this long at the latest.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_operation_timeout(
    config: *mut cdyn_config,
    timeout_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.operation_timeout(millis(timeout_ms)))
    })
}

/// Attempts per request, the first included (default 3, 1 to 10), with the AWS SDK's standard
/// backoff between them.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_max_attempts(
    config: *mut cdyn_config,
    max_attempts: u32,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.max_attempts(max_attempts)))
}

/// Parallel scan segments for `cdyn_store_ids`, `_length`, `_clear` and `_reap` (default 4,
/// 1 to 64).
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` or `CDYN_ERR_INVALID_CONFIG`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_scan_segments(
    config: *mut cdyn_config,
    segments: u32,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.scan_segments(segments)))
}

/// What a store built from `config` does about its table before its first session call
/// (`cdyn_store_get`, `_set`, `_touch`, `_destroy`, `_ids`, `_length`, `_clear`, `_reap` and
/// their `_async` twins), once per store and process: `CDYN_FIRST_USE_CREATE` (the default:
/// check it with DescribeTable and create it when missing, as `cdyn_store_create_table` does;
/// a `user-index` missing from an existing table is not added: `cdyn_store_create_table` adds
/// it),
/// `CDYN_FIRST_USE_CHECK` (check it; a missing table gives `CDYN_ERR_TABLE_NOT_FOUND`) or
/// `CDYN_FIRST_USE_NOTHING` (no request: the table is created at deploy time). An `AUTH`
/// answer to DescribeTable counts as "the table exists".
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK` or `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL, an unknown
/// `first_use`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_first_use(
    config: *mut cdyn_config,
    first_use: cdyn_first_use,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(
        config,
        error,
        |b| Ok(b.first_use(first_use_arg(first_use)?)),
    )
}

fn first_use_arg(first_use: cdyn_first_use) -> Outcome<FirstUse> {
    match first_use {
        CDYN_FIRST_USE_CREATE => Ok(FirstUse::Create),
        CDYN_FIRST_USE_CHECK => Ok(FirstUse::Check),
        CDYN_FIRST_USE_NOTHING => Ok(FirstUse::Nothing),
        _ => Err(Failure::invalid_argument(
            "`first_use` is not one of the CDYN_FIRST_USE_ constants",
        )),
    }
}

/// How long the tombstone of a destroyed session lives, in milliseconds (default one hour, at
/// most 100 years; 0 turns tombstones off). `cdyn_store_destroy` leaves a tombstone in the
/// session's place (one write, as a delete is), so that a request that loaded the session
/// before it was destroyed and saves or touches it afterwards writes nothing: a late
/// `cdyn_store_set` is a quiet `CDYN_OK` (`cdyn_store_save` reports `CDYN_SAVE_ENDED`) and
/// the user stays logged out. Keep it longer than your slowest request. DynamoDB's TTL
/// deletes the tombstone afterwards. With 0, `cdyn_store_destroy` deletes the item, as
/// connect-dynamodb 3.x does, and a late save brings the session back.
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (over 100 years).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_tombstone_lifetime(
    config: *mut cdyn_config,
    lifetime_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.tombstone_lifetime(millis(lifetime_ms)))
    })
}

/// Versioned writes and merging (default `CDYN_MERGE_OFF`): `CDYN_MERGE_MINE` or
/// `CDYN_MERGE_ERROR` turn them on. Each item then carries a version; the store remembers,
/// for each session it recently read, the version and text it read (bounded memory). Each
/// request carries the version its session was loaded at from `cdyn_store_load` to
/// `cdyn_store_save` (its `loaded` argument), and the save is conditional on that version.
/// When another request saved the session in between, the save merges at the top level of
/// the session object: the keys this save changed (against what was loaded at that version)
/// are applied onto the current session, the other keys keep the other request's values, and
/// a key both changed is decided by the policy. A save without a loaded version
/// (`cdyn_store_set`, or `cdyn_store_save` with `loaded` NULL) replaces the stored session.
/// A read costs one request as before; a save that meets a concurrent change costs the rewrite
/// (one more PutItem: DynamoDB returns the current item with the refused write, so nothing is
/// read); a save that keeps meeting changes gives up with `CDYN_ERR_CONFLICT` after
/// `CDYN_MAX_SAVE_ATTEMPTS` attempts. Items of processes with merging off (connect-dynamodb
/// 3.x too) count as version 0.
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL, an unknown `merge`) or
/// `CDYN_ERR_INVALID_CONFIG` (the hash key is `version`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_merge(
    config: *mut cdyn_config,
    merge: cdyn_merge,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.merge(merge_arg(merge)?)))
}

fn merge_arg(merge: cdyn_merge) -> Outcome<Option<MergePolicy>> {
    match merge {
        CDYN_MERGE_OFF => Ok(None),
        CDYN_MERGE_MINE => Ok(Some(MergePolicy::Mine)),
        CDYN_MERGE_ERROR => Ok(Some(MergePolicy::Error)),
        _ => Err(Failure::invalid_argument(
            "`merge` is not one of the CDYN_MERGE_ constants",
        )),
    }
}

/// An absolute lifetime of every session from its creation, in milliseconds, or 0 for none
/// (the default; at most 100 years). Items then record when the session was created;
/// `cdyn_store_get` finds no session older than this however active it is, `cdyn_store_touch`
/// and `cdyn_store_set` never extend it (a save of such a session writes nothing and
/// `cdyn_store_save` reports `CDYN_SAVE_ENDED`), and a new session id (a regenerated session)
/// starts a new lifetime. The session's expiry is capped at its creation plus this.
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (over 100 years, or the hash key is `created`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_absolute_timeout(
    config: *mut cdyn_config,
    timeout_ms: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.absolute_timeout((timeout_ms > 0).then(|| millis(timeout_ms))))
    })
}

/// The session field that names the session's user, as a dotted path into the session JSON
/// object (e.g. `userId` or `passport.user`), or NULL for none (the default). The store writes
/// its value (a non-empty string, or a whole number as its decimal text) to the item's `user`
/// attribute, and `cdyn_store_create_table` creates the global secondary index `user-index`
/// on it, so that `cdyn_store_user_sessions` and `cdyn_store_end_user_sessions` find a user's
/// sessions with a Query, never a scan. Items also record their creation time.
/// Ownership: borrows every argument (strings are copied); `*error` as for
/// `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL, `user_field` not UTF-8)
/// or `CDYN_ERR_INVALID_CONFIG` (empty, an empty name between dots, over 255 bytes, or the
/// hash key is `user`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_user_field(
    config: *mut cdyn_config,
    user_field: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        let field = if user_field.is_null() {
            None
        } else {
            // SAFETY: the caller passes a NUL-terminated string or NULL.
            Some(unsafe { str_arg(user_field, "user_field") }?.to_owned())
        };
        Ok(b.user_field(field))
    })
}

/// The clock the store reads "now" from, for every expiry and touch-throttle decision; NULL
/// sets the system clock back (the default). Stores built from `config` share `clock`: moving
/// it with `cdyn_clock_advance_ms` moves their time (DynamoDB's own TTL deletion still follows
/// the real time). Meant for tests.
/// Ownership: borrows every argument; the configuration keeps its own reference to the clock,
/// so `clock` may be freed at any time. `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK` or `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_clock(
    config: *mut cdyn_config,
    clock: *const cdyn_clock,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes NULL or a live clock.
        Ok(match unsafe { clock.as_ref() } {
            Some(clock) => b.clock(clock.manual().clone()),
            None => b.clock(SystemClock),
        })
    })
}

/// Adds an encryption key: sessions are then encrypted at rest with AES-256-GCM, in the item
/// format every face of connect-dynamodb reads. `key` points to `len` bytes, 32 for a key.
/// Call it once per key, at most 16 keys: the first key added encrypts every write, every key
/// decrypts. To rotate keys, add the new key first and the old one after it until nothing is
/// encrypted with the old one any more (`cdyn_store_reencrypt` rewrites idle sessions).
/// A store built from a configuration to which no key was added takes its keys from the
/// environment variable `CONNECT_DYNAMODB_ENCRYPTION_KEYS` (base64 keys separated by commas;
/// read again whenever the configuration is validated: by every setter and by
/// `cdyn_store_new`); unset or empty, sessions are stored as plain JSON text, as
/// connect-dynamodb 3.x stores them (which reads encrypted sessions as no session).
/// A store with keys still reads plain sessions, and encrypts them at their next write.
/// Error messages never show key material.
/// Ownership: borrows every argument; the key is copied, so the caller may wipe its buffer
/// as soon as the call returns. `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` or `key` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (not 32 bytes, a key given twice, more than 16 keys; the
/// configuration is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_add_encryption_key(
    config: *mut cdyn_config,
    key: *const u8,
    len: usize,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    add_encryption_key(config, error, || {
        // SAFETY: the caller passes NULL or `len` readable bytes.
        Ok(Secret::Bytes(unsafe { bytes_arg(key, len, "key") }?))
    })
}

/// As `cdyn_config_add_encryption_key`, with the key as base64 text (standard or URL-safe,
/// padded or not), e.g. one of the keys of `CONNECT_DYNAMODB_ENCRYPTION_KEYS`. An invalid key
/// is reported as `cdyn_config_add_encryption_key`'s.
/// Ownership: borrows every argument (strings are copied; the caller may wipe `key` after
/// the call); `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8) or
/// `CDYN_ERR_INVALID_CONFIG` (not base64, not 32 bytes, a key given twice, more than 16 keys).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_add_encryption_key_base64(
    config: *mut cdyn_config,
    key: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    add_encryption_key(config, error, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        Ok(Secret::Base64(unsafe { str_arg(key, "key") }?.to_owned()))
    })
}

/// Appends a key to the configuration's list when the configuration stays valid with it.
fn add_encryption_key(
    config: *mut cdyn_config,
    error: *mut *mut cdyn_error,
    key: impl FnOnce() -> Outcome<Secret>,
) -> cdyn_status {
    boundary(error, || {
        // SAFETY: the setters' documented contract.
        let config = unsafe { config_mut(config) }?;
        let mut keys = config.encryption_keys.clone();
        keys.push(key()?);
        let next = config.builder.clone().encryption_keys(keys.clone());
        next.clone().build()?;
        config.builder = next;
        config.encryption_keys = keys;
        Ok(())
    })
}

/// Sets the key of the hashed session ids: the store then keeps a keyed hash (HMAC-SHA-256,
/// 43 characters of base64url after the prefix) of each session id in the table instead of
/// the id, so that a copy of the table gives no session cookie, and the `user` attribute of
/// `cdyn_config_set_user_field` holds a keyed hash of the user id. `key` points to `len`
/// bytes, 32 to 64. `cdyn_store_ids` and `cdyn_store_user_sessions` then list the hashes, not
/// the ids. Setting, changing or removing the key ends every stored session (they are looked
/// up under another key). Without this call the key comes from the environment variable
/// `CONNECT_DYNAMODB_ID_HASH_KEY` (base64; read whenever the configuration is validated);
/// unset or empty, ids are stored as they are. Error messages never show key material.
/// Ownership: borrows every argument; the key is copied, so the caller may wipe its buffer
/// as soon as the call returns. `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` or `key` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (shorter than 32 or longer than 64 bytes; the configuration is
/// unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_id_hash_key(
    config: *mut cdyn_config,
    key: *const u8,
    len: usize,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes NULL or `len` readable bytes.
        let key = unsafe { bytes_arg(key, len, "key") }?;
        Ok(b.id_hash_key(Some(Secret::Bytes(key))))
    })
}

/// As `cdyn_config_set_id_hash_key`, with the key as base64 text (standard or URL-safe,
/// padded or not).
/// Ownership: borrows every argument (strings are copied; the caller may wipe `key` after
/// the call); `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (NULL, not UTF-8) or
/// `CDYN_ERR_INVALID_CONFIG` (not base64, shorter than 32 or longer than 64 bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_id_hash_key_base64(
    config: *mut cdyn_config,
    key: *const c_char,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let key = unsafe { str_arg(key, "key") }?;
        Ok(b.id_hash_key(Some(Secret::Base64(key.to_owned()))))
    })
}

/// With `decrypt_only` true, the encryption keys only decrypt: sessions are read encrypted or
/// not, and written unencrypted (default false). The first of two deploys that turn encryption
/// on in a fleet updated process by process, so that no process meets a session it cannot
/// read. Call it after adding the keys: without keys it is `CDYN_ERR_INVALID_CONFIG`.
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (no encryption keys).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_decrypt_only(
    config: *mut cdyn_config,
    decrypt_only: bool,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| Ok(b.decrypt_only(decrypt_only)))
}

/// The `bytes` of `cdyn_config_set_compress_threshold` that turns compression off (the
/// default).
pub const CDYN_COMPRESS_NEVER: u64 = u64::MAX;

/// Compresses (DEFLATE, before encrypting) every session whose JSON text is longer than
/// `bytes` bytes (at most 16 MiB; 0 compresses every session), or `CDYN_COMPRESS_NEVER` for
/// no compression (the default). Compressed sessions are stored binary, in the item format
/// every face of connect-dynamodb reads (connect-dynamodb 3.x reads them as no session);
/// every store reads them whatever its own setting.
/// Ownership: borrows every argument; `*error` as for `cdyn_config_set_table`.
/// Thread safety: not while another thread uses `config`.
/// Returns `CDYN_OK`, `CDYN_ERR_INVALID_ARGUMENT` (`config` is NULL) or
/// `CDYN_ERR_INVALID_CONFIG` (over 16 MiB).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cdyn_config_set_compress_threshold(
    config: *mut cdyn_config,
    bytes: u64,
    error: *mut *mut cdyn_error,
) -> cdyn_status {
    apply(config, error, |b| {
        Ok(b.compress_threshold((bytes != CDYN_COMPRESS_NEVER).then_some(bytes)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_setter() {
        for field in ConfigField::ALL {
            let setting = setting_of(field);
            let setter = setting.setter.to_str().expect("ASCII");
            // The option is the setter's, or one of its arguments; keys are added one by one.
            let (verb, option) = match setting.option {
                "read_units" | "write_units" => ("set", "billing"),
                "encryption_keys" => ("add", "encryption_key"),
                other => ("set", other.split('.').next().unwrap_or_default()),
            };
            assert_eq!(setter, format!("cdyn_config_{verb}_{option}"));
        }
    }

    /// Bad keys are refused by the setter that brings them, naming it, without key material
    /// in the message or in `Debug`; good keys are copied.
    #[test]
    fn keys_are_checked_copied_and_never_shown() {
        let config = cdyn_config_new();
        let mut error: *mut cdyn_error = ptr::null_mut();
        let mut key = [7u8; 32];
        let short = c"c2VjcmV0LXNob3J0LWtleQ";
        // SAFETY: a live configuration, valid buffers; the errors are freed by `message`.
        unsafe {
            let status = cdyn_config_add_encryption_key(config, key.as_ptr(), 16, &mut error);
            assert_eq!(status, cdyn_status::CDYN_ERR_INVALID_CONFIG);
            let field = CStr::from_ptr(crate::cdyn_error_field(error));
            assert_eq!(field, c"cdyn_config_add_encryption_key");
            let text = CStr::from_ptr(crate::cdyn_error_message(error)).to_string_lossy();
            assert!(text.contains("`encryption_keys`"), "{text}");
            crate::cdyn_error_free(error);
            let status = cdyn_config_add_encryption_key_base64(config, short.as_ptr(), &mut error);
            assert_eq!(status, cdyn_status::CDYN_ERR_INVALID_CONFIG);
            let shown = CStr::from_ptr(crate::cdyn_error_message(error)).to_string_lossy();
            assert!(!shown.contains("c2VjcmV0"), "{shown}");
            crate::cdyn_error_free(error);
            let status = cdyn_config_set_id_hash_key_base64(config, short.as_ptr(), &mut error);
            assert_eq!(status, cdyn_status::CDYN_ERR_INVALID_CONFIG);
            let field = CStr::from_ptr(crate::cdyn_error_field(error));
            assert_eq!(field, c"cdyn_config_set_id_hash_key");
            crate::cdyn_error_free(error);
            assert_eq!(
                cdyn_config_add_encryption_key(config, ptr::null(), 32, &mut error),
                cdyn_status::CDYN_ERR_INVALID_ARGUMENT
            );
            crate::cdyn_error_free(error);
            // Nothing was kept from the refused calls.
            assert!((*config).encryption_keys.is_empty());
            // Good keys are copied: wiping the buffer changes nothing.
            let status = cdyn_config_add_encryption_key(config, key.as_ptr(), 32, &mut error);
            assert_eq!(status, cdyn_status::CDYN_OK);
            key.fill(0);
            let status = cdyn_config_add_encryption_key(config, key.as_ptr(), 32, &mut error);
            assert_eq!(status, cdyn_status::CDYN_OK);
            let hash = [9u8; 40];
            let status = cdyn_config_set_id_hash_key(config, hash.as_ptr(), 40, &mut error);
            assert_eq!(status, cdyn_status::CDYN_OK);
            let status = cdyn_config_set_compress_threshold(config, 0, &mut error);
            assert_eq!(status, cdyn_status::CDYN_OK);
            let built = (*config).build().expect("valid");
            assert_eq!(built.encryption_key_ids().len(), 2);
            assert!(built.hashes_ids());
            assert_eq!(built.compress_threshold(), Some(0));
            let shown = format!("{:?}", *config);
            for secret in ["7, 7, 7", "0, 0, 0", "9, 9, 9"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            let status =
                cdyn_config_set_compress_threshold(config, CDYN_COMPRESS_NEVER, &mut error);
            assert_eq!(status, cdyn_status::CDYN_OK);
            assert_eq!((*config).build().expect("valid").compress_threshold(), None);
            let status = cdyn_config_set_compress_threshold(config, 1 << 40, &mut error);
            assert_eq!(status, cdyn_status::CDYN_ERR_INVALID_CONFIG);
            let field = CStr::from_ptr(crate::cdyn_error_field(error));
            assert_eq!(field, c"cdyn_config_set_compress_threshold");
            crate::cdyn_error_free(error);
            cdyn_config_free(config);
        }
    }

    #[test]
    fn a_config_error_names_the_setter() {
        let err = Config::builder()
            .max_attempts(0)
            .build()
            .expect_err("out of range");
        let failure = Failure::from(err);
        assert_eq!(failure.status, cdyn_status::CDYN_ERR_INVALID_CONFIG);
        let error = failure.into_error();
        // SAFETY: the error was just returned and is freed once below.
        unsafe {
            let message = CStr::from_ptr(crate::cdyn_error_message(error)).to_string_lossy();
            assert_eq!(
                message,
                "cdyn_config_set_max_attempts: invalid `max_attempts`: must be 1 to 10"
            );
            let field = CStr::from_ptr(crate::cdyn_error_field(error));
            assert_eq!(field, c"cdyn_config_set_max_attempts");
            crate::cdyn_error_free(error);
        }
    }

    #[test]
    fn merge_constants_mirror_the_core() {
        // Every policy of the core has a constant, and "off" is CDYN_MERGE_OFF.
        let constants = [CDYN_MERGE_OFF, CDYN_MERGE_MINE, CDYN_MERGE_ERROR];
        let mut policies: Vec<Option<MergePolicy>> = constants
            .iter()
            .map(|m| merge_arg(*m).ok().flatten())
            .collect();
        assert_eq!(policies.remove(0), None);
        let core: Vec<Option<MergePolicy>> = MergePolicy::ALL.into_iter().map(Some).collect();
        assert_eq!(policies, core);
        for m in constants {
            let name = merge_arg(m)
                .ok()
                .flatten()
                .map_or("off", MergePolicy::as_str);
            assert_eq!(
                MergePolicy::from_name(name).ok(),
                merge_arg(m).ok(),
                "{name}"
            );
        }
        assert!(merge_arg(3).is_err());
        // The defaults of a new configuration are the core's.
        let config = cdyn_config_new();
        // SAFETY: just made, freed once below.
        let built = unsafe { (*config).build() }.expect("valid");
        assert_eq!(built.merge(), None);
        assert_eq!(
            built.tombstone_lifetime(),
            connect_dynamodb_core::DEFAULT_TOMBSTONE_LIFETIME
        );
        assert_eq!(built.absolute_timeout(), None);
        assert_eq!(built.user_field(), None);
        // SAFETY: as above.
        unsafe { cdyn_config_free(config) };
    }

    #[test]
    fn first_use_constants_mirror_the_core() {
        assert_eq!(
            first_use_arg(CDYN_FIRST_USE_CREATE).ok(),
            Some(FirstUse::Create)
        );
        assert_eq!(
            first_use_arg(CDYN_FIRST_USE_CHECK).ok(),
            Some(FirstUse::Check)
        );
        assert_eq!(
            first_use_arg(CDYN_FIRST_USE_NOTHING).ok(),
            Some(FirstUse::Nothing)
        );
        assert!(first_use_arg(3).is_err());
        // The default of a new configuration is the core's.
        let config = cdyn_config_new();
        // SAFETY: just made, freed once below.
        let built = unsafe { (*config).build() }.expect("valid");
        assert_eq!(built.first_use(), connect_dynamodb_core::DEFAULT_FIRST_USE);
        // SAFETY: as above.
        unsafe { cdyn_config_free(config) };
    }
}
