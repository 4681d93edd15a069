//! OpenFlow port numbers and the Linux interfaces behind them.

use std::collections::{BTreeMap, HashMap};

/// OpenFlow port number <-> Linux interface, for one local switch.
///
/// `OFPP_LOCAL` (0xfffffffe) may be mapped to the bridge device itself; output to LOCAL
/// then hands the packet to the host through that device. Every other entry is a bridge
/// port whose clsact ingress carries the switch's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortMap {
    by_port: BTreeMap<u32, (u32, String)>,
    by_ifindex: HashMap<u32, u32>,
}

pub use ofproto::v13::OFPP_LOCAL;

impl PortMap {
    pub fn new() -> Self {
        PortMap::default()
    }

    /// Map `ofport` to interface `ifindex` named `name` (replacing what either was mapped to).
    pub fn insert(&mut self, ofport: u32, ifindex: u32, name: &str) {
        self.remove(ofport);
        if let Some(old) = self.by_ifindex.get(&ifindex).copied() {
            self.by_port.remove(&old);
        }
        self.by_port.insert(ofport, (ifindex, name.to_string()));
        self.by_ifindex.insert(ifindex, ofport);
    }

    pub fn remove(&mut self, ofport: u32) {
        if let Some((ifindex, _)) = self.by_port.remove(&ofport) {
            self.by_ifindex.remove(&ifindex);
        }
    }

    pub fn ifindex(&self, ofport: u32) -> Option<u32> {
        self.by_port.get(&ofport).map(|p| p.0)
    }

    pub fn ofport(&self, ifindex: u32) -> Option<u32> {
        self.by_ifindex.get(&ifindex).copied()
    }

    pub fn name(&self, ofport: u32) -> Option<&str> {
        self.by_port.get(&ofport).map(|p| p.1.as_str())
    }

    /// `(ofport, ifindex, name)` in ascending port order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, &str)> + '_ {
        self.by_port.iter().map(|(p, (i, n))| (*p, *i, n.as_str()))
    }

    /// The bridge ports (every mapped port but LOCAL): the devices that carry filters.
    pub(crate) fn bridge_ports(&self) -> impl Iterator<Item = (u32, u32, &str)> + '_ {
        self.iter().filter(|(p, _, _)| *p != OFPP_LOCAL)
    }

    pub fn len(&self) -> usize {
        self.by_port.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_stay_consistent() {
        let mut m = PortMap::new();
        m.insert(1, 10, "a");
        m.insert(2, 20, "b");
        assert_eq!((m.ifindex(1), m.ofport(20)), (Some(10), Some(2)));
        // Port 1 moves to another interface: the old reverse entry goes.
        m.insert(1, 11, "a2");
        assert_eq!(
            (m.ifindex(1), m.ofport(10), m.ofport(11)),
            (Some(11), None, Some(1))
        );
        // Interface 20 renumbered to port 3: port 2 goes.
        m.insert(3, 20, "b");
        assert_eq!((m.ifindex(2), m.ofport(20)), (None, Some(3)));
        m.remove(1);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(3, 20, "b")]);
    }
}
