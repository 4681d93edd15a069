//! OpenFlow 1.3 flows in ovs-ofctl syntax.

use super::actions::{fmt_instructions13, parse_actions13};
use super::fields::{fmt_match13, is_match_field, parse_match13};
use super::lex::{split, Tok};
use super::value::*;
use super::FlowParseError;
use crate::v13::flow::flow_mod_flags as ff;
use crate::v13::multipart::FlowStats;
use crate::v13::{FlowMod, FlowModCommand, Match, OFP_NO_BUFFER};

/// `OFP_DEFAULT_PRIORITY`
pub(crate) const DEFAULT_PRIORITY: u16 = 0x8000;

pub(crate) const FLAG_NAMES: [(&str, u16); 5] = [
    ("send_flow_rem", ff::SEND_FLOW_REM),
    ("check_overlap", ff::CHECK_OVERLAP),
    ("reset_counts", ff::RESET_COUNTS),
    ("no_packet_counts", ff::NO_PKT_COUNTS),
    ("no_byte_counts", ff::NO_BYT_COUNTS),
];

/// Keys that `dump-flows` prints and `add-flow` ignores, so that a dumped flow can be
/// pasted back (as ovs-ofctl allows).
pub(crate) const STATS_KEYS: [&str; 5] =
    ["duration", "n_packets", "n_bytes", "idle_age", "hard_age"];

/// The flow-level settings of a flow text, common to 1.0 and 1.3.
pub(crate) struct Header {
    pub priority: u16,
    pub cookie: u64,
    pub cookie_mask: Option<u64>,
    pub table: Option<u8>,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub flags: u16,
    pub out_port: Option<(String, usize)>,
    pub out_group: Option<u32>,
    pub buffer_id: u32,
    pub actions: Option<(String, usize)>,
}

/// Split a flow text into its flow-level settings and its match tokens.
pub(crate) fn split_flow<'a>(
    text: &'a str,
    cmd_is_add: bool,
    version: &str,
) -> Result<(Header, Vec<Tok<'a>>), FlowParseError> {
    let toks = split(text, 1, Some("actions"))?;
    let mut h = Header {
        priority: DEFAULT_PRIORITY,
        cookie: 0,
        cookie_mask: None,
        table: None,
        idle_timeout: 0,
        hard_timeout: 0,
        flags: 0,
        out_port: None,
        out_group: None,
        buffer_id: OFP_NO_BUFFER,
        actions: None,
    };
    let mut matches = Vec::new();
    for t in toks {
        let v = || -> Result<&str, FlowParseError> {
            t.value.filter(|v| !v.is_empty()).ok_or_else(|| {
                FlowParseError::new(t.col, format!("{} needs a value ({}=VALUE)", t.key, t.key))
            })
        };
        let num = |max: u64| -> Result<u64, FlowParseError> {
            parse_uint(v()?, t.key, max).map_err(|e| FlowParseError::new(t.value_col, e))
        };
        match t.key {
            "actions" => h.actions = Some((t.value.unwrap_or("").to_string(), t.value_col)),
            "priority" => h.priority = num(0xffff)? as u16,
            "table" => h.table = Some(num(0xff)? as u8),
            "idle_timeout" => h.idle_timeout = num(0xffff)? as u16,
            "hard_timeout" => h.hard_timeout = num(0xffff)? as u16,
            "buffer_id" => h.buffer_id = num(u32::MAX as u64)? as u32,
            "flags" => h.flags |= num(0xffff)? as u16,
            "out_port" => h.out_port = Some((v()?.to_string(), t.value_col)),
            "out_group" => {
                let g = v()?;
                h.out_group = Some(if g.eq_ignore_ascii_case("any") {
                    OFPG_ANY
                } else {
                    num(u32::MAX as u64)? as u32
                });
            }
            "cookie" => {
                let (c, m) = parse_uint_masked(v()?, "cookie", u64::MAX)
                    .map_err(|e| FlowParseError::new(t.value_col, e))?;
                if m.is_some() && cmd_is_add {
                    return Err(FlowParseError::new(
                        t.col,
                        "cookie=VALUE/MASK selects flows to modify or delete; adding a flow takes cookie=VALUE",
                    ));
                }
                h.cookie = c;
                h.cookie_mask = m;
            }
            "importance" => {
                return Err(FlowParseError::new(
                    t.col,
                    format!("importance is not part of an OpenFlow {version} flow_mod (it came with OpenFlow 1.4)"),
                ))
            }
            k if STATS_KEYS.contains(&k) => {}
            k => {
                if let Some((_, bit)) = FLAG_NAMES.iter().find(|(n, _)| *n == k) {
                    if t.value.is_some() {
                        return Err(FlowParseError::new(t.col, format!("{k} is a flag and takes no value")));
                    }
                    h.flags |= bit;
                } else if is_match_field(k)
                    || super::fields::SHORTHANDS.iter().any(|s| s.0 == k)
                {
                    matches.push(t);
                } else {
                    return Err(FlowParseError::new(t.col, format!("unknown field \"{k}\"")));
                }
            }
        }
    }
    Ok((h, matches))
}

/// Parse a flow in ovs-ofctl syntax into an OpenFlow 1.3 FLOW_MOD with command `cmd`.
///
/// Defaults are ovs-ofctl's: priority 32768, no timeouts, cookie 0, table 0 (all tables,
/// 255, for the delete commands), no buffer, out_port and out_group ANY. Adding a flow
/// requires `actions=` (`actions=drop` to drop).
pub fn parse_flow(text: &str, cmd: FlowModCommand) -> Result<FlowMod, FlowParseError> {
    let is_add = cmd == FlowModCommand::Add;
    let (h, mtoks) = split_flow(text, is_add, "1.3")?;
    let (match_, _) = parse_match13(&mtoks)?;
    let instructions = match &h.actions {
        Some((a, col)) => parse_actions13(a, *col, &match_)?,
        None if matches!(cmd, FlowModCommand::Add) => {
            return Err(FlowParseError::new(
                text.chars().count() + 1,
                "adding a flow needs actions= (write actions=drop to drop)",
            ))
        }
        None => Default::default(),
    };
    let out_port = match &h.out_port {
        Some((p, col)) => parse_port13(p, "out_port").map_err(|e| FlowParseError::new(*col, e))?,
        None => port13::ANY,
    };
    let is_del = matches!(cmd, FlowModCommand::Delete | FlowModCommand::DeleteStrict);
    Ok(FlowMod {
        cookie: h.cookie,
        cookie_mask: h.cookie_mask.unwrap_or(0),
        table_id: h.table.unwrap_or(if is_del { OFPTT_ALL } else { 0 }),
        command: cmd,
        idle_timeout: h.idle_timeout,
        hard_timeout: h.hard_timeout,
        priority: h.priority,
        buffer_id: h.buffer_id,
        out_port,
        out_group: h.out_group.unwrap_or(OFPG_ANY),
        flags: h.flags,
        match_,
        instructions,
    })
}

/// Flow-mod flags as `send_flow_rem,check_overlap,...`; unknown bits as `flags=0x..`.
pub(crate) fn fmt_flags(flags: u16, sep: &str) -> Vec<String> {
    let mut out: Vec<String> = FLAG_NAMES
        .iter()
        .filter(|(_, b)| flags & b != 0)
        .map(|(n, _)| n.to_string())
        .collect();
    let known: u16 = FLAG_NAMES.iter().map(|(_, b)| b).fold(0, |a, b| a | b);
    if flags & !known != 0 {
        out.push(format!("flags=0x{:x}", flags & !known));
    }
    let _ = sep;
    out
}

/// Print a FLOW_MOD in the add-flow syntax [`parse_flow`] reads back (with the same
/// command) to the same message.
pub fn print_flow_mod(fm: &FlowMod) -> String {
    let mut parts: Vec<String> = Vec::new();
    let is_del = matches!(
        fm.command,
        FlowModCommand::Delete | FlowModCommand::DeleteStrict
    );
    if fm.table_id != if is_del { OFPTT_ALL } else { 0 } {
        parts.push(format!("table={}", fm.table_id));
    }
    if fm.cookie != 0 || fm.cookie_mask != 0 {
        if fm.cookie_mask != 0 {
            parts.push(format!("cookie=0x{:x}/0x{:x}", fm.cookie, fm.cookie_mask));
        } else {
            parts.push(format!("cookie=0x{:x}", fm.cookie));
        }
    }
    if fm.idle_timeout != 0 {
        parts.push(format!("idle_timeout={}", fm.idle_timeout));
    }
    if fm.hard_timeout != 0 {
        parts.push(format!("hard_timeout={}", fm.hard_timeout));
    }
    if fm.buffer_id != OFP_NO_BUFFER {
        parts.push(format!("buffer_id={}", fm.buffer_id));
    }
    if fm.out_port != port13::ANY {
        parts.push(format!("out_port={}", fmt_port13(fm.out_port)));
    }
    if fm.out_group != OFPG_ANY {
        parts.push(format!("out_group={}", fm.out_group));
    }
    parts.extend(fmt_flags(fm.flags, ","));
    let m = fmt_match13(
        &fm.match_,
        (fm.priority != DEFAULT_PRIORITY).then_some(fm.priority),
    );
    if !m.is_empty() {
        parts.push(m);
    }
    let mut s = parts.join(",");
    if !is_del || !fm.instructions.is_empty() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str("actions=");
        s.push_str(&fmt_instructions13(&fm.instructions));
    }
    s
}

/// OVS `ofp_print_duration`: whole seconds, then milliseconds, then the rest if any.
pub(crate) fn fmt_duration(sec: u32, nsec: u32) -> String {
    let mut s = sec.to_string();
    if nsec > 0 {
        s.push_str(&format!(".{:03}", nsec / 1_000_000));
        if !nsec.is_multiple_of(1_000_000) {
            s.push_str(&format!("{:06}", nsec % 1_000_000));
        }
    }
    s.push('s');
    s
}

/// Print a flow entry the way `ovs-ofctl dump-flows` does:
/// ` cookie=0x0, duration=1.234s, table=0, n_packets=3, n_bytes=294, idle_timeout=10, priority=100,icmp,in_port=1 actions=drop`.
pub fn print_flow_stats(fs: &FlowStats) -> String {
    let mut s = format!(
        " cookie=0x{:x}, duration={}, table={}, n_packets={}, n_bytes={}, ",
        fs.cookie,
        fmt_duration(fs.duration_sec, fs.duration_nsec),
        fs.table_id,
        fs.packet_count,
        fs.byte_count
    );
    if fs.idle_timeout != 0 {
        s.push_str(&format!("idle_timeout={}, ", fs.idle_timeout));
    }
    if fs.hard_timeout != 0 {
        s.push_str(&format!("hard_timeout={}, ", fs.hard_timeout));
    }
    // Open vSwitch separates the flags by spaces, not commas.
    for f in fmt_flags(fs.flags, " ") {
        s.push_str(&f);
        s.push(' ');
    }
    let m = fmt_match13(
        &fs.match_,
        (fs.priority != DEFAULT_PRIORITY).then_some(fs.priority),
    );
    if !m.is_empty() {
        s.push_str(&m);
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&fmt_instructions13(&fs.instructions));
    s
}

/// Print an OpenFlow 1.3 match in ovs-ofctl syntax (empty for the match-all).
pub fn print_match(m: &Match) -> String {
    fmt_match13(m, None)
}
