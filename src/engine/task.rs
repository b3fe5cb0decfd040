//! The state one task shares between its handle, the queue and its runner.
//!
//! A task is one allocation, a cell (`cell.rs`): the untyped [`TaskCore`]
//! defined here (state word, waiters, pool) and one slot that holds the
//! payload (the future, or the closure that makes it), then the value.
//! The handle sees it as `Arc<dyn TaskRef<T>>`, the queue and the
//! running-task registry as `Arc<dyn Job>`.
//!
//! # Life of a task
//!
//! ```text
//! Queued ──begin──▶ Started ──settle──▶ Ending ──publish──▶ Done ──take──▶ Taken
//!    └──────────end_unstarted (cancel / shutdown)──▲
//! ```
//!
//! Every transition is one compare-and-swap on the core's state word, so
//! exactly one outcome is ever decided, and it is decided (`Ending`) before
//! the pool counts it (`Done`). A cancel of a running task only raises a
//! flag and wakes the runner; the runner drops the future, and the flag
//! makes the outcome `Cancelled`. Only a value and a panic's payload are
//! stored (in the slot); a cancel, a timeout and a shutdown are made into
//! their `TaskError` when the handle takes them.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use event_listener::Event;

use crate::engine::fifo::Link;
use crate::engine::limiter::Token;
use crate::engine::outcome::{TaskError, TaskLabel};
use crate::engine::report;
use crate::engine::run::Timer;
use crate::engine::shared::PoolShared;
use crate::engine::stats::Ended;
use crate::engine::util::lock;

/// A task's id, unique within the process. Shown in log lines and errors.
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// let a = pool.submit(async {}).unwrap();
/// let b = pool.submit(async {}).unwrap();
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.id().to_string(), a.id().as_u64().to_string());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, not ordering with other memory.
        TaskId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// A given id, for unit tests of code that only carries ids around.
    #[cfg(test)]
    pub(crate) fn from_u64(id: u64) -> TaskId {
        TaskId(id)
    }

    /// The id as a number.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// assert!(pool.submit(async {}).unwrap().id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What the engine asks of a task's output: whether the value stands for
/// a failure. The face implements it for every
/// [`Fallible`](crate::Fallible) output, so the classifier is part of the
/// task's type, not a field of its cell.
pub(crate) trait Outcome: Send + 'static {
    /// `Some(error)` when the value is a failure.
    fn failure(&self) -> Option<&dyn fmt::Debug>;
}

/// A task's classifier, as a function (see [`Outcome`]).
pub(crate) type Classifier<T> = fn(&T) -> Option<&dyn fmt::Debug>;

/// Per-task options, gathered by [`crate::TaskBuilder`].
pub(crate) struct TaskOptions {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) timeout: Option<Duration>,
}

/// The panic message for a handle whose outcome was already taken: it was
/// awaited (through `&mut handle`) to completion, then waited or polled
/// again, directly or through a combinator.
pub(crate) const TAKEN_TWICE: &str = "`TaskHandle` polled after its outcome was taken";

/// How a runner ended a task.
pub(crate) enum Exit<T> {
    Value(T),
    Panicked(Box<dyn Any + Send>),
    /// Ran past its per-task timeout (the core keeps the timeout).
    TimedOut,
    /// Cancelled by its handle or a shutdown deadline, or dropped unfinished.
    Cancelled,
}

// The bits of `TaskCore::state`. The first four are the cell's scheduling
// bits (see `cell.rs`); the rest are the task's life.

/// The cell is in a run queue, or goes back in one when its poll ends.
pub(crate) const SCHEDULED: u64 = 1;
/// A thread is polling the cell (or ending it).
pub(crate) const POLLING: u64 = 1 << 1;
/// The cell will not be polled again; wake-ups are ignored.
pub(crate) const CLOSED: u64 = 1 << 2;
/// An in-place task is set up to be polled (its slot holds the running
/// future and its permit).
pub(crate) const READY: u64 = 1 << 3;
/// The life stage, two bits: queued, started, ending (how it ended is
/// decided), done (published, counted by the pool).
const LIFE: u64 = 0b11 << 4;
const QUEUED: u64 = 0;
const STARTED: u64 = 1 << 4;
const ENDING: u64 = 2 << 4;
const DONE: u64 = 3 << 4;
/// A cancel was requested while the task ran.
const CANCEL: u64 = 1 << 6;
/// The handle took the outcome.
const TAKEN: u64 = 1 << 7;
/// The handle was dropped before the outcome was decided: whoever decides
/// it reports an unobserved failure.
const DETACHED: u64 = 1 << 8;
/// How the task ended (an [`Ended`], 1 to 6; 0 while undecided), three bits.
const KIND_SHIFT: u32 = 9;
const KIND: u64 = 0b111 << KIND_SHIFT;

fn kind_bits(ended: Ended) -> u64 {
    let code = match ended {
        Ended::Completed => 1,
        Ended::Failed => 2,
        Ended::Panicked => 3,
        Ended::Cancelled => 4,
        Ended::TimedOut => 5,
        Ended::Shutdown => 6,
    };
    code << KIND_SHIFT
}

fn kind_of(state: u64) -> Option<Ended> {
    Some(match (state & KIND) >> KIND_SHIFT {
        1 => Ended::Completed,
        2 => Ended::Failed,
        3 => Ended::Panicked,
        4 => Ended::Cancelled,
        5 => Ended::TimedOut,
        6 => Ended::Shutdown,
        _ => return None,
    })
}

/// Whether an outcome of this kind is a failure (reported when nobody
/// looks at it).
pub(crate) fn is_failure(ended: Ended) -> bool {
    matches!(ended, Ended::Failed | Ended::Panicked)
}

/// A task's name and per-task timeout, kept out of line: most tasks have
/// neither, and then they cost the core 8 bytes. A task polled in place
/// keeps its running timer here too (only its poller touches it).
struct Extras {
    name: Option<Arc<str>>,
    timeout: Option<Duration>,
    timer: Mutex<Option<Timer>>,
}

/// The untyped part of a task: everything but its payload and its value.
///
/// # The state word
///
/// One atomic word holds the cell's scheduling bits and the task's life:
/// queued, started, ending, done; how it ended; whether a cancel was
/// requested, the outcome taken, the handle dropped. Every transition is
/// one compare-and-swap on that word, so each race (a cancel against the
/// end, a drop of the handle against the end, a start against a cancel of
/// a queued task) has one winner, and the cell's slot (`cell.rs`) is only
/// ever touched by the thread the word says owns it.
pub(crate) struct TaskCore {
    id: TaskId,
    extras: Option<Box<Extras>>,
    pool: Arc<PoolShared>,
    /// See the type's docs.
    pub(crate) state: AtomicU64,
    /// The task's key in the pool's registry of running tasks while it
    /// runs; then the pool's count of ended tasks when it ended (from 1):
    /// the order in which the pool's tasks ended.
    key_seq: AtomicU64,
    /// The handle's waiter: a task awaiting it, or a thread blocked on it.
    pub(crate) awaiter: AtomicWaker,
    /// Notified once, when the outcome is published (for combinators that
    /// watch many tasks).
    pub(crate) done: Event,
    /// The task queued behind this one, while it waits in the pool's FIFO.
    pub(crate) link: Link,
}

impl TaskCore {
    /// The core of a new, queued task.
    pub(crate) fn new(options: TaskOptions, pool: Arc<PoolShared>) -> TaskCore {
        let TaskOptions { name, timeout } = options;
        TaskCore {
            id: TaskId::next(),
            extras: (name.is_some() || timeout.is_some()).then(|| {
                Box::new(Extras {
                    name,
                    timeout,
                    timer: Mutex::new(None),
                })
            }),
            pool,
            state: AtomicU64::new(QUEUED),
            key_seq: AtomicU64::new(0),
            awaiter: AtomicWaker::new(),
            done: Event::new(),
            link: Link::default(),
        }
    }

    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.extras.as_ref()?.name.as_deref()
    }

    pub(crate) fn name_arc(&self) -> Option<Arc<str>> {
        self.extras.as_ref()?.name.clone()
    }

    /// The per-task timeout, whose clock starts with the task.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.extras.as_ref()?.timeout
    }

    /// The running timer of a task polled in place (only its poller and
    /// its starter lock it); `None` for a task without a timeout.
    pub(crate) fn timer(&self) -> Option<&Mutex<Option<Timer>>> {
        self.extras.as_ref().filter(|e| e.timeout.is_some()).map(|e| &e.timer)
    }

    pub(crate) fn pool(&self) -> &Arc<PoolShared> {
        &self.pool
    }

    pub(crate) fn label(&self) -> TaskLabel<'_> {
        TaskLabel(self.id, self.name())
    }

    pub(crate) fn is_finished(&self) -> bool {
        // Acquire: pairs with the Release in `mark_done`, so a caller that
        // sees DONE also sees the outcome and the counters it updated.
        self.state.load(Ordering::Acquire) & LIFE == DONE
    }

    /// Whether the handle already took the outcome.
    pub(crate) fn is_taken(&self) -> bool {
        // Relaxed: only the handle's owner takes the outcome, and it hands
        // the handle on by moving or borrowing it, which synchronises.
        self.state.load(Ordering::Relaxed) & TAKEN != 0
    }

    pub(crate) fn is_running(&self) -> bool {
        // Acquire: as `is_finished`.
        matches!(self.state.load(Ordering::Acquire) & LIFE, STARTED | ENDING)
    }

    pub(crate) fn is_cancel_requested(&self) -> bool {
        // Acquire: pairs with the SeqCst update in `cancel_with`.
        self.state.load(Ordering::Acquire) & CANCEL != 0
    }

    /// Marks a finished outcome taken. Returns how the task ended, or
    /// `None` if it is not finished or was already taken.
    pub(crate) fn mark_taken(&self) -> Option<Ended> {
        // Acquire: see `is_finished`.
        let state = self.state.load(Ordering::Acquire);
        if state & LIFE != DONE || state & TAKEN != 0 {
            return None;
        }
        // Relaxed: only the handle's owner sets or reads TAKEN (see
        // `is_taken`); the outcome was published by the load above.
        self.state.fetch_or(TAKEN, Ordering::Relaxed);
        kind_of(state)
    }

    /// Queued -> Started. Returns false if the task already ended (it was
    /// cancelled or shut down while queued). The winner owns the task's
    /// slot until it publishes the task ready (see `cell.rs`).
    pub(crate) fn begin(&self) -> bool {
        // AcqRel: the starter takes over the slot from the submitter.
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & LIFE == QUEUED).then_some((s & !LIFE) | STARTED)
            })
            .is_ok()
    }

    /// Ends a task that never started: Queued -> Ending -> Done, with an
    /// error made from `ended`. Returns whether this call ended it; if so,
    /// the caller owns the payload still in the slot, and drops it.
    ///
    /// The payload is dropped after the task counts as ended, not before
    /// (a running task's runner drops the future first, but on the pool's
    /// own thread): it is dropped on whatever thread ended the task, and
    /// its `Drop` is user code that may wait for the pool, which needs this
    /// task ended. Dropping the last `DaemonExecutor` there waits for every
    /// task to end; with the payload dropped first, that deadlocked (a
    /// review found it; `outcome_races.rs` holds the test).
    pub(crate) fn end_unstarted(&self, ended: Ended) -> bool {
        // AcqRel: the winner takes over the slot (and the queued payload
        // in it) from the submitter; `begin` is the other contender.
        let won = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & LIFE == QUEUED).then_some((s & !LIFE) | ENDING | kind_bits(ended))
            })
            .is_ok();
        if won {
            self.pool.end_unstarted(ended, |seq| self.mark_done(seq));
            self.wake_waiters();
        }
        won
    }

    /// Started -> Ending: decides how a running task ended. `ended` is how
    /// its runner saw it end; a cancel requested before this wins over it.
    /// Returns the decision and whether the handle was already dropped
    /// (then the caller reports a failure: nobody else will).
    pub(crate) fn settle(&self, ended: Ended) -> (Ended, bool) {
        // AcqRel: publishes the slot's value to whoever sees ENDING (a
        // handle dropped now describes a failure from it), and sees a
        // cancel's flag and a dropped handle's mark.
        let before = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                debug_assert_eq!(s & LIFE, STARTED);
                let ended = if s & CANCEL != 0 { Ended::Cancelled } else { ended };
                Some((s & !LIFE) | ENDING | kind_bits(ended))
            })
            .unwrap_or_else(|s| s);
        let ended = if before & CANCEL != 0 { Ended::Cancelled } else { ended };
        (ended, before & DETACHED != 0)
    }

    /// Ending -> Done for a task that ran: the pool counts it (and drops it
    /// from its registry), then its waiters are woken.
    pub(crate) fn publish_running(&self, ended: Ended) {
        // Relaxed: the key was stored by whoever started the task, which
        // happens-before its end (the start published the task ready).
        let key = self.key_seq.load(Ordering::Relaxed) as usize;
        self.pool.end_running(key, ended, |seq| self.mark_done(seq));
        self.wake_waiters();
    }

    /// Stores the task's key in the pool's registry of running tasks.
    pub(crate) fn set_key(&self, key: usize) {
        // Relaxed: read by the task's end, which the start's wake-up (or
        // its runner's spawn) orders after this.
        self.key_seq.store(key as u64, Ordering::Relaxed);
    }

    /// The handle is dropped. Returns how the task ended when its outcome
    /// is already decided and not taken: the caller reports a failure and
    /// drops a value now. Otherwise the task is marked detached, and
    /// `settle`'s caller does both.
    pub(crate) fn detach(&self) -> Option<Ended> {
        // Relaxed: the common case, the handle took the outcome.
        if self.state.load(Ordering::Relaxed) & TAKEN != 0 {
            return None;
        }
        // AcqRel: against `settle` (one of the two reports, never both).
        let before = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                matches!(s & LIFE, QUEUED | STARTED).then_some(s | DETACHED)
            })
            .unwrap_or_else(|s| s);
        if matches!(before & LIFE, QUEUED | STARTED) || before & TAKEN != 0 {
            return None;
        }
        kind_of(before)
    }

    /// Publishes the outcome (already decided): called by the pool under
    /// the lock that counts the task as ended, so that whoever sees the
    /// count (stats, an idle or stopped pool) also sees the task finished,
    /// and the reverse. `seq` is the pool's count of ended tasks.
    fn mark_done(&self, seq: u64) {
        // Relaxed: published by the Release below.
        self.key_seq.store(seq, Ordering::Relaxed);
        // Release: pairs with the Acquire in `is_finished`. ENDING | this
        // bit is DONE.
        self.state.fetch_or(DONE & !ENDING, Ordering::Release);
    }

    /// When the task ended among its pool's tasks: a number that grows with
    /// each task the pool counts as ended; `0` while it has not.
    pub(crate) fn ended_seq(&self) -> u64 {
        if self.is_finished() {
            self.key_seq.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Wakes whoever waits for the outcome, once it is marked done.
    fn wake_waiters(&self) {
        // The handle's waker is the user's (whoever polls the handle): a
        // panic in it must not stop the task's end (its permit goes back
        // after this).
        report::contained(|| self.awaiter.wake());
        // `done` is for combinators watching many tasks; most tasks have no
        // listener, and notifying an event nobody listened to allocates its
        // state. A watcher registers its listener, then (after the SeqCst
        // fence `listen` makes) checks `is_finished`; this fence orders the
        // DONE store of `mark_done` before the listener count below, so
        // either the watcher sees DONE or this sees its listener.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.done.total_listeners() > 0 {
            report::contained(|| {
                self.done.notify(usize::MAX);
            });
        }
    }

    /// What `cancel` does to this core: `drop_payload` runs for a queued
    /// task, `wake_runner` for a running one (after the cancel flag is set).
    pub(crate) fn cancel_with(&self, drop_payload: impl FnOnce(), wake_runner: impl FnOnce()) -> bool {
        loop {
            // Acquire: a decided outcome's kind is read from this value.
            let state = self.state.load(Ordering::Acquire);
            match state & LIFE {
                QUEUED => {
                    if self.end_unstarted(Ended::Cancelled) {
                        drop_payload();
                        return true;
                    }
                    // Started or ended meanwhile: look again.
                }
                STARTED => {
                    // SeqCst: ordered before the wake below and against the
                    // poller's mark-polling-then-check (see `cell.rs`); a
                    // compare-and-swap, so that it lands before `settle`
                    // (which then decides `Cancelled`) or fails.
                    if self
                        .state
                        .compare_exchange(state, state | CANCEL, Ordering::SeqCst, Ordering::Acquire)
                        .is_ok()
                    {
                        wake_runner();
                        return true;
                    }
                }
                _ => return kind_of(state) == Some(Ended::Cancelled),
            }
        }
    }

    /// How the task ended, once that is decided; kept after the outcome
    /// is taken. For the combinators that wait on many tasks.
    pub(crate) fn ended(&self) -> Option<Ended> {
        // Acquire: pairs with the update that decided it.
        kind_of(self.state.load(Ordering::Acquire))
    }
}

/// Where a task whose payload runs elsewhere keeps its runner's waker, for
/// a cancel to wake it. A payload polled in place needs none (`()`).
pub(crate) trait RunnerSlot: Default + Send + Sync + 'static {
    /// Keeps `waker` (a clone, unless the one kept wakes the same task).
    fn register(&self, waker: &Waker);
    /// Takes the waker out.
    fn take(&self) -> Option<Waker>;
    /// A clone of the waker.
    fn get(&self) -> Option<Waker>;
}

/// The runner slot of a payload that runs elsewhere.
pub(crate) type RunnerWaker = Mutex<Option<Waker>>;

impl RunnerSlot for () {
    fn register(&self, _: &Waker) {}
    fn take(&self) -> Option<Waker> {
        None
    }
    fn get(&self) -> Option<Waker> {
        None
    }
}

impl RunnerSlot for Mutex<Option<Waker>> {
    fn register(&self, waker: &Waker) {
        let mut slot = lock(self);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
    fn take(&self) -> Option<Waker> {
        lock(self).take()
    }
    fn get(&self) -> Option<Waker> {
        lock(self).clone()
    }
}

/// The handle's view of a task.
pub(crate) trait TaskRef<T>: Send + Sync {
    fn core(&self) -> &TaskCore;
    /// A runner started elsewhere (see [`Payload::launch`]) registers its
    /// waker here on each poll, so that a cancel can wake it.
    fn register_runner(&self, waker: &Waker);
    /// That runner ended: its waker is dropped now, on its thread.
    fn clear_runner(&self);
    /// Ends a started task with `exit`: called once, by its runner, after
    /// it dropped the future and before it releases the permit. Returns
    /// whether the handle was already gone: then the runner calls
    /// [`drop_unwanted`](TaskRef::drop_unwanted) after it released the
    /// permit.
    fn complete(&self, exit: Exit<T>) -> bool;
    /// Drops a value (or a panic's payload) nobody can take any more; see
    /// [`complete`](TaskRef::complete).
    fn drop_unwanted(&self);
    /// Takes the outcome out. `None` if it is not published or was taken.
    fn take(&self) -> Option<Result<T, TaskError>>;
    /// The handle was dropped: reports an unobserved failure now, or marks
    /// the task so that its end reports it.
    fn detach(&self);
    /// The task's classifier (its output type's [`Outcome::failure`]).
    fn classifier(&self) -> Classifier<T>;
    /// See [`crate::TaskHandle::cancel`]. Takes the task by `Arc`: a
    /// running task is woken to end, which queues it.
    fn cancel(self: Arc<Self>) -> bool;
    /// Ends the task as cancelled if it is still queued, keeping its
    /// payload for [`drop_payload`](TaskRef::drop_payload). Returns whether
    /// this call ended it.
    fn cancel_queued(&self) -> bool;
    /// Drops the payload of a task that ended unstarted (user `Drop` code,
    /// contained).
    fn drop_payload(&self);
    /// The same task, seen without its output type (for a cancel handle).
    fn job(self: Arc<Self>) -> Arc<dyn Job>;
}

/// Cancels many tasks so that cancelling one can never start another.
///
/// Cancelling a running task gives its permit back, and a queued task the
/// batch has not reached yet could start under it. So every queued task is
/// ended first; only then are the running ones cancelled; and the queued
/// tasks' futures, whose `Drop` is user code that may be slow, are dropped
/// last.
pub(crate) fn cancel_batch<T>(tasks: impl IntoIterator<Item = Arc<dyn TaskRef<T>>>) {
    let tasks: Vec<(Arc<dyn TaskRef<T>>, bool)> = tasks
        .into_iter()
        .map(|task| {
            let unstarted = task.cancel_queued();
            (task, unstarted)
        })
        .collect();
    for (task, _) in tasks.iter().filter(|(_, unstarted)| !unstarted) {
        Arc::clone(task).cancel();
    }
    for (task, _) in tasks.iter().filter(|(_, unstarted)| *unstarted) {
        task.drop_payload();
    }
}

/// The queue's and the registry's view of a task.
pub(crate) trait Job: Send + Sync {
    /// The task's id.
    fn id(&self) -> TaskId;
    /// Whether the task already ended (cancelled while queued).
    fn is_done(&self) -> bool;
    /// Starts the task under `permit`. A task that already ended (it was
    /// cancelled while queued) hands the token back, for the next one.
    fn start(self: Arc<Self>, permit: Token) -> Result<(), Token>;
    /// Ends a still-queued task with `ended` (cancel or shutdown).
    fn end_unstarted(&self, ended: Ended) -> bool;
    /// Cancels the task, queued or running.
    fn cancel(self: Arc<Self>) -> bool;
    /// Its link in the pool's FIFO.
    fn link(&self) -> &Link;
}

/// What a task runs: a future, or a closure that makes one or blocks.
///
/// A payload either is the task's future, polled in place in its cell
/// ([`IN_PLACE`](Payload::IN_PLACE), [`poll_in_place`](Payload::poll_in_place)),
/// or starts a runner of its own elsewhere ([`launch`](Payload::launch)).
pub(crate) trait Payload: Send + 'static {
    type Output: Outcome;
    /// Where the runner of a payload that is not polled in place keeps its
    /// waker; `()` for one polled in place.
    type Runner: RunnerSlot;
    /// Whether the payload can be started from any thread (its runner is
    /// `Send`). A local payload must be started on the daemon thread.
    const STARTS_ANYWHERE: bool = true;
    /// Whether the payload is a `Send` future that its cell polls in place.
    const IN_PLACE: bool;
    /// Polls an in-place payload once. Only called when `IN_PLACE`.
    fn poll_in_place(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>;
    /// Starts a runner of its own for a payload that is not polled in
    /// place; see `run.rs`. Only called when not `IN_PLACE`.
    fn launch(self, start: Start<Self::Output>);
}

/// Everything a starting task needs besides its payload.
pub(crate) struct Start<T> {
    pub(crate) task: Arc<dyn TaskRef<T>>,
    pub(crate) permit: Token,
    pub(crate) timeout: Option<Duration>,
}
