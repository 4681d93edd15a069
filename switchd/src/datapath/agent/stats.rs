//! The statistics and features a controller reads of its tables and meters, from the
//! kernel's counters: table stats (7.3.5.4), table features (7.3.5.5, see `features.rs`),
//! meter stats (7.3.5.12).
//!
//! - A table's `matched_count` is the sum of its flows' counters (each flow's flower
//!   filters, on every port), those of flows since removed included; its `lookup_count` is
//!   that plus the packets no flow of the table matched, which the kernel counts in the
//!   table's table-miss filter ([`tc_datapath::Backend::table_misses`]). A backend that
//!   does not know its misses reports the lookups as unavailable (all ones, as 7.3.5.6
//!   does for ports).
//! - A meter is a TC police action in each filter of each flow that uses it: its
//!   `flow_count` is the number of those flows, its `packet_in_count`/`byte_in_count` what
//!   those flows counted (the police action is the filter's first, so every packet that
//!   reached the meter, dropped or not). What each band dropped is not read from the
//!   kernel: the band counters are all ones, unavailable.

use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::errors::{meter_mod_failed, table_features_failed};
use ofproto::v13::{self, multipart as mp, Instruction};

use super::features::{capabilities, table_features, wire_len};
use super::Agent;

impl Agent {
    /// OFPMP_TABLE: every table's active, lookup and matched counts.
    pub(super) fn table_stats(&mut self, xid: u32, now: Instant) {
        let n_tables = self.cfg.n_tables;
        let sw = &mut self.switch;
        sw.table.refresh(sw.backend.as_mut(), now);
        let misses = sw.backend.table_misses();
        let stats: Vec<mp::TableStats> = (0..n_tables)
            .map(|t| {
                let matched = sw.table.matched(t);
                let lookup = match &misses {
                    Some(m) => {
                        matched
                            + m.iter()
                                .filter(|(mt, _)| *mt == t)
                                .map(|(_, n)| n)
                                .sum::<u64>()
                    }
                    None => u64::MAX,
                };
                mp::TableStats {
                    table_id: t,
                    active_count: sw.table.entries().filter(|e| e.spec.table_id == t).count()
                        as u32,
                    lookup_count: lookup,
                    matched_count: matched,
                }
            })
            .collect();
        self.multipart_reply(xid, stats, |_| 24, mp::MultipartReplyBody::Table);
    }

    /// OFPMP_TABLE_FEATURES: an empty request lists what each table takes (probed, see
    /// `features.rs`); a request with a body would change the tables, which a local switch
    /// cannot (OFPTFFC_EPERM).
    pub(super) fn table_features(&mut self, xid: u32, set: &[v13::TableFeatures], raw: &Bytes) {
        if !set.is_empty() {
            self.error(table_features_failed::EPERM, raw);
            return;
        }
        let n_tables = self.cfg.n_tables;
        let caps = capabilities();
        let tables: Vec<v13::TableFeatures> = (0..n_tables)
            .map(|t| table_features(caps, t, n_tables))
            .collect();
        self.multipart_reply(xid, tables, wire_len, mp::MultipartReplyBody::TableFeatures);
    }

    /// OFPMP_METER: the counters of one meter or of all (OFPM_ALL).
    pub(super) fn meter_stats(&mut self, xid: u32, meter_id: u32, raw: &Bytes, now: Instant) {
        let sw = &mut self.switch;
        let ids: Vec<(u32, usize)> = sw
            .table
            .meters()
            .iter()
            .filter(|(id, _)| meter_id == v13::OFPM_ALL || *id == meter_id)
            .map(|(id, m)| (id, m.bands.len()))
            .collect();
        if ids.is_empty() && meter_id != v13::OFPM_ALL {
            self.error(meter_mod_failed::UNKNOWN_METER, raw);
            return;
        }
        sw.table.refresh(sw.backend.as_mut(), now);
        let stats: Vec<mp::MeterStats> = ids
            .into_iter()
            .map(|(id, bands)| {
                let users: Vec<_> = sw
                    .table
                    .entries()
                    .filter(|e| uses_meter(&e.spec.instructions(), id))
                    .collect();
                let d = sw
                    .table
                    .meter_since(id)
                    .map(|s| now.saturating_duration_since(s))
                    .unwrap_or_default();
                mp::MeterStats {
                    meter_id: id,
                    flow_count: users.len() as u32,
                    packet_in_count: users.iter().map(|e| e.packets()).sum(),
                    byte_in_count: users.iter().map(|e| e.bytes()).sum(),
                    duration_sec: d.as_secs() as u32,
                    duration_nsec: d.subsec_nanos(),
                    band_stats: vec![
                        mp::MeterBandStats {
                            packet_band_count: u64::MAX,
                            byte_band_count: u64::MAX,
                        };
                        bands
                    ],
                }
            })
            .collect();
        self.multipart_reply(
            xid,
            stats,
            |m| 40 + 16 * m.band_stats.len(),
            mp::MultipartReplyBody::Meter,
        );
    }
}

/// Whether a flow's instructions put its packets through meter `id`: its meter
/// instruction, or for OFPM_CONTROLLER an output to the controller.
fn uses_meter(instructions: &[Instruction], id: u32) -> bool {
    instructions.iter().any(|i| match i {
        Instruction::Meter(m) => *m == id,
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => id == v13::OFPM_CONTROLLER
            && a.iter().any(
                |a| matches!(a, v13::Action::Output { port, .. } if *port == v13::port::CONTROLLER),
            ),
        _ => false,
    })
}

#[cfg(test)]
mod tests;
