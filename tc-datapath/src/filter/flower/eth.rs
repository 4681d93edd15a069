//! EtherType, destination and source MAC address.

use super::{get_mac, masked, pair, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(t) = k.eth_type {
        w.be16(TCA_FLOWER_KEY_ETH_TYPE, t);
    }
    masked(
        w,
        TCA_FLOWER_KEY_ETH_DST,
        TCA_FLOWER_KEY_ETH_DST_MASK,
        &k.eth_dst,
    );
    masked(
        w,
        TCA_FLOWER_KEY_ETH_SRC,
        TCA_FLOWER_KEY_ETH_SRC_MASK,
        &k.eth_src,
    );
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.eth_type = a
        .get(TCA_FLOWER_KEY_ETH_TYPE)
        .map(nla::get_be16)
        .transpose()?;
    k.eth_dst = pair(
        a,
        TCA_FLOWER_KEY_ETH_DST,
        TCA_FLOWER_KEY_ETH_DST_MASK,
        get_mac,
    )?;
    k.eth_src = pair(
        a,
        TCA_FLOWER_KEY_ETH_SRC,
        TCA_FLOWER_KEY_ETH_SRC_MASK,
        get_mac,
    )?;
    Ok(())
}
