//! The engine: the task core, the runner, the channel-permit limiter, the
//! daemon's run queue, and the runtime seam. The public face (`TaskPool`,
//! `DaemonExecutor`, the handles, errors and combinators) is built on it.
//!
//! Layering runs one way: nothing in here imports from the face. The few
//! public types the engine itself produces ([`TaskError`](outcome::TaskError),
//! [`TaskId`](task::TaskId), [`Stats`](stats::Stats),
//! [`ShutdownMode`](mode::ShutdownMode),
//! [`UnobservedFailure`](report::UnobservedFailure)) are defined here and
//! re-exported by the face, as tokio's `JoinError` is defined in its
//! runtime.
//!
//! | module | what |
//! |---|---|
//! | [`shared`] | one pool's state: admission, the FIFO queue, starting queued tasks by token hand-off, shutdown |
//! | [`task`] | a task's core: state, outcome slot, waiters; the views of a task |
//! | [`cell`] | a task's one allocation: core and payload; the runner of a future polled in place |
//! | [`run`] | the poll every runner makes; the runner of a closure's task |
//! | [`sched`] | what the run queues hold |
//! | [`fifo`] | the queue of tasks waiting for a token, linked through the tasks |
//! | [`limiter`] | the channel-permit limiter |
//! | [`workers`] | a global pool's run queues and the workers that run its tasks |
//! | [`local`] | the daemon thread's run queue and loop |
//! | [`rt`] | the runtime seam: the only module that calls a runtime |
//! | [`outcome`], [`mode`], [`stats`], [`report`] | outcomes, shutdown modes, counts, contained logging |
//! | [`util`] | locks, deadlines, blocking on a future from a plain thread |

pub(crate) mod cell;
pub(crate) mod fifo;
pub(crate) mod limiter;
pub(crate) mod local;
pub(crate) mod mode;
pub(crate) mod outcome;
pub(crate) mod report;
pub(crate) mod rt;
pub(crate) mod run;
pub(crate) mod sched;
pub(crate) mod shared;
pub(crate) mod stats;
pub(crate) mod task;
pub(crate) mod util;
pub(crate) mod workers;
