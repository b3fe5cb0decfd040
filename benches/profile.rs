//! Not a comparison: runs one of the crate's scenarios alone, in a loop, so
//! that a profiler sees only the crate's side. Does nothing unless
//! `TASKPOOL_BENCH_PROFILE` names a scenario:
//!
//! ```sh
//! cargo bench --no-run
//! TASKPOOL_BENCH_PROFILE=plain_thread perf record -e cpu-clock -g \
//!     target/release/deps/profile-<hash> --bench
//! ```
//!
//! Scenarios: `in_runtime` (`TaskPool`, limit 64, from async code) and
//! `plain_thread` (`DaemonExecutor`, limit 64, from a plain thread), each M
//! = 200 000 tasks, 10 runs (`TASKPOOL_BENCH_PROFILE_RUNS` to change).

mod common;

use common::*;

fn main() {
    let Ok(scenario) = std::env::var("TASKPOOL_BENCH_PROFILE") else {
        return;
    };
    let runs: usize = std::env::var("TASKPOOL_BENCH_PROFILE_RUNS").map_or(10, |r| r.parse().unwrap());
    let m = 200_000;
    let per_task: Vec<f64> = match scenario.as_str() {
        "in_runtime" => {
            let pool = task_pool(LIMIT);
            (0..runs).map(|_| ns_per_task(crate_in_runtime(&pool, m), m)).collect()
        }
        "plain_thread" => {
            let executor = daemon_executor(LIMIT);
            (0..runs).map(|_| ns_per_task(crate_daemon(&executor, m), m)).collect()
        }
        other => panic!("TASKPOOL_BENCH_PROFILE={other}: expected in_runtime or plain_thread"),
    };
    println!(
        "profile {scenario}: median {:.1} ns per task over {runs} runs",
        median(&per_task)
    );
}
