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

use common::*;
use taskpool::Runtime;

fn at_most_1_2(r: f64) -> bool {
    r <= 1.2
}

fn main() {
    let mode = Mode::get();
    let (pairs, trips) = round_trip_size(mode);
    println!(
        "== latency: mode {}, nproc {}, {pairs} segment pairs of {trips} round trips, crate limit {ROUND_TRIP_LIMIT}",
        mode.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let rows = round_trip_pairs(
        "DaemonExecutor vs E_inline",
        (pairs, trips),
        ("<= 1.2", at_most_1_2),
        |trips| daemon_round_trips(Runtime::preferred(), trips, body),
        |trips| inline_round_trips(Runtime::AsyncStd, trips, body),
    );
    print_table("latency (ns are the sides' median per-segment percentiles)", &rows);
}
