//! TABLE_FEATURES (7.3.5.5) answered truthfully: what a local switch can match and do is
//! found by trying it. Each match field (exact and masked), instruction, action and
//! set-field is tried as a FLOW_MOD on a flow table of its own whose backend is the pure
//! TC translation (`tc_datapath::translate`, no kernel): what the flow table's checks and
//! the translation accept is listed, what they refuse is not. The answer therefore follows
//! the translation as it grows, with no list to keep in step by hand.
//!
//! The probes run once per process ([`capabilities`]); every table of a switch has the
//! same capabilities, except that the last has no table to go to.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::{
    self, Action, FeatureId, Instruction, MacAddr, Masked, Match, Oxm, OxmId, TableFeatureProp,
    TableFeatures,
};
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, MeterTable, PortMap, Refusal};

use crate::datapath::flowtable::FlowTable;

/// What a flow of a local switch may hold, as found by [`probe`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// OXM headers of the match fields, with OFPXMT_HASMASK where a mask is taken.
    pub(crate) matches: Vec<u32>,
    pub(crate) instructions: Vec<u16>,
    pub(crate) apply_actions: Vec<u16>,
    pub(crate) write_actions: Vec<u16>,
    /// OXM headers of the fields set-field may set (without mask).
    pub(crate) apply_setfields: Vec<u32>,
    pub(crate) write_setfields: Vec<u32>,
    /// Whether `metadata` may be matched and written (all 64 bits) .
    pub(crate) metadata_match: bool,
    pub(crate) metadata_write: bool,
}

/// The capabilities of every local switch (the translation is the same for all).
pub(crate) fn capabilities() -> &'static Capabilities {
    static CAPS: OnceLock<Capabilities> = OnceLock::new();
    CAPS.get_or_init(probe)
}

/// A backend that translates and keeps nothing: ports 1 and 2 (ifindexes 1 and 2).
struct Translation {
    ports: PortMap,
    meters: MeterTable,
}

impl Backend for Translation {
    fn install(&mut self, _id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        flow.with_decoded(|f| tc_datapath::translate(f, &self.ports, &self.meters))?
            .map(|_| ())
    }

    fn remove(&mut self, _id: FlowId) {}

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }

    fn set_meters(&mut self, meters: &MeterTable) {
        self.meters = meters.clone();
    }
}

/// Whether a local switch takes a flow in table 0 with `fields` and `instructions` (a
/// flow table of two tables, meter 1 defined, ports 1 and 2).
fn takes(fields: &[Oxm], instructions: Vec<Instruction>) -> bool {
    let mut ports = PortMap::new();
    ports.insert(1, 1, "probe1");
    ports.insert(2, 2, "probe2");
    let mut backend = Translation {
        ports,
        meters: MeterTable::new(),
    };
    let now = Instant::now();
    let mut table = FlowTable::new(2);
    let meter = v13::MeterMod {
        command: v13::MeterModCommand::Add,
        flags: v13::OFPMF_KBPS,
        meter_id: 1,
        bands: vec![v13::MeterBand::Drop {
            rate: 1000,
            burst_size: 0,
        }],
    };
    if table.meter_mod(&meter, &mut backend, now).is_err() {
        return false;
    }
    let fm = v13::FlowMod {
        cookie: 0,
        cookie_mask: 0,
        table_id: 0,
        command: v13::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 100,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: v13::port::ANY,
        out_group: v13::OFPG_ANY,
        flags: 0,
        match_: Match::from_fields(fields.iter().cloned()),
        instructions: instructions.into_iter().collect(),
    };
    table.flow_mod(&fm, &mut backend, now).is_ok()
}

fn output2() -> Action {
    Action::Output {
        port: 2,
        max_len: 0,
    }
}

fn apply(actions: Vec<Action>) -> Instruction {
    Instruction::ApplyActions(actions.into_iter().collect())
}

// Values inside their masks (a value bit outside the mask is OFPBMC_BAD_WILDCARDS).
const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 1, 0]);
const MAC_MASK: MacAddr = MacAddr([0xff, 0xff, 0xff, 0xff, 0xff, 0]);
const V4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 0);
const V4_MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0);
const V6_MASK: Ipv6Addr = Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0);

fn eth(t: u16) -> Oxm {
    Oxm::EthType(t)
}

fn ip(proto: u8) -> Vec<Oxm> {
    vec![eth(0x0800), Oxm::IpProto(proto)]
}

fn ip6(proto: u8) -> Vec<Oxm> {
    vec![eth(0x86dd), Oxm::IpProto(proto)]
}

/// One field to try: what it needs before it (its prerequisites, 7.2.3.6), the field
/// exact, and the field masked if OpenFlow lets it have a mask.
struct FieldProbe {
    context: Vec<Oxm>,
    exact: Oxm,
    masked: Option<Oxm>,
}

fn field_probes() -> Vec<FieldProbe> {
    use Oxm as O;
    let p = |context: Vec<Oxm>, exact: Oxm, masked: Option<Oxm>| FieldProbe {
        context,
        exact,
        masked,
    };
    let present = v13::oxm::OFPVID_PRESENT;
    let arp = || vec![eth(0x0806)];
    let nd = |t: u8| {
        let mut v = ip6(58);
        v.push(O::Icmpv6Type(t));
        v
    };
    vec![
        p(vec![], O::InPort(1), None),
        p(vec![O::InPort(1)], O::InPhyPort(1), None),
        p(
            vec![],
            O::Metadata(Masked::exact(1)),
            Some(O::Metadata(Masked::with_mask(1, 0xff))),
        ),
        p(
            vec![],
            O::EthDst(Masked::exact(MAC)),
            Some(O::EthDst(Masked::with_mask(MAC, MAC_MASK))),
        ),
        p(
            vec![],
            O::EthSrc(Masked::exact(MAC)),
            Some(O::EthSrc(Masked::with_mask(MAC, MAC_MASK))),
        ),
        p(vec![], O::EthType(0x0800), None),
        p(
            vec![],
            O::VlanVid(Masked::exact(present | 10)),
            Some(O::VlanVid(Masked::with_mask(present, present))),
        ),
        p(
            vec![O::VlanVid(Masked::exact(present | 10))],
            O::VlanPcp(3),
            None,
        ),
        p(vec![eth(0x0800)], O::IpDscp(10), None),
        p(vec![eth(0x0800)], O::IpEcn(1), None),
        p(vec![eth(0x0800)], O::IpProto(6), None),
        p(
            vec![eth(0x0800)],
            O::Ipv4Src(Masked::exact(V4)),
            Some(O::Ipv4Src(Masked::with_mask(V4, V4_MASK))),
        ),
        p(
            vec![eth(0x0800)],
            O::Ipv4Dst(Masked::exact(V4)),
            Some(O::Ipv4Dst(Masked::with_mask(V4, V4_MASK))),
        ),
        p(ip(6), O::TcpSrc(80), None),
        p(ip(6), O::TcpDst(80), None),
        p(ip(17), O::UdpSrc(53), None),
        p(ip(17), O::UdpDst(53), None),
        p(ip(132), O::SctpSrc(9), None),
        p(ip(132), O::SctpDst(9), None),
        p(ip(1), O::Icmpv4Type(8), None),
        p(ip(1), O::Icmpv4Code(0), None),
        p(arp(), O::ArpOp(1), None),
        p(
            arp(),
            O::ArpSpa(Masked::exact(V4)),
            Some(O::ArpSpa(Masked::with_mask(V4, V4_MASK))),
        ),
        p(
            arp(),
            O::ArpTpa(Masked::exact(V4)),
            Some(O::ArpTpa(Masked::with_mask(V4, V4_MASK))),
        ),
        p(
            arp(),
            O::ArpSha(Masked::exact(MAC)),
            Some(O::ArpSha(Masked::with_mask(MAC, MAC_MASK))),
        ),
        p(
            arp(),
            O::ArpTha(Masked::exact(MAC)),
            Some(O::ArpTha(Masked::with_mask(MAC, MAC_MASK))),
        ),
        p(
            vec![eth(0x86dd)],
            O::Ipv6Src(Masked::exact(V6)),
            Some(O::Ipv6Src(Masked::with_mask(V6, V6_MASK))),
        ),
        p(
            vec![eth(0x86dd)],
            O::Ipv6Dst(Masked::exact(V6)),
            Some(O::Ipv6Dst(Masked::with_mask(V6, V6_MASK))),
        ),
        p(
            vec![eth(0x86dd)],
            O::Ipv6Flabel(Masked::exact(7)),
            Some(O::Ipv6Flabel(Masked::with_mask(7, 0xff))),
        ),
        p(ip6(58), O::Icmpv6Type(128), None),
        p(ip6(58), O::Icmpv6Code(0), None),
        p(nd(135), O::Ipv6NdTarget(V6), None),
        p(nd(135), O::Ipv6NdSll(MAC), None),
        p(nd(136), O::Ipv6NdTll(MAC), None),
        p(vec![eth(0x8847)], O::MplsLabel(16), None),
        p(vec![eth(0x8847)], O::MplsTc(1), None),
        p(vec![eth(0x8847)], O::MplsBos(1), None),
        p(
            vec![eth(0x88e7)],
            O::PbbIsid(Masked::exact(5)),
            Some(O::PbbIsid(Masked::with_mask(5, 0xff))),
        ),
        p(
            vec![],
            O::TunnelId(Masked::exact(5)),
            Some(O::TunnelId(Masked::with_mask(5, 0xff))),
        ),
        p(
            vec![eth(0x86dd)],
            O::Ipv6Exthdr(Masked::exact(1)),
            Some(O::Ipv6Exthdr(Masked::with_mask(1, 1))),
        ),
    ]
}

/// The actions to try (besides set-field), each with the match that gives it something
/// to act on and what usually follows it; output:2 goes after them.
fn action_probes() -> Vec<(Vec<Oxm>, Vec<Action>)> {
    let present = v13::oxm::OFPVID_PRESENT;
    let mpls = || vec![eth(0x8847)];
    let one = |ctx: Vec<Oxm>, a: Action| (ctx, vec![a]);
    vec![
        (vec![], vec![]),
        one(mpls(), Action::CopyTtlOut),
        one(mpls(), Action::CopyTtlIn),
        one(mpls(), Action::SetMplsTtl(9)),
        one(mpls(), Action::DecMplsTtl),
        // As Faucet tags an untagged port's packets.
        (
            vec![Oxm::VlanVid(Masked::exact(0))],
            vec![
                Action::PushVlan(0x8100),
                Action::SetField(Oxm::VlanVid(Masked::exact(present | 10))),
            ],
        ),
        one(
            vec![Oxm::VlanVid(Masked::exact(present | 10))],
            Action::PopVlan,
        ),
        one(vec![eth(0x0800)], Action::PushMpls(0x8847)),
        one(mpls(), Action::PopMpls(0x0800)),
        one(vec![], Action::SetQueue(1)),
        one(vec![eth(0x0800)], Action::SetNwTtl(9)),
        one(vec![eth(0x0800)], Action::DecNwTtl),
        one(vec![], Action::PushPbb(0x88e7)),
        one(vec![eth(0x88e7)], Action::PopPbb),
    ]
}

/// Try everything; see the module documentation.
pub(crate) fn probe() -> Capabilities {
    let mut c = Capabilities::default();
    let out = || apply(vec![output2()]);
    let mut setfields_apply = Vec::new();
    let mut setfields_write = Vec::new();
    for f in field_probes() {
        let with = |o: &Oxm| {
            let mut v = f.context.clone();
            v.push(o.clone());
            v
        };
        if takes(&with(&f.exact), vec![out()]) {
            let masked = f.masked.as_ref().filter(|m| takes(&with(m), vec![out()]));
            c.matches
                .push(masked.map_or(f.exact.header(), |m| m.header()));
            if matches!(f.exact, Oxm::Metadata(_)) {
                c.metadata_match = masked.is_some();
            }
        }
        // Set-field: only fields a packet carries (not in_port, metadata, tunnel_id's
        // absence is the translation's to say).
        if matches!(
            f.exact,
            Oxm::InPort(_) | Oxm::InPhyPort(_) | Oxm::Metadata(_)
        ) {
            continue;
        }
        let set = Action::SetField(f.exact.clone());
        if takes(&f.context, vec![apply(vec![set.clone(), output2()])]) {
            setfields_apply.push(f.exact.header());
        }
        if takes(
            &f.context,
            vec![Instruction::WriteActions(
                [set, output2()].into_iter().collect(),
            )],
        ) {
            setfields_write.push(f.exact.header());
        }
    }
    c.apply_setfields = setfields_apply;
    c.write_setfields = setfields_write;
    for (ctx, mut list) in action_probes() {
        // The action tried is the first of the list (output:2 for the empty one).
        list.push(output2());
        let t = list[0].action_type();
        if takes(&ctx, vec![apply(list.clone())]) {
            c.apply_actions.push(t);
        }
        if takes(
            &ctx,
            vec![Instruction::WriteActions(list.into_iter().collect())],
        ) {
            c.write_actions.push(t);
        }
    }
    if !c.apply_setfields.is_empty() {
        c.apply_actions.push(v13::action::action_type::SET_FIELD);
    }
    if !c.write_setfields.is_empty() {
        c.write_actions.push(v13::action::action_type::SET_FIELD);
    }
    c.apply_actions.sort_unstable();
    c.write_actions.sort_unstable();
    let write_metadata = Instruction::WriteMetadata {
        metadata: 1,
        mask: u64::MAX,
    };
    let instructions = [
        vec![Instruction::GotoTable(1)],
        vec![write_metadata, Instruction::GotoTable(1)],
        vec![Instruction::WriteActions([output2()].into_iter().collect())],
        vec![out()],
        vec![Instruction::ClearActions, out()],
        vec![Instruction::Meter(1), out()],
    ];
    for list in instructions {
        // The instruction tried is the first of each list.
        let t = list[0].instruction_type();
        if takes(&[], list) {
            c.instructions.push(t);
        }
    }
    c.metadata_write = c
        .instructions
        .contains(&v13::instruction::instruction_type::WRITE_METADATA);
    c
}

/// The features of table `table_id` of a switch with `n_tables` tables.
pub(crate) fn table_features(c: &Capabilities, table_id: u8, n_tables: u8) -> TableFeatures {
    let ids = |v: &[u16]| -> Vec<FeatureId> {
        v.iter()
            .map(|t| FeatureId {
                id_type: *t,
                data: Bytes::new(),
            })
            .collect()
    };
    let oxms = |v: &[u32]| -> Vec<OxmId> {
        v.iter()
            .map(|h| OxmId {
                header: *h,
                experimenter: None,
            })
            .collect()
    };
    let next: Vec<u8> = (table_id.saturating_add(1)..n_tables).collect();
    let goto = v13::instruction::instruction_type::GOTO_TABLE;
    let instructions: Vec<u16> = c
        .instructions
        .iter()
        .copied()
        .filter(|t| *t != goto || !next.is_empty())
        .collect();
    // Every field may be left out of a match: the wildcards are the match fields, without
    // their masks.
    let wildcards: Vec<u32> = c
        .matches
        .iter()
        .map(|h| (h & !0x1ff) | exact_len(*h))
        .collect();
    let mut properties = Vec::new();
    for miss in [false, true] {
        properties.push(TableFeatureProp::Instructions {
            miss,
            ids: ids(&instructions),
        });
        properties.push(TableFeatureProp::NextTables {
            miss,
            tables: Bytes::from(next.clone()),
        });
        properties.push(TableFeatureProp::WriteActions {
            miss,
            ids: ids(&c.write_actions),
        });
        properties.push(TableFeatureProp::ApplyActions {
            miss,
            ids: ids(&c.apply_actions),
        });
        properties.push(TableFeatureProp::WriteSetfield {
            miss,
            ids: oxms(&c.write_setfields),
        });
        properties.push(TableFeatureProp::ApplySetfield {
            miss,
            ids: oxms(&c.apply_setfields),
        });
    }
    properties.push(TableFeatureProp::Match(oxms(&c.matches)));
    properties.push(TableFeatureProp::Wildcards(oxms(&wildcards)));
    let meta = |on: bool| if on { u64::MAX } else { 0 };
    TableFeatures {
        table_id,
        name: Bytes::from(format!("table {table_id}")),
        metadata_match: meta(c.metadata_match),
        metadata_write: meta(c.metadata_write),
        config: 0,
        // The kernel sets no number of its own: memory is the bound.
        max_entries: u32::MAX,
        properties,
    }
}

/// The payload length of an exact OXM of the field of header `h` (a masked header's length
/// is twice it).
fn exact_len(h: u32) -> u32 {
    let len = h & 0xff;
    if h & 0x100 != 0 {
        len / 2
    } else {
        len
    }
}

/// Bytes of `t` on the wire (7.3.5.5.1: 64 bytes, then each property padded to 8).
pub(crate) fn wire_len(t: &TableFeatures) -> usize {
    let body = |p: &TableFeatureProp| -> usize {
        match p {
            TableFeatureProp::Instructions { ids, .. }
            | TableFeatureProp::WriteActions { ids, .. }
            | TableFeatureProp::ApplyActions { ids, .. } => {
                ids.iter().map(|i| 4 + i.data.len()).sum()
            }
            TableFeatureProp::NextTables { tables, .. } => tables.len(),
            TableFeatureProp::Match(ids)
            | TableFeatureProp::Wildcards(ids)
            | TableFeatureProp::WriteSetfield { ids, .. }
            | TableFeatureProp::ApplySetfield { ids, .. } => ids
                .iter()
                .map(|i| if i.experimenter.is_some() { 8 } else { 4 })
                .sum(),
            TableFeatureProp::Experimenter { data, .. } => 8 + data.len(),
            TableFeatureProp::Unknown { data, .. } => data.len(),
        }
    };
    64 + t
        .properties
        .iter()
        .map(|p| (4 + body(p)).div_ceil(8) * 8)
        .sum::<usize>()
}

#[cfg(test)]
mod tests;
