//! parse_flow(print_flow_mod(fm)) == fm for generated, realistic OpenFlow 1.3 flows.

use std::net::{Ipv4Addr, Ipv6Addr};

use ofproto::text::{parse_flow, print_flow_mod};
use ofproto::v13::{
    Action, FlowMod, FlowModCommand, Instruction, MacAddr, Masked, Match, Oxm, OxmOpaque,
};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn v4() -> impl Strategy<Value = Masked<Ipv4Addr>> {
    (any::<u32>(), prop::option::of(1u32..32)).prop_map(|(a, p)| match p {
        None => Masked::exact(Ipv4Addr::from(a)),
        Some(p) => {
            let m = u32::MAX << (32 - p);
            Masked::with_mask(Ipv4Addr::from(a & m), Ipv4Addr::from(m))
        }
    })
}

fn v6() -> impl Strategy<Value = Masked<Ipv6Addr>> {
    (any::<u128>(), prop::option::of(1u32..128)).prop_map(|(a, p)| match p {
        None => Masked::exact(Ipv6Addr::from(a)),
        Some(p) => {
            let m = u128::MAX << (128 - p);
            Masked::with_mask(Ipv6Addr::from(a & m), Ipv6Addr::from(m))
        }
    })
}

/// A Nicira field as Open vSwitch sends it in OpenFlow 1.3: an OXM of the NXM_1 class.
fn nxm(field: u8, value: &[u8], mask: Option<&[u8]>) -> Oxm {
    let mut p = value.to_vec();
    p.extend_from_slice(mask.unwrap_or(&[]));
    Oxm::Opaque(OxmOpaque {
        class: 0x0001,
        field,
        has_mask: mask.is_some(),
        payload: p.into(),
    })
}

/// `tun_src` (NXM field 31) or `tun_dst` (32).
fn tun(field: u8, a: Masked<Ipv4Addr>) -> Oxm {
    let m = a.mask.map(|m| m.octets());
    nxm(field, &a.value.octets(), m.as_ref().map(|m| &m[..]))
}

/// A match: L2 fields, tunnel addresses, then one protocol profile with its fields, in
/// OXM field order, the Nicira fields after the basic ones.
fn matches() -> impl Strategy<Value = Match> {
    let l2 = (
        prop::option::of(1u32..0xff00),
        prop::option::of(any::<u64>()),
        prop::option::of(mac()),
        prop::option::of(mac()),
        prop::option::of((0u16..4096, prop::option::of(0u8..8))),
    );
    let profile = prop_oneof![
        Just(0u8), // none
        Just(1),   // ip
        Just(2),   // tcp
        Just(3),   // udp
        Just(4),   // icmp
        Just(5),   // arp
        Just(6),   // ipv6
        Just(7),   // icmp6
        Just(8),   // mpls
    ];
    (
        l2,
        profile,
        v4(),
        v4(),
        any::<u16>(),
        any::<u16>(),
        v6(),
        0u8..64,
        any::<u8>(),
        (
            prop::option::of(v4()),
            prop::option::of(v4()),
            prop::option::of(any::<u8>()),
        ),
    )
        .prop_map(
            |((inp, md, src, dst, vlan), prof, a, b, p1, p2, six, dscp, x, (ts, td, ttl))| {
                let mut f = Vec::new();
                if let Some(p) = inp {
                    f.push(Oxm::InPort(p));
                }
                if let Some(m) = md {
                    f.push(Oxm::Metadata(Masked::exact(m)));
                }
                if let Some(d) = dst {
                    f.push(Oxm::EthDst(Masked::exact(d)));
                }
                if let Some(s) = src {
                    f.push(Oxm::EthSrc(Masked::exact(s)));
                }
                let et = match prof {
                    1..=4 => Some(0x0800),
                    5 => Some(0x0806),
                    6 | 7 => Some(0x86dd),
                    8 => Some(0x8847),
                    _ => None,
                };
                if let Some(et) = et {
                    f.push(Oxm::EthType(et));
                }
                if let Some((vid, pcp)) = vlan {
                    f.push(Oxm::VlanVid(Masked::exact(0x1000 | vid)));
                    if let Some(p) = pcp {
                        f.push(Oxm::VlanPcp(p));
                    }
                }
                match prof {
                    1..=4 => {
                        f.push(Oxm::IpDscp(dscp));
                        let proto = [0, 47, 6, 17, 1][prof as usize];
                        f.push(Oxm::IpProto(proto));
                        f.push(Oxm::Ipv4Src(a));
                        f.push(Oxm::Ipv4Dst(b));
                        match prof {
                            2 => {
                                f.push(Oxm::TcpSrc(p1));
                                f.push(Oxm::TcpDst(p2));
                            }
                            3 => f.push(Oxm::UdpDst(p2)),
                            4 => {
                                f.push(Oxm::Icmpv4Type(x));
                                f.push(Oxm::Icmpv4Code(0));
                            }
                            _ => {}
                        }
                    }
                    5 => {
                        f.push(Oxm::ArpOp(p1 & 0xff));
                        f.push(Oxm::ArpSpa(a));
                        f.push(Oxm::ArpTpa(b));
                    }
                    6 => {
                        f.push(Oxm::Ipv6Src(six));
                        f.push(Oxm::Ipv6Flabel(Masked::exact(p1 as u32)));
                    }
                    7 => {
                        f.push(Oxm::IpProto(58));
                        f.push(Oxm::Ipv6Dst(six));
                        f.push(Oxm::Icmpv6Type(135));
                        f.push(Oxm::Ipv6NdTarget(six.value));
                    }
                    8 => {
                        f.push(Oxm::MplsLabel(p1 as u32 * 16));
                        f.push(Oxm::MplsBos(x & 1));
                    }
                    _ => {}
                }
                if let Some(a) = ts {
                    f.push(tun(31, a));
                }
                if let Some(a) = td {
                    f.push(tun(32, a));
                }
                if let (Some(t), 1..=4 | 6 | 7) = (ttl, prof) {
                    f.push(nxm(29, &[t], None));
                }
                f.sort_by_key(|o| match o {
                    Oxm::Opaque(op) => 0x100 + op.field as u16,
                    _ => o.basic_field().map_or(0, u16::from),
                });
                Match::from_fields(f)
            },
        )
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let a = prop_oneof![
        (1u32..0xff00).prop_map(|p| Action::Output {
            port: p,
            max_len: 0
        }),
        Just(Action::Output {
            port: 0xffff_fffa,
            max_len: 0
        }),
        any::<u16>().prop_map(|l| Action::Output {
            port: 0xffff_fffd,
            max_len: l
        }),
        Just(Action::DecNwTtl),
        any::<u32>().prop_map(Action::Group),
        any::<u32>().prop_map(Action::SetQueue),
        mac().prop_map(|m| Action::SetField(Oxm::EthSrc(Masked::exact(m)))),
        any::<u32>().prop_map(|a| Action::SetField(tun(31, Masked::exact(a.into())))),
        any::<u32>().prop_map(|a| Action::SetField(tun(32, Masked::exact(a.into())))),
        Just(Action::PushVlan(0x8100)),
        Just(Action::PopVlan),
    ];
    prop::collection::vec(a, 0..4)
}

fn flow_mods() -> impl Strategy<Value = FlowMod> {
    (
        matches(),
        actions(),
        (
            any::<u64>(),
            0u8..255,
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            0u16..32,
        ),
        (
            prop::option::of(0u8..255),
            prop::option::of((any::<u64>(), any::<u64>())),
        ),
    )
        .prop_map(
            |(m, acts, (cookie, table, idle, hard, prio, flags), (goto, wm))| {
                let mut ins = ofproto::v13::InstructionList::new();
                if !acts.is_empty() {
                    ins.push(Instruction::ApplyActions(acts.into_iter().collect()));
                }
                if let Some((md, mask)) = wm {
                    ins.push(Instruction::WriteMetadata {
                        metadata: md & mask,
                        mask,
                    });
                }
                if let Some(g) = goto {
                    ins.push(Instruction::GotoTable(g));
                }
                FlowMod {
                    cookie,
                    cookie_mask: 0,
                    table_id: table,
                    command: FlowModCommand::Add,
                    idle_timeout: idle,
                    hard_timeout: hard,
                    priority: prio,
                    buffer_id: 0xffff_ffff,
                    out_port: 0xffff_ffff,
                    out_group: 0xffff_ffff,
                    flags,
                    match_: m,
                    instructions: ins,
                }
            },
        )
}

proptest! {
    #[test]
    fn parse_of_print_is_identity(fm in flow_mods()) {
        let text = print_flow_mod(&fm);
        let back = parse_flow(&text, FlowModCommand::Add);
        prop_assert!(back.is_ok(), "{text}: {:?}", back.err());
        prop_assert_eq!(back.unwrap(), fm, "{}", text);
    }
}
