//! Host tier: flows that do not come from learning, on a private Open vSwitch bridge
//! (userspace datapath) with hosts in namespaces — the configuration's static flows
//! (installed on connect, again after OVS restarts, brought to the new set on reload),
//! `switchctl add flow` / `del flow` (OpenFlow 1.3 and 1.0, refusals in the switch's words),
//! and a switch that goes silent (declared dead, comes back when it wakes up).
//!
//! The bridge, hosts and switchd are a `regress::OvsRig`, whose every part is a guard, so it
//! goes away even when a test panics.

use std::net::SocketAddr;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use regress::daemon::{output_text as text, Daemon};
use regress::OvsRig;

/// The cookie switchd gives static flows ("SWDL" + 2), as dump-flows prints it.
const STATIC_COOKIE: &str = "cookie=0x5357444c00000002";

/// OVS bridge (datapath id `dpid`) + two hosts + `switchd -d -v` with `body` after the
/// common settings, wired together.
fn rig(protocol: &str, dpid: u64, body: &str) -> OvsRig {
    OvsRig::builder()
        .protocol(protocol)
        .datapath_id(dpid)
        .daemon(Daemon::builder().verbose().config(body))
        .start()
        .expect("OVS bridge, hosts and switchd")
}

/// The dump-flows lines that carry switchd's static-flow cookie.
fn static_lines(flows: &str) -> Vec<String> {
    flows
        .lines()
        .filter(|l| l.contains(STATIC_COOKIE))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn static_flows_are_installed_on_connect_after_an_ovs_restart_and_on_reload() {
    let dpid = 0xa1;
    let body = |flows: &str| format!("switch \"edge\" {{\n\tdatapath-id 0x{dpid:x}\n{flows}}}\n");
    let mut rig = rig(
        "OpenFlow13",
        dpid,
        &body("\tflow \"priority=100,icmp,actions=drop\"\n\tflow \"priority=90,tcp,tp_dst=7001,actions=drop\"\n"),
    );
    let has = |f: &str, what: &str| static_lines(f).iter().any(|l| l.contains(what));
    let flows = rig.wait_flows("static flows not installed", |f| {
        has(f, "priority=100,icmp actions=drop")
            && has(f, "priority=90,tcp,tp_dst=7001 actions=drop")
    });
    assert!(
        flows.contains("priority=0 actions=CONTROLLER:65535"),
        "{flows}"
    );
    // The drop flow stops ping between the hosts; other traffic is learned and flows.
    rig.listen_tcp(7000);
    rig.listen_tcp(7001);
    assert!(
        rig.tcp_works(7000),
        "TCP 7000 blocked\n{}",
        rig.dump_flows()
    );
    assert!(
        !rig.pings(3),
        "ping went through the drop flow\n{}",
        rig.dump_flows()
    );
    assert!(!rig.hosts()[0].ns.tcp_reaches(
        SocketAddr::from((rig.hosts()[1].ip, 7001)),
        Duration::from_secs(2)
    ));

    // ovs-vswitchd restarts with an empty table: the flows come back on reconnect.
    rig.restart_ovs();
    rig.wait_flows("static flows not reinstalled after the OVS restart", |f| {
        has(f, "priority=100,icmp actions=drop") && has(f, "priority=90,tcp,tp_dst=7001")
    });
    assert!(!rig.pings(2), "ping went through after the restart");

    // Reload: the ICMP drop goes, a new flow comes, the unchanged one stays.
    let mut monitor = rig.daemon().monitor().expect("switchctl monitor");
    let reloaded = rig.daemon().config().clone().with_extra(&body("\tflow \"priority=90,tcp,tp_dst=7001,actions=drop\"\n\tflow \"priority=80,udp,tp_dst=53,actions=drop\"\n\tflow \"priority=70,actions=output:65281\"\n")).text();
    rig.daemon().write_config(&reloaded);
    let out = rig.daemon().ctl_ok(&["reload"]);
    assert_eq!(out, "configuration reloaded\n");
    let flows = rig.wait_flows("reload not applied", |f| {
        !has(f, "icmp") && has(f, "priority=80,udp,tp_dst=53")
    });
    assert_eq!(static_lines(&flows).len(), 2, "{flows}");
    assert!(rig.pings(5), "ping still blocked after reload\n{flows}");
    // A static flow the switch refuses is logged with the switch, the flow and the error,
    // and shown by monitor.
    let want = format!(
        "switch {} refused static flow \"priority=70,actions=output:65281\": OFPBAC_BAD_OUT_PORT",
        rig.dpid()
    );
    assert!(
        rig.daemon().wait_log(&want, Duration::from_secs(5)),
        "no refusal logged:\n{}",
        rig.daemon().log()
    );
    // ... and begins with the file and line the flow was written at, as OpenBSD says it.
    let line = reloaded
        .lines()
        .position(|l| l.contains("priority=70,actions=output:65281"))
        .expect("the refused flow's line")
        + 1;
    let at = format!("{}:{line}: {want}", rig.daemon().conf().display());
    assert!(
        rig.daemon().log().contains(&at),
        "no {at}:\n{}",
        rig.daemon().log()
    );
    monitor.stop();
    let seen = monitor.events();
    assert!(seen.contains(&want), "monitor: {seen}");
}

/// `switchctl add flow` / `del flow` against the bridge, named three ways.
fn switchctl_flows_on(protocol: &str, refused_port: &str) {
    let dpid = 0xb2;
    let rig = rig(
        protocol,
        dpid,
        &format!("switch \"edge\" {{\n\tdatapath-id {dpid}\n}}\n"),
    );
    rig.listen_tcp(7000);
    assert!(
        rig.pings(5),
        "no ping before any flow\n{}",
        rig.dump_flows()
    );
    let mut monitor = rig.daemon().monitor().expect("switchctl monitor");
    let d = rig.daemon();

    // `show` knows the configured name too.
    let out = d.ctl_ok(&["show", "switches", "edge"]);
    assert!(out.contains(rig.dpid()), "{out}");
    let out = d.ctl_ok(&["add", "flow", "edge", "priority=200,icmp,actions=drop"]);
    assert_eq!(out, "flow added\n");
    // switchctl answered after the barrier: the flow is in the table now.
    let flows = rig.dump_flows();
    assert!(flows.contains("priority=200,icmp actions=drop"), "{flows}");
    assert!(!rig.pings(3), "ping went through the drop flow\n{flows}");
    assert!(rig.tcp_works(7000), "TCP blocked by an ICMP drop\n{flows}");

    // A non-strict delete by match, the switch named by its datapath id.
    let out = d.ctl_ok(&["del", "flow", &format!("0x{dpid:x}"), "icmp"]);
    assert_eq!(out, "flows deleted\n");
    let flows = rig.dump_flows();
    assert!(!flows.contains("icmp"), "{flows}");
    assert!(rig.pings(5), "ping blocked after the delete\n{flows}");

    // A syntax error: a sentence and exit 1, nothing sent.
    let out = d.ctl(&["add", "flow", "edge", "icmp,actions=frobnicate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "switchctl: bad flow \"icmp,actions=frobnicate\": column 14: unknown action"
        ),
        "{err}"
    );

    // A flow the switch refuses: its error, named, and exit 1.
    let flow = format!("priority=5,actions=output:{refused_port}");
    let out = d.ctl(&["add", "flow", "edge", &flow]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "switchctl: switch {} refused the flow: OFPBAC_BAD_OUT_PORT",
            rig.dpid()
        )),
        "{err}"
    );
    let after = rig.dump_flows();
    assert!(!after.contains("priority=5,"), "{after}");
    assert!(!after.contains("frobnicate"), "{after}");

    // No switch by that name: a sentence, exit 1.
    let out = d.ctl(&["add", "flow", "nosuch", "actions=drop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "switchctl: no switch nosuch is connected\n"
    );

    // Delete everything: switchd puts its table-miss back (1.3), so learning goes on.
    d.ctl_ok(&["add", "flow", rig.dpid(), "priority=200,icmp,actions=drop"]);
    let out = d.ctl_ok(&["-j", "del", "flow", "edge"]);
    assert!(out.contains("\"response\": \"ok\""), "{out}");
    let flows = rig.dump_flows();
    assert!(!flows.contains("icmp"), "{flows}");
    if protocol == "OpenFlow13" {
        assert!(
            flows.contains("priority=0 actions=CONTROLLER:65535"),
            "{flows}"
        );
    }
    assert!(rig.pings(5), "no ping after deleting every flow\n{flows}");

    monitor.stop();
    let seen = monitor.events();
    let sw = rig.dpid();
    for want in [
        format!("switch {sw}: flow added: priority=200,icmp,actions=drop"),
        format!("switch {sw}: flows deleted: icmp"),
        format!("switch {sw}: every flow deleted"),
    ] {
        assert!(seen.contains(&want), "monitor lacks {want:?}:\n{seen}");
    }
    assert!(!seen.contains("frobnicate"), "{seen}");
}

#[test]
fn switchctl_adds_and_deletes_flows_over_openflow13() {
    // 0xff01 is neither a physical port nor a reserved one in 1.3.
    switchctl_flows_on("OpenFlow13", "65281");
}

#[test]
fn switchctl_adds_and_deletes_flows_over_openflow10() {
    // OFPP_MAX (0xff00) is no port a 1.0 switch can output to.
    switchctl_flows_on("OpenFlow10", "65280");
}

/// SIGCONTs the process when dropped, so that a failing test never leaves it stopped.
struct Stopped(i32);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGCONT);
    }
}

#[test]
fn a_silent_switch_is_declared_dead_and_comes_back_when_it_wakes() {
    let rig = rig("OpenFlow13", 0xc3, "echo-interval 1\n");
    let mut monitor = rig.daemon().monitor().expect("switchctl monitor");
    let pid = rig.ovs().vswitchd_pid() as i32;
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("SIGSTOP ovs-vswitchd");
    let stopped = Stopped(pid);
    // Nothing for three echo intervals (3 s): dropped from show switches.
    rig.wait_disconnected();
    // The monitor hears of it a moment later (a busy machine makes the moment longer).
    let dead = |s: &str| {
        s.contains(&format!("switch {} at 127.0.0.1:", rig.dpid()))
            && s.contains("is dead: nothing received for")
    };
    assert!(
        regress::wait::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            dead(&monitor.events())
        }),
        "monitor: {}",
        monitor.events()
    );
    assert!(rig.daemon().log().contains("dead: nothing received for"));
    drop(stopped);
    rig.wait_connected();
    assert!(rig.pings(5), "no ping after the switch came back");
    let came_back = |seen: &str| {
        let dead = seen.find("is dead");
        let back = seen.rfind(&format!("switch {} connected from", rig.dpid()));
        dead.is_some() && back > dead
    };
    regress::wait::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        came_back(&monitor.events())
    });
    monitor.stop();
    let seen = monitor.events();
    assert!(came_back(&seen), "monitor: {seen}");
}
