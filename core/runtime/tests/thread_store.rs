//! Blocking calls on the calling thread's own runtime (`block_here`) with the thread's store
//! (`ProcessStore::thread_store`), against the DynamoDB Local that `make test` starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use connect_dynamodb_core::{
    Config, ConfigBuilder, Credentials, FirstUse, SessionStore, TouchOutcome,
};
use connect_dynamodb_runtime::{CALLS_BEFORE_OWN_RUNTIME, ProcessStore, block_here, block_on};
use tokio::runtime::{Handle, RuntimeFlavor};

fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run these tests with `make test`, which starts DynamoDB Local",
    )
}

/// A store handle on a fresh table (created by the first call), built in this process, with
/// one attempt of at most 5 s per call: a call that stalled would fail instead of retrying.
fn process_store(label: &str, tune: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> ProcessStore {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    let table = format!(
        "rt-{label}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let builder = Config::builder()
        .table(table)
        .endpoint(endpoint())
        .region("us-east-1")
        .first_use(FirstUse::Create)
        .attempt_timeout(Duration::from_secs(5))
        .max_attempts(1);
    let config = tune(builder).build().expect("config");
    let store = ProcessStore::new(config);
    block_on(store.store())
        .expect("runtime")
        .expect("process store");
    store
}

/// The calling thread's own store of `process`, once the thread has made the calls that run on
/// the process's runtime first.
fn own_store(process: &ProcessStore) -> SessionStore {
    (0..=CALLS_BEFORE_OWN_RUNTIME)
        .find_map(|_| process.thread_store())
        .expect("a store of this thread")
}

fn local_credentials(b: ConfigBuilder) -> ConfigBuilder {
    b.credentials(Credentials::new("localtest", "localtest", None))
}

#[test]
fn a_blocking_call_runs_on_the_calling_thread_and_shares_the_process_store() {
    let process = process_store("here", local_credentials);
    let here = own_store(&process);
    let (flavor, got) = block_here(async {
        here.set("sid-1", r#"{"n":1}"#, None).await?;
        let got = here.get("sid-1").await?;
        Ok::<_, connect_dynamodb_core::Error>((Handle::current().runtime_flavor(), got))
    })
    .expect("runtime")
    .expect("calls");
    assert_eq!(
        flavor,
        RuntimeFlavor::CurrentThread,
        "the thread's own runtime, not the process's"
    );
    assert_eq!(got.expect("stored").session, r#"{"n":1}"#);

    // The thread's store shares the process store's memory of recent sessions: after its get,
    // a touch on the process store is a throttled one, decided without a request.
    let touched = process
        .built()
        .expect("built")
        .touch_if_throttled("sid-1", None)
        .expect("touch");
    assert_eq!(touched.map(|t| t.outcome), Some(TouchOutcome::Throttled));

    // The process store (another runtime and pool) reads the same table.
    let shared = block_on(async { process.store().await?.get("sid-1").await })
        .expect("runtime")
        .expect("get");
    assert_eq!(shared.expect("stored").session, r#"{"n":1}"#);
}

#[test]
fn an_idle_thread_does_not_hold_up_another_threads_calls() {
    // Thread A calls, then waits without calling again: its runtime stands still with its
    // connection open. Thread B's calls must not borrow that connection (it would stall until
    // the 5 s attempt timeout and fail, as the store allows one attempt).
    let process = Arc::new(process_store("idle", local_credentials));
    let (a_called, a_may_end) = (mpsc::channel::<()>(), mpsc::channel::<()>());
    let a = {
        let process = Arc::clone(&process);
        let (called, may_end) = (a_called.0, a_may_end.1);
        std::thread::spawn(move || {
            let here = own_store(&process);
            block_here(async { here.set("sid-a", "{}", None).await })
                .expect("runtime")
                .expect("set on A");
            called.send(()).expect("main waits");
            may_end.recv().expect("main says");
        })
    };
    a_called.1.recv().expect("A called");
    let b = {
        let process = Arc::clone(&process);
        std::thread::spawn(move || {
            let here = own_store(&process);
            for i in 0..5 {
                let sid = format!("sid-b{i}");
                block_here(async {
                    here.set(&sid, "{}", None).await?;
                    here.get("sid-a").await
                })
                .expect("runtime")
                .expect("calls on B")
                .expect("A's session");
            }
        })
    };
    b.join().expect("thread B");
    a_may_end.0.send(()).expect("A waits");
    a.join().expect("thread A");
}

/// Credentials that record the name of the thread each lookup runs on.
#[derive(Debug, Default)]
struct Recording {
    threads: Mutex<Vec<Option<String>>>,
}

impl ProvideCredentials for Recording {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let name = std::thread::current().name().map(str::to_owned);
        self.threads.lock().expect("lock").push(name);
        future::ProvideCredentials::ready(Ok(AwsCredentials::new(
            "localtest",
            "localtest",
            None,
            None,
            "test",
        )))
    }
}

#[test]
fn thread_stores_look_their_credentials_up_once_on_the_process_runtime() {
    // Credential providers (IMDS, ECS, SSO) send requests through the process store's pool,
    // which belongs to the process's runtime: a lookup must never run on a thread's runtime.
    // And the threads' clients share one cached lookup, rather than one per thread.
    let recording = Arc::new(Recording::default());
    let provider = SharedCredentialsProvider::new(ArcProvider(Arc::clone(&recording)));
    let process = Arc::new(process_store("creds", |b| b.credentials_provider(provider)));
    let before = recording.threads.lock().expect("lock").len();
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let process = Arc::clone(&process);
            std::thread::Builder::new()
                .name(format!("caller-{i}"))
                .spawn(move || {
                    let here = own_store(&process);
                    block_here(async { here.set(&format!("sid-c{i}"), "{}", None).await })
                        .expect("runtime")
                        .expect("set");
                })
                .expect("thread")
        })
        .collect();
    for thread in threads {
        thread.join().expect("caller");
    }
    let threads = recording.threads.lock().expect("lock").clone();
    assert_eq!(
        threads[before..],
        [Some("connect-dynamodb".to_owned())],
        "one lookup for the three threads, on the process runtime"
    );
}

#[derive(Debug)]
struct ArcProvider(Arc<Recording>);

impl ProvideCredentials for ArcProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.0.provide_credentials()
    }
}

#[test]
fn a_threads_first_calls_run_on_the_process_runtime() {
    // A thread per request makes a few calls: they share the process store's connections.
    let process = Arc::new(process_store("first", local_credentials));
    let thread = Arc::clone(&process);
    std::thread::spawn(move || {
        for call in 1..=CALLS_BEFORE_OWN_RUNTIME {
            assert!(
                thread.thread_store().is_none(),
                "call {call} runs on the process store"
            );
        }
        assert!(
            thread.thread_store().is_some(),
            "then the thread has its own"
        );
    })
    .join()
    .expect("thread");
}

#[test]
fn a_thread_inside_a_runtime_gets_no_thread_store() {
    let process = process_store("inside", local_credentials);
    // This thread has a runtime of its own: only being inside a runtime stops it below.
    own_store(&process);
    let inside = connect_dynamodb_runtime::runtime()
        .expect("runtime")
        .block_on(async { process.thread_store().is_none() });
    assert!(
        inside,
        "a completion callback on a runtime thread uses the process store"
    );
    let unbuilt = ProcessStore::new(process.config().clone());
    assert!(
        unbuilt.thread_store().is_none(),
        "no process store built yet"
    );
}

/// A TCP relay to DynamoDB Local that can close every client connection it has accepted, as a
/// server closes idle keep-alive connections.
struct ClosingRelay {
    url: String,
    clients: Arc<Mutex<Vec<std::net::TcpStream>>>,
    /// How many client connections have ended, either side closing.
    ended: Arc<(Mutex<usize>, Condvar)>,
}

impl ClosingRelay {
    fn start() -> Self {
        let upstream = endpoint()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let clients = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::clone(&clients);
        let ended = Arc::new((Mutex::new(0), Condvar::new()));
        let counter = Arc::clone(&ended);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                accepted
                    .lock()
                    .expect("lock")
                    .push(client.try_clone().expect("clone"));
                // Copies one way; the client's side also counts the connection's end.
                let pipe =
                    |mut from: std::net::TcpStream,
                     mut to: std::net::TcpStream,
                     ended: Option<Arc<(Mutex<usize>, Condvar)>>| {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                            if let Some(ended) = ended {
                                *ended.0.lock().expect("lock") += 1;
                                ended.1.notify_all();
                            }
                        });
                    };
                pipe(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                    Some(Arc::clone(&counter)),
                );
                pipe(server, client, None);
            }
        });
        ClosingRelay {
            url,
            clients,
            ended,
        }
    }

    /// Whether a client connection has ended already.
    fn wait_ended_now(&self) -> bool {
        *self.ended.0.lock().expect("lock") > 0
    }

    /// Waits up to 5 s until `n` client connections have ended; whether they have.
    fn wait_ended(&self, n: usize) -> bool {
        let (count, changed) = &*self.ended;
        let count = count.lock().expect("lock");
        let (count, _) = changed
            .wait_timeout_while(count, Duration::from_secs(5), |c| *c < n)
            .expect("lock");
        *count >= n
    }

    /// Closes every client connection; returns how many there were.
    fn close_all(&self) -> usize {
        let clients = std::mem::take(&mut *self.clients.lock().expect("lock"));
        for client in &clients {
            let _ = client.shutdown(std::net::Shutdown::Both);
        }
        clients.len()
    }
}

#[test]
fn a_connection_the_server_closed_while_the_thread_was_away_is_not_reused() {
    // The thread's runtime stands still between calls, so a connection the server closes in
    // between is only seen closed when the thread calls again: before it picks a connection,
    // or the call (one attempt allowed) would fail on the dead one.
    let relay = ClosingRelay::start();
    let process = process_store("closed", |b| {
        local_credentials(b).endpoint(relay.url.clone())
    });
    let here = own_store(&process);
    for round in 0..3 {
        let sid = format!("sid-{round}");
        block_here(async {
            here.set(&sid, "{}", None).await?;
            here.get(&sid).await
        })
        .expect("runtime")
        .unwrap_or_else(|err| panic!("round {round}: {err}"))
        .expect("stored");
        assert!(relay.close_all() > 0, "the calls went through the relay");
    }
}

#[test]
fn dropping_a_store_closes_the_calling_threads_connections() {
    // A C program's cdyn_store_free, or Python's close(), on the thread that made the calls:
    // the thread's connections of that store close then, not at some later call.
    let relay = ClosingRelay::start();
    let process = process_store("drop", |b| local_credentials(b).endpoint(relay.url.clone()));
    let here = own_store(&process);
    block_here(async { here.set("sid-d", "{}", None).await })
        .expect("runtime")
        .expect("set");
    drop(here);
    assert!(
        !relay.wait_ended_now(),
        "the connection is kept between calls"
    );
    drop(process);
    assert!(
        relay.wait_ended(1),
        "the connection closed when the store was dropped"
    );
}
