//! PACKET_OUT driven as a controller drives it: encoded messages into an [`Agent`], the
//! frames that reach the sink (a recorder, standing in below the kernel tier's
//! `kernel_packet_out`, which sends on real devices) and the errors that come back.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ofproto::header::Header;
use ofproto::v13::{self, Message as M, Oxm};
use ofproto::OfpErrorCode;

use super::*;
use crate::datapath::agent::{Agent, AgentConfig, Switch, SwitchPort};
use crate::datapath::flowtable::tests::InMemory;

type Sent = Arc<Mutex<Vec<(Dest, Vec<u8>)>>>;

struct Recorder(Sent);

impl FrameSink for Recorder {
    fn transmit(&mut self, dest: Dest, frame: &[u8]) {
        self.0.lock().expect("lock").push((dest, frame.to_vec()));
    }
}

fn sw_port(no: u32, down: bool) -> SwitchPort {
    SwitchPort {
        desc: v13::Port {
            port_no: no,
            name: Bytes::from(format!("tap{no}")),
            state: u32::from(down),
            ..Default::default()
        },
        ifindex: 100 + no,
        since: Instant::now(),
    }
}

/// An agent past HELLO with ports 1, 2, 3 (3 is link-down) and a recording sink.
fn agent() -> (Agent, Sent) {
    let now = Instant::now();
    let cfg = AgentConfig {
        name: "vm".into(),
        bridge: "br-vm".into(),
        datapath_id: 1,
        n_tables: 4,
        echo_interval: std::time::Duration::ZERO,
    };
    let mut sw = Switch::new(4, Box::new(InMemory::default()));
    let sent: Sent = Arc::default();
    sw.frames = Some(Box::new(Recorder(sent.clone())));
    let mut a = Agent::new(cfg, sw, now);
    let mut h = BytesMut::new();
    v13::encode_hello(&[4], 1, &mut h);
    a.handle_input(&h, now);
    for p in [sw_port(1, false), sw_port(2, false), sw_port(3, true)] {
        a.port_update(p);
    }
    a.consume(a.output().len());
    (a, sent)
}

/// A UDP-ish frame: dst, src, ethertype IPv4, a payload.
fn frame() -> Bytes {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(b"payload of the test frame");
    Bytes::from(f)
}

fn out(p: u32) -> v13::Action {
    v13::Action::Output {
        port: p,
        max_len: 0,
    }
}

fn po(buffer_id: u32, in_port: u32, actions: Vec<v13::Action>, data: Bytes) -> M {
    M::PacketOut(v13::PacketOut {
        buffer_id,
        in_port,
        actions: actions.into_iter().collect(),
        data,
    })
}

/// Send `m`, then a barrier; the messages that came back before the barrier reply.
fn ask(a: &mut Agent, m: M) -> Vec<M> {
    let mut b = BytesMut::new();
    m.encode(7, &mut b);
    M::BarrierRequest.encode(8, &mut b);
    a.handle_input(&b, Instant::now());
    let mut buf = Bytes::copy_from_slice(a.output());
    a.consume(buf.len());
    let mut r = Vec::new();
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        r.push(v13::decode(&msg).expect("valid 1.3").1);
    }
    assert_eq!(r.pop(), Some(M::BarrierReply), "the connection stays");
    r
}

fn error_of(r: &[M]) -> Option<OfpErrorCode> {
    match r {
        [M::Error(v13::ErrorMsg::Standard { code, .. })] => Some(*code),
        _ => None,
    }
}

fn take(s: &Sent) -> Vec<(Dest, Vec<u8>)> {
    std::mem::take(&mut *s.lock().expect("lock"))
}

#[test]
fn outputs_go_where_the_actions_say_in_order() {
    let (mut a, sent) = agent();
    let nb = v13::OFP_NO_BUFFER;
    let f = frame();
    assert_eq!(
        ask(&mut a, po(nb, port::CONTROLLER, vec![out(2)], f.clone())),
        []
    );
    assert_eq!(take(&sent), [(Dest::Ifindex(102), f.to_vec())]);
    // IN_PORT is the in_port's device; ALL is every port but in_port, down ones too;
    // FLOOD leaves out the down port 3.
    assert_eq!(
        ask(&mut a, po(nb, 1, vec![out(port::IN_PORT)], f.clone())),
        []
    );
    assert_eq!(take(&sent), [(Dest::Ifindex(101), f.to_vec())]);
    assert_eq!(ask(&mut a, po(nb, 1, vec![out(port::ALL)], f.clone())), []);
    let d: Vec<Dest> = take(&sent).into_iter().map(|(d, _)| d).collect();
    assert_eq!(d, [Dest::Ifindex(102), Dest::Ifindex(103)]);
    assert_eq!(
        ask(&mut a, po(nb, 1, vec![out(port::FLOOD)], f.clone())),
        []
    );
    let d: Vec<Dest> = take(&sent).into_iter().map(|(d, _)| d).collect();
    assert_eq!(d, [Dest::Ifindex(102)]);
    // FLOOD from the controller: every port that is up.
    assert_eq!(
        ask(
            &mut a,
            po(nb, port::CONTROLLER, vec![out(port::FLOOD)], f.clone())
        ),
        []
    );
    let d: Vec<Dest> = take(&sent).into_iter().map(|(d, _)| d).collect();
    assert_eq!(d, [Dest::Ifindex(101), Dest::Ifindex(102)]);
    assert_eq!(
        ask(
            &mut a,
            po(nb, port::ANY, vec![out(port::NORMAL), out(1)], f.clone())
        ),
        []
    );
    let d: Vec<Dest> = take(&sent).into_iter().map(|(d, _)| d).collect();
    assert_eq!(d, [Dest::Bridge, Dest::Ifindex(101)]);
    // No actions: dropped, no error.
    assert_eq!(ask(&mut a, po(nb, 1, vec![], f.clone())), []);
    assert_eq!(take(&sent), []);
}

#[test]
fn vlan_and_mac_edits_apply_to_later_outputs_only() {
    let (mut a, sent) = agent();
    let f = frame();
    let actions = vec![
        out(1),
        v13::Action::SetField(Oxm::EthDst(v13::Masked::exact(v13::MacAddr([
            0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        ])))),
        v13::Action::PushVlan(0x8100),
        v13::Action::SetField(Oxm::VlanVid(v13::Masked::exact(0x1000 | 42))),
        v13::Action::SetField(Oxm::VlanPcp(5)),
        out(2),
        v13::Action::PopVlan,
        v13::Action::SetField(Oxm::EthSrc(v13::Masked::exact(v13::MacAddr([2; 6])))),
        out(3),
    ];
    assert_eq!(
        ask(
            &mut a,
            po(v13::OFP_NO_BUFFER, port::CONTROLLER, actions, f.clone())
        ),
        []
    );
    let s = take(&sent);
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].1, f.to_vec());
    let mut tagged = vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 2, 0, 0, 0, 0, 1];
    tagged.extend_from_slice(&[0x81, 0x00, 0xa0, 42, 0x08, 0x00]);
    tagged.extend_from_slice(b"payload of the test frame");
    assert_eq!(s[1].1, tagged);
    let mut untagged = vec![
        0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 2, 2, 2, 2, 2, 2, 0x08, 0x00,
    ];
    untagged.extend_from_slice(b"payload of the test frame");
    assert_eq!(s[2].1, untagged);
}

#[test]
fn refusals_send_nothing_and_keep_the_connection() {
    let (mut a, sent) = agent();
    let nb = v13::OFP_NO_BUFFER;
    let f = frame();
    let bad_out = OfpErrorCode::new(2, 4);
    let cases: Vec<(M, OfpErrorCode)> = vec![
        // A buffer we never had: OFPBRC_BUFFER_UNKNOWN.
        (
            po(0x1234, 1, vec![out(2)], f.clone()),
            OfpErrorCode::new(1, 8),
        ),
        // Not a port of the switch: OFPBRC_BAD_PORT.
        (po(nb, 7, vec![out(2)], f.clone()), OfpErrorCode::new(1, 11)),
        // Shorter than an Ethernet header: OFPBRC_BAD_PACKET.
        (
            po(nb, 1, vec![out(2)], Bytes::from_static(&[1, 2, 3])),
            OfpErrorCode::new(1, 12),
        ),
        // An output that comes after a valid one: nothing at all is sent.
        (po(nb, 1, vec![out(2), out(9)], f.clone()), bad_out),
        (
            po(nb, port::CONTROLLER, vec![out(port::IN_PORT)], f.clone()),
            bad_out,
        ),
        // This switch has no injection pair (`inject` is None).
        (
            po(nb, 1, vec![out(2), out(port::TABLE)], f.clone()),
            bad_out,
        ),
        (po(nb, 1, vec![out(port::CONTROLLER)], f.clone()), bad_out),
        (po(nb, 1, vec![out(port::LOCAL)], f.clone()), bad_out),
        (po(nb, 1, vec![out(port::ANY)], f.clone()), bad_out),
        (po(nb, 1, vec![out(0)], f.clone()), bad_out),
        (
            po(nb, 1, vec![v13::Action::PopVlan, out(2)], f.clone()),
            OfpErrorCode::new(2, 12),
        ),
        (
            po(
                nb,
                1,
                vec![v13::Action::SetField(Oxm::VlanPcp(1)), out(2)],
                f.clone(),
            ),
            OfpErrorCode::new(2, 12),
        ),
        (
            po(
                nb,
                1,
                vec![v13::Action::SetField(Oxm::IpDscp(8)), out(2)],
                f.clone(),
            ),
            OfpErrorCode::new(2, 13),
        ),
        (
            po(nb, 1, vec![v13::Action::DecNwTtl, out(2)], f.clone()),
            OfpErrorCode::new(2, 0),
        ),
        (
            po(nb, 1, vec![v13::Action::Group(1), out(2)], f.clone()),
            OfpErrorCode::new(2, 9),
        ),
    ];
    for (m, want) in cases {
        let r = ask(&mut a, m.clone());
        assert_eq!(error_of(&r), Some(want), "{m:?}: {r:?}");
        assert_eq!(take(&sent), [], "{m:?} sent something");
        assert!(a.is_connected());
    }
}

#[test]
fn without_a_socket_packet_out_is_refused() {
    let (mut a, _) = agent();
    a.switch.frames = None;
    let r = ask(&mut a, po(v13::OFP_NO_BUFFER, 1, vec![out(2)], frame()));
    assert_eq!(error_of(&r), Some(OfpErrorCode::new(1, 5)));
}

#[test]
fn a_slave_may_not_send_packet_outs() {
    let (mut a, sent) = agent();
    let r = ask(
        &mut a,
        M::RoleRequest(v13::Role {
            role: 3,
            generation_id: 1,
        }),
    );
    assert!(matches!(r[..], [M::RoleReply(_)]), "{r:?}");
    let r = ask(&mut a, po(v13::OFP_NO_BUFFER, 1, vec![out(2)], frame()));
    assert_eq!(error_of(&r), Some(OfpErrorCode::new(1, 10)));
    assert_eq!(take(&sent), []);
}

#[test]
fn table_and_local_go_tagged_to_the_injection_pair() {
    let (mut a, sent) = agent();
    a.switch.inject = Some(50);
    let nb = v13::OFP_NO_BUFFER;
    let f = frame();
    let tagged = |vid: u16| {
        let mut t = f[..12].to_vec();
        t.extend_from_slice(&[0x88, 0xa8]);
        t.extend_from_slice(&vid.to_be_bytes());
        t.extend_from_slice(&f[12..]);
        t
    };
    let r = ask(
        &mut a,
        po(
            nb,
            2,
            vec![out(port::TABLE), out(port::LOCAL), out(1)],
            f.clone(),
        ),
    );
    assert_eq!(r, []);
    assert_eq!(
        take(&sent),
        [
            (Dest::Ifindex(50), tagged(2)),
            (Dest::Ifindex(50), tagged(4095)),
            (Dest::Ifindex(101), f.to_vec()),
        ]
    );
    // LOCAL needs no in_port.
    let r = ask(
        &mut a,
        po(nb, port::CONTROLLER, vec![out(port::LOCAL)], f.clone()),
    );
    assert_eq!(r, []);
    assert_eq!(take(&sent), [(Dest::Ifindex(50), tagged(4095))]);
}

#[test]
fn table_needs_an_in_port_that_a_tag_can_carry() {
    let (mut a, sent) = agent();
    a.switch.inject = Some(50);
    a.port_update(sw_port(5000, false));
    a.consume(a.output().len());
    let nb = v13::OFP_NO_BUFFER;
    let bad_port = OfpErrorCode::new(1, 11);
    for in_port in [port::CONTROLLER, port::ANY, port::LOCAL, 5000] {
        let r = ask(&mut a, po(nb, in_port, vec![out(port::TABLE)], frame()));
        assert_eq!(error_of(&r), Some(bad_port), "in_port {in_port:#x}: {r:?}");
        assert_eq!(take(&sent), []);
    }
}
