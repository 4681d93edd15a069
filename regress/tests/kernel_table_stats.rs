//! Kernel tier (the VM): the table statistics a controller reads move with the traffic, on
//! a local switch as on Open vSwitch's kernel datapath, in the same test. The test is the
//! OpenFlow 1.3 controller of both (one TCP listener each): it deletes every flow, installs
//! two ICMP flows in table 0 (port 1 <-> port 2), sends pings (matched) and UDP datagrams
//! (no flow matches them: a table miss, dropped), and reads OFPMP_TABLE before and after.
//! A local switch counts lookups as its flows' matches plus its table-miss filters' drops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::OFP13_VERSION;
use ofproto::v13::{self, multipart as mp, Message as M};
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::{run_ok, unique_name, Lan, Ovs};

/// The test's side of one OpenFlow 1.3 connection: a reader thread answers echoes and
/// passes every other message on.
struct Controller {
    w: TcpStream,
    rx: mpsc::Receiver<M>,
    xid: u32,
}

impl Controller {
    fn accept(l: &TcpListener, what: &str) -> Controller {
        l.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + Duration::from_secs(120);
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "{what} did not connect in 120 s");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("accept {what}: {e}"),
            }
        };
        s.set_nonblocking(false).expect("blocking");
        let mut out = BytesMut::new();
        v13::encode_hello(&[OFP13_VERSION], 1, &mut out);
        (&s).write_all(&out).expect("hello");
        let (tx, rx) = mpsc::channel();
        let mut r = s.try_clone().expect("clone");
        let w = s.try_clone().expect("clone");
        std::thread::spawn(move || {
            let mut buf = BytesMut::new();
            let mut chunk = vec![0u8; 1 << 16];
            loop {
                while buf.len() >= 8 {
                    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                    if len < 8 || buf.len() < len {
                        break;
                    }
                    let msg: Bytes = buf.split_to(len).freeze();
                    if msg[1] == 2 {
                        let mut rep = msg.to_vec();
                        rep[1] = 3;
                        let _ = (&w).write_all(&rep);
                        continue;
                    }
                    if let Ok((_, m)) = v13::decode(&msg) {
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                }
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
        Controller { w: s, rx, xid: 100 }
    }

    fn send(&mut self, m: &M) {
        self.xid += 1;
        let mut b = BytesMut::new();
        m.encode(self.xid, &mut b);
        self.w.write_all(&b).expect("write to the switch");
    }

    /// Send `m` and a barrier; every message up to the barrier reply.
    fn ask(&mut self, m: &M) -> Vec<M> {
        self.send(m);
        self.send(&M::BarrierRequest);
        let mut out = Vec::new();
        loop {
            match self.rx.recv_timeout(Duration::from_secs(60)) {
                Ok(M::BarrierReply) => return out,
                Ok(m) => out.push(m),
                Err(e) => panic!("no barrier reply: {e}; so far {out:?}"),
            }
        }
    }

    fn table_stats(&mut self) -> Vec<mp::TableStats> {
        let r = self.ask(&M::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: mp::MultipartRequestBody::Table,
        }));
        r.into_iter()
            .filter_map(|m| match m {
                M::MultipartReply(v13::MultipartReply {
                    body: mp::MultipartReplyBody::Table(t),
                    ..
                }) => Some(t),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Delete every flow; then ICMP from port 1 to 2 and back, nothing else.
    fn icmp_flows(&mut self) {
        let del = v13::FlowMod {
            command: v13::FlowModCommand::Delete,
            table_id: v13::OFPTT_ALL,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: v13::port::ANY,
            out_group: v13::OFPG_ANY,
            ..Default::default()
        };
        let mut msgs = vec![M::FlowMod(del)];
        for (from, to) in [(1, 2), (2, 1)] {
            msgs.push(M::FlowMod(v13::FlowMod {
                command: v13::FlowModCommand::Add,
                priority: 10,
                buffer_id: v13::OFP_NO_BUFFER,
                out_port: v13::port::ANY,
                out_group: v13::OFPG_ANY,
                match_: v13::Match::from_fields([
                    v13::Oxm::InPort(from),
                    v13::Oxm::EthType(0x0800),
                    v13::Oxm::IpProto(1),
                ]),
                instructions: [v13::Instruction::ApplyActions(
                    [v13::Action::Output {
                        port: to,
                        max_len: 0,
                    }]
                    .into_iter()
                    .collect(),
                )]
                .into_iter()
                .collect(),
                ..Default::default()
            }));
        }
        for m in msgs {
            let r = self.ask(&m);
            assert!(
                !r.iter().any(|m| matches!(m, M::Error(_))),
                "{m:?} refused: {r:?}"
            );
        }
    }
}

/// Table 0's (lookup, matched).
fn table0(c: &mut Controller) -> (u64, u64) {
    let t = c.table_stats();
    let t0 = t
        .iter()
        .find(|t| t.table_id == 0)
        .unwrap_or_else(|| panic!("no table 0 in {t:?}"));
    (t0.lookup_count, t0.matched_count)
}

/// Pings and UDP datagrams across the switch; then the growth of table 0's lookups and
/// matches, read until it covers what was sent (Open vSwitch credits its kernel flows'
/// counters to the tables a moment later) or 20 s passed.
fn traffic_and_growth(c: &mut Controller, lan: &Lan, what: &str) -> (u64, u64, u64) {
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let before = table0(c);
    println!(
        "{what}: table 0 before: lookup {}, matched {}",
        before.0, before.1
    );
    assert_ne!(before.0, u64::MAX, "{what}: lookup_count unavailable");
    const PINGS: u64 = 5;
    const UDP: u64 = 7;
    let mut ok = 0;
    for _ in 0..PINGS {
        if h0.ns.ping(h1.ip, 2) {
            ok += 1;
        }
    }
    assert_eq!(ok, PINGS, "{what}: pings through the ICMP flows failed");
    h0.ns
        .udp_send_many(SocketAddr::from((h1.ip, 9)), UDP as usize, 32)
        .expect("udp");
    // Echo request and reply: two matches per ping; each datagram a miss.
    let (want_matched, want_missed) = (2 * PINGS, UDP);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after = table0(c);
        let lookups = after.0.saturating_sub(before.0);
        let matched = after.1.saturating_sub(before.1);
        let missed = lookups.saturating_sub(matched);
        if (matched >= want_matched && missed >= want_missed) || Instant::now() > deadline {
            println!(
                "{what}: table 0 after: lookup {}, matched {} (+{lookups} lookups, +{matched} matched, +{missed} missed)",
                after.0, after.1
            );
            return (lookups, matched, missed);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn static_neighbours(lan: &Lan) {
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    for (h, peer) in [(h0, h1), (h1, h0)] {
        let _ =
            h.ns.exec(&["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
        h.ns.ip(&[
            "neigh",
            "replace",
            &peer.ip.to_string(),
            "lladdr",
            &peer.mac,
            "dev",
            "eth0",
        ])
        .expect("neighbour");
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower and openvswitch.ko, runs in the VM"]
fn table_stats_count_lookups_and_matches_on_a_local_switch_as_on_open_vswitch() {
    run_ok(&["modprobe", "openvswitch"]).expect("modprobe openvswitch");
    let dp_existed = regress::run(&["ip", "link", "show", "dev", "ovs-system"]);

    // The local switch.
    let sw_lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    static_neighbours(&sw_lan);
    let l1 = TcpListener::bind("127.0.0.1:0").expect("listen");
    let p1 = l1.local_addr().expect("addr").port();
    let br = unique_name();
    let d = Daemon::builder()
        .verbose()
        .config(&format!(
            "switch \"stats\" {{\n\tbridge \"{br}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\ttable-miss drop\n\tforward to tcp:127.0.0.1:{p1}\n}}\n",
            sw_lan.hosts[0].port, sw_lan.hosts[1].port
        ))
        .ready_within(Duration::from_secs(60))
        .start()
        .expect("switchd");
    let mut c1 = Controller::accept(&l1, "switchd");
    c1.icmp_flows();
    let sw = traffic_and_growth(&mut c1, &sw_lan, "switchd");

    // Open vSwitch, kernel datapath, the same flows and traffic.
    let ovs_lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    static_neighbours(&ovs_lan);
    let l2 = TcpListener::bind("127.0.0.1:0").expect("listen");
    let p2 = l2.local_addr().expect("addr").port();
    let ovs = Ovs::start().expect("Open vSwitch");
    let obr = unique_name();
    let (a, b) = (&ovs_lan.hosts[0].port, &ovs_lan.hosts[1].port);
    ovs.vsctl(&[
        "--no-wait",
        "add-br",
        &obr,
        "--",
        "set",
        "bridge",
        &obr,
        "datapath_type=system",
        "fail_mode=secure",
        "protocols=OpenFlow13",
        "--",
        "add-port",
        &obr,
        a,
        "--",
        "set",
        "interface",
        a,
        "ofport_request=1",
        "--",
        "add-port",
        &obr,
        b,
        "--",
        "set",
        "interface",
        b,
        "ofport_request=2",
        "--",
        "set-controller",
        &obr,
        &format!("tcp:127.0.0.1:{p2}"),
    ])
    .expect("OVS bridge");
    let mut c2 = Controller::accept(&l2, "Open vSwitch");
    c2.icmp_flows();
    let ov = traffic_and_growth(&mut c2, &ovs_lan, "OVS");

    for ((lookups, matched, missed), what) in [(sw, "switchd"), (ov, "OVS")] {
        assert!(
            matched >= 10 && missed >= 7 && lookups >= 17,
            "{what}: table 0 grew by {lookups} lookups, {matched} matched, {missed} missed; \
             want at least 17, 10, 7\nswitchd log:\n{}",
            d.log()
        );
    }
    drop(c2);
    drop(ovs);
    drop(c1);
    drop(d);
    let _ = run_ok(&["ip", "link", "del", &br]);
    if !dp_existed {
        let _ = run_ok(&["ovs-dpctl", "del-dp", "ovs-system"]);
    }
}
