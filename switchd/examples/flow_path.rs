//! The CPU a local switch's configured flows cost before the kernel sees any, step by step
//! as a start does it: the parent reads the configuration (each flow line parsed and
//! checked by ofproto, and kept as the FLOW_MOD it parsed to), sends it to the datapath
//! process (JSON), and the datapath decodes each FLOW_MOD, puts it in the flow table and
//! translates it to flower filters with their cookies (a restart then adopts the filters it
//! finds instead of installing them). No kernel: the backend here only translates. Prints
//! figures; asserts nothing.
//!
//!     cargo run --release -p switchd --example flow_path [N]
//!
//! The flows are those of `regress/bench-local` (N, default 100,000). Run natively and in
//! the kernel-tier VM (`regress/vm target/release/examples/flow_path`) it tells how much
//! of bench-local's times is the emulated CPU. The last line is what the datapath spent
//! before flow lines travelled parsed: parsing their text again, on every CPU.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchd::datapath::backend::{Backend, Counters, FlowId, FlowSpec, MeterTable, Refusal};
use switchd::datapath::configured;
use switchd::datapath::flowtable::FlowTable;
use switchd::datapath::par;
use switchd::msg::{FlowForm, Msg, Role};

/// Translates every flow it is given, keeps nothing.
struct TranslateOnly {
    ports: tc_datapath::PortMap,
    meters: tc_datapath::MeterTable,
    filters: usize,
}

impl Backend for TranslateOnly {
    fn install(&mut self, _: FlowId, flow: &FlowSpec, _: &MeterTable) -> Result<(), Refusal> {
        let filters = flow
            .with_decoded(|f| tc_datapath::translate(f, &self.ports, &self.meters))?
            .map_err(|r| Refusal::new(r.error, r.reason))?;
        self.filters += filters.len();
        Ok(())
    }

    fn remove(&mut self, _: FlowId) {}

    fn counters(&mut self, _: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}

fn line(what: &str, d: Duration, n: usize) {
    println!(
        "  {what:<34} {:8.2} s  {:7.2} us/flow",
        d.as_secs_f64(),
        d.as_secs_f64() * 1e6 / n.max(1) as f64
    );
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("flow_path: {what}: {e}");
    std::process::exit(1);
}

fn main() {
    let n: usize = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: flow_path [N]: {e}");
            std::process::exit(2);
        }
    };
    // As regress/bench-local writes them.
    let mut text = String::from(
        "switch \"bench\" {\n\tbridge \"br\"\n\tport \"p0\" number 1\n\tport \"p1\" number 2\n\ttable-miss normal\n",
    );
    for i in 0..n {
        let (a, b, c) = (100 + i / 65536, (i / 256) % 256, i % 256);
        let act = if i % 10 == 9 { "drop" } else { "output:2" };
        text.push_str(&format!(
            "\tflow \"priority={},tcp,nw_dst=10.{a}.{b}.{c},tp_dst={},actions={act}\"\n",
            100 + i % 1000,
            1000 + i % 50000
        ));
    }
    text.push_str("}\n");

    // The parent.
    let t = Instant::now();
    let config = conf::parse_str("bench.conf", &text, &[]).unwrap_or_else(|e| fail("config", e));
    let parsed = t.elapsed();
    let t = Instant::now();
    let rc = switchd::parent::runtime_config(&config).for_role(Role::Datapath);
    let json = serde_json::to_vec(&Msg::Config(rc)).unwrap_or_else(|e| fail("encode", e));
    // The datapath.
    let Msg::Config(rc) =
        serde_json::from_slice::<Msg>(&json).unwrap_or_else(|e| fail("decode", e))
    else {
        fail("decode", "not a config");
    };
    let sent = t.elapsed();
    let Some(sw) = rc.switches.into_iter().next() else {
        fail("config", "no switch");
    };
    let t = Instant::now();
    let fms: Vec<_> = par::map(&sw.flows, configured::decode)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| fail("flow", e)))
        .collect();
    let decoded = t.elapsed();
    let mut ports = tc_datapath::PortMap::new();
    ports.insert(1, 10, "p0");
    ports.insert(2, 11, "p1");
    let mut backend = TranslateOnly {
        ports,
        meters: tc_datapath::MeterTable::new(),
        filters: 0,
    };
    let mut table = FlowTable::new(8);
    let t = Instant::now();
    let res = table.flow_mods(&fms, &mut backend, Instant::now());
    let tabled = t.elapsed();
    let ok = res.iter().filter(|r| r.is_ok()).count();

    // What the datapath did before: parse each line's text again.
    let texts: Vec<&str> = config.switches[0]
        .flows
        .iter()
        .map(|f| f.text.as_str())
        .collect();
    let t = Instant::now();
    let reparsed = par::map(&texts, |l| {
        ofproto::text::parse_flow(l, ofproto::v13::FlowModCommand::Add).is_ok()
    });
    let reparse = t.elapsed();
    assert!(sw
        .flows
        .iter()
        .all(|f| matches!(f.flow, FlowForm::FlowMod(_))));

    println!(
        "flow_path: {n} flows ({ok} in the table, {} filters; {} KiB of JSON to the datapath; {} texts parse)",
        backend.filters,
        json.len() / 1024,
        reparsed.iter().filter(|ok| **ok).count()
    );
    line("parse + check (parent, conf)", parsed, n);
    line("to the datapath (JSON, both ends)", sent, n);
    line("decode the flow-mods (datapath)", decoded, n);
    line("flow table + translation", tabled, n);
    line("total", parsed + sent + decoded + tabled, n);
    line("(before: text parsed again, datapath)", reparse, n);
}
