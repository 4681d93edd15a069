//! One local switch: a struct with one method per event (Holo's events as functions), and
//! its task, [`LocalSwitch::run`], that waits for the next event and calls its method.
//!
//! Events: a command from switchctl (connect, disconnect), the observer's connection, a
//! link event on the bridge, the controller channel (time to connect, connected, bytes to
//! move; `channel.rs`), the agent's timers, and packets sampled for the controller. The
//! channel's state is one [`Channel`]; the state across connections is the agent's
//! [`Switch`](super::switch::Switch).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::agent::{Agent, AgentConfig, SampledPacket};
use super::channel::{self, offer, sleep_until, Channel, RECONNECT};
use super::configured::install_configured_flows;
use super::controllers::{self, Controllers};
use super::inject;
use super::links::{self, BridgeChange, Link, LinkEvent, Links, PortNumbers};
use super::observer::{self, Observer};
use super::packetout;
use super::portstats::answer_port_stats;
use super::remote;
use super::switch::{Switch, SwitchPort, N_TABLES};
use crate::child::Peers;
use crate::endpoint::pump::Pump;
use crate::msg::{Msg, Role, SwitchConfig};
use tc_datapath::psample::Sample;

/// Samples a local switch's task takes in one go, and the output it lets queue meanwhile
/// (the writer runs between two goes).
pub(crate) const SAMPLE_DRAIN: usize = 256;
const SAMPLE_DRAIN_BYTES: usize = 64 * 1024;

/// What `switchctl` asks of a local switch's channel.
#[derive(Debug)]
pub(crate) enum SwitchCmd {
    /// Connect to this remote controller, or (`None`) to the ofp process.
    Connect(Option<SocketAddr>),
    /// Close the channel and keep it closed.
    Disconnect,
}

/// What reaches a local switch's task from the rest of the process.
pub(crate) struct Inputs {
    /// Packets that output:CONTROLLER copied (every switch's; the task keeps its own).
    pub(crate) samples: Option<broadcast::Receiver<Arc<Sample>>>,
    /// Stop; `true`: leave the filters in the kernel for the next run to adopt.
    pub(crate) stop: oneshot::Receiver<bool>,
    /// `switchctl connect` and `disconnect`.
    pub(crate) cmds: mpsc::UnboundedReceiver<SwitchCmd>,
}

/// One local switch.
pub(crate) struct LocalSwitch {
    name: String,
    cfg: SwitchConfig,
    acfg: AgentConfig,
    /// An unavailable switch keeps its bridge and ports as configured, but is not offered
    /// to the ofp process and has no flows.
    available: bool,
    links: Links,
    peers: Peers,
    events: futures::channel::mpsc::UnboundedReceiver<LinkEvent>,
    bridge: links::Bridge,
    agent: Agent,
    injector: Option<inject::Injector>,
    /// With a remote controller, ofp still sees the switch, through an observer.
    observer: Option<Observer>,
    /// `forward to`: the controller is at this address, not behind the ofp process.
    controller: Option<SocketAddr>,
    /// Fail mode standalone with a remote controller: NORMAL forwarding while it is away.
    standalone: bool,
    backoff: remote::Backoff,
    channel: Channel,
    /// The controllers of the later `forward to` lines (6.3.6).
    controllers: Controllers,
    samples: Option<broadcast::Receiver<Arc<Sample>>>,
    stop: oneshot::Receiver<bool>,
    cmds: mpsc::UnboundedReceiver<SwitchCmd>,
    /// What ofp last heard of this switch's kernel table for `show switches` (`None`:
    /// nothing yet, so the first word replaces what an earlier run of the switch said).
    notes: Option<Vec<String>>,
}

/// One local switch, until told to stop.
pub(crate) async fn local_switch(
    cfg: SwitchConfig,
    echo_interval: Duration,
    links: Links,
    peers: Peers,
    kernel: Option<String>,
    inputs: Inputs,
) {
    if let Some(s) = LocalSwitch::start(cfg, echo_interval, links, peers, kernel, inputs).await {
        s.run().await;
    }
}

impl LocalSwitch {
    /// The bridge made or adopted, its ports and the configured flows in; `None` if the
    /// switch cannot run at all (logged).
    async fn start(
        mut cfg: SwitchConfig,
        echo_interval: Duration,
        links: Links,
        peers: Peers,
        kernel: Option<String>,
        inputs: Inputs,
    ) -> Option<LocalSwitch> {
        let Inputs {
            samples,
            stop,
            cmds,
        } = inputs;
        let name = cfg.name.clone();
        let br = cfg.bridge.clone()?;
        // Tunnel devices before the events: their creation (not yet in the bridge) is not a
        // port that left it.
        super::overlay::ensure_tunnels(&links, &name, &cfg.tunnels, &br).await;
        // Events first, so that nothing between the listing and the watch is missed.
        let events = match links::watch() {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("local switch {name} unavailable: cannot watch links: {e}");
                return None;
            }
        };
        let (bridge, br_link, members) = match ensure_bridge(&links, &cfg, &br).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("local switch {name} unavailable: {e}");
                return None;
            }
        };
        let available = match unavailable(&cfg, &kernel) {
            Some(why) => {
                tracing::warn!("local switch {name} unavailable: {why}");
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
            match tc_datapath::Table::open(&name) {
                Ok(mut b) => {
                    b.take_ports(cfg.take_ports);
                    Box::new(b)
                }
                Err(e) => {
                    tracing::warn!(
                        "local switch {name} unavailable: cannot open a TC netlink socket: {e}"
                    );
                    return None;
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
                    tracing::warn!(
                        "local switch {name}: packet-out to TABLE and LOCAL unavailable: {e}"
                    )
                }
            }
        }
        let controller = cfg
            .forward_to
            .as_ref()
            .and_then(|f| remote::controller_addr(&f.host_port()).ok());
        let standalone = controller.is_some() && cfg.fail_mode == conf::FailMode::Standalone;
        let more: Vec<(SocketAddr, bool)> = cfg
            .also_forward_to
            .iter()
            .filter_map(|f| Some((remote::controller_addr(&f.host_port()).ok()?, f.tls)))
            .collect();
        let controllers = Controllers::new(&acfg, &more, now, available && controller.is_some());
        a.switch.roles.fanout = !controllers.is_empty();
        let observer =
            (available && controller.is_some()).then(|| Observer::new(acfg.clone(), now));
        for l in &members {
            if let Some((_, no)) = bridge.members.get(&l.index) {
                let _ = a.port_update(switch_port(l, *no));
            }
        }
        let ports = port_ifindexes(&a);
        sync_injector(injector.as_mut(), ports, &mut *a.switch.backend).await;
        if available {
            super::overlay::install_configured_meters(&mut a, &cfg, now);
            install_configured_flows(&mut a, &cfg, now);
            // Read once: a reload that changes them starts the switch's task again.
            cfg.flows = Vec::new();
            if standalone {
                a.fail_open(now);
            }
            a.switch.backend.remove_leftovers();
            trim_heap(&name);
            tracing::info!(
                "local switch {name}: bridge {br}, datapath id {dpid:016x}, {} ports",
                a.switch.ports.len()
            );
        }
        Some(LocalSwitch {
            name,
            cfg,
            acfg,
            available,
            links,
            peers,
            events,
            bridge,
            agent: a,
            injector,
            observer,
            controller,
            standalone,
            backoff: remote::Backoff::default(),
            channel: Channel::Idle {
                retry_at: available.then(tokio::time::Instant::now),
            },
            controllers,
            samples,
            stop,
            cmds,
            notes: None,
        })
    }

    /// Wait for the next event and act on it, until told to stop.
    async fn run(mut self) {
        let keep_filters = loop {
            self.settle().await;
            let deadline = self.agent.poll_timeout();
            let write = !self.agent.output().is_empty();
            tokio::select! {
                biased;
                k = &mut self.stop => break k.unwrap_or(false),
                Some(c) = self.cmds.recv() => self.command(c),
                w = wake(self.observer.as_ref().map(Observer::waiter)) => self.observer_event(w).await,
                ev = self.events.next() => self.link_event(ev).await,
                w = self.channel.wake(write) => self.channel_event(w).await,
                (i, w) = self.controllers.wake() => {
                    self.controllers.event(i, w, &mut self.agent.switch, &self.links).await
                }
                _ = sleep_until(deadline.map(Into::into)) => self.agent.handle_timeout(Instant::now()),
                r = sampled(self.samples.as_mut()) => {
                    let keep = !self.controllers.is_empty();
                    let taken = take_samples(&mut self.agent, &mut self.samples, r, keep);
                    self.controllers.packet_ins(&mut self.agent.switch, &taken);
                }
            }
        };
        self.stopped(keep_filters).await;
    }

    /// Between events: the port counters the agent waits for, and a closed channel's end.
    async fn settle(&mut self) {
        answer_port_stats(&mut self.agent, &self.links).await;
        let notes = self.agent.switch.backend.notes();
        if self.notes.as_ref() != Some(&notes) {
            let m = Msg::SwitchNotes {
                name: self.name.clone(),
                notes: notes.clone(),
            };
            self.peers.send(Role::Ofp, &m).await;
            self.notes = Some(notes);
        }
        // What the switch refused its controllers, for switchctl.
        for r in self.agent.switch.refusals.take() {
            let m = Msg::Refused {
                name: self.name.clone(),
                command: r.command,
                flow: r.flow,
                reason: r.reason,
                count: r.count,
            };
            self.peers.send(Role::Control, &m).await;
        }
        if self.agent.is_connected() {
            self.backoff.reset();
        }
        if self.agent.close_reason().is_some() && self.channel.is_open() {
            self.channel_closed().await;
        }
        if !self.controllers.is_empty() {
            let now = Instant::now();
            controllers::settle(&mut self.agent, &mut self.controllers, now);
            // Fail mode standalone: NORMAL only while no controller at all is connected.
            if self.standalone && self.available {
                if self.controllers.any_connected() {
                    self.agent.fail_closed(now);
                } else if !self.agent.is_connected() {
                    self.agent.fail_open(now);
                }
            }
        }
    }

    /// The agent ended the connection (or switchctl did): flush, shut down, and decide
    /// when to connect again.
    async fn channel_closed(&mut self) {
        let Some(reason) = self.agent.close_reason().cloned() else {
            return;
        };
        let idle = Channel::Idle { retry_at: None };
        let (pump, again) = match std::mem::replace(&mut self.channel, idle) {
            Channel::Open(p) => (p, None),
            Channel::Closing { pump, again } => (pump, Some(again)),
            other => {
                self.channel = other;
                return;
            }
        };
        let name = &self.name;
        let peer = pump.peer().to_string();
        pump.finish(&reason, self.agent.output()).await;
        let reason = reason.to_string();
        self.agent.restart(Instant::now());
        if self.controller.is_some() && self.standalone && !self.controllers.any_connected() {
            self.agent.fail_open(Instant::now());
        }
        let retry_at = match again {
            Some(again) => {
                tracing::info!("local switch {name}: connection to {peer} closed: {reason}");
                again.then(tokio::time::Instant::now)
            }
            None => {
                let wait = if self.controller.is_some() {
                    self.backoff.failed(&reason).0
                } else {
                    RECONNECT
                };
                tracing::info!(
                    "local switch {name}: connection to {peer} closed: {reason}; \
                     reconnecting in {} s",
                    wait.as_secs()
                );
                Some(tokio::time::Instant::now() + wait)
            }
        };
        self.channel = Channel::Idle { retry_at };
    }

    /// `switchctl connect` or `disconnect`.
    fn command(&mut self, c: SwitchCmd) {
        let name = &self.name;
        let again = match c {
            SwitchCmd::Connect(to) => {
                tracing::info!(
                    "local switch {name}: switchctl connect: to {}",
                    to.map_or("switchd".to_string(), |t| format!("controller {t}"))
                );
                self.controller = to;
                self.standalone =
                    self.controller.is_some() && self.cfg.fail_mode == conf::FailMode::Standalone;
                self.backoff.reset();
                true
            }
            SwitchCmd::Disconnect => {
                tracing::info!("local switch {name}: switchctl disconnect");
                false
            }
        };
        if !self.available {
            return;
        }
        self.controllers.command(again);
        // ofp sees a forwarded switch through the observer, and the others directly.
        if self.controller.is_some() != self.observer.is_some() {
            self.observer = self
                .controller
                .is_some()
                .then(|| Observer::new(self.acfg.clone(), Instant::now()));
        }
        let idle = Channel::Idle { retry_at: None };
        self.channel = match std::mem::replace(&mut self.channel, idle) {
            Channel::Open(pump) | Channel::Closing { pump, .. } => {
                self.agent.close(if again {
                    "switchctl connect"
                } else {
                    "switchctl disconnect"
                });
                Channel::Closing { pump, again }
            }
            // A connection attempt under way is dropped.
            Channel::Idle { .. } | Channel::Connecting(_) => {
                if !again && self.standalone {
                    self.agent.fail_open(Instant::now());
                }
                Channel::Idle {
                    retry_at: again.then(tokio::time::Instant::now),
                }
            }
        };
    }

    /// The observer's connection to ofp, with the real switch lent for the time.
    async fn observer_event(&mut self, w: observer::Wake) {
        if let Some(o) = self.observer.as_mut() {
            o.step(
                w,
                &mut self.agent.switch,
                &self.peers,
                &self.links,
                &self.name,
            )
            .await;
        }
    }

    /// A link changed: the bridge's ports follow, and the injection pair with them.
    async fn link_event(&mut self, ev: Option<LinkEvent>) {
        let name = &self.name;
        match ev {
            Some(ev) => {
                // The bridge's own events may change its address, which the injection
                // pair's far end follows.
                let on_bridge = matches!(&ev, LinkEvent::New(l) if l.index == self.bridge.index);
                let changes =
                    follow_link(&self.links, &mut self.bridge, &mut self.agent, name, ev).await;
                if on_bridge || !changes.is_empty() {
                    let ports = port_ifindexes(&self.agent);
                    let table = &mut *self.agent.switch.backend;
                    sync_injector(self.injector.as_mut(), ports, table).await;
                }
                for (reason, desc) in changes {
                    self.controllers.port_status(reason, &desc);
                    if let Some(o) = self.observer.as_mut() {
                        o.port_status(Some((reason, desc)));
                    }
                }
            }
            None => {
                tracing::warn!(
                    "local switch {name}: link events stopped; ports are no longer followed"
                );
                self.events = futures::channel::mpsc::unbounded().1;
            }
        }
    }

    /// The controller channel: time to connect, a connection made (or not), bytes to move.
    async fn channel_event(&mut self, w: channel::Wake) {
        let name = &self.name;
        match w {
            channel::Wake::Retry => {
                self.channel = Channel::Idle { retry_at: None };
                if let Some(addr) = self.controller {
                    tracing::debug!("local switch {name}: connecting to controller {addr}");
                    let tls = self.cfg.forward_to.as_ref().is_some_and(|f| f.tls);
                    self.channel = Channel::Connecting(Box::pin(remote::connect(addr, tls)));
                    return;
                }
                match offer(&self.peers, name, false).await {
                    Ok(s) => {
                        tracing::debug!("local switch {name}: connection offered to ofp");
                        self.agent.restart(Instant::now());
                        self.channel = Channel::Open(Pump::new(s.into(), "the ofp process".into()));
                    }
                    Err(e) => {
                        tracing::warn!("local switch {name}: cannot make a socketpair: {e}");
                        self.channel = Channel::Idle {
                            retry_at: Some(tokio::time::Instant::now() + RECONNECT),
                        };
                    }
                }
            }
            channel::Wake::Connected(r) => self.connected(r),
            channel::Wake::Io(r) => {
                if let Some(pump) = self.channel.pump() {
                    pump.transfer(r, &mut self.agent);
                }
            }
        }
    }

    /// A connection attempt to the remote controller ended.
    fn connected(&mut self, r: std::io::Result<crate::endpoint::stream::Stream>) {
        let addr = self.controller.map(|c| c.to_string()).unwrap_or_default();
        self.channel =
            remote::channel_after_connect(&self.name, &addr, r, &mut self.agent, &mut self.backoff);
    }

    /// Told to stop (`keep_filters`: the flows stay in the kernel for the next run).
    async fn stopped(self, keep_filters: bool) {
        let name = &self.name;
        let a = self.agent;
        let p = a.packet_ins;
        tracing::info!(
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
            let mut a = a;
            a.switch.backend.release();
            if let Some(i) = self.injector {
                i.remove().await;
            }
            super::overlay::remove_tunnels(&self.links, name).await;
        }
    }
}

/// Why a configured local switch is not offered to the ofp process, if it is not.
pub(crate) fn unavailable(cfg: &SwitchConfig, kernel: &Option<String>) -> Option<String> {
    if let Some(k) = kernel {
        return Some(k.clone());
    }
    for f in cfg.forward_to.iter().chain(&cfg.also_forward_to) {
        if let Err(e) = remote::controller_addr(&f.host_port()) {
            return Some(e);
        }
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
            tracing::info!("local switch {}: adopted bridge {br}", cfg.name);
            l
        }
        Some(_) => return Err(format!("{br} exists and is not a bridge")),
        None => {
            links
                .add_bridge(br)
                .await
                .map_err(|e| format!("creating bridge {br}: {e}"))?;
            tracing::info!("local switch {}: created bridge {br}", cfg.name);
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
                Ok(()) => tracing::info!("local switch {}: {} added to {br}", cfg.name, l.name),
                Err(e) => {
                    tracing::warn!("local switch {}: adding {} to {br}: {e}", cfg.name, l.name)
                }
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

/// Keep the injection filters in step with the switch's ports.
async fn sync_injector(
    i: Option<&mut inject::Injector>,
    ports: BTreeMap<u32, u32>,
    table: &mut (dyn tc_datapath::Backend + Send),
) {
    if let Some(i) = i {
        i.sync(&ports, table).await;
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

/// Give the heap's free pages back to the kernel once the configured flows are in:
/// installing many flows leaves free holes (translated filters, batches, the decoded
/// configuration) between the allocations that stay, and they would count as the process's
/// memory until reused. Logs what stays in use.
fn trim_heap(name: &str) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: both only read or adjust glibc's own allocator state.
        let (info, _) = unsafe { (libc::mallinfo2(), libc::malloc_trim(0)) };
        tracing::info!(
            "local switch {name}: heap {} KiB in use, {} KiB free before trimming",
            (info.uordblks + info.hblkhd) / 1024,
            info.fordblks / 1024
        );
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = name;
}

/// Follow a link event; the PORT_STATUS changes it made (for the observer).
async fn follow_link(
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
                    tracing::info!("local switch {name}: port {} ({}) appeared", no, l.name);
                    no
                }
            };
            b.members.insert(l.index, (l.name.clone(), no));
            changes.extend(a.port_update(switch_port(&l, no)));
        }
        BridgeChange::Enslave(l) => match links.enslave(l.index, b.index).await {
            Ok(()) => tracing::info!("local switch {name}: {} added to {}", l.name, b.name),
            Err(e) => tracing::warn!("local switch {name}: adding {} to {}: {e}", l.name, b.name),
        },
        BridgeChange::PortGone(l) => {
            if let Some((pname, no)) = b.members.remove(&l.index) {
                tracing::info!("local switch {name}: port {no} ({pname}) went away");
                b.numbers.release(&pname);
                changes.extend(a.port_delete(no));
            }
            // A configured port that left the bridge is put back.
            if matches!(ev, LinkEvent::New(_)) && b.numbers.is_configured(&l.name) {
                if let Err(e) = links.enslave(l.index, b.index).await {
                    tracing::warn!("local switch {name}: adding {} to {}: {e}", l.name, b.name);
                }
            }
        }
        BridgeChange::BridgeGone => {
            tracing::warn!(
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
/// burst leave in one write, not one write each. The samples taken, if `keep` (for the
/// switch's other controllers).
fn take_samples(
    a: &mut Agent,
    samples: &mut Option<broadcast::Receiver<Arc<Sample>>>,
    first: Result<Arc<Sample>, broadcast::error::RecvError>,
    keep: bool,
) -> Vec<Arc<Sample>> {
    use broadcast::error::{RecvError, TryRecvError};
    let mut taken = Vec::new();
    let mut r = first;
    for _ in 0..SAMPLE_DRAIN {
        match r {
            Ok(s) => {
                a.packet_in(SampledPacket {
                    ifindex16: s.ifindex,
                    group: s.group,
                    total_len: s.orig_size,
                    data: &s.data,
                });
                if keep {
                    taken.push(s);
                }
            }
            Err(RecvError::Lagged(n)) => {
                a.packet_ins.backlog += n;
                crate::metrics::packet_in_dropped(a.name(), "backlog", n);
            }
            Err(RecvError::Closed) => {
                *samples = None;
                return taken;
            }
        }
        let Some(rx) = samples.as_mut() else {
            return taken;
        };
        if a.output().len() >= SAMPLE_DRAIN_BYTES {
            return taken;
        }
        r = match rx.try_recv() {
            Ok(s) => Ok(s),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => return taken,
        };
    }
    taken
}

async fn wake(w: Option<observer::Waiter<'_>>) -> observer::Wake {
    match w {
        Some(w) => w.wake().await,
        None => std::future::pending().await,
    }
}
