//! [`wait`]: block (or `.await`) until one, the first failing, or all of
//! many tasks are done, and get the done and the pending handles back.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::watch::Watch;
use super::{Deadline, block_on, is_error, pools_of};
use crate::engine::shared::PoolId;
use crate::handle::TaskHandle;

/// When [`wait`] returns. Python: the `return_when` constants of
/// `concurrent.futures.wait` and `asyncio.wait`.
///
/// # Examples
///
/// ```
/// use taskpool::ReturnWhen;
///
/// // Python's default.
/// assert_eq!(ReturnWhen::default(), ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task is done, however it ended. Python:
    /// `FIRST_COMPLETED`.
    FirstCompleted,
    /// As soon as any task fails, or when all are done. A task fails if it
    /// panicked, ran past its per-task timeout, or returned a value that
    /// counts as a failure under [`Fallible`](crate::Fallible) (an `Err`,
    /// with no opt-in; wrap it in [`Opaque`](crate::Opaque) to opt out). A
    /// cancelled task, or one that never ran because of a shutdown, is done
    /// but has not failed: someone chose that. Python: `FIRST_EXCEPTION`.
    FirstError,
    /// When every task is done. Python: `ALL_COMPLETED`.
    #[default]
    AllCompleted,
}

/// What [`wait`] returns: the tasks that are done and those that are not,
/// each in input order, each task once. Python: the `(done, pending)` pair.
///
/// The handles are the ones passed in (owned, or references), untouched:
/// take a done task's outcome with [`TaskHandle::wait`] (it returns at
/// once) or `.await`, and wait again on the pending ones.
///
/// # Examples
///
/// ```
/// use taskpool::{ReturnWhen, TaskPool, Waited};
///
/// let pool = TaskPool::new(2).unwrap();
/// let handles = vec![pool.submit(async { 1 }).unwrap(), pool.submit(async { 2 }).unwrap()];
/// let Waited { done, pending, timed_out, .. } = taskpool::wait(handles, ReturnWhen::AllCompleted).block();
/// assert_eq!((done.len(), pending.len(), timed_out), (2, 0, false));
/// let sum: i32 = done.into_iter().map(|h| h.wait().unwrap()).sum();
/// assert_eq!(sum, 3);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Waited<H> {
    /// The tasks that had finished when the wait returned, in input order.
    pub done: Vec<H>,
    /// The tasks still queued or running, in input order.
    pub pending: Vec<H>,
    /// Whether the wait returned because its timeout passed before
    /// [`ReturnWhen`] was satisfied.
    pub timed_out: bool,
}

/// Waits until one, the first failing, or all of `handles` are done, and
/// returns the done and the pending handles without consuming either.
/// Python: `concurrent.futures.wait(fs, timeout, return_when)`,
/// `asyncio.wait`.
///
/// `handles` may be owned [`TaskHandle`]s or anything that borrows as one:
/// `&TaskHandle` (so `&vec` works and the handles stay yours), `&mut`,
/// `Box`, `Arc`. A task that appears more than once (two references to one
/// handle, two `Arc`s of it) counts once and comes back once, at its first
/// position; the other copies are dropped.
///
/// Tasks already done count at once, and an empty input returns at once.
/// The returned [`Wait`] does nothing until it is waited on:
/// [`.block()`](Wait::block) blocks the thread, `.await` does not, and
/// [`timeout`](Wait::timeout) / [`deadline`](Wait::deadline) bound either.
/// A timeout is not an error: the split is returned as it stands, with
/// [`Waited::timed_out`] set. Nothing is ever cancelled.
///
/// # Panics
///
/// Panics with "`TaskHandle` polled after its outcome was taken" if one of
/// the handles was already awaited (through `&mut handle`) to completion:
/// its outcome is gone, so it is refused here, at the call.
///
/// # Examples
///
/// Return as soon as the first of two tasks is done; the other comes back
/// pending, to be waited on again:
///
/// ```
/// use taskpool::{ReturnWhen, TaskPool};
///
/// let pool = TaskPool::new(2).unwrap();
/// let (release, blocked) = async_channel::bounded::<()>(1);
/// let handles = vec![
///     pool.submit(async move { blocked.recv().await.unwrap(); "slow" }).unwrap(),
///     pool.submit(async { "fast" }).unwrap(),
/// ];
/// let waited = taskpool::wait(&handles, ReturnWhen::FirstCompleted).block();
/// assert_eq!(waited.done.len(), 1);
/// assert_eq!(waited.done[0].id(), handles[1].id());
/// assert_eq!(waited.pending[0].id(), handles[0].id());
///
/// release.send_blocking(()).unwrap();
/// let results: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
/// assert_eq!(results, ["slow", "fast"]);
/// ```
///
/// With a timeout, from async code, stopping at the first failure:
///
/// ```
/// use std::time::Duration;
/// use taskpool::{ReturnWhen, TaskPool};
///
/// let pool = TaskPool::new(4).unwrap();
/// let inner = pool.clone();
/// let outer = pool.submit(async move {
///     let handles = vec![
///         inner.submit(std::future::pending::<()>()).unwrap(),
///         inner.submit(async { panic!("boom") }).unwrap(),
///     ];
///     let waited = taskpool::wait(handles, ReturnWhen::FirstError)
///         .timeout(Duration::from_secs(60))
///         .await;
///     assert!(!waited.timed_out);
///     assert!(waited.done[0].is_finished());
///     waited.pending[0].cancel();
///     waited.done.len()
/// });
/// assert_eq!(outer.unwrap().wait().unwrap(), 1);
/// ```
pub fn wait<I, T>(handles: I, return_when: ReturnWhen) -> Wait<I::Item, T>
where
    I: IntoIterator,
    I::Item: Borrow<TaskHandle<T>>,
{
    let mut seen = HashSet::new();
    let handles: Vec<I::Item> = handles.into_iter().filter(|h| seen.insert(h.borrow().id())).collect();
    let mut watch = Watch::new();
    for handle in &handles {
        watch.add(handle.borrow().core());
    }
    Wait {
        pools: pools_of(handles.iter().map(|h| h.borrow().core())),
        handles: Some(handles),
        watch,
        return_when,
        deadline: Deadline::none(),
        satisfied: false,
        task: PhantomData,
    }
}

/// A wait on many tasks, from [`wait`]: `.await` it, or block on it with
/// [`block`](Wait::block).
///
/// Dropping it drops the handles it was given (an owned handle detaches
/// its task; see [`TaskHandle`]) and cancels nothing.
///
/// # Cancel safety
///
/// Dropping an unfinished `.await` of it drops the handles with it: pass
/// references (`wait(&handles, ..)`) to keep them, or use
/// [`timeout`](Wait::timeout), which hands them back in the result.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskpool::{ReturnWhen, TaskPool};
///
/// let pool = TaskPool::new(1).unwrap();
/// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
/// let waited = taskpool::wait([&stuck], ReturnWhen::AllCompleted)
///     .timeout(Duration::from_millis(10))
///     .block();
/// assert!(waited.timed_out);
/// assert_eq!(waited.pending.len(), 1);
/// ```
#[must_use = "a wait does nothing until it is waited on or awaited"]
pub struct Wait<H, T> {
    /// `None` once the result was handed out.
    handles: Option<Vec<H>>,
    /// The pools that run the tasks, for the daemon-thread check.
    pools: Vec<PoolId>,
    watch: Watch,
    return_when: ReturnWhen,
    deadline: Deadline,
    satisfied: bool,
    task: PhantomData<fn() -> T>,
}

impl<H: Borrow<TaskHandle<T>>, T> Wait<H, T> {
    /// Gives up `timeout` from now: the wait then returns the split as it
    /// stands, with [`Waited::timed_out`] set. Python: the `timeout`
    /// argument. `Duration::ZERO` only checks; a timeout too large to
    /// represent means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskpool::{ReturnWhen, TaskPool};
    ///
    /// let pool = TaskPool::new(1).unwrap();
    /// let stuck = pool.submit(std::future::pending::<()>()).unwrap();
    /// let waited = taskpool::wait([&stuck], ReturnWhen::FirstCompleted).timeout(Duration::ZERO).block();
    /// assert!(waited.timed_out && waited.done.is_empty());
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        Wait {
            deadline: Deadline::after(timeout),
            ..self
        }
    }

    /// Gives up at `deadline`; see [`timeout`](Wait::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use taskpool::{ReturnWhen, TaskPool};
    ///
    /// let pool = TaskPool::new(1).unwrap();
    /// let handle = pool.submit(async { 1 }).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// let waited = taskpool::wait([handle], ReturnWhen::AllCompleted).deadline(deadline).block();
    /// assert!(!waited.timed_out);
    /// ```
    pub fn deadline(self, deadline: Instant) -> Self {
        Wait {
            deadline: Deadline::at(deadline),
            ..self
        }
    }

    /// Blocks the thread until the wait is satisfied or times out. Python:
    /// `concurrent.futures.wait(...)`; in async code, `.await` the `Wait`
    /// instead.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of an
    /// executor that runs one of the tasks: that would deadlock (see
    /// [`TaskHandle`](crate::TaskHandle#deadlock-hazard)). Use `.await`
    /// inside tasks.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the condition holds or the timeout passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{ReturnWhen, TaskPool};
    ///
    /// let pool = TaskPool::new(2).unwrap();
    /// let handles: Vec<_> = (0..3).map(|i| pool.submit(async move { i }).unwrap()).collect();
    /// let waited = taskpool::wait(&handles, ReturnWhen::AllCompleted).block();
    /// assert_eq!(waited.done.len(), 3);
    /// ```
    pub fn block(mut self) -> Waited<H> {
        let deadline = self.deadline.instant();
        let pools = self.pools.clone();
        let satisfied = block_on(|cx| self.poll_satisfied(cx), deadline, pools, "tasks").is_some();
        self.split(!satisfied)
    }

    fn handles(&self) -> &[H] {
        self.handles
            .as_deref()
            .expect("`Wait` polled after it returned `Ready`")
    }

    /// Whether `return_when` is satisfied, from what the watch reports.
    fn poll_satisfied(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while !self.satisfied {
            match self.watch.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => self.satisfied = true,
                Poll::Ready(Some(index)) => {
                    self.satisfied = match self.return_when {
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstError => is_error(self.handles()[index].borrow().core().ended()),
                        ReturnWhen::AllCompleted => false,
                    }
                }
            }
        }
        Poll::Ready(())
    }

    /// Hands the handles out, split by whether each task is done now.
    fn split(&mut self, timed_out: bool) -> Waited<H> {
        let handles = self.handles.take().expect("`Wait` polled after it returned `Ready`");
        let (done, pending) = handles.into_iter().partition(|h| h.borrow().is_finished());
        Waited {
            done,
            pending,
            timed_out,
        }
    }
}

impl<H: Borrow<TaskHandle<T>>, T> Future for Wait<H, T> {
    type Output = Waited<H>;

    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Waited<H>> {
        let this = self.get_mut();
        if this.poll_satisfied(cx).is_ready() {
            return Poll::Ready(this.split(false));
        }
        if this.deadline.poll_passed(cx) {
            return Poll::Ready(this.split(true));
        }
        Poll::Pending
    }
}

// `Wait` never pins its handles (it reads them through `Borrow`), so it may
// move while polled whatever `H` is.
impl<H, T> Unpin for Wait<H, T> {}

impl<H, T> fmt::Debug for Wait<H, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("return_when", &self.return_when)
            .field("tasks", &self.watch.len())
            .field("unreported", &self.watch.unreported())
            .field("deadline", &self.deadline)
            .finish()
    }
}
