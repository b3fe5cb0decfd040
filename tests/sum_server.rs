//! The sum server example, started in-process on port 0 and driven through
//! real TCP sockets: answers, bad input, `close`, load under a limit, and
//! the graceful stop.

mod common;
#[path = "../examples/sum_server.rs"]
mod sum_server;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_std::task::block_on;
use common::watchdog;
use sum_server::{MAX_LINE, Monitor, Options, StopReason, StopSignal, SumServer, Totals};

/// Long enough that no test's stop ever reaches it, unless the test wants
/// it to.
const GRACE: Duration = Duration::from_secs(30);

/// A server serving on its own thread until [`Running::stop`].
struct Running {
    addr: SocketAddr,
    monitor: Monitor,
    stop: async_channel::Sender<()>,
    thread: JoinHandle<Totals>,
}

fn start(limit: usize, grace: Duration) -> Running {
    let server = block_on(SumServer::bind(0, limit)).unwrap();
    let addr = server.local_addr();
    let monitor = server.monitor();
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let thread = thread::Builder::new()
        .name("sum-server".into())
        .spawn(move || {
            block_on(server.serve(
                async move {
                    let _ = stopped.recv().await;
                },
                grace,
            ))
        })
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
        self.thread.join().unwrap()
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
    /// connection.
    fn read_line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
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
        ];
        for (line, sum) in cases {
            assert_eq!(client.ask(line), sum, "for {line:?}");
        }
        drop(client);
        let totals = server.join();
        assert_eq!((totals.sums, totals.errors), (15, 0));
    });
}

#[test]
fn bad_input_gets_one_error_line_and_the_connection_stays_usable() {
    watchdog(|| {
        let server = start(4, GRACE);
        let mut client = Client::connect(server.addr);
        let overflow = format!("{} 1", i128::MAX);
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
            (overflow.as_bytes(), "error: the sum does not fit in 128 bits"),
            (
                b"170141183460469231731687303715884105728 0",
                "error: \"170141183460469231731687303715884105728\" is out of range: numbers must fit in 128 bits",
            ),
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
        assert!(
            client.ask(&longest).starts_with("error: \"9999"),
            "a long number is out of range, not too long"
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
        assert_eq!(server.join().errors, 2);
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
        // The idle client has no line in progress: closed at once. By then
        // the listener is closed too.
        idle.expect_closed();
        let _late = TcpStream::connect(server.addr);
        // The busy one finishes its line, gets the answer, and is closed.
        busy.send(b"5\n");
        assert_eq!(busy.read_line().unwrap(), "9");
        busy.expect_closed();

        let totals = server.join();
        assert_eq!(totals.connections, 2, "nothing accepted after the stop");
        assert_eq!(totals.sums, 3);
        assert_eq!((totals.pool.completed, totals.pool.cancelled), (2, 0));
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
        while server.monitor.totals().pool.queued < 1 {
            thread::sleep(Duration::from_millis(1));
        }

        server.request_stop();
        holder.expect_closed();
        drop(holder);
        // The slot is free: the waiting client's handler starts, answers
        // the line it was sent, and closes.
        assert_eq!(waiting.read_line().unwrap(), "7");
        waiting.expect_closed();
        assert_eq!(server.join().sums, 2);
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
        // then is cancelled, which closes the connection.
        stalled.expect_closed();
        let totals = server.join();
        assert_eq!((totals.pool.cancelled, totals.pool.completed), (1, 0));
    });
}

#[cfg(unix)]
#[test]
fn the_stop_signal_fires_on_the_time_limit_and_on_ctrl_c() {
    watchdog(|| {
        // The time limit first: no SIGINT has been sent yet.
        let limited = StopSignal::install(Some(Duration::from_millis(1))).unwrap();
        assert_eq!(block_on(limited.wait()), StopReason::TimeLimit);

        // Ctrl-C: a real SIGINT to this process, caught by the handler
        // installed here (the only test that sends one).
        let stop = StopSignal::install(None).unwrap();
        let server = block_on(SumServer::bind(0, 4)).unwrap();
        let addr = server.local_addr();
        let (reason_tx, reason_rx) = mpsc::channel();
        let serving = thread::spawn(move || {
            block_on(server.serve(
                async move {
                    reason_tx.send(stop.wait().await).unwrap();
                },
                GRACE,
            ))
        });
        let mut client = Client::connect(addr);
        assert_eq!(client.ask("20 22"), "42");
        let pid = std::process::id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(reason_rx.recv().unwrap(), StopReason::CtrlC);
        client.expect_closed();
        assert_eq!(serving.join().unwrap().sums, 1);
    });
}

#[test]
fn options_have_defaults_and_parse_every_flag() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|a| a.to_string()));
    let defaults = parse(&[]).unwrap();
    assert_eq!((defaults.port, defaults.limit, defaults.max_time), (0, 16, None));
    assert_eq!(defaults.grace, Duration::from_secs(5));

    let all = parse(&[
        "--port",
        "7878",
        "--limit",
        "3",
        "--max-seconds",
        "1.5",
        "--grace-seconds",
        "0",
    ])
    .unwrap();
    assert_eq!((all.port, all.limit), (7878, 3));
    assert_eq!(all.max_time, Some(Duration::from_millis(1500)));
    assert_eq!(all.grace, Duration::ZERO);

    for bad in [
        &["--limit", "0"][..],
        &["--limit"],
        &["--port", "70000"],
        &["--max-seconds", "-1"],
        &["--max-seconds", "soon"],
        &["--verbose"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should be refused");
    }
}
