//! The socket side of a switch session: bytes and time go into the [`Session`], its output
//! goes to the socket, its events to the switch registry and to `switchctl monitor`.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::flowtext::FlowRow;
use super::portcount::PortCounters;
use super::registry::{
    event, lock, now_ms, static_flow_at, static_flows, Cmd, FlowModError, Shared, Snapshot,
    SwitchHandle,
};
use super::session::{CloseReason, Session, SessionEvent};
use crate::child::Peers;
use crate::ctlproto::EventKind;
use crate::endpoint::pump::Pump;
use crate::endpoint::stream::Stream;

/// Reading stops while this much output waits: a switch that sends faster than it reads
/// our answers is slowed down by TCP flow control instead of filling the write queue
/// (`session::WRITE_QUEUE_MAX`, which would close it). One read's worth of answers is at
/// most a few times `READ_CHUNK`, so the queue stays well below that limit.
const READ_PAUSE: usize = 256 * 1024;

pub(crate) fn dpid_text(dpid: u64) -> String {
    format!("{dpid:016x}")
}

/// What kind of switch a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Local {
    /// A switch that connected to a listener.
    No,
    /// A local bridge, whose table-miss flow the datapath process installs from the
    /// configuration.
    Yes,
    /// A local bridge forwarded to a remote controller: the connection only looks.
    Observe,
}

/// Run one switch connection to its end.
pub(crate) async fn run(
    state: Shared,
    peers: Peers,
    listener: String,
    peer: String,
    id: u64,
    stream: Stream,
    local: Local,
) {
    let cfg = lock(&state).session_config;
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<Cmd>(16);
    let mut s = Session::new(cfg, Instant::now());
    match local {
        Local::No => {}
        Local::Yes => s.set_local(),
        Local::Observe => s.set_observe(),
    }
    let mut pump = Pump::new(stream, "peer".into());
    let mut stats: HashMap<u32, oneshot::Sender<Result<Vec<FlowRow>, String>>> = HashMap::new();
    let mut port_stats: HashMap<u32, oneshot::Sender<Result<Vec<PortCounters>, String>>> =
        HashMap::new();
    let mut mods: HashMap<u32, oneshot::Sender<Result<(), FlowModError>>> = HashMap::new();
    let mut dpid: Option<u64> = None;
    let reason: CloseReason = loop {
        while let Some(ev) = s.poll_event() {
            match ev {
                SessionEvent::Connected {
                    datapath_id,
                    version,
                } => {
                    dpid = Some(datapath_id);
                    super::metrics::connected(datapath_id);
                    // Registered and given its static flows under one lock: a reload either
                    // came before (and these are its flows) or finds this switch.
                    let (old, flows) = {
                        let mut st = lock(&state);
                        let flows = static_flows(&st, datapath_id);
                        let old = st.switches.insert(
                            datapath_id,
                            SwitchHandle {
                                conn: id,
                                peer: peer.clone(),
                                version,
                                since_ms: now_ms(),
                                cmd: cmd_tx.clone(),
                            },
                        );
                        (old, flows)
                    };
                    s.install_static_flows(flows);
                    if let Some(old) = old.filter(|o| o.conn != id) {
                        // The same switch again (it restarted, or its old TCP connection
                        // has not timed out yet): the new connection wins.
                        let _ = old.cmd.try_send(Cmd::Close(format!(
                            "replaced by a new connection from {peer}"
                        )));
                    }
                    tracing::info!(
                        "switch {} connected from {peer}, OpenFlow {}",
                        dpid_text(datapath_id),
                        version.name()
                    );
                    event(
                        &peers,
                        EventKind::SwitchConnected {
                            switch: dpid_text(datapath_id),
                            peer: peer.clone(),
                            version: version.name().into(),
                        },
                    )
                    .await;
                }
                SessionEvent::PortStatus { change, port } => {
                    let sw = dpid.map(dpid_text).unwrap_or_default();
                    tracing::info!(
                        "switch {sw}: port {} ({}) {}, {}",
                        port.port_no,
                        port.name,
                        change.name(),
                        if port.is_up() { "up" } else { "down" }
                    );
                    event(
                        &peers,
                        EventKind::PortStatus {
                            switch: sw,
                            port: port.port_no,
                            name: port.name.clone(),
                            change: change.name().into(),
                            state: if port.is_up() { "up" } else { "down" }.into(),
                        },
                    )
                    .await;
                }
                SessionEvent::FlowStats { xid, result } => {
                    if let Some(tx) = stats.remove(&xid) {
                        let _ = tx.send(result);
                    }
                }
                SessionEvent::PortStats { xid, result } => {
                    if let Some(tx) = port_stats.remove(&xid) {
                        let _ = tx.send(result);
                    }
                }
                SessionEvent::FlowModDone { xid, result } => {
                    if let Some(tx) = mods.remove(&xid) {
                        let _ = tx.send(result.map_err(FlowModError::Refused));
                    }
                }
                SessionEvent::StaticFlowFailed { flow, error } => {
                    let sw = dpid.map(dpid_text).unwrap_or_default();
                    let at = dpid.and_then(|d| static_flow_at(&lock(&state), d, &flow));
                    let at = at.map(|a| a + ": ").unwrap_or_default();
                    tracing::warn!("{at}switch {sw} refused static flow \"{flow}\": {error}");
                    event(
                        &peers,
                        EventKind::FlowRefused {
                            switch: sw,
                            flow,
                            error,
                        },
                    )
                    .await;
                }
            }
        }
        if let Some(r) = s.close_reason() {
            let r = r.clone();
            pump.finish(&r, s.output()).await;
            break r;
        }
        let deadline = s.poll_timeout();
        tokio::select! {
            r = pump.ready(s.output().len() < READ_PAUSE, !s.output().is_empty()) => {
                pump.transfer(r, &mut s)
            }
            _ = sleep_until(deadline) => s.handle_timeout(Instant::now()),
            cmd = cmd_rx.recv() => match cmd {
                Some(Cmd::Snapshot(tx)) => {
                    let now = Instant::now();
                    let _ = tx.send(Snapshot {
                        ports: s.ports().cloned().collect(),
                        macs: s.macs(now),
                        counts: s.counts(),
                    });
                }
                Some(Cmd::FlowStats(tx)) => match s.request_flow_stats() {
                    Some(xid) => {
                        stats.insert(xid, tx);
                    }
                    None => {
                        let _ = tx.send(Err("the switch is not ready".into()));
                    }
                },
                Some(Cmd::PortStats(tx)) => match s.request_port_stats() {
                    Some(xid) => {
                        port_stats.insert(xid, tx);
                    }
                    None => {
                        let _ = tx.send(Err("the switch is not ready".into()));
                    }
                },
                Some(Cmd::Close(why)) => s.close(why),
                Some(Cmd::Config(cfg)) => s.reconfigure(cfg),
                Some(Cmd::FlowMod { command, flow, reply }) => match s.flow_mod(command, &flow) {
                    Ok(xid) => {
                        mods.insert(xid, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(FlowModError::NotSent(e)));
                    }
                },
                Some(Cmd::StaticFlows(flows)) => s.set_static_flows(flows),
                // We hold a sender ourselves, so the channel never closes under us.
                None => {}
            },
        }
    };
    // Unregister, unless a newer connection of the same switch already took its place.
    if let Some(d) = dpid {
        let mut st = lock(&state);
        if st.switches.get(&d).is_some_and(|h| h.conn == id) {
            st.switches.remove(&d);
        }
    }
    for (_, tx) in stats {
        let _ = tx.send(Err("the switch disconnected".into()));
    }
    for (_, tx) in mods {
        let _ = tx.send(Err(FlowModError::NotSent(
            "the switch disconnected before it answered".into(),
        )));
    }
    if let Some(l) = lock(&state).listeners.get_mut(&listener) {
        l.conns.remove(&id);
    }
    match &reason {
        CloseReason::Dead(_) => tracing::warn!("connection from {peer} on {listener}: {reason}"),
        CloseReason::Malformed(_) | CloseReason::QueueFull { .. } => {
            tracing::warn!("connection from {peer} on {listener} closed: {reason}")
        }
        _ => tracing::info!("connection from {peer} on {listener} closed: {reason}"),
    }
    if let Some(d) = dpid {
        super::metrics::disconnected(d);
        let kind = match &reason {
            CloseReason::Dead(silent) => EventKind::SwitchDead {
                switch: dpid_text(d),
                peer: peer.clone(),
                silent_secs: silent.as_secs(),
            },
            other => EventKind::SwitchDisconnected {
                switch: dpid_text(d),
                peer: peer.clone(),
                reason: other.to_string(),
            },
        };
        event(&peers, kind).await;
    } else {
        tracing::debug!("connection from {peer} ended before the handshake");
    }
    event(
        &peers,
        EventKind::ConnectionClosed {
            listener,
            peer,
            reason: reason.to_string(),
        },
    )
    .await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
