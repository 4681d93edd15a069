//! OFPT_STATS_REQUEST / OFPT_STATS_REPLY (spec 5.3.5).
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! |        ofp_header (8)                                         |
//! +-------------------------------+-------------------------------+
//! |             type              |             flags             |
//! +-------------------------------+-------------------------------+
//! |        body (depends on type) ...
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::action::{decode_actions, encode_actions, Action};
use super::flow_match::{Match, MATCH_LEN};
use super::wire::{len_placeholder, patch_len, put_pad, FixedStr, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_stats_types`.
pub mod stats_type {
    pub const DESC: u16 = 0;
    pub const FLOW: u16 = 1;
    pub const AGGREGATE: u16 = 2;
    pub const TABLE: u16 = 3;
    pub const PORT: u16 = 4;
    pub const QUEUE: u16 = 5;
    pub const VENDOR: u16 = 0xffff;
}

/// `enum ofp_stats_reply_flags`: more replies follow.
pub const STATS_REPLY_MORE: u16 = 1;

/// `DESC_STR_LEN`, `SERIAL_NUM_LEN`, `OFP_MAX_TABLE_NAME_LEN`.
pub const DESC_STR_LEN: usize = 256;
pub const SERIAL_NUM_LEN: usize = 32;
pub const MAX_TABLE_NAME_LEN: usize = 32;

/// Wire sizes of the fixed parts (the `OFP_ASSERT`s of spec 5.3.5).
const DESC_STATS_LEN: usize = 1056;
const FLOW_STATS_REQUEST_LEN: usize = 44;
const FLOW_STATS_LEN: usize = 88;
const AGGREGATE_STATS_REPLY_LEN: usize = 24;
const TABLE_STATS_LEN: usize = 64;
const PORT_STATS_REQUEST_LEN: usize = 8;
const PORT_STATS_LEN: usize = 104;
const QUEUE_STATS_REQUEST_LEN: usize = 8;
const QUEUE_STATS_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatsRequest {
    pub flags: u16,
    pub body: StatsRequestBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatsRequestBody {
    /// OFPST_DESC: empty body.
    Desc,
    /// OFPST_FLOW: `ofp_flow_stats_request`.
    Flow(FlowStatsRequest),
    /// OFPST_AGGREGATE: `ofp_aggregate_stats_request`, the same layout as the flow one.
    Aggregate(FlowStatsRequest),
    /// OFPST_TABLE: empty body.
    Table,
    /// OFPST_PORT: `ofp_port_stats_request`; OFPP_NONE means every port.
    Port { port_no: u16 },
    /// OFPST_QUEUE: `ofp_queue_stats_request`; OFPP_ALL / OFPQ_ALL are wildcards.
    Queue { port_no: u16, queue_id: u32 },
    /// OFPST_VENDOR: vendor id, then vendor-defined bytes, kept opaque.
    Vendor { vendor: u32, data: Bytes },
}

/// `ofp_flow_stats_request` / `ofp_aggregate_stats_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowStatsRequest {
    pub r#match: Match,
    /// 0xff for all tables.
    pub table_id: u8,
    /// OFPP_NONE for no restriction.
    pub out_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatsReply {
    /// [`STATS_REPLY_MORE`] when more replies follow.
    pub flags: u16,
    pub body: StatsReplyBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatsReplyBody {
    Desc(Box<DescStats>),
    Flow(Vec<FlowStats>),
    Aggregate(AggregateStats),
    Table(Vec<TableStats>),
    Port(Vec<PortStats>),
    Queue(Vec<QueueStats>),
    Vendor { vendor: u32, data: Bytes },
}

/// `ofp_desc_stats`: NUL-padded strings, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DescStats {
    pub mfr_desc: FixedStr<DESC_STR_LEN>,
    pub hw_desc: FixedStr<DESC_STR_LEN>,
    pub sw_desc: FixedStr<DESC_STR_LEN>,
    pub serial_num: FixedStr<SERIAL_NUM_LEN>,
    pub dp_desc: FixedStr<DESC_STR_LEN>,
}

/// `ofp_flow_stats`: one flow entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowStats {
    pub table_id: u8,
    pub r#match: Match,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub cookie: u64,
    pub packet_count: u64,
    pub byte_count: u64,
    pub actions: Vec<Action>,
}

/// `ofp_aggregate_stats_reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AggregateStats {
    pub packet_count: u64,
    pub byte_count: u64,
    pub flow_count: u32,
}

/// `ofp_table_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TableStats {
    pub table_id: u8,
    pub name: FixedStr<MAX_TABLE_NAME_LEN>,
    /// Wildcards the table supports (`ofp_flow_wildcards`).
    pub wildcards: u32,
    pub max_entries: u32,
    pub active_count: u32,
    pub lookup_count: u64,
    pub matched_count: u64,
}

/// `ofp_port_stats`. All-ones in a counter means "not available".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortStats {
    pub port_no: u16,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_frame_err: u64,
    pub rx_over_err: u64,
    pub rx_crc_err: u64,
    pub collisions: u64,
}

/// `ofp_queue_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueStats {
    pub port_no: u16,
    pub queue_id: u32,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
}

fn bad_len(offset: usize, reason: &'static str) -> DecodeError {
    DecodeError::malformed(OfpErrorCode::BAD_LEN, offset, reason)
}

/// Require the body to be exactly `n` bytes: the fixed-size stats bodies (spec 5.3.5).
fn exact(r: &Reader<'_>, n: usize, reason: &'static str) -> Result<(), DecodeError> {
    if r.remaining() != n {
        return Err(bad_len(r.offset(), reason));
    }
    Ok(())
}

/// Decode a body that is an array of `n`-byte records.
fn records<T>(
    r: &mut Reader<'_>,
    n: usize,
    reason: &'static str,
    mut one: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    if !r.remaining().is_multiple_of(n) {
        return Err(bad_len(r.offset(), reason));
    }
    let mut v = Vec::with_capacity(r.remaining() / n);
    while !r.is_empty() {
        v.push(one(r)?);
    }
    Ok(v)
}

impl FlowStatsRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        exact(
            r,
            FLOW_STATS_REQUEST_LEN,
            "flow stats request: body not 44 bytes",
        )?;
        let m = Match::decode(r)?;
        let table_id = r.u8("flow stats request: table_id")?;
        r.pad(1, "flow stats request: pad")?;
        Ok(FlowStatsRequest {
            r#match: m,
            table_id,
            out_port: r.u16("flow stats request: out_port")?,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        self.r#match.encode(out);
        out.put_u8(self.table_id);
        put_pad(out, 1);
        out.put_u16(self.out_port);
    }
}

fn decode_vendor(r: &mut Reader<'_>) -> Result<(u32, Bytes), DecodeError> {
    // Spec 5.3.5: an OFPST_VENDOR body starts with the 32-bit vendor id.
    let vendor = r.u32("vendor stats: vendor")?;
    Ok((vendor, r.rest()))
}

impl StatsRequest {
    pub fn stats_type(&self) -> u16 {
        use stats_type as t;
        match self.body {
            StatsRequestBody::Desc => t::DESC,
            StatsRequestBody::Flow(_) => t::FLOW,
            StatsRequestBody::Aggregate(_) => t::AGGREGATE,
            StatsRequestBody::Table => t::TABLE,
            StatsRequestBody::Port { .. } => t::PORT,
            StatsRequestBody::Queue { .. } => t::QUEUE,
            StatsRequestBody::Vendor { .. } => t::VENDOR,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use stats_type as t;
        let type_at = r.offset();
        let ty = r.u16("stats request: type")?;
        let flags = r.u16("stats request: flags")?;
        let body = match ty {
            t::DESC => {
                exact(r, 0, "desc stats request: body not empty")?;
                StatsRequestBody::Desc
            }
            t::FLOW => StatsRequestBody::Flow(FlowStatsRequest::decode(r)?),
            t::AGGREGATE => StatsRequestBody::Aggregate(FlowStatsRequest::decode(r)?),
            t::TABLE => {
                exact(r, 0, "table stats request: body not empty")?;
                StatsRequestBody::Table
            }
            t::PORT => {
                exact(
                    r,
                    PORT_STATS_REQUEST_LEN,
                    "port stats request: body not 8 bytes",
                )?;
                let port_no = r.u16("port stats request: port_no")?;
                r.pad(6, "port stats request: pad")?;
                StatsRequestBody::Port { port_no }
            }
            t::QUEUE => {
                exact(
                    r,
                    QUEUE_STATS_REQUEST_LEN,
                    "queue stats request: body not 8 bytes",
                )?;
                let port_no = r.u16("queue stats request: port_no")?;
                r.pad(2, "queue stats request: pad")?;
                StatsRequestBody::Queue {
                    port_no,
                    queue_id: r.u32("queue stats request: queue_id")?,
                }
            }
            t::VENDOR => {
                let (vendor, data) = decode_vendor(r)?;
                StatsRequestBody::Vendor { vendor, data }
            }
            // Spec 5.4.4: OFPBRC_BAD_STAT, "ofp_stats_request.type not supported".
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_MULTIPART,
                    type_at,
                    "stats request: unknown type",
                ))
            }
        };
        Ok(StatsRequest { flags, body })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.stats_type());
        out.put_u16(self.flags);
        match &self.body {
            StatsRequestBody::Desc | StatsRequestBody::Table => {}
            StatsRequestBody::Flow(f) | StatsRequestBody::Aggregate(f) => f.encode(out),
            StatsRequestBody::Port { port_no } => {
                out.put_u16(*port_no);
                put_pad(out, 6);
            }
            StatsRequestBody::Queue { port_no, queue_id } => {
                out.put_u16(*port_no);
                put_pad(out, 2);
                out.put_u32(*queue_id);
            }
            StatsRequestBody::Vendor { vendor, data } => {
                out.put_u32(*vendor);
                out.put_slice(data);
            }
        }
    }
}

impl DescStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        exact(r, DESC_STATS_LEN, "desc stats: body not 1056 bytes")?;
        Ok(DescStats {
            mfr_desc: FixedStr(r.array("desc: mfr_desc")?),
            hw_desc: FixedStr(r.array("desc: hw_desc")?),
            sw_desc: FixedStr(r.array("desc: sw_desc")?),
            serial_num: FixedStr(r.array("desc: serial_num")?),
            dp_desc: FixedStr(r.array("desc: dp_desc")?),
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.mfr_desc.0);
        out.put_slice(&self.hw_desc.0);
        out.put_slice(&self.sw_desc.0);
        out.put_slice(&self.serial_num.0);
        out.put_slice(&self.dp_desc.0);
    }
}

impl FlowStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let len = usize::from(r.u16("flow stats: length")?);
        // Spec 5.3.5: `length` covers this entry including its actions; it must hold the
        // fixed part and stay inside the reply.
        if len < FLOW_STATS_LEN || len - 2 > r.remaining() {
            return Err(bad_len(at, "flow stats: length below 88 or past the reply"));
        }
        let mut e = r.sub(
            len - 2,
            OfpErrorCode::BAD_LEN,
            OfpErrorCode::BAD_LEN,
            "flow stats: entry truncated",
        )?;
        let table_id = e.u8("flow stats: table_id")?;
        e.pad(1, "flow stats: pad")?;
        let m = Match::decode(&mut e)?;
        let fs = FlowStats {
            table_id,
            r#match: m,
            duration_sec: e.u32("flow stats: duration_sec")?,
            duration_nsec: e.u32("flow stats: duration_nsec")?,
            priority: e.u16("flow stats: priority")?,
            idle_timeout: e.u16("flow stats: idle_timeout")?,
            hard_timeout: {
                let h = e.u16("flow stats: hard_timeout")?;
                e.pad(6, "flow stats: pad2")?;
                h
            },
            cookie: e.u64("flow stats: cookie")?,
            packet_count: e.u64("flow stats: packet_count")?,
            byte_count: e.u64("flow stats: byte_count")?,
            actions: decode_actions(&mut e)?,
        };
        Ok(fs)
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let len_at = len_placeholder(out);
        out.put_u8(self.table_id);
        put_pad(out, 1);
        self.r#match.encode(out);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.priority);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        put_pad(out, 6);
        out.put_u64(self.cookie);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        encode_actions(&self.actions, out);
        patch_len(out, len_at, start);
    }
}

impl TableStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let table_id = r.u8("table stats: table_id")?;
        r.pad(3, "table stats: pad")?;
        Ok(TableStats {
            table_id,
            name: FixedStr(r.array("table stats: name")?),
            wildcards: r.u32("table stats: wildcards")?,
            max_entries: r.u32("table stats: max_entries")?,
            active_count: r.u32("table stats: active_count")?,
            lookup_count: r.u64("table stats: lookup_count")?,
            matched_count: r.u64("table stats: matched_count")?,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        put_pad(out, 3);
        out.put_slice(&self.name.0);
        out.put_u32(self.wildcards);
        out.put_u32(self.max_entries);
        out.put_u32(self.active_count);
        out.put_u64(self.lookup_count);
        out.put_u64(self.matched_count);
    }
}

impl PortStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port_no = r.u16("port stats: port_no")?;
        r.pad(6, "port stats: pad")?;
        Ok(PortStats {
            port_no,
            rx_packets: r.u64("port stats: rx_packets")?,
            tx_packets: r.u64("port stats: tx_packets")?,
            rx_bytes: r.u64("port stats: rx_bytes")?,
            tx_bytes: r.u64("port stats: tx_bytes")?,
            rx_dropped: r.u64("port stats: rx_dropped")?,
            tx_dropped: r.u64("port stats: tx_dropped")?,
            rx_errors: r.u64("port stats: rx_errors")?,
            tx_errors: r.u64("port stats: tx_errors")?,
            rx_frame_err: r.u64("port stats: rx_frame_err")?,
            rx_over_err: r.u64("port stats: rx_over_err")?,
            rx_crc_err: r.u64("port stats: rx_crc_err")?,
            collisions: r.u64("port stats: collisions")?,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.port_no);
        put_pad(out, 6);
        for v in [
            self.rx_packets,
            self.tx_packets,
            self.rx_bytes,
            self.tx_bytes,
            self.rx_dropped,
            self.tx_dropped,
            self.rx_errors,
            self.tx_errors,
            self.rx_frame_err,
            self.rx_over_err,
            self.rx_crc_err,
            self.collisions,
        ] {
            out.put_u64(v);
        }
    }
}

impl QueueStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port_no = r.u16("queue stats: port_no")?;
        r.pad(2, "queue stats: pad")?;
        Ok(QueueStats {
            port_no,
            queue_id: r.u32("queue stats: queue_id")?,
            tx_bytes: r.u64("queue stats: tx_bytes")?,
            tx_packets: r.u64("queue stats: tx_packets")?,
            tx_errors: r.u64("queue stats: tx_errors")?,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.port_no);
        put_pad(out, 2);
        out.put_u32(self.queue_id);
        out.put_u64(self.tx_bytes);
        out.put_u64(self.tx_packets);
        out.put_u64(self.tx_errors);
    }
}

impl StatsReply {
    pub fn stats_type(&self) -> u16 {
        use stats_type as t;
        match self.body {
            StatsReplyBody::Desc(_) => t::DESC,
            StatsReplyBody::Flow(_) => t::FLOW,
            StatsReplyBody::Aggregate(_) => t::AGGREGATE,
            StatsReplyBody::Table(_) => t::TABLE,
            StatsReplyBody::Port(_) => t::PORT,
            StatsReplyBody::Queue(_) => t::QUEUE,
            StatsReplyBody::Vendor { .. } => t::VENDOR,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use stats_type as t;
        let type_at = r.offset();
        let ty = r.u16("stats reply: type")?;
        let flags = r.u16("stats reply: flags")?;
        let body = match ty {
            t::DESC => StatsReplyBody::Desc(Box::new(DescStats::decode(r)?)),
            t::FLOW => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(FlowStats::decode(r)?);
                }
                StatsReplyBody::Flow(v)
            }
            t::AGGREGATE => {
                exact(
                    r,
                    AGGREGATE_STATS_REPLY_LEN,
                    "aggregate stats: body not 24 bytes",
                )?;
                let a = AggregateStats {
                    packet_count: r.u64("aggregate: packet_count")?,
                    byte_count: r.u64("aggregate: byte_count")?,
                    flow_count: r.u32("aggregate: flow_count")?,
                };
                r.pad(4, "aggregate: pad")?;
                StatsReplyBody::Aggregate(a)
            }
            t::TABLE => StatsReplyBody::Table(records(
                r,
                TABLE_STATS_LEN,
                "table stats: body not a multiple of 64",
                TableStats::decode,
            )?),
            t::PORT => StatsReplyBody::Port(records(
                r,
                PORT_STATS_LEN,
                "port stats: body not a multiple of 104",
                PortStats::decode,
            )?),
            t::QUEUE => StatsReplyBody::Queue(records(
                r,
                QUEUE_STATS_LEN,
                "queue stats: body not a multiple of 32",
                QueueStats::decode,
            )?),
            t::VENDOR => {
                let (vendor, data) = decode_vendor(r)?;
                StatsReplyBody::Vendor { vendor, data }
            }
            // Spec 5.4.4: OFPBRC_BAD_STAT.
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_MULTIPART,
                    type_at,
                    "stats reply: unknown type",
                ))
            }
        };
        Ok(StatsReply { flags, body })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.stats_type());
        out.put_u16(self.flags);
        match &self.body {
            StatsReplyBody::Desc(d) => d.encode(out),
            StatsReplyBody::Flow(v) => v.iter().for_each(|f| f.encode(out)),
            StatsReplyBody::Aggregate(a) => {
                out.put_u64(a.packet_count);
                out.put_u64(a.byte_count);
                out.put_u32(a.flow_count);
                put_pad(out, 4);
            }
            StatsReplyBody::Table(v) => v.iter().for_each(|t| t.encode(out)),
            StatsReplyBody::Port(v) => v.iter().for_each(|p| p.encode(out)),
            StatsReplyBody::Queue(v) => v.iter().for_each(|q| q.encode(out)),
            StatsReplyBody::Vendor { vendor, data } => {
                out.put_u32(*vendor);
                out.put_slice(data);
            }
        }
    }
}

// `ofp_flow_stats_request` is the match plus table_id, pad and out_port.
const _: () = assert!(MATCH_LEN + 4 == FLOW_STATS_REQUEST_LEN);
