//! Host tier: the fixtures themselves, on the host kernel. Every later end-to-end test stands
//! on these, so each is shown to do what it says with real packets and real processes.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use regress::net::LanSwitch;
use regress::{free_tcp_port, run, Lan, Netns, Ovs};

fn netns_exists(name: &str) -> bool {
    std::path::Path::new(&format!("/run/netns/{name}")).exists()
}

fn link_exists(name: &str) -> bool {
    run(&["ip", "link", "show", "dev", name])
}

#[test]
fn bridge_lan_all_pairs_ping_and_tcp_crosses() {
    let lan = Lan::new(3, LanSwitch::BridgeInNetns).expect("lan");
    for a in &lan.hosts {
        for b in &lan.hosts {
            if a.ip != b.ip {
                assert!(
                    a.ns.ping_eventually(b.ip, 3),
                    "{} cannot ping {}",
                    a.ip,
                    b.ip
                );
            }
        }
    }
    let to = SocketAddr::from((lan.hosts[1].ip, 7777));
    lan.hosts[1].ns.tcp_listen(to).expect("listen");
    assert!(lan.hosts[0].ns.tcp_reaches(to, Duration::from_secs(2)));
    // A host that is not on the bridge is not reachable: the probe can say no.
    lan.switch_ip(&["link", "set", &lan.hosts[2].port, "nomaster"])
        .expect("detach");
    assert!(!lan.hosts[0].ns.ping(lan.hosts[2].ip, 1));
}

#[test]
fn dropping_a_lan_removes_its_namespaces_and_links() {
    let lan = Lan::new(2, LanSwitch::BridgeInRoot).expect("lan");
    let nses: Vec<String> = lan.hosts.iter().map(|h| h.ns.name().to_string()).collect();
    let ports: Vec<String> = lan.hosts.iter().map(|h| h.port.clone()).collect();
    let bridge = lan.bridge.as_ref().expect("bridge").name.clone();
    assert!(link_exists(&bridge) && ports.iter().all(|p| link_exists(p)));
    assert!(lan.hosts[0].ns.ping_eventually(lan.hosts[1].ip, 3));
    drop(lan);
    assert!(!link_exists(&bridge), "bridge {bridge} left behind");
    for p in &ports {
        assert!(!link_exists(p), "port {p} left behind");
    }
    for n in &nses {
        assert!(!netns_exists(n), "netns {n} left behind");
    }
}

#[test]
fn private_ovs_forwards_between_namespaces() {
    let ovs = Ovs::start().expect("ovs");
    let br = ovs.add_bridge().expect("bridge");
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("lan");
    for (i, h) in lan.hosts.iter().enumerate() {
        ovs.add_port(&br, &h.port, (i + 1) as u16).expect("port");
    }
    // The private instance really is the one we talk to: our bridge is in its database.
    assert_eq!(ovs.vsctl(&["list-br"]).expect("list-br").trim(), br);
    let dp = ovs
        .vsctl(&["get", "bridge", &br, "datapath_type"])
        .expect("get");
    assert_eq!(dp.trim(), "netdev");
    // No controller configured: the bridge forwards by NORMAL (standalone).
    assert!(
        lan.hosts[0].ns.ping_eventually(lan.hosts[1].ip, 10),
        "no ping across OVS: {}",
        ovs.ofctl(&["dump-flows", &br]).unwrap_or_default()
    );
    let flows = ovs.ofctl(&["dump-flows", &br]).expect("dump-flows");
    assert!(
        flows.contains("actions=NORMAL") && !flows.contains("n_packets=0,"),
        "{flows}"
    );
    // A drop flow on port 1 stops the ping: flows we install take effect.
    ovs.ofctl(&["add-flow", &br, "priority=100,in_port=1,icmp,actions=drop"])
        .expect("add-flow");
    assert!(!lan.hosts[0].ns.ping(lan.hosts[1].ip, 1));
}

#[test]
fn ovs_is_stopped_and_its_directory_removed_on_drop() {
    let ovs = Ovs::start().expect("ovs");
    let dir = ovs.dir().to_path_buf();
    let br = ovs.add_bridge().expect("bridge");
    // ovs-vswitchd makes the netdev bridge's tap device when it applies the database
    // change; on a loaded machine that can trail ovs-vsctl's return a little.
    let made =
        regress::wait::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            link_exists(&br)
        });
    assert!(made, "netdev bridge {br} has no tap device");
    drop(ovs);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!link_exists(&br), "tap device {br} left behind");
    let ps = regress::leftovers(true);
    assert!(
        !ps.iter().any(|l| l.contains(&dir.display().to_string())),
        "{ps:?}"
    );
}

#[test]
fn free_ports_differ_and_are_bindable() {
    let a = free_tcp_port().expect("port");
    let b = free_tcp_port().expect("port");
    assert_ne!(a, b);
    assert_ne!(a, 6653);
    TcpListener::bind((Ipv4Addr::LOCALHOST, a)).expect("bind a");
    TcpListener::bind((Ipv4Addr::LOCALHOST, b)).expect("bind b");
}

#[test]
fn namespace_processes_die_with_the_namespace() {
    let ns = Netns::new().expect("netns");
    let mut p = ns.spawn("sleeper", &["sleep", "600"]).expect("spawn");
    std::thread::sleep(Duration::from_millis(100));
    let pids = regress::cmd::run_ok(&["ip", "netns", "pids", ns.name()]).expect("pids");
    assert!(!pids.trim().is_empty(), "sleep is not in the namespace");
    drop(ns);
    assert!(
        p.wait_timeout(Duration::from_secs(2)).is_some(),
        "sleep survived"
    );
}

/// Run one of the `#[ignore]`d child tests below in a child process of this test binary and
/// return (its exit status, the fixture names it printed).
fn run_child(test: &str, kill_after_setup: bool) -> (Option<i32>, Vec<String>) {
    let exe = std::env::current_exe().expect("exe");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--ignored", "--nocapture"])
        .env("REGRESS_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut out = child.stdout.take().expect("stdout");
    let mut text = String::new();
    use std::io::Read;
    let mut buf = [0u8; 4096];
    // Read until the child says its fixtures are ready (or it exits).
    while !text.contains("READY") {
        match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    if kill_after_setup {
        child.kill().expect("kill");
    }
    let status = child.wait().expect("wait");
    let names = text
        .lines()
        .filter_map(|l| l.strip_prefix("FIXTURE "))
        .map(str::to_string)
        .collect();
    (status.code(), names)
}

fn child_fixtures() -> (Lan, Ovs) {
    let lan = Lan::new(2, LanSwitch::BridgeInRoot).expect("lan");
    let ovs = Ovs::start().expect("ovs");
    for h in &lan.hosts {
        println!("FIXTURE netns {}", h.ns.name());
        println!("FIXTURE link {}", h.port);
    }
    println!("FIXTURE link {}", lan.bridge.as_ref().expect("bridge").name);
    println!("FIXTURE dir {}", ovs.dir().display());
    println!("READY");
    (lan, ovs)
}

fn assert_gone(names: &[String]) {
    assert!(names.len() >= 4, "the child made no fixtures: {names:?}");
    for n in names {
        let (kind, what) = n.split_once(' ').expect("kind");
        let exists = match kind {
            "netns" => netns_exists(what),
            "link" => link_exists(what),
            _ => std::path::Path::new(what).exists(),
        };
        assert!(!exists, "{n} left behind");
    }
}

#[test]
#[ignore = "child of cleanup_after_a_panicking_test"]
fn child_panics_holding_fixtures() {
    if std::env::var_os("REGRESS_CHILD").is_none() {
        return;
    }
    let _f = child_fixtures();
    panic!("this test panics on purpose, holding fixtures");
}

#[test]
#[ignore = "child of cleanup_after_a_killed_test"]
fn child_waits_holding_fixtures() {
    if std::env::var_os("REGRESS_CHILD").is_none() {
        return;
    }
    let _f = child_fixtures();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn cleanup_after_a_panicking_test() {
    let (code, names) = run_child("child_panics_holding_fixtures", false);
    assert_eq!(
        code,
        Some(101),
        "the child test did not fail as a panic does"
    );
    assert_gone(&names);
}

#[test]
fn cleanup_after_a_killed_test() {
    let (code, names) = run_child("child_waits_holding_fixtures", true);
    assert_eq!(code, None, "the child was not killed by a signal");
    // SIGKILL runs no destructor: the sweep (which every test process runs before its first
    // fixture, and regress/run runs before and after) must find and remove all of it.
    let removed = regress::sweep(false);
    assert!(!removed.is_empty(), "the sweep found nothing to remove");
    assert_gone(&names);
}
