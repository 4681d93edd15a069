//! Kernel tier (the VM; `regress/run` runs this with `--include-ignored`): Faucet 1.10.12,
//! a production OpenFlow 1.3 controller installed from PyPI by `regress/setup`, drives a
//! local switch through `forward to` and, in the same run and from the same faucet.yaml, an
//! Open vSwitch bridge on its kernel datapath (openvswitch.ko, `datapath_type=system`).
//! Both switches get the same hosts and the same packets, and must give the same outcomes:
//!
//! - port 1 (h1), 2 (h2, with an ACL that drops TCP and allows the rest), 5 and 6 (the
//!   mover) are untagged ports of VLAN 100 (office); port 3 (h3) of VLAN 200 (guest);
//!   port 4 is a trunk tagged in both, with a host of each VLAN behind it (t100, t200);
//! - every host has an address in 10.77.0.0/24, so that only the switch keeps the VLANs
//!   apart;
//! - reachability within a VLAN, untagged and across the trunk; isolation across VLANs;
//!   TCP dropped by the ACL where ping passes; a host that moves from port 5 to port 6;
//! - Faucet's own log shows no OFPT_ERROR from either switch.
//!
//! Gauge, Faucet's statistics poller, is each switch's second controller (a second
//! `forward to`; a second OVS controller target), as Faucet's documentation sets it up. It
//! polls port and flow statistics from both switches; what a user reads from it must be
//! the same for both: its text and Prometheus port counters grow by at least the pings
//! sent through a port, its flow packet counters of Faucet's VLAN table for that port
//! grow likewise, its flow table dumps hold Faucet's flows in the same tables, and no
//! switch sends it an OFPT_ERROR. (Gauge 1.10.12 has no table statistics watcher: its
//! types are port_state, port_stats, flow_table and meter_stats.)
//!
//! One Faucet and one Gauge serve both switches (two datapaths in one faucet.yaml), one VM
//! boot serves both: their start under emulation (about a minute) is paid once, and the
//! two start side by side.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/faucet.rs"]
mod faucet;
#[path = "common/gauge.rs"]
mod gauge;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::LinkGuard;
use faucet::{wait_long, App, Faucet};
use gauge::{dump_flows, prom_sum, GaugeConf};
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::workspace::TempDir;
use regress::{free_tcp_port, run_ok, unique_name, Lan, Netns, Ovs, VethPair};

/// The datapath ids Faucet knows the two switches by.
const SWITCHD_DPID: u64 = 0x5d01;
const OVS_DPID: u64 = 0x0e01;

const H1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const H2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const H3: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const T100: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 4);
const T200: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
const MOVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 6);
const TCP_PORT: u16 = 5007;

/// One datapath of faucet.yaml; both switches get exactly this text.
fn dp_yaml(name: &str, dpid: u64) -> String {
    format!(
        "    {name}:
        dp_id: 0x{dpid:x}
        hardware: \"Open vSwitch\"
        interfaces:
            1:
                native_vlan: office
            2:
                native_vlan: office
                acls_in: [no-tcp]
            3:
                native_vlan: guest
            4:
                tagged_vlans: [office, guest]
            5:
                native_vlan: office
            6:
                native_vlan: office
"
    )
}

fn faucet_yaml() -> String {
    format!(
        "vlans:
    office:
        vid: 100
    guest:
        vid: 200
acls:
    no-tcp:
        - rule:
            dl_type: 0x800
            nw_proto: 6
            actions:
                allow: 0
        - rule:
            actions:
                allow: 1
dps:
{}{}",
        dp_yaml("switchd", SWITCHD_DPID),
        dp_yaml("ovs", OVS_DPID)
    )
}

/// The hosts of one switch. The switch's ports, in OpenFlow port order 1..6, are the
/// root-namespace ends in [`Site::ports`].
struct Site {
    lan: Lan,
    trunk: VethPair,
    _trunk_ns: Netns,
    t100: Netns,
    _t200: Netns,
    mover: Netns,
    m5: VethPair,
    m6: VethPair,
}

impl Site {
    fn new() -> Site {
        let lan = Lan::new(3, LanSwitch::PortsOnly).expect("hosts h1 h2 h3");
        let trunk_ns = Netns::new().expect("trunk namespace");
        let trunk = VethPair::new(None, Some(&trunk_ns)).expect("trunk veth");
        let t100 = Netns::new().expect("t100");
        let t200 = Netns::new().expect("t200");
        // A VLAN device on the trunk for each VLAN, each moved into a namespace of its own
        // (its lower device stays in the trunk's).
        for (vid, ns, ip) in [(100, &t100, T100), (200, &t200, T200)] {
            let dev = format!("v{vid}");
            let id = vid.to_string();
            trunk_ns
                .ip(&[
                    "link", "add", "link", &trunk.b, "name", &dev, "type", "vlan", "id", &id,
                ])
                .expect("vlan device");
            trunk_ns
                .ip(&["link", "set", &dev, "netns", ns.name()])
                .expect("move vlan device");
            ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", &dev])
                .expect("ip");
            ns.ip(&["link", "set", &dev, "up"]).expect("ip");
        }
        // The mover: one namespace with a veth on port 5 and one on port 6 that has the
        // same MAC address; the address lives on the port-5 one until the move.
        let mover = Netns::new().expect("mover");
        let m5 = VethPair::new(None, Some(&mover)).expect("mover veth 5");
        let m6 = VethPair::new(None, Some(&mover)).expect("mover veth 6");
        let mac = mover
            .ip(&["-br", "link", "show", "dev", &m5.b])
            .expect("ip")
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string();
        mover.ip(&["link", "set", &m6.b, "down"]).expect("ip");
        mover
            .ip(&["link", "set", &m6.b, "address", &mac])
            .expect("ip");
        mover
            .ip(&["addr", "add", &format!("{MOVER}/24"), "dev", &m5.b])
            .expect("ip");
        for (ns, ip) in [(&lan.hosts[1].ns, H2), (&t100, T100)] {
            ns.tcp_listen(SocketAddr::from((ip, TCP_PORT)))
                .expect("tcp listener");
        }
        Site {
            lan,
            trunk,
            _trunk_ns: trunk_ns,
            t100,
            _t200: t200,
            mover,
            m5,
            m6,
        }
    }

    fn ports(&self) -> [&str; 6] {
        let h = &self.lan.hosts;
        [
            &h[0].port,
            &h[1].port,
            &h[2].port,
            &self.trunk.a,
            &self.m5.a,
            &self.m6.a,
        ]
    }

    fn h(&self, i: usize) -> &Netns {
        &self.lan.hosts[i].ns
    }

    /// The mover leaves port 5 for port 6 (a VM migrated): the port-5 link goes down, the
    /// same MAC and address come up on port 6.
    fn move_host(&self) {
        let (b5, b6) = (&self.m5.b, &self.m6.b);
        self.mover.ip(&["link", "set", b5, "down"]).expect("ip");
        self.mover.ip(&["addr", "flush", "dev", b5]).expect("ip");
        self.mover
            .ip(&["addr", "add", &format!("{MOVER}/24"), "dev", b6])
            .expect("ip");
        self.mover.ip(&["link", "set", b6, "up"]).expect("ip");
    }
}

/// An outcome: what was tried, whether it should work, whether it did.
struct Outcome {
    what: &'static str,
    want: bool,
    got: bool,
}

fn tcp(from: &Netns, to: Ipv4Addr) -> bool {
    // A couple of tries: the first SYN may go to the controller while Faucet learns.
    (0..3).any(|_| from.tcp_reaches(SocketAddr::from((to, TCP_PORT)), Duration::from_secs(3)))
}

/// Ping that should fail: two tries, so that a first packet lost to learning does not
/// make an isolation look like one.
fn ping_blocked(from: &Netns, to: Ipv4Addr) -> bool {
    from.ping_eventually(to, 2)
}

/// Everything but the first reachability (which waited for Faucet) and the move.
fn check(site: &Site) -> Vec<Outcome> {
    let (h1, h2, h3) = (site.h(0), site.h(1), site.h(2));
    let mut v = Vec::new();
    let mut o = |what, want, got| v.push(Outcome { what, want, got });
    o(
        "h1 -> h2 ping (VLAN 100, untagged)",
        true,
        h1.ping_eventually(H2, 10),
    );
    o(
        "h1 -> t100 ping (untagged to the tagged trunk)",
        true,
        h1.ping_eventually(T100, 10),
    );
    o(
        "t100 -> h2 ping (trunk to untagged)",
        true,
        site.t100.ping_eventually(H2, 10),
    );
    o(
        "h3 -> t200 ping (VLAN 200 across the trunk)",
        true,
        h3.ping_eventually(T200, 10),
    );
    o(
        "h1 -> mover ping (on port 5)",
        true,
        h1.ping_eventually(MOVER, 10),
    );
    o(
        "h1 -> h3 ping (VLAN 100 to 200)",
        false,
        ping_blocked(h1, H3),
    );
    o(
        "h2 -> t200 ping (VLAN 100 to 200 tagged)",
        false,
        ping_blocked(h2, T200),
    );
    o(
        "h3 -> t100 ping (VLAN 200 to 100 tagged)",
        false,
        ping_blocked(h3, T100),
    );
    o(
        "t100 -> t200 ping (two VLANs of the trunk)",
        false,
        ping_blocked(&site.t100, T200),
    );
    o("h1 -> t100 TCP (no ACL on the way)", true, tcp(h1, T100));
    o("h1 -> h2 TCP (port 2's ACL drops TCP)", false, tcp(h1, H2));
    o(
        "h2 -> h1 ping (port 2's ACL passes ICMP)",
        true,
        h2.ping_eventually(H1, 10),
    );
    v
}

/// `f` on both sites at once.
fn both(a: &Site, b: &Site, f: fn(&Site) -> Vec<Outcome>) -> (Vec<Outcome>, Vec<Outcome>) {
    std::thread::scope(|s| {
        let tb = s.spawn(|| f(b));
        let ra = f(a);
        (ra, tb.join().expect("checks of the second switch"))
    })
}

fn check_moved(site: &Site) -> Vec<Outcome> {
    let h1 = site.h(0);
    let mut v = Vec::new();
    let mut o = |what, want, got| v.push(Outcome { what, want, got });
    o(
        "mover -> h1 ping (moved to port 6)",
        true,
        site.mover.ping_eventually(H1, 20),
    );
    o(
        "h1 -> mover ping (moved to port 6)",
        true,
        h1.ping_eventually(MOVER, 10),
    );
    o(
        "h3 -> mover ping (VLAN 200 to moved host)",
        false,
        ping_blocked(site.h(2), MOVER),
    );
    v
}

/// Open vSwitch's kernel datapath must be loaded; `ovs-system` is removed afterwards if
/// this test made it.
struct KernelDatapath {
    existed: bool,
}

impl KernelDatapath {
    fn load() -> KernelDatapath {
        run_ok(&["modprobe", "openvswitch"]).expect("modprobe openvswitch");
        KernelDatapath {
            existed: regress::run(&["ip", "link", "show", "dev", "ovs-system"]),
        }
    }
}

impl Drop for KernelDatapath {
    fn drop(&mut self) {
        if !self.existed {
            let _ = run_ok(&["ovs-dpctl", "del-dp", "ovs-system"]);
        }
    }
}

/// An OVS bridge on the kernel datapath with `site`'s ports as OpenFlow ports 1..6, Faucet
/// as its controller. `--no-wait`: ovs-vsctl returns once the database has it, without
/// waiting for ovs-vswitchd to carry it out (which, in a busy emulated VM, takes longer
/// than ovs-vsctl's own timeout); the pings wait for the outcome.
fn ovs_bridge(ovs: &Ovs, site: &Site, controller: u16, gauge: u16) -> String {
    let br = unique_name();
    let mut args: Vec<String> = [
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
        &format!("other-config:datapath-id={OVS_DPID:016x}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, p) in site.ports().iter().enumerate() {
        args.extend(
            [
                "--",
                "add-port",
                &br,
                p,
                "--",
                "set",
                "interface",
                p,
                &format!("ofport_request={}", i + 1),
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    }
    args.extend(
        [
            "--",
            "set-controller",
            &br,
            &format!("tcp:127.0.0.1:{controller}"),
            &format!("tcp:127.0.0.1:{gauge}"),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ovs.vsctl(&args).expect("OVS bridge");
    br
}

fn switchd_conf(br: &str, site: &Site, controller: u16, gauge: u16) -> String {
    let mut s =
        format!("switch \"faucet\" {{\n\tbridge \"{br}\"\n\tdatapath-id 0x{SWITCHD_DPID:x}\n");
    for (i, p) in site.ports().iter().enumerate() {
        s += &format!("\tport \"{p}\" number {}\n", i + 1);
    }
    s += &format!(
        "\ttable-miss drop\n\tforward to tcp:127.0.0.1:{controller}\n\
         \tforward to tcp:127.0.0.1:{gauge}\n}}\n"
    );
    s
}

/// What switchd's datapath refused (`flow_mod refused: …`), one line each.
fn refusals(d: &Daemon) -> Vec<String> {
    let mut v: Vec<String> = d
        .log()
        .lines()
        .filter(|l| l.contains("flow_mod refused") || l.contains("group_mod refused"))
        .map(str::to_string)
        .collect();
    v.dedup();
    v
}

fn print_outcomes(title: &str, sw: &[Outcome], ovs: &[Outcome]) {
    println!("\n{title:<52} {:>8} {:>8} {:>8}", "want", "switchd", "OVS");
    for (a, b) in sw.iter().zip(ovs) {
        let yn = |x: bool| if x { "yes" } else { "no" };
        println!(
            "{:<52} {:>8} {:>8} {:>8}",
            a.what,
            yn(a.want),
            yn(a.got),
            yn(b.got)
        );
    }
}

fn failures(name: &str, v: &[Outcome]) -> Vec<String> {
    v.iter()
        .filter(|o| o.want != o.got)
        .map(|o| {
            format!(
                "{name}: {} {}",
                o.what,
                if o.want { "failed" } else { "passed" }
            )
        })
        .collect()
}

/// Faucet's cookie on every flow it installs (dp.py's default `cookie`).
const FAUCET_COOKIE: u64 = 0x5adc15c0;
/// Echo requests h1 sends h2 while Gauge watches.
const GAUGE_PINGS: u32 = 20;

/// What Gauge shows for one switch (`dp`, its name in faucet.yaml): h1 (port 1) sends
/// [`GAUGE_PINGS`] echo requests to h2 (port 2), and Gauge's text and Prometheus port
/// counters and its flow counters of Faucet's VLAN table for port 1 must grow by at least
/// that much; its newest flow table dump must hold Faucet's flows. Returns the outcomes
/// and the tables that dump has Faucet's flows in.
fn gauge_check(site: &Site, g: &GaugeConf, dp: &str) -> (Vec<Outcome>, Vec<u64>) {
    let port = |p: &'static str| [("dp_name", dp), ("port", p)];
    // Gauge's counters as a user reads them: text rx of port 1, Prometheus rx of port 1 and
    // tx of port 2, and the packets of the VLAN table's flows for port 1.
    let read = || {
        let page = g.scrape();
        let one = |name, labels: &[(&str, &str)]| {
            let (v, n) = prom_sum(&page, name, false, labels);
            (n > 0).then_some(v as u64)
        };
        [
            g.text_port_stat(dp, 1, "packets-in"),
            one("of_port_rx_packets", &port("1")),
            one("of_port_tx_packets", &port("2")),
            one(
                "flow_packet_count_vlan",
                &[("dp_name", dp), ("in_port", "1")],
            ),
        ]
    };
    let names = [
        "Gauge text: port 1 packets-in grew by the pings",
        "Gauge Prometheus: of_port_rx_packets port 1 grew by the pings",
        "Gauge Prometheus: of_port_tx_packets port 2 grew by the pings",
        "Gauge Prometheus: flow_packet_count_vlan in_port=1 grew by the pings",
    ];
    let mut before = [None; 4];
    wait_long(300, || {
        before = read();
        before.iter().all(Option::is_some)
    });
    let h1 = site.h(0);
    let sent = h1
        .exec(&[
            "ping",
            "-n",
            "-q",
            "-c",
            &GAUGE_PINGS.to_string(),
            "-i",
            "0.2",
            &H2.to_string(),
        ])
        .is_ok();
    let grew = |b: &[Option<u64>; 4], a: &[Option<u64>; 4]| -> [bool; 4] {
        std::array::from_fn(|i| match (b[i], a[i]) {
            (Some(b), Some(a)) => a >= b + u64::from(GAUGE_PINGS),
            _ => false,
        })
    };
    let mut after = [None; 4];
    wait_long(300, || {
        after = read();
        grew(&before, &after).iter().all(|g| *g)
    });
    println!("Gauge, {dp}: before {before:?}, after {after:?} ({GAUGE_PINGS} pings)");
    let ok = grew(&before, &after);
    let mut v: Vec<Outcome> = names
        .iter()
        .zip(ok)
        .map(|(what, got)| Outcome {
            what,
            want: true,
            got,
        })
        .collect();
    v.push(Outcome {
        what: "h1 -> h2 pings while Gauge watches",
        want: true,
        got: sent,
    });
    let flows = dump_flows(&g.latest_flow_dump(dp));
    let mut tables: Vec<u64> = flows
        .iter()
        .filter(|(_, c)| *c == FAUCET_COOKIE)
        .map(|(t, _)| *t)
        .collect();
    tables.sort_unstable();
    tables.dedup();
    println!(
        "Gauge, {dp}: newest flow table dump: {} flows, Faucet's in tables {tables:?}",
        flows.len()
    );
    v.push(Outcome {
        what: "Gauge's flow table dump holds Faucet's flows",
        want: true,
        got: !tables.is_empty(),
    });
    (v, tables)
}

#[test]
#[ignore = "kernel tier: needs cls_flower, openvswitch.ko and Faucet, runs in the VM"]
fn faucet_drives_a_local_switch_as_it_drives_open_vswitch() {
    let dir = TempDir::new("faucet");
    let kdp = KernelDatapath::load();
    let (sw_site, ovs_site) = (Site::new(), Site::new());

    let conf = dir.0.join("faucet.yaml");
    std::fs::write(&conf, faucet_yaml()).expect("write faucet.yaml");
    let port = free_tcp_port().expect("free port");
    let prom = free_tcp_port().expect("free port");
    let gport = free_tcp_port().expect("free port");
    let gprom = free_tcp_port().expect("free port");
    let gconf = GaugeConf::write(&dir.0, &conf, gprom, 5);
    // Faucet and Gauge start side by side (each takes about a minute in the VM).
    let (faucet, gauge) = std::thread::scope(|s| {
        let g = s.spawn(|| Faucet::start(&dir.0, App::Gauge, &gconf.yaml, gport, gprom));
        let f = Faucet::start(&dir.0, App::Faucet, &conf, port, prom);
        (f, g.join().expect("Gauge's start"))
    });

    // Both switches connect at once; the time until the first ping passes is Faucet's
    // cold start on each (printed, not asserted).
    let started = Instant::now();
    let br = LinkGuard(unique_name());
    let d = Daemon::builder()
        .verbose()
        .config(&switchd_conf(&br.0, &sw_site, port, gport))
        .ready_within(Duration::from_secs(60))
        .start()
        .expect("switchd");
    let ovs = Ovs::start().expect("Open vSwitch");
    let _ovs_br = ovs_bridge(&ovs, &ovs_site, port, gport);

    let connected = format!("local switch faucet: connected to controller 127.0.0.1:{port}");
    assert!(
        wait_long(120, || d.log().contains(&connected)),
        "switchd did not connect to Faucet:\n{}\nFaucet:\n{}",
        d.log(),
        faucet.text()
    );
    let mut cold = [None, None];
    let deadline = Instant::now() + Duration::from_secs(300);
    while cold.iter().any(Option::is_none) && Instant::now() < deadline {
        for (i, site) in [&sw_site, &ovs_site].into_iter().enumerate() {
            if cold[i].is_none() && site.h(0).ping(H2, 1) {
                cold[i] = Some(started.elapsed().as_secs_f64());
            }
        }
    }
    let show = |c: Option<f64>| c.map_or("never (300 s)".to_string(), |s| format!("{s:.1} s"));
    println!(
        "Faucet cold start, switch start to first h1 -> h2 ping: switchd {}, OVS {}",
        show(cold[0]),
        show(cold[1])
    );

    // The two switches' checks run side by side: the time is mostly pings that must fail.
    let (sw, ov) = both(&sw_site, &ovs_site, check);
    print_outcomes("outcome", &sw, &ov);
    sw_site.move_host();
    ovs_site.move_host();
    let (sw_m, ov_m) = both(&sw_site, &ovs_site, check_moved);
    print_outcomes("after the move", &sw_m, &ov_m);

    // Gauge, on both switches side by side.
    let ((sw_g, sw_tables), (ov_g, ov_tables)) = std::thread::scope(|s| {
        let o = s.spawn(|| gauge_check(&ovs_site, &gconf, "ovs"));
        let w = gauge_check(&sw_site, &gconf, "switchd");
        (w, o.join().expect("Gauge checks of OVS"))
    });
    print_outcomes("Gauge", &sw_g, &ov_g);
    let gauge_errors = gauge.ofp_errors();
    println!(
        "Gauge's OFPT_ERRORs (either switch): {}; its channel log saw a features reply: {}",
        gauge_errors.len(),
        gauge.saw_features()
    );

    let sw_err = faucet.of_errors(SWITCHD_DPID);
    let ovs_err = faucet.of_errors(OVS_DPID);
    let refused = refusals(&d);
    println!(
        "\nFaucet's OFPT_ERRORs: switchd {}, OVS {}",
        sw_err.len(),
        ovs_err.len()
    );
    for l in &refused {
        println!("switchd: {l}");
    }
    let mut bad = Vec::new();
    if cold[0].is_none() {
        bad.push("switchd: h1 -> h2 never passed".to_string());
    }
    if cold[1].is_none() {
        bad.push("OVS: h1 -> h2 never passed".to_string());
    }
    bad.extend(failures("switchd", &sw));
    bad.extend(failures("switchd", &sw_m));
    bad.extend(failures("OVS", &ov));
    bad.extend(failures("OVS", &ov_m));
    bad.extend(failures("switchd", &sw_g));
    bad.extend(failures("OVS", &ov_g));
    if sw_tables != ov_tables {
        bad.push(format!(
            "Gauge's flow dumps: Faucet's flows in tables {sw_tables:?} on switchd, \
             {ov_tables:?} on OVS"
        ));
    }
    if !gauge.saw_features() {
        bad.push("Gauge's channel log shows no features reply (log not working)".to_string());
    }
    bad.extend(
        gauge_errors
            .iter()
            .map(|l| format!("Gauge got an OFPT_ERROR: {l}")),
    );
    bad.extend(sw_err.iter().map(|l| format!("Faucet, switchd: {l}")));
    bad.extend(ovs_err.iter().map(|l| format!("Faucet, OVS: {l}")));
    assert!(
        bad.is_empty(),
        "{}\n\nswitchd refused:\n{}\nswitchd flows:\n{}\nFaucet:\n{}\nGauge:\n{}\n\
         switchd log:\n{}",
        bad.join("\n"),
        refused.join("\n"),
        String::from_utf8_lossy(&d.ctl(&["show", "flows", "faucet"]).stdout),
        faucet.text(),
        gauge.text(),
        d.log()
    );
    drop(d);
    drop(ovs);
    drop(kdp);
}
