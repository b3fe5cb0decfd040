//! The command line and the logger, the same way in every example: each
//! example includes this file with `#[path = "common/cli.rs"] mod cli;`
//! (it is not an example of its own), parses its flags with `lexopt`, and
//! hands the result to [`parse_or_exit`].
#![allow(dead_code)] // Each example uses a different subset.

use std::ffi::OsString;
use std::str::FromStr;
use std::time::Duration;

pub use lexopt::{Arg, Error, Parser};

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    /// Run with these options.
    Run(T),
    /// `--help` (or `-h`): print the help and exit.
    Help,
}

impl<T> Parsed<T> {
    /// The options, for tests that expect a run (panics on `Help`).
    pub fn unwrap(self) -> T {
        match self {
            Parsed::Run(options) => options,
            Parsed::Help => panic!("expected options, got a request for help"),
        }
    }
}

/// A parser over `args` (the arguments after the program name).
pub fn parser<I>(args: I) -> Parser
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    Parser::from_args(args)
}

/// The value of `flag`, parsed as a `T`; the error names the flag.
pub fn value<T>(parser: &mut Parser, flag: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = parser.value()?;
    let text = raw
        .to_str()
        .ok_or_else(|| format!("{flag}: {raw:?} is not valid UTF-8"))?;
    text.parse()
        .map_err(|e| format!("{flag}: cannot parse {text:?}: {e}").into())
}

/// The value of `flag` as a whole number of at least 1.
pub fn positive(parser: &mut Parser, flag: &str) -> Result<usize, Error> {
    match value::<usize>(parser, flag)? {
        0 => Err(format!("{flag} must be at least 1").into()),
        n => Ok(n),
    }
}

/// The value of `flag` as a pool limit: at least 1 and at most
/// [`taskpool::TaskPool::MAX_LIMIT`], so a bad one is a usage error (exit
/// code 2) rather than a failure to build the pool.
pub fn limit(parser: &mut Parser, flag: &str) -> Result<usize, Error> {
    match positive(parser, flag)? {
        n if n > taskpool::TaskPool::MAX_LIMIT => {
            Err(format!("{flag} must be at most {}", taskpool::TaskPool::MAX_LIMIT).into())
        }
        n => Ok(n),
    }
}

/// The value of `flag` as a number of seconds (decimals allowed, `0` too).
pub fn seconds(parser: &mut Parser, flag: &str) -> Result<Duration, Error> {
    let raw = value::<String>(parser, flag)?;
    raw.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{flag}: {raw:?} is not a number of seconds").into())
}

/// As [`seconds`], but refuses zero: for intervals and timeouts, where zero
/// would mean a busy loop or an instant failure.
pub fn positive_seconds(parser: &mut Parser, flag: &str) -> Result<Duration, Error> {
    match seconds(parser, flag)? {
        Duration::ZERO => Err(format!("{flag} must be more than 0 seconds").into()),
        d => Ok(d),
    }
}

/// Returns the options, or ends the process: `--help` prints `help` to
/// stdout and exits with 0; an error prints the message and the usage line
/// (the first line of `help`) to stderr and exits with 2, as command-line
/// tools do for a usage error.
pub fn parse_or_exit<T>(program: &str, help: &str, parsed: Result<Parsed<T>, Error>) -> T {
    match parsed {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            print!("{help}");
            std::process::exit(0);
        }
        Err(e) => {
            let usage = help.lines().next().unwrap_or_default();
            eprintln!("{program}: {e}\n{usage}\nRun with --help for more.");
            std::process::exit(2);
        }
    }
}

/// Installs the logger every example uses: `simple_logger` at `level`,
/// overridden by `RUST_LOG` when it is set.
pub fn init_logger(level: log::LevelFilter) {
    simple_logger::SimpleLogger::new()
        .with_level(level)
        .env()
        .init()
        .expect("no other logger is installed");
}
