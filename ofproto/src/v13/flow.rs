//! Flow and packet messages: PACKET_IN, FLOW_REMOVED, PACKET_OUT, FLOW_MOD
//! (spec 7.4.1, 7.4.2, 7.3.7, 7.3.4.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::action::{decode_actions, encode_actions, ActionList};
use super::instruction::{decode_instructions, encode_instructions, InstructionList};
use super::oxm::Match;
use super::wire::{patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `OFP_NO_BUFFER`
pub const OFP_NO_BUFFER: u32 = 0xffff_ffff;

/// OFPT_PACKET_IN (`ofp_packet_in`, 7.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketIn {
    pub buffer_id: u32,
    pub total_len: u16,
    /// `OFPR_NO_MATCH`, `OFPR_ACTION`, `OFPR_INVALID_TTL`
    pub reason: u8,
    pub table_id: u8,
    pub cookie: u64,
    pub match_: Match,
    /// The packet (or its first bytes), a zero-copy slice of the message.
    pub data: Bytes,
}

impl PacketIn {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let buffer_id = r.u32()?;
        let total_len = r.u16()?;
        let reason = r.u8()?;
        let table_id = r.u8()?;
        let cookie = r.u64()?;
        let match_ = Match::decode(r)?;
        // 7.4.1: two bytes of padding align the Ethernet payload (IP header) to 32 bits.
        r.skip(2)?;
        Ok(PacketIn {
            buffer_id,
            total_len,
            reason,
            table_id,
            cookie,
            match_,
            data: r.rest(),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.buffer_id);
        out.put_u16(self.total_len);
        out.put_u8(self.reason);
        out.put_u8(self.table_id);
        out.put_u64(self.cookie);
        self.match_.encode(out);
        out.put_bytes(0, 2);
        out.put_slice(&self.data);
    }
}

/// OFPT_FLOW_REMOVED (`ofp_flow_removed`, 7.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowRemoved {
    pub cookie: u64,
    pub priority: u16,
    /// `OFPRR_IDLE_TIMEOUT`, `_HARD_TIMEOUT`, `_DELETE`, `_GROUP_DELETE`
    pub reason: u8,
    pub table_id: u8,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub packet_count: u64,
    pub byte_count: u64,
    pub match_: Match,
}

impl FlowRemoved {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FlowRemoved {
            cookie: r.u64()?,
            priority: r.u16()?,
            reason: r.u8()?,
            table_id: r.u8()?,
            duration_sec: r.u32()?,
            duration_nsec: r.u32()?,
            idle_timeout: r.u16()?,
            hard_timeout: r.u16()?,
            packet_count: r.u64()?,
            byte_count: r.u64()?,
            match_: Match::decode(r)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.cookie);
        out.put_u16(self.priority);
        out.put_u8(self.reason);
        out.put_u8(self.table_id);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        self.match_.encode(out);
    }
}

/// OFPT_PACKET_OUT (`ofp_packet_out`, 7.3.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketOut {
    pub buffer_id: u32,
    pub in_port: u32,
    pub actions: ActionList,
    /// The packet, if `buffer_id` is [`OFP_NO_BUFFER`].
    pub data: Bytes,
}

impl PacketOut {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let buffer_id = r.u32()?;
        let in_port = r.u32()?;
        let actions_len = r.u16()? as usize;
        r.skip(6)?;
        // 7.3.7: actions_len bytes of actions follow; past the message is OFPBRC_BAD_LEN.
        if actions_len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "packet_out actions_len too long"));
        }
        let mut ar = r.sub(
            actions_len,
            OfpErrorCode::BAD_ACTION_LEN,
            "action truncated",
        )?;
        let actions = decode_actions(&mut ar)?;
        Ok(PacketOut {
            buffer_id,
            in_port,
            actions,
            data: r.rest(),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.buffer_id);
        out.put_u32(self.in_port);
        let len_at = out.len();
        out.put_u16(0);
        out.put_bytes(0, 6);
        let start = out.len();
        encode_actions(&self.actions, out);
        patch_u16(out, len_at, out.len() - start);
        out.put_slice(&self.data);
    }
}

/// `enum ofp_flow_mod_command`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FlowModCommand {
    #[default]
    Add,
    Modify,
    ModifyStrict,
    Delete,
    DeleteStrict,
}

impl FlowModCommand {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => FlowModCommand::Add,
            1 => FlowModCommand::Modify,
            2 => FlowModCommand::ModifyStrict,
            3 => FlowModCommand::Delete,
            4 => FlowModCommand::DeleteStrict,
            _ => return None,
        })
    }

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }
}

/// `ofp_flow_mod_flags`
pub mod flow_mod_flags {
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    pub const RESET_COUNTS: u16 = 1 << 2;
    pub(crate) const NO_PKT_COUNTS: u16 = 1 << 3;
    pub(crate) const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// OFPT_FLOW_MOD (`ofp_flow_mod`, 7.3.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowMod {
    pub cookie: u64,
    pub cookie_mask: u64,
    pub table_id: u8,
    pub command: FlowModCommand,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub priority: u16,
    pub buffer_id: u32,
    pub out_port: u32,
    pub out_group: u32,
    pub flags: u16,
    pub match_: Match,
    pub instructions: InstructionList,
}

impl FlowMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let table_id = r.u8()?;
        let cmd_at = r.pos();
        // 7.3.4.1 / 7.4.4: an unknown command is OFPFMFC_BAD_COMMAND.
        let command = FlowModCommand::from_u8(r.u8()?).ok_or(DecodeError::malformed(
            OfpErrorCode::FLOW_MOD_BAD_COMMAND,
            cmd_at,
            "unknown flow_mod command",
        ))?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let priority = r.u16()?;
        let buffer_id = r.u32()?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        let flags = r.u16()?;
        r.skip(2)?;
        let match_ = Match::decode(r)?;
        let instructions = decode_instructions(r)?;
        Ok(FlowMod {
            cookie,
            cookie_mask,
            table_id,
            command,
            idle_timeout,
            hard_timeout,
            priority,
            buffer_id,
            out_port,
            out_group,
            flags,
            match_,
            instructions,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.cookie);
        out.put_u64(self.cookie_mask);
        out.put_u8(self.table_id);
        out.put_u8(self.command.to_u8());
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.priority);
        out.put_u32(self.buffer_id);
        out.put_u32(self.out_port);
        out.put_u32(self.out_group);
        out.put_u16(self.flags);
        out.put_bytes(0, 2);
        self.match_.encode(out);
        encode_instructions(&self.instructions, out);
    }
}
