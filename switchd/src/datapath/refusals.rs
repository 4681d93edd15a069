//! What a local switch refused its controllers, for the user to see: each FLOW_MOD and
//! GROUP_MOD (and METER_MOD, PACKET_OUT) that got an OpenFlow error instead of being
//! carried out is counted, and written in ovs-ofctl syntax with the reason sentence. The
//! local switch's task sends each to the control process (`Msg::Refused`), which keeps
//! the recent ones for `switchctl show refusals` and streams them to `switchctl monitor`.

use bytes::Bytes;
use ofproto::text::{print_flow_mod, print_instructions};
use ofproto::v13::errors::describe_code;
use ofproto::v13::group_meter::group_type;
use ofproto::v13::{self, FlowModCommand, GroupModCommand, Message as M};
use tc_datapath::Refusal;

/// Refusals kept for the task between two events; more are only counted.
const NEW_MAX: usize = 1024;

/// One refused message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The ovs-ofctl command that would send it: `add-flow`, `del-flows --strict`,
    /// `add-group`, …
    pub(crate) command: String,
    /// Its argument in ovs-ofctl syntax.
    pub(crate) flow: String,
    /// Why, with the OpenFlow error.
    pub(crate) reason: String,
    /// How many the switch has refused, this one included.
    pub(crate) count: u64,
}

/// A switch's refusals: how many, and those the task has not passed on yet.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    pub(crate) total: u64,
    pub(crate) new: Vec<Refused>,
}

impl Refusals {
    /// `raw` (a message from a controller) was refused for `reason` with error `code`.
    pub(crate) fn record(&mut self, raw: &Bytes, r: &Refusal) {
        self.total += 1;
        if self.new.len() >= NEW_MAX {
            return;
        }
        let (command, flow) = describe(raw);
        self.new.push(Refused {
            command,
            flow,
            reason: format!("{}: {}", r.reason, describe_code(r.error)),
            count: self.total,
        });
    }

    pub(crate) fn take(&mut self) -> Vec<Refused> {
        std::mem::take(&mut self.new)
    }
}

/// The ovs-ofctl command and argument that send `raw`.
pub(crate) fn describe(raw: &Bytes) -> (String, String) {
    let m = match v13::decode(raw) {
        Ok((_, m)) => m,
        Err(e) => return ("-".into(), format!("undecodable message: {e}")),
    };
    match m {
        M::FlowMod(mut fm) => {
            // 6.4: out_port and out_group only filter deletes; an ADD or MODIFY ignores
            // them (os-ken sends 0), and ovs-ofctl would not write them.
            if !matches!(
                fm.command,
                FlowModCommand::Delete | FlowModCommand::DeleteStrict
            ) {
                fm.out_port = v13::port::ANY;
                fm.out_group = v13::OFPG_ANY;
            }
            let c = match fm.command {
                FlowModCommand::Add => "add-flow",
                FlowModCommand::Modify => "mod-flows",
                FlowModCommand::ModifyStrict => "mod-flows --strict",
                FlowModCommand::Delete => "del-flows",
                FlowModCommand::DeleteStrict => "del-flows --strict",
            };
            (c.into(), print_flow_mod(&fm))
        }
        M::GroupMod(g) => {
            let c = match g.command {
                GroupModCommand::Add => "add-group",
                GroupModCommand::Modify => "mod-group",
                GroupModCommand::Delete => "del-groups",
                _ => "mod-group --may-create",
            };
            let t = match g.group_type {
                group_type::ALL => "all".to_string(),
                group_type::SELECT => "select".into(),
                group_type::INDIRECT => "indirect".into(),
                group_type::FF => "ff".into(),
                n => n.to_string(),
            };
            let mut s = format!("group_id={},type={t}", g.group_id);
            for b in &g.buckets {
                s.push_str(",bucket=");
                if g.group_type == group_type::SELECT {
                    s.push_str(&format!("weight:{},", b.weight));
                }
                if b.watch_port != v13::port::ANY {
                    s.push_str(&format!("watch_port:{},", b.watch_port));
                }
                if b.watch_group != v13::OFPG_ANY {
                    s.push_str(&format!("watch_group:{},", b.watch_group));
                }
                let apply = v13::Instruction::ApplyActions(b.actions.clone());
                s.push_str("actions=");
                s.push_str(&print_instructions(&[apply]));
            }
            (c.into(), s)
        }
        M::MeterMod(mm) => ("meter-mod".into(), format!("meter={}", mm.meter_id)),
        M::PacketOut(_) => ("packet-out".into(), "-".into()),
        other => ("-".into(), format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ofproto::v13::errors::{bad_request, flow_mod_failed};

    fn raw(m: M) -> Bytes {
        let mut b = BytesMut::new();
        m.encode(7, &mut b);
        b.freeze()
    }

    #[test]
    fn refused_flows_are_counted_and_written_as_ovs_ofctl_reads_them() {
        let mut r = Refusals::default();
        let mut fm =
            ofproto::text::parse_flow("table=3,priority=9,ip,actions=drop", FlowModCommand::Add)
                .expect("flow");
        // os-ken sends out_port and out_group 0 with an ADD, which ignores them.
        (fm.out_port, fm.out_group) = (0, 0);
        let why = Refusal::new(flow_mod_failed::BAD_TABLE_ID, "table 3 does not exist");
        r.record(&raw(M::FlowMod(fm)), &why);
        let g = v13::GroupMod {
            command: GroupModCommand::Add,
            group_type: group_type::ALL,
            group_id: 4,
            buckets: vec![v13::Bucket {
                weight: 0,
                watch_port: v13::port::ANY,
                watch_group: v13::OFPG_ANY,
                actions: [v13::Action::Output {
                    port: 2,
                    max_len: 0,
                }]
                .into_iter()
                .collect(),
            }],
        };
        r.record(
            &raw(M::GroupMod(g)),
            &Refusal::new(bad_request::BAD_TYPE, "no groups"),
        );
        assert_eq!(r.total, 2);
        let new = r.take();
        assert_eq!(new[0].command, "add-flow");
        assert_eq!(new[0].flow, "table=3,priority=9,ip actions=drop");
        assert_eq!(
            new[0].reason,
            "table 3 does not exist: OFPFMFC_BAD_TABLE_ID (OFPET_FLOW_MOD_FAILED, code 2)"
        );
        assert_eq!(new[1].command, "add-group");
        assert_eq!(new[1].flow, "group_id=4,type=all,bucket=actions=output:2");
        assert_eq!(new[1].count, 2);
        assert!(r.take().is_empty());
    }
}
