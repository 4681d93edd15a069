//! What local switches refused their controllers, as the datapath process reports it
//! (`Msg::Refused`): the last [`KEEP`] of each switch, for `switchctl show refusals`.

use std::collections::{BTreeMap, VecDeque};

use crate::ctlproto::{Table, TableKind};

/// Refusals kept per switch (the count goes on past them).
pub(super) const KEEP: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    pub(super) time_ms: u64,
    pub(super) count: u64,
    pub(super) command: String,
    pub(super) flow: String,
    pub(super) reason: String,
}

#[derive(Debug, Default)]
pub(super) struct Log {
    by_switch: BTreeMap<String, VecDeque<Row>>,
}

impl Log {
    pub(super) fn record(&mut self, switch: &str, row: Row) {
        let q = self.by_switch.entry(switch.to_string()).or_default();
        if q.len() >= KEEP {
            q.pop_front();
        }
        q.push_back(row);
    }

    /// The table of `show refusals [SWITCH]`: oldest first, per switch.
    pub(super) fn table(&self, switch: Option<&str>) -> Table {
        let mut t = Table::empty(TableKind::Refusals);
        for (name, q) in &self.by_switch {
            if switch.is_some_and(|s| s != name) {
                continue;
            }
            for r in q {
                t.rows.push(vec![
                    name.clone(),
                    r.count.to_string(),
                    crate::ofp::utc_text(r.time_ms),
                    r.command.clone(),
                    r.flow.clone(),
                    r.reason.clone(),
                ]);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(count: u64) -> Row {
        Row {
            time_ms: 0,
            count,
            command: "add-flow".into(),
            flow: format!("priority={count} actions=drop"),
            reason: "why".into(),
        }
    }

    #[test]
    fn the_last_refusals_of_each_switch_are_kept() {
        let mut l = Log::default();
        for n in 1..=(KEEP as u64 + 5) {
            l.record("a", row(n));
        }
        l.record("b", row(1));
        let t = l.table(Some("a"));
        assert_eq!(t.rows.len(), KEEP);
        assert_eq!(t.rows[0][1], "6");
        assert_eq!(t.rows[KEEP - 1][1], (KEEP + 5).to_string());
        assert_eq!(t.rows[0][2], "1970-01-01 00:00:00");
        assert_eq!(l.table(None).rows.len(), KEEP + 1);
        assert!(l.table(Some("c")).rows.is_empty());
    }
}
