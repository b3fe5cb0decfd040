//! The runtime seam: every call into async-std, and into the smol-rs crates
//! it is built from, lives in this module.
//!
//! async-std is discontinued upstream and names smol as its successor.
//! Moving `taskpool` to smol means rewriting these few functions (and the
//! channel re-export) against `smol`; nothing outside this file names a
//! runtime.
//!
//! - A [`TaskPool`](crate::TaskPool)'s tasks run on its own workers
//!   (`engine/workers.rs`), futures spawned on async-std's global executor
//!   ([`spawn`]), one per executor thread at most ([`executor_threads`]);
//!   so does its driver.
//! - A daemon thread runs async-std's `block_on`, which drives the async-std
//!   runtime on that thread, around the run queue of `local.rs` that runs
//!   the pool's tasks ([`run_local`], [`spawn_local`]). Spawning there skips
//!   async-std's per-spawn task-locals and trace logging: it is cheaper, and
//!   a logger that panics cannot interrupt it.
//! - Blocking closures run on the `blocking` thread pool, which is the pool
//!   behind async-std's own `spawn_blocking` ([`spawn_blocking`]).
//!
//! The rest of the crate names no runtime. It does use these
//! runtime-independent crates, each of which works under any executor
//! (none of them needs a reactor or a runtime context):
//!
//! | crate | used for | where |
//! |---|---|---|
//! | `async-task` | the runners of a daemon's local closures and of blocking closures (a future task is its own runnable, `engine/cell.rs`) | `engine/workers.rs`, `engine/local.rs` |
//! | `concurrent-queue` | a pool's FIFO queue of tasks; the run queues | `engine/shared.rs`, `engine/workers.rs`, `engine/local.rs` |
//! | `event-listener` | waits on the limiter, a pool's idle and shutdown events, a task's outcome for combinators | `engine/limiter.rs`, `engine/shared.rs`, `engine/task.rs`, `many/watch.rs`, `shutdown.rs` |
//! | `atomic-waker` | a task's and a loop's waker slot | `engine/task.rs`, `engine/local.rs`, `many/watch.rs` |
//! | `futures-timer` | task timeouts and timed waits (its own timer thread) | `engine/run.rs`, `many/mod.rs` |
//! | `slab` | the registry of running tasks | `engine/shared.rs` |
//! | `pin-project-lite`, `futures-core` | pinning projections; the `Stream` trait | `engine/run.rs`, `many/` |
//!
//! async-std logs a trace line on every spawn and `block_on`. A logger that
//! panics there must not take a pool down, so those calls are contained.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::engine::local::RunQueue;

/// Spawns a `Send` future on async-std's global multi-threaded executor and
/// detaches it. Returns whether it was spawned.
///
/// If the logger panics while async-std logs the spawn, the future is
/// dropped unstarted, this returns `false` and the caller carries on.
pub(crate) fn spawn<F>(future: F) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    catch_unwind(AssertUnwindSafe(move || drop(async_std::task::spawn(future)))).is_ok()
}

/// How many threads async-std's global executor runs: its
/// `ASYNC_STD_THREAD_COUNT` setting, or one per core.
pub(crate) fn executor_threads() -> usize {
    std::env::var("ASYNC_STD_THREAD_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Spawns a future on the daemon thread's executor and detaches it.
///
/// Only called on a daemon thread, inside [`run_local`], which drives it.
pub(crate) fn spawn_local<F>(future: F)
where
    F: Future<Output = ()> + 'static,
{
    crate::engine::local::spawn(future);
}

/// Runs the future `main()` makes on this thread inside async-std's
/// `block_on`, driving the thread's executor (and so every task spawned with
/// [`spawn_local`]) meanwhile. Returns when that future completes.
///
/// `main` is called again if a panicking logger aborts async-std's
/// `block_on` before the future starts; after a few such failures the
/// executor is driven by a plain parking `block_on` instead.
pub(crate) fn run_local<F, M>(queue: Arc<RunQueue>, mut main: M)
where
    M: FnMut() -> F,
    F: Future<Output = ()>,
{
    for _ in 0..3 {
        let future = crate::engine::local::run(Arc::clone(&queue), main());
        if catch_unwind(AssertUnwindSafe(|| async_std::task::block_on(future))).is_ok() {
            return;
        }
    }
    crate::engine::util::block_on_here(crate::engine::local::run(queue, main()));
}

/// Runs a blocking closure on the blocking thread pool and returns a future
/// of its result. A panic in the closure resumes in whoever awaits it.
pub(crate) fn spawn_blocking<C, T>(f: C) -> impl Future<Output = T> + Send + 'static
where
    C: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    blocking::unblock(f)
}
