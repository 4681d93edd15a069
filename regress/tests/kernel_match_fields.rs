//! Kernel tier: every class of match field the TC translation claims, shown with packets.
//!
//! Three namespaced hosts on a local switch (table-miss normal, so the Linux bridge
//! forwards whatever no flow takes). Each test adds a drop flow with `switchctl` that
//! should catch some packets and not others, sends both kinds from the hosts, and checks
//! which arrive: masked Ethernet addresses, IPv6 prefixes and ICMPv6 types (neighbour
//! discovery keeps working), ARP opcode and addresses, TCP flags and masked L4 ports,
//! DSCP and ECN, VLAN id and PCP on tagged traffic, and a VXLAN port's tunnel id.
//! Open vSwitch's NXM fields (`nw_ttl`, `tun_src`, `tun_dst`, and setting them for a
//! tunnel) come from a small controller of the test's own that the switch is handed to
//! (`forward to`), so that the path of a third party's NXM matches is proven too
//! (switchctl's flow syntax writes them as well, byte for byte as ovs-ofctl: see
//! ofproto's text tests).

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/ofswitch.rs"]
mod ofswitch;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, LinkGuard};
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{unique_name, Lan, Netns, Proc, VethPair};

/// The MAC of host `i` (0-based): 02:00:00:00:0i+1:01, so that masks can pick hosts.
fn host_mac(i: usize) -> String {
    format!("02:00:00:00:{:02x}:01", i + 1)
}

/// Hosts on a local switch "vm" driven by switchd, with table-miss normal; host i's port
/// is OpenFlow port i+1, and every `extra` device is a port numbered from 9.
struct Rig {
    d: Daemon,
    lan: Lan,
    _br: LinkGuard,
}

impl Rig {
    fn new(n: usize, extra: &[&str]) -> Rig {
        Rig::with(n, extra, "")
    }

    /// With `more` (lines of the switch block) added; a switch with `forward to` is not
    /// shown by `switchctl show switches`, and is taken to be up once the hosts ping.
    fn with(n: usize, extra: &[&str], more: &str) -> Rig {
        let lan = Lan::new(n, LanSwitch::PortsOnly).expect("hosts");
        for (i, h) in lan.hosts.iter().enumerate() {
            h.ns.ip(&["link", "set", "eth0", "address", &host_mac(i)])
                .expect("set MAC");
        }
        let br = LinkGuard(unique_name());
        let mut conf = format!("switch \"vm\" {{\n\tbridge \"{}\"\n", br.0);
        for (i, h) in lan.hosts.iter().enumerate() {
            conf += &format!("\tport \"{}\" number {}\n", h.port, i + 1);
        }
        for (i, p) in extra.iter().enumerate() {
            conf += &format!("\tport \"{p}\" number {}\n", 9 + i);
        }
        conf += &format!("\ttable-miss normal\n{more}}}\n");
        let d = Daemon::start(&conf);
        if more.is_empty() {
            d.wait_for("the local switch did not connect", || {
                d.ctl_ok(&["show", "switches"]).contains("local:vm")
            });
        }
        let rig = Rig { d, lan, _br: br };
        // The bridge forwards between every pair before any flow is added.
        for i in 1..n {
            assert!(
                rig.h(0).ping_eventually(rig.lan.hosts[i].ip, 10),
                "no ping from host 0 to host {i} with table-miss normal; switchd stderr:\n{}",
                rig.d.stderr()
            );
        }
        rig
    }

    fn h(&self, i: usize) -> &Netns {
        &self.lan.hosts[i].ns
    }

    fn ip(&self, i: usize) -> Ipv4Addr {
        self.lan.hosts[i].ip
    }

    /// `switchctl add flow vm FLOW`, which must succeed.
    fn add(&self, flow: &str) {
        let out = self.d.ctl_ok(&["add", "flow", "vm", flow]);
        assert!(out.contains("flow added"), "add flow {flow}: {out}");
        println!("added {flow}");
        for h in &self.lan.hosts {
            let tc = regress::run_ok(&["tc", "filter", "show", "dev", &h.port, "ingress"])
                .unwrap_or_default();
            if tc.contains("flower") {
                println!("tc filter show dev {} ingress:\n{tc}", h.port);
                break;
            }
        }
    }

    /// `switchctl add flow vm FLOW`, which must fail with the OpenFlow error `code` (by its
    /// name); switchd's log gives the reason, which must contain `why`.
    fn refused(&self, flow: &str, code: &str, why: &str) {
        let out = self.d.ctl(&["add", "flow", "vm", flow]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "switchctl accepted {flow}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        println!("refused {flow}: {err}");
        assert!(err.contains(code), "{flow}: not {code}: {err}");
        let line = format!("flow_mod refused: {why}");
        self.d
            .wait_for(&format!("no log line with \"{line}\""), || {
                self.d.stderr().contains(&line)
            });
    }

    /// `switchctl del flow vm MATCH` (non-strict): removes the test's flows.
    fn del(&self, m: &str) {
        self.d.ctl_ok(&["del", "flow", "vm", m]);
    }

    /// A ping from host `from` to `dst` (with `ping` options `opts`) is answered within
    /// five tries (the first may wait for ARP or neighbour discovery); else fail with `why`.
    #[track_caller]
    fn assert_pings(&self, from: usize, dst: &str, opts: &[&str], why: &str) {
        assert!(
            (0..5).any(|_| ping(self.h(from), dst, opts)),
            "{why}; switchd stderr:\n{}",
            self.d.stderr()
        );
    }

    /// One ping from host `from` to `dst` goes unanswered; else fail with `why`. Flows are in
    /// the kernel when `add flow` returns, so one lost ping is the flow's doing; every such
    /// check comes with one that passes on another path.
    #[track_caller]
    fn assert_never_pings(&self, from: usize, dst: &str, opts: &[&str], why: &str) {
        assert!(
            !ping(self.h(from), dst, opts),
            "{why}; switchd stderr:\n{}",
            self.d.stderr()
        );
    }

    /// Forget every neighbour (ARP and ND) in every host, so the next packet resolves again.
    fn flush_neighbours(&self) {
        for h in &self.lan.hosts {
            let _ = h.ns.ip(&["neigh", "flush", "dev", "eth0"]);
            let _ = h.ns.ip(&["-6", "neigh", "flush", "dev", "eth0"]);
        }
    }
}

/// One ping from `ns` to `dst` (either family) with extra `ping` options; whether a reply came
/// within a second.
fn ping(ns: &Netns, dst: &str, opts: &[&str]) -> bool {
    let mut args = vec!["ping", "-n", "-q", "-c", "1", "-W", "1"];
    args.extend_from_slice(opts);
    args.push(dst);
    ns.exec(&args).is_ok()
}

/// A permanent neighbour entry in `ns`: `ip` is at `mac` on `dev`, so no ARP is needed.
fn static_neighbour(ns: &Netns, dev: &str, ip: &str, mac: &str) {
    ns.ip(&[
        "neigh",
        "replace",
        ip,
        "lladdr",
        mac,
        "dev",
        dev,
        "nud",
        "permanent",
    ])
    .expect("static neighbour");
}

/// Send one UDP datagram from `ns`, bound to source port `sport`, to `to`; whether `rx`
/// receives it within a second.
fn udp_arrives(ns: &Netns, sport: u16, to: SocketAddr, rx: &UdpSocket) -> bool {
    let sent = ns
        .enter(move || -> std::io::Result<()> {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, sport))?;
            s.send_to(b"switchd-regress", to)?;
            Ok(())
        })
        .and_then(|r| r);
    assert!(sent.is_ok(), "cannot send UDP from port {sport}: {sent:?}");
    rx.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    matches!(rx.recv_from(&mut buf), Ok((15, _)))
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn eth_src_and_eth_dst_with_masks() {
    let r = Rig::new(3, &[]);
    let (ip1, ip2) = (r.ip(1).to_string(), r.ip(2).to_string());

    // dl_src masked to the first five bytes: host 1's frames (02:00:00:00:02:01) drop,
    // hosts 0 and 2 (…:01:01, …:03:01) go on talking.
    r.add("priority=100,dl_src=02:00:00:00:02:00/ff:ff:ff:ff:ff:00,actions=drop");
    r.assert_never_pings(0, &ip1, &[], "host 1's frames not dropped");
    r.assert_never_pings(1, &ip2, &[], "host 1's frames not dropped");
    r.assert_pings(0, &ip2, &[], "host 2 caught by host 1's mask");
    r.del("dl_src=02:00:00:00:02:00/ff:ff:ff:ff:ff:00");
    r.assert_pings(0, &ip1, &[], "host 1 still cut off");

    // dl_dst with only the group bit: broadcast and multicast drop, unicast does not.
    // The ARP request is broadcast, so a host whose neighbours are forgotten reaches no one;
    // a permanent neighbour entry on both ends needs no ARP, and unicast ping goes through.
    r.add("priority=100,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop");
    r.flush_neighbours();
    r.assert_never_pings(0, &ip2, &[], "broadcast ARP request not dropped");
    for (a, b) in [(0, 1), (1, 0)] {
        static_neighbour(r.h(a), "eth0", &r.ip(b).to_string(), &host_mac(b));
    }
    r.assert_pings(0, &ip1, &[], "unicast caught by the group-bit mask");
    r.del("dl_dst=01:00:00:00:00:00/01:00:00:00:00:00");
    r.assert_pings(0, &ip2, &[], "broadcast still dropped after the delete");
}

/// Give host i the addresses fd00:a::(i+1)/64 and fd00:b::(i+1)/64 (no duplicate detection,
/// so they work at once).
fn add_v6(r: &Rig) {
    for (i, h) in r.lan.hosts.iter().enumerate() {
        for net in ["a", "b"] {
            h.ns.ip(&[
                "-6",
                "addr",
                "add",
                &format!("fd00:{net}::{}/64", i + 1),
                "dev",
                "eth0",
                "nodad",
            ])
            .expect("IPv6 address");
        }
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn ipv6_prefixes_and_icmpv6_type() {
    let r = Rig::new(3, &[]);
    add_v6(&r);
    r.assert_pings(0, "fd00:a::2", &[], "no IPv6 ping without flows");
    r.assert_pings(0, "fd00:b::2", &[], "no IPv6 ping without flows");

    // ipv6_dst by a /64: fd00:b:: is cut off, fd00:a:: is not.
    r.add("priority=100,ipv6,ipv6_dst=fd00:b::/64,actions=drop");
    r.assert_never_pings(0, "fd00:b::2", &[], "fd00:b::/64 not dropped");
    r.assert_pings(0, "fd00:a::2", &[], "fd00:a:: caught by fd00:b::/64");
    r.del("ipv6,ipv6_dst=fd00:b::/64");

    // ipv6_src by a /127 (fd00:a::2 and ::3): hosts 1 and 2 cannot speak from fd00:a::,
    // host 0 (fd00:a::1) can, and so can everyone from fd00:b::.
    r.add("priority=100,ipv6,ipv6_src=fd00:a::2/127,actions=drop");
    r.assert_never_pings(1, "fd00:a::1", &[], "fd00:a::2 not dropped");
    r.assert_never_pings(0, "fd00:a::3", &[], "reply from fd00:a::3 not dropped");
    r.assert_pings(1, "fd00:b::1", &[], "fd00:b::2 caught by fd00:a::2/127");
    r.del("ipv6,ipv6_src=fd00:a::2/127");
    r.assert_pings(0, "fd00:a::3", &[], "still dropped after the delete");

    // icmpv6_type 128 (echo request): ping fails, but neighbour discovery (types 135, 136)
    // goes on: with the neighbour caches flushed, TCP over IPv6 still connects.
    r.add("priority=100,icmp6,icmpv6_type=128,actions=drop");
    r.flush_neighbours();
    r.assert_never_pings(0, "fd00:a::2", &[], "echo request not dropped");
    let to: SocketAddr = "[fd00:a::2]:5001".parse().expect("address");
    r.h(1).tcp_listen(to).expect("listen");
    assert!(
        (0..3).any(|_| r.h(0).tcp_reaches(to, Duration::from_secs(2))),
        "no TCP over IPv6: neighbour discovery broken by icmpv6_type=128"
    );
    let neigh = r
        .h(0)
        .ip(&["-6", "neigh", "show", "fd00:a::2"])
        .expect("neigh");
    assert!(neigh.contains("lladdr"), "fd00:a::2 unresolved: {neigh}");
    r.del("icmp6,icmpv6_type=128");
    r.assert_pings(0, "fd00:a::2", &[], "ping6 still dropped after the delete");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn arp_op_spa_tpa() {
    let r = Rig::new(3, &[]);
    let (ip0, ip1, ip2) = (
        r.ip(0).to_string(),
        r.ip(1).to_string(),
        r.ip(2).to_string(),
    );

    // ARP requests for 10.77.0.2 drop: host 1 cannot be resolved, host 2 can.
    r.add("priority=100,arp,arp_op=1,arp_tpa=10.77.0.2,actions=drop");
    r.flush_neighbours();
    r.assert_never_pings(0, &ip1, &[], "ARP request for .2 not dropped");
    r.assert_pings(0, &ip2, &[], "ARP request for .3 dropped");
    // Only requests: given host 1's MAC, host 0 pings it, and host 1's own request for
    // 10.77.0.1 and host 0's reply (arp_op 2, arp_spa .1) go through.
    static_neighbour(r.h(0), "eth0", &ip1, &host_mac(1));
    r.assert_pings(0, &ip1, &[], "more than the request for .2 dropped");
    r.del("arp,arp_op=1,arp_tpa=10.77.0.2");
    r.flush_neighbours();
    let _ = r.h(0).ip(&["neigh", "del", &ip1, "dev", "eth0"]);
    r.assert_pings(0, &ip1, &[], "ARP still dropped after the delete");

    // arp_spa 10.77.0.3 (masked /32 written as a prefix of its own): host 2 cannot be
    // resolved by or resolve anyone; hosts 0 and 1 still can.
    r.add("priority=100,arp,arp_spa=10.77.0.3/32,actions=drop");
    r.flush_neighbours();
    r.assert_never_pings(0, &ip2, &[], "ARP from .3 not dropped");
    r.assert_never_pings(2, &ip0, &[], "ARP from .3 not dropped");
    r.assert_pings(1, &ip0, &[], "ARP from .2 dropped");
    r.del("arp,arp_spa=10.77.0.3/32");
    r.assert_pings(2, &ip0, &[], "ARP still dropped after the delete");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn tcp_flags_and_masked_l4_ports() {
    let r = Rig::new(2, &[]);
    let ip1 = r.ip(1);
    let (a, b) = (SocketAddr::from((ip1, 5001)), SocketAddr::from((ip1, 6001)));
    r.h(1).tcp_listen(a).expect("listen");
    r.h(1).tcp_listen(b).expect("listen");
    let tcp_from_0 = |to| r.h(0).tcp_reaches(to, Duration::from_secs(2));
    assert!(tcp_from_0(a), "no TCP to 5001");

    // A connection opened before the flow, that the flow must leave alone: it carries no SYN.
    let mut open = r
        .h(0)
        .enter(move || TcpStream::connect_timeout(&a, Duration::from_secs(2)))
        .expect("enter")
        .expect("connect to 5001");
    open.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");

    // tcp_flags +syn-ack to port 5001: new connections fail, the open one goes on, and
    // port 6001 is untouched.
    r.add("priority=100,tcp,tp_dst=5001,tcp_flags=+syn-ack,actions=drop");
    assert!(!tcp_from_0(a), "SYN to 5001 not dropped");
    assert!(tcp_from_0(b), "SYN to 6001 dropped");
    open.write_all(b"switchd-regress").expect("write");
    let mut buf = [0u8; 15];
    open.read_exact(&mut buf)
        .expect("the connection opened before the SYN flow stalled");
    assert_eq!(&buf, b"switchd-regress");
    drop(open);
    r.del("tcp,tp_dst=5001");

    // tp_dst 0x1380/0xfff0 (4992-5007): 5001 is caught, 6001 is not.
    r.add("priority=100,tcp,tp_dst=0x1380/0xfff0,actions=drop");
    assert!(
        !tcp_from_0(a),
        "TCP to 5001 not dropped by tp_dst=0x1380/0xfff0"
    );
    assert!(tcp_from_0(b), "TCP to 6001 dropped by tp_dst=0x1380/0xfff0");
    r.del("tcp,tp_dst=0x1380/0xfff0");
    assert!(tcp_from_0(a), "still dropped");

    // udp tp_src 0x2000/0xff00 (8192-8447): from 8200 dropped, from 9000 not.
    let to = SocketAddr::from((ip1, 7001));
    let rx = r.h(1).udp_bind(to).expect("bind");
    let udp_from_0 = |sport: u16| udp_arrives(r.h(0), sport, to, &rx);
    assert!(udp_from_0(8200), "no UDP without flows");
    r.add("priority=100,udp,tp_src=0x2000/0xff00,actions=drop");
    assert!(
        !udp_from_0(8201),
        "UDP from 8201 not dropped by tp_src=0x2000/0xff00"
    );
    assert!(
        udp_from_0(9000),
        "UDP from 9000 dropped by tp_src=0x2000/0xff00"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn ip_dscp_and_ecn() {
    let r = Rig::new(2, &[]);
    let ip1 = r.ip(1).to_string();
    // DSCP 46 (EF): ToS 0xb8, and 0xb9 with ECN 1, both drop; DSCP 10 (ToS 0x28) does not.
    r.add("priority=100,ip,ip_dscp=46,actions=drop");
    r.assert_never_pings(0, &ip1, &["-Q", "0xb8"], "DSCP 46 not dropped");
    r.assert_never_pings(0, &ip1, &["-Q", "0xb9"], "DSCP 46 with ECN 1 not dropped");
    r.assert_pings(0, &ip1, &["-Q", "0x28"], "DSCP 10 dropped");
    r.assert_pings(0, &ip1, &[], "DSCP 0 dropped");
    r.del("ip,ip_dscp=46");

    // ECN 3 (CE) alone: ToS 0x03 and 0x2b drop, ToS 0x01 and 0x28 do not.
    r.add("priority=100,ip,nw_ecn=3,actions=drop");
    r.assert_never_pings(0, &ip1, &["-Q", "0x03"], "ECN 3 not dropped");
    r.assert_never_pings(0, &ip1, &["-Q", "0x2b"], "ECN 3 with DSCP 10 not dropped");
    r.assert_pings(0, &ip1, &["-Q", "0x01"], "ECN 1 dropped");
    r.assert_pings(0, &ip1, &["-Q", "0x28"], "ECN 0 dropped");
    r.del("ip,nw_ecn=3");

    // Both together: DSCP 10 and ECN 1 (ToS 0x29) only.
    r.add("priority=100,ip,ip_dscp=10,nw_ecn=1,actions=drop");
    r.assert_never_pings(0, &ip1, &["-Q", "0x29"], "ToS 0x29 not dropped");
    r.assert_pings(0, &ip1, &["-Q", "0x2a"], "ToS 0x2a dropped");
    r.assert_pings(0, &ip1, &["-Q", "0x09"], "ToS 0x09 dropped");
}

/// Give hosts 0 and 1 a VLAN device eth0.VID with 10.(100+VID).0.(i+1)/24 whose frames
/// carry PCP `pcp`; the address of host 1's end.
fn add_vlan(r: &Rig, vid: u16, pcp: u8) -> String {
    for i in 0..2 {
        let h = r.h(i);
        let dev = format!("eth0.{vid}");
        h.ip(&[
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
        h.ip(&[
            "addr",
            "add",
            &format!("10.{}.0.{}/24", 100 + vid, i + 1),
            "dev",
            &dev,
        ])
        .expect("VLAN address");
        h.ip(&["link", "set", &dev, "up"]).expect("VLAN up");
    }
    format!("10.{}.0.2", 100 + vid)
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn vlan_vid_and_pcp_on_tagged_traffic() {
    let r = Rig::new(2, &[]);
    let ip1 = r.ip(1).to_string();
    let v10 = add_vlan(&r, 10, 0);
    let v20 = add_vlan(&r, 20, 5);
    let v21 = add_vlan(&r, 21, 3);
    for v in [&v10, &v20, &v21] {
        r.assert_pings(
            0,
            v,
            &[],
            &format!("no ping over the tag to {v} without flows"),
        );
    }

    // VID 10 drops; VID 20, 21 and untagged do not.
    r.add("priority=100,dl_vlan=10,actions=drop");
    r.assert_never_pings(0, &v10, &[], "VID 10 not dropped");
    r.assert_pings(0, &v20, &[], "VID 20 dropped by dl_vlan=10");
    r.assert_pings(0, &ip1, &[], "untagged dropped by dl_vlan=10");
    r.del("dl_vlan=10");

    // PCP 5 on any VID: VID 20 (PCP 5) drops, VID 21 (PCP 3) and VID 10 (PCP 0) do not.
    r.add("priority=100,vlan_tci=0x1000/0x1000,dl_vlan_pcp=5,actions=drop");
    r.assert_never_pings(0, &v20, &[], "PCP 5 not dropped");
    r.assert_pings(0, &v21, &[], "PCP 3 dropped by dl_vlan_pcp=5");
    r.assert_pings(0, &v10, &[], "PCP 0 dropped by dl_vlan_pcp=5");
    r.assert_pings(0, &ip1, &[], "untagged dropped by dl_vlan_pcp=5");
    r.del("vlan_tci=0x1000/0x1000");

    // VID and PCP together: VID 21 with PCP 3 drops, VID 20 (PCP 5) does not.
    r.add("priority=100,dl_vlan=21,dl_vlan_pcp=3,actions=drop");
    r.assert_never_pings(0, &v21, &[], "VID 21 PCP 3 not dropped");
    r.assert_pings(0, &v20, &[], "VID 20 dropped by dl_vlan=21");

    // An IP match without VLAN fields sees the header after the tag.
    r.del("dl_vlan=21");
    r.add("priority=100,icmp,nw_dst=10.120.0.2,actions=drop");
    r.assert_never_pings(0, &v20, &[], "tagged ICMP not dropped by its inner header");
    r.assert_pings(0, &v21, &[], "VID 21 dropped by nw_dst=10.120.0.2");
}

/// A VXLAN underlay: `ul` (192.168.77.1/24, root namespace) to a remote namespace
/// (192.168.77.2/24) whose VXLAN device `vx1` (VNI 42) holds 10.77.0.9/24; and `vx`, a
/// VXLAN device in the root namespace in external (metadata) mode, to become a bridge
/// port: what arrives on it carries the tunnel's id and addresses as metadata.
struct Vxlan {
    remote: Netns,
    vx: LinkGuard,
    ul: VethPair,
}

impl Vxlan {
    fn new() -> Vxlan {
        let remote = Netns::new().expect("remote namespace");
        let ul = VethPair::new(None, Some(&remote)).expect("underlay veth");
        regress::run_ok(&["ip", "addr", "add", "192.168.77.1/24", "dev", &ul.a]).expect("addr");
        regress::run_ok(&["ip", "link", "set", &ul.a, "up"]).expect("up");
        remote
            .ip(&["addr", "add", "192.168.77.2/24", "dev", &ul.b])
            .expect("addr");
        remote.ip(&["link", "set", &ul.b, "up"]).expect("up");
        let vx = LinkGuard(unique_name());
        regress::run_ok(&[
            "ip", "link", "add", &vx.0, "type", "vxlan", "external", "dstport", "4789",
        ])
        .expect("external vxlan");
        regress::run_ok(&["ip", "link", "set", &vx.0, "up"]).expect("up");
        remote
            .ip(&[
                "link",
                "add",
                "vx1",
                "type",
                "vxlan",
                "id",
                "42",
                "local",
                "192.168.77.2",
                "remote",
                "192.168.77.1",
                "dstport",
                "4789",
            ])
            .expect("remote vxlan");
        remote
            .ip(&["link", "set", "vx1", "address", "02:00:00:00:09:01"])
            .expect("MAC");
        remote
            .ip(&["addr", "add", "10.77.0.9/24", "dev", "vx1"])
            .expect("addr");
        remote.ip(&["link", "set", "vx1", "up"]).expect("up");
        Vxlan { remote, vx, ul }
    }
}

/// A `tcpdump -n -v -c 1 -i DEV FILTER` started in `ns` (or the root namespace), ready once
/// it says it listens; its output once it has seen one packet.
struct Capture {
    proc: Proc,
    out: std::path::PathBuf,
    _dir: TempDir,
}

impl Capture {
    fn start(ns: Option<&Netns>, dev: &str, filter: &str) -> Capture {
        let dir = TempDir::new("tcpdump");
        let out = dir.0.join("out");
        let err = dir.0.join("err");
        let mut cmd = match ns {
            Some(ns) => ns.command("tcpdump"),
            None => Command::new("tcpdump"),
        };
        cmd.args(["-n", "-v", "-l", "-c", "1", "-i", dev])
            .args(filter.split(' '))
            .stdout(std::fs::File::create(&out).expect("tcpdump output"))
            .stderr(std::fs::File::create(&err).expect("tcpdump stderr"));
        let proc = Proc::spawn("tcpdump", &mut cmd).expect("tcpdump");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&err)
            .unwrap_or_default()
            .contains("listening on")
        {
            assert!(Instant::now() < deadline, "tcpdump did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Capture {
            proc,
            out,
            _dir: dir,
        }
    }

    /// What tcpdump printed, once it exited after its packet (or after 5 s without one).
    fn finish(mut self) -> String {
        if self.proc.wait_timeout(Duration::from_secs(5)).is_none() {
            self.proc.stop();
        }
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn tunnel_id_on_a_vxlan_port() {
    let vxl = Vxlan::new();
    let r = Rig::new(2, &[&vxl.vx.0]);
    // The remote sends to host 0 without ARP (host 0 answers nothing over the tunnel: the
    // external device needs a tunnel_key set to send, which only a controller can give).
    static_neighbour(&vxl.remote, "vx1", "10.77.0.1", &host_mac(0));
    let to = SocketAddr::from((r.ip(0), 7001));
    let rx = r.h(0).udp_bind(to).expect("bind");
    let from_remote = |sport: u16| udp_arrives(&vxl.remote, sport, to, &rx);

    // The frame crosses the underlay with VNI 42 and reaches host 0 through the bridge.
    let cap = Capture::start(None, &vxl.ul.a, "udp port 4789");
    assert!(
        (0..3).any(|_| from_remote(7002)),
        "nothing crossed the VXLAN to host 0"
    );
    let seen = cap.finish();
    println!("underlay: {seen}");
    assert!(
        seen.contains("vni 42"),
        "VNI 42 not on the underlay: {seen}"
    );

    // tun_id 42 on the VXLAN port drops it; tun_id 43 does not.
    r.add("priority=100,in_port=9,tun_id=42,actions=drop");
    assert!(!from_remote(7002), "tun_id=42 did not drop VNI 42");
    r.del("in_port=9,tun_id=42");
    r.add("priority=100,in_port=9,tun_id=43,actions=drop");
    assert!(from_remote(7002), "tun_id=43 dropped VNI 42");
    r.del("in_port=9,tun_id=43");
    // Without in_port too (the filter then sits on every port, vx included).
    r.add("priority=100,tun_id=42,actions=drop");
    assert!(
        !from_remote(7002),
        "tun_id=42 without in_port did not drop VNI 42"
    );
    r.del("tun_id=42");

    // Setting the tunnel id on output needs both tunnel addresses, which switchctl's flow
    // syntax cannot give: refused with the reason.
    r.refused(
        "priority=100,in_port=1,actions=set_field:42->tun_id,output:9",
        "OFPBAC_BAD_SET_ARGUMENT",
        "setting tunnel_id needs tun_src and tun_dst set too",
    );
}

/// The controller a local switch is handed to (`forward to`): the test's own
/// (common/ofswitch.rs), because the fields below have no `switchctl` syntax: its FLOW_MODs
/// get OXMs added to their match and set-fields put before their actions.
struct Controller(ofswitch::Controller);

impl Controller {
    fn accept(l: &TcpListener) -> Controller {
        Controller(ofswitch::Controller::accept(l, || {
            "(switchd's log is in the failure above)".to_string()
        }))
    }

    /// FLOW_MOD ADD of `flow` (ovs-ofctl syntax) with `fields` added to its match and
    /// `set` put before its actions; the switch's OFPT_ERROR (type, code) if it sent one.
    fn add(
        &mut self,
        flow: &str,
        fields: &[ofproto::v13::Oxm],
        set: &[ofproto::v13::Oxm],
    ) -> Result<(), (u16, u16)> {
        self.flow_mod(ofproto::v13::FlowModCommand::Add, flow, fields, set)
    }

    /// FLOW_MOD DELETE_STRICT of what [`Controller::add`] added.
    fn del(&mut self, flow: &str, fields: &[ofproto::v13::Oxm]) {
        let cmd = ofproto::v13::FlowModCommand::DeleteStrict;
        let r = self.flow_mod(cmd, flow, fields, &[]);
        assert!(r.is_ok(), "delete {flow} {fields:?}: {r:?}");
    }

    fn flow_mod(
        &mut self,
        cmd: ofproto::v13::FlowModCommand,
        flow: &str,
        fields: &[ofproto::v13::Oxm],
        set: &[ofproto::v13::Oxm],
    ) -> Result<(), (u16, u16)> {
        use ofproto::v13::{Action, Instruction, Message};
        let mut fm = ofproto::text::parse_flow(flow, cmd).expect("flow syntax");
        fm.match_.fields.extend(fields.iter().cloned());
        if let Some(Instruction::ApplyActions(a)) = fm.instructions.first_mut() {
            for (i, f) in set.iter().enumerate() {
                a.insert(i, Action::SetField(f.clone()));
            }
        }
        let err = self.0.request(Message::FlowMod(fm)).err();
        println!("controller: {cmd:?} {flow} + {fields:?} + set {set:?}: error {err:?}");
        err.map_or(Ok(()), Err)
    }
}

/// An NXM_1 field (Open vSwitch's extension class) as an opaque OXM.
fn nxm(field: u8, payload: &[u8], has_mask: bool) -> ofproto::v13::Oxm {
    ofproto::v13::Oxm::Opaque(ofproto::v13::OxmOpaque {
        class: ofproto::v13::oxm::OXM_CLASS_NXM_1,
        field,
        has_mask,
        payload: bytes::Bytes::copy_from_slice(payload),
    })
}

const NXM_IP_TTL: u8 = 29;
const NXM_TUN_IPV4_SRC: u8 = 31;
const NXM_TUN_IPV4_DST: u8 = 32;

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn nw_ttl_tunnel_addresses_and_a_tunnel_out_from_a_controller() {
    let vxl = Vxlan::new();
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let r = Rig::with(
        2,
        &[&vxl.vx.0],
        &format!("\tforward to tcp:127.0.0.1:{port}\n"),
    );
    let mut c = Controller::accept(&listener);
    let ip1 = r.ip(1).to_string();

    // nw_ttl 5: ping -t 5 drops, ping -t 64 (and the replies, TTL 64) do not.
    c.add(
        "priority=100,ip,actions=drop",
        &[nxm(NXM_IP_TTL, &[5], false)],
        &[],
    )
    .expect("nw_ttl refused");
    r.assert_never_pings(0, &ip1, &["-t", "5"], "TTL 5 not dropped");
    r.assert_pings(0, &ip1, &["-t", "6"], "TTL 6 dropped by nw_ttl=5");
    // A TTL match with a mask is refused: flower has the mask, the NXM field has none.
    let e = c
        .add(
            "priority=101,ip,actions=drop",
            &[nxm(NXM_IP_TTL, &[5, 0xff], true)],
            &[],
        )
        .expect_err("masked nw_ttl accepted");
    assert_eq!(e.0, 4, "not OFPET_BAD_MATCH: {e:?}");

    // From the tunnel out: host 0's frames (port 1) get VNI 42 from 192.168.77.1 to
    // 192.168.77.2 and leave by the VXLAN port; the remote answers through the bridge.
    vxl.remote
        .ip(&["neigh", "flush", "dev", "vx1"])
        .expect("flush");
    let tunnel_out = |c: &mut Controller, vni: u32| {
        c.add(
            &format!("priority=100,in_port=1,actions=set_field:{vni}->tun_id,output:9"),
            &[],
            &[
                nxm(NXM_TUN_IPV4_SRC, &[192, 168, 77, 1], false),
                nxm(NXM_TUN_IPV4_DST, &[192, 168, 77, 2], false),
            ],
        )
        .expect("tunnel out refused")
    };
    tunnel_out(&mut c, 42);
    // Only the ping's echo request on its way out: the remote's own packets (an IPv6 router
    // solicitation from vx1, ARP) cross the same underlay the other way, and host 0's ARP
    // and ND go out before the ping does. Offsets are from the outer UDP header: VXLAN at 8,
    // the inner Ethernet at 16 (type at 28), the inner IPv4 at 30 (protocol at 39,
    // destination at 46), ICMP at 50.
    let cap = Capture::start(
        None,
        &vxl.ul.a,
        "src host 192.168.77.1 and dst host 192.168.77.2 and udp dst port 4789 \
         and udp[28:2] = 0x0800 and udp[39] = 1 and udp[46:4] = 0x0a4d0009 and udp[50] = 8",
    );
    r.assert_pings(0, "10.77.0.9", &[], "no ping across the VXLAN");
    let seen = cap.finish();
    println!("underlay, outbound: {seen}");
    assert!(
        seen.contains("192.168.77.1")
            && seen.contains("> 192.168.77.2.4789")
            && seen.contains("vni 42"),
        "not VNI 42 from 192.168.77.1 to 192.168.77.2: {seen}"
    );
    // VNI 43 is not the remote's: nothing gets through.
    tunnel_out(&mut c, 43);
    vxl.remote
        .ip(&["neigh", "flush", "dev", "vx1"])
        .expect("flush");
    r.assert_never_pings(0, "10.77.0.9", &[], "VNI 43 reached VNI 42");
    tunnel_out(&mut c, 42);
    r.assert_pings(0, "10.77.0.9", &[], "no ping with VNI 42 again");

    // tun_src and tun_dst (masked) on the way in: the remote's packets come from
    // 192.168.77.2 to 192.168.77.1.
    let tun_src = |a: [u8; 4]| [nxm(NXM_TUN_IPV4_SRC, &a, false)];
    let tun_dst_24 =
        |[a, b, c]: [u8; 3]| [nxm(NXM_TUN_IPV4_DST, &[a, b, c, 0, 255, 255, 255, 0], true)];
    c.add(
        "priority=200,in_port=9,actions=drop",
        &tun_src([192, 168, 77, 2]),
        &[],
    )
    .expect("tun_src refused");
    r.assert_never_pings(0, "10.77.0.9", &[], "tun_src .2 not dropped");
    c.del("priority=200,in_port=9", &tun_src([192, 168, 77, 2]));
    c.add(
        "priority=200,in_port=9,actions=drop",
        &tun_src([192, 168, 77, 3]),
        &[],
    )
    .expect("tun_src refused");
    r.assert_pings(0, "10.77.0.9", &[], "tun_src .3 dropped .2");
    c.add(
        "priority=201,in_port=9,actions=drop",
        &tun_dst_24([192, 168, 77]),
        &[],
    )
    .expect("tun_dst refused");
    r.assert_never_pings(0, "10.77.0.9", &[], "tun_dst /24 not dropped");
    c.del("priority=201,in_port=9", &tun_dst_24([192, 168, 77]));
    c.add(
        "priority=201,in_port=9,actions=drop",
        &tun_dst_24([192, 168, 78]),
        &[],
    )
    .expect("tun_dst refused");
    r.assert_pings(0, "10.77.0.9", &[], "tun_dst 192.168.78.0/24 dropped");
}
