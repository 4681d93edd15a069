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
    pub(crate) const BAD_INSTRUCTION: u16 = 3;
    pub(crate) const BAD_MATCH: u16 = 4;
    pub const FLOW_MOD_FAILED: u16 = 5;
    pub(crate) const GROUP_MOD_FAILED: u16 = 6;
    pub(crate) const PORT_MOD_FAILED: u16 = 7;
    pub(crate) const TABLE_MOD_FAILED: u16 = 8;
    pub(crate) const QUEUE_OP_FAILED: u16 = 9;
    pub(crate) const SWITCH_CONFIG_FAILED: u16 = 10;
    pub(crate) const ROLE_REQUEST_FAILED: u16 = 11;
    pub(crate) const METER_MOD_FAILED: u16 = 12;
    pub(crate) const TABLE_FEATURES_FAILED: u16 = 13;
    pub const EXPERIMENTER: u16 = 0xffff;
}

impl OfpErrorCode {
    pub const fn new(err_type: u16, code: u16) -> Self {
        OfpErrorCode { err_type, code }
    }

    // The ones the decoder itself produces, under the names it uses (all of them, under
    // the specification's names, are in `v13::errors`).
    /// OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE
    pub const HELLO_INCOMPATIBLE: Self = crate::v13::errors::hello_failed::INCOMPATIBLE;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_VERSION
    pub const BAD_VERSION: Self = crate::v13::errors::bad_request::BAD_VERSION;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_TYPE
    pub const BAD_TYPE: Self = crate::v13::errors::bad_request::BAD_TYPE;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_MULTIPART
    pub const BAD_MULTIPART: Self = crate::v13::errors::bad_request::BAD_MULTIPART;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_EXPERIMENTER
    pub const BAD_EXPERIMENTER: Self = crate::v13::errors::bad_request::BAD_EXPERIMENTER;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_LEN
    pub const BAD_LEN: Self = crate::v13::errors::bad_request::BAD_LEN;
    /// OFPET_BAD_ACTION / OFPBAC_BAD_TYPE
    pub const BAD_ACTION_TYPE: Self = crate::v13::errors::bad_action::BAD_TYPE;
    /// OFPET_BAD_ACTION / OFPBAC_BAD_LEN
    pub const BAD_ACTION_LEN: Self = crate::v13::errors::bad_action::BAD_LEN;
    /// OFPET_BAD_INSTRUCTION / OFPBIC_UNKNOWN_INST
    pub const BAD_INSTRUCTION_UNKNOWN: Self = crate::v13::errors::bad_instruction::UNKNOWN_INST;
    /// OFPET_BAD_INSTRUCTION / OFPBIC_BAD_LEN (7 in OpenFlow 1.2+; 8 is OFPBIC_EPERM)
    pub const BAD_INSTRUCTION_LEN: Self = crate::v13::errors::bad_instruction::BAD_LEN;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_TYPE
    pub const BAD_MATCH_TYPE: Self = crate::v13::errors::bad_match::BAD_TYPE;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_LEN
    pub const BAD_MATCH_LEN: Self = crate::v13::errors::bad_match::BAD_LEN;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_FIELD
    pub const BAD_MATCH_FIELD: Self = crate::v13::errors::bad_match::BAD_FIELD;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_VALUE
    pub const BAD_MATCH_VALUE: Self = crate::v13::errors::bad_match::BAD_VALUE;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ
    pub const BAD_MATCH_PREREQ: Self = crate::v13::errors::bad_match::BAD_PREREQ;
    /// OFPET_BAD_MATCH / OFPBMC_DUP_FIELD
    pub const BAD_MATCH_DUP_FIELD: Self = crate::v13::errors::bad_match::DUP_FIELD;
    /// OFPET_BAD_MATCH / OFPBMC_BAD_MASK
    pub(crate) const BAD_MATCH_MASK: Self = crate::v13::errors::bad_match::BAD_MASK;
    /// OFPET_BAD_REQUEST / OFPBRC_BAD_EXP_TYPE
    pub const BAD_EXP_TYPE: Self = crate::v13::errors::bad_request::BAD_EXP_TYPE;
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_TYPE
    pub const BAD_ACTION_SET_TYPE: Self = crate::v13::errors::bad_action::BAD_SET_TYPE;
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_LEN
    pub const BAD_ACTION_SET_LEN: Self = crate::v13::errors::bad_action::BAD_SET_LEN;
    /// OFPET_BAD_ACTION / OFPBAC_BAD_SET_ARGUMENT
    pub const BAD_ACTION_SET_ARGUMENT: Self = crate::v13::errors::bad_action::BAD_SET_ARGUMENT;
    /// OFPET_FLOW_MOD_FAILED / OFPFMFC_BAD_COMMAND
    pub const FLOW_MOD_BAD_COMMAND: Self = crate::v13::errors::flow_mod_failed::BAD_COMMAND;
    /// OFPET_GROUP_MOD_FAILED / OFPGMFC_BAD_COMMAND
    pub const GROUP_BAD_COMMAND: Self = crate::v13::errors::group_mod_failed::BAD_COMMAND;
    /// OFPET_METER_MOD_FAILED / OFPMMFC_BAD_COMMAND
    pub const METER_BAD_COMMAND: Self = crate::v13::errors::meter_mod_failed::BAD_COMMAND;
    /// OFPET_GROUP_MOD_FAILED / OFPGMFC_BAD_BUCKET
    pub const GROUP_BAD_BUCKET: Self = crate::v13::errors::group_mod_failed::BAD_BUCKET;
    /// OFPET_METER_MOD_FAILED / OFPMMFC_BAD_BAND
    pub const METER_BAD_BAND: Self = crate::v13::errors::meter_mod_failed::BAD_BAND;
    /// OFPET_TABLE_FEATURES_FAILED / OFPTFFC_BAD_TYPE
    pub const TABLE_FEATURES_BAD_TYPE: Self = crate::v13::errors::table_features_failed::BAD_TYPE;
    /// OFPET_TABLE_FEATURES_FAILED / OFPTFFC_BAD_LEN
    pub const TABLE_FEATURES_BAD_LEN: Self = crate::v13::errors::table_features_failed::BAD_LEN;
}

/// The specification's names of one error type and its codes, for printing.
pub(crate) struct TypeNames {
    pub err_type: u16,
    /// `OFPET_BAD_ACTION`
    pub name: &'static str,
    /// `OFPBAC_`
    pub prefix: &'static str,
    /// (code, name without the prefix)
    pub codes: &'static [(u16, &'static str)],
}

/// `code` of `err_type` as the operator reads it, from a version's table of names: the
/// specification's name with the numbers (`OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)`),
/// or as much of it as is known.
pub(crate) fn describe(table: &[TypeNames], err_type: u16, code: u16) -> String {
    let Some(t) = table.iter().find(|t| t.err_type == err_type) else {
        return format!("error type {err_type} code {code}");
    };
    match t.codes.iter().find(|(n, _)| *n == code) {
        Some((_, c)) => format!("{}{c} ({}, code {code})", t.prefix, t.name),
        None => format!("{} code {code}", t.name),
    }
}

/// Per error type, a module of its codes (`pub const NAME: $value = $ctor(type, code)`,
/// named as in the specification without the prefix) and one table of all the names
/// ([`TypeNames`]), so that a code and its printed name are written once.
macro_rules! error_codes {
    (
        $table:ident: $value:ty = $ctor:path;
        $( $ty:ident $tmod:ident $prefix:literal { $( $code:ident = $n:literal, )* } )*
    ) => {
        $(
            #[doc = concat!("`OFPET_", stringify!($ty), "` codes (`", $prefix, "*`).")]
            pub mod $tmod {
                $(
                    #[doc = concat!("`", $prefix, stringify!($code), "`")]
                    pub const $code: $value = $ctor(super::err_type::$ty, $n);
                )*
            }
        )*
        pub(crate) const $table: &[$crate::error::TypeNames] = &[
            $(
                $crate::error::TypeNames {
                    err_type: err_type::$ty,
                    name: concat!("OFPET_", stringify!($ty)),
                    prefix: $prefix,
                    codes: &[ $( ($n, stringify!($code)) ),* ],
                },
            )*
        ];
    };
}
pub(crate) use error_codes;

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
