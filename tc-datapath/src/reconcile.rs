//! Reconciliation: make the kernel hold exactly the wanted filters, touching only what
//! differs, so that a restart or reload is hitless.

use std::collections::HashSet;

use crate::filter::{Filter, FilterId, Installed};

/// What to add and what to remove so that `installed` becomes `wanted`.
///
/// An installed filter is kept when a wanted one has the same place (device, chain, prio)
/// and the same cookie: the cookie covers the flow and the filter's whole content, so
/// equal cookies mean an equal filter (its handle may differ; it does not matter). Every
/// other installed flower filter is removed, including ones without a cookie (not ours,
/// or from before cookies). Add before removing to avoid a gap.
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
}
