//! Soak: millions of short tasks from 4 threads, with random cancels and
//! timeouts, checking the invariants and that memory stays flat.
//!
//! Ignored by default (it runs for a few minutes). Run it with
//! `cargo test --release --test soak -- --ignored --nocapture`.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Probe;
use counting_alloc::{Counting, live_bytes};
use taskpool::{DaemonExecutor, TaskPool};

#[global_allocator]
static ALLOC: Counting = Counting;

const THREADS: u64 = 4;
const PER_THREAD_PER_ROUND: u64 = 50_000;
const ROUNDS: u64 = 40;
/// The run stops early, at a round boundary, past this.
const TIME_CAP: Duration = Duration::from_secs(240);

/// A small xorshift, so each thread's mix is random but reproducible.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn round(pool: &TaskPool, probe: &Probe, round: u64) {
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (pool, probe) = (pool.clone(), probe.clone());
            std::thread::spawn(move || {
                let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (round * THREADS + t + 1);
                let mut handles = Vec::with_capacity(1024);
                for i in 0..PER_THREAD_PER_ROUND {
                    let r = next(&mut seed);
                    let probe = probe.clone();
                    let sleeps = r % 16 == 0;
                    let task = async move {
                        let _inside = probe.enter();
                        if sleeps {
                            futures_timer::Delay::new(Duration::from_micros(50)).await;
                        }
                        i
                    };
                    let handle = if r % 23 == 0 {
                        pool.build_task()
                            .timeout(Duration::from_micros(30))
                            .submit(task)
                            .unwrap()
                    } else {
                        pool.submit(task).unwrap()
                    };
                    if r % 29 == 0 {
                        handle.cancel();
                    }
                    if r % 3 == 0 {
                        drop(handle); // detached
                    } else {
                        handles.push((i, handle));
                    }
                    if handles.len() == 1024 {
                        check(std::mem::take(&mut handles));
                    }
                }
                check(handles);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

fn check(handles: Vec<(u64, taskpool::TaskHandle<u64>)>) {
    for (i, h) in handles {
        match h.wait() {
            Ok(v) => assert_eq!(v, i),
            Err(e) => assert!(e.is_cancelled() || e.is_timeout(), "{e}"),
        }
    }
}

fn settle(pool: &TaskPool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = pool.stats();
        if s.queued + s.running == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "tasks never drained: {s:?}");
        std::thread::yield_now();
    }
}

fn soak(pool: &TaskPool, name: &str) {
    let probe = Probe::default();
    let started = Instant::now();
    let mut baseline = None;
    for r in 0..ROUNDS {
        round(pool, &probe, r);
        settle(pool);
        let s = pool.stats();
        assert_eq!(s.submitted, (r + 1) * THREADS * PER_THREAD_PER_ROUND);
        assert_eq!(s.submitted, s.finished(), "{s:?}");
        assert!(probe.max() <= pool.limit(), "{} ran at once", probe.max());
        let live = live_bytes();
        println!(
            "{name} round {r}: {} tasks in {:.1?}, live heap {} KiB, {s:?}",
            s.submitted,
            started.elapsed(),
            live / 1024
        );
        // Round 0 warms up; from then on memory must stay flat.
        match baseline {
            None => baseline = Some(live),
            Some(base) => assert!(
                live - base < 256 * 1024,
                "{name}: heap grew by {} KiB",
                (live - base) / 1024
            ),
        }
        if started.elapsed() > TIME_CAP {
            println!("{name}: time cap reached after {} rounds", r + 1);
            break;
        }
    }
}

#[test]
#[ignore = "a few minutes long: cargo test --release --test soak -- --ignored"]
fn millions_of_short_tasks_from_four_threads_keep_invariants_and_flat_memory() {
    let executor = Arc::new(DaemonExecutor::new(16).unwrap());
    soak(executor.pool(), "daemon");
    drop(executor);
    let pool = TaskPool::new(16).unwrap();
    soak(&pool, "global");
}
