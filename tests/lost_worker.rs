//! A worker the runtime fails to spawn once is replaced: on a runtime that
//! still runs, no task is cancelled for it, none waits behind a worker
//! that is blocked, and the tasks after it are not touched. (A runtime that
//! keeps failing, or has shut down, ends the tasks as cancelled:
//! `panicking_logger.rs`, `start_window.rs`, and `runtimes.rs` for a tokio
//! runtime that shut down.) async-std logs a trace line on every spawn; a
//! logger that panics on it once makes that one spawn fail.
#![cfg(feature = "async-std")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

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

/// The tests here share the logger and its flag: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Installs the logger (once) and takes this test's turn; `None` (skip)
/// where async-std has one executor thread, so a pool one worker.
fn setup() -> Option<MutexGuard<'static, ()>> {
    let threads = std::env::var("ASYNC_STD_THREAD_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    if threads < 2 {
        eprintln!("skipped: async-std runs {threads} executor thread here, so a pool has one worker");
        return None;
    }
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        common::quiet_planned_panics();
        log::set_logger(&FailsOneSpawn).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    Some(ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

#[test]
fn a_task_whose_worker_failed_to_spawn_is_not_cancelled_nor_are_the_tasks_after_it() {
    let Some(_turn) = setup() else { return };
    watchdog(|| {
        for _ in 0..20 {
            // Built first: the driver's own spawn is behind us.
            let pool = TaskPool::builder().runtime(Runtime::AsyncStd).limit(1).build().unwrap();
            FAIL_NEXT_SPAWN.store(true, Ordering::SeqCst);
            let handles: Vec<_> = (0..200).map(|i| pool.submit(async move { i }).unwrap()).collect();
            assert!(
                !FAIL_NEXT_SPAWN.load(Ordering::SeqCst),
                "the first worker's spawn was logged, and failed"
            );
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.wait().unwrap(), i);
            }
        }
    });
}

#[test]
fn a_task_whose_worker_failed_to_spawn_does_not_wait_behind_a_blocked_worker() {
    let Some(_turn) = setup() else { return };
    watchdog(|| {
        for _ in 0..20 {
            let pool = TaskPool::builder().runtime(Runtime::AsyncStd).limit(4).build().unwrap();
            let (started_tx, started_rx) = std::sync::mpsc::channel();
            let (ran_tx, ran_rx) = std::sync::mpsc::channel::<()>();
            // Worker 0 runs `blocker`, which holds its thread until `next` ran.
            let blocker = pool
                .submit(async move {
                    started_tx.send(()).unwrap();
                    ran_rx.recv().unwrap();
                })
                .unwrap();
            started_rx.recv().unwrap();
            FAIL_NEXT_SPAWN.store(true, Ordering::SeqCst);
            let next = pool.submit(async move { ran_tx.send(()).unwrap() }).unwrap();
            assert!(
                !FAIL_NEXT_SPAWN.load(Ordering::SeqCst),
                "the spawn was logged, and failed"
            );
            // Left to worker 0 alone, `next` would wait for ever.
            next.wait().unwrap();
            blocker.wait().unwrap();
        }
    });
}

#[test]
fn a_failed_worker_spawn_leaves_its_task_to_the_worker_still_alive() {
    let Some(_turn) = setup() else { return };
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
