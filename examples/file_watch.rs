//! A watcher task polls a file for "Wow!" and sets an event; a second task waiting on that event deletes the file; both run on one `DaemonExecutor`.
//!
//! Run it with `cargo run --example file_watch -- wow.txt --interval 1`,
//! then, from another terminal, `echo hello > wow.txt` and later
//! `echo 'Wow!' >> wow.txt`: the file disappears and the program exits.
//! `--timeout S` makes the watcher give up after S seconds; `--help` lists
//! the flags.
//!
//! Each check reads the file as a stream through a fixed buffer of
//! [`BUFFER`] bytes, so a file of any size costs the same memory, and a
//! `Wow!` split across two reads still counts. A path that is not a regular
//! file (a directory, a FIFO, `/dev/zero`) is not read at all: the watcher
//! warns once and keeps checking.
//!
//! Seed task 4. Python would use a `threading.Event` (or `asyncio.Event`)
//! and `time.sleep`; here both functions are async tasks on the executor's
//! one thread, and the watcher's sleep is an async timer, so while it waits
//! the thread is free for the other task.

#[path = "common/cli.rs"]
pub mod cli;

use std::ffi::OsString;
use std::fs::{self, File, FileType};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cli::Parsed;
use futures_timer::Delay;
use log::{debug, error, info, warn};
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
    /// The path is not a regular file (`"a directory"`, `"a FIFO"`,
    /// `"a character device"`...): it is not read, and the watcher keeps
    /// checking.
    NotRegular(&'static str),
    /// The file could not be read; the message keeps the operating
    /// system's reason ("Permission denied (os error 13)"). The watcher
    /// keeps trying.
    Unreadable(String),
}

/// The buffer each check reads the file through: the most of it that is in
/// memory at once.
pub const BUFFER: usize = 64 * 1024;

/// Looks at the file once, on async-std's blocking pool (file reads block),
/// so the daemon thread stays free meanwhile.
pub async fn check(path: &Path) -> Check {
    let path = path.to_owned();
    async_std::task::spawn_blocking(move || check_blocking(&path)).await
}

fn check_blocking(path: &Path) -> Check {
    // Look before opening: opening a FIFO blocks until someone writes.
    match fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() => return Check::NotRegular(kind(&metadata.file_type())),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Check::Missing,
        Err(e) => return Check::Unreadable(e.to_string()),
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Check::Missing,
        Err(e) => return Check::Unreadable(e.to_string()),
    };
    // The path may have been replaced since: check what was opened.
    match file.metadata() {
        Ok(metadata) if !metadata.is_file() => return Check::NotRegular(kind(&metadata.file_type())),
        Ok(_) => {}
        Err(e) => return Check::Unreadable(e.to_string()),
    }
    match contains(file, NEEDLE.as_bytes(), &mut vec![0; BUFFER]) {
        Ok(true) => Check::Found,
        Ok(false) => Check::NoNeedle,
        Err(e) => Check::Unreadable(e.to_string()),
    }
}

/// What a file that is not a regular one is, in words.
fn kind(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Whether `needle` occurs in what `reader` yields, reading it through
/// `buffer` and holding nothing else: memory stays at the buffer's size
/// whatever the input's length. The last `needle.len() - 1` bytes of each
/// read are kept for the next, so a match split across two reads counts.
///
/// # Errors
///
/// The reader's error (with its operating-system reason).
///
/// # Panics
///
/// If `buffer` is shorter than `needle`.
pub fn contains(mut reader: impl Read, needle: &[u8], buffer: &mut [u8]) -> io::Result<bool> {
    assert!(buffer.len() >= needle.len(), "the buffer is shorter than the needle");
    if needle.is_empty() {
        return Ok(true);
    }
    let keep = needle.len() - 1;
    let mut filled = 0;
    loop {
        let read = match reader.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(false),
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += read;
        if buffer[..filled].windows(needle.len()).any(|window| window == needle) {
            return Ok(true);
        }
        // Keep the tail that could start a match, at the front.
        let tail = filled.saturating_sub(keep);
        buffer.copy_within(tail..filled, 0);
        filled -= tail;
    }
}

/// The watcher: checks `path` every `interval` until it contains the
/// needle, then sets `found`. `on_check` sees every check, before the event
/// is set. Returns how many checks it made.
///
/// A path that is not a regular file, or cannot be read, gets one warning
/// when that starts; the same finding again is logged at debug level only.
pub async fn watch(
    path: PathBuf,
    interval: Duration,
    found: Arc<Event>,
    mut on_check: impl FnMut(&Check) + Send,
) -> usize {
    let name = path.display();
    let mut checks = 0;
    let mut previous: Option<Check> = None;
    loop {
        checks += 1;
        let seen = check(&path).await;
        on_check(&seen);
        let again = previous.as_ref() == Some(&seen);
        match &seen {
            Check::Found => {
                info!("found {NEEDLE:?} in {name}: setting the event");
                found.set();
                return checks;
            }
            Check::Missing => info!("no {name} yet; checking again in {interval:?}"),
            Check::NoNeedle => info!("{name} has no {NEEDLE:?} yet; checking again in {interval:?}"),
            Check::NotRegular(kind) if !again => {
                warn!("{name} is {kind}, not a regular file: not reading it; checking again every {interval:?}")
            }
            Check::NotRegular(kind) => debug!("{name} is still {kind}"),
            Check::Unreadable(e) if !again => warn!("cannot read {name}: {e}; checking again every {interval:?}"),
            Check::Unreadable(e) => debug!("still cannot read {name}: {e}"),
        }
        previous = Some(seen);
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
    // std's error keeps the operating system's reason in its message
    // (async-std's replaces it with a context line).
    let target = path.clone();
    match async_std::task::spawn_blocking(move || fs::remove_file(target)).await {
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

    let mut watcher = executor.pool().build_task().name("watcher");
    if let Some(timeout) = timeout {
        watcher = watcher.timeout(timeout);
    }
    let watcher = watcher
        .submit(watch(path.to_owned(), interval, Arc::clone(&found), on_check))
        .expect("the executor is open");
    let deleter = executor
        .pool()
        .build_task()
        .name("deleter")
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
    /// `--interval S`: seconds between checks (more than 0).
    pub interval: Duration,
    /// `--timeout S`: give up after this long.
    pub timeout: Option<Duration>,
}

/// `--help`; its first line is the usage line.
pub const HELP: &str = "\
usage: file_watch [PATH] [--interval S] [--timeout S]

Watches PATH for \"Wow!\"; once it is there, deletes the file and exits.

  PATH            the file to watch (default wow.txt)
  --interval S    seconds between checks, more than 0 (default 5)
  --timeout S     give up after S seconds, with exit code 1 (default: never)
  -h, --help      print this help

Seconds may have decimals.
";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<I>(args: I) -> Result<Parsed<Options>, cli::Error>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use cli::Arg::{Long, Short, Value};
        let mut options = Options {
            path: PathBuf::from("wow.txt"),
            interval: DEFAULT_INTERVAL,
            timeout: None,
        };
        let mut path_given = false;
        let mut parser = cli::parser(args);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("interval") => options.interval = cli::positive_seconds(&mut parser, "--interval")?,
                Long("timeout") => options.timeout = Some(cli::positive_seconds(&mut parser, "--timeout")?),
                Long("help") | Short('h') => return Ok(Parsed::Help),
                Value(path) if !path_given => {
                    options.path = PathBuf::from(path);
                    path_given = true;
                }
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(Parsed::Run(options))
    }
}

#[allow(dead_code)] // Also compiled as a module of tests/file_watch.rs, which has its own main.
fn main() {
    let options = cli::parse_or_exit("file_watch", HELP, Options::parse(std::env::args_os().skip(1)));
    cli::init_logger(log::LevelFilter::Info);
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
