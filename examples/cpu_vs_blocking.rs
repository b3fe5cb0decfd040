//! CPU-bound work three ways: exact factorials run one after another, as async tasks on a `DaemonExecutor`'s thread, and through `submit_to_thread` under the same limit, with a table of wall times.
//!
//! Run it with `cargo run --release --example cpu_vs_blocking` (a debug
//! build is some ten times slower). Flags: `--sizes 10,1000,20000` (the n
//! of n!), `--batch N` (how many factorials of each size, default twice the
//! limit) and `--limit N` (default: the number of CPUs); `--help` lists
//! them.
//!
//! Seed task 3 timed a `ThreadPoolExecutor` (no faster, because of the GIL)
//! against a `ProcessPoolExecutor` (parallel, but paying to start processes
//! and pickle results). Rust has no GIL: the async tasks play the part of
//! asyncio (one thread, no parallelism, and the thread is stuck while a
//! factorial runs), and `submit_to_thread` gives the process pool's
//! parallelism with threads.
//!
//! A heartbeat task ticks on the daemon thread every millisecond while each
//! batch runs; its longest gap shows how long the daemon thread was unable
//! to run anything else.

#[path = "common/cli.rs"]
pub mod cli;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cli::Parsed;
use futures_timer::Delay;
use log::info;
use taskpool::{DaemonExecutor, TaskHandle};

/// An exact natural number, in base 10⁹ limbs, least significant first:
/// just enough big integer for factorials, which only ever multiply by a
/// small number, and whose digits are then easy to count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BigNat {
    limbs: Vec<u32>,
}

const BASE: u64 = 1_000_000_000;
const LIMB_DIGITS: usize = 9;

impl BigNat {
    fn one() -> BigNat {
        BigNat { limbs: vec![1] }
    }

    fn mul_small(&mut self, k: u32) {
        let mut carry = 0_u64;
        for limb in &mut self.limbs {
            // < 10⁹ · 2³² + 2³² < 2⁶⁴: no overflow.
            let x = u64::from(*limb) * u64::from(k) + carry;
            *limb = (x % BASE) as u32;
            carry = x / BASE;
        }
        while carry > 0 {
            self.limbs.push((carry % BASE) as u32);
            carry /= BASE;
        }
    }

    /// How many decimal digits it has.
    pub fn digits(&self) -> usize {
        let top = self.limbs.last().expect("never empty");
        (self.limbs.len() - 1) * LIMB_DIGITS + top.to_string().len()
    }

    /// Its first `count` decimal digits (all of them if it has fewer).
    pub fn leading_digits(&self, count: usize) -> String {
        let mut out = String::new();
        for (i, limb) in self.limbs.iter().rev().enumerate() {
            if out.len() >= count {
                break;
            }
            if i == 0 {
                write!(out, "{limb}").unwrap();
            } else {
                write!(out, "{limb:09}").unwrap();
            }
        }
        out.truncate(count);
        out
    }
}

impl fmt::Display for BigNat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.leading_digits(usize::MAX))
    }
}

/// n!, exactly.
pub fn factorial(n: u32) -> BigNat {
    let mut product = BigNat::one();
    for k in 2..=n {
        product.mul_small(k);
    }
    product
}

/// What one task computes and hands back: not the whole number (tens of
/// kilobytes for the large ones), only its size and first digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The n of n!.
    pub n: u32,
    /// How many digits n! has.
    pub digits: usize,
    /// Its first digits.
    pub leading: String,
}

/// Computes n! and sums it up: the CPU-bound unit of work.
pub fn summarize(n: u32) -> Summary {
    let value = factorial(n);
    Summary {
        n,
        digits: value.digits(),
        leading: value.leading_digits(12),
    }
}

/// One of the three ways to run a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Way {
    /// One after another on the calling thread.
    Sequential,
    /// `submit(async move { summarize(n) })`: tasks on the daemon thread.
    AsyncOnDaemon,
    /// `submit_to_thread(move || summarize(n))`: async-std's blocking pool,
    /// at most `limit` at once.
    Blocking,
}

impl Way {
    /// Every way, in the table's order.
    pub const ALL: [Way; 3] = [Way::Sequential, Way::AsyncOnDaemon, Way::Blocking];

    fn label(self) -> &'static str {
        match self {
            Way::Sequential => "sequential",
            Way::AsyncOnDaemon => "async on daemon",
            Way::Blocking => "submit_to_thread",
        }
    }
}

/// How one batch went.
#[derive(Clone, Debug)]
pub struct Run {
    /// How it ran.
    pub way: Way,
    /// From the first submission to the last result.
    pub wall: Duration,
    /// The longest time the daemon thread could not run its heartbeat
    /// (beyond the tick itself).
    pub stall: Duration,
    /// The threads the work ran on.
    pub threads: BTreeSet<String>,
    /// The most factorials that ran at once, counted inside the work.
    pub max_at_once: usize,
    /// The results, in submission order.
    pub results: Vec<Summary>,
}

/// The daemon thread's name.
pub const THREAD_NAME: &str = "cpu-daemon";

/// The heartbeat's tick.
const TICK: Duration = Duration::from_millis(1);

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("unnamed").to_owned()
}

/// Counts units of work in progress, and the most at once.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    /// One unit of work: n!, counted while it runs, and the thread it ran on.
    fn work(&self, n: u32) -> (Summary, String) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        let summary = summarize(n);
        self.now.fetch_sub(1, Ordering::SeqCst);
        (summary, thread_name())
    }
}

/// A daemon executor to run batches on.
#[derive(Debug)]
pub struct Bench {
    executor: DaemonExecutor,
    limit: usize,
    gauge: Arc<Gauge>,
}

impl Bench {
    /// A bench whose batches run at most `limit` factorials at once. Its
    /// executor's limit is one more, for the heartbeat.
    pub fn new(limit: usize) -> Bench {
        let executor = DaemonExecutor::builder()
            .limit(limit + 1)
            .thread_name(THREAD_NAME)
            .build()
            .expect("the limit is at least 1 and the name is plain");
        Bench {
            executor,
            limit,
            gauge: Arc::default(),
        }
    }

    /// The executor (for its stats).
    pub fn executor(&self) -> &DaemonExecutor {
        &self.executor
    }

    /// The limit on factorials at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Runs `batch` computations of n! one way, and times them.
    pub fn run(&self, way: Way, n: u32, batch: usize) -> Run {
        self.gauge.max.store(0, Ordering::SeqCst);
        let heartbeat = Heartbeat::start(&self.executor);
        let start = Instant::now();
        let outcomes: Vec<(Summary, String)> = match way {
            Way::Sequential => (0..batch).map(|_| self.gauge.work(n)).collect(),
            Way::AsyncOnDaemon => wait_all(
                (0..batch)
                    .map(|_| {
                        let gauge = Arc::clone(&self.gauge);
                        // No `.await` inside: once polled, it runs to the
                        // end and holds the daemon thread meanwhile.
                        self.executor
                            .pool()
                            .submit(async move { gauge.work(n) })
                            .expect("the executor is open")
                    })
                    .collect(),
            ),
            Way::Blocking => wait_all(
                (0..batch)
                    .map(|_| {
                        let gauge = Arc::clone(&self.gauge);
                        self.executor
                            .pool()
                            .submit_to_thread(move || gauge.work(n))
                            .expect("the executor is open")
                    })
                    .collect(),
            ),
        };
        let wall = start.elapsed();
        let stall = heartbeat.stop();
        let (results, threads) = outcomes.into_iter().unzip::<_, _, Vec<_>, BTreeSet<_>>();
        Run {
            way,
            wall,
            stall,
            threads,
            max_at_once: self.gauge.max.load(Ordering::SeqCst),
            results,
        }
    }
}

fn wait_all<T>(handles: Vec<TaskHandle<T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| h.wait().expect("a factorial neither panics nor is cancelled"))
        .collect()
}

/// A task on the daemon thread that ticks every [`TICK`] and records its
/// longest gap.
struct Heartbeat {
    stop: Arc<AtomicBool>,
    handle: TaskHandle<Duration>,
}

impl Heartbeat {
    /// Starts the heartbeat and returns once it runs.
    fn start(executor: &DaemonExecutor) -> Heartbeat {
        let stop = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let stopped = Arc::clone(&stop);
        let handle = executor
            .pool()
            .build_task()
            .name("heartbeat")
            .submit(async move {
                let _ = started_tx.send(());
                let mut last = Instant::now();
                let mut longest = Duration::ZERO;
                while !stopped.load(Ordering::SeqCst) {
                    Delay::new(TICK).await;
                    let now = Instant::now();
                    longest = longest.max(now - last);
                    last = now;
                }
                longest.saturating_sub(TICK)
            })
            .expect("the executor is open");
        started_rx.recv().expect("the heartbeat starts");
        Heartbeat { stop, handle }
    }

    /// Stops it and returns the longest stall it saw.
    fn stop(self) -> Duration {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.wait().expect("the heartbeat ends normally")
    }
}

/// One size, run every way.
#[derive(Clone, Debug)]
pub struct Row {
    /// The n of n!.
    pub n: u32,
    /// How many digits n! has.
    pub digits: usize,
    /// One run per way, in [`Way::ALL`] order.
    pub runs: Vec<Run>,
}

/// Runs every size every way, after a small warm-up (which starts the
/// blocking pool's threads).
pub fn measure(bench: &Bench, sizes: &[u32], batch: usize) -> Vec<Row> {
    for way in Way::ALL {
        bench.run(way, 100, batch);
    }
    sizes
        .iter()
        .map(|&n| {
            let runs: Vec<Run> = Way::ALL.iter().map(|&way| bench.run(way, n, batch)).collect();
            info!("n = {n}: done");
            Row {
                n,
                digits: runs[0].results[0].digits,
                runs,
            }
        })
        .collect()
}

fn show(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.1} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// The table: wall time of each batch, each way; then the longest daemon
/// stall and the threads each way used.
pub fn render(rows: &[Row], batch: usize, limit: usize) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "wall time for {batch} factorials of each size (at most {limit} at once):"
    )
    .unwrap();
    write!(out, "| {:>6} | {:>7} |", "n", "digits").unwrap();
    for way in Way::ALL {
        write!(out, " {:>15} |", way.label()).unwrap();
    }
    writeln!(out, " {:>22} |", "daemon stall (async)").unwrap();
    writeln!(
        out,
        "|-------:|--------:|----------------:|----------------:|----------------:|-----------------------:|"
    )
    .unwrap();
    for row in rows {
        write!(out, "| {:>6} | {:>7} |", row.n, row.digits).unwrap();
        for run in &row.runs {
            write!(out, " {:>15} |", show(run.wall)).unwrap();
        }
        let async_stall = row.runs.iter().find(|r| r.way == Way::AsyncOnDaemon).map(|r| r.stall);
        writeln!(out, " {:>22} |", async_stall.map(show).unwrap_or_default()).unwrap();
    }
    writeln!(out).unwrap();
    for way in Way::ALL {
        let runs = rows.iter().flat_map(|r| &r.runs).filter(|r| r.way == way);
        let stall = runs.clone().map(|r| r.stall).max().unwrap_or_default();
        let at_once = runs.clone().map(|r| r.max_at_once).max().unwrap_or_default();
        let threads: BTreeSet<&str> = runs.flat_map(|r| r.threads.iter().map(String::as_str)).collect();
        let threads: Vec<&str> = threads.into_iter().collect();
        writeln!(
            out,
            "{:>15}: at most {at_once} at once, on {}; longest daemon stall {}",
            way.label(),
            threads.join(", "),
            show(stall)
        )
        .unwrap();
    }
    out
}

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--sizes a,b,c`: the n of each n!.
    pub sizes: Vec<u32>,
    /// `--batch N`: factorials of each size.
    pub batch: usize,
    /// `--limit N`: at most this many at once.
    pub limit: usize,
}

/// `--help`; its first line is the usage line.
pub const HELP: &str = "\
usage: cpu_vs_blocking [--sizes N,N,...] [--batch N] [--limit N]

Times exact factorials run sequentially, as async tasks on a daemon thread,
and through submit_to_thread, and prints a table (build with --release).

  --sizes N,N,...   the n of each n! (default 1,10,100,1000,10000,20000)
  --batch N         factorials of each size per batch (default: twice the limit)
  --limit N         at most N factorials at once (default: the number of CPUs)
  -h, --help        print this help
";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<I>(args: I) -> Result<Parsed<Options>, cli::Error>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use cli::Arg::{Long, Short};
        let mut sizes = vec![1, 10, 100, 1_000, 10_000, 20_000];
        let (mut batch, mut limit) = (None, None);
        let mut parser = cli::parser(args);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("sizes") => {
                    let list: String = cli::value(&mut parser, "--sizes")?;
                    sizes = list
                        .split(',')
                        .map(|n| n.trim().parse().map_err(|_| format!("--sizes: {n:?} is not a size")))
                        .collect::<Result<_, _>>()?;
                }
                Long("batch") => batch = Some(cli::positive(&mut parser, "--batch")?),
                Long("limit") => limit = Some(cli::limit(&mut parser, "--limit")?),
                Long("help") | Short('h') => return Ok(Parsed::Help),
                _ => return Err(arg.unexpected()),
            }
        }
        let limit = limit.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Ok(Parsed::Run(Options {
            sizes,
            batch: batch.unwrap_or(2 * limit),
            limit,
        }))
    }
}

#[allow(dead_code)] // Also compiled as a module of tests/cpu_vs_blocking.rs, which has its own main.
fn main() {
    let options = cli::parse_or_exit("cpu_vs_blocking", HELP, Options::parse(std::env::args_os().skip(1)));
    cli::init_logger(log::LevelFilter::Info);
    if cfg!(debug_assertions) {
        info!("a debug build: add --release for meaningful times");
    }
    let bench = Bench::new(options.limit);
    let rows = measure(&bench, &options.sizes, options.batch);
    println!("{}", render(&rows, options.batch, options.limit));
}
