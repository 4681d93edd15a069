//! Everything about flows in the kernel: OpenFlow 1.3 flows compiled to TC flower filters,
//! and the per-switch kernel table that installs, adopts after a restart, counts and
//! removes them over rtnetlink.
//!
//! - [`flow`]: a flow as the kernel side takes it ([`FlowSpec`], decoded [`DecodedFlow`]),
//!   its [`Refusal`], its [`Counters`], the [`FlowId`] a flow table names it by.
//! - [`backend`]: the [`Backend`] trait a flow table drives, and [`NormalOnly`] for a switch
//!   without a kernel table.
//! - [`translate`](mod@translate): one flow + the switch's [`PortMap`] and [`MeterTable`]
//!   -> the [`Filter`]s that implement it, or a [`Refusal`] with the OpenFlow error.
//!   Pure: no kernel, no I/O. [`cookie`] names each filter by its flow and content;
//!   [`prio`] says where OpenFlow priorities go among TC chains and prios, and which
//!   table-miss filters every table needs; [`meter`] turns meters into police rates.
//! - [`table`]: one local switch's flows in the kernel ([`Table`], the [`Backend`] of a
//!   local switch): places, adoption after a restart, counters, table-miss filters,
//!   packet-in groups, the ports it leaves alone, and the injection pair's far end
//!   ([`Backend::set_injection`]): the one reconciler.
//! - [`Tc`]: the blocking netlink socket: probe, clsact, batched install/replace/remove,
//!   dump (full, of one place, or terse: place, cookie and counters only).
//! - [`psample`]: the packets that output to CONTROLLER (act_sample) copies, as the
//!   kernel's psample family delivers them (read in an async task: it is the one part
//!   that needs tokio).
//! - [`filter`]: the typed filters and actions and their netlink encoding; [`nla`] is the
//!   attribute writer and reader underneath (netlink-packet-route 0.34 lacks gact, vlan,
//!   pedit, csum and police, so this crate writes and reads the messages itself).
//! - [`par`]: work on many flows spread over the CPUs.

pub mod backend;
pub mod cookie;
pub mod filter;
pub mod flow;
pub mod meter;
pub mod netlink;
pub mod nla;
pub mod par;
pub mod ports;
pub mod prio;
pub mod psample;
pub mod table;
pub mod translate;
mod uapi;

pub use backend::{Backend, NormalOnly};
pub use filter::{
    Filter, FilterId, FlowerKey, Installed, Listed, MirredKind, PeditHeader, PeditKey, PoliceRate,
    TcAction, Verdict,
};
pub use flow::{Counters, DecodedFlow, FlowId, FlowSpec, PacketInFlow, Refusal};
pub use meter::{Meter, MeterTable};
pub use netlink::{KernelError, KernelSupport, Tc};
pub use ports::PortMap;
pub use table::Table;
pub use translate::translate;
