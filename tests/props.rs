//! Property tests: random task mixes on random limits, submitted from
//! several threads, with random cancels. Whatever the mix:
//! - the number running at once (measured inside tasks) never exceeds the
//!   limit;
//! - every handle resolves exactly once, to the outcome its task chose (or
//!   `Cancelled` when its cancel took effect), and no task body runs twice;
//! - all permits are back at the end.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Probe, assert_all_permits_free, quiet_planned_panics};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use taskpool::{DaemonExecutor, TaskPool};

#[derive(Clone, Copy, Debug)]
enum Step {
    Yield,
    Sleep(u64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Choice {
    Value,
    Err,
    Panic,
}

#[derive(Clone, Debug)]
struct Spec {
    steps: Vec<Step>,
    choice: Choice,
    cancel: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    let step = prop_oneof![Just(Step::Yield), (0_u64..80).prop_map(Step::Sleep)];
    let choice = prop_oneof![6 => Just(Choice::Value), 2 => Just(Choice::Err), 1 => Just(Choice::Panic)];
    (prop::collection::vec(step, 0..4), choice, prop::bool::weighted(0.15)).prop_map(|(steps, choice, cancel)| Spec {
        steps,
        choice,
        cancel,
    })
}

/// A yield that returns `Pending` once.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

fn run_mix(pool: &TaskPool, threads: usize, specs: &[Spec]) -> Result<(), TestCaseError> {
    let probe = Probe::default();
    let runs: Arc<Vec<AtomicUsize>> = Arc::new(specs.iter().map(|_| AtomicUsize::new(0)).collect());
    let mut workers = Vec::new();
    for t in 0..threads {
        let mine: Vec<(usize, Spec)> = specs.iter().cloned().enumerate().skip(t).step_by(threads).collect();
        let (pool, probe, runs) = (pool.clone(), probe.clone(), Arc::clone(&runs));
        workers.push(std::thread::spawn(move || {
            let submitted: Vec<_> = mine
                .into_iter()
                .map(|(i, spec)| {
                    let (probe, runs) = (probe.clone(), Arc::clone(&runs));
                    let steps = spec.steps.clone();
                    let choice = spec.choice;
                    let handle = pool
                        .build_task()
                        .submit(async move {
                            let _inside = probe.enter();
                            for step in steps {
                                match step {
                                    Step::Yield => yield_now().await,
                                    Step::Sleep(us) => futures_timer::Delay::new(Duration::from_micros(us)).await,
                                }
                            }
                            runs[i].fetch_add(1, Ordering::SeqCst);
                            match choice {
                                Choice::Value => Ok(i),
                                Choice::Err => Err(i),
                                Choice::Panic => panic!("planned panic {i}"),
                            }
                        })
                        .unwrap();
                    (i, spec, handle)
                })
                .collect();
            let cancelled: Vec<bool> = submitted
                .iter()
                .map(|(_, spec, handle)| spec.cancel && handle.cancel())
                .collect();
            submitted
                .into_iter()
                .zip(cancelled)
                .map(|((i, spec, handle), cancelled)| (i, spec.choice, cancelled, handle.wait()))
                .collect::<Vec<_>>()
        }));
    }
    let mut resolved = 0;
    for worker in workers {
        for (i, choice, cancelled, outcome) in worker.join().unwrap() {
            resolved += 1;
            if cancelled {
                let err = outcome.as_ref().err();
                prop_assert!(
                    err.is_some_and(|e| e.is_cancelled()),
                    "task {i}: cancel took effect, got {outcome:?}"
                );
                continue;
            }
            match (choice, outcome) {
                (Choice::Value, Ok(Ok(v))) => prop_assert_eq!(v, i),
                (Choice::Err, Ok(Err(v))) => prop_assert_eq!(v, i),
                (Choice::Panic, Err(e)) => {
                    prop_assert!(e.is_panic());
                    prop_assert_eq!(e.panic_message().map(str::to_owned), Some(format!("planned panic {i}")));
                }
                (choice, outcome) => prop_assert!(false, "task {i} chose {choice:?} but resolved to {outcome:?}"),
            }
            prop_assert_eq!(runs[i].load(Ordering::SeqCst), 1, "task {} ran its body once", i);
        }
    }
    prop_assert_eq!(resolved, specs.len());
    prop_assert!(
        runs.iter().all(|r| r.load(Ordering::SeqCst) <= 1),
        "no task body ran twice"
    );
    prop_assert!(
        probe.max() <= pool.limit(),
        "{} ran at once, limit {}",
        probe.max(),
        pool.limit()
    );
    prop_assert_eq!(probe.current(), 0);
    let stats = pool.stats();
    prop_assert_eq!(stats.submitted, specs.len() as u64);
    prop_assert_eq!(stats.running + stats.queued, 0);
    prop_assert_eq!(stats.submitted, stats.finished());
    prop_assert!(stats.peak_running <= pool.limit() as u64);
    assert_all_permits_free(pool);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/props.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_mixes_keep_the_limit_and_deliver_every_outcome_once(
        limit in 1_usize..=8,
        threads in 1_usize..=4,
        on_daemon in any::<bool>(),
        specs in prop::collection::vec(spec(), 1..200),
    ) {
        quiet_planned_panics();
        common::watchdog(move || {
            if on_daemon {
                let executor = DaemonExecutor::new(limit).unwrap();
                run_mix(executor.pool(), threads, &specs)
            } else {
                let pool = TaskPool::new(limit).unwrap();
                run_mix(&pool, threads, &specs)
            }
        })?;
    }
}
