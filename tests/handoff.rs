//! Starting queued tasks without a dispatcher: a task that ends hands its
//! token to the front of the queue, a submit that queues starts tasks while
//! tokens are free, and a daemon's starts made from other threads happen on
//! its own thread. Each test ends on a wait that a lost start would hang
//! (the watchdog turns that into a failure). A daemon's starts made from
//! other threads are tested where they happen: a permit coming back on a
//! blocking thread (`blocking.rs`), a resize from a plain thread
//! (`resize.rs`).

mod common;

use std::sync::{Arc, Barrier};

use common::{Probe, assert_all_permits_free, both_pool_kinds, watchdog};

#[test]
fn a_submit_racing_the_last_task_end_is_never_stranded() {
    // The window: the running task finds the queue empty and gives its
    // token back while another thread queues. Either the submit sees the
    // token or the ending task sees the queued one; if both missed, the
    // second task would wait forever. A barrier lines the two up, two
    // thousand times per pool kind. This stresses the window rather than
    // forcing it (it is nanoseconds wide); the daemon case of
    // `blocking.rs`'s cancelled-closure test forces the
    // give-back-then-look-again path, and fails without it.
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
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
fn every_queued_task_starts_once_and_under_the_limit_as_tasks_end() {
    // Every task but the first few queues; each end must start exactly one
    // more, and never more than the limit at once.
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(3) {
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
