//! ofp's part of a Prometheus scrape (see `crate::metrics`): every connected switch's
//! message counts, learned MACs, port counters and flow-table totals (the last two asked of
//! the switch, which counts them: for a local switch, the kernel), and the handshakes and
//! losses of every switch seen since ofp started.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

use super::registry::{lock, Cmd, Shared, State, SwitchHandle};
use crate::child::Peers;
use crate::metrics::{DpEvents, OfpMetrics, PortMetrics, SwitchMetrics};
use crate::msg::{Msg, Role};

/// OFPT_PACKET_IN, OFPT_ERROR and OFPT_FLOW_MOD: the same numbers in 1.0 and 1.3.
const PACKET_IN: usize = 10;
const ERROR: usize = 1;
const FLOW_MOD: usize = 14;

/// How long one switch may take over its stats for a scrape.
const STATS_WAIT: Duration = Duration::from_secs(3);

/// Handshakes completed and connections lost, by datapath id.
static DP_EVENTS: Mutex<BTreeMap<u64, (u64, u64)>> = Mutex::new(BTreeMap::new());

fn dp_events() -> std::sync::MutexGuard<'static, BTreeMap<u64, (u64, u64)>> {
    DP_EVENTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// TLS handshakes that failed, by listener.
static TLS_FAILURES: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

pub(super) fn tls_failed(listener: &str) {
    let mut t = TLS_FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    *t.entry(listener.to_string()).or_default() += 1;
}

pub(super) fn connected(dpid: u64) {
    dp_events().entry(dpid).or_default().0 += 1;
}

pub(super) fn disconnected(dpid: u64) {
    dp_events().entry(dpid).or_default().1 += 1;
}

/// The switch's name: the configured one for its datapath id, a local switch's own, or "".
fn name(st: &State, dpid: u64, peer: Option<&str>) -> String {
    if let Some(s) = st.configured.iter().find(|s| s.datapath_id == Some(dpid)) {
        return s.name.clone();
    }
    peer.and_then(|p| {
        p.strip_prefix("local:")
            .or_else(|| p.strip_prefix("forwarded:"))
    })
    .unwrap_or("")
    .to_string()
}

async fn ask<T>(h: &SwitchHandle, cmd: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    h.cmd.try_send(cmd(tx)).ok()?;
    tokio::time::timeout(STATS_WAIT, rx).await.ok()?.ok()
}

async fn one(dpid: u64, name: String, h: &SwitchHandle) -> Option<SwitchMetrics> {
    let snap = ask(h, Cmd::Snapshot).await?;
    let mut m = SwitchMetrics {
        dp_id: dpid,
        name,
        packet_ins: snap.counts.received[PACKET_IN],
        errors: snap.counts.received[ERROR],
        flowmsgs_sent: snap.counts.sent[FLOW_MOD],
        macs: snap
            .macs
            .iter()
            .map(|(mac, port, _)| (mac.to_string(), *port))
            .collect(),
        ..Default::default()
    };
    let names: BTreeMap<u32, String> = snap
        .ports
        .iter()
        .map(|p| (p.port_no, p.name.clone()))
        .collect();
    if let Some(Ok(counters)) = ask(h, Cmd::PortStats).await {
        m.ports = counters
            .into_iter()
            .map(|c| PortMetrics {
                port_no: c.port_no,
                name: names.get(&c.port_no).cloned().unwrap_or_default(),
                rx_packets: c.rx_packets,
                rx_bytes: c.rx_bytes,
                rx_dropped: c.rx_dropped,
                rx_errors: c.rx_errors,
                tx_packets: c.tx_packets,
                tx_bytes: c.tx_bytes,
                tx_dropped: c.tx_dropped,
                tx_errors: c.tx_errors,
            })
            .collect();
    }
    if let Some(Ok(flows)) = ask(h, Cmd::FlowStats).await {
        let mut tables: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
        for f in flows {
            let t = tables.entry(f.table).or_default();
            t.0 += 1;
            t.1 = t.1.saturating_add(f.packets);
            t.2 = t.2.saturating_add(f.bytes);
        }
        m.tables = tables
            .into_iter()
            .map(|(t, (n, p, b))| (t, n, p, b))
            .collect();
    }
    Some(m)
}

/// Answer control's `MetricsRequest`.
pub(super) async fn gather(state: Shared, peers: Peers, id: u64) {
    let (handles, names) = {
        let st = lock(&state);
        let handles: Vec<(u64, SwitchHandle, String)> = st
            .switches
            .iter()
            .map(|(d, h)| (*d, h.clone(), name(&st, *d, Some(&h.peer))))
            .collect();
        let names: BTreeMap<u64, String> = dp_events()
            .keys()
            .map(|d| (*d, name(&st, *d, None)))
            .collect();
        (handles, names)
    };
    let mut metrics = OfpMetrics::default();
    for (dpid, h, name) in &handles {
        if let Some(m) = one(*dpid, name.clone(), h).await {
            metrics.switches.push(m);
        }
    }
    metrics.dp_events = dp_events()
        .iter()
        .map(|(d, (c, x))| DpEvents {
            dp_id: *d,
            name: handles
                .iter()
                .find(|(hd, _, _)| hd == d)
                .map(|(_, _, n)| n.clone())
                .or_else(|| names.get(d).cloned())
                .unwrap_or_default(),
            connections: *c,
            disconnections: *x,
        })
        .collect();
    metrics.tls_failures = TLS_FAILURES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(l, n)| (l.clone(), *n))
        .collect();
    peers
        .send(Role::Control, &Msg::MetricsReply { id, metrics })
        .await;
}
