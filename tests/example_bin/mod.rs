//! Runs an example as the user does: as its own process. `cargo test
//! --test NAME` does not build the examples, so [`path`] builds the one it
//! is asked for (`cargo build --example NAME`, same profile and target dir,
//! once per test binary) and returns its executable. Include it with
//! `mod example_bin;`.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The executable of `examples/<name>.rs`, built if needed.
pub fn path(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Mutex::default).lock().unwrap();
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--example", name, "--message-format=json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Each artifact is a JSON line; the example's has `"executable":"..."`.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = "\"executable\":\"";
    let path = stdout
        .lines()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .filter_map(|line| {
            let start = line.find(key)? + key.len();
            let end = start + line[start..].find('"')?;
            Some(PathBuf::from(&line[start..end]))
        })
        .find(|path| path.file_stem().is_some_and(|stem| stem == name))
        .unwrap_or_else(|| panic!("no executable for example {name} in cargo's output:\n{stdout}"));
    built.insert(name.to_owned(), path.clone());
    path
}

/// Runs the example with `args` to the end and returns what it did.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(path(name))
        .args(args)
        .output()
        .expect("the example starts")
}

/// Checks the command-line contract every example keeps: `--help` prints
/// the usage and exits with 0; `bad` (a bad flag or value) prints a message
/// containing `message` and the usage line to stderr, and exits with 2.
pub fn assert_cli_contract(name: &str, bad: &[&str], message: &str) {
    let help = run(name, &["--help"]);
    let stdout = String::from_utf8_lossy(&help.stdout);
    assert_eq!(help.status.code(), Some(0), "{name} --help: {help:?}");
    assert!(
        stdout.starts_with(&format!("usage: {name}")),
        "{name} --help prints its usage:\n{stdout}"
    );

    let refused = run(name, bad);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{name} {bad:?}: {refused:?}");
    assert!(stderr.contains(message), "{name} {bad:?} says {message:?}:\n{stderr}");
    assert!(
        stderr.contains(&format!("usage: {name}")),
        "{name} {bad:?} shows the usage:\n{stderr}"
    );
    assert!(refused.stdout.is_empty(), "{name} {bad:?} did not start: {refused:?}");
}
