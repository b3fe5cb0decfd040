//! The fetch_log example, driven in-process against its own local server
//! on 127.0.0.1 (no other network): each test runs the real fetch code,
//! then reads the log files back with a parser of its own.

mod common;
#[path = "../examples/fetch_log.rs"]
mod fetch_log;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use common::watchdog;
use fetch_log::{ASYNC_THREAD, Command, Mode, Run, Server, ServerOptions, Target};

/// Long enough that no fetch here comes near it, unless the test wants it.
const NO_TIMEOUT_HERE: Option<Duration> = Some(Duration::from_secs(30));

/// One log line as read back from the file.
#[derive(Debug, Clone)]
struct Parsed {
    seconds: f64,
    url: String,
    step: String,
    thread: String,
}

impl Parsed {
    fn is_start(&self) -> bool {
        self.step == "request started"
    }

    fn is_response(&self) -> bool {
        self.step.starts_with("response received with status ")
    }

    fn is_end(&self) -> bool {
        self.step.starts_with("body read: ") || self.step.starts_with("error: ")
    }
}

/// Reads a log file: `<seconds>s <url> <step> [<thread>]` per line.
fn read_log(path: &Path) -> Vec<Parsed> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<Parsed> = text
        .lines()
        .map(|line| {
            let (time, rest) = line.trim_start().split_once(' ').expect("a time");
            let (url, rest) = rest.split_once(' ').expect("a URL");
            let (step, thread) = rest.rsplit_once(" [").expect("a thread");
            Parsed {
                seconds: time.strip_suffix('s').expect("seconds").parse().expect("a number"),
                url: url.to_owned(),
                step: step.to_owned(),
                thread: thread.strip_suffix(']').expect("a closing bracket").to_owned(),
            }
        })
        .collect();
    for pair in lines.windows(2) {
        assert!(pair[0].seconds <= pair[1].seconds, "times grow down the log: {pair:?}");
    }
    lines
}

fn targets(urls: &[String]) -> Vec<Target> {
    urls.iter().map(|url| Target::parse(url).unwrap()).collect()
}

fn local(server: &Server, paths: &[&str]) -> Vec<String> {
    paths.iter().map(|path| server.url(path)).collect()
}

/// Runs `mode` on `urls`, logging into `dir`, and checks that the file
/// holds exactly the lines the run reports.
fn run(mode: Mode, urls: &[String], limit: usize, timeout: Option<Duration>, dir: &Path) -> (Run, Vec<Parsed>) {
    let run = fetch_log::run(mode, &targets(urls), limit, timeout, dir).unwrap();
    assert_eq!(run.log_path, dir.join(mode.log_name()));
    let parsed = read_log(&run.log_path);
    let written = std::fs::read_to_string(&run.log_path).unwrap();
    let expected: String = run.lines.iter().map(|line| line.render(&run.urls) + "\n").collect();
    assert_eq!(written, expected, "the file holds the run's lines, in order");
    (run, parsed)
}

/// The end line of `url`, asserting there is exactly one, after exactly one
/// start line and at most one response line.
fn end_of<'a>(log: &'a [Parsed], url: &str) -> &'a Parsed {
    let mine: Vec<(usize, &Parsed)> = log.iter().enumerate().filter(|(_, line)| line.url == url).collect();
    let starts: Vec<usize> = mine.iter().filter(|(_, l)| l.is_start()).map(|(i, _)| *i).collect();
    let ends: Vec<usize> = mine.iter().filter(|(_, l)| l.is_end()).map(|(i, _)| *i).collect();
    let responses = mine.iter().filter(|(_, l)| l.is_response()).count();
    assert_eq!(starts.len(), 1, "one start line for {url}: {mine:?}");
    assert_eq!(ends.len(), 1, "one end line for {url}: {mine:?}");
    assert!(responses <= 1, "at most one response line for {url}: {mine:?}");
    assert_eq!(mine.len(), 2 + responses, "nothing else for {url}: {mine:?}");
    assert!(starts[0] < ends[0], "{url} starts before it ends");
    &log[ends[0]]
}

/// The peak of requests between their start and end lines, from the file.
fn peak(log: &[Parsed]) -> usize {
    let (mut now, mut peak) = (0_usize, 0);
    for line in log {
        if line.is_start() {
            now += 1;
            peak = peak.max(now);
        } else if line.is_end() {
            now -= 1;
        }
    }
    peak
}

#[test]
fn every_url_has_one_start_line_and_one_end_line_in_each_log() {
    watchdog(|| {
        let server = Server::start(ServerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut urls = local(
            &server,
            &["/fast", "/slow", "/medium", "/big", "/missing", "/cut", "/not-a-page"],
        );
        urls.push(fetch_log::refused_url().unwrap());
        urls.push("https://127.0.0.1:9/".to_owned());
        for (mode, limit) in [(Mode::Blocking, 3), (Mode::Async, 4)] {
            let (run, log) = run(mode, &urls, limit, NO_TIMEOUT_HERE, dir.path());
            assert_eq!(log.len(), run.lines.len());
            for url in &urls {
                end_of(&log, url);
            }
            let starts = log.iter().filter(|l| l.is_start()).count();
            let ends = log.iter().filter(|l| l.is_end()).count();
            assert_eq!((starts, ends), (urls.len(), urls.len()), "{mode:?}");
            assert!(peak(&log) <= limit, "{mode:?}: never more than the limit in flight");
        }
        // Both files exist side by side.
        assert!(dir.path().join("fetch-blocking.log").is_file());
        assert!(dir.path().join("fetch-async.log").is_file());
    });
}

/// Whether a thread of this name is one of the blocking pool's: the
/// `blocking` crate's under async-std and smol. Under tokio the blocking
/// threads of the runtime the crate builds for a `TaskPool` share its
/// workers' name, so there this checks only that the closures ran on that
/// runtime's threads.
fn on_blocking_pool(thread: &str) -> bool {
    match taskpool::Runtime::preferred() {
        taskpool::Runtime::Tokio => thread == "taskpool-tokio",
        _ => thread.starts_with("blocking-"),
    }
}

#[test]
fn with_limit_1_the_blocking_log_is_strictly_sequential() {
    watchdog(|| {
        let server = Server::start(ServerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The slow page first: fetched concurrently, it would end last.
        let mut urls = local(&server, &["/slow", "/fast", "/missing", "/cut", "/medium"]);
        urls.push(fetch_log::refused_url().unwrap());
        let (run, log) = run(Mode::Blocking, &urls, 1, NO_TIMEOUT_HERE, dir.path());

        // The URLs' lines come in blocks, in the order given: each fetch
        // ends before the next one starts.
        let mut blocks: Vec<&str> = Vec::new();
        for line in &log {
            if blocks.last() != Some(&line.url.as_str()) {
                blocks.push(&line.url);
            }
        }
        assert_eq!(blocks, urls.iter().map(String::as_str).collect::<Vec<_>>());
        for url in &urls {
            end_of(&log, url);
        }
        for line in &log {
            assert!(on_blocking_pool(&line.thread), "on the blocking pool: {line:?}");
        }
        let figures = run.figures();
        assert_eq!((figures.peak, figures.overlapping_starts), (1, 0));
        assert_eq!(figures.start_order, (0..urls.len()).collect::<Vec<_>>());
        assert_eq!(figures.end_order, figures.start_order);
    });
}

#[test]
fn with_limit_3_the_async_log_starts_a_second_request_before_the_first_response() {
    watchdog(|| {
        // The server answers nothing until it has seen two requests, so
        // no response can be logged before two request starts: the order
        // comes from the server, not from timing.
        let server = Server::start(ServerOptions {
            hold_first_response: true,
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let urls = local(&server, &["/fast", "/medium", "/big", "/missing"]);
        let (run, log) = run(Mode::Async, &urls, 3, NO_TIMEOUT_HERE, dir.path());

        let second_start = log.iter().enumerate().filter(|(_, l)| l.is_start()).nth(1).unwrap().0;
        let first_response = log.iter().position(Parsed::is_response).unwrap();
        assert!(
            second_start < first_response,
            "a second request started before the first response: {log:#?}"
        );
        assert_eq!(server.requests_seen(), urls.len());
        for url in &urls {
            end_of(&log, url);
        }
        for line in &log {
            assert_eq!(
                line.thread, ASYNC_THREAD,
                "every async step runs on the executor's thread"
            );
        }
        let figures = run.figures();
        assert!(figures.overlapping_starts >= 1);
        assert!((2..=3).contains(&figures.peak), "peak {}", figures.peak);
        assert_eq!(peak(&log), figures.peak);
    });
}

#[test]
fn a_404_a_cut_body_a_refused_port_and_https_are_error_lines_in_both_logs() {
    watchdog(|| {
        let server = Server::start(ServerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let refused = fetch_log::refused_url().unwrap();
        let port = refused
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches('/')
            .to_owned();
        let https = "https://127.0.0.1:9/secure".to_owned();
        let mut urls = local(&server, &["/missing", "/cut", "/fast"]);
        urls.push(refused.clone());
        urls.push(https.clone());
        for mode in [Mode::Blocking, Mode::Async] {
            let (_, log) = run(mode, &urls, 2, NO_TIMEOUT_HERE, dir.path());
            let step = |url: &str| end_of(&log, url).step.clone();
            assert_eq!(
                step(&urls[0]),
                "error: HTTP status 404 Not Found (13 bytes of body)",
                "{mode:?}"
            );
            let cut = step(&urls[1]);
            assert!(
                cut.starts_with("error: body cut short after ") && cut.contains(" of 8192 bytes: "),
                "{mode:?}: {cut}"
            );
            assert_eq!(step(&urls[2]), "body read: 2048 bytes", "{mode:?}");
            assert_eq!(
                step(&refused),
                format!("error: connection refused by 127.0.0.1:{port}"),
                "{mode:?}"
            );
            assert_eq!(
                step(&https),
                format!("error: https not supported by this example: {https} (both clients are built without TLS)"),
                "{mode:?}"
            );
            // The 404 and the cut body did get a response line first.
            for url in &urls[..2] {
                assert!(log.iter().any(|l| &l.url == url && l.is_response()), "{mode:?} {url}");
            }
        }
    });
}

#[test]
fn a_page_that_never_answers_ends_with_the_task_timeout_in_both_modes() {
    watchdog(|| {
        let server = Server::start(ServerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let urls = local(&server, &["/stall"]);
        for mode in [Mode::Blocking, Mode::Async] {
            let (run, log) = run(mode, &urls, 1, Some(Duration::from_millis(500)), dir.path());
            let end = end_of(&log, &urls[0]);
            assert_eq!(end.step, "error: timed out after 0.5 s (the task's timeout)");
            // The pool's timeout ended it, so the waiting thread wrote it.
            assert_eq!(end.thread, "watched", "{mode:?}");
            assert_eq!(run.figures().failed, 1);
        }
    });
}

#[test]
fn the_summary_counts_match_the_logs() {
    watchdog(|| {
        let server = Server::start(ServerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut urls = local(&server, &["/fast", "/medium", "/missing", "/cut", "/big"]);
        urls.push(fetch_log::refused_url().unwrap());
        let (blocking, blocking_log) = run(Mode::Blocking, &urls, 1, NO_TIMEOUT_HERE, dir.path());
        let (asynchronous, async_log) = run(Mode::Async, &urls, 4, NO_TIMEOUT_HERE, dir.path());
        let summary = fetch_log::summary(&blocking, &asynchronous);

        let count = |log: &[Parsed], prefix: &str| log.iter().filter(|l| l.step.starts_with(prefix)).count();
        for (run, log) in [(&blocking, &blocking_log), (&asynchronous, &async_log)] {
            let figures = run.figures();
            assert_eq!(figures.fetched, count(log, "body read: "), "{:?}", run.mode);
            assert_eq!(figures.failed, count(log, "error: "), "{:?}", run.mode);
            assert_eq!(figures.start_order.len(), count(log, "request started"));
            assert_eq!(figures.peak, peak(log));
            assert_eq!((figures.fetched, figures.failed), (3, 3), "{:?}", run.mode);
        }
        let row = |name: &str| {
            let line = summary.lines().find(|line| line.starts_with(name)).unwrap();
            line[name.len()..].split_whitespace().collect::<Vec<_>>().join(" ")
        };
        assert_eq!(row("fetched / failed"), "3 / 3 3 / 3", "{summary}");
        assert_eq!(
            row("peak concurrent requests"),
            format!("1 {}", peak(&async_log)),
            "{summary}"
        );
        assert_eq!(
            row("start order"),
            format!("1 2 3 4 5 6 {}", {
                let f = asynchronous.figures();
                f.start_order
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        );
        // One row per URL, numbered as given.
        for i in 0..urls.len() {
            assert!(
                summary.lines().any(|line| line.starts_with(&format!("{}. ", i + 1))),
                "a row for URL {}: {summary}",
                i + 1
            );
        }
    });
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

#[test]
fn the_program_serves_its_own_pages_and_exits_0_or_1_with_strict() {
    watchdog(|| {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        let mut out = Vec::new();
        let code = fetch_log::main_with(args(&["--log-dir", dir_arg, "--timeout", "1", "--strict"]), &mut out);
        let out = String::from_utf8(out).unwrap();
        // The local pages include failures on purpose: --strict says so.
        assert_eq!(code, 1, "{out}");
        assert!(
            out.starts_with("no URL given: serving 7 pages on http://127.0.0.1:"),
            "{out}"
        );
        assert!(
            out.contains("blocking (limit 1)") && out.contains("async (limit 4)"),
            "{out}"
        );
        for result in [
            "200, 524288 B",
            "404 Not Found",
            "cut short: 3000 of 8192 B",
            "connection refused",
            "timed out (1 s)",
        ] {
            assert_eq!(out.matches(result).count(), 2, "{result} in both runs: {out}");
        }
        for name in ["fetch-blocking.log", "fetch-async.log"] {
            let log = read_log(&dir.path().join(name));
            assert_eq!(log.iter().filter(|l| l.is_start()).count(), 8, "{name}");
            assert_eq!(log.iter().filter(|l| l.is_end()).count(), 8, "{name}");
            assert!(out.contains(&dir.path().join(name).display().to_string()), "{out}");
        }

        // Only good URLs: 0, with or without --strict.
        let server = Server::start(ServerOptions::default()).unwrap();
        let good = server.url("/fast");
        for strict in [false, true] {
            let mut list = vec![good.as_str(), "--log-dir", dir_arg];
            if strict {
                list.push("--strict");
            }
            let mut out = Vec::new();
            assert_eq!(fetch_log::main_with(args(&list), &mut out), 0);
            assert!(String::from_utf8(out).unwrap().contains("fetched / failed"));
        }
    });
}

#[test]
fn a_log_dir_that_cannot_be_created_is_exit_code_1_before_any_fetch() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let under_a_file = file.path().join("logs");
    let list = ["http://127.0.0.1:9/", "--log-dir", under_a_file.to_str().unwrap()];
    let mut out = Vec::new();
    assert_eq!(fetch_log::main_with(args(&list), &mut out), 1);
    assert!(out.is_empty(), "nothing fetched: {}", String::from_utf8_lossy(&out));
}

#[test]
fn help_and_bad_arguments() {
    let parse = |list: &[&str]| fetch_log::Options::parse(args(list));
    assert_eq!(parse(&["--help"]), Ok(Command::Help));
    assert_eq!(parse(&["-h"]), Ok(Command::Help));
    let mut out = Vec::new();
    assert_eq!(fetch_log::main_with(args(&["--help"]), &mut out), 0);
    let help = String::from_utf8(out).unwrap();
    assert!(
        help.starts_with(fetch_log::USAGE) && help.contains("--timeout SECS"),
        "{help}"
    );

    let Ok(Command::Run(options)) = parse(&[
        "http://127.0.0.1:1/a",
        "--limit",
        "7",
        "--blocking-limit=2",
        "--timeout",
        "0.25",
        "--log-dir",
        "logs",
        "--strict",
        "https://127.0.0.1:2/",
    ]) else {
        panic!("valid arguments")
    };
    assert_eq!(options.urls.len(), 2);
    assert_eq!((options.limit, options.blocking_limit), (7, 2));
    assert_eq!(options.timeout, Some(Duration::from_millis(250)));
    assert_eq!(options.log_dir, Path::new("logs"));
    assert!(options.strict);
    let Ok(Command::Run(defaults)) = parse(&[]) else {
        panic!("no arguments are valid")
    };
    assert_eq!((defaults.limit, defaults.blocking_limit), (4, 1));
    assert_eq!(defaults.timeout, Some(Duration::from_secs(2)));
    assert_eq!(defaults.log_dir, fetch_log::default_log_dir());

    for (bad, message) in [
        (&["--bogus"][..], "invalid option '--bogus'"),
        (&["--limit"], "missing argument for option '--limit'"),
        (&["--limit", "0"], "--limit must be at least 1"),
        (
            &["--limit", "18446744073709551615"],
            "--limit must be at most 2305843009213693951",
        ),
        (&["--limit", "many"], "--limit: \"many\" is not a whole number"),
        (
            &["--blocking-limit", "-1"],
            "--blocking-limit: \"-1\" is not a whole number",
        ),
        (&["--timeout", "0"], "--timeout must be more than 0 seconds"),
        (&["--timeout", "soon"], "--timeout: \"soon\" is not a number of seconds"),
        (&["--strict=yes"], "unexpected argument for option '--strict': \"yes\""),
        (
            &["example.com"],
            "\"example.com\" is not an absolute URL (try \"http://example.com\")",
        ),
        (
            &["ftp://127.0.0.1/"],
            "\"ftp://127.0.0.1/\": only http URLs can be fetched, not ftp",
        ),
        (&["http://"], "\"http://\" is not a URL: empty string"),
        (&["http://a b/"], "\"http://a b/\" is not a URL: invalid uri character"),
    ] {
        assert_eq!(parse(bad), Err(message.to_owned()), "{bad:?}");
        assert_eq!(fetch_log::main_with(args(bad), &mut Vec::new()), 2, "{bad:?}");
    }
}
