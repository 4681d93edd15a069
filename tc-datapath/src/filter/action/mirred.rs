//! act_mirred: redirect or mirror the packet to a device's egress or ingress.

use super::{after_tc_gen, tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// What act_mirred does with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MirredKind {
    /// Send it out of the device; the filter's processing ends (OpenFlow's last output).
    EgressRedirect,
    /// Send a copy out of the device and go on with the next action.
    EgressMirror,
    /// Hand it to the device's receive path (OpenFlow LOCAL on the bridge device).
    IngressRedirect,
}

/// `TCA_MIRRED_PARMS`: struct tc_mirred { tc_gen, eaction, ifindex }.
pub(super) fn encode(kind: MirredKind, ifindex: u32, index: u32, w: &mut NlaWriter) {
    let (act, eaction) = match kind {
        MirredKind::EgressRedirect => (TC_ACT_STOLEN, TCA_EGRESS_REDIR),
        MirredKind::EgressMirror => (TC_ACT_PIPE, TCA_EGRESS_MIRROR),
        MirredKind::IngressRedirect => (TC_ACT_STOLEN, TCA_INGRESS_REDIR),
    };
    w.put_parts(
        TCA_MIRRED_PARMS,
        &[
            &tc_gen(index, act),
            &eaction.to_ne_bytes(),
            &ifindex.to_ne_bytes(),
        ],
    );
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_MIRRED_PARMS)
        .ok_or(NlaError("mirred without parameters"))?;
    let eaction = after_tc_gen(p)?;
    let ifindex = nla::get_u32(p.get(24..).unwrap_or(&[]))?;
    let kind = match eaction {
        TCA_EGRESS_REDIR => MirredKind::EgressRedirect,
        TCA_EGRESS_MIRROR => MirredKind::EgressMirror,
        TCA_INGRESS_REDIR => MirredKind::IngressRedirect,
        _ => return Ok(None),
    };
    Ok(Some(TcAction::Mirred { kind, ifindex }))
}
