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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use ofproto::header::{Header, OFP10_VERSION, OFP13_VERSION};
use ofproto::v10;
use ofproto::v13::{self, MacAddr};
use ofproto::{DecodeError, OfpErrorCode};

use super::errtext;
use super::fast13;
use super::flowtext::{self, FlowRow};
use super::learning::{Forward, Learned, MacTable};
use crate::ctlproto::FlowCommand;

/// The versions we speak, in our HELLO's bitmap.
pub const VERSIONS: [u8; 2] = [OFP10_VERSION, OFP13_VERSION];

/// The read side keeps at most one partial message plus one read's worth of bytes.
pub const READ_CHUNK: usize = 64 * 1024;
/// The most we queue for a peer that does not read; past this the session is closed.
pub const WRITE_QUEUE_MAX: usize = 1024 * 1024;

/// The cookie of the flows the learning switch installs, so that they can be deleted
/// without touching anyone else's ("SWDL" + 1).
pub const LEARNED_COOKIE: u64 = 0x5357_444c_0000_0001;
/// The cookie of the table-miss flow.
pub const TABLE_MISS_COOKIE: u64 = 0x5357_444c_0000_0000;
/// The cookie of the configuration's static flows ("SWDL" + 2): a reload deletes the
/// removed ones by it, never someone else's.
pub const STATIC_COOKIE: u64 = 0x5357_444c_0000_0002;
/// Learned flows sit above table-miss (priority 0); OpenBSD put both at the same priority.
pub const LEARNED_PRIORITY: u16 = 1;

/// OpenFlow 1.3 reserved ports (`enum ofp_port_no`), ofproto's, by their short names.
pub use ofproto::v13::port as port13;
use ofproto::v13::{OFPG_ANY, OFPTT_ALL};
/// `OFPPC_PORT_DOWN` and `OFPPS_LINK_DOWN`: bit 0 in both versions.
const PORT_DOWN: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V10,
    V13,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V10 => "1.0",
            Version::V13 => "1.3",
        }
    }
}

/// What a session needs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Zero disables echoes and the dead-peer check.
    pub echo_interval: Duration,
    /// MAC aging and the learned flows' idle timeout, seconds.
    pub mac_timeout: u32,
    pub cache: u32,
}

/// A port as we show it: version-neutral, port numbers in 1.3 numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub port_no: u32,
    pub name: String,
    pub hw_addr: MacAddr,
    pub config: u32,
    pub state: u32,
}

impl PortInfo {
    pub fn is_up(&self) -> bool {
        self.config & PORT_DOWN == 0 && self.state & PORT_DOWN == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChange {
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

    pub fn name(self) -> &'static str {
        match self {
            PortChange::Added => "added",
            PortChange::Deleted => "deleted",
            PortChange::Modified => "modified",
        }
    }
}

/// What the session reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
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

/// Why the session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// Nothing received for 3 echo intervals.
    Dead(Duration),
    /// Anything else, in a sentence.
    Other(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Dead(d) => write!(f, "dead: nothing received for {} s", d.as_secs()),
            CloseReason::Other(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hello,
    Features,
    Ready,
}

/// One switch connection.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    version: Option<Version>,
    datapath_id: Option<u64>,
    inbuf: BytesMut,
    out: BytesMut,
    next_xid: u32,
    last_rx: Instant,
    next_echo: Instant,
    ports: BTreeMap<u32, PortInfo>,
    macs: MacTable,
    events: VecDeque<SessionEvent>,
    /// Flow-stats requests in flight, and the rows gathered so far.
    flow_stats: BTreeMap<u32, Vec<FlowRow>>,
    /// The configuration's static flows for this switch, as text.
    static_flows: Vec<String>,
    /// Flow-mods whose errors we report, by xid.
    pending_mods: BTreeMap<u32, PendingMod>,
    /// switchctl's flow-mods waiting for their barrier reply, by barrier xid.
    ctl_barriers: BTreeSet<u32>,
    close: Option<CloseReason>,
    /// A local switch: its table-miss flow is the configuration's, not ours.
    local: bool,
    /// A local switch forwarded to a remote controller (`forward to`): this session only
    /// looks (ports, flows, counters for switchctl); it changes nothing and learns nothing.
    observe: bool,
    /// Counters for the log and `show`.
    pub packet_ins: u64,
}

impl Session {
    /// A new session; our HELLO is queued.
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        let mut s = Session {
            cfg,
            state: State::Hello,
            version: None,
            datapath_id: None,
            inbuf: BytesMut::new(),
            out: BytesMut::new(),
            next_xid: 0,
            last_rx: now,
            next_echo: now + cfg.echo_interval,
            ports: BTreeMap::new(),
            macs: MacTable::new(cfg.cache, cfg.mac_timeout),
            events: VecDeque::new(),
            flow_stats: BTreeMap::new(),
            static_flows: Vec::new(),
            pending_mods: BTreeMap::new(),
            ctl_barriers: BTreeSet::new(),
            close: None,
            local: false,
            observe: false,
            packet_ins: 0,
        };
        // 6.3.1: HELLO with the highest version we speak and a bitmap of all of them.
        let xid = s.xid();
        v13::encode_hello(&VERSIONS, xid, &mut s.out);
        s
    }

    /// The switch is a local bridge: the datapath process installed the configured
    /// table-miss flow (normal or drop), so the learning switch must not add its own.
    pub fn set_local(&mut self) {
        self.local = true;
    }

    /// The switch is a local bridge driven by a remote controller: look, do not touch.
    pub fn set_observe(&mut self) {
        self.local = true;
        self.observe = true;
    }

    pub fn reconfigure(&mut self, cfg: SessionConfig) {
        self.cfg = cfg;
        self.macs.reconfigure(cfg.cache, cfg.mac_timeout);
    }

    fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_add(1);
        self.next_xid
    }

    pub fn ports(&self) -> impl Iterator<Item = &PortInfo> {
        self.ports.values()
    }

    pub fn macs(&self, now: Instant) -> Vec<(MacAddr, u32, Duration)> {
        self.macs.entries(now)
    }

    /// Bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Session::output`] were written.
    pub fn consume(&mut self, n: usize) {
        let _ = self.out.split_to(n.min(self.out.len()));
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Set once the session must end: flush [`Session::output`] (best effort), then close.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close.as_ref()
    }

    /// End the session (e.g. replaced by a newer connection of the same switch).
    pub fn close(&mut self, reason: String) {
        if self.close.is_none() {
            self.close = Some(CloseReason::Other(reason));
        }
    }

    /// When [`Session::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.cfg.echo_interval.is_zero() {
            return None;
        }
        Some(self.next_echo.min(self.dead_at()))
    }

    fn dead_at(&self) -> Instant {
        self.last_rx + self.cfg.echo_interval * 3
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.macs.expire(now);
        if self.cfg.echo_interval.is_zero() || self.close.is_some() {
            return;
        }
        if now >= self.dead_at() {
            self.close = Some(CloseReason::Dead(now - self.last_rx));
            return;
        }
        if now >= self.next_echo {
            self.next_echo = now + self.cfg.echo_interval;
            // Before negotiation there is no version to send an echo in.
            match self.version {
                Some(Version::V13) => self.send13(&v13::Message::EchoRequest(Bytes::new())),
                Some(Version::V10) => self.send10(&v10::Message::EchoRequest(Bytes::new())),
                None => 0,
            };
        }
    }

    /// Bytes from the peer.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.close.is_some() {
            return;
        }
        if !data.is_empty() {
            self.last_rx = now;
            self.next_echo = now + self.cfg.echo_interval;
        }
        self.inbuf.extend_from_slice(data);
        // Taken out for the loop, so that a message can be read in place while the session
        // changes; put back, with what is left of a partial message, at the end.
        let mut inbuf = std::mem::take(&mut self.inbuf);
        loop {
            if self.close.is_some() {
                break;
            }
            let len = match Header::frame(&inbuf) {
                Ok(Some((_, m))) => m.len(),
                Ok(None) => {
                    // Framing takes every whole message, so what is left is less than one.
                    debug_assert!(inbuf.len() < ofproto::header::MAX_MESSAGE_LEN);
                    break;
                }
                Err(e) => {
                    // A length below 8: the stream cannot be framed any further.
                    let bad = Bytes::copy_from_slice(&inbuf[..inbuf.len().min(64)]);
                    self.malformed(&e, &bad);
                    break;
                }
            };
            // The hot path: a table-miss PACKET_IN, read in place (see fast13.rs).
            if self.state == State::Ready && self.version == Some(Version::V13) {
                if let Some(p) = fast13::packet_in(&inbuf[..len]) {
                    self.packet_in13_raw(p.buffer_id, p.in_port, p.data, now);
                    inbuf.advance(len);
                    continue;
                }
            }
            let msg = inbuf.split_to(len).freeze();
            self.handle_message(msg, now);
        }
        self.inbuf = inbuf;
    }

    /// Queue bytes; a peer that lets the queue fill is dropped.
    fn queue_check(&mut self, start: usize) {
        if self.out.len() > WRITE_QUEUE_MAX {
            self.out.truncate(start);
            if self.close.is_none() {
                self.close = Some(CloseReason::Other(format!(
                    "peer does not read: write queue over {WRITE_QUEUE_MAX} bytes"
                )));
            }
        }
    }

    fn send13(&mut self, m: &v13::Message) -> u32 {
        let xid = self.xid();
        self.send13_xid(m, xid);
        xid
    }

    fn send13_xid(&mut self, m: &v13::Message, xid: u32) {
        let start = self.out.len();
        m.encode(xid, &mut self.out);
        self.queue_check(start);
    }

    fn send10(&mut self, m: &v10::Message) -> u32 {
        let xid = self.xid();
        self.send10_xid(m, xid);
        xid
    }

    fn send10_xid(&mut self, m: &v10::Message, xid: u32) {
        let start = self.out.len();
        m.encode(xid, &mut self.out);
        self.queue_check(start);
    }

    /// Answer a message that did not decode with the error the decoder names (in the
    /// session's numbering) and the first 64 bytes of it (7.4.4), then close.
    fn malformed(&mut self, e: &DecodeError, msg: &Bytes) {
        let Some(code) = e.ofp_error() else {
            return;
        };
        let xid = Header::decode(msg).map(|h| h.xid).unwrap_or(0);
        let v10 = match self.version {
            Some(v) => v == Version::V10,
            None => msg.first() == Some(&OFP10_VERSION),
        };
        if v10 {
            let c = v10::error_code(code);
            self.send10_xid(
                &v10::Message::Error(v10::ErrorMsg {
                    err_type: c.err_type,
                    code: c.code,
                    data: msg.slice(..msg.len().min(64)),
                }),
                xid,
            );
        } else {
            self.send13_xid(
                &v13::Message::Error(v13::ErrorMsg::for_request(code, msg)),
                xid,
            );
        }
        self.close = Some(CloseReason::Other(format!("malformed message: {e}")));
    }

    fn handle_message(&mut self, msg: Bytes, now: Instant) {
        match self.version {
            None => self.handle_hello(msg),
            Some(Version::V13) => match v13::decode(&msg) {
                Ok((xid, m)) => self.handle13(xid, m, now),
                Err(e) => self.malformed(&e, &msg),
            },
            Some(Version::V10) => match v10::decode(&msg) {
                Ok((xid, m)) => self.handle10(xid, m, now),
                Err(e) => self.malformed(&e, &msg),
            },
        }
    }

    fn handle_hello(&mut self, msg: Bytes) {
        let peer_version = msg.first().copied().unwrap_or(0);
        // 6.3.1: the first message must be a HELLO; the v13 decoder reads a HELLO of any
        // version (a pre-1.3.1 HELLO has no elements, which negotiates by header version).
        let hello = match v13::decode(&msg) {
            Ok((_, v13::Message::Hello(h))) => h,
            Ok(_) => {
                self.hello_failed(&msg, "the first message was not a HELLO");
                return;
            }
            Err(e) => {
                self.malformed(&e, &msg);
                return;
            }
        };
        match v13::negotiate(&VERSIONS, &hello, peer_version) {
            Ok(OFP10_VERSION) => self.start_features(Version::V10),
            Ok(_) => self.start_features(Version::V13),
            Err(_) => self.hello_failed(&msg, "no common OpenFlow version (we speak 1.0 and 1.3)"),
        }
    }

    fn hello_failed(&mut self, msg: &Bytes, why: &str) {
        // OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE (same numbers in 1.0 and 1.3); its data
        // is an ASCII explanation.
        let err = v13::ErrorMsg::Standard {
            code: OfpErrorCode::HELLO_INCOMPATIBLE,
            data: Bytes::copy_from_slice(why.as_bytes()),
        };
        let xid = Header::decode(msg).map(|h| h.xid).unwrap_or(0);
        if msg.first() == Some(&OFP10_VERSION) {
            self.send10_xid(
                &v10::Message::Error(v10::ErrorMsg {
                    err_type: 0,
                    code: 0,
                    data: Bytes::copy_from_slice(why.as_bytes()),
                }),
                xid,
            );
        } else {
            self.send13_xid(&v13::Message::Error(err), xid);
        }
        self.close = Some(CloseReason::Other(format!("hello failed: {why}")));
    }

    fn start_features(&mut self, v: Version) {
        self.version = Some(v);
        self.state = State::Features;
        match v {
            Version::V13 => {
                self.send13(&v13::Message::FeaturesRequest);
                // OFPCML_NO_BUFFER: whole packets, so that nothing depends on switch buffers.
                self.send13(&v13::Message::SetConfig(v13::SwitchConfig {
                    flags: 0,
                    miss_send_len: v13::action::OFPCML_NO_BUFFER,
                }));
            }
            Version::V10 => {
                self.send10(&v10::Message::FeaturesRequest);
                self.send10(&v10::Message::SetConfig(v10::SwitchConfig {
                    flags: 0,
                    miss_send_len: 0xffff,
                }));
            }
        }
    }

    /// The switch is known: flows of a previous controller's learning are stale (our MAC
    /// table starts empty), so delete them, then install table-miss (1.3; 1.0 sends misses
    /// to the controller by default).
    fn start_learning(&mut self) {
        if self.observe {
            // The remote controller's flows are not ours to delete.
            self.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
                flags: 0,
                body: v13::MultipartRequestBody::PortDesc,
            }));
            return;
        }
        match self.version {
            Some(Version::V13) => {
                self.send13(&v13::Message::FlowMod(v13::FlowMod {
                    cookie: LEARNED_COOKIE,
                    cookie_mask: u64::MAX,
                    table_id: OFPTT_ALL,
                    command: v13::FlowModCommand::Delete,
                    buffer_id: v13::OFP_NO_BUFFER,
                    out_port: port13::ANY,
                    out_group: OFPG_ANY,
                    ..Default::default()
                }));
                if !self.local {
                    self.send13(&v13::Message::FlowMod(table_miss13()));
                }
                self.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
                    flags: 0,
                    body: v13::MultipartRequestBody::PortDesc,
                }));
            }
            Some(Version::V10) => {
                // 1.0 has no cookie filter on delete: the learned flows are recognised by
                // their priority, which a non-strict delete cannot select; delete them all
                // (the 1.0 switch has nothing but what a controller put there).
                self.send10(&v10::Message::FlowMod(v10::FlowMod {
                    r#match: v10::Match::any(),
                    cookie: 0,
                    command: v10::FlowModCommand::Delete,
                    table_id: 0,
                    idle_timeout: 0,
                    hard_timeout: 0,
                    priority: 0,
                    buffer_id: v10::NO_BUFFER,
                    out_port: v10::port_no::NONE,
                    flags: 0,
                    actions: Vec::new(),
                }));
            }
            None => {}
        }
        self.send_barrier();
    }

    fn send_barrier(&mut self) {
        self.send_barrier_xid();
    }

    fn send_barrier_xid(&mut self) -> u32 {
        match self.version {
            Some(Version::V13) => self.send13(&v13::Message::BarrierRequest),
            Some(Version::V10) => self.send10(&v10::Message::BarrierRequest),
            None => 0,
        }
    }

    /// Ask the switch for all its flows; the rows arrive as [`SessionEvent::FlowStats`] with
    /// the returned xid. `None` before the handshake is done.
    pub fn request_flow_stats(&mut self) -> Option<u32> {
        if self.state != State::Ready || self.close.is_some() {
            return None;
        }
        let xid = match self.version? {
            Version::V13 => self.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
                flags: 0,
                body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest {
                    table_id: OFPTT_ALL,
                    out_port: port13::ANY,
                    out_group: OFPG_ANY,
                    cookie: 0,
                    cookie_mask: 0,
                    match_: v13::Match::new(),
                }),
            })),
            Version::V10 => self.send10(&v10::Message::StatsRequest(v10::StatsRequest {
                flags: 0,
                body: v10::StatsRequestBody::Flow(v10::FlowStatsRequest {
                    r#match: v10::Match::any(),
                    table_id: 0xff,
                    out_port: v10::port_no::NONE,
                }),
            })),
        };
        self.flow_stats.insert(xid, Vec::new());
        Some(xid)
    }

    fn connected(&mut self, datapath_id: u64) {
        if self.state != State::Features {
            return;
        }
        self.datapath_id = Some(datapath_id);
        self.state = State::Ready;
        if let Some(version) = self.version {
            self.events.push_back(SessionEvent::Connected {
                datapath_id,
                version,
            });
        }
        self.start_learning();
    }

    /// The configuration's static flows for this switch. Before the handshake they are only
    /// kept (installed on connect); on a ready switch the difference is applied: the removed
    /// ones deleted (strictly, and in 1.3 only if they carry [`STATIC_COOKIE`]), the new ones
    /// added.
    pub fn set_static_flows(&mut self, flows: Vec<String>) {
        let old = std::mem::replace(&mut self.static_flows, flows);
        if self.state != State::Ready || self.close.is_some() || old == self.static_flows {
            return;
        }
        let removed: Vec<String> = old
            .iter()
            .filter(|f| !self.static_flows.contains(f))
            .cloned()
            .collect();
        let added: Vec<String> = self
            .static_flows
            .iter()
            .filter(|f| !old.contains(f))
            .cloned()
            .collect();
        let mut sent = Vec::new();
        for f in &removed {
            // A flow that does not parse could not have been installed either.
            if let Ok(m) = self.static_mod(f, true) {
                sent.push((self.send_any(&m), f.clone()));
            }
        }
        for f in &added {
            if let Some(x) = self.send_static_add(f) {
                sent.push((x, f.clone()));
            }
        }
        self.track_static(sent);
    }

    /// Install the static flows for this switch, once [`SessionEvent::Connected`] has said
    /// which switch it is: in 1.3 the ones a previous connection left are deleted first (by
    /// cookie), so that a flow removed from the configuration while the switch was away
    /// does not stay; 1.0 deleted every flow at the start of learning already.
    pub fn install_static_flows(&mut self, flows: Vec<String>) {
        self.static_flows = flows;
        if self.state != State::Ready
            || self.close.is_some()
            || (self.static_flows.is_empty() && self.version == Some(Version::V10))
        {
            return;
        }
        if self.version == Some(Version::V13) {
            self.send13(&v13::Message::FlowMod(v13::FlowMod {
                cookie: STATIC_COOKIE,
                cookie_mask: u64::MAX,
                table_id: OFPTT_ALL,
                command: v13::FlowModCommand::Delete,
                buffer_id: v13::OFP_NO_BUFFER,
                out_port: port13::ANY,
                out_group: OFPG_ANY,
                ..Default::default()
            }));
        }
        let mut sent = Vec::new();
        for f in self.static_flows.clone() {
            if let Some(x) = self.send_static_add(&f) {
                sent.push((x, f));
            }
        }
        self.track_static(sent);
    }

    /// Send one static flow as an ADD; a flow that does not parse for this version is
    /// reported, not sent.
    fn send_static_add(&mut self, flow: &str) -> Option<u32> {
        match self.static_mod(flow, false) {
            Ok(m) => Some(self.send_any(&m)),
            Err(error) => {
                self.events.push_back(SessionEvent::StaticFlowFailed {
                    flow: flow.to_string(),
                    error,
                });
                None
            }
        }
    }

    /// Follow the static flow-mods `sent` (xid, text) with a barrier, so that errors for
    /// them can be told apart from everything else until it is answered.
    fn track_static(&mut self, sent: Vec<(u32, String)>) {
        let barrier = self.send_barrier_xid();
        for (xid, flow) in sent {
            self.pending_mods.insert(
                xid,
                PendingMod {
                    barrier,
                    flow,
                    from_ctl: false,
                },
            );
        }
    }

    /// A static flow as an ADD with [`STATIC_COOKIE`], or (`delete`) the strict delete of
    /// exactly that flow.
    fn static_mod(&self, flow: &str, delete: bool) -> Result<AnyFlowMod, String> {
        let m = self.parse_flow(flow, FlowCommand::Add)?;
        Ok(match m {
            AnyFlowMod::V13(mut f) => {
                f.cookie = STATIC_COOKIE;
                if delete {
                    f.command = v13::FlowModCommand::DeleteStrict;
                    f.cookie_mask = u64::MAX;
                    f.out_port = port13::ANY;
                    f.out_group = OFPG_ANY;
                    f.instructions = Default::default();
                }
                AnyFlowMod::V13(f)
            }
            AnyFlowMod::V10(mut f) => {
                f.cookie = STATIC_COOKIE;
                if delete {
                    // 1.0 deletes cannot filter by cookie: match and priority only.
                    f.command = v10::FlowModCommand::DeleteStrict;
                    f.out_port = v10::port_no::NONE;
                    f.actions = Vec::new();
                }
                AnyFlowMod::V10(f)
            }
        })
    }

    /// Flow text in the negotiated version's flow-mod.
    fn parse_flow(&self, flow: &str, cmd: FlowCommand) -> Result<AnyFlowMod, String> {
        match self.version {
            Some(Version::V13) => {
                let c = match cmd {
                    FlowCommand::Add => v13::FlowModCommand::Add,
                    FlowCommand::Delete => v13::FlowModCommand::Delete,
                };
                ofproto::text::parse_flow(flow, c)
                    .map(|f| AnyFlowMod::V13(Box::new(f)))
                    .map_err(|e| format!("bad flow for OpenFlow 1.3: {e}"))
            }
            Some(Version::V10) => {
                let c = match cmd {
                    FlowCommand::Add => v10::FlowModCommand::Add,
                    FlowCommand::Delete => v10::FlowModCommand::Delete,
                };
                ofproto::text::parse_flow10(flow, c)
                    .map(AnyFlowMod::V10)
                    .map_err(|e| format!("bad flow for OpenFlow 1.0: {e}"))
            }
            None => Err("the switch is not connected yet".into()),
        }
    }

    fn send_any(&mut self, m: &AnyFlowMod) -> u32 {
        match m {
            AnyFlowMod::V13(f) => self.send13(&v13::Message::FlowMod((**f).clone())),
            AnyFlowMod::V10(f) => self.send10(&v10::Message::FlowMod(f.clone())),
        }
    }

    /// switchctl's `add flow` / `del flow`: the flow-mod, then a barrier whose xid is
    /// returned; [`SessionEvent::FlowModDone`] with that xid follows once the switch has
    /// answered. A text that does not parse for this version is an `Err` and nothing is
    /// sent. A delete that matches every flow also removes the table-miss flow and the
    /// static flows: they are put back behind it, as after the handshake.
    pub fn flow_mod(&mut self, cmd: FlowCommand, flow: &str) -> Result<u32, String> {
        if self.state != State::Ready || self.close.is_some() {
            return Err("the switch is not ready".into());
        }
        if self.observe {
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
            if self.version == Some(Version::V13) && !self.local {
                self.send13(&v13::Message::FlowMod(table_miss13()));
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
            let gone = self.macs.forget_port(port_no);
            if !gone.is_empty() || change == PortChange::Deleted {
                self.delete_flows_to_port(port_no);
            }
        }
        self.events
            .push_back(SessionEvent::PortStatus { change, port });
    }

    fn flow_stats_error(&mut self, xid: u32, what: String) -> bool {
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
            crate::log_debug!("error from switch (xid {xid}): {e:?}");
        }
    }

    fn flow_stats_part(&mut self, xid: u32, rows: Vec<FlowRow>, more: bool) {
        let Some(acc) = self.flow_stats.get_mut(&xid) else {
            crate::log_debug!("flow stats reply with unknown xid {xid}");
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

    // ---- OpenFlow 1.3 ----

    fn handle13(&mut self, xid: u32, m: v13::Message, now: Instant) {
        use v13::Message as M;
        match m {
            M::EchoRequest(data) => self.send13_xid(&M::EchoReply(data), xid),
            M::EchoReply(_) => {}
            M::FeaturesReply(f) => self.connected(f.datapath_id),
            M::PacketIn(p) if self.state == State::Ready => self.packet_in13(p, now),
            M::PortStatus(ps) => {
                self.port_status(PortChange::from_reason(ps.reason), port_info13(&ps.desc))
            }
            M::MultipartReply(r) => {
                let more = r.flags & v13::multipart::OFPMPF_MORE != 0;
                match r.body {
                    v13::MultipartReplyBody::PortDesc(ports) => {
                        for p in &ports {
                            self.ports.insert(p.port_no, port_info13(p));
                        }
                    }
                    v13::MultipartReplyBody::Flow(stats) => {
                        let rows = stats.iter().map(flowtext::row13).collect();
                        self.flow_stats_part(xid, rows, more);
                    }
                    other => crate::log_debug!("ignoring multipart reply type {}", other.mp_type()),
                }
            }
            M::Error(e) => self.switch_error(xid, errtext::error13(&e), &e),
            M::BarrierReply => self.barrier_reply(xid),
            // 6.3.1: a second HELLO is harmless.
            other => crate::log_debug!("ignoring OpenFlow 1.3 message type {}", other.msg_type()),
        }
    }

    fn packet_in13(&mut self, p: v13::PacketIn, now: Instant) {
        let in_port = p.match_.fields.iter().find_map(|f| match f {
            v13::Oxm::InPort(port) => Some(*port),
            _ => None,
        });
        let Some(in_port) = in_port else {
            crate::log_debug!("packet-in without in_port");
            return;
        };
        self.packet_in13_raw(p.buffer_id, in_port, &p.data, now);
    }

    fn packet_in13_raw(&mut self, buffer_id: u32, in_port: u32, data: &[u8], now: Instant) {
        if self.observe {
            return;
        }
        let Some((dst, src)) = eth_addrs(data) else {
            return;
        };
        self.packet_ins += 1;
        let learnable = in_port < port13::MAX;
        let fwd = self.decide(in_port, learnable, src, dst, now);
        let buffered = buffer_id != v13::OFP_NO_BUFFER;
        let out_port = match fwd {
            Forward::Drop => return,
            Forward::Flood => port13::FLOOD,
            Forward::Port(port) => {
                let xid = self.xid();
                let start = self.out.len();
                fast13::flow_mod(
                    &mut self.out,
                    xid,
                    &fast13::LearnedFlow {
                        cookie: LEARNED_COOKIE,
                        priority: LEARNED_PRIORITY,
                        idle_timeout: self.cfg.mac_timeout.min(u16::MAX.into()) as u16,
                        buffer_id,
                        in_port,
                        dst: dst.0,
                        src: src.0,
                        out_port: port,
                    },
                );
                self.queue_check(start);
                if buffered {
                    // The FLOW_MOD's buffer_id releases the packet through the new flow.
                    return;
                }
                port
            }
        };
        let xid = self.xid();
        let start = self.out.len();
        let data = if buffered { &[][..] } else { data };
        fast13::packet_out(&mut self.out, xid, buffer_id, in_port, out_port, data);
        self.queue_check(start);
    }

    // ---- OpenFlow 1.0 ----

    fn handle10(&mut self, xid: u32, m: v10::Message, now: Instant) {
        use v10::Message as M;
        match m {
            M::EchoRequest(data) => self.send10_xid(&M::EchoReply(data), xid),
            M::EchoReply(_) => {}
            M::FeaturesReply(f) => {
                for p in &f.ports {
                    let pi = port_info10(p);
                    self.ports.insert(pi.port_no, pi);
                }
                self.connected(f.datapath_id);
            }
            M::PacketIn(p) if self.state == State::Ready => self.packet_in10(p, now),
            M::PortStatus(ps) => {
                self.port_status(PortChange::from_reason(ps.reason), port_info10(&ps.desc))
            }
            M::StatsReply(r) => {
                let more = r.flags & v10::STATS_REPLY_MORE != 0;
                match r.body {
                    v10::StatsReplyBody::Flow(stats) => {
                        let rows = stats.iter().map(flowtext::row10).collect();
                        self.flow_stats_part(xid, rows, more);
                    }
                    other => crate::log_debug!("ignoring stats reply {other:?}"),
                }
            }
            M::Error(e) => self.switch_error(xid, errtext::error10(&e), &e),
            M::BarrierReply => self.barrier_reply(xid),
            other => crate::log_debug!("ignoring OpenFlow 1.0 message type {}", other.msg_type()),
        }
    }

    fn packet_in10(&mut self, p: v10::PacketIn, now: Instant) {
        let Some((dst, src)) = eth_addrs(&p.data) else {
            return;
        };
        self.packet_ins += 1;
        let in_port = port10_to_13(p.in_port);
        let learnable = p.in_port < v10::port_no::MAX;
        let fwd = self.decide(in_port, learnable, src, dst, now);
        let buffered = p.buffer_id != v10::NO_BUFFER;
        let data = if buffered {
            Bytes::new()
        } else {
            p.data.clone()
        };
        let out_port = match fwd {
            Forward::Drop => return,
            Forward::Flood => v10::port_no::FLOOD,
            Forward::Port(port) => {
                let port = port13_to_10(port);
                let mut m = v10::Match::any();
                m.wildcards &=
                    !(v10::wildcards::IN_PORT | v10::wildcards::DL_SRC | v10::wildcards::DL_DST);
                m.in_port = p.in_port;
                m.dl_src = src.0;
                m.dl_dst = dst.0;
                self.send10(&v10::Message::FlowMod(v10::FlowMod {
                    r#match: m,
                    cookie: LEARNED_COOKIE,
                    command: v10::FlowModCommand::Add,
                    table_id: 0,
                    idle_timeout: self.cfg.mac_timeout.min(u16::MAX.into()) as u16,
                    hard_timeout: 0,
                    priority: LEARNED_PRIORITY,
                    buffer_id: p.buffer_id,
                    out_port: v10::port_no::NONE,
                    flags: 0,
                    actions: vec![v10::Action::Output { port, max_len: 0 }],
                }));
                if buffered {
                    return;
                }
                port
            }
        };
        self.send10(&v10::Message::PacketOut(v10::PacketOut {
            buffer_id: p.buffer_id,
            in_port: p.in_port,
            actions: vec![v10::Action::Output {
                port: out_port,
                max_len: 0,
            }],
            data,
        }));
    }

    // ---- shared learning ----

    /// Learn and decide; a moved address has its stale flows deleted first.
    fn decide(
        &mut self,
        in_port: u32,
        learnable: bool,
        src: MacAddr,
        dst: MacAddr,
        now: Instant,
    ) -> Forward {
        if !learnable {
            return Forward::Flood;
        }
        let d = self.macs.packet_in(in_port, src, dst, now);
        match d.learned {
            Learned::Moved { old_port } => {
                crate::log_debug!("{src} moved from port {old_port} to port {in_port}");
                self.delete_flows_for_mac(src);
            }
            Learned::Full => {
                crate::log_debug!(
                    "MAC table full ({} entries): {src} not learned",
                    self.cfg.cache
                )
            }
            Learned::New => crate::log_debug!("learned {src} on port {in_port}"),
            Learned::Ignored | Learned::Refreshed => {}
        }
        d.forward
    }

    /// Delete our flows towards `mac` (they output to its old port) and from it (they match
    /// its old in_port).
    fn delete_flows_for_mac(&mut self, mac: MacAddr) {
        match self.version {
            Some(Version::V13) => {
                for f in [
                    v13::Oxm::EthDst(v13::Masked::exact(mac)),
                    v13::Oxm::EthSrc(v13::Masked::exact(mac)),
                ] {
                    self.send13(&v13::Message::FlowMod(delete13(
                        v13::Match::from_fields([f]),
                        port13::ANY,
                    )));
                }
            }
            Some(Version::V10) => {
                for (bit, is_dst) in [
                    (v10::wildcards::DL_DST, true),
                    (v10::wildcards::DL_SRC, false),
                ] {
                    let mut m = v10::Match::any();
                    m.wildcards &= !bit;
                    if is_dst {
                        m.dl_dst = mac.0;
                    } else {
                        m.dl_src = mac.0;
                    }
                    self.send10(&v10::Message::FlowMod(delete10(m, v10::port_no::NONE)));
                }
            }
            None => {}
        }
        // The deletes must be done before the new flow is added behind them; a barrier
        // says so to a switch that reorders.
        self.send_barrier();
    }

    fn delete_flows_to_port(&mut self, port: u32) {
        match self.version {
            Some(Version::V13) => {
                self.send13(&v13::Message::FlowMod(delete13(v13::Match::new(), port)))
            }
            Some(Version::V10) => self.send10(&v10::Message::FlowMod(delete10(
                v10::Match::any(),
                port13_to_10(port),
            ))),
            None => 0,
        };
    }
}

/// The learning switch's table-miss flow: everything unmatched to the controller, whole.
fn table_miss13() -> v13::FlowMod {
    v13::FlowMod {
        cookie: TABLE_MISS_COOKIE,
        table_id: 0,
        command: v13::FlowModCommand::Add,
        priority: 0,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port13::ANY,
        out_group: OFPG_ANY,
        instructions: [v13::Instruction::ApplyActions(
            [v13::Action::Output {
                port: port13::CONTROLLER,
                max_len: v13::action::OFPCML_NO_BUFFER,
            }]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

fn delete13(match_: v13::Match, out_port: u32) -> v13::FlowMod {
    v13::FlowMod {
        cookie: LEARNED_COOKIE,
        cookie_mask: u64::MAX,
        table_id: OFPTT_ALL,
        command: v13::FlowModCommand::Delete,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port,
        out_group: OFPG_ANY,
        match_,
        ..Default::default()
    }
}

fn delete10(m: v10::Match, out_port: u16) -> v10::FlowMod {
    v10::FlowMod {
        r#match: m,
        cookie: 0,
        command: v10::FlowModCommand::Delete,
        table_id: 0,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 0,
        buffer_id: v10::NO_BUFFER,
        out_port,
        flags: 0,
        actions: Vec::new(),
    }
}

#[cfg(test)]
fn output13(port: u32) -> v13::Action {
    v13::Action::Output { port, max_len: 0 }
}

/// Destination and source of an Ethernet frame, if it is long enough to have a header.
fn eth_addrs(frame: &[u8]) -> Option<(MacAddr, MacAddr)> {
    if frame.len() < 14 {
        return None;
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    Some((MacAddr(dst), MacAddr(src)))
}

/// 1.0's 16-bit port numbers in 1.3's 32-bit space (reserved ports keep their meaning).
pub fn port10_to_13(p: u16) -> u32 {
    if p >= v10::port_no::MAX {
        0xffff_0000 | u32::from(p)
    } else {
        u32::from(p)
    }
}

pub fn port13_to_10(p: u32) -> u16 {
    if p >= port13::MAX {
        (p & 0xffff) as u16
    } else {
        p.min(u32::from(v10::port_no::MAX - 1)) as u16
    }
}

fn port_info13(p: &v13::Port) -> PortInfo {
    PortInfo {
        port_no: p.port_no,
        name: String::from_utf8_lossy(&p.name).into_owned(),
        hw_addr: p.hw_addr,
        config: p.config,
        state: p.state,
    }
}

fn port_info10(p: &v10::PhyPort) -> PortInfo {
    PortInfo {
        port_no: port10_to_13(p.port_no),
        name: p.name.as_str_lossy().into_owned(),
        hw_addr: MacAddr(p.hw_addr),
        config: p.config,
        state: p.state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: SessionConfig = SessionConfig {
        echo_interval: Duration::from_secs(10),
        mac_timeout: 300,
        cache: 100,
    };

    /// Everything the session queued, decoded as 1.3 messages.
    fn drain13(s: &mut Session) -> Vec<v13::Message> {
        let mut out = Vec::new();
        let mut buf = Bytes::copy_from_slice(s.output());
        s.consume(buf.len());
        while let Ok(Some((_, m))) = Header::frame(&buf) {
            let n = m.len();
            let msg = buf.split_to(n);
            out.push(v13::decode(&msg).expect("we send valid 1.3").1);
        }
        out
    }

    fn drain10(s: &mut Session) -> Vec<v10::Message> {
        let mut out = Vec::new();
        let mut buf = Bytes::copy_from_slice(s.output());
        s.consume(buf.len());
        while let Ok(Some((_, m))) = Header::frame(&buf) {
            let n = m.len();
            let msg = buf.split_to(n);
            out.push(v10::decode(&msg).expect("we send valid 1.0").1);
        }
        out
    }

    fn enc13(m: v13::Message) -> BytesMut {
        let mut b = BytesMut::new();
        m.encode(7, &mut b);
        b
    }

    fn enc10(m: v10::Message) -> BytesMut {
        let mut b = BytesMut::new();
        m.encode(7, &mut b);
        b
    }

    fn frame(dst: [u8; 6], src: [u8; 6]) -> Bytes {
        let mut f = Vec::from(dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0u8; 46]);
        Bytes::from(f)
    }

    fn ready13(now: Instant) -> Session {
        let mut s = Session::new(CFG, now);
        let hello = drain13(&mut s);
        assert!(
            matches!(&hello[..], [v13::Message::Hello(h)] if h.version_bitmap() == Some(&[0b10010][..]))
        );
        let mut peer = BytesMut::new();
        v13::encode_hello(&[OFP13_VERSION], 1, &mut peer);
        s.handle_input(&peer, now);
        let m = drain13(&mut s);
        assert!(matches!(m[0], v13::Message::FeaturesRequest));
        assert!(matches!(m[1], v13::Message::SetConfig(c) if c.miss_send_len == 0xffff));
        s.handle_input(
            &enc13(v13::Message::FeaturesReply(v13::FeaturesReply {
                datapath_id: 0xab,
                ..Default::default()
            })),
            now,
        );
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::Connected {
                datapath_id: 0xab,
                version: Version::V13
            })
        );
        s
    }

    /// The flow-mods among `m`, with their xids unknown: (command, cookie, priority).
    fn mods13(m: &[v13::Message]) -> Vec<(v13::FlowModCommand, u64, u16)> {
        m.iter()
            .filter_map(|m| match m {
                v13::Message::FlowMod(f) => Some((f.command, f.cookie, f.priority)),
                _ => None,
            })
            .collect()
    }

    /// Everything queued, with xids.
    fn drain13_xids(s: &mut Session) -> Vec<(u32, v13::Message)> {
        let mut out = Vec::new();
        let mut buf = Bytes::copy_from_slice(s.output());
        s.consume(buf.len());
        while let Ok(Some((_, m))) = Header::frame(&buf) {
            let n = m.len();
            let msg = buf.split_to(n);
            out.push(v13::decode(&msg).expect("we send valid 1.3"));
        }
        out
    }

    fn reply13(xid: u32, m: v13::Message) -> BytesMut {
        let mut b = BytesMut::new();
        m.encode(xid, &mut b);
        b
    }

    fn bad_out_port() -> v13::Message {
        v13::Message::Error(v13::ErrorMsg::Standard {
            code: OfpErrorCode::new(2, 4),
            data: Bytes::new(),
        })
    }

    #[test]
    fn static_flows_follow_the_handshake_with_their_cookie_and_refusals_are_reported() {
        use v13::FlowModCommand as C;
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        s.install_static_flows(vec![
            "priority=100,icmp,actions=drop".into(),
            "priority=5,actions=output:65281".into(),
            "priority=7,actions=frobnicate".into(),
        ]);
        // The flow that does not parse is reported and not sent.
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::StaticFlowFailed { flow, error }) if flow.contains("frobnicate") && error.starts_with("bad flow for OpenFlow 1.3: column")
        ));
        let m = drain13_xids(&mut s);
        let msgs: Vec<v13::Message> = m.iter().map(|(_, m)| m.clone()).collect();
        // Stale static flows of an earlier connection go first, by cookie.
        assert_eq!(
            mods13(&msgs),
            [
                (C::Delete, STATIC_COOKIE, 0),
                (C::Add, STATIC_COOKIE, 100),
                (C::Add, STATIC_COOKIE, 5)
            ]
        );
        assert!(matches!(msgs.last(), Some(v13::Message::BarrierRequest)));
        let refused = m[2].0;
        let barrier = m[3].0;
        s.handle_input(&reply13(refused, bad_out_port()), now);
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::StaticFlowFailed {
                flow: "priority=5,actions=output:65281".into(),
                error: "OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)".into()
            })
        );
        s.handle_input(&reply13(barrier, v13::Message::BarrierReply), now);
        assert!(s.pending_mods.is_empty());
        assert_eq!(s.poll_event(), None);
    }

    #[test]
    fn a_reload_deletes_removed_static_flows_strictly_and_adds_new_ones() {
        use v13::FlowModCommand as C;
        let now = Instant::now();
        let mut s = ready13(now);
        s.install_static_flows(vec![
            "priority=100,icmp,actions=drop".into(),
            "priority=9,arp,actions=NORMAL".into(),
        ]);
        drain13(&mut s);
        // Unchanged: nothing is sent.
        s.set_static_flows(vec![
            "priority=100,icmp,actions=drop".into(),
            "priority=9,arp,actions=NORMAL".into(),
        ]);
        assert!(drain13(&mut s).is_empty());
        s.set_static_flows(vec![
            "priority=9,arp,actions=NORMAL".into(),
            "priority=50,udp,actions=drop".into(),
        ]);
        let m = drain13(&mut s);
        assert_eq!(
            mods13(&m),
            [
                (C::DeleteStrict, STATIC_COOKIE, 100),
                (C::Add, STATIC_COOKIE, 50)
            ]
        );
        let v13::Message::FlowMod(del) = &m[0] else {
            panic!()
        };
        assert_eq!(del.cookie_mask, u64::MAX, "only our own flow may go");
        assert!(del.instructions.is_empty());
        assert!(matches!(m.last(), Some(v13::Message::BarrierRequest)));
    }

    #[test]
    fn switchctl_flow_mods_are_answered_after_the_barrier_or_with_the_error() {
        use v13::FlowModCommand as C;
        let now = Instant::now();
        let mut s = ready13(now);
        s.install_static_flows(vec!["priority=100,icmp,actions=drop".into()]);
        drain13(&mut s);
        // A text this version cannot parse is refused here.
        assert!(s
            .flow_mod(FlowCommand::Add, "icmp")
            .unwrap_err()
            .contains("actions="));
        assert!(s.output().is_empty());

        let b = s
            .flow_mod(FlowCommand::Add, "priority=3,udp,actions=drop")
            .unwrap();
        let m = drain13_xids(&mut s);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], (b, v13::Message::BarrierRequest));
        s.handle_input(&reply13(b, v13::Message::BarrierReply), now);
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::FlowModDone {
                xid: b,
                result: Ok(())
            })
        );

        let b = s
            .flow_mod(FlowCommand::Add, "priority=3,actions=output:65281")
            .unwrap();
        let m = drain13_xids(&mut s);
        s.handle_input(&reply13(m[0].0, bad_out_port()), now);
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::FlowModDone {
                xid: b,
                result: Err("OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)".into())
            })
        );
        // The barrier reply behind it answers nothing more.
        s.handle_input(&reply13(b, v13::Message::BarrierReply), now);
        assert_eq!(s.poll_event(), None);

        // Deleting every flow takes table-miss and the static flows too: they come back.
        s.flow_mod(FlowCommand::Delete, "").unwrap();
        let m = drain13(&mut s);
        assert_eq!(
            mods13(&m),
            [
                (C::Delete, 0, 0x8000),
                (C::Add, TABLE_MISS_COOKIE, 0),
                (C::Add, STATIC_COOKIE, 100)
            ]
        );
        // A delete with a match cannot take the table-miss flow: nothing comes back.
        s.flow_mod(FlowCommand::Delete, "udp").unwrap();
        assert_eq!(mods13(&drain13(&mut s)).len(), 1);
    }

    #[test]
    fn static_flows_over_10_parse_as_10() {
        let now = Instant::now();
        let mut s = Session::new(CFG, now);
        drain13(&mut s);
        s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
        s.handle_input(
            &enc10(v10::Message::FeaturesReply(v10::FeaturesReply {
                datapath_id: 5,
                n_buffers: 0,
                n_tables: 1,
                capabilities: 0,
                actions: 0,
                ports: Vec::new(),
            })),
            now,
        );
        drain10(&mut s);
        s.poll_event();
        s.install_static_flows(vec![
            "priority=100,icmp,actions=drop".into(),
            "table=1,actions=drop".into(),
        ]);
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::StaticFlowFailed { error, .. }) if error.starts_with("bad flow for OpenFlow 1.0")
        ));
        let m = drain10(&mut s);
        assert!(
            matches!(&m[..], [v10::Message::FlowMod(f), v10::Message::BarrierRequest] if f.cookie == STATIC_COOKIE && f.priority == 100)
        );
    }

    #[test]
    fn handshake_13_installs_table_miss_and_asks_for_ports() {
        let now = Instant::now();
        let mut s = ready13(now);
        let m = drain13(&mut s);
        let miss = m.iter().find_map(|m| match m {
            v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Add => Some(f),
            _ => None,
        });
        let miss = miss.expect("table-miss flow");
        assert_eq!((miss.priority, miss.table_id), (0, 0));
        assert!(miss.match_.fields.is_empty());
        assert!(m.iter().any(|m| matches!(m, v13::Message::MultipartRequest(r) if r.body == v13::MultipartRequestBody::PortDesc)));
        assert_eq!(s.datapath_id, Some(0xab));
        assert_eq!(s.version, Some(Version::V13));
    }

    #[test]
    fn a_local_switch_gets_no_table_miss_from_the_learning_switch() {
        let now = Instant::now();
        let mut s = Session::new(CFG, now);
        s.set_local();
        drain13(&mut s);
        let mut peer = BytesMut::new();
        v13::encode_hello(&[OFP13_VERSION], 1, &mut peer);
        s.handle_input(&peer, now);
        s.handle_input(
            &enc13(v13::Message::FeaturesReply(v13::FeaturesReply {
                datapath_id: 0xab,
                ..Default::default()
            })),
            now,
        );
        let m = drain13(&mut s);
        assert!(
            !m.iter().any(
                |m| matches!(m, v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Add)
            ),
            "{m:?}"
        );
        assert!(m
            .iter()
            .any(|m| matches!(m, v13::Message::MultipartRequest(_))));
    }

    #[test]
    fn a_10_hello_without_bitmap_negotiates_10_and_ports_come_from_features() {
        let now = Instant::now();
        let mut s = Session::new(CFG, now);
        drain13(&mut s);
        s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
        let m = drain10(&mut s);
        assert!(matches!(m[0], v10::Message::FeaturesRequest));
        let port = v10::PhyPort {
            port_no: 3,
            name: v10::FixedStr::new("eth3"),
            ..Default::default()
        };
        s.handle_input(
            &enc10(v10::Message::FeaturesReply(v10::FeaturesReply {
                datapath_id: 5,
                n_buffers: 0,
                n_tables: 1,
                capabilities: 0,
                actions: 0,
                ports: vec![port],
            })),
            now,
        );
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::Connected {
                version: Version::V10,
                ..
            })
        ));
        assert_eq!(
            s.ports().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["eth3"]
        );
        // Learning over 1.0: A on 1 floods, B on 2 towards A installs a flow to port 1.
        drain10(&mut s);
        let a = [2, 0, 0, 0, 0, 0xa];
        let b = [2, 0, 0, 0, 0, 0xb];
        for (port, dst, src) in [(1, [0xff; 6], a), (2, a, b)] {
            s.handle_input(
                &enc10(v10::Message::PacketIn(v10::PacketIn {
                    buffer_id: v10::NO_BUFFER,
                    total_len: 60,
                    in_port: port,
                    reason: 0,
                    data: frame(dst, src),
                })),
                now,
            );
        }
        let m = drain10(&mut s);
        assert!(
            matches!(&m[0], v10::Message::PacketOut(p) if p.actions == vec![v10::Action::Output { port: v10::port_no::FLOOD, max_len: 0 }])
        );
        assert!(
            matches!(&m[1], v10::Message::FlowMod(f) if f.priority == 1 && f.r#match.in_port == 2 && f.r#match.dl_dst == a && f.actions == vec![v10::Action::Output { port: 1, max_len: 0 }])
        );
        assert!(matches!(&m[2], v10::Message::PacketOut(p) if !p.data.is_empty()));
    }

    #[test]
    fn learning_13_floods_then_installs_a_flow_and_handles_moves() {
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        let a = [2, 0, 0, 0, 0, 0xa];
        let b = [2, 0, 0, 0, 0, 0xb];
        let pin = |port: u32, dst, src| {
            enc13(v13::Message::PacketIn(v13::PacketIn {
                buffer_id: v13::OFP_NO_BUFFER,
                total_len: 60,
                match_: v13::Match::from_fields([v13::Oxm::InPort(port)]),
                data: frame(dst, src),
                ..Default::default()
            }))
        };
        s.handle_input(&pin(1, [0xff; 6], a), now);
        let m = drain13(&mut s);
        assert!(
            matches!(&m[..], [v13::Message::PacketOut(p)] if p.actions[0] == output13(port13::FLOOD))
        );
        s.handle_input(&pin(2, a, b), now);
        let m = drain13(&mut s);
        let v13::Message::FlowMod(f) = &m[0] else {
            panic!("{m:?}")
        };
        assert_eq!(
            (f.priority, f.idle_timeout, f.cookie),
            (1, 300, LEARNED_COOKIE)
        );
        assert_eq!(f.match_.fields.len(), 3);
        assert!(matches!(&m[1], v13::Message::PacketOut(p) if p.actions[0] == output13(1)));
        // A moves to port 3: its flows are deleted (towards it and from it), then it is
        // learned there.
        s.handle_input(&pin(3, b, a), now);
        let m = drain13(&mut s);
        let deletes = m
            .iter()
            .filter(|m| matches!(m, v13::Message::FlowMod(f) if f.command == v13::FlowModCommand::Delete && f.cookie_mask == u64::MAX))
            .count();
        assert_eq!(deletes, 2, "{m:?}");
        assert_eq!(
            s.macs(now).iter().find(|e| e.0 .0 == a).map(|e| e.1),
            Some(3)
        );
    }

    #[test]
    fn buffered_packet_ins_are_released_by_the_flow_mod_or_the_packet_out() {
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        let a = [2, 0, 0, 0, 0, 0xa];
        let b = [2, 0, 0, 0, 0, 0xb];
        let pin = |port: u32, dst, src, buffer_id| {
            enc13(v13::Message::PacketIn(v13::PacketIn {
                buffer_id,
                total_len: 60,
                match_: v13::Match::from_fields([v13::Oxm::InPort(port)]),
                data: frame(dst, src),
                ..Default::default()
            }))
        };
        // Unknown destination: flooded by a PACKET_OUT of the buffer, without data.
        s.handle_input(&pin(1, [0xff; 6], a, 7), now);
        let m = drain13(&mut s);
        assert!(
            matches!(&m[..], [v13::Message::PacketOut(p)] if p.buffer_id == 7 && p.data.is_empty() && p.in_port == 1 && p.actions[0] == output13(port13::FLOOD)),
            "{m:?}"
        );
        // Known destination: the FLOW_MOD carries the buffer, no PACKET_OUT follows.
        s.handle_input(&pin(2, a, b, 8), now);
        let m = drain13(&mut s);
        assert!(
            matches!(&m[..], [v13::Message::FlowMod(f)] if f.buffer_id == 8 && f.match_.fields.len() == 3),
            "{m:?}"
        );
        assert_eq!(s.packet_ins, 2);
    }

    #[test]
    fn echo_after_an_interval_of_silence_and_dead_after_three() {
        let t0 = Instant::now();
        let mut s = ready13(t0);
        drain13(&mut s);
        assert_eq!(s.poll_timeout(), Some(t0 + CFG.echo_interval));
        s.handle_timeout(t0 + CFG.echo_interval);
        assert!(matches!(
            drain13(&mut s)[..],
            [v13::Message::EchoRequest(_)]
        ));
        s.handle_timeout(t0 + CFG.echo_interval * 2);
        assert!(s.close_reason().is_none());
        // Anything received pushes death back.
        let t1 = t0 + CFG.echo_interval * 2;
        s.handle_input(&enc13(v13::Message::EchoReply(Bytes::new())), t1);
        s.handle_timeout(t0 + CFG.echo_interval * 3);
        assert!(s.close_reason().is_none());
        s.handle_timeout(t1 + CFG.echo_interval * 3);
        assert!(matches!(s.close_reason(), Some(CloseReason::Dead(_))));
    }

    #[test]
    fn echo_requests_are_answered_with_their_xid_and_data() {
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        s.handle_input(
            &enc13(v13::Message::EchoRequest(Bytes::from_static(b"hi"))),
            now,
        );
        let out = Bytes::copy_from_slice(s.output());
        let (xid, m) = v13::decode(&out).unwrap();
        assert_eq!(
            (xid, m),
            (7, v13::Message::EchoReply(Bytes::from_static(b"hi")))
        );
    }

    #[test]
    fn messages_we_do_not_act_on_keep_the_session() {
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        for m in [
            v13::Message::BarrierReply,
            v13::Message::Error(v13::ErrorMsg::for_request(
                OfpErrorCode::BAD_TYPE,
                &Bytes::new(),
            )),
            v13::Message::Experimenter(v13::Experimenter {
                experimenter: 0x2320,
                exp_type: 1,
                data: Bytes::new(),
            }),
            v13::Message::FlowRemoved(Default::default()),
        ] {
            s.handle_input(&enc13(m), now);
        }
        assert!(s.close_reason().is_none());
    }

    #[test]
    fn malformed_input_gets_the_decoders_error_and_closes() {
        let now = Instant::now();
        let mut s = ready13(now);
        drain13(&mut s);
        // Type 200 does not exist: OFPBRC_BAD_TYPE with the message as data.
        let bad = [4u8, 200, 0, 8, 0, 0, 0, 9];
        s.handle_input(&bad, now);
        let out = Bytes::copy_from_slice(s.output());
        let (xid, m) = v13::decode(&out).unwrap();
        assert_eq!(xid, 9);
        assert_eq!(
            m,
            v13::Message::Error(v13::ErrorMsg::Standard {
                code: OfpErrorCode::BAD_TYPE,
                data: Bytes::copy_from_slice(&bad)
            })
        );
        assert!(s.close_reason().is_some());
        // Later input is ignored.
        s.handle_input(&enc13(v13::Message::EchoRequest(Bytes::new())), now);
        assert_eq!(s.output().len(), out.len());
    }

    #[test]
    fn malformed_10_input_is_answered_in_10_numbering() {
        let now = Instant::now();
        let mut s = Session::new(CFG, now);
        drain13(&mut s);
        s.handle_input(&enc10(v10::Message::Hello(v10::Hello::default())), now);
        drain10(&mut s);
        // A header length below 8 cannot be framed: BAD_REQUEST/BAD_LEN (1, 6 in 1.0).
        s.handle_input(&[1, 2, 0, 4, 0, 0, 0, 1], now);
        let m = drain10(&mut s);
        assert!(matches!(&m[..], [v10::Message::Error(e)] if (e.err_type, e.code) == (1, 6)));
        assert!(s.close_reason().is_some());
    }

    #[test]
    fn no_common_version_fails_the_hello() {
        let now = Instant::now();
        let mut s = Session::new(CFG, now);
        drain13(&mut s);
        // OpenFlow 1.1 header, no bitmap: min(4, 2) = 2, which we do not speak.
        s.handle_input(&[2, 0, 0, 8, 0, 0, 0, 1], now);
        let m = drain13(&mut s);
        assert!(
            matches!(&m[..], [v13::Message::Error(v13::ErrorMsg::Standard { code, .. })] if *code == OfpErrorCode::HELLO_INCOMPATIBLE)
        );
        assert!(s.close_reason().is_some());
    }

    #[test]
    fn a_peer_that_does_not_read_is_dropped_when_the_queue_is_full() {
        let now = Instant::now();
        let mut s = ready13(now);
        let echo = enc13(v13::Message::EchoRequest(Bytes::from(vec![0u8; 60000])));
        for _ in 0..(WRITE_QUEUE_MAX / 60000 + 2) {
            s.handle_input(&echo, now);
        }
        assert!(s.output().len() <= WRITE_QUEUE_MAX);
        assert!(
            matches!(s.close_reason(), Some(CloseReason::Other(r)) if r.contains("write queue"))
        );
    }

    #[test]
    fn port_status_keeps_ports_and_forgets_addresses_of_deleted_ports() {
        let now = Instant::now();
        let mut s = ready13(now);
        let port = |no: u32, reason: u8| {
            enc13(v13::Message::PortStatus(v13::PortStatus {
                reason,
                desc: v13::Port {
                    port_no: no,
                    name: Bytes::from_static(b"p"),
                    ..Default::default()
                },
            }))
        };
        s.handle_input(&port(4, 0), now);
        assert_eq!(s.ports().count(), 1);
        s.handle_input(
            &enc13(v13::Message::PacketIn(v13::PacketIn {
                buffer_id: v13::OFP_NO_BUFFER,
                match_: v13::Match::from_fields([v13::Oxm::InPort(4)]),
                data: frame([0xff; 6], [2, 0, 0, 0, 0, 1]),
                ..Default::default()
            })),
            now,
        );
        assert_eq!(s.macs(now).len(), 1);
        drain13(&mut s);
        s.handle_input(&port(4, 1), now);
        assert_eq!(s.ports().count(), 0);
        assert!(s.macs(now).is_empty());
        assert!(drain13(&mut s)
            .iter()
            .any(|m| matches!(m, v13::Message::FlowMod(f) if f.out_port == 4)));
        let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(
            matches!(
                &evs[..],
                [
                    SessionEvent::PortStatus {
                        change: PortChange::Added,
                        ..
                    },
                    SessionEvent::PortStatus {
                        change: PortChange::Deleted,
                        ..
                    }
                ]
            ),
            "{evs:?}"
        );
    }
}
