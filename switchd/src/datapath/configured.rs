//! A local switch's configured flows on their way into its flow table: the table-miss
//! entry its `table-miss` setting says, and the `flow` lines as the parent parsed them.
//!
//! The parent parsed and checked every flow line once, and sends each as an OpenFlow 1.3
//! FLOW_MOD message with the file and line it was written at ([`ConfiguredFlow`]). Here it
//! is decoded like any FLOW_MOD from a controller: the decoding is the check (this process
//! takes nobody's word for a flow), and no text is parsed again. A flow that the decoding,
//! the flow table or the kernel refuses is logged as `FILE:LINE: …`, as OpenBSD's daemons
//! report what is wrong with their configuration.

use std::time::Instant;

use bytes::Bytes;
use ofproto::v13;

use super::agent::Agent;
use crate::msg::{ConfiguredFlow, FlowForm, SwitchConfig};
use tc_datapath::par;

/// The configured table-miss, and the static flows, as ordinary entries of table 0.
pub(super) fn install_configured_flows(a: &mut Agent, cfg: &SwitchConfig, now: Instant) {
    let name = &cfg.name;
    if let Err(r) = a.local_flow_mod(&table_miss(cfg.table_miss), now) {
        tracing::warn!("local switch {name}: table-miss {}: {r}", cfg.table_miss);
    }
    let started = Instant::now();
    let refused = install_flows(a, name, &cfg.flows, now);
    for r in &refused {
        tracing::warn!("{r}");
    }
    tracing::info!(
        "local switch {name}: {} configured flows in, {} refused, in {} ms",
        cfg.flows.len() - refused.len(),
        refused.len(),
        started.elapsed().as_millis()
    );
}

/// Every flow line into the flow table, in batches through the backend (flowtable's
/// flow_mods); the refused ones, each as the line the log gets: `FILE:LINE: …`.
fn install_flows(a: &mut Agent, name: &str, flows: &[ConfiguredFlow], now: Instant) -> Vec<String> {
    let mut refused = Vec::new();
    let mut at = Vec::new();
    let mut fms = Vec::new();
    for (f, d) in flows.iter().zip(par::map(flows, decode)) {
        match d {
            Ok(fm) => {
                at.push(f);
                fms.push(fm);
            }
            Err(e) => refused.push(format!("{}: local switch {name}: {e}", f.at())),
        }
    }
    // Through the group expansion (`groups.rs`): a reload finds the controller's groups.
    let (table, mut backend) = a.switch.table_and_backend();
    let res = table.flow_mods(&fms, &mut backend, now);
    for (f, r) in at.into_iter().zip(res) {
        if let Err(r) = r {
            refused.push(format!(
                "{}: local switch {name}: flow refused: {r}",
                f.at()
            ));
        }
    }
    refused
}

/// The table-miss entry (priority 0, empty match) of a `table-miss` setting.
fn table_miss(miss: conf::TableMiss) -> v13::FlowMod {
    let output = |port, max_len| {
        [v13::Instruction::ApplyActions(
            [v13::Action::Output { port, max_len }]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect()
    };
    let instructions: v13::InstructionList = match miss {
        conf::TableMiss::Normal => output(v13::port::NORMAL, 0),
        // The whole packet (OFPCML_NO_BUFFER): the switch buffers nothing.
        conf::TableMiss::Controller => output(
            v13::port::CONTROLLER,
            tc_datapath::translate::OFPCML_NO_BUFFER,
        ),
        // No instructions: drop.
        conf::TableMiss::Drop => v13::InstructionList::new(),
    };
    v13::FlowMod {
        command: v13::FlowModCommand::Add,
        priority: 0,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: v13::port::ANY,
        out_group: v13::OFPG_ANY,
        instructions,
        ..Default::default()
    }
}

/// The FLOW_MOD (an ADD) a configured flow is, or why it is none, in a sentence.
pub fn decode(f: &ConfiguredFlow) -> Result<v13::FlowMod, String> {
    let wire = match &f.flow {
        FlowForm::FlowMod(wire) => wire,
        FlowForm::Not13(why) => return Err(why.clone()),
        FlowForm::Text(_) => {
            return Err("BUG: a flow line as text; a local switch takes flow-mods".into())
        }
    };
    match v13::decode(&Bytes::from_owner(wire.clone())) {
        Ok((_, v13::Message::FlowMod(fm))) if fm.command == v13::FlowModCommand::Add => Ok(fm),
        Ok((_, m)) => Err(format!(
            "BUG: the parent sent {m:?} for a flow line, not a FLOW_MOD that adds"
        )),
        Err(e) => Err(format!(
            "BUG: the parent's FLOW_MOD for this flow line does not decode: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{decode, install_flows, table_miss};
    use crate::datapath::agent::{Agent, AgentConfig, Switch};
    use crate::datapath::flowtable::tests::InMemory;
    use crate::msg::{ConfiguredFlow, FlowForm};
    use ofproto::v13;
    use tc_datapath::Refusal;

    #[test]
    fn refusals_name_the_file_and_line_of_the_flow() {
        let now = Instant::now();
        let backend = InMemory {
            refuse_priority: Some((
                7,
                Refusal::new(
                    ofproto::v13::errors::flow_mod_failed::UNKNOWN,
                    "the kernel says no",
                ),
            )),
            ..Default::default()
        };
        let mut a = Agent::new(
            AgentConfig {
                name: "vm".into(),
                bridge: "br-vm".into(),
                datapath_id: 1,
                n_tables: 8,
                echo_interval: Duration::ZERO,
            },
            Switch::new(8, Box::new(backend)),
            now,
        );
        let text = "switch \"vm\" {\n\tbridge \"br-vm\"\n\tflow \"priority=6,actions=drop\"\n\
                    \tflow \"priority=7,tcp,actions=drop\"\n\tflow \"priority=8,actions=mod_nw_dst:1.2.3.4\"\n\
                    \tflow \"table=9,priority=9,actions=drop\"\n}\n";
        let c = conf::parse_str("switchd.conf", text, &[]).expect("a valid configuration");
        let flows = ConfiguredFlow::all(&c.switches[0].flows, true);
        let refused = install_flows(&mut a, "vm", &flows, now);
        assert_eq!(refused.len(), 3, "{refused:?}");
        // Refused by the decoding (no 1.3 flow), the backend, and the flow table.
        assert!(
            refused[0].starts_with("switchd.conf:5: local switch vm: bad flow for OpenFlow 1.3: "),
            "{refused:?}"
        );
        assert_eq!(
            refused[1],
            "switchd.conf:4: local switch vm: flow refused: the kernel says no \
             (OpenFlow error type 5 code 0)"
        );
        assert_eq!(
            refused[2],
            "switchd.conf:6: local switch vm: flow refused: no table 9 (this switch has 8) \
             (OpenFlow error type 5 code 2)"
        );
        assert_eq!(a.switch.table.entries().count(), 1);
    }

    fn configured(text: &str) -> ConfiguredFlow {
        let f = conf::Flow::new(text.into(), "switchd.conf".into(), 42).expect("a flow");
        ConfiguredFlow::all(&[f], true).remove(0)
    }

    #[test]
    fn a_flow_line_decodes_to_the_flow_mod_its_text_parses_to() {
        let text =
            "table=1,priority=7,idle_timeout=9,tcp,nw_dst=10.0.0.1,tp_dst=80,actions=output:2";
        let fm = decode(&configured(text)).expect("decodes");
        let want =
            ofproto::text::parse_flow(text, v13::FlowModCommand::Add).expect("the text parses");
        assert_eq!(fm, want);
    }

    #[test]
    fn what_is_no_13_flow_or_no_add_is_refused_with_a_sentence() {
        // in_port=LOCAL... as 1.0 only: a 1.0 flow that 1.3 does not take.
        let not13 = ConfiguredFlow {
            flow: FlowForm::Not13("bad flow for OpenFlow 1.3: column 1: nope".into()),
            ..configured("actions=drop")
        };
        assert_eq!(
            decode(&not13).unwrap_err(),
            "bad flow for OpenFlow 1.3: column 1: nope"
        );
        let mut wire = bytes::BytesMut::new();
        v13::Message::FlowMod(v13::FlowMod {
            command: v13::FlowModCommand::Delete,
            ..Default::default()
        })
        .encode(0, &mut wire);
        let delete = ConfiguredFlow {
            flow: FlowForm::FlowMod(wire.to_vec().into()),
            ..configured("actions=drop")
        };
        assert!(decode(&delete)
            .unwrap_err()
            .contains("not a FLOW_MOD that adds"));
        let FlowForm::FlowMod(whole) = configured("actions=drop").flow else {
            panic!("a local switch's flow is a flow-mod");
        };
        let cut = ConfiguredFlow {
            flow: FlowForm::FlowMod(whole[..whole.len() - 1].into()),
            ..configured("actions=drop")
        };
        assert!(decode(&cut).unwrap_err().contains("does not decode"));
        let text = ConfiguredFlow {
            flow: FlowForm::Text("actions=drop".into()),
            ..configured("actions=drop")
        };
        assert!(decode(&text).unwrap_err().starts_with("BUG:"));
    }

    #[test]
    fn table_miss_entries_are_priority_0_with_an_empty_match() {
        for miss in [
            conf::TableMiss::Normal,
            conf::TableMiss::Controller,
            conf::TableMiss::Drop,
        ] {
            let fm = table_miss(miss);
            assert_eq!((fm.priority, fm.table_id), (0, 0));
            assert!(fm.match_.fields.is_empty());
            assert_eq!(fm.instructions.is_empty(), miss == conf::TableMiss::Drop);
        }
    }
}
