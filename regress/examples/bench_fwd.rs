//! Forwarding through the kernel with many OpenFlow flows: a local switch (TC flower)
//! against Open vSwitch's kernel datapath (openvswitch.ko, `datapath_type=system`), the
//! same flows, the same traffic, the same run. Prints tables; asserts nothing about time.
//! Runs in the kernel-tier VM: `regress/bench-fwd [SECONDS per measurement]`
//! (`bench_fwd [SECONDS] [all|flows|faucet|N/M]`).
//!
//! For each N (1, 1,000, 10,000 flows) and M (1, 10, 100 distinct masks):
//! - the table holds one forwarding flow (`priority=1,in_port=1,actions=output:2`) and N-1
//!   filler flows at priority 100 that the traffic never matches (UDP from a source in
//!   128.0.0.0/1), spread over M masks (nw_src prefix lengths, with nw_dst and dl_src);
//! - first-packet latency: one UDP datagram h0 -> h1 before any other traffic (the flow is
//!   in the table, never used: Open vSwitch's first packet goes up to ovs-vswitchd), then
//!   the median of five more;
//! - throughput: namespace h0 writes 60-byte UDP frames (a new source port each) through an
//!   AF_PACKET socket as fast as it can for the phase; frames per second sent, and received
//!   by h1's eth0.
//!
//! Then Faucet's cold start: one Faucet 1.10.12 drives a local switch (`forward to`) and an
//! OVS bridge at once, two hosts on one VLAN each; seconds from the switch's connection
//! (Faucet's `Cold start configuring DP`) until the first ping passes.

#[path = "../tests/common/faucet.rs"]
mod faucet;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, run_ok, unique_name, Lan, Netns, Ovs};

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // What to run: `flows` (every table), `faucet` (the cold start), `N/M` (one table), or
    // everything (the default). regress/bench-fwd runs `flows` and `faucet` in two VMs:
    // under emulation on a busy machine one VM's time limit is not enough for both.
    let what = std::env::args().nth(2).unwrap_or_else(|| "all".to_string());
    let phase = Duration::from_secs(secs);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "bench-fwd: {secs} s per throughput phase, kernel {}",
        kernel.trim()
    );
    if run_ok(&["modprobe", "openvswitch"]).is_err() {
        eprintln!("bench-fwd: modprobe openvswitch failed");
    }
    let dp_existed = regress::run(&["ip", "link", "show", "dev", "ovs-system"]);

    let all = [
        (1, 1),
        (1000, 1),
        (1000, 10),
        (1000, 100),
        (10000, 1),
        (10000, 10),
        (10000, 100),
    ];
    let configs: Vec<(usize, usize)> = match what.as_str() {
        "all" | "flows" => all.to_vec(),
        "faucet" => Vec::new(),
        one => match one.split_once('/').map(|(n, m)| (n.parse(), m.parse())) {
            Some((Ok(n), Ok(m))) => vec![(n, m)],
            _ => {
                eprintln!("usage: bench_fwd [SECONDS] [all|flows|faucet|N/M]");
                std::process::exit(2);
            }
        },
    };
    let mut rows = Vec::new();
    for (n, m) in configs {
        let flows = flows(n, m);
        eprintln!("bench-fwd: {n} flows, {m} masks: switchd");
        let sw = run_switchd(&flows, phase);
        eprintln!("bench-fwd: {n} flows, {m} masks: Open vSwitch");
        let ovs = run_ovs(&flows, phase);
        rows.push((n, m, sw, ovs));
    }
    if !rows.is_empty() {
        print_table(&rows);
    }

    if what == "all" || what == "faucet" {
        eprintln!("bench-fwd: Faucet cold start");
        let (sw, ovs) = faucet_cold_start();
        let show = |c: Option<f64>| c.map_or("never".to_string(), |s| format!("{s:.1} s"));
        println!(
            "\nFaucet cold start, connection to first ping: switchd {}, OVS kernel {}",
            show(sw),
            show(ovs)
        );
    }
    if !dp_existed {
        let _ = run_ok(&["ovs-dpctl", "del-dp", "ovs-system"]);
    }
}

/// What one switch did with one table.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    /// Seconds until the flows were in the kernel.
    install_s: f64,
    first_us: f64,
    warm_us: f64,
    sent_pps: f64,
    recv_pps: f64,
}

fn print_table(rows: &[(usize, usize, Figures, Figures)]) {
    println!();
    println!(
        "{:>6} {:>5} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} {:>6}",
        "flows",
        "masks",
        "install s",
        "",
        "1st pkt",
        "us",
        "warm pkt",
        "us",
        "recv",
        "fps",
        "ratio"
    );
    println!(
        "{:>6} {:>5} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} {:>6}",
        "", "", "switchd", "OVS", "switchd", "OVS", "switchd", "OVS", "switchd", "OVS", ""
    );
    for (n, m, s, o) in rows {
        let ratio = if o.recv_pps > 0.0 {
            s.recv_pps / o.recv_pps
        } else {
            f64::NAN
        };
        println!(
            "{n:>6} {m:>5} | {:>9.1} {:>9.1} | {:>9.0} {:>9.0} | {:>9.0} {:>9.0} | {:>9.0} {:>9.0} {ratio:>6.2}",
            s.install_s, o.install_s, s.first_us, o.first_us, s.warm_us, o.warm_us, s.recv_pps, o.recv_pps
        );
    }
    println!("(sent by h0, frames/s:");
    for (n, m, s, o) in rows {
        println!(
            "  {n} flows {m} masks: switchd {:.0}, OVS {:.0})",
            s.sent_pps, o.sent_pps
        );
    }
}

/// The table: the forwarding flow and `n - 1` fillers over `m` masks.
fn flows(n: usize, m: usize) -> Vec<String> {
    let mut v = vec!["priority=1,in_port=1,actions=output:2".to_string()];
    let fillers = n.saturating_sub(1);
    for i in 0..fillers {
        let k = i % m;
        let j = i / m;
        // Mask k: an nw_src prefix of 1..=32 bits, and with nw_dst, dl_src or both.
        let prefix = 1 + k % 32;
        let extra = match k / 32 {
            0 => "",
            1 => ",nw_dst=200.0.0.1",
            2 => ",dl_src=02:00:00:00:00:99",
            _ => ",nw_dst=200.0.0.1,dl_src=02:00:00:00:00:99",
        };
        v.push(format!(
            "priority=100,udp,in_port=1,nw_src=128.0.0.0/{prefix}{extra},tp_dst={},actions=drop",
            1 + j
        ));
    }
    v
}

fn run_switchd(flows: &[String], phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    prepare(&lan);
    let br = unique_name();
    let mut conf = format!(
        "switch \"bench\" {{\n\tbridge \"{br}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\ttable-miss drop\n",
        lan.hosts[0].port, lan.hosts[1].port
    );
    for f in flows {
        conf += &format!("\tflow \"{f}\"\n");
    }
    conf += "}\n";
    let t0 = Instant::now();
    let d = Daemon::builder()
        .config(&conf)
        .ready_within(Duration::from_secs(600))
        .start()
        .expect("start switchd");
    let done = "local switch bench: ";
    let ok = regress::wait::wait_until(Duration::from_secs(600), Duration::from_millis(50), || {
        d.log()
            .lines()
            .any(|l| l.contains(done) && l.contains("configured flows in"))
    });
    let install_s = t0.elapsed().as_secs_f64();
    let line = d
        .log()
        .lines()
        .find(|l| l.contains("configured flows in"))
        .map(str::to_string)
        .unwrap_or_default();
    eprintln!("bench-fwd: {line}");
    if !ok || !line.contains(" 0 refused") {
        eprintln!("bench-fwd: switchd did not take every flow:\n{}", d.log());
    }
    let f = measure(&lan, phase, install_s);
    drop(d);
    let _ = run_ok(&["ip", "link", "del", &br]);
    f
}

fn run_ovs(flows: &[String], phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    prepare(&lan);
    let ovs = Ovs::start().expect("start Open vSwitch");
    let br = unique_name();
    ovs.vsctl(&[
        "--no-wait",
        "add-br",
        &br,
        "--",
        "set",
        "bridge",
        &br,
        "datapath_type=system",
        "fail_mode=secure",
        "protocols=OpenFlow13",
        "--",
        "add-port",
        &br,
        &lan.hosts[0].port,
        "--",
        "set",
        "interface",
        &lan.hosts[0].port,
        "ofport_request=1",
        "--",
        "add-port",
        &br,
        &lan.hosts[1].port,
        "--",
        "set",
        "interface",
        &lan.hosts[1].port,
        "ofport_request=2",
    ])
    .expect("OVS bridge");
    let file = std::env::temp_dir().join(format!("{br}.flows"));
    std::fs::write(&file, flows.join("\n") + "\n").expect("flows file");
    let t0 = Instant::now();
    // The bridge's management socket appears once ovs-vswitchd has made the bridge.
    let mut added = false;
    while !added && t0.elapsed() < Duration::from_secs(300) {
        added = ovs
            .ofctl(&[
                "-O",
                "OpenFlow13",
                "--bundle",
                "add-flows",
                &br,
                &file.display().to_string(),
            ])
            .is_ok();
        if !added {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let install_s = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    if !added {
        eprintln!("bench-fwd: ovs-ofctl add-flows failed for 300 s");
    }
    let f = measure(&lan, phase, install_s);
    drop(ovs);
    f
}

/// No IPv6 chatter, and each host knows the other's MAC: the only flow forwards h0 -> h1,
/// nothing would carry ARP back.
fn prepare(lan: &Lan) {
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    for h in [h0, h1] {
        let _ =
            h.ns.exec(&["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
    }
    h0.ns
        .ip(&[
            "neigh",
            "replace",
            &h1.ip.to_string(),
            "lladdr",
            &h1.mac,
            "dev",
            "eth0",
        ])
        .expect("neighbour");
    h1.ns
        .ip(&[
            "neigh",
            "replace",
            &h0.ip.to_string(),
            "lladdr",
            &h0.mac,
            "dev",
            "eth0",
        ])
        .expect("neighbour");
}

fn measure(lan: &Lan, phase: Duration, install_s: f64) -> Figures {
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let mut f = Figures {
        install_s,
        ..Default::default()
    };
    // Latency: the first datagram, then five more (median).
    let rx = h1
        .ns
        .udp_bind(SocketAddr::from((h1.ip, 7777)))
        .expect("bind in h1");
    rx.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let src = h0.ip;
    let tx = h0
        .ns
        .enter(move || UdpSocket::bind((src, 0)))
        .expect("enter h0")
        .expect("bind in h0");
    let to = SocketAddr::from((h1.ip, 7777));
    let one = || -> Option<f64> {
        let mut buf = [0u8; 64];
        let t = Instant::now();
        tx.send_to(b"bench-fwd", to).ok()?;
        rx.recv_from(&mut buf).ok()?;
        Some(t.elapsed().as_secs_f64() * 1e6)
    };
    f.first_us = one().unwrap_or(f64::NAN);
    let mut warm: Vec<f64> = (0..5).filter_map(|_| one()).collect();
    warm.sort_by(f64::total_cmp);
    f.warm_us = warm.get(warm.len() / 2).copied().unwrap_or(f64::NAN);
    // Throughput.
    let frame = udp_frame(&h0.mac, &h1.mac);
    let rx0 = rx_packets(&h1.ns);
    let sent = blast(&h0.ns, frame, phase);
    std::thread::sleep(Duration::from_millis(300));
    let got = rx_packets(&h1.ns) - rx0;
    let s = phase.as_secs_f64();
    f.sent_pps = sent as f64 / s;
    f.recv_pps = got as f64 / s;
    eprintln!(
        "bench-fwd: first {:.0} us, warm {:.0} us, {sent} sent, {got} received",
        f.first_us, f.warm_us
    );
    f
}

/// A 60-byte IPv4/UDP frame 10.77.0.1 -> 10.77.0.2, port 9.
fn udp_frame(src: &str, dst: &str) -> Vec<u8> {
    let mac = |s: &str| -> Vec<u8> {
        s.split(':')
            .map(|b| u8::from_str_radix(b, 16).expect("MAC from ip link"))
            .collect()
    };
    let mut f = Vec::with_capacity(60);
    f.extend(mac(dst));
    f.extend(mac(src));
    f.extend([0x08, 0x00]);
    let mut ip = vec![
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2,
    ];
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend(ip);
    f.extend([0x30, 0x39, 0, 9, 0, 26, 0, 0]);
    f.resize(60, 0);
    f
}

/// Send `frame` out of eth0 of `ns` through an AF_PACKET socket for `d`, a new UDP source
/// port each time; frames sent.
fn blast(ns: &Netns, frame: Vec<u8>, d: Duration) -> u64 {
    ns.enter(move || -> u64 {
        // SAFETY: plain socket calls on a descriptor this closure owns.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            assert!(
                fd >= 0,
                "AF_PACKET socket: {}",
                std::io::Error::last_os_error()
            );
            let ifindex = libc::if_nametoindex(c"eth0".as_ptr());
            assert!(ifindex > 0, "no eth0");
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = ifindex as i32;
            sll.sll_halen = 6;
            let end = Instant::now() + d;
            let mut n = 0u64;
            let mut frame = frame;
            while Instant::now() < end {
                for _ in 0..64 {
                    frame[34..36].copy_from_slice(&((n % 50000) as u16 + 10000).to_be_bytes());
                    let r = libc::sendto(
                        fd,
                        frame.as_ptr().cast(),
                        frame.len(),
                        0,
                        (&sll as *const libc::sockaddr_ll).cast(),
                        std::mem::size_of::<libc::sockaddr_ll>() as u32,
                    );
                    if r > 0 {
                        n += 1;
                    }
                }
            }
            libc::close(fd);
            n
        }
    })
    .expect("enter h0")
}

fn rx_packets(ns: &Netns) -> u64 {
    ns.exec(&["cat", "/sys/class/net/eth0/statistics/rx_packets"])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

const SWITCHD_DPID: u64 = 0x5d02;
const OVS_DPID: u64 = 0x0e02;

fn faucet_yaml() -> String {
    let dp = |name: &str, id: u64| {
        format!(
            "    {name}:\n        dp_id: 0x{id:x}\n        hardware: \"Open vSwitch\"\n        interfaces:\n            1:\n                native_vlan: office\n            2:\n                native_vlan: office\n"
        )
    };
    format!(
        "vlans:\n    office:\n        vid: 100\ndps:\n{}{}",
        dp("switchd", SWITCHD_DPID),
        dp("ovs", OVS_DPID)
    )
}

/// Seconds from each switch's connection to Faucet until h0 pings h1 through it.
fn faucet_cold_start() -> (Option<f64>, Option<f64>) {
    let dir = TempDir::new("swt-benchfwd");
    let conf = dir.0.join("faucet.yaml");
    std::fs::write(&conf, faucet_yaml()).expect("faucet.yaml");
    let port = free_tcp_port().expect("port");
    let prom = free_tcp_port().expect("port");
    let f = faucet::Faucet::start(&dir.0, faucet::App::Faucet, &conf, port, prom);
    let (sw_lan, ovs_lan) = (
        Lan::new(2, LanSwitch::PortsOnly).expect("hosts"),
        Lan::new(2, LanSwitch::PortsOnly).expect("hosts"),
    );
    let br = unique_name();
    let conf = format!(
        "switch \"faucet\" {{\n\tbridge \"{br}\"\n\tdatapath-id 0x{SWITCHD_DPID:x}\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
        sw_lan.hosts[0].port, sw_lan.hosts[1].port
    );
    let d = Daemon::builder()
        .config(&conf)
        .ready_within(Duration::from_secs(120))
        .start()
        .expect("switchd");
    let ovs = Ovs::start().expect("Open vSwitch");
    let obr = unique_name();
    ovs.vsctl(&[
        "--no-wait",
        "add-br",
        &obr,
        "--",
        "set",
        "bridge",
        &obr,
        "datapath_type=system",
        "fail_mode=secure",
        "protocols=OpenFlow13",
        &format!("other-config:datapath-id={OVS_DPID:016x}"),
        "--",
        "add-port",
        &obr,
        &ovs_lan.hosts[0].port,
        "--",
        "set",
        "interface",
        &ovs_lan.hosts[0].port,
        "ofport_request=1",
        "--",
        "add-port",
        &obr,
        &ovs_lan.hosts[1].port,
        "--",
        "set",
        "interface",
        &ovs_lan.hosts[1].port,
        "ofport_request=2",
        "--",
        "set-controller",
        &obr,
        &format!("tcp:127.0.0.1:{port}"),
    ])
    .expect("OVS bridge");
    let sites = [(&sw_lan, SWITCHD_DPID), (&ovs_lan, OVS_DPID)];
    let mut connected: [Option<Instant>; 2] = [None, None];
    let mut passed: [Option<f64>; 2] = [None, None];
    let deadline = Instant::now() + Duration::from_secs(300);
    while passed.iter().any(Option::is_none) && Instant::now() < deadline {
        let log = f.log_text();
        for (i, (lan, dpid)) in sites.iter().enumerate() {
            let tag = format!("(0x{dpid:x})");
            if connected[i].is_none()
                && log
                    .lines()
                    .any(|l| l.contains(&tag) && l.contains("Cold start configuring DP"))
            {
                connected[i] = Some(Instant::now());
            }
            if let (Some(c), None) = (connected[i], passed[i]) {
                if lan.hosts[0].ns.ping(lan.hosts[1].ip, 1) {
                    passed[i] = Some(c.elapsed().as_secs_f64());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(ovs);
    drop(d);
    let _ = run_ok(&["ip", "link", "del", &br]);
    drop(f);
    (passed[0], passed[1])
}
