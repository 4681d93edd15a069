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
use std::time::{Duration, Instant};

use regress::ofbench::Fleet;
use regress::Daemon;

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

/// The connection count of switchd's listener in `show summary`.
fn connections(d: &Daemon) -> Option<u64> {
    d.connections(d.port())
}

/// The datapath ids `show switches` lists (its first column, in hex).
fn switches(d: &Daemon) -> Vec<u64> {
    d.ctl_ok(&["show", "switches"])
        .lines()
        .skip(1)
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .collect()
}

#[test]
fn a_thousand_switches_are_served_at_once_and_switchd_outlives_them() {
    raise_own_nofile();
    let mut d = Daemon::builder()
        .soft_fd_limit(LOW_SOFT_LIMIT)
        .start()
        .expect("start switchd");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, d.port()));
    let base = 0x00c0_ffee_0000_0000;
    let mut fleet = match Fleet::connect(addr, SWITCHES, base, Duration::from_secs(120)) {
        Ok(f) => f,
        Err(e) => panic!(
            "connecting {SWITCHES} switches: {e}\nswitchd's stderr ends:\n{}",
            tail(&d.log())
        ),
    };

    assert_eq!(connections(&d), Some(SWITCHES.into()), "show summary");
    let shown = switches(&d);
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
    while connections(&d) != Some(0) || !switches(&d).is_empty() {
        assert!(
            Instant::now() < deadline,
            "switchd still lists {:?} connections after the switches closed",
            connections(&d)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(d.is_running(), "switchd exited:\n{}", tail(&d.log()));

    // Still serving: a new switch connects, is listed, and is answered.
    let mut late =
        Fleet::connect(addr, 1, 0x0bad_cafe, Duration::from_secs(20)).expect("a new switch");
    late.ping_each(Duration::from_secs(10))
        .expect("the new switch's packet-in answered");
    assert_eq!(switches(&d), vec![0x0bad_cafe]);
    assert!(
        !d.log().contains("Too many open files"),
        "switchd ran out of descriptors:\n{}",
        tail(&d.log())
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
