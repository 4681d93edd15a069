//! The messages that travel between switchd's processes, and the process roles.
//!
//! One enum for every internal message; each process has one dispatch function per peer
//! that matches the messages it expects from that peer, and reports anything else as a bug
//! naming the sender ([`unexpected`]).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ctlproto::{Event, FlowCommand, ListenerSummary, Table, TableKind};

/// A switchd process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Parent,
    Control,
    Ofp,
    Datapath,
}

impl Role {
    /// The children, in the order the parent starts them.
    pub const CHILDREN: [Role; 3] = [Role::Control, Role::Ofp, Role::Datapath];

    pub fn name(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Control => "control",
            Role::Ofp => "ofp",
            Role::Datapath => "datapath",
        }
    }

    /// The process title, which `ps -o args` shows; for a child it is its whole argv.
    pub fn title(self) -> String {
        format!("switchd: {}", self.name())
    }

    /// The child whose title is `title`, if any.
    pub fn from_title(title: &str) -> Option<Role> {
        Role::CHILDREN.into_iter().find(|r| r.title() == title)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a child needs to know before it drops privileges; the first message on its
/// parent channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Init {
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub chroot: PathBuf,
    pub foreground: bool,
    pub verbose: u8,
    /// When the parent started, milliseconds since the Unix epoch (for uptime).
    pub started_ms: u64,
    pub parent_pid: u32,
    pub config_file: String,
    pub config: RuntimeConfig,
}

/// The part of the configuration the children act on. `listen` entries are `addr:port`
/// (`[v6]:port`) strings, the names listeners go by everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub listen: Vec<String>,
    pub timeout: u32,
    pub cache: u32,
    pub echo_interval: u32,
    /// The configured switches, in configuration order.
    pub switches: Vec<SwitchConfig>,
}

impl RuntimeConfig {
    /// What `role` reads of the configuration: the flow lines only where they are
    /// installed (ofp: external switches'; datapath: local switches'; control: none), so
    /// that a local switch's 100,000 flow lines are not kept by processes that never
    /// read them.
    pub fn for_role(&self, role: Role) -> RuntimeConfig {
        let mut c = self.clone();
        for s in &mut c.switches {
            let keep = match role {
                Role::Ofp => s.bridge.is_none(),
                Role::Datapath => s.bridge.is_some(),
                Role::Control | Role::Parent => false,
            };
            if !keep {
                s.flows = Vec::new();
            }
        }
        c
    }
}

/// One configured `switch` block, as the children need it (see switchd.conf(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchConfig {
    pub name: String,
    /// `Some`: a local Linux bridge, driven by the datapath process through TC.
    pub bridge: Option<String>,
    /// Always given for an external switch; for a local one `None` means "derive it from
    /// the bridge's MAC address".
    pub datapath_id: Option<u64>,
    /// Local switches: interface name and OpenFlow port number, in configuration order.
    pub ports: Vec<(String, u32)>,
    /// Local switches: `normal`, `controller` or `drop`.
    pub table_miss: String,
    /// Static flows in ovs-ofctl syntax, installed whenever the switch connects.
    pub flows: Vec<String>,
    /// Local switches: `HOST:PORT` of the remote controller (`forward to tcp:HOST:PORT`).
    pub forward_to: Option<String>,
    /// Local switches: `secure` or `standalone`.
    pub fail_mode: String,
    /// Local switches: `take ports` (remove the filters switchd did not make).
    #[serde(default)]
    pub take_ports: bool,
}

impl SwitchConfig {
    /// Equal but for the flow lines.
    pub fn same_but_flows(&self, other: &SwitchConfig) -> bool {
        let SwitchConfig {
            name,
            bridge,
            datapath_id,
            ports,
            table_miss,
            flows: _,
            forward_to,
            fail_mode,
            take_ports,
        } = self;
        *name == other.name
            && *bridge == other.bridge
            && *datapath_id == other.datapath_id
            && *ports == other.ports
            && *table_miss == other.table_miss
            && *forward_to == other.forward_to
            && *fail_mode == other.fail_mode
            && *take_ports == other.take_ports
    }
}

/// Every message between switchd's processes. The comment on each variant says who sends it
/// to whom, and which descriptors ride along.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Msg {
    /// parent -> child, first message.
    Init(Init),
    /// parent -> child: the child's end of a channel to `peer` (1 descriptor).
    PeerChannel {
        peer: Role,
    },
    /// parent -> control: the listening control socket (1 descriptor).
    ControlSocket {
        path: String,
    },
    /// parent -> ofp: a listening OpenFlow socket (1 descriptor).
    ListenerAdd {
        listener: String,
    },
    /// parent -> ofp: stop listening on `listener` and close its connections.
    ListenerRemove {
        listener: String,
    },
    /// parent -> datapath: an AF_PACKET socket (SOCK_RAW, protocol 0, non-blocking) to
    /// send packet-outs on, which the datapath may not open itself (1 descriptor).
    PacketSocket,
    /// parent -> child: setup is complete; start serving.
    SetupDone,
    /// parent -> children: the configuration after a reload.
    Config(RuntimeConfig),
    /// parent -> children: the new log verbosity.
    Verbose {
        verbose: u8,
    },
    /// control -> parent: `switchctl reload`, answered by `ReloadResult` with the same id.
    /// `file` (`switchctl load FILE`): read that file instead of the `-f` one.
    ReloadRequest {
        id: u64,
        #[serde(default)]
        file: Option<String>,
    },
    /// parent -> control: empty `errors` means the new configuration is running; `notes`
    /// name changed settings that only a restart applies.
    ReloadResult {
        id: u64,
        errors: Vec<String>,
        #[serde(default)]
        notes: Vec<String>,
    },
    /// control -> parent: `switchctl log verbose|brief`.
    LogRequest {
        verbose: bool,
    },
    /// parent, ofp -> control: something for `switchctl monitor`.
    Event(Event),
    /// control -> ofp: how many connections per listener?
    ConnCountsRequest {
        id: u64,
    },
    /// ofp -> control.
    ConnCounts {
        id: u64,
        listeners: Vec<ListenerSummary>,
    },
    /// control -> ofp: `switchctl show switches|ports|macs|flows [switch]`.
    ShowRequest {
        id: u64,
        table: TableKind,
        switch: Option<String>,
    },
    /// ofp -> control: rows of the table, in as many messages as an IPC frame needs
    /// (`more` on all but the last); `error`, on the last, says what could not be shown.
    ShowReply {
        id: u64,
        table: Table,
        error: Option<String>,
        more: bool,
    },
    /// control -> ofp: `switchctl add flow` / `del flow`; `flow` is ovs-ofctl text (empty
    /// for `del flow SWITCH`). Answered by `FlowResult` once the switch has answered the
    /// barrier that follows the flow-mod.
    FlowRequest {
        id: u64,
        switch: String,
        command: FlowCommand,
        flow: String,
    },
    /// control -> datapath: `switchctl connect` (`connect`, to `forward_to` or to ofp) or
    /// `switchctl disconnect`. Answered by `FlowResult` with the same id.
    Connect {
        id: u64,
        switch: String,
        connect: bool,
        #[serde(default)]
        forward_to: Option<String>,
    },
    /// ofp or datapath -> control: `error` is a sentence (bad flow text, no such switch,
    /// the switch's OFPT_ERROR, a controller address that cannot be used).
    FlowResult {
        id: u64,
        error: Option<String>,
    },
    /// parent -> ofp: answer `BarrierAck` once every earlier message has been acted on
    /// (so that `switchctl reload` returns only when the listeners have changed).
    Barrier {
        id: u64,
    },
    /// ofp -> parent.
    BarrierAck {
        id: u64,
    },
    /// datapath -> ofp: local switch `name` as an OpenFlow 1.3 switch, the stream end of a
    /// socketpair (1 descriptor); ofp runs a switch connection on it.
    LocalSwitch {
        name: String,
        /// The switch is forwarded to a remote controller: ofp only looks (ports, flows
        /// and counters for switchctl), as a slave.
        #[serde(default)]
        observe: bool,
    },
    /// anyone -> datapath, answered by `Pong` with the same id.
    Ping {
        id: u64,
    },
    Pong {
        id: u64,
    },
}

impl Msg {
    /// The variant's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Init(_) => "init",
            Msg::PeerChannel { .. } => "peer_channel",
            Msg::ControlSocket { .. } => "control_socket",
            Msg::ListenerAdd { .. } => "listener_add",
            Msg::ListenerRemove { .. } => "listener_remove",
            Msg::PacketSocket => "packet_socket",
            Msg::SetupDone => "setup_done",
            Msg::Config(_) => "config",
            Msg::Verbose { .. } => "verbose",
            Msg::ReloadRequest { .. } => "reload_request",
            Msg::ReloadResult { .. } => "reload_result",
            Msg::LogRequest { .. } => "log_request",
            Msg::Event(_) => "event",
            Msg::ConnCountsRequest { .. } => "conn_counts_request",
            Msg::ConnCounts { .. } => "conn_counts",
            Msg::ShowRequest { .. } => "show_request",
            Msg::ShowReply { .. } => "show_reply",
            Msg::FlowRequest { .. } => "flow_request",
            Msg::Connect { .. } => "connect",
            Msg::FlowResult { .. } => "flow_result",
            Msg::Barrier { .. } => "barrier",
            Msg::BarrierAck { .. } => "barrier_ack",
            Msg::LocalSwitch { .. } => "local_switch",
            Msg::Ping { .. } => "ping",
            Msg::Pong { .. } => "pong",
        }
    }
}

/// Report a message that `peer` should never have sent us: a bug in switchd, logged loudly.
pub fn unexpected(peer: Role, msg: &Msg) {
    crate::log_warn!(
        "BUG: unexpected message {} from {peer}: {msg:?}",
        msg.kind()
    );
}

#[cfg(test)]
mod tests {
    use super::SwitchConfig;

    #[test]
    fn same_but_flows_looks_at_everything_but_the_flows() {
        let a = SwitchConfig {
            name: "vm".into(),
            bridge: Some("br-vm".into()),
            datapath_id: None,
            ports: vec![("tap0".into(), 1)],
            table_miss: "normal".into(),
            flows: vec!["priority=1,actions=drop".into()],
            forward_to: None,
            fail_mode: "secure".into(),
            take_ports: false,
        };
        let other_flows = SwitchConfig {
            flows: Vec::new(),
            ..a.clone()
        };
        assert!(a.same_but_flows(&other_flows));
        let changed: Vec<SwitchConfig> = vec![
            SwitchConfig {
                name: "vm2".into(),
                ..a.clone()
            },
            SwitchConfig {
                bridge: Some("br2".into()),
                ..a.clone()
            },
            SwitchConfig {
                datapath_id: Some(1),
                ..a.clone()
            },
            SwitchConfig {
                ports: vec![("tap0".into(), 2)],
                ..a.clone()
            },
            SwitchConfig {
                table_miss: "drop".into(),
                ..a.clone()
            },
            SwitchConfig {
                forward_to: Some("127.0.0.1:6653".into()),
                ..a.clone()
            },
            SwitchConfig {
                fail_mode: "standalone".into(),
                ..a.clone()
            },
        ];
        for c in changed {
            assert!(!a.same_but_flows(&c), "{c:?}");
        }
    }
}
