//! The smol backend (feature `smol`).

use std::future::Future;
use std::sync::Arc;

use crate::engine::local::RunQueue;

/// Spawns a `Send` future on `executor`, or on smol's global executor, and
/// detaches it. (An executor dropped with it unfinished drops it.)
pub(super) fn spawn<F>(executor: Option<&smol::Executor<'static>>, future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match executor {
        Some(executor) => executor.spawn(future).detach(),
        None => smol::spawn(future).detach(),
    }
}

/// How many threads run the executor: for smol's global executor its
/// `SMOL_THREADS` setting (one by default); for an executor of the user's,
/// which any number of threads may run, one per core.
pub(super) fn executor_threads(own_executor: bool) -> usize {
    let cores = || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if own_executor {
        return cores();
    }
    std::env::var("SMOL_THREADS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Runs the future `main()` makes, with the daemon's run queue, inside
/// smol's `block_on` (async-io's), which drives async-io's reactor and
/// timers on this thread while the queue has nothing to run.
///
/// The engine's run queue is the daemon thread's executor: it plays the
/// part of smol's `LocalExecutor`, so no second one runs beside it.
pub(super) fn run_local<F, M>(queue: Arc<RunQueue>, mut main: M)
where
    M: FnMut() -> F,
    F: Future<Output = ()>,
{
    smol::block_on(crate::engine::local::run(queue, main()));
}
