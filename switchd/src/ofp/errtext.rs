//! OFPT_ERROR messages as the operator reads them: the specification's names for type and
//! code (`OFPBAC_BAD_OUT_PORT`), with the numbers, so that a refused flow is reported in
//! the switch's own words.

use ofproto::v10;
use ofproto::v13;

/// OpenFlow 1.3 (1.3.5 section 7.4.4): per type, the prefix of its codes and their names.
const TYPES13: &[(&str, &str, &[&str])] = &[
    ("OFPET_HELLO_FAILED", "OFPHFC_", &["INCOMPATIBLE", "EPERM"]),
    (
        "OFPET_BAD_REQUEST",
        "OFPBRC_",
        &[
            "BAD_VERSION",
            "BAD_TYPE",
            "BAD_MULTIPART",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "EPERM",
            "BAD_LEN",
            "BUFFER_EMPTY",
            "BUFFER_UNKNOWN",
            "BAD_TABLE_ID",
            "IS_SLAVE",
            "BAD_PORT",
            "BAD_PACKET",
            "MULTIPART_BUFFER_OVERFLOW",
        ],
    ),
    (
        "OFPET_BAD_ACTION",
        "OFPBAC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_OUT_PORT",
            "BAD_ARGUMENT",
            "EPERM",
            "TOO_MANY",
            "BAD_QUEUE",
            "BAD_OUT_GROUP",
            "MATCH_INCONSISTENT",
            "UNSUPPORTED_ORDER",
            "BAD_TAG",
            "BAD_SET_TYPE",
            "BAD_SET_LEN",
            "BAD_SET_ARGUMENT",
        ],
    ),
    (
        "OFPET_BAD_INSTRUCTION",
        "OFPBIC_",
        &[
            "UNKNOWN_INST",
            "UNSUP_INST",
            "BAD_TABLE_ID",
            "UNSUP_METADATA",
            "UNSUP_METADATA_MASK",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_LEN",
            "EPERM",
        ],
    ),
    (
        "OFPET_BAD_MATCH",
        "OFPBMC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_TAG",
            "BAD_DL_ADDR_MASK",
            "BAD_NW_ADDR_MASK",
            "BAD_WILDCARDS",
            "BAD_FIELD",
            "BAD_VALUE",
            "BAD_MASK",
            "BAD_PREREQ",
            "DUP_FIELD",
            "EPERM",
        ],
    ),
    (
        "OFPET_FLOW_MOD_FAILED",
        "OFPFMFC_",
        &[
            "UNKNOWN",
            "TABLE_FULL",
            "BAD_TABLE_ID",
            "OVERLAP",
            "EPERM",
            "BAD_TIMEOUT",
            "BAD_COMMAND",
            "BAD_FLAGS",
        ],
    ),
    ("OFPET_GROUP_MOD_FAILED", "OFPGMFC_", &[]),
    ("OFPET_PORT_MOD_FAILED", "OFPPMFC_", &[]),
    ("OFPET_TABLE_MOD_FAILED", "OFPTMFC_", &[]),
    ("OFPET_QUEUE_OP_FAILED", "OFPQOFC_", &[]),
    ("OFPET_SWITCH_CONFIG_FAILED", "OFPSCFC_", &[]),
    ("OFPET_ROLE_REQUEST_FAILED", "OFPRRFC_", &[]),
    ("OFPET_METER_MOD_FAILED", "OFPMMFC_", &[]),
    ("OFPET_TABLE_FEATURES_FAILED", "OFPTFFC_", &[]),
];

/// OpenFlow 1.0 (1.0.0 section 5.4.4), whose numbering differs.
const TYPES10: &[(&str, &str, &[&str])] = &[
    ("OFPET_HELLO_FAILED", "OFPHFC_", &["INCOMPATIBLE", "EPERM"]),
    (
        "OFPET_BAD_REQUEST",
        "OFPBRC_",
        &[
            "BAD_VERSION",
            "BAD_TYPE",
            "BAD_STAT",
            "BAD_VENDOR",
            "BAD_SUBTYPE",
            "EPERM",
            "BAD_LEN",
            "BUFFER_EMPTY",
            "BUFFER_UNKNOWN",
        ],
    ),
    (
        "OFPET_BAD_ACTION",
        "OFPBAC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_VENDOR",
            "BAD_VENDOR_TYPE",
            "BAD_OUT_PORT",
            "BAD_ARGUMENT",
            "EPERM",
            "TOO_MANY",
            "BAD_QUEUE",
        ],
    ),
    (
        "OFPET_FLOW_MOD_FAILED",
        "OFPFMFC_",
        &[
            "ALL_TABLES_FULL",
            "OVERLAP",
            "EPERM",
            "BAD_EMERG_TIMEOUT",
            "BAD_COMMAND",
            "UNSUPPORTED",
        ],
    ),
    (
        "OFPET_PORT_MOD_FAILED",
        "OFPPMFC_",
        &["BAD_PORT", "BAD_HW_ADDR"],
    ),
    (
        "OFPET_QUEUE_OP_FAILED",
        "OFPQOFC_",
        &["BAD_PORT", "BAD_QUEUE", "EPERM"],
    ),
];

fn name(table: &[(&str, &str, &[&str])], err_type: u16, code: u16) -> String {
    let Some((tname, prefix, codes)) = table.get(usize::from(err_type)) else {
        return format!("error type {err_type} code {code}");
    };
    match codes.get(usize::from(code)) {
        Some(c) => format!("{prefix}{c} ({tname}, code {code})"),
        None => format!("{tname} code {code}"),
    }
}

/// An OpenFlow 1.3 error, e.g. `OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)`.
pub fn error13(e: &v13::ErrorMsg) -> String {
    match e {
        v13::ErrorMsg::Standard { code, .. } => name(TYPES13, code.err_type, code.code),
        v13::ErrorMsg::Experimenter {
            exp_code,
            experimenter,
            ..
        } => format!("experimenter 0x{experimenter:08x} error {exp_code}"),
    }
}

/// An OpenFlow 1.0 error, in 1.0's numbering.
pub fn error10(e: &v10::ErrorMsg) -> String {
    name(TYPES10, e.err_type, e.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn errors_are_named_as_in_the_specification() {
        let e = v13::ErrorMsg::Standard {
            code: ofproto::OfpErrorCode::new(2, 4),
            data: Bytes::new(),
        };
        assert_eq!(
            error13(&e),
            "OFPBAC_BAD_OUT_PORT (OFPET_BAD_ACTION, code 4)"
        );
        let e = v10::ErrorMsg {
            err_type: 3,
            code: 5,
            data: Bytes::new(),
        };
        assert_eq!(
            error10(&e),
            "OFPFMFC_UNSUPPORTED (OFPET_FLOW_MOD_FAILED, code 5)"
        );
        let e = v10::ErrorMsg {
            err_type: 40,
            code: 1,
            data: Bytes::new(),
        };
        assert_eq!(error10(&e), "error type 40 code 1");
    }
}
