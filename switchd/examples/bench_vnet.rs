//! The virtual networks at scale, no kernel needed: one file with 1,000 VMs in 100
//! networks over 100 hypervisors (`regress/bench-vnet` runs it).
//!
//! Prints the time of `switchd -n` on the file (it parses the file and compiles every
//! hypervisor's part), the time for one hypervisor to compile its part and to translate its
//! flows to flower filters (the CPU side of installing them; the kernel side is
//! bench-local's), the flows per local VM, and how many flows change on each hypervisor when
//! one VM migrates (what a reload there applies).
//!
//!     cargo run --release -p switchd --example bench_vnet [SWITCHD]
//!
//! SWITCHD is the binary to time (default `target/release/switchd`). Nothing here asserts a
//! time.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

const HYPERVISORS: usize = 100;
const NETWORKS: usize = 100;
const VMS_PER_NETWORK: usize = 10;

/// The file; `moved` puts network 0's first VM on hypervisor 1 instead of 0.
fn generate(moved: bool) -> String {
    let mut s = String::new();
    for h in 0..HYPERVISORS {
        let _ = writeln!(
            s,
            "hypervisor \"hv{h}\" address 10.255.{}.{}",
            h / 250,
            h % 250 + 1
        );
    }
    for n in 0..NETWORKS {
        let kind = if n % 2 == 0 { "vxlan" } else { "geneve" };
        let _ = writeln!(
            s,
            "network \"net{n}\" {{\n\t{kind} vni {}\n\tpass in proto icmp",
            1000 + n
        );
        for j in 0..VMS_PER_NETWORK {
            // Network n's VMs on ten hypervisors; each hypervisor hosts ten VMs.
            let mut h = (n + j * 10) % HYPERVISORS;
            if moved && n == 0 && j == 0 {
                h = 1;
            }
            let _ = write!(
                s,
                "\tvm \"vm{j}\" on \"hv{h}\" port \"t{n}-{j}\" mac 52:54:00:00:{n:02x}:{j:02x} \
                 address 10.{}.{}.{} address fd00:{n:x}::{:x} {{\n\t\tpass in proto tcp to port 22\n",
                n / 250,
                n % 250,
                j + 10,
                j + 10
            );
            if j == 0 {
                s += "\t\trate 100M\n";
            }
            s += "\t}\n";
        }
        s += "}\n";
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn flows_of(v: &conf::vnet::Vnet, hv: &str) -> BTreeSet<String> {
    switchd::vnet::compile(v, hv)
        .expect("compiles")
        .switch
        .map(|s| s.flows.into_iter().map(|f| f.text).collect())
        .unwrap_or_default()
}

fn main() {
    let switchd = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/switchd".into());
    let text = generate(false);
    let dir = std::env::temp_dir().join(format!("bench-vnet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("vnet.conf");
    std::fs::write(&file, &text).expect("the file written");
    println!(
        "{} VMs in {NETWORKS} networks over {HYPERVISORS} hypervisors: {} lines, {} bytes",
        NETWORKS * VMS_PER_NETWORK,
        text.lines().count(),
        text.len()
    );

    // switchd -n: parse, check, compile every hypervisor's part.
    let mut times = Vec::new();
    let mut said = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new(&switchd)
            .args(["-n", "-H", "hv0", "-f"])
            .arg(&file)
            .output();
        let elapsed = t.elapsed();
        match out {
            Ok(o) if o.status.success() => {
                said = String::from_utf8_lossy(&o.stderr).trim().to_string();
                times.push(elapsed);
            }
            Ok(o) => {
                eprintln!(
                    "{switchd} -n failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("cannot run {switchd}: {e} (build it: cargo build --release -p switchd)");
                std::process::exit(1);
            }
        }
    }
    println!(
        "switchd -n (median of 5): {:.1} ms",
        median(times).as_secs_f64() * 1e3
    );
    for l in said.lines() {
        println!("  switchd says: {l}");
    }

    // One hypervisor's part: compile, and translate to flower filters.
    let cfg = conf::parse_str("vnet.conf", &text, &[]).expect("the generated file parses");
    let v = cfg.vnet.expect("virtual networks");
    let mut times = Vec::new();
    let mut sw = None;
    for _ in 0..5 {
        let t = Instant::now();
        sw = switchd::vnet::compile(&v, "hv0").expect("compiles").switch;
        times.push(t.elapsed());
    }
    let sw = sw.expect("hv0 hosts VMs");
    let local_vms = v
        .networks
        .iter()
        .flat_map(|n| n.vms.iter())
        .filter(|vm| vm.hypervisor == "hv0")
        .count();
    println!(
        "hv0 compiles its part (median of 5): {:.2} ms: {} ports, {} meters, {} flows",
        median(times).as_secs_f64() * 1e3,
        sw.ports.len(),
        sw.meters.len(),
        sw.flows.len()
    );
    let mut ports = tc_datapath::PortMap::new();
    for p in &sw.ports {
        let n = p.number.unwrap_or(0);
        ports.insert(n, 100 + n, &p.name);
    }
    let mut meters = tc_datapath::MeterTable::new();
    for m in &sw.meters {
        use ofproto::v13::{MeterBand, MeterMod, MeterModCommand};
        let _ = meters.apply(&MeterMod {
            command: MeterModCommand::Add,
            flags: 1,
            meter_id: m.id,
            bands: vec![MeterBand::Drop {
                rate: m.rate_kbps,
                burst_size: 0,
            }],
        });
    }
    let t = Instant::now();
    let (mut filters, mut refused) = (0usize, 0usize);
    for f in &sw.flows {
        let Ok(fm) = ofproto::text::parse_flow(&f.text, ofproto::v13::FlowModCommand::Add) else {
            refused += 1;
            continue;
        };
        let flow = tc_datapath::DecodedFlow {
            table_id: fm.table_id,
            priority: fm.priority,
            cookie: fm.cookie,
            r#match: &fm.match_,
            instructions: &fm.instructions,
        };
        match tc_datapath::translate(&flow, &ports, &meters) {
            Ok(fs) => filters += fs.len(),
            Err(_) => refused += 1,
        }
    }
    println!(
        "hv0 translates its flows to flower filters: {:.2} ms, {filters} filters, {refused} refused",
        t.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "flows per local VM on hv0: {:.1} ({} flows, {local_vms} VMs)",
        sw.flows.len() as f64 / local_vms as f64,
        sw.flows.len()
    );
    let mut per_vm = Vec::new();
    for h in &v.hypervisors {
        let n = flows_of(&v, &h.name).len();
        let vms = v
            .networks
            .iter()
            .flat_map(|n| n.vms.iter())
            .filter(|vm| vm.hypervisor == h.name)
            .count();
        if vms > 0 {
            per_vm.push(n as f64 / vms as f64);
        }
    }
    per_vm.sort_by(f64::total_cmp);
    println!(
        "flows per local VM over all hypervisors: min {:.1}, median {:.1}, max {:.1}",
        per_vm[0],
        per_vm[per_vm.len() / 2],
        per_vm[per_vm.len() - 1]
    );

    // One migration: net0's vm0 from hv0 to hv1.
    let moved = conf::parse_str("vnet.conf", &generate(true), &[])
        .expect("parses")
        .vnet
        .expect("virtual networks");
    let mut changed = Vec::new();
    for h in &v.hypervisors {
        let (a, b) = (flows_of(&v, &h.name), flows_of(&moved, &h.name));
        let (gone, new) = (a.difference(&b).count(), b.difference(&a).count());
        if gone + new > 0 {
            changed.push(format!("{}: -{gone} +{new} of {}", h.name, a.len()));
        }
    }
    println!(
        "net0/vm0 migrates hv0 -> hv1: flows change on {} of {HYPERVISORS} hypervisors (the other {} unchanged):",
        changed.len(),
        HYPERVISORS - changed.len()
    );
    for c in &changed {
        println!("  {c}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
