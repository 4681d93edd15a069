//! The group table on an in-memory backend: GROUP_MOD's errors, what the backend is
//! given for each group type, flows following their groups, liveness, statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::errors::{bad_action, group_mod_failed};
use ofproto::v13::group_meter::group_type as gt;
use ofproto::v13::{self, port, Action, Bucket, FlowModCommand, GroupMod, GroupModCommand as G};
use ofproto::v13::{Instruction, Oxm};

use super::super::switch::{Switch, SwitchPort};
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, Refusal};

fn out(p: u32) -> Action {
    Action::Output {
        port: p,
        max_len: 0,
    }
}

fn bucket(actions: Vec<Action>) -> Bucket {
    Bucket {
        weight: 0,
        watch_port: port::ANY,
        watch_group: v13::OFPG_ANY,
        actions: actions.into_iter().collect(),
    }
}

fn watching(p: u32, actions: Vec<Action>) -> Bucket {
    Bucket {
        watch_port: p,
        ..bucket(actions)
    }
}

fn gm(command: G, group_type: u8, group_id: u32, buckets: Vec<Bucket>) -> GroupMod {
    GroupMod {
        command,
        group_type,
        group_id,
        buckets,
    }
}

fn flow(priority: u16, actions: Vec<Action>) -> v13::FlowMod {
    v13::FlowMod {
        command: FlowModCommand::Add,
        priority,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        instructions: [Instruction::ApplyActions(actions.into_iter().collect())]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

fn sw_port(no: u32, up: bool) -> SwitchPort {
    SwitchPort {
        desc: v13::Port {
            port_no: no,
            name: Bytes::from(format!("p{no}")),
            state: u32::from(!up),
            ..Default::default()
        },
        ifindex: 100 + no,
        since: Instant::now(),
    }
}

fn switch() -> (Switch, Shelf) {
    let shelf = Shelf::default();
    let mut s = Switch::new(4, Box::new(Recording(shelf.clone())));
    for no in 1..=4 {
        s.ports.insert(no, sw_port(no, true));
    }
    s.ports_changed(Instant::now());
    (s, shelf)
}

fn flow_mod(s: &mut Switch, fm: &v13::FlowMod) -> Result<(), tc_datapath::Refusal> {
    s.check_flow_groups(fm)?;
    let (t, mut b) = s.table_and_backend();
    t.flow_mod(fm, &mut b, Instant::now()).map(|_| ())
}

/// What the kernel side was given, shared with the test.
type Shelf = Arc<Mutex<BTreeMap<FlowId, FlowSpec>>>;

struct Recording(Shelf);

impl Backend for Recording {
    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        self.0.lock().expect("lock").insert(id, flow.clone());
        Ok(())
    }

    fn remove(&mut self, id: FlowId) {
        self.0.lock().expect("lock").remove(&id);
    }

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}

/// The apply-actions of every flow the backend holds, by priority.
fn installed(shelf: &Shelf) -> Vec<Vec<Action>> {
    let mut v: Vec<(u16, Vec<Action>)> = shelf
        .lock()
        .expect("lock")
        .values()
        .map(|spec| {
            let a = spec
                .instructions()
                .iter()
                .flat_map(|i| match i {
                    Instruction::ApplyActions(a) => a.to_vec(),
                    _ => Vec::new(),
                })
                .collect();
            (spec.priority, a)
        })
        .collect();
    v.sort_by_key(|(p, _)| *p);
    v.into_iter().map(|(_, a)| a).collect()
}

fn code(r: Result<impl std::fmt::Debug, tc_datapath::Refusal>) -> ofproto::OfpErrorCode {
    r.expect_err("refused").error
}

#[test]
fn group_mod_errors_are_the_specifications() {
    let now = Instant::now();
    let (mut s, _shelf) = switch();
    let all = gm(G::Add, gt::ALL, 1, vec![bucket(vec![out(1)])]);
    s.group_mod(&all, now).expect("add");
    assert_eq!(code(s.group_mod(&all, now)), group_mod_failed::GROUP_EXISTS);
    let m = gm(G::Modify, gt::ALL, 2, vec![]);
    assert_eq!(code(s.group_mod(&m, now)), group_mod_failed::UNKNOWN_GROUP);
    let big = gm(G::Add, gt::ALL, v13::OFPG_MAX + 1, vec![]);
    assert_eq!(
        code(s.group_mod(&big, now)),
        group_mod_failed::INVALID_GROUP
    );
    let sel = gm(G::Add, gt::SELECT, 3, vec![bucket(vec![out(1)])]);
    assert_eq!(code(s.group_mod(&sel, now)), group_mod_failed::BAD_TYPE);
    let unknown = gm(G::Add, 9, 3, vec![]);
    assert_eq!(code(s.group_mod(&unknown, now)), group_mod_failed::BAD_TYPE);
    let ind2 = gm(
        G::Add,
        gt::INDIRECT,
        3,
        vec![bucket(vec![out(1)]), bucket(vec![out(2)])],
    );
    assert_eq!(
        code(s.group_mod(&ind2, now)),
        group_mod_failed::INVALID_GROUP
    );
    let nowatch = gm(G::Add, gt::FF, 3, vec![bucket(vec![out(1)])]);
    assert_eq!(
        code(s.group_mod(&nowatch, now)),
        group_mod_failed::BAD_WATCH
    );
    let badwatch = gm(G::Add, gt::FF, 3, vec![watching(port::CONTROLLER, vec![])]);
    assert_eq!(
        code(s.group_mod(&badwatch, now)),
        group_mod_failed::BAD_WATCH
    );
    let chain_missing = gm(G::Add, gt::ALL, 3, vec![bucket(vec![Action::Group(7)])]);
    assert_eq!(
        code(s.group_mod(&chain_missing, now)),
        bad_action::BAD_OUT_GROUP
    );
    // 3 -> 1, then 1 -> 3: a loop.
    let g3 = gm(G::Add, gt::ALL, 3, vec![bucket(vec![Action::Group(1)])]);
    s.group_mod(&g3, now).expect("chain");
    let loop1 = gm(G::Modify, gt::ALL, 1, vec![bucket(vec![Action::Group(3)])]);
    assert_eq!(code(s.group_mod(&loop1, now)), group_mod_failed::LOOP);
    let selfloop = gm(
        G::Add,
        gt::INDIRECT,
        4,
        vec![bucket(vec![Action::Group(4)])],
    );
    assert_eq!(code(s.group_mod(&selfloop, now)), group_mod_failed::LOOP);
    // 1 is forwarded to by 3: not deleted alone.
    let del1 = gm(G::Delete, gt::ALL, 1, vec![]);
    assert_eq!(
        code(s.group_mod(&del1, now)),
        group_mod_failed::CHAINED_GROUP
    );
    // A flow to a group that does not exist.
    assert_eq!(
        code(flow_mod(&mut s, &flow(10, vec![Action::Group(9)]))),
        bad_action::BAD_OUT_GROUP
    );
    // Deleting a group that does not exist is no error; OFPG_ALL deletes all.
    s.group_mod(&gm(G::Delete, 0, 99, vec![]), now)
        .expect("delete missing");
    s.group_mod(&gm(G::Delete, 0, v13::OFPG_ALL, vec![]), now)
        .expect("delete all");
    assert!(s.groups.desc().is_empty());
}

#[test]
fn all_indirect_and_chains_expand_into_the_flow() {
    let now = Instant::now();
    let (mut s, shelf) = switch();
    s.group_mod(
        &gm(G::Add, gt::INDIRECT, 2, vec![bucket(vec![out(4)])]),
        now,
    )
    .expect("indirect");
    s.group_mod(
        &gm(
            G::Add,
            gt::ALL,
            1,
            vec![
                bucket(vec![out(2)]),
                bucket(vec![out(3)]),
                bucket(vec![Action::Group(2)]),
            ],
        ),
        now,
    )
    .expect("all");
    flow_mod(&mut s, &flow(10, vec![Action::Group(1)])).expect("flow");
    assert_eq!(installed(&shelf), vec![vec![out(2), out(3), out(4)]]);
    // The flow table keeps the flow as the controller wrote it.
    let e = s.table.entries().next().expect("entry");
    assert!(e.outputs_to_group(1));
}

#[test]
fn all_buckets_that_change_the_packet_go_last_or_are_refused() {
    let now = Instant::now();
    let (mut s, shelf) = switch();
    let vid = |v: u16| Action::SetField(Oxm::VlanVid(v13::Masked::exact(0x1000 | v)));
    // A pushed tag is popped again after its output; the plain bucket is not moved.
    s.group_mod(
        &gm(
            G::Add,
            gt::ALL,
            1,
            vec![
                bucket(vec![Action::PushVlan(0x8100), vid(10), out(2)]),
                bucket(vec![out(3)]),
            ],
        ),
        now,
    )
    .expect("push bucket");
    flow_mod(&mut s, &flow(10, vec![Action::Group(1)])).expect("flow");
    assert_eq!(
        installed(&shelf),
        vec![vec![
            Action::PushVlan(0x8100),
            vid(10),
            out(2),
            Action::PopVlan,
            out(3)
        ]]
    );
    // A bucket with another change goes after the plain ones.
    let ttl = Action::DecNwTtl;
    s.group_mod(
        &gm(
            G::Modify,
            gt::ALL,
            1,
            vec![bucket(vec![ttl.clone(), out(2)]), bucket(vec![out(3)])],
        ),
        now,
    )
    .expect("one changing bucket");
    assert_eq!(installed(&shelf), vec![vec![out(3), ttl.clone(), out(2)]]);
    // Two are refused, and the group and its flow stay as they were.
    let two = gm(
        G::Modify,
        gt::ALL,
        1,
        vec![
            bucket(vec![ttl.clone(), out(2)]),
            bucket(vec![ttl.clone(), out(3)]),
        ],
    );
    assert_eq!(code(s.group_mod(&two, now)), group_mod_failed::BAD_BUCKET);
    assert_eq!(installed(&shelf), vec![vec![out(3), ttl.clone(), out(2)]]);
    // An output after a group whose bucket changed the packet: refused.
    assert_eq!(
        code(flow_mod(&mut s, &flow(11, vec![Action::Group(1), out(4)]))),
        bad_action::UNSUPPORTED_ORDER
    );
}

#[test]
fn modify_reinstalls_the_flows_and_delete_removes_them() {
    let now = Instant::now();
    let (mut s, shelf) = switch();
    s.group_mod(
        &gm(G::Add, gt::INDIRECT, 5, vec![bucket(vec![out(2)])]),
        now,
    )
    .expect("add");
    flow_mod(&mut s, &flow(10, vec![Action::Group(5)])).expect("flow");
    flow_mod(&mut s, &flow(11, vec![out(1)])).expect("flow");
    let before: Vec<_> = s.table.entries().map(|e| e.id).collect();
    s.group_mod(
        &gm(G::Modify, gt::INDIRECT, 5, vec![bucket(vec![out(3)])]),
        now,
    )
    .expect("modify");
    let after: Vec<_> = s.table.entries().map(|e| e.id).collect();
    assert_ne!(before, after, "the group's flow was not installed again");
    assert!(installed(&shelf).contains(&vec![out(3)]));
    assert!(installed(&shelf).contains(&vec![out(1)]));
    let gone = s
        .group_mod(&gm(G::Delete, 0, 5, vec![]), now)
        .expect("delete");
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, v13::OFPRR_GROUP_DELETE);
    assert_eq!(installed(&shelf), vec![vec![out(1)]]);
    // The flow table no longer takes flows to it.
    assert_eq!(
        code(flow_mod(&mut s, &flow(12, vec![Action::Group(5)]))),
        bad_action::BAD_OUT_GROUP
    );
}

#[test]
fn fast_failover_follows_the_links() {
    let now = Instant::now();
    let (mut s, shelf) = switch();
    s.group_mod(
        &gm(
            G::Add,
            gt::FF,
            7,
            vec![watching(2, vec![out(2)]), watching(3, vec![out(3)])],
        ),
        now,
    )
    .expect("ff");
    flow_mod(&mut s, &flow(10, vec![Action::Group(7)])).expect("flow");
    assert_eq!(installed(&shelf), vec![vec![out(2)]]);
    s.ports.insert(2, sw_port(2, false));
    s.ports_changed(now);
    assert_eq!(installed(&shelf), vec![vec![out(3)]]);
    s.ports.remove(&3);
    s.ports_changed(now);
    assert_eq!(installed(&shelf), vec![Vec::<Action>::new()]);
    s.ports.insert(2, sw_port(2, true));
    s.ports_changed(now);
    assert_eq!(installed(&shelf), vec![vec![out(2)]]);
}

#[test]
fn stats_desc_and_features() {
    let now = Instant::now();
    let (mut s, _shelf) = switch();
    s.group_mod(
        &gm(
            G::Add,
            gt::ALL,
            1,
            vec![bucket(vec![out(2)]), bucket(vec![out(3)])],
        ),
        now,
    )
    .expect("add");
    flow_mod(&mut s, &flow(10, vec![Action::Group(1)])).expect("flow");
    let d = s.groups.desc();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].buckets.len(), 2);
    let st = s.groups.stats(&s.table, v13::OFPG_ALL, now).expect("stats");
    assert_eq!(st[0].ref_count, 1);
    assert_eq!(st[0].bucket_stats.len(), 2);
    assert!(s.groups.stats(&s.table, 2, now).is_none());
    let f = super::GroupTable::features();
    assert_eq!(f.types, 0b1101, "all, indirect, fast failover; no select");
    assert_eq!(f.max_groups[1], 0);
}

/// Through the agent, as a controller drives it: GROUP_MOD and its error, a flow to the
/// group, the group's statistics, description and features, and FLOW_REMOVED with reason
/// OFPRR_GROUP_DELETE when the group goes.
#[test]
fn a_controller_drives_groups_through_the_agent() {
    use super::super::agent::{Agent, AgentConfig};
    use bytes::BytesMut;
    use ofproto::header::Header;
    use ofproto::v13::{multipart as mp, Message as M};

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
    fn ask(a: &mut Agent, xid: u32, m: M, now: Instant) -> Vec<(u32, M)> {
        let mut b = BytesMut::new();
        m.encode(xid, &mut b);
        a.handle_input(&b, now);
        drain(a)
    }
    let now = Instant::now();
    let cfg = AgentConfig {
        name: "vm".into(),
        bridge: "br-vm".into(),
        datapath_id: 1,
        n_tables: 4,
        echo_interval: std::time::Duration::ZERO,
    };
    let (sw, _shelf) = switch();
    let mut a = Agent::new(cfg, sw, now);
    let mut h = BytesMut::new();
    v13::encode_hello(&[4], 1, &mut h);
    a.handle_input(&h, now);
    drain(&mut a);

    let g = gm(
        G::Add,
        gt::ALL,
        9,
        vec![bucket(vec![out(2)]), bucket(vec![out(3)])],
    );
    assert!(ask(&mut a, 2, M::GroupMod(g.clone()), now).is_empty());
    let r = ask(&mut a, 3, M::GroupMod(g), now);
    assert!(
        matches!(&r[..], [(3, M::Error(v13::ErrorMsg::Standard { code, .. }))]
            if *code == group_mod_failed::GROUP_EXISTS),
        "{r:?}"
    );
    let mut f = flow(10, vec![Action::Group(9)]);
    f.flags = v13::flow::flow_mod_flags::SEND_FLOW_REM;
    assert!(ask(&mut a, 4, M::FlowMod(f), now).is_empty());
    let mp_req = |body| M::MultipartRequest(v13::MultipartRequest { flags: 0, body });
    let r = ask(
        &mut a,
        5,
        mp_req(mp::MultipartRequestBody::Group { group_id: 9 }),
        now,
    );
    match &r[..] {
        [(
            5,
            M::MultipartReply(v13::MultipartReply {
                body: mp::MultipartReplyBody::Group(v),
                ..
            }),
        )] => {
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].group_id, 9);
            assert_eq!(v[0].ref_count, 1);
            assert_eq!(v[0].bucket_stats.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    let r = ask(&mut a, 6, mp_req(mp::MultipartRequestBody::GroupDesc), now);
    assert!(
        matches!(&r[..], [(6, M::MultipartReply(v13::MultipartReply { body: mp::MultipartReplyBody::GroupDesc(v), .. }))]
            if v.len() == 1 && v[0].buckets.len() == 2),
        "{r:?}"
    );
    let r = ask(
        &mut a,
        7,
        mp_req(mp::MultipartRequestBody::GroupFeatures),
        now,
    );
    assert!(
        matches!(&r[..], [(7, M::MultipartReply(v13::MultipartReply { body: mp::MultipartReplyBody::GroupFeatures(f), .. }))]
            if f.types == 0b1101),
        "{r:?}"
    );
    let r = ask(
        &mut a,
        8,
        mp_req(mp::MultipartRequestBody::Group { group_id: 10 }),
        now,
    );
    assert!(
        matches!(&r[..], [(8, M::Error(v13::ErrorMsg::Standard { code, .. }))]
            if *code == group_mod_failed::UNKNOWN_GROUP),
        "{r:?}"
    );
    let r = ask(&mut a, 9, M::GroupMod(gm(G::Delete, 0, 9, vec![])), now);
    assert!(
        matches!(&r[..], [(_, M::FlowRemoved(fr))] if fr.reason == v13::OFPRR_GROUP_DELETE),
        "{r:?}"
    );
}

#[test]
fn actions_after_a_group_see_the_packet_as_it_was() {
    let now = Instant::now();
    let (mut s, shelf) = switch();
    let vid = Action::SetField(Oxm::VlanVid(v13::Masked::exact(0x1000 | 7)));
    s.group_mod(
        &gm(
            G::Add,
            gt::INDIRECT,
            1,
            vec![bucket(vec![Action::PushVlan(0x8100), vid.clone(), out(2)])],
        ),
        now,
    )
    .expect("indirect");
    flow_mod(&mut s, &flow(10, vec![Action::Group(1), out(3)])).expect("flow");
    assert_eq!(
        installed(&shelf),
        vec![vec![
            Action::PushVlan(0x8100),
            vid,
            out(2),
            Action::PopVlan,
            out(3)
        ]]
    );
    // Another change cannot be undone: an output after it is refused.
    s.group_mod(
        &gm(
            G::Add,
            gt::INDIRECT,
            2,
            vec![bucket(vec![Action::DecNwTtl, out(2)])],
        ),
        now,
    )
    .expect("indirect");
    assert_eq!(
        code(flow_mod(&mut s, &flow(11, vec![Action::Group(2), out(3)]))),
        bad_action::UNSUPPORTED_ORDER
    );
    // Nothing after it: taken.
    flow_mod(&mut s, &flow(12, vec![Action::Group(2)])).expect("flow");
}
