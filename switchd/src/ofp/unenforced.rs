//! Local switches whose flows the kernel cannot enforce: the datapath does not offer them
//! to this process (there is no session), but tells it of them (`Msg::Unenforced`), so that
//! `show switches` lists them with what they do instead (held down, or forwarding without
//! their flows).

use std::collections::BTreeMap;

use super::conn::dpid_text;

/// One such switch, as the datapath last described it.
#[derive(Debug, Clone)]
pub(crate) struct UnenforcedSwitch {
    pub(crate) datapath_id: u64,
    pub(crate) ports: u32,
    pub(crate) note: String,
}

/// The datapath's word on switch `name`: `None` when it stopped.
pub(crate) fn update(
    all: &mut BTreeMap<String, UnenforcedSwitch>,
    name: String,
    datapath_id: u64,
    ports: u32,
    note: Option<String>,
) {
    match note {
        Some(note) => {
            all.insert(
                name,
                UnenforcedSwitch {
                    datapath_id,
                    ports,
                    note,
                },
            );
        }
        None => {
            all.remove(&name);
        }
    }
}

/// Their `show switches` rows (those `arg` names, if given: the switch's name or datapath
/// id): address `local:NAME`, no version and no connection.
pub(crate) fn rows(
    all: &BTreeMap<String, UnenforcedSwitch>,
    arg: Option<&str>,
    matches: impl Fn(&str, u64, &str) -> bool,
) -> Vec<Vec<String>> {
    all.iter()
        .filter(|(name, s)| {
            arg.is_none_or(|a| a == name.as_str() || matches(a, s.datapath_id, name))
        })
        .map(|(name, s)| {
            vec![
                dpid_text(s.datapath_id),
                format!("local:{name}"),
                "-".into(),
                s.ports.to_string(),
                "-".into(),
                s.note.clone(),
            ]
        })
        .collect()
}
