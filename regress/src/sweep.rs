//! Removing what killed test processes left behind.
//!
//! Guards clean up on drop and on panic, but a test process that is SIGKILLed (a CI
//! timeout, a hung test killed by hand) runs no destructor. Every fixture name carries its
//! creator's pid, so anything whose creator is dead can be removed safely, even while other
//! test processes are running.

use std::path::Path;
use std::sync::Once;

use crate::cmd::run_ok;
use crate::{owner_pid, DIR_PREFIX, PREFIX};

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn ours_and_orphaned(name: &str, all: bool) -> bool {
    match owner_pid(name) {
        Some(pid) => all || !alive(pid),
        None => false,
    }
}

/// Links in the root namespace whose name starts with the fixture prefix.
fn root_links() -> Vec<String> {
    let out = run_ok(&["ip", "-o", "link", "show"]).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| n.starts_with(PREFIX))
        .collect()
}

fn netns_names() -> Vec<String> {
    let out = run_ok(&["ip", "netns", "list"]).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
        .map(str::to_string)
        .collect()
}

/// Fixture directories in the temporary directory (`swt-<kind>-<pid>-<n>`).
fn fixture_dirs() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(DIR_PREFIX) && owner_pid(n).is_some())
        .collect()
}

/// The fixture directory named in `text` (a command line or a path), if any.
fn fixture_dir_in(text: &str) -> Option<String> {
    text.match_indices(DIR_PREFIX).find_map(|(i, _)| {
        let dir = text[i..].split(['/', ' ']).next().unwrap_or_default();
        owner_pid(dir).map(|_| dir.to_string())
    })
}

/// Processes whose command line mentions a fixture directory (private OVS daemons,
/// `switchctl -s DIR/switchd.sock`), or whose root is one (switchd's chrooted children).
fn fixture_processes() -> Vec<(i32, String)> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let root = std::fs::read_link(e.path().join("root")).unwrap_or_default();
        if let Some(dir) =
            fixture_dir_in(&cmdline).or_else(|| fixture_dir_in(&root.to_string_lossy()))
        {
            v.push((pid, dir));
        }
    }
    v
}

/// Everything fixtures made that still exists, as human-readable lines. With `all`, also
/// what live processes own (used by `regress/run` after a run, when no test may be alive).
pub fn leftovers(all: bool) -> Vec<String> {
    let mut v = Vec::new();
    for n in netns_names() {
        if ours_and_orphaned(&n, all) {
            v.push(format!("netns {n}"));
        }
    }
    for n in root_links() {
        if ours_and_orphaned(&n, all) {
            v.push(format!("link {n}"));
        }
    }
    for (pid, dir) in fixture_processes() {
        if ours_and_orphaned(&dir, all) {
            v.push(format!("process {pid} ({dir})"));
        }
    }
    for d in fixture_dirs() {
        if ours_and_orphaned(&d, all) {
            v.push(format!(
                "directory {}",
                std::env::temp_dir().join(d).display()
            ));
        }
    }
    v
}

/// Remove what dead test processes left behind (with `all`: everything with the prefix).
/// Returns what was removed.
pub fn sweep(all: bool) -> Vec<String> {
    let found = leftovers(all);
    for (pid, dir) in fixture_processes() {
        if ours_and_orphaned(&dir, all) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    for n in netns_names() {
        if ours_and_orphaned(&n, all) {
            if let Ok(pids) = run_ok(&["ip", "netns", "pids", &n]) {
                for pid in pids
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            let _ = run_ok(&["ip", "netns", "del", &n]);
        }
    }
    for n in root_links() {
        if ours_and_orphaned(&n, all) {
            let _ = run_ok(&["ip", "link", "del", &n]);
        }
    }
    for d in fixture_dirs() {
        if ours_and_orphaned(&d, all) {
            let _ = std::fs::remove_dir_all(std::env::temp_dir().join(d));
        }
    }
    found
}

/// Sweep the leftovers of dead test processes once per process, before its first fixture.
pub(crate) fn sweep_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for what in sweep(false) {
            eprintln!("regress: removed leftover {what}");
        }
    });
}
