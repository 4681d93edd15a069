//! ICMP type and code: ICMPv6 attributes for an IPv6 filter, ICMPv4 ones otherwise.

use super::{masked, pair, u8m, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// (type, type mask, code, code mask) attributes of ICMPv4 and ICMPv6.
const V4: (u16, u16, u16, u16) = (
    TCA_FLOWER_KEY_ICMPV4_TYPE,
    TCA_FLOWER_KEY_ICMPV4_TYPE_MASK,
    TCA_FLOWER_KEY_ICMPV4_CODE,
    TCA_FLOWER_KEY_ICMPV4_CODE_MASK,
);
const V6: (u16, u16, u16, u16) = (
    TCA_FLOWER_KEY_ICMPV6_TYPE,
    TCA_FLOWER_KEY_ICMPV6_TYPE_MASK,
    TCA_FLOWER_KEY_ICMPV6_CODE,
    TCA_FLOWER_KEY_ICMPV6_CODE_MASK,
);

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    let (t, tm, c, cm) = if k.l3_type() == Some(0x86dd) { V6 } else { V4 };
    masked(w, t, tm, &u8m(&k.icmp_type));
    masked(w, c, cm, &u8m(&k.icmp_code));
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    for (t, tm, c, cm) in [V4, V6] {
        k.icmp_type = k.icmp_type.or(pair(a, t, tm, nla::get_u8)?);
        k.icmp_code = k.icmp_code.or(pair(a, c, cm, nla::get_u8)?);
    }
    Ok(())
}
