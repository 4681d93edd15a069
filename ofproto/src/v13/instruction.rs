//! Instructions (spec 7.2.4).
//!
//! ```text
//! ofp_instruction: | type : 16 | len : 16 | body ... |   len includes the header, multiple of 8
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::action::{actions_len, decode_actions, encode_actions, ActionList};
use super::wire::{pad8, pad_from, patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_instruction_type`
pub mod instruction_type {
    pub const GOTO_TABLE: u16 = 1;
    pub const WRITE_METADATA: u16 = 2;
    pub const WRITE_ACTIONS: u16 = 3;
    pub const APPLY_ACTIONS: u16 = 4;
    pub const CLEAR_ACTIONS: u16 = 5;
    pub const METER: u16 = 6;
    pub const EXPERIMENTER: u16 = 0xffff;
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Instruction {
    GotoTable(u8),
    WriteMetadata {
        metadata: u64,
        mask: u64,
    },
    WriteActions(ActionList),
    ApplyActions(ActionList),
    ClearActions,
    Meter(u32),
    /// `data` is everything after the experimenter id, kept as it came.
    Experimenter {
        experimenter: u32,
        data: Bytes,
    },
}

/// Two instructions fit inline (apply-actions plus goto-table is the common case).
pub type InstructionList = SmallVec<[Instruction; 2]>;

impl Instruction {
    pub fn instruction_type(&self) -> u16 {
        use instruction_type::*;
        match self {
            Instruction::GotoTable(_) => GOTO_TABLE,
            Instruction::WriteMetadata { .. } => WRITE_METADATA,
            Instruction::WriteActions(_) => WRITE_ACTIONS,
            Instruction::ApplyActions(_) => APPLY_ACTIONS,
            Instruction::ClearActions => CLEAR_ACTIONS,
            Instruction::Meter(_) => METER,
            Instruction::Experimenter { .. } => EXPERIMENTER,
        }
    }

    pub fn wire_len(&self) -> usize {
        match self {
            Instruction::WriteMetadata { .. } => 24,
            Instruction::WriteActions(a) | Instruction::ApplyActions(a) => 8 + actions_len(a),
            Instruction::Experimenter { data, .. } => pad8(8 + data.len()),
            _ => 8,
        }
    }

    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(self.instruction_type());
        out.put_u16(0);
        match self {
            Instruction::GotoTable(t) => {
                out.put_u8(*t);
                out.put_bytes(0, 3);
            }
            Instruction::WriteMetadata { metadata, mask } => {
                out.put_bytes(0, 4);
                out.put_u64(*metadata);
                out.put_u64(*mask);
            }
            Instruction::WriteActions(a) | Instruction::ApplyActions(a) => {
                out.put_bytes(0, 4);
                encode_actions(a, out);
            }
            Instruction::ClearActions => out.put_bytes(0, 4),
            Instruction::Meter(m) => out.put_u32(*m),
            Instruction::Experimenter { experimenter, data } => {
                out.put_u32(*experimenter);
                out.put_slice(data);
                pad_from(out, start);
            }
        }
        patch_u16(out, start + 2, out.len() - start);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Instruction, DecodeError> {
        use instruction_type::*;
        // 7.2.4: type and len; len covers the header, is a multiple of 8 and stays inside
        // the instruction list, else OFPBIC_BAD_LEN.
        if r.remaining() < 4 {
            return Err(r.err(
                OfpErrorCode::BAD_INSTRUCTION_LEN,
                "instruction header truncated",
            ));
        }
        let at = r.pos();
        let typ = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 8 || !len.is_multiple_of(8) || len > r.remaining() {
            return Err(r.err(
                OfpErrorCode::BAD_INSTRUCTION_LEN,
                "instruction length invalid",
            ));
        }
        let mut i = r.sub(
            len,
            OfpErrorCode::BAD_INSTRUCTION_LEN,
            "instruction truncated",
        )?;
        i.skip(4)?;
        let exact = |want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(DecodeError::malformed(
                    OfpErrorCode::BAD_INSTRUCTION_LEN,
                    at,
                    "instruction length wrong for its type",
                ))
            }
        };
        Ok(match typ {
            GOTO_TABLE => {
                exact(8)?;
                Instruction::GotoTable(i.u8()?)
            }
            WRITE_METADATA => {
                exact(24)?;
                i.skip(4)?;
                let metadata = i.u64()?;
                let mask = i.u64()?;
                Instruction::WriteMetadata { metadata, mask }
            }
            WRITE_ACTIONS | APPLY_ACTIONS => {
                i.skip(4)?;
                let actions = decode_actions(&mut i)?;
                if typ == WRITE_ACTIONS {
                    Instruction::WriteActions(actions)
                } else {
                    Instruction::ApplyActions(actions)
                }
            }
            // 7.2.4: clear-actions carries no actions; a longer one is OFPBIC_BAD_LEN.
            CLEAR_ACTIONS => exact(8).map(|_| Instruction::ClearActions)?,
            METER => {
                exact(8)?;
                Instruction::Meter(i.u32()?)
            }
            EXPERIMENTER => {
                let experimenter = i.u32()?;
                Instruction::Experimenter {
                    experimenter,
                    data: i.rest(),
                }
            }
            // 7.4.4: unknown instruction is OFPBIC_UNKNOWN_INST.
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_INSTRUCTION_UNKNOWN,
                    at,
                    "unknown instruction type",
                ))
            }
        })
    }
}

pub(crate) fn decode_instructions(r: &mut Reader<'_>) -> Result<InstructionList, DecodeError> {
    let mut list = InstructionList::new();
    while !r.is_empty() {
        list.push(Instruction::decode(r)?);
    }
    Ok(list)
}

pub(crate) fn encode_instructions(list: &[Instruction], out: &mut BytesMut) {
    for i in list {
        i.encode(out);
    }
}

/// A match and instructions as a FLOW_MOD carries them (the `ofp_match` with its padding,
/// then the instructions): the compact form in which a switch can keep a flow entry.
pub fn encode_match_instructions(m: &super::Match, list: &[Instruction], out: &mut BytesMut) {
    m.encode(out);
    encode_instructions(list, out);
}

/// The inverse of [`encode_match_instructions`]; also the length of the `ofp_match` part.
pub fn decode_match_instructions(
    buf: &Bytes,
) -> Result<(super::Match, InstructionList, usize), DecodeError> {
    let mut r = Reader::new(
        buf,
        0,
        OfpErrorCode::BAD_MATCH_LEN,
        "match and instructions truncated",
    );
    let m = super::Match::decode(&mut r)?;
    let at = r.pos();
    Ok((m, decode_instructions(&mut r)?, at))
}
