//! A task's cell: its core and its payload in one allocation, and, for a
//! `Send` future, the runner that polls that future in place.
//!
//! A queued task is its cell in the pool's FIFO queue. When it starts, a
//! future task does not move into a runner of its own: the cell is the
//! runner. Waking it queues the cell itself on its pool's run queue (a
//! global pool's workers, or the daemon thread's loop), and running it
//! polls the future where it has been since `submit`. So such a task costs
//! one allocation, and its future is never copied once queued.
//!
//! # Scheduling state
//!
//! `sched` holds three bits, the same protocol as `async-task`'s tasks:
//!
//! - `SCHEDULED`: the cell is in a run queue, or will be put back in one
//!   when the poll under way ends. A wake-up sets it and queues the cell
//!   only if it was clear and no poll is under way, so a cell is in at
//!   most one queue at a time, and one wake-up during a poll is not lost.
//! - `RUNNING`: a thread is polling the future. Only one can: it is set
//!   with `SCHEDULED` cleared by whoever popped the cell.
//! - `CLOSED`: the task ended; wake-ups are ignored.
//!
//! A payload that is not a `Send` future (a daemon's local closure, a
//! blocking closure) starts a runner elsewhere (`run.rs`) and keeps only
//! that runner's waker here, for a cancel to wake it.

use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use crate::engine::limiter::Token;
use crate::engine::report;
use crate::engine::run::{Timer, poll_guarded};
use crate::engine::sched::{Runnable, Schedule};
use crate::engine::shared::PoolShared;
use crate::engine::stats::Ended;
use crate::engine::task::{Exit, Job, Payload, Start, TaskCore, TaskId, TaskOptions, TaskRef};
use crate::engine::util::lock;

const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const CLOSED: u8 = 4;

/// Where a task is in its life, beside its payload.
enum Phase {
    /// Waiting for a token: the queue slot it holds (with a queue
    /// capacity).
    Queued { slot: Option<Token> },
    /// Running in place: its permit, its timer, its key in the pool's
    /// registry of running tasks.
    InPlace {
        permit: Option<Token>,
        timer: Option<Box<Timer>>,
        key: usize,
    },
    /// Running elsewhere: that runner's waker, once it registered one.
    Elsewhere { runner: Option<Waker> },
    /// Ended (or never queued and handed back).
    Ended,
}

/// The payload and the phase, under one lock. The lock is never contended
/// while a task runs in place: only the thread that set `RUNNING` polls.
struct Body<P> {
    /// The payload. An in-place payload stays here from `submit` to its
    /// end: it is pinned from its first poll and dropped where it is.
    payload: Option<P>,
    phase: Phase,
}

/// One task. See the module docs.
pub(crate) struct Cell<P: Payload> {
    core: TaskCore<P::Output>,
    body: Mutex<Body<P>>,
}

impl<P: Payload> Cell<P> {
    /// A queued task holding `payload` (and `slot`, its place in a bounded
    /// queue).
    pub(crate) fn new(
        payload: P,
        slot: Option<Token>,
        options: TaskOptions<P::Output>,
        pool: Arc<PoolShared>,
    ) -> Arc<Cell<P>> {
        Arc::new(Cell {
            core: TaskCore::new(options, pool),
            body: Mutex::new(Body {
                payload: Some(payload),
                phase: Phase::Queued { slot },
            }),
        })
    }

    /// Takes the payload back from a task that was never queued.
    pub(crate) fn take_back(&self) -> Option<P> {
        let mut body = lock(&self.body);
        let Phase::Queued { slot, .. } = mem::replace(&mut body.phase, Phase::Ended) else {
            return None;
        };
        self.core.pool().give_back_slot(slot);
        body.payload.take()
    }

    /// Drops the payload of a task that ended unstarted, and gives its
    /// queue slot back.
    fn drop_queued(&self) {
        let mut body = lock(&self.body);
        let Phase::Queued { slot, .. } = mem::replace(&mut body.phase, Phase::Ended) else {
            return;
        };
        let payload = body.payload.take();
        drop(body);
        self.core.pool().give_back_slot(slot);
        if let Some(payload) = payload {
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
        // poller marks itself running, then checks the flag (see `run`).
        // Of the two, the later sees the other. The bit set on an ended
        // cell is harmless: nothing runs or queues it again.
        let before = self.core.sched.fetch_or(SCHEDULED, Ordering::SeqCst);
        before & (SCHEDULED | RUNNING | CLOSED) == 0
    }

    /// Ends a task running in place: drops its future where it is, then
    /// publishes `exit`, then gives its permit back.
    fn finish(&self, mut body: MutexGuard<'_, Body<P>>, exit: Exit<P::Output>) {
        // Release: nothing after this polls the cell again.
        self.core.sched.fetch_or(CLOSED, Ordering::Release);
        let Phase::InPlace { permit, key, .. } = mem::replace(&mut body.phase, Phase::Ended) else {
            unreachable!("a task that ends in place was running in place");
        };
        // Dropped in place (an assignment drops the old value where it is,
        // and still writes `None` if that `Drop` panics): it was pinned.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.payload = None)) {
            report::log_drop_panic(self.core.label(), "its future", payload.as_ref());
        }
        drop(body);
        self.core.complete(exit, key);
        if let Some(permit) = permit {
            self.core.pool().pass_on(permit);
        }
    }
}

impl<P: Payload> Drop for Cell<P> {
    fn drop(&mut self) {
        // A task dropped while still queued gives its queue slot back (its
        // payload is dropped with the cell).
        let body = self.body.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Phase::Queued { slot, .. } = &mut body.phase
            && let Some(slot) = slot.take()
        {
            self.core.pool().give_back_slot(Some(slot));
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
        // SCHEDULED -> RUNNING.
        let mut state = self.core.sched.load(Ordering::SeqCst);
        loop {
            if state & CLOSED != 0 {
                return;
            }
            let running = (state & !SCHEDULED) | RUNNING;
            match self
                .core
                .sched
                .compare_exchange_weak(state, running, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        let waker = Waker::from(Arc::clone(&self));
        let mut body = lock(&self.body);
        let polled = {
            let Body { payload, phase } = &mut *body;
            match (payload.as_mut(), phase) {
                (Some(payload), Phase::InPlace { timer, .. }) => {
                    // SAFETY: the payload lives in this cell, inside an
                    // `Arc`, and never moves from its first poll until it
                    // is dropped where it is (`finish` assigns `None` over
                    // it; nothing takes it out of a running task). The
                    // lock and `RUNNING` give this thread the only access.
                    #[allow(unsafe_code)]
                    let payload = unsafe { Pin::new_unchecked(payload) };
                    let mut cx = Context::from_waker(&waker);
                    Some(poll_guarded(
                        &self.core,
                        |cx| payload.poll_in_place(cx),
                        timer.as_deref_mut(),
                        &mut cx,
                    ))
                }
                // Woken by a cancel while it was being started: the start
                // queues it again once it is set up.
                _ => None,
            }
        };
        if let Some(Poll::Ready(exit)) = polled {
            self.finish(body, exit);
            return;
        }
        drop(body);
        // RUNNING -> idle, or back in the queue if woken meanwhile.
        let mut state = self.core.sched.load(Ordering::SeqCst);
        loop {
            if state & CLOSED != 0 {
                return;
            }
            if state & SCHEDULED != 0 {
                self.core.sched.fetch_and(!RUNNING, Ordering::SeqCst);
                let pool = Arc::clone(self.core.pool());
                pool.schedule(Runnable::Cell(self));
                return;
            }
            match self
                .core
                .sched
                .compare_exchange_weak(state, state & !RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }

    fn abandon(self: Arc<Self>) {
        // Its executor is gone: it ends as cancelled, as a runner dropped
        // unfinished does.
        let body = lock(&self.body);
        if matches!(body.phase, Phase::InPlace { .. }) {
            self.finish(body, Exit::Cancelled);
        } else {
            // Queued by a cancel while it was being started: not set up
            // yet, so the start's own wake-up must queue it again (and
            // whoever runs or abandons it then ends it).
            self.core.sched.fetch_and(!SCHEDULED, Ordering::SeqCst);
        }
    }
}

impl<P: Payload> TaskRef<P::Output> for Cell<P> {
    fn core(&self) -> &TaskCore<P::Output> {
        &self.core
    }

    fn register_runner(&self, waker: &Waker) {
        let mut body = lock(&self.body);
        if let Phase::Elsewhere { runner } = &mut body.phase
            && !runner.as_ref().is_some_and(|r| r.will_wake(waker))
        {
            *runner = Some(waker.clone());
        }
    }

    fn clear_runner(&self) {
        let mut body = lock(&self.body);
        let runner = match &mut body.phase {
            Phase::Elsewhere { runner } => runner.take(),
            _ => None,
        };
        drop(body);
        drop(runner);
    }

    fn cancel(self: Arc<Self>) -> bool {
        self.core.cancel_with(
            || self.drop_queued(),
            || {
                if P::IN_PLACE {
                    // Never the body's lock here: a task may cancel itself
                    // from inside its own poll, which holds it.
                    Wake::wake_by_ref(&self);
                } else {
                    let runner = match &lock(&self.body).phase {
                        Phase::Elsewhere { runner } => runner.clone(),
                        _ => None,
                    };
                    if let Some(runner) = runner {
                        runner.wake();
                    }
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
        let pool = Arc::clone(self.core.pool());
        let (key, aborted) = pool.on_start(Arc::clone(&self) as Arc<dyn Job>);
        let mut body = lock(&self.body);
        let Phase::Queued { slot } = mem::replace(&mut body.phase, Phase::Ended) else {
            unreachable!("a task that begins is still queued");
        };
        pool.give_back_slot(slot);
        if P::IN_PLACE {
            body.phase = Phase::InPlace {
                permit: Some(permit),
                timer: Timer::new(self.core.timeout()).map(Box::new),
                key,
            };
            drop(body);
            if aborted {
                TaskRef::cancel(Arc::clone(&self));
            }
            Wake::wake(self);
        } else {
            body.phase = Phase::Elsewhere { runner: None };
            let payload = body.payload.take().expect("a task that begins holds its payload");
            drop(body);
            if aborted {
                TaskRef::cancel(Arc::clone(&self));
            }
            let timeout = self.core.timeout();
            payload.launch(Start {
                task: self,
                permit,
                timeout,
                key,
            });
        }
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
}
