//! The virtual-network part of switchd.conf: hypervisors, networks, VMs and their rules.
//!
//! One file describes every hypervisor; each switchd compiles its own part into one local
//! switch (switchd's `vnet` module). Here: the validated types and their canonical form
//! (the parsing and the checks are in `parse/vnet.rs`).
//!
//! ```text
//! hypervisor "hv1" address 192.0.2.1
//! network "blue" {
//!     vxlan vni 100                  # or: geneve vni 100 | vlan 100 on "eth1"
//!     pass in proto icmp             # a network-wide rule: every VM of the network
//!     vm "db1" on "hv1" port "tap-db1" mac 52:54:00:00:01:02 address 10.1.0.12 {
//!         pass in proto tcp from 10.1.0.11 to port 5432
//!         rate 100M
//!     }
//! }
//! ```

use std::fmt::{self, Display, Formatter};
use std::net::IpAddr;

use crate::print::Quoted;
use crate::TunnelKind;

/// Where a statement was written. It says where something came from, not what it is:
/// every two locations are equal, so that a printed and re-parsed configuration is equal
/// to the original.
#[derive(Debug, Clone, Default)]
pub struct At {
    pub file: String,
    pub line: u32,
}

impl PartialEq for At {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for At {}

/// The `hypervisor` statements and `network` blocks, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vnet {
    pub hypervisors: Vec<Hypervisor>,
    pub networks: Vec<Network>,
}

/// `hypervisor "NAME" address ADDRESS`: a host running switchd, and its underlay address
/// (the tunnels' outer source and destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypervisor {
    pub name: String,
    pub address: IpAddr,
    pub at: At,
}

/// How a network's frames travel between hypervisors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `vxlan vni N` or `geneve vni N`: an overlay, the VNI as the tunnel key.
    Overlay { kind: TunnelKind, vni: u32 },
    /// `vlan N on "IF"`: tagged on a shared uplink that every hypervisor of the network has.
    Vlan { vid: u16, uplink: String },
}

/// `network "NAME" { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    pub segment: Segment,
    /// Rules for every VM of the network, before each VM's own.
    pub rules: Vec<Rule>,
    pub vms: Vec<Vm>,
    pub at: At,
}

/// `vm "NAME" on "HV" port "IF" mac MAC [address A]... [{ ... }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    /// Unique within its network.
    pub name: String,
    pub hypervisor: String,
    /// The VM's interface on its hypervisor (the tap or veth the hypervisor made).
    pub port: String,
    pub mac: [u8; 6],
    /// The IPv4 and IPv6 addresses it may send from (anti-spoofing) and is reached at.
    pub addresses: Vec<IpAddr>,
    pub rules: Vec<Rule>,
    /// `rate N[K|M|G]`: what the VM may send, bit/s, kept as kbit/s.
    pub rate_kbps: Option<u32>,
    /// `allow dhcp-server`: it may answer DHCP (and DHCPv6) requests.
    pub dhcp_server: bool,
    /// `allow router-advertisements`: it may send IPv6 router advertisements.
    pub router_advertisements: bool,
    pub at: At,
}

/// The direction of a rule, seen from the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// New connections to the VM.
    In,
    /// New connections from the VM.
    Out,
}

/// An address family (`inet`, `inet6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
}

/// An address with a prefix length (`10.1.0.0/24`; a bare address is the full length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

impl Net {
    pub fn family(&self) -> Family {
        if self.addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    /// The full length for the address's family.
    pub fn max_len(addr: &IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }
}

impl std::str::FromStr for Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("invalid address \"{s}\": expected an IPv4 or IPv6 address"))?;
        let max = Net::max_len(&addr);
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && l.chars().all(|c| c.is_ascii_digit()) => n,
                _ => return Err(format!("invalid prefix length in \"{s}\" (0-{max})")),
            },
        };
        Ok(Net { addr, len })
    }
}

impl Display for Net {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.len == Net::max_len(&self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// `pass in|out [inet|inet6] [proto P] [from ADDR|any [port N]] [to ADDR|any [port N]]`:
/// new connections that the VM may accept (`in`) or open (`out`). `from`/`to` name the
/// sender and the receiver of the connection's first packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub direction: Direction,
    pub family: Option<Family>,
    /// The IP protocol number (tcp 6, udp 17, icmp 1, ipv6-icmp 58, sctp 132, ...).
    pub proto: Option<u8>,
    pub from: Option<Net>,
    pub from_port: Option<u16>,
    pub to: Option<Net>,
    pub to_port: Option<u16>,
    pub at: At,
}

impl Rule {
    /// The families the rule concerns: the one given or implied by its addresses or
    /// protocol, or both.
    pub fn families(&self) -> Vec<Family> {
        let implied = self
            .family
            .or(self.from.map(|n| n.family()))
            .or(self.to.map(|n| n.family()))
            .or(match self.proto {
                Some(1) => Some(Family::Inet),
                Some(58) => Some(Family::Inet6),
                _ => None,
            });
        match implied {
            Some(f) => vec![f],
            None => vec![Family::Inet, Family::Inet6],
        }
    }
}

/// The protocol names a rule takes, and their numbers.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("tcp", 6),
    ("udp", 17),
    ("ipv6-icmp", 58),
    ("icmp6", 58),
    ("sctp", 132),
];

/// A MAC address as `52:54:00:00:01:01`.
pub struct Mac<'a>(pub &'a [u8; 6]);

impl Display for Mac<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Six colon-separated hex octets.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.is_empty() || part.len() > 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

/// A rate in bit/s with an optional K, M or G suffix (powers of 1000), as kbit/s.
pub fn parse_rate(s: &str) -> Option<u64> {
    let (digits, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1),
        (i, 'M' | 'm') => (&s[..i], 1_000),
        (i, 'G' | 'g') => (&s[..i], 1_000_000),
        _ => {
            let bits: u64 = s
                .parse()
                .ok()
                .filter(|_| s.chars().all(|c| c.is_ascii_digit()))?;
            return Some(bits / 1000);
        }
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// A rate in kbit/s as the largest exact unit.
struct Rate(u32);

impl Display for Rate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let k = self.0;
        if k.is_multiple_of(1_000_000) {
            write!(f, "{}G", k / 1_000_000)
        } else if k.is_multiple_of(1000) {
            write!(f, "{}M", k / 1000)
        } else {
            write!(f, "{k}K")
        }
    }
}

impl Display for Direction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::In => "in",
            Direction::Out => "out",
        })
    }
}

impl Display for Rule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "pass {}", self.direction)?;
        match self.family {
            Some(Family::Inet) => f.write_str(" inet")?,
            Some(Family::Inet6) => f.write_str(" inet6")?,
            None => {}
        }
        if let Some(p) = self.proto {
            match PROTOCOLS.iter().find(|(_, n)| *n == p) {
                Some((name, _)) => write!(f, " proto {name}")?,
                None => write!(f, " proto {p}")?,
            }
        }
        let mut any = false;
        for (kw, net, port) in [
            ("from", self.from, self.from_port),
            ("to", self.to, self.to_port),
        ] {
            if net.is_none() && port.is_none() {
                continue;
            }
            any = true;
            write!(f, " {kw}")?;
            match net {
                Some(n) => write!(f, " {n}")?,
                None => f.write_str(" any")?,
            }
            if let Some(p) = port {
                write!(f, " port {p}")?;
            }
        }
        if !any {
            f.write_str(" all")?;
        }
        Ok(())
    }
}

impl Display for Vnet {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for h in &self.hypervisors {
            writeln!(f, "hypervisor {} address {}", Quoted(&h.name), h.address)?;
        }
        for n in &self.networks {
            writeln!(f)?;
            writeln!(f, "network {} {{", Quoted(&n.name))?;
            match &n.segment {
                Segment::Overlay { kind, vni } => {
                    let k = match kind {
                        TunnelKind::Vxlan => "vxlan",
                        TunnelKind::Geneve => "geneve",
                    };
                    writeln!(f, "\t{k} vni {vni}")?;
                }
                Segment::Vlan { vid, uplink } => writeln!(f, "\tvlan {vid} on {}", Quoted(uplink))?,
            }
            for r in &n.rules {
                writeln!(f, "\t{r}")?;
            }
            for vm in &n.vms {
                write!(
                    f,
                    "\tvm {} on {} port {} mac {}",
                    Quoted(&vm.name),
                    Quoted(&vm.hypervisor),
                    Quoted(&vm.port),
                    Mac(&vm.mac)
                )?;
                for a in &vm.addresses {
                    write!(f, " address {a}")?;
                }
                let block = !vm.rules.is_empty()
                    || vm.rate_kbps.is_some()
                    || vm.dhcp_server
                    || vm.router_advertisements;
                if !block {
                    writeln!(f)?;
                    continue;
                }
                writeln!(f, " {{")?;
                if vm.dhcp_server {
                    writeln!(f, "\t\tallow dhcp-server")?;
                }
                if vm.router_advertisements {
                    writeln!(f, "\t\tallow router-advertisements")?;
                }
                if let Some(r) = vm.rate_kbps {
                    writeln!(f, "\t\trate {}", Rate(r))?;
                }
                for r in &vm.rules {
                    writeln!(f, "\t\t{r}")?;
                }
                writeln!(f, "\t}}")?;
            }
            writeln!(f, "}}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_macs_and_nets() {
        assert_eq!(parse_rate("100M"), Some(100_000));
        assert_eq!(parse_rate("1G"), Some(1_000_000));
        assert_eq!(parse_rate("64K"), Some(64));
        assert_eq!(parse_rate("2000"), Some(2));
        assert_eq!(parse_rate("M"), None);
        assert_eq!(parse_rate("1.5M"), None);
        assert_eq!(Rate(100_000).to_string(), "100M");
        assert_eq!(Rate(1500).to_string(), "1500K");
        assert_eq!(
            parse_mac("52:54:00:00:01:0a"),
            Some([0x52, 0x54, 0, 0, 1, 10])
        );
        assert_eq!(parse_mac("52:54:00:00:01"), None);
        assert_eq!(parse_mac("52:54:00:00:01:01:01"), None);
        assert_eq!(parse_mac("52:54:00:00:01:zz"), None);
        let n: Net = "10.1.0.0/24".parse().unwrap();
        assert_eq!(n.to_string(), "10.1.0.0/24");
        assert_eq!("fd00::1".parse::<Net>().unwrap().len, 128);
        assert!("10.0.0.0/33".parse::<Net>().is_err());
        assert!("host".parse::<Net>().is_err());
    }
}
