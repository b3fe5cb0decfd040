//! The daemon thread's executor: a run queue of runnables (task cells and
//! `async-task` runnables, see `sched.rs`).
//!
//! Every task of a daemon pool runs on its thread, so the executor needs
//! no work stealing and no sleepers: a queue of runnables (filled from any
//! thread, since wakers travel) and one waker to resume the thread's loop.
//! [`run`] drives it from inside the runtime's `block_on` (see `rt/`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;
use concurrent_queue::ConcurrentQueue;

use crate::engine::report;
use crate::engine::sched::Runnable;
use crate::engine::shared::PoolId;

/// How many tasks the loop runs before it lets `block_on` (and so the
/// runtime on this thread) have a turn.
const BUDGET: usize = 128;

/// The run queue of one thread's loop. Shareable: other threads spawn
/// `Send` futures onto it with [`RunQueue::spawn`].
pub(crate) struct RunQueue {
    runnables: ConcurrentQueue<Runnable>,
    /// The loop's waker: a schedule from any thread resumes it.
    waker: AtomicWaker,
}

impl RunQueue {
    pub(crate) fn new() -> Arc<RunQueue> {
        Arc::new(RunQueue {
            runnables: ConcurrentQueue::unbounded(),
            waker: AtomicWaker::new(),
        })
    }

    /// Queues `runnable` for the loop's thread, from any thread.
    pub(crate) fn schedule(&self, runnable: Runnable) {
        // An unbounded queue that is never closed: the push cannot fail.
        let _ = self.runnables.push(runnable);
        self.waker.wake();
    }

    /// Spawns a `Send` future from any thread; the loop's thread runs it.
    /// Tasks start in the order they were spawned, whichever thread
    /// spawned them.
    pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(self: &Arc<Self>, future: F) {
        let queue = Arc::clone(self);
        let (runnable, task) = async_task::spawn(future, move |runnable| queue.schedule(Runnable::Task(runnable)));
        task.detach();
        runnable.schedule();
    }
}

thread_local! {
    /// The pool whose daemon thread this is, if it is one.
    static DAEMON_OF: std::cell::Cell<Option<PoolId>> = const { std::cell::Cell::new(None) };
}

/// Marks the calling thread as the daemon thread that runs `pool`'s tasks.
pub(crate) fn mark_daemon_thread_of(pool: PoolId) {
    DAEMON_OF.with(|d| d.set(Some(pool)));
}

/// Whether the calling thread is the daemon thread that runs `pool`'s tasks.
pub(crate) fn is_daemon_thread_of(pool: PoolId) -> bool {
    DAEMON_OF.with(|d| d.get()) == Some(pool)
}

thread_local! {
    /// The run queue of the loop running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<RunQueue>>> = const { RefCell::new(None) };
}

/// Spawns `future` on the loop running on this thread and detaches it.
///
/// # Panics
///
/// Panics if no loop runs on this thread: only the daemon thread, inside
/// [`run`], calls this.
pub(crate) fn spawn<F: Future<Output = ()> + 'static>(future: F) {
    let queue = CURRENT.with(|current| current.borrow().clone());
    let queue = queue.expect("local tasks are spawned only on a daemon thread");
    let (runnable, task) = async_task::spawn_local(future, move |runnable| queue.schedule(Runnable::Task(runnable)));
    task.detach();
    runnable.schedule();
}

/// Installs a run queue on this thread for the loop's lifetime.
struct Installed;

impl Installed {
    fn install(queue: Arc<RunQueue>) -> Installed {
        CURRENT.with(|current| *current.borrow_mut() = Some(queue));
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

/// Runs `main` and every task spawned on `queue` meanwhile, until `main`
/// completes. Tasks still queued then are dropped (which ends a pool task
/// as cancelled; the pool's driver only returns once its tasks are done).
pub(crate) async fn run<F: Future>(queue: Arc<RunQueue>, main: F) -> F::Output {
    let _installed = Installed::install(Arc::clone(&queue));
    let mut main = pin!(main);
    // `main` is polled with a waker of its own, and only after that waker
    // fired: a wake-up for runnables costs no poll of `main`.
    let main_wake = Arc::new(MainWake {
        woken: AtomicBool::new(true),
        queue: Arc::clone(&queue),
    });
    let main_waker = Waker::from(Arc::clone(&main_wake));
    let out = std::future::poll_fn(|cx| {
        // Register first: a schedule after this resumes the loop.
        queue.waker.register(cx.waker());
        // Acquire: pairs with the Release in `MainWake::wake`, so what the
        // waker's caller did before waking is visible to this poll.
        if main_wake.woken.swap(false, Ordering::Acquire)
            && let Poll::Ready(out) = main.as_mut().poll(&mut Context::from_waker(&main_waker))
        {
            return Poll::Ready(out);
        }
        for _ in 0..BUDGET {
            match queue.runnables.pop() {
                // A runnable contains its task's panics; this keeps the
                // daemon's loop alive whatever else panics (a waker's).
                Ok(runnable) => report::contained(|| runnable.run()),
                Err(_) => return Poll::Pending,
            }
        }
        // Work is left: come back after the runtime had its turn.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    // Runnables hold the queue (through their schedule closures, or their
    // cells' pool): break the cycle by dropping them unrun (each ends its
    // task as cancelled).
    while let Ok(runnable) = queue.runnables.pop() {
        report::contained(|| runnable.abandon());
    }
    out
}

/// The waker of the loop's main future: marks it woken, then resumes the
/// loop through the queue's waker.
struct MainWake {
    woken: AtomicBool,
    queue: Arc<RunQueue>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: see `run`.
        self.woken.store(true, Ordering::Release);
        self.queue.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use event_listener::Event;

    use super::*;

    /// Yields to the loop once: wakes itself and returns `Pending`.
    async fn yield_once() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
    }

    /// Counts the polls of the future it wraps.
    struct Counted<F> {
        inner: Pin<Box<F>>,
        polls: Rc<Cell<usize>>,
    }

    impl<F: Future> Future for Counted<F> {
        type Output = F::Output;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.polls.set(self.polls.get() + 1);
            self.inner.as_mut().poll(cx)
        }
    }

    #[test]
    fn the_main_future_is_polled_only_when_its_own_waker_fires() {
        const TASKS: usize = 100;
        const YIELDS: usize = 10;
        let left = Arc::new(AtomicUsize::new(TASKS));
        let done = Arc::new(Event::new());
        let polls = Rc::new(Cell::new(0));
        let main = {
            let (left, done) = (Arc::clone(&left), Arc::clone(&done));
            async move {
                for _ in 0..TASKS {
                    let (left, done) = (Arc::clone(&left), Arc::clone(&done));
                    spawn(async move {
                        for _ in 0..YIELDS {
                            yield_once().await;
                        }
                        if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                            done.notify(usize::MAX);
                        }
                    });
                }
                loop {
                    let listener = done.listen();
                    if left.load(Ordering::Acquire) == 0 {
                        return;
                    }
                    listener.await;
                }
            }
        };
        let counted = Counted {
            inner: Box::pin(main),
            polls: Rc::clone(&polls),
        };
        crate::engine::util::block_on_here(run(RunQueue::new(), counted));
        // The tasks woke the loop about TASKS * YIELDS times; the main
        // future was polled at its start and once per wake of its own (the
        // event, and at most a spurious one), never once per wake-up.
        assert!(polls.get() <= 3, "main polled {} times", polls.get());
    }
}
