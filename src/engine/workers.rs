//! A global pool's own executor: its tasks are runnables (their cells, see
//! `cell.rs` and `sched.rs`), run inline by a few worker futures on the
//! runtime's executor, instead of one runtime spawn per task.
//!
//! A runtime spawn per task costs an allocation in the runtime, a trip
//! through its shared queue and its task bookkeeping, on top of the pool's
//! own. Here a task is one runnable; a wake-up pushes it on the pool's run
//! queue, and a worker (a future spawned on the runtime, at most one per
//! executor thread) pops and runs it. A runnable woken while a worker of
//! the same pool is running on this thread (a yield, a channel between two
//! of the pool's tasks) goes on that worker's own queue and is run soon by
//! it, not handed to another thread: the ping-pong of one wake-up per yield
//! between two threads is what sank an earlier attempt at workers. Other
//! workers still take from a busy one's queue, so a task that blocks its
//! thread does not hold up the tasks it woke.
//!
//! Workers are spawned on demand and end when they find nothing to run, so
//! an idle pool holds no task in the runtime. Whoever queues a runnable
//! while fewer than [`Workers::max`] workers are alive spawns one more; a
//! worker that is about to end first gives up its place, then looks at the
//! queues once more, so no runnable is ever left without a worker.

use crate::engine::report;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::task::{Context, Poll};

use concurrent_queue::ConcurrentQueue;

use crate::engine::rt::Backend;
use crate::engine::sched::Runnable;

/// How many runnables a worker runs before it lets the runtime's other
/// tasks have a turn.
const BUDGET: usize = 128;

/// How many workers in a row may be lost (dropped by the runtime before
/// they ran) before the pool stops replacing them and ends the tasks they
/// left; see `Workers::lost`.
const RETRIES: usize = 3;

thread_local! {
    /// The worker running on this thread right now: its pool's `Workers`
    /// (as an address, only compared) and its index.
    static CURRENT: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// One global pool's run queues and worker count.
pub(crate) struct Workers {
    /// Runnables woken from outside the pool's workers.
    shared: ConcurrentQueue<Runnable>,
    /// Each worker's own queue: runnables woken while it ran on its thread.
    own: Box<[ConcurrentQueue<Runnable>]>,
    /// Which of the `own` queues belong to a live worker (bit `i`).
    alive: AtomicUsize,
    /// The runtime the workers are spawned on.
    backend: Backend,
    /// Workers lost in a row (see [`lost`](Self::lost)).
    losses: AtomicUsize,
    /// Set while a thread drops the runnables no worker is left for.
    dropping: AtomicBool,
}

impl Workers {
    /// The workers of a pool on `backend`: at most one per executor thread
    /// the runtime has, so that its tasks can use every core (and at most
    /// as many as the bits of a `usize`).
    pub(crate) fn new(backend: Backend) -> Arc<Workers> {
        let max = backend.threads().clamp(1, usize::BITS as usize);
        Arc::new(Workers {
            shared: ConcurrentQueue::unbounded(),
            own: (0..max).map(|_| ConcurrentQueue::unbounded()).collect(),
            alive: AtomicUsize::new(0),
            backend,
            losses: AtomicUsize::new(0),
            dropping: AtomicBool::new(false),
        })
    }

    /// The most workers the pool runs at once.
    fn max(&self) -> usize {
        self.own.len()
    }

    /// Spawns `future` as a task of this pool. It is polled first by a
    /// worker, in the order of its wake-ups.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let workers = Arc::clone(self);
        let (runnable, task) = async_task::spawn(future, move |runnable| workers.schedule(Runnable::Task(runnable)));
        task.detach();
        runnable.schedule();
    }

    /// Queues `runnable` to be run by one of the pool's workers.
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let this = Arc::as_ptr(self) as usize;
        match CURRENT.with(Cell::get) {
            Some((pool, index)) if pool == this => {
                // The worker running on this thread runs it soon. Another
                // worker may take it meanwhile: if the running task blocks
                // this thread, the one it woke must not wait behind it.
                // An unbounded queue that is never closed: `push` cannot fail.
                let _ = self.own[index].push(runnable);
                self.wake_one();
            }
            _ => {
                let _ = self.shared.push(runnable);
                self.wake_one();
            }
        }
    }

    /// Makes sure some worker will run what was just queued: spawns one more
    /// if fewer than [`max`](Self::max) are alive (with all of them alive,
    /// each looks at every queue before it ends).
    fn wake_one(self: &Arc<Self>) {
        // SeqCst: the push before this against an ending worker's
        // give-up-then-look-again (see `Worker::poll`).
        fence(Ordering::SeqCst);
        let mut alive = self.alive.load(Ordering::SeqCst);
        loop {
            if alive.count_ones() as usize >= self.max() {
                return;
            }
            let index = (!alive).trailing_zeros() as usize;
            match self
                .alive
                .compare_exchange(alive, alive | (1 << index), Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break self.start_worker(index),
                Err(now) => alive = now,
            }
        }
    }

    fn start_worker(self: &Arc<Self>, index: usize) {
        let worker = Worker {
            workers: Arc::clone(self),
            index,
            done: false,
            started: false,
        };
        // A worker the runtime drops unfinished gives its place and its
        // queue up (`Worker::drop`).
        self.backend.spawn(worker);
    }

    /// Worker `index` is gone before it finished: the runtime could not
    /// spawn it (a panicking logger under async-std), or shut down (a tokio
    /// runtime whose handle the pool was given).
    ///
    /// Its own queue goes to the shared one, and a new worker is spawned in
    /// its place: a runtime that failed once may not fail again, and the
    /// workers still alive may be blocked by their tasks. After
    /// [`RETRIES`] losses in a row (a dead runtime drops each new worker at
    /// once, and lands back here) nothing is expected to run the queued
    /// runnables any more: while no worker is alive they are dropped, which
    /// ends each task as cancelled, as a failed spawn of the task itself
    /// would. A worker that runs resets the count.
    fn lost(self: &Arc<Self>, index: usize) {
        while let Ok(runnable) = self.own[index].pop() {
            let _ = self.shared.push(runnable);
        }
        // SeqCst: as a worker that ends (see `Worker::poll`): a worker that
        // gives its place up after this sees the runnables moved above.
        self.alive.fetch_and(!(1 << index), Ordering::SeqCst);
        if self.losses.fetch_add(1, Ordering::SeqCst) < RETRIES {
            self.wake_one();
        } else {
            self.start_dropping();
        }
    }

    /// Drops the queued runnables while no worker is alive, on a thread of
    /// its own, one such thread at a time.
    ///
    /// Not here: this runs inside whatever queued the runnable, often a
    /// waker called under the lock of a channel or an event that the
    /// dropped futures use too. The tasks' ends may start and queue more,
    /// whose workers are lost in turn: the thread already dropping takes
    /// those too.
    fn start_dropping(self: &Arc<Self>) {
        // SeqCst: against the dropping thread's look-again in `drop_queued`.
        if self.dropping.swap(true, Ordering::SeqCst) {
            return;
        }
        let workers = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("taskpool-cancel".into())
            .spawn(move || workers.drop_queued());
        if spawned.is_err() {
            // No thread either: drop them here, the only way left to end them.
            self.drop_queued();
        }
    }

    /// Drops queued runnables, ending their tasks as cancelled, until the
    /// queues stay empty, a worker is alive (which runs the rest: a live
    /// worker looks at every queue before it ends), or a worker has run
    /// since the losses (the runtime works again).
    ///
    /// "No worker alive" alone is not enough: an idle pool has none either,
    /// for a moment, between queuing a runnable and spawning its worker;
    /// a dropping thread still at work then would cancel a task the
    /// runtime can run (found by the 20-run test loop).
    fn drop_queued(self: &Arc<Self>) {
        // SeqCst throughout: the `alive` and `losses` loads against the
        // updates of workers that start or give their place up, and the
        // `dropping` flag against `start_dropping`.
        loop {
            while self.alive.load(Ordering::SeqCst) == 0
                && self.given_up()
                && let Some(runnable) = self.pop_any()
            {
                // Looked at again after the pop: this thread may have
                // waited long between the checks and the pop.
                if self.alive.load(Ordering::SeqCst) != 0 || !self.given_up() {
                    let _ = self.shared.push(runnable);
                    self.wake_one();
                    break;
                }
                report::contained(|| runnable.abandon());
            }
            self.dropping.store(false, Ordering::SeqCst);
            // A runnable queued (and its worker lost) after the pops above
            // saw `dropping` still set and left it to this thread.
            if self.alive.load(Ordering::SeqCst) != 0
                || !self.given_up()
                || self.is_empty()
                || self.dropping.swap(true, Ordering::SeqCst)
            {
                return;
            }
        }
    }

    /// Whether more than [`RETRIES`] workers were lost in a row, with none
    /// run since: the runtime is taken for gone.
    fn given_up(&self) -> bool {
        // SeqCst: against the store of a worker that runs (see `poll`).
        self.losses.load(Ordering::SeqCst) > RETRIES
    }

    fn pop_any(&self) -> Option<Runnable> {
        self.shared
            .pop()
            .ok()
            .or_else(|| self.own.iter().find_map(|queue| queue.pop().ok()))
    }

    /// The next runnable for worker `index`: its own first, then the shared
    /// queue, then another worker's (a busy worker's wake-ups are not left
    /// waiting behind a long poll).
    fn next(&self, index: usize) -> Option<Runnable> {
        if let Ok(runnable) = self.own[index].pop() {
            return Some(runnable);
        }
        if let Ok(runnable) = self.shared.pop() {
            return Some(runnable);
        }
        self.own.iter().find_map(|queue| queue.pop().ok())
    }

    fn is_empty(&self) -> bool {
        self.shared.is_empty() && self.own.iter().all(ConcurrentQueue::is_empty)
    }
}

/// Sets [`CURRENT`] while a worker runs, and puts back what was there.
struct Running(Option<(usize, usize)>);

impl Running {
    fn enter(workers: &Arc<Workers>, index: usize) -> Running {
        Running(CURRENT.with(|c| c.replace(Some((Arc::as_ptr(workers) as usize, index)))))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// One worker: runs the pool's runnables until none is left.
struct Worker {
    workers: Arc<Workers>,
    index: usize,
    /// Set when it ends by itself; a worker dropped before is lost.
    done: bool,
    /// Set at its first poll.
    started: bool,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.done {
            self.workers.lost(self.index);
        }
    }
}

impl Future for Worker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let workers = &this.workers;
        let index = this.index;
        if !this.started {
            this.started = true;
            // The runtime runs workers: losing one again starts over.
            // SeqCst: a dropping thread reads it to stop (`drop_queued`).
            workers.losses.store(0, Ordering::SeqCst);
        }
        let _running = Running::enter(workers, index);
        for _ in 0..BUDGET {
            match workers.next(index) {
                // A runner catches its task's panics; this keeps a worker
                // alive (and its place counted right) whatever happens.
                Some(runnable) => report::contained(|| runnable.run()),
                None => {
                    // Give up this worker's place, then look again: a
                    // runnable queued after the look above either sees the
                    // place free (and spawns a worker) or is seen here.
                    workers.alive.fetch_and(!(1 << index), Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    if workers.is_empty() {
                        this.done = true;
                        return Poll::Ready(());
                    }
                    // Work came in: take a place back, or leave it to the
                    // worker that took ours.
                    let before = workers.alive.fetch_or(1 << index, Ordering::SeqCst);
                    if before & (1 << index) != 0 {
                        this.done = true;
                        return Poll::Ready(());
                    }
                }
            }
        }
        // Work is left: let the runtime's other tasks run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
