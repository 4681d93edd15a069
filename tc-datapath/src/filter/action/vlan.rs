//! act_vlan: pop, push or modify the outer VLAN tag.

use super::{after_tc_gen, tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// `TCA_VLAN_PARMS`: struct tc_vlan { tc_gen, v_action }.
fn parms(v_action: i32, index: u32, w: &mut NlaWriter) {
    w.put_parts(
        TCA_VLAN_PARMS,
        &[&tc_gen(index, TC_ACT_PIPE), &v_action.to_ne_bytes()],
    );
}

pub(super) fn encode_pop(index: u32, w: &mut NlaWriter) {
    parms(TCA_VLAN_ACT_POP, index, w);
}

pub(super) fn encode_push(vid: u16, pcp: Option<u8>, tpid: u16, index: u32, w: &mut NlaWriter) {
    parms(TCA_VLAN_ACT_PUSH, index, w);
    w.u16(TCA_VLAN_PUSH_VLAN_ID, vid);
    w.be16(TCA_VLAN_PUSH_VLAN_PROTOCOL, tpid);
    if let Some(pcp) = pcp {
        w.u8(TCA_VLAN_PUSH_VLAN_PRIORITY, pcp);
    }
}

pub(super) fn encode_modify(vid: u16, pcp: Option<u8>, tpid: u16, index: u32, w: &mut NlaWriter) {
    parms(TCA_VLAN_ACT_MODIFY, index, w);
    w.u16(TCA_VLAN_PUSH_VLAN_ID, vid);
    w.be16(TCA_VLAN_PUSH_VLAN_PROTOCOL, tpid);
    if let Some(pcp) = pcp {
        w.u8(TCA_VLAN_PUSH_VLAN_PRIORITY, pcp);
    }
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_VLAN_PARMS)
        .ok_or(NlaError("vlan without parameters"))?;
    let v_action = after_tc_gen(p)?;
    let vid = o.get(TCA_VLAN_PUSH_VLAN_ID).map(nla::get_u16).transpose()?;
    let pcp = o
        .get(TCA_VLAN_PUSH_VLAN_PRIORITY)
        .map(nla::get_u8)
        .transpose()?;
    let tpid = o
        .get(TCA_VLAN_PUSH_VLAN_PROTOCOL)
        .map(nla::get_be16)
        .transpose()?
        .unwrap_or(0x8100);
    Ok(match v_action {
        TCA_VLAN_ACT_POP => Some(TcAction::VlanPop),
        TCA_VLAN_ACT_PUSH => Some(TcAction::VlanPush {
            vid: vid.unwrap_or(0),
            pcp,
            tpid,
        }),
        TCA_VLAN_ACT_MODIFY => Some(TcAction::VlanModify {
            vid: vid.unwrap_or(0),
            pcp,
            tpid,
        }),
        _ => None,
    })
}
