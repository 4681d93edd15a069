//! act_csum: recompute the checksums that an earlier pedit made stale.
//! `TCA_CSUM_UPDATE_FLAG_*`: which checksums [`super::TcAction::Csum`] updates.

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub const IPV4HDR: u32 = 1;
pub const ICMP: u32 = 2;
pub const TCP: u32 = 8;
pub const UDP: u32 = 16;
pub const SCTP: u32 = 64;

/// `TCA_CSUM_PARMS`: struct tc_csum { tc_gen, update_flags }.
pub(super) fn encode(flags: u32, index: u32, w: &mut NlaWriter) {
    w.put_parts(
        TCA_CSUM_PARMS,
        &[&tc_gen(index, TC_ACT_PIPE), &flags.to_ne_bytes()],
    );
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_CSUM_PARMS)
        .ok_or(NlaError("csum without parameters"))?;
    Ok(Some(TcAction::Csum(nla::get_u32(
        p.get(20..).unwrap_or(&[]),
    )?)))
}
