//! What the local-switch tests share (host and kernel tier): a `switchd -d -v` on a
//! configuration with local switches, a guard for links switchd creates, `ip -j link`
//! reading, and a bare OpenFlow 1.3 switch over TCP that needs nothing but a socket.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use regress::wait::wait_until;

/// How long the local-switch tests wait for switchd: the VM is slow, and slower still on
/// a busy machine (a first test in a freshly booted VM has missed 20 s before the kernel
/// probe was done).
const WAIT: Duration = Duration::from_secs(60);

/// A running `switchd -d -v` ([`regress::Daemon`]) whose checks are assertions that show
/// its log.
pub struct Daemon(regress::Daemon);

impl Daemon {
    /// Start with `switches` (switch blocks in switchd.conf syntax) after the usual lines.
    pub fn start(switches: &str) -> Daemon {
        let d = regress::Daemon::builder()
            .verbose()
            .config(switches)
            .ready_within(WAIT)
            .start()
            .expect("start switchd");
        Daemon(d)
    }

    /// Stop switchd (SIGTERM) and start it again on the same configuration file; its
    /// stderr goes on in the same file.
    pub fn restart(&mut self) {
        self.0.restart().expect("start switchd again");
    }

    /// The port switchd listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// The configuration file (to rewrite before a reload or a restart).
    pub fn conf(&self) -> &Path {
        self.0.conf()
    }

    pub fn ctl(&self, args: &[&str]) -> Output {
        self.0.ctl(args)
    }

    pub fn ctl_ok(&self, args: &[&str]) -> String {
        self.0.ctl_ok(args)
    }

    pub fn stderr(&self) -> String {
        self.0.log()
    }

    /// Wait (up to 60 s) until `cond` holds.
    pub fn wait_for(&self, what: &str, cond: impl FnMut() -> bool) {
        assert!(
            wait_until(WAIT, Duration::from_millis(50), cond),
            "{what}; switchd stderr:\n{}",
            self.stderr()
        );
    }

    pub fn wait_log(&self, line: &str) {
        self.wait_for(&format!("no log line \"{line}\""), || {
            self.stderr().lines().any(|l| l == line)
        });
    }
}

/// A link that switchd creates; deleted when the test ends, however it ends (the name is
/// a `regress::unique_name`, so `regress-sweep` finds it after a SIGKILL too).
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// `ip -j -d link show dev NAME`, one field of it as text (`None` if the link or the
/// field does not exist). Read with python3, which every test machine has.
pub fn link_field(name: &str, expr: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["-j", "-d", "link", "show", "dev", name])
        .output()
        .expect("ip");
    if !out.status.success() {
        return None;
    }
    let py = format!(
        "import json,sys\nd=json.load(sys.stdin)[0]\ntry:\n  v={expr}\nexcept (KeyError, IndexError):\n  v=None\nprint('' if v is None else v)"
    );
    let mut p = Command::new("python3")
        .args(["-c", &py])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    p.stdin
        .take()
        .expect("stdin")
        .write_all(&out.stdout)
        .expect("write");
    let o = p.wait_with_output().expect("python3");
    let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!v.is_empty()).then_some(v)
}

/// The rows of a `switchctl show` table, split on white space, header dropped.
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// A bare OpenFlow 1.3 switch over TCP: HELLO, the datapath id on FEATURES_REQUEST,
/// echo replies; everything else is read and dropped. Runs in a thread until dropped.
pub struct TinySwitch {
    stream: TcpStream,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TinySwitch {
    pub fn connect(port: u16, dpid: u64) -> TinySwitch {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).expect("hello");
        let mut r = s.try_clone().expect("clone");
        let thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = match r.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while buf.len() >= 8 {
                    let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
                    if len < 8 || buf.len() < len {
                        break;
                    }
                    let msg: Vec<u8> = buf.drain(..len).collect();
                    let xid = [msg[4], msg[5], msg[6], msg[7]];
                    let reply = match msg[1] {
                        // FEATURES_REQUEST -> FEATURES_REPLY
                        5 => {
                            let mut m = vec![4, 6, 0, 32];
                            m.extend_from_slice(&xid);
                            m.extend_from_slice(&dpid.to_be_bytes());
                            m.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                            Some(m)
                        }
                        // ECHO_REQUEST -> ECHO_REPLY with the same data
                        2 => {
                            let mut m = msg.clone();
                            m[1] = 3;
                            Some(m)
                        }
                        _ => None,
                    };
                    if let Some(m) = reply {
                        if r.write_all(&m).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        TinySwitch {
            stream: s,
            thread: Some(thread),
        }
    }
}

impl Drop for TinySwitch {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
