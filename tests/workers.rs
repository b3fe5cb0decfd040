//! A `TaskPool`'s tasks run on the pool's own workers, one per executor
//! thread at most: they still run in parallel on several threads, and a
//! task that blocks its thread does not hold up the tasks it woke. Each
//! test blocks threads on purpose, so that a wrong placement hangs (the
//! watchdog turns that into a failure) instead of passing by luck.

mod common;

use std::sync::{Arc, Barrier, Mutex};

use common::{Gate, watchdog};
use taskpool::TaskPool;

/// The tests below each block executor threads; two of them at once could
/// block every thread the executor has, so they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Whether the pools' executor has two threads or more here; with one, no
/// two tasks can block at once, and the tests below would hang by design.
/// async-std's: `ASYNC_STD_THREAD_COUNT` or one per core; the tokio runtime
/// the crate builds: one per core; smol's global executor:
/// `SMOL_THREADS`, one by default.
fn has_two_executor_threads() -> bool {
    let setting = |name: &str| std::env::var(name).ok().and_then(|count| count.parse::<usize>().ok());
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let runtime = taskpool::Runtime::preferred();
    let threads = match runtime {
        taskpool::Runtime::AsyncStd => setting("ASYNC_STD_THREAD_COUNT").unwrap_or(cores),
        taskpool::Runtime::Smol => setting("SMOL_THREADS").unwrap_or(1),
        _ => cores,
    };
    if threads < 2 {
        eprintln!("skipped: {runtime:?} runs {threads} executor thread here");
    }
    threads >= 2
}

/// Runs `round` 20 times under a watchdog, one test at a time, where
/// async-std has the two threads it needs.
fn blocking_executor_threads(round: fn()) {
    if !has_two_executor_threads() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    watchdog(move || (0..20).for_each(|_| round()));
}

#[test]
fn two_tasks_run_at_the_same_time_on_two_threads() {
    blocking_executor_threads(|| {
        // Each task blocks its thread until the other one is running
        // too: both must be on a thread at once.
        let pool = TaskPool::new(2).unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                pool.submit(async move {
                    barrier.wait();
                    std::thread::current().id()
                })
                .unwrap()
            })
            .collect();
        let threads: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_ne!(threads[0], threads[1]);
    });
}

#[test]
fn a_task_that_blocks_its_thread_does_not_hold_up_the_task_it_woke() {
    blocking_executor_threads(|| {
        // `waker` wakes `woken` from its own thread, then blocks that
        // thread until `woken` has run: `woken` must run elsewhere.
        let pool = TaskPool::new(2).unwrap();
        let (wake_tx, wake_rx) = async_channel::bounded::<()>(1);
        let (ran_tx, ran_rx) = async_channel::bounded::<()>(1);
        let (listening_tx, listening_rx) = async_channel::bounded::<()>(1);
        let woken = pool
            .submit(async move {
                listening_tx.send(()).await.unwrap();
                wake_rx.recv().await.unwrap();
                ran_tx.send(()).await.unwrap();
            })
            .unwrap();
        listening_rx.recv_blocking().unwrap();
        let waker = pool
            .submit(async move {
                wake_tx.send(()).await.unwrap();
                ran_rx.recv_blocking().unwrap();
            })
            .unwrap();
        waker.wait().unwrap();
        woken.wait().unwrap();
    });
}

/// A value whose `Drop` waits for another task's outcome.
struct JoinsOnDrop(Option<taskpool::TaskHandle<u32>>);

impl Drop for JoinsOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            assert_eq!(handle.wait().unwrap(), 2);
        }
    }
}

impl taskpool::Fallible for JoinsOnDrop {
    type Success = JoinsOnDrop;

    fn into_success(self) -> Result<JoinsOnDrop, JoinsOnDrop> {
        Ok(self)
    }
}

#[test]
fn a_value_nobody_takes_may_wait_in_its_drop_for_the_task_queued_behind_it() {
    // Found by review: the value used to be dropped while its task still
    // held the only permit, so this deadlocked. The `Drop` blocks the
    // worker's thread: another executor thread runs the next task.
    blocking_executor_threads(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let (tx, rx) = async_channel::bounded::<taskpool::TaskHandle<u32>>(1);
        let task_gate = gate.clone();
        let first = pool
            .submit(async move {
                task_gate.wait().await;
                JoinsOnDrop(Some(rx.recv().await.unwrap()))
            })
            .unwrap();
        let second = pool.submit(async { 2_u32 }).unwrap();
        tx.send_blocking(second).unwrap();
        drop(first);
        gate.open();
        pool.shutdown(taskpool::ShutdownMode::Drain).wait();
        assert_eq!(pool.stats().completed, 2);
    });
}
