//! The ovs-ofctl flow syntax: the corpus in text_flows.txt reaches a fixed point under
//! print . parse; errors name the token and its column; 1.0 flows; dump-flows format.

use ofproto::text::{
    parse_flow, parse_flow10, print_flow_mod, print_flow_mod10, print_flow_stats,
    print_flow_stats10,
};
use ofproto::v10;
use ofproto::v13::multipart::FlowStats;
use ofproto::v13::FlowModCommand;

/// The corpus lines (comments and `# ovs-skip` notes removed).
fn corpus() -> Vec<String> {
    include_str!("text_flows.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split("  #").next().unwrap_or(l).trim().to_string())
        .collect()
}

#[test]
fn corpus_is_large_enough() {
    assert!(corpus().len() >= 100, "{} flows", corpus().len());
}

#[test]
fn print_parse_reaches_a_fixed_point() {
    for line in corpus() {
        let fm = parse_flow(&line, FlowModCommand::Add).unwrap_or_else(|e| panic!("{line}: {e}"));
        let printed = print_flow_mod(&fm);
        let again = parse_flow(&printed, FlowModCommand::Add)
            .unwrap_or_else(|e| panic!("{line} printed as {printed}: {e}"));
        assert_eq!(again, fm, "{line} -> {printed}");
        assert_eq!(print_flow_mod(&again), printed, "{line}");
    }
}

#[test]
fn delete_and_modify_commands() {
    let fm = parse_flow("cookie=0x5/0xff,tcp,tp_dst=80", FlowModCommand::Delete).unwrap();
    assert_eq!((fm.cookie, fm.cookie_mask, fm.table_id), (5, 0xff, 0xff));
    assert!(fm.instructions.is_empty());
    let p = print_flow_mod(&fm);
    assert_eq!(p, "cookie=0x5/0xff,tcp,tp_dst=80");
    assert_eq!(parse_flow(&p, FlowModCommand::Delete).unwrap(), fm);
    let fm = parse_flow(
        "table=2,out_port=3,out_group=4,priority=9,ip",
        FlowModCommand::DeleteStrict,
    )
    .unwrap();
    assert_eq!((fm.table_id, fm.out_port, fm.out_group), (2, 3, 4));
    assert_eq!(
        parse_flow(&print_flow_mod(&fm), FlowModCommand::DeleteStrict).unwrap(),
        fm
    );
    let fm = parse_flow("ip,actions=output:1", FlowModCommand::Modify).unwrap();
    assert_eq!(fm.table_id, 0);
}

fn err(text: &str) -> String {
    parse_flow(text, FlowModCommand::Add)
        .unwrap_err()
        .to_string()
}

/// Found by the flow_text fuzz target: `actions=65535` read as output to OFPP_ANY, which
/// printed as `actions=ANY` and did not parse again. ANY is no output port.
#[test]
fn output_to_any_is_refused_in_every_spelling() {
    for text in [
        "actions=65535",
        "actions=output:ANY",
        "actions=output:0xffffffff",
        "actions=enqueue:65535:1",
    ] {
        let e = err(text);
        assert!(e.contains("names no port"), "{text}: {e}");
        let e10 = ofproto::text::parse_flow10(text, ofproto::v10::FlowModCommand::Add)
            .unwrap_err()
            .to_string();
        assert!(e10.contains("names no port"), "{text} (1.0): {e10}");
    }
}

#[test]
fn errors_name_the_token_and_its_column() {
    assert_eq!(
        err("ip,nw_dts=1.2.3.4,actions=drop"),
        "column 4: unknown field \"nw_dts\""
    );
    assert_eq!(
        err("ip,tp_dst=80,actions=drop"),
        "column 4: tp_dst requires tcp, udp or sctp (set dl_type and nw_proto, or write tcp/udp/sctp)"
    );
    assert_eq!(
        err("tcp,tp_dst=70000,actions=drop"),
        "column 12: value 70000 out of range for tp_dst (0..65535)"
    );
    assert_eq!(
        err("tcp,tp_dst=80"),
        "column 14: adding a flow needs actions= (write actions=drop to drop)"
    );
    assert!(err("nw_src=1.2.3.4,actions=drop").contains("nw_src requires ip or arp"));
    assert!(err("ip,icmp_type=3,actions=drop").contains("icmp_type requires icmp"));
    assert!(err("tcp,udp,actions=drop").contains("udp conflicts with tcp"));
    assert!(
        err("icmp6,nd_target=::1,actions=drop").contains("nd_target requires icmp_type=135 or 136")
    );
    assert!(err("ip,nw_src=1.2.3.4.5,actions=drop").contains("not an IPv4 address"));
    assert!(err("dl_src=00:11:22,actions=drop").contains("not an Ethernet address"));
    assert!(err("actions=frobnicate").contains("unknown action \"frobnicate\""));
    assert!(err("actions=load:0x5->NXM_OF_IN_PORT[]").contains("Nicira"));
    assert!(err("actions=set_field:1.2.3.4->ip_dst").contains("requires ip"));
    assert!(err("tcp,actions=set_field:0x5/0xff->metadata").contains("OpenFlow 1.5"));
    assert!(err("actions=mod_tp_dst:5").contains("requires tcp, udp or sctp"));
    assert!(err("importance=5,actions=drop").contains("OpenFlow 1.4"));
    assert!(err("cookie=1/1,actions=drop").contains("cookie=VALUE/MASK"));
    assert!(err("ip,nw_tos=1,actions=drop").contains("ECN"));
    assert!(err("dl_vlan=5000,actions=drop").contains("out of range for dl_vlan"));
    assert!(err("actions=output:1,drop").contains("drop must be the only action"));
    assert!(err("actions=write_actions(output:1").contains("unbalanced"));
    assert!(err("actions=goto_table:1,goto_table:2").contains("given twice"));
    assert!(err("actions=set_field:3->vlan_pcp").contains("needs a VLAN tag"));
    // Columns count characters.
    assert!(err("ip, ip_src=1.2.3.4,   frob=1,actions=drop").starts_with("column 23:"));
}

#[test]
fn dump_flows_format() {
    let fm = parse_flow(
        "priority=100,icmp,in_port=1,idle_timeout=10,actions=drop",
        FlowModCommand::Add,
    )
    .unwrap();
    let fs = FlowStats {
        table_id: 0,
        duration_sec: 1,
        duration_nsec: 234_000_000,
        priority: fm.priority,
        idle_timeout: fm.idle_timeout,
        hard_timeout: 0,
        flags: 0,
        cookie: 0,
        packet_count: 3,
        byte_count: 294,
        match_: fm.match_.clone(),
        instructions: fm.instructions.clone(),
    };
    let s = print_flow_stats(&fs);
    assert_eq!(
        s,
        " cookie=0x0, duration=1.234s, table=0, n_packets=3, n_bytes=294, idle_timeout=10, priority=100,icmp,in_port=1 actions=drop"
    );
    // A dumped flow can be pasted back.
    let back = parse_flow(&s, FlowModCommand::Add).unwrap();
    assert_eq!(back.match_, fm.match_);
    let empty = FlowStats {
        duration_nsec: 1,
        priority: 0x8000,
        ..fs
    };
    assert_eq!(
        print_flow_stats(&empty),
        " cookie=0x0, duration=1.000000001s, table=0, n_packets=3, n_bytes=294, idle_timeout=10, actions=drop"
            .replace("idle_timeout=10, actions=drop", "idle_timeout=10, priority=100,icmp,in_port=1 actions=drop")
            .replace("priority=100,", "")
            .replace(",icmp,in_port=1", "icmp,in_port=1")
    );
}

#[test]
fn openflow10_flows() {
    use v10::FlowModCommand as C;
    let lines = [
        "priority=100,icmp,in_port=1,actions=drop",
        "tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=mod_nw_dst:1.2.3.4,output:2",
        "dl_vlan=10,dl_vlan_pcp=3,actions=strip_vlan,NORMAL",
        "dl_vlan=0xffff,actions=mod_vlan_vid:5,mod_vlan_pcp:2,output:1",
        "arp,nw_src=10.0.0.1,nw_proto=1,actions=flood",
        "udp,dl_src=00:11:22:33:44:55,tp_src=68,actions=enqueue:1:2",
        "ip,nw_tos=16,actions=mod_nw_tos:32,mod_tp_dst:5,CONTROLLER:128",
        "cookie=0x7,idle_timeout=5,hard_timeout=7,send_flow_rem,in_port=LOCAL,actions=in_port",
        "icmp,icmp_type=8,icmp_code=0,actions=mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02",
        "actions=drop",
    ];
    for line in lines {
        let fm = parse_flow10(line, C::Add).unwrap_or_else(|e| panic!("{line}: {e}"));
        let p = print_flow_mod10(&fm);
        let again = parse_flow10(&p, C::Add).unwrap_or_else(|e| panic!("{line} -> {p}: {e}"));
        assert_eq!(again, fm, "{line} -> {p}");
        let fs = v10::FlowStats {
            table_id: 0,
            r#match: fm.r#match,
            duration_sec: 2,
            duration_nsec: 0,
            priority: fm.priority,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            cookie: fm.cookie,
            packet_count: 0,
            byte_count: 0,
            actions: fm.actions.clone(),
        };
        let s = print_flow_stats10(&fs);
        assert!(s.starts_with(" cookie=0x"), "{s}");
        assert_eq!(parse_flow10(&s, C::Add).unwrap().r#match, fm.r#match);
    }
    let e = |t: &str| parse_flow10(t, C::Add).unwrap_err().to_string();
    assert!(e("ipv6,ipv6_src=::1,actions=drop").contains("not expressible in OpenFlow 1.0"));
    assert!(e("ip,nw_src=10.0.0.0/255.0.255.0,actions=drop").contains("prefix"));
    assert!(e("dl_src=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop").contains("mask"));
    assert!(e("table=3,actions=drop").contains("1.1"));
    assert!(e("actions=goto_table:1").contains("unknown action"));
}

/// nw_ttl, tun_src, tun_dst (ovs-fields(7): NXM_NX_IP_TTL, NXM_NX_TUN_IPV4_SRC/DST) go out
/// as OXMs of the NXM_1 class with their NXM field numbers (29, 31, 32): the encodings
/// tc-datapath's `opaque_match_field_translates` takes (nw_ttl one byte, never masked;
/// a tunnel address four bytes, eight with a mask).
#[test]
fn nicira_fields_in_matches_and_set_field() {
    use ofproto::v13::{Action, Instruction, Oxm, OxmOpaque};
    let nxm = |field: u8, has_mask: bool, payload: &[u8]| {
        Oxm::Opaque(OxmOpaque {
            class: 0x0001,
            field,
            has_mask,
            payload: payload.to_vec().into(),
        })
    };
    let fm = parse_flow(
        "ip,nw_ttl=64,tun_src=192.0.2.1,tun_dst=10.1.2.3/8,actions=drop",
        FlowModCommand::Add,
    )
    .unwrap();
    assert_eq!(
        fm.match_.fields.to_vec(),
        vec![
            Oxm::EthType(0x0800),
            nxm(29, false, &[64]),
            nxm(31, false, &[192, 0, 2, 1]),
            nxm(32, true, &[10, 0, 0, 0, 255, 0, 0, 0]),
        ]
    );
    // Printed where ovs-ofctl puts them: tunnel fields after tun_id, nw_ttl after nw_ecn.
    assert_eq!(
        print_flow_mod(&fm),
        "ip,tun_src=192.0.2.1,tun_dst=10.0.0.0/8,nw_ttl=64 actions=drop"
    );
    let fm = parse_flow(
        "tcp,nw_ttl=3,tun_dst=1.2.3.4/255.0.255.0,tun_id=5,in_port=2,nw_ecn=1,tp_dst=80,actions=drop",
        FlowModCommand::Add,
    )
    .unwrap();
    assert_eq!(
        print_flow_mod(&fm),
        "tcp,tun_id=0x5,tun_dst=1.0.3.0/255.0.255.0,in_port=2,nw_ecn=1,nw_ttl=3,tp_dst=80 actions=drop"
    );
    // An all-ones mask is an exact match; an all-zero one matches nothing.
    let exact = parse_flow("tun_src=1.2.3.4/32,actions=drop", FlowModCommand::Add).unwrap();
    assert_eq!(
        exact.match_.fields.to_vec(),
        vec![nxm(31, false, &[1, 2, 3, 4])]
    );
    let any = parse_flow("tun_src=1.2.3.4/0,actions=drop", FlowModCommand::Add).unwrap();
    assert!(any.match_.fields.is_empty());

    let fm = parse_flow(
        "actions=set_field:192.0.2.1->tun_src,set_field:192.0.2.2->tun_dst,set_tunnel:0x2a,output:1",
        FlowModCommand::Add,
    )
    .unwrap();
    let Some(Instruction::ApplyActions(acts)) = fm.instructions.first() else {
        panic!("no apply_actions: {fm:?}");
    };
    assert_eq!(
        acts.to_vec()[..3],
        [
            Action::SetField(nxm(31, false, &[192, 0, 2, 1])),
            Action::SetField(nxm(32, false, &[192, 0, 2, 2])),
            Action::SetField(Oxm::TunnelId(ofproto::v13::Masked::exact(0x2a))),
        ]
    );
    assert_eq!(
        print_flow_mod(&fm),
        "actions=set_field:192.0.2.1->tun_src,set_field:192.0.2.2->tun_dst,set_field:0x2a->tun_id,output:1"
    );

    // Errors: the token's column, in the words used for the other fields.
    assert_eq!(
        err("ip,tun_src=1.2.3,actions=drop"),
        "column 12: \"1.2.3\" is not an IPv4 address (for tun_src)"
    );
    assert!(err("tun_dst=10.0.0.1/33,actions=drop").starts_with("column 9:"));
    assert_eq!(
        err("nw_ttl=5,actions=drop"),
        "column 1: nw_ttl requires ip or ipv6 (write ip or ipv6, or set dl_type=0x0800 or 0x86dd)"
    );
    assert_eq!(
        err("ip,nw_ttl=3/2,actions=drop"),
        "column 11: nw_ttl cannot be masked"
    );
    assert!(err("ip,nw_ttl=256,actions=drop").starts_with("column 11:"));
    assert!(err("tun_src=1.1.1.1,tun_src=2.2.2.2,actions=drop")
        .contains("tun_src conflicts with tun_src given earlier"));
    assert!(err("actions=set_field:1.2.3.4/16->tun_src").contains("OpenFlow 1.5"));
    assert!(err("actions=set_field:1.2.3.x->tun_dst").contains("not an IPv4 address (for tun_dst)"));
    assert!(err("arp,actions=set_field:5->nw_ttl").contains("nw_ttl requires ip or ipv6"));
    // OpenFlow 1.0 has no place for them.
    let e = parse_flow10(
        "tun_src=1.2.3.4,actions=drop",
        ofproto::v10::FlowModCommand::Add,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tun_src is not expressible in OpenFlow 1.0"),
        "{e}"
    );
}
