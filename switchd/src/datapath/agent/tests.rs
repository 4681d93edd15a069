//! The switch side of OpenFlow 1.3, driven as a controller would drive it: encoded messages
//! in, decoded messages out.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::Header;
use ofproto::v13::{self, multipart as mp, Message as M};
use ofproto::OfpErrorCode;

use super::*;
use crate::datapath::flowtable::tests::InMemory;
use tc_datapath::{Backend, Counters};

const ECHO: Duration = Duration::from_secs(10);

fn cfg() -> AgentConfig {
    AgentConfig {
        name: "vm".into(),
        bridge: "br-vm".into(),
        datapath_id: 0x0000_0242_ac11_0002,
        n_tables: 4,
        echo_interval: ECHO,
    }
}

fn port(no: u32, name: &str) -> SwitchPort {
    SwitchPort {
        desc: v13::Port {
            port_no: no,
            name: Bytes::copy_from_slice(name.as_bytes()),
            hw_addr: v13::MacAddr([2, 0, 0, 0, 0, no as u8]),
            ..Default::default()
        },
        ifindex: 100 + no,
        since: Instant::now(),
    }
}

/// Every message the agent queued, with its xid.
fn drain(a: &mut Agent) -> Vec<(u32, M)> {
    let mut out = Vec::new();
    let mut buf = Bytes::copy_from_slice(a.output());
    a.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        out.push(v13::decode(&msg).expect("the agent sends valid 1.3"));
    }
    out
}

fn enc(xid: u32, m: M) -> BytesMut {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    b
}

fn agent(now: Instant) -> Agent {
    let mut a = Agent::new(cfg(), Switch::new(4, Box::new(InMemory::default())), now);
    let hello = drain(&mut a);
    assert!(
        matches!(&hello[..], [(_, M::Hello(h))] if h.version_bitmap() == Some(&[1 << 4][..])),
        "{hello:?}"
    );
    let mut h = BytesMut::new();
    v13::encode_hello(&[1, 4], 1, &mut h);
    a.handle_input(&h, now);
    assert!(a.is_connected());
    a.port_update(port(1, "tap0"));
    a.port_update(port(10, "tap1"));
    drain(&mut a);
    a
}

/// Send one message, return what came back.
fn ask(a: &mut Agent, xid: u32, m: M, now: Instant) -> Vec<(u32, M)> {
    a.handle_input(&enc(xid, m), now);
    drain(a)
}

fn error_code(replies: &[(u32, M)]) -> Option<OfpErrorCode> {
    match replies {
        [(_, M::Error(v13::ErrorMsg::Standard { code, .. }))] => Some(*code),
        _ => None,
    }
}

fn flow(cmd: v13::FlowModCommand, priority: u16, fields: Vec<v13::Oxm>, to: u32) -> v13::FlowMod {
    v13::FlowMod {
        command: cmd,
        priority,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        match_: v13::Match::from_fields(fields),
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
    }
}

fn mp_req(body: mp::MultipartRequestBody) -> M {
    M::MultipartRequest(v13::MultipartRequest { flags: 0, body })
}

fn all_flows() -> mp::FlowStatsRequest {
    mp::FlowStatsRequest {
        table_id: v13::OFPTT_ALL,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        cookie: 0,
        cookie_mask: 0,
        match_: v13::Match::new(),
    }
}

#[test]
fn handshake_features_and_config() {
    let now = Instant::now();
    let mut a = agent(now);
    let r = ask(&mut a, 5, M::FeaturesRequest, now);
    let [(5, M::FeaturesReply(f))] = &r[..] else {
        panic!("{r:?}")
    };
    assert_eq!(
        (f.datapath_id, f.n_buffers, f.n_tables, f.capabilities),
        (0x0000_0242_ac11_0002, 0, 4, CAPABILITIES)
    );
    assert!(ask(
        &mut a,
        6,
        M::SetConfig(v13::SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff
        }),
        now
    )
    .is_empty());
    let r = ask(&mut a, 7, M::GetConfigRequest, now);
    assert!(matches!(&r[..], [(7, M::GetConfigReply(c))] if c.miss_send_len == 0xffff));
    // Fragment reassembly is not something a bridge does.
    let r = ask(
        &mut a,
        8,
        M::SetConfig(v13::SwitchConfig {
            flags: 2,
            miss_send_len: 0,
        }),
        now,
    );
    assert_eq!(error_code(&r), Some(OfpErrorCode::new(10, 0)));
}

#[test]
fn a_10_only_controller_fails_the_hello_and_the_connection_closes() {
    let now = Instant::now();
    let mut a = Agent::new(cfg(), Switch::new(4, Box::new(InMemory::default())), now);
    drain(&mut a);
    a.handle_input(&[1, 0, 0, 8, 0, 0, 0, 3], now);
    let r = drain(&mut a);
    assert_eq!(error_code(&r), Some(OfpErrorCode::HELLO_INCOMPATIBLE));
    assert!(a
        .close_reason()
        .is_some_and(|r| r.to_string().contains("hello failed")));
}

#[test]
fn echo_both_ways_and_a_silent_controller_is_dead_after_three_intervals() {
    let t0 = Instant::now();
    let mut a = agent(t0);
    let r = ask(&mut a, 9, M::EchoRequest(Bytes::from_static(b"x")), t0);
    assert_eq!(r, [(9, M::EchoReply(Bytes::from_static(b"x")))]);
    assert_eq!(a.poll_timeout(), Some(t0 + ECHO));
    a.handle_timeout(t0 + ECHO);
    assert!(matches!(&drain(&mut a)[..], [(_, M::EchoRequest(_))]));
    a.handle_timeout(t0 + ECHO * 3);
    assert!(a
        .close_reason()
        .is_some_and(|r| r.to_string().starts_with("dead")));
}

#[test]
fn barrier_comes_after_the_replies_of_earlier_requests() {
    let now = Instant::now();
    let mut a = agent(now);
    let mut b = enc(1, M::FlowMod(flow(v13::FlowModCommand::Add, 1, vec![], 0)));
    b.extend_from_slice(&enc(2, M::BarrierRequest));
    a.handle_input(&b, now);
    let r = drain(&mut a);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(matches!(r[0], (1, M::Error(_))));
    assert_eq!(r[1], (2, M::BarrierReply));
}

#[test]
fn multipart_desc_port_desc_and_table() {
    let now = Instant::now();
    let mut a = agent(now);
    let r = ask(&mut a, 3, mp_req(mp::MultipartRequestBody::Desc), now);
    let [(
        3,
        M::MultipartReply(v13::MultipartReply {
            body: mp::MultipartReplyBody::Desc(d),
            ..
        }),
    )] = &r[..]
    else {
        panic!("{r:?}")
    };
    assert_eq!(&d.mfr_desc[..], b"switchd");
    assert_eq!(&d.hw_desc[..], b"Linux bridge + TC flower");
    assert_eq!(&d.sw_desc[..], env!("CARGO_PKG_VERSION").as_bytes());
    let r = ask(&mut a, 4, mp_req(mp::MultipartRequestBody::PortDesc), now);
    let [(
        4,
        M::MultipartReply(v13::MultipartReply {
            body: mp::MultipartReplyBody::PortDesc(p),
            ..
        }),
    )] = &r[..]
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        p.iter()
            .map(|p| (p.port_no, &p.name[..]))
            .collect::<Vec<_>>(),
        [(1, &b"tap0"[..]), (10, &b"tap1"[..])]
    );
    ask(
        &mut a,
        5,
        M::FlowMod(flow(v13::FlowModCommand::Add, 1, vec![], 10)),
        now,
    );
    let r = ask(&mut a, 6, mp_req(mp::MultipartRequestBody::Table), now);
    let [(
        6,
        M::MultipartReply(v13::MultipartReply {
            body: mp::MultipartReplyBody::Table(t),
            ..
        }),
    )] = &r[..]
    else {
        panic!("{r:?}")
    };
    assert_eq!(t.len(), 4);
    assert_eq!((t[0].active_count, t[1].active_count), (1, 0));
}

#[test]
fn flow_stats_and_aggregate_with_filters_and_counters() {
    let now = Instant::now();
    let mut a = agent(now);
    use v13::FlowModCommand as C;
    let mut f1 = flow(C::Add, 10, vec![v13::Oxm::InPort(1)], 10);
    f1.cookie = 0x11;
    let mut f2 = flow(C::Add, 20, vec![v13::Oxm::InPort(10)], 1);
    f2.cookie = 0x22;
    assert!(ask(&mut a, 1, M::FlowMod(f1), now).is_empty());
    assert!(ask(&mut a, 2, M::FlowMod(f2), now).is_empty());
    let id = a
        .switch
        .table
        .entries()
        .find(|e| e.spec.priority == 10)
        .map(|e| e.id)
        .expect("entry");
    // Reach into the in-memory backend through the trait object's table of counters:
    // install again with counters by replacing the backend.
    let mut mem = InMemory::default();
    for e in a.switch.table.entries() {
        mem.installed.insert(e.id, e.spec.clone());
    }
    mem.counters.insert(
        id,
        Counters {
            packets: 4,
            bytes: 400,
            last_used: None,
        },
    );
    a.switch.backend = Box::new(mem);

    let mut req = all_flows();
    req.out_port = 10;
    let r = ask(&mut a, 3, mp_req(mp::MultipartRequestBody::Flow(req)), now);
    let [(
        3,
        M::MultipartReply(v13::MultipartReply {
            body: mp::MultipartReplyBody::Flow(f),
            flags: 0,
        }),
    )] = &r[..]
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        f.iter()
            .map(|f| (f.priority, f.cookie, f.packet_count))
            .collect::<Vec<_>>(),
        [(10, 0x11, 4)]
    );
    let mut req = all_flows();
    (req.cookie, req.cookie_mask) = (0x22, 0xff);
    let r = ask(
        &mut a,
        4,
        mp_req(mp::MultipartRequestBody::Aggregate(req)),
        now,
    );
    assert!(
        matches!(&r[..], [(4, M::MultipartReply(v13::MultipartReply { body: mp::MultipartReplyBody::Aggregate(g), .. }))] if g.flow_count == 1 && g.packet_count == 0),
        "{r:?}"
    );
    let r = ask(
        &mut a,
        5,
        mp_req(mp::MultipartRequestBody::Aggregate(all_flows())),
        now,
    );
    assert!(
        matches!(&r[..], [(5, M::MultipartReply(v13::MultipartReply { body: mp::MultipartReplyBody::Aggregate(g), .. }))] if g.flow_count == 2 && g.byte_count == 400),
        "{r:?}"
    );
}

#[test]
fn many_flows_are_split_over_replies_with_the_more_flag() {
    let now = Instant::now();
    let mut a = agent(now);
    for i in 0..2000 {
        let m = flow(
            v13::FlowModCommand::Add,
            5,
            vec![v13::Oxm::InPort(i + 1)],
            1,
        );
        a.handle_input(&enc(i, M::FlowMod(m)), now);
    }
    assert!(drain(&mut a).is_empty());
    let r = ask(
        &mut a,
        77,
        mp_req(mp::MultipartRequestBody::Flow(all_flows())),
        now,
    );
    assert!(r.len() > 1);
    let mut n = 0;
    for (i, (xid, m)) in r.iter().enumerate() {
        let M::MultipartReply(rep) = m else {
            panic!("{m:?}")
        };
        assert_eq!(*xid, 77);
        assert_eq!(rep.flags & mp::OFPMPF_MORE != 0, i + 1 < r.len());
        if let mp::MultipartReplyBody::Flow(f) = &rep.body {
            n += f.len();
        }
    }
    assert_eq!(n, 2000);
}

#[test]
fn port_stats_wait_for_the_kernels_counters_and_hold_later_input() {
    let now = Instant::now();
    let mut a = agent(now);
    let mut b = enc(
        8,
        mp_req(mp::MultipartRequestBody::PortStats { port_no: port::ANY }),
    );
    b.extend_from_slice(&enc(9, M::BarrierRequest));
    a.handle_input(&b, now);
    assert!(
        drain(&mut a).is_empty(),
        "nothing before the counters are in"
    );
    let Some(AgentEvent::NeedPortStats { xid, ports }) = a.poll_event() else {
        panic!()
    };
    assert_eq!(ports, [(1, 101), (10, 110)]);
    let c = LinkCounters {
        rx_packets: 5,
        tx_bytes: 9,
        ..Default::default()
    };
    a.port_stats(xid, vec![(1, c), (10, LinkCounters::default())], now);
    let r = drain(&mut a);
    assert_eq!(r.len(), 2, "{r:?}");
    let (
        8,
        M::MultipartReply(v13::MultipartReply {
            body: mp::MultipartReplyBody::PortStats(s),
            ..
        }),
    ) = &r[0]
    else {
        panic!("{r:?}")
    };
    assert_eq!((s[0].port_no, s[0].rx_packets, s[0].tx_bytes), (1, 5, 9));
    assert_eq!(r[1], (9, M::BarrierReply));
    // An unknown port is OFPBRC_BAD_PORT.
    let r = ask(
        &mut a,
        10,
        mp_req(mp::MultipartRequestBody::PortStats { port_no: 3 }),
        now,
    );
    assert_eq!(error_code(&r), Some(OfpErrorCode::new(1, 11)));
}

#[test]
fn unsupported_requests_get_the_right_error_and_keep_the_connection() {
    let now = Instant::now();
    let mut a = agent(now);
    let cases: Vec<(M, OfpErrorCode)> = vec![
        (
            M::PacketOut(v13::PacketOut {
                buffer_id: v13::OFP_NO_BUFFER,
                in_port: port::CONTROLLER,
                ..Default::default()
            }),
            // No frame: OFPBRC_BAD_PACKET (packetout.rs).
            OfpErrorCode::new(1, 12),
        ),
        (
            // Select groups: OFPGMFC_BAD_TYPE (groups.rs).
            M::GroupMod(v13::GroupMod {
                group_type: 1,
                ..Default::default()
            }),
            OfpErrorCode::new(6, 10),
        ),
        (M::BarrierReply, OfpErrorCode::BAD_TYPE),
        (
            M::Experimenter(v13::Experimenter {
                experimenter: 0x2320,
                exp_type: 1,
                data: Bytes::new(),
            }),
            OfpErrorCode::BAD_EXPERIMENTER,
        ),
        (
            M::PortMod(v13::PortMod {
                port_no: 1,
                ..Default::default()
            }),
            OfpErrorCode::new(7, 4),
        ),
        (
            M::PortMod(v13::PortMod {
                port_no: 2,
                ..Default::default()
            }),
            OfpErrorCode::new(7, 0),
        ),
        (
            M::TableMod(v13::TableMod {
                table_id: 9,
                config: 0,
            }),
            OfpErrorCode::new(8, 0),
        ),
        (
            M::FlowMod(flow(
                v13::FlowModCommand::Add,
                1,
                vec![v13::Oxm::TcpDst(80)],
                1,
            )),
            OfpErrorCode::new(4, 9),
        ),
    ];
    for (i, (m, code)) in cases.into_iter().enumerate() {
        let r = ask(&mut a, 100 + i as u32, m.clone(), now);
        assert_eq!(error_code(&r), Some(code), "{m:?}: {r:?}");
        assert_eq!(
            r[0].0,
            100 + i as u32,
            "the error carries the request's xid"
        );
        assert!(a.close_reason().is_none(), "{m:?} closed the connection");
    }
    // No groups yet: an empty list.
    let r = ask(&mut a, 1, mp_req(mp::MultipartRequestBody::GroupDesc), now);
    assert!(matches!(&r[..], [(1, M::MultipartReply(_))]));
}

#[test]
fn malformed_input_gets_the_decoders_error_then_closes() {
    let now = Instant::now();
    let mut a = agent(now);
    let bad = [4u8, 200, 0, 8, 0, 0, 0, 9];
    a.handle_input(&bad, now);
    let r = drain(&mut a);
    assert_eq!(
        r,
        [(
            9,
            M::Error(v13::ErrorMsg::Standard {
                code: OfpErrorCode::BAD_TYPE,
                data: Bytes::copy_from_slice(&bad)
            })
        )]
    );
    assert!(a.close_reason().is_some());
    // A restart keeps the flows and begins a new handshake.
    a.restart(now);
    assert!(matches!(&drain(&mut a)[..], [(_, M::Hello(_))]));
    assert!(!a.is_connected());
}

#[test]
fn roles_slave_cannot_modify_and_stale_generations_are_refused() {
    let now = Instant::now();
    let mut a = agent(now);
    let role = |r, g| {
        M::RoleRequest(v13::Role {
            role: r,
            generation_id: g,
        })
    };
    let r = ask(&mut a, 1, role(v13::OFPCR_ROLE_MASTER, 5), now);
    assert_eq!(
        r,
        [(
            1,
            M::RoleReply(v13::Role {
                role: v13::OFPCR_ROLE_MASTER,
                generation_id: 5
            })
        )]
    );
    let r = ask(&mut a, 2, role(v13::OFPCR_ROLE_SLAVE, 4), now);
    assert_eq!(
        error_code(&r),
        Some(OfpErrorCode::new(11, 0)),
        "stale generation"
    );
    let r = ask(&mut a, 3, role(v13::OFPCR_ROLE_SLAVE, 6), now);
    assert!(matches!(
        &r[..],
        [(
            3,
            M::RoleReply(v13::Role {
                role: v13::OFPCR_ROLE_SLAVE,
                ..
            })
        )]
    ));
    let r = ask(
        &mut a,
        4,
        M::FlowMod(flow(v13::FlowModCommand::Add, 1, vec![], 1)),
        now,
    );
    assert_eq!(
        error_code(&r),
        Some(OfpErrorCode::new(1, 10)),
        "slave may not modify"
    );
    let r = ask(&mut a, 5, role(v13::OFPCR_ROLE_NOCHANGE, 0), now);
    assert!(matches!(
        &r[..],
        [(
            5,
            M::RoleReply(v13::Role {
                role: v13::OFPCR_ROLE_SLAVE,
                generation_id: 6
            })
        )]
    ));
    let r = ask(&mut a, 6, role(9, 0), now);
    assert_eq!(error_code(&r), Some(OfpErrorCode::new(11, 2)));
    let r = ask(&mut a, 7, role(v13::OFPCR_ROLE_EQUAL, 0), now);
    assert!(matches!(
        &r[..],
        [(
            7,
            M::RoleReply(v13::Role {
                role: v13::OFPCR_ROLE_EQUAL,
                ..
            })
        )]
    ));
    assert!(ask(
        &mut a,
        8,
        M::FlowMod(flow(v13::FlowModCommand::Add, 1, vec![], 1)),
        now
    )
    .is_empty());
}

#[test]
fn port_status_when_ports_come_change_and_go() {
    let now = Instant::now();
    let mut a = agent(now);
    a.port_update(port(3, "tap3"));
    let r = drain(&mut a);
    assert!(matches!(&r[..], [(_, M::PortStatus(p))] if p.reason == 0 && p.desc.port_no == 3));
    a.port_update(port(3, "tap3"));
    assert!(drain(&mut a).is_empty(), "no change, no message");
    let mut down = port(3, "tap3");
    down.desc.state = 1;
    a.port_update(down);
    assert!(
        matches!(&drain(&mut a)[..], [(_, M::PortStatus(p))] if p.reason == 2 && p.desc.state == 1)
    );
    a.port_delete(3);
    assert!(matches!(&drain(&mut a)[..], [(_, M::PortStatus(p))] if p.reason == 1));
}

#[test]
fn flow_removed_is_sent_for_flows_that_ask_on_delete_and_timeout() {
    let t0 = Instant::now();
    let mut a = agent(t0);
    use v13::flow::flow_mod_flags::SEND_FLOW_REM;
    let mut f = flow(v13::FlowModCommand::Add, 3, vec![v13::Oxm::InPort(1)], 10);
    f.flags = SEND_FLOW_REM;
    f.hard_timeout = 5;
    ask(&mut a, 1, M::FlowMod(f.clone()), t0);
    let mut quiet = flow(v13::FlowModCommand::Add, 4, vec![], 10);
    quiet.hard_timeout = 5;
    ask(&mut a, 2, M::FlowMod(quiet), t0);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    a.handle_timeout(t0 + Duration::from_secs(5));
    let r = drain(&mut a);
    assert!(
        matches!(&r[..], [(_, M::FlowRemoved(fr))] if fr.reason == 1 && fr.priority == 3),
        "{r:?}"
    );
    f.hard_timeout = 0;
    ask(&mut a, 3, M::FlowMod(f), t0);
    let mut del = flow(v13::FlowModCommand::Delete, 0, vec![], 0);
    del.instructions.clear();
    let r = ask(&mut a, 4, M::FlowMod(del), t0);
    assert!(
        matches!(&r[..], [(_, M::FlowRemoved(fr))] if fr.reason == 2),
        "{r:?}"
    );
    // A controller that masks the reason out gets nothing.
    let mut f = flow(v13::FlowModCommand::Add, 3, vec![], 10);
    f.flags = SEND_FLOW_REM;
    ask(&mut a, 5, M::FlowMod(f), t0);
    let mut cfg = default_async();
    cfg.flow_removed_mask = [0, 0];
    ask(&mut a, 6, M::SetAsync(cfg), t0);
    let mut del = flow(v13::FlowModCommand::Delete, 0, vec![], 0);
    del.instructions.clear();
    assert!(ask(&mut a, 7, M::FlowMod(del), t0).is_empty());
}

#[test]
fn meter_mod_and_meter_config() {
    let now = Instant::now();
    let mut a = agent(now);
    let m = v13::MeterMod {
        command: v13::MeterModCommand::Add,
        flags: 1,
        meter_id: 7,
        bands: vec![v13::MeterBand::Drop {
            rate: 1000,
            burst_size: 100,
        }],
    };
    assert!(ask(&mut a, 1, M::MeterMod(m.clone()), now).is_empty());
    let r = ask(&mut a, 2, M::MeterMod(m), now);
    assert_eq!(error_code(&r), Some(OfpErrorCode::new(12, 1)));
    let r = ask(
        &mut a,
        3,
        mp_req(mp::MultipartRequestBody::MeterConfig {
            meter_id: v13::OFPM_ALL,
        }),
        now,
    );
    assert!(
        matches!(&r[..], [(3, M::MultipartReply(v13::MultipartReply { body: mp::MultipartReplyBody::MeterConfig(c), .. }))] if c.len() == 1 && c[0].meter_id == 7),
        "{r:?}"
    );
}

/// Table 0's table-miss entry's instructions, if there is one.
fn table_miss(a: &Agent) -> Option<v13::InstructionList> {
    a.switch
        .table
        .entries()
        .find(|e| e.spec.table_id == 0 && e.spec.priority == 0 && e.spec.match_().fields.is_empty())
        .map(|e| e.spec.instructions())
}

/// A new connection: our HELLO out, the controller's in.
fn reconnect(a: &mut Agent, now: Instant) {
    a.restart(now);
    drain(a);
    let mut h = BytesMut::new();
    v13::encode_hello(&[1, 4], 1, &mut h);
    a.handle_input(&h, now);
    assert!(a.is_connected());
}

#[test]
fn standalone_without_a_controller_adds_a_normal_table_miss_and_a_controller_removes_it() {
    let t0 = Instant::now();
    let mut a = agent(t0);
    a.close("controller went away");
    a.restart(t0);
    a.fail_open(t0);
    assert!(a.is_failed_open());
    assert_eq!(table_miss(&a), Some(normal_instructions()));
    // Twice is once.
    a.fail_open(t0);
    assert_eq!(a.switch.table.entries().count(), 1);
    reconnect(&mut a, t0);
    assert!(!a.is_failed_open());
    assert_eq!(table_miss(&a), None);
    assert_eq!(a.switch.table.entries().count(), 0);
}

#[test]
fn standalone_replaces_a_drop_table_miss_and_puts_it_back_on_reconnect() {
    let t0 = Instant::now();
    let mut a = agent(t0);
    // The controller's table-miss: no instructions, drop; and a flow of its own.
    let mut drop = flow(v13::FlowModCommand::Add, 0, vec![], port::NORMAL);
    drop.instructions = v13::InstructionList::new();
    drop.cookie = 7;
    assert!(ask(&mut a, 2, M::FlowMod(drop), t0).is_empty());
    let f = flow(v13::FlowModCommand::Add, 5, vec![v13::Oxm::InPort(1)], 10);
    assert!(ask(&mut a, 3, M::FlowMod(f), t0).is_empty());
    a.close("controller went away");
    a.restart(t0);
    a.fail_open(t0);
    assert_eq!(table_miss(&a), Some(normal_instructions()));
    assert_eq!(a.switch.table.entries().count(), 2);
    reconnect(&mut a, t0);
    assert_eq!(table_miss(&a), Some(v13::InstructionList::new()));
    let cookies: Vec<u64> = a.switch.table.entries().map(|e| e.spec.cookie).collect();
    assert!(cookies.contains(&7), "{cookies:?}");
    assert_eq!(a.switch.table.entries().count(), 2);
}

#[test]
fn standalone_keeps_a_normal_table_miss_the_controller_installed() {
    let t0 = Instant::now();
    let mut a = agent(t0);
    let miss = flow(v13::FlowModCommand::Add, 0, vec![], port::NORMAL);
    assert!(ask(&mut a, 2, M::FlowMod(miss), t0).is_empty());
    a.close("controller went away");
    a.restart(t0);
    a.fail_open(t0);
    assert!(!a.is_failed_open());
    reconnect(&mut a, t0);
    assert_eq!(table_miss(&a), Some(normal_instructions()));
}

/// The in-memory backend, plus the psample groups of its flows as a test sets them (the
/// real mapping is tc_datapath::Table's, shown with packets by regress/tests/kernel_packet_in.rs).
struct WithGroups {
    inner: InMemory,
    groups: std::collections::HashMap<u32, tc_datapath::PacketInFlow>,
}

impl Backend for WithGroups {
    fn install(
        &mut self,
        id: tc_datapath::FlowId,
        flow: &tc_datapath::FlowSpec,
    ) -> Result<(), Refusal> {
        self.inner.install(id, flow)
    }
    fn remove(&mut self, id: tc_datapath::FlowId) {
        self.inner.remove(id)
    }
    fn counters(
        &mut self,
        now: Instant,
    ) -> std::collections::HashMap<tc_datapath::FlowId, Counters> {
        self.inner.counters(now)
    }
    fn packet_in_flow(&self, group: u32) -> Option<tc_datapath::PacketInFlow> {
        self.groups.get(&group).copied()
    }
}

fn agent_with_groups(now: Instant) -> Agent {
    use tc_datapath::PacketInFlow;
    let mut a = agent(now);
    let mut groups = std::collections::HashMap::new();
    groups.insert(
        7,
        PacketInFlow {
            table_id: 0,
            cookie: 0,
            priority: 0,
            reason: 0,
        },
    );
    groups.insert(
        9,
        PacketInFlow {
            table_id: 2,
            cookie: 0xc0ffee,
            priority: 10,
            reason: 1,
        },
    );
    a.switch.backend = Box::new(WithGroups {
        inner: InMemory::default(),
        groups,
    });
    a
}

fn sampled(ifindex: u32, group: u32, data: &[u8]) -> SampledPacket<'_> {
    SampledPacket {
        ifindex16: ifindex as u16,
        group,
        total_len: 1000,
        data,
    }
}

#[test]
fn a_sampled_packet_becomes_a_packet_in_with_port_reason_table_and_cookie() {
    let now = Instant::now();
    let mut a = agent_with_groups(now);
    // Port 10 is ifindex 110.
    a.packet_in(sampled(110, 9, &[1, 2, 3, 4]));
    a.packet_in(sampled(101, 7, &[5; 64]));
    let got = drain(&mut a);
    assert_eq!(got.len(), 2, "{got:?}");
    let M::PacketIn(p) = &got[0].1 else {
        panic!("not a packet-in: {got:?}")
    };
    assert_eq!(p.buffer_id, v13::OFP_NO_BUFFER);
    assert_eq!(
        (p.total_len, p.reason, p.table_id, p.cookie),
        (1000, 1, 2, 0xc0ffee)
    );
    assert_eq!(p.match_, v13::Match::from_fields([v13::Oxm::InPort(10)]));
    assert_eq!(&p.data[..], &[1, 2, 3, 4]);
    let M::PacketIn(p) = &got[1].1 else {
        panic!("not a packet-in: {got:?}")
    };
    assert_eq!((p.reason, p.table_id), (0, 0));
    assert_eq!(p.match_, v13::Match::from_fields([v13::Oxm::InPort(1)]));
    // Another switch's port: not ours, not counted. An unknown group: counted.
    a.packet_in(sampled(555, 9, &[]));
    a.packet_in(sampled(110, 12345, &[]));
    assert!(drain(&mut a).is_empty());
    assert_eq!(a.packet_ins.sent, 2);
    assert_eq!(a.packet_ins.unknown, 1);
}

#[test]
fn a_slave_gets_no_packet_in_unless_its_async_mask_asks() {
    let now = Instant::now();
    let mut a = agent_with_groups(now);
    let r = ask(
        &mut a,
        1,
        M::RoleRequest(v13::Role {
            role: v13::OFPCR_ROLE_SLAVE,
            generation_id: 1,
        }),
        now,
    );
    assert!(matches!(&r[..], [(1, M::RoleReply(_))]), "{r:?}");
    a.packet_in(sampled(110, 9, &[1]));
    assert!(drain(&mut a).is_empty());
    assert_eq!(a.packet_ins.masked, 1);
    // SET_ASYNC: the slave wants OFPR_ACTION (bit 1) only.
    let mut cfg = default_async();
    cfg.packet_in_mask[1] = 1 << 1;
    assert!(ask(&mut a, 2, M::SetAsync(cfg), now).is_empty());
    a.packet_in(sampled(110, 9, &[1]));
    a.packet_in(sampled(110, 7, &[1]));
    let got = drain(&mut a);
    assert!(
        matches!(&got[..], [(_, M::PacketIn(p))] if p.reason == 1),
        "{got:?}"
    );
    assert_eq!(a.packet_ins.masked, 2);
}

#[test]
fn packet_ins_are_dropped_and_counted_while_the_controller_does_not_read() {
    let now = Instant::now();
    let mut a = agent_with_groups(now);
    let data = vec![0u8; 1500];
    let n = PACKET_IN_QUEUE_MAX / 1500 + 100;
    for _ in 0..n {
        a.packet_in(sampled(110, 9, &data));
    }
    assert!(a.packet_ins.backlog > 0);
    assert_eq!(a.packet_ins.sent + a.packet_ins.backlog, n as u64);
    assert!(a.close_reason().is_none(), "the connection stays");
    assert!(a.output().len() < PACKET_IN_QUEUE_MAX + 2000);
    // Nothing connected: dropped and counted.
    a.close("test");
    a.restart(now);
    a.packet_in(sampled(110, 9, &data));
    assert_eq!(a.packet_ins.unconnected, 1);
}

#[test]
fn the_direct_packet_in_encoding_is_the_generic_one() {
    for data in [&[][..], &[1, 2, 3][..], &[0xab; 1500][..]] {
        let head = PacketInHead {
            total_len: 1514,
            reason: 1,
            table_id: 3,
            cookie: 0x0123_4567_89ab_cdef,
            in_port: 0xfffe_0001,
        };
        let mut direct = BytesMut::new();
        encode_packet_in(&mut direct, 77, head, data);
        let generic = enc(
            77,
            M::PacketIn(v13::PacketIn {
                buffer_id: v13::OFP_NO_BUFFER,
                total_len: 1514,
                reason: 1,
                table_id: 3,
                cookie: 0x0123_4567_89ab_cdef,
                match_: v13::Match::from_fields([v13::Oxm::InPort(0xfffe_0001)]),
                data: Bytes::copy_from_slice(data),
            }),
        );
        assert_eq!(direct, generic, "{} bytes of data", data.len());
    }
}
