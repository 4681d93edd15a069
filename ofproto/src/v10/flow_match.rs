//! `ofp_match`, the fixed 40-byte flow match of OpenFlow 1.0 (spec 5.2.3).
//!
//! ```text
//!  0               1               2               3
//! +---------------------------------------------------------------+
//! |                          wildcards                            |  0
//! +-------------------------------+-------------------------------+
//! |            in_port            |                               |  4
//! +-------------------------------+        dl_src (6)             |
//! |                                                               |  8
//! +---------------------------------------------------------------+
//! |                          dl_dst (6)                           | 12
//! |                               +-------------------------------+
//! |                               |            dl_vlan            | 16
//! +---------------+---------------+-------------------------------+
//! |  dl_vlan_pcp  |     pad       |            dl_type            | 20
//! +---------------+---------------+-------------------------------+
//! |    nw_tos     |   nw_proto    |             pad               | 24
//! +---------------+---------------+-------------------------------+
//! |                            nw_src                             | 28
//! +---------------------------------------------------------------+
//! |                            nw_dst                             | 32
//! +-------------------------------+-------------------------------+
//! |            tp_src             |            tp_dst             | 36
//! +-------------------------------+-------------------------------+
//! ```
//! Every field is kept as it came, including fields the wildcards say to ignore, so a match
//! re-encodes byte for byte (padding is written as zeros).

use bytes::{BufMut, BytesMut};

use super::wire::{put_pad, Reader};
use crate::error::DecodeError;

/// `sizeof(struct ofp_match)`.
pub const MATCH_LEN: usize = 40;

/// `enum ofp_flow_wildcards`.
pub mod wildcards {
    pub const IN_PORT: u32 = 1 << 0;
    pub const DL_VLAN: u32 = 1 << 1;
    pub const DL_SRC: u32 = 1 << 2;
    pub const DL_DST: u32 = 1 << 3;
    pub(crate) const DL_TYPE: u32 = 1 << 4;
    pub(crate) const NW_PROTO: u32 = 1 << 5;
    pub const TP_SRC: u32 = 1 << 6;
    pub const TP_DST: u32 = 1 << 7;
    pub(crate) const NW_SRC_SHIFT: u32 = 8;
    pub(crate) const NW_SRC_MASK: u32 = 0x3f << NW_SRC_SHIFT;
    pub const NW_SRC_ALL: u32 = 32 << NW_SRC_SHIFT;
    pub const NW_DST_SHIFT: u32 = 14;
    pub(crate) const NW_DST_MASK: u32 = 0x3f << NW_DST_SHIFT;
    pub const NW_DST_ALL: u32 = 32 << NW_DST_SHIFT;
    pub const DL_VLAN_PCP: u32 = 1 << 20;
    pub const NW_TOS: u32 = 1 << 21;
    pub const ALL: u32 = (1 << 22) - 1;
}

/// `dl_vlan` value meaning "no 802.1Q header" (OFP_VLAN_NONE).
pub const VLAN_NONE: u16 = 0xffff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Match {
    /// Raw `wildcards`, all 32 bits as received.
    pub wildcards: u32,
    pub in_port: u16,
    pub dl_src: [u8; 6],
    pub dl_dst: [u8; 6],
    pub dl_vlan: u16,
    pub dl_vlan_pcp: u8,
    pub dl_type: u16,
    pub nw_tos: u8,
    pub nw_proto: u8,
    pub nw_src: u32,
    pub nw_dst: u32,
    pub tp_src: u16,
    pub tp_dst: u16,
}

impl Match {
    /// A match that matches everything (all wildcard bits set, every field zero).
    pub fn any() -> Self {
        Match {
            wildcards: wildcards::ALL,
            ..Match::default()
        }
    }

    /// How many low-order bits of `nw_src` are wildcarded, 0..=32 (values above 32 in the
    /// 6-bit field mean 32, spec 5.2.3).
    pub fn nw_src_wild_bits(&self) -> u32 {
        ((self.wildcards & wildcards::NW_SRC_MASK) >> wildcards::NW_SRC_SHIFT).min(32)
    }

    /// As [`Match::nw_src_wild_bits`], for `nw_dst`.
    pub fn nw_dst_wild_bits(&self) -> u32 {
        ((self.wildcards & wildcards::NW_DST_MASK) >> wildcards::NW_DST_SHIFT).min(32)
    }

    /// The netmask `nw_src` is compared under (0 when fully wildcarded).
    pub fn nw_src_mask(&self) -> u32 {
        prefix_mask(self.nw_src_wild_bits())
    }

    /// The netmask `nw_dst` is compared under.
    pub fn nw_dst_mask(&self) -> u32 {
        prefix_mask(self.nw_dst_wild_bits())
    }

    /// Whether the single-bit wildcard `bit` (one of [`wildcards`]) is set.
    pub fn is_wild(&self, bit: u32) -> bool {
        self.wildcards & bit != 0
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // The match is a fixed-size part of its message; its absence is a length error of
        // that message (1.0 has no BAD_MATCH, spec 5.4.4).
        let m = Match {
            wildcards: r.u32("match: wildcards")?,
            in_port: r.u16("match: in_port")?,
            dl_src: r.array("match: dl_src")?,
            dl_dst: r.array("match: dl_dst")?,
            dl_vlan: r.u16("match: dl_vlan")?,
            dl_vlan_pcp: r.u8("match: dl_vlan_pcp")?,
            dl_type: {
                r.pad(1, "match: pad1")?;
                r.u16("match: dl_type")?
            },
            nw_tos: r.u8("match: nw_tos")?,
            nw_proto: r.u8("match: nw_proto")?,
            nw_src: {
                r.pad(2, "match: pad2")?;
                r.u32("match: nw_src")?
            },
            nw_dst: r.u32("match: nw_dst")?,
            tp_src: r.u16("match: tp_src")?,
            tp_dst: r.u16("match: tp_dst")?,
        };
        Ok(m)
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.wildcards);
        out.put_u16(self.in_port);
        out.put_slice(&self.dl_src);
        out.put_slice(&self.dl_dst);
        out.put_u16(self.dl_vlan);
        out.put_u8(self.dl_vlan_pcp);
        put_pad(out, 1);
        out.put_u16(self.dl_type);
        out.put_u8(self.nw_tos);
        out.put_u8(self.nw_proto);
        put_pad(out, 2);
        out.put_u32(self.nw_src);
        out.put_u32(self.nw_dst);
        out.put_u16(self.tp_src);
        out.put_u16(self.tp_dst);
    }
}

fn prefix_mask(wild_bits: u32) -> u32 {
    if wild_bits >= 32 {
        0
    } else {
        u32::MAX << wild_bits
    }
}
