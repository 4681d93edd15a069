//! MULTIPART_REQUEST / MULTIPART_REPLY and every multipart type (spec 7.3.5).
//!
//! ```text
//! | header | type:16 | flags:16 | pad:4 | body ... |
//! ```
//! A body length that does not fit its type is OFPBRC_BAD_LEN; an unknown type is
//! OFPBRC_BAD_MULTIPART.

use bytes::{BufMut, Bytes, BytesMut};

use super::group_meter::{decode_bands, decode_buckets, Bucket, MeterBand};
use super::instruction::{decode_instructions, encode_instructions, InstructionList};
use super::oxm::Match;
use super::switch::{Port, PORT_LEN};
use super::symmetric::Experimenter;
use super::table_features::TableFeatures;
use super::wire::{patch_u16, put_str, read_str, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_multipart_type`
pub mod mp_type {
    pub const DESC: u16 = 0;
    pub const FLOW: u16 = 1;
    pub const AGGREGATE: u16 = 2;
    pub const TABLE: u16 = 3;
    pub const PORT_STATS: u16 = 4;
    pub const QUEUE: u16 = 5;
    pub const GROUP: u16 = 6;
    pub const GROUP_DESC: u16 = 7;
    pub const GROUP_FEATURES: u16 = 8;
    pub const METER: u16 = 9;
    pub const METER_CONFIG: u16 = 10;
    pub(crate) const METER_FEATURES: u16 = 11;
    pub const TABLE_FEATURES: u16 = 12;
    pub const PORT_DESC: u16 = 13;
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// `OFPMPF_REQ_MORE` / `OFPMPF_REPLY_MORE`
pub const OFPMPF_MORE: u16 = 1;

/// `ofp_flow_stats_request`, also the aggregate request (7.3.5.2, 7.3.5.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowStatsRequest {
    pub table_id: u8,
    pub out_port: u32,
    pub out_group: u32,
    pub cookie: u64,
    pub cookie_mask: u64,
    pub match_: Match,
}

impl FlowStatsRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let table_id = r.u8()?;
        r.skip(3)?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        r.skip(4)?;
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group,
            cookie: r.u64()?,
            cookie_mask: r.u64()?,
            match_: Match::decode(r)?,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        out.put_bytes(0, 3);
        out.put_u32(self.out_port);
        out.put_u32(self.out_group);
        out.put_bytes(0, 4);
        out.put_u64(self.cookie);
        out.put_u64(self.cookie_mask);
        self.match_.encode(out);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartRequestBody {
    Desc,
    Flow(FlowStatsRequest),
    Aggregate(FlowStatsRequest),
    Table,
    PortStats {
        port_no: u32,
    },
    Queue {
        port_no: u32,
        queue_id: u32,
    },
    Group {
        group_id: u32,
    },
    GroupDesc,
    GroupFeatures,
    Meter {
        meter_id: u32,
    },
    MeterConfig {
        meter_id: u32,
    },
    MeterFeatures,
    /// Empty: list the tables' features; otherwise: set them.
    TableFeatures(Vec<TableFeatures>),
    PortDesc,
    Experimenter(Experimenter),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartRequest {
    pub flags: u16,
    pub body: MultipartRequestBody,
}

impl MultipartRequestBody {
    pub fn mp_type(&self) -> u16 {
        use mp_type::*;
        use MultipartRequestBody as B;
        match self {
            B::Desc => DESC,
            B::Flow(_) => FLOW,
            B::Aggregate(_) => AGGREGATE,
            B::Table => TABLE,
            B::PortStats { .. } => PORT_STATS,
            B::Queue { .. } => QUEUE,
            B::Group { .. } => GROUP,
            B::GroupDesc => GROUP_DESC,
            B::GroupFeatures => GROUP_FEATURES,
            B::Meter { .. } => METER,
            B::MeterConfig { .. } => METER_CONFIG,
            B::MeterFeatures => METER_FEATURES,
            B::TableFeatures(_) => TABLE_FEATURES,
            B::PortDesc => PORT_DESC,
            B::Experimenter(_) => EXPERIMENTER,
        }
    }
}

/// The 4-byte id and 4 bytes of padding that several requests carry.
fn id_pad(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let id = r.u32()?;
    r.skip(4)?;
    Ok(id)
}

fn put_id_pad(out: &mut BytesMut, id: u32) {
    out.put_u32(id);
    out.put_bytes(0, 4);
}

impl MultipartRequest {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use mp_type::*;
        use MultipartRequestBody as B;
        let at = r.pos();
        let typ = r.u16()?;
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match typ {
            DESC => B::Desc,
            FLOW => B::Flow(FlowStatsRequest::decode(r)?),
            AGGREGATE => B::Aggregate(FlowStatsRequest::decode(r)?),
            TABLE => B::Table,
            PORT_STATS => B::PortStats {
                port_no: id_pad(r)?,
            },
            QUEUE => B::Queue {
                port_no: r.u32()?,
                queue_id: r.u32()?,
            },
            GROUP => B::Group {
                group_id: id_pad(r)?,
            },
            GROUP_DESC => B::GroupDesc,
            GROUP_FEATURES => B::GroupFeatures,
            METER => B::Meter {
                meter_id: id_pad(r)?,
            },
            METER_CONFIG => B::MeterConfig {
                meter_id: id_pad(r)?,
            },
            METER_FEATURES => B::MeterFeatures,
            TABLE_FEATURES => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(TableFeatures::decode(r)?);
                }
                B::TableFeatures(v)
            }
            PORT_DESC => B::PortDesc,
            EXPERIMENTER => B::Experimenter(Experimenter::decode(r)?),
            // 7.3.5: an unknown multipart type is OFPBRC_BAD_MULTIPART.
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_MULTIPART,
                    at,
                    "unknown multipart request type",
                ))
            }
        };
        // 7.3.5: a body longer than its type allows is OFPBRC_BAD_LEN.
        r.finish(OfpErrorCode::BAD_LEN, "multipart request body too long")?;
        Ok(MultipartRequest { flags, body })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        use MultipartRequestBody as B;
        out.put_u16(self.body.mp_type());
        out.put_u16(self.flags);
        out.put_bytes(0, 4);
        match &self.body {
            B::Desc
            | B::Table
            | B::GroupDesc
            | B::GroupFeatures
            | B::MeterFeatures
            | B::PortDesc => {}
            B::Flow(f) | B::Aggregate(f) => f.encode(out),
            B::PortStats { port_no } => put_id_pad(out, *port_no),
            B::Queue { port_no, queue_id } => {
                out.put_u32(*port_no);
                out.put_u32(*queue_id);
            }
            B::Group { group_id } => put_id_pad(out, *group_id),
            B::Meter { meter_id } | B::MeterConfig { meter_id } => put_id_pad(out, *meter_id),
            B::TableFeatures(v) => {
                for t in v {
                    t.encode(out);
                }
            }
            B::Experimenter(e) => e.encode(out),
        }
    }
}

/// `ofp_desc` (7.3.5.1). Strings with their NUL padding stripped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Desc {
    pub mfr_desc: Bytes,
    pub hw_desc: Bytes,
    pub sw_desc: Bytes,
    pub serial_num: Bytes,
    pub dp_desc: Bytes,
}

pub const DESC_STR_LEN: usize = 256;
pub const SERIAL_NUM_LEN: usize = 32;

/// `ofp_flow_stats` (7.3.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowStats {
    pub table_id: u8,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub flags: u16,
    pub cookie: u64,
    pub packet_count: u64,
    pub byte_count: u64,
    pub match_: Match,
    pub instructions: InstructionList,
}

impl FlowStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // length covers the 48-byte fixed part, the match and the instructions.
        if r.remaining() < 2 {
            return Err(r.err(OfpErrorCode::BAD_LEN, "flow stats truncated"));
        }
        let len = r.peek_u16(0)? as usize;
        if len < 56 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "flow stats length invalid"));
        }
        let mut f = r.sub(len, OfpErrorCode::BAD_LEN, "flow stats truncated")?;
        f.skip(2)?;
        let table_id = f.u8()?;
        f.skip(1)?;
        let duration_sec = f.u32()?;
        let duration_nsec = f.u32()?;
        let priority = f.u16()?;
        let idle_timeout = f.u16()?;
        let hard_timeout = f.u16()?;
        let flags = f.u16()?;
        f.skip(4)?;
        let cookie = f.u64()?;
        let packet_count = f.u64()?;
        let byte_count = f.u64()?;
        let match_ = Match::decode(&mut f)?;
        let instructions = decode_instructions(&mut f)?;
        Ok(FlowStats {
            table_id,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            flags,
            cookie,
            packet_count,
            byte_count,
            match_,
            instructions,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(0);
        out.put_u8(self.table_id);
        out.put_u8(0);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.priority);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.flags);
        out.put_bytes(0, 4);
        out.put_u64(self.cookie);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        self.match_.encode(out);
        encode_instructions(&self.instructions, out);
        patch_u16(out, start, out.len() - start);
    }
}

/// `ofp_aggregate_stats_reply` (7.3.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AggregateStats {
    pub packet_count: u64,
    pub byte_count: u64,
    pub flow_count: u32,
}

/// `ofp_table_stats` (7.3.5.4), 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableStats {
    pub table_id: u8,
    pub active_count: u32,
    pub lookup_count: u64,
    pub matched_count: u64,
}

/// `ofp_port_stats` (7.3.5.6), 112 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortStats {
    pub port_no: u32,
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
    pub duration_sec: u32,
    pub duration_nsec: u32,
}

/// `ofp_queue_stats` (7.3.5.8), 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub port_no: u32,
    pub queue_id: u32,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
}

/// `ofp_bucket_counter`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BucketCounter {
    pub packet_count: u64,
    pub byte_count: u64,
}

/// `ofp_group_stats` (7.3.5.9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupStats {
    pub group_id: u32,
    pub ref_count: u32,
    pub packet_count: u64,
    pub byte_count: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub bucket_stats: Vec<BucketCounter>,
}

/// `ofp_group_desc` (7.3.5.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupDesc {
    pub group_type: u8,
    pub group_id: u32,
    pub buckets: Vec<Bucket>,
}

/// `ofp_group_features` (7.3.5.11), 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupFeatures {
    pub types: u32,
    pub capabilities: u32,
    pub max_groups: [u32; 4],
    pub actions: [u32; 4],
}

/// `ofp_meter_band_stats`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterBandStats {
    pub packet_band_count: u64,
    pub byte_band_count: u64,
}

/// `ofp_meter_stats` (7.3.5.12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterStats {
    pub meter_id: u32,
    pub flow_count: u32,
    pub packet_in_count: u64,
    pub byte_in_count: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub band_stats: Vec<MeterBandStats>,
}

/// `ofp_meter_config` (7.3.5.13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterConfig {
    pub flags: u16,
    pub meter_id: u32,
    pub bands: Vec<MeterBand>,
}

/// `ofp_meter_features` (7.3.5.14), 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterFeatures {
    pub max_meter: u32,
    pub band_types: u32,
    pub capabilities: u32,
    pub max_bands: u8,
    pub max_color: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartReplyBody {
    Desc(Desc),
    Flow(Vec<FlowStats>),
    Aggregate(AggregateStats),
    Table(Vec<TableStats>),
    PortStats(Vec<PortStats>),
    Queue(Vec<QueueStats>),
    Group(Vec<GroupStats>),
    GroupDesc(Vec<GroupDesc>),
    GroupFeatures(GroupFeatures),
    Meter(Vec<MeterStats>),
    MeterConfig(Vec<MeterConfig>),
    MeterFeatures(MeterFeatures),
    TableFeatures(Vec<TableFeatures>),
    PortDesc(Vec<Port>),
    Experimenter(Experimenter),
}

impl MultipartReplyBody {
    pub fn mp_type(&self) -> u16 {
        use mp_type::*;
        use MultipartReplyBody as B;
        match self {
            B::Desc(_) => DESC,
            B::Flow(_) => FLOW,
            B::Aggregate(_) => AGGREGATE,
            B::Table(_) => TABLE,
            B::PortStats(_) => PORT_STATS,
            B::Queue(_) => QUEUE,
            B::Group(_) => GROUP,
            B::GroupDesc(_) => GROUP_DESC,
            B::GroupFeatures(_) => GROUP_FEATURES,
            B::Meter(_) => METER,
            B::MeterConfig(_) => METER_CONFIG,
            B::MeterFeatures(_) => METER_FEATURES,
            B::TableFeatures(_) => TABLE_FEATURES,
            B::PortDesc(_) => PORT_DESC,
            B::Experimenter(_) => EXPERIMENTER,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartReply {
    pub flags: u16,
    pub body: MultipartReplyBody,
}

/// Decode fixed-size records filling the rest of the body: the body must be a whole number
/// of records (7.3.5: else OFPBRC_BAD_LEN).
fn fixed_records<T>(
    r: &mut Reader<'_>,
    size: usize,
    one: fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    if !r.remaining().is_multiple_of(size) {
        return Err(r.err(
            OfpErrorCode::BAD_LEN,
            "multipart body not a whole number of records",
        ));
    }
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(one(r)?);
    }
    Ok(v)
}

/// Decode length-prefixed records (the length at byte offset `len_at` of each record,
/// at least `min` bytes) filling the rest of the body.
fn sized_records<T>(
    r: &mut Reader<'_>,
    len_at: usize,
    min: usize,
    what: &'static str,
    one: fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        if r.remaining() < min {
            return Err(r.err(OfpErrorCode::BAD_LEN, what));
        }
        let len = r.peek_u16(len_at)? as usize;
        if len < min || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, what));
        }
        let mut s = r.sub(len, OfpErrorCode::BAD_LEN, what)?;
        v.push(one(&mut s)?);
    }
    Ok(v)
}

fn table_stats(r: &mut Reader<'_>) -> Result<TableStats, DecodeError> {
    let table_id = r.u8()?;
    r.skip(3)?;
    Ok(TableStats {
        table_id,
        active_count: r.u32()?,
        lookup_count: r.u64()?,
        matched_count: r.u64()?,
    })
}

fn port_stats(r: &mut Reader<'_>) -> Result<PortStats, DecodeError> {
    let port_no = r.u32()?;
    r.skip(4)?;
    Ok(PortStats {
        port_no,
        rx_packets: r.u64()?,
        tx_packets: r.u64()?,
        rx_bytes: r.u64()?,
        tx_bytes: r.u64()?,
        rx_dropped: r.u64()?,
        tx_dropped: r.u64()?,
        rx_errors: r.u64()?,
        tx_errors: r.u64()?,
        rx_frame_err: r.u64()?,
        rx_over_err: r.u64()?,
        rx_crc_err: r.u64()?,
        collisions: r.u64()?,
        duration_sec: r.u32()?,
        duration_nsec: r.u32()?,
    })
}

fn queue_stats(r: &mut Reader<'_>) -> Result<QueueStats, DecodeError> {
    Ok(QueueStats {
        port_no: r.u32()?,
        queue_id: r.u32()?,
        tx_bytes: r.u64()?,
        tx_packets: r.u64()?,
        tx_errors: r.u64()?,
        duration_sec: r.u32()?,
        duration_nsec: r.u32()?,
    })
}

fn group_stats(r: &mut Reader<'_>) -> Result<GroupStats, DecodeError> {
    r.skip(4)?; // length, pad 2
    let group_id = r.u32()?;
    let ref_count = r.u32()?;
    r.skip(4)?;
    let packet_count = r.u64()?;
    let byte_count = r.u64()?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    // 7.3.5.9: one 16-byte counter per bucket fills the rest.
    let bucket_stats = fixed_records(r, 16, |r| {
        Ok(BucketCounter {
            packet_count: r.u64()?,
            byte_count: r.u64()?,
        })
    })?;
    Ok(GroupStats {
        group_id,
        ref_count,
        packet_count,
        byte_count,
        duration_sec,
        duration_nsec,
        bucket_stats,
    })
}

fn group_desc(r: &mut Reader<'_>) -> Result<GroupDesc, DecodeError> {
    r.skip(2)?; // length
    let group_type = r.u8()?;
    r.skip(1)?;
    let group_id = r.u32()?;
    Ok(GroupDesc {
        group_type,
        group_id,
        buckets: decode_buckets(r)?,
    })
}

fn meter_stats(r: &mut Reader<'_>) -> Result<MeterStats, DecodeError> {
    let meter_id = r.u32()?;
    r.skip(2 + 6)?; // len, pad 6
    let flow_count = r.u32()?;
    let packet_in_count = r.u64()?;
    let byte_in_count = r.u64()?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    let band_stats = fixed_records(r, 16, |r| {
        Ok(MeterBandStats {
            packet_band_count: r.u64()?,
            byte_band_count: r.u64()?,
        })
    })?;
    Ok(MeterStats {
        meter_id,
        flow_count,
        packet_in_count,
        byte_in_count,
        duration_sec,
        duration_nsec,
        band_stats,
    })
}

fn meter_config(r: &mut Reader<'_>) -> Result<MeterConfig, DecodeError> {
    r.skip(2)?; // length
    let flags = r.u16()?;
    let meter_id = r.u32()?;
    Ok(MeterConfig {
        flags,
        meter_id,
        bands: decode_bands(r)?,
    })
}

impl MultipartReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use mp_type::*;
        use MultipartReplyBody as B;
        let at = r.pos();
        let typ = r.u16()?;
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match typ {
            DESC => B::Desc(Desc {
                mfr_desc: read_str(r, DESC_STR_LEN)?,
                hw_desc: read_str(r, DESC_STR_LEN)?,
                sw_desc: read_str(r, DESC_STR_LEN)?,
                serial_num: read_str(r, SERIAL_NUM_LEN)?,
                dp_desc: read_str(r, DESC_STR_LEN)?,
            }),
            FLOW => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(FlowStats::decode(r)?);
                }
                B::Flow(v)
            }
            AGGREGATE => {
                let a = AggregateStats {
                    packet_count: r.u64()?,
                    byte_count: r.u64()?,
                    flow_count: r.u32()?,
                };
                r.skip(4)?;
                B::Aggregate(a)
            }
            TABLE => B::Table(fixed_records(r, 24, table_stats)?),
            PORT_STATS => B::PortStats(fixed_records(r, 112, port_stats)?),
            QUEUE => B::Queue(fixed_records(r, 40, queue_stats)?),
            GROUP => B::Group(sized_records(
                r,
                0,
                40,
                "group stats length invalid",
                group_stats,
            )?),
            GROUP_DESC => B::GroupDesc(sized_records(
                r,
                0,
                8,
                "group desc length invalid",
                group_desc,
            )?),
            GROUP_FEATURES => {
                let types = r.u32()?;
                let capabilities = r.u32()?;
                let mut max_groups = [0u32; 4];
                for g in &mut max_groups {
                    *g = r.u32()?;
                }
                let mut actions = [0u32; 4];
                for a in &mut actions {
                    *a = r.u32()?;
                }
                B::GroupFeatures(GroupFeatures {
                    types,
                    capabilities,
                    max_groups,
                    actions,
                })
            }
            METER => B::Meter(sized_records(
                r,
                4,
                40,
                "meter stats length invalid",
                meter_stats,
            )?),
            METER_CONFIG => B::MeterConfig(sized_records(
                r,
                0,
                8,
                "meter config length invalid",
                meter_config,
            )?),
            METER_FEATURES => {
                let f = MeterFeatures {
                    max_meter: r.u32()?,
                    band_types: r.u32()?,
                    capabilities: r.u32()?,
                    max_bands: r.u8()?,
                    max_color: r.u8()?,
                };
                r.skip(2)?;
                B::MeterFeatures(f)
            }
            TABLE_FEATURES => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(TableFeatures::decode(r)?);
                }
                B::TableFeatures(v)
            }
            PORT_DESC => B::PortDesc(fixed_records(r, PORT_LEN, Port::decode)?),
            EXPERIMENTER => B::Experimenter(Experimenter::decode(r)?),
            // 7.3.5: an unknown multipart type is OFPBRC_BAD_MULTIPART.
            _ => {
                return Err(DecodeError::malformed(
                    OfpErrorCode::BAD_MULTIPART,
                    at,
                    "unknown multipart reply type",
                ))
            }
        };
        r.finish(OfpErrorCode::BAD_LEN, "multipart reply body too long")?;
        Ok(MultipartReply { flags, body })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        use MultipartReplyBody as B;
        out.put_u16(self.body.mp_type());
        out.put_u16(self.flags);
        out.put_bytes(0, 4);
        match &self.body {
            B::Desc(d) => {
                put_str(out, &d.mfr_desc, DESC_STR_LEN);
                put_str(out, &d.hw_desc, DESC_STR_LEN);
                put_str(out, &d.sw_desc, DESC_STR_LEN);
                put_str(out, &d.serial_num, SERIAL_NUM_LEN);
                put_str(out, &d.dp_desc, DESC_STR_LEN);
            }
            B::Flow(v) => v.iter().for_each(|f| f.encode(out)),
            B::Aggregate(a) => {
                out.put_u64(a.packet_count);
                out.put_u64(a.byte_count);
                out.put_u32(a.flow_count);
                out.put_bytes(0, 4);
            }
            B::Table(v) => {
                for t in v {
                    out.put_u8(t.table_id);
                    out.put_bytes(0, 3);
                    out.put_u32(t.active_count);
                    out.put_u64(t.lookup_count);
                    out.put_u64(t.matched_count);
                }
            }
            B::PortStats(v) => {
                for p in v {
                    out.put_u32(p.port_no);
                    out.put_bytes(0, 4);
                    for c in [
                        p.rx_packets,
                        p.tx_packets,
                        p.rx_bytes,
                        p.tx_bytes,
                        p.rx_dropped,
                        p.tx_dropped,
                        p.rx_errors,
                        p.tx_errors,
                        p.rx_frame_err,
                        p.rx_over_err,
                        p.rx_crc_err,
                        p.collisions,
                    ] {
                        out.put_u64(c);
                    }
                    out.put_u32(p.duration_sec);
                    out.put_u32(p.duration_nsec);
                }
            }
            B::Queue(v) => {
                for q in v {
                    out.put_u32(q.port_no);
                    out.put_u32(q.queue_id);
                    out.put_u64(q.tx_bytes);
                    out.put_u64(q.tx_packets);
                    out.put_u64(q.tx_errors);
                    out.put_u32(q.duration_sec);
                    out.put_u32(q.duration_nsec);
                }
            }
            B::Group(v) => {
                for g in v {
                    let start = out.len();
                    out.put_u16(0);
                    out.put_bytes(0, 2);
                    out.put_u32(g.group_id);
                    out.put_u32(g.ref_count);
                    out.put_bytes(0, 4);
                    out.put_u64(g.packet_count);
                    out.put_u64(g.byte_count);
                    out.put_u32(g.duration_sec);
                    out.put_u32(g.duration_nsec);
                    for b in &g.bucket_stats {
                        out.put_u64(b.packet_count);
                        out.put_u64(b.byte_count);
                    }
                    patch_u16(out, start, out.len() - start);
                }
            }
            B::GroupDesc(v) => {
                for g in v {
                    let start = out.len();
                    out.put_u16(0);
                    out.put_u8(g.group_type);
                    out.put_u8(0);
                    out.put_u32(g.group_id);
                    for b in &g.buckets {
                        b.encode(out);
                    }
                    patch_u16(out, start, out.len() - start);
                }
            }
            B::GroupFeatures(g) => {
                out.put_u32(g.types);
                out.put_u32(g.capabilities);
                for x in g.max_groups.iter().chain(&g.actions) {
                    out.put_u32(*x);
                }
            }
            B::Meter(v) => {
                for m in v {
                    let start = out.len();
                    out.put_u32(m.meter_id);
                    out.put_u16(0);
                    out.put_bytes(0, 6);
                    out.put_u32(m.flow_count);
                    out.put_u64(m.packet_in_count);
                    out.put_u64(m.byte_in_count);
                    out.put_u32(m.duration_sec);
                    out.put_u32(m.duration_nsec);
                    for b in &m.band_stats {
                        out.put_u64(b.packet_band_count);
                        out.put_u64(b.byte_band_count);
                    }
                    patch_u16(out, start + 4, out.len() - start);
                }
            }
            B::MeterConfig(v) => {
                for m in v {
                    let start = out.len();
                    out.put_u16(0);
                    out.put_u16(m.flags);
                    out.put_u32(m.meter_id);
                    for b in &m.bands {
                        b.encode(out);
                    }
                    patch_u16(out, start, out.len() - start);
                }
            }
            B::MeterFeatures(f) => {
                out.put_u32(f.max_meter);
                out.put_u32(f.band_types);
                out.put_u32(f.capabilities);
                out.put_u8(f.max_bands);
                out.put_u8(f.max_color);
                out.put_bytes(0, 2);
            }
            B::TableFeatures(v) => v.iter().for_each(|t| t.encode(out)),
            B::PortDesc(v) => v.iter().for_each(|p| p.encode(out)),
            B::Experimenter(e) => e.encode(out),
        }
    }
}
