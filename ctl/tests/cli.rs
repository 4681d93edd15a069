//! switchctl's command line and its errors when there is no daemon to talk to.

use std::process::{Command, Output};

fn switchctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchctl"))
        .args(args)
        .output()
        .expect("run switchctl")
}

#[test]
fn no_daemon_is_a_sentence_and_a_failure() {
    let o = switchctl(&["-s", "/nonexistent/switchd.sock", "show", "summary"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err,
        "switchctl: /nonexistent/switchd.sock: no such socket (is switchd running?)\n"
    );
}

#[test]
fn unknown_commands_print_usage() {
    for args in [
        &["frobnicate"][..],
        &[],
        &["show", "cats"],
        &["log", "loud"],
        &["-q"],
    ] {
        let o = switchctl(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("usage: switchctl"), "{args:?}: {err}");
    }
}

#[test]
fn a_bad_flow_is_reported_without_contacting_the_daemon() {
    // The socket does not exist: had switchctl tried to connect, it would say so.
    let o = switchctl(&[
        "-s",
        "/nonexistent/switchd.sock",
        "add",
        "flow",
        "sw0",
        "priority=1,icmp,actions=frobnicate",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "switchctl: bad flow \"priority=1,icmp,actions=frobnicate\": column 25: unknown action \"frobnicate\"\n"
    );
    let o = switchctl(&[
        "-s",
        "/nonexistent/switchd.sock",
        "del",
        "flow",
        "sw0",
        "tp_dst=80",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("switchctl: bad flow \"tp_dst=80\": column 1: tp_dst requires"),
        "{err}"
    );
}
