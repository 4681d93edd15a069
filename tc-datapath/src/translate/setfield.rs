//! Set-field of the ARP, ICMP, IPv6 flow label and ND target fields: pedit at the field's
//! fixed place in its header, and act_csum where a checksum covers it.
//!
//! pedit's network header is where the kernel's receive path put it: the ARP header for
//! ARP, the IP header for IP; its transport header the ICMP header. The places:
//! - ARP (RFC 826 for Ethernet and IPv4): op at 6, sha 8, spa 14, tha 18, tpa 24; no
//!   checksum;
//! - ICMPv4/ICMPv6: type at 0, code at 1 of the transport header; the ICMP checksum
//!   (act_csum's ICMP flag covers ICMPv6 too, pseudo-header included);
//! - IPv6 flow label: the low 20 bits of the first word of the IPv6 header; no checksum;
//! - ND target: byte 8 of a neighbour solicitation or advertisement (ICMPv6 type 135 or
//!   136 in the match), 16 bytes; the ICMPv6 checksum.
//!
//! ND's source and target link-layer addresses are options whose place depends on the
//! options before them: a fixed offset would write over whatever is there, so a set of
//! them is refused.

use ofproto::v13::errors::bad_action;
use ofproto::v13::oxm::Oxm;

use super::{refuse, MatchCtx, Refusal, ETH_ARP, ETH_IP, ETH_IPV6};
use crate::filter::{csum, PeditHeader, PeditKey};

/// The pedit keys and act_csum flags of a set-field of `f`, or `None` for a field this
/// module does not handle.
pub(super) fn keys(
    f: &Oxm,
    ctx: &MatchCtx,
    icmp_type: Option<u8>,
) -> Option<Result<(Vec<PeditKey>, u32), Refusal>> {
    use PeditHeader::*;
    let set = PeditKey::set_bytes;
    let arp = |off: u32, bytes: &[u8], what: &str| {
        if ctx.eth_type != Some(ETH_ARP) {
            return refuse(
                bad_action::MATCH_INCONSISTENT,
                format!("set_field {what} needs eth_type 0x0806 in the match"),
            );
        }
        // pedit's IPv4 header type means "the network header", which is ARP's here.
        Ok((set(Ip4, off, bytes), 0))
    };
    let icmp = |v4: bool, off: u32, b: u8, what: &str| {
        let (et, proto) = if v4 { (ETH_IP, 1) } else { (ETH_IPV6, 58) };
        if ctx.eth_type != Some(et) || ctx.ip_proto != Some(proto) {
            return refuse(
                bad_action::MATCH_INCONSISTENT,
                format!(
                    "set_field {what} needs eth_type {et:#06x} and ip_proto {proto} in the match"
                ),
            );
        }
        // pedit's TCP header type means "the transport header", ICMP's here.
        Ok((set(Tcp, off, &[b]), csum::ICMP))
    };
    Some(match f {
        Oxm::ArpOp(op) => arp(6, &op.to_be_bytes(), "arp_op"),
        Oxm::ArpSha(m) => arp(8, &m.value.0, "arp_sha"),
        Oxm::ArpSpa(m) => arp(14, &m.value.octets(), "arp_spa"),
        Oxm::ArpTha(m) => arp(18, &m.value.0, "arp_tha"),
        Oxm::ArpTpa(m) => arp(24, &m.value.octets(), "arp_tpa"),
        Oxm::Icmpv4Type(t) => icmp(true, 0, *t, "icmpv4_type"),
        Oxm::Icmpv4Code(c) => icmp(true, 1, *c, "icmpv4_code"),
        Oxm::Icmpv6Type(t) => icmp(false, 0, *t, "icmpv6_type"),
        Oxm::Icmpv6Code(c) => icmp(false, 1, *c, "icmpv6_code"),
        Oxm::Ipv6Flabel(m) => {
            if ctx.eth_type != Some(ETH_IPV6) {
                return Some(refuse(
                    bad_action::MATCH_INCONSISTENT,
                    "set_field ipv6_flabel needs eth_type 0x86dd in the match",
                ));
            }
            if m.value > 0xf_ffff {
                return Some(refuse(
                    bad_action::BAD_SET_ARGUMENT,
                    "ipv6_flabel is 20 bits",
                ));
            }
            let v = m.value.to_be_bytes();
            Ok((
                PeditKey::set_bits(Ip6, 1, &[v[1] & 0x0f, v[2], v[3]], &[0x0f, 0xff, 0xff]),
                0,
            ))
        }
        Oxm::Ipv6NdTarget(a) => {
            if ctx.eth_type != Some(ETH_IPV6)
                || ctx.ip_proto != Some(58)
                || !matches!(icmp_type, Some(135 | 136))
            {
                return Some(refuse(
                    bad_action::MATCH_INCONSISTENT,
                    "set_field ipv6_nd_target needs eth_type 0x86dd, ip_proto 58 and icmpv6_type 135 or 136 in the match",
                ));
            }
            Ok((set(Tcp, 8, &a.octets()), csum::ICMP))
        }
        Oxm::Ipv6NdSll(_) | Oxm::Ipv6NdTll(_) => refuse(
            bad_action::BAD_SET_TYPE,
            "set_field ipv6_nd_sll/ipv6_nd_tll: the link-layer address is an ND option whose place varies with the options before it, and TC's pedit writes at a fixed offset",
        ),
        _ => return None,
    })
}
