//! Run many async tasks with a bound on how many run at once, from sync or
//! async code, with every outcome — value, panic, cancel, timeout —
//! delivered to whoever waits.
//!
//! `taskpool` is for programs whose main code is synchronous (a CLI, a GUI
//! thread, a sync library, a test) that need to run many I/O-bound async
//! jobs with bounded concurrency and get the results back. It is a Rust
//! port of Python's `concurrent.futures` executors applied to coroutines,
//! on async-std (the default), tokio or smol (see [`Runtime`]).
//!
//! ```
//! use std::time::Duration;
//! use taskpool::DaemonExecutor;
//!
//! // One dedicated thread runs the tasks, at most 3 at a time.
//! let executor = DaemonExecutor::new(3).unwrap();
//! let handles: Vec<_> = (0..10_u64)
//!     .map(|i| executor.pool().submit(async move {
//!         futures_timer::Delay::new(Duration::from_millis(i)).await;
//!         i * i
//!     }).unwrap())
//!     .collect();
//! let squares: Vec<u64> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
//! assert_eq!(squares[9], 81);
//! // Dropping the executor drains it and joins its thread.
//! ```
//!
//! # Limiting concurrency
//!
//! A [`TaskPool`] runs tasks on its runtime's executor; a
//! [`DaemonExecutor`] owns one named thread and runs its pool's tasks
//! there. Either way at most `limit` tasks run at once and the rest wait
//! in FIFO order. The limit is a channel of `limit` permit tokens (kept
//! as a count, so its memory does not grow with the limit, up to
//! [`TaskPool::MAX_LIMIT`]): a task takes one to start, and its runner
//! gives it back when the task ends, however it ends — so a panic, a
//! cancel or a timeout can never leak a slot. [`TaskPool::set_limit`] resizes it live, and
//! [`TaskPoolBuilder::queue_capacity`] bounds the queue (backpressure).
//!
//! # Waiting, async and blocking
//!
//! Every submit returns a [`TaskHandle`]. In async code, `.await` it. From
//! a plain thread, [`wait`](TaskHandle::wait) for it, or wait a bounded
//! time with [`wait_timeout`](TaskHandle::wait_timeout) /
//! [`wait_deadline`](TaskHandle::wait_deadline), which only borrow the
//! handle, so after a timeout you can wait again (Python's
//! `future.result(timeout)`). Another thread can cancel meanwhile through a
//! [`CancelHandle`]. Never block inside a pool task or on
//! a daemon's own thread: that is detected, and panics (naming the async
//! form to use) instead of deadlocking.
//!
//! # Errors and panics
//!
//! A task's own output reaches the waiter untouched: a task returning
//! `Result<T, E>` gives `Ok(Err(e))`, typed. What happens *to* a task is a
//! [`TaskError`]: it panicked (with the message, and the payload to resume
//! with [`std::panic::resume_unwind`]), was cancelled, timed out, or never
//! ran because of a shutdown. The pool, its thread and the other tasks
//! carry on. Every output implements [`Fallible`], and a `Result`'s `Err`
//! counts as a failure everywhere the pool counts failures ([`Stats`], the
//! "never retrieved" report, [`ReturnWhen::FirstError`], `try_join_all`,
//! groups) with no opt-in; wrap a value in [`Opaque`] to opt it out.
//!
//! # Timeouts
//!
//! [`TaskBuilder::timeout`] bounds a task's run time (the clock starts when
//! it gets its permit, not when it is queued), like `asyncio.wait_for`.
//! `wait_timeout` bounds only the waiting; the task goes on.
//!
//! # Waiting on many tasks
//!
//! | Python | taskpool | returns |
//! |---|---|---|
//! | `Executor.map(fn, items, timeout, buffersize)` | [`pool.map(items, buffer, f)`](TaskPool::map) | outcomes in input order, lazily |
//! | `wait(fs, timeout, return_when)` | [`wait(handles, ReturnWhen::..)`](wait()) | done and pending handles |
//! | `as_completed(fs, timeout)` | [`as_completed(handles)`](as_completed) | outcomes in finishing order |
//! | `gather(*aws, return_exceptions=True)` | [`join_all(handles)`](join_all) | every outcome, in order |
//! | `gather(*aws)` | [`try_join_all(handles)`](try_join_all) | every value, or the first failure |
//! | `TaskGroup` / Go `errgroup` | [`pool.task_group()`](TaskPool::task_group) | every value, or every failure |
//!
//! Each works from a plain thread (`wait()`, `block()`, or iterate) and from async
//! code (`.await`, or a [`Stream`](futures_core::Stream)). Where Python
//! takes a `timeout` that is part of the answer — `map`, `wait`,
//! `as_completed` — it is a `.timeout(d)` / `.deadline(t)` setting that
//! bounds both forms; a join or a group is waited on like a handle, with
//! `wait_timeout` / `wait_deadline`, which only borrow it. Items come with
//! one `Result` layer: `map` yields `Result<T, MapError>` and
//! `as_completed` `Result<(index, T), AsCompletedError>`, where the error is
//! a task that ended without a value (the iteration goes on) or the overall
//! timeout (the iteration ends).
//!
//! Where they must tell a failure from a success —
//! [`ReturnWhen::FirstError`], `try_join_all`, the group — a task's value
//! counts as a failure when [`Fallible`] says so (a `Result`'s `Err`, with
//! no opt-in): the same verdict the pool counts in [`Stats::failed`]. A
//! group and `try_join_all` hand back the successes: `Vec<T>` for tasks
//! returning `Result<T, E>`. Panics, per-task timeouts
//! and (except for `FirstError`) cancels and shutdowns are failures too.
//!
//! ```
//! use taskpool::{DaemonExecutor, ReturnWhen};
//!
//! let executor = DaemonExecutor::new(4).unwrap();
//! // Executor.map: results in input order, at most 8 submitted ahead.
//! let squares = executor
//!     .pool()
//!     .map(1..=5_u32, 8, |i| async move { i * i })?
//!     .collect::<Result<Vec<u32>, _>>()?;
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//!
//! // A group: the `Ok` values, or every failure, the rest cancelled.
//! let group = executor.pool().task_group();
//! for url in ["a.example", "b.example"] {
//!     group.submit(async move { Ok::<_, String>(url.len()) })?;
//! }
//! assert_eq!(group.wait()?, [9, 9]);
//!
//! // wait: the first to finish, the rest still pending.
//! let handles = vec![
//!     executor.pool().submit(std::future::pending::<u32>())?,
//!     executor.pool().submit(async { 7 })?,
//! ];
//! let waited = taskpool::wait(&handles, ReturnWhen::FirstCompleted).block();
//! assert_eq!(waited.done[0].id(), handles[1].id());
//! handles[0].cancel();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Shutdown
//!
//! [`close`](TaskPool::close) stops accepting tasks; [`ShutdownMode`]
//! chooses what happens to the queued and running ones: drain them,
//! cancel the queued ones, or drain until a deadline and then cancel.
//! Both [`TaskPool::shutdown`] and [`DaemonExecutor::shutdown`] return a
//! [`Shutdown`] to [`wait`](Shutdown::wait) for (the one form that blocks)
//! or `.await`; the daemon's also joins its thread. Dropping a
//! [`DaemonExecutor`] drains it and joins its thread.
//!
//! # Logging
//!
//! The crate logs through the [`log`] facade and never installs a logger:
//! `DaemonExecutor is starting...`/`started`/`stopping...`/`stopped` at
//! info level, `TASK POOL: Sending task to execute. Number of active
//! tasks: N.` at debug level, and one error line per panic and per failure
//! nobody retrieved. A logger that panics cannot take the daemon down.
//!
//! # When not to use this crate
//!
//! - Inside an async program that only needs "at most N of these futures
//!   at once", `futures::stream::StreamExt::buffer_unordered(N)` is
//!   simpler and needs no executor.
//! - For tasks with no limit, spawn them on your runtime directly.
//! - For limits across processes or machines, use a distributed job queue
//!   and run a pool inside each worker: this is an in-process limiter.
//!
//! # Runtimes
//!
//! Each runtime is a cargo feature: `async-std` (the default), `tokio`,
//! `smol`; they add up. A pool built inside a tokio runtime runs there (so
//! tokio's timers, I/O and tokio-based crates work in its tasks); a
//! builder's [`runtime`](TaskPoolBuilder::runtime) picks one; see
//! [`Runtime`]. Every runtime call lives in one private module.

// `unsafe` lives in one module, allowed block by block, each with its
// `// SAFETY:` argument: a task's cell (`engine/cell.rs`), whose one slot
// (payload, then value) has no lock and whose future is pinned in place.
// It pays: one allocation per task and 120 B per queued task instead of
// 192 (BENCHMARKS.md, "One allocation per task" and "A cell without locks").
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
// A build with no runtime stops at the one `compile_error!` of `engine/rt`: nothing else to say.
#![cfg_attr(
    not(any(feature = "async-std", feature = "tokio", feature = "smol")),
    allow(unused, unreachable_code)
)]

mod builder;
mod daemon;
mod engine;
mod error;
mod fallible;
mod handle;
mod many;
mod pool;
mod shutdown;

pub use builder::TaskBuilder;
pub use daemon::{DEFAULT_THREAD_NAME, DaemonExecutor, DaemonExecutorBuilder};
pub use engine::report::UnobservedFailure;
pub use engine::rt::Runtime;
pub use engine::stats::Stats;
pub use engine::task::TaskId;
pub use error::{AsCompletedError, GroupError, MapError, TaskFailure};
pub use error::{ConfigError, SubmitError, TaskError, TaskErrorKind, TrySubmitError, WaitTimeoutError};
pub use fallible::{Fallible, Opaque};
pub use handle::{CancelHandle, TaskHandle};
pub use many::{AsCompletedIter, AsCompletedStream, as_completed};
pub use many::{GroupTaskBuilder, MapIter, MapStream, TaskGroup};
pub use many::{JoinAll, TryJoinAll, join_all, try_join_all};
pub use many::{ReturnWhen, Wait, Waited, wait};
pub use pool::{TaskPool, TaskPoolBuilder};
pub use shutdown::{Shutdown, ShutdownMode};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
