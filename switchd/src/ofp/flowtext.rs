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
    pub(crate) duration_sec: u32,
}

pub(crate) fn row13(s: &v13::multipart::FlowStats) -> FlowRow {
    let m = ofproto::text::print_match(&s.match_);
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: if m.is_empty() { "any".into() } else { m },
        actions_text: ofproto::text::print_instructions(&s.instructions),
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        duration_sec: s.duration_sec,
    }
}

pub(crate) fn row10(s: &v10::FlowStats) -> FlowRow {
    let m = ofproto::text::print_match10(&s.r#match);
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: if m.is_empty() { "any".into() } else { m },
        actions_text: ofproto::text::print_actions10(&s.actions),
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        duration_sec: s.duration_sec,
    }
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
