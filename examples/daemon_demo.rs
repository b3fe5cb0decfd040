//! The seed lab's test, on `taskpool`: ten busy tasks on a `DaemonExecutor`
//! limited to 3, waited for in order from the main thread, one second at a
//! time.
//!
//! Run it with `cargo run --example daemon_demo` (about 20 seconds). Pass a
//! time unit in milliseconds to speed it up: `cargo run --example
//! daemon_demo -- 100`; `--help` says so.

#[path = "common/cli.rs"]
pub mod cli;

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use cli::Parsed;
use futures_timer::Delay;
use log::{error, info};
use taskpool::{DaemonExecutor, TaskError};

/// How many time units each task works, split over two sleeps of different
/// lengths (as in the seed's log, tasks take 5 or 6 seconds).
const WORK: [u32; 10] = [6, 6, 5, 5, 6, 6, 6, 5, 6, 5];

/// The task that fails, like the seed's task 4.
const FAILING: usize = 4;

/// The error `busy_task` returns for the failing task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyError {
    pub task: usize,
}

impl fmt::Display for BusyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} could not finish its work", self.task)
    }
}

impl std::error::Error for BusyError {}

/// The seed's `busy_task`: says where it runs, works a while with async
/// sleeps, and returns `"KEK"` — except task 4, which fails.
pub async fn busy_task(i: usize, unit: Duration) -> Result<&'static str, BusyError> {
    let thread = std::thread::current();
    info!(
        "Task {i} executing in {}...",
        thread.name().unwrap_or("an unnamed thread")
    );
    let work = WORK[i % WORK.len()];
    let first = work / 2;
    Delay::new(unit * first).await;
    Delay::new(unit * (work - first)).await;
    if i == FAILING {
        return Err(BusyError { task: i });
    }
    info!("Task {i} successfully finished");
    Ok("KEK")
}

/// What the main thread saw of one task.
pub type Outcome = Result<Result<&'static str, BusyError>, TaskError>;

/// The scenario: a `DaemonExecutor` with limit 3 on a thread named
/// `DaemonThread` runs `work(i)` for i in 0..10; the calling thread waits for
/// each handle in order with a one-`unit` timeout, logging every wait, then
/// the result. Returns the outcomes in order.
pub fn run_scenario<W, F>(unit: Duration, work: W) -> Vec<Outcome>
where
    W: Fn(usize) -> F,
    F: Future<Output = Result<&'static str, BusyError>> + Send + 'static,
{
    let executor = DaemonExecutor::builder()
        .limit(3)
        .thread_name("DaemonThread")
        .build()
        .expect("limit 3 and a plain thread name are valid");
    let handles: Vec<_> = (0..WORK.len())
        .map(|i| {
            executor
                .pool()
                .build_task()
                .name(format!("busy_task {i}"))
                .submit(work(i))
                .expect("the executor is open")
        })
        .collect();

    let main = std::thread::current();
    let main = main.name().unwrap_or("the main thread");
    let mut outcomes = Vec::with_capacity(handles.len());
    for (i, mut handle) in handles.into_iter().enumerate() {
        let outcome = loop {
            match handle.wait_timeout(unit) {
                Ok(outcome) => break outcome,
                Err(_elapsed) => info!("Waiting for task {i} from {main}"),
            }
        };
        match &outcome {
            Ok(Ok(result)) => info!("Result of task {i}: {result}"),
            Ok(Err(e)) => error!("Task {i} failed: {e}"),
            Err(e) => error!("Task {i} failed: {e}"),
        }
        outcomes.push(outcome);
    }
    // Leaving the `with` block: drain and join the daemon thread.
    drop(executor);
    outcomes
}

/// `--help`; its first line is the usage line.
pub const HELP: &str = "\
usage: daemon_demo [UNIT_MS]

The seed lab's demo: ten busy tasks on a DaemonExecutor limited to 3, waited
for in order from the main thread, logging every wait (about 20 time units).

  UNIT_MS      the time unit in milliseconds, at least 1 (default 1000)
  -h, --help   print this help
";

/// Parses the arguments after the program name: the time unit.
pub fn parse_unit<I>(args: I) -> Result<Parsed<Duration>, cli::Error>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use cli::Arg::{Long, Short, Value};
    let mut unit = None;
    let mut parser = cli::parser(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("help") | Short('h') => return Ok(Parsed::Help),
            Value(ms) if unit.is_none() => {
                let ms = ms.to_string_lossy();
                unit = match ms.parse::<u64>() {
                    Ok(0) | Err(_) => {
                        return Err(
                            format!("UNIT_MS: {ms:?} is not a whole number of milliseconds, at least 1").into(),
                        );
                    }
                    Ok(ms) => Some(Duration::from_millis(ms)),
                };
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(unit.unwrap_or(Duration::from_secs(1))))
}

#[allow(dead_code)] // Also compiled as a module of tests/demo.rs, which has its own main.
fn main() {
    let unit = cli::parse_or_exit("daemon_demo", HELP, parse_unit(std::env::args_os().skip(1)));
    cli::init_logger(log::LevelFilter::Debug);
    let outcomes = run_scenario(unit, move |i| busy_task(i, unit));
    let failed = outcomes.iter().filter(|o| !matches!(o, Ok(Ok(_)))).count();
    info!("{} tasks finished, {failed} failed", outcomes.len());
}
