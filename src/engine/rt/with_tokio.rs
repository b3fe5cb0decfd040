//! The tokio backend (feature `tokio`).

use std::future::Future;
use std::io;
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::{JoinError, LocalSet};

use crate::engine::local::RunQueue;
use crate::engine::util::lock;

/// Whether this thread is inside a tokio runtime.
pub(super) fn in_runtime() -> bool {
    Handle::try_current().is_ok()
}

/// The tokio runtime this thread is in, or else the crate's own
/// multi-threaded runtime, built by the first pool that needs it and kept
/// for the life of the process (as async-std's and smol's global executors
/// are).
///
/// # Errors
///
/// The error of building that runtime (the OS refused its threads).
pub(super) fn current_or_own() -> io::Result<Handle> {
    if let Ok(handle) = Handle::try_current() {
        return Ok(handle);
    }
    static OWN: Mutex<Option<Runtime>> = Mutex::new(None);
    let mut own = lock(&OWN);
    if let Some(runtime) = own.as_ref() {
        return Ok(runtime.handle().clone());
    }
    let runtime = Builder::new_multi_thread()
        .enable_all()
        .thread_name("taskpool-tokio")
        .build()?;
    let handle = runtime.handle().clone();
    *own = Some(runtime);
    Ok(handle)
}

/// Spawns a `Send` future on the runtime behind `handle` and detaches it.
/// (A runtime that has shut down, or shuts down with it unfinished, drops
/// it.)
pub(super) fn spawn<F>(handle: &Handle, future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(handle.spawn(future));
}

/// A blocking closure's result: its value, or its panic resumed. A closure
/// that never ran (its runtime shut down first) panics here with a message
/// that says so, which ends its task as panicked.
pub(super) fn joined<T>(result: Result<T, JoinError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) if error.is_panic() => resume_unwind(error.into_panic()),
        Err(_) => panic!("the tokio runtime shut down before the blocking closure ran"),
    }
}

/// The daemon thread's runtime: current-thread, with every driver the
/// build has (timers, I/O), so tokio-based futures work in its tasks. The
/// only threads it starts are its blocking pool's, named
/// `taskpool-blocking`.
pub(super) fn daemon_runtime() -> io::Result<Runtime> {
    Builder::new_current_thread()
        .enable_all()
        .thread_name("taskpool-blocking")
        .build()
}

/// Runs the future `main()` makes, with the daemon's run queue, inside a
/// `LocalSet` on `runtime` (so `tokio::task::spawn_local` works in the
/// daemon's tasks), then shuts the runtime down without waiting for
/// blocking closures still running.
pub(super) fn run_local<F, M>(runtime: Runtime, queue: Arc<RunQueue>, mut main: M)
where
    M: FnMut() -> F,
    F: Future<Output = ()>,
{
    LocalSet::new().block_on(&runtime, crate::engine::local::run(queue, main()));
    runtime.shutdown_background();
}
