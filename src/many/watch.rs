//! [`Watch`]: learns, in the order it happens, when each of many tasks
//! finishes, at O(1) cost per task.
//!
//! Each watched task gets a listener on its `done` event, polled once with
//! a waker of its own (a [`SlotWaker`] that knows the task's index). When
//! the task publishes its outcome, the event wakes that waker, which pushes
//! the index on a shared queue and wakes whoever polls the watch. So the
//! queue holds indices in the order the outcomes were published, whether
//! or not anyone was polling at the time.
//!
//! # Locks
//!
//! An event calls its wakers while holding its own list lock. A
//! [`SlotWaker`] therefore only takes the queue's lock (a leaf: nothing is
//! called while it is held) and wakes the registered waker. Code that holds
//! a lock of its own may call into a `Watch` (which takes event locks), but
//! nothing called from a waker may take such a lock.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;
use event_listener::EventListener;

use crate::engine::task::TaskCore;
use crate::engine::util::lock;

/// The indices of finished tasks, in the order they finished.
struct Ready {
    order: Mutex<VecDeque<usize>>,
    waker: AtomicWaker,
}

impl Ready {
    fn push(&self, index: usize) {
        lock(&self.order).push_back(index);
        // The combinator's waker is the user's, and this runs inside the
        // task's event's `notify`: a panic must not unwind into it.
        crate::engine::report::contained(|| self.waker.wake());
    }

    fn pop(&self) -> Option<usize> {
        lock(&self.order).pop_front()
    }
}

/// The waker one task's listener holds: reports that task's index.
struct SlotWaker {
    index: usize,
    /// Weak: a listener holds this waker, and must not keep the queue alive.
    ready: Weak<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Runs under the task's event lock: only leaf work here.
        if let Some(ready) = self.ready.upgrade() {
            ready.push(self.index);
        }
    }
}

/// Watches many tasks and reports each one once, when it has finished, in
/// the order they finished. Tasks get indices 0, 1, 2, ... as they are
/// added.
pub(crate) struct Watch {
    ready: Arc<Ready>,
    /// One per task; `None` once reported, or if it was finished when added.
    listeners: Vec<Option<EventListener>>,
    unreported: usize,
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            ready: Arc::new(Ready {
                order: Mutex::new(VecDeque::new()),
                waker: AtomicWaker::new(),
            }),
            listeners: Vec::new(),
            unreported: 0,
        }
    }

    /// Starts watching a task and returns its index. A task that has
    /// already finished is queued at once.
    ///
    /// Panics if the task's handle already took its outcome (it was awaited
    /// to completion): its outcome could never be delivered. Every
    /// combinator adds its handles when it is called, so that is where it
    /// panics, not later while waiting.
    pub(crate) fn add(&mut self, core: &TaskCore) -> usize {
        assert!(
            !core.is_taken(),
            "{}: the handle of {} was already awaited to completion",
            crate::engine::task::TAKEN_TWICE,
            core.label()
        );
        let index = self.listeners.len();
        self.unreported += 1;
        // Listen first, then check: an outcome published in between is
        // caught by the listener.
        let mut listener = core.done.listen();
        let waker = Waker::from(Arc::new(SlotWaker {
            index,
            ready: Arc::downgrade(&self.ready),
        }));
        let pending = !core.is_finished()
            && Pin::new(&mut listener)
                .poll(&mut Context::from_waker(&waker))
                .is_pending();
        if pending {
            self.listeners.push(Some(listener));
        } else {
            self.listeners.push(None);
            self.ready.push(index);
        }
        index
    }

    /// How many tasks are watched.
    pub(crate) fn len(&self) -> usize {
        self.listeners.len()
    }

    /// How many watched tasks have not been reported yet.
    pub(crate) fn unreported(&self) -> usize {
        self.unreported
    }

    /// The next task to have finished, in finishing order; `Ready(None)`
    /// once every watched task has been reported.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        if self.unreported == 0 {
            return Poll::Ready(None);
        }
        // Register before popping, so a push after the pop wakes us.
        self.ready.waker.register(cx.waker());
        match self.ready.pop() {
            Some(index) => {
                self.listeners[index] = None;
                self.unreported -= 1;
                Poll::Ready(Some(index))
            }
            None => Poll::Pending,
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("tasks", &self.len())
            .field("unreported", &self.unreported)
            .finish()
    }
}
