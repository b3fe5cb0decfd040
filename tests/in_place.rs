//! A future task is polled in place, in its own cell, which is also what the
//! run queues hold (`src/engine/cell.rs`). These tests aim at that cell's
//! scheduling: wake-ups that land while it is being polled, a cancel that
//! lands while it is queued to run or running, a task that cancels itself
//! from inside its own poll (which holds the cell's lock), and the order
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
