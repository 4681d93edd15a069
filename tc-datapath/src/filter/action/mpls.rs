//! act_mpls (Linux 5.3+): push, pop or modify the outer MPLS label stack entry, or
//! decrement its TTL.

use super::{after_tc_gen, tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// What act_mpls does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MplsOp {
    /// Pop the outer entry; `proto` is the EtherType of what follows it.
    Pop { proto: u16 },
    /// Push an entry (`proto` 0x8847 or 0x8848) with these fields; the bottom-of-stack
    /// bit is set by the kernel when the packet had no MPLS entry before.
    Push {
        proto: u16,
        label: u32,
        tc: u8,
        ttl: u8,
    },
    /// Rewrite the given fields of the outer entry.
    Modify {
        label: Option<u32>,
        tc: Option<u8>,
        ttl: Option<u8>,
        bos: Option<u8>,
    },
    /// Decrement the outer entry's TTL (a packet whose TTL reaches 0 is dropped).
    DecTtl,
}

pub(super) fn encode(op: &MplsOp, index: u32, w: &mut NlaWriter) {
    let parms = |a: i32, w: &mut NlaWriter| {
        w.put_parts(
            TCA_MPLS_PARMS,
            &[&tc_gen(index, TC_ACT_PIPE), &a.to_ne_bytes()],
        )
    };
    match *op {
        MplsOp::Pop { proto } => {
            parms(TCA_MPLS_ACT_POP, w);
            w.be16(TCA_MPLS_PROTO, proto);
        }
        MplsOp::Push {
            proto,
            label,
            tc,
            ttl,
        } => {
            parms(TCA_MPLS_ACT_PUSH, w);
            w.be16(TCA_MPLS_PROTO, proto);
            w.u32(TCA_MPLS_LABEL, label);
            w.u8(TCA_MPLS_TC, tc);
            w.u8(TCA_MPLS_TTL, ttl);
        }
        MplsOp::Modify {
            label,
            tc,
            ttl,
            bos,
        } => {
            parms(TCA_MPLS_ACT_MODIFY, w);
            if let Some(v) = label {
                w.u32(TCA_MPLS_LABEL, v);
            }
            if let Some(v) = tc {
                w.u8(TCA_MPLS_TC, v);
            }
            if let Some(v) = ttl {
                w.u8(TCA_MPLS_TTL, v);
            }
            if let Some(v) = bos {
                w.u8(TCA_MPLS_BOS, v);
            }
        }
        MplsOp::DecTtl => parms(TCA_MPLS_ACT_DEC_TTL, w),
    }
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_MPLS_PARMS)
        .ok_or(NlaError("mpls without parameters"))?;
    let u8_of = |t| o.get(t).map(nla::get_u8).transpose();
    let label = o.get(TCA_MPLS_LABEL).map(nla::get_u32).transpose()?;
    let proto = o.get(TCA_MPLS_PROTO).map(nla::get_be16).transpose()?;
    let (tc, ttl, bos) = (
        u8_of(TCA_MPLS_TC)?,
        u8_of(TCA_MPLS_TTL)?,
        u8_of(TCA_MPLS_BOS)?,
    );
    Ok(match after_tc_gen(p)? {
        TCA_MPLS_ACT_POP => proto.map(|proto| MplsOp::Pop { proto }),
        TCA_MPLS_ACT_PUSH => match (proto, label, ttl) {
            (Some(proto), Some(label), Some(ttl)) => Some(MplsOp::Push {
                proto,
                label,
                tc: tc.unwrap_or(0),
                ttl,
            }),
            _ => None,
        },
        TCA_MPLS_ACT_MODIFY => Some(MplsOp::Modify {
            label,
            tc,
            ttl,
            bos,
        }),
        TCA_MPLS_ACT_DEC_TTL => Some(MplsOp::DecTtl),
        _ => None,
    }
    .map(TcAction::Mpls))
}
