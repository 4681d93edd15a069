//! Match fields: the OXM names (`set_field`, and fields Open vSwitch has no older name for)
//! and the ovs-ofctl match syntax on top of them, with its context-dependent names
//! (`nw_src` is `arp_spa` in an ARP flow, `tp_dst` is `tcp_dst`, `udp_dst` or `sctp_dst`
//! by `nw_proto`, `icmp_type` is ICMPv6's in an `icmp6` flow, `nw_tos` is the ToS byte
//! whose upper six bits are `ip_dscp`) and its VLAN model (`dl_vlan`, `dl_vlan_pcp`,
//! `vlan_tci` describe the 16-bit TCI; OpenFlow 1.3 splits it into `vlan_vid` with
//! OFPVID_PRESENT and `vlan_pcp`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use super::lex::Tok;
use super::value::*;
use super::FlowParseError;
use crate::v13::oxm::{
    field as f, OXM_CLASS_EXPERIMENTER, OXM_CLASS_NXM_1, OXM_CLASS_OPENFLOW_BASIC,
};
use crate::v13::{MacAddr, Masked, Match, Oxm, OxmOpaque};

pub(crate) const ETH_IP: u16 = 0x0800;
pub(crate) const ETH_ARP: u16 = 0x0806;
pub(crate) const ETH_RARP: u16 = 0x8035;
pub(crate) const ETH_IPV6: u16 = 0x86dd;
pub(crate) const ETH_MPLS: u16 = 0x8847;
pub(crate) const ETH_MPLS_MC: u16 = 0x8848;
pub(crate) const ETH_PBB: u16 = 0x88e7;
pub(crate) const IPPROTO_ICMP: u8 = 1;
pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;
pub(crate) const IPPROTO_ICMPV6: u8 = 58;
pub(crate) const IPPROTO_SCTP: u8 = 132;

/// The ONF experimenter id, under which OpenFlow 1.3 carries `tcp_flags`
/// (ONFOXM_ET_TCP_FLAGS, field 42 of the experimenter class, as Open vSwitch sends it).
pub(crate) const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;
pub(crate) const ONFOXM_TCP_FLAGS: u8 = 42;

/// Nicira extension fields (ovs-fields(7): NXM_NX_IP_TTL, NXM_NX_TUN_IPV4_SRC,
/// NXM_NX_TUN_IPV4_DST) that OpenFlow 1.3 has no OXM for. Open vSwitch sends them as OXMs of
/// the NXM_1 class (0x0001) with their NXM field numbers, in matches and in set_field.
pub(crate) const NXM_IP_TTL: u8 = 29;
pub(crate) const NXM_TUN_IPV4_SRC: u8 = 31;
pub(crate) const NXM_TUN_IPV4_DST: u8 = 32;

/// The Nicira fields by the names ovs-ofctl reads and prints for them.
const NXM_NAMES: [(&str, u8); 3] = [
    ("nw_ttl", NXM_IP_TTL),
    ("tun_src", NXM_TUN_IPV4_SRC),
    ("tun_dst", NXM_TUN_IPV4_DST),
];

/// The Nicira field `name` stands for, in a match or in `set_field`.
pub(crate) fn nxm_field_by_name(name: &str) -> Option<u8> {
    NXM_NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Protocol shorthands: name, eth_type, ip_proto.
pub(crate) const SHORTHANDS: [(&str, u16, Option<u8>); 14] = [
    ("ip", ETH_IP, None),
    ("ipv6", ETH_IPV6, None),
    ("icmp", ETH_IP, Some(IPPROTO_ICMP)),
    ("icmp6", ETH_IPV6, Some(IPPROTO_ICMPV6)),
    ("tcp", ETH_IP, Some(IPPROTO_TCP)),
    ("tcp6", ETH_IPV6, Some(IPPROTO_TCP)),
    ("udp", ETH_IP, Some(IPPROTO_UDP)),
    ("udp6", ETH_IPV6, Some(IPPROTO_UDP)),
    ("sctp", ETH_IP, Some(IPPROTO_SCTP)),
    ("sctp6", ETH_IPV6, Some(IPPROTO_SCTP)),
    ("arp", ETH_ARP, None),
    ("rarp", ETH_RARP, None),
    ("mpls", ETH_MPLS, None),
    ("mplsm", ETH_MPLS_MC, None),
];

/// OXM field names as Open vSwitch prints them after `set_field:...->`, and the aliases
/// it reads.
const OXM_NAMES: &[(&str, u8)] = &[
    ("in_port", f::IN_PORT),
    ("in_port_oxm", f::IN_PORT),
    ("in_phy_port", f::IN_PHY_PORT),
    ("metadata", f::METADATA),
    ("eth_dst", f::ETH_DST),
    ("dl_dst", f::ETH_DST),
    ("eth_src", f::ETH_SRC),
    ("dl_src", f::ETH_SRC),
    ("eth_type", f::ETH_TYPE),
    ("dl_type", f::ETH_TYPE),
    ("vlan_vid", f::VLAN_VID),
    ("vlan_pcp", f::VLAN_PCP),
    ("dl_vlan_pcp", f::VLAN_PCP),
    ("ip_dscp", f::IP_DSCP),
    ("nw_ecn", f::IP_ECN),
    ("ip_ecn", f::IP_ECN),
    ("nw_proto", f::IP_PROTO),
    ("ip_proto", f::IP_PROTO),
    ("ip_src", f::IPV4_SRC),
    ("ipv4_src", f::IPV4_SRC),
    ("nw_src", f::IPV4_SRC),
    ("ip_dst", f::IPV4_DST),
    ("ipv4_dst", f::IPV4_DST),
    ("nw_dst", f::IPV4_DST),
    ("tcp_src", f::TCP_SRC),
    ("tcp_dst", f::TCP_DST),
    ("udp_src", f::UDP_SRC),
    ("udp_dst", f::UDP_DST),
    ("sctp_src", f::SCTP_SRC),
    ("sctp_dst", f::SCTP_DST),
    ("icmp_type", f::ICMPV4_TYPE),
    ("icmpv4_type", f::ICMPV4_TYPE),
    ("icmp_code", f::ICMPV4_CODE),
    ("icmpv4_code", f::ICMPV4_CODE),
    ("arp_op", f::ARP_OP),
    ("arp_spa", f::ARP_SPA),
    ("arp_tpa", f::ARP_TPA),
    ("arp_sha", f::ARP_SHA),
    ("arp_tha", f::ARP_THA),
    ("ipv6_src", f::IPV6_SRC),
    ("ipv6_dst", f::IPV6_DST),
    ("ipv6_label", f::IPV6_FLABEL),
    ("icmpv6_type", f::ICMPV6_TYPE),
    ("icmpv6_code", f::ICMPV6_CODE),
    ("nd_target", f::IPV6_ND_TARGET),
    ("nd_sll", f::IPV6_ND_SLL),
    ("nd_tll", f::IPV6_ND_TLL),
    ("mpls_label", f::MPLS_LABEL),
    ("mpls_tc", f::MPLS_TC),
    ("mpls_bos", f::MPLS_BOS),
    ("pbb_isid", f::PBB_ISID),
    ("tun_id", f::TUNNEL_ID),
    ("tunnel_id", f::TUNNEL_ID),
    ("ipv6_exthdr", f::IPV6_EXTHDR),
    ("pbb_uca", f::PBB_UCA),
];

/// The OXM basic field `name` stands for, in `set_field` (no context).
pub(crate) fn oxm_field_by_name(name: &str) -> Option<u8> {
    OXM_NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The name printed for an OXM basic field (the first of its names above).
pub(crate) fn oxm_field_name(field: u8) -> &'static str {
    OXM_NAMES
        .iter()
        .find(|(_, f)| *f == field)
        .map(|(n, _)| *n)
        .unwrap_or("unknown")
}

fn masked<T: Copy + PartialEq>(v: T, m: Option<T>, all: T) -> Masked<T> {
    match m {
        Some(m) if m != all => Masked::with_mask(v, m),
        _ => Masked::exact(v),
    }
}

fn and_mac(a: MacAddr, m: MacAddr) -> MacAddr {
    let mut o = a.0;
    for (x, y) in o.iter_mut().zip(m.0) {
        *x &= y;
    }
    MacAddr(o)
}

/// Parse `text` as the value of OXM basic field `field` (named `name` in messages), in the
/// OXM's own terms. A mask is accepted where the field allows one; an all-ones mask gives
/// an exact match; the value is cut to the mask. `Ok(None)`: an all-zero mask (nothing to
/// match).
pub(crate) fn parse_oxm(field: u8, name: &str, text: &str) -> VResult<Option<Oxm>> {
    let nomask = |text: &str| -> VResult<()> {
        if text.contains('/') {
            Err(format!("{name} cannot be masked"))
        } else {
            Ok(())
        }
    };
    let um = |max: u64| parse_uint_masked(text, name, max);
    let ex = |max: u64| -> VResult<u64> {
        nomask(text)?;
        parse_uint(text, name, max)
    };
    macro_rules! zero_mask {
        ($m:expr, $zero:expr) => {
            if $m == Some($zero) {
                return Ok(None);
            }
        };
    }
    Ok(Some(match field {
        f::IN_PORT => {
            nomask(text)?;
            Oxm::InPort(parse_port13(text, name)?)
        }
        f::IN_PHY_PORT => {
            nomask(text)?;
            Oxm::InPhyPort(parse_port13(text, name)?)
        }
        f::METADATA | f::TUNNEL_ID => {
            let (v, m) = um(u64::MAX)?;
            zero_mask!(m, 0);
            let x = masked(v & m.unwrap_or(u64::MAX), m, u64::MAX);
            if field == f::METADATA {
                Oxm::Metadata(x)
            } else {
                Oxm::TunnelId(x)
            }
        }
        f::ETH_DST | f::ETH_SRC | f::ARP_SHA | f::ARP_THA => {
            let (v, m) = parse_mac_masked(text, name)?;
            zero_mask!(m, MacAddr([0; 6]));
            let v = m.map_or(v, |m| and_mac(v, m));
            let x = masked(v, m, MacAddr([0xff; 6]));
            match field {
                f::ETH_DST => Oxm::EthDst(x),
                f::ETH_SRC => Oxm::EthSrc(x),
                f::ARP_SHA => Oxm::ArpSha(x),
                _ => Oxm::ArpTha(x),
            }
        }
        f::ETH_TYPE => Oxm::EthType(ex(0xffff)? as u16),
        f::VLAN_VID => {
            let (v, m) = um(0x1fff)?;
            zero_mask!(m, 0);
            Oxm::VlanVid(masked(
                (v & m.unwrap_or(0x1fff)) as u16,
                m.map(|m| m as u16),
                0x1fff,
            ))
        }
        f::VLAN_PCP => Oxm::VlanPcp(ex(7)? as u8),
        f::IP_DSCP => Oxm::IpDscp(ex(63)? as u8),
        f::IP_ECN => Oxm::IpEcn(ex(3)? as u8),
        f::IP_PROTO => Oxm::IpProto(ex(255)? as u8),
        f::IPV4_SRC | f::IPV4_DST | f::ARP_SPA | f::ARP_TPA => {
            let (a, m) = parse_ipv4_masked(text, name)?;
            zero_mask!(m, Ipv4Addr::UNSPECIFIED);
            let a = m.map_or(a, |m| Ipv4Addr::from(u32::from(a) & u32::from(m)));
            let x = masked(a, m, Ipv4Addr::BROADCAST);
            match field {
                f::IPV4_SRC => Oxm::Ipv4Src(x),
                f::IPV4_DST => Oxm::Ipv4Dst(x),
                f::ARP_SPA => Oxm::ArpSpa(x),
                _ => Oxm::ArpTpa(x),
            }
        }
        f::TCP_SRC | f::TCP_DST | f::UDP_SRC | f::UDP_DST | f::SCTP_SRC | f::SCTP_DST => {
            let (v, m) = um(0xffff)?;
            zero_mask!(m, 0);
            port_oxm(field, v as u16, m.map(|m| m as u16))
        }
        f::ICMPV4_TYPE => Oxm::Icmpv4Type(ex(255)? as u8),
        f::ICMPV4_CODE => Oxm::Icmpv4Code(ex(255)? as u8),
        f::ICMPV6_TYPE => Oxm::Icmpv6Type(ex(255)? as u8),
        f::ICMPV6_CODE => Oxm::Icmpv6Code(ex(255)? as u8),
        f::ARP_OP => Oxm::ArpOp(ex(0xffff)? as u16),
        f::IPV6_SRC | f::IPV6_DST => {
            let (a, m) = parse_ipv6_masked(text, name)?;
            zero_mask!(m, Ipv6Addr::UNSPECIFIED);
            let a = m.map_or(a, |m| Ipv6Addr::from(u128::from(a) & u128::from(m)));
            let x = masked(a, m, Ipv6Addr::from(u128::MAX));
            if field == f::IPV6_SRC {
                Oxm::Ipv6Src(x)
            } else {
                Oxm::Ipv6Dst(x)
            }
        }
        f::IPV6_FLABEL => {
            let (v, m) = um(0xfffff)?;
            zero_mask!(m, 0);
            Oxm::Ipv6Flabel(masked(
                (v & m.unwrap_or(0xfffff)) as u32,
                m.map(|m| m as u32),
                0xfffff,
            ))
        }
        f::IPV6_ND_TARGET => {
            nomask(text)?;
            Oxm::Ipv6NdTarget(parse_ipv6(text, name)?)
        }
        f::IPV6_ND_SLL => {
            nomask(text)?;
            Oxm::Ipv6NdSll(parse_mac(text, name)?)
        }
        f::IPV6_ND_TLL => {
            nomask(text)?;
            Oxm::Ipv6NdTll(parse_mac(text, name)?)
        }
        f::MPLS_LABEL => Oxm::MplsLabel(ex(0xfffff)? as u32),
        f::MPLS_TC => Oxm::MplsTc(ex(7)? as u8),
        f::MPLS_BOS => Oxm::MplsBos(ex(1)? as u8),
        f::PBB_ISID => {
            let (v, m) = um(0xffffff)?;
            zero_mask!(m, 0);
            Oxm::PbbIsid(masked(
                (v & m.unwrap_or(0xffffff)) as u32,
                m.map(|m| m as u32),
                0xffffff,
            ))
        }
        f::IPV6_EXTHDR => {
            let (v, m) = um(0x1ff)?;
            zero_mask!(m, 0);
            Oxm::Ipv6Exthdr(masked(
                (v & m.unwrap_or(0x1ff)) as u16,
                m.map(|m| m as u16),
                0x1ff,
            ))
        }
        f::PBB_UCA => Oxm::PbbUca(ex(1)? as u8),
        _ => return Err(format!("unknown field \"{name}\"")),
    }))
}

/// A TCP/UDP/SCTP port match. OpenFlow 1.3 gives these fields no mask; a masked one goes
/// out as Open vSwitch sends it: the same OXM with `hasmask` set, kept opaque here.
pub(crate) fn port_oxm(field: u8, v: u16, m: Option<u16>) -> Oxm {
    match m {
        None | Some(0xffff) => match field {
            f::TCP_SRC => Oxm::TcpSrc(v),
            f::TCP_DST => Oxm::TcpDst(v),
            f::UDP_SRC => Oxm::UdpSrc(v),
            f::UDP_DST => Oxm::UdpDst(v),
            f::SCTP_SRC => Oxm::SctpSrc(v),
            _ => Oxm::SctpDst(v),
        },
        Some(m) => {
            let mut p = BytesMut::with_capacity(4);
            p.put_u16(v & m);
            p.put_u16(m);
            Oxm::Opaque(OxmOpaque {
                class: OXM_CLASS_OPENFLOW_BASIC,
                field,
                has_mask: true,
                payload: p.freeze(),
            })
        }
    }
}

/// The ONF experimenter OXM for `tcp_flags`.
pub(crate) fn tcp_flags_oxm(v: u16, m: Option<u16>) -> Oxm {
    let mut p = BytesMut::with_capacity(8);
    p.put_u32(ONF_EXPERIMENTER);
    p.put_u16(v);
    if let Some(m) = m {
        p.put_u16(m);
    }
    Oxm::Opaque(OxmOpaque {
        class: OXM_CLASS_EXPERIMENTER,
        field: ONFOXM_TCP_FLAGS,
        has_mask: m.is_some(),
        payload: p.freeze(),
    })
}

/// The NXM_1-class OXM of Nicira field `field` with `value` and, if any, `mask` (each as
/// many bytes as the field is wide).
fn nxm_oxm(field: u8, value: &[u8], mask: Option<&[u8]>) -> Oxm {
    let mut p = BytesMut::with_capacity(2 * value.len());
    p.put_slice(value);
    if let Some(m) = mask {
        p.put_slice(m);
    }
    Oxm::Opaque(OxmOpaque {
        class: OXM_CLASS_NXM_1,
        field,
        has_mask: mask.is_some(),
        payload: p.freeze(),
    })
}

/// Parse `text` as the value of Nicira field `field` (named `name` in messages): `nw_ttl`
/// takes a byte and no mask; `tun_src`/`tun_dst` an IPv4 address with an optional mask or
/// prefix length, cut to the mask. `Ok(None)`: an all-zero mask (nothing to match).
pub(crate) fn parse_nxm(field: u8, name: &str, text: &str) -> VResult<Option<Oxm>> {
    if field == NXM_IP_TTL {
        if text.contains('/') {
            return Err(format!("{name} cannot be masked"));
        }
        let v = parse_uint(text, name, 255)? as u8;
        return Ok(Some(nxm_oxm(field, &[v], None)));
    }
    let (a, m) = parse_ipv4_masked(text, name)?;
    let m = m.map(u32::from).filter(|m| *m != u32::MAX);
    if m == Some(0) {
        return Ok(None);
    }
    let a = u32::from(a) & m.unwrap_or(u32::MAX);
    let mask = m.map(u32::to_be_bytes);
    Ok(Some(nxm_oxm(
        field,
        &a.to_be_bytes(),
        mask.as_ref().map(|m| &m[..]),
    )))
}

/// `(name, value)` of a Nicira field OXM built by [`parse_nxm`], as ovs-ofctl prints it;
/// `None` for any other OXM, or one whose length does not fit its field.
pub(crate) fn opaque_nxm(o: &OxmOpaque) -> Option<(&'static str, String)> {
    if o.class != OXM_CLASS_NXM_1 {
        return None;
    }
    let (name, _) = NXM_NAMES.iter().find(|(_, f)| *f == o.field)?;
    let p = &o.payload[..];
    let v = match (o.field, o.has_mask, p.len()) {
        (NXM_IP_TTL, false, 1) => p[0].to_string(),
        (NXM_IP_TTL, _, _) => return None,
        (_, false, 4) => fmt_ipv4_masked(Ipv4Addr::new(p[0], p[1], p[2], p[3]), None),
        (_, true, 8) => fmt_ipv4_masked(
            Ipv4Addr::new(p[0], p[1], p[2], p[3]),
            Some(Ipv4Addr::new(p[4], p[5], p[6], p[7])),
        ),
        _ => return None,
    };
    Some((name, v))
}

/// `(field, value, mask)` of a masked transport port kept opaque by [`port_oxm`].
pub(crate) fn opaque_port(o: &OxmOpaque) -> Option<(u8, u16, u16)> {
    let p = &o.payload;
    (o.class == OXM_CLASS_OPENFLOW_BASIC
        && (f::TCP_SRC..=f::SCTP_DST).contains(&o.field)
        && o.has_mask
        && p.len() == 4)
        .then(|| {
            (
                o.field,
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            )
        })
}

/// `(value, mask)` of an ONF `tcp_flags` OXM.
pub(crate) fn opaque_tcp_flags(o: &OxmOpaque) -> Option<(u16, Option<u16>)> {
    let p = &o.payload;
    if o.class != OXM_CLASS_EXPERIMENTER
        || o.field != ONFOXM_TCP_FLAGS
        || p.len() != if o.has_mask { 8 } else { 6 }
        || p[..4] != ONF_EXPERIMENTER.to_be_bytes()
    {
        return None;
    }
    let v = u16::from_be_bytes([p[4], p[5]]);
    Some((v, o.has_mask.then(|| u16::from_be_bytes([p[6], p[7]]))))
}

fn hex_masked<T: std::fmt::LowerHex>(v: T, m: Option<T>) -> String {
    match m {
        None => format!("0x{v:x}"),
        Some(m) => format!("0x{v:x}/0x{m:x}"),
    }
}

fn dec_or_hex_masked<T: std::fmt::LowerHex + std::fmt::Display>(v: T, m: Option<T>) -> String {
    match m {
        None => format!("{v}"),
        Some(m) => format!("0x{v:x}/0x{m:x}"),
    }
}

/// `(name, value)` of an OXM as `set_field` writes it (the OXM's own terms).
pub(crate) fn fmt_oxm(o: &Oxm) -> (String, String) {
    let name = |o: &Oxm| oxm_field_name(o.basic_field().unwrap_or(0xff)).to_string();
    let v = match o {
        Oxm::InPort(p) | Oxm::InPhyPort(p) => fmt_port13(*p),
        Oxm::Metadata(m) | Oxm::TunnelId(m) => hex_masked(m.value, m.mask),
        Oxm::EthDst(m) | Oxm::EthSrc(m) | Oxm::ArpSha(m) | Oxm::ArpTha(m) => {
            fmt_mac_masked(m.value, m.mask)
        }
        Oxm::EthType(v) => format!("0x{v:04x}"),
        Oxm::VlanVid(m) | Oxm::Ipv6Exthdr(m) => dec_or_hex_masked(m.value, m.mask),
        Oxm::VlanPcp(v)
        | Oxm::IpDscp(v)
        | Oxm::IpEcn(v)
        | Oxm::IpProto(v)
        | Oxm::Icmpv4Type(v)
        | Oxm::Icmpv4Code(v)
        | Oxm::Icmpv6Type(v)
        | Oxm::Icmpv6Code(v)
        | Oxm::MplsTc(v)
        | Oxm::MplsBos(v)
        | Oxm::PbbUca(v) => v.to_string(),
        Oxm::Ipv4Src(m) | Oxm::Ipv4Dst(m) | Oxm::ArpSpa(m) | Oxm::ArpTpa(m) => {
            fmt_ipv4_masked(m.value, m.mask)
        }
        Oxm::TcpSrc(v)
        | Oxm::TcpDst(v)
        | Oxm::UdpSrc(v)
        | Oxm::UdpDst(v)
        | Oxm::SctpSrc(v)
        | Oxm::SctpDst(v)
        | Oxm::ArpOp(v) => v.to_string(),
        Oxm::Ipv6Src(m) | Oxm::Ipv6Dst(m) => fmt_ipv6_masked(m.value, m.mask),
        Oxm::Ipv6Flabel(m) => hex_masked(m.value, m.mask),
        Oxm::Ipv6NdTarget(a) => a.to_string(),
        Oxm::Ipv6NdSll(a) | Oxm::Ipv6NdTll(a) => a.to_string(),
        Oxm::MplsLabel(v) => v.to_string(),
        Oxm::PbbIsid(m) => dec_or_hex_masked(m.value, m.mask),
        Oxm::Opaque(op) => {
            if let Some((n, v)) = super::ct::fmt_ct_oxm(o) {
                return (n.into(), v);
            }
            if let Some((field, v, m)) = opaque_port(op) {
                return (oxm_field_name(field).into(), format!("0x{v:x}/0x{m:x}"));
            }
            if let Some((v, m)) = opaque_tcp_flags(op) {
                return ("tcp_flags".into(), fmt_tcp_flags(v, m));
            }
            if let Some((n, v)) = opaque_nxm(op) {
                return (n.into(), v);
            }
            return ("oxm".into(), fmt_opaque(op));
        }
    };
    (name(o), v)
}

/// An OXM of a class we do not interpret, as `oxm(class:field[/m]=HEX)`; not read back.
pub(crate) fn fmt_opaque(o: &OxmOpaque) -> String {
    let hex: String = o.payload.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "0x{:04x}:{}{}=0x{}",
        o.class,
        o.field,
        if o.has_mask { "/m" } else { "" },
        hex
    )
}

// ---------------------------------------------------------------------------------------
// The ovs-ofctl match syntax.

/// What a match token stands for once the flow's eth_type and ip_proto are known.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An OXM field by its own name; context only decides prerequisites.
    Oxm(u8),
    /// `nw_src`/`nw_dst`: IPv4 addresses, or ARP's SPA/TPA in an ARP flow.
    NwAddr {
        src: bool,
    },
    /// `tp_src`/`tp_dst`: TCP, UDP or SCTP by nw_proto.
    Tp {
        src: bool,
    },
    /// `icmp_type`/`icmp_code`: ICMPv4, or ICMPv6 in an IPv6 flow.
    Icmp {
        typ: bool,
    },
    /// `nw_tos`: the ToS byte; only its DSCP bits can be matched.
    NwTos,
    /// `dl_vlan`: 12-bit VID meaning "tagged with this VID", or 0xffff for "untagged".
    DlVlan,
    /// `dl_vlan_pcp` / `vlan_pcp`.
    VlanPcp,
    /// `vlan_vid`: the OXM value with OFPVID_PRESENT.
    VlanVid,
    /// `vlan_tci`: the 16-bit TCI with optional mask.
    VlanTci,
    TcpFlags,
    /// `nw_ttl`, `tun_src`, `tun_dst`: a Nicira field, carried as an NXM_1-class OXM.
    Nxm(u8),
}

fn match_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "nw_src" => Kind::NwAddr { src: true },
        "nw_dst" => Kind::NwAddr { src: false },
        "tp_src" => Kind::Tp { src: true },
        "tp_dst" => Kind::Tp { src: false },
        "icmp_type" => Kind::Icmp { typ: true },
        "icmp_code" => Kind::Icmp { typ: false },
        "nw_tos" => Kind::NwTos,
        "dl_vlan" => Kind::DlVlan,
        "dl_vlan_pcp" | "vlan_pcp" => Kind::VlanPcp,
        "vlan_vid" => Kind::VlanVid,
        "vlan_tci" => Kind::VlanTci,
        "tcp_flags" => Kind::TcpFlags,
        // The protocol fields are resolved before everything else.
        "dl_type" | "eth_type" | "nw_proto" | "ip_proto" => return None,
        _ => match nxm_field_by_name(name) {
            Some(fno) => Kind::Nxm(fno),
            None => Kind::Oxm(oxm_field_by_name(name)?),
        },
    })
}

/// Whether `name` is a match field (other than dl_type/nw_proto, handled by the caller).
pub(crate) fn is_match_field(name: &str) -> bool {
    match_kind(name).is_some()
        || super::ct::is_ct_field(name)
        || matches!(name, "dl_type" | "eth_type" | "nw_proto" | "ip_proto")
}

fn is_ip(et: Option<u16>) -> bool {
    matches!(et, Some(ETH_IP | ETH_IPV6))
}

fn is_arp(et: Option<u16>) -> bool {
    matches!(et, Some(ETH_ARP | ETH_RARP))
}

/// The prerequisite of an OXM field as a sentence, or `None` if it is met (ovs-fields(7),
/// OpenFlow 1.3.5 table 12).
fn prereq_error(field: u8, name: &str, et: Option<u16>, proto: Option<u8>) -> Option<String> {
    let need = |what: &str| Some(format!("{name} requires {what}"));
    match field {
        f::IP_DSCP | f::IP_ECN | f::IP_PROTO if !is_ip(et) => {
            need("ip or ipv6 (write ip or ipv6, or set dl_type=0x0800 or 0x86dd)")
        }
        f::IPV4_SRC | f::IPV4_DST if et != Some(ETH_IP) => need("ip (write ip, or dl_type=0x0800)"),
        f::TCP_SRC | f::TCP_DST if !is_ip(et) || proto != Some(IPPROTO_TCP) => {
            need("tcp (write tcp or tcp6, or set dl_type and nw_proto=6)")
        }
        f::UDP_SRC | f::UDP_DST if !is_ip(et) || proto != Some(IPPROTO_UDP) => {
            need("udp (write udp or udp6, or set dl_type and nw_proto=17)")
        }
        f::SCTP_SRC | f::SCTP_DST if !is_ip(et) || proto != Some(IPPROTO_SCTP) => {
            need("sctp (write sctp or sctp6, or set dl_type and nw_proto=132)")
        }
        f::ICMPV4_TYPE | f::ICMPV4_CODE if et != Some(ETH_IP) || proto != Some(IPPROTO_ICMP) => {
            need("icmp (write icmp, or dl_type=0x0800,nw_proto=1)")
        }
        f::ICMPV6_TYPE | f::ICMPV6_CODE
            if et != Some(ETH_IPV6) || proto != Some(IPPROTO_ICMPV6) =>
        {
            need("icmp6 (write icmp6, or dl_type=0x86dd,nw_proto=58)")
        }
        f::IPV6_ND_TARGET | f::IPV6_ND_SLL | f::IPV6_ND_TLL
            if et != Some(ETH_IPV6) || proto != Some(IPPROTO_ICMPV6) =>
        {
            need("icmp6 with icmp_type=135 or 136 (neighbor solicitation or advertisement)")
        }
        f::ARP_OP | f::ARP_SPA | f::ARP_TPA | f::ARP_SHA | f::ARP_THA if !is_arp(et) => {
            need("arp or rarp (write arp, or dl_type=0x0806)")
        }
        f::IPV6_SRC | f::IPV6_DST | f::IPV6_FLABEL | f::IPV6_EXTHDR if et != Some(ETH_IPV6) => {
            need("ipv6 (write ipv6, or dl_type=0x86dd)")
        }
        f::MPLS_LABEL | f::MPLS_TC | f::MPLS_BOS if !matches!(et, Some(ETH_MPLS | ETH_MPLS_MC)) => {
            need("mpls (write mpls or mplsm, or dl_type=0x8847)")
        }
        f::PBB_ISID | f::PBB_UCA if et != Some(ETH_PBB) => need("dl_type=0x88e7 (PBB)"),
        _ => None,
    }
}

/// The prerequisite of a Nicira field as a sentence, or `None` if it is met: `nw_ttl` is
/// an IP header field; the tunnel addresses are metadata every packet has.
pub(crate) fn nxm_prereq_error(field: u8, name: &str, et: Option<u16>) -> Option<String> {
    (field == NXM_IP_TTL && !is_ip(et)).then(|| {
        format!("{name} requires ip or ipv6 (write ip or ipv6, or set dl_type=0x0800 or 0x86dd)")
    })
}

/// The prerequisite a `set_field` of `field` has on the match, as a sentence.
pub(crate) fn prereq_for_action(
    field: u8,
    name: &str,
    et: Option<u16>,
    proto: Option<u8>,
) -> Option<String> {
    prereq_error(field, name, et, proto)
}

/// The fields of a match being built, in canonical order (OXM field number; then the
/// Nicira fields by NXM field number; the ONF tcp_flags OXM last), each with the column of
/// the token that set it.
#[derive(Default)]
struct Fields {
    map: BTreeMap<u16, (Oxm, usize, String)>,
}

impl Fields {
    fn key(o: &Oxm) -> u16 {
        match o {
            Oxm::Opaque(op) => match opaque_port(op) {
                Some((field, _, _)) => field as u16,
                None if op.class == OXM_CLASS_NXM_1 => 0x100 + op.field as u16,
                None => 0x200 + op.field as u16,
            },
            _ => o.basic_field().unwrap_or(0) as u16,
        }
    }

    fn put(&mut self, o: Oxm, col: usize, name: &str) -> Result<(), FlowParseError> {
        let k = Self::key(&o);
        if let Some((old, _, oldname)) = self.map.get(&k) {
            if *old != o {
                return Err(FlowParseError::new(
                    col,
                    format!("{name} conflicts with {oldname} given earlier"),
                ));
            }
            return Ok(());
        }
        self.map.insert(k, (o, col, name.to_string()));
        Ok(())
    }
}

/// The TCI being described by `dl_vlan`, `dl_vlan_pcp`, `vlan_tci`, `vlan_vid`.
#[derive(Default)]
struct Tci {
    value: u16,
    mask: u16,
    col: usize,
    name: String,
}

impl Tci {
    fn add(&mut self, v: u16, m: u16, col: usize, name: &str) -> Result<(), FlowParseError> {
        let both = self.mask & m;
        if (self.value ^ v) & both != 0 {
            return Err(FlowParseError::new(
                col,
                format!("{name} conflicts with {} given earlier", self.name),
            ));
        }
        self.value = (self.value & !m) | (v & m);
        self.mask |= m;
        if self.name.is_empty() {
            self.col = col;
            self.name = name.to_string();
        }
        Ok(())
    }

    /// Split into OpenFlow 1.3's `vlan_vid` (with OFPVID_PRESENT) and `vlan_pcp`.
    fn to_oxms(&self, out: &mut Fields) -> Result<(), FlowParseError> {
        let (mut vv, mut vm) = (self.value & 0x1fff, self.mask & 0x1fff);
        let pm = self.mask & 0xe000;
        if pm != 0 && pm != 0xe000 {
            return Err(FlowParseError::new(
                self.col,
                format!(
                    "{}: a mask that covers only some of the priority bits (0x{pm:04x}) cannot be matched in OpenFlow 1.3",
                    self.name
                ),
            ));
        }
        if pm != 0 {
            // 1.3 table 12: vlan_pcp requires a VLAN tag (vlan_vid != OFPVID_NONE).
            if vm & 0x1000 != 0 && vv & 0x1000 == 0 {
                return Err(FlowParseError::new(
                    self.col,
                    format!(
                        "{}: a VLAN priority cannot be matched on untagged packets",
                        self.name
                    ),
                ));
            }
            vv |= 0x1000;
            vm |= 0x1000;
        }
        if vm != 0 {
            let x = if vm == 0x1fff {
                Masked::exact(vv)
            } else {
                Masked::with_mask(vv & vm, vm)
            };
            out.put(Oxm::VlanVid(x), self.col, &self.name)?;
        }
        if pm != 0 {
            out.put(Oxm::VlanPcp((self.value >> 13) as u8), self.col, &self.name)?;
        }
        Ok(())
    }
}

/// Protocol context gathered before the other fields: eth_type and ip_proto, each with
/// the name and column of what set it.
#[derive(Default)]
pub(crate) struct Proto {
    pub eth_type: Option<(u16, usize, String)>,
    pub ip_proto: Option<(u8, usize, String)>,
}

impl Proto {
    pub fn et(&self) -> Option<u16> {
        self.eth_type.as_ref().map(|e| e.0)
    }
    pub fn proto(&self) -> Option<u8> {
        self.ip_proto.as_ref().map(|e| e.0)
    }

    fn set_et(&mut self, v: u16, col: usize, name: &str) -> Result<(), FlowParseError> {
        if let Some((old, _, oname)) = &self.eth_type {
            if *old != v {
                return Err(FlowParseError::new(
                    col,
                    format!("{name} conflicts with {oname} (dl_type=0x{old:04x}) given earlier"),
                ));
            }
            return Ok(());
        }
        self.eth_type = Some((v, col, name.to_string()));
        Ok(())
    }

    fn set_proto(&mut self, v: u8, col: usize, name: &str) -> Result<(), FlowParseError> {
        if let Some((old, _, oname)) = &self.ip_proto {
            if *old != v {
                return Err(FlowParseError::new(
                    col,
                    format!("{name} conflicts with {oname} (nw_proto={old}) given earlier"),
                ));
            }
            return Ok(());
        }
        self.ip_proto = Some((v, col, name.to_string()));
        Ok(())
    }
}

fn val<'a>(t: &Tok<'a>) -> Result<&'a str, FlowParseError> {
    match t.value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(FlowParseError::new(
            t.col,
            format!("{} needs a value ({}=VALUE)", t.key, t.key),
        )),
    }
}

/// Build the OpenFlow 1.3 match from the match tokens of a flow (shorthands and fields).
pub(crate) fn parse_match13(toks: &[Tok<'_>]) -> Result<(Match, Proto), FlowParseError> {
    let mut p = Proto::default();
    // Pass 1: eth_type, from shorthands and dl_type.
    for t in toks {
        if let Some((name, et, proto)) = SHORTHANDS.iter().find(|s| s.0 == t.key) {
            if t.value.is_some() {
                return Err(FlowParseError::new(
                    t.col,
                    format!("{name} is a protocol shorthand and takes no value"),
                ));
            }
            p.set_et(*et, t.col, name)?;
            if let Some(proto) = proto {
                p.set_proto(*proto, t.col, name)?;
            }
        } else if matches!(t.key, "dl_type" | "eth_type") {
            let v = parse_uint(val(t)?, t.key, 0xffff)
                .map_err(|e| FlowParseError::new(t.value_col, e))?;
            p.set_et(v as u16, t.col, t.key)?;
        }
    }
    let mut out = Fields::default();
    // Pass 2: nw_proto, which is the ARP opcode in an ARP flow.
    for t in toks
        .iter()
        .filter(|t| matches!(t.key, "nw_proto" | "ip_proto"))
    {
        let v = val(t)?;
        if is_arp(p.et()) && t.key == "nw_proto" {
            let op = parse_uint(v, "nw_proto (the ARP opcode in an ARP flow)", 255)
                .map_err(|e| FlowParseError::new(t.value_col, e))?;
            out.put(Oxm::ArpOp(op as u16), t.col, t.key)?;
        } else {
            if !is_ip(p.et()) {
                return Err(FlowParseError::new(
                    t.col,
                    format!("{} requires ip or ipv6 (write ip or ipv6, or set dl_type=0x0800 or 0x86dd)", t.key),
                ));
            }
            let v = parse_uint(v, t.key, 255).map_err(|e| FlowParseError::new(t.value_col, e))?;
            p.set_proto(v as u8, t.col, t.key)?;
        }
    }
    let (et, proto) = (p.et(), p.proto());
    let mut tci = Tci::default();
    // Pass 3: everything else.
    for t in toks {
        if SHORTHANDS.iter().any(|s| s.0 == t.key)
            || matches!(t.key, "dl_type" | "eth_type" | "nw_proto" | "ip_proto")
        {
            continue;
        }
        if super::ct::is_ct_field(t.key) {
            let o = super::ct::parse_ct_field(t.key, val(t)?)
                .map_err(|e| FlowParseError::new(t.value_col, e))?;
            if let Some(o) = o {
                out.put(o, t.col, t.key)?;
            }
            continue;
        }
        let Some(kind) = match_kind(t.key) else {
            return Err(FlowParseError::new(
                t.col,
                format!("unknown field \"{}\"", t.key),
            ));
        };
        let v = val(t)?;
        let verr = |e: String| FlowParseError::new(t.value_col, e);
        let field = match kind {
            Kind::Oxm(fno) => fno,
            Kind::NwAddr { src } => {
                if is_arp(et) {
                    if src { f::ARP_SPA } else { f::ARP_TPA }
                } else if et == Some(ETH_IP) {
                    if src { f::IPV4_SRC } else { f::IPV4_DST }
                } else {
                    return Err(FlowParseError::new(
                        t.col,
                        format!("{} requires ip or arp (write ip or arp, or set dl_type=0x0800 or 0x0806)", t.key),
                    ));
                }
            }
            Kind::Tp { src } => match (is_ip(et), proto) {
                (true, Some(IPPROTO_TCP)) => if src { f::TCP_SRC } else { f::TCP_DST },
                (true, Some(IPPROTO_UDP)) => if src { f::UDP_SRC } else { f::UDP_DST },
                (true, Some(IPPROTO_SCTP)) => if src { f::SCTP_SRC } else { f::SCTP_DST },
                _ => {
                    return Err(FlowParseError::new(
                        t.col,
                        format!("{} requires tcp, udp or sctp (set dl_type and nw_proto, or write tcp/udp/sctp)", t.key),
                    ))
                }
            },
            Kind::Icmp { typ } => {
                if et == Some(ETH_IPV6) {
                    if typ { f::ICMPV6_TYPE } else { f::ICMPV6_CODE }
                } else if typ {
                    f::ICMPV4_TYPE
                } else {
                    f::ICMPV4_CODE
                }
            }
            Kind::NwTos => {
                if !is_ip(et) {
                    return Err(FlowParseError::new(t.col, "nw_tos requires ip or ipv6 (write ip or ipv6, or set dl_type=0x0800 or 0x86dd)"));
                }
                let tos = parse_uint(v, "nw_tos", 255).map_err(verr)?;
                if tos & 3 != 0 {
                    return Err(FlowParseError::new(
                        t.value_col,
                        format!("nw_tos={v} sets ECN bits; nw_tos matches only the DSCP bits (a multiple of 4; use nw_ecn for ECN)"),
                    ));
                }
                out.put(Oxm::IpDscp((tos >> 2) as u8), t.col, t.key)?;
                continue;
            }
            Kind::DlVlan => {
                let vid = parse_uint(v, "dl_vlan", 0xffff).map_err(verr)?;
                if vid == 0xffff {
                    tci.add(0, 0x1fff, t.col, t.key)?;
                } else if vid > 0xfff {
                    return Err(verr(format!("value {v} out of range for dl_vlan (0..4095, or 0xffff for no VLAN)")));
                } else {
                    tci.add(0x1000 | vid as u16, 0x1fff, t.col, t.key)?;
                }
                continue;
            }
            Kind::VlanPcp => {
                let pcp = parse_uint(v, t.key, 7).map_err(verr)?;
                tci.add(0x1000 | (pcp as u16) << 13, 0xf000, t.col, t.key)?;
                continue;
            }
            Kind::VlanVid => {
                let (vid, m) = parse_uint_masked(v, "vlan_vid", 0x1fff).map_err(verr)?;
                let m = m.unwrap_or(0x1fff) as u16;
                tci.add(vid as u16 & m, m, t.col, t.key)?;
                continue;
            }
            Kind::VlanTci => {
                let (tv, m) = parse_uint_masked(v, "vlan_tci", 0xffff).map_err(verr)?;
                let m = m.unwrap_or(0xffff) as u16;
                tci.add(tv as u16 & m, m, t.col, t.key)?;
                continue;
            }
            Kind::TcpFlags => {
                if !is_ip(et) || proto != Some(IPPROTO_TCP) {
                    return Err(FlowParseError::new(t.col, "tcp_flags requires tcp (write tcp or tcp6)"));
                }
                let (fv, m) = parse_tcp_flags(v).map_err(verr)?;
                let m = m.filter(|m| *m != TCP_FLAGS_MAX);
                if m == Some(0) {
                    continue;
                }
                out.put(tcp_flags_oxm(fv & m.unwrap_or(TCP_FLAGS_MAX), m), t.col, t.key)?;
                continue;
            }
            Kind::Nxm(fno) => {
                if let Some(e) = nxm_prereq_error(fno, t.key, et) {
                    return Err(FlowParseError::new(t.col, e));
                }
                if let Some(o) = parse_nxm(fno, t.key, v).map_err(verr)? {
                    out.put(o, t.col, t.key)?;
                }
                continue;
            }
        };
        if let Some(e) = prereq_error(field, t.key, et, proto) {
            return Err(FlowParseError::new(t.col, e));
        }
        if let Some(o) = parse_oxm(field, t.key, v).map_err(verr)? {
            out.put(o, t.col, t.key)?;
        }
    }
    tci.to_oxms(&mut out)?;
    // ND fields need the ICMPv6 type that carries them (OpenFlow 1.3.5 table 12).
    let icmp6_type = out.map.get(&(f::ICMPV6_TYPE as u16)).map(|e| e.0.clone());
    for (fno, types, what) in [
        (f::IPV6_ND_TARGET, &[135u8, 136][..], "icmp_type=135 or 136"),
        (
            f::IPV6_ND_SLL,
            &[135][..],
            "icmp_type=135 (neighbor solicitation)",
        ),
        (
            f::IPV6_ND_TLL,
            &[136][..],
            "icmp_type=136 (neighbor advertisement)",
        ),
    ] {
        if let Some((_, col, name)) = out.map.get(&(fno as u16)) {
            let ok = matches!(&icmp6_type, Some(Oxm::Icmpv6Type(t)) if types.contains(t));
            if !ok {
                return Err(FlowParseError::new(*col, format!("{name} requires {what}")));
            }
        }
    }
    if let Some((v, col, name)) = &p.eth_type {
        out.put(Oxm::EthType(*v), *col, name)?;
    }
    if let Some((v, col, name)) = &p.ip_proto {
        out.put(Oxm::IpProto(*v), *col, name)?;
    }
    let m = Match::from_fields(out.map.into_values().map(|(o, _, _)| o));
    Ok((m, p))
}

// ---------------------------------------------------------------------------------------
// Printing a 1.3 match the way Open vSwitch's `match_format` does.

/// Print `m` in ovs-ofctl syntax, `priority=N,` first when given; empty for the empty match.
pub(crate) fn fmt_match13(m: &Match, priority: Option<u16>) -> String {
    let fields = &m.fields;
    let mut done = vec![false; fields.len()];
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = priority {
        out.push(format!("priority={p}"));
    }
    super::ct::take_ct_fields(fields, &mut done, &mut out);
    let find = |fno: u8| fields.iter().position(|o| o.basic_field() == Some(fno));
    let take = |fno: u8, done: &mut Vec<bool>| -> Option<Oxm> {
        let i = find(fno)?;
        if done[i] {
            return None;
        }
        done[i] = true;
        Some(fields[i].clone())
    };
    let et = find(f::ETH_TYPE).and_then(|i| match fields[i] {
        Oxm::EthType(v) => Some(v),
        _ => None,
    });
    let proto = find(f::IP_PROTO).and_then(|i| match fields[i] {
        Oxm::IpProto(v) => Some(v),
        _ => None,
    });
    // Shorthand folding, as match_format does.
    let mut skip_proto = false;
    if let Some(et) = et {
        let short = match (et, proto) {
            (ETH_IP, Some(IPPROTO_ICMP)) => Some(("icmp", true)),
            (ETH_IP, Some(IPPROTO_TCP)) => Some(("tcp", true)),
            (ETH_IP, Some(IPPROTO_UDP)) => Some(("udp", true)),
            (ETH_IP, Some(IPPROTO_SCTP)) => Some(("sctp", true)),
            (ETH_IP, _) => Some(("ip", false)),
            (ETH_IPV6, Some(IPPROTO_ICMPV6)) => Some(("icmp6", true)),
            (ETH_IPV6, Some(IPPROTO_TCP)) => Some(("tcp6", true)),
            (ETH_IPV6, Some(IPPROTO_UDP)) => Some(("udp6", true)),
            (ETH_IPV6, Some(IPPROTO_SCTP)) => Some(("sctp6", true)),
            (ETH_IPV6, _) => Some(("ipv6", false)),
            (ETH_ARP, _) => Some(("arp", false)),
            (ETH_RARP, _) => Some(("rarp", false)),
            (ETH_MPLS, _) => Some(("mpls", false)),
            (ETH_MPLS_MC, _) => Some(("mplsm", false)),
            _ => None,
        };
        if let Some((name, sp)) = short {
            out.push(name.into());
            take(f::ETH_TYPE, &mut done);
            if sp {
                skip_proto = true;
                take(f::IP_PROTO, &mut done);
            }
        }
    }
    let push = |out: &mut Vec<String>, name: &str, v: String| out.push(format!("{name}={v}"));
    // A Nicira field, printed by its own name where match_format puts it.
    let take_nxm = |fno: u8, done: &mut Vec<bool>, out: &mut Vec<String>| {
        for (i, o) in fields.iter().enumerate() {
            if let Oxm::Opaque(op) = o {
                if let Some((name, v)) = opaque_nxm(op).filter(|_| op.field == fno && !done[i]) {
                    done[i] = true;
                    out.push(format!("{name}={v}"));
                    return;
                }
            }
        }
    };
    if let Some(Oxm::TunnelId(m)) = take(f::TUNNEL_ID, &mut done) {
        push(&mut out, "tun_id", hex_masked(m.value, m.mask));
    }
    take_nxm(NXM_TUN_IPV4_SRC, &mut done, &mut out);
    take_nxm(NXM_TUN_IPV4_DST, &mut done, &mut out);
    if let Some(Oxm::Metadata(m)) = take(f::METADATA, &mut done) {
        push(&mut out, "metadata", hex_masked(m.value, m.mask));
    }
    if let Some(Oxm::InPort(p)) = take(f::IN_PORT, &mut done) {
        push(&mut out, "in_port", fmt_port13(p));
    }
    if let Some(Oxm::InPhyPort(p)) = take(f::IN_PHY_PORT, &mut done) {
        push(&mut out, "in_phy_port", fmt_port13(p));
    }
    fmt_vlan(fields, &mut done, &mut out);
    if let Some(Oxm::EthSrc(m)) = take(f::ETH_SRC, &mut done) {
        push(&mut out, "dl_src", fmt_mac_masked(m.value, m.mask));
    }
    if let Some(Oxm::EthDst(m)) = take(f::ETH_DST, &mut done) {
        push(&mut out, "dl_dst", fmt_mac_masked(m.value, m.mask));
    }
    if let Some(Oxm::EthType(v)) = take(f::ETH_TYPE, &mut done) {
        push(&mut out, "dl_type", format!("0x{v:04x}"));
    }
    match et {
        Some(ETH_IPV6) => {
            if let Some(Oxm::Ipv6Src(m)) = take(f::IPV6_SRC, &mut done) {
                push(&mut out, "ipv6_src", fmt_ipv6_masked(m.value, m.mask));
            }
            if let Some(Oxm::Ipv6Dst(m)) = take(f::IPV6_DST, &mut done) {
                push(&mut out, "ipv6_dst", fmt_ipv6_masked(m.value, m.mask));
            }
            if let Some(Oxm::Ipv6Flabel(m)) = take(f::IPV6_FLABEL, &mut done) {
                let v = match m.mask {
                    None => format!("0x{:05x}", m.value),
                    Some(mk) => format!("0x{:05x}/0x{:05x}", m.value, mk),
                };
                push(&mut out, "ipv6_label", v);
            }
        }
        Some(ETH_ARP | ETH_RARP) => {
            if let Some(Oxm::ArpSpa(m)) = take(f::ARP_SPA, &mut done) {
                push(&mut out, "arp_spa", fmt_ipv4_masked(m.value, m.mask));
            }
            if let Some(Oxm::ArpTpa(m)) = take(f::ARP_TPA, &mut done) {
                push(&mut out, "arp_tpa", fmt_ipv4_masked(m.value, m.mask));
            }
        }
        Some(ETH_IP) => {
            if let Some(Oxm::Ipv4Src(m)) = take(f::IPV4_SRC, &mut done) {
                push(&mut out, "nw_src", fmt_ipv4_masked(m.value, m.mask));
            }
            if let Some(Oxm::Ipv4Dst(m)) = take(f::IPV4_DST, &mut done) {
                push(&mut out, "nw_dst", fmt_ipv4_masked(m.value, m.mask));
            }
        }
        _ => {}
    }
    if is_arp(et) {
        if let Some(Oxm::ArpOp(v)) = take(f::ARP_OP, &mut done) {
            push(&mut out, "arp_op", v.to_string());
        }
    } else if !skip_proto && is_ip(et) {
        if let Some(Oxm::IpProto(v)) = take(f::IP_PROTO, &mut done) {
            push(&mut out, "nw_proto", v.to_string());
        }
    }
    if is_arp(et) {
        if let Some(Oxm::ArpSha(m)) = take(f::ARP_SHA, &mut done) {
            push(&mut out, "arp_sha", fmt_mac_masked(m.value, m.mask));
        }
        if let Some(Oxm::ArpTha(m)) = take(f::ARP_THA, &mut done) {
            push(&mut out, "arp_tha", fmt_mac_masked(m.value, m.mask));
        }
    }
    if is_ip(et) {
        if let Some(Oxm::IpDscp(v)) = take(f::IP_DSCP, &mut done) {
            if v < 64 {
                push(&mut out, "nw_tos", (v << 2).to_string());
            } else {
                push(&mut out, "ip_dscp", v.to_string());
            }
        }
        if let Some(Oxm::IpEcn(v)) = take(f::IP_ECN, &mut done) {
            push(&mut out, "nw_ecn", v.to_string());
        }
        take_nxm(NXM_IP_TTL, &mut done, &mut out);
    }
    if matches!(et, Some(ETH_MPLS | ETH_MPLS_MC)) {
        if let Some(Oxm::MplsLabel(v)) = take(f::MPLS_LABEL, &mut done) {
            push(&mut out, "mpls_label", v.to_string());
        }
        if let Some(Oxm::MplsTc(v)) = take(f::MPLS_TC, &mut done) {
            push(&mut out, "mpls_tc", v.to_string());
        }
        if let Some(Oxm::MplsBos(v)) = take(f::MPLS_BOS, &mut done) {
            push(&mut out, "mpls_bos", v.to_string());
        }
    }
    match (et, proto) {
        (Some(ETH_IP), Some(IPPROTO_ICMP)) => {
            if let Some(Oxm::Icmpv4Type(v)) = take(f::ICMPV4_TYPE, &mut done) {
                push(&mut out, "icmp_type", v.to_string());
            }
            if let Some(Oxm::Icmpv4Code(v)) = take(f::ICMPV4_CODE, &mut done) {
                push(&mut out, "icmp_code", v.to_string());
            }
        }
        (Some(ETH_IPV6), Some(IPPROTO_ICMPV6)) => {
            if let Some(Oxm::Icmpv6Type(v)) = take(f::ICMPV6_TYPE, &mut done) {
                push(&mut out, "icmp_type", v.to_string());
            }
            if let Some(Oxm::Icmpv6Code(v)) = take(f::ICMPV6_CODE, &mut done) {
                push(&mut out, "icmp_code", v.to_string());
            }
            if let Some(Oxm::Ipv6NdTarget(a)) = take(f::IPV6_ND_TARGET, &mut done) {
                push(&mut out, "nd_target", a.to_string());
            }
            if let Some(Oxm::Ipv6NdSll(a)) = take(f::IPV6_ND_SLL, &mut done) {
                push(&mut out, "nd_sll", a.to_string());
            }
            if let Some(Oxm::Ipv6NdTll(a)) = take(f::IPV6_ND_TLL, &mut done) {
                push(&mut out, "nd_tll", a.to_string());
            }
        }
        (Some(ETH_IP | ETH_IPV6), Some(p @ (IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP))) => {
            let (s, d) = match p {
                IPPROTO_TCP => (f::TCP_SRC, f::TCP_DST),
                IPPROTO_UDP => (f::UDP_SRC, f::UDP_DST),
                _ => (f::SCTP_SRC, f::SCTP_DST),
            };
            for (fno, name) in [(s, "tp_src"), (d, "tp_dst")] {
                if let Some(o) = take(fno, &mut done) {
                    push(&mut out, name, fmt_oxm(&o).1);
                } else if let Some(i) = fields.iter().position(
                    |o| matches!(o, Oxm::Opaque(op) if opaque_port(op).is_some_and(|x| x.0 == fno)),
                ) {
                    if !done[i] {
                        done[i] = true;
                        push(&mut out, name, fmt_oxm(&fields[i]).1);
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(i) = fields
        .iter()
        .position(|o| matches!(o, Oxm::Opaque(op) if opaque_tcp_flags(op).is_some()))
    {
        if !done[i] {
            done[i] = true;
            push(&mut out, "tcp_flags", fmt_oxm(&fields[i]).1);
        }
    }
    // Whatever is left (fields Open vSwitch has no place for, or whose prerequisites are
    // missing) by its OXM name.
    for (i, o) in fields.iter().enumerate() {
        if !done[i] {
            let (n, v) = fmt_oxm(o);
            push(&mut out, &n, v);
        }
    }
    out.join(",")
}

/// VLAN fields as `dl_vlan`/`dl_vlan_pcp`/`vlan_tci`, the way match_format does.
fn fmt_vlan(fields: &[Oxm], done: &mut [bool], out: &mut Vec<String>) {
    let vi = fields.iter().position(|o| matches!(o, Oxm::VlanVid(_)));
    let pi = fields.iter().position(|o| matches!(o, Oxm::VlanPcp(_)));
    let (mut v, mut m) = (0u16, 0u16);
    if let Some(i) = vi {
        if let Oxm::VlanVid(x) = &fields[i] {
            let xm = x.mask.unwrap_or(0x1fff);
            if x.value > 0x1fff || xm > 0x1fff || x.value & !xm != 0 {
                return; // not a TCI; printed by its OXM name
            }
            v = x.value;
            m = xm;
        }
    }
    if let Some(i) = pi {
        if let Oxm::VlanPcp(p) = fields[i] {
            if p > 7 || (vi.is_some() && v & 0x1000 == 0) {
                return;
            }
            v |= (p as u16) << 13 | 0x1000;
            m |= 0xe000 | 0x1000;
        }
    }
    if m == 0 {
        return;
    }
    // A vlan_pcp without vlan_vid in the match reads back with vlan_vid=0x1000/0x1000.
    if pi.is_some() && vi.is_none() {
        return;
    }
    for i in [vi, pi].into_iter().flatten() {
        done[i] = true;
    }
    let (vid_mask, pcp_mask, cfi) = (m & 0x0fff, m & 0xe000, m & 0x1000 != 0);
    if cfi
        && v & 0x1000 != 0
        && (vid_mask == 0 || vid_mask == 0x0fff)
        && (pcp_mask == 0 || pcp_mask == 0xe000)
        && (vid_mask != 0 || pcp_mask != 0)
    {
        if vid_mask != 0 {
            out.push(format!("dl_vlan={}", v & 0x0fff));
        }
        if pcp_mask != 0 {
            out.push(format!("dl_vlan_pcp={}", v >> 13));
        }
    } else if m == 0xffff {
        out.push(format!("vlan_tci=0x{v:04x}"));
    } else {
        out.push(format!("vlan_tci=0x{v:04x}/0x{m:04x}"));
    }
}
