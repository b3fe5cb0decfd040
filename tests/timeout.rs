//! Per-task timeouts (`asyncio.wait_for`): run time only, permit back, bad
//! values refused; and a task whose `Drop` panics while a cancel or a
//! timeout drops it.

mod common;

use std::time::Duration;

use common::{Gate, Recorder, running, signal, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

/// A value whose `Drop` panics: stands for task state that panics while
/// being dropped by a cancel or a timeout.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("dropping state failed");
    }
}

#[test]
fn an_expired_task_is_dropped_and_yields_timed_out() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let handle = executor
            .pool()
            .build_task()
            .timeout(Duration::from_millis(5))
            .submit(std::future::pending::<()>())
            .unwrap();
        let err = handle.wait().unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(err.timeout(), Some(Duration::from_millis(5)));
        assert_eq!(executor.pool().stats().timed_out, 1);
        // The permit came back: the next task runs.
        assert_eq!(executor.pool().submit(async { 1 }).unwrap().wait().unwrap(), 1);
    });
}

#[test]
fn time_spent_queued_is_not_charged() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let blocker = running(&pool, &gate, ());
        let timeout = Duration::from_millis(10);
        let queued = pool.build_task().timeout(timeout).submit(async { "ran" }).unwrap();
        // Not synchronization: the test needs the task to wait in the queue
        // longer than its timeout, and a sleep is what guarantees a lower
        // bound on elapsed time.
        std::thread::sleep(timeout * 3);
        gate.open();
        blocker.wait().unwrap();
        assert_eq!(queued.wait().unwrap(), "ran");
    });
}

#[test]
fn a_zero_timeout_is_refused_and_the_future_handed_back() {
    let pool = TaskPool::new(1).unwrap();
    let err = pool
        .build_task()
        .timeout(Duration::ZERO)
        .submit(async { 9 })
        .unwrap_err();
    assert!(err.is_invalid_timeout());
    assert!(!err.is_closed());
    assert_eq!(
        err.to_string(),
        "cannot submit: a per-task timeout must be greater than zero"
    );
    let future = err.into_inner();
    assert_eq!(pool.submit(future).unwrap().wait().unwrap(), 9);
    let err = pool
        .build_task()
        .timeout(Duration::ZERO)
        .try_submit(async {})
        .unwrap_err();
    assert!(err.is_invalid_timeout());
    assert_eq!(pool.stats().submitted, 1, "refused submissions are not counted");
}

#[test]
fn a_huge_timeout_means_no_timeout() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        for timeout in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let h = pool.build_task().timeout(timeout).submit(async { 1 }).unwrap();
            assert_eq!(h.wait().unwrap(), 1);
        }
    });
}

#[test]
fn a_panicking_drop_during_cancel_or_timeout_keeps_the_outcome_and_the_daemon() {
    let recorder = Recorder::install();
    watchdog(move || {
        let executor = DaemonExecutor::new(1).unwrap();
        let (started_tx, started_rx) = signal();
        let cancelled = executor
            .pool()
            .submit(async move {
                let _state = PanicsOnDrop;
                started_tx.send(()).await.unwrap();
                std::future::pending::<()>().await
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        let cancelled_id = cancelled.id();
        assert!(cancelled.cancel());
        assert!(cancelled.wait().unwrap_err().is_cancelled());

        let timed_out = executor
            .pool()
            .build_task()
            .timeout(Duration::from_millis(2))
            .submit(async {
                let _state = PanicsOnDrop;
                std::future::pending::<()>().await
            })
            .unwrap();
        let timed_out_id = timed_out.id();
        assert!(timed_out.wait().unwrap_err().is_timeout());

        // The daemon thread lives on and the permit is back (limit 1).
        assert_eq!(executor.pool().submit(async { 3 }).unwrap().wait().unwrap(), 3);
        for id in [cancelled_id, timed_out_id] {
            let lines = recorder.lines_with(&format!("task {id} panicked while dropping its future"));
            assert_eq!(lines.len(), 1, "one error line for task {id}: {lines:?}");
            assert_eq!(lines[0].0, log::Level::Error);
            assert!(lines[0].1.contains("dropping state failed"));
        }
        let stats = executor.pool().stats();
        assert_eq!((stats.cancelled, stats.timed_out, stats.panicked), (1, 1, 0));
    });
}

#[test]
fn a_panicking_drop_of_a_cancelled_queued_task_is_contained() {
    let recorder = Recorder::install();
    watchdog(move || {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let blocker = pool.submit(async move { g.wait().await }).unwrap();
        let state = PanicsOnDrop;
        let queued = pool
            .submit(async move {
                let _state = state;
            })
            .unwrap();
        let id = queued.id();
        assert!(queued.cancel());
        assert!(queued.wait().unwrap_err().is_cancelled());
        assert_eq!(
            recorder.lines_with(&format!("task {id} panicked while dropping")).len(),
            1
        );
        gate.open();
        blocker.wait().unwrap();
    });
}
