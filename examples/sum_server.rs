//! A TCP "sum server": each connection is a task of a `TaskPool`, so at most `--limit` clients are served at once and the rest wait their turn.
//!
//! Run it with `cargo run --example sum_server -- --port 7878 --limit 16`,
//! then talk to it with `nc 127.0.0.1 7878`: send `2 3`, get `5`; send
//! `close` to hang up. Ctrl-C or SIGTERM (or `--max-seconds S`) stops it
//! gracefully; `--help` lists the flags.
//!
//! The protocol, one line each way:
//!
//! - two numbers separated by spaces (`2 3`, `-1.5 0.25`) → their exact sum
//!   (`5`, `-1.25`), of any size that fits on a line. The sum keeps the
//!   larger number of decimal places.
//! - `close` → the server closes the connection.
//! - anything else → a one-line `error: ...`, and the connection stays open,
//!   except for a line over [`MAX_LINE`] bytes, after which it closes.
//! - a client that takes over `--idle-seconds` to send a line gets
//!   `error: idle timeout` and is closed; one that stops reading its answers
//!   is closed after `--write-seconds`. Either way its slot frees.
//!
//! Seed tasks 1 and 5; the Python original used a thread per client, then
//! asyncio. Here the accept loop runs on the main thread (`block_on`) and
//! every handler is a pool task on async-std's executor.

#[path = "common/cli.rs"]
pub mod cli;

use std::ffi::OsString;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_std::channel::{Receiver, Sender};
use async_std::io::prelude::*;
use async_std::io::{BufRead, BufReader, Read};
use async_std::net::{TcpListener, TcpStream};
use async_std::prelude::FutureExt as _;
use async_std::stream::{Stream, StreamExt as _};
use cli::Parsed;
use log::{debug, info, warn};
use num_bigint::{BigInt, BigUint, Sign};
use taskpool::{ShutdownMode, Stats, TaskPool};

/// The longest line the server reads, newline excluded. A longer line gets
/// an error and closes the connection: the server cannot tell where the
/// next line would start without reading the rest.
pub const MAX_LINE: usize = 4096;

/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that the kernel does not reset the connection
/// before the client has read the server's last line.
const LINGER: Duration = Duration::from_secs(1);

/// The server's answer to one complete line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The sum, formatted exactly.
    Sum(String),
    /// The client asked to close the connection.
    Close,
    /// The message after `error: `.
    Error(String),
}

/// A decimal number: `mantissa × 10^-scale`, of any size.
///
/// Operands are big integers (`num-bigint`), so every sum is exact: the
/// only bound on a number is the line length, [`MAX_LINE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    mantissa: BigInt,
    scale: u32,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]`. Errors are the message for the client.
    pub fn parse(token: &str) -> Result<Decimal, String> {
        let (sign, body) = match token.as_bytes().first() {
            Some(b'-') => (Sign::Minus, &token[1..]),
            Some(b'+') => (Sign::Plus, &token[1..]),
            _ => (Sign::Plus, token),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || (body.contains('.') && !all_digits(frac)) {
            return Err(format!("{} is not a number", quote(token)));
        }
        let scale = u32::try_from(frac.len()).map_err(|_| format!("{} has too many decimal places", quote(token)))?;
        let magnitude: BigUint = format!("{int}{frac}")
            .parse()
            .map_err(|_| format!("{} is not a number", quote(token)))?;
        Ok(Decimal {
            mantissa: BigInt::from_biguint(sign, magnitude),
            scale,
        })
    }

    /// The exact sum, with the larger of the two scales (as Python's
    /// `Decimal` keeps the larger number of decimal places).
    pub fn add(&self, other: &Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        let widen = |d: &Decimal| match scale - d.scale {
            0 => d.mantissa.clone(),
            more => &d.mantissa * BigInt::from(10_u8).pow(more),
        };
        Decimal {
            mantissa: widen(self) + widen(other),
            scale,
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa.sign() == Sign::Minus { "-" } else { "" };
        let digits = self.mantissa.magnitude().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        // At least one digit before the point: 5 with scale 2 is 0.05.
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// A token as it appears in an error message: quoted, and cut short.
fn quote(token: &str) -> String {
    const SHOWN: usize = 40;
    if token.chars().count() <= SHOWN {
        format!("{token:?}")
    } else {
        let head: String = token.chars().take(SHOWN).collect();
        format!("{head:?}...")
    }
}

/// The answer to one line (its newline removed; a trailing `\r` is
/// ignored, for clients that send CRLF).
pub fn answer(line: &[u8]) -> Answer {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return Answer::Error("the line is not valid UTF-8".into());
    };
    if line.trim() == "close" {
        return Answer::Close;
    }
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    let [a, b] = tokens[..] else {
        return Answer::Error(match tokens.len() {
            0 => "expected two numbers, got an empty line".into(),
            1 => "expected two numbers, got 1 word".into(),
            n => format!("expected two numbers, got {n} words"),
        });
    };
    match (Decimal::parse(a), Decimal::parse(b)) {
        (Ok(a), Ok(b)) => Answer::Sum(a.add(&b).to_string()),
        (Err(e), _) | (_, Err(e)) => Answer::Error(e),
    }
}

/// What the server counted, from the handlers and from its pool.
#[derive(Debug, Clone)]
pub struct Totals {
    /// Connections accepted.
    pub connections: u64,
    /// Lines answered with a sum.
    pub sums: u64,
    /// Lines answered with an error.
    pub errors: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Reads from client sockets that returned data.
    pub reads: u64,
    /// Writes of answers to client sockets: at most one per batch of lines
    /// read, so never more than `reads` plus the closing lines.
    pub writes: u64,
    /// Clients closed because a line took longer than the idle timeout.
    pub idle_timeouts: u64,
    /// Clients closed because a write took longer than the write timeout
    /// (they stopped reading their answers).
    pub write_timeouts: u64,
    /// Clients told `error: server shutting down` before their connection
    /// closed.
    pub told_shutting_down: u64,
    /// Connections the pool refused (it was closed); none in practice, but
    /// counted so that the totals add up.
    pub refused: u64,
    /// The most handlers that ran at once, counted inside the handlers.
    pub max_handlers: usize,
    /// The pool's own figures (`peak_running` is the pool's count of the
    /// same thing).
    pub pool: Stats,
}

impl Totals {
    /// The connections whose end is known: handlers that finished (or
    /// panicked), were cancelled at the grace deadline, never started
    /// because the stop came first, or were refused. Once the server has
    /// stopped, this equals [`connections`](Self::connections).
    pub fn accounted_for(&self) -> u64 {
        let pool = &self.pool;
        pool.completed + pool.panicked + pool.cancelled + pool.shut_down + self.refused
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections: {} handlers finished, {} cancelled at the grace deadline, {} never started; \
             {} sums, {} errors, {} bytes in; {} idle and {} write timeouts; {} clients told the server is shutting down; \
             at most {} handlers ran at once (limit {})",
            self.connections,
            self.pool.completed + self.pool.panicked,
            self.pool.cancelled,
            self.pool.shut_down + self.refused,
            self.sums,
            self.errors,
            self.bytes_in,
            self.idle_timeouts,
            self.write_timeouts,
            self.told_shutting_down,
            self.max_handlers,
            self.pool.limit,
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    sums: AtomicU64,
    errors: AtomicU64,
    bytes_in: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    idle_timeouts: AtomicU64,
    write_timeouts: AtomicU64,
    told_shutting_down: AtomicU64,
    refused: AtomicU64,
    active: AtomicUsize,
    max_active: AtomicUsize,
}

/// Held by a running handler; counts it out when dropped (on return or
/// on cancel).
struct Active(Arc<Counters>);

impl Counters {
    fn enter(self: &Arc<Self>) -> Active {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
        Active(Arc::clone(self))
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads the server's figures while it runs (the server itself is moved
/// into [`SumServer::serve`]).
#[derive(Debug, Clone)]
pub struct Monitor {
    counters: Arc<Counters>,
    pool: TaskPool,
}

impl Monitor {
    /// A snapshot of the totals so far.
    pub fn totals(&self) -> Totals {
        let c = &self.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        Totals {
            connections: load(&c.connections),
            sums: load(&c.sums),
            errors: load(&c.errors),
            bytes_in: load(&c.bytes_in),
            reads: load(&c.reads),
            writes: load(&c.writes),
            idle_timeouts: load(&c.idle_timeouts),
            write_timeouts: load(&c.write_timeouts),
            told_shutting_down: load(&c.told_shutting_down),
            refused: load(&c.refused),
            max_handlers: c.max_active.load(Ordering::SeqCst),
            pool: self.pool.stats(),
        }
    }
}

/// Tells handlers that the server is stopping: closing the channel wakes
/// every receiver, now and later.
#[derive(Clone)]
struct Stopping(Receiver<()>);

impl Stopping {
    fn is_set(&self) -> bool {
        self.0.is_closed()
    }

    async fn wait(&self) {
        // `recv` returns only once the channel is closed: nobody sends.
        let _ = self.0.recv().await;
    }
}

/// How long the server gives each client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Handlers running at once.
    pub limit: usize,
    /// How long a client may take to send each line, counted from when the
    /// server is ready for it. A client that sends nothing, or drips a
    /// line byte by byte, is told `error: idle timeout` and closed, which
    /// frees its slot.
    pub idle: Duration,
    /// How long one write of answers may take. A client that stops reading
    /// its answers fills the socket buffers and blocks the write; when this
    /// passes, the server closes the connection (no message: nothing more
    /// can be written).
    pub write: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            limit: 16,
            idle: Duration::from_secs(30),
            write: Duration::from_secs(30),
        }
    }
}

/// The server's first accept failure of an episode (out of file
/// descriptors, say), and how many have followed.
struct AcceptTrouble {
    failures: u64,
    since: Instant,
    pause: Duration,
}

/// The first pause after a failed accept; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between two accepts while they fail.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// A bound listener and the pool its handlers will run on.
#[derive(Debug)]
pub struct SumServer {
    listener: TcpListener,
    pool: TaskPool,
    counters: Arc<Counters>,
    settings: Settings,
}

impl SumServer {
    /// Binds `127.0.0.1:port` (`0` lets the OS pick) for a server with
    /// these settings.
    pub async fn bind(port: u16, settings: Settings) -> io::Result<SumServer> {
        let pool = TaskPool::new(settings.limit).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        Ok(SumServer {
            listener,
            pool,
            counters: Arc::default(),
            settings,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// A view of the figures that stays valid while [`serve`](Self::serve)
    /// runs.
    pub fn monitor(&self) -> Monitor {
        Monitor {
            counters: Arc::clone(&self.counters),
            pool: self.pool.clone(),
        }
    }

    /// Accepts connections until `stops` yields (or ends), then stops
    /// gracefully and returns the totals.
    ///
    /// Stopping closes the listener, then lets every connected client
    /// finish its current line: each handler (including those still waiting
    /// for a slot, which start as usual) answers the line the client is
    /// sending, or has sent and waits on, then sends `error: server
    /// shutting down` and closes the connection; a handler with no line in
    /// progress sends that line and closes at once. The server waits up to
    /// `grace` for all that (a [`ShutdownMode::Deadline`] of the pool), or
    /// until `stops` yields a second time. Handlers still running then are
    /// cancelled and handlers still waiting never start; each of their
    /// clients is told `error: server shutting down` (unless it was in the
    /// middle of receiving an answer) before its connection closes.
    pub async fn serve<S>(self, stops: S, grace: Duration) -> Totals
    where
        S: Stream,
        S::Item: fmt::Display,
    {
        let SumServer {
            listener,
            pool,
            counters,
            settings,
        } = self;
        let mut stops = pin!(stops);
        let (stop_tx, stop_rx): (Sender<()>, Receiver<()>) = async_std::channel::bounded(1);
        let stopping = Stopping(stop_rx);
        // Every connection holds a clone of `goodbyes_tx` until it is
        // closed; when all are gone, `recv` on the other end fails.
        let (goodbyes_tx, goodbyes_rx) = async_std::channel::bounded::<()>(1);
        let mut trouble: Option<AcceptTrouble> = None;
        let reason = loop {
            let pause = trouble.as_ref().map(|t| t.pause);
            let accepted = async {
                if let Some(pause) = pause {
                    async_std::task::sleep(pause).await;
                }
                Ok(listener.accept().await)
            }
            .race(async { Err(stops.next().await) })
            .await;
            let (stream, peer) = match accepted {
                Err(reason) => break reason,
                Ok(Ok(accepted)) => accepted,
                Ok(Err(e)) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: pause (longer each time) and try
                    // again. One line per episode, not one per try.
                    let t = trouble.get_or_insert_with(|| {
                        warn!("accept failed: {e}; retrying with a growing pause (at most {MAX_PAUSE:?}) until it works again");
                        AcceptTrouble {
                            failures: 0,
                            since: Instant::now(),
                            pause: FIRST_PAUSE,
                        }
                    });
                    t.failures += 1;
                    if t.failures > 1 {
                        t.pause = (t.pause * 2).min(MAX_PAUSE);
                        debug!("accept failed again: {e} ({} tries so far)", t.failures);
                    }
                    continue;
                }
            };
            if let Some(t) = trouble.take() {
                warn!(
                    "accept works again, after {} failed tries in {:.1?}",
                    t.failures,
                    t.since.elapsed()
                );
            }
            counters.connections.fetch_add(1, Ordering::SeqCst);
            debug!("{peer}: connected; {} handlers running", pool.stats().running);
            let connection = Connection {
                stream,
                peer,
                counters: Arc::clone(&counters),
                settings,
                goodbye: Some(goodbyes_tx.clone()),
                armed: true,
                writing: false,
            };
            let handler = handle(connection, stopping.clone());
            // The handle is dropped: the handler runs detached, and the pool
            // tracks it for the shutdown below.
            if let Err(e) = pool.build_task().name(format!("client {peer}")).submit(handler) {
                warn!("{peer}: not served: {e}");
                Counters::bump(&counters.refused);
                // Dropping the handler says goodbye to the client.
                drop(e.into_inner());
            }
        };
        match reason {
            Some(reason) => info!("{reason}: stopping"),
            None => info!("stopping"),
        }
        drop(listener);
        let now = pool.stats();
        info!(
            "stopped accepting; letting {} connected clients finish their current line (grace {grace:?})",
            now.running + now.queued
        );
        stop_tx.close();
        let hurry = async {
            let again = next_stop(&mut stops).await;
            info!("{again} again: ending the grace period now");
            pool.shutdown(ShutdownMode::Deadline(Duration::ZERO)).await;
        };
        pool.shutdown(ShutdownMode::Deadline(grace)).race(hurry).await;
        // Handlers that were cancelled or never started say goodbye on
        // tasks of their own, each bounded by LINGER and the write timeout.
        drop(goodbyes_tx);
        let _ = goodbyes_rx
            .recv()
            .race(async {
                next_stop(&mut stops).await;
                Ok(())
            })
            .await;
        let totals = Monitor {
            counters,
            pool: pool.clone(),
        }
        .totals();
        info!("totals: {totals}");
        totals
    }
}

/// The next stop request; never, if the stream has ended (its end was
/// the first request).
async fn next_stop<S>(stops: &mut S) -> S::Item
where
    S: Stream + Unpin,
{
    match stops.next().await {
        Some(item) => item,
        None => std::future::pending().await,
    }
}

/// How a call to [`read_line`] ended.
#[derive(Debug, PartialEq, Eq)]
enum LineEnd {
    Newline,
    Eof,
    TooLong,
}

/// Appends bytes to `line` up to a newline (which it consumes but does not
/// append), the end of the stream, or more than [`MAX_LINE`] bytes.
///
/// Cancel safe: each step moves bytes from the reader's buffer into `line`
/// in one go, so dropping the future loses nothing, and calling it again
/// continues the same line.
async fn read_line(reader: &mut BufReader<TcpStream>, line: &mut Vec<u8>, counters: &Counters) -> io::Result<LineEnd> {
    loop {
        let step = poll_fn(|cx| {
            let mut reader = Pin::new(&mut *reader);
            let was_empty = reader.buffer().is_empty();
            let available = match reader.as_mut().poll_fill_buf(cx) {
                Poll::Ready(Ok(available)) => available,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if available.is_empty() {
                return Poll::Ready(Ok(Some(LineEnd::Eof)));
            }
            if was_empty {
                Counters::bump(&counters.reads);
            }
            let (used, end) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&available[..i]);
                    (i + 1, Some(LineEnd::Newline))
                }
                None => {
                    line.extend_from_slice(available);
                    (available.len(), None)
                }
            };
            reader.consume(used);
            counters.bytes_in.fetch_add(used as u64, Ordering::SeqCst);
            Poll::Ready(Ok(end))
        })
        .await?;
        if line.len() > MAX_LINE {
            return Ok(LineEnd::TooLong);
        }
        if let Some(end) = step {
            return Ok(end);
        }
    }
}

/// The last line a client gets when the server closes its connection
/// because it is stopping.
pub const SHUTTING_DOWN: &str = "error: server shutting down\n";

/// The last line a client gets when a line took longer than the idle
/// timeout.
pub const IDLE_TIMEOUT: &str = "error: idle timeout\n";

/// Why a handler ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    ClientLeftMidLine,
    AskedToClose,
    TooLong,
    IdleTimeout,
    WriteTimeout,
    Stopping,
    Failed,
}

/// One accepted connection, owned by its handler's future. If that future
/// is dropped before the handler has closed the connection itself (it was
/// cancelled at the grace deadline, or never started), `Drop` says
/// goodbye: `error: server shutting down`, then a graceful close, on a
/// task of its own.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    counters: Arc<Counters>,
    settings: Settings,
    /// Keeps the server waiting until this connection is closed.
    goodbye: Option<Sender<()>>,
    /// Whether the handler has yet to close the connection itself.
    armed: bool,
    /// Whether a write of answers is under way (a goodbye then would land
    /// in the middle of an answer, so there is none).
    writing: bool,
}

impl Connection {
    /// Writes `out` in one go, then clears it.
    async fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), End> {
        if out.is_empty() {
            return Ok(());
        }
        self.writing = true;
        let mut writer = &self.stream;
        let written = writer.write_all(out).timeout(self.settings.write).await;
        self.writing = false;
        out.clear();
        Counters::bump(&self.counters.writes);
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                debug!("{}: {e}", self.peer);
                Err(End::Failed)
            }
            Err(_) => {
                Counters::bump(&self.counters.write_timeouts);
                Err(End::WriteTimeout)
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // A panicking handler gets no "shutting down" line: that would be
        // a lie. (The pool counts the panic.)
        let say = !self.writing && !std::thread::panicking();
        let stream = self.stream.clone();
        let counters = Arc::clone(&self.counters);
        let write = self.settings.write.min(LINGER);
        let goodbye = self.goodbye.take();
        async_std::task::spawn(async move {
            let _goodbye = goodbye;
            let mut writer = &stream;
            if say
                && matches!(
                    writer.write_all(SHUTTING_DOWN.as_bytes()).timeout(write).await,
                    Ok(Ok(()))
                )
            {
                Counters::bump(&counters.told_shutting_down);
            }
            let mut input = &stream;
            close_gracefully(&stream, &mut input, false).await;
        });
    }
}

/// One connection: answer lines until the client closes, asks to close,
/// sends an over-long line, times out, or the server stops.
///
/// Answers are collected and written once per batch: when no complete
/// line is left in what has been read from the socket. With `TCP_NODELAY`
/// set, a batch of pipelined lines costs one write and no Nagle delay.
async fn handle(mut conn: Connection, stopping: Stopping) {
    let counters = Arc::clone(&conn.counters);
    let _active = counters.enter();
    let peer = conn.peer;
    debug!("{peer}: handler started");
    if let Err(e) = conn.stream.set_nodelay(true) {
        debug!("{peer}: cannot set TCP_NODELAY: {e}");
    }
    let idle = conn.settings.idle;
    let mut reader = BufReader::new(conn.stream.clone());
    let mut line = Vec::new();
    let mut out = Vec::new();
    // Once the server stops, each handler answers at most one more line:
    // the one the client is sending, or has sent and waits on.
    let mut stop_seen = false;
    let end = loop {
        if !reader.buffer().contains(&b'\n') {
            if let Err(end) = conn.flush(&mut out).await {
                break end;
            }
        }
        if stop_seen {
            break End::Stopping;
        }
        line.clear();
        // The client has `idle` to send this line, from now.
        let started = Instant::now();
        let left = || idle.saturating_sub(started.elapsed());
        // Wait for a line or for the stop, whichever comes first; `race`
        // and `timeout` poll the read first, so input already received
        // wins.
        let raced = async { Some(read_line(&mut reader, &mut line, &counters).await) }
            .race(async {
                stopping.wait().await;
                None
            })
            .timeout(left())
            .await;
        let read = match raced {
            Err(_) => break End::IdleTimeout,
            Ok(Some(read)) => {
                stop_seen = stopping.is_set();
                read
            }
            Ok(None) if line.is_empty() => break End::Stopping,
            // Stopped in the middle of a line: let the client finish it
            // (the idle timeout and the server's grace period bound how
            // long that may take).
            Ok(None) => {
                stop_seen = true;
                match read_line(&mut reader, &mut line, &counters).timeout(left()).await {
                    Err(_) => break End::IdleTimeout,
                    Ok(read) => read,
                }
            }
        };
        match read {
            Err(e) => {
                debug!("{peer}: {e}");
                break End::Failed;
            }
            Ok(LineEnd::Eof) if line.is_empty() => break End::ClientClosed,
            Ok(LineEnd::Eof) => {
                Counters::bump(&counters.errors);
                out.extend_from_slice(b"error: connection closed in the middle of a line\n");
                break End::ClientLeftMidLine;
            }
            Ok(LineEnd::TooLong) => {
                Counters::bump(&counters.errors);
                let message = format!("error: line longer than {MAX_LINE} bytes; closing the connection\n");
                out.extend_from_slice(message.as_bytes());
                break End::TooLong;
            }
            Ok(LineEnd::Newline) => match answer(&line) {
                Answer::Close => break End::AskedToClose,
                Answer::Sum(sum) => {
                    Counters::bump(&counters.sums);
                    out.extend_from_slice(sum.as_bytes());
                    out.push(b'\n');
                }
                Answer::Error(e) => {
                    Counters::bump(&counters.errors);
                    out.extend_from_slice(format!("error: {e}\n").as_bytes());
                }
            },
        }
    };
    debug!("{peer}: closing: {end:?}");
    match end {
        End::Failed => {}
        End::WriteTimeout => close_gracefully(&conn.stream, &mut reader, true).await,
        _ => {
            match end {
                End::IdleTimeout => {
                    Counters::bump(&counters.idle_timeouts);
                    out.extend_from_slice(IDLE_TIMEOUT.as_bytes());
                }
                End::Stopping => out.extend_from_slice(SHUTTING_DOWN.as_bytes()),
                _ => {}
            }
            let flushed = conn.flush(&mut out).await;
            if flushed.is_ok() && end == End::Stopping {
                Counters::bump(&counters.told_shutting_down);
            }
            if flushed != Err(End::Failed) {
                let unread = end == End::TooLong || !reader.buffer().is_empty();
                close_gracefully(&conn.stream, &mut reader, unread).await;
            }
        }
    }
    conn.armed = false;
}

/// Closes the connection without losing the server's last line.
///
/// Closing a socket that still has unread input makes the kernel reset the
/// connection, and a reset can destroy answers the client has not read yet.
/// So when input is left over (always after an over-long line; after
/// `close` or a stop only if the client sent more), this closes our side
/// first, then reads and discards input until the client closes too, for at
/// most [`LINGER`]. Otherwise it closes at once, freeing the slot.
async fn close_gracefully(stream: &TcpStream, input: &mut (impl Read + Unpin), unread: bool) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut sink = [0_u8; 4096];
    let unread = unread || matches!(read_pending(input, &mut sink).await, Ok(1..));
    if !unread {
        return;
    }
    let drain = async { while let Ok(1..) = input.read(&mut sink).await {} };
    let _ = drain.timeout(LINGER).await;
}

/// Reads what has already arrived, without waiting: `Ok(0)` if nothing has
/// (or at the end of the stream).
async fn read_pending(input: &mut (impl Read + Unpin), sink: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| match Pin::new(&mut *input).poll_read(cx, sink) {
        Poll::Pending => Poll::Ready(Ok(0)),
        ready => ready,
    })
    .await
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C (SIGINT).
    CtrlC,
    /// SIGTERM (`kill`, a service manager, `docker stop`).
    Terminate,
    /// `--max-seconds` passed.
    TimeLimit,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::CtrlC => "Ctrl-C",
            StopReason::Terminate => "SIGTERM",
            StopReason::TimeLimit => "time limit reached",
        })
    }
}

/// The stop requests [`SumServer::serve`] listens to.
pub type Stops = Pin<Box<dyn Stream<Item = StopReason> + Send>>;

/// Ctrl-C, SIGTERM and the time limit, as one stream: the first item stops
/// the server, a second one ends its grace period at once.
///
/// The signal handlers are installed now: from here on, SIGINT and SIGTERM
/// no longer kill the process but are items of the stream.
pub fn stop_signals(time_limit: Option<Duration>) -> io::Result<Stops> {
    use async_signal::{Signal, Signals};
    let signals = Signals::new([Signal::Int, Signal::Term])?;
    let signals = futures::StreamExt::filter_map(signals, |signal| {
        std::future::ready(match signal {
            Ok(Signal::Term) => Some(StopReason::Terminate),
            Ok(_) => Some(StopReason::CtrlC),
            Err(_) => None,
        })
    });
    let time_limit = futures::StreamExt::then(futures::stream::iter(time_limit), |limit| async move {
        async_std::task::sleep(limit).await;
        StopReason::TimeLimit
    });
    Ok(Box::pin(futures::stream::select(signals, time_limit)))
}

/// The command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--port N`: the port on 127.0.0.1; 0 lets the OS pick.
    pub port: u16,
    /// `--limit N`, `--idle-seconds S`, `--write-seconds S`.
    pub settings: Settings,
    /// `--max-seconds S`: stop after this long.
    pub max_time: Option<Duration>,
    /// `--grace-seconds S`: how long a stop waits for clients to finish
    /// their current line.
    pub grace: Duration,
}

/// `--help`; its first line is the usage line.
pub const HELP: &str = "\
usage: sum_server [--port N] [--limit N] [--idle-seconds S] [--write-seconds S] [--grace-seconds S] [--max-seconds S]

A TCP server on 127.0.0.1 that answers each line of two numbers with their exact sum.

  --port N            port on 127.0.0.1 (default 0: the OS picks; see the \"listening on\" line)
  --limit N           clients served at once; the others wait (default 16)
  --idle-seconds S    time a client has to send each line (default 30)
  --write-seconds S   time one write of answers may take (default 30)
  --grace-seconds S   on a stop, time clients get to finish their line (default 5)
  --max-seconds S     stop after S seconds (default: run until Ctrl-C or SIGTERM)
  -h, --help          print this help

Ctrl-C or SIGTERM stops the server gracefully; a second one ends the grace period at once.
Seconds may have decimals.
";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<I>(args: I) -> Result<Parsed<Options>, cli::Error>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use cli::Arg::{Long, Short};
        let mut options = Options {
            port: 0,
            settings: Settings::default(),
            max_time: None,
            grace: Duration::from_secs(5),
        };
        let mut parser = cli::parser(args);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("port") => options.port = cli::value(&mut parser, "--port")?,
                Long("limit") => options.settings.limit = cli::limit(&mut parser, "--limit")?,
                Long("idle-seconds") => options.settings.idle = cli::positive_seconds(&mut parser, "--idle-seconds")?,
                Long("write-seconds") => {
                    options.settings.write = cli::positive_seconds(&mut parser, "--write-seconds")?
                }
                Long("grace-seconds") => options.grace = cli::seconds(&mut parser, "--grace-seconds")?,
                Long("max-seconds") => options.max_time = Some(cli::seconds(&mut parser, "--max-seconds")?),
                Long("help") | Short('h') => return Ok(Parsed::Help),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(Parsed::Run(options))
    }
}

#[allow(dead_code)] // Also compiled as a module of tests/sum_server.rs, which has its own main.
fn main() {
    let options = cli::parse_or_exit("sum_server", HELP, Options::parse(std::env::args_os().skip(1)));
    cli::init_logger(log::LevelFilter::Info);
    let stops = match stop_signals(options.max_time) {
        Ok(stops) => stops,
        Err(e) => {
            eprintln!("sum_server: cannot listen for Ctrl-C and SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    let served = async_std::task::block_on(async {
        let server = SumServer::bind(options.port, options.settings).await?;
        println!("listening on {}", server.local_addr());
        io::Result::Ok(server.serve(stops, options.grace).await)
    });
    if let Err(e) = served {
        eprintln!("sum_server: {e}");
        std::process::exit(1);
    }
}
