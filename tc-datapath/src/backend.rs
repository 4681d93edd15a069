//! What a flow table asks of whatever puts its flows into the kernel: the [`Backend`]
//! trait, narrow, and [`NormalOnly`], the backend of a switch that has no kernel table.
//!
//! The flow table (switchd's `datapath/flowtable.rs`) owns OpenFlow's semantics: which
//! entries exist, which a FLOW_MOD adds, replaces, modifies or deletes, timeouts, cookies,
//! counters carried across a modify. The backend (the kernel `Table`) only makes one entry
//! real in the kernel, or takes it away, and reads counters. Each entry is known to the
//! backend by a [`FlowId`] that the table never reuses; a MODIFY installs the new version
//! under a new id before the old one is removed, so a refusal leaves the kernel as it was.
//!
//! The calls are synchronous on purpose: the agent is sans-IO, and the outcome of a
//! FLOW_MOD (an OFPT_ERROR or not) must be known before the next message is processed, so
//! that BARRIER means what it says. [`crate::Tc`] is a blocking NETLINK_ROUTE socket whose
//! batches keep many requests in flight.

use std::collections::HashMap;
use std::time::Instant;

use ofproto::v13;

use crate::filter::Filter;
use crate::flow::{Counters, FlowId, FlowSpec, PacketInFlow, Refusal};
use crate::meter::MeterTable;
use crate::ports::PortMap;

/// The kernel side of a local switch's flow table.
pub trait Backend {
    /// Make flow `id` real. `Err` leaves nothing of it behind; the FLOW_MOD that asked for
    /// it gets `Refusal::error` and the table stays as it was.
    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal>;

    /// Make many flows real at once, each as [`Backend::install`] would: one result per
    /// flow, in order; a refused flow leaves nothing of it behind and the others in. The
    /// default installs them one by one.
    fn install_many(&mut self, flows: &[(FlowId, &FlowSpec)]) -> Vec<Result<(), Refusal>> {
        flows.iter().map(|(id, f)| self.install(*id, f)).collect()
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

    /// Per table, the packets that reached it and that none of its flows matched, as of
    /// the last [`Backend::counters`] (the kernel's counters of its table-miss filters). A
    /// table missing from the list has seen no miss. The default: `None`, not known.
    fn table_misses(&self) -> Option<Vec<(u8, u64)>> {
        None
    }

    /// The bridge's ports changed; the implementation applies its installed flows to a
    /// port that appeared (TC filters live on each port's ingress). The default does
    /// nothing.
    fn set_ports(&mut self, _ports: &PortMap) {}

    /// The switch's meters changed (a METER_MOD): flows installed from now on use these.
    /// The flow table installs the flows that use a changed meter again. The default does
    /// nothing.
    fn set_meters(&mut self, _meters: &MeterTable) {}

    /// The configured flows are in: whatever an earlier run left in the kernel and no
    /// flow claimed is removed now (and, from now on, at once when a port appears).
    fn remove_leftovers(&mut self) {}

    /// The filters of the switch's injection pair's far end (ifindex `far`, named
    /// `far_name`) are to be `filters` and nothing else: the backend keeps them as it keeps
    /// flows (adopted by cookie after a restart, changed in place). `false`: some were
    /// refused (logged); the caller tries again at the next change. The default has none.
    fn set_injection(&mut self, _far: u32, _far_name: &str, _filters: &[Filter]) -> bool {
        false
    }

    /// What the operator is to be told about this kernel table (`switchctl show switches`):
    /// the ports it leaves alone, and why. The default: nothing.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// The flow whose output to CONTROLLER sampled a packet into psample group `group`
    /// (see the `psample` module), if this backend installed one. The default: none.
    fn packet_in_flow(&self, _group: u32) -> Option<PacketInFlow> {
        None
    }

    /// The switch goes away: take away every flow and whatever else the backend put into
    /// the kernel for them (TC's table-miss filters).
    fn release(&mut self) {}
}

/// The backend of a switch that has no kernel table (a local switch that is unavailable,
/// or the observer's view of a forwarded one): it accepts only flows that need nothing from
/// the kernel, i.e. a table-miss entry (priority 0, empty match) whose one action is
/// output:NORMAL, which is what the Linux bridge does without any filter. Everything else
/// is refused with a sentence saying so, never pretended. It knows no counters (a bridge
/// forwarding on its own counts nothing per flow).
#[derive(Debug, Default)]
pub struct NormalOnly;

impl Backend for NormalOnly {
    fn install(&mut self, _id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        let normal_only = matches!(
            &flow.instructions()[..],
            [v13::Instruction::ApplyActions(a)]
                if matches!(&a[..], [v13::Action::Output { port, .. }] if *port == v13::port::NORMAL)
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
                "this switch has no flow table in the kernel (see the log for why): it \
                 takes only the table-miss flow with actions=NORMAL",
            ))
        }
    }

    fn remove(&mut self, _id: FlowId) {}

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}
