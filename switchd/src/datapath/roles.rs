//! What the controllers of one local switch share (OpenFlow 1.3 section 6.3.6): the
//! largest generation_id seen, which connection last became master (the others that were
//! master become slaves), and the flows removed by one connection's request or timeout,
//! which every other connection is told of as its role and async config say.
//!
//! It lives in the [`Switch`](super::switch::Switch), so that whichever agent works on the
//! switch reads and writes the same; the local switch's task ([`super::controllers`])
//! carries the news from one connection to the others after each event.

use super::flowtable::RemovedFlow;

/// The connection number of ofp's observer: never a master, never told of flows.
pub(crate) const OBSERVER: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// 6.3.6: the largest generation_id of a MASTER or SLAVE request so far.
    pub(crate) generation: Option<u64>,
    /// The connection that became master since the task last looked.
    pub(crate) new_master: Option<u32>,
    /// `true` when the switch has more than one controller: removed flows are kept in
    /// [`Shared::removed`] for the others.
    pub(crate) fanout: bool,
    /// Flows removed, with the connection that removed them (it told its controller).
    pub(crate) removed: Vec<(u32, RemovedFlow)>,
}

impl Shared {
    /// A generation_id for a MASTER or SLAVE request: `false` if it is stale (older than
    /// the largest seen, compared as a signed 64-bit distance so that it may wrap),
    /// else it is remembered.
    pub(crate) fn generation_ok(&mut self, g: u64) -> bool {
        if let Some(last) = self.generation {
            if (g.wrapping_sub(last) as i64) < 0 {
                return false;
            }
        }
        self.generation = Some(g);
        true
    }

    /// Flows that connection `conn` removed: kept for the others if there are any.
    pub(crate) fn share(&mut self, conn: u32, gone: &[RemovedFlow]) {
        if self.fanout {
            self.removed.extend(
                gone.iter()
                    .filter(|r| r.wants_message())
                    .map(|r| (conn, r.clone())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_ids_older_than_the_largest_are_stale_and_wrap() {
        let mut s = Shared::default();
        assert!(s.generation_ok(10));
        assert!(s.generation_ok(10));
        assert!(!s.generation_ok(9));
        assert!(s.generation_ok(11));
        // Across the wrap: u64::MAX then 0 is newer.
        let mut s = Shared::default();
        assert!(s.generation_ok(u64::MAX));
        assert!(s.generation_ok(0));
        assert!(!s.generation_ok(u64::MAX - 1));
    }
}
