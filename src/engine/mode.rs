//! How a shutdown treats the tasks that are queued or running.

use std::time::Duration;

/// What a shutdown does with tasks that are queued or running.
///
/// Every mode first closes the pool: new submissions are refused and
/// handed back. A shutdown can be requested again with a stricter mode
/// (drain, then cancel-pending, then an earlier deadline); it never
/// becomes laxer.
///
/// | mode | queued tasks | running tasks | Python |
/// |---|---|---|---|
/// | `Drain` | run | finish | `shutdown(wait=True)` |
/// | `CancelPending` | end as [`Shutdown`](crate::TaskErrorKind::Shutdown) | finish | `shutdown(cancel_futures=True)` |
/// | `Deadline(d)` | run until `d`, then end as `Shutdown` | finish until `d`, then are cancelled | — |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskpool::{DaemonExecutor, ShutdownMode};
///
/// let executor = DaemonExecutor::new(2).unwrap();
/// let handle = executor.pool().submit(async { 1 }).unwrap();
/// executor.shutdown(ShutdownMode::Deadline(Duration::from_secs(5))).wait();
/// assert_eq!(handle.wait().unwrap(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownMode {
    /// Run everything already queued, and let running tasks finish.
    Drain,
    /// End queued tasks without running them; let running tasks finish.
    CancelPending,
    /// Drain for at most this long; then end what is queued and cancel
    /// what is running. A duration too large to represent means no
    /// deadline (plain drain).
    Deadline(Duration),
}
