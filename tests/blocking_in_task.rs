//! A blocking call made inside a pool task panics with a message naming the
//! async form to use, instead of stalling an executor thread (and, once
//! every executor thread does it, deadlocking silently).

mod common;

use std::time::{Duration, Instant};

use common::{Gate, watchdog};
use taskpool::{ShutdownMode, TaskError, TaskPool};

/// The panic message of a task's outcome, which must be a panic.
fn panic_message<T: std::fmt::Debug>(outcome: Result<T, TaskError>) -> String {
    let err = outcome.expect_err("the blocking call should have panicked");
    err.panic_message().expect("a panic").to_owned()
}

fn assert_refused(message: &str, instead: &str) {
    assert!(message.contains("inside a pool task"), "{message}");
    assert!(message.contains("deadlock"), "{message}");
    assert!(message.contains(instead), "{message}");
}

#[test]
fn handle_waits_inside_a_task_panic_and_name_await() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        let gate = Gate::new();
        let waits: [fn(taskpool::TaskHandle<()>); 3] = [
            |h| drop(h.wait()),
            |mut h| drop(h.wait_timeout(Duration::from_secs(3600))),
            |mut h| drop(h.wait_deadline(Instant::now() + Duration::from_secs(3600))),
        ];
        for wait in waits {
            let inner = common::gated(&pool, &gate, ());
            let message = panic_message(pool.submit(async move { wait(inner) }).unwrap().wait());
            assert_refused(&message, "`.await` the handle");
        }
        gate.open();
    });
}

#[test]
fn a_wait_that_cannot_block_is_allowed_inside_a_task() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let inner = common::gated(&pool, &gate, 7);
        let outcome = pool
            .submit(async move {
                let mut inner = inner;
                inner.wait_timeout(Duration::ZERO).is_err()
            })
            .unwrap()
            .wait();
        assert!(outcome.unwrap(), "a zero timeout only checks, and reports the timeout");
        gate.open();
    });
}

#[test]
fn blocking_waits_on_many_inside_a_task_panic() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        let gate = Gate::new();
        let handles = vec![common::gated(&pool, &gate, 1)];
        let message = panic_message(
            pool.submit(async move { drop(taskpool::join_all(handles).wait()) })
                .unwrap()
                .wait(),
        );
        assert_refused(&message, "`.await` it");
        let handles = vec![common::gated(&pool, &gate, 1)];
        let message = panic_message(
            pool.submit(async move { drop(taskpool::as_completed(handles).next()) })
                .unwrap()
                .wait(),
        );
        assert_refused(&message, "`into_stream()`");
        let pool2 = pool.clone();
        let gate2 = gate.clone();
        let message = panic_message(
            pool.submit(async move {
                let mut items = pool2
                    .map([1], 1, move |i| {
                        let gate = gate2.clone();
                        async move {
                            gate.wait().await;
                            i
                        }
                    })
                    .unwrap();
                drop(items.next());
            })
            .unwrap()
            .wait(),
        );
        assert_refused(&message, "`into_stream()`");
        gate.open();
    });
}

#[test]
fn a_blocking_submit_on_a_full_queue_inside_a_task_panics() {
    watchdog(|| {
        let pool = TaskPool::builder().limit(1).queue_capacity(1).build().unwrap();
        let gate = Gate::new();
        let (started_tx, started_rx) = async_channel::unbounded();
        let inner = pool.clone();
        let runs = pool
            .submit(async move {
                started_tx.send(()).await.unwrap();
                // The permit is held by this task; fill the queue's one slot.
                let queued = inner.submit(async {}).unwrap();
                let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.submit(async {})));
                drop(queued);
                refused.map(drop).unwrap_err()
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        let payload = runs.wait().unwrap();
        let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_refused(&message, "`submit_async`");
        gate.open();
    });
}

#[test]
fn shutdown_wait_of_another_pool_inside_a_task_panics() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let other = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let _running = common::gated(&other, &gate, ());
        let message = panic_message(
            pool.submit(async move { other.shutdown(ShutdownMode::Drain).wait() })
                .unwrap()
                .wait(),
        );
        assert_refused(&message, "`.await` the `Shutdown`");
        gate.open();
    });
}

#[test]
fn more_blocking_waiters_than_executor_threads_fail_instead_of_deadlocking() {
    watchdog(|| {
        let outer = TaskPool::new(64).unwrap();
        let inner = TaskPool::new(64).unwrap();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let handles: Vec<_> = (0..threads + 1)
            .map(|_| {
                let inner = inner.clone();
                outer
                    .submit(async move { inner.submit(async { 1 }).unwrap().wait().unwrap() })
                    .unwrap()
            })
            .collect();
        for handle in handles {
            match handle.wait() {
                // The inner task may already be done when the wait begins.
                Ok(value) => assert_eq!(value, 1),
                Err(err) => assert_refused(err.panic_message().unwrap(), "`.await` the handle"),
            }
        }
    });
}

#[test]
fn a_blocking_closure_may_wait_on_handles() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let inner = pool.clone();
        let value = pool
            .submit_to_thread(move || inner.submit(async { 5 }).unwrap().wait().unwrap())
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(value, 5);
    });
}
