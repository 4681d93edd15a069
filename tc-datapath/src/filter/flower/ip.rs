//! IP protocol, TOS (traffic class), TTL (hop limit), IPv4 and IPv6 addresses.

use std::net::Ipv6Addr;

use super::{get_v4, masked, pair, u8m, v4, FlowerKey};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

fn v6(v: &Option<(Ipv6Addr, Ipv6Addr)>) -> Option<([u8; 16], [u8; 16])> {
    v.map(|(a, m)| (a.octets(), m.octets()))
}

fn get_v6(p: &[u8]) -> Result<Ipv6Addr, NlaError> {
    nla::get_arr::<16>(p).map(Ipv6Addr::from)
}

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    if let Some(p) = k.ip_proto {
        w.u8(TCA_FLOWER_KEY_IP_PROTO, p);
    }
    masked(
        w,
        TCA_FLOWER_KEY_IP_TOS,
        TCA_FLOWER_KEY_IP_TOS_MASK,
        &u8m(&k.ip_tos),
    );
    masked(
        w,
        TCA_FLOWER_KEY_IP_TTL,
        TCA_FLOWER_KEY_IP_TTL_MASK,
        &u8m(&k.ip_ttl),
    );
    masked(
        w,
        TCA_FLOWER_KEY_IPV4_SRC,
        TCA_FLOWER_KEY_IPV4_SRC_MASK,
        &v4(&k.ipv4_src),
    );
    masked(
        w,
        TCA_FLOWER_KEY_IPV4_DST,
        TCA_FLOWER_KEY_IPV4_DST_MASK,
        &v4(&k.ipv4_dst),
    );
    masked(
        w,
        TCA_FLOWER_KEY_IPV6_SRC,
        TCA_FLOWER_KEY_IPV6_SRC_MASK,
        &v6(&k.ipv6_src),
    );
    masked(
        w,
        TCA_FLOWER_KEY_IPV6_DST,
        TCA_FLOWER_KEY_IPV6_DST_MASK,
        &v6(&k.ipv6_dst),
    );
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    k.ip_proto = a
        .get(TCA_FLOWER_KEY_IP_PROTO)
        .map(nla::get_u8)
        .transpose()?;
    k.ip_tos = pair(
        a,
        TCA_FLOWER_KEY_IP_TOS,
        TCA_FLOWER_KEY_IP_TOS_MASK,
        nla::get_u8,
    )?;
    k.ip_ttl = pair(
        a,
        TCA_FLOWER_KEY_IP_TTL,
        TCA_FLOWER_KEY_IP_TTL_MASK,
        nla::get_u8,
    )?;
    k.ipv4_src = pair(
        a,
        TCA_FLOWER_KEY_IPV4_SRC,
        TCA_FLOWER_KEY_IPV4_SRC_MASK,
        get_v4,
    )?;
    k.ipv4_dst = pair(
        a,
        TCA_FLOWER_KEY_IPV4_DST,
        TCA_FLOWER_KEY_IPV4_DST_MASK,
        get_v4,
    )?;
    k.ipv6_src = pair(
        a,
        TCA_FLOWER_KEY_IPV6_SRC,
        TCA_FLOWER_KEY_IPV6_SRC_MASK,
        get_v6,
    )?;
    k.ipv6_dst = pair(
        a,
        TCA_FLOWER_KEY_IPV6_DST,
        TCA_FLOWER_KEY_IPV6_DST_MASK,
        get_v6,
    )?;
    Ok(())
}
