//! Lock-free counters and the [`Stats`] snapshot built from them.
//!
//! Every counter only ever grows, and each task moves through them in one
//! direction: submitted, then either rejected, ended unstarted (cancelled or
//! shut down while queued) or started, and a started task then ends once.
//! `queued` and `running` are not stored: they are derived as differences.
//! Reading the later stages first and `submitted` last (each load Acquire,
//! each increment Release) means every difference is a count of real tasks,
//! never negative, and the snapshot's invariant holds by construction:
//!
//! `submitted == queued + running + completed + panicked + cancelled + timed_out + shut_down`

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How a task ended; one per task, recorded once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Returned a value that is not a failure.
    Completed,
    /// Returned a value that a fallible submission classified as `Err`.
    Failed,
    Panicked,
    Cancelled,
    TimedOut,
    /// Still queued when the pool shut down.
    Shutdown,
}

/// The pool's counters. See the module docs for how they are read.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    submitted: AtomicU64,
    rejected: AtomicU64,
    started: AtomicU64,
    cancelled_queued: AtomicU64,
    shut_down: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled_running: AtomicU64,
    timed_out: AtomicU64,
    /// Live count of running tasks, for the log line and the peak.
    running: AtomicUsize,
    peak: AtomicUsize,
}

fn bump(counter: &AtomicU64) {
    // Release: a reader that sees this increment sees the earlier stages'.
    counter.fetch_add(1, Ordering::Release);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Acquire)
}

impl Counters {
    pub(crate) fn submitted(&self) {
        bump(&self.submitted);
    }

    /// A submission counted by `submitted` was handed back after all.
    pub(crate) fn rejected(&self) {
        bump(&self.rejected);
    }

    /// A task starts; returns how many are running now, itself included.
    pub(crate) fn started(&self) -> usize {
        bump(&self.started);
        // AcqRel: the running count is a plain gauge, but the peak must see
        // every value it went through.
        let now = self.running.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
        now
    }

    pub(crate) fn ended_unstarted(&self, ended: Ended) {
        match ended {
            Ended::Shutdown => bump(&self.shut_down),
            _ => bump(&self.cancelled_queued),
        }
    }

    pub(crate) fn ended_running(&self, ended: Ended) {
        match ended {
            Ended::Completed => bump(&self.completed),
            Ended::Failed => {
                // `completed` first: `failed <= completed` in every snapshot.
                bump(&self.completed);
                bump(&self.failed);
            }
            Ended::Panicked => bump(&self.panicked),
            Ended::Cancelled => bump(&self.cancelled_running),
            Ended::TimedOut => bump(&self.timed_out),
            Ended::Shutdown => bump(&self.shut_down),
        }
        self.running.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn snapshot(&self, limit: usize) -> Stats {
        // Later stages first, so that each difference below is >= 0.
        let failed = read(&self.failed);
        let completed = read(&self.completed);
        let panicked = read(&self.panicked);
        let cancelled_running = read(&self.cancelled_running);
        let timed_out = read(&self.timed_out);
        let started = read(&self.started);
        let cancelled_queued = read(&self.cancelled_queued);
        let shut_down = read(&self.shut_down);
        let rejected = read(&self.rejected);
        let submitted = read(&self.submitted) - rejected;
        let running = started - (completed + panicked + cancelled_running + timed_out);
        let queued = submitted - (started + cancelled_queued + shut_down);
        Stats {
            limit,
            running,
            queued,
            peak_running: self.peak.load(Ordering::Acquire) as u64,
            submitted,
            completed,
            failed,
            panicked,
            cancelled: cancelled_queued + cancelled_running,
            timed_out,
            shut_down,
        }
    }
}

/// A snapshot of a pool's figures, from [`TaskPool::stats`](crate::TaskPool::stats).
///
/// Taking it holds no lock. Counts are cumulative since the pool was built,
/// except `running` and `queued`, which are current. Every task is in
/// exactly one bucket, so each snapshot keeps
/// `submitted == queued + running + completed + panicked + cancelled + timed_out + shut_down`;
/// `failed` is the part of `completed` whose value was an `Err` of a
/// fallible submission (see [`Fallible`](crate::Fallible)).
///
/// # Examples
///
/// ```
/// let pool = taskpool::TaskPool::new(2).unwrap();
/// pool.submit(async {}).unwrap().wait().unwrap();
/// let stats = pool.stats();
/// assert_eq!(stats.limit, 2);
/// assert_eq!(stats.submitted, 1);
/// assert_eq!(stats.completed, 1);
/// assert_eq!(stats.submitted, stats.queued + stats.running + stats.completed
///     + stats.panicked + stats.cancelled + stats.timed_out + stats.shut_down);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The current limit on running tasks.
    pub limit: usize,
    /// Tasks running now (started, not yet ended).
    pub running: u64,
    /// Tasks waiting for a permit now.
    pub queued: u64,
    /// The most tasks that ever ran at once.
    pub peak_running: u64,
    /// Tasks accepted (refused submissions are not counted).
    pub submitted: u64,
    /// Tasks that returned a value (including a fallible task's `Err`).
    pub completed: u64,
    /// Tasks among `completed` whose value was a failure.
    pub failed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled, queued or running.
    pub cancelled: u64,
    /// Tasks that ran past their per-task timeout.
    pub timed_out: u64,
    /// Tasks that never ran because the pool shut down.
    pub shut_down: u64,
}

impl Stats {
    /// Tasks that ended, by any outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = taskpool::TaskPool::new(1).unwrap();
    /// pool.submit(async {}).unwrap().wait().unwrap();
    /// assert_eq!(pool.stats().finished(), 1);
    /// ```
    pub fn finished(&self) -> u64 {
        self.completed + self.panicked + self.cancelled + self.timed_out + self.shut_down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_derives_queued_and_running() {
        let c = Counters::default();
        for _ in 0..5 {
            c.submitted();
        }
        c.rejected();
        assert_eq!(c.started(), 1);
        assert_eq!(c.started(), 2);
        c.ended_unstarted(Ended::Shutdown);
        c.ended_running(Ended::Failed);
        let s = c.snapshot(3);
        assert_eq!(s.submitted, 4);
        assert_eq!(s.running, 1);
        assert_eq!(s.queued, 1);
        assert_eq!((s.completed, s.failed, s.shut_down), (1, 1, 1));
        assert_eq!(s.peak_running, 2);
        assert_eq!(s.submitted, s.queued + s.running + s.finished());
    }
}
