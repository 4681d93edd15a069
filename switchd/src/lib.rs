//! switchd(8): the OpenFlow controller daemon, as a library so that `switchctl` shares its
//! control protocol and the tests reach its parts.
//!
//! Processes (see DESIGN.md): `parent` (root), and three children started by re-executing
//! this binary: `control`, `ofp`, `datapath`. One file per process; `child.rs` is what the
//! children share between exec and their entry function.

pub mod args;
pub mod child;
pub mod config;
pub mod control;
pub mod ctlproto;
pub mod datapath;
pub(crate) mod endpoint;
pub mod ipc;
pub mod log;
pub mod msg;
pub mod ofp;
pub mod parent;
pub mod privsep;
pub mod title;
