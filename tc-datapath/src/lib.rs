//! OpenFlow 1.3 flows compiled to TC flower filters, and the rtnetlink side that installs,
//! removes and dumps them.
//!
//! - [`translate`]: one flow ([`FlowSpec`]) + the switch's [`PortMap`] and [`MeterTable`]
//!   -> the [`Filter`]s that implement it, or a [`Refusal`] with the OpenFlow error.
//!   Pure: no kernel, no I/O.
//! - [`prio`]: where OpenFlow priorities go among TC chains and prios, and the table-miss
//!   filters every table needs.
//! - [`diff`] and [`plan`]: reconcile what a dump shows with what the flow table wants,
//!   by cookie; [`plan`] also pairs changed filters that keep their key for replacement.
//! - [`Tc`]: the netlink socket: probe, clsact, batched install/replace/remove, dump
//!   (full, of one place, or terse: place, cookie and counters only).
//! - [`psample`]: the packets that output to CONTROLLER (act_sample) copies, as the
//!   kernel's psample family delivers them.
//! - [`filter`]: the typed filters and actions and their netlink encoding; [`nla`] is the
//!   attribute writer and reader underneath (netlink-packet-route 0.34 lacks gact, vlan,
//!   pedit, csum and police, so this crate writes and reads the messages itself).

pub mod cookie;
pub mod filter;
pub mod meter;
pub mod netlink;
pub mod nla;
pub mod ports;
pub mod prio;
pub mod psample;
pub mod reconcile;
pub mod translate;
mod uapi;

pub use filter::{
    Filter, FilterId, FlowerKey, Installed, Listed, MirredKind, PeditHeader, PeditKey, PoliceRate,
    TcAction, Verdict,
};
pub use meter::{Meter, MeterTable};
pub use netlink::{KernelError, KernelSupport, Tc};
pub use ports::PortMap;
pub use reconcile::{diff, plan, Plan};
pub use translate::{translate, FlowSpec, Refusal};
