//! The flow tables of a local switch, with OpenFlow 1.3's semantics (spec 6.4 and 7.3.4):
//! ADD (an identical match and priority replaces, CHECK_OVERLAP, RESET_COUNTS), MODIFY and
//! MODIFY_STRICT (cookie filter, counters kept), DELETE and DELETE_STRICT (cookie filter,
//! out_port, out_group, every table), idle and hard timeouts, meters.
//!
//! Every change goes through the [`Backend`]; a refusal there becomes the request's
//! OFPT_ERROR and leaves the table (and the kernel) as they were. Matches are compared in a
//! normal form ([`MatchKey`]): per field, the value with the mask applied and the mask, an
//! exact field having a mask of all ones.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use ofproto::v13::errors::{
    bad_action, bad_instruction, bad_request, flow_mod_failed, meter_mod_failed,
};
use ofproto::v13::{self, flow::flow_mod_flags as ff, port, FlowModCommand, Instruction};

use tc_datapath::{Backend, Counters, FlowId, FlowSpec, MeterTable, Refusal};

/// The most entries one switch holds, over all its tables (OFPFMFC_TABLE_FULL beyond).
pub(crate) const MAX_ENTRIES: usize = 262_144;

mod select;
pub(crate) use select::{MatchKey, Selector};

/// The index's hash of (table, priority, match). `DefaultHasher::new()` has fixed keys,
/// so equal inputs hash alike for the life of the process (nothing keeps it longer).
fn index_hash(table: u8, priority: u16, key: &MatchKey) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (table, priority, key).hash(&mut h);
    h.finish()
}

/// One entry of a flow table.
#[derive(Debug, Clone)]
pub struct FlowEntry {
    /// The backend's name for the installed version of this entry.
    pub(crate) id: FlowId,
    pub(crate) spec: FlowSpec,
    pub(crate) idle_timeout: u16,
    pub(crate) hard_timeout: u16,
    pub(crate) flags: u16,
    /// When the entry was added (a MODIFY keeps it): duration and hard timeout count
    /// from here.
    pub(crate) added: Instant,
    /// Counters of earlier installed versions of this entry (a MODIFY reinstalls).
    base: (u64, u64),
    /// The backend's counters of the current version, as last read.
    seen: Counters,
    /// The last time the entry was known to be used (at least `added`).
    last_used: Instant,
}

impl FlowEntry {
    /// A new entry `id` for the ADD `fm` (its compact form `spec`), added `now`.
    fn new(id: FlowId, spec: FlowSpec, fm: &v13::FlowMod, now: Instant) -> FlowEntry {
        FlowEntry {
            id,
            spec,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            flags: fm.flags,
            added: now,
            base: (0, 0),
            seen: Counters::default(),
            last_used: now,
        }
    }

    pub(crate) fn packets(&self) -> u64 {
        self.base.0 + self.seen.packets
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.base.1 + self.seen.bytes
    }

    /// Whether the entry outputs to `port` (`ANY`: always), in any apply or write actions
    /// (7.3.4.2: the out_port filter).
    pub(crate) fn outputs_to(&self, p: u32) -> bool {
        p == port::ANY
            || actions(&self.spec.instructions())
                .any(|a| matches!(a, v13::Action::Output { port, .. } if *port == p))
    }

    /// Whether the entry forwards to `group` (`ANY`: always).
    pub(crate) fn outputs_to_group(&self, group: u32) -> bool {
        group == v13::OFPG_ANY
            || actions(&self.spec.instructions())
                .any(|a| matches!(a, v13::Action::Group(g) if *g == group))
    }

    /// Whether meter `id` bounds this entry: its meter instruction, or OFPM_CONTROLLER for
    /// an entry that outputs to CONTROLLER.
    fn uses_meter(&self, id: u32) -> bool {
        if id == v13::OFPM_CONTROLLER {
            tc_datapath::PacketInFlow::of(&self.spec).is_some()
        } else {
            self.meter() == Some(id)
        }
    }

    fn meter(&self) -> Option<u32> {
        self.spec.instructions().iter().find_map(|i| match i {
            Instruction::Meter(m) => Some(*m),
            _ => None,
        })
    }

    /// The entry's match in normal form (computed: entries do not keep it).
    pub(crate) fn key(&self) -> MatchKey {
        MatchKey::of_wire(self.spec.match_wire())
    }

    fn idle_deadline(&self) -> Option<Instant> {
        (self.idle_timeout != 0)
            .then(|| self.last_used + Duration::from_secs(self.idle_timeout.into()))
    }

    fn hard_deadline(&self) -> Option<Instant> {
        (self.hard_timeout != 0).then(|| self.added + Duration::from_secs(self.hard_timeout.into()))
    }

    /// Take in the backend's latest counters for this entry.
    fn observe(&mut self, c: Counters, now: Instant) {
        if c.packets > self.seen.packets {
            // A backend that knows no `lastused` still shows use by a count that grew.
            self.last_used = self.last_used.max(c.last_used.unwrap_or(now));
        } else if let Some(t) = c.last_used {
            self.last_used = self.last_used.max(t);
        }
        self.seen = c;
    }
}

fn actions(instructions: &[Instruction]) -> impl Iterator<Item = &v13::Action> + '_ {
    instructions.iter().flat_map(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => &a[..],
        _ => &[],
    })
}

/// An entry that left the table, for FLOW_REMOVED (sent if its SEND_FLOW_REM flag is set).
#[derive(Debug, Clone)]
pub struct RemovedFlow {
    pub(crate) entry: FlowEntry,
    /// [`removed`]
    pub(crate) reason: u8,
}

impl RemovedFlow {
    /// The FLOW_REMOVED message (7.4.2) for this entry.
    pub(crate) fn message(&self, now: Instant) -> v13::FlowRemoved {
        let e = &self.entry;
        let d = now.saturating_duration_since(e.added);
        v13::FlowRemoved {
            cookie: e.spec.cookie,
            priority: e.spec.priority,
            reason: self.reason,
            table_id: e.spec.table_id,
            duration_sec: d.as_secs() as u32,
            duration_nsec: d.subsec_nanos(),
            idle_timeout: e.idle_timeout,
            hard_timeout: e.hard_timeout,
            packet_count: e.packets(),
            byte_count: e.bytes(),
            match_: e.spec.match_(),
        }
    }

    pub(crate) fn wants_message(&self) -> bool {
        self.entry.flags & ff::SEND_FLOW_REM != 0
    }
}

// Here, not in select.rs, so that select.rs needs nothing from this file.
impl Selector {
    fn selects(&self, e: &FlowEntry) -> bool {
        (self.table_id == v13::OFPTT_ALL || self.table_id == e.spec.table_id)
            && (e.spec.cookie & self.cookie_mask) == (self.cookie & self.cookie_mask)
            && if self.strict {
                e.spec.priority == self.priority && e.key() == self.key
            } else {
                // The empty match selects everything: no need to compute the key.
                self.key.0.is_empty() || e.key().within(&self.key)
            }
            && e.outputs_to(self.out_port)
            && e.outputs_to_group(self.out_group)
    }
}

/// All tables of one switch, and its meters.
#[derive(Debug)]
pub struct FlowTable {
    n_tables: u8,
    entries: BTreeMap<FlowId, FlowEntry>,
    /// (table, priority, match) of every entry, at most one entry each (6.4), by a hash of
    /// it ([`index_hash`]) so that the index keeps no copy of the match; a hit is confirmed
    /// against the entry itself.
    index: BTreeSet<(u64, FlowId)>,
    next_id: FlowId,
    meters: MeterTable,
    /// When each meter was added (meter stats' duration).
    meter_since: BTreeMap<u32, Instant>,
    /// Lookups per table are not known to TC; packets matched are the sum over entries.
    removed_packets: Vec<u64>,
    /// The switch's groups (`groups.rs` keeps them): a flow may forward only to these.
    group_ids: BTreeSet<u32>,
}

impl FlowTable {
    pub fn new(n_tables: u8) -> FlowTable {
        FlowTable {
            n_tables,
            entries: BTreeMap::new(),
            index: BTreeSet::new(),
            next_id: 1,
            meters: MeterTable::new(),
            meter_since: BTreeMap::new(),
            removed_packets: vec![0; n_tables.into()],
            group_ids: BTreeSet::new(),
        }
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &FlowEntry> {
        self.entries.values()
    }

    pub(crate) fn meters(&self) -> &MeterTable {
        &self.meters
    }

    /// When meter `id` was added.
    pub(crate) fn meter_since(&self, id: u32) -> Option<Instant> {
        self.meter_since.get(&id).copied()
    }

    /// Packets matched in `table`, counting entries that have left it.
    pub(crate) fn matched(&self, table: u8) -> u64 {
        self.removed_packets
            .get(usize::from(table))
            .copied()
            .unwrap_or(0)
            + self
                .entries
                .values()
                .filter(|e| e.spec.table_id == table)
                .map(FlowEntry::packets)
                .sum::<u64>()
    }

    fn insert(&mut self, e: FlowEntry) {
        let h = index_hash(e.spec.table_id, e.spec.priority, &e.key());
        self.insert_hashed(e, h);
    }

    /// [`FlowTable::insert`] with the entry's [`index_hash`] known.
    fn insert_hashed(&mut self, e: FlowEntry, h: u64) {
        self.index.insert((h, e.id));
        self.entries.insert(e.id, e);
    }

    fn take(&mut self, id: FlowId) -> Option<FlowEntry> {
        let e = self.entries.remove(&id)?;
        self.index
            .remove(&(index_hash(e.spec.table_id, e.spec.priority, &e.key()), id));
        Some(e)
    }

    /// The entry of exactly this table, priority and match, if there is one.
    fn find(&self, table: u8, priority: u16, key: &MatchKey) -> Option<FlowId> {
        let h = index_hash(table, priority, key);
        self.index
            .range((h, 0)..=(h, FlowId::MAX))
            .map(|(_, id)| *id)
            .find(|id| {
                self.entries.get(id).is_some_and(|e| {
                    e.spec.table_id == table && e.spec.priority == priority && e.key() == *key
                })
            })
    }

    fn alloc_id(&mut self) -> FlowId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Read every entry's counters from the backend.
    pub(crate) fn refresh(&mut self, backend: &mut dyn Backend, now: Instant) {
        let c = backend.counters(now);
        for e in self.entries.values_mut() {
            e.observe(c.get(&e.id).copied().unwrap_or(e.seen), now);
        }
    }

    /// The entries `sel` selects, counters fresh from the backend.
    pub(crate) fn select(
        &mut self,
        sel: &Selector,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Vec<&FlowEntry> {
        self.refresh(backend, now);
        let mut v: Vec<&FlowEntry> = self.entries.values().filter(|e| sel.selects(e)).collect();
        v.sort_by_key(|e| (e.spec.table_id, std::cmp::Reverse(e.spec.priority), e.id));
        v
    }

    /// Carry out a FLOW_MOD. `Ok` lists the entries it removed (DELETE); `Err` is the
    /// error to answer with, and nothing changed.
    pub(crate) fn flow_mod(
        &mut self,
        fm: &v13::FlowMod,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<Vec<RemovedFlow>, Refusal> {
        use FlowModCommand as C;
        self.check(fm)?;
        match fm.command {
            C::Add => self.add(fm, backend, now).map(|()| Vec::new()),
            C::Modify | C::ModifyStrict => self
                .modify(fm, fm.command == C::ModifyStrict, backend, now)
                .map(|()| Vec::new()),
            C::Delete | C::DeleteStrict => {
                let sel = Selector {
                    table_id: fm.table_id,
                    strict: fm.command == C::DeleteStrict,
                    priority: fm.priority,
                    key: MatchKey::of(&fm.match_),
                    cookie: fm.cookie,
                    cookie_mask: fm.cookie_mask,
                    out_port: fm.out_port,
                    out_group: fm.out_group,
                };
                Ok(self.delete(&sel, v13::OFPRR_DELETE, backend, now))
            }
        }
    }

    /// Carry out a run of FLOW_MODs as [`FlowTable::flow_mod`] would one by one, with
    /// the same outcome for each (in order), but with the plain ADDs (no entry of the same
    /// match and priority, no CHECK_OVERLAP) handed to the backend in batches
    /// ([`Backend::install_many`]). Anything else goes through `flow_mod` in its turn,
    /// after the batch before it is in. `Ok` lists the entries a FLOW_MOD removed.
    pub fn flow_mods(
        &mut self,
        fms: &[v13::FlowMod],
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Vec<Result<Vec<RemovedFlow>, Refusal>> {
        /// Flows per call of the backend: bounds what is translated at once.
        const BATCH: usize = 4096;
        let mut out: Vec<Result<Vec<RemovedFlow>, Refusal>> = Vec::with_capacity(fms.len());
        let mut pending: Vec<(usize, FlowEntry, u64)> = Vec::new();
        let mut pending_keys: std::collections::HashSet<(u8, u16, MatchKey)> =
            std::collections::HashSet::new();
        for (i, fm) in fms.iter().enumerate() {
            let plain = fm.command == FlowModCommand::Add && fm.flags & ff::CHECK_OVERLAP == 0;
            let key = plain.then(|| MatchKey::of(&fm.match_));
            let ix = key.map(|k| (fm.table_id, fm.priority, k));
            let batchable = ix.as_ref().is_some_and(|ix| {
                self.find(ix.0, ix.1, &ix.2).is_none()
                    && !pending_keys.contains(ix)
                    && self.entries.len() + pending.len() < MAX_ENTRIES
            });
            let Some((_, _, key)) = ix.filter(|_| batchable) else {
                self.flush_adds(&mut pending, &mut out, backend);
                pending_keys.clear();
                out.push(self.flow_mod(fm, backend, now));
                continue;
            };
            if let Err(r) = self.check(fm) {
                out.push(Err(r));
                continue;
            }
            let h = index_hash(fm.table_id, fm.priority, &key);
            pending_keys.insert((fm.table_id, fm.priority, key));
            let entry = FlowEntry::new(self.alloc_id(), Self::spec(fm), fm, now);
            out.push(Ok(Vec::new()));
            pending.push((i, entry, h));
            if pending.len() >= BATCH {
                self.flush_adds(&mut pending, &mut out, backend);
                pending_keys.clear();
            }
        }
        self.flush_adds(&mut pending, &mut out, backend);
        out
    }

    /// Install the batched ADDs; a refused one gets its error in `out`, the rest go in.
    fn flush_adds(
        &mut self,
        pending: &mut Vec<(usize, FlowEntry, u64)>,
        out: &mut [Result<Vec<RemovedFlow>, Refusal>],
        backend: &mut dyn Backend,
    ) {
        if pending.is_empty() {
            return;
        }
        let flows: Vec<(FlowId, &FlowSpec)> =
            pending.iter().map(|(_, e, _)| (e.id, &e.spec)).collect();
        let res = backend.install_many(&flows);
        for ((i, e, h), r) in pending.drain(..).zip(res) {
            match r {
                Ok(()) => self.insert_hashed(e, h),
                Err(r) => out[i] = Err(r),
            }
        }
    }

    /// What every FLOW_MOD must pass before the table is touched; for the adding commands
    /// (ADD, MODIFY, MODIFY_STRICT) also the buffer id and the instructions.
    fn check(&self, fm: &v13::FlowMod) -> Result<(), Refusal> {
        use FlowModCommand as C;
        let adds = matches!(fm.command, C::Add | C::Modify | C::ModifyStrict);
        // 7.3.4.1: OFPTT_ALL is valid only for delete; any other table past n_tables is
        // OFPFMFC_BAD_TABLE_ID.
        let table_ok = fm.table_id < self.n_tables || (!adds && fm.table_id == v13::OFPTT_ALL);
        if !table_ok {
            return Err(Refusal::new(
                flow_mod_failed::BAD_TABLE_ID,
                format!(
                    "no table {} (this switch has {})",
                    fm.table_id, self.n_tables
                ),
            ));
        }
        // 7.3.4.1: unknown flag bits.
        if fm.flags & !0x1f != 0 {
            return Err(Refusal::new(
                flow_mod_failed::BAD_FLAGS,
                format!("unknown flow_mod flags 0x{:04x}", fm.flags),
            ));
        }
        check_match(&fm.match_)?;
        if !adds {
            return Ok(());
        }
        // We announce n_buffers 0, so no buffer id is valid (7.3.4.1: OFPBRC_BUFFER_UNKNOWN).
        if fm.buffer_id != v13::OFP_NO_BUFFER {
            return Err(Refusal::new(
                bad_request::BUFFER_UNKNOWN,
                format!(
                    "buffer {} does not exist: this switch buffers nothing",
                    fm.buffer_id
                ),
            ));
        }
        self.check_instructions(fm.table_id, &fm.instructions)
    }

    fn spec(fm: &v13::FlowMod) -> FlowSpec {
        FlowSpec::new(
            fm.table_id,
            fm.priority,
            fm.cookie,
            &fm.match_,
            &fm.instructions,
        )
    }

    fn add(
        &mut self,
        fm: &v13::FlowMod,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<(), Refusal> {
        let key = MatchKey::of(&fm.match_);
        let same = self.find(fm.table_id, fm.priority, &key);
        // 6.4: with CHECK_OVERLAP, an entry of the same priority that one packet could
        // match as well refuses the add (OFPFMFC_OVERLAP).
        if fm.flags & ff::CHECK_OVERLAP != 0 {
            let overlap = self.entries.values().any(|e| {
                e.spec.table_id == fm.table_id
                    && e.spec.priority == fm.priority
                    && e.key().overlaps(&key)
            });
            if overlap {
                return Err(Refusal::new(
                    flow_mod_failed::OVERLAP,
                    "an entry of the same priority overlaps (CHECK_OVERLAP)",
                ));
            }
        }
        if same.is_none() && self.entries.len() >= MAX_ENTRIES {
            return Err(Refusal::new(
                flow_mod_failed::TABLE_FULL,
                format!("the switch holds {MAX_ENTRIES} entries already"),
            ));
        }
        let id = self.alloc_id();
        let spec = Self::spec(fm);
        backend.install(id, &spec)?;
        let mut entry = FlowEntry::new(id, spec, fm, now);
        if let Some(old_id) = same {
            // 6.4: the identical entry is replaced, duration and all; its counters are
            // copied unless RESET_COUNTS. No FLOW_REMOVED for it.
            let c = backend.counters(now);
            if let Some(mut old) = self.take(old_id) {
                old.observe(c.get(&old_id).copied().unwrap_or(old.seen), now);
                if fm.flags & ff::RESET_COUNTS == 0 {
                    entry.base = (old.packets(), old.bytes());
                } else {
                    self.count_removed(&old);
                }
            }
            backend.remove(old_id);
        }
        self.insert(entry);
        Ok(())
    }

    fn modify(
        &mut self,
        fm: &v13::FlowMod,
        strict: bool,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<(), Refusal> {
        let sel = Selector {
            table_id: fm.table_id,
            strict,
            priority: fm.priority,
            key: MatchKey::of(&fm.match_),
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            out_port: port::ANY,
            out_group: v13::OFPG_ANY,
        };
        let chosen: Vec<FlowId> = self
            .entries
            .values()
            .filter(|e| sel.selects(e))
            .map(|e| e.id)
            .collect();
        // 6.4: a MODIFY that selects nothing changes nothing, and is no error.
        if chosen.is_empty() {
            return Ok(());
        }
        // Install every new version first; one refusal takes back those already made.
        let mut made: Vec<(FlowId, FlowId)> = Vec::new();
        for old in &chosen {
            let Some(e) = self.entries.get(old) else {
                continue;
            };
            let spec = e.spec.with_instructions(&fm.instructions);
            let new = self.alloc_id();
            if let Err(r) = backend.install(new, &spec) {
                for (_, n) in made {
                    backend.remove(n);
                }
                return Err(r);
            }
            made.push((*old, new));
        }
        let c = backend.counters(now);
        for (old, new) in made {
            if let Some(mut e) = self.take(old) {
                // 6.4: instructions change; cookie, timeouts, flags, duration and counters
                // stay, unless RESET_COUNTS clears the counters.
                e.observe(c.get(&old).copied().unwrap_or(e.seen), now);
                if fm.flags & ff::RESET_COUNTS != 0 {
                    self.count_removed(&e);
                    e.base = (0, 0);
                } else {
                    e.base = (e.packets(), e.bytes());
                }
                e.seen = Counters::default();
                e.id = new;
                e.spec = e.spec.with_instructions(&fm.instructions);
                self.insert(e);
            }
            backend.remove(old);
        }
        Ok(())
    }

    fn count_removed(&mut self, e: &FlowEntry) {
        if let Some(n) = self.removed_packets.get_mut(usize::from(e.spec.table_id)) {
            *n += e.packets();
        }
    }

    /// Remove what `sel` selects, with `reason`.
    pub(crate) fn delete(
        &mut self,
        sel: &Selector,
        reason: u8,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Vec<RemovedFlow> {
        let chosen: Vec<FlowId> = self
            .entries
            .values()
            .filter(|e| sel.selects(e))
            .map(|e| e.id)
            .collect();
        self.remove_ids(&chosen, reason, backend, now)
    }

    fn remove_ids(
        &mut self,
        ids: &[FlowId],
        reason: u8,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Vec<RemovedFlow> {
        if ids.is_empty() {
            return Vec::new();
        }
        // Final counters for FLOW_REMOVED, read before the kernel forgets them.
        let c = backend.counters(now);
        let mut out = Vec::new();
        for id in ids {
            if let Some(mut e) = self.take(*id) {
                e.observe(c.get(id).copied().unwrap_or(e.seen), now);
                backend.remove(*id);
                self.count_removed(&e);
                out.push(RemovedFlow { entry: e, reason });
            }
        }
        out
    }

    /// When [`FlowTable::expire`] wants to run next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .flat_map(|e| [e.idle_deadline(), e.hard_deadline()])
            .flatten()
            .min()
    }

    /// Remove entries whose hard timeout passed, or whose idle timeout passed without use
    /// (the backend's last-used time is read before an idle entry is judged).
    pub(crate) fn expire(&mut self, backend: &mut dyn Backend, now: Instant) -> Vec<RemovedFlow> {
        let idle_due = self
            .entries
            .values()
            .any(|e| e.idle_deadline().is_some_and(|d| d <= now));
        if idle_due {
            let c = backend.counters_with_last_use(now);
            for e in self.entries.values_mut() {
                e.observe(c.get(&e.id).copied().unwrap_or(e.seen), now);
            }
        }
        let mut hard = Vec::new();
        let mut idle = Vec::new();
        for e in self.entries.values() {
            if e.hard_deadline().is_some_and(|d| d <= now) {
                hard.push(e.id);
            } else if e.idle_deadline().is_some_and(|d| d <= now) {
                idle.push(e.id);
            }
        }
        let mut out = self.remove_ids(&hard, v13::OFPRR_HARD_TIMEOUT, backend, now);
        out.extend(self.remove_ids(&idle, v13::OFPRR_IDLE_TIMEOUT, backend, now));
        out
    }

    /// Every instruction checked against what a switch must refuse whatever its kernel:
    /// 7.2.4 (one of each type, goto only forward, known tables and meters), 7.2.5
    /// (output ports, groups that exist, no queues, no experimenter actions).
    fn check_instructions(&self, table: u8, list: &[Instruction]) -> Result<(), Refusal> {
        let mut seen = 0u32;
        for i in list {
            let t = i.instruction_type();
            let bit = 1u32 << (t & 31);
            if t != v13::instruction::instruction_type::EXPERIMENTER && seen & bit != 0 {
                return Err(Refusal::new(
                    bad_instruction::UNSUP_INST,
                    format!("instruction type {t} appears twice"),
                ));
            }
            seen |= bit;
            match i {
                Instruction::GotoTable(to) => {
                    if *to <= table || *to >= self.n_tables {
                        return Err(Refusal::new(
                            bad_instruction::BAD_TABLE_ID,
                            format!(
                                "goto_table:{to} from table {table}: only forward, below {}",
                                self.n_tables
                            ),
                        ));
                    }
                }
                Instruction::Meter(m) => {
                    if !self.meters.contains(*m) {
                        return Err(Refusal::new(
                            meter_mod_failed::UNKNOWN_METER,
                            format!("no meter {m}"),
                        ));
                    }
                }
                Instruction::Experimenter { experimenter, .. } => {
                    return Err(Refusal::new(
                        bad_instruction::BAD_EXPERIMENTER,
                        format!("experimenter instruction 0x{experimenter:08x}"),
                    ))
                }
                Instruction::ApplyActions(a) | Instruction::WriteActions(a) => {
                    for a in a {
                        check_action(a)?;
                        if let v13::Action::Group(g) = a {
                            if !self.group_ids.contains(g) {
                                return Err(Refusal::new(
                                    bad_action::BAD_OUT_GROUP,
                                    format!("no group {g}"),
                                ));
                            }
                        }
                    }
                }
                Instruction::WriteMetadata { .. } | Instruction::ClearActions => {}
            }
        }
        Ok(())
    }

    /// Carry out a METER_MOD (7.3.4.4). `Ok` lists the flows removed with a deleted meter.
    /// OFPM_CONTROLLER is the bound on packet-ins: setting it installs the flows that
    /// output to CONTROLLER again with its rate; deleting it puts the default back.
    pub(crate) fn meter_mod(
        &mut self,
        mm: &v13::MeterMod,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<Vec<RemovedFlow>, Refusal> {
        use v13::MeterModCommand as C;
        let id = mm.meter_id;
        if mm.command == C::Delete {
            let ids: Vec<u32> = if id == v13::OFPM_ALL {
                self.meters.iter().map(|(m, _)| m).collect()
            } else {
                vec![id]
            };
            let mut out = Vec::new();
            for m in ids {
                // A meter that does not exist is deleted without an error.
                let Some(old) = self.meters.remove(m) else {
                    continue;
                };
                self.meter_since.remove(&m);
                backend.set_meters(&self.meters);
                if m == v13::OFPM_CONTROLLER {
                    // The packet-in bound goes back to its default; the flows stay.
                    self.reinstall_users(m, Some(old), backend, now)?;
                    continue;
                }
                // As Open vSwitch does: the flows that use a deleted meter go with it.
                let users: Vec<FlowId> = self
                    .entries
                    .values()
                    .filter(|e| e.uses_meter(m))
                    .map(|e| e.id)
                    .collect();
                out.extend(self.remove_ids(&users, v13::OFPRR_DELETE, backend, now));
            }
            return Ok(out);
        }
        if (id == 0 || id > v13::OFPM_MAX) && id != v13::OFPM_CONTROLLER {
            return Err(Refusal::new(
                meter_mod_failed::INVALID_METER,
                format!("meter id {id} is not configurable"),
            ));
        }
        check_meter(mm)?;
        match (mm.command, self.meters.contains(id)) {
            (C::Add, true) => {
                return Err(Refusal::new(
                    meter_mod_failed::METER_EXISTS,
                    format!("meter {id} exists"),
                ))
            }
            (C::Modify, false) => {
                return Err(Refusal::new(
                    meter_mod_failed::UNKNOWN_METER,
                    format!("no meter {id}"),
                ))
            }
            _ => {}
        }
        let old = self.meters.get(id).cloned();
        let mut add = mm.clone();
        add.command = C::Add;
        self.meters.remove(id);
        if let Err(r) = self.meters.apply(&add) {
            if let Some(o) = old {
                self.meters.insert(id, o);
            }
            return Err(r);
        }
        backend.set_meters(&self.meters);
        self.reinstall_users(id, old, backend, now)?;
        self.meter_since.entry(id).or_insert(now);
        Ok(Vec::new())
    }

    /// Meter `id` changed (it was `old`): the flows that use it are installed again with
    /// its new bands. If the backend refuses one, the meter goes back to `old` and every
    /// flow stays as it was.
    fn reinstall_users(
        &mut self,
        id: u32,
        old: Option<tc_datapath::Meter>,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<(), Refusal> {
        if let Err(r) = self.reinstall_where(|e: &FlowEntry| e.uses_meter(id), backend, now) {
            match old {
                Some(o) => self.meters.insert(id, o),
                None => self.meters.remove(id),
            };
            backend.set_meters(&self.meters);
            return Err(r);
        }
        Ok(())
    }
}

mod check;
pub(crate) use check::check_action;
use check::{check_match, check_meter};
mod regroup;

#[cfg(test)]
pub(crate) mod tests;
