//! Kernel tier: switchd's Prometheus endpoint for a local switch (the VM; `regress/run` runs
//! this with `--include-ignored`), scraped by a real Prometheus server (Debian's
//! `prometheus` package). Two namespaced hosts ping each other through a local switch with
//! table-miss normal and an ICMP flow added with switchctl; Prometheus's query API must
//! then return non-zero port counters and flow counters for the switch (the kernel's
//! counters of its links and TC filters) and the datapath's flow-mod install time.
//!
//! Everything is a guard (hosts, bridge, daemon, the Prometheus process in the daemon's
//! scratch directory), so it goes away even when the test panics.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/prometheus.rs"]
mod prometheus;

use std::time::Duration;

use common::LinkGuard;
use prometheus::{values, Prometheus};
use regress::net::LanSwitch;
use regress::wait::wait_for;
use regress::{free_tcp_port, unique_name, Lan};

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn prometheus_scrapes_a_local_switchs_kernel_counters() {
    let metrics_port = free_tcp_port().expect("a free port");
    let prom_port = free_tcp_port().expect("a free port");
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let br = LinkGuard(unique_name());
    let (p0, p1) = (&lan.hosts[0].port, &lan.hosts[1].port);
    let d = regress::Daemon::builder()
        .verbose()
        .config(&format!(
            "metrics listen on 127.0.0.1 port {metrics_port}\n\
             switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{p0}\" number 1\n\tport \"{p1}\" number 2\n\ttable-miss normal\n}}\n",
            br.0
        ))
        .ready_within(Duration::from_secs(120))
        .start()
        .expect("start switchd");
    let connected = wait_for(Duration::from_secs(300), Duration::from_millis(200), || {
        d.ctl_ok(&["show", "switches"])
            .contains("local:vm")
            .then_some(())
    });
    assert!(
        connected.is_some(),
        "the local switch did not connect; switchd stderr:\n{}",
        d.log()
    );
    // A flow-mod the datapath carries out in the kernel (the install metrics count it).
    let out = d.ctl_ok(&["add", "flow", "vm", "priority=100,icmp,actions=NORMAL"]);
    assert!(out.contains("flow added"), "{out}");
    assert!(
        lan.hosts[0].ns.ping_eventually(lan.hosts[1].ip, 30),
        "no ping across the local switch; switchd stderr:\n{}",
        d.log()
    );

    let dir = d.dir().join("prometheus");
    let prom = Prometheus::start(&dir, metrics_port, prom_port, "5s");

    let sw: &[(&str, &str)] = &[("dp_name", "vm")];
    let with = |more: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v = vec![("dp_name", "vm")];
        v.extend_from_slice(more);
        v
    };
    let nonzero: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("up", vec![("job", "switchd")]),
        ("dp_status", sw.to_vec()),
        ("of_port_rx_packets", with(&[("port", "1")])),
        ("of_port_rx_packets", with(&[("port", "2")])),
        ("of_port_tx_packets", with(&[("port", "1")])),
        ("flow_packet_count", with(&[("table_id", "0")])),
        ("flow_byte_count", with(&[("table_id", "0")])),
        ("switchd_flows", with(&[("table_id", "0")])),
        ("switchd_flow_mod_installs_total", vec![]),
        ("switchd_flow_mod_install_seconds_total", vec![]),
    ];
    let mut missing = Vec::new();
    let mut all = Vec::new();
    let got = wait_for(Duration::from_secs(600), Duration::from_secs(2), || {
        all = prom.series();
        missing = nonzero
            .iter()
            .filter(|(n, l)| !values(&all, n, l).iter().any(|v| *v > 0.0))
            .map(|(n, l)| format!("{n}{l:?}"))
            .collect::<Vec<_>>();
        missing.is_empty().then_some(())
    });
    assert!(
        got.is_some(),
        "series missing or zero in Prometheus: {missing:#?}\nseries: {all:#?}\nprometheus log:\n{}\nswitchd stderr:\n{}",
        prom.log_text(),
        d.log()
    );
}
