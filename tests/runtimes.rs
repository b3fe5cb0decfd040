//! Choosing a runtime: every builder takes every `Runtime` and refuses,
//! with `ConfigError::RuntimeDisabled`, the ones whose feature is off; the
//! pool reports the runtime its tasks run on; a pool built inside a tokio
//! runtime runs there, and one given a handle or an executor on it; a pool
//! whose tokio runtime shuts down ends its tasks as cancelled instead of
//! leaving them hanging.
//!
//! Run with each feature set (`.ci/run` does): the checks below cover the
//! runtimes enabled in this build and the refusal of the others.

mod common;

use common::watchdog;
use taskpool::{ConfigError, DaemonExecutor, Runtime, TaskPool};

const ALL: [Runtime; 3] = [Runtime::AsyncStd, Runtime::Tokio, Runtime::Smol];

/// The name of the thread a task of `pool` runs on.
fn thread_of_a_task(pool: &TaskPool) -> Option<String> {
    let handle = pool.submit(async { std::thread::current().name().map(str::to_owned) });
    handle.unwrap().wait().unwrap()
}

#[test]
fn the_preferred_runtime_is_enabled_and_is_the_first_of_async_std_tokio_smol() {
    let enabled: Vec<Runtime> = ALL.into_iter().filter(|r| r.is_enabled()).collect();
    assert!(!enabled.is_empty(), "a build has at least one runtime");
    assert_eq!(Runtime::preferred(), enabled[0]);
    assert_eq!(Runtime::AsyncStd.is_enabled(), cfg!(feature = "async-std"));
    assert_eq!(Runtime::Tokio.is_enabled(), cfg!(feature = "tokio"));
    assert_eq!(Runtime::Smol.is_enabled(), cfg!(feature = "smol"));
}

#[test]
fn a_pool_runs_on_each_enabled_runtime_and_refuses_the_others() {
    watchdog(|| {
        for runtime in ALL {
            match TaskPool::builder().runtime(runtime).limit(2).build() {
                Ok(pool) => {
                    assert!(runtime.is_enabled(), "{runtime:?} is off but was built");
                    assert_eq!(pool.runtime(), runtime);
                    let handles: Vec<_> = (0..10).map(|i| pool.submit(async move { i * 2 }).unwrap()).collect();
                    let out: Vec<i32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
                    assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
                    assert_eq!(pool.submit_to_thread(|| 5).unwrap().wait().unwrap(), 5);
                    pool.shutdown(taskpool::ShutdownMode::Drain).wait();
                }
                Err(ConfigError::RuntimeDisabled(refused)) => {
                    assert!(!runtime.is_enabled(), "{runtime:?} is on but was refused");
                    assert_eq!(refused, runtime);
                    let message = ConfigError::RuntimeDisabled(refused).to_string();
                    assert!(message.contains(runtime.feature()), "{message}");
                }
                Err(other) => panic!("{runtime:?}: unexpected {other:?}"),
            }
        }
    });
}

#[test]
fn a_daemon_runs_on_each_enabled_runtime_on_its_own_thread_and_refuses_the_others() {
    watchdog(|| {
        for runtime in ALL {
            match DaemonExecutor::builder()
                .runtime(runtime)
                .thread_name("rt-daemon")
                .limit(2)
                .build()
            {
                Ok(executor) => {
                    assert!(runtime.is_enabled(), "{runtime:?} is off but was built");
                    assert_eq!(executor.pool().runtime(), runtime);
                    let name = thread_of_a_task(executor.pool());
                    assert_eq!(name.as_deref(), Some("rt-daemon"));
                    let local = executor
                        .submit_local(|| {
                            let not_send = std::rc::Rc::new(3);
                            async move { *not_send + 1 }
                        })
                        .unwrap();
                    assert_eq!(local.wait().unwrap(), 4);
                    assert_eq!(executor.pool().submit_to_thread(|| 6).unwrap().wait().unwrap(), 6);
                }
                Err(ConfigError::RuntimeDisabled(refused)) => {
                    assert!(!runtime.is_enabled(), "{runtime:?} is on but was refused");
                    assert_eq!(refused, runtime);
                }
                Err(other) => panic!("{runtime:?}: unexpected {other:?}"),
            }
        }
    });
}

#[test]
fn a_pools_debug_shows_its_runtime() {
    let pool = TaskPool::new(1).unwrap();
    let builder = format!("{:?}", TaskPool::builder().runtime(Runtime::preferred()));
    assert!(builder.contains(&format!("{:?}", Runtime::preferred())), "{builder}");
    assert_eq!(pool.runtime(), Runtime::preferred());
}

#[cfg(feature = "tokio")]
mod tokio_choice {
    use std::time::Duration;

    use super::common::{Gate, watchdog};
    use taskpool::{Runtime, ShutdownMode, TaskPool};

    /// The name of the thread a task of `pool` runs on after a
    /// `tokio::time::sleep` (which panics, "no reactor running", anywhere
    /// but in a tokio runtime), waited for with a blocking wait.
    fn thread_after_a_tokio_sleep(pool: &TaskPool) -> Option<String> {
        let handle = pool
            .submit(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                std::thread::current().name().map(str::to_owned)
            })
            .unwrap();
        handle.wait().unwrap()
    }

    /// A multi-threaded tokio runtime with `workers` threads, and a pool of
    /// `limit` on it, given its handle.
    fn pool_on_own_runtime(workers: usize, blocking: usize, limit: usize) -> (tokio::runtime::Runtime, TaskPool) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .max_blocking_threads(blocking)
            .enable_all()
            .build()
            .unwrap();
        let pool = TaskPool::builder()
            .tokio_handle(runtime.handle().clone())
            .limit(limit)
            .build()
            .unwrap();
        (runtime, pool)
    }

    #[test]
    fn a_pool_built_inside_a_tokio_runtime_runs_there_whatever_else_is_enabled() {
        watchdog(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("users-runtime")
                .enable_all()
                .build()
                .unwrap();
            let pool = runtime.block_on(async { TaskPool::new(2).unwrap() });
            assert_eq!(pool.runtime(), Runtime::Tokio);
            assert_eq!(thread_after_a_tokio_sleep(&pool).as_deref(), Some("users-runtime"));
        });
    }

    #[test]
    fn a_pool_built_inside_a_current_thread_runtime_runs_on_the_crates_own_so_a_blocking_wait_works() {
        watchdog(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let pool = TaskPool::new(3).unwrap();
                assert_eq!(pool.runtime(), Runtime::Tokio);
                // This thread is the runtime's only one: the blocking wait
                // inside would stop the task if it ran here.
                assert_eq!(thread_after_a_tokio_sleep(&pool).as_deref(), Some("taskpool-tokio"));
                let awaited = pool.submit(async { 5 }).unwrap().await.unwrap();
                assert_eq!(awaited, 5);
            });
        });
    }

    #[test]
    fn a_plain_tokio_task_that_submits_then_blocks_on_the_handle_is_not_left_waiting() {
        watchdog(|| {
            let (runtime, pool) = pool_on_own_runtime(4, 512, 2);
            for i in 0..50 {
                let pool = pool.clone();
                // The submit spawns a worker from this tokio thread, which
                // then blocks: the worker must be free for another thread.
                let blocked = runtime.spawn(async move { pool.submit(async move { i * 3 }).unwrap().wait().unwrap() });
                assert_eq!(futures::executor::block_on(blocked).unwrap(), i * 3);
            }
        });
    }

    #[test]
    fn a_pool_given_a_handle_runs_on_that_runtime_from_a_plain_thread() {
        watchdog(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("handed-over")
                .enable_all()
                .build()
                .unwrap();
            let pool = TaskPool::builder()
                .tokio_handle(runtime.handle().clone())
                .build()
                .unwrap();
            assert_eq!(pool.runtime(), Runtime::Tokio);
            let name = super::thread_of_a_task(&pool);
            assert_eq!(name.as_deref(), Some("handed-over"));
        });
    }

    #[test]
    fn when_its_tokio_runtime_shuts_down_the_pool_closes_its_tasks_end_cancelled_and_it_still_shuts_down() {
        watchdog(|| {
            for _ in 0..50 {
                let (runtime, pool) = pool_on_own_runtime(1, 512, 1);
                let gate = Gate::new();
                let (started_tx, started_rx) = std::sync::mpsc::channel();
                let running = {
                    let gate = gate.clone();
                    pool.submit(async move {
                        started_tx.send(()).unwrap();
                        gate.wait().await;
                    })
                    .unwrap()
                };
                let queued = pool.submit(async { 1 }).unwrap();
                started_rx.recv().unwrap();
                // Dropping a runtime waits until its workers have stopped and
                // dropped their tasks (the pool's worker and driver among them).
                drop(runtime);
                // Never woken: the pool learns its runtime is gone from its
                // driver's loss, not from a worker of this task.
                assert!(running.wait().unwrap_err().is_cancelled());
                assert!(queued.wait().unwrap_err().is_cancelled());
                // Nothing can run any more: the pool is closed, and says so.
                assert!(pool.is_closed());
                let refused = pool.submit(async { 2 }).unwrap_err();
                assert!(refused.is_closed());
                pool.shutdown(ShutdownMode::Drain).wait();
            }
        });
    }

    #[test]
    fn a_runtime_that_shuts_down_before_the_pools_driver_ever_ran_still_ends_its_tasks() {
        watchdog(|| {
            for _ in 0..20 {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                // Tasks queued on the runtime ahead of the pool's driver: the
                // pool's worker (spawned from inside `block_on`, so run from
                // the local queue first) runs its task before the driver.
                for _ in 0..100 {
                    drop(runtime.spawn(async {}));
                }
                let pool = TaskPool::builder()
                    .tokio_handle(runtime.handle().clone())
                    .limit(2)
                    .build()
                    .unwrap();
                let gate = Gate::new();
                // The handle is the block's result on purpose: it is waited
                // on after the runtime is gone.
                #[allow(clippy::async_yields_async)]
                let parked = runtime.block_on(async {
                    let (started_tx, started_rx) = async_channel::bounded(1);
                    let gate = gate.clone();
                    let parked = pool
                        .submit(async move {
                            started_tx.send(()).await.unwrap();
                            gate.wait().await;
                        })
                        .unwrap();
                    started_rx.recv().await.unwrap();
                    parked
                });
                drop(runtime);
                assert!(parked.wait().unwrap_err().is_cancelled());
                super::common::spin_until(|| pool.is_closed());
                pool.shutdown(ShutdownMode::Drain).wait();
            }
        });
    }

    #[test]
    fn a_pool_on_the_handle_of_a_runtime_already_gone_closes_and_cancels() {
        watchdog(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap();
            let handle = runtime.handle().clone();
            drop(runtime);
            let pool = TaskPool::builder().tokio_handle(handle).limit(2).build().unwrap();
            let mut cancelled = 0;
            // Accepted until the pool learns the runtime is gone, then refused.
            while let Ok(handle) = pool.submit(async { 1 }) {
                assert!(handle.wait().unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert!(pool.is_closed());
            pool.shutdown(ShutdownMode::Drain).wait();
            assert_eq!(pool.stats().cancelled, cancelled);
        });
    }

    #[test]
    fn a_cancelled_blocking_closure_waiting_for_tokios_blocking_pool_never_runs() {
        watchdog(|| {
            // One blocking thread: closures run one at a time, in order.
            let (_runtime, pool) = pool_on_own_runtime(1, 1, 2);
            let (a_started_tx, a_started_rx) = std::sync::mpsc::channel();
            let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
            // A holds the one blocking thread; B's closure queues behind it.
            let a = pool
                .submit_to_thread(move || {
                    a_started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .unwrap();
            a_started_rx.recv().unwrap();
            let (ran_tx, ran_rx) = std::sync::mpsc::channel();
            let b = pool.submit_to_thread(move || ran_tx.send(()).unwrap()).unwrap();
            super::common::spin_until(|| pool.stats().running == 2);
            assert!(b.cancel());
            assert!(b.wait().unwrap_err().is_cancelled());
            release_tx.send(()).unwrap();
            a.wait().unwrap();
            // The blocking thread takes closures in order: once C has run,
            // B's would have run before it, had it been left queued.
            pool.submit_to_thread(|| ()).unwrap().wait().unwrap();
            assert!(ran_rx.try_recv().is_err(), "the cancelled closure ran");
        });
    }
}

#[cfg(feature = "smol")]
mod smol_choice {
    use std::sync::Arc;

    use super::common::watchdog;
    use taskpool::{Runtime, TaskPool};

    #[test]
    fn a_pool_given_an_executor_runs_on_the_threads_that_run_it() {
        watchdog(|| {
            let executor = Arc::new(smol::Executor::new());
            let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
            let runner = {
                let executor = Arc::clone(&executor);
                std::thread::Builder::new()
                    .name("runs-executor".into())
                    .spawn(move || smol::block_on(executor.run(stop_rx.recv())))
                    .unwrap()
            };
            let pool = TaskPool::builder()
                .smol_executor(Arc::clone(&executor))
                .build()
                .unwrap();
            assert_eq!(pool.runtime(), Runtime::Smol);
            let name = super::thread_of_a_task(&pool);
            assert_eq!(name.as_deref(), Some("runs-executor"));
            stop_tx.send_blocking(()).unwrap();
            runner.join().unwrap().unwrap();
        });
    }
}
