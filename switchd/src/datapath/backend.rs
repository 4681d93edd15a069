//! What the flow table asks of whatever puts its flows into the kernel: the [`Backend`]
//! trait, kept narrow so that tc-datapath (OpenFlow to TC flower) plugs in behind it.
//!
//! The flow table (`flowtable.rs`) owns OpenFlow's semantics: which entries exist, which a
//! FLOW_MOD adds, replaces, modifies or deletes, timeouts, cookies, counters carried across
//! a modify. The backend only makes one entry real in the kernel, or takes it away, and
//! reads counters. Each entry is known to the backend by a [`FlowId`] that the table never
//! reuses; a MODIFY installs the new version under a new id before the old one is removed,
//! so a refusal leaves the kernel as it was.
//!
//! The calls are synchronous on purpose: the agent is sans-IO, and the outcome of a
//! FLOW_MOD (an OFPT_ERROR or not) must be known before the next message is processed, so
//! that BARRIER means what it says. Netlink round trips take well under a millisecond; an
//! implementation can use a blocking NETLINK_ROUTE socket (`netlink-sys`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use ofproto::v13;
use ofproto::OfpErrorCode;

/// The table's name for one installed version of a flow entry; never reused.
pub type FlowId = u64;

/// A flow as the kernel side needs it (the input of tc-datapath's `translate`).
///
/// The match and instructions are kept in their wire encoding, shared between the flow
/// table and the backend: the decoded trees (`Match`, `InstructionList`, with their inline
/// small vectors) take about 750 bytes, the encoding about 50 for a typical flow, and a
/// local switch keeps up to [`super::flowtable::MAX_ENTRIES`] of them. They are decoded
/// when needed: to translate, for flow stats and FLOW_REMOVED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    pub table_id: u8,
    pub priority: u16,
    pub cookie: u64,
    /// `ofp_match` (padded) then the instructions, as ofproto's
    /// `encode_match_instructions` writes them.
    wire: Arc<[u8]>,
}

impl FlowSpec {
    pub fn new(
        table_id: u8,
        priority: u16,
        cookie: u64,
        match_: &v13::Match,
        instructions: &[v13::Instruction],
    ) -> FlowSpec {
        let mut b = BytesMut::with_capacity(match_.wire_len() + 64);
        v13::instruction::encode_match_instructions(match_, instructions, &mut b);
        FlowSpec {
            table_id,
            priority,
            cookie,
            wire: Arc::from(&b[..]),
        }
    }

    /// The same flow with other instructions (a MODIFY).
    pub fn with_instructions(&self, instructions: &[v13::Instruction]) -> FlowSpec {
        FlowSpec::new(
            self.table_id,
            self.priority,
            self.cookie,
            &self.match_(),
            instructions,
        )
    }

    /// The match and the instructions, decoded. They were encoded by [`FlowSpec::new`],
    /// so an error here is a bug in ofproto's codec; callers that act on the flow (the
    /// translation) refuse it then, rather than act on a wrong one.
    pub fn decode(&self) -> Result<(v13::Match, v13::InstructionList), Refusal> {
        v13::instruction::decode_match_instructions(&bytes::Bytes::copy_from_slice(&self.wire))
            .map(|(m, i, _)| (m, i))
            .map_err(|e| {
                Refusal::new(
                    ofproto::v13::errors::flow_mod_failed::UNKNOWN,
                    format!("the flow's own encoding does not decode: {e}"),
                )
            })
    }

    /// `f` of this flow decoded, as tc-datapath takes it (to translate, or hash).
    pub fn with_decoded<R>(
        &self,
        f: impl FnOnce(&tc_datapath::FlowSpec<'_>) -> R,
    ) -> Result<R, Refusal> {
        let (m, instructions) = self.decode()?;
        Ok(f(&tc_datapath::FlowSpec {
            table_id: self.table_id,
            priority: self.priority,
            cookie: self.cookie,
            r#match: &m,
            instructions: &instructions[..],
        }))
    }

    /// The match (empty if it does not decode, see [`FlowSpec::decode`]).
    pub fn match_(&self) -> v13::Match {
        self.decode().map(|(m, _)| m).unwrap_or_default()
    }

    /// The instructions (none if they do not decode, see [`FlowSpec::decode`]).
    pub fn instructions(&self) -> v13::InstructionList {
        self.decode().map(|(_, i)| i).unwrap_or_default()
    }

    /// The `ofp_match` in its wire encoding, padding included.
    pub fn match_wire(&self) -> &[u8] {
        let len = self
            .wire
            .get(2..4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .unwrap_or(0);
        let padded = len.div_ceil(8) * 8;
        &self.wire[..padded.min(self.wire.len())]
    }

    /// Heap bytes this spec holds (shared with its clones).
    pub fn heap_bytes(&self) -> usize {
        self.wire.len()
    }
}

/// Why a flow (or a meter) cannot be installed: the OpenFlow error the FLOW_MOD is answered
/// with, and a sentence for the log (for a kernel refusal, the kernel's own words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: OfpErrorCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(error: OfpErrorCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            error,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (OpenFlow error type {} code {})",
            self.reason, self.error.err_type, self.error.code
        )
    }
}

/// Counters of one installed flow, as the kernel has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    /// When a packet last hit the flow (TC's `lastused`, turned into an instant by the
    /// backend); `None` if never or unknown.
    pub last_used: Option<Instant>,
}

/// Configured meters by id: the METER_MODs as they were accepted (their `command` is
/// meaningless here). tc-datapath turns a meter instruction into a police action from it.
pub type MeterTable = BTreeMap<u32, v13::MeterMod>;

/// A switch port as the backend needs it: OpenFlow port number to kernel interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub name: String,
    pub ifindex: u32,
}

/// What a PACKET_IN says of the flow that sent the packet to the controller (7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInFlow {
    pub table_id: u8,
    pub cookie: u64,
    pub priority: u16,
    /// OFPR_NO_MATCH (0) for a table-miss entry (priority 0, empty match), else
    /// OFPR_ACTION (1).
    pub reason: u8,
}

impl PacketInFlow {
    /// The flow's PACKET_IN fields, if it outputs to CONTROLLER.
    pub fn of(flow: &FlowSpec) -> Option<PacketInFlow> {
        let to_controller = |l: &v13::ActionList| {
            l.iter().any(|a| {
                matches!(a, v13::Action::Output { port, .. }
                    if *port == ofproto::v13::port::CONTROLLER)
            })
        };
        let (m, instructions) = flow.decode().ok()?;
        let any = instructions.iter().any(|i| match i {
            v13::Instruction::ApplyActions(l) | v13::Instruction::WriteActions(l) => {
                to_controller(l)
            }
            _ => false,
        });
        any.then(|| PacketInFlow {
            table_id: flow.table_id,
            cookie: flow.cookie,
            priority: flow.priority,
            reason: if flow.priority == 0 && m.fields.is_empty() {
                0
            } else {
                1
            },
        })
    }
}

/// OpenFlow port numbers of the bridge's ports.
pub type PortMap = BTreeMap<u32, PortBinding>;

/// The kernel side of a local switch's flow table.
pub trait Backend {
    /// Make flow `id` real. `Err` leaves nothing of it behind; the FLOW_MOD (or METER_MOD)
    /// that asked for it gets `Refusal::error` and the table stays as it was.
    fn install(&mut self, id: FlowId, flow: &FlowSpec, meters: &MeterTable) -> Result<(), Refusal>;

    /// Make many flows real at once, each as [`Backend::install`] would: one result per
    /// flow, in order; a refused flow leaves nothing of it behind and the others in. The
    /// default installs them one by one.
    fn install_many(
        &mut self,
        flows: &[(FlowId, &FlowSpec)],
        meters: &MeterTable,
    ) -> Vec<Result<(), Refusal>> {
        flows
            .iter()
            .map(|(id, f)| self.install(*id, f, meters))
            .collect()
    }

    /// Take flow `id` away. Cannot fail from OpenFlow's point of view; an implementation
    /// logs what the kernel says (a port that vanished took its filters with it).
    fn remove(&mut self, id: FlowId);

    /// The counters of every installed flow that has any; an id that is missing counts
    /// zero. Called for stats requests and when an idle timeout may have passed.
    fn counters(&mut self, now: Instant) -> HashMap<FlowId, Counters>;

    /// [`Backend::counters`] with each flow's time of last use as exact as the backend
    /// can have it, for judging idle timeouts (`counters` may leave `last_used` out when
    /// that is much cheaper; a count that grew then stands for use "now"). The default
    /// is `counters`.
    fn counters_with_last_use(&mut self, now: Instant) -> HashMap<FlowId, Counters> {
        self.counters(now)
    }

    /// The bridge's ports changed; the implementation applies its installed flows to a
    /// port that appeared (TC filters live on each port's ingress). The default does
    /// nothing.
    fn set_ports(&mut self, _ports: &PortMap) {}

    /// The configured flows are in: whatever an earlier run left in the kernel and no
    /// flow claimed is removed now (and, from now on, at once when a port appears).
    fn remove_leftovers(&mut self) {}

    /// The flow whose output to CONTROLLER sampled a packet into psample group `group`
    /// (see `tc_datapath::psample`), if this backend installed one. The default: none.
    fn packet_in_flow(&self, _group: u32) -> Option<PacketInFlow> {
        None
    }

    /// The switch goes away: take away every flow and whatever else the backend put into
    /// the kernel for them (TC's table-miss filters).
    fn release(&mut self) {}
}

/// The backend a local switch runs with until tc-datapath is plugged in: it accepts only
/// flows that need nothing from the kernel, i.e. a table-miss entry (priority 0, empty
/// match) whose one action is output:NORMAL, which is what the Linux bridge does without
/// any filter. Everything else is refused with a sentence saying so, never pretended.
/// It knows no counters (a bridge forwarding on its own counts nothing per flow).
#[derive(Debug, Default)]
pub struct NormalOnly;

impl Backend for NormalOnly {
    fn install(&mut self, _id: FlowId, flow: &FlowSpec, _: &MeterTable) -> Result<(), Refusal> {
        let normal_only = matches!(
            &flow.instructions()[..],
            [v13::Instruction::ApplyActions(a)]
                if matches!(&a[..], [v13::Action::Output { port, .. }] if *port == crate::datapath::flowtable::port::NORMAL)
        );
        if flow.table_id == 0
            && flow.priority == 0
            && flow.match_().fields.is_empty()
            && normal_only
        {
            Ok(())
        } else {
            // OFPET_FLOW_MOD_FAILED / OFPFMFC_EPERM: the switch does not permit it.
            Err(Refusal::new(
                ofproto::v13::errors::flow_mod_failed::EPERM,
                "this switchd has no TC translation yet: a local switch takes only the \
                 table-miss flow with actions=NORMAL",
            ))
        }
    }

    fn remove(&mut self, _id: FlowId) {}

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}

/// A backend that keeps flows in memory, for unit tests: it can be told to refuse, and
/// its counters are set by the test.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct InMemory {
    pub installed: BTreeMap<FlowId, FlowSpec>,
    pub counters: HashMap<FlowId, Counters>,
    /// Refuse every install with this error while set.
    pub refuse: Option<Refusal>,
    /// Refuse the installs of flows of this priority with this error.
    pub refuse_priority: Option<(u16, Refusal)>,
    pub ports: PortMap,
}

#[cfg(test)]
impl Backend for InMemory {
    fn install(&mut self, id: FlowId, flow: &FlowSpec, _: &MeterTable) -> Result<(), Refusal> {
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

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        self.counters.clone()
    }

    fn set_ports(&mut self, ports: &PortMap) {
        self.ports = ports.clone();
    }
}
