//! Memory, with a counting global allocator (every thread's allocations):
//!
//! 1. bytes per queued task: 10⁶ tasks queued behind limit 1, the only
//!    permit held by a parked task; the net bytes requested from the
//!    allocator once `stats().queued == 10⁶`, divided by 10⁶, minus
//!    `size_of` the submitted future. The caller's `Vec` of handles is
//!    allocated before the first count, so it is not counted. For a
//!    `TaskPool` and for a `DaemonExecutor`.
//! 2. `TaskPool::new(limit)`: time and net bytes for limit 1, 10⁶ and
//!    `TaskPool::MAX_LIMIT`, builds interleaved; per round, the median time
//!    of each limit over limit 1's.
//!
//! Each scenario runs in a process of its own (this binary re-runs itself
//! with `TASKPOOL_BENCH_MEMORY_CHILD` set), so that no earlier scenario's
//! grown containers hide the growth.
//!
//! `cargo bench --bench memory`; `TASKPOOL_BENCH_QUICK=1` for the quick
//! mode (fewer builds; the queue is 10⁶ in both modes).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::mem::size_of_val;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::{Mode, Row, body, median, print_table};
use taskpool::{DaemonExecutor, TaskHandle, TaskPool};

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

/// Counts live bytes and allocations, then hands every call to `System`.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; the counters are plain
// atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_ALLOCATIONS.fetch_add(1, Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds the contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_ALLOCATIONS.fetch_add(1, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (that is, from `System`)
        // with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        LIVE_ALLOCATIONS.fetch_sub(1, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> (isize, isize) {
    (LIVE_BYTES.load(Relaxed), LIVE_ALLOCATIONS.load(Relaxed))
}

const CHILD: &str = "TASKPOOL_BENCH_MEMORY_CHILD";

/// Holds `pool`'s only permit with a parked task, queues `queued` bodies
/// behind it, and prints the pool's bytes and allocations per queued task.
fn per_queued_task(side: &str, pool: &TaskPool, queued: u64) {
    assert_eq!(pool.limit(), 1);
    let (release_tx, release_rx) = async_channel::bounded::<()>(1);
    let blocker = pool
        .submit(async move {
            let _ = release_rx.recv().await;
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.stats().running != 1 {
        assert!(Instant::now() < deadline, "the parked task never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut handles: Vec<TaskHandle<u64>> = Vec::with_capacity(queued as usize);
    let future_size = size_of_val(&body(0));
    let (bytes_before, allocs_before) = live();
    for i in 0..queued {
        handles.push(pool.submit(body(i)).unwrap());
    }
    while pool.stats().queued != queued {
        assert!(
            Instant::now() < deadline + Duration::from_secs(60),
            "never saw {queued} queued"
        );
        std::thread::yield_now();
    }
    let (bytes_after, allocs_after) = live();
    let bytes = (bytes_after - bytes_before) as f64 / queued as f64 - future_size as f64;
    let allocations = (allocs_after - allocs_before) as f64 / queued as f64;
    println!(
        "memory {side}: {bytes:.1} B per queued task (net {:.1} B minus the future's {future_size} B), \
         {allocations:.3} allocations per queued task; {queued} queued; target <= 128 B: {}",
        bytes + future_size as f64,
        if bytes <= 128.0 { "met" } else { "MISS" },
    );
    println!(
        "memory {side}: size_of::<TaskHandle<u64>>() = {} B, held in the caller's Vec (not counted)",
        std::mem::size_of::<TaskHandle<u64>>()
    );
    release_tx.try_send(()).unwrap();
    blocker.wait().unwrap();
    for (i, h) in (0..queued).zip(handles) {
        assert_eq!(h.wait().unwrap(), i + 1);
    }
}

fn child_pool(queued: u64) {
    let pool = TaskPool::new(1).unwrap();
    per_queued_task("TaskPool", &pool, queued);
}

fn child_daemon(queued: u64) {
    let executor = DaemonExecutor::new(1).unwrap();
    per_queued_task("DaemonExecutor", executor.pool(), queued);
}

fn time_ratio_ok(r: f64) -> bool {
    r <= 1.3
}

/// `TaskPool::new(limit)`: time (interleaved builds, per-round medians) and
/// net bytes (right after `new` returns, and after its driver task had
/// 5 ms to start).
fn child_new(mode: Mode) {
    let limits = [1, 1_000_000, TaskPool::MAX_LIMIT];
    let (rounds, builds) = match mode {
        Mode::Full => (10, 200),
        Mode::Quick => (3, 100),
        Mode::Smoke => (1, 5),
    };
    // Warm up: the global executor's threads and the first spawn.
    for &limit in &limits {
        drop(TaskPool::new(limit).unwrap());
    }
    const MEANING: &str = "TaskPool::new time, this limit ÷ limit 1";
    let mut rows = vec![
        Row::new("TaskPool::new: limit 10^6 ÷ limit 1", MEANING, "<= 1.3", time_ratio_ok),
        Row::new(
            "TaskPool::new: limit MAX_LIMIT ÷ limit 1",
            MEANING,
            "<= 1.3",
            time_ratio_ok,
        ),
    ];
    for _ in 0..rounds {
        let mut times: [Vec<f64>; 3] = Default::default();
        for b in 0..builds {
            for k in 0..3 {
                // Rotate the order, so that no limit always goes first.
                let k = (k + b) % 3;
                let start = Instant::now();
                let pool = TaskPool::new(limits[k]).unwrap();
                times[k].push(start.elapsed().as_secs_f64() * 1e9);
                drop(pool);
            }
        }
        let t: Vec<f64> = times.iter().map(|v| median(v)).collect();
        for (row, k) in rows.iter_mut().zip([1, 2]) {
            row.push(t[k] / t[0], t[k], t[0]);
            row.print_round();
        }
    }
    for &limit in &limits {
        let mut at_return = Vec::new();
        let mut settled = Vec::new();
        let mut allocations = Vec::new();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(5));
            let (b0, a0) = live();
            let pool = TaskPool::new(limit).unwrap();
            let (b1, a1) = live();
            std::thread::sleep(Duration::from_millis(5));
            let (b2, _) = live();
            at_return.push((b1 - b0) as f64);
            settled.push((b2 - b0) as f64);
            allocations.push((a1 - a0) as f64);
            drop(pool);
        }
        println!(
            "TaskPool::new({limit}): net {:.0} B in {:.0} allocations when it returns, {:.0} B once its \
             driver started (medians of 20)",
            median(&at_return),
            median(&allocations),
            median(&settled),
        );
    }
    print_table(
        "TaskPool::new (\"crate ns\" is the larger limit, \"other ns\" limit 1)",
        &rows,
    );
}

fn main() {
    let mode = Mode::get();
    let queued: u64 = if mode == Mode::Smoke { 10_000 } else { 1_000_000 };
    match std::env::var(CHILD).as_deref() {
        Ok("pool") => return child_pool(queued),
        Ok("daemon") => return child_daemon(queued),
        Ok("new") => return child_new(mode),
        Ok(other) => panic!("unknown {CHILD}={other}"),
        Err(_) => {}
    }
    println!(
        "== memory: mode {}, nproc {}, {queued} tasks queued behind limit 1; each scenario in a process of its own",
        mode.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let exe = std::env::current_exe().unwrap();
    for scenario in ["pool", "daemon", "new"] {
        let status = std::process::Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .env(CHILD, scenario)
            .status()
            .unwrap();
        assert!(status.success(), "memory scenario {scenario} failed: {status}");
    }
}
