//! The kernel's connection-tracking entries, read through ctnetlink (NETLINK_NETFILTER,
//! subsystem NFNL_SUBSYS_CTNETLINK): the entries that act_ct and flower's ct keys of the
//! `ct` translation create and look up, for `switchctl show conntrack`.
//!
//! ```text
//! request:  | nlmsghdr: type = CTNETLINK << 8 | IPCTNL_MSG_CT_GET, flags = REQUEST|DUMP |
//!           | nfgenmsg: family : 8 (AF_UNSPEC: both) | version : 8 (0) | res_id : be16 (0) |
//! answer:   one IPCTNL_MSG_CT_NEW per entry, then NLMSG_DONE:
//!           | nfgenmsg (family of the entry) | CTA_TUPLE_ORIG | CTA_TUPLE_REPLY | CTA_STATUS |
//!           | CTA_TIMEOUT | CTA_MARK | CTA_PROTOINFO | CTA_ZONE (absent in zone 0) | CTA_LABELS |
//! CTA_TUPLE_*: | CTA_TUPLE_IP: CTA_IP_V4_SRC/DST or V6 | CTA_TUPLE_PROTO: CTA_PROTO_NUM,
//!              | SRC_PORT/DST_PORT (be16) or ICMP(V6)_ID/TYPE/CODE |
//! ```
//!
//! The dump is of every entry of the network namespace; the caller keeps the zones it
//! wants. The kernel can filter a dump by zone only with CTA_FILTER (Linux 5.8+) and never
//! by the default zone 0 (`ctnetlink_filter_match` ignores a filter zone of 0), so it is
//! done here, the same way on every kernel.
//!
//! Numbers from `include/uapi/linux/netfilter/nfnetlink.h`, `nfnetlink_conntrack.h` and
//! `nf_conntrack_common.h`. Parsing takes no `unwrap` on what the kernel sent: an entry
//! that does not parse is counted and skipped.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

use crate::nla::{self, attrs, NlaError};
use crate::uapi::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_DUMP, NLM_F_REQUEST};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_PROTOINFO: u16 = 4;
const CTA_TIMEOUT: u16 = 7;
const CTA_MARK: u16 = 8;
const CTA_ID: u16 = 12;
const CTA_ZONE: u16 = 18;
const CTA_LABELS: u16 = 22;

const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;

const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;

const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_ID: u16 = 4;
const CTA_PROTO_ICMP_TYPE: u16 = 5;
const CTA_PROTO_ICMP_CODE: u16 = 6;
const CTA_PROTO_ICMPV6_ID: u16 = 7;
const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
const CTA_PROTO_ICMPV6_CODE: u16 = 9;

const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;

/// `IPS_*` bits of CTA_STATUS that an operator reads (conntrack(8) prints the same words).
pub mod status {
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const OFFLOAD: u32 = 1 << 14;
    pub const HW_OFFLOAD: u32 = 1 << 15;
}

/// `enum tcp_conntrack`, as conntrack(8) and Open vSwitch name the states.
const TCP_STATES: [&str; 10] = [
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];

/// The transport part of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L4 {
    /// TCP, UDP, SCTP, ...: the ports.
    Ports { src: u16, dst: u16 },
    /// ICMP and ICMPv6: the echo id, type and code.
    Icmp { id: u16, ty: u8, code: u8 },
    /// A protocol without ports.
    #[default]
    None,
}

/// One direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    pub l4: L4,
}

/// One connection-tracking entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtEntry {
    pub orig: Tuple,
    pub reply: Tuple,
    /// The zone (CTA_ZONE; absent means the default zone, 0).
    pub zone: u16,
    /// `IPS_*` bits.
    pub status: u32,
    /// Seconds until the entry expires; `None` while act_ct's flow table holds the
    /// connection (status OFFLOAD: the kernel then gives neither timeout nor TCP state).
    pub timeout: Option<u32>,
    pub mark: u32,
    /// The 128 label bits as Open vSwitch's `ct_label` reads them (bit 0 is label 0).
    pub labels: u128,
    /// The TCP state (`enum tcp_conntrack`), for TCP.
    pub tcp_state: Option<u8>,
    pub id: u32,
}

impl CtEntry {
    /// The protocol's name as conntrack(8) prints it.
    pub fn proto_name(&self) -> String {
        match self.orig.proto {
            1 => "icmp".into(),
            6 => "tcp".into(),
            17 => "udp".into(),
            33 => "dccp".into(),
            58 => "icmpv6".into(),
            132 => "sctp".into(),
            136 => "udplite".into(),
            n => n.to_string(),
        }
    }

    /// The TCP state's name, or `None` for other protocols.
    pub fn tcp_state_name(&self) -> Option<String> {
        self.tcp_state.map(|s| {
            TCP_STATES
                .get(usize::from(s))
                .map_or_else(|| format!("state {s}"), |n| n.to_string())
        })
    }

    /// What CTA_STATUS says, in conntrack(8)'s words: UNREPLIED until a reply was seen,
    /// ASSURED, SNAT, DNAT, OFFLOAD (HW_OFFLOAD).
    pub fn status_words(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.status & status::SEEN_REPLY == 0 {
            v.push("UNREPLIED");
        }
        if self.status & status::ASSURED != 0 {
            v.push("ASSURED");
        }
        if self.status & status::SRC_NAT != 0 {
            v.push("SNAT");
        }
        if self.status & status::DST_NAT != 0 {
            v.push("DNAT");
        }
        if self.status & status::HW_OFFLOAD != 0 {
            v.push("HW_OFFLOAD");
        } else if self.status & status::OFFLOAD != 0 {
            v.push("OFFLOAD");
        }
        v
    }
}

/// The IPCTNL_MSG_CT_GET dump request of every entry (both address families).
pub fn dump_request(seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(NLMSG_HDRLEN + 4);
    m.extend_from_slice(&((NLMSG_HDRLEN + 4) as u32).to_ne_bytes());
    m.extend_from_slice(&(NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0.
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

fn ip(p: &[u8]) -> Result<IpAddr, NlaError> {
    match p.len() {
        4 => Ok(IpAddr::from(nla::get_arr::<4>(p)?)),
        16 => Ok(IpAddr::from(nla::get_arr::<16>(p)?)),
        _ => Err(NlaError("conntrack address of neither 4 nor 16 bytes")),
    }
}

fn parse_tuple(data: &[u8]) -> Result<Tuple, NlaError> {
    let (mut src, mut dst, mut proto) = (None, None, None);
    let (mut sport, mut dport) = (None, None);
    let (mut id, mut ty, mut code) = (None, None, None);
    for a in attrs(data) {
        let (t, p) = a?;
        match t {
            CTA_TUPLE_IP => {
                for a in attrs(p) {
                    let (t, p) = a?;
                    match t {
                        CTA_IP_V4_SRC | CTA_IP_V6_SRC => src = Some(ip(p)?),
                        CTA_IP_V4_DST | CTA_IP_V6_DST => dst = Some(ip(p)?),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for a in attrs(p) {
                    let (t, p) = a?;
                    match t {
                        CTA_PROTO_NUM => proto = Some(nla::get_u8(p)?),
                        CTA_PROTO_SRC_PORT => sport = Some(nla::get_be16(p)?),
                        CTA_PROTO_DST_PORT => dport = Some(nla::get_be16(p)?),
                        CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => id = Some(nla::get_be16(p)?),
                        CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => ty = Some(nla::get_u8(p)?),
                        CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => code = Some(nla::get_u8(p)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let l4 = match (sport, dport, ty) {
        (Some(src), Some(dst), _) => L4::Ports { src, dst },
        (_, _, Some(ty)) => L4::Icmp {
            id: id.unwrap_or(0),
            ty,
            code: code.unwrap_or(0),
        },
        _ => L4::None,
    };
    Ok(Tuple {
        src: src.ok_or(NlaError("conntrack tuple without a source address"))?,
        dst: dst.ok_or(NlaError("conntrack tuple without a destination address"))?,
        proto: proto.ok_or(NlaError("conntrack tuple without a protocol"))?,
        l4,
    })
}

/// One IPCTNL_MSG_CT_NEW's payload (after the netlink header): nfgenmsg, then attributes.
pub fn parse_entry(payload: &[u8]) -> Result<CtEntry, NlaError> {
    let body = payload
        .get(4..)
        .ok_or(NlaError("conntrack message shorter than nfgenmsg"))?;
    let (mut orig, mut reply) = (None, None);
    let mut e = CtEntry {
        orig: Tuple {
            src: IpAddr::from([0u8; 4]),
            dst: IpAddr::from([0u8; 4]),
            proto: 0,
            l4: L4::None,
        },
        reply: Tuple {
            src: IpAddr::from([0u8; 4]),
            dst: IpAddr::from([0u8; 4]),
            proto: 0,
            l4: L4::None,
        },
        zone: 0,
        status: 0,
        timeout: None,
        mark: 0,
        labels: 0,
        tcp_state: None,
        id: 0,
    };
    for a in attrs(body) {
        let (t, p) = a?;
        match t {
            CTA_TUPLE_ORIG => orig = Some(parse_tuple(p)?),
            CTA_TUPLE_REPLY => reply = Some(parse_tuple(p)?),
            CTA_STATUS => e.status = nla::get_be32(p)?,
            CTA_TIMEOUT => e.timeout = Some(nla::get_be32(p)?),
            CTA_MARK => e.mark = nla::get_be32(p)?,
            CTA_ID => e.id = nla::get_be32(p)?,
            CTA_ZONE => e.zone = nla::get_be16(p)?,
            // The kernel's label bitmap (unsigned longs, bit n is label n) in host order:
            // as act_ct and flower take ct_label (TCA_CT_LABELS), and Open vSwitch's u128.
            CTA_LABELS => {
                let mut b = [0u8; 16];
                let n = p.len().min(16);
                b[..n].copy_from_slice(&p[..n]);
                e.labels = u128::from_ne_bytes(b);
            }
            CTA_PROTOINFO => {
                for a in attrs(p) {
                    let (t, p) = a?;
                    if t == CTA_PROTOINFO_TCP {
                        for a in attrs(p) {
                            let (t, p) = a?;
                            if t == CTA_PROTOINFO_TCP_STATE {
                                e.tcp_state = Some(nla::get_u8(p)?);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    e.orig = orig.ok_or(NlaError("conntrack entry without its original tuple"))?;
    e.reply = reply.ok_or(NlaError("conntrack entry without its reply tuple"))?;
    Ok(e)
}

/// What one received datagram of the dump held.
#[derive(Debug, Default)]
struct Part {
    entries: Vec<CtEntry>,
    malformed: u64,
    done: bool,
}

/// Read the messages of one datagram of the dump with sequence number `seq`.
fn parse_datagram(mut data: &[u8], seq: u32, part: &mut Part) -> io::Result<()> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(io::Error::other("truncated ctnetlink message"));
        }
        let ty = u16::from_ne_bytes([data[4], data[5]]);
        let mseq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
        let payload = &data[NLMSG_HDRLEN..len];
        data = &data[((len + 3) & !3).min(data.len())..];
        if mseq != seq {
            continue;
        }
        match ty {
            NLMSG_DONE => part.done = true,
            NLMSG_ERROR => {
                let err = nla::get_i32(payload).map_err(|e| io::Error::other(e.0))?;
                if err != 0 {
                    return Err(io::Error::from_raw_os_error(-err));
                }
            }
            t if t == NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW => {
                match parse_entry(payload) {
                    Ok(e) => part.entries.push(e),
                    Err(_) => part.malformed += 1,
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every entry of this network namespace, and how many did not parse. Needs
/// CAP_NET_ADMIN (every nfnetlink request does). Blocking, with a 5 s limit per datagram:
/// the kernel fills each datagram of a dump as it is read.
pub fn dump() -> io::Result<(Vec<CtEntry>, u64)> {
    let mut s = Socket::new(NETLINK_NETFILTER).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open a NETLINK_NETFILTER socket (nfnetlink): {e}"),
        )
    })?;
    s.bind_auto()?;
    let fd = s.as_raw_fd();
    let tv = libc::timeval {
        tv_sec: 5,
        tv_usec: 0,
    };
    // SAFETY: fd is a valid socket; tv is a timeval of the given size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let seq = 1;
    s.send(&dump_request(seq), 0)?;
    let mut buf = vec![0u8; 64 << 10];
    let mut part = Part::default();
    while !part.done {
        let n = s
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EAGAIN) => io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the kernel did not finish the conntrack dump within 5 s",
                ),
                _ => e,
            })?;
        parse_datagram(&buf[..n], seq, &mut part).map_err(|e| match e.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOENT) => io::Error::new(
                e.kind(),
                format!("kernel lacks ctnetlink (CONFIG_NF_CT_NETLINK, nf_conntrack_netlink): {e}"),
            ),
            _ => e,
        })?;
    }
    Ok((part.entries, part.malformed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One IPCTNL_MSG_CT_NEW of a dump as Linux 6.1 lays it out (`ctnetlink_fill_info`,
    /// the netlink header dropped), byte by byte: a TCP connection 10.77.0.1:45678 ->
    /// 10.77.0.2:8080 in zone 1, ESTABLISHED, ASSURED, mark 7, label bit 0.
    fn tcp_in_zone_1() -> Vec<u8> {
        let mut v: Vec<u8> = vec![
            0x02, 0x00, 0x00, 0x00, // nfgenmsg: AF_INET, v0, res_id 0
            // CTA_TUPLE_ORIG (nested, 52 bytes)
            0x34, 0x00, 0x01, 0x80, //
            0x14, 0x00, 0x01, 0x80, // CTA_TUPLE_IP (nested, 20)
            0x08, 0x00, 0x01, 0x00, 10, 77, 0, 1, // CTA_IP_V4_SRC
            0x08, 0x00, 0x02, 0x00, 10, 77, 0, 2, // CTA_IP_V4_DST
            0x1c, 0x00, 0x02, 0x80, // CTA_TUPLE_PROTO (nested, 28)
            0x05, 0x00, 0x01, 0x00, 6, 0, 0, 0, // CTA_PROTO_NUM tcp
            0x06, 0x00, 0x02, 0x00, 0xb2, 0x6e, 0, 0, // CTA_PROTO_SRC_PORT 45678
            0x06, 0x00, 0x03, 0x00, 0x1f, 0x90, 0, 0, // CTA_PROTO_DST_PORT 8080
            // CTA_TUPLE_REPLY (nested, 52 bytes)
            0x34, 0x00, 0x02, 0x80, //
            0x14, 0x00, 0x01, 0x80, //
            0x08, 0x00, 0x01, 0x00, 10, 77, 0, 2, //
            0x08, 0x00, 0x02, 0x00, 10, 77, 0, 1, //
            0x1c, 0x00, 0x02, 0x80, //
            0x05, 0x00, 0x01, 0x00, 6, 0, 0, 0, //
            0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0, 0, //
            0x06, 0x00, 0x03, 0x00, 0xb2, 0x6e, 0, 0, //
            0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
            0x8e, // CTA_STATUS: SEEN_REPLY|ASSURED|CONFIRMED|SRC_NAT_DONE|DST_NAT_DONE
            0x08, 0x00, 0x07, 0x00, 0x00, 0x06, 0x97, 0x78, // CTA_TIMEOUT 431992
            0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x07, // CTA_MARK 7
            // CTA_PROTOINFO { CTA_PROTOINFO_TCP { STATE 3, WSCALE 7/7, FLAGS } }
            0x30, 0x00, 0x04, 0x80, //
            0x2c, 0x00, 0x01, 0x80, //
            0x05, 0x00, 0x01, 0x00, 3, 0, 0, 0, //
            0x05, 0x00, 0x02, 0x00, 7, 0, 0, 0, //
            0x05, 0x00, 0x03, 0x00, 7, 0, 0, 0, //
            0x06, 0x00, 0x04, 0x00, 0x27, 0x00, 0, 0, //
            0x06, 0x00, 0x05, 0x00, 0x27, 0x00, 0, 0, //
            0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, // CTA_USE 1
            0x08, 0x00, 0x0c, 0x00, 0x5d, 0x2a, 0x41, 0x9c, // CTA_ID
            0x06, 0x00, 0x12, 0x00, 0x00, 0x01, 0, 0, // CTA_ZONE 1
        ];
        // CTA_LABELS: 16 bytes, bit 0 set (the first unsigned long's lowest bit).
        v.extend_from_slice(&[0x14, 0x00, 0x16, 0x00]);
        let mut labels = [0u8; 16];
        labels[..8].copy_from_slice(&1u64.to_ne_bytes());
        v.extend_from_slice(&labels);
        v
    }

    #[test]
    fn a_tcp_entry_in_zone_1_parses_field_by_field() {
        let e = parse_entry(&tcp_in_zone_1()).expect("parses");
        let a = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(
            e.orig,
            Tuple {
                src: a("10.77.0.1"),
                dst: a("10.77.0.2"),
                proto: 6,
                l4: L4::Ports {
                    src: 45678,
                    dst: 8080
                }
            }
        );
        assert_eq!(e.reply.src, a("10.77.0.2"));
        assert_eq!(
            e.reply.l4,
            L4::Ports {
                src: 8080,
                dst: 45678
            }
        );
        assert_eq!(e.zone, 1);
        assert_eq!(e.mark, 7);
        assert_eq!(e.labels, 1);
        assert_eq!(e.timeout, Some(431992));
        assert_eq!(e.id, 0x5d2a_419c);
        assert_eq!(e.proto_name(), "tcp");
        assert_eq!(e.tcp_state_name().as_deref(), Some("ESTABLISHED"));
        assert_eq!(e.status_words(), vec!["ASSURED"]);
    }

    /// Captured in the VM (Linux 6.1, `regress/vm`): a TCP connection 10.77.0.1:45678 ->
    /// 10.77.0.2:8080 through `tc ... action ct commit zone 1 mark 7` in a namespace,
    /// dumped with a raw NETLINK_NETFILTER socket (the netlink header dropped). act_ct had
    /// moved it to its flow table: status OFFLOAD, and no CTA_TIMEOUT or CTA_PROTOINFO.
    const CAPTURED_OFFLOADED: &str = "020000003400018014000180080001000a4d0001080002000a4d00021c000280050001000600000006000200b26e0000060003001f9000003400028014000180080001000a4d0002080002000a4d00011c0002800500010006000000060002001f90000006000300b26e00000600120000010000080003000000400e080008000000000708000c0081dbe2bf08000b0000000002";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn a_captured_offloaded_entry_has_no_timeout_and_no_tcp_state() {
        let e = parse_entry(&unhex(CAPTURED_OFFLOADED)).expect("parses");
        assert_eq!(e.zone, 1);
        assert_eq!(e.mark, 7);
        assert_eq!(e.proto_name(), "tcp");
        assert_eq!(
            e.orig.l4,
            L4::Ports {
                src: 45678,
                dst: 8080
            }
        );
        assert_eq!(e.reply.src, "10.77.0.2".parse::<IpAddr>().expect("address"));
        assert_eq!(e.status_words(), vec!["ASSURED", "OFFLOAD"]);
        assert_eq!(e.timeout, None);
        assert_eq!(e.tcp_state, None);
        assert_eq!(e.labels, 0);
        assert_eq!(e.id, 0x81db_e2bf);
        // Every cut of it is an error or a shorter entry, never a panic.
        let b = unhex(CAPTURED_OFFLOADED);
        for cut in 0..b.len() {
            let _ = parse_entry(&b[..cut]);
        }
    }

    #[test]
    fn zone_0_is_the_absent_attribute_and_icmp_has_id_type_code() {
        let v: Vec<u8> = vec![
            0x02, 0x00, 0x00, 0x00, //
            0x34, 0x00, 0x01, 0x80, //
            0x14, 0x00, 0x01, 0x80, //
            0x08, 0x00, 0x01, 0x00, 10, 0, 0, 1, //
            0x08, 0x00, 0x02, 0x00, 10, 0, 0, 2, //
            0x1c, 0x00, 0x02, 0x80, //
            0x05, 0x00, 0x01, 0x00, 1, 0, 0, 0, // icmp
            0x06, 0x00, 0x04, 0x00, 0x04, 0xd2, 0, 0, // id 1234
            0x05, 0x00, 0x05, 0x00, 8, 0, 0, 0, // type 8
            0x05, 0x00, 0x06, 0x00, 0, 0, 0, 0, // code 0
            0x34, 0x00, 0x02, 0x80, //
            0x14, 0x00, 0x01, 0x80, //
            0x08, 0x00, 0x01, 0x00, 10, 0, 0, 2, //
            0x08, 0x00, 0x02, 0x00, 10, 0, 0, 1, //
            0x1c, 0x00, 0x02, 0x80, //
            0x05, 0x00, 0x01, 0x00, 1, 0, 0, 0, //
            0x06, 0x00, 0x04, 0x00, 0x04, 0xd2, 0, 0, //
            0x05, 0x00, 0x05, 0x00, 0, 0, 0, 0, // type 0 (reply)
            0x05, 0x00, 0x06, 0x00, 0, 0, 0, 0, //
            0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x08, // CONFIRMED only
            0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x1e, // 30 s
        ];
        let e = parse_entry(&v).expect("parses");
        assert_eq!(e.zone, 0);
        assert_eq!(e.proto_name(), "icmp");
        assert_eq!(
            e.orig.l4,
            L4::Icmp {
                id: 1234,
                ty: 8,
                code: 0
            }
        );
        assert_eq!(e.tcp_state_name(), None);
        assert_eq!(e.status_words(), vec!["UNREPLIED"]);
    }

    #[test]
    fn truncated_or_incomplete_entries_are_errors_not_panics() {
        let full = tcp_in_zone_1();
        for cut in 0..full.len() {
            // Whatever the cut, no panic; most cuts lose a tuple or an attribute.
            let _ = parse_entry(&full[..cut]);
        }
        assert!(parse_entry(&full[..3]).is_err());
        assert!(parse_entry(&full[..60]).is_err(), "no reply tuple");
        // An address of 5 bytes.
        let mut bad = full.clone();
        bad[12] = 0x09;
        assert!(parse_entry(&bad).is_err());
    }

    #[test]
    fn a_dump_datagram_skips_other_sequences_and_counts_the_malformed() {
        let entry = tcp_in_zone_1();
        let msg = |ty: u16, seq: u32, payload: &[u8]| {
            let mut m = Vec::new();
            m.extend_from_slice(&((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
            m.extend_from_slice(&ty.to_ne_bytes());
            m.extend_from_slice(&2u16.to_ne_bytes());
            m.extend_from_slice(&seq.to_ne_bytes());
            m.extend_from_slice(&0u32.to_ne_bytes());
            m.extend_from_slice(payload);
            while m.len() % 4 != 0 {
                m.push(0);
            }
            m
        };
        let new = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
        let mut d = msg(new, 7, &entry);
        d.extend(msg(new, 8, &entry));
        d.extend(msg(new, 7, &entry[..20]));
        d.extend(msg(NLMSG_DONE, 7, &[0, 0, 0, 0]));
        let mut part = Part::default();
        parse_datagram(&d, 7, &mut part).expect("parses");
        assert_eq!(part.entries.len(), 1);
        assert_eq!(part.malformed, 1);
        assert!(part.done);
        // An error answer: EPERM.
        let mut part = Part::default();
        let e = parse_datagram(&msg(NLMSG_ERROR, 7, &(-1i32).to_ne_bytes()), 7, &mut part)
            .expect_err("an error");
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert_eq!(
            &dump_request(3)[4..8],
            &[0x01, 0x01, 0x01, 0x03],
            "CT_GET with REQUEST|DUMP"
        );
    }
}
