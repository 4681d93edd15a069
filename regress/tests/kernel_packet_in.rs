//! Kernel tier: packet-in from a local bridge to a real third-party controller (os-ken
//! 3.1.1, `regress/setup --osken`) through TC (act_police + act_sample) and psample.
//!
//! The os-ken app (tests/osken/packet_in_13.py) installs a table-miss CONTROLLER flow and
//! a priority-10 `udp,udp_dst=9999 -> CONTROLLER:64` flow with a distinctive cookie, and
//! logs every PACKET_IN. Packets sent from namespaces must arrive with the sender's port
//! as in_port, the right reason, table and cookie, cut to max_len; a flood is bounded by
//! the police on the controller path.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Daemon, LinkGuard};
use osken::{test_app, wait_long, OsKen};
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, unique_name, Lan};

const COOKIE: i64 = 0x5157_c0de;

/// The integer value of `"key": N` in one JSON line of the app's notes.
fn field(line: &str, key: &str) -> Option<i64> {
    let at = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn is(line: &str, event: &str) -> bool {
    line.contains(&format!("\"event\": \"{event}\""))
}

/// The app's packet-in notes (JSON lines).
fn packet_ins(k: &OsKen) -> Vec<String> {
    k.notes()
        .into_iter()
        .filter(|l| is(l, "packet_in"))
        .collect()
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_sample and os-ken, runs in the VM"]
fn osken_gets_packet_ins_with_port_reason_cookie_and_max_len_and_a_flood_is_bounded() {
    let dir = TempDir::new("packet-in-osken");
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start(&dir.0, "127.0.0.1", port, &test_app("packet_in_13.py"), 1);
    let h = &lan.hosts;
    let conf = format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \tport \"{}\" number 3\n\ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
        br.0, h[0].port, h[1].port, h[2].port
    );
    let d = Daemon::start(&conf);
    assert!(
        wait_long(90, || osken.notes().iter().any(|l| is(l, "barrier"))),
        "os-ken's flows were not acknowledged; notes {:?}\nos-ken:\n{}\nswitchd stderr:\n{}",
        osken.notes(),
        osken.log_text(),
        d.stderr()
    );
    let notes = osken.notes();
    assert!(
        !notes.iter().any(|l| is(l, "error")),
        "the switch refused something os-ken sent: {notes:?}\nswitchd stderr:\n{}",
        d.stderr()
    );
    assert!(
        notes
            .iter()
            .any(|l| is(l, "connected") && field(l, "n_buffers") == Some(0)),
        "{notes:?}"
    );
    // Every packet goes to the controller and nowhere else: ARP would not be answered.
    for (i, j) in [(0, 1), (2, 1)] {
        h[i].ns
            .ip(&[
                "neigh",
                "replace",
                &h[j].ip.to_string(),
                "lladdr",
                &h[j].mac,
                "dev",
                "eth0",
            ])
            .expect("static neighbour");
    }

    // Port 1 to udp 9999: the cookie flow, 64 bytes of each. Port 3 to udp 7777: the
    // table-miss, whole packets.
    h[0].ns
        .udp_send_many(SocketAddr::from((h[1].ip, 9999)), 5, 200)
        .expect("send udp");
    h[2].ns
        .udp_send_many(SocketAddr::from((h[1].ip, 7777)), 3, 100)
        .expect("send udp");
    let ours = |l: &String| field(l, "cookie") == Some(COOKIE);
    let miss_udp =
        |l: &String| field(l, "in_port") == Some(3) && field(l, "total_len") == Some(142);
    assert!(
        wait_long(60, || {
            let p = packet_ins(&osken);
            p.iter().filter(|l| ours(l)).count() >= 5
                && p.iter().filter(|l| miss_udp(l)).count() >= 3
        }),
        "packet-ins missing: {:?}\nswitchd stderr:\n{}",
        packet_ins(&osken),
        d.stderr()
    );
    let p = packet_ins(&osken);
    println!("packet-ins: {p:?}");
    let flow: Vec<&String> = p.iter().filter(|l| ours(l)).collect();
    assert_eq!(flow.len(), 5, "{p:?}");
    for l in flow {
        assert_eq!(field(l, "in_port"), Some(1), "{l}");
        assert_eq!(field(l, "reason"), Some(1), "OFPR_ACTION: {l}");
        assert_eq!(field(l, "table_id"), Some(0), "{l}");
        // Ethernet 14 + IPv4 20 + UDP 8 + 200, cut to max_len 64.
        assert_eq!(field(l, "total_len"), Some(242), "{l}");
        assert_eq!(field(l, "data_len"), Some(64), "{l}");
        assert_eq!(field(l, "buffer_id"), Some(0xffff_ffff), "{l}");
    }
    let miss: Vec<&String> = p.iter().filter(|l| miss_udp(l)).collect();
    assert_eq!(miss.len(), 3, "{p:?}");
    for l in miss {
        assert_eq!(field(l, "reason"), Some(0), "OFPR_NO_MATCH: {l}");
        assert_eq!(field(l, "cookie"), Some(0), "{l}");
        assert_eq!(field(l, "data_len"), Some(142), "the whole packet: {l}");
    }

    // A flood: the police on the controller path (1000 pkt/s, burst 100) lets a part
    // through. Counted once the count stops growing; no timing is asserted.
    const FLOOD: usize = 20_000;
    let start = Instant::now();
    h[0].ns
        .udp_send_many(SocketAddr::from((h[1].ip, 9999)), FLOOD, 100)
        .expect("send udp");
    let sent_in = start.elapsed();
    let mut last = usize::MAX;
    wait_long(60, || {
        std::thread::sleep(Duration::from_secs(2));
        let n = packet_ins(&osken).iter().filter(|l| ours(l)).count();
        let done = n == last;
        last = n;
        done
    });
    let got = last - 5;
    println!(
        "flood: {FLOOD} packets sent in {:.3} s, {got} packet-ins reached os-ken",
        sent_in.as_secs_f64()
    );
    assert!(got > 0, "no packet-in from the flood");
    assert!(got < FLOOD, "the flood was not bounded: {got} of {FLOOD}");
    let stderr = d.stderr();
    assert!(
        !stderr.contains("packet-in unavailable"),
        "switchd could not listen to psample:\n{stderr}"
    );
}
