//! The Prometheus endpoint (`metrics listen on ADDRESS port N`, switchd.conf(5)).
//!
//! The parent opens the listening socket (it may be a privileged port) and hands it to the
//! control process, which serves `GET /metrics` on it. A scrape asks ofp for the switches'
//! figures and the parent for every process's CPU time and memory, then encodes them with
//! the official `prometheus-client` crate (`encode.rs`).
//!
//! HTTP is hyper 1.x's server (http1) on the tokio runtime the process already runs: a
//! scraper speaks real HTTP (keep-alive, chunking, malformed requests), which is a job for
//! a maintained implementation, not for a hand-written parser in a daemon.
//!
//! - here: the messages' types, the scrapes waiting for their answers, the server;
//! - `encode.rs`: the metric names, labels and the text format.

mod encode;

use std::collections::HashMap;
use std::convert::Infallible;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::child::Peers;
use crate::msg::{Msg, Role};

/// How long a scrape waits for ofp and the parent.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// What ofp knows, for one scrape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfpMetrics {
    /// Connected switches.
    pub switches: Vec<SwitchMetrics>,
    /// Handshakes completed and connections lost, by datapath id, since ofp started.
    pub dp_events: Vec<DpEvents>,
    /// TLS handshakes that failed, by listener, since ofp started.
    #[serde(default)]
    pub tls_failures: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpEvents {
    pub dp_id: u64,
    pub name: String,
    pub connections: u64,
    pub disconnections: u64,
}

/// One connected switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchMetrics {
    pub dp_id: u64,
    /// The configured name, empty if the switch has none.
    pub name: String,
    pub packet_ins: u64,
    pub flowmsgs_sent: u64,
    pub errors: u64,
    /// Learned MAC addresses: (MAC, port).
    pub macs: Vec<(String, u32)>,
    pub ports: Vec<PortMetrics>,
    /// Per table: (table id, flows, packets, bytes).
    pub tables: Vec<(u8, u64, u64, u64)>,
}

/// One port's counters, as the switch reports them (`u64::MAX`: not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMetrics {
    pub port_no: u32,
    pub name: String,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_dropped: u64,
    pub rx_errors: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_dropped: u64,
    pub tx_errors: u64,
}

/// One process's CPU time and resident memory, read by the parent from /proc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcStat {
    /// parent, control, ofp, datapath.
    pub process: String,
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
}

impl Eq for ProcStat {}

/// Scrapes waiting for ofp's and the parent's answers, by request id.
#[derive(Default)]
struct Pending {
    next_id: u64,
    ofp: HashMap<u64, oneshot::Sender<OfpMetrics>>,
    procs: HashMap<u64, oneshot::Sender<Vec<ProcStat>>>,
    dp: HashMap<u64, oneshot::Sender<DpMetrics>>,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

fn pending<T>(f: impl FnOnce(&mut Pending) -> T) -> T {
    let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Pending::default))
}

/// Reloads asked for, and those rejected (the control process sees both).
static RELOADS: AtomicU64 = AtomicU64::new(0);
static RELOAD_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Whether the last reload was rejected (Faucet's faucet_config_load_error).
static LOAD_ERROR: AtomicU64 = AtomicU64::new(0);

/// What the datapath process counts for the metrics: requests its local switches refused
/// (by switch, request and OpenFlow error) and psample overruns (the kernel dropped sampled
/// packets, its counter as the socket reports it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpMetrics {
    pub refusals: Vec<(String, String, String, u64)>,
    pub psample_overruns: u64,
    /// Packet-ins a local switch did not send: (switch, reason, count).
    #[serde(default)]
    pub packet_in_drops: Vec<(String, String, u64)>,
    /// Flow-mods the local switches carried out in the kernel, and the seconds they took.
    #[serde(default)]
    pub installs: u64,
    #[serde(default)]
    pub install_nanos: u64,
}

type RefusalKey = (String, String, String);
static REFUSALS: Mutex<std::collections::BTreeMap<RefusalKey, u64>> =
    Mutex::new(std::collections::BTreeMap::new());
static PSAMPLE_OVERRUNS: AtomicU64 = AtomicU64::new(0);
type DropKey = (String, &'static str);
static PACKET_IN_DROPS: Mutex<std::collections::BTreeMap<DropKey, u64>> =
    Mutex::new(std::collections::BTreeMap::new());
/// Flow-mods carried out, and their time in nanoseconds.
static INSTALLS: AtomicU64 = AtomicU64::new(0);
static INSTALL_NANOS: AtomicU64 = AtomicU64::new(0);

/// Datapath: local switch `switch` did not send `n` packet-ins, for `reason`
/// (no_controller, backlog, unknown_flow).
pub(crate) fn packet_in_dropped(switch: &str, reason: &'static str, n: u64) {
    let mut d = PACKET_IN_DROPS.lock().unwrap_or_else(|e| e.into_inner());
    *d.entry((switch.to_string(), reason)).or_default() += n;
}

/// Datapath: a controller's flow-mod took `t` to carry out in the kernel (translation and
/// the filters' netlink requests, until the kernel acknowledged them or refused).
pub(crate) fn flow_mod_installed(t: Duration) {
    INSTALLS.fetch_add(1, Ordering::Relaxed);
    let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
    INSTALL_NANOS.fetch_add(nanos, Ordering::Relaxed);
}

/// Datapath: local switch `switch` refused a `what` (flow_mod, meter_mod, ...) with `error`.
pub(crate) fn refused(switch: &str, what: &str, error: ofproto::OfpErrorCode) {
    let text = ofproto::v13::errors::describe_code(error);
    let name = text.split_whitespace().next().unwrap_or("").to_string();
    let mut r = REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    *r.entry((switch.to_string(), what.to_string(), name))
        .or_default() += 1;
}

/// Datapath: the psample socket's overrun count now.
pub(crate) fn psample_overruns(n: u64) {
    PSAMPLE_OVERRUNS.store(n, Ordering::Relaxed);
}

/// Datapath: its counts, for control's `MetricsRequest`.
pub(crate) fn dp_metrics() -> DpMetrics {
    let r = REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    DpMetrics {
        refusals: r
            .iter()
            .map(|((s, w, e), n)| (s.clone(), w.clone(), e.clone(), *n))
            .collect(),
        psample_overruns: PSAMPLE_OVERRUNS.load(Ordering::Relaxed),
        packet_in_drops: PACKET_IN_DROPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((s, why), n)| (s.clone(), why.to_string(), *n))
            .collect(),
        installs: INSTALLS.load(Ordering::Relaxed),
        install_nanos: INSTALL_NANOS.load(Ordering::Relaxed),
    }
}

/// Control: the datapath's answer to a scrape's request.
pub(crate) fn dp_answer(id: u64, m: DpMetrics) {
    if let Some(tx) = pending(|p| p.dp.remove(&id)) {
        let _ = tx.send(m);
    }
}

/// Control: a reload finished (`ok`: the new configuration runs).
pub(crate) fn reloaded(ok: bool) {
    RELOADS.fetch_add(1, Ordering::Relaxed);
    if ok {
        LOAD_ERROR.store(0, Ordering::Relaxed);
    } else {
        RELOAD_ERRORS.fetch_add(1, Ordering::Relaxed);
        LOAD_ERROR.store(1, Ordering::Relaxed);
    }
}

/// Control: ofp's answer to a scrape's request.
pub(crate) fn ofp_answer(id: u64, m: OfpMetrics) {
    if let Some(tx) = pending(|p| p.ofp.remove(&id)) {
        let _ = tx.send(m);
    }
}

/// Control: the parent's answer to a scrape's request.
pub(crate) fn proc_answer(id: u64, procs: Vec<ProcStat>) {
    if let Some(tx) = pending(|p| p.procs.remove(&id)) {
        let _ = tx.send(procs);
    }
}

/// Control: serve `GET /metrics` on the socket the parent sent (`fds`, one listener).
pub(crate) fn start(peers: Peers, address: String, mut fds: Vec<OwnedFd>) {
    let Some(fd) = fds.pop() else {
        tracing::warn!("BUG: metrics socket from parent without a descriptor");
        return;
    };
    let std = std::net::TcpListener::from(fd);
    let listener = match std
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(std))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("metrics on {address}: {e}");
            return;
        }
    };
    tracing::info!("serving metrics on http://{address}/metrics");
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("accept on metrics {address}: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let peers = peers.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(peers.clone(), req));
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("metrics connection: {e}");
                }
            });
        }
    });
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r
}

async fn answer(peers: Peers, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/metrics" {
        return Ok(text(
            StatusCode::NOT_FOUND,
            "switchd serves /metrics only\n",
        ));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n"));
    }
    let (ofp, procs, dp) = tokio::join!(ask_ofp(&peers), ask_parent(&peers), ask_dp(&peers));
    let reloads = encode::Reloads {
        requests: RELOADS.load(Ordering::Relaxed),
        errors: RELOAD_ERRORS.load(Ordering::Relaxed),
        load_error: LOAD_ERROR.load(Ordering::Relaxed),
    };
    match encode::encode(ofp.as_ref(), dp.as_ref(), &procs, &reloads) {
        Ok(body) => {
            let mut r = Response::new(Full::new(Bytes::from(body)));
            if let Ok(v) = hyper::header::HeaderValue::from_str(encode::CONTENT_TYPE) {
                r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
            }
            Ok(r)
        }
        Err(e) => Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode the metrics: {e}\n"),
        )),
    }
}

/// ofp's figures; `None` if it does not answer in time (the scrape still shows the rest).
async fn ask_ofp(peers: &Peers) -> Option<OfpMetrics> {
    let (tx, rx) = oneshot::channel();
    let id = pending(|p| {
        p.next_id += 1;
        p.ofp.insert(p.next_id, tx);
        p.next_id
    });
    peers.send(Role::Ofp, &Msg::MetricsRequest { id }).await;
    let got = tokio::time::timeout(ANSWER_WAIT, rx).await.ok()?.ok();
    if got.is_none() {
        pending(|p| p.ofp.remove(&id));
    }
    got
}

/// The datapath's counts; `None` if it does not answer in time.
async fn ask_dp(peers: &Peers) -> Option<DpMetrics> {
    let (tx, rx) = oneshot::channel();
    let id = pending(|p| {
        p.next_id += 1;
        p.dp.insert(p.next_id, tx);
        p.next_id
    });
    peers
        .send(Role::Datapath, &Msg::MetricsRequest { id })
        .await;
    let got = tokio::time::timeout(ANSWER_WAIT, rx).await.ok()?.ok();
    if got.is_none() {
        pending(|p| p.dp.remove(&id));
    }
    got
}

async fn ask_parent(peers: &Peers) -> Vec<ProcStat> {
    let (tx, rx) = oneshot::channel();
    let id = pending(|p| {
        p.next_id += 1;
        p.procs.insert(p.next_id, tx);
        p.next_id
    });
    peers
        .send(Role::Parent, &Msg::ProcStatsRequest { id })
        .await;
    match tokio::time::timeout(ANSWER_WAIT, rx).await {
        Ok(Ok(v)) => v,
        _ => {
            pending(|p| p.procs.remove(&id));
            Vec::new()
        }
    }
}

/// Parent: the listening socket of `metrics listen on` (it may be a privileged port).
pub(crate) fn open(addr: std::net::SocketAddr) -> std::io::Result<OwnedFd> {
    // std sets SO_REUSEADDR and close-on-exec.
    Ok(OwnedFd::from(std::net::TcpListener::bind(addr)?))
}

/// Parent: give control the metrics socket, after the rest of its setup (control picks it
/// up in its event loop). Our copy closes here.
pub(crate) fn send_socket(
    children: &[(Role, u32, OwnedFd)],
    socket: Option<(std::net::SocketAddr, OwnedFd)>,
) -> Result<(), crate::ipc::IpcError> {
    use std::os::fd::{AsFd, AsRawFd};
    let Some((addr, fd)) = socket else {
        return Ok(());
    };
    let Some((_, _, chan)) = children.iter().find(|(r, _, _)| *r == Role::Control) else {
        return Ok(());
    };
    crate::ipc::send_blocking(
        chan.as_fd(),
        &Msg::MetricsSocket {
            address: addr.to_string(),
        },
        &[fd.as_raw_fd()],
    )
}

/// Parent: every process's CPU time and memory (the children are chrooted without /proc).
pub(crate) fn proc_stats(children: &HashMap<Role, u32>) -> Vec<ProcStat> {
    let mut v: Vec<ProcStat> = proc_stat("parent", std::process::id())
        .into_iter()
        .collect();
    for (role, pid) in children {
        v.extend(proc_stat(role.name(), *pid));
    }
    v.sort_by(|a, b| a.process.cmp(&b.process));
    v
}

/// Parent: CPU time (user + system) and resident memory of `pid`, from /proc.
pub(crate) fn proc_stat(process: &str, pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold anything.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // proc(5): utime and stime are fields 14 and 15, rss 24; `rest` starts at field 3.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let rss: u64 = f.get(21)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let (tick, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if tick <= 0 || page <= 0 {
        return None;
    }
    Some(ProcStat {
        process: process.to_string(),
        cpu_seconds: (utime + stime) as f64 / tick as f64,
        resident_bytes: rss * page as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_has_cpu_time_and_memory() {
        let s = proc_stat("test", std::process::id()).expect("/proc/PID/stat reads");
        assert!(s.resident_bytes > 0);
        assert!(s.cpu_seconds >= 0.0);
        assert!(proc_stat("none", u32::MAX).is_none());
    }
}
