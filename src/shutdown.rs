//! How a pool stops: [`ShutdownMode`], and [`Shutdown`], the waiter that
//! [`TaskPool::shutdown`](crate::TaskPool::shutdown) and
//! [`DaemonExecutor::shutdown`](crate::DaemonExecutor::shutdown) return.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use event_listener::{Event, Listener};

use crate::engine::report;
use crate::engine::shared::PoolShared;
use crate::engine::util::lock;

pub use crate::engine::mode::ShutdownMode;

/// Waits for a pool's shutdown to finish: closed, drained, nothing running,
/// and for a [`DaemonExecutor`](crate::DaemonExecutor), its thread joined.
///
/// Returned by [`TaskPool::shutdown`](crate::TaskPool::shutdown) and
/// [`DaemonExecutor::shutdown`](crate::DaemonExecutor::shutdown), which
/// have already started the shutdown: dropping this does not stop it.
/// `.await` it in async code, or [`wait`](Shutdown::wait) for it from a
/// plain thread (the only form that blocks). Python:
/// `Executor.shutdown(wait=True)` is `shutdown(mode).wait()`;
/// `shutdown(wait=False)` is dropping the `Shutdown`.
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
    thread: Option<Arc<Thread>>,
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Shutdown {
    pub(crate) fn new(shared: Arc<PoolShared>) -> Shutdown {
        Shutdown {
            shared,
            thread: None,
            wait: None,
        }
    }

    /// A daemon's shutdown: over once the pool stopped and `thread` exited.
    pub(crate) fn joining(shared: Arc<PoolShared>, thread: Arc<Thread>) -> Shutdown {
        Shutdown {
            shared,
            thread: Some(thread),
            wait: None,
        }
    }

    fn called_from_own_task(&self) -> bool {
        crate::engine::run::current_pool() == Some(self.shared.id())
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
        self.shared.is_stopped() && self.thread.as_ref().is_none_or(|t| t.has_exited())
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
        if crate::engine::local::is_daemon_thread_of(self.shared.id()) {
            panic!("`Shutdown::wait` was called on the daemon thread being shut down, which would deadlock");
        }
        if !self.shared.is_stopped() {
            crate::engine::run::forbid_blocking_in_task("`Shutdown::wait`", "`.await` the `Shutdown` instead");
        }
        self.shared.wait_stopped_blocking();
        if let Some(thread) = &self.thread {
            thread.join_blocking();
        }
    }
}

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.called_from_own_task() {
            return Poll::Ready(());
        }
        let shared = Arc::clone(&self.shared);
        let thread = self.thread.clone();
        self.wait
            .get_or_insert_with(|| {
                Box::pin(async move {
                    shared.wait_stopped().await;
                    if let Some(thread) = thread {
                        thread.join().await;
                    }
                })
            })
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

/// A daemon's OS thread, joined by whoever waits for its shutdown first.
pub(crate) struct Thread {
    handle: Mutex<Option<JoinHandle<()>>>,
    /// Set by the thread as the last thing it does (see [`Thread::exit_guard`]).
    exited: AtomicBool,
    exited_event: Event,
    name: Arc<str>,
}

impl Thread {
    pub(crate) fn new(name: Arc<str>) -> Arc<Thread> {
        Arc::new(Thread {
            handle: Mutex::new(None),
            exited: AtomicBool::new(false),
            exited_event: Event::new(),
            name,
        })
    }

    /// Hands over the spawned thread's handle.
    pub(crate) fn set_handle(&self, handle: JoinHandle<()>) {
        *lock(&self.handle) = Some(handle);
    }

    /// Takes the handle back (a thread that failed to start).
    pub(crate) fn take_handle(&self) -> Option<JoinHandle<()>> {
        lock(&self.handle).take()
    }

    /// A guard the thread holds for its whole life: dropping it, even in an
    /// unwind, marks the thread as exited and wakes the joiners.
    pub(crate) fn exit_guard(self: &Arc<Self>) -> impl Drop + use<> {
        struct Exit(Arc<Thread>);
        impl Drop for Exit {
            fn drop(&mut self) {
                // Release: a joiner that sees the flag sees everything the
                // thread did before it.
                self.0.exited.store(true, Ordering::Release);
                self.0.exited_event.notify(usize::MAX);
            }
        }
        Exit(Arc::clone(self))
    }

    fn has_exited(&self) -> bool {
        self.exited.load(Ordering::Acquire)
    }

    /// Joins the thread once it has exited (at most a few instructions
    /// after the flag is set); a second joiner finds the handle gone.
    fn reap(&self) {
        let handle = lock(&self.handle).take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            report::error!("the daemon thread {:?} panicked", self.name);
        }
    }

    fn join_blocking(&self) {
        while !self.has_exited() {
            let listener = self.exited_event.listen();
            if self.has_exited() {
                break;
            }
            listener.wait();
        }
        self.reap();
    }

    async fn join(&self) {
        while !self.has_exited() {
            let listener = self.exited_event.listen();
            if self.has_exited() {
                break;
            }
            crate::engine::util::shielded(listener).await;
        }
        self.reap();
    }
}
