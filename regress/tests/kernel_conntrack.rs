//! Kernel tier: a stateful security group for a VM, in Open vSwitch's `ct` flows, on a
//! switchd local switch (act_ct and flower's ct_state) and on an Open vSwitch bridge on
//! `openvswitch.ko` (`datapath_type=system`) in the same VM, with the same flows and the
//! same packets; both must give the outcomes a user of a security group expects:
//!
//! - the VM's own TCP, UDP and ICMP connections out, and their replies, pass;
//! - new connections from outside are refused, except TCP 22 from one address;
//! - a port forward (DNAT of 10.77.0.1:2222 to its TCP 22) lets anyone in there;
//! - the VM's connections to TCP 7000 leave with the uplink address 10.77.0.99 (SNAT).
//!
//! Host 0 (10.77.0.1, port 1) is the VM; host 1 (10.77.0.2, port 2) is the admin allowed
//! to reach its TCP 22; host 2 (10.77.0.3, port 3) is anyone else.

#[path = "common/local_switch.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use common::{Daemon, LinkGuard};
use regress::net::LanSwitch;
use regress::ovs::Ovs;
use regress::{unique_name, Lan};

/// The security group, as OpenStack's native OVS firewall writes one (in zone 1).
const FLOWS: &[&str] = &[
    "table=0,priority=100,ct_state=-trk,ip,actions=ct(table=1,zone=1,nat)",
    "table=0,priority=50,arp,actions=NORMAL",
    "table=1,priority=100,ct_state=+trk+inv,ip,actions=drop",
    "table=1,priority=90,in_port=1,ct_state=+trk+new,ip,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=90,ct_state=+trk+est,ip,actions=NORMAL",
    "table=1,priority=90,ct_state=+trk+rel,ip,actions=NORMAL",
    "table=1,priority=80,ct_state=+trk+new,tcp,nw_src=10.77.0.2,nw_dst=10.77.0.1,tp_dst=22,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=95,ct_state=+trk+new,tcp,nw_dst=10.77.0.1,tp_dst=2222,actions=ct(commit,zone=1,nat(dst=10.77.0.1:22)),NORMAL",
    "table=1,priority=95,in_port=1,ct_state=+trk+new,tcp,nw_dst=10.77.0.3,tp_dst=7000,actions=ct(commit,zone=1,nat(src=10.77.0.99)),NORMAL",
];

/// The VM's address towards the uplink (SNAT).
const UPLINK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 99);

fn addr(host: usize, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 77, 0, host as u8 + 1), port))
}

/// What a user of the security group notices, one line per connection attempt.
#[derive(Debug, PartialEq, Eq)]
struct Outcomes {
    vm_tcp_out: bool,
    vm_udp_out_and_reply: bool,
    vm_ping_out: bool,
    admin_ssh_in: bool,
    other_ssh_in: bool,
    admin_http_in: bool,
    other_ping_in: bool,
    other_udp_in: bool,
    dnat_port_forward_in: bool,
    /// The address the peer saw for the VM's connection to TCP 7000.
    snat_peer_saw: Option<Ipv4Addr>,
}

const EXPECTED: Outcomes = Outcomes {
    vm_tcp_out: true,
    vm_udp_out_and_reply: true,
    vm_ping_out: true,
    admin_ssh_in: true,
    other_ssh_in: false,
    admin_http_in: false,
    other_ping_in: false,
    other_udp_in: false,
    dnat_port_forward_in: true,
    snat_peer_saw: Some(UPLINK),
};

/// A TCP server at `at` in host `h` that answers each connection with the address of
/// the peer as it sees it.
fn tell_peer(lan: &Lan, h: usize, at: SocketAddr) {
    let l = lan.hosts[h]
        .ns
        .enter(move || TcpListener::bind(at))
        .and_then(|r| r)
        .expect("listen");
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            if let Ok(peer) = s.peer_addr() {
                let _ = s.write_all(format!("{}\n", peer.ip()).as_bytes());
            }
        }
    });
}

/// What [`tell_peer`] at `to` says host `h` is.
fn seen_as(lan: &Lan, h: usize, to: SocketAddr) -> Option<Ipv4Addr> {
    lan.hosts[h]
        .ns
        .enter(move || -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut line = String::new();
            s.read_to_string(&mut line)?;
            Ok(line)
        })
        .ok()
        .and_then(|r| r.ok())
        .and_then(|l| l.trim().parse().ok())
}

/// A UDP echo at `at` in host `h`'s namespace, on a thread of its own.
fn udp_echo(lan: &Lan, h: usize, at: SocketAddr) {
    let s = lan.hosts[h].ns.udp_bind(at).expect("bind the UDP echo");
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], from);
        }
    });
}

/// Whether a datagram from host `h` to `to` gets its echo back.
fn udp_round_trip(lan: &Lan, h: usize, to: SocketAddr) -> bool {
    lan.hosts[h]
        .ns
        .enter(move || -> std::io::Result<bool> {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            for _ in 0..3 {
                s.send_to(b"ct-udp", to)?;
                let mut buf = [0u8; 16];
                if let Ok((n, _)) = s.recv_from(&mut buf) {
                    return Ok(&buf[..n] == b"ct-udp");
                }
            }
            Ok(false)
        })
        .and_then(|r| r)
        .unwrap_or(false)
}

/// Listeners in the hosts, then every connection attempt of [`Outcomes`].
fn exercise(lan: &Lan) -> Outcomes {
    let ok = Duration::from_secs(5);
    let no = Duration::from_secs(3);
    let h = &lan.hosts;
    h[1].ns.tcp_listen(addr(1, 8080)).expect("listen");
    h[0].ns.tcp_listen(addr(0, 22)).expect("listen");
    h[0].ns.tcp_listen(addr(0, 80)).expect("listen");
    udp_echo(lan, 2, addr(2, 5353));
    udp_echo(lan, 0, addr(0, 5353));
    tell_peer(lan, 2, addr(2, 7000));
    // Host 2 answers the uplink address at the VM's MAC (the SNAT reply goes there).
    h[2].ns
        .ip(&[
            "neigh",
            "replace",
            &UPLINK.to_string(),
            "lladdr",
            &h[0].mac,
            "dev",
            "eth0",
        ])
        .expect("neighbour entry for the uplink address");
    // ARP and the bridges' learning first: the VM's own ping out is allowed.
    let vm_ping_out = h[0].ns.ping_eventually(h[2].ip, 10);
    let o = Outcomes {
        vm_tcp_out: h[0].ns.tcp_reaches(addr(1, 8080), ok),
        vm_udp_out_and_reply: udp_round_trip(lan, 0, addr(2, 5353)),
        vm_ping_out,
        admin_ssh_in: h[1].ns.tcp_reaches(addr(0, 22), ok),
        other_ssh_in: h[2].ns.tcp_reaches(addr(0, 22), no),
        admin_http_in: h[1].ns.tcp_reaches(addr(0, 80), no),
        other_ping_in: h[2].ns.ping(h[0].ip, 2),
        other_udp_in: udp_round_trip(lan, 2, addr(0, 5353)),
        dnat_port_forward_in: h[2].ns.tcp_reaches(addr(0, 2222), ok),
        snat_peer_saw: seen_as(lan, 0, addr(2, 7000)),
    };
    println!("{o:?}");
    o
}

/// An echo server at `at` in host `h` that keeps each connection open (echoes every read).
fn stream_echo(lan: &Lan, h: usize, at: SocketAddr) {
    let l = lan.hosts[h]
        .ns
        .enter(move || TcpListener::bind(at))
        .and_then(|r| r)
        .expect("listen");
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// One round trip on an open stream: `Err` says how it broke (reset, timeout).
fn echo(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    s.write_all(msg)?;
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf)?;
    if buf != msg {
        return Err(std::io::Error::other("echo differs"));
    }
    Ok(())
}

/// The security group on a switchd local switch; then an established TCP stream across a
/// restart of switchd.
fn on_switchd() -> Outcomes {
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let mut conf = format!("switch \"vm\" {{\n\tbridge \"{}\"\n", br.0);
    for (i, h) in lan.hosts.iter().enumerate() {
        conf += &format!("\tport \"{}\" number {}\n", h.port, i + 1);
    }
    conf += "\ttable-miss drop\n";
    for f in FLOWS {
        conf += &format!("\tflow \"{f}\"\n");
    }
    conf += "}\n";
    let d = Daemon::start(&conf);
    d.wait_for("the local switch did not come up", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    d.wait_for("the ct flows are not all in the kernel", || {
        let out = d.ctl_ok(&["show", "flows", "vm"]);
        out.matches("ct(").count() >= 3
    });
    let flows = d.ctl_ok(&["show", "flows", "vm"]);
    println!("{flows}");
    for p in &lan.hosts {
        let tc = std::process::Command::new("tc")
            .args(["filter", "show", "dev", &p.port, "ingress", "chain", "0"])
            .output()
            .expect("tc");
        let s = String::from_utf8_lossy(&tc.stdout);
        assert!(
            s.contains("ct_state -trk") && s.contains("action order 1: ct zone 1"),
            "no act_ct filter on {}:\n{s}",
            p.port
        );
    }
    let o = exercise(&lan);

    // Restart: the VM's established stream goes on while switchd stops, starts and
    // adopts its filters; the conntrack entry stays in the kernel.
    stream_echo(&lan, 1, addr(1, 9000));
    let to = addr(1, 9000);
    let mut s = lan.hosts[0]
        .ns
        .enter(move || TcpStream::connect_timeout(&to, Duration::from_secs(5)))
        .and_then(|r| r)
        .expect("the VM's stream out");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    echo(&mut s, b"before the restart").expect("the stream before the restart");
    let mut d = d;
    d.restart();
    echo(&mut s, b"while switchd starts").expect("the stream while switchd starts");
    d.wait_for("the local switch did not come back", || {
        d.ctl_ok(&["show", "switches"]).contains("local:vm")
    });
    d.wait_for("the ct flows are not back after the restart", || {
        d.ctl_ok(&["show", "flows", "vm"]).matches("ct(").count() >= 3
    });
    for i in 0..20 {
        echo(&mut s, format!("after the restart {i}").as_bytes())
            .unwrap_or_else(|e| panic!("the stream broke after the restart: {e}"));
    }
    // Still stateful after the restart: a new connection from outside is refused.
    assert!(
        !lan.hosts[2]
            .ns
            .tcp_reaches(addr(0, 22), Duration::from_secs(3)),
        "a new connection from outside passed after the restart"
    );
    o
}

/// The kernel datapath of Open vSwitch, removed when the test ends.
struct OvsBridge<'a> {
    ovs: &'a Ovs,
    name: String,
}

impl Drop for OvsBridge<'_> {
    fn drop(&mut self) {
        let _ = self.ovs.vsctl(&["--if-exists", "del-br", &self.name]);
    }
}

/// The security group on an Open vSwitch bridge on openvswitch.ko.
fn on_openvswitch_ko() -> Outcomes {
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let st = std::process::Command::new("modprobe")
        .arg("openvswitch")
        .status()
        .expect("modprobe");
    assert!(st.success(), "modprobe openvswitch failed");
    // The emulated VM on a busy machine can miss Ovs::start's 10 s once.
    let ovs = (0..3)
        .find_map(|_| {
            Ovs::start()
                .map_err(|e| eprintln!("start Open vSwitch: {e}"))
                .ok()
        })
        .expect("start Open vSwitch");
    let name = unique_name();
    // --no-wait: ovs-vswitchd in the emulated VM can take longer than ovs-vsctl's 10 s
    // to create the kernel datapath; the ports are waited for below.
    ovs.vsctl(&[
        "--no-wait",
        "add-br",
        &name,
        "--",
        "set",
        "bridge",
        &name,
        "datapath_type=system",
        "fail-mode=secure",
        "protocols=OpenFlow13",
    ])
    .expect("add the bridge");
    let br = OvsBridge {
        ovs: &ovs,
        name: name.clone(),
    };
    for (i, h) in lan.hosts.iter().enumerate() {
        ovs.vsctl(&[
            "--no-wait",
            "add-port",
            &name,
            &h.port,
            "--",
            "set",
            "interface",
            &h.port,
            &format!("ofport_request={}", i + 1),
        ])
        .expect("add port");
    }
    let ready =
        regress::wait::wait_until(Duration::from_secs(120), Duration::from_millis(200), || {
            ovs.ofctl(&["-O", "OpenFlow13", "show", &name])
                .is_ok_and(|out| lan.hosts.iter().all(|h| out.contains(&h.port)))
        });
    assert!(ready, "Open vSwitch did not take the ports within 120 s");
    for f in FLOWS {
        ovs.ofctl(&["-O", "OpenFlow13", "add-flow", &name, f])
            .unwrap_or_else(|e| panic!("ovs-ofctl add-flow {f}: {e}"));
    }
    let o = exercise(&lan);
    drop(br);
    o
}

#[test]
#[ignore = "kernel tier: needs act_ct, cls_flower and openvswitch.ko, runs in the VM"]
fn security_group_same_outcomes_on_switchd_and_openvswitch_ko() {
    let sw = on_switchd();
    let ovs = on_openvswitch_ko();
    assert_eq!(ovs, EXPECTED, "Open vSwitch's kernel datapath");
    assert_eq!(sw, EXPECTED, "switchd's local switch");
}
