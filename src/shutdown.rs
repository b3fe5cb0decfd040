//! How a pool stops: [`ShutdownMode`], and [`Shutdown`], the waiter
//! [`TaskPool::shutdown`](crate::TaskPool::shutdown) returns.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::shared::PoolShared;

/// What a shutdown does with tasks that are queued or running.
///
/// Every mode first closes the pool: new submissions are refused and
/// handed back. A shutdown can be requested again with a stricter mode
/// (drain, then cancel-pending, then an earlier deadline); it never
/// becomes laxer.
///
/// | mode | queued tasks | running tasks | Python |
/// |---|---|---|---|
/// | `Drain` | run | finish | `shutdown(wait=True)` |
/// | `CancelPending` | end as [`Shutdown`](crate::TaskErrorKind::Shutdown) | finish | `shutdown(cancel_futures=True)` |
/// | `Deadline(d)` | run until `d`, then end as `Shutdown` | finish until `d`, then are cancelled | — |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskpool::{DaemonExecutor, ShutdownMode};
///
/// let executor = DaemonExecutor::new(2).unwrap();
/// let handle = executor.submit(async { 1 }).unwrap();
/// executor.shutdown(ShutdownMode::Deadline(Duration::from_secs(5)));
/// assert_eq!(handle.wait().unwrap(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownMode {
    /// Run everything already queued, and let running tasks finish.
    Drain,
    /// End queued tasks without running them; let running tasks finish.
    CancelPending,
    /// Drain for at most this long; then end what is queued and cancel
    /// what is running. A duration too large to represent means no
    /// deadline (plain drain).
    Deadline(Duration),
}

/// Waits for a pool's shutdown to finish: closed, drained, nothing running.
///
/// Returned by [`TaskPool::shutdown`](crate::TaskPool::shutdown), which has
/// already started the shutdown: dropping this does not stop it. `.await`
/// it in async code, or [`wait`](Shutdown::wait) for it from a plain
/// thread.
///
/// Waiting from inside one of the pool's own tasks could never end (the
/// waiting task is one of those being waited for), so there it returns at
/// once.
///
/// # Examples
///
/// ```
/// use taskpool::{ShutdownMode, TaskPool};
///
/// let pool = TaskPool::new(2).unwrap();
/// let handle = pool.submit(async { "done" }).unwrap();
/// pool.shutdown(ShutdownMode::Drain).wait();
/// assert!(handle.is_finished());
/// assert!(pool.submit(async {}).unwrap_err().is_closed());
/// ```
#[must_use = "the shutdown has started; wait or await this to know when it is over"]
pub struct Shutdown {
    shared: Arc<PoolShared>,
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Shutdown {
    pub(crate) fn new(shared: Arc<PoolShared>) -> Shutdown {
        Shutdown { shared, wait: None }
    }

    fn called_from_own_task(&self) -> bool {
        crate::run::current_pool() == Some(self.shared.id())
    }

    /// Whether the shutdown is over.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let shutdown = pool.shutdown(taskpool::ShutdownMode::Drain);
    /// shutdown.wait();
    /// assert!(pool.shutdown(taskpool::ShutdownMode::Drain).is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Blocks until the shutdown is over.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task of another pool (where
    /// blocking can deadlock the executor: `.await` the [`Shutdown`]
    /// instead), or on the daemon thread of the executor being shut down,
    /// where it would deadlock; use
    /// [`DaemonExecutor::shutdown`](crate::DaemonExecutor::shutdown) there,
    /// which starts the shutdown and returns.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the pool has stopped. In async code,
    /// `.await` the [`Shutdown`] instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.shutdown(taskpool::ShutdownMode::CancelPending).wait();
    /// assert!(pool.is_closed());
    /// ```
    pub fn wait(self) {
        if self.called_from_own_task() {
            return;
        }
        if crate::daemon::is_daemon_thread_of(self.shared.id()) {
            panic!("`Shutdown::wait` was called on the daemon thread being shut down, which would deadlock");
        }
        if !self.shared.is_stopped() {
            crate::run::forbid_blocking_in_task("`Shutdown::wait`", "`.await` the `Shutdown` instead");
        }
        self.shared.wait_stopped_blocking();
    }
}

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.called_from_own_task() {
            return Poll::Ready(());
        }
        let shared = Arc::clone(&self.shared);
        self.wait
            .get_or_insert_with(|| Box::pin(async move { shared.wait_stopped().await }))
            .as_mut()
            .poll(cx)
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("finished", &self.is_finished())
            .finish()
    }
}
