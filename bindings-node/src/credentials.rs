//! Credentials asked of JavaScript: an AWS SDK for JavaScript client's credentials provider,
//! so refreshing providers (SSO, STS, web identity) keep refreshing.

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, error, future};
use connect_dynamodb_core::expiry;
use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

/// Credentials as a JavaScript credentials provider returns them.
#[napi(object)]
pub struct NativeCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When the credentials expire, in epoch milliseconds.
    pub expiration_ms: Option<f64>,
}

pub type CredentialsCallback =
    ThreadsafeFunction<(), Promise<NativeCredentials>, (), Status, false, true>;

/// Asks a JavaScript function for credentials.
pub struct JsCredentials(pub Arc<CredentialsCallback>);

impl std::fmt::Debug for JsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsCredentials")
    }
}

impl ProvideCredentials for JsCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let callback = self.0.clone();
        future::ProvideCredentials::new(async move {
            let failed = |reason: String| error::CredentialsError::provider_error(reason);
            let promise = callback
                .call_async(())
                .await
                .map_err(|e| failed(format!("the credentials function threw: {}", e.reason)))?;
            let c = promise.await.map_err(|e| {
                failed(format!(
                    "the credentials promise was rejected: {}",
                    e.reason
                ))
            })?;
            let expiry: Option<SystemTime> = c
                .expiration_ms
                .and_then(|ms| expiry::from_epoch_millis(ms).ok());
            Ok(aws_credential_types::Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                c.session_token,
                expiry,
                "connect-dynamodb-js",
            ))
        })
    }
}
