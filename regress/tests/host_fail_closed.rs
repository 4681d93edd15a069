//! Host tier: a local switch on a kernel that cannot enforce its flows (this host's kernel
//! has no cls_flower) fails closed: two namespaces on its ports do not reach each other,
//! also through a port added later and after someone brings the bridge up, and
//! `switchctl show switches`, the log and `switchd -n` say why. With `unenforced forward`
//! in its switch block the bridge forwards (plain bridge forwarding, no flow enforced).

use std::process::Command;
use std::time::Duration;

use regress::net::LanSwitch;
use regress::wait::wait_until;
use regress::{unique_name, workspace, Daemon, Lan, Netns};

/// Whether this kernel has cls_flower, asked of `tc` in a namespace of our own
/// (independently of switchd's probe).
fn kernel_has_flower() -> bool {
    let ns = Netns::new().expect("netns");
    ns.exec(&["tc", "qdisc", "add", "dev", "lo", "clsact"])
        .is_ok()
        && ns
            .exec(&[
                "tc", "filter", "add", "dev", "lo", "ingress", "flower", "action", "pass",
            ])
            .is_ok()
}

/// The bridge switchd creates, deleted however the test ends.
struct LinkGuard(String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// `ip -o link show dev NAME` (flags and alias), empty if there is no such link.
fn link_line(name: &str) -> String {
    let out = Command::new("ip")
        .args(["-o", "-d", "link", "show", "dev", name])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn admin_up(name: &str) -> bool {
    let l = link_line(name);
    let flags = l.split(['<', '>']).nth(1).unwrap_or_default();
    flags.split(',').any(|f| f == "UP")
}

fn master_of(name: &str) -> Option<String> {
    let l = link_line(name);
    let mut w = l.split_whitespace();
    w.find(|x| *x == "master")?;
    w.next().map(str::to_string)
}

/// `switchd -n -f FILE`: its status and stderr.
fn check(conf: &std::path::Path) -> (bool, String) {
    let out = Command::new(workspace::bin("switchd"))
        .args(["-n", "-f"])
        .arg(conf)
        .output()
        .expect("switchd -n");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn wait(d: &Daemon, what: &str, cond: impl FnMut() -> bool) {
    assert!(
        wait_until(Duration::from_secs(60), Duration::from_millis(50), cond),
        "{what}; switchd stderr:\n{}",
        d.log()
    );
}

fn wait_log(d: &Daemon, line: &str) {
    wait(d, &format!("no log line \"{line}\""), || {
        d.log().lines().any(|l| l == line)
    });
}

/// The `show switches` row of local switch `vm` (JSON rows), if any.
fn vm_row(d: &Daemon) -> Option<Vec<String>> {
    d.rows("switches")
        .into_iter()
        .find(|r| r.get(1).map(String::as_str) == Some("local:vm"))
}

#[test]
fn a_local_switch_whose_flows_cannot_be_enforced_does_not_forward_unless_told_to() {
    if kernel_has_flower() {
        eprintln!("this kernel has cls_flower: nothing fails closed here (the VM tier covers it)");
        return;
    }
    const WHY: &str = "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)";
    let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1, h2) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let br = LinkGuard(unique_name());
    let block = |extra: &str| {
        format!(
            "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\"\n\tport \"{}\"\n\
             \tflow \"priority=100,dl_type=0x0800,nw_proto=6,tp_dst=22,actions=drop\"\n{extra}}}\n",
            br.0, h0.port, h1.port
        )
    };
    let d = Daemon::builder()
        .verbose()
        .config(&block(""))
        .ready_within(Duration::from_secs(60))
        .start()
        .expect("start switchd");

    // switchd -n says it before anything runs.
    let (ok, said) = check(d.conf());
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!(
            "switchd: local switch vm: {WHY}: it will not forward (bridge {} held down; \
             unenforced forward in its switch block forwards without its flows)",
            br.0
        )),
        "{said}"
    );

    // The ports are the bridge's, the bridge is held down and says why, and the log too.
    wait(&d, "the configured ports were not enslaved", || {
        master_of(&h0.port).as_deref() == Some(br.0.as_str())
            && master_of(&h1.port).as_deref() == Some(br.0.as_str())
    });
    wait_log(
        &d,
        &format!(
            "datapath: local switch vm does not forward: its flows cannot be enforced ({WHY}); \
             bridge {} is held down (unenforced forward in its switch block forwards without \
             them)",
            br.0
        ),
    );
    wait(&d, "the bridge is not held down", || !admin_up(&br.0));
    assert!(
        link_line(&br.0).contains(&format!("alias switchd: held down: {WHY}")),
        "{}",
        link_line(&br.0)
    );
    assert!(
        !h0.ns.ping_eventually(h1.ip, 3),
        "a ping crossed the switch"
    );

    // show switches lists it, with why, in text and in JSON.
    let note = format!("not forwarding, bridge {} held down: {WHY}", br.0);
    wait(&d, "show switches does not list the switch", || {
        vm_row(&d).is_some()
    });
    let row = vm_row(&d).expect("row");
    assert_eq!(row[2..], ["-", "2", "-", note.as_str()], "{row:?}");
    let text = d.ctl_ok(&["show", "switches"]);
    assert!(text.contains(&note), "{text}");

    // Someone brings the bridge up: it is held down again.
    regress::run_ok(&["ip", "link", "set", &br.0, "up"]).expect("ip link set up");
    wait_log(
        &d,
        &format!(
            "datapath: local switch vm: bridge {} was brought up; held down again: {WHY}",
            br.0
        ),
    );
    wait(&d, "the bridge is not held down again", || !admin_up(&br.0));
    assert!(
        !h0.ns.ping_eventually(h1.ip, 2),
        "a ping crossed the switch"
    );

    // A port added later (by hand, not configured) does not forward either.
    regress::run_ok(&["ip", "link", "set", &h2.port, "master", &br.0]).expect("enslave");
    wait(&d, "the late port is not counted", || {
        vm_row(&d).is_some_and(|r| r[3] == "3")
    });
    assert!(
        !h0.ns.ping_eventually(h2.ip, 2),
        "a ping reached the late port"
    );

    // The operator opts in: the bridge forwards as a plain bridge.
    d.write_config(
        &d.config()
            .clone()
            .with_extra(&block("\tunenforced forward\n"))
            .text(),
    );
    let (ok, said) = check(d.conf());
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!(
            "switchd: local switch vm: {WHY}: it will forward without enforcing its flows \
             (unenforced forward)"
        )),
        "{said}"
    );
    d.ctl_ok(&["reload"]);
    wait_log(
        &d,
        &format!(
            "datapath: local switch vm forwards without enforcing its flows \
             (unenforced forward): {WHY}"
        ),
    );
    wait_log(
        &d,
        &format!(
            "datapath: local switch vm: bridge {}, held down by an earlier run, is up again",
            br.0
        ),
    );
    assert!(admin_up(&br.0));
    assert!(!link_line(&br.0).contains("alias"), "{}", link_line(&br.0));
    assert!(
        h0.ns.ping_eventually(h1.ip, 10),
        "no ping across the switch"
    );
    assert!(h0.ns.ping_eventually(h2.ip, 10), "no ping to the late port");
    wait(&d, "show switches does not say it forwards", || {
        vm_row(&d).is_some_and(|r| {
            r[5] == format!("forwarding without its flows (unenforced forward): {WHY}")
        })
    });

    // Without the switch the row goes (the bridge stays as it is).
    d.write_config(&d.config().clone().with_extra("").text());
    d.ctl_ok(&["reload"]);
    wait_log(&d, "datapath: local switch vm stopped");
    wait(&d, "show switches still lists the switch", || {
        vm_row(&d).is_none()
    });
}
