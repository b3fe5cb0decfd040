//! FIFO start: tasks from one submitter start in submission order.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Gate, running, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

#[test]
fn tasks_from_one_submitter_start_in_submission_order_on_a_daemon() {
    watchdog(|| {
        for limit in [1, 4] {
            let executor = DaemonExecutor::new(limit).unwrap();
            let starts = Arc::new(Mutex::new(Vec::new()));
            let handles: Vec<_> = (0..200)
                .map(|i| {
                    let starts = Arc::clone(&starts);
                    executor
                        .pool()
                        .submit(async move {
                            starts.lock().unwrap().push(i);
                            futures_timer::Delay::new(Duration::from_micros(10)).await;
                        })
                        .unwrap()
                })
                .collect();
            handles.into_iter().for_each(|h| h.wait().unwrap());
            assert_eq!(*starts.lock().unwrap(), (0..200).collect::<Vec<_>>(), "limit {limit}");
        }
    });
}

#[test]
fn a_blocked_pool_starts_its_queue_in_order() {
    watchdog(|| {
        // With the only permit held, everything queues; releasing it must
        // start the queue front to back.
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let blocker = running(&pool, &gate, ());
        let order = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let order = Arc::clone(&order);
                pool.submit(async move { order.lock().unwrap().push(i) }).unwrap()
            })
            .collect();
        assert_eq!(pool.stats().queued, 100);
        gate.open();
        blocker.wait().unwrap();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert_eq!(*order.lock().unwrap(), (0..100).collect::<Vec<_>>());
    });
}
