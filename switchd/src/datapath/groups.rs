//! The group table of a local switch (OpenFlow 1.3 section 5.6, GROUP_MOD 7.3.4.2, group
//! statistics 7.3.5.9-11).
//!
//! Groups are expanded here, in switchd, before a flow reaches the TC translation: a flow
//! that says `group:N` is handed to the backend with the group's buckets in its place
//! ([`Expanding`], a [`Backend`] that wraps the kernel's). The translation stays pure and
//! per flow (it knows nothing of groups); liveness, which lives here with the ports, picks
//! a fast-failover group's bucket; and the kernel table keeps, adopts and counts the
//! expanded filters as it does any other. The flows that use a group are installed again
//! when the group changes (GROUP_MOD MODIFY, a watched port going up or down), through the
//! flow table, which keeps their counters.
//!
//! What each type becomes (TC runs one filter's actions in order on one packet; `mirred`
//! egress mirror sends a copy as the packet is at that point):
//! - INDIRECT: the one bucket's actions, inline. As in Open vSwitch, the actions after a
//!   group see the packet as it was before the group: a bucket that only pushes a VLAN tag
//!   gets a pop_vlan after it (this holds for every group type), and an output after a
//!   bucket with another change is refused (OFPBAC_UNSUPPORTED_ORDER).
//! - ALL: each bucket's actions in turn: an output is a mirror, the last one a redirect.
//!   A bucket that changes the packet would hand its change to the buckets after it, which
//!   must see the original (5.6.1: each bucket works on a copy). So the buckets that change
//!   nothing come first; a bucket whose only change is a pushed VLAN tag (push_vlan and
//!   set-field on the new tag) is followed by pop_vlan, which restores the original
//!   exactly; at most one bucket with any other change is allowed, last, and a second is
//!   refused with OFPGMFC_BAD_BUCKET. A flow that outputs after a group whose buckets
//!   changed the packet is refused with OFPBAC_UNSUPPORTED_ORDER, for the same reason.
//! - FAST_FAILOVER: the first live bucket's actions (none live: drop). A bucket is live
//!   when its watch port is up (administratively and its link: the kernel's IFF_UP and
//!   IFF_LOWER_UP, which `links.rs` follows) and its watch group is live (a fast-failover
//!   group with a live bucket; any other group with buckets).
//! - SELECT: refused with OFPGMFC_BAD_TYPE. Picking a bucket per flow by a hash needs the
//!   kernel to hash the packet and a filter to match on that hash; flower's hash key
//!   matches `skb->hash` as it happens to be (often unset on a veth), and no TC action
//!   computes it from chosen fields. Open vSwitch's TC offload refuses `dp_hash` for the
//!   same reason (`lib/dpif-offload-tc-netdev.c`: "offloading attribute dp_hash isn't
//!   supported") and picks select buckets in userspace.
//! - Chaining (a bucket with a group action) is expanded recursively; loops are refused
//!   with OFPGMFC_LOOP. A group that another group forwards to cannot be deleted
//!   (OFPGMFC_CHAINED_GROUP), unless all groups are.
//!
//! One TC filter holds at most 32 actions: a flow whose expansion needs more is refused by
//! the translation (OFPBAC_TOO_MANY), and so is a GROUP_MOD that would make a flow need
//! more (the group stays as it was).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use ofproto::v13::errors::{bad_action, bad_instruction, group_mod_failed};
use ofproto::v13::group_meter::group_type;
use ofproto::v13::{self, multipart as mp, port, Action, Bucket, Instruction};
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, MeterTable, PortMap, Refusal};

use super::flowtable::{FlowEntry, FlowTable, MatchKey, RemovedFlow, Selector};
use super::switch::Switch;
use crate::datapath::flowtable::check_action;

/// The most groups one switch holds (OFPGMFC_OUT_OF_GROUPS beyond).
pub(crate) const MAX_GROUPS: usize = 65_536;
/// The most buckets in one group (OFPGMFC_OUT_OF_BUCKETS beyond): a filter holds 32 TC
/// actions, and every bucket needs one at least.
pub(crate) const MAX_BUCKETS: usize = 32;

/// `ofp_group_capabilities`: chaining, and loops checked.
const OFPGFC_CHAINING: u32 = 1 << 2;
const OFPGFC_CHAINING_CHECKS: u32 = 1 << 3;

/// One group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) group_type: u8,
    pub(crate) buckets: Vec<Bucket>,
    added: Instant,
    /// Fast failover: the bucket in use (as last installed) and each bucket's counts from
    /// the times it was in use before, with the group's count when the current one began.
    ff_live: Option<usize>,
    ff_base: Vec<(u64, u64)>,
    ff_mark: (u64, u64),
}

impl Group {
    fn new(gm: &v13::GroupMod, now: Instant) -> Group {
        Group {
            group_type: gm.group_type,
            buckets: gm.buckets.clone(),
            added: now,
            ff_live: None,
            ff_base: vec![(0, 0); gm.buckets.len()],
            ff_mark: (0, 0),
        }
    }

    /// The groups this one forwards to (its buckets' group actions) or watches.
    fn refers_to(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flat_map(|b| {
            b.actions
                .iter()
                .filter_map(|a| match a {
                    Action::Group(g) => Some(*g),
                    _ => None,
                })
                .chain((b.watch_group != v13::OFPG_ANY).then_some(b.watch_group))
        })
    }

    fn forwards_to(&self, g: u32) -> bool {
        self.buckets
            .iter()
            .any(|b| b.actions.iter().any(|a| *a == Action::Group(g)))
    }
}

/// The groups of one switch, and the ports that are live for fast failover.
#[derive(Debug, Default)]
pub(crate) struct GroupTable {
    groups: BTreeMap<u32, Group>,
    live_ports: BTreeSet<u32>,
    /// Packets and bytes of flows that used a group and left the table.
    gone: HashMap<u32, (u64, u64)>,
}

/// Whether an action changes the packet (a copy's change that other outputs would see).
fn modifies(a: &Action) -> bool {
    !matches!(
        a,
        Action::Output { .. } | Action::Group(_) | Action::SetQueue(_)
    )
}

/// Whether an action sends the packet somewhere.
fn outputs(a: &Action) -> bool {
    matches!(a, Action::Output { .. })
}

/// A bucket whose only change is a pushed VLAN tag: push_vlan, then set-fields of the new
/// tag (vlan_vid, vlan_pcp) and outputs. pop_vlan after it restores the packet exactly.
fn only_pushes_a_tag(actions: &[Action]) -> bool {
    let mut pushed = false;
    for a in actions {
        match a {
            Action::PushVlan(_) if !pushed => pushed = true,
            Action::SetField(f) if pushed => {
                use v13::oxm::field::{VLAN_PCP, VLAN_VID};
                if !matches!(f.basic_field(), Some(VLAN_VID) | Some(VLAN_PCP)) {
                    return false;
                }
            }
            Action::Output { .. } => {}
            _ => return false,
        }
    }
    pushed
}

/// The action set's order (5.10), for a write_actions that holds a group.
fn set_rank(a: &Action) -> u8 {
    match a {
        Action::CopyTtlIn => 0,
        Action::PopVlan | Action::PopMpls(_) | Action::PopPbb => 1,
        Action::PushMpls(_) => 2,
        Action::PushPbb(_) => 3,
        Action::PushVlan(_) => 4,
        Action::CopyTtlOut => 5,
        Action::DecNwTtl | Action::DecMplsTtl => 6,
        Action::SetField(_) | Action::SetNwTtl(_) | Action::SetMplsTtl(_) => 7,
        Action::SetQueue(_) => 8,
        Action::Group(_) => 9,
        Action::Output { .. } => 10,
        Action::Experimenter { .. } => 11,
    }
}

/// A run of actions with the groups in it expanded, and whether it left the packet changed
/// for whatever follows (a copy's change).
struct Expansion {
    actions: Vec<Action>,
    /// The packet that goes on after these actions is not the one that came in: nothing
    /// after may output.
    tainted: bool,
}

impl GroupTable {
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.groups.contains_key(&id)
    }

    fn port_live(&self, p: u32) -> bool {
        self.live_ports.contains(&p)
    }

    /// Whether group `id` is live (5.8: a fast-failover group with a live bucket; any
    /// other group that has buckets).
    fn group_live(&self, id: u32, depth: usize) -> bool {
        let Some(g) = self.groups.get(&id) else {
            return false;
        };
        if depth > 32 {
            return false;
        }
        if g.group_type == group_type::FF {
            g.buckets.iter().any(|b| self.bucket_live(b, depth + 1))
        } else {
            !g.buckets.is_empty()
        }
    }

    fn bucket_live(&self, b: &Bucket, depth: usize) -> bool {
        (b.watch_port == port::ANY || self.port_live(b.watch_port))
            && (b.watch_group == v13::OFPG_ANY || self.group_live(b.watch_group, depth))
    }

    /// The bucket a fast-failover group uses now.
    fn ff_choice(&self, g: &Group) -> Option<usize> {
        g.buckets.iter().position(|b| self.bucket_live(b, 0))
    }

    /// Group `id`'s actions, expanded (chained groups too).
    fn expand_group(&self, id: u32, depth: usize) -> Result<Expansion, Refusal> {
        let Some(g) = self.groups.get(&id) else {
            return Err(Refusal::new(
                bad_action::BAD_OUT_GROUP,
                format!("group {id} does not exist"),
            ));
        };
        if depth > 32 {
            return Err(Refusal::new(
                group_mod_failed::LOOP,
                format!("group {id}: groups chained too deep (a loop?)"),
            ));
        }
        match g.group_type {
            group_type::INDIRECT | group_type::FF => {
                let b = if g.group_type == group_type::INDIRECT {
                    g.buckets.first()
                } else {
                    self.ff_choice(g).and_then(|i| g.buckets.get(i))
                };
                match b {
                    Some(b) => self.expand_bucket(id, &b.actions, depth),
                    None => Ok(Expansion {
                        actions: Vec::new(),
                        tainted: false,
                    }),
                }
            }
            group_type::ALL => {
                let mut clean = Vec::new();
                let mut changing: Option<Expansion> = None;
                for (n, b) in g.buckets.iter().enumerate() {
                    let e = self.expand_bucket(id, &b.actions, depth)?;
                    if !e.tainted {
                        clean.extend(e.actions);
                    } else if changing.is_some() {
                        return Err(Refusal::new(
                            group_mod_failed::BAD_BUCKET,
                            format!(
                                "group {id} (all): bucket {n} changes the packet, and so does \
                                 another: TC applies the buckets to one packet in turn, and \
                                 the second would see the first's change"
                            ),
                        ));
                    } else {
                        changing = Some(e);
                    }
                }
                let tainted = changing.is_some();
                clean.extend(changing.into_iter().flat_map(|e| e.actions));
                Ok(Expansion {
                    actions: clean,
                    tainted,
                })
            }
            t => Err(Refusal::new(
                group_mod_failed::BAD_TYPE,
                format!("group {id} has type {t}, which this switch does not implement"),
            )),
        }
    }

    /// A bucket's actions (of group `id`) with chained groups expanded. Tainted when it
    /// changes the packet (the bucket's copy, which others must not see).
    fn expand_bucket(
        &self,
        id: u32,
        actions: &[Action],
        depth: usize,
    ) -> Result<Expansion, Refusal> {
        let mut e = self.expand_list(actions, depth + 1).map_err(|r| {
            if r.error == bad_action::UNSUPPORTED_ORDER {
                Refusal::new(
                    group_mod_failed::BAD_BUCKET,
                    format!("group {id}: {}", r.reason),
                )
            } else {
                r
            }
        })?;
        e.tainted = e.tainted || actions.iter().any(modifies);
        // A pushed tag is popped again: what follows sees the packet as it came.
        if e.tainted && only_pushes_a_tag(actions) {
            e.actions.push(Action::PopVlan);
            e.tainted = false;
        }
        Ok(e)
    }

    /// A list of actions applied in order (apply_actions, a bucket) with its groups
    /// expanded; refused when something outputs after a group left the packet changed.
    fn expand_list(&self, actions: &[Action], depth: usize) -> Result<Expansion, Refusal> {
        let mut out = Vec::with_capacity(actions.len());
        let mut tainted = false;
        for a in actions {
            match a {
                Action::Group(g) => {
                    let e = self.expand_group(*g, depth)?;
                    if tainted && e.actions.iter().any(outputs) {
                        return Err(after_tainted(*g));
                    }
                    tainted |= e.tainted;
                    out.extend(e.actions);
                }
                a => {
                    if tainted && outputs(a) {
                        return Err(after_tainted_out());
                    }
                    out.push(a.clone());
                }
            }
        }
        Ok(Expansion {
            actions: out,
            tainted,
        })
    }

    /// A flow's instructions with its groups expanded (`None`: it has no group action).
    pub(crate) fn expand_instructions(
        &self,
        list: &[Instruction],
    ) -> Result<Option<Vec<Instruction>>, Refusal> {
        let has_group = |a: &[Action]| a.iter().any(|a| matches!(a, Action::Group(_)));
        let any = list.iter().any(|i| match i {
            Instruction::ApplyActions(a) | Instruction::WriteActions(a) => has_group(a),
            _ => false,
        });
        if !any {
            return Ok(None);
        }
        let goto = list.iter().any(|i| matches!(i, Instruction::GotoTable(_)));
        let mut apply: Vec<Action> = Vec::new();
        let mut set: Option<Vec<Action>> = None;
        let mut rest: Vec<Instruction> = Vec::new();
        for i in list {
            match i {
                Instruction::ApplyActions(a) => apply.extend(a.iter().cloned()),
                Instruction::WriteActions(a) if has_group(a) => {
                    if goto {
                        return Err(Refusal::new(
                            bad_instruction::UNSUP_INST,
                            "write_actions together with goto_table: the action set cannot \
                             travel between TC chains",
                        ));
                    }
                    // 5.10: one action per type (one set-field per field), a later one
                    // replacing an earlier one; with a group, output is not executed.
                    let mut s: Vec<Action> = Vec::new();
                    for a in a {
                        let same = |b: &Action| match (a, b) {
                            (Action::SetField(x), Action::SetField(y)) => {
                                x.basic_field() == y.basic_field()
                            }
                            _ => std::mem::discriminant(a) == std::mem::discriminant(b),
                        };
                        s.retain(|b| !same(b));
                        s.push(a.clone());
                    }
                    s.retain(|a| !outputs(a));
                    s.sort_by_key(set_rank);
                    set = Some(s);
                }
                other => rest.push(other.clone()),
            }
        }
        // The action set runs after apply_actions, on the packet as apply_actions left it.
        let all: Vec<Action> = apply
            .iter()
            .cloned()
            .chain(set.into_iter().flatten())
            .collect();
        let e = self.expand_list(&all, 0)?;
        if e.tainted && goto {
            return Err(Refusal::new(
                bad_action::UNSUPPORTED_ORDER,
                "a group bucket changed the packet and goto_table follows: the next table \
                 would see a copy's change",
            ));
        }
        let mut out = Vec::with_capacity(rest.len() + 1);
        out.push(Instruction::ApplyActions(e.actions.into_iter().collect()));
        let set_outputs = rest
            .iter()
            .any(|i| matches!(i, Instruction::WriteActions(a) if a.iter().any(outputs)));
        if e.tainted && set_outputs {
            return Err(after_tainted_out());
        }
        out.extend(rest);
        // Instructions are in the spec's order: meter first.
        out.sort_by_key(|i| match i {
            Instruction::Meter(_) => 0,
            Instruction::ApplyActions(_) => 1,
            Instruction::ClearActions => 2,
            Instruction::WriteActions(_) => 3,
            Instruction::WriteMetadata { .. } => 4,
            Instruction::GotoTable(_) => 5,
            Instruction::Experimenter { .. } => 6,
        });
        Ok(Some(out))
    }

    /// A PACKET_OUT with its groups expanded (`None`: it has no group action).
    pub(crate) fn expand_packet_out(
        &self,
        po: &v13::PacketOut,
    ) -> Result<Option<v13::PacketOut>, Refusal> {
        if !po.actions.iter().any(|a| matches!(a, Action::Group(_))) {
            return Ok(None);
        }
        let e = self.expand_list(&po.actions, 0)?;
        let mut out = po.clone();
        out.actions = e.actions.into_iter().collect();
        Ok(Some(out))
    }

    /// `flow` as the kernel is to have it: its groups expanded.
    pub(crate) fn expand_spec(&self, flow: &FlowSpec) -> Result<FlowSpec, Refusal> {
        if self.groups.is_empty() {
            return Ok(flow.clone());
        }
        let (m, instructions) = flow.decode()?;
        match self.expand_instructions(&instructions)? {
            None => Ok(flow.clone()),
            Some(i) => Ok(FlowSpec::new(
                flow.table_id,
                flow.priority,
                flow.cookie,
                &m,
                &i,
            )),
        }
    }

    /// 7.3.4.2: the checks of a GROUP_MOD ADD or MODIFY against the table as it would be.
    fn check(&self, gm: &v13::GroupMod) -> Result<(), Refusal> {
        let id = gm.group_id;
        if id > v13::OFPG_MAX {
            return Err(Refusal::new(
                group_mod_failed::INVALID_GROUP,
                format!("group id {id:#x} is reserved"),
            ));
        }
        match gm.group_type {
            group_type::ALL | group_type::INDIRECT | group_type::FF => {}
            group_type::SELECT => {
                return Err(Refusal::new(
                    group_mod_failed::BAD_TYPE,
                    format!(
                        "group {id}: select groups are not supported: TC cannot pick a bucket \
                         by a hash of the packet's fields (flower matches skb->hash only as it \
                         happens to be, and no TC action computes it)"
                    ),
                ))
            }
            t => {
                return Err(Refusal::new(
                    group_mod_failed::BAD_TYPE,
                    format!("group {id}: unknown group type {t}"),
                ))
            }
        }
        if gm.group_type == group_type::INDIRECT && gm.buckets.len() != 1 {
            return Err(Refusal::new(
                group_mod_failed::INVALID_GROUP,
                format!(
                    "group {id}: an indirect group has exactly one bucket, not {}",
                    gm.buckets.len()
                ),
            ));
        }
        if gm.buckets.len() > MAX_BUCKETS {
            return Err(Refusal::new(
                group_mod_failed::OUT_OF_BUCKETS,
                format!(
                    "group {id}: {} buckets, this switch takes at most {MAX_BUCKETS}",
                    gm.buckets.len()
                ),
            ));
        }
        for (n, b) in gm.buckets.iter().enumerate() {
            if gm.group_type == group_type::FF {
                if b.watch_port == port::ANY && b.watch_group == v13::OFPG_ANY {
                    return Err(Refusal::new(
                        group_mod_failed::BAD_WATCH,
                        format!("group {id} (fast failover): bucket {n} watches nothing"),
                    ));
                }
                if b.watch_port != port::ANY && (b.watch_port == 0 || b.watch_port > port::MAX) {
                    return Err(Refusal::new(
                        group_mod_failed::BAD_WATCH,
                        format!(
                            "group {id}: bucket {n} watches port {:#x}, not a port whose \
                             liveness this switch knows",
                            b.watch_port
                        ),
                    ));
                }
                if b.watch_group != v13::OFPG_ANY
                    && !self.groups.contains_key(&b.watch_group)
                    && b.watch_group != id
                {
                    return Err(Refusal::new(
                        group_mod_failed::BAD_WATCH,
                        format!(
                            "group {id}: bucket {n} watches group {}, which does not exist",
                            b.watch_group
                        ),
                    ));
                }
            }
            // 7.3.4.2: weight is defined for select groups only; Open vSwitch ignores it
            // elsewhere, and so do we.
            for a in &b.actions {
                check_action(a)?;
                if let Action::Group(g) = a {
                    if *g != id && !self.groups.contains_key(g) {
                        return Err(Refusal::new(
                            bad_action::BAD_OUT_GROUP,
                            format!("group {id}: bucket {n} forwards to group {g}, which does not exist"),
                        ));
                    }
                }
                if let Action::Output { port: p, .. } = a {
                    if *p == port::TABLE {
                        return Err(Refusal::new(
                            bad_action::BAD_OUT_PORT,
                            format!("group {id}: output to TABLE is only valid in packet-out"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether, with `id` as `g`, some group reaches itself (forwarding or watching).
    fn loops(&self, id: u32, g: &Group) -> bool {
        let mut stack: Vec<u32> = g.refers_to().collect();
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if x == id {
                return true;
            }
            if !seen.insert(x) {
                continue;
            }
            if let Some(h) = self.groups.get(&x) {
                stack.extend(h.refers_to());
            }
        }
        false
    }

    /// The groups whose expansion depends on one of `changed` (themselves included).
    fn dependents(&self, changed: &BTreeSet<u32>) -> BTreeSet<u32> {
        let mut out = changed.clone();
        loop {
            let more: Vec<u32> = self
                .groups
                .iter()
                .filter(|(id, g)| !out.contains(id) && g.refers_to().any(|r| out.contains(&r)))
                .map(|(id, _)| *id)
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    }

    /// The flows that forward to one of `groups` (directly).
    fn users(table: &FlowTable, groups: &BTreeSet<u32>) -> BTreeSet<FlowId> {
        table
            .entries()
            .filter(|e| groups.iter().any(|g| e.outputs_to_group(*g)))
            .map(|e| e.id)
            .collect()
    }

    /// The ports that are up (for fast failover), from the switch's port descriptions
    /// (OFPPC_PORT_DOWN and OFPPS_LINK_DOWN both clear).
    fn live_ports_of(sw: &Switch) -> BTreeSet<u32> {
        sw.ports
            .iter()
            .filter(|(_, p)| p.desc.config & 1 == 0 && p.desc.state & 1 == 0)
            .map(|(no, _)| *no)
            .collect()
    }

    /// The fast-failover groups and the bucket each uses now.
    fn ff_choices(&self) -> BTreeMap<u32, Option<usize>> {
        self.groups
            .iter()
            .filter(|(_, g)| g.group_type == group_type::FF)
            .map(|(id, g)| (*id, self.ff_choice(g)))
            .collect()
    }

    /// Packets and bytes through group `id`: the flows that forward to it, and the groups
    /// that forward to it.
    fn count(&self, table: &FlowTable, id: u32, depth: usize) -> (u64, u64) {
        let mut c = self.gone.get(&id).copied().unwrap_or((0, 0));
        for e in table.entries().filter(|e| e.outputs_to_group(id)) {
            c.0 += e.packets();
            c.1 += e.bytes();
        }
        if depth < 32 {
            for (h, g) in &self.groups {
                if *h != id && g.forwards_to(id) {
                    let d = self.count(table, *h, depth + 1);
                    c.0 += d.0;
                    c.1 += d.1;
                }
            }
        }
        c
    }

    /// Flows that left the table: their counts stay with the groups they used.
    pub(crate) fn account(&mut self, gone: &[RemovedFlow]) {
        for r in gone {
            for g in self.groups.keys() {
                if r.entry.outputs_to_group(*g) {
                    let c = self.gone.entry(*g).or_default();
                    c.0 += r.entry.packets();
                    c.1 += r.entry.bytes();
                }
            }
        }
    }

    /// The number of flows and groups that forward to group `id` (7.3.5.9 ref_count).
    fn ref_count(&self, table: &FlowTable, id: u32) -> u32 {
        let flows = table.entries().filter(|e| e.outputs_to_group(id)).count();
        let groups = self.groups.values().filter(|g| g.forwards_to(id)).count();
        (flows + groups) as u32
    }

    /// OFPMP_GROUP (7.3.5.9) for `id` (OFPG_ALL: every group); `None`: no such group.
    /// The table's counters must be fresh.
    pub(crate) fn stats(
        &self,
        table: &FlowTable,
        id: u32,
        now: Instant,
    ) -> Option<Vec<mp::GroupStats>> {
        let ids: Vec<u32> = if id == v13::OFPG_ALL || id == v13::OFPG_ANY {
            self.groups.keys().copied().collect()
        } else if self.groups.contains_key(&id) {
            vec![id]
        } else {
            return None;
        };
        Some(
            ids.into_iter()
                .filter_map(|id| {
                    let g = self.groups.get(&id)?;
                    let c = self.count(table, id, 0);
                    let d = now.saturating_duration_since(g.added);
                    let bucket_stats = (0..g.buckets.len())
                        .map(|n| {
                            let (p, b) = if g.group_type == group_type::FF {
                                let base = g.ff_base.get(n).copied().unwrap_or((0, 0));
                                if g.ff_live == Some(n) {
                                    (
                                        base.0 + c.0.saturating_sub(g.ff_mark.0),
                                        base.1 + c.1.saturating_sub(g.ff_mark.1),
                                    )
                                } else {
                                    base
                                }
                            } else {
                                c
                            };
                            mp::BucketCounter {
                                packet_count: p,
                                byte_count: b,
                            }
                        })
                        .collect();
                    Some(mp::GroupStats {
                        group_id: id,
                        ref_count: self.ref_count(table, id),
                        packet_count: c.0,
                        byte_count: c.1,
                        duration_sec: d.as_secs() as u32,
                        duration_nsec: d.subsec_nanos(),
                        bucket_stats,
                    })
                })
                .collect(),
        )
    }

    /// OFPMP_GROUP_DESC (7.3.5.10).
    pub(crate) fn desc(&self) -> Vec<mp::GroupDesc> {
        self.groups
            .iter()
            .map(|(id, g)| mp::GroupDesc {
                group_type: g.group_type,
                group_id: *id,
                buckets: g.buckets.clone(),
            })
            .collect()
    }

    /// OFPMP_GROUP_FEATURES (7.3.5.11): all, indirect and fast failover (no select), with
    /// chaining and its checks; the actions a bucket may hold are those the TC
    /// translation carries out.
    pub(crate) fn features() -> mp::GroupFeatures {
        let actions: u32 = [
            Action::Output {
                port: 0,
                max_len: 0,
            },
            Action::PushVlan(0),
            Action::PopVlan,
            Action::Group(0),
            Action::SetNwTtl(0),
            Action::DecNwTtl,
        ]
        .iter()
        .map(Action::action_type)
        .chain([v13::action::action_type::SET_FIELD])
        .fold(0, |m, t| m | 1u32 << t);
        let n = MAX_GROUPS as u32;
        mp::GroupFeatures {
            types: 1 << group_type::ALL | 1 << group_type::INDIRECT | 1 << group_type::FF,
            capabilities: OFPGFC_CHAINING | OFPGFC_CHAINING_CHECKS,
            max_groups: [n, 0, n, n],
            actions: [actions, 0, actions, actions],
        }
    }
}

/// Refusal for an output after a group whose bucket changed the packet.
fn after_tainted(g: u32) -> Refusal {
    Refusal::new(
        bad_action::UNSUPPORTED_ORDER,
        format!(
            "group {g} outputs after a group bucket changed the packet: TC would send the \
             changed packet, where OpenFlow sends the original"
        ),
    )
}

fn after_tainted_out() -> Refusal {
    Refusal::new(
        bad_action::UNSUPPORTED_ORDER,
        "an output follows a group whose bucket changed the packet: TC would send the changed \
         packet, where OpenFlow sends the original",
    )
}

/// The kernel's backend with groups expanded on the way in: what the flow table drives
/// when the switch has groups. Everything but installing passes through.
pub(crate) struct Expanding<'a> {
    pub(crate) inner: &'a mut dyn Backend,
    pub(crate) groups: &'a GroupTable,
}

impl Backend for Expanding<'_> {
    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        let f = self.groups.expand_spec(flow)?;
        self.inner.install(id, &f)
    }

    fn install_many(&mut self, flows: &[(FlowId, &FlowSpec)]) -> Vec<Result<(), Refusal>> {
        let expanded: Vec<Result<FlowSpec, Refusal>> = flows
            .iter()
            .map(|(_, f)| self.groups.expand_spec(f))
            .collect();
        let ok: Vec<(FlowId, &FlowSpec)> = flows
            .iter()
            .zip(&expanded)
            .filter_map(|((id, _), e)| e.as_ref().ok().map(|f| (*id, f)))
            .collect();
        let mut res = self.inner.install_many(&ok).into_iter();
        expanded
            .iter()
            .map(|e| match e {
                Err(r) => Err(r.clone()),
                Ok(_) => res.next().unwrap_or(Ok(())),
            })
            .collect()
    }

    fn remove(&mut self, id: FlowId) {
        self.inner.remove(id);
    }

    fn counters(&mut self, now: Instant) -> HashMap<FlowId, Counters> {
        self.inner.counters(now)
    }

    fn counters_with_last_use(&mut self, now: Instant) -> HashMap<FlowId, Counters> {
        self.inner.counters_with_last_use(now)
    }

    fn set_ports(&mut self, ports: &PortMap) {
        self.inner.set_ports(ports);
    }

    fn set_meters(&mut self, meters: &MeterTable) {
        self.inner.set_meters(meters);
    }

    fn remove_leftovers(&mut self) {
        self.inner.remove_leftovers();
    }

    fn packet_in_flow(&self, group: u32) -> Option<tc_datapath::PacketInFlow> {
        self.inner.packet_in_flow(group)
    }
}

impl Switch {
    /// The flow table, and the backend it is to drive (groups expanded on the way).
    pub(crate) fn table_and_backend(&mut self) -> (&mut FlowTable, Expanding<'_>) {
        (
            &mut self.table,
            Expanding {
                inner: self.backend.as_mut(),
                groups: &self.groups,
            },
        )
    }

    /// Install again the flows that use one of `changed` (or a group that depends on
    /// one); `Err` if the kernel side refused one (then every flow is as it was).
    fn reinstall_group_users(
        &mut self,
        changed: &BTreeSet<u32>,
        now: Instant,
    ) -> Result<usize, Refusal> {
        let deps = self.groups.dependents(changed);
        let users = GroupTable::users(&self.table, &deps);
        if users.is_empty() {
            return Ok(0);
        }
        let (table, mut b) = self.table_and_backend();
        table.reinstall_where(|e: &FlowEntry| users.contains(&e.id), &mut b, now)
    }

    /// Carry out a GROUP_MOD (7.3.4.2). `Ok` lists the flows removed with a deleted group
    /// (7.3.4.2: "any flow entries that forward to it are also removed").
    pub(crate) fn group_mod(
        &mut self,
        gm: &v13::GroupMod,
        now: Instant,
    ) -> Result<Vec<RemovedFlow>, Refusal> {
        use v13::GroupModCommand as C;
        let id = gm.group_id;
        if gm.command == C::Delete {
            let ids: Vec<u32> = if id == v13::OFPG_ALL {
                self.groups.groups.keys().copied().collect()
            } else if self.groups.contains(id) {
                // 7.4.4: a group another group forwards to is not deleted.
                if let Some((h, _)) = self
                    .groups
                    .groups
                    .iter()
                    .find(|(h, g)| **h != id && g.refers_to().any(|r| r == id))
                {
                    return Err(Refusal::new(
                        group_mod_failed::CHAINED_GROUP,
                        format!("group {id}: group {h} forwards to it or watches it"),
                    ));
                }
                vec![id]
            } else {
                // Deleting a group that does not exist is no error.
                Vec::new()
            };
            let mut gone = Vec::new();
            for g in &ids {
                let sel = Selector {
                    table_id: v13::OFPTT_ALL,
                    strict: false,
                    priority: 0,
                    key: MatchKey::of(&v13::Match::default()),
                    cookie: 0,
                    cookie_mask: 0,
                    out_port: port::ANY,
                    out_group: *g,
                };
                let (table, mut b) = self.table_and_backend();
                gone.extend(table.delete(&sel, v13::OFPRR_GROUP_DELETE, &mut b, now));
            }
            for g in ids {
                self.groups.groups.remove(&g);
                self.groups.gone.remove(&g);
            }
            self.table.set_group_ids(self.groups.groups.keys().copied());
            return Ok(gone);
        }
        let exists = self.groups.contains(id);
        let command = match (gm.command, exists) {
            (C::Add, true) => {
                return Err(Refusal::new(
                    group_mod_failed::GROUP_EXISTS,
                    format!("group {id} exists"),
                ))
            }
            (C::Modify, false) => {
                return Err(Refusal::new(
                    group_mod_failed::UNKNOWN_GROUP,
                    format!("no group {id}"),
                ))
            }
            (C::AddOrModify, e) | (C::Add, e) | (C::Modify, e) => {
                if e {
                    C::Modify
                } else {
                    C::Add
                }
            }
            (C::Delete, _) => C::Delete,
        };
        self.groups.check(gm)?;
        if command == C::Add && self.groups.groups.len() >= MAX_GROUPS {
            return Err(Refusal::new(
                group_mod_failed::OUT_OF_GROUPS,
                format!("this switch holds {MAX_GROUPS} groups already"),
            ));
        }
        let mut g = Group::new(gm, now);
        if self.groups.loops(id, &g) {
            return Err(Refusal::new(
                group_mod_failed::LOOP,
                format!("group {id} would forward to or watch itself, through its buckets"),
            ));
        }
        let old = self.groups.groups.get(&id).cloned();
        if let Some(o) = &old {
            // 7.3.4.2: MODIFY keeps the group's counters (and its age).
            g.added = o.added;
        }
        g.ff_live = self.groups.ff_choice(&g);
        self.groups.groups.insert(id, g);
        // A bucket that contradicts itself is refused now, whether or not a flow uses the
        // group yet.
        if let Err(r) = self.groups.expand_group(id, 0) {
            self.put_back(id, old);
            return Err(r);
        }
        if command == C::Modify {
            let changed = BTreeSet::from([id]);
            if let Err(r) = self.reinstall_group_users(&changed, now) {
                self.put_back(id, old);
                return Err(Refusal::new(
                    r.error,
                    format!("group {id}: a flow that uses it: {}", r.reason),
                ));
            }
        }
        self.table.set_group_ids(self.groups.groups.keys().copied());
        Ok(Vec::new())
    }

    fn put_back(&mut self, id: u32, old: Option<Group>) {
        match old {
            Some(o) => self.groups.groups.insert(id, o),
            None => self.groups.groups.remove(&id),
        };
    }

    /// The ports changed (a link went up or down, a port came or went): fast-failover
    /// groups whose live bucket changed move to the new one, and the flows that use them
    /// are installed again, without the controller (5.8).
    pub(crate) fn ports_changed(&mut self, now: Instant) {
        let live = GroupTable::live_ports_of(self);
        if live == self.groups.live_ports {
            return;
        }
        let before = self.groups.ff_choices();
        self.groups.live_ports = live;
        let after = self.groups.ff_choices();
        let changed: BTreeSet<u32> = after
            .iter()
            .filter(|(id, c)| before.get(id) != Some(c))
            .map(|(id, _)| *id)
            .collect();
        if changed.is_empty() {
            return;
        }
        self.table.refresh(self.backend.as_mut(), now);
        for id in &changed {
            let c = self.groups.count(&self.table, *id, 0);
            let Some(g) = self.groups.groups.get_mut(id) else {
                continue;
            };
            if let Some(n) = g.ff_live {
                if let Some(b) = g.ff_base.get_mut(n) {
                    b.0 += c.0.saturating_sub(g.ff_mark.0);
                    b.1 += c.1.saturating_sub(g.ff_mark.1);
                }
            }
            g.ff_mark = c;
            g.ff_live = after.get(id).copied().flatten();
            match g.ff_live {
                Some(n) => tracing::info!("group {id} (fast failover): now bucket {n}"),
                None => tracing::info!("group {id} (fast failover): no live bucket, drops"),
            }
        }
        if let Err(r) = self.reinstall_group_users(&changed, now) {
            tracing::warn!("fast failover: installing the flows of groups {changed:?}: {r}");
        }
    }

    /// A FLOW_MOD's group actions must name groups that exist (7.3.4.1:
    /// OFPBAC_BAD_OUT_GROUP).
    pub(crate) fn check_flow_groups(&self, fm: &v13::FlowMod) -> Result<(), Refusal> {
        for i in &fm.instructions {
            if let Instruction::ApplyActions(a) | Instruction::WriteActions(a) = i {
                for a in a {
                    if let Action::Group(g) = a {
                        if !self.groups.contains(*g) {
                            return Err(Refusal::new(
                                bad_action::BAD_OUT_GROUP,
                                format!("group {g} does not exist"),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The encoded size of one `ofp_group_desc`, for cutting replies.
pub(crate) fn desc_len(g: &mp::GroupDesc) -> usize {
    8 + g
        .buckets
        .iter()
        .map(|b| 16 + b.actions.iter().map(Action::wire_len).sum::<usize>())
        .sum::<usize>()
}

#[cfg(test)]
mod tests;
