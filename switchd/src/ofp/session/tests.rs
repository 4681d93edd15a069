//! The session's unit tests: bytes in, bytes out.

use super::super::learning::{LEARNED_COOKIE, TABLE_MISS_COOKIE};
use super::*;
use bytes::BytesMut;
use ofproto::header::Header;
use ofproto::OfpErrorCode;

const CFG: SessionConfig = SessionConfig {
    echo_interval: Duration::from_secs(10),
    mac_timeout: 300,
    cache: 100,
};

/// Everything the session queued, decoded as 1.3 messages.
fn drain13(s: &mut Session) -> Vec<v13::Message> {
    let mut out = Vec::new();
    let mut buf = Bytes::copy_from_slice(s.output());
    s.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        out.push(v13::decode(&msg).expect("we send valid 1.3").1);
    }
    out
}

fn drain10(s: &mut Session) -> Vec<v10::Message> {
    let mut out = Vec::new();
    let mut buf = Bytes::copy_from_slice(s.output());
    s.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        out.push(v10::decode(&msg).expect("we send valid 1.0").1);
    }
    out
}

fn enc13(m: v13::Message) -> BytesMut {
    let mut b = BytesMut::new();
    m.encode(7, &mut b);
    b
}

fn enc10(m: v10::Message) -> BytesMut {
    let mut b = BytesMut::new();
    m.encode(7, &mut b);
    b
}

fn frame(dst: [u8; 6], src: [u8; 6]) -> Bytes {
    let mut f = Vec::from(dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0u8; 46]);
    Bytes::from(f)
}

fn ready13(now: Instant) -> Session {
    let mut s = Session::new(CFG, now);
    let hello = drain13(&mut s);
    assert!(
        matches!(&hello[..], [v13::Message::Hello(h)] if h.version_bitmap() == Some(&[0b10010][..]))
    );
    let mut peer = BytesMut::new();
    v13::encode_hello(&[OFP13_VERSION], 1, &mut peer);
    s.handle_input(&peer, now);
    let m = drain13(&mut s);
    assert!(matches!(m[0], v13::Message::FeaturesRequest));
    assert!(matches!(m[1], v13::Message::SetConfig(c) if c.miss_send_len == 0xffff));
    s.handle_input(
        &enc13(v13::Message::FeaturesReply(v13::FeaturesReply {
            datapath_id: 0xab,
            ..Default::default()
        })),
        now,
    );
    assert_eq!(
        s.poll_event(),
        Some(SessionEvent::Connected {
            datapath_id: 0xab,
            version: Version::V13
        })
    );
    s
}

/// The flow-mods among `m`, with their xids unknown: (command, cookie, priority).
fn mods13(m: &[v13::Message]) -> Vec<(v13::FlowModCommand, u64, u16)> {
    m.iter()
        .filter_map(|m| match m {
            v13::Message::FlowMod(f) => Some((f.command, f.cookie, f.priority)),
            _ => None,
        })
        .collect()
}

/// Everything queued, with xids.
fn drain13_xids(s: &mut Session) -> Vec<(u32, v13::Message)> {
    let mut out = Vec::new();
    let mut buf = Bytes::copy_from_slice(s.output());
    s.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        out.push(v13::decode(&msg).expect("we send valid 1.3"));
    }
    out
}

fn reply13(xid: u32, m: v13::Message) -> BytesMut {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    b
}

fn bad_out_port() -> v13::Message {
    v13::Message::Error(v13::ErrorMsg::Standard {
        code: OfpErrorCode::new(2, 4),
        data: Bytes::new(),
    })
}

#[test]
fn static_flows_follow_the_handshake_with_their_cookie_and_refusals_are_reported() {
    use v13::FlowModCommand as C;
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    s.install_static_flows(vec![
        "priority=100,icmp,actions=drop".into(),
        "priority=5,actions=output:65281".into(),
        "priority=7,actions=frobnicate".into(),
    ]);
    // The flow that does not parse is reported and not sent.
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::StaticFlowFailed { flow, error }) if flow.contains("frobnicate") && error.starts_with("bad flow for OpenFlow 1.3: column")
    ));
    let m = drain13_xids(&mut s);
    let msgs: Vec<v13::Message> = m.iter().map(|(_, m)| m.clone()).collect();
    // Stale static flows of an earlier connection go first, by cookie.
    assert_eq!(
        mods13(&msgs),
        [
            (C::Delete, STATIC_COOKIE, 0),
            (C::Add, STATIC_COOKIE, 100),
            (C::Add, STATIC_COOKIE, 5)
        ]
    );
    assert!(matches!(msgs.last(), Some(v13::Message::BarrierRequest)));
    let refused = m[2].0;
    let barrier = m[3].0;
    s.handle_input(&reply13(refused, bad_out_port()), now);
    assert_eq!(
        s.poll_event(),
        Some(SessionEvent::StaticFlowFailed {
            flow: "priority=5,actions=output:65281".into(),
            error: "OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)".into()
        })
    );
    s.handle_input(&reply13(barrier, v13::Message::BarrierReply), now);
    assert!(s.pending_mods.is_empty());
    assert_eq!(s.poll_event(), None);
}

#[test]
fn a_reload_deletes_removed_static_flows_strictly_and_adds_new_ones() {
    use v13::FlowModCommand as C;
    let now = Instant::now();
    let mut s = ready13(now);
    s.install_static_flows(vec![
        "priority=100,icmp,actions=drop".into(),
        "priority=9,arp,actions=NORMAL".into(),
    ]);
    drain13(&mut s);
    // Unchanged: nothing is sent.
    s.set_static_flows(vec![
        "priority=100,icmp,actions=drop".into(),
        "priority=9,arp,actions=NORMAL".into(),
    ]);
    assert!(drain13(&mut s).is_empty());
    s.set_static_flows(vec![
        "priority=9,arp,actions=NORMAL".into(),
        "priority=50,udp,actions=drop".into(),
    ]);
    let m = drain13(&mut s);
    assert_eq!(
        mods13(&m),
        [
            (C::DeleteStrict, STATIC_COOKIE, 100),
            (C::Add, STATIC_COOKIE, 50)
        ]
    );
    let v13::Message::FlowMod(del) = &m[0] else {
        panic!()
    };
    assert_eq!(del.cookie_mask, u64::MAX, "only our own flow may go");
    assert!(del.instructions.is_empty());
    assert!(matches!(m.last(), Some(v13::Message::BarrierRequest)));
}

#[test]
fn switchctl_flow_mods_are_answered_after_the_barrier_or_with_the_error() {
    use v13::FlowModCommand as C;
    let now = Instant::now();
    let mut s = ready13(now);
    s.install_static_flows(vec!["priority=100,icmp,actions=drop".into()]);
    drain13(&mut s);
    // A text this version cannot parse is refused here.
    assert!(s
        .flow_mod(FlowCommand::Add, "icmp")
        .unwrap_err()
        .contains("actions="));
    assert!(s.output().is_empty());

    let b = s
        .flow_mod(FlowCommand::Add, "priority=3,udp,actions=drop")
        .unwrap();
    let m = drain13_xids(&mut s);
    assert_eq!(m.len(), 2);
    assert_eq!(m[1], (b, v13::Message::BarrierRequest));
    s.handle_input(&reply13(b, v13::Message::BarrierReply), now);
    assert_eq!(
        s.poll_event(),
        Some(SessionEvent::FlowModDone {
            xid: b,
            result: Ok(())
        })
    );

    let b = s
        .flow_mod(FlowCommand::Add, "priority=3,actions=output:65281")
        .unwrap();
    let m = drain13_xids(&mut s);
    s.handle_input(&reply13(m[0].0, bad_out_port()), now);
    assert_eq!(
        s.poll_event(),
        Some(SessionEvent::FlowModDone {
            xid: b,
            result: Err("OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)".into())
        })
    );
    // The barrier reply behind it answers nothing more.
    s.handle_input(&reply13(b, v13::Message::BarrierReply), now);
    assert_eq!(s.poll_event(), None);

    // Deleting every flow takes table-miss and the static flows too: they come back.
    s.flow_mod(FlowCommand::Delete, "").unwrap();
    let m = drain13(&mut s);
    assert_eq!(
        mods13(&m),
        [
            (C::Delete, 0, 0x8000),
            (C::Add, TABLE_MISS_COOKIE, 0),
            (C::Add, STATIC_COOKIE, 100)
        ]
    );
    // A delete with a match cannot take the table-miss flow: nothing comes back.
    s.flow_mod(FlowCommand::Delete, "udp").unwrap();
    assert_eq!(mods13(&drain13(&mut s)).len(), 1);
}

#[test]
fn static_flows_over_10_parse_as_10() {
    let now = Instant::now();
    let mut s = Session::new(CFG, now);
    drain13(&mut s);
    s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
    s.handle_input(
        &enc10(v10::Message::FeaturesReply(v10::FeaturesReply {
            datapath_id: 5,
            n_buffers: 0,
            n_tables: 1,
            capabilities: 0,
            actions: 0,
            ports: Vec::new(),
        })),
        now,
    );
    drain10(&mut s);
    s.poll_event();
    s.install_static_flows(vec![
        "priority=100,icmp,actions=drop".into(),
        "table=1,actions=drop".into(),
    ]);
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::StaticFlowFailed { error, .. }) if error.starts_with("bad flow for OpenFlow 1.0")
    ));
    let m = drain10(&mut s);
    assert!(
        matches!(&m[..], [v10::Message::FlowMod(f), v10::Message::BarrierRequest] if f.cookie == STATIC_COOKIE && f.priority == 100)
    );
}

#[test]
fn handshake_13_installs_table_miss_and_asks_for_ports() {
    let now = Instant::now();
    let mut s = ready13(now);
    let m = drain13(&mut s);
    let miss = m.iter().find_map(|m| match m {
        v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Add => Some(f),
        _ => None,
    });
    let miss = miss.expect("table-miss flow");
    assert_eq!((miss.priority, miss.table_id), (0, 0));
    assert!(miss.match_.fields.is_empty());
    assert!(m.iter().any(|m| matches!(m, v13::Message::MultipartRequest(r) if r.body == v13::MultipartRequestBody::PortDesc)));
    assert_eq!(s.datapath_id, Some(0xab));
    assert_eq!(s.version(), Some(Version::V13));
}

#[test]
fn a_local_switch_gets_no_table_miss_from_the_learning_switch() {
    let now = Instant::now();
    let mut s = Session::new(CFG, now);
    s.set_local();
    drain13(&mut s);
    let mut peer = BytesMut::new();
    v13::encode_hello(&[OFP13_VERSION], 1, &mut peer);
    s.handle_input(&peer, now);
    s.handle_input(
        &enc13(v13::Message::FeaturesReply(v13::FeaturesReply {
            datapath_id: 0xab,
            ..Default::default()
        })),
        now,
    );
    let m = drain13(&mut s);
    assert!(
        !m.iter().any(
            |m| matches!(m, v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Add)
        ),
        "{m:?}"
    );
    assert!(m
        .iter()
        .any(|m| matches!(m, v13::Message::MultipartRequest(_))));
}

#[test]
fn a_10_hello_without_bitmap_negotiates_10_and_ports_come_from_features() {
    let now = Instant::now();
    let mut s = Session::new(CFG, now);
    drain13(&mut s);
    s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
    let m = drain10(&mut s);
    assert!(matches!(m[0], v10::Message::FeaturesRequest));
    let port = v10::PhyPort {
        port_no: 3,
        name: v10::FixedStr::new("eth3"),
        ..Default::default()
    };
    s.handle_input(
        &enc10(v10::Message::FeaturesReply(v10::FeaturesReply {
            datapath_id: 5,
            n_buffers: 0,
            n_tables: 1,
            capabilities: 0,
            actions: 0,
            ports: vec![port],
        })),
        now,
    );
    assert!(matches!(
        s.poll_event(),
        Some(SessionEvent::Connected {
            version: Version::V10,
            ..
        })
    ));
    assert_eq!(
        s.ports().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["eth3"]
    );
    // Learning over 1.0: A on 1 floods, B on 2 towards A installs a flow to port 1.
    drain10(&mut s);
    let a = [2, 0, 0, 0, 0, 0xa];
    let b = [2, 0, 0, 0, 0, 0xb];
    for (port, dst, src) in [(1, [0xff; 6], a), (2, a, b)] {
        s.handle_input(
            &enc10(v10::Message::PacketIn(v10::PacketIn {
                buffer_id: v10::NO_BUFFER,
                total_len: 60,
                in_port: port,
                reason: 0,
                data: frame(dst, src),
            })),
            now,
        );
    }
    let m = drain10(&mut s);
    assert!(
        matches!(&m[0], v10::Message::PacketOut(p) if p.actions == vec![v10::Action::Output { port: v10::port_no::FLOOD, max_len: 0 }])
    );
    assert!(
        matches!(&m[1], v10::Message::FlowMod(f) if f.priority == 1 && f.r#match.in_port == 2 && f.r#match.dl_dst == a && f.actions == vec![v10::Action::Output { port: 1, max_len: 0 }])
    );
    assert!(matches!(&m[2], v10::Message::PacketOut(p) if !p.data.is_empty()));
}

#[test]
fn learning_13_floods_then_installs_a_flow_and_handles_moves() {
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    let a = [2, 0, 0, 0, 0, 0xa];
    let b = [2, 0, 0, 0, 0, 0xb];
    let pin = |port: u32, dst, src| {
        enc13(v13::Message::PacketIn(v13::PacketIn {
            buffer_id: v13::OFP_NO_BUFFER,
            total_len: 60,
            match_: v13::Match::from_fields([v13::Oxm::InPort(port)]),
            data: frame(dst, src),
            ..Default::default()
        }))
    };
    s.handle_input(&pin(1, [0xff; 6], a), now);
    let m = drain13(&mut s);
    assert!(
        matches!(&m[..], [v13::Message::PacketOut(p)] if p.actions[0] == output13(port13::FLOOD))
    );
    s.handle_input(&pin(2, a, b), now);
    let m = drain13(&mut s);
    let v13::Message::FlowMod(f) = &m[0] else {
        panic!("{m:?}")
    };
    assert_eq!(
        (f.priority, f.idle_timeout, f.cookie),
        (1, 300, LEARNED_COOKIE)
    );
    assert_eq!(f.match_.fields.len(), 3);
    assert!(matches!(&m[1], v13::Message::PacketOut(p) if p.actions[0] == output13(1)));
    // A moves to port 3: its flows are deleted (towards it and from it), then it is
    // learned there.
    s.handle_input(&pin(3, b, a), now);
    let m = drain13(&mut s);
    let deletes = m
        .iter()
        .filter(|m| matches!(m, v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Delete && f.cookie_mask == u64::MAX))
        .count();
    assert_eq!(deletes, 2, "{m:?}");
    assert_eq!(
        s.macs(now).iter().find(|e| e.0 .0 == a).map(|e| e.1),
        Some(3)
    );
}

#[test]
fn buffered_packet_ins_are_released_by_the_flow_mod_or_the_packet_out() {
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    let a = [2, 0, 0, 0, 0, 0xa];
    let b = [2, 0, 0, 0, 0, 0xb];
    let pin = |port: u32, dst, src, buffer_id| {
        enc13(v13::Message::PacketIn(v13::PacketIn {
            buffer_id,
            total_len: 60,
            match_: v13::Match::from_fields([v13::Oxm::InPort(port)]),
            data: frame(dst, src),
            ..Default::default()
        }))
    };
    // Unknown destination: flooded by a PACKET_OUT of the buffer, without data.
    s.handle_input(&pin(1, [0xff; 6], a, 7), now);
    let m = drain13(&mut s);
    assert!(
        matches!(&m[..], [v13::Message::PacketOut(p)] if p.buffer_id == 7 && p.data.is_empty() && p.in_port == 1 && p.actions[0] == output13(port13::FLOOD)),
        "{m:?}"
    );
    // Known destination: the FLOW_MOD carries the buffer, no PACKET_OUT follows.
    s.handle_input(&pin(2, a, b, 8), now);
    let m = drain13(&mut s);
    assert!(
        matches!(&m[..], [v13::Message::FlowMod(f)] if f.buffer_id == 8 && f.match_.fields.len() == 3),
        "{m:?}"
    );
    assert_eq!(s.learning.packet_ins, 2);
}

#[test]
fn echo_after_an_interval_of_silence_and_dead_after_three() {
    let t0 = Instant::now();
    let mut s = ready13(t0);
    drain13(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + CFG.echo_interval));
    s.handle_timeout(t0 + CFG.echo_interval);
    assert!(matches!(
        drain13(&mut s)[..],
        [v13::Message::EchoRequest(_)]
    ));
    s.handle_timeout(t0 + CFG.echo_interval * 2);
    assert!(s.close_reason().is_none());
    // Anything received pushes death back.
    let t1 = t0 + CFG.echo_interval * 2;
    s.handle_input(&enc13(v13::Message::EchoReply(Bytes::new())), t1);
    s.handle_timeout(t0 + CFG.echo_interval * 3);
    assert!(s.close_reason().is_none());
    s.handle_timeout(t1 + CFG.echo_interval * 3);
    assert!(matches!(s.close_reason(), Some(CloseReason::Dead(_))));
}

#[test]
fn echo_requests_are_answered_with_their_xid_and_data() {
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    s.handle_input(
        &enc13(v13::Message::EchoRequest(Bytes::from_static(b"hi"))),
        now,
    );
    let out = Bytes::copy_from_slice(s.output());
    let (xid, m) = v13::decode(&out).unwrap();
    assert_eq!(
        (xid, m),
        (7, v13::Message::EchoReply(Bytes::from_static(b"hi")))
    );
}

#[test]
fn messages_we_do_not_act_on_keep_the_session() {
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    for m in [
        v13::Message::BarrierReply,
        v13::Message::Error(v13::ErrorMsg::for_request(
            OfpErrorCode::BAD_TYPE,
            &Bytes::new(),
        )),
        v13::Message::Experimenter(v13::Experimenter {
            experimenter: 0x2320,
            exp_type: 1,
            data: Bytes::new(),
        }),
        v13::Message::FlowRemoved(Default::default()),
    ] {
        s.handle_input(&enc13(m), now);
    }
    assert!(s.close_reason().is_none());
}

#[test]
fn malformed_input_gets_the_decoders_error_and_closes() {
    let now = Instant::now();
    let mut s = ready13(now);
    drain13(&mut s);
    // Type 200 does not exist: OFPBRC_BAD_TYPE with the message as data.
    let bad = [4u8, 200, 0, 8, 0, 0, 0, 9];
    s.handle_input(&bad, now);
    let out = Bytes::copy_from_slice(s.output());
    let (xid, m) = v13::decode(&out).unwrap();
    assert_eq!(xid, 9);
    assert_eq!(
        m,
        v13::Message::Error(v13::ErrorMsg::Standard {
            code: OfpErrorCode::BAD_TYPE,
            data: Bytes::copy_from_slice(&bad)
        })
    );
    assert!(s.close_reason().is_some());
    // Later input is ignored.
    s.handle_input(&enc13(v13::Message::EchoRequest(Bytes::new())), now);
    assert_eq!(s.output().len(), out.len());
}

#[test]
fn malformed_10_input_is_answered_in_10_numbering() {
    let now = Instant::now();
    let mut s = Session::new(CFG, now);
    drain13(&mut s);
    s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
    drain10(&mut s);
    // A header length below 8 cannot be framed: BAD_REQUEST/BAD_LEN (1, 6 in 1.0).
    s.handle_input(&[1, 2, 0, 4, 0, 0, 0, 1], now);
    let m = drain10(&mut s);
    assert!(matches!(&m[..], [v10::Message::Error(e)] if (e.err_type, e.code) == (1, 6)));
    assert!(s.close_reason().is_some());
}

#[test]
fn no_common_version_fails_the_hello() {
    let now = Instant::now();
    let mut s = Session::new(CFG, now);
    drain13(&mut s);
    // OpenFlow 1.1 header, no bitmap: min(4, 2) = 2, which we do not speak.
    s.handle_input(&[2, 0, 0, 8, 0, 0, 0, 1], now);
    let m = drain13(&mut s);
    assert!(
        matches!(&m[..], [v13::Message::Error(v13::ErrorMsg::Standard { code, .. })] if *code == OfpErrorCode::HELLO_INCOMPATIBLE)
    );
    assert!(s.close_reason().is_some());
}

#[test]
fn a_peer_that_does_not_read_is_dropped_when_the_queue_is_full() {
    let now = Instant::now();
    let mut s = ready13(now);
    let echo = enc13(v13::Message::EchoRequest(Bytes::from(vec![0u8; 60000])));
    for _ in 0..(WRITE_QUEUE_MAX / 60000 + 2) {
        s.handle_input(&echo, now);
    }
    assert!(s.output().len() <= WRITE_QUEUE_MAX);
    assert!(matches!(s.close_reason(), Some(r) if r.to_string().contains("write queue")));
}

#[test]
fn port_status_keeps_ports_and_forgets_addresses_of_deleted_ports() {
    let now = Instant::now();
    let mut s = ready13(now);
    let port = |no: u32, reason: u8| {
        enc13(v13::Message::PortStatus(v13::PortStatus {
            reason,
            desc: v13::Port {
                port_no: no,
                name: Bytes::from_static(b"p"),
                ..Default::default()
            },
        }))
    };
    s.handle_input(&port(4, 0), now);
    assert_eq!(s.ports().count(), 1);
    s.handle_input(
        &enc13(v13::Message::PacketIn(v13::PacketIn {
            buffer_id: v13::OFP_NO_BUFFER,
            match_: v13::Match::from_fields([v13::Oxm::InPort(4)]),
            data: frame([0xff; 6], [2, 0, 0, 0, 0, 1]),
            ..Default::default()
        })),
        now,
    );
    assert_eq!(s.macs(now).len(), 1);
    drain13(&mut s);
    s.handle_input(&port(4, 1), now);
    assert_eq!(s.ports().count(), 0);
    assert!(s.macs(now).is_empty());
    assert!(drain13(&mut s)
        .iter()
        .any(|m| matches!(m, v13::Message::FlowMod(f) if f.out_port == 4)));
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        matches!(
            &evs[..],
            [
                SessionEvent::PortStatus {
                    change: PortChange::Added,
                    ..
                },
                SessionEvent::PortStatus {
                    change: PortChange::Deleted,
                    ..
                }
            ]
        ),
        "{evs:?}"
    );
}

fn output13(port: u32) -> v13::Action {
    v13::Action::Output { port, max_len: 0 }
}
