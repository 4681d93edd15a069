//! OFPT_QUEUE_GET_CONFIG_REQUEST / _REPLY and queue descriptions (spec 5.2.2, 5.3.4).

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{len_placeholder, patch_len, put_pad, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_queue_properties`.
pub mod queue_prop_type {
    pub const NONE: u16 = 0;
    pub const MIN_RATE: u16 = 1;
}

/// `OFPQ_ALL`: every queue of a port (queue stats request).
pub const QUEUE_ALL: u32 = 0xffff_ffff;

const PACKET_QUEUE_LEN: usize = 8;
const QUEUE_PROP_HEADER_LEN: usize = 8;
const QUEUE_PROP_MIN_RATE_LEN: usize = 16;

/// OFPT_QUEUE_GET_CONFIG_REPLY body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueGetConfigReply {
    pub port: u16,
    pub queues: Vec<PacketQueue>,
}

/// `ofp_packet_queue`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketQueue {
    pub queue_id: u32,
    pub properties: Vec<QueueProp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueProp {
    /// OFPQT_MIN_RATE: guaranteed rate in 1/10 of a percent; above 1000 means disabled.
    MinRate { rate: u16 },
    /// Any other property (OFPQT_NONE among them): the bytes after the 8-byte property
    /// header, kept as received.
    Other { property: u16, data: Bytes },
}

fn bad_len(offset: usize, reason: &'static str) -> DecodeError {
    DecodeError::malformed(OfpErrorCode::BAD_LEN, offset, reason)
}

impl QueueProp {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let property = r.u16("queue prop: property")?;
        let len = usize::from(r.u16("queue prop: len")?);
        // Spec 5.2.2: `len` covers the property including its 8-byte header, inside its queue.
        if len < QUEUE_PROP_HEADER_LEN || len - 4 > r.remaining() {
            return Err(bad_len(at + 2, "queue prop: len below 8 or past its queue"));
        }
        let mut p = r.sub(
            len - 4,
            OfpErrorCode::BAD_LEN,
            OfpErrorCode::BAD_LEN,
            "queue prop: truncated",
        )?;
        p.pad(4, "queue prop: pad")?;
        match property {
            queue_prop_type::MIN_RATE => {
                // `ofp_queue_prop_min_rate` is 16 bytes (OFP_ASSERT in spec 5.2.2).
                if len != QUEUE_PROP_MIN_RATE_LEN {
                    return Err(bad_len(at + 2, "queue prop min_rate: len not 16"));
                }
                let rate = p.u16("min_rate: rate")?;
                p.pad(6, "min_rate: pad")?;
                Ok(QueueProp::MinRate { rate })
            }
            _ => Ok(QueueProp::Other {
                property,
                data: p.rest(),
            }),
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        match self {
            QueueProp::MinRate { rate } => {
                out.put_u16(queue_prop_type::MIN_RATE);
                let len_at = len_placeholder(out);
                put_pad(out, 4);
                out.put_u16(*rate);
                put_pad(out, 6);
                patch_len(out, len_at, start);
            }
            QueueProp::Other { property, data } => {
                out.put_u16(*property);
                let len_at = len_placeholder(out);
                put_pad(out, 4);
                out.put_slice(data);
                patch_len(out, len_at, start);
            }
        }
    }
}

impl PacketQueue {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let queue_id = r.u32("packet queue: queue_id")?;
        let len = usize::from(r.u16("packet queue: len")?);
        // Spec 5.2.2: `len` covers the queue description and its properties.
        if len < PACKET_QUEUE_LEN || len - 6 > r.remaining() {
            return Err(bad_len(
                at + 4,
                "packet queue: len below 8 or past the reply",
            ));
        }
        let mut q = r.sub(
            len - 6,
            OfpErrorCode::BAD_LEN,
            OfpErrorCode::BAD_LEN,
            "packet queue: truncated",
        )?;
        q.pad(2, "packet queue: pad")?;
        let mut properties = Vec::new();
        while !q.is_empty() {
            properties.push(QueueProp::decode(&mut q)?);
        }
        Ok(PacketQueue {
            queue_id,
            properties,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u32(self.queue_id);
        let len_at = len_placeholder(out);
        put_pad(out, 2);
        for p in &self.properties {
            p.encode(out);
        }
        patch_len(out, len_at, start);
    }
}

impl QueueGetConfigReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port = r.u16("queue config reply: port")?;
        r.pad(6, "queue config reply: pad")?;
        let mut queues = Vec::new();
        while !r.is_empty() {
            queues.push(PacketQueue::decode(r)?);
        }
        Ok(QueueGetConfigReply { port, queues })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.port);
        put_pad(out, 6);
        for q in &self.queues {
            q.encode(out);
        }
    }
}
