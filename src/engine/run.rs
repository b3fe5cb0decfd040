//! The runner: the future the executor actually polls for a task.
//!
//! [`Run`] owns the task's future and its permit. On every poll it checks for
//! a cancel, polls the future inside `catch_unwind`, then the per-task
//! timer. When the task ends, however it ends, the runner drops the future
//! (catching a panic from its `Drop`), publishes the outcome, and only then
//! gives the permit back. So every task counted as running holds a permit,
//! and the stats never show more running than the limit. If the executor
//! drops the runner unfinished, `PinnedDrop` does the same and publishes
//! `Cancelled`.

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
use crate::engine::shared::{PoolId, PoolShared, Runtime};
use crate::engine::task::{Exit, Payload, Start, TaskId, TaskRef};

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

pin_project! {
    /// A task's future under its permit. See the module docs.
    pub(crate) struct Run<F: Future> {
        #[pin]
        slot: Slot<F>,
        // `None` once the outcome is published.
        task: Option<Arc<dyn TaskRef<F::Output>>>,
        permit: Option<Held>,
        timer: Option<(Delay, Duration)>,
        key: usize,
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
        let Start {
            task,
            permit,
            timeout,
            key,
        } = start;
        Run::with_permit(future, task, Held::Own(permit), timeout, key)
    }

    /// A runner that drops `permit` when the task ends.
    fn with_permit(
        future: F,
        task: Arc<dyn TaskRef<F::Output>>,
        permit: Held,
        timeout: Option<Duration>,
        key: usize,
    ) -> Run<F> {
        let timer = timeout.filter(|t| *t < FOREVER).map(|t| (Delay::new(t), t));
        Run {
            slot: Slot::Live { future },
            task: Some(task),
            permit: Some(permit),
            timer,
            key,
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
        }
        // The executor's waker goes now, on the executor's thread: left in
        // the task's cell, it would be the last reference to the executor's
        // task and free it on whichever thread drops the handle, which is a
        // cross-thread free (and lock traffic in the allocator) per task.
        drop(core.runner.take());
        core.complete(exit, *this.key);
        if let Some(permit) = this.permit.take() {
            permit.release(core.pool());
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
            let core = task.core();
            // Register before checking, so a cancel that lands after the
            // check finds the waker (see `TaskCore::cancel_with`).
            core.runner.register(cx.waker());
            if core.is_cancel_requested() {
                Exit::Cancelled
            } else {
                let SlotProj::Live { future } = this.slot.project() else {
                    unreachable!("a runner with a task has a future");
                };
                let polled = {
                    let _entered = Entered::enter(core.pool().id(), core.id());
                    catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
                };
                match polled {
                    Ok(Poll::Ready(value)) => Exit::Value(value),
                    Err(payload) => {
                        report::log_panic(core.label(), payload.as_ref());
                        Exit::Panicked(payload)
                    }
                    Ok(Poll::Pending) => {
                        let Some((delay, after)) = this.timer else {
                            return Poll::Pending;
                        };
                        if Pin::new(delay).poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                        Exit::TimedOut(*after)
                    }
                }
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
    match pool.runtime() {
        Runtime::Global => pool.workers().spawn(run),
        Runtime::Daemon if crate::engine::local::is_daemon_thread_of(pool.id()) => rt::spawn_local(run),
        // Started by a submitter on another thread (see `PoolShared::submit`).
        Runtime::Daemon => pool.run_queue().spawn(run),
    }
}

/// A `Send` future, the common payload.
pub(crate) struct Spawned<F>(pub(crate) F);

impl<F> Payload for Spawned<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn launch(self, start: Start<F::Output>) {
        let pool = Arc::clone(start.task.core().pool());
        spawn_send(&pool, Run::new(self.0, start));
    }
}

/// A `Send` closure that makes a non-`Send` future on the daemon thread.
pub(crate) struct LocalFn<C>(pub(crate) C);

impl<C, F> Payload for LocalFn<C>
where
    C: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;
    const STARTS_ANYWHERE: bool = false;

    fn launch(self, start: Start<F::Output>) {
        debug_assert_eq!(start.task.core().pool().runtime(), Runtime::Daemon);
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
    T: Send + 'static,
{
    type Output = T;

    /// The closure and the runner share the permit, and it goes back when
    /// the last of them is done. Normally that is the runner, after it has
    /// published the outcome (so the stats never count more running tasks
    /// than there are permits). But a thread cannot be interrupted: when the
    /// task is cancelled or times out while the closure runs, the closure
    /// keeps the permit until it really returns, so the limit counts
    /// threads at work, not handles.
    fn launch(self, start: Start<T>) {
        let Start {
            task,
            permit,
            timeout,
            key,
        } = start;
        let pool = Arc::clone(task.core().pool());
        let closure = self.0;
        let permit = Arc::new(SharedToken {
            pool: Arc::clone(&pool),
            token: Some(permit),
        });
        let closure_permit = Arc::clone(&permit);
        let work = rt::spawn_blocking(move || {
            let _permit = closure_permit;
            closure()
        });
        spawn_send(&pool, Run::with_permit(work, task, Held::Shared(permit), timeout, key));
    }
}
