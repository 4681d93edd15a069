//! Bridges and their ports over rtnetlink: make sure a local switch's bridge exists
//! (created if absent, adopted if present), enslave the configured ports when they appear,
//! number the ports, and watch link events so that ports that come and go are reported.
//!
//! The numbering ([`PortNumbers`]) and the decision what a link event means for a bridge
//! ([`Bridge::classify`]) are plain functions with unit tests; the netlink calls are thin.

use std::collections::BTreeMap;
use std::io;

use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use netlink_packet_core::{ErrorMessage, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::sys::AsyncSocket;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, MulticastGroup};

use super::switch::LinkCounters;

/// A network interface as we need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) index: u32,
    pub(crate) name: String,
    /// The bridge (or other controller) it is enslaved to.
    pub(crate) master: Option<u32>,
    pub(crate) mac: [u8; 6],
    /// IFF_UP: the administrator wants it up.
    pub(crate) admin_up: bool,
    /// IFF_LOWER_UP: it has a carrier.
    pub(crate) lower_up: bool,
    pub(crate) is_bridge: bool,
    pub(crate) counters: Option<LinkCounters>,
}

impl Link {
    pub(crate) fn of(m: &LinkMessage) -> Link {
        let mut l = Link {
            index: m.header.index,
            name: String::new(),
            master: None,
            mac: [0; 6],
            admin_up: m.header.flags.contains(LinkFlags::Up),
            lower_up: m.header.flags.contains(LinkFlags::LowerUp),
            is_bridge: false,
            counters: None,
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => l.name = n.clone(),
                LinkAttribute::Controller(c) => l.master = Some(*c),
                LinkAttribute::Address(a) if a.len() == 6 => l.mac.copy_from_slice(a),
                LinkAttribute::LinkInfo(infos) => {
                    l.is_bridge = infos
                        .iter()
                        .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge)));
                }
                LinkAttribute::Stats64(s) => {
                    l.counters = Some(LinkCounters {
                        rx_packets: s.rx_packets,
                        tx_packets: s.tx_packets,
                        rx_bytes: s.rx_bytes,
                        tx_bytes: s.tx_bytes,
                        rx_dropped: s.rx_dropped,
                        tx_dropped: s.tx_dropped,
                        rx_errors: s.rx_errors,
                        tx_errors: s.tx_errors,
                        rx_frame_errors: s.rx_frame_errors,
                        rx_over_errors: s.rx_over_errors,
                        rx_crc_errors: s.rx_crc_errors,
                        collisions: s.collisions,
                    })
                }
                _ => {}
            }
        }
        l
    }
}

/// What the kernel said, in its words when it gave some (extended ack), else the errno.
pub(crate) fn kernel_words(e: &rtnetlink::Error) -> String {
    match e {
        rtnetlink::Error::NetlinkError(m) => error_text(m),
        other => other.to_string(),
    }
}

/// An NLMSG_ERROR as a sentence: the extended ack's message (NLMSGERR_ATTR_MSG) if there
/// is one, and the errno. Needs NETLINK_CAP_ACK (the payload is then the 16-byte header of
/// the request, then the ack's attributes).
pub(crate) fn error_text(m: &ErrorMessage) -> String {
    let errno = m.to_io().to_string();
    match ext_ack_message(&m.header) {
        Some(msg) => format!("{msg} ({errno})"),
        None => errno,
    }
}

/// NLMSGERR_ATTR_MSG out of an error payload (after the errno): 16 bytes of the request's
/// header, then attributes.
pub(crate) fn ext_ack_message(payload: &[u8]) -> Option<String> {
    let mut rest = payload.get(16..)?;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let ty = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        if ty == 1 {
            let s = &rest[4..len];
            let s = s.split(|b| *b == 0).next().unwrap_or(s);
            return Some(String::from_utf8_lossy(s).trim().to_string());
        }
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    None
}

/// A link changed or went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    New(Link),
    Del(Link),
}

/// rtnetlink requests, with extended acks on.
#[derive(Debug, Clone)]
pub struct Links {
    handle: Handle,
}

impl Links {
    /// A NETLINK_ROUTE socket for requests (its connection runs as a task).
    pub(crate) fn open() -> io::Result<Links> {
        let (mut conn, handle, _) = rtnetlink::new_connection()?;
        let s = conn.socket_mut().socket_mut();
        s.set_ext_ack(true)?;
        s.set_cap_ack(true)?;
        tokio::spawn(conn);
        Ok(Links { handle })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    async fn get_one(&self, req: rtnetlink::LinkGetRequest) -> Result<Option<Link>, String> {
        let mut s = req.execute();
        match s.next().await {
            Some(Ok(m)) => Ok(Some(Link::of(&m))),
            // ENODEV: there is no such link.
            Some(Err(rtnetlink::Error::NetlinkError(e))) if e.raw_code() == -libc::ENODEV => {
                Ok(None)
            }
            Some(Err(e)) => Err(kernel_words(&e)),
            None => Ok(None),
        }
    }

    pub(crate) async fn by_name(&self, name: &str) -> Result<Option<Link>, String> {
        self.get_one(self.handle.link().get().match_name(name.to_string()))
            .await
    }

    pub(crate) async fn by_index(&self, index: u32) -> Result<Option<Link>, String> {
        self.get_one(self.handle.link().get().match_index(index))
            .await
    }

    pub(crate) async fn all(&self) -> Result<Vec<Link>, String> {
        let mut s = self.handle.link().get().execute();
        let mut v = Vec::new();
        while let Some(m) = s.next().await {
            v.push(Link::of(&m.map_err(|e| kernel_words(&e))?));
        }
        Ok(v)
    }

    pub(crate) async fn add_bridge(&self, name: &str) -> Result<(), String> {
        self.handle
            .link()
            .add(LinkBridge::new(name).up().build())
            .execute()
            .await
            .map_err(|e| kernel_words(&e))
    }

    /// Make `index` a port of bridge `master`, and bring it up: in two requests, because in
    /// one the kernel brings the link up before it sets the master, and the event of a
    /// configured port up outside its bridge reads as a port that left it.
    pub(crate) async fn enslave(&self, index: u32, master: u32) -> Result<(), String> {
        for msg in [
            LinkUnspec::new_with_index(index).controller(master).build(),
            LinkUnspec::new_with_index(index).up().build(),
        ] {
            self.handle
                .link()
                .set(msg)
                .execute()
                .await
                .map_err(|e| kernel_words(&e))?;
        }
        Ok(())
    }

    pub(crate) async fn delete(&self, index: u32) -> Result<(), String> {
        self.handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| kernel_words(&e))
    }
}

/// Link events (RTNLGRP_LINK), decoded.
pub(crate) fn watch() -> io::Result<UnboundedReceiver<LinkEvent>> {
    let (conn, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(conn);
    let (tx, rx) = futures::channel::mpsc::unbounded();
    tokio::spawn(async move {
        while let Some((m, _)) = messages.next().await {
            let ev = match m {
                NetlinkMessage {
                    payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)),
                    ..
                } => LinkEvent::New(Link::of(&l)),
                NetlinkMessage {
                    payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)),
                    ..
                } => LinkEvent::Del(Link::of(&l)),
                _ => continue,
            };
            if tx.unbounded_send(ev).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// OpenFlow port numbers of a bridge's ports: a configured name has its configured number;
/// any other member gets the lowest number that no configured port and no other member
/// has, kept while it stays.
#[derive(Debug, Clone, Default)]
pub(crate) struct PortNumbers {
    configured: Vec<(String, u32)>,
    assigned: BTreeMap<String, u32>,
}

impl PortNumbers {
    pub(crate) fn new(configured: Vec<(String, u32)>) -> PortNumbers {
        PortNumbers {
            configured,
            assigned: BTreeMap::new(),
        }
    }

    pub(crate) fn is_configured(&self, name: &str) -> bool {
        self.configured.iter().any(|(n, _)| n == name)
    }

    /// The number of port `name`, assigning one if it has none.
    pub(crate) fn number(&mut self, name: &str) -> u32 {
        if let Some((_, n)) = self.configured.iter().find(|(n, _)| n == name) {
            return *n;
        }
        if let Some(n) = self.assigned.get(name) {
            return *n;
        }
        let used = |n: u32| {
            self.configured.iter().any(|(_, c)| *c == n) || self.assigned.values().any(|a| *a == n)
        };
        let n = (1..).find(|n| !used(*n)).unwrap_or(1);
        self.assigned.insert(name.to_string(), n);
        n
    }

    /// Port `name` left the bridge: its automatic number is free again.
    pub(crate) fn release(&mut self, name: &str) {
        self.assigned.remove(name);
    }
}

/// What a link event means for one bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BridgeChange {
    /// The link is (still) a port of the bridge: report it added or modified.
    Port(Link),
    /// A configured port that is not in the bridge: enslave it.
    Enslave(Link),
    /// The link is no longer a port (deleted, or moved elsewhere).
    PortGone(Link),
    /// The bridge itself changed (its index is the same) or went away.
    BridgeGone,
    Nothing,
}

/// One bridge as the datapath process follows it.
#[derive(Debug, Clone)]
pub(crate) struct Bridge {
    pub(crate) name: String,
    pub(crate) index: u32,
    pub(crate) numbers: PortNumbers,
    /// Port interfaces by index, with their OpenFlow number.
    pub(crate) members: BTreeMap<u32, (String, u32)>,
}

impl Bridge {
    pub(crate) fn classify(&self, ev: &LinkEvent) -> BridgeChange {
        match ev {
            LinkEvent::Del(l) if l.index == self.index => BridgeChange::BridgeGone,
            LinkEvent::Del(l) if self.members.contains_key(&l.index) => {
                BridgeChange::PortGone(l.clone())
            }
            LinkEvent::Del(_) => BridgeChange::Nothing,
            LinkEvent::New(l) if l.index == self.index => BridgeChange::Nothing,
            LinkEvent::New(l) if l.master == Some(self.index) => BridgeChange::Port(l.clone()),
            LinkEvent::New(l) if self.members.contains_key(&l.index) => {
                BridgeChange::PortGone(l.clone())
            }
            LinkEvent::New(l) if self.numbers.is_configured(&l.name) => {
                BridgeChange::Enslave(l.clone())
            }
            LinkEvent::New(_) => BridgeChange::Nothing,
        }
    }
}

/// The OpenFlow description of a port (7.2.1).
pub(crate) fn port_desc(l: &Link, port_no: u32) -> ofproto::v13::Port {
    ofproto::v13::Port {
        port_no,
        hw_addr: ofproto::v13::MacAddr(l.mac),
        name: bytes::Bytes::copy_from_slice(l.name.as_bytes()),
        // OFPPC_PORT_DOWN, OFPPS_LINK_DOWN.
        config: u32::from(!l.admin_up),
        state: u32::from(!l.lower_up),
        ..Default::default()
    }
}

/// The datapath id of a bridge without a configured one: as Open vSwitch does it, 16 zero
/// bits and the bridge's MAC address.
pub(crate) fn datapath_id(mac: [u8; 6]) -> u64 {
    mac.iter().fold(0u64, |a, b| a << 8 | u64::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, master: Option<u32>) -> Link {
        Link {
            index,
            name: name.into(),
            master,
            mac: [2, 0, 0, 0, 0, index as u8],
            admin_up: true,
            lower_up: true,
            is_bridge: false,
            counters: None,
        }
    }

    #[test]
    fn configured_ports_keep_their_numbers_and_others_get_the_lowest_free_one() {
        let mut n = PortNumbers::new(vec![("tap0".into(), 1), ("tap1".into(), 10)]);
        assert_eq!(n.number("tap1"), 10);
        assert_eq!(n.number("veth7"), 2);
        assert_eq!(n.number("veth8"), 3);
        assert_eq!(n.number("veth7"), 2, "kept while it stays");
        assert_eq!(n.number("tap0"), 1);
        n.release("veth7");
        assert_eq!(n.number("veth9"), 2);
    }

    #[test]
    fn link_events_are_classified_for_a_bridge() {
        let mut b = Bridge {
            name: "br0".into(),
            index: 5,
            numbers: PortNumbers::new(vec![("tap0".into(), 1)]),
            members: BTreeMap::new(),
        };
        b.members.insert(7, ("veth0".into(), 2));
        let ev = |l| LinkEvent::New(l);
        assert_eq!(
            b.classify(&ev(link(8, "x", Some(5)))),
            BridgeChange::Port(link(8, "x", Some(5)))
        );
        assert_eq!(
            b.classify(&ev(link(9, "tap0", None))),
            BridgeChange::Enslave(link(9, "tap0", None))
        );
        assert_eq!(
            b.classify(&ev(link(9, "other", None))),
            BridgeChange::Nothing
        );
        assert_eq!(
            b.classify(&ev(link(7, "veth0", Some(6)))),
            BridgeChange::PortGone(link(7, "veth0", Some(6)))
        );
        assert_eq!(
            b.classify(&LinkEvent::Del(link(7, "veth0", Some(5)))),
            BridgeChange::PortGone(link(7, "veth0", Some(5)))
        );
        assert_eq!(
            b.classify(&LinkEvent::Del(link(5, "br0", None))),
            BridgeChange::BridgeGone
        );
    }

    #[test]
    fn datapath_id_is_the_mac_in_the_low_48_bits() {
        assert_eq!(
            datapath_id([0x02, 0x42, 0xac, 0x11, 0, 2]),
            0x0000_0242_ac11_0002
        );
    }

    #[test]
    fn extended_ack_message_is_read_after_the_capped_header() {
        let mut p = vec![0u8; 16];
        let msg = b"Error: TC classifier not found.\0";
        let len = (4 + msg.len()) as u16;
        p.extend_from_slice(&len.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(msg);
        assert_eq!(
            ext_ack_message(&p).as_deref(),
            Some("Error: TC classifier not found.")
        );
        assert_eq!(ext_ack_message(&p[..16]), None);
    }
}
