//! The learning switch: an application beside the OpenFlow session, one per switch.
//!
//! [`Learning`] owns the policy: at the start, the learned flows of an earlier controller
//! deleted and the table-miss flow installed; for each packet-in, the source learned and
//! the packet forwarded (a learned FLOW_MOD towards a known port, or a PACKET_OUT that
//! floods); the flows of an address that moved, or towards a port that went, deleted. It
//! says all of that through a [`Wire`], which the session implements once per OpenFlow
//! version.
//!
//! [`MacTable`], a plain struct fed with time, no sockets, is which MAC address lives
//! behind which port: [`MacTable::packet_in`] says what to do with a packet the switch sent
//! us (learn its source, forward to a known port or flood).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::{Duration, Instant};

use ofproto::v13::MacAddr;

use crate::endpoint::Endpoint;

/// The cookie of the flows the learning switch installs, so that they can be deleted
/// without touching anyone else's ("SWDL" + 1).
pub(crate) const LEARNED_COOKIE: u64 = 0x5357_444c_0000_0001;
/// The cookie of the table-miss flow.
pub(crate) const TABLE_MISS_COOKIE: u64 = 0x5357_444c_0000_0000;
/// Learned flows sit above table-miss (priority 0); OpenBSD put both at the same priority.
pub(crate) const LEARNED_PRIORITY: u16 = 1;

/// A packet the switch sent us, as the learning switch reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketIn<'a> {
    pub(crate) buffer_id: u32,
    /// In OpenFlow 1.3 numbering.
    pub(crate) in_port: u32,
    /// Not a port a packet can be sent back to (a reserved port): nothing is learned.
    pub(crate) reserved_port: bool,
    pub(crate) dst: MacAddr,
    pub(crate) src: MacAddr,
    /// The frame, from its Ethernet header.
    pub(crate) data: &'a [u8],
}

/// The messages the learning switch sends, in the connection's OpenFlow version.
pub(crate) trait Wire {
    /// Delete every learned flow (a previous controller's learning is stale).
    fn delete_learned(&self, ep: &mut Endpoint);
    /// Install the table-miss flow (everything unmatched to the controller), where the
    /// version needs one.
    fn table_miss(&self, ep: &mut Endpoint);
    /// Delete the learned flows towards `mac` and from it.
    fn delete_for_mac(&self, ep: &mut Endpoint, mac: MacAddr);
    /// Delete the learned flows that output to `port` (1.3 numbering).
    fn delete_to_port(&self, ep: &mut Endpoint, port: u32);
    /// A barrier request; its xid.
    fn barrier(&self, ep: &mut Endpoint) -> u32;
    /// Forward `p` as decided: a learned flow (with the packet released through it if
    /// the switch buffered it) for a known port, and a PACKET_OUT unless the flow released
    /// the packet.
    fn forward(&self, ep: &mut Endpoint, p: &PacketIn<'_>, fwd: Forward, idle_timeout: u16);
}

/// The learning switch of one switch connection.
#[derive(Debug)]
pub(crate) struct Learning {
    macs: MacTable,
    /// MAC aging and the learned flows' idle timeout, seconds.
    mac_timeout: u32,
    cache: u32,
    /// A local switch: its table-miss flow is the configuration's, not ours.
    local: bool,
    /// A local switch forwarded to a remote controller: it learns nothing and changes
    /// nothing.
    observe: bool,
    /// PACKET_INs handed to the policy: only the tests read it.
    #[cfg(test)]
    pub(crate) packet_ins: u64,
}

impl Learning {
    pub(crate) fn new(cache: u32, mac_timeout: u32) -> Learning {
        Learning {
            macs: MacTable::new(cache, mac_timeout),
            mac_timeout,
            cache,
            local: false,
            observe: false,
            #[cfg(test)]
            packet_ins: 0,
        }
    }

    /// The switch is a local bridge: the datapath process installed the configured
    /// table-miss flow (normal or drop), so the learning switch must not add its own.
    pub(crate) fn set_local(&mut self) {
        self.local = true;
    }

    /// The switch is a local bridge driven by a remote controller: look, do not touch.
    pub(crate) fn set_observe(&mut self) {
        self.local = true;
        self.observe = true;
    }

    pub(crate) fn is_observer(&self) -> bool {
        self.observe
    }

    pub(crate) fn reconfigure(&mut self, cache: u32, mac_timeout: u32) {
        self.mac_timeout = mac_timeout;
        self.cache = cache;
        self.macs.reconfigure(cache, mac_timeout);
    }

    pub(crate) fn macs(&self, now: Instant) -> Vec<(MacAddr, u32, Duration)> {
        self.macs.entries(now)
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        self.macs.expire(now);
    }

    /// The switch is known: flows of a previous controller's learning are stale (our MAC
    /// table starts empty), so delete them, then install table-miss (unless the switch is
    /// local: its table-miss is the configuration's). An observer touches nothing.
    pub(crate) fn start(&self, w: &dyn Wire, ep: &mut Endpoint) {
        if self.observe {
            return;
        }
        w.delete_learned(ep);
        self.restore_table_miss(w, ep);
    }

    /// Install table-miss again (after a delete of everything), unless it is not ours.
    pub(crate) fn restore_table_miss(&self, w: &dyn Wire, ep: &mut Endpoint) {
        if !self.local {
            w.table_miss(ep);
        }
    }

    /// A packet-in: learn and forward.
    pub(crate) fn packet_in(
        &mut self,
        w: &dyn Wire,
        ep: &mut Endpoint,
        p: &PacketIn<'_>,
        now: Instant,
    ) {
        if self.observe {
            return;
        }
        #[cfg(test)]
        {
            self.packet_ins += 1;
        }
        let fwd = self.decide(w, ep, p, now);
        let idle_timeout = self.mac_timeout.min(u16::MAX.into()) as u16;
        w.forward(ep, p, fwd, idle_timeout);
    }

    /// Learn and decide; a moved address has its stale flows deleted first.
    fn decide(
        &mut self,
        w: &dyn Wire,
        ep: &mut Endpoint,
        p: &PacketIn<'_>,
        now: Instant,
    ) -> Forward {
        if p.reserved_port {
            return Forward::Flood;
        }
        let (in_port, src) = (p.in_port, p.src);
        let d = self.macs.packet_in(in_port, src, p.dst, now);
        match d.learned {
            Learned::Moved { old_port } => {
                tracing::debug!("{src} moved from port {old_port} to port {in_port}");
                w.delete_for_mac(ep, src);
                // The deletes must be done before the new flow is added behind them; a
                // barrier says so to a switch that reorders.
                w.barrier(ep);
            }
            Learned::Full => {
                tracing::debug!("MAC table full ({} entries): {src} not learned", self.cache)
            }
            Learned::New => tracing::debug!("learned {src} on port {in_port}"),
            Learned::Ignored | Learned::Refreshed => {}
        }
        d.forward
    }

    /// A port went away or down (`deleted`: away): the addresses behind it are unknown
    /// again, and flows towards it are stale.
    pub(crate) fn port_gone(&mut self, w: &dyn Wire, ep: &mut Endpoint, port: u32, deleted: bool) {
        let gone = self.macs.forget_port(port);
        if !gone.is_empty() || deleted {
            w.delete_to_port(ep, port);
        }
    }
}

/// Destination and source of an Ethernet frame, if it is long enough to have a header.
pub(crate) fn eth_addrs(frame: &[u8]) -> Option<(MacAddr, MacAddr)> {
    if frame.len() < 14 {
        return None;
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    Some((MacAddr(dst), MacAddr(src)))
}

/// One learned address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MacEntry {
    pub(crate) port: u32,
    /// When a packet from this address was last seen.
    pub(crate) seen: Instant,
}

/// What learning the source address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learned {
    /// Not learned: a multicast/broadcast source, or a reserved port.
    Ignored,
    New,
    /// Already known on this port; its age is reset.
    Refreshed,
    /// It was on `old_port`: flows towards it and from it are stale.
    Moved {
        old_port: u32,
    },
    /// The table is full (`cache`): not learned, packets to it are flooded.
    Full,
}

/// Where the packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forward {
    /// Unknown, broadcast or multicast destination.
    Flood,
    /// Known unicast destination behind this port: install a flow and send it there.
    Port(u32),
    /// The destination is behind the port the packet came in on: nothing to do.
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) learned: Learned,
    pub(crate) forward: Forward,
}

/// Hashes a MAC address (as a `u64`) with one folded multiply keyed by two random
/// seeds: several times cheaper than SipHash on the PACKET_IN path. The sources are chosen
/// by whoever sends frames, so the seeds are random per table: an attacker cannot aim
/// addresses at one bucket without seeing the table's timing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MacHashBuilder {
    k0: u64,
    k1: u64,
}

impl MacHashBuilder {
    fn random() -> MacHashBuilder {
        let r = RandomState::new();
        MacHashBuilder {
            k0: r.hash_one(0x5357_444c_u64),
            k1: r.hash_one(0x4d41_4331_u64) | 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct MacHasher {
    k0: u64,
    k1: u64,
    h: u64,
}

impl Hasher for MacHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; this is for completeness.
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        let p = u128::from(self.h ^ x ^ self.k0) * u128::from(self.k1);
        self.h = (p as u64) ^ ((p >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.h
    }
}

impl BuildHasher for MacHashBuilder {
    type Hasher = MacHasher;
    fn build_hasher(&self) -> MacHasher {
        MacHasher {
            k0: self.k0,
            k1: self.k1,
            h: 0,
        }
    }
}

fn fresh_since(e: &MacEntry, cutoff: Option<Instant>) -> bool {
    cutoff.is_none_or(|c| e.seen > c)
}

fn key(mac: &MacAddr) -> u64 {
    let m = mac.0;
    u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
}

fn mac(key: u64) -> MacAddr {
    let b = key.to_be_bytes();
    MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The MAC table of one switch, bounded by `limit` entries, aged after `timeout`
/// (zero: never).
#[derive(Debug, Clone)]
pub(crate) struct MacTable {
    /// By the address as a `u64` (see [`key`]).
    entries: HashMap<u64, MacEntry, MacHashBuilder>,
    limit: usize,
    timeout: Duration,
}

pub(crate) fn is_multicast(mac: &MacAddr) -> bool {
    // IEEE 802: the I/G bit, the lowest bit of the first octet; broadcast is a multicast.
    mac.0[0] & 1 == 1
}

impl MacTable {
    pub(crate) fn new(limit: u32, timeout_secs: u32) -> MacTable {
        MacTable {
            entries: HashMap::with_hasher(MacHashBuilder::random()),
            limit: limit as usize,
            timeout: Duration::from_secs(timeout_secs.into()),
        }
    }

    /// Apply a new `cache`/`timeout` (after a reload); entries over the new limit stay until
    /// they age out.
    pub(crate) fn reconfigure(&mut self, limit: u32, timeout_secs: u32) {
        self.limit = limit as usize;
        self.timeout = Duration::from_secs(timeout_secs.into());
    }

    fn fresh(&self, e: &MacEntry, now: Instant) -> bool {
        fresh_since(e, self.cutoff(now))
    }

    /// Entries last seen at or before this instant are aged; `None`: none is. Computed once
    /// per PACKET_IN: `now - seen < timeout` is `seen > now - timeout`, and comparing two
    /// instants is cheaper than subtracting them.
    fn cutoff(&self, now: Instant) -> Option<Instant> {
        if self.timeout.is_zero() {
            None
        } else {
            now.checked_sub(self.timeout)
        }
    }

    /// Learn that `mac` was seen on `port` (a physical port) at `now`.
    #[cfg(test)]
    pub(crate) fn learn(&mut self, mac: MacAddr, port: u32, now: Instant) -> Learned {
        let cutoff = self.cutoff(now);
        self.learn_cut(mac, port, now, cutoff)
    }

    fn learn_cut(
        &mut self,
        mac: MacAddr,
        port: u32,
        now: Instant,
        cutoff: Option<Instant>,
    ) -> Learned {
        if is_multicast(&mac) || mac.0 == [0; 6] {
            return Learned::Ignored;
        }
        let k = key(&mac);
        if let Some(e) = self.entries.get_mut(&k) {
            let old = *e;
            *e = MacEntry { port, seen: now };
            let fresh = fresh_since(&old, cutoff);
            return if old.port == port {
                if fresh {
                    Learned::Refreshed
                } else {
                    Learned::New
                }
            } else {
                // Even an aged entry may still have flows (their idle timeout is the same as
                // ours, but counted by the switch): treat it as a move.
                Learned::Moved { old_port: old.port }
            };
        }
        if self.entries.len() >= self.limit {
            self.expire(now);
            // A full table refuses new addresses rather than evicting: a host flooding us
            // with random sources cannot push out the addresses that are in use. Unknown
            // destinations are flooded, so nobody loses connectivity.
            if self.entries.len() >= self.limit {
                return Learned::Full;
            }
        }
        self.entries.insert(k, MacEntry { port, seen: now });
        Learned::New
    }

    /// The port `mac` is behind, unless unknown or aged.
    #[cfg(test)]
    pub(crate) fn lookup(&self, mac: &MacAddr, now: Instant) -> Option<u32> {
        self.lookup_cut(mac, self.cutoff(now))
    }

    fn lookup_cut(&self, mac: &MacAddr, cutoff: Option<Instant>) -> Option<u32> {
        self.entries
            .get(&key(mac))
            .filter(|e| fresh_since(e, cutoff))
            .map(|e| e.port)
    }

    /// Learn the source, then decide where a packet from `src` to `dst` that came in on
    /// `in_port` goes.
    pub(crate) fn packet_in(
        &mut self,
        in_port: u32,
        src: MacAddr,
        dst: MacAddr,
        now: Instant,
    ) -> Decision {
        let cutoff = self.cutoff(now);
        let learned = self.learn_cut(src, in_port, now, cutoff);
        let forward = if is_multicast(&dst) {
            Forward::Flood
        } else {
            match self.lookup_cut(&dst, cutoff) {
                None => Forward::Flood,
                Some(p) if p == in_port => Forward::Drop,
                Some(p) => Forward::Port(p),
            }
        };
        Decision { learned, forward }
    }

    /// Drop aged entries; how many went.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        if !self.timeout.is_zero() {
            let timeout = self.timeout;
            self.entries
                .retain(|_, e| now.saturating_duration_since(e.seen) < timeout);
        }
        before - self.entries.len()
    }

    /// Forget every address behind `port` (the port went away or down); the addresses.
    pub(crate) fn forget_port(&mut self, port: u32) -> Vec<MacAddr> {
        let gone: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.port == port)
            .map(|(m, _)| *m)
            .collect();
        for m in &gone {
            self.entries.remove(m);
        }
        gone.into_iter().map(mac).collect()
    }

    /// The live entries with their age, sorted by port then address.
    pub(crate) fn entries(&self, now: Instant) -> Vec<(MacAddr, u32, Duration)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, e)| self.fresh(e, now))
            .map(|(m, e)| (mac(*m), e.port, now.saturating_duration_since(e.seen)))
            .collect();
        v.sort_by_key(|(m, p, _)| (*p, *m));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xa]);
    const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xb]);
    const C: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xc]);
    const BCAST: MacAddr = MacAddr([0xff; 6]);
    const MCAST: MacAddr = MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]);

    #[test]
    fn learns_sources_and_forwards_to_known_destinations() {
        let t0 = Instant::now();
        let mut t = MacTable::new(10, 300);
        let d = t.packet_in(1, A, BCAST, t0);
        assert_eq!(d.learned, Learned::New);
        assert_eq!(d.forward, Forward::Flood);
        // B answers A: A is known on port 1.
        let d = t.packet_in(2, B, A, t0);
        assert_eq!(
            d,
            Decision {
                learned: Learned::New,
                forward: Forward::Port(1)
            }
        );
        let d = t.packet_in(1, A, B, t0);
        assert_eq!(
            d,
            Decision {
                learned: Learned::Refreshed,
                forward: Forward::Port(2)
            }
        );
        // Unknown unicast and multicast destinations flood.
        assert_eq!(t.packet_in(1, A, C, t0).forward, Forward::Flood);
        assert_eq!(t.packet_in(1, A, MCAST, t0).forward, Forward::Flood);
        // A destination behind the ingress port is not sent back.
        assert_eq!(t.packet_in(2, C, B, t0).forward, Forward::Drop);
    }

    #[test]
    fn never_learns_multicast_or_zero_sources() {
        let t0 = Instant::now();
        let mut t = MacTable::new(10, 300);
        assert_eq!(t.learn(BCAST, 1, t0), Learned::Ignored);
        assert_eq!(t.learn(MCAST, 1, t0), Learned::Ignored);
        assert_eq!(t.learn(MacAddr([0; 6]), 1, t0), Learned::Ignored);
        assert!(t.entries.is_empty());
    }

    #[test]
    fn entries_age_out() {
        let t0 = Instant::now();
        let mut t = MacTable::new(10, 60);
        t.learn(A, 1, t0);
        t.learn(B, 2, t0 + Duration::from_secs(30));
        assert_eq!(t.lookup(&A, t0 + Duration::from_secs(59)), Some(1));
        assert_eq!(t.lookup(&A, t0 + Duration::from_secs(60)), None);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(t.entries(later).len(), 1);
        assert_eq!(t.expire(later), 1);
        assert_eq!(t.entries.len(), 1);
        // Seeing an address again resets its age.
        t.learn(B, 2, t0 + Duration::from_secs(80));
        assert_eq!(t.lookup(&B, t0 + Duration::from_secs(130)), Some(2));
        // timeout 0: never ages.
        let mut forever = MacTable::new(10, 0);
        forever.learn(A, 1, t0);
        assert_eq!(
            forever.lookup(&A, t0 + Duration::from_secs(1 << 30)),
            Some(1)
        );
        assert_eq!(forever.expire(t0 + Duration::from_secs(1 << 30)), 0);
    }

    #[test]
    fn cache_limit_refuses_new_addresses_until_some_age_out() {
        let t0 = Instant::now();
        let mut t = MacTable::new(2, 60);
        assert_eq!(t.learn(A, 1, t0), Learned::New);
        assert_eq!(t.learn(B, 2, t0 + Duration::from_secs(10)), Learned::New);
        assert_eq!(t.learn(C, 3, t0 + Duration::from_secs(20)), Learned::Full);
        assert_eq!(t.lookup(&C, t0 + Duration::from_secs(20)), None);
        // Known addresses still refresh while full.
        assert_eq!(
            t.learn(A, 1, t0 + Duration::from_secs(20)),
            Learned::Refreshed
        );
        // Once B has aged, C fits.
        assert_eq!(t.learn(C, 3, t0 + Duration::from_secs(75)), Learned::New);
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.lookup(&B, t0 + Duration::from_secs(75)), None);
    }

    #[test]
    fn a_moved_address_reports_its_old_port_and_follows_the_host() {
        let t0 = Instant::now();
        let mut t = MacTable::new(10, 60);
        t.learn(A, 1, t0);
        t.learn(B, 2, t0);
        let d = t.packet_in(3, A, B, t0 + Duration::from_secs(1));
        assert_eq!(d.learned, Learned::Moved { old_port: 1 });
        assert_eq!(d.forward, Forward::Port(2));
        assert_eq!(t.packet_in(2, B, A, t0).forward, Forward::Port(3));
    }

    #[test]
    fn addresses_key_and_hash_by_table() {
        for m in [A, BCAST, MacAddr([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc])] {
            assert_eq!(mac(key(&m)), m);
        }
        // Two tables seed their hashers differently.
        let (h1, h2) = (MacHashBuilder::random(), MacHashBuilder::random());
        assert_ne!(h1.hash_one(key(&A)), h2.hash_one(key(&A)));
        assert_ne!(h1.hash_one(key(&A)), h1.hash_one(key(&B)));
    }

    #[test]
    fn forgetting_a_port_forgets_its_addresses() {
        let t0 = Instant::now();
        let mut t = MacTable::new(10, 60);
        t.learn(A, 1, t0);
        t.learn(B, 1, t0);
        t.learn(C, 2, t0);
        let mut gone = t.forget_port(1);
        gone.sort();
        assert_eq!(gone, vec![A, B]);
        assert_eq!(t.entries(t0), vec![(C, 2, Duration::ZERO)]);
    }
}
