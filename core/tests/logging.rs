//! What the store and the AWS SDK under it log during a whole session's life.
//!
//! Everything up to DEBUG, of every crate, is captured. (The store itself logs nothing below
//! DEBUG. The SDK's own TRACE level dumps whole requests and responses, session ids and data
//! included: it is a debugging aid the README tells users to keep off in production.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use connect_dynamodb_core::{ErrorKind, MergePolicy, SetOptions, SetOutcome, WriteCondition};

const SID: &str = "LogProbe7sessionIdValue0123456789";
const SECRET: &str = "SecretValueOfTheSessionData42";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_session_id_or_credential_in_any_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (store, _) = fresh_store("logging", |c| c).await;
    let session = format!(r#"{{"token":"{SECRET}"}}"#);
    store
        .set(SID, &session, Some(in_secs(600)))
        .await
        .expect("set");
    store.get(SID).await.expect("get").expect("found");
    store.touch(SID, Some(in_secs(7200))).await.expect("touch");
    store.ids().await.expect("ids");
    store.reap().await.expect("reap");
    store.destroy(SID).await.expect("destroy");
    let err = store.set(SID, "{", None).await.expect_err("bad json");
    assert_eq!(err.kind(), ErrorKind::Serialization);
    // Error paths, where the SDK logs DynamoDB's answers.
    assert_eq!(
        store.touch(SID, None).await.expect("touch").outcome,
        connect_dynamodb_core::TouchOutcome::NotFound
    );
    // A late save meets the tombstone: DynamoDB returns the refused item in its answer.
    assert_eq!(
        store.set(SID, &session, None).await.expect("late save"),
        SetOutcome::Ended
    );
    let other = format!("{SID}2");
    store
        .set_with(&other, &session, None, WriteCondition::IfAbsent)
        .await
        .expect("create");
    let err = store
        .set_with(&other, &session, None, WriteCondition::IfAbsent)
        .await
        .expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    // Versioned writes: a merge conflict, and a user's sessions through the index.
    let table = unique_table("logging-merge");
    let (merging, _) = counted_store(
        local_config(&table)
            .merge(Some(MergePolicy::Error))
            .user_field(Some("token".into()))
            .build()
            .expect("config"),
    )
    .await;
    merging.create_table().await.expect("table");
    merging.set(SID, &session, None).await.expect("create");
    let a = merging.get(SID).await.expect("a loads").expect("found");
    let b = merging.get(SID).await.expect("b loads").expect("found");
    let changed = format!(r#"{{"token":"{SECRET}","n":1}}"#);
    merging
        .set_with(SID, &changed, None, SetOptions::loaded(b.version))
        .await
        .expect("b saves");
    let err = merging
        .set_with(
            SID,
            &format!(r#"{{"token":"{SECRET}","n":2}}"#),
            None,
            SetOptions::loaded(a.version),
        )
        .await
        .expect_err("both changed n");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(!err.message().contains(SECRET));
    assert_eq!(merging.user_sessions(SECRET).await.expect("list").len(), 1);
    assert_eq!(
        merging.end_user_sessions(SECRET, None).await.expect("end"),
        1
    );
    let missing = counted_store(
        local_config(&unique_table("nolog"))
            .first_use(connect_dynamodb_core::FirstUse::Nothing)
            .build()
            .expect("config"),
    )
    .await
    .0;
    let err = missing.get(SID).await.expect_err("no table");
    assert_eq!(err.kind(), ErrorKind::TableNotFound);
    let mut reaper = store.start_reaper(Duration::from_secs(1)).expect("reaper");
    reaper.next_pass().await.expect("the reaper is running");
    reaper.stop().await;

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        text.lines().count() > 10,
        "the subscriber saw the SDK's and the store's logs"
    );
    assert!(
        text.contains("connect-dynamodb reaper pass"),
        "the store's own lines are there"
    );
    for (what, needle) in [
        ("session id", SID),
        ("session data", SECRET),
        ("access key", "localtest"),
    ] {
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(needle))
            .take(3)
            .collect();
        assert!(
            leaks.is_empty(),
            "the {what} appears in log lines: {leaks:#?}"
        );
    }
}
