//! A stateful security group (Open vSwitch `ct` flows) on a switchd local switch (act_ct,
//! flower ct_state) and on an Open vSwitch bridge on openvswitch.ko, with the same flows,
//! in the same VM run: new TCP connections per second from the VM out through the group,
//! and the bulk throughput of one established connection. Prints a table with the
//! ratios; asserts nothing about time. `regress/bench-ct [SECONDS]`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::{unique_name, Lan, Ovs};

const FLOWS: &[&str] = &[
    "table=0,priority=100,ct_state=-trk,ip,actions=ct(table=1,zone=1)",
    "table=0,priority=50,arp,actions=NORMAL",
    "table=1,priority=100,ct_state=+trk+inv,ip,actions=drop",
    "table=1,priority=90,in_port=1,ct_state=+trk+new,ip,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=90,ct_state=+trk+est,ip,actions=NORMAL",
    "table=1,priority=90,ct_state=+trk+rel,ip,actions=NORMAL",
];

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    conns_per_s: f64,
    bulk_mbit_s: f64,
}

fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 77, 0, host), port))
}

/// New connections from host 0 to host 1 for `secs`, then bulk from host 0 to host 1.
fn measure(lan: &Lan, phase: Duration) -> Figures {
    let (h0, h1) = (&lan.hosts[0].ns, &lan.hosts[1].ns);
    assert!(
        h0.ping_eventually(lan.hosts[1].ip, 20),
        "no path through the group"
    );
    // Accept and close.
    let l = h1
        .enter(|| TcpListener::bind(addr(2, 8080)))
        .and_then(|r| r)
        .expect("listen");
    std::thread::spawn(move || for _ in l.incoming() {});
    let to = addr(2, 8080);
    let conns = h0
        .enter(move || {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < phase {
                if TcpStream::connect_timeout(&to, Duration::from_secs(2)).is_ok() {
                    n += 1;
                }
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .expect("connections");
    // A sink that counts.
    let got = Arc::new(AtomicU64::new(0));
    let g = got.clone();
    let l = h1
        .enter(|| TcpListener::bind(addr(2, 9000)))
        .and_then(|r| r)
        .expect("listen");
    std::thread::spawn(move || {
        if let Some(Ok(mut s)) = l.incoming().next() {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                g.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    });
    let to = addr(2, 9000);
    let mut s = h0
        .enter(move || TcpStream::connect_timeout(&to, Duration::from_secs(5)))
        .and_then(|r| r)
        .expect("bulk connection");
    let chunk = vec![0x5au8; 1 << 16];
    let before = got.load(Ordering::Relaxed);
    let start = Instant::now();
    while start.elapsed() < phase {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = got.load(Ordering::Relaxed) - before;
    Figures {
        conns_per_s: conns,
        bulk_mbit_s: bytes as f64 * 8.0 / secs / 1e6,
    }
}

fn run_switchd(phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = unique_name();
    let mut conf = format!(
        "switch \"bench\" {{\n\tbridge \"{br}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\ttable-miss drop\n",
        lan.hosts[0].port, lan.hosts[1].port
    );
    for f in FLOWS {
        conf += &format!("\tflow \"{f}\"\n");
    }
    conf += "}\n";
    let d = Daemon::builder()
        .config(&conf)
        .ready_within(Duration::from_secs(60))
        .start()
        .expect("start switchd");
    let f = measure(&lan, phase);
    drop(d);
    let _ = regress::run_ok(&["ip", "link", "del", &br]);
    f
}

fn run_ovs(phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let _ = regress::run_ok(&["modprobe", "openvswitch"]);
    let ovs = (0..3)
        .find_map(|_| Ovs::start().ok())
        .expect("start Open vSwitch");
    let br = unique_name();
    // --no-wait: ovs-vswitchd in the emulated VM can take longer than ovs-vsctl's 10 s
    // to create the kernel datapath; the ports are waited for below.
    ovs.vsctl(&[
        "--no-wait",
        "add-br",
        &br,
        "--",
        "set",
        "bridge",
        &br,
        "datapath_type=system",
        "fail-mode=secure",
        "protocols=OpenFlow13",
    ])
    .expect("add the bridge");
    for (i, h) in lan.hosts.iter().enumerate() {
        ovs.vsctl(&[
            "--no-wait",
            "add-port",
            &br,
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
            ovs.ofctl(&["-O", "OpenFlow13", "show", &br])
                .is_ok_and(|out| lan.hosts.iter().all(|h| out.contains(&h.port)))
        });
    assert!(ready, "Open vSwitch did not take the ports within 120 s");
    for f in FLOWS {
        ovs.ofctl(&["-O", "OpenFlow13", "add-flow", &br, f])
            .expect("add-flow");
    }
    let f = measure(&lan, phase);
    let _ = ovs.vsctl(&["--if-exists", "del-br", &br]);
    f
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let phase = Duration::from_secs(secs);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("bench-ct: {secs} s per phase, kernel {}", kernel.trim());
    eprintln!("bench-ct: switchd");
    let sw = run_switchd(phase);
    eprintln!("bench-ct: Open vSwitch (openvswitch.ko)");
    let ovs = run_ovs(phase);
    println!();
    println!(
        "{:<52} {:>10} {:>14} {:>7}",
        "", "switchd", "openvswitch.ko", "ratio"
    );
    let row = |what: &str, a: f64, b: f64| {
        let r = if b > 0.0 { a / b } else { f64::NAN };
        println!("{what:<52} {a:>10.1} {b:>14.1} {r:>7.2}");
    };
    row(
        "new TCP connections/s through the security group",
        sw.conns_per_s,
        ovs.conns_per_s,
    );
    row(
        "bulk throughput of one connection, Mbit/s",
        sw.bulk_mbit_s,
        ovs.bulk_mbit_s,
    );
}
