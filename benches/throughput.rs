//! Throughput: the crate beside the peers of BENCH-PEERS.md, in the same
//! process, alternating, reported as ratios.
//!
//! 1. In runtime (async code submits and awaits): `TaskPool` vs A (async-std
//!    spawn, no limit), C (tokio `Semaphore` + `spawn`), D
//!    (`buffer_unordered(N)` on `futures::executor::block_on`).
//! 2. From a plain thread (sync code submits and waits): `DaemonExecutor` vs
//!    C_plain (tokio from a plain thread), F (naive async-std daemon),
//!    F_inline (bare hand-off, body inline, no limiter).
//! 3. From a plain thread, against the Python seed's structure:
//!    `DaemonExecutor` vs `benches/python/seed_peer.py` (an asyncio loop on a
//!    daemon thread, `run_coroutine_threadsafe`, `asyncio.Semaphore(N)`), per
//!    task, the Python side at M/20; skipped, with a line saying why, when
//!    `python3` cannot run. Not in the criterion groups.
//!
//! Each comparison runs R rounds; a round runs the crate's side and the
//! peer's once each (the order flips every round), and its ratio is the
//! peer's time over the crate's (above 1: the crate is faster). The table
//! printed at the end, median and min–max of the per-round ratios, is the
//! figure of record. In full mode criterion then times every side again for
//! its HTML report (`target/criterion/report/index.html`); those absolute
//! times are context, not claims.
//!
//! `cargo bench --bench throughput [-- FILTER]`; `TASKPOOL_BENCH_QUICK=1`
//! for the quick mode; `TASKPOOL_BENCH_NO_CRITERION=1` stops after the
//! ratio table.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use criterion::Criterion;
use taskpool::TaskPool;

fn higher_is_better_1_3(r: f64) -> bool {
    r >= 1.3
}
fn higher_is_better_2_0(r: f64) -> bool {
    r >= 2.0
}
fn higher_is_better_0_8(r: f64) -> bool {
    r >= 0.8
}
fn higher_is_better_75(r: f64) -> bool {
    r >= 75.0
}

const MEANING: &str = "peer time / crate time: crate throughput ÷ peer's";

fn in_runtime(mode: Mode) -> Vec<Row> {
    let n = LIMIT;
    let mut rows = Vec::new();
    if selected("in_runtime/A") {
        let mut row = Row::new(
            "in_runtime: TaskPool vs A (async-std spawn)",
            MEANING,
            ">= 0.8",
            higher_is_better_0_8,
        );
        let pool = TaskPool::new(n).unwrap();
        compare(&mut row, mode, |m| crate_in_runtime(&pool, m), peer_a);
        rows.push(row);
    }
    if selected("in_runtime/C") {
        let mut row = Row::new(
            "in_runtime: TaskPool vs C (tokio Semaphore)",
            MEANING,
            ">= 1.3",
            higher_is_better_1_3,
        );
        let pool = TaskPool::new(n).unwrap();
        let rt = tokio_runtime();
        compare(&mut row, mode, |m| crate_in_runtime(&pool, m), |m| peer_c(&rt, n, m));
        rows.push(row);
    }
    if selected("in_runtime/D") {
        let mut row = Row::new(
            "in_runtime: TaskPool vs D (buffer_unordered)",
            MEANING,
            "none",
            no_target,
        );
        let pool = TaskPool::new(n).unwrap();
        compare(&mut row, mode, |m| crate_in_runtime(&pool, m), |m| peer_d(n, m));
        rows.push(row);
    }
    rows
}

fn from_plain_thread(mode: Mode) -> Vec<Row> {
    let n = LIMIT;
    let mut rows = Vec::new();
    if selected("plain_thread/C_plain") {
        let mut row = Row::new(
            "plain_thread: DaemonExecutor vs C_plain (tokio)",
            MEANING,
            ">= 1.3",
            higher_is_better_1_3,
        );
        let executor = daemon_executor(n);
        let rt = tokio_runtime();
        compare(
            &mut row,
            mode,
            |m| crate_daemon(&executor, m),
            |m| peer_c_plain(&rt, n, m),
        );
        rows.push(row);
    }
    if selected("plain_thread/F") {
        let mut row = Row::new(
            "plain_thread: DaemonExecutor vs F (naive daemon)",
            MEANING,
            ">= 2.0",
            higher_is_better_2_0,
        );
        let executor = daemon_executor(n);
        let naive = NaiveDaemon::limited(n);
        compare(
            &mut row,
            mode,
            |m| crate_daemon(&executor, m),
            |m| peer_naive(&naive, Some(n), m),
        );
        rows.push(row);
    }
    if selected("plain_thread/F_inline") {
        let mut row = Row::new(
            "plain_thread: DaemonExecutor vs F_inline (bare)",
            MEANING,
            "none",
            no_target,
        );
        let executor = daemon_executor(n);
        let inline = NaiveDaemon::inline();
        compare(
            &mut row,
            mode,
            |m| crate_daemon(&executor, m),
            |m| peer_naive(&inline, None, m),
        );
        rows.push(row);
    }
    rows
}

// ---------------------------------------------------------------------------
// From a plain thread, against the Python seed's structure
// ---------------------------------------------------------------------------

/// The Python side runs M / `PYTHON_DIVISOR` tasks per round (10 000 in full
/// mode): at ~100× the crate's per-task cost, M tasks would take seconds a
/// round. Its ratio is therefore per task, not per run.
const PYTHON_DIVISOR: u64 = 20;

/// The script reproducing the seed's structure; see its docstring.
const PYTHON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python/seed_peer.py");

const PYTHON_MEANING: &str = "Python ns/task (at M/20) / crate ns/task (at M)";

/// The Python seed peer: `python3 benches/python/seed_peer.py M_py N 1`, one
/// process per round. The process builds an asyncio loop on a daemon thread
/// and one `asyncio.Semaphore(N)` on it, runs one untimed warm-up round of
/// M_py/10 tasks, then times one round: the main (plain) thread submits M_py
/// bodies with `asyncio.run_coroutine_threadsafe`, each under
/// `async with sem:` (count in, `await asyncio.sleep(0)`, count out, return
/// `i + 1`), and waits every `concurrent.futures.Future`'s `.result()` in
/// order, checking `i + 1` and `MAX_ACTIVE <= N`. It prints the seconds
/// (`time.perf_counter`) around submit + wait only, so interpreter start,
/// loop building and the warm-up are outside the clock.
struct PythonSeed {
    /// `python3 --version`, for the report.
    version: String,
}

impl PythonSeed {
    /// Whether `python3` runs here; the reason it does not, otherwise.
    fn probe() -> Result<PythonSeed, String> {
        let out = Command::new("python3")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => "python3 is not on PATH".to_string(),
                _ => format!("python3 could not be started: {e}"),
            })?;
        if !out.status.success() {
            return Err(format!(
                "`python3 --version` failed ({}): {}",
                out.status,
                last_line(&out.stderr)
            ));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(PythonSeed { version })
    }

    /// One timed round of `m` tasks, limit `n`, in a fresh process.
    fn round(&self, m: u64, n: usize) -> Result<Duration, String> {
        let out = Command::new("python3")
            .arg(PYTHON_SCRIPT)
            .args([m.to_string(), n.to_string(), "1".to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("python3 could not be started: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "seed_peer.py failed ({}): {}",
                out.status,
                last_line(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let seconds: Vec<f64> = stdout.lines().filter_map(|l| l.trim().parse().ok()).collect();
        match seconds[..] {
            [s] if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(format!(
                "seed_peer.py printed {:?}, not one time in seconds",
                stdout.trim()
            )),
        }
    }
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
        .trim()
        .to_string()
}

/// `DaemonExecutor` (the crate side of `from_plain_thread`, at M) vs the
/// Python seed peer (at M / `PYTHON_DIVISOR`). Like `compare`: one untimed
/// warm-up of the crate side at M/10 (the Python process warms up on its
/// own), then R rounds, each one crate run in this process and one Python
/// process, the order flipping every round; a round's ratio is Python's ns
/// per task over the crate's. `Ok(None)` if the filter leaves it out;
/// `Err(reason)` if `python3` cannot run or a Python round fails: the bench
/// goes on without the row.
fn python_seed(mode: Mode) -> Result<Option<Row>, String> {
    if !selected("plain_thread/python_seed") {
        return Ok(None);
    }
    let python = PythonSeed::probe()?;
    let n = LIMIT;
    let m = mode.tasks();
    let m_py = (m / PYTHON_DIVISOR).max(1);
    let mut row = Row::new(
        "plain_thread: DaemonExecutor vs Python seed (run_coroutine_threadsafe + asyncio.Semaphore)",
        PYTHON_MEANING,
        ">= 75",
        higher_is_better_75,
    );
    println!(
        "  Python seed peer: {} (`python3`), M_py = M/{PYTHON_DIVISOR} = {m_py} tasks, one process per round; \
         ratio per task",
        python.version
    );
    let executor = daemon_executor(n);
    crate_daemon(&executor, m / 10);
    for round in 0..mode.rounds() {
        let (c, p) = if round % 2 == 0 {
            let c = crate_daemon(&executor, m);
            (c, python.round(m_py, n)?)
        } else {
            let p = python.round(m_py, n)?;
            (crate_daemon(&executor, m), p)
        };
        let (crate_ns, python_ns) = (ns_per_task(c, m), ns_per_task(p, m_py));
        row.push(python_ns / crate_ns, crate_ns, python_ns);
        row.print_round();
    }
    Ok(Some(row))
}

/// Criterion's view of the same runs, for its report: each side timed on
/// its own (flat sampling, one run of M tasks per iteration).
fn criterion_groups(mode: Mode) {
    let n = LIMIT;
    let m = mode.tasks();
    let mut c = Criterion::default().configure_from_args();
    let param = format!("M={m}/N={n}");
    {
        let mut group = flat_group(&mut c, "in_runtime", m);
        let pool = TaskPool::new(n).unwrap();
        bench_side(&mut group, "crate_TaskPool", &param, || crate_in_runtime(&pool, m));
        drop(pool);
        bench_side(&mut group, "A_async_std_spawn", &param, || peer_a(m));
        let rt = tokio_runtime();
        bench_side(&mut group, "C_tokio_semaphore", &param, || peer_c(&rt, n, m));
        drop(rt);
        bench_side(&mut group, "D_buffer_unordered", &param, || peer_d(n, m));
        group.finish();
    }
    {
        let mut group = flat_group(&mut c, "plain_thread", m);
        let executor = daemon_executor(n);
        bench_side(&mut group, "crate_DaemonExecutor", &param, || {
            crate_daemon(&executor, m)
        });
        drop(executor);
        let rt = tokio_runtime();
        bench_side(&mut group, "C_plain_tokio", &param, || peer_c_plain(&rt, n, m));
        drop(rt);
        let naive = NaiveDaemon::limited(n);
        bench_side(&mut group, "F_naive_daemon", &param, || peer_naive(&naive, Some(n), m));
        drop(naive);
        let inline = NaiveDaemon::inline();
        bench_side(&mut group, "F_inline_bare", &param, || peer_naive(&inline, None, m));
        drop(inline);
        group.finish();
    }
    c.final_summary();
}

fn main() {
    let mode = Mode::get();
    print_header("throughput", mode);
    let mut rows = in_runtime(mode);
    rows.extend(from_plain_thread(mode));
    let python_skipped = match python_seed(mode) {
        Ok(row) => {
            rows.extend(row);
            None
        }
        Err(reason) => {
            println!("  SKIPPED plain_thread/python_seed (the Python seed peer): {reason}");
            Some(reason)
        }
    };
    print_table("throughput", &rows);
    if let Some(reason) = python_skipped {
        println!("(not in the table: plain_thread/python_seed, skipped: {reason})");
        println!();
    }
    if criterion_wanted(mode) {
        criterion_groups(mode);
    }
}
