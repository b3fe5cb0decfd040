//! The state one task shares between its handle, the queue and its runner.
//!
//! A task is one allocation, a cell (`cell.rs`): the typed [`TaskCore`]
//! defined here (outcome, flags, waiters) and the payload (the future, or
//! the closure that makes it), which a future task polls in place. The
//! handle sees it as `Arc<dyn TaskRef<T>>`, the queue and the running-task
//! registry as `Arc<dyn Job>`.
//!
//! # Life of a task
//!
//! ```text
//! Queued ──start──▶ Running ──complete──▶ Done(outcome) ──take──▶ Taken
//!    └──────cancel / shutdown──────────────▲
//! ```
//!
//! Every transition happens under the core's lock, so exactly one outcome is
//! ever published. A cancel of a running task only raises a flag and wakes
//! the runner; the runner drops the future and publishes `Cancelled`.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use event_listener::Event;

use crate::engine::limiter::Token;
use crate::engine::outcome::{TaskError, TaskLabel};
use crate::engine::report;
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

/// Tells whether a task's value is a failure; set by a fallible submission
/// (see [`crate::Fallible`]).
pub(crate) type Classifier<T> = fn(&T) -> Option<&dyn fmt::Debug>;

/// Per-task options, gathered by [`crate::TaskBuilder`].
pub(crate) struct TaskOptions<T> {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) classify: Option<Classifier<T>>,
}

impl<T> TaskOptions<T> {
    /// Options whose failures `classify` tells apart (the face passes the
    /// output's [`Fallible`](crate::Fallible) classifier).
    pub(crate) fn new(name: Option<Arc<str>>, timeout: Option<Duration>, classify: Classifier<T>) -> TaskOptions<T> {
        TaskOptions {
            name,
            timeout,
            classify: Some(classify),
        }
    }
}

/// The panic message for a handle whose outcome was already taken: it was
/// awaited (through `&mut handle`) to completion, then waited or polled
/// again, directly or through a combinator.
pub(crate) const TAKEN_TWICE: &str = "`TaskHandle` polled after its outcome was taken";

/// How a runner ended a task.
pub(crate) enum Exit<T> {
    Value(T),
    Panicked(Box<dyn Any + Send>),
    TimedOut(Duration),
    /// Cancelled by its handle or a shutdown deadline, or dropped unfinished.
    Cancelled,
}

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
/// Done, and the outcome taken by the handle.
const TAKEN: u8 = 3;

enum Stage<T> {
    Queued,
    Running,
    Done(Result<T, TaskError>),
    Taken,
}

struct State<T> {
    stage: Stage<T>,
    /// The outcome's kind, kept after the outcome is taken (for `cancel`).
    ended: Option<Ended>,
    /// The outcome is a failure (panic, or a fallible task's `Err`).
    failure: bool,
    /// The handle was dropped before the outcome was taken.
    detached: bool,
}

/// A task's name and per-task timeout, kept out of line: most tasks have
/// neither, and then they cost the core 8 bytes, not 32.
struct Extras {
    name: Option<Arc<str>>,
    timeout: Option<Duration>,
}

/// The typed part of a task: everything but the payload.
pub(crate) struct TaskCore<T> {
    id: TaskId,
    extras: Option<Box<Extras>>,
    pool: Arc<PoolShared>,
    classify: Option<Classifier<T>>,
    phase: AtomicU8,
    /// The cell's scheduling bits (see `cell.rs`), kept here beside the
    /// other flags, where they take no room of their own.
    pub(crate) sched: AtomicU8,
    /// The pool's count of ended tasks when this one ended (from 1; 0 while
    /// it has not): the order in which the pool's tasks ended.
    ended_seq: AtomicU64,
    cancel_requested: AtomicBool,
    /// The handle's waiter: a task awaiting it, or a thread blocked on it.
    pub(crate) awaiter: AtomicWaker,
    /// Notified once, when the outcome is published (for combinators that
    /// watch many tasks).
    pub(crate) done: Event,
    state: Mutex<State<T>>,
}

impl<T> TaskCore<T> {
    /// The core of a new, queued task.
    pub(crate) fn new(options: TaskOptions<T>, pool: Arc<PoolShared>) -> TaskCore<T> {
        let TaskOptions {
            name,
            timeout,
            classify,
        } = options;
        TaskCore {
            id: TaskId::next(),
            extras: (name.is_some() || timeout.is_some()).then(|| Box::new(Extras { name, timeout })),
            pool,
            classify,
            phase: AtomicU8::new(QUEUED),
            sched: AtomicU8::new(0),
            ended_seq: AtomicU64::new(0),
            cancel_requested: AtomicBool::new(false),
            awaiter: AtomicWaker::new(),
            done: Event::new(),
            state: Mutex::new(State {
                stage: Stage::Queued,
                ended: None,
                failure: false,
                detached: false,
            }),
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

    pub(crate) fn pool(&self) -> &Arc<PoolShared> {
        &self.pool
    }

    pub(crate) fn label(&self) -> TaskLabel<'_> {
        TaskLabel(self.id, self.name())
    }

    pub(crate) fn is_finished(&self) -> bool {
        // Acquire: pairs with the Release in `mark_done`, so a caller that sees
        // DONE also sees the outcome and the counters it updated.
        self.phase.load(Ordering::Acquire) >= DONE
    }

    /// Whether the handle already took the outcome.
    pub(crate) fn is_taken(&self) -> bool {
        // Relaxed: only the handle's owner takes the outcome, and it hands
        // the handle on by moving or borrowing it, which synchronises.
        self.phase.load(Ordering::Relaxed) == TAKEN
    }

    pub(crate) fn is_running(&self) -> bool {
        self.phase.load(Ordering::Acquire) == RUNNING
    }

    pub(crate) fn is_cancel_requested(&self) -> bool {
        // Acquire: pairs with the SeqCst store in `cancel`.
        self.cancel_requested.load(Ordering::Acquire)
    }

    /// Takes the outcome out. `None` if it is not published or was taken.
    pub(crate) fn take(&self) -> Option<Result<T, TaskError>> {
        let mut state = lock(&self.state);
        match std::mem::replace(&mut state.stage, Stage::Taken) {
            Stage::Done(outcome) => {
                // Relaxed: only this handle's own `detach` reads TAKEN, on
                // the same thread or after the handle moved (which syncs).
                self.phase.store(TAKEN, Ordering::Relaxed);
                Some(outcome)
            }
            other => {
                state.stage = other;
                None
            }
        }
    }

    /// Queued -> Running. Returns false if the task already ended (it was
    /// cancelled or shut down while queued).
    pub(crate) fn begin(&self) -> bool {
        let mut state = lock(&self.state);
        if !matches!(state.stage, Stage::Queued) {
            return false;
        }
        state.stage = Stage::Running;
        // Release: `is_running` readers see the transition.
        self.phase.store(RUNNING, Ordering::Release);
        true
    }

    /// Ends a task that never started: Queued -> Done(error). Returns
    /// whether this call ended it.
    pub(crate) fn end_unstarted(&self, ended: Ended) -> bool {
        let mut state = lock(&self.state);
        if !matches!(state.stage, Stage::Queued) {
            return false;
        }
        let error = match ended {
            Ended::Shutdown => TaskError::shutdown(self.id, self.name_arc()),
            _ => TaskError::cancelled(self.id, self.name_arc()),
        };
        if ended == Ended::Cancelled {
            // A later `cancel` must report true, and the runner must not
            // mistake this for a value.
            self.cancel_requested.store(true, Ordering::SeqCst);
        }
        state.stage = Stage::Done(Err(error));
        state.ended = Some(ended);
        drop(state);
        self.pool.end_unstarted(ended, |seq| self.mark_done(seq));
        self.wake_waiters();
        true
    }

    /// Running -> Done. Called once, by the runner, after it dropped the
    /// future and before it releases the permit; `key` is the task's key in
    /// the pool's registry.
    pub(crate) fn complete(&self, exit: Exit<T>, key: usize) {
        // A fallible task's value is classified before taking the lock: the
        // classifier is user code (a `Fallible` impl) and may panic.
        let value_failed = match (&exit, self.classify) {
            (Exit::Value(v), Some(classify)) => {
                catch_unwind(AssertUnwindSafe(|| classify(v).is_some())).unwrap_or(false)
            }
            _ => false,
        };
        let mut discarded = None;
        let mut state = lock(&self.state);
        debug_assert!(matches!(state.stage, Stage::Running));
        // Decided under the lock that `cancel` takes: once `cancel` has
        // returned true, the outcome is `Cancelled`, whatever the runner saw.
        let (outcome, ended) = if self.is_cancel_requested() {
            if let Exit::Value(v) = exit {
                discarded = Some(v);
            }
            (Err(TaskError::cancelled(self.id, self.name_arc())), Ended::Cancelled)
        } else {
            match exit {
                Exit::Value(v) if value_failed => (Ok(v), Ended::Failed),
                Exit::Value(v) => (Ok(v), Ended::Completed),
                Exit::Panicked(p) => (Err(TaskError::panicked(self.id, self.name_arc(), p)), Ended::Panicked),
                Exit::TimedOut(after) => (
                    Err(TaskError::timed_out(self.id, self.name_arc(), after)),
                    Ended::TimedOut,
                ),
                Exit::Cancelled => (Err(TaskError::cancelled(self.id, self.name_arc())), Ended::Cancelled),
            }
        };
        state.failure = matches!(ended, Ended::Failed | Ended::Panicked);
        state.ended = Some(ended);
        state.stage = Stage::Done(outcome);
        // A detached failure is reported now: nobody is left to look at it.
        let unobserved = (state.detached && state.failure).then(|| self.describe_failure(&state));
        drop(state);
        // Reported (and a discarded value dropped) before the task counts as
        // ended: whoever waits for the pool to go idle or stop sees it done.
        if let Some(message) = unobserved {
            self.pool.report_unobserved(self.id, self.name(), message);
        }
        if let Some(v) = discarded {
            report::drop_contained(v, self.label(), "its discarded value");
        }
        self.pool.end_running(key, ended, |seq| self.mark_done(seq));
        self.wake_waiters();
    }

    /// Handle dropped: report an unobserved failure now, or mark the task
    /// detached so that `complete` reports it.
    pub(crate) fn detach(&self) {
        if self.phase.load(Ordering::Relaxed) == TAKEN {
            // The common case: the handle took the outcome, nothing to do.
            return;
        }
        let mut state = lock(&self.state);
        let unobserved = match state.stage {
            Stage::Done(_) if state.failure => Some(self.describe_failure(&state)),
            Stage::Done(_) | Stage::Taken => None,
            Stage::Queued | Stage::Running => {
                state.detached = true;
                None
            }
        };
        drop(state);
        if let Some(message) = unobserved {
            self.pool.report_unobserved(self.id, self.name(), message);
        }
    }

    /// The one-line description of a failed outcome, for the "never
    /// retrieved" report. Formats user `Debug` code, so it is contained.
    fn describe_failure(&self, state: &State<T>) -> String {
        let Stage::Done(outcome) = &state.stage else {
            return format!("{} failed", self.label());
        };
        let describe = || match outcome {
            Err(e) => e.to_string(),
            Ok(v) => match self.classify.and_then(|c| c(v)) {
                Some(err) => format!("{} failed: {err:?}", self.label()),
                None => format!("{} failed", self.label()),
            },
        };
        catch_unwind(AssertUnwindSafe(describe)).unwrap_or_else(|_| format!("{} failed", self.label()))
    }

    /// Publishes the outcome (already in the state): called by the pool
    /// under the lock that counts the task as ended, so that whoever sees
    /// the count (stats, an idle or stopped pool) also sees the task
    /// finished, and the reverse. `seq` is the pool's count of ended tasks.
    fn mark_done(&self, seq: u64) {
        // Relaxed: published by the Release store below.
        self.ended_seq.store(seq, Ordering::Relaxed);
        // Release: pairs with the Acquire in `is_finished`.
        self.phase.store(DONE, Ordering::Release);
    }

    /// When the task ended among its pool's tasks: a number that grows with
    /// each task the pool counts as ended; `0` while it has not.
    pub(crate) fn ended_seq(&self) -> u64 {
        if self.is_finished() {
            self.ended_seq.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Wakes whoever waits for the outcome, once it is marked done.
    fn wake_waiters(&self) {
        self.awaiter.wake();
        // `done` is for combinators watching many tasks; most tasks have no
        // listener, and notifying an event nobody listened to allocates its
        // state. A watcher registers its listener, then (after the SeqCst
        // fence `listen` makes) checks `is_finished`; this fence orders the
        // DONE store of `mark_done` before the listener count below, so either the
        // watcher sees DONE or this sees its listener.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.done.total_listeners() > 0 {
            self.done.notify(usize::MAX);
        }
    }

    /// What `cancel` does to this core: `drop_payload` runs for a queued
    /// task, `wake_runner` for a running one (after the cancel flag is set).
    pub(crate) fn cancel_with(&self, drop_payload: impl FnOnce(), wake_runner: impl FnOnce()) -> bool {
        let state = lock(&self.state);
        match state.stage {
            Stage::Queued => {
                drop(state);
                // Another thread may start or end it in between: recheck.
                if self.end_unstarted(Ended::Cancelled) {
                    drop_payload();
                    true
                } else {
                    self.cancel_with(drop_payload, wake_runner)
                }
            }
            Stage::Running => {
                // SeqCst: ordered before the wake below and against the
                // runner's mark-running-then-check (see `cell.rs`).
                self.cancel_requested.store(true, Ordering::SeqCst);
                drop(state);
                wake_runner();
                true
            }
            Stage::Done(_) | Stage::Taken => state.ended == Some(Ended::Cancelled),
        }
    }
}

/// Read-only views for the combinators that wait on many tasks
/// (`crate::many`), kept apart from the lifecycle above.
impl<T> TaskCore<T> {
    /// How the task ended, once its outcome is published; kept after the
    /// outcome is taken.
    pub(crate) fn ended(&self) -> Option<Ended> {
        lock(&self.state).ended
    }

    /// The classifier of a fallible submission, if this was one.
    pub(crate) fn classifier(&self) -> Option<Classifier<T>> {
        self.classify
    }
}

/// The handle's view of a task.
pub(crate) trait TaskRef<T>: Send + Sync {
    fn core(&self) -> &TaskCore<T>;
    /// A runner started elsewhere (see [`Payload::launch`]) registers its
    /// waker here on each poll, so that a cancel can wake it.
    fn register_runner(&self, waker: &Waker);
    /// That runner ended: its waker is dropped now, on its thread.
    fn clear_runner(&self);
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
}

/// What a task runs: a future, or a closure that makes one or blocks.
///
/// A payload either is the task's future, polled in place in its cell
/// ([`IN_PLACE`](Payload::IN_PLACE), [`poll_in_place`](Payload::poll_in_place)),
/// or starts a runner of its own elsewhere ([`launch`](Payload::launch)).
pub(crate) trait Payload: Send + 'static {
    type Output: Send + 'static;
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
    /// The task's key in the pool's running-task registry.
    pub(crate) key: usize,
}
