//! One error type for every failure of the store, with a stable kind token.
//!
//! Every face hands the token to its users unchanged (`err.code` in JavaScript, an exception
//! class in Python, a status in C), so the tokens are part of the public contract: existing
//! ones never change meaning, new ones are only added.
//!
//! All mapping of AWS SDK errors happens in [`Error::from_sdk`], in this file.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::result::ConnectorError;

use crate::config::ConfigField;

/// What went wrong, as a stable token. `#[non_exhaustive]`: new kinds may be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configuration value is invalid; the message names the field.
    InvalidConfig,
    /// An argument of a call is invalid (empty or oversized session id, ...).
    InvalidArgument,
    /// The session would not fit in a DynamoDB item (400 KB).
    ItemTooLarge,
    /// The session text is not valid JSON.
    Serialization,
    /// The table does not exist (or is not visible to these credentials in this region).
    TableNotFound,
    /// DynamoDB throttled the request and the retries ran out.
    Throttled,
    /// A conditional write failed, or the table is being created or changed.
    Conflict,
    /// The credentials are missing, invalid, expired or lack permission.
    Auth,
    /// DynamoDB did not answer in time.
    Timeout,
    /// The connection to DynamoDB failed (refused, reset, DNS, TLS).
    Transport,
    /// DynamoDB answered with an error not covered by another kind.
    Service,
    /// A bug in this library or an unexpected state; please report it.
    Internal,
    /// A stored session is encrypted with a key the store was not given, or written in an item
    /// format newer than this version reads. Nothing was changed: with the key (or a newer
    /// version) it reads again.
    Unreadable,
}

impl ErrorKind {
    /// Every kind, in the order of their numeric codes in the C face.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidArgument,
        ErrorKind::ItemTooLarge,
        ErrorKind::Serialization,
        ErrorKind::TableNotFound,
        ErrorKind::Throttled,
        ErrorKind::Conflict,
        ErrorKind::Auth,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::Service,
        ErrorKind::Internal,
        ErrorKind::Unreadable,
    ];

    /// The stable token, e.g. `"TABLE_NOT_FOUND"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "INVALID_CONFIG",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::ItemTooLarge => "ITEM_TOO_LARGE",
            ErrorKind::Serialization => "SERIALIZATION",
            ErrorKind::TableNotFound => "TABLE_NOT_FOUND",
            ErrorKind::Throttled => "THROTTLED",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::Auth => "AUTH",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Transport => "TRANSPORT",
            ErrorKind::Service => "SERVICE",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::Unreadable => "UNREADABLE",
        }
    }

    /// Whether a failure of this kind is worth retrying later, as a default for errors that do
    /// not say otherwise (a single error may say otherwise: [`Error::is_retryable`]).
    pub const fn retryable_by_default(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Timeout | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The error of every fallible call of this crate.
///
/// Its message never contains a session id, a secret or a credential: messages are built
/// from fixed text, DynamoDB error codes and configuration field names only. The underlying
/// SDK error is kept as [`source`](StdError::source) for diagnosis; `Debug` does not print it.
pub struct Error {
    kind: ErrorKind,
    retryable: bool,
    /// DynamoDB refused a conditional write (ConditionalCheckFailedException), as opposed to
    /// the other CONFLICT causes.
    condition_failed: bool,
    /// DynamoDB refused the request for want of an IAM permission (AccessDeniedException), as
    /// opposed to the other AUTH causes (missing or expired credentials, bad signatures).
    access_denied: bool,
    message: Cow<'static, str>,
    /// The invalid setting and what is wrong with it, for `INVALID_CONFIG`.
    config: Option<(ConfigField, Cow<'static, str>)>,
    source: Option<Source>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            retryable: kind.retryable_by_default(),
            condition_failed: false,
            access_denied: false,
            message: message.into(),
            config: None,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn invalid_config(field: ConfigField, problem: impl fmt::Display) -> Self {
        let problem = problem.to_string();
        let mut err = Error::new(
            ErrorKind::InvalidConfig,
            format!("invalid configuration `{field}`: {problem}"),
        );
        err.config = Some((field, problem.into()));
        err
    }

    pub(crate) fn invalid_argument(problem: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidArgument, problem)
    }

    /// The stable kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The kind's token, e.g. `"THROTTLED"`.
    pub fn code(&self) -> &'static str {
        self.kind.as_str()
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// For an `INVALID_CONFIG` error, the setting that is invalid, so that a face can name it
    /// by its own option name.
    pub fn config_field(&self) -> Option<ConfigField> {
        self.config.as_ref().map(|(field, _)| *field)
    }

    /// For an `INVALID_CONFIG` error, what is wrong with the setting, without its name (e.g.
    /// `"must be 1 to 10"`).
    pub fn config_problem(&self) -> Option<&str> {
        self.config.as_ref().map(|(_, problem)| problem.as_ref())
    }

    /// Whether DynamoDB refused a conditional write because its condition was false.
    pub(crate) fn is_condition_failed(&self) -> bool {
        self.condition_failed
    }

    /// Whether DynamoDB denied an IAM permission (`AccessDeniedException`); other `AUTH`
    /// failures (credentials missing, expired or wrong) are not this.
    pub(crate) fn is_access_denied(&self) -> bool {
        self.access_denied
    }

    /// The message alone, without the kind token.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Maps an error of the AWS SDK for the DynamoDB operation `operation` (e.g. `"GetItem"`).
    ///
    /// This is the one place where SDK errors become [`Error`]s.
    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let service_code = match &err {
            SdkError::ServiceError(s) => s.err().code(),
            _ => None,
        };
        let condition_failed = service_code == Some("ConditionalCheckFailedException");
        let access_denied = service_code == Some("AccessDeniedException");
        let (kind, retryable, message) = match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().unwrap_or("Unknown");
                let (kind, retryable) = classify_service_code(code, inner.message());
                let message = match kind {
                    ErrorKind::TableNotFound => {
                        format!("DynamoDB {operation}: the table does not exist ({code})")
                    }
                    ErrorKind::ItemTooLarge => format!(
                        "DynamoDB {operation}: the item exceeds DynamoDB's 400 KB item size limit ({code})"
                    ),
                    _ => format!("DynamoDB {operation} failed: {code}"),
                };
                (kind, retryable, message)
            }
            SdkError::TimeoutError(_) => (
                ErrorKind::Timeout,
                true,
                format!("DynamoDB {operation}: no answer within the operation timeout"),
            ),
            SdkError::DispatchFailure(dispatch) => {
                classify_dispatch(operation, dispatch.as_connector_error(), &err)
            }
            SdkError::ResponseError(_) => (
                ErrorKind::Service,
                true,
                format!("DynamoDB {operation}: the response could not be read"),
            ),
            SdkError::ConstructionFailure(_) => {
                if let Some(kind_message) = classify_by_source_chain(operation, &err) {
                    kind_message
                } else {
                    (
                        ErrorKind::Internal,
                        false,
                        format!("DynamoDB {operation}: the request could not be built"),
                    )
                }
            }
            _ => (
                ErrorKind::Internal,
                false,
                format!("DynamoDB {operation}: unexpected SDK error"),
            ),
        };
        Error {
            kind,
            retryable,
            condition_failed,
            access_denied,
            message: message.into(),
            config: None,
            source: Some(Box::new(err)),
        }
    }
}

/// Kind and retryability of a DynamoDB error code.
fn classify_service_code(code: &str, message: Option<&str>) -> (ErrorKind, bool) {
    match code {
        "ResourceNotFoundException" => (ErrorKind::TableNotFound, false),
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "LimitExceededException" => (ErrorKind::Throttled, true),
        "ConditionalCheckFailedException" => (ErrorKind::Conflict, false),
        "TransactionConflictException" | "ResourceInUseException" => (ErrorKind::Conflict, true),
        "UnrecognizedClientException"
        | "AccessDeniedException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "MissingAuthenticationToken"
        | "IncompleteSignatureException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken" => (ErrorKind::Auth, false),
        "ValidationException"
            if message.is_some_and(|m| m.to_ascii_lowercase().contains("item size")) =>
        {
            (ErrorKind::ItemTooLarge, false)
        }
        "ValidationException" | "SerializationException" => (ErrorKind::InvalidArgument, false),
        "InternalServerError" | "ServiceUnavailable" | "ServiceUnavailableException" => {
            (ErrorKind::Service, true)
        }
        _ => (ErrorKind::Service, false),
    }
}

fn classify_dispatch<E: StdError + 'static>(
    operation: &'static str,
    connector: Option<&ConnectorError>,
    err: &E,
) -> (ErrorKind, bool, String) {
    if let Some(found) = classify_by_source_chain(operation, err) {
        return found;
    }
    match connector {
        Some(c) if c.is_timeout() => (
            ErrorKind::Timeout,
            true,
            format!("DynamoDB {operation}: the connection timed out"),
        ),
        _ => (
            ErrorKind::Transport,
            true,
            format!("DynamoDB {operation}: could not reach DynamoDB"),
        ),
    }
}

/// Looks through the causes of `err` for failures that have a kind of their own wherever they
/// surface: credentials that could not be loaded.
fn classify_by_source_chain(
    operation: &'static str,
    err: &(dyn StdError + 'static),
) -> Option<(ErrorKind, bool, String)> {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.downcast_ref::<CredentialsError>().is_some() {
            return Some((
                ErrorKind::Auth,
                false,
                format!("DynamoDB {operation}: no usable AWS credentials were found"),
            ));
        }
        cause = current.source();
    }
    None
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SDK error is left out on purpose: its Debug output holds the raw HTTP exchange.
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("retryable", &self.retryable)
            .field("message", &self.message)
            .field("has_source", &self.source.is_some())
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_and_distinct() {
        let tokens: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            tokens,
            [
                "INVALID_CONFIG",
                "INVALID_ARGUMENT",
                "ITEM_TOO_LARGE",
                "SERIALIZATION",
                "TABLE_NOT_FOUND",
                "THROTTLED",
                "CONFLICT",
                "AUTH",
                "TIMEOUT",
                "TRANSPORT",
                "SERVICE",
                "INTERNAL",
                "UNREADABLE",
            ]
        );
    }

    #[test]
    fn service_codes_map_to_kinds() {
        let cases = [
            (
                "ResourceNotFoundException",
                None,
                ErrorKind::TableNotFound,
                false,
            ),
            (
                "ProvisionedThroughputExceededException",
                None,
                ErrorKind::Throttled,
                true,
            ),
            ("ThrottlingException", None, ErrorKind::Throttled, true),
            ("RequestLimitExceeded", None, ErrorKind::Throttled, true),
            (
                "ConditionalCheckFailedException",
                None,
                ErrorKind::Conflict,
                false,
            ),
            ("ResourceInUseException", None, ErrorKind::Conflict, true),
            ("UnrecognizedClientException", None, ErrorKind::Auth, false),
            ("AccessDeniedException", None, ErrorKind::Auth, false),
            ("ExpiredTokenException", None, ErrorKind::Auth, false),
            (
                "ValidationException",
                Some("Item size has exceeded the maximum allowed size"),
                ErrorKind::ItemTooLarge,
                false,
            ),
            (
                "ValidationException",
                Some("bad key"),
                ErrorKind::InvalidArgument,
                false,
            ),
            ("InternalServerError", None, ErrorKind::Service, true),
            ("SomethingNew", None, ErrorKind::Service, false),
        ];
        for (code, message, kind, retryable) in cases {
            assert_eq!(
                classify_service_code(code, message),
                (kind, retryable),
                "{code}"
            );
        }
    }

    #[test]
    fn display_and_debug_show_kind_and_message_only() {
        let err = Error::invalid_config(ConfigField::Table, "must be 3 to 255 characters")
            .with_source(std::io::Error::other("secret detail"));
        assert_eq!(
            err.to_string(),
            "INVALID_CONFIG: invalid configuration `table`: must be 3 to 255 characters"
        );
        let debug = format!("{err:?}");
        assert!(debug.contains("InvalidConfig"), "{debug}");
        assert!(!debug.contains("secret detail"), "{debug}");
        assert!(err.source().is_some());
        assert!(!err.is_retryable());
        assert!(Error::new(ErrorKind::Throttled, "x").is_retryable());
    }
}
