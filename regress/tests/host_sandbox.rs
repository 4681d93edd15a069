//! Host tier: every child runs under its seccomp filter (`/proc/PID/status` says
//! `Seccomp: 2`) and a system call outside its list is refused: asked through
//! `SWITCHD_SANDBOX_PROBE`, each child calls personality(2) once sandboxed and logs the
//! refusal (EPERM). The same call made here, outside the sandbox, succeeds; and the
//! sandboxed processes still do their work (switchctl is answered, switches are served).
//! The checks are `common/sandbox.rs`, shared with the kernel tier's `kernel_sandbox.rs`.
//!
//! One test in this file: it sets an environment variable that the daemon inherits.

#[path = "common/sandbox.rs"]
mod sandbox;

use regress::daemon::Daemon;

#[test]
fn every_child_is_filtered_and_refuses_a_call_outside_its_list() {
    sandbox::ask_for_the_probe();
    let d = Daemon::builder().verbose().start().expect("switchd");
    sandbox::every_child_is_filtered_and_refuses_a_call_outside_its_list(&d);
}
