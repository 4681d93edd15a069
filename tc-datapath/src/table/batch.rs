//! Many flows at once (the configured flows at start, a restart's adoption): the new
//! filters of the flows that need nothing but new places (or leftovers with their cookie)
//! go to the kernel in pipelined batches.

use std::collections::BTreeSet;

use super::{
    kernel_refusal, place_of, slot_key, tables_of, translate, Slot, SlotKey, Step, Table,
    FLOW_MOD_UNKNOWN,
};
use crate::filter::{Filter, FilterId};
use crate::flow::{FlowId, FlowSpec, Refusal};

/// Flows whose new filters go to the kernel together ([`Table::install_many`]).
#[derive(Default)]
struct Batch {
    filters: Vec<Filter>,
    keys: std::collections::HashSet<SlotKey>,
    flows: Vec<BatchedFlow>,
}

/// Per flow of a [`Batch`]: its index in the request, the leftovers it adopted, its
/// filters in `Batch::filters`, and all its places.
type BatchedFlow = (usize, Vec<Step>, std::ops::Range<usize>, Vec<SlotKey>);

impl Table {
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
            let mut filters = std::mem::take(&mut batch.filters);
            let res = self.tc.install(&mut filters);
            (filters, res)
        };
        for (i, adopted, range, keys) in std::mem::take(&mut batch.flows) {
            let (id, spec) = flows[i];
            let refused = range.clone().find_map(|j| match res.get(j) {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(match filters.get(j) {
                    Some(f) => kernel_refusal("install", f, e),
                    None => Refusal::new(FLOW_MOD_UNKNOWN, e.to_string()),
                }),
                None => Some(Refusal::new(FLOW_MOD_UNKNOWN, "no answer from the kernel")),
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

    /// Each flow as `install` would, but the new filters of the flows that need nothing
    /// but new places (or leftovers with their cookie) go to the kernel in one pipelined
    /// batch; a flow one of whose filters the kernel refuses gets that refusal, and its
    /// other filters are taken away again.
    pub(super) fn install_batch(
        &mut self,
        flows: &[(FlowId, &FlowSpec)],
    ) -> Vec<Result<(), Refusal>> {
        let mut out: Vec<Result<(), Refusal>> = vec![Ok(()); flows.len()];
        let mut translated: Vec<(usize, Vec<Filter>)> = Vec::with_capacity(flows.len());
        let (ports, meters, alone) = (&self.ports, &self.meters, &self.left_alone);
        let all = crate::par::map(flows, |(_, spec)| translate(spec, ports, meters, alone));
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
}
