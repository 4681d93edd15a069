//! `actions=`: OpenFlow 1.3 actions and instructions, OpenFlow 1.0 actions, both ways
//! (ovs-actions(7)). In 1.3, bare actions form the apply-actions instruction and the
//! `mod_*` actions become `set_field`, as ovs-ofctl sends them.

use bytes::Bytes;

use super::fields::*;
use super::lex::{split, Tok};
use super::value::*;
use super::FlowParseError;
use crate::v10;
use crate::v13::action::OFPCML_NO_BUFFER;
use crate::v13::oxm::field as f;
use crate::v13::{Action, ActionList, Instruction, InstructionList, Match, Oxm};

fn err(t: &Tok<'_>, msg: impl Into<String>) -> FlowParseError {
    FlowParseError::new(t.col, msg)
}

fn need<'a>(t: &Tok<'a>) -> Result<&'a str, FlowParseError> {
    match t.value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(err(
            t,
            format!("{} needs an argument ({}:VALUE)", t.key, t.key),
        )),
    }
}

fn no_value(t: &Tok<'_>) -> Result<(), FlowParseError> {
    match t.value {
        None => Ok(()),
        Some(_) => Err(err(t, format!("{} takes no argument", t.key))),
    }
}

/// Parse a number argument of an action.
fn num(t: &Tok<'_>, max: u64) -> Result<u64, FlowParseError> {
    let v = need(t)?;
    parse_uint(v, t.key, max).map_err(|e| FlowParseError::new(t.value_col, e))
}

fn is_port_name(k: &str) -> bool {
    [
        "in_port",
        "normal",
        "flood",
        "all",
        "controller",
        "local",
        "table",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(k))
        || k.bytes().all(|c| c.is_ascii_digit())
        || k.starts_with("0x")
}

/// The `controller` action's argument: `N`, `max_len=N`, or nothing.
fn controller_len(t: &Tok<'_>) -> Result<u16, FlowParseError> {
    let Some(v) = t.value else {
        return Ok(OFPCML_NO_BUFFER);
    };
    let mut len = OFPCML_NO_BUFFER;
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let n = match item.split_once('=') {
            Some(("max_len", n)) => n,
            Some((k, _)) => {
                return Err(FlowParseError::new(
                    t.value_col,
                    format!("controller: unsupported argument \"{k}\" (only max_len is)"),
                ))
            }
            None => item,
        };
        len = parse_uint(n, "controller max_len", 0xffff)
            .map_err(|e| FlowParseError::new(t.value_col, e))? as u16;
    }
    Ok(len)
}

/// Match context the 1.3 `mod_*` actions need.
struct Ctx {
    et: Option<u16>,
    proto: Option<u8>,
    /// Whether the packet carries a VLAN tag at this point of the action list.
    tagged: bool,
    /// After push_mpls/pop_mpls the match no longer says what the packet is.
    l3_known: bool,
}

fn set_field(oxm: Oxm) -> Action {
    Action::SetField(oxm)
}

/// Parse an OpenFlow 1.3 `actions=` value into instructions.
pub(crate) fn parse_actions13(
    text: &str,
    col: usize,
    m: &Match,
) -> Result<InstructionList, FlowParseError> {
    let et = m.fields.iter().find_map(|o| match o {
        Oxm::EthType(v) => Some(*v),
        _ => None,
    });
    let proto = m.fields.iter().find_map(|o| match o {
        Oxm::IpProto(v) => Some(*v),
        _ => None,
    });
    let tagged = m.fields.iter().any(|o| {
        matches!(o, Oxm::VlanVid(x) if x.value & 0x1000 != 0 && x.mask.is_none_or(|m| m & 0x1000 != 0))
    });
    let mut ctx = Ctx {
        et,
        proto,
        tagged,
        l3_known: true,
    };
    let toks = split(text, col, None)?;
    let mut apply = ActionList::new();
    let mut have_apply = false;
    // Instructions other than apply-actions, by OVS's required order.
    let mut meter = None;
    let mut clear = false;
    let mut write: Option<ActionList> = None;
    let mut metadata = None;
    let mut goto = None;
    let dup = |t: &Tok<'_>| err(t, format!("{} given twice", t.key));
    for t in &toks {
        match t.key {
            "drop" => {
                no_value(t)?;
                if toks.len() > 1 {
                    return Err(err(t, "drop must be the only action"));
                }
            }
            "meter" => {
                if meter.replace(num(t, u32::MAX as u64)? as u32).is_some() {
                    return Err(dup(t));
                }
            }
            "clear_actions" => {
                no_value(t)?;
                if std::mem::replace(&mut clear, true) {
                    return Err(dup(t));
                }
            }
            "write_actions" => {
                let inner = need(t).unwrap_or("");
                let mut list = ActionList::new();
                let mut c2 = Ctx { ..ctx };
                for it in split(inner, t.value_col, None)? {
                    parse_action13(&it, &mut c2, &mut list)?;
                }
                if write.replace(list).is_some() {
                    return Err(dup(t));
                }
            }
            "write_metadata" => {
                let v = need(t)?;
                let (md, mask) = parse_uint_masked(v, "write_metadata", u64::MAX)
                    .map_err(|e| FlowParseError::new(t.value_col, e))?;
                let mask = mask.unwrap_or(u64::MAX);
                if metadata.replace((md & mask, mask)).is_some() {
                    return Err(dup(t));
                }
            }
            "goto_table" => {
                if goto.replace(num(t, 254)? as u8).is_some() {
                    return Err(dup(t));
                }
            }
            "apply_actions" => {
                let inner = need(t).unwrap_or("");
                for it in split(inner, t.value_col, None)? {
                    parse_action13(&it, &mut ctx, &mut apply)?;
                }
                have_apply = true;
            }
            _ => {
                parse_action13(t, &mut ctx, &mut apply)?;
                have_apply = true;
            }
        }
    }
    let mut out = InstructionList::new();
    if let Some(m) = meter {
        out.push(Instruction::Meter(m));
    }
    if have_apply && !apply.is_empty() {
        out.push(Instruction::ApplyActions(apply));
    }
    if clear {
        out.push(Instruction::ClearActions);
    }
    if let Some(w) = write {
        out.push(Instruction::WriteActions(w));
    }
    if let Some((metadata, mask)) = metadata {
        out.push(Instruction::WriteMetadata { metadata, mask });
    }
    if let Some(g) = goto {
        out.push(Instruction::GotoTable(g));
    }
    Ok(out)
}

/// A port an action may send to. OFPP_ANY (also written NONE, or 0xffff as in 1.0) is a
/// wildcard for deletes and stats requests only (1.3.5 section 7.2.1), never an output.
fn output_port13(s: &str, name: &str) -> Result<u32, String> {
    let port = parse_port13(s, name)?;
    if port == port13::ANY {
        return Err(format!(
            "{name}:{s} names no port (ANY/NONE is a wildcard for deletes and statistics, not an output)"
        ));
    }
    Ok(port)
}

fn parse_action13(t: &Tok<'_>, ctx: &mut Ctx, out: &mut ActionList) -> Result<(), FlowParseError> {
    let vcol = t.value_col;
    let verr = |e: String| FlowParseError::new(vcol, e);
    let key = t.key.to_ascii_lowercase();
    match key.as_str() {
        "output" => {
            let v = need(t)?;
            let port = output_port13(v, "output").map_err(verr)?;
            let max_len = if port == port13::CONTROLLER {
                OFPCML_NO_BUFFER
            } else {
                0
            };
            out.push(Action::Output { port, max_len });
        }
        "controller" => out.push(Action::Output {
            port: port13::CONTROLLER,
            max_len: controller_len(t)?,
        }),
        k if t.value.is_none() && is_port_name(k) => {
            let port = output_port13(t.key, "output").map_err(|e| err(t, e))?;
            let max_len = if port == port13::CONTROLLER {
                OFPCML_NO_BUFFER
            } else {
                0
            };
            out.push(Action::Output { port, max_len });
        }
        "enqueue" => {
            let (p, q) = enqueue_args(t)?;
            out.push(Action::SetQueue(q));
            out.push(Action::Output {
                port: output_port13(p, "enqueue").map_err(verr)?,
                max_len: 0,
            });
        }
        "mod_vlan_vid" => {
            let vid = num(t, 0xfff)? as u16;
            if !ctx.tagged {
                out.push(Action::PushVlan(0x8100));
                ctx.tagged = true;
            }
            out.push(set_field(Oxm::VlanVid(crate::v13::Masked::exact(
                vid | 0x1000,
            ))));
        }
        "mod_vlan_pcp" => {
            let pcp = num(t, 7)? as u8;
            if !ctx.tagged {
                out.push(Action::PushVlan(0x8100));
                ctx.tagged = true;
            }
            out.push(set_field(Oxm::VlanPcp(pcp)));
        }
        "strip_vlan" | "pop_vlan" => {
            no_value(t)?;
            ctx.tagged = false;
            out.push(Action::PopVlan);
        }
        "push_vlan" => {
            let et = num(t, 0xffff)? as u16;
            if et != 0x8100 && et != 0x88a8 {
                return Err(verr(format!(
                    "push_vlan:0x{et:04x}: the ethertype must be 0x8100 or 0x88a8"
                )));
            }
            ctx.tagged = true;
            out.push(Action::PushVlan(et));
        }
        "push_mpls" => {
            let et = num(t, 0xffff)? as u16;
            if et != ETH_MPLS && et != ETH_MPLS_MC {
                return Err(verr(format!(
                    "push_mpls:0x{et:04x}: the ethertype must be 0x8847 or 0x8848"
                )));
            }
            ctx.l3_known = false;
            out.push(Action::PushMpls(et));
        }
        "pop_mpls" => {
            ctx.l3_known = false;
            out.push(Action::PopMpls(num(t, 0xffff)? as u16));
        }
        "push_pbb" => out.push(Action::PushPbb(num(t, 0xffff)? as u16)),
        "pop_pbb" => {
            no_value(t)?;
            out.push(Action::PopPbb);
        }
        "mod_dl_src" | "mod_dl_dst" => {
            let mac = parse_mac(need(t)?, t.key).map_err(verr)?;
            let x = crate::v13::Masked::exact(mac);
            out.push(set_field(if key == "mod_dl_src" {
                Oxm::EthSrc(x)
            } else {
                Oxm::EthDst(x)
            }));
        }
        "mod_nw_src" | "mod_nw_dst" => {
            let a = parse_ipv4(need(t)?, t.key).map_err(verr)?;
            let x = crate::v13::Masked::exact(a);
            let src = key == "mod_nw_src";
            let arp = matches!(ctx.et, Some(ETH_ARP | ETH_RARP));
            if ctx.l3_known && !arp && ctx.et != Some(ETH_IP) {
                return Err(err(
                    t,
                    format!("{} requires ip in the match (write ip)", t.key),
                ));
            }
            out.push(set_field(match (arp, src) {
                (true, true) => Oxm::ArpSpa(x),
                (true, false) => Oxm::ArpTpa(x),
                (false, true) => Oxm::Ipv4Src(x),
                (false, false) => Oxm::Ipv4Dst(x),
            }));
        }
        "mod_nw_tos" => {
            let tos = num(t, 255)?;
            if tos & 3 != 0 {
                return Err(verr(format!(
                    "mod_nw_tos:{tos} sets ECN bits; it must be a multiple of 4 (use mod_nw_ecn)"
                )));
            }
            check_l3(t, ctx)?;
            out.push(set_field(Oxm::IpDscp((tos >> 2) as u8)));
        }
        "mod_nw_ecn" => {
            let ecn = num(t, 3)? as u8;
            check_l3(t, ctx)?;
            out.push(set_field(Oxm::IpEcn(ecn)));
        }
        "mod_tp_src" | "mod_tp_dst" => {
            let p = num(t, 0xffff)? as u16;
            let src = key == "mod_tp_src";
            let fno = match ctx.proto {
                Some(IPPROTO_TCP) => {
                    if src {
                        f::TCP_SRC
                    } else {
                        f::TCP_DST
                    }
                }
                Some(IPPROTO_UDP) => {
                    if src {
                        f::UDP_SRC
                    } else {
                        f::UDP_DST
                    }
                }
                Some(IPPROTO_SCTP) => {
                    if src {
                        f::SCTP_SRC
                    } else {
                        f::SCTP_DST
                    }
                }
                _ => {
                    return Err(err(
                        t,
                        format!("{} requires tcp, udp or sctp in the match", t.key),
                    ))
                }
            };
            out.push(set_field(port_oxm(fno, p, None)));
        }
        "dec_ttl" => {
            no_value(t)?;
            out.push(Action::DecNwTtl);
        }
        "set_ttl" | "mod_nw_ttl" | "set_nw_ttl" => out.push(Action::SetNwTtl(num(t, 255)? as u8)),
        "set_mpls_ttl" => out.push(Action::SetMplsTtl(num(t, 255)? as u8)),
        "dec_mpls_ttl" => {
            no_value(t)?;
            out.push(Action::DecMplsTtl);
        }
        "copy_ttl_out" => {
            no_value(t)?;
            out.push(Action::CopyTtlOut);
        }
        "copy_ttl_in" => {
            no_value(t)?;
            out.push(Action::CopyTtlIn);
        }
        "set_queue" => out.push(Action::SetQueue(num(t, u32::MAX as u64)? as u32)),
        "group" => out.push(Action::Group(num(t, u32::MAX as u64)? as u32)),
        "set_field" => {
            let v = need(t)?;
            let Some((val, name)) = v.rsplit_once("->") else {
                return Err(verr(format!(
                    "set_field:{v}: expected set_field:VALUE->FIELD"
                )));
            };
            let name = name.trim();
            if let Some(fno) = nxm_field_by_name(name) {
                // nw_ttl, tun_src, tun_dst: the NXM_1-class OXM, as Open vSwitch sends it.
                if val.contains('/') {
                    return Err(verr(format!(
                        "set_field:{v}: OpenFlow 1.3 set_field sets whole fields (a mask needs OpenFlow 1.5)"
                    )));
                }
                if ctx.l3_known {
                    if let Some(e) = nxm_prereq_error(fno, name, ctx.et) {
                        return Err(err(t, format!("set_field:...->{e}")));
                    }
                }
                match parse_nxm(fno, name, val).map_err(verr)? {
                    Some(o) => out.push(set_field(o)),
                    None => return Err(verr(format!("set_field:{v}: nothing to set"))),
                }
                return Ok(());
            }
            let Some(fno) = oxm_field_by_name(name) else {
                return Err(verr(format!("set_field: unknown field \"{name}\"")));
            };
            if val.contains('/') {
                return Err(verr(format!(
                    "set_field:{v}: OpenFlow 1.3 set_field sets whole fields (a mask needs OpenFlow 1.5)"
                )));
            }
            if ctx.l3_known {
                if let Some(e) = set_field_prereq(fno, name, ctx) {
                    return Err(err(t, e));
                }
            }
            match parse_oxm(fno, name, val).map_err(verr)? {
                Some(o) => {
                    // As Open vSwitch: the VLAN fields exist only in a tagged packet.
                    if matches!(o, Oxm::VlanVid(_) | Oxm::VlanPcp(_)) && !ctx.tagged {
                        return Err(err(
                            t,
                            format!("set_field:{v} needs a VLAN tag (match dl_vlan, or push_vlan first)"),
                        ));
                    }
                    out.push(set_field(o))
                }
                None => return Err(verr(format!("set_field:{v}: nothing to set"))),
            }
        }
        // As ovs-ofctl sends them in OpenFlow 1.3: a set_field of tun_id.
        "set_tunnel" | "set_tunnel64" => {
            let id = num(t, u64::MAX)?;
            out.push(set_field(Oxm::TunnelId(crate::v13::Masked::exact(id))));
        }
        "load" | "move" => {
            return Err(err(
                t,
                format!(
                "{} is a Nicira extension action, not supported here; use set_field:VALUE->FIELD",
                t.key
            ),
            ))
        }
        "goto_table" | "write_metadata" | "write_actions" | "clear_actions" | "meter" => {
            return Err(err(
                t,
                format!(
                    "{} is an instruction, not allowed inside write_actions or apply_actions",
                    t.key
                ),
            ))
        }
        _ => match super::ct::parse_ct_action(t)? {
            Some(a) => out.push(a),
            None => return Err(err(t, format!("unknown action \"{}\"", t.key))),
        },
    }
    Ok(())
}

fn check_l3(t: &Tok<'_>, ctx: &Ctx) -> Result<(), FlowParseError> {
    if ctx.l3_known && !matches!(ctx.et, Some(ETH_IP | ETH_IPV6)) {
        return Err(err(
            t,
            format!("{} requires ip or ipv6 in the match", t.key),
        ));
    }
    Ok(())
}

/// set_field needs what matching the field would need (OVS answers
/// OFPBAC_MATCH_INCONSISTENT otherwise); VLAN fields are exempt (the action list may push
/// a tag first).
fn set_field_prereq(fno: u8, name: &str, ctx: &Ctx) -> Option<String> {
    let e = super::fields::prereq_for_action(fno, name, ctx.et, ctx.proto)?;
    Some(format!("set_field:...->{}", e))
}

fn enqueue_args<'a>(t: &Tok<'a>) -> Result<(&'a str, u32), FlowParseError> {
    let v = need(t)?;
    let (p, q) = v
        .split_once([':', ','])
        .ok_or_else(|| err(t, "enqueue needs a port and a queue (enqueue:PORT:QUEUE)"))?;
    let q = parse_uint(q.trim(), "enqueue queue", u32::MAX as u64)
        .map_err(|e| FlowParseError::new(t.value_col, e))?;
    Ok((p.trim(), q as u32))
}

// ---------------------------------------------------------------------------------------
// Printing 1.3.

/// One 1.3 action as ovs-ofctl prints it.
pub(crate) fn fmt_action13(a: &Action) -> String {
    match a {
        Action::Output { port, max_len } => match *port {
            port13::CONTROLLER => format!("CONTROLLER:{max_len}"),
            p if p >= port13::MAX => fmt_port13(p),
            p => format!("output:{p}"),
        },
        Action::CopyTtlOut => "copy_ttl_out".into(),
        Action::CopyTtlIn => "copy_ttl_in".into(),
        Action::SetMplsTtl(t) => format!("set_mpls_ttl({t})"),
        Action::DecMplsTtl => "dec_mpls_ttl".into(),
        Action::PushVlan(et) => format!("push_vlan:0x{et:04x}"),
        Action::PopVlan => "pop_vlan".into(),
        Action::PushMpls(et) => format!("push_mpls:0x{et:04x}"),
        Action::PopMpls(et) => format!("pop_mpls:0x{et:04x}"),
        Action::SetQueue(q) => format!("set_queue:{q}"),
        Action::Group(g) => format!("group:{g}"),
        Action::SetNwTtl(t) => format!("mod_nw_ttl:{t}"),
        Action::DecNwTtl => "dec_ttl".into(),
        Action::SetField(o) => {
            let (n, v) = fmt_oxm(o);
            format!("set_field:{v}->{n}")
        }
        Action::PushPbb(et) => format!("push_pbb:0x{et:04x}"),
        Action::PopPbb => "pop_pbb".into(),
        Action::Experimenter { experimenter, data } => {
            if let Some(s) = super::ct::fmt_ct_action(a) {
                return s;
            }
            format!("experimenter(0x{experimenter:08x},{})", hex(data))
        }
    }
}

pub(crate) fn hex(b: &Bytes) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn fmt_actions13(list: &[Action]) -> String {
    list.iter().map(fmt_action13).collect::<Vec<_>>().join(",")
}

/// Instructions as ovs-ofctl prints them after `actions=`; `drop` for none.
pub(crate) fn fmt_instructions13(list: &[Instruction]) -> String {
    let mut parts = Vec::new();
    for i in list {
        match i {
            Instruction::ApplyActions(a) => {
                if !a.is_empty() {
                    parts.push(fmt_actions13(a))
                }
            }
            Instruction::WriteActions(a) => {
                parts.push(format!("write_actions({})", fmt_actions13(a)))
            }
            Instruction::ClearActions => parts.push("clear_actions".into()),
            Instruction::GotoTable(t) => parts.push(format!("goto_table:{t}")),
            Instruction::Meter(m) => parts.push(format!("meter:{m}")),
            Instruction::WriteMetadata { metadata, mask } => {
                if *mask == u64::MAX {
                    parts.push(format!("write_metadata:0x{metadata:x}"))
                } else {
                    parts.push(format!("write_metadata:0x{metadata:x}/0x{mask:x}"))
                }
            }
            Instruction::Experimenter { experimenter, data } => parts.push(format!(
                "experimenter_instruction(0x{experimenter:08x},{})",
                hex(data)
            )),
        }
    }
    if parts.is_empty() {
        "drop".into()
    } else {
        parts.join(",")
    }
}

// ---------------------------------------------------------------------------------------
// OpenFlow 1.0.

/// As [`output_port13`], for 1.0 (OFPP_NONE, 0xffff, is no output port either).
fn output_port10(s: &str, name: &str) -> Result<u16, String> {
    output_port13(s, name)?;
    parse_port10(s, name)
}

pub(crate) fn parse_actions10(text: &str, col: usize) -> Result<Vec<v10::Action>, FlowParseError> {
    use v10::Action as A;
    let toks = split(text, col, None)?;
    let mut out = Vec::new();
    for t in &toks {
        let vcol = t.value_col;
        let verr = |e: String| FlowParseError::new(vcol, e);
        let key = t.key.to_ascii_lowercase();
        match key.as_str() {
            "drop" => {
                no_value(t)?;
                if toks.len() > 1 {
                    return Err(err(t, "drop must be the only action"));
                }
            }
            "output" => {
                let port = output_port10(need(t)?, "output").map_err(verr)?;
                let max_len = if port == v10::port_no::CONTROLLER {
                    0xffff
                } else {
                    0
                };
                out.push(A::Output { port, max_len });
            }
            "controller" => out.push(A::Output {
                port: v10::port_no::CONTROLLER,
                max_len: controller_len(t)?,
            }),
            k if t.value.is_none() && is_port_name(k) => {
                let port = output_port10(t.key, "output").map_err(|e| err(t, e))?;
                let max_len = if port == v10::port_no::CONTROLLER {
                    0xffff
                } else {
                    0
                };
                out.push(A::Output { port, max_len });
            }
            "enqueue" => {
                let (p, queue_id) = enqueue_args(t)?;
                out.push(A::Enqueue {
                    port: output_port10(p, "enqueue").map_err(verr)?,
                    queue_id,
                });
            }
            "mod_vlan_vid" => out.push(A::SetVlanVid(num(t, 0xfff)? as u16)),
            "mod_vlan_pcp" => out.push(A::SetVlanPcp(num(t, 7)? as u8)),
            "strip_vlan" | "pop_vlan" => {
                no_value(t)?;
                out.push(A::StripVlan);
            }
            "mod_dl_src" => out.push(A::SetDlSrc(parse_mac(need(t)?, t.key).map_err(verr)?.0)),
            "mod_dl_dst" => out.push(A::SetDlDst(parse_mac(need(t)?, t.key).map_err(verr)?.0)),
            "mod_nw_src" => out.push(A::SetNwSrc(
                parse_ipv4(need(t)?, t.key).map_err(verr)?.into(),
            )),
            "mod_nw_dst" => out.push(A::SetNwDst(
                parse_ipv4(need(t)?, t.key).map_err(verr)?.into(),
            )),
            "mod_nw_tos" => {
                let tos = num(t, 255)?;
                if tos & 3 != 0 {
                    return Err(verr(format!("mod_nw_tos:{tos} must be a multiple of 4")));
                }
                out.push(A::SetNwTos(tos as u8));
            }
            "mod_tp_src" => out.push(A::SetTpSrc(num(t, 0xffff)? as u16)),
            "mod_tp_dst" => out.push(A::SetTpDst(num(t, 0xffff)? as u16)),
            _ => {
                return Err(err(
                    t,
                    format!(
                        "unknown action \"{}\" (or not available in OpenFlow 1.0)",
                        t.key
                    ),
                ))
            }
        }
    }
    Ok(out)
}

pub(crate) fn fmt_action10(a: &v10::Action) -> String {
    use v10::Action as A;
    match a {
        A::Output { port, max_len } => match *port {
            v10::port_no::CONTROLLER => format!("CONTROLLER:{max_len}"),
            p if p >= 0xfff8 => fmt_port10(p),
            p => format!("output:{p}"),
        },
        A::SetVlanVid(v) => format!("mod_vlan_vid:{v}"),
        A::SetVlanPcp(v) => format!("mod_vlan_pcp:{v}"),
        A::StripVlan => "strip_vlan".into(),
        A::SetDlSrc(m) => format!("mod_dl_src:{}", crate::v13::MacAddr(*m)),
        A::SetDlDst(m) => format!("mod_dl_dst:{}", crate::v13::MacAddr(*m)),
        A::SetNwSrc(a) => format!("mod_nw_src:{}", std::net::Ipv4Addr::from(*a)),
        A::SetNwDst(a) => format!("mod_nw_dst:{}", std::net::Ipv4Addr::from(*a)),
        A::SetNwTos(t) => format!("mod_nw_tos:{t}"),
        A::SetTpSrc(p) => format!("mod_tp_src:{p}"),
        A::SetTpDst(p) => format!("mod_tp_dst:{p}"),
        A::Enqueue { port, queue_id } => format!("enqueue:{}:{queue_id}", fmt_port10(*port)),
        A::Vendor { vendor, data } => format!("vendor(0x{vendor:08x},{})", hex(data)),
    }
}

pub(crate) fn fmt_actions10(list: &[v10::Action]) -> String {
    if list.is_empty() {
        "drop".into()
    } else {
        list.iter().map(fmt_action10).collect::<Vec<_>>().join(",")
    }
}
