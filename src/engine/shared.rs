//! The state behind a [`TaskPool`](crate::TaskPool) and the driver future
//! that runs where its tasks run.
//!
//! Submitting pushes the task on a FIFO queue (with a `queue_capacity`,
//! admission first takes a slot from a second limiter). There is no
//! dispatcher: a queued task is started by whoever holds a token when it
//! reaches the front. A task that ends hands its token straight to the
//! front task ([`PoolShared::pass_on`]); a submit that queues, or a token
//! that goes back to the limiter, starts queued tasks while tokens are free
//! ([`PoolShared::start_queued`]). Every start pops the queue in order and
//! holds a token, which is where FIFO start and "at most N running" come
//! from. A daemon's queued tasks are started only on its own thread (their
//! start order is then their queue order, and a local task can start): any
//! other thread that would start one asks the daemon's driver to.
//!
//! When no queued task is still waiting to start and a permit is free, a
//! submit skips the queue and starts its task itself (the fast path; see
//! [`PoolShared::submit`]). [`PoolShared::drive`], which a global pool
//! spawns on the executor and a daemon runs as its thread's main future,
//! does the starts a daemon deferred to its thread, enforces a shutdown
//! deadline (the *watchdog*) and says when the pool has stopped.

use std::convert::Infallible;
use std::fmt;
use std::pin::pin;
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use event_listener::{Event, Listener};
use slab::Slab;

use crate::engine::cell::Cell;
use crate::engine::fifo::Fifo;
use crate::engine::limiter::{Limiter, Token};
use crate::engine::local::RunQueue;
use crate::engine::mode::ShutdownMode;
use crate::engine::outcome::{Refusal, TaskLabel};
use crate::engine::report;
use crate::engine::report::UnobservedFailure;
use crate::engine::rt::Backend;
use crate::engine::sched::Runnable;
use crate::engine::stats::{Counts, Ended, Stats};
use crate::engine::task::{Job, Payload, TaskId, TaskOptions, TaskRef};
use crate::engine::util::{Either, Padded, deadline_after, lock, race};
use crate::engine::workers::Workers;

/// Identifies a pool within the process (for "am I on my own thread/task").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolId(u64);

impl PoolId {
    fn next() -> PoolId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters.
        PoolId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Where a pool's tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// The pool's workers, on its runtime's multi-threaded executor.
    Global,
    /// One daemon thread's run queue.
    Daemon,
}

/// Whether a submission may wait for queue space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Never wait: a full queue refuses.
    Try,
    /// Block the thread while the queue is full.
    Block,
}

/// A submission the fast path handed back, for the queue.
type NotFast<P> = (P, TaskOptions);

/// A user hook called with each failure nobody observed.
pub(crate) type UnobservedHook = Arc<dyn Fn(&UnobservedFailure<'_>) + Send + Sync>;

/// Settings shared by the pool and executor builders, already validated.
#[derive(Clone)]
pub(crate) struct PoolConfig {
    pub(crate) limit: usize,
    pub(crate) queue_capacity: Option<usize>,
    pub(crate) on_unobserved: Option<UnobservedHook>,
}

/// The pool's bookkeeping, under one short lock taken when a task starts
/// or ends (never while it runs).
struct Book {
    counts: Counts,
    /// Running tasks, for a shutdown deadline to cancel.
    running: Slab<Arc<dyn Job>>,
    /// Set by a shutdown deadline: tasks that start from now on are
    /// cancelled as they start.
    aborted: bool,
}

pub(crate) struct PoolShared {
    id: PoolId,
    kind: PoolKind,
    /// The runtime its workers, driver and blocking closures run on.
    backend: Backend,
    /// Its own lines: workers and submitters both write its count.
    limiter: Padded<Limiter>,
    slots: Option<Limiter>,
    /// Tasks waiting for a token, front first. Closed by `close`.
    queue: Fifo,
    /// Tasks submitted, counted before they are queued (see `stats.rs`).
    /// Its own lines: only submitters write it.
    submitted: Padded<AtomicU64>,
    /// Queued tasks that still have to start: while any does, a new task
    /// queues behind it instead of taking the fast path (see `submit`).
    /// Its own lines: submitters and starts write it.
    waiting: Padded<AtomicUsize>,
    /// A global pool's workers, which run its tasks.
    workers: Option<Arc<Workers>>,
    /// A daemon's run queue, so that other threads can start tasks on it.
    run_queue: OnceLock<Arc<RunQueue>>,
    /// Set when a thread other than the daemon's found a token free and a
    /// task queued: the driver starts it on the daemon thread.
    deferred_start: AtomicBool,
    /// Wakes the driver: a deferred start, the pool closing, going idle.
    driver: Event,
    /// Its own lines: every start and end takes the lock.
    book: Padded<Mutex<Book>>,
    /// Notified when the last accepted task ends.
    idle: Event,
    /// Set by the first `close`.
    closing: AtomicBool,
    cancel_pending: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    /// Notified when `cancel_pending` or `deadline` change.
    shutdown_changed: Event,
    stopped: AtomicBool,
    stopped_event: Event,
    /// Live `TaskPool` values; the last one to go closes the pool.
    pub(crate) pool_handles: AtomicUsize,
    on_unobserved: Option<UnobservedHook>,
}

impl PoolShared {
    pub(crate) fn new(config: PoolConfig, kind: PoolKind, backend: Backend) -> Arc<PoolShared> {
        Arc::new(PoolShared {
            id: PoolId::next(),
            kind,
            limiter: Padded(Limiter::new(config.limit)),
            slots: config.queue_capacity.map(Limiter::new),
            queue: Fifo::new(),
            submitted: Padded(AtomicU64::new(0)),
            waiting: Padded(AtomicUsize::new(0)),
            workers: (kind == PoolKind::Global).then(|| Workers::new(backend.clone())),
            backend,
            run_queue: OnceLock::new(),
            deferred_start: AtomicBool::new(false),
            driver: Event::new(),
            book: Padded(Mutex::new(Book {
                counts: Counts::default(),
                running: Slab::new(),
                aborted: false,
            })),
            idle: Event::new(),
            closing: AtomicBool::new(false),
            cancel_pending: AtomicBool::new(false),
            deadline: Mutex::new(None),
            shutdown_changed: Event::new(),
            stopped: AtomicBool::new(false),
            stopped_event: Event::new(),
            pool_handles: AtomicUsize::new(0),
            on_unobserved: config.on_unobserved,
        })
    }

    /// A global pool with `limit` on the default runtime, no driver
    /// started, for unit tests that drive the engine step by step.
    #[cfg(test)]
    pub(crate) fn for_test(limit: usize) -> Arc<PoolShared> {
        let config = PoolConfig {
            limit,
            queue_capacity: None,
            on_unobserved: None,
        };
        let Ok(backend) = crate::engine::rt::Choice::default().pool_backend() else {
            panic!("the default runtime is enabled");
        };
        PoolShared::new(config, PoolKind::Global, backend)
    }

    pub(crate) fn id(&self) -> PoolId {
        self.id
    }

    pub(crate) fn kind(&self) -> PoolKind {
        self.kind
    }

    /// The runtime its workers, driver and blocking closures run on.
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// A global pool's workers.
    pub(crate) fn workers(&self) -> &Arc<Workers> {
        self.workers.as_ref().expect("only a global pool has workers")
    }

    /// A daemon's run queue, set once its thread runs.
    pub(crate) fn run_queue(&self) -> &Arc<RunQueue> {
        self.run_queue
            .get()
            .expect("a daemon pool's run queue is set before it accepts tasks")
    }

    pub(crate) fn set_run_queue(&self, queue: Arc<RunQueue>) {
        let _ = self.run_queue.set(queue);
    }

    pub(crate) fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub(crate) fn stats(&self) -> Stats {
        let book = lock(&self.book);
        // Acquire, under the lock: every task the book counts was submitted
        // before, so `submitted` covers it.
        book.counts
            .snapshot(self.limiter.limit(), self.submitted.load(Ordering::Acquire))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    // ----- submitting -----

    /// The checks every submission makes before taking a queue slot.
    fn precheck(&self, options: &TaskOptions) -> Result<(), Refusal> {
        if options.timeout == Some(Duration::ZERO) {
            return Err(Refusal::ZeroTimeout);
        }
        if self.is_closed() {
            return Err(Refusal::Closed);
        }
        Ok(())
    }

    /// A queue slot without waiting (`None` when the queue is unbounded).
    fn try_slot(&self) -> Result<Option<Token>, Refusal> {
        let Some(slots) = &self.slots else { return Ok(None) };
        match slots.try_acquire() {
            Some(slot) => Ok(Some(slot.into_token())),
            None if slots.is_closed() => Err(Refusal::Closed),
            None => Err(Refusal::Full),
        }
    }

    /// A queue slot, waiting for one if the queue is full.
    async fn slot(&self) -> Result<Option<Token>, Refusal> {
        let Some(slots) = &self.slots else { return Ok(None) };
        slots
            .acquire()
            .await
            .map(|slot| Some(slot.into_token()))
            .ok_or(Refusal::Closed)
    }

    /// Gives back a queue slot taken by [`try_slot`](Self::try_slot) or
    /// [`slot`](Self::slot) (nothing for an unbounded queue).
    pub(crate) fn give_back_slot(&self, slot: Option<Token>) {
        if let (Some(slots), Some(slot)) = (&self.slots, slot) {
            slots.give_back(slot);
        }
    }

    /// A queue slot, blocking the thread while the queue is full.
    ///
    /// On this pool's own daemon thread, blocking would deadlock (the tasks
    /// that free slots run on it), so a full queue panics there instead.
    fn slot_blocking(&self) -> Result<Option<Token>, Refusal> {
        match self.try_slot() {
            Err(Refusal::Full) => {}
            ready => return ready,
        }
        if crate::engine::local::is_daemon_thread_of(self.id) {
            panic!(
                "`submit` would block the daemon thread on a full queue, which only that thread can drain; \
                 use `submit_async` or `try_submit` inside tasks"
            );
        }
        crate::engine::run::forbid_blocking_in_task(
            "`submit` on a full queue",
            "use `submit_async` or `try_submit` inside tasks",
        );
        let Some(slots) = &self.slots else { return Ok(None) };
        slots
            .acquire_blocking()
            .map(|slot| Some(slot.into_token()))
            .ok_or(Refusal::Closed)
    }

    /// Submits from a plain thread (or without waiting, for `Admit::Try`).
    /// A refusal hands the payload back.
    pub(crate) fn submit<P: Payload>(
        self: &Arc<Self>,
        payload: P,
        options: TaskOptions,
        admit: Admit,
    ) -> Result<Arc<dyn TaskRef<P::Output>>, (Refusal, P)> {
        if let Err(refusal) = self.precheck(&options) {
            return Err((refusal, payload));
        }
        let (payload, options) = match self.fast_path(payload, options) {
            Ok(handle) => return Ok(handle),
            Err(back) => back,
        };
        let slot = match admit {
            Admit::Try => self.try_slot(),
            Admit::Block => self.slot_blocking(),
        };
        match slot {
            Ok(slot) => self.enqueue(payload, slot, options).map_err(|p| (Refusal::Closed, p)),
            Err(refusal) => Err((refusal, payload)),
        }
    }

    /// Submits from async code, waiting for queue space without blocking.
    pub(crate) async fn submit_async<P: Payload>(
        self: &Arc<Self>,
        payload: P,
        options: TaskOptions,
    ) -> Result<Arc<dyn TaskRef<P::Output>>, (Refusal, P)> {
        if let Err(refusal) = self.precheck(&options) {
            return Err((refusal, payload));
        }
        let (payload, options) = match self.fast_path(payload, options) {
            Ok(handle) => return Ok(handle),
            Err(back) => back,
        };
        match self.slot().await {
            Ok(slot) => self.enqueue(payload, slot, options).map_err(|p| (Refusal::Closed, p)),
            Err(refusal) => Err((refusal, payload)),
        }
    }

    /// Starts the task at once, skipping the queue, when
    /// that keeps every promise; otherwise hands the payload back for the
    /// queue.
    ///
    /// Only when no queued task still has to start (FIFO: a submitter's
    /// earlier task counts in `waiting` until it has started), a permit is
    /// free, the task can be started from this thread, and the pool is not
    /// closing. The task is counted as submitted *before* that last check,
    /// and a stopping pool checks the count after it marked itself closing
    /// (both SeqCst): so either this sees the pool closing and backs out, or
    /// the pool sees the task and does not stop (nor its daemon's run queue)
    /// before the task has ended.
    fn fast_path<P: Payload>(
        self: &Arc<Self>,
        payload: P,
        options: TaskOptions,
    ) -> Result<Arc<dyn TaskRef<P::Output>>, NotFast<P>> {
        let here = P::STARTS_ANYWHERE || crate::engine::local::is_daemon_thread_of(self.id);
        // Acquire: pairs with the decrement in `start_job`.
        if !here || self.waiting.load(Ordering::Acquire) != 0 {
            return Err((payload, options));
        }
        let Some(permit) = self.limiter.try_acquire() else {
            return Err((payload, options));
        };
        self.submitted.fetch_add(1, Ordering::SeqCst);
        if self.closing.load(Ordering::SeqCst) {
            self.submitted.fetch_sub(1, Ordering::SeqCst);
            self.notify_if_idle(lock(&self.book));
            // Through `start_queued`, as every token that goes back: a task
            // queued while this permit was out saw no token free.
            self.limiter.give_back(permit.into_token());
            self.start_queued();
            return Err((payload, options));
        }
        let cell = Cell::new(payload, None, options, Arc::clone(self));
        if let Err(token) = Arc::clone(&cell).start(permit.into_token()) {
            debug_assert!(false, "nobody else holds a task being submitted");
            self.pass_on(token);
        }
        Ok(cell)
    }

    /// Queues an admitted task, then starts queued tasks if a token is
    /// free. Fails (handing the payload back) only if the pool closed since
    /// `precheck`.
    fn enqueue<P: Payload>(
        self: &Arc<Self>,
        payload: P,
        slot: Option<Token>,
        options: TaskOptions,
    ) -> Result<Arc<dyn TaskRef<P::Output>>, P> {
        let cell = Cell::new(payload, slot, options, Arc::clone(self));
        // Counted before it is queued: a token holder may start it at once.
        // Release: a snapshot that counts the task as started sees this.
        self.submitted.fetch_add(1, Ordering::Release);
        // Release: a fast-path submit that sees this queues behind it.
        self.waiting.fetch_add(1, Ordering::Release);
        let job: Arc<dyn Job> = cell.clone();
        match self.queue.push(job) {
            Ok(()) => {
                self.start_queued();
                Ok(cell)
            }
            Err(refused) => {
                // The refused job is the only other reference: dropped
                // first, so the payload can be taken back.
                drop(refused);
                let payload = cell.take_back().expect("an unqueued task still holds its payload");
                self.waiting.fetch_sub(1, Ordering::Release);
                self.submitted.fetch_sub(1, Ordering::AcqRel);
                self.notify_if_idle(lock(&self.book));
                Err(payload)
            }
        }
    }

    // ----- starting queued tasks -----

    /// Whether this thread may start the pool's queued tasks: any thread
    /// for a global pool, only the daemon thread for a daemon's.
    fn starts_here(&self) -> bool {
        self.kind == PoolKind::Global || crate::engine::local::is_daemon_thread_of(self.id)
    }

    /// Starts a task popped from the front of the queue under `token`, or
    /// hands the token back when the task cannot start (it was cancelled
    /// while queued, or the pool is cancelling its queue).
    fn start_job(&self, job: Arc<dyn Job>, token: Token) -> Result<(), Token> {
        // SeqCst: a task popped after `cancel_pending` set the flag ends
        // unstarted (one popped before it started before the shutdown).
        if self.cancel_pending.load(Ordering::SeqCst) {
            job.end_unstarted(Ended::Shutdown);
            return Err(token);
        }
        job.start(token)?;
        // Release: a fast-path submit that sees no task waiting starts
        // after this one.
        self.waiting.fetch_sub(1, Ordering::Release);
        Ok(())
    }

    /// A running task ended and gives back `token`: it goes straight to the
    /// task at the front of the queue, if there is one and this thread may
    /// start it, without passing through the limiter. Otherwise (or while a
    /// shrink's debt is owed, which the token must pay) it goes back to the
    /// limiter.
    pub(crate) fn pass_on(&self, mut token: Token) {
        if self.starts_here() && !self.limiter.owes() {
            while let Some(job) = self.queue.pop() {
                match self.start_job(job, token) {
                    Ok(()) => return,
                    Err(back) => token = back,
                }
            }
        }
        self.limiter.give_back(token);
        self.start_queued();
    }

    /// Starts queued tasks, front first, while tokens are free. Called
    /// after a task is queued, after a token went back to the limiter, and
    /// after the limit grew; on a daemon from another thread, it leaves the
    /// starting to the driver on the daemon thread.
    ///
    /// No start is lost between a submit and a token coming back: each
    /// side changes its own state (queue, tokens), makes a SeqCst fence,
    /// then looks at the other's; of two fences one comes first, so at
    /// least one side sees both the task and the token.
    pub(crate) fn start_queued(&self) {
        loop {
            fence(Ordering::SeqCst);
            // Tokens first: while tasks queue, the count rarely changes and
            // stays in this core's cache, where the queue's ends move.
            if self.limiter.available() == 0 || self.queue.is_empty() {
                return;
            }
            if !self.starts_here() {
                // SeqCst: against the driver's swap-then-listen-then-load.
                self.deferred_start.store(true, Ordering::SeqCst);
                self.driver.notify(1);
                return;
            }
            let Some(permit) = self.limiter.try_acquire() else {
                return;
            };
            let mut token = permit.into_token();
            loop {
                match self.queue.pop() {
                    Some(job) => match self.start_job(job, token) {
                        Ok(()) => break,
                        Err(back) => token = back,
                    },
                    None => {
                        // Another thread took the task: give the token back
                        // and look again (the fence at the top).
                        self.limiter.give_back(token);
                        break;
                    }
                }
            }
        }
    }

    /// Changes the limit and logs it; a larger one starts queued tasks at
    /// once (after the log line, so the log shows every start under the
    /// limit it had).
    pub(crate) fn set_limit(&self, limit: usize) {
        let old = self.limiter.set_limit(limit);
        report::debug!("TASK POOL: limit changed from {old} to {limit}.");
        if limit > old {
            self.start_queued();
        }
    }

    // ----- task lifecycle hooks -----

    /// A task starts: count it, register it for a deadline abort, log it.
    /// Returns its registry key, and whether a deadline abort already
    /// passed (the caller then cancels it, once it is set up to run).
    pub(crate) fn on_start(&self, job: Arc<dyn Job>) -> (usize, bool) {
        let mut book = lock(&self.book);
        let running = book.counts.started();
        let key = book.running.insert(job);
        let aborted = book.aborted;
        drop(book);
        report::debug!("TASK POOL: Sending task to execute. Number of active tasks: {running}.");
        (key, aborted)
    }

    /// Queues a runnable task of this pool where the pool runs its tasks:
    /// on its workers, or on its daemon thread's loop.
    pub(crate) fn schedule(&self, runnable: Runnable) {
        match self.kind {
            PoolKind::Global => self.workers().schedule(runnable),
            PoolKind::Daemon => self.run_queue().schedule(runnable),
        }
    }

    /// A started task ended: count it and, under the same lock, `publish`
    /// its outcome with the pool's new count of ended tasks (so a task is
    /// finished exactly when the stats count it).
    pub(crate) fn end_running(&self, key: usize, ended: Ended, publish: impl FnOnce(u64)) {
        let mut book = lock(&self.book);
        book.running.try_remove(key);
        book.counts.ended_running(ended);
        publish(book.counts.finished());
        self.notify_if_idle(book);
    }

    /// A queued task ended without starting; as [`end_running`](Self::end_running).
    pub(crate) fn end_unstarted(&self, ended: Ended, publish: impl FnOnce(u64)) {
        // Release: it no longer holds up the fast path.
        self.waiting.fetch_sub(1, Ordering::Release);
        let mut book = lock(&self.book);
        book.counts.ended_unstarted(ended);
        publish(book.counts.finished());
        self.notify_if_idle(book);
    }

    /// Whether every accepted task has ended. Under the book lock.
    fn idle_under(&self, book: &Book) -> bool {
        // SeqCst: see `fast_path`.
        self.submitted.load(Ordering::SeqCst) == book.counts.finished()
    }

    fn notify_if_idle(&self, book: MutexGuard<'_, Book>) {
        let idle = self.idle_under(&book);
        drop(book);
        if idle {
            // Wakers of whoever waits (user code): contained.
            report::contained(|| {
                self.idle.notify(usize::MAX);
            });
            report::contained(|| {
                self.driver.notify(usize::MAX);
            });
        }
    }

    /// Reports a failure nobody observed: one error line, then the hook.
    pub(crate) fn report_unobserved(&self, id: TaskId, name: Option<&str>, message: String) {
        report::error!(
            "{} failed and its outcome was never retrieved: {message}",
            TaskLabel(id, name)
        );
        if let Some(hook) = &self.on_unobserved {
            let failure = UnobservedFailure::new(id, name, &message);
            report::contained(|| hook(&failure));
        }
    }

    // ----- shutdown -----

    /// Stops accepting tasks. Returns whether this call closed the pool.
    pub(crate) fn close(&self) -> bool {
        // SeqCst: one caller wins (and logs before closing, since a closed
        // daemon may drain and log "stopped" at once); and a fast-path
        // submit that does not see this is seen by the idle check (see
        // `fast_path`).
        if self.closing.swap(true, Ordering::SeqCst) {
            return false;
        }
        if self.kind == PoolKind::Daemon {
            report::info!("DaemonExecutor is stopping...");
        }
        self.queue.close();
        // Wakes the driver: a pool closed while idle stops at once.
        self.driver.notify(usize::MAX);
        if let Some(slots) = &self.slots {
            // Wakes submitters blocked on a full queue: they get their
            // futures back.
            slots.close();
        }
        true
    }

    /// Closes the pool and applies `mode`. Returns whether this call closed
    /// it. A later call may make a shutdown stricter, never laxer.
    pub(crate) fn begin_shutdown(&self, mode: ShutdownMode) -> bool {
        let closed_now = self.close();
        match mode {
            ShutdownMode::Drain => {}
            ShutdownMode::CancelPending => self.cancel_pending(),
            ShutdownMode::Deadline(after) => {
                if let Some(at) = deadline_after(after) {
                    let mut deadline = lock(&self.deadline);
                    *deadline = Some(deadline.map_or(at, |earlier| earlier.min(at)));
                }
                self.shutdown_changed.notify(usize::MAX);
            }
        }
        closed_now
    }

    /// Ends every queued task with the shutdown outcome.
    fn cancel_pending(&self) {
        // SeqCst: a token holder that pops after this sees the flag.
        self.cancel_pending.store(true, Ordering::SeqCst);
        self.shutdown_changed.notify(usize::MAX);
        while let Some(job) = self.queue.pop() {
            job.end_unstarted(Ended::Shutdown);
        }
    }

    /// The deadline passed: end the queue and cancel everything running.
    fn abort(&self) {
        self.cancel_pending();
        lock(&self.book).aborted = true;
        self.cancel_running();
    }

    /// Waits until the driver has finished: closed, drained, nothing running.
    pub(crate) async fn wait_stopped(&self) {
        loop {
            if self.is_stopped() {
                return;
            }
            let listener = self.stopped_event.listen();
            if self.is_stopped() {
                return;
            }
            crate::engine::util::shielded(listener).await;
        }
    }

    /// Blocking form of [`wait_stopped`](Self::wait_stopped).
    pub(crate) fn wait_stopped_blocking(&self) {
        while !self.is_stopped() {
            let listener = self.stopped_event.listen();
            if self.is_stopped() {
                return;
            }
            listener.wait();
        }
    }

    // ----- the driver -----

    /// Starts a global pool's driver on the runtime. If the runtime drops it
    /// unfinished (it could not spawn it, as under a logger that panics
    /// while async-std logs the spawn, or it shut down: a tokio runtime
    /// whose handle the pool was given), the
    /// driver moves to a thread of its own: without it the pool would never
    /// say it has stopped, and a shutdown deadline would never fire.
    ///
    /// If the runtime has shut down (asked on that thread), the workers
    /// went with it: the pool closes, and the tasks running then are
    /// cancelled, since nothing would poll them again (those queued are
    /// cancelled as they start, by their lost workers).
    pub(crate) fn start_driver(self: &Arc<Self>) {
        let pool = Arc::clone(self);
        let rehome = Rehome(Some(Arc::clone(self)));
        self.backend.spawn(async move {
            pool.drive().await;
            rehome.disarm();
        });
    }

    /// Runs the driver on this thread, after the runtime dropped it: first
    /// asks the runtime whether it has shut down (then nothing can run on
    /// the pool any more: it refuses new tasks, and ends the running ones).
    fn drive_on_this_thread(self: Arc<Self>) {
        if crate::engine::util::block_on_here(self.backend.has_shut_down()) {
            report::error!("TASK POOL: its runtime shut down; it is closed and its unfinished tasks end as cancelled");
            self.close();
            self.cancel_running();
        }
        let pool = Arc::clone(&self);
        if report::caught(|| crate::engine::util::block_on_here(pool.drive())).is_none() {
            report::error!("TASK POOL: the pool's driver panicked");
        }
    }

    /// Cancels every running task (their ends are counted as usual).
    fn cancel_running(&self) {
        let running: Vec<Arc<dyn Job>> = {
            let book = lock(&self.book);
            book.running.iter().map(|(_, job)| Arc::clone(job)).collect()
        };
        for job in running {
            job.cancel();
        }
    }

    /// Runs the pool until it is closed and idle (so drained): does the
    /// starts a daemon deferred to its thread, and the watchdog's deadline.
    pub(crate) async fn drive(self: Arc<Self>) {
        if let Either::Right(never) = race(self.serve(), pin!(self.watchdog())).await {
            match never {}
        }
        report::debug!("TASK POOL: stopped with {:?}", self.stats());
        self.stopped.store(true, Ordering::Release);
        self.stopped_event.notify(usize::MAX);
    }

    /// Starts deferred tasks until the pool is closed and idle. Wakes only
    /// when a start was deferred, the pool closed, or it went idle: never
    /// once per task.
    async fn serve(&self) {
        loop {
            // SeqCst: pairs with the store in `start_queued`.
            if self.deferred_start.swap(false, Ordering::SeqCst) {
                self.start_queued();
            }
            if self.is_closed() && self.is_idle() {
                return;
            }
            let listener = self.driver.listen();
            if self.deferred_start.load(Ordering::SeqCst) {
                continue;
            }
            if self.is_closed() && self.is_idle() {
                return;
            }
            listener.await;
        }
    }

    fn is_idle(&self) -> bool {
        self.idle_under(&lock(&self.book))
    }

    /// Sleeps until a shutdown deadline passes, then aborts. Never returns.
    async fn watchdog(&self) -> Infallible {
        loop {
            let listener = self.shutdown_changed.listen();
            let deadline = *lock(&self.deadline);
            match deadline {
                None => listener.await,
                Some(at) => {
                    let sleep = futures_timer::Delay::new(at.saturating_duration_since(Instant::now()));
                    if let Either::Left(()) = race(sleep, listener).await {
                        self.abort();
                        return std::future::pending().await;
                    }
                }
            }
        }
    }
}

impl fmt::Debug for PoolShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("TaskPool")
            .field("limit", &stats.limit)
            .field("running", &stats.running)
            .field("queued", &stats.queued)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Held by a global pool's driver on the runtime: dropped before the driver
/// finished, it runs the driver on a thread of its own.
struct Rehome(Option<Arc<PoolShared>>);

impl Rehome {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Rehome {
    fn drop(&mut self) {
        let Some(pool) = self.0.take() else { return };
        // Not here: this may run inside the runtime's own shutdown.
        let spawned = std::thread::Builder::new()
            .name("taskpool-driver".into())
            .spawn(move || pool.drive_on_this_thread());
        if let Err(error) = spawned {
            report::error!("TASK POOL: the pool's driver has no runtime left and no thread: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::*;

    /// The size of the field `get` reads.
    fn size_of_field<T>(_get: fn(&PoolShared) -> &T) -> usize {
        size_of::<T>()
    }

    /// The fields that different threads write each fill cache lines of
    /// their own (see `util::Padded`): the submit counter, the count of
    /// tasks still to start, the bookkeeping lock and the limiter. Sharing
    /// one line made every submit miss the cache (BENCHMARKS.md, "False
    /// sharing in the pool's state").
    #[test]
    fn the_fields_other_threads_write_sit_in_lines_of_their_own() {
        let fields = [
            (
                "submitted",
                offset_of!(PoolShared, submitted),
                size_of_field(|p| &p.submitted),
            ),
            (
                "waiting",
                offset_of!(PoolShared, waiting),
                size_of_field(|p| &p.waiting),
            ),
            ("book", offset_of!(PoolShared, book), size_of_field(|p| &p.book)),
            (
                "limiter",
                offset_of!(PoolShared, limiter),
                size_of_field(|p| &p.limiter),
            ),
        ];
        for (name, offset, size) in fields {
            assert_eq!(offset % 128, 0, "{name} starts at {offset}, inside a pair of lines");
            assert_eq!(size % 128, 0, "{name} is {size} bytes: its last lines are shared");
        }
        assert_eq!(align_of::<PoolShared>() % 128, 0);
    }

    /// Found by review (older than the linked queue): a fast-path submit
    /// that found the pool closing gave its permit back with a bare
    /// `drop(permit)`, without looking at the queue. A task queued while
    /// that permit was out (its `start_queued` saw no token) was then left
    /// queued with the token free: nothing ever started it, so the pool
    /// never drained and its handle never resolved. The
    /// interleaving is forced with the real code: another thread's `close`
    /// is between its two steps (`closing` set, queue still open), and the
    /// backing-out fast path is held at the bookkeeping lock.
    #[test]
    fn a_fast_path_that_backs_out_on_close_leaves_no_task_queued_with_a_free_token() {
        crate::engine::util::watchdog(|| {
            use crate::engine::run::Spawned;

            let shared = PoolShared::for_test(1);
            let options = || TaskOptions {
                name: None,
                timeout: None,
            };
            // Another thread's `close` has done its first step only.
            assert!(!shared.closing.swap(true, Ordering::SeqCst));
            // Submit F takes the only permit on the fast path, sees the pool
            // closing and waits here (in `notify_if_idle`) before giving it
            // back.
            let book = lock(&shared.book);
            let f = {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    shared
                        .submit(Spawned::new(std::future::ready(())), options(), Admit::Try)
                        .map(|_| ())
                        .map_err(|(refusal, _)| refusal)
                })
            };
            while shared.limiter.available() != 0 {
                std::thread::yield_now();
            }
            // Submit A meanwhile: no permit free, so it is queued (the queue is
            // still open) and its `start_queued` finds no token.
            let a = shared
                .submit(Spawned::new(std::future::ready(())), options(), Admit::Try)
                .ok()
                .expect("queued: the queue is still open");
            // The `close` finishes: the queue refuses from now on.
            shared.queue.close();
            drop(book);
            // F gives its permit back, then is refused by the closed queue.
            assert!(matches!(f.join().unwrap(), Err(Refusal::Closed)));
            assert!(
                shared.queue.is_empty() || shared.limiter.available() == 0,
                "a task is queued with a token free, and nobody will start it"
            );
            assert!(
                a.core().is_running() || a.core().is_finished(),
                "the queued task never starts"
            );
        });
    }
}
