//! Every public error of the crate.
//!
//! One type per operation family: [`TaskError`] for a task's outcome,
//! [`SubmitError`] and [`TrySubmitError`] for submitting (both hand the
//! rejected future back), [`WaitTimeoutError`] for a bounded wait (hands the
//! handle back) and [`ConfigError`] for a bad setting.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::handle::TaskHandle;
use crate::task::TaskId;

/// Why a task produced no value: it panicked, was cancelled, timed out, or
/// never ran because the pool shut down.
///
/// A task's own typed error is not a `TaskError`: a task whose output is
/// `Result<T, E>` delivers `Ok(Err(e))` to its waiter, untouched.
/// `TaskError` covers only what happened *to* the task. It works like
/// tokio's `JoinError`: a struct over a private representation, inspected
/// with [`kind`](TaskError::kind) or the `is_*` predicates; a panic's
/// payload can be resumed on the waiter's thread with
/// [`into_panic`](TaskError::into_panic).
///
/// Python: the exception `Future.result()` raises — the task's own one for
/// a panic, `CancelledError`, `TimeoutError`, or the "cannot schedule new
/// futures after shutdown" error.
///
/// # Examples
///
/// ```
/// use taskpool::{TaskErrorKind, TaskPool};
///
/// let pool = TaskPool::new(2).unwrap();
/// let handle = pool.submit(async { panic!("boom") }).unwrap();
/// let err = handle.wait().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.kind(), TaskErrorKind::Panicked);
/// assert_eq!(err.panic_message(), Some("boom"));
/// assert!(err.to_string().ends_with("panicked with message \"boom\""));
/// ```
pub struct TaskError {
    // Boxed: a task's outcome slot holds `Result<T, TaskError>` while it is
    // queued, so the error must stay one pointer wide (errors are rare).
    inner: Box<Inner>,
}

struct Inner {
    id: TaskId,
    name: Option<Arc<str>>,
    repr: Repr,
}

enum Repr {
    Panicked {
        message: Option<String>,
        // A Mutex makes the `Send`-only payload `Sync`, so `TaskError` is.
        payload: Mutex<Box<dyn Any + Send + 'static>>,
    },
    Cancelled,
    TimedOut(Duration),
    Shutdown,
}

/// What happened to a task that produced no value. See [`TaskError::kind`].
///
/// # Examples
///
/// ```
/// use taskpool::{TaskErrorKind, TaskPool};
///
/// let pool = TaskPool::new(1).unwrap();
/// let handle = pool.submit(std::future::pending::<()>()).unwrap();
/// assert!(handle.cancel());
/// assert_eq!(handle.wait().unwrap_err().kind(), TaskErrorKind::Cancelled);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskErrorKind {
    /// The task panicked; the payload is in the error.
    Panicked,
    /// The task was cancelled, by [`TaskHandle::cancel`] or by a shutdown
    /// deadline. Python: `CancelledError`.
    Cancelled,
    /// The task ran longer than its per-task timeout. Python:
    /// `asyncio.wait_for` raising `TimeoutError`.
    TimedOut,
    /// The task was still queued when the pool shut down (cancel-pending or
    /// deadline mode), so it never ran.
    Shutdown,
}

impl TaskError {
    fn new(id: TaskId, name: Option<Arc<str>>, repr: Repr) -> TaskError {
        TaskError {
            inner: Box::new(Inner { id, name, repr }),
        }
    }

    pub(crate) fn panicked(id: TaskId, name: Option<Arc<str>>, payload: Box<dyn Any + Send>) -> TaskError {
        let message = panic_message(payload.as_ref()).map(str::to_owned);
        let payload = Mutex::new(payload);
        TaskError::new(id, name, Repr::Panicked { message, payload })
    }

    pub(crate) fn cancelled(id: TaskId, name: Option<Arc<str>>) -> TaskError {
        TaskError::new(id, name, Repr::Cancelled)
    }

    pub(crate) fn timed_out(id: TaskId, name: Option<Arc<str>>, after: Duration) -> TaskError {
        TaskError::new(id, name, Repr::TimedOut(after))
    }

    pub(crate) fn shutdown(id: TaskId, name: Option<Arc<str>>) -> TaskError {
        TaskError::new(id, name, Repr::Shutdown)
    }

    /// The id of the task this error is about.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!() }).unwrap();
    /// let id = handle.id();
    /// assert_eq!(handle.wait().unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The task's name, if it was given one.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.build_task().name("fetch").submit(async { panic!() }).unwrap();
    /// assert_eq!(handle.wait().unwrap_err().name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// What happened to the task.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{TaskErrorKind, TaskPool};
    ///
    /// let pool = TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!() }).unwrap();
    /// assert_eq!(handle.wait().unwrap_err().kind(), TaskErrorKind::Panicked);
    /// ```
    pub fn kind(&self) -> TaskErrorKind {
        match self.inner.repr {
            Repr::Panicked { .. } => TaskErrorKind::Panicked,
            Repr::Cancelled => TaskErrorKind::Cancelled,
            Repr::TimedOut(_) => TaskErrorKind::TimedOut,
            Repr::Shutdown => TaskErrorKind::Shutdown,
        }
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!() }).unwrap();
    /// assert!(handle.wait().unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.repr, Repr::Panicked { .. })
    }

    /// Whether the task was cancelled (by its handle or a shutdown deadline).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// handle.cancel();
    /// assert!(handle.wait().unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.repr, Repr::Cancelled)
    }

    /// Whether the task ran past its per-task timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool
    ///     .build_task()
    ///     .timeout(Duration::from_millis(10))
    ///     .submit(std::future::pending::<()>())
    ///     .unwrap();
    /// let err = handle.wait().unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(err.timeout(), Some(Duration::from_millis(10)));
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.repr, Repr::TimedOut(_))
    }

    /// Whether the task never ran because the pool shut down first.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{DaemonExecutor, ShutdownMode};
    ///
    /// let executor = DaemonExecutor::new(1).unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = executor.submit(async move { let _ = rx; std::future::pending::<()>().await }).unwrap();
    /// let queued = executor.submit(async {}).unwrap();
    /// // Cancel what is queued; the running blocker is cancelled by the deadline.
    /// executor.shutdown(ShutdownMode::Deadline(std::time::Duration::ZERO));
    /// assert!(queued.wait().unwrap_err().is_shutdown());
    /// assert!(blocker.wait().unwrap_err().is_cancelled());
    /// drop(tx);
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self.inner.repr, Repr::Shutdown)
    }

    /// The per-task timeout that expired, for a timed-out task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool
    ///     .build_task()
    ///     .timeout(Duration::from_millis(5))
    ///     .submit(std::future::pending::<()>())
    ///     .unwrap();
    /// assert_eq!(handle.wait().unwrap_err().timeout(), Some(Duration::from_millis(5)));
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        match self.inner.repr {
            Repr::TimedOut(after) => Some(after),
            _ => None,
        }
    }

    /// The panic message, when the task panicked with a string payload (as
    /// `panic!("...")` does).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!("disk {} is full", 3) }).unwrap();
    /// assert_eq!(handle.wait().unwrap_err().panic_message(), Some("disk 3 is full"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.inner.repr {
            Repr::Panicked { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The panic payload, to resume the panic on the waiter's thread with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the task did not panic; use
    /// [`try_into_panic`](TaskError::try_into_panic) when unsure.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { std::panic::panic_any(42_u32) }).unwrap();
    /// let payload = handle.wait().unwrap_err().into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    /// // std::panic::resume_unwind(payload) would re-raise it here.
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => panic!("`TaskError::into_panic` called on an error that is not a panic: {err}"),
        }
    }

    /// The panic payload if the task panicked, or the error back otherwise.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` when the task did not panic.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// handle.cancel();
    /// let err = handle.wait().unwrap_err();
    /// assert!(err.try_into_panic().unwrap_err().is_cancelled());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.inner.repr {
            Repr::Panicked { payload, .. } => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            _ => Err(self),
        }
    }
}

/// The text of a panic payload, for the usual `&str` and `String` payloads.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// `task 7` or `task 7 (fetch)`: how messages name a task.
pub(crate) struct TaskLabel<'a>(pub(crate) TaskId, pub(crate) Option<&'a str>);

impl fmt::Display for TaskLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) => write!(f, "task {} ({name})", self.0),
            None => write!(f, "task {}", self.0),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = TaskLabel(self.inner.id, self.name());
        match &self.inner.repr {
            Repr::Panicked { message: Some(m), .. } => write!(f, "{task} panicked with message {m:?}"),
            Repr::Panicked { message: None, .. } => write!(f, "{task} panicked"),
            Repr::Cancelled => write!(f, "{task} was cancelled"),
            Repr::TimedOut(after) => write!(f, "{task} timed out after {after:?}"),
            Repr::Shutdown => write!(f, "{task} never ran: the pool shut down"),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TaskError");
        d.field("id", &self.inner.id).field("kind", &self.kind());
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        match &self.inner.repr {
            Repr::Panicked { message, .. } => d.field("message", message),
            Repr::TimedOut(after) => d.field("timeout", after),
            _ => &mut d,
        }
        .finish()
    }
}

impl std::error::Error for TaskError {}

/// Why a submission was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Closed,
    ZeroTimeout,
    Full,
    /// A local task submitted to a pool with no thread of its own.
    NoLocalThread,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Closed => "the pool is closed",
            Refusal::ZeroTimeout => "a per-task timeout must be greater than zero",
            Refusal::Full => "the pool's queue is full",
            Refusal::NoLocalThread => "local tasks need a pool with a thread of its own (a DaemonExecutor)",
        })
    }
}

/// A refused [`submit`](crate::TaskPool::submit): the pool is closed or the
/// per-task timeout is zero. The future (or closure) comes back with it, so
/// nothing is lost.
///
/// Python: the `RuntimeError` `Executor.submit` raises after `shutdown()`.
///
/// # Examples
///
/// ```
/// use taskpool::TaskPool;
///
/// let pool = TaskPool::new(1).unwrap();
/// pool.close();
/// let err = pool.submit(async { 7 }).unwrap_err();
/// assert!(err.is_closed());
/// // The very future we passed in comes back and can run elsewhere.
/// let other = TaskPool::new(1).unwrap();
/// assert_eq!(other.submit(err.into_inner()).unwrap().wait().unwrap(), 7);
/// ```
pub struct SubmitError<F> {
    refusal: Refusal,
    value: F,
}

impl<F> SubmitError<F> {
    /// `refusal` is never `Full`: only `try_submit` reports a full queue.
    pub(crate) fn new(refusal: Refusal, value: F) -> SubmitError<F> {
        debug_assert_ne!(refusal, Refusal::Full);
        SubmitError { refusal, value }
    }

    /// Whether the pool was closed (by `close`, a shutdown, or dropping it).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.close();
    /// assert!(pool.submit(async {}).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.refusal == Refusal::Closed
    }

    /// Whether the per-task timeout was zero, which would time the task out
    /// before it could start.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let err = pool.build_task().timeout(Duration::ZERO).submit(async {}).unwrap_err();
    /// assert!(err.is_invalid_timeout());
    /// ```
    pub fn is_invalid_timeout(&self) -> bool {
        self.refusal == Refusal::ZeroTimeout
    }

    /// Whether a local (`!Send`) task was submitted to a pool that has no
    /// thread of its own to run it on: only a
    /// [`DaemonExecutor`](crate::DaemonExecutor)'s pool has one.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let err = pool.build_task().submit_local(|| async { *std::rc::Rc::new(1) }).unwrap_err();
    /// assert!(err.is_unsupported());
    /// ```
    pub fn is_unsupported(&self) -> bool {
        self.refusal == Refusal::NoLocalThread
    }

    /// Gives back the future (or closure) that was not submitted.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.close();
    /// let job = async { "still here" };
    /// let back = pool.submit(job).unwrap_err().into_inner();
    /// # drop(back);
    /// ```
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitError")
            .field("reason", &self.refusal)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot submit: {}", self.refusal)
    }
}

impl<F> std::error::Error for SubmitError<F> {}

/// A refused [`try_submit`](crate::TaskPool::try_submit): the queue is full,
/// the pool is closed, or the per-task timeout is zero. The future comes
/// back with it.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::builder().limit(1).queue_capacity(1).build().unwrap();
/// let (started_tx, started_rx) = async_channel::bounded(1);
/// let (release_tx, release_rx) = async_channel::bounded::<()>(1);
/// let running = pool
///     .submit(async move {
///         started_tx.send(()).await.unwrap();
///         let _ = release_rx.recv().await;
///     })
///     .unwrap();
/// started_rx.recv_blocking().unwrap(); // the runner holds the only permit
/// let queued = pool.try_submit(async {}).unwrap(); // takes the only queue slot
/// let refused = pool.try_submit(async { 1 }).unwrap_err();
/// assert!(refused.is_full());
/// assert_eq!(refused.to_string(), "cannot submit: the pool's queue is full");
/// release_tx.send_blocking(()).unwrap();
/// running.wait().unwrap();
/// queued.wait().unwrap();
/// ```
pub struct TrySubmitError<F> {
    refusal: Refusal,
    value: F,
}

impl<F> TrySubmitError<F> {
    pub(crate) fn new(refusal: Refusal, value: F) -> TrySubmitError<F> {
        TrySubmitError { refusal, value }
    }

    /// Whether the queue was full (only with a `queue_capacity`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.close();
    /// assert!(!pool.try_submit(async {}).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.refusal == Refusal::Full
    }

    /// Whether the pool was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.close();
    /// assert!(pool.try_submit(async {}).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.refusal == Refusal::Closed
    }

    /// Whether the per-task timeout was zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let err = pool.build_task().timeout(std::time::Duration::ZERO).try_submit(async {}).unwrap_err();
    /// assert!(err.is_invalid_timeout());
    /// ```
    pub fn is_invalid_timeout(&self) -> bool {
        self.refusal == Refusal::ZeroTimeout
    }

    /// Gives back the future (or closure) that was not submitted.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.close();
    /// let back = pool.try_submit(async { 5 }).unwrap_err().into_inner();
    /// # drop(back);
    /// ```
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F> From<SubmitError<F>> for TrySubmitError<F> {
    fn from(e: SubmitError<F>) -> TrySubmitError<F> {
        TrySubmitError {
            refusal: e.refusal,
            value: e.value,
        }
    }
}

impl<F> fmt::Debug for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrySubmitError")
            .field("reason", &self.refusal)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot submit: {}", self.refusal)
    }
}

impl<F> std::error::Error for TrySubmitError<F> {}

/// A bounded wait ran out before the task finished. The handle comes back,
/// so the caller can wait again.
///
/// Python: the `TimeoutError` of `Future.result(timeout)`, after which the
/// future is still there to wait on.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(1).unwrap();
/// let (tx, rx) = async_channel::bounded(1);
/// let handle = pool.submit(async move { rx.recv().await.unwrap() }).unwrap();
/// let err = handle.wait_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.to_string(), format!("timed out waiting for task {}", err.handle().id()));
/// let handle = err.into_inner(); // still ours: wait again
/// tx.send_blocking(9).unwrap();
/// assert_eq!(handle.wait().unwrap(), 9);
/// ```
pub struct WaitTimeoutError<T> {
    handle: TaskHandle<T>,
}

impl<T> WaitTimeoutError<T> {
    pub(crate) fn new(handle: TaskHandle<T>) -> WaitTimeoutError<T> {
        WaitTimeoutError { handle }
    }

    /// The handle that was being waited on.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// let id = handle.id();
    /// let err = handle.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!(err.handle().id(), id);
    /// ```
    pub fn handle(&self) -> &TaskHandle<T> {
        &self.handle
    }

    /// Gives the handle back, to wait again or cancel.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// let handle = handle.wait_timeout(std::time::Duration::ZERO).unwrap_err().into_inner();
    /// assert!(handle.cancel());
    /// ```
    pub fn into_inner(self) -> TaskHandle<T> {
        self.handle
    }
}

impl<T> fmt::Debug for WaitTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitTimeoutError")
            .field("task", &self.handle.id())
            .finish()
    }
}

impl<T> fmt::Display for WaitTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out waiting for {}",
            TaskLabel(self.handle.id(), self.handle.name())
        )
    }
}

impl<T> std::error::Error for WaitTimeoutError<T> {}

/// A bad setting given to a builder, `new` or `set_limit`.
///
/// # Examples
///
/// ```
/// use taskpool::{ConfigError, TaskPool};
///
/// assert!(matches!(TaskPool::new(0), Err(ConfigError::ZeroLimit)));
/// assert_eq!(ConfigError::ZeroLimit.to_string(), "the limit must be at least 1");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A limit of zero would let no task run, ever.
    ZeroLimit,
    /// A queue capacity of zero would refuse every task.
    ZeroQueueCapacity,
    /// The daemon thread's name contains a NUL byte.
    InvalidThreadName,
    /// The operating system refused to start the daemon thread.
    ThreadSpawn(io::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroLimit => f.write_str("the limit must be at least 1"),
            ConfigError::ZeroQueueCapacity => f.write_str("the queue capacity must be at least 1"),
            ConfigError::InvalidThreadName => f.write_str("the thread name must not contain a NUL byte"),
            ConfigError::ThreadSpawn(_) => f.write_str("failed to spawn the daemon thread"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::ThreadSpawn(e) => Some(e),
            _ => None,
        }
    }
}
