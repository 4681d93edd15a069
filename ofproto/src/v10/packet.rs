//! PACKET_IN (spec 5.4.1) and PACKET_OUT (5.3.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::action::{decode_actions, encode_actions, Action};
use super::wire::{len_placeholder, patch_len, put_pad, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_packet_in_reason`.
pub mod packet_in_reason {
    pub const NO_MATCH: u8 = 0;
    pub const ACTION: u8 = 1;
}

/// `buffer_id` meaning "not buffered; the packet is in `data`".
pub const NO_BUFFER: u32 = 0xffff_ffff;

/// OFPT_PACKET_IN body. `data` starts at byte 18 of the message (the struct's trailing pad
/// is not on the wire before it; `offsetof(struct ofp_packet_in, data) == 18`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketIn {
    pub buffer_id: u32,
    /// Length of the whole frame; `data` may be shorter.
    pub total_len: u16,
    pub in_port: u16,
    /// [`packet_in_reason`], raw.
    pub reason: u8,
    pub data: Bytes,
}

impl PacketIn {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let buffer_id = r.u32("packet_in: buffer_id")?;
        let total_len = r.u16("packet_in: total_len")?;
        let in_port = r.u16("packet_in: in_port")?;
        let reason = r.u8("packet_in: reason")?;
        r.pad(1, "packet_in: pad")?;
        Ok(PacketIn {
            buffer_id,
            total_len,
            in_port,
            reason,
            data: r.rest(),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.buffer_id);
        out.put_u16(self.total_len);
        out.put_u16(self.in_port);
        out.put_u8(self.reason);
        put_pad(out, 1);
        out.put_slice(&self.data);
    }
}

/// OFPT_PACKET_OUT body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketOut {
    /// [`NO_BUFFER`] when the packet is in `data`.
    pub buffer_id: u32,
    /// OFPP_NONE if none.
    pub in_port: u16,
    pub actions: Vec<Action>,
    /// The frame, when `buffer_id` is [`NO_BUFFER`]; kept whatever the buffer id.
    pub data: Bytes,
}

impl PacketOut {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let buffer_id = r.u32("packet_out: buffer_id")?;
        let in_port = r.u16("packet_out: in_port")?;
        let len_at = r.offset();
        let actions_len = usize::from(r.u16("packet_out: actions_len")?);
        // Spec 5.3.6: `actions_len` is the size of the action array that follows; it may not
        // run past the message. OFPBRC_BAD_LEN.
        let mut ar = r
            .sub(
                actions_len,
                OfpErrorCode::BAD_LEN,
                OfpErrorCode::BAD_ACTION_LEN,
                "packet_out: actions_len past the message",
            )
            .map_err(|_| {
                DecodeError::malformed(
                    OfpErrorCode::BAD_LEN,
                    len_at,
                    "packet_out: actions_len past the message",
                )
            })?;
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
        out.put_u16(self.in_port);
        let len_at = len_placeholder(out);
        let start = out.len();
        encode_actions(&self.actions, out);
        patch_len(out, len_at, start);
        out.put_slice(&self.data);
    }
}
