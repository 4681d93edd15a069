//! The connection tracking keys of a packet that went through act_ct: its state flags,
//! zone, mark and labels (`TCA_FLOWER_KEY_CT_*`, all host byte order, each with a mask).

use super::FlowerKey;
use crate::filter::action::label_bytes;
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};

const TCA_FLOWER_KEY_CT_STATE: u16 = 91;
const TCA_FLOWER_KEY_CT_STATE_MASK: u16 = 92;
const TCA_FLOWER_KEY_CT_ZONE: u16 = 93;
const TCA_FLOWER_KEY_CT_ZONE_MASK: u16 = 94;
const TCA_FLOWER_KEY_CT_MARK: u16 = 95;
const TCA_FLOWER_KEY_CT_MARK_MASK: u16 = 96;
const TCA_FLOWER_KEY_CT_LABELS: u16 = 97;
const TCA_FLOWER_KEY_CT_LABELS_MASK: u16 = 98;

/// `TCA_FLOWER_KEY_CT_FLAGS_*`
pub mod state {
    pub const NEW: u16 = 1 << 0;
    pub const ESTABLISHED: u16 = 1 << 1;
    pub const RELATED: u16 = 1 << 2;
    pub const TRACKED: u16 = 1 << 3;
    pub const INVALID: u16 = 1 << 4;
    pub const REPLY: u16 = 1 << 5;
}

/// The ct keys of a filter; each `(value, mask)`, value already masked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CtKeys {
    /// `TCA_FLOWER_KEY_CT_FLAGS_*` bits.
    pub state: Option<(u16, u16)>,
    pub zone: Option<(u16, u16)>,
    pub mark: Option<(u32, u32)>,
    pub labels: Option<(u128, u128)>,
}

impl CtKeys {
    pub fn is_empty(&self) -> bool {
        *self == CtKeys::default()
    }
}

pub(super) fn encode(k: &FlowerKey, w: &mut NlaWriter) {
    let c = &k.ct;
    if let Some((v, m)) = c.state {
        w.u16(TCA_FLOWER_KEY_CT_STATE, v);
        w.u16(TCA_FLOWER_KEY_CT_STATE_MASK, m);
    }
    if let Some((v, m)) = c.zone {
        w.u16(TCA_FLOWER_KEY_CT_ZONE, v);
        w.u16(TCA_FLOWER_KEY_CT_ZONE_MASK, m);
    }
    if let Some((v, m)) = c.mark {
        w.u32(TCA_FLOWER_KEY_CT_MARK, v);
        w.u32(TCA_FLOWER_KEY_CT_MARK_MASK, m);
    }
    if let Some((v, m)) = c.labels {
        w.put(TCA_FLOWER_KEY_CT_LABELS, &label_bytes(v));
        w.put(TCA_FLOWER_KEY_CT_LABELS_MASK, &label_bytes(m));
    }
}

pub(super) fn parse(a: &Attrs, k: &mut FlowerKey) -> Result<(), NlaError> {
    fn pair<T>(
        a: &Attrs,
        v: u16,
        m: u16,
        f: fn(&[u8]) -> Result<T, NlaError>,
        zero: T,
    ) -> Result<Option<(T, T)>, NlaError>
    where
        T: PartialEq,
    {
        // The kernel dumps a ct key only when its mask is not zero.
        match (a.get(v), a.get(m)) {
            (Some(v), Some(m)) => {
                let m = f(m)?;
                if m == zero {
                    return Ok(None);
                }
                Ok(Some((f(v)?, m)))
            }
            _ => Ok(None),
        }
    }
    let u128_ = |p: &[u8]| nla::get_arr::<16>(p).map(u128::from_ne_bytes);
    k.ct.state = pair(
        a,
        TCA_FLOWER_KEY_CT_STATE,
        TCA_FLOWER_KEY_CT_STATE_MASK,
        nla::get_u16,
        0,
    )?;
    k.ct.zone = pair(
        a,
        TCA_FLOWER_KEY_CT_ZONE,
        TCA_FLOWER_KEY_CT_ZONE_MASK,
        nla::get_u16,
        0,
    )?;
    k.ct.mark = pair(
        a,
        TCA_FLOWER_KEY_CT_MARK,
        TCA_FLOWER_KEY_CT_MARK_MASK,
        nla::get_u32,
        0,
    )?;
    k.ct.labels = pair(
        a,
        TCA_FLOWER_KEY_CT_LABELS,
        TCA_FLOWER_KEY_CT_LABELS_MASK,
        u128_,
        0,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::tests::{round_trip, sample_filter};
    use crate::filter::{TcAction, Verdict};

    #[test]
    fn ct_keys_round_trip() {
        let key = FlowerKey {
            eth_type: Some(0x0800),
            ct: CtKeys {
                state: Some((state::TRACKED | state::ESTABLISHED, 0x2a)),
                zone: Some((5, 0xffff)),
                mark: Some((1, 3)),
                labels: Some((1 << 100 | 1, u128::MAX)),
            },
            ..FlowerKey::default()
        };
        let f = sample_filter(vec![TcAction::Gact(Verdict::Ok)], key.clone());
        assert_eq!(round_trip(&f).key, key);
    }
}
