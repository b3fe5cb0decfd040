//! Scaling: the cost per task must stay flat as the number of tasks M grows
//! from 10^3 to 10^6 and as the limit N grows from 1 to 4096 — no O(N) or
//! O(queue) step on the submit / start / finish path. Criterion reports
//! throughput in tasks per second, so flat means equal figures.

mod common;

use std::time::Duration;

use common::yield_once;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use taskpool::{DaemonExecutor, TaskPool};

fn run_in_runtime(pool: &TaskPool, m: u64) {
    async_std::task::block_on(async {
        let handles: Vec<_> = (0..m).map(|_| pool.submit(yield_once()).unwrap()).collect();
        for h in handles {
            h.await.unwrap();
        }
    })
}

fn run_from_thread(executor: &DaemonExecutor, m: u64) {
    let handles: Vec<_> = (0..m).map(|_| executor.pool().submit(yield_once()).unwrap()).collect();
    handles.into_iter().for_each(|h| h.wait().unwrap());
}

fn tasks(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling_tasks");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    let pool = TaskPool::new(16).unwrap();
    let executor = DaemonExecutor::new(16).unwrap();
    for m in [1_000_u64, 10_000, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(m));
        group.bench_with_input(BenchmarkId::new("taskpool", format!("M={m}/N=16")), &m, |b, &m| {
            b.iter(|| run_in_runtime(&pool, m))
        });
        group.bench_with_input(
            BenchmarkId::new("daemon_executor", format!("M={m}/N=16")),
            &m,
            |b, &m| b.iter(|| run_from_thread(&executor, m)),
        );
    }
    group.finish();
}

fn limit(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling_limit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    let m = 100_000_u64;
    group.throughput(Throughput::Elements(m));
    for n in [1_usize, 16, 256, 4096] {
        let pool = TaskPool::new(n).unwrap();
        group.bench_with_input(BenchmarkId::new("taskpool", format!("M={m}/N={n}")), &m, |b, &m| {
            b.iter(|| run_in_runtime(&pool, m))
        });
        let executor = DaemonExecutor::new(n).unwrap();
        group.bench_with_input(
            BenchmarkId::new("daemon_executor", format!("M={m}/N={n}")),
            &m,
            |b, &m| b.iter(|| run_from_thread(&executor, m)),
        );
    }
    group.finish();
}

criterion_group!(benches, tasks, limit);
criterion_main!(benches);
