//! [`TaskPool`]: run async tasks with at most N running at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::builder::TaskBuilder;
use crate::engine::report::UnobservedFailure;
use crate::engine::rt::{Choice, Runtime};
use crate::engine::shared::{PoolConfig, PoolKind, PoolShared, UnobservedHook};
use crate::engine::stats::Stats;
use crate::error::{ConfigError, SubmitError, TrySubmitError};
use crate::fallible::Fallible;
use crate::handle::TaskHandle;
use crate::shutdown::{Shutdown, ShutdownMode};

/// Runs async tasks with at most `limit` of them running at once; the rest
/// wait in a FIFO queue.
///
/// `submit` returns a [`TaskHandle`] at once, from any thread, inside or
/// outside a runtime. Tasks run on the threads of the pool's
/// [`Runtime`]'s executor (async-std's global executor by default; see
/// [`TaskPoolBuilder::runtime`]; a [`DaemonExecutor`](crate::DaemonExecutor)
/// runs them on one dedicated thread instead): the pool's own workers, at
/// most one per executor thread, run them, rather than one runtime task per
/// pool task. The
/// limit is enforced with a channel of `limit` tokens: a task takes one
/// when it starts and its runner gives it back when the task ends, however
/// it ends — value, panic, cancel or timeout.
///
/// The pool is cheap to clone (an `Arc`); clones share the same limit and
/// queue. Dropping the last clone [closes](TaskPool::close) the pool:
/// queued tasks still run, in the background.
///
/// Python: `concurrent.futures.ThreadPoolExecutor(max_workers=limit)`, or
/// an `asyncio.Semaphore(limit)` wrapped around every coroutine.
///
/// # Examples
///
/// Limit the number of requests in flight:
///
/// ```
/// use taskpool::TaskPool;
///
/// let pool = TaskPool::new(2).unwrap();
/// let handles: Vec<_> = (0..5_u64)
///     .map(|i| pool.submit(async move { i * 10 }).unwrap())
///     .collect();
/// let results: Vec<u64> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
/// assert_eq!(results, [0, 10, 20, 30, 40]);
/// assert!(pool.stats().peak_running <= 2);
/// ```
pub struct TaskPool {
    shared: Arc<PoolShared>,
}

impl TaskPool {
    /// The largest limit (and queue capacity) a pool accepts: `usize::MAX
    /// >> 3`, as tokio's `Semaphore::MAX_PERMITS`. Any limit up to it costs
    /// the same to build, since the limiter counts its tokens rather than
    /// storing them; a larger one is refused with
    /// [`ConfigError::LimitTooLarge`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::TaskPool;
    ///
    /// let pool = TaskPool::new(TaskPool::MAX_LIMIT).unwrap();
    /// assert_eq!(pool.limit(), TaskPool::MAX_LIMIT);
    /// assert!(TaskPool::new(TaskPool::MAX_LIMIT + 1).is_err());
    /// ```
    pub const MAX_LIMIT: usize = crate::engine::limiter::MAX_LIMIT;

    /// A pool running at most `limit` tasks at once on its default runtime
    /// (see [`TaskPoolBuilder::runtime`]: the tokio runtime it is built in,
    /// else async-std's global executor, else the first enabled), with an
    /// unbounded queue.
    ///
    /// Building a pool takes the same time and memory whatever the limit.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] if `limit` is zero;
    /// [`ConfigError::LimitTooLarge`] if it is above
    /// [`MAX_LIMIT`](Self::MAX_LIMIT); [`ConfigError::RuntimeStart`] as for
    /// [`TaskPoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ConfigError, TaskPool};
    ///
    /// let pool = TaskPool::new(8).unwrap();
    /// assert_eq!(pool.limit(), 8);
    /// assert!(matches!(TaskPool::new(0), Err(ConfigError::ZeroLimit)));
    /// assert!(matches!(TaskPool::new(usize::MAX), Err(ConfigError::LimitTooLarge)));
    /// ```
    pub fn new(limit: usize) -> Result<TaskPool, ConfigError> {
        TaskPool::builder().limit(limit).build()
    }

    /// A builder, for a bounded queue or an unobserved-failure hook.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::builder().limit(4).queue_capacity(100).build().unwrap();
    /// assert_eq!(pool.limit(), 4);
    /// ```
    pub fn builder() -> TaskPoolBuilder {
        TaskPoolBuilder::default()
    }

    pub(crate) fn from_shared(shared: Arc<PoolShared>) -> TaskPool {
        // Relaxed: the count only decides who closes; closing synchronizes.
        shared.pool_handles.fetch_add(1, Ordering::Relaxed);
        TaskPool { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<PoolShared> {
        &self.shared
    }

    /// Submits a future; it starts when a permit is free and every task
    /// submitted before it (from this thread) has started. Python:
    /// `Executor.submit`, `asyncio.create_task`.
    ///
    /// Never blocks while the queue is unbounded (the default). With a
    /// [`queue_capacity`](TaskPoolBuilder::queue_capacity), it blocks the
    /// thread while the queue is full: from async code use
    /// [`submit_async`](TaskPool::submit_async) or
    /// [`try_submit`](TaskPool::try_submit).
    ///
    /// # Panics
    ///
    /// Panics if the queue is full and the caller is inside a pool task
    /// (blocking there can deadlock the executor: use
    /// [`submit_async`](TaskPool::submit_async) or
    /// [`try_submit`](TaskPool::try_submit)), or is the daemon thread of
    /// the executor that owns this pool.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed; the future comes back in it.
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
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { "hello" }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), "hello");
    /// ```
    pub fn submit<F>(&self, future: F) -> Result<TaskHandle<F::Output>, SubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Fallible + Send + 'static,
    {
        self.build_task().submit(future)
    }

    /// Submits a future without ever waiting.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] if the queue is full (only with a
    /// `queue_capacity`) or the pool is closed; the future comes back in it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.try_submit(async { 5 }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 5);
    /// ```
    pub fn try_submit<F>(&self, future: F) -> Result<TaskHandle<F::Output>, TrySubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Fallible + Send + 'static,
    {
        self.build_task().try_submit(future)
    }

    /// Submits a future from async code, waiting (without blocking the
    /// thread) while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed, or closes while this waits
    /// for queue space; the future comes back in it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future before it completes submits nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let outer = pool
    ///     .submit(async move { inner.submit_async(async { 21 }).await.unwrap().await.unwrap() * 2 })
    ///     .unwrap();
    /// assert_eq!(outer.wait().unwrap(), 42);
    /// ```
    pub async fn submit_async<F>(&self, future: F) -> Result<TaskHandle<F::Output>, SubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Fallible + Send + 'static,
    {
        self.build_task().submit_async(future).await
    }

    /// Runs a blocking closure on the runtime's blocking thread pool, under
    /// the same limit as every other task. Python: `asyncio.to_thread`,
    /// `ThreadPoolExecutor.submit(fn)`.
    ///
    /// A panic in the closure reaches the waiter as
    /// [`Panicked`](crate::TaskErrorKind::Panicked). A cancel before it
    /// starts means it never runs. A thread cannot be interrupted, so a
    /// closure whose task is cancelled or times out while running keeps
    /// running, and keeps its permit, until it returns: the limit counts
    /// closures at work.
    ///
    /// # Panics
    ///
    /// As [`submit`](TaskPool::submit).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed; the closure comes back in it.
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
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let handle = pool.submit_to_thread(|| std::fs::metadata(".").is_ok()).unwrap();
    /// assert!(handle.wait().unwrap());
    /// ```
    pub fn submit_to_thread<C, T>(&self, closure: C) -> Result<TaskHandle<T>, SubmitError<C>>
    where
        C: FnOnce() -> T + Send + 'static,
        T: Fallible + Send + 'static,
    {
        self.build_task().submit_to_thread(closure)
    }

    /// Per-task options (name, timeout), then a submit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool
    ///     .build_task()
    ///     .name("slow")
    ///     .timeout(Duration::from_millis(10))
    ///     .submit(std::future::pending::<()>())
    ///     .unwrap();
    /// assert!(handle.wait().unwrap_err().is_timeout());
    /// ```
    pub fn build_task(&self) -> TaskBuilder<'_> {
        TaskBuilder::new(&self.shared)
    }

    /// A snapshot of the pool's figures: cheap, exact, never blocked by a
    /// running task. Python has nothing like it (an executor hides its
    /// queue); tokio's nearest is `RuntimeMetrics`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(3).unwrap();
    /// pool.submit(async {}).unwrap().wait().unwrap();
    /// let stats = pool.stats();
    /// assert_eq!((stats.limit, stats.submitted, stats.completed), (3, 1, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The runtime the pool's tasks run on (for a
    /// [`DaemonExecutor`](crate::DaemonExecutor)'s pool, the one its
    /// thread runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// assert!(pool.runtime().is_enabled());
    /// ```
    pub fn runtime(&self) -> Runtime {
        self.shared.backend().runtime()
    }

    /// The current limit on running tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(taskpool::TaskPool::new(5).unwrap().limit(), 5);
    /// ```
    pub fn limit(&self) -> usize {
        self.shared.limiter().limit()
    }

    /// Changes the limit while tasks run.
    ///
    /// Growing starts queued tasks at once. Shrinking never stops a running
    /// task: no new task starts until fewer than the new limit are running.
    /// Python's executors cannot be resized; tokio's nearest is
    /// `Semaphore::add_permits` / `forget_permits`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] for a limit of zero,
    /// [`ConfigError::LimitTooLarge`] above [`MAX_LIMIT`](Self::MAX_LIMIT);
    /// the limit is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// pool.set_limit(10).unwrap();
    /// assert_eq!(pool.limit(), 10);
    /// assert!(pool.set_limit(0).is_err());
    /// assert!(pool.set_limit(taskpool::TaskPool::MAX_LIMIT + 1).is_err());
    /// assert_eq!(pool.limit(), 10);
    /// ```
    pub fn set_limit(&self, limit: usize) -> Result<(), ConfigError> {
        check_limit(limit)?;
        self.shared.set_limit(limit);
        Ok(())
    }

    /// Stops accepting tasks, without waiting: queued and running tasks go
    /// on in the background. Returns whether this call closed the pool.
    /// Python: `Executor.shutdown(wait=False)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let queued = pool.submit(async { 1 }).unwrap();
    /// assert!(pool.close());
    /// assert!(!pool.close(), "already closed");
    /// assert!(pool.submit(async { 2 }).is_err());
    /// assert_eq!(queued.wait().unwrap(), 1);
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// Whether the pool refuses new tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// assert!(!pool.is_closed());
    /// pool.close();
    /// assert!(pool.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Starts shutting the pool down in `mode`, and returns a [`Shutdown`]
    /// to wait (or `.await`) for the end. Idempotent; a second call may
    /// make the shutdown stricter. Python: `Executor.shutdown`.
    ///
    /// Called from inside one of this pool's own tasks, the shutdown starts
    /// and the returned [`Shutdown`] resolves at once: a task cannot wait
    /// for itself to end.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ShutdownMode, TaskPool};
    ///
    /// let pool = TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { 1 }).unwrap();
    /// pool.shutdown(ShutdownMode::Drain).wait();
    /// assert_eq!(handle.wait().unwrap(), 1);
    /// ```
    pub fn shutdown(&self, mode: ShutdownMode) -> Shutdown {
        self.shared.begin_shutdown(mode);
        Shutdown::new(Arc::clone(&self.shared))
    }
}

impl Clone for TaskPool {
    fn clone(&self) -> TaskPool {
        TaskPool::from_shared(Arc::clone(&self.shared))
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        // AcqRel: the last one out sees every other clone's work.
        if self.shared.pool_handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close();
        }
    }
}

impl fmt::Debug for TaskPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.shared, f)
    }
}

/// Refuses a limit no limiter can hold.
fn check_limit(limit: usize) -> Result<(), ConfigError> {
    match limit {
        0 => Err(ConfigError::ZeroLimit),
        l if l > TaskPool::MAX_LIMIT => Err(ConfigError::LimitTooLarge),
        _ => Ok(()),
    }
}

/// Python's default `max_workers`: `min(32, cpu_count + 4)`.
fn default_limit() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// Settings for a [`TaskPool`] (and, through
/// [`DaemonExecutorBuilder`](crate::DaemonExecutorBuilder), a daemon's pool).
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::builder()
///     .limit(16)
///     .queue_capacity(1_000)
///     .on_unobserved_failure(|failure| eprintln!("lost: {}", failure.message()))
///     .build()
///     .unwrap();
/// assert_eq!(pool.limit(), 16);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone)]
pub struct TaskPoolBuilder {
    limit: usize,
    queue_capacity: Option<usize>,
    on_unobserved: Option<UnobservedHook>,
    choice: Choice,
}

impl Default for TaskPoolBuilder {
    fn default() -> TaskPoolBuilder {
        TaskPoolBuilder {
            limit: default_limit(),
            queue_capacity: None,
            on_unobserved: None,
            choice: Choice::default(),
        }
    }
}

impl TaskPoolBuilder {
    /// The most tasks running at once. Defaults to Python's
    /// `min(32, cpu_count + 4)`. Zero, or more than
    /// [`TaskPool::MAX_LIMIT`], is refused by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::builder().limit(3).build().unwrap();
    /// assert_eq!(pool.limit(), 3);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Bounds the queue of tasks waiting for a permit (running tasks do not
    /// count). Without it the queue is unbounded: `submit` never blocks and
    /// memory grows with the backlog. When the queue is full, `submit`
    /// blocks, `submit_async` waits and `try_submit` refuses, like Python's
    /// `queue.Queue(maxsize)` (`put`, `put_nowait`) or tokio's bounded
    /// `mpsc` (`send`, `try_send`). Zero, or more than
    /// [`TaskPool::MAX_LIMIT`], is refused by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::builder().limit(1).queue_capacity(10).build().unwrap();
    /// # drop(pool);
    /// assert!(taskpool::TaskPool::builder().queue_capacity(0).build().is_err());
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Calls `hook` for each failure nobody observed — a panic, or an
    /// output that [`Fallible`](crate::Fallible) calls a failure (such as
    /// an `Err`), of a task whose handle was dropped without taking the
    /// outcome — right after the pool logs
    /// it. A panic in the hook is caught. Python: the event loop's
    /// exception handler for "Task exception was never retrieved".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// let pool = taskpool::TaskPool::builder()
    ///     .on_unobserved_failure(move |f| sink.lock().unwrap().push(f.task_id()))
    ///     .build()
    ///     .unwrap();
    /// let handle = pool.submit(async { panic!("nobody looks") as () }).unwrap();
    /// let id = handle.id();
    /// pool.shutdown(taskpool::ShutdownMode::Drain).wait();
    /// drop(handle);
    /// assert_eq!(*seen.lock().unwrap(), [id]);
    /// ```
    pub fn on_unobserved_failure<H>(mut self, hook: H) -> Self
    where
        H: Fn(&UnobservedFailure<'_>) + Send + Sync + 'static,
    {
        self.on_unobserved = Some(Arc::new(hook));
        self
    }

    /// The runtime the pool's tasks run on. Without this call: the tokio
    /// runtime `build` is called in, if the `tokio` feature is on and there
    /// is one; otherwise [`Runtime::preferred`] (the first enabled of
    /// async-std, tokio, smol). A runtime whose feature is off is refused
    /// by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{Runtime, TaskPool};
    ///
    /// let runtime = Runtime::preferred();
    /// let pool = TaskPool::builder().runtime(runtime).build().unwrap();
    /// assert_eq!(pool.runtime(), runtime);
    /// ```
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.choice.set_runtime(runtime);
        self
    }

    /// Runs the pool's tasks on the tokio runtime behind `handle` (feature
    /// `tokio`), from wherever the pool is built. Same as
    /// [`runtime(Runtime::Tokio)`](Self::runtime), on that runtime. Python:
    /// the `loop` argument of `asyncio.run_coroutine_threadsafe`.
    ///
    /// If that runtime shuts down while the pool lives, nothing can run on
    /// the pool any more: it closes (new submissions are refused, the
    /// future handed back), its tasks that have not finished end as
    /// cancelled, and waits, stats and shutdown keep working (its
    /// bookkeeping moves to a thread of its own).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let pool = taskpool::TaskPool::builder()
    ///     .tokio_handle(runtime.handle().clone())
    ///     .build()
    ///     .unwrap();
    /// let handle = pool.submit(async { tokio::task::yield_now().await; 7 }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 7);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.choice.set_tokio(handle);
        self
    }

    /// Runs the pool's tasks on `executor` (feature `smol`), which the
    /// caller's threads run (`Executor::run`); Python: the `loop` argument of
    /// `asyncio.run_coroutine_threadsafe`. Same as
    /// [`runtime(Runtime::Smol)`](Self::runtime), on that executor instead
    /// of smol's global one.
    ///
    /// The pool keeps the executor alive, and its tasks run only while
    /// some thread runs the executor: keep running it until the pool has
    /// shut down (until then, the pool's bookkeeping is a task on it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::Arc;
    ///
    /// let executor = Arc::new(smol::Executor::new());
    /// let pool = taskpool::TaskPool::builder()
    ///     .smol_executor(Arc::clone(&executor))
    ///     .build()
    ///     .unwrap();
    /// let handle = pool.submit(async { 7 }).unwrap();
    /// assert_eq!(smol::block_on(executor.run(handle)).unwrap(), 7);
    /// # }
    /// ```
    #[cfg(feature = "smol")]
    pub fn smol_executor(mut self, executor: Arc<smol::Executor<'static>>) -> Self {
        self.choice.set_smol(executor);
        self
    }

    /// What was asked of the runtime.
    pub(crate) fn choice(&self) -> &Choice {
        &self.choice
    }

    /// The validated settings.
    pub(crate) fn config(self) -> Result<PoolConfig, ConfigError> {
        check_limit(self.limit)?;
        match self.queue_capacity {
            Some(0) => return Err(ConfigError::ZeroQueueCapacity),
            Some(capacity) if capacity > TaskPool::MAX_LIMIT => return Err(ConfigError::QueueCapacityTooLarge),
            _ => {}
        }
        Ok(PoolConfig {
            limit: self.limit,
            queue_capacity: self.queue_capacity,
            on_unobserved: self.on_unobserved,
        })
    }

    /// Builds the pool. Its tasks run on its [`runtime`](Self::runtime).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroLimit`] or [`ConfigError::ZeroQueueCapacity`];
    /// [`ConfigError::LimitTooLarge`] or
    /// [`ConfigError::QueueCapacityTooLarge`] above
    /// [`TaskPool::MAX_LIMIT`]; [`ConfigError::RuntimeDisabled`] for a
    /// runtime whose feature is off; [`ConfigError::RuntimeStart`] if the
    /// pool runs on tokio outside any multi-threaded tokio runtime and the
    /// crate's own could not start.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ConfigError, TaskPool};
    ///
    /// assert!(TaskPool::builder().limit(2).build().is_ok());
    /// assert!(matches!(TaskPool::builder().limit(0).build(), Err(ConfigError::ZeroLimit)));
    /// ```
    pub fn build(self) -> Result<TaskPool, ConfigError> {
        let backend = self.choice.pool_backend()?;
        let shared = PoolShared::new(self.config()?, PoolKind::Global, backend);
        shared.start_driver();
        Ok(TaskPool::from_shared(shared))
    }
}

impl fmt::Debug for TaskPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskPoolBuilder")
            .field("limit", &self.limit)
            .field("queue_capacity", &self.queue_capacity)
            .field("on_unobserved_failure", &self.on_unobserved.is_some())
            .field("runtime", &self.choice)
            .finish()
    }
}
