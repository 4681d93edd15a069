//! Decode errors, and the OpenFlow error (type, code) each one must be answered with.
//!
//! "Need more bytes" ([`DecodeError::Incomplete`]) is not an error of the peer: the caller
//! waits for more input. Everything else is [`DecodeError::Malformed`]: the receiver answers
//! with OFPT_ERROR carrying [`OfpErrorCode`] and the first bytes of the offending message,
//! then may close that one connection.

/// An OpenFlow error type and code as they go on the wire (`ofp_error_msg.type`, `.code`).
///
/// The constants here use OpenFlow 1.3 numbering; `v10::error_code` maps them to OpenFlow
/// 1.0's, whose numbering differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfpErrorCode {
    pub err_type: u16,
    pub code: u16,
}

/// OpenFlow 1.3 error types (`enum ofp_error_type`, spec 7.4.4).
pub mod err_type {
    pub const HELLO_FAILED: u16 = 0;
    pub const BAD_REQUEST: u16 = 1;
    pub const BAD_ACTION: u16 = 2;
    pub const BAD_INSTRUCTION: u16 = 3;
    pub const BAD_MATCH: u16 = 4;
    pub const FLOW_MOD_FAILED: u16 = 5;
    pub const GROUP_MOD_FAILED: u16 = 6;
    pub const PORT_MOD_FAILED: u16 = 7;
    pub const TABLE_MOD_FAILED: u16 = 8;
    pub const QUEUE_OP_FAILED: u16 = 9;
    pub const SWITCH_CONFIG_FAILED: u16 = 10;
    pub const ROLE_REQUEST_FAILED: u16 = 11;
    pub const METER_MOD_FAILED: u16 = 12;
    pub const TABLE_FEATURES_FAILED: u16 = 13;
    pub const EXPERIMENTER: u16 = 0xffff;
}

impl OfpErrorCode {
    pub const fn new(err_type: u16, code: u16) -> Self {
        OfpErrorCode { err_type, code }
    }

    // The ones the decoder itself produces (OpenFlow 1.3 numbering).
    /// OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE
    pub const HELLO_INCOMPATIBLE: Self = Self::new(err_type::HELLO_FAILED, 0);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_VERSION
    pub const BAD_VERSION: Self = Self::new(err_type::BAD_REQUEST, 0);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_TYPE
    pub const BAD_TYPE: Self = Self::new(err_type::BAD_REQUEST, 1);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_MULTIPART
    pub const BAD_MULTIPART: Self = Self::new(err_type::BAD_REQUEST, 2);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_EXPERIMENTER
    pub const BAD_EXPERIMENTER: Self = Self::new(err_type::BAD_REQUEST, 3);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_LEN
    pub const BAD_LEN: Self = Self::new(err_type::BAD_REQUEST, 6);
    /// OFPET_BAD_ACTION / OFPBAC_BAD_TYPE
    pub const BAD_ACTION_TYPE: Self = Self::new(err_type::BAD_ACTION, 0);
    /// OFPET_BAD_ACTION / OFPBAC_BAD_LEN
    pub const BAD_ACTION_LEN: Self = Self::new(err_type::BAD_ACTION, 1);
    /// OFPET_BAD_INSTRUCTION / OFPBIC_UNKNOWN_INST
    pub const BAD_INSTRUCTION_UNKNOWN: Self = Self::new(err_type::BAD_INSTRUCTION, 0);
    /// OFPET_BAD_INSTRUCTION / OFPBIC_BAD_LEN (7 in OpenFlow 1.2+; 8 is OFPBIC_EPERM)
    pub const BAD_INSTRUCTION_LEN: Self = Self::new(err_type::BAD_INSTRUCTION, 7);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_TYPE
    pub const BAD_MATCH_TYPE: Self = Self::new(err_type::BAD_MATCH, 0);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_LEN
    pub const BAD_MATCH_LEN: Self = Self::new(err_type::BAD_MATCH, 1);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_FIELD
    pub const BAD_MATCH_FIELD: Self = Self::new(err_type::BAD_MATCH, 6);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_VALUE
    pub const BAD_MATCH_VALUE: Self = Self::new(err_type::BAD_MATCH, 7);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ
    pub const BAD_MATCH_PREREQ: Self = Self::new(err_type::BAD_MATCH, 9);
    /// OFPET_BAD_MATCH / OFPBMC_DUP_FIELD
    pub const BAD_MATCH_DUP_FIELD: Self = Self::new(err_type::BAD_MATCH, 10);
    /// OFPET_BAD_MATCH / OFPBMC_BAD_MASK
    pub const BAD_MATCH_MASK: Self = Self::new(err_type::BAD_MATCH, 8);
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_EXP_TYPE
    pub const BAD_EXP_TYPE: Self = Self::new(err_type::BAD_REQUEST, 4);
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_TYPE
    pub const BAD_ACTION_SET_TYPE: Self = Self::new(err_type::BAD_ACTION, 13);
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_LEN
    pub const BAD_ACTION_SET_LEN: Self = Self::new(err_type::BAD_ACTION, 14);
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_ARGUMENT
    pub const BAD_ACTION_SET_ARGUMENT: Self = Self::new(err_type::BAD_ACTION, 15);
    /// OFPET_FLOW_MOD_FAILED / OFPFMFC_BAD_COMMAND
    pub const FLOW_MOD_BAD_COMMAND: Self = Self::new(err_type::FLOW_MOD_FAILED, 6);
    /// OFPET_GROUP_MOD_FAILED / OFPGMFC_BAD_COMMAND
    pub const GROUP_BAD_COMMAND: Self = Self::new(err_type::GROUP_MOD_FAILED, 11);
    /// OFPET_METER_MOD_FAILED / OFPMMFC_BAD_COMMAND
    pub const METER_BAD_COMMAND: Self = Self::new(err_type::METER_MOD_FAILED, 4);
    /// OFPET_GROUP_MOD_FAILED / OFPGMFC_BAD_BUCKET
    pub const GROUP_BAD_BUCKET: Self = Self::new(err_type::GROUP_MOD_FAILED, 12);
    /// OFPET_METER_MOD_FAILED / OFPMMFC_BAD_BAND
    pub const METER_BAD_BAND: Self = Self::new(err_type::METER_MOD_FAILED, 8);
    /// OFPET_TABLE_FEATURES_FAILED / OFPTFFC_BAD_TYPE
    pub const TABLE_FEATURES_BAD_TYPE: Self = Self::new(err_type::TABLE_FEATURES_FAILED, 2);
    /// OFPET_TABLE_FEATURES_FAILED / OFPTFFC_BAD_LEN
    pub const TABLE_FEATURES_BAD_LEN: Self = Self::new(err_type::TABLE_FEATURES_FAILED, 3);
}

/// Why bytes did not decode into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not an error of the peer: at least `needed` bytes in all are required before the
    /// message can be decoded. Wait for more input.
    #[error("incomplete: need {needed} bytes")]
    Incomplete { needed: usize },
    /// The bytes are not a valid message. Answer with OFPT_ERROR `code`; `reason` says what
    /// was wrong for the log, `offset` is where in the message it was found.
    #[error("malformed at byte {offset}: {reason} (OpenFlow error type {} code {})", code.err_type, code.code)]
    Malformed {
        code: OfpErrorCode,
        offset: usize,
        reason: &'static str,
    },
}

impl DecodeError {
    pub const fn malformed(code: OfpErrorCode, offset: usize, reason: &'static str) -> Self {
        DecodeError::Malformed {
            code,
            offset,
            reason,
        }
    }

    /// The OpenFlow error to answer with, or `None` for [`DecodeError::Incomplete`].
    pub fn ofp_error(&self) -> Option<OfpErrorCode> {
        match self {
            DecodeError::Incomplete { .. } => None,
            DecodeError::Malformed { code, .. } => Some(*code),
        }
    }
}
