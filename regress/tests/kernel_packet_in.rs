//! Kernel tier: packet-in from a local bridge to a real third-party controller (os-ken
//! 3.1.1, `regress/setup --osken`) through TC (act_police + act_sample) and psample.
//!
//! The os-ken app (tests/osken/packet_in_13.py) installs a table-miss CONTROLLER flow and
//! a priority-10 `udp,udp_dst=9999 -> CONTROLLER:64` flow with a distinctive cookie, and
//! logs every PACKET_IN. Packets sent from namespaces must arrive with the sender's port
//! as in_port, the right reason, table and cookie, cut to max_len; a flood is bounded by
//! the police on the controller path.

#[path = "common/local_switch.rs"]
mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, LinkGuard};
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, unique_name, Lan, Netns, Proc};

const COOKIE: i64 = 0x5157_c0de;

fn osken_manager() -> PathBuf {
    let state = std::env::var("SWITCHD_REGRESS_DIR")
        .unwrap_or_else(|_| "/var/cache/switchd-regress".to_string());
    Path::new(&state).join("osken/bin/osken-manager")
}

/// As in kernel_forward.rs: os-ken in a mount namespace where the host's /var/cache shows.
fn osken_command() -> Command {
    let script = r#"[ -x "$0" ] || umount /var/cache 2>/dev/null
[ -x "$0" ] || { echo "$0 is missing: run regress/setup --osken" >&2; exit 127; }
exec "$0" "$@""#;
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(osken_manager());
    c
}

fn wait_long(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn listening(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1] == want && f[3] == "0A"
        })
    })
}

/// The integer value of `"key": N` in one JSON line of the app's notes.
fn field(line: &str, key: &str) -> Option<i64> {
    let at = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn is(line: &str, event: &str) -> bool {
    line.contains(&format!("\"event\": \"{event}\""))
}

struct OsKen {
    proc: Proc,
    notes: PathBuf,
    log: PathBuf,
}

impl OsKen {
    fn start(dir: &Path, port: u16) -> OsKen {
        let notes = dir.join("osken-notes");
        let log = dir.join("osken.log");
        let out = std::fs::File::create(&log).expect("osken log");
        let err = out.try_clone().expect("osken log");
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/osken/packet_in_13.py");
        let proc = Proc::spawn(
            "osken-manager",
            osken_command()
                .args(["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port"])
                .arg(port.to_string())
                .arg(app)
                .env("SWITCHD_REGRESS_OSKEN_LOG", &notes)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
        )
        .expect("start osken-manager");
        let mut k = OsKen { proc, notes, log };
        assert!(
            wait_long(180, || listening(port) || !k.proc.is_running()),
            "os-ken did not listen on {port} within 180 s:\n{}",
            k.log_text()
        );
        assert!(k.proc.is_running(), "os-ken exited:\n{}", k.log_text());
        k
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn notes(&self) -> Vec<String> {
        std::fs::read_to_string(&self.notes)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn packet_ins(&self) -> Vec<String> {
        self.notes()
            .into_iter()
            .filter(|l| is(l, "packet_in"))
            .collect()
    }
}

fn send_udp(from: &Netns, to: SocketAddr, n: usize, len: usize) {
    from.enter(move || -> std::io::Result<()> {
        let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        let payload = vec![0x5a; len];
        for _ in 0..n {
            s.send_to(&payload, to)?;
        }
        Ok(())
    })
    .expect("enter")
    .expect("send");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_sample and os-ken, runs in the VM"]
fn osken_gets_packet_ins_with_port_reason_cookie_and_max_len_and_a_flood_is_bounded() {
    let dir = TempDir::new("packet-in-osken");
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start(&dir.0, port);
    let h = &lan.hosts;
    let conf = format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \tport \"{}\" number 3\n\ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n",
        br.0, h[0].port, h[1].port, h[2].port
    );
    let d = Daemon::start(&conf);
    assert!(
        wait_long(90, || osken.notes().iter().any(|l| is(l, "barrier"))),
        "os-ken's flows were not acknowledged; notes {:?}\nos-ken:\n{}\nswitchd stderr:\n{}",
        osken.notes(),
        osken.log_text(),
        d.stderr()
    );
    let notes = osken.notes();
    assert!(
        !notes.iter().any(|l| is(l, "error")),
        "the switch refused something os-ken sent: {notes:?}\nswitchd stderr:\n{}",
        d.stderr()
    );
    assert!(
        notes
            .iter()
            .any(|l| is(l, "connected") && field(l, "n_buffers") == Some(0)),
        "{notes:?}"
    );
    // Every packet goes to the controller and nowhere else: ARP would not be answered.
    for (i, j) in [(0, 1), (2, 1)] {
        h[i].ns
            .ip(&[
                "neigh",
                "replace",
                &h[j].ip.to_string(),
                "lladdr",
                &h[j].mac,
                "dev",
                "eth0",
            ])
            .expect("static neighbour");
    }

    // Port 1 to udp 9999: the cookie flow, 64 bytes of each. Port 3 to udp 7777: the
    // table-miss, whole packets.
    send_udp(&h[0].ns, SocketAddr::from((h[1].ip, 9999)), 5, 200);
    send_udp(&h[2].ns, SocketAddr::from((h[1].ip, 7777)), 3, 100);
    let ours = |l: &String| field(l, "cookie") == Some(COOKIE);
    let miss_udp =
        |l: &String| field(l, "in_port") == Some(3) && field(l, "total_len") == Some(142);
    assert!(
        wait_long(60, || {
            let p = osken.packet_ins();
            p.iter().filter(|l| ours(l)).count() >= 5
                && p.iter().filter(|l| miss_udp(l)).count() >= 3
        }),
        "packet-ins missing: {:?}\nswitchd stderr:\n{}",
        osken.packet_ins(),
        d.stderr()
    );
    let p = osken.packet_ins();
    println!("packet-ins: {p:?}");
    let flow: Vec<&String> = p.iter().filter(|l| ours(l)).collect();
    assert_eq!(flow.len(), 5, "{p:?}");
    for l in flow {
        assert_eq!(field(l, "in_port"), Some(1), "{l}");
        assert_eq!(field(l, "reason"), Some(1), "OFPR_ACTION: {l}");
        assert_eq!(field(l, "table_id"), Some(0), "{l}");
        // Ethernet 14 + IPv4 20 + UDP 8 + 200, cut to max_len 64.
        assert_eq!(field(l, "total_len"), Some(242), "{l}");
        assert_eq!(field(l, "data_len"), Some(64), "{l}");
        assert_eq!(field(l, "buffer_id"), Some(0xffff_ffff), "{l}");
    }
    let miss: Vec<&String> = p.iter().filter(|l| miss_udp(l)).collect();
    assert_eq!(miss.len(), 3, "{p:?}");
    for l in miss {
        assert_eq!(field(l, "reason"), Some(0), "OFPR_NO_MATCH: {l}");
        assert_eq!(field(l, "cookie"), Some(0), "{l}");
        assert_eq!(field(l, "data_len"), Some(142), "the whole packet: {l}");
    }

    // A flood: the police on the controller path (1000 pkt/s, burst 100) lets a part
    // through. Counted once the count stops growing; no timing is asserted.
    const FLOOD: usize = 20_000;
    let start = Instant::now();
    send_udp(&h[0].ns, SocketAddr::from((h[1].ip, 9999)), FLOOD, 100);
    let sent_in = start.elapsed();
    let mut last = usize::MAX;
    wait_long(60, || {
        std::thread::sleep(Duration::from_secs(2));
        let n = osken.packet_ins().iter().filter(|l| ours(l)).count();
        let done = n == last;
        last = n;
        done
    });
    let got = last - 5;
    println!(
        "flood: {FLOOD} packets sent in {:.3} s, {got} packet-ins reached os-ken",
        sent_in.as_secs_f64()
    );
    assert!(got > 0, "no packet-in from the flood");
    assert!(got < FLOOD, "the flood was not bounded: {got} of {FLOOD}");
    let stderr = d.stderr();
    assert!(
        !stderr.contains("packet-in unavailable"),
        "switchd could not listen to psample:\n{stderr}"
    );
}
