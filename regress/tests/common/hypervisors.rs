//! Several hypervisors on one machine: each a network namespace with its own uplink on a
//! shared underlay, its own switchd (or its own Open vSwitch on the kernel datapath), and
//! VMs that are namespaces on veth pairs whose host end is in the hypervisor's namespace.
//!
//! ```text
//!   VM ns (eth0) ==veth== tapN [hvI ns: switchd or OVS, bridge, vx0/gnv0, ul0 192.0.2.I]
//!                                                                   ||veth
//!                                     [underlay ns: bridge, MTU 1600] ...
//! ```
//!
//! The underlay is a Linux bridge in a namespace of its own; hypervisor `i` (from 0) has
//! `ul0` with 192.0.2.(i+1)/24 and 2001:db8::(i+1)/64. Its MTU is 1600, so that a VM's
//! 1500-byte frame fits after VXLAN or Geneve encapsulation (switchd gives the tunnel port
//! the bridge's MTU, 1500, and logs that the underlay must carry 1550 bytes).
//!
//! Each hypervisor's switchd is a [`regress::Daemon`] run inside its namespace (its own
//! configuration, control socket, chroot and `_switchd` user, as every other rig); Open
//! vSwitch is [`OvsHv`]: a database and an `ovs-vswitchd` of its own, the latter inside the
//! namespace (the kernel datapath, its tunnel vports and their UDP sockets are per
//! namespace). Everything is a guard: dropping [`Hypervisors`] stops the daemons, then
//! deletes the VMs, the hypervisors and the underlay, also in a panicking test.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regress::wait::wait_until;
use regress::{run_ok, Bridge, Netns, Proc};

/// How long to wait for a daemon in the slow VM.
pub const WAIT: Duration = Duration::from_secs(120);

/// One VM: a namespace whose `eth0` is a veth to `port` in its hypervisor's namespace.
#[derive(Debug)]
pub struct Vm {
    pub ns: Netns,
    /// The host end's name, in the hypervisor's namespace.
    pub port: String,
    pub ip: Ipv4Addr,
    pub mac: String,
}

impl Vm {
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from((self.ip, port))
    }
}

/// One hypervisor. Fields drop in order: the daemons, then the VMs, then the namespace.
pub struct Hypervisor {
    pub switchd: Option<regress::Daemon>,
    pub ovs: Option<OvsHv>,
    pub vms: Vec<Vm>,
    pub ns: Netns,
    /// `ul0`'s addresses.
    pub addr: Ipv4Addr,
    pub addr6: Ipv6Addr,
}

impl Hypervisor {
    /// Run a command inside the hypervisor's namespace, its output (panics on failure).
    pub fn exec(&self, args: &[&str]) -> String {
        self.ns
            .exec(args)
            .unwrap_or_else(|e| panic!("in hypervisor {}: {args:?}: {e}", self.addr))
    }

    /// Start switchd in the namespace on `config` (switch blocks after the usual lines).
    pub fn start_switchd(&mut self, config: &str) {
        let d = regress::Daemon::builder()
            .netns(self.ns.name())
            .verbose()
            .ready_within(WAIT)
            .config(config)
            .start()
            .expect("start switchd in a hypervisor");
        self.switchd = Some(d);
    }

    pub fn switchd(&self) -> &regress::Daemon {
        self.switchd.as_ref().expect("this hypervisor runs switchd")
    }

    /// Wait until switchd's log has a line containing `text`.
    pub fn wait_log(&self, text: &str) {
        let d = self.switchd();
        assert!(
            wait_until(WAIT, Duration::from_millis(100), || d.log().contains(text)),
            "hypervisor {}: no log line with \"{text}\"; switchd's log:\n{}",
            self.addr,
            d.log()
        );
    }
}

/// `n` hypervisors on an underlay.
pub struct Hypervisors {
    pub hvs: Vec<Hypervisor>,
    underlay_bridge: Bridge,
    underlay: Netns,
}

impl Hypervisors {
    pub fn new(n: usize) -> Hypervisors {
        let underlay = Netns::new().expect("underlay namespace");
        let underlay_bridge = Bridge::new(Some(&underlay)).expect("underlay bridge");
        underlay
            .ip(&["link", "set", &underlay_bridge.name, "mtu", "1600"])
            .expect("underlay MTU");
        let mut hvs = Vec::new();
        for i in 0..n {
            let ns = Netns::new().expect("hypervisor namespace");
            let far = regress::unique_name();
            run_ok(&[
                "ip",
                "link",
                "add",
                "ul0",
                "netns",
                ns.name(),
                "mtu",
                "1600",
                "type",
                "veth",
                "peer",
                "name",
                &far,
                "netns",
                underlay.name(),
                "mtu",
                "1600",
            ])
            .expect("uplink veth");
            underlay_bridge.attach(&far).expect("attach the uplink");
            underlay
                .ip(&["link", "set", &far, "up"])
                .expect("uplink up");
            let addr = Ipv4Addr::new(192, 0, 2, i as u8 + 1);
            let addr6: Ipv6Addr = format!("2001:db8::{}", i + 1).parse().expect("v6");
            ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "ul0"])
                .expect("uplink address");
            ns.ip(&["addr", "add", &format!("{addr6}/64"), "dev", "ul0", "nodad"])
                .expect("uplink IPv6 address");
            ns.ip(&["link", "set", "ul0", "up"]).expect("uplink up");
            hvs.push(Hypervisor {
                switchd: None,
                ovs: None,
                vms: Vec::new(),
                ns,
                addr,
                addr6,
            });
        }
        Hypervisors {
            hvs,
            underlay_bridge,
            underlay,
        }
    }

    /// A VM on hypervisor `hv`: its `eth0` has `mac` and `ip`/24; the host end is `port`
    /// (up, not in any bridge: the switch takes it). Returns its index in `hvs[hv].vms`.
    pub fn add_vm(&mut self, hv: usize, port: &str, ip: Ipv4Addr, mac: &str) -> usize {
        let ns = Netns::new().expect("VM namespace");
        let h = &mut self.hvs[hv];
        run_ok(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            ns.name(),
            "address",
            mac,
            "type",
            "veth",
            "peer",
            "name",
            port,
            "netns",
            h.ns.name(),
        ])
        .expect("VM veth");
        ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"])
            .expect("VM address");
        ns.ip(&["link", "set", "eth0", "up"]).expect("VM up");
        h.ns.ip(&["link", "set", port, "up"]).expect("VM port up");
        h.vms.push(Vm {
            ns,
            port: port.to_string(),
            ip,
            mac: mac.to_string(),
        });
        h.vms.len() - 1
    }
}

/// A private Open vSwitch whose `ovs-vswitchd` runs in a hypervisor's namespace, with one
/// bridge `br0` on the kernel datapath (`datapath_type=system`, openvswitch.ko).
pub struct OvsHv {
    vswitchd: Proc,
    ovsdb: Proc,
    dir: PathBuf,
}

impl OvsHv {
    pub fn start(ns: &Netns) -> OvsHv {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let _ = regress::unique_name();
        let dir = std::env::temp_dir().join(format!(
            "swt-ovs-{}-hv{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("OVS directory");
        let d = dir.display().to_string();
        let env = env_of(&dir);
        let db = format!("{d}/conf.db");
        run_ok(&[
            "ovsdb-tool",
            "create",
            &db,
            "/usr/share/openvswitch/vswitch.ovsschema",
        ])
        .expect("ovsdb-tool create");
        let ovsdb = Proc::spawn(
            "ovsdb-server",
            Command::new("ovsdb-server")
                .arg(&db)
                .arg(format!("--remote=punix:{d}/db.sock"))
                .arg(format!("--unixctl={d}/ovsdb-server.ctl"))
                .arg(format!("--log-file={d}/ovsdb-server.log"))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .envs(env.clone()),
        )
        .expect("start ovsdb-server");
        wait_file(&dir.join("db.sock"));
        let vswitchd = Proc::spawn(
            "ovs-vswitchd",
            ns.command("ovs-vswitchd")
                .arg(format!("unix:{d}/db.sock"))
                .arg(format!("--unixctl={d}/ovs-vswitchd.ctl"))
                .arg(format!("--log-file={d}/ovs-vswitchd.log"))
                .arg("--no-chdir")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .envs(env),
        )
        .expect("start ovs-vswitchd");
        let o = OvsHv {
            vswitchd,
            ovsdb,
            dir,
        };
        o.vsctl(&["--no-wait", "init"]);
        wait_file(&o.dir.join("ovs-vswitchd.ctl"));
        o
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Result<String, regress::CmdError> {
        // Through env(1): the OVS_* variables point the tools at this instance.
        let env: Vec<String> = env_of(&self.dir)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let db = format!("--db=unix:{}/db.sock", self.dir.display());
        let mut v = vec!["env"];
        v.extend(env.iter().map(String::as_str));
        v.push(tool);
        if tool == "ovs-vsctl" {
            v.push(&db);
            v.push("--timeout=60");
        }
        v.extend_from_slice(args);
        run_ok(&v)
    }

    pub fn vsctl(&self, args: &[&str]) -> String {
        self.tool("ovs-vsctl", args)
            .unwrap_or_else(|e| panic!("ovs-vsctl {args:?}: {e}"))
    }

    /// `ovs-ofctl -O OpenFlow13 ARGS`, `None` if it failed.
    pub fn try_ofctl(&self, args: &[&str]) -> Option<String> {
        let mut v = vec!["-O", "OpenFlow13"];
        v.extend_from_slice(args);
        self.tool("ovs-ofctl", &v).ok()
    }

    /// `ovs-ofctl -O OpenFlow13 ARGS` (a bridge name reaches this instance's bridge).
    pub fn ofctl(&self, args: &[&str]) -> String {
        let mut v = vec!["-O", "OpenFlow13"];
        v.extend_from_slice(args);
        self.tool("ovs-ofctl", &v)
            .unwrap_or_else(|e| panic!("ovs-ofctl {args:?}: {e}"))
    }
}

impl Drop for OvsHv {
    fn drop(&mut self) {
        let _ = self.tool("ovs-vsctl", &["--if-exists", "del-br", "br0"]);
        self.vswitchd.stop();
        self.ovsdb.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env_of(dir: &std::path::Path) -> Vec<(String, String)> {
    let d = dir.display().to_string();
    ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"]
        .iter()
        .map(|k| (k.to_string(), d.clone()))
        .collect()
}

fn wait_file(p: &std::path::Path) {
    assert!(
        wait_until(WAIT, Duration::from_millis(50), || p.exists()),
        "{} did not appear",
        p.display()
    );
}

/// Received over a time: datagrams, their frame bytes, the time from the first to the last,
/// and the same for the steady state: what arrived from [`SETTLE`] after the first on (a
/// meter's bucket starts full, and a switch may take its first packets on a slower path).
#[derive(Debug, Clone, Copy, Default)]
pub struct Received {
    pub datagrams: u64,
    pub frame_bytes: u64,
    pub span: Duration,
    pub steady_bytes: u64,
    pub steady_span: Duration,
}

/// Where the steady state of [`udp_blast`]'s receiver starts, after its first datagram.
pub const SETTLE: Duration = Duration::from_secs(1);

impl Received {
    /// Frame kilobits per second over the steady state.
    pub fn steady_kbps(&self) -> f64 {
        let s = self.steady_span.as_secs_f64();
        if s > 0.0 {
            self.steady_bytes as f64 * 8.0 / s / 1000.0
        } else {
            0.0
        }
    }
}

/// The Ethernet, IPv4 and UDP headers of a datagram's frame.
pub const UDP_FRAME_OVERHEAD: usize = 14 + 20 + 8;

/// Send UDP datagrams of `len` bytes from `from` to `to` as fast as one socket can for
/// `secs`, while a socket in `at` bound to `to` counts what arrives. Returns (frames bytes
/// offered per second, what was received).
pub fn udp_blast(
    from: &Netns,
    at: &Netns,
    to: SocketAddr,
    len: usize,
    secs: f64,
) -> (f64, Received) {
    let rx = at.udp_bind(to).expect("bind the receiver");
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let counter = std::thread::spawn(move || {
        let mut r = Received::default();
        let mut first = None;
        let mut steady_from: Option<Instant> = None;
        let mut last = Instant::now();
        let mut buf = vec![0u8; 65536];
        let mut quiet_after_done = 0;
        loop {
            match rx.recv(&mut buf) {
                Ok(n) => {
                    let now = Instant::now();
                    let f = *first.get_or_insert(now);
                    last = now;
                    r.datagrams += 1;
                    r.frame_bytes += (n + UDP_FRAME_OVERHEAD) as u64;
                    match steady_from {
                        // The first datagram of the steady state starts its span.
                        None if now - f >= SETTLE => steady_from = Some(now),
                        Some(_) => r.steady_bytes += (n + UDP_FRAME_OVERHEAD) as u64,
                        None => {}
                    }
                }
                Err(_) => {
                    if d2.load(Ordering::Relaxed) {
                        quiet_after_done += 1;
                        if quiet_after_done >= 3 {
                            break;
                        }
                    }
                }
            }
        }
        if let Some(f) = first {
            r.span = last - f;
        }
        if let Some(f) = steady_from {
            r.steady_span = last - f;
        }
        r
    });
    let sent = from
        .enter(move || -> std::io::Result<u64> {
            let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
            let payload = vec![0x5a; len];
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed().as_secs_f64() < secs {
                // ENOBUFS and the like under load: the datagram is not offered.
                if s.send_to(&payload, to).is_ok() {
                    n += 1;
                }
            }
            Ok(n)
        })
        .expect("sender thread")
        .expect("send");
    done.store(true, Ordering::Relaxed);
    let r = counter.join().expect("counter");
    let offered = (sent * (len + UDP_FRAME_OVERHEAD) as u64) as f64 / secs;
    (offered, r)
}

/// Count the UDP datagrams that reach `to` (a socket bound in `at`) while `from` sends
/// `count` of them.
pub fn udp_count(from: &Netns, at: &Netns, to: SocketAddr, count: usize) -> usize {
    let rx = at.udp_bind(to).expect("bind the receiver");
    rx.set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    from.udp_send_many(to, count, 100).expect("send");
    let mut n = 0;
    let mut buf = [0u8; 2048];
    while rx.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

/// Several `udp_count`s at once: each receiver in its own namespace on the same address,
/// the datagrams sent once; how many each got.
pub fn udp_fanout(from: &Netns, receivers: &[&Netns], to: SocketAddr, count: usize) -> Vec<usize> {
    let socks: Vec<_> = receivers
        .iter()
        .map(|ns| {
            let s = ns.udp_bind(to).expect("bind a receiver");
            s.set_read_timeout(Some(Duration::from_millis(1500)))
                .expect("timeout");
            s
        })
        .collect();
    from.udp_send_many(to, count, 100).expect("send");
    socks
        .into_iter()
        .map(|s| {
            let mut n = 0;
            let mut buf = [0u8; 2048];
            while s.recv(&mut buf).is_ok() {
                n += 1;
            }
            n
        })
        .collect()
}

/// While `during` runs (on the caller's thread), `from` sends a 100-byte UDP datagram to
/// `to` (a socket bound in `at`) every `period`; then how many were sent and received.
pub fn udp_trickle_during(
    from: &Netns,
    at: &Netns,
    to: SocketAddr,
    period: Duration,
    during: impl FnOnce(),
) -> (u64, u64) {
    let rx = at.udp_bind(to).expect("bind the receiver");
    rx.set_read_timeout(Some(Duration::from_millis(2000)))
        .expect("timeout");
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let counter = s.spawn(|| {
            let mut n = 0u64;
            let mut buf = [0u8; 2048];
            while rx.recv(&mut buf).is_ok() {
                n += 1;
            }
            n
        });
        let d2 = done.clone();
        let sender = s.spawn(move || {
            from.enter(move || -> std::io::Result<u64> {
                let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
                let mut n = 0u64;
                while !d2.load(Ordering::Relaxed) {
                    s.send_to(&[0x5a; 100], to)?;
                    n += 1;
                    std::thread::sleep(period);
                }
                Ok(n)
            })
        });
        during();
        done.store(true, Ordering::Relaxed);
        let sent = sender
            .join()
            .expect("sender")
            .expect("sender thread")
            .expect("send");
        let got = counter.join().expect("counter");
        (sent, got)
    })
}
