//! The engine (`src/engine/`) imports nothing from the public face: every
//! `crate::` path in its code names `crate::engine`. Doc comments may link
//! to the face; code may not use it.

use std::fs;
use std::path::Path;

/// Every `crate::<module>` path in `source`'s code lines (doc comments and
/// comments skipped) whose module is not `engine`, with its line number.
fn face_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let module: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if module != "engine" {
                found.push((number + 1, module));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn the_engine_imports_nothing_from_the_public_face() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut files = 0;
    let mut offences = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files += 1;
            let source = fs::read_to_string(&path).unwrap();
            for (line, module) in face_paths(&source) {
                offences.push(format!("{}:{line}: crate::{module}", path.display()));
            }
        }
    }
    assert!(files >= 5, "expected the engine's modules in {}", dir.display());
    assert!(
        offences.is_empty(),
        "the engine reaches into the face:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_catches_a_face_import_and_ignores_docs_and_engine_paths() {
    let source = "\
//! See [`TaskPool`](crate::TaskPool).
use crate::engine::task::TaskId;
use crate::handle::TaskHandle; // a face import
    /// [`x`](crate::Fallible)
    let x = crate::engine::util::lock(&m); let y = crate::daemon::f();
";
    let found = face_paths(source);
    assert_eq!(found, vec![(3, "handle".to_owned()), (5, "daemon".to_owned())]);
}
