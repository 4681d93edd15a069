//! OpenFlow 1.3 error codes (1.3.5 section 7.4.4, `enum ofp_error_type` and its code
//! enums), each defined once with the name it is printed by.
//!
//! `bad_action::BAD_OUT_PORT` is the [`OfpErrorCode`] of `OFPBAC_BAD_OUT_PORT`;
//! [`describe`] prints an error the way the operator looks it up in the specification.

use super::ErrorMsg;
pub use crate::error::err_type;
use crate::error::OfpErrorCode;

crate::error::error_codes! {
    NAMES: crate::error::OfpErrorCode = crate::error::OfpErrorCode::new;
    HELLO_FAILED hello_failed "OFPHFC_" {
        INCOMPATIBLE = 0,
        EPERM = 1,
    }
    BAD_REQUEST bad_request "OFPBRC_" {
        BAD_VERSION = 0,
        BAD_TYPE = 1,
        BAD_MULTIPART = 2,
        BAD_EXPERIMENTER = 3,
        BAD_EXP_TYPE = 4,
        EPERM = 5,
        BAD_LEN = 6,
        BUFFER_EMPTY = 7,
        BUFFER_UNKNOWN = 8,
        BAD_TABLE_ID = 9,
        IS_SLAVE = 10,
        BAD_PORT = 11,
        BAD_PACKET = 12,
        MULTIPART_BUFFER_OVERFLOW = 13,
    }
    BAD_ACTION bad_action "OFPBAC_" {
        BAD_TYPE = 0,
        BAD_LEN = 1,
        BAD_EXPERIMENTER = 2,
        BAD_EXP_TYPE = 3,
        BAD_OUT_PORT = 4,
        BAD_ARGUMENT = 5,
        EPERM = 6,
        TOO_MANY = 7,
        BAD_QUEUE = 8,
        BAD_OUT_GROUP = 9,
        MATCH_INCONSISTENT = 10,
        UNSUPPORTED_ORDER = 11,
        BAD_TAG = 12,
        BAD_SET_TYPE = 13,
        BAD_SET_LEN = 14,
        BAD_SET_ARGUMENT = 15,
    }
    BAD_INSTRUCTION bad_instruction "OFPBIC_" {
        UNKNOWN_INST = 0,
        UNSUP_INST = 1,
        BAD_TABLE_ID = 2,
        UNSUP_METADATA = 3,
        UNSUP_METADATA_MASK = 4,
        BAD_EXPERIMENTER = 5,
        BAD_EXP_TYPE = 6,
        BAD_LEN = 7,
        EPERM = 8,
    }
    BAD_MATCH bad_match "OFPBMC_" {
        BAD_TYPE = 0,
        BAD_LEN = 1,
        BAD_TAG = 2,
        BAD_DL_ADDR_MASK = 3,
        BAD_NW_ADDR_MASK = 4,
        BAD_WILDCARDS = 5,
        BAD_FIELD = 6,
        BAD_VALUE = 7,
        BAD_MASK = 8,
        BAD_PREREQ = 9,
        DUP_FIELD = 10,
        EPERM = 11,
    }
    FLOW_MOD_FAILED flow_mod_failed "OFPFMFC_" {
        UNKNOWN = 0,
        TABLE_FULL = 1,
        BAD_TABLE_ID = 2,
        OVERLAP = 3,
        EPERM = 4,
        BAD_TIMEOUT = 5,
        BAD_COMMAND = 6,
        BAD_FLAGS = 7,
    }
    GROUP_MOD_FAILED group_mod_failed "OFPGMFC_" {
        GROUP_EXISTS = 0,
        INVALID_GROUP = 1,
        WEIGHT_UNSUPPORTED = 2,
        OUT_OF_GROUPS = 3,
        OUT_OF_BUCKETS = 4,
        CHAINING_UNSUPPORTED = 5,
        WATCH_UNSUPPORTED = 6,
        LOOP = 7,
        UNKNOWN_GROUP = 8,
        CHAINED_GROUP = 9,
        BAD_TYPE = 10,
        BAD_COMMAND = 11,
        BAD_BUCKET = 12,
        BAD_WATCH = 13,
        EPERM = 14,
    }
    PORT_MOD_FAILED port_mod_failed "OFPPMFC_" {
        BAD_PORT = 0,
        BAD_HW_ADDR = 1,
        BAD_CONFIG = 2,
        BAD_ADVERTISE = 3,
        EPERM = 4,
    }
    TABLE_MOD_FAILED table_mod_failed "OFPTMFC_" {
        BAD_TABLE = 0,
        BAD_CONFIG = 1,
        EPERM = 2,
    }
    QUEUE_OP_FAILED queue_op_failed "OFPQOFC_" {
        BAD_PORT = 0,
        BAD_QUEUE = 1,
        EPERM = 2,
    }
    SWITCH_CONFIG_FAILED switch_config_failed "OFPSCFC_" {
        BAD_FLAGS = 0,
        BAD_LEN = 1,
        EPERM = 2,
    }
    ROLE_REQUEST_FAILED role_request_failed "OFPRRFC_" {
        STALE = 0,
        UNSUP = 1,
        BAD_ROLE = 2,
    }
    METER_MOD_FAILED meter_mod_failed "OFPMMFC_" {
        UNKNOWN = 0,
        METER_EXISTS = 1,
        INVALID_METER = 2,
        UNKNOWN_METER = 3,
        BAD_COMMAND = 4,
        BAD_FLAGS = 5,
        BAD_RATE = 6,
        BAD_BURST = 7,
        BAD_BAND = 8,
        BAD_BAND_VALUE = 9,
        OUT_OF_METERS = 10,
        OUT_OF_BANDS = 11,
    }
    TABLE_FEATURES_FAILED table_features_failed "OFPTFFC_" {
        BAD_TABLE = 0,
        BAD_METADATA = 1,
        BAD_TYPE = 2,
        BAD_LEN = 3,
        BAD_ARGUMENT = 4,
        EPERM = 5,
    }
}

/// An error code as the operator reads it, e.g. `OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION,
/// code 4)`; a code the specification does not name keeps its numbers.
pub fn describe_code(code: OfpErrorCode) -> String {
    crate::error::describe(NAMES, code.err_type, code.code)
}

/// An OFPT_ERROR as the operator reads it: [`describe_code`], or the experimenter's
/// numbers.
pub fn describe(e: &ErrorMsg) -> String {
    match e {
        ErrorMsg::Standard { code, .. } => describe_code(*code),
        ErrorMsg::Experimenter {
            exp_code,
            experimenter,
            ..
        } => format!("experimenter 0x{experimenter:08x} error {exp_code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn errors_are_named_as_in_the_specification() {
        let e = ErrorMsg::Standard {
            code: OfpErrorCode::new(2, 4),
            data: Bytes::new(),
        };
        assert_eq!(
            describe(&e),
            "OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)"
        );
        assert_eq!(bad_action::BAD_OUT_PORT, OfpErrorCode::new(2, 4));
        assert_eq!(
            describe_code(meter_mod_failed::UNKNOWN_METER),
            "OFPMMFC_UNKNOWN_METER (OFPET_METER_MOD_FAILED, code 3)"
        );
        assert_eq!(
            describe_code(OfpErrorCode::new(err_type::BAD_MATCH, 40)),
            "OFPET_BAD_MATCH code 40"
        );
        assert_eq!(
            describe_code(OfpErrorCode::new(40, 1)),
            "error type 40 code 1"
        );
        let e = ErrorMsg::Experimenter {
            experimenter: 0x2320,
            exp_code: 7,
            data: Bytes::new(),
        };
        assert_eq!(describe(&e), "experimenter 0x00002320 error 7");
    }

    /// Each type's codes are the specification's enum: numbered from 0 without a gap, so
    /// a missing or misnumbered name shows here.
    #[test]
    fn every_type_is_numbered_from_zero_without_a_gap() {
        for (i, t) in NAMES.iter().enumerate() {
            assert_eq!(usize::from(t.err_type), i, "{}", t.name);
            for (j, (n, name)) in t.codes.iter().enumerate() {
                assert_eq!(usize::from(*n), j, "{}{name}", t.prefix);
            }
        }
    }
}
