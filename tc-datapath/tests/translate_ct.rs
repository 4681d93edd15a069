//! Host tier: connection tracking flows, written as operators write them for Open vSwitch
//! (ovs-ofctl syntax), translated into act_ct and flower's ct keys; and every refusal with
//! its OpenFlow error and sentence.

use ofproto::text::parse_flow;
use ofproto::v13::errors::{bad_action, bad_match};
use ofproto::v13::FlowModCommand;
use tc_datapath::filter::ct_flags;
use tc_datapath::{
    translate, CtKeys, CtNatRange, CtParams, DecodedFlow, Filter, MeterTable, MirredKind, PortMap,
    Refusal, TcAction, Verdict,
};

fn ports() -> PortMap {
    let mut p = PortMap::new();
    p.insert(1, 11, "p1");
    p.insert(2, 12, "p2");
    p
}

fn tr(text: &str) -> Result<Vec<Filter>, Refusal> {
    let fm = parse_flow(text, FlowModCommand::Add).unwrap_or_else(|e| panic!("{text}: {e}"));
    let flow = DecodedFlow {
        table_id: fm.table_id,
        priority: fm.priority,
        cookie: 0,
        r#match: &fm.match_,
        instructions: &fm.instructions,
    };
    translate(&flow, &ports(), &MeterTable::new())
}

/// The one filter of a flow with in_port=1.
fn one(text: &str) -> Filter {
    let mut v = tr(text).unwrap_or_else(|r| panic!("{text}: refused: {r}"));
    assert_eq!(v.len(), 1, "{text}");
    v.remove(0)
}

fn refused(text: &str, code: ofproto::OfpErrorCode, words: &[&str]) {
    match tr(text) {
        Ok(f) => panic!("{text}: translated, but should be refused: {f:?}"),
        Err(r) => {
            assert_eq!(r.error, code, "{text}: {}", r.reason);
            for w in words {
                assert!(r.reason.contains(w), "{text}: {:?} lacks {w:?}", r.reason);
            }
        }
    }
}

fn ct(flags: u16, zone: u16) -> TcAction {
    TcAction::Ct(CtParams {
        flags,
        zone,
        ..CtParams::default()
    })
}

fn redirect(ifindex: u32) -> TcAction {
    TcAction::Mirred {
        kind: MirredKind::EgressRedirect,
        ifindex,
    }
}

#[test]
fn ct_with_table_is_act_ct_then_goto_chain() {
    let f = one("in_port=1,ct_state=-trk,ip,actions=ct(table=1,zone=5)");
    assert_eq!(
        f.actions,
        vec![ct(0, 5), TcAction::Gact(Verdict::GotoChain(1))]
    );
    assert_eq!(
        f.key.ct,
        CtKeys {
            state: Some((0, 8)),
            ..CtKeys::default()
        }
    );
    assert_eq!(f.key.eth_type, Some(0x0800));
}

#[test]
fn commit_and_output_the_security_group_way() {
    let f =
        one("table=1,in_port=1,ct_state=+trk+new,tcp,tp_dst=22,actions=ct(commit,zone=5),output:2");
    assert_eq!(f.actions, vec![ct(ct_flags::COMMIT, 5), redirect(12)]);
    // new (1) and trk (8), both set.
    assert_eq!(f.key.ct.state, Some((9, 9)));
    let f = one("table=1,in_port=1,ct_state=+trk+est-rpl,ct_zone=5,ip,actions=output:2");
    // est (2), trk (8) set; rpl (0x20) clear.
    assert_eq!(f.key.ct.state, Some((0x0a, 0x2a)));
    assert_eq!(f.key.ct.zone, Some((5, 0xffff)));
    let f = one("table=1,in_port=1,ct_state=+trk+inv,ip,actions=drop");
    assert_eq!(f.key.ct.state, Some((0x18, 0x18)));
    assert_eq!(f.actions, vec![TcAction::Gact(Verdict::Shot)]);
    let f = one("table=1,in_port=1,ct_state=+trk+rel,ip,actions=output:2");
    assert_eq!(f.key.ct.state, Some((0x0c, 0x0c)));
}

#[test]
fn mark_and_label_are_set_on_commit_and_matched_with_masks() {
    let f = one(
        "in_port=1,ip,actions=ct(commit,force,exec(set_field:0x5->ct_mark,set_field:0x10000000000000001->ct_label)),output:2",
    );
    assert_eq!(
        f.actions[0],
        TcAction::Ct(CtParams {
            flags: ct_flags::COMMIT | ct_flags::FORCE,
            mark: Some((5, u32::MAX)),
            labels: Some((1 << 64 | 1, u128::MAX)),
            ..CtParams::default()
        })
    );
    let f = one("in_port=1,ct_mark=0x1/0x3,ct_label=0x1234/0xffff,actions=output:2");
    assert_eq!(f.key.ct.mark, Some((1, 3)));
    assert_eq!(f.key.ct.labels, Some((0x1234, 0xffff)));
}

#[test]
fn nat_ranges_and_restoring_nat() {
    let f = one("in_port=1,ip,actions=ct(commit,table=2,nat(src=10.0.0.1-10.0.0.2:1000-2000))");
    assert_eq!(
        f.actions,
        vec![
            TcAction::Ct(CtParams {
                flags: ct_flags::COMMIT | ct_flags::NAT | ct_flags::NAT_SRC,
                nat: CtNatRange {
                    addr: Some(([10, 0, 0, 1].into(), Some([10, 0, 0, 2].into()))),
                    port: Some((1000, Some(2000))),
                },
                ..CtParams::default()
            }),
            TcAction::Gact(Verdict::GotoChain(2)),
        ]
    );
    let f = one("in_port=1,tcp,actions=ct(commit,nat(dst=10.1.1.1:8080)),output:2");
    assert_eq!(
        f.actions[0],
        TcAction::Ct(CtParams {
            flags: ct_flags::COMMIT | ct_flags::NAT | ct_flags::NAT_DST,
            nat: CtNatRange {
                addr: Some(([10, 1, 1, 1].into(), None)),
                port: Some((8080, None)),
            },
            ..CtParams::default()
        })
    );
    // The reply direction: apply what the connection has.
    let f = one("in_port=2,ip,actions=ct(nat,table=1)");
    assert_eq!(f.actions[0], ct(ct_flags::NAT, 0));
}

#[test]
fn ct_clear_and_a_ct_with_no_output_still_commits_then_drops() {
    let f = one("in_port=1,ip,actions=ct_clear,output:2");
    assert_eq!(f.actions, vec![ct(ct_flags::CLEAR, 0), redirect(12)]);
    let f = one("in_port=1,ip,actions=ct(commit)");
    assert_eq!(
        f.actions,
        vec![ct(ct_flags::COMMIT, 0), TcAction::Gact(Verdict::Shot)]
    );
}

#[test]
fn what_tc_cannot_do_is_refused_with_a_sentence() {
    refused(
        "in_port=1,tcp,actions=ct(commit,alg=ftp),output:2",
        bad_action::BAD_ARGUMENT,
        &["alg=21", "helper"],
    );
    refused(
        "in_port=1,ip,actions=ct(zone=NXM_NX_REG0[0..15],table=1)",
        bad_action::BAD_ARGUMENT,
        &["registers"],
    );
    refused(
        "in_port=1,ip,actions=ct(commit,nat(src=10.0.0.1,random)),output:2",
        bad_action::BAD_ARGUMENT,
        &["random"],
    );
    refused(
        "in_port=1,ip,actions=ct(table=1),output:2",
        bad_action::UNSUPPORTED_ORDER,
        &["last action"],
    );
    refused(
        "in_port=1,ip,actions=ct(table=1),goto_table:2",
        bad_action::UNSUPPORTED_ORDER,
        &["goto_table"],
    );
    refused(
        "in_port=1,ip,actions=output:2,ct(commit)",
        bad_action::UNSUPPORTED_ORDER,
        &["after the flow's last output"],
    );
    refused(
        "in_port=1,ct_state=+trk+snat,ip,actions=output:2",
        bad_match::BAD_FIELD,
        &["snat or dnat"],
    );
    refused(
        "in_port=1,ct_state=new|trk,ip,actions=output:2",
        bad_match::BAD_FIELD,
        &["exact ct_state"],
    );
}

#[test]
fn a_packet_after_ct_in_the_next_table_sees_the_kernel_chain_of_that_table() {
    // ct(table=T) from a higher table back to a lower one is recirculation, as in
    // Open vSwitch: the goto is to the chain of table T.
    let f = one("table=3,in_port=1,ct_state=-trk,ip,actions=ct(table=0,zone=9)");
    assert_eq!(f.chain, 3);
    assert_eq!(
        f.actions,
        vec![ct(0, 9), TcAction::Gact(Verdict::GotoChain(0))]
    );
}
