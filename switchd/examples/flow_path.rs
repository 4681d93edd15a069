//! The CPU a local switch spends on its configured flows before the kernel sees any: the
//! ovs-ofctl text parsed, the flow table's checks and entries, each flow decoded again and
//! translated to flower filters with their cookies — what a start or a restart does for
//! every flow line (a restart then adopts the filters it finds instead of installing them).
//! No kernel: the backend here only translates. Prints figures; asserts nothing.
//!
//!     cargo run --release -p switchd --example flow_path [N]
//!
//! The flows are those of `regress/bench-local` (N, default 100,000). Run natively and in
//! the kernel-tier VM (`regress/vm target/release/examples/flow_path`) it tells how much
//! of bench-local's times is the emulated CPU.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchd::datapath::flowtable::FlowTable;
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, Refusal};

/// Translates every flow it is given, keeps nothing.
struct TranslateOnly {
    ports: tc_datapath::PortMap,
    meters: tc_datapath::MeterTable,
    filters: usize,
}

impl Backend for TranslateOnly {
    fn install(&mut self, _: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        let filters =
            flow.with_decoded(|f| tc_datapath::translate(f, &self.ports, &self.meters))??;
        self.filters += filters.len();
        Ok(())
    }

    fn remove(&mut self, _: FlowId) {}

    fn counters(&mut self, _: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}

fn per_flow(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
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
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let (a, b, c) = (100 + i / 65536, (i / 256) % 256, i % 256);
            let act = if i % 10 == 9 { "drop" } else { "output:2" };
            format!(
                "priority={},tcp,nw_dst=10.{a}.{b}.{c},tp_dst={},actions={act}",
                100 + i % 1000,
                1000 + i % 50000
            )
        })
        .collect();
    let t = Instant::now();
    let mut fms = Vec::with_capacity(n);
    for l in &lines {
        match ofproto::text::parse_flow(l, ofproto::v13::FlowModCommand::Add) {
            Ok(fm) => fms.push(fm),
            Err(e) => {
                eprintln!("flow_path: {l}: {e}");
                std::process::exit(1);
            }
        }
    }
    let parsed = t.elapsed();
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
    println!(
        "flow_path: {n} flows ({ok} in the table, {} filters)",
        backend.filters
    );
    println!(
        "  parse (ovs-ofctl text)           {:8.2} s  {:7.2} us/flow",
        parsed.as_secs_f64(),
        per_flow(parsed, n)
    );
    println!(
        "  flow table + translation         {:8.2} s  {:7.2} us/flow",
        tabled.as_secs_f64(),
        per_flow(tabled, n)
    );
    println!(
        "  total                            {:8.2} s  {:7.2} us/flow",
        (parsed + tabled).as_secs_f64(),
        per_flow(parsed + tabled, n)
    );
}
