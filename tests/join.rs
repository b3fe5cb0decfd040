//! `join_all` and `try_join_all`: every outcome in input order, or the
//! successes / the first failure with the siblings cancelled; timed waits
//! borrow the join; dropping either detaches.

mod common;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use common::{
    Gate, after, assert_panics_on_the_daemon_thread, drop_signal, gated, never_ending, signal, spin_until, watchdog,
};
use taskpool::{DaemonExecutor, Opaque, TaskHandle, TaskPool};

/// Polls `future` once, by hand, and asserts it is not ready.
fn assert_pending<F: Future + Unpin>(future: &mut F) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(pin!(future).poll(&mut cx).is_pending());
}

#[test]
fn join_all_returns_every_outcome_in_input_order() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let (first, last) = (Gate::new(), Gate::new());
        let handles: Vec<TaskHandle<Result<u8, String>>> = vec![
            gated(&pool, &last, Ok(0)),
            pool.submit(async { Err("typed".to_owned()) }).unwrap(),
            pool.submit(async { panic!("boom") }).unwrap(),
            gated(&pool, &first, Ok(3)),
        ];
        first.open();
        spin_until(|| handles[3].is_finished());
        last.open();
        let outcomes = taskpool::join_all(handles).wait();
        assert_eq!(outcomes[0].as_ref().unwrap(), &Ok(0));
        assert_eq!(outcomes[1].as_ref().unwrap(), &Err("typed".to_owned()));
        assert!(outcomes[2].as_ref().unwrap_err().is_panic());
        assert_eq!(outcomes[3].as_ref().unwrap(), &Ok(3));
    });
}

#[test]
fn joining_nothing_returns_at_once() {
    watchdog(|| {
        assert!(taskpool::join_all(Vec::<TaskHandle<()>>::new()).wait().is_empty());
        assert!(
            taskpool::try_join_all(Vec::<TaskHandle<()>>::new())
                .wait()
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn try_join_all_returns_every_value_in_input_order() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let handles = vec![gated(&pool, &gate, "slow"), pool.submit(async { "fast" }).unwrap()];
        gate.open();
        assert_eq!(taskpool::try_join_all(handles).wait().unwrap(), ["slow", "fast"]);
    });
}

#[test]
fn try_join_all_stops_at_the_first_failure_and_cancels_the_siblings() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let (started_tx, started_rx) = signal();
        let (guard, dropped) = drop_signal();
        let running_sibling = pool.submit(never_ending::<i32>(guard, Some(started_tx))).unwrap();
        started_rx.recv_blocking().unwrap();
        let handles = vec![
            running_sibling,
            pool.submit(async { panic!("boom") }).unwrap(),
            pool.submit(std::future::pending()).unwrap(),
        ];
        let failure = taskpool::try_join_all(handles).wait().unwrap_err();
        assert_eq!(failure.index(), 1);
        assert!(failure.is_panic());
        assert_eq!(failure.task_error().unwrap().panic_message(), Some("boom"));
        // The running sibling was cancelled: its future is dropped.
        dropped.recv_blocking().unwrap();
        spin_until(|| pool.stats().cancelled == 2);
    });
}

#[test]
fn try_join_all_counts_an_err_as_a_failure_with_no_opt_in() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let handles = vec![
            pool.submit(after(&gate, Ok(1))).unwrap(),
            pool.submit(async { Err("refused".to_owned()) }).unwrap(),
        ];
        let failure = taskpool::try_join_all(handles).wait().unwrap_err();
        assert_eq!(failure.index(), 1);
        assert!(failure.is_value());
        assert_eq!(
            failure.to_string(),
            format!("task {} failed: \"refused\"", failure.id())
        );
        assert_eq!(failure.into_outcome().unwrap(), Err("refused".to_owned()));
        spin_until(|| pool.stats().cancelled == 1);
    });
}

#[test]
fn try_join_all_returns_the_successes_unwrapped() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let handles = vec![
            gated(&pool, &gate, Ok::<u8, String>(1)),
            pool.submit(async { Ok(2) }).unwrap(),
        ];
        gate.open();
        let values: Vec<u8> = taskpool::try_join_all(handles).wait().unwrap();
        assert_eq!(values, [1, 2]);
    });
}

#[test]
fn try_join_all_treats_an_opaque_err_as_a_value() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let handles = vec![
            pool.submit(async { Opaque(Ok(1)) }).unwrap(),
            pool.submit(async { Opaque(Err("just a value")) }).unwrap(),
        ];
        let values = taskpool::try_join_all(handles).wait().unwrap();
        assert_eq!(values, [Opaque(Ok(1)), Opaque(Err("just a value"))]);
        assert_eq!(pool.stats().cancelled, 0);
    });
}

/// Submits two tasks that each say when they end, hands their handles to
/// `join`, polls the join once, drops it, and asserts that both tasks still
/// ran to the end.
fn assert_dropping_detaches<J: Future + Unpin>(join: impl FnOnce(Vec<TaskHandle<Result<(), ()>>>) -> J) {
    let pool = TaskPool::new(2).unwrap();
    let gate = Gate::new();
    let (done_tx, done_rx) = signal();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (gate, done) = (gate.clone(), done_tx.clone());
            pool.submit(async move {
                gate.wait().await;
                done.send(()).await.unwrap();
                Ok(())
            })
            .unwrap()
        })
        .collect();
    let mut join = join(handles);
    assert_pending(&mut join);
    drop(join);
    gate.open();
    done_rx.recv_blocking().unwrap();
    done_rx.recv_blocking().unwrap();
    spin_until(|| pool.stats().completed == 2);
    assert_eq!(pool.stats().cancelled, 0);
}

#[test]
fn dropping_join_all_before_it_finishes_detaches_the_tasks() {
    watchdog(|| assert_dropping_detaches(taskpool::join_all));
}

#[test]
fn dropping_try_join_all_before_it_finishes_detaches_the_tasks() {
    watchdog(|| assert_dropping_detaches(taskpool::try_join_all));
}

#[test]
fn a_timed_join_all_leaves_the_join_untouched_to_wait_again() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let handles = vec![pool.submit(async { 1 }).unwrap(), gated(&pool, &gate, 2)];
        spin_until(|| handles[0].is_finished());
        let mut join = taskpool::join_all(handles);
        let err = join.wait_timeout(Duration::from_millis(10)).unwrap_err();
        assert_eq!((err.unfinished(), err.total()), (1, 2));
        assert_eq!(err.to_string(), "timed out with 1 of 2 tasks unfinished");
        // An instant already past only checks.
        let err = join.wait_deadline(Instant::now()).unwrap_err();
        assert_eq!((err.unfinished(), err.total()), (1, 2));
        assert_eq!(pool.stats().cancelled, 0, "a timed-out join cancels nothing");
        gate.open();
        let outcomes = join.wait_timeout(Duration::MAX).unwrap();
        assert_eq!(outcomes.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1, 2]);
    });
}

#[test]
fn a_timed_try_join_all_leaves_the_join_untouched_and_cancels_nothing() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let handles = vec![gated(&pool, &gate, Ok::<_, String>(1)), gated(&pool, &gate, Ok(2))];
        let mut join = taskpool::try_join_all(handles);
        let err = join.wait_timeout(Duration::from_millis(5)).unwrap_err();
        assert_eq!((err.unfinished(), err.total()), (2, 2));
        assert_eq!(pool.stats().cancelled, 0, "a timed-out join cancels nothing");
        gate.open();
        let deadline = Instant::now() + common::WATCHDOG;
        assert_eq!(join.wait_deadline(deadline).unwrap().unwrap(), [1, 2]);
    });
}

#[test]
fn a_join_can_be_awaited_after_a_timed_wait_elapsed() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gate = Gate::new();
        let mut all = taskpool::join_all([gated(&pool, &gate, 1)]);
        let mut values = taskpool::try_join_all([gated(&pool, &gate, Ok::<_, ()>(2))]);
        assert!(all.wait_timeout(Duration::ZERO).is_err());
        assert!(values.wait_timeout(Duration::ZERO).is_err());
        let awaited = pool
            .submit(async move { (all.await.pop().unwrap().unwrap(), values.await.unwrap()) })
            .unwrap();
        gate.open();
        assert_eq!(awaited.wait().unwrap(), (1, vec![2]));
    });
}

/// The message `f` panicked with.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).unwrap_err();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap()
}

#[test]
fn waiting_again_after_a_timed_wait_returned_the_outcome_says_so() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(1).unwrap();
        let mut join = taskpool::join_all([pool.submit(async { 1 }).unwrap()]);
        assert_eq!(join.wait_timeout(Duration::MAX).unwrap().len(), 1);
        let message = panic_message(|| drop(join.wait_timeout(Duration::ZERO)));
        assert!(message.contains("polled after it returned"), "{message}");

        let mut join = taskpool::try_join_all([pool.submit(async { 1 }).unwrap()]);
        assert_eq!(join.wait_timeout(Duration::MAX).unwrap().unwrap(), [1]);
        let message = panic_message(|| drop(join.wait()));
        assert!(message.contains("polled after it returned"), "{message}");
    });
}

#[test]
fn the_joins_can_be_awaited_on_a_daemon_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::new(4).unwrap();
        let pool = executor.pool().clone();
        let handle = executor
            .pool()
            .submit(async move {
                let all: Vec<_> = (1..=3).map(|i| pool.submit(async move { i }).unwrap()).collect();
                let sum: i32 = taskpool::join_all(all).await.into_iter().map(Result::unwrap).sum();
                let failing = vec![
                    pool.submit(std::future::pending::<i32>()).unwrap(),
                    pool.submit(async { panic!("boom") }).unwrap(),
                ];
                let failure = taskpool::try_join_all(failing).await.unwrap_err();
                (sum, failure.index())
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), (6, 1));
    });
}

#[test]
fn a_blocking_join_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        assert_panics_on_the_daemon_thread(|pool, gate| taskpool::join_all([gated(&pool, &gate, ())]).wait());
        assert_panics_on_the_daemon_thread(|pool, gate| taskpool::try_join_all([gated(&pool, &gate, ())]).wait());
    });
}

#[test]
fn the_joins_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<taskpool::JoinAll<u8>>();
    send_sync::<taskpool::TryJoinAll<u8>>();
}
