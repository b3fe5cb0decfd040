//! A logger that panics cannot take the daemon thread down: every log call
//! the library makes is contained, like user code.

mod common;

use common::watchdog;
use taskpool::{DaemonExecutor, ShutdownMode};

struct PanickingLogger;

impl log::Log for PanickingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        panic!("the logger failed on {:?}", record.args().to_string());
    }
    fn flush(&self) {}
}

fn install_panicking_logger() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&PanickingLogger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

#[test]
fn a_panicking_logger_does_not_take_the_daemon_down() {
    install_panicking_logger();
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        // Panics log an error line; a failure nobody retrieves logs another.
        let observed = executor.pool().submit(async { panic!("task panic") as () }).unwrap();
        drop(executor.pool().submit(async { panic!("nobody looks") as () }).unwrap());
        let fine: Vec<_> = (0..10)
            .map(|i| executor.pool().submit(async move { i }).unwrap())
            .collect();
        assert!(observed.wait().unwrap_err().is_panic());
        for (i, h) in fine.into_iter().enumerate() {
            assert_eq!(h.wait().unwrap(), i);
        }
        executor.shutdown(ShutdownMode::Drain).wait();
        assert_eq!(executor.pool().stats().panicked, 2);
    });
}

#[test]
fn a_panicking_logger_leaves_no_global_pool_task_unresolved() {
    // async-std logs every spawn, so a logger that panics makes the spawn of
    // a pool's worker fail: the tasks that worker would have run end as
    // cancelled instead of waiting forever.
    install_panicking_logger();
    watchdog(|| {
        let pool = taskpool::TaskPool::new(2).unwrap();
        let handles: Vec<_> = (0..10).map(|i| pool.submit(async move { i }).unwrap()).collect();
        for (i, h) in handles.into_iter().enumerate() {
            match h.wait() {
                Ok(value) => assert_eq!(value, i),
                Err(e) => assert!(e.is_cancelled(), "{e}"),
            }
        }
        // Its driver could not be spawned on async-std either: it still
        // runs, so the pool still says when it has stopped.
        pool.shutdown(ShutdownMode::Drain).wait();
        assert!(pool.is_closed());
    });
}
