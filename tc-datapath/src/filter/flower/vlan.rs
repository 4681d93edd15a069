//! The VLAN tags: the outer tag's id, priority and the EtherType inside it; the inner
//! (customer) tag's of a QinQ frame; the number of tags (0: untagged).
//!
//! Flower reads the VLAN keys only when the EtherType key is a tag type (the outer tag's
//! TPID), and the inner tag's only when the VLAN EtherType is one too; the last
//! EtherType given is the type after the tags. The ids are host-order u16 (the kernel
//! reads them with nla_get_u16, whatever the uapi comment says of the inner one).

use super::FlowerKey;
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(n) = k.num_of_vlans {
        w.u8(TCA_FLOWER_KEY_NUM_OF_VLANS, n);
    }
    if let Some(v) = k.vlan_id {
        w.u16(TCA_FLOWER_KEY_VLAN_ID, v);
    }
    if let Some(v) = k.vlan_prio {
        w.u8(TCA_FLOWER_KEY_VLAN_PRIO, v);
    }
    if let Some(v) = k.vlan_eth_type {
        w.be16(TCA_FLOWER_KEY_VLAN_ETH_TYPE, v);
    }
    if let Some(v) = k.cvlan_id {
        w.u16(TCA_FLOWER_KEY_CVLAN_ID, v);
    }
    if let Some(v) = k.cvlan_prio {
        w.u8(TCA_FLOWER_KEY_CVLAN_PRIO, v);
    }
    if let Some(v) = k.cvlan_eth_type {
        w.be16(TCA_FLOWER_KEY_CVLAN_ETH_TYPE, v);
    }
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.num_of_vlans = a
        .get(TCA_FLOWER_KEY_NUM_OF_VLANS)
        .map(nla::get_u8)
        .transpose()?;
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
    k.cvlan_id = a
        .get(TCA_FLOWER_KEY_CVLAN_ID)
        .map(nla::get_u16)
        .transpose()?;
    k.cvlan_prio = a
        .get(TCA_FLOWER_KEY_CVLAN_PRIO)
        .map(nla::get_u8)
        .transpose()?;
    k.cvlan_eth_type = a
        .get(TCA_FLOWER_KEY_CVLAN_ETH_TYPE)
        .map(nla::get_be16)
        .transpose()?;
    Ok(())
}
