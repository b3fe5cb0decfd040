//! `submit_to_thread`: blocking closures on the blocking pool, under the
//! same limit as async tasks; panics propagate; cancel before start works.

mod common;

use std::sync::{Arc, Barrier};

use common::{Gate, Probe, both_pool_kinds, running, signal, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

#[test]
fn blocking_closures_share_the_limit_with_async_tasks() {
    watchdog(|| {
        let executor = DaemonExecutor::new(3).unwrap();
        let probe = Probe::default();
        let mut handles = Vec::new();
        for i in 0..30 {
            let probe = probe.clone();
            if i % 2 == 0 {
                handles.push(
                    executor
                        .pool()
                        .submit_to_thread(move || {
                            let _inside = probe.enter();
                            std::thread::sleep(std::time::Duration::from_micros(200)); // simulated blocking work
                        })
                        .unwrap(),
                );
            } else {
                handles.push(
                    executor
                        .pool()
                        .submit(async move {
                            let _inside = probe.enter();
                            futures_timer::Delay::new(std::time::Duration::from_micros(200)).await;
                        })
                        .unwrap(),
                );
            }
        }
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert!(probe.max() <= 3, "{} ran at once", probe.max());
        assert_eq!(probe.entered(), 30);
    });
}

#[test]
fn the_limit_holds_blocking_closures_even_when_all_could_run() {
    watchdog(|| {
        // Three closures wait at a barrier of three: they can only get past
        // it if all three run at once, which a limit of 3 allows...
        let pool = TaskPool::new(3).unwrap();
        let barrier = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                pool.submit_to_thread(move || barrier.wait().is_leader()).unwrap()
            })
            .collect();
        let leaders = handles.into_iter().map(|h| h.wait().unwrap()).filter(|l| *l).count();
        assert_eq!(leaders, 1);
        // ...and a fourth closure does not start while three hold permits.
        let gate = Gate::new();
        let (started_tx, started_rx) = signal();
        let held: Vec<_> = (0..3)
            .map(|_| {
                let (gate, started) = (gate.clone(), started_tx.clone());
                pool.submit_to_thread(move || {
                    started.send_blocking(()).unwrap();
                    let _ = gate.receiver().recv_blocking();
                })
                .unwrap()
            })
            .collect();
        for _ in 0..3 {
            started_rx.recv_blocking().unwrap();
        }
        let fourth = pool.submit_to_thread(|| "fourth").unwrap();
        assert!(!fourth.is_running());
        assert_eq!(pool.stats().queued, 1);
        gate.open();
        held.into_iter().for_each(|h| h.wait().unwrap());
        assert_eq!(fourth.wait().unwrap(), "fourth");
    });
}

#[test]
fn a_panicking_closure_reaches_the_waiter() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let err = executor
            .pool()
            .submit_to_thread(|| -> u8 { panic!("blocking boom") })
            .unwrap()
            .wait()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("blocking boom"));
        assert_eq!(executor.pool().submit_to_thread(|| 5).unwrap().wait().unwrap(), 5);
    });
}

#[test]
fn a_closure_cancelled_before_it_starts_never_runs() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let blocker = running(&pool, &gate, ());
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        let queued = pool.submit_to_thread(move || ran_tx.send(()).unwrap()).unwrap();
        assert!(queued.cancel());
        assert!(queued.wait().unwrap_err().is_cancelled());
        gate.open();
        blocker.wait().unwrap();
        pool.submit_to_thread(|| ()).unwrap().wait().unwrap();
        assert!(ran_rx.try_recv().is_err(), "the cancelled closure never ran");
    });
}

#[test]
fn a_cancelled_closure_keeps_its_permit_until_it_returns() {
    // The permit comes back on the blocking thread when the closure
    // returns; on a daemon that thread may not start the next task itself,
    // and must leave it to the daemon's driver.
    watchdog(|| {
        for (_kind, pool, _executor) in both_pool_kinds(1) {
            let gate = Gate::new();
            let (started_tx, started_rx) = signal();
            let release = gate.receiver();
            let slow = pool
                .submit_to_thread(move || {
                    started_tx.send_blocking(()).unwrap();
                    let _ = release.recv_blocking();
                })
                .unwrap();
            // Cancelled only once it runs: a thread cannot be interrupted.
            started_rx.recv_blocking().unwrap();
            assert!(slow.cancel());
            assert!(slow.wait().unwrap_err().is_cancelled());
            assert_next_task_waits_for_the_closure(&pool, &gate);
        }
    });
}

#[test]
fn a_timed_out_closure_keeps_its_permit_until_it_returns() {
    watchdog(|| {
        // The timer starts with the permit, before the blocking pool has
        // started the closure; a loaded machine can start it later than
        // the timeout. That attempt proves the other half of the contract
        // (cancelled unstarted, it never runs and its permit comes back)
        // and the next one gets a longer timeout.
        common::with_growing_window(|timeout| {
            let pool = TaskPool::new(1).unwrap();
            let gate = Gate::new();
            let (started_tx, started_rx) = signal();
            let release = gate.receiver();
            let slow = pool
                .build_task()
                .timeout(timeout)
                .submit_to_thread(move || {
                    started_tx.send_blocking(()).unwrap();
                    let _ = release.recv_blocking();
                })
                .unwrap();
            // The closure cannot return before the gate opens: the timer wins.
            assert!(slow.wait().unwrap_err().is_timeout());
            // The timeout dropped the closure's job: it either runs (and
            // says so) or is dropped unstarted (closing the channel).
            if started_rx.recv_blocking().is_err() {
                assert_eq!(pool.submit(async { "after" }).unwrap().wait().unwrap(), "after");
                return false;
            }
            assert_next_task_waits_for_the_closure(&pool, &gate);
            true
        });
    });
}

/// With the closure of a task that has already ended still blocked at
/// `gate`: a new task queues for the closure's permit, and starts once the
/// gate opens and the closure returns.
fn assert_next_task_waits_for_the_closure(pool: &TaskPool, gate: &Gate) {
    let next = pool.submit(async { "after" }).unwrap();
    // Checked the moment `submit` returns: with the permit still held,
    // the task had to queue (a free permit would have started it then).
    assert_eq!(pool.stats().queued, 1, "the next task waits for the closure's permit");
    assert!(!next.is_running() && !next.is_finished());
    gate.open();
    assert_eq!(next.wait().unwrap(), "after");
}

#[test]
fn blocking_tasks_never_count_more_running_than_the_limit() {
    // Reported while building the examples: the closure used to give its
    // permit back before the task was counted as ended, so the next one
    // could start and be counted while the first still was.
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let handles: Vec<_> = (0..500)
            .map(|_| {
                let (inner, seen) = (pool.clone(), Arc::clone(&seen));
                pool.submit_to_thread(move || {
                    seen.fetch_max(inner.stats().running, std::sync::atomic::Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "running, seen from inside a closure"
        );
        assert_eq!(pool.stats().peak_running, 1);
    });
}
