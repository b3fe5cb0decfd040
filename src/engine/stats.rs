//! The pool's counts and the [`Stats`] snapshot taken of them.
//!
//! Submitting only bumps an atomic counter, so submitters never contend
//! for a lock. Everything else moves under the short lock the pool already
//! takes when a task starts or ends (the one that guards its registry of
//! running tasks), and a snapshot reads the submit counter while holding
//! that lock. Since a task is counted as submitted before it can be
//! started, every bucket is a count of real tasks, `running` never exceeds
//! the tasks holding permits, and `queued` is what is left:
//! `queued = submitted - running - finished`. Nothing holds the lock while
//! a task runs.

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

/// The pool's counts, but for `submitted`. Kept under the pool's
/// bookkeeping lock.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    running: u64,
    peak: u64,
    completed: u64,
    failed: u64,
    panicked: u64,
    cancelled: u64,
    timed_out: u64,
    shut_down: u64,
}

impl Counts {
    /// A queued task starts; returns how many are running now, itself
    /// included.
    pub(crate) fn started(&mut self) -> u64 {
        self.running += 1;
        self.peak = self.peak.max(self.running);
        self.running
    }

    /// A queued task ended without starting (cancelled or shut down).
    pub(crate) fn ended_unstarted(&mut self, ended: Ended) {
        self.count(ended);
    }

    /// A started task ended.
    pub(crate) fn ended_running(&mut self, ended: Ended) {
        self.running -= 1;
        self.count(ended);
    }

    fn count(&mut self, ended: Ended) {
        match ended {
            Ended::Completed => self.completed += 1,
            Ended::Failed => {
                self.completed += 1;
                self.failed += 1;
            }
            Ended::Panicked => self.panicked += 1,
            Ended::Cancelled => self.cancelled += 1,
            Ended::TimedOut => self.timed_out += 1,
            Ended::Shutdown => self.shut_down += 1,
        }
    }

    /// Tasks that ended, by any outcome.
    pub(crate) fn finished(&self) -> u64 {
        self.completed + self.panicked + self.cancelled + self.timed_out + self.shut_down
    }

    /// The snapshot, given `submitted` read under the same lock.
    pub(crate) fn snapshot(&self, limit: usize, submitted: u64) -> Stats {
        Stats {
            limit,
            running: self.running,
            queued: submitted - self.running - self.finished(),
            peak_running: self.peak,
            submitted,
            completed: self.completed,
            failed: self.failed,
            panicked: self.panicked,
            cancelled: self.cancelled,
            timed_out: self.timed_out,
            shut_down: self.shut_down,
        }
    }
}

/// A snapshot of a pool's figures, from [`TaskPool::stats`](crate::TaskPool::stats).
///
/// Taking it is cheap: a short lock that no running task holds. The
/// snapshot is exact, one instant of the pool (the one exception: a
/// submission refused because the pool closed at that very moment is
/// counted as queued for the instant before it is handed back). Counts are
/// cumulative since the pool was built,
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
    fn each_task_moves_through_the_buckets_once() {
        let mut c = Counts::default();
        // Four submitted: two start, one ends unstarted, one is queued.
        assert_eq!(c.started(), 1);
        assert_eq!(c.started(), 2);
        c.ended_unstarted(Ended::Shutdown);
        c.ended_running(Ended::Failed);
        let s = c.snapshot(3, 4);
        assert_eq!(s.submitted, 4);
        assert_eq!(s.running, 1);
        assert_eq!(s.queued, 1);
        assert_eq!((s.completed, s.failed, s.shut_down), (1, 1, 1));
        assert_eq!(s.peak_running, 2);
        assert_eq!(s.submitted, s.queued + s.running + s.finished());
        assert_eq!(c.finished(), 2);
    }
}
