//! The datapath process: the one unprivileged process that may change the kernel's network
//! configuration (bridges, ports, qdiscs, flower filters) over rtnetlink, and the OpenFlow
//! 1.3 switch that each configured local bridge is.
//!
//! - `local.rs`: one local switch, a struct with one method per event, and its task;
//! - `channel.rs`: a local switch's controller channel, one state (idle, connecting, open,
//!   closing);
//! - `agent.rs`: the switch side of one OpenFlow connection, sans-IO;
//! - `switch.rs`: what a switch is across connections (flow table, backend, ports);
//! - `observer.rs`: ofp's view of a switch that a remote controller drives;
//! - `portstats.rs`: port counters from the kernel for the agent's PORT_STATS;
//! - `flowtable.rs`: OpenFlow's flow-table semantics, over a [`tc_datapath::Backend`]
//!   (a local switch's kernel table, [`tc_datapath::Table`]);
//! - `configured.rs`: a local switch's table-miss and configured flows into its flow table,
//!   refusals logged at their `file:line`;
//! - `links.rs`: bridges, ports and link events over rtnetlink;
//! - `packetout.rs`: PACKET_OUT, sent on the devices through the parent's packet socket;
//! - `inject.rs`: the veth pair through which a packet-out reaches the flow table (TABLE)
//!   or the host (LOCAL);
//! - `remote.rs`: a remote controller's address, connection and reconnection schedule;
//! - here: the process entry, one task per local switch, speaking OpenFlow over a
//!   socketpair whose other end goes to the ofp process (as OpenBSD's switch(4) spoke it
//!   over /dev/switchN), or over TCP to the remote controller of `forward to`, and reloads
//!   that start, stop and restart those tasks.

pub(crate) mod agent;
mod channel;
pub mod configured;
mod controllers;
pub mod flowtable;
pub(crate) mod groups;
pub(crate) mod inject;
pub(crate) mod links;
mod local;
pub(crate) mod observer;
mod overlay;
pub(crate) mod packetout;
mod portstats;
pub(crate) mod refusals;
pub(crate) mod remote;
pub(crate) mod roles;
mod switch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use caps::{CapSet, Capability};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::child::{self, Input, Peers, Setup};
use crate::log;
use crate::msg::{self, Msg, Role, RuntimeConfig, SwitchConfig};
use links::Links;
use local::{local_switch, unavailable, Inputs, SwitchCmd, SAMPLE_DRAIN};
use tc_datapath::psample::{Psample, Sample};

/// The only capability this process keeps (effective and permitted).
pub(crate) const KEEP_CAPS: &[Capability] = &[Capability::CAP_NET_ADMIN];

/// Sampled packets that a local switch's task may fall behind the psample reader by;
/// more are dropped and counted.
const SAMPLE_BACKLOG: usize = 1024;

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
pub(crate) async fn datapath(setup: Setup) -> i32 {
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
        tracing::warn!("CAP_NET_ADMIN is not effective; the kernel will refuse every change");
    }
    match setup.packet_socket {
        Some(fd) => packetout::set_socket(fd),
        None => tracing::warn!("no packet socket from the parent: packet-outs will be refused"),
    }
    let Some((peers, mut rx, mut term)) = child::start_channels(setup.parent, setup.peers) else {
        return 1;
    };
    let links = match Links::open() {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("cannot open an rtnetlink socket: {e}; no local switch will run");
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
    tracing::info!("started");
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
        Msg::Tls { material } => crate::tls::install(crate::tls::Side::Client, material.as_ref()),
        Msg::Config(c) => {
            tracing::debug!("new configuration: {c:?}");
            apply_config(st, peers, c).await;
        }
        other => msg::unexpected(Role::Parent, &other),
    }
}

/// Messages from ofp and control.
async fn dispatch_peer(peers: &Peers, from: Role, m: Msg) {
    match m {
        Msg::Ping { id } => peers.send(from, &Msg::Pong { id }).await,
        Msg::MetricsRequest { id } => {
            let metrics = crate::metrics::dp_metrics();
            peers.send(from, &Msg::DpMetricsReply { id, metrics }).await
        }
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
    tracing::info!("local switch {name} stopped");
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
            tracing::warn!("local switch {name} unavailable: no rtnetlink socket");
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
    fn of(flows: &[impl std::hash::Hash]) -> FlowsDigest {
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

/// The modules a local switch cannot do without.
const REQUIRED: &[&str] = &["sch_clsact", "cls_flower", "act_gact", "act_mirred"];

/// What the kernel lacks that a local switch needs, as the kernel's words, or `None`.
async fn probe() -> Option<String> {
    let mut tc = match tc_datapath::Tc::new() {
        Ok(t) => t,
        Err(e) => return Some(format!("cannot open a TC netlink socket: {e}")),
    };
    let k = tc.probe();
    tracing::info!("kernel probe: present: {}", k.present.join(", "));
    for m in &k.missing {
        tracing::info!("kernel probe: {m}");
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

/// The psample reader: every packet that output:CONTROLLER copied, to every local
/// switch's task. One socket for the process, because the kernel copies each sample once
/// per listening socket; the tasks keep the samples of their own ports.
fn start_psample() -> Option<broadcast::Sender<Arc<Sample>>> {
    let mut ps = match Psample::open() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("packet-in unavailable: cannot listen to psample: {e}");
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
                    tracing::warn!("psample: {e}; packet-in stops");
                    return;
                }
            }
            // Logged at 1, 2, 4, 8, ... so that a storm does not flood the log.
            if ps.overruns != overruns {
                overruns = ps.overruns;
                crate::metrics::psample_overruns(overruns);
                if overruns.is_power_of_two() {
                    tracing::warn!(
                        "psample: the kernel dropped sampled packets, the receive buffer \
                         was full ({overruns} times so far)"
                    );
                }
            }
            if ps.malformed != malformed {
                malformed = ps.malformed;
                if malformed.is_power_of_two() {
                    tracing::warn!("psample: {malformed} malformed messages so far");
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
