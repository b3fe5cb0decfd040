//! Throughput: the crate beside the peers of BENCH-PEERS.md, in the same
//! process, alternating, reported as ratios.
//!
//! 1. In runtime (async code submits and awaits): `TaskPool` vs A (async-std
//!    spawn, no limit), C (tokio `Semaphore` + `spawn`), D
//!    (`buffer_unordered(N)` on `futures::executor::block_on`).
//! 2. From a plain thread (sync code submits and waits): `DaemonExecutor` vs
//!    C_plain (tokio from a plain thread), F (naive async-std daemon),
//!    F_inline (bare hand-off, body inline, no limiter).
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
//! for the quick mode.

mod common;

use std::time::Duration;

use common::*;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use taskpool::TaskPool;

/// Positional command-line arguments (after `--`), as a name filter.
fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn higher_is_better_1_3(r: f64) -> bool {
    r >= 1.3
}
fn higher_is_better_2_0(r: f64) -> bool {
    r >= 2.0
}
fn higher_is_better_0_8(r: f64) -> bool {
    r >= 0.8
}
fn no_target(_: f64) -> bool {
    true
}

const MEANING: &str = "peer time / crate time: crate throughput ÷ peer's";

/// Runs R rounds of `crate_side` beside `peer_side`, alternating, after one
/// untimed warm-up run of each at a tenth of the size.
fn compare(
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

/// Criterion's view of the same runs, for its report: each side timed on
/// its own (flat sampling, one run of M tasks per iteration).
fn criterion_groups(mode: Mode) {
    let n = LIMIT;
    let m = mode.tasks();
    let mut c = Criterion::default().configure_from_args();
    let param = format!("M={m}/N={n}");
    {
        let mut group = c.benchmark_group("in_runtime");
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(m));
        let pool = TaskPool::new(n).unwrap();
        group.bench_function(BenchmarkId::new("crate_TaskPool", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| crate_in_runtime(&pool, m)).sum())
        });
        drop(pool);
        group.bench_function(BenchmarkId::new("A_async_std_spawn", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_a(m)).sum())
        });
        let rt = tokio_runtime();
        group.bench_function(BenchmarkId::new("C_tokio_semaphore", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_c(&rt, n, m)).sum())
        });
        drop(rt);
        group.bench_function(BenchmarkId::new("D_buffer_unordered", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_d(n, m)).sum())
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("plain_thread");
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(m));
        let executor = daemon_executor(n);
        group.bench_function(BenchmarkId::new("crate_DaemonExecutor", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| crate_daemon(&executor, m)).sum())
        });
        drop(executor);
        let rt = tokio_runtime();
        group.bench_function(BenchmarkId::new("C_plain_tokio", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_c_plain(&rt, n, m)).sum())
        });
        drop(rt);
        let naive = NaiveDaemon::limited(n);
        group.bench_function(BenchmarkId::new("F_naive_daemon", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_naive(&naive, Some(n), m)).sum())
        });
        drop(naive);
        let inline = NaiveDaemon::inline();
        group.bench_function(BenchmarkId::new("F_inline_bare", &param), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peer_naive(&inline, None, m)).sum())
        });
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
    print_table("throughput", &rows);
    if mode == Mode::Full && std::env::var_os("TASKPOOL_BENCH_NO_CRITERION").is_none() {
        criterion_groups(mode);
    }
}
