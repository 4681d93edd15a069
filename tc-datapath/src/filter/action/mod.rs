//! TC actions ([`TcAction`]) as entries of a TCA_FLOWER_ACT list, one file per action
//! kind, each with its types, its encode and its parse side by side:
//!
//! ```text
//! TCA_FLOWER_ACT { 1: { TCA_ACT_KIND "gact", TCA_ACT_OPTIONS {..}, TCA_ACT_COOKIE, TCA_ACT_STATS }, 2: {..}, ... }
//! ```
//! [`gact`], [`mirred`], [`vlan`], [`pedit`], [`csum`], [`police`], [`sample`],
//! [`tunnel_key`], [`skbedit`]. This file writes and reads the entry around the options
//! (kind, cookie, counters, last use) and hands the options to the kind's file.

pub mod csum;
mod ct;
mod gact;
mod mirred;
mod mpls;
mod pedit;
mod police;
mod sample;
mod skbedit;
mod tunnel_key;
mod vlan;

use std::net::Ipv4Addr;
use std::time::Duration;

pub(crate) use ct::label_bytes;
pub use ct::{flags as ct_flags, CtNatRange, CtParams};
pub use gact::Verdict;
pub use mirred::MirredKind;
pub use mpls::MplsOp;
pub use pedit::{PeditHeader, PeditKey};
pub use police::PoliceRate;

use super::Attrs;
use crate::nla::{self, attrs, NlaError, NlaWriter};
use crate::uapi::*;

/// One TC action of a filter, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TcAction {
    Gact(Verdict),
    Mirred {
        kind: MirredKind,
        ifindex: u32,
    },
    VlanPop,
    VlanPush {
        vid: u16,
        pcp: Option<u8>,
        /// 0x8100 or 0x88a8.
        tpid: u16,
    },
    /// Rewrite the outer tag's id (and priority if given), keep the rest. act_vlan's
    /// modify writes the tag back with `tpid` (the kernel's default is 0x8100), so a
    /// modify of an 802.1ad tag must say 0x88a8 to keep it one.
    VlanModify {
        vid: u16,
        pcp: Option<u8>,
        /// 0x8100 or 0x88a8.
        tpid: u16,
    },
    Pedit(Vec<PeditKey>),
    /// act_csum with `TCA_CSUM_UPDATE_FLAG_*` bits (IPv4 header 1, ICMP 2, TCP 8, UDP 16).
    Csum(u32),
    /// Exceeding packets are dropped, conforming ones go on with the next action.
    Police(PoliceRate),
    /// The bound on packets to the controller: conforming packets go on with the next
    /// action (the [`TcAction::Sample`]), exceeding ones jump over it to the action at
    /// index `to` (0-based; the kernel counts jumps from the first action of the filter).
    PoliceJump {
        rate: PoliceRate,
        to: u32,
    },
    /// act_sample with rate 1: every packet is copied to the psample multicast group
    /// (see [`crate::psample`]) with the psample group number `group` that names the
    /// flow, cut to `trunc` bytes from the MAC header when given; the packet goes on.
    Sample {
        group: u32,
        trunc: Option<u32>,
    },
    TunnelSet {
        key_id: Option<u32>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        dst_port: Option<u16>,
    },
    TunnelRelease,
    /// Set the packet's firewall mark (act_skbedit).
    SkbeditMark(u32),
    /// act_mpls.
    Mpls(MplsOp),
    /// act_ct: connection tracking (Open vSwitch's `ct` and `ct_clear`).
    Ct(CtParams),
    /// An action of a kind this crate does not write (seen in a dump).
    Other {
        kind: String,
    },
}

impl TcAction {
    /// The TC action kind (`TCA_ACT_KIND`), which is also the kernel module's suffix.
    pub fn kind(&self) -> &str {
        match self {
            TcAction::Gact(_) => "gact",
            TcAction::Mirred { .. } => "mirred",
            TcAction::VlanPop | TcAction::VlanPush { .. } | TcAction::VlanModify { .. } => "vlan",
            TcAction::Pedit(_) => "pedit",
            TcAction::Csum(_) => "csum",
            TcAction::Police(_) | TcAction::PoliceJump { .. } => "police",
            TcAction::Sample { .. } => "sample",
            TcAction::TunnelSet { .. } | TcAction::TunnelRelease => "tunnel_key",
            TcAction::SkbeditMark(_) => "skbedit",
            TcAction::Mpls(_) => "mpls",
            TcAction::Ct(_) => "ct",
            TcAction::Other { kind } => kind,
        }
    }

    /// Append this action as entry `order` (1-based) of a TCA_FLOWER_ACT list.
    pub(crate) fn encode(&self, order: u16, cookie: Option<&[u8; 16]>, w: &mut NlaWriter) {
        self.encode_indexed(order, 0, cookie, w)
    }

    /// As [`TcAction::encode`], with the action's own index (0: the kernel picks one).
    pub(crate) fn encode_indexed(
        &self,
        order: u16,
        index: u32,
        cookie: Option<&[u8; 16]>,
        w: &mut NlaWriter,
    ) {
        let n = w.begin(order);
        w.str(TCA_ACT_KIND, self.kind());
        let o = w.begin(TCA_ACT_OPTIONS);
        match self {
            TcAction::Gact(v) => gact::encode(*v, index, w),
            TcAction::Mirred { kind, ifindex } => mirred::encode(*kind, *ifindex, index, w),
            TcAction::VlanPop => vlan::encode_pop(index, w),
            TcAction::VlanPush { vid, pcp, tpid } => vlan::encode_push(*vid, *pcp, *tpid, index, w),
            TcAction::VlanModify { vid, pcp, tpid } => {
                vlan::encode_modify(*vid, *pcp, *tpid, index, w)
            }
            TcAction::Pedit(keys) => pedit::encode(keys, index, w),
            TcAction::Csum(flags) => csum::encode(*flags, index, w),
            TcAction::Police(rate) => police::encode(rate, None, index, w),
            TcAction::PoliceJump { rate, to } => police::encode(rate, Some(*to), index, w),
            TcAction::Sample { group, trunc } => sample::encode(*group, *trunc, index, w),
            TcAction::TunnelSet {
                key_id,
                src,
                dst,
                dst_port,
            } => tunnel_key::encode_set(*key_id, *src, *dst, *dst_port, index, w),
            TcAction::TunnelRelease => tunnel_key::encode_release(index, w),
            TcAction::SkbeditMark(mark) => skbedit::encode_mark(*mark, index, w),
            TcAction::Mpls(op) => mpls::encode(op, index, w),
            TcAction::Ct(p) => ct::encode(p, index, w),
            TcAction::Other { .. } => {}
        }
        w.end(o);
        if let Some(c) = cookie {
            w.put(TCA_ACT_COOKIE, c);
        }
        w.end(n);
    }
}

/// `struct tc_gen`, the head of every action's parameters: index, capab, action, refcnt,
/// bindcnt.
fn tc_gen(index: u32, action: i32) -> [u8; 20] {
    let mut g = [0u8; 20];
    g[0..4].copy_from_slice(&index.to_ne_bytes());
    g[8..12].copy_from_slice(&action.to_ne_bytes());
    g
}

/// The `i32` right after the `struct tc_gen` of a parameter struct (mirred's eaction,
/// vlan's v_action, csum's flags, tunnel_key's t_action).
fn after_tc_gen(parms: &[u8]) -> Result<i32, NlaError> {
    nla::get_i32(parms.get(20..).unwrap_or(&[]))
}

/// One parsed action entry of a dump.
pub(super) struct ParsedAction {
    pub(super) action: TcAction,
    pub(super) stats: ActionStats,
}

/// What an action entry of a dump, terse or full, says besides its parameters.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ActionStats {
    pub(super) cookie: Option<[u8; 16]>,
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) last_used: Option<Duration>,
}

/// An action entry's kind (without its NUL), options, and [`ActionStats`].
pub(super) struct ActionEntry<'a> {
    kind: &'a [u8],
    options: &'a [u8],
    pub(super) stats: ActionStats,
}

/// Kind, options, cookie, counters and last use of one action entry, terse or full; the
/// last use comes from the options (absent in a terse entry).
pub(super) fn action_entry(entry: &[u8]) -> Result<ActionEntry<'_>, NlaError> {
    let mut st = ActionStats::default();
    let (mut kind, mut options, mut pkt64): (&[u8], &[u8], _) = (&[], &[], None);
    for r in attrs(entry) {
        let (t, p) = r?;
        match t {
            TCA_ACT_KIND => kind = p.split(|b| *b == 0).next().unwrap_or(p),
            TCA_ACT_OPTIONS => options = p,
            TCA_ACT_COOKIE => st.cookie = p.try_into().ok(),
            TCA_ACT_STATS => {
                for r in attrs(p) {
                    let (t, s) = r?;
                    match t {
                        TCA_STATS_BASIC => {
                            st.bytes = nla::get_u64(s)?;
                            st.packets = nla::get_u32(s.get(8..).unwrap_or(&[]))? as u64;
                        }
                        TCA_STATS_PKT64 => pkt64 = Some(nla::get_u64(s)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    st.packets = pkt64.unwrap_or(st.packets);
    // Every action's tcf_t is attribute 1 (TCA_*_TM) except police's and csum's.
    let tm_attr = match kind {
        b"police" => TCA_POLICE_TM,
        b"csum" => TCA_CSUM_TM,
        b"ct" => 2, // TCA_CT_TM
        _ => TCA_GACT_TM,
    };
    // struct tcf_t: install, lastuse, expires, firstuse, in clock_t (USER_HZ = 100) ago.
    for r in attrs(options) {
        let (t, p) = r?;
        if t == tm_attr {
            st.last_used = p
                .get(8..16)
                .and_then(|p| nla::get_u64(p).ok())
                .map(|t| Duration::from_millis(t.saturating_mul(10)));
        }
    }
    Ok(ActionEntry {
        kind,
        options,
        stats: st,
    })
}

/// Parse one action entry of a full dump. A kind this crate does not write, or one with
/// parameters it does not write (a mirred to ingress mirror, a pedit of another header),
/// becomes [`TcAction::Other`].
pub(super) fn parse_action(entry: &[u8]) -> Result<ParsedAction, NlaError> {
    let ActionEntry {
        kind,
        options,
        stats,
    } = action_entry(entry)?;
    let o = Attrs::parse(options)?;
    let action = match kind {
        b"gact" => gact::parse(&o)?,
        b"mirred" => mirred::parse(&o)?,
        b"vlan" => vlan::parse(&o)?,
        b"pedit" => pedit::parse(&o)?,
        b"csum" => csum::parse(&o)?,
        b"police" => police::parse(&o)?,
        b"sample" => sample::parse(&o)?,
        b"tunnel_key" => tunnel_key::parse(&o)?,
        b"skbedit" => skbedit::parse(&o)?,
        b"mpls" => mpls::parse(&o)?,
        b"ct" => ct::parse(&o)?,
        _ => None,
    };
    let action = action.unwrap_or_else(|| TcAction::Other {
        kind: String::from_utf8_lossy(kind).into(),
    });
    Ok(ParsedAction { action, stats })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::tests::{round_trip, sample_filter};
    use crate::filter::FlowerKey;

    #[test]
    fn every_action_round_trips_with_the_cookie_on_the_first() {
        let actions = vec![
            TcAction::Police(PoliceRate::Bytes {
                rate: 125_000,
                burst: 125_000,
            }),
            TcAction::Police(PoliceRate::Packets {
                rate: 1000,
                burst: 100,
            }),
            TcAction::VlanPop,
            TcAction::VlanPush {
                vid: 10,
                pcp: Some(3),
                tpid: 0x8100,
            },
            TcAction::VlanModify {
                vid: 11,
                pcp: None,
                tpid: 0x88a8,
            },
            TcAction::Pedit(PeditKey::set_bytes(
                PeditHeader::Eth,
                6,
                &[2, 0, 0, 0, 0, 9],
            )),
            TcAction::Pedit(vec![PeditKey {
                header: PeditHeader::Ip4,
                add: true,
                offset: 8,
                keep: [0, 0xff, 0xff, 0xff],
                val: [0xff, 0, 0, 0],
            }]),
            TcAction::Csum(csum::IPV4HDR | csum::TCP | csum::UDP),
            TcAction::TunnelSet {
                key_id: Some(5000),
                src: [192, 0, 2, 1].into(),
                dst: [192, 0, 2, 2].into(),
                dst_port: Some(4789),
            },
            TcAction::TunnelRelease,
            TcAction::SkbeditMark(0x42),
            TcAction::Mpls(MplsOp::Push {
                proto: 0x8847,
                label: 100,
                tc: 3,
                ttl: 64,
            }),
            TcAction::Mpls(MplsOp::Modify {
                label: Some(200),
                tc: None,
                ttl: Some(9),
                bos: None,
            }),
            TcAction::Mpls(MplsOp::DecTtl),
            TcAction::Mpls(MplsOp::Pop { proto: 0x0800 }),
            TcAction::PoliceJump {
                rate: PoliceRate::Packets {
                    rate: 1000,
                    burst: 100,
                },
                to: 13,
            },
            TcAction::Sample {
                group: 0xdead_beef,
                trunc: Some(64),
            },
            TcAction::Sample {
                group: 7,
                trunc: None,
            },
            TcAction::Mirred {
                kind: MirredKind::EgressMirror,
                ifindex: 3,
            },
            TcAction::Mirred {
                kind: MirredKind::IngressRedirect,
                ifindex: 1,
            },
            TcAction::Gact(Verdict::Pipe),
            TcAction::Ct(CtParams {
                flags: ct_flags::COMMIT | ct_flags::NAT | ct_flags::NAT_SRC,
                zone: 5,
                mark: Some((1, 0xff)),
                labels: Some((1 << 64 | 7, u128::MAX)),
                nat: CtNatRange {
                    addr: Some(([10, 0, 0, 1].into(), Some([10, 0, 0, 9].into()))),
                    port: Some((1000, Some(2000))),
                },
            }),
            TcAction::Ct(CtParams {
                flags: ct_flags::CLEAR,
                ..CtParams::default()
            }),
            TcAction::Gact(Verdict::GotoChain(5)),
            TcAction::Mirred {
                kind: MirredKind::EgressRedirect,
                ifindex: 4,
            },
        ];
        let f = sample_filter(actions.clone(), FlowerKey::default());
        let got = round_trip(&f);
        assert_eq!(got.actions, actions);
        assert_eq!(got.cookie, Some(f.cookie));
        assert_eq!(got.id, f.id());
    }
}
