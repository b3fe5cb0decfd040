//! What the run queues hold: something to run once, on whatever thread
//! pops it.
//!
//! Most of a pool's tasks are their own runnables: a task's cell holds its
//! future and polls it in place (`cell.rs`), so waking it queues the cell
//! itself, with no allocation of its own. The rest are the runners of
//! the payloads that cannot be polled in a `Send` cell: a daemon's local
//! closures (their futures cannot leave the daemon thread) and blocking
//! closures (their runner awaits the blocking pool); those are `async-task`
//! runnables. (A pool's workers and driver are not in these queues: the
//! runtime runs them, see `rt/`.)

use std::sync::Arc;

/// A task that runs itself: polled once per time it is queued.
pub(crate) trait Schedule: Send + Sync {
    /// Polls the task once (see `cell.rs` for the state it keeps).
    fn run(self: Arc<Self>);
    /// The task was queued but will never be run (its executor is gone):
    /// ends it as cancelled.
    fn abandon(self: Arc<Self>);
}

/// One entry of a run queue.
pub(crate) enum Runnable {
    /// A task cell, polled in place.
    Cell(Arc<dyn Schedule>),
    /// A local or blocking closure's runner, spawned with `async-task`.
    Task(async_task::Runnable),
}

impl Runnable {
    /// Runs it once.
    pub(crate) fn run(self) {
        match self {
            Runnable::Cell(cell) => cell.run(),
            Runnable::Task(runnable) => {
                runnable.run();
            }
        }
    }

    /// Drops it unrun: its task ends as cancelled.
    pub(crate) fn abandon(self) {
        match self {
            Runnable::Cell(cell) => cell.abandon(),
            Runnable::Task(runnable) => drop(runnable),
        }
    }
}
