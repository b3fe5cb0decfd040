//! `as_completed`: values in completion order, as an iterator and as a
//! stream, one `Result` layer: a task that ended without a value is an
//! error the iteration goes past, the timeout an error that hands the
//! unfinished handles back and ends it.

mod common;

use std::time::Duration;

use common::{Gate, assert_panics_on_the_daemon_thread, gated, spin_until, watchdog};
use proptest::prelude::*;
use taskpool::{DaemonExecutor, TaskHandle, TaskPool};

#[test]
fn outcomes_come_in_the_order_the_tasks_finish() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gates = [Gate::new(), Gate::new(), Gate::new()];
        let handles: Vec<_> = (0..3).map(|i| gated(&pool, &gates[i], i * 10)).collect();
        let mut results = taskpool::as_completed(handles);
        for i in [2, 0, 1] {
            gates[i].open();
            assert_eq!(results.next().unwrap().unwrap(), (i, i * 10));
        }
        assert!(results.next().is_none());
        assert!(results.next().is_none(), "stays ended");
    });
}

#[test]
fn an_empty_input_ends_at_once() {
    watchdog(|| {
        assert!(taskpool::as_completed(Vec::<TaskHandle<()>>::new()).next().is_none());
        let timed = taskpool::as_completed(Vec::<TaskHandle<()>>::new()).timeout(Duration::ZERO);
        assert_eq!(timed.count(), 0, "no timeout error when there is nothing to wait for");
    });
}

#[test]
fn tasks_already_finished_come_first_in_input_order() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gate = Gate::new();
        let handles = vec![
            gated(&pool, &gate, 'x'),
            pool.submit(async { 'a' }).unwrap(),
            pool.submit(async { 'b' }).unwrap(),
        ];
        spin_until(|| handles[1].is_finished() && handles[2].is_finished());
        let mut results = taskpool::as_completed(handles).timeout(Duration::ZERO);
        assert_eq!(results.next().unwrap().unwrap().0, 1);
        assert_eq!(results.next().unwrap().unwrap().0, 2);
        let err = results.next().unwrap().unwrap_err();
        assert!(err.is_timeout());
        gate.open();
    });
}

#[test]
fn every_kind_of_outcome_is_yielded_and_the_iteration_goes_past_failures() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(3).unwrap();
        let cancelled = pool.submit(std::future::pending::<Result<u8, String>>()).unwrap();
        cancelled.cancel();
        let handles = vec![
            pool.submit(async { Ok(1) }).unwrap(),
            pool.submit(async { Err("typed".to_owned()) }).unwrap(),
            pool.submit(async { panic!("planned panic") }).unwrap(),
            cancelled,
        ];
        let items: Vec<_> = taskpool::as_completed(handles).collect();
        assert_eq!(items.len(), 4, "a failure does not end the iteration");
        let mut values: Vec<_> = items.iter().filter_map(|item| item.as_ref().ok()).collect();
        values.sort_by_key(|(index, _)| *index);
        // A typed `Err` is a value, not an `AsCompletedError`.
        assert_eq!(values, [&(0, Ok(1)), &(1, Err("typed".to_owned()))]);
        let mut failures: Vec<_> = items.into_iter().filter_map(Result::err).collect();
        failures.sort_by_key(|e| e.index());
        assert_eq!(failures[0].index(), Some(2));
        assert!(!failures[0].is_timeout());
        assert!(failures[0].unfinished().is_empty());
        assert!(failures[0].task_error().unwrap().is_panic());
        let id = failures[0].task_error().unwrap().id();
        assert_eq!(
            failures[0].to_string(),
            format!("item 2: task {id} panicked with message \"planned panic\"")
        );
        assert_eq!(failures[1].index(), Some(3));
        let cancelled = failures.pop().unwrap();
        assert!(cancelled.task_error().unwrap().is_cancelled());
        assert!(cancelled.into_task_error().unwrap().is_cancelled());
        assert!(failures.pop().unwrap().into_inner().is_empty());
    });
}

#[test]
fn a_timeout_yields_one_error_with_the_unfinished_handles_then_ends() {
    watchdog(|| {
        let pool = TaskPool::new(3).unwrap();
        let gate = Gate::new();
        let handles = vec![
            gated(&pool, &gate, 0),
            pool.submit(async { 1 }).unwrap(),
            gated(&pool, &gate, 2),
        ];
        let ids: Vec<_> = handles.iter().map(TaskHandle::id).collect();
        spin_until(|| handles[1].is_finished());
        let mut results = taskpool::as_completed(handles).timeout(Duration::from_millis(20));
        assert_eq!(results.next().unwrap().unwrap().0, 1);
        let err = results.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "timed out with 2 tasks unfinished");
        assert!(err.is_timeout());
        assert_eq!(err.index(), None);
        assert!(err.task_error().is_none());
        assert_eq!(err.unfinished().len(), 2);
        assert!(results.next().is_none());

        // Nothing was cancelled: the handles come back and still work.
        let unfinished = err.into_inner();
        assert_eq!(unfinished.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(unfinished[0].1.id(), ids[0]);
        assert_eq!(unfinished[1].1.id(), ids[2]);
        gate.open();
        let values: Vec<_> = unfinished.into_iter().map(|(_, h)| h.wait().unwrap()).collect();
        assert_eq!(values, [0, 2]);
    });
}

#[test]
fn the_stream_yields_in_completion_order_and_times_out_the_same_way() {
    watchdog(|| {
        // On a daemon thread, where a blocking wait would panic.
        let executor = DaemonExecutor::new(4).unwrap();
        let pool = executor.pool().clone();
        let handle = executor
            .pool()
            .submit(async move {
                let gates = [Gate::new(), Gate::new()];
                let handles = vec![gated(&pool, &gates[0], 0), gated(&pool, &gates[1], 1)];
                let mut stream = taskpool::as_completed(handles).into_stream();
                let mut order = Vec::new();
                for i in [1, 0] {
                    gates[i].open();
                    order.push(stream.next().await.unwrap().unwrap().0);
                }
                assert!(stream.next().await.is_none());

                let stuck = pool.submit(std::future::pending::<usize>()).unwrap();
                let mut stream = taskpool::as_completed([stuck])
                    .timeout(Duration::from_millis(5))
                    .into_stream();
                let err = stream.next().await.unwrap().unwrap_err();
                assert!(stream.next().await.is_none());
                let unfinished = err.into_inner();
                assert_eq!(unfinished.len(), 1);
                assert!(unfinished[0].1.cancel());
                order
            })
            .unwrap();
        assert_eq!(handle.wait().unwrap(), [1, 0]);
    });
}

#[test]
fn the_blocking_iterator_on_the_daemon_thread_panics_instead_of_deadlocking() {
    watchdog(|| {
        assert_panics_on_the_daemon_thread(|pool, gate| taskpool::as_completed([gated(&pool, &gate, ())]).next());
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Tasks finish in a chosen order, each when its gate opens; the
    /// iterator yields exactly that order, with each task's own outcome.
    #[test]
    fn as_completed_agrees_with_the_real_completion_order(
        order in (1..8_usize).prop_flat_map(|n| Just((0..n).collect::<Vec<_>>()).prop_shuffle()),
        panics in prop::collection::vec(any::<bool>(), 8),
    ) {
        watchdog(move || {
            let pool = TaskPool::new(order.len()).unwrap();
            let gates: Vec<Gate> = order.iter().map(|_| Gate::new()).collect();
            let handles: Vec<_> = (0..order.len())
                .map(|i| {
                    let (gate, panics) = (gates[i].clone(), panics[i]);
                    pool.submit(async move {
                        gate.wait().await;
                        assert!(!panics, "planned panic in task {i}");
                        i
                    })
                    .unwrap()
                })
                .collect();
            common::quiet_planned_panics();
            let mut results = taskpool::as_completed(handles);
            for &next in &order {
                gates[next].open();
                match results.next().unwrap() {
                    Ok((index, value)) => assert!(!panics[next] && index == next && value == next),
                    Err(e) => assert!(panics[next] && e.index() == Some(next) && e.task_error().unwrap().is_panic()),
                }
            }
            assert!(results.next().is_none());
        });
    }
}

#[test]
fn as_completed_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<taskpool::AsCompletedIter<u8>>();
    send_sync::<taskpool::AsCompletedStream<u8>>();
    send_sync::<taskpool::AsCompletedError<u8>>();
}

#[test]
fn dropping_a_pending_next_of_the_stream_loses_nothing() {
    watchdog(|| {
        let pool = TaskPool::new(2).unwrap();
        let gate = Gate::new();
        let mut stream = taskpool::as_completed([gated(&pool, &gate, 5)]).into_stream();
        {
            let next = std::pin::pin!(stream.next());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(std::future::Future::poll(next, &mut cx).is_pending());
        }
        gate.open();
        let item = pool.submit(async move { stream.next().await }).unwrap().wait().unwrap();
        assert_eq!(item.unwrap().unwrap(), (0, 5));
    });
}

#[test]
fn the_stream_yields_a_task_failure_and_goes_on() {
    watchdog(|| {
        common::quiet_planned_panics();
        let pool = TaskPool::new(3).unwrap();
        let inner = pool.clone();
        let items = pool
            .submit(async move {
                let failing = inner.submit(async { panic!("planned panic") }).unwrap();
                let handles = vec![failing, inner.submit(async { 7 }).unwrap()];
                let mut stream = taskpool::as_completed(handles).into_stream();
                let mut seen = Vec::new();
                while let Some(item) = stream.next().await {
                    seen.push(item.map_err(|e| (e.index(), e.task_error().is_some_and(|t| t.is_panic()))));
                }
                seen
            })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.contains(&Ok((1, 7))));
        assert!(items.contains(&Err((Some(0), true))));
    });
}
