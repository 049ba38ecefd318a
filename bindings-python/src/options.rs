//! The stores' constructor options: declared once (the list below generates the `Options`
//! struct, both constructors' signatures and `OPTIONS`), each defaulting to `None`, meaning
//! the core's default; turned into the core's `Config`; and the one table from the core's
//! `ConfigField` to the Python option a configuration error names.

use std::time::Duration;

use connect_dynamodb_core::{
    Billing, Config, ConfigBuilder, ConfigField, FirstUse, MergePolicy, Secret,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::convert;
use crate::error::{StoreError, type_error};
use crate::values::{PyCredentials, PyManualClock};

/// Hands the list of constructor options to `$callback!`, followed by `$rest`: the first
/// option is the only positional one. Every option is `Option<type>`, `None` by default.
macro_rules! with_store_options {
    ($callback:ident ! { $($rest:tt)* }) => {
        $callback! {
            options {
                table: String,
                prefix: String,
                hash_key: String,
                region: String,
                endpoint: String,
                credentials: Bound<'py, PyCredentials>,
                consistent_read: bool,
                default_lifetime: Bound<'py, PyAny>,
                touch_after: Bound<'py, PyAny>,
                reap_interval: Bound<'py, PyAny>,
                billing: Bound<'py, PyAny>,
                first_use: Bound<'py, PyAny>,
                create_table: bool,
                create_wait: Bound<'py, PyAny>,
                connect_timeout: Bound<'py, PyAny>,
                attempt_timeout: Bound<'py, PyAny>,
                operation_timeout: Bound<'py, PyAny>,
                max_attempts: Bound<'py, PyAny>,
                scan_segments: Bound<'py, PyAny>,
                tombstone_lifetime: Bound<'py, PyAny>,
                merge: Bound<'py, PyAny>,
                absolute_timeout: Bound<'py, PyAny>,
                user_field: String,
                encryption_keys: Bound<'py, PyAny>,
                id_hash_key: Bound<'py, PyAny>,
                compress_threshold: Bound<'py, PyAny>,
                decrypt_only: bool,
                clock: Bound<'py, PyManualClock>,
            }
            $($rest)*
        }
    };
}
pub(crate) use with_store_options;

macro_rules! define_options {
    (options { $($name:ident : $ty:ty),* $(,)? }) => {
        /// The constructor's options, as Python handed them over; `None`: the core's default.
        pub(crate) struct Options<'py> {
            $(pub(crate) $name: Option<$ty>,)*
        }

        /// The keyword names of the constructors, in order.
        pub(crate) const OPTION_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}
with_store_options!(define_options! {});

/// The Python option a core configuration field is set by: the one table, used for every
/// configuration error's message.
pub(crate) fn option_name(field: ConfigField) -> &'static str {
    // Exhaustive: a field new in the core does not compile until it is named here.
    match field {
        ConfigField::Table => "table",
        ConfigField::HashKey => "hash_key",
        ConfigField::Prefix => "prefix",
        ConfigField::Region => "region",
        ConfigField::Endpoint => "endpoint",
        ConfigField::AccessKeyId => "credentials.access_key_id",
        ConfigField::SecretAccessKey => "credentials.secret_access_key",
        ConfigField::SessionToken => "credentials.session_token",
        ConfigField::CredentialsProvider => "credentials",
        ConfigField::ConsistentRead => "consistent_read",
        ConfigField::DefaultLifetime => "default_lifetime",
        ConfigField::TouchAfter => "touch_after",
        ConfigField::ReapInterval => "reap_interval",
        ConfigField::Billing | ConfigField::ReadCapacity | ConfigField::WriteCapacity => "billing",
        ConfigField::FirstUse => "first_use",
        ConfigField::CreateWait => "create_wait",
        ConfigField::ConnectTimeout => "connect_timeout",
        ConfigField::AttemptTimeout => "attempt_timeout",
        ConfigField::OperationTimeout => "operation_timeout",
        ConfigField::MaxAttempts => "max_attempts",
        ConfigField::ScanSegments => "scan_segments",
        ConfigField::TombstoneLifetime => "tombstone_lifetime",
        ConfigField::Merge => "merge",
        ConfigField::AbsoluteTimeout => "absolute_timeout",
        ConfigField::UserField => "user_field",
        ConfigField::EncryptionKeys => "encryption_keys",
        ConfigField::IdHashKey => "id_hash_key",
        ConfigField::CompressThreshold => "compress_threshold",
        ConfigField::DecryptOnly => "decrypt_only",
    }
}

/// Every core field with the Python option that names it: `[(core name, option)]`.
#[pyfunction]
pub(crate) fn _config_fields() -> Vec<(&'static str, &'static str)> {
    ConfigField::ALL
        .iter()
        .map(|&field| (field.as_str(), option_name(field)))
        .collect()
}

/// A non-`None` option.
fn present<'a, 'py>(value: &'a Option<Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.as_ref().filter(|v| !v.is_none())
}

/// A duration option: seconds or a timedelta, through the core's conversion of the field.
fn duration(field: ConfigField, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs = convert::seconds(value, &format!("`{}`", option_name(field)))?;
    Ok(field.seconds(secs).map_err(StoreError::from)?)
}

/// A whole-number option (`max_attempts`, `scan_segments`, a capacity): an int.
fn whole(field: ConfigField, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(type_error(&format!("`{}`", option_name(field)), "an int"));
    }
    let number = value.extract::<f64>().unwrap_or(f64::INFINITY);
    Ok(field.whole(number).map_err(StoreError::from)?)
}

/// A count option; values beyond `u32` are outside every count's range, which the core names.
fn count(field: ConfigField, value: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(u32::try_from(whole(field, value)?).unwrap_or(0))
}

const BILLING: &str =
    "must be \"PAY_PER_REQUEST\", \"PROVISIONED\" or (\"PROVISIONED\", read, write)";

/// The `billing` option: `"PAY_PER_REQUEST"`, `"PROVISIONED"` (the core's default capacity)
/// or `("PROVISIONED", read, write)`.
fn billing(value: &Bound<'_, PyAny>) -> PyResult<Billing> {
    let invalid = || -> PyErr { StoreError::invalid_config(ConfigField::Billing, BILLING).into() };
    let mode = |v: &Bound<'_, PyAny>| -> PyResult<String> {
        match v.cast::<PyString>() {
            Ok(text) => Ok(text.to_cow()?.into_owned()),
            Err(_) => Err(invalid()),
        }
    };
    if value.is_instance_of::<PyString>() {
        return match mode(value)?.as_str() {
            "PAY_PER_REQUEST" => Ok(Billing::OnDemand),
            "PROVISIONED" => Ok(Billing::CONNECT_DYNAMODB_3X),
            _ => Err(invalid()),
        };
    }
    let Ok(tuple) = value.cast::<PyTuple>() else {
        return Err(invalid());
    };
    if tuple.len() != 3 || mode(&tuple.get_item(0)?)? != "PROVISIONED" {
        return Err(invalid());
    }
    let capacity = |field, item: Bound<'_, PyAny>| -> PyResult<i64> {
        if item.is_instance_of::<PyBool>() || !item.is_instance_of::<PyInt>() {
            return Err(invalid());
        }
        whole(field, &item)
    };
    Ok(Billing::Provisioned {
        read: capacity(ConfigField::ReadCapacity, tuple.get_item(1)?)?,
        write: capacity(ConfigField::WriteCapacity, tuple.get_item(2)?)?,
    })
}

/// `first_use`: one of the core's names of its switches.
fn first_use(value: &Bound<'_, PyAny>) -> PyResult<FirstUse> {
    let name = match value.cast::<PyString>() {
        Ok(text) => text.to_cow()?.into_owned(),
        Err(_) => String::new(),
    };
    Ok(FirstUse::from_name(&name).map_err(StoreError::from)?)
}

/// `merge`: `"off"`, `"mine"` or `"error"`, by the core's names of its policies.
fn merge(value: &Bound<'_, PyAny>) -> PyResult<Option<MergePolicy>> {
    let name = match value.cast::<PyString>() {
        Ok(text) => text.to_cow()?.into_owned(),
        Err(_) => String::new(),
    };
    Ok(MergePolicy::from_name(&name).map_err(StoreError::from)?)
}

/// One key of `encryption_keys` or `id_hash_key`: bytes as they are, a `str` as base64 (the
/// core decodes and checks both). The `TypeError` names the option, never the value.
fn secret(field: ConfigField, value: &Bound<'_, PyAny>, must_be: &str) -> PyResult<Secret> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Secret::Bytes(bytes.as_bytes().to_vec()));
    }
    if let Ok(bytes) = value.cast::<PyByteArray>() {
        return Ok(Secret::Bytes(bytes.to_vec()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        // A str UTF-8 cannot encode is no base64 either: an empty text, which the core refuses.
        return Ok(Secret::Base64(
            text.to_cow().map(|t| t.into_owned()).unwrap_or_default(),
        ));
    }
    Err(type_error(&format!("`{}`", option_name(field)), must_be))
}

const KEY_LIST: &str = "a list of keys, each bytes or a base64 str";

/// `encryption_keys`: a list (or tuple) of keys, each bytes or base64 text; `[]` turns
/// encryption off whatever the environment says.
fn encryption_keys(value: &Bound<'_, PyAny>) -> PyResult<Vec<Secret>> {
    let field = ConfigField::EncryptionKeys;
    let items = if let Ok(list) = value.cast::<PyList>() {
        list.iter().collect::<Vec<_>>()
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        tuple.iter().collect()
    } else {
        return Err(type_error(&format!("`{}`", option_name(field)), KEY_LIST));
    };
    items
        .iter()
        .map(|key| secret(field, key, KEY_LIST))
        .collect()
}

/// `id_hash_key`: bytes or base64 text; `False` turns hashing off whatever the environment
/// says.
fn id_hash_key(value: &Bound<'_, PyAny>) -> PyResult<Option<Secret>> {
    if value.is_instance_of::<PyBool>() && !value.is_truthy()? {
        return Ok(None);
    }
    let must_be = "bytes, a base64 str, or False";
    secret(ConfigField::IdHashKey, value, must_be).map(Some)
}

/// What a store is made of: the core's configuration (without the reaper, which the store
/// starts itself in the process that made it), the configured reaper interval, and the builder
/// the configuration came from (for a framework integration's copy of the store, see
/// `Shared::with_merge_always_mine`).
pub(crate) struct Settings {
    pub(crate) config: Config,
    pub(crate) reap_interval: Option<Duration>,
    pub(crate) builder: ConfigBuilder,
}

impl Options<'_> {
    /// The core's configuration; every option left `None` keeps the core's default.
    pub(crate) fn settings(&self) -> PyResult<Settings> {
        let mut b = Config::builder();
        if let Some(v) = &self.table {
            b = b.table(v.as_str());
        }
        if let Some(v) = &self.prefix {
            b = b.prefix(v.as_str());
        }
        if let Some(v) = &self.hash_key {
            b = b.hash_key(v.as_str());
        }
        if let Some(v) = &self.region {
            b = b.region(v.as_str());
        }
        if let Some(v) = &self.endpoint {
            b = b.endpoint(v.as_str());
        }
        if let Some(v) = &self.credentials {
            b = b.credentials(v.get().core());
        }
        if let Some(v) = self.consistent_read {
            b = b.consistent_read(v);
        }
        if let Some(v) = &self.clock {
            b = b.clock(v.get().clock.clone());
        }
        b = self.set_durations(b)?;
        if let Some(v) = present(&self.billing) {
            b = b.billing(billing(v)?);
        }
        match (present(&self.first_use), self.create_table) {
            (Some(_), Some(_)) => {
                return Err(StoreError::invalid_config(
                    ConfigField::FirstUse,
                    "set either `first_use` or the older `create_table`, not both",
                )
                .into());
            }
            (Some(v), None) => b = b.first_use(first_use(v)?),
            // `create_table=False` kept its old meaning: no request about the table.
            (None, Some(create)) => {
                b = b.first_use(if create {
                    FirstUse::Create
                } else {
                    FirstUse::Nothing
                });
            }
            (None, None) => {}
        }
        if let Some(v) = present(&self.max_attempts) {
            b = b.max_attempts(count(ConfigField::MaxAttempts, v)?);
        }
        if let Some(v) = present(&self.scan_segments) {
            b = b.scan_segments(count(ConfigField::ScanSegments, v)?);
        }
        if let Some(v) = present(&self.merge) {
            b = b.merge(merge(v)?);
        }
        if let Some(v) = &self.user_field {
            b = b.user_field(Some(v.clone()));
        }
        if let Some(v) = present(&self.encryption_keys) {
            b = b.encryption_keys(encryption_keys(v)?);
        }
        if let Some(v) = present(&self.id_hash_key) {
            b = b.id_hash_key(id_hash_key(v)?);
        }
        if let Some(v) = present(&self.compress_threshold) {
            // A negative count is outside the range, which the core names.
            let bytes = whole(ConfigField::CompressThreshold, v)?;
            b = b.compress_threshold(Some(u64::try_from(bytes).unwrap_or(u64::MAX)));
        }
        if let Some(v) = self.decrypt_only {
            b = b.decrypt_only(v);
        }
        let config = b.clone().build().map_err(StoreError::from)?;
        let reap_interval = config.reap_interval();
        let builder = b.reap_interval(None);
        let config = builder.clone().build().map_err(StoreError::from)?;
        Ok(Settings {
            config,
            reap_interval,
            builder,
        })
    }

    fn set_durations(&self, mut b: ConfigBuilder) -> PyResult<ConfigBuilder> {
        let fields = [
            (&self.default_lifetime, ConfigField::DefaultLifetime),
            (&self.touch_after, ConfigField::TouchAfter),
            (&self.reap_interval, ConfigField::ReapInterval),
            (&self.create_wait, ConfigField::CreateWait),
            (&self.connect_timeout, ConfigField::ConnectTimeout),
            (&self.attempt_timeout, ConfigField::AttemptTimeout),
            (&self.operation_timeout, ConfigField::OperationTimeout),
            (&self.tombstone_lifetime, ConfigField::TombstoneLifetime),
            (&self.absolute_timeout, ConfigField::AbsoluteTimeout),
        ];
        for (value, field) in fields {
            let Some(value) = present(value) else {
                continue;
            };
            let d = duration(field, value)?;
            b = match field {
                ConfigField::DefaultLifetime => b.default_lifetime(d),
                ConfigField::TouchAfter => b.touch_after(d),
                ConfigField::ReapInterval => b.reap_interval(Some(d)),
                ConfigField::CreateWait => b.create_wait(d),
                ConfigField::ConnectTimeout => b.connect_timeout(d),
                ConfigField::AttemptTimeout => b.attempt_timeout(d),
                ConfigField::TombstoneLifetime => b.tombstone_lifetime(d),
                ConfigField::AbsoluteTimeout => b.absolute_timeout(Some(d)),
                _ => b.operation_timeout(d),
            };
        }
        Ok(b)
    }
}

/// The core's defaults, by option name, as Python values: durations in seconds, `billing` as
/// its option value, `provisioned_capacity` the (read, write) units of `"PROVISIONED"`.
pub(crate) fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // The keys off, so that the environment (where keys left `None` come from) is not read.
    let c = Config::builder()
        .encryption_keys(Vec::new())
        .id_hash_key(None)
        .build()
        .map_err(StoreError::from)?;
    let d = PyDict::new(py);
    d.set_item("table", c.table())?;
    d.set_item("prefix", c.prefix())?;
    d.set_item("hash_key", c.hash_key())?;
    d.set_item("region", c.region())?;
    d.set_item("endpoint", c.endpoint())?;
    d.set_item("credentials", py.None())?;
    d.set_item("consistent_read", c.consistent_read())?;
    d.set_item("default_lifetime", c.default_lifetime().as_secs_f64())?;
    d.set_item("touch_after", c.touch_after().as_secs_f64())?;
    d.set_item("reap_interval", c.reap_interval().map(|d| d.as_secs_f64()))?;
    let billing = match c.billing() {
        Billing::OnDemand => "PAY_PER_REQUEST",
        Billing::Provisioned { .. } => "PROVISIONED",
    };
    d.set_item("billing", billing)?;
    if let Billing::Provisioned { read, write } = Billing::CONNECT_DYNAMODB_3X {
        d.set_item("provisioned_capacity", (read, write))?;
    }
    d.set_item("first_use", c.first_use().as_str())?;
    d.set_item("create_wait", c.create_wait().as_secs_f64())?;
    d.set_item("connect_timeout", c.connect_timeout().as_secs_f64())?;
    d.set_item("attempt_timeout", c.attempt_timeout().as_secs_f64())?;
    d.set_item("operation_timeout", c.operation_timeout().as_secs_f64())?;
    d.set_item("max_attempts", c.max_attempts())?;
    d.set_item("scan_segments", c.scan_segments())?;
    d.set_item("tombstone_lifetime", c.tombstone_lifetime().as_secs_f64())?;
    d.set_item("merge", c.merge().map(MergePolicy::as_str))?;
    d.set_item(
        "absolute_timeout",
        c.absolute_timeout().map(|d| d.as_secs_f64()),
    )?;
    d.set_item("user_field", c.user_field())?;
    // `None`: the keys of the environment variables CONNECT_DYNAMODB_ENCRYPTION_KEYS and
    // CONNECT_DYNAMODB_ID_HASH_KEY, else off.
    d.set_item("encryption_keys", py.None())?;
    d.set_item("id_hash_key", py.None())?;
    d.set_item("compress_threshold", c.compress_threshold())?;
    d.set_item("decrypt_only", c.decrypt_only())?;
    Ok(d)
}
