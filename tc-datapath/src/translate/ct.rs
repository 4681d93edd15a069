//! Connection tracking: Open vSwitch's `ct(...)` and `ct_clear` become act_ct, and its
//! `ct_state`, `ct_zone`, `ct_mark`, `ct_label` matches become flower's ct keys (what
//! Open vSwitch's own TC offload writes, lib/tc.c).
//!
//! - `ct(commit, zone=N, exec(set_field:..->ct_mark|ct_label), nat(...))` is one act_ct
//!   with those parameters; the packet goes on with the flow's next action.
//! - `ct(table=T)` is act_ct, then `goto chain` of table T: the lookup continues in table
//!   T with the packet's connection state, as Open vSwitch recirculates. TC's goto ends
//!   the filter, so `ct(table=T)` must be the flow's last action (Open vSwitch would fork
//!   the packet: one copy on with the rest of the actions, one into table T).
//! - `ct_state` flags map one to one but for `snat` and `dnat`, which flower has no
//!   key for.
//!
//! Refused, with the OpenFlow error and a sentence: an ALG (`alg=`), a zone read from a
//! field (TC has no registers), NAT's `persistent`, `hash` and `random` (act_ct has no
//! such range flags), more than one `nat` in one `ct`, and a `ct` after the flow's last
//! output (TC's redirect ends the filter before it).

use std::net::IpAddr;

use ofproto::v13::action::Action;
use ofproto::v13::errors::{bad_action, bad_match};
use ofproto::v13::nx_ct::{ct_state, nat_flags, CtMatch, CtNested, CtZone, NxCtAction};
use ofproto::v13::oxm::OxmOpaque;
use ofproto::v13::Oxm;

use super::{refuse, Item, Lowering};
use crate::filter::flower::ct::state;
use crate::filter::{ct_flags, CtNatRange, CtParams, FlowerKey, TcAction};
use crate::flow::Refusal;

/// Whether an opaque OXM is a ct match field the translation takes (well-formed; its value
/// may still be refused).
pub fn match_field_translates(o: &OxmOpaque) -> bool {
    CtMatch::from_oxm(&Oxm::Opaque(o.clone())).is_some()
}

/// Open vSwitch's `ct_state` bits and flower's, one to one.
const STATE_MAP: [(u32, u16); 6] = [
    (ct_state::NEW, state::NEW),
    (ct_state::EST, state::ESTABLISHED),
    (ct_state::REL, state::RELATED),
    (ct_state::RPL, state::REPLY),
    (ct_state::INV, state::INVALID),
    (ct_state::TRK, state::TRACKED),
];

fn flower_state(bits: u32) -> u16 {
    STATE_MAP
        .iter()
        .filter(|(o, _)| bits & o != 0)
        .fold(0, |acc, (_, f)| acc | f)
}

/// Put a ct match field into the flower key.
pub(super) fn match_key(o: &Oxm, k: &mut FlowerKey) -> Result<bool, Refusal> {
    let Some(m) = CtMatch::from_oxm(o) else {
        return Ok(false);
    };
    match m {
        CtMatch::State(s) => {
            let mask = s.mask.unwrap_or(u32::MAX);
            if mask & !ct_state::ALL != 0 && mask != u32::MAX || s.value & !ct_state::ALL != 0 {
                return refuse(
                    bad_match::BAD_VALUE,
                    format!(
                        "ct_state {:#x}/{mask:#x} has bits Open vSwitch does not define",
                        s.value
                    ),
                );
            }
            if mask & (ct_state::SNAT | ct_state::DNAT) != 0 {
                return refuse(
                    bad_match::BAD_FIELD,
                    "ct_state matches the snat or dnat flag (an exact ct_state such as new|trk does too): TC flower's ct_state has no NAT flags; write the flags to match as +trk+new",
                );
            }
            let m = flower_state(mask);
            if m != 0 {
                k.ct.state = Some((flower_state(s.value & mask), m));
            }
        }
        CtMatch::Zone(z) => k.ct.zone = Some((z, 0xffff)),
        CtMatch::Mark(v) => {
            let m = v.mask.unwrap_or(u32::MAX);
            if m != 0 {
                k.ct.mark = Some((v.value & m, m));
            }
        }
        CtMatch::Label(v) => {
            let m = v.mask.unwrap_or(u128::MAX);
            if m != 0 {
                k.ct.labels = Some((v.value & m, m));
            }
        }
    }
    Ok(true)
}

/// The act_ct of a `ct` or `ct_clear` action, and the table to continue in.
pub fn ct_params(a: &Action) -> Result<(CtParams, Option<u8>), Refusal> {
    let Some(view) = NxCtAction::from_action(a) else {
        return refuse(
            bad_action::BAD_ARGUMENT,
            "a ct action with flags or nested actions Open vSwitch does not define",
        );
    };
    let ct = match view {
        NxCtAction::CtClear => {
            return Ok((
                CtParams {
                    flags: ct_flags::CLEAR,
                    ..CtParams::default()
                },
                None,
            ))
        }
        NxCtAction::Ct(ct) => ct,
    };
    if ct.alg != 0 {
        return refuse(
            bad_action::BAD_ARGUMENT,
            format!(
                "ct(alg={}) needs an application-layer gateway (a conntrack helper), which switchd does not give act_ct",
                ct.alg
            ),
        );
    }
    let zone = match ct.zone {
        CtZone::Imm(z) => z,
        CtZone::Field { .. } => {
            return refuse(
                bad_action::BAD_ARGUMENT,
                "ct(zone=FIELD[...]) reads the zone from a field, and TC has no registers: give the zone as a number",
            )
        }
    };
    let mut p = CtParams {
        zone,
        ..CtParams::default()
    };
    if ct.commit {
        p.flags |= ct_flags::COMMIT;
    }
    if ct.force {
        p.flags |= ct_flags::FORCE;
    }
    let mut nat_seen = false;
    for n in &ct.nested {
        match n {
            CtNested::Nat(nat) => {
                if std::mem::replace(&mut nat_seen, true) {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        "ct with two nat(...): act_ct does one NAT",
                    );
                }
                if nat.flags
                    & (nat_flags::PERSISTENT | nat_flags::PROTO_HASH | nat_flags::PROTO_RANDOM)
                    != 0
                {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        "nat(...,persistent|hash|random): act_ct's NAT ranges have no such flags",
                    );
                }
                p.flags |= ct_flags::NAT;
                if nat.flags & nat_flags::SRC != 0 {
                    p.flags |= ct_flags::NAT_SRC;
                } else if nat.flags & nat_flags::DST != 0 {
                    p.flags |= ct_flags::NAT_DST;
                }
                if nat.flags & (nat_flags::SRC | nat_flags::DST) == 0
                    && (nat.addr_min.is_some() || nat.port_min.is_some())
                {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        "nat with a range but neither src nor dst",
                    );
                }
                if let (Some(min), Some(max)) = (nat.addr_min, nat.addr_max) {
                    if min.is_ipv4() != max.is_ipv4() {
                        return refuse(
                            bad_action::BAD_ARGUMENT,
                            "nat range of two address families",
                        );
                    }
                }
                let addr_max = nat.addr_max.filter(|m| Some(*m) != nat.addr_min);
                p.nat = CtNatRange {
                    addr: nat.addr_min.map(|min: IpAddr| (min, addr_max)),
                    port: nat
                        .port_min
                        .map(|min| (min, nat.port_max.filter(|m| *m != min))),
                };
                if p.nat.addr.is_none() && p.nat.port.is_some() {
                    return refuse(bad_action::BAD_ARGUMENT, "nat with ports but no address");
                }
            }
            CtNested::SetField(o) => {
                if !ct.commit {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        "ct(exec(set_field:...)) without commit: the mark and label are set on commit",
                    );
                }
                match CtMatch::from_oxm(o) {
                    Some(CtMatch::Mark(m)) => {
                        p.mark = Some((m.value, m.mask.unwrap_or(u32::MAX)));
                    }
                    Some(CtMatch::Label(m)) => {
                        p.labels = Some((m.value, m.mask.unwrap_or(u128::MAX)));
                    }
                    _ => {
                        return refuse(
                            bad_action::BAD_SET_TYPE,
                            "ct(exec(...)) can set ct_mark and ct_label only",
                        )
                    }
                }
            }
        }
    }
    Ok((p, ct.table))
}

/// Lower a `ct`/`ct_clear`: act_ct, then `goto chain` of its table if it has one.
pub(super) fn lower(a: &Action, l: &mut Lowering) -> Result<(), Refusal> {
    let (p, table) = ct_params(a)?;
    l.flush()?;
    l.items.push(Item::Tc(TcAction::Ct(p)));
    if let Some(t) = table {
        l.items.push(Item::Goto(t));
    }
    Ok(())
}

/// What TC cannot order as Open vSwitch does: anything after a goto (of `ct(table=T)` or
/// goto_table; TC's goto ends the filter), and an act_ct after the last output (TC's
/// redirect ends the filter first).
pub(super) fn check_order(items: &[Item]) -> Result<(), Refusal> {
    if let Some(g) = items.iter().position(|i| matches!(i, Item::Goto(_))) {
        if g + 1 != items.len() {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                "ct(table=...) must be the flow's last action (and comes without goto_table): TC's goto chain ends the filter, where Open vSwitch forks the packet",
            );
        }
    }
    let last_exit = items.iter().rposition(|i| !matches!(i, Item::Tc(_)));
    if let Some(e) = last_exit {
        if items[e + 1..]
            .iter()
            .any(|i| matches!(i, Item::Tc(TcAction::Ct(_))))
        {
            return refuse(
                bad_action::UNSUPPORTED_ORDER,
                "ct(...) after the flow's last output: TC's redirect ends the filter before it; put the ct first",
            );
        }
    }
    Ok(())
}
