//! Looking at processes through /proc: titles, status fields, children.
//!
//! These are assertion helpers for tests of the daemon's process model; where /proc does
//! not have what a test asks for, they panic with what was missing.

use std::path::Path;

/// `/proc/PID/cmdline` with the NULs between arguments as spaces ("" for a zombie or a
/// process that is gone). switchd's processes rewrite theirs to their title.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

/// The value of `field` in `/proc/PID/status` (e.g. `Uid`, `CapEff`, `NoNewPrivs`).
///
/// # Panics
/// If the process is gone or has no such field.
pub fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Whether `pid` is a live process: neither reaped (no /proc entry) nor a zombie (which has
/// an empty cmdline).
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !cmdline(pid).is_empty()
}

/// The parent pid of `pid` (field 4 of /proc/PID/stat), if the process exists.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may contain spaces; fields resume after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The children of `parent`, as (cmdline, pid), sorted.
///
/// # Panics
/// If /proc cannot be read.
pub fn children(parent: u32) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .unwrap_or_else(|e| panic!("/proc: {e}"))
        .flatten()
    {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if parent_of(pid) == Some(parent) {
            out.push((cmdline(pid), pid));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_child_of_ours_and_its_status() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let me = std::process::id();
        // Until the child's exec has shown in /proc its command line may still be ours.
        let seen = crate::wait::wait_until(
            std::time::Duration::from_secs(5),
            std::time::Duration::from_millis(10),
            || children(me).contains(&("sleep 30".to_string(), child.id())),
        );
        assert!(seen, "{:?}", children(me));
        assert_eq!(parent_of(child.id()), Some(me));
        assert!(alive(child.id()));
        assert_eq!(status_field(child.id(), "PPid"), me.to_string());
        let _ = child.kill();
        let _ = child.wait();
        assert!(!alive(child.id()));
    }
}
