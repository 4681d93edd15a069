//! A local switch's overlay: the collect-metadata ("external") VXLAN and Geneve devices of
//! its tunnel ports (`port "vx0" vxlan [dstport N]`), and its configured meters
//! (`meter N rate R kbps`), installed before its flows.
//!
//! switchd owns the tunnel devices it makes: each carries an interface alias
//! ([`marker`]) that names the switch, so that a later run (a restart, or the task a reload
//! starts) knows them again: it adopts those still configured as they are, removes those that
//! left the configuration, and removes all of them when the switch goes away. A device of a
//! configured name that switchd did not make is used if it is the configured kind of device
//! (it stays the operator's: never removed), and left alone otherwise.
//!
//! The devices are made with rtnetlink's builders (`LinkVxlan`, `LinkGeneve`), which carry
//! IFLA_VXLAN_COLLECT_METADATA and IFLA_GENEVE_COLLECT_METADATA; no raw netlink is needed.
//! With collect-metadata the kernel opens the UDP port for IPv4 and IPv6 both.
//!
//! MTU: the device gets the bridge's MTU, so that every frame a port of the bridge takes
//! fits the tunnel (a smaller tunnel MTU would also lower the bridge's). The encapsulated
//! packet is longer by the outer headers, which the underlay must carry; which interface
//! carries it is the route to each peer's, chosen per packet by the flows' `tun_dst`, so
//! switchd does not change the underlay (as Open vSwitch leaves it to the operator) and
//! says in the log what MTU the underlay needs.

use std::time::Instant;

use futures::StreamExt;
use netlink_packet_route::link::{
    InfoData, InfoGeneve, InfoKind, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage,
};
use ofproto::v13;
use rtnetlink::{LinkGeneve, LinkMessageBuilder, LinkUnspec, LinkVxlan};

use super::agent::Agent;
use super::links::{kernel_words, Links};
use crate::msg::SwitchConfig;
use conf::{Tunnel, TunnelKind};

/// Outer headers of VXLAN and of Geneve without options: Ethernet 14 of the inner frame
/// (the MTU counts from the inner IP header), UDP 8, VXLAN/Geneve 8, and IPv4 20 or IPv6 40.
const OVERHEAD_V4: u32 = 14 + 8 + 8 + 20;
const OVERHEAD_V6: u32 = 14 + 8 + 8 + 40;

/// The interface alias that marks a tunnel device as switch `switch`'s.
pub(crate) fn marker(switch: &str) -> String {
    let m = format!("switchd tunnel port of switch {switch}");
    // IFALIASZ is 256 with the NUL; a longer name is cut (at a character boundary).
    let mut end = m.len().min(255);
    while !m.is_char_boundary(end) {
        end -= 1;
    }
    m[..end].to_string()
}

/// A link as this module needs to know it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Dev {
    index: u32,
    name: String,
    kind: Option<TunnelKind>,
    external: bool,
    port: Option<u16>,
    alias: Option<String>,
    mtu: Option<u32>,
}

impl Dev {
    fn of(m: &LinkMessage) -> Dev {
        let mut d = Dev {
            index: m.header.index,
            ..Dev::default()
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => d.name = n.clone(),
                LinkAttribute::IfAlias(s) => d.alias = Some(s.clone()),
                LinkAttribute::Mtu(m) => d.mtu = Some(*m),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        match i {
                            LinkInfo::Kind(InfoKind::Vxlan) => d.kind = Some(TunnelKind::Vxlan),
                            LinkInfo::Kind(InfoKind::Geneve) => d.kind = Some(TunnelKind::Geneve),
                            LinkInfo::Data(InfoData::Vxlan(v)) => {
                                for x in v {
                                    match x {
                                        InfoVxlan::CollectMetadata(c) => d.external = *c,
                                        InfoVxlan::Port(p) => d.port = Some(*p),
                                        _ => {}
                                    }
                                }
                            }
                            LinkInfo::Data(InfoData::Geneve(v)) => {
                                for x in v {
                                    match x {
                                        InfoGeneve::CollectMetadata => d.external = true,
                                        InfoGeneve::Port(p) => d.port = Some(*p),
                                        _ => {}
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        d
    }

    /// Whether it is the device `t` asks for.
    fn is(&self, t: &Tunnel) -> bool {
        self.kind == Some(t.kind) && self.external && self.port == Some(t.dst_port)
    }
}

fn kind_name(k: TunnelKind) -> &'static str {
    match k {
        TunnelKind::Vxlan => "VXLAN",
        TunnelKind::Geneve => "Geneve",
    }
}

async fn dump(links: &Links) -> Result<Vec<Dev>, String> {
    let mut s = links.handle().link().get().execute();
    let mut v = Vec::new();
    while let Some(m) = s.next().await {
        v.push(Dev::of(&m.map_err(|e| kernel_words(&e))?));
    }
    Ok(v)
}

/// What a run of switch `switch` does with the tunnel devices: those of its own that are no
/// longer configured (or not as configured) go; the configured ones are adopted or made,
/// with the MTU of `bridge` (1500, a new bridge's, if it does not exist yet). Called before
/// the switch watches link events: a device just made is not yet in the bridge, which the
/// switch would otherwise take for a port that left it. Everything is logged; nothing here stops the switch (a port
/// whose device is missing is a port that has not appeared yet).
pub(crate) async fn ensure_tunnels(
    links: &Links,
    switch: &str,
    tunnels: &[(String, Tunnel)],
    bridge: &str,
) {
    let devs = match dump(links).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("local switch {switch}: cannot list links for its tunnel ports: {e}");
            return;
        }
    };
    let mark = marker(switch);
    let bridge_mtu = devs
        .iter()
        .find(|d| d.name == bridge)
        .and_then(|d| d.mtu)
        .unwrap_or(1500);
    let mut gone = Vec::new();
    for d in devs.iter().filter(|d| d.alias.as_deref() == Some(&mark)) {
        let wanted = tunnels.iter().find(|(n, _)| *n == d.name);
        if wanted.is_some_and(|(_, t)| d.is(t)) {
            continue;
        }
        let why = match wanted {
            Some(_) => "configured otherwise now",
            None => "no longer configured",
        };
        match links.delete(d.index).await {
            Ok(()) => tracing::info!(
                "local switch {switch}: removed tunnel device {} ({why})",
                d.name
            ),
            Err(e) => tracing::warn!(
                "local switch {switch}: cannot remove tunnel device {} ({why}): {e}",
                d.name
            ),
        }
        gone.push(d.index);
    }
    for (name, t) in tunnels {
        let kind = kind_name(t.kind);
        let found = devs
            .iter()
            .find(|d| d.name == *name && !gone.contains(&d.index));
        let index = match found {
            Some(d) if d.alias.as_deref() == Some(&mark) => {
                tracing::info!(
                    "local switch {switch}: adopted tunnel device {name} ({kind}, UDP port {})",
                    t.dst_port
                );
                d.index
            }
            Some(d) if d.is(t) => {
                tracing::info!(
                    "local switch {switch}: {name} exists, a collect-metadata {kind} device on \
                     UDP port {}: used as the tunnel port, and left in place when the switch \
                     goes (switchd did not make it)",
                    t.dst_port
                );
                continue;
            }
            Some(_) => {
                tracing::warn!(
                    "local switch {switch}: {name} exists and is not a collect-metadata {kind} \
                     device on UDP port {}: switchd leaves it alone; remove it for switchd to \
                     make the tunnel port",
                    t.dst_port
                );
                continue;
            }
            None => match create(links, name, t).await {
                Ok(i) => {
                    tracing::info!(
                        "local switch {switch}: created tunnel device {name} (collect-metadata \
                         {kind}, UDP port {}, IPv4 and IPv6)",
                        t.dst_port
                    );
                    i
                }
                Err(e) => {
                    tracing::warn!(
                        "local switch {switch}: cannot create tunnel device {name} ({kind}, UDP \
                         port {}): {e}",
                        t.dst_port
                    );
                    continue;
                }
            },
        };
        // Up now, before the switch watches: brought up by the enslaving instead, it would
        // be up one event before it is in the bridge (the kernel's order), a port that left.
        let set = LinkUnspec::new_with_index(index)
            .up()
            .mtu(bridge_mtu)
            .append_extra_attribute(LinkAttribute::IfAlias(mark.clone()))
            .build();
        match links.handle().link().set(set).execute().await {
            Ok(()) => tracing::info!(
                "local switch {switch}: tunnel port {name}: MTU {bridge_mtu}, the bridge's; the \
                 underlay must carry packets of {} bytes to peers over IPv4, {} over IPv6 \
                 (switchd does not change the underlay's MTU: the route to each peer chooses \
                 the interface)",
                bridge_mtu + OVERHEAD_V4,
                bridge_mtu + OVERHEAD_V6
            ),
            Err(e) => tracing::warn!(
                "local switch {switch}: tunnel port {name}: cannot set MTU {bridge_mtu} and its \
                 owner mark: {}",
                kernel_words(&e)
            ),
        }
    }
}

/// A collect-metadata device, learning off; its ifindex.
async fn create(links: &Links, name: &str, t: &Tunnel) -> Result<u32, String> {
    let msg = match t.kind {
        TunnelKind::Vxlan => LinkMessageBuilder::<LinkVxlan>::new(name)
            .collect_metadata(true)
            .learning(false)
            .port(t.dst_port)
            .build(),
        TunnelKind::Geneve => LinkMessageBuilder::<LinkGeneve>::new(name)
            .collect_metadata()
            .port(t.dst_port)
            .build(),
    };
    links
        .handle()
        .link()
        .add(msg)
        .execute()
        .await
        .map_err(|e| kernel_words(&e))?;
    match links.by_name(name).await? {
        Some(l) => Ok(l.index),
        None => Err("it vanished after its creation".into()),
    }
}

/// The switch goes away: so do the tunnel devices switchd made for it.
pub(crate) async fn remove_tunnels(links: &Links, switch: &str) {
    let devs = match dump(links).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(
                "local switch {switch}: cannot list links to remove its tunnel ports: {e}"
            );
            return;
        }
    };
    let mark = marker(switch);
    for d in devs.iter().filter(|d| d.alias.as_deref() == Some(&mark)) {
        match links.delete(d.index).await {
            Ok(()) => tracing::info!("local switch {switch}: removed tunnel device {}", d.name),
            Err(e) => tracing::warn!(
                "local switch {switch}: cannot remove tunnel device {}: {e}",
                d.name
            ),
        }
    }
}

/// The configured meters into the flow table, before the configured flows, as METER_MODs
/// from a controller go (flowtable's `meter_mod`): a refused one is logged.
pub(super) fn install_configured_meters(a: &mut Agent, cfg: &SwitchConfig, now: Instant) {
    for m in &cfg.meters {
        let mm = meter_mod(m);
        let (table, mut backend) = a.switch.table_and_backend();
        if let Err(r) = table.meter_mod(&mm, &mut backend, now) {
            tracing::warn!("local switch {}: meter {} refused: {r}", cfg.name, m.id);
        }
    }
    if !cfg.meters.is_empty() {
        tracing::info!(
            "local switch {}: {} configured meters in",
            cfg.name,
            cfg.meters.len()
        );
    }
}

/// `meter N rate R kbps [burst B kb]` as the METER_MOD that adds it: one drop band.
fn meter_mod(m: &conf::Meter) -> v13::MeterMod {
    let burst = if m.burst_kb.is_some() {
        v13::OFPMF_BURST
    } else {
        0
    };
    v13::MeterMod {
        command: v13::MeterModCommand::Add,
        flags: v13::OFPMF_KBPS | burst,
        meter_id: m.id,
        bands: vec![v13::MeterBand::Drop {
            rate: m.rate_kbps,
            burst_size: m.burst_kb.unwrap_or(0),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_are_one_drop_band() {
        let mm = meter_mod(&conf::Meter {
            id: 7,
            rate_kbps: 2000,
            burst_kb: Some(300),
        });
        assert_eq!(mm.flags, v13::OFPMF_KBPS | v13::OFPMF_BURST);
        assert_eq!(
            mm.bands,
            vec![v13::MeterBand::Drop {
                rate: 2000,
                burst_size: 300
            }]
        );
        let mm = meter_mod(&conf::Meter {
            id: 7,
            rate_kbps: 2000,
            burst_kb: None,
        });
        assert_eq!(mm.flags, v13::OFPMF_KBPS);
    }

    #[test]
    fn markers_fit_an_alias() {
        assert_eq!(marker("vnet"), "switchd tunnel port of switch vnet");
        assert!(marker(&"é".repeat(300)).len() <= 255);
    }
}
