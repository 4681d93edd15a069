//! Host tier: switchd as the learning-switch controller of a private Open vSwitch bridge
//! (userspace datapath) with hosts in namespaces. Everything is a guard (`Proc`, `Ovs`,
//! `Lan`, `VethPair`), so it goes away even when a test panics.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use regress::net::LanSwitch;
use regress::workspace::{bin, ensure_user, TempDir};
use regress::{free_tcp_port, Lan, Ovs, Proc, VethPair};

const USER: &str = "_switchd";

/// A running `switchd -d` listening on 127.0.0.1:`port`.
struct Daemon {
    _proc: Proc,
    sock: PathBuf,
    stderr: PathBuf,
    _dir: TempDir,
}

impl Daemon {
    fn start(port: u16) -> Daemon {
        ensure_user(USER);
        let dir = TempDir::new("switchd-ovs-test");
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).expect("mkdir chroot");
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod chroot");
        let sock = dir.0.join("switchd.sock");
        let conf = dir.0.join("switchd.conf");
        let stderr = dir.0.join("stderr");
        std::fs::write(
            &conf,
            format!(
                "listen on 127.0.0.1 port {port}\nsocket \"{}\"\nuser \"{USER}\"\nchroot \"{}\"\n",
                sock.display(),
                chroot.display()
            ),
        )
        .expect("write config");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let proc = Proc::spawn(
            "switchd",
            Command::new(bin("switchd"))
                .args(["-d", "-v", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err),
        )
        .expect("start switchd");
        let d = Daemon {
            _proc: proc,
            sock,
            stderr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(d.sock.exists() && d.ctl(&["show", "summary"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "switchd did not come up; stderr:\n{}",
                d.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run switchctl")
    }

    fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "switchctl {args:?}: {}\nswitchd stderr:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.stderr()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// OVS bridge + hosts + switchd, wired together.
struct Rig {
    daemon: Option<Daemon>,
    lan: Lan,
    ovs: Ovs,
    /// An ovs-vswitchd restarted by the test; dropped after `ovs`, whose cleanup needs a
    /// running vswitchd to delete its bridges.
    restarted: Option<Proc>,
    br: String,
    /// The bridge's `protocols`, which its management socket speaks too.
    protocol: String,
    port: u16,
    dpid: String,
}

impl Rig {
    fn new(hosts: usize, protocol: &str) -> Rig {
        let port = free_tcp_port().expect("free port");
        let daemon = Daemon::start(port);
        let ovs = Ovs::start().expect("start Open vSwitch");
        let br = ovs.add_bridge().expect("add bridge");
        let lan = Lan::new(hosts, LanSwitch::PortsOnly).expect("hosts");
        for (i, h) in lan.hosts.iter().enumerate() {
            ovs.add_port(&br, &h.port, (i + 1) as u16)
                .expect("add port");
        }
        ovs.vsctl(&[
            "set",
            "bridge",
            &br,
            &format!("protocols={protocol}"),
            "fail_mode=secure",
        ])
        .expect("set bridge");
        ovs.vsctl(&["set-controller", &br, &format!("tcp:127.0.0.1:{port}")])
            .expect("set-controller");
        // Reconnect quickly after switchd restarts; no in-band hidden flows.
        ovs.vsctl(&[
            "set",
            "controller",
            &br,
            "max_backoff=1000",
            "connection_mode=out-of-band",
        ])
        .expect("set controller");
        // ovs-vswitchd fills in datapath_id once it has configured the bridge.
        let deadline = Instant::now() + Duration::from_secs(10);
        let dpid = loop {
            let id = ovs
                .vsctl(&["get", "bridge", &br, "datapath_id"])
                .expect("datapath_id")
                .trim()
                .trim_matches('"')
                .to_string();
            if id.len() == 16 {
                break id;
            }
            assert!(Instant::now() < deadline, "bridge {br} has no datapath id");
            std::thread::sleep(Duration::from_millis(50));
        };
        let rig = Rig {
            daemon: Some(daemon),
            lan,
            ovs,
            restarted: None,
            br,
            protocol: protocol.to_string(),
            port,
            dpid,
        };
        rig.wait_switch();
        rig
    }

    fn d(&self) -> &Daemon {
        self.daemon.as_ref().expect("switchd is running")
    }

    /// Wait until switchd shows our bridge as connected.
    fn wait_switch(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.d().ctl(&["show", "switches"]);
            if String::from_utf8_lossy(&out.stdout).contains(&self.dpid) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "bridge {} never connected to switchd; switchd stderr:\n{}",
                self.dpid,
                self.d().stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every host pings every other (a few tries each: ARP and learning go first).
    fn all_pairs_ping(&self, tries: u32) {
        let hosts = &self.lan.hosts;
        for a in hosts {
            for b in hosts {
                if a.ip != b.ip {
                    assert!(
                        a.ns.ping_eventually(b.ip, tries),
                        "{} cannot ping {}\nflows:\n{}\nswitchd stderr:\n{}",
                        a.ip,
                        b.ip,
                        self.dump_flows(),
                        self.d().stderr()
                    );
                }
            }
        }
    }

    fn dump_flows(&self) -> String {
        self.ovs
            .ofctl(&["-O", &self.protocol, "dump-flows", &self.br])
            .unwrap_or_else(|e| format!("(dump-flows failed: {e})"))
    }

    /// Stop ovs-vswitchd and start it again on the same database.
    fn restart_ovs(&mut self) {
        self.ovs.appctl(&["exit"]).expect("ovs-appctl exit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ovs.is_running() {
            assert!(Instant::now() < deadline, "ovs-vswitchd did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
        let d = self.ovs.dir().display().to_string();
        let ctl = self.ovs.dir().join("ovs-vswitchd.ctl");
        let _ = std::fs::remove_file(&ctl);
        let mut cmd = Command::new("ovs-vswitchd");
        cmd.arg(format!("unix:{d}/db.sock"))
            .arg(format!("--unixctl={d}/ovs-vswitchd.ctl"))
            .arg(format!("--log-file={d}/ovs-vswitchd.log"))
            .arg("--no-chdir")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for k in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
            cmd.env(k, &d);
        }
        self.restarted = Some(Proc::spawn("ovs-vswitchd", &mut cmd).expect("restart vswitchd"));
        while !ctl.exists() {
            assert!(
                Instant::now() < deadline + Duration::from_secs(10),
                "no vswitchd"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `switchctl -j show TABLE` rows.
    fn rows(&self, table: &str) -> Vec<Vec<String>> {
        let out = self.d().ctl_ok(&["-j", "show", table]);
        parse_rows(&out)
    }
}

/// The `rows` of a `switchctl -j show` table (a list of lists of strings), parsed by hand:
/// the regress crate has no JSON library and the cells are plain.
fn parse_rows(json: &str) -> Vec<Vec<String>> {
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

fn learning_on(protocol: &str) {
    let rig = Rig::new(4, protocol);
    rig.all_pairs_ping(5);

    // The learned flows: priority 1 over the table-miss, matching in_port and both MACs.
    let flows = rig.dump_flows();
    let learned: Vec<&str> = flows
        .lines()
        .filter(|l| l.contains("priority=1,") && l.contains("dl_src=") && l.contains("dl_dst="))
        .collect();
    assert!(learned.len() >= 3, "too few learned flows:\n{flows}");
    if protocol == "OpenFlow13" {
        assert!(
            flows.contains("priority=0 actions=CONTROLLER:65535"),
            "no table-miss:\n{flows}"
        );
    }

    // The MAC table: every host on the port it is plugged into.
    let macs = rig.rows("macs");
    for (i, h) in rig.lan.hosts.iter().enumerate() {
        assert!(
            macs.iter()
                .any(|r| r[0] == rig.dpid && r[1] == (i + 1).to_string() && r[2] == h.mac),
            "{} not on port {}: {macs:?}",
            h.mac,
            i + 1
        );
    }
    let switches = rig.rows("switches");
    let version = if protocol == "OpenFlow13" {
        "1.3"
    } else {
        "1.0"
    };
    assert!(
        switches
            .iter()
            .any(|r| r[0] == rig.dpid && r[2] == version && r[3] == "5"),
        "{switches:?}"
    );
    let ports = rig.rows("ports");
    for h in &rig.lan.hosts {
        assert!(
            ports.iter().any(|r| r[2] == h.port && r[4] == "up"),
            "{ports:?}"
        );
    }
    let shown = rig.rows("flows");
    assert!(
        shown.iter().filter(|r| r[2] == "1").count() >= 3,
        "show flows: {shown:?}"
    );
    let text = rig.d().ctl_ok(&["show", "flows", &rig.dpid]);
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header[..4],
        ["switch", "table", "priority", "cookie"],
        "{text}"
    );
    assert!(text.contains("dl_src="), "{text}");
}

#[test]
fn ovs13_all_pairs_learn_and_show_in_switchctl() {
    learning_on("OpenFlow13");
}

#[test]
fn ovs10_all_pairs_learn_and_show_in_switchctl() {
    learning_on("OpenFlow10");
}

#[test]
fn a_host_that_moves_to_another_port_is_reachable_again() {
    let rig = Rig::new(3, "OpenFlow13");
    rig.all_pairs_ping(5);
    let moved = &rig.lan.hosts[0];
    let events = rig.d()._dir.0.join("monitor");
    let _monitor = Proc::spawn(
        "switchctl monitor",
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&rig.d().sock)
            .arg("monitor")
            .stdout(std::fs::File::create(&events).expect("monitor file")),
    )
    .expect("switchctl monitor");
    std::thread::sleep(Duration::from_millis(300));
    // Unplug host 0 from port 1 and plug it, same MAC and address, into port 10.
    rig.ovs
        .vsctl(&["del-port", &rig.br, &moved.port])
        .expect("del-port");
    let veth = VethPair::new(Some(&moved.ns), None).expect("new veth");
    let ip = format!("{}/24", moved.ip);
    moved
        .ns
        .ip(&["link", "set", "eth0", "down"])
        .expect("eth0 down");
    moved
        .ns
        .ip(&["addr", "flush", "dev", "eth0"])
        .expect("flush");
    moved
        .ns
        .ip(&["link", "set", &veth.a, "down"])
        .expect("down");
    moved
        .ns
        .ip(&["link", "set", &veth.a, "address", &moved.mac])
        .expect("same MAC");
    moved
        .ns
        .ip(&["addr", "add", &ip, "dev", &veth.a])
        .expect("addr");
    moved.ns.ip(&["link", "set", &veth.a, "up"]).expect("up");
    rig.ovs.add_port(&rig.br, &veth.b, 10).expect("add port 10");
    for other in &rig.lan.hosts[1..] {
        assert!(
            moved.ns.ping_eventually(other.ip, 3),
            "moved host cannot reach {}\nflows:\n{}",
            other.ip,
            rig.dump_flows()
        );
        assert!(
            other.ns.ping_eventually(moved.ip, 3),
            "{} cannot reach the moved host\nflows:\n{}",
            other.ip,
            rig.dump_flows()
        );
    }
    let macs = rig.rows("macs");
    assert!(
        macs.iter().any(|r| r[1] == "10" && r[2] == moved.mac),
        "{macs:?}"
    );
    // `switchctl monitor` saw the port go and the new one come.
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    let sw = &rig.dpid;
    assert!(
        seen.contains(&format!("switch {sw}: port 1 ({}) deleted", moved.port)),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("switch {sw}: port 10 ({}) added", veth.b)),
        "{seen}"
    );
}

#[test]
fn ovs_and_switchd_restarts_reconnect_and_traffic_flows() {
    let mut rig = Rig::new(3, "OpenFlow13");
    rig.all_pairs_ping(5);
    let events = rig.d()._dir.0.join("monitor");
    let mut monitor = Proc::spawn(
        "switchctl monitor",
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&rig.d().sock)
            .arg("monitor")
            .stdout(std::fs::File::create(&events).expect("monitor file")),
    )
    .expect("switchctl monitor");
    std::thread::sleep(Duration::from_millis(300));

    rig.restart_ovs();
    rig.wait_switch();
    rig.all_pairs_ping(5);
    monitor.stop();
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    let sw = &rig.dpid;
    let gone = seen.find(&format!("switch {sw} disconnected"));
    let back = seen.rfind(&format!("switch {sw} connected from 127.0.0.1:"));
    assert!(
        gone.is_some() && back.is_some() && gone < back,
        "monitor: {seen}"
    );

    // switchd restarts on the same port: the bridge comes back to it.
    let port = rig.port;
    drop(rig.daemon.take());
    rig.daemon = Some(Daemon::start(port));
    rig.wait_switch();
    rig.all_pairs_ping(5);
    assert!(rig
        .dump_flows()
        .contains("priority=0 actions=CONTROLLER:65535"));
}

#[test]
fn a_malformed_message_closes_only_its_own_connection() {
    let rig = Rig::new(2, "OpenFlow13");
    rig.all_pairs_ping(5);
    let since = rig.rows("switches");

    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, rig.port)),
        Duration::from_secs(2),
    )
    .expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // HELLO (1.3), then a message of type 200, which does not exist.
    s.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).expect("hello");
    let bad = [4u8, 200, 0, 8, 0, 0, 0, 9];
    s.write_all(&bad).expect("bad message");
    let mut got = Vec::new();
    let eof = s.read_to_end(&mut got).is_ok();
    assert!(eof, "switchd did not close the connection");
    // Walk the messages switchd sent; one must be OFPT_ERROR BAD_REQUEST/BAD_TYPE (1, 1)
    // with our message as its data.
    let mut at = 0;
    let mut found = false;
    while at + 8 <= got.len() {
        let len = u16::from_be_bytes([got[at + 2], got[at + 3]]) as usize;
        assert!(len >= 8 && at + len <= got.len(), "bad framing: {got:?}");
        let m = &got[at..at + len];
        if m[1] == 1 {
            assert_eq!(&m[4..8], &bad[4..8], "error xid");
            assert_eq!(&m[8..12], &[0, 1, 0, 1], "error type/code");
            assert_eq!(&m[12..], &bad, "error data");
            found = true;
        }
        at += len;
    }
    assert!(found, "no OFPT_ERROR in {got:?}");

    // The bridge's session was not touched: same connection, traffic flows.
    assert_eq!(rig.rows("switches"), since);
    rig.all_pairs_ping(3);
}
