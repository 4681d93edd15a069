//! Our flow parser and encoder against Open vSwitch: for each flow of text_flows.txt,
//! `ovs-ofctl -O OpenFlow13 parse-flow TEXT` prints the FLOW_MOD Open vSwitch would send;
//! we parse the same text, encode it, and have `ovs-ofctl ofp-print HEX` print our bytes.
//! The two printed flows must be the same line. Lines marked `# ovs-skip: why` are flows
//! Open vSwitch cannot read or prints in another syntax; they are listed, not compared.

use std::process::Command;

use bytes::BytesMut;
use ofproto::text::parse_flow;
use ofproto::v13::{FlowModCommand, Message};

fn ovs_ofctl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ovs-ofctl")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ovs-ofctl (Open vSwitch must be installed): {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// The OFPT_FLOW_MOD line of ovs-ofctl's output.
fn flow_mod_line(out: &str) -> Option<String> {
    out.lines()
        .find(|l| l.starts_with("OFPT_FLOW_MOD"))
        .map(|l| l.trim().to_string())
}

#[test]
fn our_encoding_prints_as_open_vswitch_reads_the_text() {
    let mut agree = 0;
    let mut disagree = Vec::new();
    let mut skipped = Vec::new();
    for line in include_str!("text_flows.txt").lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (flow, note) = match line.split_once("  # ovs-skip: ") {
            Some((f, n)) => (f.trim(), Some(n)),
            None => (line.trim(), None),
        };
        if let Some(n) = note {
            skipped.push(format!("{flow}: {n}"));
            continue;
        }
        let theirs = match ovs_ofctl(&["-O", "OpenFlow13", "parse-flow", flow]) {
            Ok(out) => flow_mod_line(&out).expect("a FLOW_MOD line"),
            Err(e) => {
                disagree.push(format!("{flow}\n  ovs rejects it: {e}"));
                continue;
            }
        };
        let fm = parse_flow(flow, FlowModCommand::Add).unwrap_or_else(|e| panic!("{flow}: {e}"));
        let mut b = BytesMut::new();
        Message::FlowMod(fm).encode(1, &mut b);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let ours = ovs_ofctl(&["ofp-print", &hex])
            .unwrap_or_else(|e| panic!("ovs-ofctl ofp-print of our {flow}: {e}"));
        let ours = flow_mod_line(&ours)
            .unwrap_or_else(|| panic!("{flow}: OVS could not decode our bytes {hex}"));
        if ours == theirs {
            agree += 1;
        } else {
            disagree.push(format!("{flow}\n  ovs:  {theirs}\n  ours: {ours}"));
        }
    }
    eprintln!(
        "{agree} flows agree with Open vSwitch; {} not compared:",
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  {s}");
    }
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
    assert!(agree >= 30, "only {agree} flows compared");
}
