//! The pure translation of one OpenFlow 1.3 flow into flower filters. No kernel, no I/O.
//!
//! What maps, and how:
//! - match: in_port picks the device whose ingress carries the filter (without in_port the
//!   flow gets one filter per bridge port). The other fields become flower keys after the
//!   OpenFlow prerequisites are checked (OFPBMC_BAD_PREREQ). Open vSwitch's extension
//!   fields that arrive opaque are understood too: masked L4 ports, ONF `tcp_flags`,
//!   NXM `nw_ttl`, `tun_src`, `tun_dst`.
//! - instructions run in the spec's order: meter (police, first), apply_actions (in list
//!   order), write_actions (the action set, in the set's order, at the end), goto_table
//!   (`goto chain`). The action set cannot travel between TC chains, so write_actions
//!   together with goto_table is refused, and so is write_metadata.
//! - outputs: every output but the last is an egress mirror, the last a redirect. NORMAL
//!   ends the filter with gact ok: the packet continues into the Linux bridge. An action
//!   list without output, NORMAL or goto drops (gact shot), as OpenFlow does.
//! - set-field: act_vlan for the VLAN fields, pedit (then csum for L3/L4 checksums) for
//!   Ethernet, IP and L4 fields, tunnel_key for the tunnel fields.
//!
//! - VLAN (the `vlan` module): a match without vlan_vid matches tagged and untagged
//!   packets, and eth_type and the L3/L4 fields are those of the header after the tag, as
//!   OpenFlow 1.3 says (the kernel test
//!   `ip_match_without_vlan_fields_matches_tagged_packets_by_their_inner_header` shows it
//!   with packets); vlan_vid=NONE is flower's num_of_vlans 0, PRESENT/PRESENT any tag, an
//!   exact VID the VLAN id key. A tag is matched with vlan_vid only; eth_type 0x8100 or
//!   0x88a8 is refused. push_vlan without set-field copies the outer tag (spec 7.2.6.5).
//! - output to CONTROLLER copies the frame with its VLAN tag ([`controller_actions`]).
//!
//! - connection tracking (`ct`, `ct_clear`, `ct_state` and friends): `ct.rs`.
//!
//! Everything else is refused with the OpenFlow error the spec prescribes and a sentence
//! that says what and why; nothing is approximated, with one documented exception:
//! dec_nw_ttl becomes pedit add 0xff, and TC cannot drop a packet whose TTL expires.

mod ct;

use std::net::Ipv4Addr;

use ofproto::v13::action::Action;
use ofproto::v13::errors::{bad_action, bad_instruction, bad_match, flow_mod_failed};
use ofproto::v13::nx_ct::NxCtAction;
use ofproto::v13::oxm::{self, Oxm};
use ofproto::v13::{Instruction, Match};
use ofproto::OfpErrorCode;

use crate::cookie;
use crate::filter::{
    csum, Filter, FlowerKey, Mac, MirredKind, PeditHeader, PeditKey, PoliceRate, TcAction, Verdict,
    MAX_ACTIONS,
};
use crate::flow::{DecodedFlow, Refusal};
use crate::meter::MeterTable;
use crate::ports::{PortMap, OFPP_LOCAL};
use crate::prio;

mod mpls;
mod setfield;
mod vlan;

fn refuse<T>(error: OfpErrorCode, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        error,
        reason: reason.into(),
    })
}

/// Reserved OpenFlow ports (`enum ofp_port_no`).
pub use ofproto::v13::port;

const ETH_IP: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;

/// The ONF experimenter id under which Open vSwitch sends `tcp_flags` in OpenFlow 1.3.
const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;
const ONFOXM_TCP_FLAGS: u8 = 42;
/// NXM_NX_IP_TTL, NXM_NX_TUN_IPV4_SRC/DST, NXM_NX_TCP_FLAGS (class NXM_1).
const NXM_IP_TTL: u8 = 29;
const NXM_TUN_IPV4_SRC: u8 = 31;
const NXM_TUN_IPV4_DST: u8 = 32;
const NXM_TCP_FLAGS: u8 = 34;

/// What the match says about the packet, for the prerequisites of set-field actions.
#[derive(Debug, Clone, Default)]
struct MatchCtx {
    in_port: Option<u32>,
    eth_type: Option<u16>,
    ip_proto: Option<u8>,
    /// What the match says of the outer VLAN tag.
    tag: vlan::TagKnown,
    /// The matched ICMPv4/ICMPv6 type.
    icmp_type: Option<u8>,
    /// What the match says of the outer MPLS entry.
    mpls: mpls::MplsMatch,
}

fn field_name(o: &Oxm) -> String {
    use oxm::field::*;
    let n = match o.basic_field() {
        Some(IN_PHY_PORT) => "in_phy_port",
        Some(METADATA) => "metadata",
        Some(IPV6_FLABEL) => "ipv6_flabel",
        Some(IPV6_ND_TARGET) => "ipv6_nd_target",
        Some(IPV6_ND_SLL) => "ipv6_nd_sll",
        Some(IPV6_ND_TLL) => "ipv6_nd_tll",
        Some(MPLS_LABEL) => "mpls_label",
        Some(MPLS_TC) => "mpls_tc",
        Some(MPLS_BOS) => "mpls_bos",
        Some(PBB_ISID) => "pbb_isid",
        Some(IPV6_EXTHDR) => "ipv6_exthdr",
        Some(PBB_UCA) => "pbb_uca",
        Some(f) => return format!("OXM field {f}"),
        None => match o {
            Oxm::Opaque(op) => return format!("OXM class {:#06x} field {}", op.class, op.field),
            _ => "field",
        },
    };
    n.to_string()
}

fn masked_mac(m: &oxm::Masked<oxm::MacAddr>) -> (Mac, Mac) {
    let mask = m.mask.map(|x| x.0).unwrap_or([0xff; 6]);
    let mut v = m.value.0;
    for (b, k) in v.iter_mut().zip(mask) {
        *b &= k;
    }
    (v, mask)
}

fn masked_v4(m: &oxm::Masked<Ipv4Addr>) -> (Ipv4Addr, Ipv4Addr) {
    let mask = m.mask.unwrap_or(Ipv4Addr::BROADCAST);
    (Ipv4Addr::from(u32::from(m.value) & u32::from(mask)), mask)
}

fn masked_v6(m: &oxm::Masked<std::net::Ipv6Addr>) -> (std::net::Ipv6Addr, std::net::Ipv6Addr) {
    let mask = m.mask.unwrap_or(std::net::Ipv6Addr::from(u128::MAX));
    (
        std::net::Ipv6Addr::from(u128::from(m.value) & u128::from(mask)),
        mask,
    )
}

/// An opaque 4-byte (value[, mask]) IPv4 payload of an NXM field.
fn opaque_v4(p: &[u8], has_mask: bool) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let v = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(..4)?).ok()?);
    let m = if has_mask {
        Ipv4Addr::from(<[u8; 4]>::try_from(p.get(4..8)?).ok()?)
    } else {
        Ipv4Addr::BROADCAST
    };
    Some((Ipv4Addr::from(u32::from(v) & u32::from(m)), m))
}

/// Whether [`translate`] takes this opaque OXM as a flower key: a masked TCP/UDP/SCTP port
/// (the basic class, in a form OpenFlow 1.3 does not define but Open vSwitch sends), ONF or
/// NXM `tcp_flags`, NXM `nw_ttl`, `tun_src`, `tun_dst`. A generic check of the match that
/// refuses opaque fields must let exactly these through, or the translation never sees them.
pub fn opaque_match_field_translates(o: &oxm::OxmOpaque) -> bool {
    let (p, m) = (&o.payload[..], o.has_mask);
    let nxm = o.class == oxm::OXM_CLASS_NXM_1;
    (o.class == oxm::OXM_CLASS_OPENFLOW_BASIC
        && (oxm::field::TCP_SRC..=oxm::field::SCTP_DST).contains(&o.field)
        && m
        && p.len() == 4)
        || (o.class == oxm::OXM_CLASS_EXPERIMENTER
            && o.field == ONFOXM_TCP_FLAGS
            && p.len() == if m { 8 } else { 6 }
            && p[..4] == ONF_EXPERIMENTER.to_be_bytes())
        || (nxm && o.field == NXM_TCP_FLAGS && p.len() == if m { 4 } else { 2 })
        || (nxm && o.field == NXM_IP_TTL && !m && p.len() == 1)
        || (nxm
            && (o.field == NXM_TUN_IPV4_SRC || o.field == NXM_TUN_IPV4_DST)
            && p.len() == if m { 8 } else { 4 })
        || ct::match_field_translates(o)
}

fn compile_match(m: &Match, ports: &PortMap) -> Result<(FlowerKey, MatchCtx), Refusal> {
    let mut k = FlowerKey::default();
    let mut ctx = MatchCtx::default();
    let mut vlan: Option<(u16, u16)> = None; // (value, mask) of vlan_vid
    let (mut dscp, mut ecn) = (None::<u8>, None::<u8>);
    let (mut tcp, mut udp, mut sctp) = (false, false, false);
    let (mut icmp4, mut icmp6, mut arp, mut ipv4, mut ipv6, mut flags) =
        (false, false, false, false, false, false);
    let mut pcp: Option<u8> = None;
    for f in &m.fields {
        match f {
            Oxm::InPort(p) => {
                if *p == OFPP_LOCAL || ports.ifindex(*p).is_none() || *p > ofproto::v13::OFPP_MAX {
                    return refuse(
                        bad_match::BAD_VALUE,
                        format!("in_port {p} is not a bridge port of this switch"),
                    );
                }
                ctx.in_port = Some(*p);
            }
            Oxm::EthDst(v) => k.eth_dst = Some(masked_mac(v)),
            Oxm::EthSrc(v) => k.eth_src = Some(masked_mac(v)),
            Oxm::EthType(t) => ctx.eth_type = Some(*t),
            Oxm::VlanVid(v) => vlan = Some((v.value, v.mask.unwrap_or(0x1fff))),
            Oxm::VlanPcp(p) => pcp = Some(*p),
            Oxm::IpDscp(d) => dscp = Some(*d),
            Oxm::IpEcn(e) => ecn = Some(*e),
            Oxm::IpProto(p) => {
                k.ip_proto = Some(*p);
                ctx.ip_proto = Some(*p);
            }
            Oxm::Ipv4Src(v) => {
                k.ipv4_src = Some(masked_v4(v));
                ipv4 = true;
            }
            Oxm::Ipv4Dst(v) => {
                k.ipv4_dst = Some(masked_v4(v));
                ipv4 = true;
            }
            Oxm::Ipv6Src(v) => {
                k.ipv6_src = Some(masked_v6(v));
                ipv6 = true;
            }
            Oxm::Ipv6Dst(v) => {
                k.ipv6_dst = Some(masked_v6(v));
                ipv6 = true;
            }
            Oxm::TcpSrc(p) | Oxm::TcpDst(p) => {
                tcp = true;
                let v = Some((*p, 0xffff));
                if matches!(f, Oxm::TcpSrc(_)) {
                    k.l4_src = v
                } else {
                    k.l4_dst = v
                }
            }
            Oxm::UdpSrc(p) | Oxm::UdpDst(p) => {
                udp = true;
                let v = Some((*p, 0xffff));
                if matches!(f, Oxm::UdpSrc(_)) {
                    k.l4_src = v
                } else {
                    k.l4_dst = v
                }
            }
            Oxm::SctpSrc(p) | Oxm::SctpDst(p) => {
                sctp = true;
                let v = Some((*p, 0xffff));
                if matches!(f, Oxm::SctpSrc(_)) {
                    k.l4_src = v
                } else {
                    k.l4_dst = v
                }
            }
            Oxm::Icmpv4Type(t) => {
                k.icmp_type = Some((*t, 0xff));
                icmp4 = true;
            }
            Oxm::Icmpv4Code(c) => {
                k.icmp_code = Some((*c, 0xff));
                icmp4 = true;
            }
            Oxm::Icmpv6Type(t) => {
                k.icmp_type = Some((*t, 0xff));
                ctx.icmp_type = Some(*t);
                icmp6 = true;
            }
            Oxm::Icmpv6Code(c) => {
                k.icmp_code = Some((*c, 0xff));
                icmp6 = true;
            }
            Oxm::ArpOp(op) => {
                let Ok(op) = u8::try_from(*op) else {
                    return refuse(
                        bad_match::BAD_VALUE,
                        format!("arp_op {op} does not fit flower's 8-bit ARP opcode key"),
                    );
                };
                k.arp_op = Some((op, 0xff));
                arp = true;
            }
            Oxm::ArpSpa(v) => {
                k.arp_sip = Some(masked_v4(v));
                arp = true;
            }
            Oxm::ArpTpa(v) => {
                k.arp_tip = Some(masked_v4(v));
                arp = true;
            }
            Oxm::ArpSha(v) => {
                k.arp_sha = Some(masked_mac(v));
                arp = true;
            }
            Oxm::ArpTha(v) => {
                k.arp_tha = Some(masked_mac(v));
                arp = true;
            }
            Oxm::TunnelId(t) => match t.mask {
                Some(0) => {}
                None | Some(u64::MAX) => {
                    let Ok(id) = u32::try_from(t.value) else {
                        return refuse(
                            bad_match::BAD_VALUE,
                            format!(
                                "tunnel_id {:#x} is wider than the 32-bit key id TC matches",
                                t.value
                            ),
                        );
                    };
                    k.enc_key_id = Some(id);
                }
                Some(_) => {
                    return refuse(
                        bad_match::BAD_MASK,
                        "tunnel_id can only be matched exactly: flower's key id has no mask",
                    )
                }
            },
            Oxm::Opaque(o) => {
                if ct::match_key(f, &mut k)? {
                    continue;
                }
                let p = &o.payload[..];
                if !opaque_match_field_translates(o) {
                    return refuse(
                        bad_match::BAD_FIELD,
                        format!("{} cannot be matched by TC flower", field_name(f)),
                    );
                }
                if o.class == oxm::OXM_CLASS_OPENFLOW_BASIC
                    && (oxm::field::TCP_SRC..=oxm::field::SCTP_DST).contains(&o.field)
                    && o.has_mask
                    && p.len() == 4
                {
                    // A masked transport port (Open vSwitch sends these).
                    let v = u16::from_be_bytes([p[0], p[1]]);
                    let mk = u16::from_be_bytes([p[2], p[3]]);
                    let is_src = (o.field - oxm::field::TCP_SRC).is_multiple_of(2);
                    match (o.field - oxm::field::TCP_SRC) / 2 {
                        0 => tcp = true,
                        1 => udp = true,
                        _ => sctp = true,
                    }
                    let val = Some((v & mk, mk));
                    if is_src {
                        k.l4_src = val
                    } else {
                        k.l4_dst = val
                    }
                } else if o.class == oxm::OXM_CLASS_EXPERIMENTER
                    && o.field == ONFOXM_TCP_FLAGS
                    && p.len() == if o.has_mask { 8 } else { 6 }
                    && p[..4] == ONF_EXPERIMENTER.to_be_bytes()
                {
                    let v = u16::from_be_bytes([p[4], p[5]]);
                    let mk = if o.has_mask {
                        u16::from_be_bytes([p[6], p[7]])
                    } else {
                        0x0fff
                    };
                    k.tcp_flags = Some((v & mk, mk));
                    flags = true;
                } else if o.class == oxm::OXM_CLASS_NXM_1
                    && o.field == NXM_TCP_FLAGS
                    && p.len() == if o.has_mask { 4 } else { 2 }
                {
                    let v = u16::from_be_bytes([p[0], p[1]]);
                    let mk = if o.has_mask {
                        u16::from_be_bytes([p[2], p[3]])
                    } else {
                        0x0fff
                    };
                    k.tcp_flags = Some((v & mk, mk));
                    flags = true;
                } else if o.class == oxm::OXM_CLASS_NXM_1
                    && o.field == NXM_IP_TTL
                    && !o.has_mask
                    && p.len() == 1
                {
                    k.ip_ttl = Some((p[0], 0xff));
                } else if o.class == oxm::OXM_CLASS_NXM_1
                    && (o.field == NXM_TUN_IPV4_SRC || o.field == NXM_TUN_IPV4_DST)
                {
                    let Some(v) = opaque_v4(p, o.has_mask) else {
                        return refuse(bad_match::BAD_VALUE, "tun_src/tun_dst with a wrong length");
                    };
                    if o.field == NXM_TUN_IPV4_SRC {
                        k.enc_ipv4_src = Some(v)
                    } else {
                        k.enc_ipv4_dst = Some(v)
                    }
                } else {
                    return refuse(
                        bad_match::BAD_FIELD,
                        format!("{} cannot be matched by TC flower", field_name(f)),
                    );
                }
            }
            Oxm::MplsLabel(_) | Oxm::MplsTc(_) | Oxm::MplsBos(_) => {
                mpls::match_field(f, &mut k, &mut ctx.mpls)?;
            }
            Oxm::Metadata(_) => {
                return refuse(
                    bad_match::BAD_FIELD,
                    "metadata cannot be matched: flower has no key for the place TC could carry it between chains (the skb mark)",
                )
            }
            other => {
                return refuse(
                    bad_match::BAD_FIELD,
                    format!("{} cannot be matched by TC flower", field_name(other)),
                )
            }
        }
    }

    // Prerequisites (spec 7.2.3.6, table 12): each field needs the fields it depends on.
    let et = ctx.eth_type;
    let need = |ok: bool, what: &str, needs: &str| -> Result<(), Refusal> {
        if ok {
            Ok(())
        } else {
            refuse(
                bad_match::BAD_PREREQ,
                format!("{what} needs {needs} in the match"),
            )
        }
    };
    let is_ip = matches!(et, Some(ETH_IP | ETH_IPV6));
    need(
        k.ip_proto.is_none() || is_ip,
        "ip_proto",
        "eth_type 0x0800 or 0x86dd",
    )?;
    need(
        dscp.is_none() || is_ip,
        "ip_dscp",
        "eth_type 0x0800 or 0x86dd",
    )?;
    need(
        ecn.is_none() || is_ip,
        "ip_ecn",
        "eth_type 0x0800 or 0x86dd",
    )?;
    need(
        k.ip_ttl.is_none() || is_ip,
        "nw_ttl",
        "eth_type 0x0800 or 0x86dd",
    )?;
    need(
        !ipv4 || et == Some(ETH_IP),
        "ipv4_src/ipv4_dst",
        "eth_type 0x0800",
    )?;
    need(
        !ipv6 || et == Some(ETH_IPV6),
        "ipv6_src/ipv6_dst",
        "eth_type 0x86dd",
    )?;
    need(!arp || et == Some(ETH_ARP), "arp fields", "eth_type 0x0806")?;
    need(
        !tcp || k.ip_proto == Some(6),
        "tcp_src/tcp_dst",
        "ip_proto 6",
    )?;
    need(
        !udp || k.ip_proto == Some(17),
        "udp_src/udp_dst",
        "ip_proto 17",
    )?;
    need(
        !sctp || k.ip_proto == Some(132),
        "sctp_src/sctp_dst",
        "ip_proto 132",
    )?;
    need(!flags || k.ip_proto == Some(6), "tcp_flags", "ip_proto 6")?;
    need(
        !icmp4 || (k.ip_proto == Some(1) && et == Some(ETH_IP)),
        "icmpv4_type/icmpv4_code",
        "eth_type 0x0800 and ip_proto 1",
    )?;
    need(
        !icmp6 || (k.ip_proto == Some(58) && et == Some(ETH_IPV6)),
        "icmpv6_type/icmpv6_code",
        "eth_type 0x86dd and ip_proto 58",
    )?;
    if dscp.is_some() || ecn.is_some() {
        if dscp.is_some_and(|d| d > 63) || ecn.is_some_and(|e| e > 3) {
            return refuse(bad_match::BAD_VALUE, "ip_dscp is 6 bits and ip_ecn 2 bits");
        }
        let (mut v, mut m) = (0u8, 0u8);
        if let Some(d) = dscp {
            v |= d << 2;
            m |= 0xfc;
        }
        if let Some(e) = ecn {
            v |= e;
            m |= 0x03;
        }
        k.ip_tos = Some((v, m));
    }

    // VLAN (spec table 13): vlan_vid's value and mask select untagged, any tag, or a VID
    // (the `vlan` module).
    //
    // Without vlan_vid, OpenFlow matches tagged and untagged packets alike, and eth_type
    // and the L3/L4 fields are those after the tags. So does flower with ETH_P_ALL and
    // no VLAN key: the receive path moves the outer tag into the skb's metadata before
    // TC ingress, and the flow dissector walks past a tag left in the packet, so the
    // EtherType key and the L3/L4 keys see the inner header (kernel test
    // ip_match_without_vlan_fields_matches_tagged_packets_by_their_inner_header).
    // eth_type 0x8100/0x88a8 itself would mean "the type after the tags is a tag",
    // which no packet has, while flower would take it as "any tagged packet": refused.
    vlan::match_vlan(&mut k, &mut ctx, vlan, pcp, et)?;
    mpls::check_prereq(&ctx)?;
    Ok((k, ctx))
}

/// One step of the flow's program, before it is lowered for a given ingress device.
#[derive(Debug, Clone)]
enum Step<'a> {
    Police(crate::filter::PoliceRate),
    Act(&'a Action),
    Goto(u8),
}

/// The order in which the action set executes (spec 5.10); `None` for types the set
/// cannot hold.
fn action_set_rank(a: &Action) -> u8 {
    match a {
        Action::CopyTtlIn => 0,
        Action::PopVlan | Action::PopMpls(_) | Action::PopPbb => 1,
        Action::PushMpls(_) => 2,
        Action::PushPbb(_) => 3,
        Action::PushVlan(_) => 4,
        Action::CopyTtlOut => 5,
        Action::DecNwTtl | Action::DecMplsTtl => 6,
        Action::SetField(_) | Action::SetNwTtl(_) | Action::SetMplsTtl(_) => 7,
        Action::SetQueue(_) => 8,
        Action::Group(_) => 9,
        Action::Output { .. } => 10,
        Action::Experimenter { .. } => 11,
    }
}

fn compile_instructions<'a>(
    flow: &DecodedFlow<'a>,
    meters: &MeterTable,
) -> Result<Vec<Step<'a>>, Refusal> {
    let mut meter = None;
    let mut apply: Option<&'a [Action]> = None;
    let mut write: Option<&'a [Action]> = None;
    let mut goto = None;
    let mut seen = 0u32;
    for i in flow.instructions {
        let t = i.instruction_type();
        if t < 32 && seen & (1 << t) != 0 {
            return refuse(
                bad_instruction::UNSUP_INST,
                format!("instruction type {t} appears twice in one flow"),
            );
        }
        seen |= 1 << (t.min(31));
        match i {
            Instruction::Meter(id) => meter = meters.police(*id)?,
            Instruction::ApplyActions(a) => apply = Some(a),
            Instruction::WriteActions(a) => write = Some(a),
            // The action set is empty when a flow starts (nothing below lets one
            // travel between tables), so clearing it changes nothing.
            Instruction::ClearActions => {}
            Instruction::WriteMetadata { .. } => {
                return refuse(
                    bad_instruction::UNSUP_METADATA,
                    "write_metadata is not supported: act_skbedit could keep it in the skb mark, but flower has no key to match the mark in the next table",
                )
            }
            Instruction::GotoTable(t) => {
                if *t <= flow.table_id || *t == ofproto::v13::OFPTT_ALL {
                    return refuse(
                        bad_instruction::BAD_TABLE_ID,
                        format!(
                            "goto_table {t} from table {}: the next table must have a higher id",
                            flow.table_id
                        ),
                    );
                }
                goto = Some(*t);
            }
            Instruction::Experimenter { experimenter, .. } => {
                return refuse(
                    bad_instruction::BAD_EXPERIMENTER,
                    format!("experimenter instruction {experimenter:#x} is not supported"),
                )
            }
        }
    }
    if write.is_some_and(|w| !w.is_empty()) && goto.is_some() {
        return refuse(
            bad_instruction::UNSUP_INST,
            "write_actions together with goto_table: the action set cannot travel between TC chains",
        );
    }
    let mut steps = Vec::new();
    if let Some(p) = meter {
        steps.push(Step::Police(p));
    }
    for a in apply.unwrap_or(&[]) {
        steps.push(Step::Act(a));
    }
    if let Some(w) = write {
        // The action set holds one action per type (one set-field per field); a later
        // one replaces an earlier one (spec 5.10).
        let mut set: Vec<&'a Action> = Vec::new();
        for a in w {
            let same = |b: &&Action| match (a, *b) {
                (Action::SetField(x), Action::SetField(y)) => x.basic_field() == y.basic_field(),
                _ => std::mem::discriminant(a) == std::mem::discriminant(*b),
            };
            if let Some(pos) = set.iter().position(same) {
                set.remove(pos);
            }
            set.push(a);
        }
        set.sort_by_key(|a| action_set_rank(a));
        steps.extend(set.into_iter().map(Step::Act));
    }
    if let Some(t) = goto {
        steps.push(Step::Goto(t));
    }
    Ok(steps)
}

/// A lowered item: a TC action that changes the packet, or an exit.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Tc(TcAction),
    Out {
        ifindex: u32,
        ingress: bool,
    },
    Normal,
    Goto(u8),
    /// Output to CONTROLLER: police, then sample (see [`controller_actions`]); the packet
    /// goes on.
    Controller {
        trunc: Option<u32>,
    },
}

#[derive(Default)]
struct Pending {
    keys: Vec<PeditKey>,
    csum: u32,
    push: Option<(u16, Option<u16>, Option<u8>)>,
    tun_id: Option<u32>,
    tun_src: Option<Ipv4Addr>,
    tun_dst: Option<Ipv4Addr>,
    tunnel: bool,
}

struct Lowering<'c> {
    ctx: &'c MatchCtx,
    items: Vec<Item>,
    p: Pending,
    /// What is known of the packet's outer tag now.
    tag: vlan::TagKnown,
    /// A push needed the PCP of a tag this variant of the flow does not know (see
    /// [`vlan::expand_pcp`]).
    wants_pcp: bool,
    /// A set-field of the tag needed its TPID, which this variant does not know (see
    /// [`vlan::expand_tpid`]).
    wants_tpid: bool,
    mpls: mpls::State,
}

impl Lowering<'_> {
    fn flush(&mut self) -> Result<(), Refusal> {
        self.flush_mpls()?;
        if let Some((tpid, vid, pcp)) = self.p.push.take() {
            let (vid, pcp) = vlan::pushed_tag(self.tag, vid, pcp)?;
            if pcp.is_none() {
                self.wants_pcp = true;
            }
            self.items.push(Item::Tc(TcAction::VlanPush {
                vid,
                pcp: pcp.filter(|p| *p != 0),
                tpid,
            }));
            self.tag = vlan::TagKnown {
                tagged: Some(true),
                vid: Some(vid),
                pcp,
                tpid: Some(tpid),
            };
        }
        if !self.p.keys.is_empty() {
            let keys = std::mem::take(&mut self.p.keys);
            self.items.push(Item::Tc(TcAction::Pedit(keys)));
            if self.p.csum != 0 {
                self.items.push(Item::Tc(TcAction::Csum(self.p.csum)));
            }
            self.p.csum = 0;
        }
        if std::mem::take(&mut self.p.tunnel) {
            let (Some(src), Some(dst)) = (self.p.tun_src, self.p.tun_dst) else {
                return refuse(
                    bad_action::BAD_SET_ARGUMENT,
                    "setting tunnel_id needs tun_src and tun_dst set too: TC's tunnel_key set requires both addresses",
                );
            };
            self.items.push(Item::Tc(TcAction::TunnelSet {
                key_id: self.p.tun_id,
                src,
                dst,
                dst_port: None,
            }));
        }
        Ok(())
    }

    /// The TPID an act_vlan modify writes the outer tag back with: the tag's own (the
    /// kernel would otherwise make every tag it modifies an 802.1Q one). When this variant
    /// does not know it, the flow is expanded per TPID ([`vlan::expand_tpid`]).
    fn modify_tpid(&mut self) -> u16 {
        self.tag.tpid.unwrap_or_else(|| {
            self.wants_tpid = true;
            ETH_VLAN
        })
    }

    /// A set-field of a VLAN field on a packet known to be untagged has nothing to set
    /// (spec 7.2.6.7: the field must be present).
    fn tagged(&self, what: &str) -> Result<(), Refusal> {
        if self.tag.tagged == Some(false) {
            return refuse(
                bad_action::MATCH_INCONSISTENT,
                format!("set_field {what} on a packet without a VLAN tag: push_vlan first"),
            );
        }
        Ok(())
    }

    fn l3(&self, what: &str) -> Result<u16, Refusal> {
        match self.ctx.eth_type {
            Some(t @ (ETH_IP | ETH_IPV6)) => Ok(t),
            _ => refuse(
                bad_action::MATCH_INCONSISTENT,
                format!("set_field {what} needs eth_type 0x0800 or 0x86dd in the match"),
            ),
        }
    }

    fn l4_csum(&self) -> u32 {
        match self.ctx.ip_proto {
            Some(6) => csum::TCP,
            Some(17) => csum::UDP,
            Some(132) => csum::SCTP,
            Some(1) | Some(58) => csum::ICMP,
            Some(_) => 0,
            None => csum::TCP | csum::UDP | csum::ICMP,
        }
    }

    fn set_field(&mut self, f: &Oxm) -> Result<(), Refusal> {
        use PeditHeader::*;
        let keys = |h, off, bytes: &[u8]| PeditKey::set_bytes(h, off, bytes);
        match f {
            Oxm::VlanVid(v) => {
                let vid = v.value & 0x0fff;
                if let Some(push) = self.p.push.as_mut() {
                    push.1 = Some(vid);
                    return Ok(());
                }
                self.flush()?;
                self.tagged("vlan_vid")?;
                if let Some(Item::Tc(TcAction::VlanModify { vid: old, .. })) = self.items.last_mut()
                {
                    *old = vid;
                } else {
                    let tpid = self.modify_tpid();
                    self.items.push(Item::Tc(TcAction::VlanModify {
                        vid,
                        pcp: None,
                        tpid,
                    }));
                }
                self.tag.vid = Some(vid);
                return Ok(());
            }
            Oxm::VlanPcp(pcp) => {
                if let Some(push) = self.p.push.as_mut() {
                    push.2 = Some(*pcp);
                    return Ok(());
                }
                self.flush()?;
                self.tagged("vlan_pcp")?;
                self.tag.pcp = Some(*pcp);
                if let Some(Item::Tc(TcAction::VlanModify { pcp: old, .. })) = self.items.last_mut()
                {
                    *old = Some(*pcp);
                    return Ok(());
                }
                let Some(vid) = self.tag.vid else {
                    return refuse(
                        bad_action::BAD_SET_ARGUMENT,
                        "set_field vlan_pcp alone needs the VLAN id known (match vlan_vid or set it too): TC's vlan modify rewrites both",
                    );
                };
                let tpid = self.modify_tpid();
                self.items.push(Item::Tc(TcAction::VlanModify {
                    vid,
                    pcp: Some(*pcp),
                    tpid,
                }));
                return Ok(());
            }
            Oxm::TunnelId(t) => {
                let Ok(id) = u32::try_from(t.value) else {
                    return refuse(
                        bad_action::BAD_SET_ARGUMENT,
                        format!("tunnel_id {:#x} is wider than TC's 32-bit key id", t.value),
                    );
                };
                self.p.tun_id = Some(id);
                self.p.tunnel = true;
                return Ok(());
            }
            Oxm::Opaque(o)
                if o.class == oxm::OXM_CLASS_NXM_1
                    && (o.field == NXM_TUN_IPV4_SRC || o.field == NXM_TUN_IPV4_DST)
                    && o.payload.len() == 4 =>
            {
                let a = opaque_v4(&o.payload, false).map(|x| x.0);
                if o.field == NXM_TUN_IPV4_SRC {
                    self.p.tun_src = a;
                } else {
                    self.p.tun_dst = a;
                }
                self.p.tunnel = true;
                return Ok(());
            }
            _ => {}
        }
        if self.mpls_set_field(f)? {
            return Ok(());
        }
        if self.mpls.changed() && !matches!(f, Oxm::EthDst(_) | Oxm::EthSrc(_)) {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                format!(
                    "set_field {} after push_mpls/pop_mpls: set it before, or in the next table",
                    field_name_any(f)
                ),
            );
        }
        // Everything below is pedit; a pending push must come first.
        if self.p.push.is_some() || self.p.tunnel {
            self.flush()?;
        }
        let l4 = |me: &Self, proto: u8, what: &str| -> Result<(), Refusal> {
            if me.ctx.ip_proto == Some(proto) {
                Ok(())
            } else {
                refuse(
                    bad_action::MATCH_INCONSISTENT,
                    format!("set_field {what} needs ip_proto {proto} in the match"),
                )
            }
        };
        let (new, csum): (Vec<PeditKey>, u32) = match f {
            Oxm::EthDst(m) => (keys(Eth, 0, &m.value.0), 0),
            Oxm::EthSrc(m) => (keys(Eth, 6, &m.value.0), 0),
            Oxm::Ipv4Src(m) | Oxm::Ipv4Dst(m) => {
                if self.l3("ipv4_src/ipv4_dst")? != ETH_IP {
                    return refuse(
                        bad_action::MATCH_INCONSISTENT,
                        "set_field ipv4 needs eth_type 0x0800",
                    );
                }
                let off = if matches!(f, Oxm::Ipv4Src(_)) { 12 } else { 16 };
                let l4 = self.l4_csum() & !csum::ICMP;
                (keys(Ip4, off, &m.value.octets()), csum::IPV4HDR | l4)
            }
            Oxm::Ipv6Src(m) | Oxm::Ipv6Dst(m) => {
                if self.l3("ipv6_src/ipv6_dst")? != ETH_IPV6 {
                    return refuse(
                        bad_action::MATCH_INCONSISTENT,
                        "set_field ipv6 needs eth_type 0x86dd",
                    );
                }
                let off = if matches!(f, Oxm::Ipv6Src(_)) { 8 } else { 24 };
                (keys(Ip6, off, &m.value.octets()), self.l4_csum())
            }
            Oxm::TcpSrc(p) | Oxm::TcpDst(p) => {
                l4(self, 6, "tcp_src/tcp_dst")?;
                let off = if matches!(f, Oxm::TcpSrc(_)) { 0 } else { 2 };
                (keys(Tcp, off, &p.to_be_bytes()), csum::TCP)
            }
            Oxm::UdpSrc(p) | Oxm::UdpDst(p) => {
                l4(self, 17, "udp_src/udp_dst")?;
                let off = if matches!(f, Oxm::UdpSrc(_)) { 0 } else { 2 };
                (keys(Udp, off, &p.to_be_bytes()), csum::UDP)
            }
            Oxm::SctpSrc(p) | Oxm::SctpDst(p) => {
                l4(self, 132, "sctp_src/sctp_dst")?;
                // pedit's TCP header type means "the transport header", SCTP's too.
                let off = if matches!(f, Oxm::SctpSrc(_)) { 0 } else { 2 };
                (keys(Tcp, off, &p.to_be_bytes()), csum::SCTP)
            }
            Oxm::IpDscp(d) | Oxm::IpEcn(d) => {
                let dscp = matches!(f, Oxm::IpDscp(_));
                if (dscp && *d > 63) || (!dscp && *d > 3) {
                    return refuse(
                        bad_action::BAD_SET_ARGUMENT,
                        "ip_dscp is 6 bits and ip_ecn 2 bits",
                    );
                }
                match self.l3("ip_dscp/ip_ecn")? {
                    ETH_IP => {
                        let (v, m) = if dscp { (d << 2, 0xfc) } else { (*d, 0x03) };
                        (PeditKey::set_bits(Ip4, 1, &[v], &[m]), csum::IPV4HDR)
                    }
                    _ => {
                        // IPv6: version(4) | traffic class(8) | flow label(20).
                        let (v, m) = if dscp {
                            ([d >> 2, (d & 3) << 6], [0x0f, 0xc0])
                        } else {
                            ([0, d << 4], [0, 0x30])
                        };
                        (PeditKey::set_bits(Ip6, 0, &v, &m), 0)
                    }
                }
            }
            _ => match setfield::keys(f, self.ctx, self.ctx.icmp_type) {
                Some(r) => r?,
                None => {
                    return refuse(
                        bad_action::BAD_SET_TYPE,
                        format!("set_field {} has no TC equivalent here", field_name_any(f)),
                    )
                }
            },
        };
        self.p.keys.extend(new);
        self.p.csum |= csum;
        Ok(())
    }

    fn ttl(&mut self, set: Option<u8>) -> Result<(), Refusal> {
        if self.p.push.is_some() || self.p.tunnel {
            self.flush()?;
        }
        let what = if set.is_some() {
            "set_nw_ttl"
        } else {
            "dec_nw_ttl"
        };
        if self.mpls.changed() {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                format!("{what} after push_mpls/pop_mpls: put it before, or in the next table"),
            );
        }
        let (h, off, cs) = match self.l3(what)? {
            ETH_IP => (PeditHeader::Ip4, 8, csum::IPV4HDR),
            _ => (PeditHeader::Ip6, 7, 0),
        };
        match set {
            Some(t) => self.p.keys.extend(PeditKey::set_bytes(h, off, &[t])),
            None => {
                let j = (off % 4) as usize;
                let mut keep = [0xff; 4];
                keep[j] = 0;
                let mut val = [0; 4];
                val[j] = 0xff;
                self.p.keys.push(PeditKey {
                    header: h,
                    add: true,
                    offset: off & !3,
                    keep,
                    val,
                });
            }
        }
        self.p.csum |= cs;
        Ok(())
    }
}

fn field_name_any(f: &Oxm) -> String {
    use oxm::field::*;
    match f.basic_field() {
        Some(ARP_OP) => "arp_op".into(),
        Some(ARP_SPA) => "arp_spa".into(),
        Some(ARP_TPA) => "arp_tpa".into(),
        Some(ARP_SHA) => "arp_sha".into(),
        Some(ARP_THA) => "arp_tha".into(),
        Some(ICMPV4_TYPE) | Some(ICMPV4_CODE) => "icmpv4".into(),
        Some(ICMPV6_TYPE) | Some(ICMPV6_CODE) => "icmpv6".into(),
        Some(IP_PROTO) => "ip_proto".into(),
        Some(ETH_TYPE) => "eth_type".into(),
        Some(IN_PORT) => "in_port".into(),
        _ => field_name(f),
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::CopyTtlOut => "copy_ttl_out",
        Action::CopyTtlIn => "copy_ttl_in",
        Action::SetMplsTtl(_) => "set_mpls_ttl",
        Action::DecMplsTtl => "dec_mpls_ttl",
        Action::PushMpls(_) => "push_mpls",
        Action::PopMpls(_) => "pop_mpls",
        Action::SetQueue(_) => "set_queue",
        Action::Group(_) => "group",
        Action::PushPbb(_) => "push_pbb",
        Action::PopPbb => "pop_pbb",
        _ => "this action",
    }
}

pub use ofproto::v13::OFPCML_NO_BUFFER;

/// What output:CONTROLLER becomes at action index `at` of a filter: act_police at `rate`
/// (the OFPM_CONTROLLER meter, [`MeterTable::controller_rate`]; over the rate, jump past
/// the copy, so the packet takes the rest of the filter's actions without the copy to
/// the controller), then act_sample (every packet, cut to `trunc`, to psample group
/// `group`, which names the flow) between a VLAN push and pop that show it the frame's
/// tag. Without a rate, no police.
///
/// The tag: the receive path keeps a frame's outer VLAN tag in the skb's metadata
/// (`vlan_tci`), and so does act_vlan's push, while psample copies only the packet's
/// bytes, so a sample alone would give the controller the frame without its tag.
/// act_vlan's push of a placeholder tag (VID 0) moves the tag the metadata holds into
/// the packet (`skb_vlan_push` inserts the present tag, then puts the new one in the
/// metadata); the sample then copies the frame with every tag it has, exactly as it
/// would leave a port; the pop drops the placeholder and moves the tag back into the
/// metadata (`skb_vlan_pop`). An untagged frame stays untagged: the placeholder lives in
/// the metadata only and the pop clears it.
pub(crate) fn controller_actions(
    at: usize,
    group: u32,
    trunc: Option<u32>,
    rate: Option<PoliceRate>,
) -> Vec<TcAction> {
    let copy = [
        TcAction::VlanPush {
            vid: 0,
            pcp: None,
            tpid: ETH_VLAN,
        },
        TcAction::Sample { group, trunc },
        TcAction::VlanPop,
    ];
    let mut out = Vec::with_capacity(4);
    if let Some(rate) = rate {
        out.push(TcAction::PoliceJump {
            rate,
            to: (at + 1 + copy.len()) as u32,
        });
    }
    out.extend(copy);
    out
}

/// Lower the program for a filter on device `ingress` (OpenFlow port `in_port`); `group`
/// is the flow's psample group and `ctl_rate` the OFPM_CONTROLLER bound, for output to
/// CONTROLLER.
fn lower(
    steps: &[Step],
    ingress: u32,
    ports: &PortMap,
    ctx: &MatchCtx,
    group: u32,
    ctl_rate: Option<PoliceRate>,
) -> Result<(Vec<TcAction>, Wants), Refusal> {
    let mut l = Lowering {
        ctx,
        items: Vec::new(),
        p: Pending::default(),
        tag: ctx.tag,
        wants_pcp: false,
        wants_tpid: false,
        mpls: mpls::State::default(),
    };
    for s in steps {
        match s {
            Step::Police(r) => {
                l.flush()?;
                l.items.push(Item::Tc(TcAction::Police(*r)));
            }
            Step::Goto(t) => {
                // A tunnel id set for the next table to match (spec: tunnel_id is
                // pipeline metadata): act_tunnel_key needs both addresses, and without
                // set tun_src/tun_dst they are 0.0.0.0, which is what the next table's
                // flower keys then see. An output with such a tunnel is still refused.
                if l.p.tunnel {
                    l.p.tun_src.get_or_insert(Ipv4Addr::UNSPECIFIED);
                    l.p.tun_dst.get_or_insert(Ipv4Addr::UNSPECIFIED);
                }
                l.flush()?;
                l.items.push(Item::Goto(*t));
            }
            Step::Act(a) => match a {
                Action::Output { port: p, max_len } => {
                    l.flush()?;
                    match *p {
                        port::NORMAL => l.items.push(Item::Normal),
                        port::IN_PORT => l.items.push(Item::Out {
                            ifindex: ingress,
                            ingress: false,
                        }),
                        port::ALL | port::FLOOD => {
                            for (_, ifx, _) in ports.bridge_ports() {
                                if ifx != ingress {
                                    l.items.push(Item::Out {
                                        ifindex: ifx,
                                        ingress: false,
                                    });
                                }
                            }
                        }
                        port::CONTROLLER => l.items.push(Item::Controller {
                            trunc: match *max_len {
                                OFPCML_NO_BUFFER => None,
                                n => Some(u32::from(n)),
                            },
                        }),
                        port::LOCAL => match ports.ifindex(port::LOCAL) {
                            Some(ifx) => l.items.push(Item::Out {
                                ifindex: ifx,
                                ingress: true,
                            }),
                            None => {
                                return refuse(
                                    bad_action::BAD_OUT_PORT,
                                    "output to LOCAL, but this switch has no local port",
                                )
                            }
                        },
                        port::TABLE => {
                            return refuse(
                                bad_action::BAD_OUT_PORT,
                                "output to TABLE is only valid in packet-out",
                            )
                        }
                        p => match ports.ifindex(p) {
                            // OpenFlow sends back out of the ingress port only through
                            // IN_PORT; an output to it by number does nothing.
                            Some(ifx) if ifx == ingress => {}
                            Some(ifx) => l.items.push(Item::Out {
                                ifindex: ifx,
                                ingress: false,
                            }),
                            None => {
                                return refuse(
                                    bad_action::BAD_OUT_PORT,
                                    format!("output to port {p}, which this switch does not have"),
                                )
                            }
                        },
                    }
                }
                Action::PushVlan(tpid) => {
                    if *tpid != 0x8100 && *tpid != 0x88a8 {
                        return refuse(
                            bad_action::BAD_ARGUMENT,
                            format!("push_vlan with EtherType {tpid:#06x}: only 0x8100 and 0x88a8 are VLAN tags"),
                        );
                    }
                    l.flush()?;
                    l.p.push = Some((*tpid, None, None));
                }
                Action::PopVlan => {
                    l.flush()?;
                    l.items.push(Item::Tc(TcAction::VlanPop));
                    // Whatever tag was under the popped one is now the outer tag.
                    l.tag = vlan::TagKnown::default();
                }
                Action::SetField(f) => l.set_field(f)?,
                Action::PushMpls(_)
                | Action::PopMpls(_)
                | Action::SetMplsTtl(_)
                | Action::DecMplsTtl => l.mpls_action(a)?,
                Action::SetNwTtl(t) => l.ttl(Some(*t))?,
                Action::DecNwTtl => l.ttl(None)?,
                a @ Action::Experimenter { .. } if NxCtAction::is_ct(a) => ct::lower(a, &mut l)?,
                Action::Experimenter { experimenter, .. } => {
                    return refuse(
                        bad_action::BAD_EXPERIMENTER,
                        format!("experimenter action {experimenter:#x} is not supported"),
                    )
                }
                other => {
                    return refuse(
                        bad_action::BAD_TYPE,
                        format!(
                            "{} has no TC equivalent in this datapath",
                            action_name(other)
                        ),
                    )
                }
            },
        }
    }
    l.flush()?;
    Ok((
        finish(l.items, group, ctl_rate)?,
        Wants {
            pcp: l.wants_pcp,
            tpid: l.wants_tpid,
        },
    ))
}

/// What a variant of a flow needed to know of the outer tag and did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wants {
    pcp: bool,
    tpid: bool,
}

/// Turn the lowered items into the filter's action list: mirrors for every output but the
/// last, the last one a redirect (or gact ok for NORMAL, goto chain for goto_table), and
/// drop when the packet goes nowhere.
///
/// Output to CONTROLLER copies the packet and lets it go on: an output before it is a
/// mirror, and when nothing follows it the filter ends with a drop, as an action list
/// without output does.
fn finish(
    mut items: Vec<Item>,
    group: u32,
    ctl_rate: Option<PoliceRate>,
) -> Result<Vec<TcAction>, Refusal> {
    // Changes after the last exit touch no copy of the packet (but a ct commits).
    while matches!(items.last(), Some(Item::Tc(a)) if !matches!(a, TcAction::Ct(_))) {
        items.pop();
    }
    ct::check_order(&items)?;
    // NORMAL continues into the bridge, which ends the filter: it must come last. Moving
    // it there is exact when nothing between it and the end changes the packet.
    if let Some(pos) = items.iter().position(|i| *i == Item::Normal) {
        let rest = &items[pos + 1..];
        if rest.iter().any(|i| matches!(i, Item::Tc(_))) {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                "NORMAL followed by changes to the packet and another output: TC can only end with NORMAL",
            );
        }
        if rest.iter().any(|i| matches!(i, Item::Goto(_))) {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                "NORMAL together with goto_table: the bridge would take the packet away from the next table",
            );
        }
        items.retain(|i| *i != Item::Normal);
        items.push(Item::Normal);
    }
    let last_exit = items.iter().rposition(|i| !matches!(i, Item::Tc(_)));
    let mut out = Vec::with_capacity(items.len() + 1);
    match last_exit {
        None => {
            // No exit: what is left is a ct (and what comes before it), then the drop.
            out.extend(items.into_iter().filter_map(|i| match i {
                Item::Tc(a) => Some(a),
                _ => None,
            }));
            out.push(TcAction::Gact(Verdict::Shot));
        }
        Some(last) => {
            let ends_with_controller = matches!(items[last], Item::Controller { .. });
            for (n, i) in items.into_iter().enumerate() {
                let is_last = n == last;
                if let Item::Controller { trunc } = i {
                    out.extend(controller_actions(out.len(), group, trunc, ctl_rate));
                    continue;
                }
                out.push(match i {
                    Item::Tc(a) => a,
                    Item::Out { ifindex, ingress } => TcAction::Mirred {
                        kind: match (ingress, is_last) {
                            (false, true) => MirredKind::EgressRedirect,
                            (false, false) => MirredKind::EgressMirror,
                            (true, true) => MirredKind::IngressRedirect,
                            (true, false) => {
                                return refuse(
                                    bad_action::UNSUPPORTED_ORDER,
                                    "output to LOCAL must be the last output",
                                )
                            }
                        },
                        ifindex,
                    },
                    Item::Normal => TcAction::Gact(Verdict::Ok),
                    Item::Goto(t) => TcAction::Gact(Verdict::GotoChain(t as u32)),
                    Item::Controller { .. } => unreachable!("expanded above"),
                });
            }
            if ends_with_controller {
                out.push(TcAction::Gact(Verdict::Shot));
            }
        }
    }
    if out.len() > MAX_ACTIONS {
        return refuse(
            bad_action::TOO_MANY,
            format!(
                "the flow needs {} TC actions, a filter holds at most {MAX_ACTIONS}",
                out.len()
            ),
        );
    }
    Ok(out)
}

/// The pure translation: the flower filters (one per ingress device when the flow has no
/// in_port) that implement the flow, on the chain and prio that [`crate::prio::placement`]
/// gives. No kernel, no I/O.
///
/// A flow without in_port depends on the port map (its devices, FLOOD's targets): translate
/// it again when a port comes or goes. With no bridge port at all it yields no filter.
pub fn translate(
    flow: &DecodedFlow,
    ports: &PortMap,
    meters: &MeterTable,
) -> Result<Vec<Filter>, Refusal> {
    if flow.table_id == ofproto::v13::OFPTT_ALL {
        return refuse(
            flow_mod_failed::BAD_TABLE_ID,
            "table 255 is OFPTT_ALL, not a table",
        );
    }
    let (key, ctx) = compile_match(flow.r#match, ports)?;
    let steps = compile_instructions(flow, meters)?;
    let (chain, prio) = prio::placement(flow.table_id, flow.priority);
    let flow_hash = cookie::flow_hash(flow);
    let group = crate::psample::group_of(flow_hash);
    let devices: Vec<u32> = match ctx.in_port {
        Some(p) => ports.ifindex(p).into_iter().collect(),
        None => ports.bridge_ports().map(|(_, i, _)| i).collect(),
    };
    let mut filters = Vec::with_capacity(devices.len());
    for ifindex in devices {
        let lowered =
            |ctx: &MatchCtx| lower(&steps, ifindex, ports, ctx, group, meters.controller_rate());
        // A tag of either TPID, then what the actions need pinned: a PCP to copy
        // (one variant per PCP value), the TPID a set-field keeps.
        let mut variants = Vec::new();
        for (key, ctx) in vlan::expand_tpid(&key, &ctx, false) {
            let (actions, wants) = lowered(&ctx)?;
            let more = if wants.pcp {
                vlan::expand_pcp(&key, &ctx)
            } else if wants.tpid {
                vlan::expand_tpid(&key, &ctx, true)
            } else {
                variants.push((key, actions));
                continue;
            };
            for (key, ctx) in more {
                let (actions, still) = lowered(&ctx)?;
                if still.pcp {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        "push_vlan copies a PCP that the translation cannot know here",
                    );
                }
                if still.tpid {
                    return refuse(
                        bad_action::BAD_SET_ARGUMENT,
                        "set_field of the VLAN tag keeps the tag's TPID, which the translation cannot know here",
                    );
                }
                variants.push((key, actions));
            }
        }
        for (key, actions) in variants {
            let mut f = Filter {
                ifindex,
                chain,
                prio,
                handle: 0,
                key,
                actions,
                cookie: [0; 16],
            };
            f.cookie = cookie::filter_cookie(flow_hash, &f);
            f.handle = cookie::handle_for(&f.cookie);
            filters.push(f);
        }
    }
    Ok(filters)
}
