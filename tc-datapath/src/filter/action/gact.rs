//! act_gact: a verdict (continue into the bridge, drop, next action, goto chain).

use super::{tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// The final verdict of a gact action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// TC_ACT_OK: let the packet continue into the Linux bridge (OpenFlow NORMAL).
    Ok,
    /// TC_ACT_SHOT: drop.
    Shot,
    /// TC_ACT_PIPE: go on with the next action.
    Pipe,
    /// `goto chain N` (OpenFlow goto_table).
    GotoChain(u32),
}

impl Verdict {
    fn to_raw(self) -> i32 {
        match self {
            Verdict::Ok => TC_ACT_OK,
            Verdict::Shot => TC_ACT_SHOT,
            Verdict::Pipe => TC_ACT_PIPE,
            Verdict::GotoChain(c) => TC_ACT_GOTO_CHAIN | (c & 0x0fff_ffff) as i32,
        }
    }
    fn from_raw(v: i32) -> Option<Verdict> {
        Some(match v {
            TC_ACT_OK => Verdict::Ok,
            TC_ACT_SHOT => Verdict::Shot,
            TC_ACT_PIPE => Verdict::Pipe,
            v if v & TC_ACT_EXT_OPCODE_MAX == TC_ACT_GOTO_CHAIN => {
                Verdict::GotoChain((v & 0x0fff_ffff) as u32)
            }
            _ => return None,
        })
    }
}

/// `TCA_GACT_PARMS`: a bare `struct tc_gen` whose action is the verdict.
pub(super) fn encode(v: Verdict, index: u32, w: &mut NlaWriter) {
    w.put(TCA_GACT_PARMS, &tc_gen(index, v.to_raw()));
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_GACT_PARMS)
        .ok_or(NlaError("gact without parameters"))?;
    // tc_gen's action field.
    let action = nla::get_i32(p.get(8..).unwrap_or(&[]))?;
    Ok(Verdict::from_raw(action).map(TcAction::Gact))
}
