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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::OFP13_VERSION;
use ofproto::v13::errors::{
    bad_request, port_mod_failed, queue_op_failed, switch_config_failed, table_mod_failed,
};
use ofproto::v13::{self, Message as M};
use ofproto::OfpErrorCode;

use super::flowtable::RemovedFlow;
use super::packetout;
pub(crate) use super::switch::{LinkCounters, Switch, SwitchPort};
use crate::endpoint::pump::Pumped;
use crate::endpoint::{Endpoint, EndpointConfig};
use ofproto::v13::port;
use tc_datapath::Refusal;

pub(crate) use crate::endpoint::CloseReason;

/// The most we queue for a controller that does not read.
pub(crate) const WRITE_QUEUE_MAX: usize = 4 * 1024 * 1024;
/// Packet-ins are dropped (and counted) while this much waits to be written: a controller
/// that reads slowly gets fewer packets, not a connection closed for a full queue.
pub(crate) const PACKET_IN_QUEUE_MAX: usize = 256 * 1024;

/// `ofp_capabilities` we have: flow, table and port statistics.
pub(crate) const CAPABILITIES: u32 =
    v13::OFPC_FLOW_STATS | v13::OFPC_TABLE_STATS | v13::OFPC_PORT_STATS;

/// What the agent needs to know about the switch it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentConfig {
    /// The switch's name in the configuration (and in `dp_desc`).
    pub(crate) name: String,
    pub(crate) bridge: String,
    pub(crate) datapath_id: u64,
    pub(crate) n_tables: u8,
    /// Zero disables echoes and the dead-peer check.
    pub(crate) echo_interval: Duration,
}

/// What became of the packets that TC sampled for the controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PacketInCounters {
    /// Sent as OFPT_PACKET_IN.
    pub(crate) sent: u64,
    /// Not wanted: the controller's role and async mask leave out the reason.
    pub(crate) masked: u64,
    /// Dropped: no controller connected.
    pub(crate) unconnected: u64,
    /// Dropped: the write queue to the controller was over [`PACKET_IN_QUEUE_MAX`], or
    /// the switch's task fell behind the psample reader.
    pub(crate) backlog: u64,
    /// Dropped: no installed flow has the packet's psample group (a filter left over
    /// from an earlier run, not adopted).
    pub(crate) unknown: u64,
}

/// A packet that output:CONTROLLER copied (`tc_datapath::psample::Sample`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampledPacket<'a> {
    /// The ingress device's ifindex, its low 16 bits (all that psample carries).
    pub(crate) ifindex16: u16,
    pub(crate) group: u32,
    pub(crate) total_len: u32,
    /// From the MAC header, already cut to the action's max_len by the kernel.
    pub(crate) data: &'a [u8],
}

/// What the agent asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AgentEvent {
    /// Read the counters of these ports (number, interface index) and hand them to
    /// [`Agent::port_stats`] with the same xid. Input is held until then, so that the
    /// reply comes before anything the controller sent after the request.
    NeedPortStats { xid: u32, ports: Vec<(u32, u32)> },
}

/// 6.3.1: a version bitmap with only 1.3 in it.
const VERSIONS: [u8; 1] = [OFP13_VERSION];

fn endpoint_config(echo_interval: Duration) -> EndpointConfig {
    EndpointConfig {
        versions: &VERSIONS,
        no_common_version: "no common OpenFlow version (this switch speaks 1.3)",
        echo_interval,
        queue_max: WRITE_QUEUE_MAX,
        peer: "controller",
    }
}

/// One OpenFlow connection of a local switch to its controller.
#[derive(Debug)]
pub(crate) struct Agent {
    cfg: AgentConfig,
    pub(crate) switch: Switch,
    /// Framing, xids, HELLO, echo and dead-peer timing, the output queue.
    ep: Endpoint,
    role: u32,
    /// This connection's number among the switch's controllers (`roles.rs`).
    conn: u32,
    async_cfg: v13::AsyncConfig,
    config: v13::SwitchConfig,
    /// A port-stats request waiting for its counters: (xid, the request).
    pending: Option<(u32, Bytes)>,
    events: VecDeque<AgentEvent>,
    /// Fail mode standalone: `Some` while the table-miss NORMAL entry that
    /// [`Agent::fail_open`] put in place is there, with the entry it replaced (if any), to
    /// be put back when a controller connects.
    fail_open: Option<Option<v13::FlowMod>>,
    pub(crate) packet_ins: PacketInCounters,
    /// ofp's view of a switch that a remote controller drives: a slave for good.
    observer: bool,
}

impl Pumped for Agent {
    fn output(&self) -> &[u8] {
        Agent::output(self)
    }

    fn consume(&mut self, n: usize) {
        Agent::consume(self, n);
    }

    fn handle_input(&mut self, data: &[u8], now: Instant) {
        Agent::handle_input(self, data, now);
    }

    fn close_for(&mut self, why: CloseReason) {
        Agent::close_for(self, why);
    }
}

/// The asynchronous-message masks a switch starts with (spec 7.3.10; Open vSwitch's
/// defaults): everything to a master or equal controller, port status only to a slave.
pub(crate) fn default_async() -> v13::AsyncConfig {
    v13::AsyncConfig {
        packet_in_mask: [0b11, 0],
        port_status_mask: [0b111, 0b111],
        flow_removed_mask: [0b1111, 0],
    }
}

impl Agent {
    /// The switch's name in the configuration.
    pub(crate) fn name(&self) -> &str {
        &self.cfg.name
    }

    /// A new connection for `switch`; our HELLO is queued.
    pub(crate) fn new(cfg: AgentConfig, switch: Switch, now: Instant) -> Agent {
        let mut a = Agent {
            ep: Endpoint::new(endpoint_config(cfg.echo_interval), now),
            cfg,
            switch,
            role: v13::OFPCR_ROLE_EQUAL,
            conn: 0,
            async_cfg: default_async(),
            config: v13::SwitchConfig {
                flags: 0,
                miss_send_len: 128,
            },
            pending: None,
            events: VecDeque::new(),
            fail_open: None,
            packet_ins: PacketInCounters::default(),
            observer: false,
        };
        a.restart(now);
        a
    }

    /// Begin a new connection with the same switch: our HELLO queued, the per-connection
    /// state (role, async masks, config, buffers) as a new switch connection has it.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.ep.restart(now);
        self.role = if self.observer {
            v13::OFPCR_ROLE_SLAVE
        } else {
            v13::OFPCR_ROLE_EQUAL
        };
        self.async_cfg = default_async();
        self.pending = None;
        self.events.clear();
    }

    /// Make this connection an observer: ofp's view of a switch that a remote controller
    /// drives (`forward to`). It is a slave for good (6.3.5): it reads ports, flows and
    /// counters, changes nothing (OFPBRC_IS_SLAVE) and gets no packet-in or flow-removed.
    pub(crate) fn set_observer(&mut self) {
        self.observer = true;
        self.conn = super::roles::OBSERVER;
        self.role = v13::OFPCR_ROLE_SLAVE;
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.is_ready() && self.ep.is_open()
    }

    /// The controller's HELLO came.
    fn is_ready(&self) -> bool {
        self.ep.version().is_some()
    }

    /// Bytes waiting to be written.
    pub(crate) fn output(&self) -> &[u8] {
        self.ep.output()
    }

    /// `n` bytes of [`Agent::output`] were written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.ep.consume(n);
    }

    pub(crate) fn poll_event(&mut self) -> Option<AgentEvent> {
        self.events.pop_front()
    }

    /// Set once the connection must end: flush [`Agent::output`] (best effort), close,
    /// and [`Agent::restart`] for the next one.
    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.ep.close_reason()
    }

    pub(crate) fn close(&mut self, why: impl Into<String>) {
        self.ep.close(CloseReason::Other(why.into()));
    }

    /// End the connection for a reason of the stream's.
    pub(crate) fn close_for(&mut self, why: CloseReason) {
        self.ep.close(why);
    }

    /// When [`Agent::handle_timeout`] wants to run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [self.ep.poll_timeout(), self.switch.table.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let gone = self.switch.table.expire(self.switch.backend.as_mut(), now);
        self.flows_removed(gone, now);
        self.ep.handle_timeout(now);
    }

    /// A packet that a flow's output to CONTROLLER copied: an OFPT_PACKET_IN (7.4.1)
    /// with buffer_id OFP_NO_BUFFER (the switch buffers nothing: FEATURES says
    /// n_buffers 0), the flow's table, cookie and reason, a match with in_port, and the
    /// data as the kernel cut it to the action's max_len. Sent only if this controller's
    /// role and async mask want the reason (7.3.10; a slave by default gets none), and
    /// dropped, counted, when the write queue is long: packet-ins are never queued
    /// without bound.
    pub(crate) fn packet_in(&mut self, p: SampledPacket<'_>) {
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
            crate::metrics::packet_in_dropped(&self.cfg.name, "no_controller", 1);
            return;
        }
        let Some(flow) = self.switch.backend.packet_in_flow(p.group) else {
            self.packet_ins.unknown += 1;
            crate::metrics::packet_in_dropped(&self.cfg.name, "unknown_flow", 1);
            return;
        };
        let mask = self.async_cfg.packet_in_mask[usize::from(self.is_slave())];
        if mask & (1 << flow.reason) == 0 {
            self.packet_ins.masked += 1;
            return;
        }
        if self.ep.output().len() > PACKET_IN_QUEUE_MAX {
            self.packet_ins.backlog += 1;
            crate::metrics::packet_in_dropped(&self.cfg.name, "backlog", 1);
            return;
        }
        self.packet_ins.sent += 1;
        let head = PacketInHead {
            total_len: p.total_len.min(u16::MAX.into()) as u16,
            reason: flow.reason,
            table_id: flow.table_id,
            cookie: flow.cookie,
            in_port,
        };
        self.ep
            .send_with(|xid, out| encode_packet_in(out, xid, head, p.data));
    }

    /// Bytes from the controller.
    pub(crate) fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.ep.received(data, now) {
            self.process(now);
        }
    }

    /// The whole messages received, until one must wait for the port counters.
    fn process(&mut self, now: Instant) {
        let mut inbuf = self.ep.take_input();
        while self.pending.is_none() {
            let Some(len) = self.ep.frame(&inbuf) else {
                break;
            };
            let msg = inbuf.split_to(len).freeze();
            self.handle_message(msg, now);
        }
        self.ep.restore_input(inbuf);
    }

    fn send(&mut self, m: &M) -> u32 {
        self.ep.send13(m)
    }

    fn send_xid(&mut self, m: &M, xid: u32) {
        self.ep.send13_xid(m, xid);
    }

    /// Answer `request` with `code` (7.4.4: data is at least its first 64 bytes).
    fn error(&mut self, code: OfpErrorCode, request: &Bytes) {
        self.ep.error(code, request);
    }

    fn refuse(&mut self, r: &Refusal, request: &Bytes, what: &str) {
        tracing::info!("switch {}: {what} refused: {r}", self.cfg.name);
        self.switch.refusals.record(request, r);
        crate::metrics::refused(&self.cfg.name, what, r.error);
        self.error(r.error, request);
    }

    fn handle_message(&mut self, msg: Bytes, now: Instant) {
        if !self.is_ready() {
            if self.ep.negotiate(&msg).is_some() {
                // Before anything the controller sends next is carried out.
                self.fail_closed(now);
            }
            return;
        }
        match v13::decode(&msg) {
            Ok((xid, m)) => self.handle13(xid, m, &msg, now),
            Err(e) => self.ep.malformed(&e, &msg),
        }
    }

    fn is_slave(&self) -> bool {
        self.role == v13::OFPCR_ROLE_SLAVE
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
            if matches!(m, M::FlowMod(_) | M::GroupMod(_)) && !self.observer {
                let why = "the controller is a slave (6.3.5): it may not change the switch";
                self.switch
                    .refusals
                    .record(raw, &Refusal::new(bad_request::IS_SLAVE, why));
            }
            self.error(bad_request::IS_SLAVE, raw);
            return;
        }
        match m {
            M::Hello(_) => {}
            M::EchoRequest(d) => self.send_xid(&M::EchoReply(d), xid),
            M::EchoReply(_) => {}
            M::Error(e) => tracing::debug!("switch {}: controller sent {e:?}", self.cfg.name),
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
                    self.error(switch_config_failed::BAD_FLAGS, raw);
                } else {
                    self.config = c;
                }
            }
            M::BarrierRequest => self.send_xid(&M::BarrierReply, xid),
            M::FlowMod(fm) => {
                let r = self.switch.check_flow_groups(&fm).and_then(|()| {
                    let (table, mut backend) = self.switch.table_and_backend();
                    let started = Instant::now();
                    let r = table.flow_mod(&fm, &mut backend, now);
                    crate::metrics::flow_mod_installed(started.elapsed());
                    r
                });
                match r {
                    Ok(gone) => self.flows_removed(gone, now),
                    Err(r) => self.refuse(&r, raw, "flow_mod"),
                }
            }
            M::MeterMod(mm) => {
                let (table, mut backend) = self.switch.table_and_backend();
                let r = table.meter_mod(&mm, &mut backend, now);
                match r {
                    Ok(gone) => self.flows_removed(gone, now),
                    Err(r) => self.refuse(&r, raw, "meter_mod"),
                }
            }
            M::TableMod(t) => {
                // 7.3.3: the config bits are deprecated in 1.3; only the table must exist.
                if t.table_id != v13::OFPTT_ALL && t.table_id >= self.cfg.n_tables {
                    self.error(table_mod_failed::BAD_TABLE, raw);
                }
            }
            M::PortMod(p) => {
                let code = if self.switch.ports.contains_key(&p.port_no) {
                    // The interfaces are the administrator's, not the controller's.
                    port_mod_failed::EPERM
                } else {
                    port_mod_failed::BAD_PORT
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
                    self.error(queue_op_failed::BAD_PORT, raw);
                }
            }
            M::RoleRequest(r) => self.role_request(r, raw, xid),
            M::GetAsyncRequest => self.send_xid(&M::GetAsyncReply(self.async_cfg), xid),
            M::SetAsync(a) => self.async_cfg = a,
            M::MultipartRequest(r) => self.multipart(xid, r, raw, now),
            M::Experimenter(_) => self.error(bad_request::BAD_EXPERIMENTER, raw),
            M::PacketOut(po) => {
                if let Err(r) = packetout::execute(&po, &mut self.switch) {
                    self.refuse(&r, raw, "packet_out");
                }
            }
            M::GroupMod(gm) => match self.switch.group_mod(&gm, now) {
                Ok(gone) => self.flows_removed(gone, now),
                Err(r) => self.refuse(&r, raw, "group_mod"),
            },
            // A message only a switch sends, which a controller must not send to one.
            M::FeaturesReply(_)
            | M::GetConfigReply(_)
            | M::PacketIn(_)
            | M::FlowRemoved(_)
            | M::PortStatus(_)
            | M::MultipartReply(_)
            | M::BarrierReply
            | M::QueueGetConfigReply(_)
            | M::RoleReply(_)
            | M::GetAsyncReply(_) => self.error(bad_request::BAD_TYPE, raw),
        }
    }

    /// The entries removed by a flow-mod, a meter delete or a timeout: FLOW_REMOVED for
    /// those that asked for it, if this controller's async mask wants the reason.
    fn flows_removed(&mut self, gone: Vec<RemovedFlow>, now: Instant) {
        self.switch.groups.account(&gone);
        // The switch's other controllers are told too (`roles.rs`).
        self.switch.roles.share(self.conn, &gone);
        if !self.is_connected() {
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
    pub(crate) fn port_update(&mut self, p: SwitchPort) -> Option<(u8, v13::Port)> {
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
        self.switch.ports_changed(Instant::now());
        self.port_status(reason, desc.clone());
        Some((reason, desc))
    }

    /// A port went away: PORT_STATUS DELETE; the reason and description, if it was there.
    pub(crate) fn port_delete(&mut self, port_no: u32) -> Option<(u8, v13::Port)> {
        let p = self.switch.ports.remove(&port_no)?;
        let map = self.switch.port_map();
        self.switch.backend.set_ports(&map);
        self.switch.ports_changed(Instant::now());
        self.port_status(1, p.desc.clone());
        Some((1, p.desc))
    }

    /// PORT_STATUS, if this controller's async mask wants the reason.
    pub(crate) fn port_status(&mut self, reason: u8, desc: v13::Port) {
        let mask = self.async_cfg.port_status_mask[usize::from(self.is_slave())];
        if self.is_connected() && mask & (1 << reason) != 0 {
            self.send(&M::PortStatus(v13::PortStatus { reason, desc }));
        }
    }

    /// Fail mode standalone, no controller connected: make sure the bridge forwards, with a
    /// table-miss entry (table 0, priority 0, matching everything) that outputs to NORMAL.
    /// An entry already doing that is kept; another table-miss entry is replaced and put
    /// back by [`Agent::fail_closed`] when a controller connects. Idempotent.
    pub(crate) fn fail_open(&mut self, now: Instant) {
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
                out_group: v13::OFPG_ANY,
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
            out_group: v13::OFPG_ANY,
            instructions: normal,
            ..Default::default()
        };
        match self.local_flow_mod(&fm, now) {
            Ok(()) => {
                tracing::info!(
                    "switch {}: no controller, fail mode standalone: table-miss NORMAL installed",
                    self.cfg.name
                );
                self.fail_open = Some(prev);
            }
            Err(r) => tracing::warn!(
                "switch {}: fail mode standalone: table-miss NORMAL: {r}",
                self.cfg.name
            ),
        }
    }

    /// A controller connected: undo [`Agent::fail_open`], if it did anything.
    pub(crate) fn fail_closed(&mut self, now: Instant) {
        let Some(prev) = self.fail_open.take() else {
            return;
        };
        let fm = prev.unwrap_or_else(|| v13::FlowMod {
            command: v13::FlowModCommand::DeleteStrict,
            priority: 0,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: port::ANY,
            out_group: v13::OFPG_ANY,
            ..Default::default()
        });
        match self.local_flow_mod(&fm, now) {
            Ok(()) => tracing::info!(
                "switch {}: controller connected: standalone table-miss removed",
                self.cfg.name
            ),
            Err(r) => tracing::warn!(
                "switch {}: controller connected: removing the standalone table-miss: {r}",
                self.cfg.name
            ),
        }
    }

    /// Whether [`Agent::fail_open`]'s entry is in place.
    #[cfg(test)]
    pub(crate) fn is_failed_open(&self) -> bool {
        self.fail_open.is_some()
    }

    /// Carry out a FLOW_MOD that did not come from the controller (the configured
    /// table-miss and static flows); the refusal is returned, not sent.
    pub(crate) fn local_flow_mod(
        &mut self,
        fm: &v13::FlowMod,
        now: Instant,
    ) -> Result<(), Refusal> {
        let (table, mut backend) = self.switch.table_and_backend();
        let gone = table.flow_mod(fm, &mut backend, now)?;
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
    v13::PacketInHead {
        buffer_id: v13::OFP_NO_BUFFER,
        total_len: h.total_len,
        reason: h.reason,
        table_id: h.table_id,
        cookie: h.cookie,
        in_port: h.in_port,
    }
    .encode(xid, data, out);
}

/// Apply-actions output:NORMAL, the instructions of a table-miss that lets the bridge forward.
pub(crate) fn normal_instructions() -> v13::InstructionList {
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

mod features;
mod multipart;
mod roles;
mod stats;
#[cfg(test)]
mod tests;
