//! Host tier: switchd as the learning-switch controller of a private Open vSwitch bridge
//! (userspace datapath) with hosts in namespaces, built by `regress::OvsRig`. Everything
//! is a guard (the rig's parts, `VethPair`), so it goes away even when a test panics.

use std::io::{Read, Write};
use std::time::Duration;

use regress::daemon::connect;
use regress::{OvsRig, VethPair};

fn rig(hosts: usize, protocol: &str) -> OvsRig {
    OvsRig::builder()
        .hosts(hosts)
        .protocol(protocol)
        .start()
        .expect("OVS bridge, hosts and switchd")
}

fn learning_on(protocol: &str) {
    let rig = rig(4, protocol);
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
    let macs = rig.daemon().rows("macs");
    for (i, h) in rig.hosts().iter().enumerate() {
        assert!(
            macs.iter()
                .any(|r| r[0] == rig.dpid() && r[1] == (i + 1).to_string() && r[2] == h.mac),
            "{} not on port {}: {macs:?}",
            h.mac,
            i + 1
        );
    }
    let switches = rig.daemon().rows("switches");
    let version = if protocol == "OpenFlow13" {
        "1.3"
    } else {
        "1.0"
    };
    assert!(
        switches
            .iter()
            .any(|r| r[0] == rig.dpid() && r[2] == version && r[3] == "5"),
        "{switches:?}"
    );
    let ports = rig.daemon().rows("ports");
    for h in rig.hosts() {
        assert!(
            ports.iter().any(|r| r[2] == h.port && r[4] == "up"),
            "{ports:?}"
        );
    }
    let shown = rig.daemon().rows("flows");
    assert!(
        shown.iter().filter(|r| r[2] == "1").count() >= 3,
        "show flows: {shown:?}"
    );
    let text = rig.daemon().ctl_ok(&["show", "flows", rig.dpid()]);
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
    let rig = rig(3, "OpenFlow13");
    rig.all_pairs_ping(5);
    let moved = &rig.hosts()[0];
    let monitor = rig.daemon().monitor().expect("switchctl monitor");
    // Unplug host 0 from port 1 and plug it, same MAC and address, into port 10.
    rig.ovs()
        .vsctl(&["del-port", rig.bridge(), &moved.port])
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
    rig.ovs()
        .add_port(rig.bridge(), &veth.b, 10)
        .expect("add port 10");
    for other in &rig.hosts()[1..] {
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
    let macs = rig.daemon().rows("macs");
    assert!(
        macs.iter().any(|r| r[1] == "10" && r[2] == moved.mac),
        "{macs:?}"
    );
    // `switchctl monitor` saw the port go and the new one come.
    let seen = monitor.events();
    let sw = rig.dpid();
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
    let mut rig = rig(3, "OpenFlow13");
    rig.all_pairs_ping(5);
    let mut monitor = rig.daemon().monitor().expect("switchctl monitor");

    rig.restart_ovs();
    rig.wait_connected();
    rig.all_pairs_ping(5);
    monitor.stop();
    let seen = monitor.events();
    let sw = rig.dpid();
    let gone = seen.find(&format!("switch {sw} disconnected"));
    let back = seen.rfind(&format!("switch {sw} connected from 127.0.0.1:"));
    assert!(
        gone.is_some() && back.is_some() && gone < back,
        "monitor: {seen}"
    );

    // switchd restarts on the same port: the bridge comes back to it.
    rig.restart_daemon();
    rig.wait_connected();
    rig.all_pairs_ping(5);
    assert!(rig
        .dump_flows()
        .contains("priority=0 actions=CONTROLLER:65535"));
}

#[test]
fn a_malformed_message_closes_only_its_own_connection() {
    let rig = rig(2, "OpenFlow13");
    rig.all_pairs_ping(5);
    let since = rig.daemon().rows("switches");

    let mut s = connect(rig.port()).expect("connect");
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
    assert_eq!(rig.daemon().rows("switches"), since);
    rig.all_pairs_ping(3);
}
