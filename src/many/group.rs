//! [`TaskGroup`]: tasks that succeed together or fail together.
//!
//! # How a failure cancels the others at once
//!
//! Each task runs inside a [`Member`] future that looks at what the task's
//! own future produced, in the task itself: a value that counts as a
//! failure under [`Fallible`], or a panic (caught, then resumed so the
//! pool records it as usual). Either way it tells the group before its
//! outcome is published, and the group cancels every other unfinished
//! task right then — whether or not anyone is waiting on the group. A task
//! that ends without a value for a reason its future cannot see (its
//! per-task timeout, or the pool shut it down: the runner drops the
//! future from outside) is noticed by whoever waits on the group, which
//! then cancels the rest the same way.
//!
//! The order of failures is the order outcomes were published, which a
//! [`Watch`] records as it happens, whether or not anyone is waiting.
//!
//! # Locks
//!
//! The group's state lock may be held while calling into the watch (which
//! takes task event locks), never the other way round: the watch's wakers
//! do not take it. Nothing that can run user code — cancelling a task
//! (which may drop its future), dropping a handle (which may log) — is
//! done while it is held.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::block_or_time_out;
use super::watch::Watch;
use crate::builder::TaskBuilder;
use crate::engine::stats::Ended;
use crate::engine::task::{TaskId, TaskRef, cancel_batch};
use crate::engine::util::{deadline_after, lock};
use crate::error::{GroupError, Refusal, SubmitError, TaskFailure, TrySubmitError, WaitTimeoutError};
use crate::fallible::Fallible;
use crate::handle::TaskHandle;
use crate::pool::TaskPool;

/// Tasks that succeed together or fail together, on a pool's limit.
/// Python: `asyncio.TaskGroup`; Go: `errgroup.Group` with `SetLimit`.
///
/// Tasks submitted through the group run on its pool and share the pool's
/// limit with every other task there. A task's value counts as a failure
/// exactly when the pool counts it as one, through [`Fallible`]: a
/// `Result` output's `Err` is a failure, with no opt-in. Per-task options
/// (a name, a timeout) go through [`build_task`](TaskGroup::build_task),
/// as with the pool's.
///
/// The first task to fail — returning a failure value (an `Err`), or
/// panicking — makes the group cancel all its other unfinished tasks at
/// once, whether or not anyone is waiting on the group yet. Tasks
/// submitted after that are cancelled as they are submitted. A task that
/// runs past its per-task timeout, or that the pool ends without a value
/// (a shutdown), is a failure too; the group notices it, and cancels the
/// rest, when it is waited on (at once, if someone is waiting).
///
/// Waiting on the group — [`wait`](TaskGroup::wait) from a plain thread,
/// with a bound by [`wait_timeout`](TaskGroup::wait_timeout), or `.await`
/// — returns once every task has ended, so no task of the group is left
/// running. On success it gives every task's success in submission order,
/// through [`Fallible::into_success`]: a group of `Result<u8, E>` tasks
/// gives a `Vec<u8>`. On failure, a [`GroupError`] with every failure that
/// happened, in the order the tasks ended: the first, plus any that failed
/// before the cancellation reached them. The tasks the group cancelled
/// are not listed.
///
/// Dropping the group cancels its unfinished tasks.
///
/// # Cancel safety
///
/// `group.await` consumes the group, so dropping that await (a lost
/// `select!`, a runtime timeout) drops the group and cancels its tasks —
/// Python's `asyncio.timeout` around a `TaskGroup`. To keep the group
/// across a lost race, poll `&mut group` instead: it is `Unpin`, and
/// outcomes stay in the group until every task has ended.
///
/// # Comparison to `try_join_all`
///
/// [`try_join_all`](crate::try_join_all) takes handles you already have,
/// returns only the first failure and does not wait for the cancelled
/// tasks to stop. A group owns its tasks from the start, cancels on a
/// failure even before you wait, waits for every task to end, and reports
/// every failure.
///
/// # Examples
///
/// Fetch three pages; all or nothing:
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let group = pool.task_group();
/// for page in ["a", "bb", "ccc"] {
///     group.submit(async move { Ok::<_, String>(page.len()) }).unwrap();
/// }
/// assert_eq!(group.wait().unwrap(), [1, 2, 3]);
/// ```
///
/// The first failure cancels the rest:
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let group = pool.task_group();
/// group.submit(std::future::pending::<Result<u8, String>>()).unwrap(); // would never end
/// group.submit(async { Err("no route to host".to_owned()) }).unwrap();
/// let err = group.wait().unwrap_err();
/// assert_eq!(err.failures().len(), 1); // the cancelled task is not listed
/// assert_eq!(err.first().index(), 1);
/// assert_eq!(err.first().value(), Some(&Err("no route to host".to_owned())));
/// ```
///
/// A member with a per-task timeout that runs past it fails the group:
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let group = pool.task_group::<Result<(), String>>();
/// group.build_task().name("slow").timeout(Duration::from_millis(10)).submit(std::future::pending()).unwrap();
/// let err = group.wait().unwrap_err();
/// assert!(err.first().task_error().unwrap().is_timeout());
/// ```
#[must_use = "a task group cancels its tasks when dropped; wait on it"]
pub struct TaskGroup<T> {
    pool: TaskPool,
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    next_key: AtomicU64,
}

struct State<T> {
    /// In submission order: a member's index is its position.
    members: Vec<MemberSlot<T>>,
    /// Watches every member, in the same order.
    watch: Watch,
    /// Members whose own future failed: never cancel these, their failure
    /// happened.
    failed: Vec<u64>,
    /// A failure was seen: the group cancels everything else.
    cancelling: bool,
    /// Member indices, in the order their outcomes were published.
    order: Vec<usize>,
    /// The outcome was handed out.
    finished: bool,
}

struct MemberSlot<T> {
    /// Identifies the member to its own future before it has an index.
    key: u64,
    /// `None` once the outcome was taken.
    handle: Option<TaskHandle<T>>,
    /// The group cancelled it: a `Cancelled` outcome is not a failure.
    cancelled_by_group: bool,
}

impl<T> State<T> {
    /// Starts cancelling, unless already started: marks every unfinished
    /// member whose own future has not failed, and returns their tasks,
    /// to be cancelled once the lock is released.
    fn begin_cancel(&mut self) -> Vec<Arc<dyn TaskRef<T>>> {
        if self.cancelling {
            return Vec::new();
        }
        self.cancelling = true;
        let failed = &self.failed;
        self.members
            .iter_mut()
            .filter(|m| !failed.contains(&m.key))
            .filter_map(|m| {
                let handle = m.handle.as_ref()?;
                if handle.is_finished() {
                    return None;
                }
                m.cancelled_by_group = true;
                Some(handle.task_ref())
            })
            .collect()
    }

    /// Whether member `index`, which has ended, is listed as a failure.
    fn is_failure(&self, index: usize) -> bool {
        let member = &self.members[index];
        let Some(handle) = &member.handle else { return false };
        match handle.core().ended() {
            None | Some(Ended::Completed) => false,
            Some(Ended::Cancelled) => !member.cancelled_by_group,
            Some(_) => true,
        }
    }
}

/// Cancels `tasks` as one batch (see [`cancel_batch`]); called with no
/// lock held.
fn cancel_all<T>(tasks: Vec<Arc<dyn TaskRef<T>>>) {
    cancel_batch(tasks);
}

pin_project! {
    /// A group task's future: tells the group, from inside the task, the
    /// moment the task's own future fails.
    struct Member<F: Future> {
        #[pin]
        future: F,
        group: Weak<Shared<F::Output>>,
        key: u64,
    }
}

impl<F> Member<F>
where
    F: Future,
{
    fn fail(group: &Weak<Shared<F::Output>>, key: u64) {
        // The group is gone: it cancelled everything already.
        let Some(shared) = group.upgrade() else { return };
        let to_cancel = {
            let mut state = lock(&shared.state);
            state.failed.push(key);
            state.begin_cancel()
        };
        cancel_all(to_cancel);
    }
}

impl<F> Future for Member<F>
where
    F: Future,
    F::Output: Fallible,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        // The runner catches panics too; this catch only tells the group
        // first, then lets the panic go on to the runner.
        let polled = catch_unwind(AssertUnwindSafe(|| match future.as_mut().poll(cx) {
            Poll::Ready(value) => {
                let failed = value.failure().is_some();
                Poll::Ready((value, failed))
            }
            Poll::Pending => Poll::Pending,
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready((value, failed))) => {
                if failed {
                    Member::<F>::fail(this.group, *this.key);
                }
                Poll::Ready(value)
            }
            Err(payload) => {
                Member::<F>::fail(this.group, *this.key);
                resume_unwind(payload)
            }
        }
    }
}

impl TaskPool {
    /// A new, empty [`TaskGroup`] whose tasks run on this pool. Python:
    /// `asyncio.TaskGroup()`; Go: `errgroup.WithContext` plus `SetLimit`
    /// (the limit is the pool's).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(4).unwrap();
    /// let group = pool.task_group::<Result<u32, String>>();
    /// assert!(group.is_empty());
    /// assert_eq!(group.wait().unwrap(), []);
    /// ```
    pub fn task_group<T>(&self) -> TaskGroup<T>
    where
        T: Fallible + Send + 'static,
    {
        TaskGroup {
            pool: self.clone(),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    members: Vec::new(),
                    watch: Watch::new(),
                    failed: Vec::new(),
                    cancelling: false,
                    order: Vec::new(),
                    finished: false,
                }),
                next_key: AtomicU64::new(0),
            }),
        }
    }
}

impl<T> TaskGroup<T>
where
    T: Fallible + Send + 'static,
{
    /// Submits a task to the group, on the group's pool; see
    /// [`TaskPool::submit`]. Returns its id. Python: `TaskGroup.create_task`;
    /// Go: `Group.Go`. For a name or a per-task timeout, use
    /// [`build_task`](TaskGroup::build_task).
    ///
    /// If the group is already cancelling because of a failure, the task is
    /// cancelled at once (Go: it would start with a cancelled context); it
    /// is not listed as a failure. So is a task submitted after the group's
    /// outcome was handed out (by a wait, or by polling it as a future):
    /// nobody will wait for it.
    ///
    /// # Panics
    ///
    /// As [`TaskPool::submit`]: only if the pool's queue is bounded and
    /// full and the caller is inside a pool task or is the pool's daemon
    /// thread.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed; the future comes back in it
    /// and the group is unchanged.
    ///
    /// # Blocking
    ///
    /// Blocks only when the pool has a
    /// [`queue_capacity`](crate::TaskPoolBuilder::queue_capacity) and its
    /// queue is full, until a slot frees.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let group = pool.task_group();
    /// let id = group.submit(async { Ok::<_, ()>("done") }).unwrap();
    /// assert!(id.as_u64() > 0);
    /// assert_eq!(group.len(), 1);
    /// pool.close();
    /// assert!(group.submit(async { Ok("again") }).unwrap_err().is_closed());
    /// ```
    pub fn submit<F>(&self, future: F) -> Result<TaskId, SubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.build_task().submit(future)
    }

    /// Submits a task to the group without ever waiting for queue space;
    /// see [`submit`](TaskGroup::submit) and [`TaskPool::try_submit`].
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] if the pool's queue is full or the pool is
    /// closed; the future comes back in it and the group is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.try_submit(async { Ok::<_, ()>(4) }).unwrap();
    /// assert_eq!(group.wait().unwrap(), [4]);
    /// ```
    pub fn try_submit<F>(&self, future: F) -> Result<TaskId, TrySubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.build_task().try_submit(future)
    }

    /// Submits a task to the group from async code, waiting (without
    /// blocking) while the pool's queue is full; see [`submit`](TaskGroup::submit)
    /// and [`TaskPool::submit_async`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed; the future comes back in it.
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
    /// let total = pool.submit(async move {
    ///     let group = inner.task_group();
    ///     for i in 1..=3_u32 {
    ///         group.submit_async(async move { Ok::<_, String>(i) }).await.unwrap();
    ///     }
    ///     group.await.unwrap().into_iter().sum::<u32>()
    /// });
    /// assert_eq!(total.unwrap().wait().unwrap(), 6);
    /// ```
    pub async fn submit_async<F>(&self, future: F) -> Result<TaskId, SubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.build_task().submit_async(future).await
    }

    /// Options for one task of the group (a name, a per-task timeout),
    /// then a submit: [`GroupTaskBuilder`]. Python:
    /// `TaskGroup.create_task(coro, name=...)`, with `asyncio.timeout`
    /// inside the coroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let group = pool.task_group();
    /// group.build_task().name("fetch").timeout(Duration::from_secs(30)).submit(async { Ok::<_, String>(200) }).unwrap();
    /// assert_eq!(group.wait().unwrap(), [200]);
    /// ```
    pub fn build_task(&self) -> GroupTaskBuilder<'_, T> {
        GroupTaskBuilder {
            group: self,
            task: self.pool.build_task(),
        }
    }

    fn member<F: Future<Output = T>>(&self, future: F) -> Member<F> {
        Member {
            future,
            group: Arc::downgrade(&self.shared),
            // Relaxed: the key only has to be unique.
            key: self.shared.next_key.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Records a submitted task; cancels it at once if the group is
    /// already cancelling (unless its own future failed already).
    fn add(&self, key: u64, handle: TaskHandle<T>) -> TaskId {
        let id = handle.id();
        let late = {
            let mut state = lock(&self.shared.state);
            state.watch.add(handle.core());
            // After a failure, or once the group's future has completed
            // (nobody will wait for it), a new task is cancelled at once.
            let late = (state.cancelling || state.finished) && !state.failed.contains(&key);
            let task = late.then(|| handle.task_ref());
            state.members.push(MemberSlot {
                key,
                handle: Some(handle),
                cancelled_by_group: late,
            });
            task
        };
        if let Some(task) = late {
            task.cancel();
        }
        id
    }
}

/// Options for one task of a [`TaskGroup`], then a submit: what
/// [`TaskGroup::build_task`] returns. The options are those of
/// [`TaskBuilder`](crate::TaskBuilder) (a name; a per-task timeout, which
/// when it passes fails the group like any other failure), and the
/// submits are the group's: the task joins the group. Python:
/// `TaskGroup.create_task(coro, name=...)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let group = pool.task_group();
/// for page in ["a", "bb"] {
///     group
///         .build_task()
///         .name(format!("fetch {page}"))
///         .timeout(Duration::from_secs(30))
///         .submit(async move { Ok::<_, String>(page.len()) })
///         .unwrap();
/// }
/// assert_eq!(group.wait().unwrap(), [1, 2]);
/// ```
#[must_use = "a task builder does nothing until one of its submit methods is called"]
pub struct GroupTaskBuilder<'a, T> {
    group: &'a TaskGroup<T>,
    /// The pool's builder, holding the options.
    task: TaskBuilder<'a>,
}

impl<'a, T> GroupTaskBuilder<'a, T>
where
    T: Fallible + Send + 'static,
{
    /// Names the task, for logs, errors and `Debug`; see
    /// [`TaskBuilder::name`](crate::TaskBuilder::name).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group::<Result<(), ()>>();
    /// group.build_task().name("fetch").submit(async { panic!("boom") }).unwrap();
    /// let err = group.wait().unwrap_err();
    /// assert!(err.to_string().starts_with("task") && err.to_string().contains("(fetch)"));
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.task = self.task.name(name);
        self
    }

    /// Gives the task a run-time limit; see
    /// [`TaskBuilder::timeout`](crate::TaskBuilder::timeout). A task that
    /// runs past it ends [timed out](crate::TaskErrorKind::TimedOut), which
    /// fails the group: the group cancels the rest when it is waited on.
    /// A zero timeout is refused when submitting (the future comes back
    /// with the error).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let group = pool.task_group::<Result<(), ()>>();
    /// group.submit(std::future::pending()).unwrap(); // cancelled by the group
    /// group.build_task().timeout(Duration::from_millis(10)).submit(std::future::pending()).unwrap();
    /// let err = group.wait().unwrap_err();
    /// assert_eq!(err.failures().len(), 1);
    /// assert_eq!(err.first().index(), 1);
    /// assert!(err.first().task_error().unwrap().is_timeout());
    ///
    /// let group = pool.task_group::<Result<(), ()>>();
    /// assert!(group.build_task().timeout(Duration::ZERO).submit(async { Ok(()) }).unwrap_err().is_invalid_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.task = self.task.timeout(timeout);
        self
    }

    /// Submits the task to the group; see [`TaskGroup::submit`].
    ///
    /// # Panics
    ///
    /// As [`TaskGroup::submit`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed or the timeout is zero; the
    /// future comes back in it and the group is unchanged.
    ///
    /// # Blocking
    ///
    /// As [`TaskGroup::submit`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.build_task().name("one").submit(async { Ok::<_, ()>(1) }).unwrap();
    /// assert_eq!(group.wait().unwrap(), [1]);
    /// ```
    pub fn submit<F>(self, future: F) -> Result<TaskId, SubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let member = self.group.member(future);
        let key = member.key;
        let handle = self.task.submit(member).map_err(|e| e.map_inner(|m| m.future))?;
        Ok(self.group.add(key, handle))
    }

    /// Submits the task to the group without ever waiting for queue space;
    /// see [`TaskGroup::try_submit`].
    ///
    /// # Errors
    ///
    /// [`TrySubmitError`] if the pool's queue is full, the pool is closed
    /// or the timeout is zero; the future comes back in it and the group
    /// is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.build_task().name("t").try_submit(async { Ok::<_, ()>(2) }).unwrap();
    /// assert_eq!(group.wait().unwrap(), [2]);
    /// ```
    pub fn try_submit<F>(self, future: F) -> Result<TaskId, TrySubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let member = self.group.member(future);
        let key = member.key;
        let handle = self.task.try_submit(member).map_err(member_back)?;
        Ok(self.group.add(key, handle))
    }

    /// Submits the task to the group from async code; see
    /// [`TaskGroup::submit_async`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if the pool is closed or the timeout is zero; the
    /// future comes back in it.
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
    /// let values = pool.submit(async move {
    ///     let group = inner.task_group();
    ///     group.build_task().name("a").submit_async(async { Ok::<_, String>(1) }).await.unwrap();
    ///     group.await.unwrap()
    /// });
    /// assert_eq!(values.unwrap().wait().unwrap(), [1]);
    /// ```
    pub async fn submit_async<F>(self, future: F) -> Result<TaskId, SubmitError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let member = self.group.member(future);
        let key = member.key;
        let handle = self
            .task
            .submit_async(member)
            .await
            .map_err(|e| e.map_inner(|m| m.future))?;
        Ok(self.group.add(key, handle))
    }
}

/// The refused member's own future, with the same refusal.
fn member_back<F: Future>(e: TrySubmitError<Member<F>>) -> TrySubmitError<F> {
    // `TrySubmitError` hands back no refusal; its predicates name each one
    // `try_submit` can give.
    let refusal = if e.is_full() {
        Refusal::Full
    } else if e.is_closed() {
        Refusal::Closed
    } else {
        debug_assert!(e.is_invalid_timeout());
        Refusal::ZeroTimeout
    };
    TrySubmitError::new(refusal, e.into_inner().future)
}

impl<T> fmt::Debug for GroupTaskBuilder<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTaskBuilder").field("task", &self.task).finish()
    }
}

impl<T: Fallible> TaskGroup<T> {
    /// How many tasks were submitted to the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let group = pool.task_group();
    /// group.submit(async { Ok::<_, ()>(()) }).unwrap();
    /// assert_eq!(group.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.shared.state).watch.len()
    }

    /// Whether no task was submitted to the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// assert!(pool.task_group::<Result<(), ()>>().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until every task of the group has ended. Python: leaving
    /// `async with TaskGroup()`; Go: `Group.Wait`.
    ///
    /// # Panics
    ///
    /// Panics if it would block inside a pool task (of any pool: blocking
    /// there can deadlock the executor) or on the daemon thread of the
    /// executor that runs the group's tasks: that would deadlock. Use
    /// `.await` inside tasks. Panics if a timed wait already returned the
    /// group's outcome.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every failure, in the order the tasks ended,
    /// if any task failed.
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until every task of the group has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(2).unwrap();
    /// let group = pool.task_group();
    /// for i in 0..6_u8 {
    ///     group.submit(async move { i.checked_mul(60).ok_or("overflow") }).unwrap();
    /// }
    /// let err = group.wait().unwrap_err(); // 5 * 60 does not fit in a u8
    /// assert_eq!(err.first().index(), 5);
    /// ```
    pub fn wait(mut self) -> Result<Vec<T::Success>, GroupError<T>> {
        match self.wait_until(None) {
            Ok(outcome) => outcome,
            Err(_) => unreachable!("a wait without a deadline cannot time out"),
        }
    }

    /// Blocks until every task of the group has ended or `timeout` passes.
    /// Python: `asyncio.wait_for` around the group, except that nothing is
    /// cancelled. `Duration::ZERO` only checks; a timeout too large to
    /// represent waits forever.
    ///
    /// # Panics
    ///
    /// As [`wait`](TaskGroup::wait); also if an earlier timed wait already
    /// returned the group's outcome (it is gone).
    ///
    /// # Errors
    ///
    /// The outer error is a [`WaitTimeoutError`] if time ran out first; the
    /// group is untouched, its tasks still running: wait again, `.await`
    /// it, or drop it to cancel them. The inner one is the
    /// [`GroupError`], as from [`wait`](TaskGroup::wait).
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the group has ended or `timeout` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let (release, blocked) = async_channel::bounded::<()>(1);
    /// let mut group = pool.task_group();
    /// group.submit(async move { blocked.recv().await.map_err(|_| "closed") }).unwrap();
    /// let err = group.wait_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!((err.unfinished(), err.total()), (1, 1));
    /// release.send_blocking(()).unwrap(); // the group is still ours: wait again
    /// assert_eq!(group.wait_timeout(Duration::MAX).unwrap().unwrap(), [()]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Result<Vec<T::Success>, GroupError<T>>, WaitTimeoutError> {
        self.wait_until(deadline_after(timeout))
    }

    /// Blocks until every task of the group has ended or `deadline`
    /// passes.
    ///
    /// # Panics
    ///
    /// As [`wait_timeout`](TaskGroup::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](TaskGroup::wait_timeout).
    ///
    /// # Blocking
    ///
    /// Parks the calling thread until the group has ended or `deadline` passes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// let mut group = pool.task_group();
    /// group.submit(async { Ok::<_, ()>(1) }).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// assert_eq!(group.wait_deadline(deadline).unwrap().unwrap(), [1]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn wait_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Result<Vec<T::Success>, GroupError<T>>, WaitTimeoutError> {
        self.wait_until(Some(deadline))
    }

    #[allow(clippy::type_complexity)]
    fn wait_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Result<Vec<T::Success>, GroupError<T>>, WaitTimeoutError> {
        let pools = vec![self.pool.shared().id()];
        block_or_time_out(self, deadline, pools, "a task group", TaskGroup::poll_end, |group| {
            let state = lock(&group.shared.state);
            (state.watch.unreported(), state.watch.len())
        })
    }

    /// Records what ended since the last poll; once everything has ended,
    /// the group's outcome.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<T::Success>, GroupError<T>>> {
        let (to_cancel, ended) = {
            let mut state = lock(&self.shared.state);
            assert!(!state.finished, "a task group was polled after it returned `Ready`");
            let mut failed = false;
            let all_ended = loop {
                match state.watch.poll_next(cx) {
                    Poll::Pending => break false,
                    Poll::Ready(None) => break true,
                    Poll::Ready(Some(index)) => {
                        state.order.push(index);
                        failed |= state.is_failure(index);
                    }
                }
            };
            // A failure no member future saw (a shutdown): cancel the rest.
            let to_cancel = if failed { state.begin_cancel() } else { Vec::new() };
            let ended = all_ended.then(|| {
                state.finished = true;
                let mut failures: Vec<usize> = state.order.iter().copied().filter(|&i| state.is_failure(i)).collect();
                // In the order the pool counted them as ended (the order
                // they were noticed in can lag behind it).
                failures.sort_by_key(|&i| state.members[i].handle.as_ref().map_or(0, |h| h.core().ended_seq()));
                (std::mem::take(&mut state.members), failures)
            });
            (to_cancel, ended)
        };
        cancel_all(to_cancel);
        match ended {
            None => Poll::Pending,
            Some((members, failures)) => Poll::Ready(outcome(members, failures)),
        }
    }
}

/// The group's outcome, once every member has ended; `failures` are the
/// indices of the listed failures, in the order they ended.
fn outcome<T: Fallible>(members: Vec<MemberSlot<T>>, failures: Vec<usize>) -> Result<Vec<T::Success>, GroupError<T>> {
    let mut handles: Vec<Option<TaskHandle<T>>> = members.into_iter().map(|m| m.handle).collect();
    let completed = |h: &Option<TaskHandle<T>>| h.as_ref().is_some_and(|h| h.core().ended() == Some(Ended::Completed));
    let failures = if failures.is_empty() && !handles.iter().all(completed) {
        // Only a `Fallible` impl that changes its mind gets here: a member
        // saw a failure that the pool did not record. List what did not
        // complete.
        (0..handles.len()).filter(|&i| !completed(&handles[i])).collect()
    } else {
        failures
    };
    if failures.is_empty() {
        let mut values = Vec::with_capacity(handles.len());
        // A `Fallible` impl whose `into_success` disagrees with its
        // `failure` gives its value back: that is a failure too.
        let mut refused = Vec::new();
        for (index, handle) in handles.into_iter().enumerate() {
            let handle = handle.expect("every member's handle is kept until the end");
            match TaskFailure::take(index, handle, T::into_success) {
                Ok(value) => values.push(value),
                Err(failure) => refused.push(failure),
            }
        }
        return if refused.is_empty() {
            Ok(values)
        } else {
            Err(GroupError::new(refused))
        };
    }
    let failures = failures
        .into_iter()
        .filter_map(|i| Some(TaskFailure::from_finished(i, handles[i].take()?)))
        .collect();
    // The other handles (completed, or cancelled by the group) drop here,
    // outside any lock.
    Err(GroupError::new(failures))
}

impl<T: Fallible> Future for TaskGroup<T> {
    type Output = Result<Vec<T::Success>, GroupError<T>>;

    /// Ready once every task of the group has ended; see
    /// [`wait`](TaskGroup::wait).
    ///
    /// # Panics
    ///
    /// Panics if polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_end(cx)
    }
}

impl<T> Drop for TaskGroup<T> {
    /// Cancels the group's unfinished tasks.
    fn drop(&mut self) {
        let (to_cancel, members) = {
            let mut state = lock(&self.shared.state);
            // Everything, even a member whose failure is on its way: nobody
            // will look at it.
            state.failed.clear();
            let to_cancel = state.begin_cancel();
            (to_cancel, std::mem::take(&mut state.members))
        };
        cancel_all(to_cancel);
        // Dropping the handles detaches the tasks; a failure nobody looked
        // at is reported as never retrieved.
        drop(members);
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("TaskGroup")
            .field("limit", &self.pool.limit())
            .field("tasks", &state.watch.len())
            .field("unfinished", &state.watch.unreported())
            .field("cancelling", &state.cancelling)
            .finish()
    }
}
