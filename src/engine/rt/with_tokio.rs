//! The tokio backend (feature `tokio`).

use std::future::Future;
use std::io;
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex};

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};
use tokio::task::{JoinError, LocalSet};

use crate::engine::local::RunQueue;
use crate::engine::util::lock;

/// Whether this thread is inside a tokio runtime.
pub(super) fn in_runtime() -> bool {
    Handle::try_current().is_ok()
}

/// The multi-threaded tokio runtime this thread is in, or else the crate's
/// own multi-threaded runtime, built by the first pool that needs it and
/// kept for the life of the process (as async-std's and smol's global
/// executors are).
///
/// A current-thread runtime (`#[tokio::test]`'s, a daemon's) is not taken:
/// its one thread is the caller's, so a blocking wait on it would stop the
/// very tasks it waits for.
///
/// # Errors
///
/// The error of building that runtime.
pub(super) fn current_or_own() -> io::Result<Handle> {
    if let Ok(handle) = Handle::try_current()
        && handle.runtime_flavor() == RuntimeFlavor::MultiThread
    {
        return Ok(handle);
    }
    static OWN: Mutex<Option<Runtime>> = Mutex::new(None);
    let mut own = lock(&OWN);
    if let Some(runtime) = own.as_ref() {
        return Ok(runtime.handle().clone());
    }
    let runtime = built(|| {
        Builder::new_multi_thread()
            .enable_all()
            .thread_name("taskpool-tokio")
            .build()
    })?;
    let handle = runtime.handle().clone();
    *own = Some(runtime);
    Ok(handle)
}

/// Spawns a `Send` future on the runtime behind `handle` and detaches it.
/// (A runtime that has shut down, or shuts down with it unfinished, drops
/// it.)
///
/// A spawn from one of a runtime's worker threads goes to that thread's
/// "LIFO slot", which no other thread steals from: if the spawning task
/// then blocks the thread (a pool task that blocks, a plain tokio task
/// that calls a handle's blocking `wait`), the future waits for it. A
/// second, empty spawn takes the slot and pushes the first onto the
/// thread's run queue, which the others steal from (and the push wakes one
/// of them). Only from inside a runtime, and only for the pool's workers
/// and driver, never per task.
pub(super) fn spawn<F>(handle: &Handle, future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(handle.spawn(future));
    if Handle::try_current().is_ok() {
        drop(handle.spawn(async {}));
    }
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
    built(|| {
        Builder::new_current_thread()
            .enable_all()
            .thread_name("taskpool-blocking")
            .build()
    })
}

/// Builds a runtime. tokio reports a driver it cannot set up as an error,
/// and a thread the OS refuses with a panic: both become the error.
fn built(build: impl FnOnce() -> io::Result<Runtime>) -> io::Result<Runtime> {
    crate::engine::report::caught(build)
        .unwrap_or_else(|| Err(io::Error::other("tokio panicked while starting its runtime")))
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
