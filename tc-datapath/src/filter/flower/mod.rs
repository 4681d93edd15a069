//! The flower match ([`FlowerKey`]) and its TCA_FLOWER_KEY_* attributes, one file per
//! group of keys, each with its encode and parse side by side:
//!
//! - [`eth`]: EtherType, destination and source address;
//! - [`vlan`]: the outer tag's id, priority and the EtherType inside it, the inner tag's
//!   (QinQ), and the number of tags;
//! - [`mpls`]: the outer MPLS label stack entry;
//! - [`ip`]: protocol, TOS, TTL, IPv4 and IPv6 addresses;
//! - [`l4`]: TCP, UDP or SCTP ports (the attribute follows `ip_proto`), TCP flags;
//! - [`icmp`]: ICMPv4 or ICMPv6 type and code (the attribute follows the EtherType);
//! - [`arp`]: ARP opcode and addresses;
//! - [`tunnel`]: the metadata of a packet that a tunnel device decapsulated;
//! - [`ct`]: the connection tracking state, zone, mark and labels act_ct gave the packet.
//!
//! The groups are written in this order, which is the order of the attributes on the wire.

mod arp;
pub mod ct;
mod eth;
mod icmp;
mod ip;
mod l4;
mod mpls;
mod tunnel;
mod vlan;

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Attrs;
use crate::nla::{NlaError, NlaWriter};

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
    /// How many VLAN tags the frame carries, exactly (0: untagged; Linux 5.19+).
    pub num_of_vlans: Option<u8>,
    /// The second (inner, customer) tag of a QinQ frame: when `vlan_eth_type` is a tag
    /// type, its id, priority and the EtherType inside it.
    pub cvlan_id: Option<u16>,
    pub cvlan_prio: Option<u8>,
    pub cvlan_eth_type: Option<u16>,
    /// The outer MPLS label stack entry (EtherType 0x8847 or 0x8848), exact.
    pub mpls_label: Option<u32>,
    pub mpls_tc: Option<u8>,
    pub mpls_bos: Option<u8>,
    pub mpls_ttl: Option<u8>,
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
    /// Connection tracking keys (of a packet that went through act_ct).
    pub ct: ct::CtKeys,
}

impl FlowerKey {
    /// The EtherType that the L3 keys depend on (inside the VLAN tag if there is one).
    pub(crate) fn l3_type(&self) -> Option<u16> {
        match (self.eth_type, self.vlan_eth_type) {
            (Some(0x8100 | 0x88a8), Some(0x8100 | 0x88a8)) => self.cvlan_eth_type,
            (Some(0x8100 | 0x88a8), t) => t,
            (t, _) => t,
        }
    }

    pub(crate) fn encode(&self, w: &mut NlaWriter) {
        eth::encode(self, w);
        vlan::encode(self, w);
        mpls::encode(self, w);
        ip::encode(self, w);
        l4::encode(self, w);
        icmp::encode(self, w);
        arp::encode(self, w);
        tunnel::encode(self, w);
        ct::encode(self, w);
    }

    /// Read the keys out of a flower TCA_OPTIONS payload; attributes that are not keys
    /// (flags, actions, hardware counts) and keys this crate does not write are skipped.
    pub(crate) fn parse(options: &[u8]) -> Result<FlowerKey, NlaError> {
        let a = Attrs::parse(options)?;
        let mut k = FlowerKey::default();
        eth::parse(&a, &mut k)?;
        vlan::parse(&a, &mut k)?;
        mpls::parse(&a, &mut k)?;
        ip::parse(&a, &mut k)?;
        l4::parse(&a, &mut k)?;
        icmp::parse(&a, &mut k)?;
        arp::parse(&a, &mut k)?;
        tunnel::parse(&a, &mut k)?;
        ct::parse(&a, &mut k)?;
        Ok(k)
    }
}

/// A maskable key: the value under attribute `k`, the mask under `m`.
fn masked(w: &mut NlaWriter, k: u16, m: u16, v: &Option<(impl AsRef<[u8]>, impl AsRef<[u8]>)>) {
    if let Some((v, mask)) = v {
        w.put(k, v.as_ref());
        w.put(m, mask.as_ref());
    }
}

fn v4(v: &Option<(Ipv4Addr, Ipv4Addr)>) -> Option<([u8; 4], [u8; 4])> {
    v.map(|(a, m)| (a.octets(), m.octets()))
}

fn be16(v: &Option<(u16, u16)>) -> Option<([u8; 2], [u8; 2])> {
    v.map(|(a, m)| (a.to_be_bytes(), m.to_be_bytes()))
}

fn u8m(v: &Option<(u8, u8)>) -> Option<([u8; 1], [u8; 1])> {
    v.map(|(a, m)| ([a], [m]))
}

/// A maskable key read back: value attribute `v`, mask attribute `m`, each read with `f`.
fn pair<T>(
    a: &Attrs,
    v: u16,
    m: u16,
    f: fn(&[u8]) -> Result<T, NlaError>,
) -> Result<Option<(T, T)>, NlaError> {
    match (a.get(v), a.get(m)) {
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

fn get_v4(p: &[u8]) -> Result<Ipv4Addr, NlaError> {
    crate::nla::get_arr::<4>(p).map(Ipv4Addr::from)
}

fn get_mac(p: &[u8]) -> Result<Mac, NlaError> {
    crate::nla::get_arr::<6>(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::tests::{round_trip, sample_filter};
    use crate::filter::{TcAction, Verdict};

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

        let untagged = FlowerKey {
            eth_type: Some(0x0800),
            num_of_vlans: Some(0),
            ..FlowerKey::default()
        };
        assert_eq!(
            round_trip(&sample_filter(vec![], untagged.clone())).key,
            untagged
        );
        let qinq = FlowerKey {
            eth_type: Some(0x88a8),
            vlan_id: Some(100),
            vlan_eth_type: Some(0x8100),
            cvlan_id: Some(200),
            cvlan_prio: Some(3),
            cvlan_eth_type: Some(0x0800),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], qinq.clone())).key, qinq);

        let mpls = FlowerKey {
            eth_type: Some(0x8847),
            mpls_label: Some(100),
            mpls_tc: Some(5),
            mpls_bos: Some(1),
            mpls_ttl: Some(64),
            ..FlowerKey::default()
        };
        assert_eq!(round_trip(&sample_filter(vec![], mpls.clone())).key, mpls);

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
}
