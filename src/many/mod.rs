//! Waiting on many tasks: [`wait`], [`as_completed`], [`join_all`] /
//! [`try_join_all`], [`TaskPool::map`](crate::TaskPool::map) and
//! [`TaskGroup`].
//!
//! They share three pieces, kept here: a [`Watch`](watch::Watch) that learns
//! in O(1) per task when each one finishes and in what order; a
//! [`Deadline`] that bounds a wait, both blocking and async; and
//! [`block_on`], the one blocking loop, which refuses to block the daemon
//! thread that runs the tasks being waited for.
//!
//! Where a task counts as failed, every combinator asks the outcome the
//! runner recorded ([`Ended`]), which is where the task output's
//! [`Fallible`](crate::Fallible) verdict lands for every task (a `Result`'s
//! `Err` counts with no opt-in): one mechanism, used everywhere. The
//! combinators that hand back successes (`try_join_all`, a group) unwrap
//! them with [`Fallible::into_success`](crate::Fallible::into_success).

mod as_completed;
mod group;
mod join;
mod map;
mod wait;
mod watch;

use std::fmt;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_timer::Delay;

use crate::engine::shared::PoolId;
use crate::engine::stats::Ended;
use crate::engine::task::TaskCore;
use crate::engine::util::{ShieldedWaker, block_on_deadline, deadline_after};
use crate::error::WaitTimeoutError;

pub use as_completed::{AsCompletedIter, AsCompletedStream, as_completed};
pub use group::{GroupTaskBuilder, TaskGroup};
pub use join::{JoinAll, TryJoinAll, join_all, try_join_all};
pub use map::{MapIter, MapStream};
pub use wait::{ReturnWhen, Wait, Waited, wait};

/// Whether `ended` counts for [`ReturnWhen::FirstError`]: a panic, a
/// per-task timeout, or a failure value (an `Err`). Not a cancel or a
/// shutdown: the caller (or the pool's owner) chose those.
fn is_error(ended: Option<Ended>) -> bool {
    matches!(ended, Some(Ended::Failed | Ended::Panicked | Ended::TimedOut))
}

/// The distinct pools that run `cores`' tasks, for [`block_on`]'s check.
fn pools_of<'a>(cores: impl IntoIterator<Item = &'a TaskCore>) -> Vec<PoolId> {
    let mut pools = Vec::new();
    for core in cores {
        let id = core.pool().id();
        if !pools.contains(&id) {
            pools.push(id);
        }
    }
    pools
}

/// An optional point in time after which a wait gives up, usable from a
/// blocking loop ([`instant`](Deadline::instant)) and from a poll
/// ([`poll_passed`](Deadline::poll_passed)).
pub(crate) struct Deadline {
    at: Option<Instant>,
    /// The async timer, made on the first poll that needs it.
    delay: Option<Delay>,
    /// What the timer's thread wakes instead of the caller's waker.
    shield: ShieldedWaker,
}

impl Deadline {
    pub(crate) fn none() -> Deadline {
        Deadline {
            at: None,
            delay: None,
            shield: ShieldedWaker::default(),
        }
    }

    pub(crate) fn at(at: Instant) -> Deadline {
        Deadline {
            at: Some(at),
            delay: None,
            shield: ShieldedWaker::default(),
        }
    }

    /// `timeout` from now; a timeout too large to represent means none.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        match deadline_after(timeout) {
            Some(at) => Deadline::at(at),
            None => Deadline::none(),
        }
    }

    pub(crate) fn instant(&self) -> Option<Instant> {
        self.at
    }

    /// Whether the deadline has passed; if not, `cx` is woken when it does.
    pub(crate) fn poll_passed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.at else { return false };
        loop {
            let now = Instant::now();
            if now >= at {
                return true;
            }
            match &mut self.delay {
                None => self.delay = Some(Delay::new(at - now)),
                Some(delay) => {
                    let waker = self.shield.of(cx.waker());
                    if Pin::new(&mut *delay).poll(&mut Context::from_waker(waker)).is_pending() {
                        return false;
                    }
                    // The timer fired early: rearm it for the rest.
                    delay.reset(at.saturating_duration_since(Instant::now()));
                }
            }
        }
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.at, f)
    }
}

/// Blocks the calling thread on `poll` until it is ready (`Some`) or
/// `deadline` passes (`None`). It always polls once first, so what is
/// already done is seen even with a deadline in the past.
///
/// # Panics
///
/// Before it would block, panics if the calling thread is the daemon
/// thread of one of `pools`: the tasks it waits for could never run.
pub(crate) fn block_on<O, P>(
    poll: impl FnMut(&mut Context<'_>) -> Poll<O>,
    deadline: Option<Instant>,
    pools: P,
    what: &str,
) -> Option<O>
where
    P: IntoIterator<Item = PoolId>,
{
    let mut future = pin!(std::future::poll_fn(poll));
    // A deadline of "now" polls once and never parks.
    if let Some(out) = block_on_deadline(future.as_mut(), Some(Instant::now())) {
        return Some(out);
    }
    if deadline.is_some_and(|d| d <= Instant::now()) {
        return None;
    }
    if pools.into_iter().any(crate::engine::local::is_daemon_thread_of) {
        panic!(
            "a blocking wait on {what} was called on the daemon thread that runs them, which would deadlock; \
             use `.await` inside tasks"
        );
    }
    crate::engine::run::forbid_blocking_in_task(
        format_args!("a blocking wait on {what}"),
        "`.await` it instead (an iterator: its `into_stream()`)",
    );
    block_on_deadline(future, deadline)
}

/// Blocks until `poll` is ready on `waiter`, or gives up once `deadline`
/// passes with a [`WaitTimeoutError`] for `counts(waiter)` (unfinished,
/// total) tasks, leaving `waiter` untouched. See [`block_on`].
pub(crate) fn block_or_time_out<J, O>(
    waiter: &mut J,
    deadline: Option<Instant>,
    pools: Vec<PoolId>,
    what: &str,
    mut poll: impl FnMut(&mut J, &mut Context<'_>) -> Poll<O>,
    counts: impl FnOnce(&J) -> (usize, usize),
) -> Result<O, WaitTimeoutError> {
    match block_on(|cx| poll(waiter, cx), deadline, pools, what) {
        Some(out) => Ok(out),
        None => {
            let (unfinished, total) = counts(waiter);
            Err(WaitTimeoutError::many(unfinished, total))
        }
    }
}
