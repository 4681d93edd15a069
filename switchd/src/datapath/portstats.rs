//! Port counters for the agent's PORT_STATS replies: they live in the kernel, so the agent
//! asks ([`AgentEvent::NeedPortStats`]) and its owner reads them over rtnetlink.

use std::time::Instant;

use super::agent::{Agent, AgentEvent};
use super::links::Links;
use super::switch::LinkCounters;

/// Answer the agent's requests for port counters, which live in the kernel.
pub(crate) async fn answer_port_stats(a: &mut Agent, links: &Links) {
    while let Some(ev) = a.poll_event() {
        let AgentEvent::NeedPortStats { xid, ports } = ev;
        let mut counters = Vec::new();
        for (no, ifindex) in ports {
            let c = match links.by_index(ifindex).await {
                Ok(Some(l)) => l.counters,
                _ => None,
            };
            // Counters the kernel does not give are unavailable: all ones (7.3.5.6).
            counters.push((no, c.unwrap_or(unavailable_counters())));
        }
        a.port_stats(xid, counters, Instant::now());
    }
}

fn unavailable_counters() -> LinkCounters {
    let x = u64::MAX;
    LinkCounters {
        rx_packets: x,
        tx_packets: x,
        rx_bytes: x,
        tx_bytes: x,
        rx_dropped: x,
        tx_dropped: x,
        rx_errors: x,
        tx_errors: x,
        rx_frame_errors: x,
        rx_over_errors: x,
        rx_crc_errors: x,
        collisions: x,
    }
}
