//! Kernel tier: TC flower on the pinned distribution kernel, in the VM (`regress/run` boots it
//! and runs this binary there with `--include-ignored`). On the host, whose kernel lacks
//! cls_flower, these tests are ignored.
//!
//! This proves the tier itself before tc-datapath exists: a flower filter installed with
//! `tc` drops ICMP on one bridge port while TCP still crosses. Later issues replace `tc`
//! with switchd.

use std::net::SocketAddr;
use std::time::Duration;

use regress::net::LanSwitch;
use regress::Lan;

/// `tc -s -j filter show` for a device, parsed just enough to read a filter's first action's
/// packet counter.
fn flower_drop_packets(lan: &Lan, dev: &str) -> u64 {
    let out = lan
        .switch_exec(&["tc", "-s", "filter", "show", "dev", dev, "ingress"])
        .expect("tc filter show");
    // e.g. "Sent 196 bytes 2 pkt (dropped 2, overlimits 0 requeues 0)"
    out.lines()
        .find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("Sent ")?;
            let mut w = rest.split_whitespace();
            let _bytes = w.next()?;
            let _ = w.next()?;
            w.next()?.parse().ok()
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn flower_drops_icmp_on_one_port_while_tcp_crosses() {
    let lan = Lan::new(2, LanSwitch::BridgeInNetns).expect("lan");
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    assert!(a.ns.ping_eventually(b.ip, 5), "no ping across the bridge");
    let to = SocketAddr::from((b.ip, 8080));
    b.ns.tcp_listen(to).expect("listen");
    assert!(
        a.ns.tcp_reaches(to, Duration::from_secs(3)),
        "no TCP before the filter"
    );

    lan.switch_exec(&["tc", "qdisc", "add", "dev", &a.port, "clsact"])
        .expect("clsact");
    lan.switch_exec(&[
        "tc", "filter", "add", "dev", &a.port, "ingress", "protocol", "ip", "prio", "10", "flower",
        "ip_proto", "icmp", "action", "drop",
    ])
    .expect("flower filter (is cls_flower missing?)");
    let shown = lan
        .switch_exec(&["tc", "filter", "show", "dev", &a.port, "ingress"])
        .expect("show");
    assert!(
        shown.contains("flower") && shown.contains("ip_proto icmp"),
        "{shown}"
    );

    assert!(!a.ns.ping(b.ip, 1), "ping crossed a port that drops ICMP");
    assert!(!a.ns.ping(b.ip, 1), "ping crossed a port that drops ICMP");
    assert!(
        flower_drop_packets(&lan, &a.port) >= 2,
        "the filter counted no drops"
    );
    assert!(
        a.ns.tcp_reaches(to, Duration::from_secs(3)),
        "TCP stopped crossing, but only ICMP should be dropped"
    );
    // The other direction's ingress port has no filter: b's echo request reaches a, but
    // a's reply enters the bridge at a's port and is dropped there too.
    assert!(!b.ns.ping(a.ip, 1));

    lan.switch_exec(&["tc", "filter", "del", "dev", &a.port, "ingress"])
        .expect("del");
    assert!(a.ns.ping_eventually(b.ip, 3), "ping did not come back");
}

#[test]
#[ignore = "kernel tier: needs the pinned distribution kernel, runs in the VM"]
fn guest_kernel_has_the_tc_modules_switchd_needs() {
    // Loading happens on first use; ask modprobe for each so a missing one is named.
    for m in [
        "cls_flower",
        "act_gact",
        "act_mirred",
        "act_vlan",
        "act_pedit",
        "act_csum",
        "act_police",
        "act_tunnel_key",
        "sch_ingress",
    ] {
        regress::cmd::run_ok(&["modprobe", m]).unwrap_or_else(|e| panic!("{m}: {e}"));
    }
}
