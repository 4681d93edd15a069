//! Actions (spec 7.2.5).
//!
//! ```text
//! ofp_action_header: | type : 16 | len : 16 | body ... |   len includes the header, multiple of 8
//! ```
//! Experimenter actions (Nicira's NXAST_* are the common ones) are kept opaque.

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::oxm::{Oxm, OxmErrors};
use super::wire::{pad8, pad_from, patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_action_type`
pub mod action_type {
    pub const OUTPUT: u16 = 0;
    pub(crate) const COPY_TTL_OUT: u16 = 11;
    pub(crate) const COPY_TTL_IN: u16 = 12;
    pub(crate) const SET_MPLS_TTL: u16 = 15;
    pub(crate) const DEC_MPLS_TTL: u16 = 16;
    pub const PUSH_VLAN: u16 = 17;
    pub const POP_VLAN: u16 = 18;
    pub(crate) const PUSH_MPLS: u16 = 19;
    pub(crate) const POP_MPLS: u16 = 20;
    pub const SET_QUEUE: u16 = 21;
    pub const GROUP: u16 = 22;
    pub(crate) const SET_NW_TTL: u16 = 23;
    pub(crate) const DEC_NW_TTL: u16 = 24;
    pub const SET_FIELD: u16 = 25;
    pub(crate) const PUSH_PBB: u16 = 26;
    pub(crate) const POP_PBB: u16 = 27;
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// `OFPCML_NO_BUFFER`: send the whole packet to the controller.
pub const OFPCML_NO_BUFFER: u16 = 0xffff;
/// `OFPCML_MAX`
pub const OFPCML_MAX: u16 = 0xffe5;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `max_len` matters only for output to the controller.
    Output {
        port: u32,
        max_len: u16,
    },
    CopyTtlOut,
    CopyTtlIn,
    SetMplsTtl(u8),
    DecMplsTtl,
    /// The ethertype of the new tag (0x8100 or 0x88a8).
    PushVlan(u16),
    PopVlan,
    PushMpls(u16),
    /// The ethertype of the payload after the pop.
    PopMpls(u16),
    SetQueue(u32),
    Group(u32),
    SetNwTtl(u8),
    DecNwTtl,
    SetField(Oxm),
    PushPbb(u16),
    PopPbb,
    /// `ofp_action_experimenter_header` and whatever follows, kept as it came: `data` is
    /// everything after the experimenter id, padding included.
    Experimenter {
        experimenter: u32,
        data: Bytes,
    },
}

/// Action lists are short; four fit inline so the hot path never allocates.
pub type ActionList = SmallVec<[Action; 4]>;

const SET_FIELD_ERRORS: OxmErrors = OxmErrors {
    len: OfpErrorCode::BAD_ACTION_SET_LEN,
    field: OfpErrorCode::BAD_ACTION_SET_TYPE,
    mask: OfpErrorCode::BAD_ACTION_SET_ARGUMENT,
};

impl Action {
    pub fn action_type(&self) -> u16 {
        use action_type::*;
        match self {
            Action::Output { .. } => OUTPUT,
            Action::CopyTtlOut => COPY_TTL_OUT,
            Action::CopyTtlIn => COPY_TTL_IN,
            Action::SetMplsTtl(_) => SET_MPLS_TTL,
            Action::DecMplsTtl => DEC_MPLS_TTL,
            Action::PushVlan(_) => PUSH_VLAN,
            Action::PopVlan => POP_VLAN,
            Action::PushMpls(_) => PUSH_MPLS,
            Action::PopMpls(_) => POP_MPLS,
            Action::SetQueue(_) => SET_QUEUE,
            Action::Group(_) => GROUP,
            Action::SetNwTtl(_) => SET_NW_TTL,
            Action::DecNwTtl => DEC_NW_TTL,
            Action::SetField(_) => SET_FIELD,
            Action::PushPbb(_) => PUSH_PBB,
            Action::PopPbb => POP_PBB,
            Action::Experimenter { .. } => EXPERIMENTER,
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(self.action_type());
        out.put_u16(0);
        match self {
            Action::Output { port, max_len } => {
                out.put_u32(*port);
                out.put_u16(*max_len);
                out.put_bytes(0, 6);
            }
            Action::CopyTtlOut
            | Action::CopyTtlIn
            | Action::DecMplsTtl
            | Action::PopVlan
            | Action::DecNwTtl
            | Action::PopPbb => out.put_bytes(0, 4),
            Action::SetMplsTtl(ttl) | Action::SetNwTtl(ttl) => {
                out.put_u8(*ttl);
                out.put_bytes(0, 3);
            }
            Action::PushVlan(et)
            | Action::PushMpls(et)
            | Action::PopMpls(et)
            | Action::PushPbb(et) => {
                out.put_u16(*et);
                out.put_bytes(0, 2);
            }
            Action::SetQueue(v) | Action::Group(v) => out.put_u32(*v),
            Action::SetField(oxm) => {
                oxm.encode(out);
                pad_from(out, start);
            }
            Action::Experimenter { experimenter, data } => {
                out.put_u32(*experimenter);
                out.put_slice(data);
                // Keep the action 8-aligned even if `data` is not (7.2.5).
                pad_from(out, start);
            }
        }
        patch_u16(out, start + 2, out.len() - start);
    }

    pub fn wire_len(&self) -> usize {
        match self {
            Action::Output { .. } => 16,
            Action::SetField(oxm) => pad8(4 + oxm.wire_len()),
            Action::Experimenter { data, .. } => pad8(8 + data.len()),
            _ => 8,
        }
    }

    /// Decode one action at the reader's position.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Action, DecodeError> {
        use action_type::*;
        // 7.2.5: every action starts with type and len; len covers the header, is at
        // least 8 and a multiple of 8, and must not run past the list (OFPBAC_BAD_LEN).
        if r.remaining() < 4 {
            return Err(r.err(OfpErrorCode::BAD_ACTION_LEN, "action header truncated"));
        }
        let typ = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 8 || !len.is_multiple_of(8) || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_ACTION_LEN, "action length invalid"));
        }
        let mut a = r.sub(len, OfpErrorCode::BAD_ACTION_LEN, "action truncated")?;
        let at = a.pos();
        a.skip(4)?;
        // Each action type has one exact length (7.2.5, the OFP_ASSERTs of openflow.h).
        let exact = |want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(DecodeError::malformed(
                    OfpErrorCode::BAD_ACTION_LEN,
                    at,
                    "action length wrong for its type",
                ))
            }
        };
        let action = match typ {
            OUTPUT => {
                exact(16)?;
                let port = a.u32()?;
                let max_len = a.u16()?;
                Action::Output { port, max_len }
            }
            COPY_TTL_OUT => exact(8).map(|_| Action::CopyTtlOut)?,
            COPY_TTL_IN => exact(8).map(|_| Action::CopyTtlIn)?,
            SET_MPLS_TTL => {
                exact(8)?;
                Action::SetMplsTtl(a.u8()?)
            }
            DEC_MPLS_TTL => exact(8).map(|_| Action::DecMplsTtl)?,
            PUSH_VLAN => {
                exact(8)?;
                Action::PushVlan(a.u16()?)
            }
            POP_VLAN => exact(8).map(|_| Action::PopVlan)?,
            PUSH_MPLS => {
                exact(8)?;
                Action::PushMpls(a.u16()?)
            }
            POP_MPLS => {
                exact(8)?;
                Action::PopMpls(a.u16()?)
            }
            SET_QUEUE => {
                exact(8)?;
                Action::SetQueue(a.u32()?)
            }
            GROUP => {
                exact(8)?;
                Action::Group(a.u32()?)
            }
            SET_NW_TTL => {
                exact(8)?;
                Action::SetNwTtl(a.u8()?)
            }
            DEC_NW_TTL => exact(8).map(|_| Action::DecNwTtl)?,
            SET_FIELD => {
                // 7.2.5: one OXM TLV, then padding to 8; the OXM must have no mask
                // (1.3: "hasmask must be zero"), its length must fit (OFPBAC_BAD_SET_LEN).
                let oxm_at = a.pos();
                let oxm = Oxm::decode(&mut a, SET_FIELD_ERRORS)?;
                if oxm.basic_field().is_some() && oxm.has_mask() {
                    return Err(DecodeError::malformed(
                        OfpErrorCode::BAD_ACTION_SET_ARGUMENT,
                        oxm_at,
                        "set_field with a mask",
                    ));
                }
                if pad8(4 + oxm.wire_len()) != len {
                    return Err(DecodeError::malformed(
                        OfpErrorCode::BAD_ACTION_SET_LEN,
                        a.pos(),
                        "set_field padding wrong",
                    ));
                }
                Action::SetField(oxm)
            }
            PUSH_PBB => {
                exact(8)?;
                Action::PushPbb(a.u16()?)
            }
            POP_PBB => exact(8).map(|_| Action::PopPbb)?,
            EXPERIMENTER => {
                let experimenter = a.u32()?;
                Action::Experimenter {
                    experimenter,
                    data: a.rest(),
                }
            }
            // 7.4.4: an unknown action type is OFPBAC_BAD_TYPE.
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_ACTION_TYPE,
                    at,
                    "unknown action type",
                ))
            }
        };
        Ok(action)
    }
}

/// Decode actions filling exactly the reader's window.
pub(crate) fn decode_actions(r: &mut Reader<'_>) -> Result<ActionList, DecodeError> {
    let mut list = ActionList::new();
    while !r.is_empty() {
        list.push(Action::decode(r)?);
    }
    Ok(list)
}

pub(crate) fn encode_actions(actions: &[Action], out: &mut BytesMut) {
    for a in actions {
        a.encode(out);
    }
}

pub(crate) fn actions_len(actions: &[Action]) -> usize {
    actions.iter().map(Action::wire_len).sum()
}
