//! Two controllers of one switch, driven as controllers would drive them: encoded
//! messages in, decoded messages out, the task's [`settle`] between events.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::Header;
use ofproto::v13::errors::{bad_request, role_request_failed};
use ofproto::v13::{self, port, Message as M};
use ofproto::OfpErrorCode;

use super::*;
use crate::datapath::agent::default_async;
use crate::datapath::flowtable::tests::InMemory;

fn cfg() -> AgentConfig {
    AgentConfig {
        name: "vm".into(),
        bridge: "br-vm".into(),
        datapath_id: 1,
        n_tables: 4,
        echo_interval: Duration::from_secs(10),
    }
}

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

fn hello(a: &mut Agent, now: Instant) {
    drain(a);
    let mut h = BytesMut::new();
    v13::encode_hello(&[1, 4], 1, &mut h);
    a.handle_input(&h, now);
    assert!(a.is_connected());
    drain(a);
}

/// The first connection (with the switch) and one more, both through the handshake.
fn two(now: Instant) -> (Agent, Controllers) {
    let mut first = Agent::new(cfg(), Switch::new(4, Box::new(InMemory::default())), now);
    let more = Controllers::new(
        &cfg(),
        &[("127.0.0.1:6653".parse().unwrap(), false)],
        now,
        false,
    );
    first.switch.roles.fanout = !more.is_empty();
    let mut more = more;
    hello(&mut first, now);
    hello(&mut more.extras[0].agent, now);
    (first, more)
}

/// One message to the first connection, then the task settles.
fn ask_first(first: &mut Agent, more: &mut Controllers, xid: u32, m: M, now: Instant) {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    first.handle_input(&b, now);
    settle(first, more, now);
}

/// One message to the second connection (the real switch lent), then the task settles.
fn ask_second(first: &mut Agent, more: &mut Controllers, xid: u32, m: M, now: Instant) {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    let x = &mut more.extras[0].agent;
    std::mem::swap(&mut x.switch, &mut first.switch);
    x.handle_input(&b, now);
    std::mem::swap(&mut x.switch, &mut first.switch);
    settle(first, more, now);
}

fn role(r: u32, g: u64) -> M {
    M::RoleRequest(v13::Role {
        role: r,
        generation_id: g,
    })
}

fn error_code(replies: &[(u32, M)]) -> Option<OfpErrorCode> {
    match replies {
        [(_, M::Error(v13::ErrorMsg::Standard { code, .. }))] => Some(*code),
        _ => None,
    }
}

fn flow(cmd: v13::FlowModCommand, flags: u16) -> v13::FlowMod {
    v13::FlowMod {
        command: cmd,
        priority: 5,
        flags,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        ..Default::default()
    }
}

#[test]
fn a_new_master_demotes_the_old_one_and_generations_are_shared() {
    let now = Instant::now();
    let (mut a, mut more) = two(now);
    // Both start EQUAL and may change the switch.
    ask_second(&mut a, &mut more, 1, role(v13::OFPCR_ROLE_MASTER, 7), now);
    let r = drain(&mut more.extras[0].agent);
    assert!(
        matches!(&r[..], [(1, M::RoleReply(v13::Role { role, generation_id: 7 }))] if *role == v13::OFPCR_ROLE_MASTER),
        "{r:?}"
    );
    // The switch remembers the largest generation_id across connections.
    ask_first(&mut a, &mut more, 2, role(v13::OFPCR_ROLE_MASTER, 6), now);
    assert_eq!(error_code(&drain(&mut a)), Some(role_request_failed::STALE));
    assert_eq!(more.extras[0].agent.role(), v13::OFPCR_ROLE_MASTER);
    // A newer master: the old one is a slave now, and is refused changes.
    ask_first(&mut a, &mut more, 3, role(v13::OFPCR_ROLE_MASTER, 8), now);
    assert!(matches!(&drain(&mut a)[..], [(3, M::RoleReply(_))]));
    assert_eq!(a.role(), v13::OFPCR_ROLE_MASTER);
    assert_eq!(more.extras[0].agent.role(), v13::OFPCR_ROLE_SLAVE);
    let add = M::FlowMod(flow(v13::FlowModCommand::Add, 0));
    ask_second(&mut a, &mut more, 4, add.clone(), now);
    assert_eq!(
        error_code(&drain(&mut more.extras[0].agent)),
        Some(bad_request::IS_SLAVE)
    );
    assert_eq!(a.switch.table.entries().count(), 0);
    ask_first(&mut a, &mut more, 5, add, now);
    assert!(drain(&mut a).is_empty());
    assert_eq!(a.switch.table.entries().count(), 1);
    // NOCHANGE reads the role.
    ask_second(&mut a, &mut more, 6, role(v13::OFPCR_ROLE_NOCHANGE, 0), now);
    let r = drain(&mut more.extras[0].agent);
    assert!(
        matches!(&r[..], [(6, M::RoleReply(v13::Role { role, generation_id: 8 }))] if *role == v13::OFPCR_ROLE_SLAVE),
        "{r:?}"
    );
    // A reconnected master starts EQUAL (a new connection), and the old generation stays.
    a.restart(now);
    hello(&mut a, now);
    assert_eq!(a.role(), v13::OFPCR_ROLE_EQUAL);
    ask_second(&mut a, &mut more, 7, role(v13::OFPCR_ROLE_MASTER, 8), now);
    assert!(matches!(
        &drain(&mut more.extras[0].agent)[..],
        [(7, M::RoleReply(_))]
    ));
    assert_eq!(a.role(), v13::OFPCR_ROLE_EQUAL, "EQUAL is not demoted");
}

#[test]
fn flow_removed_reaches_each_controller_as_its_role_and_async_config_say() {
    let now = Instant::now();
    let (mut a, mut more) = two(now);
    use v13::flow::flow_mod_flags::SEND_FLOW_REM;
    ask_first(&mut a, &mut more, 1, role(v13::OFPCR_ROLE_MASTER, 1), now);
    drain(&mut a);
    ask_second(&mut a, &mut more, 2, role(v13::OFPCR_ROLE_SLAVE, 1), now);
    drain(&mut more.extras[0].agent);
    // A slave's defaults (7.3.10): port status, but no flow-removed or packet-in.
    ask_second(&mut a, &mut more, 3, M::GetAsyncRequest, now);
    let r = drain(&mut more.extras[0].agent);
    assert!(
        matches!(&r[..], [(3, M::GetAsyncReply(c))] if *c == default_async()),
        "{r:?}"
    );
    let del = || {
        let mut d = flow(v13::FlowModCommand::Delete, 0);
        d.priority = 0;
        M::FlowMod(d)
    };
    ask_first(
        &mut a,
        &mut more,
        4,
        M::FlowMod(flow(v13::FlowModCommand::Add, SEND_FLOW_REM)),
        now,
    );
    ask_first(&mut a, &mut more, 5, del(), now);
    let r = drain(&mut a);
    assert!(
        matches!(&r[..], [(_, M::FlowRemoved(f))] if f.reason == v13::OFPRR_DELETE),
        "{r:?}"
    );
    assert!(
        drain(&mut more.extras[0].agent).is_empty(),
        "a slave asked for none"
    );
    // The slave asks for flow-removed of every reason: it hears of the master's deletes.
    let mut c = default_async();
    c.flow_removed_mask[1] = 0b1111;
    ask_second(&mut a, &mut more, 6, M::SetAsync(c), now);
    ask_first(
        &mut a,
        &mut more,
        7,
        M::FlowMod(flow(v13::FlowModCommand::Add, SEND_FLOW_REM)),
        now,
    );
    ask_first(&mut a, &mut more, 8, del(), now);
    assert_eq!(drain(&mut a).len(), 1);
    let r = drain(&mut more.extras[0].agent);
    assert!(
        matches!(&r[..], [(_, M::FlowRemoved(f))] if f.priority == 5),
        "{r:?}"
    );
    // Port status goes to both by default.
    more.port_status(
        0,
        &v13::Port {
            port_no: 3,
            ..Default::default()
        },
    );
    a.port_status(
        0,
        v13::Port {
            port_no: 3,
            ..Default::default()
        },
    );
    assert!(matches!(&drain(&mut a)[..], [(_, M::PortStatus(_))]));
    assert!(matches!(
        &drain(&mut more.extras[0].agent)[..],
        [(_, M::PortStatus(_))]
    ));
}
