//! The file watcher example, run on a temp dir with a short interval. Each
//! test moves only after the watcher has reported the check it waits for,
//! so the interval never has to be "long enough".

mod common;
#[path = "../examples/file_watch.rs"]
mod file_watch;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::watchdog;
use file_watch::{Check, Event, Options, Removal, Report, THREAD_NAME};
use taskpool::DaemonExecutor;

const INTERVAL: Duration = Duration::from_millis(5);

/// A check as the test sees it: what was found, and on which thread.
type Seen = (Check, Option<String>);

/// Runs the scenario on another thread, reporting every check.
fn start(path: &Path, timeout: Option<Duration>) -> (JoinHandle<Report>, Receiver<Seen>) {
    start_with(path, timeout, |_| {})
}

/// As [`start`], and also calls `also` on each check, on the watcher's
/// thread, before the watcher acts on it.
fn start_with(
    path: &Path,
    timeout: Option<Duration>,
    mut also: impl FnMut(&Check) + Send + 'static,
) -> (JoinHandle<Report>, Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let path = path.to_owned();
    let run = thread::spawn(move || {
        file_watch::run(&path, INTERVAL, timeout, move |check| {
            also(check);
            let thread = thread::current().name().map(str::to_owned);
            // The test may have stopped listening; that is fine.
            let _ = tx.send((check.clone(), thread));
        })
    });
    (run, rx)
}

/// Waits for the first check that saw `wanted`.
fn wait_for(checks: &Receiver<Seen>, wanted: Check) {
    while checks.recv().expect("the watcher stopped before seeing it").0 != wanted {}
}

fn wow_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wow.txt");
    (dir, path)
}

fn assert_deleted(report: Report, path: &Path, removal: Removal) -> usize {
    let checks = report.watcher.expect("the watcher found the needle");
    assert_eq!(report.deleter.expect("the deleter ran").expect("no I/O error"), removal);
    assert!(!path.exists(), "the file is gone");
    checks
}

#[test]
fn a_file_appearing_late_is_found_and_deleted_on_the_daemon_thread() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        let (run, checks) = start(&path, None);
        wait_for(&checks, Check::Missing);
        fs::write(&path, "Wow!\n").unwrap();
        let made = assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
        assert!(made >= 2, "at least one check before the file existed");
        let seen: Vec<Seen> = checks.iter().collect();
        assert_eq!(seen.last().unwrap().0, Check::Found);
        for (_, thread) in seen {
            assert_eq!(
                thread.as_deref(),
                Some(THREAD_NAME),
                "the watcher runs on the daemon thread"
            );
        }
    });
}

#[test]
fn the_string_appearing_on_a_later_write_is_found() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::write(&path, "nothing to see\n").unwrap();
        let (run, checks) = start(&path, None);
        wait_for(&checks, Check::NoNeedle);
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"and now: Wow!\n")
            .unwrap();
        assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
        assert_eq!(checks.iter().last().unwrap().0, Check::Found);
    });
}

#[test]
fn a_file_removed_by_someone_else_before_the_deleter_is_not_an_error() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::write(&path, "Wow!").unwrap();
        // "Someone else" removes the file the moment the watcher has seen
        // it, before the event is set.
        let other = path.clone();
        let (run, _checks) = start_with(&path, None, move |check| {
            if *check == Check::Found {
                fs::remove_file(&other).unwrap();
            }
        });
        assert_deleted(run.join().unwrap(), &path, Removal::AlreadyGone);
    });
}

#[test]
fn a_file_removed_while_watched_is_waited_for_again() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::write(&path, "not yet\n").unwrap();
        let (run, checks) = start(&path, None);
        wait_for(&checks, Check::NoNeedle);
        fs::remove_file(&path).unwrap();
        wait_for(&checks, Check::Missing);
        fs::write(&path, "Wow!").unwrap();
        assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
    });
}

#[test]
fn an_unreadable_path_is_reported_and_watched_again() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::create_dir(&path).unwrap();
        let (run, checks) = start(&path, None);
        while !matches!(checks.recv().unwrap().0, Check::Unreadable(_)) {}
        fs::remove_dir(&path).unwrap();
        wait_for(&checks, Check::Missing);
        fs::write(&path, "Wow!").unwrap();
        assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
    });
}

#[test]
fn a_watcher_that_never_finds_the_string_times_out_and_the_deleter_is_cancelled() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::write(&path, "no luck\n").unwrap();
        let (run, _checks) = start(&path, Some(Duration::from_millis(20)));
        let report = run.join().unwrap();
        assert!(report.watcher.unwrap_err().is_timeout());
        assert!(report.deleter.unwrap_err().is_cancelled());
        assert!(path.exists(), "nothing deleted");
    });
}

#[test]
fn the_event_wakes_waiters_from_before_and_after_it_is_set() {
    watchdog(|| {
        let executor = DaemonExecutor::new(4).unwrap();
        let event = Arc::new(Event::new());
        let early: Vec<_> = (0..3)
            .map(|i| {
                let event = Arc::clone(&event);
                executor
                    .submit(async move {
                        event.wait().await;
                        i
                    })
                    .unwrap()
            })
            .collect();
        assert!(!event.is_set());
        event.set();
        let late = {
            let event = Arc::clone(&event);
            executor
                .submit(async move {
                    event.wait().await;
                    3
                })
                .unwrap()
        };
        let woken: Vec<i32> = early.into_iter().chain([late]).map(|h| h.wait().unwrap()).collect();
        assert_eq!(woken, [0, 1, 2, 3]);
    });
}

#[test]
fn options_have_defaults_and_parse_every_flag() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|a| a.to_string()));
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.path, PathBuf::from("wow.txt"));
    assert_eq!((defaults.interval, defaults.timeout), (Duration::from_secs(5), None));

    let all = parse(&["--interval", "0.25", "/tmp/x", "--timeout", "60"]).unwrap();
    assert_eq!(all.path, PathBuf::from("/tmp/x"));
    assert_eq!(all.interval, Duration::from_millis(250));
    assert_eq!(all.timeout, Some(Duration::from_secs(60)));

    for bad in [&["a", "b"][..], &["--interval"], &["--interval", "often"], &["--quiet"]] {
        assert!(parse(bad).is_err(), "{bad:?} should be refused");
    }
}
