//! The switch side of OpenFlow 1.3, sans-IO: the mirror of `ofp/session.rs`. The caller
//! feeds the controller's bytes and the time in ([`Agent::handle_input`],
//! [`Agent::handle_timeout`]), takes bytes out ([`Agent::output`], [`Agent::consume`]) and
//! answers the few questions the agent cannot answer itself ([`Agent::poll_event`]: port
//! counters, which live in the kernel).
//!
//! The agent trusts nobody: every message is decoded by `ofproto::v13`, a malformed one is
//! answered with the OFPT_ERROR the decoder names and the connection closed; a valid
//! message the switch does not support gets the OFPT_ERROR the spec prescribes, and the
//! connection stays. Nothing is ever ignored silently.
//!
//! The [`Switch`] (flow table, backend, ports) outlives a connection: when the controller
//! goes away the flows stay (fail secure), [`Agent::restart`] begins a new connection with
//! the same switch, and timeouts keep running in between.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::error::err_type;
use ofproto::header::{Header, OFP13_VERSION};
use ofproto::v13::{self, multipart as mp, Message as M};
use ofproto::{DecodeError, OfpErrorCode};

use super::flowtable::{self, port, FlowTable, RemovedFlow, Selector, METER_ALL, METER_MAX};
use super::packetout::{self, FrameSink};
use crate::{log_debug, log_info, log_warn};
use tc_datapath::{Backend, PortMap, Refusal};

/// The read side keeps at most one partial message plus one read's worth of bytes.
pub const READ_CHUNK: usize = 64 * 1024;
/// The most we queue for a controller that does not read.
pub const WRITE_QUEUE_MAX: usize = 4 * 1024 * 1024;
/// Packet-ins are dropped (and counted) while this much waits to be written: a controller
/// that reads slowly gets fewer packets, not a connection closed for a full queue.
pub const PACKET_IN_QUEUE_MAX: usize = 256 * 1024;
/// Multipart replies are cut into messages of at most this many body bytes.
const MULTIPART_BODY_MAX: usize = 60 * 1024;

/// `ofp_capabilities` we have: flow, table and port statistics.
pub const CAPABILITIES: u32 = 1 | 2 | 4;

/// Errors of spec 7.4.4 the agent answers with.
mod err {
    use super::err_type as t;
    use ofproto::OfpErrorCode as E;
    pub const BAD_TYPE: E = E::BAD_TYPE;
    pub const BAD_MULTIPART: E = E::BAD_MULTIPART;
    pub const BAD_EXPERIMENTER: E = E::BAD_EXPERIMENTER;
    pub const IS_SLAVE: E = E::new(t::BAD_REQUEST, 10);
    pub const BAD_PORT: E = E::new(t::BAD_REQUEST, 11);
    pub const PORT_MOD_BAD_PORT: E = E::new(t::PORT_MOD_FAILED, 0);
    pub const PORT_MOD_EPERM: E = E::new(t::PORT_MOD_FAILED, 4);
    pub const TABLE_MOD_BAD_TABLE: E = E::new(t::TABLE_MOD_FAILED, 0);
    pub const QUEUE_BAD_PORT: E = E::new(t::QUEUE_OP_FAILED, 0);
    pub const SWITCH_CONFIG_BAD_FLAGS: E = E::new(t::SWITCH_CONFIG_FAILED, 0);
    pub const ROLE_STALE: E = E::new(t::ROLE_REQUEST_FAILED, 0);
    pub const ROLE_BAD_ROLE: E = E::new(t::ROLE_REQUEST_FAILED, 2);
    pub const GROUP_UNKNOWN: E = E::new(t::GROUP_MOD_FAILED, 8);
    pub const METER_UNKNOWN: E = E::new(t::METER_MOD_FAILED, 3);
    pub const TABLE_FEATURES_EPERM: E = E::new(t::TABLE_FEATURES_FAILED, 5);
}

/// `enum ofp_controller_role`
pub mod role {
    pub const NOCHANGE: u32 = 0;
    pub const EQUAL: u32 = 1;
    pub const MASTER: u32 = 2;
    pub const SLAVE: u32 = 3;
}

/// What the agent needs to know about the switch it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// The switch's name in the configuration (and in `dp_desc`).
    pub name: String,
    pub bridge: String,
    pub datapath_id: u64,
    pub n_tables: u8,
    /// Zero disables echoes and the dead-peer check.
    pub echo_interval: Duration,
}

/// A port of the switch: its OpenFlow description and the interface behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchPort {
    pub desc: v13::Port,
    pub ifindex: u32,
    /// When the port appeared (port stats durations count from here).
    pub since: Instant,
}

/// A port's counters as the kernel keeps them (`rtnl_link_stats64`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_frame_errors: u64,
    pub rx_over_errors: u64,
    pub rx_crc_errors: u64,
    pub collisions: u64,
}

/// The state a local switch keeps across connections.
pub struct Switch {
    pub table: FlowTable,
    pub backend: Box<dyn Backend + Send>,
    pub ports: BTreeMap<u32, SwitchPort>,
    /// Where packet-outs are sent (`None`: refused, there is no packet socket).
    pub frames: Option<Box<dyn FrameSink + Send>>,
    /// The near end of the injection pair that output:TABLE and LOCAL are sent on
    /// (`None`: they are refused).
    pub inject: Option<u32>,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("table", &self.table)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl Switch {
    pub fn new(n_tables: u8, backend: Box<dyn Backend + Send>) -> Switch {
        Switch {
            table: FlowTable::new(n_tables),
            backend,
            ports: BTreeMap::new(),
            frames: None,
            inject: None,
        }
    }

    fn port_map(&self) -> PortMap {
        let mut m = PortMap::new();
        for (no, p) in &self.ports {
            m.insert(*no, p.ifindex, &String::from_utf8_lossy(&p.desc.name));
        }
        m
    }
}

/// What became of the packets that TC sampled for the controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInCounters {
    /// Sent as OFPT_PACKET_IN.
    pub sent: u64,
    /// Not wanted: the controller's role and async mask leave out the reason.
    pub masked: u64,
    /// Dropped: no controller connected.
    pub unconnected: u64,
    /// Dropped: the write queue to the controller was over [`PACKET_IN_QUEUE_MAX`], or
    /// the switch's task fell behind the psample reader.
    pub backlog: u64,
    /// Dropped: no installed flow has the packet's psample group (a filter left over
    /// from an earlier run, not adopted).
    pub unknown: u64,
}

/// A packet that output:CONTROLLER copied (`tc_datapath::psample::Sample`).
#[derive(Debug, Clone, Copy)]
pub struct SampledPacket<'a> {
    /// The ingress device's ifindex, its low 16 bits (all that psample carries).
    pub ifindex16: u16,
    pub group: u32,
    pub total_len: u32,
    /// From the MAC header, already cut to the action's max_len by the kernel.
    pub data: &'a [u8],
}

/// What the agent asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// Read the counters of these ports (number, interface index) and hand them to
    /// [`Agent::port_stats`] with the same xid. Input is held until then, so that the
    /// reply comes before anything the controller sent after the request.
    NeedPortStats { xid: u32, ports: Vec<(u32, u32)> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Our HELLO sent, waiting for the controller's.
    Hello,
    Ready,
}

/// One OpenFlow connection of a local switch to its controller.
#[derive(Debug)]
pub struct Agent {
    cfg: AgentConfig,
    pub switch: Switch,
    state: State,
    inbuf: BytesMut,
    out: BytesMut,
    next_xid: u32,
    last_rx: Instant,
    next_echo: Instant,
    role: u32,
    generation: Option<u64>,
    async_cfg: v13::AsyncConfig,
    config: v13::SwitchConfig,
    /// A port-stats request waiting for its counters: (xid, the request).
    pending: Option<(u32, Bytes)>,
    events: VecDeque<AgentEvent>,
    close: Option<String>,
    /// Fail mode standalone: `Some` while the table-miss NORMAL entry that
    /// [`Agent::fail_open`] put in place is there, with the entry it replaced (if any), to
    /// be put back when a controller connects.
    fail_open: Option<Option<v13::FlowMod>>,
    pub packet_ins: PacketInCounters,
    /// ofp's view of a switch that a remote controller drives: a slave for good.
    observer: bool,
}

/// The asynchronous-message masks a switch starts with (spec 7.3.10; Open vSwitch's
/// defaults): everything to a master or equal controller, port status only to a slave.
pub fn default_async() -> v13::AsyncConfig {
    v13::AsyncConfig {
        packet_in_mask: [0b11, 0],
        port_status_mask: [0b111, 0b111],
        flow_removed_mask: [0b1111, 0],
    }
}

impl Agent {
    /// A new connection for `switch`; our HELLO is queued.
    pub fn new(cfg: AgentConfig, switch: Switch, now: Instant) -> Agent {
        let mut a = Agent {
            cfg,
            switch,
            state: State::Hello,
            inbuf: BytesMut::new(),
            out: BytesMut::new(),
            next_xid: 0,
            last_rx: now,
            next_echo: now,
            role: role::EQUAL,
            generation: None,
            async_cfg: default_async(),
            config: v13::SwitchConfig {
                flags: 0,
                miss_send_len: 128,
            },
            pending: None,
            events: VecDeque::new(),
            close: None,
            fail_open: None,
            packet_ins: PacketInCounters::default(),
            observer: false,
        };
        a.restart(now);
        a
    }

    /// Begin a new connection with the same switch: our HELLO queued, the per-connection
    /// state (role, async masks, config, buffers) as a new switch connection has it.
    pub fn restart(&mut self, now: Instant) {
        self.state = State::Hello;
        self.inbuf.clear();
        self.out.clear();
        self.last_rx = now;
        self.next_echo = now + self.cfg.echo_interval;
        self.role = if self.observer {
            role::SLAVE
        } else {
            role::EQUAL
        };
        self.generation = None;
        self.async_cfg = default_async();
        self.pending = None;
        self.events.clear();
        self.close = None;
        // 6.3.1: a version bitmap with only 1.3 in it.
        let xid = self.xid();
        v13::encode_hello(&[OFP13_VERSION], xid, &mut self.out);
    }

    /// Make this connection an observer: ofp's view of a switch that a remote controller
    /// drives (`forward to`). It is a slave for good (6.3.5): it reads ports, flows and
    /// counters, changes nothing (OFPBRC_IS_SLAVE) and gets no packet-in or flow-removed.
    pub fn set_observer(&mut self) {
        self.observer = true;
        self.role = role::SLAVE;
    }

    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Ready && self.close.is_none()
    }

    fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_add(1);
        self.next_xid
    }

    /// Bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Agent::output`] were written.
    pub fn consume(&mut self, n: usize) {
        let _ = self.out.split_to(n.min(self.out.len()));
    }

    pub fn poll_event(&mut self) -> Option<AgentEvent> {
        self.events.pop_front()
    }

    /// Set once the connection must end: flush [`Agent::output`] (best effort), close,
    /// and [`Agent::restart`] for the next one.
    pub fn close_reason(&self) -> Option<&str> {
        self.close.as_deref()
    }

    pub fn close(&mut self, why: impl Into<String>) {
        if self.close.is_none() {
            self.close = Some(why.into());
        }
    }

    /// When [`Agent::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let echo = (!self.cfg.echo_interval.is_zero() && self.close.is_none())
            .then(|| self.next_echo.min(self.dead_at()));
        [echo, self.switch.table.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    fn dead_at(&self) -> Instant {
        self.last_rx + self.cfg.echo_interval * 3
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let gone = self.switch.table.expire(self.switch.backend.as_mut(), now);
        self.flows_removed(gone, now);
        if self.cfg.echo_interval.is_zero() || self.close.is_some() {
            return;
        }
        if now >= self.dead_at() {
            self.close(format!(
                "dead: nothing received for {} s",
                (now - self.last_rx).as_secs()
            ));
            return;
        }
        if now >= self.next_echo {
            self.next_echo = now + self.cfg.echo_interval;
            if self.state == State::Ready {
                self.send(&M::EchoRequest(Bytes::new()));
            }
        }
    }

    /// A packet that a flow's output to CONTROLLER copied: an OFPT_PACKET_IN (7.4.1)
    /// with buffer_id OFP_NO_BUFFER (the switch buffers nothing: FEATURES says
    /// n_buffers 0), the flow's table, cookie and reason, a match with in_port, and the
    /// data as the kernel cut it to the action's max_len. Sent only if this controller's
    /// role and async mask want the reason (7.3.10; a slave by default gets none), and
    /// dropped, counted, when the write queue is long: packet-ins are never queued
    /// without bound.
    pub fn packet_in(&mut self, p: SampledPacket<'_>) {
        // Every local switch sees every sample: one that came in on another switch's
        // port is not this one's business.
        let Some(in_port) = self
            .switch
            .ports
            .iter()
            .find(|(_, sp)| sp.ifindex as u16 == p.ifindex16)
            .map(|(no, _)| *no)
        else {
            return;
        };
        if !self.is_connected() {
            self.packet_ins.unconnected += 1;
            return;
        }
        let Some(flow) = self.switch.backend.packet_in_flow(p.group) else {
            self.packet_ins.unknown += 1;
            return;
        };
        let mask = self.async_cfg.packet_in_mask[usize::from(self.is_slave())];
        if mask & (1 << flow.reason) == 0 {
            self.packet_ins.masked += 1;
            return;
        }
        if self.out.len() > PACKET_IN_QUEUE_MAX {
            self.packet_ins.backlog += 1;
            return;
        }
        self.packet_ins.sent += 1;
        let xid = self.xid();
        let start = self.out.len();
        encode_packet_in(
            &mut self.out,
            xid,
            PacketInHead {
                total_len: p.total_len.min(u16::MAX.into()) as u16,
                reason: flow.reason,
                table_id: flow.table_id,
                cookie: flow.cookie,
                in_port,
            },
            p.data,
        );
        self.queue_check(start);
    }

    /// Bytes from the controller.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.close.is_some() {
            return;
        }
        if !data.is_empty() {
            self.last_rx = now;
            self.next_echo = now + self.cfg.echo_interval;
        }
        self.inbuf.extend_from_slice(data);
        self.process(now);
    }

    fn process(&mut self, now: Instant) {
        while self.close.is_none() && self.pending.is_none() {
            let len = match Header::frame(&self.inbuf) {
                Ok(Some((_, m))) => m.len(),
                Ok(None) => break,
                Err(e) => {
                    let bad = Bytes::copy_from_slice(&self.inbuf[..self.inbuf.len().min(64)]);
                    self.malformed(&e, &bad);
                    return;
                }
            };
            let msg = self.inbuf.split_to(len).freeze();
            self.handle_message(msg, now);
        }
    }

    fn queue_check(&mut self, start: usize) {
        if self.out.len() > WRITE_QUEUE_MAX {
            self.out.truncate(start);
            self.close(format!(
                "controller does not read: write queue over {WRITE_QUEUE_MAX} bytes"
            ));
        }
    }

    fn send(&mut self, m: &M) -> u32 {
        let xid = self.xid();
        self.send_xid(m, xid);
        xid
    }

    fn send_xid(&mut self, m: &M, xid: u32) {
        let start = self.out.len();
        m.encode(xid, &mut self.out);
        self.queue_check(start);
    }

    /// Answer `request` with `code` (7.4.4: data is at least its first 64 bytes).
    fn error(&mut self, code: OfpErrorCode, request: &Bytes) {
        let xid = Header::decode(request).map(|h| h.xid).unwrap_or(0);
        self.send_xid(&M::Error(v13::ErrorMsg::for_request(code, request)), xid);
    }

    fn refuse(&mut self, r: &Refusal, request: &Bytes, what: &str) {
        log_info!("switch {}: {what} refused: {r}", self.cfg.name);
        self.error(r.error, request);
    }

    fn malformed(&mut self, e: &DecodeError, msg: &Bytes) {
        if let Some(code) = e.ofp_error() {
            self.error(code, msg);
        }
        self.close(format!("malformed message: {e}"));
    }

    fn handle_message(&mut self, msg: Bytes, now: Instant) {
        if self.state == State::Hello {
            self.handle_hello(&msg);
            return;
        }
        match v13::decode(&msg) {
            Ok((xid, m)) => self.handle13(xid, m, &msg, now),
            Err(e) => self.malformed(&e, &msg),
        }
    }

    fn handle_hello(&mut self, msg: &Bytes) {
        let peer_version = msg.first().copied().unwrap_or(0);
        let why = match v13::decode(msg) {
            Ok((_, M::Hello(h))) => match v13::negotiate(&[OFP13_VERSION], &h, peer_version) {
                Ok(_) => {
                    self.state = State::Ready;
                    // Before anything the controller sends next is carried out.
                    self.fail_closed();
                    return;
                }
                Err(_) => "no common OpenFlow version (this switch speaks 1.3)",
            },
            Ok(_) => "the first message was not a HELLO",
            Err(e) => {
                self.malformed(&e, msg);
                return;
            }
        };
        // OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE, an ASCII explanation as data.
        let xid = Header::decode(msg).map(|h| h.xid).unwrap_or(0);
        self.send_xid(
            &M::Error(v13::ErrorMsg::Standard {
                code: OfpErrorCode::HELLO_INCOMPATIBLE,
                data: Bytes::copy_from_slice(why.as_bytes()),
            }),
            xid,
        );
        self.close(format!("hello failed: {why}"));
    }

    fn is_slave(&self) -> bool {
        self.role == role::SLAVE
    }

    fn handle13(&mut self, xid: u32, m: M, raw: &Bytes, now: Instant) {
        // 6.3.5: a slave controller may not change the switch.
        let modifies = matches!(
            m,
            M::FlowMod(_)
                | M::GroupMod(_)
                | M::PortMod(_)
                | M::TableMod(_)
                | M::MeterMod(_)
                | M::PacketOut(_)
        );
        if modifies && self.is_slave() {
            self.error(err::IS_SLAVE, raw);
            return;
        }
        match m {
            M::Hello(_) => {}
            M::EchoRequest(d) => self.send_xid(&M::EchoReply(d), xid),
            M::EchoReply(_) => {}
            M::Error(e) => log_debug!("switch {}: controller sent {e:?}", self.cfg.name),
            M::FeaturesRequest => self.send_xid(
                &M::FeaturesReply(v13::FeaturesReply {
                    datapath_id: self.cfg.datapath_id,
                    // No buffers: every packet-in would carry the whole packet.
                    n_buffers: 0,
                    n_tables: self.cfg.n_tables,
                    auxiliary_id: 0,
                    capabilities: CAPABILITIES,
                    reserved: 0,
                }),
                xid,
            ),
            M::GetConfigRequest => self.send_xid(&M::GetConfigReply(self.config), xid),
            M::SetConfig(c) => {
                // 7.3.2: OFPC_FRAG_DROP and _REASM are for switches that handle fragments;
                // the bridge passes them as any packet (OFPC_FRAG_NORMAL).
                if c.flags & 3 != 0 {
                    self.error(err::SWITCH_CONFIG_BAD_FLAGS, raw);
                } else {
                    self.config = c;
                }
            }
            M::BarrierRequest => self.send_xid(&M::BarrierReply, xid),
            M::FlowMod(fm) => {
                let r = self
                    .switch
                    .table
                    .flow_mod(&fm, self.switch.backend.as_mut(), now);
                match r {
                    Ok(gone) => self.flows_removed(gone, now),
                    Err(r) => self.refuse(&r, raw, "flow_mod"),
                }
            }
            M::MeterMod(mm) => {
                let r = self
                    .switch
                    .table
                    .meter_mod(&mm, self.switch.backend.as_mut(), now);
                match r {
                    Ok(gone) => self.flows_removed(gone, now),
                    Err(r) => self.refuse(&r, raw, "meter_mod"),
                }
            }
            M::TableMod(t) => {
                // 7.3.3: the config bits are deprecated in 1.3; only the table must exist.
                if t.table_id != flowtable::TABLE_ALL && t.table_id >= self.cfg.n_tables {
                    self.error(err::TABLE_MOD_BAD_TABLE, raw);
                }
            }
            M::PortMod(p) => {
                let code = if self.switch.ports.contains_key(&p.port_no) {
                    // The interfaces are the administrator's, not the controller's.
                    err::PORT_MOD_EPERM
                } else {
                    err::PORT_MOD_BAD_PORT
                };
                self.error(code, raw);
            }
            M::QueueGetConfigRequest(q) => {
                if q.port == port::ANY || self.switch.ports.contains_key(&q.port) {
                    self.send_xid(
                        &M::QueueGetConfigReply(v13::QueueGetConfigReply {
                            port: q.port,
                            queues: Vec::new(),
                        }),
                        xid,
                    );
                } else {
                    self.error(err::QUEUE_BAD_PORT, raw);
                }
            }
            M::RoleRequest(r) => self.role_request(r, raw, xid),
            M::GetAsyncRequest => self.send_xid(&M::GetAsyncReply(self.async_cfg), xid),
            M::SetAsync(a) => self.async_cfg = a,
            M::MultipartRequest(r) => self.multipart(xid, r, raw, now),
            M::Experimenter(_) => self.error(err::BAD_EXPERIMENTER, raw),
            M::PacketOut(po) => {
                if let Err(r) = packetout::execute(&po, &mut self.switch) {
                    self.refuse(&r, raw, "packet_out");
                }
            }
            // Not supported yet: groups need TC work that is not done. Everything else is
            // a message only a switch sends, which a controller must not send to one.
            M::GroupMod(_)
            | M::FeaturesReply(_)
            | M::GetConfigReply(_)
            | M::PacketIn(_)
            | M::FlowRemoved(_)
            | M::PortStatus(_)
            | M::MultipartReply(_)
            | M::BarrierReply
            | M::QueueGetConfigReply(_)
            | M::RoleReply(_)
            | M::GetAsyncReply(_) => self.error(err::BAD_TYPE, raw),
        }
    }

    fn role_request(&mut self, r: v13::Role, raw: &Bytes, xid: u32) {
        match r.role {
            role::NOCHANGE => {}
            role::EQUAL => self.role = role::EQUAL,
            role::MASTER | role::SLAVE => {
                // 6.3.5: a generation id older than the last one seen is stale
                // (compared as a signed 64-bit distance, so that it may wrap).
                if let Some(g) = self.generation {
                    if (r.generation_id.wrapping_sub(g) as i64) < 0 {
                        self.error(err::ROLE_STALE, raw);
                        return;
                    }
                }
                self.generation = Some(r.generation_id);
                self.role = r.role;
            }
            _ => {
                self.error(err::ROLE_BAD_ROLE, raw);
                return;
            }
        }
        self.send_xid(
            &M::RoleReply(v13::Role {
                role: self.role,
                generation_id: self.generation.unwrap_or(0),
            }),
            xid,
        );
    }

    /// The entries removed by a flow-mod, a meter delete or a timeout: FLOW_REMOVED for
    /// those that asked for it, if this controller's async mask wants the reason.
    fn flows_removed(&mut self, gone: Vec<RemovedFlow>, now: Instant) {
        if self.state != State::Ready || self.close.is_some() {
            return;
        }
        let mask = self.async_cfg.flow_removed_mask[usize::from(self.is_slave())];
        for r in gone {
            if r.wants_message() && mask & (1 << r.reason) != 0 {
                self.send(&M::FlowRemoved(r.message(now)));
            }
        }
    }

    /// A port appeared or changed: PORT_STATUS (ADD or MODIFY) if it is news; the reason
    /// and description, if it was.
    pub fn port_update(&mut self, p: SwitchPort) -> Option<(u8, v13::Port)> {
        let no = p.desc.port_no;
        let reason = match self.switch.ports.get(&no) {
            None => 0,
            Some(old) if old.desc != p.desc || old.ifindex != p.ifindex => 2,
            Some(_) => return None,
        };
        let desc = p.desc.clone();
        let since = self
            .switch
            .ports
            .get(&no)
            .map(|o| o.since)
            .unwrap_or(p.since);
        self.switch.ports.insert(no, SwitchPort { since, ..p });
        let map = self.switch.port_map();
        self.switch.backend.set_ports(&map);
        self.port_status(reason, desc.clone());
        Some((reason, desc))
    }

    /// A port went away: PORT_STATUS DELETE; the reason and description, if it was there.
    pub fn port_delete(&mut self, port_no: u32) -> Option<(u8, v13::Port)> {
        let p = self.switch.ports.remove(&port_no)?;
        let map = self.switch.port_map();
        self.switch.backend.set_ports(&map);
        self.port_status(1, p.desc.clone());
        Some((1, p.desc))
    }

    /// PORT_STATUS, if this controller's async mask wants the reason.
    pub fn port_status(&mut self, reason: u8, desc: v13::Port) {
        let mask = self.async_cfg.port_status_mask[usize::from(self.is_slave())];
        if self.is_connected() && mask & (1 << reason) != 0 {
            self.send(&M::PortStatus(v13::PortStatus { reason, desc }));
        }
    }

    /// The counters asked for by [`AgentEvent::NeedPortStats`] `xid`; ports missing from
    /// `counters` are reported with every counter unavailable (all ones, 7.3.5.6).
    pub fn port_stats(&mut self, xid: u32, counters: Vec<(u32, LinkCounters)>, now: Instant) {
        if self.pending.as_ref().map(|p| p.0) != Some(xid) {
            log_warn!("BUG: port counters for a request that is not pending");
            return;
        }
        self.pending = None;
        let stats: Vec<mp::PortStats> = counters
            .into_iter()
            .map(|(no, c)| {
                let d = self
                    .switch
                    .ports
                    .get(&no)
                    .map(|p| now.saturating_duration_since(p.since))
                    .unwrap_or_default();
                mp::PortStats {
                    port_no: no,
                    rx_packets: c.rx_packets,
                    tx_packets: c.tx_packets,
                    rx_bytes: c.rx_bytes,
                    tx_bytes: c.tx_bytes,
                    rx_dropped: c.rx_dropped,
                    tx_dropped: c.tx_dropped,
                    rx_errors: c.rx_errors,
                    tx_errors: c.tx_errors,
                    rx_frame_err: c.rx_frame_errors,
                    rx_over_err: c.rx_over_errors,
                    rx_crc_err: c.rx_crc_errors,
                    collisions: c.collisions,
                    duration_sec: d.as_secs() as u32,
                    duration_nsec: d.subsec_nanos(),
                }
            })
            .collect();
        self.multipart_reply(xid, stats, |_| 112, mp::MultipartReplyBody::PortStats);
        self.process(now);
    }

    fn multipart(&mut self, xid: u32, r: v13::MultipartRequest, raw: &Bytes, now: Instant) {
        use mp::MultipartReplyBody as R;
        use mp::MultipartRequestBody as Q;
        let n_tables = self.cfg.n_tables;
        match r.body {
            Q::Desc => {
                let s = |t: &str| Bytes::copy_from_slice(t.as_bytes());
                let desc = mp::Desc {
                    mfr_desc: s("switchd"),
                    hw_desc: s("Linux bridge + TC flower"),
                    sw_desc: s(env!("CARGO_PKG_VERSION")),
                    serial_num: s("None"),
                    dp_desc: s(&format!("{} (bridge {})", self.cfg.name, self.cfg.bridge)),
                };
                self.send_xid(
                    &M::MultipartReply(v13::MultipartReply {
                        flags: 0,
                        body: R::Desc(desc),
                    }),
                    xid,
                );
            }
            Q::PortDesc => {
                let ports: Vec<v13::Port> =
                    self.switch.ports.values().map(|p| p.desc.clone()).collect();
                self.multipart_reply(xid, ports, |_| 64, R::PortDesc);
            }
            Q::Flow(f) => match Selector::of_stats(&f, n_tables) {
                Ok(sel) => {
                    let sw = &mut self.switch;
                    let stats: Vec<mp::FlowStats> = sw
                        .table
                        .select(&sel, sw.backend.as_mut(), now)
                        .into_iter()
                        .map(|e| {
                            let d = now.saturating_duration_since(e.added);
                            mp::FlowStats {
                                table_id: e.spec.table_id,
                                duration_sec: d.as_secs() as u32,
                                duration_nsec: d.subsec_nanos(),
                                priority: e.spec.priority,
                                idle_timeout: e.idle_timeout,
                                hard_timeout: e.hard_timeout,
                                flags: e.flags,
                                cookie: e.spec.cookie,
                                packet_count: e.packets(),
                                byte_count: e.bytes(),
                                match_: e.spec.match_(),
                                instructions: e.spec.instructions(),
                            }
                        })
                        .collect();
                    self.multipart_reply(
                        xid,
                        stats,
                        |f| {
                            48 + f.match_.wire_len()
                                + f.instructions.iter().map(|i| i.wire_len()).sum::<usize>()
                        },
                        R::Flow,
                    );
                }
                Err(r) => self.refuse(&r, raw, "flow stats request"),
            },
            Q::Aggregate(f) => match Selector::of_stats(&f, n_tables) {
                Ok(sel) => {
                    let sw = &mut self.switch;
                    let sel = sw.table.select(&sel, sw.backend.as_mut(), now);
                    let agg = mp::AggregateStats {
                        packet_count: sel.iter().map(|e| e.packets()).sum(),
                        byte_count: sel.iter().map(|e| e.bytes()).sum(),
                        flow_count: sel.len() as u32,
                    };
                    self.send_xid(
                        &M::MultipartReply(v13::MultipartReply {
                            flags: 0,
                            body: R::Aggregate(agg),
                        }),
                        xid,
                    );
                }
                Err(r) => self.refuse(&r, raw, "aggregate stats request"),
            },
            Q::Table => {
                let sw = &mut self.switch;
                sw.table.refresh(sw.backend.as_mut(), now);
                let stats: Vec<mp::TableStats> = (0..n_tables)
                    .map(|t| mp::TableStats {
                        table_id: t,
                        active_count: sw.table.entries().filter(|e| e.spec.table_id == t).count()
                            as u32,
                        // TC counts what filters match, not lookups: unavailable, all ones.
                        lookup_count: u64::MAX,
                        matched_count: sw.table.matched(t),
                    })
                    .collect();
                self.multipart_reply(xid, stats, |_| 24, R::Table);
            }
            Q::PortStats { port_no } => {
                let ports: Vec<(u32, u32)> = if port_no == port::ANY {
                    self.switch
                        .ports
                        .iter()
                        .map(|(n, p)| (*n, p.ifindex))
                        .collect()
                } else if let Some(p) = self.switch.ports.get(&port_no) {
                    vec![(port_no, p.ifindex)]
                } else {
                    self.error(err::BAD_PORT, raw);
                    return;
                };
                self.pending = Some((xid, raw.clone()));
                self.events
                    .push_back(AgentEvent::NeedPortStats { xid, ports });
            }
            Q::Queue { port_no, .. } => {
                if port_no == port::ANY || self.switch.ports.contains_key(&port_no) {
                    self.multipart_reply(xid, Vec::new(), |_| 40, R::Queue);
                } else {
                    self.error(err::QUEUE_BAD_PORT, raw);
                }
            }
            // No groups: the lists are empty, and the features say no group type.
            Q::Group { group_id } => {
                if group_id == flowtable::GROUP_ANY || group_id == 0xffff_fffc {
                    self.multipart_reply(xid, Vec::new(), |_| 40, R::Group);
                } else {
                    self.error(err::GROUP_UNKNOWN, raw);
                }
            }
            Q::GroupDesc => self.multipart_reply(xid, Vec::new(), |_| 8, R::GroupDesc),
            Q::GroupFeatures => self.send_xid(
                &M::MultipartReply(v13::MultipartReply {
                    flags: 0,
                    body: R::GroupFeatures(mp::GroupFeatures::default()),
                }),
                xid,
            ),
            Q::MeterConfig { meter_id } => {
                let meters = self.switch.table.meters();
                let list: Vec<mp::MeterConfig> = meters
                    .iter()
                    .filter(|(id, _)| meter_id == METER_ALL || *id == meter_id)
                    .map(|(id, m)| mp::MeterConfig {
                        flags: m.flags,
                        meter_id: id,
                        bands: m.bands.clone(),
                    })
                    .collect();
                if list.is_empty() && meter_id != METER_ALL {
                    self.error(err::METER_UNKNOWN, raw);
                } else {
                    self.multipart_reply(xid, list, |m| 8 + 16 * m.bands.len(), R::MeterConfig);
                }
            }
            Q::MeterFeatures => self.send_xid(
                &M::MultipartReply(v13::MultipartReply {
                    flags: 0,
                    body: R::MeterFeatures(mp::MeterFeatures {
                        max_meter: METER_MAX,
                        // OFPMBT_DROP only; kbps or pktps, with burst (TC police).
                        band_types: 1 << 1,
                        capabilities: 1 | 2 | 4,
                        max_bands: 1,
                        max_color: 0,
                    }),
                }),
                xid,
            ),
            // Meter counters would be TC police counters; not read yet.
            Q::Meter { .. } => self.error(err::BAD_MULTIPART, raw),
            Q::TableFeatures(set) => {
                if set.is_empty() {
                    self.error(err::BAD_MULTIPART, raw);
                } else {
                    self.error(err::TABLE_FEATURES_EPERM, raw);
                }
            }
            Q::Experimenter(_) => self.error(err::BAD_EXPERIMENTER, raw),
        }
    }

    /// Send `items` in as many replies as they need, OFPMPF_REPLY_MORE on all but the last.
    fn multipart_reply<T>(
        &mut self,
        xid: u32,
        items: Vec<T>,
        size: fn(&T) -> usize,
        body: fn(Vec<T>) -> mp::MultipartReplyBody,
    ) {
        let mut chunks: Vec<Vec<T>> = vec![Vec::new()];
        let mut used = 0;
        for it in items {
            let n = size(&it);
            if used + n > MULTIPART_BODY_MAX && chunks.last().is_some_and(|c| !c.is_empty()) {
                chunks.push(Vec::new());
                used = 0;
            }
            used += n;
            if let Some(c) = chunks.last_mut() {
                c.push(it);
            }
        }
        let last = chunks.len() - 1;
        for (i, c) in chunks.into_iter().enumerate() {
            let flags = if i == last { 0 } else { mp::OFPMPF_MORE };
            self.send_xid(
                &M::MultipartReply(v13::MultipartReply {
                    flags,
                    body: body(c),
                }),
                xid,
            );
        }
    }

    /// Fail mode standalone, no controller connected: make sure the bridge forwards, with a
    /// table-miss entry (table 0, priority 0, matching everything) that outputs to NORMAL.
    /// An entry already doing that is kept; another table-miss entry is replaced and put
    /// back by [`Agent::fail_closed`] when a controller connects. Idempotent.
    pub fn fail_open(&mut self, now: Instant) {
        if self.fail_open.is_some() {
            return;
        }
        let normal = normal_instructions();
        let prev = self
            .switch
            .table
            .entries()
            .find(|e| is_table_miss(&e.spec.match_(), e.spec.table_id, e.spec.priority))
            .map(|e| v13::FlowMod {
                cookie: e.spec.cookie,
                command: v13::FlowModCommand::Add,
                idle_timeout: e.idle_timeout,
                hard_timeout: e.hard_timeout,
                priority: 0,
                buffer_id: v13::OFP_NO_BUFFER,
                out_port: port::ANY,
                out_group: flowtable::GROUP_ANY,
                flags: e.flags,
                instructions: e.spec.instructions(),
                ..Default::default()
            });
        if prev.as_ref().is_some_and(|p| p.instructions == normal) {
            return;
        }
        let fm = v13::FlowMod {
            command: v13::FlowModCommand::Add,
            priority: 0,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: port::ANY,
            out_group: flowtable::GROUP_ANY,
            instructions: normal,
            ..Default::default()
        };
        match self.local_flow_mod(&fm, now) {
            Ok(()) => {
                log_info!(
                    "switch {}: no controller, fail mode standalone: table-miss NORMAL installed",
                    self.cfg.name
                );
                self.fail_open = Some(prev);
            }
            Err(r) => log_warn!(
                "switch {}: fail mode standalone: table-miss NORMAL: {r}",
                self.cfg.name
            ),
        }
    }

    /// A controller connected: undo [`Agent::fail_open`], if it did anything.
    fn fail_closed(&mut self) {
        let Some(prev) = self.fail_open.take() else {
            return;
        };
        let now = self.last_rx;
        let fm = prev.unwrap_or_else(|| v13::FlowMod {
            command: v13::FlowModCommand::DeleteStrict,
            priority: 0,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: port::ANY,
            out_group: flowtable::GROUP_ANY,
            ..Default::default()
        });
        match self.local_flow_mod(&fm, now) {
            Ok(()) => log_info!(
                "switch {}: controller connected: standalone table-miss removed",
                self.cfg.name
            ),
            Err(r) => log_warn!(
                "switch {}: controller connected: removing the standalone table-miss: {r}",
                self.cfg.name
            ),
        }
    }

    /// Whether [`Agent::fail_open`]'s entry is in place.
    pub fn is_failed_open(&self) -> bool {
        self.fail_open.is_some()
    }

    /// Carry out a FLOW_MOD that did not come from the controller (the configured
    /// table-miss and static flows); the refusal is returned, not sent.
    pub fn local_flow_mod(&mut self, fm: &v13::FlowMod, now: Instant) -> Result<(), Refusal> {
        let gone = self
            .switch
            .table
            .flow_mod(fm, self.switch.backend.as_mut(), now)?;
        self.flows_removed(gone, now);
        Ok(())
    }
}

/// The fields of a PACKET_IN besides its data.
#[derive(Debug, Clone, Copy)]
struct PacketInHead {
    total_len: u16,
    reason: u8,
    table_id: u8,
    cookie: u64,
    in_port: u32,
}

/// OFPT_PACKET_IN (7.4.1) with buffer_id OFP_NO_BUFFER and a match of in_port alone,
/// written straight into `out`: the same bytes as `Message::PacketIn(..).encode`, without
/// copying the frame into a `Bytes` of its own first (one allocation and copy per
/// packet-in fewer). The tests compare the two.
fn encode_packet_in(out: &mut BytesMut, xid: u32, h: PacketInHead, data: &[u8]) {
    use bytes::BufMut;
    // ofp_header 8, ofp_packet_in's fixed part 16, ofp_match with one OXM_OF_IN_PORT
    // (4 + 8, padded to 16), 2 bytes of padding before the frame.
    const HEAD: usize = 8 + 16 + 16 + 2;
    out.reserve(HEAD + data.len());
    out.put_u8(OFP13_VERSION);
    out.put_u8(v13::msg_type::PACKET_IN);
    // As the generic encoder's length patch: the low 16 bits.
    out.put_u16((HEAD + data.len()) as u16);
    out.put_u32(xid);
    out.put_u32(v13::OFP_NO_BUFFER);
    out.put_u16(h.total_len);
    out.put_u8(h.reason);
    out.put_u8(h.table_id);
    out.put_u64(h.cookie);
    // ofp_match: OFPMT_OXM, length 12 (without padding), OXM_OF_IN_PORT (class
    // OFPXMC_OPENFLOW_BASIC, field 0, no mask, 4 bytes), 4 bytes of padding to 8.
    out.put_u16(1);
    out.put_u16(12);
    out.put_u32(0x8000_0004);
    out.put_u32(h.in_port);
    out.put_bytes(0, 4);
    // 7.4.1: two bytes align the frame's payload (IP header) to 32 bits.
    out.put_bytes(0, 2);
    out.put_slice(data);
}

/// Apply-actions output:NORMAL, the instructions of a table-miss that lets the bridge forward.
pub fn normal_instructions() -> v13::InstructionList {
    [v13::Instruction::ApplyActions(
        [v13::Action::Output {
            port: port::NORMAL,
            max_len: 0,
        }]
        .into_iter()
        .collect(),
    )]
    .into_iter()
    .collect()
}

/// Whether an entry is table 0's table-miss: priority 0, matching everything (5.4).
fn is_table_miss(m: &v13::Match, table_id: u8, priority: u16) -> bool {
    table_id == 0 && priority == 0 && m.fields.is_empty()
}

#[cfg(test)]
mod tests;
