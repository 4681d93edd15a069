//! Kernel tier: the virtual networks of switchd.conf end to end. Three hypervisors (the rig
//! of `common/hypervisors.rs`), each running switchd with the same file (`-H hvN`), and two
//! tenants with the same addresses and MACs, one over VXLAN and one over Geneve:
//!
//! | network | segment | VMs |
//! |---|---|---|
//! | blue | VXLAN 100 | b1 on hv0 (10.1.0.11), b2 on hv1 (10.1.0.12), b3 on hv2 (10.1.0.13) |
//! | red | Geneve 200 | r1 on hv1 (10.1.0.11, b1's MAC too), r2 on hv2 (10.1.0.12) |
//!
//! What a user notices: same-network reachability across hypervisors; isolation (unicast
//! and blue's broadcast ARP never reach red); anti-spoofing (a forged source address is
//! dropped, and counted in `switchctl show networks`); the stateful security group (b2
//! takes TCP 7001 from b1 only; replies pass).
//!
//! Then a migration: b3 moves from hv2 to hv1 and every hypervisor reloads; b1 reaches it
//! there, and red's traffic goes on.
//!
//! Not here (yet): the VLAN network, the rate limit, a restart.

#[path = "common/hypervisors.rs"]
mod hv;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hv::Hypervisors;

const FILE: &str = r#"
hypervisor "hv0" address 192.0.2.1
hypervisor "hv1" address 192.0.2.2
hypervisor "hv2" address 192.0.2.3

network "blue" {
	vxlan vni 100
	pass in proto icmp
	pass in proto udp to port 7003
	vm "b1" on "hv0" port "tap-b1" mac 52:54:00:00:01:01 address 10.1.0.11
	vm "b2" on "hv1" port "tap-b2" mac 52:54:00:00:01:02 address 10.1.0.12 {
		pass in proto tcp from 10.1.0.11 to port 7001
	}
	vm "b3" on "hv2" port "tap-b3" mac 52:54:00:00:01:03 address 10.1.0.13
}

network "red" {
	geneve vni 200
	pass in proto icmp
	pass in proto udp to port 7003
	vm "r1" on "hv1" port "tap-r1" mac 52:54:00:00:01:01 address 10.1.0.11
	vm "r2" on "hv2" port "tap-r2" mac 52:54:00:00:02:02 address 10.1.0.12 {
		pass in proto tcp to port 7001
	}
}
"#;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, 0, last)
}

#[test]
#[ignore = "kernel tier: needs TC flower, act_ct and tunnel_key (run in the VM)"]
fn virtual_networks_across_three_hypervisors() {
    let mut r = Hypervisors::new(3);
    // (hypervisor, port, address, mac) in the order of the table above.
    let vms = [
        (0, "tap-b1", 11, "52:54:00:00:01:01"),
        (1, "tap-b2", 12, "52:54:00:00:01:02"),
        (2, "tap-b3", 13, "52:54:00:00:01:03"),
        (1, "tap-r1", 11, "52:54:00:00:01:01"),
        (2, "tap-r2", 12, "52:54:00:00:02:02"),
    ];
    for (h, port, last, mac) in vms {
        let i = r.add_vm(h, port, ip(last), mac);
        // No IPv6 chatter in the captures.
        let vm = &r.hvs[h].vms[i];
        vm.ns
            .exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            .expect("IPv6 off");
    }
    for (i, h) in r.hvs.iter_mut().enumerate() {
        let d = regress::Daemon::builder()
            .netns(h.ns.name())
            .verbose()
            .ready_within(hv::WAIT)
            .arg("-H")
            .arg(&format!("hv{i}"))
            .config(FILE)
            .start()
            .expect("start switchd on a hypervisor");
        h.switchd = Some(d);
    }
    for h in &r.hvs {
        h.wait_log("local switch vnet: ");
        h.wait_log("configured flows in, 0 refused");
    }
    let b1 = &r.hvs[0].vms[0];
    let (b2, r1) = (&r.hvs[1].vms[0], &r.hvs[1].vms[1]);
    let (b3, r2) = (&r.hvs[2].vms[0], &r.hvs[2].vms[1]);

    // Reachability in each network, across hypervisors, with the same addresses in both.
    assert!(
        b1.ns.ping_eventually(ip(12), 20),
        "blue: b1 (hv0) -> b2 (hv1)"
    );
    assert!(
        b1.ns.ping_eventually(ip(13), 20),
        "blue: b1 (hv0) -> b3 (hv2)"
    );
    assert!(
        r2.ns.ping_eventually(ip(11), 20),
        "red: r2 (hv2) -> r1 (hv1)"
    );

    // Isolation: b1's datagrams to 10.1.0.12 reach blue's b2, never red's r2; blue's
    // broadcast ARP never reaches r1, who has b1's MAC and address.
    let to = SocketAddr::from((ip(12), 7003));
    let got = hv::udp_fanout(&b1.ns, &[&b2.ns, &r2.ns], to, 20);
    assert_eq!(got, vec![20, 0], "b1's datagrams to 10.1.0.12: b2, r2");
    // tcpdump in r1 and b3 while b1 forgets its neighbours and asks again.
    let capture = |vm: &hv::Vm| {
        vm.ns
            .command("timeout")
            .args(["10", "tcpdump", "-n", "-l", "-i", "eth0", "arp"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump")
    };
    let (in_r1, in_b3) = (capture(r1), capture(b3));
    std::thread::sleep(Duration::from_secs(3));
    b1.ns
        .exec(&["ip", "neigh", "flush", "dev", "eth0"])
        .expect("flush");
    assert!(b1.ns.ping_eventually(ip(13), 5), "blue after the flush");
    assert!(b1.ns.ping_eventually(ip(12), 5), "blue after the flush");
    let seen = |c: std::process::Child| {
        String::from_utf8_lossy(&c.wait_with_output().expect("tcpdump's output").stdout).to_string()
    };
    let (in_r1, in_b3) = (seen(in_r1), seen(in_b3));
    println!("ARP seen by b3:\n{in_b3}ARP seen by r1:\n{in_r1}");
    assert!(
        in_b3.contains("Request who-has 10.1.0.13"),
        "b3 did not see b1's broadcast ARP:\n{in_b3}"
    );
    assert!(
        // (b1's request for 10.1.0.12 looks like r1's own for r2: same MAC, same address;
        // red has no 10.1.0.13.)
        !in_r1.contains("who-has 10.1.0.13"),
        "r1 (red) saw blue's ARP:\n{in_r1}"
    );

    // The security group: b2 takes TCP 7001 from b1 only (and the replies pass); r2 takes
    // it from anyone in red.
    let tcp = Duration::from_secs(5);
    b2.ns.tcp_listen(b2.addr(7001)).expect("listen");
    b2.ns.tcp_listen(b2.addr(7002)).expect("listen");
    r2.ns.tcp_listen(r2.addr(7001)).expect("listen");
    assert!(
        b1.ns.tcp_reaches(b2.addr(7001), tcp),
        "b1 -> b2:7001 passes"
    );
    assert!(
        !b3.ns.tcp_reaches(b2.addr(7001), tcp),
        "b3 -> b2:7001 is refused"
    );
    assert!(
        !b1.ns.tcp_reaches(b2.addr(7002), tcp),
        "b1 -> b2:7002 is refused"
    );
    assert!(
        r1.ns.tcp_reaches(r2.addr(7001), tcp),
        "r1 -> r2:7001 passes"
    );

    // Anti-spoofing: b1 sending from an address that is not its own is dropped, and
    // counted.
    b1.ns
        .exec(&["ip", "addr", "add", "10.1.0.99/32", "dev", "eth0"])
        .expect("a forged address");
    let forged = b1
        .ns
        .exec(&[
            "ping",
            "-n",
            "-q",
            "-c",
            "3",
            "-W",
            "1",
            "-I",
            "10.1.0.99",
            "10.1.0.12",
        ])
        .is_ok();
    assert!(!forged, "b1 reached b2 from a forged address");
    let shown = r.hvs[0].switchd().ctl_ok(&["show", "networks"]);
    println!("switchctl show networks on hv0:\n{shown}");
    let line = shown
        .lines()
        .find(|l| l.contains("tap-b1"))
        .unwrap_or_else(|| panic!("b1 in show networks:\n{shown}"));
    let dropped: u64 = line
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dropped >= 3, "b1's forged pings counted as dropped: {line}");
    let flows = r.hvs[0].switchd().ctl_ok(&["show", "flows", "vnet"]);
    println!("switchctl show flows vnet on hv0:\n{flows}");

    // A migration: b3 moves from hv2 to hv1 (its port gone there, a new one here, the
    // same MAC and address), and every hypervisor reloads the file that says so.
    r.hvs[2]
        .ns
        .ip(&["link", "del", "tap-b3"])
        .expect("b3 leaves hv2");
    let i = r.add_vm(1, "tap-b3", ip(13), "52:54:00:00:01:03");
    r.hvs[1].vms[i]
        .ns
        .exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        .expect("IPv6 off");
    let moved = FILE.replace("vm \"b3\" on \"hv2\"", "vm \"b3\" on \"hv1\"");
    assert_ne!(moved, FILE);
    for h in &r.hvs {
        let d = h.switchd();
        d.write_config(&d.config().clone().with_extra(&moved).text());
        d.signal(nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    }
    for h in &r.hvs {
        let d = h.switchd();
        assert!(
            regress::wait::wait_until(hv::WAIT, Duration::from_millis(200), || d
                .log()
                .matches("configured flows in, 0 refused")
                .count()
                >= 2),
            "no reload of the vnet switch:\n{}",
            d.log()
        );
    }
    let (b1, r1, r2) = (&r.hvs[0].vms[0], &r.hvs[1].vms[1], &r.hvs[2].vms[1]);
    assert!(
        b1.ns.ping_eventually(ip(13), 20),
        "blue: b1 -> b3 on hv1 after the move"
    );
    assert!(r2.ns.ping_eventually(ip(11), 5), "red after the move");
    assert!(
        r1.ns.tcp_reaches(r2.addr(7001), tcp),
        "red TCP after the move"
    );
}
