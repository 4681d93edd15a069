//! `ofbench`: a cbench-style OpenFlow 1.3 load generator. It emulates N switches over TCP
//! towards a controller and measures how fast the controller's learning switch answers
//! table-miss PACKET_INs.
//!
//! Each emulated switch connects, says HELLO, answers FEATURES_REQUEST with a datapath id
//! of its own, and answers whatever else a controller asks on connect (echo, barrier,
//! get-config, role, async config, the multipart requests DESC, PORT_DESC, TABLE_FEATURES
//! and the statistics). It then sends one PACKET_IN from the destination host (on port 1,
//! to broadcast) until the controller answers it, so that the destination is learned.
//! From then on its PACKET_INs come in on port 2 from random sources (a pool of `macs`
//! addresses per switch) to that destination: a learning switch answers each with a
//! FLOW_MOD carrying the buffer id (buffered PACKET_INs, the default, as cbench does), or a
//! FLOW_MOD and a PACKET_OUT (unbuffered). A PACKET_IN counts as answered when its
//! PACKET_OUT, or a FLOW_MOD carrying a buffer id, comes back.
//!
//! - throughput mode: every switch keeps its socket full of PACKET_INs; answered/s per
//!   round and the average;
//! - latency mode: one PACKET_IN outstanding per switch; median, p90 and p99 of the time
//!   from writing a PACKET_IN to reading its answer.
//!
//! The switches are spread over `threads` threads, each an edge-triggered epoll loop. The
//! generator reports its own CPU use, and that of the processes given with `--cpu-pid`, over
//! the measured rounds, so that a reader can tell whether the generator was the bottleneck.
//!
//! [`Fleet`] is the same machinery for tests: connect many switches, check they are all
//! served, close them.
//!
//! - `engine.rs`: the emulated switches of one thread, under epoll;
//! - [`wire`]: what they say, built with `ofproto`;
//! - here: the options, the threads, the rounds and what is reported.

pub(crate) mod engine;
pub mod tls;
pub mod wire;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Engine, Load, SwState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Throughput,
    Latency,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub switches: u32,
    pub macs: u32,
    pub seconds: f64,
    pub rounds: u32,
    /// Rounds run first and not counted (the controller's tables fill, caches warm).
    pub warmup: u32,
    pub mode: Mode,
    pub buffered: bool,
    pub threads: u32,
    pub json: bool,
    /// Processes whose CPU use over the measured rounds is reported (the controller).
    pub cpu_pids: Vec<u32>,
    pub dpid_base: u64,
    /// How long connecting and the handshake of all switches may take.
    pub connect_timeout: Duration,
    /// Connect over TLS with these files.
    pub tls: Option<tls::TlsFiles>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: "127.0.0.1".into(),
            port: 6653,
            switches: 16,
            macs: 1000,
            seconds: 1.0,
            rounds: 10,
            warmup: 1,
            mode: Mode::Throughput,
            buffered: true,
            threads: 1,
            json: false,
            cpu_pids: Vec::new(),
            dpid_base: 1,
            connect_timeout: Duration::from_secs(30),
            tls: None,
        }
    }
}

pub const USAGE: &str = "usage: ofbench [--host H] [--port P] [--switches N] [--macs M] \
[--seconds S] [--rounds R] [--warmup W] [--mode throughput|latency] [--unbuffered] \
[--threads T] [--dpid-base D] [--cpu-pid PID]... [--json] \
[--tls-cert FILE --tls-key FILE --tls-ca FILE]";

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options::default();
        let mut tls_files: (Option<String>, Option<String>, Option<String>) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = |name: &str| -> Result<String, String> {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
                v.parse().map_err(|_| format!("{name}: bad number {v:?}"))
            }
            match a.as_str() {
                "--host" | "-H" => o.host = val(a)?,
                "--port" | "-p" => o.port = num(a, val(a)?)?,
                "--switches" | "-s" => o.switches = num(a, val(a)?)?,
                "--macs" | "-M" => o.macs = num(a, val(a)?)?,
                "--seconds" => o.seconds = num(a, val(a)?)?,
                "--rounds" | "-r" => o.rounds = num(a, val(a)?)?,
                "--warmup" | "-w" => o.warmup = num(a, val(a)?)?,
                "--threads" | "-t" => o.threads = num(a, val(a)?)?,
                "--dpid-base" => o.dpid_base = num(a, val(a)?)?,
                "--cpu-pid" => o.cpu_pids.push(num(a, val(a)?)?),
                "--buffered" => o.buffered = true,
                "--unbuffered" => o.buffered = false,
                "--json" => o.json = true,
                "--tls-cert" => tls_files.0 = Some(val(a)?),
                "--tls-key" => tls_files.1 = Some(val(a)?),
                "--tls-ca" => tls_files.2 = Some(val(a)?),
                "--mode" | "-m" => {
                    o.mode = match val(a)?.as_str() {
                        "throughput" => Mode::Throughput,
                        "latency" => Mode::Latency,
                        other => {
                            return Err(format!("--mode: {other:?} is not throughput or latency"))
                        }
                    }
                }
                "--help" | "-h" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        o.tls = match tls_files {
            (Some(cert), Some(key), Some(ca)) => Some(tls::TlsFiles { cert, key, ca }),
            (None, None, None) => None,
            _ => return Err("--tls-cert, --tls-key and --tls-ca go together".into()),
        };
        if o.switches == 0 || o.threads == 0 || o.macs == 0 {
            return Err("--switches, --threads and --macs must be at least 1".into());
        }
        if o.seconds.is_nan() || o.seconds <= 0.0 || o.rounds == 0 {
            return Err("--seconds must be positive and --rounds at least 1".into());
        }
        Ok(o)
    }

    /// One line saying what is measured.
    pub fn describe(&self) -> String {
        format!(
            "ofbench: {} switches x {} MACs, {} mode, {} packet-ins, {} thread(s), {}{}:{}",
            self.switches,
            self.macs,
            match self.mode {
                Mode::Throughput => "throughput",
                Mode::Latency => "latency",
            },
            if self.buffered {
                "buffered"
            } else {
                "unbuffered"
            },
            self.threads,
            if self.tls.is_some() { "tls:" } else { "" },
            self.host,
            self.port
        )
    }

    fn addr(&self) -> Result<SocketAddr, String> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("{}:{}: {e}", self.host, self.port))?
            .next()
            .ok_or_else(|| format!("{}:{}: no address", self.host, self.port))
    }
}

/// Latency figures in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub samples: usize,
    pub median_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub options: Options,
    /// Answered PACKET_INs per second, per measured round.
    pub rounds: Vec<f64>,
    pub average: f64,
    pub latency: Option<Latency>,
    /// CPU use over the measured rounds, percent of one core.
    pub generator_cpu: f64,
    pub controller_cpu: Option<f64>,
    pub errors: u64,
}

impl Report {
    /// The summary after the per-round lines: average, latency, CPU.
    pub fn text(&self) -> String {
        let o = &self.options;
        let mut s = String::new();
        let min = self.rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.rounds.iter().copied().fold(0.0, f64::max);
        let n = self.rounds.len() as f64;
        let sd = (self
            .rounds
            .iter()
            .map(|r| (r - self.average).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        s += &format!(
            "average: {:.0} answered/s over {} rounds of {} s (min {:.0}, max {:.0}, stddev {:.0})\n",
            self.average,
            self.rounds.len(),
            o.seconds,
            min,
            max,
            sd
        );
        if let Some(l) = self.latency {
            s += &format!(
                "latency: median {:.1} us, p90 {:.1} us, p99 {:.1} us ({} samples)\n",
                l.median_us, l.p90_us, l.p99_us, l.samples
            );
        }
        s += &format!("generator CPU: {:.0}%", self.generator_cpu);
        if let Some(c) = self.controller_cpu {
            s += &format!(", controller CPU: {c:.0}%");
        }
        s += " (100% = one core)\n";
        if let Some(c) = self.controller_cpu.filter(|c| *c > 0.0) {
            // On a shared machine the controller may not get a whole core; this does not
            // depend on how much it got.
            s += &format!(
                "controller: {:.0} answered per CPU-second\n",
                self.average / (c / 100.0)
            );
        }
        if self.errors > 0 {
            s += &format!("controller sent {} OFPT_ERROR messages\n", self.errors);
        }
        s
    }

    pub fn json(&self) -> String {
        let o = &self.options;
        let rounds: Vec<String> = self.rounds.iter().map(|r| format!("{r:.0}")).collect();
        let lat = match self.latency {
            Some(l) => format!(
                "{{\"samples\":{},\"median_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1}}}",
                l.samples, l.median_us, l.p90_us, l.p99_us
            ),
            None => "null".into(),
        };
        format!(
            "{{\"mode\":\"{}\",\"switches\":{},\"macs\":{},\"buffered\":{},\"threads\":{},\
\"seconds\":{},\"rounds\":[{}],\"average\":{:.0},\"latency\":{},\"generator_cpu\":{:.1},\
\"controller_cpu\":{},\"errors\":{}}}",
            match o.mode {
                Mode::Throughput => "throughput",
                Mode::Latency => "latency",
            },
            o.switches,
            o.macs,
            o.buffered,
            o.threads,
            o.seconds,
            rounds.join(","),
            self.average,
            lat,
            self.generator_cpu,
            self.controller_cpu
                .map(|c| format!("{c:.1}"))
                .unwrap_or_else(|| "null".into()),
            self.errors
        )
    }
}

/// CPU seconds used by this process so far (all threads).
fn self_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU seconds used by process `pid` so far (all its threads), from /proc.
pub(crate) fn proc_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((utime + stime) as f64 / hz)
}

fn pids_cpu(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    Some(pids.iter().filter_map(|p| proc_cpu(*p)).sum())
}

const PHASE_CONNECT: u8 = 0;
const PHASE_LOAD: u8 = 1;
const PHASE_STOP: u8 = 2;

struct Control {
    phase: AtomicU8,
    record: AtomicBool,
    ready: AtomicUsize,
    closed: AtomicUsize,
    answered: Vec<AtomicU64>,
    errors: AtomicU64,
    problem: std::sync::Mutex<Option<String>>,
}

struct ThreadResult {
    latencies: Vec<u32>,
}

fn worker(
    ctl: Arc<Control>,
    t: usize,
    opts: Options,
    addr: SocketAddr,
    mine: Vec<u32>,
) -> ThreadResult {
    let mut e = match Engine::new() {
        Ok(e) => e,
        Err(err) => {
            *ctl.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("epoll: {err}"));
            ctl.closed.fetch_add(mine.len(), Ordering::Relaxed);
            return ThreadResult { latencies: vec![] };
        }
    };
    if let Some(f) = &opts.tls {
        match tls::client_config(f) {
            Ok(c) => e.tls = Some(c),
            Err(err) => {
                *ctl.problem.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("TLS: {err}"));
                ctl.closed.fetch_add(mine.len(), Ordering::Relaxed);
                return ThreadResult { latencies: vec![] };
            }
        }
    }
    for i in mine {
        let dpid = opts.dpid_base + u64::from(i);
        if let Err(err) = e.connect(
            addr,
            i,
            dpid,
            opts.macs,
            opts.buffered,
            opts.connect_timeout,
        ) {
            *ctl.problem.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("switch {dpid:016x}: connect to {addr}: {err}"));
            ctl.closed.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut published_ready = 0;
    let mut published_closed = 0;
    let mut published_errors = 0;
    loop {
        let phase = ctl.phase.load(Ordering::Relaxed);
        if phase == PHASE_STOP {
            break;
        }
        e.load = match (phase, opts.mode) {
            (PHASE_LOAD, Mode::Throughput) => Load::Flood,
            (PHASE_LOAD, Mode::Latency) => Load::PingPong,
            _ => Load::Idle,
        };
        e.record = ctl.record.load(Ordering::Relaxed);
        e.turn(Duration::from_millis(5));
        ctl.answered[t].store(e.answered(), Ordering::Relaxed);
        let ready = e.count(SwState::Ready);
        if ready != published_ready {
            ctl.ready.fetch_add(ready, Ordering::Relaxed);
            ctl.ready.fetch_sub(published_ready, Ordering::Relaxed);
            published_ready = ready;
        }
        let closed = e.count(SwState::Closed);
        if closed != published_closed {
            ctl.closed
                .fetch_add(closed - published_closed, Ordering::Relaxed);
            published_closed = closed;
            if let Some(p) = e.first_problem() {
                ctl.problem
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(p);
            }
        }
        let errors = e.errors();
        if errors != published_errors {
            ctl.errors
                .fetch_add(errors - published_errors, Ordering::Relaxed);
            published_errors = errors;
        }
    }
    ThreadResult {
        latencies: std::mem::take(&mut e.latencies),
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// Run a benchmark as `opts` say; progress lines (one per round) go to `progress`.
pub fn run(opts: &Options, progress: &mut dyn FnMut(&str)) -> Result<Report, String> {
    let addr = opts.addr()?;
    if let Some(f) = &opts.tls {
        tls::client_config(f).map_err(|e| format!("TLS: {e}"))?;
    }
    let n = opts.switches as usize;
    let threads = (opts.threads as usize).min(n);
    let ctl = Arc::new(Control {
        phase: AtomicU8::new(PHASE_CONNECT),
        record: AtomicBool::new(false),
        ready: AtomicUsize::new(0),
        closed: AtomicUsize::new(0),
        answered: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        errors: AtomicU64::new(0),
        problem: std::sync::Mutex::new(None),
    });
    let mut handles = Vec::new();
    for t in 0..threads {
        let mine: Vec<u32> = (0..opts.switches)
            .filter(|i| *i as usize % threads == t)
            .collect();
        let (ctl, o) = (ctl.clone(), opts.clone());
        handles.push(std::thread::spawn(move || worker(ctl, t, o, addr, mine)));
    }
    let stop = |ctl: &Control, handles: Vec<std::thread::JoinHandle<ThreadResult>>| {
        ctl.phase.store(PHASE_STOP, Ordering::Relaxed);
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .collect::<Vec<_>>()
    };
    let problem = |ctl: &Control| {
        ctl.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "no reason known".into())
    };
    // Every switch connected, handshaken, and its destination learned.
    let deadline = Instant::now() + opts.connect_timeout;
    loop {
        let ready = ctl.ready.load(Ordering::Relaxed);
        if ready == n {
            break;
        }
        if ctl.closed.load(Ordering::Relaxed) > 0 {
            let why = problem(&ctl);
            stop(&ctl, handles);
            return Err(format!("a switch was closed during the handshake: {why}"));
        }
        if Instant::now() >= deadline {
            stop(&ctl, handles);
            return Err(format!(
                "only {ready} of {n} switches were ready after {} s",
                opts.connect_timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let total =
        |ctl: &Control| -> u64 { ctl.answered.iter().map(|a| a.load(Ordering::Relaxed)).sum() };
    ctl.phase.store(PHASE_LOAD, Ordering::Relaxed);
    let round = Duration::from_secs_f64(opts.seconds);
    for w in 0..opts.warmup {
        let a0 = total(&ctl);
        let t0 = Instant::now();
        std::thread::sleep(round);
        let rate = (total(&ctl) - a0) as f64 / t0.elapsed().as_secs_f64();
        progress(&format!(
            "warm-up {:2}: {rate:12.0} answered/s (not counted)",
            w + 1
        ));
    }
    ctl.record.store(true, Ordering::Relaxed);
    let cpu0 = self_cpu();
    let ctl_cpu0 = pids_cpu(&opts.cpu_pids);
    let start = Instant::now();
    let mut rounds = Vec::new();
    for r in 0..opts.rounds {
        let a0 = total(&ctl);
        let t0 = Instant::now();
        std::thread::sleep(round);
        let rate = (total(&ctl) - a0) as f64 / t0.elapsed().as_secs_f64();
        progress(&format!("round {:2}: {rate:12.0} answered/s", r + 1));
        rounds.push(rate);
        if ctl.closed.load(Ordering::Relaxed) > 0 {
            let why = problem(&ctl);
            stop(&ctl, handles);
            return Err(format!("a switch was closed under load: {why}"));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let generator_cpu = (self_cpu() - cpu0) / wall * 100.0;
    let controller_cpu = match (ctl_cpu0, pids_cpu(&opts.cpu_pids)) {
        (Some(a), Some(b)) => Some((b - a) / wall * 100.0),
        _ => None,
    };
    ctl.record.store(false, Ordering::Relaxed);
    let results = stop(&ctl, handles);
    let latency = if opts.mode == Mode::Latency {
        let mut all: Vec<u32> = results.into_iter().flat_map(|r| r.latencies).collect();
        all.sort_unstable();
        Some(Latency {
            samples: all.len(),
            median_us: percentile(&all, 0.5),
            p90_us: percentile(&all, 0.9),
            p99_us: percentile(&all, 0.99),
        })
    } else {
        None
    };
    let average = rounds.iter().sum::<f64>() / rounds.len() as f64;
    Ok(Report {
        options: opts.clone(),
        rounds,
        average,
        latency,
        generator_cpu,
        controller_cpu,
        errors: ctl.errors.load(Ordering::Relaxed),
    })
}

/// Many emulated switches on the calling thread, for tests: connect them all, then ask for
/// one answered PACKET_IN from each.
pub struct Fleet {
    engine: Engine,
}

impl Fleet {
    /// Connect `n` switches (datapath ids `dpid_base`..) to `addr` and wait until every one
    /// has completed the handshake and had its destination's PACKET_IN answered.
    pub fn connect(
        addr: SocketAddr,
        n: u32,
        dpid_base: u64,
        timeout: Duration,
    ) -> Result<Fleet, String> {
        let mut engine = Engine::new().map_err(|e| format!("epoll: {e}"))?;
        let deadline = Instant::now() + timeout;
        for i in 0..n {
            let dpid = dpid_base + u64::from(i);
            engine
                .connect(addr, i, dpid, 16, false, Duration::from_secs(5))
                .map_err(|e| format!("switch {dpid:016x}: connect to {addr}: {e}"))?;
            // Serve the ones already connected while the rest connect.
            engine.turn(Duration::ZERO);
        }
        let mut f = Fleet { engine };
        f.pump_until(deadline, |e| e.count(SwState::Ready) == e.switches.len())
            .map_err(|e| format!("handshake: {e}"))?;
        Ok(f)
    }

    fn pump_until(
        &mut self,
        deadline: Instant,
        done: impl Fn(&Engine) -> bool,
    ) -> Result<(), String> {
        loop {
            if let Some(p) = self
                .engine
                .switches
                .iter()
                .find(|s| s.state == SwState::Closed)
                .and_then(|_| self.engine.first_problem())
            {
                return Err(p);
            }
            if done(&self.engine) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} of {} switches ready, {} answered in all, at the deadline",
                    self.engine.count(SwState::Ready),
                    self.engine.switches.len(),
                    self.engine.answered()
                ));
            }
            self.engine.turn(Duration::from_millis(5));
        }
    }

    pub fn datapath_ids(&self) -> Vec<u64> {
        self.engine.switches.iter().map(|s| s.dpid).collect()
    }

    /// Answer whatever the controller sends (echoes) for `d`; an error if a switch was
    /// closed meanwhile.
    pub fn serve_for(&mut self, d: Duration) -> Result<(), String> {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.engine.count(SwState::Closed) > 0 {
                return Err(self.engine.first_problem().unwrap_or_default());
            }
            self.engine.turn(Duration::from_millis(5));
        }
        Ok(())
    }

    /// One PACKET_IN from each switch; `Ok` once every switch has had its answer.
    pub fn ping_each(&mut self, timeout: Duration) -> Result<(), String> {
        let before: Vec<u64> = self.engine.switches.iter().map(|s| s.answered).collect();
        self.engine.load = Load::PingPong;
        let r = self.pump_until(Instant::now() + timeout, |e| {
            e.switches.iter().zip(&before).all(|(s, b)| s.answered > *b)
        });
        self.engine.load = Load::Idle;
        r
    }

    /// The switches that have not had any PACKET_IN answered since they learned.
    pub fn unanswered(&self) -> Vec<u64> {
        self.engine
            .switches
            .iter()
            .filter(|s| s.answered == 0)
            .map(|s| s.dpid)
            .collect()
    }
}
