//! os-ken 3.1.1 (`regress/setup --osken`), a third-party OpenFlow controller, run by the
//! kernel-tier tests in the VM.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regress::Proc;

/// Where `regress/setup --osken` puts os-ken's virtual environment.
pub fn osken_manager() -> PathBuf {
    let state = std::env::var("SWITCHD_REGRESS_DIR")
        .unwrap_or_else(|_| "/var/cache/switchd-regress".to_string());
    Path::new(&state).join("osken/bin/osken-manager")
}

/// `osken-manager ARGS`, in a mount namespace of its own where the host's /var/cache is
/// visible: virtme-ng mounts an empty tmpfs over /var/cache in the VM, hiding the venv that
/// `regress/setup --osken` made there; unmounting it in a private namespace shows the
/// host's directory again (through the shared root) without touching anything else.
pub fn osken_command() -> Command {
    manager_command(&osken_manager(), "--osken")
}

/// `manager` (an osken-manager of a venv that `regress/setup SETUP_FLAG` makes under
/// /var/cache) with the ARGS to come, run as [`osken_command`] runs os-ken's: Faucet's venv
/// has an osken-manager of its own.
pub fn manager_command(manager: &Path, setup_flag: &str) -> Command {
    let script = format!(
        r#"[ -x "$0" ] || umount /var/cache 2>/dev/null
[ -x "$0" ] || {{ echo "$0 is missing: run regress/setup {setup_flag}" >&2; exit 127; }}
exec "$0" "$@""#
    );
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(manager);
    c
}

/// An os-ken application file of the test suite (`regress/tests/osken/NAME`).
pub fn test_app(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/osken")
        .join(name)
}

/// os-ken's own `simple_switch_13` application, unmodified (Apache-2.0; the copy the codec
/// corpus was captured with).
pub fn simple_switch_13() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ofproto/tests/corpus/osken_apps/simple_switch_13.py")
}

/// Poll `cond` every 200 ms for up to `secs` seconds (os-ken is slow under emulation;
/// Faucet, on os-ken, takes about a minute to listen in an idle VM, several on a busy
/// machine).
pub fn wait_long(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether something listens on TCP `port` on any IPv4 address (read from /proc, so that
/// the check does not itself open an OpenFlow connection to the controller).
pub fn listening(port: u16) -> bool {
    let suffix = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1].ends_with(&suffix) && f[3] == "0A"
        })
    })
}

/// os-ken running `app` on `host`:`port`; its log and the app's notes in `dir`.
pub struct OsKen {
    pub proc: Proc,
    pub notes: PathBuf,
    pub log: PathBuf,
}

impl OsKen {
    pub fn start(dir: &Path, host: &str, port: u16, app: &Path, n: u32) -> OsKen {
        OsKen::start_with(dir, host, port, app, n, &[])
    }

    /// [`OsKen::start`] with more environment for the app.
    pub fn start_with(
        dir: &Path,
        host: &str,
        port: u16,
        app: &Path,
        n: u32,
        env: &[(&str, &str)],
    ) -> OsKen {
        let listen = [
            "--ofp-listen-host".to_string(),
            host.to_string(),
            "--ofp-tcp-listen-port".to_string(),
            port.to_string(),
        ];
        OsKen::spawn(dir, &listen, host, port, app, n, env)
    }

    /// os-ken listening on `host`:`port` over TLS only (`--ofp-ssl-listen-port`),
    /// presenting `cert` and `key` and requiring switches' certificates signed by `ca`.
    pub fn start_tls(
        dir: &Path,
        host: &str,
        port: u16,
        app: &Path,
        n: u32,
        (cert, key, ca): (&str, &str, &str),
    ) -> OsKen {
        let listen = [
            "--ofp-listen-host",
            host,
            "--ofp-ssl-listen-port",
            &port.to_string(),
            "--ctl-cert",
            cert,
            "--ctl-privkey",
            key,
            "--ca-certs",
            ca,
        ]
        .map(str::to_string);
        OsKen::spawn(dir, &listen, host, port, app, n, &[])
    }

    fn spawn(
        dir: &Path,
        listen: &[String],
        host: &str,
        port: u16,
        app: &Path,
        n: u32,
        env: &[(&str, &str)],
    ) -> OsKen {
        let notes = dir.join("osken-notes");
        let log = dir.join(format!("osken-{n}.log"));
        let out = std::fs::File::create(&log).expect("osken log");
        let err = out.try_clone().expect("osken log");
        let started = Instant::now();
        let proc = Proc::spawn(
            "osken-manager",
            osken_command()
                .args(listen)
                .arg(app)
                .env("SWITCHD_REGRESS_OSKEN_LOG", &notes)
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
        )
        .expect("start osken-manager");
        let mut k = OsKen { proc, notes, log };
        assert!(
            wait_long(180, || listening(port) || !k.proc.is_running()),
            "os-ken did not listen on {port} within 180 s:\n{}",
            k.log_text()
        );
        assert!(k.proc.is_running(), "os-ken exited:\n{}", k.log_text());
        println!(
            "os-ken listening on {host}:{port} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        k
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The app's notes (one per line, written by the test apps in regress/tests/osken).
    pub fn notes(&self) -> Vec<String> {
        std::fs::read_to_string(&self.notes)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.notes()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}
