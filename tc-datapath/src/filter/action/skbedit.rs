//! act_skbedit: set the packet's firewall mark.

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

pub(super) fn encode_mark(mark: u32, index: u32, w: &mut NlaWriter) {
    w.put(TCA_SKBEDIT_PARMS, &tc_gen(index, TC_ACT_PIPE));
    w.u32(TCA_SKBEDIT_MARK, mark);
}

/// An skbedit that sets something else than the mark is not one this crate writes: `None`.
pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    o.get(TCA_SKBEDIT_MARK)
        .map(|m| Ok(TcAction::SkbeditMark(nla::get_u32(m)?)))
        .transpose()
}
