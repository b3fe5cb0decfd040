//! Shutdown: drain, cancel-pending and deadline modes, idempotence, races
//! with submitters, drop joins the thread, and shutdown from inside a task.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Gate, running, watch_thread_exit, watchdog};
use taskpool::{DaemonExecutor, ShutdownMode, TaskPool};

#[test]
fn drop_drains_everything_and_joins_the_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        let exited = watch_thread_exit(&executor);
        let handles: Vec<_> = (0..20)
            .map(|i| {
                executor
                    .pool()
                    .submit(async move {
                        futures_timer::Delay::new(Duration::from_micros(100)).await;
                        i
                    })
                    .unwrap()
            })
            .collect();
        drop(executor);
        exited
            .try_recv()
            .expect("the daemon thread has exited when drop returns");
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.wait().unwrap(), i);
        }
    });
}

#[test]
fn cancel_pending_ends_queued_tasks_and_lets_running_ones_finish() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(1).unwrap());
        let gate = Gate::new();
        let running = running(executor.pool(), &gate, "finished");
        let queued: Vec<_> = (0..5)
            .map(|_| executor.pool().submit(async { "ran" }).unwrap())
            .collect();
        let stopper = {
            let executor = Arc::clone(&executor);
            std::thread::spawn(move || executor.shutdown(ShutdownMode::CancelPending).wait())
        };
        // Queued tasks end with the shutdown outcome while the running one
        // still holds the thread.
        for h in queued {
            let err = h.wait().unwrap_err();
            assert!(err.is_shutdown(), "{err}");
            assert_eq!(
                err.to_string(),
                format!("task {} never ran: the pool shut down", err.id())
            );
        }
        gate.open();
        stopper.join().unwrap();
        assert_eq!(running.wait().unwrap(), "finished");
        let stats = executor.pool().stats();
        assert_eq!((stats.shut_down, stats.completed), (5, 1));
        assert_eq!(stats.submitted, stats.queued + stats.running + stats.finished());
    });
}

#[test]
fn a_deadline_cancels_running_tasks_and_ends_queued_ones() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let exited = watch_thread_exit(&executor);
        let never = Gate::new();
        let running = running(executor.pool(), &never, "finished");
        let queued = executor.pool().submit(async { "ran" }).unwrap();
        executor
            .shutdown(ShutdownMode::Deadline(Duration::from_millis(10)))
            .wait();
        exited.try_recv().expect("joined");
        assert!(running.wait().unwrap_err().is_cancelled());
        assert!(queued.wait().unwrap_err().is_shutdown());
    });
}

#[test]
fn a_deadline_lets_tasks_that_finish_in_time_finish() {
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        let quick: Vec<_> = (0..4)
            .map(|i| executor.pool().submit(async move { i }).unwrap())
            .collect();
        executor
            .shutdown(ShutdownMode::Deadline(Duration::from_secs(30)))
            .wait();
        for (i, h) in quick.into_iter().enumerate() {
            assert_eq!(h.wait().unwrap(), i);
        }
        // A deadline too large to represent is a plain drain.
        let executor = DaemonExecutor::new(1).unwrap();
        let h = executor.pool().submit(async { 1 }).unwrap();
        executor.shutdown(ShutdownMode::Deadline(Duration::MAX)).wait();
        assert_eq!(h.wait().unwrap(), 1);
    });
}

#[test]
fn shutdown_is_idempotent_and_can_only_get_stricter() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(1).unwrap());
        let gate = Gate::new();
        let running = running(executor.pool(), &gate, "finished");
        let queued = executor.pool().submit(async { "ran" }).unwrap();
        let drainer = {
            let executor = Arc::clone(&executor);
            std::thread::spawn(move || executor.shutdown(ShutdownMode::Drain).wait())
        };
        // A stricter request ends what is still queued.
        let canceller = {
            let executor = Arc::clone(&executor);
            std::thread::spawn(move || executor.shutdown(ShutdownMode::CancelPending).wait())
        };
        assert!(queued.wait().unwrap_err().is_shutdown());
        gate.open();
        drainer.join().unwrap();
        canceller.join().unwrap();
        assert_eq!(running.wait().unwrap(), "finished");
        // Again, after it stopped: returns at once.
        executor.shutdown(ShutdownMode::Drain).wait();
        executor.shutdown(ShutdownMode::Deadline(Duration::ZERO)).wait();
        assert!(executor.pool().is_closed());
    });
}

#[test]
fn submitting_after_shutdown_hands_the_future_back() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        executor.shutdown(ShutdownMode::Drain).wait();
        let err = executor.pool().submit(async { 11 }).unwrap_err();
        assert!(err.is_closed());
        assert_eq!(err.to_string(), "cannot submit: the pool is closed");
        let other = TaskPool::new(1).unwrap();
        assert_eq!(other.submit(err.into_inner()).unwrap().wait().unwrap(), 11);
        assert!(executor.pool().try_submit(async {}).unwrap_err().is_closed());
        assert!(executor.pool().submit_to_thread(|| 1).unwrap_err().is_closed());
    });
}

#[test]
fn shutdown_racing_with_submits_from_many_threads_loses_nothing() {
    watchdog(|| {
        for mode in [ShutdownMode::Drain, ShutdownMode::CancelPending] {
            let executor = Arc::new(DaemonExecutor::new(2).unwrap());
            let submitters: Vec<_> = (0..4)
                .map(|t| {
                    let executor = Arc::clone(&executor);
                    std::thread::spawn(move || {
                        let mut accepted = Vec::new();
                        for i in 0.. {
                            let id = t * 1_000_000 + i;
                            match executor.pool().submit(async move { id }) {
                                Ok(h) => accepted.push((id, h)),
                                Err(e) => {
                                    // The very future comes back: run it to check.
                                    let back = e.into_inner();
                                    let pool = TaskPool::new(1).unwrap();
                                    assert_eq!(pool.submit(back).unwrap().wait().unwrap(), id);
                                    return accepted;
                                }
                            }
                        }
                        unreachable!()
                    })
                })
                .collect();
            executor.shutdown(mode).wait();
            for s in submitters {
                for (id, h) in s.join().unwrap() {
                    match h.wait() {
                        Ok(v) => assert_eq!(v, id),
                        Err(e) => assert!(e.is_shutdown() && mode == ShutdownMode::CancelPending, "{e}"),
                    }
                }
            }
            let stats = executor.pool().stats();
            assert_eq!(stats.submitted, stats.completed + stats.shut_down);
        }
    });
}

#[test]
fn shutdown_from_inside_a_task_returns_without_waiting() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(2).unwrap());
        let exited = watch_thread_exit(&executor);
        let inner = Arc::clone(&executor);
        let queued_after = Gate::new();
        let g = queued_after.clone();
        let stopper = executor
            .pool()
            .submit(async move {
                g.wait().await;
                // A task cannot wait for itself: the wait returns at once.
                inner.shutdown(ShutdownMode::Drain).wait();
                "returned"
            })
            .unwrap();
        let other = executor.pool().submit(async { 5 }).unwrap();
        queued_after.open();
        assert_eq!(stopper.wait().unwrap(), "returned");
        assert_eq!(other.wait().unwrap(), 5);
        assert!(executor.pool().submit(async {}).unwrap_err().is_closed());
        drop(executor); // not the last owner? the task's clone is gone by now
        exited.recv().expect("the thread finishes the shutdown and exits");
    });
}

#[test]
fn a_daemon_shutdown_joins_its_thread_whether_waited_or_awaited() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let exited = watch_thread_exit(&executor);
        let handle = executor.pool().submit(async { 1 }).unwrap();
        let shutdown = executor.shutdown(ShutdownMode::Drain);
        shutdown.wait();
        exited
            .try_recv()
            .expect("`wait` returns only once the thread has exited");
        assert_eq!(handle.wait().unwrap(), 1);
        assert!(executor.shutdown(ShutdownMode::Drain).is_finished());

        let executor = DaemonExecutor::new(1).unwrap();
        let exited = watch_thread_exit(&executor);
        let shutdown = executor.shutdown(ShutdownMode::CancelPending);
        async_std::task::block_on(shutdown);
        exited
            .try_recv()
            .expect("`.await` completes only once the thread has exited");
        assert!(executor.pool().submit(async {}).unwrap_err().is_closed());
    });
}

#[test]
fn a_daemon_shutdown_that_is_not_waited_for_still_happens() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let exited = watch_thread_exit(&executor);
        let gate = Gate::new();
        let running = running(executor.pool(), &gate, "finished");
        drop(executor.shutdown(ShutdownMode::Drain));
        assert!(executor.pool().submit(async {}).unwrap_err().is_closed());
        gate.open();
        assert_eq!(running.wait().unwrap(), "finished");
        exited
            .recv()
            .expect("the thread exits once drained, with nobody waiting");
        assert!(executor.shutdown(ShutdownMode::Drain).is_finished());
    });
}

#[test]
fn dropping_the_last_owner_inside_a_task_lets_the_thread_exit_by_itself() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(2).unwrap());
        let exited = watch_thread_exit(&executor);
        let gate = Gate::new();
        let g = gate.clone();
        let last_owner = Arc::clone(&executor);
        let handle = executor
            .pool()
            .submit(async move {
                g.wait().await;
                drop(last_owner); // the last owner: Drop runs on the daemon thread
                "dropped"
            })
            .unwrap();
        drop(executor);
        gate.open();
        assert_eq!(handle.wait().unwrap(), "dropped");
        exited.recv().expect("the daemon thread exits on its own");
    });
}

#[test]
fn close_stops_accepting_and_lets_queued_tasks_run() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let gate = Gate::new();
        let running = running(executor.pool(), &gate, "finished");
        let queued = executor.pool().submit(async { "queued ran" }).unwrap();
        assert!(executor.pool().close());
        assert!(!executor.pool().close(), "a second close reports it did nothing");
        assert!(executor.pool().submit(async { "" }).unwrap_err().is_closed());
        gate.open();
        assert_eq!(running.wait().unwrap(), "finished");
        assert_eq!(queued.wait().unwrap(), "queued ran");
    });
}

#[test]
fn a_pool_shutdown_can_be_awaited_or_waited_and_resolves_at_once_inside_its_own_task() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let inner = pool.clone();
        let own = pool
            .submit(async move {
                inner.shutdown(ShutdownMode::Drain).await; // returns at once
                "not stuck"
            })
            .unwrap();
        assert_eq!(own.wait().unwrap(), "not stuck");
        let shutdown = pool.shutdown(ShutdownMode::Drain);
        shutdown.wait();
        assert!(pool.shutdown(ShutdownMode::Drain).is_finished());

        // Awaited from another pool's task.
        let a = TaskPool::new(1).unwrap();
        let b = TaskPool::new(1).unwrap();
        let queued = a.submit(async { 1 }).unwrap();
        let a2 = a.clone();
        let waiter = b.submit(async move { a2.shutdown(ShutdownMode::Drain).await }).unwrap();
        waiter.wait().unwrap();
        assert!(queued.is_finished());
    });
}

#[test]
fn dropping_the_last_pool_clone_closes_it_and_queued_tasks_still_run() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let first = pool.submit(async move { g.wait().await }).unwrap();
        let queued = pool.submit(async { "still ran" }).unwrap();
        let clone = pool.clone();
        drop(pool);
        assert!(!clone.is_closed(), "a clone is still alive");
        drop(clone);
        gate.open();
        first.wait().unwrap();
        assert_eq!(queued.wait().unwrap(), "still ran");
    });
}
