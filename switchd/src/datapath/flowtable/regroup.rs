//! Installing flows again when what they use changed (a group: `groups.rs`; a meter:
//! `FlowTable::meter_mod`), with their counters kept, all or nothing.

use std::time::Instant;

use tc_datapath::{Backend, Counters, FlowId, Refusal};

use super::{FlowEntry, FlowTable};

impl FlowTable {
    /// The group ids a flow may forward to (OFPBAC_BAD_OUT_GROUP for any other).
    pub(crate) fn set_group_ids(&mut self, ids: impl IntoIterator<Item = u32>) {
        self.group_ids = ids.into_iter().collect();
    }

    /// Install every entry `pick` chooses again, as it is, through `backend` (which makes
    /// of it what it now means). Every new version is installed before an old one goes; one
    /// refusal takes back those already made and leaves every entry as it was. Counters,
    /// timeouts and age are kept. `Ok`: how many were installed again.
    pub(crate) fn reinstall_where(
        &mut self,
        pick: impl Fn(&FlowEntry) -> bool,
        backend: &mut dyn Backend,
        now: Instant,
    ) -> Result<usize, Refusal> {
        let chosen: Vec<FlowId> = self
            .entries
            .values()
            .filter(|e| pick(e))
            .map(|e| e.id)
            .collect();
        let mut made: Vec<(FlowId, FlowId)> = Vec::new();
        for old in &chosen {
            let Some(spec) = self.entries.get(old).map(|e| e.spec.clone()) else {
                continue;
            };
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
        let n = made.len();
        for (o, new) in made {
            if let Some(mut e) = self.take(o) {
                e.observe(c.get(&o).copied().unwrap_or(e.seen), now);
                e.base = (e.packets(), e.bytes());
                e.seen = Counters::default();
                e.id = new;
                self.insert(e);
            }
            backend.remove(o);
        }
        Ok(n)
    }
}
