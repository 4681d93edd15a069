//! Tunnel metadata of a packet that a tunnel device decapsulated: key id (VNI) and the
//! outer IPv4 addresses.

use super::{get_v4, masked, pair, v4, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(id) = k.enc_key_id {
        w.be32(TCA_FLOWER_KEY_ENC_KEY_ID, id);
    }
    masked(
        w,
        TCA_FLOWER_KEY_ENC_IPV4_SRC,
        TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK,
        &v4(&k.enc_ipv4_src),
    );
    masked(
        w,
        TCA_FLOWER_KEY_ENC_IPV4_DST,
        TCA_FLOWER_KEY_ENC_IPV4_DST_MASK,
        &v4(&k.enc_ipv4_dst),
    );
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.enc_key_id = a
        .get(TCA_FLOWER_KEY_ENC_KEY_ID)
        .map(nla::get_be32)
        .transpose()?;
    k.enc_ipv4_src = pair(
        a,
        TCA_FLOWER_KEY_ENC_IPV4_SRC,
        TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK,
        get_v4,
    )?;
    k.enc_ipv4_dst = pair(
        a,
        TCA_FLOWER_KEY_ENC_IPV4_DST,
        TCA_FLOWER_KEY_ENC_IPV4_DST_MASK,
        get_v4,
    )?;
    Ok(())
}
