//! The file watcher example, run on a temp dir with a short interval. Each
//! test moves only after the watcher has reported the check it waits for,
//! so the interval never has to be "long enough".

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
mod example_bin;
#[path = "../examples/file_watch.rs"]
mod file_watch;

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_std::task::block_on;
use common::{Recorder, watchdog};
use file_watch::cli::Parsed;
use file_watch::{BUFFER, Check, Event, NEEDLE, Options, Removal, Report, THREAD_NAME};
use taskpool::DaemonExecutor;

/// Counts live heap bytes, for the bounded-memory test.
#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

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
fn a_directory_is_skipped_and_watched_again() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::create_dir(&path).unwrap();
        let (run, checks) = start(&path, None);
        wait_for(&checks, Check::NotRegular("a directory"));
        fs::remove_dir(&path).unwrap();
        wait_for(&checks, Check::Missing);
        fs::write(&path, "Wow!").unwrap();
        assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
    });
}

/// Issue 15, item 7: a FIFO is never opened (opening one blocks until a
/// writer comes), so the watcher does not hang; it warns once however many
/// times it finds it, and finds the file that replaces it.
#[cfg(unix)]
#[test]
fn a_fifo_is_skipped_with_one_warning_and_watched_until_a_file_replaces_it() {
    let recorder = Recorder::install();
    watchdog(move || {
        let (_dir, path) = wow_path();
        let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        let (run, checks) = start(&path, None);
        for _ in 0..3 {
            assert_eq!(checks.recv().unwrap().0, Check::NotRegular("a FIFO"));
        }
        fs::remove_file(&path).unwrap();
        wait_for(&checks, Check::Missing);
        fs::write(&path, "Wow!").unwrap();
        assert_deleted(run.join().unwrap(), &path, Removal::Deleted);
        let name = path.display().to_string();
        let warnings: Vec<String> = recorder
            .lines_with(&name)
            .into_iter()
            .filter(|(level, _)| *level == log::Level::Warn)
            .map(|(_, line)| line)
            .collect();
        assert_eq!(
            warnings,
            [format!(
                "{name} is a FIFO, not a regular file: not reading it; checking again every {INTERVAL:?}"
            )]
        );
    });
}

/// Issue 15, item 7: `/dev/zero` never ends; it is not read at all.
#[cfg(unix)]
#[test]
fn dev_zero_is_not_read() {
    watchdog(|| {
        assert_eq!(
            block_on(file_watch::check(Path::new("/dev/zero"))),
            Check::NotRegular("a character device")
        );
    });
}

/// Issue 15, item 7: a check holds one buffer, not the file. A 8 MiB file
/// with the needle at its very end is found while the heap grows by less
/// than a quarter of that (other tests in this binary allocate a little
/// meanwhile; reading the whole file would add all 8 MiB at once).
#[test]
fn a_large_file_is_searched_in_bounded_memory() {
    const SIZE: u64 = 8 << 20;
    watchdog(|| {
        let (_dir, path) = wow_path();
        let mut file = File::create(&path).unwrap();
        file.set_len(SIZE - NEEDLE.len() as u64).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        file.write_all(NEEDLE.as_bytes()).unwrap();
        drop(file);

        let baseline = counting_alloc::live_bytes();
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let mut peak = counting_alloc::live_bytes();
                while !done.load(Ordering::SeqCst) {
                    peak = peak.max(counting_alloc::live_bytes());
                    thread::yield_now();
                }
                peak
            })
        };
        let found = block_on(file_watch::check(&path));
        done.store(true, Ordering::SeqCst);
        let grown = sampler.join().unwrap() - baseline;
        assert_eq!(found, Check::Found);
        assert!(grown < (SIZE / 4) as isize, "the heap grew by {grown} bytes");
    });
}

/// A reader that hands out one byte per read: every split of the needle
/// across reads.
struct OneByte(File);

impl Read for OneByte {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = buf.len().min(1);
        self.0.read(&mut buf[..end])
    }
}

/// Issue 15, item 7: the needle split across two reads of the buffer
/// still counts; a near miss across them does not.
#[test]
fn a_match_across_buffer_boundaries_counts() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        for split in 0..=NEEDLE.len() {
            let mut contents = vec![b'.'; BUFFER - split];
            contents.extend_from_slice(b"Wow!...");
            fs::write(&path, &contents).unwrap();
            assert_eq!(
                block_on(file_watch::check(&path)),
                Check::Found,
                "split after {split} bytes"
            );
        }
        let mut near_miss = vec![b'.'; BUFFER - 2];
        near_miss.extend_from_slice(b"Wo.w!");
        fs::write(&path, &near_miss).unwrap();
        assert_eq!(block_on(file_watch::check(&path)), Check::NoNeedle);

        fs::write(&path, "a Wo, a WoW, then Wow! at last").unwrap();
        let mut buffer = [0_u8; 4];
        assert!(file_watch::contains(OneByte(File::open(&path).unwrap()), b"Wow!", &mut buffer).unwrap());
        fs::write(&path, "a Wo, a WoW, no more").unwrap();
        assert!(!file_watch::contains(OneByte(File::open(&path).unwrap()), b"Wow!", &mut buffer).unwrap());
    });
}

/// Issue 15, item 7: an error keeps the operating system's reason.
#[cfg(unix)]
#[test]
fn an_unreadable_path_keeps_the_operating_systems_reason() {
    watchdog(|| {
        let (_dir, path) = wow_path();
        fs::write(&path, "a file, not a directory").unwrap();
        match block_on(file_watch::check(&path.join("inner"))) {
            Check::Unreadable(reason) => assert!(reason.contains("Not a directory (os error 20)"), "{reason}"),
            other => panic!("expected an error, got {other:?}"),
        }
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
                    .pool()
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
                .pool()
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
    let parse = |args: &[&str]| Options::parse(args.iter().copied());
    let defaults = parse(&[]).unwrap().unwrap();
    assert_eq!(defaults.path, PathBuf::from("wow.txt"));
    assert_eq!((defaults.interval, defaults.timeout), (Duration::from_secs(5), None));
    assert_eq!(parse(&["--help"]).unwrap(), Parsed::Help);

    let all = parse(&["--interval", "0.25", "/tmp/x", "--timeout", "60"])
        .unwrap()
        .unwrap();
    assert_eq!(all.path, PathBuf::from("/tmp/x"));
    assert_eq!(all.interval, Duration::from_millis(250));
    assert_eq!(all.timeout, Some(Duration::from_secs(60)));

    for (bad, message) in [
        (&["a", "b"][..], "unexpected argument \"b\""),
        (&["--interval"], "missing argument for option '--interval'"),
        (
            &["--interval", "often"],
            "--interval: \"often\" is not a number of seconds",
        ),
        (&["--interval", "0"], "--interval must be more than 0 seconds"),
        (&["--timeout", "0"], "--timeout must be more than 0 seconds"),
        (&["--quiet"], "invalid option '--quiet'"),
    ] {
        let error = parse(bad).expect_err(&format!("{bad:?} should be refused"));
        assert!(error.to_string().contains(message), "{bad:?}: {error}");
    }
}

/// Issue 15, items 7 and 8: the real program refuses `--interval 0` (a
/// busy loop) with exit code 2, and has `--help`.
#[test]
fn the_real_program_has_help_and_refuses_a_zero_interval_with_exit_code_2() {
    watchdog(|| {
        example_bin::assert_cli_contract(
            "file_watch",
            &["--interval", "0"],
            "--interval must be more than 0 seconds",
        );
        example_bin::assert_cli_contract("file_watch", &["--quiet"], "invalid option '--quiet'");
    });
}
