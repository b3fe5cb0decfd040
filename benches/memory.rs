//! Memory: bytes of pool overhead per queued task, with 10^6 tasks waiting
//! behind a limit of 1, measured with a counting global allocator.
//!
//! Not a criterion bench (it measures bytes, not time): `cargo bench --bench
//! memory` prints the figures. The future itself and the caller's `Vec` of
//! handles are not pool overhead and are subtracted.

#[path = "../tests/common/counting_alloc.rs"]
mod counting_alloc;

use std::mem::size_of;

use counting_alloc::{Counting, live_allocations, live_bytes};
use taskpool::{DaemonExecutor, TaskHandle, TaskPool};

#[global_allocator]
static ALLOC: Counting = Counting;

const QUEUED: usize = 1_000_000;

/// Holds `pool`'s only permit, queues `QUEUED` tasks behind it, and
/// returns (bytes, allocations) per queued task, pool overhead only.
fn per_queued_task(pool: &TaskPool) -> (f64, f64) {
    let (release_tx, release_rx) = async_channel::bounded::<()>(1);
    let (started_tx, started_rx) = async_channel::bounded::<()>(1);
    let blocker = pool
        .submit(async move {
            started_tx.send(()).await.unwrap();
            let _ = release_rx.recv().await;
        })
        .unwrap();
    started_rx.recv_blocking().unwrap();
    let mut handles: Vec<TaskHandle<()>> = Vec::with_capacity(QUEUED);
    let future = async {};
    let future_size = size_of_val(&future);
    let (bytes_before, allocs_before) = (live_bytes(), live_allocations());
    for _ in 0..QUEUED {
        handles.push(pool.submit(async {}).unwrap());
    }
    let (bytes_after, allocs_after) = (live_bytes(), live_allocations());
    assert_eq!(pool.stats().queued, QUEUED as u64);
    let bytes = (bytes_after - bytes_before) as f64 / QUEUED as f64 - future_size as f64;
    let allocations = (allocs_after - allocs_before) as f64 / QUEUED as f64;
    release_tx.try_send(()).unwrap();
    blocker.wait().unwrap();
    handles.into_iter().for_each(|h| h.wait().unwrap());
    (bytes, allocations)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only wants to know that this builds and runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        return;
    }
    println!(
        "size_of::<TaskHandle<()>>() = {} bytes (held by the caller, not counted)",
        size_of::<TaskHandle<()>>()
    );
    let executor = DaemonExecutor::new(1).unwrap();
    let (bytes, allocations) = per_queued_task(executor.pool());
    println!(
        "memory daemon_executor: {bytes:.1} bytes and {allocations:.2} allocations of pool overhead per queued task"
    );
    drop(executor);
    let pool = TaskPool::new(1).unwrap();
    let (bytes, allocations) = per_queued_task(&pool);
    println!("memory taskpool: {bytes:.1} bytes and {allocations:.2} allocations of pool overhead per queued task");
}
