//! Kernel tier: actions a local switch translates to act_mpls, act_tunnel_key and pedit,
//! shown with pings, on a local switch and on Open vSwitch (its kernel datapath) in the
//! same test, driven by the same controller with the same FLOW_MODs, the same outcome
//! asserted for both (see `common/ofswitch.rs`):
//!
//! - MPLS: IPv4 gets a label pushed in table 0; table 1 matches the label, pops it and
//!   outputs; a wrong label matches nothing; `dec_mpls_ttl` on TTL 1 drops;
//! - `set_field:…->tun_id` then `goto_table`: table 1 matches the id;
//! - set-field of the ICMP code: the echo still gets its answer (the checksum is
//!   updated).
//!
//! ARP goes through `NORMAL` at a higher priority throughout.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/ofswitch.rs"]
mod ofswitch;

use ofswitch::{both, check, Outcomes, Sw};
use regress::net::LanSwitch;
use regress::Lan;

const PEER: &str = "10.77.0.2";

fn hosts() -> Lan {
    Lan::new(2, LanSwitch::PortsOnly).expect("hosts")
}

fn arp_normal(sw: &mut Sw) {
    sw.add("table=0,priority=200,arp,actions=NORMAL");
}

fn mpls(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    arp_normal(sw);
    let push = |sw: &mut Sw, p: u32, label: u32, ttl: u8| {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},ip,\
             actions=push_mpls:0x8847,set_field:{label}->mpls_label,set_mpls_ttl:{ttl},goto_table:1"
        ));
    };
    push(sw, 1, 100, 64);
    push(sw, 2, 200, 64);
    // Back from port 2: label 200, popped.
    sw.add("table=1,priority=100,in_port=2,mpls,mpls_label=200,actions=pop_mpls:0x0800,output:1");
    // From port 1 a flow for label 101 only: the pushed 100 matches nothing.
    let wrong =
        "table=1,priority=100,in_port=1,mpls,mpls_label=101,actions=pop_mpls:0x0800,output:2";
    sw.add(wrong);
    let ok = sw.never_pings(PEER);
    check(sw, &mut o, "label 100 does not match mpls_label=101", ok);
    sw.del(wrong);
    let right = "table=1,priority=100,in_port=1,mpls,mpls_label=100,mpls_bos=1,actions=pop_mpls:0x0800,output:2";
    sw.add(right);
    let ok = sw.pings(PEER);
    check(sw, &mut o, "push label 100, match it in table 1, pop", ok);
    // dec_mpls_ttl: TTL 64 passes, TTL 1 runs out.
    sw.del(right);
    sw.add(
        "table=1,priority=100,in_port=1,mpls,mpls_label=100,\
         actions=dec_mpls_ttl,pop_mpls:0x0800,output:2",
    );
    let ok = sw.pings(PEER);
    check(sw, &mut o, "dec_mpls_ttl from 64 passes", ok);
    push(sw, 1, 100, 1);
    let ok = sw.never_pings(PEER);
    check(sw, &mut o, "dec_mpls_ttl from 1 drops", ok);
    o
}

fn tunnel_id_then_goto(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    arp_normal(sw);
    for p in [1, 2] {
        sw.add(&format!(
            "table=0,priority=100,in_port={p},ip,actions=set_field:42->tun_id,goto_table:1"
        ));
    }
    sw.add("table=1,priority=100,in_port=2,tun_id=42,actions=output:1");
    let wrong = "table=1,priority=100,in_port=1,tun_id=43,actions=output:2";
    sw.add(wrong);
    let ok = sw.never_pings(PEER);
    check(sw, &mut o, "tun_id 42 does not match tun_id=43", ok);
    sw.del(wrong);
    sw.add("table=1,priority=100,in_port=1,tun_id=42,actions=output:2");
    let ok = sw.pings(PEER);
    check(
        sw,
        &mut o,
        "tun_id 42 set in table 0 matches in table 1",
        ok,
    );
    o
}

fn icmp_code(sw: &mut Sw) -> Outcomes {
    let mut o = Vec::new();
    arp_normal(sw);
    sw.add("priority=100,in_port=1,icmp,icmp_type=8,actions=set_field:5->icmp_code,output:2");
    sw.add("priority=100,in_port=2,icmp,actions=output:1");
    let ok = sw.pings(PEER);
    check(
        sw,
        &mut o,
        "an echo request with its code set is answered (checksum updated)",
        ok,
    );
    o
}

#[test]
#[ignore = "kernel tier: needs cls_flower and act_mpls, runs in the VM"]
fn mpls_push_match_pop_and_dec_ttl_as_open_vswitch() {
    both(hosts, mpls);
}

#[test]
#[ignore = "kernel tier: needs cls_flower and act_tunnel_key, runs in the VM"]
fn tunnel_id_set_then_goto_table_is_matched_there_as_open_vswitch() {
    both(hosts, tunnel_id_then_goto);
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_pedit and act_csum, runs in the VM"]
fn icmp_code_set_field_keeps_the_checksum_right_as_open_vswitch() {
    both(hosts, icmp_code);
}
