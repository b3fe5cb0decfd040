//! The sum server example, started in-process on port 0 and driven through
//! real TCP sockets: answers, bad input, `close`, load under a limit, and
//! the graceful stop.

mod common;
mod example_bin;
#[path = "../examples/sum_server.rs"]
mod sum_server;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_std::stream::StreamExt as _;
use async_std::task::block_on;
use common::{spin_until, watchdog};
use num_bigint::{BigInt, BigUint, Sign};
use proptest::prelude::*;
use sum_server::cli::Parsed;
use sum_server::{MAX_LINE, Monitor, Options, Settings, StopReason, SumServer, Totals};

/// Long enough that no test's stop ever reaches it, unless the test wants
/// it to.
const GRACE: Duration = Duration::from_secs(30);

/// A server serving on its own thread until [`Running::stop`].
struct Running {
    addr: SocketAddr,
    monitor: Monitor,
    stop: async_channel::Sender<&'static str>,
    thread: JoinHandle<Totals>,
}

fn start(limit: usize, grace: Duration) -> Running {
    start_with(
        Settings {
            limit,
            ..Settings::default()
        },
        grace,
    )
}

fn start_with(settings: Settings, grace: Duration) -> Running {
    let server = block_on(SumServer::bind(0, settings)).unwrap();
    let addr = server.local_addr();
    let monitor = server.monitor();
    // Closing the channel ends the stream: that is the stop.
    let (stop, stops) = async_channel::unbounded();
    let thread = thread::Builder::new()
        .name("sum-server".into())
        .spawn(move || block_on(server.serve(stops, grace)))
        .unwrap();
    Running {
        addr,
        monitor,
        stop,
        thread,
    }
}

impl Running {
    /// Asks the server to stop, without waiting.
    fn request_stop(&self) {
        self.stop.close();
    }

    /// Waits for the server to finish, and returns its totals.
    fn join(self) -> Totals {
        self.stop.close();
        let totals = self.thread.join().unwrap();
        assert_eq!(
            totals.accounted_for(),
            totals.connections,
            "every connection is accounted for: {totals}"
        );
        totals
    }

    /// Waits (polling its counter) until the server has read `bytes`
    /// bytes: the only way to know that input sent has been received.
    fn wait_for_bytes_in(&self, bytes: u64) {
        while self.monitor.totals().bytes_in < bytes {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A blocking client.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The next line without its newline, or `None` at the end of the
    /// connection (a reset counts as an end too).
    fn read_line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading from the server: {e}"),
        }
        if line.is_empty() {
            return None;
        }
        assert_eq!(line.pop(), Some(b'\n'), "a line ends with a newline");
        Some(String::from_utf8(line).unwrap())
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes());
        self.read_line().expect("an answer, not the end of the connection")
    }

    fn expect_closed(&mut self) {
        assert_eq!(self.read_line(), None, "the server should have closed the connection");
    }
}

#[test]
fn answers_the_exact_sum_of_integers_and_decimals() {
    watchdog(|| {
        let server = start(4, GRACE);
        let mut client = Client::connect(server.addr);
        let max = i128::MAX.to_string();
        let min = i128::MIN.to_string();
        let cases = [
            ("2 3", "5"),
            ("  -7\t+4  ", "-3"),
            ("0 0", "0"),
            ("-5 5", "0"),
            ("0.1 0.2", "0.3"),
            ("1.5 2.5", "4.0"),
            ("1.50 1", "2.50"),
            ("-1.5 0.25", "-1.25"),
            ("-0.5 0.25", "-0.25"),
            ("0.001 0", "0.001"),
            ("2 3\r", "5"),
            (&format!("{max} 0"), &max),
            (&format!("{min} 0"), &min),
            (&format!("{max} {min}"), "-1"),
            ("99999999999999999999 1", "100000000000000000000"),
            // Beyond 128 bits, and sums whose operands had to be widened:
            // all exact (issue 15: these were refused).
            (&format!("{max} 1"), "170141183460469231731687303715884105728"),
            (
                "0 0.0000000000000000000000000000000000000001",
                "0.0000000000000000000000000000000000000001",
            ),
            (
                "-2.0 0.36402191615193843549643886278957798976",
                "-1.63597808384806156450356113721042201024",
            ),
            ("-0.5 0.5", "0.0"),
        ];
        for (line, sum) in cases {
            assert_eq!(client.ask(line), sum, "for {line:?}");
        }
        drop(client);
        let totals = server.join();
        assert_eq!((totals.sums, totals.errors), (19, 0));
    });
}

#[test]
fn bad_input_gets_one_error_line_and_the_connection_stays_usable() {
    watchdog(|| {
        let server = start(4, GRACE);
        let mut client = Client::connect(server.addr);
        let bad: [(&[u8], &str); 12] = [
            (b"hello 2", "error: \"hello\" is not a number"),
            (b"2 hello", "error: \"hello\" is not a number"),
            (b"7", "error: expected two numbers, got 1 word"),
            (b"1 2 3", "error: expected two numbers, got 3 words"),
            (b"", "error: expected two numbers, got an empty line"),
            (b"   ", "error: expected two numbers, got an empty line"),
            (b"\xff\xfe 1", "error: the line is not valid UTF-8"),
            (b"1e3 1", "error: \"1e3\" is not a number"),
            (b".5 1", "error: \".5\" is not a number"),
            (b"5. 1", "error: \"5.\" is not a number"),
            (b"nan 1", "error: \"nan\" is not a number"),
            (b"CLOSE", "error: expected two numbers, got 1 word"),
        ];
        for (line, error) in bad {
            client.send(line);
            client.send(b"\n");
            assert_eq!(
                client.read_line().unwrap(),
                error,
                "for {:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(
                client.ask("1 1"),
                "2",
                "still usable after {:?}",
                String::from_utf8_lossy(line)
            );
        }
        drop(client);
        let totals = server.join();
        assert_eq!((totals.sums, totals.errors), (12, 12));
    });
}

#[test]
fn close_closes_the_connection_and_the_server_serves_on() {
    watchdog(|| {
        let server = start(1, GRACE);
        let mut first = Client::connect(server.addr);
        assert_eq!(first.ask("1 2"), "3");
        first.send(b"close\n");
        first.expect_closed();
        // With a limit of 1, the next client is served only because `close`
        // ended the first handler.
        let mut second = Client::connect(server.addr);
        assert_eq!(second.ask("2 2"), "4");
        drop(second);
        assert_eq!(server.join().pool.completed, 2);
    });
}

#[test]
fn close_with_spaces_around_it_closes_too() {
    watchdog(|| {
        let server = start(1, GRACE);
        let mut client = Client::connect(server.addr);
        client.send(b"  close \r\n");
        client.expect_closed();
        assert_eq!(server.join().pool.completed, 1);
    });
}

#[test]
fn an_over_long_line_gets_an_error_and_closes_only_that_connection() {
    watchdog(|| {
        let server = start(2, GRACE);
        let mut other = Client::connect(server.addr);
        assert_eq!(other.ask("1 1"), "2");

        let mut client = Client::connect(server.addr);
        // Exactly the limit is fine...
        let longest = format!("1 {}", "9".repeat(MAX_LINE - 2));
        assert_eq!(longest.len(), MAX_LINE);
        assert_eq!(
            client.ask(&longest),
            format!("1{}", "0".repeat(MAX_LINE - 2)),
            "not too long"
        );
        // ...one byte more is not, even before its newline arrives.
        client.send(&vec![b'7'; MAX_LINE + 1000]);
        assert_eq!(
            client.read_line().unwrap(),
            format!("error: line longer than {MAX_LINE} bytes; closing the connection")
        );
        client.expect_closed();

        assert_eq!(other.ask("2 2"), "4", "the other client is still served");
        drop(other);
        drop(client);
        assert_eq!(server.join().errors, 1);
    });
}

#[test]
fn a_client_leaving_mid_line_gets_an_error_line() {
    watchdog(|| {
        let server = start(2, GRACE);
        let mut client = Client::connect(server.addr);
        assert_eq!(client.ask("5 5"), "10");
        client.send(b"1 2");
        client.writer.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            client.read_line().unwrap(),
            "error: connection closed in the middle of a line"
        );
        client.expect_closed();

        let mut next = Client::connect(server.addr);
        assert_eq!(next.ask("3 4"), "7", "the server keeps serving");
        drop(next);
        let totals = server.join();
        assert_eq!((totals.sums, totals.errors), (2, 1));
    });
}

#[test]
fn two_hundred_clients_all_get_correct_answers_with_at_most_16_handlers() {
    const CLIENTS: usize = 200;
    const LIMIT: usize = 16;
    watchdog(|| {
        let server = start(LIMIT, GRACE);
        let (served_tx, served_rx) = mpsc::channel();
        // Closed when the test lets the held clients go on.
        let (release, released) = async_channel::bounded::<()>(1);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (served, released, addr) = (served_tx.clone(), released.clone(), server.addr);
                thread::spawn(move || {
                    let mut client = Client::connect(addr);
                    let first = client.ask(&format!("{i} {i}"));
                    served.send(i).unwrap();
                    // Hold this handler (and its slot) until released.
                    let _ = released.recv_blocking();
                    let second = client.ask(&format!("{i}.5 -0.25"));
                    let third = client.ask(&format!("-{i} {}", i128::MAX));
                    client.send(b"close\n");
                    client.expect_closed();
                    [first, second, third]
                })
            })
            .collect();

        // Every client is accepted at once, but only LIMIT are served: those
        // hold their slots, so nobody else can be answered until released.
        for _ in 0..LIMIT {
            served_rx.recv().unwrap();
        }
        let held = server.monitor.totals();
        assert_eq!(held.pool.running, LIMIT as u64);
        assert_eq!(
            served_rx.try_recv(),
            Err(mpsc::TryRecvError::Empty),
            "a client beyond the limit was served"
        );
        release.close();

        for (i, client) in clients.into_iter().enumerate() {
            let expected = [
                (2 * i).to_string(),
                format!("{i}.25"),
                (i128::MAX - i as i128).to_string(),
            ];
            assert_eq!(client.join().unwrap(), expected, "client {i}");
        }
        let totals = server.join();
        assert_eq!(totals.connections, CLIENTS as u64);
        assert_eq!((totals.sums, totals.errors), (3 * CLIENTS as u64, 0));
        assert_eq!(totals.pool.completed, CLIENTS as u64);
        assert_eq!(totals.pool.peak_running, LIMIT as u64, "the pool's own count");
        assert_eq!(totals.max_handlers, LIMIT, "counted inside the handlers");
    });
}

#[test]
fn stop_lets_connected_clients_finish_their_current_line() {
    watchdog(|| {
        let server = start(2, GRACE);
        let mut idle = Client::connect(server.addr);
        assert_eq!(idle.ask("1 1"), "2");
        let mut busy = Client::connect(server.addr);
        assert_eq!(busy.ask("2 2"), "4");
        busy.send(b"4 ");
        server.wait_for_bytes_in(("1 1\n2 2\n4 ".len()) as u64);

        server.request_stop();
        // The idle client has no line in progress: told and closed at once.
        // By then the listener is closed too.
        assert_eq!(idle.read_line().unwrap(), "error: server shutting down");
        idle.expect_closed();
        let _late = TcpStream::connect(server.addr);
        // The busy one finishes its line, gets the answer, and is closed.
        busy.send(b"5\n");
        assert_eq!(busy.read_line().unwrap(), "9");
        assert_eq!(busy.read_line().unwrap(), "error: server shutting down");
        busy.expect_closed();

        let totals = server.join();
        assert_eq!(totals.connections, 2, "nothing accepted after the stop");
        assert_eq!(totals.sums, 3);
        assert_eq!((totals.pool.completed, totals.pool.cancelled), (2, 0));
        assert_eq!(totals.told_shutting_down, 2);
    });
}

#[test]
fn stop_answers_the_line_a_client_waiting_for_a_slot_already_sent() {
    watchdog(|| {
        let server = start(1, GRACE);
        let mut holder = Client::connect(server.addr);
        assert_eq!(holder.ask("1 1"), "2");
        let mut waiting = Client::connect(server.addr);
        waiting.send(b"3 4\n");
        spin_until(|| server.monitor.totals().pool.queued == 1);

        server.request_stop();
        assert_eq!(holder.read_line().unwrap(), "error: server shutting down");
        holder.expect_closed();
        drop(holder);
        // The slot is free: the waiting client's handler starts, answers
        // the line it was sent, and closes.
        assert_eq!(waiting.read_line().unwrap(), "7");
        assert_eq!(waiting.read_line().unwrap(), "error: server shutting down");
        waiting.expect_closed();
        let totals = server.join();
        assert_eq!((totals.sums, totals.pool.completed), (2, 2));
    });
}

#[test]
fn the_grace_period_bounds_a_client_that_never_finishes_its_line() {
    watchdog(|| {
        let server = start(2, Duration::from_millis(50));
        let mut stalled = Client::connect(server.addr);
        stalled.send(b"1 ");
        server.wait_for_bytes_in(2);
        server.request_stop();
        // Its handler waits for the rest of the line until the deadline,
        // then is cancelled; the client is told, and the connection closes.
        assert_eq!(stalled.read_line().unwrap(), "error: server shutting down");
        stalled.expect_closed();
        let totals = server.join();
        assert_eq!((totals.pool.cancelled, totals.pool.completed), (1, 0));
        assert_eq!(totals.told_shutting_down, 1);
    });
}

/// Issue 15, item 3: stalled clients hold every slot when the stop comes.
/// The queued clients' complete lines cannot be answered within the grace;
/// every client, stalled or queued, is told so before its connection
/// closes, and the totals add up to the connections accepted.
#[test]
fn a_stop_with_every_slot_held_tells_every_client_and_the_totals_add_up() {
    watchdog(|| {
        let server = start(2, Duration::from_millis(200));
        let mut stalled: Vec<Client> = (0..2)
            .map(|_| {
                let mut client = Client::connect(server.addr);
                client.send(b"1 ");
                client
            })
            .collect();
        server.wait_for_bytes_in(4);
        let mut queued: Vec<Client> = (0..3)
            .map(|_| {
                let mut client = Client::connect(server.addr);
                client.send(b"3 4\n");
                client
            })
            .collect();
        spin_until(|| server.monitor.totals().pool.queued == 3);

        server.request_stop();
        for client in stalled.iter_mut().chain(queued.iter_mut()) {
            assert_eq!(client.read_line().unwrap(), "error: server shutting down");
            client.expect_closed();
        }
        let totals = server.join();
        assert_eq!(totals.connections, 5);
        let pool = &totals.pool;
        assert_eq!((pool.completed, pool.cancelled, pool.shut_down), (0, 2, 3));
        assert_eq!(totals.told_shutting_down, 5);
        let line = totals.to_string();
        assert!(
            line.starts_with("5 connections: 0 handlers finished, 2 cancelled at the grace deadline, 3 never started;"),
            "{line}"
        );
    });
}

/// Issue 15, item 1: with `--limit 16`, 14 silent clients, one that drips a
/// byte at a time and one that pipelines lines without ever reading the
/// answers hold every slot. Each is closed once its timeout passes, and a
/// 17th client, queued behind them, is served. The test waits for the
/// closes themselves (the watchdog bounds it), never for a time.
#[test]
fn idle_drip_feeding_and_non_reading_clients_are_closed_and_a_17th_client_is_served() {
    const LIMIT: usize = 16;
    watchdog(|| {
        let settings = Settings {
            limit: LIMIT,
            idle: Duration::from_millis(500),
            write: Duration::from_millis(500),
        };
        let server = start_with(settings, GRACE);
        let addr = server.addr;
        let mut silent: Vec<Client> = (0..LIMIT - 2).map(|_| Client::connect(addr)).collect();

        // Sends one byte, then waits up to 20 ms for an answer, and again:
        // a line that never ends. (The 20 ms only paces the drip.)
        let drip = thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let mut got = Vec::new();
            let mut chunk = [0_u8; 256];
            while !got.contains(&b'\n') {
                if stream.write_all(b"1").is_err() {
                    break;
                }
                match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => panic!("the drip client: {e}"),
                }
            }
            stream.shutdown(Shutdown::Write).unwrap();
            stream.set_read_timeout(None).unwrap();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
            got.extend_from_slice(&rest);
            String::from_utf8(got).unwrap()
        });

        // Pipelines lines with long answers and never reads: the server's
        // writes block once the socket buffers are full. Writes until the
        // server has closed the connection.
        let flood = thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            let line = format!("{} 0\n", "9".repeat(400));
            let batch = line.repeat(64);
            let mut sent = 0_usize;
            loop {
                match stream.write_all(batch.as_bytes()) {
                    Ok(()) => sent += batch.len(),
                    Err(e) => return (e.kind(), sent),
                }
            }
        });

        spin_until(|| server.monitor.totals().connections >= LIMIT as u64);
        let mut seventeenth = Client::connect(addr);
        assert_eq!(seventeenth.ask("2 3"), "5", "the 17th client is served");
        seventeenth.send(b"close\n");
        seventeenth.expect_closed();

        for client in &mut silent {
            assert_eq!(client.read_line().unwrap(), "error: idle timeout");
            client.expect_closed();
        }
        assert_eq!(drip.join().unwrap(), "error: idle timeout\n");
        let (error, sent) = flood.join().unwrap();
        assert!(
            matches!(error, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "the non-reading client is closed: {error:?} after {sent} bytes"
        );

        let totals = server.join();
        assert_eq!(totals.connections, LIMIT as u64 + 1);
        // Every held slot was freed by a timeout. The flooding client is
        // normally closed by the write timeout (the server blocks writing
        // answers it never reads); should its thread be descheduled long
        // enough for the server to drain its input first, the idle timeout
        // closes it instead. A server without a write timeout never closes
        // it, and the watchdog fails the test.
        assert_eq!(totals.idle_timeouts + totals.write_timeouts, LIMIT as u64);
        assert!(totals.write_timeouts <= 1, "{totals:?}");
        assert_eq!(totals.pool.peak_running, LIMIT as u64);
    });
}

/// Issue 15, item 2: a batch of pipelined lines is answered with one write
/// (no write per answer, so no Nagle stall between them): the server never
/// writes more often than it reads.
#[test]
fn pipelined_lines_are_answered_with_one_write_per_batch() {
    watchdog(|| {
        let server = start(2, GRACE);
        let mut client = Client::connect(server.addr);
        let batch: String = (0..50).map(|i| format!("{i} 1\n")).collect();
        // One write of 50 lines.
        client.send(batch.as_bytes());
        for i in 0..50 {
            assert_eq!(client.read_line().unwrap(), (i + 1).to_string());
        }
        client.send(b"close\n");
        client.expect_closed();
        let totals = server.join();
        assert_eq!(totals.sums, 50);
        assert!(
            totals.writes <= totals.reads && totals.writes < 50,
            "{} writes for {} reads of 50 lines",
            totals.writes,
            totals.reads
        );
    });
}

/// The sum of two random decimals of up to 60 digits, against a reference
/// computed as big integers of the same scale: `a·10^(s-sa) + b·10^(s-sb)`
/// with `s = max(sa, sb)`. The answer is read back digit by digit, so the
/// check does not reuse the server's formatting.
fn reference_sum(a: (bool, &str, &str), b: (bool, &str, &str)) -> (BigInt, usize) {
    let scale = a.2.len().max(b.2.len());
    let widen = |(negative, int, frac): (bool, &str, &str)| {
        let digits = format!("{int}{frac}{}", "0".repeat(scale - frac.len()));
        let sign = if negative { Sign::Minus } else { Sign::Plus };
        BigInt::from_biguint(sign, digits.parse::<BigUint>().unwrap())
    };
    (widen(a) + widen(b), scale)
}

fn read_back(answer: &str) -> (BigInt, usize) {
    let (negative, body) = match answer.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, answer),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    assert!(!int.is_empty() && (int == "0" || !int.starts_with('0')), "{answer}");
    let value: BigUint = format!("{int}{frac}").parse().unwrap();
    assert!(!(negative && value == BigUint::ZERO), "no negative zero: {answer}");
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    (BigInt::from_biguint(sign, value), frac.len())
}

fn operand() -> impl Strategy<Value = (bool, String, String, bool)> {
    // Sign, integer digits, fraction digits (maybe none), and whether a
    // plus sign is written: up to 60 digits in all, leading zeros allowed.
    (
        any::<bool>(),
        "[0-9]{1,30}",
        prop_oneof!["", "[0-9]{1,30}"],
        any::<bool>(),
    )
}

fn token((negative, int, frac, plus): &(bool, String, String, bool)) -> String {
    let sign = match (negative, plus) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => "",
    };
    let point = if frac.is_empty() { "" } else { "." };
    format!("{sign}{int}{point}{frac}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Issue 15, item 5: every sum is exact, whatever the operands' sizes
    /// and scales; none is refused.
    #[test]
    fn sums_of_operands_up_to_60_digits_match_a_big_integer_reference(a in operand(), b in operand()) {
        let line = format!("{} {}", token(&a), token(&b));
        let sum = match sum_server::answer(line.as_bytes()) {
            sum_server::Answer::Sum(sum) => sum,
            other => panic!("{line:?} got {other:?}"),
        };
        let expected = reference_sum((a.0, &a.1, &a.2), (b.0, &b.1, &b.2));
        prop_assert_eq!(read_back(&sum), expected, "{} = {}", line, sum);
    }
}

/// A running `examples/sum_server` process, its log read line by line.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    addr: SocketAddr,
}

impl Process {
    /// Starts `command` (the example, perhaps behind a shell) and waits for
    /// its "listening on" line.
    fn spawn(mut command: Command) -> Process {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("the example starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Process {
            child,
            lines,
            seen: Vec::new(),
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        let listening = process.wait_for("listening on ");
        process.addr = listening["listening on ".len()..].parse().unwrap();
        process
    }

    fn sum_server(args: &[&str]) -> Process {
        let mut command = Command::new(example_bin::path("sum_server"));
        command.args(args);
        Process::spawn(command)
    }

    /// The first line from now on that contains `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv()
                .unwrap_or_else(|_| panic!("the server ended before logging {needle:?}:\n{}", self.seen.join("\n")));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its status and every line
    /// it logged.
    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A failed test must not leave its server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 15, item 4: SIGTERM stops the real server like Ctrl-C: drain,
/// goodbye lines, totals, exit code 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_real_server_gracefully() {
    watchdog(|| {
        let server = Process::sum_server(&["--limit", "2"]);
        let mut client = Client::connect(server.addr);
        assert_eq!(client.ask("20 22"), "42");
        server.signal("TERM");
        assert_eq!(client.read_line().unwrap(), "error: server shutting down");
        client.expect_closed();
        let (status, log) = server.finish();
        assert!(status.success(), "{status}:\n{}", log.join("\n"));
        let has = |needle: &str| log.iter().any(|line| line.contains(needle));
        assert!(has("SIGTERM: stopping"), "{log:?}");
        assert!(has("totals: 1 connections: 1 handlers finished"), "{log:?}");
    });
}

/// Issue 15, item 4: a second Ctrl-C during the grace period ends it at
/// once. The grace here is ten minutes, far beyond the watchdog: the test
/// can only pass if the second signal cuts it short.
#[cfg(unix)]
#[test]
fn a_second_ctrl_c_ends_the_grace_period_at_once() {
    watchdog(|| {
        let mut server = Process::sum_server(&["--limit", "1", "--grace-seconds", "600"]);
        let mut stalled = Client::connect(server.addr);
        // One write, so one read on the server's side: when "2" comes back,
        // the server holds the unfinished "1 " too.
        stalled.send(b"1 1\n1 ");
        assert_eq!(stalled.read_line().unwrap(), "2");
        server.signal("INT");
        server.wait_for("stopped accepting");
        server.signal("INT");
        server.wait_for("Ctrl-C again: ending the grace period now");
        assert_eq!(stalled.read_line().unwrap(), "error: server shutting down");
        stalled.expect_closed();
        let (status, log) = server.finish();
        assert!(status.success(), "{status}:\n{}", log.join("\n"));
        assert!(
            log.iter()
                .any(|line| line.contains("1 cancelled at the grace deadline")),
            "{log:?}"
        );
    });
}

/// Issue 15, item 6: out of file descriptors, the accept loop backs off and
/// logs one warning for the episode, then one line with the count when
/// accepting works again. The server runs with `ulimit -n 64` and is sent
/// more connections than that.
#[cfg(unix)]
#[test]
fn running_out_of_file_descriptors_logs_once_per_episode_and_recovers() {
    watchdog(|| {
        let mut command = Command::new("sh");
        command
            .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
            .arg(example_bin::path("sum_server"))
            .args(["--limit", "4"])
            .env("RUST_LOG", "debug");
        let mut server = Process::spawn(command);
        let clients: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
        server.wait_for("accept failed: ");
        // Three more failed tries, logged at debug level only.
        server.wait_for("(4 tries so far)");
        drop(clients);
        let recovered = server.wait_for("accept works again");
        let mut client = Client::connect(server.addr);
        assert_eq!(client.ask("1 2"), "3", "served after the episode");
        drop(client);
        server.signal("TERM");
        let (status, log) = server.finish();
        assert!(status.success(), "{status}");
        let warnings: Vec<&String> = log.iter().filter(|line| line.contains("WARN")).collect();
        assert_eq!(
            warnings.len(),
            2,
            "one line when it starts, one when it ends: {warnings:#?}"
        );
        assert!(
            warnings[0].contains("accept failed: Too many open files"),
            "{}",
            warnings[0]
        );
        let tries: u64 = recovered
            .split("after ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count in {recovered:?}"));
        assert!(tries >= 4, "{recovered}");
    });
}

/// Issue 15, item 8.
#[test]
fn the_real_program_has_help_and_refuses_a_bad_flag_with_exit_code_2() {
    watchdog(|| {
        example_bin::assert_cli_contract("sum_server", &["--verbose"], "invalid option '--verbose'");
        example_bin::assert_cli_contract(
            "sum_server",
            &["--idle-seconds", "0"],
            "--idle-seconds must be more than 0",
        );
        // Issue 11, item 2: a limit above the pool's maximum is a usage error.
        example_bin::assert_cli_contract(
            "sum_server",
            &["--limit", &(taskpool::TaskPool::MAX_LIMIT + 1).to_string()],
            "--limit must be at most",
        );
    });
}

#[test]
fn the_stop_stream_fires_on_the_time_limit() {
    watchdog(|| {
        let mut stops = sum_server::stop_signals(Some(Duration::from_millis(1))).unwrap();
        assert_eq!(block_on(stops.next()), Some(StopReason::TimeLimit));
    });
}

#[test]
fn options_have_defaults_and_parse_every_flag() {
    let parse = |args: &[&str]| Options::parse(args.iter().copied());
    let defaults = parse(&[]).unwrap().unwrap();
    assert_eq!((defaults.port, defaults.max_time), (0, None));
    assert_eq!(defaults.settings, Settings::default());
    assert_eq!(defaults.settings.limit, 16);
    assert_eq!(defaults.settings.idle, Duration::from_secs(30));
    assert_eq!(defaults.grace, Duration::from_secs(5));
    assert_eq!(parse(&["--help"]).unwrap(), Parsed::Help);
    assert_eq!(parse(&["-h"]).unwrap(), Parsed::Help);

    let all = parse(&[
        "--port",
        "7878",
        "--limit",
        "3",
        "--idle-seconds",
        "0.25",
        "--write-seconds=2",
        "--max-seconds",
        "1.5",
        "--grace-seconds",
        "0",
    ])
    .unwrap()
    .unwrap();
    assert_eq!((all.port, all.settings.limit), (7878, 3));
    assert_eq!(all.settings.idle, Duration::from_millis(250));
    assert_eq!(all.settings.write, Duration::from_secs(2));
    assert_eq!(all.max_time, Some(Duration::from_millis(1500)));
    assert_eq!(all.grace, Duration::ZERO);

    for (bad, message) in [
        (&["--limit", "0"][..], "--limit must be at least 1"),
        (&["--limit", "18446744073709551615"], "--limit must be at most"),
        (&["--limit"], "missing argument for option '--limit'"),
        (&["--port", "70000"], "--port: cannot parse \"70000\""),
        (
            &["--max-seconds", "-1"],
            "--max-seconds: \"-1\" is not a number of seconds",
        ),
        (&["--max-seconds", "soon"], "is not a number of seconds"),
        (&["--idle-seconds", "0"], "--idle-seconds must be more than 0 seconds"),
        (&["--write-seconds", "0"], "--write-seconds must be more than 0 seconds"),
        (&["--verbose"], "invalid option '--verbose'"),
        (&["7878"], "unexpected argument \"7878\""),
    ] {
        let error = parse(bad).expect_err(&format!("{bad:?} should be refused"));
        assert!(error.to_string().contains(message), "{bad:?}: {error}");
    }
}
