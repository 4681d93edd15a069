//! Kernel tier: PACKET_OUT on a local switch (`forward to tcp:HOST:PORT`; the VM,
//! `regress/run` runs this with `--include-ignored`).
//!
//! A real third-party controller, os-ken 3.1.1 (`regress/setup --osken`), running
//! `osken/packet_out_13.py`, sends packet-outs of UDP broadcasts to a local bridge of three
//! ports; every namespaced host behind a port listens on that UDP port (on eth0, and on
//! eth0.7 for a VLAN-tagged one). Each frame must arrive at exactly the hosts OpenFlow says
//! and nowhere else, and the invalid packet-outs (a buffer_id, output:TABLE) must come back
//! as the OFPT_ERROR the spec names, with nothing sent and the connection kept.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::{Daemon, LinkGuard};
use osken::{test_app, wait_long, OsKen};
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, unique_name, Lan};

/// Every datagram `s` receives until nothing more comes for `quiet`.
fn received(s: &UdpSocket, quiet: Duration) -> Vec<String> {
    s.set_read_timeout(Some(quiet)).expect("read timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = s.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

#[test]
#[ignore = "kernel tier: needs cls_flower and os-ken, runs in the VM"]
fn osken_packet_outs_arrive_exactly_where_openflow_says() {
    let dir = TempDir::new("pktout-osken");
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let udp_port = 5099;
    // Every host listens on eth0 and on a VLAN 7 interface, for the tagged frame.
    let socks: Vec<UdpSocket> = lan
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.ns.ip(&[
                "link", "add", "link", "eth0", "name", "eth0.7", "type", "vlan", "id", "7",
            ])
            .expect("vlan interface");
            h.ns.ip(&[
                "addr",
                "add",
                &format!("10.78.0.{}/24", i + 1),
                "dev",
                "eth0.7",
            ])
            .expect("vlan address");
            h.ns.ip(&["link", "set", "eth0.7", "up"]).expect("vlan up");
            h.ns.udp_bind(SocketAddr::from(([0, 0, 0, 0], udp_port)))
                .expect("udp bind")
        })
        .collect();

    let port = free_tcp_port().expect("free port");
    let udp = udp_port.to_string();
    let osken = OsKen::start_with(
        &dir.0,
        "127.0.0.1",
        port,
        &test_app("packet_out_13.py"),
        1,
        &[
            ("SWITCHD_REGRESS_PKTOUT_PORT", &udp),
            ("SWITCHD_REGRESS_PKTOUT_MAC3", &lan.hosts[2].mac),
        ],
    );
    let log_text = || osken.log_text();

    let p: Vec<&str> = lan.hosts.iter().map(|h| h.port.as_str()).collect();
    let d = Daemon::start(&format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \tport \"{}\" number 3\n\ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
        br.0, p[0], p[1], p[2]
    ));
    let read_notes = || osken.notes();
    assert!(
        wait_long(90, || read_notes().iter().any(|l| l.starts_with("barrier"))),
        "no barrier reply after the packet-outs; notes {:?}\nos-ken:\n{}\nswitchd stderr:\n{}",
        read_notes(),
        log_text(),
        d.stderr()
    );

    // The packet-outs were sent before the barrier was answered: they are on the wire.
    let got: Vec<BTreeSet<String>> = socks
        .iter()
        .map(|s| received(s, Duration::from_secs(2)).into_iter().collect())
        .collect();
    println!("received by host 1, 2, 3: {got:?}");
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    let want = [
        set(&["po-in-port", "po-all-vlan"]),
        set(&["po-output2", "po-flood", "po-all-vlan"]),
        set(&["po-flood", "po-set-dst"]),
    ];
    assert_eq!(
        got,
        want,
        "frames did not arrive where OpenFlow says; notes {:?}\nswitchd stderr:\n{}",
        read_notes(),
        d.stderr()
    );
    // And each exactly once.
    for (i, s) in socks.iter().enumerate() {
        assert!(
            received(s, Duration::from_millis(500)).is_empty(),
            "host {i}: late frames"
        );
    }

    // The invalid ones: OFPBRC_BUFFER_UNKNOWN, OFPBAC_BAD_OUT_PORT, and nothing else.
    let errors: Vec<String> = read_notes()
        .into_iter()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        ["error type 1 code 8", "error type 2 code 4"],
        "switchd stderr:\n{}",
        d.stderr()
    );
    let stderr = d.stderr();
    assert!(
        stderr.contains("switch vm: packet_out refused: buffer_id 0x1234"),
        "{stderr}"
    );
    assert!(
        stderr.contains("switch vm: packet_out refused: output:TABLE is not supported"),
        "{stderr}"
    );
    // The connection stayed: one connection, never closed.
    let connected = format!("local switch vm: connected to controller 127.0.0.1:{port}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains(&connected)).count(),
        1,
        "{stderr}"
    );
    assert!(
        !stderr.contains("local switch vm: connection to"),
        "{stderr}"
    );
    drop(osken);
    drop(d);
    drop(br);
    for p in p {
        let _ = regress::run_ok(&["tc", "qdisc", "del", "dev", p, "clsact"]);
    }
}
