//! Fixtures for switchd's end-to-end tests, on real parts.
//!
//! The end-to-end tests build on these:
//! - [`Netns`]: a network namespace of the test's own, deleted (with every process in it)
//!   when dropped;
//! - [`VethPair`], [`Bridge`] and [`Lan`]: veth pairs, Linux bridges, and a ready star of
//!   hosts around a bridge;
//! - [`Ovs`]: a private Open vSwitch (own run directory and database, userspace datapath),
//!   never the system's;
//! - [`free_tcp_port`]: a TCP port nobody holds right now (never a fixed 6653);
//! - [`Proc`]: a child process that is killed and reaped when dropped;
//! - [`daemon::Daemon`]: a `switchd -d` on a private configuration, with
//!   [`daemon::Switchctl`] to drive it and read its JSON, `switchctl monitor` and the log;
//! - [`rig::OvsRig`]: an Open vSwitch bridge with hosts on it and a `Daemon` as its
//!   controller, ready for traffic;
//! - [`wait`]: waiting for a condition with a deadline; [`procfs`]: processes seen
//!   through /proc.
//!
//! Files: `net.rs` (namespaces, veths, bridges, `Lan`), `ovs.rs`, `port.rs`
//! ([`free_tcp_port`]), `proc.rs`, `daemon.rs` (and `daemon/switchctl.rs`), `rig.rs`,
//! `wait.rs`, `procfs.rs`, `cmd.rs` (running ip, tc, ovs-vsctl with errors that say what
//! failed), `workspace.rs` (the workspace's binaries, the test user, scratch directories),
//! `sweep.rs` (what killed test processes left behind), `ofbench/` (the cbench-style load
//! generator); `bin/ofbench.rs` and `bin/regress-sweep.rs` are their command lines.
//!
//! Cleanup is guaranteed twice over. Every resource is a guard whose `Drop` removes it, and
//! `Drop` also runs when a test panics. And every name carries the creating process's pid
//! (`swt<pid>x<n>` for namespaces and links, `/tmp/swt-<kind>-<pid>-<n>` for directories),
//! so [`sweep()`] can remove what a test process left behind when it was
//! killed outright (SIGKILL, a CI timeout): the first fixture a process makes sweeps the
//! leftovers of dead test processes, and `regress/run` sweeps before and after a run.

pub mod cmd;
pub mod daemon;
pub mod net;
pub mod ofbench;
pub mod ovs;
pub mod port;
pub mod proc;
pub mod procfs;
pub mod rig;
pub mod sweep;
pub mod wait;
pub mod workspace;

pub use cmd::{run, run_ok, CmdError};
pub use daemon::{Daemon, Switchctl};
pub use net::{Bridge, Lan, LanHost, Netns, VethPair};
pub use ovs::Ovs;
pub use port::free_tcp_port;
pub use proc::Proc;
pub use rig::OvsRig;
pub use sweep::{leftovers, sweep};

use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of every namespace, link and directory the fixtures create.
pub(crate) const PREFIX: &str = "swt";

/// A name unique to this process and this call, at most 15 bytes so that it is also a valid
/// interface name (IFNAMSIZ): `swt<pid>x<n>`.
pub fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    sweep::sweep_once();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}x{n}", std::process::id())
}

/// The prefix of every directory the fixtures create in the temporary directory:
/// `swt-<kind>-<pid>-<n>` (`swt-ovs-…` for Open vSwitch, `swt-switchd-…` for a daemon).
pub(crate) const DIR_PREFIX: &str = "swt-";

/// Parse the creator's pid out of a name made by [`unique_name`] (`swt<pid>x<n>`), or of a
/// directory `swt-<kind>-<pid>-<n>` (see [`DIR_PREFIX`]). Anything else is not ours, even
/// with the prefix (`regress/vm` makes `swt-vm-XXXXXX` with mktemp): the sweep must never
/// take a stranger's name for a dead test's.
pub(crate) fn owner_pid(name: &str) -> Option<u32> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, n) = match rest.strip_prefix('-') {
        Some(dir) => {
            let (kind, rest) = dir.split_once('-')?;
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
            rest.split_once('-')?
        }
        None => rest.split_once('x')?,
    };
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
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
        assert_eq!(owner_pid("swt-switchd-4243-0"), Some(4243));
        assert_eq!(owner_pid("swt-switchd"), None);
        assert_eq!(owner_pid("swt-vm-30d1gb"), None);
        assert_eq!(owner_pid("swt-vm-123456"), None);
        assert_eq!(owner_pid("swt-ovs-12-3,opt=1"), None);
        assert_eq!(owner_pid("swt12x"), None);
        assert_eq!(owner_pid("swt12x3y"), None);
        assert_eq!(owner_pid("eth0"), None);
    }
}
