//! Kernel tier: a local switch on a kernel with cls_flower (the VM; `regress/run` runs this
//! with `--include-ignored`). switchd creates the bridge, enslaves two namespaced hosts'
//! ports, and offers the bridge to its own ofp process as an OpenFlow 1.3 switch over a
//! socketpair: `switchctl` shows it with its datapath id, ports and table-miss flow, and
//! with table-miss normal the hosts ping each other.
//!
//! Flow installation through TC arrives when tc-datapath is plugged in behind the flow
//! table's backend; then this file grows tests that install flows with `switchctl` (or a
//! controller through `forward to`) and check them with packets.

#[path = "common/local_switch.rs"]
mod common;

use common::{link_field, rows, Daemon, LinkGuard};
use regress::net::LanSwitch;
use regress::{unique_name, Lan, VethPair};

/// The datapath id switchd derives from a bridge's MAC: 16 zero bits, then the MAC.
fn dpid_of_mac(mac: &str) -> String {
    format!("0000{}", mac.replace(':', ""))
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn local_bridge_is_a_switch_with_ports_and_table_miss_normal_forwards() {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let (p0, p1) = (&lan.hosts[0].port, &lan.hosts[1].port);
    let d = Daemon::start(&format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{p0}\" number 1\n\tport \"{p1}\" number 2\n\ttable-miss normal\n}}\n",
        br.0
    ));
    d.wait_for("the local switch did not connect", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    assert!(
        d.stderr()
            .contains("kernel probe: clsact, cls_flower, act_gact, act_mirred present"),
        "{}",
        d.stderr()
    );
    let mac = link_field(&br.0, "d['address']").expect("bridge address");
    let dpid = dpid_of_mac(&mac);
    let switches = rows(&d.ctl_ok(&["show", "switches"]));
    let sw = switches
        .iter()
        .find(|r| r.get(1).map(String::as_str) == Some("local:vm"))
        .expect("local switch row");
    assert_eq!(
        sw[0], dpid,
        "datapath id derived from the bridge's MAC {mac}"
    );
    assert_eq!(sw[2], "1.3");

    // Its ports, by configured number and name.
    d.wait_for("the ports are not shown", || {
        let ports = rows(&d.ctl_ok(&["show", "ports", &dpid]));
        let mut v: Vec<(String, String)> =
            ports.iter().map(|r| (r[1].clone(), r[2].clone())).collect();
        v.sort();
        v == [("1".to_string(), p0.clone()), ("2".to_string(), p1.clone())]
    });

    // The configured table-miss is an ordinary flow that show flows lists.
    let flows = d.ctl_ok(&["show", "flows", &dpid]);
    let miss = rows(&flows)
        .into_iter()
        .find(|r| r.get(2).map(String::as_str) == Some("0"))
        .unwrap_or_else(|| panic!("no priority-0 flow:\n{flows}"));
    assert!(
        miss.iter().any(|c| c.contains("NORMAL")),
        "table-miss is not NORMAL: {miss:?}"
    );

    // With table-miss normal, the bridge forwards.
    assert!(
        lan.hosts[0].ns.ping_eventually(lan.hosts[1].ip, 10),
        "no ping across the local switch; switchd stderr:\n{}",
        d.stderr()
    );

    // A port the administrator adds gets the lowest free number; gone, it is reported gone.
    let extra = VethPair::new(None, None).expect("veth");
    regress::run_ok(&["ip", "link", "set", &extra.a, "master", &br.0]).expect("master");
    d.wait_for("the added port is not shown as port 3", || {
        rows(&d.ctl_ok(&["show", "ports", &dpid]))
            .iter()
            .any(|r| r[1] == "3" && r[2] == extra.a)
    });
    let name = extra.a.clone();
    drop(extra);
    d.wait_for("the deleted port is still shown", || {
        !d.ctl_ok(&["show", "ports", &dpid]).contains(name.as_str())
    });
}
