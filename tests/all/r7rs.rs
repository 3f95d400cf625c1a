//! The R7RS conformance suite (`tests/r7rs`): one file per section of the
//! report, each a list of checks; every file must pass every check. The
//! SRFI suite (`tests/srfi`) is the same, one file per SRFI.

use std::path::Path;
use std::process::Command;

#[test]
fn every_section_passes_every_check() {
    every_file_passes_every_check("r7rs");
}

#[test]
fn every_srfi_passes_every_check() {
    every_file_passes_every_check("srfi");
}

/// Run each `.scm` file of `tests/SUITE` but the checker.
fn every_file_passes_every_check(suite: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(suite);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/r7rs")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".scm") && n != "check.scm")
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no section files in {}", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_imp"))
            .arg(f)
            .current_dir(&dir)
            .output()
            .expect("run imp");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reported = stdout
            .lines()
            .any(|l| l.starts_with("checks: ") && l.ends_with(", failures: 0"));
        if !out.status.success() || !reported {
            failed.push(format!(
                "{f}: status {:?}\n{stdout}{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
