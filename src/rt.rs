//! The runtime seam: every call into async-std lives in this module.
//!
//! async-std is discontinued upstream and names smol as its successor. Moving
//! `taskpool` to smol means rewriting these few functions (and the channel
//! re-export) against `smol`/`async-executor`/`blocking`/`async-channel`;
//! nothing outside this file names async-std.

use std::future::Future;

/// The channel type behind the permit limiter and the task queue.
///
/// async-std re-exports `async-channel`, which smol uses as well.
pub(crate) use async_std::channel::{Receiver, Sender, TryRecvError, TrySendError, bounded, unbounded};

/// Spawns a `Send` future on async-std's global multi-threaded executor and
/// detaches it: the pool tracks the task through its own handle.
pub(crate) fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(async_std::task::spawn(future));
}

/// Spawns a future on the current thread's local executor and detaches it.
///
/// Only the daemon thread calls this, from inside [`block_on`], which is
/// what drives the local executor.
pub(crate) fn spawn_local<F>(future: F)
where
    F: Future<Output = ()> + 'static,
{
    drop(async_std::task::spawn_local(future));
}

/// Runs a blocking closure on async-std's blocking thread pool and returns a
/// future of its result. A panic in the closure resumes in the awaiting task.
pub(crate) fn spawn_blocking<C, T>(f: C) -> impl Future<Output = T> + Send + Unpin + 'static
where
    C: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    async_std::task::spawn_blocking(f)
}

/// Blocks the current thread on `future`, driving this thread's local
/// executor (and so every task spawned with [`spawn_local`]) meanwhile.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}
