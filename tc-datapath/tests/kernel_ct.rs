//! Kernel tier: act_ct and flower's ct keys as the kernel takes them and dumps them back.
//! Every connection tracking flow of the translation is installed on a port; the full dump
//! must give back exactly the keys and actions that were written (what adoption after a
//! restart relies on), and the kernel must refuse none of them. Runs in the VM.

use ofproto::text::parse_flow;
use ofproto::v13::FlowModCommand;
use regress::net::LanSwitch;
use regress::Lan;
use tc_datapath::{translate, DecodedFlow, MeterTable, PortMap, Tc};

fn ifindex(name: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .expect("ifindex")
        .trim()
        .parse()
        .expect("ifindex number")
}

#[test]
#[ignore = "kernel tier: needs act_ct and cls_flower, runs in the VM"]
fn ct_filters_read_back_as_written() {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let mut ports = PortMap::new();
    for (i, h) in lan.hosts.iter().enumerate() {
        ports.insert(i as u32 + 1, ifindex(&h.port), &h.port);
    }
    let flows = [
        "priority=100,in_port=1,ct_state=-trk,ip,actions=ct(table=1,zone=5,nat)",
        "table=1,priority=90,in_port=1,ct_state=+trk+new,tcp,actions=ct(commit,zone=5,exec(set_field:0x7->ct_mark,set_field:0x10000000000000001->ct_label)),NORMAL",
        "table=1,priority=91,in_port=1,ct_state=+trk+est-rpl,ct_zone=5,ct_mark=0x1/0x3,ct_label=0x1/0xff,ip,actions=NORMAL",
        "table=1,priority=92,in_port=1,ct_state=+trk+inv,ip,actions=drop",
        "table=1,priority=93,in_port=1,ct_state=+trk+new,tcp,tp_dst=2222,actions=ct(commit,nat(dst=10.77.0.1:22)),NORMAL",
        "table=1,priority=94,in_port=1,ct_state=+trk+new,tcp,tp_dst=7000,actions=ct(commit,force,nat(src=10.77.0.90-10.77.0.99:1024-2047)),NORMAL",
        "table=1,priority=95,in_port=1,ipv6,actions=ct(commit,nat(src=[2001:db8::1]-[2001:db8::9])),NORMAL",
        "table=1,priority=96,in_port=1,ip,actions=ct_clear,output:2",
    ];
    let mut tc = Tc::new().expect("netlink socket");
    let dev = ports.ifindex(1).expect("port 1");
    tc.ensure_clsact(dev).expect("clsact");
    for text in flows {
        let fm = parse_flow(text, FlowModCommand::Add).unwrap_or_else(|e| panic!("{text}: {e}"));
        let flow = DecodedFlow {
            table_id: fm.table_id,
            priority: fm.priority,
            cookie: 0,
            r#match: &fm.match_,
            instructions: &fm.instructions,
        };
        let mut filters = translate(&flow, &ports, &MeterTable::new())
            .unwrap_or_else(|r| panic!("{text}: refused: {r}"));
        for r in tc.install(&mut filters) {
            r.unwrap_or_else(|e| panic!("{text}: the kernel refused it: {e}"));
        }
        let dumped = tc.dump(dev).expect("dump");
        for f in &filters {
            let got = dumped
                .iter()
                .find(|i| i.id.chain == f.chain && i.id.prio == f.prio)
                .unwrap_or_else(|| panic!("{text}: not in the dump"));
            assert_eq!(got.key, f.key, "{text}: keys");
            assert_eq!(got.actions, f.actions, "{text}: actions");
            assert_eq!(got.cookie, Some(f.cookie), "{text}: cookie");
        }
        println!("read back as written: {text}");
    }
}
