//! Backpressure: an optional bounded queue. When it is full, `submit`
//! blocks, `submit_async` waits, `try_submit` refuses; nothing is dropped
//! silently, and queued tasks hold no permit.

mod common;

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use common::{FlagWaker, Gate, running, watchdog};
use taskpool::{DaemonExecutor, TaskPool};

/// A pool with limit 1 and queue capacity `cap`, its only permit held by a
/// running task until `gate` opens, and its queue filled with `cap` tasks.
fn full_pool(cap: usize, gate: &Gate) -> (TaskPool, Vec<taskpool::TaskHandle<()>>) {
    let pool = TaskPool::builder().limit(1).queue_capacity(cap).build().unwrap();
    let mut handles = vec![running(&pool, gate, ())];
    for _ in 0..cap {
        handles.push(pool.try_submit(async {}).unwrap());
    }
    (pool, handles)
}

#[test]
fn try_submit_on_a_full_queue_refuses_and_hands_the_future_back() {
    watchdog(|| {
        let gate = Gate::new();
        let (pool, handles) = full_pool(2, &gate);
        let stats = pool.stats();
        assert_eq!((stats.running, stats.queued), (1, 2), "queued tasks hold no permit");
        let err = pool.try_submit(async { 42 }).unwrap_err();
        assert!(err.is_full() && !err.is_closed());
        let back = err.into_inner();
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert_eq!(pool.try_submit(back).unwrap().wait().unwrap(), 42);
        assert_eq!(pool.stats().submitted, 4, "the refused submission was not counted");
    });
}

#[test]
fn submit_async_waits_for_space_pending_then_woken_then_ready() {
    watchdog(|| {
        let gate = Gate::new();
        let (pool, handles) = full_pool(1, &gate);
        let waker = FlagWaker::new();
        let mut submit = pin!(pool.submit_async(async { "late" }));
        assert!(waker.poll(submit.as_mut()).is_pending());
        assert_eq!(pool.stats().queued, 1, "nothing submitted while waiting");
        // Free the queue slot: the running task ends, the queued one starts.
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert!(waker.woken(), "a freed slot wakes the waiting submitter");
        let Poll::Ready(Ok(handle)) = waker.poll(submit.as_mut()) else {
            panic!("the submit completes once woken")
        };
        assert_eq!(handle.wait().unwrap(), "late");
    });
}

#[test]
fn dropping_a_waiting_submit_async_submits_nothing() {
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    watchdog(|| {
        let gate = Gate::new();
        let (pool, handles) = full_pool(1, &gate);
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(Arc::clone(&dropped));
        {
            let waker = FlagWaker::new();
            let mut submit = pin!(pool.submit_async(async move {
                let _guard = guard;
            }));
            assert!(waker.poll(submit.as_mut()).is_pending());
        }
        assert!(dropped.load(Ordering::SeqCst), "the task's future went with the submit");
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        let stats = pool.stats();
        assert_eq!(stats.submitted, 2);
        assert_eq!(stats.completed, 2);
    });
}

#[test]
fn blocking_submit_returns_once_a_slot_frees() {
    watchdog(|| {
        let gate = Gate::new();
        let (pool, handles) = full_pool(1, &gate);
        let submitter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.submit(async { "waited" }).unwrap().wait().unwrap())
        };
        assert!(pool.stats().queued <= 1, "the queue never holds more than its capacity");
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
        assert_eq!(submitter.join().unwrap(), "waited");
    });
}

#[test]
fn closing_wakes_blocked_submitters_with_their_futures() {
    watchdog(|| {
        let gate = Gate::new();
        let (pool, handles) = full_pool(1, &gate);
        let blocked: Vec<_> = (0..3)
            .map(|i| {
                let pool = pool.clone();
                std::thread::spawn(move || match pool.submit(async move { i }) {
                    Ok(h) => Ok(h.wait().unwrap()),
                    Err(e) => Err((e.is_closed(), e.into_inner())),
                })
            })
            .collect();
        // A waiting async submitter, proven to be waiting.
        let waker = FlagWaker::new();
        let mut waiting = pin!(pool.submit_async(async { 99 }));
        assert!(waker.poll(waiting.as_mut()).is_pending());
        pool.close();
        assert!(waker.woken(), "closing wakes a waiting submitter");
        let Poll::Ready(Err(refused)) = waker.poll(waiting.as_mut()) else {
            panic!("a closed pool refuses the waiting submission")
        };
        assert!(refused.is_closed());
        for (i, t) in blocked.into_iter().enumerate() {
            // Each either got in before the close or was refused with its
            // future; none is lost. (None can get in: the queue is full.)
            let (closed, back) = t.join().unwrap().unwrap_err();
            assert!(closed);
            let other = TaskPool::new(1).unwrap();
            assert_eq!(other.submit(back).unwrap().wait().unwrap(), i);
        }
        gate.open();
        handles.into_iter().for_each(|h| h.wait().unwrap());
    });
}

#[test]
fn a_blocking_submit_on_a_full_queue_from_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::builder().limit(1).queue_capacity(1).build().unwrap());
        let inner = Arc::clone(&executor);
        let outer = executor
            .pool()
            .submit(async move {
                // This task holds the only permit; fill the only slot...
                let queued = inner.pool().try_submit(async {}).unwrap();
                // ...then a blocking submit could never return.
                let _ = inner.pool().submit(async {});
                drop(queued);
            })
            .unwrap();
        let err = outer.wait().unwrap_err();
        assert!(
            err.panic_message().unwrap().contains("would block the daemon thread"),
            "{err}"
        );
    });
}

#[test]
fn submit_async_inside_a_daemon_task_yields_instead_of_blocking() {
    watchdog(|| {
        let executor = Arc::new(DaemonExecutor::builder().limit(2).queue_capacity(1).build().unwrap());
        let inner = Arc::clone(&executor);
        let parent = executor
            .pool()
            .submit(async move {
                // `a` takes the free permit or the only queue slot; either
                // way it can only run (and so make room for `b`) once this
                // task yields the daemon thread, which the waiting
                // `submit_async` for `b` does.
                let a = inner.pool().submit_async(async { 1 }).await.unwrap();
                let b = inner.pool().submit_async(async { 2 }).await.unwrap();
                a.await.unwrap() + b.await.unwrap()
            })
            .unwrap();
        assert_eq!(parent.wait().unwrap(), 3);
    });
}
