//! FLOW_MOD (spec 5.3.3) and FLOW_REMOVED (5.4.2).

use bytes::{BufMut, BytesMut};

use super::action::{decode_actions, encode_actions, Action};
use super::errors::FLOW_MOD_BAD_COMMAND_13;
use super::flow_match::Match;
use super::wire::{put_pad, Reader};
use crate::error::DecodeError;

/// `enum ofp_flow_mod_flags`.
pub mod flow_mod_flags {
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    pub const EMERG: u16 = 1 << 2;
}

/// `enum ofp_flow_removed_reason`.
pub mod flow_removed_reason {
    pub const IDLE_TIMEOUT: u8 = 0;
    pub const HARD_TIMEOUT: u8 = 1;
    pub const DELETE: u8 = 2;
}

/// `enum ofp_flow_mod_command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    Add,
    Modify,
    ModifyStrict,
    Delete,
    DeleteStrict,
}

impl FlowModCommand {
    pub(crate) fn to_wire(self) -> u16 {
        match self {
            FlowModCommand::Add => 0,
            FlowModCommand::Modify => 1,
            FlowModCommand::ModifyStrict => 2,
            FlowModCommand::Delete => 3,
            FlowModCommand::DeleteStrict => 4,
        }
    }

    pub(crate) fn from_wire(v: u16) -> Option<Self> {
        Some(match v {
            0 => FlowModCommand::Add,
            1 => FlowModCommand::Modify,
            2 => FlowModCommand::ModifyStrict,
            3 => FlowModCommand::Delete,
            4 => FlowModCommand::DeleteStrict,
            _ => return None,
        })
    }
}

/// OFPT_FLOW_MOD body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowMod {
    pub r#match: Match,
    pub cookie: u64,
    pub command: FlowModCommand,
    /// Open vSwitch's flow_mod_table_id extension (NXT_FLOW_MOD_TABLE_ID): once a
    /// controller enables it, the high byte of `command` names the table. 0 otherwise.
    pub table_id: u8,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub priority: u16,
    /// Buffered packet to apply to, or [`super::packet::NO_BUFFER`]. Not meaningful for
    /// DELETE.
    pub buffer_id: u32,
    /// DELETE*: only flows outputting to this port; OFPP_NONE for no restriction.
    pub out_port: u16,
    /// [`flow_mod_flags`], raw.
    pub flags: u16,
    pub actions: Vec<Action>,
}

impl FlowMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let m = Match::decode(r)?;
        let cookie = r.u64("flow_mod: cookie")?;
        let cmd_at = r.offset();
        let raw = r.u16("flow_mod: command")?;
        let table_id = (raw >> 8) as u8;
        // Spec 5.4.4: OFPFMFC_BAD_COMMAND, "unknown command" (low byte; see `table_id`).
        let command = FlowModCommand::from_wire(raw & 0xff).ok_or(DecodeError::malformed(
            FLOW_MOD_BAD_COMMAND_13,
            cmd_at,
            "flow_mod: unknown command",
        ))?;
        Ok(FlowMod {
            r#match: m,
            cookie,
            command,
            table_id,
            idle_timeout: r.u16("flow_mod: idle_timeout")?,
            hard_timeout: r.u16("flow_mod: hard_timeout")?,
            priority: r.u16("flow_mod: priority")?,
            buffer_id: r.u32("flow_mod: buffer_id")?,
            out_port: r.u16("flow_mod: out_port")?,
            flags: r.u16("flow_mod: flags")?,
            // Spec 5.3.3: the action list fills the rest of the message.
            actions: decode_actions(r)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        self.r#match.encode(out);
        out.put_u64(self.cookie);
        out.put_u16((u16::from(self.table_id) << 8) | self.command.to_wire());
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.priority);
        out.put_u32(self.buffer_id);
        out.put_u16(self.out_port);
        out.put_u16(self.flags);
        encode_actions(&self.actions, out);
    }
}

/// OFPT_FLOW_REMOVED body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowRemoved {
    pub r#match: Match,
    pub cookie: u64,
    pub priority: u16,
    /// [`flow_removed_reason`], raw.
    pub reason: u8,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub idle_timeout: u16,
    pub packet_count: u64,
    pub byte_count: u64,
}

impl FlowRemoved {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let m = Match::decode(r)?;
        let cookie = r.u64("flow_removed: cookie")?;
        let priority = r.u16("flow_removed: priority")?;
        let reason = r.u8("flow_removed: reason")?;
        r.pad(1, "flow_removed: pad")?;
        let duration_sec = r.u32("flow_removed: duration_sec")?;
        let duration_nsec = r.u32("flow_removed: duration_nsec")?;
        let idle_timeout = r.u16("flow_removed: idle_timeout")?;
        r.pad(2, "flow_removed: pad2")?;
        Ok(FlowRemoved {
            r#match: m,
            cookie,
            priority,
            reason,
            duration_sec,
            duration_nsec,
            idle_timeout,
            packet_count: r.u64("flow_removed: packet_count")?,
            byte_count: r.u64("flow_removed: byte_count")?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        self.r#match.encode(out);
        out.put_u64(self.cookie);
        out.put_u16(self.priority);
        out.put_u8(self.reason);
        put_pad(out, 1);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.idle_timeout);
        put_pad(out, 2);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
    }
}
