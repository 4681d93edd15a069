//! The flow-table semantics of OpenFlow 1.3 (spec 6.4, 7.3.4), one rule per test, against
//! the in-memory backend (which installs what it is given and counts what the test says).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ofproto::v13::errors::{
    bad_action, bad_instruction, bad_match, bad_request, flow_mod_failed, meter_mod_failed,
};
use ofproto::v13::{
    self, flow::flow_mod_flags as ff, FlowModCommand as C, Instruction, Masked, Oxm,
};
use ofproto::OfpErrorCode;

use super::*;
use tc_datapath::{Counters, Refusal};

/// A backend that keeps flows in memory, for the unit tests of the flow table, the agent
/// and packet-out: it can be told to refuse, and its counters are set by the test.
#[derive(Debug, Default)]
pub(crate) struct InMemory {
    pub(crate) installed: std::collections::BTreeMap<FlowId, FlowSpec>,
    pub(crate) counters: std::collections::HashMap<FlowId, Counters>,
    /// Refuse every install with this error while set.
    pub(crate) refuse: Option<Refusal>,
    /// Refuse the installs of flows of this priority with this error.
    pub(crate) refuse_priority: Option<(u16, Refusal)>,
    pub(crate) ports: tc_datapath::PortMap,
}

impl Backend for InMemory {
    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        if let Some(r) = &self.refuse {
            return Err(r.clone());
        }
        if let Some((_, r)) = self
            .refuse_priority
            .as_ref()
            .filter(|(p, _)| *p == flow.priority)
        {
            return Err(r.clone());
        }
        self.installed.insert(id, flow.clone());
        Ok(())
    }

    fn remove(&mut self, id: FlowId) {
        self.installed.remove(&id);
        self.counters.remove(&id);
    }

    fn counters(&mut self, _now: Instant) -> std::collections::HashMap<FlowId, Counters> {
        self.counters.clone()
    }

    fn set_ports(&mut self, ports: &tc_datapath::PortMap) {
        self.ports = ports.clone();
    }
}

fn out(p: u32) -> Instruction {
    Instruction::ApplyActions(
        [v13::Action::Output {
            port: p,
            max_len: 0,
        }]
        .into_iter()
        .collect(),
    )
}

fn fm(cmd: C, priority: u16, fields: Vec<Oxm>, instr: Vec<Instruction>) -> v13::FlowMod {
    v13::FlowMod {
        command: cmd,
        priority,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        match_: v13::Match::from_fields(fields),
        instructions: instr.into_iter().collect(),
        ..Default::default()
    }
}

fn add(priority: u16, fields: Vec<Oxm>, to: u32) -> v13::FlowMod {
    fm(C::Add, priority, fields, vec![out(to)])
}

fn ip_dst(a: [u8; 4], plen: u32) -> Vec<Oxm> {
    let mask = if plen == 0 {
        0
    } else {
        u32::MAX << (32 - plen)
    };
    vec![
        Oxm::EthType(0x0800),
        Oxm::Ipv4Dst(Masked::with_mask(
            Ipv4Addr::from(u32::from(Ipv4Addr::from(a)) & mask),
            Ipv4Addr::from(mask),
        )),
    ]
}

struct T {
    t: FlowTable,
    b: InMemory,
    now: Instant,
}

impl T {
    fn new() -> T {
        T {
            t: FlowTable::new(4),
            b: InMemory::default(),
            now: Instant::now(),
        }
    }

    fn run(&mut self, m: &v13::FlowMod) -> Result<Vec<RemovedFlow>, Refusal> {
        self.t.flow_mod(m, &mut self.b, self.now)
    }

    fn ok(&mut self, m: v13::FlowMod) -> Vec<RemovedFlow> {
        self.run(&m).unwrap_or_else(|e| panic!("{m:?}: {e}"))
    }

    fn code(&mut self, m: v13::FlowMod) -> OfpErrorCode {
        self.run(&m).expect_err("should be refused").error
    }

    /// (table, priority, output port) of every entry, sorted.
    fn shape(&self) -> Vec<(u8, u16, u32)> {
        let mut v: Vec<_> = self
            .t
            .entries()
            .map(|e| {
                let p = actions(&e.spec.instructions())
                    .find_map(|a| match a {
                        v13::Action::Output { port, .. } => Some(*port),
                        _ => None,
                    })
                    .unwrap_or(0);
                (e.spec.table_id, e.spec.priority, p)
            })
            .collect();
        v.sort();
        v
    }

    /// The backend holds exactly the table's current versions.
    fn consistent(&self) {
        let ids: Vec<_> = self.t.entries().map(|e| e.id).collect();
        let installed: Vec<_> = self.b.installed.keys().copied().collect();
        assert_eq!(ids, installed);
    }

    fn count(&mut self, id: FlowId, packets: u64, last_used: Option<Instant>) {
        self.b.counters.insert(
            id,
            Counters {
                packets,
                bytes: packets * 100,
                last_used,
            },
        );
    }

    fn id_of(&self, priority: u16) -> FlowId {
        self.t
            .entries()
            .find(|e| e.spec.priority == priority)
            .map(|e| e.id)
            .expect("entry")
    }
}

#[test]
fn add_installs_and_an_identical_match_and_priority_replaces_keeping_counters() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 2));
    t.ok(add(20, vec![Oxm::InPort(1)], 3));
    let id = t.id_of(10);
    t.count(id, 5, None);
    t.ok(add(10, vec![Oxm::InPort(1)], 4));
    assert_eq!(t.shape(), [(0, 10, 4), (0, 20, 3)]);
    t.consistent();
    let e =
        t.t.entries()
            .find(|e| e.spec.priority == 10)
            .expect("entry");
    assert_eq!(
        (e.packets(), e.bytes()),
        (5, 500),
        "counters copied without RESET_COUNTS"
    );
}

#[test]
fn add_with_reset_counts_clears_the_replaced_counters() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 2));
    let id = t.id_of(10);
    t.count(id, 5, None);
    let mut m = add(10, vec![Oxm::InPort(1)], 2);
    m.flags = ff::RESET_COUNTS;
    t.ok(m);
    assert_eq!(t.t.entries().next().map(|e| e.packets()), Some(0));
}

#[test]
fn same_match_with_other_priority_or_an_exact_vs_full_mask_is_one_or_two_entries() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 2));
    t.ok(add(11, vec![Oxm::InPort(1)], 2));
    assert_eq!(t.t.entries().count(), 2);
    // A mask of all ones is the exact match: it replaces.
    let mac = v13::MacAddr([2, 0, 0, 0, 0, 1]);
    t.ok(add(5, vec![Oxm::EthDst(Masked::exact(mac))], 1));
    t.ok(add(
        5,
        vec![Oxm::EthDst(Masked::with_mask(mac, v13::MacAddr([0xff; 6])))],
        3,
    ));
    assert_eq!(t.t.entries().filter(|e| e.spec.priority == 5).count(), 1);
}

#[test]
fn check_overlap_refuses_an_overlapping_entry_of_the_same_priority_only() {
    let mut t = T::new();
    t.ok(add(10, ip_dst([10, 0, 0, 0], 8), 1));
    let mut m = add(10, ip_dst([10, 1, 0, 0], 16), 2);
    m.flags = ff::CHECK_OVERLAP;
    assert_eq!(t.code(m.clone()), flow_mod_failed::OVERLAP);
    assert_eq!(t.shape(), [(0, 10, 1)], "the refused add changed the table");
    // Another priority does not overlap in OpenFlow's sense.
    m.priority = 11;
    t.ok(m.clone());
    // Disjoint prefixes of the same priority do not overlap.
    let mut d = add(10, ip_dst([11, 0, 0, 0], 8), 3);
    d.flags = ff::CHECK_OVERLAP;
    t.ok(d);
    // A field only one of them has does not keep them apart.
    let mut e = add(10, vec![Oxm::InPort(7)], 3);
    e.flags = ff::CHECK_OVERLAP;
    assert_eq!(t.code(e), flow_mod_failed::OVERLAP);
    // Without the flag the same add is fine.
    t.ok(add(10, vec![Oxm::InPort(7)], 3));
    t.consistent();
}

#[test]
fn modify_non_strict_changes_instructions_of_every_more_specific_entry_and_keeps_the_rest() {
    let mut t = T::new();
    t.ok(add(10, ip_dst([10, 1, 0, 0], 16), 1));
    t.ok(add(20, ip_dst([10, 2, 0, 0], 16), 1));
    t.ok(add(30, ip_dst([11, 0, 0, 0], 8), 1));
    let id10 = t.id_of(10);
    t.count(id10, 7, None);
    let mut m = fm(C::Modify, 0, ip_dst([10, 0, 0, 0], 8), vec![out(9)]);
    m.idle_timeout = 99;
    m.cookie = 0xdead;
    t.ok(m);
    assert_eq!(t.shape(), [(0, 10, 9), (0, 20, 9), (0, 30, 1)]);
    let e =
        t.t.entries()
            .find(|e| e.spec.priority == 10)
            .expect("entry");
    // 6.4: cookie, timeouts and counters stay.
    assert_eq!((e.spec.cookie, e.idle_timeout, e.packets()), (0, 0, 7));
    t.consistent();
}

#[test]
fn modify_strict_needs_the_same_match_and_priority() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 1));
    t.ok(add(20, vec![Oxm::InPort(1)], 1));
    t.ok(add(10, vec![Oxm::InPort(1), Oxm::EthType(0x0800)], 1));
    t.ok(fm(C::ModifyStrict, 10, vec![Oxm::InPort(1)], vec![out(5)]));
    assert_eq!(t.shape(), [(0, 10, 1), (0, 10, 5), (0, 20, 1)]);
}

#[test]
fn modify_that_selects_nothing_adds_nothing_and_is_no_error() {
    let mut t = T::new();
    t.ok(fm(C::Modify, 10, vec![Oxm::InPort(1)], vec![out(5)]));
    assert!(t.t.entries().next().is_none());
}

#[test]
fn cookie_mask_selects_for_modify_and_delete() {
    let mut t = T::new();
    for (p, cookie) in [(1, 0x1_0001u64), (2, 0x1_0002), (3, 0x2_0001)] {
        let mut m = add(p, vec![], 1);
        m.cookie = cookie;
        t.ok(m);
    }
    let mut m = fm(C::Modify, 0, vec![], vec![out(8)]);
    (m.cookie, m.cookie_mask) = (0x1_0000, 0xffff_0000);
    t.ok(m);
    assert_eq!(t.shape(), [(0, 1, 8), (0, 2, 8), (0, 3, 1)]);
    let mut d = fm(C::Delete, 0, vec![], vec![]);
    (d.cookie, d.cookie_mask) = (0x0001, 0xffff);
    let gone = t.ok(d);
    assert_eq!(gone.len(), 2);
    assert_eq!(t.shape(), [(0, 2, 8)]);
    t.consistent();
}

#[test]
fn delete_non_strict_ignores_priority_and_strict_needs_it() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 1));
    t.ok(add(20, vec![Oxm::InPort(1), Oxm::EthType(0x0806)], 1));
    t.ok(add(30, vec![Oxm::InPort(2)], 1));
    // Strict with another priority: nothing.
    assert!(t
        .ok(fm(C::DeleteStrict, 11, vec![Oxm::InPort(1)], vec![]))
        .is_empty());
    // Strict with the same priority: exactly that one.
    assert_eq!(
        t.ok(fm(C::DeleteStrict, 10, vec![Oxm::InPort(1)], vec![]))
            .len(),
        1
    );
    assert_eq!(t.shape(), [(0, 20, 1), (0, 30, 1)]);
    // Non-strict: every entry at least as specific, any priority.
    assert_eq!(
        t.ok(fm(C::Delete, 0, vec![Oxm::InPort(1)], vec![])).len(),
        1
    );
    assert_eq!(t.shape(), [(0, 30, 1)]);
    // The empty match deletes everything in the table.
    assert_eq!(t.ok(fm(C::Delete, 0, vec![], vec![])).len(), 1);
    t.consistent();
}

#[test]
fn delete_filters_by_out_port_and_out_group() {
    let mut t = T::new();
    t.ok(add(1, vec![Oxm::InPort(1)], 2));
    t.ok(add(2, vec![Oxm::InPort(2)], 3));
    t.ok(fm(
        C::Add,
        3,
        vec![Oxm::InPort(3)],
        vec![Instruction::WriteActions(
            [v13::Action::Output {
                port: 2,
                max_len: 0,
            }]
            .into_iter()
            .collect(),
        )],
    ));
    let mut d = fm(C::Delete, 0, vec![], vec![]);
    d.out_port = 2;
    assert_eq!(t.ok(d).len(), 2, "apply and write actions both count");
    assert_eq!(t.shape(), [(0, 2, 3)]);
    // No entry forwards to a group (we have none).
    let mut g = fm(C::Delete, 0, vec![], vec![]);
    g.out_group = 1;
    assert!(t.ok(g).is_empty());
}

#[test]
fn delete_all_tables_and_bad_table_ids() {
    let mut t = T::new();
    let mut m = add(1, vec![], 1);
    t.ok(m.clone());
    m.table_id = 3;
    t.ok(m.clone());
    m.table_id = 4;
    assert_eq!(t.code(m.clone()), flow_mod_failed::BAD_TABLE_ID);
    m.table_id = v13::OFPTT_ALL;
    assert_eq!(
        t.code(m),
        flow_mod_failed::BAD_TABLE_ID,
        "OFPTT_ALL is for delete only"
    );
    let mut d = fm(C::Delete, 0, vec![], vec![]);
    d.table_id = 1;
    assert!(t.ok(d.clone()).is_empty());
    d.table_id = 9;
    assert_eq!(t.code(d.clone()), flow_mod_failed::BAD_TABLE_ID);
    d.table_id = v13::OFPTT_ALL;
    assert_eq!(t.ok(d).len(), 2);
}

#[test]
fn deleted_entries_report_reason_and_final_counters_for_flow_removed() {
    let mut t = T::new();
    let mut m = add(7, vec![Oxm::InPort(1)], 2);
    m.flags = ff::SEND_FLOW_REM;
    m.cookie = 42;
    t.ok(m);
    let id = t.id_of(7);
    t.count(id, 3, None);
    t.now += Duration::from_secs(5);
    let gone = t.ok(fm(C::Delete, 0, vec![], vec![]));
    assert_eq!(gone.len(), 1);
    assert!(gone[0].wants_message());
    let fr = gone[0].message(t.now);
    assert_eq!(
        (
            fr.reason,
            fr.cookie,
            fr.priority,
            fr.packet_count,
            fr.byte_count,
            fr.duration_sec
        ),
        (v13::OFPRR_DELETE, 42, 7, 3, 300, 5)
    );
}

#[test]
fn hard_timeout_expires_whatever_the_use() {
    let mut t = T::new();
    let mut m = add(1, vec![], 1);
    m.hard_timeout = 10;
    t.ok(m);
    let t0 = t.now;
    assert_eq!(t.t.next_deadline(), Some(t0 + Duration::from_secs(10)));
    let id = t.id_of(1);
    t.count(id, 1, Some(t0 + Duration::from_secs(9)));
    assert!(t.t.expire(&mut t.b, t0 + Duration::from_secs(9)).is_empty());
    let gone = t.t.expire(&mut t.b, t0 + Duration::from_secs(10));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, v13::OFPRR_HARD_TIMEOUT);
    t.consistent();
}

#[test]
fn idle_timeout_counts_from_the_backends_last_use() {
    let mut t = T::new();
    let mut m = add(1, vec![], 1);
    m.idle_timeout = 10;
    t.ok(m);
    let t0 = t.now;
    let id = t.id_of(1);
    // Used at t0+6: at t0+10 it is not idle yet, and the next check moves to t0+16.
    t.count(id, 1, Some(t0 + Duration::from_secs(6)));
    assert!(t
        .t
        .expire(&mut t.b, t0 + Duration::from_secs(10))
        .is_empty());
    assert_eq!(t.t.next_deadline(), Some(t0 + Duration::from_secs(16)));
    // A backend without last-used times: a grown packet count is use "now".
    t.count(id, 2, None);
    assert!(t
        .t
        .expire(&mut t.b, t0 + Duration::from_secs(16))
        .is_empty());
    assert_eq!(t.t.next_deadline(), Some(t0 + Duration::from_secs(26)));
    let gone = t.t.expire(&mut t.b, t0 + Duration::from_secs(26));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, v13::OFPRR_IDLE_TIMEOUT);
    assert_eq!(gone[0].entry.packets(), 2);
}

#[test]
fn a_backend_refusal_is_the_error_and_leaves_the_table_unchanged() {
    let mut t = T::new();
    t.ok(add(10, vec![Oxm::InPort(1)], 1));
    let refusal = Refusal::new(OfpErrorCode::new(2, 0), "Error: cls_flower: no such action");
    t.b.refuse = Some(refusal.clone());
    let before = t.shape();
    // ADD of a new entry, ADD replacing, MODIFY: all refused, nothing changed.
    assert_eq!(t.run(&add(11, vec![], 1)).map(|_| ()), Err(refusal.clone()));
    assert_eq!(
        t.run(&add(10, vec![Oxm::InPort(1)], 7)).map(|_| ()),
        Err(refusal.clone())
    );
    assert_eq!(
        t.run(&fm(C::Modify, 0, vec![], vec![out(7)])).map(|_| ()),
        Err(refusal)
    );
    assert_eq!(t.shape(), before);
    t.consistent();
    // Deleting needs no install and still works.
    t.ok(fm(C::Delete, 0, vec![], vec![]));
    assert!(t.shape().is_empty());
}

#[test]
fn modify_refused_half_way_takes_back_what_it_installed() {
    struct RefuseSecond(InMemory, u32);
    impl Backend for RefuseSecond {
        fn install(&mut self, id: FlowId, f: &FlowSpec) -> Result<(), Refusal> {
            self.1 += 1;
            if self.1 == 2 {
                return Err(Refusal::new(OfpErrorCode::new(2, 4), "no"));
            }
            self.0.install(id, f)
        }
        fn remove(&mut self, id: FlowId) {
            self.0.remove(id)
        }
        fn counters(&mut self, now: Instant) -> std::collections::HashMap<FlowId, Counters> {
            self.0.counters(now)
        }
    }
    let now = Instant::now();
    let mut t = FlowTable::new(1);
    let mut b = RefuseSecond(InMemory::default(), 10);
    for p in [1, 2] {
        t.flow_mod(&add(p, vec![], 1), &mut b, now).expect("add");
    }
    b.1 = 0;
    assert!(t
        .flow_mod(&fm(C::Modify, 0, vec![], vec![out(9)]), &mut b, now)
        .is_err());
    let ids: Vec<_> = t.entries().map(|e| e.id).collect();
    assert_eq!(b.0.installed.keys().copied().collect::<Vec<_>>(), ids);
    assert!(b
        .0
        .installed
        .values()
        .all(|f| f.instructions()[..] == [out(1)]));
}

#[test]
fn instructions_and_actions_every_switch_refuses() {
    let mut t = T::new();
    let cases: Vec<(Vec<Instruction>, OfpErrorCode)> = vec![
        (
            vec![Instruction::GotoTable(0)],
            bad_instruction::BAD_TABLE_ID,
        ),
        (
            vec![Instruction::GotoTable(4)],
            bad_instruction::BAD_TABLE_ID,
        ),
        (vec![out(1), out(2)], bad_instruction::UNSUP_INST),
        (vec![Instruction::Meter(5)], meter_mod_failed::UNKNOWN_METER),
        (vec![out(0)], bad_action::BAD_OUT_PORT),
        (vec![out(port::ANY)], bad_action::BAD_OUT_PORT),
        (vec![out(port::TABLE)], bad_action::BAD_OUT_PORT),
        (
            vec![Instruction::ApplyActions(
                [v13::Action::Group(1)].into_iter().collect(),
            )],
            bad_action::BAD_OUT_GROUP,
        ),
        (
            vec![Instruction::ApplyActions(
                [v13::Action::SetQueue(1)].into_iter().collect(),
            )],
            bad_action::BAD_QUEUE,
        ),
        (
            vec![Instruction::Experimenter {
                experimenter: 0x2320,
                data: Default::default(),
            }],
            bad_instruction::BAD_EXPERIMENTER,
        ),
    ];
    for (instr, code) in cases {
        assert_eq!(
            t.code(fm(C::Add, 1, vec![], instr.clone())),
            code,
            "{instr:?}"
        );
    }
    // goto forward is fine, and so are the reserved ports a flow may output to.
    t.ok(fm(C::Add, 1, vec![], vec![Instruction::GotoTable(2)]));
    for p in [
        port::NORMAL,
        port::FLOOD,
        port::ALL,
        port::IN_PORT,
        port::LOCAL,
        port::CONTROLLER,
        5,
    ] {
        t.ok(fm(C::Add, 2, vec![Oxm::InPort(p.min(9))], vec![out(p)]));
    }
    let mut m = add(1, vec![], 1);
    m.buffer_id = 3;
    assert_eq!(t.code(m), bad_request::BUFFER_UNKNOWN);
    let mut m = add(1, vec![], 1);
    m.flags = 0x100;
    assert_eq!(t.code(m), flow_mod_failed::BAD_FLAGS);
}

#[test]
fn matches_are_checked_for_prerequisites_masks_and_ports() {
    let mut t = T::new();
    let cases: Vec<(Vec<Oxm>, OfpErrorCode)> = vec![
        (vec![Oxm::TcpDst(80)], bad_match::BAD_PREREQ),
        (
            vec![Oxm::EthType(0x0800), Oxm::TcpDst(80)],
            bad_match::BAD_PREREQ,
        ),
        (
            vec![Oxm::EthType(0x0800), Oxm::IpProto(17), Oxm::TcpDst(80)],
            bad_match::BAD_PREREQ,
        ),
        (
            vec![Oxm::Ipv4Src(Masked::exact(Ipv4Addr::LOCALHOST))],
            bad_match::BAD_PREREQ,
        ),
        (
            vec![
                Oxm::EthType(0x86dd),
                Oxm::Ipv4Src(Masked::exact(Ipv4Addr::LOCALHOST)),
            ],
            bad_match::BAD_PREREQ,
        ),
        (vec![Oxm::ArpOp(1)], bad_match::BAD_PREREQ),
        (vec![Oxm::VlanPcp(3)], bad_match::BAD_PREREQ),
        (vec![Oxm::InPhyPort(1)], bad_match::BAD_PREREQ),
        (
            vec![
                Oxm::EthType(0x0800),
                Oxm::Ipv4Dst(Masked::with_mask(
                    Ipv4Addr::new(10, 0, 0, 1),
                    Ipv4Addr::new(255, 0, 0, 0),
                )),
            ],
            bad_match::BAD_WILDCARDS,
        ),
        (vec![Oxm::InPort(0)], bad_match::BAD_VALUE),
        (vec![Oxm::InPort(port::ANY)], bad_match::BAD_VALUE),
        (
            vec![Oxm::Opaque(v13::OxmOpaque {
                class: 1,
                field: 2,
                has_mask: false,
                payload: bytes::Bytes::from_static(&[0, 0, 0, 1]),
            })],
            bad_match::BAD_FIELD,
        ),
    ];
    for (fields, code) in cases {
        assert_eq!(t.code(add(1, fields.clone(), 1)), code, "{fields:?}");
        // A delete with the same match is refused the same way.
        assert_eq!(
            t.code(fm(C::Delete, 0, fields.clone(), vec![])),
            code,
            "{fields:?}"
        );
    }
    for ok in [
        vec![Oxm::EthType(0x0800), Oxm::IpProto(6), Oxm::TcpDst(80)],
        vec![
            Oxm::EthType(0x86dd),
            Oxm::IpProto(58),
            Oxm::Icmpv6Type(135),
            Oxm::Ipv6NdSll(v13::MacAddr([2; 6])),
        ],
        vec![Oxm::VlanVid(Masked::exact(0x1000 | 5)), Oxm::VlanPcp(3)],
        vec![Oxm::EthType(0x0806), Oxm::ArpOp(2)],
        vec![Oxm::InPort(port::LOCAL)],
    ] {
        t.ok(add(1, ok, 1));
    }
}

#[test]
fn table_full_is_refused() {
    let mut t = T::new();
    for i in 0..MAX_ENTRIES as u32 {
        t.ok(add(1, vec![Oxm::InPort(i + 1)], 1));
    }
    assert_eq!(
        t.code(add(1, vec![Oxm::InPort(MAX_ENTRIES as u32 + 1)], 1)),
        flow_mod_failed::TABLE_FULL
    );
    // Replacing an existing entry still works when full.
    t.ok(add(1, vec![Oxm::InPort(1)], 2));
}

fn meter(cmd: v13::MeterModCommand, id: u32, rate: u32) -> v13::MeterMod {
    v13::MeterMod {
        command: cmd,
        flags: 1,
        meter_id: id,
        bands: vec![v13::MeterBand::Drop {
            rate,
            burst_size: 0,
        }],
    }
}

#[test]
fn meters_add_modify_delete_and_the_flows_that_use_them() {
    use v13::MeterModCommand as M;
    let mut t = T::new();
    let now = t.now;
    t.t.meter_mod(&meter(M::Add, 1, 1000), &mut t.b, now)
        .expect("add meter");
    assert_eq!(
        t.t.meter_mod(&meter(M::Add, 1, 1000), &mut t.b, now)
            .map(|_| ())
            .unwrap_err()
            .error,
        meter_mod_failed::METER_EXISTS
    );
    assert_eq!(
        t.t.meter_mod(&meter(M::Modify, 2, 1000), &mut t.b, now)
            .map(|_| ())
            .unwrap_err()
            .error,
        meter_mod_failed::UNKNOWN_METER
    );
    assert_eq!(
        t.t.meter_mod(&meter(M::Add, 0, 1000), &mut t.b, now)
            .map(|_| ())
            .unwrap_err()
            .error,
        meter_mod_failed::INVALID_METER
    );
    assert_eq!(
        t.t.meter_mod(&meter(M::Add, 3, 0), &mut t.b, now)
            .map(|_| ())
            .unwrap_err()
            .error,
        meter_mod_failed::BAD_RATE
    );
    t.ok(fm(C::Add, 1, vec![], vec![Instruction::Meter(1), out(2)]));
    t.ok(add(2, vec![], 2));
    // Modify reinstalls the user under a new id; a refusal keeps the old meter.
    let old = t.id_of(1);
    t.t.meter_mod(&meter(M::Modify, 1, 2000), &mut t.b, now)
        .expect("modify");
    assert_ne!(t.id_of(1), old);
    t.consistent();
    t.b.refuse = Some(Refusal::new(
        meter_mod_failed::BAD_RATE,
        "police: rate too high",
    ));
    assert!(t
        .t
        .meter_mod(&meter(M::Modify, 1, 9), &mut t.b, now)
        .is_err());
    assert!(matches!(
        &t.t.meters().get(1).expect("meter 1").bands[..],
        [v13::MeterBand::Drop { rate: 2000, .. }]
    ));
    t.b.refuse = None;
    // Delete takes the flows that use it along; deleting an unknown meter is no error.
    let gone =
        t.t.meter_mod(&meter(M::Delete, 1, 0), &mut t.b, now)
            .expect("delete");
    assert_eq!(gone.len(), 1);
    assert_eq!(t.shape(), [(0, 2, 2)]);
    assert!(t
        .t
        .meter_mod(&meter(M::Delete, 77, 0), &mut t.b, now)
        .expect("delete")
        .is_empty());
    t.consistent();
}

#[test]
fn stats_selector_selects_like_a_non_strict_delete() {
    let mut t = T::new();
    t.ok(add(10, ip_dst([10, 1, 0, 0], 16), 1));
    t.ok(add(20, ip_dst([11, 1, 0, 0], 16), 2));
    let r = v13::multipart::FlowStatsRequest {
        table_id: v13::OFPTT_ALL,
        out_port: port::ANY,
        out_group: v13::OFPG_ANY,
        cookie: 0,
        cookie_mask: 0,
        match_: v13::Match::from_fields(ip_dst([10, 0, 0, 0], 8)),
    };
    let sel = Selector::of_stats(&r, 4).expect("selector");
    let now = t.now;
    let v = t.t.select(&sel, &mut t.b, now);
    assert_eq!(v.iter().map(|e| e.spec.priority).collect::<Vec<_>>(), [10]);
    let mut bad = r.clone();
    bad.table_id = 4;
    assert!(Selector::of_stats(&bad, 4).is_err());
}

/// A run of FLOW_MODs through `flow_mods` (plain ADDs batched) ends as the same run one by
/// one: the same answer for each, the same entries, the same flows in the backend; a flow
/// the backend refuses is refused alone.
#[test]
fn a_run_of_flow_mods_in_batches_ends_as_one_by_one() {
    let refusal = Refusal::new(flow_mod_failed::UNKNOWN, "the kernel said no");
    let mut bad_table = add(5, ip_dst([10, 0, 0, 9], 32), 1);
    bad_table.table_id = 9;
    let mut overlap = add(10, ip_dst([10, 0, 0, 0], 24), 2);
    overlap.flags = ff::CHECK_OVERLAP;
    let run = vec![
        add(10, ip_dst([10, 0, 0, 1], 32), 1),
        add(20, ip_dst([10, 0, 0, 2], 32), 2), // refused by the backend
        bad_table,
        add(10, ip_dst([10, 0, 0, 3], 32), 1),
        add(10, ip_dst([10, 0, 0, 1], 32), 3), // replaces the first
        overlap,                               // overlaps 10.0.0.1 and .3
        fm(C::DeleteStrict, 10, ip_dst([10, 0, 0, 3], 32), vec![]),
        add(30, ip_dst([10, 0, 0, 4], 32), 2),
    ];
    let mut one = T::new();
    let mut many = T::new();
    for t in [&mut one, &mut many] {
        t.b.refuse_priority = Some((20, refusal.clone()));
    }
    let a: Vec<_> = run
        .iter()
        .map(|m| one.run(m).map(|r| r.len()).map_err(|e| e.error))
        .collect();
    let b: Vec<_> = many
        .t
        .flow_mods(&run, &mut many.b, many.now)
        .into_iter()
        .map(|r| r.map(|r| r.len()).map_err(|e| e.error))
        .collect();
    assert_eq!(a, b);
    assert_eq!(
        b[1],
        Err(flow_mod_failed::UNKNOWN),
        "the refused flow is refused"
    );
    assert!(b[0].is_ok() && b[3].is_ok() && b[7].is_ok());
    let entries =
        |t: &T| -> Vec<FlowSpec> { sorted(&t.t).into_iter().map(|e| e.spec.clone()).collect() };
    assert_eq!(entries(&one), entries(&many));
    assert_eq!(entries(&many).len(), 2);
    let installed = |t: &T| -> Vec<FlowSpec> { t.b.installed.values().cloned().collect() };
    assert_eq!(installed(&one), installed(&many));
}

/// Entries keep match and instructions encoded: what comes back is what went in, and the
/// normal form read from the encoding is the one of the decoded match.
#[test]
fn flow_spec_keeps_match_and_instructions_exactly() {
    let mut fields = ip_dst([10, 1, 2, 0], 24);
    fields.push(Oxm::IpProto(6));
    fields.push(Oxm::TcpDst(80));
    let m = v13::Match::from_fields(fields);
    let instr = vec![out(2), Instruction::GotoTable(3)];
    let spec = FlowSpec::new(1, 100, 7, &m, &instr);
    assert_eq!(spec.match_(), m);
    assert_eq!(&spec.instructions()[..], &instr[..]);
    assert_eq!(spec.match_wire().len(), m.wire_len());
    assert_eq!(MatchKey::of_wire(spec.match_wire()), MatchKey::of(&m));
    let other = spec.with_instructions(&[out(1)]);
    assert_eq!(other.match_(), m);
    assert_eq!(&other.instructions()[..], &[out(1)][..]);
    assert_eq!((other.table_id, other.priority, other.cookie), (1, 100, 7));
    // The empty match and no instructions.
    let empty = FlowSpec::new(0, 0, 0, &v13::Match::new(), &[]);
    assert_eq!(empty.match_(), v13::Match::new());
    assert!(empty.instructions().is_empty());
}

#[test]
fn the_controller_meter_reinstalls_the_flows_to_the_controller_and_deletes_none() {
    use v13::MeterModCommand as M;
    let mut t = T::new();
    let now = t.now;
    t.ok(add(1, vec![], port::CONTROLLER));
    t.ok(add(2, vec![Oxm::InPort(1)], 2));
    let (to_ctl, other) = (t.id_of(1), t.id_of(2));
    // Setting OFPM_CONTROLLER installs the flow to the controller again (with the new
    // bound), and only that one.
    t.t.meter_mod(&meter(M::Add, v13::OFPM_CONTROLLER, 50_000), &mut t.b, now)
        .expect("set the controller meter");
    assert_ne!(t.id_of(1), to_ctl);
    assert_eq!(t.id_of(2), other);
    t.consistent();
    // Deleting it puts the default back: the flows stay, reinstalled.
    let again = t.id_of(1);
    let gone =
        t.t.meter_mod(&meter(M::Delete, v13::OFPM_CONTROLLER, 0), &mut t.b, now)
            .expect("delete the controller meter");
    assert!(gone.is_empty());
    assert_ne!(t.id_of(1), again);
    assert_eq!(t.shape().len(), 2);
    t.consistent();
}

/// Entries in table order, then priority from high to low, then age.
fn sorted(t: &FlowTable) -> Vec<&FlowEntry> {
    let mut v: Vec<&FlowEntry> = t.entries().collect();
    v.sort_by_key(|e| (e.spec.table_id, std::cmp::Reverse(e.spec.priority), e.id));
    v
}
