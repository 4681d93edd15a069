//! Host tier: one switchd serving 1,000 switches at once. The switches are ofbench's
//! emulated OpenFlow 1.3 switches (`regress::ofbench::Fleet`) over loopback TCP: every one
//! completes the handshake, `switchctl show` counts all of them by datapath id, a
//! PACKET_IN on each is answered, and once they are all gone switchd still serves a new
//! one.
//!
//! switchd is started with a soft descriptor limit of 256 (the hard limit stays as it is):
//! it must raise the soft limit itself, as switchd(8) says, or the ofp process could not
//! hold 1,000 connections.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use regress::ofbench::Fleet;
use regress::workspace::{bin, ensure_user, TempDir};
use regress::{free_tcp_port, Proc};

const USER: &str = "_switchd";
const SWITCHES: u32 = 1000;
/// Soft RLIMIT_NOFILE switchd is started with: far below what 1,000 switches need.
const LOW_SOFT_LIMIT: libc::rlim_t = 256;

fn nofile() -> libc::rlimit {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) }, 0);
    l
}

/// This process holds one descriptor per emulated switch.
fn raise_own_nofile() {
    let mut l = nofile();
    assert!(
        l.rlim_max >= libc::rlim_t::from(SWITCHES) + 128,
        "the hard descriptor limit ({}) is too low for {SWITCHES} switches",
        l.rlim_max
    );
    l.rlim_cur = l.rlim_max;
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) }, 0);
}

struct Daemon {
    proc: Proc,
    sock: PathBuf,
    stderr: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        ensure_user(USER);
        let dir = TempDir::new("switchd-many");
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).expect("mkdir chroot");
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod chroot");
        let sock = dir.0.join("switchd.sock");
        let conf = dir.0.join("switchd.conf");
        let stderr = dir.0.join("stderr");
        let port = free_tcp_port().expect("free port");
        std::fs::write(
            &conf,
            format!(
                "listen on 127.0.0.1 port {port}\nsocket \"{}\"\nuser \"{USER}\"\nchroot \"{}\"\n",
                sock.display(),
                chroot.display()
            ),
        )
        .expect("write config");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let mut cmd = Command::new(bin("switchd"));
        cmd.arg("-d")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        let hard = nofile().rlim_max;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: LOW_SOFT_LIMIT,
                    rlim_max: hard,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let proc = Proc::spawn("switchd", &mut cmd).expect("start switchd");
        let d = Daemon {
            proc,
            sock,
            stderr,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(d.sock.exists() && d.ctl(&["show", "summary"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "switchd did not come up; stderr:\n{}",
                d.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run switchctl")
    }

    fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "switchctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The connection count of our listener in `show summary`.
    fn connections(&self) -> Option<u32> {
        let listener = format!("127.0.0.1:{}", self.port);
        self.ctl_ok(&["show", "summary"]).lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(listener.as_str()))
                .then(|| w.next()?.parse().ok())
                .flatten()
        })
    }

    /// The datapath ids `show switches` lists (its first column, in hex).
    fn switches(&self) -> Vec<u64> {
        self.ctl_ok(&["show", "switches"])
            .lines()
            .skip(1)
            .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
            .collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

#[test]
fn a_thousand_switches_are_served_at_once_and_switchd_outlives_them() {
    raise_own_nofile();
    let mut d = Daemon::start();
    let base = 0x00c0_ffee_0000_0000;
    let mut fleet = match Fleet::connect(d.addr(), SWITCHES, base, Duration::from_secs(120)) {
        Ok(f) => f,
        Err(e) => panic!(
            "connecting {SWITCHES} switches: {e}\nswitchd's stderr ends:\n{}",
            tail(&d.stderr())
        ),
    };

    assert_eq!(d.connections(), Some(SWITCHES), "show summary");
    let shown = d.switches();
    let distinct: HashSet<u64> = shown.iter().copied().collect();
    let expected: HashSet<u64> = fleet.datapath_ids().into_iter().collect();
    assert_eq!(shown.len(), SWITCHES as usize, "rows of show switches");
    assert_eq!(
        distinct, expected,
        "show switches lists every datapath id once"
    );
    // Answer the echoes that may have come while switchctl ran.
    fleet
        .serve_for(Duration::from_millis(100))
        .expect("serving");

    // Every switch had its destination's PACKET_IN answered (a flood) to become ready; now
    // one PACKET_IN towards that destination from each, answered with FLOW_MOD + PACKET_OUT.
    if let Err(e) = fleet.ping_each(Duration::from_secs(60)) {
        panic!(
            "packet-ins not answered: {e}; unanswered: {:x?}",
            fleet.unanswered()
        );
    }
    assert!(fleet.unanswered().is_empty());

    drop(fleet);
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.connections() != Some(0) || !d.switches().is_empty() {
        assert!(
            Instant::now() < deadline,
            "switchd still lists {:?} connections after the switches closed",
            d.connections()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        d.proc.is_running(),
        "switchd exited:\n{}",
        tail(&d.stderr())
    );

    // Still serving: a new switch connects, is listed, and is answered.
    let mut late =
        Fleet::connect(d.addr(), 1, 0x0bad_cafe, Duration::from_secs(20)).expect("a new switch");
    late.ping_each(Duration::from_secs(10))
        .expect("the new switch's packet-in answered");
    assert_eq!(d.switches(), vec![0x0bad_cafe]);
    assert!(
        !d.stderr().contains("Too many open files"),
        "switchd ran out of descriptors:\n{}",
        tail(&d.stderr())
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
