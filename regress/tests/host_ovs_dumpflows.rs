//! Host tier: `switchctl show flows -o ovs` against `ovs-ofctl dump-flows` of the same
//! flows on a private Open vSwitch bridge (userspace datapath) that switchd controls, in
//! OpenFlow 1.3 and 1.0. The flows are the configuration's static flows (with timeouts,
//! flags, a second table, the default priority) and those the learning switch installs
//! after traffic; every line of one output must have its twin in the other, field by field.
//!
//! The bridge, hosts and switchd are a `regress::OvsRig` (guards: gone even on panic).

use std::collections::BTreeMap;
use std::time::Duration;

use regress::daemon::Daemon;
use regress::wait::wait_for;
use regress::OvsRig;

/// The words ovs-ofctl prints before the match, each `word=value, `.
const STAT_WORDS: [&str; 10] = [
    "cookie",
    "duration",
    "table",
    "n_packets",
    "n_bytes",
    "idle_timeout",
    "hard_timeout",
    "importance",
    "idle_age",
    "hard_age",
];

/// The flow-mod flags, which ovs-ofctl prints as `word ` after the words above.
const FLAG_WORDS: [&str; 5] = [
    "send_flow_rem",
    "check_overlap",
    "reset_counts",
    "no_packet_counts",
    "no_byte_counts",
];

/// One dump-flows line as its fields: the words before the match, then `match` (priority
/// and fields, as printed) and `actions`.
fn fields(line: &str) -> BTreeMap<String, String> {
    let mut rest = line.trim();
    let mut out = BTreeMap::new();
    while let Some((head, tail)) = rest.split_once(", ") {
        let (word, value) = head.split_once('=').unwrap_or((head, ""));
        if !STAT_WORDS.contains(&word) || head.contains(' ') {
            break;
        }
        out.insert(word.to_string(), value.to_string());
        rest = tail;
    }
    // The flow-mod flags come each followed by a space, not a comma.
    while let Some((word, tail)) = rest.split_once(' ') {
        if !FLAG_WORDS.contains(&word) {
            break;
        }
        out.insert(word.to_string(), String::new());
        rest = tail;
    }
    let (m, actions) = match rest.split_once("actions=") {
        Some((m, a)) => (m.trim(), a),
        None => panic!("no actions= in {line:?}"),
    };
    out.insert("match".into(), m.to_string());
    out.insert("actions".into(), actions.to_string());
    out
}

/// Every flow line of a dump (ovs-ofctl's reply header, if any, is not a flow), keyed by
/// table and match.
fn flows(dump: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    dump.lines()
        .filter(|l| l.contains("actions="))
        .map(fields)
        .map(|f| ((f["table"].clone(), f["match"].clone()), f))
        .collect()
}

/// `12.345s` as milliseconds; `None` if it is not written as ovs-ofctl writes it.
fn millis(d: &str) -> Option<u64> {
    let n = d.strip_suffix('s')?;
    let (s, frac) = n.split_once('.').unwrap_or((n, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ns: u64 = format!("{frac:0<9}").parse().ok()?;
    Some(s.parse::<u64>().ok()? * 1000 + ns / 1_000_000)
}

/// Compare ours (taken first) with OVS's (taken after): every field equal but the
/// duration, which must read as OVS writes it and be no larger than OVS's.
fn differences(ours: &str, theirs: &str) -> Vec<String> {
    let (a, b) = (flows(ours), flows(theirs));
    let mut diff = Vec::new();
    for k in a.keys().chain(b.keys()) {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => {
                for field in x.keys().chain(y.keys()) {
                    let (u, v) = (x.get(field), y.get(field));
                    if field == "duration" {
                        match (u.and_then(|u| millis(u)), v.and_then(|v| millis(v))) {
                            (Some(u), Some(v)) if u <= v => {}
                            _ => diff.push(format!("{k:?}: duration {u:?} vs {v:?}")),
                        }
                    } else if u != v {
                        diff.push(format!("{k:?}: {field} {u:?} vs {v:?}"));
                    }
                }
            }
            (x, y) => diff.push(format!("{k:?}: only in one: {x:?} / {y:?}")),
        }
    }
    diff.dedup();
    diff
}

fn dump_flows_alike(protocol: &str, static_flows: &[&str]) {
    let flow_format = if protocol == "OpenFlow10" {
        "openflow10"
    } else {
        "oxm"
    };
    let dpid = 0xd7;
    let body: String = static_flows
        .iter()
        .map(|f| format!("\tflow \"{f}\"\n"))
        .collect();
    let rig = OvsRig::builder()
        .protocol(protocol)
        .datapath_id(dpid)
        .daemon(Daemon::builder().config(&format!(
            "switch \"edge\" {{\n\tdatapath-id 0x{dpid:x}\n{body}}}\n"
        )))
        .start()
        .expect("OVS bridge, hosts and switchd");
    rig.wait_flows("static flows not installed", |f| {
        f.lines()
            .filter(|l| l.contains("cookie=0x5357444c00000002"))
            .count()
            == static_flows.len()
    });
    // Traffic: learned flows appear, counters move.
    rig.all_pairs_ping(3);

    // Counters move while traffic goes on (ARP refreshes, a learned flow's idle timeout):
    // retry until one pair of dumps agrees, and report the last difference if none does.
    let mut last = (String::new(), String::new(), Vec::new());
    let same = wait_for(Duration::from_secs(20), Duration::from_millis(500), || {
        let ours = rig.daemon().ctl_ok(&["show", "flows", "edge", "-o", "ovs"]);
        // OpenFlow 1.0 in its own flow format (`-F openflow10`): with NXM, ovs-ofctl reads
        // NXST_FLOW and adds idle_age, which no OpenFlow flow-stats reply carries.
        let theirs = rig
            .ovs()
            .ofctl(&[
                "-O",
                protocol,
                "-F",
                flow_format,
                "dump-flows",
                rig.bridge(),
            ])
            .expect("ovs-ofctl dump-flows");
        let diff = differences(&ours, &theirs);
        let ok = diff.is_empty();
        last = (ours, theirs, diff);
        ok.then_some(())
    });
    let (ours, theirs, diff) = last;
    assert!(
        same.is_some(),
        "show flows -o ovs and dump-flows differ: {diff:#?}\nours:\n{ours}\novs-ofctl:\n{theirs}"
    );
    // The comparison saw the flows that matter: the static ones, the learned ones with
    // packets counted, and (1.3) the table-miss.
    let ours_flows = flows(&ours);
    assert_eq!(
        ours_flows
            .values()
            .filter(|f| f["cookie"] == "0x5357444c00000002")
            .count(),
        static_flows.len(),
        "{ours}"
    );
    assert!(
        ours_flows
            .values()
            .any(|f| f["match"].starts_with("priority=1,") && f["n_packets"] != "0"),
        "no learned flow with packets:\n{ours}"
    );
    // Every line begins as ovs-ofctl's do: a space, then the cookie.
    for l in ours.lines() {
        assert!(l.starts_with(" cookie=0x"), "{l:?}");
    }
    ports_alike(&rig);
    // The JSON form carries the same fields as cells.
    let json = rig
        .daemon()
        .ctl_ok(&["-j", "-o", "ovs", "show", "flows", "edge"]);
    assert!(json.contains("\"table\": \"ovs_flows\""), "{json}");
    assert!(json.contains("\"duration_nsec\""), "{json}");
}

#[test]
fn show_flows_o_ovs_equals_dump_flows_openflow13() {
    dump_flows_alike(
        "OpenFlow13",
        &[
            "priority=100,udp,tp_dst=9,actions=drop",
            "priority=90,tcp,tp_dst=7001,idle_timeout=600,hard_timeout=900,actions=drop",
            "priority=80,udp,tp_dst=53,send_flow_rem,actions=drop",
            "tcp,tp_dst=7002,actions=drop",
            "table=1,priority=5,ip,nw_dst=10.9.9.9,actions=drop",
        ],
    );
}

#[test]
fn show_flows_o_ovs_equals_dump_flows_openflow10() {
    dump_flows_alike(
        "OpenFlow10",
        &[
            "priority=100,udp,tp_dst=9,actions=drop",
            "priority=90,tcp,tp_dst=7001,idle_timeout=600,hard_timeout=900,actions=drop",
            "tcp,tp_dst=7002,actions=drop",
        ],
    );
}

#[test]
fn fields_are_read_as_ovs_ofctl_writes_them() {
    let f = fields(
        " cookie=0x0, duration=1.5s, table=0, n_packets=2, n_bytes=3, idle_timeout=10, \
         send_flow_rem priority=100,icmp actions=drop",
    );
    assert_eq!(f["idle_timeout"], "10");
    assert_eq!(f["send_flow_rem"], "");
    assert_eq!(f["match"], "priority=100,icmp");
    assert_eq!(f["actions"], "drop");
    assert_eq!(millis("1.5s"), Some(1500));
    assert_eq!(millis("12s"), Some(12000));
    assert_eq!(millis("1.5"), None);
    assert!(!differences(
        " cookie=0x0, duration=1s, table=0, n_packets=2, n_bytes=3, actions=drop",
        " cookie=0x0, duration=1s, table=0, n_packets=3, n_bytes=3, actions=drop"
    )
    .is_empty());
}

/// `ovs-ofctl dump-ports` as port -> the twelve counters in its order (rx pkts, bytes,
/// drop, errs, frame, over, crc; tx pkts, bytes, drop, errs, coll).
fn dump_ports(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut port = None;
    for l in text.lines() {
        let l = l.trim();
        let rest = if let Some(p) = l.strip_prefix("port ") {
            let Some((name, rest)) = p.split_once(':') else {
                continue;
            };
            port = Some(name.trim().to_string());
            rest
        } else {
            l
        };
        let Some(p) = &port else { continue };
        for kv in rest.split(',') {
            if let Some((_, v)) = kv.trim().split_once('=') {
                if !kv.contains("duration") {
                    out.entry(p.clone()).or_default().push(v.trim().to_string());
                }
            }
        }
    }
    out
}

/// `switchctl show ports` shows the counters ovs-ofctl dump-ports shows, port by port.
fn ports_alike(rig: &OvsRig) {
    let mut last = (BTreeMap::new(), BTreeMap::new());
    let same = wait_for(Duration::from_secs(20), Duration::from_millis(500), || {
        let ours: BTreeMap<String, Vec<String>> = rig
            .daemon()
            .rows("ports")
            .into_iter()
            .map(|r| (r[1].clone(), r[5..].to_vec()))
            .collect();
        let theirs = dump_ports(
            &rig.ovs()
                .ofctl(&["-O", rig.protocol(), "dump-ports", rig.bridge()])
                .expect("ovs-ofctl dump-ports"),
        );
        let ok = ours == theirs;
        last = (ours, theirs);
        ok.then_some(())
    });
    let (ours, theirs) = last;
    assert!(
        same.is_some(),
        "show ports and dump-ports differ:\nours: {ours:#?}\novs-ofctl: {theirs:#?}"
    );
    assert!(
        ours.values().any(|c| c[0] != "0" && c[7] != "0"),
        "no port counted traffic: {ours:#?}"
    );
}
