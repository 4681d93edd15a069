//! HTTP GET with curl, and a real Prometheus server (Debian's `prometheus` package)
//! scraping switchd's metrics endpoint, queried through its API: what the metrics tests
//! (host and kernel tier) and Gauge's checks share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use regress::daemon::eval_json;
use regress::Proc;

/// `GET URL` with curl (30 s at most: an emulated VM is slow); the body, or why not.
pub fn http_get(url: &str) -> Result<Vec<u8>, String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "30", url])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// [`http_get`] as text.
pub fn http_get_text(url: &str) -> Result<String, String> {
    http_get(url).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A Prometheus server in `dir` (its configuration, data and log) scraping
/// 127.0.0.1:`metrics_port` as job `switchd` every `interval` (`1s`, `5s`: also the
/// scrape timeout), its API on 127.0.0.1:`prom_port`. Stops when dropped.
pub struct Prometheus {
    pub port: u16,
    pub log: PathBuf,
    _proc: Proc,
}

impl Prometheus {
    pub fn start(dir: &Path, metrics_port: u16, prom_port: u16, interval: &str) -> Prometheus {
        std::fs::create_dir_all(dir.join("data")).expect("prometheus directory");
        let yml = dir.join("prometheus.yml");
        std::fs::write(
            &yml,
            format!(
                "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n\
                 scrape_configs:\n  - job_name: switchd\n    static_configs:\n      \
                 - targets: ['127.0.0.1:{metrics_port}']\n"
            ),
        )
        .expect("prometheus.yml");
        let log_path = dir.join("prometheus.log");
        let log = std::fs::File::create(&log_path).expect("prometheus.log");
        let proc = Proc::spawn(
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
        Prometheus {
            port: prom_port,
            log: log_path,
            _proc: proc,
        }
    }

    /// Its log, for a failure message.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every series it holds for the job now, as `name{k="v",...}` and its value (one
    /// request and one python for them all: the machine is shared).
    pub fn series(&self) -> Vec<(String, f64)> {
        let url = format!(
            "http://127.0.0.1:{}/api/v1/query?query=%7Bjob%3D%22switchd%22%7D%20or%20up",
            self.port
        );
        let Ok(body) = http_get(&url) else {
            return Vec::new();
        };
        let text = eval_json(
            &body,
            "'\\n'.join(r['metric'].get('__name__', '') + '{' + ','.join(k + '=\"' + v + '\"' \
             for k, v in sorted(r['metric'].items()) if k != '__name__') + '} ' + r['value'][1] \
             for r in d['data']['result'])",
        );
        text.trim()
            .trim_matches('"')
            .split("\\n")
            .filter_map(|l| {
                let (name, v) = l.rsplit_once(' ')?;
                Some((name.replace("\\\"", "\""), v.parse().ok()?))
            })
            .collect()
    }
}

/// The values of the series named `name` that carry every label of `labels`.
pub fn values(all: &[(String, f64)], name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    all.iter()
        .filter(|(s, _)| {
            s.starts_with(&format!("{name}{{"))
                && labels.iter().all(|(k, v)| {
                    let l = format!("{k}=\"{v}\"");
                    s.contains(&format!("{{{l},"))
                        || s.contains(&format!(",{l},"))
                        || s.contains(&format!(",{l}}}"))
                        || s.contains(&format!("{{{l}}}"))
                })
        })
        .map(|(_, v)| *v)
        .collect()
}
