//! Kernel tier: OpenFlow 1.3's VLAN semantics with packets, on a local switch and on Open
//! vSwitch (its kernel datapath, `datapath_type=system`) in the same test, driven by the
//! same controller (the test's own) with the same FLOW_MODs, and the same outcome asserted
//! for both:
//!
//! - matching (spec 7.2.3.7): `vlan_vid=NONE` (untagged only), `PRESENT/PRESENT` (any
//!   tag), an exact VID with a PCP, each shown with tagged and untagged pings;
//! - a Faucet-like pipeline: untagged frames get a native VLAN pushed in table 0, table 1
//!   matches it, pops it and outputs; `push_vlan` with no set-field (VID 0, spec 7.2.6.5);
//!   a push onto a tagged frame copies the frame's PCP into the new tag (QinQ);
//! - packet-ins (spec 7.4.1): the data is the frame as the switch has it, its VLAN tag
//!   included, whether the frame arrived tagged or the pipeline pushed the tag.
//!
//! - 802.1ad (0x88a8) outer tags: `vlan_vid` matches them as Open vSwitch does (its flow
//!   key takes either TPID as the outer VLAN), a set-field of the VID keeps the TPID, and
//!   QinQ: an untagged frame gets a C-tag and an S-tag pushed, and the reply's S-tag is
//!   matched and popped, its C-tag matched in the next table and popped.
//!
//! Each host has `eth0` (untagged, 10.77.0.x) and VLAN devices `eth0.10` (PCP 0,
//! 10.110.0.x) and `eth0.20` (PCP 5, 10.120.0.x); the 802.1ad scenario's hosts have
//! 802.1ad devices instead ([`hosts_ad`]).

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/ofswitch.rs"]
mod ofswitch;

use std::time::{Duration, Instant};

use ofswitch::{both, check, ping, Outcomes, Sw};
use regress::net::LanSwitch;
use regress::Lan;

const UNTAGGED: &str = "10.77.0.2";
const V10: &str = "10.110.0.2";
const V20: &str = "10.120.0.2";

/// Two hosts whose switch-side ports wait in the root namespace, each with eth0.10 (PCP 0)
/// and eth0.20 (PCP 5).
fn hosts() -> Lan {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    for (i, h) in lan.hosts.iter().enumerate() {
        for (vid, pcp) in [(10u16, 0u8), (20, 5)] {
            let dev = format!("eth0.{vid}");
            h.ns.ip(&[
                "link",
                "add",
                "link",
                "eth0",
                "name",
                &dev,
                "type",
                "vlan",
                "id",
                &vid.to_string(),
                "egress-qos-map",
                &format!("0:{pcp}"),
            ])
            .expect("VLAN device");
            h.ns.ip(&[
                "addr",
                "add",
                &format!("10.{}.0.{}/24", 100 + vid, i + 1),
                "dev",
                &dev,
            ])
            .expect("VLAN address");
            h.ns.ip(&["link", "set", &dev, "up"]).expect("VLAN up");
        }
    }
    lan
}

const S30: &str = "10.130.0.2";
/// Host 1's 802.1ad VID 32 and host 2's VID 33 share this subnet: only a switch that
/// rewrites the VID and keeps the TPID joins them.
const S32_33: &str = "10.132.0.2";
/// Host 1 untagged, host 2 behind an S-tag 50 and a C-tag 60.
const QINQ: &str = "10.150.0.2";

/// `ip link add link LOWER name NAME type vlan proto PROTO id VID` in `ns`, with `addr`.
fn vlan_dev(ns: &regress::Netns, lower: &str, name: &str, proto: &str, vid: u16, addr: &str) {
    let vid = vid.to_string();
    ns.ip(&[
        "link", "add", "link", lower, "name", name, "type", "vlan", "proto", proto, "id", &vid,
    ])
    .expect("VLAN device");
    ns.ip(&["addr", "add", addr, "dev", name])
        .expect("VLAN address");
    ns.ip(&["link", "set", name, "up"]).expect("VLAN up");
}

/// Two hosts with 802.1ad devices: VID 30 on both (10.130.0.x); VID 32 on host 1 and 33
/// on host 2 (10.132.0.x); host 1 has 10.150.0.1 untagged, host 2 10.150.0.2 behind
/// S-tag 50 and C-tag 60.
fn hosts_ad() -> Lan {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    for (i, h) in lan.hosts.iter().enumerate() {
        let n = i + 1;
        vlan_dev(
            &h.ns,
            "eth0",
            "s30",
            "802.1ad",
            30,
            &format!("10.130.0.{n}/24"),
        );
        vlan_dev(
            &h.ns,
            "eth0",
            "s3x",
            "802.1ad",
            32 + i as u16,
            &format!("10.132.0.{n}/24"),
        );
    }
    lan.hosts[0]
        .ns
        .ip(&["addr", "add", "10.150.0.1/24", "dev", "eth0"])
        .expect("address");
    let h2 = &lan.hosts[1].ns;
    h2.ip(&[
        "link", "add", "link", "eth0", "name", "s50", "type", "vlan", "proto", "802.1ad", "id",
        "50",
    ])
    .expect("S-tag device");
    h2.ip(&["link", "set", "s50", "up"]).expect("up");
    vlan_dev(h2, "s50", "s50c60", "802.1Q", 60, "10.150.0.2/24");
    lan
}

fn ad(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    if let Some(ovs) = sw.open_vswitch() {
        // Open vSwitch parses one tag by default; QinQ's inner tag needs two.
        ovs.vsctl(&["set", "Open_vSwitch", ".", "other_config:vlan-limit=2"])
            .expect("vlan-limit");
    }
    sw.add("priority=0,actions=NORMAL");
    let ok = sw.pings(S30);
    check(sw, &mut o, "802.1ad VID 30 pings with NORMAL", ok);

    let present = "priority=100,vlan_tci=0x1000/0x1000,actions=drop";
    sw.add(present);
    let ok = sw.never_pings(S30);
    check(sw, &mut o, "vlan_vid=PRESENT drops 802.1ad VID 30", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=PRESENT passes untagged", ok);
    sw.del(present);

    let exact = "priority=100,dl_vlan=30,actions=drop";
    sw.add(exact);
    let ok = sw.never_pings(S30);
    check(sw, &mut o, "vlan_vid=30 drops 802.1ad VID 30", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=30 passes untagged", ok);
    sw.del(exact);

    let none = "priority=100,vlan_tci=0x0000/0x1fff,actions=drop";
    sw.add(none);
    let ok = sw.pings(S30);
    check(sw, &mut o, "vlan_vid=NONE passes 802.1ad VID 30", ok);
    sw.del(none);

    // VID 32 <-> 33: the rewritten tag must still be an 802.1ad one for the far host.
    let there = "priority=100,in_port=1,dl_vlan=32,actions=set_field:4129->vlan_vid,output:2";
    let back = "priority=100,in_port=2,dl_vlan=33,actions=set_field:4128->vlan_vid,output:1";
    sw.add(there);
    sw.add(back);
    let ok = sw.pings(S32_33);
    check(
        sw,
        &mut o,
        "802.1ad VID 32 set to 33 and back keeps its TPID",
        ok,
    );
    sw.del(there);
    sw.del(back);
    sw.del("priority=0");

    // QinQ: C-tag 60 pushed first, S-tag 50 (0x88a8) outside it; back, the S-tag is
    // matched and popped, the C-tag matched in table 1 and popped.
    sw.add(
        "table=0,priority=100,in_port=1,vlan_tci=0x0000/0x1fff,\
         actions=push_vlan:0x8100,set_field:4156->vlan_vid,\
         push_vlan:0x88a8,set_field:4146->vlan_vid,output:2",
    );
    sw.add("table=0,priority=100,in_port=2,dl_vlan=50,actions=pop_vlan,goto_table:1");
    sw.add("table=1,priority=100,in_port=2,dl_vlan=60,actions=pop_vlan,output:1");
    let ok = sw.pings(QINQ);
    check(
        sw,
        &mut o,
        "untagged to S-tag 50 + C-tag 60 and back (pop, match the inner tag, pop)",
        ok,
    );
    let ok = sw.never_pings(S30);
    check(sw, &mut o, "no flow for 802.1ad VID 30 now: dropped", ok);
    o
}

fn matching(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    sw.add("priority=0,actions=NORMAL");
    for (what, dst) in [("untagged", UNTAGGED), ("VID 10", V10), ("VID 20", V20)] {
        let ok = sw.pings(dst);
        check(sw, &mut o, &format!("{what} pings with NORMAL"), ok);
    }

    // NONE: untagged frames only.
    let none = "priority=100,vlan_tci=0x0000/0x1fff,actions=drop";
    sw.add(none);
    let ok = sw.never_pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=NONE drops untagged", ok);
    let ok = sw.pings(V10);
    check(sw, &mut o, "vlan_vid=NONE passes VID 10", ok);
    sw.del(none);

    // PRESENT/PRESENT: every tagged frame, no untagged one.
    let present = "priority=100,vlan_tci=0x1000/0x1000,actions=drop";
    sw.add(present);
    let ok = sw.never_pings(V10);
    check(sw, &mut o, "vlan_vid=PRESENT drops VID 10", ok);
    let ok = sw.never_pings(V20);
    check(sw, &mut o, "vlan_vid=PRESENT drops VID 20", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "vlan_vid=PRESENT passes untagged", ok);
    sw.del(present);

    // An exact VID with its PCP.
    let exact = "priority=100,dl_vlan=20,dl_vlan_pcp=5,actions=drop";
    sw.add(exact);
    let ok = sw.never_pings(V20);
    check(sw, &mut o, "VID 20 PCP 5 drops VID 20", ok);
    let ok = sw.pings(V10);
    check(sw, &mut o, "VID 20 PCP 5 passes VID 10", ok);
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "VID 20 PCP 5 passes untagged", ok);
    let pcp3 = "priority=100,dl_vlan=20,dl_vlan_pcp=3,actions=drop";
    sw.del(exact);
    sw.add(pcp3);
    let ok = sw.pings(V20);
    check(sw, &mut o, "VID 20 PCP 3 passes VID 20 with PCP 5", ok);
    sw.del(pcp3);
    o
}

fn pipeline(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    // Table 0: untagged frames get the native VLAN 100; anything else is dropped.
    sw.add("table=0,priority=50,actions=drop");
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},vlan_tci=0x0000/0x1fff,\
             actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=100,in_port={p},dl_vlan=100,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "untagged through push VID 100, match, pop", ok);
    let ok = sw.never_pings(V10);
    check(
        sw,
        &mut o,
        "VID 10 dropped: NONE does not take tagged frames",
        ok,
    );

    // push_vlan alone on an untagged frame: VID 0 (table 1 takes VID 0 only).
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},vlan_tci=0x0000/0x1fff,\
             actions=push_vlan:0x8100,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=100,in_port={p},dl_vlan=0,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(UNTAGGED);
    check(sw, &mut o, "untagged through push_vlan alone (VID 0)", ok);

    // A push onto VID 20 (PCP 5) sets VID 100 and copies the PCP: table 1 takes VID 100
    // with PCP 5 only, pops the outer tag, and the frame leaves with its VID 20.
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},dl_vlan=20,\
             actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1"
        ));
        sw.add(&format!(
            "table=1,priority=110,in_port={p},dl_vlan=100,dl_vlan_pcp=5,actions=pop_vlan,output:{}",
            3 - p
        ));
    }
    let ok = sw.pings(V20);
    check(
        sw,
        &mut o,
        "VID 20 PCP 5 through a pushed VID 100 with the PCP copied",
        ok,
    );
    o
}

fn packet_in(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    // Untagged frames from port 1 get VID 100 pushed, tagged ones keep theirs; table 1
    // sends all to the controller.
    sw.add(
        "table=0,priority=10,in_port=1,vlan_tci=0x0000/0x1fff,\
         actions=push_vlan:0x8100,set_field:4196->vlan_vid,goto_table:1",
    );
    sw.add("table=0,priority=5,in_port=1,actions=goto_table:1");
    sw.add("table=1,priority=0,actions=CONTROLLER:65535");
    sw.c.packet_ins.clear();
    // ARP requests that nothing answers: one untagged, one on VID 10.
    let _ = ping(sw.h(0), UNTAGGED);
    let _ = ping(sw.h(0), V10);
    sw.c.drain(Instant::now() + Duration::from_secs(3));
    let tags: Vec<(Option<u16>, u16)> =
        sw.c.packet_ins
            .iter()
            .filter_map(|p| {
                let d = &p.data[..];
                let et = |at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                match et(12)? {
                    0x8100 => Some((Some(et(14)? & 0x0fff), et(16)?)),
                    t => Some((None, t)),
                }
            })
            .collect();
    println!(
        "{}: packet-ins (VID, EtherType after the tag): {tags:?}",
        sw.name
    );
    let has = |vid, et| tags.contains(&(vid, et));
    check(
        sw,
        &mut o,
        "untagged ARP reaches the controller with the pushed VID 100",
        has(Some(100), 0x0806),
    );
    check(
        sw,
        &mut o,
        "tagged ARP reaches the controller with its VID 10",
        has(Some(10), 0x0806),
    );
    check(
        sw,
        &mut o,
        "no packet-in lost its tag",
        !tags.iter().any(|t| t.0.is_none()),
    );
    o
}

#[test]
#[ignore = "kernel tier: needs cls_flower (num_of_vlans: Linux 5.19+), runs in the VM"]
fn vlan_none_present_and_exact_tags_with_packets_as_open_vswitch() {
    both(hosts, matching);
}

#[test]
#[ignore = "kernel tier: needs cls_flower and act_vlan, runs in the VM"]
fn native_vlan_push_match_pop_and_push_without_set_field_as_open_vswitch() {
    both(hosts, pipeline);
}

#[test]
#[ignore = "kernel tier: needs cls_flower and act_vlan, runs in the VM"]
fn outer_802_1ad_tags_matched_rewritten_and_qinq_pushed_and_popped_as_open_vswitch() {
    both(hosts_ad, ad);
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_vlan and act_sample, runs in the VM"]
fn packet_ins_keep_the_vlan_tag_received_or_pushed_as_open_vswitch() {
    both(hosts, packet_in);
}
