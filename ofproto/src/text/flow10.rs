//! OpenFlow 1.0 flows in ovs-ofctl syntax. The match is parsed as for 1.3 and then
//! narrowed to what the fixed 1.0 match can say; the printer widens a 1.0 match to OXM and
//! prints it as for 1.3, so both versions print alike.

use std::net::Ipv4Addr;

use super::actions::{fmt_actions10, parse_actions10};
use super::fields::*;
use super::flow13::{fmt_duration, split_flow, DEFAULT_PRIORITY};
use super::value::*;
use super::FlowParseError;
use crate::v10::{self, wildcards as w};
use crate::v13::oxm::OFPVID_PRESENT;
use crate::v13::{MacAddr, Masked, Match, Oxm};

/// Parse a flow in ovs-ofctl syntax into an OpenFlow 1.0 FLOW_MOD, if 1.0 can express it.
pub fn parse_flow10(text: &str, cmd: v10::FlowModCommand) -> Result<v10::FlowMod, FlowParseError> {
    use v10::FlowModCommand as C;
    let (h, mtoks) = split_flow(text, cmd == C::Add, "1.0")?;
    let (m13, _) = parse_match13(&mtoks)?;
    let col_of = |name: &str| mtoks.iter().find(|t| t.key == name).map_or(1, |t| t.col);
    let r#match = narrow(&m13).map_err(|(what, e)| FlowParseError::new(col_of(what), e))?;
    if let Some(t) = h.table.filter(|t| *t != 0 && *t != OFPTT_ALL) {
        return Err(FlowParseError::new(
            1,
            format!("table={t}: an OpenFlow 1.0 flow_mod has no table (that needs OpenFlow 1.1+)"),
        ));
    }
    if h.cookie_mask.is_some() {
        return Err(FlowParseError::new(
            1,
            "cookie=VALUE/MASK needs OpenFlow 1.1+",
        ));
    }
    if h.out_group.is_some() {
        return Err(FlowParseError::new(
            1,
            "out_group needs OpenFlow 1.1+ (1.0 has no groups)",
        ));
    }
    let allowed = v10::flow_mod_flags::SEND_FLOW_REM | v10::flow_mod_flags::CHECK_OVERLAP;
    if h.flags & !allowed != 0 {
        return Err(FlowParseError::new(
            1,
            "reset_counts, no_packet_counts and no_byte_counts need OpenFlow 1.3",
        ));
    }
    let actions = match &h.actions {
        Some((a, col)) => parse_actions10(a, *col)?,
        None if cmd == C::Add => {
            return Err(FlowParseError::new(
                text.chars().count() + 1,
                "adding a flow needs actions= (write actions=drop to drop)",
            ))
        }
        None => Vec::new(),
    };
    let out_port = match &h.out_port {
        Some((p, col)) => parse_port10(p, "out_port").map_err(|e| FlowParseError::new(*col, e))?,
        None => v10::port_no::NONE,
    };
    Ok(v10::FlowMod {
        r#match,
        cookie: h.cookie,
        command: cmd,
        // A standard 1.0 flow_mod has no table (table= other than 0 is refused above); the
        // Open vSwitch flow_mod_table_id extension is not produced from text.
        table_id: 0,
        idle_timeout: h.idle_timeout,
        hard_timeout: h.hard_timeout,
        priority: h.priority,
        buffer_id: h.buffer_id,
        out_port,
        flags: h.flags,
        actions,
    })
}

/// The name a 1.3 field is written with, for "not expressible" errors.
fn name10(o: &Oxm) -> &'static str {
    match o {
        Oxm::InPort(_) => "in_port",
        Oxm::EthSrc(_) => "dl_src",
        Oxm::EthDst(_) => "dl_dst",
        Oxm::VlanVid(_) => "dl_vlan",
        Oxm::VlanPcp(_) => "dl_vlan_pcp",
        Oxm::Ipv4Src(_) | Oxm::ArpSpa(_) => "nw_src",
        Oxm::Ipv4Dst(_) | Oxm::ArpTpa(_) => "nw_dst",
        _ => "",
    }
}

/// Narrow an OXM match to the 1.0 match; the error names the field that does not fit.
fn narrow(m: &Match) -> Result<v10::Match, (&'static str, String)> {
    let mut r = v10::Match::any();
    let cidr = |a: Ipv4Addr, mask: Option<Ipv4Addr>, name: &'static str| {
        let mk = mask.map_or(u32::MAX, u32::from);
        let n = mk.leading_ones();
        if prefix32(n) != mk {
            return Err((name, format!("{name}: OpenFlow 1.0 matches IPv4 addresses only by prefix (a.b.c.d/N), not by mask {}", Ipv4Addr::from(mk))));
        }
        Ok((u32::from(a), 32 - n))
    };
    let mut vid_any_tagged = false;
    for o in &m.fields {
        match o {
            Oxm::InPort(p) => {
                r.in_port = if *p >= 0xffff_fff8 {
                    (*p - 0xffff_0000) as u16
                } else if *p <= 0xff00 {
                    *p as u16
                } else {
                    return Err((
                        "in_port",
                        format!("in_port={p} is out of range for OpenFlow 1.0"),
                    ));
                };
                r.wildcards &= !w::IN_PORT;
            }
            Oxm::EthSrc(x) | Oxm::EthDst(x) => {
                if x.mask.is_some() {
                    return Err((
                        name10(o),
                        format!("{}: OpenFlow 1.0 cannot mask Ethernet addresses", name10(o)),
                    ));
                }
                if matches!(o, Oxm::EthSrc(_)) {
                    r.dl_src = x.value.0;
                    r.wildcards &= !w::DL_SRC;
                } else {
                    r.dl_dst = x.value.0;
                    r.wildcards &= !w::DL_DST;
                }
            }
            Oxm::EthType(v) => {
                r.dl_type = *v;
                r.wildcards &= !w::DL_TYPE;
            }
            Oxm::VlanVid(x) => match (x.value, x.mask) {
                (0, None) => {
                    r.dl_vlan = v10::VLAN_NONE;
                    r.wildcards &= !w::DL_VLAN;
                }
                (v, None) if v & OFPVID_PRESENT != 0 => {
                    r.dl_vlan = v & 0xfff;
                    r.wildcards &= !w::DL_VLAN;
                }
                (OFPVID_PRESENT, Some(OFPVID_PRESENT)) => vid_any_tagged = true,
                _ => {
                    return Err((
                        "dl_vlan",
                        "this VLAN match (a masked VID) is not expressible in OpenFlow 1.0".into(),
                    ))
                }
            },
            Oxm::VlanPcp(p) => {
                r.dl_vlan_pcp = *p;
                r.wildcards &= !w::DL_VLAN_PCP;
            }
            Oxm::IpDscp(d) => {
                r.nw_tos = d << 2;
                r.wildcards &= !w::NW_TOS;
            }
            Oxm::IpProto(p) => {
                r.nw_proto = *p;
                r.wildcards &= !w::NW_PROTO;
            }
            Oxm::ArpOp(op) if *op <= 0xff => {
                r.nw_proto = *op as u8;
                r.wildcards &= !w::NW_PROTO;
            }
            Oxm::Ipv4Src(x) | Oxm::ArpSpa(x) => {
                let (a, wild) = cidr(x.value, x.mask, "nw_src")?;
                r.nw_src = a;
                r.wildcards = (r.wildcards & !w::NW_SRC_MASK) | wild << w::NW_SRC_SHIFT;
            }
            Oxm::Ipv4Dst(x) | Oxm::ArpTpa(x) => {
                let (a, wild) = cidr(x.value, x.mask, "nw_dst")?;
                r.nw_dst = a;
                r.wildcards = (r.wildcards & !w::NW_DST_MASK) | wild << w::NW_DST_SHIFT;
            }
            Oxm::TcpSrc(p) | Oxm::UdpSrc(p) => {
                r.tp_src = *p;
                r.wildcards &= !w::TP_SRC;
            }
            Oxm::TcpDst(p) | Oxm::UdpDst(p) => {
                r.tp_dst = *p;
                r.wildcards &= !w::TP_DST;
            }
            Oxm::Icmpv4Type(t) => {
                r.tp_src = *t as u16;
                r.wildcards &= !w::TP_SRC;
            }
            Oxm::Icmpv4Code(c) => {
                r.tp_dst = *c as u16;
                r.wildcards &= !w::TP_DST;
            }
            other => {
                let (n, _) = fmt_oxm(other);
                return Err((
                    "",
                    format!("{n} is not expressible in OpenFlow 1.0 (use OpenFlow 1.3)"),
                ));
            }
        }
    }
    let _ = vid_any_tagged; // dl_vlan_pcp alone: 1.0 matches the PCP of tagged packets
    Ok(r)
}

/// Widen a 1.0 match to OXM (fields that are wildcarded are left out).
pub(crate) fn widen(m: &v10::Match) -> Match {
    let mut out = Vec::new();
    let wild = |b: u32| m.wildcards & b != 0;
    if !wild(w::IN_PORT) {
        let p = m.in_port as u32;
        out.push(Oxm::InPort(if p >= 0xfff8 { p + 0xffff_0000 } else { p }));
    }
    if !wild(w::DL_DST) {
        out.push(Oxm::EthDst(Masked::exact(MacAddr(m.dl_dst))));
    }
    if !wild(w::DL_SRC) {
        out.push(Oxm::EthSrc(Masked::exact(MacAddr(m.dl_src))));
    }
    if !wild(w::DL_TYPE) {
        out.push(Oxm::EthType(m.dl_type));
    }
    if !wild(w::DL_VLAN) {
        if m.dl_vlan == v10::VLAN_NONE {
            out.push(Oxm::VlanVid(Masked::exact(0)));
        } else {
            out.push(Oxm::VlanVid(Masked::exact(
                OFPVID_PRESENT | (m.dl_vlan & 0xfff),
            )));
        }
    }
    if !wild(w::DL_VLAN_PCP) && (m.dl_vlan != v10::VLAN_NONE || wild(w::DL_VLAN)) {
        if wild(w::DL_VLAN) {
            out.push(Oxm::VlanVid(Masked::with_mask(
                OFPVID_PRESENT,
                OFPVID_PRESENT,
            )));
        }
        out.push(Oxm::VlanPcp(m.dl_vlan_pcp));
    }
    let et = (!wild(w::DL_TYPE)).then_some(m.dl_type);
    let arp = matches!(et, Some(ETH_ARP | ETH_RARP));
    if !wild(w::NW_TOS) {
        out.push(Oxm::IpDscp(m.nw_tos >> 2));
    }
    let proto = (!wild(w::NW_PROTO)).then_some(m.nw_proto);
    if let Some(p) = proto {
        out.push(if arp {
            Oxm::ArpOp(p as u16)
        } else {
            Oxm::IpProto(p)
        });
    }
    let addr = |a: u32, wbits: u32| {
        let mask = prefix32(32 - wbits);
        Masked {
            value: Ipv4Addr::from(a & mask),
            mask: (mask != u32::MAX).then_some(Ipv4Addr::from(mask)),
        }
    };
    if m.nw_src_wild_bits() < 32 {
        let x = addr(m.nw_src, m.nw_src_wild_bits());
        out.push(if arp { Oxm::ArpSpa(x) } else { Oxm::Ipv4Src(x) });
    }
    if m.nw_dst_wild_bits() < 32 {
        let x = addr(m.nw_dst, m.nw_dst_wild_bits());
        out.push(if arp { Oxm::ArpTpa(x) } else { Oxm::Ipv4Dst(x) });
    }
    if !wild(w::TP_SRC) {
        out.push(match proto {
            Some(IPPROTO_ICMP) => Oxm::Icmpv4Type(m.tp_src as u8),
            Some(IPPROTO_UDP) => Oxm::UdpSrc(m.tp_src),
            _ => Oxm::TcpSrc(m.tp_src),
        });
    }
    if !wild(w::TP_DST) {
        out.push(match proto {
            Some(IPPROTO_ICMP) => Oxm::Icmpv4Code(m.tp_dst as u8),
            Some(IPPROTO_UDP) => Oxm::UdpDst(m.tp_dst),
            _ => Oxm::TcpDst(m.tp_dst),
        });
    }
    Match::from_fields(out)
}

/// Print an OpenFlow 1.0 match in ovs-ofctl syntax.
pub fn print_match10(m: &v10::Match) -> String {
    fmt_match13(&widen(m), None)
}

fn fmt_flags10(flags: u16) -> Vec<String> {
    let mut out = Vec::new();
    if flags & v10::flow_mod_flags::SEND_FLOW_REM != 0 {
        out.push("send_flow_rem".to_string());
    }
    if flags & v10::flow_mod_flags::CHECK_OVERLAP != 0 {
        out.push("check_overlap".to_string());
    }
    let rest = flags & !3;
    if rest != 0 {
        out.push(format!("flags=0x{rest:x}"));
    }
    out
}

/// Print a 1.0 FLOW_MOD in the add-flow syntax [`parse_flow10`] reads back.
pub fn print_flow_mod10(fm: &v10::FlowMod) -> String {
    use v10::FlowModCommand as C;
    let mut parts = Vec::new();
    if fm.cookie != 0 {
        parts.push(format!("cookie=0x{:x}", fm.cookie));
    }
    if fm.idle_timeout != 0 {
        parts.push(format!("idle_timeout={}", fm.idle_timeout));
    }
    if fm.hard_timeout != 0 {
        parts.push(format!("hard_timeout={}", fm.hard_timeout));
    }
    if fm.buffer_id != v10::NO_BUFFER {
        parts.push(format!("buffer_id={}", fm.buffer_id));
    }
    if fm.out_port != v10::port_no::NONE {
        parts.push(format!("out_port={}", fmt_port10(fm.out_port)));
    }
    parts.extend(fmt_flags10(fm.flags));
    let m = fmt_match13(
        &widen(&fm.r#match),
        (fm.priority != DEFAULT_PRIORITY).then_some(fm.priority),
    );
    if !m.is_empty() {
        parts.push(m);
    }
    let mut s = parts.join(",");
    let is_del = matches!(fm.command, C::Delete | C::DeleteStrict);
    if !is_del || !fm.actions.is_empty() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str("actions=");
        s.push_str(&fmt_actions10(&fm.actions));
    }
    s
}

/// Print a 1.0 flow entry the way `ovs-ofctl dump-flows` does.
pub fn print_flow_stats10(fs: &v10::FlowStats) -> String {
    let mut s = format!(
        " cookie=0x{:x}, duration={}, table={}, n_packets={}, n_bytes={}, ",
        fs.cookie,
        fmt_duration(fs.duration_sec, fs.duration_nsec),
        fs.table_id,
        fs.packet_count,
        fs.byte_count
    );
    if fs.idle_timeout != 0 {
        s.push_str(&format!("idle_timeout={}, ", fs.idle_timeout));
    }
    if fs.hard_timeout != 0 {
        s.push_str(&format!("hard_timeout={}, ", fs.hard_timeout));
    }
    let m = fmt_match13(
        &widen(&fs.r#match),
        (fs.priority != DEFAULT_PRIORITY).then_some(fs.priority),
    );
    if !m.is_empty() {
        s.push_str(&m);
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&fmt_actions10(&fs.actions));
    s
}
