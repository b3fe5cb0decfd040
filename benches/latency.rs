//! Round-trip latency from a plain thread: submit one trivial task, wait for
//! its handle, repeat — beside the bare hand-off (a channel to a thread
//! running `block_on`, and a one-shot channel back), which pays the same
//! unavoidable thread wake-ups with nothing else.
//!
//! Criterion reports the mean; after it, this bench prints p50 and p99 from
//! its own measurement of single round trips, interleaved between the two
//! contenders so that both see the same machine.

mod common;

use std::time::{Duration, Instant};

use common::FedThread;
use criterion::{Criterion, criterion_group};
use taskpool::DaemonExecutor;

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let executor = DaemonExecutor::new(16).unwrap();
    group.bench_function("daemon_executor", |b| {
        b.iter(|| executor.pool().submit(async { 7 }).unwrap().wait().unwrap())
    });
    let bare = FedThread::bare();
    group.bench_function("bare_channel_thread", |b| {
        b.iter(|| bare.submit(async { 7 }).recv_blocking().unwrap())
    });
    group.finish();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// p50 and p99 of single round trips, the two contenders interleaved.
fn percentiles() {
    const SAMPLES: usize = 20_000;
    let executor = DaemonExecutor::new(16).unwrap();
    let bare = FedThread::bare();
    let (mut pool, mut base) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    for i in 0..SAMPLES * 11 / 10 {
        let t = Instant::now();
        executor.pool().submit(async { 7 }).unwrap().wait().unwrap();
        let p = t.elapsed();
        let t = Instant::now();
        bare.submit(async { 7 }).recv_blocking().unwrap();
        let b = t.elapsed();
        if i >= SAMPLES / 10 {
            // The first tenth warms up.
            pool.push(p);
            base.push(b);
        }
    }
    pool.sort();
    base.sort();
    for (name, p) in [("p50", 0.50), ("p99", 0.99)] {
        let (x, y) = (percentile(&pool, p), percentile(&base, p));
        println!(
            "round_trip {name}: daemon_executor {x:?}, bare_channel_thread {y:?}, ratio {:.2}",
            x.as_secs_f64() / y.as_secs_f64()
        );
    }
}

criterion_group!(benches, round_trip);

fn main() {
    benches();
    percentiles();
    criterion::Criterion::default().configure_from_args().final_summary();
}
