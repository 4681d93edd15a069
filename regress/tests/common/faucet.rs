//! Faucet 1.10.12 and its Gauge (`regress/setup --faucet`), a production OpenFlow 1.3
//! controller, run by the kernel-tier Faucet test and the forwarding benchmark in the VM.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use regress::Proc;

#[path = "osken.rs"]
mod osken;
pub use osken::{listening, wait_long};

/// Where `regress/setup --faucet` puts Faucet's virtual environment.
pub fn faucet_venv() -> PathBuf {
    let state = std::env::var("SWITCHD_REGRESS_DIR")
        .unwrap_or_else(|_| "/var/cache/switchd-regress".to_string());
    Path::new(&state).join("faucet")
}

/// `osken-manager ARGS` of Faucet's venv (the `faucet` and `gauge` commands exec it), run
/// as os-ken's own is in the VM ([`osken::manager_command`]).
fn manager_command() -> Command {
    osken::manager_command(&faucet_venv().join("bin/osken-manager"), "--faucet")
}

/// Which of the two applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    Faucet,
    Gauge,
}

/// Faucet (or Gauge) listening for switches on 127.0.0.1:`port`, its configuration, log
/// and standard error in `dir`.
pub struct Faucet {
    pub proc: Proc,
    pub log: PathBuf,
    pub stderr: PathBuf,
    pub exceptions: PathBuf,
    /// os-ken's OpenFlow channel handler (logger `OFPHandler`) at debug level: every
    /// switch's hello and features, and every OFPT_ERROR a switch sent the application
    /// (`EventOFPErrorMsg received`), which Gauge does not log itself.
    pub ofp_log: PathBuf,
}

/// A logging configuration for osken-manager (`--log-config-file`): warnings and the
/// channel handler's debug lines to `log`.
fn log_config(log: &Path) -> String {
    format!(
        "[loggers]\nkeys=root,ofp\n\n[handlers]\nkeys=file\n\n[formatters]\nkeys=plain\n\n\
         [logger_root]\nlevel=WARNING\nhandlers=file\n\n\
         [logger_ofp]\nlevel=DEBUG\nhandlers=file\nqualname=OFPHandler\npropagate=0\n\n\
         [handler_file]\nclass=FileHandler\nargs=({:?}, 'a')\nformatter=plain\n\n\
         [formatter_plain]\nformat=%(asctime)s %(name)s %(levelname)s %(message)s\n",
        log.display().to_string()
    )
}

impl Faucet {
    /// Start `app` on `config` (faucet.yaml or gauge.yaml); wait until it listens.
    pub fn start(dir: &Path, app: App, config: &Path, port: u16, prom_port: u16) -> Faucet {
        let (name, var, module) = match app {
            App::Faucet => ("faucet", "FAUCET", "faucet.faucet"),
            App::Gauge => ("gauge", "GAUGE", "faucet.gauge"),
        };
        let log = dir.join(format!("{name}.log"));
        let stderr = dir.join(format!("{name}.stderr"));
        let exceptions = dir.join(format!("{name}-exceptions.log"));
        let ofp_log = dir.join(format!("{name}-ofp.log"));
        let log_conf = dir.join(format!("{name}-logging.conf"));
        std::fs::write(&log_conf, log_config(&ofp_log)).expect("write logging.conf");
        let out = std::fs::File::create(&stderr).expect("faucet stderr");
        let err = out.try_clone().expect("faucet stderr");
        let started = Instant::now();
        let proc = Proc::spawn(
            name,
            manager_command()
                .args(["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port"])
                .arg(port.to_string())
                .arg("--log-config-file")
                .arg(&log_conf)
                .arg(module)
                .env(format!("{var}_CONFIG"), config)
                .env(format!("{var}_LOG"), &log)
                .env(format!("{var}_EXCEPTION_LOG"), &exceptions)
                .env(format!("{var}_PROMETHEUS_ADDR"), "127.0.0.1")
                .env(format!("{var}_PROMETHEUS_PORT"), prom_port.to_string())
                .env("FAUCET_EVENT_SOCK", "0")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
        )
        .expect("start Faucet's osken-manager");
        let mut f = Faucet {
            proc,
            log,
            stderr,
            exceptions,
            ofp_log,
        };
        assert!(
            wait_long(600, || listening(port) || !f.proc.is_running()),
            "{name} did not listen on {port} within 600 s:\n{}",
            f.text()
        );
        assert!(f.proc.is_running(), "{name} exited:\n{}", f.text());
        println!(
            "{name} listening on 127.0.0.1:{port} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        f
    }

    /// Its log file.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log, standard error and exception log, for a failure message.
    pub fn text(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- log:\n{}\n--- stderr:\n{}\n--- exceptions:\n{}\n--- OpenFlow channel:\n{}",
            read(&self.log),
            read(&self.stderr),
            read(&self.exceptions),
            read(&self.ofp_log)
        )
    }

    /// The lines where it logged an OFPT_ERROR from a switch (`OFError type: …`), for the
    /// datapath id `dpid` (Faucet writes `DPID n (0x…)` on each line).
    pub fn of_errors(&self, dpid: u64) -> Vec<String> {
        let tag = format!("(0x{dpid:x})");
        self.log_text()
            .lines()
            .filter(|l| l.contains("OFError") && l.contains(&tag))
            .map(str::to_string)
            .collect()
    }

    /// os-ken's channel log (see [`Faucet::ofp_log`]).
    pub fn ofp_log_text(&self) -> String {
        std::fs::read_to_string(&self.ofp_log).unwrap_or_default()
    }

    /// The OFPT_ERROR messages any switch sent this application, each with the lines os-ken
    /// logged after it (type, code, the refused message's type); the channel log names no
    /// datapath, so a caller tells switches apart by giving each its own application.
    pub fn ofp_errors(&self) -> Vec<String> {
        let text = self.ofp_log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("EventOFPErrorMsg received"))
            .map(|(i, _)| lines[i..lines.len().min(i + 8)].join("\n"))
            .collect()
    }

    /// Whether os-ken logged a switch's features reply: the channel log works, so that an
    /// empty [`Faucet::ofp_errors`] means something.
    pub fn saw_features(&self) -> bool {
        self.ofp_log_text().contains("switch features ev")
    }
}
