//! act_sample: copy every packet to a psample group (the packets for the controller).

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode(group: u32, trunc: Option<u32>, index: u32, w: &mut NlaWriter) {
    w.put(TCA_SAMPLE_PARMS, &tc_gen(index, TC_ACT_PIPE));
    w.u32(TCA_SAMPLE_RATE, 1);
    if let Some(t) = trunc {
        w.u32(TCA_SAMPLE_TRUNC_SIZE, t);
    }
    w.u32(TCA_SAMPLE_PSAMPLE_GROUP, group);
}

/// A sample of another rate than 1 is not one this crate writes: `None`.
pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let group = o
        .get(TCA_SAMPLE_PSAMPLE_GROUP)
        .map(nla::get_u32)
        .transpose()?
        .ok_or(NlaError("sample without a psample group"))?;
    let trunc = o.get(TCA_SAMPLE_TRUNC_SIZE).map(nla::get_u32).transpose()?;
    let rate = o.get(TCA_SAMPLE_RATE).map(nla::get_u32).transpose()?;
    if rate != Some(1) {
        return Ok(None);
    }
    Ok(Some(TcAction::Sample { group, trunc }))
}
