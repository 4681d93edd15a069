//! Kernel tier: PACKET_OUT on a local switch (`forward to tcp:HOST:PORT`; the VM,
//! `regress/run` runs this with `--include-ignored`).
//!
//! A real third-party controller, os-ken 3.1.1 (`regress/setup --osken`), running
//! `osken/packet_out_13.py`, sends packet-outs of UDP broadcasts to a local bridge of three
//! ports; every namespaced host behind a port listens on that UDP port (on eth0, and on
//! eth0.7 for a VLAN-tagged one). Each frame must arrive at exactly the hosts OpenFlow says
//! and nowhere else, and the invalid packet-outs (a buffer_id, output:TABLE with in_port
//! CONTROLLER) must come back as the OFPT_ERROR the spec names, with nothing sent and the
//! connection kept. Output to TABLE goes through the flow table (a flow sends it to one
//! port, a higher-priority flow drops it), output to LOCAL reaches the host on the bridge
//! device. A second test follows the injection pair that makes TABLE and LOCAL possible
//! through port changes, a restart and the switch's removal.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{link_field, Daemon, LinkGuard};
use osken::{test_app, wait_long, OsKen};
use regress::net::{LanSwitch, VethPair};
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
    // The bridge, made here so that it has a known address (switchd adopts it); the host
    // listens on it for output:LOCAL.
    let br_mac = "02:00:00:00:00:fe";
    for args in [
        vec![
            "ip", "link", "add", &br.0, "address", br_mac, "type", "bridge",
        ],
        vec!["ip", "addr", "add", "10.77.0.254/24", "dev", &br.0],
        vec!["ip", "link", "set", &br.0, "up"],
    ] {
        regress::run_ok(&args).expect("bridge");
    }
    let idx = link_field(&br.0, "d['ifindex']").expect("bridge ifindex");
    let _pair = LinkGuard(format!("swdi{idx}"));
    let local = UdpSocket::bind(SocketAddr::from(([10, 77, 0, 254], udp_port))).expect("bind");
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
            ("SWITCHD_REGRESS_PKTOUT_BRMAC", br_mac),
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
        set(&["po-output2", "po-flood", "po-all-vlan", "po-table"]),
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
    // output:LOCAL: the host's own socket on the bridge's address, and only that frame.
    let got_local = received(&local, Duration::from_secs(2));
    println!("received by the host on the bridge: {got_local:?}");
    assert_eq!(
        got_local,
        ["po-local"],
        "output:LOCAL did not reach the host; switchd stderr:\n{}",
        d.stderr()
    );

    // The invalid ones: OFPBRC_BUFFER_UNKNOWN, OFPBRC_BAD_PORT, and nothing else.
    let errors: Vec<String> = read_notes()
        .into_iter()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        ["error type 1 code 8", "error type 1 code 11"],
        "switchd stderr:\n{}",
        d.stderr()
    );
    let stderr = d.stderr();
    assert!(
        stderr.contains("switch vm: packet_out refused: buffer_id 0x1234"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "switch vm: packet_out refused: output:TABLE with in_port 0xfffffffd: the flow \
             table is on the switch's ports"
        ),
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

/// The flower filters on the clsact ingress of `dev`: (pref, handle, vlan id, action
/// kinds), sorted.
fn injection_filters(dev: &str) -> Vec<(u64, u64, Option<u64>, String)> {
    let out = Command::new("tc")
        .args(["-j", "filter", "show", "dev", dev, "ingress"])
        .output()
        .expect("tc");
    assert!(out.status.success(), "tc filter show dev {dev}: {out:?}");
    let py = r#"
import json, sys
for f in json.load(sys.stdin):
    o = f.get('options')
    if f.get('kind') != 'flower' or o is None:
        continue
    h = o['handle']
    h = int(h, 0) if isinstance(h, str) else h
    v = o.get('keys', {}).get('vlan_id', '-')
    kinds = ','.join(a.get('kind', '?') for a in o.get('actions', []))
    print(f['pref'], h, v, kinds)
"#;
    let mut p = Command::new("python3")
        .args(["-c", py])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut p.stdin.take().expect("stdin"), &out.stdout).expect("write");
    let o = p.wait_with_output().expect("python3");
    let mut v: Vec<(u64, u64, Option<u64>, String)> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.parse().ok()?,
                f.get(1)?.parse().ok()?,
                f.get(2)?.parse().ok(),
                f.get(3)?.to_string(),
            ))
        })
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn the_injection_pair_follows_the_ports_survives_a_restart_and_goes_with_the_switch() {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let p: Vec<&str> = lan.hosts.iter().map(|h| h.port.as_str()).collect();
    let switch = format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \ttable-miss drop\n}}\n",
        br.0, p[0], p[1]
    );
    let mut d = Daemon::start(&switch);
    d.wait_for("the bridge did not appear", || {
        link_field(&br.0, "d['ifindex']").is_some()
    });
    let idx = link_field(&br.0, "d['ifindex']").expect("bridge ifindex");
    let (near, far) = (format!("swdi{idx}"), format!("swdj{idx}"));
    let _pair = LinkGuard(near.clone());
    d.wait_log(&format!(
        "datapath: local switch vm: created injection pair {near}/{far}"
    ));
    let want = |ports: &[u64]| -> Vec<(Option<u64>, String)> {
        let mut v: Vec<(Option<u64>, String)> = ports
            .iter()
            .chain(&[4095])
            .map(|p| (Some(*p), "vlan,mirred".to_string()))
            .collect();
        v.push((None, "gact".to_string()));
        v.sort();
        v
    };
    // What the filters do, in the order of the vlan ids.
    let shape = |f: &[(u64, u64, Option<u64>, String)]| -> Vec<(Option<u64>, String)> {
        let mut v: Vec<(Option<u64>, String)> =
            f.iter().map(|(_, _, v, k)| (*v, k.clone())).collect();
        v.sort();
        v
    };
    d.wait_for(
        &format!(
            "the injection filters are not in: {:?}",
            injection_filters(&far)
        ),
        || shape(&injection_filters(&far)) == want(&[1, 2]),
    );
    // Up, in no bridge, the far end with the bridge's address.
    for end in [&near, &far] {
        let flags = link_field(end, "d['flags']").unwrap_or_default();
        assert!(flags.contains("'UP'"), "{end}: {flags}");
        assert_eq!(link_field(end, "d['master']"), None, "{end} is in a bridge");
    }
    assert_eq!(
        link_field(&far, "d['address']"),
        link_field(&br.0, "d['address']")
    );

    // A port that comes gets its filter; one that goes takes it away.
    let extra = VethPair::new(None, None).expect("veth");
    regress::run_ok(&["ip", "link", "set", &extra.a, "master", &br.0]).expect("enslave");
    d.wait_for("no filter for port 3", || {
        shape(&injection_filters(&far)) == want(&[1, 2, 3])
    });
    drop(extra);
    d.wait_for("the filter of port 3 stayed", || {
        shape(&injection_filters(&far)) == want(&[1, 2])
    });

    // A restart adopts the pair and its filters as they are: same interfaces, same
    // handles, nothing added.
    let before = injection_filters(&far);
    let near_index = link_field(&near, "d['ifindex']");
    d.restart();
    d.wait_log(&format!(
        "datapath: local switch vm: adopted injection pair {near}/{far}"
    ));
    d.wait_for("the local switch did not connect again", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    assert_eq!(link_field(&near, "d['ifindex']"), near_index);
    assert_eq!(injection_filters(&far), before, "{}", d.stderr());

    // Reloaded without the switch: the pair goes.
    let conf = std::fs::read_to_string(d.conf()).expect("config");
    let i = conf.find("switch \"vm\"").expect("switch block");
    std::fs::write(d.conf(), &conf[..i]).expect("write config");
    let out = d.ctl(&["reload"]);
    assert!(out.status.success(), "reload: {out:?}");
    d.wait_for("the injection pair stayed", || {
        link_field(&near, "d['ifindex']").is_none() && link_field(&far, "d['ifindex']").is_none()
    });
    let stderr = d.stderr();
    assert!(
        stderr.contains(&format!("local switch vm: deleted injection pair {near}")),
        "{stderr}"
    );
    assert!(!stderr.contains("injection filter"), "{stderr}");
    drop(d);
    drop(br);
    for p in p {
        let _ = regress::run_ok(&["tc", "qdisc", "del", "dev", p, "clsact"]);
    }
}
