//! Kernel tier (the VM; `regress/run` runs this with `--include-ignored`): os-ken's own
//! `simple_switch_13`, a third-party learning switch, drives the local bridges of two
//! hypervisors through their switchd datapaths, over `forward to`.
//!
//! Hypervisor 1 is the root namespace: a bridge with two VMs (namespaces) and an uplink.
//! Hypervisor 2 is a namespace of its own with its own switchd, a bridge with one VM and
//! the other end of the uplink; it reaches os-ken over a management veth. Every first
//! packet of a conversation goes to os-ken as a PACKET_IN through TC (act_sample, psample),
//! os-ken floods or forwards it by PACKET_OUT and installs a flow, which becomes a flower
//! filter; later packets never leave the kernel.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::net::Ipv4Addr;

use common::LinkGuard;
use osken::{simple_switch_13, wait_long, OsKen};
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, run_ok, unique_name, Lan, Netns, VethPair};

const H2_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const MGMT_HV1: &str = "10.78.0.1";
const MGMT_HV2: &str = "10.78.0.2";

fn switch_conf(name: &str, br: &str, ports: &[&str], controller: &str, port: u16) -> String {
    let mut s = format!("switch \"{name}\" {{\n\tbridge \"{br}\"\n");
    for (i, p) in ports.iter().enumerate() {
        s += &format!("\tport \"{p}\" number {}\n", i + 1);
    }
    s += &format!("\ttable-miss drop\n\tforward to tcp:{controller}:{port}\n}}\n");
    s
}

/// The datapath id switchd logged for local switch `name` (`… datapath id 0123…`), in the
/// decimal form simple_switch_13 logs it in.
fn logged_dpid(d: &Daemon, name: &str) -> String {
    let prefix = format!("local switch {name}: bridge ");
    let log = d.log();
    let hex = log
        .lines()
        .filter_map(|l| l.split_once(&prefix).map(|(_, r)| r))
        .filter_map(|r| r.split_once("datapath id ").map(|(_, r)| r))
        .filter_map(|r| r.split(',').next())
        .next()
        .unwrap_or_else(|| panic!("no datapath id logged for {name}:\n{log}"));
    let id = u64::from_str_radix(hex.trim(), 16).unwrap_or_else(|e| panic!("{hex}: {e}"));
    id.to_string()
}

/// simple_switch_13's `packet in DPID SRC DST IN_PORT` lines.
fn packet_ins(k: &OsKen) -> Vec<String> {
    k.log_text()
        .lines()
        .filter_map(|l| l.split_once("packet in ").map(|(_, r)| r.to_string()))
        .collect()
}

fn mac(ns: &Netns) -> String {
    ns.ip(&["-br", "link", "show", "dev", "eth0"])
        .expect("ip link")
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_sample and os-ken, runs in the VM"]
fn simple_switch_13_drives_two_hypervisors() {
    let dir = TempDir::new("osken-switch");
    // Hypervisor 1 (root namespace): VMs h0 10.77.0.1 and h1 10.77.0.2.
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    // Hypervisor 2: a namespace with VM h2 10.77.0.3.
    let hv2 = Netns::new().expect("hypervisor 2");
    let h2 = Netns::new().expect("vm h2");
    let (inner, p2) = (unique_name(), unique_name());
    run_ok(&[
        "ip",
        "link",
        "add",
        &inner,
        "netns",
        h2.name(),
        "type",
        "veth",
        "peer",
        "name",
        &p2,
        "netns",
        hv2.name(),
    ])
    .expect("veth of h2");
    h2.ip(&["link", "set", &inner, "name", "eth0"]).expect("ip");
    h2.ip(&["addr", "add", &format!("{H2_IP}/24"), "dev", "eth0"])
        .expect("ip");
    h2.ip(&["link", "set", "eth0", "up"]).expect("ip");
    hv2.ip(&["link", "set", &p2, "up"]).expect("ip");
    let h2_mac = mac(&h2);
    // The uplink between the two bridges, and the management link to os-ken.
    let uplink = VethPair::new(None, Some(&hv2)).expect("uplink");
    let mgmt = VethPair::new(None, Some(&hv2)).expect("management link");
    run_ok(&[
        "ip",
        "addr",
        "add",
        &format!("{MGMT_HV1}/30"),
        "dev",
        &mgmt.a,
    ])
    .expect("ip");
    hv2.ip(&["addr", "add", &format!("{MGMT_HV2}/30"), "dev", &mgmt.b])
        .expect("ip");

    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start(&dir.0, "0.0.0.0", port, &simple_switch_13(), 1);

    let br1 = LinkGuard(unique_name());
    let hv1_conf = switch_conf(
        "hv1",
        &br1.0,
        &[&h0.port, &h1.port, &uplink.a],
        "127.0.0.1",
        port,
    );
    let d1 = Daemon::builder()
        .verbose()
        .config(&hv1_conf)
        .start()
        .expect("switchd on hypervisor 1");
    // The bridge of hypervisor 2 goes with its namespace.
    let br2 = unique_name();
    let d2 = Daemon::builder()
        .verbose()
        .netns(hv2.name())
        .config(&switch_conf("hv2", &br2, &[&p2, &uplink.b], MGMT_HV1, port))
        .start()
        .expect("switchd on hypervisor 2");
    for (d, name, ctl) in [(&d1, "hv1", "127.0.0.1"), (&d2, "hv2", MGMT_HV1)] {
        let line = format!("local switch {name}: connected to controller {ctl}:{port}");
        assert!(
            wait_long(60, || d.log().contains(&line)),
            "{name} did not connect to os-ken; switchd log:\n{}\nos-ken:\n{}",
            d.log(),
            osken.log_text()
        );
    }
    let (dpid1, dpid2) = (logged_dpid(&d1, "hv1"), logged_dpid(&d2, "hv2"));

    // Everyone reaches everyone, across the uplink too.
    for (from, to, what) in [
        (&h0.ns, h1.ip, "h0 -> h1 (same hypervisor)"),
        (&h0.ns, H2_IP, "h0 -> h2 (across the uplink)"),
        (&h1.ns, H2_IP, "h1 -> h2 (across the uplink)"),
    ] {
        assert!(
            from.ping_eventually(to, 20),
            "{what}: no ping; packet-ins {:?}\nhv1 filters:\n{}\nswitchd hv1:\n{}\nswitchd hv2:\n{}\nos-ken:\n{}",
            packet_ins(&osken),
            run_ok(&["tc", "filter", "show", "dev", &h0.port, "ingress"]).unwrap_or_default(),
            d1.log(),
            d2.log(),
            osken.log_text()
        );
    }
    let pins = packet_ins(&osken);
    println!("{} packet-ins so far", pins.len());
    // The first packets of h0 -> h1 went through packet-in, with the right in_port: the
    // ICMP echo (or ARP) from h0 on port 1, h1's answer on port 2 of hypervisor 1; the
    // packets from h0 reach hypervisor 2 on its uplink, port 2.
    for want in [
        format!("{dpid1} {} {} 1", h0.mac, h1.mac),
        format!("{dpid1} {} {} 2", h1.mac, h0.mac),
        format!("{dpid2} {} {h2_mac} 2", h0.mac),
        format!("{dpid2} {h2_mac} {} 1", h0.mac),
    ] {
        assert!(
            pins.iter().any(|p| p == &want),
            "no packet-in \"{want}\" among {pins:#?}"
        );
    }

    // The flows os-ken installed are flower filters on the ports, and switchctl shows them
    // with the kernel's counters.
    let shown = run_ok(&["tc", "filter", "show", "dev", &h0.port, "ingress"]).expect("tc");
    assert!(
        shown.contains(&format!("dst_mac {}", h1.mac)) && shown.contains("mirred"),
        "no filter for h0 -> h1 on {}:\n{shown}",
        h0.port
    );
    let shown2 = hv2
        .exec(&["tc", "filter", "show", "dev", &p2, "ingress"])
        .expect("tc");
    assert!(
        shown2.contains(&format!("dst_mac {}", h0.mac)),
        "no filter for h2 -> h0 on hypervisor 2's {p2}:\n{shown2}"
    );
    let flows = d1.ctl_ok(&["show", "flows", "hv1"]);
    println!("switchctl show flows hv1:\n{flows}");
    assert!(
        flows.contains(&format!("dl_dst={}", h1.mac)) || flows.contains(&h1.mac),
        "{flows}"
    );

    // Conversations that os-ken has seen stay in the kernel: no new packet-in between the
    // VMs (IPv6 multicast the namespaces send on their own still goes to os-ken, flooded
    // each time: simple_switch_13 installs no flow for a destination it has not seen).
    let macs = [h0.mac.clone(), h1.mac.clone(), h2_mac.clone()];
    let between_vms = |k: &OsKen| -> Vec<String> {
        packet_ins(k)
            .into_iter()
            .filter(|p| {
                let f: Vec<&str> = p.split_whitespace().collect();
                f.len() == 4 && macs.iter().any(|m| m == f[1]) && macs.iter().any(|m| m == f[2])
            })
            .collect()
    };
    let before = between_vms(&osken).len();
    for _ in 0..5 {
        assert!(h0.ns.ping(h1.ip, 2), "h0 -> h1 stopped");
        assert!(h0.ns.ping(H2_IP, 2), "h0 -> h2 stopped");
    }
    let after = between_vms(&osken);
    assert_eq!(
        after.len(),
        before,
        "known conversations went to the controller again: {:#?}",
        &after[before..]
    );

    // os-ken goes away: the flows stay in the kernel and keep forwarding (fail secure).
    let mut osken = osken;
    osken.proc.stop();
    for (d, name) in [(&d1, "hv1"), (&d2, "hv2")] {
        let closed = format!("local switch {name}: connection to");
        assert!(
            wait_long(60, || d.log().contains(&closed)),
            "{name} did not notice os-ken going:\n{}",
            d.log()
        );
    }
    assert!(h0.ns.ping_eventually(H2_IP, 3), "h0 -> h2 without os-ken");

    // os-ken comes back: both switches connect again, and the new instance takes over —
    // an ARP broadcast it has to flood (h1 forgot h2's address) goes through it.
    drop(osken);
    let osken = OsKen::start(&dir.0, "0.0.0.0", port, &simple_switch_13(), 2);
    for (d, name) in [(&d1, "hv1"), (&d2, "hv2")] {
        let line = format!("local switch {name}: connected to controller");
        assert!(
            wait_long(90, || d.log().matches(&line).count() >= 2),
            "{name} did not reconnect:\n{}",
            d.log()
        );
    }
    h1.ns
        .ip(&["neigh", "flush", "dev", "eth0"])
        .expect("flush neighbours");
    assert!(
        h1.ns.ping_eventually(H2_IP, 20),
        "h1 -> h2 after os-ken came back; os-ken:\n{}",
        osken.log_text()
    );
    let broadcast = format!("{} ff:ff:ff:ff:ff:ff 2", h1.mac);
    assert!(
        packet_ins(&osken)
            .iter()
            .any(|p| p.starts_with(&format!("{dpid1} ")) && p.ends_with(&broadcast)),
        "the new os-ken saw no broadcast from h1: {:#?}",
        packet_ins(&osken)
    );
    drop(d2);
    drop(d1);
    drop(mgmt);
    drop(uplink);
}
