//! The outer VLAN tag: id, priority, and the EtherType inside it.

use super::FlowerKey;
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(v) = k.vlan_id {
        w.u16(TCA_FLOWER_KEY_VLAN_ID, v);
    }
    if let Some(v) = k.vlan_prio {
        w.u8(TCA_FLOWER_KEY_VLAN_PRIO, v);
    }
    if let Some(v) = k.vlan_eth_type {
        w.be16(TCA_FLOWER_KEY_VLAN_ETH_TYPE, v);
    }
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.vlan_id = a
        .get(TCA_FLOWER_KEY_VLAN_ID)
        .map(nla::get_u16)
        .transpose()?;
    k.vlan_prio = a
        .get(TCA_FLOWER_KEY_VLAN_PRIO)
        .map(nla::get_u8)
        .transpose()?;
    k.vlan_eth_type = a
        .get(TCA_FLOWER_KEY_VLAN_ETH_TYPE)
        .map(nla::get_be16)
        .transpose()?;
    Ok(())
}
