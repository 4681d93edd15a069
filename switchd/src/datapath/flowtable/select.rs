//! Which entries a request names: a match in normal form ([`MatchKey`], the table's
//! index key, compared field by field) and the [`Selector`] of a MODIFY, DELETE or
//! flow-stats request (7.3.4.2, 7.3.5.2).

use std::collections::BTreeMap;

use bytes::BytesMut;
use ofproto::v13;
use tc_datapath::Refusal;

use super::check::check_match;

/// A match in normal form: per field (class, field number), the value with the mask
/// applied, and the mask (all ones for an exact field).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct MatchKey(pub(super) BTreeMap<(u16, u8), (Vec<u8>, Vec<u8>)>);

impl MatchKey {
    pub(crate) fn of(m: &v13::Match) -> MatchKey {
        let mut b = BytesMut::new();
        m.encode(&mut b);
        MatchKey::of_wire(&b)
    }

    /// The key of an `ofp_match` in its wire encoding (7.2.2: type, length, then OXM
    /// TLVs of a 4-byte header `class:16 field:7 hasmask:1 length:8` and the payload,
    /// value then mask). Entries keep their match encoded ([`FlowSpec`]); this reads it
    /// without decoding it into `Oxm`s.
    pub(crate) fn of_wire(b: &[u8]) -> MatchKey {
        let mut map = BTreeMap::new();
        let len = b
            .get(2..4)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .min(b.len());
        let mut at = 4;
        while at + 4 <= len {
            let header = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            let class = (header >> 16) as u16;
            let field = ((header >> 9) & 0x7f) as u8;
            let has_mask = header & 0x100 != 0;
            let n = (header & 0xff) as usize;
            let Some(payload) = b.get(at + 4..at + 4 + n) else {
                break;
            };
            let (value, mask) = if has_mask {
                let half = payload.len() / 2;
                (&payload[..half], payload[half..].to_vec())
            } else {
                (payload, vec![0xff; payload.len()])
            };
            let value = value.iter().zip(&mask).map(|(v, m)| v & m).collect();
            map.insert((class, field), (value, mask));
            at += 4 + n;
        }
        MatchKey(map)
    }

    /// Whether every packet this (entry) key matches is also matched by `req`: the
    /// non-strict selection of MODIFY, DELETE and the flow-stats requests (6.4: "a flow
    /// entry matches if it is identical to or more specific than the request's match").
    pub(crate) fn within(&self, req: &MatchKey) -> bool {
        req.0.iter().all(|(k, (rv, rm))| {
            self.0.get(k).is_some_and(|(ev, em)| {
                em.iter().zip(rm).all(|(e, r)| e & r == *r)
                    && ev.iter().zip(rm).zip(rv).all(|((e, m), r)| e & m == *r)
            })
        })
    }

    /// Whether some packet could match both (6.4, CHECK_OVERLAP): on every field both
    /// constrain, the bits both masks cover agree.
    pub(crate) fn overlaps(&self, other: &MatchKey) -> bool {
        self.0.iter().all(|(k, (av, am))| match other.0.get(k) {
            None => true,
            Some((bv, bm)) => av
                .iter()
                .zip(am)
                .zip(bv.iter().zip(bm))
                .all(|((a, am), (b, bm))| a & am & bm == b & am & bm),
        })
    }
}

/// Which entries a MODIFY, DELETE or stats request selects.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub(crate) table_id: u8,
    pub(crate) strict: bool,
    pub(crate) priority: u16,
    pub(crate) key: MatchKey,
    pub(crate) cookie: u64,
    pub(crate) cookie_mask: u64,
    pub(crate) out_port: u32,
    pub(crate) out_group: u32,
}

impl Selector {
    /// The selector of a flow-stats or aggregate request (non-strict), after checking it.
    pub(crate) fn of_stats(
        r: &v13::multipart::FlowStatsRequest,
        n_tables: u8,
    ) -> Result<Selector, Refusal> {
        if r.table_id != v13::OFPTT_ALL && r.table_id >= n_tables {
            // 7.3.5.2 does not name one; OFPBRC_BAD_TABLE_ID is the request-level error.
            return Err(Refusal::new(
                ofproto::v13::errors::bad_request::BAD_TABLE_ID,
                format!("no table {}", r.table_id),
            ));
        }
        check_match(&r.match_)?;
        Ok(Selector {
            table_id: r.table_id,
            strict: false,
            priority: 0,
            key: MatchKey::of(&r.match_),
            cookie: r.cookie,
            cookie_mask: r.cookie_mask,
            out_port: r.out_port,
            out_group: r.out_group,
        })
    }
}
