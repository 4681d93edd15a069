//! The outer MPLS label stack entry: label, traffic class, bottom of stack, TTL (flower
//! reads them when the EtherType key is 0x8847 or 0x8848; exact, no masks).

use super::FlowerKey;
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(v) = k.mpls_ttl {
        w.u8(TCA_FLOWER_KEY_MPLS_TTL, v);
    }
    if let Some(v) = k.mpls_bos {
        w.u8(TCA_FLOWER_KEY_MPLS_BOS, v);
    }
    if let Some(v) = k.mpls_tc {
        w.u8(TCA_FLOWER_KEY_MPLS_TC, v);
    }
    if let Some(v) = k.mpls_label {
        w.u32(TCA_FLOWER_KEY_MPLS_LABEL, v);
    }
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    let u8_of = |t| a.get(t).map(nla::get_u8).transpose();
    k.mpls_ttl = u8_of(TCA_FLOWER_KEY_MPLS_TTL)?;
    k.mpls_bos = u8_of(TCA_FLOWER_KEY_MPLS_BOS)?;
    k.mpls_tc = u8_of(TCA_FLOWER_KEY_MPLS_TC)?;
    k.mpls_label = a
        .get(TCA_FLOWER_KEY_MPLS_LABEL)
        .map(nla::get_u32)
        .transpose()?;
    Ok(())
}
