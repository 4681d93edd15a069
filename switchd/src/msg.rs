//! The messages that travel between switchd's processes, and the process roles.
//!
//! One enum for every internal message; each process has one dispatch function per peer
//! that matches the messages it expects from that peer, and reports anything else as a bug
//! naming the sender ([`unexpected`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

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
    pub(crate) const CHILDREN: [Role; 3] = [Role::Control, Role::Ofp, Role::Datapath];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Control => "control",
            Role::Ofp => "ofp",
            Role::Datapath => "datapath",
        }
    }

    /// The process title, which `ps -o args` shows; for a child it is its whole argv.
    pub(crate) fn title(self) -> String {
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
    /// The VMs of the virtual networks (`show networks`; control keeps them). Boxed: the
    /// configuration travels in messages that should stay small.
    #[serde(default)]
    pub networks: Box<Vec<crate::vnet::show::VnetVm>>,
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
    /// Local switches only.
    pub table_miss: conf::TableMiss,
    /// Static flows, installed whenever the switch connects: text for an external switch,
    /// the parsed flow-mod for a local one (see [`ConfiguredFlow::all`]).
    #[serde(with = "flow_list")]
    pub flows: Vec<ConfiguredFlow>,
    /// Local switches: the remote controller (`forward to tcp:HOST:PORT`).
    pub forward_to: Option<conf::ForwardTo>,
    /// Local switches: the controllers of the later `forward to` lines (6.3.6).
    #[serde(default)]
    pub also_forward_to: Vec<conf::ForwardTo>,
    /// Local switches only.
    pub fail_mode: conf::FailMode,
    /// Local switches: `take ports` (remove the filters switchd did not make).
    #[serde(default)]
    pub take_ports: bool,
    /// Local switches: the ports that are tunnel devices switchd makes (`port "vx0" vxlan`).
    #[serde(default)]
    pub tunnels: Vec<(String, conf::Tunnel)>,
    /// Local switches: the meters installed before the flows (`meter N rate R kbps`).
    #[serde(default)]
    pub meters: Vec<conf::Meter>,
}

impl SwitchConfig {
    /// Equal but for the flow lines.
    pub(crate) fn same_but_flows(&self, other: &SwitchConfig) -> bool {
        let SwitchConfig {
            name,
            bridge,
            datapath_id,
            ports,
            table_miss,
            flows: _,
            forward_to,
            also_forward_to,
            fail_mode,
            take_ports,
            tunnels,
            meters,
        } = self;
        *name == other.name
            && *bridge == other.bridge
            && *datapath_id == other.datapath_id
            && *ports == other.ports
            && *table_miss == other.table_miss
            && *forward_to == other.forward_to
            && *also_forward_to == other.also_forward_to
            && *fail_mode == other.fail_mode
            && *take_ports == other.take_ports
            && *tunnels == other.tunnels
            && *meters == other.meters
    }
}

/// One `flow` line of a switch block: where it was written, and the flow in the form the
/// process that installs it takes.
///
/// Hashing looks at the flow only: a flow moved to another line is the same flow (a reload
/// does not restart a switch for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredFlow {
    /// The file, shared by the flows written in it.
    pub file: Arc<str>,
    pub line: u32,
    pub flow: FlowForm,
}

impl std::hash::Hash for ConfiguredFlow {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.flow.hash(h);
    }
}

/// What a configured flow travels as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowForm {
    /// ovs-ofctl text (an external switch's flow: which OpenFlow version it is said in is
    /// known only when the switch connects).
    Text(String),
    /// A local switch's flow as the parent parsed it: an OpenFlow 1.3 OFPT_FLOW_MOD (an ADD),
    /// as ofproto encodes it; base64 in the message. The datapath decodes it, which checks it
    /// again, and parses no text.
    FlowMod(#[serde(with = "base64")] Arc<[u8]>),
    /// A local switch's flow line that is no OpenFlow 1.3 flow (it is one for 1.0): why.
    Not13(String),
}

impl ConfiguredFlow {
    /// The flow lines `flows` as the process that installs them for a local (`local`) or an
    /// external switch takes them.
    pub(crate) fn all(flows: &[conf::Flow], local: bool) -> Vec<ConfiguredFlow> {
        let mut file: Arc<str> = Arc::from("");
        flows
            .iter()
            .map(|f| {
                if *file != *f.file {
                    file = Arc::from(f.file.as_str());
                }
                let flow = match (&f.of13, local) {
                    (_, false) => FlowForm::Text(f.text.clone()),
                    (Ok(wire), true) => FlowForm::FlowMod(wire.clone()),
                    (Err(e), true) => FlowForm::Not13(e.clone()),
                };
                ConfiguredFlow {
                    file: file.clone(),
                    line: f.line,
                    flow,
                }
            })
            .collect()
    }

    /// The ovs-ofctl text, for an external switch's flow.
    pub fn text(&self) -> Option<&str> {
        match &self.flow {
            FlowForm::Text(t) => Some(t),
            FlowForm::FlowMod(_) | FlowForm::Not13(_) => None,
        }
    }

    /// `FILE:LINE`, the start of a log line about this flow (as OpenBSD's daemons say it).
    pub(crate) fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A switch's flow lines in a message: the files once, then each flow as `[FILE, LINE,
/// FLOW]` with FILE an index into them (100,000 flow lines name one file 100,000 times).
mod flow_list {
    use std::sync::Arc;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{ConfiguredFlow, FlowForm};

    #[derive(Serialize)]
    struct Out<'a> {
        files: Vec<&'a str>,
        flows: Vec<(usize, u32, &'a FlowForm)>,
    }

    #[derive(Deserialize)]
    struct In {
        files: Vec<String>,
        flows: Vec<(usize, u32, FlowForm)>,
    }

    pub fn serialize<S: Serializer>(flows: &[ConfiguredFlow], s: S) -> Result<S::Ok, S::Error> {
        let mut files: Vec<&str> = Vec::new();
        let flows = flows
            .iter()
            .map(|f| {
                let i = match files.iter().rposition(|x| **x == *f.file) {
                    Some(i) => i,
                    None => {
                        files.push(&f.file);
                        files.len() - 1
                    }
                };
                (i, f.line, &f.flow)
            })
            .collect();
        Out { files, flows }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ConfiguredFlow>, D::Error> {
        let In { files, flows } = In::deserialize(d)?;
        let files: Vec<Arc<str>> = files.into_iter().map(Arc::from).collect();
        flows
            .into_iter()
            .map(|(i, line, flow)| match files.get(i) {
                Some(file) => Ok(ConfiguredFlow {
                    file: file.clone(),
                    line,
                    flow,
                }),
                None => Err(D::Error::custom(format!("flow of file {i}: no such file"))),
            })
            .collect()
    }
}

/// Bytes as a base64 string (RFC 4648, with padding): JSON has no bytes, and an array of
/// numbers is three times as long and slower to read.
mod base64 {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn serialize<S: Serializer>(b: &impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        let b = b.as_ref();
        let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
        for c in b.chunks(3) {
            let n = c
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &x)| n | u32::from(x) << (16 - 8 * i));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: From<Vec<u8>>>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(Base64).map(T::from)
    }

    struct Base64;

    impl Visitor<'_> for Base64 {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: Error>(self, s: &str) -> Result<Vec<u8>, E> {
            let s = s.as_bytes();
            if !s.len().is_multiple_of(4) {
                return Err(E::custom("base64: not a multiple of 4 characters"));
            }
            let mut out = Vec::with_capacity(s.len() / 4 * 3);
            let quads = s.len() / 4;
            for (q, c) in s.chunks_exact(4).enumerate() {
                let pad = if q + 1 == quads {
                    c.iter().rev().take_while(|&&x| x == b'=').count()
                } else {
                    0
                };
                if pad > 2 {
                    return Err(E::custom("base64: too much padding"));
                }
                let mut n = 0u32;
                for &x in &c[..4 - pad] {
                    let v = match x {
                        b'A'..=b'Z' => x - b'A',
                        b'a'..=b'z' => x - b'a' + 26,
                        b'0'..=b'9' => x - b'0' + 52,
                        b'+' => 62,
                        b'/' => 63,
                        _ => return Err(E::custom("base64: not a base64 character")),
                    };
                    n = n << 6 | u32::from(v);
                }
                n <<= 6 * pad;
                out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
            }
            Ok(out)
        }
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
    /// parent -> ofp, datapath: the certificates of their TLS channels (`tls.rs`), at setup
    /// and after each reload; `None`: none configured.
    Tls {
        material: Option<crate::tls::Material>,
    },
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
        /// `switchctl load`: the file's text, read by switchctl as its user; the parent
        /// reads no file a switchctl user names.
        #[serde(default)]
        text: Option<String>,
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
    /// datapath -> ofp: what the operator is told about local switch `name` in `show
    /// switches` (ports its kernel table leaves alone, and why); replaces what was said
    /// before, empty when nothing is to be said.
    SwitchNotes {
        name: String,
        notes: Vec<String>,
    },
    /// parent -> control: the listening TCP socket of `metrics listen on` (1 descriptor).
    MetricsSocket {
        address: String,
    },
    /// control -> ofp (answered by `MetricsReply`) and datapath (`DpMetricsReply`): the
    /// figures for a scrape.
    MetricsRequest {
        id: u64,
    },
    /// ofp -> control.
    MetricsReply {
        id: u64,
        metrics: crate::metrics::OfpMetrics,
    },
    /// datapath -> control: the answer to a `MetricsRequest`.
    DpMetricsReply {
        id: u64,
        metrics: crate::metrics::DpMetrics,
    },
    /// control -> parent: CPU time and memory of every process, answered by `ProcStats`.
    ProcStatsRequest {
        id: u64,
    },
    /// parent -> control.
    ProcStats {
        id: u64,
        procs: Vec<crate::metrics::ProcStat>,
    },
    /// datapath -> control: local switch `name` refused a message of a controller (a
    /// FLOW_MOD or GROUP_MOD, …): the ovs-ofctl `command` and its argument `flow` that
    /// send it, the `reason` with the OpenFlow error, and how many the switch has refused
    /// so far (`count`, this one included).
    Refused {
        name: String,
        command: String,
        flow: String,
        reason: String,
        count: u64,
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
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Msg::Init(_) => "init",
            Msg::PeerChannel { .. } => "peer_channel",
            Msg::ControlSocket { .. } => "control_socket",
            Msg::ListenerAdd { .. } => "listener_add",
            Msg::ListenerRemove { .. } => "listener_remove",
            Msg::PacketSocket => "packet_socket",
            Msg::SetupDone => "setup_done",
            Msg::Config(_) => "config",
            Msg::Tls { .. } => "tls",
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
            Msg::SwitchNotes { .. } => "switch_notes",
            Msg::MetricsSocket { .. } => "metrics_socket",
            Msg::MetricsRequest { .. } => "metrics_request",
            Msg::MetricsReply { .. } => "metrics_reply",
            Msg::DpMetricsReply { .. } => "dp_metrics_reply",
            Msg::ProcStatsRequest { .. } => "proc_stats_request",
            Msg::ProcStats { .. } => "proc_stats",
            Msg::Refused { .. } => "refused",
        }
    }
}

/// Report a message that `peer` should never have sent us: a bug in switchd, logged loudly.
pub(crate) fn unexpected(peer: Role, msg: &Msg) {
    tracing::warn!(
        "BUG: unexpected message {} from {peer}: {msg:?}",
        msg.kind()
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{ConfiguredFlow, FlowForm, Msg, RuntimeConfig, SwitchConfig};
    use conf::{FailMode, TableMiss};

    #[test]
    fn same_but_flows_looks_at_everything_but_the_flows() {
        let a = SwitchConfig {
            name: "vm".into(),
            bridge: Some("br-vm".into()),
            datapath_id: None,
            ports: vec![("tap0".into(), 1)],
            table_miss: TableMiss::Normal,
            flows: ConfiguredFlow::all(
                &[
                    conf::Flow::new("priority=1,actions=drop".into(), "a.conf".into(), 3)
                        .expect("a flow"),
                ],
                true,
            ),
            forward_to: None,
            also_forward_to: Vec::new(),
            fail_mode: FailMode::Secure,
            take_ports: false,
            tunnels: Vec::new(),
            meters: Vec::new(),
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
                table_miss: TableMiss::Drop,
                ..a.clone()
            },
            SwitchConfig {
                forward_to: Some(conf::ForwardTo {
                    host: "127.0.0.1".into(),
                    port: 6653,
                    tls: false,
                }),
                ..a.clone()
            },
            SwitchConfig {
                also_forward_to: vec![conf::ForwardTo {
                    host: "127.0.0.2".into(),
                    port: 6653,
                    tls: false,
                }],
                ..a.clone()
            },
            SwitchConfig {
                fail_mode: FailMode::Standalone,
                ..a.clone()
            },
            SwitchConfig {
                tunnels: vec![(
                    "vx0".into(),
                    conf::Tunnel {
                        kind: conf::TunnelKind::Vxlan,
                        dst_port: 4789,
                    },
                )],
                ..a.clone()
            },
            SwitchConfig {
                meters: vec![conf::Meter {
                    id: 1,
                    rate_kbps: 1000,
                    burst_kb: None,
                }],
                ..a.clone()
            },
        ];
        for c in changed {
            assert!(!a.same_but_flows(&c), "{c:?}");
        }
    }

    fn local_and_external() -> RuntimeConfig {
        let c = conf::parse_str(
            "t.conf",
            "switch \"ext\" {\n\tdatapath-id 1\n\tflow \"priority=5,actions=drop\"\n}\n\
             switch \"vm\" {\n\tbridge \"br-vm\"\n\tport \"tap0\"\n\ttable-miss controller\n\
             \tforward to \"tcp:[::1]:6653\"\n\tfail-mode standalone\n\
             \tflow \"priority=6,tcp,actions=drop\"\n\tflow \"priority=7,actions=mod_nw_dst:1.2.3.4\"\n}\n",
            &[],
        )
        .expect("a valid configuration");
        crate::parent::runtime_config(&c)
    }

    #[test]
    fn configuration_enums_and_flows_cross_the_ipc_typed() {
        let rc = local_and_external();
        let json = serde_json::to_string(&Msg::Config(rc.clone())).expect("encodes");
        // The keywords of the configuration, not strings of our own.
        assert!(json.contains(r#""table_miss":"controller""#), "{json}");
        assert!(json.contains(r#""fail_mode":"standalone""#), "{json}");
        assert!(
            json.contains(r#""forward_to":{"host":"::1","port":6653,"tls":false}"#),
            "{json}"
        );
        let back: Msg = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, Msg::Config(rc.clone()));
        let (ext, vm) = (&rc.switches[0], &rc.switches[1]);
        assert_eq!(
            (vm.table_miss, vm.fail_mode),
            (TableMiss::Controller, FailMode::Standalone)
        );
        // Where each flow was written travels with it; an external switch's as text, a
        // local switch's as the flow-mod it parsed to (or why it is no 1.3 flow).
        assert_eq!(ext.flows[0].at(), "t.conf:3");
        assert_eq!(ext.flows[0].text(), Some("priority=5,actions=drop"));
        assert_eq!(vm.flows[0].at(), "t.conf:11");
        assert!(matches!(&vm.flows[0].flow, FlowForm::FlowMod(w) if w[0] == 4 && w[1] == 14));
        assert!(
            matches!(&vm.flows[1].flow, FlowForm::Not13(e) if e.starts_with("bad flow for OpenFlow 1.3")),
            "{:?}",
            vm.flows[1]
        );
        // Base64 that is not base64 is refused, not guessed at.
        for junk in ["x", "!!!!", "===="] {
            let bad = json.replacen(r#"{"flow_mod":""#, &format!(r#"{{"flow_mod":"{junk}"#), 1);
            assert!(serde_json::from_str::<Msg>(&bad).is_err(), "{junk}");
        }
    }

    #[test]
    fn each_child_gets_the_flows_it_installs() {
        let rc = local_and_external();
        let flows = |role| {
            rc.for_role(role)
                .switches
                .iter()
                .map(|s| s.flows.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(flows(super::Role::Ofp), [1, 0]);
        assert_eq!(flows(super::Role::Datapath), [0, 2]);
        assert_eq!(flows(super::Role::Control), [0, 0]);
    }

    #[test]
    fn a_flow_hashes_by_what_it_is_not_where_it_was_written() {
        use std::hash::{BuildHasher, RandomState};
        let f = |line| {
            ConfiguredFlow::all(
                &[
                    conf::Flow::new("priority=1,actions=drop".into(), "a.conf".into(), line)
                        .expect("a flow"),
                ],
                true,
            )
            .remove(0)
        };
        let h = RandomState::new();
        assert_eq!(h.hash_one(f(1)), h.hash_one(f(2)));
        assert_ne!(f(1), f(2));
    }

    #[test]
    fn bytes_go_as_base64_and_come_back() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\x00\x01\x80", "//4AAYA="),
        ] {
            let m = FlowForm::FlowMod(Arc::from(bytes));
            let json = serde_json::to_string(&m).expect("encodes");
            assert_eq!(json, format!(r#"{{"flow_mod":"{text}"}}"#));
            assert_eq!(serde_json::from_str::<FlowForm>(&json).expect("decodes"), m);
        }
    }
}
