//! A task is finished exactly when its pool counts it as ended: whoever sees
//! the count (stats, an idle or stopped pool) also sees the handle finished.
//! The window this closes was a few instructions wide (the count came before
//! the outcome was marked done), so each test runs many rounds.

mod common;

use common::{spin_until, watchdog};
use taskpool::{ShutdownMode, TaskPool};

const ROUNDS: usize = 1_000;

#[test]
fn a_task_counted_as_ended_is_finished() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        for round in 0..ROUNDS as u64 {
            let handle = pool.submit(async move { round }).unwrap();
            spin_until(|| pool.stats().completed == round + 1);
            assert!(handle.is_finished(), "round {round}: counted but not finished");
            assert_eq!(handle.wait().unwrap(), round);
        }
    });
}

#[test]
fn after_a_shutdown_every_handle_is_finished() {
    watchdog(|| {
        for round in 0..ROUNDS / 4 {
            let pool = TaskPool::new(2).unwrap();
            let handles: Vec<_> = (0..4).map(|i| pool.submit(async move { i }).unwrap()).collect();
            pool.shutdown(ShutdownMode::Drain).wait();
            for handle in &handles {
                assert!(
                    handle.is_finished(),
                    "round {round}: the pool stopped before a task was finished"
                );
            }
        }
    });
}
