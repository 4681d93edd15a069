//! Groups in the `ovs-ofctl add-group` syntax (ovs-ofctl(8), "Group Syntax"):
//! `group_id=1,type=all,bucket=output:2,bucket=watch_port:3,actions=output:3`.
//!
//! `group_id` (a number; `all` for deleting every group), `type` (`all`, `select`,
//! `indirect`, `ff` or `fast_failover`), then buckets, each `bucket=` followed by its
//! `weight`, `watch_port` and `watch_group` (as `key:value` or `key=value`) and its
//! actions, with or without `actions=`. The next `bucket=` at the outer level ends a
//! bucket. What ovs-ofctl accepts besides (`bucket_id`, `selection_method`) is refused.

use super::actions::parse_actions13;
use super::value::{parse_port13, parse_uint};
use super::FlowParseError;
use crate::v13::group_meter::group_type;
use crate::v13::{Bucket, GroupMod, GroupModCommand, Instruction, Match, OFPG_ALL, OFPG_ANY};

/// The top-level pieces of `s` split at commas outside parentheses, each with its
/// 1-based column.
fn pieces(s: &str, col: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push((col + start, &s[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((col + start, &s[start..]));
    out
}

fn key_value(p: &str) -> Option<(&str, &str)> {
    let i = p.find(['=', ':'])?;
    Some((p[..i].trim(), p[i + 1..].trim()))
}

/// Parse a group as `ovs-ofctl add-group` (and `mod-group`, `del-groups`) takes it.
pub fn parse_group(text: &str, command: GroupModCommand) -> Result<GroupMod, FlowParseError> {
    let mut g = GroupMod {
        command,
        group_type: u8::MAX,
        group_id: OFPG_ANY,
        buckets: Vec::new(),
    };
    // The head (before the first bucket), then one piece per bucket.
    let mut bucket_texts: Vec<(usize, String)> = Vec::new();
    for (col, p) in pieces(text, 1) {
        let t = p.trim();
        if let Some(rest) = t.strip_prefix("bucket=") {
            bucket_texts.push((col + 7, rest.to_string()));
            continue;
        }
        if let Some((_, b)) = bucket_texts.last_mut() {
            b.push(',');
            b.push_str(p);
            continue;
        }
        if t.is_empty() {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(FlowParseError::new(col, format!("{t}: expected key=value")));
        };
        match k.trim() {
            "group_id" => {
                g.group_id = if v == "all" {
                    OFPG_ALL
                } else {
                    parse_uint(v, "group_id", u32::MAX.into())
                        .map_err(|e| FlowParseError::new(col, e))? as u32
                }
            }
            "type" => {
                g.group_type = match v {
                    "all" => group_type::ALL,
                    "select" => group_type::SELECT,
                    "indirect" => group_type::INDIRECT,
                    "ff" | "fast_failover" => group_type::FF,
                    _ => return Err(FlowParseError::new(col, format!("unknown group type {v}"))),
                }
            }
            other => {
                return Err(FlowParseError::new(
                    col,
                    format!("{other}: not a group field this parser knows"),
                ))
            }
        }
    }
    for (col, b) in bucket_texts {
        let mut bucket = Bucket {
            weight: 0,
            watch_port: crate::v13::port::ANY,
            watch_group: OFPG_ANY,
            actions: Default::default(),
        };
        let mut actions: Vec<&str> = Vec::new();
        for (pc, p) in pieces(&b, col) {
            let t = p.trim();
            let kv = key_value(t).filter(|(k, _)| {
                matches!(*k, "weight" | "watch_port" | "watch_group") && actions.is_empty()
            });
            match kv {
                Some(("weight", v)) => {
                    bucket.weight = parse_uint(v, "weight", u16::MAX.into())
                        .map_err(|e| FlowParseError::new(pc, e))?
                        as u16
                }
                Some(("watch_port", v)) => {
                    bucket.watch_port =
                        parse_port13(v, "watch_port").map_err(|e| FlowParseError::new(pc, e))?
                }
                Some((_, v)) => {
                    bucket.watch_group = parse_uint(v, "watch_group", u32::MAX.into())
                        .map_err(|e| FlowParseError::new(pc, e))?
                        as u32
                }
                None => actions.push(t.strip_prefix("actions=").unwrap_or(t)),
            }
        }
        let joined = actions.join(",");
        if !joined.is_empty() {
            let list = parse_actions13(&joined, col, &Match::default())?;
            for i in list {
                match i {
                    Instruction::ApplyActions(a) => bucket.actions = a,
                    _ => {
                        return Err(FlowParseError::new(
                            col,
                            "a bucket holds actions, not instructions",
                        ))
                    }
                }
            }
        }
        g.buckets.push(bucket);
    }
    if g.group_id == OFPG_ANY {
        return Err(FlowParseError::new(1, "group_id= is required"));
    }
    if g.group_type == u8::MAX {
        if command != GroupModCommand::Delete {
            return Err(FlowParseError::new(1, "type= is required"));
        }
        g.group_type = group_type::ALL;
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v13::Action;

    fn out(p: u32) -> Action {
        Action::Output {
            port: p,
            max_len: 0,
        }
    }

    #[test]
    fn groups_as_ovs_ofctl_writes_them() {
        let g = parse_group(
            "group_id=1,type=all,bucket=output:2,bucket=actions=push_vlan:0x8100,set_field:4106->vlan_vid,output:3",
            GroupModCommand::Add,
        )
        .expect("parse");
        assert_eq!(g.group_id, 1);
        assert_eq!(g.group_type, group_type::ALL);
        assert_eq!(g.buckets.len(), 2);
        assert_eq!(&g.buckets[0].actions[..], &[out(2)]);
        assert_eq!(g.buckets[1].actions.len(), 3);
        let ff = parse_group(
            "group_id=7,type=ff,bucket=watch_port:2,output:2,bucket=watch_port=3,watch_group:9,actions=output:3",
            GroupModCommand::Add,
        )
        .expect("parse");
        assert_eq!(ff.group_type, group_type::FF);
        assert_eq!(ff.buckets[0].watch_port, 2);
        assert_eq!(ff.buckets[1].watch_port, 3);
        assert_eq!(ff.buckets[1].watch_group, 9);
        assert_eq!(&ff.buckets[1].actions[..], &[out(3)]);
        let del = parse_group("group_id=all", GroupModCommand::Delete).expect("parse");
        assert_eq!(del.group_id, OFPG_ALL);
        assert!(parse_group("group_id=1", GroupModCommand::Add).is_err());
        assert!(parse_group("group_id=1,type=bogus", GroupModCommand::Add).is_err());
        let e = parse_group(
            "group_id=2,type=indirect,bucket=output:2",
            GroupModCommand::Add,
        )
        .expect("parse");
        assert_eq!(e.buckets.len(), 1);
    }
}
