//! What the kernel-tier tests that drive a local switch and Open vSwitch alike share: a
//! bare OpenFlow 1.3 controller of the test's own (HELLO, echo replies, FLOW_MODs with a
//! barrier, packet-ins kept), a switch under test (a local switch of switchd handed to
//! that controller with `forward to`, or an Open vSwitch bridge on OVS's kernel datapath
//! handed to it with `set-controller`), and [`both`], which runs one scenario on
//! each and asserts every check held on both.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use ofproto::v13::{FlowModCommand, Message};
use regress::{unique_name, Lan, Netns, Ovs};

use crate::common::{Daemon, LinkGuard};

/// The controller both switches connect to: it says HELLO, answers echoes, sends
/// FLOW_MODs (each followed by a barrier) and collects packet-ins.
pub struct Controller {
    s: std::net::TcpStream,
    xid: u32,
    pub packet_ins: Vec<ofproto::v13::PacketIn>,
}

impl Controller {
    /// The switch's connection; `log` says what the switch logged when it does not come.
    pub fn accept(l: &TcpListener, log: impl Fn() -> String) -> Controller {
        l.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + Duration::from_secs(60);
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "the switch did not connect; its log:\n{}",
                        log()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).expect("blocking");
        let mut c = Controller {
            s,
            xid: 1,
            packet_ins: Vec::new(),
        };
        let mut b = bytes::BytesMut::new();
        ofproto::v13::encode_hello(&[4], 1, &mut b);
        c.s.write_all(&b).expect("hello");
        c
    }

    /// The next message other than an echo request or a packet-in (those are answered or
    /// kept), or `None` once `deadline` passes.
    pub fn recv_until(&mut self, deadline: Instant) -> Option<(u32, Message)> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .expect("timeout");
            let mut h = [0u8; 8];
            match self.s.read_exact(&mut h) {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("read from the switch: {e}"),
            }
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            assert!(len >= 8, "bad OpenFlow length {len}");
            let mut m = h.to_vec();
            m.resize(len, 0);
            self.s
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            self.s
                .read_exact(&mut m[8..])
                .expect("read from the switch");
            if ![1, 2, 10, 19, 21].contains(&h[1]) {
                // Only error, echo, packet-in, multipart and barrier replies matter here;
                // others (features, port status) may use what this decoder lacks.
                continue;
            }
            let (xid, msg) = ofproto::v13::decode(&bytes::Bytes::from(m)).expect("decode");
            match msg {
                Message::EchoRequest(d) => {
                    let mut b = bytes::BytesMut::new();
                    Message::EchoReply(d).encode(xid, &mut b);
                    self.s.write_all(&b).expect("echo reply");
                }
                Message::PacketIn(p) => self.packet_ins.push(p),
                m => return Some((xid, m)),
            }
        }
    }

    pub fn send(&mut self, m: Message) -> u32 {
        self.xid += 1;
        let mut b = bytes::BytesMut::new();
        m.encode(self.xid, &mut b);
        self.s.write_all(&b).expect("write to the switch");
        self.xid
    }

    /// FLOW_MOD `cmd` of `flow` (ovs-ofctl syntax) and a barrier; the switch's OFPT_ERROR
    /// (type, code) if it sent one.
    pub fn flow_mod(&mut self, cmd: FlowModCommand, flow: &str) -> Result<(), (u16, u16)> {
        let fm = ofproto::text::parse_flow(flow, cmd).expect("flow syntax");
        self.request(Message::FlowMod(fm))
    }

    /// Send `m` and a barrier; the OFPT_ERROR (type, code) the switch answered `m` with.
    pub fn request(&mut self, m: Message) -> Result<(), (u16, u16)> {
        use ofproto::v13::ErrorMsg;
        let what = format!("{m:?}");
        let mx = self.send(m);
        let bx = self.send(Message::BarrierRequest);
        let mut err = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.recv_until(deadline) {
                Some((x, Message::Error(ErrorMsg::Standard { code, .. }))) if x == mx => {
                    err = Some((code.err_type, code.code))
                }
                Some((x, Message::BarrierReply)) if x == bx => break,
                Some(_) => {}
                None => panic!("no barrier reply after {what}"),
            }
        }
        err.map_or(Ok(()), Err)
    }

    /// OFPMP_GROUP for `id`: (packet_count, byte_count).
    pub fn group_stats(&mut self, id: u32) -> (u64, u64) {
        use ofproto::v13::{multipart::MultipartReplyBody, MultipartRequest, MultipartRequestBody};
        let x = self.send(Message::MultipartRequest(MultipartRequest {
            flags: 0,
            body: MultipartRequestBody::Group { group_id: id },
        }));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.recv_until(deadline) {
                Some((y, Message::MultipartReply(r))) if y == x => {
                    if let MultipartReplyBody::Group(v) = r.body {
                        let g = v.first().expect("a group's stats");
                        return (g.packet_count, g.byte_count);
                    }
                    panic!("not group stats: {r:?}");
                }
                Some(_) => {}
                None => panic!("no group stats for group {id}"),
            }
        }
    }

    /// Packet-ins that arrive until `deadline` (kept in `packet_ins`).
    pub fn drain(&mut self, deadline: Instant) {
        while let Some(m) = self.recv_until(deadline) {
            println!("controller: ignored {m:?}");
        }
    }
}

/// One switch under test with two hosts on ports 1 and 2 and its controller connection.
pub struct Sw {
    pub name: &'static str,
    pub c: Controller,
    pub lan: Lan,
    daemon: Option<Daemon>,
    _br: Option<LinkGuard>,
    _ovs: Option<Ovs>,
}

impl Sw {
    /// A local switch driven by switchd, handed to the test's controller (`forward to`).
    pub fn switchd(lan: Lan) -> Sw {
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = l.local_addr().expect("address").port();
        let br = LinkGuard(unique_name());
        let conf = format!(
            "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
             \ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
            br.0, lan.hosts[0].port, lan.hosts[1].port
        );
        let d = Daemon::start(&conf);
        let c = Controller::accept(&l, || d.stderr());
        Sw {
            name: "switchd",
            c,
            lan,
            daemon: Some(d),
            _br: Some(br),
            _ovs: None,
        }
    }

    /// An Open vSwitch bridge with the same ports on OVS's kernel datapath
    /// (`openvswitch.ko`, `datapath_type=system`: what an operator would run instead of a
    /// local switch), fail mode secure, out-of-band, handed to the test's controller.
    pub fn ovs(lan: Lan) -> Sw {
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = l.local_addr().expect("address").port();
        let _ = regress::run_ok(&["modprobe", "openvswitch"]);
        // A freshly booted, busy VM can be slow to bring ovsdb-server up: try again.
        let ovs = Ovs::start()
            .or_else(|_| Ovs::start())
            .expect("start Open vSwitch");
        let log = |ovs: &Ovs| {
            std::fs::read_to_string(ovs.dir().join("ovs-vswitchd.log")).unwrap_or_default()
        };
        // One transaction, and without waiting for ovs-vswitchd: in the VM its first
        // datapath takes longer than ovs-vsctl waits. The controller's connection says
        // the bridge is there, the ports' numbers that they are.
        let br = unique_name();
        let target = format!("tcp:127.0.0.1:{port}");
        let mut args: Vec<String> = ["--no-wait", "add-br", &br, "--", "set", "bridge", &br]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.extend(
            [
                "datapath_type=system",
                "protocols=OpenFlow13",
                "fail_mode=secure",
            ]
            .map(String::from),
        );
        for (i, h) in lan.hosts.iter().enumerate() {
            args.extend(
                [
                    "--",
                    "add-port",
                    &br,
                    &h.port,
                    "--",
                    "set",
                    "interface",
                    &h.port,
                    &format!("ofport_request={}", i + 1),
                ]
                .map(String::from),
            );
        }
        args.extend(
            [
                "--",
                "set-controller",
                &br,
                &target,
                "--",
                "set",
                "controller",
                &br,
                "connection_mode=out-of-band",
                // No echo probes: the test reads the connection only now and then, and a
                // slow VM would miss the probe's deadline.
                "inactivity_probe=0",
            ]
            .map(String::from),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = ovs.vsctl(&args);
        assert!(r.is_ok(), "OVS bridge: {r:?}\n{}", log(&ovs));
        let c = Controller::accept(&l, || log(&ovs));
        for (i, h) in lan.hosts.iter().enumerate() {
            let want = (i + 1).to_string();
            let deadline = Instant::now() + Duration::from_secs(60);
            while ovs
                .vsctl(&["--no-wait", "get", "interface", &h.port, "ofport"])
                .map(|o| o.trim() != want)
                .unwrap_or(true)
            {
                assert!(
                    Instant::now() < deadline,
                    "OVS port {} got no number\n{}",
                    h.port,
                    log(&ovs)
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Sw {
            name: "ovs",
            c,
            lan,
            daemon: None,
            _br: None,
            _ovs: Some(ovs),
        }
    }

    pub fn h(&self, i: usize) -> &Netns {
        &self.lan.hosts[i].ns
    }

    /// The Open vSwitch under this switch, if it is one (for a scenario's ovs-vsctl).
    pub fn open_vswitch(&self) -> Option<&Ovs> {
        self._ovs.as_ref()
    }

    pub fn log(&self) -> String {
        self.daemon
            .as_ref()
            .map(|d| d.stderr())
            .unwrap_or_else(|| "(Open vSwitch)".into())
    }

    #[track_caller]
    pub fn add(&mut self, flow: &str) {
        let r = self.c.flow_mod(FlowModCommand::Add, flow);
        println!("{}: add {flow}: {r:?}", self.name);
        assert!(
            r.is_ok(),
            "{}: {flow} refused: {r:?}\n{}",
            self.name,
            self.log()
        );
    }

    #[track_caller]
    pub fn del(&mut self, flow: &str) {
        let r = self.c.flow_mod(FlowModCommand::DeleteStrict, flow);
        assert!(r.is_ok(), "{}: delete {flow}: {r:?}", self.name);
    }

    /// Whether a ping from host 0 to `dst` is answered within five tries (the first may
    /// wait for ARP).
    pub fn pings(&self, dst: &str) -> bool {
        (0..5).any(|_| ping(self.h(0), dst))
    }

    /// One ping from host 0 to `dst` goes unanswered.
    pub fn never_pings(&self, dst: &str) -> bool {
        !ping(self.h(0), dst)
    }
}

pub fn ping(ns: &Netns, dst: &str) -> bool {
    ns.exec(&["ping", "-n", "-q", "-c", "1", "-W", "1", dst])
        .is_ok()
}

/// The checks of one switch, as (what, outcome) pairs; the test asserts each outcome and
/// that both switches agree.
pub type Outcomes = Vec<(String, bool)>;

pub fn check(sw: &Sw, out: &mut Outcomes, what: &str, ok: bool) {
    println!("{}: {what}: {}", sw.name, if ok { "yes" } else { "NO" });
    out.push((what.to_string(), ok));
}

/// Run `scenario` on a local switch and on Open vSwitch, each with hosts from `hosts`; every check must hold on both.
pub fn both(hosts: fn() -> Lan, scenario: fn(&mut Sw) -> Outcomes) {
    let mut s = Sw::switchd(hosts());
    let ours = scenario(&mut s);
    let log = s.log();
    drop(s);
    let mut ovs = Sw::ovs(hosts());
    let theirs = scenario(&mut ovs);
    drop(ovs);
    let failed: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|((_, a), (_, b))| !a || !b)
        .map(|((w, a), (_, b))| format!("{w}: switchd {a}, ovs {b}"))
        .collect();
    assert!(
        failed.is_empty(),
        "checks that failed:\n{}\nswitchd stderr:\n{log}",
        failed.join("\n")
    );
}
