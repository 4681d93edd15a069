//! The injection pair of a local switch: how a packet-out to TABLE or LOCAL gets where a
//! frame sent from userspace cannot go by itself.
//!
//! A frame that the packet socket transmits on a port leaves the port (egress), so it never
//! meets the port's clsact ingress, where the flow table is; transmitted on the bridge
//! device, it is forwarded by the bridge instead of being given to the host. So each local
//! switch has a veth pair of its own, `swdi<ifindex>` (near end) and `swdj<ifindex>` (far
//! end), named after the bridge's ifindex so that the next run finds them. Both are up, in
//! no bridge, and no OpenFlow port. A packet-out frame is sent on the near end with an
//! 802.1ad tag in front whose VLAN id says where it goes; on the far end's clsact ingress
//! one flower filter per switch port pops the tag and redirects the frame into that port's
//! ingress (`mirred ingress redirect`), where it meets the flow table as if it had been
//! received there; id [`LOCAL_VID`] goes into the bridge device's ingress, i.e. to the
//! host. Anything else that reaches the far end is dropped.
//!
//! The far end has the bridge's MAC address: the kernel decides whether a frame is for the
//! host (`pkt_type`) when the far end receives it, and keeps that through the redirect, so
//! a frame to the bridge's address must be "ours" already there.
//!
//! The filters follow the port map ([`Injector::sync`]): the switch's kernel table keeps
//! them as it keeps flows ([`tc_datapath::Backend::set_injection`]), by cookie, so a
//! restart adopts them untouched. The pair and its filters stay while switchd
//! stops or restarts (like the flow table's filters) and go with the switch.

use std::collections::BTreeMap;

use rtnetlink::{LinkMessageBuilder, LinkUnspec, LinkVeth};
use tc_datapath::{Backend, Filter, FlowerKey, MirredKind, TcAction, Verdict};

use super::links::{kernel_words, Links};

/// The VLAN id that carries output:LOCAL (4095 is reserved by 802.1Q, so no port has it).
pub const LOCAL_VID: u16 = 4095;
/// The highest port number a tag can carry.
pub const MAX_PORT: u32 = 4094;
/// 802.1ad (S-tag), so that a frame that carries a customer tag of its own keeps it.
pub const TPID: u16 = 0x88a8;
/// Room for any frame a packet-out carries, plus our tag.
const MTU: u32 = 65535;
/// The first 8 cookie bytes of the injection filters (no OpenFlow flow has a name).
const FLOW: [u8; 8] = *b"swdinjct";
/// TC prio of the redirects, and of the drop of everything else.
const PRIO_REDIRECT: u16 = 1;
const PRIO_DROP: u16 = 2;

/// The near and far end of the pair of the bridge with ifindex `bridge`.
pub fn names(bridge: u32) -> (String, String) {
    (format!("swdi{bridge}"), format!("swdj{bridge}"))
}

/// `frame` with an 802.1ad tag in front that carries `vid`.
pub fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(frame.len() + 4);
    v.extend_from_slice(&frame[..12]);
    v.extend_from_slice(&TPID.to_be_bytes());
    v.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    v.extend_from_slice(&frame[12..]);
    v
}

fn filter(far: u32, prio: u16, key: FlowerKey, actions: Vec<TcAction>) -> Filter {
    let mut f = Filter {
        ifindex: far,
        chain: 0,
        prio,
        handle: 0,
        key,
        actions,
        cookie: [0; 16],
    };
    f.cookie = tc_datapath::cookie::filter_cookie(FLOW, &f);
    f.handle = tc_datapath::cookie::handle_for(&f.cookie);
    f
}

fn redirect(far: u32, vid: u16, to: u32) -> Filter {
    filter(
        far,
        PRIO_REDIRECT,
        FlowerKey {
            eth_type: Some(TPID),
            vlan_id: Some(vid),
            ..Default::default()
        },
        vec![
            TcAction::VlanPop,
            TcAction::Mirred {
                kind: MirredKind::IngressRedirect,
                ifindex: to,
            },
        ],
    )
}

/// The filters the far end `far` must hold for the ports (number, ifindex) of the switch
/// on bridge `bridge`: one redirect per port that a tag can name, one for LOCAL, and the
/// drop of the rest. Ports above [`MAX_PORT`] are left out.
pub fn wanted(far: u32, bridge: u32, ports: &BTreeMap<u32, u32>) -> Vec<Filter> {
    let mut v: Vec<Filter> = ports
        .iter()
        .filter(|(no, _)| (1..=MAX_PORT).contains(*no))
        .map(|(no, ifindex)| redirect(far, *no as u16, *ifindex))
        .collect();
    v.push(redirect(far, LOCAL_VID, bridge));
    v.push(filter(
        far,
        PRIO_DROP,
        FlowerKey::default(),
        vec![TcAction::Gact(Verdict::Shot)],
    ));
    v
}

/// One local switch's injection pair (its links, over the async rtnetlink handle; its
/// filters are the kernel table's).
pub struct Injector {
    name: String,
    links: Links,
    bridge: u32,
    near: u32,
    far: u32,
    /// The ports the far end's filters were last made for (`None`: not yet, or failed).
    applied: Option<BTreeMap<u32, u32>>,
}

impl std::fmt::Debug for Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injector")
            .field("name", &self.name)
            .field("near", &self.near)
            .field("far", &self.far)
            .finish_non_exhaustive()
    }
}

impl Injector {
    /// Find (or make) the pair of switch `name` on bridge `bridge` and bring it up (the
    /// kernel table gives the far end its clsact qdisc).
    pub async fn open(name: &str, links: &Links, bridge: u32) -> Result<Injector, String> {
        sweep_orphans(name, links).await;
        let (near_name, far_name) = names(bridge);
        let near = links.by_name(&near_name).await?;
        let far = links.by_name(&far_name).await?;
        let (near, far) = match (near, far) {
            (Some(n), Some(f)) => {
                tracing::info!(
                    "local switch {name}: adopted injection pair {near_name}/{far_name}"
                );
                (n, f)
            }
            (n, f) => {
                // Half a pair is of no use: start again.
                for l in [n, f].into_iter().flatten() {
                    links
                        .delete(l.index)
                        .await
                        .map_err(|e| format!("deleting {}: {e}", l.name))?;
                }
                let peer = LinkMessageBuilder::<LinkUnspec>::new()
                    .name(far_name.clone())
                    .mtu(MTU)
                    .build();
                let msg = LinkVeth::new(&near_name, &far_name)
                    .mtu(MTU)
                    .set_info_data(netlink_packet_route::link::InfoData::Veth(
                        netlink_packet_route::link::InfoVeth::Peer(peer),
                    ))
                    .build();
                links
                    .handle()
                    .link()
                    .add(msg)
                    .execute()
                    .await
                    .map_err(|e| {
                        format!(
                            "creating injection pair {near_name}/{far_name}: {}",
                            kernel_words(&e)
                        )
                    })?;
                tracing::info!(
                    "local switch {name}: created injection pair {near_name}/{far_name}"
                );
                let get = |n: String| async move {
                    links
                        .by_name(&n)
                        .await?
                        .ok_or_else(|| format!("{n} vanished after its creation"))
                };
                (get(near_name.clone()).await?, get(far_name.clone()).await?)
            }
        };
        for l in [&near, &far] {
            if !l.admin_up {
                set(links, LinkUnspec::new_with_index(l.index).up().build())
                    .await
                    .map_err(|e| format!("bringing {} up: {e}", l.name))?;
            }
        }
        Ok(Injector {
            name: name.to_string(),
            links: links.clone(),
            bridge,
            near: near.index,
            far: far.index,
            applied: None,
        })
    }

    /// The interface to send tagged frames on.
    pub fn near(&self) -> u32 {
        self.near
    }

    /// Make the far end's filters match `ports` (number to ifindex), through the switch's
    /// kernel table `table`, and its address the bridge's. Failures are logged in the
    /// kernel's words; the next change tries again.
    pub async fn sync(&mut self, ports: &BTreeMap<u32, u32>, table: &mut (dyn Backend + Send)) {
        self.follow_bridge_address().await;
        if self.applied.as_ref() == Some(ports) {
            return;
        }
        for no in ports.keys().filter(|no| **no > MAX_PORT) {
            tracing::warn!(
                "local switch {}: port {no} is above {MAX_PORT}: packet-outs to TABLE with \
                 it as in_port are refused (an 802.1ad tag cannot carry it)",
                self.name
            );
        }
        let wanted = wanted(self.far, self.bridge, ports);
        let (_, far_name) = names(self.bridge);
        self.applied = table
            .set_injection(self.far, &far_name, &wanted)
            .then(|| ports.clone());
    }

    async fn follow_bridge_address(&mut self) {
        let (Ok(Some(br)), Ok(Some(far))) = (
            self.links.by_index(self.bridge).await,
            self.links.by_index(self.far).await,
        ) else {
            return;
        };
        if br.mac == far.mac {
            return;
        }
        // A veth takes a new address only while down.
        let down = LinkUnspec::new_with_index(self.far).down().build();
        let addr = LinkUnspec::new_with_index(self.far)
            .address(br.mac.to_vec())
            .up()
            .build();
        let r = match set(&self.links, down).await {
            Ok(()) => set(&self.links, addr).await,
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            tracing::warn!(
                "local switch {}: giving {} the bridge's address: {e}",
                self.name,
                far.name
            );
        }
    }

    /// The switch goes away: so does its pair (deleting one end deletes both, and the
    /// far end's filters with them).
    pub async fn remove(self) {
        let (near, _) = names(self.bridge);
        match self.links.delete(self.near).await {
            Ok(()) => tracing::info!("local switch {}: deleted injection pair {near}", self.name),
            Err(e) => tracing::warn!("local switch {}: deleting {near}: {e}", self.name),
        }
    }
}

/// The bridge ifindex that `name` is the injection pair end of, if it is one.
pub fn bridge_of(name: &str) -> Option<u32> {
    let n = name
        .strip_prefix("swdi")
        .or_else(|| name.strip_prefix("swdj"))?;
    if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Delete the pairs whose bridge is gone (deleted while switchd was not running): their
/// name can never be found again, nothing else would ever remove them.
async fn sweep_orphans(name: &str, links: &Links) {
    let Ok(all) = links.all().await else { return };
    let bridges: Vec<u32> = all
        .iter()
        .filter(|l| l.is_bridge)
        .map(|l| l.index)
        .collect();
    for l in &all {
        // One end of each pair is enough: the other goes with it.
        if !l.name.starts_with("swdi") {
            continue;
        }
        if let Some(b) = bridge_of(&l.name).filter(|b| !bridges.contains(b)) {
            match links.delete(l.index).await {
                Ok(()) => tracing::info!(
                    "local switch {name}: deleted injection pair {} of a bridge (ifindex {b}) \
                     that is gone",
                    l.name
                ),
                Err(e) => tracing::warn!("local switch {name}: deleting {}: {e}", l.name),
            }
        }
    }
}

async fn set(links: &Links, m: netlink_packet_route::link::LinkMessage) -> Result<(), String> {
    links
        .handle()
        .link()
        .set(m)
        .execute()
        .await
        .map_err(|e| kernel_words(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_an_interface_name() {
        let (n, f) = names(u32::MAX);
        assert_eq!(
            (n.as_str(), f.as_str()),
            ("swdi4294967295", "swdj4294967295")
        );
        assert!(n.len() <= 15 && f.len() <= 15);
    }

    #[test]
    fn a_pair_names_its_bridge() {
        assert_eq!(bridge_of("swdi17"), Some(17));
        assert_eq!(bridge_of("swdj4294967295"), Some(u32::MAX));
        for n in [
            "swdi",
            "swdi017",
            "swdi1x",
            "swdk17",
            "eth0",
            "swdi4294967296",
        ] {
            assert_eq!(bridge_of(n), None, "{n}");
        }
    }

    #[test]
    fn the_tag_goes_after_the_addresses() {
        let frame: Vec<u8> = (0..20).collect();
        let t = tag(&frame, 7);
        assert_eq!(&t[..12], &frame[..12]);
        assert_eq!(&t[12..16], &[0x88, 0xa8, 0x00, 0x07]);
        assert_eq!(&t[16..], &frame[12..]);
    }

    #[test]
    fn one_redirect_per_taggable_port_one_for_local_and_a_drop() {
        let ports = BTreeMap::from([(1, 11), (2, 12), (5000, 13)]);
        let w = wanted(99, 7, &ports);
        let to = |i| TcAction::Mirred {
            kind: MirredKind::IngressRedirect,
            ifindex: i,
        };
        let got: Vec<(u16, Option<u16>, Vec<TcAction>)> = w
            .iter()
            .map(|f| (f.prio, f.key.vlan_id, f.actions.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, Some(1), vec![TcAction::VlanPop, to(11)]),
                (1, Some(2), vec![TcAction::VlanPop, to(12)]),
                (1, Some(LOCAL_VID), vec![TcAction::VlanPop, to(7)]),
                (2, None, vec![TcAction::Gact(Verdict::Shot)]),
            ]
        );
        assert!(w.iter().all(|f| f.ifindex == 99));
        // Equal content, equal cookie: a restart adopts them.
        assert_eq!(w, wanted(99, 7, &ports));
    }
}
