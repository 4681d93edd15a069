//! The datapath process: the one unprivileged process that may change the kernel's network
//! configuration (bridges, ports, qdiscs, flower filters) over rtnetlink, and the OpenFlow
//! 1.3 switch that each configured local bridge is.
//!
//! - `agent.rs`: the switch side of one OpenFlow connection, sans-IO;
//! - `flowtable.rs`: OpenFlow's flow-table semantics, over a [`tc_datapath::Backend`]
//!   (a local switch's kernel table, [`tc_datapath::Table`]);
//! - `links.rs`: bridges, ports and link events over rtnetlink;
//! - `packetout.rs`: PACKET_OUT, sent on the devices through the parent's packet socket;
//! - `inject.rs`: the veth pair through which a packet-out reaches the flow table (TABLE)
//!   or the host (LOCAL);
//! - `remote.rs`: the connection a local switch speaks over, and the reconnection schedule
//!   for a remote controller;
//! - here: one task per local switch, speaking OpenFlow over a socketpair whose other end
//!   goes to the ofp process (as OpenBSD's switch(4) spoke it over /dev/switchN), or over
//!   TCP to the remote controller of `forward to`, and reloads that start, stop and restart
//!   those tasks.

pub mod agent;
pub mod flowtable;
pub mod inject;
pub mod links;
pub mod observer;
pub mod packetout;
pub mod remote;

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caps::{CapSet, Capability};
use futures::StreamExt;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::child::{self, Input, Peers, Setup};
use crate::msg::{self, Msg, Role, RuntimeConfig, SwitchConfig};
use crate::{log, log_debug, log_info, log_warn};
use agent::{Agent, AgentConfig, AgentEvent, LinkCounters, SampledPacket, Switch, SwitchPort};
use links::{BridgeChange, Link, LinkEvent, Links, PortNumbers};
use observer::Observer;
use tc_datapath::psample::{Psample, Sample};

/// The only capability this process keeps (effective and permitted).
pub const KEEP_CAPS: &[Capability] = &[Capability::CAP_NET_ADMIN];

/// Flow tables per local switch (TC chains 0..N_TABLES).
pub const N_TABLES: u8 = 8;
/// Sampled packets that a local switch's task may fall behind the psample reader by;
/// more are dropped and counted.
const SAMPLE_BACKLOG: usize = 1024;
/// Samples a local switch's task takes in one go, and the output it lets queue meanwhile
/// (the writer runs between two goes).
const SAMPLE_DRAIN: usize = 256;
const SAMPLE_DRAIN_BYTES: usize = 64 * 1024;
/// How long a local switch waits before offering the ofp process a new connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// A local switch's task.
#[derive(Debug)]
struct Running {
    /// Its configuration without the flow lines (possibly 100,000 of them: the task has
    /// them until they are installed, then frees them).
    cfg: SwitchConfig,
    /// What the flow lines were, to tell on a reload whether they changed.
    flows: FlowsDigest,
    /// Stop; `true`: leave its filters in the kernel for the next run to adopt.
    stop: oneshot::Sender<bool>,
    /// `switchctl connect` and `disconnect`.
    cmd: mpsc::UnboundedSender<SwitchCmd>,
    task: JoinHandle<()>,
}

/// What `switchctl` asks of a local switch's channel.
#[derive(Debug)]
enum SwitchCmd {
    /// Connect to this remote controller, or (`None`) to the ofp process.
    Connect(Option<std::net::SocketAddr>),
    /// Close the channel and keep it closed.
    Disconnect,
}

#[derive(Debug)]
struct State {
    links: Option<Links>,
    /// `Some` once probed: `Some(sentence)` says what the kernel lacks.
    kernel: Option<Option<String>>,
    switches: BTreeMap<String, Running>,
    echo_interval: u32,
    /// Packets that output:CONTROLLER copied, from the one psample reader to every local
    /// switch's task (each keeps those that came in on its ports); `None` until the
    /// first local switch starts, or when the kernel has no psample.
    samples: Option<broadcast::Sender<Arc<Sample>>>,
}

/// The datapath process.
pub async fn datapath(setup: Setup) -> i32 {
    // May do (enforced before this function runs, see child.rs):
    // - user `_switchd`, chrooted to the empty directory: it reads no files at all;
    // - CAP_NET_ADMIN, effective and permitted, nothing else, ambient and inheritable empty:
    //   rtnetlink changes to bridges, ports, qdiscs and filters need it, and nothing else
    //   this process does needs any privilege;
    // - no_new_privs: nothing it could exec would gain privilege;
    // - talks to parent (config, verbosity), ofp (one OpenFlow socketpair per local
    //   switch, handed over as a descriptor) and control (pings); it trusts none of them:
    //   every OpenFlow message is decoded and checked again, because ofp faces the network.
    //   The one AF_PACKET socket it sends packet-outs on comes from the parent: opening
    //   one needs CAP_NET_RAW, which this process does not have.
    let have = caps::has_cap(None, CapSet::Effective, Capability::CAP_NET_ADMIN).unwrap_or(false);
    if !have {
        log_warn!("CAP_NET_ADMIN is not effective; the kernel will refuse every change");
    }
    match setup.packet_socket {
        Some(fd) => packetout::set_socket(fd),
        None => log_warn!("no packet socket from the parent: packet-outs will be refused"),
    }
    let Some((peers, mut rx, mut term)) = child::start_channels(setup.parent, setup.peers) else {
        return 1;
    };
    let links = match Links::open() {
        Ok(l) => Some(l),
        Err(e) => {
            log_warn!("cannot open an rtnetlink socket: {e}; no local switch will run");
            None
        }
    };
    let config = setup.init.config;
    let mut st = State {
        links,
        kernel: None,
        switches: BTreeMap::new(),
        echo_interval: config.echo_interval,
        samples: None,
    };
    log_info!("started");
    apply_config(&mut st, &peers, config).await;
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => {
                stop_all(&mut st).await;
                return 0;
            }
            input = rx.recv() => match input {
                Some(Input::Msg(from, m, _fds)) => match from {
                    Role::Parent => dispatch_parent(&mut st, &peers, m).await,
                    Role::Control => match m {
                        Msg::Connect { id, switch, connect, forward_to } => {
                            let error = switch_cmd(&st, &switch, connect, forward_to.as_deref());
                            peers.send(Role::Control, &Msg::FlowResult { id, error }).await;
                        }
                        m => dispatch_peer(&peers, from, m).await,
                    },
                    Role::Ofp => dispatch_peer(&peers, from, m).await,
                    Role::Datapath => msg::unexpected(from, &m),
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

async fn dispatch_parent(st: &mut State, peers: &Peers, m: Msg) {
    match m {
        Msg::Verbose { verbose } => log::set_verbose(verbose),
        Msg::Config(c) => {
            log_debug!("new configuration: {c:?}");
            apply_config(st, peers, c).await;
        }
        other => msg::unexpected(Role::Parent, &other),
    }
}

/// Messages from ofp and control: the same few for now.
async fn dispatch_peer(peers: &Peers, from: Role, m: Msg) {
    match m {
        Msg::Ping { id } => peers.send(from, &Msg::Pong { id }).await,
        other => msg::unexpected(from, &other),
    }
}

/// `switchctl connect SWITCH [forward to tcp:HOST:PORT]` or `disconnect SWITCH`: handed to
/// the switch's task; the error for switchctl, if any.
fn switch_cmd(st: &State, switch: &str, connect: bool, forward_to: Option<&str>) -> Option<String> {
    let Some(r) = st.switches.get(switch) else {
        return Some(format!("there is no local switch \"{switch}\""));
    };
    if let Some(why) = unavailable(&r.cfg, &st.kernel.clone().flatten()) {
        return Some(format!("local switch {switch} is unavailable: {why}"));
    }
    let cmd = match (connect, forward_to) {
        (false, _) => SwitchCmd::Disconnect,
        (true, None) => SwitchCmd::Connect(None),
        (true, Some(to)) => {
            let Some(addr) = to.strip_prefix("tcp:") else {
                return Some(format!("{to}: a controller is tcp:IP:PORT"));
            };
            match remote::controller_addr(addr) {
                Ok(a) => SwitchCmd::Connect(Some(a)),
                Err(e) => return Some(e),
            }
        }
    };
    r.cmd
        .send(cmd)
        .err()
        .map(|_| format!("local switch {switch} is unavailable (see the log)"))
}

async fn stop_one(name: &str, r: Running, keep_filters: bool) {
    let _ = r.stop.send(keep_filters);
    let _ = r.task.await;
    log_info!("local switch {name} stopped");
}

async fn stop_all(st: &mut State) {
    // The kernel keeps forwarding by the flows as they are; the next run adopts them.
    for (name, r) in std::mem::take(&mut st.switches) {
        stop_one(&name, r, true).await;
    }
}

/// Start the local switches that are new, stop those that are gone, restart those that
/// changed (and all of them when the echo interval changed).
///
/// The configuration is taken, not borrowed: each new task gets its switch's flow lines
/// and frees them once they are in, and nothing else keeps a copy.
async fn apply_config(st: &mut State, peers: &Peers, c: RuntimeConfig) {
    let echo_interval = c.echo_interval;
    let wanted: BTreeMap<String, (SwitchConfig, FlowsDigest)> = c
        .switches
        .into_iter()
        .filter(|s| s.bridge.is_some())
        .map(|s| {
            let d = FlowsDigest::of(&s.flows);
            (s.name.clone(), (s, d))
        })
        .collect();
    let echo_changed = echo_interval != st.echo_interval;
    st.echo_interval = echo_interval;
    let names: Vec<String> = st.switches.keys().cloned().collect();
    for name in names {
        let keep = wanted.get(&name).is_some_and(|(w, d)| {
            !echo_changed
                && st
                    .switches
                    .get(&name)
                    .is_some_and(|r| r.flows == *d && r.cfg.same_but_flows(w))
        });
        if !keep {
            if let Some(r) = st.switches.remove(&name) {
                // Restarted on the same bridge: the new task adopts the filters.
                let same_bridge = wanted
                    .get(&name)
                    .is_some_and(|(w, _)| w.bridge == r.cfg.bridge);
                stop_one(&name, r, same_bridge).await;
            }
        }
    }
    let Some(links) = st.links.clone() else {
        for name in wanted.keys() {
            log_warn!("local switch {name} unavailable: no rtnetlink socket");
        }
        return;
    };
    for (name, (mut cfg, flows)) in wanted {
        if st.switches.contains_key(&name) {
            continue;
        }
        if st.kernel.is_none() {
            st.kernel = Some(probe().await);
            st.samples = start_psample();
        }
        let kernel = st.kernel.clone().flatten();
        let (stop, stopped) = oneshot::channel::<bool>();
        let (cmd, cmds) = mpsc::unbounded_channel();
        let lines = std::mem::take(&mut cfg.flows);
        let kept = cfg.clone();
        cfg.flows = lines;
        let task = tokio::spawn(local_switch(
            cfg,
            Duration::from_secs(echo_interval.into()),
            links.clone(),
            peers.clone(),
            kernel,
            Inputs {
                samples: st.samples.as_ref().map(|s| s.subscribe()),
                stop: stopped,
                cmds,
            },
        ));
        st.switches.insert(
            name,
            Running {
                cfg: kept,
                flows,
                stop,
                cmd,
                task,
            },
        );
    }
}

/// A digest of a switch's flow lines (two 64-bit SipHashes of them, in order), kept
/// instead of the lines themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowsDigest([u64; 2]);

impl FlowsDigest {
    fn of(flows: &[String]) -> FlowsDigest {
        use std::hash::{Hash, Hasher};
        let half = |salt: u8| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            salt.hash(&mut h);
            flows.hash(&mut h);
            h.finish()
        };
        FlowsDigest([half(0), half(1)])
    }
}

/// Why a configured local switch is not offered to the ofp process, if it is not.
fn unavailable(cfg: &SwitchConfig, kernel: &Option<String>) -> Option<String> {
    if let Some(k) = kernel {
        return Some(k.clone());
    }
    if let Some(f) = &cfg.forward_to {
        return remote::controller_addr(f).err();
    }
    None
}

/// The bridge, found or made, its ports enslaved and numbered.
async fn ensure_bridge(
    links: &Links,
    cfg: &SwitchConfig,
    br: &str,
) -> Result<(links::Bridge, Link, Vec<Link>), String> {
    let bridge = match links.by_name(br).await? {
        Some(l) if l.is_bridge => {
            log_info!("local switch {}: adopted bridge {br}", cfg.name);
            l
        }
        Some(_) => return Err(format!("{br} exists and is not a bridge")),
        None => {
            links
                .add_bridge(br)
                .await
                .map_err(|e| format!("creating bridge {br}: {e}"))?;
            log_info!("local switch {}: created bridge {br}", cfg.name);
            links
                .by_name(br)
                .await?
                .ok_or_else(|| format!("bridge {br} vanished after its creation"))?
        }
    };
    let mut numbers = PortNumbers::new(cfg.ports.clone());
    for l in links.all().await? {
        if numbers.is_configured(&l.name) && l.master != Some(bridge.index) {
            match links.enslave(l.index, bridge.index).await {
                Ok(()) => log_info!("local switch {}: {} added to {br}", cfg.name, l.name),
                Err(e) => log_warn!("local switch {}: adding {} to {br}: {e}", cfg.name, l.name),
            }
        }
    }
    let all = links.all().await?;
    let members: Vec<Link> = all
        .into_iter()
        .filter(|l| l.master == Some(bridge.index))
        .collect();
    let mut b = links::Bridge {
        name: br.to_string(),
        index: bridge.index,
        numbers: PortNumbers::default(),
        members: BTreeMap::new(),
    };
    for l in &members {
        let n = numbers.number(&l.name);
        b.members.insert(l.index, (l.name.clone(), n));
    }
    b.numbers = numbers;
    // The bridge's address may have changed with its new ports.
    let bridge = links.by_index(bridge.index).await?.unwrap_or(bridge);
    Ok((b, bridge, members))
}

fn switch_port(l: &Link, no: u32) -> SwitchPort {
    SwitchPort {
        desc: links::port_desc(l, no),
        ifindex: l.index,
        since: Instant::now(),
    }
}

/// What reaches a local switch's task from the rest of the process.
struct Inputs {
    /// Packets that output:CONTROLLER copied (every switch's; the task keeps its own).
    samples: Option<broadcast::Receiver<Arc<Sample>>>,
    /// Stop; `true`: leave the filters in the kernel for the next run to adopt.
    stop: oneshot::Receiver<bool>,
    /// `switchctl connect` and `disconnect`.
    cmds: mpsc::UnboundedReceiver<SwitchCmd>,
}

/// One local switch, until told to stop.
async fn local_switch(
    mut cfg: SwitchConfig,
    echo_interval: Duration,
    links: Links,
    peers: Peers,
    kernel: Option<String>,
    inputs: Inputs,
) {
    let Inputs {
        mut samples,
        mut stop,
        mut cmds,
    } = inputs;
    let name = cfg.name.clone();
    let Some(br) = cfg.bridge.clone() else { return };
    // Events first, so that nothing between the listing and the watch is missed.
    let mut events = match links::watch() {
        Ok(e) => e,
        Err(e) => {
            log_warn!("local switch {name} unavailable: cannot watch links: {e}");
            return;
        }
    };
    let (mut bridge, br_link, members) = match ensure_bridge(&links, &cfg, &br).await {
        Ok(x) => x,
        Err(e) => {
            log_warn!("local switch {name} unavailable: {e}");
            return;
        }
    };
    // An unavailable switch keeps its bridge and ports as configured, but is not offered
    // to the ofp process and has no flows.
    let available = match unavailable(&cfg, &kernel) {
        Some(why) => {
            log_warn!("local switch {name} unavailable: {why}");
            false
        }
        None => true,
    };
    let dpid = cfg
        .datapath_id
        .unwrap_or_else(|| links::datapath_id(br_link.mac));
    let acfg = AgentConfig {
        name: name.clone(),
        bridge: br.clone(),
        datapath_id: dpid,
        n_tables: N_TABLES,
        echo_interval,
    };
    let now = Instant::now();
    let backend: Box<dyn tc_datapath::Backend + Send> = if available {
        match tc_datapath::Table::open(&name, Box::new(table_log)) {
            Ok(mut b) => {
                b.take_ports(cfg.take_ports);
                Box::new(b)
            }
            Err(e) => {
                log_warn!("local switch {name} unavailable: cannot open a TC netlink socket: {e}");
                return;
            }
        }
    } else {
        Box::new(tc_datapath::NormalOnly)
    };
    let mut a = Agent::new(acfg.clone(), Switch::new(N_TABLES, backend), now);
    let mut injector = None;
    if available {
        a.switch.frames = packetout::sink(&name, bridge.index);
        match inject::Injector::open(&name, &links, bridge.index).await {
            Ok(i) => {
                a.switch.inject = Some(i.near());
                injector = Some(i);
            }
            Err(e) => {
                log_warn!("local switch {name}: packet-out to TABLE and LOCAL unavailable: {e}")
            }
        }
    }
    // `forward to`: the controller is at this address, not behind the ofp process.
    let mut controller = cfg
        .forward_to
        .as_deref()
        .and_then(|f| remote::controller_addr(f).ok());
    let mut standalone = controller.is_some() && cfg.fail_mode == "standalone";
    // With a remote controller, ofp still sees the switch, through an observer.
    let mut observer =
        (available && controller.is_some()).then(|| Observer::new(acfg.clone(), now));
    // `switchctl connect` / `disconnect` while a channel is open: what follows its close
    // (`Some(true)`: connect at once; `Some(false)`: stay disconnected).
    let mut after_close: Option<bool> = None;
    let mut backoff = remote::Backoff::default();
    let mut connecting: Option<Connecting> = None;
    for l in &members {
        if let Some((_, no)) = bridge.members.get(&l.index) {
            let _ = a.port_update(switch_port(l, *no));
        }
    }
    sync_injector(injector.as_mut(), port_ifindexes(&a)).await;
    if available {
        install_configured_flows(&mut a, &cfg, now);
        // Read once: a reload that changes them starts the switch's task again.
        cfg.flows = Vec::new();
        if standalone {
            a.fail_open(now);
        }
        a.switch.backend.remove_leftovers();
        trim_heap(&name);
        log_info!(
            "local switch {name}: bridge {br}, datapath id {dpid:016x}, {} ports",
            a.switch.ports.len()
        );
    }

    let mut conn: Option<remote::Channel> = None;
    let mut reconnect_at = available.then(tokio::time::Instant::now);
    let mut buf = vec![0u8; agent::READ_CHUNK];
    let keep_filters;
    loop {
        answer_port_stats(&mut a, &links).await;
        if a.is_connected() {
            backoff.reset();
        }
        if let (Some(reason), Some(s)) = (a.close_reason().map(str::to_string), conn.as_mut()) {
            // Named before the shutdown, which takes the peer's address with it.
            let peer = s.peer();
            if !a.output().is_empty() {
                let out = a.output().to_vec();
                let _ = tokio::time::timeout(Duration::from_secs(1), s.write_all(&out)).await;
            }
            let _ = s.shutdown().await;
            conn = None;
            a.restart(Instant::now());
            if controller.is_some() && standalone {
                a.fail_open(Instant::now());
            }
            match after_close.take() {
                Some(again) => {
                    log_info!("local switch {name}: connection to {peer} closed: {reason}");
                    reconnect_at = again.then(tokio::time::Instant::now);
                }
                None => {
                    let wait = if controller.is_some() {
                        backoff.failed(&reason).0
                    } else {
                        RECONNECT
                    };
                    log_info!(
                        "local switch {name}: connection to {peer} closed: {reason}; \
                         reconnecting in {} s",
                        wait.as_secs()
                    );
                    reconnect_at = Some(tokio::time::Instant::now() + wait);
                }
            }
        }
        let deadline = a.poll_timeout();
        tokio::select! {
            biased;
            k = &mut stop => {
                keep_filters = k.unwrap_or(false);
                break;
            }
            Some(c) = cmds.recv() => {
                let again = match c {
                    SwitchCmd::Connect(to) => {
                        log_info!(
                            "local switch {name}: switchctl connect: to {}",
                            to.map_or("switchd".to_string(), |t| format!("controller {t}"))
                        );
                        controller = to;
                        standalone = controller.is_some() && cfg.fail_mode == "standalone";
                        backoff.reset();
                        true
                    }
                    SwitchCmd::Disconnect => {
                        log_info!("local switch {name}: switchctl disconnect");
                        false
                    }
                };
                if !available {
                    continue;
                }
                // ofp sees a forwarded switch through the observer, and the others
                // directly.
                if controller.is_some() != observer.is_some() {
                    observer = controller.is_some().then(|| Observer::new(acfg.clone(), Instant::now()));
                }
                connecting = None;
                if conn.is_some() {
                    a.close(if again { "switchctl connect" } else { "switchctl disconnect" });
                    after_close = Some(again);
                } else {
                    reconnect_at = again.then(tokio::time::Instant::now);
                    if !again && standalone {
                        a.fail_open(Instant::now());
                    }
                }
            }
            w = wake(observer.as_ref().map(Observer::waiter)) => {
                if let Some(o) = observer.as_mut() {
                    o.step(w, &mut a.switch, &peers, &links, &name).await;
                }
            }
            ev = events.next() => match ev {
                Some(ev) => {
                    // The bridge's own events may change its address, which the
                    // injection pair's far end follows.
                    let on_bridge = matches!(&ev, LinkEvent::New(l) if l.index == bridge.index);
                    let changes = link_event(&links, &mut bridge, &mut a, &name, ev).await;
                    if on_bridge || !changes.is_empty() {
                        sync_injector(injector.as_mut(), port_ifindexes(&a)).await;
                    }
                    if let Some(o) = observer.as_mut() {
                        for c in changes {
                            o.port_status(Some(c));
                        }
                    }
                }
                None => {
                    log_warn!("local switch {name}: link events stopped; ports are no longer followed");
                    events = futures::channel::mpsc::unbounded().1;
                }
            },
            _ = sleep_until(reconnect_at), if conn.is_none() && reconnect_at.is_some() => {
                reconnect_at = None;
                if let Some(addr) = controller {
                    log_debug!("local switch {name}: connecting to controller {addr}");
                    connecting = Some(Box::pin(remote::connect(addr)));
                    continue;
                }
                match offer(&peers, &name, false).await {
                    Ok(s) => {
                        log_debug!("local switch {name}: connection offered to ofp");
                        a.restart(Instant::now());
                        conn = Some(remote::Channel::Ofp(s));
                    }
                    Err(e) => {
                        log_warn!("local switch {name}: cannot make a socketpair: {e}");
                        reconnect_at = Some(tokio::time::Instant::now() + RECONNECT);
                    }
                }
            }
            r = connected(&mut connecting), if connecting.is_some() => {
                connecting = None;
                let addr = controller.map(|c| c.to_string()).unwrap_or_default();
                match r {
                    Ok(s) => {
                        log_info!("local switch {name}: connected to controller {addr}");
                        a.restart(Instant::now());
                        conn = Some(remote::Channel::Remote(s));
                    }
                    Err(e) => {
                        let why = e.to_string();
                        let (wait, log) = backoff.failed(&why);
                        if log {
                            log_warn!(
                                "local switch {name}: cannot connect to controller {addr}: \
                                 {why}; retrying in {} s",
                                wait.as_secs()
                            );
                        }
                        reconnect_at = Some(tokio::time::Instant::now() + wait);
                    }
                }
            }
            r = readable(conn.as_ref()) => {
                let Some(s) = conn.as_ref() else { continue };
                match r.and_then(|()| s.try_read(&mut buf)) {
                    Ok(0) => a.close(format!("closed by {}", s.peer())),
                    Ok(n) => a.handle_input(&buf[..n], Instant::now()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => a.close(e.to_string()),
                }
            }
            r = writable(conn.as_ref()), if !a.output().is_empty() => {
                let Some(s) = conn.as_ref() else { continue };
                match r.and_then(|()| s.try_write(a.output())) {
                    Ok(n) => a.consume(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => a.close(e.to_string()),
                }
            }
            _ = sleep_until(deadline.map(Into::into)) => a.handle_timeout(Instant::now()),
            r = sampled(samples.as_mut()) => take_samples(&mut a, &mut samples, r),
        }
    }
    let p = a.packet_ins;
    log_info!(
        "local switch {name}: packet-ins sent {}, dropped: {} without controller, {} over \
         the queue limit, {} of unknown flows; {} masked by the controller",
        p.sent,
        p.unconnected,
        p.backlog,
        p.unknown,
        p.masked
    );
    // Flows stay in the kernel while switchd stops or restarts the switch (the next run
    // adopts them), and go when the switch goes.
    if !keep_filters {
        a.switch.backend.release();
        if let Some(i) = injector {
            i.remove().await;
        }
    }
}

/// Keep the injection filters in step with the switch's ports.
async fn sync_injector(i: Option<&mut inject::Injector>, ports: BTreeMap<u32, u32>) {
    if let Some(i) = i {
        i.sync(&ports).await;
    }
}

/// The switch's ports: number to ifindex.
fn port_ifindexes(a: &Agent) -> BTreeMap<u32, u32> {
    a.switch
        .ports
        .iter()
        .map(|(no, p)| (*no, p.ifindex))
        .collect()
}

/// Where a local switch's kernel table logs.
fn table_log(level: tc_datapath::table::Level, line: &str) {
    use tc_datapath::table::Level;
    match level {
        Level::Warn => log_warn!("{line}"),
        Level::Info => log_info!("{line}"),
        Level::Debug => log_debug!("{line}"),
    }
}

/// The modules a local switch cannot do without.
const REQUIRED: &[&str] = &["sch_clsact", "cls_flower", "act_gact", "act_mirred"];

/// What the kernel lacks that a local switch needs, as the kernel's words, or `None`.
async fn probe() -> Option<String> {
    let mut tc = match tc_datapath::Tc::new() {
        Ok(t) => t,
        Err(e) => return Some(format!("cannot open a TC netlink socket: {e}")),
    };
    let k = tc.probe();
    log_info!("kernel probe: present: {}", k.present.join(", "));
    for m in &k.missing {
        log_info!("kernel probe: {m}");
    }
    // The first required piece that is missing, named with its kernel option ("kernel lacks
    // cls_flower (CONFIG_NET_CLS_FLOWER)"); the kernel's words are in the lines above.
    let m = REQUIRED.iter().find(|m| !k.has(m))?;
    let said = k
        .missing
        .iter()
        .find(|s| s.starts_with("kernel lacks ") && s.contains(m.trim_start_matches("sch_")));
    Some(match said {
        Some(s) => s
            .split_once(": ")
            .map_or(s.as_str(), |(head, _)| head)
            .to_string(),
        None => format!("kernel probe failed: {}", k.missing.join("; ")),
    })
}

fn unavailable_counters() -> LinkCounters {
    let x = u64::MAX;
    LinkCounters {
        rx_packets: x,
        tx_packets: x,
        rx_bytes: x,
        tx_bytes: x,
        rx_dropped: x,
        tx_dropped: x,
        rx_errors: x,
        tx_errors: x,
        rx_frame_errors: x,
        rx_over_errors: x,
        rx_crc_errors: x,
        collisions: x,
    }
}

/// Give the heap's free pages back to the kernel once the configured flows are in:
/// installing many flows leaves free holes (translated filters, batches, the decoded
/// configuration) between the allocations that stay, and they would count as the process's
/// memory until reused. Logs what stays in use.
fn trim_heap(name: &str) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: both only read or adjust glibc's own allocator state.
        let (info, _) = unsafe { (libc::mallinfo2(), libc::malloc_trim(0)) };
        log_info!(
            "local switch {name}: heap {} KiB in use, {} KiB free before trimming",
            (info.uordblks + info.hblkhd) / 1024,
            info.fordblks / 1024
        );
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = name;
}

/// The configured table-miss, and the static flows, as ordinary entries of table 0.
fn install_configured_flows(a: &mut Agent, cfg: &SwitchConfig, now: Instant) {
    use ofproto::v13;
    let name = &cfg.name;
    let instructions: v13::InstructionList = match cfg.table_miss.as_str() {
        "normal" => [v13::Instruction::ApplyActions(
            [v13::Action::Output {
                port: flowtable::port::NORMAL,
                max_len: 0,
            }]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
        // The whole packet (OFPCML_NO_BUFFER): the switch buffers nothing.
        "controller" => [v13::Instruction::ApplyActions(
            [v13::Action::Output {
                port: flowtable::port::CONTROLLER,
                max_len: tc_datapath::translate::OFPCML_NO_BUFFER,
            }]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
        // No instructions: drop.
        _ => v13::InstructionList::new(),
    };
    let miss = v13::FlowMod {
        command: v13::FlowModCommand::Add,
        priority: 0,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: flowtable::port::ANY,
        out_group: flowtable::GROUP_ANY,
        instructions,
        ..Default::default()
    };
    if let Err(r) = a.local_flow_mod(&miss, now) {
        log_warn!("local switch {name}: table-miss {}: {r}", cfg.table_miss);
    }
    // In batches through the backend (flowtable's flow_mods): one result per flow.
    let started = Instant::now();
    let mut texts = Vec::new();
    let mut fms = Vec::new();
    let parsed = tc_datapath::par::map(&cfg.flows, |text| {
        ofproto::text::parse_flow(text, v13::FlowModCommand::Add)
    });
    for (text, p) in cfg.flows.iter().zip(parsed) {
        match p {
            Ok(fm) => {
                texts.push(text);
                fms.push(fm);
            }
            Err(e) => log_warn!("local switch {name}: flow \"{text}\": {e}"),
        }
    }
    let sw = &mut a.switch;
    let res = sw.table.flow_mods(&fms, sw.backend.as_mut(), now);
    let mut refused = cfg.flows.len() - fms.len();
    for (text, r) in texts.into_iter().zip(res) {
        if let Err(r) = r {
            log_warn!("local switch {name}: flow \"{text}\": {r}");
            refused += 1;
        }
    }
    log_info!(
        "local switch {name}: {} configured flows in, {refused} refused, in {} ms",
        cfg.flows.len() - refused,
        started.elapsed().as_millis()
    );
}

/// Follow a link event; the PORT_STATUS changes it made (for the observer).
async fn link_event(
    links: &Links,
    b: &mut links::Bridge,
    a: &mut Agent,
    name: &str,
    ev: LinkEvent,
) -> Vec<(u8, ofproto::v13::Port)> {
    let mut changes = Vec::new();
    match b.classify(&ev) {
        BridgeChange::Nothing => {}
        BridgeChange::Port(l) => {
            let no = match b.members.get(&l.index) {
                Some((_, no)) => *no,
                None => {
                    let no = b.numbers.number(&l.name);
                    log_info!("local switch {name}: port {} ({}) appeared", no, l.name);
                    no
                }
            };
            b.members.insert(l.index, (l.name.clone(), no));
            changes.extend(a.port_update(switch_port(&l, no)));
        }
        BridgeChange::Enslave(l) => match links.enslave(l.index, b.index).await {
            Ok(()) => log_info!("local switch {name}: {} added to {}", l.name, b.name),
            Err(e) => log_warn!("local switch {name}: adding {} to {}: {e}", l.name, b.name),
        },
        BridgeChange::PortGone(l) => {
            if let Some((pname, no)) = b.members.remove(&l.index) {
                log_info!("local switch {name}: port {no} ({pname}) went away");
                b.numbers.release(&pname);
                changes.extend(a.port_delete(no));
            }
            // A configured port that left the bridge is put back.
            if matches!(ev, LinkEvent::New(_)) && b.numbers.is_configured(&l.name) {
                if let Err(e) = links.enslave(l.index, b.index).await {
                    log_warn!("local switch {name}: adding {} to {}: {e}", l.name, b.name);
                }
            }
        }
        BridgeChange::BridgeGone => {
            log_warn!(
                "local switch {name}: bridge {} was deleted; its ports are gone",
                b.name
            );
            for (_, (pname, no)) in std::mem::take(&mut b.members) {
                b.numbers.release(&pname);
                changes.extend(a.port_delete(no));
            }
        }
    }
    changes
}

/// Answer the agent's requests for port counters, which live in the kernel.
async fn answer_port_stats(a: &mut Agent, links: &Links) {
    while let Some(ev) = a.poll_event() {
        let AgentEvent::NeedPortStats { xid, ports } = ev;
        let mut counters = Vec::new();
        for (no, ifindex) in ports {
            let c = match links.by_index(ifindex).await {
                Ok(Some(l)) => l.counters,
                _ => None,
            };
            // Counters the kernel does not give are unavailable: all ones (7.3.5.6).
            counters.push((no, c.unwrap_or(unavailable_counters())));
        }
        a.port_stats(xid, counters, Instant::now());
    }
}

/// A socketpair for one OpenFlow connection: our end, and the other handed to ofp.
async fn offer(peers: &Peers, name: &str, observe: bool) -> std::io::Result<UnixStream> {
    let (ours, theirs) = UnixStream::pair()?;
    let theirs: OwnedFd = theirs.into_std()?.into();
    peers
        .send_with_fds(
            Role::Ofp,
            &Msg::LocalSwitch {
                name: name.to_string(),
                observe,
            },
            &[theirs.as_raw_fd()],
        )
        .await;
    Ok(ours)
}

/// A connection attempt to a remote controller under way.
type Connecting =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<TcpStream>> + Send>>;

async fn connected(c: &mut Option<Connecting>) -> std::io::Result<TcpStream> {
    match c {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn readable(s: Option<&remote::Channel>) -> std::io::Result<()> {
    match s {
        Some(s) => s.readable().await,
        None => std::future::pending().await,
    }
}

async fn writable(s: Option<&remote::Channel>) -> std::io::Result<()> {
    match s {
        Some(s) => s.writable().await,
        None => std::future::pending().await,
    }
}

async fn sampled(
    rx: Option<&mut broadcast::Receiver<Arc<Sample>>>,
) -> Result<Arc<Sample>, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sampled packets to packet-ins: `first`, then what else the reader has queued (at
/// most [`SAMPLE_DRAIN`], and while the output is short), so that the packet-ins of a
/// burst leave in one write, not one write each.
fn take_samples(
    a: &mut Agent,
    samples: &mut Option<broadcast::Receiver<Arc<Sample>>>,
    first: Result<Arc<Sample>, broadcast::error::RecvError>,
) {
    use broadcast::error::{RecvError, TryRecvError};
    let mut r = first;
    for _ in 0..SAMPLE_DRAIN {
        match r {
            Ok(s) => a.packet_in(SampledPacket {
                ifindex16: s.ifindex,
                group: s.group,
                total_len: s.orig_size,
                data: &s.data,
            }),
            Err(RecvError::Lagged(n)) => a.packet_ins.backlog += n,
            Err(RecvError::Closed) => {
                *samples = None;
                return;
            }
        }
        let Some(rx) = samples.as_mut() else { return };
        if a.output().len() >= SAMPLE_DRAIN_BYTES {
            return;
        }
        r = match rx.try_recv() {
            Ok(s) => Ok(s),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => return,
        };
    }
}

async fn wake(w: Option<observer::Waiter<'_>>) -> observer::Wake {
    match w {
        Some(w) => w.wake().await,
        None => std::future::pending().await,
    }
}

/// The psample reader: every packet that output:CONTROLLER copied, to every local
/// switch's task. One socket for the process, because the kernel copies each sample once
/// per listening socket; the tasks keep the samples of their own ports.
fn start_psample() -> Option<broadcast::Sender<Arc<Sample>>> {
    let mut ps = match Psample::open() {
        Ok(p) => p,
        Err(e) => {
            log_warn!("packet-in unavailable: cannot listen to psample: {e}");
            return None;
        }
    };
    let (tx, _) = broadcast::channel(SAMPLE_BACKLOG);
    let out = tx.clone();
    tokio::spawn(async move {
        let (mut overruns, mut malformed) = (0, 0);
        let mut unyielded = 0;
        loop {
            match ps.next().await {
                Ok(v) => {
                    unyielded += v.len();
                    for s in v {
                        // No receiver (no local switch running) is fine.
                        let _ = out.send(Arc::new(s));
                    }
                }
                Err(e) => {
                    log_warn!("psample: {e}; packet-in stops");
                    return;
                }
            }
            // Logged at 1, 2, 4, 8, ... so that a storm does not flood the log.
            if ps.overruns != overruns {
                overruns = ps.overruns;
                if overruns.is_power_of_two() {
                    log_warn!(
                        "psample: the kernel dropped sampled packets, the receive buffer \
                         was full ({overruns} times so far)"
                    );
                }
            }
            if ps.malformed != malformed {
                malformed = ps.malformed;
                if malformed.is_power_of_two() {
                    log_warn!("psample: {malformed} malformed messages so far");
                }
            }
            // While the kernel keeps the socket readable this task would run on; the
            // switches' tasks take their share before the channel overflows.
            if unyielded >= SAMPLE_DRAIN {
                unyielded = 0;
                tokio::task::yield_now().await;
            }
        }
    });
    Some(tx)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod digest_tests {
    use super::FlowsDigest;

    #[test]
    fn flow_lines_changed_or_reordered_change_the_digest() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = lines(&["priority=1,actions=drop", "priority=2,actions=normal"]);
        assert_eq!(FlowsDigest::of(&a), FlowsDigest::of(&a.clone()));
        let b = lines(&["priority=2,actions=normal", "priority=1,actions=drop"]);
        assert_ne!(FlowsDigest::of(&a), FlowsDigest::of(&b));
        let c = lines(&["priority=1,actions=drop", "priority=2,actions=normal", ""]);
        assert_ne!(FlowsDigest::of(&a), FlowsDigest::of(&c));
        // Where one line ends counts.
        let d = lines(&["priority=1,actions=droppriority=2,actions=normal"]);
        assert_ne!(FlowsDigest::of(&a), FlowsDigest::of(&d));
    }
}
