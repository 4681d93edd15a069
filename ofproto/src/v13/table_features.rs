//! Table features (spec 7.3.5.5): `ofp_table_features` and every property type.
//!
//! ```text
//! ofp_table_features: | length:16 | table_id:8 | pad:5 | name[32] | metadata_match:64 |
//!                     | metadata_write:64 | config:32 | max_entries:32 | properties ... |
//! property:           | type:16 | length:16 (excl. padding) | body | pad to 8 |
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::oxm::OXM_CLASS_EXPERIMENTER;
use super::wire::{pad8, pad_from, patch_u16, put_str, read_str, Reader};
use crate::error::{DecodeError, OfpErrorCode};

pub(crate) const OFP_MAX_TABLE_NAME_LEN: usize = 32;

/// `enum ofp_table_feature_prop_type`
pub mod prop_type {
    pub const INSTRUCTIONS: u16 = 0;
    pub(crate) const INSTRUCTIONS_MISS: u16 = 1;
    pub const NEXT_TABLES: u16 = 2;
    pub(crate) const NEXT_TABLES_MISS: u16 = 3;
    pub const WRITE_ACTIONS: u16 = 4;
    pub(crate) const WRITE_ACTIONS_MISS: u16 = 5;
    pub const APPLY_ACTIONS: u16 = 6;
    pub(crate) const APPLY_ACTIONS_MISS: u16 = 7;
    pub const MATCH: u16 = 8;
    pub const WILDCARDS: u16 = 10;
    pub const WRITE_SETFIELD: u16 = 12;
    pub(crate) const WRITE_SETFIELD_MISS: u16 = 13;
    pub const APPLY_SETFIELD: u16 = 14;
    pub(crate) const APPLY_SETFIELD_MISS: u16 = 15;
    pub const EXPERIMENTER: u16 = 0xfffe;
    pub(crate) const EXPERIMENTER_MISS: u16 = 0xffff;
}

/// An instruction or action id: the TLV header (type, len) of an instruction or action and,
/// for experimenter ones, what follows it (the experimenter id). `len` = 4 + `data.len()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeatureId {
    pub id_type: u16,
    pub data: Bytes,
}

/// An OXM id: a 32-bit OXM header, followed by the experimenter id when the class is
/// OFPXMC_EXPERIMENTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OxmId {
    pub header: u32,
    pub experimenter: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFeatureProp {
    /// OFPTFPT_INSTRUCTIONS (`miss` = false) or OFPTFPT_INSTRUCTIONS_MISS.
    Instructions {
        miss: bool,
        ids: Vec<FeatureId>,
    },
    /// OFPTFPT_NEXT_TABLES(_MISS): table ids.
    NextTables {
        miss: bool,
        tables: Bytes,
    },
    WriteActions {
        miss: bool,
        ids: Vec<FeatureId>,
    },
    ApplyActions {
        miss: bool,
        ids: Vec<FeatureId>,
    },
    Match(Vec<OxmId>),
    Wildcards(Vec<OxmId>),
    WriteSetfield {
        miss: bool,
        ids: Vec<OxmId>,
    },
    ApplySetfield {
        miss: bool,
        ids: Vec<OxmId>,
    },
    /// OFPTFPT_EXPERIMENTER (`miss` = false) or OFPTFPT_EXPERIMENTER_MISS.
    Experimenter {
        miss: bool,
        experimenter: u32,
        exp_type: u32,
        data: Bytes,
    },
    /// A property type we do not know, kept (`data` excludes header and padding).
    Unknown {
        prop_type: u16,
        data: Bytes,
    },
}

fn decode_feature_ids(r: &mut Reader<'_>) -> Result<Vec<FeatureId>, DecodeError> {
    let mut ids = Vec::new();
    while !r.is_empty() {
        // Each id is an instruction/action header: type, len (>= 4, header included).
        if r.remaining() < 4 {
            return Err(r.err(OfpErrorCode::TABLE_FEATURES_BAD_LEN, "id truncated"));
        }
        let id_type = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 4 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::TABLE_FEATURES_BAD_LEN, "id length invalid"));
        }
        let mut i = r.sub(len, OfpErrorCode::TABLE_FEATURES_BAD_LEN, "id truncated")?;
        i.skip(4)?;
        ids.push(FeatureId {
            id_type,
            data: i.rest(),
        });
    }
    Ok(ids)
}

fn decode_oxm_ids(r: &mut Reader<'_>) -> Result<Vec<OxmId>, DecodeError> {
    let mut ids = Vec::new();
    while !r.is_empty() {
        let header = r.u32()?;
        let experimenter = if (header >> 16) as u16 == OXM_CLASS_EXPERIMENTER {
            Some(r.u32()?)
        } else {
            None
        };
        ids.push(OxmId {
            header,
            experimenter,
        });
    }
    Ok(ids)
}

impl TableFeatureProp {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use prop_type::*;
        // 7.3.5.5.2: type, length (header included, padding excluded), padded to 8.
        if r.remaining() < 4 {
            return Err(r.err(OfpErrorCode::TABLE_FEATURES_BAD_LEN, "property truncated"));
        }
        let typ = r.peek_u16(0)?;
        let len = r.peek_u16(2)? as usize;
        if len < 4 || pad8(len) > r.remaining() {
            return Err(r.err(
                OfpErrorCode::TABLE_FEATURES_BAD_LEN,
                "property length invalid",
            ));
        }
        let mut whole = r.sub(
            pad8(len),
            OfpErrorCode::TABLE_FEATURES_BAD_LEN,
            "property truncated",
        )?;
        whole.skip(4)?;
        let mut p = whole.sub(
            len - 4,
            OfpErrorCode::TABLE_FEATURES_BAD_LEN,
            "property truncated",
        )?;
        let miss = typ & 1 == 1;
        Ok(match typ {
            INSTRUCTIONS | INSTRUCTIONS_MISS => TableFeatureProp::Instructions {
                miss,
                ids: decode_feature_ids(&mut p)?,
            },
            NEXT_TABLES | NEXT_TABLES_MISS => TableFeatureProp::NextTables {
                miss,
                tables: p.rest(),
            },
            WRITE_ACTIONS | WRITE_ACTIONS_MISS => TableFeatureProp::WriteActions {
                miss,
                ids: decode_feature_ids(&mut p)?,
            },
            APPLY_ACTIONS | APPLY_ACTIONS_MISS => TableFeatureProp::ApplyActions {
                miss,
                ids: decode_feature_ids(&mut p)?,
            },
            MATCH => TableFeatureProp::Match(decode_oxm_ids(&mut p)?),
            WILDCARDS => TableFeatureProp::Wildcards(decode_oxm_ids(&mut p)?),
            WRITE_SETFIELD | WRITE_SETFIELD_MISS => TableFeatureProp::WriteSetfield {
                miss,
                ids: decode_oxm_ids(&mut p)?,
            },
            APPLY_SETFIELD | APPLY_SETFIELD_MISS => TableFeatureProp::ApplySetfield {
                miss,
                ids: decode_oxm_ids(&mut p)?,
            },
            EXPERIMENTER | EXPERIMENTER_MISS => {
                let experimenter = p.u32()?;
                let exp_type = p.u32()?;
                TableFeatureProp::Experimenter {
                    miss,
                    experimenter,
                    exp_type,
                    data: p.rest(),
                }
            }
            _ => TableFeatureProp::Unknown {
                prop_type: typ,
                data: p.rest(),
            },
        })
    }

    pub fn prop_type(&self) -> u16 {
        use prop_type::*;
        let m = |miss: bool, base: u16| if miss { base + 1 } else { base };
        match self {
            TableFeatureProp::Instructions { miss, .. } => m(*miss, INSTRUCTIONS),
            TableFeatureProp::NextTables { miss, .. } => m(*miss, NEXT_TABLES),
            TableFeatureProp::WriteActions { miss, .. } => m(*miss, WRITE_ACTIONS),
            TableFeatureProp::ApplyActions { miss, .. } => m(*miss, APPLY_ACTIONS),
            TableFeatureProp::Match(_) => MATCH,
            TableFeatureProp::Wildcards(_) => WILDCARDS,
            TableFeatureProp::WriteSetfield { miss, .. } => m(*miss, WRITE_SETFIELD),
            TableFeatureProp::ApplySetfield { miss, .. } => m(*miss, APPLY_SETFIELD),
            TableFeatureProp::Experimenter { miss, .. } => m(*miss, EXPERIMENTER),
            TableFeatureProp::Unknown { prop_type, .. } => *prop_type,
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(self.prop_type());
        out.put_u16(0);
        fn feature_ids(out: &mut BytesMut, ids: &[FeatureId]) {
            for id in ids {
                out.put_u16(id.id_type);
                out.put_u16((4 + id.data.len()) as u16);
                out.put_slice(&id.data);
            }
        }
        fn oxm_ids(out: &mut BytesMut, ids: &[OxmId]) {
            for id in ids {
                out.put_u32(id.header);
                if let Some(e) = id.experimenter {
                    out.put_u32(e);
                }
            }
        }
        match self {
            TableFeatureProp::Instructions { ids, .. }
            | TableFeatureProp::WriteActions { ids, .. }
            | TableFeatureProp::ApplyActions { ids, .. } => feature_ids(out, ids),
            TableFeatureProp::NextTables { tables, .. } => out.put_slice(tables),
            TableFeatureProp::Match(ids)
            | TableFeatureProp::Wildcards(ids)
            | TableFeatureProp::WriteSetfield { ids, .. }
            | TableFeatureProp::ApplySetfield { ids, .. } => oxm_ids(out, ids),
            TableFeatureProp::Experimenter {
                experimenter,
                exp_type,
                data,
                ..
            } => {
                out.put_u32(*experimenter);
                out.put_u32(*exp_type);
                out.put_slice(data);
            }
            TableFeatureProp::Unknown { data, .. } => out.put_slice(data),
        }
        patch_u16(out, start + 2, out.len() - start);
        pad_from(out, start);
    }
}

/// `ofp_table_features` (7.3.5.5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableFeatures {
    pub table_id: u8,
    /// Up to 32 bytes, the NUL padding stripped.
    pub name: Bytes,
    pub metadata_match: u64,
    pub metadata_write: u64,
    pub config: u32,
    pub max_entries: u32,
    pub properties: Vec<TableFeatureProp>,
}

impl TableFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // 7.3.5.5.1: length covers the 64-byte fixed part and the properties.
        if r.remaining() < 64 {
            return Err(r.err(OfpErrorCode::BAD_LEN, "table features truncated"));
        }
        let len = r.peek_u16(0)? as usize;
        if len < 64 || len > r.remaining() {
            return Err(r.err(OfpErrorCode::BAD_LEN, "table features length invalid"));
        }
        let mut t = r.sub(len, OfpErrorCode::BAD_LEN, "table features truncated")?;
        t.skip(2)?;
        let table_id = t.u8()?;
        t.skip(5)?;
        let name = read_str(&mut t, OFP_MAX_TABLE_NAME_LEN)?;
        let metadata_match = t.u64()?;
        let metadata_write = t.u64()?;
        let config = t.u32()?;
        let max_entries = t.u32()?;
        let mut properties = Vec::new();
        while !t.is_empty() {
            properties.push(TableFeatureProp::decode(&mut t)?);
        }
        Ok(TableFeatures {
            table_id,
            name,
            metadata_match,
            metadata_write,
            config,
            max_entries,
            properties,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16(0);
        out.put_u8(self.table_id);
        out.put_bytes(0, 5);
        put_str(out, &self.name, OFP_MAX_TABLE_NAME_LEN);
        out.put_u64(self.metadata_match);
        out.put_u64(self.metadata_write);
        out.put_u32(self.config);
        out.put_u32(self.max_entries);
        for p in &self.properties {
            p.encode(out);
        }
        patch_u16(out, start, out.len() - start);
    }
}
