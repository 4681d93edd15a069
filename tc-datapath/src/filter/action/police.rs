//! act_police: a token bucket in bytes or packets per second (an OpenFlow meter's drop
//! band); exceeding packets are dropped or jump over the following actions.

use super::TcAction;
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// A police rate: what an OpenFlow meter's drop band becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoliceRate {
    /// Bytes per second and bucket depth in bytes.
    Bytes { rate: u64, burst: u64 },
    /// Packets per second and bucket depth in packets.
    Packets { rate: u64, burst: u64 },
}

const PSCHED_SHIFT: u32 = 6;

/// Nanoseconds a token bucket of `size` units takes to fill at `rate` units/s, in psched
/// ticks (64 ns), as the kernel stores bursts.
fn xmit_ticks(size: u64, rate: u64) -> u64 {
    if rate == 0 {
        return 0;
    }
    let ns = (size as u128 * 1_000_000_000u128) / rate as u128;
    (ns >> PSCHED_SHIFT).min(u64::MAX as u128) as u64
}

fn ticks_to_size(ticks: u64, rate: u64) -> u64 {
    let ns = (ticks as u128) << PSCHED_SHIFT;
    // Saturating: a dump's burst and rate are the kernel's (or anyone's) numbers.
    (ns.saturating_mul(rate as u128) / 1_000_000_000u128).min(u64::MAX as u128) as u64
}

/// `TCA_POLICE_TBF`, `TCA_POLICE_RESULT` and the rate attributes. Exceeding packets are
/// dropped, or with `jump_to` skip to the action at that index.
pub(super) fn encode(rate: &PoliceRate, jump_to: Option<u32>, index: u32, w: &mut NlaWriter) {
    let exceed = match jump_to {
        Some(to) => TC_ACT_JUMP | (to & 0x1ff) as i32,
        None => TC_ACT_SHOT,
    };
    // struct tc_police: index, action, limit, burst, mtu, rate, peakrate,
    // refcnt, bindcnt, capab; struct tc_ratespec: cell_log, linklayer,
    // overhead, cell_align, mpu, rate.
    let mut p = Vec::with_capacity(56);
    p.extend_from_slice(&index.to_ne_bytes());
    p.extend_from_slice(&exceed.to_ne_bytes());
    p.extend_from_slice(&0u32.to_ne_bytes());
    let (burst_ticks, byte_rate) = match rate {
        PoliceRate::Bytes { rate, burst } => (xmit_ticks(*burst, *rate), *rate),
        PoliceRate::Packets { .. } => (0, 0),
    };
    p.extend_from_slice(&(burst_ticks.min(u32::MAX as u64) as u32).to_ne_bytes());
    // mtu: without one the kernel derives 255 << cell_log and would call
    // every larger packet (a GRO aggregate) exceeding.
    p.extend_from_slice(&u32::MAX.to_ne_bytes());
    let mut spec = [0u8; 12];
    if byte_rate > 0 {
        spec[0] = 1; // cell_log: qdisc_get_rtab wants one, act_police ignores it
        spec[1] = TC_LINKLAYER_ETHERNET;
        spec[8..12].copy_from_slice(&(byte_rate.min(u32::MAX as u64) as u32).to_ne_bytes());
    }
    p.extend_from_slice(&spec);
    p.extend_from_slice(&[0u8; 12]);
    p.extend_from_slice(&[0u8; 12]);
    w.put(TCA_POLICE_TBF, &p);
    w.u32(TCA_POLICE_RESULT, TC_ACT_PIPE as u32);
    match rate {
        PoliceRate::Bytes { rate, .. } => {
            w.put(TCA_POLICE_RATE, &[0u8; 1024]);
            if *rate > u32::MAX as u64 {
                w.u64(TCA_POLICE_RATE64, *rate);
            }
        }
        PoliceRate::Packets { rate, burst } => {
            w.u64(TCA_POLICE_PKTRATE64, *rate);
            w.u64(TCA_POLICE_PKTBURST64, xmit_ticks(*burst, *rate));
        }
    }
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_POLICE_TBF)
        .ok_or(NlaError("police without parameters"))?;
    let burst = nla::get_u32(p.get(12..).unwrap_or(&[]))? as u64;
    let rate32 = nla::get_u32(p.get(28..).unwrap_or(&[]))? as u64;
    let rate64 = o.get(TCA_POLICE_RATE64).map(nla::get_u64).transpose()?;
    let pps = o.get(TCA_POLICE_PKTRATE64).map(nla::get_u64).transpose()?;
    let ppsburst = o.get(TCA_POLICE_PKTBURST64).map(nla::get_u64).transpose()?;
    let exceed = nla::get_i32(p.get(4..).unwrap_or(&[]))?;
    let rate = match pps {
        Some(rate) if rate > 0 => PoliceRate::Packets {
            rate,
            burst: ticks_to_size(ppsburst.unwrap_or(0), rate),
        },
        _ => {
            let rate = rate64.unwrap_or(rate32);
            PoliceRate::Bytes {
                rate,
                burst: ticks_to_size(burst, rate),
            }
        }
    };
    Ok(Some(if exceed & TC_ACT_EXT_OPCODE_MAX == TC_ACT_JUMP {
        TcAction::PoliceJump {
            rate,
            to: (exceed & 0x1ff) as u32,
        }
    } else {
        TcAction::Police(rate)
    }))
}

#[cfg(test)]
mod fuzz_regressions {
    /// regress/fuzz rtnetlink (crash-e7487fd1): a dumped police action whose burst ticks
    /// times its rate overflows u128 is read as the largest burst, not an overflow panic.
    #[test]
    fn a_huge_burst_saturates() {
        assert_eq!(super::ticks_to_size(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(super::ticks_to_size(15625, 1_000_000_000), 1_000_000);
    }
}
