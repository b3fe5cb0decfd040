//! The channel-permit limiter: every way a task can end gives its permit
//! back, and bad limits are errors.

mod common;

use std::time::Duration;

use common::{Probe, assert_all_permits_free, signal, watchdog};
use taskpool::{ConfigError, DaemonExecutor, TaskPool};

#[test]
fn zero_limit_is_a_config_error_not_a_panic() {
    assert!(matches!(TaskPool::new(0), Err(ConfigError::ZeroLimit)));
    assert!(matches!(
        TaskPool::builder().limit(0).build(),
        Err(ConfigError::ZeroLimit)
    ));
    assert!(matches!(DaemonExecutor::new(0), Err(ConfigError::ZeroLimit)));
    assert!(matches!(
        DaemonExecutor::builder().limit(0).build(),
        Err(ConfigError::ZeroLimit)
    ));
    assert!(matches!(
        TaskPool::builder().queue_capacity(0).build(),
        Err(ConfigError::ZeroQueueCapacity)
    ));
    assert!(matches!(
        DaemonExecutor::builder().thread_name("a\0b").build(),
        Err(ConfigError::InvalidThreadName)
    ));
}

#[test]
fn panicking_task_returns_its_permit() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        for _ in 0..5 {
            let err = pool.submit(async { panic!("boom") as () }).unwrap().wait().unwrap_err();
            assert!(err.is_panic());
        }
        assert_all_permits_free(&pool);
    });
}

#[test]
fn cancelled_running_task_returns_its_permit() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let (started_tx, started_rx) = signal();
        let handle = pool
            .submit(async move {
                started_tx.send(()).await.unwrap();
                std::future::pending::<()>().await
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        assert!(handle.cancel());
        assert!(handle.wait().unwrap_err().is_cancelled());
        assert_all_permits_free(&pool);
    });
}

#[test]
fn timed_out_task_returns_its_permit() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let handle = pool
            .build_task()
            .timeout(Duration::from_millis(5))
            .submit(std::future::pending::<()>())
            .unwrap();
        assert!(handle.wait().unwrap_err().is_timeout());
        assert_all_permits_free(&pool);
    });
}

#[test]
fn never_more_than_limit_running_under_many_submitting_threads() {
    watchdog(|| {
        for limit in [1, 3, 8] {
            let pool = TaskPool::new(limit).unwrap();
            let probe = Probe::default();
            let submitters: Vec<_> = (0..4)
                .map(|_| {
                    let (pool, probe) = (pool.clone(), probe.clone());
                    std::thread::spawn(move || {
                        let handles: Vec<_> = (0..100)
                            .map(|i| {
                                let probe = probe.clone();
                                pool.submit(async move {
                                    let _inside = probe.enter();
                                    for _ in 0..(i % 3) {
                                        futures_timer::Delay::new(Duration::from_micros(50)).await;
                                    }
                                })
                                .unwrap()
                            })
                            .collect();
                        handles.into_iter().for_each(|h| h.wait().unwrap());
                    })
                })
                .collect();
            submitters.into_iter().for_each(|t| t.join().unwrap());
            assert!(probe.max() <= limit, "{} ran at once with limit {limit}", probe.max());
            assert_eq!(probe.entered(), 400);
            assert!(pool.stats().peak_running <= limit as u64);
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn daemon_never_runs_more_than_limit() {
    watchdog(|| {
        let executor = DaemonExecutor::new(3).unwrap();
        let probe = Probe::default();
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let probe = probe.clone();
                executor
                    .pool()
                    .submit(async move {
                        let _inside = probe.enter();
                        futures_timer::Delay::new(Duration::from_micros(100 * (i % 4))).await;
                    })
                    .unwrap()
            })
            .collect();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert!(probe.max() <= 3);
        assert_eq!(executor.pool().stats().peak_running, probe.max() as u64);
    });
}
