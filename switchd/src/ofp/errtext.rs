//! OFPT_ERROR messages as the operator reads them (`OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION,
//! code 4)`), so that a refused flow is reported in the switch's own words. The names and
//! numbers are ofproto's (`v13::errors`, `v10::errors`), defined there once.

/// An OpenFlow 1.3 error, e.g. `OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)`.
pub(crate) use ofproto::v13::errors::describe as error13;

/// An OpenFlow 1.0 error, in 1.0's numbering.
pub(crate) use ofproto::v10::errors::describe as error10;
