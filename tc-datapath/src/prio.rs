//! Where an OpenFlow (table, priority) goes in TC: chain and prio.
//!
//! flower walks the prios of a chain in ascending order and takes the first filter that
//! matches, so a higher OpenFlow priority must get a lower TC prio. OpenFlow has 65536
//! priorities (0..=65535); TC has 65535 prios (1..=65535), and every table also needs an
//! explicit lowest filter for the table miss (an OpenFlow table without a table-miss flow
//! drops, a TC chain without a match would let the packet through). That is two values
//! too many, and we will not fold two priorities together (Ryu-style controllers use
//! priority 1 for learned flows above a priority 0 table-miss flow). So every table gets
//! two chains:
//!
//! | OpenFlow            | chain          | TC prio            |
//! |---------------------|----------------|--------------------|
//! | priority 2..=65535  | table          | 65536 - priority   |
//! | (miss of the table) | table          | 65535: goto chain 256 + table |
//! | priority 1          | 256 + table    | 1                  |
//! | priority 0          | 256 + table    | 2                  |
//! | (table miss)        | 256 + table    | 65535: drop        |
//!
//! The mapping is exact: the order of any two OpenFlow priorities is kept. A packet that
//! matches nothing at priority >= 2 takes one extra chain jump.

use crate::filter::{Filter, FlowerKey, TcAction, Verdict};

/// The overflow chain of table `t` is `OVERFLOW_CHAIN_BASE + t`.
pub(crate) const OVERFLOW_CHAIN_BASE: u32 = 256;
/// The TC prio of the table-miss filters, below every flow.
pub(crate) const MISS_PRIO: u16 = 65535;

/// (chain, prio) of an OpenFlow flow in table `table_id` at `priority`.
pub fn placement(table_id: u8, priority: u16) -> (u32, u16) {
    if priority >= 2 {
        (table_id as u32, (65536 - priority as u32) as u16)
    } else {
        (OVERFLOW_CHAIN_BASE + table_id as u32, 2 - priority)
    }
}

/// The two filters that make table `table_id` on device `ifindex` behave like an OpenFlow
/// table: what no flow matches is dropped. Install them with the table's first flow.
pub fn table_miss_filters(ifindex: u32, table_id: u8) -> [Filter; 2] {
    let ovf = OVERFLOW_CHAIN_BASE + table_id as u32;
    let mk = |chain: u32, verdict: Verdict| {
        let mut f = Filter {
            ifindex,
            chain,
            prio: MISS_PRIO,
            handle: 1,
            key: FlowerKey::default(),
            actions: vec![TcAction::Gact(verdict)],
            cookie: [0; 16],
        };
        let mut h = crate::cookie::Fnv::new();
        h.write(b"table-miss");
        h.write(&[table_id]);
        f.cookie = crate::cookie::filter_cookie(h.finish().to_be_bytes(), &f);
        f
    };
    [
        mk(table_id as u32, Verdict::GotoChain(ovf)),
        mk(ovf, Verdict::Shot),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_priority_always_runs_first_and_no_two_share_a_slot() {
        // Order of evaluation: chain `table` by prio, then (on miss) the overflow chain.
        let rank = |p: u16| {
            let (c, pr) = placement(0, p);
            (c, pr)
        };
        let mut seen = std::collections::HashSet::new();
        for p in 0..=u16::MAX {
            let (c, pr) = rank(p);
            assert!((1..MISS_PRIO).contains(&pr), "priority {p} on prio {pr}");
            assert!(seen.insert((c, pr)), "priority {p} shares a slot");
            if p > 0 {
                assert!(
                    rank(p) < rank(p - 1),
                    "priority {p} does not run before {}",
                    p - 1
                );
            }
        }
        assert_eq!(placement(3, 65535), (3, 1));
        assert_eq!(placement(3, 2), (3, 65534));
        assert_eq!(placement(3, 1), (259, 1));
        assert_eq!(placement(3, 0), (259, 2));
    }

    #[test]
    fn table_miss_jumps_to_the_overflow_chain_which_drops() {
        let [a, b] = table_miss_filters(5, 2);
        assert_eq!((a.chain, a.prio), (2, MISS_PRIO));
        assert_eq!(a.actions, vec![TcAction::Gact(Verdict::GotoChain(258))]);
        assert_eq!((b.chain, b.prio), (258, MISS_PRIO));
        assert_eq!(b.actions, vec![TcAction::Gact(Verdict::Shot)]);
        assert_eq!(a.key, FlowerKey::default());
        assert_eq!(a.flow_id(), b.flow_id());
        assert_ne!(a.cookie, b.cookie);
    }
}
