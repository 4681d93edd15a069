//! One local switch's flows in the kernel: each flow becomes the flower filters that
//! [`crate::translate()`] makes of it, on the clsact ingress of the bridge's ports, over a
//! blocking [`Tc`] socket. The [`Table`] is the switch's [`Backend`].
//!
//! Filters are kept by their place in the kernel, a `SlotKey` (device, chain, prio,
//! flower key): flower holds one filter per key in a prio. A flow that needs a place that
//! another flow holds (a MODIFY installs the new version before the old one goes) takes it
//! over, by replacing the filter in place when the content differs; the previous holder
//! gets it back if the newer one goes first. Counters are read from dumps and credited to
//! the flow that holds each filter. The table-miss filters of each table in use are on
//! every port ([`crate::prio`]); the packet-in group of each flow that outputs to
//! CONTROLLER is known, to name the flow of a sampled packet.
//!
//! Hitless restart (`adopt.rs`): a port seen for the first time is dumped tersely, and its
//! filters are leftovers that the flows of this run adopt by cookie;
//! [`Backend::remove_leftovers`], once the configured flows are in, removes the rest.
//!
//! A port that holds flower filters this table did not make (no cookie: an operator's own)
//! is left alone: no filter goes onto it, and it is named in [`Table::left_alone`] and in
//! the log, unless the switch takes its ports anyway ([`Table::take_ports`]); then each
//! such filter is removed and logged in `tc filter` terms.
//!
//! The injection filters of the switch's injection pair ([`Backend::set_injection`]) are
//! kept the same way: slots of the table on the pair's far end, adopted by cookie after a
//! restart; the far end is the switch's own, so whatever else is on it is removed.
//!
//! The table logs through `tracing` (warnings, information and debugging lines that start
//! `local switch NAME: `); the daemon's subscriber writes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use crate::backend::Backend;
use crate::filter::{Filter, FilterId, FlowerKey, Listed, TcAction, Verdict};
use crate::flow::{Counters, FlowId, FlowSpec, PacketInFlow, Refusal};
use crate::meter::MeterTable;
use crate::netlink::{KernelError, Tc};
use crate::ports::PortMap;
use crate::prio::{table_miss_filters, OVERFLOW_CHAIN_BASE};

/// Say something through `tracing` (the daemon's log), as `local switch NAME: ...`.
macro_rules! say {
    ($t:expr, Warn, $($arg:tt)*) => {
        tracing::warn!("local switch {}: {}", $t.name, format_args!($($arg)*))
    };
    ($t:expr, Info, $($arg:tt)*) => {
        tracing::info!("local switch {}: {}", $t.name, format_args!($($arg)*))
    };
    ($t:expr, Debug, $($arg:tt)*) => {
        tracing::debug!("local switch {}: {}", $t.name, format_args!($($arg)*))
    };
}

mod adopt;
mod batch;
mod misses;

pub use adopt::LeftAlone;

/// The owner of the table-miss filters (the flow table never hands out this id).
const INFRA: FlowId = u64::MAX;
/// The owner of the injection filters ([`Backend::set_injection`]; never a flow's id).
const INJECT: FlowId = u64::MAX - 1;

/// OFPET_FLOW_MOD_FAILED / OFPFMFC_UNKNOWN: a kernel refusal is not one of the causes that
/// OpenFlow names, except a full table (OFPFMFC_TABLE_FULL) when the kernel is out of room.
use ofproto::v13::errors::flow_mod_failed::{
    TABLE_FULL as FLOW_MOD_TABLE_FULL, UNKNOWN as FLOW_MOD_UNKNOWN,
};

/// Where a filter sits: flower keeps one filter per key in a (device, chain, prio). The
/// flower key is kept as a 64-bit hash ([`key_hash`]), not as the 232-byte `FlowerKey`:
/// a local switch holds hundreds of thousands of places. Two different keys with the same
/// hash in one (device, chain, prio) are caught when the second one would share the
/// first's place ([`Table::attach`] compares the real keys then) and refused.
type SlotKey = (u32, u32, u16, u64);

/// A (device, chain, prio): a slot without its key.
type Place = (u32, u32, u16);

fn place_of(k: &SlotKey) -> Place {
    (k.0, k.1, k.2)
}

fn key_hash(k: &FlowerKey) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: equal for equal keys for the life of the process.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

fn slot_key(f: &Filter) -> SlotKey {
    (f.ifindex, f.chain, f.prio, key_hash(&f.key))
}

fn slot_filter_id(k: &SlotKey, handle: u32) -> FilterId {
    FilterId {
        ifindex: k.0,
        chain: k.1,
        prio: k.2,
        handle,
    }
}

/// One place in the kernel and the flow whose filter is installed there (its cookie is
/// `cookie`). Flows that wanted the place earlier wait in [`Table::waiting`] and get
/// their filter back (translated again) when the later ones go. Filters are not kept:
/// they are recomputed when needed.
struct Slot {
    handle: u32,
    cookie: Cookie,
    owner: FlowId,
}

impl Slot {
    fn new(handle: u32, cookie: Cookie, owner: FlowId) -> Slot {
        Slot {
            handle,
            cookie,
            owner,
        }
    }
}

/// The cookie of a leftover filter (a hash of what it does).
type Cookie = [u8; 16];

/// What was done for one filter of a flow being installed, to undo it on a refusal.
enum Step {
    /// A new slot (`adopted`: taken from the leftovers, not installed by us).
    Created(SlotKey, Option<Cookie>),
    /// Pushed onto a slot whose filter was already exactly ours.
    Shared(SlotKey),
    /// Pushed onto a slot and replaced its filter with ours.
    Replaced(SlotKey),
}

/// One local switch's flows in the kernel.
pub struct Table {
    name: String,
    tc: Tc,
    ports: PortMap,
    meters: MeterTable,
    /// Remove the filters switchd did not make from the ports, rather than leave such a
    /// port alone.
    take_ports: bool,
    /// The ports left alone (by ifindex): they hold an operator's filters.
    left_alone: BTreeMap<u32, LeftAlone>,
    /// The flows and the places their filters are in.
    flows: HashMap<FlowId, (FlowSpec, Box<[SlotKey]>)>,
    slots: HashMap<SlotKey, Slot>,
    /// Per place held by a later flow, the flows that wanted it before, oldest first
    /// (rare: a MODIFY while it runs, or overlapping flows of one priority).
    waiting: HashMap<SlotKey, Vec<FlowId>>,
    /// Tables whose table-miss filters are on every port.
    tables: BTreeSet<u8>,
    /// Filters found in the kernel and not (yet) claimed, by place: handle and cookie.
    leftovers: HashMap<SlotKey, (u32, Cookie)>,
    /// Filters found by a terse dump and not (yet) claimed, whose keys are not known:
    /// handle by (device, chain, prio) and cookie.
    listed: HashMap<(Place, Cookie), u32>,
    /// How many of `listed` each (device, chain, prio) has.
    listed_places: HashMap<Place, usize>,
    /// Once set, leftovers of a port that appears are removed at once.
    settled: bool,
    /// The flows that output to CONTROLLER, by psample group (the latest installed last:
    /// equal content gives an equal group), and each one's group.
    packet_in: PacketIns,
    /// The injection pair's far end (once its filters were read) and the filters it holds.
    inject_far: Option<u32>,
    injection: Vec<Filter>,
    /// Per table, the packets no flow matched (the table-miss drop filters' counters).
    misses: misses::Misses,
}

/// Which flow a sampled packet came from: psample group to flows, flow to group.
#[derive(Default)]
struct PacketIns {
    by_group: HashMap<u32, Vec<(FlowId, PacketInFlow)>>,
    group_of: HashMap<FlowId, u32>,
}

impl PacketIns {
    fn note(&mut self, id: FlowId, spec: &FlowSpec) {
        let Some(p) = PacketInFlow::of(spec) else {
            return;
        };
        let Ok(hash) = spec.with_decoded(crate::cookie::flow_hash) else {
            return;
        };
        let g = crate::psample::group_of(hash);
        self.by_group.entry(g).or_default().push((id, p));
        self.group_of.insert(id, g);
    }

    fn forget(&mut self, id: FlowId) {
        if let Some(g) = self.group_of.remove(&id) {
            if let Some(v) = self.by_group.get_mut(&g) {
                v.retain(|(i, _)| *i != id);
                if v.is_empty() {
                    self.by_group.remove(&g);
                }
            }
        }
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("flows", &self.flows.len())
            .field("slots", &self.slots.len())
            .finish()
    }
}

fn kernel_refusal(what: &str, f: &Filter, e: &KernelError) -> Refusal {
    let code = if e.errno == libc::ENOSPC || e.errno == libc::ENOMEM {
        FLOW_MOD_TABLE_FULL
    } else {
        FLOW_MOD_UNKNOWN
    };
    Refusal::new(
        code,
        format!(
            "the kernel refused to {what} the filter on ifindex {} chain {} prio {}: {e}",
            f.ifindex, f.chain, f.prio
        ),
    )
}

/// The tables a filter uses: its own and those it jumps to.
fn tables_of(f: &Filter) -> impl Iterator<Item = u8> + '_ {
    let table = |chain: u32| {
        let t = if chain >= OVERFLOW_CHAIN_BASE {
            chain - OVERFLOW_CHAIN_BASE
        } else {
            chain
        };
        u8::try_from(t).ok()
    };
    table(f.chain)
        .into_iter()
        .chain(f.actions.iter().filter_map(move |a| match a {
            TcAction::Gact(Verdict::GotoChain(c)) => table(*c),
            _ => None,
        }))
}

/// The filters of `spec` with these ports and meters, but those of the ports left alone.
fn translate(
    spec: &FlowSpec,
    ports: &PortMap,
    meters: &MeterTable,
    alone: &BTreeMap<u32, LeftAlone>,
) -> Result<Vec<Filter>, Refusal> {
    let mut filters =
        spec.with_decoded(|flow| crate::translate::translate(flow, ports, meters))??;
    if !alone.is_empty() {
        filters.retain(|f| !alone.contains_key(&f.ifindex));
    }
    Ok(filters)
}

impl Table {
    /// The kernel table of local switch `name`, over a netlink socket of its own.
    pub fn open(name: &str) -> std::io::Result<Table> {
        Ok(Table {
            name: name.to_string(),
            tc: Tc::new()?,
            ports: PortMap::new(),
            meters: MeterTable::new(),
            take_ports: false,
            left_alone: BTreeMap::new(),
            flows: HashMap::new(),
            slots: HashMap::new(),
            waiting: HashMap::new(),
            tables: BTreeSet::new(),
            leftovers: HashMap::new(),
            listed: HashMap::new(),
            listed_places: HashMap::new(),
            settled: false,
            packet_in: PacketIns::default(),
            inject_far: None,
            injection: Vec::new(),
            misses: misses::Misses::default(),
        })
    }

    /// Take the ports that hold filters switchd did not make, removing those filters
    /// (`take ports` in switchd.conf), rather than leave them alone. Set before the first
    /// ports.
    pub fn take_ports(&mut self, take: bool) {
        self.take_ports = take;
    }

    /// The ports left alone because they hold filters switchd did not make, by ifindex.
    pub fn left_alone(&self) -> &BTreeMap<u32, LeftAlone> {
        &self.left_alone
    }

    /// The bridge ports that carry this table's filters: `(ifindex, name)`.
    fn devices(&self) -> Vec<(u32, String)> {
        self.ports
            .bridge_ports()
            .filter(|(_, i, _)| !self.left_alone.contains_key(i))
            .map(|(_, i, n)| (i, n.to_string()))
            .collect()
    }

    fn translate(&self, spec: &FlowSpec) -> Result<Vec<Filter>, Refusal> {
        translate(spec, &self.ports, &self.meters, &self.left_alone)
    }

    /// Install one filter; the handle it got.
    fn install_one(&mut self, f: &Filter) -> Result<u32, KernelError> {
        let mut f = f.clone();
        let r = self.tc.install(std::slice::from_mut(&mut f)).pop();
        r.unwrap_or(Ok(())).map(|()| f.handle)
    }

    /// Replace the filter of `f`'s place that has `f`'s handle.
    fn replace_one(&mut self, f: &Filter) -> Result<(), KernelError> {
        self.tc
            .replace(std::slice::from_ref(f))
            .pop()
            .unwrap_or(Ok(()))
    }

    /// The filter that flow `id` (or [`INFRA`]) wants at `key` now, translated again.
    fn filter_of(&self, id: FlowId, key: &SlotKey) -> Option<Filter> {
        if id == INJECT {
            return self.injection.iter().find(|f| slot_key(f) == *key).cloned();
        }
        let filters: Vec<Filter> = if id == INFRA {
            self.tables
                .iter()
                .flat_map(|t| table_miss_filters(key.0, *t))
                .collect()
        } else {
            self.translate(&self.flows.get(&id)?.0).ok()?
        };
        filters.into_iter().find(|f| slot_key(f) == *key)
    }

    /// Make `f` the filter of its place for flow `id`.
    fn attach(&mut self, id: FlowId, f: &Filter) -> Result<Step, Refusal> {
        let key = slot_key(f);
        if let Some((owner, cookie, handle)) =
            self.slots.get(&key).map(|s| (s.owner, s.cookie, s.handle))
        {
            if self
                .filter_of(owner, &key)
                .is_some_and(|held| held.key != f.key)
            {
                return Err(Refusal::new(
                    FLOW_MOD_UNKNOWN,
                    format!(
                        "the filter on ifindex {} chain {} prio {} has a flower key whose \
                         64-bit hash equals that of flow {owner}'s filter there; \
                         this switchd cannot keep both",
                        f.ifindex, f.chain, f.prio
                    ),
                ));
            }
            let same = cookie == f.cookie;
            if !same {
                let mut nf = f.clone();
                nf.handle = handle;
                self.replace_one(&nf)
                    .map_err(|e| kernel_refusal("replace", &nf, &e))?;
            }
            if let Some(slot) = self.slots.get_mut(&key) {
                self.waiting.entry(key).or_default().push(slot.owner);
                slot.owner = id;
                slot.cookie = f.cookie;
            }
            return Ok(if same {
                Step::Shared(key)
            } else {
                Step::Replaced(key)
            });
        }
        // A leftover in the same place is adopted as it is when it has our cookie (the same
        // flow compiled to the same content), else (the flow changed while switchd was
        // away) replaced in place.
        let (handle, adopted) = match self.take_leftover(&key, &f.cookie) {
            Some((h, cookie)) if cookie == f.cookie => (h, Some(cookie)),
            Some((h, cookie)) => {
                let mut nf = f.clone();
                nf.handle = h;
                if let Err(e) = self.replace_one(&nf) {
                    self.leftovers.insert(key, (h, cookie));
                    return Err(kernel_refusal("replace", &nf, &e));
                }
                (h, None)
            }
            None => (
                self.install_one(f)
                    .map_err(|e| kernel_refusal("install", f, &e))?,
                None,
            ),
        };
        self.slots.insert(key, Slot::new(handle, f.cookie, id));
        Ok(Step::Created(key, adopted))
    }

    /// Flow `id` no longer wants the place `key`: give it to the previous holder or take
    /// the filter away.
    fn detach(&mut self, id: FlowId, key: &SlotKey) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let waiting = self.waiting.get_mut(key);
        if slot.owner != id {
            // Not the installed one.
            if let Some(w) = waiting {
                if let Some(at) = w.iter().rposition(|o| *o == id) {
                    w.remove(at);
                }
                if w.is_empty() {
                    self.waiting.remove(key);
                }
            }
            return;
        }
        let (handle, mine) = (slot.handle, slot.cookie);
        let prev = waiting.and_then(|w| w.pop());
        if self.waiting.get(key).is_some_and(Vec::is_empty) {
            self.waiting.remove(key);
        }
        let Some(prev) = prev else {
            self.slots.remove(key);
            self.remove_filters(vec![slot_filter_id(key, handle)]);
            return;
        };
        if let Some(slot) = self.slots.get_mut(key) {
            slot.owner = prev;
        }
        let Some(mut pf) = self.filter_of(prev, key) else {
            say!(
                self,
                Warn,
                "flow {prev} no longer translates to the filter on ifindex {} \
                 chain {} prio {}; flow {id}'s stays there",
                key.0,
                key.1,
                key.2
            );
            return;
        };
        pf.handle = handle;
        if pf.cookie != mine {
            if let Err(e) = self.replace_one(&pf) {
                say!(
                    self,
                    Warn,
                    "restoring the filter on ifindex {} chain {} prio {}: {e}",
                    pf.ifindex,
                    pf.chain,
                    pf.prio
                );
                return;
            }
        }
        if let Some(slot) = self.slots.get_mut(key) {
            slot.cookie = pf.cookie;
        }
    }

    fn remove_filters(&mut self, ids: Vec<FilterId>) {
        let res = self.tc.remove(&ids);
        for (fid, r) in ids.into_iter().zip(res) {
            match r {
                Ok(()) => {}
                // The device went and took its filters with it.
                Err(e) if e.errno == libc::ENOENT || e.errno == libc::ENODEV => {
                    say!(self, Debug, "removing {fid:?}: {e}")
                }
                Err(e) => say!(
                    self,
                    Warn,
                    "removing the filter on ifindex {} chain {} prio {} handle {}: {e}",
                    fid.ifindex,
                    fid.chain,
                    fid.prio,
                    fid.handle
                ),
            }
        }
    }

    fn undo(&mut self, id: FlowId, steps: Vec<Step>) {
        for s in steps.into_iter().rev() {
            match s {
                Step::Created(key, Some(cookie)) => {
                    if let Some(slot) = self.slots.remove(&key) {
                        self.leftovers.insert(key, (slot.handle, cookie));
                    }
                }
                Step::Created(key, None) | Step::Shared(key) | Step::Replaced(key) => {
                    self.detach(id, &key)
                }
            }
        }
    }

    /// Put `filters` in for flow `id`, all or none.
    fn attach_all(&mut self, id: FlowId, filters: &[Filter]) -> Result<Vec<SlotKey>, Refusal> {
        let mut steps = Vec::new();
        for f in filters {
            match self.attach(id, f) {
                Ok(s) => steps.push(s),
                Err(r) => {
                    self.undo(id, steps);
                    return Err(r);
                }
            }
        }
        Ok(filters.iter().map(slot_key).collect())
    }

    /// The table-miss filters of `tables` on every bridge port.
    fn ensure_tables(&mut self, tables: impl IntoIterator<Item = u8>) {
        let ports: Vec<u32> = self.devices().into_iter().map(|(i, _)| i).collect();
        for t in tables {
            self.tables.insert(t);
            for &ifindex in &ports {
                for f in table_miss_filters(ifindex, t) {
                    if self.slots.contains_key(&slot_key(&f)) {
                        continue;
                    }
                    if let Err(r) = self.attach(INFRA, &f) {
                        say!(self, Warn, "table-miss of table {t}: {r}");
                    }
                }
            }
        }
    }

    /// Flow `id` is to be `filters` now (the ports changed): add what is new, take away
    /// what is gone.
    fn retranslate(&mut self, id: FlowId) {
        let Some((spec, keys)) = self.flows.get(&id).cloned() else {
            return;
        };
        let filters = match self.translate(&spec) {
            Ok(f) => f,
            Err(r) => {
                say!(self, Warn, "flow {id} no longer translates: {r}");
                return;
            }
        };
        let wanted: HashMap<SlotKey, &Filter> = filters.iter().map(|f| (slot_key(f), f)).collect();
        let mut now = Vec::new();
        for k in keys {
            if !wanted.contains_key(&k) {
                self.detach(id, &k);
            }
        }
        for (k, f) in wanted {
            if let Some((owner, cookie, handle)) =
                self.slots.get(&k).map(|s| (s.owner, s.cookie, s.handle))
            {
                let earlier = self.waiting.get(&k).is_some_and(|w| w.contains(&id));
                if owner == id {
                    if cookie != f.cookie {
                        // Same place, new content (a FLOOD with one more port): in place.
                        let mut nf = f.clone();
                        nf.handle = handle;
                        match self.replace_one(&nf) {
                            Err(e) => say!(
                                self,
                                Warn,
                                "flow {id}: {}",
                                kernel_refusal("replace", &nf, &e)
                            ),
                            Ok(()) => {
                                if let Some(s) = self.slots.get_mut(&k) {
                                    s.cookie = nf.cookie;
                                }
                            }
                        }
                    }
                    now.push(k);
                    continue;
                }
                if earlier {
                    // Not installed now; translated again when its turn comes.
                    now.push(k);
                    continue;
                }
            }
            match self.attach(id, f) {
                Ok(_) => now.push(k),
                Err(r) => say!(self, Warn, "flow {id} on ifindex {}: {r}", f.ifindex),
            }
        }
        if let Some(e) = self.flows.get_mut(&id) {
            e.1 = now.into_boxed_slice();
        }
    }
}

impl Table {
    /// Every flow's counters, from a terse or a full dump of each port.
    fn read_counters(&mut self, now: Instant, terse: bool) -> HashMap<FlowId, Counters> {
        let by_handle: HashMap<FilterId, FlowId> = self
            .slots
            .iter()
            .map(|(k, s)| (slot_filter_id(k, s.handle), s.owner))
            .collect();
        let mut out: HashMap<FlowId, Counters> = HashMap::new();
        for (ifindex, pname) in self.devices() {
            let dump = if terse {
                self.tc.dump_terse(ifindex)
            } else {
                self.tc.dump(ifindex).map(|d| {
                    d.into_iter()
                        .map(|i| Listed {
                            id: i.id,
                            cookie: i.cookie,
                            packets: i.packets,
                            bytes: i.bytes,
                            last_used: i.last_used,
                        })
                        .collect()
                })
            };
            let dump = match dump {
                Ok(d) => d,
                Err(e) => {
                    say!(self, Warn, "reading the filters of {pname}: {e}");
                    continue;
                }
            };
            for i in dump {
                let Some(&id) = by_handle.get(&i.id) else {
                    continue;
                };
                if id == INFRA {
                    if let Some(t) = misses::Misses::table_of(i.id.chain, i.id.prio) {
                        self.misses.note(ifindex, t, i.packets);
                    }
                    continue;
                }
                let c = out.entry(id).or_default();
                c.packets += i.packets;
                c.bytes += i.bytes;
                if let Some(ago) = i.last_used.filter(|_| i.packets > 0) {
                    let at = now.checked_sub(ago);
                    c.last_used = c.last_used.max(at);
                }
            }
        }
        out
    }
}

impl Backend for Table {
    fn notes(&self) -> Vec<String> {
        self.left_alone
            .values()
            .map(|p| {
                format!(
                    "port {} left alone: {} flower filters switchd did not make (take ports)",
                    p.name, p.filters
                )
            })
            .collect()
    }

    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        let filters = self.translate(flow)?;
        let tables: BTreeSet<u8> = filters
            .iter()
            .flat_map(tables_of)
            .filter(|t| !self.tables.contains(t))
            .collect();
        self.ensure_tables(tables);
        let keys = self.attach_all(id, &filters)?;
        self.flows
            .insert(id, (flow.clone(), keys.into_boxed_slice()));
        self.packet_in.note(id, flow);
        Ok(())
    }

    fn install_many(&mut self, flows: &[(FlowId, &FlowSpec)]) -> Vec<Result<(), Refusal>> {
        self.install_batch(flows)
    }

    fn set_meters(&mut self, meters: &MeterTable) {
        self.meters = meters.clone();
    }

    fn packet_in_flow(&self, group: u32) -> Option<PacketInFlow> {
        let v = self.packet_in.by_group.get(&group)?;
        v.last().map(|(_, p)| *p)
    }

    fn remove(&mut self, id: FlowId) {
        self.packet_in.forget(id);
        if let Some((_, keys)) = self.flows.remove(&id) {
            for k in keys.iter().rev() {
                self.detach(id, k);
            }
        }
    }

    /// From terse dumps: no time of last use (the flow table takes a count that grew for
    /// use now).
    fn counters(&mut self, now: Instant) -> HashMap<FlowId, Counters> {
        self.read_counters(now, true)
    }

    /// From full dumps, which carry the actions' time of last use: an idle timeout runs
    /// from the last packet, not from the read that saw the count grow.
    fn counters_with_last_use(&mut self, now: Instant) -> HashMap<FlowId, Counters> {
        self.read_counters(now, false)
    }

    fn table_misses(&self) -> Option<Vec<(u8, u64)>> {
        Some(self.misses.totals())
    }

    fn set_ports(&mut self, ports: &PortMap) {
        let new = ports.clone();
        let before: BTreeMap<u32, u32> =
            self.ports.bridge_ports().map(|(p, i, _)| (i, p)).collect();
        let appeared: Vec<(u32, String)> = new
            .bridge_ports()
            .filter(|(_, i, _)| !before.contains_key(i))
            .map(|(_, i, n)| (i, n.to_string()))
            .collect();
        let vanished: Vec<u32> = before
            .keys()
            .copied()
            .filter(|i| new.ofport(*i).is_none())
            .collect();
        self.ports = new;
        for ifindex in &vanished {
            self.left_alone.remove(ifindex);
        }
        for (ifindex, pname) in &appeared {
            if let Err(e) = self.tc.ensure_clsact(*ifindex) {
                say!(self, Warn, "clsact on {pname}: {e}");
                continue;
            }
            self.scan_port(*ifindex, pname, self.take_ports);
        }
        // The table-miss filters of a port that left the bridge go with it.
        for ifindex in &vanished {
            let keys: Vec<SlotKey> = self
                .slots
                .keys()
                .filter(|k| k.0 == *ifindex)
                .cloned()
                .collect();
            for k in keys {
                self.detach(INFRA, &k);
            }
        }
        let mut tables = self.tables.clone();
        tables.insert(0);
        self.ensure_tables(tables);
        let mut ids: Vec<FlowId> = self.flows.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.retranslate(id);
        }
        if self.settled {
            self.drop_leftovers();
        }
    }

    fn remove_leftovers(&mut self) {
        self.drop_leftovers();
    }

    fn set_injection(&mut self, far: u32, far_name: &str, filters: &[Filter]) -> bool {
        if self.inject_far != Some(far) {
            if let Err(e) = self.tc.ensure_clsact(far) {
                say!(self, Warn, "clsact on {far_name}: {e}");
                return false;
            }
            // The far end is the switch's own: filters it did not make go.
            self.scan_port(far, far_name, true);
            self.inject_far = Some(far);
        }
        let before: Vec<SlotKey> = self.injection.iter().map(slot_key).collect();
        self.injection = filters.to_vec();
        let mut ok = true;
        for f in filters {
            let k = slot_key(f);
            match self.slots.get(&k).map(|s| (s.owner, s.cookie, s.handle)) {
                Some((INJECT, cookie, _)) if cookie == f.cookie => {}
                Some((INJECT, _, handle)) => {
                    // Same place, new content (a port's new ifindex): in place.
                    let mut nf = f.clone();
                    nf.handle = handle;
                    match self.replace_one(&nf) {
                        Ok(()) => {
                            if let Some(s) = self.slots.get_mut(&k) {
                                s.cookie = nf.cookie;
                            }
                        }
                        Err(e) => {
                            ok = false;
                            say!(
                                self,
                                Warn,
                                "the kernel refused an injection filter: {}",
                                kernel_refusal("replace", &nf, &e)
                            );
                        }
                    }
                }
                _ => {
                    if let Err(r) = self.attach(INJECT, f) {
                        ok = false;
                        say!(self, Warn, "the kernel refused an injection filter: {r}");
                    }
                }
            }
        }
        let wanted: BTreeSet<SlotKey> = filters.iter().map(slot_key).collect();
        for k in before.iter().filter(|k| !wanted.contains(k)) {
            self.detach(INJECT, k);
        }
        self.drop_leftovers_of(far);
        ok
    }

    fn release(&mut self) {
        let ids: Vec<FlowId> = self.flows.keys().copied().collect();
        for id in ids {
            self.remove(id);
        }
        let keys: Vec<SlotKey> = self.slots.keys().cloned().collect();
        for k in keys {
            self.detach(INFRA, &k);
        }
    }
}
