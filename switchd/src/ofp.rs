//! The ofp process: OpenFlow sessions with switches. For now it accepts TCP connections on
//! the listening sockets the parent passes it, keeps them, counts them, and logs and reports
//! every connect and disconnect; the OpenFlow engine arrives later.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use caps::Capability;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;

use crate::child::{self, Input, Peers, Setup};
use crate::ctlproto::{Event, EventKind, ListenerSummary};
use crate::msg::{self, Msg, Role};
use crate::{log, log_debug, log_info, log_warn};

/// No capabilities at all.
pub const KEEP_CAPS: &[Capability] = &[];

#[derive(Debug, Default)]
struct Listener {
    accept: Option<JoinHandle<()>>,
    conns: HashMap<u64, Conn>,
}

#[derive(Debug)]
struct Conn {
    peer: String,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct State {
    listeners: HashMap<String, Listener>,
    next_conn: u64,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ofp process.
pub async fn ofp(setup: Setup) -> i32 {
    // May do (enforced before this function runs, see child.rs):
    // - user `_switchd`, chrooted to the empty directory, no capabilities, no_new_privs:
    //   this process parses untrusted input from the network, so a compromise must yield
    //   nothing: no files, no privilege, no kernel configuration;
    // - accept connections on listening sockets the parent opened (it cannot bind any
    //   itself: ports below 1024 would need privilege, and the set is the parent's to say);
    // - talks to parent (listeners, config, verbosity), control (counts, events) and
    //   datapath (OpenFlow to local bridges, later).
    let (peers, mut rx) = match Peers::start(setup.parent, setup.peers) {
        Ok(x) => x,
        Err(e) => {
            log_warn!("cannot set up channels: {e}");
            return 1;
        }
    };
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            log_warn!("cannot catch SIGTERM: {e}");
            return 1;
        }
    };
    let state: Shared = Arc::default();
    for (name, fd) in setup.listeners {
        add_listener(&state, &peers, name, fd);
    }
    log_info!("started");
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => return 0,
            input = rx.recv() => match input {
                Some(Input::Msg(from, m, fds)) => match from {
                    Role::Parent => dispatch_parent(&state, &peers, m, fds).await,
                    Role::Control => dispatch_control(&state, &peers, m).await,
                    Role::Datapath => dispatch_datapath(m),
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
            _ => log_warn!("BUG: listener_add from parent without exactly one descriptor"),
        },
        Msg::ListenerRemove { listener } => {
            remove_listener(state, peers, &listener).await;
            event(peers, EventKind::ListenerRemoved { listener }).await;
        }
        Msg::Barrier { id } => peers.send(Role::Parent, &Msg::BarrierAck { id }).await,
        Msg::Verbose { verbose } => log::set_verbose(verbose),
        Msg::Config(c) => log_debug!("new configuration: {c:?}"),
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
        other => msg::unexpected(Role::Control, &other),
    }
}

fn dispatch_datapath(m: Msg) {
    match m {
        Msg::Pong { .. } => {}
        other => msg::unexpected(Role::Datapath, &other),
    }
}

async fn event(peers: &Peers, kind: EventKind) {
    peers
        .send(Role::Control, &Msg::Event(Event::now(kind)))
        .await;
}

fn add_listener(state: &Shared, peers: &Peers, name: String, fd: OwnedFd) {
    let std_listener = std::net::TcpListener::from(fd);
    let listener = match std_listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(std_listener))
    {
        Ok(l) => l,
        Err(e) => {
            log_warn!("listener {name}: {e}");
            return;
        }
    };
    log_info!("listening on {name}");
    let task = tokio::spawn(accept_loop(
        state.clone(),
        peers.clone(),
        name.clone(),
        listener,
    ));
    let mut st = lock(state);
    let entry = st.listeners.entry(name).or_default();
    if let Some(old) = entry.accept.replace(task) {
        old.abort();
    }
}

/// Stop listening on `name` and close the connections that came in on it: the operator
/// removed that address, and a switch that should still be driven will reconnect to an
/// address that is configured. Connections on listeners that stay are not touched.
async fn remove_listener(state: &Shared, peers: &Peers, name: &str) {
    let Some(l) = lock(state).listeners.remove(name) else {
        log_warn!("BUG: parent removed listener {name}, which we do not have");
        return;
    };
    // Awaiting an aborted task returns once its future has been dropped: the socket is
    // closed by then, so the parent's barrier after this message means "done".
    if let Some(t) = l.accept {
        t.abort();
        let _ = t.await;
    }
    log_info!("no longer listening on {name}");
    for (_, c) in l.conns {
        c.task.abort();
        let _ = c.task.await;
        log_info!(
            "closed connection from {} on {name}: listener removed",
            c.peer
        );
        event(
            peers,
            EventKind::ConnectionClosed {
                listener: name.to_string(),
                peer: c.peer,
                reason: "listener removed".into(),
            },
        )
        .await;
    }
}

async fn accept_loop(state: Shared, peers: Peers, name: String, listener: TcpListener) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                log_warn!("accept on {name}: {e}");
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
        log_info!("connection from {peer} on {name}");
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

/// One switch connection. Until the OpenFlow engine arrives, it reads and discards.
async fn session(
    state: Shared,
    peers: Peers,
    listener: String,
    peer: String,
    id: u64,
    mut stream: TcpStream,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let reason = loop {
        match stream.read(&mut buf).await {
            Ok(0) => break "closed by peer".to_string(),
            Ok(n) => log_debug!("{n} bytes from {peer} (no OpenFlow engine yet)"),
            Err(e) => break e.to_string(),
        }
    };
    if let Some(l) = lock(&state).listeners.get_mut(&listener) {
        l.conns.remove(&id);
    }
    log_info!("connection from {peer} on {listener} closed: {reason}");
    event(
        &peers,
        EventKind::ConnectionClosed {
            listener,
            peer,
            reason,
        },
    )
    .await;
}
