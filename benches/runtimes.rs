//! Per runtime: the throughput and round-trip scenarios of `throughput` and
//! `latency` on the tokio and smol backends, each beside that runtime's own
//! peers, in the same process, alternating, reported as ratios. Needs the
//! features `tokio` and `smol` (`required-features` in Cargo.toml):
//!
//! ```sh
//! cargo bench --features tokio,smol --bench runtimes
//! ```
//!
//! Every side of a comparison yields with the same runtime's yield: tokio's
//! `tokio::task::yield_now()` for the crate on tokio and the tokio peers,
//! smol's `smol::future::yield_now()` (futures-lite's) for the crate on
//! smol and the smol peers.
//!
//! tokio:
//! 1. in runtime: a `TaskPool` built inside a tokio multi-thread runtime
//!    (one worker per core, built once per comparison; the pool is built
//!    with no runtime named and must land on it), `submit` all M inside
//!    `rt.block_on`, await the handles in order, vs C (`Semaphore` +
//!    `tokio::spawn`, `acquire_owned` before the spawn, `JoinHandle`s
//!    awaited in order) and vs JoinSet (C's contract, the handles in a
//!    `JoinSet`), both on the same runtime;
//! 2. from a plain thread: `DaemonExecutor` with `Runtime::Tokio` vs
//!    C_plain, exactly as BENCH-PEERS.md defines it;
//! 3. round trip: that daemon's `submit(job).wait()` vs E_inline on tokio
//!    (the bare hand-off's receive loop in a current-thread tokio
//!    runtime's `block_on`, as the daemon's own), paired segments.
//!
//! smol:
//! 4. in runtime: a `TaskPool` with `.smol_executor(ex)`, `ex` run by one
//!    thread per core, `submit` all M inside `smol::block_on` on the main
//!    thread, await in order, vs A_smol (`ex.spawn` all M, no limit, await
//!    in order) and C_smol (`smol::lock::Semaphore` + `ex.spawn`), on the
//!    same `ex` and threads;
//! 5. from a plain thread: `DaemonExecutor` with `Runtime::Smol` vs
//!    C_plain_smol (the plain thread spawns each task on that same kind of
//!    executor, each task first `acquire_arc`s one `smol::lock::Semaphore`;
//!    handles waited with `futures::executor::block_on`);
//! 6. round trip: like 3, E_inline in `smol::block_on`.
//!
//! Throughput ratios are peer time ÷ crate time (above 1: the crate is
//! faster); round-trip ratios are crate p50 ÷ peer p50 (below 1: the crate
//! is faster). The tables printed at the end are the figure of record; in
//! full mode criterion then times every throughput side again for its HTML
//! report (context, not claims; `TASKPOOL_BENCH_NO_CRITERION=1` skips it).
//! A name filter after `--` (e.g. `tokio/in_runtime`) selects comparisons;
//! `TASKPOOL_BENCH_QUICK=1` for the quick mode.

mod common;

use common::*;
use criterion::Criterion;
use taskpool::Runtime;

const MEANING: &str = "peer time / crate time: crate throughput ÷ peer's";

/// The issue's bound: the pool on tokio costs at most ~1.1× tokio's own
/// Semaphore + spawn, i.e. crate time ÷ peer time ≤ 1.1, i.e. peer time ÷
/// crate time ≥ 1 / 1.1 ≈ 0.91.
fn at_least_0_91(r: f64) -> bool {
    r >= 1.0 / 1.1
}

fn tokio_throughput(mode: Mode) -> Vec<Row> {
    let n = LIMIT;
    let mut rows = Vec::new();
    if selected("tokio/in_runtime/C") {
        let mut row = Row::new(
            "tokio in_runtime: TaskPool vs C (Sem+spawn)",
            MEANING,
            ">= 0.91",
            at_least_0_91,
        );
        let rt = tokio_runtime();
        let pool = tokio_pool(&rt, n);
        compare(&mut row, mode, |m| crate_in_tokio(&rt, &pool, m), |m| peer_c(&rt, n, m));
        rows.push(row);
    }
    if selected("tokio/in_runtime/JoinSet") {
        let mut row = Row::new(
            "tokio in_runtime: TaskPool vs JoinSet (+Sem)",
            MEANING,
            ">= 0.91",
            at_least_0_91,
        );
        let rt = tokio_runtime();
        let pool = tokio_pool(&rt, n);
        compare(
            &mut row,
            mode,
            |m| crate_in_tokio(&rt, &pool, m),
            |m| peer_joinset(&rt, n, m),
        );
        rows.push(row);
    }
    if selected("tokio/plain_thread/C_plain") {
        let mut row = Row::new(
            "tokio plain_thread: DaemonExecutor vs C_plain",
            MEANING,
            ">= 0.91",
            at_least_0_91,
        );
        let executor = daemon_executor_on(Runtime::Tokio, n);
        let rt = tokio_runtime();
        compare(
            &mut row,
            mode,
            |m| crate_daemon_with(&executor, m, body_tokio),
            |m| peer_c_plain(&rt, n, m),
        );
        rows.push(row);
    }
    rows
}

fn smol_throughput(mode: Mode) -> Vec<Row> {
    let n = LIMIT;
    let mut rows = Vec::new();
    if selected("smol/in_runtime/A") {
        let mut row = Row::new(
            "smol in_runtime: TaskPool vs A_smol (spawn)",
            MEANING,
            "none",
            no_target,
        );
        let threads = SmolThreads::per_core();
        let pool = smol_pool(&threads, n);
        compare(
            &mut row,
            mode,
            |m| crate_in_smol(&pool, m),
            |m| peer_a_smol(&threads, m),
        );
        rows.push(row);
    }
    if selected("smol/in_runtime/C") {
        let mut row = Row::new(
            "smol in_runtime: TaskPool vs C_smol (Sem+spawn)",
            MEANING,
            "none",
            no_target,
        );
        let threads = SmolThreads::per_core();
        let pool = smol_pool(&threads, n);
        compare(
            &mut row,
            mode,
            |m| crate_in_smol(&pool, m),
            |m| peer_c_smol(&threads, n, m),
        );
        rows.push(row);
    }
    if selected("smol/plain_thread/C_plain") {
        let mut row = Row::new(
            "smol plain_thread: DaemonExecutor vs C_plain_smol",
            MEANING,
            "none",
            no_target,
        );
        let executor = daemon_executor_on(Runtime::Smol, n);
        let threads = SmolThreads::per_core();
        compare(
            &mut row,
            mode,
            |m| crate_daemon_with(&executor, m, body_smol),
            |m| peer_c_plain_smol(&threads, n, m),
        );
        rows.push(row);
    }
    rows
}

fn round_trips(mode: Mode) -> Vec<Row> {
    let size = round_trip_size(mode);
    let mut rows = Vec::new();
    if selected("tokio/round_trip") {
        rows.extend(round_trip_pairs(
            "tokio: DaemonExecutor vs E_inline",
            size,
            ("none", no_target),
            |trips| daemon_round_trips(Runtime::Tokio, trips, body_tokio),
            |trips| inline_round_trips(Runtime::Tokio, trips, body_tokio),
        ));
    }
    if selected("smol/round_trip") {
        rows.extend(round_trip_pairs(
            "smol: DaemonExecutor vs E_inline",
            size,
            ("none", no_target),
            |trips| daemon_round_trips(Runtime::Smol, trips, body_smol),
            |trips| inline_round_trips(Runtime::Smol, trips, body_smol),
        ));
    }
    rows
}

/// Criterion's view of the throughput sides, for its report: each side
/// timed on its own (flat sampling, one run of M tasks per iteration).
fn criterion_groups(mode: Mode) {
    let n = LIMIT;
    let m = mode.tasks();
    let mut c = Criterion::default().configure_from_args();
    let param = format!("M={m}/N={n}");
    {
        let mut group = flat_group(&mut c, "tokio_in_runtime", m);
        let rt = tokio_runtime();
        let pool = tokio_pool(&rt, n);
        bench_side(&mut group, "crate_TaskPool", &param, || crate_in_tokio(&rt, &pool, m));
        bench_side(&mut group, "C_semaphore_spawn", &param, || peer_c(&rt, n, m));
        bench_side(&mut group, "JoinSet_semaphore", &param, || peer_joinset(&rt, n, m));
        drop(pool);
        group.finish();
    }
    {
        let mut group = flat_group(&mut c, "tokio_plain_thread", m);
        let executor = daemon_executor_on(Runtime::Tokio, n);
        bench_side(&mut group, "crate_DaemonExecutor", &param, || {
            crate_daemon_with(&executor, m, body_tokio)
        });
        drop(executor);
        let rt = tokio_runtime();
        bench_side(&mut group, "C_plain", &param, || peer_c_plain(&rt, n, m));
        group.finish();
    }
    {
        let mut group = flat_group(&mut c, "smol_in_runtime", m);
        let threads = SmolThreads::per_core();
        let pool = smol_pool(&threads, n);
        bench_side(&mut group, "crate_TaskPool", &param, || crate_in_smol(&pool, m));
        bench_side(&mut group, "A_smol_spawn", &param, || peer_a_smol(&threads, m));
        bench_side(&mut group, "C_smol_semaphore_spawn", &param, || {
            peer_c_smol(&threads, n, m)
        });
        drop(pool);
        group.finish();
    }
    {
        let mut group = flat_group(&mut c, "smol_plain_thread", m);
        let executor = daemon_executor_on(Runtime::Smol, n);
        bench_side(&mut group, "crate_DaemonExecutor", &param, || {
            crate_daemon_with(&executor, m, body_smol)
        });
        drop(executor);
        let threads = SmolThreads::per_core();
        bench_side(&mut group, "C_plain_smol", &param, || peer_c_plain_smol(&threads, n, m));
        group.finish();
    }
    c.final_summary();
}

fn main() {
    let mode = Mode::get();
    print_header("runtimes", mode);
    let mut rows = tokio_throughput(mode);
    rows.extend(smol_throughput(mode));
    print_table("runtimes throughput", &rows);
    let (pairs, trips) = round_trip_size(mode);
    println!("== round trips: {pairs} segment pairs of {trips} round trips, crate limit {ROUND_TRIP_LIMIT}");
    let rows = round_trips(mode);
    print_table(
        "runtimes round trip (ns are the sides' median per-segment percentiles)",
        &rows,
    );
    if criterion_wanted(mode) {
        criterion_groups(mode);
    }
}
