//! The control process: serves switchctl on the control socket the parent opened.
//!
//! Requests that need another process (counts from ofp, reload from the parent, a ping to
//! datapath) are sent with a fresh id; the answer, dispatched from that peer's channel,
//! completes the waiting client through a oneshot.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caps::Capability;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, oneshot};

use crate::child::{self, Input, Peers, Setup};
use crate::ctlproto::{self, Event, ListenerSummary, Request, Response, Summary, Table};
use crate::log;
use crate::msg::{self, Msg, Role};

/// No capabilities at all.
pub(crate) const KEEP_CAPS: &[Capability] = &[];

/// The longest request line we read from a client.
const MAX_REQUEST: u64 = 64 * 1024;

#[derive(Debug, Default)]
struct Pending {
    next_id: u64,
    counts: HashMap<u64, oneshot::Sender<Vec<ListenerSummary>>>,
    reloads: HashMap<u64, oneshot::Sender<ReloadOutcome>>,
    flows: HashMap<u64, oneshot::Sender<Option<String>>>,
    pings: HashMap<u64, oneshot::Sender<()>>,
    shows: HashMap<u64, ShowPending>,
}

/// A reload's errors (empty: applied) and notes (settings only a restart applies).
type ReloadOutcome = (Vec<String>, Vec<String>);

/// A `show` table arriving from ofp in parts.
#[derive(Debug)]
struct ShowPending {
    rows: Vec<Vec<String>>,
    tx: oneshot::Sender<(Table, Option<String>)>,
}

#[derive(Debug, Clone)]
struct Ctx {
    peers: Peers,
    pending: Arc<Mutex<Pending>>,
    events: broadcast::Sender<Event>,
    started_ms: u64,
    parent_pid: u32,
    config_file: String,
    /// What local switches refused their controllers (`show refusals`).
    refusals: Arc<Mutex<refusals::Log>>,
    /// The VMs of the virtual networks (`show networks`), as the last configuration said.
    networks: Arc<Mutex<Vec<crate::vnet::show::VnetVm>>>,
}

impl Ctx {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The control process.
pub(crate) async fn control(setup: Setup) -> i32 {
    // May do (enforced before this function runs, see child.rs):
    // - user `_switchd`, chrooted to the empty directory, no capabilities, no_new_privs:
    //   it parses requests from local users (root or the socket group), so a bug here must
    //   give nothing beyond what switchctl can ask anyway;
    // - accept connections on the control socket the parent created (0660, root:group);
    //   it cannot create or remove the socket file itself;
    // - talks to parent (reload, log level, events), ofp (counts, events) and datapath
    //   (pings, connecting and disconnecting local switches, conntrack entries).
    let Some((path, sock)) = setup.control_socket else {
        tracing::warn!("BUG: no control socket from parent");
        return 1;
    };
    let Some((peers, mut rx, mut term)) = child::start_channels(setup.parent, setup.peers) else {
        return 1;
    };
    let listener = match listen(sock) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("control socket {path}: {e}");
            return 1;
        }
    };
    let ctx = Ctx {
        peers,
        pending: Arc::default(),
        events: broadcast::channel(1024).0,
        started_ms: setup.init.started_ms,
        parent_pid: setup.init.parent_pid,
        config_file: setup.init.config_file.clone(),
        refusals: Arc::default(),
        networks: Arc::new(Mutex::new(*setup.init.config.networks.clone())),
    };
    tracing::info!("listening on {path}");
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => return 0,
            conn = listener.accept() => match conn {
                Ok((stream, _)) => { tokio::spawn(client(ctx.clone(), stream)); }
                Err(e) => {
                    tracing::warn!("accept on {path}: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            input = rx.recv() => match input {
                Some(Input::Msg(Role::Parent, Msg::MetricsSocket { address }, fds)) => {
                    crate::metrics::start(ctx.peers.clone(), address, fds)
                }
                Some(Input::Msg(from, m, _fds)) => match from {
                    Role::Parent => dispatch_parent(&ctx, m),
                    Role::Ofp => dispatch_ofp(&ctx, m),
                    Role::Datapath => dispatch_datapath(&ctx, m),
                    Role::Control => msg::unexpected(from, &m),
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

fn listen(fd: OwnedFd) -> std::io::Result<UnixListener> {
    let l = std::os::unix::net::UnixListener::from(fd);
    l.set_nonblocking(true)?;
    UnixListener::from_std(l)
}

fn dispatch_parent(ctx: &Ctx, m: Msg) {
    match m {
        Msg::ReloadResult { id, errors, notes } => {
            crate::metrics::reloaded(errors.is_empty());
            if let Some(tx) = ctx.pending().reloads.remove(&id) {
                let _ = tx.send((errors, notes));
            }
        }
        Msg::Event(e) => {
            let _ = ctx.events.send(e);
        }
        Msg::Verbose { verbose } => log::set_verbose(verbose),
        Msg::Config(c) => {
            tracing::debug!("new configuration: {c:?}");
            *lock(&ctx.networks) = *c.networks;
        }
        Msg::ProcStats { id, procs } => crate::metrics::proc_answer(id, procs),
        other => msg::unexpected(Role::Parent, &other),
    }
}

fn dispatch_ofp(ctx: &Ctx, m: Msg) {
    match m {
        Msg::MetricsReply { id, metrics } => crate::metrics::ofp_answer(id, metrics),
        Msg::ConnCounts { id, listeners } => {
            if let Some(tx) = ctx.pending().counts.remove(&id) {
                let _ = tx.send(listeners);
            }
        }
        Msg::Event(e) => {
            let _ = ctx.events.send(e);
        }
        Msg::ShowReply {
            id,
            table,
            error,
            more,
        } => show_part(ctx, id, table, error, more),
        Msg::FlowResult { id, error } => {
            if let Some(tx) = ctx.pending().flows.remove(&id) {
                let _ = tx.send(error);
            }
        }
        other => msg::unexpected(Role::Ofp, &other),
    }
}

/// A part of a `show` table (from ofp, or from datapath for conntrack).
fn show_part(ctx: &Ctx, id: u64, mut table: Table, error: Option<String>, more: bool) {
    let mut p = ctx.pending();
    if more {
        if let Some(sp) = p.shows.get_mut(&id) {
            sp.rows.append(&mut table.rows);
        }
    } else if let Some(mut sp) = p.shows.remove(&id) {
        sp.rows.append(&mut table.rows);
        table.rows = sp.rows;
        let _ = sp.tx.send((table, error));
    }
}

fn dispatch_datapath(ctx: &Ctx, m: Msg) {
    match m {
        Msg::ShowReply {
            id,
            table,
            error,
            more,
        } => show_part(ctx, id, table, error, more),
        Msg::DpMetricsReply { id, metrics } => crate::metrics::dp_answer(id, metrics),
        Msg::Pong { id } => {
            if let Some(tx) = ctx.pending().pings.remove(&id) {
                let _ = tx.send(());
            }
        }
        Msg::FlowResult { id, error } => {
            if let Some(tx) = ctx.pending().flows.remove(&id) {
                let _ = tx.send(error);
            }
        }
        Msg::Refused {
            name,
            command,
            flow,
            reason,
            count,
        } => {
            let e = Event::now(ctlproto::EventKind::Refused {
                switch: name.clone(),
                command: command.clone(),
                flow: flow.clone(),
                reason: reason.clone(),
                count,
            });
            let row = refusals::Row {
                time_ms: e.time_ms,
                count,
                command,
                flow,
                reason,
            };
            lock(&ctx.refusals).record(&name, row);
            let _ = ctx.events.send(e);
        }
        other => msg::unexpected(Role::Datapath, &other),
    }
}

/// Send a request carrying a fresh id to `to`, and wait for its answer (or `None`).
async fn ask<T>(
    ctx: &Ctx,
    to: Role,
    register: impl FnOnce(&mut Pending, u64, oneshot::Sender<T>),
    make: impl FnOnce(u64) -> Msg,
    wait: Duration,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    let id = {
        let mut p = ctx.pending();
        p.next_id += 1;
        let id = p.next_id;
        register(&mut p, id, tx);
        id
    };
    ctx.peers.send(to, &make(id)).await;
    let answer = tokio::time::timeout(wait, rx)
        .await
        .ok()
        .and_then(Result::ok);
    if answer.is_none() {
        let mut p = ctx.pending();
        p.counts.remove(&id);
        p.reloads.remove(&id);
        p.pings.remove(&id);
        p.shows.remove(&id);
        p.flows.remove(&id);
    }
    answer
}

/// One switchctl connection: one request, then its answer (or a stream of events).
async fn client(ctx: Ctx, stream: UnixStream) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd.take(MAX_REQUEST));
    let mut line = String::new();
    match rd.read_line(&mut line).await {
        Ok(0) | Err(_) => return,
        Ok(_) => {}
    }
    let req: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            let resp = Response::Error {
                message: format!("malformed request: {e}"),
            };
            let _ = wr.write_all(ctlproto::to_line(&resp).as_bytes()).await;
            return;
        }
    };
    tracing::debug!("request {req:?}");
    let resp = match req {
        Request::ShowSummary => Response::Summary(summary(&ctx).await),
        Request::Show { table, switch } => show(&ctx, table, switch).await,
        Request::ShowConntrack { switch, zone } => show_conntrack(&ctx, switch, zone).await,
        Request::Reload => reload(&ctx, None, None).await,
        Request::Load { file, text } => reload(&ctx, Some(file), text).await,
        Request::AddFlow { switch, flow } => {
            flow_mod(&ctx, switch, ctlproto::FlowCommand::Add, flow).await
        }
        Request::DelFlow { switch, flow } => {
            flow_mod(
                &ctx,
                switch,
                ctlproto::FlowCommand::Delete,
                flow.unwrap_or_default(),
            )
            .await
        }
        Request::Connect { switch, forward_to } => connect(&ctx, switch, true, forward_to).await,
        Request::Disconnect { switch } => connect(&ctx, switch, false, None).await,
        Request::Log { verbose } => {
            ctx.peers
                .send(Role::Parent, &Msg::LogRequest { verbose })
                .await;
            Response::Ok {
                message: format!("logging {}", if verbose { "verbose" } else { "brief" }),
                notes: Vec::new(),
            }
        }
        Request::Monitor => {
            let mut events = ctx.events.subscribe();
            let mut rest = String::new();
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Ok(e) => {
                            let line = ctlproto::to_line(&Response::Event(e));
                            if wr.write_all(line.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!("monitor client too slow, {n} events dropped");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    // The client says nothing more; end of file means it has gone.
                    r = rd.read_line(&mut rest) => match r {
                        Ok(0) | Err(_) => return,
                        Ok(_) => rest.clear(),
                    },
                }
            }
        }
    };
    let _ = wr.write_all(ctlproto::to_line(&resp).as_bytes()).await;
}

async fn summary(ctx: &Ctx) -> Summary {
    let listeners = ask(
        ctx,
        Role::Ofp,
        |p, id, tx| {
            p.counts.insert(id, tx);
        },
        |id| Msg::ConnCountsRequest { id },
        Duration::from_secs(2),
    )
    .await
    .unwrap_or_default();
    let pong = ask(
        ctx,
        Role::Datapath,
        |p, id, tx| {
            p.pings.insert(id, tx);
        },
        |id| Msg::Ping { id },
        Duration::from_secs(1),
    )
    .await;
    let now_ms = ctlproto::Event::now(ctlproto::EventKind::Reloaded {
        config_file: String::new(),
    })
    .time_ms;
    Summary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: ctx.parent_pid,
        uptime_secs: now_ms.saturating_sub(ctx.started_ms) / 1000,
        config_file: ctx.config_file.clone(),
        listeners,
        datapath: if pong.is_some() {
            "running".into()
        } else {
            "not answering".into()
        },
        monitors: u32::try_from(ctx.events.receiver_count()).unwrap_or(u32::MAX),
    }
}

/// `show switches|ports|macs|flows`: the tables live in the ofp process.
async fn show(ctx: &Ctx, table: ctlproto::TableKind, switch: Option<String>) -> Response {
    if table == ctlproto::TableKind::Refusals {
        return Response::Table(lock(&ctx.refusals).table(switch.as_deref()));
    }
    if table == ctlproto::TableKind::Networks {
        return show_networks(ctx).await;
    }
    // Flow stats wait up to 3 s for a switch.
    let wait = Duration::from_secs(5);
    ask_table(ctx, Role::Ofp, wait, |id| Msg::ShowRequest {
        id,
        table,
        switch,
    })
    .await
}

/// A table that `to` sends in ShowReply parts, asked for with the message `msg` makes.
async fn ask_table(ctx: &Ctx, to: Role, wait: Duration, msg: impl FnOnce(u64) -> Msg) -> Response {
    let answer = ask(
        ctx,
        to,
        |p, id, tx| {
            p.shows.insert(
                id,
                ShowPending {
                    rows: Vec::new(),
                    tx,
                },
            );
        },
        msg,
        wait,
    )
    .await;
    match answer {
        None => Response::Error {
            message: format!("the {} process did not answer", to.name()),
        },
        Some((_, Some(message))) => Response::Error { message },
        Some((t, None)) => Response::Table(t),
    }
}

/// `show conntrack`: reading the kernel's entries needs CAP_NET_ADMIN, which only the
/// datapath process has; it knows the local switches' zones too.
async fn show_conntrack(ctx: &Ctx, switch: Option<String>, zone: Option<u16>) -> Response {
    let wait = Duration::from_secs(10);
    ask_table(ctx, Role::Datapath, wait, |id| Msg::ConntrackRequest {
        id,
        switch,
        zone,
    })
    .await
}

/// `show networks`: the VMs as configured, with the counters of the local ones' flows.
async fn show_networks(ctx: &Ctx) -> Response {
    use crate::vnet::show;
    let vms = lock(&ctx.networks).clone();
    let flows = if vms.iter().any(|v| v.local) {
        match Box::pin(show(
            ctx,
            ctlproto::TableKind::Flows,
            Some(crate::vnet::SWITCH.to_string()),
        ))
        .await
        {
            Response::Table(t) => Some(t.rows),
            _ => None,
        }
    } else {
        None
    };
    Response::Table(ctlproto::Table {
        table: ctlproto::TableKind::Networks,
        columns: show::COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows: show::rows(&vms, flows.as_deref()),
    })
}

/// `reload` (`file` None) or `load FILE`.
async fn reload(ctx: &Ctx, file: Option<String>, text: Option<String>) -> Response {
    let from = file.clone();
    let result = ask(
        ctx,
        Role::Parent,
        |p, id, tx| {
            p.reloads.insert(id, tx);
        },
        |id| Msg::ReloadRequest { id, file, text },
        Duration::from_secs(10),
    )
    .await;
    match result {
        None => Response::Error {
            message: "the parent process did not answer the reload request".into(),
        },
        Some((errors, notes)) if errors.is_empty() => Response::Ok {
            message: match from {
                Some(f) => format!("configuration loaded from {f}"),
                None => "configuration reloaded".into(),
            },
            notes,
        },
        Some((errors, _)) => Response::ReloadRejected { errors },
    }
}

/// `connect` / `disconnect`: the datapath process owns local switches' channels.
async fn connect(ctx: &Ctx, switch: String, connect: bool, forward_to: Option<String>) -> Response {
    let what = match (&forward_to, connect) {
        (_, false) => format!("local switch {switch} disconnected"),
        (Some(to), true) => format!("local switch {switch} connecting to {to}"),
        (None, true) => format!("local switch {switch} connecting to switchd"),
    };
    let answer = ask(
        ctx,
        Role::Datapath,
        |p, id, tx| {
            p.flows.insert(id, tx);
        },
        |id| Msg::Connect {
            id,
            switch,
            connect,
            forward_to,
        },
        Duration::from_secs(5),
    )
    .await;
    match answer {
        None => Response::Error {
            message: "the datapath process did not answer".into(),
        },
        Some(Some(message)) => Response::Error { message },
        Some(None) => Response::Ok {
            message: what,
            notes: Vec::new(),
        },
    }
}

/// `add flow` / `del flow`: ofp parses the text for the switch's version, sends the
/// flow-mod and a barrier, and answers when the switch has answered.
async fn flow_mod(
    ctx: &Ctx,
    switch: String,
    command: ctlproto::FlowCommand,
    flow: String,
) -> Response {
    let what = match command {
        ctlproto::FlowCommand::Add => "flow added",
        ctlproto::FlowCommand::Delete if flow.is_empty() => "every flow deleted",
        ctlproto::FlowCommand::Delete => "flows deleted",
    };
    let answer = ask(
        ctx,
        Role::Ofp,
        |p, id, tx| {
            p.flows.insert(id, tx);
        },
        |id| Msg::FlowRequest {
            id,
            switch: switch.clone(),
            command,
            flow,
        },
        // ofp gives the switch 5 s for the barrier.
        Duration::from_secs(8),
    )
    .await;
    match answer {
        None => Response::Error {
            message: "the ofp process did not answer".into(),
        },
        Some(Some(message)) => Response::Error { message },
        Some(None) => Response::Ok {
            message: what.into(),
            notes: Vec::new(),
        },
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

mod refusals;
