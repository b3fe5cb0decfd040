//! `DaemonExecutor`: every task runs on its one named thread, whoever
//! submitted it; `!Send` tasks; the log lines of its life.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use common::{Gate, Recorder, quiet_planned_panics, running, watchdog};
use taskpool::{DEFAULT_THREAD_NAME, DaemonExecutor};

#[test]
fn every_task_runs_on_the_daemon_thread_whoever_submits_it() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::new(3).unwrap());
        assert_eq!(executor.thread_name(), DEFAULT_THREAD_NAME);
        let submitters: Vec<_> = (0..4)
            .map(|_| {
                let executor = Arc::clone(&executor);
                std::thread::spawn(move || {
                    let handles: Vec<_> = (0..25)
                        .map(|_| {
                            executor
                                .pool()
                                .submit(async {
                                    let me = std::thread::current();
                                    (me.id(), me.name().map(str::to_owned))
                                })
                                .unwrap()
                        })
                        .collect();
                    handles.into_iter().map(|h| h.wait().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        for s in submitters {
            for (id, name) in s.join().unwrap() {
                assert_eq!(id, executor.thread_id());
                assert_eq!(name.as_deref(), Some(DEFAULT_THREAD_NAME));
            }
        }
        let blocking_thread = executor
            .pool()
            .submit_to_thread(|| std::thread::current().id())
            .unwrap();
        assert_ne!(
            blocking_thread.wait().unwrap(),
            executor.thread_id(),
            "blocking work leaves the daemon"
        );
    });
}

#[test]
fn the_thread_name_is_configurable() {
    watchdog(|| {
        let executor = DaemonExecutor::builder()
            .limit(1)
            .thread_name("DaemonThread")
            .build()
            .unwrap();
        let name = executor
            .pool()
            .submit(async { std::thread::current().name().map(str::to_owned) })
            .unwrap();
        assert_eq!(name.wait().unwrap().as_deref(), Some("DaemonThread"));
    });
}

#[test]
fn a_local_task_holds_non_send_state_on_the_daemon_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        let thread = executor.thread_id();
        let handle = executor
            .submit_local(move || async move {
                let log = Rc::new(RefCell::new(vec![std::thread::current().id()]));
                futures_timer::Delay::new(std::time::Duration::from_micros(100)).await;
                log.borrow_mut().push(std::thread::current().id());
                log.borrow().clone()
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), vec![thread, thread]);
        let panicked = executor
            .submit_local(|| -> std::future::Ready<()> { panic!("no future") })
            .unwrap();
        assert_eq!(panicked.wait().unwrap_err().panic_message(), Some("no future"));
    });
}

#[test]
fn a_local_task_on_a_global_pool_is_refused_with_the_closure_back() {
    let pool = taskpool::TaskPool::new(1).unwrap();
    let err = pool.build_task().submit_local(|| async { 1 }).unwrap_err();
    assert!(err.is_unsupported());
    let make = err.into_inner();
    let executor = DaemonExecutor::new(1).unwrap();
    assert_eq!(executor.submit_local(make).unwrap().wait().unwrap(), 1);
}

#[test]
fn the_executor_logs_its_life_and_each_start() {
    let recorder = Recorder::install();
    watchdog(move || {
        // Other tests in this binary log too: run on threads of our own
        // names and read only their lines.
        let panicked_id = std::thread::Builder::new()
            .name("life-test".into())
            .spawn(|| {
                let executor = DaemonExecutor::builder()
                    .limit(2)
                    .thread_name("logged")
                    .build()
                    .unwrap();
                let handles: Vec<_> = (0..3)
                    .map(|i| executor.pool().submit(async move { i }).unwrap())
                    .collect();
                let panicked = executor.pool().submit(async { panic!("kaboom") as () }).unwrap();
                let panicked_id = panicked.id();
                assert!(panicked.wait().unwrap_err().is_panic());
                handles.into_iter().for_each(|h| assert!(h.wait().is_ok()));
                drop(executor);
                panicked_id
            })
            .unwrap()
            .join()
            .unwrap();

        let lines = recorder.lines_of_threads(&["life-test", "logged"]);
        let position = |needle: &str| {
            lines
                .iter()
                .position(|l| l == needle)
                .unwrap_or_else(|| panic!("no line {needle:?} in {lines:#?}"))
        };
        let starting = position("DaemonExecutor is starting...");
        let started = position("DaemonExecutor is started");
        let stopping = position("DaemonExecutor is stopping...");
        let stopped = position("DaemonExecutor is stopped");
        assert!(
            starting < started && started < stopping && stopping < stopped,
            "{lines:#?}"
        );
        let starts: Vec<usize> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("TASK POOL: Sending task to execute. Number of active tasks: "))
            .map(|n| n.trim_end_matches('.').parse().unwrap())
            .collect();
        assert_eq!(starts.len(), 4, "one debug line per start: {lines:#?}");
        assert!(starts.iter().all(|n| (1..=2).contains(n)), "{starts:?}");
        let debug = recorder.lines_with("TASK POOL: Sending task to execute.");
        assert!(debug.iter().all(|(level, _)| *level == log::Level::Debug));
        let panic_lines = recorder.lines_with(&format!("task {panicked_id} panicked with message \"kaboom\""));
        assert_eq!(panic_lines.len(), 1, "exactly one error line per observed panic");
        assert_eq!(panic_lines[0].0, log::Level::Error);
        assert!(
            recorder.lines_with(&format!("task {panicked_id} failed")).is_empty(),
            "it was observed"
        );
    });
}

#[test]
fn debug_shows_the_useful_numbers_without_blocking() {
    let executor = DaemonExecutor::new(3).unwrap();
    let text = format!("{executor:?}");
    for field in [
        "limit: 3",
        "running: 0",
        "queued: 0",
        "closed: false",
        DEFAULT_THREAD_NAME,
    ] {
        assert!(text.contains(field), "{text}");
    }
    let text = format!("{:?}", executor.pool());
    assert!(text.contains("limit: 3"), "{text}");
}

#[test]
fn a_long_run_of_local_closures_that_panic_ends_each_without_deepening_the_stack() {
    // Each closure panics while its task starts, so the task ends at once
    // and hands its permit to the next queued one: a start inside an end
    // inside a start would overflow the daemon thread's stack long before
    // 20 000 of them.
    quiet_planned_panics();
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let gate = Gate::new();
        let blocker = running(executor.pool(), &gate, ());
        let handles: Vec<_> = (0..20_000)
            .map(|_| {
                executor
                    .submit_local(|| -> std::future::Ready<()> { panic!("planned panic: no future") })
                    .unwrap()
            })
            .collect();
        gate.open();
        blocker.wait().unwrap();
        for handle in handles {
            assert_eq!(
                handle.wait().unwrap_err().panic_message(),
                Some("planned panic: no future")
            );
        }
        assert_eq!(executor.pool().stats().panicked, 20_000);
    });
}

#[test]
fn a_running_local_task_is_cancelled_or_timed_out_on_the_daemon_thread() {
    // A local task runs in a runner of its own (its future is not `Send`),
    // which registers its waker with the task on every poll: a cancel from
    // another thread must find it, whenever it lands, and the future must
    // be dropped (on the daemon thread) before the outcome is published.
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        for round in 0..200 {
            let (started_tx, started_rx) = common::signal();
            let (dropped, dropped_rx) = common::drop_signal();
            let handle = executor
                .submit_local(move || {
                    let local = Rc::new(round);
                    async move {
                        let _dropped = dropped;
                        started_tx.send(()).await.unwrap();
                        std::future::pending::<()>().await;
                        drop(local);
                    }
                })
                .unwrap();
            started_rx.recv_blocking().unwrap();
            assert!(handle.cancel(), "round {round}");
            let err = handle.wait().unwrap_err();
            assert!(err.is_cancelled(), "round {round}: {err}");
            assert!(dropped_rx.try_recv().is_ok(), "round {round}: outcome before the drop");
        }
        let (dropped, dropped_rx) = common::drop_signal();
        let timed_out = executor
            .pool()
            .build_task()
            .timeout(std::time::Duration::from_millis(20))
            .submit_local(move || {
                let local = Rc::new(());
                async move {
                    let _dropped = dropped;
                    std::future::pending::<()>().await;
                    drop(local);
                }
            })
            .unwrap();
        assert!(timed_out.wait().unwrap_err().is_timeout());
        assert!(dropped_rx.try_recv().is_ok(), "outcome before the drop");
        assert_eq!(executor.submit_local(|| async { 3 }).unwrap().wait().unwrap(), 3);
    });
}
