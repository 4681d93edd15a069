//! An Open vSwitch bridge with hosts on it, driven by a switchd of the test's own.
//!
//! ```no_run
//! use regress::daemon::Daemon;
//! use regress::rig::OvsRig;
//!
//! // Two hosts, OpenFlow 1.3, `switchd -d -v`: the defaults.
//! let rig = OvsRig::builder().start().expect("rig");
//! rig.all_pairs_ping(5);
//! // Four hosts, OpenFlow 1.0, a datapath id of our choosing, configuration for switchd.
//! let rig = OvsRig::builder()
//!     .hosts(4)
//!     .protocol("OpenFlow10")
//!     .datapath_id(0xa1)
//!     .daemon(Daemon::builder().verbose().config("echo-interval 1\n"))
//!     .start()
//!     .expect("rig");
//! let macs = rig.daemon().rows("macs");
//! ```
//!
//! [`OvsRigBuilder::start`] makes, in this order:
//! 1. a [`Daemon`] (by default `switchd -d -v` on a free port);
//! 2. a private [`Ovs`] with one userspace-datapath bridge ([`OvsRig::bridge`]), with
//!    `protocols=PROTOCOL`, `fail_mode=secure` and, if asked, `other-config:datapath-id`;
//! 3. a [`Lan`] of `n` hosts (`eth0` = 10.77.0.(i+1)/24 in a namespace each), host `i` on
//!    OpenFlow port `i + 1`, with transmit checksum offload off on every `eth0` (see
//!    [`Netns::tx_checksum_off`](crate::Netns::tx_checksum_off): without it TCP through
//!    the userspace datapath fails);
//! 4. the bridge's controller `tcp:127.0.0.1:PORT`, out-of-band, reconnecting within 1 s;
//!
//! and returns once `switchctl show switches` lists the bridge's datapath id
//! ([`OvsRig::dpid`], 16 hex digits).
//!
//! Then: traffic ([`OvsRig::all_pairs_ping`], [`OvsRig::pings`], [`OvsRig::listen_tcp`],
//! [`OvsRig::tcp_works`]), the switch's own view ([`OvsRig::dump_flows`],
//! [`OvsRig::wait_flows`]), switchd's view (`rig.daemon().rows("macs")`), and restarts
//! ([`OvsRig::restart_ovs`], [`OvsRig::restart_daemon`], then [`OvsRig::wait_connected`]).
//! The `wait_*` and traffic assertions panic with the flow table and switchd's log.
//!
//! Dropping the rig stops switchd, then removes the hosts, then stops Open vSwitch; every
//! part is a guard of its own, so this also happens when a test panics.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::daemon::{Daemon, DaemonBuilder, DaemonError};
use crate::net::{Lan, LanHost, LanSwitch};
use crate::ovs::{Ovs, OvsError};
use crate::wait::{wait_for, wait_until};
use crate::CmdError;

/// Errors building an [`OvsRig`].
#[derive(thiserror::Error)]
pub enum RigError {
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error(transparent)]
    Ovs(#[from] OvsError),
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("turn off tx checksum offload on eth0 of {ns}: {source}")]
    Checksum { ns: String, source: std::io::Error },
    #[error("bridge {0} has no datapath id after 10 s")]
    NoDatapathId(String),
    #[error("bridge {dpid} never connected to switchd; switchd stderr:\n{log}")]
    NotConnected { dpid: String, log: String },
}

// `expect` prints the Debug form: make that the sentence, with the log's line breaks.
impl std::fmt::Debug for RigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// How to build an [`OvsRig`]; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct OvsRigBuilder {
    hosts: usize,
    protocol: String,
    datapath_id: Option<u64>,
    daemon: DaemonBuilder,
    ssl: Option<OvsSsl>,
}

/// The bridge's TLS settings (`ovs-vsctl set-ssl PRIVKEY CERT CACERT`) and the port of
/// switchd's `listen on ... tls` it connects to as `ssl:127.0.0.1:PORT`.
#[derive(Debug, Clone)]
pub struct OvsSsl {
    pub privkey: String,
    pub cert: String,
    pub cacert: String,
    pub port: u16,
}

impl Default for OvsRigBuilder {
    fn default() -> OvsRigBuilder {
        OvsRigBuilder {
            hosts: 2,
            protocol: "OpenFlow13".to_string(),
            datapath_id: None,
            daemon: Daemon::builder().verbose(),
            ssl: None,
        }
    }
}

impl OvsRigBuilder {
    /// How many hosts (default 2); host `i` is on OpenFlow port `i + 1`.
    pub fn hosts(mut self, n: usize) -> OvsRigBuilder {
        self.hosts = n;
        self
    }

    /// The bridge's `protocols` (default `OpenFlow13`), also what `ovs-ofctl -O` speaks.
    pub fn protocol(mut self, protocol: &str) -> OvsRigBuilder {
        self.protocol = protocol.to_string();
        self
    }

    /// Set the bridge's datapath id (default: the one Open vSwitch picks).
    pub fn datapath_id(mut self, dpid: u64) -> OvsRigBuilder {
        self.datapath_id = Some(dpid);
        self
    }

    /// How to start switchd (default `Daemon::builder().verbose()`); the port, if set, is
    /// the one the bridge connects to.
    pub fn daemon(mut self, daemon: DaemonBuilder) -> OvsRigBuilder {
        self.daemon = daemon;
        self
    }

    /// Connect over TLS instead (`set-ssl`, `set-controller ssl:127.0.0.1:PORT`).
    pub fn ssl(mut self, ssl: OvsSsl) -> OvsRigBuilder {
        self.ssl = Some(ssl);
        self
    }

    pub fn start(self) -> Result<OvsRig, RigError> {
        let daemon = self.daemon.start()?;
        let port = daemon.port();
        let ovs = Ovs::start()?;
        let br = ovs.add_bridge()?;
        let lan = Lan::new(self.hosts, LanSwitch::PortsOnly)?;
        for (i, h) in lan.hosts.iter().enumerate() {
            ovs.add_port(&br, &h.port, (i + 1) as u16)?;
        }
        let mut settings = vec![
            format!("protocols={}", self.protocol),
            "fail_mode=secure".to_string(),
        ];
        if let Some(id) = self.datapath_id {
            settings.push(format!("other-config:datapath-id={id:016x}"));
        }
        let mut args = vec!["set", "bridge", &br];
        args.extend(settings.iter().map(String::as_str));
        ovs.vsctl(&args)?;
        let target = match &self.ssl {
            Some(ssl) => {
                ovs.vsctl(&["set-ssl", &ssl.privkey, &ssl.cert, &ssl.cacert])?;
                format!("ssl:127.0.0.1:{}", ssl.port)
            }
            None => format!("tcp:127.0.0.1:{port}"),
        };
        ovs.vsctl(&["set-controller", &br, &target])?;
        // Reconnect quickly after switchd restarts; no in-band hidden flows.
        ovs.vsctl(&[
            "set",
            "controller",
            &br,
            "max_backoff=1000",
            "connection_mode=out-of-band",
        ])?;
        let dpid = match self.datapath_id {
            Some(id) => format!("{id:016x}"),
            // ovs-vswitchd fills in datapath_id once it has configured the bridge.
            None => wait_for(Duration::from_secs(10), Duration::from_millis(50), || {
                let id = ovs.vsctl(&["get", "bridge", &br, "datapath_id"]).ok()?;
                let id = id.trim().trim_matches('"');
                (id.len() == 16).then(|| id.to_string())
            })
            .ok_or_else(|| RigError::NoDatapathId(br.clone()))?,
        };
        // A veth leaves the TCP checksum to the receiver (checksum offload), and the
        // userspace datapath forwards the frame as it is: the hosts must fill it in.
        for h in &lan.hosts {
            h.ns.tx_checksum_off("eth0")
                .map_err(|source| RigError::Checksum {
                    ns: h.ns.name().to_string(),
                    source,
                })?;
        }
        let rig = OvsRig {
            daemon,
            lan,
            ovs,
            daemon_builder: self.daemon.port(port),
            br,
            protocol: self.protocol,
            dpid,
        };
        if !rig.listed(true) {
            return Err(RigError::NotConnected {
                dpid: rig.dpid.clone(),
                log: rig.daemon.log(),
            });
        }
        Ok(rig)
    }
}

/// A private Open vSwitch bridge, hosts on it, and switchd as its controller; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct OvsRig {
    // Declaration order is drop order: switchd, the hosts, then Open vSwitch.
    daemon: Daemon,
    lan: Lan,
    ovs: Ovs,
    daemon_builder: DaemonBuilder,
    br: String,
    protocol: String,
    dpid: String,
}

impl OvsRig {
    pub fn builder() -> OvsRigBuilder {
        OvsRigBuilder::default()
    }

    /// The switchd the bridge connects to.
    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// The port switchd listens on (and keeps across [`OvsRig::restart_daemon`]).
    pub fn port(&self) -> u16 {
        self.daemon.port()
    }

    pub fn lan(&self) -> &Lan {
        &self.lan
    }

    /// The hosts; host `i` is on OpenFlow port `i + 1`.
    pub fn hosts(&self) -> &[LanHost] {
        &self.lan.hosts
    }

    pub fn ovs(&self) -> &Ovs {
        &self.ovs
    }

    /// The bridge's name (for `ovs-vsctl` and `ovs-ofctl`).
    pub fn bridge(&self) -> &str {
        &self.br
    }

    /// The bridge's `protocols`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The bridge's datapath id as switchctl shows it: 16 hex digits.
    pub fn dpid(&self) -> &str {
        &self.dpid
    }

    /// Whether `show switches` lists the bridge (`listed`) or not, within 20 s.
    fn listed(&self, listed: bool) -> bool {
        wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            let out = self.daemon.ctl(&["show", "switches"]);
            String::from_utf8_lossy(&out.stdout).contains(&self.dpid) == listed
        })
    }

    /// Wait until switchd lists the bridge as connected.
    ///
    /// # Panics
    /// After 20 s, with switchd's log.
    pub fn wait_connected(&self) {
        assert!(
            self.listed(true),
            "bridge {} never connected; switchd stderr:\n{}",
            self.dpid,
            self.daemon.log()
        );
    }

    /// Wait until switchd no longer lists the bridge.
    ///
    /// # Panics
    /// After 20 s, with switchd's log.
    pub fn wait_disconnected(&self) {
        assert!(
            self.listed(false),
            "bridge {} never went away; switchd stderr:\n{}",
            self.dpid,
            self.daemon.log()
        );
    }

    /// `ovs-ofctl -O PROTOCOL dump-flows BRIDGE` (or why it failed).
    pub fn dump_flows(&self) -> String {
        self.ovs
            .ofctl(&["-O", &self.protocol, "dump-flows", &self.br])
            .unwrap_or_else(|e| format!("(dump-flows failed: {e})"))
    }

    /// Wait up to 10 s until dump-flows satisfies `ok` (flows arrive a moment after the
    /// handshake); the flows.
    ///
    /// # Panics
    /// If they never do, with `what`, the flows and switchd's log.
    pub fn wait_flows(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let got = wait_for(Duration::from_secs(10), Duration::from_millis(100), || {
            last = self.dump_flows();
            ok(&last).then(|| last.clone())
        });
        got.unwrap_or_else(|| {
            panic!(
                "{what}; flows:\n{last}\nswitchd stderr:\n{}",
                self.daemon.log()
            )
        })
    }

    /// Every host pings every other (`tries` pings each: ARP and learning go first).
    ///
    /// # Panics
    /// At the first pair that cannot, with the flows and switchd's log.
    pub fn all_pairs_ping(&self, tries: u32) {
        let hosts = &self.lan.hosts;
        for a in hosts {
            for b in hosts {
                if a.ip != b.ip {
                    assert!(
                        a.ns.ping_eventually(b.ip, tries),
                        "{} cannot ping {}\nflows:\n{}\nswitchd stderr:\n{}",
                        a.ip,
                        b.ip,
                        self.dump_flows(),
                        self.daemon.log()
                    );
                }
            }
        }
    }

    /// Whether host 0 gets a ping reply from host 1 within `tries` pings.
    pub fn pings(&self, tries: u32) -> bool {
        self.lan.hosts[0]
            .ns
            .ping_eventually(self.lan.hosts[1].ip, tries)
    }

    /// Open a TCP echo listener on host 1, port `port`.
    ///
    /// # Panics
    /// If it cannot be opened.
    pub fn listen_tcp(&self, port: u16) {
        self.lan.hosts[1]
            .ns
            .tcp_listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
            .unwrap_or_else(|e| panic!("tcp listener on port {port}: {e}"));
    }

    /// Whether a TCP connection from host 0 to [`OvsRig::listen_tcp`]'s listener on
    /// `port` gets its bytes echoed (five tries of 2 s).
    pub fn tcp_works(&self, port: u16) -> bool {
        let to = SocketAddr::from((self.lan.hosts[1].ip, port));
        (0..5).any(|_| self.lan.hosts[0].ns.tcp_reaches(to, Duration::from_secs(2)))
    }

    /// Stop ovs-vswitchd and start it again on the same database: its flows are gone, and
    /// it reconnects to switchd (wait for that with [`OvsRig::wait_connected`]).
    ///
    /// # Panics
    /// If the restart fails.
    pub fn restart_ovs(&mut self) {
        if let Err(e) = self.ovs.restart_vswitchd() {
            panic!("restart ovs-vswitchd: {e}");
        }
    }

    /// Stop switchd and start a new one with the same settings on the same port; the
    /// bridge reconnects to it (wait for that with [`OvsRig::wait_connected`]).
    ///
    /// # Panics
    /// If the new one does not start.
    pub fn restart_daemon(&mut self) {
        self.daemon.stop();
        self.daemon = match self.daemon_builder.start() {
            Ok(d) => d,
            Err(e) => panic!("restart switchd: {e}"),
        };
    }
}
