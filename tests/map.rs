//! `TaskPool::map`: input order, bounded look-ahead, per-item outcomes in
//! one `Result` layer, per-item task options, an overall timeout, and
//! cancelling what was submitted but not delivered.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Gate, assert_panics_on_the_daemon_thread, drop_signal, never_ending, watchdog};
use proptest::prelude::*;
use taskpool::{ConfigError, DaemonExecutor, TaskPool};

#[test]
fn results_come_in_input_order_whatever_order_the_tasks_finish() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
        let (finished_tx, finished_rx) = async_channel::unbounded();
        let task_gates = gates.clone();
        let results = pool
            .map(0..3, 3, move |i| {
                let (gate, finished) = (task_gates[i].clone(), finished_tx.clone());
                async move {
                    gate.wait().await;
                    finished.send(i).await.unwrap();
                    i
                }
            })
            .unwrap();
        // Another thread makes them finish last to first.
        let opener = std::thread::spawn(move || {
            let mut order = Vec::new();
            for i in [2, 1, 0] {
                gates[i].open();
                order.push(finished_rx.recv_blocking().unwrap());
            }
            order
        });
        let values: Vec<usize> = results.map(Result::unwrap).collect();
        assert_eq!(opener.join().unwrap(), [2, 1, 0]);
        assert_eq!(values, [0, 1, 2]);
    });
}

#[test]
fn each_outcome_is_delivered_at_its_position_and_the_iteration_goes_on() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let outcomes: Vec<_> = pool
            .map(0..4, 2, |i| async move {
                match i {
                    1 => Err(format!("item {i}")),
                    2 => panic!("item {i}"),
                    _ => Ok(i),
                }
            })
            .unwrap()
            .collect();
        assert_eq!(outcomes.len(), 4);
        assert_eq!(outcomes[0].as_ref().unwrap(), &Ok(0));
        // A typed `Err` is the item's value, not a `MapError`.
        assert_eq!(outcomes[1].as_ref().unwrap(), &Err("item 1".to_owned()));
        let failed = outcomes[2].as_ref().unwrap_err();
        assert_eq!(failed.index(), 2);
        assert!(!failed.is_timeout() && !failed.is_closed() && !failed.is_invalid_timeout());
        let error = failed.task_error().unwrap();
        assert_eq!(error.panic_message(), Some("item 2"));
        assert_eq!(
            failed.to_string(),
            format!("map item 2: task {} panicked with message \"item 2\"", error.id())
        );
        assert_eq!(outcomes[3].as_ref().unwrap(), &Ok(3));
        let failed = outcomes.into_iter().nth(2).unwrap().unwrap_err();
        assert!(failed.into_task_error().unwrap().is_panic());
    });
}

#[test]
fn it_submits_lazily_and_never_more_than_buffer_ahead() {
    watchdog(|| {
        let pool = TaskPool::new(8).unwrap();
        for buffer in [1, 3] {
            let submitted = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&submitted);
            // An endless input: only laziness makes this end.
            let mut results = pool
                .map(0.., buffer, move |i: usize| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move { i }
                })
                .unwrap();
            assert_eq!(
                submitted.load(Ordering::SeqCst),
                0,
                "nothing before the first item is asked for"
            );
            for delivered in 1..=10 {
                assert_eq!(results.next().unwrap().unwrap(), delivered - 1);
                let in_flight = submitted.load(Ordering::SeqCst) - delivered;
                assert_eq!(in_flight, buffer - 1, "buffer {buffer}, after item {delivered}");
            }
        }
    });
}

#[test]
fn a_zero_buffer_is_a_config_error_not_a_hang() {
    let pool = TaskPool::new(1).unwrap();
    let err = pool.map([1], 0, |i| async move { i }).unwrap_err();
    assert!(matches!(err, ConfigError::ZeroBuffer));
    assert_eq!(err.to_string(), "the map buffer must be at least 1");
}

#[test]
fn the_timeout_yields_one_error_cancels_the_undelivered_and_ends() {
    watchdog(|| {
        // The timeout starts when it is set, and the items are submitted
        // by the first `next`: a test thread descheduled in between finds
        // the timeout already passed. That attempt checks what it must
        // mean (the same single error) and the next gets a longer timeout.
        common::with_growing_window(|timeout| {
            let pool = TaskPool::new(3).unwrap();
            let (guards, dropped): (Vec<_>, Vec<_>) = (0..2).map(|_| drop_signal()).unzip();
            let mut guards = guards.into_iter();
            let mut results = pool
                .map(0..4, 2, move |_| never_ending::<usize>(guards.next().unwrap(), None))
                .unwrap()
                .timeout(timeout);
            let err = results.next().unwrap().unwrap_err();
            assert!(err.is_timeout() && !err.is_closed());
            assert!(err.task_error().is_none());
            assert_eq!(err.index(), 0);
            assert_eq!(err.to_string(), "map timed out waiting for item 0");
            assert!(results.next().is_none());
            let submitted = pool.stats().submitted;
            assert!(submitted <= 2, "at most `buffer` items ahead");
            if submitted < 2 {
                return false; // the timeout passed before the buffer was full
            }
            for dropped in dropped {
                dropped.recv_blocking().unwrap(); // both undelivered tasks were cancelled
            }
            common::spin_until(|| pool.stats().cancelled == 2);
            assert_eq!(pool.stats().submitted, 2, "the input was read no further");
            true
        });
    });
}

#[test]
fn a_deadline_already_passed_submits_nothing() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let mut results = pool
            .map(0..3, 2, |i| async move { i })
            .unwrap()
            .deadline(Instant::now());
        let err = results.next().unwrap().unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(err.index(), 0);
        assert!(results.next().is_none());
        assert_eq!(pool.stats().submitted, 0);
    });
}

#[test]
fn dropping_the_iterator_cancels_the_tasks_submitted_and_not_delivered() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let (guards, dropped): (Vec<_>, Vec<_>) = (0..2).map(|_| drop_signal()).unzip();
        let mut guards = guards.into_iter();
        let mut results = pool
            .map(0..10, 3, move |i| {
                counter.fetch_add(1, Ordering::SeqCst);
                let guard = (i > 0).then(|| guards.next().unwrap());
                async move {
                    match guard {
                        Some(guard) => never_ending(guard, None).await,
                        None => i,
                    }
                }
            })
            .unwrap();
        assert_eq!(results.next().unwrap().unwrap(), 0);
        drop(results);
        for dropped in dropped {
            dropped.recv_blocking().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3, "the rest of the input was never read");
    });
}

#[test]
fn a_closed_pool_ends_the_map_after_the_items_already_submitted() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let mut results = pool.map(0..5, 2, |i| async move { i }).unwrap();
        assert_eq!(results.next().unwrap().unwrap(), 0); // items 0 and 1 submitted
        pool.close();
        assert_eq!(results.next().unwrap().unwrap(), 1);
        let err = results.next().unwrap().unwrap_err();
        assert!(err.is_closed() && !err.is_timeout());
        assert_eq!(err.index(), 2);
        assert_eq!(err.to_string(), "map could not submit item 2: the pool is closed");
        assert!(results.next().is_none());
        // The refused item's future comes back.
        let future = err.into_inner().unwrap();
        assert_eq!(TaskPool::new(1).unwrap().submit(future).unwrap().wait().unwrap(), 2);
    });
}

#[test]
fn the_stream_keeps_input_order_times_out_and_cancels_on_drop() {
    watchdog(|| {
        // On a daemon thread, where a blocking wait would panic.
        let executor = DaemonExecutor::new(4).unwrap();
        let pool = executor.pool().clone();
        let (drop_guard, dropped) = drop_signal();
        let (timeout_guard, timeout_dropped) = drop_signal();
        let handle = executor
            .pool()
            .submit(async move {
                let mut ordered = pool
                    .map(0..4_u64, 2, |i| async move {
                        futures_timer::Delay::new(Duration::from_millis(4 - i)).await;
                        i
                    })
                    .unwrap()
                    .into_stream();
                let mut values = Vec::new();
                while let Some(item) = ordered.next().await {
                    values.push(item.unwrap());
                }

                let mut guard = Some(timeout_guard);
                let mut timed = pool
                    .map(0..3_usize, 2, move |_| {
                        let guard = guard.take();
                        async move {
                            match guard {
                                Some(guard) => never_ending::<usize>(guard, None).await,
                                None => std::future::pending().await,
                            }
                        }
                    })
                    .unwrap()
                    .timeout(Duration::from_millis(20))
                    .into_stream();
                let err = timed.next().await.unwrap().unwrap_err();
                assert!(timed.next().await.is_none());

                let mut guard = Some(drop_guard);
                let mut dropped_early = pool
                    .map(0..3_usize, 2, move |_| {
                        let guard = guard.take();
                        async move {
                            match guard {
                                Some(guard) => never_ending::<usize>(guard, None).await,
                                None => std::future::pending().await,
                            }
                        }
                    })
                    .unwrap()
                    .into_stream();
                let poll_once = std::future::poll_fn(|cx| {
                    let next = std::pin::pin!(dropped_early.next());
                    std::task::Poll::Ready(next.poll(cx).is_pending())
                });
                assert!(poll_once.await, "the first item never ends");
                drop(dropped_early);
                (values, err.index())
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), (vec![0, 1, 2, 3], 0));
        timeout_dropped.recv_blocking().unwrap();
        dropped.recv_blocking().unwrap();
    });
}

#[test]
fn the_blocking_iterator_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        assert_panics_on_the_daemon_thread(|pool, gate| {
            let mut results = pool.map([()], 1, |_| common::after(&gate, ())).unwrap();
            results.next().is_some()
        });
    });
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Value,
    Err,
    Panic,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the durations and failures, every item's outcome arrives at
    /// its own position, and no more than `buffer` tasks are ever in flight.
    #[test]
    fn map_keeps_input_order_under_random_durations_and_failures(
        items in prop::collection::vec(
            (0..3_u64, prop_oneof![Just(Outcome::Value), Just(Outcome::Err), Just(Outcome::Panic)]),
            0..12,
        ),
        limit in 1..4_usize,
        buffer in 1..5_usize,
    ) {
        watchdog(move || {
            let pool = TaskPool::new(limit).unwrap();
            let in_flight = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let (counter, high) = (Arc::clone(&in_flight), Arc::clone(&peak));
            let results = pool
                .map(items.clone().into_iter().enumerate(), buffer, move |(i, (millis, outcome))| {
                    let now = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    high.fetch_max(now, Ordering::SeqCst);
                    async move {
                        futures_timer::Delay::new(Duration::from_millis(millis)).await;
                        match outcome {
                            Outcome::Value => Ok(i),
                            Outcome::Err => Err(i),
                            Outcome::Panic => panic!("item {i}"),
                        }
                    }
                })
                .unwrap();
            let mut delivered = 0;
            for (i, item) in results.enumerate() {
                in_flight.fetch_sub(1, Ordering::SeqCst);
                match (items[i].1, item) {
                    (Outcome::Value, Ok(Ok(v))) => assert_eq!(v, i),
                    (Outcome::Err, Ok(Err(v))) => assert_eq!(v, i),
                    (Outcome::Panic, Err(e)) => {
                        assert_eq!(e.index(), i);
                        assert_eq!(e.task_error().unwrap().panic_message(), Some(format!("item {i}").as_str()));
                    }
                    (expected, got) => panic!("item {i}: expected {expected:?}, got {got:?}"),
                }
                delivered += 1;
            }
            assert_eq!(delivered, items.len());
            assert!(peak.load(Ordering::SeqCst) <= buffer);
        });
    }
}

#[test]
fn a_map_can_move_between_threads() {
    fn send<T: Send>(_: &T) {}
    let pool = TaskPool::new(1).unwrap();
    let iter = pool.map(0..3, 1, |i| async move { i }).unwrap();
    send(&iter);
    send(&iter.into_stream());
}

#[test]
fn items_ready_in_time_are_still_delivered_after_the_deadline() {
    watchdog(|| {
        // Items 0 and 1 must be submitted and item 0 delivered before the
        // deadline; a test thread descheduled past it gets a timeout for
        // item 0 instead (checked), and a later deadline next time.
        common::with_growing_window(|window| {
            let pool = TaskPool::new(2).unwrap();
            let gate = Gate::new();
            let deadline = Instant::now() + window;
            let mut results = pool
                .map(0..3, 2, |i| common::after(&gate, i))
                .unwrap()
                .deadline(deadline);
            gate.open();
            let first = results.next().unwrap();
            let submitted = pool.stats().submitted;
            match first {
                Ok(first) if submitted == 2 => assert_eq!(first, 0), // items 0 and 1 submitted
                Ok(_) => return false,                               // the deadline passed between the two submissions
                Err(err) => {
                    assert!(err.is_timeout() && err.index() == 0, "{err}");
                    assert!(Instant::now() >= deadline);
                    return false;
                }
            }
            // Item 1 must be out before the next call. The stats count a
            // task before its outcome is published, but its permit comes
            // back only after: two probe tasks running (limit 2) prove both
            // items' outcomes are out.
            let probe_gate = Gate::new();
            let (started_tx, started_rx) = common::signal();
            let probes: Vec<_> = (0..2)
                .map(|_| {
                    let (started, gate) = (started_tx.clone(), probe_gate.clone());
                    pool.submit(async move {
                        started.send(()).await.unwrap();
                        gate.wait().await; // holds its permit
                    })
                    .unwrap()
                })
                .collect();
            started_rx.recv_blocking().unwrap();
            started_rx.recv_blocking().unwrap();
            probe_gate.open();
            probes.into_iter().for_each(|h| h.wait().unwrap());
            common::spin_until(|| Instant::now() >= deadline);
            assert_eq!(results.next().unwrap().unwrap(), 1, "ready in time");
            let err = results.next().unwrap().unwrap_err();
            assert!(err.is_timeout());
            assert_eq!(err.index(), 2);
            assert_eq!(
                pool.stats().submitted,
                4,
                "nothing is submitted after the deadline (2 items, 2 probes)"
            );
            true
        });
    });
}

#[test]
fn dropping_the_stream_drops_a_submission_waiting_for_queue_space() {
    watchdog(|| {
        // One permit, one queue slot, both taken: the map's first
        // submission has to wait.
        let pool = TaskPool::builder().limit(1).queue_capacity(1).build().unwrap();
        let gate = Gate::new();
        let (started_tx, started_rx) = common::signal();
        let blocker_gate = gate.clone();
        let blocker = pool
            .submit(async move {
                started_tx.send(()).await.unwrap();
                blocker_gate.wait().await;
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        let queued = pool.submit(async {}).unwrap();
        let mut stream = pool.map([1], 1, |i| async move { i }).unwrap().into_stream();
        {
            let next = std::pin::pin!(stream.next());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(std::future::Future::poll(next, &mut cx).is_pending());
        }
        drop(stream);
        gate.open();
        blocker.wait().unwrap();
        queued.wait().unwrap();
        assert_eq!(pool.stats().submitted, 2, "the map's item was never submitted");
    });
}

#[test]
fn a_per_item_task_timeout_fails_that_item_and_the_iteration_goes_on() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let (guard, dropped) = drop_signal();
        let mut guard = Some(guard);
        let mut results = pool
            .map(0..3_usize, 2, move |i| {
                let guard = (i == 1).then(|| guard.take().unwrap());
                async move {
                    match guard {
                        // Can never finish: only its timeout ends it.
                        Some(guard) => never_ending(guard, None).await,
                        None => i,
                    }
                }
            })
            .unwrap()
            .task_timeout(Duration::from_millis(10));
        assert_eq!(results.next().unwrap().unwrap(), 0);
        let err = results.next().unwrap().unwrap_err();
        assert_eq!(err.index(), 1);
        assert!(!err.is_timeout(), "the item's timeout, not the map's");
        let error = err.task_error().unwrap();
        assert!(error.is_timeout());
        assert_eq!(error.timeout(), Some(Duration::from_millis(10)));
        dropped.recv_blocking().unwrap(); // the timed-out future was dropped
        assert_eq!(results.next().unwrap().unwrap(), 2);
        assert!(results.next().is_none());
        assert_eq!(pool.stats().timed_out, 1);
    });
}

#[test]
fn a_zero_task_timeout_is_refused_with_a_clear_error_not_a_panic() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let mut results = pool
            .map(5..8, 2, |i| async move { i * 2 })
            .unwrap()
            .task_timeout(Duration::ZERO);
        let err = results.next().unwrap().unwrap_err();
        assert!(err.is_invalid_timeout());
        assert!(!err.is_timeout() && !err.is_closed() && err.task_error().is_none());
        assert_eq!(err.index(), 0);
        assert_eq!(
            err.to_string(),
            "map could not submit item 0: a per-task timeout must be greater than zero"
        );
        assert!(results.next().is_none(), "the refusal ends the map");
        assert_eq!(pool.stats().submitted, 0);
        // The refused item's future comes back.
        let future = err.into_inner().unwrap();
        assert_eq!(pool.submit(future).unwrap().wait().unwrap(), 10);
    });
}

#[test]
fn every_item_task_carries_the_task_name() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(2).unwrap();
        let names: Vec<_> = pool
            .map(0..3, 2, |_| async { panic!("planned panic") })
            .unwrap()
            .task_name(String::from("resize"))
            .map(|item: Result<(), _>| item.unwrap_err().task_error().unwrap().name().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [
                Some("resize".to_owned()),
                Some("resize".to_owned()),
                Some("resize".to_owned())
            ]
        );
    });
}

#[test]
fn the_task_options_carry_over_into_the_stream() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(3).unwrap();
        let inner = pool.clone();
        let (guard, dropped) = drop_signal();
        let mut guard = Some(guard);
        let seen = pool
            .submit(async move {
                let mut stream = inner
                    .map(0..2_usize, 2, move |i| {
                        let guard = (i == 0).then(|| guard.take().unwrap());
                        async move {
                            match guard {
                                Some(guard) => never_ending::<()>(guard, None).await,
                                None => panic!("planned panic"),
                            }
                        }
                    })
                    .unwrap()
                    .task_name("item")
                    .task_timeout(Duration::from_millis(10))
                    .into_stream();
                let mut seen = Vec::new();
                while let Some(item) = stream.next().await {
                    let error = item.unwrap_err().into_task_error().unwrap();
                    seen.push((error.is_timeout(), error.is_panic(), error.name().map(str::to_owned)));
                }
                seen
            })
            .unwrap()
            .wait()
            .unwrap();
        let name = Some("item".to_owned());
        assert_eq!(seen, [(true, false, name.clone()), (false, true, name)]);
        dropped.recv_blocking().unwrap();
    });
}
