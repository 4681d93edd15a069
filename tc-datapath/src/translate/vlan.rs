//! VLAN semantics of OpenFlow 1.3 in flower keys and act_vlan.
//!
//! Matching (spec 7.2.3.7, table 13), for the outer tag:
//! - no `vlan_vid` (or mask 0): tagged and untagged frames alike, `eth_type` and the
//!   L3/L4 keys those after the tags (flower with ETH_P_ALL and no VLAN key walks past
//!   the tags);
//! - `vlan_vid=NONE` (value 0, mask 0x1fff or 0x1000): untagged frames only, flower's
//!   `num_of_vlans 0` (TCA_FLOWER_KEY_NUM_OF_VLANS, Linux 5.19+);
//! - `vlan_vid=PRESENT/PRESENT`: any tagged frame, flower's EtherType key 0x8100;
//! - `vlan_vid=PRESENT|VID`: that VID, flower's VLAN id key; `vlan_pcp` adds the
//!   priority key. Other masks of the VID are refused: flower's VLAN id has no mask.
//! - The outer tag is an 802.1Q (0x8100) or an 802.1ad (0x88a8) tag, as in Open vSwitch
//!   (whose flow key parses either as the outer VLAN, and `vlan_vid` matches it): flower
//!   matches the tag's TPID exactly, so a flow that wants a tag becomes one filter per TPID
//!   ([`expand_tpid`]), each of which knows the TPID its set-fields must keep.
//!
//! Push (spec 7.2.6.5, 7.2.6.6): a new tag copies VID and PCP from the outer tag the
//! frame has, else 0 (a set-field after the push overrides either). act_vlan's push
//! takes the VID and PCP as constants, so the translation must know them: from the
//! match (untagged: 0; an exact VID; a matched PCP), or from earlier actions. Where only
//! the PCP is unknown the flow becomes one filter per PCP value (and one for untagged
//! frames when the match allows both), each with its PCP as a key: exact, and what
//! [`expand_pcp`] builds. An unknown VID is refused (4096 filters are not a translation).

use ofproto::v13::errors::{bad_action, bad_match};
use ofproto::v13::oxm::OFPVID_PRESENT;

use super::{refuse, MatchCtx, Refusal, ETH_QINQ, ETH_VLAN};
use crate::filter::FlowerKey;

/// What is known of the frame's outer VLAN tag at some point of the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TagKnown {
    /// `Some(false)`: untagged; `Some(true)`: tagged; `None`: either.
    pub tagged: Option<bool>,
    /// The VID of the outer tag, when tagged and known.
    pub vid: Option<u16>,
    /// The PCP of the outer tag, when tagged and known.
    pub pcp: Option<u8>,
    /// The TPID of the outer tag (0x8100 or 0x88a8), when tagged and known; on an
    /// untagged-only variant, the TPID a (no-op) act_vlan modify is written with.
    pub tpid: Option<u16>,
}

/// Put `vlan_vid` (value, mask) and `vlan_pcp` of the match into the flower key `k`, with
/// `et` the match's `eth_type` (the type after the tags), and record what they say of the
/// tag in `ctx`.
pub(super) fn match_vlan(
    k: &mut FlowerKey,
    ctx: &mut MatchCtx,
    vlan: Option<(u16, u16)>,
    pcp: Option<u8>,
    et: Option<u16>,
) -> Result<(), Refusal> {
    let need_tag = || {
        refuse(
            bad_match::BAD_PREREQ,
            "vlan_pcp needs vlan_vid other than NONE in the match",
        )
    };
    let not_a_tag_type = |t: Option<u16>| -> Result<(), Refusal> {
        if let Some(t @ (ETH_VLAN | ETH_QINQ)) = t {
            return refuse(
                bad_match::BAD_VALUE,
                format!(
                    "eth_type {t:#06x} is a VLAN tag, and eth_type is the type after the tags: match tags with vlan_vid"
                ),
            );
        }
        Ok(())
    };
    if pcp.is_some_and(|p| p > 7) {
        return refuse(bad_match::BAD_VALUE, "vlan_pcp is 3 bits");
    }
    match vlan.map(|(v, m)| (v & m & 0x1fff, m & 0x1fff)) {
        None | Some((_, 0)) => {
            if pcp.is_some() {
                return need_tag();
            }
            not_a_tag_type(et)?;
            k.eth_type = et;
        }
        Some((v, m)) if v & OFPVID_PRESENT == 0 => {
            if m & OFPVID_PRESENT == 0 {
                return refuse(
                    bad_match::BAD_MASK,
                    format!("vlan_vid mask {m:#06x} leaves out OFPVID_PRESENT: a VID without saying whether there is a tag"),
                );
            }
            if v != 0 {
                return refuse(
                    bad_match::BAD_VALUE,
                    "vlan_vid with VID bits but without OFPVID_PRESENT",
                );
            }
            if pcp.is_some() {
                return need_tag();
            }
            not_a_tag_type(et)?;
            // Untagged only: no tag at all, neither in the packet nor in its metadata.
            k.num_of_vlans = Some(0);
            k.eth_type = et;
            ctx.tag = TagKnown {
                tagged: Some(false),
                ..TagKnown::default()
            };
        }
        Some((v, m)) => {
            let vid = if m & 0x0fff == 0 {
                None
            } else if m & 0x0fff == 0x0fff {
                Some(v & 0x0fff)
            } else {
                return refuse(
                    bad_match::BAD_MASK,
                    "vlan_vid can be matched exactly or as 'any tag', flower's VLAN id has no mask",
                );
            };
            k.eth_type = Some(ETH_VLAN);
            k.vlan_id = vid;
            k.vlan_prio = pcp;
            k.vlan_eth_type = et;
            // The TPID is left open here: [`expand_tpid`] makes a filter of each.
            ctx.tag = TagKnown {
                tagged: Some(true),
                vid,
                pcp,
                tpid: None,
            };
        }
    }
    Ok(())
}

/// `k` (with its tag key written as 0x8100 by [`match_vlan`] or [`expand_pcp`]) for an
/// outer tag of `tpid`.
fn with_tpid(k: &FlowerKey, tpid: u16) -> FlowerKey {
    let mut t = k.clone();
    t.eth_type = Some(tpid);
    t
}

/// The variants of a flow for the TPID of its outer tag: a match that wants a tag of an
/// unknown TPID becomes one variant per TPID (0x8100, 0x88a8); with `modify` (an act_vlan
/// modify must name the TPID it writes back) a match that leaves the tag open becomes an
/// untagged-only variant and those two. Anything else stays as it is.
pub(super) fn expand_tpid(
    k: &FlowerKey,
    ctx: &MatchCtx,
    modify: bool,
) -> Vec<(FlowerKey, MatchCtx)> {
    let tagged = |key: &FlowerKey, tpid| {
        let mut c = ctx.clone();
        c.tag.tagged = Some(true);
        c.tag.tpid = Some(tpid);
        (with_tpid(key, tpid), c)
    };
    match (ctx.tag.tagged, ctx.tag.tpid) {
        (Some(true), None) => vec![tagged(k, ETH_VLAN), tagged(k, ETH_QINQ)],
        (None, _) if modify => {
            let mut u = k.clone();
            u.num_of_vlans = Some(0);
            let mut c = ctx.clone();
            // Untagged only: act_vlan's modify does nothing to a frame without a tag.
            c.tag.tpid = Some(ETH_VLAN);
            let mut t = k.clone();
            t.vlan_eth_type = t.eth_type;
            t.eth_type = Some(ETH_VLAN);
            vec![(u, c), tagged(&t, ETH_VLAN), tagged(&t, ETH_QINQ)]
        }
        _ => vec![(k.clone(), ctx.clone())],
    }
}

/// The variants of a flow whose actions need the PCP of the outer tag (a push without a
/// set-field of vlan_pcp) while its match leaves it open: untagged frames (unless the
/// match wants a tag), and tagged frames once per PCP value and per TPID (unless the
/// variant's TPID is known already).
pub(super) fn expand_pcp(k: &FlowerKey, ctx: &MatchCtx) -> Vec<(FlowerKey, MatchCtx)> {
    let mut out = Vec::with_capacity(17);
    if ctx.tag.tagged.is_none() {
        let mut u = k.clone();
        u.num_of_vlans = Some(0);
        let mut c = ctx.clone();
        c.tag = TagKnown {
            tagged: Some(false),
            ..TagKnown::default()
        };
        out.push((u, c));
    }
    let tpids = match ctx.tag.tpid.filter(|_| ctx.tag.tagged == Some(true)) {
        Some(t) => vec![t],
        None => vec![ETH_VLAN, ETH_QINQ],
    };
    for tpid in tpids {
        for p in 0..8u8 {
            let mut t = k.clone();
            if ctx.tag.tagged.is_none() {
                t.vlan_eth_type = t.eth_type;
            }
            t.eth_type = Some(tpid);
            t.vlan_prio = Some(p);
            let mut c = ctx.clone();
            c.tag = TagKnown {
                tagged: Some(true),
                vid: ctx.tag.vid,
                pcp: Some(p),
                tpid: Some(tpid),
            };
            out.push((t, c));
        }
    }
    out
}

/// The VID and PCP of a tag pushed onto a frame whose outer tag is `now`, with the
/// set-fields `vid` and `pcp` that follow the push: spec 7.2.6.5's copy from the outer
/// tag, else 0. `Ok((vid, None))` when the PCP depends on a tag the translation does
/// not know (the caller expands the flow per PCP, [`expand_pcp`]).
pub(super) fn pushed_tag(
    now: TagKnown,
    vid: Option<u16>,
    pcp: Option<u8>,
) -> Result<(u16, Option<u8>), Refusal> {
    let (copy_vid, copy_pcp) = match now.tagged {
        Some(false) => (Some(0), Some(0)),
        Some(true) => (now.vid, now.pcp),
        None => (None, None),
    };
    let Some(vid) = vid.or(copy_vid) else {
        return refuse(
            bad_action::BAD_ARGUMENT,
            "push_vlan without set_field vlan_vid copies the VID of the frame's tag, which this flow's match does not pin (match vlan_vid=NONE or an exact VID, or set vlan_vid after the push): TC's vlan push takes the VID as a constant",
        );
    };
    Ok((vid, pcp.or(copy_pcp)))
}
