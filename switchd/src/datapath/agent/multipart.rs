//! The multipart (statistics) requests of 7.3.5: description, flows, aggregate, tables,
//! ports, queues, groups and meters, each answered from the switch's flow table and ports,
//! cut into replies of at most [`MULTIPART_BODY_MAX`] body bytes. Port counters live in
//! the kernel: the agent asks for them ([`AgentEvent::NeedPortStats`]) and
//! [`Agent::port_stats`] answers.

use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::errors::{bad_request, group_mod_failed, meter_mod_failed, queue_op_failed};
use ofproto::v13::{self, multipart as mp, Message as M};

use super::{Agent, AgentEvent, LinkCounters};
use crate::datapath::flowtable::Selector;
use ofproto::v13::port;

/// Multipart replies are cut into messages of at most this many body bytes.
const MULTIPART_BODY_MAX: usize = 60 * 1024;

impl Agent {
    /// The counters asked for by [`AgentEvent::NeedPortStats`] `xid`; ports missing from
    /// `counters` are reported with every counter unavailable (all ones, 7.3.5.6).
    pub(crate) fn port_stats(
        &mut self,
        xid: u32,
        counters: Vec<(u32, LinkCounters)>,
        now: Instant,
    ) {
        if self.pending.as_ref().map(|p| p.0) != Some(xid) {
            tracing::warn!("BUG: port counters for a request that is not pending");
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

    pub(super) fn multipart(
        &mut self,
        xid: u32,
        r: v13::MultipartRequest,
        raw: &Bytes,
        now: Instant,
    ) {
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
            Q::Table => self.table_stats(xid, now),
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
                    self.error(bad_request::BAD_PORT, raw);
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
                    self.error(queue_op_failed::BAD_PORT, raw);
                }
            }
            Q::Group { group_id } => {
                let sw = &mut self.switch;
                sw.table.refresh(sw.backend.as_mut(), now);
                match sw.groups.stats(&sw.table, group_id, now) {
                    Some(v) => {
                        self.multipart_reply(xid, v, |g| 40 + 16 * g.bucket_stats.len(), R::Group)
                    }
                    None => self.error(group_mod_failed::UNKNOWN_GROUP, raw),
                }
            }
            Q::GroupDesc => {
                let v = self.switch.groups.desc();
                self.multipart_reply(xid, v, crate::datapath::groups::desc_len, R::GroupDesc)
            }
            Q::GroupFeatures => self.send_xid(
                &M::MultipartReply(v13::MultipartReply {
                    flags: 0,
                    body: R::GroupFeatures(crate::datapath::groups::GroupTable::features()),
                }),
                xid,
            ),
            Q::MeterConfig { meter_id } => {
                let meters = self.switch.table.meters();
                let list: Vec<mp::MeterConfig> = meters
                    .iter()
                    .filter(|(id, _)| meter_id == v13::OFPM_ALL || *id == meter_id)
                    .map(|(id, m)| mp::MeterConfig {
                        flags: m.flags,
                        meter_id: id,
                        bands: m.bands.clone(),
                    })
                    .collect();
                if list.is_empty() && meter_id != v13::OFPM_ALL {
                    self.error(meter_mod_failed::UNKNOWN_METER, raw);
                } else {
                    self.multipart_reply(xid, list, |m| 8 + 16 * m.bands.len(), R::MeterConfig);
                }
            }
            Q::MeterFeatures => self.send_xid(
                &M::MultipartReply(v13::MultipartReply {
                    flags: 0,
                    body: R::MeterFeatures(mp::MeterFeatures {
                        max_meter: v13::OFPM_MAX,
                        // OFPMBT_DROP only; kbps or pktps, with burst (TC police).
                        band_types: 1 << 1,
                        capabilities: 1 | 2 | 4,
                        max_bands: 1,
                        max_color: 0,
                    }),
                }),
                xid,
            ),
            Q::Meter { meter_id } => self.meter_stats(xid, meter_id, raw, now),
            Q::TableFeatures(set) => self.table_features(xid, &set, raw),
            Q::Experimenter(_) => self.error(bad_request::BAD_EXPERIMENTER, raw),
        }
    }

    /// Send `items` in as many replies as they need, OFPMPF_REPLY_MORE on all but the last.
    pub(super) fn multipart_reply<T>(
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
}
