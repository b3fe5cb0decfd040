//! `TaskHandle`: async and blocking waits, timeouts that hand the handle
//! back, state queries, cancel semantics, detach on drop.

mod common;

use std::time::{Duration, Instant};

use common::{Gate, running, signal, watchdog};
use taskpool::{DaemonExecutor, TaskHandle, TaskPool};

#[test]
fn handle_is_a_future_and_has_blocking_waits() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let a = pool.submit(async { 1 }).unwrap();
        let b = pool.submit(async { 2 }).unwrap();
        let mut c = pool.submit(async { 3 }).unwrap();
        // Awaited from another task of the pool.
        let sum = pool.submit(async move { a.await.unwrap() + b.await.unwrap() }).unwrap();
        assert_eq!(sum.wait().unwrap(), 3);
        let deadline = Instant::now() + Duration::from_secs(30);
        assert_eq!(c.wait_deadline(deadline).unwrap().unwrap(), 3);
    });
}

#[test]
fn wait_timeout_borrows_the_handle_so_it_can_wait_again() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let mut handle = running(&pool, &gate, 7);
        let mut timeouts = 0;
        let outcome = loop {
            match handle.wait_timeout(Duration::from_millis(1)) {
                Ok(outcome) => break outcome,
                Err(elapsed) => {
                    assert_eq!(
                        elapsed.to_string(),
                        format!("timed out waiting for task {}", handle.id())
                    );
                    timeouts += 1;
                    // The seed's loop: log, then try again. Open the gate
                    // after a few rounds so the task can finish.
                    if timeouts == 3 {
                        gate.open();
                    }
                }
            }
        };
        assert_eq!(outcome.unwrap(), 7);
        assert!(timeouts >= 3);
    });
}

#[test]
fn zero_timeout_is_a_non_blocking_check_and_max_waits_forever() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let mut handle = running(&pool, &gate, 7);
        handle.wait_timeout(Duration::ZERO).unwrap_err();
        let past = Instant::now() - Duration::from_millis(1);
        handle.wait_deadline(past).unwrap_err();
        gate.open();
        // Duration::MAX does not overflow: it means forever.
        assert_eq!(handle.wait_timeout(Duration::MAX).unwrap().unwrap(), 7);
    });
}

#[test]
fn is_running_and_is_finished_follow_the_task() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let running = running(&pool, &gate, 7);
        let queued = pool.submit(async { 0 }).unwrap();
        assert!(running.is_running() && !running.is_finished());
        assert!(!queued.is_running() && !queued.is_finished());
        gate.open();
        assert_eq!(running.wait().unwrap(), 7);
        assert_eq!(queued.wait().unwrap(), 0);
    });
}

#[test]
fn cancel_of_a_queued_task_means_it_never_starts() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let blocker = running(&pool, &gate, 7);
        let (ran_tx, ran_rx) = signal();
        let queued = pool.submit(async move { ran_tx.send(()).await.unwrap() }).unwrap();
        assert!(queued.cancel());
        // Ended at once, before any permit freed up.
        assert!(queued.is_finished());
        assert!(queued.wait().unwrap_err().is_cancelled());
        gate.open();
        blocker.wait().unwrap();
        // Everything after it ran; the cancelled one never did.
        pool.submit(async {}).unwrap().wait().unwrap();
        assert!(ran_rx.try_recv().is_err(), "a cancelled queued task ran");
        assert_eq!(pool.stats().cancelled, 1);
    });
}

#[test]
fn cancel_of_a_running_task_drops_it_at_its_next_await() {
    struct Dropped(Option<async_channel::Sender<()>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            let _ = self.0.take().unwrap().try_send(());
        }
    }
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let (started_tx, started_rx) = signal();
        let (dropped_tx, dropped_rx) = signal();
        let handle = pool
            .submit(async move {
                let _guard = Dropped(Some(dropped_tx));
                started_tx.send(()).await.unwrap();
                std::future::pending::<()>().await
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        assert!(handle.is_running());
        assert!(handle.cancel());
        assert!(handle.cancel(), "cancel is idempotent");
        assert!(handle.wait().unwrap_err().is_cancelled());
        // The future was dropped before the outcome was published.
        dropped_rx.try_recv().expect("the cancelled future was dropped");
    });
}

#[test]
fn cancel_after_a_value_returns_false_and_keeps_the_value() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let (done_tx, done_rx) = signal();
        let handle = pool.submit(async { 5 }).unwrap();
        // A second task observes the first's completion for us.
        let probe = pool.submit(async move { done_tx.send(()).await.unwrap() }).unwrap();
        done_rx.recv_blocking().unwrap();
        probe.wait().unwrap();
        // Limit 1 and FIFO: the first task ended before the second started.
        assert!(handle.is_finished());
        assert!(!handle.cancel());
        assert_eq!(handle.wait().unwrap(), 5);
    });
}

#[test]
fn dropping_a_handle_detaches_the_task_it_keeps_running() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let (done_tx, done_rx) = signal();
        let g = gate.clone();
        let handle = pool
            .submit(async move {
                g.wait().await;
                done_tx.send(()).await.unwrap();
            })
            .unwrap();
        drop(handle);
        gate.open();
        done_rx.recv_blocking().expect("a detached task runs to the end");
    });
}

#[test]
fn ids_are_unique_and_names_are_kept() {
    let pool = TaskPool::new(1).unwrap();
    let a = pool.build_task().name("alpha").submit(async {}).unwrap();
    let b = pool.submit(async {}).unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(a.name(), Some("alpha"));
    assert_eq!(b.name(), None);
    let debug = format!("{a:?}");
    assert!(
        debug.contains("alpha") && debug.contains(&a.id().to_string()),
        "{debug}"
    );
}

#[test]
fn blocking_wait_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        let executor = std::sync::Arc::new(DaemonExecutor::new(2).unwrap());
        let inner = std::sync::Arc::clone(&executor);
        let outer = executor
            .pool()
            .submit(async move {
                let child = inner.pool().submit(async { 1 }).unwrap();
                child.wait() // blocking, on the daemon thread
            })
            .unwrap();
        let err = outer.wait().unwrap_err();
        assert!(err.is_panic());
        assert!(err.panic_message().unwrap().contains("would deadlock"), "{err}");
        // The executor lives on.
        assert_eq!(executor.pool().submit(async { 2 }).unwrap().wait().unwrap(), 2);
    });
}

#[test]
fn a_zero_wait_on_the_daemon_thread_is_allowed() {
    watchdog(|| {
        let executor = std::sync::Arc::new(DaemonExecutor::new(2).unwrap());
        let inner = std::sync::Arc::clone(&executor);
        let outer = executor
            .pool()
            .submit(async move {
                let mut child = inner.pool().submit(std::future::pending::<()>()).unwrap();
                child.wait_timeout(Duration::ZERO).unwrap_err();
                child.cancel()
            })
            .unwrap();
        assert!(outer.wait().unwrap());
    });
}

#[test]
fn pool_executor_and_handles_are_send_sync_and_the_pool_is_cheap_to_clone() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TaskPool>();
    send_sync::<DaemonExecutor>();
    send_sync::<TaskHandle<String>>();
    send_sync::<taskpool::TaskError>();
    send_sync::<taskpool::SubmitError<std::future::Ready<u8>>>();
    send_sync::<taskpool::WaitTimeoutError>();
    send_sync::<taskpool::CancelHandle>();
    send_sync::<taskpool::Opaque<u8>>();
    // A clone is one pointer: no limiter or queue is copied.
    assert_eq!(std::mem::size_of::<TaskPool>(), std::mem::size_of::<usize>());
    let pool = TaskPool::new(1).unwrap();
    let clone = pool.clone();
    clone.set_limit(4).unwrap();
    assert_eq!(pool.limit(), 4, "clones share one limiter");
}

#[test]
fn submit_works_from_plain_threads_and_from_inside_tasks() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let from_threads: Vec<_> = (0..4)
            .map(|i| {
                let pool = pool.clone();
                std::thread::spawn(move || pool.submit(async move { i }).unwrap().wait().unwrap())
            })
            .collect();
        let sum: i32 = from_threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum, 6);
        let inner = pool.clone();
        let nested = pool
            .submit(async move { inner.submit(async { 10 }).unwrap().await.unwrap() })
            .unwrap();
        assert_eq!(nested.wait().unwrap(), 10);
    });
}

#[test]
fn a_cancel_handle_cancels_from_another_thread_while_this_one_waits() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let (started_tx, started_rx) = signal();
        let mut handle = pool
            .submit(async move {
                started_tx.send(()).await.unwrap();
                std::future::pending::<u8>().await
            })
            .unwrap();
        let canceller = handle.cancel_handle();
        assert_eq!(canceller.id(), handle.id());
        let cancelling = std::thread::spawn(move || {
            started_rx.recv_blocking().unwrap();
            canceller.cancel()
        });
        // The wait borrows `handle` while the other thread holds only the
        // cancel handle; it ends with the cancel, long before its timeout.
        let outcome = handle
            .wait_timeout(Duration::from_secs(3600))
            .expect("the cancel ends the wait");
        assert!(outcome.unwrap_err().is_cancelled());
        assert!(cancelling.join().unwrap(), "the cancel handle reports it cancelled");
    });
}

#[test]
fn a_cancel_handle_matches_the_handle_after_the_task_ended() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let handle = pool.submit(async { 5 }).unwrap();
        let canceller = handle.cancel_handle();
        let copy = canceller.clone();
        assert_eq!(handle.wait().unwrap(), 5);
        assert!(canceller.is_finished());
        assert!(!copy.cancel(), "a task that ended with a value is not cancelled");
        assert!(format!("{canceller:?}").contains("finished: true"));
        // Dropping every cancel handle does nothing to a running task.
        let gate = Gate::new();
        let running = running(&pool, &gate, 6);
        drop(running.cancel_handle());
        gate.open();
        assert_eq!(running.wait().unwrap(), 6);
    });
}

#[test]
fn an_elapsed_timed_wait_leaves_the_handle_usable_for_await_and_cancel() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let mut handle = running(&pool, &gate, 8);
        let elapsed = handle.wait_timeout(Duration::ZERO).unwrap_err();
        assert_eq!((elapsed.unfinished(), elapsed.total()), (1, 1));
        gate.open();
        assert_eq!(async_std::task::block_on(&mut handle).unwrap(), 8);
        let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.wait_timeout(Duration::ZERO)));
        let message = taken.unwrap_err();
        let text = message
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| message.downcast_ref::<&str>().copied());
        assert!(
            text.is_some_and(|m| m.contains("polled after its outcome was taken")),
            "a wait after the outcome was taken says so: {text:?}"
        );
    });
}
