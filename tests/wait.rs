//! `wait`: the done and the pending handles, for each `ReturnWhen`, with
//! and without a timeout, blocking and async.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Gate, assert_panics_on_the_daemon_thread, gated, spin_until, watchdog};
use proptest::prelude::*;
use taskpool::{DaemonExecutor, Opaque, ReturnWhen, ShutdownMode, TaskHandle, TaskPool};

const MODES: [ReturnWhen; 3] = [
    ReturnWhen::FirstCompleted,
    ReturnWhen::FirstError,
    ReturnWhen::AllCompleted,
];

fn ids<H: std::borrow::Borrow<TaskHandle<T>>, T>(handles: &[H]) -> Vec<u64> {
    handles.iter().map(|h| h.borrow().id().as_u64()).collect()
}

#[test]
fn an_empty_input_returns_at_once_in_every_mode() {
    watchdog(|| {
        for mode in MODES {
            let waited = taskpool::wait(Vec::<TaskHandle<()>>::new(), mode).block();
            assert!(waited.done.is_empty() && waited.pending.is_empty() && !waited.timed_out);
        }
        // Async, and on a daemon thread, where blocking would panic: an
        // empty wait never blocks.
        let executor = DaemonExecutor::new(1).unwrap();
        let handle = executor
            .pool()
            .submit(async {
                let awaited = taskpool::wait(Vec::<TaskHandle<()>>::new(), ReturnWhen::AllCompleted).await;
                let blocked = taskpool::wait(Vec::<TaskHandle<()>>::new(), ReturnWhen::AllCompleted).block();
                awaited.done.len() + blocked.done.len()
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), 0);
    });
}

#[test]
fn tasks_already_done_count_at_once() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let done = pool.submit(async { 1 }).unwrap();
        let stuck = pool.submit(std::future::pending::<i32>()).unwrap();
        spin_until(|| done.is_finished());
        // A zero timeout only checks: the finished task satisfies it.
        let waited = taskpool::wait([&stuck, &done], ReturnWhen::FirstCompleted)
            .timeout(Duration::ZERO)
            .block();
        assert!(!waited.timed_out);
        assert_eq!(ids(&waited.done), ids(&[&done]));
        assert_eq!(ids(&waited.pending), ids(&[&stuck]));
        stuck.cancel();
    });
}

#[test]
fn first_completed_returns_the_first_to_finish_and_the_rest_stay_pending() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gates = [Gate::new(), Gate::new(), Gate::new()];
        let handles: Vec<_> = (0..3).map(|i| gated(&pool, &gates[i], i)).collect();
        gates[1].open();
        let waited = taskpool::wait(&handles, ReturnWhen::FirstCompleted).block();
        assert_eq!(ids(&waited.done), ids(&[&handles[1]]));
        assert_eq!(ids(&waited.pending), ids(&[&handles[0], &handles[2]]), "input order");
        assert!(!waited.timed_out);

        // The pending handles were not consumed: wait on them again.
        gates[0].open();
        gates[2].open();
        let waited = taskpool::wait(waited.pending, ReturnWhen::AllCompleted).block();
        assert_eq!(waited.done.len(), 2);
        let values: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(values, [0, 1, 2]);
    });
}

#[test]
fn first_error_counts_a_panic_a_per_task_timeout_and_an_err_with_no_opt_in() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        let failing: Vec<TaskHandle<Result<(), String>>> = vec![
            pool.submit(async { panic!("boom") }).unwrap(),
            pool.build_task()
                .timeout(Duration::from_millis(5))
                .submit(std::future::pending())
                .unwrap(),
            pool.submit(async { Err("typed".to_owned()) }).unwrap(),
        ];
        for failure in failing {
            let stuck = pool.submit(std::future::pending::<Result<(), String>>()).unwrap();
            let waited = taskpool::wait([&stuck, &failure], ReturnWhen::FirstError).block();
            assert!(!waited.timed_out);
            assert_eq!(ids(&waited.done), ids(&[&failure]));
            assert_eq!(ids(&waited.pending), ids(&[&stuck]));
            stuck.cancel();
        }
    });
}

#[test]
fn first_error_does_not_count_a_cancel_a_shutdown_or_an_opaque_err() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let running = gated(&pool, &gate, Opaque(Ok::<(), String>(())));
        spin_until(|| running.is_running()); // a shutdown lets it finish
        let queued = pool.submit(async { Opaque(Ok(())) }).unwrap();
        let cancelled = pool.submit(std::future::pending()).unwrap();
        // `Opaque` opts a `Result` out: its `Err` is a value like any other.
        let plain_err = TaskPool::new(1)
            .unwrap()
            .submit(async { Opaque(Err::<(), _>("a value".to_owned())) })
            .unwrap();
        assert!(cancelled.cancel());
        let shutdown = pool.shutdown(ShutdownMode::CancelPending); // `queued` never runs
        spin_until(|| queued.is_finished() && cancelled.is_finished() && plain_err.is_finished());

        // None of them is an error: the wait goes on until its timeout.
        let handles = [&running, &queued, &cancelled, &plain_err];
        let waited = taskpool::wait(handles, ReturnWhen::FirstError)
            .timeout(Duration::from_millis(20))
            .block();
        assert!(waited.timed_out);
        assert_eq!(ids(&waited.done), ids(&[&queued, &cancelled, &plain_err]));
        assert_eq!(ids(&waited.pending), ids(&[&running]));

        // All done and still no error: first-error returns then.
        gate.open();
        let waited = taskpool::wait(handles, ReturnWhen::FirstError).block();
        assert!(!waited.timed_out);
        assert_eq!(waited.done.len(), 4);
        shutdown.wait();
    });
}

#[test]
fn all_completed_waits_for_every_task() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let (first, second) = (Gate::new(), Gate::new());
        let handles = vec![gated(&pool, &first, 1), gated(&pool, &second, 2)];
        first.open();
        spin_until(|| handles[0].is_finished());
        let waited = taskpool::wait(&handles, ReturnWhen::AllCompleted)
            .timeout(Duration::from_millis(10))
            .block();
        assert!(waited.timed_out);
        assert_eq!((waited.done.len(), waited.pending.len()), (1, 1));
        second.open();
        let waited = taskpool::wait(handles, ReturnWhen::AllCompleted).block();
        assert!(!waited.timed_out);
        let values: Vec<_> = waited.done.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(values, [1, 2]);
    });
}

#[test]
fn a_timeout_returns_the_split_as_it_stands_and_cancels_nothing() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let stuck = pool.submit(std::future::pending::<()>()).unwrap();
        for waited in [
            taskpool::wait([&stuck], ReturnWhen::FirstCompleted)
                .timeout(Duration::from_millis(5))
                .block(),
            taskpool::wait([&stuck], ReturnWhen::AllCompleted)
                .deadline(Instant::now())
                .block(),
        ] {
            assert!(waited.timed_out);
            assert!(waited.done.is_empty());
            assert_eq!(ids(&waited.pending), ids(&[&stuck]));
        }
        assert!(!stuck.is_finished(), "a timed-out wait cancels nothing");
        assert!(stuck.cancel());
    });
}

#[test]
fn a_task_given_twice_counts_once_and_comes_back_once() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let a = pool.submit(async { 'a' }).unwrap();
        let b = gated(&pool, &gate, 'b');

        // Twice by reference: once in the result, at its first position.
        let waited = taskpool::wait([&b, &a, &b, &a], ReturnWhen::FirstCompleted).block();
        assert_eq!(ids(&waited.done), ids(&[&a]));
        assert_eq!(ids(&waited.pending), ids(&[&b]));
        assert_eq!(waited.done.len() + waited.pending.len(), 2);

        // Twice through `Arc`s: all-completed needs each task once.
        let a = Arc::new(a);
        let b = Arc::new(b);
        gate.open();
        let waited = taskpool::wait(
            vec![Arc::clone(&a), Arc::clone(&b), Arc::clone(&a)],
            ReturnWhen::AllCompleted,
        )
        .block();
        assert_eq!(ids(&waited.done), ids(&[&*a, &*b]));
        drop(waited);
        assert_eq!(Arc::strong_count(&a), 1, "the extra copy was dropped");
    });
}

#[test]
fn owned_handles_come_back_and_give_their_outcomes() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let handles = vec![pool.submit(async { 1 }).unwrap(), pool.submit(async { 2 }).unwrap()];
        let waited = taskpool::wait(handles, ReturnWhen::AllCompleted).block();
        let values: Vec<_> = waited.done.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(values, [1, 2]);
    });
}

#[test]
fn the_async_form_waits_without_blocking_and_honours_its_timeout() {
    watchdog(|| {
        // One daemon thread: a blocking wait there would panic, so this
        // passing means the async form never blocks it.
        let executor = DaemonExecutor::new(3).unwrap();
        let pool = executor.pool().clone();
        let handle = executor
            .pool()
            .submit(async move {
                let gate = Gate::new();
                let slow = gated(&pool, &gate, 1);
                let stuck = pool.submit(std::future::pending::<i32>()).unwrap();
                let timed = taskpool::wait([&slow, &stuck], ReturnWhen::FirstCompleted)
                    .timeout(Duration::from_millis(5))
                    .await;
                assert!(timed.timed_out && timed.done.is_empty());
                gate.open();
                let waited = taskpool::wait([&slow, &stuck], ReturnWhen::FirstCompleted).await;
                assert!(!waited.timed_out);
                assert_eq!(ids(&waited.done), ids(&[&slow]));
                stuck.cancel();
                slow.await.unwrap()
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), 1);
    });
}

#[test]
fn a_blocking_wait_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        assert_panics_on_the_daemon_thread(|pool, gate| {
            let unfinished = gated(&pool, &gate, ());
            taskpool::wait([&unfinished], ReturnWhen::AllCompleted)
                .block()
                .timed_out
        });
    });
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Value,
    Err,
    Panic,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Value), Just(Kind::Err), Just(Kind::Panic)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Tasks finish in a chosen order (each waits on its own gate): at each
    /// step, `wait` sees exactly the tasks that have finished, first-completed
    /// returns exactly the one that just did, and first-error / all-completed
    /// are satisfied exactly when the finished ones say so.
    #[test]
    fn wait_agrees_with_the_real_completion_order(
        (kinds, order) in prop::collection::vec(kind(), 1..7)
            .prop_flat_map(|kinds| {
                let order = Just((0..kinds.len()).collect::<Vec<_>>()).prop_shuffle();
                (Just(kinds), order)
            })
    ) {
        watchdog(move || {
            let pool = TaskPool::new(kinds.len()).unwrap();
            let gates: Vec<Gate> = kinds.iter().map(|_| Gate::new()).collect();
            let handles: Vec<TaskHandle<Result<usize, usize>>> = kinds
                .iter()
                .enumerate()
                .map(|(i, &kind)| {
                    let gate = gates[i].clone();
                    pool.submit(async move {
                        gate.wait().await;
                        match kind {
                            Kind::Value => Ok(i),
                            Kind::Err => Err(i),
                            Kind::Panic => panic!("task {i}"),
                        }
                    })
                    .unwrap()
                })
                .collect();
            for (step, &next) in order.iter().enumerate() {
                let waiting: Vec<&TaskHandle<_>> = order[step..].iter().map(|&i| &handles[i]).collect();
                gates[next].open();
                let waited = taskpool::wait(waiting, ReturnWhen::FirstCompleted).block();
                assert_eq!(ids(&waited.done), ids(&[&handles[next]]));

                let finished = &order[..=step];
                let mut expected_done: Vec<usize> = finished.to_vec();
                expected_done.sort();
                let expected_done: Vec<u64> = expected_done.iter().map(|&i| handles[i].id().as_u64()).collect();
                let all_done = step + 1 == kinds.len();
                let any_error = finished.iter().any(|&i| !matches!(kinds[i], Kind::Value));
                for (mode, satisfied) in [
                    (ReturnWhen::FirstError, any_error || all_done),
                    (ReturnWhen::AllCompleted, all_done),
                ] {
                    let waited = taskpool::wait(&handles, mode).timeout(Duration::ZERO).block();
                    assert_eq!(ids(&waited.done), expected_done, "{mode:?}");
                    assert_eq!(waited.timed_out, !satisfied, "{mode:?} after {finished:?} of {kinds:?}");
                }
            }
        });
    }
}

#[test]
fn a_wait_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<taskpool::Wait<TaskHandle<u8>, u8>>();
    send_sync::<taskpool::Wait<&TaskHandle<u8>, u8>>();
    send_sync::<taskpool::Waited<TaskHandle<u8>>>();
}

#[test]
fn dropping_a_wait_cancels_nothing_and_a_huge_timeout_means_none() {
    watchdog(|| {
        let pool = TaskPool::new(1).unwrap();
        let gate = Gate::new();
        let (done_tx, done_rx) = common::signal();
        let task_gate = gate.clone();
        let handle = pool
            .submit(async move {
                task_gate.wait().await;
                done_tx.send(()).await.unwrap();
            })
            .unwrap();
        drop(taskpool::wait([handle], ReturnWhen::AllCompleted));
        gate.open();
        done_rx.recv_blocking().unwrap(); // the detached task ran to its end

        let finished = pool.submit(async { 1 }).unwrap();
        let waited = taskpool::wait([&finished], ReturnWhen::AllCompleted)
            .timeout(Duration::MAX)
            .block();
        assert!(!waited.timed_out && waited.done.len() == 1);
    });
}
