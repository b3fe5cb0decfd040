//! A task's cell: its core and one slot in one allocation, and, for a
//! `Send` future, the runner that polls that future in place.
//!
//! A queued task is its cell in the pool's FIFO queue. When it starts, a
//! future task does not move into a runner of its own: the cell is the
//! runner. Waking it queues the cell itself on its pool's run queue (a
//! global pool's workers, or the daemon thread's loop), and running it
//! polls the future where it has been since `submit`. So such a task costs
//! one allocation, and its future is never copied once it runs.
//!
//! # The slot
//!
//! One slot holds what the task has in each stage of its life: the payload
//! and its queue place while queued; the future and its permit while it
//! runs in place; then its value or its panic's payload (a cancel, a
//! timeout and a shutdown store nothing: the handle makes their error from
//! the core). The value takes the place of the spent future, so a task
//! costs the larger of the two, not both.
//!
//! The slot has no lock. The core's state word says which thread owns it,
//! and only that thread touches it:
//!
//! | stage (state word)                         | owner |
//! |--------------------------------------------|-------|
//! | queued                                     | the submitter until the task is queued; then nobody |
//! | started, not `READY`                       | the thread that won `begin` (the starter) |
//! | started and `READY` (in place)             | the thread holding `POLLING` |
//! | started, running elsewhere                 | its runner, in `complete` |
//! | ended unstarted                            | the thread that won `end_unstarted` (drops the payload) |
//! | ending or done: a value or a panic         | the handle, which takes it; once the handle is gone, the later of the runner that ended the task (which reports a failure before the pool counts the task, and drops the value after giving its permit back) and the handle's drop (which does both) |
//! | ending: a value discarded by a cancel      | the runner that ended it, which drops it before publishing |
//!
//! Each hand-over is a read-modify-write of the state word (release by the
//! one, acquire by the next), and a cancel, a drop of the handle and a
//! wake-up only flip bits of that word: none of them touches the slot. So
//! a task may cancel itself, drop its handle or wake itself from inside
//! its own poll or its future's `Drop`.
//!
//! # Scheduling bits
//!
//! The same protocol as `async-task`'s tasks:
//!
//! - `SCHEDULED`: the cell is in a run queue, or will be put back in one
//!   when the poll under way ends. A wake-up sets it and queues the cell
//!   only if it was clear and no poll is under way, so a cell is in at
//!   most one queue at a time, and one wake-up during a poll is not lost.
//! - `POLLING`: a thread is polling the future (or ending the task). Only
//!   one can: it is set with `SCHEDULED` cleared by whoever popped the
//!   cell.
//! - `CLOSED`: the task ended; wake-ups are ignored.
//! - `READY`: the starter has set the slot up; a poll that finds it clear
//!   (the cell was queued by a cancel during the start) leaves the slot
//!   alone, and the start's own wake-up queues it again.
//!
//! A payload that is not a `Send` future (a daemon's local closure, a
//! blocking closure) starts a runner elsewhere (`run.rs`) and keeps only
//! that runner's waker here, for a cancel to wake it.

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Wake, Waker};

use crate::engine::fifo::Link;
use crate::engine::limiter::Token;
use crate::engine::outcome::{TaskError, TaskLabel, panic_message};
use crate::engine::report;
use crate::engine::run::{Timer, poll_guarded};
use crate::engine::sched::{Runnable, Schedule};
use crate::engine::shared::PoolShared;
use crate::engine::stats::Ended;
use crate::engine::task::{
    CLOSED, Classifier, Exit, Job, Outcome, POLLING, Payload, READY, RunnerSlot, SCHEDULED, Start, TaskCore, TaskId,
    TaskOptions, TaskRef, is_failure,
};
use crate::engine::util::lock;

/// What a task holds, by stage (see the module docs).
enum Slot<P, T> {
    /// Waiting for a token: the payload, not polled yet, and the queue
    /// place it holds (with a queue capacity).
    Queued { payload: P, place: Option<Token> },
    /// Running in place: the future, pinned from its first poll, and the
    /// permit it runs under.
    InPlace { future: P, permit: Option<Token> },
    /// Ended with a value.
    Value(T),
    /// Ended with a panic.
    Panicked(Box<dyn Any + Send>),
    /// Nothing: launched elsewhere, ended without a value, or taken.
    Empty,
}

/// One task. See the module docs.
pub(crate) struct Cell<P: Payload> {
    core: TaskCore,
    runner: P::Runner,
    slot: UnsafeCell<Slot<P, P::Output>>,
}

// SAFETY: the slot is the only part that is not `Sync`. It holds a `P` and
// a `P::Output`, both `Send`, and it is only ever touched by one thread at
// a time, the one the state word names (see the module docs); the one
// exception is a failed value read by a dropped handle's report, which
// `settle` and `detach` make exactly one thread do. So sharing the cell
// between threads shares no `&P` or `&P::Output` concurrently, and the
// cell can be sent and shared like the `Arc<dyn Job>` it is.
#[allow(unsafe_code)]
unsafe impl<P: Payload> Sync for Cell<P> {}

impl<P: Payload> Cell<P> {
    /// A queued task holding `payload` (and `place`, its place in a bounded
    /// queue).
    pub(crate) fn new(payload: P, place: Option<Token>, options: TaskOptions, pool: Arc<PoolShared>) -> Arc<Cell<P>> {
        Arc::new(Cell {
            core: TaskCore::new(options, pool),
            runner: P::Runner::default(),
            slot: UnsafeCell::new(Slot::Queued { payload, place }),
        })
    }

    /// Takes the payload back from a task that was never queued (so this
    /// is the only reference to it).
    pub(crate) fn take_back(mut self: Arc<Self>) -> Option<P> {
        let this = Arc::get_mut(&mut self)?;
        match mem::replace(this.slot.get_mut(), Slot::Empty) {
            Slot::Queued { payload, place } => {
                this.core.pool().give_back_slot(place);
                Some(payload)
            }
            _ => None,
        }
    }

    /// Drops the payload of a task that ended unstarted, and gives its
    /// queue place back. Only the thread that ended it calls this.
    fn drop_queued(&self) {
        // SAFETY: this thread won `end_unstarted` (its callers call this
        // only then), so the task never starts: no starter or poller
        // touches the slot, and the handle makes a cancel's or a
        // shutdown's error without reading it.
        #[allow(unsafe_code)]
        let old = unsafe { mem::replace(&mut *self.slot.get(), Slot::Empty) };
        if let Slot::Queued { payload, place } = old {
            self.core.pool().give_back_slot(place);
            report::drop_contained(payload, self.core.label(), "its cancelled future");
        }
    }

    /// Marks the cell scheduled. Returns whether the caller must queue it
    /// (it was neither queued, nor being polled, nor ended).
    fn mark_scheduled(&self) -> bool {
        // One read-modify-write whatever the state, never a plain load: it
        // releases what the waker did before (a cancel's flag) to the poll
        // that clears the bit, even when the cell was already queued (as
        // async-task does). SeqCst: a cancel sets its flag, then wakes; the
        // poller marks itself polling, then checks the flag (see `run`).
        // Of the two, the later sees the other. The bit set on an ended
        // cell is harmless: nothing runs or queues it again.
        let before = self.core.state.fetch_or(SCHEDULED, Ordering::SeqCst);
        before & (SCHEDULED | POLLING | CLOSED) == 0
    }

    /// `SCHEDULED` -> `POLLING`, by whoever popped the cell from a run
    /// queue. Returns the state it saw, or `None` if the task ended.
    fn claim(&self) -> Option<u64> {
        // SeqCst, as every change of the scheduling bits: this acquires the
        // slot from whoever queued the cell (and set `READY`), and orders
        // the claim against a cancel's flag (see `mark_scheduled`).
        self.core
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (s & CLOSED == 0).then_some((s & !SCHEDULED) | POLLING)
            })
            .ok()
    }

    /// The rest of `abandon`, once it holds `POLLING` (`state` is what its
    /// claim saw).
    fn abandon_claimed(&self, mut state: u64) {
        loop {
            if state & READY != 0 {
                // Set up, perhaps just now by a start that saw this claim
                // and so left the queuing to it: it ends here.
                self.finish(Exit::Cancelled);
                return;
            }
            // Queued by a cancel while it was being started: not set up
            // yet. The claim is given back with a compare-and-swap, so a
            // start that sets `READY` meanwhile is seen (and the task ended
            // above), never wiped; otherwise the start's own wake-up queues
            // it again, and whoever runs or abandons it then ends it.
            // SeqCst: a failure acquires the start's `READY` (and its slot).
            match self.core.state.compare_exchange_weak(
                state,
                state & !(SCHEDULED | POLLING),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }

    /// Ends a task running in place: drops its future where it is, then
    /// publishes `exit`, then gives its permit back. The caller holds
    /// `POLLING` and saw `READY`.
    fn finish(&self, exit: Exit<P::Output>) {
        // Release: nothing after this polls the cell again.
        self.core.state.fetch_or(CLOSED, Ordering::Release);
        // SAFETY: the caller polls the cell (`POLLING`, and `READY` was
        // set), and the task has not settled: this thread owns the slot.
        #[allow(unsafe_code)]
        let slot = unsafe { &mut *self.slot.get() };
        let Slot::InPlace { permit, .. } = slot else {
            unreachable!("a task that ends in place was running in place");
        };
        let permit = permit.take();
        // Dropped in place (an assignment drops the old value where it is,
        // and still writes the new one if that `Drop` panics): it was
        // pinned.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| *slot = Slot::Empty)) {
            report::log_drop_panic(self.core.label(), "its future", payload.as_ref());
            report::drop_panic(payload);
        }
        if let Some(timer) = self.core.timer() {
            drop(lock(timer).take());
        }
        let unwanted = self.end(exit);
        if let Some(permit) = permit {
            self.core.pool().pass_on(permit);
        }
        if unwanted {
            self.drop_unwanted();
        }
    }

    /// Stores `exit`'s value (if any), decides the outcome, reports it if
    /// nobody will look at it, and has the pool count it. The caller owns
    /// the slot (it holds an empty one) and has not settled the task.
    /// Returns whether the handle was already gone: then the caller drops
    /// the value with [`drop_unwanted`](Self::drop_unwanted) once it has
    /// given its permit back (a `Drop` may wait for the task queued next).
    fn end(&self, exit: Exit<P::Output>) -> bool {
        let (seen, stored) = match exit {
            Exit::Value(value) => {
                // User code (a `Fallible` impl): contained.
                let failed = report::caught(|| value.failure().is_some()).unwrap_or(false);
                let seen = if failed { Ended::Failed } else { Ended::Completed };
                (seen, Slot::Value(value))
            }
            Exit::Panicked(payload) => (Ended::Panicked, Slot::Panicked(payload)),
            Exit::TimedOut => (Ended::TimedOut, Slot::Empty),
            Exit::Cancelled => (Ended::Cancelled, Slot::Empty),
        };
        // SAFETY: the caller owns the slot until `settle` below publishes
        // it; the old content is `Empty`, so nothing is dropped here.
        #[allow(unsafe_code)]
        unsafe {
            *self.slot.get() = stored;
        }
        let (ended, detached) = self.core.settle(seen);
        if ended != seen {
            // Cancelled before it could end: a value or a panic's payload
            // is discarded (user `Drop` code, contained).
            // SAFETY: settled as cancelled, which the handle makes its
            // error from without reading the slot, and no report reads it:
            // this thread still owns it.
            #[allow(unsafe_code)]
            let discarded = unsafe { mem::replace(&mut *self.slot.get(), Slot::Empty) };
            report::drop_contained(discarded, self.core.label(), "its discarded value");
        } else if detached && is_failure(ended) {
            // The handle is gone: a failure is reported now, before the task
            // counts as ended (whoever waits for the pool to go idle or stop
            // sees it reported).
            let message = self.describe(ended);
            self.core
                .pool()
                .report_unobserved(self.core.id(), self.core.name(), message);
        }
        self.core.publish_running(ended);
        detached && ended == seen
    }

    /// Drops the value or the panic's payload of a task whose handle is
    /// gone, here and contained: left in the slot, it would be dropped with
    /// the cell, by whoever drops the last reference to it (a clone of the
    /// task's waker, inside another task or on a timer's or runtime's
    /// thread), where a panicking `Drop` is nobody's to catch. The caller
    /// is the one thread that learned both that the task ended with a value
    /// or a panic and that its handle is gone (see `settle` and `detach`):
    /// the runner that ended it, after it gave its permit back, or the
    /// handle's drop.
    fn drop_unwanted(&self) {
        // SAFETY: the outcome is settled and is a value or a panic (or
        // nothing), the handle that alone takes it is gone, and of the
        // thread that settled it and the one that dropped the handle only
        // the later one, the caller, gets here: it owns the slot.
        #[allow(unsafe_code)]
        let unwanted = unsafe { mem::replace(&mut *self.slot.get(), Slot::Empty) };
        report::drop_contained(unwanted, self.core.label(), "its value, which nobody took");
    }

    /// The one-line description of a failed outcome, for the "never
    /// retrieved" report. Formats user `Debug` code, so it is contained.
    fn describe(&self, ended: Ended) -> String {
        let label = self.core.label();
        // SAFETY: the outcome is a failure and settled: its value or its
        // payload only changes when the handle takes it, and the handle is
        // gone (this is its report, made once, see `settle` and `detach`).
        #[allow(unsafe_code)]
        let slot = unsafe { &*self.slot.get() };
        let describe = || match (ended, slot) {
            (Ended::Failed, Slot::Value(value)) => match value.failure() {
                Some(err) => format!("{label} failed: {err:?}"),
                None => format!("{label} failed"),
            },
            (Ended::Panicked, Slot::Panicked(payload)) => describe_panic(label, payload.as_ref()),
            _ => format!("{label} failed"),
        };
        report::caught(describe).unwrap_or_else(|| format!("{} failed", self.core.label()))
    }
}

/// How a panic reads in a "never retrieved" report: as its `TaskError`.
fn describe_panic(label: TaskLabel<'_>, payload: &(dyn Any + Send)) -> String {
    match panic_message(payload) {
        Some(message) => format!("{label} panicked with message {message:?}"),
        None => format!("{label} panicked"),
    }
}

impl<P: Payload> Drop for Cell<P> {
    fn drop(&mut self) {
        // A task dropped while still queued gives its queue place back (its
        // payload is dropped with the cell).
        if let Slot::Queued { place, .. } = self.slot.get_mut()
            && let Some(place) = place.take()
        {
            self.core.pool().give_back_slot(Some(place));
        }
    }
}

impl<P: Payload> Wake for Cell<P> {
    fn wake(self: Arc<Self>) {
        if self.mark_scheduled() {
            let pool = Arc::clone(self.core.pool());
            pool.schedule(Runnable::Cell(self));
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.mark_scheduled() {
            self.core
                .pool()
                .schedule(Runnable::Cell(Arc::clone(self) as Arc<dyn Schedule>));
        }
    }
}

impl<P: Payload> Schedule for Cell<P> {
    fn run(self: Arc<Self>) {
        let Some(state) = self.claim() else { return };
        // Not `READY`: woken by a cancel while it was being started; the
        // start queues it again once it is set up.
        if state & READY != 0 {
            let waker = Waker::from(Arc::clone(&self));
            let mut cx = Context::from_waker(&waker);
            // SAFETY: this thread holds `POLLING` and saw `READY`: it owns
            // the slot, which holds the running future. The future lives in
            // this cell, inside an `Arc`, and never moves from its first
            // poll until it is dropped where it is (`finish` assigns over
            // it; nothing takes it out of a running task).
            #[allow(unsafe_code)]
            let future = match unsafe { &mut *self.slot.get() } {
                Slot::InPlace { future, .. } => unsafe { Pin::new_unchecked(future) },
                _ => unreachable!("a ready task runs in place until it ends"),
            };
            let mut timer = self.core.timer().map(lock);
            let polled = poll_guarded(
                &self.core,
                |cx| future.poll_in_place(cx),
                timer.as_deref_mut().and_then(Option::as_mut),
                &mut cx,
            );
            drop(timer);
            if let Poll::Ready(exit) = polled {
                self.finish(exit);
                return;
            }
        }
        // POLLING -> idle, or back in the queue if woken meanwhile.
        let mut state = self.core.state.load(Ordering::SeqCst);
        loop {
            if state & CLOSED != 0 {
                return;
            }
            if state & SCHEDULED != 0 {
                self.core.state.fetch_and(!POLLING, Ordering::SeqCst);
                let pool = Arc::clone(self.core.pool());
                pool.schedule(Runnable::Cell(self));
                return;
            }
            match self
                .core
                .state
                .compare_exchange_weak(state, state & !POLLING, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }

    fn abandon(self: Arc<Self>) {
        // Its executor is gone: it ends as cancelled, as a runner dropped
        // unfinished does.
        if let Some(state) = self.claim() {
            self.abandon_claimed(state);
        }
    }
}

impl<P: Payload> TaskRef<P::Output> for Cell<P> {
    fn core(&self) -> &TaskCore {
        &self.core
    }

    fn register_runner(&self, waker: &Waker) {
        self.runner.register(waker);
    }

    fn clear_runner(&self) {
        drop(self.runner.take());
    }

    fn complete(&self, exit: Exit<P::Output>) -> bool {
        // Only a runner elsewhere calls this; its payload left the slot at
        // the start, so the slot is empty, and the runner owns it.
        self.end(exit)
    }

    fn drop_unwanted(&self) {
        Cell::drop_unwanted(self);
    }

    fn take(&self) -> Option<Result<P::Output, TaskError>> {
        let ended = self.core.mark_taken()?;
        let id = self.core.id();
        let name = || self.core.name_arc();
        Some(match ended {
            Ended::Completed | Ended::Failed | Ended::Panicked => {
                // SAFETY: done with a value or a panic, and taken once (by
                // the handle's owner, `mark_taken` above): nobody else
                // touches the slot of a task that ended with one.
                #[allow(unsafe_code)]
                let slot = unsafe { mem::replace(&mut *self.slot.get(), Slot::Empty) };
                match slot {
                    Slot::Value(value) => Ok(value),
                    Slot::Panicked(payload) => Err(TaskError::panicked(id, name(), payload)),
                    _ => unreachable!("a task that ended with a value or a panic stored it"),
                }
            }
            Ended::TimedOut => Err(TaskError::timed_out(
                id,
                name(),
                self.core.timeout().expect("a task that timed out had a timeout"),
            )),
            Ended::Cancelled => Err(TaskError::cancelled(id, name())),
            Ended::Shutdown => Err(TaskError::shutdown(id, name())),
        })
    }

    fn detach(&self) {
        let Some(ended) = self.core.detach() else { return };
        if is_failure(ended) {
            let message = self.describe(ended);
            self.core
                .pool()
                .report_unobserved(self.core.id(), self.core.name(), message);
        }
        if matches!(ended, Ended::Completed | Ended::Failed | Ended::Panicked) {
            // Ended with a value or a panic that nobody will take now.
            self.drop_unwanted();
        }
    }

    fn classifier(&self) -> Classifier<P::Output> {
        <P::Output as Outcome>::failure
    }

    fn cancel(self: Arc<Self>) -> bool {
        self.core.cancel_with(
            || self.drop_queued(),
            || {
                if P::IN_PLACE {
                    // A wake-up, which only flips bits of the state word: a
                    // task may cancel itself from inside its own poll.
                    Wake::wake_by_ref(&self);
                } else if let Some(runner) = self.runner.get() {
                    runner.wake();
                }
            },
        )
    }

    fn cancel_queued(&self) -> bool {
        self.core.end_unstarted(Ended::Cancelled)
    }

    fn drop_payload(&self) {
        self.drop_queued();
    }

    fn job(self: Arc<Self>) -> Arc<dyn Job> {
        self
    }
}

impl<P: Payload> Job for Cell<P> {
    fn id(&self) -> TaskId {
        self.core.id()
    }

    fn is_done(&self) -> bool {
        self.core.is_finished()
    }

    fn start(self: Arc<Self>, permit: Token) -> Result<(), Token> {
        if !self.core.begin() {
            return Err(permit);
        }
        self.start_begun(permit);
        Ok(())
    }

    fn end_unstarted(&self, ended: Ended) -> bool {
        let ended_here = self.core.end_unstarted(ended);
        if ended_here {
            self.drop_queued();
        }
        ended_here
    }

    fn cancel(self: Arc<Self>) -> bool {
        TaskRef::cancel(self)
    }

    fn link(&self) -> &Link {
        &self.core.link
    }
}

impl<P: Payload> Cell<P> {
    /// The rest of `start`, once this thread won `begin`.
    fn start_begun(self: Arc<Self>, permit: Token) {
        let pool = Arc::clone(self.core.pool());
        let (key, aborted) = pool.on_start(Arc::clone(&self) as Arc<dyn Job>);
        self.core.set_key(key);
        let payload = {
            // SAFETY: this thread won `begin`: it owns the slot until it
            // sets `READY` (in place) or launches the runner (elsewhere).
            // A cancel meanwhile only flips bits, and a poll it causes
            // finds `READY` clear and leaves the slot alone.
            #[allow(unsafe_code)]
            let slot = unsafe { &mut *self.slot.get() };
            let Slot::Queued { payload, place } = mem::replace(slot, Slot::Empty) else {
                unreachable!("a task that begins is still queued");
            };
            pool.give_back_slot(place);
            if P::IN_PLACE {
                *slot = Slot::InPlace {
                    future: payload,
                    permit: Some(permit),
                };
                None
            } else {
                Some((payload, permit))
            }
        };
        if aborted {
            TaskRef::cancel(Arc::clone(&self));
        }
        match payload {
            None => {
                if let Some(timer) = self.core.timer() {
                    *lock(timer) = Timer::new(self.core.timeout());
                }
                // SeqCst, as a wake-up: hands the slot to the poller.
                let before = self.core.state.fetch_or(READY | SCHEDULED, Ordering::SeqCst);
                if before & (SCHEDULED | POLLING | CLOSED) == 0 {
                    pool.schedule(Runnable::Cell(self));
                }
            }
            Some((payload, permit)) => {
                let timeout = self.core.timeout();
                payload.launch(Start {
                    task: self,
                    permit,
                    timeout,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run::Spawned;

    /// Found by review: a cancel queues a cell whose start is still setting
    /// it up; its executor is gone, so the cell is abandoned, and the
    /// abandon claims it and sees it not `READY`. The start then publishes
    /// `READY` and, seeing the claim, leaves the queuing to its holder; the
    /// abandon used to give its claim back by clearing the bits blindly,
    /// wiping that wake-up: the task was cancelled and never ended. The
    /// interleaving is forced here step by step, with the real code of
    /// both sides.
    #[test]
    fn an_abandon_that_overlaps_the_start_ends_the_task() {
        let shared = PoolShared::for_test(1);
        let options = TaskOptions {
            name: None,
            timeout: None,
        };
        let cell = Cell::new(
            Spawned::new(std::future::pending::<()>()),
            None,
            options,
            Arc::clone(&shared),
        );
        let permit = shared.limiter().try_acquire().unwrap().into_token();
        // The start begins; a cancel's wake-up queues the cell; the queue's
        // holder (its executor gone) abandons it: the claim sees no READY.
        assert!(cell.core.begin());
        assert!(cell.core.cancel_with(|| unreachable!("it started"), || {}));
        assert!(cell.mark_scheduled());
        let claimed = cell.claim().unwrap();
        assert_eq!(claimed & READY, 0);
        // The start goes on: it sets the task up and publishes it ready.
        Arc::clone(&cell).start_begun(permit);
        // The abandon gives its claim back.
        cell.abandon_claimed(claimed);
        assert!(cell.core.is_finished(), "the cancelled task must end");
        let outcome = TaskRef::take(&*cell).expect("an outcome");
        assert!(outcome.unwrap_err().is_cancelled());
        assert!(shared.limiter().try_acquire().is_some(), "its permit is back");
    }
}
