//! Host tier: switchd's Prometheus endpoint scraped by a real Prometheus server (Debian's
//! `prometheus` package), with switchd the controller of a private Open vSwitch bridge
//! (userspace datapath) and hosts in namespaces. After traffic and a reload, Prometheus's
//! query API (/api/v1/query) must return the expected series with non-zero values; the
//! port counters Prometheus stored must not exceed what `ovs-ofctl dump-ports` reads after.
//!
//! Everything is a guard (the rig, the Prometheus process in the daemon's scratch
//! directory), so it goes away even when the test panics.

use std::process::Command;
use std::time::Duration;

use regress::daemon::{eval_json, Daemon};
use regress::wait::wait_for;
use regress::{free_tcp_port, OvsRig, Proc};

/// `GET http://127.0.0.1:PORT/PATH` with curl; the body, or why not.
fn http_get(url: &str) -> Result<Vec<u8>, String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "5", url])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The values of the series an instant query returns (as numbers).
fn query(prom: u16, q: &str) -> Vec<f64> {
    let mut url = format!("http://127.0.0.1:{prom}/api/v1/query?query=");
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    let Ok(body) = http_get(&url) else {
        return Vec::new();
    };
    let values = eval_json(
        &body,
        "[float(r['value'][1]) for r in d['data']['result']] if d['status'] == 'success' else []",
    );
    values
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

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
    std::fs::create_dir_all(dir.join("data")).expect("prometheus directory");
    let yml = dir.join("prometheus.yml");
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  \
             - job_name: switchd\n    static_configs:\n      \
             - targets: ['127.0.0.1:{metrics_port}']\n"
        ),
    )
    .expect("prometheus.yml");
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("prometheus.log");
    let _prom = Proc::spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log),
    )
    .expect("prometheus starts");

    let sw = "dp_id=\"0xe8\",dp_name=\"edge\"";
    let nonzero = [
        "up{job=\"switchd\"}".to_string(),
        format!("dp_status{{{sw}}}"),
        format!("of_dp_connections_total{{{sw}}}"),
        format!("of_packet_ins_total{{{sw}}}"),
        format!("of_flowmsgs_sent_total{{{sw}}}"),
        format!("learned_macs{{{sw}}}"),
        format!("switchd_learned_macs{{{sw}}}"),
        format!("of_port_rx_packets{{{sw},port=\"1\"}}"),
        format!("of_port_tx_packets{{{sw},port=\"1\"}}"),
        format!("of_port_rx_bytes{{{sw},port=\"2\"}}"),
        format!("of_port_tx_bytes{{{sw},port=\"2\"}}"),
        format!("flow_packet_count{{{sw},table_id=\"0\"}}"),
        format!("flow_byte_count{{{sw},table_id=\"0\"}}"),
        format!("switchd_flows{{{sw},table_id=\"0\"}}"),
        "switchd_process_resident_memory_bytes{process=\"ofp\"}".to_string(),
        "switchd_process_resident_memory_bytes{process=\"control\"}".to_string(),
        "switchd_process_resident_memory_bytes{process=\"datapath\"}".to_string(),
        "switchd_process_resident_memory_bytes{process=\"parent\"}".to_string(),
        "switchd_config_reload_requests_total".to_string(),
        "switchd_ofp_up".to_string(),
    ];
    let mut missing = Vec::new();
    let all = wait_for(Duration::from_secs(60), Duration::from_secs(1), || {
        missing = nonzero
            .iter()
            .filter(|q| !query(prom_port, q).iter().any(|v| *v > 0.0))
            .cloned()
            .collect();
        missing.is_empty().then_some(())
    });
    assert!(
        all.is_some(),
        "series missing or zero in Prometheus: {missing:#?}\nprometheus log:\n{}\nlast scrape:\n{}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default(),
        http_get(&format!("http://127.0.0.1:{metrics_port}/metrics"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| e)
    );
    // Six switch flows at least: the static one, the table-miss, learned ones.
    let flows = query(prom_port, &format!("switchd_flows{{{sw},table_id=\"0\"}}"));
    assert!(flows.iter().any(|n| *n >= 3.0), "{flows:?}");
    // One series per process.
    let cpu = query(prom_port, "switchd_process_cpu_seconds_total");
    assert_eq!(cpu.len(), 4, "{cpu:?}");
    // What Prometheus stored is what the switch counted: no more than dump-ports says now.
    let stored = query(prom_port, &format!("of_port_rx_packets{{{sw},port=\"1\"}}"));
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
