//! Live resize: growing starts queued tasks at once; shrinking never
//! preempts a running task, and no new task starts until the running count
//! is under the new limit.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, Probe, Recorder, both_pool_kinds, signal, watchdog};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use taskpool::{ConfigError, DaemonExecutor, TaskHandle, TaskPool};

/// Submits a task that signals its start, then waits on `gate`.
fn held(pool: &TaskPool, gate: &Gate, started: &async_channel::Sender<()>) -> TaskHandle<()> {
    let (gate, started) = (gate.clone(), started.clone());
    pool.submit(async move {
        started.send(()).await.unwrap();
        gate.wait().await;
    })
    .unwrap()
}

#[test]
fn growing_starts_queued_tasks_at_once() {
    // On a daemon, the resize comes from this plain thread, which may not
    // start the daemon's tasks itself: its driver starts them.
    watchdog(|| {
        for (kind, pool, _executor) in both_pool_kinds(1) {
            let gate = Gate::new();
            let (started_tx, started_rx) = signal();
            let handles: Vec<_> = (0..4).map(|_| held(&pool, &gate, &started_tx)).collect();
            started_rx.recv_blocking().unwrap();
            assert_eq!(pool.stats().queued, 3, "{kind}");
            pool.set_limit(4).unwrap();
            // The three queued tasks start without any task ending first.
            for _ in 0..3 {
                started_rx.recv_blocking().unwrap();
            }
            assert_eq!(pool.stats().running, 4, "{kind}");
            gate.open();
            handles.into_iter().for_each(|h| h.wait().unwrap());
        }
    });
}

#[test]
fn shrinking_never_preempts_and_holds_new_starts_until_under_the_new_limit() {
    watchdog(|| {
        let executor = DaemonExecutor::new(3).unwrap();
        let pool = executor.pool().clone();
        let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
        let (started_tx, started_rx) = signal();
        let running: Vec<_> = gates.iter().map(|g| held(&pool, g, &started_tx)).collect();
        for _ in 0..3 {
            started_rx.recv_blocking().unwrap();
        }
        // Queued tasks check, as they start, that they fit the limit.
        let probe = Probe::default();
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let (probe, pool) = (probe.clone(), pool.clone());
                executor
                    .pool()
                    .submit(async move {
                        let _inside = probe.enter();
                        let running = pool.stats().running;
                        assert!(
                            running <= pool.limit() as u64,
                            "{running} running, limit {}",
                            pool.limit()
                        );
                    })
                    .unwrap()
            })
            .collect();
        pool.set_limit(1).unwrap();
        // Two of the three running tasks end: one is still running, which
        // is not under the new limit of 1, so nothing may start yet. A start
        // now would find 2 running and fail its check.
        gates[0].open();
        gates[1].open();
        let mut running = running.into_iter();
        running.next().unwrap().wait().unwrap();
        running.next().unwrap().wait().unwrap();
        assert_eq!(probe.entered(), 0);
        gates[2].open();
        running.next().unwrap().wait().unwrap();
        for h in queued {
            h.wait().unwrap();
        }
        assert_eq!(probe.max(), 1);
        assert_eq!(executor.pool().stats().cancelled, 0, "shrinking cancelled nothing");
    });
}

#[test]
fn a_zero_limit_is_refused_and_the_limit_kept() {
    let executor = DaemonExecutor::new(2).unwrap();
    assert!(matches!(executor.pool().set_limit(0), Err(ConfigError::ZeroLimit)));
    assert_eq!(executor.pool().limit(), 2);
    assert_eq!(executor.pool().stats().limit, 2);
}

/// One step of the resize property: a task of the mix, or a resize done
/// from inside a task on the daemon thread (so it is ordered exactly with
/// every start made on that thread).
#[derive(Clone, Debug)]
enum Op {
    Work { yields: u8, sleep_us: u64 },
    Resize(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0_u8..3, 0_u64..200).prop_map(|(yields, sleep_us)| Op::Work { yields, sleep_us }),
        1 => (1_usize..=6).prop_map(Op::Resize),
    ]
}

async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// The log's history of one daemon: limit changes and starts, in the order
/// they happened on the daemon thread.
fn check_history(lines: &[String], initial: usize) -> Result<usize, TestCaseError> {
    let mut limit = initial;
    let mut starts = 0;
    for line in lines {
        if let Some(rest) = line.strip_prefix("TASK POOL: limit changed from ") {
            let new = rest.trim_end_matches('.').rsplit(' ').next().unwrap();
            limit = new.parse().unwrap();
        } else if let Some(n) = line.strip_prefix("TASK POOL: Sending task to execute. Number of active tasks: ") {
            let running: usize = n.trim_end_matches('.').parse().unwrap();
            starts += 1;
            prop_assert!(
                running <= limit,
                "a task started with {running} running under limit {limit}"
            );
        }
    }
    Ok(starts)
}

/// A unique daemon thread name per case, to pick its lines from the log.
fn thread_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("resize-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/resize.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_resizes_never_let_a_start_exceed_the_current_limit(
        initial in 1_usize..=6,
        ops in prop::collection::vec(op(), 1..120),
    ) {
        // The log is process-wide: take only the lines of this case's
        // daemon thread (other tests run meanwhile).
        let recorder = Recorder::install();
        let thread = thread_name();
        let (lines, stats) = common::watchdog(move || {
            let executor = DaemonExecutor::builder().limit(initial).thread_name(thread.clone()).build().unwrap();
            // A driver task submits the mix, so that every submit, start and
            // resize of the mix happens on the daemon thread (a submit may
            // start its task at once, on the submitting thread) and the log
            // is one history. Only the driver's own start is logged on this
            // thread, before any resize.
            let pool = executor.pool().clone();
            let handles = executor
                .pool()
                .submit(async move {
                    ops.iter()
                        .map(|op| {
                            let (inner, op) = (pool.clone(), op.clone());
                            pool.submit(async move {
                                match op {
                                    Op::Work { yields, sleep_us } => {
                                        for _ in 0..yields {
                                            yield_now().await;
                                        }
                                        futures_timer::Delay::new(std::time::Duration::from_micros(sleep_us)).await;
                                    }
                                    Op::Resize(limit) => inner.set_limit(limit).unwrap(),
                                }
                            })
                            .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap()
                .wait()
                .unwrap();
            for h in handles {
                h.wait().unwrap();
            }
            let stats = executor.pool().stats();
            drop(executor);
            (recorder.lines_of_thread(&thread), stats)
        });
        let starts = check_history(&lines, initial)?;
        prop_assert_eq!(starts + 1, stats.submitted as usize, "every start but the driver's is on the daemon");
        prop_assert_eq!(stats.completed, stats.submitted, "nothing was preempted");
    }
}
