//! Every public error of the crate.
//!
//! One type per operation family: [`TaskError`] for a task's outcome,
//! [`SubmitError`] and [`TrySubmitError`] for submitting (both hand the
//! rejected future back), [`WaitTimeoutError`] for a bounded wait (hands the
//! handle back) and [`ConfigError`] for a bad setting.
//!
//! Waiting on many tasks adds [`TaskFailure`] (one task's failure, from
//! `try_join_all` and a group), [`GroupError`], [`AsCompletedError`] (a
//! task's failure, or the timeout handing the unfinished handles back) and
//! [`MapError`]; their timed waits share [`WaitTimeoutError`].

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::engine::rt::Unavailable;
use crate::engine::task::{Classifier, TaskId};
use crate::handle::TaskHandle;

pub(crate) use crate::engine::outcome::{Refusal, TaskLabel};
pub use crate::engine::outcome::{TaskError, TaskErrorKind};

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

    /// The same refusal, with the refused value changed by `f`.
    pub(crate) fn map_inner<G>(self, f: impl FnOnce(F) -> G) -> SubmitError<G> {
        SubmitError {
            refusal: self.refusal,
            value: f(self.value),
        }
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

/// A blocking wait ran out of time; what was waited on is still yours.
///
/// Returned by the timed waits of [`TaskHandle`](crate::TaskHandle),
/// [`JoinAll`](crate::JoinAll), [`TryJoinAll`](crate::TryJoinAll) and
/// [`TaskGroup`](crate::TaskGroup). Those waits borrow what they wait on,
/// so this error carries nothing but what it reports: wait again, cancel,
/// or drop. Python: `concurrent.futures.TimeoutError` from
/// `Future.result(timeout)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(1).unwrap();
/// let (tx, rx) = async_channel::bounded(1);
/// let mut handle = pool.submit(async move { rx.recv().await.unwrap() }).unwrap();
/// let err = handle.wait_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.to_string(), format!("timed out waiting for task {}", handle.id()));
/// tx.send_blocking(9).unwrap(); // the handle is still ours: wait again
/// assert_eq!(handle.wait().unwrap(), 9);
/// ```
#[derive(Clone, Debug)]
pub struct WaitTimeoutError {
    waited: Waited,
}

#[derive(Clone, Debug)]
enum Waited {
    Task(TaskId, Option<Arc<str>>),
    Many { unfinished: usize, total: usize },
}

impl WaitTimeoutError {
    pub(crate) fn task(id: TaskId, name: Option<Arc<str>>) -> WaitTimeoutError {
        WaitTimeoutError {
            waited: Waited::Task(id, name),
        }
    }

    pub(crate) fn many(unfinished: usize, total: usize) -> WaitTimeoutError {
        WaitTimeoutError {
            waited: Waited::Many { unfinished, total },
        }
    }

    /// How many of the tasks waited on had not finished (1 for a single
    /// handle).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let mut join = taskpool::join_all([stuck]);
    /// let err = join.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!((err.unfinished(), err.total()), (1, 1));
    /// ```
    pub fn unfinished(&self) -> usize {
        match self.waited {
            Waited::Task(..) => 1,
            Waited::Many { unfinished, .. } => unfinished,
        }
    }

    /// How many tasks were waited on (1 for a single handle).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// assert_eq!(handle.wait_timeout(std::time::Duration::ZERO).unwrap_err().total(), 1);
    /// ```
    pub fn total(&self) -> usize {
        match self.waited {
            Waited::Task(..) => 1,
            Waited::Many { total, .. } => total,
        }
    }
}

impl fmt::Display for WaitTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.waited {
            Waited::Task(id, name) => write!(f, "timed out waiting for {}", TaskLabel(*id, name.as_deref())),
            Waited::Many { unfinished, total } => {
                write!(f, "timed out with {unfinished} of {total} tasks unfinished")
            }
        }
    }
}

impl std::error::Error for WaitTimeoutError {}

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
    /// The limit is above [`TaskPool::MAX_LIMIT`](crate::TaskPool::MAX_LIMIT).
    LimitTooLarge,
    /// The queue capacity is above
    /// [`TaskPool::MAX_LIMIT`](crate::TaskPool::MAX_LIMIT).
    QueueCapacityTooLarge,
    /// A [`map`](crate::TaskPool::map) buffer of zero would never submit
    /// an item.
    ZeroBuffer,
    /// The daemon thread's name contains a NUL byte.
    InvalidThreadName,
    /// The operating system refused to start the daemon's thread.
    ThreadSpawn(io::Error),
    /// A runtime the executor needs could not be started: the tokio
    /// runtime of a daemon on tokio, or the one a `TaskPool` on tokio runs
    /// on when it is built outside any multi-threaded tokio runtime (its
    /// I/O or time driver failed, or the OS refused its threads).
    RuntimeStart(io::Error),
    /// The builder was asked for a runtime whose cargo feature is off in
    /// this build (see [`Runtime::is_enabled`](crate::Runtime::is_enabled)).
    RuntimeDisabled(crate::Runtime),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroLimit => f.write_str("the limit must be at least 1"),
            ConfigError::ZeroQueueCapacity => f.write_str("the queue capacity must be at least 1"),
            ConfigError::LimitTooLarge => {
                write!(f, "the limit must be at most {}", crate::TaskPool::MAX_LIMIT)
            }
            ConfigError::QueueCapacityTooLarge => {
                write!(f, "the queue capacity must be at most {}", crate::TaskPool::MAX_LIMIT)
            }
            ConfigError::ZeroBuffer => f.write_str("the map buffer must be at least 1"),
            ConfigError::InvalidThreadName => f.write_str("the thread name must not contain a NUL byte"),
            ConfigError::ThreadSpawn(_) => f.write_str("failed to spawn the executor's thread"),
            ConfigError::RuntimeStart(_) => f.write_str("failed to start the executor's runtime"),
            ConfigError::RuntimeDisabled(runtime) => write!(
                f,
                "the {runtime:?} runtime is not enabled: turn on taskpool's `{}` feature",
                runtime.feature()
            ),
        }
    }
}

impl From<Unavailable> for ConfigError {
    fn from(unavailable: Unavailable) -> ConfigError {
        match unavailable {
            Unavailable::Disabled(runtime) => ConfigError::RuntimeDisabled(runtime),
            Unavailable::Failed(error) => ConfigError::RuntimeStart(error),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::ThreadSpawn(e) | ConfigError::RuntimeStart(e) => Some(e),
            _ => None,
        }
    }
}

// ----- waiting on many tasks -----

/// One task's failure, as [`try_join_all`](crate::try_join_all) and
/// [`TaskGroup`](crate::TaskGroup) report it: the task's position in the
/// input (or in submission order), its id, and its outcome.
///
/// The outcome is either a [`TaskError`] (the task panicked, was
/// cancelled, timed out, or never ran) or the task's own value, when that
/// value counts as a failure under [`Fallible`](crate::Fallible) — an
/// `Err`, say, handed back untouched. No opt-in is needed: a `Result`
/// output's `Err` always counts.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let handles = vec![
///     pool.submit(async { Ok(1) }).unwrap(),
///     pool.submit(async { Err("no route") }).unwrap(),
/// ];
/// let failure = taskpool::try_join_all(handles).wait().unwrap_err();
/// assert_eq!(failure.index(), 1);
/// assert!(failure.is_value());
/// assert_eq!(failure.value(), Some(&Err("no route")));
/// assert!(failure.to_string().ends_with("failed: \"no route\""));
/// assert!(format!("{failure:?}").contains("failure: \"no route\""));
/// ```
pub struct TaskFailure<T> {
    index: usize,
    id: TaskId,
    name: Option<Arc<str>>,
    outcome: Result<T, TaskError>,
    classify: Classifier<T>,
}

impl<T> TaskFailure<T> {
    /// The failure of a finished task, taken from its handle.
    pub(crate) fn from_finished(index: usize, handle: TaskHandle<T>) -> TaskFailure<T> {
        match TaskFailure::take(index, handle, Err::<std::convert::Infallible, T>) {
            Ok(never) => match never {},
            Err(failure) => failure,
        }
    }

    /// Takes a finished task's outcome. A value goes to `success`, which
    /// turns it into a success or gives it back as a failure; an outcome
    /// without a value is a failure.
    pub(crate) fn take<S>(
        index: usize,
        handle: TaskHandle<T>,
        success: impl FnOnce(T) -> Result<S, T>,
    ) -> Result<S, TaskFailure<T>> {
        let id = handle.id();
        let name = handle.core().name_arc();
        let classify = handle.classifier();
        let outcome = match handle
            .take_finished()
            .expect("a failure is built only from a finished task's handle")
        {
            Ok(value) => match success(value) {
                Ok(success) => return Ok(success),
                Err(value) => Ok(value),
            },
            Err(e) => Err(e),
        };
        Err(TaskFailure {
            index,
            id,
            name,
            outcome,
            classify,
        })
    }

    /// The task's position: in the input of `try_join_all`, or in the
    /// group's submission order.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handles = vec![pool.submit(async {}).unwrap(), pool.submit(async { panic!() as () }).unwrap()];
    /// assert_eq!(taskpool::try_join_all(handles).wait().unwrap_err().index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!() as () }).unwrap();
    /// let id = handle.id();
    /// assert_eq!(taskpool::try_join_all([handle]).wait().unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!("boom") as () }).unwrap();
    /// assert!(taskpool::try_join_all([handle]).wait().unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        self.task_error().is_some_and(TaskError::is_panic)
    }

    /// Whether the task returned a value that counts as a failure (an
    /// `Err`), rather than ending without a value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { Err::<(), _>(7) }).unwrap();
    /// assert!(taskpool::try_join_all([handle]).wait().unwrap_err().is_value());
    /// ```
    pub fn is_value(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The [`TaskError`], if the task ended without a value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// handle.cancel();
    /// let failure = taskpool::try_join_all([handle]).wait().unwrap_err();
    /// assert!(failure.task_error().unwrap().is_cancelled());
    /// ```
    pub fn task_error(&self) -> Option<&TaskError> {
        self.outcome.as_ref().err()
    }

    /// The task's value, if it returned one that counts as a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { "x".parse::<u8>() }).unwrap();
    /// let failure = taskpool::try_join_all([handle]).wait().unwrap_err();
    /// assert!(failure.value().unwrap().is_err());
    /// ```
    pub fn value(&self) -> Option<&T> {
        self.outcome.as_ref().ok()
    }

    /// The task's outcome, as its handle would have given it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { Err::<u8, _>("bad") }).unwrap();
    /// let outcome = taskpool::try_join_all([handle]).wait().unwrap_err().into_outcome();
    /// assert_eq!(outcome.unwrap(), Err("bad"));
    /// ```
    pub fn into_outcome(self) -> Result<T, TaskError> {
        self.outcome
    }
}

impl<T> fmt::Debug for TaskFailure<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TaskFailure");
        d.field("index", &self.index).field("id", &self.id);
        match &self.outcome {
            // The value's own failure, through `Fallible`: no `T: Debug`.
            Ok(value) => match (self.classify)(value) {
                Some(failure) => d.field("failure", failure),
                None => d.field("failure", &format_args!("_")),
            },
            Err(e) => d.field("error", e),
        };
        d.finish()
    }
}

impl<T> fmt::Display for TaskFailure<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = TaskLabel(self.id, self.name.as_deref());
        match &self.outcome {
            Err(e) => fmt::Display::fmt(e, f),
            Ok(value) => match (self.classify)(value) {
                Some(failure) => write!(f, "{task} failed: {failure:?}"),
                None => write!(f, "{task} failed"),
            },
        }
    }
}

impl<T> std::error::Error for TaskFailure<T> {}

/// A [`TaskGroup`](crate::TaskGroup) failed: every failure that happened,
/// in the order the tasks ended.
///
/// The first failure made the group cancel its other tasks; the ones it
/// cancelled are not listed. The others listed are tasks that failed
/// before the cancellation reached them, or that the pool ended (a
/// shutdown). Python: the `ExceptionGroup` a `TaskGroup` raises; Go:
/// `errgroup.Wait`'s first error, with the rest kept.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let group = pool.task_group();
/// group.submit(async { Ok(1) }).unwrap();
/// group.submit(async { Err("disk full") }).unwrap();
/// let err = group.wait().unwrap_err();
/// assert_eq!(err.failures().len(), 1);
/// assert_eq!(err.first().index(), 1);
/// assert_eq!(err.first().value(), Some(&Err("disk full")));
/// assert!(err.to_string().ends_with("failed: \"disk full\""));
/// ```
pub struct GroupError<T> {
    failures: Vec<TaskFailure<T>>,
}

impl<T> GroupError<T> {
    /// `failures` is never empty.
    pub(crate) fn new(failures: Vec<TaskFailure<T>>) -> GroupError<T> {
        debug_assert!(!failures.is_empty());
        GroupError { failures }
    }

    /// Every failure, in the order the tasks ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group::<Result<(), ()>>();
    /// group.submit(async { panic!("boom") as Result<(), ()> }).unwrap();
    /// assert!(group.wait().unwrap_err().failures()[0].is_panic());
    /// ```
    pub fn failures(&self) -> &[TaskFailure<T>] {
        &self.failures
    }

    /// The failure that made the group cancel the rest: the first to end.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.submit(async { Err::<(), _>(404) }).unwrap();
    /// assert_eq!(group.wait().unwrap_err().first().value(), Some(&Err(404)));
    /// ```
    pub fn first(&self) -> &TaskFailure<T> {
        &self.failures[0]
    }

    /// Takes the failures out, in the order the tasks ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.submit(async { Err::<(), _>("e") }).unwrap();
    /// let failures = group.wait().unwrap_err().into_failures();
    /// assert_eq!(failures[0].value(), Some(&Err("e")));
    /// ```
    pub fn into_failures(self) -> Vec<TaskFailure<T>> {
        self.failures
    }
}

impl<T> fmt::Debug for GroupError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError").field("failures", &self.failures).finish()
    }
}

impl<T> fmt::Display for GroupError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.first(), f)?;
        match self.failures.len() {
            1 => Ok(()),
            2 => f.write_str(", and 1 more task failed"),
            n => write!(f, ", and {} more tasks failed", n - 1),
        }
    }
}

impl<T> std::error::Error for GroupError<T> {}

/// What an [`as_completed`](crate::as_completed) iteration yields instead
/// of a value: a task that ended without one (the iteration goes on), or
/// the overall timeout (the iteration ends).
///
/// A task that panicked, was cancelled, timed out or never ran comes as
/// this error with its input position ([`index`](AsCompletedError::index))
/// and its [`TaskError`]; the next item is the next task to finish. A
/// task's own typed `Err` is a value, not this error: it comes as
/// `Ok((index, Err(e)))`. When the timeout passes, the handles not yielded
/// yet come back, each with its input position, so nothing is lost: wait
/// on them again, or cancel them; the iteration ends after that error.
///
/// Python: in `for f in as_completed(fs, timeout): f.result()`, both the
/// task's exception and the iterator's `TimeoutError` are raised in the
/// same loop; Python keeps the futures, this hands them back.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(3).unwrap();
/// let handles = vec![
///     pool.submit(std::future::pending::<u8>()).unwrap(),
///     pool.submit(async { 1_u8 }).unwrap(),
///     pool.submit(async { panic!("boom") as u8 }).unwrap(),
/// ];
/// while !(handles[1].is_finished() && handles[2].is_finished()) {
///     std::thread::yield_now();
/// }
/// let mut results = taskpool::as_completed(handles).timeout(Duration::from_millis(20));
/// assert_eq!(results.next().unwrap().unwrap(), (1, 1)); // finished ones first, in input order
/// let failed = results.next().unwrap().unwrap_err();
/// assert_eq!(failed.index(), Some(2));
/// assert!(failed.task_error().unwrap().is_panic());
/// let err = results.next().unwrap().unwrap_err();
/// assert!(err.is_timeout());
/// assert_eq!(err.to_string(), "timed out with 1 task unfinished");
/// let unfinished = err.into_inner();
/// assert_eq!(unfinished[0].0, 0);
/// assert!(unfinished[0].1.cancel());
/// assert!(results.next().is_none());
/// ```
pub struct AsCompletedError<T> {
    repr: AsCompletedRepr<T>,
}

enum AsCompletedRepr<T> {
    /// The task at this input position ended without a value.
    Task(usize, TaskError),
    /// The timeout passed; the handles not yielded, in input order.
    TimedOut(Vec<(usize, TaskHandle<T>)>),
}

impl<T> AsCompletedError<T> {
    pub(crate) fn task(index: usize, error: TaskError) -> AsCompletedError<T> {
        AsCompletedError {
            repr: AsCompletedRepr::Task(index, error),
        }
    }

    pub(crate) fn timed_out(unfinished: Vec<(usize, TaskHandle<T>)>) -> AsCompletedError<T> {
        AsCompletedError {
            repr: AsCompletedRepr::TimedOut(unfinished),
        }
    }

    /// Whether the iteration ran out of time (and so ends), rather than a
    /// task ending without a value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let mut it = taskpool::as_completed([stuck]).timeout(std::time::Duration::ZERO);
    /// assert!(it.next().unwrap().unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.repr, AsCompletedRepr::TimedOut(_))
    }

    /// The input position of the task that ended without a value; `None`
    /// for the timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handles = vec![pool.submit(async { 1 }).unwrap(), pool.submit(async { panic!() }).unwrap()];
    /// let failed = taskpool::as_completed(handles).find_map(Result::err).unwrap();
    /// assert_eq!(failed.index(), Some(1));
    /// ```
    pub fn index(&self) -> Option<usize> {
        match &self.repr {
            AsCompletedRepr::Task(index, _) => Some(*index),
            AsCompletedRepr::TimedOut(_) => None,
        }
    }

    /// Why the task ended without a value; `None` for the timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// handle.cancel();
    /// let err = taskpool::as_completed([handle]).next().unwrap().unwrap_err();
    /// assert!(err.task_error().unwrap().is_cancelled());
    /// ```
    pub fn task_error(&self) -> Option<&TaskError> {
        match &self.repr {
            AsCompletedRepr::Task(_, error) => Some(error),
            AsCompletedRepr::TimedOut(_) => None,
        }
    }

    /// Takes out why the task ended without a value (to resume its panic,
    /// say); `None` for the timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { panic!("boom") as () }).unwrap();
    /// let err = taskpool::as_completed([handle]).next().unwrap().unwrap_err();
    /// assert_eq!(err.into_task_error().unwrap().panic_message(), Some("boom"));
    /// ```
    pub fn into_task_error(self) -> Option<TaskError> {
        match self.repr {
            AsCompletedRepr::Task(_, error) => Some(error),
            AsCompletedRepr::TimedOut(_) => None,
        }
    }

    /// The handles not yielded when time ran out, with their input
    /// positions, in input order; empty for a task's failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let id = stuck.id();
    /// let mut it = taskpool::as_completed([stuck]).timeout(std::time::Duration::ZERO);
    /// let err = it.next().unwrap().unwrap_err();
    /// assert_eq!(err.unfinished()[0].1.id(), id);
    /// ```
    pub fn unfinished(&self) -> &[(usize, TaskHandle<T>)] {
        match &self.repr {
            AsCompletedRepr::Task(..) => &[],
            AsCompletedRepr::TimedOut(unfinished) => unfinished,
        }
    }

    /// Gives back the handles not yielded when time ran out, with their
    /// input positions; empty for a task's failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let mut it = taskpool::as_completed([stuck]).timeout(std::time::Duration::ZERO);
    /// for (_, handle) in it.next().unwrap().unwrap_err().into_inner() {
    ///     assert!(handle.cancel());
    /// }
    /// ```
    pub fn into_inner(self) -> Vec<(usize, TaskHandle<T>)> {
        match self.repr {
            AsCompletedRepr::Task(..) => Vec::new(),
            AsCompletedRepr::TimedOut(unfinished) => unfinished,
        }
    }
}

impl<T> fmt::Debug for AsCompletedError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AsCompletedError");
        match &self.repr {
            AsCompletedRepr::Task(index, error) => d.field("index", index).field("error", error),
            AsCompletedRepr::TimedOut(unfinished) => {
                let ids: Vec<TaskId> = unfinished.iter().map(|(_, h)| h.id()).collect();
                d.field("unfinished", &ids)
            }
        };
        d.finish()
    }
}

impl<T> fmt::Display for AsCompletedError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            AsCompletedRepr::Task(index, error) => write!(f, "item {index}: {error}"),
            AsCompletedRepr::TimedOut(unfinished) => match unfinished.len() {
                1 => f.write_str("timed out with 1 task unfinished"),
                n => write!(f, "timed out with {n} tasks unfinished"),
            },
        }
    }
}

impl<T> std::error::Error for AsCompletedError<T> {}

/// What a [`map`](crate::TaskPool::map) iteration yields instead of an
/// item's value: the item's task ended without a value (the iteration goes
/// on), the overall timeout passed, or the pool refused to take the next
/// item (it was closed, or the per-item
/// [`task_timeout`](crate::MapIter::task_timeout) is zero). After a
/// timeout or a refusal the iteration ends. Each comes at the position of
/// its item ([`index`](MapError::index)).
///
/// A task's own typed `Err` is a value, not this error: it comes as
/// `Ok(Err(e))`.
///
/// Python: the exception that `Executor.map`'s iterator re-raises for an
/// item, its `TimeoutError`, or the `RuntimeError` of submitting after
/// shutdown.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let mut results = pool
///     .map(["never ready", "never asked for"], 1, |_| std::future::pending::<()>())
///     .unwrap()
///     .timeout(Duration::from_millis(20));
/// let err = results.next().unwrap().unwrap_err();
/// assert!(err.is_timeout());
/// assert_eq!(err.index(), 0);
/// assert_eq!(err.to_string(), "map timed out waiting for item 0");
/// assert!(results.next().is_none());
/// ```
pub struct MapError<F> {
    index: usize,
    repr: MapRepr<F>,
}

enum MapRepr<F> {
    /// The item's task ended without a value.
    Task(TaskError),
    TimedOut,
    Refused(SubmitError<F>),
}

impl<F> MapError<F> {
    pub(crate) fn task(index: usize, error: TaskError) -> MapError<F> {
        MapError {
            index,
            repr: MapRepr::Task(error),
        }
    }

    pub(crate) fn timed_out(index: usize) -> MapError<F> {
        MapError {
            index,
            repr: MapRepr::TimedOut,
        }
    }

    pub(crate) fn refused(index: usize, error: SubmitError<F>) -> MapError<F> {
        MapError {
            index,
            repr: MapRepr::Refused(error),
        }
    }

    /// The item's position in the input: the item whose task failed, or
    /// the first item not delivered.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([()], 1, |_| std::future::pending::<()>()).unwrap().timeout(std::time::Duration::ZERO);
    /// assert_eq!(it.next().unwrap().unwrap_err().index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Why the item's task ended without a value (it panicked, was
    /// cancelled, timed out, or never ran); `None` if the map itself ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([0, 1], 1, |i| async move { assert_eq!(i, 0); i }).unwrap();
    /// assert_eq!(it.next().unwrap().unwrap(), 0);
    /// let err = it.next().unwrap().unwrap_err();
    /// assert!(err.task_error().unwrap().is_panic());
    /// assert!(it.next().is_none()); // the input had two items
    /// ```
    pub fn task_error(&self) -> Option<&TaskError> {
        match &self.repr {
            MapRepr::Task(error) => Some(error),
            _ => None,
        }
    }

    /// Takes out why the item's task ended without a value; `None` if the
    /// map itself ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([()], 1, |_| async { panic!("boom") as () }).unwrap();
    /// let error = it.next().unwrap().unwrap_err().into_task_error().unwrap();
    /// assert_eq!(error.panic_message(), Some("boom"));
    /// ```
    pub fn into_task_error(self) -> Option<TaskError> {
        match self.repr {
            MapRepr::Task(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the map's overall timeout passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([()], 1, |_| std::future::pending::<()>()).unwrap().timeout(std::time::Duration::ZERO);
    /// assert!(it.next().unwrap().unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.repr, MapRepr::TimedOut)
    }

    /// Whether the pool was closed, so the item could not be submitted.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([1], 1, |i| async move { i }).unwrap();
    /// pool.close();
    /// assert!(it.next().unwrap().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(&self.repr, MapRepr::Refused(e) if e.is_closed())
    }

    /// Whether the item could not be submitted because the per-item
    /// [`task_timeout`](crate::MapIter::task_timeout) is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([1], 1, |i| async move { i }).unwrap().task_timeout(std::time::Duration::ZERO);
    /// assert!(it.next().unwrap().unwrap_err().is_invalid_timeout());
    /// ```
    pub fn is_invalid_timeout(&self) -> bool {
        matches!(&self.repr, MapRepr::Refused(e) if e.is_invalid_timeout())
    }

    /// Gives back the future the pool refused, if that is what ended the
    /// map.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut it = pool.map([5], 1, |i| async move { i * 2 }).unwrap();
    /// pool.close();
    /// let future = it.next().unwrap().unwrap_err().into_inner().unwrap();
    /// let other = taskpool::TaskPool::new(1).unwrap();
    /// assert_eq!(other.submit(future).unwrap().wait().unwrap(), 10);
    /// ```
    pub fn into_inner(self) -> Option<F> {
        match self.repr {
            MapRepr::Refused(e) => Some(e.into_inner()),
            _ => None,
        }
    }
}

impl<F> fmt::Debug for MapError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MapError");
        d.field("index", &self.index);
        match &self.repr {
            MapRepr::Task(error) => d.field("error", error),
            MapRepr::TimedOut => d.field("timed_out", &true),
            MapRepr::Refused(e) => d.field("refused", &e.refusal),
        };
        d.finish()
    }
}

impl<F> fmt::Display for MapError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            MapRepr::Task(error) => write!(f, "map item {}: {error}", self.index),
            MapRepr::TimedOut => write!(f, "map timed out waiting for item {}", self.index),
            MapRepr::Refused(e) => write!(f, "map could not submit item {}: {}", self.index, e.refusal),
        }
    }
}

impl<F> std::error::Error for MapError<F> {}
