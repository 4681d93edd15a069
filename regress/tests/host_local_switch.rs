//! Host tier: switchd with a local switch on the host kernel. The bridge and its ports are
//! created or adopted as configured whatever the kernel; on a kernel without cls_flower
//! (ours) the switch is reported unavailable with the exact missing piece, and switchd
//! keeps serving external switches.

#[path = "common/local_switch.rs"]
mod common;

use common::{link_field, rows, Daemon, LinkGuard, TinySwitch};
use regress::net::LanSwitch;
use regress::{unique_name, Bridge, Lan, Netns};

/// Whether this kernel has cls_flower and gact, asked of `tc` in a namespace of our own
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

#[test]
fn a_local_switch_without_cls_flower_is_unavailable_and_external_switches_still_work() {
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let (p0, p1) = (&lan.hosts[0].port, &lan.hosts[1].port);
    assert_eq!(
        link_field(&br.0, "d['ifname']"),
        None,
        "the bridge exists already"
    );
    let d = Daemon::start(&format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{p0}\" number 5\n\tport \"{p1}\"\n\ttable-miss normal\n}}\n",
        br.0
    ));
    // The bridge is created, and the configured ports are its ports, up.
    d.wait_for("the bridge was not created with its ports", || {
        link_field(p0, "d['master']").as_deref() == Some(br.0.as_str())
            && link_field(p1, "d['master']").as_deref() == Some(br.0.as_str())
    });
    assert_eq!(
        link_field(&br.0, "d['linkinfo']['info_kind']").as_deref(),
        Some("bridge")
    );
    assert!(d
        .stderr()
        .lines()
        .any(|l| l == format!("datapath: local switch vm: created bridge {}", br.0)));

    if kernel_has_flower() {
        // A kernel with flower: the local switch connects like any switch.
        d.wait_for("the local switch did not connect", || {
            d.ctl_ok(&["show", "switches"]).contains("local:vm")
        });
    } else {
        d.wait_log(
            "datapath: local switch vm unavailable: kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)",
        );
        // Said once, not repeated.
        let n = d.stderr().matches("local switch vm unavailable").count();
        assert_eq!(n, 1, "{}", d.stderr());
        // Nothing to connect: switchctl says why.
        let out = d.ctl(&["connect", "vm", "forward", "to", "tcp:127.0.0.1:6653"]);
        assert!(!out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "switchctl: local switch vm is unavailable: kernel lacks cls_flower \
             (CONFIG_NET_CLS_FLOWER)\n"
        );
    }
    // switchctl connect and disconnect name local switches, and check the address.
    for (args, err) in [
        (
            &["disconnect", "nosuch"][..],
            "switchctl: there is no local switch \"nosuch\"\n",
        ),
        (
            &["connect", "nosuch"][..],
            "switchctl: there is no local switch \"nosuch\"\n",
        ),
    ] {
        let out = d.ctl(args);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), err, "{args:?}");
    }

    // An external switch still connects and is shown; the unavailable local one is shown
    // as not forwarding (host_fail_closed.rs tests that).
    let _sw = TinySwitch::connect(d.port(), 0xab);
    d.wait_for("the external switch is not shown", || {
        rows(&d.ctl_ok(&["show", "switches"]))
            .iter()
            .any(|r| r.first().map(String::as_str) == Some("00000000000000ab"))
    });
    let switches = d.ctl_ok(&["show", "switches"]);
    if !kernel_has_flower() {
        assert!(switches.contains("not forwarding"), "{switches}");
    }
    d.ctl_ok(&["show", "ports"]);
    drop(d);
    // The bridge stays after switchd (as Open vSwitch leaves its bridges); the guard
    // deletes it.
    assert!(link_field(&br.0, "d['ifname']").is_some());
}

#[test]
fn an_existing_bridge_is_adopted_and_a_port_that_appears_later_is_added() {
    let lan = Lan::new(1, LanSwitch::PortsOnly).expect("hosts");
    let br = Bridge::new(None).expect("bridge");
    let late = unique_name();
    let d = Daemon::start(&format!(
        "switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\"\n\tport \"{late}\" number 7\n}}\n",
        br.name, lan.hosts[0].port
    ));
    d.wait_log(&format!(
        "datapath: local switch vm: adopted bridge {}",
        br.name
    ));
    d.wait_for("the configured port was not enslaved", || {
        link_field(&lan.hosts[0].port, "d['master']").as_deref() == Some(br.name.as_str())
    });
    // A configured port that appears while switchd runs is enslaved when it appears.
    let peer = unique_name();
    regress::run_ok(&[
        "ip", "link", "add", &late, "type", "veth", "peer", "name", &peer,
    ])
    .expect("veth");
    let _late = LinkGuard(late.clone());
    d.wait_for("the late port was not enslaved", || {
        link_field(&late, "d['master']").as_deref() == Some(br.name.as_str())
    });
}

#[test]
fn reload_starts_and_stops_local_switches() {
    let lan = Lan::new(1, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let d = Daemon::start("");
    let base = std::fs::read_to_string(d.conf()).expect("config");
    std::fs::write(
        d.conf(),
        format!(
            "{base}switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\"\n}}\n",
            br.0, lan.hosts[0].port
        ),
    )
    .expect("write config");
    d.ctl_ok(&["reload"]);
    d.wait_for("reload did not create the bridge with its port", || {
        link_field(&lan.hosts[0].port, "d['master']").as_deref() == Some(br.0.as_str())
    });
    std::fs::write(d.conf(), &base).expect("write config");
    d.ctl_ok(&["reload"]);
    d.wait_log("datapath: local switch vm stopped");
}
