//! OpenFlow 1.3 in a session: the messages we send in it, and what we do with the ones the
//! switch sends. The learning switch's hot path reads table-miss PACKET_INs in place
//! (`fast13.rs`).

use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::{self, MacAddr};

use super::super::errtext;
use super::super::fast13;
use super::super::flowtext;
use super::super::learning::{
    eth_addrs, Forward, PacketIn, Wire, LEARNED_COOKIE, LEARNED_PRIORITY, TABLE_MISS_COOKIE,
};
use super::super::portcount;
use super::{
    port13, AnyFlowMod, Dialect, PortChange, PortInfo, Session, State, Version, OFPG_ANY,
    OFPTT_ALL, STATIC_COOKIE,
};
use crate::ctlproto::FlowCommand;
use crate::endpoint::Endpoint;

/// OpenFlow 1.3.
#[derive(Debug)]
pub(super) struct V13;

impl Dialect for V13 {
    fn version(&self) -> Version {
        Version::V13
    }

    fn start_features(&self, ep: &mut Endpoint) {
        ep.send13(&v13::Message::FeaturesRequest);
        // OFPCML_NO_BUFFER: whole packets, so that nothing depends on switch buffers.
        ep.send13(&v13::Message::SetConfig(v13::SwitchConfig {
            flags: 0,
            miss_send_len: v13::action::OFPCML_NO_BUFFER,
        }));
    }

    fn request_port_desc(&self, ep: &mut Endpoint) {
        ep.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: v13::MultipartRequestBody::PortDesc,
        }));
    }

    fn request_flow_stats(&self, ep: &mut Endpoint) -> u32 {
        ep.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest {
                table_id: OFPTT_ALL,
                out_port: port13::ANY,
                out_group: OFPG_ANY,
                cookie: 0,
                cookie_mask: 0,
                match_: v13::Match::new(),
            }),
        }))
    }

    fn request_port_stats(&self, ep: &mut Endpoint) -> u32 {
        ep.send13(&v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: v13::MultipartRequestBody::PortStats {
                port_no: port13::ANY,
            },
        }))
    }

    fn handle(&self, s: &mut Session, msg: Bytes, now: Instant) {
        match v13::decode(&msg) {
            Ok((xid, m)) => s.handle13(xid, m, now),
            Err(e) => s.ep.malformed(&e, &msg),
        }
    }

    fn handle_in_place(&self, s: &mut Session, msg: &[u8], now: Instant) -> bool {
        // The hot path: a table-miss PACKET_IN, read in place (see fast13.rs).
        match fast13::packet_in(msg) {
            Some(p) => {
                s.packet_in(p.buffer_id, p.in_port, p.data, now);
                true
            }
            None => false,
        }
    }

    fn parse_flow(&self, flow: &str, cmd: FlowCommand) -> Result<AnyFlowMod, String> {
        let c = match cmd {
            FlowCommand::Add => v13::FlowModCommand::Add,
            FlowCommand::Delete => v13::FlowModCommand::Delete,
        };
        ofproto::text::parse_flow(flow, c)
            .map(|f| AnyFlowMod::V13(Box::new(f)))
            .map_err(|e| format!("bad flow for OpenFlow 1.3: {e}"))
    }

    fn deletes_static(&self) -> bool {
        true
    }

    fn delete_static(&self, ep: &mut Endpoint) {
        ep.send13(&v13::Message::FlowMod(delete_cookie(STATIC_COOKIE)));
    }
}

impl Wire for V13 {
    fn delete_learned(&self, ep: &mut Endpoint) {
        ep.send13(&v13::Message::FlowMod(delete_cookie(LEARNED_COOKIE)));
    }

    fn table_miss(&self, ep: &mut Endpoint) {
        ep.send13(&v13::Message::FlowMod(table_miss13()));
    }

    fn delete_for_mac(&self, ep: &mut Endpoint, mac: MacAddr) {
        for f in [
            v13::Oxm::EthDst(v13::Masked::exact(mac)),
            v13::Oxm::EthSrc(v13::Masked::exact(mac)),
        ] {
            ep.send13(&v13::Message::FlowMod(delete13(
                v13::Match::from_fields([f]),
                port13::ANY,
            )));
        }
    }

    fn delete_to_port(&self, ep: &mut Endpoint, port: u32) {
        ep.send13(&v13::Message::FlowMod(delete13(v13::Match::new(), port)));
    }

    fn barrier(&self, ep: &mut Endpoint) -> u32 {
        ep.send13(&v13::Message::BarrierRequest)
    }

    fn forward(&self, ep: &mut Endpoint, p: &PacketIn<'_>, fwd: Forward, idle_timeout: u16) {
        let buffer_id = p.buffer_id;
        let in_port = p.in_port;
        let buffered = buffer_id != v13::OFP_NO_BUFFER;
        let out_port = match fwd {
            Forward::Drop => return,
            Forward::Flood => port13::FLOOD,
            Forward::Port(port) => {
                let learned = fast13::LearnedFlow {
                    cookie: LEARNED_COOKIE,
                    priority: LEARNED_PRIORITY,
                    idle_timeout,
                    buffer_id,
                    in_port,
                    dst: p.dst.0,
                    src: p.src.0,
                    out_port: port,
                };
                ep.send_with(|xid, out| fast13::flow_mod(out, xid, &learned));
                if buffered {
                    // The FLOW_MOD's buffer_id releases the packet through the new flow.
                    return;
                }
                port
            }
        };
        let data = if buffered { &[][..] } else { p.data };
        ep.send_with(|xid, out| fast13::packet_out(out, xid, buffer_id, in_port, out_port, data));
    }
}

impl Session {
    pub(super) fn handle13(&mut self, xid: u32, m: v13::Message, now: Instant) {
        use v13::Message as M;
        match m {
            M::EchoRequest(data) => self.ep.send13_xid(&M::EchoReply(data), xid),
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
                    v13::MultipartReplyBody::PortStats(stats) => {
                        let counters = stats.iter().map(portcount::from13).collect();
                        self.port_stats_part(xid, counters, more);
                    }
                    other => tracing::debug!("ignoring multipart reply type {}", other.mp_type()),
                }
            }
            M::Error(e) => self.switch_error(xid, errtext::error13(&e), &e),
            M::BarrierReply => self.barrier_reply(xid),
            // 6.3.1: a second HELLO is harmless.
            other => tracing::debug!("ignoring OpenFlow 1.3 message type {}", other.msg_type()),
        }
    }

    fn packet_in13(&mut self, p: v13::PacketIn, now: Instant) {
        let in_port = p.match_.fields.iter().find_map(|f| match f {
            v13::Oxm::InPort(port) => Some(*port),
            _ => None,
        });
        let Some(in_port) = in_port else {
            tracing::debug!("packet-in without in_port");
            return;
        };
        self.packet_in(p.buffer_id, in_port, &p.data, now);
    }

    /// A packet-in to the learning switch (1.3 port numbering).
    fn packet_in(&mut self, buffer_id: u32, in_port: u32, data: &[u8], now: Instant) {
        let Some((dst, src)) = eth_addrs(data) else {
            return;
        };
        let p = PacketIn {
            buffer_id,
            in_port,
            reserved_port: in_port >= port13::MAX,
            dst,
            src,
            data,
        };
        self.learning.packet_in(&V13, &mut self.ep, &p, now);
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

fn port_info13(p: &v13::Port) -> PortInfo {
    PortInfo {
        port_no: p.port_no,
        name: String::from_utf8_lossy(&p.name).into_owned(),
        hw_addr: p.hw_addr,
        config: p.config,
        state: p.state,
    }
}

/// A FLOW_MOD that deletes every flow whose cookie is exactly `cookie`, in every table.
fn delete_cookie(cookie: u64) -> v13::FlowMod {
    v13::FlowMod {
        cookie,
        cookie_mask: u64::MAX,
        table_id: OFPTT_ALL,
        command: v13::FlowModCommand::Delete,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: port13::ANY,
        out_group: OFPG_ANY,
        ..Default::default()
    }
}
