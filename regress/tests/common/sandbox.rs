//! The sandbox checks that the host tier (`host_sandbox.rs`) and the kernel tier
//! (`kernel_sandbox.rs`, with a local switch at work) share: every child runs under its
//! seccomp filter (`/proc/PID/status` says `Seccomp: 2`) and refuses a system call outside
//! its list (asked through `SWITCHD_SANDBOX_PROBE`: personality(2), refused with EPERM),
//! the parent is not filtered, and the sandboxed processes still do their work.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use regress::daemon::Daemon;
use regress::ofbench::Fleet;

/// Ask every child of the switchd started after this to make the forbidden call once it
/// is sandboxed. Call it before any thread of the test runs (it sets an environment
/// variable the daemon inherits).
pub fn ask_for_the_probe() {
    std::env::set_var("SWITCHD_SANDBOX_PROBE", "1");
}

pub fn status_field(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// The checks on daemon `d` (started verbose, after [`ask_for_the_probe`]); what each
/// child's log says of its Landlock ruleset, by role.
pub fn every_child_is_filtered_and_refuses_a_call_outside_its_list(
    d: &Daemon,
) -> Vec<(&'static str, String)> {
    // SAFETY: personality(0xffffffff) only reads the execution domain.
    let here = unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
    assert!(here >= 0, "personality(2) fails even outside the sandbox");

    let mut landlock = Vec::new();
    for role in ["control", "ofp", "datapath"] {
        let pid = d.child(role);
        assert_eq!(status_field(pid, "Seccomp"), "2", "{role} has no filter");
        assert_eq!(status_field(pid, "NoNewPrivs"), "1", "{role}");
        let line =
            format!("{role}: sandbox probe: personality(2) refused: Operation not permitted");
        assert!(
            d.wait_log(&line, Duration::from_secs(30)),
            "no refusal logged by {role}:\n{}",
            d.log()
        );
        let on = format!("{role}: sandbox: seccomp filter on (");
        let said = d
            .log()
            .lines()
            .find_map(|l| l.strip_prefix(on.as_str()).map(str::to_string))
            .unwrap_or_else(|| panic!("{role} did not log its sandbox:\n{}", d.log()));
        let ll = said
            .split("landlock ")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        landlock.push((role, ll));
    }
    assert_eq!(
        status_field(d.pid(), "Seccomp"),
        "0",
        "the parent is not filtered"
    );

    // Still at work: control answers, ofp serves switches.
    d.ctl_ok(&["show", "summary"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], d.port()));
    let fleet = Fleet::connect(addr, 2, 0x51, Duration::from_secs(60));
    assert!(
        fleet.is_ok(),
        "switches not served: {:?}\n{}",
        fleet.err(),
        d.log()
    );
    assert!(!d.log().contains("personality(2) allowed"), "{}", d.log());
    landlock
}
