//! Scaling: the crate's cost per task must stay flat as the number of tasks
//! M and the limit N grow (no O(N) or O(queue) step on the submit, start or
//! finish path). Both for `TaskPool` in runtime and `DaemonExecutor` from a
//! plain thread, with the crate's scenarios of `throughput` and the common
//! task body.
//!
//! - M: cost per task at M = 10⁶ (one run) over the median of 100 runs at
//!   M = 10³, limit 64;
//! - N: cost per task at N = 4 096 over N = 16, M = 200 000;
//! - context, no target: async-std's own `task::spawn` (peer A), M = 10⁶
//!   over 10³ measured the same way, to tell the machine's share of the M
//!   ratio from the pool's.
//!
//! Every run is on a fresh pool or executor (built outside the clock, one
//! warm-up trip). R rounds, the order flipping every round; the figure of
//! record is the median and min–max of the per-round ratios (target ≤ 1.3).
//!
//! `cargo bench --bench scaling`; `TASKPOOL_BENCH_QUICK=1` for the quick
//! mode.

mod common;

use std::time::Duration;

use common::*;

fn at_most_1_3(r: f64) -> bool {
    r <= 1.3
}

const MEANING: &str = "cost per task, large ÷ small";

/// Context, no target: async-std's own `task::spawn` (peer A, no limit),
/// measured the same way, shows how much of a large run's extra cost per
/// task is the machine's (caches, page faults, the allocator's main arena
/// with every task alive at once) rather than the pool's.
fn peer_a_run(m: u64) -> f64 {
    ns_per_task(peer_a(m), m)
}

/// One run of `m` tasks, limit `n`, on a fresh pool (`daemon` false) or a
/// fresh executor; ns per task.
fn fresh_run(daemon: bool, n: usize, m: u64) -> f64 {
    let d: Duration = if daemon {
        let executor = daemon_executor(n);
        let d = crate_daemon(&executor, m);
        drop(executor);
        d
    } else {
        let pool = task_pool(n);
        let d = crate_in_runtime(&pool, m);
        drop(pool);
        d
    };
    ns_per_task(d, m)
}

/// The median of `runs` calls of `run`.
fn median_of(runs: usize, mut run: impl FnMut() -> f64) -> f64 {
    median(&(0..runs).map(|_| run()).collect::<Vec<_>>())
}

/// One round of `row`: the large side and the small side, the large one
/// first in even rounds and last in odd ones; the ratio is large ÷ small.
fn push_round(row: &mut Row, round: usize, large: impl FnOnce() -> f64, small: impl FnOnce() -> f64) {
    let (large, small) = if round % 2 == 0 {
        let l = large();
        (l, small())
    } else {
        let s = small();
        (large(), s)
    };
    row.push(large / small, large, small);
    row.print_round();
}

fn main() {
    let mode = Mode::get();
    let (big_m, small_m, small_runs) = match mode {
        Mode::Full => (1_000_000, 1_000, 100),
        Mode::Quick => (1_000_000, 1_000, 30),
        Mode::Smoke => (10_000, 1_000, 3),
    };
    let m = mode.tasks();
    println!(
        "== scaling: mode {}, nproc {}, R = {} rounds; M: {big_m} ÷ {small_m} (median of {small_runs} runs), N = {LIMIT}; \
         N: 4096 ÷ 16, M = {m}",
        mode.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mode.rounds(),
    );
    let mut rows = Vec::new();
    for (daemon, side) in [(false, "TaskPool in-runtime"), (true, "DaemonExecutor plain thread")] {
        let mut by_m = Row::new(format!("{side}: M=10^6 ÷ M=10^3"), MEANING, "<= 1.3", at_most_1_3);
        let mut by_n = Row::new(format!("{side}: N=4096 ÷ N=16"), MEANING, "<= 1.3", at_most_1_3);
        for round in 0..mode.rounds() {
            push_round(
                &mut by_m,
                round,
                || fresh_run(daemon, LIMIT, big_m),
                || median_of(small_runs, || fresh_run(daemon, LIMIT, small_m)),
            );
            push_round(
                &mut by_n,
                round,
                || fresh_run(daemon, 4096, m),
                || fresh_run(daemon, 16, m),
            );
        }
        rows.push(by_m);
        rows.push(by_n);
    }
    let mut a_by_m = Row::new(
        "A async-std spawn: M=10^6 ÷ M=10^3 (context)",
        MEANING,
        "none",
        no_target,
    );
    for round in 0..mode.rounds() {
        push_round(
            &mut a_by_m,
            round,
            || peer_a_run(big_m),
            || median_of(small_runs, || peer_a_run(small_m)),
        );
    }
    rows.push(a_by_m);
    print_table(
        "scaling (\"crate ns\" is the large side, \"other ns\" the small side)",
        &rows,
    );
}
