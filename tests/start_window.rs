//! A cancel that lands while a task is being started: after it left the
//! queue (it counts as running) and before its cell is set up to be
//! polled. A logger that blocks on the pool's "Sending task to execute"
//! line holds the starting thread exactly there, so the window is forced,
//! not hoped for. In the second test the runtime also refuses to spawn a
//! worker while the cancel queues the task (a logger that panics on
//! async-std's spawn line), so the queued task is dropped unrun: the start
//! must still queue it again. This binary installs its own logger.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};

use common::{Gate, assert_all_permits_free, drop_signal, signal, watchdog};

/// Set by the test: the next "Sending task to execute" line blocks.
static BLOCK_NEXT_START: AtomicBool = AtomicBool::new(false);
/// Set by the test: async-std's spawn line panics (the spawn fails).
static REFUSE_SPAWNS: AtomicBool = AtomicBool::new(false);

/// The logger says "held" on the first, and waits on the second.
struct Held {
    held: (SyncSender<()>, Mutex<Receiver<()>>),
    release: (SyncSender<()>, Mutex<Receiver<()>>),
}

fn held() -> &'static Held {
    static HELD: OnceLock<Held> = OnceLock::new();
    HELD.get_or_init(|| {
        let (held_tx, held_rx) = sync_channel(1);
        let (release_tx, release_rx) = sync_channel(1);
        Held {
            held: (held_tx, Mutex::new(held_rx)),
            release: (release_tx, Mutex::new(release_rx)),
        }
    })
}

struct GateLogger;

impl log::Log for GateLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let message = record.args().to_string();
        if message.contains("Sending task to execute") && BLOCK_NEXT_START.swap(false, Ordering::SeqCst) {
            held().held.0.send(()).unwrap();
            held().release.1.lock().unwrap().recv().unwrap();
        }
        if message == "spawn" && REFUSE_SPAWNS.load(Ordering::SeqCst) {
            panic!("planned panic: this logger refuses the spawn");
        }
    }

    fn flush(&self) {}
}

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&GateLogger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        common::quiet_planned_panics();
    });
}

/// The two tests share the logger's switches: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Limit 1: task A runs; B waits in the queue. A ends, and the worker
/// that starts B is held in B's start; the test cancels B there (with
/// worker spawns refused, if `refuse_spawns`), then lets the start go on.
fn cancel_during_start(refuse_spawns: bool) {
    install();
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pool = taskpool::TaskPool::new(1).unwrap();
    let gate = Gate::new();
    let (started_tx, started_rx) = signal();
    let a = {
        let gate = gate.clone();
        pool.submit(async move {
            started_tx.send(()).await.unwrap();
            gate.wait().await;
        })
        .unwrap()
    };
    started_rx.recv_blocking().unwrap();
    let (dropped, dropped_rx) = drop_signal();
    let b = pool
        .submit(async move {
            let _dropped = dropped;
            std::future::pending::<()>().await
        })
        .unwrap();
    BLOCK_NEXT_START.store(true, Ordering::SeqCst);
    gate.open();
    held().held.1.lock().unwrap().recv().unwrap();
    assert!(b.is_running(), "B left the queue and is being started");
    REFUSE_SPAWNS.store(refuse_spawns, Ordering::SeqCst);
    assert!(b.cancel());
    REFUSE_SPAWNS.store(false, Ordering::SeqCst);
    held().release.0.send(()).unwrap();
    a.wait().unwrap();
    let err = b.wait().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(
        dropped_rx.try_recv().is_ok(),
        "outcome published before the future was dropped"
    );
    assert_all_permits_free(&pool);
}

#[test]
fn a_cancel_during_a_start_ends_the_task_once_it_is_set_up() {
    watchdog(|| {
        for _ in 0..50 {
            cancel_during_start(false);
        }
    });
}

#[test]
fn a_cancel_during_a_start_is_not_lost_when_no_worker_can_be_spawned() {
    watchdog(|| {
        for _ in 0..20 {
            cancel_during_start(true);
        }
    });
}
