//! A flow as the kernel side takes it: [`FlowSpec`] (kept encoded) and its decoded view
//! [`DecodedFlow`], the [`Refusal`] of a flow or meter, the [`Counters`] the kernel keeps
//! per flow, the [`FlowId`] a flow table names each installed version by, and what a
//! PACKET_IN says of the flow that sent it ([`PacketInFlow`]).

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use ofproto::v13;
use ofproto::OfpErrorCode;

/// The flow table's name for one installed version of a flow entry; never reused.
pub type FlowId = u64;

/// A flow as the kernel side needs it.
///
/// The match and instructions are kept in their wire encoding, shared between the flow
/// table and the kernel table: the decoded trees (`Match`, `InstructionList`, with their
/// inline small vectors) take about 750 bytes, the encoding about 50 for a typical flow, and
/// a local switch keeps hundreds of thousands of them. They are decoded when needed: to
/// translate ([`FlowSpec::with_decoded`]), for flow stats and FLOW_REMOVED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    pub table_id: u8,
    pub priority: u16,
    /// The controller's cookie; not part of the TC filter (the filter cookie identifies the
    /// flow by content, see the `cookie` module).
    pub cookie: u64,
    /// `ofp_match` (padded) then the instructions, as ofproto's
    /// `encode_match_instructions` writes them.
    wire: Arc<[u8]>,
}

/// One flow decoded, borrowed: what the pure translation (`translate()`) and the
/// cookies (`cookie::flow_hash`) read.
#[derive(Debug, Clone, Copy)]
pub struct DecodedFlow<'a> {
    pub table_id: u8,
    pub priority: u16,
    pub cookie: u64,
    pub r#match: &'a v13::Match,
    pub instructions: &'a [v13::Instruction],
}

impl FlowSpec {
    pub fn new(
        table_id: u8,
        priority: u16,
        cookie: u64,
        match_: &v13::Match,
        instructions: &[v13::Instruction],
    ) -> FlowSpec {
        let mut b = BytesMut::with_capacity(match_.wire_len() + 64);
        v13::instruction::encode_match_instructions(match_, instructions, &mut b);
        FlowSpec {
            table_id,
            priority,
            cookie,
            wire: Arc::from(&b[..]),
        }
    }

    /// The same flow with other instructions (a MODIFY).
    pub fn with_instructions(&self, instructions: &[v13::Instruction]) -> FlowSpec {
        FlowSpec::new(
            self.table_id,
            self.priority,
            self.cookie,
            &self.match_(),
            instructions,
        )
    }

    /// The match and the instructions, decoded. They were encoded by [`FlowSpec::new`],
    /// so an error here is a bug in ofproto's codec; callers that act on the flow (the
    /// translation) refuse it then, rather than act on a wrong one.
    pub fn decode(&self) -> Result<(v13::Match, v13::InstructionList), Refusal> {
        v13::instruction::decode_match_instructions(&bytes::Bytes::copy_from_slice(&self.wire))
            .map(|(m, i, _)| (m, i))
            .map_err(|e| {
                Refusal::new(
                    ofproto::v13::errors::flow_mod_failed::UNKNOWN,
                    format!("the flow's own encoding does not decode: {e}"),
                )
            })
    }

    /// `f` of this flow decoded (to translate, or hash).
    pub fn with_decoded<R>(&self, f: impl FnOnce(&DecodedFlow<'_>) -> R) -> Result<R, Refusal> {
        let (m, instructions) = self.decode()?;
        Ok(f(&DecodedFlow {
            table_id: self.table_id,
            priority: self.priority,
            cookie: self.cookie,
            r#match: &m,
            instructions: &instructions[..],
        }))
    }

    /// The match (empty if it does not decode, see [`FlowSpec::decode`]).
    pub fn match_(&self) -> v13::Match {
        self.decode().map(|(m, _)| m).unwrap_or_default()
    }

    /// The instructions (none if they do not decode, see [`FlowSpec::decode`]).
    pub fn instructions(&self) -> v13::InstructionList {
        self.decode().map(|(_, i)| i).unwrap_or_default()
    }

    /// The `ofp_match` in its wire encoding, padding included.
    pub fn match_wire(&self) -> &[u8] {
        let len = self
            .wire
            .get(2..4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .unwrap_or(0);
        let padded = len.div_ceil(8) * 8;
        &self.wire[..padded.min(self.wire.len())]
    }
}

/// Why a flow (or a meter) cannot be installed: the OpenFlow error the FLOW_MOD (or
/// METER_MOD) is answered with, and a sentence for the log and for switchctl (for a kernel
/// refusal, the kernel's own words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: OfpErrorCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(error: OfpErrorCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            error,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (OpenFlow error type {} code {})",
            self.reason, self.error.err_type, self.error.code
        )
    }
}

impl std::error::Error for Refusal {}

/// Counters of one installed flow, as the kernel has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    /// When a packet last hit the flow (TC's `lastused`, turned into an instant by the
    /// kernel table); `None` if never or unknown.
    pub last_used: Option<Instant>,
}

/// What a PACKET_IN says of the flow that sent the packet to the controller (7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInFlow {
    pub table_id: u8,
    pub cookie: u64,
    pub priority: u16,
    /// OFPR_NO_MATCH (0) for a table-miss entry (priority 0, empty match), else
    /// OFPR_ACTION (1).
    pub reason: u8,
}

impl PacketInFlow {
    /// The flow's PACKET_IN fields, if it outputs to CONTROLLER.
    pub fn of(flow: &FlowSpec) -> Option<PacketInFlow> {
        let to_controller = |l: &v13::ActionList| {
            l.iter().any(|a| {
                matches!(a, v13::Action::Output { port, .. }
                    if *port == ofproto::v13::port::CONTROLLER)
            })
        };
        let (m, instructions) = flow.decode().ok()?;
        let any = instructions.iter().any(|i| match i {
            v13::Instruction::ApplyActions(l) | v13::Instruction::WriteActions(l) => {
                to_controller(l)
            }
            _ => false,
        });
        any.then(|| PacketInFlow {
            table_id: flow.table_id,
            cookie: flow.cookie,
            priority: flow.priority,
            reason: if flow.priority == 0 && m.fields.is_empty() {
                0
            } else {
                1
            },
        })
    }
}
