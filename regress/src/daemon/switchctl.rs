//! Running `switchctl` and reading what it prints.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::proc::Proc;
use crate::wait::wait_for;
use crate::workspace::{bin, TempDir};

/// `switchctl -s SOCKET`, for a daemon's control socket.
#[derive(Debug, Clone)]
pub struct Switchctl {
    socket: PathBuf,
}

impl Switchctl {
    pub fn new(socket: &Path) -> Switchctl {
        Switchctl {
            socket: socket.to_path_buf(),
        }
    }

    /// A `Command` for `switchctl -s SOCKET`, to add arguments and settings to (another
    /// user, another directory).
    pub fn command(&self) -> Command {
        let mut c = Command::new(bin("switchctl"));
        c.arg("-s").arg(&self.socket);
        c
    }

    /// `switchctl -s SOCKET ARGS...`; its output, whatever its exit status.
    ///
    /// # Panics
    /// If switchctl cannot be started.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run switchctl: {e}"))
    }

    /// `switchctl -s SOCKET ARGS...` as another user (`uid`, `gid`, no supplementary
    /// groups); its output, whatever its exit status.
    ///
    /// It runs from a copy in a directory of its own (mode 0755, removed on return): the
    /// built binary may be where that user cannot reach it, as in a clone made by
    /// `mktemp -d` (mode 0700), where exec as `nobody` fails with EACCES.
    ///
    /// # Panics
    /// If the copy cannot be made or switchctl cannot be started.
    pub fn run_as(&self, uid: u32, gid: u32, args: &[&str]) -> Output {
        let dir = TempDir::new("swt-switchctl");
        let exe = dir.0.join("switchctl");
        let copied = std::fs::set_permissions(&dir.0, Permissions::from_mode(0o755))
            .and_then(|()| std::fs::copy(bin("switchctl"), &exe))
            .and_then(|_| std::fs::set_permissions(&exe, Permissions::from_mode(0o755)));
        if let Err(e) = copied {
            panic!("copy switchctl into {}: {e}", dir.0.display());
        }
        let mut cmd = Command::new(&exe);
        cmd.arg("-s").arg(&self.socket).args(args).uid(uid).gid(gid);
        // Another test thread that forks while the copy is open for writing holds the
        // descriptor until it execs: exec then fails with ETXTBSY for that moment.
        let mut tries = 0;
        loop {
            match cmd.output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => return r.unwrap_or_else(|e| panic!("run switchctl as {uid}:{gid}: {e}")),
            }
        }
    }

    /// Start `switchctl monitor` with its output going into `file`.
    pub fn monitor(&self, file: &Path) -> std::io::Result<Monitor> {
        let out = std::fs::File::create(file)?;
        let proc = Proc::spawn(
            "switchctl monitor",
            self.command().arg("monitor").stdout(out),
        )?;
        Ok(Monitor {
            proc,
            file: file.to_path_buf(),
        })
    }
}

/// A running `switchctl monitor` writing its events into a file; stopped when dropped.
#[derive(Debug)]
pub struct Monitor {
    proc: Proc,
    file: PathBuf,
}

impl Monitor {
    /// Everything the monitor printed so far.
    pub fn events(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap_or_default()
    }

    /// Wait up to `timeout` for `n` complete lines; the first `n` (fewer if they did not
    /// come).
    pub fn wait_lines(&self, n: usize, timeout: Duration) -> Vec<String> {
        let lines = || -> Vec<String> {
            self.events()
                .split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .take(n)
                .map(|l| l.trim_end_matches('\n').to_string())
                .collect()
        };
        wait_for(timeout, Duration::from_millis(50), || {
            let l = lines();
            (l.len() >= n).then_some(l)
        })
        .unwrap_or_else(lines)
    }

    /// Stop the monitor (what it printed stays readable).
    pub fn stop(&mut self) {
        self.proc.stop();
    }
}

/// A command's exit status, stdout and stderr, for a failure message.
pub fn output_text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Parse `doc` as JSON and print the Python expression `expr` over it (`d` is the
/// document) as JSON text, e.g. `eval_json(out, "d['rows']")` gives `[]`. The regress
/// crate has no JSON library, and python3 is on every machine that runs these tests.
///
/// # Panics
/// If `doc` is not JSON or `expr` fails, with python's complaint and the document.
pub fn eval_json(doc: &[u8], expr: &str) -> String {
    let mut py = Command::new("python3")
        .args([
            "-c",
            "import json, sys; d = json.load(sys.stdin); print(json.dumps(eval(sys.argv[1])))",
            expr,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run python3: {e}"));
    if let Some(mut stdin) = py.stdin.take() {
        // A write error means python exited early; its status and stderr say why.
        let _ = stdin.write_all(doc);
    }
    let out = py
        .wait_with_output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "not JSON ({}): {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(doc)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The `rows` of a `switchctl -j show` table (a list of lists of strings), parsed by hand:
/// the cells are plain strings, and no JSON library is needed for that.
pub fn parse_rows(json: &str) -> Vec<Vec<String>> {
    let Some(start) = json.find("\"rows\"") else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut row: Option<Vec<String>> = None;
    let mut depth = 0;
    let mut chars = json[start + 6..].chars();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                depth += 1;
                if depth == 2 {
                    row = Some(Vec::new());
                }
            }
            ']' => {
                if depth == 2 {
                    rows.extend(row.take());
                }
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            '"' if depth == 2 => {
                let mut cell = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => cell.extend(chars.next()),
                        '"' => break,
                        c => cell.push(c),
                    }
                }
                if let Some(r) = row.as_mut() {
                    r.push(cell);
                }
            }
            _ => {}
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_table() {
        let doc = r#"{"response": "table", "columns": ["switch", "port"],
            "rows": [["00000000000000a1", "1"], ["x\"y", "2"]], "after": [["no"]]}"#;
        assert_eq!(
            parse_rows(doc),
            [vec!["00000000000000a1", "1"], vec!["x\"y", "2"]]
        );
        assert!(parse_rows(r#"{"rows": []}"#).is_empty());
        assert!(parse_rows("{}").is_empty());
    }

    #[test]
    fn json_expressions() {
        let doc = br#"{"rows": [], "columns": ["a", "b", "mac"]}"#;
        assert_eq!(eval_json(doc, "d['rows']"), "[]");
        assert_eq!(eval_json(doc, "d['columns'][2]"), "\"mac\"");
    }
}
