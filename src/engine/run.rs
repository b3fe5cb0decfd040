//! Running a task under its permit: the poll every runner makes, and the
//! runner of the payloads that are not polled in their cell.
//!
//! A task's future is polled by [`poll_guarded`]: it checks for a cancel,
//! polls the future inside `catch_unwind`, then the per-task timer. A
//! `Send` future is polled in place by its cell (`cell.rs`); a daemon's
//! local closure and a blocking closure start a [`Run`] instead, a future
//! spawned on their executor that owns what they make. Either way, when the
//! task ends, however it ends, the runner drops the future (catching a
//! panic from its `Drop`), publishes the outcome, and only then gives the
//! permit back. So every task counted as running holds a permit, and the
//! stats never show more running than the limit. If the executor drops a
//! runner unfinished, it does the same and publishes `Cancelled`.

use std::cell::Cell as StdCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_timer::Delay;
use pin_project_lite::pin_project;

use crate::engine::limiter::Token;
use crate::engine::report;
use crate::engine::rt;
use crate::engine::shared::{PoolId, PoolKind, PoolShared};
use crate::engine::task::{Exit, Outcome, Payload, RunnerWaker, Start, TaskCore, TaskId, TaskRef};

/// A per-task timeout this long or longer means "no timeout": it cannot
/// expire in practice, and the timer could not represent its deadline.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

thread_local! {
    /// The pool and task being polled on this thread, if any.
    static CURRENT: StdCell<Option<(PoolId, TaskId)>> = const { StdCell::new(None) };
}

/// The pool whose task is being polled on this thread right now.
pub(crate) fn current_pool() -> Option<PoolId> {
    CURRENT.with(|c| c.get()).map(|(pool, _)| pool)
}

/// Panics if a pool task is being polled on this thread: `what` is about
/// to block the thread, which inside a task stalls an executor thread and
/// deadlocks once every executor thread waits for tasks that can then
/// never run (tokio's `block_on` panics inside a runtime for the same
/// reason). `instead` names the async form to use.
pub(crate) fn forbid_blocking_in_task(what: impl std::fmt::Display, instead: &str) {
    if current_pool().is_some() {
        panic!("{what} was called inside a pool task, where blocking the thread can deadlock the executor; {instead}");
    }
}

/// Sets [`CURRENT`] for the duration of one poll.
struct Entered(Option<(PoolId, TaskId)>);

impl Entered {
    fn enter(pool: PoolId, task: TaskId) -> Entered {
        Entered(CURRENT.with(|c| c.replace(Some((pool, task)))))
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

pin_project! {
    #[project = SlotProj]
    enum Slot<F> {
        Live { #[pin] future: F },
        Empty,
    }
}

/// A task's per-task timeout, running from its start.
pub(crate) struct Timer {
    delay: Delay,
}

impl Timer {
    /// The timer of a task with `timeout`, started now; `None` without one
    /// (or with one too long to ever expire).
    pub(crate) fn new(timeout: Option<Duration>) -> Option<Timer> {
        timeout.filter(|t| *t < FOREVER).map(|after| Timer {
            delay: Delay::new(after),
        })
    }
}

/// Polls a task's future once, as every runner does: a cancel first, then
/// `poll` (with the task marked current on this thread, its panic caught
/// and logged), then the timer. `Ready` says how the task ended.
pub(crate) fn poll_guarded<T>(
    core: &TaskCore,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    timer: Option<&mut Timer>,
    cx: &mut Context<'_>,
) -> Poll<Exit<T>> {
    if core.is_cancel_requested() {
        return Poll::Ready(Exit::Cancelled);
    }
    let polled = {
        let _entered = Entered::enter(core.pool().id(), core.id());
        catch_unwind(AssertUnwindSafe(|| poll(cx)))
    };
    match polled {
        Ok(Poll::Ready(value)) => Poll::Ready(Exit::Value(value)),
        Err(payload) => {
            report::log_panic(core.label(), payload.as_ref());
            Poll::Ready(Exit::Panicked(payload))
        }
        Ok(Poll::Pending) => match timer {
            Some(timer) => match Pin::new(&mut timer.delay).poll(cx) {
                Poll::Ready(()) => Poll::Ready(Exit::TimedOut),
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Pending,
        },
    }
}

pin_project! {
    /// The runner of a payload not polled in its cell. See the module docs.
    pub(crate) struct Run<F: Future> {
        #[pin]
        slot: Slot<F>,
        // `None` once the outcome is published.
        task: Option<Arc<dyn TaskRef<F::Output>>>,
        permit: Option<Held>,
        timer: Option<Timer>,
    }

    impl<F: Future> PinnedDrop for Run<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before it finished (the executor went away): the task
            // ends as cancelled, with the same cleanup as any other end.
            Run::finish(this, Exit::Cancelled);
        }
    }
}

impl<F: Future> Run<F> {
    fn new(future: F, start: Start<F::Output>) -> Run<F> {
        let Start { task, permit, timeout } = start;
        Run::with_permit(future, task, Held::Own(permit), timeout)
    }

    /// A runner that drops `permit` when the task ends.
    fn with_permit(future: F, task: Arc<dyn TaskRef<F::Output>>, permit: Held, timeout: Option<Duration>) -> Run<F> {
        Run {
            slot: Slot::Live { future },
            task: Some(task),
            permit: Some(permit),
            timer: Timer::new(timeout),
        }
    }

    /// Drops the future, publishes `exit`, then drops the permit. Idempotent.
    fn finish(self: Pin<&mut Self>, exit: Exit<F::Output>) {
        let mut this = self.project();
        let Some(task) = this.task.take() else { return };
        let core = task.core();
        let mut slot = this.slot.as_mut();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| slot.set(Slot::Empty))) {
            report::log_drop_panic(core.label(), "its future", payload.as_ref());
            report::drop_panic(payload);
        }
        // The executor's waker goes now, on the executor's thread: left in
        // the task's cell, it would be the last reference to the executor's
        // task and free it on whichever thread drops the handle, which is a
        // cross-thread free (and lock traffic in the allocator) per task.
        task.clear_runner();
        let unwanted = task.complete(exit);
        if let Some(permit) = this.permit.take() {
            permit.release(core.pool());
        }
        if unwanted {
            task.drop_unwanted();
        }
    }
}

impl<F: Future> Future for Run<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let exit = {
            let this = self.as_mut().project();
            let Some(task) = this.task.as_ref() else {
                return Poll::Ready(());
            };
            // Register before checking, so a cancel that lands after the
            // check finds the waker (see `TaskCore::cancel_with`).
            task.register_runner(cx.waker());
            let SlotProj::Live { future } = this.slot.project() else {
                unreachable!("a runner with a task has a future");
            };
            match poll_guarded(task.core(), |cx| future.poll(cx), this.timer.as_mut(), cx) {
                Poll::Ready(exit) => exit,
                Poll::Pending => return Poll::Pending,
            }
        };
        self.finish(exit);
        Poll::Ready(())
    }
}

/// The permit a runner gives back when its task ends.
enum Held {
    /// The task's own token: the runner passes it on to the next queued
    /// task, or back to the limiter (no reference count is touched).
    Own(Token),
    /// Shared with a blocking closure: given back when both are done.
    Shared(Arc<SharedToken>),
}

impl Held {
    /// Gives the permit back, or this share of it.
    fn release(self, pool: &PoolShared) {
        match self {
            Held::Own(token) => pool.pass_on(token),
            Held::Shared(share) => drop(share),
        }
    }
}

/// A token held by both a blocking closure and its runner: the last of
/// them to drop it gives it back.
struct SharedToken {
    pool: Arc<PoolShared>,
    token: Option<Token>,
}

impl Drop for SharedToken {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.pool.pass_on(token);
        }
    }
}

/// Spawns a `Send` runner where its pool runs tasks, from any thread.
fn spawn_send<F>(pool: &PoolShared, run: Run<F>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match pool.kind() {
        PoolKind::Global => pool.workers().spawn(run),
        PoolKind::Daemon if crate::engine::local::is_daemon_thread_of(pool.id()) => rt::spawn_local(run),
        // Started by a submitter on another thread (see `PoolShared::submit`).
        PoolKind::Daemon => pool.run_queue().spawn(run),
    }
}

pin_project! {
    /// A `Send` future, the common payload: polled in place by its cell.
    pub(crate) struct Spawned<F> {
        #[pin]
        future: F,
    }
}

impl<F> Spawned<F> {
    pub(crate) fn new(future: F) -> Spawned<F> {
        Spawned { future }
    }

    /// The future back (for a refused submit).
    pub(crate) fn into_inner(self) -> F {
        self.future
    }
}

impl<F> Payload for Spawned<F>
where
    F: Future + Send + 'static,
    F::Output: Outcome,
{
    type Output = F::Output;
    type Runner = ();
    const IN_PLACE: bool = true;

    fn poll_in_place(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }

    fn launch(self, _: Start<F::Output>) {
        unreachable!("a future is polled in its cell");
    }
}

/// A `Send` closure that makes a non-`Send` future on the daemon thread.
pub(crate) struct LocalFn<C>(pub(crate) C);

impl<C, F> Payload for LocalFn<C>
where
    C: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Outcome,
{
    type Output = F::Output;
    type Runner = RunnerWaker;
    const STARTS_ANYWHERE: bool = false;
    const IN_PLACE: bool = false;

    fn poll_in_place(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<F::Output> {
        unreachable!("a local closure starts a runner of its own");
    }

    fn launch(self, start: Start<F::Output>) {
        debug_assert_eq!(start.task.core().pool().kind(), PoolKind::Daemon);
        let closure = self.0;
        // Building the future is user code: a panic there is the task's.
        let made = {
            let core = start.task.core();
            let _entered = Entered::enter(core.pool().id(), core.id());
            catch_unwind(AssertUnwindSafe(closure))
        };
        match made {
            Ok(future) => rt::spawn_local(Run::new(future, start)),
            // The task still ends in a poll of its own, where its runner
            // catches the panic again (without printing it twice) and logs
            // it: ending it here, inside the start, would start the next
            // queued task inside this one, and a long run of closures that
            // panic would nest one start per task on the stack.
            Err(payload) => rt::spawn_local(Run::new(resume::<F::Output>(payload), start)),
        }
    }
}

/// A future that resumes a caught panic when first polled.
async fn resume<T>(payload: Box<dyn std::any::Any + Send>) -> T {
    std::panic::resume_unwind(payload)
}

/// A blocking closure, run on the blocking thread pool under the permit.
pub(crate) struct BlockingFn<C>(pub(crate) C);

impl<C, T> Payload for BlockingFn<C>
where
    C: FnOnce() -> T + Send + 'static,
    T: Outcome,
{
    type Output = T;
    type Runner = RunnerWaker;
    const IN_PLACE: bool = false;

    fn poll_in_place(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        unreachable!("a blocking closure starts a runner of its own");
    }

    /// The closure and the runner share the permit, and it goes back when
    /// the last of them is done. Normally that is the runner, after it has
    /// published the outcome (so the stats never count more running tasks
    /// than there are permits). But a thread cannot be interrupted: when the
    /// task is cancelled or times out while the closure runs, the closure
    /// keeps the permit until it really returns, so the limit counts
    /// threads at work, not handles.
    fn launch(self, start: Start<T>) {
        let Start { task, permit, timeout } = start;
        let pool = Arc::clone(task.core().pool());
        let closure = self.0;
        let permit = Arc::new(SharedToken {
            pool: Arc::clone(&pool),
            token: Some(permit),
        });
        let closure_permit = Arc::clone(&permit);
        let work = pool.backend().spawn_blocking(move || {
            let _permit = closure_permit;
            closure()
        });
        spawn_send(&pool, Run::with_permit(work, task, Held::Shared(permit), timeout));
    }
}
