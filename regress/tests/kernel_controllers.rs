//! Kernel tier (the VM; `regress/run` runs this with `--include-ignored`): two real
//! controllers of one switch (OpenFlow 1.3 section 6.3.6), each an os-ken instance running
//! `regress/tests/osken/roles_13.py`: A asks to be master and lets ARP and IPv4 between h0
//! and h1 through; B asks to be slave and is refused the flow it tries (which would let
//! all IPv4 through). A is killed; B, promoted by ROLE_REQUEST (first with a stale
//! generation_id, refused, then a newer one), lets all IPv4 through, and h0 reaches h2.
//!
//! The same scenario runs against a local switch of switchd (two `forward to` lines) and
//! against an Open vSwitch bridge (two controllers), and both must give the same outcome.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;

use std::path::Path;

use common::LinkGuard;
use osken::{test_app, wait_long, OsKen};
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::ovs::Ovs;
use regress::workspace::TempDir;
use regress::{free_tcp_port, unique_name, Lan};

/// What runs the bridge under test: switchd or Open vSwitch, kept until the end.
enum Under {
    Switchd(Box<Daemon>, #[allow(dead_code)] LinkGuard),
    Ovs(Ovs),
}

impl Under {
    fn describe(&self) -> String {
        match self {
            Under::Switchd(d, _) => format!(
                "switchd log:\n{}\nswitchctl show flows ha:\n{}",
                d.log(),
                String::from_utf8_lossy(&d.ctl(&["show", "flows", "ha"]).stdout)
            ),
            Under::Ovs(o) => {
                let br = o.vsctl(&["list-br"]).unwrap_or_default();
                let br = br.trim();
                let log =
                    std::fs::read_to_string(o.dir().join("ovs-vswitchd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                format!(
                    "ovs flows:\n{}\novs controllers:\n{}\novs-vswitchd.log (last lines, newest first):\n{}",
                    o.ofctl(&["-O", "OpenFlow13", "dump-flows", br])
                        .unwrap_or_else(|e| e.to_string()),
                    o.vsctl(&["list", "controller"]).unwrap_or_else(|e| e.to_string()),
                    tail.join("\n")
                )
            }
        }
    }
}

fn start_switchd(lan: &Lan, a: u16, b: u16) -> Under {
    let br = LinkGuard(unique_name());
    let mut conf = format!("switch \"ha\" {{\n\tbridge \"{}\"\n", br.0);
    for (i, h) in lan.hosts.iter().enumerate() {
        conf += &format!("\tport \"{}\" number {}\n", h.port, i + 1);
    }
    conf += &format!(
        "\ttable-miss drop\n\tforward to tcp:127.0.0.1:{a}\n\tforward to tcp:127.0.0.1:{b}\n}}\n"
    );
    let d = Daemon::builder()
        .verbose()
        .config(&conf)
        .start()
        .expect("switchd");
    Under::Switchd(Box::new(d), br)
}

fn start_ovs(lan: &Lan, a: u16, b: u16) -> Under {
    // The private Open vSwitch's userspace datapath needs /dev/net/tun, which the VM
    // has once the tun module is loaded.
    if !Path::new("/dev/net/tun").exists() {
        let _ = regress::run_ok(&["modprobe", "tun"]);
    }
    let ovs = Ovs::start().expect("ovs");
    // As Ovs::add_bridge and add_port, but without waiting for ovs-vswitchd to apply each
    // change (its 10 s are too short in a loaded VM): the controllers' connections below
    // are waited for instead.
    let br = unique_name();
    let mut args: Vec<String> = ["--no-wait", "add-br", &br, "--", "set", "bridge", &br]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push("datapath_type=netdev".into());
    for (i, h) in lan.hosts.iter().enumerate() {
        args.extend(
            [
                "--",
                "add-port",
                &br,
                &h.port,
                "--",
                "set",
                "interface",
                &h.port,
            ]
            .map(String::from),
        );
        args.push(format!("ofport_request={}", i + 1));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ovs.vsctl(&args).expect("ovs bridge and ports");
    let (ta, tb) = (
        format!("target=\"tcp:127.0.0.1:{a}\""),
        format!("target=\"tcp:127.0.0.1:{b}\""),
    );
    ovs.vsctl(&[
        "--no-wait",
        "set",
        "bridge",
        &br,
        "protocols=OpenFlow13",
        "fail_mode=secure",
        "controller=@a,@b",
        "--",
        "--id=@a",
        "create",
        "controller",
        &ta,
        "connection_mode=out-of-band",
        "--",
        "--id=@b",
        "create",
        "controller",
        &tb,
        "connection_mode=out-of-band",
    ])
    .expect("ovs controllers");
    Under::Ovs(ovs)
}

fn has(k: &OsKen, line: &str) -> bool {
    k.notes().iter().any(|l| l == line)
}

fn failover(what: &str, start: fn(&Lan, u16, u16) -> Under) {
    let dir = TempDir::new(&format!("controllers-{what}"));
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1, h2) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let (dir_a, dir_b) = (dir.0.join("a"), dir.0.join("b"));
    for d in [&dir_a, &dir_b] {
        std::fs::create_dir_all(d).expect("dir");
    }
    let promote = dir.0.join("promote");
    let promote_s = promote.display().to_string();
    let allow = format!("{},{}", h0.ip, h1.ip);
    let app = test_app("roles_13.py");
    let pa = free_tcp_port().expect("port");
    let mut a = OsKen::start_with(
        &dir_a,
        "127.0.0.1",
        pa,
        &app,
        1,
        &[
            ("SWITCHD_REGRESS_ROLE", "master"),
            ("SWITCHD_REGRESS_ALLOW", &allow),
        ],
    );
    let pb = free_tcp_port().expect("port");
    let b = OsKen::start_with(
        &dir_b,
        "127.0.0.1",
        pb,
        &app,
        2,
        &[
            ("SWITCHD_REGRESS_ROLE", "slave"),
            ("SWITCHD_REGRESS_PROMOTE", &promote_s),
        ],
    );
    let under = start(&lan, pa, pb);
    // switchctl monitor, from the start: it takes a while to come up in the VM.
    let monitor = match &under {
        Under::Switchd(d, _) => Some(d.monitor().expect("switchctl monitor")),
        Under::Ovs(_) => None,
    };
    let logs = |a: &OsKen, b: &OsKen| {
        format!(
            "[{what}] controller A notes {:?}\ncontroller B notes {:?}\n{}\nos-ken A:\n{}\nos-ken B:\n{}",
            a.notes(),
            b.notes(),
            under.describe(),
            a.log_text(),
            b.log_text()
        )
    };

    // A is master and its flows are in; B is a slave and its flow was refused.
    assert!(
        wait_long(120, || has(&a, "role master 1")
            && has(&a, "barrier")
            && has(&b, "role slave 1")
            && has(&b, "barrier")),
        "the controllers did not take their roles\n{}",
        logs(&a, &b)
    );
    assert!(
        has(&b, "error type 1 code 10"),
        "the slave's FLOW_MOD was not refused with OFPBRC_IS_SLAVE\n{}",
        logs(&a, &b)
    );
    assert!(
        !a.notes().iter().any(|l| l.starts_with("error")),
        "the master got an error\n{}",
        logs(&a, &b)
    );
    assert!(
        h0.ns.ping_eventually(h1.ip, 20),
        "h0 -> h1 under the master's flows\n{}",
        logs(&a, &b)
    );
    assert!(
        !h0.ns.ping(h2.ip, 2),
        "h0 -> h2 passed: only the refused slave flow lets it\n{}",
        logs(&a, &b)
    );

    // The master goes away: its flows stay (fail secure), and nothing more passes.
    a.proc.stop();
    if let Under::Switchd(d, _) = &under {
        let closed = format!("connection to controller 127.0.0.1:{pa} closed");
        assert!(
            wait_long(60, || d.log().contains(&closed)),
            "switchd did not notice the master going\n{}",
            d.log()
        );
    }
    assert!(
        h0.ns.ping_eventually(h1.ip, 5),
        "h0 -> h1 without the master"
    );
    assert!(!h0.ns.ping(h2.ip, 2), "h0 -> h2 without the master");

    // B is promoted: a stale generation_id is refused, a newer one makes it master, and
    // its flow lets h0 reach h2; its backward goto_table is refused.
    std::fs::write(&promote, b"").expect("promote");
    assert!(
        wait_long(60, || has(&b, "role master 2")
            && b.notes().iter().filter(|l| *l == "barrier").count() >= 2),
        "the slave was not promoted\n{}",
        logs(&a, &b)
    );
    assert!(
        has(&b, "error type 11 code 0"),
        "a stale generation_id was not refused with OFPRRFC_STALE\n{}",
        logs(&a, &b)
    );
    assert!(
        h0.ns.ping_eventually(h2.ip, 20),
        "h0 -> h2 under the new master's flow\n{}",
        logs(&a, &b)
    );
    assert!(h0.ns.ping(h1.ip, 2), "h0 -> h1 under the new master");
    assert!(
        has(&b, "error type 3 code 2"),
        "goto_table:0 from table 0 was not refused with OFPBIC_BAD_TABLE_ID\n{}",
        logs(&a, &b)
    );
    // What switchd refused is counted and shown, in ovs-ofctl syntax with the reason.
    if let (Under::Switchd(d, _), Some(mut monitor)) = (&under, monitor) {
        let shown = d.ctl_ok(&["show", "refusals", "ha"]);
        println!("switchctl show refusals ha:\n{shown}");
        let rows: Vec<&str> = shown.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "two refusals:\n{shown}");
        assert!(
            rows[0].starts_with("ha ")
                && rows[0].contains(" add-flow  priority=50,ip actions=NORMAL ")
                && rows[0].contains("OFPBRC_IS_SLAVE"),
            "the slave's flow:\n{shown}"
        );
        assert!(
            rows[1].contains(" add-flow  priority=7,udp actions=goto_table:0 ")
                && rows[1].contains("OFPBIC_BAD_TABLE_ID"),
            "the backward goto_table:\n{shown}"
        );
        let counts: Vec<String> = d
            .rows("refusals")
            .into_iter()
            .map(|r| r[1].clone())
            .collect();
        assert_eq!(
            counts,
            ["1", "2"],
            "the count of each refusal (switchctl -j)"
        );
        monitor.stop();
        let seen = monitor.events();
        assert!(
            seen.contains(
                "switch ha refused a controller's add-flow \"priority=7,udp actions=goto_table:0\""
            ) && seen.contains("(2 refused so far)"),
            "monitor: {seen}"
        );
    }
    println!("[{what}] controller B notes: {:?}", b.notes());
    drop(under);
    drop(b);
}

#[test]
#[ignore = "kernel tier: needs cls_flower, act_sample and os-ken, runs in the VM"]
fn two_controllers_master_dies_and_the_promoted_slave_takes_over() {
    failover("switchd", start_switchd);
    failover("ovs", start_ovs);
}
