//! Reconciliation: make the kernel hold exactly the wanted filters, touching only what
//! differs, so that a restart or reload is hitless.

use std::collections::{HashMap, HashSet};

use crate::filter::{Filter, FilterId, FlowerKey, Installed};

/// What to add and what to remove so that `installed` becomes `wanted`.
///
/// An installed filter is kept when a wanted one has the same place (device, chain, prio)
/// and the same cookie: the cookie covers the flow and the filter's whole content, so
/// equal cookies mean an equal filter (its handle may differ; it does not matter). Every
/// other installed flower filter is removed, including ones without a cookie (not ours,
/// or from before cookies). Add before removing to avoid a gap.
///
/// A changed filter that keeps its place and key (a flow whose actions changed) cannot be
/// added beside the old one: flower holds one filter per key in a prio and answers
/// EEXIST. [`plan`] pairs those up as replacements; use it to apply a difference.
pub fn diff<'a>(wanted: &'a [Filter], installed: &[Installed]) -> (Vec<&'a Filter>, Vec<FilterId>) {
    type Place = (u32, u32, u16, [u8; 16]);
    let have: HashSet<Place> = installed
        .iter()
        .filter_map(|i| i.cookie.map(|c| (i.id.ifindex, i.id.chain, i.id.prio, c)))
        .collect();
    let want: HashSet<Place> = wanted
        .iter()
        .map(|f| (f.ifindex, f.chain, f.prio, f.cookie))
        .collect();
    let add = wanted
        .iter()
        .filter(|f| !have.contains(&(f.ifindex, f.chain, f.prio, f.cookie)))
        .collect();
    let mut kept: HashSet<Place> = HashSet::new();
    let mut remove = Vec::new();
    for i in installed {
        match i.cookie {
            // A second installed copy of a wanted filter goes too.
            Some(c)
                if want.contains(&(i.id.ifindex, i.id.chain, i.id.prio, c))
                    && kept.insert((i.id.ifindex, i.id.chain, i.id.prio, c)) => {}
            _ => remove.push(i.id),
        }
    }
    (add, remove)
}

/// What to do so that the kernel holds exactly `wanted`: see [`plan`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Filters to install ([`crate::Tc::install`]).
    pub add: Vec<&'a Filter>,
    /// Wanted filters that take over an installed filter's place and key with new
    /// content, each with the handle of the one it replaces ([`crate::Tc::replace`]).
    pub replace: Vec<Filter>,
    /// Installed filters to remove ([`crate::Tc::remove`]), after the rest.
    pub remove: Vec<FilterId>,
}

impl Plan<'_> {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.replace.is_empty() && self.remove.is_empty()
    }
}

/// [`diff`], with every (add, remove) pair that shares device, chain, prio and flower key
/// turned into one replacement: that is the only way to change such a filter (flower
/// refuses a second filter with the same key in a prio), and it leaves no gap.
pub fn plan<'a>(wanted: &'a [Filter], installed: &[Installed]) -> Plan<'a> {
    let (add, remove) = diff(wanted, installed);
    if add.is_empty() || remove.is_empty() {
        return Plan {
            add,
            replace: Vec::new(),
            remove,
        };
    }
    type Slot<'k> = (u32, u32, u16, &'k FlowerKey);
    let gone: HashSet<FilterId> = remove.iter().copied().collect();
    let mut by_key: HashMap<Slot<'_>, Vec<FilterId>> = HashMap::new();
    for i in installed.iter().filter(|i| gone.contains(&i.id)) {
        by_key
            .entry((i.id.ifindex, i.id.chain, i.id.prio, &i.key))
            .or_default()
            .push(i.id);
    }
    let mut taken: HashSet<FilterId> = HashSet::new();
    let mut p = Plan::default();
    for f in add {
        match by_key
            .get_mut(&(f.ifindex, f.chain, f.prio, &f.key))
            .and_then(|v| v.pop())
        {
            Some(old) => {
                taken.insert(old);
                p.replace.push(Filter {
                    handle: old.handle,
                    ..f.clone()
                });
            }
            None => p.add.push(f),
        }
    }
    p.remove = remove.into_iter().filter(|r| !taken.contains(r)).collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{FlowerKey, TcAction, Verdict};

    fn filter(prio: u16, cookie: u8) -> Filter {
        Filter {
            ifindex: 1,
            chain: 0,
            prio,
            handle: cookie as u32,
            key: FlowerKey::default(),
            actions: vec![TcAction::Gact(Verdict::Shot)],
            cookie: [cookie; 16],
        }
    }

    fn installed(f: &Filter, handle: u32, cookie: Option<[u8; 16]>) -> Installed {
        Installed {
            id: FilterId { handle, ..f.id() },
            key: f.key.clone(),
            actions: f.actions.clone(),
            cookie,
            packets: 0,
            bytes: 0,
            last_used: None,
        }
    }

    #[test]
    fn keeps_equal_adds_missing_removes_changed_foreign_and_duplicates() {
        let a = filter(10, 1);
        let b = filter(20, 2);
        let b_old = filter(20, 3);
        let wanted = vec![a.clone(), b.clone()];
        let inst = vec![
            installed(&a, 77, Some(a.cookie)),
            installed(&a, 78, Some(a.cookie)),
            installed(&b_old, 5, Some(b_old.cookie)),
            installed(&a, 9, None),
        ];
        let (add, remove) = diff(&wanted, &inst);
        assert_eq!(add, vec![&b]);
        let handles: Vec<u32> = remove.iter().map(|r| r.handle).collect();
        assert_eq!(handles, vec![78, 5, 9]);
        // Nothing to do when the kernel already holds exactly the wanted filters.
        let inst = vec![
            installed(&a, 1, Some(a.cookie)),
            installed(&b, 2, Some(b.cookie)),
        ];
        let (add, remove) = diff(&wanted, &inst);
        assert!(add.is_empty() && remove.is_empty());
    }

    #[test]
    fn plan_replaces_a_changed_filter_with_the_same_key_in_place() {
        use std::net::Ipv4Addr;
        let keyed = |prio: u16, cookie: u8, dst: u8| Filter {
            key: FlowerKey {
                eth_type: Some(0x0800),
                ipv4_dst: Some((Ipv4Addr::new(10, 0, 0, dst), Ipv4Addr::BROADCAST)),
                ..FlowerKey::default()
            },
            ..filter(prio, cookie)
        };
        let same = keyed(10, 1, 1);
        let old = keyed(20, 2, 2);
        let new = Filter {
            actions: vec![TcAction::Gact(Verdict::Ok)],
            ..keyed(20, 3, 2)
        };
        let moved_old = keyed(30, 4, 3);
        let moved_new = keyed(30, 5, 4);
        let wanted = vec![same.clone(), new.clone(), moved_new.clone()];
        let inst = vec![
            installed(&same, 100, Some(same.cookie)),
            installed(&old, 200, Some(old.cookie)),
            installed(&moved_old, 300, Some(moved_old.cookie)),
        ];
        let p = plan(&wanted, &inst);
        // Same key at the same place: replaced under the installed handle.
        assert_eq!(
            p.replace,
            vec![Filter {
                handle: 200,
                ..new.clone()
            }]
        );
        // Another key: added beside, the old one removed.
        assert_eq!(p.add, vec![&moved_new]);
        assert_eq!(
            p.remove.iter().map(|r| r.handle).collect::<Vec<_>>(),
            vec![300]
        );
        // Applied, nothing is left to do.
        let after = vec![
            installed(&same, 100, Some(same.cookie)),
            installed(&new, 200, Some(new.cookie)),
            installed(&moved_new, 7, Some(moved_new.cookie)),
        ];
        assert!(plan(&wanted, &after).is_empty());
    }
}
