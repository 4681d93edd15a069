//! Packet-in and packet-out through a local switch, against Open vSwitch (userspace
//! datapath) measured the same way in the same run. Prints a table; asserts nothing about
//! time. Runs in the kernel-tier VM: `regress/bench-pktio [SECONDS]`.
//!
//! The benchmark is the controller: switchd's local switch (`forward to`) and then an OVS
//! bridge on the same two veth ports connect to it over TCP on 127.0.0.1.
//! - packet-in: the controller installs a table-miss flow to CONTROLLER (128 bytes); a
//!   sender in namespace h0 writes UDP frames to h1 through an AF_PACKET socket as fast as
//!   it can; the controller counts the PACKET_INs that arrive.
//! - packet-out: the controller writes PACKET_OUTs (a 60-byte UDP frame, output to port 2)
//!   as fast as the TCP connection takes them, then a BARRIER; the frames that arrive are
//!   counted by h1's eth0 receive counter.
//!
//! CPU per packet is the user+system time of the switch's processes (switchd's tree or
//! ovs-vswitchd) over the phase, divided by the packets handled.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::OFP13_VERSION;
use ofproto::v13::{self, Message as M};
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::{unique_name, Lan, Netns, Ovs};

const CONTROLLER: u32 = v13::OFPP_CONTROLLER;

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let phase = Duration::from_secs(secs);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("bench-pktio: {secs} s per phase, kernel {}", kernel.trim());

    eprintln!("bench-pktio: switchd");
    let sw = run_switchd(phase);
    eprintln!("bench-pktio: Open vSwitch");
    let ovs = run_ovs(phase);
    print_table(&sw, &ovs);
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    in_sent: f64,
    in_delivered: f64,
    in_cpu_us: f64,
    out_sent: f64,
    out_delivered: f64,
    out_cpu_us: f64,
}

fn print_table(sw: &Figures, ovs: &Figures) {
    let row = |what: &str, a: f64, b: f64, unit: &str| {
        let ratio = if b > 0.0 { a / b } else { f64::NAN };
        println!("{what:<44} {a:>12.0} {b:>12.0} {ratio:>8.2}  {unit}");
    };
    let rowf = |what: &str, a: f64, b: f64, unit: &str| {
        let ratio = if b > 0.0 { a / b } else { f64::NAN };
        println!("{what:<44} {a:>12.1} {b:>12.1} {ratio:>8.2}  {unit}");
    };
    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>8}",
        "", "switchd", "OVS netdev", "ratio"
    );
    row(
        "packet-in: frames sent by h0",
        sw.in_sent,
        ovs.in_sent,
        "/s",
    );
    row(
        "packet-in: PACKET_INs at the controller",
        sw.in_delivered,
        ovs.in_delivered,
        "/s",
    );
    rowf(
        "packet-in: CPU of the switch per packet-in",
        sw.in_cpu_us,
        ovs.in_cpu_us,
        "us",
    );
    row(
        "packet-out: PACKET_OUTs written",
        sw.out_sent,
        ovs.out_sent,
        "/s",
    );
    row(
        "packet-out: frames received by h1",
        sw.out_delivered,
        ovs.out_delivered,
        "/s",
    );
    rowf(
        "packet-out: CPU of the switch per packet-out",
        sw.out_cpu_us,
        ovs.out_cpu_us,
        "us",
    );
    if sw.in_delivered > 0.0 {
        println!(
            "packet-in: {:.1} us per packet-in at switchd's rate",
            1e6 / sw.in_delivered
        );
    }
    if sw.out_delivered > 0.0 {
        println!(
            "packet-out: {:.1} us per packet-out at switchd's rate",
            1e6 / sw.out_delivered
        );
    }
}

fn run_switchd(phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let br = unique_name();
    let conf = format!(
        "switch \"bench\" {{\n\tbridge \"{br}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
        lan.hosts[0].port, lan.hosts[1].port
    );
    let d = Daemon::builder()
        .config(&conf)
        .start()
        .expect("start switchd");
    let Some(ctl) = Controller::accept(&listener) else {
        panic!("switchd did not connect in 60 s; its log:\n{}", d.log());
    };
    let pids = || {
        let mut p = vec![d.pid()];
        p.extend(d.children().into_iter().map(|(_, p)| p));
        p
    };
    let f = measure(&lan, &ctl, phase, &pids);
    drop(ctl);
    drop(d);
    let _ = regress::run_ok(&["ip", "link", "del", &br]);
    f
}

fn run_ovs(phase: Duration) -> Figures {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    // The userspace datapath's internal port is a tap device; the VM's /dev has no
    // /dev/net/tun until someone makes it.
    if !std::path::Path::new("/dev/net/tun").exists() {
        let _ = regress::run_ok(&["modprobe", "tun"]);
        let _ = std::fs::create_dir_all("/dev/net");
        let _ = regress::run_ok(&["mknod", "/dev/net/tun", "c", "10", "200"]);
    }
    let ovs = Ovs::start().expect("start Open vSwitch");
    let br = ovs.add_bridge().expect("OVS bridge");
    ovs.add_port(&br, &lan.hosts[0].port, 1).expect("port 1");
    ovs.add_port(&br, &lan.hosts[1].port, 2).expect("port 2");
    ovs.vsctl(&[
        "set",
        "bridge",
        &br,
        "protocols=OpenFlow13",
        "fail_mode=secure",
        "--",
        "set-controller",
        &br,
        &format!("tcp:127.0.0.1:{port}"),
    ])
    .expect("set-controller");
    let Some(ctl) = Controller::accept(&listener) else {
        let log = std::fs::read_to_string(ovs.dir().join("ovs-vswitchd.log")).unwrap_or_default();
        panic!("Open vSwitch did not connect in 60 s; ovs-vswitchd.log:\n{log}");
    };
    let pid = ovs.vswitchd_pid();
    let f = measure(&lan, &ctl, phase, &|| vec![pid]);
    drop(ctl);
    drop(ovs);
    f
}

/// One switch's two phases.
fn measure(lan: &Lan, ctl: &Controller, phase: Duration, pids: &dyn Fn() -> Vec<u32>) -> Figures {
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let frame = udp_frame(&h0.mac, &h1.mac);
    let secs = phase.as_secs_f64();
    let mut f = Figures::default();

    // packet-in
    ctl.table_miss_to_controller();
    let cpu0 = cpu_ticks(&pids());
    let in0 = ctl.packet_ins.load(Ordering::Relaxed);
    let sent = blast(&h0.ns, frame.clone(), phase);
    // What was sent in the phase and is still on its way counts too; give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let got = ctl.packet_ins.load(Ordering::Relaxed) - in0;
    let cpu = cpu_ticks(&pids()) - cpu0;
    f.in_sent = sent as f64 / secs;
    f.in_delivered = got as f64 / secs;
    f.in_cpu_us = if got > 0 {
        cpu as f64 * tick_us() / got as f64
    } else {
        0.0
    };
    eprintln!("bench-pktio: packet-in: {sent} sent, {got} PACKET_INs, {cpu} ticks");

    // packet-out: nothing else goes to the controller meanwhile.
    ctl.delete_all_flows();
    let rx0 = rx_packets(&h1.ns);
    let cpu0 = cpu_ticks(&pids());
    let t0 = Instant::now();
    let written = ctl.packet_outs(&frame, 2, phase);
    ctl.barrier(Duration::from_secs(120));
    let took = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    let rx = rx_packets(&h1.ns) - rx0;
    let cpu = cpu_ticks(&pids()) - cpu0;
    f.out_sent = written as f64 / took;
    f.out_delivered = rx as f64 / took;
    f.out_cpu_us = if rx > 0 {
        cpu as f64 * tick_us() / rx as f64
    } else {
        0.0
    };
    eprintln!(
        "bench-pktio: packet-out: {written} written, {rx} received in {took:.2} s, {cpu} ticks"
    );
    f
}

/// A 60-byte IPv4/UDP frame from `src` to `dst` (10.77.0.1 -> 10.77.0.2, port 9).
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
    let ip_len = 46u16;
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2,
    ];
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
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

/// Send `frame` out of eth0 of `ns` through an AF_PACKET socket for `d`; frames sent.
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
                    // A new source port each time: a new flow for a learning controller.
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

/// utime + stime of these processes, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            // Fields after the command (which may hold spaces), from field 3 on.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

fn tick_us() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1e6 / if hz > 0 { hz as f64 } else { 100.0 }
}

/// The benchmark's side of one OpenFlow 1.3 connection.
struct Controller {
    w: Mutex<TcpStream>,
    packet_ins: Arc<AtomicU64>,
    barriers: Mutex<mpsc::Receiver<()>>,
    xid: AtomicU64,
}

impl Controller {
    /// The switch's connection, if it comes within a minute.
    fn accept(l: &TcpListener) -> Option<Controller> {
        l.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + Duration::from_secs(60);
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("accept the switch: {e}"),
            }
        };
        s.set_nonblocking(false).expect("blocking");
        eprintln!("bench-pktio: the switch connected");
        s.set_nodelay(true).expect("nodelay");
        let mut out = BytesMut::new();
        v13::encode_hello(&[OFP13_VERSION], 1, &mut out);
        M::FeaturesRequest.encode(2, &mut out);
        (&s).write_all(&out).expect("hello");
        let packet_ins = Arc::new(AtomicU64::new(0));
        let (btx, brx) = mpsc::channel();
        let mut r = s.try_clone().expect("clone");
        let w = s.try_clone().expect("clone");
        let pi = packet_ins.clone();
        std::thread::spawn(move || {
            let mut buf = BytesMut::with_capacity(1 << 20);
            let mut chunk = vec![0u8; 1 << 16];
            loop {
                while buf.len() >= 8 {
                    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                    if len < 8 || buf.len() < len {
                        break;
                    }
                    let msg = buf.split_to(len).freeze();
                    match msg[1] {
                        10 => {
                            pi.fetch_add(1, Ordering::Relaxed);
                        }
                        21 => {
                            let _ = btx.send(());
                        }
                        2 => {
                            // Echo request: answer with the same xid and data.
                            let mut rep = msg.to_vec();
                            rep[1] = 3;
                            let _ = (&w).write_all(&rep);
                        }
                        1 => {
                            if let Ok((_, m)) = v13::decode(&msg) {
                                eprintln!("bench-pktio: the switch sent {m:?}");
                            }
                        }
                        _ => {}
                    }
                }
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
        let c = Controller {
            w: Mutex::new(s),
            packet_ins,
            barriers: Mutex::new(brx),
            xid: AtomicU64::new(10),
        };
        c.barrier(Duration::from_secs(60));
        Some(c)
    }

    fn send(&self, m: &M) {
        let mut out = BytesMut::new();
        let xid = self.xid.fetch_add(1, Ordering::Relaxed) as u32;
        m.encode(xid, &mut out);
        let w = self.w.lock().unwrap_or_else(|e| e.into_inner());
        (&*w).write_all(&out).expect("write to the switch");
    }

    fn barrier(&self, wait: Duration) {
        let rx = self.barriers.lock().unwrap_or_else(|e| e.into_inner());
        while rx.try_recv().is_ok() {}
        self.send(&M::BarrierRequest);
        rx.recv_timeout(wait).expect("barrier reply");
    }

    fn table_miss_to_controller(&self) {
        // No bound on packet-ins but the switch's own speed: the OFPM_CONTROLLER meter
        // (switchd's default is 1000 packets per second per filter).
        self.send(&M::MeterMod(v13::MeterMod {
            command: v13::MeterModCommand::Add,
            flags: v13::OFPMF_PKTPS,
            meter_id: v13::OFPM_CONTROLLER,
            bands: vec![v13::MeterBand::Drop {
                rate: 100_000_000,
                burst_size: 0,
            }],
        }));
        self.send(&M::FlowMod(v13::FlowMod {
            command: v13::FlowModCommand::Add,
            priority: 0,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: v13::OFPP_ANY,
            out_group: v13::OFPG_ANY,
            instructions: [v13::Instruction::ApplyActions(
                [v13::Action::Output {
                    port: CONTROLLER,
                    max_len: 128,
                }]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        }));
        self.barrier(Duration::from_secs(60));
    }

    fn delete_all_flows(&self) {
        self.send(&M::FlowMod(v13::FlowMod {
            command: v13::FlowModCommand::Delete,
            table_id: v13::OFPTT_ALL,
            buffer_id: v13::OFP_NO_BUFFER,
            out_port: v13::OFPP_ANY,
            out_group: v13::OFPG_ANY,
            ..Default::default()
        }));
        self.barrier(Duration::from_secs(60));
    }

    /// PACKET_OUTs of `frame` to `port` for `d`, written in batches; how many.
    fn packet_outs(&self, frame: &[u8], port: u32, d: Duration) -> u64 {
        let po = M::PacketOut(v13::PacketOut {
            buffer_id: v13::OFP_NO_BUFFER,
            in_port: CONTROLLER,
            actions: [v13::Action::Output { port, max_len: 0 }]
                .into_iter()
                .collect(),
            data: Bytes::copy_from_slice(frame),
        });
        let mut batch = BytesMut::new();
        for i in 0..256 {
            po.encode(1_000_000 + i, &mut batch);
        }
        let end = Instant::now() + d;
        let mut n = 0u64;
        let w = self.w.lock().unwrap_or_else(|e| e.into_inner());
        while Instant::now() < end {
            (&*w).write_all(&batch).expect("write packet-outs");
            n += 256;
        }
        n
    }
}
