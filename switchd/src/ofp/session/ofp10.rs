//! OpenFlow 1.0 in a session: the messages we send in it, and what we do with the ones the
//! switch sends. Ports are shown and learned in 1.3 numbering.

use std::time::Instant;

use bytes::Bytes;
use ofproto::v10;
use ofproto::v13::MacAddr;

use super::super::errtext;
use super::super::flowtext;
use super::super::learning::{
    eth_addrs, Forward, PacketIn, Wire, LEARNED_COOKIE, LEARNED_PRIORITY,
};
use super::super::portcount;
use super::{port13, AnyFlowMod, Dialect, PortChange, PortInfo, Session, State, Version};
use crate::ctlproto::FlowCommand;
use crate::endpoint::Endpoint;

/// OpenFlow 1.0.
#[derive(Debug)]
pub(super) struct V10;

impl Dialect for V10 {
    fn version(&self) -> Version {
        Version::V10
    }

    fn start_features(&self, ep: &mut Endpoint) {
        ep.send10(&v10::Message::FeaturesRequest);
        ep.send10(&v10::Message::SetConfig(v10::SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff,
        }));
    }

    /// FEATURES_REPLY carries the ports in 1.0.
    fn request_port_desc(&self, _ep: &mut Endpoint) {}

    fn request_flow_stats(&self, ep: &mut Endpoint) -> u32 {
        ep.send10(&v10::Message::StatsRequest(v10::StatsRequest {
            flags: 0,
            body: v10::StatsRequestBody::Flow(v10::FlowStatsRequest {
                r#match: v10::Match::any(),
                table_id: 0xff,
                out_port: v10::port_no::NONE,
            }),
        }))
    }

    fn request_port_stats(&self, ep: &mut Endpoint) -> u32 {
        ep.send10(&v10::Message::StatsRequest(v10::StatsRequest {
            flags: 0,
            body: v10::StatsRequestBody::Port {
                port_no: v10::port_no::NONE,
            },
        }))
    }

    fn handle(&self, s: &mut Session, msg: Bytes, now: Instant) {
        match v10::decode(&msg) {
            Ok((xid, m)) => s.handle10(xid, m, now),
            Err(e) => s.ep.malformed(&e, &msg),
        }
    }

    fn handle_in_place(&self, _s: &mut Session, _msg: &[u8], _now: Instant) -> bool {
        false
    }

    fn parse_flow(&self, flow: &str, cmd: FlowCommand) -> Result<AnyFlowMod, String> {
        let c = match cmd {
            FlowCommand::Add => v10::FlowModCommand::Add,
            FlowCommand::Delete => v10::FlowModCommand::Delete,
        };
        ofproto::text::parse_flow10(flow, c)
            .map(AnyFlowMod::V10)
            .map_err(|e| format!("bad flow for OpenFlow 1.0: {e}"))
    }

    /// 1.0 deletes cannot filter by cookie: the learning switch's start deleted every
    /// flow already.
    fn deletes_static(&self) -> bool {
        false
    }

    fn delete_static(&self, _ep: &mut Endpoint) {}
}

impl Wire for V10 {
    fn delete_learned(&self, ep: &mut Endpoint) {
        // 1.0 has no cookie filter on delete: the learned flows are recognised by their
        // priority, which a non-strict delete cannot select; delete them all (the 1.0
        // switch has nothing but what a controller put there).
        ep.send10(&v10::Message::FlowMod(delete10(
            v10::Match::any(),
            v10::port_no::NONE,
        )));
    }

    /// 1.0 switches send misses to the controller by default.
    fn table_miss(&self, _ep: &mut Endpoint) {}

    fn delete_for_mac(&self, ep: &mut Endpoint, mac: MacAddr) {
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
            ep.send10(&v10::Message::FlowMod(delete10(m, v10::port_no::NONE)));
        }
    }

    fn delete_to_port(&self, ep: &mut Endpoint, port: u32) {
        ep.send10(&v10::Message::FlowMod(delete10(
            v10::Match::any(),
            port13_to_10(port),
        )));
    }

    fn barrier(&self, ep: &mut Endpoint) -> u32 {
        ep.send10(&v10::Message::BarrierRequest)
    }

    fn forward(&self, ep: &mut Endpoint, p: &PacketIn<'_>, fwd: Forward, idle_timeout: u16) {
        let in_port = port13_to_10(p.in_port);
        let buffered = p.buffer_id != v10::NO_BUFFER;
        let out_port = match fwd {
            Forward::Drop => return,
            Forward::Flood => v10::port_no::FLOOD,
            Forward::Port(port) => {
                let port = port13_to_10(port);
                let mut m = v10::Match::any();
                m.wildcards &=
                    !(v10::wildcards::IN_PORT | v10::wildcards::DL_SRC | v10::wildcards::DL_DST);
                m.in_port = in_port;
                m.dl_src = p.src.0;
                m.dl_dst = p.dst.0;
                ep.send10(&v10::Message::FlowMod(v10::FlowMod {
                    r#match: m,
                    cookie: LEARNED_COOKIE,
                    command: v10::FlowModCommand::Add,
                    table_id: 0,
                    idle_timeout,
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
        let data = if buffered {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(p.data)
        };
        ep.send10(&v10::Message::PacketOut(v10::PacketOut {
            buffer_id: p.buffer_id,
            in_port,
            actions: vec![v10::Action::Output {
                port: out_port,
                max_len: 0,
            }],
            data,
        }));
    }
}

impl Session {
    pub(super) fn handle10(&mut self, xid: u32, m: v10::Message, now: Instant) {
        use v10::Message as M;
        match m {
            M::EchoRequest(data) => self.ep.send10_xid(&M::EchoReply(data), xid),
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
                    v10::StatsReplyBody::Port(stats) => {
                        let counters = stats.iter().map(portcount::from10).collect();
                        self.port_stats_part(xid, counters, more);
                    }
                    other => tracing::debug!("ignoring stats reply {other:?}"),
                }
            }
            M::Error(e) => self.switch_error(xid, errtext::error10(&e), &e),
            M::BarrierReply => self.barrier_reply(xid),
            other => tracing::debug!("ignoring OpenFlow 1.0 message type {}", other.msg_type()),
        }
    }

    fn packet_in10(&mut self, p: v10::PacketIn, now: Instant) {
        let Some((dst, src)) = eth_addrs(&p.data) else {
            return;
        };
        let p = PacketIn {
            buffer_id: p.buffer_id,
            in_port: port10_to_13(p.in_port),
            reserved_port: p.in_port >= v10::port_no::MAX,
            dst,
            src,
            data: &p.data,
        };
        self.learning.packet_in(&V10, &mut self.ep, &p, now);
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

/// 1.0's 16-bit port numbers in 1.3's 32-bit space (reserved ports keep their meaning).
pub(crate) fn port10_to_13(p: u16) -> u32 {
    if p >= v10::port_no::MAX {
        0xffff_0000 | u32::from(p)
    } else {
        u32::from(p)
    }
}

pub(crate) fn port13_to_10(p: u32) -> u16 {
    if p >= port13::MAX {
        (p & 0xffff) as u16
    } else {
        p.min(u32::from(v10::port_no::MAX - 1)) as u16
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
