//! A small formatter for flow-stats entries, for `switchctl show flows`.
//!
//! TODO: replace with `ofproto::text::print_flow_stats` (the ovs-ofctl syntax) once that
//! module lands; until then this prints the fields the learning switch and table-miss use
//! in ovs-ofctl's words, and anything else in a readable debug form.

use ofproto::v10;
use ofproto::v13::{self, Action, Instruction, Oxm};

use super::session::{port10_to_13, port13};

/// One flow entry, version-neutral and already formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub cookie: u64,
    pub table: u8,
    pub priority: u16,
    pub match_text: String,
    pub actions_text: String,
    pub packets: u64,
    pub bytes: u64,
    pub idle_timeout: u16,
    pub duration_sec: u32,
}

/// A port number as ovs-ofctl writes it.
pub fn port_name(p: u32) -> String {
    match p {
        port13::IN_PORT => "IN_PORT".into(),
        port13::TABLE => "TABLE".into(),
        port13::NORMAL => "NORMAL".into(),
        port13::FLOOD => "FLOOD".into(),
        port13::ALL => "ALL".into(),
        port13::CONTROLLER => "CONTROLLER".into(),
        port13::LOCAL => "LOCAL".into(),
        port13::ANY => "ANY".into(),
        p => p.to_string(),
    }
}

fn output(port: u32, max_len: u16) -> String {
    if port == port13::CONTROLLER {
        format!("CONTROLLER:{max_len}")
    } else if port >= port13::MAX {
        port_name(port)
    } else {
        format!("output:{port}")
    }
}

fn masked<T: std::fmt::Display>(name: &str, m: &v13::Masked<T>) -> String {
    match &m.mask {
        Some(mask) => format!("{name}={}/{mask}", m.value),
        None => format!("{name}={}", m.value),
    }
}

pub fn oxm_text(f: &Oxm) -> String {
    match f {
        Oxm::InPort(p) => format!("in_port={}", port_name(*p)),
        Oxm::EthDst(m) => masked("dl_dst", m),
        Oxm::EthSrc(m) => masked("dl_src", m),
        Oxm::EthType(t) => format!("dl_type=0x{t:04x}"),
        Oxm::VlanVid(m) => match m.mask {
            Some(mask) => format!("vlan_vid=0x{:x}/0x{mask:x}", m.value),
            None => format!("dl_vlan={}", m.value & 0xfff),
        },
        Oxm::IpProto(p) => format!("nw_proto={p}"),
        Oxm::Ipv4Src(m) => masked("nw_src", m),
        Oxm::Ipv4Dst(m) => masked("nw_dst", m),
        Oxm::TcpSrc(p) => format!("tp_src={p}"),
        Oxm::TcpDst(p) => format!("tp_dst={p}"),
        Oxm::UdpSrc(p) => format!("udp_src={p}"),
        Oxm::UdpDst(p) => format!("udp_dst={p}"),
        other => format!("{other:?}"),
    }
}

pub fn action_text(a: &Action) -> String {
    match a {
        Action::Output { port, max_len } => output(*port, *max_len),
        Action::PopVlan => "pop_vlan".into(),
        Action::PushVlan(t) => format!("push_vlan:0x{t:04x}"),
        Action::SetField(f) => format!("set_field:{}", oxm_text(f)),
        Action::Group(g) => format!("group:{g}"),
        Action::SetQueue(q) => format!("set_queue:{q}"),
        other => format!("{other:?}"),
    }
}

fn actions_text<'a>(actions: impl IntoIterator<Item = &'a Action>) -> String {
    actions
        .into_iter()
        .map(action_text)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn instructions_text(ins: &[Instruction]) -> String {
    let parts: Vec<String> = ins
        .iter()
        .map(|i| match i {
            Instruction::ApplyActions(a) => actions_text(a.iter()),
            Instruction::WriteActions(a) => format!("write_actions({})", actions_text(a.iter())),
            Instruction::ClearActions => "clear_actions".into(),
            Instruction::GotoTable(t) => format!("goto_table:{t}"),
            Instruction::Meter(m) => format!("meter:{m}"),
            Instruction::WriteMetadata { metadata, mask } => {
                format!("write_metadata:0x{metadata:x}/0x{mask:x}")
            }
            other => format!("{other:?}"),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        "drop".into()
    } else {
        parts.join(",")
    }
}

pub fn row13(s: &v13::multipart::FlowStats) -> FlowRow {
    let m: Vec<String> = s.match_.fields.iter().map(oxm_text).collect();
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: if m.is_empty() {
            "any".into()
        } else {
            m.join(",")
        },
        actions_text: instructions_text(&s.instructions),
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        duration_sec: s.duration_sec,
    }
}

fn mac(a: &[u8; 6]) -> String {
    v13::MacAddr(*a).to_string()
}

pub fn match10_text(m: &v10::Match) -> String {
    use v10::wildcards as w;
    let mut v = Vec::new();
    let set = |bit: u32| m.wildcards & bit == 0;
    if set(w::IN_PORT) {
        v.push(format!("in_port={}", port_name(port10_to_13(m.in_port))));
    }
    if set(w::DL_VLAN) {
        v.push(format!("dl_vlan={}", m.dl_vlan));
    }
    if set(w::DL_SRC) {
        v.push(format!("dl_src={}", mac(&m.dl_src)));
    }
    if set(w::DL_DST) {
        v.push(format!("dl_dst={}", mac(&m.dl_dst)));
    }
    if set(w::DL_TYPE) {
        v.push(format!("dl_type=0x{:04x}", m.dl_type));
    }
    if set(w::NW_PROTO) {
        v.push(format!("nw_proto={}", m.nw_proto));
    }
    if m.nw_src_wild_bits() < 32 {
        v.push(format!(
            "nw_src={}/{}",
            std::net::Ipv4Addr::from(m.nw_src),
            32 - m.nw_src_wild_bits()
        ));
    }
    if m.nw_dst_wild_bits() < 32 {
        v.push(format!(
            "nw_dst={}/{}",
            std::net::Ipv4Addr::from(m.nw_dst),
            32 - m.nw_dst_wild_bits()
        ));
    }
    if set(w::TP_SRC) {
        v.push(format!("tp_src={}", m.tp_src));
    }
    if set(w::TP_DST) {
        v.push(format!("tp_dst={}", m.tp_dst));
    }
    if v.is_empty() {
        "any".into()
    } else {
        v.join(",")
    }
}

pub fn action10_text(a: &v10::Action) -> String {
    match a {
        v10::Action::Output { port, max_len } => output(port10_to_13(*port), *max_len),
        other => format!("{other:?}"),
    }
}

pub fn row10(s: &v10::FlowStats) -> FlowRow {
    let actions: Vec<String> = s.actions.iter().map(action10_text).collect();
    FlowRow {
        cookie: s.cookie,
        table: s.table_id,
        priority: s.priority,
        match_text: match10_text(&s.r#match),
        actions_text: if actions.is_empty() {
            "drop".into()
        } else {
            actions.join(",")
        },
        packets: s.packet_count,
        bytes: s.byte_count,
        idle_timeout: s.idle_timeout,
        duration_sec: s.duration_sec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_flow_and_table_miss_read_like_ovs_ofctl() {
        let m = [
            Oxm::InPort(1),
            Oxm::EthDst(v13::Masked::exact(v13::MacAddr([2, 0, 0, 0, 0, 0xb]))),
        ];
        let t: Vec<String> = m.iter().map(oxm_text).collect();
        assert_eq!(t.join(","), "in_port=1,dl_dst=02:00:00:00:00:0b");
        let ins = [Instruction::ApplyActions(
            [Action::Output {
                port: port13::CONTROLLER,
                max_len: 0xffff,
            }]
            .into_iter()
            .collect(),
        )];
        assert_eq!(instructions_text(&ins), "CONTROLLER:65535");
        assert_eq!(instructions_text(&[]), "drop");
        let mut m10 = v10::Match::any();
        m10.wildcards &= !v10::wildcards::IN_PORT;
        m10.in_port = 3;
        assert_eq!(match10_text(&m10), "in_port=3");
        assert_eq!(
            action10_text(&v10::Action::Output {
                port: v10::port_no::FLOOD,
                max_len: 0
            }),
            "FLOOD"
        );
    }
}
