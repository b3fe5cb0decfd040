//! Handles dropped unawaited leak nothing: once their tasks have ended, the
//! process's live memory is back to where it was (measured with a counting
//! global allocator).

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::time::{Duration, Instant};

use common::watchdog;
use counting_alloc::{Counting, live_allocations, live_bytes};
use taskpool::{DaemonExecutor, TaskPool};

#[global_allocator]
static ALLOC: Counting = Counting;

const TASKS: u64 = 20_000;

/// Waits (bounded) until `done()`; the tasks are detached, so their stats
/// are the only sign that they ended.
fn until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "the detached tasks did not all end");
        std::thread::yield_now();
    }
}

/// Runs a round of `TASKS` detached tasks (every third panics, every fifth
/// sleeps, every seventh is cancelled) and returns the live memory after.
fn round(pool: &TaskPool, round: u64) -> (isize, isize) {
    let before = pool.stats().finished();
    for i in 0..TASKS {
        let handle = pool
            .build_task()
            .submit(async move {
                if i % 5 == 0 {
                    futures_timer::Delay::new(Duration::from_micros(20)).await;
                }
                assert!(i % 3 != 0, "planned panic");
                Ok::<_, ()>(vec![0_u8; 64])
            })
            .unwrap();
        if i % 7 == 0 {
            handle.cancel();
        }
        drop(handle); // unawaited
    }
    until(|| pool.stats().finished() == before + TASKS);
    let _ = round;
    (live_bytes(), live_allocations())
}

fn assert_no_growth(pool: &TaskPool) {
    // Rounds 1 and 2 warm up whatever is allocated once (executor threads,
    // timer, queue blocks); later rounds must come back to the same level.
    round(pool, 0);
    let (bytes, allocations) = round(pool, 1);
    for r in 2..5 {
        let (b, a) = round(pool, r);
        assert!(
            b - bytes < 64 * 1024,
            "round {r}: {} bytes more live than after round 1",
            b - bytes
        );
        assert!(
            a - allocations < 256,
            "round {r}: {} more live allocations",
            a - allocations
        );
    }
    let s = pool.stats();
    assert_eq!((s.queued, s.running), (0, 0));
    assert_eq!(s.submitted, 5 * TASKS);
}

/// Silences the test's 100 000 planned panics; any other panic prints.
fn quiet_planned_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"planned panic") {
            default(info);
        }
    }));
}

#[test]
fn dropped_unawaited_handles_leak_nothing() {
    quiet_planned_panics();
    watchdog(|| {
        let executor = DaemonExecutor::new(8).unwrap();
        assert_no_growth(executor.pool());
        drop(executor);
        let pool = TaskPool::new(8).unwrap();
        assert_no_growth(&pool);
    });
}
