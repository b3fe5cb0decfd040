//! What the benches share, as `/work/shared/BENCH-PEERS.md` defines it (the
//! spec is summarised in BENCHMARKS.md):
//!
//! - the one task body every side runs (two global atomics that prove the
//!   limit from inside the tasks, one yield, `i + 1` checked by the waiter),
//!   with the yield of the runtime under test: [`body`] (async-std),
//!   [`body_tokio`], and `body_smol` (feature `smol`, in `with_smol.rs`);
//! - the peers a user would pick instead of the crate (ids A, C, C_plain, D,
//!   F, F_inline, E_inline), each a function timing one run, and their tokio
//!   and smol counterparts for `benches/runtimes.rs` (the JoinSet peer here,
//!   the smol ones in `with_smol.rs`);
//! - the crate's own scenarios, timed the same way, on any backend: the
//!   timed parts ([`submit_all_then_await`], [`spawn_all_then_await`],
//!   [`spawn_all_then_wait`], [`round_trip_segment`]) take the body, and the
//!   caller picks the runtime's `block_on`;
//! - the mode (full, quick, smoke), the name filter, the alternating rounds
//!   ([`compare`], [`round_trip_pairs`]) and the ratio bookkeeping: medians
//!   and ranges of per-round ratios, printed as a table.
//!
//! Building an executor or runtime, one warm-up round trip, and dropping or
//! joining are never inside a clock.
#![allow(dead_code)] // Each bench binary uses a different subset.

use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use futures::{FutureExt, StreamExt};
use taskpool::{DaemonExecutor, Runtime, TaskPool};

#[cfg(feature = "smol")]
mod with_smol;
#[cfg(feature = "smol")]
pub use with_smol::*;

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
/// count out, return `i + 1`. (In `benches/runtimes.rs` the crate's side on
/// tokio or smol yields as that runtime's peers do: [`body_tokio`],
/// `body_smol`.)
pub async fn body(i: u64) -> u64 {
    enter();
    async_std::task::yield_now().await;
    leave();
    i + 1
}

/// The same body with tokio's yield, for the tokio peers (C, C_plain,
/// JoinSet, E_inline on tokio) and, in `benches/runtimes.rs` only, the
/// crate's side on the tokio backend.
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

/// Resets the counters, runs one timed side, then checks that every body
/// ended and that at most `limit` ran at once.
pub fn checked(side: &str, limit: Option<usize>, run: impl FnOnce() -> Duration) -> Duration {
    reset_active();
    let d = run();
    check_active(side, limit);
    d
}

/// The body with `runtime`'s yield, boxed: for warm-up trips only, which are
/// outside every clock.
pub fn body_on(runtime: Runtime, i: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    match runtime {
        Runtime::Tokio => Box::pin(body_tokio(i)),
        #[cfg(feature = "smol")]
        Runtime::Smol => Box::pin(body_smol(i)),
        _ => Box::pin(body(i)),
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

/// Positional command-line arguments (after `--`), as a name filter.
pub fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
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

pub fn no_target(_: f64) -> bool {
    true
}

/// Runs R rounds of `crate_side` beside `peer_side`, alternating, after one
/// untimed warm-up run of each at a tenth of the size. A round's ratio is
/// the peer's time over the crate's (above 1: the crate is faster).
pub fn compare(
    row: &mut Row,
    mode: Mode,
    mut crate_side: impl FnMut(u64) -> Duration,
    mut peer_side: impl FnMut(u64) -> Duration,
) {
    let m = mode.tasks();
    crate_side(m / 10);
    peer_side(m / 10);
    for round in 0..mode.rounds() {
        let (c, p) = if round % 2 == 0 {
            let c = crate_side(m);
            (c, peer_side(m))
        } else {
            let p = peer_side(m);
            (crate_side(m), p)
        };
        row.push(p.as_secs_f64() / c.as_secs_f64(), ns_per_task(c, m), ns_per_task(p, m));
        row.print_round();
    }
}

// ---------------------------------------------------------------------------
// Criterion's view (context, not claims)
// ---------------------------------------------------------------------------

/// Whether to run the criterion groups after the ratio tables: full mode,
/// unless `TASKPOOL_BENCH_NO_CRITERION` is set.
pub fn criterion_wanted(mode: Mode) -> bool {
    mode == Mode::Full && std::env::var_os("TASKPOOL_BENCH_NO_CRITERION").is_none()
}

/// A group timing one run of `m` tasks per iteration: flat sampling, 10
/// samples, 0.5 s warm-up, 3 s measurement.
pub fn flat_group<'a>(c: &'a mut Criterion, name: &str, m: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(m));
    group
}

/// One side in a [`flat_group`]: `run` times one run of M tasks.
pub fn bench_side(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, param: &str, mut run: impl FnMut() -> Duration) {
    group.bench_function(BenchmarkId::new(id, param), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run()).sum())
    });
}

// ---------------------------------------------------------------------------
// In-runtime throughput: the crate, A, C, D; on tokio, C and JoinSet
// ---------------------------------------------------------------------------

/// The timed part of the crate's in-runtime scenario, on whichever runtime
/// polls it: `submit` all `m` bodies to `pool`, then `.await` every handle
/// in order, checking `i + 1`.
pub async fn submit_all_then_await<F>(pool: &TaskPool, m: u64, body: impl Fn(u64) -> F) -> Duration
where
    F: Future<Output = u64> + Send + 'static,
{
    let start = Instant::now();
    let mut handles = Vec::with_capacity(m as usize);
    for i in 0..m {
        handles.push(pool.submit(body(i)).unwrap());
    }
    for (i, h) in (0..m).zip(handles) {
        assert_eq!(h.await.unwrap(), i + 1);
    }
    start.elapsed()
}

/// The timed part of the spawning peers (A, C and their smol
/// counterparts): for each task, await `acquire()` (a permit, or `()` for
/// the unbounded peers), then `spawn(i, permit)` gives a handle; then every
/// handle is awaited in order, checking `i + 1`.
pub async fn spawn_all_then_await<A, H>(
    m: u64,
    mut acquire: impl FnMut() -> A,
    mut spawn: impl FnMut(u64, A::Output) -> H,
) -> Duration
where
    A: Future,
    H: Future<Output = u64>,
{
    let start = Instant::now();
    let mut handles = Vec::with_capacity(m as usize);
    for i in 0..m {
        let permit = acquire().await;
        handles.push(spawn(i, permit));
    }
    for (i, h) in (0..m).zip(handles) {
        assert_eq!(h.await, i + 1);
    }
    start.elapsed()
}

/// crate, in runtime: inside `async_std::task::block_on`, `submit` all `m`
/// bodies to `pool`, then `.await` every handle in order, checking `i + 1`.
pub fn crate_in_runtime(pool: &TaskPool, m: u64) -> Duration {
    checked("crate in-runtime", Some(pool.limit()), || {
        async_std::task::block_on(submit_all_then_await(pool, m, body))
    })
}

/// A: inside `async_std::task::block_on`, `task::spawn` all `m` bodies, then
/// `.await` every `JoinHandle` in order. No limit.
pub fn peer_a(m: u64) -> Duration {
    checked("A", None, || {
        async_std::task::block_on(spawn_all_then_await(
            m,
            || ready(()),
            |i, ()| async_std::task::spawn(body(i)),
        ))
    })
}

/// A tokio multi-thread runtime (one worker per core), built once per
/// comparison, for C, C_plain, JoinSet and the crate's pool on tokio.
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
    let semaphore = Arc::new(tokio::sync::Semaphore::new(n));
    checked("C", Some(n), || {
        rt.block_on(spawn_all_then_await(
            m,
            || Arc::clone(&semaphore).acquire_owned(),
            |i, permit| {
                let permit = permit.unwrap();
                tokio::spawn(async move {
                    let _permit = permit;
                    body_tokio(i).await
                })
                .map(Result::unwrap)
            },
        ))
    })
}

/// JoinSet: C's contract with a `tokio::task::JoinSet` instead of a `Vec`
/// of `JoinHandle`s: inside `rt.block_on`, for each task `acquire_owned` a
/// permit of one `Semaphore(n)`, then `set.spawn` the body holding it; then
/// `join_next` until the set is empty. Results come in completion order, so
/// the waiter checks their count and sum.
pub fn peer_joinset(rt: &tokio::runtime::Runtime, n: usize, m: u64) -> Duration {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(n));
    checked("JoinSet", Some(n), || {
        rt.block_on(async {
            let start = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for i in 0..m {
                let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
                set.spawn(async move {
                    let _permit = permit;
                    body_tokio(i).await
                });
            }
            let (mut count, mut sum) = (0_u64, 0_u64);
            while let Some(v) = set.join_next().await {
                let v = v.unwrap();
                assert!((1..=m).contains(&v));
                (count, sum) = (count + 1, sum + v);
            }
            assert_eq!((count, sum), (m, m * (m + 1) / 2));
            start.elapsed()
        })
    })
}

/// A `TaskPool` with limit `n` built inside `rt` (`TaskPool::builder()`
/// with no runtime named, called from `rt.block_on`): it must run there.
/// One warm-up round trip.
pub fn tokio_pool(rt: &tokio::runtime::Runtime, n: usize) -> TaskPool {
    let pool = rt.block_on(async { TaskPool::builder().limit(n).build().unwrap() });
    assert_eq!(
        pool.runtime(),
        Runtime::Tokio,
        "a pool built inside a tokio runtime runs there"
    );
    assert_eq!(rt.block_on(pool.submit(body_tokio(0)).unwrap()).unwrap(), 1);
    pool
}

/// crate, in a tokio runtime: inside `rt.block_on`, `submit` all `m`
/// bodies (tokio's yield) to `pool`, then `.await` every handle in order.
pub fn crate_in_tokio(rt: &tokio::runtime::Runtime, pool: &TaskPool, m: u64) -> Duration {
    checked("crate in tokio", Some(pool.limit()), || {
        rt.block_on(submit_all_then_await(pool, m, body_tokio))
    })
}

/// D: one thread, `futures::executor::block_on`, no spawning: the `m`
/// bodies through `buffer_unordered(n)`. Results come in any order, so the
/// waiter checks their count and sum.
pub fn peer_d(n: usize, m: u64) -> Duration {
    checked("D", Some(n), || {
        futures::executor::block_on(async {
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
        })
    })
}

// ---------------------------------------------------------------------------
// From a plain thread: the crate, C_plain, F, F_inline
// ---------------------------------------------------------------------------

/// A `DaemonExecutor` with limit `n` (the default runtime), after one
/// warm-up round trip.
pub fn daemon_executor(n: usize) -> DaemonExecutor {
    daemon_executor_on(Runtime::preferred(), n)
}

/// A `DaemonExecutor` on `runtime` with limit `n`, after one warm-up round
/// trip (with that runtime's yield).
pub fn daemon_executor_on(runtime: Runtime, n: usize) -> DaemonExecutor {
    let executor = DaemonExecutor::builder().runtime(runtime).limit(n).build().unwrap();
    assert_eq!(executor.pool().runtime(), runtime);
    assert_eq!(executor.pool().submit(body_on(runtime, 0)).unwrap().wait().unwrap(), 1);
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
    crate_daemon_with(executor, m, body)
}

/// [`crate_daemon`] with another body (another runtime's yield).
pub fn crate_daemon_with<F>(executor: &DaemonExecutor, m: u64, body: impl Fn(u64) -> F) -> Duration
where
    F: Future<Output = u64> + Send + 'static,
{
    checked("crate DaemonExecutor", Some(executor.pool().limit()), || {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(m as usize);
        for i in 0..m {
            handles.push(executor.pool().submit(body(i)).unwrap());
        }
        for (i, h) in (0..m).zip(handles) {
            assert_eq!(h.wait().unwrap(), i + 1);
        }
        start.elapsed()
    })
}

/// The timed part of C_plain and its smol counterpart: the plain thread
/// calls `spawn(i)` for each task (never blocking), then waits each handle
/// in order with `futures::executor::block_on`, checking `i + 1`.
pub fn spawn_all_then_wait<H>(m: u64, mut spawn: impl FnMut(u64) -> H) -> Duration
where
    H: Future<Output = u64>,
{
    let start = Instant::now();
    let mut handles = Vec::with_capacity(m as usize);
    for i in 0..m {
        handles.push(spawn(i));
    }
    for (i, h) in (0..m).zip(handles) {
        assert_eq!(futures::executor::block_on(h), i + 1);
    }
    start.elapsed()
}

/// C_plain: the plain thread calls `rt.spawn` for each task; each task first
/// awaits `acquire_owned` of one shared `Semaphore(n)`, runs the body; then
/// the plain thread waits each `JoinHandle` in order with
/// `futures::executor::block_on`, checking `i + 1`.
pub fn peer_c_plain(rt: &tokio::runtime::Runtime, n: usize, m: u64) -> Duration {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(n));
    checked("C_plain", Some(n), || {
        spawn_all_then_wait(m, |i| {
            let semaphore = Arc::clone(&semaphore);
            rt.spawn(async move {
                let _permit = semaphore.acquire_owned().await.unwrap();
                body_tokio(i).await
            })
            .map(Result::unwrap)
        })
    })
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
/// jobs from an unbounded `async_channel`. `NaiveDaemon::inline_on` gives
/// the same bare hand-off on the `block_on` of tokio or smol.
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
        NaiveDaemon::inline_on(Runtime::AsyncStd)
    }

    /// E_inline on another runtime: the same job channel and inline
    /// receive loop, driven by that runtime's `block_on` on the thread, the
    /// way the crate's daemon thread drives its own: tokio, a
    /// current-thread runtime with every driver (`enable_all`, as the
    /// daemon's), built on the thread before the warm-up trip; smol,
    /// `smol::block_on` (async-io's).
    pub fn inline_on(runtime: Runtime) -> NaiveDaemon {
        NaiveDaemon::start(move |rx| {
            let run = async move {
                while let Ok(job) = rx.recv().await {
                    job.await;
                }
            };
            match runtime {
                Runtime::AsyncStd => async_std::task::block_on(run),
                Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(run),
                #[cfg(feature = "smol")]
                Runtime::Smol => smol::block_on(run),
                other => panic!("no bare hand-off on {other:?} in this build"),
            }
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
    let side = if limit.is_some() { "F" } else { "F_inline" };
    checked(side, limit.or(Some(1)), || {
        let start = Instant::now();
        let mut shots = Vec::with_capacity(m as usize);
        for i in 0..m {
            shots.push(daemon.submit(body(i)));
        }
        for (i, shot) in (0..m).zip(shots) {
            assert_eq!(shot.wait(), i + 1);
        }
        start.elapsed()
    })
}

// ---------------------------------------------------------------------------
// Round trip (one task at a time, from a plain thread)
// ---------------------------------------------------------------------------

/// The limit of the crate's executor in the round-trip scenarios.
pub const ROUND_TRIP_LIMIT: usize = 64;

/// Segment pairs and round trips per segment.
pub fn round_trip_size(mode: Mode) -> (usize, u64) {
    match mode {
        Mode::Full => (10, 2_000),
        Mode::Quick => (4, 1_000),
        Mode::Smoke => (1, 100),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e9
}

/// `trips` round trips, each timed alone (`trip(i)` must return `i + 1`);
/// (p50, p99) in ns.
pub fn round_trip_segment(trips: u64, mut trip: impl FnMut(u64) -> u64) -> (f64, f64) {
    let mut samples = Vec::with_capacity(trips as usize);
    for i in 0..trips {
        let start = Instant::now();
        let v = trip(i);
        samples.push(start.elapsed());
        assert_eq!(v, i + 1);
    }
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// The crate's round-trip segment: a fresh `DaemonExecutor` on `runtime`
/// (limit [`ROUND_TRIP_LIMIT`], built outside the clock, one warm-up trip),
/// then `pool().submit(body(i)).wait()`, `trips` times.
pub fn daemon_round_trips<F>(runtime: Runtime, trips: u64, body: impl Fn(u64) -> F) -> (f64, f64)
where
    F: Future<Output = u64> + Send + 'static,
{
    reset_active();
    let executor = daemon_executor_on(runtime, ROUND_TRIP_LIMIT);
    let r = round_trip_segment(trips, |i| executor.pool().submit(body(i)).unwrap().wait().unwrap());
    check_active("crate round trip", Some(ROUND_TRIP_LIMIT));
    drop(executor);
    r
}

/// E_inline's segment: a fresh bare hand-off daemon on `runtime`
/// ([`NaiveDaemon::inline_on`], one warm-up trip), then submit one job and
/// wait its one-shot, `trips` times.
pub fn inline_round_trips<F>(runtime: Runtime, trips: u64, body: impl Fn(u64) -> F) -> (f64, f64)
where
    F: Future<Output = u64> + Send + 'static,
{
    reset_active();
    let daemon = NaiveDaemon::inline_on(runtime);
    let r = round_trip_segment(trips, |i| daemon.submit(body(i)).wait());
    check_active("E_inline round trip", Some(1));
    drop(daemon);
    r
}

/// Paired segments, in the order crate, peer, peer, crate, crate, peer, …:
/// a pair's ratio is the crate's p50 over the peer's (below 1: the crate is
/// faster), and the same for p99. Returns the p50 row (with `p50_target`)
/// and the p99 row (no target), named after `label`.
pub fn round_trip_pairs(
    label: &str,
    (pairs, trips): (usize, u64),
    (p50_target, p50_met): (&'static str, fn(f64) -> bool),
    mut crate_segment: impl FnMut(u64) -> (f64, f64),
    mut peer_segment: impl FnMut(u64) -> (f64, f64),
) -> [Row; 2] {
    const MEANING: &str = "crate / peer (below 1: crate faster)";
    let mut p50 = Row::new(format!("round trip p50: {label}"), MEANING, p50_target, p50_met);
    let mut p99 = Row::new(format!("round trip p99: {label}"), MEANING, "none", no_target);
    for pair in 0..pairs {
        let ((c50, c99), (e50, e99)) = if pair % 2 == 0 {
            let c = crate_segment(trips);
            (c, peer_segment(trips))
        } else {
            let e = peer_segment(trips);
            (crate_segment(trips), e)
        };
        p50.push(c50 / e50, c50, e50);
        p99.push(c99 / e99, c99, e99);
        p50.print_round();
        p99.print_round();
    }
    [p50, p99]
}
