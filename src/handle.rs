//! [`TaskHandle`]: the waiter's end of a task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::engine::task::{Job, TAKEN_TWICE, TaskCore, TaskId, TaskRef};
use crate::engine::util::deadline_after;
use crate::error::{TaskError, WaitTimeoutError};

/// An owned permission to wait for a task's outcome, and to cancel it.
///
/// Returned by every `submit`. It is a [`Future`] for async code and has
/// blocking waits for plain threads: [`wait`](TaskHandle::wait),
/// [`wait_timeout`](TaskHandle::wait_timeout) and
/// [`wait_deadline`](TaskHandle::wait_deadline). The outcome is
/// `Ok(value)` — the task's own output, untouched, so a task returning
/// `Result<T, E>` gives `Ok(Err(e))` — or a [`TaskError`] saying it
/// panicked, was cancelled, timed out or never ran.
///
/// Dropping the handle detaches the task: it keeps running, and its
/// outcome is discarded (a failure nobody looked at is logged once).
///
/// The timed waits borrow the handle, so after one runs out the handle is
/// still there to wait on again, cancel or `.await`. To cancel from another
/// thread while this one waits, give that thread a
/// [`CancelHandle`](TaskHandle::cancel_handle).
///
/// Python: `concurrent.futures.Future` (`result(timeout)`, `cancel()`,
/// `done()`, `running()`), or an awaitable `asyncio.Task`.
///
/// # Deadlock hazard
///
/// A blocking wait parks the calling thread. On a [`DaemonExecutor`]'s own
/// thread that would stop every task, including the one being waited for,
/// so a blocking wait there panics at once with a clear message (the pool
/// delivers that panic as the calling task's outcome). Inside tasks, use
/// `.await`. Inside a task of any pool, a blocking wait would stall an
/// executor thread, and once every thread does so nothing runs: a wait
/// that would block there panics too, naming `.await` (as tokio's
/// `block_on` panics inside a runtime). A blocking closure
/// ([`submit_to_thread`](crate::TaskPool::submit_to_thread)) runs on a
/// thread of its own and may wait.
///
/// [`DaemonExecutor`]: crate::DaemonExecutor
///
/// # Examples
///
/// The seed lab's loop: wait one second at a time, saying so, until the
/// task is done.
///
/// ```
/// use std::time::Duration;
/// use taskpool::DaemonExecutor;
///
/// let executor = DaemonExecutor::new(3).unwrap();
/// let mut handle = executor
///     .pool()
///     .submit(async {
///         futures_timer::Delay::new(Duration::from_millis(30)).await;
///         "KEK"
///     })
///     .unwrap();
/// let outcome = loop {
///     match handle.wait_timeout(Duration::from_millis(10)) {
///         Ok(outcome) => break outcome,
///         Err(_elapsed) => println!("Waiting for task {}", handle.id()),
///     }
/// };
/// assert_eq!(outcome.unwrap(), "KEK");
/// ```
pub struct TaskHandle<T> {
    task: Arc<dyn TaskRef<T>>,
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(task: Arc<dyn TaskRef<T>>) -> TaskHandle<T> {
        TaskHandle { task }
    }

    /// The task's id, as shown in logs and errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async {}).unwrap();
    /// println!("submitted task {}", handle.id());
    /// # assert!(handle.id().as_u64() > 0);
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.core().id()
    }

    /// The task's name, if it was given one with
    /// [`TaskBuilder::name`](crate::TaskBuilder::name).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.build_task().name("fetch").submit(async {}).unwrap();
    /// assert_eq!(handle.name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.task.core().name()
    }

    /// Whether the task has ended (its outcome is ready). Python:
    /// `Future.done()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// assert!(!handle.is_finished());
    /// handle.cancel();
    /// // The runner publishes `Cancelled` once it has dropped the future.
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert!(handle.wait().unwrap_err().is_cancelled());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.core().is_finished()
    }

    /// Whether the task has started and not yet ended. Python:
    /// `Future.running()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let (started_tx, started_rx) = async_channel::bounded(1);
    /// let handle = pool
    ///     .submit(async move {
    ///         started_tx.send(()).await.unwrap();
    ///         std::future::pending::<()>().await
    ///     })
    ///     .unwrap();
    /// started_rx.recv_blocking().unwrap();
    /// assert!(handle.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.task.core().is_running()
    }

    /// Cancels the task. Returns whether its outcome is, or will be,
    /// [`Cancelled`](crate::TaskErrorKind::Cancelled).
    ///
    /// A queued task never starts: it ends at once. A running task is
    /// dropped at its next `.await` point (its outcome is published once
    /// it has been dropped; its permit goes back right after). Cancelling again is a
    /// no-op that returns `true`; cancelling a task that already ended
    /// otherwise returns `false`. Unlike Python's `Future.cancel()`, a
    /// running task *can* be cancelled, as with `asyncio.Task.cancel()`.
    ///
    /// A task stuck in a loop that never awaits cannot be interrupted: the
    /// cancel takes effect at its next await.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// assert!(handle.cancel());
    /// assert!(handle.cancel(), "idempotent");
    /// assert!(handle.wait().unwrap_err().is_cancelled());
    ///
    /// let done = pool.submit(async { 1 }).unwrap();
    /// while !done.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert!(!done.cancel(), "already finished with a value");
    /// ```
    pub fn cancel(&self) -> bool {
        Arc::clone(&self.task).cancel()
    }

    /// A handle that can only cancel this task, for another thread to hold
    /// while this one waits. Cheap to clone; it keeps nothing alive but
    /// the task's bookkeeping. Python has no split: a `Future` is shared.
    /// tokio's peer is `JoinHandle::abort_handle`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// let canceller = handle.cancel_handle();
    /// std::thread::spawn(move || canceller.cancel());
    /// let outcome = loop {
    ///     match handle.wait_timeout(Duration::from_millis(10)) {
    ///         Ok(outcome) => break outcome,
    ///         Err(_) => continue, // still running: keep waiting
    ///     }
    /// };
    /// assert!(outcome.unwrap_err().is_cancelled());
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle {
            task: Arc::clone(&self.task).job(),
        }
    }

    /// Blocks until the task ends and returns its outcome. Python:
    /// `Future.result()`.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of the
    /// executor that runs this task (see the [type docs](TaskHandle)).
    /// Panics with "`TaskHandle` polled after its outcome was taken" if the
    /// outcome was already taken (by a timed wait or an `.await` through
    /// `&mut handle` that returned it).
    ///
    /// # Errors
    ///
    /// Returns the [`TaskError`] if the task panicked, was cancelled, timed
    /// out or never ran because of a shutdown.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the task ends (after a few yields, in case
    /// it is about to). In async code, `.await` the handle instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { 6 * 7 }).unwrap();
    /// assert_eq!(handle.wait().unwrap(), 42);
    /// ```
    pub fn wait(self) -> Result<T, TaskError> {
        match self.wait_until(None) {
            Ok(outcome) => outcome,
            Err(_) => unreachable!("a wait without a deadline cannot time out"),
        }
    }

    /// Blocks until the task ends or `timeout` passes. Python:
    /// `Future.result(timeout)`.
    ///
    /// `Duration::ZERO` only checks, never blocks; a timeout too large to
    /// represent (such as `Duration::MAX`) waits forever.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of the
    /// executor that runs this task (see the [type docs](TaskHandle)).
    /// Panics with "`TaskHandle` polled after its outcome was taken" if the
    /// outcome was already taken (by a timed wait or an `.await` through
    /// `&mut handle` that returned it).
    ///
    /// # Errors
    ///
    /// The outer error is a [`WaitTimeoutError`] if the task had not ended
    /// in time; the handle is untouched: wait again, cancel or drop it. The
    /// inner `Result` is the task's outcome, as [`wait`](TaskHandle::wait)
    /// returns it.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the task ends or `timeout` passes;
    /// `Duration::ZERO` only checks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// assert!(handle.wait_timeout(Duration::from_millis(5)).is_err());
    /// handle.cancel();
    /// assert!(handle.wait_timeout(Duration::MAX).unwrap().unwrap_err().is_cancelled());
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Result<T, TaskError>, WaitTimeoutError> {
        match deadline_after(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => self.wait_until(None),
        }
    }

    /// Blocks until the task ends or `deadline` passes.
    ///
    /// A deadline already in the past only checks, never blocks.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of the
    /// executor that runs this task (see the [type docs](TaskHandle)).
    /// Panics with "`TaskHandle` polled after its outcome was taken" if the
    /// outcome was already taken.
    ///
    /// # Errors
    ///
    /// The outer error is a [`WaitTimeoutError`] if the task had not ended
    /// by `deadline`; the handle is untouched.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the task ends or `deadline` passes; a
    /// deadline in the past only checks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut handle = pool.submit(async { "ok" }).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// assert_eq!(handle.wait_deadline(deadline).unwrap().unwrap(), "ok");
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Result<Result<T, TaskError>, WaitTimeoutError> {
        self.wait_until(Some(deadline))
    }

    /// The one blocking wait the others call.
    ///
    /// The handle's waker slot takes a waker that unparks this thread. A
    /// task that is about to end (the common case when many are waited
    /// for in a row) is first given a few yields, which saves the park and
    /// unpark system calls.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<Result<T, TaskError>, WaitTimeoutError> {
        let core = self.task.core();
        if let Some(outcome) = self.take_if_finished() {
            return Ok(outcome);
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(self.elapsed());
        }
        if crate::engine::local::is_daemon_thread_of(core.pool().id()) {
            panic!(
                "a blocking wait on {} was called on the daemon thread that runs it, which would deadlock; \
                 use `.await` inside tasks",
                core.label()
            );
        }
        crate::engine::run::forbid_blocking_in_task(
            format_args!("a blocking wait on {}", core.label()),
            "`.await` the handle instead",
        );
        for _ in 0..SPIN_YIELDS {
            std::thread::yield_now();
            if let Some(outcome) = self.take_if_finished() {
                return Ok(outcome);
            }
        }
        let waker = crate::engine::util::thread_waker();
        loop {
            // Register, then check: an outcome published in between wakes
            // the waker just registered.
            self.task.core().awaiter.register(&waker);
            if let Some(outcome) = self.take_if_finished() {
                return Ok(outcome);
            }
            match deadline {
                None => std::thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(self.elapsed());
                    }
                    std::thread::park_timeout(deadline - now);
                }
            }
        }
    }

    fn elapsed(&self) -> WaitTimeoutError {
        let core = self.task.core();
        WaitTimeoutError::task(core.id(), core.name_arc())
    }

    fn take_if_finished(&self) -> Option<Result<T, TaskError>> {
        let core = self.task.core();
        if !core.is_finished() {
            return None;
        }
        Some(self.task.take().expect(TAKEN_TWICE))
    }
}

/// Crate-internal access for the combinators that wait on many handles
/// (`crate::many`).
impl<T> TaskHandle<T> {
    pub(crate) fn core(&self) -> &TaskCore {
        self.task.core()
    }

    /// The task's classifier (its output's `Fallible::failure`).
    pub(crate) fn classifier(&self) -> crate::engine::task::Classifier<T> {
        self.task.classifier()
    }

    /// The task itself, to cancel it without the handle.
    pub(crate) fn task_ref(&self) -> Arc<dyn TaskRef<T>> {
        Arc::clone(&self.task)
    }

    /// The outcome of a task known to be finished, without blocking; `None`
    /// if it is not finished.
    pub(crate) fn take_finished(self) -> Option<Result<T, TaskError>> {
        self.take_if_finished()
    }
}

/// How many times a blocking wait yields the thread, re-checking, before
/// it parks: about the time a short task takes to end.
const SPIN_YIELDS: u32 = 8;

impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    /// # Panics
    ///
    /// Panics with "`TaskHandle` polled after its outcome was taken" if
    /// polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let core = self.task.core();
        if !core.is_finished() {
            // Register, then check: see `wait_until`.
            core.awaiter.register(cx.waker());
            if !core.is_finished() {
                return Poll::Pending;
            }
        }
        let outcome = self.task.take().expect(TAKEN_TWICE);
        Poll::Ready(outcome)
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

/// Cancels one task; nothing else. Get it from
/// [`TaskHandle::cancel_handle`].
///
/// Dropping it does nothing to the task.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(1).unwrap();
/// let handle = pool.submit(std::future::pending::<()>()).unwrap();
/// let canceller = handle.cancel_handle();
/// assert_eq!(canceller.id(), handle.id());
/// assert!(canceller.cancel());
/// assert!(handle.wait().unwrap_err().is_cancelled());
/// assert!(canceller.is_finished());
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    task: Arc<dyn Job>,
}

impl CancelHandle {
    /// Cancels the task; see [`TaskHandle::cancel`], which this matches
    /// call for call.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let done = pool.submit(async { 1 }).unwrap();
    /// let canceller = done.cancel_handle();
    /// assert_eq!(done.wait().unwrap(), 1);
    /// assert!(!canceller.cancel(), "it already ended with a value");
    /// ```
    pub fn cancel(&self) -> bool {
        Arc::clone(&self.task).cancel()
    }

    /// Whether the task has ended, however it did.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(std::future::pending::<()>()).unwrap();
    /// let canceller = handle.cancel_handle();
    /// assert!(!canceller.is_finished());
    /// canceller.cancel();
    /// handle.wait().unwrap_err();
    /// assert!(canceller.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_done()
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async {}).unwrap();
    /// assert_eq!(handle.cancel_handle().id(), handle.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("id", &self.task.id())
            .field("finished", &self.task.is_done())
            .finish()
    }
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.task.core();
        let mut d = f.debug_struct("TaskHandle");
        d.field("id", &core.id());
        if let Some(name) = core.name() {
            d.field("name", &name);
        }
        let state = if core.is_finished() {
            "finished"
        } else if core.is_running() {
            "running"
        } else {
            "queued"
        };
        d.field("state", &state).finish()
    }
}
