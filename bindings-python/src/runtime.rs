//! Runtime glue: blocking calls and asyncio awaitables over the process-local Tokio runtime of
//! `connect-dynamodb-runtime`, which is rebuilt in a forked child (its fork generation is
//! bumped by a `pthread_atfork` handler, so `os.fork()` needs no hook here).
//!
//! - A blocking call runs on the calling thread's own runtime, or on the process's before the
//!   process store is built ([`wait_here`], [`wait`]).
//! - An awaited call runs on the process's runtime; its outcome reaches the asyncio future
//!   through the event loop's mailbox ([`awaitable`]), so no runtime thread ever takes the GIL.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Handle;

use crate::error::{Answer, StoreError};

/// A handle of this process's runtime, built on first use in each process.
pub(crate) fn handle() -> Result<Handle, StoreError> {
    Ok(connect_dynamodb_runtime::handle()?)
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
    let handle = handle()?;
    let event_loop = running_loop(py)?;
    let mailbox = mailbox::of(&event_loop)?;
    let asyncio_future = event_loop.call_method0(intern!(py, "create_future"))?;
    let target = asyncio_future.clone().unbind();
    let task = handle.spawn(async move {
        let outcome = AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(StoreError::panicked()));
        mailbox.post(
            target,
            Box::new(move |py| Ok(Answer(outcome).into_pyobject(py)?.unbind())),
        );
    });
    asyncio_future.call_method1(
        intern!(py, "add_done_callback"),
        (mailbox::AbortOnCancel::new(task.abort_handle()),),
    )?;
    Ok(asyncio_future)
}

/// The running event loop of the calling thread (`asyncio.get_running_loop()`).
fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
        })?
        .bind(py)
        .call0()
}

/// Outcomes of awaited calls on their way from the runtime's threads to the event loop that
/// awaits them, one mailbox per loop.
///
/// A runtime thread never takes the GIL: it posts the outcome and, when the mailbox was empty,
/// writes one byte to a socket that the loop watches (`loop.add_reader`). The loop's thread
/// then converts each outcome to Python and completes its future with the GIL it holds anyway.
/// Handing an outcome over with `call_soon_threadsafe` instead would take the GIL on a runtime
/// thread, and wake one more thread, per call; and a runtime thread inside Python would have
/// to be waited for before the interpreter may finalize.
mod mailbox {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::panic::AssertUnwindSafe;
    use std::sync::{Arc, Mutex, PoisonError};

    use connect_dynamodb_runtime::{ProcessId, process_id};
    use pyo3::intern;
    use pyo3::prelude::*;
    use pyo3::sync::PyOnceLock;
    use tokio::task::AbortHandle;

    use crate::error::StoreError;

    /// Turns an outcome into the future's result (or its exception), on the loop's thread.
    pub(super) type Outcome = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

    pub(super) struct Mailbox {
        posted: Mutex<Vec<(Py<PyAny>, Outcome)>>,
        /// Written by the runtime's threads, one byte per wake-up.
        ring: UnixStream,
        /// Watched by the loop.
        bell: UnixStream,
        /// A forked child that goes on running its parent's loop makes a mailbox of its own:
        /// this one's socket and lock are shared with the parent.
        made_in: ProcessId,
    }

    impl Mailbox {
        /// Hands `outcome` to `future`'s loop; wakes the loop when nothing else is waiting.
        pub(super) fn post(&self, future: Py<PyAny>, outcome: Outcome) {
            let first = {
                let mut posted = self.posted.lock().unwrap_or_else(PoisonError::into_inner);
                posted.push((future, outcome));
                posted.len() == 1
            };
            if first {
                // A full socket buffer means the loop has a wake-up to read already.
                let _ = (&self.ring).write(&[1]);
            }
        }
    }

    /// The loop's side of a mailbox: `deliver` is its reader callback. The loop's reader is
    /// the one owner that keeps it: closing the loop drops it, its socket and the futures
    /// posted to it.
    #[pyclass(frozen, weakref, module = "connect_dynamodb._native")]
    pub(super) struct LoopMailbox(Arc<Mailbox>);

    #[pymethods]
    impl LoopMailbox {
        /// Completes the future of every posted outcome. An error in completing one (a signal
        /// handler raising inside the loop's `call_soon`) is raised once all are done, for the
        /// loop to handle as any callback's.
        fn deliver(&self, py: Python<'_>) -> PyResult<()> {
            let mailbox = &self.0;
            // Read the wake-ups first: an outcome posted after the take below rings again.
            let mut bytes = [0u8; 64];
            while let Ok(n) = (&mailbox.bell).read(&mut bytes) {
                if n < bytes.len() {
                    break;
                }
            }
            let posted = std::mem::take(
                &mut *mailbox
                    .posted
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            let mut first_error = None;
            for (future, outcome) in posted {
                if let Err(err) = complete(future.bind(py), outcome) {
                    first_error.get_or_insert(err);
                }
            }
            first_error.map_or(Ok(()), Err)
        }
    }

    /// Sets `future`'s result or exception from `outcome`, unless the future is done already
    /// (cancelled).
    fn complete(future: &Bound<'_, PyAny>, outcome: Outcome) -> PyResult<()> {
        let py = future.py();
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        let value = std::panic::catch_unwind(AssertUnwindSafe(|| outcome(py)))
            .unwrap_or_else(|_| Err(StoreError::panicked().into_pyerr(py)));
        match value {
            Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
            Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?,
        };
        Ok(())
    }

    /// The mailbox of `event_loop`, made (and its socket watched) on first use.
    pub(super) fn of(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Mailbox>> {
        let py = event_loop.py();
        // Loop -> a weak reference to its mailbox: neither keeps the other alive.
        static BY_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let by_loop = BY_LOOP
            .get_or_try_init(py, || {
                Ok::<_, PyErr>(
                    py.import("weakref")?
                        .getattr("WeakKeyDictionary")?
                        .call0()?
                        .unbind(),
                )
            })?
            .bind(py);
        let known = by_loop.call_method1(intern!(py, "get"), (event_loop,))?;
        if !known.is_none()
            && let Ok(known) = known.call0()?.cast_into::<LoopMailbox>()
            && known.get().0.made_in == process_id()
        {
            return Ok(known.get().0.clone());
        }
        let (ring, bell) = UnixStream::pair()?;
        ring.set_nonblocking(true)?;
        bell.set_nonblocking(true)?;
        let mailbox = Arc::new(Mailbox {
            posted: Mutex::new(Vec::new()),
            ring,
            bell,
            made_in: process_id(),
        });
        let watched = Bound::new(py, LoopMailbox(mailbox.clone()))?;
        event_loop.call_method1(
            intern!(py, "add_reader"),
            (
                mailbox.bell.as_raw_fd(),
                watched.getattr(intern!(py, "deliver"))?,
            ),
        )?;
        let weak = py.import("weakref")?.getattr("ref")?.call1((watched,))?;
        by_loop.set_item(event_loop, weak)?;
        Ok(mailbox)
    }

    /// A done-callback of an awaited call's future: cancelling the future abandons the call
    /// (its future is dropped, which drops its request).
    #[pyclass(frozen, module = "connect_dynamodb._native")]
    pub(super) struct AbortOnCancel(AbortHandle);

    impl AbortOnCancel {
        pub(super) fn new(task: AbortHandle) -> Self {
            Self(task)
        }
    }

    #[pymethods]
    impl AbortOnCancel {
        fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
            if future
                .call_method0(intern!(future.py(), "cancelled"))?
                .is_truthy()?
            {
                self.0.abort();
            }
            Ok(())
        }
    }
}
