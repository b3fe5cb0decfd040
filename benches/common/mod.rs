//! What the benches share, as `/work/shared/BENCH-PEERS.md` defines it (the
//! spec is summarised in BENCHMARKS.md):
//!
//! - the one task body every side runs (two global atomics that prove the
//!   limit from inside the tasks, one yield, `i + 1` checked by the waiter);
//! - the peers a user would pick instead of the crate (ids A, C, C_plain, D,
//!   F, F_inline, E_inline), each a function timing one run;
//! - the crate's own scenarios, timed the same way;
//! - the mode (full, quick, smoke) and the ratio bookkeeping: medians and
//!   ranges of per-round ratios, printed as a table.
//!
//! Building an executor or runtime, one warm-up round trip, and dropping or
//! joining are never inside a clock.
#![allow(dead_code)] // Each bench binary uses a different subset.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use taskpool::{DaemonExecutor, TaskPool};

// ---------------------------------------------------------------------------
// The task body
// ---------------------------------------------------------------------------

/// Bodies running now, and the most that ever ran at once since the last
/// [`reset_active`].
pub static ACTIVE: AtomicUsize = AtomicUsize::new(0);
pub static MAX_ACTIVE: AtomicUsize = AtomicUsize::new(0);

fn enter() {
    let active = ACTIVE.fetch_add(1, Relaxed) + 1;
    MAX_ACTIVE.fetch_max(active, Relaxed);
}

fn leave() {
    ACTIVE.fetch_sub(1, Relaxed);
}

/// The body of every task on the crate's side and on the async-std peers
/// (A, D, F, F_inline, E_inline): count in, yield once to the executor,
/// count out, return `i + 1`.
pub async fn body(i: u64) -> u64 {
    enter();
    async_std::task::yield_now().await;
    leave();
    i + 1
}

/// The same body with tokio's yield, for the tokio peers (C, C_plain) only.
pub async fn body_tokio(i: u64) -> u64 {
    enter();
    tokio::task::yield_now().await;
    leave();
    i + 1
}

pub fn reset_active() {
    assert_eq!(ACTIVE.load(Relaxed), 0, "a body is still running");
    MAX_ACTIVE.store(0, Relaxed);
}

/// After a run: every body has ended and at most `limit` ran at once (the
/// limit, proved from inside the tasks). `None` for the unbounded peers.
pub fn check_active(side: &str, limit: Option<usize>) {
    assert_eq!(ACTIVE.load(Relaxed), 0, "{side}: a body is still running");
    let max = MAX_ACTIVE.load(Relaxed);
    assert!(max >= 1, "{side}: no body ran");
    if let Some(limit) = limit {
        assert!(max <= limit, "{side}: {max} bodies ran at once, limit {limit}");
    }
}

// ---------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------

/// How much to run. `cargo bench` passes `--bench`: full mode, or quick mode
/// with `TASKPOOL_BENCH_QUICK=1`. Without `--bench` (`cargo test --benches`)
/// a smoke run only checks that every scenario works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Full,
    Quick,
    Smoke,
}

impl Mode {
    pub fn get() -> Mode {
        let quick = std::env::var_os("TASKPOOL_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        if !std::env::args().any(|a| a == "--bench") {
            Mode::Smoke
        } else if quick {
            Mode::Quick
        } else {
            Mode::Full
        }
    }

    /// Rounds per comparison (R).
    pub fn rounds(self) -> usize {
        match self {
            Mode::Full => 10,
            Mode::Quick => 3,
            Mode::Smoke => 1,
        }
    }

    /// Tasks per run (M).
    pub fn tasks(self) -> u64 {
        match self {
            Mode::Full => 200_000,
            Mode::Quick => 50_000,
            Mode::Smoke => 2_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Quick => "quick (TASKPOOL_BENCH_QUICK=1)",
            Mode::Smoke => "smoke (no --bench: only checks that each scenario runs)",
        }
    }
}

/// The limit N of every throughput scenario.
pub const LIMIT: usize = 64;

pub fn print_header(bench: &str, mode: Mode) {
    println!(
        "== {bench}: mode {}, nproc {}, R = {} rounds, M = {}, N = {LIMIT}",
        mode.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mode.rounds(),
        mode.tasks(),
    );
}

// ---------------------------------------------------------------------------
// Ratios
// ---------------------------------------------------------------------------

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    })
}

/// Per-task cost in ns of a run of `m` tasks.
pub fn ns_per_task(d: Duration, m: u64) -> f64 {
    d.as_secs_f64() * 1e9 / m as f64
}

/// One line of a ratio table: per-round ratios and per-round costs of each
/// side.
pub struct Row {
    pub name: String,
    /// What the ratio is, e.g. "peer time / crate time (higher is better)".
    pub meaning: &'static str,
    pub target: &'static str,
    /// Whether the median meets the target.
    pub met: fn(f64) -> bool,
    pub ratios: Vec<f64>,
    /// Median per-task cost (or latency) of the crate's side and the
    /// peer's, in ns, over the rounds, for context only.
    pub crate_ns: Vec<f64>,
    pub peer_ns: Vec<f64>,
}

impl Row {
    pub fn new(name: impl Into<String>, meaning: &'static str, target: &'static str, met: fn(f64) -> bool) -> Row {
        Row {
            name: name.into(),
            meaning,
            target,
            met,
            ratios: Vec::new(),
            crate_ns: Vec::new(),
            peer_ns: Vec::new(),
        }
    }

    pub fn push(&mut self, ratio: f64, crate_ns: f64, peer_ns: f64) {
        self.ratios.push(ratio);
        self.crate_ns.push(crate_ns);
        self.peer_ns.push(peer_ns);
    }

    pub fn print_round(&self) {
        let r = self.ratios.len();
        println!(
            "  {:<50} round {r:>2}: ratio {:>6.3}  (crate {:>9.1} ns, other {:>9.1} ns)",
            self.name,
            self.ratios[r - 1],
            self.crate_ns[r - 1],
            self.peer_ns[r - 1]
        );
    }
}

pub fn print_table(title: &str, rows: &[Row]) {
    println!();
    println!("-- {title}: ratio table (figure of record) --");
    println!(
        "| {:<50} | {:>6} | {:>15} | {:>11} | {:>11} | {:<8} | {:<4} | meaning",
        "comparison", "median", "range (rounds)", "crate ns", "other ns", "target", "met"
    );
    for row in rows {
        let (lo, hi) = min_max(&row.ratios);
        let m = median(&row.ratios);
        println!(
            "| {:<50} | {:>6.3} | {:>6.3} – {:<6.3} | {:>11.1} | {:>11.1} | {:<8} | {:<4} | {} (R = {})",
            row.name,
            m,
            lo,
            hi,
            median(&row.crate_ns),
            median(&row.peer_ns),
            row.target,
            if row.target == "none" {
                "-"
            } else if (row.met)(m) {
                "met"
            } else {
                "MISS"
            },
            row.meaning,
            row.ratios.len(),
        );
    }
    println!();
}

// ---------------------------------------------------------------------------
// In-runtime throughput: the crate, A, C, D
// ---------------------------------------------------------------------------

/// crate, in runtime: inside `async_std::task::block_on`, `submit` all `m`
/// bodies to `pool`, then `.await` every handle in order, checking `i + 1`.
pub fn crate_in_runtime(pool: &TaskPool, m: u64) -> Duration {
    reset_active();
    let d = async_std::task::block_on(async {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(m as usize);
        for i in 0..m {
            handles.push(pool.submit(body(i)).unwrap());
        }
        for (i, h) in (0..m).zip(handles) {
            assert_eq!(h.await.unwrap(), i + 1);
        }
        start.elapsed()
    });
    check_active("crate in-runtime", Some(pool.limit()));
    d
}

/// A: inside `async_std::task::block_on`, `task::spawn` all `m` bodies, then
/// `.await` every `JoinHandle` in order. No limit.
pub fn peer_a(m: u64) -> Duration {
    reset_active();
    let d = async_std::task::block_on(async {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(m as usize);
        for i in 0..m {
            handles.push(async_std::task::spawn(body(i)));
        }
        for (i, h) in (0..m).zip(handles) {
            assert_eq!(h.await, i + 1);
        }
        start.elapsed()
    });
    check_active("A", None);
    d
}

/// A tokio multi-thread runtime (one worker per core), built once per
/// comparison, for C and C_plain.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_multi_thread().build().unwrap();
    // One warm-up round trip, outside every clock.
    assert_eq!(rt.block_on(rt.spawn(body_tokio(0))).unwrap(), 1);
    rt
}

/// C: inside `rt.block_on`, for each task `acquire_owned` a permit of one
/// `Semaphore(n)`, then `tokio::spawn` the body holding it; then await every
/// `JoinHandle` in order.
pub fn peer_c(rt: &tokio::runtime::Runtime, n: usize, m: u64) -> Duration {
    reset_active();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(n));
    let d = rt.block_on(async {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(m as usize);
        for i in 0..m {
            let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
            handles.push(tokio::spawn(async move {
                let _permit = permit;
                body_tokio(i).await
            }));
        }
        for (i, h) in (0..m).zip(handles) {
            assert_eq!(h.await.unwrap(), i + 1);
        }
        start.elapsed()
    });
    check_active("C", Some(n));
    d
}

/// D: one thread, `futures::executor::block_on`, no spawning: the `m`
/// bodies through `buffer_unordered(n)`. Results come in any order, so the
/// waiter checks their count and sum.
pub fn peer_d(n: usize, m: u64) -> Duration {
    reset_active();
    let d = futures::executor::block_on(async {
        let start = Instant::now();
        let (count, sum) = futures::stream::iter(0..m)
            .map(body)
            .buffer_unordered(n)
            .fold((0_u64, 0_u64), |(count, sum), v| async move {
                assert!((1..=m).contains(&v));
                (count + 1, sum + v)
            })
            .await;
        assert_eq!((count, sum), (m, m * (m + 1) / 2));
        start.elapsed()
    });
    check_active("D", Some(n));
    d
}

// ---------------------------------------------------------------------------
// From a plain thread: the crate, C_plain, F, F_inline
// ---------------------------------------------------------------------------

/// A `DaemonExecutor` with limit `n`, after one warm-up round trip.
pub fn daemon_executor(n: usize) -> DaemonExecutor {
    let executor = DaemonExecutor::new(n).unwrap();
    assert_eq!(executor.pool().submit(body(0)).unwrap().wait().unwrap(), 1);
    executor
}

/// A `TaskPool` with limit `n`, after one warm-up round trip.
pub fn task_pool(n: usize) -> TaskPool {
    let pool = TaskPool::new(n).unwrap();
    assert_eq!(pool.submit(body(0)).unwrap().wait().unwrap(), 1);
    pool
}

/// crate, from a plain thread: `pool().submit` all `m` bodies, then `wait`
/// every handle in order, checking `i + 1`.
pub fn crate_daemon(executor: &DaemonExecutor, m: u64) -> Duration {
    reset_active();
    let start = Instant::now();
    let mut handles = Vec::with_capacity(m as usize);
    for i in 0..m {
        handles.push(executor.pool().submit(body(i)).unwrap());
    }
    for (i, h) in (0..m).zip(handles) {
        assert_eq!(h.wait().unwrap(), i + 1);
    }
    let d = start.elapsed();
    check_active("crate DaemonExecutor", Some(executor.pool().limit()));
    d
}

/// C_plain: the plain thread calls `rt.spawn` for each task; each task first
/// awaits `acquire_owned` of one shared `Semaphore(n)`, runs the body; then
/// the plain thread waits each `JoinHandle` in order with
/// `futures::executor::block_on`, checking `i + 1`.
pub fn peer_c_plain(rt: &tokio::runtime::Runtime, n: usize, m: u64) -> Duration {
    reset_active();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(n));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(m as usize);
    for i in 0..m {
        let semaphore = Arc::clone(&semaphore);
        handles.push(rt.spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            body_tokio(i).await
        }));
    }
    for (i, h) in (0..m).zip(handles) {
        assert_eq!(futures::executor::block_on(h).unwrap(), i + 1);
    }
    let d = start.elapsed();
    check_active("C_plain", Some(n));
    d
}

/// The one-shot F, F_inline and E_inline send each result back through:
/// one `Arc` per job, a `Mutex<Option<T>>` and a `Condvar`.
pub struct OneShot<T> {
    slot: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> OneShot<T> {
    fn set(&self, value: T) {
        *self.slot.lock().unwrap() = Some(value);
        self.ready.notify_one();
    }

    /// Blocks the calling thread until the value is there.
    pub fn wait(&self) -> T {
        let mut slot = self.slot.lock().unwrap();
        loop {
            if let Some(value) = slot.take() {
                return value;
            }
            slot = self.ready.wait(slot).unwrap();
        }
    }
}

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Gives its token back to the limit's channel when dropped, however the
/// task ends.
struct TokenGuard(async_channel::Sender<()>);

impl Drop for TokenGuard {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

/// F (`NaiveDaemon::limited`) and F_inline / E_inline (`NaiveDaemon::inline`):
/// a thread running `async_std::task::block_on` over a loop that receives
/// jobs from an unbounded `async_channel`.
pub struct NaiveDaemon {
    jobs: async_channel::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NaiveDaemon {
    fn start(run: impl FnOnce(async_channel::Receiver<Job>) + Send + 'static) -> NaiveDaemon {
        let (jobs, rx) = async_channel::unbounded::<Job>();
        let thread = std::thread::spawn(move || run(rx));
        let daemon = NaiveDaemon {
            jobs,
            thread: Some(thread),
        };
        // One warm-up round trip, outside every clock.
        assert_eq!(daemon.submit(body(0)).wait(), 1);
        daemon
    }

    /// F: each job first takes a token from a bounded channel prefilled with
    /// `n` unit tokens, then is `async_std::task::spawn`ed on the global
    /// executor with a guard that returns the token on drop.
    pub fn limited(n: usize) -> NaiveDaemon {
        NaiveDaemon::start(move |rx| {
            async_std::task::block_on(async move {
                let (token_tx, token_rx) = async_channel::bounded::<()>(n);
                for _ in 0..n {
                    token_tx.try_send(()).unwrap();
                }
                while let Ok(job) = rx.recv().await {
                    token_rx.recv().await.unwrap();
                    let guard = TokenGuard(token_tx.clone());
                    async_std::task::spawn(async move {
                        let _guard = guard;
                        job.await;
                    });
                }
            })
        })
    }

    /// F_inline / E_inline: the same thread and job channel, the body runs
    /// inline in the receive loop: no spawn, no token.
    pub fn inline() -> NaiveDaemon {
        NaiveDaemon::start(|rx| {
            async_std::task::block_on(async move {
                while let Ok(job) = rx.recv().await {
                    job.await;
                }
            })
        })
    }

    /// Hands `future` to the thread; never blocks. Wait on the one-shot.
    pub fn submit<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> Arc<OneShot<T>> {
        let shot = Arc::new(OneShot {
            slot: Mutex::new(None),
            ready: Condvar::new(),
        });
        let done = Arc::clone(&shot);
        let job: Job = Box::pin(async move { done.set(future.await) });
        self.jobs.try_send(job).unwrap();
        shot
    }
}

impl Drop for NaiveDaemon {
    fn drop(&mut self) {
        self.jobs.close();
        self.thread.take().unwrap().join().unwrap();
    }
}

/// F or F_inline: submit all `m` bodies, then wait every one-shot in order,
/// checking `i + 1`.
pub fn peer_naive(daemon: &NaiveDaemon, limit: Option<usize>, m: u64) -> Duration {
    reset_active();
    let start = Instant::now();
    let mut shots = Vec::with_capacity(m as usize);
    for i in 0..m {
        shots.push(daemon.submit(body(i)));
    }
    for (i, shot) in (0..m).zip(shots) {
        assert_eq!(shot.wait(), i + 1);
    }
    let d = start.elapsed();
    check_active(if limit.is_some() { "F" } else { "F_inline" }, limit.or(Some(1)));
    d
}
