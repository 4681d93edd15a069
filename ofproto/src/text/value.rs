//! Value syntax shared by fields and actions: integers (decimal or `0x` hex), masks after
//! `/`, Ethernet and IP addresses with prefixes or masks, port names; and their printed
//! forms as Open vSwitch writes them.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::v13::MacAddr;

/// An error sentence, without its column (the caller knows the token).
pub(crate) type VResult<T> = Result<T, String>;

/// Parse an unsigned integer: decimal, or hex after `0x`.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 16 {
            return None;
        }
        u64::from_str_radix(h, 16).ok()
    } else if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// An integer of at most `max`, for field (or action) `name`.
pub(crate) fn parse_uint(s: &str, name: &str, max: u64) -> VResult<u64> {
    let v = parse_u64(s).ok_or_else(|| format!("\"{s}\" is not a number (for {name})"))?;
    if v > max {
        return Err(format!("value {s} out of range for {name} (0..{max})"));
    }
    Ok(v)
}

/// `V` or `V/MASK`, both integers of at most `max`.
pub(crate) fn parse_uint_masked(s: &str, name: &str, max: u64) -> VResult<(u64, Option<u64>)> {
    match s.split_once('/') {
        None => Ok((parse_uint(s, name, max)?, None)),
        Some((v, m)) => Ok((parse_uint(v, name, max)?, Some(parse_uint(m, name, max)?))),
    }
}

pub(crate) fn parse_mac(s: &str, name: &str) -> VResult<MacAddr> {
    let mut out = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!(
            "\"{s}\" is not an Ethernet address (for {name}; write xx:xx:xx:xx:xx:xx)"
        ));
    }
    for (o, p) in out.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return Err(format!("\"{s}\" is not an Ethernet address (for {name})"));
        }
        *o = u8::from_str_radix(p, 16)
            .map_err(|_| format!("\"{s}\" is not an Ethernet address (for {name})"))?;
    }
    Ok(MacAddr(out))
}

pub(crate) fn parse_mac_masked(s: &str, name: &str) -> VResult<(MacAddr, Option<MacAddr>)> {
    match s.split_once('/') {
        None => Ok((parse_mac(s, name)?, None)),
        Some((v, m)) => Ok((parse_mac(v, name)?, Some(parse_mac(m, name)?))),
    }
}

pub(crate) fn parse_ipv4(s: &str, name: &str) -> VResult<Ipv4Addr> {
    s.parse()
        .map_err(|_| format!("\"{s}\" is not an IPv4 address (for {name})"))
}

/// `A`, `A/PREFIXLEN` or `A/MASK`.
pub(crate) fn parse_ipv4_masked(s: &str, name: &str) -> VResult<(Ipv4Addr, Option<Ipv4Addr>)> {
    match s.split_once('/') {
        None => Ok((parse_ipv4(s, name)?, None)),
        Some((a, m)) => {
            let a = parse_ipv4(a, name)?;
            let mask = if m.contains('.') {
                parse_ipv4(m, name)?
            } else {
                let n = parse_uint(m, &format!("the prefix length of {name}"), 32)? as u32;
                Ipv4Addr::from(prefix32(n))
            };
            Ok((a, Some(mask)))
        }
    }
}

pub(crate) fn parse_ipv6(s: &str, name: &str) -> VResult<Ipv6Addr> {
    s.parse()
        .map_err(|_| format!("\"{s}\" is not an IPv6 address (for {name})"))
}

pub(crate) fn parse_ipv6_masked(s: &str, name: &str) -> VResult<(Ipv6Addr, Option<Ipv6Addr>)> {
    match s.split_once('/') {
        None => Ok((parse_ipv6(s, name)?, None)),
        Some((a, m)) => {
            let a = parse_ipv6(a, name)?;
            let mask = if m.contains(':') {
                parse_ipv6(m, name)?
            } else {
                let n = parse_uint(m, &format!("the prefix length of {name}"), 128)? as u32;
                Ipv6Addr::from(prefix128(n))
            };
            Ok((a, Some(mask)))
        }
    }
}

pub(crate) fn prefix32(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        u32::MAX << (32 - n)
    }
}

pub(crate) fn prefix128(n: u32) -> u128 {
    if n == 0 {
        0
    } else {
        u128::MAX << (128 - n)
    }
}

/// `Some(n)` if `m` is a CIDR mask of `n` bits.
fn cidr32(m: u32) -> Option<u32> {
    let n = m.leading_ones();
    (prefix32(n) == m).then_some(n)
}

fn cidr128(m: u128) -> Option<u32> {
    let n = m.leading_ones();
    (prefix128(n) == m).then_some(n)
}

/// `a.b.c.d`, `a.b.c.d/N` for prefix masks, `a.b.c.d/m.m.m.m` otherwise (OVS
/// `format_ip_netmask`).
pub(crate) fn fmt_ipv4_masked(a: Ipv4Addr, mask: Option<Ipv4Addr>) -> String {
    match mask.map(u32::from) {
        None | Some(u32::MAX) => a.to_string(),
        Some(m) => match cidr32(m) {
            Some(n) => format!("{a}/{n}"),
            None => format!("{a}/{}", Ipv4Addr::from(m)),
        },
    }
}

pub(crate) fn fmt_ipv6_masked(a: Ipv6Addr, mask: Option<Ipv6Addr>) -> String {
    match mask.map(u128::from) {
        None | Some(u128::MAX) => a.to_string(),
        Some(m) => match cidr128(m) {
            Some(n) => format!("{a}/{n}"),
            None => format!("{a}/{}", Ipv6Addr::from(m)),
        },
    }
}

pub(crate) fn fmt_mac_masked(a: MacAddr, mask: Option<MacAddr>) -> String {
    match mask {
        None | Some(MacAddr([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) => a.to_string(),
        Some(m) => format!("{a}/{m}"),
    }
}

/// OpenFlow 1.3 reserved ports (`enum ofp_port_no`), by their short names.
pub(crate) use crate::v13::port as port13;

pub(crate) use crate::v13::{OFPG_ANY, OFPTT_ALL};

const PORT_NAMES: [(&str, u32); 9] = [
    ("IN_PORT", port13::IN_PORT),
    ("TABLE", port13::TABLE),
    ("NORMAL", port13::NORMAL),
    ("FLOOD", port13::FLOOD),
    ("ALL", port13::ALL),
    ("CONTROLLER", port13::CONTROLLER),
    ("LOCAL", port13::LOCAL),
    ("ANY", port13::ANY),
    ("NONE", port13::ANY),
];

/// A port as OpenFlow 1.3 numbers it: a name, or a number. As ovs-ofctl does, the
/// OpenFlow 1.0 reserved numbers 0xfff8..0xffff mean the matching 1.3 reserved ports.
pub(crate) fn parse_port13(s: &str, name: &str) -> VResult<u32> {
    if let Some((_, p)) = PORT_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(*p);
    }
    let v = parse_u64(s).ok_or_else(|| {
        format!("\"{s}\" is not a port (for {name}; write a number or LOCAL, CONTROLLER, IN_PORT, NORMAL, FLOOD, ALL, ANY)")
    })?;
    if v > u32::MAX as u64 {
        return Err(format!("port {s} out of range for {name} (0..4294967295)"));
    }
    let v = v as u32;
    Ok(if (0xfff8..=0xffff).contains(&v) {
        v + 0xffff_0000
    } else {
        v
    })
}

/// Ports as OVS prints them: reserved ports by name, others by number.
pub fn fmt_port13(p: u32) -> String {
    match p {
        port13::IN_PORT => "IN_PORT".into(),
        port13::TABLE => "TABLE".into(),
        port13::NORMAL => "NORMAL".into(),
        port13::FLOOD => "FLOOD".into(),
        port13::ALL => "ALL".into(),
        port13::CONTROLLER => "CONTROLLER".into(),
        port13::LOCAL => "LOCAL".into(),
        port13::ANY => "ANY".into(),
        _ => p.to_string(),
    }
}

/// A 1.0 port: the same names, 16-bit numbers.
pub(crate) fn parse_port10(s: &str, name: &str) -> VResult<u16> {
    let p = parse_port13(s, name)?;
    if p >= 0xffff_fff8 {
        return Ok((p - 0xffff_0000) as u16);
    }
    if p > 0xff00 {
        return Err(format!(
            "port {s} out of range for {name} in OpenFlow 1.0 (0..65280)"
        ));
    }
    Ok(p as u16)
}

pub(crate) fn fmt_port10(p: u16) -> String {
    if p >= 0xfff8 {
        match fmt_port13(p as u32 + 0xffff_0000) {
            s if s == "ANY" => "NONE".into(),
            s => s,
        }
    } else {
        p.to_string()
    }
}

/// TCP flag names, bit 0 first (OVS `packet_tcp_flag_to_string`).
const TCP_FLAGS: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];
/// The 12 bits of the TCP flags field.
pub(crate) const TCP_FLAGS_MAX: u16 = 0x0fff;

fn tcp_flag_name(bit: u16) -> String {
    let i = bit.trailing_zeros() as usize;
    match TCP_FLAGS.get(i) {
        Some(n) => (*n).to_string(),
        None => format!("[{bit:x}]"),
    }
}

/// `+syn-ack` (the listed bits must be set / clear), `syn|ack` (exactly these), or
/// `0x012/0x0ff` as numbers.
pub(crate) fn parse_tcp_flags(s: &str) -> VResult<(u16, Option<u16>)> {
    if s.starts_with('+') || s.starts_with('-') {
        let (mut v, mut m) = (0u16, 0u16);
        let mut rest = s;
        while !rest.is_empty() {
            let set = rest.starts_with('+');
            if !set && !rest.starts_with('-') {
                return Err(format!("\"{s}\" is not a tcp_flags value (write +syn-ack)"));
            }
            rest = &rest[1..];
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let name = &rest[..end];
            let bit = TCP_FLAGS
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| format!("unknown TCP flag \"{name}\" in tcp_flags"))?;
            m |= 1 << bit;
            if set {
                v |= 1 << bit;
            }
            rest = &rest[end..];
        }
        return Ok((v, Some(m)));
    }
    if let Ok((v, m)) = parse_uint_masked(s, "tcp_flags", TCP_FLAGS_MAX as u64) {
        return Ok((v as u16, m.map(|m| m as u16)));
    }
    let mut v = 0u16;
    for name in s.split('|') {
        let bit = TCP_FLAGS
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| format!("unknown TCP flag \"{name}\" in tcp_flags"))?;
        v |= 1 << bit;
    }
    Ok((v, None))
}

/// OVS `format_flags_masked`.
pub(crate) fn fmt_tcp_flags(v: u16, mask: Option<u16>) -> String {
    let m = mask.unwrap_or(TCP_FLAGS_MAX);
    let unnamed = |x: u16| x & !0x1ff != 0;
    if v > TCP_FLAGS_MAX || m > TCP_FLAGS_MAX || unnamed(v) || (m != TCP_FLAGS_MAX && unnamed(m)) {
        // Bits without a name: numbers read back where OVS's `[200]` would not.
        return match mask {
            None => format!("0x{v:03x}"),
            Some(m) => format!("0x{v:03x}/0x{m:03x}"),
        };
    }
    if m == TCP_FLAGS_MAX {
        if v == 0 {
            return "0".into();
        }
        let names: Vec<String> = (0..12)
            .map(|i| 1u16 << i)
            .filter(|b| v & b != 0)
            .map(tcp_flag_name)
            .collect();
        return names.join("|");
    }
    let mut s = String::new();
    for b in (0..12).map(|i| 1u16 << i).filter(|b| m & b != 0) {
        s.push(if v & b != 0 { '+' } else { '-' });
        s.push_str(&tcp_flag_name(b));
    }
    s
}
