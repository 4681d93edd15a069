//! The Linux form of each child's "May do:" comment, applied by `child.rs` after the
//! privilege drop and the setup from the parent, before the runtime starts and so before
//! the first byte from a switch, a controller or switchctl is read:
//!
//! - a seccomp filter (Firecracker's `seccompiler`, which builds the BPF program in process,
//!   with no C library): the system calls of [`COMMON`] and of the role's own list are
//!   allowed; any other fails with EPERM. EPERM rather than a kill: a refused call is an
//!   error the process reports, never a silent death, and nothing the process may do is
//!   gained by retrying it. No child may execute a program, create a process or thread,
//!   trace one, mount, change credentials or namespaces, or load modules or BPF;
//! - a Landlock ruleset where the kernel has Landlock (best effort: a kernel without it, or
//!   with an older ABI, enforces what it knows): no file-system access at all for any child
//!   (they run in an empty chroot and open nothing); control and ofp may neither bind nor
//!   connect TCP sockets (they only accept on the sockets the parent gave them); datapath
//!   may connect (to `forward to` controllers, which a reload or `switchctl connect`
//!   changes) but not bind.
//!
//! What each process may do is listed in switchd(8).
//!
//! A test asks a child, through the environment variable [`PROBE_ENV`] (read before the
//! environment is cleared), to make one system call outside its list once the sandbox is
//! on; the child logs whether it was refused.

use std::collections::BTreeMap;

use landlock::{Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, ABI};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use crate::msg::Role;

/// Set (to anything) in switchd's environment: every child, once sandboxed, calls
/// personality(2), which no list allows, and logs the result.
pub const PROBE_ENV: &str = "SWITCHD_SANDBOX_PROBE";

/// What every child does once it runs: a single-threaded tokio runtime (epoll, an eventfd,
/// a socketpair for signals), its channels (SOCK_SEQPACKET with descriptors passed), the
/// memory allocator, clocks, logging to stderr or to the syslog socket opened before.
const COMMON: &[i64] = &[
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_close,
    libc::SYS_recvmsg,
    libc::SYS_sendmsg,
    libc::SYS_recvfrom,
    libc::SYS_sendto,
    libc::SYS_recvmmsg,
    libc::SYS_sendmmsg,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_eventfd2,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_futex,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_mprotect,
    libc::SYS_brk,
    libc::SYS_clock_gettime,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getrandom,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_fcntl,
    libc::SYS_ioctl,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getppid,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_shutdown,
    libc::SYS_accept4,
    libc::SYS_socketpair,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_prlimit64,
    libc::SYS_getrusage,
    libc::SYS_uname,
    // glibc's syslog(3) reads the time zone once (in the chroot it finds none).
    libc::SYS_openat,
    // abort(3) after a panic: the process ends by its own signal.
    libc::SYS_tgkill,
    libc::SYS_kill,
];

/// The datapath: netlink (rtnetlink, TC, generic netlink for psample), interface ioctls,
/// TCP connections to remote controllers; capget, to check at start that CAP_NET_ADMIN is
/// effective (refused, the check warned of a missing capability that was there).
const DATAPATH: &[i64] = &[
    libc::SYS_socket,
    libc::SYS_bind,
    libc::SYS_connect,
    libc::SYS_capget,
];

/// The role's system calls.
fn allowed(role: Role) -> Vec<i64> {
    let mut v = COMMON.to_vec();
    if role == Role::Datapath {
        v.extend_from_slice(DATAPATH);
    }
    v
}

fn filter(role: Role) -> Result<BpfProgram, String> {
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        allowed(role).into_iter().map(|s| (s, Vec::new())).collect();
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let f = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| e.to_string())?;
    BpfProgram::try_from(f).map_err(|e| e.to_string())
}

/// The Landlock ruleset of `role`; what the kernel enforced of it.
fn landlock(role: Role) -> Result<RulesetStatus, String> {
    let abi = ABI::V4;
    let net = match role {
        Role::Datapath => AccessNet::BindTcp.into(),
        _ => AccessNet::from_all(abi),
    };
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(net))
        .and_then(|r| r.create())
        .and_then(|r| r.restrict_self())
        .map_err(|e| e.to_string())?;
    Ok(status.ruleset)
}

/// Sandbox this child as `role` (no_new_privs is already set); `probe`: then make the
/// forbidden call and log its result. Errors are fatal to the child: it does not run
/// without the sandbox it was meant to have.
pub(crate) fn apply(role: Role, probe: bool) -> Result<(), String> {
    let ll = match landlock(role) {
        Ok(RulesetStatus::FullyEnforced) => "fully enforced",
        Ok(RulesetStatus::PartiallyEnforced) => "partially enforced (older Landlock ABI)",
        Ok(RulesetStatus::NotEnforced) => "not available in this kernel",
        Err(e) => return Err(format!("landlock: {e}")),
    };
    let prog = filter(role).map_err(|e| format!("seccomp: {e}"))?;
    seccompiler::apply_filter(&prog).map_err(|e| format!("seccomp: {e}"))?;
    tracing::debug!(
        "sandbox: seccomp filter on ({} system calls allowed), landlock {ll}",
        allowed(role).len()
    );
    if probe {
        // SAFETY: personality(0xffffffff) only reads the execution domain.
        let r = unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!("sandbox probe: personality(2) refused: {e}");
        } else {
            tracing::warn!("sandbox probe: personality(2) allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_compiles_and_none_may_exec_fork_or_trace() {
        for role in [Role::Control, Role::Ofp, Role::Datapath] {
            assert!(filter(role).is_ok(), "{role}");
            let a = allowed(role);
            for s in [
                libc::SYS_execve,
                libc::SYS_execveat,
                libc::SYS_fork,
                libc::SYS_clone,
                libc::SYS_clone3,
                libc::SYS_ptrace,
                libc::SYS_mount,
                libc::SYS_setuid,
                libc::SYS_unshare,
                libc::SYS_setns,
                libc::SYS_bpf,
                libc::SYS_personality,
            ] {
                assert!(!a.contains(&s), "{role} may make system call {s}");
            }
        }
        assert!(!allowed(Role::Ofp).contains(&libc::SYS_socket));
        assert!(!allowed(Role::Control).contains(&libc::SYS_connect));
        assert!(allowed(Role::Datapath).contains(&libc::SYS_socket));
    }
}
