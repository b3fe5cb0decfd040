//! The races around a task's outcome, now that a task keeps its state in
//! one atomic word and its payload, then its value, in one unlocked slot:
//! each race has one winner, and every value, panic payload and future is
//! dropped exactly once, by whoever the winner leaves it to.
//!
//! - a handle dropped as its task fails: the failure is reported once;
//! - a cancel as the task returns a value (or panics): the value (or the
//!   panic's payload) is dropped once, before the waiter sees `Cancelled`;
//! - a cancel of a queued task while its handle waits: the future is
//!   dropped once, and the waiter gets `Cancelled`; a queued future whose
//!   `Drop` waits for the pool (drops the last `DaemonExecutor`) can be
//!   cancelled;
//! - a value nobody takes is dropped once, as soon as nobody can take it:
//!   by its runner once its permit is back, or when its handle drops (that
//!   its `Drop` may then wait for the task queued behind it is in
//!   `workers.rs`, since it blocks an executor thread).

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use common::{
    Gate, PlannedPayload, Recorder, assert_all_permits_free, both_pool_kinds, quiet_planned_panics, running,
    spin_until, watchdog,
};
use taskpool::{DaemonExecutor, Fallible, ShutdownMode, TaskHandle, TaskId, TaskPool};

const ROUNDS: usize = 300;

/// Runs `first` and `second` at the same moment, on two threads.
fn at_once(first: impl FnOnce() + Send + 'static, second: impl FnOnce()) {
    let barrier = Arc::new(Barrier::new(2));
    let other = {
        let barrier = Arc::clone(&barrier);
        std::thread::spawn(move || {
            barrier.wait();
            first();
        })
    };
    barrier.wait();
    second();
    other.join().unwrap();
}

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Fallible for Counted {
    type Success = Counted;

    fn into_success(self) -> Result<Counted, Counted> {
        Ok(self)
    }
}

/// A task on `pool` that, once `gate` opens, fails: an `Err` on even
/// rounds, a panic on odd ones. Returned once it is running.
fn failing(pool: &TaskPool, gate: &Gate, round: usize) -> taskpool::TaskHandle<Result<(), usize>> {
    let gate = gate.clone();
    let (started_tx, started_rx) = common::signal();
    let handle = pool
        .submit(async move {
            started_tx.send(()).await.unwrap();
            gate.wait().await;
            if round % 2 == 1 {
                panic!("planned panic {round}");
            }
            Err(round)
        })
        .unwrap();
    started_rx.recv_blocking().unwrap();
    handle
}

#[test]
fn a_handle_dropped_as_its_task_fails_reports_the_failure_exactly_once() {
    let _recorder = Recorder::install();
    quiet_planned_panics();
    watchdog(|| {
        let seen: Arc<Mutex<Vec<TaskId>>> = Arc::new(Mutex::new(Vec::new()));
        let (global_sink, daemon_sink) = (Arc::clone(&seen), Arc::clone(&seen));
        let global = TaskPool::builder()
            .limit(2)
            .on_unobserved_failure(move |f| global_sink.lock().unwrap().push(f.task_id()))
            .build()
            .unwrap();
        let executor = DaemonExecutor::builder()
            .limit(2)
            .on_unobserved_failure(move |f| daemon_sink.lock().unwrap().push(f.task_id()))
            .build()
            .unwrap();
        for (kind, pool) in [("TaskPool", global), ("DaemonExecutor", executor.pool().clone())] {
            seen.lock().unwrap().clear();
            let mut ids = Vec::new();
            for round in 0..ROUNDS {
                let gate = Gate::new();
                let handle = failing(&pool, &gate, round);
                ids.push(handle.id());
                at_once(move || gate.open(), move || drop(handle));
            }
            pool.shutdown(ShutdownMode::Drain).wait();
            let mut seen = seen.lock().unwrap().clone();
            seen.sort();
            assert_eq!(seen, ids, "{kind}: each failure reported once");
            let s = pool.stats();
            assert_eq!(
                (s.failed, s.panicked),
                (ROUNDS as u64 / 2, ROUNDS as u64 / 2),
                "{kind}: {s:?}"
            );
        }
    });
}

#[test]
fn a_value_or_panic_a_cancel_discards_is_dropped_once_before_the_waiter_sees_cancelled() {
    let _recorder = Recorder::install();
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(2) {
            let drops = Arc::new(AtomicUsize::new(0));
            let (mut cancelled, mut ended) = (0, 0);
            for i in 0..ROUNDS {
                let gate = Gate::new();
                let (started_tx, started_rx) = common::signal();
                let value = Counted(Arc::clone(&drops));
                let task_gate = gate.clone();
                let handle = pool
                    .submit(async move {
                        started_tx.send(()).await.unwrap();
                        task_gate.wait().await;
                        if i % 2 == 1 {
                            std::panic::panic_any(PlannedPayload(Box::new(value)));
                        }
                        value
                    })
                    .unwrap();
                started_rx.recv_blocking().unwrap();
                let before = drops.load(Ordering::SeqCst);
                let mut took_effect = false;
                at_once(move || gate.open(), || took_effect = handle.cancel());
                match handle.wait() {
                    Err(e) if e.is_cancelled() => {
                        assert!(took_effect, "{kind}: cancelled without a cancel that took effect");
                        assert_eq!(
                            drops.load(Ordering::SeqCst),
                            before + 1,
                            "{kind}: the discarded value is dropped before the waiter sees the cancel"
                        );
                        cancelled += 1;
                    }
                    outcome => {
                        assert!(!took_effect, "{kind}: a cancel that returned true, then an outcome");
                        assert_eq!(
                            drops.load(Ordering::SeqCst),
                            before,
                            "{kind}: the value is the waiter's"
                        );
                        match outcome {
                            Ok(value) => drop(value),
                            Err(e) => drop(e.into_panic()),
                        }
                        assert_eq!(drops.load(Ordering::SeqCst), before + 1);
                        ended += 1;
                    }
                }
            }
            assert_eq!(drops.load(Ordering::SeqCst), ROUNDS, "{kind}: every value dropped once");
            let s = pool.stats();
            assert_eq!(s.cancelled, cancelled, "{kind}: {s:?}");
            assert_eq!(s.completed + s.panicked, ended, "{kind}: {s:?}");
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn a_queued_task_cancelled_while_its_handle_waits_drops_its_future_once() {
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            let blocker_gate = Gate::new();
            let blocker = running(&pool, &blocker_gate, ());
            let drops = Arc::new(AtomicUsize::new(0));
            for _ in 0..ROUNDS {
                let value = Counted(Arc::clone(&drops));
                let handle = pool.submit(async move { value }).unwrap();
                let before = drops.load(Ordering::SeqCst);
                let canceller = handle.cancel_handle();
                let mut waited = None;
                at_once(
                    move || assert!(canceller.cancel(), "a queued task is always cancelled"),
                    || waited = Some(handle.wait()),
                );
                let err = waited.unwrap().err().expect("a cancelled task has no value");
                assert!(err.is_cancelled(), "{kind}: {err}");
                assert_eq!(
                    drops.load(Ordering::SeqCst),
                    before + 1,
                    "{kind}: its future dropped once"
                );
            }
            blocker_gate.open();
            blocker.wait().unwrap();
            assert_eq!(pool.stats().cancelled, ROUNDS as u64, "{kind}");
            assert_all_permits_free(&pool);
        }
    });
}

/// Held by a queued task's future: as it drops, it lets the pool's running
/// task finish, then drops what is by then the last `DaemonExecutor`, whose
/// `Drop` waits (off the daemon thread) until every task has ended.
struct DropsTheLastExecutor {
    gate: Gate,
    executor: Option<Arc<DaemonExecutor>>,
}

impl Drop for DropsTheLastExecutor {
    fn drop(&mut self) {
        self.gate.open();
        drop(self.executor.take());
    }
}

/// A daemon of limit 1 whose only permit a running task holds until
/// `gate` opens, and a future for a task that can only queue, holding the
/// executor and the gate.
fn daemon_with_a_queued_future_holding_it() -> (TaskPool, TaskHandle<()>, impl Future<Output = ()> + Send + 'static) {
    let executor = Arc::new(DaemonExecutor::new(1).unwrap());
    let pool = executor.pool().clone();
    let gate = Gate::new();
    let blocker = running(&pool, &gate, ());
    let guard = DropsTheLastExecutor {
        gate,
        executor: Some(executor),
    };
    let future = async move {
        drop(guard);
        unreachable!("a queued task that is cancelled never starts");
    };
    (pool, blocker, future)
}

/// A queued task's future is dropped after its outcome is published, on
/// the thread that ended it: its `Drop` is user code, and may wait for the
/// pool (dropping the last `DaemonExecutor` waits for every task to end,
/// this one included). Dropping it first deadlocked that wait (found by a
/// review of a change that reordered it, which was reverted). A cancel
/// through the handle, and a group's batch cancel.
#[test]
fn a_queued_future_whose_drop_drops_the_last_executor_can_be_cancelled() {
    watchdog(|| {
        let (pool, blocker, future) = daemon_with_a_queued_future_holding_it();
        let handle = pool.submit(future).unwrap();
        assert!(handle.cancel());
        assert!(handle.wait().unwrap_err().is_cancelled());
        blocker.wait().unwrap();
        assert!(pool.is_closed(), "the last executor went with the future");

        let (pool, blocker, future) = daemon_with_a_queued_future_holding_it();
        let group = pool.task_group::<()>();
        group.submit(future).unwrap();
        drop(group);
        blocker.wait().unwrap();
        assert_eq!(pool.stats().cancelled, 1);
        assert!(pool.is_closed(), "the last executor went with the future");
    });
}

#[test]
fn a_value_nobody_takes_is_dropped_once_as_soon_as_nobody_can_take_it() {
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(2) {
            let drops = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            for _ in 0..ROUNDS {
                let value = Counted(Arc::clone(&drops));
                handles.push(pool.submit(async move { value }).unwrap());
            }
            // Half the handles are dropped unfinished, half after the end.
            let later = handles.split_off(ROUNDS / 2);
            drop(handles);
            pool.shutdown(ShutdownMode::Drain).wait();
            assert!(later.iter().all(|h| h.is_finished()), "{kind}");
            // A value whose handle went is dropped by its runner, once it
            // gave its permit back, so maybe just after the task counted
            // as ended.
            spin_until(|| drops.load(Ordering::SeqCst) >= ROUNDS / 2);
            assert_eq!(
                drops.load(Ordering::SeqCst),
                ROUNDS / 2,
                "{kind}: the values whose handles went are dropped; the others are kept"
            );
            drop(later);
            assert_eq!(
                drops.load(Ordering::SeqCst),
                ROUNDS,
                "{kind}: a value nobody took is dropped with its handle, once"
            );
        }
    });
}
