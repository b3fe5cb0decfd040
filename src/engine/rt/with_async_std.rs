//! The async-std backend (feature `async-std`, the default).
//!
//! async-std logs a trace line on every spawn and `block_on`. A logger that
//! panics there must not take a pool down, so those calls are contained.

use crate::engine::report;
use std::future::Future;
use std::sync::Arc;

use crate::engine::local::RunQueue;

/// Spawns a `Send` future on async-std's global multi-threaded executor and
/// detaches it.
///
/// If the logger panics while async-std logs the spawn, the future is
/// dropped unstarted and the caller carries on.
pub(super) fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    report::contained(move || drop(async_std::task::spawn(future)));
}

/// How many threads async-std's global executor runs: its
/// `ASYNC_STD_THREAD_COUNT` setting, or one per core.
pub(super) fn executor_threads() -> usize {
    std::env::var("ASYNC_STD_THREAD_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Runs a blocking closure on the `blocking` thread pool, the pool behind
/// async-std's own `spawn_blocking` (called directly: no task-locals, no
/// trace line).
pub(super) fn unblock<C, T>(f: C) -> blocking::Task<T>
where
    C: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    blocking::unblock(f)
}

/// Runs the future `main()` makes, with the daemon's run queue, inside
/// async-std's `block_on`, which drives the async-std runtime on this
/// thread meanwhile.
///
/// `main` is called again if a panicking logger aborts async-std's
/// `block_on` before the future starts; after a few such failures the
/// run queue is driven by a plain parking `block_on` instead.
pub(super) fn run_local<F, M>(queue: Arc<RunQueue>, mut main: M)
where
    M: FnMut() -> F,
    F: Future<Output = ()>,
{
    for _ in 0..3 {
        let future = crate::engine::local::run(Arc::clone(&queue), main());
        if report::caught(|| async_std::task::block_on(future)).is_some() {
            return;
        }
    }
    crate::engine::util::block_on_here(crate::engine::local::run(queue, main()));
}
