//! Gauge, Faucet's statistics poller (same PyPI package, `regress/setup --faucet`), set up
//! as Faucet's documentation sets it up: a second controller of each switch, reading
//! faucet.yaml for the datapaths, writing what it polls as text and to Prometheus.
//! Started with [`super::faucet::Faucet::start`] and `App::Gauge`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "prometheus.rs"]
mod prometheus;
use prometheus::http_get_text;

/// The statistics Gauge polls (every `interval` seconds) and where it writes them, all
/// under one directory.
pub struct GaugeConf {
    /// gauge.yaml.
    pub yaml: PathBuf,
    /// Port statistics as text: `TIME\tDP-PORT-STAT\tVALUE` lines (`packets-in`, ...).
    pub port_stats: PathBuf,
    /// Flow table dumps: a JSON file per flow stats reply, `DP--flowtable--TIME.json`.
    pub flow_dir: PathBuf,
    /// Gauge's Prometheus endpoint (port and flow statistics).
    pub prom_port: u16,
}

impl GaugeConf {
    /// Write gauge.yaml in `dir` for every datapath of `faucet_yaml`: port state, port stats
    /// and flow tables, each to a text database and to Prometheus on 127.0.0.1:`prom_port`.
    pub fn write(dir: &Path, faucet_yaml: &Path, prom_port: u16, interval: u32) -> GaugeConf {
        let port_stats = dir.join("gauge-port-stats.txt");
        let port_state = dir.join("gauge-port-state.txt");
        let flow_dir = dir.join("gauge-flows");
        std::fs::create_dir_all(&flow_dir).expect("gauge flow directory");
        // Gauge polls with the first watcher of a type and gives every watcher of that
        // type the reply: one request, two outputs.
        let yaml = format!(
            "faucet_configs:
    - {faucet}
watchers:
    port_state_text:
        type: port_state
        all_dps: true
        db: port_state_text
    port_stats_text:
        type: port_stats
        all_dps: true
        interval: {interval}
        db: port_stats_text
    port_stats_prom:
        type: port_stats
        all_dps: true
        interval: {interval}
        db: prometheus
    flow_table_text:
        type: flow_table
        all_dps: true
        interval: {interval}
        db: flow_text
    flow_table_prom:
        type: flow_table
        all_dps: true
        interval: {interval}
        db: prometheus
dbs:
    port_state_text:
        type: text
        file: {state}
    port_stats_text:
        type: text
        file: {stats}
    flow_text:
        type: text
        path: {flows}
    prometheus:
        type: prometheus
        prometheus_addr: 127.0.0.1
        prometheus_port: {prom_port}
",
            faucet = faucet_yaml.display(),
            state = port_state.display(),
            stats = port_stats.display(),
            flows = flow_dir.display(),
        );
        let path = dir.join("gauge.yaml");
        std::fs::write(&path, yaml).expect("write gauge.yaml");
        GaugeConf {
            yaml: path,
            port_stats,
            flow_dir,
            prom_port,
        }
    }

    /// The last value Gauge wrote as text for `stat` (`packets-in`, `packets-out`, ...) of
    /// port `port` of datapath `dp` (its name in faucet.yaml).
    pub fn text_port_stat(&self, dp: &str, port: u32, stat: &str) -> Option<u64> {
        let key = format!("{dp}-{port}-{stat}");
        let text = std::fs::read_to_string(&self.port_stats).ok()?;
        text.lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (_, k, v) = (f.next()?, f.next()?, f.next()?);
                (k == key).then(|| v.trim().parse().ok())?
            })
            .next_back()
    }

    /// The files of the newest flow table poll of datapath `dp` (all parts of its reply).
    pub fn latest_flow_dump(&self, dp: &str) -> Vec<PathBuf> {
        let all = self.flow_dumps(dp);
        let stem = |p: &PathBuf| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let n = n.trim_end_matches(".json");
            // DP--flowtable--TIME or DP--flowtable--TIME--N.
            n.splitn(4, "--").take(3).collect::<Vec<_>>().join("--")
        };
        let Some(last) = all.last().map(stem) else {
            return Vec::new();
        };
        all.into_iter().filter(|p| stem(p) == last).collect()
    }

    /// Gauge's Prometheus page now (empty if it does not answer yet).
    pub fn scrape(&self) -> String {
        http_get_text(&format!("http://127.0.0.1:{}/metrics", self.prom_port)).unwrap_or_default()
    }

    /// The flow table dumps Gauge wrote for datapath `dp`, oldest first (a multipart reply
    /// is several files of the same second).
    pub fn flow_dumps(&self, dp: &str) -> Vec<PathBuf> {
        let prefix = format!("{dp}--flowtable--");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.flow_dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&prefix))
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The sum of the samples of metric `name` (any name starting with it when `prefix`, such
/// as `flow_packet_count_` for every table) whose labels include every one of `labels`,
/// and how many samples there were. Prometheus text format: `name{k="v",...} value`.
pub fn prom_sum(page: &str, name: &str, prefix: bool, labels: &[(&str, &str)]) -> (f64, usize) {
    let mut sum = 0.0;
    let mut n = 0;
    for l in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = l.rsplit_once(' ') else {
            continue;
        };
        let metric = series.split('{').next().unwrap_or_default();
        let named = if prefix {
            metric.starts_with(name)
        } else {
            metric == name
        };
        let has = |k: &str, v: &str| {
            let kv = format!("{k}=\"{v}\"");
            series.contains(&format!("{{{kv}")) || series.contains(&format!(",{kv}"))
        };
        if !named || !labels.iter().all(|(k, v)| has(k, v)) {
            continue;
        }
        if let Ok(v) = value.parse::<f64>() {
            sum += v;
            n += 1;
        }
    }
    (sum, n)
}

/// The (table_id, cookie) of every flow in Gauge's JSON flow table dumps `files`
/// (`{"OFPFlowStatsReply": {"body": [{"OFPFlowStats": {...}}, ...]}}`), read by python3.
pub fn dump_flows(files: &[PathBuf]) -> Vec<(u64, u64)> {
    let script = "import json, sys
for p in sys.argv[1:]:
    for f in json.load(open(p))['OFPFlowStatsReply']['body']:
        s = f['OFPFlowStats']
        print(s['table_id'], s['cookie'])";
    let Ok(out) = Command::new("python3")
        .args(["-c", script])
        .args(files)
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (t, c) = l.split_once(' ')?;
            Some((t.parse().ok()?, c.parse().ok()?))
        })
        .collect()
}
