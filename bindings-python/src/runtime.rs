//! Runtime glue: blocking calls and asyncio awaitables over the process-local Tokio runtime of
//! `connect-dynamodb-runtime`, which is rebuilt in a forked child (its fork generation is
//! bumped by a `pthread_atfork` handler, so `os.fork()` needs no hook here).

use std::cell::OnceCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime};
use tokio::runtime::Handle;

use crate::error::{Answer, StoreError};

/// A handle of this process's runtime, built on first use in each process.
pub(crate) fn handle() -> Result<Handle, StoreError> {
    Ok(connect_dynamodb_runtime::handle()?)
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
        // pyo3-async-runtimes hands an awaited call's result to its asyncio future here, on a
        // runtime thread that takes the GIL: counted, so that the interpreter's exit waits for
        // it (see `before_exit`).
        spawn_handle().spawn_blocking(|| exit_guard::run(f))
    }
}

/// The interpreter must not finalize while a runtime thread is inside Python: a thread that
/// gives the GIL up for a moment there (asyncio's `call_soon_threadsafe` writes to the event
/// loop's socket) and takes it back during finalization crashes the process. A program that
/// exits right after awaiting a store call met this. `before_exit`, registered with `atexit`
/// when the module loads, lets such a thread finish (for up to a second, the GIL released) and
/// from then on drops what runtime threads would hand to Python.
pub(crate) mod exit_guard {
    use std::sync::{Condvar, Mutex, PoisonError};
    use std::time::Duration;

    struct State {
        exiting: bool,
        inside: usize,
    }

    static STATE: Mutex<State> = Mutex::new(State {
        exiting: false,
        inside: 0,
    });
    static LEFT: Condvar = Condvar::new();

    /// Runs `f`, which takes the GIL, unless the interpreter is exiting (then `f` is dropped:
    /// its asyncio future will never be awaited).
    pub(crate) fn run(f: impl FnOnce()) {
        {
            let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
            if state.exiting {
                return;
            }
            state.inside += 1;
        }
        // Counted out even should `f` panic (the runtime catches it).
        struct Out;
        impl Drop for Out {
            fn drop(&mut self) {
                let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
                state.inside -= 1;
                LEFT.notify_all();
            }
        }
        let _out = Out;
        f();
    }

    /// Called by `atexit`, with the GIL released: no runtime thread enters Python any more, and
    /// those inside are waited for, up to a second.
    pub(crate) fn before_exit() {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        state.exiting = true;
        let (state, _) = LEFT
            .wait_timeout_while(state, Duration::from_secs(1), |s| s.inside > 0)
            .unwrap_or_else(PoisonError::into_inner);
        drop(state);
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

/// How often a blocking call takes the GIL back to run Python's signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `future` on this process's runtime, blocking the calling thread without the GIL until
/// it ends.
///
/// Every [`SIGNAL_CHECK`] the thread takes the GIL back to run the signal handlers, so Ctrl-C
/// (or any handler that raises) interrupts the call: the handler's exception is raised and
/// the future is dropped, which abandons the request.
pub(crate) fn wait<T, Fut>(py: Python<'_>, future: Fut) -> PyResult<T>
where
    T: Send,
    Fut: Future<Output = T> + Send,
{
    drive(py, future, Some(handle()?))
}

/// [`wait`], with `future` run on the calling thread's own runtime
/// (`connect_dynamodb_runtime::block_here`): for a call on the thread's store
/// (`ProcessStore::thread_store`), which then wakes no other thread.
pub(crate) fn wait_here<T, Fut>(py: Python<'_>, future: Fut) -> PyResult<T>
where
    T: Send,
    Fut: Future<Output = T> + Send,
{
    drive(py, future, None)
}

/// Drives `future` on `runtime`, or on the calling thread's own runtime when `None`.
fn drive<T, Fut>(py: Python<'_>, future: Fut, runtime: Option<Handle>) -> PyResult<T>
where
    T: Send,
    Fut: Future<Output = T> + Send,
{
    let mut future = Box::pin(future);
    loop {
        let step = py.detach(|| {
            // The timer is made inside the runtime: it needs the runtime's time driver.
            let step = async { tokio::time::timeout(SIGNAL_CHECK, future.as_mut()).await };
            match &runtime {
                Some(handle) => Ok(handle.block_on(step)),
                None => connect_dynamodb_runtime::block_here(step),
            }
        });
        match step.map_err(StoreError::from)? {
            Ok(value) => return Ok(value),
            Err(_elapsed) => {
                if let Err(raised) = py.check_signals() {
                    // The call is abandoned. On the thread's own runtime, its connection only
                    // closes when that runtime runs: give it the turn now.
                    drop(future);
                    if runtime.is_none() {
                        py.detach(connect_dynamodb_runtime::settle_here);
                    }
                    return Err(raised);
                }
            }
        }
    }
}

/// An asyncio awaitable of `future`'s outcome; a panic in it becomes `InternalError`.
pub(crate) fn awaitable<T, Fut>(py: Python<'_>, future: Fut) -> PyResult<Bound<'_, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    // Built here, so that spawning cannot fail later.
    handle()?;
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, Answer<T>>(py, async move {
        let outcome = AssertUnwindSafe(future).catch_unwind().await;
        Ok(Answer(
            outcome.unwrap_or_else(|_| Err(StoreError::panicked())),
        ))
    })
}
