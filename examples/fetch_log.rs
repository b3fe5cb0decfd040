//! Fetches the same URLs twice, with a blocking client on threads and with an async client on one thread, logs every step of each run to its own file, and compares the order of the two logs.
//!
//! Run it with `cargo run --example fetch_log`: with no URL it starts a
//! local HTTP server on `127.0.0.1` (fast, slow and large pages, a 404, a
//! body cut short, a page that never answers) and adds a refused port, so
//! it needs no network. Give URLs to fetch your own:
//! `cargo run --example fetch_log -- http://example.com/ --limit 4`.
//!
//! Seed task 2. Python would fetch with `urllib` and then with `aiohttp`,
//! logging to two files. Here the blocking run uses `ureq` in closures sent
//! with `TaskPool::submit_to_thread` (limit 1 by default: one request at a
//! time, as `urllib` called from a coroutine), and the async run uses
//! hyper's HTTP/1 client in futures on one `DaemonExecutor` thread (limit 4
//! by default: the event loop of `aiohttp`). Failures (refused, DNS, the
//! per-task timeout, a 4xx/5xx status, a body cut short) are results: one
//! log line and one summary row each.

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_std::net::{TcpListener, TcpStream, ToSocketAddrs};
use futures::future::{self, Either};
use futures_timer::Delay;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, HOST, HeaderMap, USER_AGENT};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use smol_hyper::rt::FuturesIo;
use taskpool::{DaemonExecutor, TaskError, TaskHandle, TaskPool};

/// The `User-Agent` both clients send.
pub const AGENT_NAME: &str = "taskpool-fetch_log/0.1";

/// The async run's executor thread: every async request runs on it.
pub const ASYNC_THREAD: &str = "fetch-async";

/// How much longer than the task's timeout the blocking client's own
/// timeout is. The pool's timeout ends the task (and writes its log line)
/// first; a thread cannot be interrupted, so the closure keeps its permit
/// until ureq gives up too, this much later.
pub const THREAD_GRACE: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// URLs

/// A URL to fetch, checked once, before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The host to connect to (an IPv6 literal without its brackets).
    host: String,
    /// `host:port` as written in the URL, for the `Host` header.
    authority: String,
    port: u16,
    /// The path and query to request.
    path: String,
    /// An `https` URL: accepted, and reported as an error when fetched.
    https: bool,
}

impl Target {
    /// Parses an absolute `http` or `https` URL (with hyper's URI parser).
    ///
    /// # Errors
    ///
    /// A message saying what is wrong: not a URL, not absolute, another
    /// scheme, no host.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(format!("{url:?}: only http URLs can be fetched, not {other}")),
            None => return Err(format!("{url:?} is not an absolute URL (try \"http://{url}\")")),
        };
        let authority = uri.authority().ok_or_else(|| format!("{url:?} has no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Target {
            url: url.to_owned(),
            host: host.to_owned(),
            authority: authority.as_str().to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
            https,
        })
    }

    /// `scheme://host:port`, to shorten URLs that share it.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }
}

// ---------------------------------------------------------------------------
// The log

/// One step of one fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The request is about to be sent (before connecting).
    Started,
    /// The status line and headers arrived.
    Response {
        /// The status code.
        status: u16,
        /// Its canonical reason phrase, if it has one.
        reason: String,
    },
    /// The whole body arrived, with a status below 400: the fetch worked.
    BodyRead(u64),
    /// The fetch failed; the reason.
    Failed(String),
}

impl Step {
    fn response(status: StatusCode) -> Step {
        Step::Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
        }
    }

    /// Whether this step ends its fetch: every fetch has exactly one.
    pub fn is_end(&self) -> bool {
        matches!(self, Step::BodyRead(_) | Step::Failed(_))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Started => write!(f, "request started"),
            Step::Response { status, reason } => write!(f, "response received with status {status} {reason}"),
            Step::BodyRead(bytes) => write!(f, "body read: {bytes} bytes"),
            Step::Failed(reason) => write!(f, "error: {reason}"),
        }
    }
}

/// One log line: when (since the run started), which URL (its index in
/// the run's list), what, and on which thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Time since the run started.
    pub at: Duration,
    /// The URL's index in the run's list.
    pub url: usize,
    /// What happened.
    pub step: Step,
    /// The name of the thread that wrote the line.
    pub thread: String,
}

impl Line {
    /// The line as written to the log file:
    /// `  0.105s http://127.0.0.1:4000/slow request started [fetch-async]`.
    pub fn render(&self, urls: &[Target]) -> String {
        format!(
            "{:8.3}s {} {} [{}]",
            self.at.as_secs_f64(),
            urls[self.url].url,
            self.step,
            self.thread
        )
    }
}

/// A run's log: writes each line to the file as it happens and keeps them
/// for the summary. Shared by every fetch of the run.
#[derive(Debug)]
struct Log {
    start: Instant,
    urls: Vec<Target>,
    state: Mutex<LogState>,
}

#[derive(Debug)]
struct LogState {
    file: File,
    lines: Vec<Line>,
    ended: Vec<bool>,
    write_error: Option<io::Error>,
}

impl Log {
    fn create(path: &Path, urls: &[Target]) -> io::Result<Log> {
        let file = File::create(path)?;
        Ok(Log {
            start: Instant::now(),
            urls: urls.to_vec(),
            state: Mutex::new(LogState {
                file,
                lines: Vec::new(),
                ended: vec![false; urls.len()],
                write_error: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        // Nothing panics while holding the lock; a poisoned one is still
        // consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes one step of fetch `url`, unless that fetch has already
    /// ended: a blocking closure still running after its task timed out
    /// writes nothing more.
    fn record(&self, url: usize, step: Step) {
        let mut state = self.lock();
        if state.ended[url] {
            return;
        }
        // Taken under the lock, so times grow with the line order.
        let line = Line {
            at: self.start.elapsed(),
            url,
            step,
            thread: std::thread::current().name().unwrap_or("unnamed").to_owned(),
        };
        if state.write_error.is_none() {
            let text = line.render(&self.urls);
            if let Err(e) = writeln!(state.file, "{text}") {
                state.write_error = Some(e);
            }
        }
        state.ended[url] = line.step.is_end();
        state.lines.push(line);
    }

    /// The lines so far, or the first error writing them.
    fn lines(&self) -> io::Result<Vec<Line>> {
        let mut state = self.lock();
        if let Some(e) = state.write_error.take() {
            return Err(e);
        }
        state.file.flush()?;
        Ok(state.lines.clone())
    }
}

// ---------------------------------------------------------------------------
// Fetching

/// The two clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `ureq`, in closures on the pool's blocking threads.
    Blocking,
    /// hyper, in futures on one executor thread.
    Async,
}

impl Mode {
    /// The log file's name.
    pub fn log_name(self) -> &'static str {
        match self {
            Mode::Blocking => "fetch-blocking.log",
            Mode::Async => "fetch-async.log",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Blocking => "blocking",
            Mode::Async => "async",
        }
    }
}

fn https_unsupported(target: &Target) -> Step {
    Step::Failed(format!(
        "https not supported by this example: {} (both clients are built without TLS)",
        target.url
    ))
}

fn connect_failed(target: &Target, e: &io::Error) -> String {
    let at = format!("{}:{}", target.host, target.port);
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused by {at}"),
        _ => format!("cannot connect to {at}: {e}"),
    }
}

fn dns_failed(target: &Target, e: impl fmt::Display) -> String {
    format!("dns lookup failed for {}: {e}", target.host)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn cut_short(read: u64, expected: Option<u64>, e: impl fmt::Display) -> Step {
    Step::Failed(match expected {
        Some(expected) => format!("body cut short after {read} of {expected} bytes: {e}"),
        None => format!("body cut short after {read} bytes: {e}"),
    })
}

/// The last step of a fetch whose body was read to the end.
fn body_done(status: StatusCode, read: u64) -> Step {
    if status.as_u16() >= 400 {
        Step::Failed(format!("HTTP status {status} ({read} bytes of body)"))
    } else {
        Step::BodyRead(read)
    }
}

/// The blocking client: no proxy (so a local run never leaves loopback),
/// redirects reported rather than followed (as the async client does),
/// 4xx/5xx statuses read like any other response.
fn blocking_agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(AGENT_NAME)
        .timeout_global(timeout.map(|t| t + THREAD_GRACE))
        .build()
        .new_agent()
}

/// Fetches with `ureq`, recording the response line; returns the last step.
fn fetch_blocking(agent: &ureq::Agent, target: &Target, log: &Log, url: usize) -> Step {
    if target.https {
        return https_unsupported(target);
    }
    let mut response = match agent.get(target.url.as_str()).call() {
        Ok(response) => response,
        Err(ureq::Error::Io(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            return Step::Failed(connect_failed(target, &e));
        }
        Err(ureq::Error::Io(e)) => return Step::Failed(format!("no response: {e}")),
        Err(ureq::Error::HostNotFound) => return Step::Failed(dns_failed(target, "host not found")),
        Err(ureq::Error::Timeout(which)) => return Step::Failed(format!("timed out ({which})")),
        Err(e) => return Step::Failed(e.to_string()),
    };
    let status = response.status();
    log.record(url, Step::response(status));
    let expected = content_length(response.headers());
    let mut body = response.body_mut().as_reader();
    let mut buffer = [0; 16 * 1024];
    let mut read = 0;
    loop {
        match body.read(&mut buffer) {
            Ok(0) => return body_done(status, read),
            Ok(n) => read += n as u64,
            Err(e) => return cut_short(read, expected, e),
        }
    }
}

/// Fetches with hyper over async-std's `TcpStream`, recording the response
/// line; returns the last step.
async fn fetch_async(target: &Target, log: &Log, url: usize) -> Step {
    if target.https {
        return https_unsupported(target);
    }
    let addresses: Vec<SocketAddr> = match (target.host.as_str(), target.port).to_socket_addrs().await {
        Ok(addresses) => addresses.collect(),
        Err(e) => return Step::Failed(dns_failed(target, e)),
    };
    let stream = match TcpStream::connect(&addresses[..]).await {
        Ok(stream) => stream,
        Err(e) => return Step::Failed(connect_failed(target, &e)),
    };
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(FuturesIo::new(stream)).await {
        Ok(pair) => pair,
        Err(e) => return Step::Failed(format!("HTTP handshake failed: {e}")),
    };
    let request = match Request::get(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(USER_AGENT, AGENT_NAME)
        .body(Empty::<Bytes>::new())
    {
        Ok(request) => request,
        Err(e) => return Step::Failed(format!("bad request: {e}")),
    };
    let exchange = pin!(async {
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(e) => return Step::Failed(format!("no response: {e}")),
        };
        let status = response.status();
        log.record(url, Step::response(status));
        let expected = content_length(response.headers());
        let mut body = response.into_body();
        let mut read = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => read += frame.data_ref().map_or(0, |data| data.len() as u64),
                Err(e) => return cut_short(read, expected, e),
            }
        }
        body_done(status, read)
    });
    // The connection future does the socket I/O; it runs beside the
    // exchange, inside this task, and is dropped with it.
    match future::select(exchange, pin!(connection)).await {
        Either::Left((step, _connection)) => step,
        // The connection ended first (closed or broken): the exchange
        // now finishes at once, with what arrived or with the error.
        Either::Right((_, exchange)) => exchange.await,
    }
}

/// One run: every URL fetched in one mode.
#[derive(Debug, Clone)]
pub struct Run {
    /// Which client.
    pub mode: Mode,
    /// The pool's limit.
    pub limit: usize,
    /// The URLs, in the order given.
    pub urls: Vec<Target>,
    /// Every line of the log, in the order written.
    pub lines: Vec<Line>,
    /// From the start until every fetch had ended.
    pub wall: Duration,
    /// The log file.
    pub log_path: PathBuf,
}

fn describe_task_error(e: &TaskError, timeout: Option<Duration>) -> String {
    match timeout {
        Some(timeout) if e.is_timeout() => format!("timed out after {} (the task's timeout)", seconds_text(timeout)),
        _ => e.to_string(),
    }
}

/// Fetches every URL in `mode`, at most `limit` at once, each with the
/// per-task `timeout`, logging to `log_dir/fetch-<mode>.log`. Returns when
/// every fetch has ended.
///
/// # Errors
///
/// The log file cannot be created or written, or `limit` is 0.
pub fn run(mode: Mode, urls: &[Target], limit: usize, timeout: Option<Duration>, log_dir: &Path) -> io::Result<Run> {
    let log_path = log_dir.join(mode.log_name());
    let log = Arc::new(Log::create(&log_path, urls)?);
    let invalid = |e: taskpool::ConfigError| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
    let refused = |e: String| io::Error::other(e);
    match mode {
        Mode::Blocking => {
            let pool = TaskPool::new(limit).map_err(invalid)?;
            let agent = blocking_agent(timeout);
            let mut handles = Vec::new();
            for (url, target) in urls.iter().enumerate() {
                let (agent, target, log) = (agent.clone(), target.clone(), Arc::clone(&log));
                let mut task = pool.build_task().name(target.url.clone());
                if let Some(timeout) = timeout {
                    task = task.timeout(timeout);
                }
                let handle = task.submit_to_thread(move || {
                    log.record(url, Step::Started);
                    let end = fetch_blocking(&agent, &target, &log, url);
                    log.record(url, end);
                });
                handles.push(handle.map_err(|e| refused(e.to_string()))?);
            }
            collect(handles, &log, timeout);
        }
        Mode::Async => {
            let executor = DaemonExecutor::builder()
                .limit(limit)
                .thread_name(ASYNC_THREAD)
                .build()
                .map_err(invalid)?;
            let mut handles = Vec::new();
            for (url, target) in urls.iter().enumerate() {
                let (target, log) = (target.clone(), Arc::clone(&log));
                let mut task = executor.pool().build_task().name(target.url.clone());
                if let Some(timeout) = timeout {
                    task = task.timeout(timeout);
                }
                let handle = task.submit(async move {
                    log.record(url, Step::Started);
                    let end = fetch_async(&target, &log, url).await;
                    log.record(url, end);
                });
                handles.push(handle.map_err(|e| refused(e.to_string()))?);
            }
            collect(handles, &log, timeout);
            // Every task has ended: this joins the idle thread.
            drop(executor);
        }
    }
    let wall = log.start.elapsed();
    Ok(Run {
        mode,
        limit,
        urls: urls.to_vec(),
        lines: log.lines()?,
        wall,
        log_path,
    })
}

/// Waits for every fetch, in the order they end; a task that did not end
/// by itself (timed out) gets its error line here, on this thread.
fn collect(handles: Vec<TaskHandle<()>>, log: &Log, timeout: Option<Duration>) {
    for item in taskpool::as_completed(handles) {
        // No `as_completed` timeout here: every error is a task's.
        if let Err(failed) = item
            && let (Some(url), Some(e)) = (failed.index(), failed.task_error())
        {
            log.record(url, Step::Failed(describe_task_error(e, timeout)));
        }
    }
}

// ---------------------------------------------------------------------------
// The summary

/// What one run's log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// URL indexes in the order their requests started.
    pub start_order: Vec<usize>,
    /// URL indexes in the order their fetches ended.
    pub end_order: Vec<usize>,
    /// Fetches that read a whole body with a status below 400.
    pub fetched: usize,
    /// Fetches that ended with an error line.
    pub failed: usize,
    /// The most requests between their start line and their end line at
    /// once.
    pub peak: usize,
    /// Requests that started while another was still in flight: 0 means
    /// strictly one after the other.
    pub overlapping_starts: usize,
    /// The threads the requests ran on, in order of first use.
    pub threads: Vec<String>,
}

impl Run {
    /// The figures, computed from the log's lines.
    pub fn figures(&self) -> Figures {
        let mut figures = Figures {
            start_order: Vec::new(),
            end_order: Vec::new(),
            fetched: 0,
            failed: 0,
            peak: 0,
            overlapping_starts: 0,
            threads: Vec::new(),
        };
        let mut in_flight: usize = 0;
        for line in &self.lines {
            match line.step {
                Step::Started => {
                    if !figures.threads.contains(&line.thread) {
                        figures.threads.push(line.thread.clone());
                    }
                    figures.start_order.push(line.url);
                    if in_flight > 0 {
                        figures.overlapping_starts += 1;
                    }
                    in_flight += 1;
                    figures.peak = figures.peak.max(in_flight);
                }
                Step::Response { .. } => {}
                Step::BodyRead(_) | Step::Failed(_) => {
                    figures.end_order.push(line.url);
                    if matches!(line.step, Step::BodyRead(_)) {
                        figures.fetched += 1;
                    } else {
                        figures.failed += 1;
                    }
                    // A fetch that timed out before it started has an end
                    // line and no start line.
                    in_flight = in_flight.saturating_sub(1);
                }
            }
        }
        figures
    }

    /// The short result of fetch `url`: `200, 2048 B`, or the error.
    fn result_of(&self, url: usize) -> String {
        let mut status = None;
        for line in self.lines.iter().filter(|line| line.url == url) {
            match &line.step {
                Step::Response { status: code, .. } => status = Some(*code),
                Step::BodyRead(bytes) => {
                    return format!("{}, {bytes} B", status.map_or("?".to_owned(), |s| s.to_string()));
                }
                Step::Failed(reason) => return short_reason(reason),
                Step::Started => {}
            }
        }
        "(no end line)".to_owned()
    }
}

/// A failure's reason in a few words, for the summary's narrow column.
fn short_reason(reason: &str) -> String {
    let after = |prefix: &str| reason.strip_prefix(prefix);
    if let Some(rest) = after("HTTP status ") {
        return rest.split(" (").next().unwrap_or(rest).to_owned();
    }
    if let Some(rest) = after("body cut short after ") {
        return format!("cut short: {} B", rest.split(" bytes").next().unwrap_or(rest));
    }
    if let Some(rest) = after("timed out after ") {
        return format!("timed out ({})", rest.split(" (").next().unwrap_or(rest));
    }
    for (prefix, short) in [
        ("connection refused", "connection refused"),
        ("dns lookup failed", "dns lookup failed"),
        ("https not supported", "https not supported"),
    ] {
        if reason.starts_with(prefix) {
            return short.to_owned();
        }
    }
    shorten(reason, 30)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

fn wall_text(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn seconds_text(d: Duration) -> String {
    let text = format!("{:.3}", d.as_secs_f64());
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// The labels of the URLs: the path for those on the most common origin
/// (the local server's), the whole URL for the others.
fn labels(urls: &[Target]) -> Vec<String> {
    let origins: Vec<String> = urls.iter().map(Target::origin).collect();
    let common = origins
        .iter()
        .max_by_key(|origin| origins.iter().filter(|o| o == origin).count());
    urls.iter()
        .zip(&origins)
        .enumerate()
        .map(|(i, (target, origin))| {
            let label = if urls.len() > 1 && Some(origin) == common {
                &target.path
            } else {
                &target.url
            };
            format!("{}. {label}", i + 1)
        })
        .collect()
}

fn order_text(order: &[usize]) -> String {
    order.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(" ")
}

fn threads_text(threads: &[String]) -> String {
    match threads.len() {
        0..=3 => threads.join(", "),
        n => format!("{}, … ({n} threads)", threads[..2].join(", ")),
    }
}

/// One sentence on how a run went.
fn verdict(run: &Run, f: &Figures) -> String {
    let how = if f.overlapping_starts == 0 {
        "one request at a time, each started after the previous one ended".to_owned()
    } else {
        format!(
            "up to {} requests at once, {} of {} started while others were in flight",
            f.peak,
            f.overlapping_starts,
            f.start_order.len()
        )
    };
    let threads = match f.threads.len() {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    };
    format!("{how}; on {threads}; {}", wall_text(run.wall))
}

/// The side-by-side comparison of two runs of the same URLs.
pub fn summary(a: &Run, b: &Run) -> String {
    let (fa, fb) = (a.figures(), b.figures());
    let labels = labels(&a.urls);
    let rank = |order: &[usize], url: usize| {
        order
            .iter()
            .position(|&u| u == url)
            .map_or("-".to_owned(), |p| (p + 1).to_string())
    };
    let half = |run: &Run, f: &Figures, url: usize| {
        format!(
            "{:>5} {:>4}  {:<26}",
            rank(&f.start_order, url),
            rank(&f.end_order, url),
            run.result_of(url)
        )
    };
    let name_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0).max(24);
    let mut out = String::new();
    let head = |run: &Run| format!("{} (limit {})", run.mode.label(), run.limit);
    out += &format!("{:name_width$}  {:<38}  {}\n", "", head(a), head(b));
    out += &format!(
        "{:<name_width$}  {:<38}  {}\n",
        "url", "start  end  result", "start  end  result"
    );
    for (url, label) in labels.iter().enumerate() {
        out += &format!(
            "{label:<name_width$}  {}  {}\n",
            half(a, &fa, url),
            half(b, &fb, url).trim_end()
        );
    }
    let row = |name: &str, x: String, y: String| format!("{name:<name_width$}  {x:<38}  {y}\n");
    out += "\n";
    out += &row("start order", order_text(&fa.start_order), order_text(&fb.start_order));
    out += &row("end order", order_text(&fa.end_order), order_text(&fb.end_order));
    out += &row("wall time", wall_text(a.wall), wall_text(b.wall));
    out += &row("peak concurrent requests", fa.peak.to_string(), fb.peak.to_string());
    out += &row(
        "started while others ran",
        format!("{} of {}", fa.overlapping_starts, fa.start_order.len()),
        format!("{} of {}", fb.overlapping_starts, fb.start_order.len()),
    );
    out += &row(
        "fetched / failed",
        format!("{} / {}", fa.fetched, fa.failed),
        format!("{} / {}", fb.fetched, fb.failed),
    );
    out += &row("threads", threads_text(&fa.threads), threads_text(&fb.threads));
    out += "\n";
    out += &format!("{}: {}\n", head(a), verdict(a, &fa));
    out += &format!("{}: {}\n", head(b), verdict(b, &fb));
    out
}

// ---------------------------------------------------------------------------
// The local server

/// What a page of the local server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// `200 OK` with `size` bytes.
    Ok,
    /// `404 Not Found` with a short body.
    NotFound,
    /// Announces `size` bytes in `Content-Length`, sends `sent` of them,
    /// then breaks the connection.
    Cut {
        /// The bytes actually sent.
        sent: usize,
    },
    /// Never answers (until the server stops): only a timeout ends it.
    Stall,
}

/// A page of the local server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Its path.
    pub path: &'static str,
    /// How long the server waits before answering.
    pub delay: Duration,
    /// The body's size (announced, for a cut body).
    pub size: usize,
    /// What it does.
    pub kind: PageKind,
}

const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The local server's pages; any other path is a 404 too.
pub const PAGES: &[Page] = &[
    Page {
        path: "/fast",
        delay: ms(0),
        size: 2 * 1024,
        kind: PageKind::Ok,
    },
    Page {
        path: "/slow",
        delay: ms(600),
        size: 8 * 1024,
        kind: PageKind::Ok,
    },
    Page {
        path: "/medium",
        delay: ms(150),
        size: 16 * 1024,
        kind: PageKind::Ok,
    },
    Page {
        path: "/big",
        delay: ms(50),
        size: 512 * 1024,
        kind: PageKind::Ok,
    },
    Page {
        path: "/missing",
        delay: ms(20),
        size: 0,
        kind: PageKind::NotFound,
    },
    Page {
        path: "/cut",
        delay: ms(80),
        size: 8 * 1024,
        kind: PageKind::Cut { sent: 3000 },
    },
    Page {
        path: "/stall",
        delay: ms(0),
        size: 0,
        kind: PageKind::Stall,
    },
];

/// How the local server behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Hold the first response until a second request has arrived: then a
    /// response can only follow two request starts, whatever the timing.
    /// (A client that sends one request at a time waits forever, or until
    /// its timeout.)
    pub hold_first_response: bool,
}

/// A local HTTP server (hyper's, on async-std) on `127.0.0.1`, serving
/// [`PAGES`]. Dropping it stops it: it stops accepting, and stalled pages
/// answer `503`.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: async_channel::Sender<()>,
}

#[derive(Debug)]
struct ServerState {
    options: ServerOptions,
    seen: AtomicUsize,
    /// Closed when the second request arrives.
    second_seen: (async_channel::Sender<()>, async_channel::Receiver<()>),
    /// Closed when the server stops.
    stopped: async_channel::Receiver<()>,
}

type ServerBody = BoxBody<Bytes, io::Error>;

impl Server {
    /// Starts the server on `127.0.0.1` and a free port.
    ///
    /// # Errors
    ///
    /// The error of binding the port.
    pub fn start(options: ServerOptions) -> io::Result<Server> {
        let listener = async_std::task::block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = async_channel::bounded(1);
        let state = Arc::new(ServerState {
            options,
            seen: AtomicUsize::new(0),
            second_seen: async_channel::bounded(1),
            stopped,
        });
        async_std::task::spawn(accept(listener, Arc::clone(&state)));
        Ok(Server { addr, state, stop })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many requests it has received.
    pub fn requests_seen(&self) -> usize {
        self.state.seen.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.close();
    }
}

async fn accept(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        let accepted = match future::select(pin!(listener.accept()), pin!(state.stopped.recv())).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => return,
        };
        // An accept error (out of file descriptors, say) loses that one
        // connection only.
        let Ok((stream, _)) = accepted else { continue };
        let state = Arc::clone(&state);
        async_std::task::spawn(async move {
            let service = service_fn(move |request| respond(Arc::clone(&state), request));
            // A connection the client broke, or that a cut page ended, is
            // over; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(FuturesIo::new(stream), service)
                .await;
        });
    }
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<ServerBody> {
    let mut response = Response::new(Full::new(body.into()).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
}

async fn respond(state: Arc<ServerState>, request: Request<Incoming>) -> Result<Response<ServerBody>, Infallible> {
    let index = state.seen.fetch_add(1, Ordering::SeqCst);
    if index == 1 {
        state.second_seen.0.close();
    }
    if index == 0 && state.options.hold_first_response {
        // `recv` returns (an error) once the channel is closed.
        let _ = state.second_seen.1.recv().await;
    }
    let Some(page) = PAGES.iter().find(|page| page.path == request.uri().path()) else {
        return Ok(full(StatusCode::NOT_FOUND, "no such page\n"));
    };
    Delay::new(page.delay).await;
    Ok(match page.kind {
        PageKind::Ok => full(StatusCode::OK, vec![b'x'; page.size]),
        PageKind::NotFound => full(StatusCode::NOT_FOUND, "no such page\n"),
        PageKind::Cut { sent } => {
            // The first part of the body; then the stream is pending once,
            // and hyper writes out what it holds (it flushes whenever the
            // body is pending); then an error, on which hyper drops the
            // connection, short of the announced length.
            let frames = futures::stream::unfold(0, move |step| async move {
                match step {
                    0 => Some((Ok(Frame::data(Bytes::from(vec![b'x'; sent]))), 1)),
                    1 => {
                        async_std::task::yield_now().await;
                        Some((Err(io::Error::other("the page cuts its body short on purpose")), 2))
                    }
                    _ => None,
                }
            });
            let mut response = Response::new(StreamBody::new(frames).boxed());
            response.headers_mut().insert(CONTENT_LENGTH, page.size.into());
            response
        }
        PageKind::Stall => {
            let _ = state.stopped.recv().await;
            full(StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
        }
    })
}

/// A URL on `127.0.0.1` where nothing listens: a port the OS just gave out
/// and took back (another program could take it in between; unlikely).
///
/// # Errors
///
/// The error of binding a port.
pub fn refused_url() -> io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{addr}/"))
}

/// The URLs fetched when none is given: every page of `server`, and a
/// refused port before the page that never answers.
///
/// # Errors
///
/// The error of binding a port for the refused URL.
pub fn default_urls(server: &Server) -> io::Result<Vec<Target>> {
    let mut urls: Vec<String> = PAGES.iter().map(|page| server.url(page.path)).collect();
    urls.insert(urls.len() - 1, refused_url()?);
    Ok(urls
        .iter()
        .map(|url| Target::parse(url).expect("the local URLs are valid"))
        .collect())
}

// ---------------------------------------------------------------------------
// The command line

/// The command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The URLs; none means the local server's pages.
    pub urls: Vec<Target>,
    /// `--limit N`: the async run's limit.
    pub limit: usize,
    /// `--blocking-limit N`: the blocking run's limit.
    pub blocking_limit: usize,
    /// `--log-dir DIR`: where the two logs go.
    pub log_dir: PathBuf,
    /// `--timeout SECS`: each fetch's task timeout.
    pub timeout: Option<Duration>,
    /// `--strict`: exit 1 if any fetch failed.
    pub strict: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Fetch.
    Run(Options),
    /// Print the help.
    Help,
}

/// The default log directory: `taskpool-fetch-log` in the system's temp
/// directory, so a run never writes into the source tree.
pub fn default_log_dir() -> PathBuf {
    std::env::temp_dir().join("taskpool-fetch-log")
}

/// The usage line.
pub const USAGE: &str =
    "usage: fetch_log [URL...] [--limit N] [--blocking-limit N] [--log-dir DIR] [--timeout SECS] [--strict]";

/// The help text.
pub const HELP: &str = "\
Fetches the URLs twice, with a blocking client (ureq, on the pool's blocking
threads) and with an async client (hyper, on one executor thread), logs every
step of each run to its own file, and compares the two orders.

Without URLs it serves a few pages on 127.0.0.1 and fetches those (no network
needed). Only http URLs are fetched; an https URL is reported as an error.

  URL...               http URLs to fetch (default: the local server's pages)
  --limit N            requests at once in the async run (default 4)
  --blocking-limit N   requests at once in the blocking run (default 1)
  --log-dir DIR        where fetch-blocking.log and fetch-async.log go
                       (default: taskpool-fetch-log in the temp directory)
  --timeout SECS       each fetch's timeout (default 2; decimals allowed)
  --strict             exit 1 if any fetch failed
  -h, --help           this help

Exit code: 0 when both runs completed, 1 with --strict if a fetch failed (or
if a log could not be written), 2 for bad arguments.";

fn count(flag: &str, value: OsString) -> Result<usize, String> {
    let text = value.to_string_lossy();
    match text.parse::<usize>() {
        Ok(0) => Err(format!("{flag} must be at least 1")),
        Ok(n) if n > taskpool::TaskPool::MAX_LIMIT => {
            Err(format!("{flag} must be at most {}", taskpool::TaskPool::MAX_LIMIT))
        }
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{flag}: {text:?} is not a whole number")),
    }
}

fn timeout_seconds(value: OsString) -> Result<Duration, String> {
    let text = value.to_string_lossy();
    match text
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        Some(d) if !d.is_zero() => Ok(d),
        Some(_) => Err("--timeout must be more than 0 seconds".to_owned()),
        None => Err(format!("--timeout: {text:?} is not a number of seconds")),
    }
}

impl Options {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    ///
    /// A message for a bad flag, value or URL.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
        use lexopt::prelude::*;
        let mut options = Options {
            urls: Vec::new(),
            limit: 4,
            blocking_limit: 1,
            log_dir: default_log_dir(),
            timeout: Some(Duration::from_secs(2)),
            strict: false,
        };
        let mut parser = lexopt::Parser::from_args(args);
        while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
            let value = |parser: &mut lexopt::Parser| parser.value().map_err(|e| e.to_string());
            match arg {
                Long("limit") => options.limit = count("--limit", value(&mut parser)?)?,
                Long("blocking-limit") => options.blocking_limit = count("--blocking-limit", value(&mut parser)?)?,
                Long("log-dir") => options.log_dir = PathBuf::from(value(&mut parser)?),
                Long("timeout") => options.timeout = Some(timeout_seconds(value(&mut parser)?)?),
                Long("strict") => options.strict = true,
                Short('h') | Long("help") => return Ok(Command::Help),
                Value(url) => {
                    let url = url.into_string().map_err(|url| format!("{url:?} is not valid UTF-8"))?;
                    options.urls.push(Target::parse(&url)?);
                }
                other => return Err(other.unexpected().to_string()),
            }
        }
        Ok(Command::Run(options))
    }
}

/// The whole program: parses `args`, fetches, writes the summary to `out`,
/// and returns the exit code (errors go to stderr).
pub fn main_with(args: impl IntoIterator<Item = OsString>, out: &mut impl Write) -> i32 {
    match Options::parse(args) {
        Ok(Command::Run(options)) => match fetch_and_compare(&options, out) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("fetch_log: {e}");
                1
            }
        },
        Ok(Command::Help) => {
            let _ = writeln!(out, "{USAGE}\n\n{HELP}");
            0
        }
        Err(e) => {
            eprintln!("fetch_log: {e}\n{USAGE}");
            2
        }
    }
}

fn fetch_and_compare(options: &Options, out: &mut impl Write) -> io::Result<i32> {
    fs::create_dir_all(&options.log_dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", options.log_dir.display())))?;
    // Kept alive until both runs are over.
    let mut server = None;
    let urls = if options.urls.is_empty() {
        let local = Server::start(ServerOptions::default())?;
        writeln!(
            out,
            "no URL given: serving {} pages on http://{}",
            PAGES.len(),
            local.addr()
        )?;
        let urls = default_urls(&local)?;
        server = Some(local);
        urls
    } else {
        options.urls.clone()
    };
    let mut runs = Vec::new();
    for (mode, limit) in [(Mode::Blocking, options.blocking_limit), (Mode::Async, options.limit)] {
        writeln!(out, "{} run: {} URLs, limit {limit}...", mode.label(), urls.len())?;
        let run = run(mode, &urls, limit, options.timeout, &options.log_dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{} run: {e}", mode.label())))?;
        runs.push(run);
    }
    drop(server);
    let (blocking, asynchronous) = (&runs[0], &runs[1]);
    writeln!(out)?;
    for (i, url) in urls.iter().enumerate() {
        writeln!(out, "{:>3}. {}", i + 1, url.url)?;
    }
    writeln!(out, "\n{}", summary(blocking, asynchronous))?;
    writeln!(
        out,
        "logs: {} and {}",
        blocking.log_path.display(),
        asynchronous.log_path.display()
    )?;
    let failed = runs.iter().any(|run| run.figures().failed > 0);
    Ok(if options.strict && failed { 1 } else { 0 })
}

#[allow(dead_code)] // Also compiled as a module of tests/fetch_log.rs, which has its own main.
fn main() {
    let code = main_with(std::env::args_os().skip(1), &mut io::stdout().lock());
    std::process::exit(code);
}
