//! Flower filters and TC actions as typed values, their netlink encoding (RTM_NEWTFILTER,
//! RTM_DELTFILTER) and the parser for what a dump returns.
//!
//! ```text
//! nlmsghdr | tcmsg { family, ifindex, handle, parent = ffff:fff2, info = prio << 16 | htons(ETH_P_ALL) }
//!   TCA_KIND "flower"
//!   TCA_CHAIN u32
//!   TCA_OPTIONS { TCA_FLOWER_KEY_* ..., TCA_FLOWER_FLAGS skip_hw,
//!                 TCA_FLOWER_ACT { 1: { TCA_ACT_KIND, TCA_ACT_OPTIONS {..}, TCA_ACT_COOKIE }, 2: {..}, ... } }
//! ```
//! Every filter uses protocol ETH_P_ALL: all filters of one (chain, prio) must share the
//! tcm protocol, so the EtherType is matched with TCA_FLOWER_KEY_ETH_TYPE instead (flower
//! still parses the L3/L4 keys that follow from it).
//!
//! - `flower/`: the [`FlowerKey`] match, one file per group of keys;
//! - `action/`: the [`TcAction`]s, one file per action kind;
//! - this file: [`Filter`] and the RTM_NEWTFILTER / RTM_DELTFILTER requests around them,
//!   and the dump messages ([`Installed`], terse [`Listed`]) read back.

mod action;
pub(crate) mod flower;

use std::time::Duration;

pub use action::{
    csum, ct_flags, CtNatRange, CtParams, MirredKind, MplsOp, PeditHeader, PeditKey, PoliceRate,
    TcAction, Verdict,
};
pub use flower::ct::CtKeys;
pub use flower::{FlowerKey, Mac};

use crate::nla::{self, attrs, NlaError, NlaWriter};
use crate::uapi::*;
use action::{action_entry, parse_action, ActionStats};

/// Where one installed filter is: enough to delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilterId {
    pub ifindex: u32,
    pub chain: u32,
    pub prio: u16,
    pub handle: u32,
}

/// One flower filter to install on the clsact ingress of `ifindex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    pub ifindex: u32,
    /// The TC chain: the OpenFlow table id, or an overflow chain (see the `prio` module).
    pub chain: u32,
    /// TC prio (1..=65535, lower runs first); see the `prio` module.
    pub prio: u16,
    /// The flower handle, unique within (ifindex, chain, prio); never 0.
    pub handle: u32,
    pub key: FlowerKey,
    /// At most 32 (`MAX_ACTIONS`).
    pub actions: Vec<TcAction>,
    /// Stored as TCA_ACT_COOKIE of the first action. Bytes 0..8 identify the OpenFlow
    /// flow (equal for all filters of one flow), bytes 8..16 this filter's content.
    pub cookie: [u8; 16],
}

/// TC numbers the actions of one filter 1..=32 (TCA_ACT_MAX_PRIO).
pub(crate) const MAX_ACTIONS: usize = TCA_ACT_MAX_PRIO;

impl Filter {
    pub fn id(&self) -> FilterId {
        FilterId {
            ifindex: self.ifindex,
            chain: self.chain,
            prio: self.prio,
            handle: self.handle,
        }
    }

    /// The OpenFlow flow this filter implements (the first half of the cookie).
    pub fn flow_id(&self) -> [u8; 8] {
        flow_id(&self.cookie)
    }
}

/// The first half of a filter cookie: which OpenFlow flow it belongs to.
pub fn flow_id(cookie: &[u8; 16]) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&cookie[..8]);
    id
}

/// What a terse dump (TCA_DUMP_FLAGS_TERSE) says about one installed flower filter: its
/// place, the first action's cookie and counters, and nothing of its key or actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub id: FilterId,
    /// The first action's TCA_ACT_COOKIE, if it has one of 16 bytes.
    pub cookie: Option<[u8; 16]>,
    /// Counters of the first action: every packet the filter matched.
    pub packets: u64,
    pub bytes: u64,
    /// How long ago the first action last saw a packet. A terse dump leaves the actions'
    /// options out and with them the time of last use: `None` then (a kernel older than
    /// 5.7 ignores the flag and sends the full filter, which has it).
    pub last_used: Option<Duration>,
}

/// What a dump says about one installed flower filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub id: FilterId,
    pub key: FlowerKey,
    pub actions: Vec<TcAction>,
    /// The first action's TCA_ACT_COOKIE, if it has one of 16 bytes.
    pub cookie: Option<[u8; 16]>,
    /// Counters of the first action: every packet the filter matched.
    pub packets: u64,
    pub bytes: u64,
    /// How long ago the first action last saw a packet (centisecond resolution).
    pub last_used: Option<Duration>,
}

/// The attributes of one nest by type, for the parsers' lookups (an array, not a map: a
/// restart parses every installed filter). A type seen twice keeps its last payload; types
/// from [`Attrs::MAX`] up are skipped.
pub(crate) struct Attrs<'a> {
    by_type: [Option<&'a [u8]>; Attrs::MAX],
}

impl<'a> Attrs<'a> {
    /// Above every flower key (TCA_FLOWER_MAX is below 128 in Linux 6.x) and every
    /// action option.
    const MAX: usize = 128;

    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, NlaError> {
        let mut a = Attrs {
            by_type: [None; Attrs::MAX],
        };
        for r in attrs(data) {
            let (t, p) = r?;
            if let Some(slot) = a.by_type.get_mut(t as usize) {
                *slot = Some(p);
            }
        }
        Ok(a)
    }

    pub(crate) fn get(&self, t: u16) -> Option<&'a [u8]> {
        debug_assert!((t as usize) < Attrs::MAX, "attribute {t} above Attrs::MAX");
        self.by_type.get(t as usize).copied().flatten()
    }
}

/// A filter message's tcmsg and top-level attributes.
struct FilterHead<'a> {
    id: FilterId,
    kind: Option<&'a [u8]>,
    options: Option<&'a [u8]>,
}

fn filter_head(payload: &[u8]) -> Result<FilterHead<'_>, NlaError> {
    let t = payload
        .get(..TCMSG_LEN)
        .ok_or(NlaError("tcmsg truncated"))?;
    let ifindex = nla::get_u32(&t[4..8])?;
    let handle = nla::get_u32(&t[8..12])?;
    let prio = (nla::get_u32(&t[16..20])? >> 16) as u16;
    let (mut kind, mut chain, mut options) = (None, 0u32, None);
    for r in attrs(&payload[TCMSG_LEN..]) {
        let (ty, p) = r?;
        match ty {
            TCA_KIND => kind = Some(p),
            TCA_CHAIN => chain = nla::get_u32(p)?,
            TCA_OPTIONS => options = Some(p),
            _ => {}
        }
    }
    Ok(FilterHead {
        id: FilterId {
            ifindex,
            chain,
            prio,
            handle,
        },
        kind,
        options,
    })
}

/// Parse one RTM_NEWTFILTER of a terse dump: `None` for what is not a flower filter (the
/// chain's template, another classifier). A full answer (a kernel that ignored the flag)
/// parses the same way; only more of it is skipped.
pub(crate) fn parse_listed(payload: &[u8]) -> Result<Option<Listed>, NlaError> {
    let h = filter_head(payload)?;
    // A filter without actions has TCA_OPTIONS in a terse dump only if it has flags.
    if h.kind != Some(b"flower\0") || h.id.handle == 0 {
        return Ok(None);
    }
    let mut first: Option<(u16, &[u8])> = None;
    for r in attrs(h.options.unwrap_or(&[])) {
        let (ty, p) = r?;
        if ty != TCA_FLOWER_ACT {
            continue;
        }
        for e in attrs(p) {
            let (n, e) = e?;
            if first.is_none_or(|(m, _)| n < m) {
                first = Some((n, e));
            }
        }
    }
    let st = match first {
        Some((_, e)) => action_entry(e)?.stats,
        None => ActionStats::default(),
    };
    Ok(Some(Listed {
        id: h.id,
        cookie: st.cookie,
        packets: st.packets,
        bytes: st.bytes,
        last_used: st.last_used,
    }))
}
/// The tcmsg of a filter request.
pub(crate) fn tcmsg(ifindex: u32, handle: u32, parent: u32, info: u32) -> [u8; TCMSG_LEN] {
    let mut t = [0u8; TCMSG_LEN];
    t[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    t[8..12].copy_from_slice(&handle.to_ne_bytes());
    t[12..16].copy_from_slice(&parent.to_ne_bytes());
    t[16..20].copy_from_slice(&info.to_ne_bytes());
    t
}

/// `tcm_info` of a filter: prio in the upper half, protocol (network order) in the lower.
pub(crate) fn filter_info(prio: u16) -> u32 {
    ((prio as u32) << 16) | ETH_P_ALL.to_be() as u32
}

/// Append a netlink message header (length patched by [`finish_msg`]).
pub(crate) fn begin_msg(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    at
}

pub(crate) fn finish_msg(buf: &mut [u8], at: usize) {
    let len = (buf.len() - at) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_ne_bytes());
}

impl Filter {
    /// The TCA_OPTIONS content of this filter: keys, flags, actions (cookie on the first).
    pub(crate) fn encode_options(&self, w: &mut NlaWriter) {
        self.key.encode(w);
        w.u32(TCA_FLOWER_FLAGS, TCA_CLS_FLAGS_SKIP_HW);
        let a = w.begin(TCA_FLOWER_ACT);
        for (i, act) in self.actions.iter().enumerate() {
            act.encode(i as u16 + 1, (i == 0).then_some(&self.cookie), w);
        }
        w.end(a);
    }

    /// Append an RTM_NEWTFILTER request (create, fail if the handle exists) to `buf`
    /// (the tests' shorthand: [`crate::Tc`] sends [`Filter::encode_request`]).
    #[cfg(test)]
    pub(crate) fn encode_new(&self, seq: u32, buf: &mut Vec<u8>) {
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.encode_request(seq, flags, self.handle, buf)
    }

    /// Append an RTM_NEWTFILTER request with netlink `flags` for `handle` (0: the kernel
    /// picks one) to `buf`.
    pub(crate) fn encode_request(&self, seq: u32, flags: u16, handle: u32, buf: &mut Vec<u8>) {
        let at = begin_msg(buf, RTM_NEWTFILTER, flags, seq);
        buf.extend_from_slice(&tcmsg(
            self.ifindex,
            handle,
            TC_H_INGRESS_PARENT,
            filter_info(self.prio),
        ));
        let mut w = NlaWriter::with_buf(std::mem::take(buf));
        w.str(TCA_KIND, "flower");
        w.u32(TCA_CHAIN, self.chain);
        let o = w.begin(TCA_OPTIONS);
        self.encode_options(&mut w);
        w.end(o);
        *buf = w.buf;
        finish_msg(buf, at);
    }
}

impl FilterId {
    /// Append an RTM_DELTFILTER request for this filter to `buf`.
    pub(crate) fn encode_del(&self, seq: u32, buf: &mut Vec<u8>) {
        let at = begin_msg(buf, RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, seq);
        buf.extend_from_slice(&tcmsg(
            self.ifindex,
            self.handle,
            TC_H_INGRESS_PARENT,
            filter_info(self.prio),
        ));
        let mut w = NlaWriter::with_buf(std::mem::take(buf));
        w.str(TCA_KIND, "flower");
        w.u32(TCA_CHAIN, self.chain);
        *buf = w.buf;
        finish_msg(buf, at);
    }
}
/// Parse the payload (after the nlmsghdr) of an RTM_NEWTFILTER message from a dump.
/// `Ok(None)` for what is not a flower filter with a handle (the per-prio header entries
/// a dump also sends, other classifiers).
pub(crate) fn parse_filter(payload: &[u8]) -> Result<Option<Installed>, NlaError> {
    let h = filter_head(payload)?;
    let (Some(b"flower\0"), Some(options)) = (h.kind, h.options) else {
        return Ok(None);
    };
    if h.id.handle == 0 {
        return Ok(None);
    }
    let key = FlowerKey::parse(options)?;
    let mut inst = Installed {
        id: h.id,
        key,
        actions: Vec::new(),
        cookie: None,
        packets: 0,
        bytes: 0,
        last_used: None,
    };
    for r in attrs(options) {
        let (ty, p) = r?;
        if ty != TCA_FLOWER_ACT {
            continue;
        }
        let mut entries: Vec<(u16, &[u8])> = attrs(p).collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.0);
        for (i, (_, e)) in entries.into_iter().enumerate() {
            let a = parse_action(e)?;
            if i == 0 {
                inst.cookie = a.stats.cookie;
                inst.packets = a.stats.packets;
                inst.bytes = a.stats.bytes;
                inst.last_used = a.stats.last_used;
            }
            inst.actions.push(a.action);
        }
    }
    Ok(Some(inst))
}
#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample_filter(actions: Vec<TcAction>, key: FlowerKey) -> Filter {
        Filter {
            ifindex: 7,
            chain: 3,
            prio: 1234,
            handle: 0xdead_beef,
            key,
            actions,
            cookie: *b"0123456789abcdef",
        }
    }

    /// Encode as the kernel would store it, parse back as a dump would deliver it.
    pub(super) fn round_trip(f: &Filter) -> Installed {
        let mut buf = Vec::new();
        f.encode_new(1, &mut buf);
        assert_eq!(
            buf.len(),
            u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize
        );
        parse_filter(&buf[NLMSG_HDRLEN..])
            .expect("parses")
            .expect("a flower filter")
    }

    /// An RTM_NEWTFILTER as the kernel's terse dump lays it out (tcf_fill_node,
    /// fl_terse_dump, tcf_action_dump_terse): tcmsg, kind, chain, then in the options
    /// only the flags and per action its kind, stats and cookie.
    fn terse_msg(kind: &str, handle: u32, packets32: u32, pkt64: Option<u64>) -> Vec<u8> {
        let mut w = NlaWriter::with_buf(
            tcmsg(7, handle, TC_H_INGRESS_PARENT, (1234 << 16) | 0x0300).to_vec(),
        );
        w.str(TCA_KIND, kind);
        w.u32(TCA_CHAIN, 3);
        let o = w.begin(TCA_OPTIONS);
        w.u32(TCA_FLOWER_FLAGS, 0);
        let acts = w.begin(TCA_FLOWER_ACT);
        for (n, cookie) in [(2u16, *b"second action..."), (1, *b"0123456789abcdef")] {
            let e = w.begin(n);
            w.str(TCA_ACT_KIND, "gact");
            let st = w.begin(TCA_ACT_STATS);
            // struct gnet_stats_basic: bytes (u64), packets (u32), padding.
            let mut basic = vec![0u8; 16];
            basic[..8].copy_from_slice(&(u64::from(n) * 1000).to_ne_bytes());
            basic[8..12].copy_from_slice(&(packets32 * u32::from(n)).to_ne_bytes());
            w.put(TCA_STATS_BASIC, &basic);
            if let Some(p) = pkt64 {
                w.u64(TCA_STATS_PKT64, p * u64::from(n));
            }
            w.end(st);
            w.put(TCA_ACT_COOKIE, &cookie);
            w.end(e);
        }
        w.end(acts);
        w.end(o);
        w.buf
    }

    #[test]
    fn terse_filter_gives_place_and_the_first_actions_cookie_and_counters() {
        let l = parse_listed(&terse_msg("flower", 0xbeef, 5, None))
            .expect("parses")
            .expect("a flower filter");
        assert_eq!(
            l,
            Listed {
                id: FilterId {
                    ifindex: 7,
                    chain: 3,
                    prio: 1234,
                    handle: 0xbeef
                },
                cookie: Some(*b"0123456789abcdef"),
                packets: 5,
                bytes: 1000,
                last_used: None,
            }
        );
        // Past 2^32 packets the kernel adds TCA_STATS_PKT64.
        let l = parse_listed(&terse_msg("flower", 1, 5, Some(1 << 33)))
            .unwrap()
            .unwrap();
        assert_eq!(l.packets, 1 << 33);
        // Another classifier, or the chain's empty first message (handle 0): skipped.
        assert_eq!(parse_listed(&terse_msg("u32", 1, 5, None)), Ok(None));
        assert_eq!(parse_listed(&terse_msg("flower", 0, 5, None)), Ok(None));
        assert!(parse_listed(&[0u8; 10]).is_err());
    }

    #[test]
    fn a_full_answer_parses_as_terse_too() {
        // What a kernel older than 5.7, which ignores the terse flag, sends.
        let f = sample_filter(
            vec![TcAction::Gact(Verdict::Shot)],
            FlowerKey {
                eth_type: Some(0x0800),
                ..FlowerKey::default()
            },
        );
        let mut buf = Vec::new();
        f.encode_new(1, &mut buf);
        let full = parse_filter(&buf[NLMSG_HDRLEN..]).unwrap().unwrap();
        let l = parse_listed(&buf[NLMSG_HDRLEN..]).unwrap().unwrap();
        assert_eq!(l.id, full.id);
        assert_eq!(l.cookie, Some(f.cookie));
        assert_eq!((l.packets, l.bytes), (full.packets, full.bytes));
    }

    #[test]
    fn header_carries_prio_protocol_all_and_ingress_parent() {
        let f = sample_filter(vec![TcAction::Gact(Verdict::Shot)], FlowerKey::default());
        let mut buf = Vec::new();
        f.encode_new(9, &mut buf);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), RTM_NEWTFILTER);
        let t = &buf[NLMSG_HDRLEN..];
        assert_eq!(&t[12..16], &0xffff_fff2u32.to_ne_bytes());
        // info: prio 1234 (0x04d2) high, htons(ETH_P_ALL) low: bytes 03 00 d2 04 on LE.
        let info = u32::from_ne_bytes(t[16..20].try_into().unwrap());
        assert_eq!(info >> 16, 1234);
        assert_eq!((info as u16).to_ne_bytes(), [0x00, 0x03]);
    }

    #[test]
    fn dump_header_entries_and_other_classifiers_are_skipped() {
        let mut w = NlaWriter::with_buf(tcmsg(1, 0, TC_H_INGRESS_PARENT, filter_info(5)).to_vec());
        w.str(TCA_KIND, "flower");
        w.u32(TCA_CHAIN, 0);
        assert_eq!(parse_filter(&w.buf), Ok(None));
        let mut w = NlaWriter::with_buf(tcmsg(1, 1, TC_H_INGRESS_PARENT, filter_info(5)).to_vec());
        w.str(TCA_KIND, "u32");
        let o = w.begin(TCA_OPTIONS);
        w.end(o);
        assert_eq!(parse_filter(&w.buf), Ok(None));
        assert!(parse_filter(&[1, 2, 3]).is_err());
    }
}
