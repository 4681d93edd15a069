//! Host tier: flows that do not come from learning, on a private Open vSwitch bridge
//! (userspace datapath) with hosts in namespaces — the configuration's static flows
//! (installed on connect, again after OVS restarts, brought to the new set on reload),
//! `switchctl add flow` / `del flow` (OpenFlow 1.3 and 1.0, refusals in the switch's words),
//! and a switch that goes silent (declared dead, comes back when it wakes up).
//!
//! Every part is a guard (`Proc`, `Ovs`, `Lan`, `TempDir`), so it goes away even when a test
//! panics.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use regress::net::LanSwitch;
use regress::workspace::{bin, ensure_user, TempDir};
use regress::{free_tcp_port, Lan, Ovs, Proc};

const USER: &str = "_switchd";
/// The cookie switchd gives static flows ("SWDL" + 2), as dump-flows prints it.
const STATIC_COOKIE: &str = "cookie=0x5357444c00000002";

/// A running `switchd -d` with a configuration of our own.
struct Daemon {
    _proc: Proc,
    sock: PathBuf,
    conf: PathBuf,
    stderr: PathBuf,
    dir: TempDir,
}

impl Daemon {
    /// `body` is appended to the settings every test needs (listener, socket, user, chroot).
    fn start(port: u16, body: &str) -> Daemon {
        ensure_user(USER);
        let dir = TempDir::new("switchd-flows-test");
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).expect("mkdir chroot");
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod chroot");
        let sock = dir.0.join("switchd.sock");
        let conf = dir.0.join("switchd.conf");
        let stderr = dir.0.join("stderr");
        write_config(&conf, &sock, &dir, port, body);
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
            conf,
            stderr,
            dir,
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

    fn write_config(&self, port: u16, body: &str) {
        write_config(&self.conf, &self.sock, &self.dir, port, body);
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

    /// `switchctl monitor` writing into a file of the test directory.
    fn monitor(&self) -> (Proc, PathBuf) {
        let events = self.dir.0.join("monitor");
        let p = Proc::spawn(
            "switchctl monitor",
            Command::new(bin("switchctl"))
                .arg("-s")
                .arg(&self.sock)
                .arg("monitor")
                .stdout(std::fs::File::create(&events).expect("monitor file")),
        )
        .expect("switchctl monitor");
        // Subscribed once the daemon has read the request; a show after it is answered
        // by the same process in order.
        std::thread::sleep(Duration::from_millis(300));
        (p, events)
    }
}

fn write_config(conf: &Path, sock: &Path, dir: &TempDir, port: u16, body: &str) {
    std::fs::write(
        conf,
        format!(
            "listen on 127.0.0.1 port {port}\nsocket \"{}\"\nuser \"{USER}\"\nchroot \"{}\"\n{body}",
            sock.display(),
            dir.0.join("empty").display()
        ),
    )
    .expect("write config");
}

/// OVS bridge (datapath id `dpid`) + two hosts + switchd, wired together.
struct Rig {
    daemon: Daemon,
    lan: Lan,
    ovs: Ovs,
    /// An ovs-vswitchd restarted by the test; dropped after `ovs`, whose cleanup needs a
    /// running vswitchd to delete its bridges.
    restarted: Option<Proc>,
    br: String,
    protocol: String,
    port: u16,
    dpid: String,
}

impl Rig {
    /// `body(dpid)` gives the configuration after the common settings.
    fn new(protocol: &str, dpid: u64, body: &str) -> Rig {
        let port = free_tcp_port().expect("free port");
        let daemon = Daemon::start(port, body);
        let ovs = Ovs::start().expect("start Open vSwitch");
        let br = ovs.add_bridge().expect("add bridge");
        let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
        for (i, h) in lan.hosts.iter().enumerate() {
            ovs.add_port(&br, &h.port, (i + 1) as u16)
                .expect("add port");
        }
        let dpid = format!("{dpid:016x}");
        ovs.vsctl(&[
            "set",
            "bridge",
            &br,
            &format!("protocols={protocol}"),
            "fail_mode=secure",
            &format!("other-config:datapath-id={dpid}"),
        ])
        .expect("set bridge");
        ovs.vsctl(&["set-controller", &br, &format!("tcp:127.0.0.1:{port}")])
            .expect("set-controller");
        ovs.vsctl(&[
            "set",
            "controller",
            &br,
            "max_backoff=1000",
            "connection_mode=out-of-band",
        ])
        .expect("set controller");
        let rig = Rig {
            daemon,
            lan,
            ovs,
            restarted: None,
            br,
            protocol: protocol.to_string(),
            port,
            dpid,
        };
        rig.checksums_in_software();
        rig.wait_switch(true);
        rig
    }

    fn d(&self) -> &Daemon {
        &self.daemon
    }

    /// Wait until `show switches` lists (or no longer lists) our bridge.
    fn wait_switch(&self, listed: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.d().ctl(&["show", "switches"]);
            if String::from_utf8_lossy(&out.stdout).contains(&self.dpid) == listed {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "bridge {} never {}; switchd stderr:\n{}",
                self.dpid,
                if listed { "connected" } else { "went away" },
                self.d().stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn dump_flows(&self) -> String {
        self.ovs
            .ofctl(&["-O", &self.protocol, "dump-flows", &self.br])
            .unwrap_or_else(|e| format!("(dump-flows failed: {e})"))
    }

    /// Wait until dump-flows satisfies `ok` (flows arrive a moment after the handshake).
    fn wait_flows(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let f = self.dump_flows();
            if ok(&f) {
                return f;
            }
            assert!(
                Instant::now() < deadline,
                "{what}; flows:\n{f}\nswitchd stderr:\n{}",
                self.d().stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Host 0 pings host 1 (a few tries: ARP and learning go first).
    fn pings(&self, tries: u32) -> bool {
        self.lan.hosts[0]
            .ns
            .ping_eventually(self.lan.hosts[1].ip, tries)
    }

    /// A TCP connection from host 0 to an echo listener on host 1 port `port`.
    fn tcp_works(&self, port: u16) -> bool {
        let to = SocketAddr::from((self.lan.hosts[1].ip, port));
        (0..5).any(|_| self.lan.hosts[0].ns.tcp_reaches(to, Duration::from_secs(2)))
    }

    /// TCP needs the hosts to fill in their checksums: a veth leaves them to the receiver
    /// (checksum offload), and the userspace datapath forwards the frame as it is.
    fn checksums_in_software(&self) {
        for h in &self.lan.hosts {
            h.ns.enter(|| tx_checksum_off("eth0"))
                .expect("enter namespace")
                .expect("turn off tx checksum offload on eth0");
        }
    }

    fn listen_tcp(&self, port: u16) {
        self.lan.hosts[1]
            .ns
            .tcp_listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
            .expect("tcp listener");
    }

    /// The pid of this rig's ovs-vswitchd: the one whose command line names our private
    /// database socket (the path is unique to this Ovs).
    fn vswitchd_pid(&self) -> i32 {
        let db = format!("unix:{}/db.sock", self.ovs.dir().display());
        for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            if args.first().is_some_and(|a| a.ends_with(b"ovs-vswitchd"))
                && args.contains(&db.as_bytes())
            {
                return pid;
            }
        }
        panic!("no ovs-vswitchd for {db}");
    }

    /// Stop ovs-vswitchd and start it again on the same database (its flows are gone).
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
}

/// `ethtool -K IFNAME tx off` (ETHTOOL_STXCSUM through SIOCETHTOOL; the ethtool program is
/// not needed).
fn tx_checksum_off(ifname: &str) -> std::io::Result<()> {
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    const ETHTOOL_STXCSUM: u32 = 0x17;
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    // SAFETY: a socket we close, an ifreq we own whose data points at `value`, which
    // outlives the call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(ifname.bytes()) {
            *d = s as libc::c_char;
        }
        ifr.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
        let r = libc::ioctl(fd, libc::SIOCETHTOOL, &mut ifr);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if r < 0 {
            return Err(err);
        }
    }
    Ok(())
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The dump-flows lines that carry switchd's static-flow cookie.
fn static_lines(flows: &str) -> Vec<String> {
    flows
        .lines()
        .filter(|l| l.contains(STATIC_COOKIE))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn static_flows_are_installed_on_connect_after_an_ovs_restart_and_on_reload() {
    let dpid = 0xa1;
    let body = |flows: &str| format!("switch \"edge\" {{\n\tdatapath-id 0x{dpid:x}\n{flows}}}\n");
    let mut rig = Rig::new(
        "OpenFlow13",
        dpid,
        &body("\tflow \"priority=100,icmp,actions=drop\"\n\tflow \"priority=90,tcp,tp_dst=7001,actions=drop\"\n"),
    );
    let has = |f: &str, what: &str| static_lines(f).iter().any(|l| l.contains(what));
    let flows = rig.wait_flows("static flows not installed", |f| {
        has(f, "priority=100,icmp actions=drop")
            && has(f, "priority=90,tcp,tp_dst=7001 actions=drop")
    });
    assert!(
        flows.contains("priority=0 actions=CONTROLLER:65535"),
        "{flows}"
    );
    // The drop flow stops ping between the hosts; other traffic is learned and flows.
    rig.listen_tcp(7000);
    rig.listen_tcp(7001);
    assert!(
        rig.tcp_works(7000),
        "TCP 7000 blocked\n{}",
        rig.dump_flows()
    );
    assert!(
        !rig.pings(3),
        "ping went through the drop flow\n{}",
        rig.dump_flows()
    );
    assert!(!rig.lan.hosts[0].ns.tcp_reaches(
        SocketAddr::from((rig.lan.hosts[1].ip, 7001)),
        Duration::from_secs(2)
    ));

    // ovs-vswitchd restarts with an empty table: the flows come back on reconnect.
    rig.restart_ovs();
    rig.wait_flows("static flows not reinstalled after the OVS restart", |f| {
        has(f, "priority=100,icmp actions=drop") && has(f, "priority=90,tcp,tp_dst=7001")
    });
    assert!(!rig.pings(2), "ping went through after the restart");

    // Reload: the ICMP drop goes, a new flow comes, the unchanged one stays.
    let (mut monitor, events) = rig.d().monitor();
    rig.d().write_config(
        rig.port,
        &body("\tflow \"priority=90,tcp,tp_dst=7001,actions=drop\"\n\tflow \"priority=80,udp,tp_dst=53,actions=drop\"\n\tflow \"priority=70,actions=output:65281\"\n"),
    );
    let out = rig.d().ctl_ok(&["reload"]);
    assert_eq!(out, "configuration reloaded\n");
    let flows = rig.wait_flows("reload not applied", |f| {
        !has(f, "icmp") && has(f, "priority=80,udp,tp_dst=53")
    });
    assert_eq!(static_lines(&flows).len(), 2, "{flows}");
    assert!(rig.pings(5), "ping still blocked after reload\n{flows}");
    // A static flow the switch refuses is logged with the switch, the flow and the error,
    // and shown by monitor.
    let deadline = Instant::now() + Duration::from_secs(5);
    let want = format!(
        "switch {} refused static flow \"priority=70,actions=output:65281\": OFPBAC_BAD_OUT_PORT",
        rig.dpid
    );
    while !rig.d().stderr().contains(&want) {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            rig.d().stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    monitor.stop();
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    assert!(seen.contains(&want), "monitor: {seen}");
}

/// `switchctl add flow` / `del flow` against the bridge, named three ways.
fn switchctl_flows_on(protocol: &str, refused_port: &str) {
    let dpid = 0xb2;
    let rig = Rig::new(
        protocol,
        dpid,
        &format!("switch \"edge\" {{\n\tdatapath-id {dpid}\n}}\n"),
    );
    rig.listen_tcp(7000);
    assert!(
        rig.pings(5),
        "no ping before any flow\n{}",
        rig.dump_flows()
    );
    let (mut monitor, events) = rig.d().monitor();
    let d = rig.d();

    // `show` knows the configured name too.
    let out = d.ctl_ok(&["show", "switches", "edge"]);
    assert!(out.contains(&rig.dpid), "{out}");
    let out = d.ctl_ok(&["add", "flow", "edge", "priority=200,icmp,actions=drop"]);
    assert_eq!(out, "flow added\n");
    // switchctl answered after the barrier: the flow is in the table now.
    let flows = rig.dump_flows();
    assert!(flows.contains("priority=200,icmp actions=drop"), "{flows}");
    assert!(!rig.pings(3), "ping went through the drop flow\n{flows}");
    assert!(rig.tcp_works(7000), "TCP blocked by an ICMP drop\n{flows}");

    // A non-strict delete by match, the switch named by its datapath id.
    let out = d.ctl_ok(&["del", "flow", &format!("0x{dpid:x}"), "icmp"]);
    assert_eq!(out, "flows deleted\n");
    let flows = rig.dump_flows();
    assert!(!flows.contains("icmp"), "{flows}");
    assert!(rig.pings(5), "ping blocked after the delete\n{flows}");

    // A syntax error: a sentence and exit 1, nothing sent.
    let out = d.ctl(&["add", "flow", "edge", "icmp,actions=frobnicate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "switchctl: bad flow \"icmp,actions=frobnicate\": column 14: unknown action"
        ),
        "{err}"
    );

    // A flow the switch refuses: its error, named, and exit 1.
    let flow = format!("priority=5,actions=output:{refused_port}");
    let out = d.ctl(&["add", "flow", "edge", &flow]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "switchctl: switch {} refused the flow: OFPBAC_BAD_OUT_PORT",
            rig.dpid
        )),
        "{err}"
    );
    let after = rig.dump_flows();
    assert!(!after.contains("priority=5,"), "{after}");
    assert!(!after.contains("frobnicate"), "{after}");

    // No switch by that name: a sentence, exit 1.
    let out = d.ctl(&["add", "flow", "nosuch", "actions=drop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "switchctl: no switch nosuch is connected\n"
    );

    // Delete everything: switchd puts its table-miss back (1.3), so learning goes on.
    d.ctl_ok(&["add", "flow", &rig.dpid, "priority=200,icmp,actions=drop"]);
    let out = d.ctl_ok(&["-j", "del", "flow", "edge"]);
    assert!(out.contains("\"response\": \"ok\""), "{out}");
    let flows = rig.dump_flows();
    assert!(!flows.contains("icmp"), "{flows}");
    if protocol == "OpenFlow13" {
        assert!(
            flows.contains("priority=0 actions=CONTROLLER:65535"),
            "{flows}"
        );
    }
    assert!(rig.pings(5), "no ping after deleting every flow\n{flows}");

    monitor.stop();
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    let sw = &rig.dpid;
    for want in [
        format!("switch {sw}: flow added: priority=200,icmp,actions=drop"),
        format!("switch {sw}: flows deleted: icmp"),
        format!("switch {sw}: every flow deleted"),
    ] {
        assert!(seen.contains(&want), "monitor lacks {want:?}:\n{seen}");
    }
    assert!(!seen.contains("frobnicate"), "{seen}");
}

#[test]
fn switchctl_adds_and_deletes_flows_over_openflow13() {
    // 0xff01 is neither a physical port nor a reserved one in 1.3.
    switchctl_flows_on("OpenFlow13", "65281");
}

#[test]
fn switchctl_adds_and_deletes_flows_over_openflow10() {
    // OFPP_MAX (0xff00) is no port a 1.0 switch can output to.
    switchctl_flows_on("OpenFlow10", "65280");
}

/// SIGCONTs the process when dropped, so that a failing test never leaves it stopped.
struct Stopped(i32);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGCONT);
    }
}

#[test]
fn a_silent_switch_is_declared_dead_and_comes_back_when_it_wakes() {
    let rig = Rig::new("OpenFlow13", 0xc3, "echo-interval 1\n");
    let (mut monitor, events) = rig.d().monitor();
    let pid = rig.vswitchd_pid();
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("SIGSTOP ovs-vswitchd");
    let stopped = Stopped(pid);
    // Nothing for three echo intervals (3 s): dropped from show switches.
    rig.wait_switch(false);
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    assert!(
        seen.contains(&format!("switch {} at 127.0.0.1:", rig.dpid))
            && seen.contains("is dead: nothing received for"),
        "monitor: {seen}"
    );
    assert!(rig.d().stderr().contains("dead: nothing received for"));
    drop(stopped);
    rig.wait_switch(true);
    assert!(rig.pings(5), "no ping after the switch came back");
    monitor.stop();
    let seen = std::fs::read_to_string(&events).unwrap_or_default();
    let dead = seen.find("is dead");
    let back = seen.rfind(&format!("switch {} connected from", rig.dpid));
    assert!(dead.is_some() && back > dead, "monitor: {seen}");
}
