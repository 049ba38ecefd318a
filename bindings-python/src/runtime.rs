//! The Tokio runtime the native module runs on, rebuilt in the child after `fork()`.
//!
//! A Tokio runtime's threads do not survive `fork()`: in the child only the forking thread
//! exists, so the parent's runtime (and every connection pool bound to its reactor) is dead
//! there. Each process therefore gets its own runtime, built on first use. The runtime of a
//! parent is never dropped in the child (dropping it would wait for threads that do not exist):
//! it is leaked with `mem::forget`.
//!
//! A process is recognised by its pid and by a fork generation that
//! `os.register_at_fork(after_in_child=...)` bumps, so that even a reused pid is not mistaken
//! for the process that built a runtime.
//!
//! The state here is only touched by threads that hold the GIL (or, for spawning, by the
//! runtime's own threads, which use their current runtime). `os.fork()` runs with the GIL
//! held, so no other thread is inside these critical sections when the process forks.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime};
use tokio::runtime::Handle;

use crate::error::StoreError;

/// Bumped in the child after every `os.fork()`.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Identifies the current process: its pid and its fork generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessId {
    pid: u32,
    generation: u64,
}

/// The current process.
pub(crate) fn process_id() -> ProcessId {
    ProcessId {
        pid: std::process::id(),
        generation: FORK_GENERATION.load(Ordering::Acquire),
    }
}

/// Registered with `os.register_at_fork(after_in_child=...)` by the module.
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
}

struct ProcessRuntime {
    process: ProcessId,
    runtime: tokio::runtime::Runtime,
}

static RUNTIME: Mutex<Option<ProcessRuntime>> = Mutex::new(None);

/// The current process's runtime, built on first use in each process.
///
/// One worker thread: a store call spends nearly all its time waiting on DynamoDB, and the
/// sync store polls its own future on the calling thread. The blocking pool hands results back
/// to asyncio (it takes the GIL there, never on the worker).
pub(crate) fn handle() -> Result<Handle, StoreError> {
    let process = process_id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(current) = slot.as_ref()
        && current.process == process
    {
        return Ok(current.runtime.handle().clone());
    }
    if let Some(stale) = slot.take() {
        // The parent's runtime: its threads are gone, dropping it would wait for them forever.
        std::mem::forget(stale);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("connect-dynamodb")
        .enable_all()
        .build()
        .map_err(|_| StoreError::internal("could not start the Tokio runtime"))?;
    let handle = runtime.handle().clone();
    *slot = Some(ProcessRuntime { process, runtime });
    Ok(handle)
}

/// The runtime to spawn on: the current one on the runtime's own threads, else the process's.
fn spawn_handle() -> Handle {
    match Handle::try_current() {
        Ok(handle) => handle,
        // The stores fetch the runtime before they spawn, so this only fails when a new
        // runtime cannot be built; the caller turns the panic into an InternalError.
        Err(_) => handle().expect("the Tokio runtime of this process"),
    }
}

/// pyo3-async-runtimes' view of the fork-aware runtime, used to turn futures into asyncio
/// awaitables. (The crate's own `tokio` runtime is global, set once, and dies at `fork()`.)
#[derive(Debug)]
pub(crate) struct ForkSafeRuntime;

impl Runtime for ForkSafeRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        spawn_handle().spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_handle().spawn_blocking(f)
    }
}

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl ContextExt for ForkSafeRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|cell| cell.get().cloned())
            .unwrap_or_default()
    }
}
