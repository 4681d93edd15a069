//! Everything about flows in the kernel: OpenFlow 1.3 flows compiled to TC flower filters,
//! and the per-switch kernel table that installs, adopts after a restart, counts and
//! removes them over rtnetlink.
//!
//! Files, from the bottom up (a file uses only those above it in this list):
//!
//! - `uapi.rs`: numbers from the kernel's uapi headers. `nla.rs`: the netlink attribute
//!   writer and reader (netlink-packet-route 0.34 lacks gact, vlan, pedit, csum and police,
//!   so this crate writes and reads the messages itself).
//! - `flow.rs`: a flow as the kernel side takes it ([`FlowSpec`], decoded [`DecodedFlow`]),
//!   its [`Refusal`], its [`Counters`], the [`FlowId`] a flow table names it by.
//! - `ports.rs`: the switch's [`PortMap`] (OpenFlow port number <-> Linux interface).
//! - [`filter`]: the typed filters ([`Filter`]) and their netlink encoding and parsing;
//!   `filter/flower/` one file per group of match keys, `filter/action/` one per action.
//! - [`conntrack`]: the kernel's connection-tracking entries over ctnetlink (what act_ct
//!   made), for `switchctl show conntrack`.
//! - [`cookie`]: names each filter by its flow and content. [`meter`]: meters as police
//!   rates ([`MeterTable`]). [`prio`]: where OpenFlow priorities go among TC chains and
//!   prios, and the table-miss filters every table needs. [`psample`]: the packets that
//!   output to CONTROLLER (act_sample) copies, as the kernel's psample family delivers
//!   them (read in an async task: the one part that needs tokio).
//! - [`translate`](mod@translate): one flow + the switch's [`PortMap`] and [`MeterTable`]
//!   -> the [`Filter`]s that implement it, or a [`Refusal`] with the OpenFlow error.
//!   Pure: no kernel, no I/O.
//! - [`par`]: work on many flows spread over the CPUs.
//! - `netlink.rs`: [`Tc`], the blocking netlink socket: probe, clsact, batched
//!   install/replace/remove, dump (full, of one place, or terse: place, cookie and counters
//!   only).
//! - `backend.rs`: the [`Backend`] trait a flow table drives, and [`NormalOnly`] for a
//!   switch without a kernel table.
//! - [`table`]: one local switch's flows in the kernel ([`Table`], the [`Backend`] of a
//!   local switch): places, counters, table-miss filters, packet-in groups, the ports it
//!   leaves alone, and the injection pair's far end ([`Backend::set_injection`]); the one
//!   reconciler. `table/adopt.rs`: adoption of what an earlier run left, by cookie;
//!   `table/batch.rs`: many flows at once, in pipelined batches.

pub(crate) mod backend;
pub mod conntrack;
pub mod cookie;
pub mod filter;
pub(crate) mod flow;
#[doc(hidden)]
pub mod fuzz;
pub mod meter;
pub(crate) mod netlink;
pub(crate) mod nla;
pub mod par;
pub(crate) mod ports;
pub mod prio;
pub mod psample;
pub mod table;
pub mod translate;
mod uapi;

pub use backend::{Backend, NormalOnly};
pub use filter::{
    CtKeys, CtNatRange, CtParams, Filter, FilterId, FlowerKey, Installed, Listed, MirredKind,
    PeditHeader, PeditKey, PoliceRate, TcAction, Verdict,
};
pub use flow::{Counters, DecodedFlow, FlowId, FlowSpec, PacketInFlow, Refusal};
pub use meter::{Meter, MeterTable};
pub use netlink::{KernelError, KernelSupport, Tc};
pub use ports::PortMap;
pub use table::Table;
pub use translate::translate;
