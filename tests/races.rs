//! Races: a cancel against a task's start and against its completion, a
//! timeout expiring as the task finishes, and waiters that go away while
//! waiting. Exactly one outcome wins, the permit comes back once, and the
//! books balance.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Gate, Recorder, assert_all_permits_free, running, signal, watchdog};
use taskpool::{DaemonExecutor, ShutdownMode, Stats, TaskPool};

const ROUNDS: usize = 300;

fn assert_books_balance(s: &Stats) {
    assert_eq!(s.submitted, s.queued + s.running + s.finished(), "{s:?}");
    assert_eq!((s.queued, s.running), (0, 0), "{s:?}");
}

#[test]
fn cancel_racing_with_start_has_one_winner() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(1).unwrap());
        for _ in 0..ROUNDS {
            let gate = Gate::new();
            let first = running(executor.pool(), &gate, ());
            let second = executor.pool().submit(async { "second ran" }).unwrap();
            // Line up: one thread frees the permit (starting `second`) while
            // this one cancels `second`.
            let barrier = Arc::new(Barrier::new(2));
            let opener = {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    gate.open();
                })
            };
            barrier.wait();
            let took_effect = second.cancel();
            opener.join().unwrap();
            first.wait().unwrap();
            match second.wait() {
                Ok(v) => assert!(!took_effect && v == "second ran"),
                Err(e) => assert!(took_effect && e.is_cancelled(), "{e}"),
            }
        }
        assert_books_balance(&executor.pool().stats());
        assert_all_permits_free(executor.pool());
    });
}

#[test]
fn cancel_racing_with_completion_has_one_winner() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let (mut cancelled, mut completed) = (0, 0);
        for i in 0..ROUNDS {
            let gate = Gate::new();
            let handle = running(&pool, &gate, i);
            let barrier = Arc::new(Barrier::new(2));
            let opener = {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    gate.open();
                })
            };
            barrier.wait();
            let took_effect = handle.cancel();
            opener.join().unwrap();
            match handle.wait() {
                Ok(v) => {
                    assert!(!took_effect && v == i);
                    completed += 1;
                }
                Err(e) => {
                    assert!(took_effect && e.is_cancelled(), "{e}");
                    cancelled += 1;
                }
            }
        }
        let s = pool.stats();
        assert_books_balance(&s);
        assert_eq!((s.cancelled, s.completed), (cancelled, completed));
        assert_all_permits_free(&pool);
    });
}

#[test]
fn a_timeout_expiring_as_the_task_finishes_has_one_winner() {
    watchdog(|| {
        let executor = DaemonExecutor::new(4).unwrap();
        let handles: Vec<_> = (0..ROUNDS)
            .map(|i| {
                // Work about as long as the timeout: either may win.
                let work = Duration::from_micros(500 + (i as u64 % 7) * 100);
                executor
                    .pool()
                    .build_task()
                    .timeout(Duration::from_micros(800))
                    .submit(async move {
                        futures_timer::Delay::new(work).await;
                        i
                    })
                    .unwrap()
            })
            .collect();
        let (mut values, mut timeouts) = (0, 0);
        for (i, h) in handles.into_iter().enumerate() {
            match h.wait() {
                Ok(v) => {
                    assert_eq!(v, i);
                    values += 1;
                }
                Err(e) => {
                    assert!(e.is_timeout(), "{e}");
                    timeouts += 1;
                }
            }
        }
        let s = executor.pool().stats();
        assert_books_balance(&s);
        assert_eq!((s.completed, s.timed_out), (values, timeouts));
        assert_all_permits_free(executor.pool());
    });
}

#[test]
fn an_async_waiter_dropped_while_waiting_detaches_the_task() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let waiters = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let (done_tx, done_rx) = signal();
        let g = gate.clone();
        let task = pool
            .submit(async move {
                g.wait().await;
                done_tx.send(()).await.unwrap();
                "done"
            })
            .unwrap();
        let (waiting_tx, waiting_rx) = signal();
        let waiter = waiters
            .submit(async move {
                waiting_tx.send(()).await.unwrap();
                task.await
            })
            .unwrap();
        waiting_rx.recv_blocking().unwrap();
        // The waiter (and the handle it awaits) is dropped mid-wait.
        assert!(waiter.cancel());
        assert!(waiter.wait().unwrap_err().is_cancelled());
        gate.open();
        done_rx.recv_blocking().expect("the awaited task ran to the end");
        pool.shutdown(ShutdownMode::Drain).wait();
        assert_eq!(pool.stats().completed, 1);
    });
}

#[test]
fn a_waiter_thread_that_panics_while_waiting_detaches_the_task() {
    let recorder = Recorder::install();
    watchdog(move || {
        let executor = DaemonExecutor::new(1).unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let handle = executor
            .pool()
            .submit(async move {
                g.wait().await;
                panic!("after the waiter died") as ()
            })
            .unwrap();
        let id = handle.id();
        let waiter = std::thread::spawn(move || {
            let mut handle = handle;
            handle.wait_timeout(Duration::from_millis(1)).unwrap_err();
            let _held = handle;
            panic!("the waiter thread fails while holding the handle");
        });
        assert!(waiter.join().is_err());
        gate.open();
        drop(executor);
        // Nobody retrieved the panic: it is reported once, and nothing hung.
        let never = recorder.lines_with("never retrieved");
        assert_eq!(
            never
                .iter()
                .filter(|(_, l)| l.starts_with(&format!("task {id} ")))
                .count(),
            1
        );
    });
}

#[test]
fn cancel_from_many_threads_at_once_counts_once() {
    watchdog(|| {
        let pool = Arc::new(TaskPool::new(1).unwrap());
        for _ in 0..100 {
            let handle = Arc::new(pool.submit(std::future::pending::<()>()).unwrap());
            let barrier = Arc::new(Barrier::new(4));
            let cancellers: Vec<_> = (0..4)
                .map(|_| {
                    let (handle, barrier) = (Arc::clone(&handle), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        handle.cancel()
                    })
                })
                .collect();
            assert!(
                cancellers.into_iter().all(|c| c.join().unwrap()),
                "every cancel reports the cancel"
            );
            let handle = Arc::try_unwrap(handle).unwrap();
            assert!(handle.wait().unwrap_err().is_cancelled());
        }
        let s = pool.stats();
        assert_eq!(s.cancelled, 100, "each task counted once");
        assert_books_balance(&s);
        assert_all_permits_free(&pool);
    });
}
