//! Golden Scheme programs: each `tests/scheme/NAME.scm` is run by the
//! `imp` binary and its output compared with `NAME.out`.

use std::path::Path;
use std::process::Command;

fn run_golden(dir: &Path, name: &str) -> Result<(), String> {
    let scm = dir.join(format!("{name}.scm"));
    let expected = std::fs::read_to_string(dir.join(format!("{name}.out")))
        .map_err(|e| format!("{name}.out: {e}"))?;
    let out = Command::new(env!("CARGO_BIN_EXE_imp"))
        .arg(&scm)
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout != expected || !out.status.success() {
        return Err(format!(
            "{name}: status {:?}\n--- expected\n{expected}\n--- got\n{stdout}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

#[test]
fn golden_scheme_programs_print_what_they_should() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scheme");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/scheme")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".scm"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 5, "golden programs found: {names:?}");
    let failures: Vec<String> = names
        .iter()
        .filter_map(|n| run_golden(&dir, n).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
