//! The library's Tokio runtime: built on first use, once per process, and rebuilt in the child
//! after `fork()`.
//!
//! A forked child has a copy of the parent's memory but none of its threads, so the parent's
//! runtime (its worker threads, its reactor) is dead in the child. The child must not drop it
//! either: dropping it would touch the epoll instance and the sockets the child shares with the
//! parent. So the runtime is tagged with the process id; a call that finds another process's
//! runtime builds a new one and keeps the old one forever, unused ([`keep_forever`]). The same
//! goes for each store's DynamoDB client (see `store.rs`).
//!
//! Nothing here takes a lock: a lock held by another thread of the parent at the moment of
//! `fork()` would stay locked in the child forever.

use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use tokio::runtime::{Builder, Runtime};

use crate::error::{Failure, Outcome};

struct Slot {
    pid: u32,
    runtime: Runtime,
}

static RUNTIME: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());

/// The runtime of this process, built on first use (and after a `fork()`).
pub(crate) fn runtime() -> Outcome<&'static Runtime> {
    let pid = std::process::id();
    let mut current = RUNTIME.load(Ordering::Acquire);
    loop {
        // SAFETY: slots are never freed (see `keep_forever`), so a loaded pointer stays valid.
        if let Some(slot) = unsafe { current.as_ref() }
            && slot.pid == pid
        {
            return Ok(&slot.runtime);
        }
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("connect-dynamodb")
            .enable_all()
            .build()
            .map_err(|e| Failure::internal(format!("could not start the Tokio runtime: {e}")))?;
        let fresh = Box::into_raw(Box::new(Slot { pid, runtime }));
        match RUNTIME.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(previous) => {
                // A runtime of the parent process, or none.
                keep_forever(previous.cast());
                // SAFETY: `fresh` was just published and is never freed.
                return Ok(unsafe { &(*fresh).runtime });
            }
            Err(installed) => {
                // Another thread of this process was first; its runtime is used.
                // SAFETY: `fresh` was never published.
                let slot = unsafe { Box::from_raw(fresh) };
                slot.runtime.shutdown_background();
                current = installed;
            }
        }
    }
}

/// Runs `future` to completion on the library's runtime, blocking the calling thread.
///
/// Tokio refuses to block a thread that runs inside a runtime (a completion callback of the
/// non-blocking API runs on one, and so does a Rust caller's own Tokio task): there the future
/// runs on a helper thread, and the calling thread waits for it.
pub(crate) fn block_on<F>(future: F) -> Outcome<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("connect-dynamodb-call".to_owned())
            .spawn_scoped(scope, || runtime.block_on(future))
            .map_err(|e| Failure::internal(format!("could not start a helper thread: {e}")))?;
        helper.join().map_err(Failure::panic)
    })
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
pub(crate) fn keep_forever(ptr: *mut ()) {
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

/// How many objects of parent processes this process keeps (for the tests).
#[cfg(test)]
pub(crate) fn kept_count() -> usize {
    let mut count = 0;
    let mut node = KEPT.load(Ordering::Acquire);
    // SAFETY: nodes are never freed.
    while let Some(n) = unsafe { node.as_ref() } {
        count += 1;
        node = n.next;
    }
    count
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
}
