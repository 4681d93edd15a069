//! OXM match fields and `ofp_match` (spec 7.2.2, 7.2.3).
//!
//! ```text
//! ofp_match:   | type = 1 (OXM) : 16 | length (excl. padding) : 16 | oxm fields ... | pad to 8 |
//! OXM TLV:     | oxm_class : 16 | oxm_field : 7 | hasmask : 1 | oxm_length : 8 | value | mask |
//! ```
//! Fields of the OpenFlow basic class (0x8000) are typed; every other class (Nicira NXM
//! 0x0000/0x0001, experimenter 0xffff, anything unknown) is kept as an opaque TLV so that a
//! match re-encodes byte for byte. The list stays in wire order.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::wire::{pad8, pad_from, patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `OFPXMC_OPENFLOW_BASIC`
pub const OXM_CLASS_OPENFLOW_BASIC: u16 = 0x8000;
/// `OFPXMC_EXPERIMENTER`
pub const OXM_CLASS_EXPERIMENTER: u16 = 0xffff;
/// Nicira extensible match classes (NXM_0, NXM_1), kept opaque.
pub const OXM_CLASS_NXM_0: u16 = 0x0000;
pub const OXM_CLASS_NXM_1: u16 = 0x0001;

/// `OFPMT_OXM`, the only match type of OpenFlow 1.3 we accept.
pub(crate) const OFPMT_OXM: u16 = 1;

/// An Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            a[0], a[1], a[2], a[3], a[4], a[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A value and, where the spec allows one, an optional mask (`hasmask`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Masked<T> {
    pub value: T,
    pub mask: Option<T>,
}

impl<T> Masked<T> {
    pub const fn exact(value: T) -> Self {
        Masked { value, mask: None }
    }
    pub const fn with_mask(value: T, mask: T) -> Self {
        Masked {
            value,
            mask: Some(mask),
        }
    }
}

/// One OXM TLV of a class we do not interpret: kept as it came, re-encoded byte for byte.
/// For the experimenter class `payload` starts with the 32-bit experimenter id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OxmOpaque {
    pub class: u16,
    /// The 7-bit field number.
    pub field: u8,
    pub has_mask: bool,
    /// Everything after the 4-byte OXM header (`oxm_length` bytes, at most 255).
    pub payload: Bytes,
}

/// The `oxm_field` numbers of the OpenFlow basic class (`enum oxm_ofb_match_fields`).
pub mod field {
    pub const IN_PORT: u8 = 0;
    pub const IN_PHY_PORT: u8 = 1;
    pub const METADATA: u8 = 2;
    pub(crate) const ETH_DST: u8 = 3;
    pub(crate) const ETH_SRC: u8 = 4;
    pub const ETH_TYPE: u8 = 5;
    pub const VLAN_VID: u8 = 6;
    pub const VLAN_PCP: u8 = 7;
    pub const IP_DSCP: u8 = 8;
    pub const IP_ECN: u8 = 9;
    pub const IP_PROTO: u8 = 10;
    pub const IPV4_SRC: u8 = 11;
    pub const IPV4_DST: u8 = 12;
    pub const TCP_SRC: u8 = 13;
    pub const TCP_DST: u8 = 14;
    pub const UDP_SRC: u8 = 15;
    pub const UDP_DST: u8 = 16;
    pub const SCTP_SRC: u8 = 17;
    pub const SCTP_DST: u8 = 18;
    pub const ICMPV4_TYPE: u8 = 19;
    pub const ICMPV4_CODE: u8 = 20;
    pub const ARP_OP: u8 = 21;
    pub const ARP_SPA: u8 = 22;
    pub const ARP_TPA: u8 = 23;
    pub const ARP_SHA: u8 = 24;
    pub const ARP_THA: u8 = 25;
    pub const IPV6_SRC: u8 = 26;
    pub const IPV6_DST: u8 = 27;
    pub const IPV6_FLABEL: u8 = 28;
    pub const ICMPV6_TYPE: u8 = 29;
    pub const ICMPV6_CODE: u8 = 30;
    pub const IPV6_ND_TARGET: u8 = 31;
    pub const IPV6_ND_SLL: u8 = 32;
    pub const IPV6_ND_TLL: u8 = 33;
    pub const MPLS_LABEL: u8 = 34;
    pub const MPLS_TC: u8 = 35;
    pub const MPLS_BOS: u8 = 36;
    pub const PBB_ISID: u8 = 37;
    pub(crate) const TUNNEL_ID: u8 = 38;
    pub const IPV6_EXTHDR: u8 = 39;
    /// Defined by OpenFlow 1.4 (field 40 is unassigned); accepted here because Open vSwitch
    /// and others send it on 1.3 connections too.
    pub const PBB_UCA: u8 = 41;
}

/// `OFPVID_PRESENT`: set in `vlan_vid` when a VLAN tag is present.
pub const OFPVID_PRESENT: u16 = 0x1000;

/// One OXM match field (or set-field argument).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Oxm {
    InPort(u32),
    InPhyPort(u32),
    Metadata(Masked<u64>),
    EthDst(Masked<MacAddr>),
    EthSrc(Masked<MacAddr>),
    EthType(u16),
    /// 13 bits: VLAN id | [`OFPVID_PRESENT`].
    VlanVid(Masked<u16>),
    VlanPcp(u8),
    IpDscp(u8),
    IpEcn(u8),
    IpProto(u8),
    Ipv4Src(Masked<Ipv4Addr>),
    Ipv4Dst(Masked<Ipv4Addr>),
    TcpSrc(u16),
    TcpDst(u16),
    UdpSrc(u16),
    UdpDst(u16),
    SctpSrc(u16),
    SctpDst(u16),
    Icmpv4Type(u8),
    Icmpv4Code(u8),
    ArpOp(u16),
    ArpSpa(Masked<Ipv4Addr>),
    ArpTpa(Masked<Ipv4Addr>),
    ArpSha(Masked<MacAddr>),
    ArpTha(Masked<MacAddr>),
    Ipv6Src(Masked<Ipv6Addr>),
    Ipv6Dst(Masked<Ipv6Addr>),
    /// 20 bits.
    Ipv6Flabel(Masked<u32>),
    Icmpv6Type(u8),
    Icmpv6Code(u8),
    Ipv6NdTarget(Ipv6Addr),
    Ipv6NdSll(MacAddr),
    Ipv6NdTll(MacAddr),
    /// 20 bits.
    MplsLabel(u32),
    MplsTc(u8),
    MplsBos(u8),
    /// 24 bits, 3 bytes on the wire.
    PbbIsid(Masked<u32>),
    TunnelId(Masked<u64>),
    /// `enum ofp_ipv6exthdr_flags`, 9 bits.
    Ipv6Exthdr(Masked<u16>),
    PbbUca(u8),
    /// Any other class, kept opaque.
    Opaque(OxmOpaque),
}

/// Value length in bytes and whether a mask is allowed, per basic field (spec table 12).
pub(crate) fn basic_field_spec(field: u8) -> Option<(usize, bool)> {
    use field::*;
    Some(match field {
        IN_PORT | IN_PHY_PORT => (4, false),
        METADATA => (8, true),
        ETH_DST | ETH_SRC => (6, true),
        ETH_TYPE => (2, false),
        VLAN_VID => (2, true),
        VLAN_PCP | IP_DSCP | IP_ECN | IP_PROTO => (1, false),
        IPV4_SRC | IPV4_DST => (4, true),
        TCP_SRC | TCP_DST | UDP_SRC | UDP_DST | SCTP_SRC | SCTP_DST => (2, false),
        ICMPV4_TYPE | ICMPV4_CODE => (1, false),
        ARP_OP => (2, false),
        ARP_SPA | ARP_TPA => (4, true),
        ARP_SHA | ARP_THA => (6, true),
        IPV6_SRC | IPV6_DST => (16, true),
        IPV6_FLABEL => (4, true),
        ICMPV6_TYPE | ICMPV6_CODE => (1, false),
        IPV6_ND_TARGET => (16, false),
        IPV6_ND_SLL | IPV6_ND_TLL => (6, false),
        MPLS_LABEL => (4, false),
        MPLS_TC | MPLS_BOS => (1, false),
        PBB_ISID => (3, true),
        TUNNEL_ID => (8, true),
        IPV6_EXTHDR => (2, true),
        PBB_UCA => (1, false),
        _ => return None,
    })
}

/// Which OpenFlow errors a malformed OXM is answered with: in a match they are
/// BAD_MATCH codes, in a set-field action BAD_ACTION/BAD_SET_* codes.
#[derive(Clone, Copy)]
pub(crate) struct OxmErrors {
    pub len: OfpErrorCode,
    pub field: OfpErrorCode,
    pub mask: OfpErrorCode,
}

pub(crate) const MATCH_ERRORS: OxmErrors = OxmErrors {
    len: OfpErrorCode::BAD_MATCH_LEN,
    field: OfpErrorCode::BAD_MATCH_FIELD,
    mask: OfpErrorCode::BAD_MATCH_MASK,
};

impl Oxm {
    /// The basic-class field number, or `None` for an opaque TLV.
    pub fn basic_field(&self) -> Option<u8> {
        use field::*;
        Some(match self {
            Oxm::InPort(_) => IN_PORT,
            Oxm::InPhyPort(_) => IN_PHY_PORT,
            Oxm::Metadata(_) => METADATA,
            Oxm::EthDst(_) => ETH_DST,
            Oxm::EthSrc(_) => ETH_SRC,
            Oxm::EthType(_) => ETH_TYPE,
            Oxm::VlanVid(_) => VLAN_VID,
            Oxm::VlanPcp(_) => VLAN_PCP,
            Oxm::IpDscp(_) => IP_DSCP,
            Oxm::IpEcn(_) => IP_ECN,
            Oxm::IpProto(_) => IP_PROTO,
            Oxm::Ipv4Src(_) => IPV4_SRC,
            Oxm::Ipv4Dst(_) => IPV4_DST,
            Oxm::TcpSrc(_) => TCP_SRC,
            Oxm::TcpDst(_) => TCP_DST,
            Oxm::UdpSrc(_) => UDP_SRC,
            Oxm::UdpDst(_) => UDP_DST,
            Oxm::SctpSrc(_) => SCTP_SRC,
            Oxm::SctpDst(_) => SCTP_DST,
            Oxm::Icmpv4Type(_) => ICMPV4_TYPE,
            Oxm::Icmpv4Code(_) => ICMPV4_CODE,
            Oxm::ArpOp(_) => ARP_OP,
            Oxm::ArpSpa(_) => ARP_SPA,
            Oxm::ArpTpa(_) => ARP_TPA,
            Oxm::ArpSha(_) => ARP_SHA,
            Oxm::ArpTha(_) => ARP_THA,
            Oxm::Ipv6Src(_) => IPV6_SRC,
            Oxm::Ipv6Dst(_) => IPV6_DST,
            Oxm::Ipv6Flabel(_) => IPV6_FLABEL,
            Oxm::Icmpv6Type(_) => ICMPV6_TYPE,
            Oxm::Icmpv6Code(_) => ICMPV6_CODE,
            Oxm::Ipv6NdTarget(_) => IPV6_ND_TARGET,
            Oxm::Ipv6NdSll(_) => IPV6_ND_SLL,
            Oxm::Ipv6NdTll(_) => IPV6_ND_TLL,
            Oxm::MplsLabel(_) => MPLS_LABEL,
            Oxm::MplsTc(_) => MPLS_TC,
            Oxm::MplsBos(_) => MPLS_BOS,
            Oxm::PbbIsid(_) => PBB_ISID,
            Oxm::TunnelId(_) => TUNNEL_ID,
            Oxm::Ipv6Exthdr(_) => IPV6_EXTHDR,
            Oxm::PbbUca(_) => PBB_UCA,
            Oxm::Opaque(_) => return None,
        })
    }

    /// Whether the TLV carries a mask (`hasmask`).
    pub fn has_mask(&self) -> bool {
        match self {
            Oxm::Metadata(m) | Oxm::TunnelId(m) => m.mask.is_some(),
            Oxm::EthDst(m) | Oxm::EthSrc(m) | Oxm::ArpSha(m) | Oxm::ArpTha(m) => m.mask.is_some(),
            Oxm::VlanVid(m) | Oxm::Ipv6Exthdr(m) => m.mask.is_some(),
            Oxm::Ipv4Src(m) | Oxm::Ipv4Dst(m) | Oxm::ArpSpa(m) | Oxm::ArpTpa(m) => m.mask.is_some(),
            Oxm::Ipv6Src(m) | Oxm::Ipv6Dst(m) => m.mask.is_some(),
            Oxm::Ipv6Flabel(m) | Oxm::PbbIsid(m) => m.mask.is_some(),
            Oxm::Opaque(o) => o.has_mask,
            _ => false,
        }
    }

    /// Bytes on the wire, header included.
    pub fn wire_len(&self) -> usize {
        match (self, self.basic_field().and_then(basic_field_spec)) {
            (Oxm::Opaque(o), _) => 4 + o.payload.len(),
            (_, Some((len, _))) => 4 + if self.has_mask() { 2 * len } else { len },
            (_, None) => 4,
        }
    }

    /// The 32-bit OXM header (class, field, hasmask, length).
    pub fn header(&self) -> u32 {
        let (class, field, has_mask) = match self {
            Oxm::Opaque(o) => (o.class, o.field & 0x7f, o.has_mask),
            _ => (
                OXM_CLASS_OPENFLOW_BASIC,
                self.basic_field().unwrap_or(0),
                self.has_mask(),
            ),
        };
        let len = (self.wire_len() - 4) as u32 & 0xff;
        (class as u32) << 16 | (field as u32) << 9 | (has_mask as u32) << 8 | len
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.header());
        fn m<T: Copy>(out: &mut BytesMut, v: &Masked<T>, put: fn(&mut BytesMut, T)) {
            put(out, v.value);
            if let Some(mask) = v.mask {
                put(out, mask);
            }
        }
        fn mac(out: &mut BytesMut, a: MacAddr) {
            out.put_slice(&a.0);
        }
        fn v4(out: &mut BytesMut, a: Ipv4Addr) {
            out.put_slice(&a.octets());
        }
        fn v6(out: &mut BytesMut, a: Ipv6Addr) {
            out.put_slice(&a.octets());
        }
        fn u24(out: &mut BytesMut, v: u32) {
            out.put_slice(&v.to_be_bytes()[1..]);
        }
        match self {
            Oxm::InPort(v) | Oxm::InPhyPort(v) | Oxm::MplsLabel(v) => out.put_u32(*v),
            Oxm::Metadata(v) | Oxm::TunnelId(v) => m(out, v, |o, x| o.put_u64(x)),
            Oxm::EthDst(v) | Oxm::EthSrc(v) | Oxm::ArpSha(v) | Oxm::ArpTha(v) => m(out, v, mac),
            Oxm::EthType(v)
            | Oxm::TcpSrc(v)
            | Oxm::TcpDst(v)
            | Oxm::UdpSrc(v)
            | Oxm::UdpDst(v)
            | Oxm::SctpSrc(v)
            | Oxm::SctpDst(v)
            | Oxm::ArpOp(v) => out.put_u16(*v),
            Oxm::VlanVid(v) | Oxm::Ipv6Exthdr(v) => m(out, v, |o, x| o.put_u16(x)),
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
            | Oxm::PbbUca(v) => out.put_u8(*v),
            Oxm::Ipv4Src(v) | Oxm::Ipv4Dst(v) | Oxm::ArpSpa(v) | Oxm::ArpTpa(v) => m(out, v, v4),
            Oxm::Ipv6Src(v) | Oxm::Ipv6Dst(v) => m(out, v, v6),
            Oxm::Ipv6Flabel(v) => m(out, v, |o, x| o.put_u32(x)),
            Oxm::Ipv6NdTarget(v) => v6(out, *v),
            Oxm::Ipv6NdSll(v) | Oxm::Ipv6NdTll(v) => mac(out, *v),
            Oxm::PbbIsid(v) => m(out, v, u24),
            Oxm::Opaque(o) => out.put_slice(&o.payload),
        }
    }

    /// Decode one OXM TLV at the reader's position.
    pub(crate) fn decode(r: &mut Reader<'_>, errs: OxmErrors) -> Result<Oxm, DecodeError> {
        // 7.2.3.2: the 4-byte header, then oxm_length bytes of payload.
        if r.remaining() < 4 {
            return Err(r.err(errs.len, "OXM header truncated"));
        }
        let header = r.u32()?;
        let class = (header >> 16) as u16;
        let field_no = ((header >> 9) & 0x7f) as u8;
        let has_mask = header & 0x100 != 0;
        let len = (header & 0xff) as usize;
        if r.remaining() < len {
            return Err(r.err(errs.len, "OXM payload runs past the match"));
        }
        if class != OXM_CLASS_OPENFLOW_BASIC {
            // 7.2.3.1: other classes are not ours to interpret; keep them as they came.
            return Ok(Oxm::Opaque(OxmOpaque {
                class,
                field: field_no,
                has_mask,
                payload: r.bytes(len)?,
            }));
        }
        // 7.2.3.7: a switch that does not support a field answers OFPBMC_BAD_FIELD.
        let Some((vlen, maskable)) = basic_field_spec(field_no) else {
            return Err(r.err(errs.field, "unknown OpenFlow basic OXM field"));
        };
        // 7.2.3.5: hasmask on a field that the spec does not let be masked is
        // OFPBMC_BAD_MASK for a switch that cannot match it. Open vSwitch can, and sends such
        // fields in flow-mods and flow-stats replies (e.g. a masked tcp_dst): in a match the
        // TLV is kept as it came, opaque, for the consumer to refuse (BAD_MASK) if it must.
        // In a set-field action a mask is never valid in 1.3 (7.2.5), so it stays an error.
        if has_mask && !maskable {
            if errs.mask == OfpErrorCode::BAD_MATCH_MASK {
                return Ok(Oxm::Opaque(OxmOpaque {
                    class,
                    field: field_no,
                    has_mask,
                    payload: r.bytes(len)?,
                }));
            }
            return Err(r.err(errs.mask, "mask on an OXM field that allows none"));
        }
        // 7.2.3.2: oxm_length is the value length, doubled when a mask follows.
        if len != if has_mask { 2 * vlen } else { vlen } {
            return Err(r.err(errs.len, "OXM length wrong for its field"));
        }
        fn masked<T>(
            r: &mut Reader<'_>,
            has_mask: bool,
            get: fn(&mut Reader<'_>) -> Result<T, DecodeError>,
        ) -> Result<Masked<T>, DecodeError> {
            let value = get(r)?;
            let mask = if has_mask { Some(get(r)?) } else { None };
            Ok(Masked { value, mask })
        }
        fn mac(r: &mut Reader<'_>) -> Result<MacAddr, DecodeError> {
            Ok(MacAddr(r.array()?))
        }
        fn v4(r: &mut Reader<'_>) -> Result<Ipv4Addr, DecodeError> {
            Ok(Ipv4Addr::from(r.array::<4>()?))
        }
        fn v6(r: &mut Reader<'_>) -> Result<Ipv6Addr, DecodeError> {
            Ok(Ipv6Addr::from(r.array::<16>()?))
        }
        fn u24(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
            let [a, b, c] = r.array::<3>()?;
            Ok(u32::from_be_bytes([0, a, b, c]))
        }
        fn u16_(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
            r.u16()
        }
        fn u32_(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
            r.u32()
        }
        fn u64_(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
            r.u64()
        }
        use field::*;
        let hm = has_mask;
        Ok(match field_no {
            IN_PORT => Oxm::InPort(r.u32()?),
            IN_PHY_PORT => Oxm::InPhyPort(r.u32()?),
            METADATA => Oxm::Metadata(masked(r, hm, u64_)?),
            ETH_DST => Oxm::EthDst(masked(r, hm, mac)?),
            ETH_SRC => Oxm::EthSrc(masked(r, hm, mac)?),
            ETH_TYPE => Oxm::EthType(r.u16()?),
            VLAN_VID => Oxm::VlanVid(masked(r, hm, u16_)?),
            VLAN_PCP => Oxm::VlanPcp(r.u8()?),
            IP_DSCP => Oxm::IpDscp(r.u8()?),
            IP_ECN => Oxm::IpEcn(r.u8()?),
            IP_PROTO => Oxm::IpProto(r.u8()?),
            IPV4_SRC => Oxm::Ipv4Src(masked(r, hm, v4)?),
            IPV4_DST => Oxm::Ipv4Dst(masked(r, hm, v4)?),
            TCP_SRC => Oxm::TcpSrc(r.u16()?),
            TCP_DST => Oxm::TcpDst(r.u16()?),
            UDP_SRC => Oxm::UdpSrc(r.u16()?),
            UDP_DST => Oxm::UdpDst(r.u16()?),
            SCTP_SRC => Oxm::SctpSrc(r.u16()?),
            SCTP_DST => Oxm::SctpDst(r.u16()?),
            ICMPV4_TYPE => Oxm::Icmpv4Type(r.u8()?),
            ICMPV4_CODE => Oxm::Icmpv4Code(r.u8()?),
            ARP_OP => Oxm::ArpOp(r.u16()?),
            ARP_SPA => Oxm::ArpSpa(masked(r, hm, v4)?),
            ARP_TPA => Oxm::ArpTpa(masked(r, hm, v4)?),
            ARP_SHA => Oxm::ArpSha(masked(r, hm, mac)?),
            ARP_THA => Oxm::ArpTha(masked(r, hm, mac)?),
            IPV6_SRC => Oxm::Ipv6Src(masked(r, hm, v6)?),
            IPV6_DST => Oxm::Ipv6Dst(masked(r, hm, v6)?),
            IPV6_FLABEL => Oxm::Ipv6Flabel(masked(r, hm, u32_)?),
            ICMPV6_TYPE => Oxm::Icmpv6Type(r.u8()?),
            ICMPV6_CODE => Oxm::Icmpv6Code(r.u8()?),
            IPV6_ND_TARGET => Oxm::Ipv6NdTarget(v6(r)?),
            IPV6_ND_SLL => Oxm::Ipv6NdSll(mac(r)?),
            IPV6_ND_TLL => Oxm::Ipv6NdTll(mac(r)?),
            MPLS_LABEL => Oxm::MplsLabel(r.u32()?),
            MPLS_TC => Oxm::MplsTc(r.u8()?),
            MPLS_BOS => Oxm::MplsBos(r.u8()?),
            PBB_ISID => Oxm::PbbIsid(masked(r, hm, u24)?),
            TUNNEL_ID => Oxm::TunnelId(masked(r, hm, u64_)?),
            IPV6_EXTHDR => Oxm::Ipv6Exthdr(masked(r, hm, u16_)?),
            PBB_UCA => Oxm::PbbUca(r.u8()?),
            _ => return Err(r.err(errs.field, "unknown OpenFlow basic OXM field")),
        })
    }
}

/// OXM lists are short; eight fit inline so a typical match never allocates.
pub type OxmList = SmallVec<[Oxm; 8]>;

/// `ofp_match` of type OXM: the fields in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Match {
    pub fields: OxmList,
}

impl Match {
    /// The empty match (matches everything).
    pub fn new() -> Self {
        Match::default()
    }

    pub fn from_fields(fields: impl IntoIterator<Item = Oxm>) -> Self {
        Match {
            fields: fields.into_iter().collect(),
        }
    }

    /// Bytes on the wire including the trailing padding.
    pub fn wire_len(&self) -> usize {
        pad8(4 + self.fields.iter().map(Oxm::wire_len).sum::<usize>())
    }

    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(OFPMT_OXM);
        out.put_u16(0);
        for f in &self.fields {
            f.encode(out);
        }
        // 7.2.2: length excludes the padding that follows.
        patch_u16(out, start + 2, out.len() - start);
        pad_from(out, start);
    }

    /// Decode an `ofp_match` and its padding at the reader's position.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Match, DecodeError> {
        // 7.2.2: type and length, 4 bytes, must be there.
        if r.remaining() < 4 {
            return Err(r.err(OfpErrorCode::BAD_MATCH_LEN, "match header truncated"));
        }
        let typ = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        // 7.2.2: OpenFlow 1.3 uses OFPMT_OXM; anything else is OFPBMC_BAD_TYPE.
        if typ != OFPMT_OXM {
            return Err(r.err(OfpErrorCode::BAD_MATCH_TYPE, "match type is not OXM"));
        }
        // 7.2.2: length covers the header; the match is padded to a multiple of 8.
        if len < 4 || r.remaining() < pad8(len) {
            return Err(r.err(OfpErrorCode::BAD_MATCH_LEN, "match length out of range"));
        }
        let mut whole = r.sub(pad8(len), OfpErrorCode::BAD_MATCH_LEN, "match truncated")?;
        whole.skip(4)?;
        let mut fields_r = whole.sub(len - 4, OfpErrorCode::BAD_MATCH_LEN, "OXM truncated")?;
        let mut fields = OxmList::new();
        let mut seen: u64 = 0;
        while !fields_r.is_empty() {
            let at = fields_r.pos();
            let f = Oxm::decode(&mut fields_r, MATCH_ERRORS)?;
            if let Some(n) = f.basic_field() {
                // 7.2.3.7: a field may appear at most once: OFPBMC_DUP_FIELD.
                if seen & (1u64 << n) != 0 {
                    return Err(DecodeError::malformed(
                        OfpErrorCode::BAD_MATCH_DUP_FIELD,
                        at,
                        "OXM field repeated in match",
                    ));
                }
                seen |= 1u64 << n;
            }
            fields.push(f);
        }
        Ok(Match { fields })
    }
}
