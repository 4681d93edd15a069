//! Switch features and configuration: FEATURES_REPLY (spec 5.3.1) and
//! GET_CONFIG_REPLY / SET_CONFIG (5.3.2).

use bytes::{BufMut, BytesMut};

use super::port::{PhyPort, PHY_PORT_LEN};
use super::wire::{put_pad, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_capabilities`.
pub mod capabilities {
    pub const FLOW_STATS: u32 = 1 << 0;
    pub const TABLE_STATS: u32 = 1 << 1;
    pub const PORT_STATS: u32 = 1 << 2;
    pub const STP: u32 = 1 << 3;
    pub const RESERVED: u32 = 1 << 4;
    pub const IP_REASM: u32 = 1 << 5;
    pub const QUEUE_STATS: u32 = 1 << 6;
    pub const ARP_MATCH_IP: u32 = 1 << 7;
}

/// `enum ofp_config_flags`: IP fragment handling.
pub mod config_flags {
    pub const FRAG_NORMAL: u16 = 0;
    pub const FRAG_DROP: u16 = 1;
    pub const FRAG_REASM: u16 = 2;
    pub const FRAG_MASK: u16 = 3;
}

/// `OFP_DEFAULT_MISS_SEND_LEN`.
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// OFPT_FEATURES_REPLY body (`ofp_switch_features`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FeaturesReply {
    pub datapath_id: u64,
    pub n_buffers: u32,
    pub n_tables: u8,
    /// [`capabilities`] bits, raw.
    pub capabilities: u32,
    /// Bitmap of supported `ofp_action_type`s (1 << type), raw.
    pub actions: u32,
    pub ports: Vec<PhyPort>,
}

impl FeaturesReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let datapath_id = r.u64("features: datapath_id")?;
        let n_buffers = r.u32("features: n_buffers")?;
        let n_tables = r.u8("features: n_tables")?;
        r.pad(3, "features: pad")?;
        let capabilities = r.u32("features: capabilities")?;
        let actions = r.u32("features: actions")?;
        // Spec 5.3.1: the port list fills the rest of the message, 48 bytes per port; the
        // count is "inferred from the length field in the header".
        if !r.remaining().is_multiple_of(PHY_PORT_LEN) {
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_LEN,
                r.offset(),
                "features: port list not a multiple of 48 bytes",
            ));
        }
        let mut ports = Vec::with_capacity(r.remaining() / PHY_PORT_LEN);
        while !r.is_empty() {
            ports.push(PhyPort::decode(r)?);
        }
        Ok(FeaturesReply {
            datapath_id,
            n_buffers,
            n_tables,
            capabilities,
            actions,
            ports,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.datapath_id);
        out.put_u32(self.n_buffers);
        out.put_u8(self.n_tables);
        put_pad(out, 3);
        out.put_u32(self.capabilities);
        out.put_u32(self.actions);
        for p in &self.ports {
            p.encode(out);
        }
    }
}

/// `ofp_switch_config` body: GET_CONFIG_REPLY and SET_CONFIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SwitchConfig {
    /// [`config_flags`], raw.
    pub flags: u16,
    /// Bytes of a table-miss packet sent to the controller.
    pub miss_send_len: u16,
}

impl SwitchConfig {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SwitchConfig {
            flags: r.u16("switch config: flags")?,
            miss_send_len: r.u16("switch config: miss_send_len")?,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.flags);
        out.put_u16(self.miss_send_len);
    }
}
