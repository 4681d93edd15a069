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

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::nla::{self, attrs, NlaError, NlaWriter};
use crate::uapi::*;

/// An Ethernet address and mask as flower takes them.
pub type Mac = [u8; 6];

/// The flower match of one filter. Every maskable key carries `(value, mask)`, value
/// already masked; `None` is a wildcard. The L4 port and ICMP keys are sent under the
/// attribute that the filter's `ip_proto` and EtherType select (flower's own rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FlowerKey {
    /// EtherType of the frame: 0x8100 when the filter matches a VLAN tag (then
    /// `vlan_eth_type` holds the inner one).
    pub eth_type: Option<u16>,
    pub eth_dst: Option<(Mac, Mac)>,
    pub eth_src: Option<(Mac, Mac)>,
    pub vlan_id: Option<u16>,
    pub vlan_prio: Option<u8>,
    pub vlan_eth_type: Option<u16>,
    pub ip_proto: Option<u8>,
    /// The IPv4 TOS byte or IPv6 traffic class: DSCP << 2 | ECN.
    pub ip_tos: Option<(u8, u8)>,
    pub ip_ttl: Option<(u8, u8)>,
    pub ipv4_src: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ipv4_dst: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ipv6_src: Option<(Ipv6Addr, Ipv6Addr)>,
    pub ipv6_dst: Option<(Ipv6Addr, Ipv6Addr)>,
    /// TCP, UDP or SCTP source port (which one follows `ip_proto`).
    pub l4_src: Option<(u16, u16)>,
    pub l4_dst: Option<(u16, u16)>,
    pub tcp_flags: Option<(u16, u16)>,
    /// ICMPv4 or ICMPv6 (which one follows the EtherType).
    pub icmp_type: Option<(u8, u8)>,
    pub icmp_code: Option<(u8, u8)>,
    pub arp_op: Option<(u8, u8)>,
    pub arp_sip: Option<(Ipv4Addr, Ipv4Addr)>,
    pub arp_tip: Option<(Ipv4Addr, Ipv4Addr)>,
    pub arp_sha: Option<(Mac, Mac)>,
    pub arp_tha: Option<(Mac, Mac)>,
    /// Tunnel metadata (of a packet that a tunnel device decapsulated).
    pub enc_key_id: Option<u32>,
    pub enc_ipv4_src: Option<(Ipv4Addr, Ipv4Addr)>,
    pub enc_ipv4_dst: Option<(Ipv4Addr, Ipv4Addr)>,
}

/// The final verdict of a gact action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// TC_ACT_OK: let the packet continue into the Linux bridge (OpenFlow NORMAL).
    Ok,
    /// TC_ACT_SHOT: drop.
    Shot,
    /// TC_ACT_PIPE: go on with the next action.
    Pipe,
    /// `goto chain N` (OpenFlow goto_table).
    GotoChain(u32),
}

impl Verdict {
    fn to_raw(self) -> i32 {
        match self {
            Verdict::Ok => TC_ACT_OK,
            Verdict::Shot => TC_ACT_SHOT,
            Verdict::Pipe => TC_ACT_PIPE,
            Verdict::GotoChain(c) => TC_ACT_GOTO_CHAIN | (c & 0x0fff_ffff) as i32,
        }
    }
    fn from_raw(v: i32) -> Option<Verdict> {
        Some(match v {
            TC_ACT_OK => Verdict::Ok,
            TC_ACT_SHOT => Verdict::Shot,
            TC_ACT_PIPE => Verdict::Pipe,
            v if v & TC_ACT_EXT_OPCODE_MAX == TC_ACT_GOTO_CHAIN => {
                Verdict::GotoChain((v & 0x0fff_ffff) as u32)
            }
            _ => return None,
        })
    }
}

/// What act_mirred does with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MirredKind {
    /// Send it out of the device; the filter's processing ends (OpenFlow's last output).
    EgressRedirect,
    /// Send a copy out of the device and go on with the next action.
    EgressMirror,
    /// Hand it to the device's receive path (OpenFlow LOCAL on the bridge device).
    IngressRedirect,
}

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

/// A police rate: what an OpenFlow meter's drop band becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoliceRate {
    /// Bytes per second and bucket depth in bytes.
    Bytes { rate: u64, burst: u64 },
    /// Packets per second and bucket depth in packets.
    Packets { rate: u64, burst: u64 },
}

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
    /// Rewrite the outer tag's id (and priority if given), keep the rest.
    VlanModify {
        vid: u16,
        pcp: Option<u8>,
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
    /// An action of a kind this crate does not write (seen in a dump).
    Other {
        kind: String,
    },
}

/// `TCA_CSUM_UPDATE_FLAG_*`
pub mod csum {
    pub const IPV4HDR: u32 = 1;
    pub const ICMP: u32 = 2;
    pub const TCP: u32 = 8;
    pub const UDP: u32 = 16;
    pub const SCTP: u32 = 64;
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
            TcAction::Other { kind } => kind,
        }
    }
}

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
    /// The TC chain: the OpenFlow table id, or an overflow chain (see [`crate::prio`]).
    pub chain: u32,
    /// TC prio (1..=65535, lower runs first); see [`crate::prio`].
    pub prio: u16,
    /// The flower handle, unique within (ifindex, chain, prio); never 0.
    pub handle: u32,
    pub key: FlowerKey,
    /// At most 32 ([`MAX_ACTIONS`]).
    pub actions: Vec<TcAction>,
    /// Stored as TCA_ACT_COOKIE of the first action. Bytes 0..8 identify the OpenFlow
    /// flow (equal for all filters of one flow), bytes 8..16 this filter's content.
    pub cookie: [u8; 16],
}

/// TC numbers the actions of one filter 1..=32 (TCA_ACT_MAX_PRIO).
pub const MAX_ACTIONS: usize = TCA_ACT_MAX_PRIO;

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

fn tc_gen(index: u32, action: i32) -> [u8; 20] {
    let mut g = [0u8; 20];
    g[0..4].copy_from_slice(&index.to_ne_bytes());
    g[8..12].copy_from_slice(&action.to_ne_bytes());
    g
}

const PSCHED_SHIFT: u32 = 6;

/// Nanoseconds a token bucket of `size` units takes to fill at `rate` units/s, in psched
/// ticks (64 ns), as the kernel stores bursts.
fn xmit_ticks(size: u64, rate: u64) -> u64 {
    if rate == 0 {
        return 0;
    }
    let ns = (size as u128 * 1_000_000_000u128) / rate as u128;
    (ns >> PSCHED_SHIFT).min(u64::MAX as u128) as u64
}

fn ticks_to_size(ticks: u64, rate: u64) -> u64 {
    let ns = (ticks as u128) << PSCHED_SHIFT;
    (ns * rate as u128 / 1_000_000_000u128) as u64
}

impl FlowerKey {
    /// The EtherType that the L3 keys depend on (inside the VLAN tag if there is one).
    pub fn l3_type(&self) -> Option<u16> {
        match self.eth_type {
            Some(0x8100) | Some(0x88a8) => self.vlan_eth_type,
            t => t,
        }
    }

    pub(crate) fn encode(&self, w: &mut NlaWriter) {
        fn masked(
            w: &mut NlaWriter,
            k: u16,
            m: u16,
            v: &Option<(impl AsRef<[u8]>, impl AsRef<[u8]>)>,
        ) {
            if let Some((v, mask)) = v {
                w.put(k, v.as_ref());
                w.put(m, mask.as_ref());
            }
        }
        fn v4(v: &Option<(Ipv4Addr, Ipv4Addr)>) -> Option<([u8; 4], [u8; 4])> {
            v.map(|(a, m)| (a.octets(), m.octets()))
        }
        fn v6(v: &Option<(Ipv6Addr, Ipv6Addr)>) -> Option<([u8; 16], [u8; 16])> {
            v.map(|(a, m)| (a.octets(), m.octets()))
        }
        fn be16(v: &Option<(u16, u16)>) -> Option<([u8; 2], [u8; 2])> {
            v.map(|(a, m)| (a.to_be_bytes(), m.to_be_bytes()))
        }
        fn u8m(v: &Option<(u8, u8)>) -> Option<([u8; 1], [u8; 1])> {
            v.map(|(a, m)| ([a], [m]))
        }
        if let Some(t) = self.eth_type {
            w.be16(TCA_FLOWER_KEY_ETH_TYPE, t);
        }
        masked(
            w,
            TCA_FLOWER_KEY_ETH_DST,
            TCA_FLOWER_KEY_ETH_DST_MASK,
            &self.eth_dst,
        );
        masked(
            w,
            TCA_FLOWER_KEY_ETH_SRC,
            TCA_FLOWER_KEY_ETH_SRC_MASK,
            &self.eth_src,
        );
        if let Some(v) = self.vlan_id {
            w.u16(TCA_FLOWER_KEY_VLAN_ID, v);
        }
        if let Some(v) = self.vlan_prio {
            w.u8(TCA_FLOWER_KEY_VLAN_PRIO, v);
        }
        if let Some(v) = self.vlan_eth_type {
            w.be16(TCA_FLOWER_KEY_VLAN_ETH_TYPE, v);
        }
        if let Some(p) = self.ip_proto {
            w.u8(TCA_FLOWER_KEY_IP_PROTO, p);
        }
        masked(
            w,
            TCA_FLOWER_KEY_IP_TOS,
            TCA_FLOWER_KEY_IP_TOS_MASK,
            &u8m(&self.ip_tos),
        );
        masked(
            w,
            TCA_FLOWER_KEY_IP_TTL,
            TCA_FLOWER_KEY_IP_TTL_MASK,
            &u8m(&self.ip_ttl),
        );
        masked(
            w,
            TCA_FLOWER_KEY_IPV4_SRC,
            TCA_FLOWER_KEY_IPV4_SRC_MASK,
            &v4(&self.ipv4_src),
        );
        masked(
            w,
            TCA_FLOWER_KEY_IPV4_DST,
            TCA_FLOWER_KEY_IPV4_DST_MASK,
            &v4(&self.ipv4_dst),
        );
        masked(
            w,
            TCA_FLOWER_KEY_IPV6_SRC,
            TCA_FLOWER_KEY_IPV6_SRC_MASK,
            &v6(&self.ipv6_src),
        );
        masked(
            w,
            TCA_FLOWER_KEY_IPV6_DST,
            TCA_FLOWER_KEY_IPV6_DST_MASK,
            &v6(&self.ipv6_dst),
        );
        let (src, src_m, dst, dst_m) = match self.ip_proto {
            Some(17) => (
                TCA_FLOWER_KEY_UDP_SRC,
                TCA_FLOWER_KEY_UDP_SRC_MASK,
                TCA_FLOWER_KEY_UDP_DST,
                TCA_FLOWER_KEY_UDP_DST_MASK,
            ),
            Some(132) => (
                TCA_FLOWER_KEY_SCTP_SRC,
                TCA_FLOWER_KEY_SCTP_SRC_MASK,
                TCA_FLOWER_KEY_SCTP_DST,
                TCA_FLOWER_KEY_SCTP_DST_MASK,
            ),
            _ => (
                TCA_FLOWER_KEY_TCP_SRC,
                TCA_FLOWER_KEY_TCP_SRC_MASK,
                TCA_FLOWER_KEY_TCP_DST,
                TCA_FLOWER_KEY_TCP_DST_MASK,
            ),
        };
        masked(w, src, src_m, &be16(&self.l4_src));
        masked(w, dst, dst_m, &be16(&self.l4_dst));
        masked(
            w,
            TCA_FLOWER_KEY_TCP_FLAGS,
            TCA_FLOWER_KEY_TCP_FLAGS_MASK,
            &be16(&self.tcp_flags),
        );
        let (t, tm, c, cm) = if self.l3_type() == Some(0x86dd) {
            (
                TCA_FLOWER_KEY_ICMPV6_TYPE,
                TCA_FLOWER_KEY_ICMPV6_TYPE_MASK,
                TCA_FLOWER_KEY_ICMPV6_CODE,
                TCA_FLOWER_KEY_ICMPV6_CODE_MASK,
            )
        } else {
            (
                TCA_FLOWER_KEY_ICMPV4_TYPE,
                TCA_FLOWER_KEY_ICMPV4_TYPE_MASK,
                TCA_FLOWER_KEY_ICMPV4_CODE,
                TCA_FLOWER_KEY_ICMPV4_CODE_MASK,
            )
        };
        masked(w, t, tm, &u8m(&self.icmp_type));
        masked(w, c, cm, &u8m(&self.icmp_code));
        masked(
            w,
            TCA_FLOWER_KEY_ARP_OP,
            TCA_FLOWER_KEY_ARP_OP_MASK,
            &u8m(&self.arp_op),
        );
        masked(
            w,
            TCA_FLOWER_KEY_ARP_SIP,
            TCA_FLOWER_KEY_ARP_SIP_MASK,
            &v4(&self.arp_sip),
        );
        masked(
            w,
            TCA_FLOWER_KEY_ARP_TIP,
            TCA_FLOWER_KEY_ARP_TIP_MASK,
            &v4(&self.arp_tip),
        );
        masked(
            w,
            TCA_FLOWER_KEY_ARP_SHA,
            TCA_FLOWER_KEY_ARP_SHA_MASK,
            &self.arp_sha,
        );
        masked(
            w,
            TCA_FLOWER_KEY_ARP_THA,
            TCA_FLOWER_KEY_ARP_THA_MASK,
            &self.arp_tha,
        );
        if let Some(id) = self.enc_key_id {
            w.be32(TCA_FLOWER_KEY_ENC_KEY_ID, id);
        }
        masked(
            w,
            TCA_FLOWER_KEY_ENC_IPV4_SRC,
            TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK,
            &v4(&self.enc_ipv4_src),
        );
        masked(
            w,
            TCA_FLOWER_KEY_ENC_IPV4_DST,
            TCA_FLOWER_KEY_ENC_IPV4_DST_MASK,
            &v4(&self.enc_ipv4_dst),
        );
    }

    /// Read the keys out of a flower TCA_OPTIONS payload; attributes that are not keys
    /// (flags, actions, hardware counts) and keys this crate does not write are skipped.
    pub(crate) fn parse(options: &[u8]) -> Result<FlowerKey, NlaError> {
        use std::collections::HashMap;
        let mut a: HashMap<u16, &[u8]> = HashMap::new();
        for r in attrs(options) {
            let (t, p) = r?;
            a.insert(t, p);
        }
        let get = |t: u16| a.get(&t).copied();
        fn pair<T>(
            v: Option<&[u8]>,
            m: Option<&[u8]>,
            f: fn(&[u8]) -> Result<T, NlaError>,
        ) -> Result<Option<(T, T)>, NlaError> {
            match (v, m) {
                (Some(v), Some(m)) => Ok(Some((f(v)?, f(m)?))),
                (Some(v), None) => {
                    // A key without its mask attribute: flower takes it as exact.
                    let val = f(v)?;
                    let full = f(&vec![0xff; v.len()])?;
                    Ok(Some((val, full)))
                }
                _ => Ok(None),
            }
        }
        let v4 = |p: &[u8]| nla::get_arr::<4>(p).map(Ipv4Addr::from);
        let v6 = |p: &[u8]| nla::get_arr::<16>(p).map(Ipv6Addr::from);
        let mac = |p: &[u8]| nla::get_arr::<6>(p);
        let mut k = FlowerKey {
            eth_type: get(TCA_FLOWER_KEY_ETH_TYPE)
                .map(nla::get_be16)
                .transpose()?,
            eth_dst: pair(
                get(TCA_FLOWER_KEY_ETH_DST),
                get(TCA_FLOWER_KEY_ETH_DST_MASK),
                mac,
            )?,
            eth_src: pair(
                get(TCA_FLOWER_KEY_ETH_SRC),
                get(TCA_FLOWER_KEY_ETH_SRC_MASK),
                mac,
            )?,
            vlan_id: get(TCA_FLOWER_KEY_VLAN_ID).map(nla::get_u16).transpose()?,
            vlan_prio: get(TCA_FLOWER_KEY_VLAN_PRIO).map(nla::get_u8).transpose()?,
            vlan_eth_type: get(TCA_FLOWER_KEY_VLAN_ETH_TYPE)
                .map(nla::get_be16)
                .transpose()?,
            ip_proto: get(TCA_FLOWER_KEY_IP_PROTO).map(nla::get_u8).transpose()?,
            ip_tos: pair(
                get(TCA_FLOWER_KEY_IP_TOS),
                get(TCA_FLOWER_KEY_IP_TOS_MASK),
                nla::get_u8,
            )?,
            ip_ttl: pair(
                get(TCA_FLOWER_KEY_IP_TTL),
                get(TCA_FLOWER_KEY_IP_TTL_MASK),
                nla::get_u8,
            )?,
            ipv4_src: pair(
                get(TCA_FLOWER_KEY_IPV4_SRC),
                get(TCA_FLOWER_KEY_IPV4_SRC_MASK),
                v4,
            )?,
            ipv4_dst: pair(
                get(TCA_FLOWER_KEY_IPV4_DST),
                get(TCA_FLOWER_KEY_IPV4_DST_MASK),
                v4,
            )?,
            ipv6_src: pair(
                get(TCA_FLOWER_KEY_IPV6_SRC),
                get(TCA_FLOWER_KEY_IPV6_SRC_MASK),
                v6,
            )?,
            ipv6_dst: pair(
                get(TCA_FLOWER_KEY_IPV6_DST),
                get(TCA_FLOWER_KEY_IPV6_DST_MASK),
                v6,
            )?,
            tcp_flags: pair(
                get(TCA_FLOWER_KEY_TCP_FLAGS),
                get(TCA_FLOWER_KEY_TCP_FLAGS_MASK),
                nla::get_be16,
            )?,
            arp_op: pair(
                get(TCA_FLOWER_KEY_ARP_OP),
                get(TCA_FLOWER_KEY_ARP_OP_MASK),
                nla::get_u8,
            )?,
            arp_sip: pair(
                get(TCA_FLOWER_KEY_ARP_SIP),
                get(TCA_FLOWER_KEY_ARP_SIP_MASK),
                v4,
            )?,
            arp_tip: pair(
                get(TCA_FLOWER_KEY_ARP_TIP),
                get(TCA_FLOWER_KEY_ARP_TIP_MASK),
                v4,
            )?,
            arp_sha: pair(
                get(TCA_FLOWER_KEY_ARP_SHA),
                get(TCA_FLOWER_KEY_ARP_SHA_MASK),
                mac,
            )?,
            arp_tha: pair(
                get(TCA_FLOWER_KEY_ARP_THA),
                get(TCA_FLOWER_KEY_ARP_THA_MASK),
                mac,
            )?,
            enc_key_id: get(TCA_FLOWER_KEY_ENC_KEY_ID)
                .map(nla::get_be32)
                .transpose()?,
            enc_ipv4_src: pair(
                get(TCA_FLOWER_KEY_ENC_IPV4_SRC),
                get(TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK),
                v4,
            )?,
            enc_ipv4_dst: pair(
                get(TCA_FLOWER_KEY_ENC_IPV4_DST),
                get(TCA_FLOWER_KEY_ENC_IPV4_DST_MASK),
                v4,
            )?,
            ..FlowerKey::default()
        };
        for (s, sm, d, dm) in [
            (
                TCA_FLOWER_KEY_TCP_SRC,
                TCA_FLOWER_KEY_TCP_SRC_MASK,
                TCA_FLOWER_KEY_TCP_DST,
                TCA_FLOWER_KEY_TCP_DST_MASK,
            ),
            (
                TCA_FLOWER_KEY_UDP_SRC,
                TCA_FLOWER_KEY_UDP_SRC_MASK,
                TCA_FLOWER_KEY_UDP_DST,
                TCA_FLOWER_KEY_UDP_DST_MASK,
            ),
            (
                TCA_FLOWER_KEY_SCTP_SRC,
                TCA_FLOWER_KEY_SCTP_SRC_MASK,
                TCA_FLOWER_KEY_SCTP_DST,
                TCA_FLOWER_KEY_SCTP_DST_MASK,
            ),
        ] {
            k.l4_src = k.l4_src.or(pair(get(s), get(sm), nla::get_be16)?);
            k.l4_dst = k.l4_dst.or(pair(get(d), get(dm), nla::get_be16)?);
        }
        for (t, tm, c, cm) in [
            (
                TCA_FLOWER_KEY_ICMPV4_TYPE,
                TCA_FLOWER_KEY_ICMPV4_TYPE_MASK,
                TCA_FLOWER_KEY_ICMPV4_CODE,
                TCA_FLOWER_KEY_ICMPV4_CODE_MASK,
            ),
            (
                TCA_FLOWER_KEY_ICMPV6_TYPE,
                TCA_FLOWER_KEY_ICMPV6_TYPE_MASK,
                TCA_FLOWER_KEY_ICMPV6_CODE,
                TCA_FLOWER_KEY_ICMPV6_CODE_MASK,
            ),
        ] {
            k.icmp_type = k.icmp_type.or(pair(get(t), get(tm), nla::get_u8)?);
            k.icmp_code = k.icmp_code.or(pair(get(c), get(cm), nla::get_u8)?);
        }
        Ok(k)
    }
}

impl TcAction {
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
            TcAction::Gact(v) => w.put(TCA_GACT_PARMS, &tc_gen(index, v.to_raw())),
            TcAction::Mirred { kind, ifindex } => {
                let (act, eaction) = match kind {
                    MirredKind::EgressRedirect => (TC_ACT_STOLEN, TCA_EGRESS_REDIR),
                    MirredKind::EgressMirror => (TC_ACT_PIPE, TCA_EGRESS_MIRROR),
                    MirredKind::IngressRedirect => (TC_ACT_STOLEN, TCA_INGRESS_REDIR),
                };
                w.put_parts(
                    TCA_MIRRED_PARMS,
                    &[
                        &tc_gen(index, act),
                        &eaction.to_ne_bytes(),
                        &ifindex.to_ne_bytes(),
                    ],
                );
            }
            TcAction::VlanPop | TcAction::VlanPush { .. } | TcAction::VlanModify { .. } => {
                let v_action = match self {
                    TcAction::VlanPop => TCA_VLAN_ACT_POP,
                    TcAction::VlanPush { .. } => TCA_VLAN_ACT_PUSH,
                    _ => TCA_VLAN_ACT_MODIFY,
                };
                w.put_parts(
                    TCA_VLAN_PARMS,
                    &[&tc_gen(index, TC_ACT_PIPE), &v_action.to_ne_bytes()],
                );
                match self {
                    TcAction::VlanPush { vid, pcp, tpid } => {
                        w.u16(TCA_VLAN_PUSH_VLAN_ID, *vid);
                        w.be16(TCA_VLAN_PUSH_VLAN_PROTOCOL, *tpid);
                        if let Some(pcp) = pcp {
                            w.u8(TCA_VLAN_PUSH_VLAN_PRIORITY, *pcp);
                        }
                    }
                    TcAction::VlanModify { vid, pcp } => {
                        w.u16(TCA_VLAN_PUSH_VLAN_ID, *vid);
                        if let Some(pcp) = pcp {
                            w.u8(TCA_VLAN_PUSH_VLAN_PRIORITY, *pcp);
                        }
                    }
                    _ => {}
                }
            }
            TcAction::Pedit(keys) => {
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
            TcAction::Csum(flags) => {
                w.put_parts(
                    TCA_CSUM_PARMS,
                    &[&tc_gen(index, TC_ACT_PIPE), &flags.to_ne_bytes()],
                );
            }
            TcAction::Police(rate) | TcAction::PoliceJump { rate, .. } => {
                let exceed = match self {
                    TcAction::PoliceJump { to, .. } => TC_ACT_JUMP | (*to & 0x1ff) as i32,
                    _ => TC_ACT_SHOT,
                };
                // struct tc_police: index, action, limit, burst, mtu, rate, peakrate,
                // refcnt, bindcnt, capab; struct tc_ratespec: cell_log, linklayer,
                // overhead, cell_align, mpu, rate.
                let mut p = Vec::with_capacity(56);
                p.extend_from_slice(&index.to_ne_bytes());
                p.extend_from_slice(&exceed.to_ne_bytes());
                p.extend_from_slice(&0u32.to_ne_bytes());
                let (burst_ticks, byte_rate) = match rate {
                    PoliceRate::Bytes { rate, burst } => (xmit_ticks(*burst, *rate), *rate),
                    PoliceRate::Packets { .. } => (0, 0),
                };
                p.extend_from_slice(&(burst_ticks.min(u32::MAX as u64) as u32).to_ne_bytes());
                // mtu: without one the kernel derives 255 << cell_log and would call
                // every larger packet (a GRO aggregate) exceeding.
                p.extend_from_slice(&u32::MAX.to_ne_bytes());
                let mut spec = [0u8; 12];
                if byte_rate > 0 {
                    spec[0] = 1; // cell_log: qdisc_get_rtab wants one, act_police ignores it
                    spec[1] = TC_LINKLAYER_ETHERNET;
                    spec[8..12]
                        .copy_from_slice(&(byte_rate.min(u32::MAX as u64) as u32).to_ne_bytes());
                }
                p.extend_from_slice(&spec);
                p.extend_from_slice(&[0u8; 12]);
                p.extend_from_slice(&[0u8; 12]);
                w.put(TCA_POLICE_TBF, &p);
                w.u32(TCA_POLICE_RESULT, TC_ACT_PIPE as u32);
                match rate {
                    PoliceRate::Bytes { rate, .. } => {
                        w.put(TCA_POLICE_RATE, &[0u8; 1024]);
                        if *rate > u32::MAX as u64 {
                            w.u64(TCA_POLICE_RATE64, *rate);
                        }
                    }
                    PoliceRate::Packets { rate, burst } => {
                        w.u64(TCA_POLICE_PKTRATE64, *rate);
                        w.u64(TCA_POLICE_PKTBURST64, xmit_ticks(*burst, *rate));
                    }
                }
            }
            TcAction::Sample { group, trunc } => {
                w.put(TCA_SAMPLE_PARMS, &tc_gen(index, TC_ACT_PIPE));
                w.u32(TCA_SAMPLE_RATE, 1);
                if let Some(t) = trunc {
                    w.u32(TCA_SAMPLE_TRUNC_SIZE, *t);
                }
                w.u32(TCA_SAMPLE_PSAMPLE_GROUP, *group);
            }
            TcAction::TunnelSet {
                key_id,
                src,
                dst,
                dst_port,
            } => {
                w.put_parts(
                    TCA_TUNNEL_KEY_PARMS,
                    &[
                        &tc_gen(index, TC_ACT_PIPE),
                        &TCA_TUNNEL_KEY_ACT_SET.to_ne_bytes(),
                    ],
                );
                w.put(TCA_TUNNEL_KEY_ENC_IPV4_SRC, &src.octets());
                w.put(TCA_TUNNEL_KEY_ENC_IPV4_DST, &dst.octets());
                if let Some(id) = key_id {
                    w.be32(TCA_TUNNEL_KEY_ENC_KEY_ID, *id);
                }
                if let Some(port) = dst_port {
                    w.be16(TCA_TUNNEL_KEY_ENC_DST_PORT, *port);
                }
            }
            TcAction::TunnelRelease => {
                w.put_parts(
                    TCA_TUNNEL_KEY_PARMS,
                    &[
                        &tc_gen(index, TC_ACT_PIPE),
                        &TCA_TUNNEL_KEY_ACT_RELEASE.to_ne_bytes(),
                    ],
                );
            }
            TcAction::SkbeditMark(mark) => {
                w.put(TCA_SKBEDIT_PARMS, &tc_gen(index, TC_ACT_PIPE));
                w.u32(TCA_SKBEDIT_MARK, *mark);
            }
            TcAction::Other { .. } => {}
        }
        w.end(o);
        if let Some(c) = cookie {
            w.put(TCA_ACT_COOKIE, c);
        }
        w.end(n);
    }
}

/// One parsed action entry of a dump.
struct ParsedAction {
    action: TcAction,
    stats: ActionStats,
}

/// What an action entry of a dump, terse or full, says besides its parameters.
#[derive(Debug, Default, Clone, Copy)]
struct ActionStats {
    cookie: Option<[u8; 16]>,
    packets: u64,
    bytes: u64,
    last_used: Option<Duration>,
}

/// An action entry's kind (without its NUL), options, and [`ActionStats`].
struct ActionEntry<'a> {
    kind: &'a [u8],
    options: &'a [u8],
    stats: ActionStats,
}

/// Kind, options, cookie, counters and last use of one action entry, terse or full; the
/// last use comes from the options (absent in a terse entry).
fn action_entry(entry: &[u8]) -> Result<ActionEntry<'_>, NlaError> {
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
pub fn parse_listed(payload: &[u8]) -> Result<Option<Listed>, NlaError> {
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

fn parse_action(entry: &[u8]) -> Result<ParsedAction, NlaError> {
    let ActionEntry {
        kind,
        options,
        stats,
    } = action_entry(entry)?;
    let kind: String = String::from_utf8_lossy(kind).into();
    let mut o = std::collections::HashMap::new();
    for r in attrs(options) {
        let (t, p) = r?;
        o.insert(t, p);
    }
    let get = |t: u16| o.get(&t).copied();
    let parms_action = |p: &[u8]| nla::get_i32(p.get(8..).unwrap_or(&[]));
    let action = match kind.as_str() {
        "gact" => {
            let p = get(TCA_GACT_PARMS).ok_or(NlaError("gact without parameters"))?;
            match Verdict::from_raw(parms_action(p)?) {
                Some(v) => TcAction::Gact(v),
                None => TcAction::Other { kind },
            }
        }
        "mirred" => {
            let p = get(TCA_MIRRED_PARMS).ok_or(NlaError("mirred without parameters"))?;
            let eaction = nla::get_i32(p.get(20..).unwrap_or(&[]))?;
            let ifindex = nla::get_u32(p.get(24..).unwrap_or(&[]))?;
            let kind = match eaction {
                TCA_EGRESS_REDIR => MirredKind::EgressRedirect,
                TCA_EGRESS_MIRROR => MirredKind::EgressMirror,
                TCA_INGRESS_REDIR => MirredKind::IngressRedirect,
                _ => return Ok(other(kind, stats)),
            };
            TcAction::Mirred { kind, ifindex }
        }
        "vlan" => {
            let p = get(TCA_VLAN_PARMS).ok_or(NlaError("vlan without parameters"))?;
            let v_action = nla::get_i32(p.get(20..).unwrap_or(&[]))?;
            let vid = get(TCA_VLAN_PUSH_VLAN_ID).map(nla::get_u16).transpose()?;
            let pcp = get(TCA_VLAN_PUSH_VLAN_PRIORITY)
                .map(nla::get_u8)
                .transpose()?;
            let tpid = get(TCA_VLAN_PUSH_VLAN_PROTOCOL)
                .map(nla::get_be16)
                .transpose()?
                .unwrap_or(0x8100);
            match v_action {
                TCA_VLAN_ACT_POP => TcAction::VlanPop,
                TCA_VLAN_ACT_PUSH => TcAction::VlanPush {
                    vid: vid.unwrap_or(0),
                    pcp,
                    tpid,
                },
                TCA_VLAN_ACT_MODIFY => TcAction::VlanModify {
                    vid: vid.unwrap_or(0),
                    pcp,
                },
                _ => TcAction::Other { kind },
            }
        }
        "pedit" => {
            let p = get(TCA_PEDIT_PARMS_EX)
                .or(get(TCA_PEDIT_PARMS))
                .ok_or(NlaError("pedit without parameters"))?;
            let nkeys = nla::get_u8(p.get(20..).unwrap_or(&[]))? as usize;
            let mut ex = Vec::new();
            if let Some(kx) = get(TCA_PEDIT_KEYS_EX) {
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
                    return Ok(other(kind, stats));
                };
                keys.push(PeditKey {
                    header,
                    add: c == 1,
                    offset: nla::get_u32(&k[8..12])?,
                    keep: nla::get_arr(&k[0..4])?,
                    val: nla::get_arr(&k[4..8])?,
                });
            }
            TcAction::Pedit(keys)
        }
        "csum" => {
            let p = get(TCA_CSUM_PARMS).ok_or(NlaError("csum without parameters"))?;
            TcAction::Csum(nla::get_u32(p.get(20..).unwrap_or(&[]))?)
        }
        "police" => {
            let p = get(TCA_POLICE_TBF).ok_or(NlaError("police without parameters"))?;
            let burst = nla::get_u32(p.get(12..).unwrap_or(&[]))? as u64;
            let rate32 = nla::get_u32(p.get(28..).unwrap_or(&[]))? as u64;
            let rate64 = get(TCA_POLICE_RATE64).map(nla::get_u64).transpose()?;
            let pps = get(TCA_POLICE_PKTRATE64).map(nla::get_u64).transpose()?;
            let ppsburst = get(TCA_POLICE_PKTBURST64).map(nla::get_u64).transpose()?;
            let exceed = nla::get_i32(p.get(4..).unwrap_or(&[]))?;
            let rate = match pps {
                Some(rate) if rate > 0 => TcAction::Police(PoliceRate::Packets {
                    rate,
                    burst: ticks_to_size(ppsburst.unwrap_or(0), rate),
                }),
                _ => {
                    let rate = rate64.unwrap_or(rate32);
                    TcAction::Police(PoliceRate::Bytes {
                        rate,
                        burst: ticks_to_size(burst, rate),
                    })
                }
            };
            match rate {
                TcAction::Police(rate) if exceed & TC_ACT_EXT_OPCODE_MAX == TC_ACT_JUMP => {
                    TcAction::PoliceJump {
                        rate,
                        to: (exceed & 0x1ff) as u32,
                    }
                }
                a => a,
            }
        }
        "sample" => {
            let group = get(TCA_SAMPLE_PSAMPLE_GROUP)
                .map(nla::get_u32)
                .transpose()?
                .ok_or(NlaError("sample without a psample group"))?;
            let trunc = get(TCA_SAMPLE_TRUNC_SIZE).map(nla::get_u32).transpose()?;
            let rate = get(TCA_SAMPLE_RATE).map(nla::get_u32).transpose()?;
            if rate != Some(1) {
                return Ok(other(kind, stats));
            }
            TcAction::Sample { group, trunc }
        }
        "tunnel_key" => {
            let p = get(TCA_TUNNEL_KEY_PARMS).ok_or(NlaError("tunnel_key without parameters"))?;
            match nla::get_i32(p.get(20..).unwrap_or(&[]))? {
                TCA_TUNNEL_KEY_ACT_RELEASE => TcAction::TunnelRelease,
                TCA_TUNNEL_KEY_ACT_SET => {
                    let v4 = |t| {
                        get(t)
                            .map(nla::get_arr::<4>)
                            .transpose()
                            .map(|a| a.map(Ipv4Addr::from).unwrap_or(Ipv4Addr::UNSPECIFIED))
                    };
                    TcAction::TunnelSet {
                        key_id: get(TCA_TUNNEL_KEY_ENC_KEY_ID)
                            .map(nla::get_be32)
                            .transpose()?,
                        src: v4(TCA_TUNNEL_KEY_ENC_IPV4_SRC)?,
                        dst: v4(TCA_TUNNEL_KEY_ENC_IPV4_DST)?,
                        dst_port: get(TCA_TUNNEL_KEY_ENC_DST_PORT)
                            .map(nla::get_be16)
                            .transpose()?,
                    }
                }
                _ => TcAction::Other { kind },
            }
        }
        "skbedit" => match get(TCA_SKBEDIT_MARK) {
            Some(m) => TcAction::SkbeditMark(nla::get_u32(m)?),
            None => TcAction::Other { kind },
        },
        _ => TcAction::Other { kind },
    };
    Ok(ParsedAction { action, stats })
}

fn other(kind: String, stats: ActionStats) -> ParsedAction {
    ParsedAction {
        action: TcAction::Other { kind },
        stats,
    }
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
    pub fn encode_options(&self, w: &mut NlaWriter) {
        self.key.encode(w);
        w.u32(TCA_FLOWER_FLAGS, TCA_CLS_FLAGS_SKIP_HW);
        let a = w.begin(TCA_FLOWER_ACT);
        for (i, act) in self.actions.iter().enumerate() {
            act.encode(i as u16 + 1, (i == 0).then_some(&self.cookie), w);
        }
        w.end(a);
    }

    /// Append an RTM_NEWTFILTER request (create, fail if the handle exists) to `buf`.
    pub fn encode_new(&self, seq: u32, buf: &mut Vec<u8>) {
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
    pub fn encode_del(&self, seq: u32, buf: &mut Vec<u8>) {
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
pub fn parse_filter(payload: &[u8]) -> Result<Option<Installed>, NlaError> {
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

    fn sample_filter(actions: Vec<TcAction>, key: FlowerKey) -> Filter {
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
    fn round_trip(f: &Filter) -> Installed {
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
    fn every_key_round_trips() {
        let key = FlowerKey {
            eth_type: Some(0x8100),
            eth_dst: Some(([2, 0, 0, 0, 0, 1], [0xff; 6])),
            eth_src: Some(([2, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0, 0, 0])),
            vlan_id: Some(100),
            vlan_prio: Some(5),
            vlan_eth_type: Some(0x0800),
            ip_proto: Some(17),
            ip_tos: Some((0xb8, 0xfc)),
            ip_ttl: Some((64, 0xff)),
            ipv4_src: Some(([10, 0, 0, 0].into(), [255, 0, 0, 0].into())),
            ipv4_dst: Some(([10, 1, 2, 3].into(), [255; 4].into())),
            l4_src: Some((0x1000, 0xf000)),
            l4_dst: Some((53, 0xffff)),
            enc_key_id: Some(42),
            enc_ipv4_src: Some(([192, 0, 2, 1].into(), [255; 4].into())),
            enc_ipv4_dst: Some(([192, 0, 2, 2].into(), [255; 4].into())),
            ..FlowerKey::default()
        };
        let f = sample_filter(vec![TcAction::Gact(Verdict::Ok)], key.clone());
        assert_eq!(round_trip(&f).key, key);

        let v6 = FlowerKey {
            eth_type: Some(0x86dd),
            ip_proto: Some(58),
            ipv6_src: Some(("2001:db8::1".parse().unwrap(), "ffff::".parse().unwrap())),
            ipv6_dst: Some((
                "2001:db8::2".parse().unwrap(),
                "ffff:ffff::".parse().unwrap(),
            )),
            icmp_type: Some((135, 0xff)),
            icmp_code: Some((0, 0xff)),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], v6.clone())).key, v6);

        let arp = FlowerKey {
            eth_type: Some(0x0806),
            arp_op: Some((1, 0xff)),
            arp_sip: Some(([10, 0, 0, 1].into(), [255; 4].into())),
            arp_tip: Some(([10, 0, 0, 2].into(), [255, 255, 255, 0].into())),
            arp_sha: Some(([2, 0, 0, 0, 0, 1], [0xff; 6])),
            arp_tha: Some(([0; 6], [0xff; 6])),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], arp.clone())).key, arp);

        let tcp = FlowerKey {
            eth_type: Some(0x0800),
            ip_proto: Some(6),
            l4_dst: Some((80, 0xffff)),
            tcp_flags: Some((0x02, 0x12)),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], tcp.clone())).key, tcp);
        let sctp = FlowerKey {
            eth_type: Some(0x0800),
            ip_proto: Some(132),
            l4_src: Some((9, 0xffff)),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], sctp.clone())).key, sctp);
    }

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
            TcAction::VlanModify { vid: 11, pcp: None },
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
