//! act_ct: the connection tracker (`TCA_CT_*` of linux/tc_act/tc_ct.h). Open vSwitch's
//! `ct(...)` and `ct_clear` become this action (lib/tc.c writes the same attributes).
//!
//! ```text
//! TCA_CT_PARMS tc_gen (action: pipe) | TCA_CT_ACTION u16 flags | TCA_CT_ZONE u16 |
//! TCA_CT_MARK u32, TCA_CT_MARK_MASK u32 | TCA_CT_LABELS 16 bytes, TCA_CT_LABELS_MASK |
//! TCA_CT_NAT_IPV4_MIN/MAX be32 or TCA_CT_NAT_IPV6_MIN/MAX in6_addr | TCA_CT_NAT_PORT_MIN/MAX be16
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::TC_ACT_PIPE;

const TCA_CT_PARMS: u16 = 1;
const TCA_CT_ACTION: u16 = 3;
const TCA_CT_ZONE: u16 = 4;
const TCA_CT_MARK: u16 = 5;
const TCA_CT_MARK_MASK: u16 = 6;
const TCA_CT_LABELS: u16 = 7;
const TCA_CT_LABELS_MASK: u16 = 8;
const TCA_CT_NAT_IPV4_MIN: u16 = 9;
const TCA_CT_NAT_IPV4_MAX: u16 = 10;
const TCA_CT_NAT_IPV6_MIN: u16 = 11;
const TCA_CT_NAT_IPV6_MAX: u16 = 12;
const TCA_CT_NAT_PORT_MIN: u16 = 13;
const TCA_CT_NAT_PORT_MAX: u16 = 14;

/// `TCA_CT_ACT_*`
pub mod flags {
    pub const COMMIT: u16 = 1 << 0;
    pub const FORCE: u16 = 1 << 1;
    pub const CLEAR: u16 = 1 << 2;
    pub const NAT: u16 = 1 << 3;
    pub const NAT_SRC: u16 = 1 << 4;
    pub const NAT_DST: u16 = 1 << 5;
}

/// The NAT of an act_ct: with neither `src` nor `dst` in the flags, the NAT an existing
/// connection already has is applied (`ct(nat)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CtNatRange {
    /// Both ends of one family; `max` absent means a single address.
    pub addr: Option<(IpAddr, Option<IpAddr>)>,
    pub port: Option<(u16, Option<u16>)>,
}

/// The parameters of an act_ct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CtParams {
    /// `TCA_CT_ACT_*` bits.
    pub flags: u16,
    pub zone: u16,
    /// `(value, mask)` to set on commit.
    pub mark: Option<(u32, u32)>,
    /// `(value, mask)`, as the 128-bit number Open vSwitch's `ct_label` is.
    pub labels: Option<(u128, u128)>,
    pub nat: CtNatRange,
}

/// The 16 bytes of a conntrack label as the kernel keeps them (host order, as Open
/// vSwitch's `ovs_u128` puts them).
pub(crate) fn label_bytes(v: u128) -> [u8; 16] {
    v.to_ne_bytes()
}

pub(super) fn encode(p: &CtParams, index: u32, w: &mut NlaWriter) {
    w.put(TCA_CT_PARMS, &tc_gen(index, TC_ACT_PIPE));
    w.u16(TCA_CT_ACTION, p.flags);
    if p.flags & flags::CLEAR != 0 {
        return;
    }
    if p.zone != 0 {
        w.u16(TCA_CT_ZONE, p.zone);
    }
    if let Some((v, m)) = p.mark {
        w.u32(TCA_CT_MARK, v);
        w.u32(TCA_CT_MARK_MASK, m);
    }
    if let Some((v, m)) = p.labels {
        w.put(TCA_CT_LABELS, &label_bytes(v));
        w.put(TCA_CT_LABELS_MASK, &label_bytes(m));
    }
    match p.nat.addr {
        Some((IpAddr::V4(min), max)) => {
            w.put(TCA_CT_NAT_IPV4_MIN, &min.octets());
            if let Some(IpAddr::V4(max)) = max {
                w.put(TCA_CT_NAT_IPV4_MAX, &max.octets());
            }
        }
        Some((IpAddr::V6(min), max)) => {
            w.put(TCA_CT_NAT_IPV6_MIN, &min.octets());
            if let Some(IpAddr::V6(max)) = max {
                w.put(TCA_CT_NAT_IPV6_MAX, &max.octets());
            }
        }
        None => {}
    }
    if let Some((min, max)) = p.nat.port {
        w.be16(TCA_CT_NAT_PORT_MIN, min);
        if let Some(max) = max {
            w.be16(TCA_CT_NAT_PORT_MAX, max);
        }
    }
}

fn get_u128(p: &[u8]) -> Result<u128, NlaError> {
    nla::get_arr::<16>(p).map(u128::from_ne_bytes)
}

/// Read an act_ct back (a dump, an adopted filter). The kernel reports every attribute it
/// keeps; a range end equal to its start reads back as absent, as it was written.
pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let flags = match o.get(TCA_CT_ACTION) {
        Some(a) => nla::get_u16(a)?,
        None => 0,
    };
    let mut p = CtParams {
        flags,
        ..CtParams::default()
    };
    if flags & flags::CLEAR != 0 {
        return Ok(Some(TcAction::Ct(p)));
    }
    p.zone = o
        .get(TCA_CT_ZONE)
        .map(nla::get_u16)
        .transpose()?
        .unwrap_or(0);
    let pair32 = |v, m| -> Result<Option<(u32, u32)>, NlaError> {
        match (o.get(v), o.get(m)) {
            (Some(v), Some(m)) => Ok(Some((nla::get_u32(v)?, nla::get_u32(m)?))),
            _ => Ok(None),
        }
    };
    p.mark = pair32(TCA_CT_MARK, TCA_CT_MARK_MASK)?.filter(|(_, m)| *m != 0);
    p.labels = match (o.get(TCA_CT_LABELS), o.get(TCA_CT_LABELS_MASK)) {
        (Some(v), Some(m)) => Some((get_u128(v)?, get_u128(m)?)).filter(|(_, m)| *m != 0),
        _ => None,
    };
    let v4 = |a| {
        o.get(a)
            .map(|x| nla::get_arr::<4>(x).map(|b| IpAddr::V4(Ipv4Addr::from(b))))
            .transpose()
    };
    let v6 = |a| {
        o.get(a)
            .map(|x| nla::get_arr::<16>(x).map(|b| IpAddr::V6(Ipv6Addr::from(b))))
            .transpose()
    };
    let (min, max) = match v4(TCA_CT_NAT_IPV4_MIN)? {
        Some(min) => (Some(min), v4(TCA_CT_NAT_IPV4_MAX)?),
        None => (v6(TCA_CT_NAT_IPV6_MIN)?, v6(TCA_CT_NAT_IPV6_MAX)?),
    };
    // The kernel echoes max = min for a single address, and zeros for none.
    p.nat.addr = min
        .filter(|a| !a.is_unspecified())
        .map(|min| (min, max.filter(|m| *m != min && !m.is_unspecified())));
    let pmin = o.get(TCA_CT_NAT_PORT_MIN).map(nla::get_be16).transpose()?;
    let pmax = o.get(TCA_CT_NAT_PORT_MAX).map(nla::get_be16).transpose()?;
    p.nat.port = pmin
        .filter(|p| *p != 0)
        .map(|min| (min, pmax.filter(|m| *m != min && *m != 0)));
    Ok(Some(TcAction::Ct(p)))
}
