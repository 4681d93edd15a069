//! Port counters from the switch (OFPMP_PORT_STATS / OFPST_PORT), version-neutral: what
//! `switchctl show ports` and the metrics show, the counters `ovs-ofctl dump-ports` prints.

use ofproto::v10;
use ofproto::v13;

/// One port's counters as the switch reported them (all-ones: the switch does not count
/// it, as the specification says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PortCounters {
    pub(crate) port_no: u32,
    pub(crate) rx_packets: u64,
    pub(crate) tx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) tx_errors: u64,
    pub(crate) rx_frame_err: u64,
    pub(crate) rx_over_err: u64,
    pub(crate) rx_crc_err: u64,
    pub(crate) collisions: u64,
}

pub(crate) fn from13(p: &v13::multipart::PortStats) -> PortCounters {
    PortCounters {
        port_no: p.port_no,
        rx_packets: p.rx_packets,
        tx_packets: p.tx_packets,
        rx_bytes: p.rx_bytes,
        tx_bytes: p.tx_bytes,
        rx_dropped: p.rx_dropped,
        tx_dropped: p.tx_dropped,
        rx_errors: p.rx_errors,
        tx_errors: p.tx_errors,
        rx_frame_err: p.rx_frame_err,
        rx_over_err: p.rx_over_err,
        rx_crc_err: p.rx_crc_err,
        collisions: p.collisions,
    }
}

pub(crate) fn from10(p: &v10::PortStats) -> PortCounters {
    // 1.0's 16-bit reserved ports (0xff00 and up) become 1.3's 32-bit ones.
    let port_no = if p.port_no >= 0xff00 {
        0xffff_0000 | u32::from(p.port_no)
    } else {
        u32::from(p.port_no)
    };
    PortCounters {
        port_no,
        rx_packets: p.rx_packets,
        tx_packets: p.tx_packets,
        rx_bytes: p.rx_bytes,
        tx_bytes: p.tx_bytes,
        rx_dropped: p.rx_dropped,
        tx_dropped: p.tx_dropped,
        rx_errors: p.rx_errors,
        tx_errors: p.tx_errors,
        rx_frame_err: p.rx_frame_err,
        rx_over_err: p.rx_over_err,
        rx_crc_err: p.rx_crc_err,
        collisions: p.collisions,
    }
}

impl PortCounters {
    /// The counters in the order of `show ports`' counter columns; `?` where the switch
    /// does not count (all ones), as ovs-ofctl dump-ports prints it.
    pub(crate) fn cells(&self) -> Vec<String> {
        [
            self.rx_packets,
            self.rx_bytes,
            self.rx_dropped,
            self.rx_errors,
            self.rx_frame_err,
            self.rx_over_err,
            self.rx_crc_err,
            self.tx_packets,
            self.tx_bytes,
            self.tx_dropped,
            self.tx_errors,
            self.collisions,
        ]
        .iter()
        .map(|&v| {
            if v == u64::MAX {
                "?".to_string()
            } else {
                v.to_string()
            }
        })
        .collect()
    }
}
