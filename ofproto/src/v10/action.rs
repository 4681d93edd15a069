//! OpenFlow 1.0 actions (spec 5.2.4), and action lists.
//!
//! Every action starts with `ofp_action_header`:
//! ```text
//! +-------------------------------+-------------------------------+
//! |             type              |    len (incl. header, 8n)     |
//! +-------------------------------+-------------------------------+
//! ```
//! Vendor actions (Open vSwitch's Nicira extensions among them) are kept opaque and written
//! back byte for byte.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{len_placeholder, patch_len, put_pad, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_action_type`.
pub mod action_type {
    pub const OUTPUT: u16 = 0;
    pub const SET_VLAN_VID: u16 = 1;
    pub const SET_VLAN_PCP: u16 = 2;
    pub const STRIP_VLAN: u16 = 3;
    pub const SET_DL_SRC: u16 = 4;
    pub const SET_DL_DST: u16 = 5;
    pub const SET_NW_SRC: u16 = 6;
    pub const SET_NW_DST: u16 = 7;
    pub const SET_NW_TOS: u16 = 8;
    pub const SET_TP_SRC: u16 = 9;
    pub const SET_TP_DST: u16 = 10;
    pub const ENQUEUE: u16 = 11;
    pub const VENDOR: u16 = 0xffff;
}

/// Actions are aligned to 8 bytes (`ofp_action_header.len` comment, spec 5.2.4).
pub const ACTION_ALIGN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// OFPAT_OUTPUT: send to `port`; `max_len` bytes go to the controller when `port` is
    /// OFPP_CONTROLLER.
    Output {
        port: u16,
        max_len: u16,
    },
    SetVlanVid(u16),
    SetVlanPcp(u8),
    StripVlan,
    SetDlSrc([u8; 6]),
    SetDlDst([u8; 6]),
    SetNwSrc(u32),
    SetNwDst(u32),
    SetNwTos(u8),
    SetTpSrc(u16),
    SetTpDst(u16),
    /// OFPAT_ENQUEUE: output to `queue_id` of `port`.
    Enqueue {
        port: u16,
        queue_id: u32,
    },
    /// OFPAT_VENDOR: `data` is everything after the 4-byte vendor id, kept as received.
    /// Its length must be a multiple of 8 for the action to be encodable as it came.
    Vendor {
        vendor: u32,
        data: Bytes,
    },
}

impl Action {
    pub fn action_type(&self) -> u16 {
        use action_type as t;
        match self {
            Action::Output { .. } => t::OUTPUT,
            Action::SetVlanVid(_) => t::SET_VLAN_VID,
            Action::SetVlanPcp(_) => t::SET_VLAN_PCP,
            Action::StripVlan => t::STRIP_VLAN,
            Action::SetDlSrc(_) => t::SET_DL_SRC,
            Action::SetDlDst(_) => t::SET_DL_DST,
            Action::SetNwSrc(_) => t::SET_NW_SRC,
            Action::SetNwDst(_) => t::SET_NW_DST,
            Action::SetNwTos(_) => t::SET_NW_TOS,
            Action::SetTpSrc(_) => t::SET_TP_SRC,
            Action::SetTpDst(_) => t::SET_TP_DST,
            Action::Enqueue { .. } => t::ENQUEUE,
            Action::Vendor { .. } => t::VENDOR,
        }
    }

    /// The fixed wire length of each standard action (`OFP_ASSERT(sizeof ...)` in spec 5.2.4).
    fn fixed_len(ty: u16) -> Option<usize> {
        use action_type as t;
        match ty {
            t::OUTPUT
            | t::SET_VLAN_VID
            | t::SET_VLAN_PCP
            | t::STRIP_VLAN
            | t::SET_NW_SRC
            | t::SET_NW_DST
            | t::SET_NW_TOS
            | t::SET_TP_SRC
            | t::SET_TP_DST => Some(8),
            t::SET_DL_SRC | t::SET_DL_DST | t::ENQUEUE => Some(16),
            _ => None,
        }
    }

    /// Decode one action from the front of `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use action_type as t;
        let at = r.offset();
        if r.remaining() < 4 {
            // The list's own length is a multiple of 8 (checked by the caller), so this
            // cannot happen; keep it total anyway.
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_ACTION_LEN,
                at,
                "action: header truncated",
            ));
        }
        let mut hdr = r.sub(
            4,
            OfpErrorCode::BAD_ACTION_LEN,
            OfpErrorCode::BAD_ACTION_LEN,
            "action: header truncated",
        )?;
        let ty = hdr.u16("action: type")?;
        let len = usize::from(hdr.u16("action: len")?);
        // Spec 5.2.4: len includes the header and is a multiple of 8; an action may not
        // reach past its list. OFPET_BAD_ACTION / OFPBAC_BAD_LEN otherwise.
        if len < ACTION_ALIGN || !len.is_multiple_of(ACTION_ALIGN) || len - 4 > r.remaining() {
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_ACTION_LEN,
                at + 2,
                "action: len below 8, not a multiple of 8, or past the action list",
            ));
        }
        let mut b = r.sub(
            len - 4,
            OfpErrorCode::BAD_ACTION_LEN,
            OfpErrorCode::BAD_ACTION_LEN,
            "action: body truncated",
        )?;
        if ty == t::VENDOR {
            // ofp_action_vendor_header: vendor id, then vendor-defined bytes.
            let vendor = b.u32("action vendor: vendor")?;
            return Ok(Action::Vendor {
                vendor,
                data: b.rest(),
            });
        }
        match Action::fixed_len(ty) {
            // Spec 5.4.4: OFPBAC_BAD_TYPE, "unknown action type".
            None => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_ACTION_TYPE,
                    at,
                    "action: unknown type",
                ))
            }
            // Each standard action has exactly its struct's size: OFPBAC_BAD_LEN.
            Some(n) if n != len => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_ACTION_LEN,
                    at + 2,
                    "action: wrong len for its type",
                ))
            }
            Some(_) => {}
        }
        let a = match ty {
            t::OUTPUT => Action::Output {
                port: b.u16("output: port")?,
                max_len: b.u16("output: max_len")?,
            },
            t::SET_VLAN_VID => Action::SetVlanVid(b.u16("set_vlan_vid: vlan_vid")?),
            t::SET_VLAN_PCP => Action::SetVlanPcp(b.u8("set_vlan_pcp: vlan_pcp")?),
            t::STRIP_VLAN => Action::StripVlan,
            t::SET_DL_SRC => Action::SetDlSrc(b.array("set_dl_src: dl_addr")?),
            t::SET_DL_DST => Action::SetDlDst(b.array("set_dl_dst: dl_addr")?),
            t::SET_NW_SRC => Action::SetNwSrc(b.u32("set_nw_src: nw_addr")?),
            t::SET_NW_DST => Action::SetNwDst(b.u32("set_nw_dst: nw_addr")?),
            t::SET_NW_TOS => Action::SetNwTos(b.u8("set_nw_tos: nw_tos")?),
            t::SET_TP_SRC => Action::SetTpSrc(b.u16("set_tp_src: tp_port")?),
            t::SET_TP_DST => Action::SetTpDst(b.u16("set_tp_dst: tp_port")?),
            t::ENQUEUE => {
                let port = b.u16("enqueue: port")?;
                b.pad(6, "enqueue: pad")?;
                Action::Enqueue {
                    port,
                    queue_id: b.u32("enqueue: queue_id")?,
                }
            }
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_ACTION_TYPE,
                    at,
                    "action: unknown type",
                ))
            }
        };
        // Whatever is left of the fixed-size body is padding, ignored by receivers.
        Ok(a)
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(self.action_type());
        let len_at = len_placeholder(out);
        match self {
            Action::Output { port, max_len } => {
                out.put_u16(*port);
                out.put_u16(*max_len);
            }
            Action::SetVlanVid(v) => {
                out.put_u16(*v);
                put_pad(out, 2);
            }
            Action::SetVlanPcp(v) | Action::SetNwTos(v) => {
                out.put_u8(*v);
                put_pad(out, 3);
            }
            Action::StripVlan => put_pad(out, 4),
            Action::SetDlSrc(a) | Action::SetDlDst(a) => {
                out.put_slice(a);
                put_pad(out, 6);
            }
            Action::SetNwSrc(a) | Action::SetNwDst(a) => out.put_u32(*a),
            Action::SetTpSrc(p) | Action::SetTpDst(p) => {
                out.put_u16(*p);
                put_pad(out, 2);
            }
            Action::Enqueue { port, queue_id } => {
                out.put_u16(*port);
                put_pad(out, 6);
                out.put_u32(*queue_id);
            }
            Action::Vendor { vendor, data } => {
                out.put_u32(*vendor);
                out.put_slice(data);
            }
        }
        patch_len(out, len_at, start);
    }
}

/// Decode an action list occupying all of `r`. A list whose length is not a multiple of 8
/// cannot hold whole actions: OFPET_BAD_REQUEST / OFPBRC_BAD_LEN, as the length is a field
/// of the enclosing request (Open vSwitch answers the same).
pub(crate) fn decode_actions(r: &mut Reader<'_>) -> Result<Vec<Action>, DecodeError> {
    if !r.remaining().is_multiple_of(ACTION_ALIGN) {
        return Err(DecodeError::malformed(
            OfpErrorCode::BAD_LEN,
            r.offset(),
            "action list length not a multiple of 8",
        ));
    }
    let mut actions = Vec::new();
    while !r.is_empty() {
        actions.push(Action::decode(r)?);
    }
    Ok(actions)
}

pub(crate) fn encode_actions(actions: &[Action], out: &mut BytesMut) {
    for a in actions {
        a.encode(out);
    }
}
