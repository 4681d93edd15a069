//! One line per message, in the style of `ovs-ofctl ofp-print`:
//! `OFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD priority=100,icmp,in_port=1 actions=drop`.
//! Every message prints its type, version, xid and key fields; nothing here panics.

use super::actions::{fmt_actions10, fmt_actions13};
use super::fields::fmt_match13;
use super::flow10::{print_flow_stats10, widen};
use super::flow13::{fmt_flags, print_flow_stats, DEFAULT_PRIORITY};
use super::value::{fmt_port10, fmt_port13, port13, OFPG_ANY};
use crate::v10;
use crate::v13::{self, FlowModCommand, Message};

fn head(name: &str, ver: &str, xid: u32) -> String {
    format!("{name} ({ver}) (xid=0x{xid:x}):")
}

fn cmd13(c: FlowModCommand) -> &'static str {
    match c {
        FlowModCommand::Add => "ADD",
        FlowModCommand::Modify => "MOD",
        FlowModCommand::ModifyStrict => "MOD_STRICT",
        FlowModCommand::Delete => "DEL",
        FlowModCommand::DeleteStrict => "DEL_STRICT",
    }
}

fn cmd10(c: v10::FlowModCommand) -> &'static str {
    use v10::FlowModCommand as C;
    match c {
        C::Add => "ADD",
        C::Modify => "MOD",
        C::ModifyStrict => "MOD_STRICT",
        C::Delete => "DEL",
        C::DeleteStrict => "DEL_STRICT",
    }
}

fn short_hex(b: &[u8]) -> String {
    let n = b.len().min(32);
    let mut s: String = b[..n].iter().map(|x| format!("{x:02x}")).collect();
    if b.len() > n {
        s.push_str("...");
    }
    s
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_end_matches('\0')
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

/// One OpenFlow 1.3 message on one line.
pub fn print_message(xid: u32, m: &Message) -> String {
    let v = "OF1.3";
    match m {
        Message::Hello(h) => {
            let versions: Vec<String> = h
                .version_bitmap()
                .map(|words| {
                    (0..words.len() * 32)
                        .filter(|i| words[i / 32] & (1 << (i % 32)) != 0)
                        .map(|i| match i {
                            1 => "1.0".to_string(),
                            n if n >= 2 => format!("1.{}", n - 1),
                            n => format!("0x{n:02x}"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut s = head("OFPT_HELLO", v, xid);
            if !versions.is_empty() {
                s.push_str(&format!(" version bitmap: {}", versions.join(", ")));
            }
            s
        }
        Message::Error(e) => match e {
            v13::ErrorMsg::Standard { code, data } => format!(
                "{} type {} code {}, {} bytes of request: {}",
                head("OFPT_ERROR", v, xid),
                code.err_type,
                code.code,
                data.len(),
                short_hex(data)
            ),
            v13::ErrorMsg::Experimenter {
                exp_code,
                experimenter,
                data,
            } => format!(
                "{} experimenter 0x{experimenter:08x} code {exp_code}: {}",
                head("OFPT_ERROR", v, xid),
                short_hex(data)
            ),
        },
        Message::EchoRequest(d) => format!(
            "{} {} bytes of payload",
            head("OFPT_ECHO_REQUEST", v, xid),
            d.len()
        ),
        Message::EchoReply(d) => format!(
            "{} {} bytes of payload",
            head("OFPT_ECHO_REPLY", v, xid),
            d.len()
        ),
        Message::Experimenter(e) => format!(
            "{} experimenter=0x{:08x} type={} {} bytes",
            head("OFPT_EXPERIMENTER", v, xid),
            e.experimenter,
            e.exp_type,
            e.data.len()
        ),
        Message::FeaturesRequest => head("OFPT_FEATURES_REQUEST", v, xid),
        Message::FeaturesReply(f) => format!(
            "{} dpid:{:016x} n_tables:{} n_buffers:{} auxiliary_id:{} capabilities:0x{:x}",
            head("OFPT_FEATURES_REPLY", v, xid),
            f.datapath_id,
            f.n_tables,
            f.n_buffers,
            f.auxiliary_id,
            f.capabilities
        ),
        Message::GetConfigRequest => head("OFPT_GET_CONFIG_REQUEST", v, xid),
        Message::GetConfigReply(c) | Message::SetConfig(c) => format!(
            "{} flags=0x{:x} miss_send_len={}",
            head(
                if matches!(m, Message::SetConfig(_)) {
                    "OFPT_SET_CONFIG"
                } else {
                    "OFPT_GET_CONFIG_REPLY"
                },
                v,
                xid
            ),
            c.flags,
            c.miss_send_len
        ),
        Message::PacketIn(p) => format!(
            "{} total_len={} {} reason={} table_id={} cookie=0x{:x} buffer=0x{:x} data_len={}",
            head("OFPT_PACKET_IN", v, xid),
            p.total_len,
            fmt_match13(&p.match_, None),
            p.reason,
            p.table_id,
            p.cookie,
            p.buffer_id,
            p.data.len()
        ),
        Message::FlowRemoved(f) => format!(
            "{} {} reason={} table_id={} cookie=0x{:x} duration{} idle{} hard{} pkts{} bytes{}",
            head("OFPT_FLOW_REMOVED", v, xid),
            fmt_match13(&f.match_, Some(f.priority)),
            f.reason,
            f.table_id,
            f.cookie,
            super::flow13::fmt_duration(f.duration_sec, f.duration_nsec),
            f.idle_timeout,
            f.hard_timeout,
            f.packet_count,
            f.byte_count
        ),
        Message::PortStatus(p) => format!(
            "{} reason={} port {} ({}) addr:{} config:0x{:x} state:0x{:x}",
            head("OFPT_PORT_STATUS", v, xid),
            p.reason,
            fmt_port13(p.desc.port_no),
            lossy(&p.desc.name),
            p.desc.hw_addr,
            p.desc.config,
            p.desc.state
        ),
        Message::PacketOut(p) => format!(
            "{} in_port={} actions={} buffer=0x{:x} data_len={}",
            head("OFPT_PACKET_OUT", v, xid),
            fmt_port13(p.in_port),
            if p.actions.is_empty() {
                "drop".to_string()
            } else {
                fmt_actions13(&p.actions)
            },
            p.buffer_id,
            p.data.len()
        ),
        Message::FlowMod(f) => {
            let mut s = format!("{} {}", head("OFPT_FLOW_MOD", v, xid), cmd13(f.command));
            if f.table_id != 0 {
                s.push_str(&format!(" table:{}", f.table_id));
            }
            let mt = fmt_match13(
                &f.match_,
                (f.priority != DEFAULT_PRIORITY).then_some(f.priority),
            );
            if !mt.is_empty() {
                s.push(' ');
                s.push_str(&mt);
            }
            if f.cookie_mask != 0 {
                s.push_str(&format!(" cookie:0x{:x}/0x{:x}", f.cookie, f.cookie_mask));
            } else if f.cookie != 0 {
                s.push_str(&format!(" cookie:0x{:x}", f.cookie));
            }
            if f.idle_timeout != 0 {
                s.push_str(&format!(" idle:{}", f.idle_timeout));
            }
            if f.hard_timeout != 0 {
                s.push_str(&format!(" hard:{}", f.hard_timeout));
            }
            if f.buffer_id != v13::OFP_NO_BUFFER {
                s.push_str(&format!(" buf:0x{:x}", f.buffer_id));
            }
            if f.out_port != port13::ANY {
                s.push_str(&format!(" out_port:{}", fmt_port13(f.out_port)));
            }
            if f.out_group != OFPG_ANY {
                s.push_str(&format!(" out_group:{}", f.out_group));
            }
            for fl in fmt_flags(f.flags, " ") {
                s.push(' ');
                s.push_str(&fl);
            }
            s.push_str(" actions=");
            s.push_str(&super::actions::fmt_instructions13(&f.instructions));
            s
        }
        Message::GroupMod(g) => format!(
            "{} {:?} group_id={} type={} buckets={}",
            head("OFPT_GROUP_MOD", v, xid),
            g.command,
            g.group_id,
            g.group_type,
            g.buckets
                .iter()
                .map(|b| format!(
                    "bucket=weight:{},actions={}",
                    b.weight,
                    fmt_actions13(&b.actions)
                ))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Message::PortMod(p) => format!(
            "{} port: {}: addr:{} config: 0x{:x} mask:0x{:x} advertise: 0x{:x}",
            head("OFPT_PORT_MOD", v, xid),
            fmt_port13(p.port_no),
            p.hw_addr,
            p.config,
            p.mask,
            p.advertise
        ),
        Message::TableMod(t) => format!(
            "{} table_id={} config=0x{:x}",
            head("OFPT_TABLE_MOD", v, xid),
            t.table_id,
            t.config
        ),
        Message::MultipartRequest(r) => multipart_request(xid, r),
        Message::MultipartReply(r) => multipart_reply(xid, r),
        Message::BarrierRequest => head("OFPT_BARRIER_REQUEST", v, xid),
        Message::BarrierReply => head("OFPT_BARRIER_REPLY", v, xid),
        Message::QueueGetConfigRequest(q) => format!(
            "{} port={}",
            head("OFPT_QUEUE_GET_CONFIG_REQUEST", v, xid),
            fmt_port13(q.port)
        ),
        Message::QueueGetConfigReply(q) => format!(
            "{} port={} queues={}",
            head("OFPT_QUEUE_GET_CONFIG_REPLY", v, xid),
            fmt_port13(q.port),
            q.queues
                .iter()
                .map(|q| q.queue_id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Message::RoleRequest(r) | Message::RoleReply(r) => format!(
            "{} role={} generation_id={}",
            head(
                if matches!(m, Message::RoleRequest(_)) {
                    "OFPT_ROLE_REQUEST"
                } else {
                    "OFPT_ROLE_REPLY"
                },
                v,
                xid
            ),
            match r.role {
                0 => "nochange".to_string(),
                1 => "equal".to_string(),
                2 => "master".to_string(),
                3 => "slave".to_string(),
                n => n.to_string(),
            },
            r.generation_id
        ),
        Message::GetAsyncRequest => head("OFPT_GET_ASYNC_REQUEST", v, xid),
        Message::GetAsyncReply(a) | Message::SetAsync(a) => format!(
            "{} packet_in={:x?} port_status={:x?} flow_removed={:x?}",
            head(
                if matches!(m, Message::SetAsync(_)) {
                    "OFPT_SET_ASYNC"
                } else {
                    "OFPT_GET_ASYNC_REPLY"
                },
                v,
                xid
            ),
            a.packet_in_mask,
            a.port_status_mask,
            a.flow_removed_mask
        ),
        Message::MeterMod(mm) => format!(
            "{} {:?} meter={} flags=0x{:x} bands={:?}",
            head("OFPT_METER_MOD", v, xid),
            mm.command,
            mm.meter_id,
            mm.flags,
            mm.bands
        ),
    }
}

fn multipart_request(xid: u32, r: &v13::MultipartRequest) -> String {
    use v13::MultipartRequestBody as B;
    let v = "OF1.3";
    let flags = if r.flags != 0 {
        format!(" flags=0x{:x}", r.flags)
    } else {
        String::new()
    };
    let (name, rest) = match &r.body {
        B::Desc => ("OFPST_DESC", String::new()),
        B::Flow(f) | B::Aggregate(f) => {
            let mut s = String::new();
            if f.table_id != crate::v13::OFPTT_ALL {
                s.push_str(&format!(" table={}", f.table_id));
            }
            if f.out_port != port13::ANY {
                s.push_str(&format!(" out_port={}", fmt_port13(f.out_port)));
            }
            if f.out_group != OFPG_ANY {
                s.push_str(&format!(" out_group={}", f.out_group));
            }
            if f.cookie_mask != 0 {
                s.push_str(&format!(" cookie=0x{:x}/0x{:x}", f.cookie, f.cookie_mask));
            }
            let mt = fmt_match13(&f.match_, None);
            if !mt.is_empty() {
                s.push(' ');
                s.push_str(&mt);
            }
            (
                if matches!(r.body, B::Flow(_)) {
                    "OFPST_FLOW"
                } else {
                    "OFPST_AGGREGATE"
                },
                s,
            )
        }
        B::Table => ("OFPST_TABLE", String::new()),
        B::PortStats { port_no } => ("OFPST_PORT", format!(" port_no={}", fmt_port13(*port_no))),
        B::Queue { port_no, queue_id } => (
            "OFPST_QUEUE",
            format!(" port={} queue={queue_id}", fmt_port13(*port_no)),
        ),
        B::Group { group_id } => ("OFPST_GROUP", format!(" group_id={group_id}")),
        B::GroupDesc => ("OFPST_GROUP_DESC", String::new()),
        B::GroupFeatures => ("OFPST_GROUP_FEATURES", String::new()),
        B::Meter { meter_id } => ("OFPST_METER", format!(" meter={meter_id}")),
        B::MeterConfig { meter_id } => ("OFPST_METER_CONFIG", format!(" meter={meter_id}")),
        B::MeterFeatures => ("OFPST_METER_FEATURES", String::new()),
        B::TableFeatures(t) => ("OFPST_TABLE_FEATURES", format!(" {} tables", t.len())),
        B::PortDesc => ("OFPST_PORT_DESC", String::new()),
        B::Experimenter(e) => (
            "OFPST_EXPERIMENTER",
            format!(" experimenter=0x{:08x} type={}", e.experimenter, e.exp_type),
        ),
    };
    format!("{}{flags}{rest}", head(&format!("{name} request"), v, xid))
}

fn multipart_reply(xid: u32, r: &v13::MultipartReply) -> String {
    use v13::MultipartReplyBody as B;
    let v = "OF1.3";
    let flags = if r.flags != 0 {
        format!(" flags=0x{:x}", r.flags)
    } else {
        String::new()
    };
    let (name, rest) = match &r.body {
        B::Desc(d) => (
            "OFPST_DESC",
            format!(
                " Manufacturer: {}; Hardware: {}; Software: {}; Serial Num: {}; DP Description: {}",
                lossy(&d.mfr_desc),
                lossy(&d.hw_desc),
                lossy(&d.sw_desc),
                lossy(&d.serial_num),
                lossy(&d.dp_desc)
            ),
        ),
        B::Flow(fs) => (
            "OFPST_FLOW",
            fs.iter()
                .map(print_flow_stats)
                .collect::<Vec<_>>()
                .join(";"),
        ),
        B::Aggregate(a) => (
            "OFPST_AGGREGATE",
            format!(
                " packet_count={} byte_count={} flow_count={}",
                a.packet_count, a.byte_count, a.flow_count
            ),
        ),
        B::Table(t) => (
            "OFPST_TABLE",
            format!(
                " {} tables; {}",
                t.len(),
                t.iter()
                    .filter(|t| t.active_count > 0)
                    .map(|t| format!(
                        "table {}: active={} lookup={} matched={}",
                        t.table_id, t.active_count, t.lookup_count, t.matched_count
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        B::PortStats(p) => (
            "OFPST_PORT",
            format!(
                " {} ports; {}",
                p.len(),
                p.iter()
                    .map(|p| format!(
                        "port {}: rx pkts={} bytes={} tx pkts={} bytes={}",
                        fmt_port13(p.port_no),
                        p.rx_packets,
                        p.rx_bytes,
                        p.tx_packets,
                        p.tx_bytes
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        B::Queue(q) => ("OFPST_QUEUE", format!(" {} queues", q.len())),
        B::Group(g) => ("OFPST_GROUP", format!(" {} groups", g.len())),
        B::GroupDesc(g) => (
            "OFPST_GROUP_DESC",
            format!(
                " {}",
                g.iter()
                    .map(|g| format!(
                        "group_id={},type={},{} buckets",
                        g.group_id,
                        g.group_type,
                        g.buckets.len()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        B::GroupFeatures(g) => (
            "OFPST_GROUP_FEATURES",
            format!(" types=0x{:x} capabilities=0x{:x}", g.types, g.capabilities),
        ),
        B::Meter(m) => ("OFPST_METER", format!(" {} meters", m.len())),
        B::MeterConfig(m) => ("OFPST_METER_CONFIG", format!(" {} meters", m.len())),
        B::MeterFeatures(m) => (
            "OFPST_METER_FEATURES",
            format!(
                " max_meter={} band_types=0x{:x} max_bands={}",
                m.max_meter, m.band_types, m.max_bands
            ),
        ),
        B::TableFeatures(t) => ("OFPST_TABLE_FEATURES", format!(" {} tables", t.len())),
        B::PortDesc(p) => (
            "OFPST_PORT_DESC",
            format!(
                " {}",
                p.iter()
                    .map(|p| format!(
                        "{}({}): addr:{}",
                        fmt_port13(p.port_no),
                        lossy(&p.name),
                        p.hw_addr
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        B::Experimenter(e) => (
            "OFPST_EXPERIMENTER",
            format!(" experimenter=0x{:08x} type={}", e.experimenter, e.exp_type),
        ),
    };
    format!("{}{flags}{rest}", head(&format!("{name} reply"), v, xid))
}

/// One OpenFlow 1.0 message on one line.
pub fn print_message10(xid: u32, m: &v10::Message) -> String {
    use v10::Message as M;
    let v = "OF1.0";
    match m {
        M::Hello(h) => format!(
            "{} (peer version 0x{:02x})",
            head("OFPT_HELLO", v, xid),
            h.version
        ),
        M::Error(e) => format!(
            "{} type {} code {}: {}",
            head("OFPT_ERROR", v, xid),
            e.err_type,
            e.code,
            short_hex(&e.data)
        ),
        M::EchoRequest(d) => format!(
            "{} {} bytes of payload",
            head("OFPT_ECHO_REQUEST", v, xid),
            d.len()
        ),
        M::EchoReply(d) => format!(
            "{} {} bytes of payload",
            head("OFPT_ECHO_REPLY", v, xid),
            d.len()
        ),
        M::Vendor(x) => format!(
            "{} vendor=0x{:08x} {} bytes",
            head("OFPT_VENDOR", v, xid),
            x.vendor,
            x.data.len()
        ),
        M::FeaturesRequest => head("OFPT_FEATURES_REQUEST", v, xid),
        M::FeaturesReply(f) => format!(
            "{} dpid:{:016x} n_tables:{} n_buffers:{} capabilities:0x{:x} actions:0x{:x} ports:{}",
            head("OFPT_FEATURES_REPLY", v, xid),
            f.datapath_id,
            f.n_tables,
            f.n_buffers,
            f.capabilities,
            f.actions,
            f.ports
                .iter()
                .map(|p| format!("{}({})", fmt_port10(p.port_no), p.name.as_str_lossy()))
                .collect::<Vec<_>>()
                .join(",")
        ),
        M::GetConfigRequest => head("OFPT_GET_CONFIG_REQUEST", v, xid),
        M::GetConfigReply(c) => format!(
            "{} flags=0x{:x} miss_send_len={}",
            head("OFPT_GET_CONFIG_REPLY", v, xid),
            c.flags,
            c.miss_send_len
        ),
        M::SetConfig(c) => format!(
            "{} flags=0x{:x} miss_send_len={}",
            head("OFPT_SET_CONFIG", v, xid),
            c.flags,
            c.miss_send_len
        ),
        M::PacketIn(p) => format!(
            "{} total_len={} in_port={} reason={} buffer=0x{:x} data_len={}",
            head("OFPT_PACKET_IN", v, xid),
            p.total_len,
            fmt_port10(p.in_port),
            p.reason,
            p.buffer_id,
            p.data.len()
        ),
        M::FlowRemoved(f) => format!(
            "{} {} reason={} cookie=0x{:x} duration{} idle{} pkts{} bytes{}",
            head("OFPT_FLOW_REMOVED", v, xid),
            fmt_match13(&widen(&f.r#match), Some(f.priority)),
            f.reason,
            f.cookie,
            super::flow13::fmt_duration(f.duration_sec, f.duration_nsec),
            f.idle_timeout,
            f.packet_count,
            f.byte_count
        ),
        M::PortStatus(p) => format!(
            "{} reason={} port {} ({}) config:0x{:x} state:0x{:x}",
            head("OFPT_PORT_STATUS", v, xid),
            p.reason,
            fmt_port10(p.desc.port_no),
            p.desc.name.as_str_lossy(),
            p.desc.config,
            p.desc.state
        ),
        M::PacketOut(p) => format!(
            "{} in_port={} actions={} buffer=0x{:x} data_len={}",
            head("OFPT_PACKET_OUT", v, xid),
            fmt_port10(p.in_port),
            fmt_actions10(&p.actions),
            p.buffer_id,
            p.data.len()
        ),
        M::FlowMod(f) => {
            let mut s = format!("{} {}", head("OFPT_FLOW_MOD", v, xid), cmd10(f.command));
            let mt = fmt_match13(
                &widen(&f.r#match),
                (f.priority != DEFAULT_PRIORITY).then_some(f.priority),
            );
            if !mt.is_empty() {
                s.push(' ');
                s.push_str(&mt);
            }
            if f.cookie != 0 {
                s.push_str(&format!(" cookie:0x{:x}", f.cookie));
            }
            if f.idle_timeout != 0 {
                s.push_str(&format!(" idle:{}", f.idle_timeout));
            }
            if f.hard_timeout != 0 {
                s.push_str(&format!(" hard:{}", f.hard_timeout));
            }
            if f.buffer_id != v10::NO_BUFFER {
                s.push_str(&format!(" buf:0x{:x}", f.buffer_id));
            }
            if f.out_port != v10::port_no::NONE {
                s.push_str(&format!(" out_port:{}", fmt_port10(f.out_port)));
            }
            if f.flags != 0 {
                s.push_str(&format!(" flags:0x{:x}", f.flags));
            }
            s.push_str(" actions=");
            s.push_str(&fmt_actions10(&f.actions));
            s
        }
        M::PortMod(p) => format!(
            "{} port: {}: config: 0x{:x} mask:0x{:x} advertise: 0x{:x}",
            head("OFPT_PORT_MOD", v, xid),
            fmt_port10(p.port_no),
            p.config,
            p.mask,
            p.advertise
        ),
        M::StatsRequest(r) => {
            use v10::StatsRequestBody as B;
            let (name, rest) = match &r.body {
                B::Desc => ("OFPST_DESC", String::new()),
                B::Flow(f) | B::Aggregate(f) => (
                    if matches!(r.body, B::Flow(_)) {
                        "OFPST_FLOW"
                    } else {
                        "OFPST_AGGREGATE"
                    },
                    format!(" {}", fmt_match13(&widen(&f.r#match), None)),
                ),
                B::Table => ("OFPST_TABLE", String::new()),
                B::PortDesc => ("OFPST_PORT_DESC", String::new()),
                B::Port { port_no } => ("OFPST_PORT", format!(" port_no={}", fmt_port10(*port_no))),
                B::Queue { port_no, queue_id } => (
                    "OFPST_QUEUE",
                    format!(" port={} queue={queue_id}", fmt_port10(*port_no)),
                ),
                B::Vendor { vendor, data } => (
                    "OFPST_VENDOR",
                    format!(" vendor=0x{vendor:08x} {}", short_hex(data)),
                ),
            };
            format!(
                "{}{}",
                head(&format!("{name} request"), v, xid),
                rest.trim_end()
            )
        }
        M::StatsReply(r) => {
            use v10::StatsReplyBody as B;
            let (name, rest) = match &r.body {
                B::Desc(d) => (
                    "OFPST_DESC",
                    format!(
                        " Manufacturer: {}; Hardware: {}; Software: {}",
                        d.mfr_desc.as_str_lossy(),
                        d.hw_desc.as_str_lossy(),
                        d.sw_desc.as_str_lossy()
                    ),
                ),
                B::Flow(fs) => (
                    "OFPST_FLOW",
                    fs.iter()
                        .map(print_flow_stats10)
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                B::Aggregate(a) => (
                    "OFPST_AGGREGATE",
                    format!(
                        " packet_count={} byte_count={} flow_count={}",
                        a.packet_count, a.byte_count, a.flow_count
                    ),
                ),
                B::Table(t) => ("OFPST_TABLE", format!(" {} tables", t.len())),
                B::Port(p) => ("OFPST_PORT", format!(" {} ports", p.len())),
                B::Queue(q) => ("OFPST_QUEUE", format!(" {} queues", q.len())),
                B::PortDesc(p) => (
                    "OFPST_PORT_DESC",
                    p.iter()
                        .map(|p| format!(" {}({})", p.name.as_str_lossy(), fmt_port10(p.port_no)))
                        .collect::<String>(),
                ),
                B::Vendor { vendor, data } => (
                    "OFPST_VENDOR",
                    format!(" vendor=0x{vendor:08x} {}", short_hex(data)),
                ),
            };
            let flags = if r.flags != 0 {
                format!(" flags=0x{:x}", r.flags)
            } else {
                String::new()
            };
            format!("{}{flags}{rest}", head(&format!("{name} reply"), v, xid))
        }
        M::BarrierRequest => head("OFPT_BARRIER_REQUEST", v, xid),
        M::BarrierReply => head("OFPT_BARRIER_REPLY", v, xid),
        M::QueueGetConfigRequest { port } => format!(
            "{} port={}",
            head("OFPT_QUEUE_GET_CONFIG_REQUEST", v, xid),
            fmt_port10(*port)
        ),
        M::QueueGetConfigReply(q) => format!(
            "{} port={} {} queues",
            head("OFPT_QUEUE_GET_CONFIG_REPLY", v, xid),
            fmt_port10(q.port),
            q.queues.len()
        ),
    }
}

/// One framed message of any version we speak, on one line; a message that does not
/// decode prints its header and the decode error.
pub fn print_raw(msg: &[u8]) -> String {
    let b = bytes::Bytes::copy_from_slice(msg);
    let h = match crate::Header::decode(msg) {
        Ok(h) => h,
        Err(e) => return format!("(not an OpenFlow message: {e}) {}", short_hex(msg)),
    };
    let r = if h.version == crate::header::OFP10_VERSION && h.msg_type != 0 {
        v10::decode(&b).map(|(x, m)| print_message10(x, &m))
    } else {
        v13::decode(&b).map(|(x, m)| print_message(x, &m))
    };
    r.unwrap_or_else(|e| {
        format!(
            "(OF 0x{:02x}) (xid=0x{:x}): type {} length {}: undecodable: {e}: {}",
            h.version,
            h.xid,
            h.msg_type,
            h.length,
            short_hex(msg)
        )
    })
}
