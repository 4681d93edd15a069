//! MPLS in flower keys and act_mpls.
//!
//! Matching: `mpls_label`, `mpls_tc` and `mpls_bos` (eth_type 0x8847 or 0x8848 in the
//! match) are flower's keys of the outer label stack entry, exact.
//!
//! Actions (spec 7.2.6.5, 7.2.6.6): `pop_mpls` is act_mpls pop with the EtherType that
//! follows; `push_mpls` is act_mpls push, whose label, TC and TTL are constants: the
//! spec's copies (label and TC from an outer entry, else 0; TTL from the outer entry or
//! the IP TTL) must be known from the match or set right after the push, else the push
//! is refused (flower keeps no TTL of an entry that OpenFlow matches, and TC cannot
//! copy the IP TTL into the entry). set-field of `mpls_label`, `mpls_tc`, `mpls_bos`
//! and `set_mpls_ttl` are act_mpls modify (merged into a push they follow);
//! `dec_mpls_ttl` is act_mpls dec_ttl, which drops a packet whose TTL runs out (as
//! OpenFlow does without OFPC_INVALID_TTL_TO_CONTROLLER).
//!
//! After a push or pop the packet's headers are not the match's any more: a later
//! set-field of an IP, transport or ARP field in the same flow is refused (set them
//! before, or in the next table, whose match sees the new headers).

use ofproto::v13::action::Action;
use ofproto::v13::errors::{bad_action, bad_match};
use ofproto::v13::oxm::Oxm;

use super::{refuse, Item, Lowering, MatchCtx, Refusal};
use crate::filter::{FlowerKey, MplsOp, TcAction};

pub(super) const ETH_MPLS: u16 = 0x8847;
pub(super) const ETH_MPLS_MC: u16 = 0x8848;

fn is_mpls(t: Option<u16>) -> bool {
    matches!(t, Some(ETH_MPLS | ETH_MPLS_MC))
}

/// What the match says of the outer label stack entry.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MplsMatch {
    pub label: Option<u32>,
    pub tc: Option<u8>,
    pub bos: Option<u8>,
}

/// A push waiting for the set-fields that follow it: (EtherType, label, TC, TTL).
type PendingPush = (u16, Option<u32>, Option<u8>, Option<u8>);

/// The MPLS state of a lowering.
#[derive(Debug, Default)]
pub(super) struct State {
    push: Option<PendingPush>,
    /// The EtherType of the packet now, once a push or pop changed it.
    now: Option<u16>,
}

impl State {
    /// Whether a push or pop changed the packet's headers from those of the match.
    pub(super) fn changed(&self) -> bool {
        self.now.is_some() || self.push.is_some()
    }
}

/// An MPLS match field into the flower key; `false` for another field.
pub(super) fn match_field(o: &Oxm, k: &mut FlowerKey, m: &mut MplsMatch) -> Result<bool, Refusal> {
    match o {
        Oxm::MplsLabel(l) => {
            if *l > 0xf_ffff {
                return refuse(bad_match::BAD_VALUE, "mpls_label is 20 bits");
            }
            k.mpls_label = Some(*l);
            m.label = Some(*l);
        }
        Oxm::MplsTc(t) => {
            if *t > 7 {
                return refuse(bad_match::BAD_VALUE, "mpls_tc is 3 bits");
            }
            k.mpls_tc = Some(*t);
            m.tc = Some(*t);
        }
        Oxm::MplsBos(b) => {
            if *b > 1 {
                return refuse(bad_match::BAD_VALUE, "mpls_bos is 1 bit");
            }
            k.mpls_bos = Some(*b);
            m.bos = Some(*b);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The prerequisite of the MPLS match fields (spec table 12).
pub(super) fn check_prereq(ctx: &MatchCtx) -> Result<(), Refusal> {
    let m = ctx.mpls;
    if (m.label.is_some() || m.tc.is_some() || m.bos.is_some()) && !is_mpls(ctx.eth_type) {
        return refuse(
            bad_match::BAD_PREREQ,
            "mpls_label/mpls_tc/mpls_bos need eth_type 0x8847 or 0x8848 in the match",
        );
    }
    Ok(())
}

impl Lowering<'_> {
    /// The packet's EtherType now (after MPLS pushes and pops), as far as known.
    fn mpls_eth_type(&self) -> Option<u16> {
        self.mpls.now.or(self.ctx.eth_type)
    }

    /// Emit a pending push.
    pub(super) fn flush_mpls(&mut self) -> Result<(), Refusal> {
        let Some((proto, label, tc, ttl)) = self.mpls.push.take() else {
            return Ok(());
        };
        let was = self.mpls_eth_type();
        let outer = is_mpls(was) && self.mpls.now.is_none();
        let m = self.ctx.mpls;
        let (copy_label, copy_tc) = if is_mpls(was) {
            (
                outer.then_some(m.label).flatten(),
                outer.then_some(m.tc).flatten(),
            )
        } else {
            (Some(0), Some(0))
        };
        let (Some(label), Some(tc)) = (label.or(copy_label), tc.or(copy_tc)) else {
            return refuse(
                bad_action::BAD_ARGUMENT,
                "push_mpls onto an MPLS packet copies the outer label and TC, which the match does not pin: set mpls_label and mpls_tc after the push (TC's push takes constants)",
            );
        };
        let ttl = match ttl {
            Some(0) => {
                return refuse(
                    bad_action::BAD_ARGUMENT,
                    "an MPLS TTL of 0: TC's mpls push takes 1-255",
                )
            }
            Some(t) => t,
            None => {
                return refuse(
                    bad_action::BAD_ARGUMENT,
                    "push_mpls copies the TTL of the IP header or outer entry, which TC cannot: set_mpls_ttl after the push",
                )
            }
        };
        self.items.push(Item::Tc(TcAction::Mpls(MplsOp::Push {
            proto,
            label,
            tc,
            ttl,
        })));
        self.mpls.now = Some(proto);
        Ok(())
    }

    /// push_mpls, pop_mpls, set_mpls_ttl, dec_mpls_ttl.
    pub(super) fn mpls_action(&mut self, a: &Action) -> Result<(), Refusal> {
        match a {
            Action::PushMpls(et) => {
                if !is_mpls(Some(*et)) {
                    return refuse(
                        bad_action::BAD_ARGUMENT,
                        format!(
                            "push_mpls with EtherType {et:#06x}: only 0x8847 and 0x8848 are MPLS"
                        ),
                    );
                }
                self.flush()?;
                self.mpls.push = Some((*et, None, None, None));
            }
            Action::PopMpls(et) => {
                self.flush()?;
                if !is_mpls(self.mpls_eth_type()) {
                    return refuse(
                        bad_action::MATCH_INCONSISTENT,
                        "pop_mpls needs an MPLS packet: eth_type 0x8847 or 0x8848 in the match",
                    );
                }
                self.items
                    .push(Item::Tc(TcAction::Mpls(MplsOp::Pop { proto: *et })));
                self.mpls.now = Some(*et);
            }
            Action::SetMplsTtl(t) => self.mpls_set(None, None, Some(*t), None)?,
            Action::DecMplsTtl => {
                self.flush()?;
                self.need_mpls("dec_mpls_ttl")?;
                self.items.push(Item::Tc(TcAction::Mpls(MplsOp::DecTtl)));
            }
            _ => unreachable!("only MPLS actions come here"),
        }
        Ok(())
    }

    /// set_field of an MPLS field; `false` for another field.
    pub(super) fn mpls_set_field(&mut self, f: &Oxm) -> Result<bool, Refusal> {
        match f {
            Oxm::MplsLabel(l) if *l <= 0xf_ffff => self.mpls_set(Some(*l), None, None, None)?,
            Oxm::MplsTc(t) if *t <= 7 => self.mpls_set(None, Some(*t), None, None)?,
            Oxm::MplsBos(b) if *b <= 1 => self.mpls_set(None, None, None, Some(*b))?,
            Oxm::MplsLabel(_) | Oxm::MplsTc(_) | Oxm::MplsBos(_) => {
                return refuse(
                    bad_action::BAD_SET_ARGUMENT,
                    "mpls_label is 20 bits, mpls_tc 3, mpls_bos 1",
                )
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn need_mpls(&self, what: &str) -> Result<(), Refusal> {
        if is_mpls(self.mpls_eth_type()) {
            Ok(())
        } else {
            refuse(
                bad_action::MATCH_INCONSISTENT,
                format!("{what} needs an MPLS packet: eth_type 0x8847 or 0x8848 in the match, or push_mpls first"),
            )
        }
    }

    fn mpls_set(
        &mut self,
        label: Option<u32>,
        tc: Option<u8>,
        ttl: Option<u8>,
        bos: Option<u8>,
    ) -> Result<(), Refusal> {
        if let Some(p) = self.mpls.push.as_mut() {
            if bos.is_none() {
                p.1 = label.or(p.1);
                p.2 = tc.or(p.2);
                p.3 = ttl.or(p.3);
                return Ok(());
            }
        }
        self.flush()?;
        self.need_mpls("an MPLS set-field")?;
        if ttl == Some(0) {
            return refuse(
                bad_action::BAD_ARGUMENT,
                "an MPLS TTL of 0: TC's mpls modify takes 1-255",
            );
        }
        // Merge into a modify right before it.
        if let Some(Item::Tc(TcAction::Mpls(MplsOp::Modify {
            label: l,
            tc: t,
            ttl: tt,
            bos: b,
        }))) = self.items.last_mut()
        {
            *l = label.or(*l);
            *t = tc.or(*t);
            *tt = ttl.or(*tt);
            *b = bos.or(*b);
            return Ok(());
        }
        self.items.push(Item::Tc(TcAction::Mpls(MplsOp::Modify {
            label,
            tc,
            ttl,
            bos,
        })));
        Ok(())
    }
}
