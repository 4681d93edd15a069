//! What a local switch is across its OpenFlow connections: its flow table over the
//! kernel's (the backend), its ports, and where packet-outs go. The agent of each
//! connection works on it; packet-out sends through it ([`FrameSink`]).

use std::collections::BTreeMap;
use std::time::Instant;

use ofproto::v13;

use super::flowtable::FlowTable;
use super::groups::GroupTable;
use super::refusals::Refusals;
use super::roles::Shared;
use tc_datapath::{Backend, PortMap};

/// Flow tables per local switch (TC chains 0..N_TABLES).
pub(crate) const N_TABLES: u8 = 8;

/// A port of the switch: its OpenFlow description and the interface behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SwitchPort {
    pub(crate) desc: v13::Port,
    pub(crate) ifindex: u32,
    /// When the port appeared (port stats durations count from here).
    pub(crate) since: Instant,
}

/// A port's counters as the kernel keeps them (`rtnl_link_stats64`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LinkCounters {
    pub(crate) rx_packets: u64,
    pub(crate) tx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) tx_errors: u64,
    pub(crate) rx_frame_errors: u64,
    pub(crate) rx_over_errors: u64,
    pub(crate) rx_crc_errors: u64,
    pub(crate) collisions: u64,
}

/// The state a local switch keeps across connections.
pub(crate) struct Switch {
    pub(crate) table: FlowTable,
    /// Its groups (5.6), expanded into the flows that use them (`groups.rs`).
    pub(crate) groups: GroupTable,
    pub(crate) backend: Box<dyn Backend + Send>,
    pub(crate) ports: BTreeMap<u32, SwitchPort>,
    /// Where packet-outs are sent (`None`: refused, there is no packet socket).
    pub(crate) frames: Option<Box<dyn FrameSink + Send>>,
    /// The near end of the injection pair that output:TABLE and LOCAL are sent on
    /// (`None`: they are refused).
    pub(crate) inject: Option<u32>,
    /// What the switch's controllers share: generation_id, master, removed flows.
    pub(crate) roles: Shared,
    /// What the switch refused its controllers, for `switchctl` (`refusals.rs`).
    pub(crate) refusals: Refusals,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("table", &self.table)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl Switch {
    pub(crate) fn new(n_tables: u8, backend: Box<dyn Backend + Send>) -> Switch {
        Switch {
            table: FlowTable::new(n_tables),
            groups: GroupTable::default(),
            backend,
            ports: BTreeMap::new(),
            frames: None,
            inject: None,
            roles: Shared::default(),
            refusals: Refusals::default(),
        }
    }

    pub(crate) fn port_map(&self) -> PortMap {
        let mut m = PortMap::new();
        for (no, p) in &self.ports {
            m.insert(*no, p.ifindex, &String::from_utf8_lossy(&p.desc.name));
        }
        m
    }
}

/// Where one frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    /// A port's interface.
    Ifindex(u32),
    /// The bridge device (output:NORMAL): the bridge forwards what it transmits.
    Bridge,
    /// The near end of the switch's injection pair (output:TABLE and LOCAL; the frame
    /// carries the tag already).
    Inject,
}

/// What transmits the frames of one switch: the packet socket, or a recorder in tests.
pub(crate) trait FrameSink {
    /// Send `frame` to `dest`; failures are the sink's to count and log.
    fn transmit(&mut self, dest: Dest, frame: &[u8]);
}
