//! The pool's queue of tasks waiting for a token: a FIFO linked through the
//! tasks themselves, under one short lock.
//!
//! Queuing allocates nothing and taking a task frees nothing: each task
//! carries the link to the one behind it ([`Link`], in its core). A queue
//! of blocks (one block per few dozen tasks) would be allocated by the
//! submitting thread and freed by the thread that starts the tasks; a free
//! into another thread's malloc arena takes that arena's lock, which the
//! submitter holds while it allocates each task, and the starting thread
//! then sleeps on it. On a daemon that thread sets the pace of the whole
//! pool (see BENCHMARKS.md, "The pool's queue").
//!
//! The lock is held for a few pointer moves and never while user code
//! runs: no task's last reference is dropped under it (a task in the queue
//! is always also reachable from its predecessor or the head).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::task::Job;
use crate::engine::util::lock;

/// A task's link to the task queued behind it. Only touched under the
/// queue's lock (so its own lock is never contended).
pub(crate) type Link = Mutex<Option<Arc<dyn Job>>>;

/// A closable FIFO of tasks. See the module docs.
pub(crate) struct Fifo {
    ends: Mutex<Ends>,
    /// Tasks in the queue, read without the lock by `is_empty`.
    len: AtomicUsize,
    /// Set by `close` under the lock; read under it by `push`, and
    /// without it by `is_closed`.
    closed: AtomicBool,
}

#[derive(Default)]
struct Ends {
    head: Option<Arc<dyn Job>>,
    tail: Option<Arc<dyn Job>>,
}

impl Fifo {
    pub(crate) fn new() -> Fifo {
        Fifo {
            ends: Mutex::new(Ends::default()),
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues `job` at the back, or hands it back if the queue is closed.
    pub(crate) fn push(&self, job: Arc<dyn Job>) -> Result<(), Arc<dyn Job>> {
        let mut ends = lock(&self.ends);
        // Relaxed: under the lock, which `close` holds as it sets the flag.
        if self.closed.load(Ordering::Relaxed) {
            return Err(job);
        }
        match ends.tail.replace(Arc::clone(&job)) {
            Some(before) => *lock(before.link()) = Some(job),
            None => ends.head = Some(job),
        }
        // Relaxed: the lock orders it against `pop`; `is_empty`'s callers
        // order it against their own state with SeqCst fences.
        self.len.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes the task at the front, if any.
    pub(crate) fn pop(&self) -> Option<Arc<dyn Job>> {
        // Acquire: a push that happened before this call is seen (the
        // queue is often empty; then the lock is not taken).
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut ends = lock(&self.ends);
        let front = ends.head.take()?;
        // Unlinked, so a task that left the queue holds none behind it.
        ends.head = lock(front.link()).take();
        if ends.head.is_none() {
            ends.tail = None;
        }
        // Relaxed: as in `push`.
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(front)
    }

    pub(crate) fn is_empty(&self) -> bool {
        // SeqCst: read after the caller's SeqCst fence (`start_queued`).
        self.len.load(Ordering::SeqCst) == 0
    }

    /// Refuses every later push; queued tasks can still be popped.
    pub(crate) fn close(&self) {
        let _ends = lock(&self.ends);
        // Release: pairs with `is_closed`.
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with `close`.
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for Fifo {
    /// Unlinks the tasks one by one: dropping the head would otherwise
    /// drop the whole chain recursively.
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    use super::*;
    use crate::engine::limiter::Token;
    use crate::engine::stats::Ended;
    use crate::engine::task::TaskId;

    /// A queue entry that only knows its number; nothing here starts it.
    struct Entry {
        n: usize,
        link: Link,
        drops: Option<Arc<AtomicUsize>>,
    }

    fn entry(n: usize) -> Arc<Entry> {
        Arc::new(Entry {
            n,
            link: Link::default(),
            drops: None,
        })
    }

    impl Drop for Entry {
        fn drop(&mut self) {
            if let Some(drops) = &self.drops {
                drops.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    impl Job for Entry {
        fn id(&self) -> TaskId {
            TaskId::from_u64(self.n as u64)
        }
        fn is_done(&self) -> bool {
            unreachable!("the queue never asks")
        }
        fn start(self: Arc<Self>, _: Token) -> Result<(), Token> {
            unreachable!("the queue never starts a task")
        }
        fn end_unstarted(&self, _: Ended) -> bool {
            unreachable!("the queue never ends a task")
        }
        fn cancel(self: Arc<Self>) -> bool {
            unreachable!("the queue never cancels a task")
        }
        fn link(&self) -> &Link {
            &self.link
        }
    }

    /// Pushes an entry the open queue must accept.
    fn queue(fifo: &Fifo, job: Arc<Entry>) {
        assert!(fifo.push(job).is_ok(), "the queue is open");
    }

    /// The number of a popped entry.
    fn number(job: Arc<dyn Job>) -> usize {
        job.id().as_u64() as usize
    }

    #[test]
    fn pops_in_push_order_then_nothing() {
        let fifo = Fifo::new();
        assert!(fifo.is_empty());
        assert!(fifo.pop().is_none());
        for n in 0..100 {
            queue(&fifo, entry(n));
        }
        assert!(!fifo.is_empty());
        let popped: Vec<usize> = std::iter::from_fn(|| fifo.pop()).map(number).collect();
        assert_eq!(popped, (0..100).collect::<Vec<_>>());
        assert!(fifo.is_empty());
        // Empty again, it takes pushes as a fresh queue does.
        queue(&fifo, entry(7));
        assert_eq!(fifo.pop().map(number), Some(7));
    }

    #[test]
    fn a_closed_queue_hands_a_push_back_and_still_drains() {
        let fifo = Fifo::new();
        queue(&fifo, entry(1));
        assert!(!fifo.is_closed());
        fifo.close();
        assert!(fifo.is_closed());
        let refused = entry(2);
        let back = fifo.push(refused.clone()).expect_err("closed");
        assert!(std::ptr::addr_eq(Arc::as_ptr(&back), Arc::as_ptr(&refused)));
        assert_eq!(fifo.pop().map(number), Some(1));
        assert!(fifo.pop().is_none());
    }

    #[test]
    fn a_popped_task_holds_no_link_to_the_rest() {
        let fifo = Fifo::new();
        let (first, second) = (entry(1), entry(2));
        queue(&fifo, first.clone());
        queue(&fifo, second.clone());
        // The queue holds `second` twice: from `first`'s link and as tail.
        assert_eq!(Arc::strong_count(&second), 3);
        let popped = fifo.pop().expect("queued");
        assert!(lock(popped.link()).is_none());
        assert_eq!(Arc::strong_count(&second), 3, "now the head and the tail");
        drop(fifo.pop());
        assert_eq!(Arc::strong_count(&second), 1);
        assert_eq!(Arc::strong_count(&first), 2, "the popped one and ours");
    }

    /// Dropping a long queue unlinks it task by task: dropping the chain
    /// from its head would recurse once per task and overflow this
    /// thread's small stack.
    #[test]
    fn dropping_a_long_queue_drops_every_task_without_recursing() {
        const TASKS: usize = 200_000;
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&drops);
        thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                let fifo = Fifo::new();
                for n in 0..TASKS {
                    let job = Arc::new(Entry {
                        n,
                        link: Link::default(),
                        drops: Some(Arc::clone(&counted)),
                    });
                    queue(&fifo, job);
                }
                drop(fifo);
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        assert_eq!(drops.load(Ordering::Relaxed), TASKS);
    }

    /// Several threads push and several pop at once: every task comes out
    /// exactly once, and each pusher's tasks come out in its order.
    #[test]
    fn concurrent_pushes_and_pops_keep_each_pushers_order() {
        crate::engine::util::watchdog(|| {
            const PUSHERS: usize = 3;
            const EACH: usize = 20_000;
            let fifo = Arc::new(Fifo::new());
            let pushed = Arc::new(AtomicUsize::new(0));
            let pushers: Vec<_> = (0..PUSHERS)
                .map(|p| {
                    let (fifo, pushed) = (Arc::clone(&fifo), Arc::clone(&pushed));
                    thread::spawn(move || {
                        for i in 0..EACH {
                            queue(&fifo, entry(p * EACH + i));
                        }
                        pushed.fetch_add(1, Ordering::Release);
                    })
                })
                .collect();
            let poppers: Vec<_> = (0..2)
                .map(|_| {
                    let (fifo, pushed) = (Arc::clone(&fifo), Arc::clone(&pushed));
                    thread::spawn(move || {
                        let mut seen = Vec::new();
                        loop {
                            // Read before popping: once every pusher is done
                            // and the queue is empty, nothing more comes.
                            let done = pushed.load(Ordering::Acquire) == PUSHERS;
                            match fifo.pop() {
                                Some(job) => seen.push(number(job)),
                                None if done => return seen,
                                None => thread::yield_now(),
                            }
                        }
                    })
                })
                .collect();
            for pusher in pushers {
                pusher.join().expect("pusher");
            }
            let mut all = Vec::new();
            for popper in poppers {
                let seen = popper.join().expect("popper");
                for p in 0..PUSHERS {
                    let mine: Vec<usize> = seen.iter().copied().filter(|n| n / EACH == p).collect();
                    assert!(mine.is_sorted(), "pusher {p}'s tasks came out of order");
                }
                all.extend(seen);
            }
            all.sort_unstable();
            assert_eq!(all, (0..PUSHERS * EACH).collect::<Vec<_>>());
            assert!(fifo.is_empty());
        });
    }
}
