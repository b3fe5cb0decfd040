//! The seed lab's scenario (examples/daemon_demo.rs) with the time unit
//! scaled down to milliseconds, asserting the facts of its log.

mod common;
mod example_bin;

#[allow(dead_code)]
#[path = "../examples/daemon_demo.rs"]
mod demo;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{Gate, watchdog};

/// Records lines, and opens a gate on the first "Waiting for task 0" line:
/// task 0 is held until the main thread has logged a wait for it, so the
/// waiting lines are there by construction, not by timing luck.
struct DemoLogger {
    lines: Mutex<Vec<(log::Level, String)>>,
    first_wait: Gate,
}

impl log::Log for DemoLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        if line.starts_with("Waiting for task 0 from") {
            self.first_wait.open();
        }
        self.lines.lock().unwrap().push((record.level(), line));
    }
    fn flush(&self) {}
}

fn logger() -> &'static DemoLogger {
    static LOGGER: OnceLock<&'static DemoLogger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger = Box::leak(Box::new(DemoLogger {
            lines: Mutex::new(Vec::new()),
            first_wait: Gate::new(),
        }));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
        logger
    })
}

#[test]
fn the_seed_scenario_runs_three_at_a_time_on_the_daemon_thread() {
    let logger = logger();
    let outcomes = watchdog(move || {
        let unit = Duration::from_millis(5);
        demo::run_scenario(unit, move |i| {
            let first_wait = logger.first_wait.clone();
            async move {
                if i == 0 {
                    first_wait.wait().await;
                }
                demo::busy_task(i, unit).await
            }
        })
    });

    // Nine results and one failure, the typed error of task 4.
    assert_eq!(outcomes.len(), 10);
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Ok(result)) => assert_eq!(*result, "KEK"),
            Ok(Err(e)) => assert_eq!((i, e), (4, &demo::BusyError { task: 4 })),
            Err(e) => panic!("task {i}: {e}"),
        }
    }

    let lines = logger.lines.lock().unwrap().clone();
    let with = |needle: &str| lines.iter().filter(|(_, l)| l.contains(needle)).count();
    // Every task ran on the daemon thread.
    for i in 0..10 {
        assert_eq!(with(&format!("Task {i} executing in DaemonThread...")), 1, "task {i}");
    }
    // At most 3 active, as the pool reports at each start.
    let active: Vec<usize> = lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("TASK POOL: Sending task to execute. Number of active tasks: "))
        .map(|n| n.trim_end_matches('.').parse().unwrap())
        .collect();
    assert_eq!(active.len(), 10);
    assert!(active.iter().all(|&n| (1..=3).contains(&n)), "{active:?}");
    // Nine results, one failure, and the waiting lines.
    assert_eq!(with("Result of task "), 9);
    assert_eq!(with("Task 4 failed: task 4 could not finish its work"), 1);
    assert!(with("Waiting for task 0 from") >= 1);
    // The executor's life, in order.
    let position = |needle: &str| lines.iter().position(|(_, l)| l == needle).unwrap();
    assert!(position("DaemonExecutor is starting...") < position("DaemonExecutor is started"));
    assert!(position("DaemonExecutor is started") < position("DaemonExecutor is stopping..."));
    assert!(position("DaemonExecutor is stopping...") < position("DaemonExecutor is stopped"));
}

#[test]
fn the_time_unit_is_parsed_and_bad_ones_are_refused() {
    let parse = |args: &[&str]| demo::parse_unit(args.iter().copied());
    assert_eq!(parse(&[]).unwrap(), demo::cli::Parsed::Run(Duration::from_secs(1)));
    assert_eq!(
        parse(&["100"]).unwrap(),
        demo::cli::Parsed::Run(Duration::from_millis(100))
    );
    assert_eq!(parse(&["--help"]).unwrap(), demo::cli::Parsed::Help);
    for (bad, message) in [
        (&["0"][..], "\"0\" is not a whole number of milliseconds"),
        (&["fast"], "\"fast\" is not a whole number of milliseconds"),
        (&["100", "200"], "unexpected argument \"200\""),
        (&["--quick"], "invalid option '--quick'"),
    ] {
        let error = parse(bad).expect_err(&format!("{bad:?} should be refused"));
        assert!(error.to_string().contains(message), "{bad:?}: {error}");
    }
}

/// Issue 15, item 8: the real program has `--help`, and a bad time unit
/// (which used to panic) is a usage error with exit code 2.
#[test]
fn the_real_program_has_help_and_refuses_a_bad_unit_with_exit_code_2() {
    watchdog(|| {
        example_bin::assert_cli_contract(
            "daemon_demo",
            &["fast"],
            "\"fast\" is not a whole number of milliseconds",
        );
        example_bin::assert_cli_contract("daemon_demo", &["--quick"], "invalid option '--quick'");
    });
}
