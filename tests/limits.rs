//! Any limit up to `TaskPool::MAX_LIMIT` is accepted at the same cost, and
//! anything above it is refused with a `ConfigError` at every entry point:
//! never a panic, an abort or a huge allocation.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use common::{Gate, Probe, watchdog};
use counting_alloc::{Counting, live_bytes};
use taskpool::{ConfigError, DaemonExecutor, TaskPool};

#[global_allocator]
static ALLOC: Counting = Counting;

const MAX: usize = TaskPool::MAX_LIMIT;

fn assert_too_large<T: std::fmt::Debug>(result: Result<T, ConfigError>) {
    match result {
        Err(ConfigError::LimitTooLarge) => {}
        other => panic!("expected LimitTooLarge, got {other:?}"),
    }
}

#[test]
fn the_documented_maximum_is_usize_max_shifted_by_three() {
    assert_eq!(MAX, usize::MAX >> 3);
    assert_eq!(
        ConfigError::LimitTooLarge.to_string(),
        format!("the limit must be at most {MAX}")
    );
}

#[test]
fn task_pool_new_accepts_the_maximum_and_refuses_above_it() {
    assert_eq!(TaskPool::new(MAX).unwrap().limit(), MAX);
    assert_too_large(TaskPool::new(MAX + 1));
    assert_too_large(TaskPool::new(usize::MAX));
    assert_too_large(TaskPool::new(4_294_967_296_usize.max(MAX + 1)));
}

#[test]
fn daemon_executor_new_accepts_the_maximum_and_refuses_above_it() {
    assert_eq!(DaemonExecutor::new(MAX).unwrap().pool().limit(), MAX);
    assert_too_large(DaemonExecutor::new(MAX + 1));
    assert_too_large(DaemonExecutor::new(usize::MAX));
}

#[test]
fn builders_accept_the_maximum_and_refuse_above_it() {
    assert_eq!(TaskPool::builder().limit(MAX).build().unwrap().limit(), MAX);
    assert_too_large(TaskPool::builder().limit(MAX + 1).build());
    assert_eq!(
        DaemonExecutor::builder().limit(MAX).build().unwrap().pool().limit(),
        MAX
    );
    assert_too_large(DaemonExecutor::builder().limit(usize::MAX).build());
}

#[test]
fn queue_capacity_accepts_the_maximum_and_refuses_above_it() {
    assert!(TaskPool::builder().queue_capacity(MAX).build().is_ok());
    assert!(matches!(
        TaskPool::builder().queue_capacity(MAX + 1).build(),
        Err(ConfigError::QueueCapacityTooLarge)
    ));
    assert!(matches!(
        DaemonExecutor::builder().queue_capacity(usize::MAX).build(),
        Err(ConfigError::QueueCapacityTooLarge)
    ));
}

#[test]
fn set_limit_accepts_the_maximum_and_refuses_above_it_leaving_the_limit() {
    let pool = TaskPool::new(2).unwrap();
    pool.set_limit(MAX).unwrap();
    assert_eq!(pool.limit(), MAX);
    assert_too_large(pool.set_limit(MAX + 1));
    assert_too_large(pool.set_limit(usize::MAX));
    assert_eq!(pool.limit(), MAX);

    let executor = DaemonExecutor::new(2).unwrap();
    assert_too_large(executor.pool().set_limit(usize::MAX));
    assert_eq!(executor.pool().limit(), 2);
    executor.pool().set_limit(MAX).unwrap();
    assert_eq!(executor.pool().limit(), MAX);
}

#[test]
fn a_pool_at_the_maximum_runs_tasks_and_shrinks_to_one() {
    watchdog(|| {
        let executor = DaemonExecutor::new(MAX).unwrap();
        let gate = Gate::new();
        let probe = Probe::default();
        let (started_tx, started_rx) = async_channel::unbounded();
        let handles: Vec<_> = (0..50_u32)
            .map(|i| {
                let (gate, probe, started_tx) = (gate.clone(), probe.clone(), started_tx.clone());
                executor
                    .pool()
                    .submit(async move {
                        let _inside = probe.enter();
                        started_tx.send(()).await.unwrap();
                        gate.wait().await;
                        i
                    })
                    .unwrap()
            })
            .collect();
        // All 50 run at once under the huge limit.
        for _ in 0..50 {
            started_rx.recv_blocking().unwrap();
        }
        assert_eq!(probe.current(), 50);
        // Shrinking from the maximum to one is a debt paid as tasks end.
        executor.pool().set_limit(1).unwrap();
        gate.open();
        let values: Vec<u32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(values, (0..50).collect::<Vec<_>>());
        let probe = Probe::default();
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let probe = probe.clone();
                executor
                    .pool()
                    .submit(async move {
                        let _inside = probe.enter();
                        async_std::task::yield_now().await;
                    })
                    .unwrap()
            })
            .collect();
        for h in handles {
            h.wait().unwrap();
        }
        assert_eq!(probe.max(), 1);
    });
}

#[test]
fn building_a_pool_costs_the_same_memory_whatever_the_limit() {
    // Warm up the runtime, so its own one-time allocations are not counted.
    drop(TaskPool::new(1).unwrap());
    let cost = |limit: usize| {
        let before = live_bytes();
        let pool = TaskPool::new(limit).unwrap();
        let after = live_bytes();
        drop(pool);
        after - before
    };
    let small = cost(1);
    let large = cost(MAX);
    // The limiter counts its tokens: the same few hundred bytes either way
    // (a little slack for whatever the runtime's threads allocate meanwhile;
    // one slot per token would be exabytes here, and 16 MB already at 10^6).
    assert!(large - small < 64 * 1024, "limit 1: {small} B, limit {MAX}: {large} B");
    let million = cost(1_000_000);
    assert!(
        million - small < 64 * 1024,
        "limit 1: {small} B, limit 10^6: {million} B"
    );
}
