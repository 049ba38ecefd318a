//! The background reaper: a reaper pass every interval, with jitter, until stopped.
//!
//! DynamoDB's TTL deletes expired items on its own, hours or days late; the store never
//! returns an expired session either way. The reaper is for tables without TTL and for users
//! who want expired items gone promptly (connect-dynamodb's `reapInterval`). It is off by
//! default, as in connect-dynamodb 3.x.
//!
//! The reaper is a task on the caller's Tokio runtime. It never keeps a process alive: it
//! ends with its [`ReaperHandle`] (on [`stop`](ReaperHandle::stop) or drop) or with the runtime.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{MAX_SPAN, MIN_REAP_INTERVAL};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{SessionStore, random_u64};

/// Controls a running background reaper. Dropping it stops the reaper.
#[derive(Debug)]
pub struct ReaperHandle {
    /// `None` only after `stop` took it.
    task: Option<JoinHandle<()>>,
    passes: watch::Receiver<u64>,
}

impl ReaperHandle {
    /// How many passes have ended (successfully or not) since the reaper started.
    pub fn passes(&self) -> u64 {
        *self.passes.borrow()
    }

    /// Waits until the next pass ends and returns the number of passes so far, or `None`
    /// when the reaper task has ended.
    pub async fn next_pass(&mut self) -> Option<u64> {
        self.passes.changed().await.ok()?;
        Some(*self.passes.borrow_and_update())
    }

    /// Stops the reaper and waits until it has stopped. A pass under way is abandoned at its
    /// next request; deleting is idempotent, so nothing is left half done.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Whether the reaper task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for ReaperHandle {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl SessionStore {
    /// Starts the background reaper with the configured `reap_interval`, or returns `None`
    /// when it is off. Must be called within a Tokio runtime.
    pub fn start_configured_reaper(&self) -> Result<Option<ReaperHandle>> {
        self.config()
            .reap_interval()
            .map(|interval| self.start_reaper(interval))
            .transpose()
    }

    /// Starts a background reaper that runs a pass about every `interval` (plus or minus
    /// 10%), never two at once, and never while another pass of this store runs. Must be
    /// called within a Tokio runtime.
    pub fn start_reaper(&self, interval: Duration) -> Result<ReaperHandle> {
        if interval < MIN_REAP_INTERVAL || interval > MAX_SPAN {
            return Err(Error::invalid_argument(
                "the reaper interval must be at least one second and at most 100 years",
            ));
        }
        let store = self.clone();
        spawn_loop(interval, move || {
            let store = store.clone();
            async move {
                match store.reap_if_idle().await {
                    Some(Ok(_)) | None => {}
                    Some(Err(err)) => tracing::warn!(
                        table = %store.config().table(),
                        error = %err,
                        "connect-dynamodb reaper pass failed"
                    ),
                }
            }
        })
    }
}

/// Runs `pass` every `interval` (with jitter) on the current runtime until the handle stops it.
pub(crate) fn spawn_loop<F, Fut>(interval: Duration, mut pass: F) -> Result<ReaperHandle>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::new(
            ErrorKind::Internal,
            "the reaper must be started within a Tokio runtime",
        )
    })?;
    let (sender, passes) = watch::channel(0u64);
    let task = runtime.spawn(async move {
        loop {
            tokio::time::sleep(jittered(interval)).await;
            // Each pass is awaited before the next sleep starts: passes never overlap.
            pass().await;
            sender.send_modify(|n| *n += 1);
        }
    });
    Ok(ReaperHandle {
        task: Some(task),
        passes,
    })
}

/// `interval` scaled by a random factor between 0.9 and 1.1, so that many processes started
/// together do not scan the table at the same moments.
fn jittered(interval: Duration) -> Duration {
    let factor = 0.9 + 0.2 * (random_u64() % 10_001) as f64 / 10_000.0;
    Duration::try_from_secs_f64(interval.as_secs_f64() * factor).unwrap_or(interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn jitter_stays_within_ten_percent() {
        let base = Duration::from_secs(100);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let d = jittered(base);
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
            seen.insert(d.as_millis());
        }
        assert!(seen.len() > 10, "the intervals vary");
        // Never panics, whatever the interval.
        jittered(Duration::MAX);
    }

    #[tokio::test]
    async fn refuses_intervals_out_of_range() {
        let sdk = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let store = crate::SessionStore::with_client(
            aws_sdk_dynamodb::Client::from_conf(sdk),
            crate::Config::default(),
        );
        for interval in [Duration::ZERO, Duration::from_millis(999), Duration::MAX] {
            let err = store.start_reaper(interval).expect_err("out of range");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn runs_passes_one_at_a_time_until_stopped() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (running.clone(), most.clone());
        let mut handle = spawn_loop(Duration::from_secs(10), move || {
            let (r, m) = (r.clone(), m.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                // A pass that takes three intervals must not overlap the next one.
                tokio::time::sleep(Duration::from_secs(30)).await;
                r.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .expect("inside a runtime");
        for expected in 1..=3 {
            assert_eq!(handle.next_pass().await, Some(expected));
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        handle.stop().await;
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_stops_the_task() {
        let passes = Arc::new(AtomicUsize::new(0));
        let counted = passes.clone();
        let handle = spawn_loop(Duration::from_secs(1), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .expect("inside a runtime");
        // The closure holds a clone of `passes`; the task dropping it shows the task ended.
        drop(handle);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(passes.load(Ordering::SeqCst), 0);
        assert_eq!(Arc::strong_count(&passes), 1);
    }

    #[test]
    fn needs_a_runtime() {
        let err = spawn_loop(Duration::from_secs(1), || async {}).expect_err("no runtime");
        assert_eq!(err.kind(), ErrorKind::Internal);
    }
}
