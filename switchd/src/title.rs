//! Process titles: what `ps -o args` (i.e. /proc/PID/cmdline) shows for each process.
//!
//! - A child is exec'd with an argv of exactly one string, its title (`switchd: ofp`), so
//!   there is nothing to overwrite: the title *is* its command line. The same string tells
//!   `main` which role to run (see [`crate::msg::Role::from_title`]); together with the
//!   parent channel on descriptor 3 (checked to be a SEQPACKET socket) that is the whole
//!   "hidden argument", and no option of the public command line exists for it.
//! - The parent was started by a user with whatever argv they gave, so it overwrites its
//!   argument area in place, as setproctitle(3) does: the title, then NULs to the end of
//!   the area. If the area is shorter than the title (`switchd` alone), the environment
//!   strings that follow it are moved to the heap and their space is used too; the kernel
//!   reads on past the end of argv when its last byte is not a NUL. The cleaner
//!   prctl(PR_SET_MM_ARG_START/END) needs CAP_SYS_RESOURCE, which a root parent inside a
//!   container often lacks (ours do), so it is not used.
//! - The short name (comm, for `ps -C`, `pgrep`) of every process is "switchd": children are
//!   exec'd through /proc/self/exe, which would otherwise name them "exe".

use std::io;

/// Set comm, the 15-byte task name.
pub(crate) fn set_comm(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated buffer of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// Make /proc/self/cmdline read `title`, by overwriting the argument area in place (see
/// the module comment). Must run before any thread exists: it may rebuild the environment.
pub(crate) fn set_cmdline(title: &str) -> io::Result<()> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/self/stat");
    // Fields after the parenthesised comm start at field 3 (state); arg_start is field 48.
    let rest = stat
        .get(stat.rfind(')').ok_or_else(bad)? + 2..)
        .ok_or_else(bad)?;
    let fields: Vec<usize> = rest
        .split_whitespace()
        .skip(45)
        .take(4)
        .map(|f| f.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [arg_start, arg_end, env_start, env_end] = fields[..] else {
        return Err(bad());
    };
    let mut area = arg_end.saturating_sub(arg_start);
    if title.len() + 1 > area && env_start == arg_end {
        // Too short: take the environment strings that follow too, after moving the
        // environment to the heap so that nothing points into the area any more.
        let vars: Vec<_> = std::env::vars_os().collect();
        // SAFETY: no other thread exists; the environment is rebuilt right away.
        unsafe { libc::clearenv() };
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
        area = env_end.saturating_sub(arg_start);
    }
    if area == 0 {
        return Err(io::Error::other("no argument area"));
    }
    let n = title.len().min(area - 1);
    // SAFETY: [arg_start, arg_start + area) is this process's own argument (and, when
    // extended, environment) string area, which the kernel mapped writable on the stack and
    // which nothing references any more: argv was parsed, the environment was moved.
    unsafe {
        let p = arg_start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, area - n);
    }
    Ok(())
}
