//! Round trip from a plain thread, one task at a time: `DaemonExecutor`
//! (limit 64, `pool().submit(body).wait()`) vs E_inline (F_inline's bare
//! daemon: submit one job, wait its one-shot).
//!
//! Measured in segments, not trip by trip: pairs of segments of T trips
//! each, in the order crate, peer, peer, crate, crate, peer, … (10 pairs of
//! 2 000 trips in full mode), each segment on a fresh executor or daemon
//! (built outside the clock, one warm-up trip). A pair's ratio is the
//! crate's p50 over the peer's p50 (below 1: the crate is faster); the
//! figure of record is the median and min–max of the per-pair ratios. The
//! same for p99, for context.
//!
//! `cargo bench --bench latency`; `TASKPOOL_BENCH_QUICK=1` for the quick
//! mode.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The limit of the crate's executor in this scenario.
const ROUND_TRIP_LIMIT: usize = 64;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e9
}

/// One segment: `trips` round trips on a fresh side; (p50, p99) in ns.
fn segment(crate_side: bool, trips: u64) -> (f64, f64) {
    let mut samples = Vec::with_capacity(trips as usize);
    reset_active();
    if crate_side {
        let executor = daemon_executor(ROUND_TRIP_LIMIT);
        for i in 0..trips {
            let start = Instant::now();
            let v = executor.pool().submit(body(i)).unwrap().wait().unwrap();
            samples.push(start.elapsed());
            assert_eq!(v, i + 1);
        }
        check_active("crate round trip", Some(ROUND_TRIP_LIMIT));
        drop(executor);
    } else {
        let daemon = NaiveDaemon::inline();
        for i in 0..trips {
            let start = Instant::now();
            let v = daemon.submit(body(i)).wait();
            samples.push(start.elapsed());
            assert_eq!(v, i + 1);
        }
        check_active("E_inline round trip", Some(1));
        drop(daemon);
    }
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

fn at_most_1_2(r: f64) -> bool {
    r <= 1.2
}
fn no_target(_: f64) -> bool {
    true
}

fn main() {
    let mode = Mode::get();
    let (pairs, trips) = match mode {
        Mode::Full => (10, 2_000),
        Mode::Quick => (4, 1_000),
        Mode::Smoke => (1, 100),
    };
    println!(
        "== latency: mode {}, nproc {}, {pairs} segment pairs of {trips} round trips, crate limit {ROUND_TRIP_LIMIT}",
        mode.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    const MEANING: &str = "crate / peer (below 1: crate faster)";
    let mut p50 = Row::new(
        "round trip p50: DaemonExecutor vs E_inline",
        MEANING,
        "<= 1.2",
        at_most_1_2,
    );
    let mut p99 = Row::new("round trip p99: DaemonExecutor vs E_inline", MEANING, "none", no_target);
    for pair in 0..pairs {
        let ((c50, c99), (e50, e99)) = if pair % 2 == 0 {
            let c = segment(true, trips);
            (c, segment(false, trips))
        } else {
            let e = segment(false, trips);
            (segment(true, trips), e)
        };
        p50.push(c50 / e50, c50, e50);
        p99.push(c99 / e99, c99, e99);
        p50.print_round();
        p99.print_round();
    }
    print_table(
        "latency (ns are the sides' median per-segment percentiles)",
        &[p50, p99],
    );
}
