//! Dropping privileges in a child, before its runtime starts (so before any thread exists):
//! close inherited descriptors, clear the environment, chroot, change user, keep only the
//! capabilities the role needs, set no_new_privs, and die with the parent.
//!
//! One error variant per failing system call, naming what it concerned.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};

#[derive(Debug, thiserror::Error)]
pub(crate) enum PrivError {
    #[error("close_range: {0}")]
    CloseRange(io::Error),
    #[error("chroot {0}: {1}")]
    Chroot(PathBuf, io::Error),
    #[error("chdir / in the chroot: {0}")]
    Chdir(io::Error),
    #[error("setgroups({0}): {1}")]
    Setgroups(u32, io::Error),
    #[error("setresgid({0}): {1}")]
    Setresgid(u32, io::Error),
    #[error("setresuid({0}): {1}")]
    Setresuid(u32, io::Error),
    #[error("prctl({0}): {1}")]
    Prctl(&'static str, io::Error),
    #[error("capabilities ({0}): {1}")]
    Caps(&'static str, caps::errors::CapsError),
    #[error("privileges were not dropped: {0}")]
    StillPrivileged(&'static str),
}

/// Close every descriptor above `last_kept` (the child keeps 0-2 and its parent channel).
pub(crate) fn close_inherited(last_kept: u32) -> Result<(), PrivError> {
    // SAFETY: close_range(2) only closes descriptors; nothing else in this single-threaded
    // process holds any above `last_kept` yet.
    let r = unsafe { libc::syscall(libc::SYS_close_range, last_kept + 1, u32::MAX, 0u32) };
    if r < 0 {
        return Err(PrivError::CloseRange(io::Error::last_os_error()));
    }
    Ok(())
}

/// Forget the environment: nothing a child does depends on it, and it may carry secrets.
pub(crate) fn clear_env() {
    // SAFETY: called before any thread exists.
    unsafe { libc::clearenv() };
}

pub(crate) fn enter_chroot(dir: &Path) -> Result<(), PrivError> {
    std::os::unix::fs::chroot(dir).map_err(|e| PrivError::Chroot(dir.to_path_buf(), e))?;
    std::env::set_current_dir("/").map_err(PrivError::Chdir)
}

fn prctl(name: &'static str, option: libc::c_int, arg: libc::c_ulong) -> Result<(), PrivError> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        return Err(PrivError::Prctl(name, io::Error::last_os_error()));
    }
    Ok(())
}

/// Become `uid`/`gid` (with no supplementary groups but `gid`), keeping `keep` as the only
/// effective and permitted capabilities; inheritable and ambient sets end up empty, and the
/// bounding set holds nothing beyond `keep` either, so not even an exec could regain more.
///
/// `last_cap` is the kernel's highest capability ([`cap_last_cap`], read before chroot):
/// newer ones cannot be dropped (EINVAL), the kernel does not have them.
pub(crate) fn drop_privileges(
    uid: u32,
    gid: u32,
    keep: &[Capability],
    last_cap: u8,
) -> Result<(), PrivError> {
    if uid == 0 {
        return Err(PrivError::StillPrivileged(
            "refusing to run a child as root",
        ));
    }
    let keep_set: CapsHashSet = keep.iter().copied().collect();
    // The bounding set can only be lowered while we still hold CAP_SETPCAP (as root).
    for cap in caps::all() {
        if !keep_set.contains(&cap) && cap.index() <= last_cap {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| PrivError::Caps("bounding", e))?;
        }
    }
    // Across setresuid, the kernel clears the permitted set unless KEEPCAPS is set.
    if !keep.is_empty() {
        prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 1)?;
    }
    let groups = [gid as libc::gid_t];
    // SAFETY: plain credential system calls with valid arguments.
    unsafe {
        if libc::setgroups(1, groups.as_ptr()) < 0 {
            return Err(PrivError::Setgroups(gid, io::Error::last_os_error()));
        }
        if libc::setresgid(gid, gid, gid) < 0 {
            return Err(PrivError::Setresgid(gid, io::Error::last_os_error()));
        }
        if libc::setresuid(uid, uid, uid) < 0 {
            return Err(PrivError::Setresuid(uid, io::Error::last_os_error()));
        }
    }
    caps::set(None, CapSet::Permitted, &keep_set).map_err(|e| PrivError::Caps("permitted", e))?;
    caps::set(None, CapSet::Effective, &keep_set).map_err(|e| PrivError::Caps("effective", e))?;
    caps::clear(None, CapSet::Inheritable).map_err(|e| PrivError::Caps("inheritable", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| PrivError::Caps("ambient", e))?;
    prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 0)?;

    // Trust, but verify: root must be out of reach now.
    // SAFETY: setuid(0) is expected to fail; if it succeeds we refuse to go on.
    if unsafe { libc::setuid(0) } == 0 {
        return Err(PrivError::StillPrivileged("setuid(0) succeeded"));
    }
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| PrivError::Caps("read", e))?;
    if permitted != keep_set {
        return Err(PrivError::StillPrivileged("permitted capabilities differ"));
    }
    Ok(())
}

/// The highest capability the running kernel knows (all of ours if /proc cannot say).
pub(crate) fn cap_last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u8::MAX)
}

/// No exec of a set-user-ID or file-capability binary can ever raise our privileges.
pub(crate) fn no_new_privs() -> Result<(), PrivError> {
    prctl("PR_SET_NO_NEW_PRIVS", libc::PR_SET_NO_NEW_PRIVS, 1)
}

/// Die (SIGKILL) when the parent does. Must be (re)set after the credential change, which
/// clears it; `parent` is the pid we expect as parent, to close the race where it died first.
pub(crate) fn die_with_parent(parent: u32) -> Result<(), PrivError> {
    prctl(
        "PR_SET_PDEATHSIG",
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
    )?;
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } as u32 != parent {
        // The parent is gone already; nobody will signal us.
        std::process::exit(1);
    }
    Ok(())
}

/// Raise the soft limit on open descriptors to the hard limit; the new soft limit. Every
/// switch connection is a descriptor of the ofp process, and children inherit the limit.
pub(crate) fn raise_nofile() -> io::Result<libc::rlim_t> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if l.rlim_cur < l.rlim_max {
        l.rlim_cur = l.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(l.rlim_cur)
}

/// Look up a user: its uid and primary gid, or `None` if it does not exist.
pub(crate) fn lookup_user(name: &str) -> io::Result<Option<(u32, u32)>> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name contains NUL"))?;
    // SAFETY: getpwnam_r with buffers we own.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let r = libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        if result.is_null() {
            return Ok(None);
        }
        Ok(Some((pwd.pw_uid, pwd.pw_gid)))
    }
}

/// Look up a group's gid, or `None` if it does not exist.
pub(crate) fn lookup_group(name: &str) -> io::Result<Option<u32>> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group name contains NUL"))?;
    // SAFETY: getgrnam_r with buffers we own.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut result: *mut libc::group = std::ptr::null_mut();
        let r = libc::getgrnam_r(
            cname.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        if result.is_null() {
            return Ok(None);
        }
        Ok(Some(grp.gr_gid))
    }
}
