//! The backend of a local switch's flow table over tc-datapath: each flow becomes the
//! flower filters that `tc_datapath::translate` makes of it, on the clsact ingress of the
//! bridge's ports.
//!
//! The [`Backend`] calls are synchronous (the agent must know a FLOW_MOD's outcome before
//! the next message), and the process runs a current-thread runtime, so the netlink socket
//! ([`tc_datapath::Tc`], which is async) lives on a thread of its own with its own
//! current-thread runtime: a kernel call is a [`Request`] sent over a channel, executed
//! there, and answered over a reply channel.
//!
//! Filters are kept by their place in the kernel, a [`SlotKey`] (device, chain, prio,
//! flower key): flower holds one filter per key in a prio. A flow that needs a place that
//! another flow holds (a MODIFY installs the new version before the old one goes) takes it
//! over, by replacing the filter in place when the content differs; the previous holder
//! gets it back if the newer one goes first. Counters are read from dumps and credited to
//! the flow that holds each filter.
//!
//! Hitless restart: a port seen for the first time is dumped tersely (place, cookie and
//! counters; no flower keys, which are most of the kernel's work and of the bytes), and its
//! filters are leftovers. A filter that the switch wants and finds among the leftovers (same
//! device, chain, prio and cookie: the same flow compiled to the same content, key
//! included) is adopted as it is, without touching the kernel. Only where a wanted filter
//! does not find its cookie in a (device, chain, prio) that still has unclaimed leftovers is
//! that place dumped in full, to learn their keys: a leftover with the wanted key is then
//! replaced in place as before. [`Backend::remove_leftovers`], once the configured flows
//! are in, removes the rest. Counters come from terse dumps too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc;
use std::time::Instant;

use tc_datapath::filter::FlowerKey;
use tc_datapath::prio::{table_miss_filters, OVERFLOW_CHAIN_BASE};
use tc_datapath::{Filter, FilterId, Installed, KernelError, Listed, TcAction, Verdict};

use super::backend::{
    Backend, Counters, FlowId, FlowSpec, MeterTable, PacketInFlow, PortMap, Refusal,
};
use crate::{log_debug, log_info, log_warn};

/// The owner of the table-miss filters (the flow table never hands out this id).
const INFRA: FlowId = u64::MAX;

/// OFPET_FLOW_MOD_FAILED / OFPFMFC_UNKNOWN: a kernel refusal is not one of the causes that
/// OpenFlow names, except a full table (OFPFMFC_TABLE_FULL) when the kernel is out of room.
use ofproto::v13::errors::flow_mod_failed::{
    TABLE_FULL as FLOW_MOD_TABLE_FULL, UNKNOWN as FLOW_MOD_UNKNOWN,
};

/// One kernel call for the TC thread, with the channel its answer goes back on.
enum Request {
    Clsact(u32, mpsc::SyncSender<Result<(), KernelError>>),
    /// Install one filter; the answer is the handle it got.
    Install(Box<Filter>, mpsc::SyncSender<Result<u32, KernelError>>),
    /// Install many filters, pipelined; the answer is them with the handles they got, and
    /// one result each.
    InstallMany(Vec<Filter>, mpsc::SyncSender<InstalledMany>),
    /// Replace the filter of the same place that has the filter's handle.
    Replace(Box<Filter>, mpsc::SyncSender<Result<(), KernelError>>),
    Remove(
        Vec<FilterId>,
        mpsc::SyncSender<Vec<Result<(), KernelError>>>,
    ),
    /// Every filter of a device in full.
    Dump(u32, mpsc::SyncSender<Result<Vec<Installed>, KernelError>>),
    /// The filters of one (device, chain, prio) in full.
    DumpPlace(Place, mpsc::SyncSender<Result<Vec<Installed>, KernelError>>),
    /// Every filter of a device, tersely.
    DumpTerse(u32, mpsc::SyncSender<Result<Vec<Listed>, KernelError>>),
}

type InstalledMany = (Vec<Filter>, Vec<Result<(), KernelError>>);

/// The channel to the TC thread. Dropping it ends the thread.
struct Kernel {
    tx: mpsc::Sender<Request>,
}

fn gone() -> KernelError {
    KernelError {
        errno: libc::EIO,
        message: "the TC thread of this local switch is gone".into(),
    }
}

impl Kernel {
    /// Start the thread and open its netlink socket.
    fn start(name: &str) -> std::io::Result<Kernel> {
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<std::io::Result<()>>(1);
        std::thread::Builder::new()
            .name(format!("tc {name}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut tc = match tc_datapath::Tc::new() {
                        Ok(tc) => tc,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    // Blocking here is fine: nothing else runs on this runtime.
                    while let Ok(req) = rx.recv() {
                        serve(&mut tc, req).await;
                    }
                });
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the TC thread ended at its start"))??;
        Ok(Kernel { tx })
    }

    fn call<T>(&self, req: impl FnOnce(mpsc::SyncSender<T>) -> Request) -> Option<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx.send(req(reply)).ok()?;
        answer.recv().ok()
    }

    fn clsact(&self, ifindex: u32) -> Result<(), KernelError> {
        self.call(|r| Request::Clsact(ifindex, r))
            .unwrap_or_else(|| Err(gone()))
    }

    fn install(&self, f: &Filter) -> Result<u32, KernelError> {
        self.call(|r| Request::Install(Box::new(f.clone()), r))
            .unwrap_or_else(|| Err(gone()))
    }

    fn install_many(&self, filters: Vec<Filter>) -> InstalledMany {
        let n = filters.len();
        let (tx, rx) = mpsc::sync_channel(1);
        if let Err(mpsc::SendError(Request::InstallMany(filters, _))) =
            self.tx.send(Request::InstallMany(filters, tx))
        {
            return (filters, vec![Err(gone()); n]);
        }
        rx.recv()
            .unwrap_or_else(|_| (Vec::new(), vec![Err(gone()); n]))
    }

    fn replace(&self, f: &Filter) -> Result<(), KernelError> {
        self.call(|r| Request::Replace(Box::new(f.clone()), r))
            .unwrap_or_else(|| Err(gone()))
    }

    fn remove(&self, ids: Vec<FilterId>) -> Vec<Result<(), KernelError>> {
        let n = ids.len();
        self.call(|r| Request::Remove(ids, r))
            .unwrap_or_else(|| vec![Err(gone()); n])
    }

    fn dump(&self, ifindex: u32) -> Result<Vec<Installed>, KernelError> {
        self.call(|r| Request::Dump(ifindex, r))
            .unwrap_or_else(|| Err(gone()))
    }

    fn dump_place(&self, place: Place) -> Result<Vec<Installed>, KernelError> {
        self.call(|r| Request::DumpPlace(place, r))
            .unwrap_or_else(|| Err(gone()))
    }

    fn dump_terse(&self, ifindex: u32) -> Result<Vec<Listed>, KernelError> {
        self.call(|r| Request::DumpTerse(ifindex, r))
            .unwrap_or_else(|| Err(gone()))
    }
}

/// Execute one request on the TC thread. A reply channel whose caller went away is
/// ignored.
async fn serve(tc: &mut tc_datapath::Tc, req: Request) {
    match req {
        Request::Clsact(i, r) => {
            let _ = r.send(tc.ensure_clsact(i).await);
        }
        Request::Install(mut f, r) => {
            let res = tc.install(std::slice::from_mut(&mut *f)).await.pop();
            let _ = r.send(res.unwrap_or(Ok(())).map(|()| f.handle));
        }
        Request::InstallMany(mut fs, r) => {
            let res = tc.install(&mut fs).await;
            let _ = r.send((fs, res));
        }
        Request::Replace(f, r) => {
            let res = tc.replace(std::slice::from_ref(&*f)).await.pop();
            let _ = r.send(res.unwrap_or(Ok(())));
        }
        Request::Remove(ids, r) => {
            let _ = r.send(tc.remove(&ids).await);
        }
        Request::Dump(i, r) => {
            let _ = r.send(tc.dump(i).await);
        }
        Request::DumpPlace((i, chain, prio), r) => {
            let _ = r.send(tc.dump_place(i, chain, prio).await);
        }
        Request::DumpTerse(i, r) => {
            let _ = r.send(tc.dump_terse(i).await);
        }
    }
}

/// Where a filter sits: flower keeps one filter per key in a (device, chain, prio). The
/// flower key is kept as a 64-bit hash ([`key_hash`]), not as the 232-byte `FlowerKey`:
/// a local switch holds hundreds of thousands of places. Two different keys with the same
/// hash in one (device, chain, prio) are caught when the second one would share the
/// first's place ([`TcBackend::attach`] compares the real keys then) and refused.
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
/// `cookie`). Flows that wanted the place earlier wait in [`TcBackend::waiting`] and get
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

/// The tc-datapath backend of one local switch.
pub struct TcBackend {
    name: String,
    kernel: Kernel,
    ports: tc_datapath::PortMap,
    meters: tc_datapath::MeterTable,
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
        let Ok(hash) = spec.with_decoded(tc_datapath::cookie::flow_hash) else {
            return;
        };
        let g = tc_datapath::psample::group_of(hash);
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

impl std::fmt::Debug for TcBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcBackend")
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

/// The filters of `spec` with these ports and meters.
fn translate(
    spec: &FlowSpec,
    ports: &tc_datapath::PortMap,
    meters: &tc_datapath::MeterTable,
) -> Result<Vec<Filter>, Refusal> {
    spec.with_decoded(|flow| tc_datapath::translate(flow, ports, meters))?
        .map_err(|r| Refusal::new(r.error, r.reason))
}

fn tc_ports(ports: &PortMap) -> tc_datapath::PortMap {
    let mut m = tc_datapath::PortMap::new();
    for (no, b) in ports {
        m.insert(*no, b.ifindex, &b.name);
    }
    m
}

fn tc_meters(meters: &MeterTable) -> Result<tc_datapath::MeterTable, Refusal> {
    let mut m = tc_datapath::MeterTable::new();
    for mm in meters.values() {
        let mut mm = mm.clone();
        mm.command = ofproto::v13::MeterModCommand::Add;
        m.apply(&mm).map_err(|r| Refusal::new(r.error, r.reason))?;
    }
    Ok(m)
}

impl TcBackend {
    /// Start the TC thread of local switch `name`.
    pub fn start(name: &str) -> std::io::Result<TcBackend> {
        Ok(TcBackend {
            name: name.to_string(),
            kernel: Kernel::start(name)?,
            ports: tc_datapath::PortMap::new(),
            meters: tc_datapath::MeterTable::new(),
            flows: HashMap::new(),
            slots: HashMap::new(),
            waiting: HashMap::new(),
            tables: BTreeSet::new(),
            leftovers: HashMap::new(),
            listed: HashMap::new(),
            listed_places: HashMap::new(),
            settled: false,
            packet_in: PacketIns::default(),
        })
    }

    fn translate(&self, spec: &FlowSpec) -> Result<Vec<Filter>, Refusal> {
        translate(spec, &self.ports, &self.meters)
    }

    /// The filter that flow `id` (or [`INFRA`]) wants at `key` now, translated again.
    fn filter_of(&self, id: FlowId, key: &SlotKey) -> Option<Filter> {
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
                self.kernel
                    .replace(&nf)
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
                if let Err(e) = self.kernel.replace(&nf) {
                    self.leftovers.insert(key, (h, cookie));
                    return Err(kernel_refusal("replace", &nf, &e));
                }
                (h, None)
            }
            None => (
                self.kernel
                    .install(f)
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
            log_warn!(
                "local switch {}: flow {prev} no longer translates to the filter on ifindex {} \
                 chain {} prio {}; flow {id}'s stays there",
                self.name,
                key.0,
                key.1,
                key.2
            );
            return;
        };
        pf.handle = handle;
        if pf.cookie != mine {
            if let Err(e) = self.kernel.replace(&pf) {
                log_warn!(
                    "local switch {}: restoring the filter on ifindex {} chain {} prio {}: {e}",
                    self.name,
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

    fn remove_filters(&self, ids: Vec<FilterId>) {
        for (fid, r) in ids.clone().into_iter().zip(self.kernel.remove(ids)) {
            match r {
                Ok(()) => {}
                // The device went and took its filters with it.
                Err(e) if e.errno == libc::ENOENT || e.errno == libc::ENODEV => {
                    log_debug!("local switch {}: removing {fid:?}: {e}", self.name)
                }
                Err(e) => log_warn!(
                    "local switch {}: removing the filter on ifindex {} chain {} prio {} handle {}: {e}",
                    self.name,
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

    /// Take the leftover at `key` for a filter whose cookie is `cookie`: the listed one of
    /// its (device, chain, prio) with that cookie (same cookie, same key), else the one
    /// with its key, which may have another cookie (learnt by a dump of the place).
    fn take_leftover(&mut self, key: &SlotKey, cookie: &Cookie) -> Option<(u32, Cookie)> {
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
    fn resolve_unless_listed(&mut self, key: &SlotKey, cookie: &Cookie) {
        let place = place_of(key);
        if self.listed.contains_key(&(place, *cookie)) || !self.listed_places.contains_key(&place) {
            return;
        }
        self.listed_places.remove(&place);
        match self.kernel.dump_place(place) {
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
            Err(e) => log_warn!(
                "local switch {}: reading the filters of ifindex {} chain {} prio {}: {e}",
                self.name,
                place.0,
                place.1,
                place.2
            ),
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
        let ports: Vec<u32> = self.ports.bridge_ports().map(|(_, i, _)| i).collect();
        for t in tables {
            self.tables.insert(t);
            for &ifindex in &ports {
                for f in table_miss_filters(ifindex, t) {
                    if self.slots.contains_key(&slot_key(&f)) {
                        continue;
                    }
                    if let Err(r) = self.attach(INFRA, &f) {
                        log_warn!("local switch {}: table-miss of table {t}: {r}", self.name);
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
                log_warn!(
                    "local switch {}: flow {id} no longer translates: {r}",
                    self.name
                );
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
                        match self.kernel.replace(&nf) {
                            Err(e) => log_warn!(
                                "local switch {}: flow {id}: {}",
                                self.name,
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
                Err(r) => log_warn!(
                    "local switch {}: flow {id} on ifindex {}: {r}",
                    self.name,
                    f.ifindex
                ),
            }
        }
        if let Some(e) = self.flows.get_mut(&id) {
            e.1 = now.into_boxed_slice();
        }
    }
}

/// Flows whose new filters go to the kernel together ([`TcBackend::install_many`]).
#[derive(Default)]
struct Batch {
    filters: Vec<Filter>,
    keys: std::collections::HashSet<SlotKey>,
    flows: Vec<BatchedFlow>,
}

/// Per flow of a [`Batch`]: its index in the request, the leftovers it adopted, its
/// filters in `Batch::filters`, and all its places.
type BatchedFlow = (usize, Vec<Step>, std::ops::Range<usize>, Vec<SlotKey>);

impl TcBackend {
    /// Install the batch's filters and account for each flow of it.
    fn commit(
        &mut self,
        batch: &mut Batch,
        flows: &[(FlowId, &FlowSpec)],
        out: &mut [Result<(), Refusal>],
    ) {
        batch.keys.clear();
        let (filters, res) = if batch.filters.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.kernel.install_many(std::mem::take(&mut batch.filters))
        };
        for (i, adopted, range, keys) in std::mem::take(&mut batch.flows) {
            let (id, spec) = flows[i];
            let refused = range.clone().find_map(|j| match res.get(j) {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(match filters.get(j) {
                    Some(f) => kernel_refusal("install", f, e),
                    None => Refusal::new(FLOW_MOD_UNKNOWN, e.to_string()),
                }),
                None => Some(Refusal::new(FLOW_MOD_UNKNOWN, gone().to_string())),
            });
            match refused {
                None => {
                    for f in &filters[range] {
                        self.slots
                            .insert(slot_key(f), Slot::new(f.handle, f.cookie, id));
                    }
                    self.flows
                        .insert(id, (spec.clone(), keys.into_boxed_slice()));
                }
                Some(r) => {
                    let ids: Vec<FilterId> = range
                        .filter(|&j| matches!(res.get(j), Some(Ok(()))))
                        .filter_map(|j| filters.get(j).map(Filter::id))
                        .collect();
                    if !ids.is_empty() {
                        self.remove_filters(ids);
                    }
                    self.undo(id, adopted);
                    out[i] = Err(r);
                }
            }
        }
    }
}

impl TcBackend {
    /// Every flow's counters, from a terse or a full dump of each port.
    fn read_counters(&mut self, now: Instant, terse: bool) -> HashMap<FlowId, Counters> {
        let by_handle: HashMap<FilterId, FlowId> = self
            .slots
            .iter()
            .map(|(k, s)| (slot_filter_id(k, s.handle), s.owner))
            .collect();
        let mut out: HashMap<FlowId, Counters> = HashMap::new();
        let ports: Vec<(u32, String)> = self
            .ports
            .bridge_ports()
            .map(|(_, i, n)| (i, n.to_string()))
            .collect();
        for (ifindex, pname) in ports {
            let dump = if terse {
                self.kernel.dump_terse(ifindex)
            } else {
                self.kernel.dump(ifindex).map(|d| {
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
                    log_warn!(
                        "local switch {}: reading the filters of {pname}: {e}",
                        self.name
                    );
                    continue;
                }
            };
            for i in dump {
                let Some(&id) = by_handle.get(&i.id) else {
                    continue;
                };
                if id == INFRA {
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

impl Backend for TcBackend {
    fn install(&mut self, id: FlowId, flow: &FlowSpec, meters: &MeterTable) -> Result<(), Refusal> {
        self.meters = tc_meters(meters)?;
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

    /// Each flow as `install` would, but the new filters of the flows that need nothing
    /// but new places (or leftovers with their cookie) go to the kernel in one pipelined
    /// batch; a flow one of whose filters the kernel refuses gets that refusal, and its
    /// other filters are taken away again.
    fn install_many(
        &mut self,
        flows: &[(FlowId, &FlowSpec)],
        meters: &MeterTable,
    ) -> Vec<Result<(), Refusal>> {
        match tc_meters(meters) {
            Ok(m) => self.meters = m,
            Err(r) => return vec![Err(r); flows.len()],
        }
        let mut out: Vec<Result<(), Refusal>> = vec![Ok(()); flows.len()];
        let mut translated: Vec<(usize, Vec<Filter>)> = Vec::with_capacity(flows.len());
        let (ports, meters) = (&self.ports, &self.meters);
        let all = super::par::map(flows, |(_, spec)| translate(spec, ports, meters));
        for (i, r) in all.into_iter().enumerate() {
            match r {
                Ok(f) => translated.push((i, f)),
                Err(r) => out[i] = Err(r),
            }
        }
        let tables: BTreeSet<u8> = translated
            .iter()
            .flat_map(|(_, fs)| fs.iter().flat_map(tables_of))
            .filter(|t| !self.tables.contains(t))
            .collect();
        self.ensure_tables(tables);
        let mut batch = Batch::default();
        for (i, filters) in translated {
            let (id, spec) = flows[i];
            let keys: Vec<SlotKey> = filters.iter().map(slot_key).collect();
            for (f, k) in filters.iter().zip(&keys) {
                self.resolve_unless_listed(k, &f.cookie);
            }
            let distinct: std::collections::HashSet<&SlotKey> = keys.iter().collect();
            let fresh = distinct.len() == keys.len()
                && filters.iter().zip(&keys).all(|(f, k)| {
                    !self.slots.contains_key(k)
                        && !batch.keys.contains(k)
                        && (self.listed.contains_key(&(place_of(k), f.cookie))
                            || self.leftovers.get(k).is_none_or(|(_, c)| *c == f.cookie))
                });
            if !fresh {
                self.commit(&mut batch, flows, &mut out);
                out[i] = self.attach_all(id, &filters).map(|keys| {
                    drop(
                        self.flows
                            .insert(id, (spec.clone(), keys.into_boxed_slice())),
                    )
                });
                continue;
            }
            let start = batch.filters.len();
            let mut adopted = Vec::new();
            for (f, k) in filters.into_iter().zip(&keys) {
                match self.take_leftover(k, &f.cookie) {
                    Some((h, cookie)) => {
                        self.slots.insert(*k, Slot::new(h, cookie, id));
                        adopted.push(Step::Created(*k, Some(cookie)));
                    }
                    None => {
                        batch.keys.insert(*k);
                        batch.filters.push(f);
                    }
                }
            }
            batch
                .flows
                .push((i, adopted, start..batch.filters.len(), keys));
        }
        self.commit(&mut batch, flows, &mut out);
        for ((id, spec), r) in flows.iter().zip(&out) {
            if r.is_ok() {
                self.packet_in.note(*id, spec);
            }
        }
        out
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

    fn set_ports(&mut self, ports: &PortMap) {
        let new = tc_ports(ports);
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
        for (ifindex, pname) in &appeared {
            if let Err(e) = self.kernel.clsact(*ifindex) {
                log_warn!("local switch {}: clsact on {pname}: {e}", self.name);
                continue;
            }
            let started = Instant::now();
            match self.kernel.dump_terse(*ifindex) {
                Ok(d) => {
                    let dumped = started.elapsed();
                    let mut n = 0;
                    for i in d {
                        match i.cookie {
                            Some(c) => {
                                let place = (i.id.ifindex, i.id.chain, i.id.prio);
                                if self.listed.insert((place, c), i.id.handle).is_none() {
                                    *self.listed_places.entry(place).or_default() += 1;
                                }
                                n += 1;
                            }
                            // Not ours (no cookie): it would disturb our flows.
                            None => self.remove_filters(vec![i.id]),
                        }
                    }
                    if n > 0 {
                        log_info!(
                            "local switch {}: {n} filters found on {pname} (terse dump {} ms, listed {} ms)",
                            self.name,
                            dumped.as_millis(),
                            (started.elapsed() - dumped).as_millis()
                        );
                    }
                }
                Err(e) => log_warn!(
                    "local switch {}: reading the filters of {pname}: {e}",
                    self.name
                ),
            }
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
            self.remove_leftovers();
        }
    }

    fn remove_leftovers(&mut self) {
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
        log_info!(
            "local switch {}: removing {} filters that no flow wants",
            self.name,
            ids.len()
        );
        self.remove_filters(ids);
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
