//! Benchmark: N distinct OpenFlow flows (default 100,000) translated and installed through
//! `Tc`, against the same filters installed by `tc -force -batch FILE`; reconcile after a
//! restart and after 1% of the flows changed; memory per flow. Prints figures, asserts
//! nothing about time. Needs cls_flower, so it runs in the kernel-tier VM:
//!
//!     regress/bench-tc [N]
//!
//! Everything happens in a network namespace of its own (a bridge with two dummy ports),
//! deleted at the end.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use ofproto::v13::action::Action;
use ofproto::v13::{Instruction, Masked, Match, Oxm};
use regress::Netns;
use tc_datapath::{
    translate, Backend, DecodedFlow, Filter, Installed, MeterTable, MirredKind, PortMap, Table, Tc,
    TcAction, Verdict,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Flow `i`: in_port 1, priority 100 + i % 1000, TCP to 10.x.y.z:port; output to port
/// 2 (even i) or drop (odd i). `variant` changes the actions (1) or the TCP port (2).
fn flow(i: u32, variant: u8) -> (u16, Match, Vec<Instruction>) {
    let [_, a, b, c] = i.to_be_bytes();
    let port = 1 + (i % 60_000) as u16 + if variant == 2 { 1 } else { 0 };
    let m = Match::from_fields(vec![
        Oxm::InPort(1),
        Oxm::EthType(0x0800),
        Oxm::IpProto(6),
        Oxm::Ipv4Dst(Masked::exact(Ipv4Addr::new(10, a, b, c))),
        Oxm::TcpDst(port),
    ]);
    let output = i.is_multiple_of(2) != (variant == 1);
    let inst = if output {
        vec![Instruction::ApplyActions(
            [Action::Output {
                port: 2,
                max_len: 0,
            }]
            .into_iter()
            .collect(),
        )]
    } else {
        vec![]
    };
    (100 + (i % 1000) as u16, m, inst)
}

fn translate_flow(i: u32, variant: u8, ports: &PortMap, meters: &MeterTable) -> Res<Filter> {
    let (priority, m, inst) = flow(i, variant);
    let spec = DecodedFlow {
        table_id: 0,
        priority,
        cookie: 0,
        r#match: &m,
        instructions: &inst,
    };
    let mut v = translate(&spec, ports, meters)?;
    if v.len() != 1 {
        return Err(format!("flow {i} became {} filters", v.len()).into());
    }
    Ok(v.remove(0))
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    kib(&s, field)
}

fn meminfo_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    kib(&s, field)
}

fn kib(text: &str, field: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ifindex(name: &str) -> Res<u32> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(format!("no device {name}").into());
    }
    Ok(i)
}

fn failures(what: &str, res: &[Result<(), tc_datapath::KernelError>]) -> Res<()> {
    let bad: Vec<_> = res.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(e) = bad.first() {
        return Err(format!("{what}: {} of {} failed, first: {e}", bad.len(), res.len()).into());
    }
    Ok(())
}

/// The `tc` command line that installs `f` on device `dev` (output device `out`): the
/// same chain, prio, handle, keys, actions and cookie. iproute2's flower takes the
/// EtherType from the filter's protocol (it has no eth_type option with `protocol all`),
/// so these filters say `protocol ip` where ours say ETH_P_ALL with an EtherType key:
/// the same match for the kernel.
fn tc_line(f: &Filter, dev: &str, out_dev: &str, line: &mut String) -> Res<()> {
    let k = &f.key;
    let (Some(0x0800), Some(6), Some((dst, _)), Some((port, 0xffff))) =
        (k.eth_type, k.ip_proto, k.ipv4_dst, k.l4_dst)
    else {
        return Err(format!("unexpected key {k:?}").into());
    };
    let cookie: String = f.cookie.iter().map(|b| format!("{b:02x}")).collect();
    let action = match f.actions.as_slice() {
        [TcAction::Gact(Verdict::Shot)] => "drop".to_string(),
        [TcAction::Mirred {
            kind: MirredKind::EgressRedirect,
            ..
        }] => format!("mirred egress redirect dev {out_dev}"),
        a => return Err(format!("unexpected actions {a:?}").into()),
    };
    writeln!(
        line,
        "filter add dev {dev} ingress protocol ip chain {} prio {} handle {:#x} flower skip_hw ip_proto tcp dst_ip {dst}/32 dst_port {port} action {action} cookie {cookie}",
        f.chain, f.prio, f.handle
    )?;
    Ok(())
}

/// How many of `wanted` the kernel lacks, and how many installed filters are not wanted
/// (by place and cookie: equal cookies, equal content).
fn difference(wanted: &[Filter], installed: &[Installed]) -> (usize, usize) {
    use std::collections::HashSet;
    let have: HashSet<_> = installed
        .iter()
        .filter_map(|i| i.cookie.map(|c| (i.id.ifindex, i.id.chain, i.id.prio, c)))
        .collect();
    let want: HashSet<_> = wanted
        .iter()
        .map(|f| (f.ifindex, f.chain, f.prio, f.cookie))
        .collect();
    (
        want.difference(&have).count(),
        installed.len() - have.intersection(&want).count(),
    )
}

struct Row(String, usize, Duration);

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn run(n: u32) -> Res<()> {
    let (d1, d2) = ("swb1", "swb2");
    let (if1, if2) = (ifindex(d1)?, ifindex(d2)?);
    let mut ports = PortMap::new();
    ports.insert(1, if1, d1);
    ports.insert(2, if2, d2);
    let meters = MeterTable::new();
    let mut tc = Tc::new()?;
    tc.ensure_clsact(if1)?;
    let mut rows: Vec<Row> = Vec::new();
    let nu = n as usize;

    // Translate: the wanted set, as the daemon would hold it.
    let rss0 = status_kib("VmRSS");
    let t = Instant::now();
    let mut filters = (0..n)
        .map(|i| translate_flow(i, 0, &ports, &meters))
        .collect::<Res<Vec<Filter>>>()?;
    rows.push(Row("translate (pure)".into(), nu, t.elapsed()));
    let rss1 = status_kib("VmRSS");

    // (a) install through Tc.
    let slab0 = meminfo_kib("Slab") + meminfo_kib("Percpu");
    let t = Instant::now();
    let res = tc.install(&mut filters);
    let d_install = t.elapsed();
    failures("install", &res)?;
    rows.push(Row(
        "(a) install, Tc (batched netlink)".into(),
        nu,
        d_install,
    ));
    let rss2 = status_kib("VmRSS");
    let slab1 = meminfo_kib("Slab") + meminfo_kib("Percpu");

    // (d) reconcile after a restart: a new kernel table keeps the device's filters (as
    // it keeps the injection pair's far end): terse dump, adopt by cookie; nothing to do.
    drop(tc);
    let mut tc = Tc::new()?;
    let t = Instant::now();
    let mut table = Table::open("bench")?;
    let ok = table.set_injection(if1, d1, &filters);
    let d_adopt = t.elapsed();
    let installed: Vec<Installed> = tc.dump(if1)?;
    let (missing, extra) = difference(&filters, &installed);
    if !ok || missing + extra > 0 || installed.len() != nu {
        return Err(format!(
            "after the restart: dump has {} filters, {missing} missing, {extra} extra",
            installed.len()
        )
        .into());
    }
    rows.push(Row(
        "(d) restart: adopt (nothing to do)".into(),
        nu,
        d_adopt,
    ));
    drop(installed);

    // (d) 1% of the flows changed: half their actions (replaced in place), half their
    // TCP port (a new key: added, the old one removed).
    let mut wanted = filters.clone();
    for (k, i) in (0..n).step_by(100).enumerate() {
        wanted[i as usize] =
            translate_flow(i, if k.is_multiple_of(2) { 1 } else { 2 }, &ports, &meters)?;
    }
    let changed = (0..n).step_by(100).count();
    let t = Instant::now();
    if !table.set_injection(if1, d1, &wanted) {
        return Err("the 1% reconcile: the table refused a filter".into());
    }
    let d_rec = t.elapsed();
    rows.push(Row(
        format!("(d) 1% changed: reconcile ({changed} flows changed)"),
        nu,
        d_rec,
    ));
    let after = tc.dump(if1)?;
    if difference(&wanted, &after) != (0, 0) || after.len() != nu {
        return Err("the 1% reconcile left a difference".into());
    }
    drop(table);

    // (b) remove them all.
    let ids: Vec<_> = after.iter().map(|i| i.id).collect();
    drop(after);
    drop(wanted);
    let t = Instant::now();
    failures("remove", &tc.remove(&ids))?;
    rows.push(Row("(b) remove, Tc".into(), nu, t.elapsed()));
    let left = tc.dump(if1)?.len();
    if left != 0 {
        return Err(format!("{left} filters left after remove").into());
    }

    // The kernel picks every handle (handle 0 + NLM_F_ECHO, the collision path): what
    // installing costs when each filter's handle must be learned from an echo.
    let mut zero: Vec<Filter> = filters
        .iter()
        .map(|f| Filter {
            handle: 0,
            ..f.clone()
        })
        .collect();
    let t = Instant::now();
    failures("install echo", &tc.install(&mut zero))?;
    rows.push(Row(
        "(a') install, Tc, every handle kernel-chosen (echo)".into(),
        nu,
        t.elapsed(),
    ));
    let ids: Vec<_> = zero.iter().map(|f| f.id()).collect();
    drop(zero);
    failures("remove echo", &tc.remove(&ids))?;

    // (c) the same filters through tc -batch.
    let dir = regress::workspace::TempDir::new("bench-tc");
    let file = dir.0.join("filters.batch");
    let mut text = String::with_capacity(nu * 200);
    for f in &filters {
        tc_line(f, d1, d2, &mut text)?;
    }
    std::fs::write(&file, &text)?;
    drop(text);
    let t = Instant::now();
    let out = Command::new("tc")
        .arg("-force")
        .arg("-batch")
        .arg(&file)
        .output()?;
    let d_tc = t.elapsed();
    let got = tc.dump(if1)?.len();
    if !out.status.success() || got != nu {
        return Err(format!(
            "tc -batch: {} with {got} of {nu} filters installed: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        )
        .into());
    }
    rows.push(Row("(c) install, tc -force -batch".into(), nu, d_tc));
    let t = Instant::now();
    let out = Command::new("tc")
        .args(["filter", "show", "dev", d1, "ingress"])
        .output()?;
    let d_show = t.elapsed();
    if !out.status.success() {
        return Err("tc filter show failed".into());
    }
    rows.push(Row(
        "    tc filter show (for comparison with dump)".into(),
        nu,
        d_show,
    ));

    println!();
    println!(
        "tc-datapath benchmark: {n} flows, one device, 1000 prios, kernel {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    println!("{:<72} {:>10} {:>12}", "step", "seconds", "flows/s");
    for Row(what, k, d) in &rows {
        println!(
            "{:<72} {:>10.3} {:>12.0}",
            what,
            d.as_secs_f64(),
            rate(*k, *d)
        );
    }
    println!(
        "ratio install Tc / tc -batch (flows/s): {:.2}",
        rate(nu, d_install) / rate(nu, d_tc)
    );
    println!(
        "RSS: wanted set (translated filters held) {} bytes/flow; Tc install {} bytes/flow; \
         kernel slab+percpu {} bytes/filter",
        (rss1.saturating_sub(rss0)) * 1024 / n as u64,
        (rss2.saturating_sub(rss1)) * 1024 / n as u64,
        (slab1.saturating_sub(slab0)) * 1024 / n as u64,
    );
    println!(
        "memory: size_of::<Filter>() = {} bytes, plus its actions vector",
        std::mem::size_of::<Filter>()
    );
    Ok(())
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let r = (|| -> Res<()> {
        let ns = Netns::new()?;
        ns.ip(&["link", "add", "swbr", "type", "bridge"])?;
        for d in ["swb1", "swb2"] {
            ns.ip(&["link", "add", d, "type", "dummy"])?;
            ns.ip(&["link", "set", d, "master", "swbr"])?;
            ns.ip(&["link", "set", d, "up"])?;
        }
        ns.ip(&["link", "set", "swbr", "up"])?;
        ns.enter(move || run(n).map_err(|e| e.to_string()))?
            .map_err(|e| e.into())
    })();
    if let Err(e) = r {
        eprintln!("bench_install: {e}");
        std::process::exit(1);
    }
}
