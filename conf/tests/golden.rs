//! Golden tests, as OpenBSD's regress does them (`switchd -nv -f N.conf | diff - N.ok`).
//!
//! Every `tests/golden/NAME.conf` is loaded (with the `-D` defines of `NAME.defines`, one
//! `name=value` per line, if that file exists) and the result compared with either
//! `NAME.ok`, the canonical form it prints, or `NAME.err`, the errors exactly as
//! [`conf::Errors`] displays them. File names in errors are made relative to the golden
//! directory so the expectations do not depend on where the tree is checked out. Files that
//! cases include live in subdirectories and are not cases themselves.
//!
//! Every `.ok` output is also parsed again and must give an equal `Config`.
//!
//! To rewrite the expectations after an intended change, run
//! `UPDATE_GOLDEN=1 cargo test -p conf --test golden` and review the diff in git.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read_defines(path: &Path) -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            conf::parse_define(l).unwrap_or_else(|| panic!("{}: bad define {l:?}", path.display()))
        })
        .collect()
}

/// Runs one case: the expected file's extension and the text it should hold.
fn run(dir: &Path, conf_path: &Path) -> Result<(&'static str, String), String> {
    let defines = read_defines(&conf_path.with_extension("defines"));
    match conf::load(conf_path, &defines) {
        Ok(cfg) => {
            let text = cfg.to_string();
            match conf::parse_str("printed", &text, &[]) {
                Ok(again) if again == cfg => Ok(("ok", text)),
                Ok(again) => Err(format!(
                    "printed form parses to a different Config:\n{text}\n{again:#?}"
                )),
                Err(e) => Err(format!("printed form does not parse:\n{text}\n{e}")),
            }
        }
        Err(errors) => {
            let prefix = format!("{}/", dir.display());
            Ok(("err", format!("{errors}\n").replace(&prefix, "")))
        }
    }
}

/// A line diff (longest common subsequence), enough for small golden files.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, " {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "-{}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+{}", b[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn golden() {
    let dir = golden_dir();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "conf"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (ext, actual) = match run(&dir, case) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let (ok, err) = (case.with_extension("ok"), case.with_extension("err"));
        let (want, other) = if ext == "ok" { (ok, err) } else { (err, ok) };
        if update {
            fs::write(&want, &actual).expect("write expectation");
            let _ = fs::remove_file(&other);
            continue;
        }
        if other.exists() {
            failures.push(format!(
                "{name}: expected {} but got {ext}:\n{actual}",
                other.display()
            ));
            continue;
        }
        match fs::read_to_string(&want) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}: differs from {} (- expected, + actual):\n{}",
                want.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                diff(&expected, &actual)
            )),
            Err(_) => failures.push(format!("{name}: no .ok or .err file; got {ext}:\n{actual}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed (UPDATE_GOLDEN=1 rewrites them):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
