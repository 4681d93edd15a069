//! Kernel tier: the sandbox on the VM's kernel (Debian's 6.1), with a local switch at work,
//! so that the datapath's seccomp filter and Landlock ruleset are exercised by TC work:
//! the bridge and its ports, the kernel probe, flower filters installed and deleted, their
//! counters read. Then the same checks as the host tier (`common/sandbox.rs`): every child
//! filtered, a call outside its list refused, the parent not filtered, the processes still
//! at work.
//!
//! One test in this file: it sets an environment variable that the daemon inherits.

#[path = "common/sandbox.rs"]
mod sandbox;

use std::process::Command;
use std::time::Duration;

use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::wait::wait_until;
use regress::{unique_name, Lan};

/// The bridge switchd creates, deleted however the test ends.
struct LinkGuard(String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// How many flower filters `tc filter show dev DEV ingress` lists.
fn flower_filters(dev: &str) -> usize {
    let out = Command::new("tc")
        .args(["filter", "show", "dev", dev, "ingress"])
        .output()
        .expect("tc");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("filter") && l.contains(" flower"))
        .count()
}

fn wait(d: &Daemon, what: &str, cond: impl FnMut() -> bool) {
    assert!(
        wait_until(Duration::from_secs(120), Duration::from_millis(100), cond),
        "{what}; switchd stderr:\n{}",
        d.log()
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn a_local_switch_works_under_the_sandbox_and_every_child_refuses_a_call_outside_its_list() {
    sandbox::ask_for_the_probe();
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let br = LinkGuard(unique_name());
    let d = Daemon::builder()
        .verbose()
        .config(&format!(
            "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\"\n\tport \"{}\"\n\ttable-miss normal\n}}\n",
            br.0, h0.port, h1.port
        ))
        .ready_within(Duration::from_secs(120))
        .start()
        .expect("start switchd");
    wait(&d, "the local switch did not connect", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    assert!(
        d.log()
            .contains("kernel probe: present: sch_clsact, cls_flower, act_gact, act_mirred"),
        "{}",
        d.log()
    );

    // TC work under the datapath's filter: NORMAL forwards, a drop flow becomes a flower
    // filter that stops ping and is counted, its deletion lets ping through again.
    assert!(
        h0.ns.ping_eventually(h1.ip, 20),
        "no ping across the switch"
    );
    let before = flower_filters(&h0.port);
    d.ctl_ok(&["add", "flow", "vm", "priority=100,icmp,actions=drop"]);
    wait(&d, "the drop flow is not a flower filter", || {
        flower_filters(&h0.port) > before
    });
    assert!(!h0.ns.ping_eventually(h1.ip, 3), "ping crossed a drop flow");
    let flows = d.ctl_ok(&["show", "flows", "vm"]);
    let counted = flows
        .lines()
        .find(|l| l.contains("icmp") && l.contains("drop"))
        .and_then(|l| l.split_whitespace().rev().nth(1))
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(counted > 0, "the drop flow counted nothing:\n{flows}");
    d.ctl_ok(&["del", "flow", "vm", "icmp"]);
    wait(&d, "the drop flow's filter stayed", || {
        flower_filters(&h0.port) == before
    });
    assert!(
        h0.ns.ping_eventually(h1.ip, 20),
        "no ping after the deletion"
    );
    // Nothing of that work was refused by the filter (EPERM), but for the probe's call.
    let log = d.log();
    assert!(
        !log.lines()
            .any(|l| l.contains("Operation not permitted") && !l.contains("sandbox probe")),
        "{log}"
    );

    let landlock = sandbox::every_child_is_filtered_and_refuses_a_call_outside_its_list(&d);
    for (role, ll) in landlock {
        eprintln!("{role}: landlock {ll}");
    }
}
