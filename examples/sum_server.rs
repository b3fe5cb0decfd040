//! A TCP "sum server": each connection is a task of a `TaskPool`, so at most `--limit` clients are served at once and the rest wait their turn.
//!
//! Run it with `cargo run --example sum_server -- --port 7878 --limit 16`,
//! then talk to it with `nc 127.0.0.1 7878`: send `2 3`, get `5`; send
//! `close` to hang up. Ctrl-C (or `--max-seconds N`) stops it gracefully.
//!
//! The protocol, one line each way:
//!
//! - two numbers separated by spaces (`2 3`, `-1.5 0.25`) → their exact sum
//!   (`5`, `-1.25`). Integers must fit in `i128`; a decimal's digits, point
//!   removed, must too. The sum keeps the larger number of decimal places.
//!   A sum that does not fit is an error, never a wrap.
//! - `close` → the server closes the connection.
//! - anything else → a one-line `error: ...`, and the connection stays open,
//!   except for a line over [`MAX_LINE`] bytes, after which it closes.
//!
//! Seed tasks 1 and 5; the Python original used a thread per client, then
//! asyncio. Here the accept loop runs on the main thread (`block_on`) and
//! every handler is a pool task on async-std's executor.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use async_std::channel::{Receiver, Sender};
use async_std::io::prelude::*;
use async_std::io::{BufRead, BufReader};
use async_std::net::{TcpListener, TcpStream};
use async_std::prelude::FutureExt as _;
use async_std::stream::StreamExt as _;
use log::{debug, info, warn};
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

/// A decimal number: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]`. Errors are the message for the client.
    pub fn parse(token: &str) -> Result<Decimal, String> {
        let (negative, body) = match token.as_bytes().first() {
            Some(b'-') => (true, &token[1..]),
            Some(b'+') => (false, &token[1..]),
            _ => (false, token),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || (body.contains('.') && !all_digits(frac)) {
            return Err(format!("{} is not a number", quote(token)));
        }
        let out_of_range = || format!("{} is out of range: numbers must fit in 128 bits", quote(token));
        let mut magnitude: u128 = 0;
        for digit in int.bytes().chain(frac.bytes()) {
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u128::from(digit - b'0')))
                .ok_or_else(out_of_range)?;
        }
        let mantissa = if negative {
            0_i128.checked_sub_unsigned(magnitude)
        } else {
            i128::try_from(magnitude).ok()
        }
        .ok_or_else(out_of_range)?;
        let scale = u32::try_from(frac.len()).map_err(|_| out_of_range())?;
        Ok(Decimal { mantissa, scale })
    }

    /// The exact sum, or `None` if it does not fit.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let widen = |d: Decimal| d.mantissa.checked_mul(10_i128.checked_pow(scale - d.scale)?);
        let mantissa = widen(self)?.checked_add(widen(other)?)?;
        Some(Decimal { mantissa, scale })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
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
        (Ok(a), Ok(b)) => match a.checked_add(b) {
            Some(sum) => Answer::Sum(sum.to_string()),
            None => Answer::Error("the sum does not fit in 128 bits".into()),
        },
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
    /// The most handlers that ran at once, counted inside the handlers.
    pub max_handlers: usize,
    /// The pool's own figures (`peak_running` is the pool's count of the
    /// same thing).
    pub pool: Stats,
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections, {} sums, {} errors, {} bytes in; at most {} handlers ran at once (limit {}); \
             {} handlers finished, {} cancelled at the deadline",
            self.connections,
            self.sums,
            self.errors,
            self.bytes_in,
            self.max_handlers,
            self.pool.limit,
            self.pool.completed,
            self.pool.cancelled,
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    sums: AtomicU64,
    errors: AtomicU64,
    bytes_in: AtomicU64,
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
        Totals {
            connections: c.connections.load(Ordering::SeqCst),
            sums: c.sums.load(Ordering::SeqCst),
            errors: c.errors.load(Ordering::SeqCst),
            bytes_in: c.bytes_in.load(Ordering::SeqCst),
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

/// A bound listener and the pool its handlers will run on.
#[derive(Debug)]
pub struct SumServer {
    listener: TcpListener,
    pool: TaskPool,
    counters: Arc<Counters>,
}

impl SumServer {
    /// Binds `127.0.0.1:port` (`0` lets the OS pick) for a server that runs
    /// at most `limit` handlers at once.
    pub async fn bind(port: u16, limit: usize) -> io::Result<SumServer> {
        let pool = TaskPool::new(limit).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        Ok(SumServer {
            listener,
            pool,
            counters: Arc::default(),
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

    /// Accepts connections until `stop` completes, then stops gracefully
    /// and returns the totals.
    ///
    /// Stopping closes the listener, then lets every connected client
    /// finish its current line: each handler (including those still waiting
    /// for a slot, which start as usual) answers the line the client is
    /// sending, or has sent and waits on, and then closes the connection; a
    /// handler with no line in progress closes at once. The server waits up
    /// to `grace` for all that (a [`ShutdownMode::Deadline`] of the pool);
    /// handlers still running then are cancelled, which closes their
    /// connections.
    pub async fn serve(self, stop: impl Future<Output = ()>, grace: Duration) -> Totals {
        let SumServer {
            listener,
            pool,
            counters,
        } = self;
        let (stop_tx, stop_rx): (Sender<()>, Receiver<()>) = async_std::channel::bounded(1);
        let stopping = Stopping(stop_rx);
        let mut stop = pin!(stop);
        loop {
            let accepted = async { Some(listener.accept().await) }
                .race(async {
                    stop.as_mut().await;
                    None
                })
                .await;
            let (stream, peer) = match accepted {
                None => break,
                Some(Ok(accepted)) => accepted,
                Some(Err(e)) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: keep serving the others.
                    warn!("accept failed: {e}");
                    async_std::task::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            counters.connections.fetch_add(1, Ordering::SeqCst);
            debug!("{peer}: connected; {} handlers running", pool.stats().running);
            let handler = handle(stream, peer, stopping.clone(), Arc::clone(&counters));
            // The handle is dropped: the handler runs detached, and the pool
            // tracks it for the shutdown below.
            if let Err(e) = pool.build_task().name(format!("client {peer}")).submit(handler) {
                warn!("{peer}: not served: {e}");
            }
        }
        drop(listener);
        let now = pool.stats();
        info!(
            "stopped accepting; letting {} connected clients finish",
            now.running + now.queued
        );
        stop_tx.close();
        pool.shutdown(ShutdownMode::Deadline(grace)).await;
        let totals = Monitor {
            counters,
            pool: pool.clone(),
        }
        .totals();
        info!("totals: {totals}");
        totals
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
            let available = match reader.as_mut().poll_fill_buf(cx) {
                Poll::Ready(Ok(available)) => available,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if available.is_empty() {
                return Poll::Ready(Ok(Some(LineEnd::Eof)));
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

/// Why a handler closes after an over-long line.
const TOO_LONG: &str = "the client sent an over-long line";

/// One connection: answer lines until the client closes, asks to close,
/// sends an over-long line, or the server stops.
async fn handle(stream: TcpStream, peer: SocketAddr, stopping: Stopping, counters: Arc<Counters>) {
    let _active = counters.enter();
    debug!("{peer}: handler started");
    let mut reader = BufReader::new(stream.clone());
    let mut writer = stream.clone();
    let mut line = Vec::new();
    // Once the server stops, each handler answers at most one more line:
    // the one the client is sending, or has sent and waits on.
    let mut stop_seen = false;
    let reason = loop {
        if stop_seen {
            break "the server is stopping";
        }
        line.clear();
        // Wait for a line or for the stop, whichever comes first; `race`
        // polls the read first, so input already received wins.
        let raced = async { Some(read_line(&mut reader, &mut line, &counters).await) }
            .race(async {
                stopping.wait().await;
                None
            })
            .await;
        let read = match raced {
            Some(read) => {
                stop_seen = stopping.is_set();
                read
            }
            None if line.is_empty() => break "the server is stopping",
            // Stopped in the middle of a line: let the client finish it
            // (the server's grace period bounds how long that may take).
            None => {
                stop_seen = true;
                read_line(&mut reader, &mut line, &counters).await
            }
        };
        let reply = match read {
            Err(e) => {
                debug!("{peer}: {e}");
                return;
            }
            Ok(LineEnd::Eof) if line.is_empty() => break "the client closed the connection",
            Ok(LineEnd::Eof) => {
                counters.errors.fetch_add(1, Ordering::SeqCst);
                let _ = writer
                    .write_all(b"error: connection closed in the middle of a line\n")
                    .await;
                break "the client closed the connection in the middle of a line";
            }
            Ok(LineEnd::TooLong) => {
                counters.errors.fetch_add(1, Ordering::SeqCst);
                let message = format!("error: line longer than {MAX_LINE} bytes; closing the connection\n");
                let _ = writer.write_all(message.as_bytes()).await;
                break TOO_LONG;
            }
            Ok(LineEnd::Newline) => match answer(&line) {
                Answer::Close => break "the client asked to close",
                Answer::Sum(sum) => {
                    counters.sums.fetch_add(1, Ordering::SeqCst);
                    format!("{sum}\n")
                }
                Answer::Error(e) => {
                    counters.errors.fetch_add(1, Ordering::SeqCst);
                    format!("error: {e}\n")
                }
            },
        };
        if let Err(e) = writer.write_all(reply.as_bytes()).await {
            debug!("{peer}: {e}");
            return;
        }
    };
    debug!("{peer}: closing: {reason}");
    close_gracefully(&stream, &mut reader, reason == TOO_LONG).await;
}

/// Closes the connection without losing the server's last line.
///
/// Closing a socket that still has unread input makes the kernel reset the
/// connection, and a reset can destroy answers the client has not read yet.
/// So when input is left over (always after an over-long line; after
/// `close` or a stop only if the client sent more), this closes our side
/// first, then reads and discards input until the client closes too, for at
/// most [`LINGER`]. Otherwise it closes at once, freeing the slot.
async fn close_gracefully(stream: &TcpStream, reader: &mut BufReader<TcpStream>, unread: bool) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut sink = [0_u8; 4096];
    let unread = unread || !reader.buffer().is_empty() || matches!(read_pending(reader, &mut sink).await, Ok(1..));
    if !unread {
        return;
    }
    let drain = async { while let Ok(1..) = reader.read(&mut sink).await {} };
    let _ = drain.timeout(LINGER).await;
}

/// Reads what has already arrived, without waiting: `Ok(0)` if nothing has
/// (or at the end of the stream).
async fn read_pending(reader: &mut BufReader<TcpStream>, sink: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| match Pin::new(&mut *reader).poll_read(cx, sink) {
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
    /// `--max-seconds` passed.
    TimeLimit,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::CtrlC => "Ctrl-C",
            StopReason::TimeLimit => "time limit reached",
        })
    }
}

/// Ctrl-C, or a time limit, whichever comes first.
#[derive(Debug)]
pub struct StopSignal {
    signals: async_signal::Signals,
    time_limit: Option<Duration>,
}

impl StopSignal {
    /// Installs the Ctrl-C handler now: from here on, Ctrl-C no longer
    /// kills the process but completes [`wait`](Self::wait).
    pub fn install(time_limit: Option<Duration>) -> io::Result<StopSignal> {
        let signals = async_signal::Signals::new([async_signal::Signal::Int])?;
        Ok(StopSignal { signals, time_limit })
    }

    /// Waits for Ctrl-C or the time limit.
    pub async fn wait(mut self) -> StopReason {
        let ctrl_c = async {
            self.signals.next().await;
            StopReason::CtrlC
        };
        match self.time_limit {
            Some(limit) => {
                ctrl_c
                    .race(async {
                        async_std::task::sleep(limit).await;
                        StopReason::TimeLimit
                    })
                    .await
            }
            None => ctrl_c.await,
        }
    }
}

/// The command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--port N`: the port on 127.0.0.1; 0 lets the OS pick.
    pub port: u16,
    /// `--limit N`: handlers running at once.
    pub limit: usize,
    /// `--max-seconds S`: stop after this long.
    pub max_time: Option<Duration>,
    /// `--grace-seconds S`: how long a stop waits for clients to finish
    /// their current line.
    pub grace: Duration,
}

/// The usage line.
pub const USAGE: &str = "usage: sum_server [--port N (default 0: any)] [--limit N (default 16)] [--max-seconds S] [--grace-seconds S (default 5)]";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            port: 0,
            limit: 16,
            max_time: None,
            grace: Duration::from_secs(5),
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
                "--limit" => match value()?.parse() {
                    Ok(0) => return Err("--limit must be at least 1".into()),
                    Ok(limit) => options.limit = limit,
                    Err(e) => return Err(format!("--limit: {e}")),
                },
                "--max-seconds" => options.max_time = Some(seconds(&flag, &value()?)?),
                "--grace-seconds" => options.grace = seconds(&flag, &value()?)?,
                _ => return Err(format!("unknown argument {flag:?}")),
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

#[allow(dead_code)] // Also compiled as a module of tests/sum_server.rs, which has its own main.
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
    let stop = StopSignal::install(options.max_time).expect("can listen for Ctrl-C");
    let served = async_std::task::block_on(async {
        let server = SumServer::bind(options.port, options.limit).await?;
        println!("listening on {}", server.local_addr());
        let stop = async {
            let reason = stop.wait().await;
            info!("{reason}: stopping");
        };
        io::Result::Ok(server.serve(stop, options.grace).await)
    });
    if let Err(e) = served {
        eprintln!("sum_server: {e}");
        std::process::exit(1);
    }
}
