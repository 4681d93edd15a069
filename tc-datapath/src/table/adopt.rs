//! Adoption after a restart: what an earlier run left in the kernel, and what the flows of
//! this run take of it.
//!
//! A port seen for the first time is dumped tersely (place, cookie and counters; no flower
//! keys, which are most of the kernel's work and of the bytes), and its filters are
//! leftovers. A filter that the switch wants and finds among the leftovers (same device,
//! chain, prio and cookie: the same flow compiled to the same content, key included) is
//! adopted as it is, without touching the kernel. Only where a wanted filter does not find
//! its cookie in a (device, chain, prio) that still has unclaimed leftovers is that place
//! dumped in full, to learn their keys: a leftover with the wanted key is then replaced in
//! place. Once the configured flows are in, the rest is removed.
//!
//! A flower filter without a cookie is not switchd's: an operator's own. Its port is left
//! alone unless the switch takes its ports ([`Table::take_ports`]).

use std::time::Instant;

use super::{key_hash, place_of, slot_filter_id, Cookie, SlotKey, Table};
use crate::filter::FilterId;

/// A port that holds flower filters switchd did not make, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAlone {
    pub name: String,
    pub filters: usize,
}

impl Table {
    /// A port appeared: learn what an earlier run left on it. `false`: the port holds an
    /// operator's filters and is left alone (unless `take`: then they are removed).
    pub(super) fn scan_port(&mut self, ifindex: u32, pname: &str, take: bool) -> bool {
        let started = Instant::now();
        let d = match self.tc.dump_terse(ifindex) {
            Ok(d) => d,
            Err(e) => {
                say!(self, Warn, "reading the filters of {pname}: {e}");
                return true;
            }
        };
        let dumped = started.elapsed();
        let foreign: Vec<FilterId> = d
            .iter()
            .filter(|i| i.cookie.is_none())
            .map(|i| i.id)
            .collect();
        if !foreign.is_empty() {
            if !take {
                say!(
                    self,
                    Warn,
                    "port {pname} left alone: it has {} flower filters that switchd did not \
                     make (tc filter show dev {pname} ingress), so no flow goes onto it; \
                     `take ports` in the switch's block makes switchd remove them",
                    foreign.len()
                );
                self.left_alone.insert(
                    ifindex,
                    LeftAlone {
                        name: pname.to_string(),
                        filters: foreign.len(),
                    },
                );
                return false;
            }
            for id in &foreign {
                say!(
                    self,
                    Info,
                    "take ports: removing a filter switchd did not make: tc filter del dev \
                     {pname} ingress pref {} chain {} handle 0x{:x} flower",
                    id.prio,
                    id.chain,
                    id.handle
                );
            }
            let res = self.tc.remove_any_protocol(&foreign);
            for (id, r) in foreign.iter().zip(res) {
                if let Err(e) = r {
                    say!(
                        self,
                        Warn,
                        "take ports: removing the filter on {pname} pref {} chain {} handle \
                         0x{:x}: {e}",
                        id.prio,
                        id.chain,
                        id.handle
                    );
                }
            }
        }
        let mut n = 0;
        for i in d {
            if let Some(c) = i.cookie {
                let place = (i.id.ifindex, i.id.chain, i.id.prio);
                if self.listed.insert((place, c), i.id.handle).is_none() {
                    *self.listed_places.entry(place).or_default() += 1;
                }
                n += 1;
            }
        }
        if n > 0 {
            say!(
                self,
                Info,
                "{n} filters found on {pname} (terse dump {} ms, listed {} ms)",
                dumped.as_millis(),
                (started.elapsed() - dumped).as_millis()
            );
        }
        true
    }

    /// Take the leftover at `key` for a filter whose cookie is `cookie`: the listed one of
    /// its (device, chain, prio) with that cookie (same cookie, same key), else the one
    /// with its key, which may have another cookie (learnt by a dump of the place).
    pub(super) fn take_leftover(
        &mut self,
        key: &SlotKey,
        cookie: &Cookie,
    ) -> Option<(u32, Cookie)> {
        let place = place_of(key);
        if let Some(h) = self.listed.remove(&(place, *cookie)) {
            if let Some(n) = self.listed_places.get_mut(&place) {
                *n -= 1;
                if *n == 0 {
                    self.listed_places.remove(&place);
                }
            }
            return Some((h, *cookie));
        }
        self.resolve_unless_listed(key, cookie);
        self.leftovers.remove(key)
    }

    /// Unless a listed leftover of `key`'s place has `cookie`, learn the keys of the
    /// listed leftovers of that place (one full dump of it), so that one with `key` and
    /// another cookie is found and replaced in place, not installed beside (which flower
    /// refuses).
    pub(super) fn resolve_unless_listed(&mut self, key: &SlotKey, cookie: &Cookie) {
        let place = place_of(key);
        if self.listed.contains_key(&(place, *cookie)) || !self.listed_places.contains_key(&place) {
            return;
        }
        self.listed_places.remove(&place);
        match self.tc.dump_place(place.0, place.1, place.2) {
            Ok(d) => {
                for i in d {
                    let Some(c) = i.cookie else { continue };
                    if self.listed.get(&(place, c)) == Some(&i.id.handle) {
                        self.listed.remove(&(place, c));
                        self.leftovers.insert(
                            (place.0, place.1, place.2, key_hash(&i.key)),
                            (i.id.handle, c),
                        );
                    }
                }
            }
            Err(e) => say!(
                self,
                Warn,
                "reading the filters of ifindex {} chain {} prio {}: {e}",
                place.0,
                place.1,
                place.2
            ),
        }
    }

    /// Remove the leftovers of device `ifindex` that nothing claimed (the injection pair's
    /// far end: all its filters are known at once).
    pub(super) fn drop_leftovers_of(&mut self, ifindex: u32) {
        let mut ids: Vec<FilterId> = Vec::new();
        self.leftovers.retain(|k, (handle, _)| {
            let mine = k.0 == ifindex;
            if mine {
                ids.push(slot_filter_id(k, *handle));
            }
            !mine
        });
        self.listed.retain(|(p, _), handle| {
            let mine = p.0 == ifindex;
            if mine {
                ids.push(slot_filter_id(&(p.0, p.1, p.2, 0), *handle));
            }
            !mine
        });
        self.listed_places.retain(|p, _| p.0 != ifindex);
        if !ids.is_empty() {
            say!(
                self,
                Info,
                "removing {} filters of ifindex {ifindex} that nothing wants",
                ids.len()
            );
            self.remove_filters(ids);
        }
    }

    /// The configured flows are in: remove every leftover no flow claimed, and from now on
    /// those of a port that appears at once.
    pub(super) fn drop_leftovers(&mut self) {
        self.settled = true;
        if self.leftovers.is_empty() && self.listed.is_empty() {
            return;
        }
        self.listed_places.clear();
        let mut ids: Vec<FilterId> = self
            .leftovers
            .drain()
            .map(|(k, (handle, _))| slot_filter_id(&k, handle))
            .collect();
        ids.extend(
            self.listed
                .drain()
                .map(|((p, _), handle)| slot_filter_id(&(p.0, p.1, p.2, 0), handle)),
        );
        say!(
            self,
            Info,
            "removing {} filters that no flow wants",
            ids.len()
        );
        self.remove_filters(ids);
    }
}
