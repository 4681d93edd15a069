//! Groups and meters: GROUP_MOD with buckets (7.3.4.2), METER_MOD with bands (7.3.4.4).
//! Buckets and bands are shared with the group-desc and meter-config multipart replies.

use bytes::{BufMut, Bytes, BytesMut};

use super::action::{decode_actions, encode_actions, ActionList};
use super::wire::{patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `enum ofp_group_type`
pub mod group_type {
    pub const ALL: u8 = 0;
    pub const SELECT: u8 = 1;
    pub const INDIRECT: u8 = 2;
    pub const FF: u8 = 3;
}

/// `ofp_bucket` (7.3.4.2): len, weight, watch_port, watch_group, pad 4, actions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bucket {
    pub weight: u16,
    pub watch_port: u32,
    pub watch_group: u32,
    pub actions: ActionList,
}

impl Bucket {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // 7.3.4.2: len covers the 16-byte bucket header and its actions.
        if r.remaining() < 16 {
            return Err(r.err(OfpErrorCode::GROUP_BAD_BUCKET, "bucket truncated"));
        }
        let len = r.peek_u16(0)? as usize;
        if len < 16 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::GROUP_BAD_BUCKET, "bucket length invalid"));
        }
        let mut b = r.sub(len, OfpErrorCode::GROUP_BAD_BUCKET, "bucket truncated")?;
        b.skip(2)?;
        let weight = b.u16()?;
        let watch_port = b.u32()?;
        let watch_group = b.u32()?;
        b.skip(4)?;
        let actions = decode_actions(&mut b)?;
        Ok(Bucket {
            weight,
            watch_port,
            watch_group,
            actions,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(0);
        out.put_u16(self.weight);
        out.put_u32(self.watch_port);
        out.put_u32(self.watch_group);
        out.put_bytes(0, 4);
        encode_actions(&self.actions, out);
        patch_u16(out, start, out.len() - start);
    }
}

pub(crate) fn decode_buckets(r: &mut Reader<'_>) -> Result<Vec<Bucket>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(Bucket::decode(r)?);
    }
    Ok(v)
}

/// `enum ofp_group_mod_command`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupModCommand {
    #[default]
    Add = 0,
    Modify = 1,
    Delete = 2,
    /// OFPGC_ADD_OR_MOD (0x8000), an Open vSwitch extension: `ovs-ofctl mod-group
    /// --may-create` sends it.
    AddOrModify = 0x8000,
}

impl GroupModCommand {
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0 => GroupModCommand::Add,
            1 => GroupModCommand::Modify,
            2 => GroupModCommand::Delete,
            0x8000 => GroupModCommand::AddOrModify,
            _ => return None,
        })
    }
    pub(crate) fn to_u16(self) -> u16 {
        self as u16
    }
}

/// OFPT_GROUP_MOD (7.3.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMod {
    pub command: GroupModCommand,
    /// [`group_type`]
    pub group_type: u8,
    pub group_id: u32,
    pub buckets: Vec<Bucket>,
}

impl GroupMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        // 7.4.4: an unknown command is OFPGMFC_BAD_COMMAND.
        let command = GroupModCommand::from_u16(r.u16()?).ok_or(DecodeError::malformed(
            OfpErrorCode::GROUP_BAD_COMMAND,
            at,
            "unknown group_mod command",
        ))?;
        let group_type = r.u8()?;
        r.skip(1)?;
        let group_id = r.u32()?;
        let buckets = decode_buckets(r)?;
        Ok(GroupMod {
            command,
            group_type,
            group_id,
            buckets,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.command.to_u16());
        out.put_u8(self.group_type);
        out.put_u8(0);
        out.put_u32(self.group_id);
        for b in &self.buckets {
            b.encode(out);
        }
    }
}

/// `enum ofp_meter_band_type`
pub mod band_type {
    pub const DROP: u16 = 1;
    pub const DSCP_REMARK: u16 = 2;
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// A meter band (7.3.4.4): type, len, rate, burst_size, then the type's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterBand {
    Drop {
        rate: u32,
        burst_size: u32,
    },
    DscpRemark {
        rate: u32,
        burst_size: u32,
        prec_level: u8,
    },
    /// `data` follows the experimenter id.
    Experimenter {
        rate: u32,
        burst_size: u32,
        experimenter: u32,
        data: Bytes,
    },
}

impl MeterBand {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // 7.3.4.4: every band has the 12-byte header and is at least 16 bytes.
        if r.remaining() < 16 {
            return Err(r.err(OfpErrorCode::BAD_LEN, "meter band truncated"));
        }
        let at = r.pos();
        let typ = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 16 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "meter band length invalid"));
        }
        let mut b = r.sub(len, OfpErrorCode::BAD_LEN, "meter band truncated")?;
        b.skip(4)?;
        let rate = b.u32()?;
        let burst_size = b.u32()?;
        let fixed = |band: MeterBand| {
            if len == 16 {
                Ok(band)
            } else {
                Err(DecodeError::malformed(
                    OfpErrorCode::BAD_LEN,
                    at,
                    "meter band not 16 bytes",
                ))
            }
        };
        match typ {
            band_type::DROP => fixed(MeterBand::Drop { rate, burst_size }),
            band_type::DSCP_REMARK => {
                let prec_level = b.u8()?;
                fixed(MeterBand::DscpRemark {
                    rate,
                    burst_size,
                    prec_level,
                })
            }
            band_type::EXPERIMENTER => {
                let experimenter = b.u32()?;
                Ok(MeterBand::Experimenter {
                    rate,
                    burst_size,
                    experimenter,
                    data: b.rest(),
                })
            }
            // 7.4.4: an unknown band type is OFPMMFC_BAD_BAND.
            _ => Err(DecodeError::malformed(
                OfpErrorCode::METER_BAD_BAND,
                at,
                "unknown meter band type",
            )),
        }
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let (typ, rate, burst) = match self {
            MeterBand::Drop { rate, burst_size } => (band_type::DROP, rate, burst_size),
            MeterBand::DscpRemark {
                rate, burst_size, ..
            } => (band_type::DSCP_REMARK, rate, burst_size),
            MeterBand::Experimenter {
                rate, burst_size, ..
            } => (band_type::EXPERIMENTER, rate, burst_size),
        };
        out.put_u16(typ);
        out.put_u16(0);
        out.put_u32(*rate);
        out.put_u32(*burst);
        match self {
            MeterBand::Drop { .. } => out.put_bytes(0, 4),
            MeterBand::DscpRemark { prec_level, .. } => {
                out.put_u8(*prec_level);
                out.put_bytes(0, 3);
            }
            MeterBand::Experimenter {
                experimenter, data, ..
            } => {
                out.put_u32(*experimenter);
                out.put_slice(data);
            }
        }
        patch_u16(out, start + 2, out.len() - start);
    }
}

pub(crate) fn decode_bands(r: &mut Reader<'_>) -> Result<Vec<MeterBand>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(MeterBand::decode(r)?);
    }
    Ok(v)
}

/// `enum ofp_meter_mod_command`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MeterModCommand {
    #[default]
    Add,
    Modify,
    Delete,
}

impl MeterModCommand {
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0 => MeterModCommand::Add,
            1 => MeterModCommand::Modify,
            2 => MeterModCommand::Delete,
            _ => return None,
        })
    }
    pub(crate) fn to_u16(self) -> u16 {
        self as u16
    }
}

/// OFPT_METER_MOD (7.3.4.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterMod {
    pub command: MeterModCommand,
    /// `OFPMF_KBPS`, `_PKTPS`, `_BURST`, `_STATS`
    pub flags: u16,
    pub meter_id: u32,
    pub bands: Vec<MeterBand>,
}

impl MeterMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        // 7.4.4: an unknown command is OFPMMFC_BAD_COMMAND.
        let command = MeterModCommand::from_u16(r.u16()?).ok_or(DecodeError::malformed(
            OfpErrorCode::METER_BAD_COMMAND,
            at,
            "unknown meter_mod command",
        ))?;
        let flags = r.u16()?;
        let meter_id = r.u32()?;
        let bands = decode_bands(r)?;
        Ok(MeterMod {
            command,
            flags,
            meter_id,
            bands,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.command.to_u16());
        out.put_u16(self.flags);
        out.put_u32(self.meter_id);
        for b in &self.bands {
            b.encode(out);
        }
    }
}
