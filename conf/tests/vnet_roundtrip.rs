//! The printed form of any valid virtual-network part parses again to an equal `Vnet`.

use std::net::IpAddr;

use conf::vnet::{At, Direction, Family, Hypervisor, Net, Network, Rule, Segment, Vm, Vnet};
use conf::{Config, TunnelKind};
use proptest::prelude::*;

/// Names: any characters a quoted string holds, quotes and backslashes included.
fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[^\n]{1,12}").expect("valid regex")
}

fn ifname() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z][a-z0-9-]{0,10}").expect("valid regex")
}

fn net() -> impl Strategy<Value = Net> {
    any::<IpAddr>().prop_flat_map(|addr| {
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        (Just(addr), 0..=max).prop_map(|(addr, len)| Net { addr, len })
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(6u8)), Just(Some(17)), Just(Some(47))],
        proptest::option::of(net()),
        proptest::option::of(1..=u16::MAX),
        proptest::option::of(1..=u16::MAX),
    )
        .prop_map(|(inbound, proto, from, p1, p2)| {
            let ports = matches!(proto, Some(6 | 17));
            Rule {
                direction: if inbound {
                    Direction::In
                } else {
                    Direction::Out
                },
                family: from
                    .map(|n: Net| n.family())
                    .filter(|f| *f == Family::Inet6),
                proto,
                from,
                from_port: p1.filter(|_| ports),
                to: None,
                to_port: p2.filter(|_| ports),
                at: At::default(),
            }
        })
}

fn vnet() -> impl Strategy<Value = Vnet> {
    (
        proptest::collection::vec(name(), 1..4),
        proptest::collection::vec(
            (
                any::<bool>(),
                1..=0xff_ffffu32,
                proptest::collection::vec(rule(), 0..3),
                proptest::collection::vec(
                    (
                        name(),
                        ifname(),
                        proptest::collection::vec(any::<IpAddr>(), 0..3),
                        proptest::option::of(1..=4_000_000u32),
                        proptest::collection::vec(rule(), 0..3),
                        any::<(bool, bool)>(),
                    ),
                    0..4,
                ),
            ),
            0..4,
        ),
    )
        .prop_map(|(hvs, nets)| {
            let mut hvs: Vec<String> = hvs;
            hvs.sort();
            hvs.dedup();
            let hypervisors = hvs
                .iter()
                .enumerate()
                .map(|(i, h)| Hypervisor {
                    name: h.clone(),
                    address: IpAddr::from([192, 0, 2, i as u8 + 1]),
                    at: At::default(),
                })
                .collect();
            let mut port_no = 0;
            let networks = nets
                .into_iter()
                .enumerate()
                .map(|(i, (vxlan, vni, rules, vms))| {
                    let segment = if vxlan && i % 3 == 2 {
                        Segment::Vlan {
                            vid: i as u16 + 1,
                            uplink: format!("up{i}"),
                        }
                    } else {
                        Segment::Overlay {
                            kind: if vxlan {
                                TunnelKind::Vxlan
                            } else {
                                TunnelKind::Geneve
                            },
                            vni: (vni & 0xff_ff00) | (i as u32 + 1),
                        }
                    };
                    let mut seen = std::collections::BTreeSet::new();
                    let vms = vms
                        .into_iter()
                        .enumerate()
                        .filter(|(_, v)| seen.insert(v.0.clone()))
                        .map(|(j, (name, port, addrs, rate, rules, (dhcp, ra)))| {
                            port_no += 1;
                            let mut addresses: Vec<IpAddr> = addrs
                                .into_iter()
                                .filter(|a| !a.is_unspecified() && !a.is_multicast())
                                .collect();
                            addresses.sort();
                            addresses.dedup();
                            // Unique in the network: a VM's own addresses only.
                            addresses.retain(|a| match a {
                                IpAddr::V4(v) => v.octets()[3] as usize % 4 == j,
                                IpAddr::V6(v) => v.octets()[15] as usize % 4 == j,
                            });
                            Vm {
                                name,
                                hypervisor: hvs[j % hvs.len()].clone(),
                                port: format!("t{}{port_no}", &port[..port.len().min(8)]),
                                mac: [0x52, 0x54, 0, 0, i as u8, j as u8],
                                addresses,
                                rules,
                                // Printed in whole K, M or G.
                                rate_kbps: rate,
                                dhcp_server: dhcp,
                                router_advertisements: ra,
                                at: At::default(),
                            }
                        })
                        .collect();
                    Network {
                        name: format!("net{i}"),
                        segment,
                        rules,
                        vms,
                        at: At::default(),
                    }
                })
                .collect();
            Vnet {
                hypervisors,
                networks,
            }
        })
}

proptest! {
    #[test]
    fn printed_vnet_parses_again(v in vnet()) {
        let c = Config { vnet: Some(v), ..Config::default() };
        let text = c.to_string();
        match conf::parse_str("printed", &text, &[]) {
            Ok(again) => prop_assert_eq!(again.vnet, c.vnet, "{}", text),
            Err(e) => prop_assert!(false, "printed form does not parse:\n{}\n{}", text, e),
        }
    }
}
