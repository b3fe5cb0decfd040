//! `stats()`: a lock-free snapshot whose buckets always add up, `Debug`
//! with the main figures, and a debug line when the pool stops.

mod common;

use std::time::Duration;

use common::{Gate, Recorder, running, watchdog};
use taskpool::{DaemonExecutor, ShutdownMode, Stats, TaskPool};

fn assert_adds_up(s: &Stats) {
    assert_eq!(
        s.submitted,
        s.queued + s.running + s.completed + s.panicked + s.cancelled + s.timed_out + s.shut_down,
        "{s:?}"
    );
    assert!(s.failed <= s.completed, "{s:?}");
}

#[test]
fn every_outcome_lands_in_its_bucket() {
    watchdog(|| {
        let executor = DaemonExecutor::new(2).unwrap();
        let gate = Gate::new();
        let held = running(executor.pool(), &gate, ());
        let ok = executor.pool().submit(async { 1 }).unwrap();
        let failed = executor.pool().submit(async { Err::<(), _>("no") }).unwrap();
        let opaque_err = executor
            .pool()
            .submit(async { taskpool::Opaque(Err::<(), _>("opted out")) })
            .unwrap();
        let panicked = executor.pool().submit(async { panic!("p") as () }).unwrap();
        let timed_out = executor
            .pool()
            .build_task()
            .timeout(Duration::from_millis(1))
            .submit(std::future::pending::<()>())
            .unwrap();
        assert_eq!(ok.wait().unwrap(), 1);
        failed.wait().unwrap().unwrap_err();
        opaque_err.wait().unwrap().0.unwrap_err();
        panicked.wait().unwrap_err();
        timed_out.wait().unwrap_err();

        let s = executor.pool().stats();
        assert_adds_up(&s);
        assert_eq!((s.limit, s.running, s.queued), (2, 1, 0));
        assert_eq!(
            (s.submitted, s.completed, s.failed),
            (6, 3, 1),
            "a Result's Err counts as failed with no opt-in; an Opaque one does not"
        );
        assert_eq!((s.panicked, s.timed_out, s.cancelled, s.shut_down), (1, 1, 0, 0));
        assert_eq!(s.peak_running, 2);

        // A queued task cancelled. `a` takes the free permit and waits at
        // the gate, so `b` and `c` stay queued behind it.
        let g = gate.clone();
        let a = executor.pool().submit(async move { g.wait().await }).unwrap();
        let b = executor.pool().submit(async {}).unwrap();
        let c = executor.pool().submit(async {}).unwrap();
        assert!(c.cancel());
        executor.pool().close();
        let s = executor.pool().stats();
        assert_adds_up(&s);
        gate.open();
        held.wait().unwrap();
        a.wait().unwrap();
        b.wait().unwrap();
        executor.shutdown(ShutdownMode::Drain).wait();
        let s = executor.pool().stats();
        assert_adds_up(&s);
        assert_eq!((s.running, s.queued, s.cancelled, s.submitted), (0, 0, 1, 9));
    });
}

#[test]
fn snapshots_taken_under_load_always_add_up() {
    watchdog(|| {
        let pool = TaskPool::new(4).unwrap();
        let stop = Gate::new();
        let sampler = {
            let (pool, stop) = (pool.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut samples = 0;
                while stop.wait_is_pending() {
                    let s = pool.stats();
                    assert_adds_up(&s);
                    assert!(s.running <= 4, "{s:?}");
                    samples += 1;
                }
                samples
            })
        };
        let handles: Vec<_> = (0..2_000)
            .map(|i| {
                pool.submit(async move {
                    if i % 7 == 0 {
                        futures_timer::Delay::new(Duration::from_micros(20)).await;
                    }
                    assert!(i % 97 != 0);
                })
                .unwrap()
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            if i % 11 == 0 {
                h.cancel();
            }
            let _ = h.wait();
        }
        stop.open();
        assert!(sampler.join().unwrap() > 0);
        let s = pool.stats();
        assert_adds_up(&s);
        assert_eq!(s.submitted, 2_000);
    });
}

#[test]
fn debug_shows_the_main_figures_and_stop_logs_the_stats() {
    let recorder = Recorder::install();
    watchdog(move || {
        let pool = TaskPool::new(3).unwrap();
        pool.submit(async {}).unwrap().wait().unwrap();
        let text = format!("{pool:?}");
        for field in ["limit: 3", "running: 0", "queued: 0", "closed: false"] {
            assert!(text.contains(field), "{text}");
        }
        pool.shutdown(ShutdownMode::Drain).wait();
        let lines = recorder.lines_with("TASK POOL: stopped with Stats {");
        assert!(
            lines
                .iter()
                .any(|(level, line)| *level == log::Level::Debug && line.contains("submitted: 1"))
        );
    });
}
