//! `switchctl show conntrack [SWITCH] [zone N]`: the kernel's connection-tracking entries
//! in the zones of local switches' ct actions.
//!
//! A switch's zones are those its installed `ct` actions use (`ct(zone=N)`, zone 0 when
//! none is given): its task answers [`zones`] from its flow table. The entries come from
//! ctnetlink ([`tc_datapath::conntrack::dump`]), which needs CAP_NET_ADMIN: that is why
//! this process reads them and control asks it. Zones are those of the network namespace,
//! not of one switch: two switches whose flows use the same zone share its entries, and
//! each lists them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ofproto::v13::nx_ct::{CtZone, NxCtAction};
use ofproto::v13::Instruction;
use tc_datapath::conntrack::{CtEntry, L4};
use tokio::sync::oneshot;

use super::switch::Switch;
use crate::child::Peers;
use crate::ctlproto::{Table, TableKind};
use crate::msg::{Msg, Role};

/// Rows per ShowReply part (each row is some 150 bytes of JSON; a part stays well under
/// an IPC frame).
const ROWS_PER_PART: usize = 200;

/// The zones of the switch's installed ct actions (immediate zones only: the translation
/// refuses a zone read from a field).
pub(crate) fn zones(sw: &Switch) -> BTreeSet<u16> {
    let mut z = BTreeSet::new();
    for e in sw.table.entries() {
        for i in e.spec.instructions().iter() {
            let (Instruction::ApplyActions(a) | Instruction::WriteActions(a)) = i else {
                continue;
            };
            for a in a.iter() {
                if let Some(NxCtAction::Ct(ct)) = NxCtAction::from_action(a) {
                    if let CtZone::Imm(n) = ct.zone {
                        z.insert(n);
                    }
                }
            }
        }
    }
    z
}

/// Answer control's request `id`: `asked` holds, per switch, its task's answer to come.
/// Runs as a task of its own, so that the process goes on meanwhile.
pub(crate) async fn answer(
    peers: Peers,
    id: u64,
    asked: Vec<(String, oneshot::Receiver<BTreeSet<u16>>)>,
    zone: Option<u16>,
    named: Option<String>,
) {
    let mut zones: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (name, rx) in asked {
        match tokio::time::timeout(Duration::from_secs(2), rx).await {
            Ok(Ok(z)) => {
                zones.insert(name, z);
            }
            _ => {
                let error = Some(format!("local switch {name} did not answer"));
                return reply(&peers, id, Vec::new(), error).await;
            }
        }
    }
    if let Some(n) = zone {
        if !zones.values().any(|z| z.contains(&n)) {
            let whose = match &named {
                Some(s) => format!("local switch {s}'s ct actions use zones {}", list(&zones)),
                None => "no local switch's ct actions use it".to_string(),
            };
            let error = Some(format!("zone {n} is not a zone of a ct action: {whose}"));
            return reply(&peers, id, Vec::new(), error).await;
        }
        for z in zones.values_mut() {
            z.retain(|x| *x == n);
        }
    }
    zones.retain(|_, z| !z.is_empty());
    if zones.is_empty() {
        return reply(&peers, id, Vec::new(), None).await;
    }
    let (entries, malformed) = match tc_datapath::conntrack::dump() {
        Ok(x) => x,
        Err(e) => {
            let error = Some(format!("cannot read the kernel's conntrack entries: {e}"));
            return reply(&peers, id, Vec::new(), error).await;
        }
    };
    if malformed > 0 {
        tracing::warn!("conntrack dump: {malformed} entries did not parse and are not shown");
    }
    reply(&peers, id, rows(&zones, &entries), None).await;
}

fn list(zones: &BTreeMap<String, BTreeSet<u16>>) -> String {
    let all: BTreeSet<u16> = zones.values().flatten().copied().collect();
    if all.is_empty() {
        return "none".into();
    }
    all.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of the entries in each switch's zones, by switch, zone, then as the kernel
/// listed them.
fn rows(zones: &BTreeMap<String, BTreeSet<u16>>, entries: &[CtEntry]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (name, z) in zones {
        for zone in z {
            for e in entries.iter().filter(|e| e.zone == *zone) {
                out.push(row(name, e));
            }
        }
    }
    out
}

/// `sport`/`dport` cells: ports, or for ICMP the id and the type/code.
fn l4_cells(l4: &L4) -> (String, String) {
    match l4 {
        L4::Ports { src, dst } => (src.to_string(), dst.to_string()),
        L4::Icmp { id, ty, code } => (format!("id={id}"), format!("type={ty},code={code}")),
        L4::None => ("-".into(), "-".into()),
    }
}

/// One row, in [`TableKind::Conntrack`]'s columns.
fn row(switch: &str, e: &CtEntry) -> Vec<String> {
    let (sport, dport) = l4_cells(&e.orig.l4);
    let (rsport, rdport) = l4_cells(&e.reply.l4);
    let words = e.status_words();
    vec![
        switch.to_string(),
        e.zone.to_string(),
        e.proto_name(),
        e.orig.src.to_string(),
        e.orig.dst.to_string(),
        sport,
        dport,
        e.reply.src.to_string(),
        e.reply.dst.to_string(),
        rsport,
        rdport,
        e.tcp_state_name().unwrap_or_else(|| "-".into()),
        if words.is_empty() {
            "-".into()
        } else {
            words.join(",")
        },
        format!("{:#x}", e.mark),
        if e.labels == 0 {
            "-".into()
        } else {
            format!("{:#x}", e.labels)
        },
        e.timeout.map_or_else(|| "-".into(), |t| t.to_string()),
    ]
}

/// Send the table to control, in parts.
async fn reply(peers: &Peers, id: u64, rows: Vec<Vec<String>>, error: Option<String>) {
    let kind = TableKind::Conntrack;
    let mut parts: Vec<Vec<Vec<String>>> = rows
        .chunks(ROWS_PER_PART)
        .map(<[Vec<String>]>::to_vec)
        .collect();
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    let last = parts.len() - 1;
    let mut error = error;
    for (i, part) in parts.into_iter().enumerate() {
        let mut table = Table::empty(kind);
        table.rows = part;
        let m = Msg::ShowReply {
            id,
            table,
            error: if i == last { error.take() } else { None },
            more: i != last,
        };
        peers.send(Role::Control, &m).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_datapath::conntrack::Tuple;

    fn entry(zone: u16, sport: u16) -> CtEntry {
        let a = |s: &str| s.parse().expect("address");
        CtEntry {
            orig: Tuple {
                src: a("10.77.0.1"),
                dst: a("10.77.0.2"),
                proto: 17,
                l4: L4::Ports {
                    src: sport,
                    dst: 53,
                },
            },
            reply: Tuple {
                src: a("10.77.0.2"),
                dst: a("10.77.0.1"),
                proto: 17,
                l4: L4::Ports {
                    src: 53,
                    dst: sport,
                },
            },
            zone,
            status: tc_datapath::conntrack::status::SEEN_REPLY,
            timeout: Some(29),
            mark: 0,
            labels: 0,
            tcp_state: None,
            id: 1,
        }
    }

    #[test]
    fn each_switch_lists_the_entries_of_its_zones_only() {
        let zones = BTreeMap::from([
            ("a".to_string(), BTreeSet::from([1])),
            ("b".to_string(), BTreeSet::from([2, 0])),
        ]);
        let entries = [
            entry(1, 1000),
            entry(2, 2000),
            entry(3, 3000),
            entry(0, 4000),
        ];
        let r = rows(&zones, &entries);
        let got: Vec<(&str, &str, &str)> = r
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str(), r[5].as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("a", "1", "1000"), ("b", "0", "4000"), ("b", "2", "2000")]
        );
        assert_eq!(r[0].len(), TableKind::Conntrack.columns().len());
        assert_eq!(
            r[0],
            [
                "a",
                "1",
                "udp",
                "10.77.0.1",
                "10.77.0.2",
                "1000",
                "53",
                "10.77.0.2",
                "10.77.0.1",
                "53",
                "1000",
                "-",
                "-",
                "0x0",
                "-",
                "29"
            ]
        );
    }
}
