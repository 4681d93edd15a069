//! Kernel tier: VMs on three hypervisors reach each other over VXLAN and Geneve tunnels that
//! switchd makes (collect-metadata devices: `port "vx0" vxlan`, `port "gnv0" geneve`), the
//! VNI keeps two tenants with the same addresses and MACs apart, and a meter
//! (`meter 1 rate 4000 kbps`) limits what one VM sends. The same flows on Open vSwitch's
//! kernel datapath (openvswitch.ko, `datapath_type=system`, tunnel ports with
//! `options:remote_ip=flow options:key=flow`), on the same rig in the same test, must give
//! the same outcomes.
//!
//! The rig (`common/hypervisors.rs`): hypervisors hv0, hv1, hv2 (192.0.2.1-3 on the
//! underlay), each with its own switchd (or its own Open vSwitch), and VMs:
//!
//! | network | encapsulation, VNI | VMs (10.1.0.1 on hv0, 10.1.0.2 on the other) |
//! |---|---|---|
//! | blue  | VXLAN 100 | b1 on hv0 port 1, b2 on hv1 port 1 |
//! | green | VXLAN 300 | g1 on hv0 port 3, g2 on hv1 port 3 |
//! | red   | Geneve 200 | r1 on hv0 port 2, r2 on hv2 port 2 |
//!
//! blue and green have the same addresses and the same MACs, on the same hypervisors and
//! the same VXLAN device: only the VNI tells them apart.

#[path = "common/hypervisors.rs"]
mod hv;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hv::{Hypervisors, OvsHv};

const VXLAN: u32 = 100;
const GENEVE: u32 = 200;
/// The configured meter's rate, kbit/s.
const RATE_KBPS: u32 = 4000;
const MAC1: &str = "52:54:00:00:00:01";
const MAC2: &str = "52:54:00:00:00:02";
const IP1: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const IP2: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

/// One VM's forwarding: its port, its network's VNI, the tunnel port, the peer hypervisor.
struct Leg {
    port: u32,
    vni: u32,
    tunnel: u32,
    peer: Ipv4Addr,
}

fn hv_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, i as u8 + 1)
}

/// Each hypervisor's legs (see the table above).
fn legs(hv: usize) -> Vec<Leg> {
    let leg = |port, vni, tunnel, peer| Leg {
        port,
        vni,
        tunnel,
        peer: hv_addr(peer),
    };
    match hv {
        0 => vec![
            leg(1, 100, VXLAN, 1),
            leg(3, 300, VXLAN, 1),
            leg(2, 200, GENEVE, 2),
        ],
        1 => vec![leg(1, 100, VXLAN, 0), leg(3, 300, VXLAN, 0)],
        _ => vec![leg(2, 200, GENEVE, 0)],
    }
}

/// The flows of hypervisor `hv`, the same text for switchd and for ovs-ofctl: a VM's
/// frames go out of the tunnel with its network's VNI to the peer; the tunnel's frames
/// with that VNI go to the VM. Blue's VM on hv0 (port 1) is metered.
fn flows(hv: usize) -> Vec<String> {
    let me = hv_addr(hv);
    let mut v = Vec::new();
    for l in legs(hv) {
        let meter = if hv == 0 && l.port == 1 {
            "meter:1,"
        } else {
            ""
        };
        v.push(format!(
            "priority=10,in_port={},actions={meter}set_field:{}->tunnel_id,set_field:{}->tun_dst,set_field:{me}->tun_src,output:{}",
            l.port, l.vni, l.peer, l.tunnel
        ));
        v.push(format!(
            "priority=10,in_port={},tunnel_id={},actions=output:{}",
            l.tunnel, l.vni, l.port
        ));
    }
    v
}

/// switchd's configuration for hypervisor `hv`.
fn switch_block(hv: usize) -> String {
    let mut s = String::from("switch \"vnet\" {\n\tbridge \"vnet0\"\n\ttable-miss drop\n");
    for l in legs(hv) {
        s += &format!("\tport \"tap{0}\" number {0}\n", l.port);
    }
    s += &format!("\tport \"vx0\" vxlan number {VXLAN}\n");
    s += &format!("\tport \"gnv0\" geneve dstport 6081 number {GENEVE}\n");
    s += &format!("\tmeter 1 rate {RATE_KBPS} kbps\n");
    for f in flows(hv) {
        s += &format!("\tflow \"{f}\"\n");
    }
    s + "}\n"
}

/// Three hypervisors and the six VMs of the table, no switch yet.
fn rig() -> Hypervisors {
    let mut r = Hypervisors::new(3);
    for hv in 0..3 {
        for l in legs(hv) {
            let (ip, mac) = if hv == 0 { (IP1, MAC1) } else { (IP2, MAC2) };
            r.add_vm(hv, &format!("tap{}", l.port), ip, mac);
        }
    }
    r
}

/// What a user notices.
#[derive(Debug, PartialEq, Eq)]
struct Outcomes {
    blue_ping_over_vxlan: bool,
    blue_tcp_over_vxlan: bool,
    green_ping_over_vxlan: bool,
    red_ping_over_geneve: bool,
    red_tcp_over_geneve: bool,
    /// 20 datagrams from b1 to 10.1.0.2: how many b2 and g2 got.
    blue_udp_reached_blue_green: Vec<usize>,
    /// 20 datagrams from g1 to 10.1.0.2: how many g2 and b2 got.
    green_udp_reached_green_blue: Vec<usize>,
    /// The rate b2 sees of b1's flood, within 20% of the meter's.
    metered_within_20_percent: bool,
}

fn expected() -> Outcomes {
    Outcomes {
        blue_ping_over_vxlan: true,
        blue_tcp_over_vxlan: true,
        green_ping_over_vxlan: true,
        red_ping_over_geneve: true,
        red_tcp_over_geneve: true,
        blue_udp_reached_blue_green: vec![20, 0],
        green_udp_reached_green_blue: vec![20, 0],
        metered_within_20_percent: true,
    }
}

/// The traffic of the test, on whichever switches run.
fn exercise(r: &Hypervisors, who: &str) -> Outcomes {
    let (b1, g1, r1) = (&r.hvs[0].vms[0], &r.hvs[0].vms[1], &r.hvs[0].vms[2]);
    let (b2, g2) = (&r.hvs[1].vms[0], &r.hvs[1].vms[1]);
    let r2 = &r.hvs[2].vms[0];
    let tcp = Duration::from_secs(10);
    b2.ns.tcp_listen(b2.addr(7001)).expect("listen");
    r2.ns.tcp_listen(r2.addr(7001)).expect("listen");
    let blue_ping_over_vxlan = b1.ns.ping_eventually(IP2, 20);
    let green_ping_over_vxlan = g1.ns.ping_eventually(IP2, 20);
    let red_ping_over_geneve = r1.ns.ping_eventually(IP2, 20);
    let blue_tcp_over_vxlan = b1.ns.tcp_reaches(b2.addr(7001), tcp);
    let red_tcp_over_geneve = r1.ns.tcp_reaches(r2.addr(7001), tcp);
    let to = SocketAddr::from((IP2, 7002));
    let blue_udp_reached_blue_green = hv::udp_fanout(&b1.ns, &[&b2.ns, &g2.ns], to, 20);
    let green_udp_reached_green_blue = hv::udp_fanout(&g1.ns, &[&g2.ns, &b2.ns], to, 20);
    // The meter: b1 floods b2 for 5 s; the rate b2 sees, in frame bits per second, over the
    // steady state (from 1 s after the first datagram on: the bucket starts full).
    let (offered, got) = hv::udp_blast(&b1.ns, &b2.ns, SocketAddr::from((IP2, 7003)), 1400, 5.0);
    let whole_kbps = if got.span.as_secs_f64() > 0.0 {
        got.frame_bytes as f64 * 8.0 / got.span.as_secs_f64() / 1000.0
    } else {
        0.0
    };
    let seen_kbps = got.steady_kbps();
    let offered_kbps = offered * 8.0 / 1000.0;
    println!(
        "{who}: meter {RATE_KBPS} kbit/s: b1 offered {offered_kbps:.0} kbit/s; b2 saw \
         {seen_kbps:.0} kbit/s in the steady state ({:.2} s), {:.1}% of the meter's rate \
         ({whole_kbps:.0} kbit/s over all {} datagrams in {:.2} s)",
        got.steady_span.as_secs_f64(),
        seen_kbps * 100.0 / f64::from(RATE_KBPS),
        got.datagrams,
        got.span.as_secs_f64(),
    );
    assert!(
        offered_kbps > 1.5 * f64::from(RATE_KBPS),
        "{who}: the sender offered only {offered_kbps:.0} kbit/s, too little to test a \
         {RATE_KBPS} kbit/s meter"
    );
    let metered_within_20_percent =
        (seen_kbps - f64::from(RATE_KBPS)).abs() <= 0.2 * f64::from(RATE_KBPS);
    Outcomes {
        blue_ping_over_vxlan,
        blue_tcp_over_vxlan,
        green_ping_over_vxlan,
        red_ping_over_geneve,
        red_tcp_over_geneve,
        blue_udp_reached_blue_green,
        green_udp_reached_green_blue,
        metered_within_20_percent,
    }
}

fn on_switchd() -> Outcomes {
    let mut r = rig();
    for hv in 0..3 {
        r.hvs[hv].start_switchd(&switch_block(hv));
    }
    for h in &r.hvs {
        h.wait_log("created tunnel device vx0 (collect-metadata VXLAN, UDP port 4789");
        h.wait_log("created tunnel device gnv0 (collect-metadata Geneve, UDP port 6081");
        h.wait_log("configured flows in, 0 refused");
        h.wait_log("1 configured meters in");
        // The kernel shows the devices as switchd made them, in the bridge, with its MTU.
        let d = h.exec(&["ip", "-d", "link", "show", "vx0"]);
        assert!(
            d.contains("vxlan external")
                && d.contains("dstport 4789")
                && d.contains("master vnet0"),
            "vx0 as the kernel shows it: {d}"
        );
        assert!(d.contains("mtu 1500"), "vx0's MTU is the bridge's: {d}");
        let d = h.exec(&["ip", "-d", "link", "show", "gnv0"]);
        assert!(
            d.contains("geneve external") && d.contains("master vnet0"),
            "gnv0 as the kernel shows it: {d}"
        );
    }
    let o = exercise(&r, "switchd");
    println!("switchd: {o:?}");
    // The filters on the tunnel device, as TC shows them and as switchctl does.
    let tc = r.hvs[1].exec(&["tc", "filter", "show", "dev", "vx0", "ingress"]);
    assert!(
        tc.contains("enc_key_id 100") && tc.contains("enc_key_id 300"),
        "tc filter show dev vx0 ingress on hv1:\n{tc}\nswitchd's log on hv1:\n{}",
        r.hvs[1].switchd().log()
    );
    let tc = r.hvs[0].exec(&["tc", "-s", "filter", "show", "dev", "tap1", "ingress"]);
    assert!(
        tc.contains("tunnel_key") && tc.contains("police"),
        "tc filter show dev tap1 ingress on hv0 (tunnel_key set and the meter's police):\n{tc}"
    );
    let flows = r.hvs[0].switchd().ctl_ok(&["show", "flows"]);
    println!("switchctl show flows on hv0:\n{flows}");
    assert!(
        flows.contains("192.0.2.2") && flows.contains("meter:1"),
        "switchctl show flows on hv0:\n{flows}"
    );
    // hv2's switchd restarts while blue's traffic between hv0 and hv1 flows: not one
    // datagram of it is lost, and the restarted switchd adopts its devices and filters.
    let (first, rest) = r.hvs.split_at_mut(2);
    let hv2 = &mut rest[0];
    let (b1, b2) = (&first[0].vms[0], &first[1].vms[0]);
    let to = SocketAddr::from((IP2, 7004));
    let (sent, got) = hv::udp_trickle_during(&b1.ns, &b2.ns, to, Duration::from_millis(20), || {
        hv2.switchd
            .as_mut()
            .expect("switchd")
            .restart()
            .expect("restart hv2's switchd");
        hv2.wait_log("adopted tunnel device vx0");
        hv2.wait_log("adopted tunnel device gnv0");
    });
    println!("blue traffic hv0 -> hv1 while hv2's switchd restarted: {got} of {sent} datagrams");
    assert!(
        sent > 0 && got == sent,
        "blue lost traffic while hv2's switchd restarted: {got} of {sent}"
    );
    let log = r.hvs[2].switchd().log();
    let second_run = &log[log.rfind("adopted tunnel device").unwrap_or(0)..];
    assert!(
        !second_run.contains("created tunnel device"),
        "hv2's switchd made its tunnel devices again instead of adopting them:\n{log}"
    );
    let (r1, r2) = (&r.hvs[0].vms[2], &r.hvs[2].vms[0]);
    assert!(r1.ns.ping_eventually(IP2, 20), "red after hv2's restart");
    assert!(
        r1.ns.tcp_reaches(r2.addr(7001), Duration::from_secs(10)),
        "red TCP after hv2's restart"
    );
    let tc = r.hvs[2].exec(&["tc", "filter", "show", "dev", "gnv0", "ingress"]);
    assert!(
        tc.contains("enc_key_id 200"),
        "gnv0's filters after the restart:\n{tc}"
    );
    // The switch goes away with its configuration: so do its tunnel devices.
    let h = &r.hvs[2];
    let d = h.switchd();
    d.write_config(&d.config().clone().with_extra("").text());
    d.signal(nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    h.wait_log("removed tunnel device vx0");
    assert!(
        regress::wait::wait_until(hv::WAIT, Duration::from_millis(100), || h
            .ns
            .ip(&["link", "show", "gnv0"])
            .is_err()),
        "gnv0 still exists after its switch left the configuration"
    );
    o
}

fn on_openvswitch_ko() -> Outcomes {
    let st = std::process::Command::new("modprobe")
        .arg("openvswitch")
        .status()
        .expect("modprobe");
    assert!(st.success(), "modprobe openvswitch failed");
    let mut r = rig();
    for hv in 0..3 {
        let o = OvsHv::start(&r.hvs[hv].ns);
        o.vsctl(&[
            "--no-wait",
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=system",
            "fail-mode=secure",
            "protocols=OpenFlow13",
        ]);
        let mut names = Vec::new();
        for l in legs(hv) {
            let p = format!("tap{}", l.port);
            o.vsctl(&[
                "--no-wait",
                "add-port",
                "br0",
                &p,
                "--",
                "set",
                "interface",
                &p,
                &format!("ofport_request={}", l.port),
            ]);
            names.push(p);
        }
        for (name, kind, no) in [("vx0", "vxlan", VXLAN), ("gnv0", "geneve", GENEVE)] {
            o.vsctl(&[
                "--no-wait",
                "add-port",
                "br0",
                name,
                "--",
                "set",
                "interface",
                name,
                &format!("type={kind}"),
                "options:remote_ip=flow",
                "options:local_ip=flow",
                "options:key=flow",
                &format!("ofport_request={no}"),
            ]);
            names.push(name.to_string());
        }
        let ready = regress::wait::wait_until(hv::WAIT, Duration::from_millis(200), || {
            let out = o.try_ofctl(&["show", "br0"]).unwrap_or_default();
            names.iter().all(|n| out.contains(&format!("({n})")))
        });
        assert!(ready, "Open vSwitch on hv{hv} did not take its ports");
        o.ofctl(&[
            "add-meter",
            "br0",
            &format!("meter=1,kbps,band=type=drop,rate={RATE_KBPS}"),
        ]);
        for f in flows(hv) {
            o.ofctl(&["add-flow", "br0", &f]);
        }
        r.hvs[hv].ovs = Some(o);
    }
    exercise(&r, "Open vSwitch")
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_tunnel_key, vxlan, geneve and openvswitch.ko, runs in the VM"]
fn tunnels_and_meters_same_outcomes_on_switchd_and_openvswitch_ko() {
    let sw = on_switchd();
    let ovs = on_openvswitch_ko();
    assert_eq!(sw, expected(), "switchd's local switches");
    assert_eq!(ovs, expected(), "Open vSwitch's kernel datapath");
}
