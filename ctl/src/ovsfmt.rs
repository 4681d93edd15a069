//! `switchctl show flows -o ovs`: flows laid out as `ovs-ofctl -O PROTOCOL dump-flows` lays
//! them out (lib/ofp-flow.c, `ofputil_flow_stats_format`), so scripts written for Open
//! vSwitch read switchd's output unchanged.
//!
//! The daemon sends the fields as cells (`TableKind::OvsFlows`, match and actions already in
//! ovs-ofctl syntax); here they become one line per flow:
//!
//! ` cookie=0x0, duration=5.123s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, priority=100,icmp actions=drop`

use switchd::ctlproto::{Table, TableKind};

/// OpenFlow's default priority, which ovs-ofctl leaves out of a match.
const OFP_DEFAULT_PRIORITY: u16 = 0x8000;

/// The OFPFF_* flags by bit, in the words and order ovs-ofctl prints them.
const FLAGS: [(u16, &str); 5] = [
    (1 << 0, "send_flow_rem"),
    (1 << 1, "check_overlap"),
    (1 << 2, "reset_counts"),
    (1 << 3, "no_packet_counts"),
    (1 << 4, "no_byte_counts"),
];

/// `duration=`'s number as ofp_print_duration writes it: whole seconds, then 3 decimals
/// when the nanoseconds are whole milliseconds, 9 otherwise, none when there are none.
pub fn duration(sec: u32, nsec: u32) -> String {
    if nsec == 0 {
        format!("{sec}s")
    } else if nsec.is_multiple_of(1_000_000) {
        format!("{sec}.{:03}s", nsec / 1_000_000)
    } else {
        format!("{sec}.{nsec:09}s")
    }
}

/// One row of the daemon's `OvsFlows` table as an ovs-ofctl dump-flows line.
fn line(t: &Table, row: &[String]) -> Result<String, String> {
    let cell = |name: &str| -> Result<&str, String> {
        t.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
            .map(String::as_str)
            .ok_or_else(|| format!("the daemon's flow table has no column {name}"))
    };
    let num = |name: &str| -> Result<u64, String> {
        let v = cell(name)?;
        v.parse()
            .map_err(|_| format!("the daemon sent {name} \"{v}\", not a number"))
    };
    let mut s = format!(
        " cookie={}, duration={}, table={}, n_packets={}, n_bytes={}, ",
        cell("cookie")?,
        duration(num("duration_sec")? as u32, num("duration_nsec")? as u32),
        cell("table")?,
        cell("n_packets")?,
        cell("n_bytes")?,
    );
    for (name, value) in [
        ("idle_timeout", num("idle_timeout")?),
        ("hard_timeout", num("hard_timeout")?),
    ] {
        if value != 0 {
            s.push_str(&format!("{name}={value}, "));
        }
    }
    let flags = num("flags")? as u16;
    for (bit, word) in FLAGS {
        if flags & bit != 0 {
            // ofputil_flow_mod_flags_format: each flag and a space, no comma.
            s.push_str(word);
            s.push(' ');
        }
    }
    // match_format(): the priority first unless it is the default, then the fields.
    let priority = num("priority")? as u16;
    let mut m = Vec::new();
    if priority != OFP_DEFAULT_PRIORITY {
        m.push(format!("priority={priority}"));
    }
    let fields = cell("match")?;
    if !fields.is_empty() {
        m.push(fields.to_string());
    }
    if !m.is_empty() {
        s.push_str(&m.join(","));
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(cell("actions")?);
    Ok(s)
}

/// The whole answer: the lines of each switch, under a `switch DPID:` line when the answer
/// holds more than one switch (ovs-ofctl dumps one bridge at a time).
pub fn render(t: &Table) -> Result<String, String> {
    if t.table != TableKind::OvsFlows {
        return Err("the daemon did not answer with flows".into());
    }
    let sw = t.columns.iter().position(|c| c == "switch").unwrap_or(0);
    let switches: std::collections::BTreeSet<&str> = t
        .rows
        .iter()
        .filter_map(|r| r.get(sw).map(String::as_str))
        .collect();
    let many = switches.len() > 1;
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for r in &t.rows {
        let this = r.get(sw).map(String::as_str);
        if many && this != current {
            out.push_str(&format!("switch {}:\n", this.unwrap_or("-")));
            current = this;
        }
        out.push_str(&line(t, r)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: Vec<Vec<&str>>) -> Table {
        Table {
            table: TableKind::OvsFlows,
            columns: TableKind::OvsFlows
                .columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(String::from).collect())
                .collect(),
        }
    }

    #[test]
    fn durations_print_as_ovs_ofctl_prints_them() {
        assert_eq!(duration(5, 0), "5s");
        assert_eq!(duration(5, 123_000_000), "5.123s");
        assert_eq!(duration(0, 7_000_000), "0.007s");
        assert_eq!(duration(1, 1), "1.000000001s");
    }

    #[test]
    fn lines_read_like_dump_flows() {
        let t = table(vec![
            vec![
                "0000000000000001",
                "0x5357444c00000002",
                "12",
                "345000000",
                "0",
                "3",
                "294",
                "10",
                "0",
                "1",
                "100",
                "icmp",
                "drop",
            ],
            vec![
                "0000000000000001",
                "0x0",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "30",
                "0",
                "0",
                "",
                "CONTROLLER:65535",
            ],
            vec![
                "0000000000000001",
                "0x0",
                "1",
                "0",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "32768",
                "",
                "drop",
            ],
        ]);
        assert_eq!(
            render(&t).unwrap(),
            " cookie=0x5357444c00000002, duration=12.345s, table=0, n_packets=3, n_bytes=294, \
             idle_timeout=10, send_flow_rem priority=100,icmp actions=drop\n \
             cookie=0x0, duration=1s, table=0, n_packets=0, n_bytes=0, hard_timeout=30, \
             priority=0 actions=CONTROLLER:65535\n \
             cookie=0x0, duration=1s, table=1, n_packets=0, n_bytes=0, actions=drop\n"
        );
    }
}
