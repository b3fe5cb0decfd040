//! The runtime seam: every call into a runtime (async-std, tokio, smol)
//! lives in this module, one backend per file, each behind its cargo
//! feature: `with_async_std.rs` (`async-std`, the default),
//! `with_tokio.rs` (`tokio`), `with_smol.rs` (`smol`). Nothing outside this
//! folder names a runtime.
//!
//! A backend gives the engine four things, and nothing per task:
//!
//! - **spawning** a future on the runtime: a [`TaskPool`](crate::TaskPool)'s
//!   few workers (`engine/workers.rs`), at most one per executor thread
//!   ([`Backend::threads`]), and its driver. A pool's tasks are not spawned
//!   one by one: the workers poll them, so every backend keeps the engine's
//!   one allocation and its lock count per task;
//! - **blocking closures** on the runtime's blocking thread pool
//!   ([`Backend::spawn_blocking`]);
//! - **the daemon thread's `block_on`** ([`DaemonRuntime::run`]), around the
//!   engine's own run queue (`engine/local.rs`), which runs the daemon's
//!   tasks: async-std's `block_on`; a current-thread tokio runtime inside a
//!   `LocalSet`; smol's (async-io's) `block_on`. Each one drives that
//!   runtime's timers and I/O on the daemon thread;
//! - **choosing** the backend of a pool ([`Choice`]).
//!
//! The rest of the crate names no runtime. It does use these
//! runtime-independent crates, each of which works under any executor
//! (none of them needs a reactor or a runtime context):
//!
//! | crate | used for | where |
//! |---|---|---|
//! | `async-task` | the runners of a daemon's local closures and of blocking closures (a future task is its own runnable, `engine/cell.rs`) | `engine/workers.rs`, `engine/local.rs` |
//! | `concurrent-queue` | the run queues of runnable tasks | `engine/workers.rs`, `engine/local.rs` |
//! | `event-listener` | waits on the limiter, a pool's idle and shutdown events, a task's outcome for combinators | `engine/limiter.rs`, `engine/shared.rs`, `engine/task.rs`, `many/watch.rs`, `shutdown.rs` |
//! | `atomic-waker` | a task's and a loop's waker slot | `engine/task.rs`, `engine/local.rs`, `many/watch.rs` |
//! | `futures-timer` | task timeouts and timed waits (its own timer thread) | `engine/run.rs`, `many/mod.rs` |
//! | `slab` | the registry of running tasks | `engine/shared.rs` |
//! | `pin-project-lite`, `futures-core` | pinning projections; the `Stream` trait | `engine/run.rs`, `many/` |
//!
//! Timeouts use `futures-timer` on every backend, so a task's timeout does
//! not depend on the runtime's timer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;

use crate::engine::local::RunQueue;

#[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
compile_error!("taskpool needs a runtime: enable one of its features `async-std` (the default), `tokio` or `smol`");

#[cfg(feature = "async-std")]
mod with_async_std;
#[cfg(feature = "smol")]
mod with_smol;
#[cfg(feature = "tokio")]
mod with_tokio;

/// The async runtime a pool's tasks run on, one per cargo feature. Python:
/// picking the event loop implementation (asyncio's own or `uvloop`, with
/// `asyncio.run(..., loop_factory=...)`).
///
/// Every variant exists whatever the features: asking a builder for a
/// runtime whose feature is off is an error at `build`
/// ([`ConfigError::RuntimeDisabled`](crate::ConfigError::RuntimeDisabled)),
/// never a compile error in a library that only passes the choice on.
///
/// Which one a builder uses unless told (see
/// [`TaskPoolBuilder::runtime`](crate::TaskPoolBuilder::runtime)):
/// a `TaskPool` built inside a tokio runtime, with the `tokio` feature on,
/// runs there; otherwise a pool, and every `DaemonExecutor`, uses the first
/// enabled of `async-std`, `tokio`, `smol` ([`Runtime::preferred`]).
///
/// # Examples
///
/// ```
/// use taskpool::{ConfigError, Runtime, TaskPool};
///
/// for runtime in [Runtime::AsyncStd, Runtime::Tokio, Runtime::Smol] {
///     let built = TaskPool::builder().runtime(runtime).limit(2).build();
///     if runtime.is_enabled() {
///         let pool = built.unwrap();
///         assert_eq!(pool.runtime(), runtime);
///         assert_eq!(pool.submit(async { 1 + 1 }).unwrap().wait().unwrap(), 2);
///     } else {
///         assert!(matches!(built, Err(ConfigError::RuntimeDisabled(r)) if r == runtime));
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Runtime {
    /// async-std (feature `async-std`, on by default): a pool's workers run
    /// on its global executor; a daemon runs async-std's `block_on`.
    AsyncStd,
    /// tokio (feature `tokio`): a pool's workers run on the tokio runtime it
    /// was built in, or on the one whose `Handle` it was given
    /// (`TaskPoolBuilder::tokio_handle`), or else on a multi-threaded
    /// runtime of the crate's own (threads named `taskpool-tokio`, started
    /// by the first pool that needs it); a daemon runs a current-thread
    /// tokio runtime with a `LocalSet` on its thread. tokio's timers, I/O,
    /// `spawn` (and on a daemon `spawn_local`) work inside the tasks. A pool
    /// built inside a current-thread runtime (`#[tokio::test]`'s default, a
    /// daemon's) runs on the crate's own runtime instead: that runtime's one
    /// thread is the caller's, so a blocking wait there would stop the very
    /// tasks it waits for.
    ///
    /// tokio tasks that a daemon's tasks spawn run on the daemon's runtime;
    /// its drain waits for the pool's tasks, not for those: any still
    /// unfinished when the daemon's thread ends are dropped, as tokio drops
    /// a runtime's tasks when it shuts down.
    Tokio,
    /// smol (feature `smol`): a pool's workers run on smol's global
    /// executor, or on an `Executor` it was given
    /// (`TaskPoolBuilder::smol_executor`); a daemon runs smol's
    /// `block_on` (async-io's), which drives async-io's reactor and timers
    /// on its thread. smol's global executor runs one thread unless its
    /// `SMOL_THREADS` variable says more: a pool on it runs its tasks on
    /// that one thread, so a task that blocks it holds up the others.
    Smol,
}

impl Runtime {
    /// Whether this runtime's cargo feature is on in this build.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::Runtime;
    ///
    /// assert_eq!(Runtime::Smol.is_enabled(), cfg!(feature = "smol"));
    /// ```
    pub const fn is_enabled(self) -> bool {
        match self {
            Runtime::AsyncStd => cfg!(feature = "async-std"),
            Runtime::Tokio => cfg!(feature = "tokio"),
            Runtime::Smol => cfg!(feature = "smol"),
        }
    }

    /// The cargo feature that enables this runtime: `"async-std"`,
    /// `"tokio"` or `"smol"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(taskpool::Runtime::AsyncStd.feature(), "async-std");
    /// ```
    pub const fn feature(self) -> &'static str {
        match self {
            Runtime::AsyncStd => "async-std",
            Runtime::Tokio => "tokio",
            Runtime::Smol => "smol",
        }
    }

    /// The runtime a builder uses when it is not told and is not inside a
    /// tokio runtime: the first enabled of async-std, tokio, smol.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskpool::{DaemonExecutor, Runtime};
    ///
    /// let executor = DaemonExecutor::new(2).unwrap();
    /// assert_eq!(executor.pool().runtime(), Runtime::preferred());
    /// assert!(Runtime::preferred().is_enabled());
    /// ```
    pub const fn preferred() -> Runtime {
        if cfg!(feature = "async-std") {
            Runtime::AsyncStd
        } else if cfg!(feature = "tokio") {
            Runtime::Tokio
        } else {
            Runtime::Smol
        }
    }
}

/// Why a backend could not be had.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// Its cargo feature is off.
    Disabled(Runtime),
    /// Building a tokio runtime failed (a driver, or the OS refused its
    /// threads).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Failed(std::io::Error),
}

/// What a builder was asked for: a runtime, and for a pool, maybe the
/// tokio runtime or smol executor to run on.
#[derive(Clone, Default)]
pub(crate) struct Choice {
    runtime: Option<Runtime>,
    #[cfg(feature = "tokio")]
    tokio: Option<tokio::runtime::Handle>,
    #[cfg(feature = "smol")]
    smol: Option<Arc<smol::Executor<'static>>>,
}

impl Choice {
    pub(crate) fn set_runtime(&mut self, runtime: Runtime) {
        self.runtime = Some(runtime);
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn set_tokio(&mut self, handle: tokio::runtime::Handle) {
        self.runtime = Some(Runtime::Tokio);
        self.tokio = Some(handle);
    }

    #[cfg(feature = "smol")]
    pub(crate) fn set_smol(&mut self, executor: Arc<smol::Executor<'static>>) {
        self.runtime = Some(Runtime::Smol);
        self.smol = Some(executor);
    }

    /// The backend a `TaskPool` built now runs on: the runtime asked for;
    /// else tokio if this thread is in a tokio runtime (feature `tokio`):
    /// that one if it is multi-threaded, the crate's own if not; else
    /// [`Runtime::preferred`].
    pub(crate) fn pool_backend(&self) -> Result<Backend, Unavailable> {
        let runtime = match self.runtime {
            Some(runtime) => runtime,
            #[cfg(feature = "tokio")]
            None if with_tokio::in_runtime() => Runtime::Tokio,
            None => Runtime::preferred(),
        };
        match runtime {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Ok(Backend::AsyncStd),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => match &self.tokio {
                Some(handle) => Ok(Backend::Tokio(handle.clone())),
                None => with_tokio::current_or_own()
                    .map(Backend::Tokio)
                    .map_err(Unavailable::Failed),
            },
            #[cfg(feature = "smol")]
            Runtime::Smol => Ok(Backend::Smol(self.smol.clone())),
            #[allow(unreachable_patterns)]
            disabled => Err(Unavailable::Disabled(disabled)),
        }
    }

    /// The runtime a `DaemonExecutor` built now runs on its thread: the
    /// runtime asked for, else [`Runtime::preferred`]. Built here, on the
    /// caller's thread, so that a failure is the builder's error.
    pub(crate) fn daemon_runtime(&self) -> Result<DaemonRuntime, Unavailable> {
        match self.runtime.unwrap_or(Runtime::preferred()) {
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Ok(DaemonRuntime::AsyncStd),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => with_tokio::daemon_runtime()
                .map(DaemonRuntime::Tokio)
                .map_err(Unavailable::Failed),
            #[cfg(feature = "smol")]
            Runtime::Smol => Ok(DaemonRuntime::Smol),
            #[allow(unreachable_patterns)]
            disabled => Err(Unavailable::Disabled(disabled)),
        }
    }
}

impl fmt::Debug for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Choice");
        d.field("runtime", &self.runtime);
        #[cfg(feature = "tokio")]
        d.field("tokio_handle", &self.tokio.is_some());
        #[cfg(feature = "smol")]
        d.field("smol_executor", &self.smol.is_some());
        d.finish()
    }
}

/// Where a pool's workers, driver and blocking closures run.
#[derive(Clone)]
pub(crate) enum Backend {
    #[cfg(feature = "async-std")]
    AsyncStd,
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    /// smol's global executor, or the one given.
    #[cfg(feature = "smol")]
    Smol(Option<Arc<smol::Executor<'static>>>),
    /// Keeps a build without any runtime down to its one `compile_error!`.
    #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
    None(std::convert::Infallible),
}

impl Backend {
    /// Which runtime this is.
    pub(crate) fn runtime(&self) -> Runtime {
        match self {
            #[cfg(feature = "async-std")]
            Backend::AsyncStd => Runtime::AsyncStd,
            #[cfg(feature = "tokio")]
            Backend::Tokio(_) => Runtime::Tokio,
            #[cfg(feature = "smol")]
            Backend::Smol(_) => Runtime::Smol,
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            Backend::None(never) => match *never {},
        }
    }

    /// Spawns a `Send` future on the runtime and detaches it. A future the
    /// runtime could not spawn, or drops unfinished when it shuts down, is
    /// dropped: the engine's futures handle that in their `Drop`.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            #[cfg(feature = "async-std")]
            Backend::AsyncStd => with_async_std::spawn(future),
            #[cfg(feature = "tokio")]
            Backend::Tokio(handle) => with_tokio::spawn(handle, future),
            #[cfg(feature = "smol")]
            Backend::Smol(executor) => with_smol::spawn(executor.as_deref(), future),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            Backend::None(never) => match *never {},
        }
    }

    /// Whether the runtime has shut down, so that nothing spawned on it
    /// will ever run: only a tokio runtime does (smol's executor lives as
    /// long as the pool holding it, async-std's global one forever). Asked
    /// by spawning an empty task and awaiting it: a runtime that shut down
    /// cancels it, at once or as it finishes shutting down.
    pub(crate) async fn has_shut_down(&self) -> bool {
        match self {
            #[cfg(feature = "tokio")]
            Backend::Tokio(handle) => handle.spawn(async {}).await.is_err(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// How many threads the runtime's executor runs, so how many workers a
    /// pool needs to use them all.
    pub(crate) fn threads(&self) -> usize {
        match self {
            #[cfg(feature = "async-std")]
            Backend::AsyncStd => with_async_std::executor_threads(),
            #[cfg(feature = "tokio")]
            Backend::Tokio(handle) => handle.metrics().num_workers(),
            #[cfg(feature = "smol")]
            Backend::Smol(executor) => with_smol::executor_threads(executor.is_some()),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            Backend::None(never) => match *never {},
        }
    }

    /// Runs a blocking closure on the runtime's blocking thread pool and
    /// returns a future of its result. A panic in the closure resumes in
    /// whoever awaits it.
    pub(crate) fn spawn_blocking<C, T>(&self, f: C) -> Blocking<T>
    where
        C: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            #[cfg(feature = "async-std")]
            Backend::AsyncStd => Blocking::Pool(with_async_std::unblock(f)),
            #[cfg(feature = "tokio")]
            Backend::Tokio(handle) => Blocking::Tokio(handle.spawn_blocking(f)),
            #[cfg(feature = "smol")]
            Backend::Smol(_) => Blocking::Smol(smol::unblock(f)),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            Backend::None(never) => match *never {},
        }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.runtime(), f)
    }
}

/// A blocking closure's result, from the backend's blocking thread pool.
///
/// Dropped before the closure starts (its task cancelled or timed out), the
/// closure never runs, on every backend: `blocking`'s and smol's tasks
/// cancel on drop, and a tokio one is aborted.
pub(crate) enum Blocking<T> {
    #[cfg(feature = "async-std")]
    Pool(blocking::Task<T>),
    #[cfg(feature = "tokio")]
    Tokio(tokio::task::JoinHandle<T>),
    #[cfg(feature = "smol")]
    Smol(smol::Task<T>),
    #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
    None(std::convert::Infallible, std::marker::PhantomData<fn() -> T>),
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            Blocking::Pool(task) => Pin::new(task).poll(cx),
            #[cfg(feature = "tokio")]
            Blocking::Tokio(handle) => Pin::new(handle).poll(cx).map(with_tokio::joined),
            #[cfg(feature = "smol")]
            Blocking::Smol(task) => Pin::new(task).poll(cx),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            Blocking::None(never, _) => match *never {},
        }
    }
}

#[cfg(feature = "tokio")]
impl<T> Drop for Blocking<T> {
    fn drop(&mut self) {
        #[allow(irrefutable_let_patterns)] // With tokio the only backend.
        if let Blocking::Tokio(handle) = self {
            // No effect on a closure already running or finished.
            handle.abort();
        }
    }
}

/// The runtime a daemon thread runs, built before the thread starts.
pub(crate) enum DaemonRuntime {
    #[cfg(feature = "async-std")]
    AsyncStd,
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Runtime),
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
    None(std::convert::Infallible),
}

impl DaemonRuntime {
    /// The backend of the daemon's pool: where its blocking closures run.
    /// (A daemon's tasks and driver run on its own thread, never spawned.)
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "async-std")]
            DaemonRuntime::AsyncStd => Backend::AsyncStd,
            #[cfg(feature = "tokio")]
            DaemonRuntime::Tokio(runtime) => Backend::Tokio(runtime.handle().clone()),
            #[cfg(feature = "smol")]
            DaemonRuntime::Smol => Backend::Smol(None),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            DaemonRuntime::None(never) => match *never {},
        }
    }

    /// Runs the future `main()` makes on this thread inside the runtime's
    /// `block_on`, with the engine's run queue (`engine/local.rs`) driven
    /// meanwhile, so every task of the daemon. Returns when that future
    /// completes; the runtime is then shut down without waiting for
    /// blocking closures still running (as a plain async-std daemon does).
    pub(crate) fn run<F, M>(self, queue: Arc<RunQueue>, main: M)
    where
        M: FnMut() -> F,
        F: Future<Output = ()>,
    {
        match self {
            #[cfg(feature = "async-std")]
            DaemonRuntime::AsyncStd => with_async_std::run_local(queue, main),
            #[cfg(feature = "tokio")]
            DaemonRuntime::Tokio(runtime) => with_tokio::run_local(runtime, queue, main),
            #[cfg(feature = "smol")]
            DaemonRuntime::Smol => with_smol::run_local(queue, main),
            #[cfg(not(any(feature = "async-std", feature = "tokio", feature = "smol")))]
            DaemonRuntime::None(never) => match never {},
        }
    }
}

/// Spawns a future on the daemon thread's run queue and detaches it.
///
/// Only called on a daemon thread, inside [`DaemonRuntime::run`], which
/// drives it.
pub(crate) fn spawn_local<F>(future: F)
where
    F: Future<Output = ()> + 'static,
{
    crate::engine::local::spawn(future);
}
