//! Fixtures for switchd's end-to-end tests, on real parts.
//!
//! Every later end-to-end test builds on these:
//! - [`Netns`]: a network namespace of the test's own, deleted (with every process in it)
//!   when dropped;
//! - [`VethPair`], [`Bridge`] and [`Lan`]: veth pairs, Linux bridges, and a ready star of
//!   hosts around a bridge;
//! - [`Ovs`]: a private Open vSwitch (own run directory and database, userspace datapath),
//!   never the system's;
//! - [`free_tcp_port`]: a TCP port nobody holds right now (never a fixed 6653);
//! - [`Proc`]: a child process that is killed and reaped when dropped.
//!
//! Cleanup is guaranteed twice over. Every resource is a guard whose `Drop` removes it, and
//! `Drop` also runs when a test panics. And every name carries the creating process's pid
//! (`swt<pid>x<n>`), so [`sweep`] can remove what a test process left behind when it was
//! killed outright (SIGKILL, a CI timeout): the first fixture a process makes sweeps the
//! leftovers of dead test processes, and `regress/run` sweeps before and after a run.

pub mod cmd;
pub mod net;
pub mod ofbench;
pub mod ovs;
pub mod port;
pub mod proc;
pub mod sweep;
pub mod workspace;

pub use cmd::{run, run_ok, CmdError};
pub use net::{Bridge, Lan, LanHost, Netns, VethPair};
pub use ovs::Ovs;
pub use port::free_tcp_port;
pub use proc::Proc;
pub use sweep::{leftovers, sweep};

use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of every namespace, link and directory the fixtures create.
pub const PREFIX: &str = "swt";

/// A name unique to this process and this call, at most 15 bytes so that it is also a valid
/// interface name (IFNAMSIZ): `swt<pid>x<n>`.
pub fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    sweep::sweep_once();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}x{n}", std::process::id())
}

/// Parse the creator's pid out of a name made by [`unique_name`] (`swt<pid>x<n>`), or of a
/// run directory `swt-ovs-<pid>-<n>`.
pub fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let rest = rest.strip_prefix("-ovs-").unwrap_or(rest);
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ifnamsiz_and_name_their_owner() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        assert!(a.len() <= 15, "{a} is longer than IFNAMSIZ-1");
        assert_eq!(owner_pid(&a), Some(std::process::id()));
        assert_eq!(owner_pid("swt-ovs-4242-3"), Some(4242));
        assert_eq!(owner_pid("eth0"), None);
    }
}
