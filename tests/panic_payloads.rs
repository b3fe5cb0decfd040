//! A caught panic's payload is user data too: its `Drop` may panic in
//! turn. Wherever the pool drops such a payload (a classifier that
//! panicked, a future or a value whose `Drop` panicked, a `Debug` that
//! panicked in a report), that second panic is contained as well, and the
//! task still ends with its permit back. The same for the other user code
//! a task's end calls: a value nobody takes (dropped at once, contained,
//! not by whoever drops the last clone of the task's waker) and the
//! handle's waker. Found by review: a classifier whose panic payload
//! panicked on drop left its task running forever; a value nobody took
//! whose `Drop` panicked killed a daemon's thread, or failed another task
//! that dropped a clone of the first one's waker; a panicking waker on the
//! handle kept the task's permit.

mod common;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use common::{
    Gate, PlannedPayload, assert_all_permits_free, both_pool_kinds, quiet_planned_panics, running, signal, spin_until,
    watchdog,
};
use taskpool::{DaemonExecutor, Fallible, ShutdownMode, TaskPool};

/// A panic payload whose `Drop` panics with another `Bomb`, `depth` times,
/// then with a plain planned panic.
struct Bomb(u32);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 > 0 {
            std::panic::panic_any(PlannedPayload(Box::new(Bomb(self.0 - 1))));
        }
        panic!("planned panic: the last bomb");
    }
}

/// Panics with a payload that panics when dropped.
fn explode() -> ! {
    std::panic::panic_any(PlannedPayload(Box::new(Bomb(2))))
}

/// A value whose classifier panics with a bomb.
struct BadClassifier;

impl Fallible for BadClassifier {
    type Success = BadClassifier;

    fn failure(&self) -> Option<&dyn fmt::Debug> {
        explode()
    }

    fn into_success(self) -> Result<BadClassifier, BadClassifier> {
        Ok(self)
    }
}

/// Something whose `Drop` panics with a bomb.
struct DropsABomb;

impl Drop for DropsABomb {
    fn drop(&mut self) {
        explode();
    }
}

impl Fallible for DropsABomb {
    type Success = DropsABomb;

    fn into_success(self) -> Result<DropsABomb, DropsABomb> {
        Ok(self)
    }
}

/// An error whose `Debug` panics with a bomb.
struct BadDebug;

impl fmt::Debug for BadDebug {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        explode()
    }
}

#[test]
fn a_classifier_whose_panic_payload_panics_on_drop_still_ends_its_task() {
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            let handle = pool.submit(async { BadClassifier }).unwrap();
            assert!(
                handle.wait().is_ok(),
                "{kind}: a value whose classifier failed is delivered"
            );
            let s = pool.stats();
            assert_eq!((s.completed, s.failed, s.running), (1, 0, 0), "{kind}: {s:?}");
            assert_all_permits_free(&pool);
        }
    });
}

/// A running future holding a bomb, made by a task that says when it runs.
async fn holding_a_bomb(started: async_channel::Sender<()>) {
    let _bomb = DropsABomb;
    started.send(()).await.unwrap();
    std::future::pending::<()>().await
}

/// Cancels the running task `submit` made (it sends on the channel once it
/// runs), and checks that it ends cancelled with its permit back.
fn cancel_once_running(
    what: &str,
    pool: &TaskPool,
    submit: impl FnOnce(async_channel::Sender<()>) -> taskpool::TaskHandle<()>,
) {
    let (started_tx, started_rx) = signal();
    let handle = submit(started_tx);
    started_rx.recv_blocking().unwrap();
    assert!(handle.cancel());
    assert!(handle.wait().unwrap_err().is_cancelled(), "{what}");
    assert_all_permits_free(pool);
}

#[test]
fn a_future_whose_drop_panics_with_a_bomb_is_cancelled_cleanly() {
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            cancel_once_running(kind, &pool, |started| pool.submit(holding_a_bomb(started)).unwrap());
        }
        // The same through a runner of its own: a daemon's local task.
        let executor = DaemonExecutor::new(1).unwrap();
        cancel_once_running("local task", executor.pool(), |started| {
            executor.submit_local(move || holding_a_bomb(started)).unwrap()
        });
    });
}

#[test]
fn a_value_a_cancel_discards_may_drop_a_bomb() {
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            // The task ends with its value only after the cancel has landed,
            // so the value is discarded.
            let gate = Gate::new();
            let handle = running(&pool, &gate, DropsABomb);
            assert!(handle.cancel());
            gate.open();
            match handle.wait() {
                Err(e) => assert!(e.is_cancelled(), "{kind}: {e}"),
                Ok(value) => {
                    // Not dropped here: its bomb would go off in the test.
                    std::mem::forget(value);
                    panic!("{kind}: a cancel that returned true, then a value");
                }
            }
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn a_report_whose_debug_panics_with_a_bomb_falls_back_to_a_plain_line() {
    quiet_planned_panics();
    watchdog(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let pool = TaskPool::builder()
            .limit(1)
            .on_unobserved_failure(move |f| sink.lock().unwrap().push(f.message().to_owned()))
            .build()
            .unwrap();
        let gate = Gate::new();
        let handle = pool.submit(common::after(&gate, Err::<(), _>(BadDebug))).unwrap();
        let id = handle.id();
        // Dropped before the task ends: its runner makes the report.
        drop(handle);
        gate.open();
        pool.shutdown(ShutdownMode::Drain).wait();
        assert_eq!(*seen.lock().unwrap(), [format!("task {id} failed")]);
        assert_eq!(pool.stats().failed, 1);
    });
}

#[test]
fn a_value_nobody_takes_may_panic_on_drop_without_killing_a_daemon() {
    quiet_planned_panics();
    watchdog(|| {
        let executor = DaemonExecutor::new(1).unwrap();
        // Several rounds: a runtime may restart a loop that panicked once.
        for round in 0..4 {
            let gate = Gate::new();
            let handle = if round % 2 == 0 {
                executor.pool().submit(common::after(&gate, DropsABomb)).unwrap()
            } else {
                let task_gate = gate.clone();
                executor
                    .pool()
                    .submit(async move {
                        task_gate.wait().await;
                        explode()
                    })
                    .unwrap()
            };
            // Nobody will take it: its handle goes before it ends.
            drop(handle);
            gate.open();
            executor.pool().submit(async {}).unwrap().wait().unwrap();
        }
        assert_eq!(executor.pool().submit(async { 7 }).unwrap().wait().unwrap(), 7);
        let s = executor.pool().stats();
        assert_eq!((s.completed, s.panicked), (7, 2), "{s:?}");
    });
}

#[test]
fn a_task_dropping_another_tasks_waker_never_drops_that_tasks_value() {
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(2) {
            let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
            let gate = Gate::new();
            let (keep, task_gate) = (Arc::clone(&kept), gate.clone());
            let first = pool
                .submit(async move {
                    // Leaves a clone of its own waker behind.
                    std::future::poll_fn(|cx| {
                        *keep.lock().unwrap() = Some(cx.waker().clone());
                        Poll::Ready(())
                    })
                    .await;
                    task_gate.wait().await;
                    DropsABomb
                })
                .unwrap();
            drop(first);
            gate.open();
            spin_until(|| pool.stats().completed == 1);
            // The clone is now the last reference to the first task.
            let second = pool.submit(async move { drop(kept.lock().unwrap().take()) }).unwrap();
            if let Err(e) = second.wait() {
                panic!("{kind}: the second task failed with the first one's value: {e}");
            }
            assert_all_permits_free(&pool);
        }
    });
}

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("planned panic: a waker");
    }
}

#[test]
fn a_handle_polled_with_a_panicking_waker_does_not_keep_the_permit() {
    quiet_planned_panics();
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            let gate = Gate::new();
            let mut handle = pool.submit(common::after(&gate, 5_u32)).unwrap();
            let waker = Waker::from(Arc::new(PanickingWaker));
            assert!(
                Pin::new(&mut handle)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            gate.open();
            spin_until(|| handle.is_finished());
            assert_eq!(pool.stats().completed, 1, "{kind}");
            assert_all_permits_free(&pool);
            assert_eq!(handle.wait().unwrap(), 5, "{kind}");
        }
    });
}

#[test]
fn a_combinator_polled_with_a_panicking_waker_still_completes() {
    quiet_planned_panics();
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let handle = running(&pool, &gate, 5_u32);
        let cancel = handle.cancel_handle();
        let mut join = Box::pin(taskpool::join_all(vec![handle]));
        let waker = Waker::from(Arc::new(PanickingWaker));
        assert!(join.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        gate.open();
        spin_until(|| cancel.is_finished());
        assert_all_permits_free(&pool);
        match common::FlagWaker::new().poll(join.as_mut()) {
            Poll::Ready(outcomes) => assert_eq!(outcomes.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [5]),
            Poll::Pending => panic!("the join missed its task's end"),
        }
    });
}

#[test]
fn a_submitter_waiting_for_queue_space_with_a_panicking_waker_holds_nothing_up() {
    quiet_planned_panics();
    watchdog(|| {
        let pool = TaskPool::builder().limit(1).queue_capacity(1).build().unwrap();
        let gate = Gate::new();
        let first = running(&pool, &gate, 1_u32);
        // Takes the queue's only place.
        let queued = pool.submit(async { 2_u32 }).unwrap();
        let waker = Waker::from(Arc::new(PanickingWaker));
        let mut third = Box::pin(pool.submit_async(async { 3_u32 }));
        assert!(third.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        // The queued task starts, leaving its place: that wakes the waiting
        // submitter, whose waker panics.
        gate.open();
        assert_eq!(first.wait().unwrap(), 1);
        assert_eq!(queued.wait().unwrap(), 2);
        match common::FlagWaker::new().poll(third.as_mut()) {
            Poll::Ready(handle) => assert_eq!(handle.unwrap().wait().unwrap(), 3),
            Poll::Pending => panic!("the submitter never got the place the queued task left"),
        }
        // Its permit and its queue place came back: two more run in turn.
        let (a, b) = (
            pool.submit(async { 4_u32 }).unwrap(),
            pool.submit(async { 5_u32 }).unwrap(),
        );
        assert_eq!((a.wait().unwrap(), b.wait().unwrap()), (4, 5));
        let s = pool.stats();
        assert_eq!((s.completed, s.running, s.queued), (5, 0, 0), "{s:?}");
    });
}
