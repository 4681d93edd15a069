//! Host tier: switchd's process model, with real processes. Each test starts its own
//! `switchd -d` on a temporary configuration (a free port on 127.0.0.1, a control socket and
//! a chroot directory in a temporary directory), drives it with `switchctl`, and looks at
//! the processes through /proc. The daemon is a `regress::Daemon`, so it is stopped even
//! when a test panics; its children die with it (PR_SET_PDEATHSIG).

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use regress::daemon::{connect, eval_json, output_text as text, Daemon};
use regress::free_tcp_port;
use regress::procfs::{alive, cmdline, status_field};
use regress::wait::{wait_for, wait_until};
use regress::workspace::bin;

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
    let d = Daemon::start().expect("start switchd");
    let parent = d.pid();
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
    let chroot = std::fs::canonicalize(d.chroot()).expect("canonical chroot");
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
    let d = Daemon::start().expect("start switchd");
    let out = d.ctl(&["show", "summary"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(&format!("127.0.0.1:{}", d.port())), "{s}");
    assert!(s.contains("datapath:") && s.contains("running"), "{s}");
    assert!(s.contains(&d.conf().display().to_string()), "{s}");

    assert_eq!(
        d.ctl_json(&["-j", "show", "summary"], "d['version']"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        d.ctl_json(&["-j", "show", "summary"], "d['pid']"),
        d.pid().to_string()
    );
    assert_eq!(d.connections(d.port()), Some(0));

    let out = d.ctl(&["show", "flows"]);
    assert!(out.status.success(), "{}", text(&out));
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(header.starts_with("switch  table  priority"), "{header}");
    let out = d.ctl(&["-j", "show", "macs"]);
    assert_eq!(eval_json(&out.stdout, "d['rows']"), "[]");
    assert_eq!(eval_json(&out.stdout, "d['columns'][2]"), "\"mac\"");

    let out = d.ctl(&["show", "nonsense"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command"));

    // Someone outside the socket's group is told why, in a sentence.
    let out = d.switchctl().run_as(65534, 65534, &["show", "summary"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permission denied (are you root or in group root?)"),
        "{err}"
    );
}

#[test]
fn connection_survives_reload_with_unchanged_config() {
    let d = Daemon::start().expect("start switchd");
    let mut s = connect(d.port()).expect("connect");
    d.wait_connections(d.port(), 1);
    let before = d.children();
    let out = d.ctl(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(still_open(&mut s), "connection closed by reload");
    assert_eq!(d.connections(d.port()), Some(1));
    assert_eq!(d.children(), before, "children restarted");

    // SIGHUP does the same.
    d.signal(Signal::SIGHUP).expect("SIGHUP");
    std::thread::sleep(Duration::from_millis(200));
    assert!(still_open(&mut s), "connection closed by SIGHUP");
    assert_eq!(d.connections(d.port()), Some(1));
    assert!(d.log().contains("received SIGHUP"), "{}", d.log());
}

#[test]
fn broken_config_reload_is_rejected_with_file_line() {
    let d = Daemon::start().expect("start switchd");
    let good = std::fs::read_to_string(d.conf()).expect("config");
    d.write_config(&format!(
        "{good}this is not a statement\nlisten on 300.1.2.3 port 1\n"
    ));
    let out = d.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let conf = d.conf().display().to_string();
    assert!(err.contains(&format!("{conf}:5:")), "{err}");
    assert!(err.contains(&format!("{conf}:6:")), "{err}");
    // The daemon logged them too, and still serves the old configuration.
    assert!(d.log().contains(&format!("{conf}:5:")), "{}", d.log());
    connect(d.port()).expect("old listener still accepts");
    assert_eq!(d.connections(d.port()), Some(0));
}

#[test]
fn changed_listen_port_moves_listener_without_restarting_children() {
    let d = Daemon::start().expect("start switchd");
    let mut kept = connect(d.port()).expect("connect");
    d.wait_connections(d.port(), 1);
    let before = d.children();
    let new_port = free_tcp_port().expect("free port");
    let text_new = d.config().clone().with_port(new_port).text();
    d.write_config(&text_new);
    let out = d.ctl(&["reload"]);
    assert!(out.status.success(), "{}", text(&out));
    connect(new_port).expect("new port accepts");
    let err = connect(d.port()).expect_err("old port still accepts");
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
        let mut d = Daemon::start().expect("start switchd");
        let victim = d.child(role);
        let mut pids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
        pids.push(d.pid());
        kill(Pid::from_raw(victim as i32), Signal::SIGKILL).expect("kill");
        let status = d
            .wait_exit(Duration::from_secs(1))
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
        let err = d.log();
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
    let mut d = Daemon::start().expect("start switchd");
    let mut pids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
    assert_eq!(pids.len(), 3);
    pids.push(d.pid());
    d.signal(Signal::SIGTERM).expect("SIGTERM");
    let status = d
        .wait_exit(Duration::from_secs(2))
        .expect("switchd did not exit after SIGTERM");
    assert!(status.success(), "{status}; stderr:\n{}", d.log());
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "processes left: {left:?}");
    assert!(!d.socket().exists(), "control socket left behind");
    assert!(!d.log().contains("lost"), "{}", d.log());
}

#[test]
fn monitor_streams_connections_and_reloads() {
    let d = Daemon::start().expect("start switchd");
    let monitor = d.monitor().expect("switchctl monitor");
    let s = connect(d.port()).expect("connect");
    d.wait_connections(d.port(), 1);
    drop(s);
    d.wait_connections(d.port(), 0);
    assert!(d.ctl(&["reload"]).status.success());
    let lines = monitor.wait_lines(3, Duration::from_secs(5));
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

#[test]
fn without_d_it_daemonizes_and_stops_on_sigterm() {
    let p = Daemon::builder().prepare().expect("prepare switchd");
    let st = Command::new(bin("switchd"))
        .arg("-f")
        .arg(p.conf())
        .stdin(Stdio::null())
        .status()
        .expect("switchd");
    assert!(
        st.success(),
        "the starting process exits 0 once the daemon runs"
    );
    // The daemon's pid is the parent pid that show summary reports.
    let pid = wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
        let out = p.switchctl().run(&["-j", "show", "summary"]);
        out.status
            .success()
            .then(|| eval_json(&out.stdout, "d['pid']"))
    })
    .expect("daemon never answered")
    .parse::<u32>()
    .expect("pid");
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
    assert!(
        wait_until(
            Duration::from_secs(2),
            Duration::from_millis(20),
            || !alive(pid)
        ),
        "daemon did not stop on SIGTERM"
    );
    assert!(!p.config().socket.exists(), "control socket left behind");
}

#[test]
fn children_die_with_the_parent() {
    let mut d = Daemon::start().expect("start switchd");
    let kids: Vec<u32> = d.children().into_iter().map(|(_, p)| p).collect();
    assert_eq!(kids.len(), 3);
    d.signal(Signal::SIGKILL).expect("SIGKILL parent");
    d.wait_exit(Duration::from_secs(1)).expect("parent reaped");
    let left = || -> Vec<u32> { kids.iter().copied().filter(|p| alive(*p)).collect() };
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(20), || left()
            .is_empty()),
        "children outlived their parent: {:?}",
        left()
    );
}

#[test]
fn control_socket_is_0660_and_open_to_its_group() {
    use std::os::unix::fs::MetadataExt;
    // nogroup (65534) is nobody's primary group on Debian.
    let d = Daemon::builder()
        .socket_group("nogroup")
        .start()
        .expect("start switchd");
    let md = std::fs::metadata(d.socket()).expect("socket");
    assert_eq!(md.mode() & 0o7777, 0o660);
    assert_eq!((md.uid(), md.gid()), (0, 65534));
    let as_nobody = |gid: u32| d.switchctl().run_as(65534, gid, &["show", "summary"]);
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
