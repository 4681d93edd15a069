//! The learning switch's OpenFlow 1.3 hot path on bytes, through `ofproto`'s zero-copy
//! PACKET_IN view and template encoders (`ofproto::v13::fast`, where the layouts and their
//! byte-for-byte tests against the general codec are): a table-miss PACKET_IN is read in
//! place, the learned FLOW_MOD and the PACKET_OUT are one template copy each.
//!
//! Nothing here decides anything: [`packet_in`] only recognises the one shape that
//! switches send for a table miss (a match holding just OXM_OF_IN_PORT) and returns `None`
//! for anything else, which then takes the general decoder, errors included.

use bytes::BytesMut;
use ofproto::v13::{LearnedFlowMod, PacketInView, PacketOutHead};

/// What the learning switch needs from a PACKET_IN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketIn<'a> {
    pub(crate) xid: u32,
    pub(crate) buffer_id: u32,
    pub(crate) in_port: u32,
    pub(crate) data: &'a [u8],
}

/// `msg` (one framed message) as a PACKET_IN whose match is exactly `in_port`; `None` for
/// every other message, which then goes through `v13::decode`.
pub(crate) fn packet_in(msg: &[u8]) -> Option<PacketIn<'_>> {
    let v = PacketInView::new_checked(msg)?;
    Some(PacketIn {
        xid: v.xid(),
        buffer_id: v.buffer_id(),
        in_port: v.in_port_only()?,
        data: v.data(),
    })
}

/// The learned flow (see [`LearnedFlowMod`]).
pub(crate) struct LearnedFlow {
    pub(crate) cookie: u64,
    pub(crate) priority: u16,
    pub(crate) idle_timeout: u16,
    pub(crate) buffer_id: u32,
    pub(crate) in_port: u32,
    pub(crate) dst: [u8; 6],
    pub(crate) src: [u8; 6],
    pub(crate) out_port: u32,
}

/// Append the FLOW_MOD [`LearnedFlow`] describes.
pub(crate) fn flow_mod(out: &mut BytesMut, xid: u32, f: &LearnedFlow) {
    LearnedFlowMod {
        cookie: f.cookie,
        priority: f.priority,
        idle_timeout: f.idle_timeout,
        buffer_id: f.buffer_id,
        in_port: f.in_port,
        eth_dst: f.dst,
        eth_src: f.src,
        out_port: f.out_port,
    }
    .encode(xid, out);
}

/// Append PACKET_OUT { buffer_id, in_port, actions: [Output { port, max_len: 0 }], data }.
pub(crate) fn packet_out(
    out: &mut BytesMut,
    xid: u32,
    buffer_id: u32,
    in_port: u32,
    port: u32,
    data: &[u8],
) {
    PacketOutHead {
        buffer_id,
        in_port,
        out_port: port,
    }
    .encode(xid, data, out);
}
