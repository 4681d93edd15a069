//! The ofp process's registry: the listeners and their connections, the connected switches
//! by datapath id (and how to reach each one's session task), and the configured switches.
//! Shared by the process's entry (`ofp.rs`) and the session tasks (`conn.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ofproto::v13::MacAddr;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::flowtext::FlowRow;
use super::portcount::PortCounters;
use super::session::{PortInfo, SessionConfig, Version};
use crate::child::Peers;
use crate::ctlproto::{Event, EventKind, FlowCommand};
use crate::msg::{ConfiguredFlow, Msg, Role, SwitchConfig};

#[derive(Debug, Default)]
pub(crate) struct Listener {
    pub(crate) accept: Option<JoinHandle<()>>,
    /// The listening socket (shared with the accept task, and kept by a swap).
    pub(crate) socket: Option<Arc<tokio::net::TcpListener>>,
    pub(crate) conns: HashMap<u64, Conn>,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) peer: String,
    pub(crate) task: JoinHandle<()>,
}

/// A connected switch, by datapath id.
#[derive(Debug, Clone)]
pub(crate) struct SwitchHandle {
    /// The connection that holds it (a newer one replaces it).
    pub(crate) conn: u64,
    pub(crate) peer: String,
    pub(crate) version: Version,
    pub(crate) since_ms: u64,
    pub(crate) cmd: mpsc::Sender<Cmd>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) listeners: HashMap<String, Listener>,
    pub(crate) next_conn: u64,
    pub(crate) session_config: SessionConfig,
    pub(crate) switches: BTreeMap<u64, SwitchHandle>,
    /// The configured `switch` blocks: names, and static flows by datapath id.
    pub(crate) configured: Vec<SwitchConfig>,
    /// What the datapath says about each local switch, by name (see `Msg::SwitchNotes`).
    pub(crate) notes: HashMap<String, Vec<String>>,
    /// The local switches whose flows the kernel cannot enforce, by name.
    pub(crate) unenforced: BTreeMap<String, super::unenforced::UnenforcedSwitch>,
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) async fn event(peers: &Peers, kind: EventKind) {
    peers
        .send(Role::Control, &Msg::Event(Event::now(kind)))
        .await;
}

/// The static flows the configuration gives the switch `dpid` (none if it is not
/// configured).
pub(crate) fn static_flows(st: &State, dpid: u64) -> Vec<String> {
    configured_flows(st, dpid)
        .filter_map(|f| f.text().map(str::to_string))
        .collect()
}

/// `FILE:LINE` of the static flow `text` of the switch `dpid`, where the configuration
/// has it.
pub(crate) fn static_flow_at(st: &State, dpid: u64, text: &str) -> Option<String> {
    configured_flows(st, dpid)
        .find(|f| f.text() == Some(text))
        .map(ConfiguredFlow::at)
}

fn configured_flows(st: &State, dpid: u64) -> impl Iterator<Item = &ConfiguredFlow> {
    st.configured
        .iter()
        // A local switch's static flows are installed by the datapath process itself.
        .find(|s| s.bridge.is_none() && s.datapath_id == Some(dpid))
        .into_iter()
        .flat_map(|s| &s.flows)
}

/// Commands to a running session from the rest of the ofp process.
#[derive(Debug)]
pub(crate) enum Cmd {
    Snapshot(oneshot::Sender<Snapshot>),
    FlowStats(oneshot::Sender<Result<Vec<FlowRow>, String>>),
    PortStats(oneshot::Sender<Result<Vec<PortCounters>, String>>),
    Close(String),
    Config(SessionConfig),
    /// switchctl `add flow` / `del flow`: answered once the switch answered the barrier.
    FlowMod {
        command: FlowCommand,
        flow: String,
        reply: oneshot::Sender<Result<(), FlowModError>>,
    },
    /// The configuration's static flows for this switch changed (reload).
    StaticFlows(Vec<String>),
}

/// Why a switchctl flow-mod did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlowModError {
    /// The switch answered OFPT_ERROR, named as in the specification.
    Refused(String),
    /// It was never sent (bad flow text for this version, switch not ready) or the
    /// connection ended first.
    NotSent(String),
}

/// What `show ports` and `show macs` need from a session.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) ports: Vec<PortInfo>,
    pub(crate) macs: Vec<(MacAddr, u32, Duration)>,
    /// Messages by type on this connection (the metrics).
    pub(crate) counts: crate::endpoint::MsgCounts,
}
