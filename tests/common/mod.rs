//! Helpers shared by the integration tests: a watchdog for anything that
//! could hang, a gate to hold tasks, a probe that measures concurrency from
//! inside tasks, and a logger that records lines.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Long enough never to fire on a loaded machine, short enough that a hang
/// fails the run instead of stalling CI.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `f` on another thread and fails the test if it does not finish
/// within [`WATCHDOG`]: turns a hang into a failure. Panics in `f` are
/// resumed here.
pub fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    watchdog_for(WATCHDOG, f)
}

/// [`watchdog`] with a limit of one's own (property tests that shrink a
/// hang want a shorter one).
pub fn watchdog_for<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("watched".into())
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out);
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(Ok(out)) => {
            worker.join().unwrap();
            out
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the test did not finish within {limit:?}: it hangs"),
    }
}

/// A gate tasks can wait on, opened by the test. Cloneable.
#[derive(Clone)]
pub struct Gate {
    tx: async_channel::Sender<()>,
    rx: async_channel::Receiver<()>,
}

impl Gate {
    pub fn new() -> Gate {
        let (tx, rx) = async_channel::unbounded();
        Gate { tx, rx }
    }

    /// Waits until the gate is opened.
    pub async fn wait(&self) {
        // `recv` only ever returns once the channel is closed.
        let _ = self.rx.recv().await;
    }

    /// Opens the gate for every waiter, now and later.
    pub fn open(&self) {
        self.tx.close();
    }

    /// A receiver whose `recv_blocking` returns once the gate opens, for
    /// blocking code.
    pub fn receiver(&self) -> async_channel::Receiver<()> {
        self.rx.clone()
    }

    /// Whether the gate is still shut (for loops on plain threads).
    pub fn wait_is_pending(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// A one-shot signal from a task to the test: "I have started".
pub fn signal() -> (async_channel::Sender<()>, async_channel::Receiver<()>) {
    async_channel::unbounded()
}

/// Measures, from inside tasks, how many run at once.
#[derive(Clone, Default)]
pub struct Probe {
    inner: Arc<ProbeInner>,
}

#[derive(Default)]
struct ProbeInner {
    current: AtomicUsize,
    max: AtomicUsize,
    entered: AtomicUsize,
}

/// Held by a task while it runs; dropping it (on return, panic or cancel)
/// leaves the probe.
pub struct Inside {
    inner: Arc<ProbeInner>,
}

impl Probe {
    pub fn enter(&self) -> Inside {
        let now = self.inner.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.max.fetch_max(now, Ordering::SeqCst);
        self.inner.entered.fetch_add(1, Ordering::SeqCst);
        Inside {
            inner: Arc::clone(&self.inner),
        }
    }

    pub fn max(&self) -> usize {
        self.inner.max.load(Ordering::SeqCst)
    }

    pub fn current(&self) -> usize {
        self.inner.current.load(Ordering::SeqCst)
    }

    pub fn entered(&self) -> usize {
        self.inner.entered.load(Ordering::SeqCst)
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        self.inner.current.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A logger that keeps every line, for tests that assert on logs. One per
/// test binary (the `log` facade allows one logger per process).
pub struct Recorder {
    lines: Mutex<Vec<(log::Level, String)>>,
    /// The same lines, each with the name of the thread that logged it.
    by_thread: Mutex<Vec<(Option<String>, String)>>,
}

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        let thread = std::thread::current().name().map(str::to_owned);
        self.by_thread.lock().unwrap().push((thread, line.clone()));
        self.lines.lock().unwrap().push((record.level(), line));
    }

    fn flush(&self) {}
}

impl Recorder {
    /// Installs the recorder (once per process) and returns it.
    pub fn install() -> &'static Recorder {
        static RECORDER: OnceLock<&'static Recorder> = OnceLock::new();
        RECORDER.get_or_init(|| {
            let recorder: &'static Recorder = Box::leak(Box::new(Recorder {
                lines: Mutex::new(Vec::new()),
                by_thread: Mutex::new(Vec::new()),
            }));
            log::set_logger(recorder).expect("no other logger in this test binary");
            log::set_max_level(log::LevelFilter::Trace);
            recorder
        })
    }

    /// Every line logged so far that contains `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<(log::Level, String)> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|(_, l)| l.contains(needle)).cloned().collect()
    }

    /// Every line logged so far.
    pub fn lines(&self) -> Vec<(log::Level, String)> {
        self.lines.lock().unwrap().clone()
    }

    /// Every line logged so far by the thread named `thread`, in order.
    pub fn lines_of_thread(&self, thread: &str) -> Vec<String> {
        let lines = self.by_thread.lock().unwrap();
        lines
            .iter()
            .filter(|(t, _)| t.as_deref() == Some(thread))
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// Polls futures by hand with a waker that raises a flag, to prove
/// "pending, then woken, then ready" without sleeping.
pub struct FlagWaker {
    flag: Arc<std::sync::atomic::AtomicBool>,
    waker: std::task::Waker,
}

struct Flag(Arc<std::sync::atomic::AtomicBool>);

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl FlagWaker {
    pub fn new() -> FlagWaker {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waker = std::task::Waker::from(Arc::new(Flag(Arc::clone(&flag))));
        FlagWaker { flag, waker }
    }

    /// Polls `future` once, clearing the flag first.
    pub fn poll<F: std::future::Future + ?Sized>(&self, future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
        self.flag.store(false, Ordering::SeqCst);
        future.poll(&mut std::task::Context::from_waker(&self.waker))
    }

    /// Whether the waker was woken since the last poll.
    pub fn woken(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}
