//! `TaskGroup`: all successes in submission order (unwrapped through
//! `Fallible`), or every failure that happened; the first failure cancels
//! the rest at once; waiting returns only when every task has ended; timed
//! waits borrow the group; per-task options through `build_task`;
//! dropping cancels what is left.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use common::{
    FlagWaker, Gate, Probe, after, assert_panics_on_the_daemon_thread, drop_signal, never_ending, signal, spin_until,
    watchdog,
};
use proptest::prelude::*;
use taskpool::{DaemonExecutor, ShutdownMode, TaskPool};

type Out = Result<usize, String>;

#[test]
fn success_gives_every_value_in_submission_order() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let group = pool.task_group::<Out>();
        let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
        for (i, gate) in gates.iter().enumerate() {
            group.submit(after(gate, Ok(i))).unwrap();
        }
        for gate in gates.iter().rev() {
            gate.open();
        }
        // `Result<usize, String>` tasks give `usize`s: no second unwrap.
        let values: Vec<usize> = group.wait().unwrap();
        assert_eq!(values, [0, 1, 2]);
    });
}

#[test]
fn an_empty_group_returns_at_once() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        assert!(pool.task_group::<Out>().wait().unwrap().is_empty());
    });
}

#[test]
fn the_first_failure_cancels_the_other_tasks_before_anyone_waits() {
    watchdog(|| {
        for panics in [false, true] {
            let pool = TaskPool::new(2).unwrap();
            let group = pool.task_group::<Out>();
            let (started_tx, started_rx) = signal();
            let (running_guard, running_dropped) = drop_signal();
            let (queued_guard, queued_dropped) = drop_signal();
            group.submit(never_ending(running_guard, Some(started_tx))).unwrap();
            started_rx.recv_blocking().unwrap();
            let gate = Gate::new();
            let failing_gate = gate.clone();
            group
                .submit(async move {
                    failing_gate.wait().await;
                    if panics {
                        panic!("boom");
                    }
                    Err("refused".to_owned())
                })
                .unwrap();
            group.submit(never_ending(queued_guard, None)).unwrap();

            gate.open();
            // Nobody waits on the group yet; both others are cancelled.
            running_dropped.recv_blocking().unwrap();
            queued_dropped.recv_blocking().unwrap();

            let err = group.wait().unwrap_err();
            assert_eq!(err.failures().len(), 1, "the cancelled tasks are not listed");
            let first = err.first();
            assert_eq!(first.index(), 1);
            if panics {
                assert!(first.is_panic());
            } else {
                assert_eq!(first.value(), Some(&Err("refused".to_owned())));
            }
            assert_eq!(pool.stats().cancelled, 2);
        }
    });
}

#[test]
fn a_value_fails_only_by_its_fallible_verdict() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let group = pool.task_group::<Result<Result<u8, String>, String>>();
        // The inner `Err` is the task's value; only the outer one fails.
        group.submit(async { Ok(Err("inner".to_owned())) }).unwrap();
        assert_eq!(group.wait().unwrap(), [Err("inner".to_owned())]);
        assert_eq!(pool.stats().failed, 0);
    });
}

#[test]
fn failures_the_group_did_not_cause_are_all_listed_in_the_order_they_happened() {
    watchdog(|| {
        // One permit: `running` holds it, `queued` waits behind it.
        let pool = TaskPool::new(1).unwrap();
        let group = pool.task_group::<Out>();
        let (started_tx, started_rx) = signal();
        let gate = Gate::new();
        let running_gate = gate.clone();
        group
            .submit(async move {
                started_tx.send(()).await.unwrap();
                running_gate.wait().await;
                Err("late".to_owned())
            })
            .unwrap();
        group.submit(async { Ok(1) }).unwrap();
        started_rx.recv_blocking().unwrap();
        // Polled once while nothing has ended: the group notices nothing
        // (and cancels nothing), and the outcome it learns of next wakes it.
        let mut group = group;
        let waker = FlagWaker::new();
        assert!(waker.poll(std::pin::Pin::new(&mut group)).is_pending());

        // First failure: the pool ends the queued task (it never runs).
        // Its outcome is published after the stats count it, so wait for
        // the group to hear of it, not for the count.
        let shutdown = pool.shutdown(ShutdownMode::CancelPending);
        spin_until(|| waker.woken());
        assert_eq!(pool.stats().shut_down, 1);
        // Second failure: the running task returns an `Err`.
        gate.open();
        shutdown.wait();

        let err = group.wait().unwrap_err();
        let failures = err.failures();
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].index(), 1);
        assert!(failures[0].task_error().unwrap().is_shutdown());
        assert_eq!(failures[1].index(), 0);
        assert_eq!(failures[1].value(), Some(&Err("late".to_owned())));
        assert!(err.to_string().ends_with(", and 1 more task failed"), "{err}");
    });
}

#[test]
fn a_task_submitted_after_a_failure_is_cancelled_at_once_and_not_listed() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let group = pool.task_group::<Out>();
        group.submit(async { Err("first".to_owned()) }).unwrap();
        spin_until(|| pool.stats().failed == 1);
        let (guard, dropped) = drop_signal();
        group.submit(never_ending(guard, None)).unwrap();
        dropped.recv_blocking().unwrap();
        let err = group.wait().unwrap_err();
        assert_eq!(err.failures().len(), 1);
        assert_eq!(err.first().index(), 0);
    });
}

#[test]
fn dropping_the_group_cancels_what_is_left() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let group = pool.task_group::<Out>();
        let (running_guard, running_dropped) = drop_signal();
        let (queued_guard, queued_dropped) = drop_signal();
        let (started_tx, started_rx) = signal();
        group.submit(never_ending(running_guard, Some(started_tx))).unwrap();
        group.submit(never_ending(queued_guard, None)).unwrap();
        started_rx.recv_blocking().unwrap();
        drop(group);
        running_dropped.recv_blocking().unwrap();
        queued_dropped.recv_blocking().unwrap();
        spin_until(|| pool.stats().cancelled == 2);
    });
}

#[test]
fn waiting_returns_only_once_every_task_has_ended() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        let probe = Probe::default();
        let group = pool.task_group::<Out>();
        for i in 0..3 {
            let probe = probe.clone();
            group
                .submit(async move {
                    let _inside = probe.enter();
                    std::future::pending::<()>().await;
                    Ok(i)
                })
                .unwrap();
        }
        group.submit(async { Err("stop".to_owned()) }).unwrap();
        let err = group.wait().unwrap_err();
        assert_eq!(err.first().index(), 3);
        assert_eq!(probe.current(), 0, "no task of the group is left running");
        assert_eq!(pool.stats().running, 0);
    });
}

#[test]
fn a_bounded_wait_leaves_the_group_untouched_with_its_tasks_running() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let mut group = pool.task_group::<Out>();
        let gate = Gate::new();
        group.submit(after(&gate, Ok(7))).unwrap();
        group.submit(async { Ok(8) }).unwrap();
        spin_until(|| pool.stats().completed == 1);
        let err = group.wait_timeout(Duration::from_millis(10)).unwrap_err();
        assert_eq!((err.unfinished(), err.total()), (1, 2));
        assert_eq!(err.to_string(), "timed out with 1 of 2 tasks unfinished");
        let err = group.wait_deadline(Instant::now()).unwrap_err();
        assert_eq!(err.unfinished(), 1);
        assert_eq!(pool.stats().cancelled, 0, "an elapsed wait cancels nothing");
        // Still the same group: more tasks can join it.
        group.submit(async { Ok(9) }).unwrap();
        gate.open();
        assert_eq!(group.wait_timeout(Duration::MAX).unwrap().unwrap(), [7, 8, 9]);
    });
}

#[test]
fn a_group_can_be_awaited_after_a_timed_wait_elapsed() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let mut group = pool.task_group::<Out>();
        let gate = Gate::new();
        group.submit(after(&gate, Ok(3))).unwrap();
        assert!(group.wait_timeout(Duration::ZERO).is_err());
        let awaited = pool.submit(async move { group.await.unwrap() }).unwrap();
        gate.open();
        assert_eq!(awaited.wait().unwrap(), [3]);
    });
}

#[test]
fn waiting_again_after_a_timed_wait_returned_the_outcome_says_so() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(1).unwrap();
        let mut group = pool.task_group::<Out>();
        group.submit(async { Ok(1) }).unwrap();
        assert_eq!(group.wait_timeout(Duration::MAX).unwrap().unwrap(), [1]);
        let payload = catch_unwind(AssertUnwindSafe(|| drop(group.wait_timeout(Duration::ZERO)))).unwrap_err();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("polled after it returned"), "{message}");
        // Nobody will wait for a task submitted now: it is cancelled at once.
        let (guard, dropped) = drop_signal();
        group.submit(never_ending(guard, None)).unwrap();
        dropped.recv_blocking().unwrap();
    });
}

#[test]
fn a_group_can_be_awaited_on_a_daemon_thread() {
    watchdog(|| {
        let executor = DaemonExecutor::new(3).unwrap();
        let pool = executor.pool().clone();
        let handle = executor
            .pool()
            .submit(async move {
                let group = pool.task_group::<Out>();
                group.submit(async { Ok(1) }).unwrap();
                group.submit_async(async { Ok(2) }).await.unwrap();
                let values = group.await.unwrap();
                let failing = pool.task_group::<Out>();
                failing.submit(std::future::pending()).unwrap();
                failing.submit(async { Err("no".to_owned()) }).unwrap();
                (values, failing.await.unwrap_err().first().index())
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), (vec![1, 2], 1));
    });
}

#[test]
fn a_blocking_wait_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        assert_panics_on_the_daemon_thread(|pool, gate| {
            let group = pool.task_group::<Out>();
            group.submit(after(&gate, Ok(0))).unwrap();
            group.wait().is_ok()
        });
    });
}

#[test]
fn the_group_shares_the_pools_limit() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let probe = Probe::default();
        let group = pool.task_group::<Out>();
        for i in 0..10 {
            let probe = probe.clone();
            group
                .submit(async move {
                    let _inside = probe.enter();
                    futures_timer::Delay::new(Duration::from_millis(1)).await;
                    Ok(i)
                })
                .unwrap();
        }
        assert_eq!(group.wait().unwrap().len(), 10);
        assert!(probe.max() <= 2);
    });
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Value,
    Err,
    Panic,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever the durations, failures and limit: when the wait returns, no
    /// task of the group is left running; success gives every value in
    /// order; a failure lists only tasks that did fail, none twice.
    #[test]
    fn the_group_never_leaves_a_task_running_after_it_returns(
        tasks in prop::collection::vec(
            (0..3_u64, prop_oneof![4 => Just(Kind::Value), 1 => Just(Kind::Err), 1 => Just(Kind::Panic)]),
            0..10,
        ),
        limit in 1..4_usize,
    ) {
        watchdog(move || {
            let pool = TaskPool::new(limit).unwrap();
            let probe = Probe::default();
            let group = pool.task_group::<Out>();
            for (i, &(millis, kind)) in tasks.iter().enumerate() {
                let probe = probe.clone();
                group
                    .submit(async move {
                        let _inside = probe.enter();
                        futures_timer::Delay::new(Duration::from_millis(millis)).await;
                        match kind {
                            Kind::Value => Ok(i),
                            Kind::Err => Err(format!("task {i}")),
                            Kind::Panic => panic!("task {i}"),
                        }
                    })
                    .unwrap();
            }
            let outcome = group.wait();
            assert_eq!(probe.current(), 0, "a task is still running");
            assert_eq!(pool.stats().running, 0);
            match outcome {
                Ok(values) => {
                    assert!(tasks.iter().all(|(_, k)| matches!(k, Kind::Value)));
                    assert_eq!(values, (0..tasks.len()).collect::<Vec<_>>());
                }
                Err(err) => {
                    let mut seen = Vec::new();
                    for failure in err.failures() {
                        let i = failure.index();
                        assert!(!seen.contains(&i), "task {i} listed twice");
                        seen.push(i);
                        match tasks[i].1 {
                            Kind::Value => panic!("task {i} succeeded but is listed"),
                            Kind::Err => assert_eq!(failure.value(), Some(&Err(format!("task {i}")))),
                            Kind::Panic => assert!(failure.is_panic()),
                        }
                    }
                }
            }
        });
    }
}

#[test]
fn a_group_and_its_error_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<taskpool::TaskGroup<Out>>();
    send_sync::<taskpool::GroupError<Out>>();
    send_sync::<taskpool::TaskFailure<Out>>();
    send_sync::<taskpool::GroupTaskBuilder<'static, Out>>();
}

#[test]
fn a_failure_the_pool_caused_makes_the_wait_cancel_the_rest() {
    watchdog(|| {
        // One permit: `running` holds it, `queued` waits behind it.
        let pool = TaskPool::new(1).unwrap();
        let group = pool.task_group::<Out>();
        let (started_tx, started_rx) = signal();
        let (guard, dropped) = drop_signal();
        group.submit(never_ending(guard, Some(started_tx))).unwrap();
        group.submit(async { Ok(1) }).unwrap();
        started_rx.recv_blocking().unwrap();
        let shutdown = pool.shutdown(ShutdownMode::CancelPending); // ends `queued`
        // No member future saw that failure: the wait does, and cancels
        // the running task, which is then not listed.
        let err = group.wait().unwrap_err();
        dropped.recv_blocking().unwrap();
        assert_eq!(err.failures().len(), 1);
        assert_eq!(err.first().index(), 1);
        assert!(err.first().task_error().unwrap().is_shutdown());
        shutdown.wait();
    });
}

#[test]
fn a_task_submitted_after_the_group_completed_is_cancelled_at_once() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let (guard, dropped) = drop_signal();
        let inner = pool.clone();
        let handle = pool
            .submit(async move {
                let mut group = inner.task_group::<Out>();
                group.submit(async { Ok(1) }).unwrap();
                let values = (&mut group).await.unwrap();
                group.submit(never_ending(guard, None)).unwrap();
                // Cancelled while the group is still alive, not by its drop.
                dropped.recv().await.unwrap();
                drop(group);
                values
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), [1]);
    });
}

#[test]
fn a_member_past_its_task_timeout_fails_the_group_and_the_wait_cancels_the_rest() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let group = pool.task_group::<Out>();
        let (started_tx, started_rx) = signal();
        let (sibling_guard, sibling_dropped) = drop_signal();
        let (slow_guard, slow_dropped) = drop_signal();
        group.submit(never_ending(sibling_guard, Some(started_tx))).unwrap();
        started_rx.recv_blocking().unwrap();
        group
            .build_task()
            .name("slow")
            .timeout(Duration::from_millis(10))
            .submit(never_ending(slow_guard, None))
            .unwrap();
        let err = group.wait().unwrap_err();
        slow_dropped.recv_blocking().unwrap();
        sibling_dropped.recv_blocking().unwrap();
        assert_eq!(err.failures().len(), 1, "the sibling the group cancelled is not listed");
        let first = err.first();
        assert_eq!(first.index(), 1);
        let error = first.task_error().unwrap();
        assert!(error.is_timeout());
        assert_eq!(error.name(), Some("slow"));
        assert_eq!(error.timeout(), Some(Duration::from_millis(10)));
        assert_eq!((pool.stats().timed_out, pool.stats().cancelled), (1, 1));
    });
}

#[test]
fn build_task_names_the_member_and_its_submits_join_the_group() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(2).unwrap();
        let inner = pool.clone();
        let (names, values) = pool
            .submit(async move {
                let group = inner.task_group::<Out>();
                let builder = group.build_task().name("a").timeout(Duration::from_secs(60));
                let debug = format!("{builder:?}");
                builder.submit(async { Ok(1) }).unwrap();
                group.build_task().name("b").try_submit(async { Ok(2) }).unwrap();
                group
                    .build_task()
                    .name("c")
                    .submit_async(async { Ok(3) })
                    .await
                    .unwrap();
                assert_eq!(group.len(), 3);
                let values = group.await.unwrap();

                let failing = inner.task_group::<Out>();
                failing
                    .build_task()
                    .name("d")
                    .submit(async { panic!("planned panic") })
                    .unwrap();
                let err = failing.await.unwrap_err();
                (
                    (debug, err.first().task_error().unwrap().name().map(str::to_owned)),
                    values,
                )
            })
            .unwrap()
            .wait()
            .unwrap();
        assert!(
            names.0.contains("GroupTaskBuilder") && names.0.contains("\"a\""),
            "{}",
            names.0
        );
        assert_eq!(names.1.as_deref(), Some("d"));
        assert_eq!(values, [1, 2, 3]);
    });
}

#[test]
fn a_zero_task_timeout_is_refused_and_the_future_comes_back() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let group = pool.task_group::<Out>();
        let err = group
            .build_task()
            .timeout(Duration::ZERO)
            .submit(async { Ok(4) })
            .unwrap_err();
        assert!(err.is_invalid_timeout());
        let err = group
            .build_task()
            .timeout(Duration::ZERO)
            .try_submit(err.into_inner())
            .unwrap_err();
        assert!(err.is_invalid_timeout() && !err.is_full() && !err.is_closed());
        assert!(group.is_empty(), "the group is unchanged");
        assert_eq!(pool.stats().submitted, 0);
        group.submit(err.into_inner()).unwrap();
        assert_eq!(group.wait().unwrap(), [4]);
    });
}

#[test]
fn try_submit_never_waits_and_hands_the_future_back_when_full_or_closed() {
    watchdog(|| {
        // One permit and one queue slot, both taken by tasks outside the group.
        let pool = TaskPool::builder().limit(1).queue_capacity(1).build().unwrap();
        let gate = Gate::new();
        let (started_tx, started_rx) = signal();
        let blocker_gate = gate.clone();
        let blocker = pool
            .submit(async move {
                started_tx.send(()).await.unwrap();
                blocker_gate.wait().await;
            })
            .unwrap();
        started_rx.recv_blocking().unwrap();
        let queued = pool.submit(async {}).unwrap();

        let group = pool.task_group::<Out>();
        let err = group.try_submit(async { Ok(5) }).unwrap_err();
        assert!(err.is_full() && !err.is_closed());
        let err = group.build_task().name("x").try_submit(err.into_inner()).unwrap_err();
        assert!(err.is_full());
        assert!(group.is_empty(), "the group is unchanged");
        let future = err.into_inner();

        gate.open();
        blocker.wait().unwrap();
        queued.wait().unwrap();
        group.try_submit(future).unwrap();
        assert_eq!(group.wait().unwrap(), [5]);

        pool.close();
        let group = pool.task_group::<Out>();
        let err = group.try_submit(async { Ok(6) }).unwrap_err();
        assert!(err.is_closed() && !err.is_full());
        assert!(group.is_empty());
    });
}
