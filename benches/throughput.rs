//! Throughput: the pool beside what a user would pick instead, in the same
//! run, so each figure reads as a ratio.
//!
//! 1. In-runtime: M tasks that each yield once, limit N, submitted from
//!    async code through a `TaskPool`, beside raw `async_std::task::spawn`
//!    (no limit), `buffer_unordered(N)` and tokio `Semaphore` + `spawn`.
//!    A fourth baseline, `channel_permit_spawn`, is the least a
//!    channel-permit limit can cost on top of async-std's spawn.
//! 2. From plain threads: M tasks submitted to a `DaemonExecutor` by 1 and
//!    by 4 threads, every handle waited, beside a bare channel hand-off to a
//!    thread running `block_on`, tokio `Semaphore` + `spawn` (multi-thread
//!    runtime, and single-thread runtime on a thread of its own), and a
//!    naive async-std dispatcher spawning on the global executor.

mod common;

use std::time::Duration;

use common::{FedThread, TokioLimited, TokioOneThread, yield_once};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use taskpool::{DaemonExecutor, TaskPool};

fn in_runtime(c: &mut Criterion) {
    let mut group = c.benchmark_group("in_runtime");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for m in [1_000_u64, 100_000] {
        group.throughput(Throughput::Elements(m));
        for n in [1_usize, 16, 1024] {
            let param = format!("M={m}/N={n}");
            let pool = TaskPool::new(n).unwrap();
            group.bench_with_input(BenchmarkId::new("taskpool", &param), &m, |b, &m| {
                b.iter(|| {
                    async_std::task::block_on(async {
                        let handles: Vec<_> = (0..m).map(|_| pool.submit(yield_once()).unwrap()).collect();
                        for h in handles {
                            h.await.unwrap();
                        }
                    })
                })
            });
            group.bench_with_input(BenchmarkId::new("buffer_unordered", &param), &m, |b, &m| {
                b.iter(|| {
                    async_std::task::block_on(
                        futures::stream::iter(0..m)
                            .map(|_| yield_once())
                            .buffer_unordered(n)
                            .for_each(|()| async {}),
                    )
                })
            });
            let tokio = TokioLimited::new(n);
            group.bench_with_input(BenchmarkId::new("tokio_semaphore_spawn", &param), &m, |b, &m| {
                b.iter(|| {
                    tokio.rt.block_on(async {
                        let handles: Vec<_> = (0..m)
                            .map(|_| {
                                let semaphore = std::sync::Arc::clone(&tokio.semaphore);
                                tokio::spawn(async move {
                                    let _permit = semaphore.acquire_owned().await.unwrap();
                                    tokio::task::yield_now().await;
                                })
                            })
                            .collect();
                        for h in handles {
                            h.await.unwrap();
                        }
                    })
                })
            });
        }
        // The least a channel-permit limit can cost on top of async-std's
        // spawn: take a token, spawn, give it back. No queue, no handles.
        group.bench_with_input(
            BenchmarkId::new("channel_permit_spawn", format!("M={m}/N=1024")),
            &m,
            |b, &m| {
                let (tokens_tx, tokens_rx) = async_channel::bounded::<()>(1024);
                for _ in 0..1024 {
                    tokens_tx.try_send(()).unwrap();
                }
                b.iter(|| {
                    async_std::task::block_on(async {
                        let mut handles = Vec::with_capacity(m as usize);
                        for _ in 0..m {
                            tokens_rx.recv().await.unwrap();
                            let tokens_tx = tokens_tx.clone();
                            handles.push(async_std::task::spawn(async move {
                                yield_once().await;
                                let _ = tokens_tx.try_send(());
                            }));
                        }
                        for h in handles {
                            h.await;
                        }
                    })
                })
            },
        );
        // No limit, so one figure per M.
        group.bench_with_input(
            BenchmarkId::new("async_std_spawn", format!("M={m}/N=∞")),
            &m,
            |b, &m| {
                b.iter(|| {
                    async_std::task::block_on(async {
                        let handles: Vec<_> = (0..m).map(|_| async_std::task::spawn(yield_once())).collect();
                        for h in handles {
                            h.await;
                        }
                    })
                })
            },
        );
    }
    group.finish();
}

/// Submits `m` tasks from each of `threads` plain threads, then waits for
/// all of them; `submit` returns a blocking waiter per task.
fn from_threads<W, S>(threads: u64, m: u64, submit: &S)
where
    S: Fn() -> W + Sync,
    W: FnOnce(),
{
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let waiters: Vec<W> = (0..m / threads).map(|_| submit()).collect();
                waiters.into_iter().for_each(|wait| wait());
            });
        }
    });
}

fn from_plain_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("from_plain_threads");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let (m, n) = (100_000_u64, 16_usize);
    group.throughput(Throughput::Elements(m));
    for threads in [1_u64, 4] {
        let param = format!("M={m}/N={n}/threads={threads}");
        let executor = DaemonExecutor::new(n).unwrap();
        group.bench_with_input(BenchmarkId::new("daemon_executor", &param), &threads, |b, &t| {
            b.iter(|| {
                from_threads(t, m, &|| {
                    let h = executor.pool().submit(yield_once()).unwrap();
                    move || h.wait().unwrap()
                })
            })
        });
        drop(executor);
        let bare = FedThread::bare();
        group.bench_with_input(BenchmarkId::new("bare_channel_thread", &param), &threads, |b, &t| {
            b.iter(|| {
                from_threads(t, m, &|| {
                    let rx = bare.submit(yield_once());
                    move || rx.recv_blocking().unwrap()
                })
            })
        });
        drop(bare);
        let tokio = TokioLimited::new(n);
        group.bench_with_input(BenchmarkId::new("tokio_semaphore_spawn", &param), &threads, |b, &t| {
            b.iter(|| {
                from_threads(t, m, &|| {
                    let h = tokio.spawn(tokio::task::yield_now());
                    move || futures::executor::block_on(h).unwrap()
                })
            })
        });
        drop(tokio);
        let one_thread = TokioOneThread::new(n);
        group.bench_with_input(
            BenchmarkId::new("tokio_one_thread_semaphore_spawn", &param),
            &threads,
            |b, &t| {
                b.iter(|| {
                    from_threads(t, m, &|| {
                        let h = one_thread.spawn(tokio::task::yield_now());
                        move || futures::executor::block_on(h).unwrap()
                    })
                })
            },
        );
        drop(one_thread);
        let naive = FedThread::naive_dispatcher(n);
        group.bench_with_input(
            BenchmarkId::new("naive_async_std_dispatcher", &param),
            &threads,
            |b, &t| {
                b.iter(|| {
                    from_threads(t, m, &|| {
                        let rx = naive.submit(yield_once());
                        move || rx.recv_blocking().unwrap()
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, in_runtime, from_plain_threads);
criterion_main!(benches);
