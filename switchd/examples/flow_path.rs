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

use switchd::datapath::configured;
use switchd::datapath::flowtable::FlowTable;
use switchd::msg::{FlowForm, Msg, Role};
use tc_datapath::par;
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

/// Wall-clock and CPU time (user and system, every thread of the process) since a start.
#[derive(Clone, Copy)]
struct Clock(Instant, Duration);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu())
    }

    fn elapsed(self) -> (Duration, Duration) {
        (self.0.elapsed(), cpu().saturating_sub(self.1))
    }
}

fn cpu() -> Duration {
    // SAFETY: rusage is plain integers (all zero is a value), and getrusage writes the
    // struct it is given, nothing else.
    let (rc, r) = unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut r), r)
    };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(r.ru_utime) + tv(r.ru_stime)
}

fn line(what: &str, (wall, cpu): (Duration, Duration), n: usize) {
    println!(
        "  {what:<38} {:7.2} s  {:7.2} s CPU  {:6.2} us CPU/flow",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n.max(1) as f64
    );
}

fn sum(a: (Duration, Duration), b: (Duration, Duration)) -> (Duration, Duration) {
    (a.0 + b.0, a.1 + b.1)
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
    let t = Clock::start();
    let config = conf::parse_str("bench.conf", &text, &[]).unwrap_or_else(|e| fail("config", e));
    let parsed = t.elapsed();
    let t = Clock::start();
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
    let t = Clock::start();
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
    let t = Clock::start();
    let res = table.flow_mods(&fms, &mut backend, Instant::now());
    let tabled = t.elapsed();
    let ok = res.iter().filter(|r| r.is_ok()).count();

    // What the datapath did before: the flow lines came as text (JSON), and it parsed
    // each line again, on every CPU.
    let mut rc = switchd::parent::runtime_config(&config).for_role(Role::Datapath);
    for (c, f) in rc.switches[0]
        .flows
        .iter_mut()
        .zip(&config.switches[0].flows)
    {
        c.flow = FlowForm::Text(f.text.clone());
    }
    let t = Clock::start();
    let json_text = serde_json::to_vec(&Msg::Config(rc)).unwrap_or_else(|e| fail("encode", e));
    let Msg::Config(rc) =
        serde_json::from_slice::<Msg>(&json_text).unwrap_or_else(|e| fail("decode", e))
    else {
        fail("decode", "not a config");
    };
    let sent_text = t.elapsed();
    let t = Clock::start();
    let reparsed = par::map(&rc.switches[0].flows, |f| {
        f.text().is_some_and(|l| {
            ofproto::text::parse_flow(l, ofproto::v13::FlowModCommand::Add).is_ok()
        })
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
    line("total", sum(sum(parsed, sent), sum(decoded, tabled)), n);
    println!(
        "  before, as text ({} KiB of JSON):",
        json_text.len() / 1024
    );
    line("to the datapath (JSON, both ends)", sent_text, n);
    line("parse the text again (datapath)", reparse, n);
}
