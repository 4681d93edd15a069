//! Flow-stats entries as rows for `switchctl show flows`, match and actions in the
//! ovs-ofctl syntax of `ofproto::text` (so a row can be pasted into `ovs-ofctl add-flow`).

use ofproto::v10;
use ofproto::v13;

/// One flow entry, version-neutral and already formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowRow {
    pub(crate) cookie: u64,
    pub(crate) table: u8,
    pub(crate) priority: u16,
    pub(crate) match_text: String,
    pub(crate) actions_text: String,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) idle_timeout: u16,
    pub(crate) hard_timeout: u16,
    /// OFPFF_* (1.0 reports none in flow stats: 0).
    pub(crate) flags: u16,
    pub(crate) duration_sec: u32,
    pub(crate) duration_nsec: u32,
    /// The match alone (empty when it matches everything), for `show flows -o ovs`.
    pub(crate) match_raw: String,
}

pub(crate) fn row13(s: &v13::multipart::FlowStats) -> FlowRow {
    let m = ofproto::text::print_match(&s.match_);
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: if m.is_empty() {
            "any".into()
        } else {
            m.clone()
        },
        actions_text: ofproto::text::print_instructions(&s.instructions),
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        hard_timeout: s.hard_timeout,
        flags: s.flags,
        duration_sec: s.duration_sec,
        duration_nsec: s.duration_nsec,
        match_raw: m,
    }
}

pub(crate) fn row10(s: &v10::FlowStats) -> FlowRow {
    let m = ofproto::text::print_match10(&s.r#match);
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: if m.is_empty() {
            "any".into()
        } else {
            m.clone()
        },
        actions_text: ofproto::text::print_actions10(&s.actions),
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        hard_timeout: s.hard_timeout,
        flags: 0,
        duration_sec: s.duration_sec,
        duration_nsec: s.duration_nsec,
        match_raw: m,
    }
}

/// The cells of a `TableKind::OvsFlows` row (the columns of `TableKind::columns`).
pub(crate) fn ovs_cells(switch: &str, f: FlowRow) -> Vec<String> {
    vec![
        switch.to_string(),
        format!("0x{:x}", f.cookie),
        f.duration_sec.to_string(),
        f.duration_nsec.to_string(),
        f.table.to_string(),
        f.packets.to_string(),
        f.bytes.to_string(),
        f.idle_timeout.to_string(),
        f.hard_timeout.to_string(),
        f.flags.to_string(),
        f.priority.to_string(),
        f.match_raw,
        f.actions_text,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ofp::session::port13;
    use ofproto::v13::{Action, Instruction, MacAddr, Masked, Match, Oxm};

    #[test]
    fn learned_flow_and_table_miss_read_like_ovs_ofctl() {
        let learned = v13::multipart::FlowStats {
            priority: 1,
            match_: Match::from_fields([
                Oxm::InPort(1),
                Oxm::EthDst(Masked::exact(MacAddr([2, 0, 0, 0, 0, 0xb]))),
            ]),
            instructions: [Instruction::ApplyActions(
                [Action::Output {
                    port: 2,
                    max_len: 0,
                }]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let r = row13(&learned);
        assert_eq!(r.match_text, "in_port=1,dl_dst=02:00:00:00:00:0b");
        assert_eq!(r.actions_text, "output:2");
        let miss = v13::multipart::FlowStats {
            instructions: [Instruction::ApplyActions(
                [Action::Output {
                    port: port13::CONTROLLER,
                    max_len: 0xffff,
                }]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let r = row13(&miss);
        assert_eq!(
            (r.match_text.as_str(), r.actions_text.as_str()),
            ("any", "CONTROLLER:65535")
        );
    }
}
