//! Host tier: the pure translation, field by field and action by action, and every
//! refusal with its OpenFlow error and reason.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ofproto::v13::action::Action;
use ofproto::v13::errors::{bad_action, bad_instruction, bad_match, flow_mod_failed};
use ofproto::v13::oxm::OXM_CLASS_NXM_1;
use ofproto::v13::{
    Instruction, MacAddr, Masked, Match, MeterBand, MeterMod, MeterModCommand, Oxm, OxmOpaque,
};
use tc_datapath::filter::csum;
use tc_datapath::translate::port;
use tc_datapath::{
    prio, translate, DecodedFlow, Filter, FlowerKey, MeterTable, MirredKind, PeditHeader, PeditKey,
    PoliceRate, PortMap, Refusal, TcAction, Verdict,
};

fn ports() -> PortMap {
    let mut p = PortMap::new();
    p.insert(1, 11, "p1");
    p.insert(2, 12, "p2");
    p.insert(3, 13, "p3");
    p
}

fn apply(actions: Vec<Action>) -> Vec<Instruction> {
    vec![Instruction::ApplyActions(actions.into_iter().collect())]
}

fn out(port: u32) -> Action {
    Action::Output { port, max_len: 0 }
}

fn tr_with(
    table: u8,
    priority: u16,
    fields: Vec<Oxm>,
    inst: Vec<Instruction>,
    meters: &MeterTable,
) -> Result<Vec<Filter>, Refusal> {
    let m = Match::from_fields(fields);
    let flow = DecodedFlow {
        table_id: table,
        priority,
        cookie: 0,
        r#match: &m,
        instructions: &inst,
    };
    translate(&flow, &ports(), meters)
}

fn tr(fields: Vec<Oxm>, inst: Vec<Instruction>) -> Result<Vec<Filter>, Refusal> {
    tr_with(0, 100, fields, inst, &MeterTable::new())
}

/// The single filter of a flow on in_port 1.
fn one(mut fields: Vec<Oxm>, inst: Vec<Instruction>) -> Filter {
    fields.insert(0, Oxm::InPort(1));
    let mut v = tr(fields, inst).unwrap_or_else(|r| panic!("refused: {r}"));
    assert_eq!(v.len(), 1);
    v.remove(0)
}

/// The two filters of a flow whose match wants a VLAN tag: one for an 802.1Q outer tag,
/// one for an 802.1ad one (Open vSwitch's `vlan_vid` matches either), alike otherwise.
fn per_tpid(mut fields: Vec<Oxm>, inst: Vec<Instruction>) -> Filter {
    fields.insert(0, Oxm::InPort(1));
    let v = tr(fields, inst).unwrap_or_else(|r| panic!("refused: {r}"));
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(
        (v[0].key.eth_type, v[1].key.eth_type),
        (Some(0x8100), Some(0x88a8))
    );
    let mut k = v[1].key.clone();
    k.eth_type = Some(0x8100);
    assert_eq!(k, v[0].key);
    let tpid = |a: &TcAction| match a {
        TcAction::VlanModify { vid, pcp, .. } => TcAction::VlanModify {
            vid: *vid,
            pcp: *pcp,
            tpid: 0,
        },
        a => a.clone(),
    };
    assert_eq!(
        v[0].actions.iter().map(tpid).collect::<Vec<_>>(),
        v[1].actions.iter().map(tpid).collect::<Vec<_>>()
    );
    v[0].clone()
}

fn tagged_key(fields: Vec<Oxm>) -> FlowerKey {
    per_tpid(fields, apply(vec![out(2)])).key
}

fn key(fields: Vec<Oxm>) -> FlowerKey {
    one(fields, apply(vec![out(2)])).key
}

fn refused(fields: Vec<Oxm>, inst: Vec<Instruction>) -> Refusal {
    match tr(fields, inst) {
        Ok(f) => panic!("translated, but should be refused: {f:?}"),
        Err(r) => r,
    }
}

fn assert_refusal(r: &Refusal, code: ofproto::OfpErrorCode, words: &[&str]) {
    assert_eq!(r.error, code, "{}", r.reason);
    for w in words {
        assert!(r.reason.contains(w), "reason {:?} lacks {w:?}", r.reason);
    }
}

const IP: Oxm = Oxm::EthType(0x0800);
const IP6: Oxm = Oxm::EthType(0x86dd);

fn mac(b: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, b])
}

fn nxm(field: u8, payload: &[u8], has_mask: bool) -> Oxm {
    Oxm::Opaque(OxmOpaque {
        class: OXM_CLASS_NXM_1,
        field,
        has_mask,
        payload: bytes::Bytes::copy_from_slice(payload),
    })
}

// ---- match ----

#[test]
fn in_port_picks_the_device_and_no_in_port_means_every_port() {
    let f = one(vec![], apply(vec![out(2)]));
    assert_eq!(f.ifindex, 11);
    let all = tr(vec![], apply(vec![out(2)])).unwrap();
    let devs: Vec<u32> = all.iter().map(|f| f.ifindex).collect();
    assert_eq!(devs, vec![11, 12, 13]);
    // On port 2's own filter the output to port 2 is not sent back: that filter drops.
    assert_eq!(all[1].actions, vec![TcAction::Gact(Verdict::Shot)]);
    // All filters of one flow share the flow half of the cookie, not the handle.
    assert_eq!(all[0].flow_id(), all[2].flow_id());
    assert_ne!(all[0].cookie, all[2].cookie);
    let r = refused(vec![Oxm::InPort(9)], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_VALUE, &["in_port 9"]);
}

#[test]
fn ethernet_fields_with_masks_are_masked_values() {
    let k = key(vec![
        Oxm::EthDst(Masked::exact(mac(1))),
        Oxm::EthSrc(Masked::with_mask(
            MacAddr([2, 0, 0, 0, 0xff, 0xff]),
            MacAddr([0xff, 0xff, 0xff, 0, 0, 0]),
        )),
        Oxm::EthType(0x0806),
    ]);
    assert_eq!(k.eth_dst, Some((mac(1).0, [0xff; 6])));
    assert_eq!(
        k.eth_src,
        Some(([2, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0, 0, 0]))
    );
    assert_eq!(k.eth_type, Some(0x0806));
}

#[test]
fn vlan_fields_become_a_tag_match_with_the_inner_ethertype() {
    let k = tagged_key(vec![
        Oxm::VlanVid(Masked::exact(0x1000 | 100)),
        Oxm::VlanPcp(5),
        IP,
    ]);
    assert_eq!(
        (k.eth_type, k.vlan_id, k.vlan_prio, k.vlan_eth_type),
        (Some(0x8100), Some(100), Some(5), Some(0x0800))
    );
    // Any tag: the tag's presence only.
    let k = tagged_key(vec![Oxm::VlanVid(Masked::with_mask(0x1000, 0x1000))]);
    assert_eq!((k.eth_type, k.vlan_id), (Some(0x8100), None));
    // NONE (untagged only): no tag at all, flower's num_of_vlans 0, with or without
    // the OFPVID_PRESENT-only mask; the EtherType stays a plain key.
    for m in [Masked::exact(0), Masked::with_mask(0, 0x1000)] {
        let k = key(vec![Oxm::VlanVid(m), IP]);
        assert_eq!(
            (k.num_of_vlans, k.eth_type, k.vlan_id, k.vlan_eth_type),
            (Some(0), Some(0x0800), None, None)
        );
    }
    let r = refused(
        vec![Oxm::VlanVid(Masked::exact(0)), Oxm::VlanPcp(1)],
        apply(vec![]),
    );
    assert_refusal(&r, bad_match::BAD_PREREQ, &["vlan_pcp", "NONE"]);
    let r = refused(vec![Oxm::VlanVid(Masked::exact(5))], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_VALUE, &["OFPVID_PRESENT"]);
    let r = refused(
        vec![Oxm::VlanVid(Masked::with_mask(5, 0x0fff))],
        apply(vec![]),
    );
    assert_refusal(&r, bad_match::BAD_MASK, &["OFPVID_PRESENT"]);
    let r = refused(
        vec![Oxm::VlanVid(Masked::with_mask(0x1005, 0x100f))],
        apply(vec![]),
    );
    assert_refusal(&r, bad_match::BAD_MASK, &["vlan_vid"]);
    let r = refused(vec![Oxm::VlanPcp(1)], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_PREREQ, &["vlan_pcp", "vlan_vid"]);
    // eth_type is the type after the tags: a tag type there matches nothing in
    // OpenFlow, but would match every tagged packet in flower.
    for t in [0x8100, 0x88a8] {
        let r = refused(vec![Oxm::EthType(t)], apply(vec![]));
        assert_refusal(&r, bad_match::BAD_VALUE, &["VLAN tag", "vlan_vid"]);
    }
    // Without vlan_vid, IP stays a plain EtherType key: flower then matches IPv4
    // behind a tag too (shown with packets in kernel_tc_datapath).
    let k = key(vec![IP]);
    assert_eq!(
        (k.eth_type, k.vlan_id, k.vlan_eth_type),
        (Some(0x0800), None, None)
    );
}

#[test]
fn ip_fields_and_tos_and_ttl() {
    let k = key(vec![
        IP,
        Oxm::Ipv4Src(Masked::with_mask(
            Ipv4Addr::new(10, 1, 2, 3),
            Ipv4Addr::new(255, 255, 0, 0),
        )),
        Oxm::Ipv4Dst(Masked::exact(Ipv4Addr::new(10, 9, 9, 9))),
        Oxm::IpProto(17),
        Oxm::IpDscp(46),
        Oxm::IpEcn(1),
        nxm(29, &[64], false),
    ]);
    assert_eq!(
        k.ipv4_src,
        Some((Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(255, 255, 0, 0)))
    );
    assert_eq!(
        k.ipv4_dst,
        Some((Ipv4Addr::new(10, 9, 9, 9), Ipv4Addr::BROADCAST))
    );
    assert_eq!(k.ip_proto, Some(17));
    assert_eq!(k.ip_tos, Some((46 << 2 | 1, 0xff)));
    assert_eq!(k.ip_ttl, Some((64, 0xff)));
    let a6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let k = key(vec![
        IP6,
        Oxm::Ipv6Src(Masked::exact(a6)),
        Oxm::Ipv6Dst(Masked::with_mask(a6, "ffff::".parse().unwrap())),
        Oxm::IpDscp(8),
    ]);
    assert_eq!(k.ipv6_src, Some((a6, Ipv6Addr::from(u128::MAX))));
    assert_eq!(
        k.ipv6_dst,
        Some(("2001::".parse().unwrap(), "ffff::".parse().unwrap()))
    );
    assert_eq!(k.ip_tos, Some((8 << 2, 0xfc)));
}

#[test]
fn transport_ports_flags_icmp() {
    let k = key(vec![
        IP,
        Oxm::IpProto(6),
        Oxm::TcpSrc(1234),
        Oxm::TcpDst(80),
    ]);
    assert_eq!(
        (k.l4_src, k.l4_dst),
        (Some((1234, 0xffff)), Some((80, 0xffff)))
    );
    let k = key(vec![IP, Oxm::IpProto(17), Oxm::UdpDst(53)]);
    assert_eq!(k.l4_dst, Some((53, 0xffff)));
    let k = key(vec![IP, Oxm::IpProto(132), Oxm::SctpSrc(9)]);
    assert_eq!(k.l4_src, Some((9, 0xffff)));
    // A masked port, as Open vSwitch sends it (basic class, hasmask, kept opaque).
    let masked = Oxm::Opaque(OxmOpaque {
        class: 0x8000,
        field: 14,
        has_mask: true,
        payload: bytes::Bytes::from_static(&[0x10, 0x00, 0xf0, 0x00]),
    });
    let k = key(vec![IP, Oxm::IpProto(6), masked]);
    assert_eq!(k.l4_dst, Some((0x1000, 0xf000)));
    // ONF tcp_flags (experimenter OXM 42) and NXM tcp_flags.
    let mut p = BytesMut::new();
    p.put_u32(0x4f4e_4600);
    p.put_u16(0x002);
    p.put_u16(0x012);
    let onf = Oxm::Opaque(OxmOpaque {
        class: 0xffff,
        field: 42,
        has_mask: true,
        payload: p.freeze(),
    });
    let k = key(vec![IP, Oxm::IpProto(6), onf]);
    assert_eq!(k.tcp_flags, Some((0x002, 0x012)));
    let k = key(vec![IP, Oxm::IpProto(6), nxm(34, &[0, 2], false)]);
    assert_eq!(k.tcp_flags, Some((2, 0x0fff)));
    let k = key(vec![
        IP,
        Oxm::IpProto(1),
        Oxm::Icmpv4Type(8),
        Oxm::Icmpv4Code(0),
    ]);
    assert_eq!(
        (k.icmp_type, k.icmp_code),
        (Some((8, 0xff)), Some((0, 0xff)))
    );
    let k = key(vec![IP6, Oxm::IpProto(58), Oxm::Icmpv6Type(135)]);
    assert_eq!(k.icmp_type, Some((135, 0xff)));
}

/// `opaque_match_field_translates` says yes exactly for the opaque fields the translation
/// turns into flower keys: the flow table's check lets those through and no others.
#[test]
fn opaque_fields_the_translation_takes_are_the_ones_it_says_it_takes() {
    use tc_datapath::translate::opaque_match_field_translates;
    let op = |class: u16, field: u8, has_mask: bool, payload: &[u8]| OxmOpaque {
        class,
        field,
        has_mask,
        payload: bytes::Bytes::copy_from_slice(payload),
    };
    let onf = |m: bool| {
        let mut p = vec![0x4f, 0x4e, 0x46, 0x00, 0x00, 0x02];
        if m {
            p.extend([0x00, 0x12]);
        }
        p
    };
    const N: u16 = OXM_CLASS_NXM_1;
    let tcp = || vec![IP, Oxm::IpProto(6)];
    // (field, its prerequisites, taken?)
    let cases: Vec<(OxmOpaque, Vec<Oxm>, bool)> = vec![
        (op(0x8000, 14, true, &[0x10, 0, 0xf0, 0]), tcp(), true),
        (
            op(0x8000, 16, true, &[0, 53, 0xff, 0]),
            vec![IP, Oxm::IpProto(17)],
            true,
        ),
        (
            op(0x8000, 17, true, &[0, 1, 0, 1]),
            vec![IP, Oxm::IpProto(132)],
            true,
        ),
        (op(0xffff, 42, false, &onf(false)), tcp(), true),
        (op(0xffff, 42, true, &onf(true)), tcp(), true),
        (op(N, 34, true, &[0, 2, 0, 0x12]), tcp(), true),
        (op(N, 29, false, &[64]), vec![IP], true),
        (op(N, 31, false, &[10, 0, 0, 1]), vec![], true),
        (op(N, 32, true, &[10, 0, 0, 0, 255, 0, 0, 0]), vec![], true),
        // Not taken: a masked ttl, a wrong length, an ONF field of another experimenter,
        // a masked basic field other than the L4 ports, an unknown NXM field.
        (op(N, 29, true, &[64, 0xff]), vec![IP], false),
        (op(N, 31, false, &[10, 0, 0]), vec![], false),
        (op(0xffff, 42, false, &[0, 0, 0, 1, 0, 2]), tcp(), false),
        (op(0x8000, 10, true, &[0x11, 0x22]), vec![IP], false),
        (op(N, 99, false, &[1]), vec![], false),
    ];
    for (o, mut fields, taken) in cases {
        assert_eq!(opaque_match_field_translates(&o), taken, "{o:?}");
        fields.push(Oxm::Opaque(o.clone()));
        let r = tr(fields, vec![]);
        assert_eq!(r.is_ok(), taken, "{o:?}: {r:?}");
    }
}

#[test]
fn arp_fields() {
    let k = key(vec![
        Oxm::EthType(0x0806),
        Oxm::ArpOp(2),
        Oxm::ArpSpa(Masked::exact(Ipv4Addr::new(10, 0, 0, 1))),
        Oxm::ArpTpa(Masked::with_mask(
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(255, 255, 255, 0),
        )),
        Oxm::ArpSha(Masked::exact(mac(1))),
        Oxm::ArpTha(Masked::exact(mac(2))),
    ]);
    assert_eq!(k.arp_op, Some((2, 0xff)));
    assert_eq!(
        k.arp_sip,
        Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::BROADCAST))
    );
    assert_eq!(
        k.arp_tip,
        Some((Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 255, 255, 0)))
    );
    assert_eq!(
        (k.arp_sha, k.arp_tha),
        (Some((mac(1).0, [0xff; 6])), Some((mac(2).0, [0xff; 6])))
    );
    let r = refused(vec![Oxm::EthType(0x0806), Oxm::ArpOp(300)], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_VALUE, &["arp_op 300"]);
}

#[test]
fn tunnel_metadata() {
    let k = key(vec![
        Oxm::TunnelId(Masked::exact(5000)),
        nxm(31, &[192, 0, 2, 1], false),
        nxm(32, &[192, 0, 2, 2, 255, 255, 255, 0], true),
    ]);
    assert_eq!(k.enc_key_id, Some(5000));
    assert_eq!(
        k.enc_ipv4_src,
        Some((Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::BROADCAST))
    );
    assert_eq!(
        k.enc_ipv4_dst,
        Some((Ipv4Addr::new(192, 0, 2, 0), Ipv4Addr::new(255, 255, 255, 0)))
    );
    let r = refused(vec![Oxm::TunnelId(Masked::exact(1 << 40))], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_VALUE, &["tunnel_id", "32-bit"]);
    let r = refused(
        vec![Oxm::TunnelId(Masked::with_mask(1, 0xff))],
        apply(vec![]),
    );
    assert_refusal(&r, bad_match::BAD_MASK, &["tunnel_id"]);
}

/// tunnel_id set for the next table: act_tunnel_key with the id and 0.0.0.0 addresses
/// (none were set), then the goto; the same set before an output stays refused.
#[test]
fn set_tunnel_id_then_goto_table_carries_the_id() {
    let inst = vec![
        Instruction::ApplyActions(
            vec![Action::SetField(Oxm::TunnelId(Masked::exact(42)))]
                .into_iter()
                .collect(),
        ),
        Instruction::GotoTable(1),
    ];
    let f = one(vec![], inst);
    assert_eq!(
        f.actions,
        vec![
            TcAction::TunnelSet {
                key_id: Some(42),
                src: Ipv4Addr::UNSPECIFIED,
                dst: Ipv4Addr::UNSPECIFIED,
                dst_port: None,
            },
            TcAction::Gact(Verdict::GotoChain(1)),
        ]
    );
    let r = refused(
        vec![],
        apply(vec![
            Action::SetField(Oxm::TunnelId(Masked::exact(42))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::BAD_SET_ARGUMENT, &["tun_src", "tun_dst"]);
}

#[test]
fn prerequisites_are_checked() {
    let cases: Vec<(Vec<Oxm>, &str)> = vec![
        (vec![Oxm::IpProto(6)], "ip_proto"),
        (vec![Oxm::IpDscp(1)], "ip_dscp"),
        (
            vec![Oxm::Ipv4Src(Masked::exact(Ipv4Addr::LOCALHOST))],
            "ipv4",
        ),
        (
            vec![IP6, Oxm::Ipv4Dst(Masked::exact(Ipv4Addr::LOCALHOST))],
            "ipv4",
        ),
        (
            vec![IP, Oxm::Ipv6Src(Masked::exact(Ipv6Addr::LOCALHOST))],
            "ipv6",
        ),
        (vec![IP, Oxm::TcpDst(80)], "tcp_src/tcp_dst"),
        (vec![IP, Oxm::IpProto(6), Oxm::UdpDst(53)], "udp"),
        (vec![IP, Oxm::IpProto(6), Oxm::SctpDst(1)], "sctp"),
        (vec![IP, Oxm::IpProto(6), Oxm::Icmpv4Type(8)], "icmpv4"),
        (vec![IP, Oxm::IpProto(58), Oxm::Icmpv6Type(1)], "icmpv6"),
        (vec![IP, Oxm::ArpOp(1)], "arp"),
        (vec![nxm(29, &[1], false)], "nw_ttl"),
    ];
    for (fields, word) in cases {
        let r = refused(fields.clone(), apply(vec![]));
        assert_refusal(&r, bad_match::BAD_PREREQ, &[word, "needs"]);
    }
}

#[test]
fn fields_flower_cannot_match_are_refused_by_name() {
    for (f, name) in [
        (Oxm::Metadata(Masked::exact(1)), "metadata"),
        (
            Oxm::Ipv6NdTarget("2001:db8::1".parse().unwrap()),
            "ipv6_nd_target",
        ),
        (Oxm::Ipv6Flabel(Masked::exact(1)), "ipv6_flabel"),
        (Oxm::InPhyPort(1), "in_phy_port"),
        (nxm(33, &[0, 0, 0, 1], false), "class 0x0001 field 33"),
    ] {
        let r = refused(vec![f], apply(vec![]));
        assert_refusal(&r, bad_match::BAD_FIELD, &[name]);
    }
}

// ---- actions and instructions ----

#[test]
fn no_actions_drops_and_output_redirects() {
    assert_eq!(
        one(vec![], vec![]).actions,
        vec![TcAction::Gact(Verdict::Shot)]
    );
    assert_eq!(
        one(vec![], apply(vec![])).actions,
        vec![TcAction::Gact(Verdict::Shot)]
    );
    assert_eq!(
        one(vec![], apply(vec![out(2)])).actions,
        vec![TcAction::Mirred {
            kind: MirredKind::EgressRedirect,
            ifindex: 12
        }]
    );
    // Several outputs: mirror, then redirect with the last.
    assert_eq!(
        one(vec![], apply(vec![out(2), out(3)])).actions,
        vec![
            TcAction::Mirred {
                kind: MirredKind::EgressMirror,
                ifindex: 12
            },
            TcAction::Mirred {
                kind: MirredKind::EgressRedirect,
                ifindex: 13
            }
        ]
    );
    let r = refused(vec![], apply(vec![out(7)]));
    assert_refusal(&r, bad_action::BAD_OUT_PORT, &["port 7"]);
}

#[test]
fn reserved_ports() {
    let mirror = |i| TcAction::Mirred {
        kind: MirredKind::EgressMirror,
        ifindex: i,
    };
    let redirect = |i| TcAction::Mirred {
        kind: MirredKind::EgressRedirect,
        ifindex: i,
    };
    // FLOOD and ALL: every other bridge port, never the ingress.
    assert_eq!(
        one(vec![], apply(vec![out(port::FLOOD)])).actions,
        vec![mirror(12), redirect(13)]
    );
    assert_eq!(
        one(vec![], apply(vec![out(port::ALL)])).actions,
        vec![mirror(12), redirect(13)]
    );
    assert_eq!(
        one(vec![], apply(vec![out(port::IN_PORT)])).actions,
        vec![redirect(11)]
    );
    assert_eq!(
        one(vec![], apply(vec![out(port::NORMAL)])).actions,
        vec![TcAction::Gact(Verdict::Ok)]
    );
    // NORMAL before another output: outputs are copies, NORMAL goes last.
    assert_eq!(
        one(vec![], apply(vec![out(port::NORMAL), out(3)])).actions,
        vec![mirror(13), TcAction::Gact(Verdict::Ok)]
    );
    let r = refused(vec![], apply(vec![out(port::LOCAL)]));
    assert_refusal(&r, bad_action::BAD_OUT_PORT, &["LOCAL"]);
    let r = refused(vec![], apply(vec![out(port::TABLE)]));
    assert_refusal(&r, bad_action::BAD_OUT_PORT, &["TABLE"]);
    let mut p = ports();
    p.insert(port::LOCAL, 10, "br0");
    let m = Match::from_fields([Oxm::InPort(1)]);
    let inst = apply(vec![out(port::LOCAL)]);
    let flow = DecodedFlow {
        table_id: 0,
        priority: 5,
        cookie: 0,
        r#match: &m,
        instructions: &inst,
    };
    let f = translate(&flow, &p, &MeterTable::new()).unwrap();
    assert_eq!(
        f[0].actions,
        vec![TcAction::Mirred {
            kind: MirredKind::IngressRedirect,
            ifindex: 10
        }]
    );
    // LOCAL is no ingress device: a flow without in_port gets no filter on it.
    let m = Match::new();
    let flow = DecodedFlow {
        r#match: &m,
        ..flow
    };
    let devs: Vec<u32> = translate(&flow, &p, &MeterTable::new())
        .unwrap()
        .iter()
        .map(|f| f.ifindex)
        .collect();
    assert_eq!(devs, vec![11, 12, 13]);
}

#[test]
fn normal_with_changes_after_it_or_goto_is_refused() {
    let r = refused(
        vec![],
        apply(vec![
            out(port::NORMAL),
            Action::SetField(Oxm::EthDst(Masked::exact(mac(9)))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::UNSUPPORTED_ORDER, &["NORMAL"]);
    let r = tr_with(
        0,
        1,
        vec![],
        vec![
            Instruction::ApplyActions([out(port::NORMAL)].into_iter().collect()),
            Instruction::GotoTable(1),
        ],
        &MeterTable::new(),
    )
    .unwrap_err();
    assert_refusal(&r, bad_action::UNSUPPORTED_ORDER, &["goto_table"]);
}

#[test]
fn vlan_push_pop_and_modify() {
    let f = one(
        vec![],
        apply(vec![
            Action::PushVlan(0x8100),
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 10))),
            Action::SetField(Oxm::VlanPcp(3)),
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::VlanPush {
            vid: 10,
            pcp: Some(3),
            tpid: 0x8100
        }
    );
    let f = one(vec![], apply(vec![Action::PopVlan, out(2)]));
    assert_eq!(f.actions[0], TcAction::VlanPop);
    // A modify writes the tag back with its own TPID (act_vlan's default would make an
    // 802.1ad tag an 802.1Q one): one filter per TPID.
    let m = vec![Oxm::InPort(1), Oxm::VlanVid(Masked::exact(0x1000 | 5))];
    let v = tr(m, apply(vec![Action::SetField(Oxm::VlanPcp(6)), out(2)])).unwrap();
    let modify = |vid, pcp, tpid| TcAction::VlanModify { vid, pcp, tpid };
    assert_eq!(v.len(), 2);
    for (f, tpid) in v.iter().zip([0x8100, 0x88a8]) {
        assert_eq!((f.key.eth_type, f.key.vlan_id), (Some(tpid), Some(5)));
        assert_eq!(f.actions[0], modify(5, Some(6), tpid));
    }
    // No VLAN match: untagged frames (the modify does nothing), then each TPID.
    let v = tr(
        vec![Oxm::InPort(1), IP],
        apply(vec![
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 7))),
            Action::SetField(Oxm::VlanPcp(1)),
            out(2),
        ]),
    )
    .unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].key.num_of_vlans, v[0].key.eth_type),
        (Some(0), Some(0x0800))
    );
    for (f, tpid) in v[1..].iter().zip([0x8100, 0x88a8]) {
        assert_eq!(
            (f.key.num_of_vlans, f.key.eth_type, f.key.vlan_eth_type),
            (None, Some(tpid), Some(0x0800))
        );
        assert_eq!(f.actions[0], modify(7, Some(1), tpid));
    }
    // A pushed tag's TPID is known: one filter.
    let f = one(
        vec![Oxm::VlanVid(Masked::exact(0))],
        apply(vec![
            Action::PushVlan(0x88a8),
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 30))),
            Action::PushVlan(0x8100),
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 40))),
            Action::SetField(Oxm::VlanPcp(2)),
            out(2),
        ]),
    );
    assert_eq!(
        &f.actions[..2],
        &[
            TcAction::VlanPush {
                vid: 30,
                pcp: None,
                tpid: 0x88a8
            },
            TcAction::VlanPush {
                vid: 40,
                pcp: Some(2),
                tpid: 0x8100
            }
        ]
    );
    let r = refused(vec![], apply(vec![Action::PushVlan(0x8100), out(2)]));
    assert_refusal(&r, bad_action::BAD_ARGUMENT, &["push_vlan", "vlan_vid"]);
    // A set-field of the tag of a frame known untagged sets nothing.
    let r = refused(
        vec![Oxm::VlanVid(Masked::exact(0))],
        apply(vec![
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 7))),
            out(2),
        ]),
    );
    assert_refusal(
        &r,
        bad_action::MATCH_INCONSISTENT,
        &["vlan_vid", "push_vlan"],
    );
    let r = refused(vec![], apply(vec![Action::PushVlan(0x0800), out(2)]));
    assert_refusal(&r, bad_action::BAD_ARGUMENT, &["0x0800"]);
    let r = refused(
        vec![],
        apply(vec![Action::SetField(Oxm::VlanPcp(1)), out(2)]),
    );
    assert_refusal(&r, bad_action::BAD_SET_ARGUMENT, &["vlan_pcp"]);
}

/// Spec 7.2.6.5: the new tag copies VID and PCP from the outer tag, else 0.
#[test]
fn push_vlan_without_set_field_copies_the_outer_tag_or_is_zero() {
    let push = |vid, pcp| TcAction::VlanPush {
        vid,
        pcp,
        tpid: 0x8100,
    };
    // Untagged (Faucet's native VLAN flows): VID 0, PCP 0.
    let f = one(
        vec![Oxm::VlanVid(Masked::exact(0))],
        apply(vec![Action::PushVlan(0x8100), out(2)]),
    );
    assert_eq!(f.actions[0], push(0, None));
    // Tagged with a known VID and PCP: both copied (from an outer tag of either TPID).
    let f = per_tpid(
        vec![Oxm::VlanVid(Masked::exact(0x1000 | 10)), Oxm::VlanPcp(3)],
        apply(vec![Action::PushVlan(0x8100), out(2)]),
    );
    assert_eq!(f.actions[0], push(10, Some(3)));
    // A set VID with the PCP left to copy, on a match that allows both: one filter for
    // untagged frames (PCP 0), one per PCP value of a tagged frame, for each TPID.
    let v = tr(
        vec![Oxm::InPort(1)],
        apply(vec![
            Action::PushVlan(0x8100),
            Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 20))),
            out(2),
        ]),
    )
    .unwrap();
    assert_eq!(v.len(), 17);
    assert_eq!(v[0].key.num_of_vlans, Some(0));
    assert_eq!(v[0].actions[0], push(20, None));
    for (i, f) in v[1..].iter().enumerate() {
        let (tpid, p) = ([0x8100, 0x88a8][i / 8], i % 8);
        assert_eq!(
            (f.key.eth_type, f.key.vlan_prio, f.key.num_of_vlans),
            (Some(tpid), Some(p as u8), None)
        );
        assert_eq!(f.actions[0], push(20, Some(p as u8).filter(|p| *p != 0)));
    }
    // Any tag, VID unknown: the VID to copy is unknown.
    let r = refused(
        vec![Oxm::VlanVid(Masked::with_mask(0x1000, 0x1000))],
        apply(vec![Action::PushVlan(0x88a8), out(2)]),
    );
    assert_refusal(&r, bad_action::BAD_ARGUMENT, &["push_vlan", "VID"]);
}

/// ARP, ICMP, flow label and ND target set-fields: pedit at the field's place, csum
/// where a checksum covers it.
#[test]
fn arp_icmp_flow_label_and_nd_target_set_fields() {
    use tc_datapath::filter::{PeditHeader, PeditKey};
    let arp = vec![Oxm::EthType(0x0806)];
    let f = one(
        arp.clone(),
        apply(vec![Action::SetField(Oxm::ArpOp(2)), out(2)]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(PeditKey::set_bytes(PeditHeader::Ip4, 6, &[0, 2]))
    );
    let f = one(
        arp,
        apply(vec![
            Action::SetField(Oxm::ArpSpa(Masked::exact(Ipv4Addr::new(10, 0, 0, 9)))),
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(PeditKey::set_bytes(PeditHeader::Ip4, 14, &[10, 0, 0, 9]))
    );
    let f = one(
        vec![IP, Oxm::IpProto(1)],
        apply(vec![Action::SetField(Oxm::Icmpv4Type(0)), out(2)]),
    );
    assert_eq!(
        f.actions[..2],
        [
            TcAction::Pedit(PeditKey::set_bytes(PeditHeader::Tcp, 0, &[0])),
            TcAction::Csum(csum::ICMP)
        ]
    );
    let v6 = vec![Oxm::EthType(0x86dd)];
    let f = one(
        v6.clone(),
        apply(vec![
            Action::SetField(Oxm::Ipv6Flabel(Masked::exact(0xabcde))),
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(PeditKey::set_bits(
            PeditHeader::Ip6,
            1,
            &[0x0a, 0xbc, 0xde],
            &[0x0f, 0xff, 0xff]
        ))
    );
    let target: Ipv6Addr = "2001:db8::7".parse().unwrap();
    let nd = vec![Oxm::EthType(0x86dd), Oxm::IpProto(58), Oxm::Icmpv6Type(135)];
    let f = one(
        nd,
        apply(vec![Action::SetField(Oxm::Ipv6NdTarget(target)), out(2)]),
    );
    assert_eq!(
        f.actions[..2],
        [
            TcAction::Pedit(PeditKey::set_bytes(PeditHeader::Tcp, 8, &target.octets())),
            TcAction::Csum(csum::ICMP)
        ]
    );
    // Without the prerequisites in the match, or where the place varies: refused.
    let r = refused(vec![], apply(vec![Action::SetField(Oxm::ArpOp(2)), out(2)]));
    assert_refusal(&r, bad_action::MATCH_INCONSISTENT, &["arp_op", "0x0806"]);
    let r = refused(
        v6,
        apply(vec![Action::SetField(Oxm::Ipv6NdTarget(target)), out(2)]),
    );
    assert_refusal(&r, bad_action::MATCH_INCONSISTENT, &["ipv6_nd_target"]);
    let r = refused(
        vec![Oxm::EthType(0x86dd), Oxm::IpProto(58), Oxm::Icmpv6Type(135)],
        apply(vec![
            Action::SetField(Oxm::Ipv6NdSll(ofproto::v13::oxm::MacAddr([
                2, 0, 0, 0, 0, 1,
            ]))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::BAD_SET_TYPE, &["option"]);
}

/// MPLS: flower's keys of the outer entry; act_mpls push (constants: a set label and
/// TTL), pop, modify, dec_ttl.
#[test]
fn mpls_match_push_pop_set_and_dec_ttl() {
    use tc_datapath::filter::MplsOp;
    let mpls = |l| vec![Oxm::EthType(0x8847), Oxm::MplsLabel(l), Oxm::MplsBos(1)];
    let k = key(mpls(100));
    assert_eq!(
        (k.eth_type, k.mpls_label, k.mpls_bos, k.mpls_tc),
        (Some(0x8847), Some(100), Some(1), None)
    );
    let r = refused(vec![Oxm::MplsLabel(1)], apply(vec![]));
    assert_refusal(&r, bad_match::BAD_PREREQ, &["mpls_label", "0x8847"]);
    // Push onto IP: label and TC 0 unless set; the TTL must be set.
    let f = one(
        vec![IP],
        apply(vec![
            Action::PushMpls(0x8847),
            Action::SetField(Oxm::MplsLabel(100)),
            Action::SetMplsTtl(64),
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::Mpls(MplsOp::Push {
            proto: 0x8847,
            label: 100,
            tc: 0,
            ttl: 64
        })
    );
    let r = refused(vec![IP], apply(vec![Action::PushMpls(0x8847), out(2)]));
    assert_refusal(&r, bad_action::BAD_ARGUMENT, &["push_mpls", "TTL"]);
    // Pop to IPv4, after a match on the label.
    let f = one(mpls(100), apply(vec![Action::PopMpls(0x0800), out(2)]));
    assert_eq!(f.actions[0], TcAction::Mpls(MplsOp::Pop { proto: 0x0800 }));
    let r = refused(vec![IP], apply(vec![Action::PopMpls(0x0800), out(2)]));
    assert_refusal(&r, bad_action::MATCH_INCONSISTENT, &["pop_mpls"]);
    // Set-fields and set_mpls_ttl merge into one modify; dec_mpls_ttl.
    let f = one(
        mpls(100),
        apply(vec![
            Action::SetField(Oxm::MplsLabel(200)),
            Action::SetField(Oxm::MplsTc(5)),
            Action::SetMplsTtl(9),
            Action::DecMplsTtl,
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[..2],
        [
            TcAction::Mpls(MplsOp::Modify {
                label: Some(200),
                tc: Some(5),
                ttl: Some(9),
                bos: None
            }),
            TcAction::Mpls(MplsOp::DecTtl)
        ]
    );
    // An IP set-field after the push: the headers are not the match's any more.
    let r = refused(
        vec![IP],
        apply(vec![
            Action::PushMpls(0x8847),
            Action::SetMplsTtl(64),
            Action::SetField(Oxm::IpDscp(1)),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::UNSUPPORTED_ORDER, &["push_mpls"]);
}

#[test]
fn set_field_becomes_pedit_then_csum() {
    let f = one(
        vec![],
        apply(vec![
            Action::SetField(Oxm::EthSrc(Masked::exact(MacAddr([1, 2, 3, 4, 5, 6])))),
            Action::SetField(Oxm::EthDst(Masked::exact(MacAddr([7, 8, 9, 10, 11, 12])))),
            out(2),
        ]),
    );
    let mut want = PeditKey::set_bytes(PeditHeader::Eth, 6, &[1, 2, 3, 4, 5, 6]);
    want.extend(PeditKey::set_bytes(
        PeditHeader::Eth,
        0,
        &[7, 8, 9, 10, 11, 12],
    ));
    assert_eq!(f.actions.len(), 2, "ethernet rewrites need no checksum");
    assert_eq!(f.actions[0], TcAction::Pedit(want));

    let f = one(
        vec![IP, Oxm::IpProto(6)],
        apply(vec![
            Action::SetField(Oxm::Ipv4Dst(Masked::exact(Ipv4Addr::new(10, 0, 0, 9)))),
            Action::SetField(Oxm::TcpDst(8080)),
            out(2),
        ]),
    );
    let mut want = PeditKey::set_bytes(PeditHeader::Ip4, 16, &[10, 0, 0, 9]);
    want.extend(PeditKey::set_bytes(
        PeditHeader::Tcp,
        2,
        &8080u16.to_be_bytes(),
    ));
    assert_eq!(f.actions[0], TcAction::Pedit(want));
    assert_eq!(f.actions[1], TcAction::Csum(csum::IPV4HDR | csum::TCP));

    let f = one(
        vec![IP6, Oxm::IpProto(17)],
        apply(vec![
            Action::SetField(Oxm::Ipv6Src(Masked::exact("2001:db8::9".parse().unwrap()))),
            Action::SetField(Oxm::UdpSrc(1)),
            out(2),
        ]),
    );
    assert!(
        matches!(&f.actions[0], TcAction::Pedit(k) if k.len() == 5 && k[0].header == PeditHeader::Ip6 && k[0].offset == 8)
    );
    assert_eq!(f.actions[1], TcAction::Csum(csum::UDP));

    // DSCP on IPv4: the top six bits of the TOS byte.
    let f = one(
        vec![IP],
        apply(vec![Action::SetField(Oxm::IpDscp(46)), out(2)]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(PeditKey::set_bits(PeditHeader::Ip4, 1, &[46 << 2], &[0xfc]))
    );
    assert_eq!(f.actions[1], TcAction::Csum(csum::IPV4HDR));
    // TTL: set, and decrement (pedit add 0xff on the TTL byte).
    let f = one(vec![IP], apply(vec![Action::SetNwTtl(9), out(2)]));
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(PeditKey::set_bytes(PeditHeader::Ip4, 8, &[9]))
    );
    let f = one(vec![IP], apply(vec![Action::DecNwTtl, out(2)]));
    assert_eq!(
        f.actions[0],
        TcAction::Pedit(vec![PeditKey {
            header: PeditHeader::Ip4,
            add: true,
            offset: 8,
            keep: [0, 0xff, 0xff, 0xff],
            val: [0xff, 0, 0, 0]
        }])
    );
    // Changes after the last output touch no copy of the packet: dropped.
    let f = one(vec![IP], apply(vec![out(2), Action::SetNwTtl(1)]));
    assert_eq!(f.actions.len(), 1);

    let r = refused(
        vec![],
        apply(vec![
            Action::SetField(Oxm::Ipv4Src(Masked::exact(Ipv4Addr::LOCALHOST))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::MATCH_INCONSISTENT, &["eth_type"]);
    let r = refused(
        vec![IP],
        apply(vec![Action::SetField(Oxm::TcpDst(1)), out(2)]),
    );
    assert_refusal(&r, bad_action::MATCH_INCONSISTENT, &["ip_proto 6"]);
    let r = refused(
        vec![],
        apply(vec![
            Action::SetField(Oxm::PbbIsid(Masked::exact(1))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::BAD_SET_TYPE, &["pbb_isid"]);
}

#[test]
fn tunnel_set() {
    let f = one(
        vec![],
        apply(vec![
            Action::SetField(Oxm::TunnelId(Masked::exact(77))),
            Action::SetField(nxm(31, &[192, 0, 2, 1], false)),
            Action::SetField(nxm(32, &[192, 0, 2, 2], false)),
            out(2),
        ]),
    );
    assert_eq!(
        f.actions[0],
        TcAction::TunnelSet {
            key_id: Some(77),
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(192, 0, 2, 2),
            dst_port: None
        }
    );
    let r = refused(
        vec![],
        apply(vec![
            Action::SetField(Oxm::TunnelId(Masked::exact(1))),
            out(2),
        ]),
    );
    assert_refusal(&r, bad_action::BAD_SET_ARGUMENT, &["tun_src", "tun_dst"]);
}

#[test]
fn meter_becomes_police_first() {
    let mut meters = MeterTable::new();
    meters
        .apply(&MeterMod {
            command: MeterModCommand::Add,
            flags: 1,
            meter_id: 4,
            bands: vec![MeterBand::Drop {
                rate: 8_000,
                burst_size: 0,
            }],
        })
        .unwrap();
    let inst = vec![
        Instruction::Meter(4),
        Instruction::ApplyActions([out(2)].into_iter().collect()),
    ];
    let f = tr_with(0, 10, vec![Oxm::InPort(1)], inst.clone(), &meters).unwrap();
    assert_eq!(
        f[0].actions[0],
        TcAction::Police(PoliceRate::Bytes {
            rate: 1_000_000,
            burst: 100_000
        })
    );
    let r = tr_with(0, 10, vec![], vec![Instruction::Meter(5)], &meters).unwrap_err();
    assert_refusal(&r, tc_datapath::meter::UNKNOWN_METER, &["meter 5"]);
}

#[test]
fn goto_table_and_write_actions() {
    let inst = vec![
        Instruction::ApplyActions([out(2)].into_iter().collect()),
        Instruction::GotoTable(3),
    ];
    let f = tr_with(1, 10, vec![Oxm::InPort(1)], inst, &MeterTable::new()).unwrap();
    assert_eq!(
        f[0].actions,
        vec![
            TcAction::Mirred {
                kind: MirredKind::EgressMirror,
                ifindex: 12
            },
            TcAction::Gact(Verdict::GotoChain(3))
        ]
    );
    assert_eq!((f[0].chain, f[0].prio), (1, 65526));
    let r = tr_with(
        3,
        10,
        vec![],
        vec![Instruction::GotoTable(3)],
        &MeterTable::new(),
    )
    .unwrap_err();
    assert_refusal(
        &r,
        bad_instruction::BAD_TABLE_ID,
        &["goto_table 3", "higher"],
    );
    // The action set runs after apply-actions, in the set's order (set-field before output).
    let f = one(
        vec![],
        vec![
            Instruction::WriteActions(
                [out(3), Action::SetField(Oxm::EthDst(Masked::exact(mac(5))))]
                    .into_iter()
                    .collect(),
            ),
            Instruction::ApplyActions([out(2)].into_iter().collect()),
        ],
    );
    assert_eq!(f.actions.len(), 3);
    assert!(matches!(
        f.actions[0],
        TcAction::Mirred {
            kind: MirredKind::EgressMirror,
            ifindex: 12
        }
    ));
    assert!(matches!(f.actions[1], TcAction::Pedit(_)));
    assert!(matches!(
        f.actions[2],
        TcAction::Mirred {
            kind: MirredKind::EgressRedirect,
            ifindex: 13
        }
    ));
    let r = tr_with(
        0,
        1,
        vec![],
        vec![
            Instruction::WriteActions([out(2)].into_iter().collect()),
            Instruction::GotoTable(1),
        ],
        &MeterTable::new(),
    )
    .unwrap_err();
    assert_refusal(
        &r,
        bad_instruction::UNSUP_INST,
        &["write_actions", "goto_table"],
    );
    let r = refused(
        vec![],
        vec![Instruction::WriteMetadata {
            metadata: 1,
            mask: 1,
        }],
    );
    assert_refusal(&r, bad_instruction::UNSUP_METADATA, &["write_metadata"]);
    // clear_actions: the action set is always empty here, nothing to clear.
    assert_eq!(
        one(vec![], vec![Instruction::ClearActions]).actions,
        vec![TcAction::Gact(Verdict::Shot)]
    );
}

#[test]
fn unsupported_actions_are_refused_by_name() {
    for (a, name) in [
        (Action::Group(1), "group"),
        (Action::SetQueue(1), "set_queue"),
        (Action::PushPbb(0x88e7), "push_pbb"),
        (Action::CopyTtlOut, "copy_ttl_out"),
    ] {
        let r = refused(vec![], apply(vec![a, out(2)]));
        assert_refusal(&r, bad_action::BAD_TYPE, &[name]);
    }
    let r = refused(
        vec![],
        apply(vec![Action::Experimenter {
            experimenter: 0x2320,
            data: bytes::Bytes::new(),
        }]),
    );
    assert_refusal(&r, bad_action::BAD_EXPERIMENTER, &["0x2320"]);
}

#[test]
fn more_than_32_tc_actions_is_too_many() {
    let mut p = PortMap::new();
    for i in 1..=40 {
        p.insert(i, 100 + i, "p");
    }
    let m = Match::from_fields([Oxm::InPort(1)]);
    let inst = apply(vec![out(port::FLOOD)]);
    let flow = DecodedFlow {
        table_id: 0,
        priority: 1,
        cookie: 0,
        r#match: &m,
        instructions: &inst,
    };
    let r = translate(&flow, &p, &MeterTable::new()).unwrap_err();
    assert_refusal(&r, bad_action::TOO_MANY, &["39", "32"]);
}

// ---- priority, placement, cookies ----

#[test]
fn priority_maps_to_chain_and_prio() {
    for (table, p) in [(0u8, 65535u16), (0, 2), (2, 1), (2, 0), (1, 32768)] {
        let f = tr_with(table, p, vec![Oxm::InPort(1)], vec![], &MeterTable::new()).unwrap();
        assert_eq!((f[0].chain, f[0].prio), prio::placement(table, p));
    }
    let r = tr_with(255, 1, vec![], vec![], &MeterTable::new()).unwrap_err();
    assert_refusal(&r, flow_mod_failed::BAD_TABLE_ID, &["255"]);
}

#[test]
fn cookie_ignores_field_order_but_not_content() {
    let a = one(vec![IP, Oxm::IpProto(6)], apply(vec![out(2)]));
    let b = one(vec![Oxm::IpProto(6), IP], apply(vec![out(2)]));
    assert_eq!(a.cookie, b.cookie);
    assert_eq!(a.handle, b.handle);
    assert_ne!(a.handle, 0);
    let c = one(vec![IP, Oxm::IpProto(17)], apply(vec![out(2)]));
    assert_ne!(a.flow_id(), c.flow_id());
    let d = one(vec![IP, Oxm::IpProto(6)], apply(vec![out(3)]));
    assert_ne!(a.flow_id(), d.flow_id());
}

/// Flow `i` of a family of distinct flows that all land in one (device, chain, prio):
/// in_port 1, priority 100, TCP to 10.x.y.z:80, dropped.
fn same_place_flow(i: u32) -> Filter {
    let [_, a, b, c] = i.to_be_bytes();
    one(
        vec![
            Oxm::EthType(0x0800),
            Oxm::IpProto(6),
            Oxm::Ipv4Dst(Masked::exact(Ipv4Addr::new(10, a, b, c))),
            Oxm::TcpDst(80),
        ],
        vec![],
    )
}

#[test]
fn distinct_flows_in_one_place_can_get_the_same_derived_handle() {
    // Found by translating same_place_flow(0..) until two handles were equal (at the
    // 101,530th flow; the birthday bound for 32 bits is about 77,000). Tc::install
    // resolves such a pair by letting the kernel pick the second one's handle
    // (kernel_tc_datapath::colliding_handles_both_install_and_reconcile).
    let (a, b) = (same_place_flow(76_482), same_place_flow(101_529));
    assert_ne!(a.key, b.key);
    assert_ne!(a.cookie, b.cookie);
    assert_eq!((a.ifindex, a.chain, a.prio), (b.ifindex, b.chain, b.prio));
    assert_eq!(a.handle, b.handle);
    assert_eq!(a.handle, 0xae7c_b0cc);
}

fn controller(max_len: u16) -> Action {
    Action::Output {
        port: port::CONTROLLER,
        max_len,
    }
}

/// The actions of output:CONTROLLER at action index `at`: police, then the sample between
/// a placeholder VLAN push and a pop that put the frame's own tag into the copy.
fn to_controller(at: u32, group: u32, trunc: Option<u32>) -> [TcAction; 4] {
    [
        TcAction::PoliceJump {
            rate: tc_datapath::meter::CONTROLLER_DEFAULT,
            to: at + 4,
        },
        TcAction::VlanPush {
            vid: 0,
            pcp: None,
            tpid: 0x8100,
        },
        TcAction::Sample { group, trunc },
        TcAction::VlanPop,
    ]
}

#[test]
fn output_to_controller_is_police_then_sample_and_the_packet_goes_on() {
    let f = one(vec![], apply(vec![controller(64)]));
    let group = match &f.actions[2] {
        TcAction::Sample { group, .. } => *group,
        a => panic!("not a sample: {a:?}"),
    };
    assert_ne!(group, 0);
    // Alone: police (over the rate: jump to the drop), sample cut to 64 bytes, drop.
    let mut want = to_controller(0, group, Some(64)).to_vec();
    want.push(TcAction::Gact(Verdict::Shot));
    assert_eq!(f.actions, want);
    // The whole packet (OFPCML_NO_BUFFER) and then an output: that output is the redirect,
    // and over the rate the police jumps to it.
    let f = one(vec![], apply(vec![controller(0xffff), out(2)]));
    let mut want = to_controller(0, group_of_filter(&f), None).to_vec();
    want.push(redirect(12));
    assert_eq!(f.actions, want);
    // An output before it is a mirror; the jump counts from the filter's first action.
    let f = one(vec![], apply(vec![out(2), controller(128)]));
    let g = group_of_filter(&f);
    let mut want = vec![mirror(12)];
    want.extend(to_controller(1, g, Some(128)));
    want.push(TcAction::Gact(Verdict::Shot));
    assert_eq!(f.actions, want);
    // NORMAL ends the filter after the copy to the controller.
    let f = one(vec![], apply(vec![out(port::NORMAL), controller(0)]));
    let mut want = to_controller(0, group_of_filter(&f), Some(0)).to_vec();
    want.push(TcAction::Gact(Verdict::Ok));
    assert_eq!(f.actions, want);
}

fn mirror(ifindex: u32) -> TcAction {
    TcAction::Mirred {
        kind: MirredKind::EgressMirror,
        ifindex,
    }
}

fn redirect(ifindex: u32) -> TcAction {
    TcAction::Mirred {
        kind: MirredKind::EgressRedirect,
        ifindex,
    }
}

fn group_of_filter(f: &Filter) -> u32 {
    f.actions
        .iter()
        .find_map(|a| match a {
            TcAction::Sample { group, .. } => Some(*group),
            _ => None,
        })
        .expect("a sample action")
}

#[test]
fn the_psample_group_names_the_flow_by_content() {
    // Every filter of one flow (one per port without in_port) has the same group, the
    // same flow translated again has it too (restart adoption compares filters by
    // content), and another flow has another.
    let miss = tr(vec![], apply(vec![controller(0xffff)])).unwrap();
    assert_eq!(miss.len(), 3);
    let g = group_of_filter(&miss[0]);
    assert!(miss.iter().all(|f| group_of_filter(f) == g));
    let again = tr(vec![], apply(vec![controller(0xffff)])).unwrap();
    assert_eq!(again, miss);
    let other = tr(vec![Oxm::EthType(0x0800)], apply(vec![controller(0xffff)])).unwrap();
    assert_ne!(group_of_filter(&other[0]), g);
    // The controller's cookie is not the flow's content.
    let m = Match::from_fields([]);
    let inst = apply(vec![controller(0xffff)]);
    let flow = DecodedFlow {
        table_id: 0,
        priority: 100,
        cookie: 0x1234,
        r#match: &m,
        instructions: &inst,
    };
    let with_cookie = translate(&flow, &ports(), &MeterTable::new()).unwrap();
    assert_eq!(group_of_filter(&with_cookie[0]), g);
}

#[test]
fn the_controller_meter_sets_the_bound_on_packet_ins() {
    let mut meters = MeterTable::new();
    meters
        .apply(&MeterMod {
            command: MeterModCommand::Add,
            flags: 2,
            meter_id: tc_datapath::meter::OFPM_CONTROLLER,
            bands: vec![MeterBand::Drop {
                rate: 50_000,
                burst_size: 0,
            }],
        })
        .unwrap();
    let f = tr_with(0, 10, vec![], apply(vec![controller(64)]), &meters).unwrap();
    assert_eq!(
        f[0].actions[0],
        TcAction::PoliceJump {
            rate: PoliceRate::Packets {
                rate: 50_000,
                burst: 5_000
            },
            to: 4
        }
    );
    // Without it, the default bound.
    let f = tr_with(
        0,
        10,
        vec![],
        apply(vec![controller(64)]),
        &MeterTable::new(),
    )
    .unwrap();
    assert_eq!(
        f[0].actions[0],
        TcAction::PoliceJump {
            rate: tc_datapath::meter::CONTROLLER_DEFAULT,
            to: 4
        }
    );
}
