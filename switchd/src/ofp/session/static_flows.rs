//! The configuration's static flows for a switch: installed with [`STATIC_COOKIE`] once
//! the switch is known, the difference applied on a reload, and the switch's refusals
//! reported as [`SessionEvent::StaticFlowFailed`].

use ofproto::{v10, v13};

use super::{port13, AnyFlowMod, PendingMod, Session, SessionEvent, State, OFPG_ANY};
use crate::ctlproto::FlowCommand;

/// The cookie of the configuration's static flows ("SWDL" + 2): a reload deletes the
/// removed ones by it, never someone else's.
pub(crate) const STATIC_COOKIE: u64 = 0x5357_444c_0000_0002;

impl Session {
    /// The configuration's static flows for this switch. Before the handshake they are only
    /// kept (installed on connect); on a ready switch the difference is applied: the removed
    /// ones deleted (strictly, and in 1.3 only if they carry [`STATIC_COOKIE`]), the new ones
    /// added.
    pub(crate) fn set_static_flows(&mut self, flows: Vec<String>) {
        let old = std::mem::replace(&mut self.static_flows, flows);
        if self.state != State::Ready || !self.ep.is_open() || old == self.static_flows {
            return;
        }
        let removed: Vec<String> = old
            .iter()
            .filter(|f| !self.static_flows.contains(f))
            .cloned()
            .collect();
        let added: Vec<String> = self
            .static_flows
            .iter()
            .filter(|f| !old.contains(f))
            .cloned()
            .collect();
        let mut sent = Vec::new();
        for f in &removed {
            // A flow that does not parse could not have been installed either.
            if let Ok(m) = self.static_mod(f, true) {
                sent.push((self.send_any(&m), f.clone()));
            }
        }
        for f in &added {
            if let Some(x) = self.send_static_add(f) {
                sent.push((x, f.clone()));
            }
        }
        self.track_static(sent);
    }

    /// Install the static flows for this switch, once [`SessionEvent::Connected`] has said
    /// which switch it is: in 1.3 the ones a previous connection left are deleted first (by
    /// cookie), so that a flow removed from the configuration while the switch was away
    /// does not stay; 1.0 deleted every flow at the start of learning already.
    pub(crate) fn install_static_flows(&mut self, flows: Vec<String>) {
        self.static_flows = flows;
        let Some(d) = self.dialect().filter(|_| self.state == State::Ready) else {
            return;
        };
        if !self.ep.is_open() || (self.static_flows.is_empty() && !d.deletes_static()) {
            return;
        }
        d.delete_static(&mut self.ep);
        let mut sent = Vec::new();
        for f in self.static_flows.clone() {
            if let Some(x) = self.send_static_add(&f) {
                sent.push((x, f));
            }
        }
        self.track_static(sent);
    }

    /// Send one static flow as an ADD; a flow that does not parse for this version is
    /// reported, not sent.
    pub(super) fn send_static_add(&mut self, flow: &str) -> Option<u32> {
        match self.static_mod(flow, false) {
            Ok(m) => Some(self.send_any(&m)),
            Err(error) => {
                self.events.push_back(SessionEvent::StaticFlowFailed {
                    flow: flow.to_string(),
                    error,
                });
                None
            }
        }
    }

    /// Follow the static flow-mods `sent` (xid, text) with a barrier, so that errors for
    /// them can be told apart from everything else until it is answered.
    fn track_static(&mut self, sent: Vec<(u32, String)>) {
        let barrier = self.send_barrier_xid();
        for (xid, flow) in sent {
            self.pending_mods.insert(
                xid,
                PendingMod {
                    barrier,
                    flow,
                    from_ctl: false,
                },
            );
        }
    }

    /// A static flow as an ADD with [`STATIC_COOKIE`], or (`delete`) the strict delete of
    /// exactly that flow.
    fn static_mod(&self, flow: &str, delete: bool) -> Result<AnyFlowMod, String> {
        let m = self.parse_flow(flow, FlowCommand::Add)?;
        Ok(match m {
            AnyFlowMod::V13(mut f) => {
                f.cookie = STATIC_COOKIE;
                if delete {
                    f.command = v13::FlowModCommand::DeleteStrict;
                    f.cookie_mask = u64::MAX;
                    f.out_port = port13::ANY;
                    f.out_group = OFPG_ANY;
                    f.instructions = Default::default();
                }
                AnyFlowMod::V13(f)
            }
            AnyFlowMod::V10(mut f) => {
                f.cookie = STATIC_COOKIE;
                if delete {
                    // 1.0 deletes cannot filter by cookie: match and priority only.
                    f.command = v10::FlowModCommand::DeleteStrict;
                    f.out_port = v10::port_no::NONE;
                    f.actions = Vec::new();
                }
                AnyFlowMod::V10(f)
            }
        })
    }
}
