//! Panics and errors reach the waiter, typed; the executor survives them.

mod common;

use std::error::Error as _;
use std::time::Duration;

use common::watchdog;
use taskpool::{DaemonExecutor, TaskErrorKind, TaskPool};

#[derive(Debug, PartialEq)]
enum FetchError {
    NotFound(String),
}

#[test]
fn a_task_returning_err_delivers_exactly_that_err_typed() {
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        let handle = executor
            .pool()
            .submit(async { Err::<u8, _>(FetchError::NotFound("/x".into())) })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), Err(FetchError::NotFound("/x".into())));
    });
}

#[test]
fn a_panic_reaches_the_waiter_with_its_message_and_the_executor_survives() {
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        let thread = executor.thread_id();
        let err = executor
            .pool()
            .submit(async { panic!("boom {}", 7) as () })
            .unwrap()
            .wait()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.kind(), TaskErrorKind::Panicked);
        assert_eq!(err.panic_message(), Some("boom 7"));
        assert_eq!(
            err.to_string(),
            format!("task {} panicked with message \"boom 7\"", err.id())
        );
        // Same thread, same permit, next task runs.
        let after = executor.pool().submit(async { std::thread::current().id() }).unwrap();
        assert_eq!(after.wait().unwrap(), thread);
    });
}

#[test]
fn the_panic_can_be_resumed_on_the_waiters_thread() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let err = pool
            .submit(async { std::panic::panic_any(41_u64) as () })
            .unwrap()
            .wait()
            .unwrap_err();
        assert_eq!(err.panic_message(), None, "a non-string payload has no message");
        let resumed = std::panic::catch_unwind(|| std::panic::resume_unwind(err.into_panic()));
        assert_eq!(resumed.unwrap_err().downcast_ref::<u64>(), Some(&41));
    });
}

#[test]
fn other_tasks_are_unaffected_by_a_panicking_neighbour() {
    watchdog(|| {
        let executor = DaemonExecutor::new(3).unwrap();
        let handles: Vec<_> = (0..30)
            .map(|i| {
                executor
                    .pool()
                    .submit(async move {
                        futures_timer::Delay::new(Duration::from_micros(50)).await;
                        assert!(i % 5 != 0, "task {i} fails");
                        i
                    })
                    .unwrap()
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            match h.wait() {
                Ok(v) => assert_eq!(v, i),
                Err(e) => {
                    assert_eq!(i % 5, 0);
                    assert!(e.panic_message().unwrap().contains(&format!("task {i} fails")));
                }
            }
        }
        assert_eq!(executor.pool().stats().panicked, 6);
        assert_eq!(executor.pool().stats().completed, 24);
    });
}

#[test]
fn task_errors_have_clear_messages_and_implement_error() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let h = pool
            .build_task()
            .name("fetch")
            .submit(std::future::pending::<()>())
            .unwrap();
        let id = h.id();
        h.cancel();
        let cancelled = h.wait().unwrap_err();
        assert_eq!(cancelled.to_string(), format!("task {id} (fetch) was cancelled"));
        assert!(cancelled.source().is_none());
        let timed_out = pool
            .build_task()
            .timeout(Duration::from_millis(3))
            .submit(std::future::pending::<()>())
            .unwrap();
        let id = timed_out.id();
        assert_eq!(
            timed_out.wait().unwrap_err().to_string(),
            format!("task {id} timed out after 3ms")
        );
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(cancelled);
        assert!(boxed.to_string().contains("cancelled"));
    });
}

#[test]
fn try_into_panic_gives_a_non_panic_error_back() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let h = pool.submit(std::future::pending::<()>()).unwrap();
        h.cancel();
        let err = h.wait().unwrap_err();
        let err = err.try_into_panic().unwrap_err();
        assert!(err.is_cancelled());
        let into_panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.into_panic()));
        assert!(into_panic.is_err(), "into_panic on a cancel panics, as documented");
    });
}
