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

/// What `ovs-ofctl -O OpenFlow13 add-flow` sends for `flow`: a one-shot controller-side
/// peer on a loopback port answers its HELLO, the table-features and port-description
/// requests it makes to learn names (one table with the eight required empty properties;
/// no ports), and the closing BARRIER_REQUEST, and keeps the FLOW_MOD's bytes.
fn ovs_ofctl_flow_mod_bytes(flow: &str) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;

    fn serve(c: &mut TcpStream, flow_mod: &mut Option<Vec<u8>>) -> std::io::Result<bool> {
        c.write_all(&[4, 0, 0, 8, 0, 0, 0, 0])?;
        loop {
            let mut h = [0u8; 8];
            if c.read_exact(&mut h).is_err() {
                return Ok(false); // ovs-ofctl closed this connection; it opens another
            }
            let len = u16::from_be_bytes([h[2], h[3]]) as usize;
            let mut msg = h.to_vec();
            msg.resize(len.max(8), 0);
            c.read_exact(&mut msg[8..])?;
            let xid = &h[4..8];
            let reply = |typ: u8, body: &[u8]| {
                let mut r = vec![4, typ];
                r.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
                r.extend_from_slice(xid);
                r.extend_from_slice(body);
                r
            };
            match h[1] {
                14 => *flow_mod = Some(msg),
                // OFPMP_PORT_DESC: no ports.
                18 if msg[8..10] == [0, 13] => {
                    c.write_all(&reply(19, &[0, 13, 0, 0, 0, 0, 0, 0]))?
                }
                // OFPMP_TABLE_FEATURES: table 0, the eight required properties, empty.
                18 => {
                    let mut body = vec![0, 12, 0, 0, 0, 0, 0, 0];
                    body.extend_from_slice(&128u16.to_be_bytes());
                    body.extend_from_slice(&[0; 6 + 32 + 16 + 4]);
                    body.extend_from_slice(&1000u32.to_be_bytes());
                    for prop in [0u16, 2, 4, 6, 8, 10, 12, 14] {
                        body.extend_from_slice(&prop.to_be_bytes());
                        body.extend_from_slice(&[0, 4, 0, 0, 0, 0]);
                    }
                    c.write_all(&reply(19, &body))?
                }
                20 => {
                    c.write_all(&reply(21, &[]))?;
                    return Ok(true);
                }
                _ => {}
            }
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut flow_mod = None;
        for c in listener.incoming() {
            let Ok(mut c) = c else { break };
            match serve(&mut c, &mut flow_mod) {
                Ok(false) => continue,
                _ => break,
            }
        }
        let _ = tx.send(flow_mod);
    });
    let target = format!("tcp:127.0.0.1:{port}");
    // --timeout: should ovs-ofctl wait for an answer this peer does not give, the test
    // fails instead of hanging.
    ovs_ofctl(&[
        "--timeout=60",
        "-O",
        "OpenFlow13",
        "add-flow",
        &target,
        flow,
    ])?;
    rx.recv()
        .ok()
        .flatten()
        .ok_or_else(|| format!("ovs-ofctl sent no FLOW_MOD for {flow}"))
}

/// The flows whose Nicira-field encoding the TC translation relies on (NXM_1-class OXMs for
/// nw_ttl, tun_src, tun_dst, in matches and set_field): our FLOW_MOD is byte for byte the
/// one ovs-ofctl sends, xid aside.
#[test]
fn nicira_fields_encode_byte_for_byte_as_open_vswitch() {
    let flows = [
        "ip,nw_ttl=5,actions=drop",
        "ipv6,nw_ttl=255,actions=drop",
        "tun_src=192.0.2.1,actions=drop",
        "tun_dst=10.0.0.0/8,actions=drop",
        "tun_dst=10.0.0.1/255.0.255.0,actions=drop",
        "tun_src=192.0.2.1,tun_dst=10.0.0.0/8,ip,nw_ttl=5,actions=output:1",
        "tun_id=0x7,tun_src=192.0.2.1,tun_dst=192.0.2.2,actions=output:2",
        "actions=set_field:192.0.2.1->tun_src,set_field:192.0.2.2->tun_dst,output:1",
        "in_port=1,actions=set_field:10.0.0.1->tun_dst,set_field:10.0.0.2->tun_src,set_tunnel:5,output:2",
        "actions=set_tunnel64:0x123456789,output:1",
        "ip,actions=set_field:5->nw_ttl,output:1",
    ];
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut disagree = Vec::new();
    for flow in flows {
        let mut theirs = ovs_ofctl_flow_mod_bytes(flow).unwrap_or_else(|e| panic!("{e}"));
        let fm = parse_flow(flow, FlowModCommand::Add).unwrap_or_else(|e| panic!("{flow}: {e}"));
        let mut ours = BytesMut::new();
        Message::FlowMod(fm).encode(0, &mut ours);
        theirs[4..8].copy_from_slice(&[0; 4]);
        if ours[..] != theirs[..] {
            disagree.push(format!(
                "{flow}\n  ovs:  {}\n  ours: {}",
                hex(&theirs),
                hex(&ours)
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
}
