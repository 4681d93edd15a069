//! Kernel tier: a local switch handed to a remote controller (`forward to tcp:HOST:PORT`;
//! the VM, `regress/run` runs this with `--include-ignored`).
//!
//! A real third-party controller, os-ken 3.1.1 (`regress/setup --osken`), drives the
//! local bridge through switchd's datapath process: the flows its app installs (drop ICMP,
//! table-miss NORMAL) become flower filters on the bridge's ports, ping between the two
//! namespaced hosts fails while TCP goes through; with os-ken gone the filters and the
//! behaviour stay (fail secure), and when os-ken comes back switchd connects again.
//!
//! Without a controller, fail-mode standalone keeps the bridge forwarding (a table-miss
//! NORMAL over the configured drop) and fail-mode secure does not.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Daemon, LinkGuard};
use osken::{test_app, wait_long, OsKen};
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, unique_name, Lan};

fn forward_conf(br: &str, p0: &str, p1: &str, port: u16, fail_mode: &str) -> String {
    format!(
        "switch \"vm\" {{\n\tbridge \"{br}\"\n\tport \"{p0}\" number 1\n\tport \"{p1}\" number 2\n\
         \ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n\tfail-mode {fail_mode}\n}}\n"
    )
}

/// `tc filter show dev DEV ingress`, as text.
fn filters(dev: &str) -> String {
    regress::run_ok(&["tc", "filter", "show", "dev", dev, "ingress"]).expect("tc filter show")
}

fn count_lines(d: &Daemon, needle: &str) -> usize {
    d.stderr().lines().filter(|l| l.contains(needle)).count()
}

#[test]
#[ignore = "kernel tier: needs cls_flower and os-ken, runs in the VM"]
fn osken_drives_the_local_bridge_and_the_flows_outlive_it() {
    let dir = TempDir::new("forward-osken");
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let (p0, p1) = (&h0.port, &h1.port);
    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start(
        &dir.0,
        "127.0.0.1",
        port,
        &test_app("static_flows_13.py"),
        1,
    );

    // The configured table-miss is drop: TCP can only go through by os-ken's NORMAL.
    let d = Daemon::start(&forward_conf(&br.0, p0, p1, port, "secure"));
    let connected = format!("local switch vm: connected to controller 127.0.0.1:{port}");
    assert!(
        wait_long(60, || osken.count("barrier") >= 1),
        "os-ken's flows were not acknowledged; notes {:?}\nos-ken:\n{}\nswitchd stderr:\n{}",
        osken.notes(),
        osken.log_text(),
        d.stderr()
    );
    assert_eq!(count_lines(&d, &connected), 1, "{}", d.stderr());
    let notes = osken.notes();
    println!("os-ken app notes: {notes:?}");
    assert!(
        notes[0].starts_with("connected ") && notes[0].ends_with(" n_tables 8"),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|l| l.starts_with("error")),
        "the switch refused something os-ken sent: {notes:?}\nswitchd stderr:\n{}",
        d.stderr()
    );

    // os-ken's flows are flower filters on both ports: the ICMP drop and the NORMAL.
    for p in [p0, p1] {
        let shown = filters(p);
        println!("tc filter show dev {p} ingress:\n{shown}");
        assert!(shown.contains("ip_proto icmp"), "{shown}");
        assert!(shown.contains("gact action drop"), "{shown}");
    }
    let before = (filters(p0), filters(p1));

    let to = SocketAddr::from((h1.ip, 5001));
    h1.ns.tcp_listen(to).expect("listen");
    let behaves = |what: &str| {
        assert!(
            (0..5).any(|_| h0.ns.tcp_reaches(to, Duration::from_secs(2))),
            "{what}: no TCP across the bridge; switchd stderr:\n{}",
            d.stderr()
        );
        for _ in 0..3 {
            assert!(!h0.ns.ping(h1.ip, 1), "{what}: ping went through the drop");
        }
    };
    behaves("with os-ken");

    // os-ken goes away: the filters stay, and so does the behaviour (fail secure).
    let mut osken = osken;
    osken.proc.stop();
    let closed = format!("local switch vm: connection to controller 127.0.0.1:{port} closed");
    assert!(
        wait_long(60, || count_lines(&d, &closed) >= 1),
        "switchd did not notice os-ken going; stderr:\n{}",
        d.stderr()
    );
    let refused = format!("local switch vm: cannot connect to controller 127.0.0.1:{port}");
    assert!(
        wait_long(30, || count_lines(&d, &refused) >= 1),
        "no failed reconnection logged; stderr:\n{}",
        d.stderr()
    );
    behaves("os-ken gone");
    assert_eq!((filters(p0), filters(p1)), before, "the filters changed");

    // os-ken comes back on the same port: switchd connects again and os-ken installs its
    // flows once more (the same flows: nothing changes in the kernel).
    drop(osken);
    let osken = OsKen::start(
        &dir.0,
        "127.0.0.1",
        port,
        &test_app("static_flows_13.py"),
        2,
    );
    assert!(
        wait_long(90, || osken.count("barrier") >= 2),
        "switchd did not reconnect to os-ken; notes {:?}\nos-ken:\n{}\nswitchd stderr:\n{}",
        osken.notes(),
        osken.log_text(),
        d.stderr()
    );
    assert_eq!(count_lines(&d, &connected), 2, "{}", d.stderr());
    assert_eq!(osken.count("connected"), 2, "{:?}", osken.notes());
    behaves("os-ken back");
    println!(
        "switchd's log of the forwarded switch:\n{}",
        d.stderr()
            .lines()
            .filter(|l| l.contains("local switch vm") || l.contains("switch vm:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn without_a_controller_standalone_forwards_and_secure_does_not() {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let (p0, p1) = (&h0.port, &h1.port);
    // Nobody listens there: the connection is refused, again and again.
    let port = free_tcp_port().expect("free port");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    for (mode, forwards) in [("standalone", true), ("secure", false)] {
        let br = LinkGuard(unique_name());
        let d = Daemon::start(&forward_conf(&br.0, p0, p1, port, mode));
        let refused = format!("local switch vm: cannot connect to controller 127.0.0.1:{port}");
        assert!(
            wait_long(30, || count_lines(&d, &refused) >= 2),
            "{mode}: no failed connections logged; stderr:\n{}",
            d.stderr()
        );
        let pings = h0.ns.ping_eventually(h1.ip, 5);
        assert_eq!(
            pings,
            forwards,
            "fail-mode {mode}: ping {}; tc:\n{}\nswitchd stderr:\n{}",
            if pings { "went through" } else { "failed" },
            filters(p0),
            d.stderr()
        );
        // switchd leaves its filters behind when it stops; the next round starts clean.
        drop(d);
        drop(br);
        for p in [p0, p1] {
            let _ = regress::run_ok(&["tc", "qdisc", "del", "dev", p, "clsact"]);
        }
    }
}

/// `switchctl connect`/`disconnect` hand a running local switch to a remote controller and
/// back, and the ofp process keeps seeing a forwarded switch (read-only).
#[test]
#[ignore = "kernel tier: needs cls_flower and os-ken, runs in the VM"]
fn switchctl_connect_hands_the_switch_to_a_controller_and_back() {
    let dir = TempDir::new("forward-connect");
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let (p0, p1) = (&h0.port, &h1.port);
    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start(
        &dir.0,
        "127.0.0.1",
        port,
        &test_app("static_flows_13.py"),
        1,
    );

    // Driven by switchd itself first: table-miss NORMAL, ping goes through.
    let d = Daemon::start(&format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{p0}\" number 1\n\tport \"{p1}\" number 2\n\
         \ttable-miss normal\n}}\n",
        br.0
    ));
    d.wait_for("the local switch is not shown", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    assert!(h0.ns.ping_eventually(h1.ip, 10), "no ping before");

    // Handed to os-ken: its ICMP drop is installed, ping fails; ofp still shows the
    // switch, as forwarded, with os-ken's flows, and will not change them.
    let to = format!("tcp:127.0.0.1:{port}");
    let said = d.ctl_ok(&["connect", "vm", "forward", "to", &to]);
    assert_eq!(said.trim(), format!("local switch vm connecting to {to}"));
    assert!(
        wait_long(60, || osken.count("barrier") >= 1),
        "os-ken's flows were not acknowledged; notes {:?}\nswitchd log:\n{}",
        osken.notes(),
        d.stderr()
    );
    for _ in 0..3 {
        assert!(!h0.ns.ping(h1.ip, 1), "ping went through os-ken's drop");
    }
    d.wait_for("the forwarded switch is not shown", || {
        d.ctl_ok(&["show", "switches"]).contains("forwarded:vm")
    });
    let switches = d.ctl_ok(&["show", "switches"]);
    assert!(!switches.contains("local:vm"), "{switches}");
    let flows = d.ctl_ok(&["show", "flows", "vm"]);
    println!("show flows vm (forwarded):\n{flows}");
    assert!(
        flows
            .lines()
            .any(|l| l.contains("icmp") && l.contains("drop")),
        "{flows}"
    );
    let out = d.ctl(&["add", "flow", "vm", "priority=300,icmp,actions=NORMAL"]);
    assert!(
        !out.status.success(),
        "a forwarded switch took switchctl's flow"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("remote controller"), "{err}");

    // Disconnected: no controller at all; the kernel keeps os-ken's flows.
    d.ctl_ok(&["disconnect", "vm"]);
    let closed = format!(
        "local switch vm: connection to controller 127.0.0.1:{port} closed: switchctl disconnect"
    );
    assert!(
        wait_long(20, || count_lines(&d, &closed) == 1),
        "no close logged:\n{}",
        d.stderr()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        osken.count("connected"),
        1,
        "switchd connected again after disconnect"
    );
    assert!(!h0.ns.ping(h1.ip, 1), "the flows went with the controller");

    // Back to switchd: shown as local again, and switchctl may change the flows.
    d.ctl_ok(&["connect", "vm"]);
    d.wait_for("the switch is not local again", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    d.ctl_ok(&["add", "flow", "vm", "priority=300,icmp,actions=NORMAL"]);
    assert!(
        h0.ns.ping_eventually(h1.ip, 10),
        "no ping after switchctl's flow"
    );
    drop(d);
    drop(osken);
    for p in [p0, p1] {
        let _ = regress::run_ok(&["tc", "qdisc", "del", "dev", p, "clsact"]);
    }
}
