//! Host tier: switchd's process model, with real processes. Each test starts its own
//! `switchd -d` on a temporary configuration (a free port on 127.0.0.1, a control socket and
//! a chroot directory in a temporary directory), drives it with `switchctl`, and looks at
//! the processes through /proc. The daemon is a `regress::Proc`, so it is stopped even when
//! a test panics; its children die with it (PR_SET_PDEATHSIG).

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use regress::workspace::{bin, ensure_user, TempDir};
use regress::{free_tcp_port, Proc};

const USER: &str = "_switchd";

/// A running `switchd -d` and everything it was given.
struct Daemon {
    proc: Proc,
    conf: PathBuf,
    sock: PathBuf,
    chroot: PathBuf,
    stderr: PathBuf,
    port: u16,
    // Last, so that the daemon is stopped before its directory goes.
    _dir: TempDir,
}

fn config_text(port: u16, sock: &Path, chroot: &Path) -> String {
    format!(
        "listen on 127.0.0.1 port {port}\nsocket \"{}\"\nuser \"{USER}\"\nchroot \"{}\"\n",
        sock.display(),
        chroot.display()
    )
}

impl Daemon {
    fn start() -> Daemon {
        Daemon::start_with(None)
    }

    /// Start with the control socket owned by `group`.
    fn start_with(group: Option<&str>) -> Daemon {
        ensure_user(USER);
        let dir = TempDir::new("switchd-test");
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).expect("mkdir chroot");
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod chroot");
        let sock = dir.0.join("switchd.sock");
        let conf = dir.0.join("switchd.conf");
        let stderr = dir.0.join("stderr");
        let port = free_tcp_port().expect("free port");
        let mut text = config_text(port, &sock, &chroot);
        if let Some(g) = group {
            text = text.replace(".sock\"\n", &format!(".sock\" group \"{g}\"\n"));
        }
        std::fs::write(&conf, text).expect("write config");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let proc = Proc::spawn(
            "switchd",
            Command::new(bin("switchd"))
                .arg("-d")
                .arg("-f")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err),
        )
        .expect("start switchd");
        let d = Daemon {
            proc,
            conf,
            sock,
            chroot,
            stderr,
            port,
            _dir: dir,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.sock.exists() && self.ctl(&["show", "summary"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "switchd did not come up; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run switchctl")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn parent_pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The children, as (title, pid), from /proc.
    fn children(&self) -> Vec<(String, u32)> {
        let parent = self.parent_pid();
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            let ppid: u32 = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if ppid == parent {
                out.push((cmdline(pid), pid));
            }
        }
        out.sort();
        out
    }

    fn child(&self, role: &str) -> u32 {
        let title = format!("switchd: {role}");
        self.children()
            .into_iter()
            .find(|(t, _)| *t == title)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no {title} process; stderr:\n{}", self.stderr()))
    }

    /// Evaluate a Python expression over `switchctl -j show summary` (`d` is the document).
    fn summary_json(&self, expr: &str) -> String {
        let out = self.ctl(&["-j", "show", "summary"]);
        assert!(out.status.success(), "show summary: {}", text(&out));
        json(&out.stdout, expr)
    }

    /// Connections on the listener on `port`, as `show summary -j` reports them.
    fn connections(&self, port: u16) -> Option<u64> {
        let n = self.summary_json(&format!(
            "[l['connections'] for l in d['listeners'] if l['address'] == '127.0.0.1:{port}']"
        ));
        n.trim_matches(|c| c == '[' || c == ']').parse().ok()
    }

    fn wait_connections(&self, port: u16, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.connections(port) != Some(n) {
            assert!(
                Instant::now() < deadline,
                "listener {port} never had {n} connections: {}",
                self.summary_json("d")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn write_config(&self, text: &str) {
        std::fs::write(&self.conf, text).expect("write config");
    }
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Parse `doc` as JSON (it must be) and print `expr` of it as JSON: the regress crate has
/// no JSON library, and python3 is on every machine that runs these tests.
fn json(doc: &[u8], expr: &str) -> String {
    use std::io::Write;
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
        .expect("python3");
    py.stdin
        .take()
        .expect("stdin")
        .write_all(doc)
        .expect("write");
    let out = py.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "not JSON ({}): {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(doc)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn alive(pid: u32) -> bool {
    // A zombie has no cmdline; a reaped process has no /proc entry.
    Path::new(&format!("/proc/{pid}")).exists() && !cmdline(pid).is_empty()
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(2),
    )
}

/// The peer has not closed `s`: a read times out instead of returning end of file.
fn still_open(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Err(e) => return matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            // End of file means closed; data (switchd's OpenFlow HELLO and handshake) is
            // read past, since a close may follow it.
            Ok(0) => return false,
            Ok(_) => {}
        }
    }
}

#[test]
fn children_are_unprivileged_chrooted_and_titled() {
    let d = Daemon::start();
    let parent = d.parent_pid();
    assert_eq!(cmdline(parent), "switchd: parent");
    assert_eq!(
        status_field(parent, "Uid").split_whitespace().next(),
        Some("0")
    );

    let kids = d.children();
    let titles: Vec<&str> = kids.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        ["switchd: control", "switchd: datapath", "switchd: ofp"],
        "children of {parent}"
    );
    let chroot = std::fs::canonicalize(&d.chroot).expect("canonical chroot");
    for (title, pid) in &kids {
        let uids = status_field(*pid, "Uid");
        assert!(
            uids.split_whitespace().all(|u| u != "0"),
            "{title} runs with uid {uids}"
        );
        let want_caps = if title == "switchd: datapath" {
            "0000000000001000" // CAP_NET_ADMIN only
        } else {
            "0000000000000000"
        };
        for set in ["CapEff", "CapPrm"] {
            assert_eq!(status_field(*pid, set), want_caps, "{title} {set}");
        }
        for set in ["CapInh", "CapAmb"] {
            assert_eq!(status_field(*pid, set), "0000000000000000", "{title} {set}");
        }
        assert_eq!(
            status_field(*pid, "NoNewPrivs"),
            "1",
            "{title} no_new_privs"
        );
        let root = std::fs::read_link(format!("/proc/{pid}/root")).expect("root link");
        assert_eq!(root, chroot, "{title} root");
        // Only 0-2, the parent channel and what the process opened itself: nothing
        // inherited by accident. Every descriptor above 2 is a socket or a tokio handle.
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .flatten()
        {
            let n: u32 = fd.file_name().to_string_lossy().parse().unwrap_or(0);
            let target = std::fs::read_link(fd.path()).unwrap_or_default();
            let target = target.to_string_lossy();
            if n > 2 {
                assert!(
                    target.starts_with("socket:") || target.starts_with("anon_inode:"),
                    "{title} holds fd {n} -> {target}"
                );
            }
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
        assert!(environ.is_empty(), "{title} has an environment");
    }
}

#[test]
fn switchctl_shows_summary_tables_and_json() {
    let d = Daemon::start();
    let out = d.ctl(&["show", "summary"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(&format!("127.0.0.1:{}", d.port)), "{s}");
    assert!(s.contains("datapath:") && s.contains("running"), "{s}");
    assert!(s.contains(&d.conf.display().to_string()), "{s}");

    assert_eq!(
        d.summary_json("d['version']"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(d.summary_json("d['pid']"), d.parent_pid().to_string());
    assert_eq!(d.connections(d.port), Some(0));

    let out = d.ctl(&["show", "flows"]);
    assert!(out.status.success(), "{}", text(&out));
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(header.starts_with("switch  table  priority"), "{header}");
    let out = d.ctl(&["-j", "show", "macs"]);
    assert_eq!(json(&out.stdout, "d['rows']"), "[]");
    assert_eq!(json(&out.stdout, "d['columns'][2]"), "\"mac\"");

    let out = d.ctl(&["show", "nonsense"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command"));

    // Someone outside the socket's group is told why, in a sentence.
    let out = Command::new(bin("switchctl"))
        .arg("-s")
        .arg(&d.sock)
        .args(["show", "summary"])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("switchctl as nobody");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permission denied (are you root or in group root?)"),
        "{err}"
    );
}

#[test]
fn connection_survives_reload_with_unchanged_config() {
    let d = Daemon::start();
    let mut s = connect(d.port).expect("connect");
    d.wait_connections(d.port, 1);
    let before = d.children();
    let out = d.ctl(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(still_open(&mut s), "connection closed by reload");
    assert_eq!(d.connections(d.port), Some(1));
    assert_eq!(d.children(), before, "children restarted");

    // SIGHUP does the same.
    d.proc.signal(Signal::SIGHUP).expect("SIGHUP");
    std::thread::sleep(Duration::from_millis(200));
    assert!(still_open(&mut s), "connection closed by SIGHUP");
    assert_eq!(d.connections(d.port), Some(1));
    assert!(d.stderr().contains("received SIGHUP"), "{}", d.stderr());
}

#[test]
fn broken_config_reload_is_rejected_with_file_line() {
    let d = Daemon::start();
    let good = std::fs::read_to_string(&d.conf).expect("config");
    d.write_config(&format!(
        "{good}this is not a statement\nlisten on 300.1.2.3 port 1\n"
    ));
    let out = d.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let conf = d.conf.display().to_string();
    assert!(err.contains(&format!("{conf}:5:")), "{err}");
    assert!(err.contains(&format!("{conf}:6:")), "{err}");
    // The daemon logged them too, and still serves the old configuration.
    assert!(d.stderr().contains(&format!("{conf}:5:")), "{}", d.stderr());
    connect(d.port).expect("old listener still accepts");
    assert_eq!(d.connections(d.port), Some(0));
}

#[test]
fn changed_listen_port_moves_listener_without_restarting_children() {
    let d = Daemon::start();
    let mut kept = connect(d.port).expect("connect");
    d.wait_connections(d.port, 1);
    let before = d.children();
    let new_port = free_tcp_port().expect("free port");
    let text_new = config_text(new_port, &d.sock, &d.chroot);
    d.write_config(&text_new);
    let out = d.ctl(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    connect(new_port).expect("new port accepts");
    let err = connect(d.port).expect_err("old port still accepts");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(d.children(), before, "children restarted");
    // The connection that came in on the removed listener was closed with it.
    assert!(!still_open(&mut kept));

    // Two listeners, then back to one: the one that stays keeps its connection.
    let third = free_tcp_port().expect("free port");
    d.write_config(&format!("{text_new}listen on 127.0.0.1 port {third}\n"));
    assert!(d.ctl(&["reload"]).status.success());
    let mut stays = connect(new_port).expect("connect");
    d.wait_connections(new_port, 1);
    connect(third).expect("third port accepts");
    d.write_config(&text_new);
    assert!(d.ctl(&["reload"]).status.success());
    assert!(
        still_open(&mut stays),
        "connection on a kept listener dropped"
    );
    assert!(connect(third).is_err(), "removed port still accepts");
}

#[test]
fn sigkill_of_any_child_stops_the_daemon() {
    for role in ["control", "ofp", "datapath"] {
        let mut d = Daemon::start();
        let victim = d.child(role);
        let mut pids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
        pids.push(d.parent_pid());
        kill(Pid::from_raw(victim as i32), Signal::SIGKILL).expect("kill");
        let status = d
            .proc
            .wait_timeout(Duration::from_secs(1))
            .unwrap_or_else(|| panic!("parent still running 1 s after {role} was killed"));
        assert!(
            !status.success(),
            "exit status after losing {role}: {status}"
        );
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        assert!(
            left.is_empty(),
            "processes left after killing {role}: {left:?}"
        );
        let err = d.stderr();
        assert!(
            err.contains(&format!(
                "lost child: {role} (pid {victim}) terminated by signal 9"
            )),
            "{err}"
        );
    }
}

#[test]
fn sigterm_exits_cleanly() {
    let mut d = Daemon::start();
    let mut pids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
    assert_eq!(pids.len(), 3);
    pids.push(d.parent_pid());
    d.proc.signal(Signal::SIGTERM).expect("SIGTERM");
    let status = d
        .proc
        .wait_timeout(Duration::from_secs(2))
        .expect("switchd did not exit after SIGTERM");
    assert!(status.success(), "{status}; stderr:\n{}", d.stderr());
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "processes left: {left:?}");
    assert!(!d.sock.exists(), "control socket left behind");
    assert!(!d.stderr().contains("lost"), "{}", d.stderr());
}

#[test]
fn monitor_streams_connections_and_reloads() {
    use std::io::BufRead;
    let d = Daemon::start();
    let mut mon = Command::new(bin("switchctl"));
    mon.arg("-s")
        .arg(&d.sock)
        .arg("monitor")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = mon.spawn().expect("switchctl monitor");
    let stdout = child.stdout.take().expect("stdout");
    // Killed and reaped even if an assertion fails.
    let _guard = KillOnDrop(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The monitor is subscribed once the daemon has answered it; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let s = connect(d.port).expect("connect");
    d.wait_connections(d.port, 1);
    drop(s);
    d.wait_connections(d.port, 0);
    assert!(d.ctl(&["reload"]).status.success());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while lines.len() < 3 && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            lines.push(l);
        }
    }
    let want = [
        "connection opened: 127.0.0.1:",
        "connection closed: 127.0.0.1:",
        "reloaded ",
    ];
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, want) in lines.iter().zip(want) {
        // "YYYY-MM-DD HH:MM:SS.mmm event"
        let (stamp, event) = line.split_at(23);
        assert!(
            stamp.as_bytes()[4] == b'-' && stamp.as_bytes()[19] == b'.',
            "{line}"
        );
        assert!(event.trim_start().starts_with(want), "{line}");
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_d_it_daemonizes_and_stops_on_sigterm() {
    ensure_user(USER);
    let dir = TempDir::new("switchd-test");
    let chroot = dir.0.join("empty");
    std::fs::create_dir(&chroot).expect("mkdir");
    std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let sock = dir.0.join("switchd.sock");
    let conf = dir.0.join("switchd.conf");
    let port = free_tcp_port().expect("port");
    std::fs::write(&conf, config_text(port, &sock, &chroot)).expect("config");
    let st = Command::new(bin("switchd"))
        .arg("-f")
        .arg(&conf)
        .stdin(Stdio::null())
        .status()
        .expect("switchd");
    assert!(
        st.success(),
        "the starting process exits 0 once the daemon runs"
    );
    // The daemon's pid is the parent pid that show summary reports.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let out = Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&sock)
            .args(["-j", "show", "summary"])
            .output()
            .expect("switchctl");
        if out.status.success() {
            break json(&out.stdout, "d['pid']").parse::<u32>().expect("pid");
        }
        assert!(Instant::now() < deadline, "daemon never answered");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Stopped even if an assertion below fails.
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = kill(Pid::from_raw(self.0 as i32), Signal::SIGKILL);
        }
    }
    let _stop = Stop(pid);
    assert_eq!(cmdline(pid), "switchd: parent");
    // Daemonized: a session leader of its own, reparented away from us.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect(")") + 2..]
        .split_whitespace()
        .collect();
    assert_ne!(fields[1], std::process::id().to_string(), "ppid");
    assert_eq!(fields[3], pid.to_string(), "session id");
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(pid) {
        assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sock.exists(), "control socket left behind");
}

#[test]
fn children_die_with_the_parent() {
    let mut d = Daemon::start();
    let kids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
    assert_eq!(kids.len(), 3);
    d.proc.signal(Signal::SIGKILL).expect("SIGKILL parent");
    d.proc
        .wait_timeout(Duration::from_secs(1))
        .expect("parent reaped");
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left: Vec<u32> = kids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "children outlived their parent: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn control_socket_is_0660_and_open_to_its_group() {
    use std::os::unix::fs::MetadataExt;
    // nogroup (65534) is nobody's primary group on Debian.
    let d = Daemon::start_with(Some("nogroup"));
    let sock = d.sock.clone();
    let md = std::fs::metadata(&sock).expect("socket");
    assert_eq!(md.mode() & 0o7777, 0o660);
    assert_eq!((md.uid(), md.gid()), (0, 65534));
    let as_nobody = |gid: u32| {
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&sock)
            .args(["show", "summary"])
            .uid(65534)
            .gid(gid)
            .output()
            .expect("switchctl as nobody")
    };
    let out = as_nobody(65534);
    assert!(out.status.success(), "{}", text(&out));
    // Outside the group: refused, and told which group would do.
    let out = as_nobody(65533);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permission denied (are you root or in group nogroup?)"),
        "{err}"
    );
}
