//! The control protocol: what `switchctl` and the control process say to each other.
//!
//! Both sides use these types, so they cannot drift apart. The control socket is a stream
//! socket carrying one JSON object per line (`\n`-terminated): one [`Request`] from the
//! client, then one [`Response`] (or, for `monitor`, a [`Response::Event`] per line until the
//! client goes away). JSON lines on the outside, because anyone can read them with `socat`,
//! and `switchctl -j` can pass the daemon's own words through.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The socket `switchctl` connects to when neither `-s` nor the configuration says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/switchd.sock";

/// A request from switchctl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    ShowSummary,
    Show {
        table: TableKind,
        switch: Option<String>,
    },
    /// `switchctl show conntrack [SWITCH] [zone N]`: the kernel's connection-tracking
    /// entries in the zones of local switches' ct actions (of SWITCH's; of zone N only).
    ShowConntrack {
        #[serde(default)]
        switch: Option<String>,
        #[serde(default)]
        zone: Option<u16>,
    },
    Reload,
    /// `switchctl load FILE`: reload from FILE (an absolute path, for messages) instead of
    /// the `-f` file; `text` is FILE as switchctl read it, as its user.
    Load {
        file: String,
        #[serde(default)]
        text: Option<String>,
    },
    Log {
        verbose: bool,
    },
    Monitor,
    /// `switchctl add flow SWITCH FLOW`: FLOW in ovs-ofctl syntax.
    AddFlow {
        switch: String,
        flow: String,
    },
    /// `switchctl del flow SWITCH [MATCH]`: a non-strict delete; no match deletes every flow.
    DelFlow {
        switch: String,
        #[serde(default)]
        flow: Option<String>,
    },
    /// `switchctl connect SWITCH [forward to tcp:HOST:PORT]`: (re)connect local switch
    /// SWITCH's OpenFlow channel, to switchd's own controller or to a remote one.
    Connect {
        switch: String,
        #[serde(default)]
        forward_to: Option<String>,
    },
    /// `switchctl disconnect SWITCH`: close local switch SWITCH's OpenFlow channel and
    /// leave it closed until `connect` or a reload that changes the switch.
    Disconnect {
        switch: String,
    },
}

/// What `add flow` / `del flow` do to the switch's flow table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowCommand {
    /// OFPFC_ADD.
    Add,
    /// OFPFC_DELETE (non-strict).
    Delete,
}

/// The tables `switchctl show` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Switches,
    Ports,
    Macs,
    Flows,
    /// `show flows -o ovs`: the flows with every field `ovs-ofctl dump-flows` prints
    /// (switchctl lays them out as it does). Not a word of `show`.
    OvsFlows,
    /// What local switches refused their controllers (kept by the control process).
    Refusals,
    /// The kernel's connection-tracking entries in local switches' zones (read by the
    /// datapath process through ctnetlink). Not a word of `show`: its own request.
    Conntrack,
    /// The VMs of the virtual networks and their counters (the control process's).
    Networks,
}

impl TableKind {
    pub fn parse(word: &str) -> Option<TableKind> {
        Some(match word {
            "switches" => TableKind::Switches,
            "ports" => TableKind::Ports,
            "macs" => TableKind::Macs,
            "flows" => TableKind::Flows,
            "refusals" => TableKind::Refusals,
            "networks" => TableKind::Networks,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Switches => "switches",
            TableKind::Ports => "ports",
            TableKind::Macs => "macs",
            TableKind::Flows | TableKind::OvsFlows => "flows",
            TableKind::Refusals => "refusals",
            TableKind::Conntrack => "conntrack",
            TableKind::Networks => "networks",
        }
    }

    /// The column headers of this table, as switchctl prints them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            TableKind::Switches => &[
                "switch",
                "address",
                "version",
                "ports",
                "connected since",
                "notes",
            ],
            // The counters are those of `ovs-ofctl dump-ports`, in its order.
            TableKind::Ports => &[
                "switch", "port", "name", "address", "state", "rx pkts", "rx bytes", "rx drop",
                "rx errs", "rx frame", "rx over", "rx crc", "tx pkts", "tx bytes", "tx drop",
                "tx errs", "tx coll",
            ],
            TableKind::Macs => &["switch", "port", "mac", "vlan", "age"],
            TableKind::Flows => &[
                "switch", "table", "priority", "cookie", "match", "actions", "packets", "bytes",
            ],
            TableKind::OvsFlows => &[
                "switch",
                "cookie",
                "duration_sec",
                "duration_nsec",
                "table",
                "n_packets",
                "n_bytes",
                "idle_timeout",
                "hard_timeout",
                "flags",
                "priority",
                "match",
                "actions",
            ],
            TableKind::Refusals => &["switch", "count", "time", "command", "flow", "reason"],
            // What conntrack(8) -L and ovs-appctl dpctl/dump-conntrack show of an entry.
            TableKind::Conntrack => &[
                "switch",
                "zone",
                "proto",
                "src",
                "dst",
                "sport",
                "dport",
                "reply src",
                "reply dst",
                "reply sport",
                "reply dport",
                "state",
                "status",
                "mark",
                "labels",
                "timeout",
            ],
            TableKind::Networks => crate::vnet::show::COLUMNS,
        }
    }
}

/// The daemon's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    Summary(Summary),
    Table(Table),
    /// The request was carried out (`reload` with a valid configuration, `log`, `add flow`,
    /// `del flow`). `notes` say what was not applied (a setting that needs a restart).
    Ok {
        message: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    /// `reload` found errors; the running configuration stays. One `file:line: message`
    /// per entry.
    ReloadRejected {
        errors: Vec<String>,
    },
    /// One monitored event (`monitor` only).
    Event(Event),
    /// The request could not be carried out; `message` is a sentence.
    Error {
        message: String,
    },
}

/// `show summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub version: String,
    pub pid: u32,
    pub uptime_secs: u64,
    pub config_file: String,
    pub listeners: Vec<ListenerSummary>,
    /// Whether the datapath process answered a ping just now.
    pub datapath: String,
    /// The `switchctl monitor` clients subscribed to the events now.
    #[serde(default)]
    pub monitors: u32,
}

/// One OpenFlow listener and the connections it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerSummary {
    pub address: String,
    pub connections: u32,
}

/// A table of `show`: headers and rows of cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub table: TableKind,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn empty(kind: TableKind) -> Table {
        Table {
            table: kind,
            columns: kind.columns().iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// Something that happened, with the time (milliseconds since the Unix epoch) at which the
/// process that saw it saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub time_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    ConnectionOpened {
        listener: String,
        peer: String,
    },
    ConnectionClosed {
        listener: String,
        peer: String,
        reason: String,
    },
    ListenerAdded {
        listener: String,
    },
    ListenerRemoved {
        listener: String,
    },
    Reloaded {
        config_file: String,
    },
    ReloadRejected {
        errors: Vec<String>,
    },
    /// A switch finished the OpenFlow handshake; `switch` is its datapath id in hex.
    SwitchConnected {
        switch: String,
        peer: String,
        version: String,
    },
    SwitchDisconnected {
        switch: String,
        peer: String,
        reason: String,
    },
    /// Nothing came from the switch for three echo intervals: its state is dropped.
    SwitchDead {
        switch: String,
        peer: String,
        silent_secs: u64,
    },
    /// `switchctl add flow` installed `flow` (the switch acknowledged it with a barrier).
    FlowAdded {
        switch: String,
        flow: String,
    },
    /// `switchctl del flow` deleted the flows matching `flow` (empty: every flow).
    FlowDeleted {
        switch: String,
        flow: String,
    },
    /// A static flow of the configuration that the switch refused, or that does not parse
    /// for the OpenFlow version the switch speaks.
    FlowRefused {
        switch: String,
        flow: String,
        error: String,
    },
    /// A local switch refused a controller's FLOW_MOD or GROUP_MOD (…): the ovs-ofctl
    /// `command` and `flow` that send it, the `reason`, and how many the switch has
    /// refused so far.
    Refused {
        switch: String,
        command: String,
        flow: String,
        reason: String,
        count: u64,
    },
    /// OFPT_PORT_STATUS: `change` is added, deleted or modified; `state` up or down.
    PortStatus {
        switch: String,
        port: u32,
        name: String,
        change: String,
        state: String,
    },
}

impl Event {
    pub(crate) fn now(kind: EventKind) -> Event {
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Event { time_ms, kind }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::ConnectionOpened { listener, peer } => {
                write!(f, "connection opened: {peer} on {listener}")
            }
            EventKind::ConnectionClosed {
                listener,
                peer,
                reason,
            } => write!(f, "connection closed: {peer} on {listener} ({reason})"),
            EventKind::ListenerAdded { listener } => write!(f, "listening on {listener}"),
            EventKind::ListenerRemoved { listener } => {
                write!(f, "no longer listening on {listener}")
            }
            EventKind::Reloaded { config_file } => write!(f, "reloaded {config_file}"),
            EventKind::ReloadRejected { errors } => {
                write!(f, "reload rejected: {}", errors.join("; "))
            }
            EventKind::SwitchConnected {
                switch,
                peer,
                version,
            } => write!(
                f,
                "switch {switch} connected from {peer}, OpenFlow {version}"
            ),
            EventKind::SwitchDisconnected {
                switch,
                peer,
                reason,
            } => write!(f, "switch {switch} disconnected from {peer} ({reason})"),
            EventKind::SwitchDead {
                switch,
                peer,
                silent_secs,
            } => write!(
                f,
                "switch {switch} at {peer} is dead: nothing received for {silent_secs} s"
            ),
            EventKind::PortStatus {
                switch,
                port,
                name,
                change,
                state,
            } => write!(f, "switch {switch}: port {port} ({name}) {change}, {state}"),
            EventKind::FlowAdded { switch, flow } => {
                write!(f, "switch {switch}: flow added: {flow}")
            }
            EventKind::FlowDeleted { switch, flow } if flow.is_empty() => {
                write!(f, "switch {switch}: every flow deleted")
            }
            EventKind::FlowDeleted { switch, flow } => {
                write!(f, "switch {switch}: flows deleted: {flow}")
            }
            EventKind::FlowRefused {
                switch,
                flow,
                error,
            } => write!(f, "switch {switch} refused static flow \"{flow}\": {error}"),
            EventKind::Refused {
                switch,
                command,
                flow,
                reason,
                count,
            } => write!(
                f,
                "switch {switch} refused a controller's {command} \"{flow}\": {reason} \
                 ({count} refused so far)"
            ),
        }
    }
}

/// Encode one protocol object as a JSON line.
pub fn to_line<T: Serialize>(value: &T) -> String {
    // Serializing these plain types cannot fail (no maps with non-string keys).
    let mut s = serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"response\":\"error\",\"message\":\"cannot encode: {e}\"}}")
    });
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_round_trip_as_json_lines() {
        let reqs = [
            Request::ShowSummary,
            Request::Show {
                table: TableKind::Flows,
                switch: Some("sw0".into()),
            },
            Request::Reload,
            Request::Load {
                file: "/etc/switchd.conf".into(),
                text: Some("listen on 127.0.0.1\n".into()),
            },
            Request::Log { verbose: true },
            Request::Monitor,
            Request::AddFlow {
                switch: "sw0".into(),
                flow: "icmp actions=drop".into(),
            },
            Request::DelFlow {
                switch: "1".into(),
                flow: None,
            },
        ];
        for r in reqs {
            let line = to_line(&r);
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
        }
        let ev = Response::Event(Event::now(EventKind::ConnectionOpened {
            listener: "127.0.0.1:6653".into(),
            peer: "127.0.0.1:40000".into(),
        }));
        assert_eq!(serde_json::from_str::<Response>(&to_line(&ev)).unwrap(), ev);
    }
}

#[cfg(test)]
mod refused_event_tests {
    use super::*;

    #[test]
    fn a_refusal_event_survives_the_line_protocol() {
        let e = Response::Event(Event {
            time_ms: 5,
            kind: EventKind::Refused {
                switch: "ha".into(),
                command: "add-flow".into(),
                flow: "priority=7,udp actions=goto_table:0".into(),
                reason: "why".into(),
                count: 2,
            },
        });
        let line = to_line(&e);
        let back: Response = serde_json::from_str(&line).expect(&line);
        assert_eq!(back, e);
    }
}
