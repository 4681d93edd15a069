//! How many heap bytes one installed flow costs in the datapath process's structures, with a
//! counting allocator: the flow table (over the in-memory-like recording backend below) and
//! the data tc-datapath translates each flow into. Prints a breakdown; asserts nothing
//! about size (a benchmark, see regress/bench-local for the RSS of the real daemon).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use ofproto::v13;
use switchd::datapath::flowtable::FlowTable;
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, Refusal};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Keeps what a backend must keep at least: the spec of each flow (to translate again).
#[derive(Default)]
struct Keeping(HashMap<FlowId, FlowSpec>);

impl Backend for Keeping {
    fn install(&mut self, id: FlowId, f: &FlowSpec) -> Result<(), Refusal> {
        self.0.insert(id, f.clone());
        Ok(())
    }
    fn remove(&mut self, id: FlowId) {
        self.0.remove(&id);
    }
    fn counters(&mut self, _: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }
}

fn flow_text(i: usize) -> String {
    let act = if i % 10 == 9 { "drop" } else { "output:2" };
    format!(
        "priority={},tcp,nw_dst=10.{}.{}.{},tp_dst={},actions={act}",
        100 + i % 1000,
        100 + i / 65536,
        i / 256 % 256,
        i % 256,
        1000 + i % 50000
    )
}

#[test]
fn bytes_per_flow() {
    const N: usize = 20_000;
    let fms: Vec<v13::FlowMod> = (0..N)
        .map(|i| ofproto::text::parse_flow(&flow_text(i), v13::FlowModCommand::Add).unwrap())
        .collect();
    println!("size_of FlowSpec {}", std::mem::size_of::<FlowSpec>());
    println!(
        "size_of FlowEntry {}",
        std::mem::size_of::<switchd::datapath::flowtable::FlowEntry>()
    );
    println!("size_of Match {}", std::mem::size_of::<v13::Match>());
    println!(
        "size_of InstructionList {}",
        std::mem::size_of::<v13::InstructionList>()
    );
    println!("size_of FlowMod {}", std::mem::size_of::<v13::FlowMod>());
    println!(
        "size_of Filter {}",
        std::mem::size_of::<tc_datapath::Filter>()
    );
    println!(
        "size_of FlowerKey {}",
        std::mem::size_of::<tc_datapath::filter::FlowerKey>()
    );

    let now = Instant::now();
    let before = live();
    let mut t = FlowTable::new(1);
    let mut b = Keeping::default();
    let t0 = Instant::now();
    let res = t.flow_mods(&fms, &mut b, now);
    println!("flow_mods of {N} ADDs: {} ms", t0.elapsed().as_millis());
    assert!(res.iter().all(|r| r.is_ok()));
    let with_backend = live() - before;
    let backend_only: isize = {
        let b0 = live();
        let copy: HashMap<FlowId, FlowSpec> = b.0.clone();
        let d = live() - b0;
        drop(copy);
        d
    };
    println!(
        "flow table: {} bytes/flow; backend's spec copies: {} bytes/flow",
        (with_backend - backend_only) / N as isize,
        backend_only / N as isize
    );

    // What tc-datapath makes of each flow on a switch with two ports.
    let mut ports = tc_datapath::PortMap::new();
    ports.insert(1, 11, "p1");
    ports.insert(2, 12, "p2");
    let meters = tc_datapath::MeterTable::new();
    let b0 = live();
    let t0 = Instant::now();
    let filters: Vec<Vec<tc_datapath::Filter>> = fms
        .iter()
        .map(|fm| {
            let spec = tc_datapath::DecodedFlow {
                table_id: fm.table_id,
                priority: fm.priority,
                cookie: fm.cookie,
                r#match: &fm.match_,
                instructions: &fm.instructions[..],
            };
            tc_datapath::translate(&spec, &ports, &meters).unwrap()
        })
        .collect();
    println!("translate of {N} flows: {} ms", t0.elapsed().as_millis());
    let nf: usize = filters.iter().map(Vec::len).sum();
    println!(
        "translated: {} filters/flow, {} bytes/flow as Vec<Filter>",
        nf / N,
        (live() - b0) / N as isize
    );
}
