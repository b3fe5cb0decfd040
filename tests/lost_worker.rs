//! A worker the runtime fails to spawn while another worker of the pool is
//! alive leaves its tasks to that worker: none is cancelled on a runtime
//! that still runs. (With no worker left, they end as cancelled:
//! `panicking_logger.rs`, `start_window.rs`, and `runtimes.rs` for a tokio
//! runtime that shut down.) async-std logs a trace line on every spawn; a
//! logger that panics on it once makes that one spawn fail.
#![cfg(feature = "async-std")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::watchdog;
use taskpool::{Runtime, TaskPool};

/// Set to make the next spawn async-std logs fail.
static FAIL_NEXT_SPAWN: AtomicBool = AtomicBool::new(false);

struct FailsOneSpawn;

impl log::Log for FailsOneSpawn {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string() == "spawn" && FAIL_NEXT_SPAWN.swap(false, Ordering::SeqCst) {
            panic!("planned panic: the logger fails this spawn");
        }
    }
    fn flush(&self) {}
}

#[test]
fn a_failed_worker_spawn_leaves_its_task_to_the_worker_still_alive() {
    let threads = std::env::var("ASYNC_STD_THREAD_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    if threads < 2 {
        eprintln!("skipped: async-std runs {threads} executor thread here, so a pool has one worker");
        return;
    }
    common::quiet_planned_panics();
    log::set_logger(&FailsOneSpawn).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    watchdog(|| {
        for _ in 0..20 {
            // A fresh pool has no worker alive: `busy` starts exactly one.
            let pool = TaskPool::builder().runtime(Runtime::AsyncStd).limit(4).build().unwrap();
            // Worker 0 runs `busy`, which holds its thread until released.
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
            let busy = pool
                .submit(async move {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .unwrap();
            started_rx.recv().unwrap();
            // Queuing `next` starts a second worker, whose spawn fails.
            FAIL_NEXT_SPAWN.store(true, Ordering::SeqCst);
            let next = pool.submit(async { 42 }).unwrap();
            assert!(
                !FAIL_NEXT_SPAWN.load(Ordering::SeqCst),
                "the spawn was logged, and failed"
            );
            release_tx.send(()).unwrap();
            busy.wait().unwrap();
            // Worker 0, alive all along, runs it: it is not cancelled.
            assert_eq!(next.wait().unwrap(), 42);
        }
    });
}
