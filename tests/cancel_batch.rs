//! Cancelling many tasks at once never starts one of them.
//!
//! Dropping a `map` iterator or a `TaskGroup`, `map`'s timeout and
//! `try_join_all`'s sibling cancel all cancel a batch of tasks, some running
//! and some queued. Cancelling a running one gives its permit back; a queued
//! one the batch has not reached yet must not start under it.
//!
//! Each test widens the race on purpose: one queued member's future has a
//! `Drop` (run by the batch cancel) that blocks until a probe task, submitted
//! from inside that `Drop`, has started. The pool starts tasks in FIFO order
//! on its daemon's single thread, so by the time the probe runs, the victim
//! (queued before the probe) has either started or never will. The victim
//! records whether its first statement ran.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{WATCHDOG, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

/// The shared record of one run.
#[derive(Clone, Default)]
struct Seen {
    victim_started: Arc<AtomicBool>,
    probe_started: Arc<AtomicBool>,
    gate_dropped: Arc<AtomicBool>,
}

/// Held by a queued task's future; dropping it (which the batch cancel
/// does) submits a probe task and blocks until the probe has started.
struct SlowDrop {
    pool: TaskPool,
    seen: Seen,
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        let (tx, rx) = std::sync::mpsc::channel();
        let probe_started = Arc::clone(&self.seen.probe_started);
        // Detached: the probe ends at once.
        drop(
            self.pool
                .submit(async move {
                    probe_started.store(true, Ordering::SeqCst);
                    let _ = tx.send(());
                })
                .unwrap(),
        );
        // With the bug, the victim holds the only permit and the probe waits
        // behind it until this returns: the watchdog turns that into a
        // failed assertion below instead of a hang.
        let _ = rx.recv_timeout(WATCHDOG / 2);
        self.seen.gate_dropped.store(true, Ordering::SeqCst);
    }
}

/// A future that never ends, records that it started, and says so.
async fn never_ending_victim(started: Arc<AtomicBool>) -> u32 {
    started.store(true, Ordering::SeqCst);
    std::future::pending().await
}

fn assert_victim_never_started(seen: &Seen) {
    assert!(seen.gate_dropped.load(Ordering::SeqCst), "the slow drop ran");
    assert!(
        seen.probe_started.load(Ordering::SeqCst),
        "the probe never started: a cancelled queued task took the permit"
    );
    assert!(
        !seen.victim_started.load(Ordering::SeqCst),
        "a queued task started while its batch was being cancelled"
    );
}

/// The future for `map` item `i`: 0 returns at once, 1 says it started and
/// never ends, 2 never ends and drops slowly, 3 is the victim.
fn map_item(
    i: u32,
    pool: &TaskPool,
    seen: &Seen,
    started: &async_channel::Sender<()>,
) -> impl Future<Output = u32> + Send + 'static {
    let slow = (i == 2).then(|| SlowDrop {
        pool: pool.clone(),
        seen: seen.clone(),
    });
    let victim = Arc::clone(&seen.victim_started);
    let started = started.clone();
    async move {
        let _slow = slow;
        match i {
            0 => 0,
            1 => {
                started.send(()).await.unwrap();
                std::future::pending().await
            }
            2 => std::future::pending().await,
            _ => never_ending_victim(victim).await,
        }
    }
}

#[test]
fn dropping_a_map_iterator_starts_none_of_its_queued_tasks() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let pool = executor.pool().clone();
        let seen = Seen::default();
        let (started_tx, started_rx) = async_channel::unbounded();
        let mut items = executor
            .pool()
            .map(0..4_u32, 4, |i| map_item(i, &pool, &seen, &started_tx))
            .unwrap();
        assert_eq!(items.next().unwrap().unwrap(), 0);
        started_rx.recv_blocking().unwrap();
        drop(items);
        assert_victim_never_started(&seen);
    });
}

#[test]
fn a_map_timeout_starts_none_of_its_queued_tasks() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let pool = executor.pool().clone();
        let seen = Seen::default();
        let (started_tx, started_rx) = async_channel::unbounded();
        let mut items = executor
            .pool()
            .map(0..4_u32, 4, |i| map_item(i, &pool, &seen, &started_tx))
            .unwrap()
            .timeout(Duration::from_millis(50));
        assert_eq!(items.next().unwrap().unwrap(), 0);
        // Item 1 is running before the wait that times out begins.
        started_rx.recv_blocking().unwrap();
        assert!(items.next().unwrap().unwrap_err().is_timeout());
        assert!(items.next().is_none());
        assert_victim_never_started(&seen);
    });
}

#[test]
fn dropping_a_group_starts_none_of_its_queued_tasks() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let seen = Seen::default();
        let group = executor.pool().task_group::<Result<u32, String>>();
        let (started_tx, started_rx) = async_channel::unbounded();
        group
            .submit(async move {
                started_tx.send(()).await.unwrap();
                std::future::pending().await
            })
            .unwrap();
        let slow = SlowDrop {
            pool: executor.pool().clone(),
            seen: seen.clone(),
        };
        group
            .submit(async move {
                let _slow = slow;
                std::future::pending().await
            })
            .unwrap();
        let victim = Arc::clone(&seen.victim_started);
        group
            .submit(async move { Ok(never_ending_victim(victim).await) })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        drop(group);
        assert_victim_never_started(&seen);
    });
}

#[test]
fn a_try_join_all_failure_starts_none_of_the_queued_siblings() {
    common::quiet_planned_panics();
    watchdog(|| {
        // The failing task runs elsewhere, so that its end frees no permit
        // of the pool under test: only the batch cancel could.
        let elsewhere = DaemonExecutor::new(1).unwrap();
        let executor = DaemonExecutor::new(1).unwrap();
        let seen = Seen::default();
        let (fail_tx, fail_rx) = async_channel::unbounded::<()>();
        let (started_tx, started_rx) = async_channel::unbounded();
        let failing = elsewhere
            .pool()
            .submit(async move {
                let _ = fail_rx.recv().await;
                panic!("planned panic: the first failure");
            })
            .unwrap();
        let running = executor
            .pool()
            .submit(async move {
                started_tx.send(()).await.unwrap();
                std::future::pending::<u32>().await
            })
            .unwrap();
        let slow = SlowDrop {
            pool: executor.pool().clone(),
            seen: seen.clone(),
        };
        let slow_drop = executor
            .pool()
            .submit(async move {
                let _slow = slow;
                std::future::pending::<u32>().await
            })
            .unwrap();
        let victim = executor
            .pool()
            .submit(never_ending_victim(Arc::clone(&seen.victim_started)))
            .unwrap();
        started_rx.recv_blocking().unwrap();
        fail_tx.close();
        let failure = taskpool::try_join_all([failing, running, slow_drop, victim])
            .wait()
            .unwrap_err();
        assert_eq!(failure.index(), 0);
        assert_victim_never_started(&seen);
    });
}
