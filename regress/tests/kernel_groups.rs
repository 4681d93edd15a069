//! Kernel tier: OpenFlow 1.3 groups (section 5.6) on a local switch, shown with packets,
//! and the same groups on an Open vSwitch bridge in the same test with the same outcome.
//!
//! Four namespaced hosts on OpenFlow ports 1 to 4. The local switch is handed to a small
//! controller of the test's own (`forward to`), which sends the GROUP_MODs and FLOW_MODs;
//! the Open vSwitch bridge (kernel datapath, openvswitch.ko, fail mode secure) gets the same text
//! through `ovs-ofctl -O OpenFlow13 add-group` / `add-flow`. ofproto's `parse_group` reads
//! the `ovs-ofctl add-group` syntax, so both are given the very same strings.
//!
//! Hosts 1 and 2 (ports 2 and 3) share a MAC address and the address 10.77.0.100, a
//! service that either of them answers: fast failover moves it from one to the other.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/ofswitch.rs"]
mod ofswitch;

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use common::{Daemon, LinkGuard};
use ofproto::v13::{self, GroupModCommand, Message};
use ofswitch::Controller;
use regress::net::LanSwitch;
use regress::{unique_name, Lan, Netns, Ovs};

const SERVICE: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

/// A switch under test: the local switch (through the controller) or Open vSwitch.
enum Sw {
    Local {
        d: Daemon,
        /// Boxed: it holds the packet-ins it collects.
        c: Box<Controller>,
        _br: LinkGuard,
    },
    Ovs(OvsBridge),
}

/// An Open vSwitch bridge of the kernel datapath, deleted (and with it its kernel ports)
/// before Open vSwitch stops.
struct OvsBridge {
    ovs: Ovs,
    br: String,
}

impl Drop for OvsBridge {
    fn drop(&mut self) {
        let _ = self.ovs.vsctl(&["--if-exists", "del-br", &self.br]);
        let _ = regress::run_ok(&["ip", "link", "del", &self.br]);
    }
}

/// The switch and its hosts; host i is on port i+1.
struct Rig {
    sw: Sw,
    lan: Lan,
}

impl Rig {
    fn lan() -> Lan {
        let lan = Lan::new(4, LanSwitch::PortsOnly).expect("hosts");
        // Hosts 1 and 2: one MAC, one service address besides their own.
        let mac = lan.hosts[1].mac.clone();
        let h2 = &lan.hosts[2].ns;
        h2.ip(&["link", "set", "eth0", "down"]).expect("down");
        h2.ip(&["link", "set", "eth0", "address", &mac])
            .expect("MAC");
        h2.ip(&["link", "set", "eth0", "up"]).expect("up");
        for h in &lan.hosts[1..3] {
            h.ns.ip(&["addr", "add", "10.77.0.100/32", "dev", "eth0"])
                .expect("service address");
        }
        lan
    }

    fn local() -> Rig {
        let lan = Rig::lan();
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("address").port();
        let br = LinkGuard(unique_name());
        let mut conf = format!("switch \"vm\" {{\n\tbridge \"{}\"\n", br.0);
        for (i, h) in lan.hosts.iter().enumerate() {
            conf += &format!("\tport \"{}\" number {}\n", h.port, i + 1);
        }
        conf += &format!("\ttable-miss drop\n\tforward to tcp:127.0.0.1:{port}\n}}\n");
        let d = Daemon::start(&conf);
        let c = Controller::accept(&listener, || d.stderr());
        let mut rig = Rig {
            sw: Sw::Local {
                d,
                c: Box::new(c),
                _br: br,
            },
            lan,
        };
        // The ports are in the switch once a flow to each is taken (BAD_OUT_PORT before).
        let deadline = Instant::now() + Duration::from_secs(60);
        while rig
            .flow_result("priority=1,in_port=4,actions=output:1")
            .is_err()
        {
            assert!(Instant::now() < deadline, "the ports did not appear");
            std::thread::sleep(Duration::from_millis(200));
        }
        rig
    }

    /// The same hosts on an Open vSwitch bridge of the kernel datapath (openvswitch.ko,
    /// `datapath_type=system`), fail mode secure, no flows.
    fn ovs() -> Rig {
        let lan = Rig::lan();
        // Loaded on demand, as the distribution's init script does; built in elsewhere.
        let _ = regress::run_ok(&["modprobe", "openvswitch"]);
        // A cold VM is slow to start the daemons; once more if it was too slow.
        let ovs = (0..2)
            .find_map(|n| match Ovs::start() {
                Ok(o) => Some(o),
                Err(e) => {
                    println!("Open vSwitch start {n}: {e}");
                    None
                }
            })
            .expect("start Open vSwitch");
        let br = unique_name();
        // --no-wait: the VM is slow, and ovs-vswitchd makes the bridge in its own time.
        let mut args = vec![
            "--no-wait",
            "add-br",
            &br,
            "--",
            "set",
            "bridge",
            &br,
            "datapath_type=system",
            "protocols=OpenFlow13",
            "fail_mode=secure",
        ];
        let ports: Vec<(String, String)> = lan
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.port.clone(), format!("ofport_request={}", i + 1)))
            .collect();
        for (p, req) in &ports {
            args.extend(["--", "add-port", &br, p, "--", "set", "interface", p, req]);
        }
        ovs.vsctl(&args).expect("bridge and ports");
        let guard = OvsBridge { ovs, br };
        let ready =
            regress::wait::wait_until(Duration::from_secs(90), Duration::from_millis(200), || {
                guard
                    .ovs
                    .ofctl(&["-O", "OpenFlow13", "dump-ports-desc", &guard.br])
                    .is_ok_and(|d| lan.hosts.iter().all(|h| d.contains(&h.port)))
            });
        assert!(ready, "Open vSwitch bridge {} did not come up", guard.br);
        guard
            .ovs
            .ofctl(&["-O", "OpenFlow13", "del-flows", &guard.br])
            .expect("del-flows");
        Rig {
            sw: Sw::Ovs(guard),
            lan,
        }
    }

    fn name(&self) -> &'static str {
        match self.sw {
            Sw::Local { .. } => "switchd",
            Sw::Ovs(_) => "Open vSwitch",
        }
    }

    fn log(&self) -> String {
        match &self.sw {
            Sw::Local { d, .. } => format!("switchd stderr:\n{}", d.stderr()),
            Sw::Ovs(_) => String::new(),
        }
    }

    fn h(&self, i: usize) -> &Netns {
        &self.lan.hosts[i].ns
    }

    fn flow_result(&mut self, text: &str) -> Result<(), String> {
        match &mut self.sw {
            Sw::Local { c, .. } => {
                let fm =
                    ofproto::text::parse_flow(text, v13::FlowModCommand::Add).expect("flow syntax");
                c.request(Message::FlowMod(fm))
                    .map_err(|e| format!("OpenFlow error {e:?}"))
            }
            Sw::Ovs(OvsBridge { ovs, br }) => ovs
                .ofctl(&["-O", "OpenFlow13", "add-flow", br, text])
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    fn flow(&mut self, text: &str) {
        let r = self.flow_result(text);
        assert!(
            r.is_ok(),
            "{}: add-flow {text}: {r:?}\n{}",
            self.name(),
            self.log()
        );
        println!("{}: flow {text}", self.name());
    }

    /// add-group, mod-group or del-groups (by `cmd`) of `text`; the OpenFlow error
    /// (type, code) for the local switch, the command's error for Open vSwitch.
    fn group_result(&mut self, cmd: GroupModCommand, text: &str) -> Result<(), String> {
        match &mut self.sw {
            Sw::Local { c, .. } => {
                let gm = ofproto::text::parse_group(text, cmd).expect("group syntax");
                c.request(Message::GroupMod(gm))
                    .map_err(|(t, code)| format!("OpenFlow error type {t} code {code}"))
            }
            Sw::Ovs(OvsBridge { ovs, br }) => {
                let verb = match cmd {
                    GroupModCommand::Add => "add-group",
                    GroupModCommand::Modify | GroupModCommand::AddOrModify => "mod-group",
                    GroupModCommand::Delete => "del-groups",
                };
                ovs.ofctl(&["-O", "OpenFlow13", verb, br, text])
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }

    fn group(&mut self, cmd: GroupModCommand, text: &str) {
        let r = self.group_result(cmd, text);
        assert!(
            r.is_ok(),
            "{}: {cmd:?} {text}: {r:?}\n{}",
            self.name(),
            self.log()
        );
        println!("{}: group {cmd:?} {text}", self.name());
    }

    /// Packets through group `id` as the switch counts them.
    fn group_packets(&mut self, id: u32) -> u64 {
        match &mut self.sw {
            Sw::Local { c, .. } => c.group_stats(id).0,
            Sw::Ovs(OvsBridge { ovs, br }) => {
                let out = ovs
                    .ofctl(&[
                        "-O",
                        "OpenFlow13",
                        "dump-group-stats",
                        br,
                        &format!("group_id={id}"),
                    ])
                    .expect("dump-group-stats");
                out.split("packet_count=")
                    .nth(1)
                    .and_then(|s| s.split(',').next())
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no packet_count in {out}"))
            }
        }
    }

    /// Keep the controller connection answered between phases (echoes, port status).
    fn settle(&mut self) {
        if let Sw::Local { c, .. } = &mut self.sw {
            let _ = c.request(Message::BarrierRequest);
        }
    }

    #[track_caller]
    fn pings(&self, from: usize, to: Ipv4Addr, why: &str) {
        assert!(
            self.h(from).ping_eventually(to, 6),
            "{}: {why}\n{}",
            self.name(),
            self.log()
        );
    }

    #[track_caller]
    fn never_pings(&self, from: usize, to: Ipv4Addr, why: &str) {
        assert!(
            !self.h(from).ping(to, 1) && !self.h(from).ping(to, 1),
            "{}: {why}\n{}",
            self.name(),
            self.log()
        );
    }

    /// Packets host `i`'s eth0 received (what `ip -s link` shows).
    fn rx(&self, i: usize) -> u64 {
        let out = self
            .h(i)
            .ip(&["-s", "-j", "link", "show", "dev", "eth0"])
            .expect("ip -s link");
        out.split("\"rx\":{")
            .nth(1)
            .and_then(|s| s.split("\"packets\":").nth(1))
            .and_then(|s| s.split([',', '}']).next())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no rx packets in {out}"))
    }

    /// `n` pings from host 0 to `to`, 0.2 s apart (answered or not).
    fn burst(&self, to: Ipv4Addr, n: u32) {
        let _ = self.h(0).exec(&[
            "ping",
            "-n",
            "-q",
            "-c",
            &n.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            &to.to_string(),
        ]);
    }

    fn ip(&self, i: usize) -> Ipv4Addr {
        self.lan.hosts[i].ip
    }

    /// The switch-side end of host `i`'s link, up or down (`ip link set … down`).
    fn port_link(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        regress::run_ok(&["ip", "link", "set", &self.lan.hosts[i].port, state])
            .expect("ip link set");
        println!("{}: port {} {state}", self.name(), i + 1);
    }
}

/// Every group type, in order, on one switch: what each test below asserts for both.
fn all_then_indirect_then_fast_failover(r: &mut Rig) {
    // Replies come back to host 0 from every other port.
    for p in 2..=4 {
        r.flow(&format!("priority=10,in_port={p},actions=output:1"));
    }
    // ALL: host 0's packets go to ports 2, 3 and 4, each a copy.
    r.group(
        GroupModCommand::Add,
        "group_id=1,type=all,bucket=output:2,bucket=output:3,bucket=output:4",
    );
    r.flow("priority=10,in_port=1,actions=group:1");
    for i in 1..4 {
        r.pings(0, r.ip(i), "no ping through an ALL group to every port");
    }
    let before: Vec<u64> = (1..4).map(|i| r.rx(i)).collect();
    r.burst(r.ip(1), 10);
    let after: Vec<u64> = (1..4).map(|i| r.rx(i)).collect();
    for (k, (a, b)) in after.iter().zip(&before).enumerate() {
        assert!(
            a - b >= 10,
            "{}: host {} got {} of 10 pings to host 1 through the ALL group\n{}",
            r.name(),
            k + 1,
            a - b,
            r.log()
        );
    }
    r.settle();
    let through = r.group_packets(1);
    assert!(
        through >= 10,
        "{}: group 1 counted {through} packets\n{}",
        r.name(),
        r.log()
    );

    // Modify: the group becomes INDIRECT to port 2 only; the flow follows it.
    r.group(
        GroupModCommand::Modify,
        "group_id=1,type=indirect,bucket=output:2",
    );
    r.pings(0, r.ip(1), "no ping to port 2 through the INDIRECT group");
    r.never_pings(0, r.ip(3), "host 3 reached after the group left it");
    let before = r.rx(3);
    r.burst(r.ip(1), 5);
    // Fewer than the 5 pings: the bridge device's own packets (IPv6 router
    // solicitations) may reach every host on a local switch.
    assert!(
        r.rx(3) - before < 5,
        "{}: host 3 still gets host 0's packets\n{}",
        r.name(),
        r.log()
    );
    r.settle();

    // FAST_FAILOVER: the service address, on port 2 while it is up, else on port 3.
    r.group(
        GroupModCommand::Add,
        "group_id=2,type=ff,bucket=watch_port:2,output:2,bucket=watch_port:3,output:3",
    );
    r.flow("priority=10,in_port=1,actions=group:2");
    r.pings(0, SERVICE, "no ping to the service through port 2");
    let (h1, h2) = (r.rx(1), r.rx(2));
    r.burst(SERVICE, 5);
    assert!(
        r.rx(1) - h1 >= 5 && r.rx(2) - h2 < 5,
        "{}: the service is not served by host 1 alone\n{}",
        r.name(),
        r.log()
    );
    r.port_link(1, false);
    r.settle();
    r.pings(0, SERVICE, "no ping to the service after port 2 went down");
    let h2 = r.rx(2);
    r.burst(SERVICE, 5);
    assert!(
        r.rx(2) - h2 >= 5,
        "{}: host 2 does not serve after the failover\n{}",
        r.name(),
        r.log()
    );
    r.port_link(1, true);
    r.settle();
    // Back on port 2 once its link is up again (the carrier takes a moment).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (h1, h2) = (r.rx(1), r.rx(2));
        r.burst(SERVICE, 3);
        if r.rx(1) - h1 >= 3 && r.rx(2) - h2 < 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the service did not move back to port 2\n{}",
            r.name(),
            r.log()
        );
    }
    r.settle();

    // ALL with a bucket that changes the packet: a VLAN 10 tag pushed for port 4, and the
    // plain copy for port 2, which must arrive untagged. Host 3 answers only on its VLAN
    // device (10.77.10.4 on eth0.10; strict reverse-path filter, ARP only on the
    // interface that has the address); host 1 has no VLAN device and drops a tagged frame.
    let h3 = r.h(3);
    h3.ip(&[
        "link", "add", "link", "eth0", "name", "eth0.10", "type", "vlan", "id", "10",
    ])
    .expect("VLAN device");
    h3.ip(&["addr", "add", "10.77.10.4/24", "dev", "eth0.10"])
        .expect("VLAN address");
    h3.ip(&["link", "set", "eth0.10", "up"]).expect("VLAN up");
    for k in ["rp_filter=1", "arp_ignore=1"] {
        h3.exec(&["sysctl", "-q", "-w", &format!("net.ipv4.conf.all.{k}")])
            .expect("sysctl");
    }
    r.h(0)
        .ip(&["addr", "add", "10.77.10.1/24", "dev", "eth0"])
        .expect("address");
    r.group(
        GroupModCommand::Add,
        "group_id=3,type=all,bucket=push_vlan:0x8100,set_field:4106->vlan_vid,output:4,bucket=output:2",
    );
    // Open vSwitch wants the tag matched before pop_vlan (an OXM prerequisite).
    r.flow("priority=11,in_port=4,dl_vlan=10,actions=pop_vlan,output:1");
    r.flow("priority=10,in_port=1,actions=group:3");
    r.pings(
        0,
        Ipv4Addr::new(10, 77, 10, 4),
        "no ping to host 3's VLAN 10 through the tagging bucket",
    );
    r.pings(
        0,
        r.ip(1),
        "no ping to host 1 through the plain bucket after a tagging one",
    );
    r.settle();

    // Deleting the group deletes the flow that uses it: nothing from host 0 passes.
    r.group(GroupModCommand::Delete, "group_id=3");
    r.never_pings(0, r.ip(1), "host 1 still reached with its group deleted");
    r.never_pings(
        0,
        Ipv4Addr::new(10, 77, 10, 4),
        "host 3's VLAN still reached with its group deleted",
    );
    r.settle();
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn all_indirect_and_fast_failover_groups_forward_as_in_open_vswitch() {
    let mut local = Rig::local();
    all_then_indirect_then_fast_failover(&mut local);
    drop(local);
    let mut ovs = Rig::ovs();
    all_then_indirect_then_fast_failover(&mut ovs);
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn select_groups_are_refused_and_errors_are_the_specifications() {
    let mut r = Rig::local();
    // SELECT: OFPGMFC_BAD_TYPE (type 6, code 10) and a sentence in the log.
    let e = r.group_result(
        GroupModCommand::Add,
        "group_id=3,type=select,bucket=output:2,bucket=output:3",
    );
    assert_eq!(e, Err("OpenFlow error type 6 code 10".into()));
    if let Sw::Local { d, .. } = &r.sw {
        d.wait_for("no log line for the refused select group", || {
            d.stderr()
                .contains("group_mod refused: group 3: select groups are not supported")
        });
    }
    // A flow to a group that does not exist: OFPBAC_BAD_OUT_GROUP (2, 9).
    let e = r.flow_result("priority=5,in_port=1,actions=group:42");
    assert_eq!(e, Err("OpenFlow error (2, 9)".into()));
    // The same group twice: OFPGMFC_GROUP_EXISTS (6, 0); modify of a missing one:
    // OFPGMFC_UNKNOWN_GROUP (6, 8); a chain into itself: OFPGMFC_LOOP (6, 7).
    r.group(
        GroupModCommand::Add,
        "group_id=4,type=indirect,bucket=output:2",
    );
    let e = r.group_result(
        GroupModCommand::Add,
        "group_id=4,type=indirect,bucket=output:2",
    );
    assert_eq!(e, Err("OpenFlow error type 6 code 0".into()));
    let e = r.group_result(
        GroupModCommand::Modify,
        "group_id=5,type=all,bucket=output:2",
    );
    assert_eq!(e, Err("OpenFlow error type 6 code 8".into()));
    r.group(GroupModCommand::Add, "group_id=5,type=all,bucket=group:4");
    let e = r.group_result(
        GroupModCommand::Modify,
        "group_id=4,type=indirect,bucket=group:5",
    );
    assert_eq!(e, Err("OpenFlow error type 6 code 7".into()));
    // Chaining works: 5 -> 4 -> port 2; replies from 2 back to 1.
    r.flow("priority=10,in_port=2,actions=output:1");
    r.flow("priority=10,in_port=1,actions=group:5");
    r.pings(0, r.ip(1), "no ping through a chained group");
    // Open vSwitch takes the select group (it picks buckets in userspace).
    drop(r);
    let mut o = Rig::ovs();
    o.group(
        GroupModCommand::Add,
        "group_id=3,type=select,bucket=output:2,bucket=output:3",
    );
}
