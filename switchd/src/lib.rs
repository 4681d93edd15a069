//! switchd(8): the OpenFlow controller daemon, as a library so that `switchctl` shares its
//! control protocol and the tests reach its parts.
//!
//! Processes (see switchd(8), `switchd.8`): `parent` (root), and three children started by
//! re-executing this binary: `control`, `ofp`, `datapath`. One file (or directory) per
//! process:
//!
//! - `parent.rs`: the parent: configuration, privileged opens, supervision, reloads;
//! - `control.rs`: the control process, serving switchctl;
//! - `ofp.rs` (and `ofp/`): the ofp process, OpenFlow sessions and the learning switch;
//! - `datapath/`: the datapath process, the kernel's configuration and the local switches.
//!
//! What they share:
//!
//! - `args.rs`: the command line;
//! - `config.rs`: loading the configuration (over the `conf` crate);
//! - `run.rs`: a child's start, by role; `child.rs`: what every child does between exec and
//!   its entry function, and the channels of its event loop;
//! - `privsep.rs`: dropping privileges; `sandbox.rs`: seccomp and Landlock per child;
//!   `title.rs`: process titles;
//! - `msg.rs`: the messages between processes; `ipc.rs`: the channels they travel on;
//! - `ctlproto.rs`: the control protocol, shared with switchctl;
//! - `endpoint.rs` (and `endpoint/`): one end of an OpenFlow connection and its socket pump,
//!   used by `ofp` and `datapath`;
//! - `log.rs`: logging, OpenBSD style;
//! - `metrics.rs` (and `metrics/`): the Prometheus endpoint control serves.
//! - `tls.rs`: TLS on OpenFlow channels (rustls), the certificates the parent hands down.
//! - `vnet/`: the virtual networks: this hypervisor's part compiled into a local switch.
//!
//! `pub` here is what switchctl, the tests and the examples use; the rest is `pub(crate)`.

pub mod args;
pub(crate) mod child;
pub(crate) mod config;
pub(crate) mod control;
pub mod ctlproto;
pub mod datapath;
pub(crate) mod endpoint;
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod ipc;
pub mod log;
pub(crate) mod metrics;
pub mod msg;
pub(crate) mod ofp;
pub mod parent;
pub(crate) mod privsep;
pub mod run;
pub mod sandbox;
pub(crate) mod title;
pub mod tls;
pub mod vnet;
