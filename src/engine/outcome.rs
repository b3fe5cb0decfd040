//! A task's outcome as the engine produces it: [`TaskError`] for what
//! happened to a task, and why a submission was refused.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::task::TaskId;

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
/// A caught panic has still run the process's panic hook at the panic
/// site, so the default hook prints its message to stderr, as for a
/// panicking tokio task; the README's "Caught panics still print" shows a
/// hook that keeps planned panics quiet.
///
/// # Examples
///
/// ```
/// use taskpool::{TaskErrorKind, TaskPool};
///
/// let pool = TaskPool::new(2).unwrap();
/// let handle = pool.submit(async { panic!("boom") as () }).unwrap();
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
    /// The task was cancelled, by [`TaskHandle::cancel`](crate::TaskHandle::cancel) or by a shutdown
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
    /// let handle = pool.submit(async { panic!() as () }).unwrap();
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
    /// let handle = pool.build_task().name("fetch").submit(async { panic!() as () }).unwrap();
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
    /// let handle = pool.submit(async { panic!() as () }).unwrap();
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
    /// let handle = pool.submit(async { panic!() as () }).unwrap();
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
    /// let blocker = executor.pool().submit(async move { let _ = rx; std::future::pending::<()>().await }).unwrap();
    /// let queued = executor.pool().submit(async {}).unwrap();
    /// // Cancel what is queued; the running blocker is cancelled by the deadline.
    /// executor.shutdown(ShutdownMode::Deadline(std::time::Duration::ZERO)).wait();
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
    /// let handle = pool.submit(async { panic!("disk {} is full", 3) as () }).unwrap();
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
    /// let handle = pool.submit(async { std::panic::panic_any(42_u32) as () }).unwrap();
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
