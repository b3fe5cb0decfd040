//! A future task is polled in place, in its own cell, which is also what the
//! run queues hold (`src/engine/cell.rs`). These tests aim at that cell's
//! scheduling: wake-ups that land while it is being polled, a cancel that
//! lands while it is queued to run or running, a task that cancels itself
//! from inside its own poll (during which its poller owns the cell's slot:
//! a cancel must only flip bits of the state word), and the order
//! "future dropped, then outcome published". Each ends on a wait that a
//! lost wake-up would hang; the watchdog turns that into a failure.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{assert_all_permits_free, both_pool_kinds, drop_signal, signal, watchdog};

/// Wakes itself on every poll, forever: always either queued to run or
/// being polled, which is where a cancel must still land.
struct Spinning;

impl Future for Spinning {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_task_that_cancels_itself_inside_its_poll_ends_cancelled_and_frees_its_permit() {
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            let (handle_tx, handle_rx) = async_channel::bounded::<taskpool::CancelHandle>(1);
            let (dropped, dropped_rx) = drop_signal();
            let handle = pool
                .submit(async move {
                    let _dropped = dropped;
                    let me = handle_rx.recv().await.unwrap();
                    // Inside this task's own poll: the cancel must not wait
                    // for the poll to end (it would wait for itself).
                    assert!(me.cancel());
                    std::future::pending::<()>().await;
                })
                .unwrap();
            let next = pool.submit(async { 7 }).unwrap();
            handle_tx.send_blocking(handle.cancel_handle()).unwrap();
            let err = handle.wait().unwrap_err();
            assert!(err.is_cancelled(), "{kind}: {err}");
            assert!(
                dropped_rx.try_recv().is_ok(),
                "{kind}: outcome published before the future was dropped"
            );
            assert_eq!(next.wait().unwrap(), 7, "{kind}: the permit did not come back");
            assert_all_permits_free(&pool);
        }
    });
}

#[test]
fn a_cancel_always_lands_on_a_task_that_keeps_waking_itself() {
    // The task is queued to run or being polled at every instant; the
    // cancel's flag and wake-up race its mark-running-then-check. A lost
    // cancel leaves the task spinning and the wait hangs.
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(2) {
            for round in 0..500 {
                let (started_tx, started_rx) = signal();
                let (dropped, dropped_rx) = drop_signal();
                let handle = pool
                    .submit(async move {
                        let _dropped = dropped;
                        started_tx.send(()).await.unwrap();
                        Spinning.await;
                    })
                    .unwrap();
                started_rx.recv_blocking().unwrap();
                assert!(handle.cancel(), "{kind}, round {round}");
                let err = handle.wait().unwrap_err();
                assert!(err.is_cancelled(), "{kind}, round {round}: {err}");
                assert!(
                    dropped_rx.try_recv().is_ok(),
                    "{kind}, round {round}: outcome published before the future was dropped"
                );
            }
            assert_all_permits_free(&pool);
        }
    });
}

/// Ends after `left` polls; on each poll it leaves its waker for another
/// thread and, every other time, also wakes itself: so wake-ups from two
/// threads land while it is queued, idle and being polled.
struct WokenFromTwoSides {
    left: u32,
    slot: Arc<Mutex<Option<Waker>>>,
    poked: async_channel::Sender<()>,
}

impl Future for WokenFromTwoSides {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.left == 0 {
            return Poll::Ready(7);
        }
        self.left -= 1;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        let _ = self.poked.try_send(());
        if self.left % 2 == 0 {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

#[test]
fn no_wake_up_is_lost_whichever_thread_sends_it_and_whenever() {
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(2) {
            let slot = Arc::new(Mutex::new(None::<Waker>));
            let (poked, pokes) = async_channel::unbounded();
            let stop = Arc::new(AtomicBool::new(false));
            let waker_thread = {
                let (slot, stop) = (Arc::clone(&slot), Arc::clone(&stop));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if pokes.recv_blocking().is_err() {
                            return;
                        }
                        if let Some(waker) = slot.lock().unwrap().take() {
                            waker.wake();
                        }
                    }
                })
            };
            let handle = pool
                .submit(WokenFromTwoSides {
                    left: 20_000,
                    slot,
                    poked,
                })
                .unwrap();
            assert_eq!(handle.wait().unwrap(), 7, "{kind}");
            stop.store(true, Ordering::SeqCst);
            waker_thread.join().unwrap();
            assert_all_permits_free(&pool);
        }
    });
}

/// What a task does to its pool from inside its own last poll, or from its
/// future's `Drop` (which runs inside the cell, as the task ends).
#[derive(Clone, Copy, Debug)]
enum Act {
    CancelItself,
    CancelItsQueuedSibling,
    DropItsOwnHandle,
    SubmitAnother,
    ShutDownWithDeadlineZero,
}

/// Ready with 1 once `go` fires; runs its action in that poll, or in its
/// `Drop`.
struct Acting {
    go: Pin<Box<dyn Future<Output = ()> + Send>>,
    in_poll: Option<Box<dyn FnOnce() + Send>>,
    in_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl Future for Acting {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.go.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(act) = self.in_poll.take() {
            act();
        }
        Poll::Ready(1)
    }
}

impl Drop for Acting {
    fn drop(&mut self) {
        if let Some(act) = self.in_drop.take() {
            act();
        }
    }
}

#[test]
fn a_task_acting_on_its_pool_from_its_poll_or_its_drop_never_deadlocks() {
    // The cell's lock is held while the future is polled and while it is
    // dropped: nothing a task may do to its own pool from there may need it.
    watchdog(|| {
        let acts = [
            Act::CancelItself,
            Act::CancelItsQueuedSibling,
            Act::DropItsOwnHandle,
            Act::SubmitAnother,
            Act::ShutDownWithDeadlineZero,
        ];
        for act in acts {
            for in_drop in [false, true] {
                for (kind, pool, _executor) in both_pool_kinds(1) {
                    let case = format!("{kind}, {act:?}, in drop: {in_drop}");
                    let me = Arc::new(Mutex::new(None::<taskpool::CancelHandle>));
                    let sibling = Arc::new(Mutex::new(None::<taskpool::CancelHandle>));
                    let own_handle = Arc::new(Mutex::new(None::<taskpool::TaskHandle<u32>>));
                    let (submitted_tx, submitted_rx) = std::sync::mpsc::channel();
                    let action: Box<dyn FnOnce() + Send> = {
                        let (me, sibling, own_handle, pool) = (
                            Arc::clone(&me),
                            Arc::clone(&sibling),
                            Arc::clone(&own_handle),
                            pool.clone(),
                        );
                        Box::new(move || match act {
                            Act::CancelItself => assert!(me.lock().unwrap().as_ref().unwrap().cancel()),
                            Act::CancelItsQueuedSibling => assert!(sibling.lock().unwrap().as_ref().unwrap().cancel()),
                            Act::DropItsOwnHandle => drop(own_handle.lock().unwrap().take()),
                            Act::SubmitAnother => submitted_tx.send(pool.try_submit(async { 5_u32 }).unwrap()).unwrap(),
                            Act::ShutDownWithDeadlineZero => {
                                drop(pool.shutdown(taskpool::ShutdownMode::Deadline(std::time::Duration::ZERO)))
                            }
                        })
                    };
                    let (go_tx, go_rx) = signal();
                    let (in_poll, in_drop_act) = if in_drop {
                        (None, Some(action))
                    } else {
                        (Some(action), None)
                    };
                    let handle = pool
                        .submit(Acting {
                            go: Box::pin(async move { go_rx.recv().await.unwrap() }),
                            in_poll,
                            in_drop: in_drop_act,
                        })
                        .unwrap();
                    let queued = pool.submit(async { 9_u32 }).unwrap();
                    *me.lock().unwrap() = Some(handle.cancel_handle());
                    *sibling.lock().unwrap() = Some(queued.cancel_handle());
                    let handle = match act {
                        Act::DropItsOwnHandle => {
                            *own_handle.lock().unwrap() = Some(handle);
                            None
                        }
                        _ => Some(handle),
                    };
                    go_tx.send_blocking(()).unwrap();
                    let own = handle.map(taskpool::TaskHandle::wait);
                    let next = queued.wait();
                    match act {
                        Act::CancelItself => assert!(own.unwrap().unwrap_err().is_cancelled(), "{case}"),
                        Act::CancelItsQueuedSibling => {
                            assert_eq!(own.unwrap().unwrap(), 1, "{case}");
                            assert!(next.unwrap_err().is_cancelled(), "{case}");
                        }
                        Act::DropItsOwnHandle => assert_eq!(next.unwrap(), 9, "{case}"),
                        Act::SubmitAnother => {
                            assert_eq!(own.unwrap().unwrap(), 1, "{case}");
                            assert_eq!(next.unwrap(), 9, "{case}");
                            assert_eq!(submitted_rx.recv().unwrap().wait().unwrap(), 5, "{case}");
                        }
                        Act::ShutDownWithDeadlineZero => {
                            // The deadline is enforced by the pool's driver,
                            // which may come before or after the task ends:
                            // either outcome is right, as long as both come.
                            let own = own.unwrap();
                            assert!(
                                own.as_ref().map_or_else(|e| e.is_cancelled(), |v| *v == 1),
                                "{case}: {own:?}"
                            );
                            assert!(
                                next.as_ref()
                                    .map_or_else(|e| e.is_shutdown() || e.is_cancelled(), |v| *v == 9),
                                "{case}: {next:?}"
                            );
                            pool.shutdown(taskpool::ShutdownMode::Drain).wait();
                            continue;
                        }
                    }
                    assert_all_permits_free(&pool);
                }
            }
        }
    });
}
