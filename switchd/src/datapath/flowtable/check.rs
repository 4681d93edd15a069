//! The checks of a FLOW_MOD's match and actions and of a METER_MOD that do not depend on
//! the table: what any kernel could carry out (7.3.4), refused with the error the spec
//! names before the table or the backend sees the message.

use bytes::BytesMut;
use ofproto::v13::errors::{bad_action, bad_match, meter_mod_failed};
use ofproto::v13::{self, port, Oxm};
use tc_datapath::Refusal;

/// 7.3.4.4: what a meter must be for any kernel: one band (TC police has one rate), a
/// drop band, a rate, and not both kbps and pktps.
pub(super) fn check_meter(mm: &v13::MeterMod) -> Result<(), Refusal> {
    const KBPS: u16 = 1;
    const PKTPS: u16 = 2;
    if mm.flags & KBPS != 0 && mm.flags & PKTPS != 0 || mm.flags & !0xf != 0 {
        return Err(Refusal::new(
            meter_mod_failed::BAD_FLAGS,
            format!("meter flags 0x{:x}", mm.flags),
        ));
    }
    match &mm.bands[..] {
        [] => Err(Refusal::new(
            meter_mod_failed::BAD_BAND,
            "a meter needs a band",
        )),
        [v13::MeterBand::Drop { rate, .. }] if *rate == 0 => {
            Err(Refusal::new(meter_mod_failed::BAD_RATE, "band rate 0"))
        }
        [v13::MeterBand::Drop { .. }] => Ok(()),
        [_] => Err(Refusal::new(
            meter_mod_failed::BAD_BAND,
            "only drop bands are supported",
        )),
        _ => Err(Refusal::new(
            meter_mod_failed::OUT_OF_BANDS,
            "one band per meter is supported",
        )),
    }
}

pub(crate) fn check_action(a: &v13::Action) -> Result<(), Refusal> {
    match a {
        v13::Action::Output { port: p, .. } => {
            let reserved_ok = matches!(
                *p,
                port::IN_PORT
                    | port::NORMAL
                    | port::FLOOD
                    | port::ALL
                    | port::CONTROLLER
                    | port::LOCAL
            );
            // 7.2.5: output to port 0, ANY, TABLE (packet-out only) or an unassigned
            // reserved number is OFPBAC_BAD_OUT_PORT.
            if *p == 0 || (*p > port::MAX && !reserved_ok) {
                return Err(Refusal::new(
                    bad_action::BAD_OUT_PORT,
                    format!("output to port 0x{p:x}"),
                ));
            }
        }
        // Whether the group exists is the caller's to check (the flow table's groups).
        v13::Action::Group(_) => {}
        v13::Action::SetQueue(q) => {
            return Err(Refusal::new(
                bad_action::BAD_QUEUE,
                format!("no queue {q}: this switch has no queues"),
            ))
        }
        // Open vSwitch's ct and ct_clear: the translation decides (tc-datapath translate/ct.rs).
        v13::Action::Experimenter { .. } if v13::nx_ct::NxCtAction::is_ct(a) => {}
        v13::Action::Experimenter { experimenter, .. } => {
            return Err(Refusal::new(
                bad_action::BAD_EXPERIMENTER,
                format!("experimenter action 0x{experimenter:08x}"),
            ))
        }
        _ => {}
    }
    Ok(())
}

/// A match checked as 7.2.3 asks: only fields of the basic class (others are
/// OFPBMC_BAD_FIELD, a mask on a field that allows none OFPBMC_BAD_MASK), no value bits
/// outside the mask (OFPBMC_BAD_WILDCARDS), valid in_port, and every prerequisite present
/// (7.2.3.6, OFPBMC_BAD_PREREQ).
pub(super) fn check_match(m: &v13::Match) -> Result<(), Refusal> {
    use v13::oxm::field as f;
    for o in &m.fields {
        if let Oxm::Opaque(op) = o {
            if tc_datapath::translate::opaque_match_field_translates(op) {
                continue;
            }
            let e = if op.class == v13::oxm::OXM_CLASS_OPENFLOW_BASIC {
                bad_match::BAD_MASK
            } else {
                bad_match::BAD_FIELD
            };
            return Err(Refusal::new(
                e,
                format!("match field class 0x{:04x} field {}", op.class, op.field),
            ));
        }
        if o.has_mask() {
            let mut b = BytesMut::new();
            o.encode(&mut b);
            let p = &b[4..];
            let (v, mk) = p.split_at(p.len() / 2);
            if v.iter().zip(mk).any(|(v, m)| v & !m != 0) {
                return Err(Refusal::new(
                    bad_match::BAD_WILDCARDS,
                    format!(
                        "field {} has value bits outside its mask",
                        o.basic_field().unwrap_or(0)
                    ),
                ));
            }
        }
        if let Oxm::InPort(p) | Oxm::InPhyPort(p) = o {
            if *p == 0 || (*p > port::MAX && *p != port::LOCAL && *p != port::CONTROLLER) {
                return Err(Refusal::new(
                    bad_match::BAD_VALUE,
                    format!("in_port 0x{p:x}"),
                ));
            }
        }
    }
    let get = |n: u8| m.fields.iter().find(|o| o.basic_field() == Some(n));
    let eth_type = m.fields.iter().find_map(|o| match o {
        Oxm::EthType(t) => Some(*t),
        _ => None,
    });
    let ip_proto = m.fields.iter().find_map(|o| match o {
        Oxm::IpProto(p) => Some(*p),
        _ => None,
    });
    let icmp6_type = m.fields.iter().find_map(|o| match o {
        Oxm::Icmpv6Type(t) => Some(*t),
        _ => None,
    });
    let ip = matches!(eth_type, Some(0x0800 | 0x86dd));
    let prereq = |field: u8| -> Option<&'static str> {
        let ok = match field {
            f::IN_PHY_PORT => get(f::IN_PORT).is_some(),
            f::VLAN_PCP => {
                matches!(get(f::VLAN_VID), Some(Oxm::VlanVid(v)) if v.value & v13::oxm::OFPVID_PRESENT != 0 || v.mask.is_some())
            }
            f::IP_DSCP | f::IP_ECN | f::IP_PROTO => ip,
            f::IPV4_SRC | f::IPV4_DST => eth_type == Some(0x0800),
            f::TCP_SRC | f::TCP_DST => ip && ip_proto == Some(6),
            f::UDP_SRC | f::UDP_DST => ip && ip_proto == Some(17),
            f::SCTP_SRC | f::SCTP_DST => ip && ip_proto == Some(132),
            f::ICMPV4_TYPE | f::ICMPV4_CODE => eth_type == Some(0x0800) && ip_proto == Some(1),
            f::ARP_OP | f::ARP_SPA | f::ARP_TPA | f::ARP_SHA | f::ARP_THA => {
                eth_type == Some(0x0806)
            }
            f::IPV6_SRC | f::IPV6_DST | f::IPV6_FLABEL | f::IPV6_EXTHDR => eth_type == Some(0x86dd),
            f::ICMPV6_TYPE | f::ICMPV6_CODE => eth_type == Some(0x86dd) && ip_proto == Some(58),
            f::IPV6_ND_TARGET => eth_type == Some(0x86dd) && matches!(icmp6_type, Some(135 | 136)),
            f::IPV6_ND_SLL => eth_type == Some(0x86dd) && icmp6_type == Some(135),
            f::IPV6_ND_TLL => eth_type == Some(0x86dd) && icmp6_type == Some(136),
            f::MPLS_LABEL | f::MPLS_TC | f::MPLS_BOS => matches!(eth_type, Some(0x8847 | 0x8848)),
            f::PBB_ISID | f::PBB_UCA => eth_type == Some(0x88e7),
            _ => true,
        };
        (!ok).then_some("a prerequisite field is missing or has another value")
    };
    for o in &m.fields {
        if let Some(n) = o.basic_field() {
            if let Some(why) = prereq(n) {
                return Err(Refusal::new(
                    bad_match::BAD_PREREQ,
                    format!("match field {n}: {why}"),
                ));
            }
        }
    }
    Ok(())
}
