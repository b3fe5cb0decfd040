//! Helpers shared by the integration tests: a watchdog for anything that
//! could hang, a gate to hold tasks, a probe that measures concurrency from
//! inside tasks, and a logger that records lines.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::future::Future;
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
        self.lines_of_threads(&[thread])
    }

    /// Every line logged so far by the threads named in `threads`, in the
    /// order they were logged (other tests in the binary log meanwhile).
    pub fn lines_of_threads(&self, threads: &[&str]) -> Vec<String> {
        let lines = self.by_thread.lock().unwrap();
        lines
            .iter()
            .filter(|(t, _)| t.as_deref().is_some_and(|t| threads.contains(&t)))
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

/// Sends once on its channel when dropped: tells the test that a task's
/// future was dropped (it ended, or was cancelled).
pub struct DropSignal(async_channel::Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

/// A [`DropSignal`] to move into a task, and the receiver that hears it.
pub fn drop_signal() -> (DropSignal, async_channel::Receiver<()>) {
    let (tx, rx) = async_channel::unbounded();
    (DropSignal(tx), rx)
}

/// Spins (yielding the thread) until `done()` holds. For states that have
/// no event to wait on, such as "the pool has published this outcome";
/// call it inside a [`watchdog`].
pub fn spin_until(mut done: impl FnMut() -> bool) {
    while !done() {
        std::thread::yield_now();
    }
}

/// For a test of a timeout or a deadline that must not pass before the
/// test has done something first (seen a closure start, submitted work):
/// runs `attempt` with a window (the timeout to use) of 20 ms, doubled
/// each time the attempt returns `false` to say the window closed too
/// early. An attempt checks whatever a closed window must mean before it
/// returns `false`, so no assertion depends on how fast the machine is;
/// a loaded machine only costs another, longer attempt. Fails if even a
/// 10 s window never sufficed.
pub fn with_growing_window(mut attempt: impl FnMut(Duration) -> bool) {
    let mut window = Duration::from_millis(20);
    while !attempt(window) {
        window *= 2;
        assert!(
            window <= Duration::from_secs(11),
            "a window of {:?} still closed before the test could act",
            window / 2
        );
    }
}

/// A future that ends with `value` once `gate` opens.
pub fn after<T: Send + 'static>(gate: &Gate, value: T) -> impl Future<Output = T> + Send + 'static {
    let gate = gate.clone();
    async move {
        gate.wait().await;
        value
    }
}

/// A task on `pool` that ends with `value` once `gate` opens.
pub fn gated<T: taskpool::Fallible + Send + 'static>(
    pool: &taskpool::TaskPool,
    gate: &Gate,
    value: T,
) -> taskpool::TaskHandle<T> {
    pool.submit(after(gate, value)).unwrap()
}

/// A future that never ends. It says when it starts (if given a sender),
/// and `guard` says when it is dropped (cancelled).
pub async fn never_ending<T>(guard: DropSignal, started: Option<async_channel::Sender<()>>) -> T {
    let _guard = guard;
    if let Some(started) = started {
        started.send(()).await.unwrap();
    }
    std::future::pending().await
}

/// Runs `block` inside a task of a daemon executor, handing it the pool
/// and a gate, and asserts that it panicked with a message about the
/// deadlock a blocking wait there would cause. The gate opens afterwards,
/// so tasks made to wait on it let the executor drain.
pub fn assert_panics_on_the_daemon_thread<R>(block: impl FnOnce(taskpool::TaskPool, Gate) -> R + Send + 'static) {
    let executor = taskpool::DaemonExecutor::new(2).unwrap();
    let pool = executor.pool().clone();
    let gate = Gate::new();
    let inner_gate = gate.clone();
    let handle = executor
        .pool()
        .submit(async move {
            block(pool, inner_gate);
        })
        .unwrap();
    let err = handle.wait().unwrap_err();
    assert!(
        err.panic_message().is_some_and(|m| m.contains("deadlock")),
        "expected a deadlock panic, got {err}"
    );
    gate.open();
}

/// A task on `pool` that ends with `value` once `gate` opens, returned once
/// it is running (it has said so from inside).
pub fn running<T: taskpool::Fallible + Send + 'static>(
    pool: &taskpool::TaskPool,
    gate: &Gate,
    value: T,
) -> taskpool::TaskHandle<T> {
    let (started_tx, started_rx) = signal();
    let gate = gate.clone();
    let handle = pool
        .submit(async move {
            started_tx.send(()).await.unwrap();
            gate.wait().await;
            value
        })
        .unwrap();
    started_rx.recv_blocking().unwrap();
    handle
}

/// Proves that every permit of `pool` is back, exactly once: `limit` tasks
/// must all run at once (a lost permit would hang them; the watchdog turns
/// that into a failure), and two more submitted beside them must not run
/// meanwhile (a permit returned twice would let one in).
pub fn assert_all_permits_free(pool: &taskpool::TaskPool) {
    let limit = pool.limit();
    let gate = Gate::new();
    let (started_tx, started_rx) = signal();
    let probe = Probe::default();
    let handles: Vec<_> = (0..limit + 2)
        .map(|_| {
            let (gate, started, probe) = (gate.clone(), started_tx.clone(), probe.clone());
            pool.submit(async move {
                let _inside = probe.enter();
                started.send(()).await.unwrap();
                gate.wait().await;
            })
            .unwrap()
        })
        .collect();
    for _ in 0..limit {
        started_rx.recv_blocking().unwrap();
    }
    assert_eq!(probe.current(), limit, "exactly `limit` tasks run at once");
    gate.open();
    handles.into_iter().for_each(|h| h.wait().unwrap());
    assert_eq!(probe.max(), limit);
}

/// A panic payload a test plans (see [`quiet_planned_panics`]), carrying
/// whatever the test wants the payload to own.
pub struct PlannedPayload(pub Box<dyn std::any::Any + Send>);

/// Silences the panics a test plans (their message starts with "planned
/// panic", or their payload is a [`PlannedPayload`]); any other panic still
/// prints. Idempotent.
pub fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            let planned = message.is_some_and(|m| m.starts_with("planned panic")) || payload.is::<PlannedPayload>();
            if !planned {
                default(info);
            }
        }));
    });
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<ExitSignal>> = const { std::cell::RefCell::new(None) };
}

/// Sends when the thread that holds it in its thread-local storage exits.
struct ExitSignal(std::sync::mpsc::Sender<()>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Arranges for the returned receiver to get a message once the daemon
/// thread of `executor` has exited (a thread-local destructor on it sends).
pub fn watch_thread_exit(executor: &taskpool::DaemonExecutor) -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    executor
        .pool()
        .submit(async move { ON_EXIT.with(|slot| *slot.borrow_mut() = Some(ExitSignal(tx))) })
        .unwrap()
        .wait()
        .unwrap();
    rx
}

/// A `TaskPool` and a `DaemonExecutor`'s pool with the same limit, named,
/// so that a property can be checked on both kinds of pool. The executor
/// comes along to keep its thread alive while its pool is used.
pub fn both_pool_kinds(limit: usize) -> Vec<(&'static str, taskpool::TaskPool, Option<taskpool::DaemonExecutor>)> {
    let executor = taskpool::DaemonExecutor::new(limit).unwrap();
    vec![
        ("TaskPool", taskpool::TaskPool::new(limit).unwrap(), None),
        ("DaemonExecutor", executor.pool().clone(), Some(executor)),
    ]
}
