//! OpenFlow 1.0 (wire version 0x01), every message type, sans-IO.
//!
//! [`decode`] turns exactly one framed message into `(xid, Message)`; [`Message::encode`]
//! writes one back. Decoding is total: any input gives a message or a [`DecodeError`], never a
//! panic, and nothing is allocated in proportion to a length field beyond the input itself.
//! Errors carry the OpenFlow 1.0 error (type, code) to answer with ([`error_code`] maps the
//! 1.3-numbered codes of the shared model). Payloads are zero-copy slices of the input.
//!
//! Padding is ignored on input and written as zeros; every other byte is kept, so a message
//! with zero padding re-encodes to the bytes it came from.
//!
//! Files, by the spec's sections: `switch.rs` (features, config), `port.rs` (ports,
//! PORT_STATUS, PORT_MOD), `flow_match.rs` (`ofp_match`), `flow.rs` (FLOW_MOD,
//! FLOW_REMOVED), `packet.rs` (PACKET_IN, PACKET_OUT), `action.rs`, `stats.rs` (STATS
//! requests and replies), `queue.rs` (queue configuration), `errors.rs` (the 1.0 error
//! numbering), `wire.rs` (the bounds-checked cursor); here: the message enum, `decode`
//! and `encode`.

mod action;
pub mod errors;
mod flow;
mod flow_match;
mod packet;
mod port;
mod queue;
mod stats;
mod switch;
mod wire;

use bytes::{BufMut, Bytes, BytesMut};

/// `enum ofp_port` (1.0.0 section 5.2.1) under the names the specification gives them;
/// [`port_no`] has the same values.
pub const OFPP_MAX: u16 = port_no::MAX;
pub const OFPP_IN_PORT: u16 = port_no::IN_PORT;
pub const OFPP_TABLE: u16 = port_no::TABLE;
pub const OFPP_NORMAL: u16 = port_no::NORMAL;
pub const OFPP_FLOOD: u16 = port_no::FLOOD;
pub const OFPP_ALL: u16 = port_no::ALL;
pub const OFPP_CONTROLLER: u16 = port_no::CONTROLLER;
pub const OFPP_LOCAL: u16 = port_no::LOCAL;
/// No port (1.3 calls it OFPP_ANY).
pub const OFPP_NONE: u16 = port_no::NONE;

pub use action::{action_type, Action, ACTION_ALIGN};
pub use errors::{
    bad_action, bad_request, err_type, error_code, flow_mod_failed, hello_failed, port_mod_failed,
    queue_op_failed,
};
pub use flow::{flow_mod_flags, flow_removed_reason, FlowMod, FlowModCommand, FlowRemoved};
pub use flow_match::{wildcards, Match, MATCH_LEN, VLAN_NONE};
pub use packet::{packet_in_reason, PacketIn, PacketOut, NO_BUFFER};
pub use port::{
    port_config, port_features, port_no, port_reason, port_state, PhyPort, PortMod, PortStatus,
    MAX_PORT_NAME_LEN, PHY_PORT_LEN,
};
pub use queue::{queue_prop_type, PacketQueue, QueueGetConfigReply, QueueProp, QUEUE_ALL};
pub use stats::{
    stats_type, AggregateStats, DescStats, FlowStats, FlowStatsRequest, PortStats, QueueStats,
    StatsReply, StatsReplyBody, StatsRequest, StatsRequestBody, TableStats, DESC_STR_LEN,
    MAX_TABLE_NAME_LEN, SERIAL_NUM_LEN, STATS_REPLY_MORE,
};
pub use switch::{capabilities, config_flags, FeaturesReply, SwitchConfig, DEFAULT_MISS_SEND_LEN};
pub use wire::FixedStr;

use crate::error::{DecodeError, OfpErrorCode};
use crate::header::{Header, HEADER_LEN, OFP10_VERSION};
use wire::{patch_len, Reader};

/// `enum ofp_type` of OpenFlow 1.0.
pub mod msg_type {
    pub const HELLO: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const ECHO_REQUEST: u8 = 2;
    pub const ECHO_REPLY: u8 = 3;
    pub const VENDOR: u8 = 4;
    pub const FEATURES_REQUEST: u8 = 5;
    pub const FEATURES_REPLY: u8 = 6;
    pub const GET_CONFIG_REQUEST: u8 = 7;
    pub const GET_CONFIG_REPLY: u8 = 8;
    pub const SET_CONFIG: u8 = 9;
    pub const PACKET_IN: u8 = 10;
    pub const FLOW_REMOVED: u8 = 11;
    pub const PORT_STATUS: u8 = 12;
    pub const PACKET_OUT: u8 = 13;
    pub const FLOW_MOD: u8 = 14;
    pub const PORT_MOD: u8 = 15;
    pub const STATS_REQUEST: u8 = 16;
    pub const STATS_REPLY: u8 = 17;
    pub const BARRIER_REQUEST: u8 = 18;
    pub const BARRIER_REPLY: u8 = 19;
    pub const QUEUE_GET_CONFIG_REQUEST: u8 = 20;
    pub const QUEUE_GET_CONFIG_REPLY: u8 = 21;
}

/// OFPT_HELLO. 1.0 defines no body, but a newer peer's HELLO (with its version and hello
/// elements) must still be understood for version negotiation, so the version and any body
/// are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hello {
    /// The header's version: the highest version the peer speaks.
    pub version: u8,
    pub body: Bytes,
}

impl Default for Hello {
    fn default() -> Self {
        Hello {
            version: OFP10_VERSION,
            body: Bytes::new(),
        }
    }
}

/// OFPT_ERROR (`ofp_error_msg`). Type and code are in 1.0 numbering ([`err_type`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorMsg {
    pub err_type: u16,
    pub code: u16,
    /// At least 64 bytes of the failed request, or ASCII text for HELLO_FAILED.
    pub data: Bytes,
}

/// OFPT_VENDOR (`ofp_vendor_header`): vendor id, then vendor-defined bytes, kept opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vendor {
    pub vendor: u32,
    pub data: Bytes,
}

/// One OpenFlow 1.0 message, without its header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    Hello(Hello),
    Error(ErrorMsg),
    EchoRequest(Bytes),
    EchoReply(Bytes),
    Vendor(Vendor),
    FeaturesRequest,
    FeaturesReply(FeaturesReply),
    GetConfigRequest,
    GetConfigReply(SwitchConfig),
    SetConfig(SwitchConfig),
    PacketIn(PacketIn),
    FlowRemoved(FlowRemoved),
    PortStatus(PortStatus),
    PacketOut(PacketOut),
    FlowMod(FlowMod),
    PortMod(PortMod),
    StatsRequest(StatsRequest),
    StatsReply(StatsReply),
    BarrierRequest,
    BarrierReply,
    QueueGetConfigRequest { port: u16 },
    QueueGetConfigReply(QueueGetConfigReply),
}

/// Decode exactly one framed OpenFlow 1.0 message. Errors carry OpenFlow 1.0 numbering.
///
/// - fewer bytes than the header or its `length`: [`DecodeError::Incomplete`];
/// - more bytes than `length`: BAD_REQUEST/BAD_LEN (the caller frames with
///   [`Header::frame`]);
/// - version other than 0x01: BAD_REQUEST/BAD_VERSION, except HELLO, which any version may
///   send (spec 5.5.1: the receiver answers an unsupported version after the HELLO exchange).
pub fn decode(msg: &Bytes) -> Result<(u32, Message), DecodeError> {
    decode13(msg).map_err(|e| match e {
        DecodeError::Malformed {
            code,
            offset,
            reason,
        } => DecodeError::Malformed {
            code: error_code(code),
            offset,
            reason,
        },
        incomplete => incomplete,
    })
}

/// [`decode`], with errors still in the shared 1.3 numbering.
fn decode13(msg: &Bytes) -> Result<(u32, Message), DecodeError> {
    use msg_type as t;
    let h = Header::decode(msg)?;
    let len = usize::from(h.length);
    if msg.len() < len {
        return Err(DecodeError::Incomplete { needed: len });
    }
    if msg.len() > len {
        return Err(DecodeError::malformed(
            OfpErrorCode::BAD_LEN,
            len,
            "bytes after the message's length",
        ));
    }
    if h.msg_type == t::HELLO {
        let body = msg.slice(HEADER_LEN..);
        return Ok((
            h.xid,
            Message::Hello(Hello {
                version: h.version,
                body,
            }),
        ));
    }
    // Spec 5.4.4: OFPBRC_BAD_VERSION, "ofp_header.version not supported".
    if h.version != OFP10_VERSION {
        return Err(DecodeError::malformed(
            OfpErrorCode::BAD_VERSION,
            0,
            "version is not OpenFlow 1.0",
        ));
    }
    let mut r = Reader::new(msg);
    r.pad(HEADER_LEN, "header")?;
    let m = match h.msg_type {
        // Spec 5.5.2, 5.5.3: echo bodies are arbitrary and returned as they came.
        t::ECHO_REQUEST => Message::EchoRequest(r.rest()),
        t::ECHO_REPLY => Message::EchoReply(r.rest()),
        t::ERROR => {
            // `ofp_error_msg`: type and code, then data (spec 5.4.4).
            let err_type = r.u16("error: type")?;
            let code = r.u16("error: code")?;
            Message::Error(ErrorMsg {
                err_type,
                code,
                data: r.rest(),
            })
        }
        t::VENDOR => {
            // `ofp_vendor_header` is 12 bytes (spec 5.5.4).
            let vendor = r.u32("vendor: vendor")?;
            Message::Vendor(Vendor {
                vendor,
                data: r.rest(),
            })
        }
        t::FEATURES_REQUEST => Message::FeaturesRequest,
        t::FEATURES_REPLY => Message::FeaturesReply(FeaturesReply::decode(&mut r)?),
        t::GET_CONFIG_REQUEST => Message::GetConfigRequest,
        t::GET_CONFIG_REPLY => Message::GetConfigReply(SwitchConfig::decode(&mut r)?),
        t::SET_CONFIG => Message::SetConfig(SwitchConfig::decode(&mut r)?),
        t::PACKET_IN => Message::PacketIn(PacketIn::decode(&mut r)?),
        t::FLOW_REMOVED => Message::FlowRemoved(FlowRemoved::decode(&mut r)?),
        t::PORT_STATUS => Message::PortStatus(PortStatus::decode(&mut r)?),
        t::PACKET_OUT => Message::PacketOut(PacketOut::decode(&mut r)?),
        t::FLOW_MOD => Message::FlowMod(FlowMod::decode(&mut r)?),
        t::PORT_MOD => Message::PortMod(PortMod::decode(&mut r)?),
        t::STATS_REQUEST => Message::StatsRequest(StatsRequest::decode(&mut r)?),
        t::STATS_REPLY => Message::StatsReply(StatsReply::decode(&mut r)?),
        t::BARRIER_REQUEST => Message::BarrierRequest,
        t::BARRIER_REPLY => Message::BarrierReply,
        t::QUEUE_GET_CONFIG_REQUEST => {
            let port = r.u16("queue config request: port")?;
            r.pad(2, "queue config request: pad")?;
            Message::QueueGetConfigRequest { port }
        }
        t::QUEUE_GET_CONFIG_REPLY => {
            Message::QueueGetConfigReply(QueueGetConfigReply::decode(&mut r)?)
        }
        // Spec 5.4.4: OFPBRC_BAD_TYPE, "ofp_header.type not supported".
        _ => {
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_TYPE,
                1,
                "unknown message type",
            ))
        }
    };
    // Every message's size is fixed or determined by its contents (the OFP_ASSERTs of
    // spec 5); bytes left over mean `length` disagrees with the body: OFPBRC_BAD_LEN.
    r.finish("message longer than its body")?;
    Ok((h.xid, m))
}

impl Message {
    /// The `ofp_type` of this message.
    pub fn msg_type(&self) -> u8 {
        use msg_type as t;
        match self {
            Message::Hello(_) => t::HELLO,
            Message::Error(_) => t::ERROR,
            Message::EchoRequest(_) => t::ECHO_REQUEST,
            Message::EchoReply(_) => t::ECHO_REPLY,
            Message::Vendor(_) => t::VENDOR,
            Message::FeaturesRequest => t::FEATURES_REQUEST,
            Message::FeaturesReply(_) => t::FEATURES_REPLY,
            Message::GetConfigRequest => t::GET_CONFIG_REQUEST,
            Message::GetConfigReply(_) => t::GET_CONFIG_REPLY,
            Message::SetConfig(_) => t::SET_CONFIG,
            Message::PacketIn(_) => t::PACKET_IN,
            Message::FlowRemoved(_) => t::FLOW_REMOVED,
            Message::PortStatus(_) => t::PORT_STATUS,
            Message::PacketOut(_) => t::PACKET_OUT,
            Message::FlowMod(_) => t::FLOW_MOD,
            Message::PortMod(_) => t::PORT_MOD,
            Message::StatsRequest(_) => t::STATS_REQUEST,
            Message::StatsReply(_) => t::STATS_REPLY,
            Message::BarrierRequest => t::BARRIER_REQUEST,
            Message::BarrierReply => t::BARRIER_REPLY,
            Message::QueueGetConfigRequest { .. } => t::QUEUE_GET_CONFIG_REQUEST,
            Message::QueueGetConfigReply(_) => t::QUEUE_GET_CONFIG_REPLY,
        }
    }

    /// Append the message with its header to `out`. The version is 0x01, except for a
    /// [`Hello`], which is written with its own `version`.
    ///
    /// A message longer than 65535 bytes cannot be expressed; building one is a bug of the
    /// caller (debug builds assert, release builds write length 0xffff).
    pub fn encode(&self, xid: u32, out: &mut BytesMut) {
        let start = out.len();
        let version = match self {
            Message::Hello(h) => h.version,
            _ => OFP10_VERSION,
        };
        Header {
            version,
            msg_type: self.msg_type(),
            length: 0,
            xid,
        }
        .encode(out);
        match self {
            Message::Hello(h) => out.put_slice(&h.body),
            Message::Error(e) => {
                out.put_u16(e.err_type);
                out.put_u16(e.code);
                out.put_slice(&e.data);
            }
            Message::EchoRequest(d) | Message::EchoReply(d) => out.put_slice(d),
            Message::Vendor(v) => {
                out.put_u32(v.vendor);
                out.put_slice(&v.data);
            }
            Message::FeaturesRequest
            | Message::GetConfigRequest
            | Message::BarrierRequest
            | Message::BarrierReply => {}
            Message::FeaturesReply(f) => f.encode(out),
            Message::GetConfigReply(c) | Message::SetConfig(c) => c.encode(out),
            Message::PacketIn(p) => p.encode(out),
            Message::FlowRemoved(f) => f.encode(out),
            Message::PortStatus(p) => p.encode(out),
            Message::PacketOut(p) => p.encode(out),
            Message::FlowMod(f) => f.encode(out),
            Message::PortMod(p) => p.encode(out),
            Message::StatsRequest(s) => s.encode(out),
            Message::StatsReply(s) => s.encode(out),
            Message::QueueGetConfigRequest { port } => {
                out.put_u16(*port);
                out.put_bytes(0, 2);
            }
            Message::QueueGetConfigReply(q) => q.encode(out),
        }
        patch_len(out, start + 2, start);
    }

    /// The message encoded on its own, as `Bytes`.
    pub fn to_bytes(&self, xid: u32) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(xid, &mut out);
        out.freeze()
    }
}
