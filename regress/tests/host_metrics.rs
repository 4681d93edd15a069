//! Host tier: switchd's Prometheus endpoint scraped by a real Prometheus server (Debian's
//! `prometheus` package), with switchd the controller of a private Open vSwitch bridge
//! (userspace datapath) and hosts in namespaces. After traffic and a reload, Prometheus's
//! query API (/api/v1/query) must return the expected series with non-zero values; the
//! port counters Prometheus stored must not exceed what `ovs-ofctl dump-ports` reads after.
//!
//! Everything is a guard (the rig, the Prometheus process in the daemon's scratch
//! directory), so it goes away even when the test panics.

#[path = "common/prometheus.rs"]
mod prometheus;

use std::time::Duration;

use prometheus::{http_get, values, Prometheus};
use regress::daemon::Daemon;
use regress::wait::wait_for;
use regress::{free_tcp_port, OvsRig};

#[test]
fn prometheus_scrapes_switch_port_flow_and_process_metrics() {
    let metrics_port = free_tcp_port().expect("a free port");
    let prom_port = free_tcp_port().expect("a free port");
    let dpid = 0xe8;
    let rig = OvsRig::builder()
        .protocol("OpenFlow13")
        .datapath_id(dpid)
        .daemon(Daemon::builder().config(&format!(
            "metrics listen on 127.0.0.1 port {metrics_port}\n\
             switch \"edge\" {{\n\tdatapath-id 0x{dpid:x}\n\tflow \"priority=100,udp,tp_dst=9,actions=drop\"\n}}\n"
        )))
        .start()
        .expect("OVS bridge, hosts and switchd");
    rig.all_pairs_ping(3);
    assert_eq!(rig.daemon().ctl_ok(&["reload"]), "configuration reloaded\n");

    // The endpoint itself: OpenMetrics text, and a 404 elsewhere.
    let text = http_get(&format!("http://127.0.0.1:{metrics_port}/metrics"))
        .expect("GET /metrics answers");
    let text = String::from_utf8_lossy(&text);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        http_get(&format!("http://127.0.0.1:{metrics_port}/nothing")).is_err(),
        "/nothing answered"
    );

    let dir = rig.daemon().dir().join("prometheus");
    let prom = Prometheus::start(&dir, metrics_port, prom_port, "1s");

    let sw: &[(&str, &str)] = &[("dp_id", "0xe8"), ("dp_name", "edge")];
    let with = |more: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v = vec![("dp_id", "0xe8"), ("dp_name", "edge")];
        v.extend_from_slice(more);
        v
    };
    let nonzero: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("up", vec![("job", "switchd")]),
        ("dp_status", sw.to_vec()),
        ("of_dp_connections_total", sw.to_vec()),
        ("of_packet_ins_total", sw.to_vec()),
        ("of_flowmsgs_sent_total", sw.to_vec()),
        ("learned_macs", sw.to_vec()),
        ("switchd_learned_macs", sw.to_vec()),
        ("of_port_rx_packets", with(&[("port", "1")])),
        ("of_port_tx_packets", with(&[("port", "1")])),
        ("of_port_rx_bytes", with(&[("port", "2")])),
        ("of_port_tx_bytes", with(&[("port", "2")])),
        ("flow_packet_count", with(&[("table_id", "0")])),
        ("flow_byte_count", with(&[("table_id", "0")])),
        ("switchd_flows", with(&[("table_id", "0")])),
        (
            "switchd_process_resident_memory_bytes",
            vec![("process", "ofp")],
        ),
        (
            "switchd_process_resident_memory_bytes",
            vec![("process", "control")],
        ),
        (
            "switchd_process_resident_memory_bytes",
            vec![("process", "datapath")],
        ),
        (
            "switchd_process_resident_memory_bytes",
            vec![("process", "parent")],
        ),
        ("switchd_config_reload_requests_total", vec![]),
        ("switchd_ofp_up", vec![]),
    ];
    let mut missing = Vec::new();
    let mut all = Vec::new();
    let got = wait_for(Duration::from_secs(60), Duration::from_secs(1), || {
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
        "series missing or zero in Prometheus: {missing:#?}\nseries: {all:#?}\nprometheus log:\n{}",
        prom.log_text(),
    );
    // Three flows at least in table 0: the static one, the table-miss, learned ones.
    let flows = values(&all, "switchd_flows", &with(&[("table_id", "0")]));
    assert!(flows.iter().any(|n| *n >= 3.0), "{flows:?}");
    // The datapath answered: its overrun counter is there (zero: no local switch here).
    assert_eq!(values(&all, "switchd_psample_overruns_total", &[]).len(), 1);
    // One series per process.
    let cpu = values(&all, "switchd_process_cpu_seconds_total", &[]);
    assert_eq!(cpu.len(), 4, "{cpu:?}");
    // What Prometheus stored is what the switch counted: no more than dump-ports says now.
    let stored = values(&all, "of_port_rx_packets", &with(&[("port", "1")]));
    let ports = rig
        .ovs()
        .ofctl(&["-O", "OpenFlow13", "dump-ports", rig.bridge(), "1"])
        .expect("dump-ports");
    let now: f64 = ports
        .split("rx pkts=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rx pkts in {ports}"));
    assert!(
        stored.iter().all(|v| *v > 0.0 && *v <= now),
        "Prometheus {stored:?}, dump-ports {now}"
    );
}
