//! Host tier: every child runs under its seccomp filter (`/proc/PID/status` says
//! `Seccomp: 2`) and a system call outside its list is refused: asked through
//! `SWITCHD_SANDBOX_PROBE`, each child calls personality(2) once sandboxed and logs the
//! refusal (EPERM). The same call made here, outside the sandbox, succeeds; and the
//! sandboxed processes still do their work (switchctl is answered, switches are served).
//!
//! One test in this file: it sets an environment variable that the daemon inherits.

use std::net::SocketAddr;
use std::time::Duration;

use regress::daemon::Daemon;
use regress::ofbench::Fleet;

fn status_field(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn every_child_is_filtered_and_refuses_a_call_outside_its_list() {
    // SAFETY (of intent): the only test in this process, before any thread of ours runs.
    std::env::set_var("SWITCHD_SANDBOX_PROBE", "1");
    let d = Daemon::builder().verbose().start().expect("switchd");
    // SAFETY: personality(0xffffffff) only reads the execution domain.
    let here = unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
    assert!(here >= 0, "personality(2) fails even outside the sandbox");

    for role in ["control", "ofp", "datapath"] {
        let pid = d.child(role);
        assert_eq!(status_field(pid, "Seccomp"), "2", "{role} has no filter");
        assert_eq!(status_field(pid, "NoNewPrivs"), "1", "{role}");
        let line =
            format!("{role}: sandbox probe: personality(2) refused: Operation not permitted");
        assert!(
            d.wait_log(&line, Duration::from_secs(10)),
            "no refusal logged by {role}:\n{}",
            d.log()
        );
    }
    assert_eq!(
        status_field(d.pid(), "Seccomp"),
        "0",
        "the parent is not filtered"
    );

    // Still at work: control answers, ofp serves switches.
    d.ctl_ok(&["show", "summary"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], d.port()));
    let fleet = Fleet::connect(addr, 2, 0x51, Duration::from_secs(20));
    assert!(
        fleet.is_ok(),
        "switches not served: {:?}\n{}",
        fleet.err(),
        d.log()
    );
    assert!(!d.log().contains("personality(2) allowed"), "{}", d.log());
}
