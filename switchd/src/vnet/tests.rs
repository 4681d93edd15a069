//! The compiler's flows, read as an operator (or the kernel) would: what they match and
//! where they send frames.

use std::collections::{BTreeMap, BTreeSet};

use super::compile::{compile, network_cookie, vm_cookie, GENEVE_PORT, VXLAN_PORT};
use conf::vnet::{Segment, Vnet};

/// The complete example of the golden tests.
const EXAMPLE: &str = include_str!("../../../conf/tests/golden/vnet.conf");

fn vnet(text: &str) -> Vnet {
    conf::parse_str("vnet.conf", text, &[])
        .expect("the example parses")
        .vnet
        .expect("it has virtual networks")
}

fn switch(v: &Vnet, hv: &str) -> conf::Switch {
    compile(v, hv)
        .unwrap_or_else(|e| panic!("{hv}: {e:?}"))
        .switch
        .unwrap_or_else(|| panic!("{hv} hosts vms"))
}

/// `key=value` of a flow's match (before `actions=`).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let m = text.split(",actions=").next()?;
    m.split(',')
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn cookie(text: &str) -> u64 {
    let c = field(text, "cookie").expect("a cookie");
    u64::from_str_radix(c.trim_start_matches("0x"), 16).expect("a hex cookie")
}

fn actions(text: &str) -> &str {
    text.split(",actions=").nth(1).unwrap_or("")
}

/// The ports a flow outputs to.
fn outputs(text: &str) -> Vec<u32> {
    actions(text)
        .split(',')
        .filter_map(|a| a.strip_prefix("output:"))
        .map(|p| p.parse().expect("a port number"))
        .collect()
}

/// Which network each port (or tunnel VNI) belongs to, on one hypervisor.
fn port_networks(v: &Vnet, sw: &conf::Switch, hv: &str) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    for n in &v.networks {
        for vm in n.vms.iter().filter(|vm| vm.hypervisor == hv) {
            let p = sw
                .ports
                .iter()
                .find(|p| p.name == vm.port)
                .expect("the vm's port");
            out.insert(p.number.expect("numbered"), n.name.clone());
        }
    }
    out
}

#[test]
fn every_hypervisor_compiles_and_every_flow_translates_to_tc() {
    let v = vnet(EXAMPLE);
    for h in &v.hypervisors {
        let sw = switch(&v, &h.name);
        assert_eq!(sw.table_miss, conf::TableMiss::Drop);
        let mut ports = tc_datapath::PortMap::new();
        for p in &sw.ports {
            let n = p.number.expect("numbered");
            ports.insert(n, 100 + n, &p.name);
        }
        let mut meters = tc_datapath::MeterTable::new();
        for m in &sw.meters {
            use ofproto::v13::{MeterBand, MeterMod, MeterModCommand};
            meters
                .apply(&MeterMod {
                    command: MeterModCommand::Add,
                    flags: 1, // OFPMF_KBPS
                    meter_id: m.id,
                    bands: vec![MeterBand::Drop {
                        rate: m.rate_kbps,
                        burst_size: 0,
                    }],
                })
                .expect("a meter the datapath takes");
        }
        for f in &sw.flows {
            let fm = ofproto::text::parse_flow(&f.text, ofproto::v13::FlowModCommand::Add)
                .expect("parses");
            let flow = tc_datapath::DecodedFlow {
                table_id: fm.table_id,
                priority: fm.priority,
                cookie: fm.cookie,
                r#match: &fm.match_,
                instructions: &fm.instructions,
            };
            match tc_datapath::translate(&flow, &ports, &meters) {
                Ok(filters) => assert!(!filters.is_empty(), "{}: no filter", f.text),
                Err(r) => panic!("{}: {} refuses {}: {r}", f.file, h.name, f.text),
            }
        }
    }
}

#[test]
fn no_flow_of_one_network_reaches_another() {
    let v = vnet(EXAMPLE);
    for h in &v.hypervisors {
        let sw = switch(&v, &h.name);
        let nets = port_networks(&v, &sw, &h.name);
        let vni_net: BTreeMap<u32, &str> = v
            .networks
            .iter()
            .filter_map(|n| match n.segment {
                Segment::Overlay { vni, .. } => Some((vni, n.name.as_str())),
                Segment::Vlan { .. } => None,
            })
            .collect();
        for f in &sw.flows {
            let t = &f.text;
            let in_port: u32 = field(t, "in_port")
                .expect("every flow matches its port")
                .parse()
                .unwrap();
            // The flow's network: its port's, its VNI's (the tunnel), or its VLAN's.
            let net = if let Some(n) = nets.get(&in_port) {
                n.clone()
            } else if let Some(vni) = field(t, "tunnel_id") {
                vni_net[&vni.parse::<u32>().unwrap()].to_string()
            } else {
                let vid: u16 = field(t, "dl_vlan")
                    .expect("an uplink flow matches its vlan")
                    .parse()
                    .unwrap();
                v.networks
                    .iter()
                    .find(|n| matches!(&n.segment, Segment::Vlan { vid: x, .. } if *x == vid))
                    .unwrap()
                    .name
                    .clone()
            };
            assert_eq!(cookie(t) & !0xff_ffff, network_cookie(&net), "{t}");
            for p in outputs(t) {
                if p == VXLAN_PORT.1 || p == GENEVE_PORT.1 {
                    // Into the tunnel only with the network's own VNI.
                    let set = actions(t)
                        .split(',')
                        .filter_map(|a| a.strip_prefix("set_field:")?.strip_suffix("->tunnel_id"))
                        .map(|x| x.parse::<u32>().unwrap())
                        .collect::<Vec<_>>();
                    assert!(!set.is_empty(), "{t}");
                    assert!(set.iter().all(|vni| vni_net[vni] == net), "{t}");
                } else if let Some(n) = nets.get(&p) {
                    assert_eq!(*n, net, "{}: {t} outputs to another network's port", h.name);
                } else {
                    // The uplink: only with the network's VLAN tag pushed.
                    let Segment::Vlan { vid, .. } =
                        &v.networks.iter().find(|n| n.name == net).unwrap().segment
                    else {
                        panic!("{t}: an overlay network's flow outputs to port {p}");
                    };
                    assert!(
                        actions(t).contains(&format!("set_field:{}->vlan_vid", 0x1000 | vid)),
                        "{t}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_vm_has_its_anti_spoofing_flows() {
    let v = vnet(EXAMPLE);
    for n in &v.networks {
        for vm in &n.vms {
            let sw = switch(&v, &vm.hypervisor);
            let port = sw
                .ports
                .iter()
                .find(|p| p.name == vm.port)
                .unwrap()
                .number
                .unwrap();
            let mine: Vec<&str> = sw
                .flows
                .iter()
                .map(|f| f.text.as_str())
                .filter(|t| {
                    field(t, "table") == Some("0") && field(t, "in_port") == Some(&port.to_string())
                })
                .collect();
            let mac = conf::vnet::Mac(&vm.mac).to_string();
            // What passes comes from its MAC, and from its addresses.
            for t in mine.iter().filter(|t| actions(t) != "drop") {
                assert_eq!(field(t, "dl_src"), Some(mac.as_str()), "{t}");
                if let Some(a) = field(t, "nw_src") {
                    assert!(
                        a == "0.0.0.0" || vm.addresses.iter().any(|x| x.to_string() == a),
                        "{t}"
                    );
                }
                if let Some(a) = field(t, "arp_spa") {
                    assert!(
                        a == "0.0.0.0" || vm.addresses.iter().any(|x| x.to_string() == a),
                        "{t}"
                    );
                    assert_eq!(field(t, "arp_sha"), Some(mac.as_str()), "{t}");
                }
                if t.contains(",arp") {
                    assert!(field(t, "arp_spa").is_some(), "{t}");
                }
            }
            // Each forgery has its own counting flow.
            let drops: BTreeSet<String> = mine
                .iter()
                .filter(|t| actions(t) == "drop")
                .map(|t| t.split(',').skip(2).collect::<Vec<_>>().join(","))
                .collect();
            for want in [
                format!("priority=80,in_port={port},actions=drop"),
                format!("priority=90,in_port={port},dl_src={mac},actions=drop"),
                format!("priority=100,in_port={port},arp,actions=drop"),
                format!("priority=100,in_port={port},dl_src={mac},ip,actions=drop"),
                format!("priority=100,in_port={port},dl_src={mac},ipv6,actions=drop"),
            ] {
                assert!(
                    drops.contains(&want),
                    "{}/{}: no {want} in {drops:?}",
                    n.name,
                    vm.name
                );
            }
            let dhcp = format!("priority=300,in_port={port},udp,tp_src=67,actions=drop");
            assert_eq!(drops.contains(&dhcp), !vm.dhcp_server, "{}", vm.name);
            let ra = format!("priority=300,in_port={port},icmp6,icmp_type=134,actions=drop");
            assert_eq!(
                drops.contains(&ra),
                !vm.router_advertisements,
                "{}",
                vm.name
            );
            // The rate: a meter on everything it may send.
            let metered = mine
                .iter()
                .filter(|t| actions(t).starts_with("meter:"))
                .count();
            assert_eq!(metered > 0, vm.rate_kbps.is_some(), "{}", vm.name);
            if let Some(r) = vm.rate_kbps {
                assert!(sw.meters.iter().any(|m| m.rate_kbps == r));
            }
        }
    }
}

#[test]
fn new_connections_in_need_a_pass_in_rule() {
    let v = vnet(EXAMPLE);
    // db1 (hv2) takes TCP 5432 from 10.1.0.11 only, and the network's ICMP.
    let sw = switch(&v, "hv2");
    let db1 = "52:54:00:00:01:02";
    let ingress: Vec<&str> = sw
        .flows
        .iter()
        .map(|f| f.text.as_str())
        .filter(|t| field(t, "table") == Some("2") && field(t, "dl_dst") == Some(db1))
        .collect();
    let passing: Vec<&&str> = ingress.iter().filter(|t| actions(t) != "drop").collect();
    assert!(
        passing.iter().all(|t| actions(t).starts_with("ct(commit,")),
        "{passing:?}"
    );
    assert!(passing
        .iter()
        .any(|t| field(t, "tp_dst") == Some("5432") && field(t, "nw_src") == Some("10.1.0.11/32")));
    assert!(
        passing
            .iter()
            .all(|t| field(t, "tp_dst").is_none_or(|p| p == "5432")),
        "{passing:?}"
    );
    assert!(ingress
        .iter()
        .any(|t| actions(t) == "drop" && field(t, "priority") == Some("100")));
}

/// Every flow text of a hypervisor's part.
fn texts(v: &Vnet, hv: &str) -> BTreeSet<String> {
    compile(v, hv)
        .unwrap()
        .switch
        .map(|s| s.flows.into_iter().map(|f| f.text).collect())
        .unwrap_or_default()
}

#[test]
fn a_migration_changes_only_the_moved_vms_flows() {
    let before = vnet(EXAMPLE);
    // blue's db1 moves from hv2 to hv3.
    let moved = EXAMPLE.replace("vm \"db1\"  on \"hv2\"", "vm \"db1\"  on \"hv3\"");
    assert_ne!(moved, EXAMPLE);
    let after = vnet(&moved);
    let db1 = vm_cookie("blue", "db1");
    let blue = network_cookie("blue");
    let mut changed_somewhere = 0;
    for h in &before.hypervisors {
        let (a, b) = (texts(&before, &h.name), texts(&after, &h.name));
        // db1's port where it was, or is now.
        let ports: Vec<String> = [&before, &after]
            .iter()
            .filter_map(|v| compile(v, &h.name).unwrap().switch)
            .filter_map(|s| s.ports.into_iter().find(|p| p.name == "tap-db1"))
            .map(|p| p.number.unwrap().to_string())
            .collect();
        for t in a.symmetric_difference(&b) {
            changed_somewhere += 1;
            let c = cookie(t);
            // db1's own flows: its cookie, its port, its MAC; and blue's flooding and
            // admission (which hypervisors host blue changed). Nothing of red's or lab's.
            let concerns_db1 = c == db1
                || field(t, "in_port").is_some_and(|p| ports.iter().any(|x| x == p))
                || field(t, "dl_dst") == Some("52:54:00:00:01:02");
            assert!(concerns_db1 || c == blue, "{}: {t} changed", h.name);
        }
        // red's flows stay as they were on every hypervisor.
        let red = |s: &BTreeSet<String>| -> BTreeSet<String> {
            s.iter()
                .filter(|t| cookie(t) & !0xff_ffff == network_cookie("red"))
                .cloned()
                .collect()
        };
        assert_eq!(red(&a), red(&b), "{}", h.name);
    }
    assert!(changed_somewhere > 0);
}

#[test]
fn two_networks_with_the_same_addresses_get_separate_contexts() {
    let v = vnet(EXAMPLE);
    // hv2 hosts blue's db1 and red's web1, which has blue web1's MAC and address.
    let sw = switch(&v, "hv2");
    let red_web1 = sw
        .ports
        .iter()
        .find(|p| p.name == "tap-red1")
        .unwrap()
        .number
        .unwrap();
    for f in sw
        .flows
        .iter()
        .filter(|f| field(&f.text, "in_port") == Some(&red_web1.to_string()))
    {
        // Red's frames leave only by red's tunnel (Geneve, VNI 200) or red's ports.
        for p in outputs(&f.text) {
            assert!(p == GENEVE_PORT.1, "{}", f.text);
            assert!(
                actions(&f.text).contains("set_field:200->tunnel_id"),
                "{}",
                f.text
            );
        }
    }
    // The tunnel admits only the VNIs of networks hv2 hosts.
    let vnis: BTreeSet<&str> = sw
        .flows
        .iter()
        .filter_map(|f| field(&f.text, "tunnel_id"))
        .collect();
    assert_eq!(vnis, BTreeSet::from(["100", "200"]));
}

#[test]
fn a_flood_too_long_for_one_filter_goes_on_in_the_next_table() {
    let mut text = String::new();
    for i in 0..40 {
        text += &format!("hypervisor \"h{i}\" address 192.0.2.{}\n", i + 1);
    }
    text += "network \"big\" {\n\tvxlan vni 7\n";
    for i in 0..40 {
        text += &format!(
            "\tvm \"v{i}\" on \"h{i}\" port \"tap{i}\" mac 52:54:00:00:00:{:02x}\n",
            i + 1
        );
    }
    text += "}\n";
    let v = vnet(&text);
    let sw = switch(&v, "h0");
    let floods: Vec<&str> = sw
        .flows
        .iter()
        .map(|f| f.text.as_str())
        .filter(|t| field(t, "dl_dst").is_none() && outputs(t).contains(&VXLAN_PORT.1))
        .collect();
    // 39 remote hypervisors at 2 actions each: 3 filters, in tables 3, 4 and 5.
    let tables: BTreeSet<&str> = floods.iter().filter_map(|t| field(t, "table")).collect();
    assert_eq!(tables, BTreeSet::from(["3", "4", "5"]), "{floods:?}");
    let tunnels: usize = floods.iter().map(|t| outputs(t).len()).sum();
    assert_eq!(tunnels, 39);
}
