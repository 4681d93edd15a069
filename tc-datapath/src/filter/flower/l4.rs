//! TCP, UDP or SCTP ports, and TCP flags. Flower keeps the ports of each protocol under
//! attributes of their own: the filter's `ip_proto` picks them when writing; reading takes
//! whichever is there.

use super::{be16, masked, pair, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// (source, source mask, destination, destination mask) attributes of TCP, UDP and SCTP.
const TCP: (u16, u16, u16, u16) = (
    TCA_FLOWER_KEY_TCP_SRC,
    TCA_FLOWER_KEY_TCP_SRC_MASK,
    TCA_FLOWER_KEY_TCP_DST,
    TCA_FLOWER_KEY_TCP_DST_MASK,
);
const UDP: (u16, u16, u16, u16) = (
    TCA_FLOWER_KEY_UDP_SRC,
    TCA_FLOWER_KEY_UDP_SRC_MASK,
    TCA_FLOWER_KEY_UDP_DST,
    TCA_FLOWER_KEY_UDP_DST_MASK,
);
const SCTP: (u16, u16, u16, u16) = (
    TCA_FLOWER_KEY_SCTP_SRC,
    TCA_FLOWER_KEY_SCTP_SRC_MASK,
    TCA_FLOWER_KEY_SCTP_DST,
    TCA_FLOWER_KEY_SCTP_DST_MASK,
);

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    let (src, src_m, dst, dst_m) = match k.ip_proto {
        Some(17) => UDP,
        Some(132) => SCTP,
        _ => TCP,
    };
    masked(w, src, src_m, &be16(&k.l4_src));
    masked(w, dst, dst_m, &be16(&k.l4_dst));
    masked(
        w,
        TCA_FLOWER_KEY_TCP_FLAGS,
        TCA_FLOWER_KEY_TCP_FLAGS_MASK,
        &be16(&k.tcp_flags),
    );
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.tcp_flags = pair(
        a,
        TCA_FLOWER_KEY_TCP_FLAGS,
        TCA_FLOWER_KEY_TCP_FLAGS_MASK,
        nla::get_be16,
    )?;
    for (s, sm, d, dm) in [TCP, UDP, SCTP] {
        k.l4_src = k.l4_src.or(pair(a, s, sm, nla::get_be16)?);
        k.l4_dst = k.l4_dst.or(pair(a, d, dm, nla::get_be16)?);
    }
    Ok(())
}
