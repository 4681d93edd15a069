//! The switchd.conf grammar, its validated types, and a printer whose output parses again.
//!
//! - [`load`] and [`parse_str`] read a configuration: macros, `include`, `-D` defines, every
//!   error reported as `file:line: message`, all of them, in the order they occur.
//! - [`Config`] is the validated result; its [`Display`](std::fmt::Display) is the canonical
//!   form that `switchd -nv` prints, every setting explicit, and it parses again to an equal
//!   `Config`.
//!
//! The grammar is documented in `switchd.conf.5` next to this crate. The lexer follows
//! OpenBSD's parse.y: macros are expanded character by character and the expansion is lexed
//! again, `\` joins lines, `#` starts a comment.
//!
//! Files: `lex.rs` (the lexer: files, includes, macro expansions), `parse.rs` (the parser
//! and the semantic checks), `print.rs` (the canonical form), `error.rs` (`file:line:
//! message` errors); here: the validated types and the entry points.

mod error;
mod lex;
mod parse;
mod print;
pub mod vnet;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use error::{ConfError, Errors};

/// The OpenFlow controller port registered with IANA; the default for `listen on`.
pub(crate) const DEFAULT_PORT: u16 = 6653;
/// The control socket that `switchctl` talks to.
pub const DEFAULT_SOCKET: &str = "/run/switchd.sock";
/// The unprivileged user the children run as.
pub(crate) const DEFAULT_USER: &str = "_switchd";
/// The directory the unprivileged children are chrooted into.
pub(crate) const DEFAULT_CHROOT: &str = "/var/empty";
/// MAC aging, seconds (OpenBSD switchd's value).
pub(crate) const DEFAULT_TIMEOUT: u32 = 240;
/// MAC table limit per switch.
pub(crate) const DEFAULT_CACHE: u32 = 4096;
/// Seconds between echo requests to a silent switch.
pub(crate) const DEFAULT_ECHO_INTERVAL: u32 = 15;
/// The highest physical port number in OpenFlow 1.3 (OFPP_MAX).
pub const PORT_NUMBER_MAX: u32 = ofproto::v13::OFPP_MAX;

/// The largest meter id a `meter` statement may give (OpenFlow 1.3's OFPM_MAX).
pub const METER_ID_MAX: u32 = ofproto::v13::OFPM_MAX;

/// Reads and validates the configuration file at `path`.
///
/// `defines` are `-D name=value` macros; they take precedence over assignments in the file.
/// Relative `include` paths are resolved against the directory of the including file.
pub fn load(path: &Path, defines: &[(String, String)]) -> Result<Config, Errors> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse::parse(&name, &text, parent_dir(path), defines),
        Err(e) => Err(Errors(vec![ConfError {
            file: name,
            line: 0,
            message: error::io_message(&e),
        }])),
    }
}

/// Parses configuration text; `file_name` is used in error messages only.
///
/// Relative `include` paths in `text` are resolved against the current directory, those in
/// included files against the included file's directory.
pub fn parse_str(
    file_name: &str,
    text: &str,
    defines: &[(String, String)],
) -> Result<Config, Errors> {
    parse::parse(file_name, text, PathBuf::new(), defines)
}

/// Parses configuration text that reached the caller from someone less privileged
/// (`switchctl load`): as [`parse_str`], but an `include` is an error and no file is read.
pub fn parse_untrusted(
    file_name: &str,
    text: &str,
    defines: &[(String, String)],
) -> Result<Config, Errors> {
    parse::parse_with(file_name, text, PathBuf::new(), defines, false)
}

/// Splits a `-D name=value` argument at the first `=`.
///
/// Returns `None` when there is no `=` or the name is not a valid macro name.
pub fn parse_define(arg: &str) -> Option<(String, String)> {
    let (name, value) = arg.split_once('=')?;
    if !lex::is_macro_name(name) {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

fn parent_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A validated switchd configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where external switches connect; never empty after parsing (default 127.0.0.1 port 6653).
    pub listen: Vec<Listen>,
    /// The control socket for `switchctl`.
    pub socket: PathBuf,
    /// The group owning the 0660 control socket; `None` leaves it to root.
    pub socket_group: Option<String>,
    /// The unprivileged user of the child processes.
    pub user: String,
    /// The chroot directory of the unprivileged children.
    pub chroot: PathBuf,
    /// MAC aging, seconds.
    pub timeout: u32,
    /// MAC table limit per switch.
    pub cache: u32,
    /// Seconds between echo requests to a silent switch; it is dead after 3 intervals.
    pub echo_interval: u32,
    /// The `switch` blocks, in the order given.
    pub switches: Vec<Switch>,
    /// `metrics listen on ADDRESS port N`: where the Prometheus endpoint listens; `None`
    /// (the default) serves no metrics.
    pub metrics: Option<std::net::SocketAddr>,
    /// The `tls` statements: where the certificates of TLS channels are.
    pub tls: Tls,
    /// The virtual-network part (`hypervisor`, `network`): `None` when the file has none.
    pub vnet: Option<vnet::Vnet>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec![Listen::default()],
            socket: PathBuf::from(DEFAULT_SOCKET),
            socket_group: None,
            user: DEFAULT_USER.to_string(),
            chroot: PathBuf::from(DEFAULT_CHROOT),
            timeout: DEFAULT_TIMEOUT,
            cache: DEFAULT_CACHE,
            echo_interval: DEFAULT_ECHO_INTERVAL,
            switches: Vec::new(),
            metrics: None,
            tls: Tls::default(),
            vnet: None,
        }
    }
}

/// One `listen on ADDRESS [tls] port PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listen {
    pub addr: IpAddr,
    pub port: u16,
    /// Switches connect over TLS and must present a certificate the switch CA signed.
    pub tls: bool,
}

impl Default for Listen {
    /// Loopback: a controller port open to the network lets anyone who reaches it take over
    /// every switch.
    fn default() -> Self {
        Listen {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            tls: false,
        }
    }
}

/// One `switch "name" { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    pub name: String,
    /// `Some`: a local Linux bridge driven through TC. `None`: an external switch that
    /// connects in and is identified by its datapath id.
    pub bridge: Option<String>,
    /// Required for external switches; for a local one the default is derived from the
    /// bridge's MAC address at run time.
    pub datapath_id: Option<u64>,
    /// Local switches only. After parsing every port has `number: Some(..)`: ports given
    /// without `number` get the lowest number unused by the ports before them.
    pub ports: Vec<Port>,
    /// Local switches only.
    pub table_miss: TableMiss,
    /// Static flows in ovs-ofctl syntax, kept as text; ofproto validates them.
    pub flows: Vec<Flow>,
    /// Local switches only: hand the switch to a remote controller.
    pub forward_to: Option<ForwardTo>,
    /// Local switches only: the controllers of the second and later `forward to`
    /// statements (OpenFlow 1.3 section 6.3.6: several controllers, each with its own
    /// connection and role). Empty unless `forward_to` is given.
    pub also_forward_to: Vec<ForwardTo>,
    /// Local switches only; what the switch does while `forward_to` is unreachable.
    pub fail_mode: FailMode,
    /// Local switches only (`take ports`): remove the TC filters that switchd did not make
    /// from the switch's ports and use them; without it such a port is left alone.
    pub take_ports: bool,
    /// Local switches only (`meter N rate R kbps [burst B kb]`): meters installed with the
    /// switch, before its configured flows, so that a flow's `meter:N` finds its meter.
    pub meters: Vec<Meter>,
}

impl Switch {
    /// A switch with the given name and every setting at its default (an external switch).
    pub fn new(name: impl Into<String>) -> Self {
        Switch {
            name: name.into(),
            bridge: None,
            datapath_id: None,
            ports: Vec::new(),
            table_miss: TableMiss::default(),
            flows: Vec::new(),
            forward_to: None,
            also_forward_to: Vec::new(),
            fail_mode: FailMode::default(),
            take_ports: false,
            meters: Vec::new(),
        }
    }

    /// A local switch is a Linux bridge on this host; the others connect in.
    pub fn is_local(&self) -> bool {
        self.bridge.is_some()
    }

    /// The OpenFlow port number of every port, in order: explicit numbers as given, and
    /// for a port without one the lowest number not used by the ports before it.
    pub fn port_numbers(&self) -> Vec<(&str, u32)> {
        let mut used = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(self.ports.len());
        for p in &self.ports {
            let n = p.number.unwrap_or_else(|| lowest_unused(&used));
            used.insert(n);
            out.push((p.name.as_str(), n));
        }
        out
    }
}

pub(crate) fn lowest_unused(used: &std::collections::BTreeSet<u32>) -> u32 {
    let mut n = 1;
    for &u in used.range(1..) {
        if u != n {
            break;
        }
        n += 1;
    }
    n
}

/// One `port "name" [number N]` of a local switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The Linux interface name, a port of the bridge.
    pub name: String,
    /// The OpenFlow port number, 1..=[`PORT_NUMBER_MAX`].
    pub number: Option<u32>,
    /// `port "NAME" vxlan|geneve [dstport N]`: a collect-metadata tunnel device that switchd
    /// creates (and owns) under this name; flows set `tunnel_id`, `tun_dst` (and `tun_src`) to
    /// send through it and match `tunnel_id` on what it receives. `None`: an existing link.
    pub tunnel: Option<Tunnel>,
}

/// A collect-metadata ("external") tunnel device: the flows choose the peer and the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// The UDP port the device listens on and sends to; default 4789 (VXLAN), 6081 (Geneve).
    pub dst_port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    Vxlan,
    Geneve,
}

impl TunnelKind {
    /// The IANA port of the encapsulation.
    pub fn default_port(self) -> u16 {
        match self {
            TunnelKind::Vxlan => 4789,
            TunnelKind::Geneve => 6081,
        }
    }
}

/// One `meter N rate R kbps [burst B kb]` of a local switch: an OpenFlow meter with one drop
/// band (OFPMF_KBPS, plus OFPMF_BURST when a burst is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Meter {
    /// The meter id, 1..=0xffff0000 (OFPM_MAX).
    pub id: u32,
    /// The drop band's rate in kbit/s.
    pub rate_kbps: u32,
    /// The drop band's burst in kbit; `None` leaves it to the datapath.
    pub burst_kb: Option<u32>,
}

/// What a local switch does with a packet that no flow matches. Serialized as its keyword
/// (`normal`, `controller`, `drop`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableMiss {
    /// Let the Linux bridge forward it, as if switchd were not there.
    #[default]
    Normal,
    /// Send it to the controller (packet-in).
    Controller,
    /// Drop it.
    Drop,
}

/// What a forwarded local switch does while its remote controller is unreachable.
/// Serialized as its keyword (`secure`, `standalone`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Keep the installed flows, add none (OpenFlow's fail secure mode).
    #[default]
    Secure,
    /// Fall back to the bridge's own forwarding.
    Standalone,
}

/// A static flow in ovs-ofctl text, with where it was written and what ofproto made of it.
///
/// Equality compares the text only: the location says where a flow came from, not what it
/// is, so a printed and re-parsed configuration is equal to the original (and `of13` follows
/// from the text).
#[derive(Debug, Clone)]
pub struct Flow {
    pub text: String,
    pub line: u32,
    pub file: String,
    /// The text as an OpenFlow 1.3 OFPT_FLOW_MOD (an ADD, xid 0), as ofproto encodes it; or,
    /// for a text that is a flow for OpenFlow 1.0 only, why it is no 1.3 flow. Kept from the
    /// check that accepted the flow, so that a local switch (always 1.3) installs it without
    /// parsing the text again.
    pub of13: Result<Arc<[u8]>, String>,
}

impl Flow {
    /// A flow of `text` written at `file`:`line`; `Err` says why `text` is not a flow that
    /// `ovs-ofctl add-flow` takes (for OpenFlow 1.3 or 1.0), or sets a cookie.
    pub fn new(text: String, file: String, line: u32) -> Result<Flow, String> {
        let of13 = parse::check_flow(&text)?;
        Ok(Flow {
            text,
            line,
            file,
            of13,
        })
    }
}

impl PartialEq for Flow {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Flow {}

/// `forward to tcp:HOST:PORT` or `forward to tls:HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForwardTo {
    /// A host name, IPv4 address or IPv6 address (without the brackets).
    pub host: String,
    pub port: u16,
    /// `tls:`: the switch certificate is presented and the controller's checked against
    /// the controller CA.
    #[serde(default)]
    pub tls: bool,
}

impl ForwardTo {
    /// `HOST:PORT`, an IPv6 host in brackets: what a socket address parses from.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The default of `tls pki`: where Debian's `ovs-pki` keeps its certificate authorities.
pub const DEFAULT_PKI: &str = "/var/lib/openvswitch/pki";

/// The `tls` statements. The directory is laid out as `ovs-pki init` makes it:
/// `switchca/cacert.pem` signs the switches, `controllerca/cacert.pem` the controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `tls pki DIRECTORY`.
    pub pki: PathBuf,
    /// `tls controller certificate FILE key FILE`: what switchd presents to switches on
    /// a `listen on ... tls`.
    pub controller: Option<KeyPair>,
    /// `tls switch certificate FILE key FILE`: what a local switch presents to a
    /// `forward to tls:` controller.
    pub switch: Option<KeyPair>,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            pki: PathBuf::from(DEFAULT_PKI),
            controller: None,
            switch: None,
        }
    }
}

impl Tls {
    /// The CA certificate that signs switches' certificates.
    pub fn switch_ca(&self) -> PathBuf {
        self.pki.join("switchca/cacert.pem")
    }

    /// The CA certificate that signs controllers' certificates.
    pub fn controller_ca(&self) -> PathBuf {
        self.pki.join("controllerca/cacert.pem")
    }
}

/// A certificate (PEM, the chain) and its private key (PEM); relative paths are taken
/// from the `tls pki` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub certificate: PathBuf,
    pub key: PathBuf,
}
