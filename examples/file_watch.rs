//! A watcher task polls a file for "Wow!" and sets an event; a second task waiting on that event deletes the file; both run on one `DaemonExecutor`.
//!
//! Run it with `cargo run --example file_watch -- wow.txt --interval 1`,
//! then, from another terminal, `echo hello > wow.txt` and later
//! `echo 'Wow!' >> wow.txt`: the file disappears and the program exits.
//! `--timeout S` makes the watcher give up after S seconds.
//!
//! Seed task 4. Python would use a `threading.Event` (or `asyncio.Event`)
//! and `time.sleep`; here both functions are async tasks on the executor's
//! one thread, and the watcher's sleep is an async timer, so while it waits
//! the thread is free for the other task.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_timer::Delay;
use log::{error, info, warn};
use taskpool::{DaemonExecutor, TaskError};

/// What the watcher looks for.
pub const NEEDLE: &str = "Wow!";

/// How often the watcher checks by default, as in the seed.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// An event tasks can wait for, set once: Python's `asyncio.Event`.
#[derive(Debug, Default)]
pub struct Event {
    set: AtomicBool,
    waiters: event_listener::Event,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the event and wakes every task waiting for it.
    pub fn set(&self) {
        // SeqCst pairs with the loads in `wait`: a waiter that registered
        // before this store is notified; one that registers after sees it.
        self.set.store(true, Ordering::SeqCst);
        self.waiters.notify(usize::MAX);
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Waits until the event is set.
    pub async fn wait(&self) {
        loop {
            if self.is_set() {
                return;
            }
            // Register, then check again: a `set` between the two is not
            // missed.
            let listener = self.waiters.listen();
            if self.is_set() {
                return;
            }
            listener.await;
        }
    }
}

/// What one look at the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// No such file.
    Missing,
    /// The file is there, without the needle.
    NoNeedle,
    /// The file contains the needle.
    Found,
    /// The file could not be read (a directory, no permission...): the
    /// watcher keeps trying.
    Unreadable(String),
}

/// Looks at the file once.
pub async fn check(path: &Path) -> Check {
    match async_std::fs::read(path).await {
        Ok(contents) => {
            if contents.windows(NEEDLE.len()).any(|w| w == NEEDLE.as_bytes()) {
                Check::Found
            } else {
                Check::NoNeedle
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Check::Missing,
        Err(e) => Check::Unreadable(e.to_string()),
    }
}

/// The watcher: checks `path` every `interval` until it contains the
/// needle, then sets `found`. `on_check` sees every check, before the event
/// is set. Returns how many checks it made.
pub async fn watch(
    path: PathBuf,
    interval: Duration,
    found: Arc<Event>,
    mut on_check: impl FnMut(&Check) + Send,
) -> usize {
    let name = path.display();
    let mut checks = 0;
    loop {
        checks += 1;
        let seen = check(&path).await;
        on_check(&seen);
        match &seen {
            Check::Found => {
                info!("found {NEEDLE:?} in {name}: setting the event");
                found.set();
                return checks;
            }
            Check::Missing => info!("no {name} yet; checking again in {interval:?}"),
            Check::NoNeedle => info!("{name} has no {NEEDLE:?} yet; checking again in {interval:?}"),
            Check::Unreadable(e) => warn!("cannot read {name} ({e}); checking again in {interval:?}"),
        }
        // An async sleep: the daemon thread runs other tasks meanwhile.
        Delay::new(interval).await;
    }
}

/// What the deleter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// It deleted the file.
    Deleted,
    /// Someone else had removed it first; nothing to do.
    AlreadyGone,
}

/// The deleter: waits for `found`, then deletes `path`.
///
/// # Errors
///
/// The error of the deletion, other than "not found" (which is
/// [`Removal::AlreadyGone`]).
pub async fn delete_when_set(path: PathBuf, found: Arc<Event>) -> io::Result<Removal> {
    found.wait().await;
    let name = path.display();
    info!("the event is set: deleting {name}");
    match async_std::fs::remove_file(&path).await {
        Ok(()) => {
            info!("deleted {name}");
            Ok(Removal::Deleted)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            info!("{name} is already gone: someone else removed it");
            Ok(Removal::AlreadyGone)
        }
        Err(e) => Err(e),
    }
}

/// How both tasks ended.
#[derive(Debug)]
pub struct Report {
    /// The watcher's number of checks, or what happened to it (it times
    /// out with `--timeout`).
    pub watcher: Result<usize, TaskError>,
    /// The deleter's outcome; cancelled if the watcher never found the
    /// needle.
    pub deleter: Result<io::Result<Removal>, TaskError>,
}

/// The daemon thread's name.
pub const THREAD_NAME: &str = "file-watch";

/// The scenario: a `DaemonExecutor` runs the watcher and the deleter; the
/// calling thread waits for both, then drops the executor (which joins its
/// thread). With a `timeout`, a watcher that has not found the needle by
/// then is stopped, and the deleter cancelled.
pub fn run(
    path: &Path,
    interval: Duration,
    timeout: Option<Duration>,
    on_check: impl FnMut(&Check) + Send + 'static,
) -> Report {
    let executor = DaemonExecutor::builder()
        .limit(2)
        .thread_name(THREAD_NAME)
        .build()
        .expect("limit 2 and a plain thread name are valid");
    let found = Arc::new(Event::new());

    let mut watcher = executor.build_task().name("watcher");
    if let Some(timeout) = timeout {
        watcher = watcher.timeout(timeout);
    }
    let watcher = watcher
        .submit(watch(path.to_owned(), interval, Arc::clone(&found), on_check))
        .expect("the executor is open");
    let deleter = executor
        .build_task()
        .name("deleter")
        .fallible()
        .submit(delete_when_set(path.to_owned(), found))
        .expect("the executor is open");

    let watcher = watcher.wait();
    if watcher.is_err() {
        // The event will never be set.
        deleter.cancel();
    }
    let deleter = deleter.wait();
    drop(executor);
    Report { watcher, deleter }
}

/// The command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The file to watch (default `wow.txt`).
    pub path: PathBuf,
    /// `--interval S`: seconds between checks.
    pub interval: Duration,
    /// `--timeout S`: give up after this long.
    pub timeout: Option<Duration>,
}

/// The usage line.
pub const USAGE: &str = "usage: file_watch [PATH (default wow.txt)] [--interval S (default 5)] [--timeout S]";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            path: PathBuf::from("wow.txt"),
            interval: DEFAULT_INTERVAL,
            timeout: None,
        };
        let mut path_given = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--interval" => options.interval = seconds(&arg, &value()?)?,
                "--timeout" => options.timeout = Some(seconds(&arg, &value()?)?),
                _ if arg.starts_with("--") => return Err(format!("unknown flag {arg:?}")),
                _ if path_given => return Err(format!("one path only, not also {arg:?}")),
                _ => {
                    options.path = PathBuf::from(&arg);
                    path_given = true;
                }
            }
        }
        Ok(options)
    }
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{flag}: {value:?} is not a number of seconds"))
}

#[allow(dead_code)] // Also compiled as a module of tests/file_watch.rs, which has its own main.
fn main() {
    simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Info)
        .env()
        .init()
        .expect("no other logger is installed");
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    info!(
        "watching {} for {NEEDLE:?} every {:?}; create it and write {NEEDLE:?} into it",
        options.path.display(),
        options.interval
    );
    let report = run(&options.path, options.interval, options.timeout, |_| {});
    match (&report.watcher, &report.deleter) {
        (Ok(checks), Ok(Ok(removal))) => info!("done after {checks} checks: {removal:?}"),
        (Err(e), _) => {
            error!("the watcher stopped: {e}");
            std::process::exit(1);
        }
        (_, Err(e)) => {
            error!("the deleter stopped: {e}");
            std::process::exit(1);
        }
        (_, Ok(Err(e))) => {
            error!("could not delete {}: {e}", options.path.display());
            std::process::exit(1);
        }
    }
}
