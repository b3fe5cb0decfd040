//! [`DaemonExecutor`]: a pool whose tasks all run on one dedicated thread.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::{self, ThreadId};

use crate::engine::local::RunQueue;
use crate::engine::local::{self, is_daemon_thread_of};
use crate::engine::report::{self, UnobservedFailure};
use crate::engine::rt::{DaemonRuntime, Runtime};
use crate::engine::shared::{PoolKind, PoolShared};
use crate::error::{ConfigError, SubmitError};
use crate::fallible::Fallible;
use crate::handle::TaskHandle;
use crate::pool::{TaskPool, TaskPoolBuilder};
use crate::shutdown::{Shutdown, ShutdownMode, Thread};

/// The default name of the daemon thread.
///
/// # Examples
///
/// ```
/// let executor = taskpool::DaemonExecutor::new(1).unwrap();
/// let name = executor.pool().submit(async { std::thread::current().name().map(str::to_owned) }).unwrap();
/// assert_eq!(name.wait().unwrap().as_deref(), Some(taskpool::DEFAULT_THREAD_NAME));
/// ```
pub const DEFAULT_THREAD_NAME: &str = "taskpool-daemon";

/// Runs async tasks on one dedicated, named OS thread, at most `limit` at
/// once, for programs whose own code is synchronous.
///
/// The thread runs its [`Runtime`] (async-std's by default; a current-thread
/// tokio runtime, or smol's `block_on`: see
/// [`DaemonExecutorBuilder::runtime`]); every task submitted here executes
/// on it, whichever thread submitted it. Plain threads submit futures and
/// block on the returned [`TaskHandle`]s (with a timeout if they like);
/// async code can `.await` them.
///
/// # Shutdown
///
/// Dropping the executor shuts it down in [`Drain`](ShutdownMode::Drain)
/// mode: it stops accepting tasks, waits for every queued and running task
/// to finish, and joins the thread, so no thread is left behind. That wait
/// is unbounded if a task never ends; call
/// [`shutdown`](DaemonExecutor::shutdown) with
/// [`Deadline`](ShutdownMode::Deadline) first to bound it. If the executor
/// is dropped (or shut down) from inside one of its own tasks, the shutdown
/// starts and the call returns without waiting — a task cannot wait for
/// itself; the thread finishes the shutdown and exits on its own.
///
/// Python: the lab's `DaemonTaskExecutor` used in a `with` block; leaving
/// the block is dropping the executor. Submitting from a plain thread is
/// `asyncio.run_coroutine_threadsafe(coro, loop)`.
///
/// # Examples
///
/// ```
/// use taskpool::DaemonExecutor;
///
/// let executor = DaemonExecutor::new(3).unwrap();
/// let handles: Vec<_> = (0..10)
///     .map(|i| {
///         executor
///             .pool()
///             .submit(async move {
///                 let thread = std::thread::current().name().unwrap().to_owned();
///                 (i, thread)
///             })
///             .unwrap()
///     })
///     .collect();
/// for (i, handle) in handles.into_iter().enumerate() {
///     assert_eq!(handle.wait().unwrap(), (i, "taskpool-daemon".to_owned()));
/// }
/// drop(executor); // drains and joins the thread
/// ```
pub struct DaemonExecutor {
    pool: TaskPool,
    thread: Arc<Thread>,
    thread_id: ThreadId,
    thread_name: Arc<str>,
}

impl DaemonExecutor {
    /// Starts a daemon thread named `taskpool-daemon` running at most
    /// `limit` tasks at once, with an unbounded queue.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] if `limit` is zero;
    /// [`ConfigError::LimitTooLarge`] if it is above
    /// [`TaskPool::MAX_LIMIT`](crate::TaskPool::MAX_LIMIT);
    /// [`ConfigError::ThreadSpawn`] if the thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::new(3).unwrap();
    /// assert_eq!(executor.pool().limit(), 3);
    /// assert!(taskpool::DaemonExecutor::new(0).is_err());
    /// assert!(taskpool::DaemonExecutor::new(usize::MAX).is_err());
    /// ```
    pub fn new(limit: usize) -> Result<DaemonExecutor, ConfigError> {
        DaemonExecutor::builder().limit(limit).build()
    }

    /// A builder, for the thread's name, a bounded queue or a hook.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::builder()
    ///     .limit(2)
    ///     .thread_name("io-worker")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(executor.thread_name(), "io-worker");
    /// ```
    pub fn builder() -> DaemonExecutorBuilder {
        DaemonExecutorBuilder::default()
    }

    /// The pool that limits this executor's tasks. Clone it to submit from
    /// inside tasks; clones stay valid after the executor is gone, but
    /// refuse new tasks then.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::new(2).unwrap();
    /// let pool = executor.pool().clone();
    /// let handle = executor
    ///     .pool()
    ///     .submit(async move { pool.submit(async { 5 }).unwrap().await.unwrap() + 1 })
    ///     .unwrap();
    /// assert_eq!(handle.wait().unwrap(), 6);
    /// ```
    pub fn pool(&self) -> &TaskPool {
        &self.pool
    }

    /// Submits a task whose future is not `Send`: `make` (which is `Send`)
    /// builds it on the daemon thread, where every task runs anyway. See
    /// [`TaskBuilder::submit_local`](crate::TaskBuilder::submit_local); tokio's nearest peer is
    /// `LocalPoolHandle::spawn_pinned`.
    ///
    /// # Panics
    ///
    /// As [`TaskPool::submit`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the executor is closed; `make` comes back in it.
    ///
    /// # Blocking
    ///
    /// Blocks only when the pool has a
    /// [`queue_capacity`](crate::TaskPoolBuilder::queue_capacity) and its queue
    /// is full, until a slot frees (never with the default unbounded queue).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let executor = taskpool::DaemonExecutor::new(1).unwrap();
    /// let handle = executor
    ///     .submit_local(|| async {
    ///         let log = Rc::new(RefCell::new(Vec::new()));
    ///         log.borrow_mut().push("held across an await");
    ///         futures_timer::Delay::new(std::time::Duration::from_millis(1)).await;
    ///         log.borrow().len()
    ///     })
    ///     .unwrap();
    /// assert_eq!(handle.wait().unwrap(), 1);
    /// ```
    pub fn submit_local<C, F>(&self, make: C) -> Result<TaskHandle<F::Output>, SubmitError<C>>
    where
        C: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Fallible + Send + 'static,
    {
        self.pool.build_task().submit_local(make)
    }

    /// Starts a shutdown in `mode` and returns the [`Shutdown`] to wait
    /// for it; waiting also joins the daemon thread. Idempotent; a later
    /// call may make a running shutdown stricter. Python:
    /// `shutdown(wait=True)` is `shutdown(ShutdownMode::Drain).wait()`,
    /// `shutdown(cancel_futures=True)` is
    /// `shutdown(ShutdownMode::CancelPending).wait()`.
    ///
    /// This call never blocks; [`Shutdown::wait`] does (unbounded in
    /// `Drain` mode if a task never ends; `Deadline` bounds it). Waited
    /// for from inside one of the executor's own tasks, the `Shutdown`
    /// returns at once (a task cannot wait for itself); the thread finishes
    /// the shutdown by itself. [`TaskPool::shutdown`] on
    /// [`pool()`](DaemonExecutor::pool) stops the same pool but does not
    /// join the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{DaemonExecutor, ShutdownMode};
    ///
    /// let executor = DaemonExecutor::new(1).unwrap();
    /// let handle = executor.pool().submit(async { 1 }).unwrap();
    /// executor.shutdown(ShutdownMode::Drain).wait(); // drained, thread joined
    /// assert_eq!(handle.wait().unwrap(), 1);
    /// assert!(executor.pool().is_closed());
    /// ```
    pub fn shutdown(&self, mode: ShutdownMode) -> Shutdown {
        let shared = self.pool.shared();
        shared.begin_shutdown(mode);
        Shutdown::joining(Arc::clone(shared), Arc::clone(&self.thread))
    }

    /// The daemon thread's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::new(1).unwrap();
    /// assert_eq!(executor.thread_name(), taskpool::DEFAULT_THREAD_NAME);
    /// ```
    pub fn thread_name(&self) -> &str {
        &self.thread_name
    }

    /// The daemon thread's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::new(1).unwrap();
    /// let id = executor.pool().submit(async { std::thread::current().id() }).unwrap().wait().unwrap();
    /// assert_eq!(id, executor.thread_id());
    /// ```
    pub fn thread_id(&self) -> ThreadId {
        self.thread_id
    }
}

impl Drop for DaemonExecutor {
    fn drop(&mut self) {
        let shutdown = self.shutdown(ShutdownMode::Drain);
        // On the daemon thread (a task's future or output dropping the
        // executor), waiting would deadlock: the thread finishes by itself.
        if !is_daemon_thread_of(self.pool.shared().id()) {
            shutdown.wait();
        }
    }
}

impl fmt::Debug for DaemonExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.pool.stats();
        f.debug_struct("DaemonExecutor")
            .field("thread", &self.thread_name)
            .field("limit", &stats.limit)
            .field("running", &stats.running)
            .field("queued", &stats.queued)
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}

/// Settings for a [`DaemonExecutor`].
///
/// # Examples
///
/// ```
/// let executor = taskpool::DaemonExecutor::builder()
///     .limit(3)
///     .queue_capacity(100)
///     .thread_name("fetcher")
///     .build()
///     .unwrap();
/// assert_eq!(executor.thread_name(), "fetcher");
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone, Debug)]
pub struct DaemonExecutorBuilder {
    pool: TaskPoolBuilder,
    thread_name: String,
}

impl Default for DaemonExecutorBuilder {
    fn default() -> DaemonExecutorBuilder {
        DaemonExecutorBuilder {
            pool: TaskPoolBuilder::default(),
            thread_name: DEFAULT_THREAD_NAME.to_owned(),
        }
    }
}

impl DaemonExecutorBuilder {
    /// The most tasks running at once; see [`TaskPoolBuilder::limit`].
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::builder().limit(7).build().unwrap();
    /// assert_eq!(executor.pool().limit(), 7);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.pool = self.pool.limit(limit);
        self
    }

    /// Bounds the queue; see [`TaskPoolBuilder::queue_capacity`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(taskpool::DaemonExecutor::builder().queue_capacity(0).build().is_err());
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.pool = self.pool.queue_capacity(capacity);
        self
    }

    /// A hook for failures nobody observed; see
    /// [`TaskPoolBuilder::on_unobserved_failure`]. It runs on the daemon
    /// thread when a detached task fails; a panic in it is caught.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::builder()
    ///     .on_unobserved_failure(|f| eprintln!("never retrieved: {}", f.message()))
    ///     .build()
    ///     .unwrap();
    /// # drop(executor);
    /// ```
    pub fn on_unobserved_failure<H>(mut self, hook: H) -> Self
    where
        H: Fn(&UnobservedFailure<'_>) + Send + Sync + 'static,
    {
        self.pool = self.pool.on_unobserved_failure(hook);
        self
    }

    /// The runtime the daemon thread runs (see [`Runtime`] for what each
    /// one means there). Without this call, [`Runtime::preferred`]: the
    /// first enabled of async-std, tokio, smol. A runtime whose feature is
    /// off is refused by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ConfigError, DaemonExecutor, Runtime};
    ///
    /// let built = DaemonExecutor::builder().runtime(Runtime::Smol).build();
    /// match built {
    ///     Ok(executor) => assert_eq!(executor.pool().runtime(), Runtime::Smol),
    ///     Err(e) => assert!(matches!(e, ConfigError::RuntimeDisabled(Runtime::Smol))),
    /// }
    /// ```
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.pool = self.pool.runtime(runtime);
        self
    }

    /// The daemon thread's name (default `taskpool-daemon`). A name with a
    /// NUL byte is refused by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = taskpool::DaemonExecutor::builder().thread_name("DaemonThread").build().unwrap();
    /// let name = executor
    ///     .pool()
    ///     .submit(async { std::thread::current().name().map(str::to_owned) })
    ///     .unwrap()
    ///     .wait()
    ///     .unwrap();
    /// assert_eq!(name.as_deref(), Some("DaemonThread"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Starts the daemon thread and returns once its runtime is running.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`], [`ConfigError::ZeroQueueCapacity`],
    /// [`ConfigError::LimitTooLarge`], [`ConfigError::QueueCapacityTooLarge`],
    /// [`ConfigError::InvalidThreadName`],
    /// [`ConfigError::RuntimeDisabled`] for a runtime whose feature is off,
    /// [`ConfigError::ThreadSpawn`] if the OS refuses the thread, or
    /// [`ConfigError::RuntimeStart`] if its tokio runtime cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ConfigError, DaemonExecutor};
    ///
    /// let err = DaemonExecutor::builder().thread_name("bad\0name").build().unwrap_err();
    /// assert!(matches!(err, ConfigError::InvalidThreadName));
    /// ```
    pub fn build(self) -> Result<DaemonExecutor, ConfigError> {
        let choice = self.pool.choice().clone();
        let config = self.pool.config()?;
        if self.thread_name.contains('\0') {
            return Err(ConfigError::InvalidThreadName);
        }
        let runtime = choice.daemon_runtime()?;
        report::info!("DaemonExecutor is starting...");
        let shared = PoolShared::new(config, PoolKind::Daemon, runtime.backend());
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let driver = Arc::clone(&shared);
        let thread_name: Arc<str> = self.thread_name.as_str().into();
        let daemon_thread = Thread::new(Arc::clone(&thread_name));
        let exit = daemon_thread.exit_guard();
        let thread = thread::Builder::new()
            .name(self.thread_name)
            .spawn(move || {
                let _exit = exit;
                daemon_main(driver, runtime, ready_tx)
            })
            .map_err(ConfigError::ThreadSpawn)?;
        let thread_id = thread.thread().id();
        daemon_thread.set_handle(thread);
        // The thread signals once it is inside its runtime. If it died
        // before that, joining reports it.
        if ready_rx.recv().is_err() {
            if let Some(thread) = daemon_thread.take_handle() {
                let _ = thread.join();
            }
            return Err(ConfigError::ThreadSpawn(std::io::Error::other(
                "the daemon thread exited at start",
            )));
        }
        report::info!("DaemonExecutor is started");
        Ok(DaemonExecutor {
            thread_id,
            thread: daemon_thread,
            thread_name,
            pool: TaskPool::from_shared(shared),
        })
    }
}

/// The daemon thread: mark it, run the pool's driver, say goodbye.
fn daemon_main(shared: Arc<PoolShared>, runtime: DaemonRuntime, ready: mpsc::SyncSender<()>) {
    local::mark_daemon_thread_of(shared.id());
    let queue = RunQueue::new();
    shared.set_run_queue(Arc::clone(&queue));
    runtime.run(queue, || {
        let (shared, ready) = (Arc::clone(&shared), ready.clone());
        async move {
            let _ = ready.try_send(());
            shared.drive().await;
        }
    });
    report::info!("DaemonExecutor is stopped");
}
