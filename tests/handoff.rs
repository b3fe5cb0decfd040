//! Starting queued tasks without a dispatcher: a task that ends hands its
//! token to the front of the queue, a submit that queues starts tasks while
//! tokens are free, and a daemon's starts made from other threads happen on
//! its own thread. Each test ends on a wait that a lost start would hang
//! (the watchdog turns that into a failure).

mod common;

use std::sync::{Arc, Barrier};

use common::{Gate, Probe, assert_all_permits_free, signal, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

/// The two pool kinds, so that each property is checked on both.
fn pools(limit: usize) -> Vec<(&'static str, TaskPool, Option<DaemonExecutor>)> {
    let executor = DaemonExecutor::new(limit).unwrap();
    vec![
        ("TaskPool", TaskPool::new(limit).unwrap(), None),
        ("DaemonExecutor", executor.pool().clone(), Some(executor)),
    ]
}

#[test]
fn a_submit_racing_the_last_task_end_is_never_stranded() {
    // The window: the running task finds the queue empty and gives its
    // token back while another thread queues. Either the submit sees the
    // token or the ending task sees the queued one; if both missed, the
    // second task would wait forever. A barrier lines the two up, two
    // thousand times per pool kind. This stresses the window rather than
    // forcing it (it is nanoseconds wide); the daemon test below forces the
    // give-back-then-look-again path, and fails without it.
    watchdog(|| {
        for (kind, pool, _executor) in pools(1) {
            for round in 0..2_000 {
                let barrier = Arc::new(Barrier::new(2));
                let ending = {
                    let barrier = Arc::clone(&barrier);
                    pool.submit(async move {
                        barrier.wait();
                        round
                    })
                    .unwrap()
                };
                barrier.wait();
                let next = pool.submit(async move { round + 1 }).unwrap();
                assert_eq!(next.wait().unwrap(), round + 1, "{kind}, round {round}");
                assert_eq!(ending.wait().unwrap(), round);
            }
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn an_ending_task_starts_the_front_of_the_queue_under_its_own_token() {
    // Every task but the first few queues; each end must start exactly one
    // more, and never more than the limit at once.
    watchdog(|| {
        for (kind, pool, _executor) in pools(3) {
            let probe = Probe::default();
            let handles: Vec<_> = (0..2_000_u32)
                .map(|i| {
                    let probe = probe.clone();
                    pool.submit(async move {
                        let _inside = probe.enter();
                        futures_timer::Delay::new(std::time::Duration::from_micros(u64::from(i % 7))).await;
                        i
                    })
                    .unwrap()
                })
                .collect();
            for (i, h) in (0..).zip(handles) {
                assert_eq!(h.wait().unwrap(), i, "{kind}");
            }
            assert!(
                probe.max() <= 3,
                "{kind}: {} ran at once under a limit of 3",
                probe.max()
            );
            assert_eq!(probe.entered(), 2_000, "{kind}");
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn a_daemon_starts_the_next_task_when_a_cancelled_closure_returns_on_its_thread() {
    // The cancelled closure's permit comes back on the blocking thread, not
    // the daemon's: the queued task must still start, on the daemon thread.
    watchdog(|| {
        for _ in 0..20 {
            let executor = DaemonExecutor::new(1).unwrap();
            let pool = executor.pool();
            let gate = Gate::new();
            let (started_tx, started_rx) = signal();
            let release = gate.receiver();
            let slow = pool
                .submit_to_thread(move || {
                    started_tx.send_blocking(()).unwrap();
                    let _ = release.recv_blocking();
                })
                .unwrap();
            started_rx.recv_blocking().unwrap();
            assert!(slow.cancel());
            assert!(slow.wait().unwrap_err().is_cancelled());
            let next = pool
                .submit(async { std::thread::current().name().map(str::to_owned) })
                .unwrap();
            assert_eq!(pool.stats().queued, 1, "the next task waits for the closure's permit");
            gate.open();
            assert_eq!(next.wait().unwrap().as_deref(), Some(executor.thread_name()));
        }
    });
}

#[test]
fn growing_a_daemon_from_a_plain_thread_starts_its_queued_tasks() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let pool = executor.pool();
        let gate = Gate::new();
        let (started_tx, started_rx) = signal();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (gate, started) = (gate.clone(), started_tx.clone());
                pool.submit(async move {
                    started.send(()).await.unwrap();
                    gate.wait().await;
                })
                .unwrap()
            })
            .collect();
        started_rx.recv_blocking().unwrap();
        assert_eq!(pool.stats().queued, 3);
        pool.set_limit(4).unwrap();
        // The three queued tasks start without any task ending first.
        for _ in 0..3 {
            started_rx.recv_blocking().unwrap();
        }
        assert_eq!(pool.stats().running, 4);
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
    });
}
