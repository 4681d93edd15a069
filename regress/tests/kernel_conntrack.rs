//! Kernel tier: a stateful security group for a VM, in Open vSwitch's `ct` flows, on a
//! switchd local switch (act_ct and flower's ct_state) and on an Open vSwitch bridge on
//! `openvswitch.ko` (`datapath_type=system`) in the same VM, with the same flows and the
//! same packets; both must give the outcomes a user of a security group expects:
//!
//! - the VM's own TCP, UDP and ICMP connections out, and their replies, pass;
//! - new connections from outside are refused, except TCP 22 from one address;
//! - a port forward (DNAT of 10.77.0.1:2222 to its TCP 22) lets anyone in there;
//! - the VM's connections to TCP 7000 leave with the uplink address 10.77.0.99 and a
//!   source port in 20000-20099 (SNAT with a port range).
//!
//! Host 0 (10.77.0.1, port 1) is the VM; host 1 (10.77.0.2, port 2) is the admin allowed
//! to reach its TCP 22; host 2 (10.77.0.3, port 3) is anyone else.

#[path = "common/local_switch.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
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
    "table=1,priority=95,in_port=1,ct_state=+trk+new,tcp,nw_dst=10.77.0.3,tp_dst=7000,actions=ct(commit,zone=1,nat(src=10.77.0.99:20000-20099)),NORMAL",
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
    /// Whether the peer saw a source port in the SNAT range 20000-20099.
    snat_port_in_range: bool,
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
    snat_port_in_range: true,
};

/// A TCP server at `at` in host `h` that answers each connection with the address and
/// port of the peer as it sees it.
fn tell_peer(lan: &Lan, h: usize, at: SocketAddr) {
    let l = lan.hosts[h]
        .ns
        .enter(move || TcpListener::bind(at))
        .and_then(|r| r)
        .expect("listen");
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            if let Ok(peer) = s.peer_addr() {
                let _ = s.write_all(format!("{peer}\n").as_bytes());
            }
        }
    });
}

/// What [`tell_peer`] at `to` says host `h` is.
fn seen_as(lan: &Lan, h: usize, to: SocketAddr) -> Option<SocketAddr> {
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
    let mut o = Outcomes {
        vm_tcp_out: h[0].ns.tcp_reaches(addr(1, 8080), ok),
        vm_udp_out_and_reply: udp_round_trip(lan, 0, addr(2, 5353)),
        vm_ping_out,
        admin_ssh_in: h[1].ns.tcp_reaches(addr(0, 22), ok),
        other_ssh_in: h[2].ns.tcp_reaches(addr(0, 22), no),
        admin_http_in: h[1].ns.tcp_reaches(addr(0, 80), no),
        other_ping_in: h[2].ns.ping(h[0].ip, 2),
        other_udp_in: udp_round_trip(lan, 2, addr(0, 5353)),
        dnat_port_forward_in: h[2].ns.tcp_reaches(addr(0, 2222), ok),
        snat_peer_saw: None,
        snat_port_in_range: false,
    };
    let snat = seen_as(lan, 0, addr(2, 7000));
    if let Some(SocketAddr::V4(a)) = snat {
        o.snat_peer_saw = Some(*a.ip());
        o.snat_port_in_range = (20000..=20099).contains(&a.port());
    }
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

/// Switches on switchd: each a name, the hosts (of `lan`) on its ports 1, 2, ... in
/// that order, and its flows (table-miss drop, as Open vSwitch's fail-mode secure); up
/// once every ct flow is in. Its bridges go when the guards drop (after the daemon:
/// bind them first). The switches start together, from one file.
fn switchd_with(lan: &Lan, switches: &[(&str, &[usize], &[&str])]) -> (Vec<LinkGuard>, Daemon) {
    let mut bridges = Vec::new();
    let mut conf = String::new();
    for (name, hosts, flows) in switches {
        let br = LinkGuard(unique_name());
        conf += &format!("switch \"{name}\" {{\n\tbridge \"{}\"\n", br.0);
        for (i, h) in hosts.iter().enumerate() {
            conf += &format!("\tport \"{}\" number {}\n", lan.hosts[*h].port, i + 1);
        }
        conf += "\ttable-miss drop\n";
        for f in *flows {
            conf += &format!("\tflow \"{f}\"\n");
        }
        conf += "}\n";
        bridges.push(br);
    }
    let d = Daemon::start(&conf);
    for (name, _, flows) in switches {
        d.wait_for("the local switch did not come up", || {
            d.ctl_ok(&["show", "switches"])
                .contains(&format!("local:{name}"))
        });
        let want = flows
            .iter()
            .map(|f| f.matches("ct(").count())
            .sum::<usize>();
        d.wait_for("the ct flows are not all in the kernel", || {
            d.ctl_ok(&["show", "flows", name]).matches("ct(").count() >= want
        });
    }
    (bridges, d)
}

/// The security group on a switchd local switch; then an established TCP stream across a
/// restart of switchd.
fn on_switchd() -> Outcomes {
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let (_br, d) = switchd_with(&lan, &[("vm", &[0, 1, 2], FLOWS)]);
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

/// Open vSwitch on its kernel datapath (openvswitch.ko), with bridges of its own, removed
/// when the test ends (bridges first, then the daemons).
struct OvsKo {
    bridges: Vec<String>,
    ovs: Ovs,
}

impl Drop for OvsKo {
    fn drop(&mut self) {
        for b in &self.bridges {
            let _ = self.ovs.vsctl(&["--if-exists", "del-br", b]);
        }
    }
}

impl OvsKo {
    /// Bridges on openvswitch.ko: each the hosts (of `lan`) on its ports 1, 2, ... in that
    /// order, and its flows; ready once the ports are there and the flows in.
    fn with(lan: &Lan, bridges: &[(&[usize], &[&str])]) -> OvsKo {
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
        let mut o = OvsKo {
            bridges: Vec::new(),
            ovs,
        };
        for (hosts, flows) in bridges {
            let name = unique_name();
            // --no-wait: ovs-vswitchd in the emulated VM can take longer than ovs-vsctl's
            // 10 s to create the kernel datapath; the ports are waited for below.
            o.ovs
                .vsctl(&[
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
            o.bridges.push(name.clone());
            for (i, h) in hosts.iter().enumerate() {
                let port = &lan.hosts[*h].port;
                o.ovs
                    .vsctl(&[
                        "--no-wait",
                        "add-port",
                        &name,
                        port,
                        "--",
                        "set",
                        "interface",
                        port,
                        &format!("ofport_request={}", i + 1),
                    ])
                    .expect("add port");
            }
            let ready = regress::wait::wait_until(
                Duration::from_secs(120),
                Duration::from_millis(200),
                || {
                    o.ovs
                        .ofctl(&["-O", "OpenFlow13", "show", &name])
                        .is_ok_and(|out| hosts.iter().all(|h| out.contains(&lan.hosts[*h].port)))
                },
            );
            assert!(ready, "Open vSwitch did not take the ports within 120 s");
            for f in *flows {
                o.ovs
                    .ofctl(&["-O", "OpenFlow13", "add-flow", &name, f])
                    .unwrap_or_else(|e| panic!("ovs-ofctl add-flow {f}: {e}"));
            }
        }
        o
    }
}

/// The security group on an Open vSwitch bridge on openvswitch.ko.
fn on_openvswitch_ko() -> Outcomes {
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let ovs = OvsKo::with(&lan, &[(&[0, 1, 2], FLOWS)]);
    let o = exercise(&lan);
    drop(ovs);
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

// --- Invalid segments -------------------------------------------------------------------

/// TCP flags of the segments the tests craft.
const TCP_ACK: u8 = 0x10;
const TCP_SYN: u8 = 0x02;

/// The Internet checksum of `parts`, one after the other (RFC 1071).
fn checksum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Send one bare TCP segment with `flags` (no payload) from host `h`, whose address is
/// `src`, to `dst`, through a raw socket: what no connection of the host's own sends.
fn send_segment(lan: &Lan, h: usize, src: SocketAddrV4, dst: SocketAddrV4, flags: u8) {
    lan.hosts[h]
        .ns
        .enter(move || -> std::io::Result<()> {
            let mut seg = [0u8; 20];
            seg[0..2].copy_from_slice(&src.port().to_be_bytes());
            seg[2..4].copy_from_slice(&dst.port().to_be_bytes());
            seg[4..8].copy_from_slice(&0x1020_3040u32.to_be_bytes());
            if flags & TCP_ACK != 0 {
                seg[8..12].copy_from_slice(&0x5060_7080u32.to_be_bytes());
            }
            seg[12] = 5 << 4;
            seg[13] = flags;
            seg[14..16].copy_from_slice(&64240u16.to_be_bytes());
            let pseudo = [
                &src.ip().octets()[..],
                &dst.ip().octets()[..],
                &[0, 6, 0, 20][..],
            ]
            .concat();
            let c = checksum(&[&pseudo, &seg]);
            seg[16..18].copy_from_slice(&c.to_be_bytes());
            // SAFETY: a socket we close; a sockaddr_in and a buffer we own for the call.
            unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_TCP);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let mut sin: libc::sockaddr_in = std::mem::zeroed();
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_addr.s_addr = u32::from_ne_bytes(dst.ip().octets());
                let r = libc::sendto(
                    fd,
                    seg.as_ptr().cast(),
                    seg.len(),
                    0,
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                );
                let e = std::io::Error::last_os_error();
                libc::close(fd);
                if r < 0 {
                    return Err(e);
                }
            }
            Ok(())
        })
        .and_then(|r| r)
        .expect("send a raw TCP segment");
}

/// A raw TCP socket in host `h`: it receives a copy of every TCP segment the host gets.
struct SegmentRx(std::os::fd::OwnedFd);

impl SegmentRx {
    fn open(lan: &Lan, h: usize) -> SegmentRx {
        let fd = lan.hosts[h]
            .ns
            .enter(|| -> std::io::Result<std::os::fd::OwnedFd> {
                use std::os::fd::FromRawFd;
                // SAFETY: a fresh socket whose descriptor the OwnedFd owns.
                let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_TCP) };
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let tv = libc::timeval {
                    tv_sec: 0,
                    tv_usec: 200_000,
                };
                // SAFETY: a valid socket and a timeval of the given size.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_RCVTIMEO,
                        (&tv as *const libc::timeval).cast(),
                        std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                    );
                    Ok(std::os::fd::OwnedFd::from_raw_fd(fd))
                }
            })
            .and_then(|r| r)
            .expect("a raw TCP socket");
        SegmentRx(fd)
    }

    /// Whether a segment from port `sport` to port `dport` arrives within `wait`.
    fn saw(&self, sport: u16, dport: u16, wait: Duration) -> bool {
        use std::os::fd::AsRawFd;
        let deadline = std::time::Instant::now() + wait;
        let mut buf = [0u8; 2048];
        while std::time::Instant::now() < deadline {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let Ok(n) = usize::try_from(n) else { continue };
            let ihl = usize::from(buf[0] & 0xf) * 4;
            if n >= ihl + 4 {
                let s = u16::from_be_bytes([buf[ihl], buf[ihl + 1]]);
                let d = u16::from_be_bytes([buf[ihl + 2], buf[ihl + 3]]);
                if (s, d) == (sport, dport) {
                    return true;
                }
            }
        }
        false
    }
}

/// `net.netfilter.nf_conntrack_tcp_loose` of the VM's root namespace (where the switches'
/// ports are) set for a while, and put back as it was.
struct TcpLoose(String);

const TCP_LOOSE: &str = "/proc/sys/net/netfilter/nf_conntrack_tcp_loose";

impl TcpLoose {
    fn set(v: &str) -> TcpLoose {
        let old = std::fs::read_to_string(TCP_LOOSE).expect("nf_conntrack_tcp_loose");
        std::fs::write(TCP_LOOSE, v).expect("set nf_conntrack_tcp_loose");
        TcpLoose(old.trim().to_string())
    }
}

impl Drop for TcpLoose {
    fn drop(&mut self) {
        let _ = std::fs::write(TCP_LOOSE, &self.0);
    }
}

/// What the VM's segments out of the blue do (each from a port of its own).
#[derive(Debug, PartialEq, Eq)]
struct Invalid {
    /// A bare ACK with nf_conntrack_tcp_loose=1 (the default): conntrack picks it up as
    /// a new connection (+new), which the VM may open: it passes.
    loose_ack_passes: bool,
    /// The same with nf_conntrack_tcp_loose=0: conntrack does not pick up connections,
    /// the ACK is +inv.
    strict_ack_passes: bool,
    /// A SYN-ACK without a SYN is +inv whatever tcp_loose says (only a SYN starts a
    /// connection; the first SYN-ACK of one is invalid, nf_conntrack_proto_tcp.c).
    synack_passes: bool,
    /// The `+trk+inv` flow's packet count grew by the two invalid segments: they were
    /// dropped there, not by the table-miss.
    inv_flow_counted: bool,
}

/// Segments from the VM (host 0) to host 2, ports `base..base+3` to 7400; `inv_packets`
/// reads the packet count of the security group's `+trk+inv` flow.
fn invalid_segments(lan: &Lan, base: u16, inv_packets: impl Fn() -> u64) -> Invalid {
    assert!(
        lan.hosts[0].ns.ping_eventually(lan.hosts[2].ip, 10),
        "the VM's ping out does not pass"
    );
    let rx = SegmentRx::open(lan, 2);
    let vm = |p| SocketAddrV4::new(lan.hosts[0].ip, p);
    let to = SocketAddrV4::new(lan.hosts[2].ip, 7400);
    let wait = Duration::from_secs(3);
    // The invalid ones first: nothing answers them, so nothing else reaches the +inv
    // flow meanwhile (host 2's RST to the ACK that passes may be invalid too).
    let before = inv_packets();
    let strict = TcpLoose::set("0");
    send_segment(lan, 0, vm(base + 1), to, TCP_ACK);
    let strict_ack_passes = rx.saw(base + 1, 7400, wait);
    send_segment(lan, 0, vm(base + 2), to, TCP_SYN | TCP_ACK);
    let synack_passes = rx.saw(base + 2, 7400, wait);
    drop(strict);
    // switchd reads its flows' counters from the kernel every few seconds.
    let inv_flow_counted =
        regress::wait::wait_until(Duration::from_secs(20), Duration::from_millis(500), || {
            inv_packets() >= before + 2
        });
    let loose = TcpLoose::set("1");
    send_segment(lan, 0, vm(base), to, TCP_ACK);
    let loose_ack_passes = rx.saw(base, 7400, wait);
    drop(loose);
    let o = Invalid {
        loose_ack_passes,
        strict_ack_passes,
        synack_passes,
        inv_flow_counted,
    };
    println!(
        "{o:?} (+trk+inv flow: {before} packets before, {} after)",
        inv_packets()
    );
    o
}

/// The packet count of the flow at `table` and `priority` in `switchctl show flows` of
/// switch `name` (0 if there is none).
fn switchd_flow_packets(d: &Daemon, name: &str, table: &str, priority: &str) -> u64 {
    let out = d.ctl_ok(&["show", "flows", name]);
    common::rows(&out)
        .iter()
        .find(|r| {
            r.get(1).map(String::as_str) == Some(table)
                && r.get(2).map(String::as_str) == Some(priority)
        })
        .and_then(|r| r.get(r.len().checked_sub(2)?)?.parse().ok())
        .unwrap_or(0)
}

/// The `n_packets` of the flow at `table` and `priority` in `ovs-ofctl dump-flows`.
fn ovs_flow_packets(ovs: &OvsKo, table: u8, priority: u16) -> u64 {
    let out = ovs
        .ovs
        .ofctl(&["-O", "OpenFlow13", "dump-flows", &ovs.bridges[0]])
        .unwrap_or_default();
    out.lines()
        .find(|l| {
            l.contains(&format!("table={table},")) && l.contains(&format!("priority={priority},"))
        })
        .and_then(|l| {
            l.split("n_packets=")
                .nth(1)?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "kernel tier: needs act_ct, cls_flower and openvswitch.ko, runs in the VM"]
fn invalid_segments_dropped_on_switchd_and_openvswitch_ko() {
    let sw = {
        let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
        let (_br, d) = switchd_with(&lan, &[("vm", &[0, 1, 2], FLOWS)]);
        invalid_segments(&lan, 41000, || switchd_flow_packets(&d, "vm", "1", "100"))
    };
    let ovs = {
        let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
        let o = OvsKo::with(&lan, &[(&[0, 1, 2], FLOWS)]);
        invalid_segments(&lan, 42000, || ovs_flow_packets(&o, 1, 100))
    };
    let expected = Invalid {
        loose_ack_passes: true,
        strict_ack_passes: false,
        synack_passes: false,
        inv_flow_counted: true,
    };
    assert_eq!(ovs, expected, "Open vSwitch's kernel datapath");
    assert_eq!(sw, expected, "switchd's local switch");
}

// --- Zones ------------------------------------------------------------------------------

/// Two networks with the same addresses on one switch, each in a zone of its own: ports 1
/// and 2 (VM A 10.77.0.1 and its peer 10.77.0.2) in zone 1, ports 3 and 4 (VM B and its
/// peer, the same addresses) in zone 2. Each VM may open connections to its peer; replies
/// pass as `+est`; nothing else does. Zone 1's connections get label bit 0 on commit
/// (`exec(set_field:0x1->ct_label)`), and only labelled ones are established there.
const ZONE_FLOWS: &[&str] = &[
    "table=0,priority=100,in_port=1,ip,actions=ct(table=1,zone=1)",
    "table=0,priority=100,in_port=2,ip,actions=ct(table=1,zone=1)",
    "table=0,priority=100,in_port=3,ip,actions=ct(table=1,zone=2)",
    "table=0,priority=100,in_port=4,ip,actions=ct(table=1,zone=2)",
    "table=0,priority=50,in_port=1,arp,actions=output:2",
    "table=0,priority=50,in_port=2,arp,actions=output:1",
    "table=0,priority=50,in_port=3,arp,actions=output:4",
    "table=0,priority=50,in_port=4,arp,actions=output:3",
    "table=1,priority=100,ct_state=+trk+inv,ip,actions=drop",
    "table=1,priority=90,in_port=1,ct_state=+trk+new,ip,actions=ct(commit,zone=1,exec(set_field:0x1->ct_label)),output:2",
    "table=1,priority=90,in_port=3,ct_state=+trk+new,ip,actions=ct(commit,zone=2),output:4",
    "table=1,priority=90,in_port=1,ct_state=+trk+est,ct_label=0x1,ip,actions=output:2",
    "table=1,priority=90,in_port=2,ct_state=+trk+est,ct_label=0x1,ip,actions=output:1",
    "table=1,priority=90,in_port=3,ct_state=+trk+est,ip,actions=output:4",
    "table=1,priority=90,in_port=4,ct_state=+trk+est,ip,actions=output:3",
];

/// Another switch, whose VM (10.77.0.5) connects to 10.77.0.6 in zone 3.
const OTHER_FLOWS: &[&str] = &[
    "table=0,priority=100,ip,actions=ct(table=1,zone=3)",
    "table=0,priority=50,arp,actions=NORMAL",
    "table=1,priority=90,in_port=1,ct_state=+trk+new,ip,actions=ct(commit,zone=3),NORMAL",
    "table=1,priority=90,ct_state=+trk+est,ip,actions=NORMAL",
];

/// What a user of the zones notices.
#[derive(Debug, PartialEq, Eq)]
struct Zones {
    a_out: bool,
    /// Peer B, as if it answered VM A's connection (from the peer's port to VM A's),
    /// towards VM B, whose address is VM A's: it must not pass as zone 1's `+est`.
    b_gets_a_reply: bool,
    a_reply: bool,
    b_out_and_reply: bool,
    c_out_and_reply: bool,
    /// The UDP entries to the peers' port listed in zones 1, 2 and 3: the VMs' ports,
    /// less `base`, and the entries' labels.
    listed: [Vec<(u16, u128)>; 3],
}

fn zones_expected() -> Zones {
    Zones {
        a_out: true,
        b_gets_a_reply: false,
        a_reply: true,
        b_out_and_reply: true,
        c_out_and_reply: true,
        listed: [vec![(1, 1)], vec![(2, 0)], vec![(3, 0)]],
    }
}

/// Whether a datagram from `tx` to `to` reaches `rx` (three tries, each with a payload
/// of its own so that a late one is not taken for the next).
fn udp_arrives(tx: &UdpSocket, to: SocketAddr, rx: &UdpSocket, what: &str) -> bool {
    rx.set_read_timeout(Some(Duration::from_millis(700)))
        .expect("timeout");
    for i in 0..3 {
        let msg = format!("{what} {i}");
        tx.send_to(msg.as_bytes(), to).expect("send");
        let mut buf = [0u8; 64];
        while let Ok((n, _)) = rx.recv_from(&mut buf) {
            if buf[..n] == *msg.as_bytes() {
                return true;
            }
        }
    }
    false
}

/// Hosts 0-3 on the zones switch (host 2 and 3 take host 0 and 1's addresses), hosts 4
/// and 5 on the other; `listed(zone)` gives the (zone, sport, dport, labels) of the UDP
/// entries a switch lists for that zone.
fn exercise_zones(lan: &Lan, base: u16, listed: impl Fn(u16) -> Vec<UdpEntry>) -> Zones {
    // The peers' port; the VMs' are base + 1 (A), base + 2 (B), base + 3 (C).
    let peer_port = base;
    let a = |h: usize, p: u16| SocketAddr::from((lan.hosts[h].ip, p));
    let (vm, peer) = (lan.hosts[0].ip, lan.hosts[1].ip);
    let bind = |h: usize, ip: Ipv4Addr, p: u16| {
        lan.hosts[h]
            .ns
            .udp_bind(SocketAddr::from((ip, p)))
            .expect("bind")
    };
    let (va, vb, vc) = (base + 1, base + 2, base + 3);
    let vm_a = bind(0, vm, va);
    let peer_a = bind(1, peer, peer_port);
    // VM B listens on VM A's port too: where a reply to A would land in network B.
    let vm_b_as_a = bind(2, vm, va);
    let vm_b = bind(2, vm, vb);
    let peer_b = bind(3, peer, peer_port);
    let vm_c = bind(4, lan.hosts[4].ip, vc);
    let peer_c = bind(5, lan.hosts[5].ip, peer_port);
    let to_peer = SocketAddr::from((peer, peer_port));
    let a_out = udp_arrives(&vm_a, to_peer, &peer_a, "a out");
    let b_gets_a_reply = udp_arrives(
        &peer_b,
        SocketAddr::from((vm, va)),
        &vm_b_as_a,
        "b fakes a reply",
    );
    let a_reply = udp_arrives(&peer_a, SocketAddr::from((vm, va)), &vm_a, "a reply");
    let b_out_and_reply = udp_arrives(&vm_b, to_peer, &peer_b, "b out")
        && udp_arrives(&peer_b, SocketAddr::from((vm, vb)), &vm_b, "b reply");
    let c_out_and_reply = udp_arrives(&vm_c, a(5, peer_port), &peer_c, "c out")
        && udp_arrives(&peer_c, a(4, vc), &vm_c, "c reply");
    let listed = [1, 2, 3].map(|z| {
        let mut v: Vec<(u16, u128)> = listed(z)
            .into_iter()
            .filter(|(zone, _, dport, _)| *zone == z && *dport == peer_port)
            .map(|(_, sport, _, labels)| (sport.wrapping_sub(base), labels))
            .collect();
        v.sort();
        v.dedup();
        v
    });
    let o = Zones {
        a_out,
        b_gets_a_reply,
        a_reply,
        b_out_and_reply,
        c_out_and_reply,
        listed,
    };
    println!("{o:?}");
    o
}

/// Give hosts 2 and 3 the addresses of hosts 0 and 1.
fn same_addresses(lan: &Lan) {
    for (h, like) in [(2, 0), (3, 1)] {
        let ns = &lan.hosts[h].ns;
        ns.ip(&["addr", "flush", "dev", "eth0"]).expect("flush");
        ns.ip(&[
            "addr",
            "add",
            &format!("{}/24", lan.hosts[like].ip),
            "dev",
            "eth0",
        ])
        .expect("address");
    }
}

/// A UDP conntrack entry as a switch lists it: zone, sport, dport, labels.
type UdpEntry = (u16, u16, u16, u128);

/// A label cell or field: `-` or absent is none; else hexadecimal.
fn labels(s: Option<&str>) -> u128 {
    s.and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
}

/// The UDP rows of `switchctl show conntrack`.
fn switchd_udp_rows(table: &str) -> Vec<UdpEntry> {
    common::rows(table)
        .iter()
        .filter(|r| r.get(2).map(String::as_str) == Some("udp"))
        .filter_map(|r| {
            Some((
                r.get(1)?.parse().ok()?,
                r.get(5)?.parse().ok()?,
                r.get(6)?.parse().ok()?,
                labels(r.get(14).map(String::as_str)),
            ))
        })
        .collect()
}

/// The UDP entries `ovs-dpctl dump-conntrack zone=N` lists
/// (`udp,orig=(src=..,dst=..,sport=S,dport=D),reply=(..),zone=N,labels=L`).
fn ovs_udp_entries(zone: u16) -> Vec<UdpEntry> {
    let out = regress::run_ok(&["ovs-dpctl", "dump-conntrack", &format!("zone={zone}")])
        .unwrap_or_default();
    let text = |l: &'_ str, k: &str| -> Option<String> {
        Some(l.split(k).nth(1)?.split([',', ')']).next()?.to_string())
    };
    let field = |l: &str, k: &str| -> Option<u16> { text(l, k)?.parse().ok() };
    out.lines()
        .filter(|l| l.starts_with("udp,"))
        .filter_map(|l| {
            Some((
                field(l, "zone=").unwrap_or(0),
                field(l, "sport=")?,
                field(l, "dport=")?,
                labels(text(l, "labels=").as_deref()),
            ))
        })
        .collect()
}

#[test]
#[ignore = "kernel tier: needs act_ct, cls_flower and openvswitch.ko, runs in the VM"]
fn zones_keep_same_addresses_apart_on_switchd_and_openvswitch_ko() {
    let sw = {
        let lan = Lan::new(6, LanSwitch::PortsOnly).expect("hosts");
        same_addresses(&lan);
        let (_br, d) = switchd_with(
            &lan,
            &[
                ("zones", &[0, 1, 2, 3], ZONE_FLOWS),
                ("other", &[4, 5], OTHER_FLOWS),
            ],
        );
        let base = 43000;
        let o = exercise_zones(&lan, base, |z| {
            let sw = if z == 3 { "other" } else { "zones" };
            let t = d.ctl_ok(&["show", "conntrack", sw, "zone", &z.to_string()]);
            println!("switchctl show conntrack {sw} zone {z}:\n{t}");
            switchd_udp_rows(&t)
        });
        // The whole switch: its two zones, not the other switch's.
        let all = d.ctl_ok(&["show", "conntrack", "zones"]);
        let mine: Vec<(u16, u16)> = switchd_udp_rows(&all)
            .into_iter()
            .filter(|(_, _, dport, _)| *dport == base)
            .map(|(z, s, _, _)| (z, s - base))
            .collect();
        assert!(
            mine.contains(&(1, 1)) && mine.contains(&(2, 2)),
            "show conntrack zones:\n{all}"
        );
        assert!(
            !mine.iter().any(|(z, _)| *z == 3),
            "the other switch's zone listed:\n{all}"
        );
        let other = d.ctl_ok(&["show", "conntrack", "other"]);
        assert!(
            switchd_udp_rows(&other).iter().all(|(z, _, _, _)| *z == 3),
            "{other}"
        );
        // JSON, and a zone the switch's ct actions do not use.
        let j = d.ctl_ok(&["-o", "json", "show", "conntrack", "zones", "zone", "1"]);
        assert!(
            j.contains("\"table\": \"conntrack\"") && j.contains(&format!("\"{}\"", base + 1)),
            "{j}"
        );
        let e = d.ctl(&["show", "conntrack", "zones", "zone", "3"]);
        assert!(!e.status.success(), "zone 3 is not the zones switch's");
        let said = String::from_utf8_lossy(&e.stderr);
        assert!(
            said.contains("zone 3 is not a zone of a ct action"),
            "{said}"
        );
        o
    };
    let ovs = {
        let lan = Lan::new(6, LanSwitch::PortsOnly).expect("hosts");
        same_addresses(&lan);
        let _o = OvsKo::with(&lan, &[(&[0, 1, 2, 3], ZONE_FLOWS), (&[4, 5], OTHER_FLOWS)]);
        exercise_zones(&lan, 44000, |z| {
            let v = ovs_udp_entries(z);
            println!("ovs-dpctl dump-conntrack zone={z}: {v:?}");
            v
        })
    };
    assert_eq!(ovs, zones_expected(), "Open vSwitch's kernel datapath");
    assert_eq!(sw, zones_expected(), "switchd's local switches");
}
