//! OpenFlow 1.3.5 (wire version 0x04), every message, sans-IO.
//!
//! - [`decode`] turns exactly one framed message (split a stream with
//!   [`crate::Header::frame`] first) into `(xid, Message)`, or a [`DecodeError`] that names the
//!   OpenFlow error to answer with. Decoding is total: any input gives one or the other.
//! - [`Message::encode`] appends the message, header included, to a `BytesMut`.
//! - [`negotiate`] and [`Hello::with_versions`] / [`encode_hello`] do the version handshake.
//! - [`fast`]: the per-packet hot paths on bytes: a zero-copy PACKET_IN view
//!   ([`PacketInView`]) and template encoders ([`PacketInHead`], [`LearnedFlowMod`],
//!   [`PacketOutHead`]) that write what [`Message::encode`] writes.
//! - [`errors`]: every error code of 7.4.4 by its specification name, and how it prints.
//! - The messages by the spec's sections: [`switch`] (features, config, ports, tables, roles,
//!   async config, queues), [`flow`] (PACKET_IN, FLOW_REMOVED, PACKET_OUT, FLOW_MOD),
//!   [`group_meter`] (GROUP_MOD, METER_MOD), [`multipart`] (every multipart type),
//!   [`table_features`]; their parts: [`oxm`] (match fields), [`instruction`], [`action`];
//!   `symmetric.rs` (HELLO, ERROR, ECHO, EXPERIMENTER, version negotiation), `wire.rs`
//!   (checked reading and length-patched writing).
//! - Here: the reserved numbers (`OFPP_*`, `OFPTT_*`, `OFPG_*`, `OFPM_*`) and the small enums
//!   (`OFPR_*`, `OFPRR_*`, `OFPPR_*`, `OFPCR_ROLE_*`, `OFPC_*`, `OFPMF_*`).
//!
//! Payloads (packet data, opaque TLVs) are zero-copy slices of the input `Bytes`; lists that
//! are on the hot path (OXM fields, actions, instructions) are `SmallVec`s with inline room,
//! so decoding a PACKET_IN or encoding a FLOW_MOD does not allocate.
//!
//! Padding is ignored on decode and written as zeros on encode; for peers that send zero
//! padding (all real ones) re-encoding a decoded message gives the same bytes.

pub mod action;
pub mod errors;
pub mod fast;
pub mod flow;
pub mod group_meter;
pub mod instruction;
pub mod multipart;
pub mod nx_ct;
pub mod oxm;
pub mod switch;
pub(crate) mod symmetric;
pub mod table_features;
mod wire;

use bytes::{BufMut, Bytes, BytesMut};

pub use action::{Action, ActionList, OFPCML_MAX, OFPCML_NO_BUFFER};
pub use fast::{FlowModView, LearnedFlowMod, PacketInHead, PacketInView, PacketOutHead};
pub use flow::{FlowMod, FlowModCommand, FlowRemoved, PacketIn, PacketOut, OFP_NO_BUFFER};
pub use group_meter::{Bucket, GroupMod, GroupModCommand, MeterBand, MeterMod, MeterModCommand};
pub use instruction::{Instruction, InstructionList};
pub use multipart::{MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody};
pub use oxm::{MacAddr, Masked, Match, Oxm, OxmList, OxmOpaque};
pub use switch::{
    AsyncConfig, FeaturesReply, PacketQueue, Port, PortMod, PortStatus, QueueGetConfigReply,
    QueueGetConfigRequest, QueueProp, Role, SwitchConfig, TableMod,
};
pub use symmetric::{negotiate, ErrorMsg, Experimenter, Hello, HelloElement};
pub use table_features::{FeatureId, OxmId, TableFeatureProp, TableFeatures};

use crate::error::{DecodeError, OfpErrorCode};
use crate::header::{Header, HEADER_LEN, OFP13_VERSION};
use wire::{patch_u16, Reader};

/// `enum ofp_port_no` (1.3.5 section 7.2.1): the highest physical port number, then the
/// reserved ports.
pub const OFPP_MAX: u32 = 0xffff_ff00;
/// Send the packet out the port it came in on.
pub const OFPP_IN_PORT: u32 = 0xffff_fff8;
/// Submit the packet to the first flow table (packet-out only).
pub const OFPP_TABLE: u32 = 0xffff_fff9;
/// The switch's own non-OpenFlow forwarding.
pub const OFPP_NORMAL: u32 = 0xffff_fffa;
/// Every port but the ingress port and those with flooding disabled.
pub const OFPP_FLOOD: u32 = 0xffff_fffb;
/// Every port but the ingress port.
pub const OFPP_ALL: u32 = 0xffff_fffc;
/// The controller, in a packet-in.
pub const OFPP_CONTROLLER: u32 = 0xffff_fffd;
/// The switch's local networking stack.
pub const OFPP_LOCAL: u32 = 0xffff_fffe;
/// No port: a wildcard in deletes and statistics requests, never an output.
pub const OFPP_ANY: u32 = 0xffff_ffff;

/// `enum ofp_table`: the last table number a flow can be in.
pub const OFPTT_MAX: u8 = 0xfe;
/// Every table: a wildcard in deletes and statistics requests.
pub const OFPTT_ALL: u8 = 0xff;

/// `enum ofp_group`: the last group number a controller may use.
pub const OFPG_MAX: u32 = 0xffff_ff00;
/// Every group (group delete only).
pub const OFPG_ALL: u32 = 0xffff_fffc;
/// No group: a wildcard in flow deletes and statistics requests.
pub const OFPG_ANY: u32 = 0xffff_ffff;

/// `enum ofp_meter`: the last meter number a controller may use.
pub const OFPM_MAX: u32 = 0xffff_0000;
/// The virtual meter of the packets sent to the controller through the slow path.
pub const OFPM_SLOWPATH: u32 = 0xffff_fffd;
/// The virtual meter of the packets sent to the controller.
pub const OFPM_CONTROLLER: u32 = 0xffff_fffe;
/// Every meter (meter delete and statistics only).
pub const OFPM_ALL: u32 = 0xffff_ffff;

/// `enum ofp_packet_in_reason`
pub const OFPR_NO_MATCH: u8 = 0;
pub const OFPR_ACTION: u8 = 1;
pub const OFPR_INVALID_TTL: u8 = 2;

/// `enum ofp_flow_removed_reason`
pub const OFPRR_IDLE_TIMEOUT: u8 = 0;
pub const OFPRR_HARD_TIMEOUT: u8 = 1;
pub const OFPRR_DELETE: u8 = 2;
pub const OFPRR_GROUP_DELETE: u8 = 3;

/// `enum ofp_port_reason`
pub const OFPPR_ADD: u8 = 0;
pub const OFPPR_DELETE: u8 = 1;
pub const OFPPR_MODIFY: u8 = 2;

/// `enum ofp_controller_role`
pub const OFPCR_ROLE_NOCHANGE: u32 = 0;
pub const OFPCR_ROLE_EQUAL: u32 = 1;
pub const OFPCR_ROLE_MASTER: u32 = 2;
pub const OFPCR_ROLE_SLAVE: u32 = 3;

/// `enum ofp_capabilities`
pub const OFPC_FLOW_STATS: u32 = 1 << 0;
pub const OFPC_TABLE_STATS: u32 = 1 << 1;
pub const OFPC_PORT_STATS: u32 = 1 << 2;
pub const OFPC_GROUP_STATS: u32 = 1 << 3;
pub const OFPC_IP_REASM: u32 = 1 << 5;
pub const OFPC_QUEUE_STATS: u32 = 1 << 6;
pub const OFPC_PORT_BLOCKED: u32 = 1 << 8;

/// `enum ofp_meter_flags`
pub const OFPMF_KBPS: u16 = 1 << 0;
pub const OFPMF_PKTPS: u16 = 1 << 1;
pub const OFPMF_BURST: u16 = 1 << 2;
pub const OFPMF_STATS: u16 = 1 << 3;

/// The reserved port numbers under short names (`port::NORMAL`), for code that uses many.
pub mod port {
    pub use super::{
        OFPP_ALL as ALL, OFPP_ANY as ANY, OFPP_CONTROLLER as CONTROLLER, OFPP_FLOOD as FLOOD,
        OFPP_IN_PORT as IN_PORT, OFPP_LOCAL as LOCAL, OFPP_MAX as MAX, OFPP_NORMAL as NORMAL,
        OFPP_TABLE as TABLE,
    };
}

/// `enum ofp_type`
pub mod msg_type {
    pub const HELLO: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const ECHO_REQUEST: u8 = 2;
    pub const ECHO_REPLY: u8 = 3;
    pub const EXPERIMENTER: u8 = 4;
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
    pub const GROUP_MOD: u8 = 15;
    pub const PORT_MOD: u8 = 16;
    pub const TABLE_MOD: u8 = 17;
    pub const MULTIPART_REQUEST: u8 = 18;
    pub(crate) const MULTIPART_REPLY: u8 = 19;
    pub const BARRIER_REQUEST: u8 = 20;
    pub const BARRIER_REPLY: u8 = 21;
    pub const QUEUE_GET_CONFIG_REQUEST: u8 = 22;
    pub const QUEUE_GET_CONFIG_REPLY: u8 = 23;
    pub const ROLE_REQUEST: u8 = 24;
    pub const ROLE_REPLY: u8 = 25;
    pub const GET_ASYNC_REQUEST: u8 = 26;
    pub const GET_ASYNC_REPLY: u8 = 27;
    pub const SET_ASYNC: u8 = 28;
    pub const METER_MOD: u8 = 29;
}

/// Every OpenFlow 1.3 message.
///
/// The variants hold their structures inline (no `Box`): a boxed FLOW_MOD would allocate
/// on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Error(ErrorMsg),
    EchoRequest(Bytes),
    EchoReply(Bytes),
    Experimenter(Experimenter),
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
    GroupMod(GroupMod),
    PortMod(PortMod),
    TableMod(TableMod),
    MultipartRequest(MultipartRequest),
    MultipartReply(MultipartReply),
    BarrierRequest,
    BarrierReply,
    QueueGetConfigRequest(QueueGetConfigRequest),
    QueueGetConfigReply(QueueGetConfigReply),
    RoleRequest(Role),
    RoleReply(Role),
    GetAsyncRequest,
    GetAsyncReply(AsyncConfig),
    SetAsync(AsyncConfig),
    MeterMod(MeterMod),
}

/// Decode exactly one framed OpenFlow 1.3 message; returns its xid and the message.
///
/// `msg` must be one whole message as [`Header::frame`] cuts it: the header's `length` must
/// equal `msg.len()` (else OFPBRC_BAD_LEN). The version must be 0x04 (else OFPBRC_BAD_VERSION),
/// except for HELLO, which is decoded for any version so that [`negotiate`] can run.
pub fn decode(msg: &Bytes) -> Result<(u32, Message), DecodeError> {
    let h = Header::decode(msg)?;
    // 7.1: length is the length of the whole message, header included.
    if h.length as usize != msg.len() {
        return Err(DecodeError::malformed(
            OfpErrorCode::BAD_LEN,
            2,
            "header length differs from message length",
        ));
    }
    let mut r = Reader::new(
        msg,
        HEADER_LEN,
        OfpErrorCode::BAD_LEN,
        "message body truncated",
    );
    if h.msg_type == msg_type::HELLO {
        // 6.3.1: a HELLO of any version must be understood well enough to negotiate.
        // Versions before 1.3.1 had no hello elements: ignore whatever body they carry.
        let hello = if h.version >= OFP13_VERSION {
            Hello::decode(&mut r)?
        } else {
            Hello::default()
        };
        return Ok((h.xid, Message::Hello(hello)));
    }
    // 7.1 / 6.3.1: after negotiation every message carries the negotiated version.
    if h.version != OFP13_VERSION {
        return Err(DecodeError::malformed(
            OfpErrorCode::BAD_VERSION,
            0,
            "not an OpenFlow 1.3 message",
        ));
    }
    use msg_type as t;
    let m = match h.msg_type {
        t::ERROR => Message::Error(ErrorMsg::decode(&mut r)?),
        t::ECHO_REQUEST => Message::EchoRequest(r.rest()),
        t::ECHO_REPLY => Message::EchoReply(r.rest()),
        t::EXPERIMENTER => Message::Experimenter(Experimenter::decode(&mut r)?),
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
        t::GROUP_MOD => Message::GroupMod(GroupMod::decode(&mut r)?),
        t::PORT_MOD => Message::PortMod(PortMod::decode(&mut r)?),
        t::TABLE_MOD => Message::TableMod(TableMod::decode(&mut r)?),
        t::MULTIPART_REQUEST => Message::MultipartRequest(MultipartRequest::decode(&mut r)?),
        t::MULTIPART_REPLY => Message::MultipartReply(MultipartReply::decode(&mut r)?),
        t::BARRIER_REQUEST => Message::BarrierRequest,
        t::BARRIER_REPLY => Message::BarrierReply,
        t::QUEUE_GET_CONFIG_REQUEST => {
            Message::QueueGetConfigRequest(QueueGetConfigRequest::decode(&mut r)?)
        }
        t::QUEUE_GET_CONFIG_REPLY => {
            Message::QueueGetConfigReply(QueueGetConfigReply::decode(&mut r)?)
        }
        t::ROLE_REQUEST => Message::RoleRequest(Role::decode(&mut r)?),
        t::ROLE_REPLY => Message::RoleReply(Role::decode(&mut r)?),
        t::GET_ASYNC_REQUEST => Message::GetAsyncRequest,
        t::GET_ASYNC_REPLY => Message::GetAsyncReply(AsyncConfig::decode(&mut r)?),
        t::SET_ASYNC => Message::SetAsync(AsyncConfig::decode(&mut r)?),
        t::METER_MOD => Message::MeterMod(MeterMod::decode(&mut r)?),
        // 7.4.4: a message type we do not know is OFPBRC_BAD_TYPE.
        _ => {
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_TYPE,
                1,
                "unknown message type",
            ))
        }
    };
    // Every structure above consumes exactly its own bytes; anything left means the header
    // length disagrees with the body (7.1, OFPBRC_BAD_LEN).
    r.finish(OfpErrorCode::BAD_LEN, "bytes left after the message body")?;
    Ok((h.xid, m))
}

impl Message {
    /// The OFPT_* type of this message.
    pub fn msg_type(&self) -> u8 {
        use msg_type as t;
        match self {
            Message::Hello(_) => t::HELLO,
            Message::Error(_) => t::ERROR,
            Message::EchoRequest(_) => t::ECHO_REQUEST,
            Message::EchoReply(_) => t::ECHO_REPLY,
            Message::Experimenter(_) => t::EXPERIMENTER,
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
            Message::GroupMod(_) => t::GROUP_MOD,
            Message::PortMod(_) => t::PORT_MOD,
            Message::TableMod(_) => t::TABLE_MOD,
            Message::MultipartRequest(_) => t::MULTIPART_REQUEST,
            Message::MultipartReply(_) => t::MULTIPART_REPLY,
            Message::BarrierRequest => t::BARRIER_REQUEST,
            Message::BarrierReply => t::BARRIER_REPLY,
            Message::QueueGetConfigRequest(_) => t::QUEUE_GET_CONFIG_REQUEST,
            Message::QueueGetConfigReply(_) => t::QUEUE_GET_CONFIG_REPLY,
            Message::RoleRequest(_) => t::ROLE_REQUEST,
            Message::RoleReply(_) => t::ROLE_REPLY,
            Message::GetAsyncRequest => t::GET_ASYNC_REQUEST,
            Message::GetAsyncReply(_) => t::GET_ASYNC_REPLY,
            Message::SetAsync(_) => t::SET_ASYNC,
            Message::MeterMod(_) => t::METER_MOD,
        }
    }

    /// Append this message, header included (version 0x04), to `out`.
    ///
    /// Messages are at most 65535 bytes (the header's length is 16 bits); building a larger
    /// one is a bug of the caller and yields a wrong length.
    pub fn encode(&self, xid: u32, out: &mut BytesMut) {
        self.encode_with_version(OFP13_VERSION, xid, out);
    }

    fn encode_with_version(&self, version: u8, xid: u32, out: &mut BytesMut) {
        let start = out.len();
        Header {
            version,
            msg_type: self.msg_type(),
            length: 0,
            xid,
        }
        .encode(out);
        match self {
            Message::Hello(h) => h.encode(out),
            Message::Error(e) => e.encode(out),
            Message::EchoRequest(d) | Message::EchoReply(d) => out.put_slice(d),
            Message::Experimenter(e) => e.encode(out),
            Message::FeaturesRequest
            | Message::GetConfigRequest
            | Message::BarrierRequest
            | Message::BarrierReply
            | Message::GetAsyncRequest => {}
            Message::FeaturesReply(f) => f.encode(out),
            Message::GetConfigReply(c) | Message::SetConfig(c) => c.encode(out),
            Message::PacketIn(p) => p.encode(out),
            Message::FlowRemoved(f) => f.encode(out),
            Message::PortStatus(p) => p.encode(out),
            Message::PacketOut(p) => p.encode(out),
            Message::FlowMod(f) => f.encode(out),
            Message::GroupMod(g) => g.encode(out),
            Message::PortMod(p) => p.encode(out),
            Message::TableMod(t) => t.encode(out),
            Message::MultipartRequest(m) => m.encode(out),
            Message::MultipartReply(m) => m.encode(out),
            Message::QueueGetConfigRequest(q) => q.encode(out),
            Message::QueueGetConfigReply(q) => q.encode(out),
            Message::RoleRequest(r) | Message::RoleReply(r) => r.encode(out),
            Message::GetAsyncReply(a) | Message::SetAsync(a) => a.encode(out),
            Message::MeterMod(m) => m.encode(out),
        }
        patch_u16(out, start + 2, out.len() - start);
    }
}

/// Encode our HELLO: header version = the highest of `our_versions`, and a version bitmap of
/// all of them (6.3.1), so that [`negotiate`] on both sides picks the highest common one.
pub fn encode_hello(our_versions: &[u8], xid: u32, out: &mut BytesMut) {
    let version = our_versions.iter().copied().max().unwrap_or(OFP13_VERSION);
    Message::Hello(Hello::with_versions(our_versions)).encode_with_version(version, xid, out);
}
