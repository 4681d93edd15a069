//! act_pedit: rewrite 32-bit words of a header (set or add), with the extended keys that
//! name the header each offset is relative to.

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, attrs, NlaError, NlaWriter};
use crate::uapi::*;

/// The header a pedit key's offset is relative to (`enum pedit_header_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeditHeader {
    Eth = 1,
    Ip4 = 2,
    Ip6 = 3,
    Tcp = 4,
    Udp = 5,
}

impl PeditHeader {
    fn from_raw(v: u16) -> Option<Self> {
        Some(match v {
            1 => PeditHeader::Eth,
            2 => PeditHeader::Ip4,
            3 => PeditHeader::Ip6,
            4 => PeditHeader::Tcp,
            5 => PeditHeader::Udp,
            _ => return None,
        })
    }
}

/// One 32-bit word that pedit rewrites: the kernel computes
/// `word = (word & keep) ^ val` (set) or `word = (word & keep) | ((word + val) & !keep)`
/// (add). `keep` and `val` are in packet byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeditKey {
    pub header: PeditHeader,
    /// true: add `val` (TCA_PEDIT_KEY_EX_CMD_ADD); false: set.
    pub add: bool,
    /// Byte offset of the word from the start of `header`, a multiple of 4.
    pub offset: u32,
    /// Bits of the word that stay as they are.
    pub keep: [u8; 4],
    pub val: [u8; 4],
}

impl PeditKey {
    /// Set the bytes `bytes` at `offset` (any alignment) of `header`: one key per word touched.
    pub fn set_bytes(header: PeditHeader, offset: u32, bytes: &[u8]) -> Vec<PeditKey> {
        Self::set_bits(header, offset, bytes, &vec![0xff; bytes.len()])
    }

    /// Set the bits `mask` of the bytes at `offset` to `bytes` (`bytes` already masked).
    pub fn set_bits(header: PeditHeader, offset: u32, bytes: &[u8], mask: &[u8]) -> Vec<PeditKey> {
        let mut keys: Vec<PeditKey> = Vec::new();
        for (i, (b, m)) in bytes.iter().zip(mask).enumerate() {
            let at = offset + i as u32;
            let word = at & !3;
            let k = match keys.last_mut() {
                Some(k) if k.offset == word => k,
                _ => {
                    keys.push(PeditKey {
                        header,
                        add: false,
                        offset: word,
                        keep: [0xff; 4],
                        val: [0; 4],
                    });
                    keys.last_mut().expect("just pushed")
                }
            };
            let j = (at - word) as usize;
            k.keep[j] &= !m;
            k.val[j] |= b & m;
        }
        keys
    }
}

/// `TCA_PEDIT_PARMS_EX` (struct tc_pedit_sel with its keys) and `TCA_PEDIT_KEYS_EX` (per
/// key its header type and command).
pub(super) fn encode(keys: &[PeditKey], index: u32, w: &mut NlaWriter) {
    // struct tc_pedit_sel: tc_gen, nkeys, flags, 2 bytes padding, keys[].
    let mut p = tc_gen(index, TC_ACT_PIPE).to_vec();
    p.extend_from_slice(&[keys.len() as u8, 0, 0, 0]);
    for k in keys {
        // struct tc_pedit_key: mask, val, off, at, offmask, shift.
        p.extend_from_slice(&k.keep);
        p.extend_from_slice(&k.val);
        p.extend_from_slice(&k.offset.to_ne_bytes());
        p.extend_from_slice(&[0u8; 12]);
    }
    w.put(TCA_PEDIT_PARMS_EX, &p);
    let ex = w.begin(TCA_PEDIT_KEYS_EX);
    for k in keys {
        let e = w.begin(TCA_PEDIT_KEY_EX);
        w.u16(TCA_PEDIT_KEY_EX_HTYPE, k.header as u16);
        w.u16(TCA_PEDIT_KEY_EX_CMD, k.add as u16);
        w.end(e);
    }
    w.end(ex);
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_PEDIT_PARMS_EX)
        .or(o.get(TCA_PEDIT_PARMS))
        .ok_or(NlaError("pedit without parameters"))?;
    let nkeys = nla::get_u8(p.get(20..).unwrap_or(&[]))? as usize;
    let mut ex = Vec::new();
    if let Some(kx) = o.get(TCA_PEDIT_KEYS_EX) {
        for r in attrs(kx) {
            let (_, e) = r?;
            let (mut h, mut c) = (0u16, 0u16);
            for r in attrs(e) {
                let (t, v) = r?;
                match t {
                    TCA_PEDIT_KEY_EX_HTYPE => h = nla::get_u16(v)?,
                    TCA_PEDIT_KEY_EX_CMD => c = nla::get_u16(v)?,
                    _ => {}
                }
            }
            ex.push((h, c));
        }
    }
    let mut keys = Vec::with_capacity(nkeys);
    for i in 0..nkeys {
        let k = p
            .get(24 + 24 * i..48 + 24 * i)
            .ok_or(NlaError("pedit keys truncated"))?;
        let (h, c) = ex.get(i).copied().unwrap_or((0, 0));
        let Some(header) = PeditHeader::from_raw(h) else {
            return Ok(None);
        };
        keys.push(PeditKey {
            header,
            add: c == 1,
            offset: nla::get_u32(&k[8..12])?,
            keep: nla::get_arr(&k[0..4])?,
            val: nla::get_arr(&k[4..8])?,
        });
    }
    Ok(Some(TcAction::Pedit(keys)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pedit_set_bytes_splits_at_word_boundaries() {
        // eth_src is bytes 6..12: half of word 4, all of word 8.
        let k = PeditKey::set_bytes(PeditHeader::Eth, 6, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(k.len(), 2);
        assert_eq!(
            (k[0].offset, k[0].keep, k[0].val),
            (4, [0xff, 0xff, 0, 0], [0, 0, 1, 2])
        );
        assert_eq!(
            (k[1].offset, k[1].keep, k[1].val),
            (8, [0; 4], [3, 4, 5, 6])
        );
    }
}
