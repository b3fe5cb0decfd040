//! [`TaskBuilder`]: per-task options (name, timeout) and the
//! submit family that takes them.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::run::{BlockingFn, LocalFn, Spawned};
use crate::engine::shared::PoolKind;
use crate::engine::shared::{Admit, PoolShared};
use crate::engine::task::TaskOptions;
use crate::error::Refusal;
use crate::error::{SubmitError, TrySubmitError};
use crate::fallible::Fallible;
use crate::handle::TaskHandle;

/// Options for one task, then a submit.
///
/// Get one from [`TaskPool::build_task`](crate::TaskPool::build_task) (a
/// daemon's pool: `executor.pool().build_task()`). It
/// has the same submit family as the pool, each taking the options set
/// here: [`submit`](TaskBuilder::submit),
/// [`try_submit`](TaskBuilder::try_submit),
/// [`submit_async`](TaskBuilder::submit_async) and
/// [`submit_to_thread`](TaskBuilder::submit_to_thread). Python has no
/// builder; the options map to `asyncio.create_task(name=...)` and
/// `asyncio.wait_for(timeout=...)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(4).unwrap();
/// let handle = pool
///     .build_task()
///     .name("fetch")
///     .timeout(Duration::from_secs(30))
///     .submit(async { 200 })
///     .unwrap();
/// assert_eq!(handle.name(), Some("fetch"));
/// assert_eq!(handle.wait().unwrap(), 200);
/// ```
#[must_use = "a task builder does nothing until one of its submit methods is called"]
pub struct TaskBuilder<'a> {
    shared: &'a Arc<PoolShared>,
    name: Option<Arc<str>>,
    timeout: Option<Duration>,
}

impl<'a> TaskBuilder<'a> {
    pub(crate) fn new(shared: &'a Arc<PoolShared>) -> TaskBuilder<'a> {
        TaskBuilder {
            shared,
            name: None,
            timeout: None,
        }
    }

    /// Names the task, for logs, errors and `Debug`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.build_task().name(format!("job-{}", 7)).submit(async {}).unwrap();
    /// assert_eq!(handle.name(), Some("job-7"));
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Gives the task a run-time limit, like `asyncio.wait_for`. The clock
    /// starts when the task gets its permit, so time spent queued is never
    /// charged. When it expires the task is dropped at its next await, its
    /// permit comes back, and its handle yields
    /// [`TimedOut`](crate::TaskErrorKind::TimedOut).
    ///
    /// A zero timeout is refused when submitting (the future comes back
    /// with the error). A timeout of a hundred years or more means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool
    ///     .build_task()
    ///     .timeout(Duration::from_millis(20))
    ///     .submit(std::future::pending::<()>())
    ///     .unwrap();
    /// assert!(handle.wait().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn options(&self) -> TaskOptions {
        TaskOptions {
            name: self.name.clone(),
            timeout: self.timeout,
        }
    }

    /// Submits a future; see [`TaskPool::submit`](crate::TaskPool::submit).
    ///
    /// # Panics
    ///
    /// As [`TaskPool::submit`](crate::TaskPool::submit).
    ///
    /// # Errors
    ///
    /// As [`TaskPool::submit`](crate::TaskPool::submit), and a zero timeout;
    /// the future comes back in the error.
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
    /// let handle = pool.build_task().name("one").submit(async { 1 }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 1);
    /// ```
    pub fn submit<F>(self, future: F) -> Result<TaskHandle<F::Output>, SubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        F::Output: Fallible,
    {
        let options = self.options();
        self.shared
            .submit(Spawned::new(future), options, Admit::Block)
            .map(TaskHandle::new)
            .map_err(|(refusal, payload)| SubmitError::new(refusal, payload.into_inner()))
    }

    /// Submits a future without ever waiting; see
    /// [`TaskPool::try_submit`](crate::TaskPool::try_submit).
    ///
    /// # Errors
    ///
    /// As [`TaskPool::try_submit`](crate::TaskPool::try_submit), and a zero
    /// timeout; the future comes back in the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.build_task().name("t").try_submit(async { 2 }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 2);
    /// ```
    pub fn try_submit<F>(self, future: F) -> Result<TaskHandle<F::Output>, TrySubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        F::Output: Fallible,
    {
        let options = self.options();
        self.shared
            .submit(Spawned::new(future), options, Admit::Try)
            .map(TaskHandle::new)
            .map_err(|(refusal, payload)| TrySubmitError::new(refusal, payload.into_inner()))
    }

    /// Submits a future, waiting asynchronously for queue space; see
    /// [`TaskPool::submit_async`](crate::TaskPool::submit_async).
    ///
    /// # Errors
    ///
    /// As [`TaskPool::submit_async`](crate::TaskPool::submit_async), and a
    /// zero timeout; the future comes back in the error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future before it completes submits nothing
    /// (the task's future is dropped with it).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let inner = pool.clone();
    /// let outer = pool
    ///     .submit(async move {
    ///         let child = inner.build_task().name("child").submit_async(async { 3 }).await.unwrap();
    ///         child.await.unwrap() * 2
    ///     })
    ///     .unwrap();
    /// assert_eq!(outer.wait().unwrap(), 6);
    /// ```
    pub async fn submit_async<F>(self, future: F) -> Result<TaskHandle<F::Output>, SubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        F::Output: Fallible,
    {
        let options = self.options();
        self.shared
            .submit_async(Spawned::new(future), options)
            .await
            .map(TaskHandle::new)
            .map_err(|(refusal, payload)| SubmitError::new(refusal, payload.into_inner()))
    }

    /// Submits a blocking closure; see
    /// [`TaskPool::submit_to_thread`](crate::TaskPool::submit_to_thread).
    ///
    /// # Panics
    ///
    /// As [`TaskPool::submit`](crate::TaskPool::submit).
    ///
    /// # Errors
    ///
    /// As [`TaskPool::submit`](crate::TaskPool::submit), and a zero timeout;
    /// the closure comes back in the error.
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
    /// let handle = pool.build_task().name("hash").submit_to_thread(|| 2 + 2).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 4);
    /// ```
    pub fn submit_to_thread<C, T>(self, closure: C) -> Result<TaskHandle<T>, SubmitError<C>>
    where
        C: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
        T: Fallible,
    {
        let options = self.options();
        self.shared
            .submit(BlockingFn(closure), options, Admit::Block)
            .map(TaskHandle::new)
            .map_err(|(refusal, payload)| SubmitError::new(refusal, payload.0))
    }

    /// Submits a task whose future is not `Send` (it holds an `Rc`, say):
    /// the `Send` closure `make` is sent to the daemon thread and builds
    /// the future there, where it stays. Only a
    /// [`DaemonExecutor`](crate::DaemonExecutor)'s pool has a thread of its
    /// own; tokio's nearest peer is `LocalPoolHandle::spawn_pinned`.
    ///
    /// A panic in `make` is the task's panic.
    ///
    /// # Panics
    ///
    /// As [`TaskPool::submit`](crate::TaskPool::submit).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed, the timeout is zero, or the
    /// pool is not a daemon's ([`is_unsupported`](SubmitError::is_unsupported));
    /// `make` comes back in it.
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
    /// use std::rc::Rc;
    ///
    /// let executor = taskpool::DaemonExecutor::new(2).unwrap();
    /// let handle = executor
    ///     .pool()
    ///     .build_task()
    ///     .name("local")
    ///     .submit_local(|| async {
    ///         let shared = Rc::new(5); // not Send: fine on the daemon thread
    ///         let copy = Rc::clone(&shared);
    ///         *shared + *copy
    ///     })
    ///     .unwrap();
    /// assert_eq!(handle.wait().unwrap(), 10);
    /// ```
    pub fn submit_local<C, F>(self, make: C) -> Result<TaskHandle<F::Output>, SubmitError<C>>
    where
        C: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
        F::Output: Fallible,
    {
        if self.shared.kind() != PoolKind::Daemon {
            return Err(SubmitError::new(Refusal::NoLocalThread, make));
        }
        let options = self.options();
        self.shared
            .submit(LocalFn(make), options, Admit::Block)
            .map(TaskHandle::new)
            .map_err(|(refusal, payload)| SubmitError::new(refusal, payload.0))
    }
}

impl fmt::Debug for TaskBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskBuilder")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish()
    }
}
