//! One OpenFlow session with a switch, sans-IO: the caller feeds bytes and time in
//! ([`Session::handle_input`], [`Session::handle_timeout`]) and takes bytes
//! ([`Session::output`], [`Session::consume`]) and events ([`Session::poll_event`]) out.
//! The socket loop is in `conn.rs`; everything here is a plain unit test.
//!
//! States: `Hello` (our HELLO sent, waiting for the peer's) → `Features` (version
//! negotiated per spec 6.3.1; FEATURES_REQUEST, SET_CONFIG sent, waiting for the datapath
//! id) → `Ready` (ports known, learning switch running). Any state can go to closing: a
//! malformed message (answered with the OFPT_ERROR the decoder names, then closed), a
//! silent peer (3 echo intervals without a byte), a full write queue, or a replacement.
//! Valid messages we do not act on are accepted and logged at debug.
//!
//! - here: the session's states, events, ports, flow statistics and switchctl's flow-mods;
//! - `ofp13.rs`, `ofp10.rs`: what differs between the versions ([`Dialect`]), one file
//!   each (as OpenBSD's ofp13.c and ofp10.c);
//! - `static_flows.rs`: the configuration's static flows;
//! - `tests.rs`: the unit tests.
//!
//! The framing, HELLO, echoes and output queue are the endpoint's (`crate::endpoint`); the
//! learning switch is an application beside the session (`ofp/learning.rs`).

mod ofp10;
mod ofp13;
mod static_flows;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use ofproto::header::{OFP10_VERSION, OFP13_VERSION};
use ofproto::v10;
use ofproto::v13::{self, MacAddr};

use super::flowtext::FlowRow;
use super::learning::{Learning, Wire};
use super::portcount::PortCounters;
use crate::ctlproto::FlowCommand;
use crate::endpoint::pump::Pumped;
use crate::endpoint::{Endpoint, EndpointConfig};
use ofp10::V10;
use ofp13::V13;
use static_flows::STATIC_COOKIE;

/// The versions we speak, in our HELLO's bitmap.
pub(crate) const VERSIONS: [u8; 2] = [OFP10_VERSION, OFP13_VERSION];

pub(crate) use crate::endpoint::CloseReason;

/// The most we queue for a peer that does not read; past this the session is closed.
pub(crate) const WRITE_QUEUE_MAX: usize = 1024 * 1024;

/// OpenFlow 1.3 reserved ports (`enum ofp_port_no`), ofproto's, by their short names.
pub(crate) use ofproto::v13::port as port13;
use ofproto::v13::{OFPG_ANY, OFPTT_ALL};
/// `OFPPC_PORT_DOWN` and `OFPPS_LINK_DOWN`: bit 0 in both versions.
const PORT_DOWN: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V10,
    V13,
}

impl Version {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Version::V10 => "1.0",
            Version::V13 => "1.3",
        }
    }
}

/// The endpoint of a session: both versions, the peer closed when the queue is full.
fn endpoint_config(echo_interval: Duration) -> EndpointConfig {
    EndpointConfig {
        versions: &VERSIONS,
        no_common_version: "no common OpenFlow version (we speak 1.0 and 1.3)",
        echo_interval,
        queue_max: WRITE_QUEUE_MAX,
        peer: "peer",
    }
}

/// What a session needs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionConfig {
    /// Zero disables echoes and the dead-peer check.
    pub(crate) echo_interval: Duration,
    /// MAC aging and the learned flows' idle timeout, seconds.
    pub(crate) mac_timeout: u32,
    pub(crate) cache: u32,
}

/// A port as we show it: version-neutral, port numbers in 1.3 numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortInfo {
    pub(crate) port_no: u32,
    pub(crate) name: String,
    pub(crate) hw_addr: MacAddr,
    pub(crate) config: u32,
    pub(crate) state: u32,
}

impl PortInfo {
    pub(crate) fn is_up(&self) -> bool {
        self.config & PORT_DOWN == 0 && self.state & PORT_DOWN == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortChange {
    Added,
    Deleted,
    Modified,
}

impl PortChange {
    /// An OFPT_PORT_STATUS reason: OFPPR_ADD (0), OFPPR_DELETE (1), OFPPR_MODIFY (2), the
    /// same in OpenFlow 1.0 and 1.3; an unknown reason is taken for a modification.
    fn from_reason(reason: u8) -> PortChange {
        match reason {
            0 => PortChange::Added,
            1 => PortChange::Deleted,
            _ => PortChange::Modified,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            PortChange::Added => "added",
            PortChange::Deleted => "deleted",
            PortChange::Modified => "modified",
        }
    }
}

/// What the session reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionEvent {
    /// The handshake is done: the switch is `datapath_id`.
    Connected {
        datapath_id: u64,
        version: Version,
    },
    PortStatus {
        change: PortChange,
        port: PortInfo,
    },
    /// The answer to [`Session::request_flow_stats`] with the same `xid`.
    FlowStats {
        xid: u32,
        result: Result<Vec<FlowRow>, String>,
    },
    /// The answer to [`Session::request_port_stats`] with the same `xid`.
    PortStats {
        xid: u32,
        result: Result<Vec<PortCounters>, String>,
    },
    /// The answer to [`Session::flow_mod`] with the same barrier `xid`: the switch
    /// answered the barrier (`Ok`), or refused the flow-mod (its OFPT_ERROR, named, as soon
    /// as it comes).
    FlowModDone {
        xid: u32,
        result: Result<(), String>,
    },
    /// A static flow that the switch refused (its OFPT_ERROR, named), or that cannot be
    /// said in the negotiated version.
    StaticFlowFailed {
        flow: String,
        error: String,
    },
}

/// A flow-mod in the session's version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AnyFlowMod {
    V13(Box<v13::FlowMod>),
    V10(v10::FlowMod),
}

/// A flow-mod sent for a static flow or for switchctl, until its barrier is answered.
#[derive(Debug, Clone)]
struct PendingMod {
    barrier: u32,
    flow: String,
    from_ctl: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hello,
    Features,
    Ready,
}

/// One switch connection.
#[derive(Debug)]
pub(crate) struct Session {
    cfg: SessionConfig,
    /// Framing, xids, HELLO, echo and dead-peer timing, the output queue.
    ep: Endpoint,
    state: State,
    datapath_id: Option<u64>,
    ports: BTreeMap<u32, PortInfo>,
    /// The learning switch of this connection.
    learning: Learning,
    events: VecDeque<SessionEvent>,
    /// Flow-stats requests in flight, and the rows gathered so far.
    flow_stats: BTreeMap<u32, Vec<FlowRow>>,
    /// Port-stats requests in flight, and the counters gathered so far.
    port_stats: BTreeMap<u32, Vec<PortCounters>>,
    /// The configuration's static flows for this switch, as text.
    static_flows: Vec<String>,
    /// Flow-mods whose errors we report, by xid.
    pending_mods: BTreeMap<u32, PendingMod>,
    /// switchctl's flow-mods waiting for their barrier reply, by barrier xid.
    ctl_barriers: BTreeSet<u32>,
}

/// What differs between OpenFlow 1.0 and 1.3 in a session, one implementation per version
/// (`ofp10.rs`, `ofp13.rs`); as a [`Wire`], the learning switch's messages in that version.
trait Dialect: Wire + Sync {
    fn version(&self) -> Version;
    /// FEATURES_REQUEST and SET_CONFIG, after the HELLO.
    fn start_features(&self, ep: &mut Endpoint);
    /// Ask for the ports, where FEATURES_REPLY does not list them.
    fn request_port_desc(&self, ep: &mut Endpoint);
    /// Ask for every flow; the request's xid.
    fn request_flow_stats(&self, ep: &mut Endpoint) -> u32;
    /// Ask for every port's counters; the request's xid.
    fn request_port_stats(&self, ep: &mut Endpoint) -> u32;
    /// Decode a message and act on it.
    fn handle(&self, s: &mut Session, msg: Bytes, now: Instant);
    /// Act on a message read in place, without decoding it into a [`Bytes`] of its own
    /// (the learning switch's hot path); `false`: not such a message.
    fn handle_in_place(&self, s: &mut Session, msg: &[u8], now: Instant) -> bool;
    /// Flow text as a flow-mod of this version.
    fn parse_flow(&self, flow: &str, cmd: FlowCommand) -> Result<AnyFlowMod, String>;
    /// Whether [`Dialect::delete_static`] can delete by cookie.
    fn deletes_static(&self) -> bool;
    /// Delete the static flows a previous connection left (by [`STATIC_COOKIE`]).
    fn delete_static(&self, ep: &mut Endpoint);
}

impl Session {
    /// A new session; our HELLO is queued.
    pub(crate) fn new(cfg: SessionConfig, now: Instant) -> Session {
        Session {
            cfg,
            ep: Endpoint::new(endpoint_config(cfg.echo_interval), now),
            state: State::Hello,
            datapath_id: None,
            ports: BTreeMap::new(),
            learning: Learning::new(cfg.cache, cfg.mac_timeout),
            events: VecDeque::new(),
            flow_stats: BTreeMap::new(),
            port_stats: BTreeMap::new(),
            static_flows: Vec::new(),
            pending_mods: BTreeMap::new(),
            ctl_barriers: BTreeSet::new(),
        }
    }

    /// The switch is a local bridge: the datapath process installed the configured
    /// table-miss flow (normal or drop), so the learning switch must not add its own.
    pub(crate) fn set_local(&mut self) {
        self.learning.set_local();
    }

    /// The switch is a local bridge driven by a remote controller: look, do not touch.
    pub(crate) fn set_observe(&mut self) {
        self.learning.set_observe();
    }

    pub(crate) fn reconfigure(&mut self, cfg: SessionConfig) {
        self.cfg = cfg;
        self.ep.set_echo_interval(cfg.echo_interval);
        self.learning.reconfigure(cfg.cache, cfg.mac_timeout);
    }

    /// End the session for a reason of the stream's.
    pub(crate) fn close_for(&mut self, why: CloseReason) {
        self.ep.close(why);
    }

    /// The negotiated version's messages.
    fn dialect(&self) -> Option<&'static dyn Dialect> {
        match self.ep.version()? {
            OFP10_VERSION => Some(&V10),
            _ => Some(&V13),
        }
    }

    /// The negotiated version.
    #[cfg(test)]
    fn version(&self) -> Option<Version> {
        self.dialect().map(|d| d.version())
    }

    /// Messages sent to and received from the switch, by type (the metrics).
    pub(crate) fn counts(&self) -> crate::endpoint::MsgCounts {
        *self.ep.counts()
    }

    pub(crate) fn ports(&self) -> impl Iterator<Item = &PortInfo> {
        self.ports.values()
    }

    pub(crate) fn macs(&self, now: Instant) -> Vec<(MacAddr, u32, Duration)> {
        self.learning.macs(now)
    }

    /// Bytes waiting to be written.
    pub(crate) fn output(&self) -> &[u8] {
        self.ep.output()
    }

    /// `n` bytes of [`Session::output`] were written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.ep.consume(n);
    }

    pub(crate) fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Set once the session must end: flush [`Session::output`] (best effort), then close.
    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.ep.close_reason()
    }

    /// End the session (e.g. replaced by a newer connection of the same switch).
    pub(crate) fn close(&mut self, reason: String) {
        self.ep.close(CloseReason::Other(reason));
    }

    /// When [`Session::handle_timeout`] wants to run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.learning.expire(now);
        self.ep.handle_timeout(now);
    }

    /// Bytes from the peer.
    pub(crate) fn handle_input(&mut self, data: &[u8], now: Instant) {
        if !self.ep.received(data, now) {
            return;
        }
        // Taken out for the loop, so that a message can be read in place while the session
        // changes; put back, with what is left of a partial message, at the end.
        let mut inbuf = self.ep.take_input();
        while let Some(len) = self.ep.frame(&inbuf) {
            // The hot path: a message read in place, without a copy.
            if let Some(d) = self.dialect().filter(|_| self.state == State::Ready) {
                if d.handle_in_place(self, &inbuf[..len], now) {
                    inbuf.advance(len);
                    continue;
                }
            }
            let msg = inbuf.split_to(len).freeze();
            self.handle_message(msg, now);
        }
        self.ep.restore_input(inbuf);
    }

    fn handle_message(&mut self, msg: Bytes, now: Instant) {
        match self.dialect() {
            Some(d) => d.handle(self, msg, now),
            None => {
                if self.ep.negotiate(&msg).is_some() {
                    self.start_features();
                }
            }
        }
    }

    /// The version is negotiated: ask who the switch is.
    fn start_features(&mut self) {
        self.state = State::Features;
        if let Some(d) = self.dialect() {
            d.start_features(&mut self.ep);
        }
    }

    /// The switch is known: the learning switch starts, the ports are asked for where
    /// FEATURES did not say them, and a barrier follows. An observer only asks for ports:
    /// the remote controller's flows are not ours to delete.
    fn start_learning(&mut self) {
        let Some(d) = self.dialect() else { return };
        if self.learning.is_observer() {
            d.request_port_desc(&mut self.ep);
            return;
        }
        self.learning.start(d, &mut self.ep);
        d.request_port_desc(&mut self.ep);
        d.barrier(&mut self.ep);
    }

    fn send_barrier_xid(&mut self) -> u32 {
        match self.dialect() {
            Some(d) => d.barrier(&mut self.ep),
            None => 0,
        }
    }

    /// Ask the switch for all its flows; the rows arrive as [`SessionEvent::FlowStats`] with
    /// the returned xid. `None` before the handshake is done.
    pub(crate) fn request_flow_stats(&mut self) -> Option<u32> {
        if self.state != State::Ready || !self.ep.is_open() {
            return None;
        }
        let xid = self.dialect()?.request_flow_stats(&mut self.ep);
        self.flow_stats.insert(xid, Vec::new());
        Some(xid)
    }

    /// Ask the switch for its ports' counters; they arrive as [`SessionEvent::PortStats`]
    /// with the returned xid. `None` before the handshake is done.
    pub(crate) fn request_port_stats(&mut self) -> Option<u32> {
        if self.state != State::Ready || !self.ep.is_open() {
            return None;
        }
        let xid = self.dialect()?.request_port_stats(&mut self.ep);
        self.port_stats.insert(xid, Vec::new());
        Some(xid)
    }

    fn port_stats_part(&mut self, xid: u32, counters: Vec<PortCounters>, more: bool) {
        let Some(acc) = self.port_stats.get_mut(&xid) else {
            tracing::debug!("port stats reply with unknown xid {xid}");
            return;
        };
        acc.extend(counters);
        if !more {
            let counters = self.port_stats.remove(&xid).unwrap_or_default();
            self.events.push_back(SessionEvent::PortStats {
                xid,
                result: Ok(counters),
            });
        }
    }

    fn connected(&mut self, datapath_id: u64) {
        if self.state != State::Features {
            return;
        }
        self.datapath_id = Some(datapath_id);
        self.state = State::Ready;
        if let Some(d) = self.dialect() {
            self.events.push_back(SessionEvent::Connected {
                datapath_id,
                version: d.version(),
            });
        }
        self.start_learning();
    }

    /// Flow text in the negotiated version's flow-mod.
    fn parse_flow(&self, flow: &str, cmd: FlowCommand) -> Result<AnyFlowMod, String> {
        match self.dialect() {
            Some(d) => d.parse_flow(flow, cmd),
            None => Err("the switch is not connected yet".into()),
        }
    }

    fn send_any(&mut self, m: &AnyFlowMod) -> u32 {
        match m {
            AnyFlowMod::V13(f) => self.ep.send13(&v13::Message::FlowMod((**f).clone())),
            AnyFlowMod::V10(f) => self.ep.send10(&v10::Message::FlowMod(f.clone())),
        }
    }

    /// switchctl's `add flow` / `del flow`: the flow-mod, then a barrier whose xid is
    /// returned; [`SessionEvent::FlowModDone`] with that xid follows once the switch has
    /// answered. A text that does not parse for this version is an `Err` and nothing is
    /// sent. A delete that matches every flow also removes the table-miss flow and the
    /// static flows: they are put back behind it, as after the handshake.
    pub(crate) fn flow_mod(&mut self, cmd: FlowCommand, flow: &str) -> Result<u32, String> {
        if self.state != State::Ready || !self.ep.is_open() {
            return Err("the switch is not ready".into());
        }
        if self.learning.is_observer() {
            return Err(
                "its flows belong to the remote controller it is forwarded to (`forward to`); \
                 switchctl can show them but not change them"
                    .into(),
            );
        }
        let m = self.parse_flow(flow, cmd)?;
        let everything = match &m {
            AnyFlowMod::V13(f) => cmd == FlowCommand::Delete && f.match_.fields.is_empty(),
            AnyFlowMod::V10(f) => cmd == FlowCommand::Delete && f.r#match == v10::Match::any(),
        };
        let xid = self.send_any(&m);
        let mut sent = Vec::new();
        if everything {
            // A local switch's table-miss is the configuration's, installed by the datapath
            // process: deleting everything there deletes it, as on any OpenFlow switch.
            if let Some(d) = self.dialect() {
                self.learning.restore_table_miss(d, &mut self.ep);
            }
            for f in self.static_flows.clone() {
                if let Some(x) = self.send_static_add(&f) {
                    sent.push((x, f));
                }
            }
        }
        let barrier = self.send_barrier_xid();
        self.pending_mods.insert(
            xid,
            PendingMod {
                barrier,
                flow: flow.to_string(),
                from_ctl: true,
            },
        );
        for (x, f) in sent {
            self.pending_mods.insert(
                x,
                PendingMod {
                    barrier,
                    flow: f,
                    from_ctl: false,
                },
            );
        }
        self.ctl_barriers.insert(barrier);
        Ok(barrier)
    }

    /// An OFPT_ERROR in answer to `xid`: one of our tracked flow-mods?
    fn flow_mod_error(&mut self, xid: u32, error: String) -> bool {
        let Some(p) = self.pending_mods.remove(&xid) else {
            return false;
        };
        if p.from_ctl {
            // Answered at once: the barrier reply that follows has nothing to add.
            if self.ctl_barriers.remove(&p.barrier) {
                self.events.push_back(SessionEvent::FlowModDone {
                    xid: p.barrier,
                    result: Err(error),
                });
            }
        } else {
            self.events.push_back(SessionEvent::StaticFlowFailed {
                flow: p.flow,
                error,
            });
        }
        true
    }

    fn barrier_reply(&mut self, xid: u32) {
        self.pending_mods.retain(|_, p| p.barrier != xid);
        if self.ctl_barriers.remove(&xid) {
            self.events.push_back(SessionEvent::FlowModDone {
                xid,
                result: Ok(()),
            });
        }
    }

    fn port_status(&mut self, change: PortChange, port: PortInfo) {
        let port_no = port.port_no;
        match change {
            PortChange::Deleted => {
                self.ports.remove(&port_no);
            }
            _ => {
                self.ports.insert(port_no, port.clone());
            }
        }
        if change == PortChange::Deleted || !port.is_up() {
            // Addresses behind a port that is gone or down are unknown again, and flows
            // towards that port are stale.
            if let Some(d) = self.dialect() {
                let deleted = change == PortChange::Deleted;
                self.learning.port_gone(d, &mut self.ep, port_no, deleted);
            }
        }
        self.events
            .push_back(SessionEvent::PortStatus { change, port });
    }

    fn flow_stats_error(&mut self, xid: u32, what: String) -> bool {
        if self.port_stats.remove(&xid).is_some() {
            self.events.push_back(SessionEvent::PortStats {
                xid,
                result: Err(what),
            });
            return true;
        }
        if self.flow_stats.remove(&xid).is_some() {
            self.events.push_back(SessionEvent::FlowStats {
                xid,
                result: Err(what),
            });
            true
        } else {
            false
        }
    }

    /// An OFPT_ERROR from the switch (`text`, in words; `e`, as decoded): the answer to a
    /// FLOW_MOD or a flow-stats request of ours if its xid is one, else only logged.
    fn switch_error(&mut self, xid: u32, text: String, e: &dyn std::fmt::Debug) {
        if !self.flow_mod_error(xid, text)
            && !self.flow_stats_error(xid, format!("the switch answered {e:?}"))
        {
            tracing::debug!("error from switch (xid {xid}): {e:?}");
        }
    }

    fn flow_stats_part(&mut self, xid: u32, rows: Vec<FlowRow>, more: bool) {
        let Some(acc) = self.flow_stats.get_mut(&xid) else {
            tracing::debug!("flow stats reply with unknown xid {xid}");
            return;
        };
        acc.extend(rows);
        if !more {
            let rows = self.flow_stats.remove(&xid).unwrap_or_default();
            self.events.push_back(SessionEvent::FlowStats {
                xid,
                result: Ok(rows),
            });
        }
    }
}

impl Pumped for Session {
    fn output(&self) -> &[u8] {
        Session::output(self)
    }

    fn consume(&mut self, n: usize) {
        Session::consume(self, n);
    }

    fn handle_input(&mut self, data: &[u8], now: Instant) {
        Session::handle_input(self, data, now);
    }

    fn close_for(&mut self, why: CloseReason) {
        Session::close_for(self, why);
    }
}

#[cfg(test)]
mod tests;
