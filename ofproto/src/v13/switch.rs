//! Switch configuration messages: features, config, ports, tables, roles, async config,
//! queue configuration (spec 7.3.1 – 7.3.7, 7.3.9, 7.3.10).

use bytes::{BufMut, Bytes, BytesMut};

use super::oxm::MacAddr;
use super::wire::{patch_u16, put_str, read_str, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// OFPT_FEATURES_REPLY (`ofp_switch_features`, 7.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeaturesReply {
    pub datapath_id: u64,
    pub n_buffers: u32,
    pub n_tables: u8,
    pub auxiliary_id: u8,
    /// `OFPC_*` bits.
    pub capabilities: u32,
    pub reserved: u32,
}

impl FeaturesReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let datapath_id = r.u64()?;
        let n_buffers = r.u32()?;
        let n_tables = r.u8()?;
        let auxiliary_id = r.u8()?;
        r.skip(2)?;
        let capabilities = r.u32()?;
        let reserved = r.u32()?;
        Ok(FeaturesReply {
            datapath_id,
            n_buffers,
            n_tables,
            auxiliary_id,
            capabilities,
            reserved,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.datapath_id);
        out.put_u32(self.n_buffers);
        out.put_u8(self.n_tables);
        out.put_u8(self.auxiliary_id);
        out.put_bytes(0, 2);
        out.put_u32(self.capabilities);
        out.put_u32(self.reserved);
    }
}

/// `ofp_switch_config`: GET_CONFIG_REPLY and SET_CONFIG (7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchConfig {
    /// `OFPC_FRAG_*`
    pub flags: u16,
    pub miss_send_len: u16,
}

impl SwitchConfig {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SwitchConfig {
            flags: r.u16()?,
            miss_send_len: r.u16()?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.flags);
        out.put_u16(self.miss_send_len);
    }
}

/// `ofp_port` (7.2.1), 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Port {
    pub port_no: u32,
    pub hw_addr: MacAddr,
    /// Up to 16 bytes, the NUL padding stripped.
    pub name: Bytes,
    pub config: u32,
    pub state: u32,
    pub curr: u32,
    pub advertised: u32,
    pub supported: u32,
    pub peer: u32,
    pub curr_speed: u32,
    pub max_speed: u32,
}

pub(crate) const OFP_MAX_PORT_NAME_LEN: usize = 16;
pub(crate) const PORT_LEN: usize = 64;

impl Port {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port_no = r.u32()?;
        r.skip(4)?;
        let hw_addr = MacAddr(r.array()?);
        r.skip(2)?;
        let name = read_str(r, OFP_MAX_PORT_NAME_LEN)?;
        Ok(Port {
            port_no,
            hw_addr,
            name,
            config: r.u32()?,
            state: r.u32()?,
            curr: r.u32()?,
            advertised: r.u32()?,
            supported: r.u32()?,
            peer: r.u32()?,
            curr_speed: r.u32()?,
            max_speed: r.u32()?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_bytes(0, 4);
        out.put_slice(&self.hw_addr.0);
        out.put_bytes(0, 2);
        put_str(out, &self.name, OFP_MAX_PORT_NAME_LEN);
        for v in [
            self.config,
            self.state,
            self.curr,
            self.advertised,
            self.supported,
            self.peer,
            self.curr_speed,
            self.max_speed,
        ] {
            out.put_u32(v);
        }
    }
}

/// OFPT_PORT_STATUS (7.4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortStatus {
    /// `OFPPR_ADD`, `OFPPR_DELETE`, `OFPPR_MODIFY`
    pub reason: u8,
    pub desc: Port,
}

impl PortStatus {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let reason = r.u8()?;
        r.skip(7)?;
        Ok(PortStatus {
            reason,
            desc: Port::decode(r)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.reason);
        out.put_bytes(0, 7);
        self.desc.encode(out);
    }
}

/// OFPT_PORT_MOD (7.3.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortMod {
    pub port_no: u32,
    pub hw_addr: MacAddr,
    pub config: u32,
    pub mask: u32,
    pub advertise: u32,
}

impl PortMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port_no = r.u32()?;
        r.skip(4)?;
        let hw_addr = MacAddr(r.array()?);
        r.skip(2)?;
        let config = r.u32()?;
        let mask = r.u32()?;
        let advertise = r.u32()?;
        r.skip(4)?;
        Ok(PortMod {
            port_no,
            hw_addr,
            config,
            mask,
            advertise,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_bytes(0, 4);
        out.put_slice(&self.hw_addr.0);
        out.put_bytes(0, 2);
        out.put_u32(self.config);
        out.put_u32(self.mask);
        out.put_u32(self.advertise);
        out.put_bytes(0, 4);
    }
}

/// OFPT_TABLE_MOD (7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableMod {
    pub table_id: u8,
    pub config: u32,
}

impl TableMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let table_id = r.u8()?;
        r.skip(3)?;
        Ok(TableMod {
            table_id,
            config: r.u32()?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        out.put_bytes(0, 3);
        out.put_u32(self.config);
    }
}

/// `ofp_role_request`: ROLE_REQUEST and ROLE_REPLY (7.3.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// `OFPCR_ROLE_NOCHANGE`, `_EQUAL`, `_MASTER`, `_SLAVE`
    pub role: u32,
    pub generation_id: u64,
}

impl Role {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let role = r.u32()?;
        r.skip(4)?;
        Ok(Role {
            role,
            generation_id: r.u64()?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.role);
        out.put_bytes(0, 4);
        out.put_u64(self.generation_id);
    }
}

/// `ofp_async_config`: GET_ASYNC_REPLY and SET_ASYNC (7.3.10). Index 0 is the mask for the
/// master/equal role, index 1 for the slave role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsyncConfig {
    pub packet_in_mask: [u32; 2],
    pub port_status_mask: [u32; 2],
    pub flow_removed_mask: [u32; 2],
}

impl AsyncConfig {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut m = [0u32; 6];
        for w in &mut m {
            *w = r.u32()?;
        }
        Ok(AsyncConfig {
            packet_in_mask: [m[0], m[1]],
            port_status_mask: [m[2], m[3]],
            flow_removed_mask: [m[4], m[5]],
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        for w in self
            .packet_in_mask
            .iter()
            .chain(&self.port_status_mask)
            .chain(&self.flow_removed_mask)
        {
            out.put_u32(*w);
        }
    }
}

/// `enum ofp_queue_properties`
pub mod queue_prop {
    pub const MIN_RATE: u16 = 1;
    pub const MAX_RATE: u16 = 2;
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// A queue property (7.2.2 of 1.3.5, `ofp_queue_prop_header`: property, len, pad 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueProp {
    /// In 1/10 of a percent; > 1000 means disabled.
    MinRate(u16),
    MaxRate(u16),
    /// `data` follows the experimenter id and its 4 bytes of padding.
    Experimenter {
        experimenter: u32,
        data: Bytes,
    },
    /// A property we do not know: `data` follows the 8-byte property header.
    Unknown {
        property: u16,
        data: Bytes,
    },
}

impl QueueProp {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // 7.3.6: each property is property, len (header included), pad 4, body.
        if r.remaining() < 8 {
            return Err(r.err(OfpErrorCode::BAD_LEN, "queue property header truncated"));
        }
        let property = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 8 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "queue property length invalid"));
        }
        let mut p = r.sub(len, OfpErrorCode::BAD_LEN, "queue property truncated")?;
        p.skip(8)?;
        Ok(match property {
            queue_prop::MIN_RATE | queue_prop::MAX_RATE => {
                // ofp_queue_prop_min_rate / max_rate: rate, pad 6; 16 bytes.
                if len != 16 {
                    return Err(p.err(OfpErrorCode::BAD_LEN, "queue rate property not 16 bytes"));
                }
                let rate = p.u16()?;
                if property == queue_prop::MIN_RATE {
                    QueueProp::MinRate(rate)
                } else {
                    QueueProp::MaxRate(rate)
                }
            }
            queue_prop::EXPERIMENTER => {
                let experimenter = p.u32()?;
                p.skip(4)?;
                QueueProp::Experimenter {
                    experimenter,
                    data: p.rest(),
                }
            }
            _ => QueueProp::Unknown {
                property,
                data: p.rest(),
            },
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let property = match self {
            QueueProp::MinRate(_) => queue_prop::MIN_RATE,
            QueueProp::MaxRate(_) => queue_prop::MAX_RATE,
            QueueProp::Experimenter { .. } => queue_prop::EXPERIMENTER,
            QueueProp::Unknown { property, .. } => *property,
        };
        out.put_u16(property);
        out.put_u16(0);
        out.put_bytes(0, 4);
        match self {
            QueueProp::MinRate(rate) | QueueProp::MaxRate(rate) => {
                out.put_u16(*rate);
                out.put_bytes(0, 6);
            }
            QueueProp::Experimenter { experimenter, data } => {
                out.put_u32(*experimenter);
                out.put_bytes(0, 4);
                out.put_slice(data);
            }
            QueueProp::Unknown { data, .. } => out.put_slice(data),
        }
        patch_u16(out, start + 2, out.len() - start);
    }
}

/// `ofp_packet_queue` (7.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketQueue {
    pub queue_id: u32,
    pub port: u32,
    pub properties: Vec<QueueProp>,
}

impl PacketQueue {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // queue_id, port, len (whole queue), pad 6: 16 bytes, then properties.
        if r.remaining() < 16 {
            return Err(r.err(OfpErrorCode::BAD_LEN, "packet queue truncated"));
        }
        let len = r.peek_u16(8)? as usize;
        if len < 16 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "packet queue length invalid"));
        }
        let mut q = r.sub(len, OfpErrorCode::BAD_LEN, "packet queue truncated")?;
        let queue_id = q.u32()?;
        let port = q.u32()?;
        q.skip(8)?;
        let mut properties = Vec::new();
        while !q.is_empty() {
            properties.push(QueueProp::decode(&mut q)?);
        }
        Ok(PacketQueue {
            queue_id,
            port,
            properties,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u32(self.queue_id);
        out.put_u32(self.port);
        out.put_u16(0);
        out.put_bytes(0, 6);
        for p in &self.properties {
            p.encode(out);
        }
        patch_u16(out, start + 8, out.len() - start);
    }
}

/// OFPT_QUEUE_GET_CONFIG_REQUEST (7.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueGetConfigRequest {
    pub port: u32,
}

impl QueueGetConfigRequest {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port = r.u32()?;
        r.skip(4)?;
        Ok(QueueGetConfigRequest { port })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port);
        out.put_bytes(0, 4);
    }
}

/// OFPT_QUEUE_GET_CONFIG_REPLY (7.3.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueGetConfigReply {
    pub port: u32,
    pub queues: Vec<PacketQueue>,
}

impl QueueGetConfigReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let port = r.u32()?;
        r.skip(4)?;
        let mut queues = Vec::new();
        while !r.is_empty() {
            queues.push(PacketQueue::decode(r)?);
        }
        Ok(QueueGetConfigReply { port, queues })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port);
        out.put_bytes(0, 4);
        for q in &self.queues {
            q.encode(out);
        }
    }
}
