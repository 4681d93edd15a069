//! The ofp process: OpenFlow sessions with switches, and the learning switch.
//!
//! - `session.rs` (and `session/`): one session, sans-IO (features, ports, flow stats,
//!   switchctl's flow-mods; `ofp13.rs` and `ofp10.rs` per version, `static_flows.rs`); the
//!   framing, HELLO, echoes and output queue are `crate::endpoint`'s;
//! - `learning.rs`: the learning switch, an application beside the session (its policy and
//!   the MAC table of one switch);
//! - `conn.rs`: the socket loop around a session (over `crate::endpoint::pump`);
//! - `registry.rs`: the listeners, the connected switches and what reaches their sessions;
//! - `fast13.rs`: the learning switch's OpenFlow 1.3 hot path on bytes;
//! - `flowtext.rs`: flow entries as text for `switchctl show flows`;
//! - `errtext.rs`: OFPT_ERROR messages as the operator reads them;
//! - here: the process entry, listeners, and the tables `switchctl show` asks for.

mod conn;
mod errtext;
mod fast13;
mod flowtext;
mod learning;
mod metrics;
mod portcount;
mod registry;
mod session;
mod unenforced;

use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caps::Capability;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::child::{self, Input, Peers, Setup};
use crate::ctlproto::{EventKind, FlowCommand, ListenerSummary, Table, TableKind};
use crate::log;
use crate::msg::{self, Msg, Role, RuntimeConfig};
use conn::dpid_text;
use registry::{event, lock, static_flows, Cmd, Conn, FlowModError, Shared, State, SwitchHandle};
use session::SessionConfig;

/// No capabilities at all.
pub(crate) const KEEP_CAPS: &[Capability] = &[];

fn session_config(c: &RuntimeConfig) -> SessionConfig {
    SessionConfig {
        echo_interval: Duration::from_secs(c.echo_interval.into()),
        mac_timeout: c.timeout,
        cache: c.cache,
    }
}

/// The ofp process.
pub(crate) async fn ofp(setup: Setup) -> i32 {
    // May do (enforced before this function runs, see child.rs):
    // - user `_switchd`, chrooted to the empty directory, no capabilities, no_new_privs:
    //   this process parses untrusted input from the network, so a compromise must yield
    //   nothing: no files, no privilege, no kernel configuration;
    // - accept connections on listening sockets the parent opened (it cannot bind any
    //   itself: ports below 1024 would need privilege, and the set is the parent's to say);
    // - talks to parent (listeners, config, verbosity), control (counts, events) and
    //   datapath (local bridges: OpenFlow over a socketpair it sends per local switch).
    let Some((peers, mut rx, mut term)) = child::start_channels(setup.parent, setup.peers) else {
        return 1;
    };
    let state: Shared = Arc::new(Mutex::new(State {
        listeners: HashMap::new(),
        next_conn: 0,
        session_config: session_config(&setup.init.config),
        switches: BTreeMap::new(),
        configured: setup.init.config.switches.clone(),
        notes: HashMap::new(),
        unenforced: BTreeMap::new(),
    }));
    for (name, fd) in setup.listeners {
        add_listener(&state, &peers, name, fd);
    }
    tracing::info!("started");
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => return 0,
            input = rx.recv() => match input {
                Some(Input::Msg(from, m, fds)) => match from {
                    Role::Parent => dispatch_parent(&state, &peers, m, fds).await,
                    Role::Control => dispatch_control(&state, &peers, m).await,
                    Role::Datapath => dispatch_datapath(&state, &peers, m, fds),
                    Role::Ofp => msg::unexpected(from, &m),
                },
                Some(Input::Closed(role)) => {
                    if let Some(status) = child::channel_closed(role) {
                        return status;
                    }
                }
                None => return 1,
            },
        }
    }
}

async fn dispatch_parent(state: &Shared, peers: &Peers, m: Msg, mut fds: Vec<OwnedFd>) {
    match m {
        Msg::ListenerAdd { listener } => match (fds.pop(), fds.is_empty()) {
            (Some(fd), true) => {
                add_listener(state, peers, listener.clone(), fd);
                event(peers, EventKind::ListenerAdded { listener }).await;
            }
            _ => tracing::warn!("BUG: listener_add from parent without exactly one descriptor"),
        },
        Msg::ListenerRemove { listener } => {
            remove_listener(state, peers, &listener, "listener removed").await;
            event(peers, EventKind::ListenerRemoved { listener }).await;
        }
        Msg::ListenerSwap { from, to } => swap_listener(state, peers, from, to).await,
        Msg::Barrier { id } => peers.send(Role::Parent, &Msg::BarrierAck { id }).await,
        Msg::Verbose { verbose } => log::set_verbose(verbose),
        Msg::Tls { material } => crate::tls::install(crate::tls::Side::Server, material.as_ref()),
        Msg::Config(c) => {
            tracing::debug!("new configuration: {c:?}");
            let cfg = session_config(&c);
            let mut st = lock(state);
            st.session_config = cfg;
            st.configured = c.switches;
            for h in st.switches.values() {
                let _ = h.cmd.try_send(Cmd::Config(cfg));
            }
            // Every connected switch gets its (possibly unchanged) static flows; the session
            // applies the difference. Sent from a task: a busy session must not lose it.
            let updates: Vec<(mpsc::Sender<Cmd>, Vec<String>)> = st
                .switches
                .iter()
                .map(|(d, h)| (h.cmd.clone(), static_flows(&st, *d)))
                .collect();
            drop(st);
            tokio::spawn(async move {
                for (tx, flows) in updates {
                    let _ = tx.send(Cmd::StaticFlows(flows)).await;
                }
            });
        }
        other => msg::unexpected(Role::Parent, &other),
    }
}

async fn dispatch_control(state: &Shared, peers: &Peers, m: Msg) {
    match m {
        Msg::ConnCountsRequest { id } => {
            let mut listeners: Vec<ListenerSummary> = lock(state)
                .listeners
                .iter()
                .map(|(name, l)| ListenerSummary {
                    address: name.clone(),
                    connections: l.conns.len() as u32,
                })
                .collect();
            listeners.sort_by(|a, b| a.address.cmp(&b.address));
            peers
                .send(Role::Control, &Msg::ConnCounts { id, listeners })
                .await;
        }
        Msg::MetricsRequest { id } => {
            tokio::spawn(metrics::gather(state.clone(), peers.clone(), id));
        }
        Msg::ShowRequest { id, table, switch } => {
            // Answered from a task of its own: flow stats wait for the switches.
            tokio::spawn(show(state.clone(), peers.clone(), id, table, switch));
        }
        Msg::FlowRequest {
            id,
            switch,
            command,
            flow,
        } => {
            tokio::spawn(flow_request(
                state.clone(),
                peers.clone(),
                id,
                switch,
                command,
                flow,
            ));
        }
        other => msg::unexpected(Role::Control, &other),
    }
}

fn dispatch_datapath(state: &Shared, peers: &Peers, m: Msg, mut fds: Vec<OwnedFd>) {
    match m {
        Msg::Pong { .. } => {}
        Msg::LocalSwitch { name, observe } => match (fds.pop(), fds.is_empty()) {
            (Some(fd), true) => local_switch(state, peers, name, observe, fd),
            _ => tracing::warn!("BUG: local_switch from datapath without exactly one descriptor"),
        },
        Msg::SwitchNotes { name, notes } => {
            let mut st = lock(state);
            if notes.is_empty() {
                st.notes.remove(&name);
            } else {
                st.notes.insert(name, notes);
            }
        }
        Msg::Unenforced {
            name,
            datapath_id,
            ports,
            note,
        } => unenforced::update(&mut lock(state).unenforced, name, datapath_id, ports, note),
        other => msg::unexpected(Role::Datapath, &other),
    }
}

/// The listener name of the connections of local switches (socketpairs from datapath).
const LOCAL: &str = "local";
/// The peer prefix of local switches forwarded to a remote controller (`forward to`).
const FORWARDED: &str = "forwarded";

/// Run a switch connection on the socketpair the datapath process sent for local switch
/// `name`: a switch like any other, shown with peer `local:NAME`. `observe`: the switch is
/// forwarded to a remote controller, and this connection only looks.
fn local_switch(state: &Shared, peers: &Peers, name: String, observe: bool, fd: OwnedFd) {
    let std_stream = std::os::unix::net::UnixStream::from(fd);
    let stream = match std_stream
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(std_stream))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("local switch {name}: {e}");
            return;
        }
    };
    let id = {
        let mut st = lock(state);
        st.next_conn += 1;
        st.next_conn
    };
    // A forwarded switch shows as such: its flows are its remote controller's.
    let peer = format!("{}:{name}", if observe { FORWARDED } else { LOCAL });
    tracing::debug!("connection from {peer}");
    tokio::spawn(conn::run(
        state.clone(),
        peers.clone(),
        LOCAL.to_string(),
        peer,
        id,
        stream.into(),
        if observe {
            conn::Local::Observe
        } else {
            conn::Local::Yes
        },
    ));
}

fn add_listener(state: &Shared, peers: &Peers, name: String, fd: OwnedFd) {
    let std_listener = std::net::TcpListener::from(fd);
    let listener = match std_listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(std_listener))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("listener {name}: {e}");
            return;
        }
    };
    tracing::info!("listening on {name}");
    start_accepting(state, peers, name, Arc::new(listener));
}

fn start_accepting(state: &Shared, peers: &Peers, name: String, listener: Arc<TcpListener>) {
    let task = tokio::spawn(accept_loop(
        state.clone(),
        peers.clone(),
        name.clone(),
        listener.clone(),
    ));
    let mut st = lock(state);
    let entry = st.listeners.entry(name).or_default();
    entry.socket = Some(listener);
    if let Some(old) = entry.accept.replace(task) {
        old.abort();
    }
}

/// Listener `from` becomes `to`, the same address with TLS turned on or off: its socket
/// stays open (the parent could not open a second one on the address), so nothing
/// knocking meanwhile is refused, and the connections that came in on `from` are closed,
/// as for a listener removed: they were accepted under the other setting.
async fn swap_listener(state: &Shared, peers: &Peers, from: String, to: String) {
    let socket = lock(state)
        .listeners
        .get(&from)
        .and_then(|l| l.socket.clone());
    let Some(socket) = socket else {
        tracing::warn!("BUG: parent swapped listener {from}, which we do not have");
        return;
    };
    let why = format!("listener changed to {to}");
    remove_listener(state, peers, &from, &why).await;
    event(peers, EventKind::ListenerRemoved { listener: from }).await;
    tracing::info!("listening on {to}");
    start_accepting(state, peers, to.clone(), socket);
    event(peers, EventKind::ListenerAdded { listener: to }).await;
}

/// Stop listening on `name` and close the connections that came in on it: the operator
/// removed that address, and a switch that should still be driven will reconnect to an
/// address that is configured. Connections on listeners that stay are not touched.
async fn remove_listener(state: &Shared, peers: &Peers, name: &str, reason: &str) {
    let Some(l) = lock(state).listeners.remove(name) else {
        tracing::warn!("BUG: parent removed listener {name}, which we do not have");
        return;
    };
    // Awaiting an aborted task returns once its future has been dropped: the socket is
    // closed by then, so the parent's barrier after this message means "done".
    if let Some(t) = l.accept {
        t.abort();
        let _ = t.await;
    }
    tracing::info!("no longer listening on {name}");
    for (id, c) in l.conns {
        c.task.abort();
        let _ = c.task.await;
        lock(state).switches.retain(|_, h| h.conn != id);
        tracing::info!("closed connection from {} on {name}: {reason}", c.peer);
        event(
            peers,
            EventKind::ConnectionClosed {
                listener: name.to_string(),
                peer: c.peer,
                reason: reason.into(),
            },
        )
        .await;
    }
}

async fn accept_loop(state: Shared, peers: Peers, name: String, listener: Arc<TcpListener>) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                tracing::warn!("accept on {name}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let peer = addr.to_string();
        let id = {
            let mut st = lock(&state);
            st.next_conn += 1;
            st.next_conn
        };
        tracing::info!("connection from {peer} on {name}");
        // Registered before the task can run (single-threaded runtime, no await in
        // between), so its removal always finds it.
        let task = tokio::spawn(session(
            state.clone(),
            peers.clone(),
            name.clone(),
            peer.clone(),
            id,
            stream,
        ));
        if let Some(l) = lock(&state).listeners.get_mut(&name) {
            l.conns.insert(
                id,
                Conn {
                    peer: peer.clone(),
                    task,
                },
            );
        }
        event(
            &peers,
            EventKind::ConnectionOpened {
                listener: name.clone(),
                peer,
            },
        )
        .await;
    }
}

async fn session(
    state: Shared,
    peers: Peers,
    listener: String,
    peer: String,
    id: u64,
    stream: tokio::net::TcpStream,
) {
    let _ = stream.set_nodelay(true);
    let stream = if listener.starts_with(crate::config::TLS_PREFIX) {
        match crate::tls::accept(stream) {
            Ok(mut t) => match t.handshake().await {
                Ok(()) => t.into(),
                Err(why) => return tls_refused(&state, &peers, &listener, &peer, id, why).await,
            },
            Err(why) => return tls_refused(&state, &peers, &listener, &peer, id, why).await,
        }
    } else {
        stream.into()
    };
    conn::run(state, peers, listener, peer, id, stream, conn::Local::No).await
}

/// A TLS handshake that failed: logged with the peer and why, and only this connection
/// is gone.
async fn tls_refused(
    state: &Shared,
    peers: &Peers,
    listener: &str,
    peer: &str,
    id: u64,
    why: String,
) {
    metrics::tls_failed(listener);
    tracing::warn!("connection from {peer} on {listener} refused: TLS handshake: {why}");
    if let Some(l) = lock(state).listeners.get_mut(listener) {
        l.conns.remove(&id);
    }
    event(
        peers,
        EventKind::ConnectionClosed {
            listener: listener.to_string(),
            peer: peer.to_string(),
            reason: format!("TLS handshake: {why}"),
        },
    )
    .await;
}

/// How long `show flows` waits for a switch's flow-stats reply.
const FLOW_STATS_WAIT: Duration = Duration::from_secs(3);
/// Rows per IPC frame: well below `ipc::MAX_FRAME` once serialized.
const SHOW_CHUNK_BYTES: usize = 32 * 1024;

/// The connected switches that `arg` names: a configured switch name, a datapath id, or a
/// peer address (see [`switch_matches`]).
fn find_switches(st: &State, arg: &str) -> Vec<(u64, SwitchHandle)> {
    let by_name = st
        .configured
        .iter()
        .find(|s| s.name == arg)
        .and_then(|s| s.datapath_id);
    st.switches
        .iter()
        // A local switch's datapath id may be derived from its bridge, so it is also found
        // by its name in its peer (`local:NAME`, `forwarded:NAME`).
        .filter(|(d, h)| {
            by_name == Some(**d)
                || h.peer.strip_prefix("local:") == Some(arg)
                || h.peer.strip_prefix("forwarded:") == Some(arg)
                || switch_matches(arg, **d, &h.peer)
        })
        .map(|(d, h)| (*d, h.clone()))
        .collect()
}

/// How long a switch may take to answer the barrier behind a switchctl flow-mod.
const FLOW_MOD_WAIT: Duration = Duration::from_secs(5);

/// `switchctl add flow` / `del flow`: the flow-mod and its barrier through the switch's
/// session; the answer (and a monitor event) once the switch has answered.
async fn flow_request(
    state: Shared,
    peers: Peers,
    id: u64,
    switch: String,
    command: FlowCommand,
    flow: String,
) {
    let found = find_switches(&lock(&state), &switch);
    let result = match found.first() {
        None => Err(format!("no switch {switch} is connected")),
        Some((dpid, h)) => {
            let sw = dpid_text(*dpid);
            let (tx, rx) = oneshot::channel();
            let cmd = Cmd::FlowMod {
                command,
                flow: flow.clone(),
                reply: tx,
            };
            match h.cmd.send(cmd).await {
                Err(_) => Err(format!("switch {sw} disconnected")),
                Ok(()) => match tokio::time::timeout(FLOW_MOD_WAIT, rx).await {
                    Ok(Ok(Ok(()))) => Ok(sw),
                    Ok(Ok(Err(FlowModError::Refused(e)))) => {
                        Err(format!("switch {sw} refused the flow: {e}"))
                    }
                    Ok(Ok(Err(FlowModError::NotSent(e)))) => Err(format!("switch {sw}: {e}")),
                    Ok(Err(_)) => Err(format!("switch {sw} disconnected")),
                    Err(_) => Err(format!(
                        "switch {sw} did not answer the barrier within {} s",
                        FLOW_MOD_WAIT.as_secs()
                    )),
                },
            }
        }
    };
    let error = match result {
        Ok(sw) => {
            tracing::info!(
                "switch {sw}: {} {flow}",
                match command {
                    FlowCommand::Add => "flow added by switchctl:",
                    FlowCommand::Delete => "flows deleted by switchctl:",
                }
            );
            let kind = match command {
                FlowCommand::Add => EventKind::FlowAdded { switch: sw, flow },
                FlowCommand::Delete => EventKind::FlowDeleted { switch: sw, flow },
            };
            event(&peers, kind).await;
            None
        }
        Err(e) => {
            tracing::info!("switchctl flow request for {switch}: {e}");
            Some(e)
        }
    };
    peers
        .send(Role::Control, &Msg::FlowResult { id, error })
        .await;
}

/// Whether `arg` (as `switchctl show TABLE SWITCH` gives it) names switch `dpid`: its
/// datapath id in hex (with or without `0x` and colons), or its peer address.
fn switch_matches(arg: &str, dpid: u64, peer: &str) -> bool {
    let hex: String = arg
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    u64::from_str_radix(&hex, 16).ok() == Some(dpid) || arg == peer
}

/// `YYYY-MM-DD HH:MM:SS` UTC (this process is chrooted away from the time zone files).
/// The notes column of `show switches`: what the datapath says about a local switch
/// (peer `local:NAME` or `forwarded:NAME`), `-` for nothing or an external switch.
fn switch_notes(st: &State, peer: &str) -> String {
    let name = peer
        .strip_prefix(LOCAL)
        .or_else(|| peer.strip_prefix(FORWARDED))
        .and_then(|rest| rest.strip_prefix(':'));
    match name.and_then(|n| st.notes.get(n)) {
        Some(notes) if !notes.is_empty() => notes.join("; "),
        _ => "-".into(),
    }
}

pub(crate) fn utc_text(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The switch's port counters by port number (none if it does not answer in time).
async fn port_counters(h: &SwitchHandle) -> BTreeMap<u32, portcount::PortCounters> {
    let (tx, rx) = oneshot::channel();
    if h.cmd.try_send(Cmd::PortStats(tx)).is_err() {
        return BTreeMap::new();
    }
    match tokio::time::timeout(FLOW_STATS_WAIT, rx).await {
        Ok(Ok(Ok(c))) => c.into_iter().map(|c| (c.port_no, c)).collect(),
        _ => BTreeMap::new(),
    }
}

async fn show(state: Shared, peers: Peers, id: u64, table: TableKind, switch: Option<String>) {
    let handles: Vec<(u64, SwitchHandle)> = {
        let st = lock(&state);
        match switch.as_deref() {
            Some(a) => find_switches(&st, a),
            None => st.switches.iter().map(|(d, h)| (*d, h.clone())).collect(),
        }
    };
    let mut error = None;
    let mut rows: Vec<Vec<String>> = Vec::new();
    if table == TableKind::Switches {
        let st = lock(&state);
        rows = unenforced::rows(&st.unenforced, switch.as_deref(), switch_matches);
    }
    if let (Some(a), true, true) = (&switch, handles.is_empty(), rows.is_empty()) {
        error = Some(format!("no switch {a} is connected"));
    }
    for (dpid, h) in &handles {
        let sw = dpid_text(*dpid);
        match table {
            TableKind::Switches | TableKind::Ports | TableKind::Macs => {
                let (tx, rx) = oneshot::channel();
                if h.cmd.try_send(Cmd::Snapshot(tx)).is_err() {
                    continue;
                }
                let Ok(Ok(snap)) = tokio::time::timeout(Duration::from_secs(2), rx).await else {
                    continue;
                };
                match table {
                    TableKind::Switches => rows.push(vec![
                        sw,
                        h.peer.clone(),
                        h.version.name().into(),
                        snap.ports.len().to_string(),
                        utc_text(h.since_ms),
                        switch_notes(&lock(&state), &h.peer),
                    ]),
                    TableKind::Ports => {
                        let counters = port_counters(h).await;
                        for p in snap.ports {
                            let up = p.is_up();
                            let mut row = vec![
                                sw.clone(),
                                ofproto::text::print_port(p.port_no),
                                p.name,
                                p.hw_addr.to_string(),
                                if up { "up" } else { "down" }.into(),
                            ];
                            match counters.get(&p.port_no) {
                                Some(c) => row.extend(c.cells()),
                                None => row.extend(std::iter::repeat_n("-".to_string(), 12)),
                            }
                            rows.push(row);
                        }
                    }
                    _ => {
                        for (mac, port, age) in snap.macs {
                            rows.push(vec![
                                sw.clone(),
                                port.to_string(),
                                mac.to_string(),
                                "-".into(),
                                age.as_secs().to_string(),
                            ]);
                        }
                    }
                }
            }
            TableKind::Flows | TableKind::OvsFlows => {
                let (tx, rx) = oneshot::channel();
                if h.cmd.try_send(Cmd::FlowStats(tx)).is_err() {
                    error = Some(format!("switch {sw} is busy"));
                    continue;
                }
                match tokio::time::timeout(FLOW_STATS_WAIT, rx).await {
                    Ok(Ok(Ok(flows))) if table == TableKind::OvsFlows => {
                        rows.extend(flows.into_iter().map(|f| flowtext::ovs_cells(&sw, f)));
                    }
                    Ok(Ok(Ok(flows))) => {
                        for f in flows {
                            rows.push(vec![
                                sw.clone(),
                                f.table.to_string(),
                                f.priority.to_string(),
                                format!("0x{:x}", f.cookie),
                                f.match_text,
                                f.actions_text,
                                f.packets.to_string(),
                                f.bytes.to_string(),
                            ]);
                        }
                    }
                    Ok(Ok(Err(e))) => error = Some(format!("switch {sw}: {e}")),
                    _ => error = Some(format!("switch {sw} did not answer the flow-stats request")),
                }
            }
            // Answered by the control process (refusals, networks) and the datapath
            // (conntrack).
            TableKind::Refusals | TableKind::Conntrack | TableKind::Networks => {}
        }
    }
    // Chunks that each fit an IPC frame; `more` on all but the last.
    let mut chunks: Vec<Vec<Vec<String>>> = vec![Vec::new()];
    let mut size = 0;
    for r in rows {
        let n = serde_json::to_string(&r).map(|s| s.len()).unwrap_or(0);
        if size + n > SHOW_CHUNK_BYTES && chunks.last().is_some_and(|c| !c.is_empty()) {
            chunks.push(Vec::new());
            size = 0;
        }
        size += n;
        if let Some(c) = chunks.last_mut() {
            c.push(r);
        }
    }
    let last = chunks.len() - 1;
    for (i, c) in chunks.into_iter().enumerate() {
        let mut t = Table::empty(table);
        t.rows = c;
        peers
            .send(
                Role::Control,
                &Msg::ShowReply {
                    id,
                    table: t,
                    error: if i == last { error.clone() } else { None },
                    more: i != last,
                },
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_named_by_datapath_id_or_peer() {
        let d = 0x0000_aabb_ccdd_eeff;
        assert!(switch_matches("0000aabbccddeeff", d, "x"));
        assert!(switch_matches("0xaabbccddeeff", d, "x"));
        assert!(switch_matches("00:00:aa:bb:cc:dd:ee:ff", d, "x"));
        assert!(switch_matches("127.0.0.1:4000", d, "127.0.0.1:4000"));
        assert!(!switch_matches("1", d, "x"));
    }

    #[test]
    fn utc_text_is_a_calendar_date() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(1_795_255_941_000), "2026-11-21 10:12:21");
    }
}
