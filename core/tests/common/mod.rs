//! Shared helpers of the core's integration tests: stores on fresh tables of the DynamoDB
//! Local that `scripts/dynamodb-local.sh run` started, and a request counter.
#![allow(dead_code)]

pub mod shop;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_dynamodb_core::aws_sdk_dynamodb::Client;
use connect_dynamodb_core::aws_sdk_dynamodb::config::ConfigBag;
use connect_dynamodb_core::aws_sdk_dynamodb::config::Intercept;
use connect_dynamodb_core::aws_sdk_dynamodb::config::RuntimeComponents;
use connect_dynamodb_core::aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use connect_dynamodb_core::aws_sdk_dynamodb::error::BoxError;
use connect_dynamodb_core::aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use connect_dynamodb_core::{
    Config, ConfigBuilder, Credentials, SessionStore, TableProblem, build_client,
};

/// The endpoint of the DynamoDB Local these tests run against.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run these tests with `make test`, which starts DynamoDB Local",
    )
}

/// A table name no other test uses.
pub fn unique_table(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "t-{label}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A config builder for DynamoDB Local and `table`.
pub fn local_config(table: &str) -> ConfigBuilder {
    Config::builder()
        .table(table)
        .endpoint(endpoint())
        .region("us-east-1")
        .credentials(Credentials::new("localtest", "localtest", None))
}

/// Counts the requests a client sends, by DynamoDB operation, and keeps the last body of each.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    counts: Arc<Mutex<HashMap<String, u64>>>,
    bodies: Arc<Mutex<HashMap<String, String>>>,
}

impl Requests {
    pub fn count(&self, operation: &str) -> u64 {
        *self
            .counts
            .lock()
            .expect("lock")
            .get(operation)
            .unwrap_or(&0)
    }
    pub fn total(&self) -> u64 {
        self.counts.lock().expect("lock").values().sum()
    }
    pub fn last_body(&self, operation: &str) -> Option<String> {
        self.bodies.lock().expect("lock").get(operation).cloned()
    }
    pub fn reset(&self) {
        self.counts.lock().expect("lock").clear();
        self.bodies.lock().expect("lock").clear();
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_owned();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        *self
            .counts
            .lock()
            .expect("lock")
            .entry(operation.clone())
            .or_default() += 1;
        self.bodies.lock().expect("lock").insert(operation, body);
        Ok(())
    }
}

/// A store built from `config`, its client counting requests.
pub async fn counted_store(config: Config) -> (SessionStore, Requests) {
    let client = build_client(&config).await.expect("client");
    let requests = Requests::default();
    let client = Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(requests.clone())
            .build(),
    );
    (SessionStore::with_client(client, config), requests)
}

/// A store on a new table made for this test, with the store's key schema and TTL off.
///
/// TTL stays off because DynamoDB Local, like DynamoDB, deletes expired items when TTL is on:
/// tests that look at expired items must see them stay, as they do in a table whose TTL lags.
pub async fn fresh_store(
    label: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (SessionStore, Requests) {
    let table = unique_table(label);
    let config = tweak(local_config(&table)).build().expect("valid config");
    let (store, requests) = counted_store(config).await;
    let hash_key = store.config().hash_key().to_owned();
    create_table_by_hand(&store, &hash_key, ScalarAttributeType::S).await;
    let report = store.verify_table().await.expect("verify");
    assert_eq!(report.problems, [TableProblem::TtlDisabled]);
    // The first-use check (one DescribeTable) is done here, so tests count their own requests.
    store.ensure_table().await.expect("first-use check");
    requests.reset();
    (store, requests)
}

/// Creates the store's table with a hash key `key` of type `key_type`, TTL off, as a user or
/// another tool would.
pub async fn create_table_by_hand(store: &SessionStore, key: &str, key_type: ScalarAttributeType) {
    store
        .client()
        .create_table()
        .table_name(store.config().table())
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(key_type)
                .build()
                .expect("definition"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
}

pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Writes an item as it stands, as an older connect-dynamodb version or another program would.
pub async fn put_raw(store: &SessionStore, attributes: &[(&str, AttributeValue)]) {
    store
        .client()
        .put_item()
        .table_name(store.config().table())
        .set_item(Some(
            attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ))
        .send()
        .await
        .expect("raw put");
}

/// Reads an item as it stands.
pub async fn get_raw(store: &SessionStore, key: &str) -> Option<HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.config().table())
        .key(store.config().hash_key(), s(key))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
}

/// Asserts that the item under `key` is a tombstone, exactly as `destroy` wrote it: JSON `null`
/// for `sess` (what connect-dynamodb 3.x reads as "no session"), the time it ended, and no
/// other attribute.
pub async fn assert_tombstone(store: &SessionStore, key: &str) {
    let item = get_raw(store, key).await.expect("a tombstone is stored");
    assert_eq!(item.get("sess"), Some(&s("null")), "{key}");
    assert!(
        matches!(item.get("ended"), Some(AttributeValue::N(_))),
        "{key}"
    );
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    let hash_key = store.config().hash_key();
    let mut expected = vec![hash_key, "ended", "expires", "sess", "type"];
    expected.sort_unstable();
    assert_eq!(names, expected);
}

/// Every key in the table, of any prefix.
pub async fn all_raw_keys(store: &SessionStore) -> Vec<String> {
    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.config().table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw scan");
        for item in out.items.unwrap_or_default() {
            if let Some(AttributeValue::S(k)) = item.get(store.config().hash_key()) {
                keys.push(k.clone());
            }
        }
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return keys;
        }
    }
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

pub fn in_secs(secs: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(secs)
}

pub fn expires_of(item: &HashMap<String, AttributeValue>) -> String {
    match item.get("expires") {
        Some(AttributeValue::N(value)) => value.clone(),
        other => panic!("expires is {other:?}"),
    }
}
