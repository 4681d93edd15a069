//! The metrics of one scrape, named and labelled as Faucet and Gauge name them where they
//! mean the same thing (so that their Grafana dashboards work), switchd's own under
//! `switchd_`; encoded by `prometheus-client` in the OpenMetrics text format.
//!
//! Counters get `_total` appended by the encoder, as Faucet's Python client does.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode as encode_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{DpMetrics, OfpMetrics, ProcStat};

pub(super) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(String, String)>;

/// The control process's own counts of reloads.
pub(super) struct Reloads {
    pub(super) requests: u64,
    pub(super) errors: u64,
    pub(super) load_error: u64,
}

/// A family of counters, registered under `name`.
fn counters(r: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    r.register(name, help, f.clone());
    f
}

fn gauges(r: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    r.register(name, help, f.clone());
    f
}

/// A switch's labels, as Faucet gives them.
fn dp(dp_id: u64, name: &str) -> Labels {
    vec![
        ("dp_id".into(), format!("0x{dp_id:x}")),
        ("dp_name".into(), name.to_string()),
    ]
}

fn with(mut l: Labels, more: &[(&str, String)]) -> Labels {
    l.extend(more.iter().map(|(k, v)| (k.to_string(), v.clone())));
    l
}

/// A counter value as a gauge (prometheus gauges are signed); `None`: not counted.
fn g(v: u64) -> Option<i64> {
    (v != u64::MAX).then(|| i64::try_from(v).unwrap_or(i64::MAX))
}

/// The text of one scrape. `ofp` is `None` if ofp did not answer: its metrics are left
/// out (and `switchd_ofp_up` says so) rather than reported as zero.
pub(super) fn encode(
    ofp: Option<&OfpMetrics>,
    datapath: Option<&DpMetrics>,
    procs: &[ProcStat],
    reloads: &Reloads,
) -> Result<String, std::fmt::Error> {
    let mut r = Registry::default();

    let up = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    up.set(i64::from(ofp.is_some()));
    r.register(
        "switchd_ofp_up",
        "Whether the ofp process answered this scrape",
        up,
    );

    let packet_ins = counters(&mut r, "of_packet_ins", "OpenFlow PACKET_INs received");
    let flowmsgs = counters(&mut r, "of_flowmsgs_sent", "OpenFlow FLOW_MODs sent");
    let errors = counters(&mut r, "of_errors", "OpenFlow ERRORs received");
    let conns = counters(
        &mut r,
        "of_dp_connections",
        "OpenFlow handshakes completed with the switch",
    );
    let disconns = counters(
        &mut r,
        "of_dp_disconnections",
        "OpenFlow connections to the switch lost",
    );
    let status = gauges(&mut r, "dp_status", "1 if the switch is connected");
    let macs = gauges(
        &mut r,
        "learned_macs",
        "A learned MAC address (as an integer), by port and index, as Faucet exports it",
    );
    let learned = gauges(
        &mut r,
        "switchd_learned_macs",
        "MAC addresses learned on the switch",
    );
    let port_names = [
        ("of_port_rx_packets", "Packets received on the port"),
        ("of_port_rx_bytes", "Bytes received on the port"),
        ("of_port_rx_dropped", "Received packets dropped"),
        ("of_port_rx_errors", "Receive errors"),
        ("of_port_tx_packets", "Packets sent on the port"),
        ("of_port_tx_bytes", "Bytes sent on the port"),
        ("of_port_tx_dropped", "Packets to send dropped"),
        ("of_port_tx_errors", "Send errors"),
    ];
    let port_fams: Vec<Family<Labels, Gauge>> = port_names
        .iter()
        .map(|(n, h)| gauges(&mut r, n, h))
        .collect();
    let flow_packets = gauges(
        &mut r,
        "flow_packet_count",
        "Packets matched by the flows of the table",
    );
    let flow_bytes = gauges(
        &mut r,
        "flow_byte_count",
        "Bytes matched by the flows of the table",
    );
    let flows = gauges(&mut r, "switchd_flows", "Flows in the table");

    let tls = counters(
        &mut r,
        "switchd_tls_handshake_failures",
        "TLS handshakes that failed on a listener",
    );
    if let Some(o) = ofp {
        for (listener, n) in &o.tls_failures {
            let l = vec![("listener".to_string(), listener.clone())];
            tls.get_or_create(&l).inc_by(*n);
        }
        let names: std::collections::HashMap<u64, &str> = o
            .switches
            .iter()
            .map(|s| (s.dp_id, s.name.as_str()))
            .chain(o.dp_events.iter().map(|e| (e.dp_id, e.name.as_str())))
            .collect();
        for e in &o.dp_events {
            let l = dp(e.dp_id, names.get(&e.dp_id).copied().unwrap_or(""));
            conns.get_or_create(&l).inc_by(e.connections);
            disconns.get_or_create(&l).inc_by(e.disconnections);
            status.get_or_create(&l).set(0);
        }
        for s in &o.switches {
            let l = dp(s.dp_id, &s.name);
            status.get_or_create(&l).set(1);
            packet_ins.get_or_create(&l).inc_by(s.packet_ins);
            flowmsgs.get_or_create(&l).inc_by(s.flowmsgs_sent);
            errors.get_or_create(&l).inc_by(s.errors);
            learned.get_or_create(&l).set(s.macs.len() as i64);
            let mut n_by_port: std::collections::HashMap<u32, u32> = Default::default();
            for (mac, port) in &s.macs {
                let n = n_by_port.entry(*port).or_default();
                let value: String = mac.chars().filter(|c| *c != ':').collect();
                let Ok(value) = i64::from_str_radix(&value, 16) else {
                    continue;
                };
                let ml = with(
                    l.clone(),
                    &[
                        ("vlan", "0".into()),
                        ("port", port.to_string()),
                        ("n", n.to_string()),
                    ],
                );
                macs.get_or_create(&ml).set(value);
                *n += 1;
            }
            for p in &s.ports {
                let pl = with(
                    l.clone(),
                    &[
                        ("port", ofproto::text::print_port(p.port_no)),
                        ("port_description", p.name.clone()),
                    ],
                );
                let values = [
                    p.rx_packets,
                    p.rx_bytes,
                    p.rx_dropped,
                    p.rx_errors,
                    p.tx_packets,
                    p.tx_bytes,
                    p.tx_dropped,
                    p.tx_errors,
                ];
                for (fam, v) in port_fams.iter().zip(values) {
                    if let Some(v) = g(v) {
                        fam.get_or_create(&pl).set(v);
                    }
                }
            }
            for &(table, n, packets, bytes) in &s.tables {
                let tl = with(l.clone(), &[("table_id", table.to_string())]);
                flows.get_or_create(&tl).set(n as i64);
                if let Some(v) = g(packets) {
                    flow_packets.get_or_create(&tl).set(v);
                }
                if let Some(v) = g(bytes) {
                    flow_bytes.get_or_create(&tl).set(v);
                }
            }
        }
    }

    if let Some(d) = datapath {
        let refusals = counters(
            &mut r,
            "switchd_refusals",
            "Requests a local switch refused, by request and OpenFlow error",
        );
        for (switch, what, error, n) in &d.refusals {
            let l = vec![
                ("dp_name".to_string(), switch.clone()),
                ("request".to_string(), what.clone()),
                ("reason".to_string(), error.clone()),
            ];
            refusals.get_or_create(&l).inc_by(*n);
        }
        let overruns = Counter::<u64>::default();
        overruns.inc_by(d.psample_overruns);
        r.register(
            "switchd_psample_overruns",
            "Times the kernel dropped sampled packets (packet-ins of local switches) because the receive buffer was full",
            overruns,
        );
        let dropped = counters(
            &mut r,
            "switchd_packet_ins_dropped",
            "Packet-ins a local switch did not send, by reason",
        );
        for (switch, why, n) in &d.packet_in_drops {
            let l = vec![
                ("dp_name".to_string(), switch.clone()),
                ("reason".to_string(), why.clone()),
            ];
            dropped.get_or_create(&l).inc_by(*n);
        }
        let installs = Counter::<u64>::default();
        installs.inc_by(d.installs);
        r.register(
            "switchd_flow_mod_installs",
            "Flow-mods local switches carried out in the kernel",
            installs,
        );
        let install_time = Counter::<f64, AtomicU64>::default();
        install_time.inc_by(d.install_nanos as f64 / 1e9);
        r.register(
            "switchd_flow_mod_install_seconds",
            "Time local switches spent carrying out flow-mods in the kernel",
            install_time,
        );
    }

    let cpu = Family::<Labels, Counter<f64, AtomicU64>>::default();
    r.register(
        "switchd_process_cpu_seconds",
        "CPU time (user and system) of the process",
        cpu.clone(),
    );
    let rss = gauges(
        &mut r,
        "switchd_process_resident_memory_bytes",
        "Resident memory of the process",
    );
    for p in procs {
        let l = vec![("process".to_string(), p.process.clone())];
        cpu.get_or_create(&l).inc_by(p.cpu_seconds);
        rss.get_or_create(&l)
            .set(i64::try_from(p.resident_bytes).unwrap_or(i64::MAX));
    }

    let requests = Counter::<u64>::default();
    requests.inc_by(reloads.requests);
    r.register(
        "switchd_config_reload_requests",
        "Reloads asked for by switchctl reload or load",
        requests,
    );
    let rejected = Counter::<u64>::default();
    rejected.inc_by(reloads.errors);
    r.register(
        "switchd_config_reload_rejected",
        "Reloads whose configuration had errors (the running one stayed)",
        rejected,
    );
    let load_error = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    load_error.set(reloads.load_error as i64);
    r.register(
        "switchd_config_load_error",
        "1 if the last reload was rejected",
        load_error,
    );

    let mut out = String::new();
    encode_text(&mut out, &r)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{DpEvents, PortMetrics, SwitchMetrics};
    use super::*;

    #[test]
    fn names_and_labels_are_faucets() {
        let o = OfpMetrics {
            switches: vec![SwitchMetrics {
                dp_id: 0xd7,
                name: "edge".into(),
                packet_ins: 3,
                flowmsgs_sent: 2,
                errors: 0,
                macs: vec![("02:00:00:00:00:0b".into(), 1)],
                ports: vec![PortMetrics {
                    port_no: 1,
                    name: "p1".into(),
                    rx_packets: 5,
                    tx_errors: u64::MAX,
                    ..Default::default()
                }],
                tables: vec![(0, 4, 10, 1000)],
            }],
            dp_events: vec![DpEvents {
                dp_id: 0xd7,
                name: "edge".into(),
                connections: 1,
                disconnections: 0,
            }],
            tls_failures: vec![("0.0.0.0:6653".into(), 2)],
        };
        let procs = [ProcStat {
            process: "ofp".into(),
            cpu_seconds: 0.5,
            resident_bytes: 4096,
        }];
        let reloads = Reloads {
            requests: 1,
            errors: 0,
            load_error: 0,
        };
        let dp = DpMetrics {
            refusals: vec![(
                "vm".into(),
                "flow_mod".into(),
                "OFPBIC_UNSUP_INST".into(),
                2,
            )],
            psample_overruns: 0,
            packet_in_drops: vec![("vm".into(), "no_controller".into(), 7)],
            installs: 4,
            install_nanos: 2_000_000_000,
        };
        let t = encode(Some(&o), Some(&dp), &procs, &reloads).unwrap();
        for want in [
            "of_packet_ins_total{dp_id=\"0xd7\",dp_name=\"edge\"} 3",
            "dp_status{dp_id=\"0xd7\",dp_name=\"edge\"} 1",
            "of_dp_connections_total{dp_id=\"0xd7\",dp_name=\"edge\"} 1",
            "of_port_rx_packets{dp_id=\"0xd7\",dp_name=\"edge\",port=\"1\",port_description=\"p1\"} 5",
            "flow_packet_count{dp_id=\"0xd7\",dp_name=\"edge\",table_id=\"0\"} 10",
            "switchd_flows{dp_id=\"0xd7\",dp_name=\"edge\",table_id=\"0\"} 4",
            "learned_macs{dp_id=\"0xd7\",dp_name=\"edge\",vlan=\"0\",port=\"1\",n=\"0\"} 2199023255563",
            "switchd_process_resident_memory_bytes{process=\"ofp\"} 4096",
            "switchd_config_reload_requests_total 1",
            "switchd_refusals_total{dp_name=\"vm\",request=\"flow_mod\",reason=\"OFPBIC_UNSUP_INST\"} 2",
            "switchd_psample_overruns_total 0",
            "switchd_tls_handshake_failures_total{listener=\"0.0.0.0:6653\"} 2",
            "switchd_packet_ins_dropped_total{dp_name=\"vm\",reason=\"no_controller\"} 7",
            "switchd_flow_mod_installs_total 4",
            "switchd_flow_mod_install_seconds_total 2.0",
            "# EOF",
        ] {
            assert!(t.contains(want), "no {want} in\n{t}");
        }
        // A counter the switch does not keep is left out, not shown as a number.
        assert!(!t.contains("of_port_tx_errors{"), "{t}");
        let without = encode(None, None, &[], &reloads).unwrap();
        assert!(without.contains("\nswitchd_ofp_up 0\n"), "{without}");
        assert!(!t.contains("{}"), "{t}");
    }
}
