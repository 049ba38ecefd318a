//! A session of the shape web shops keep, and the capacity DynamoDB counts for an item: shared
//! by the at-rest tests (`core/tests/at_rest.rs`) and `make bench`
//! (`core/examples/at_rest_bench.rs`), so both speak of the same session.

use connect_dynamodb_core::SessionStore;
use connect_dynamodb_core::aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

/// A session of about `bytes` bytes of JSON: a cookie, a user and a cart of products.
pub fn cart_session(bytes: usize) -> String {
    let mut items = Vec::new();
    let mut n = 0u32;
    while items.iter().map(String::len).sum::<usize>() < bytes.saturating_sub(120) {
        n += 1;
        items.push(format!(
            r#"{{"sku":"SKU-{:05}","name":"Product {n} in {}","price":{}.{:02},"qty":{}}}"#,
            n * 7919 % 100_000,
            ["red", "blue", "green", "black"][(n % 4) as usize],
            n % 200,
            n % 100,
            n % 3 + 1
        ));
    }
    format!(
        r#"{{"cookie":{{"originalMaxAge":86400000,"httpOnly":true,"path":"/"}},"userId":"u-123","cart":[{}]}}"#,
        items.join(",")
    )
}

/// The capacity units DynamoDB reports for a strongly consistent read and for a write of the
/// item under `key` (hash key `id`) as it stands, and the bytes its `sess` takes.
pub async fn capacity(store: &SessionStore, key: &str) -> (f64, f64, usize) {
    let read = store
        .client()
        .get_item()
        .table_name(store.config().table())
        .key("id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("get");
    let rcu = read
        .consumed_capacity
        .and_then(|c| c.capacity_units)
        .expect("read capacity reported");
    let item = read.item.expect("item");
    let sess_bytes = match item.get("sess") {
        Some(AttributeValue::S(text)) => text.len(),
        Some(AttributeValue::B(blob)) => blob.as_ref().len(),
        other => panic!("sess is {other:?}"),
    };
    let write = store
        .client()
        .put_item()
        .table_name(store.config().table())
        .set_item(Some(item))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("put");
    let wcu = write
        .consumed_capacity
        .and_then(|c| c.capacity_units)
        .expect("write capacity reported");
    (rcu, wcu, sess_bytes)
}
