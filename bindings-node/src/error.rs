//! Failures as JavaScript sees them: an `Error` made by napi's own error type, whose `code` is
//! the core's kind token, with the core's per-error `retryable` and, when the core kept one,
//! the underlying error's text as `cause`. `lib/errors.js` hands them to users as
//! `SessionStoreError`s.

use connect_dynamodb_core::{ConfigField, ErrorKind};
use napi::bindgen_prelude::{Function, JsObjectValue, JsValue, Unknown};
use napi::{Env, Error, JsError, Result};
use napi_derive::napi;

/// A failure on its way to JavaScript.
pub struct Failure {
    kind: ErrorKind,
    retryable: bool,
    message: String,
    cause: Option<String>,
}

impl Failure {
    /// A failure the addon itself finds (a bad argument), with its kind's retryable default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            retryable: kind.retryable_by_default(),
            message: message.into(),
            cause: None,
        }
    }

    /// `INVALID_CONFIG` naming the option the user wrote for `field`.
    pub fn config(field: ConfigField, problem: &str) -> Self {
        Failure::new(
            ErrorKind::InvalidConfig,
            format!("invalid option `{}`: {problem}", option_name(field)),
        )
    }

    /// The JavaScript error, as a napi error that rejects a promise or is thrown as it is.
    pub fn into_js(self, env: &Env) -> Error {
        match self.build(env) {
            Ok(error) | Err(error) => error,
        }
    }

    fn build(self, env: &Env) -> Result<Error> {
        let error = JsError::from(Error::new(self.kind.as_str(), self.message)).into_unknown(*env);
        let mut object = error.coerce_to_object()?;
        object.set_named_property("retryable", self.retryable)?;
        if let Some(cause) = self.cause {
            let constructor: Function<'_, String, Unknown<'_>> =
                env.get_global()?.get_named_property("Error")?;
            object.set_named_property("cause", constructor.new_instance(cause)?)?;
        }
        Ok(Error::from(error))
    }
}

impl From<connect_dynamodb_core::Error> for Failure {
    fn from(err: connect_dynamodb_core::Error) -> Self {
        if let (Some(field), Some(problem)) = (err.config_field(), err.config_problem()) {
            return Failure::config(field, problem);
        }
        let mut chain = Vec::new();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        Failure {
            kind: err.kind(),
            retryable: err.is_retryable(),
            message: err.message().to_owned(),
            cause: (!chain.is_empty()).then(|| chain.join(": ")),
        }
    }
}

/// The Node option a core configuration field is set by: the one table from the core's field
/// names to the options users write. Exhaustive: a field new in the core does not compile until
/// it is named here. The capacity units may also be given inside `createTable`; `lib/options.js`
/// then names `createTable.readCapacityUnits` (or `writeCapacityUnits`) instead.
pub fn option_name(field: ConfigField) -> &'static str {
    match field {
        ConfigField::Table => "table",
        ConfigField::HashKey => "hashKey",
        ConfigField::Prefix => "prefix",
        ConfigField::Region => "region",
        ConfigField::Endpoint => "endpoint",
        ConfigField::AccessKeyId => "accessKeyId",
        ConfigField::SecretAccessKey => "secretAccessKey",
        ConfigField::SessionToken => "sessionToken",
        ConfigField::CredentialsProvider => "client",
        ConfigField::ConsistentRead => "consistentRead",
        ConfigField::DefaultLifetime => "ttl",
        ConfigField::TouchAfter => "touchAfter",
        ConfigField::ReapInterval => "reapInterval",
        ConfigField::Billing => "createTable.billingMode",
        ConfigField::ReadCapacity => "readCapacityUnits",
        ConfigField::WriteCapacity => "writeCapacityUnits",
        ConfigField::FirstUse | ConfigField::CreateWait => "createTable",
        ConfigField::ConnectTimeout => "connectTimeout",
        ConfigField::AttemptTimeout => "attemptTimeout",
        ConfigField::OperationTimeout => "operationTimeout",
        ConfigField::MaxAttempts => "maxAttempts",
        ConfigField::ScanSegments => "scanSegments",
        ConfigField::TombstoneLifetime => "tombstoneLifetime",
        ConfigField::Merge => "merge",
        ConfigField::AbsoluteTimeout => "absoluteTimeout",
        ConfigField::UserField => "userField",
        ConfigField::EncryptionKeys => "encryptionKeys",
        ConfigField::IdHashKey => "idHashKey",
        ConfigField::CompressThreshold => "compressThreshold",
        ConfigField::DecryptOnly => "decryptOnly",
    }
}

/// An error kind of the core, as `errorKinds()` lists it.
#[napi(object)]
pub struct ErrorKindInfo {
    /// The stable code, e.g. `TABLE_NOT_FOUND`.
    pub code: String,
    /// Whether errors of this kind are retryable unless they say otherwise.
    pub retryable: bool,
}

/// The core's error kinds, in its order: the codes `err.code` may hold (`index.d.ts`'s
/// `ErrorCode` union is tested against this list).
#[napi]
pub fn error_kinds() -> Vec<ErrorKindInfo> {
    ErrorKind::ALL
        .iter()
        .map(|kind| ErrorKindInfo {
            code: kind.as_str().to_owned(),
            retryable: kind.retryable_by_default(),
        })
        .collect()
}

/// A core configuration field and the Node option an `INVALID_CONFIG` error names for it
/// (`createTable.billingMode` for a field set inside `createTable`).
#[napi(object)]
pub struct OptionName {
    pub field: String,
    pub option: String,
}

/// Every core configuration field with the Node option an `INVALID_CONFIG` error names for it.
#[napi]
pub fn option_names() -> Vec<OptionName> {
    ConfigField::ALL
        .iter()
        .map(|&field| OptionName {
            field: field.as_str().to_owned(),
            option: option_name(field).to_owned(),
        })
        .collect()
}
