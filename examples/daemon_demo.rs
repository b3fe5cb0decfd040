//! The seed lab's test, on `taskpool`: ten busy tasks on a `DaemonExecutor`
//! limited to 3, waited for in order from the main thread, one second at a
//! time.
//!
//! Run it with `cargo run --example daemon_demo` (about 20 seconds). Pass a
//! time unit in milliseconds to speed it up: `cargo run --example
//! daemon_demo -- 100`.

use std::fmt;
use std::future::Future;
use std::time::Duration;

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
                .build_task()
                .name(format!("busy_task {i}"))
                .fallible()
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
                Err(timeout) => {
                    info!("Waiting for task {i} from {main}");
                    handle = timeout.into_inner();
                }
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

#[allow(dead_code)] // Also compiled as a module of tests/demo.rs, which has its own main.
fn main() {
    simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Debug)
        .init()
        .expect("no other logger is installed");
    let unit_ms = std::env::args()
        .nth(1)
        .map(|arg| arg.parse::<u64>().expect("the time unit is a number of milliseconds"))
        .unwrap_or(1000);
    let unit = Duration::from_millis(unit_ms);
    let outcomes = run_scenario(unit, move |i| busy_task(i, unit));
    let failed = outcomes.iter().filter(|o| !matches!(o, Ok(Ok(_)))).count();
    info!("{} tasks finished, {failed} failed", outcomes.len());
}
