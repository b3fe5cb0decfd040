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

#[test]
fn a_panicking_logger_does_not_take_the_daemon_down() {
    log::set_logger(&PanickingLogger).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
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
