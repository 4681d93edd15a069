//! The agent's role among the switch's controllers (OpenFlow 1.3 section 6.3.6):
//! ROLE_REQUEST with the generation_id checked against the switch's (shared by every
//! connection, [`crate::datapath::roles::Shared`]), a new master claimed for the task to
//! demote the old one, and the flows other connections removed.

use std::time::Instant;

use bytes::Bytes;
use ofproto::v13::errors::role_request_failed;
use ofproto::v13::{self, Message as M};

use super::Agent;
use crate::datapath::flowtable::RemovedFlow;
use crate::datapath::roles::OBSERVER;

impl Agent {
    /// This connection's number among the switch's (0: the first `forward to` or ofp).
    pub(crate) fn set_conn(&mut self, conn: u32) {
        self.conn = conn;
    }

    pub(crate) fn conn(&self) -> u32 {
        self.conn
    }

    #[cfg(test)]
    pub(crate) fn role(&self) -> u32 {
        self.role
    }

    /// Another connection became master: a master becomes a slave (6.3.6).
    pub(crate) fn demote(&mut self) {
        if self.role == v13::OFPCR_ROLE_MASTER {
            tracing::info!(
                "switch {}: connection {} is a slave now: another controller became master",
                self.cfg.name,
                self.conn
            );
            self.role = v13::OFPCR_ROLE_SLAVE;
        }
    }

    /// ROLE_REQUEST (7.3.9): NOCHANGE reads the role, EQUAL needs no generation, MASTER
    /// and SLAVE a generation_id no older than the largest seen (else OFPRRFC_STALE).
    /// ofp's observer stays a slave (OFPRRFC_UNSUP for anything else).
    pub(super) fn role_request(&mut self, r: v13::Role, raw: &Bytes, xid: u32) {
        match r.role {
            v13::OFPCR_ROLE_NOCHANGE => {}
            v13::OFPCR_ROLE_EQUAL | v13::OFPCR_ROLE_MASTER if self.conn == OBSERVER => {
                self.error(role_request_failed::UNSUP, raw);
                return;
            }
            v13::OFPCR_ROLE_EQUAL => self.role = v13::OFPCR_ROLE_EQUAL,
            v13::OFPCR_ROLE_MASTER | v13::OFPCR_ROLE_SLAVE => {
                if !self.switch.roles.generation_ok(r.generation_id) {
                    self.error(role_request_failed::STALE, raw);
                    return;
                }
                if r.role == v13::OFPCR_ROLE_MASTER && self.role != r.role {
                    tracing::info!(
                        "switch {}: connection {} is the master (generation {})",
                        self.cfg.name,
                        self.conn,
                        r.generation_id
                    );
                }
                self.role = r.role;
                if r.role == v13::OFPCR_ROLE_MASTER {
                    self.switch.roles.new_master = Some(self.conn);
                }
            }
            _ => {
                self.error(role_request_failed::BAD_ROLE, raw);
                return;
            }
        }
        self.send_xid(
            &M::RoleReply(v13::Role {
                role: self.role,
                generation_id: self.switch.roles.generation.unwrap_or(0),
            }),
            xid,
        );
    }

    /// Flows that another connection's request or timeout removed: FLOW_REMOVED to this
    /// controller too, if its role and async config want the reason (6.3.6: flow-removed
    /// goes to every controller that asked for it).
    pub(crate) fn removed_elsewhere(&mut self, gone: &[RemovedFlow], now: Instant) {
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
}
