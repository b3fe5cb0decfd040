//! [`join_all`] and [`try_join_all`]: every outcome in input order, or the
//! first failure with the siblings cancelled.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::watch::Watch;
use super::{block_or_time_out, pools_of};
use crate::engine::shared::PoolId;
use crate::engine::stats::Ended;
use crate::engine::util::deadline_after;
use crate::error::{TaskError, TaskFailure, WaitTimeoutError};
use crate::fallible::Fallible;
use crate::handle::TaskHandle;

/// What both joins share: the handles, in input order, and a watch on them.
struct Joiner<T> {
    /// `None` once its outcome was taken.
    handles: Vec<Option<TaskHandle<T>>>,
    pools: Vec<PoolId>,
    watch: Watch,
    /// The output was handed out.
    finished: bool,
}

impl<T> Joiner<T> {
    fn new(handles: impl IntoIterator<Item = TaskHandle<T>>) -> Joiner<T> {
        let handles: Vec<TaskHandle<T>> = handles.into_iter().collect();
        let mut watch = Watch::new();
        for handle in &handles {
            watch.add(handle.core());
        }
        Joiner {
            pools: pools_of(handles.iter().map(TaskHandle::core)),
            handles: handles.into_iter().map(Some).collect(),
            watch,
            finished: false,
        }
    }

    fn check_not_finished(&self) {
        assert!(!self.finished, "a join was polled after it returned `Ready`");
    }

    /// Every outcome, in input order, once all tasks have finished.
    fn poll_all(&mut self, cx: &mut Context<'_>) -> Poll<Vec<Result<T, TaskError>>> {
        self.check_not_finished();
        loop {
            match self.watch.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(_)) => {}
                Poll::Ready(None) => break,
            }
        }
        self.finished = true;
        let outcomes = self
            .handles
            .iter_mut()
            .map(|slot| {
                let handle = slot.take().expect("each outcome is taken once");
                handle.take_finished().expect("every task has finished")
            })
            .collect();
        Poll::Ready(outcomes)
    }

    /// Every success in input order; or, at the first task that ends
    /// without a value or with a failure value, that failure, the others
    /// cancelled.
    fn poll_values(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<T::Success>, TaskFailure<T>>>
    where
        T: Fallible,
    {
        self.check_not_finished();
        loop {
            match self.watch.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => break,
                Poll::Ready(Some(index)) => {
                    let slot = &mut self.handles[index];
                    let ended = slot.as_ref().expect("each task is reported once").core().ended();
                    if ended == Some(Ended::Completed) {
                        continue;
                    }
                    let failed = slot.take().expect("each task is reported once");
                    crate::engine::task::cancel_batch(self.handles.iter().flatten().map(TaskHandle::task_ref));
                    self.finished = true;
                    return Poll::Ready(Err(TaskFailure::from_finished(index, failed)));
                }
            }
        }
        self.finished = true;
        let mut values = Vec::with_capacity(self.handles.len());
        for (index, slot) in self.handles.iter_mut().enumerate() {
            let handle = slot.take().expect("each outcome is taken once");
            // Every task completed with a value that is not a failure: a
            // task that ended any other way was returned above. A
            // `Fallible` impl whose `into_success` disagrees with its
            // `failure` still gets its value back as a failure.
            match TaskFailure::take(index, handle, T::into_success) {
                Ok(value) => values.push(value),
                Err(failure) => return Poll::Ready(Err(failure)),
            }
        }
        Poll::Ready(Ok(values))
    }

    /// Unfinished and total tasks.
    fn counts(&self) -> (usize, usize) {
        (self.watch.unreported(), self.watch.len())
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("tasks", &self.watch.len())
            .field("unfinished", &self.watch.unreported())
            .finish()
    }
}

/// Waits for every task and returns every outcome, in input order. Python:
/// `asyncio.gather(*tasks, return_exceptions=True)`.
///
/// A panic, cancel or timeout is one outcome among the others, as an
/// `Err(TaskError)`; a task's own `Err` is its value, `Ok(Err(e))`.
/// Nothing stops early and nothing is cancelled. `.await` the returned
/// [`JoinAll`], or block on it with [`wait`](JoinAll::wait) (or a timed
/// wait, which borrows it and can be repeated).
///
/// Dropping the `JoinAll` before it finishes drops the handles, which
/// detaches the tasks, as dropping each handle would: they keep running.
///
/// # Panics
///
/// Panics with "`TaskHandle` polled after its outcome was taken" if one of
/// the handles was already awaited (through `&mut handle`) to completion:
/// its outcome is gone, so it is refused here, at the call.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let handles = vec![
///     pool.submit(async { 1 }).unwrap(),
///     pool.submit(async { panic!("boom") }).unwrap(),
///     pool.submit(async { 3 }).unwrap(),
/// ];
/// let outcomes = taskpool::join_all(handles).wait();
/// assert_eq!(outcomes[0].as_ref().unwrap(), &1);
/// assert!(outcomes[1].as_ref().unwrap_err().is_panic());
/// assert_eq!(outcomes[2].as_ref().unwrap(), &3);
/// ```
pub fn join_all<I, T>(handles: I) -> JoinAll<T>
where
    I: IntoIterator<Item = TaskHandle<T>>,
{
    JoinAll {
        joiner: Joiner::new(handles),
    }
}

/// Waits for every task and returns their successes in input order, or
/// stops at the first failure and cancels the rest. Python:
/// `asyncio.gather(*tasks)`, except that Python lets the rest run.
///
/// A task fails if it panics, is cancelled, times out, never runs because
/// of a shutdown, or returns a value that counts as a failure under
/// [`Fallible`] (an `Err`, with no opt-in): the same verdict the pool
/// records, and the only way a value counts as a failure. The first task
/// to fail, in the order they finish, is returned as a [`TaskFailure`];
/// every other unfinished task is then cancelled, and the call returns
/// without waiting for them to stop. On success each value comes through
/// [`Fallible::into_success`]: a task returning `Result<u8, E>` gives a
/// `u8`, with no second unwrap.
///
/// Dropping the `TryJoinAll` before it finishes drops the handles, which
/// detaches the tasks: they keep running, nothing is cancelled.
///
/// # Panics
///
/// Panics with "`TaskHandle` polled after its outcome was taken" if one of
/// the handles was already awaited (through `&mut handle`) to completion:
/// its outcome is gone, so it is refused here, at the call.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let fetch = |ok: bool| async move { if ok { Ok(200) } else { Err("refused") } };
/// let handles = vec![
///     pool.submit(fetch(true)).unwrap(),
///     pool.submit(fetch(false)).unwrap(),
///     pool.submit(std::future::pending()).unwrap(),
/// ];
/// let failure = taskpool::try_join_all(handles).wait().unwrap_err();
/// assert_eq!(failure.index(), 1);
/// assert_eq!(failure.into_outcome().unwrap(), Err("refused"));
///
/// let handles: Vec<_> = [true, true].map(|ok| pool.submit(fetch(ok)).unwrap()).into();
/// let statuses: Vec<u16> = taskpool::try_join_all(handles).wait().unwrap();
/// assert_eq!(statuses, [200, 200]);
/// ```
pub fn try_join_all<I, T>(handles: I) -> TryJoinAll<T>
where
    I: IntoIterator<Item = TaskHandle<T>>,
    T: Fallible,
{
    TryJoinAll {
        joiner: Joiner::new(handles),
    }
}

/// Every task's outcome, in input order: the future (and blocking waits)
/// [`join_all`] returns.
///
/// Dropping it before it finishes detaches the tasks, as dropping their
/// handles would.
///
/// # Cancel safety
///
/// It is `Unpin` and takes no outcome until all are in: race `&mut join`
/// against a timer and, if the timer wins, the join is still yours, whole,
/// to await again. Dropping it loses the handles (the tasks run on,
/// detached).
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let inner = pool.clone();
/// let sum = pool.submit(async move {
///     let handles: Vec<_> = (1..=4).map(|i| inner.submit(async move { i }).unwrap()).collect();
///     taskpool::join_all(handles).await.into_iter().map(Result::unwrap).sum::<i32>()
/// });
/// assert_eq!(sum.unwrap().wait().unwrap(), 10);
/// ```
#[must_use = "a join does nothing until it is waited on or awaited"]
pub struct JoinAll<T> {
    joiner: Joiner<T>,
}

impl<T> JoinAll<T> {
    /// Blocks until every task has finished.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of an
    /// executor that runs one of the tasks: that would deadlock. Use
    /// `.await` inside tasks. Panics if a timed wait already returned the
    /// outcomes.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until every task has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let handles: Vec<_> = (0..3).map(|i| pool.submit(async move { i }).unwrap()).collect();
    /// let values: Vec<_> = taskpool::join_all(handles).wait().into_iter().map(Result::unwrap).collect();
    /// assert_eq!(values, [0, 1, 2]);
    /// ```
    pub fn wait(mut self) -> Vec<Result<T, TaskError>> {
        match self.wait_until(None) {
            Ok(outcomes) => outcomes,
            Err(_) => unreachable!("a wait without a deadline cannot time out"),
        }
    }

    /// Blocks until every task has finished or `timeout` passes. Python:
    /// `asyncio.wait_for(gather(...), timeout)`, except that nothing is
    /// cancelled. `Duration::ZERO` only checks; a timeout too large to
    /// represent waits forever.
    ///
    /// # Panics
    ///
    /// As [`wait`](JoinAll::wait); also if an earlier timed wait already
    /// returned the outcomes (they are gone).
    ///
    /// # Errors
    ///
    /// A [`WaitTimeoutError`] with the unfinished and total task counts if
    /// a task was still unfinished. The join is untouched: wait again,
    /// `.await` it, or drop it.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until every task has ended or `timeout` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let (release, blocked) = async_channel::bounded::<()>(1);
    /// let handle = pool.submit(async move { blocked.recv().await.unwrap(); 5 }).unwrap();
    /// let mut join = taskpool::join_all([handle]);
    /// let err = join.wait_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert_eq!((err.unfinished(), err.total()), (1, 1));
    /// release.send_blocking(()).unwrap();
    /// let outcomes = join.wait_timeout(Duration::MAX).unwrap(); // the same join, waited again
    /// assert_eq!(outcomes[0].as_ref().unwrap(), &5);
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Vec<Result<T, TaskError>>, WaitTimeoutError> {
        self.wait_until(deadline_after(timeout))
    }

    /// Blocks until every task has finished or `deadline` passes.
    ///
    /// # Panics
    ///
    /// As [`wait_timeout`](JoinAll::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](JoinAll::wait_timeout): a [`WaitTimeoutError`],
    /// the join untouched.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until every task has ended or `deadline` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { 1 }).unwrap();
    /// let mut join = taskpool::join_all([handle]);
    /// let outcomes = join.wait_deadline(Instant::now() + Duration::from_secs(60)).unwrap();
    /// assert_eq!(outcomes[0].as_ref().unwrap(), &1);
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Result<Vec<Result<T, TaskError>>, WaitTimeoutError> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&mut self, deadline: Option<Instant>) -> Result<Vec<Result<T, TaskError>>, WaitTimeoutError> {
        let pools = self.joiner.pools.clone();
        block_or_time_out(
            &mut self.joiner,
            deadline,
            pools,
            "tasks",
            Joiner::poll_all,
            Joiner::counts,
        )
    }
}

impl<T> Future for JoinAll<T> {
    type Output = Vec<Result<T, TaskError>>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready` (or after a timed
    /// wait returned the outcomes).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().joiner.poll_all(cx)
    }
}

impl<T> fmt::Debug for JoinAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.joiner.fmt("JoinAll", f)
    }
}

/// Every task's success in input order, or the first failure: the future
/// (and blocking waits) [`try_join_all`] returns.
///
/// Dropping it before it finishes detaches the tasks, as dropping their
/// handles would: nothing is cancelled.
///
/// # Cancel safety
///
/// As [`JoinAll`]: poll `&mut join` to keep it across a lost race; it
/// takes no outcome until it returns.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let inner = pool.clone();
/// let values = pool.submit(async move {
///     let handles: Vec<_> = (1..=3).map(|i| inner.submit(async move { Ok::<_, String>(i) }).unwrap()).collect();
///     taskpool::try_join_all(handles).await.unwrap()
/// });
/// assert_eq!(values.unwrap().wait().unwrap(), [1, 2, 3]);
/// ```
#[must_use = "a join does nothing until it is waited on or awaited"]
pub struct TryJoinAll<T> {
    joiner: Joiner<T>,
}

impl<T: Fallible> TryJoinAll<T> {
    /// Blocks until every task has finished, or one has failed.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of an
    /// executor that runs one of the tasks: that would deadlock. Use
    /// `.await` inside tasks. Panics if a timed wait already returned the
    /// outcome.
    ///
    /// # Errors
    ///
    /// The first [`TaskFailure`], after cancelling the other tasks.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until every task has ended or one has failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let handles: Vec<_> = (0..3).map(|i| pool.submit(async move { i }).unwrap()).collect();
    /// assert_eq!(taskpool::try_join_all(handles).wait().unwrap(), [0, 1, 2]);
    /// ```
    pub fn wait(mut self) -> Result<Vec<T::Success>, TaskFailure<T>> {
        match self.wait_until(None) {
            Ok(outcome) => outcome,
            Err(_) => unreachable!("a wait without a deadline cannot time out"),
        }
    }

    /// Blocks until every task has finished, one has failed, or `timeout`
    /// passes. `Duration::ZERO` only checks; a timeout too large to
    /// represent waits forever.
    ///
    /// # Panics
    ///
    /// As [`wait`](TryJoinAll::wait); also if an earlier timed wait already
    /// returned the outcome (it is gone).
    ///
    /// # Errors
    ///
    /// The outer error is a [`WaitTimeoutError`] if time ran out first; the
    /// join is untouched (nothing cancelled): wait again, `.await` it, or
    /// drop it. The inner one is the first [`TaskFailure`], as from
    /// [`wait`](TryJoinAll::wait).
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the join is decided or `timeout` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let (release, blocked) = async_channel::bounded::<()>(1);
    /// let handle = pool.submit(async move { blocked.recv().await.unwrap(); Ok::<_, String>(5) }).unwrap();
    /// let mut join = taskpool::try_join_all([handle]);
    /// assert_eq!(join.wait_timeout(Duration::from_millis(5)).unwrap_err().unfinished(), 1);
    /// release.send_blocking(()).unwrap();
    /// assert_eq!(join.wait_timeout(Duration::MAX).unwrap().unwrap(), [5]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Result<Vec<T::Success>, TaskFailure<T>>, WaitTimeoutError> {
        self.wait_until(deadline_after(timeout))
    }

    /// Blocks until every task has finished, one has failed, or `deadline`
    /// passes.
    ///
    /// # Panics
    ///
    /// As [`wait_timeout`](TryJoinAll::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](TryJoinAll::wait_timeout).
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the join is decided or `deadline` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { Ok::<_, String>(1) }).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// let mut join = taskpool::try_join_all([handle]);
    /// assert_eq!(join.wait_deadline(deadline).unwrap().unwrap(), [1]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn wait_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Result<Vec<T::Success>, TaskFailure<T>>, WaitTimeoutError> {
        self.wait_until(Some(deadline))
    }

    #[allow(clippy::type_complexity)]
    fn wait_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Result<Vec<T::Success>, TaskFailure<T>>, WaitTimeoutError> {
        let pools = self.joiner.pools.clone();
        block_or_time_out(
            &mut self.joiner,
            deadline,
            pools,
            "tasks",
            Joiner::poll_values,
            Joiner::counts,
        )
    }
}

impl<T: Fallible> Future for TryJoinAll<T> {
    type Output = Result<Vec<T::Success>, TaskFailure<T>>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready` (or after a timed
    /// wait returned the outcome).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().joiner.poll_values(cx)
    }
}

impl<T> fmt::Debug for TryJoinAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.joiner.fmt("TryJoinAll", f)
    }
}
