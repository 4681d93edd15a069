//! The packets that no flow of a table matched, per OpenFlow table, from the kernel's
//! counters of the table-miss filters ([`crate::prio`]): the drop filter at the bottom of
//! each table's overflow chain sees exactly the packets that reached the table and matched
//! none of its flows. A table's lookups are then its flows' matches plus these.
//!
//! Each port has its own drop filter per table, and a filter's counter starts again at zero
//! when the filter is made again (a port that left and came back): the totals here only
//! grow, by what each filter counted since the previous read.

use std::collections::{BTreeMap, HashMap};

use crate::prio::{MISS_PRIO, OVERFLOW_CHAIN_BASE};

#[derive(Debug, Default)]
pub(crate) struct Misses {
    /// Per (device, table), what its drop filter counted at the previous read.
    last: HashMap<(u32, u8), u64>,
    /// Per table, the misses counted so far.
    total: BTreeMap<u8, u64>,
}

impl Misses {
    /// The table whose misses a table-miss filter at (`chain`, `prio`) counts, if it is one
    /// that does (the overflow chain's drop, not the jump to it).
    pub(crate) fn table_of(chain: u32, prio: u16) -> Option<u8> {
        if prio != MISS_PRIO {
            return None;
        }
        chain
            .checked_sub(OVERFLOW_CHAIN_BASE)
            .and_then(|t| u8::try_from(t).ok())
    }

    /// The drop filter of `table` on `ifindex` has counted `packets` so far.
    pub(crate) fn note(&mut self, ifindex: u32, table: u8, packets: u64) {
        let last = self.last.entry((ifindex, table)).or_insert(0);
        // A smaller count: the filter is a new one, which counted from zero.
        let grew = if packets >= *last {
            packets - *last
        } else {
            packets
        };
        *last = packets;
        *self.total.entry(table).or_insert(0) += grew;
    }

    /// Per table, the packets no flow matched, since the switch started.
    pub(crate) fn totals(&self) -> Vec<(u8, u64)> {
        self.total.iter().map(|(t, n)| (*t, *n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_overflow_chains_drop_counts() {
        assert_eq!(
            Misses::table_of(OVERFLOW_CHAIN_BASE + 3, MISS_PRIO),
            Some(3)
        );
        // The jump from the table's own chain to its overflow chain.
        assert_eq!(Misses::table_of(3, MISS_PRIO), None);
        // A flow of priority 0 in the overflow chain.
        assert_eq!(Misses::table_of(OVERFLOW_CHAIN_BASE + 3, 2), None);
    }

    #[test]
    fn totals_grow_across_ports_and_recreated_filters() {
        let mut m = Misses::default();
        m.note(10, 0, 5);
        m.note(11, 0, 2);
        m.note(10, 1, 1);
        assert_eq!(m.totals(), vec![(0, 7), (1, 1)]);
        // Read again: only what grew counts.
        m.note(10, 0, 8);
        assert_eq!(m.totals(), vec![(0, 10), (1, 1)]);
        // Port 10's filter was made again and counted 1 since.
        m.note(10, 0, 1);
        assert_eq!(m.totals(), vec![(0, 11), (1, 1)]);
    }
}
