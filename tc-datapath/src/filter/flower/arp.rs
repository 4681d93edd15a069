//! ARP opcode, sender and target protocol and hardware addresses.

use super::{get_mac, get_v4, masked, pair, u8m, v4, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    masked(
        w,
        TCA_FLOWER_KEY_ARP_OP,
        TCA_FLOWER_KEY_ARP_OP_MASK,
        &u8m(&k.arp_op),
    );
    masked(
        w,
        TCA_FLOWER_KEY_ARP_SIP,
        TCA_FLOWER_KEY_ARP_SIP_MASK,
        &v4(&k.arp_sip),
    );
    masked(
        w,
        TCA_FLOWER_KEY_ARP_TIP,
        TCA_FLOWER_KEY_ARP_TIP_MASK,
        &v4(&k.arp_tip),
    );
    masked(
        w,
        TCA_FLOWER_KEY_ARP_SHA,
        TCA_FLOWER_KEY_ARP_SHA_MASK,
        &k.arp_sha,
    );
    masked(
        w,
        TCA_FLOWER_KEY_ARP_THA,
        TCA_FLOWER_KEY_ARP_THA_MASK,
        &k.arp_tha,
    );
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.arp_op = pair(
        a,
        TCA_FLOWER_KEY_ARP_OP,
        TCA_FLOWER_KEY_ARP_OP_MASK,
        nla::get_u8,
    )?;
    k.arp_sip = pair(
        a,
        TCA_FLOWER_KEY_ARP_SIP,
        TCA_FLOWER_KEY_ARP_SIP_MASK,
        get_v4,
    )?;
    k.arp_tip = pair(
        a,
        TCA_FLOWER_KEY_ARP_TIP,
        TCA_FLOWER_KEY_ARP_TIP_MASK,
        get_v4,
    )?;
    k.arp_sha = pair(
        a,
        TCA_FLOWER_KEY_ARP_SHA,
        TCA_FLOWER_KEY_ARP_SHA_MASK,
        get_mac,
    )?;
    k.arp_tha = pair(
        a,
        TCA_FLOWER_KEY_ARP_THA,
        TCA_FLOWER_KEY_ARP_THA_MASK,
        get_mac,
    )?;
    Ok(())
}
