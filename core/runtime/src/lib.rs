//! The process-local runtime layer of connect-dynamodb's C and Python faces.
//!
//! The core owns no runtime: Rust callers bring their own Tokio runtime, and the Node face runs
//! on napi's. A C program or a Python interpreter has none, so these two faces share this
//! crate: one Tokio runtime per process, and one [`SessionStore`] (with its DynamoDB client,
//! connection pool and reaper) per store handle per process.
//!
//! # Fork safety
//!
//! A forked child has a copy of the parent's memory but none of its threads, so the parent's
//! runtime (its workers, its reactor) and every connection pool bound to it are dead in the
//! child (gunicorn `--preload`, `multiprocessing`, a C server that forks workers). The child
//! must not drop them either: dropping them would wait for threads that do not exist and
//! touch the epoll instance and the sockets it shares with the parent.
//!
//! So every object here is tagged with the [`ProcessId`] that built it: the pid plus a fork
//! generation that a `pthread_atfork` child handler bumps, so that a child whose pid happens to
//! equal a dead ancestor's is still told apart (as lancedb's `python/src/runtime.rs` does). A
//! call that finds another process's object builds a new one and keeps the old one reachable,
//! untouched, forever ([`keep_forever`]).
//!
//! Nothing here takes a lock: a lock held by another thread of the parent at the moment of
//! `fork()` would stay locked in the child forever. Published objects are swapped with
//! compare-and-exchange and never freed while another thread may read them.
//!
//! # Calls that block the calling thread
//!
//! A blocking call (every C call but the non-blocking ones, every call of Python's
//! `SessionStore`) runs on the calling thread's own current-thread runtime ([`block_here`])
//! with a store of that thread ([`ProcessStore::thread_store`]): the thread sends the request,
//! waits in its own `epoll_wait` for the answer and decodes it, so a call over an open
//! connection wakes no other thread (on the process's runtime it takes two wake-ups of a worker
//! and one of the caller). Opening a connection still resolves the host on the thread's
//! blocking pool, and credentials are looked up on the process's runtime.
//!
//! A thread's first [`CALLS_BEFORE_OWN_RUNTIME`] calls run on the process's runtime instead,
//! over the process store's connections: a thread that lives for one request makes no
//! connection of its own.
//!
//! The thread's store shares the process store's configuration and memory of recent sessions,
//! but has its own connection pool: a pooled connection belongs to the runtime that opened it,
//! and a thread's runtime runs only while that thread is inside a call. So a thread's
//! connections stay open between its calls; those of a dropped store close when the thread
//! drops it, makes its next blocking call, or ends.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use connect_dynamodb_core::{Config, ReaperHandle, SessionStore};
use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads of the runtime. A store call spends nearly all its time waiting on
/// DynamoDB; the workers encode requests, decode answers and drive TLS, so one idle thread is
/// all a second worker costs a (pre-forked) process.
///
/// Measured (C face, debug build, against DynamoDB Local on a 2-core machine shared with other
/// builds, load average 6 to 11): 16 threads x 150 rounds of set + get on one store (4,800
/// calls), three batches of three runs per setting. Median wall time with one worker 6.58 s,
/// 5.31 s and 6.57 s; with two workers 5.19 s, 4.48 s and 6.01 s: two workers were faster in
/// every batch (by 8 to 21%) and in 5 of 6 paired runs, so the runtime has two.
pub const WORKER_THREADS: usize = 2;

/// A runtime failure: the runtime or a helper thread could not be started, or a call panicked.
/// The faces report it as `INTERNAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeError {
    message: &'static str,
}

impl RuntimeError {
    /// What failed, in fixed text.
    pub fn message(&self) -> &'static str {
        self.message
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// Identifies a process: its pid and its fork generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    pid: u32,
    generation: u64,
}

/// Bumped in the child after every `fork()`.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static AT_FORK_REGISTERED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The current process. The first call registers the fork handler; no object of this crate
/// exists before it, so no fork before it can leave a stale one.
pub fn process_id() -> ProcessId {
    if !AT_FORK_REGISTERED.load(Ordering::Acquire)
        && AT_FORK_REGISTERED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        // SAFETY: registers a handler that only bumps an atomic, which is async-signal-safe
        // as a fork handler must be. A failure (ENOMEM) leaves the pid to tell processes apart.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    }
    ProcessId {
        pid: std::process::id(),
        generation: FORK_GENERATION.load(Ordering::Acquire),
    }
}

/// A value that belongs to the process that built it, rebuilt in a forked child. Lock-free;
/// values of other processes are kept forever, never dropped.
pub struct ProcessLocal<T> {
    current: AtomicPtr<Tagged<T>>,
}

struct Tagged<T> {
    process: ProcessId,
    value: T,
}

impl<T> fmt::Debug for ProcessLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessLocal")
            .field("built", &!self.current.load(Ordering::Acquire).is_null())
            .finish()
    }
}

impl<T> Default for ProcessLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ProcessLocal<T> {
    /// Empty in every process.
    pub const fn new() -> Self {
        ProcessLocal {
            current: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The value of this process, when it has been built.
    pub fn get(&self) -> Option<&T> {
        let process = process_id();
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: a published value is freed only by `drop`, which has `&mut self`; a replaced
        // one is kept forever.
        unsafe { current.as_ref() }
            .filter(|t| t.process == process)
            .map(|t| &t.value)
    }

    /// Publishes `value` as this process's value, unless another thread of this process was
    /// first: then `value` is dropped and the published one returned.
    pub fn install(&self, value: T) -> &T {
        self.install_or_else(value, drop)
    }

    /// [`install`](Self::install), handing a `value` that lost the race to `lost` instead of
    /// dropping it (a Tokio runtime must be shut down without waiting, say).
    pub fn install_or_else(&self, value: T, lost: impl FnOnce(T)) -> &T {
        let process = process_id();
        let fresh = Box::into_raw(Box::new(Tagged { process, value }));
        let mut current = self.current.load(Ordering::Acquire);
        loop {
            // SAFETY: as in `get`.
            if let Some(tagged) = unsafe { current.as_ref() }
                && tagged.process == process
            {
                // SAFETY: `fresh` was never published.
                lost(unsafe { Box::from_raw(fresh) }.value);
                return &tagged.value;
            }
            match self
                .current
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(previous) => {
                    // Null, or the value of a parent process.
                    keep_forever(previous.cast());
                    // SAFETY: just published; freed only by `drop`.
                    return unsafe { &(*fresh).value };
                }
                Err(installed) => current = installed,
            }
        }
    }
}

impl<T> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        let current = *self.current.get_mut();
        // SAFETY: published by `install`; nothing else refers to it any more.
        if let Some(tagged) = unsafe { current.as_ref() } {
            if tagged.process == process_id() {
                // SAFETY: created with Box::into_raw, dropped once, here.
                drop(unsafe { Box::from_raw(current) });
            } else {
                keep_forever(current.cast());
            }
        }
    }
}

// A `ProcessLocal` hands out `&T` to many threads and is dropped on any thread.
// SAFETY: as for a `OnceLock<T>`: shared references need `T: Sync`, moving it `T: Send`.
unsafe impl<T: Send + Sync> Sync for ProcessLocal<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for ProcessLocal<T> {}

static RUNTIME: ProcessLocal<Runtime> = ProcessLocal::new();

/// The runtime of this process, built on first use (and again after a `fork()`).
pub fn runtime() -> Result<&'static Runtime, RuntimeError> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("connect-dynamodb")
        .enable_all()
        .build()
        .map_err(|_| RuntimeError {
            message: "could not start the Tokio runtime",
        })?;
    // A runtime that lost the race is shut down without waiting for its threads: dropping it
    // would wait, and panics where the calling thread is inside a runtime.
    Ok(RUNTIME.install_or_else(runtime, Runtime::shutdown_background))
}

/// A handle of this process's runtime.
pub fn handle() -> Result<Handle, RuntimeError> {
    runtime().map(|r| r.handle().clone())
}

/// Runs `future` to completion on this process's runtime, blocking the calling thread.
///
/// Tokio refuses to block a thread that runs inside a runtime (a completion callback of the C
/// face's non-blocking calls runs on one, and so does a Rust caller's own Tokio task): there
/// the future runs on a helper thread, and the calling thread waits for it.
pub fn block_on<F>(future: F) -> Result<F::Output, RuntimeError>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    if Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("connect-dynamodb-call".to_owned())
            .spawn_scoped(scope, || runtime.block_on(future))
            .map_err(|_| RuntimeError {
                message: "could not start a helper thread",
            })?;
        helper.join().map_err(|_| RuntimeError {
            message: "a call panicked",
        })
    })
}

/// How many blocking calls a thread makes on the process's runtime before it gets a runtime of
/// its own ([`ProcessStore::thread_store`]). A server that starts a thread per request
/// (Werkzeug's development server, `socketserver.ThreadingMixIn`, a C server's thread per
/// client) makes a few calls per thread: those share the process store's open connections
/// rather than each thread opening (and, over HTTPS, handshaking) one of its own.
pub const CALLS_BEFORE_OWN_RUNTIME: u32 = 8;

thread_local! {
    /// Blocking calls this thread asked [`ProcessStore::thread_store`] for, while it had no lane.
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// The calling thread's own runtime, and its stores (see the crate's documentation).
struct Lane {
    process: ProcessId,
    /// The stores of this thread, by the [`ProcessStore`] they come from; dropped before the
    /// runtime, which owns their connections' tasks.
    stores: RefCell<Vec<(Weak<()>, SessionStore)>>,
    /// Shut down without waiting when the lane is dropped (see `Drop`).
    runtime: ManuallyDrop<Runtime>,
}

impl Lane {
    /// Drops the stores of the handles dropped since, and the store of `dropping` (a handle
    /// being dropped); whether any went. Their connections close at the runtime's next turn.
    fn purge(&self, dropping: Option<&Arc<()>>) -> bool {
        let mut stores = self.stores.borrow_mut();
        let before = stores.len();
        stores.retain(|(token, _)| {
            token.strong_count() > 0
                && dropping.is_none_or(|d| !ptr::eq(token.as_ptr(), Arc::as_ptr(d)))
        });
        stores.len() != before
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.stores.get_mut().clear();
        // SAFETY: `runtime` is not used again.
        let runtime = unsafe { ManuallyDrop::take(&mut self.runtime) };
        // Dropping would wait for the runtime's blocking pool, where a DNS lookup of an
        // abandoned connection may still run: a thread's exit (or the process's) must not.
        runtime.shutdown_background();
    }
}

/// The slot of a thread's [`Lane`]. A lane of another process (the copy a forked child has of
/// the thread that called `fork()`) is kept forever, never dropped: dropping it would
/// deregister the parent's sockets from the epoll instance the child shares with it.
struct LaneSlot(Option<Rc<Lane>>);

impl Drop for LaneSlot {
    fn drop(&mut self) {
        if let Some(lane) = self.0.take()
            && lane.process != process_id()
        {
            keep_forever(Rc::into_raw(lane).cast_mut().cast());
        }
    }
}

thread_local! {
    static LANE: RefCell<LaneSlot> = const { RefCell::new(LaneSlot(None)) };
}

/// This thread's lane, built on first use in each process; `None` when no runtime can be built.
fn lane() -> Option<Rc<Lane>> {
    let process = process_id();
    LANE.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some(lane) = &slot.0
            && lane.process == process
        {
            return Some(Rc::clone(lane));
        }
        let runtime = Builder::new_current_thread().enable_all().build().ok()?;
        let lane = Rc::new(Lane {
            process,
            stores: RefCell::new(Vec::new()),
            runtime: ManuallyDrop::new(runtime),
        });
        // The lane of a parent process, if any, is kept forever by `LaneSlot`'s drop.
        drop(std::mem::replace(
            &mut *slot,
            LaneSlot(Some(Rc::clone(&lane))),
        ));
        Some(lane)
    })
    .ok()
    .flatten()
}

/// Runs `future` to completion on the calling thread: on the thread's own current-thread
/// runtime, which the thread drives (its I/O, timers and tasks) until `future` is done. For the
/// stores of [`ProcessStore::thread_store`]; a future that uses the process store's client
/// works too, its connections staying on the process's runtime.
///
/// Inside a runtime (where Tokio refuses to block), and should no runtime of the thread be
/// built, this is [`block_on`].
pub fn block_here<F>(future: F) -> Result<F::Output, RuntimeError>
where
    F: Future + Send,
    F::Output: Send,
{
    if Handle::try_current().is_ok() {
        return block_on(future);
    }
    match lane() {
        Some(lane) => Ok(lane.runtime.block_on(async {
            // What happened while the thread was away first: a connection the server closed
            // in the meantime is seen closed (and left out of the pool) before the call picks
            // one. (The first turn polls the reactor, the second runs the tasks it woke.)
            turns(2).await;
            future.await
        })),
        None => block_on(future),
    }
}

/// Gives the other tasks of a current-thread runtime `n` turns.
async fn turns(n: usize) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// How many turns [`settle_here`] gives the calling thread's runtime.
const SETTLE_TURNS: usize = 8;

/// Gives the calling thread's own runtime a few turns without waiting on anything, so that
/// what a dropped call left behind runs: the connection of an abandoned request (a Python call
/// interrupted by Ctrl-C) sees the request gone and closes, rather than at the thread's next
/// call. Does nothing inside a runtime, or on a thread that has no runtime of its own.
pub fn settle_here() {
    if Handle::try_current().is_ok() {
        return;
    }
    if let Some(lane) = current_lane() {
        lane.runtime.block_on(turns(SETTLE_TURNS));
    }
}

/// This thread's lane in this process, if it has one; never builds one.
fn current_lane() -> Option<Rc<Lane>> {
    let process = process_id();
    LANE.try_with(|slot| slot.borrow().0.clone())
        .ok()
        .flatten()
        .filter(|lane| lane.process == process)
}

struct Kept {
    /// Never read: it is here to keep the object reachable.
    _object: *mut (),
    next: *mut Kept,
}

static KEPT: AtomicPtr<Kept> = AtomicPtr::new(ptr::null_mut());

/// Keeps an object of a parent process (a runtime, a store's client) reachable and untouched
/// forever: it cannot be used in this process, and dropping it would disturb the parent.
/// Keeping it reachable from a static also tells leak checkers that it is not lost.
pub fn keep_forever(ptr: *mut ()) {
    if ptr.is_null() {
        return;
    }
    let node = Box::into_raw(Box::new(Kept {
        _object: ptr,
        next: ptr::null_mut(),
    }));
    let mut head = KEPT.load(Ordering::Acquire);
    loop {
        // SAFETY: `node` is ours until the exchange publishes it.
        unsafe { (*node).next = head };
        match KEPT.compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// How many objects of parent processes this process keeps.
#[cfg(test)]
fn kept_count() -> usize {
    let mut count = 0;
    let mut node = KEPT.load(Ordering::Acquire);
    // SAFETY: nodes are never freed.
    while let Some(n) = unsafe { node.as_ref() } {
        count += 1;
        node = n.next;
    }
    count
}

/// A store handle of the C or Python face: its configuration, and the [`SessionStore`] of each
/// process that uses it, built on first use in that process with the configured reaper.
pub struct ProcessStore {
    config: Config,
    local: ProcessLocal<(SessionStore, Option<ReaperHandle>)>,
    /// Identifies this handle in the threads' lanes. When the handle is dropped, the dropping
    /// thread's store of it goes at once, another thread's at its next
    /// [`thread_store`](Self::thread_store).
    token: Arc<()>,
}

impl fmt::Debug for ProcessStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProcessStore {
    /// A handle for `config`; makes no request and builds nothing yet.
    pub fn new(config: Config) -> Self {
        ProcessStore {
            config,
            local: ProcessLocal::new(),
            token: Arc::new(()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store of this process if it is built already; never builds one (for decisions made
    /// at once on the calling thread, such as a throttled touch).
    pub fn built(&self) -> Option<SessionStore> {
        self.local.get().map(|(store, _)| store.clone())
    }

    /// The calling thread's store, for calls run by [`block_here`]: the process store (which
    /// must be built already, by [`store`](Self::store)) over connections of this thread's own
    /// runtime ([`SessionStore::on_own_connections`]), made on the thread's first call.
    ///
    /// `None` for the first [`CALLS_BEFORE_OWN_RUNTIME`] calls of a thread, when the process
    /// store is not built yet, when the thread is inside a runtime (a completion callback), when
    /// the thread's runtime cannot be built, and for a store whose client the core did not
    /// build: then the caller runs the call on [`store`](Self::store).
    pub fn thread_store(&self) -> Option<SessionStore> {
        if Handle::try_current().is_ok() {
            return None;
        }
        if current_lane().is_none() {
            let calls = CALLS
                .try_with(|calls| {
                    calls.set(calls.get().saturating_add(1));
                    calls.get()
                })
                .unwrap_or(0);
            if calls <= CALLS_BEFORE_OWN_RUNTIME {
                return None;
            }
        }
        let lane = lane()?;
        // The stores of handles dropped since go here, on their own thread.
        lane.purge(None);
        let (process, _) = self.local.get()?;
        let mut stores = lane.stores.borrow_mut();
        if let Some((_, store)) = stores
            .iter()
            .find(|(token, _)| ptr::eq(token.as_ptr(), Arc::as_ptr(&self.token)))
        {
            return Some(store.clone());
        }
        let store = process.on_own_connections(runtime().ok()?.handle().clone())?;
        stores.push((Arc::downgrade(&self.token), store.clone()));
        Some(store)
    }

    /// The store of this process: built on first use in each process (a forked child cannot
    /// use its parent's connections), with the configured reaper started. Must run on this
    /// process's runtime.
    pub async fn store(&self) -> connect_dynamodb_core::Result<SessionStore> {
        if let Some((store, _)) = self.local.get() {
            return Ok(store.clone());
        }
        let store = SessionStore::connect(self.config.clone()).await?;
        let reaper = store.start_configured_reaper()?;
        Ok(self.local.install((store, reaper)).0.clone())
    }
}

impl Drop for ProcessStore {
    /// The calling thread's store of this handle goes at once, its connections closed (those of
    /// other threads go at their next blocking call, or when they end).
    fn drop(&mut self) {
        if Handle::try_current().is_ok() {
            return;
        }
        if let Some(lane) = current_lane()
            && lane.purge(Some(&self.token))
        {
            lane.runtime.block_on(turns(SETTLE_TURNS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_per_process() {
        let a = runtime().expect("runtime") as *const Runtime;
        let b = runtime().expect("runtime") as *const Runtime;
        assert_eq!(a, b);
    }

    #[test]
    fn block_on_works_inside_a_runtime() {
        let value = block_on(async { 1 }).expect("outside");
        assert_eq!(value, 1);
        let inner = runtime()
            .expect("runtime")
            .block_on(async { block_on(async { 2 }) })
            .expect("inside");
        assert_eq!(inner, 2);
    }

    #[test]
    fn kept_objects_stay_listed() {
        let before = kept_count();
        keep_forever(Box::into_raw(Box::new(7u8)).cast());
        keep_forever(ptr::null_mut());
        assert!(kept_count() > before);
    }

    #[test]
    fn a_process_local_value_is_installed_once() {
        let local = ProcessLocal::new();
        assert_eq!(local.get(), None);
        assert_eq!(*local.install(1), 1);
        assert_eq!(
            *local.install(2),
            1,
            "the first value of this process stays"
        );
        assert_eq!(local.get(), Some(&1));
        let mut lost = None;
        assert_eq!(*local.install_or_else(3, |v| lost = Some(v)), 1);
        assert_eq!(lost, Some(3), "the value that lost is handed back");
    }

    #[test]
    fn a_forked_child_gets_its_own_generation_and_runtime() {
        let parent = process_id();
        let parent_runtime = runtime().expect("runtime") as *const Runtime as usize;
        let local = ProcessLocal::new();
        local.install(String::from("parent"));
        // SAFETY: the child builds a runtime (threads, allocation, epoll) in a copy of a
        // multi-threaded test process, which relies on glibc's fork-safe malloc, and `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let child = process_id();
            let fresh = runtime().map(|r| r as *const Runtime as usize);
            let ok = child != parent
                && child.generation == parent.generation + 1
                && local.get().is_none()
                && fresh.is_ok_and(|r| r != parent_runtime)
                && block_on(async { 3 }) == Ok(3);
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(local.get().map(String::as_str), Some("parent"));
    }
}
