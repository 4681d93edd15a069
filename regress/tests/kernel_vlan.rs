//! Kernel tier: OpenFlow 1.3's VLAN semantics with packets, on a local switch and on Open
//! vSwitch (userspace datapath, `datapath_type=netdev`) in the same test, driven by the
//! same controller (the test's own) with the same FLOW_MODs, and the same outcome asserted
//! for both:
//!
//! - matching (spec 7.2.3.7): `vlan_vid=NONE` (untagged only), `PRESENT/PRESENT` (any
//!   tag), an exact VID with a PCP, each shown with tagged and untagged pings;
//! - a Faucet-like pipeline: untagged frames get a native VLAN pushed in table 0, table 1
//!   matches it, pops it and outputs; `push_vlan` with no set-field (VID 0, spec 7.2.6.5);
//!   a push onto a tagged frame copies the frame's PCP into the new tag (QinQ);
//! - packet-ins (spec 7.4.1): the data is the frame as the switch has it, its VLAN tag
//!   included, whether the frame arrived tagged or the pipeline pushed the tag.
//!
//! Each host has `eth0` (untagged, 10.77.0.x) and VLAN devices `eth0.10` (PCP 0,
//! 10.110.0.x) and `eth0.20` (PCP 5, 10.120.0.x).

#[path = "common/local_switch.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Daemon, LinkGuard};
use ofproto::v13::{FlowModCommand, Message};
use regress::net::LanSwitch;
use regress::{unique_name, Lan, Netns, Ovs};

/// The controller both switches connect to: it says HELLO, answers echoes, sends
/// FLOW_MODs (each followed by a barrier) and collects packet-ins.
struct Controller {
    s: std::net::TcpStream,
    xid: u32,
    packet_ins: Vec<ofproto::v13::PacketIn>,
}

impl Controller {
    fn accept(l: &TcpListener) -> Controller {
        l.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + Duration::from_secs(60);
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the switch did not connect");
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
    fn recv_until(&mut self, deadline: Instant) -> Option<(u32, Message)> {
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
            if h[1] != 2 && h[1] != 10 && h[1] != 1 && h[1] != 21 {
                // Only echo, packet-in, error and barrier reply matter here; others
                // (features, port status) may use what this decoder lacks.
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

    fn send(&mut self, m: Message) -> u32 {
        self.xid += 1;
        let mut b = bytes::BytesMut::new();
        m.encode(self.xid, &mut b);
        self.s.write_all(&b).expect("write to the switch");
        self.xid
    }

    /// FLOW_MOD `cmd` of `flow` (ovs-ofctl syntax) and a barrier; the switch's OFPT_ERROR
    /// (type, code) if it sent one.
    fn flow_mod(&mut self, cmd: FlowModCommand, flow: &str) -> Result<(), (u16, u16)> {
        use ofproto::v13::ErrorMsg;
        let fm = ofproto::text::parse_flow(flow, cmd).expect("flow syntax");
        let fx = self.send(Message::FlowMod(fm));
        let bx = self.send(Message::BarrierRequest);
        let mut err = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.recv_until(deadline) {
                Some((x, Message::Error(ErrorMsg::Standard { code, .. }))) if x == fx => {
                    err = Some((code.err_type, code.code))
                }
                Some((x, Message::BarrierReply)) if x == bx => break,
                Some(_) => {}
                None => panic!("no barrier reply to {cmd:?} {flow}"),
            }
        }
        err.map_or(Ok(()), Err)
    }

    /// Packet-ins that arrive until `deadline` (kept in `packet_ins`).
    fn drain(&mut self, deadline: Instant) {
        while let Some(m) = self.recv_until(deadline) {
            println!("controller: ignored {m:?}");
        }
    }
}

/// One switch under test with two hosts on ports 1 and 2 and its controller connection.
struct Sw {
    name: &'static str,
    c: Controller,
    lan: Lan,
    daemon: Option<Daemon>,
    _br: Option<LinkGuard>,
    _ovs: Option<Ovs>,
}

impl Sw {
    /// A local switch driven by switchd, handed to the test's controller (`forward to`).
    fn switchd() -> Sw {
        let lan = hosts();
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = l.local_addr().expect("address").port();
        let br = LinkGuard(unique_name());
        let conf = format!(
            "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
             \ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
            br.0, lan.hosts[0].port, lan.hosts[1].port
        );
        let d = Daemon::start(&conf);
        let c = Controller::accept(&l);
        Sw {
            name: "switchd",
            c,
            lan,
            daemon: Some(d),
            _br: Some(br),
            _ovs: None,
        }
    }

    /// An Open vSwitch bridge (userspace datapath) with the same ports, fail mode secure,
    /// out-of-band, handed to the test's controller.
    fn ovs() -> Sw {
        let lan = hosts();
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = l.local_addr().expect("address").port();
        let ovs = Ovs::start().expect("start Open vSwitch");
        let br = ovs.add_bridge().expect("OVS bridge");
        for (i, h) in lan.hosts.iter().enumerate() {
            ovs.add_port(&br, &h.port, i as u16 + 1).expect("OVS port");
        }
        ovs.vsctl(&[
            "set",
            "bridge",
            &br,
            "protocols=OpenFlow13",
            "fail_mode=secure",
            "other-config:disable-in-band=true",
        ])
        .expect("OVS bridge settings");
        ovs.vsctl(&["set-controller", &br, &format!("tcp:127.0.0.1:{port}")])
            .expect("OVS controller");
        let c = Controller::accept(&l);
        Sw {
            name: "ovs",
            c,
            lan,
            daemon: None,
            _br: None,
            _ovs: Some(ovs),
        }
    }

    fn h(&self, i: usize) -> &Netns {
        &self.lan.hosts[i].ns
    }

    fn log(&self) -> String {
        self.daemon
            .as_ref()
            .map(|d| d.stderr())
            .unwrap_or_else(|| "(Open vSwitch)".into())
    }

    #[track_caller]
    fn add(&mut self, flow: &str) {
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
    fn del(&mut self, flow: &str) {
        let r = self.c.flow_mod(FlowModCommand::DeleteStrict, flow);
        assert!(r.is_ok(), "{}: delete {flow}: {r:?}", self.name);
    }

    /// Whether a ping from host 0 to `dst` is answered within five tries (the first may
    /// wait for ARP).
    fn pings(&self, dst: &str) -> bool {
        (0..5).any(|_| ping(self.h(0), dst))
    }

    /// One ping from host 0 to `dst` goes unanswered.
    fn never_pings(&self, dst: &str) -> bool {
        !ping(self.h(0), dst)
    }
}

fn ping(ns: &Netns, dst: &str) -> bool {
    ns.exec(&["ping", "-n", "-q", "-c", "1", "-W", "1", dst])
        .is_ok()
}

const UNTAGGED: &str = "10.77.0.2";
const V10: &str = "10.110.0.2";
const V20: &str = "10.120.0.2";

/// Two hosts whose switch-side ports wait in the root namespace, each with eth0.10 (PCP 0)
/// and eth0.20 (PCP 5).
fn hosts() -> Lan {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    for (i, h) in lan.hosts.iter().enumerate() {
        for (vid, pcp) in [(10u16, 0u8), (20, 5)] {
            let dev = format!("eth0.{vid}");
            h.ns.ip(&[
                "link",
                "add",
                "link",
                "eth0",
                "name",
                &dev,
                "type",
                "vlan",
                "id",
                &vid.to_string(),
                "egress-qos-map",
                &format!("0:{pcp}"),
            ])
            .expect("VLAN device");
            h.ns.ip(&[
                "addr",
                "add",
                &format!("10.{}.0.{}/24", 100 + vid, i + 1),
                "dev",
                &dev,
            ])
            .expect("VLAN address");
            h.ns.ip(&["link", "set", &dev, "up"]).expect("VLAN up");
        }
    }
    lan
}

/// The checks of one switch, as (what, outcome) pairs; the test asserts each outcome and
/// that both switches agree.
type Outcomes = Vec<(String, bool)>;

fn check(sw: &Sw, out: &mut Outcomes, what: &str, ok: bool) {
    println!("{}: {what}: {}", sw.name, if ok { "yes" } else { "NO" });
    out.push((what.to_string(), ok));
}

fn matching(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    sw.add("priority=0,actions=NORMAL");
    for (what, dst) in [("untagged", UNTAGGED), ("VID 10", V10), ("VID 20", V20)] {
        let ok = sw.pings(dst);
        check(sw, &mut o, &format!("{what} pings with NORMAL"), ok);
    }

    // NONE: untagged frames only.
    let none = "priority=100,vlan_tci=0x0000/0x1fff,actions=drop";
    sw.add(none);
    let ok = sw.never_pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=NONE drops untagged", ok);
    let ok = sw.pings(V10);
    check(sw, &mut o, "vlan_vid=NONE passes VID 10", ok);
    sw.del(none);

    // PRESENT/PRESENT: every tagged frame, no untagged one.
    let present = "priority=100,vlan_tci=0x1000/0x1000,actions=drop";
    sw.add(present);
    let ok = sw.never_pings(V10);
    check(sw, &mut o, "vlan_vid=PRESENT drops VID 10", ok);
    let ok = sw.never_pings(V20);
    check(sw, &mut o, "vlan_vid=PRESENT drops VID 20", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=PRESENT passes untagged", ok);
    sw.del(present);

    // An exact VID with its PCP.
    let exact = "priority=100,dl_vlan=20,dl_vlan_pcp=5,actions=drop";
    sw.add(exact);
    let ok = sw.never_pings(V20);
    check(sw, &mut o, "VID 20 PCP 5 drops VID 20", ok);
    let ok = sw.pings(V10);
    check(sw, &mut o, "VID 20 PCP 5 passes VID 10", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "VID 20 PCP 5 passes untagged", ok);
    let pcp3 = "priority=100,dl_vlan=20,dl_vlan_pcp=3,actions=drop";
    sw.del(exact);
    sw.add(pcp3);
    let ok = sw.pings(V20);
    check(sw, &mut o, "VID 20 PCP 3 passes VID 20 with PCP 5", ok);
    sw.del(pcp3);
    o
}

fn pipeline(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    // Table 0: untagged frames get the native VLAN 100; anything else is dropped.
    sw.add("table=0,priority=50,actions=drop");
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},vlan_tci=0x0000/0x1fff,\
             actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=100,in_port={p},dl_vlan=100,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "untagged through push VID 100, match, pop", ok);
    let ok = sw.never_pings(V10);
    check(
        sw,
        &mut o,
        "VID 10 dropped: NONE does not take tagged frames",
        ok,
    );

    // push_vlan alone on an untagged frame: VID 0 (table 1 takes VID 0 only).
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},vlan_tci=0x0000/0x1fff,\
             actions=push_vlan:0x8100,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=100,in_port={p},dl_vlan=0,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "untagged through push_vlan alone (VID 0)", ok);

    // A push onto VID 20 (PCP 5) sets VID 100 and copies the PCP: table 1 takes VID 100
    // with PCP 5 only, pops the outer tag, and the frame leaves with its VID 20.
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},dl_vlan=20,\
             actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=110,in_port={p},dl_vlan=100,dl_vlan_pcp=5,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(V20);
    check(
        sw,
        &mut o,
        "VID 20 PCP 5 through a pushed VID 100 with the PCP copied",
        ok,
    );
    o
}

fn packet_in(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    // Untagged frames from port 1 get VID 100 pushed, tagged ones keep theirs; table 1
    // sends all to the controller.
    sw.add(
        "table=0,priority=10,in_port=1,vlan_tci=0x0000/0x1fff,\
         actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1",
    );
    sw.add("table=0,priority=5,in_port=1,actions=goto_table:1");
    sw.add("table=1,priority=0,actions=CONTROLLER:65535");
    sw.c.packet_ins.clear();
    // ARP requests that nothing answers: one untagged, one on VID 10.
    let _ = ping(sw.h(0), UNTAGGED);
    let _ = ping(sw.h(0), V10);
    sw.c.drain(Instant::now() + Duration::from_secs(3));
    let tags: Vec<(Option<u16>, u16)> =
        sw.c.packet_ins
            .iter()
            .filter_map(|p| {
                let d = &p.data[..];
                let et = |at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                match et(12)? {
                    0x8100 => Some((Some(et(14)? & 0x0fff), et(16)?)),
                    t => Some((None, t)),
                }
            })
            .collect();
    println!(
        "{}: packet-ins (VID, EtherType after the tag): {tags:?}",
        sw.name
    );
    let has = |vid, et| tags.contains(&(vid, et));
    check(
        sw,
        &mut o,
        "untagged ARP reaches the controller with the pushed VID 100",
        has(Some(100), 0x0806),
    );
    check(
        sw,
        &mut o,
        "tagged ARP reaches the controller with its VID 10",
        has(Some(10), 0x0806),
    );
    check(
        sw,
        &mut o,
        "no packet-in lost its tag",
        !tags.iter().any(|t| t.0.is_none()),
    );
    o
}

/// Run `scenario` on a local switch and on Open vSwitch; every check must hold on both.
fn both(scenario: fn(&mut Sw) -> Outcomes) {
    let mut s = Sw::switchd();
    let ours = scenario(&mut s);
    let log = s.log();
    drop(s);
    let mut ovs = Sw::ovs();
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

#[test]
#[ignore = "kernel tier: needs cls_flower (num_of_vlans: Linux 5.19+), runs in the VM"]
fn vlan_none_present_and_exact_tags_with_packets_as_open_vswitch() {
    both(matching);
}

#[test]
#[ignore = "kernel tier: needs cls_flower and act_vlan, runs in the VM"]
fn native_vlan_push_match_pop_and_push_without_set_field_as_open_vswitch() {
    both(pipeline);
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_vlan and act_sample, runs in the VM"]
fn packet_ins_keep_the_vlan_tag_received_or_pushed_as_open_vswitch() {
    both(packet_in);
}
