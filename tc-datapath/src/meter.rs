//! OpenFlow meters (METER_MOD) kept for the translation of meter instructions into police.

use std::collections::BTreeMap;

use ofproto::v13::{MeterBand, MeterMod, MeterModCommand};
use ofproto::OfpErrorCode;

use crate::filter::PoliceRate;
use crate::flow::Refusal;

/// `OFPMF_*`
pub mod flags {
    pub use ofproto::v13::{OFPMF_BURST as BURST, OFPMF_KBPS as KBPS};
    pub use ofproto::v13::{OFPMF_PKTPS as PKTPS, OFPMF_STATS as STATS};
}

/// `OFPM_CONTROLLER` is the virtual meter of the packets sent to the controller (1.3.5
/// section 7.3.4.4), the bound on packet-ins; without it, [`CONTROLLER_DEFAULT`].
pub use ofproto::v13::{OFPM_ALL, OFPM_CONTROLLER, OFPM_MAX};
/// The bound on packets that one filter sends to the controller until a controller sets
/// OFPM_CONTROLLER: 1000 packets per second, bursts of 100. A packet storm must not starve
/// the daemon or flood the controller.
pub const CONTROLLER_DEFAULT: PoliceRate = PoliceRate::Packets {
    rate: 1000,
    burst: 100,
};

/// OFPET_METER_MOD_FAILED / OFPMMFC_UNKNOWN_METER: also the answer to a flow whose meter
/// instruction names a meter that does not exist (spec 7.2.4 / A.4.4).
pub use ofproto::v13::errors::meter_mod_failed::UNKNOWN_METER;
use ofproto::v13::errors::meter_mod_failed::{BAD_FLAGS, BAD_RATE};
use ofproto::v13::errors::meter_mod_failed::{INVALID_METER, METER_EXISTS};

/// One meter: its flags and bands as METER_MOD gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub flags: u16,
    pub bands: Vec<MeterBand>,
}

/// Meter id -> bands, from METER_MOD.
///
/// A meter becomes one police action: TC police can only drop, so only drop bands are
/// accepted; of several drop bands the lowest rate is the one that acts (any rate above
/// it is dropped), so that one is used. After a modify or delete the caller translates
/// again the flows that use the meter (OpenFlow deletes the flows of a deleted meter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterTable {
    meters: BTreeMap<u32, Meter>,
}

fn refuse(error: OfpErrorCode, reason: String) -> Refusal {
    Refusal { error, reason }
}

impl MeterTable {
    pub fn new() -> Self {
        MeterTable::default()
    }

    pub fn get(&self, id: u32) -> Option<&Meter> {
        self.meters.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &Meter)> + '_ {
        self.meters.iter().map(|(i, m)| (*i, m))
    }

    pub fn contains(&self, id: u32) -> bool {
        self.meters.contains_key(&id)
    }

    /// Put `meter` back as meter `id` (undoing a change), without the checks of
    /// [`MeterTable::apply`]; what was there before.
    pub fn insert(&mut self, id: u32, meter: Meter) -> Option<Meter> {
        self.meters.insert(id, meter)
    }

    pub fn remove(&mut self, id: u32) -> Option<Meter> {
        self.meters.remove(&id)
    }

    /// Apply a METER_MOD, or say which OpenFlow error refuses it.
    pub fn apply(&mut self, m: &MeterMod) -> Result<(), Refusal> {
        let id = m.meter_id;
        if m.command == MeterModCommand::Delete {
            if id == OFPM_ALL {
                self.meters.clear();
            } else {
                self.meters.remove(&id);
            }
            return Ok(());
        }
        if (id == 0 || id > OFPM_MAX) && id != OFPM_CONTROLLER {
            return Err(refuse(
                INVALID_METER,
                format!("meter {id} is not a valid meter id (1..=0xffff0000, or CONTROLLER)"),
            ));
        }
        let unit = m.flags & (flags::KBPS | flags::PKTPS);
        if unit != flags::KBPS && unit != flags::PKTPS {
            return Err(refuse(
                BAD_FLAGS,
                format!("meter {id} must say exactly one of kbps and pktps"),
            ));
        }
        for b in &m.bands {
            match b {
                MeterBand::Drop { rate: 0, .. } => {
                    return Err(refuse(BAD_RATE, format!("meter {id} has a band of rate 0")))
                }
                MeterBand::Drop { .. } => {}
                MeterBand::DscpRemark { .. } => {
                    return Err(refuse(
                        OfpErrorCode::METER_BAD_BAND,
                        format!(
                        "meter {id}: dscp_remark bands are not supported, TC police can only drop"
                    ),
                    ))
                }
                MeterBand::Experimenter { .. } => {
                    return Err(refuse(
                        OfpErrorCode::METER_BAD_BAND,
                        format!("meter {id}: experimenter bands are not supported"),
                    ))
                }
            }
        }
        let exists = self.meters.contains_key(&id);
        match m.command {
            MeterModCommand::Add if exists => {
                return Err(refuse(METER_EXISTS, format!("meter {id} already exists")))
            }
            MeterModCommand::Modify if !exists => {
                return Err(refuse(UNKNOWN_METER, format!("meter {id} does not exist")))
            }
            _ => {}
        }
        self.meters.insert(
            id,
            Meter {
                flags: m.flags,
                bands: m.bands.clone(),
            },
        );
        Ok(())
    }

    /// The bound on the packets a filter copies to the controller: OFPM_CONTROLLER's rate
    /// if a controller set that meter (`None`: it has no band, no bound), otherwise
    /// [`CONTROLLER_DEFAULT`].
    pub(crate) fn controller_rate(&self) -> Option<PoliceRate> {
        match self.police(OFPM_CONTROLLER) {
            Ok(r) => r,
            Err(_) => Some(CONTROLLER_DEFAULT),
        }
    }

    /// The police rate that implements meter `id`; `Ok(None)` for a meter without bands
    /// (it never drops).
    pub fn police(&self, id: u32) -> Result<Option<PoliceRate>, Refusal> {
        let m = self.meters.get(&id).ok_or_else(|| {
            refuse(
                UNKNOWN_METER,
                format!("the flow uses meter {id}, which does not exist"),
            )
        })?;
        let band = m
            .bands
            .iter()
            .filter_map(|b| match b {
                MeterBand::Drop { rate, burst_size } => Some((*rate, *burst_size)),
                _ => None,
            })
            .min_by_key(|b| b.0);
        let Some((rate, burst)) = band else {
            return Ok(None);
        };
        let burst = (m.flags & flags::BURST != 0).then_some(burst);
        Ok(Some(if m.flags & flags::PKTPS != 0 {
            // Without a burst size: a tenth of a second of packets, at least one.
            let burst = burst.map(u64::from).unwrap_or((rate as u64 / 10).max(1));
            PoliceRate::Packets {
                rate: rate as u64,
                burst,
            }
        } else {
            let bytes = rate as u64 * 1000 / 8;
            // Burst sizes of kbps meters are in kilobits; without one, a tenth of a
            // second of traffic, at least two full-size frames.
            let burst = burst
                .map(|b| b as u64 * 1000 / 8)
                .unwrap_or((bytes / 10).max(2 * 1514));
            PoliceRate::Bytes { rate: bytes, burst }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(id: u32, flags: u16, bands: Vec<MeterBand>) -> MeterMod {
        MeterMod {
            command: MeterModCommand::Add,
            flags,
            meter_id: id,
            bands,
        }
    }

    #[test]
    fn kbps_meter_becomes_byte_police_with_the_lowest_drop_band() {
        let mut t = MeterTable::new();
        let bands = vec![
            MeterBand::Drop {
                rate: 10_000,
                burst_size: 0,
            },
            MeterBand::Drop {
                rate: 1_000,
                burst_size: 800,
            },
        ];
        t.apply(&add(1, flags::KBPS | flags::BURST, bands)).unwrap();
        assert_eq!(
            t.police(1).unwrap(),
            Some(PoliceRate::Bytes {
                rate: 125_000,
                burst: 100_000
            })
        );
        t.apply(&add(
            2,
            flags::PKTPS,
            vec![MeterBand::Drop {
                rate: 100,
                burst_size: 0,
            }],
        ))
        .unwrap();
        assert_eq!(
            t.police(2).unwrap(),
            Some(PoliceRate::Packets {
                rate: 100,
                burst: 10
            })
        );
    }

    #[test]
    fn refusals_carry_meter_mod_failed_codes() {
        let mut t = MeterTable::new();
        let drop = vec![MeterBand::Drop {
            rate: 1,
            burst_size: 0,
        }];
        t.apply(&add(1, flags::KBPS, drop.clone())).unwrap();
        let e = t.apply(&add(1, flags::KBPS, drop.clone())).unwrap_err();
        assert_eq!(e.error, METER_EXISTS);
        let e = t.apply(&add(0, flags::KBPS, drop.clone())).unwrap_err();
        assert_eq!(e.error, INVALID_METER);
        let e = t.apply(&add(3, 0, drop.clone())).unwrap_err();
        assert_eq!(e.error, BAD_FLAGS);
        let remark = vec![MeterBand::DscpRemark {
            rate: 1,
            burst_size: 0,
            prec_level: 1,
        }];
        let e = t.apply(&add(4, flags::KBPS, remark)).unwrap_err();
        assert_eq!(e.error, OfpErrorCode::METER_BAD_BAND);
        assert!(e.reason.contains("dscp_remark"), "{}", e.reason);
        let e = t.police(9).unwrap_err();
        assert_eq!(e.error, UNKNOWN_METER);
        assert!(e.reason.contains("meter 9"));
        let mut del = add(1, 0, vec![]);
        del.command = MeterModCommand::Delete;
        t.apply(&del).unwrap();
        assert!(t.get(1).is_none());
    }
}
