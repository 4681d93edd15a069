//! Open vSwitch's connection tracking extension as it travels in OpenFlow 1.3: the Nicira
//! actions `ct` (NXAST_CT, with NXAST_NAT and `set_field` of `ct_mark`/`ct_label` nested in
//! it) and `ct_clear` (NXAST_CT_CLEAR), and the match fields `ct_state`, `ct_zone`,
//! `ct_mark`, `ct_label` (NXM_1-class OXMs 105-108).
//!
//! ```text
//! nx_action_conntrack: | 0xffff : 16 | len : 16 | 0x00002320 : 32 | subtype=35 : 16 | flags : 16 |
//!                      | zone_src : 32 | zone_imm or ofs_nbits : 16 | recirc_table : 8 | pad : 24 |
//!                      | alg : 16 | nested actions ... |
//! nx_action_nat:       | 0xffff | len | 0x00002320 | subtype=36 | pad : 16 | flags : 16 |
//!                      | range_present : 16 | addr min, max | proto min, max | pad to 8 |
//! nx_action_ct_clear:  | 0xffff | 16 | 0x00002320 | subtype=43 | pad : 48 |
//! ```
//!
//! The wire types stay as they are ([`Action::Experimenter`], [`Oxm::Opaque`]): this module is
//! a typed view on them. A view is given only when it re-encodes to exactly the bytes it was
//! read from, so whatever a controller sends goes back out byte for byte, and whatever has
//! no view (unknown flags, a nested action the view does not know) stays opaque for the
//! consumer to refuse.

use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};

use super::action::Action;
use super::oxm::{Masked, Oxm, OxmOpaque, OXM_CLASS_NXM_1};
use super::wire::Reader;
use crate::error::OfpErrorCode;

/// `NX_VENDOR_ID`, Nicira's experimenter id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// `NXAST_CT`
pub const NXAST_CT: u16 = 35;
/// `NXAST_NAT`
pub const NXAST_NAT: u16 = 36;
/// `NXAST_CT_CLEAR`
pub const NXAST_CT_CLEAR: u16 = 43;
/// `NX_CT_RECIRC_NONE`: no `table=`.
pub const NX_CT_RECIRC_NONE: u8 = 255;
/// `NX_CT_F_COMMIT`
pub const NX_CT_F_COMMIT: u16 = 1;
/// `NX_CT_F_FORCE`
pub const NX_CT_F_FORCE: u16 = 2;

/// `NX_NAT_F_*`
pub mod nat_flags {
    pub const SRC: u16 = 1;
    pub const DST: u16 = 2;
    pub const PERSISTENT: u16 = 4;
    pub const PROTO_HASH: u16 = 8;
    pub const PROTO_RANDOM: u16 = 16;
    pub const ALL: u16 = 31;
}

/// `NX_NAT_RANGE_*`
pub mod nat_range {
    pub const IPV4_MIN: u16 = 1;
    pub const IPV4_MAX: u16 = 2;
    pub const IPV6_MIN: u16 = 4;
    pub const IPV6_MAX: u16 = 8;
    pub const PROTO_MIN: u16 = 16;
    pub const PROTO_MAX: u16 = 32;
}

/// The NXM_1 field numbers of the connection tracking match fields (ovs-fields(7)).
pub mod ct_field {
    /// `NXM_NX_CT_STATE`, 32 bits, maskable.
    pub const STATE: u8 = 105;
    /// `NXM_NX_CT_ZONE`, 16 bits.
    pub const ZONE: u8 = 106;
    /// `NXM_NX_CT_MARK`, 32 bits, maskable.
    pub const MARK: u8 = 107;
    /// `NXM_NX_CT_LABEL`, 128 bits, maskable.
    pub const LABEL: u8 = 108;
}

/// `ct_state` bits (`CS_*`), in the order Open vSwitch prints them.
pub mod ct_state {
    pub const NEW: u32 = 0x01;
    pub const EST: u32 = 0x02;
    pub const REL: u32 = 0x04;
    pub const RPL: u32 = 0x08;
    pub const INV: u32 = 0x10;
    pub const TRK: u32 = 0x20;
    pub const SNAT: u32 = 0x40;
    pub const DNAT: u32 = 0x80;
    /// Every bit Open vSwitch knows.
    pub const ALL: u32 = 0xff;
    pub const NAMES: [(&str, u32); 8] = [
        ("new", NEW),
        ("est", EST),
        ("rel", REL),
        ("rpl", RPL),
        ("inv", INV),
        ("trk", TRK),
        ("snat", SNAT),
        ("dnat", DNAT),
    ];
}

/// Where the zone of a `ct` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtZone {
    /// `zone=N` (0 when not given).
    Imm(u16),
    /// `zone=FIELD[ofs..ofs+nbits-1]`: `header` is the field's NXM/OXM header.
    Field { header: u32, ofs: u16, nbits: u16 },
}

/// `nat(...)`, NXAST_NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CtNat {
    /// `NX_NAT_F_*`.
    pub flags: u16,
    /// The address range (both of one family); `max` is present on the wire only if given.
    pub addr_min: Option<IpAddr>,
    pub addr_max: Option<IpAddr>,
    pub port_min: Option<u16>,
    pub port_max: Option<u16>,
}

/// One action nested in `ct(...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CtNested {
    Nat(CtNat),
    /// `set_field` of `ct_mark` or `ct_label` (exec).
    SetField(Oxm),
}

/// The `ct` action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NxCt {
    pub commit: bool,
    pub force: bool,
    pub zone: CtZone,
    /// `table=T`: continue in table T after the lookup.
    pub table: Option<u8>,
    /// `alg=`: the well-known port of an application-layer gateway, 0 for none.
    pub alg: u16,
    pub nested: Vec<CtNested>,
}

impl Default for NxCt {
    fn default() -> Self {
        NxCt {
            commit: false,
            force: false,
            zone: CtZone::Imm(0),
            table: None,
            alg: 0,
            nested: Vec::new(),
        }
    }
}

/// A Nicira connection tracking action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NxCtAction {
    Ct(NxCt),
    CtClear,
}

fn put_ip(out: &mut BytesMut, a: IpAddr) {
    match a {
        IpAddr::V4(a) => out.put_slice(&a.octets()),
        IpAddr::V6(a) => out.put_slice(&a.octets()),
    }
}

impl CtNat {
    /// `NX_NAT_RANGE_*` bits this range puts on the wire.
    pub fn range_present(&self) -> u16 {
        use nat_range::*;
        let mut r = 0;
        match self.addr_min {
            Some(IpAddr::V4(_)) => r |= IPV4_MIN,
            Some(IpAddr::V6(_)) => r |= IPV6_MIN,
            None => {}
        }
        match self.addr_max {
            Some(IpAddr::V4(_)) => r |= IPV4_MAX,
            Some(IpAddr::V6(_)) => r |= IPV6_MAX,
            None => {}
        }
        if self.port_min.is_some() {
            r |= PROTO_MIN;
        }
        if self.port_max.is_some() {
            r |= PROTO_MAX;
        }
        r
    }

    fn data(&self) -> Bytes {
        let mut d = BytesMut::with_capacity(48);
        d.put_u16(NXAST_NAT);
        d.put_u16(0);
        d.put_u16(self.flags);
        d.put_u16(self.range_present());
        for a in [self.addr_min, self.addr_max].into_iter().flatten() {
            put_ip(&mut d, a);
        }
        for p in [self.port_min, self.port_max].into_iter().flatten() {
            d.put_u16(p);
        }
        // The action is padded to 8 (the 8 bytes of type, len, vendor come first).
        while !(d.len() + 8).is_multiple_of(8) {
            d.put_u8(0);
        }
        d.freeze()
    }

    pub fn to_action(&self) -> Action {
        Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: self.data(),
        }
    }

    fn parse(data: &[u8]) -> Option<CtNat> {
        use nat_range::*;
        if data.len() < 8 || u16::from_be_bytes([data[0], data[1]]) != NXAST_NAT {
            return None;
        }
        let flags = u16::from_be_bytes([data[4], data[5]]);
        let range = u16::from_be_bytes([data[6], data[7]]);
        let mut p = &data[8..];
        let mut take = |n: usize| -> Option<&[u8]> {
            let (a, b) = p.split_at_checked(n)?;
            p = b;
            Some(a)
        };
        let mut ip = |v4: u16, v6: u16| -> Option<Option<IpAddr>> {
            if range & v4 != 0 {
                let b: [u8; 4] = take(4)?.try_into().ok()?;
                Some(Some(IpAddr::from(b)))
            } else if range & v6 != 0 {
                let b: [u8; 16] = take(16)?.try_into().ok()?;
                Some(Some(IpAddr::from(b)))
            } else {
                Some(None)
            }
        };
        let addr_min = ip(IPV4_MIN, IPV6_MIN)?;
        let addr_max = ip(IPV4_MAX, IPV6_MAX)?;
        let mut port = |bit: u16| -> Option<Option<u16>> {
            if range & bit != 0 {
                let b = take(2)?;
                Some(Some(u16::from_be_bytes([b[0], b[1]])))
            } else {
                Some(None)
            }
        };
        let port_min = port(PROTO_MIN)?;
        let port_max = port(PROTO_MAX)?;
        Some(CtNat {
            flags,
            addr_min,
            addr_max,
            port_min,
            port_max,
        })
    }
}

impl NxCt {
    fn data(&self) -> Bytes {
        let mut d = BytesMut::with_capacity(64);
        d.put_u16(NXAST_CT);
        let flags = if self.commit { NX_CT_F_COMMIT } else { 0 }
            | if self.force { NX_CT_F_FORCE } else { 0 };
        d.put_u16(flags);
        match self.zone {
            CtZone::Imm(z) => {
                d.put_u32(0);
                d.put_u16(z);
            }
            CtZone::Field { header, ofs, nbits } => {
                d.put_u32(header);
                d.put_u16(ofs << 6 | (nbits.saturating_sub(1) & 0x3f));
            }
        }
        d.put_u8(self.table.unwrap_or(NX_CT_RECIRC_NONE));
        d.put_bytes(0, 3);
        d.put_u16(self.alg);
        for n in &self.nested {
            let a = match n {
                CtNested::Nat(nat) => nat.to_action(),
                CtNested::SetField(o) => Action::SetField(o.clone()),
            };
            a.encode(&mut d);
        }
        d.freeze()
    }
}

impl NxCtAction {
    /// The OpenFlow 1.3 action this is (a Nicira experimenter action).
    pub fn to_action(&self) -> Action {
        let data = match self {
            NxCtAction::Ct(ct) => ct.data(),
            NxCtAction::CtClear => {
                let mut d = BytesMut::with_capacity(8);
                d.put_u16(NXAST_CT_CLEAR);
                d.put_bytes(0, 6);
                d.freeze()
            }
        };
        Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data,
        }
    }

    /// The typed view of `a`, if it is a `ct` or `ct_clear` that re-encodes to the same bytes.
    pub fn from_action(a: &Action) -> Option<NxCtAction> {
        let Action::Experimenter { experimenter, data } = a else {
            return None;
        };
        if *experimenter != NX_VENDOR_ID || data.len() < 2 {
            return None;
        }
        let view = match u16::from_be_bytes([data[0], data[1]]) {
            NXAST_CT_CLEAR => NxCtAction::CtClear,
            NXAST_CT => NxCtAction::Ct(Self::parse_ct(data)?),
            _ => return None,
        };
        match view.to_action() {
            Action::Experimenter { data: again, .. } if again == *data => Some(view),
            _ => None,
        }
    }

    /// Whether `a` is a Nicira `ct` or `ct_clear` action, well-formed or not.
    pub fn is_ct(a: &Action) -> bool {
        matches!(a, Action::Experimenter { experimenter: NX_VENDOR_ID, data }
            if data.len() >= 2 && matches!(u16::from_be_bytes([data[0], data[1]]), NXAST_CT | NXAST_CT_CLEAR))
    }

    fn parse_ct(data: &Bytes) -> Option<NxCt> {
        if data.len() < 16 {
            return None;
        }
        let flags = u16::from_be_bytes([data[2], data[3]]);
        if flags & !(NX_CT_F_COMMIT | NX_CT_F_FORCE) != 0 {
            return None;
        }
        let zone_src = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        let z = u16::from_be_bytes([data[8], data[9]]);
        let zone = if zone_src == 0 {
            CtZone::Imm(z)
        } else {
            CtZone::Field {
                header: zone_src,
                ofs: z >> 6,
                nbits: (z & 0x3f) + 1,
            }
        };
        let table = match data[10] {
            NX_CT_RECIRC_NONE => None,
            t => Some(t),
        };
        let alg = u16::from_be_bytes([data[14], data[15]]);
        let nested_bytes = data.slice(16..);
        let mut r = Reader::new(&nested_bytes, 0, OfpErrorCode::BAD_ACTION_LEN, "ct actions");
        let mut nested = Vec::new();
        while !r.is_empty() {
            let a = Action::decode(&mut r).ok()?;
            match a {
                Action::SetField(o) if CtMatch::from_oxm(&o).is_some() => {
                    nested.push(CtNested::SetField(o))
                }
                Action::Experimenter {
                    experimenter: NX_VENDOR_ID,
                    data,
                } => nested.push(CtNested::Nat(CtNat::parse(&data)?)),
                _ => return None,
            }
        }
        Some(NxCt {
            commit: flags & NX_CT_F_COMMIT != 0,
            force: flags & NX_CT_F_FORCE != 0,
            zone,
            table,
            alg,
            nested,
        })
    }
}

/// A connection tracking match field (or the value of a `set_field` in `ct(exec(...))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtMatch {
    State(Masked<u32>),
    Zone(u16),
    Mark(Masked<u32>),
    Label(Masked<u128>),
}

impl CtMatch {
    /// The typed view of an NXM_1-class OXM of a ct field, if its length fits.
    pub fn from_oxm(o: &Oxm) -> Option<CtMatch> {
        let Oxm::Opaque(op) = o else { return None };
        if op.class != OXM_CLASS_NXM_1 {
            return None;
        }
        let p = &op.payload[..];
        let u32_at = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        let u128_at = |i: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&p[i..i + 16]);
            u128::from_be_bytes(b)
        };
        Some(match (op.field, op.has_mask, p.len()) {
            (ct_field::STATE, false, 4) => CtMatch::State(Masked::exact(u32_at(0))),
            (ct_field::STATE, true, 8) => CtMatch::State(Masked::with_mask(u32_at(0), u32_at(4))),
            (ct_field::ZONE, false, 2) => CtMatch::Zone(u16::from_be_bytes([p[0], p[1]])),
            (ct_field::MARK, false, 4) => CtMatch::Mark(Masked::exact(u32_at(0))),
            (ct_field::MARK, true, 8) => CtMatch::Mark(Masked::with_mask(u32_at(0), u32_at(4))),
            (ct_field::LABEL, false, 16) => CtMatch::Label(Masked::exact(u128_at(0))),
            (ct_field::LABEL, true, 32) => {
                CtMatch::Label(Masked::with_mask(u128_at(0), u128_at(16)))
            }
            _ => return None,
        })
    }

    pub fn to_oxm(&self) -> Oxm {
        let mut p = BytesMut::with_capacity(32);
        let (field, has_mask) = match *self {
            CtMatch::State(m) => {
                p.put_u32(m.value);
                if let Some(k) = m.mask {
                    p.put_u32(k);
                }
                (ct_field::STATE, m.mask.is_some())
            }
            CtMatch::Zone(z) => {
                p.put_u16(z);
                (ct_field::ZONE, false)
            }
            CtMatch::Mark(m) => {
                p.put_u32(m.value);
                if let Some(k) = m.mask {
                    p.put_u32(k);
                }
                (ct_field::MARK, m.mask.is_some())
            }
            CtMatch::Label(m) => {
                p.put_u128(m.value);
                if let Some(k) = m.mask {
                    p.put_u128(k);
                }
                (ct_field::LABEL, m.mask.is_some())
            }
        };
        Oxm::Opaque(OxmOpaque {
            class: OXM_CLASS_NXM_1,
            field,
            has_mask,
            payload: p.freeze(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// An action as ovs-ofctl 3.1 writes it, decoded and viewed, re-encodes the same.
    fn view(hex: &str) -> NxCtAction {
        let b = Bytes::from(unhex(hex));
        let mut r = Reader::new(&b, 0, OfpErrorCode::BAD_ACTION_LEN, "t");
        let a = Action::decode(&mut r).unwrap();
        let v = NxCtAction::from_action(&a).unwrap();
        let mut out = BytesMut::new();
        v.to_action().encode(&mut out);
        assert_eq!(&out[..], &b[..]);
        v
    }

    #[test]
    fn ovs_encodings() {
        assert_eq!(
            view("ffff001000002320002b000000000000"),
            NxCtAction::CtClear
        );
        assert_eq!(
            view("ffff00180000232000230000000000000000ff0000000000"),
            NxCtAction::Ct(NxCt::default())
        );
        let NxCtAction::Ct(ct) = view("ffff0018000023200023000000010004000f030000000000") else {
            panic!()
        };
        assert_eq!(
            ct.zone,
            CtZone::Field {
                header: 0x0001_0004,
                ofs: 0,
                nbits: 16
            }
        );
        assert_eq!(ct.table, Some(3));
        let NxCtAction::Ct(ct) = view(
            "ffff00480000232000230001000000000005010000000000ffff00200000232000240000000100330a0000010a00000203e807d000000000001900100001d6040000000100000000",
        ) else {
            panic!()
        };
        assert!(ct.commit);
        assert_eq!(ct.zone, CtZone::Imm(5));
        assert_eq!(
            ct.nested[0],
            CtNested::Nat(CtNat {
                flags: nat_flags::SRC,
                addr_min: Some("10.0.0.1".parse().unwrap()),
                addr_max: Some("10.0.0.2".parse().unwrap()),
                port_min: Some(1000),
                port_max: Some(2000),
            })
        );
        let CtNested::SetField(o) = &ct.nested[1] else {
            panic!()
        };
        assert_eq!(CtMatch::from_oxm(o), Some(CtMatch::Mark(Masked::exact(1))));
    }

    #[test]
    fn unknown_flags_or_nested_actions_have_no_view() {
        // flags 4 (unknown)
        let a = Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: Bytes::from(unhex("00230004000000000000ff0000000000")),
        };
        assert!(NxCtAction::from_action(&a).is_none());
        assert!(NxCtAction::is_ct(&a));
        // a nested output
        let a = Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: Bytes::from(unhex(
                "00230000000000000000ff000000000000000010000000010000000000000000",
            )),
        };
        assert!(NxCtAction::from_action(&a).is_none());
        // non-zero padding
        let a = Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: Bytes::from(unhex("002b000000000001")),
        };
        assert!(NxCtAction::from_action(&a).is_none());
    }
}
