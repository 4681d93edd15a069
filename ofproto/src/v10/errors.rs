//! OpenFlow 1.0 error numbering (spec 5.4.4, `enum ofp_error_type` and its code enums).
//!
//! The shared decoder model ([`crate::error`]) names errors in OpenFlow 1.3 numbering; the
//! 1.0 decoder produces those internally and [`error_code`] translates them into the numbers a
//! 1.0 peer understands. [`super::decode`] applies it, so its errors are already in 1.0
//! numbering.

use crate::error::{err_type as e13, OfpErrorCode};

/// OpenFlow 1.0 error types.
pub mod err_type {
    pub const HELLO_FAILED: u16 = 0;
    pub const BAD_REQUEST: u16 = 1;
    pub const BAD_ACTION: u16 = 2;
    pub const FLOW_MOD_FAILED: u16 = 3;
    pub(crate) const PORT_MOD_FAILED: u16 = 4;
    pub(crate) const QUEUE_OP_FAILED: u16 = 5;
}

/// The code alone: 1.0's code modules hold the `code` field's values.
const fn code(_err_type: u16, code: u16) -> u16 {
    code
}

crate::error::error_codes! {
    NAMES: u16 = crate::v10::errors::code;
    HELLO_FAILED hello_failed "OFPHFC_" {
        INCOMPATIBLE = 0,
        EPERM = 1,
    }
    BAD_REQUEST bad_request "OFPBRC_" {
        BAD_VERSION = 0,
        BAD_TYPE = 1,
        BAD_STAT = 2,
        BAD_VENDOR = 3,
        BAD_SUBTYPE = 4,
        EPERM = 5,
        BAD_LEN = 6,
        BUFFER_EMPTY = 7,
        BUFFER_UNKNOWN = 8,
    }
    BAD_ACTION bad_action "OFPBAC_" {
        BAD_TYPE = 0,
        BAD_LEN = 1,
        BAD_VENDOR = 2,
        BAD_VENDOR_TYPE = 3,
        BAD_OUT_PORT = 4,
        BAD_ARGUMENT = 5,
        EPERM = 6,
        TOO_MANY = 7,
        BAD_QUEUE = 8,
    }
    FLOW_MOD_FAILED flow_mod_failed "OFPFMFC_" {
        ALL_TABLES_FULL = 0,
        OVERLAP = 1,
        EPERM = 2,
        BAD_EMERG_TIMEOUT = 3,
        BAD_COMMAND = 4,
        UNSUPPORTED = 5,
    }
    PORT_MOD_FAILED port_mod_failed "OFPPMFC_" {
        BAD_PORT = 0,
        BAD_HW_ADDR = 1,
    }
    QUEUE_OP_FAILED queue_op_failed "OFPQOFC_" {
        BAD_PORT = 0,
        BAD_QUEUE = 1,
        EPERM = 2,
    }
}

/// An OpenFlow 1.0 error as the operator reads it, in 1.0's numbering, e.g.
/// `OFPFMFC_UNSUPPORTED (OFPET_FLOW_MOD_FAILED, code 5)`.
pub fn describe(e: &super::ErrorMsg) -> String {
    crate::error::describe(NAMES, e.err_type, e.code)
}

/// OpenFlow 1.3 FLOW_MOD_FAILED / BAD_COMMAND, which the 1.0 decoder uses for an unknown
/// flow_mod command (the shared model does not name it).
pub(crate) const FLOW_MOD_BAD_COMMAND_13: OfpErrorCode = OfpErrorCode::FLOW_MOD_BAD_COMMAND;

const fn c(t: u16, code: u16) -> OfpErrorCode {
    OfpErrorCode::new(t, code)
}

/// Translate an error in OpenFlow 1.3 numbering into the OpenFlow 1.0 error a 1.0 peer must
/// be sent. Codes with no 1.0 counterpart go to the closest one, as commented below.
pub fn error_code(e13: OfpErrorCode) -> OfpErrorCode {
    use bad_action as ba;
    use bad_request as br;
    use err_type as t;
    let code = e13.code;
    match e13.err_type {
        // Same numbering in both versions.
        e13::HELLO_FAILED => c(t::HELLO_FAILED, code.min(hello_failed::EPERM)),
        e13::BAD_REQUEST => match code {
            // BAD_VERSION .. BUFFER_UNKNOWN: identical (BAD_MULTIPART = BAD_STAT,
            // BAD_EXPERIMENTER = BAD_VENDOR, BAD_EXP_TYPE = BAD_SUBTYPE).
            0..=8 => c(t::BAD_REQUEST, code),
            // IS_SLAVE: the 1.0 switch refuses a request it may not carry out.
            10 => c(t::BAD_REQUEST, br::EPERM),
            // BAD_TABLE_ID, BAD_PORT, BAD_PACKET, MULTIPART_BUFFER_OVERFLOW and anything newer
            // name a request field or body 1.0 cannot describe more precisely than "this
            // request is not acceptable"; EPERM is the generic refusal 1.0 has.
            _ => c(t::BAD_REQUEST, br::EPERM),
        },
        e13::BAD_ACTION => match code {
            // BAD_TYPE .. BAD_QUEUE: identical (BAD_EXPERIMENTER = BAD_VENDOR,
            // BAD_EXP_TYPE = BAD_VENDOR_TYPE).
            0..=8 => c(t::BAD_ACTION, code),
            // BAD_OUT_GROUP: 1.0 has no groups; the output target is what is wrong.
            9 => c(t::BAD_ACTION, ba::BAD_OUT_PORT),
            // BAD_SET_LEN: a set-field action of the wrong length.
            14 => c(t::BAD_ACTION, ba::BAD_LEN),
            // BAD_SET_TYPE: an unknown set-field is an unknown action in 1.0.
            13 => c(t::BAD_ACTION, ba::BAD_TYPE),
            // MATCH_INCONSISTENT, UNSUPPORTED_ORDER, BAD_TAG, BAD_SET_ARGUMENT: the action's
            // argument does not fit the flow.
            _ => c(t::BAD_ACTION, ba::BAD_ARGUMENT),
        },
        // 1.0 has no instructions: the action list stands where 1.3 has instructions, so an
        // instruction error is an action error. BAD_LEN (7) keeps its length meaning and
        // EPERM (8) its permission meaning; an unknown or unsupported instruction (0, 1) or
        // experimenter instruction (5, 6) is an unknown action; anything else is a bad
        // argument. (1.3.5 spec 7.4.4: OFPBIC_BAD_LEN = 7, OFPBIC_EPERM = 8.)
        e13::BAD_INSTRUCTION => match code {
            7 => c(t::BAD_ACTION, ba::BAD_LEN),
            8 => c(t::BAD_ACTION, ba::EPERM),
            0 | 1 => c(t::BAD_ACTION, ba::BAD_TYPE),
            5 => c(t::BAD_ACTION, ba::BAD_VENDOR),
            6 => c(t::BAD_ACTION, ba::BAD_VENDOR_TYPE),
            _ => c(t::BAD_ACTION, ba::BAD_ARGUMENT),
        },
        // 1.0 has no BAD_MATCH: the match is a fixed 40-byte part of the request. A wrong
        // match length is a wrong request length (BAD_REQUEST/BAD_LEN); a match whose fields
        // the switch cannot accept makes the flow_mod fail, and 1.0's FLOW_MOD_FAILED/
        // UNSUPPORTED is its catch-all for "cannot install this flow as given" (Open vSwitch
        // likewise has no standard 1.0 code here and falls back to a vendor extension).
        // BAD_MATCH/EPERM (11) keeps its permission meaning.
        e13::BAD_MATCH => match code {
            1 => c(t::BAD_REQUEST, br::BAD_LEN),
            11 => c(t::FLOW_MOD_FAILED, flow_mod_failed::EPERM),
            _ => c(t::FLOW_MOD_FAILED, flow_mod_failed::UNSUPPORTED),
        },
        e13::FLOW_MOD_FAILED => {
            use flow_mod_failed as f;
            match code {
                // UNKNOWN, TABLE_FULL, BAD_TABLE_ID: 1.0 has one table namespace; the flow
                // could not be placed anywhere.
                0..=2 => c(t::FLOW_MOD_FAILED, f::ALL_TABLES_FULL),
                3 => c(t::FLOW_MOD_FAILED, f::OVERLAP),
                4 => c(t::FLOW_MOD_FAILED, f::EPERM),
                // BAD_TIMEOUT: 1.0 only knows timeouts as wrong on emergency flows.
                5 => c(t::FLOW_MOD_FAILED, f::BAD_EMERG_TIMEOUT),
                6 => c(t::FLOW_MOD_FAILED, f::BAD_COMMAND),
                // BAD_FLAGS and newer.
                _ => c(t::FLOW_MOD_FAILED, f::UNSUPPORTED),
            }
        }
        e13::PORT_MOD_FAILED => match code {
            1 => c(t::PORT_MOD_FAILED, port_mod_failed::BAD_HW_ADDR),
            // BAD_CONFIG, BAD_ADVERTISE: 1.0 has only BAD_PORT for "this port can't do that";
            // EPERM: 1.0 has no permission code for port_mod, BAD_PORT is the refusal it has.
            _ => c(t::PORT_MOD_FAILED, port_mod_failed::BAD_PORT),
        },
        e13::QUEUE_OP_FAILED => c(t::QUEUE_OP_FAILED, code.min(queue_op_failed::EPERM)),
        // GROUP_MOD, TABLE_MOD, SWITCH_CONFIG, ROLE_REQUEST, METER_MOD, TABLE_FEATURES and
        // experimenter errors concern messages 1.0 does not have: the request is of a type
        // the 1.0 switch does not know.
        _ => c(t::BAD_REQUEST, br::BAD_TYPE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_codes_map_to_1_0() {
        assert_eq!(error_code(OfpErrorCode::BAD_VERSION), c(1, 0));
        assert_eq!(error_code(OfpErrorCode::BAD_TYPE), c(1, 1));
        assert_eq!(error_code(OfpErrorCode::BAD_MULTIPART), c(1, 2));
        assert_eq!(error_code(OfpErrorCode::BAD_EXPERIMENTER), c(1, 3));
        // BAD_EXP_TYPE is 1.0's BAD_SUBTYPE.
        assert_eq!(error_code(c(e13::BAD_REQUEST, 4)), c(1, 4));
        assert_eq!(error_code(OfpErrorCode::BAD_LEN), c(1, 6));
        assert_eq!(error_code(OfpErrorCode::BAD_ACTION_TYPE), c(2, 0));
        assert_eq!(error_code(OfpErrorCode::BAD_ACTION_LEN), c(2, 1));
        // OFPBIC_BAD_LEN is 7 in 1.3.5 (the shared constant says 8, which is OFPBIC_EPERM).
        assert_eq!(error_code(c(e13::BAD_INSTRUCTION, 7)), c(2, 1));
        assert_eq!(error_code(c(e13::BAD_INSTRUCTION, 8)), c(2, 6));
        assert_eq!(error_code(OfpErrorCode::BAD_INSTRUCTION_UNKNOWN), c(2, 0));
        assert_eq!(error_code(OfpErrorCode::BAD_MATCH_LEN), c(1, 6));
        assert_eq!(error_code(OfpErrorCode::BAD_MATCH_FIELD), c(3, 5));
        assert_eq!(error_code(FLOW_MOD_BAD_COMMAND_13), c(3, 4));
        assert_eq!(error_code(OfpErrorCode::HELLO_INCOMPATIBLE), c(0, 0));
        assert_eq!(error_code(c(e13::PORT_MOD_FAILED, 1)), c(4, 1));
        assert_eq!(error_code(c(e13::QUEUE_OP_FAILED, 1)), c(5, 1));
        assert_eq!(error_code(c(e13::METER_MOD_FAILED, 1)), c(1, 1));
    }

    #[test]
    fn errors_are_named_in_1_0_numbering() {
        let e = |err_type, code| super::super::ErrorMsg {
            err_type,
            code,
            data: bytes::Bytes::new(),
        };
        assert_eq!(
            describe(&e(3, 5)),
            "OFPFMFC_UNSUPPORTED (OFPET_FLOW_MOD_FAILED, code 5)"
        );
        assert_eq!(describe(&e(40, 1)), "error type 40 code 1");
        for (i, t) in NAMES.iter().enumerate() {
            assert_eq!(usize::from(t.err_type), i, "{}", t.name);
            for (j, (n, name)) in t.codes.iter().enumerate() {
                assert_eq!(usize::from(*n), j, "{}{name}", t.prefix);
            }
        }
    }
}
