//! Faults a real DynamoDB (or DynamoDB Local) cannot be made to produce on demand: throttling,
//! unprocessed batch items, internal errors, and credentials that cannot be loaded. Each test
//! answers the SDK's HTTP requests with a fixed DynamoDB response.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_http_client::test_util::infallible_client_fn;
use connect_dynamodb_core::aws_sdk_dynamodb::config::retry::RetryConfig;
use connect_dynamodb_core::aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedHttpClient,
};
use connect_dynamodb_core::aws_sdk_dynamodb::{self, Client};
use connect_dynamodb_core::{Config, ErrorKind, FirstUse, SessionStore};

/// A store whose HTTP client is `http`, with fast retries and no first-use table check: each
/// test answers the session call's own requests.
fn store_over(http: SharedHttpClient, attempts: u32) -> SessionStore {
    store_with_first_use(http, attempts, FirstUse::Nothing)
}

fn store_with_first_use(
    http: SharedHttpClient,
    attempts: u32,
    first_use: FirstUse,
) -> SessionStore {
    let sdk = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .http_client(http)
        .build();
    let config = Config::builder()
        .scan_segments(1)
        .first_use(first_use)
        .build()
        .expect("config");
    SessionStore::with_client(Client::from_conf(sdk), config)
}

fn error_response(status: u16, code: &str) -> http::Response<String> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}"#
        ))
        .expect("response")
}

fn ok_response(body: &str) -> http::Response<String> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.0")
        .body(body.to_owned())
        .expect("response")
}

fn operation(request: &http::Request<aws_smithy_types::body::SdkBody>) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_throttled() {
    let attempts = Arc::new(AtomicU32::new(0));
    let seen = attempts.clone();
    let http = infallible_client_fn(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        error_response(400, "ProvisionedThroughputExceededException")
    });
    let store = store_over(http, 3);
    let err = store.get("some-session").await.expect_err("throttled");
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.code(), "THROTTLED");
    assert!(err.is_retryable());
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "the SDK retried throttling"
    );
    assert!(!err.to_string().contains("some-session"));
}

#[tokio::test]
async fn a_transaction_conflict_is_not_mistaken_for_a_failed_condition() {
    // touch treats a failed condition as "no such session"; any other CONFLICT is an error.
    let http = infallible_client_fn(|_| error_response(400, "TransactionConflictException"));
    let store = store_over(http, 1);
    let err = store.touch("s", None).await.expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.is_retryable());
    let err = store
        .set_with(
            "s",
            "{}",
            None,
            connect_dynamodb_core::WriteCondition::IfAbsent,
        )
        .await
        .expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.is_retryable(), "not the 'already exists' answer");

    let http = infallible_client_fn(|_| error_response(400, "ConditionalCheckFailedException"));
    let store = store_over(http, 1);
    assert_eq!(
        store
            .touch("s", None)
            .await
            .expect("a failed condition is quiet")
            .outcome,
        connect_dynamodb_core::TouchOutcome::NotFound
    );
}

#[tokio::test]
async fn internal_server_errors_are_retryable_service_errors() {
    let http = infallible_client_fn(|_| error_response(500, "InternalServerError"));
    let err = store_over(http, 2)
        .set("s", "{}", None)
        .await
        .expect_err("500");
    assert_eq!(err.kind(), ErrorKind::Service);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn credentials_that_cannot_be_loaded_are_auth() {
    #[derive(Debug)]
    struct NoCredentials;
    impl connect_dynamodb_core::aws_sdk_dynamodb::config::ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            aws_credential_types::provider::future::ProvideCredentials::ready(Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "no profile, no environment, no instance metadata",
                ),
            ))
        }
    }
    let http = infallible_client_fn(|_| ok_response("{}"));
    let sdk = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(NoCredentials)
        .http_client(http)
        .build();
    let store = SessionStore::with_client(Client::from_conf(sdk), Config::default());
    let err = store.get("s").await.expect_err("no credentials");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
}

const ACTIVE: &str = r#"{"Table":{"TableName":"sessions","TableStatus":"ACTIVE"}}"#;
const CREATING: &str = r#"{"Table":{"TableName":"sessions","TableStatus":"CREATING"}}"#;

/// A store (create on first use) whose DescribeTable answers come from `describe` in turn (the
/// last one repeats) and whose GetItem finds nothing; the operations it sent are listed.
fn first_use_scenario(
    describe: Vec<Result<&'static str, &'static str>>,
) -> (SessionStore, Arc<Mutex<Vec<String>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let describes = AtomicU32::new(0);
    let http = infallible_client_fn(move |request| {
        let op = operation(&request);
        seen.lock().expect("lock").push(op.clone());
        match op.as_str() {
            "DescribeTable" => {
                let n = describes.fetch_add(1, Ordering::SeqCst) as usize;
                match describe[n.min(describe.len() - 1)] {
                    Ok(body) => ok_response(body),
                    Err(code) => error_response(400, code),
                }
            }
            "GetItem" => ok_response("{}"),
            other => error_response(400, &format!("Unexpected{other}")),
        }
    });
    (store_with_first_use(http, 1, FirstUse::Create), sent)
}

fn sent_since(sent: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *sent.lock().expect("lock"))
}

#[tokio::test]
async fn first_use_lets_a_role_without_describe_table_through() {
    let (store, sent) = first_use_scenario(vec![Err("AccessDeniedException")]);
    assert_eq!(store.get("s").await.expect("get"), None);
    assert_eq!(sent_since(&sent), ["DescribeTable", "GetItem"]);
    assert_eq!(store.get("s").await.expect("get"), None);
    assert_eq!(sent_since(&sent), ["GetItem"], "the check is made once");
}

#[tokio::test]
async fn first_use_does_not_take_other_auth_failures_for_a_table() {
    // An expired token at start-up (credentials not refreshed yet) is not "the table exists":
    // the call fails, and the next call checks again, so a missing table is still created.
    let (store, sent) = first_use_scenario(vec![Err("ExpiredTokenException"), Ok(ACTIVE)]);
    let err = store.get("s").await.expect_err("expired");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(sent_since(&sent), ["DescribeTable"]);
    assert_eq!(store.get("s").await.expect("get"), None);
    assert_eq!(sent_since(&sent), ["DescribeTable", "GetItem"]);
}

#[tokio::test(start_paused = true)]
async fn first_use_waits_for_a_table_another_process_is_creating() {
    let (store, sent) = first_use_scenario(vec![Ok(CREATING), Ok(CREATING), Ok(ACTIVE)]);
    assert_eq!(store.get("s").await.expect("get"), None);
    assert_eq!(
        sent_since(&sent),
        ["DescribeTable", "DescribeTable", "DescribeTable", "GetItem"],
        "no session call before the table is ACTIVE"
    );
}

/// A Scan that finds two items, and BatchWriteItem answers from `batch_answers` in turn
/// (the last one repeats). Returns the store and the bodies of the BatchWriteItem requests.
fn clear_scenario(batch_answers: Vec<&'static str>) -> (SessionStore, Arc<Mutex<Vec<String>>>) {
    let batches = Arc::new(Mutex::new(Vec::new()));
    let seen = batches.clone();
    let http = infallible_client_fn(move |request| match operation(&request).as_str() {
        "Scan" => ok_response(
            r#"{"Items":[{"id":{"S":"sess:a"}},{"id":{"S":"sess:b"}}],"Count":2,"ScannedCount":2}"#,
        ),
        "BatchWriteItem" => {
            let body =
                String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
            let mut seen = seen.lock().expect("lock");
            seen.push(body);
            let answer = batch_answers[(seen.len() - 1).min(batch_answers.len() - 1)];
            ok_response(answer)
        }
        other => error_response(400, &format!("Unexpected{other}")),
    });
    (store_over(http, 1), batches)
}

#[tokio::test]
async fn clear_retries_unprocessed_deletes() {
    let (store, batches) = clear_scenario(vec![
        r#"{"UnprocessedItems":{"sessions":[{"DeleteRequest":{"Key":{"id":{"S":"sess:b"}}}}]}}"#,
        r#"{"UnprocessedItems":{}}"#,
    ]);
    let report = store.clear().await.expect("clear");
    assert_eq!(report.deleted, 2);
    assert_eq!(report.scanned, 2);
    let batches = batches.lock().expect("lock");
    assert_eq!(batches.len(), 2);
    assert!(batches[0].contains("sess:a") && batches[0].contains("sess:b"));
    assert!(
        !batches[1].contains("sess:a") && batches[1].contains("sess:b"),
        "only the unprocessed delete is sent again"
    );
}

#[tokio::test(start_paused = true)]
async fn clear_gives_up_when_deletes_stay_unprocessed() {
    let (store, batches) = clear_scenario(vec![
        r#"{"UnprocessedItems":{"sessions":[{"DeleteRequest":{"Key":{"id":{"S":"sess:b"}}}}]}}"#,
    ]);
    let err = store.clear().await.expect_err("gives up");
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert!(err.is_retryable());
    assert_eq!(
        batches.lock().expect("lock").len(),
        11,
        "the first try and ten retries"
    );
}

/// A DynamoDB that accepts connections and never answers (a hung load balancer, a blackholed
/// route behind a proxy): with the default timeouts a request fails with TIMEOUT within 10 s,
/// so a web request waiting on the store gets an answer.
#[tokio::test]
async fn a_dynamodb_that_never_answers_times_out_within_ten_seconds() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let accepted = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // read nothing, answer nothing, close nothing
        }
    });
    let config = Config::builder()
        .endpoint(format!("http://{address}"))
        .region("us-east-1")
        .credentials(connect_dynamodb_core::Credentials::new(
            "AKIDTEST", "secret", None,
        ))
        .build()
        .expect("the defaults");
    let store = SessionStore::connect(config).await.expect("store");
    let started = std::time::Instant::now();
    let err = store.get("s").await.expect_err("no answer");
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(took >= Duration::from_secs(2), "gave up early: {took:?}");
    accepted.abort();
}
