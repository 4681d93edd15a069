//! A switchd of the test's own, and `switchctl` to drive it.
//!
//! # Starting one
//!
//! ```no_run
//! use regress::daemon::Daemon;
//!
//! // `switchd -d` on a free port of 127.0.0.1, nothing else configured.
//! let d = Daemon::start().expect("start switchd");
//! // Or with options: a given port, `-v`, the socket's group, more configuration.
//! let port = regress::free_tcp_port().expect("free port");
//! let d2 = Daemon::builder()
//!     .port(port)
//!     .verbose()
//!     .socket_group("nogroup")
//!     .config("switch \"edge\" {\n\tdatapath-id 1\n}\n")
//!     .start()
//!     .expect("start switchd");
//! assert!(d2.ctl_ok(&["show", "switches"]).starts_with("switch"));
//! ```
//!
//! Every daemon gets a scratch directory `/tmp/swt-switchd-<pid>-<n>/` holding:
//! - `switchd.conf`: the configuration, written by [`Config::text`]: `listen on 127.0.0.1
//!   port P`, `socket "DIR/switchd.sock"` (with `group "G"` if asked), `user "_switchd"`
//!   ([`USER`], created if missing), `chroot "DIR/empty"`, then the builder's
//!   [`config`](DaemonBuilder::config) text. These four settings are lines 1 to 4, so a
//!   test's own lines start at line 5.
//! - `switchd.sock`, the control socket; `empty/`, the children's chroot;
//! - `stderr`, where `switchd -d` logs ([`Daemon::log`]);
//! - `monitor-<n>`, the output of each [`Daemon::monitor`].
//!
//! [`DaemonBuilder::start`] returns once `switchctl show summary` is answered, so the
//! listeners are open and the children are up.
//!
//! # Driving it
//!
//! - [`Daemon::ctl`] runs `switchctl -s SOCKET ARGS` and returns its output;
//!   [`Daemon::ctl_ok`] asserts that it succeeded and returns its stdout;
//!   [`Daemon::ctl_json`] evaluates a Python expression over `-j` output; [`Daemon::rows`]
//!   gives the rows of a `switchctl -j show TABLE`; [`Switchctl::run_as`] runs switchctl as
//!   another user (from a copy that user can reach, wherever the checkout is).
//! - [`Daemon::monitor`] starts `switchctl monitor` into a file: [`Monitor::events`] reads
//!   what it printed so far, [`Monitor::wait_lines`] waits for lines.
//! - [`Daemon::write_config`] with [`Daemon::config`] (a [`Config`] to change) rewrites the
//!   configuration for a reload: `d.config().clone().with_port(p).text()`.
//! - [`Daemon::restart`] stops it and starts it again on its configuration file, as it is
//!   then, with the log going on in the same file.
//! - [`Daemon::signal`], [`Daemon::wait_exit`], [`Daemon::stop`]; [`Daemon::children`] and
//!   [`Daemon::child`] find the children by title (`switchd: ofp`), and
//!   [`crate::procfs`] looks at any process.
//! - [`Daemon::connections`] and [`Daemon::wait_connections`] count the connections of a
//!   listener; [`connect`] opens one to a port of 127.0.0.1.
//! - [`Daemon::log`] is what switchd logged so far; [`Daemon::wait_log`] waits for a line.
//! - [`Switchctl`] runs switchctl against any socket, also without a [`Daemon`] (a
//!   daemonizing switchd the test started itself). [`DaemonBuilder::prepare`] makes the
//!   directory and configuration without starting anything, for exactly that.
//! - For output: [`output_text`] (status, stdout, stderr for a failure message),
//!   [`eval_json`] (a Python expression over a JSON document), [`parse_rows`].
//!   [`crate::wait`] waits for any condition with a deadline.
//!
//! [`Switchctl`], [`Monitor`] and the output helpers are in `daemon/switchctl.rs`; the
//! daemon, its builder and its configuration are here.
//!
//! # Moving a test's own daemon helper here
//!
//! | a test's own helper | here |
//! |---|---|
//! | `Daemon::start(port)` writing `listen`/`socket`/`user`/`chroot` | `Daemon::builder().port(port).start()` (or `Daemon::start()` and [`Daemon::port`]) |
//! | `-d -v` | [`DaemonBuilder::verbose`] |
//! | a low soft descriptor limit set before exec | [`DaemonBuilder::soft_fd_limit`] |
//! | a longer wait for it to come up (a slow VM) | [`DaemonBuilder::ready_within`] |
//! | stop, then start again on the same configuration | [`Daemon::restart`] |
//! | extra configuration text | [`DaemonBuilder::config`]; later [`Config::with_extra`] and [`Daemon::write_config`] |
//! | `d.sock`, `d.conf`, `d.dir`, `d.stderr()` | [`Daemon::socket`], [`Daemon::conf`], [`Daemon::dir`], [`Daemon::log`] |
//! | `switchctl monitor` into a file, then `read_to_string` | [`Daemon::monitor`], [`Monitor::events`] |
//! | a deadline loop with `Instant` | [`crate::wait::wait_until`] / [`crate::wait::wait_for`] |
//! | OVS bridge + `Lan` + switchd (`Rig`) | [`crate::rig::OvsRig`] |
//!
//! Methods that start something return a `Result`; methods that check something (`ctl_ok`,
//! `wait_connections`, ...) are assertions and panic with switchctl's output and the
//! daemon's log.
//!
//! # Cleanup
//!
//! The daemon is a [`Proc`]: dropping the [`Daemon`] (also in a panicking test) stops it
//! (SIGTERM, then SIGKILL) and then removes its directory; its children die with it
//! (switchd sets PR_SET_PDEATHSIG on them). A test process that is killed outright runs no
//! destructor, so the daemon is started with PR_SET_PDEATHSIG = SIGKILL as well: it dies
//! with the thread that started it, which must therefore be the test's own thread (not a
//! helper thread that ends first). Its directory carries the test process's pid, so
//! [`crate::sweep()`] removes it once that process is dead, together with any `switchctl`
//! whose command line names it and any process chrooted into it.

mod switchctl;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::proc::Proc;
use crate::wait::wait_until;
use crate::workspace::{bin, ensure_user, TempDir};
use crate::{free_tcp_port, procfs};

pub use switchctl::{eval_json, output_text, parse_rows, Monitor, Switchctl};

/// The unprivileged user switchd's children run as.
pub const USER: &str = "_switchd";

/// Errors preparing or starting a daemon.
#[derive(thiserror::Error)]
pub enum DaemonError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("switchd exited ({status}) before it answered on its socket; its log:\n{log}")]
    Exited { status: ExitStatus, log: String },
    #[error("switchd did not answer on {} within {} s; its log:\n{log}", socket.display(), within.as_secs())]
    NotReady {
        socket: PathBuf,
        within: Duration,
        log: String,
    },
}

// `expect` prints the Debug form: make that the sentence, with the log's line breaks.
impl std::fmt::Debug for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

/// The configuration a test daemon runs with; [`Config::text`] is the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `listen on 127.0.0.1 port PORT`
    pub port: u16,
    /// `socket "PATH"`
    pub socket: PathBuf,
    /// `group "GROUP"` after the socket, if any.
    pub socket_group: Option<String>,
    /// `chroot "PATH"`
    pub chroot: PathBuf,
    /// Appended after the four lines above, from line 5 on.
    pub extra: String,
}

impl Config {
    /// The configuration every test needs and nothing more.
    pub fn new(port: u16, socket: &Path, chroot: &Path) -> Config {
        Config {
            port,
            socket: socket.to_path_buf(),
            socket_group: None,
            chroot: chroot.to_path_buf(),
            extra: String::new(),
        }
    }

    /// The text of the configuration file.
    pub fn text(&self) -> String {
        let group = match &self.socket_group {
            Some(g) => format!(" group \"{g}\""),
            None => String::new(),
        };
        format!(
            "listen on 127.0.0.1 port {}\nsocket \"{}\"{group}\nuser \"{USER}\"\nchroot \"{}\"\n{}",
            self.port,
            self.socket.display(),
            self.chroot.display(),
            self.extra
        )
    }

    pub fn with_port(mut self, port: u16) -> Config {
        self.port = port;
        self
    }

    pub fn with_socket(mut self, socket: &Path) -> Config {
        self.socket = socket.to_path_buf();
        self
    }

    /// The same settings with `extra` in place of the test's own lines.
    pub fn with_extra(mut self, extra: &str) -> Config {
        self.extra = extra.to_string();
        self
    }
}

/// How long [`DaemonBuilder::start`] waits for switchd to answer, unless told otherwise.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// How to start a [`Daemon`]; see the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct DaemonBuilder {
    port: Option<u16>,
    verbose: bool,
    socket_group: Option<String>,
    extra: String,
    netns: Option<String>,
    ready_within: Option<Duration>,
    soft_fd_limit: Option<libc::rlim_t>,
    args: Vec<String>,
}

impl DaemonBuilder {
    /// One more command-line argument (as `-H`, `hv1`).
    pub fn arg(mut self, arg: &str) -> DaemonBuilder {
        self.args.push(arg.to_string());
        self
    }

    /// Run switchd in this network namespace (`ip netns exec NAME switchd ...`): a second
    /// host of its own, with its own links. The control socket is a file, so switchctl
    /// reaches it from anywhere.
    pub fn netns(mut self, name: &str) -> DaemonBuilder {
        self.netns = Some(name.to_string());
        self
    }

    /// Listen on this port of 127.0.0.1 (default: a [`free_tcp_port`]).
    pub fn port(mut self, port: u16) -> DaemonBuilder {
        self.port = Some(port);
        self
    }

    /// Run `switchd -d -v` (debug logging) instead of `switchd -d`.
    pub fn verbose(mut self) -> DaemonBuilder {
        self.verbose = true;
        self
    }

    /// Give the control socket to this group (`socket "..." group "GROUP"`).
    pub fn socket_group(mut self, group: &str) -> DaemonBuilder {
        self.socket_group = Some(group.to_string());
        self
    }

    /// Configuration text after the common settings (switches, flows, echo-interval, ...).
    pub fn config(mut self, extra: &str) -> DaemonBuilder {
        self.extra = extra.to_string();
        self
    }

    /// Start switchd with this soft RLIMIT_NOFILE (the hard limit stays as it is), to see
    /// that it raises the soft limit itself.
    pub fn soft_fd_limit(mut self, limit: libc::rlim_t) -> DaemonBuilder {
        self.soft_fd_limit = Some(limit);
        self
    }

    /// Wait up to `timeout` (default 20 s) for switchd to answer, at the start and at each
    /// [`Daemon::restart`]: local switches probe the kernel first, which a freshly booted,
    /// emulated VM on a busy machine can take longer than that to do.
    pub fn ready_within(mut self, timeout: Duration) -> DaemonBuilder {
        self.ready_within = Some(timeout);
        self
    }

    /// Make the directory, the chroot, the user and the configuration file, without
    /// starting switchd.
    pub fn prepare(&self) -> Result<Prepared, DaemonError> {
        ensure_user(USER);
        let dir = TempDir::new("swt-switchd");
        // Whatever the umask: switchctl run as another user reaches the socket in it.
        std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(io("chmod the daemon's directory"))?;
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).map_err(io("create the chroot directory"))?;
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(io("chmod the chroot directory"))?;
        let port = match self.port {
            Some(p) => p,
            None => free_tcp_port().map_err(io("find a free TCP port"))?,
        };
        let mut config = Config::new(port, &dir.0.join("switchd.sock"), &chroot);
        config.socket_group = self.socket_group.clone();
        config.extra = self.extra.clone();
        let conf = dir.0.join("switchd.conf");
        std::fs::write(&conf, config.text()).map_err(io("write the configuration"))?;
        Ok(Prepared {
            ctl: Switchctl::new(&config.socket),
            log: dir.0.join("stderr"),
            launch: Launch {
                conf,
                verbose: self.verbose,
                netns: self.netns.clone(),
                ready_within: self.ready_within.unwrap_or(READY_WITHIN),
                soft_fd_limit: self.soft_fd_limit,
                args: std::sync::Arc::new(self.args.clone()),
            },
            config,
            dir,
        })
    }

    /// Start `switchd -d` and wait until it answers `switchctl show summary`.
    pub fn start(&self) -> Result<Daemon, DaemonError> {
        self.prepare()?.start()
    }
}

/// A daemon's directory and configuration, made but not started
/// ([`DaemonBuilder::prepare`]). Dropping it removes the directory.
#[derive(Debug)]
pub struct Prepared {
    ctl: Switchctl,
    config: Config,
    log: PathBuf,
    launch: Launch,
    dir: TempDir,
}

impl Prepared {
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration file.
    pub fn conf(&self) -> &Path {
        &self.launch.conf
    }

    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// switchctl against the socket the configuration names.
    pub fn switchctl(&self) -> &Switchctl {
        &self.ctl
    }

    /// Start `switchd -d [-v] -f CONF` and wait until it answers.
    pub fn start(self) -> Result<Daemon, DaemonError> {
        let err = std::fs::File::create(&self.log).map_err(io("create the log file"))?;
        let proc = self.launch.spawn(err)?;
        let mut d = Daemon {
            proc,
            ctl: self.ctl,
            config: self.config,
            log: self.log,
            launch: self.launch,
            dir: self.dir,
        };
        d.wait_ready()?;
        Ok(d)
    }
}

/// How switchd is run, the first time and at a [`Daemon::restart`].
#[derive(Debug)]
struct Launch {
    conf: PathBuf,
    verbose: bool,
    netns: Option<String>,
    ready_within: Duration,
    soft_fd_limit: Option<libc::rlim_t>,
    /// Shared, one pointer wide: a Daemon stays small in the tests' enums.
    args: std::sync::Arc<Vec<String>>,
}

impl Launch {
    /// Spawn `switchd -d [-v] -f CONF` (in the namespace, if any), logging into `log`.
    fn spawn(&self, log: std::fs::File) -> Result<Proc, DaemonError> {
        let mut cmd = match &self.netns {
            // `ip netns exec` execs switchd in place, so the death signal set below holds.
            Some(ns) => {
                let mut c = std::process::Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin("switchd"));
                c
            }
            None => std::process::Command::new(bin("switchd")),
        };
        cmd.arg("-d");
        if self.verbose {
            cmd.arg("-v");
        }
        cmd.args(self.args.iter());
        cmd.arg("-f")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let us = std::process::id();
        let fd_limit = match self.soft_fd_limit {
            Some(soft) => {
                let mut l = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: getrlimit fills the struct we own.
                if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
                    return Err(io("getrlimit RLIMIT_NOFILE")(
                        std::io::Error::last_os_error(),
                    ));
                }
                l.rlim_cur = soft;
                Some(l)
            }
            None => None,
        };
        // SAFETY: prctl, getppid and setrlimit are async-signal-safe, and nothing is
        // allocated.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(l) = &fd_limit {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, l) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // Die with the test even if it is SIGKILLed and runs no destructor.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The test died between fork and prctl: no signal will come.
                if libc::getppid() as u32 != us {
                    return Err(std::io::Error::other("the test process is gone"));
                }
                Ok(())
            });
        }
        Proc::spawn("switchd", &mut cmd).map_err(io("start switchd"))
    }
}

/// A running `switchd -d` of the test's own; see the [module documentation](self).
#[derive(Debug)]
pub struct Daemon {
    // Declaration order is drop order: the daemon stops before its directory goes.
    proc: Proc,
    ctl: Switchctl,
    config: Config,
    log: PathBuf,
    launch: Launch,
    dir: TempDir,
}

static MONITORS: AtomicU32 = AtomicU32::new(0);

impl Daemon {
    /// `switchd -d` on a free port; the same as `Daemon::builder().start()`.
    pub fn start() -> Result<Daemon, DaemonError> {
        Daemon::builder().start()
    }

    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::default()
    }

    /// The port of the listener the configuration started with.
    pub fn port(&self) -> u16 {
        self.config.port
    }

    /// The control socket.
    pub fn socket(&self) -> &Path {
        &self.config.socket
    }

    /// The children's chroot directory.
    pub fn chroot(&self) -> &Path {
        &self.config.chroot
    }

    /// The configuration file.
    pub fn conf(&self) -> &Path {
        &self.launch.conf
    }

    /// The configuration the daemon was started with (not what [`Daemon::write_config`]
    /// wrote since).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The daemon's scratch directory (a place for a test's own files too).
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// Replace the configuration file (for `switchctl reload` or SIGHUP).
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.conf(), text)
            .unwrap_or_else(|e| panic!("write {}: {e}", self.conf().display()));
    }

    /// What switchd logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the parent process is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// The pid of the parent process.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn signal(&self, sig: Signal) -> nix::Result<()> {
        self.proc.signal(sig)
    }

    /// Wait up to `timeout` for the daemon to exit by itself; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.proc.wait_timeout(timeout)
    }

    /// Stop the daemon now (SIGTERM, SIGKILL after two seconds); the directory stays until
    /// the `Daemon` is dropped.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.proc.stop()
    }

    /// Stop the daemon (SIGTERM) and start it again on its configuration file as it is now;
    /// its log goes on in the same file. Returns once it answers, as the first start did.
    pub fn restart(&mut self) -> Result<(), DaemonError> {
        self.proc.stop();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .map_err(io("open the log file"))?;
        self.proc = self.launch.spawn(log)?;
        self.wait_ready()
    }

    /// Wait until switchd answers `switchctl show summary`, or has exited.
    fn wait_ready(&mut self) -> Result<(), DaemonError> {
        let mut exited = None;
        let ready = wait_until(self.launch.ready_within, Duration::from_millis(50), || {
            if !self.proc.is_running() {
                exited = self.proc.stop();
                return true;
            }
            self.config.socket.exists() && self.ctl.run(&["show", "summary"]).status.success()
        });
        match (ready, exited) {
            (true, None) => Ok(()),
            (_, Some(status)) => Err(DaemonError::Exited {
                status,
                log: self.log(),
            }),
            (false, None) => Err(DaemonError::NotReady {
                socket: self.config.socket.clone(),
                within: self.launch.ready_within,
                log: self.log(),
            }),
        }
    }

    /// switchctl against this daemon's socket.
    pub fn switchctl(&self) -> &Switchctl {
        &self.ctl
    }

    /// `switchctl -s SOCKET ARGS...`
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl.run(args)
    }

    /// `switchctl -s SOCKET ARGS...`, which must succeed; its stdout.
    ///
    /// # Panics
    /// If switchctl fails, with its stderr and the daemon's log.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "switchctl {args:?}: {}\nswitchd stderr:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Evaluate the Python expression `expr` over the JSON document that `switchctl ARGS`
    /// prints (`d` is the document), as JSON text; see [`eval_json`].
    ///
    /// # Panics
    /// If switchctl fails or does not print JSON.
    pub fn ctl_json(&self, args: &[&str], expr: &str) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "switchctl {args:?}: {}",
            output_text(&out)
        );
        eval_json(&out.stdout, expr)
    }

    /// The rows of `switchctl -j show TABLE`.
    pub fn rows(&self, table: &str) -> Vec<Vec<String>> {
        parse_rows(&self.ctl_ok(&["-j", "show", table]))
    }

    /// Connections on the listener on 127.0.0.1:`port`, as `switchctl -j show summary`
    /// reports them; `None` if there is no such listener.
    pub fn connections(&self, port: u16) -> Option<u64> {
        let n = self.ctl_json(
            &["-j", "show", "summary"],
            &format!(
                "[l['connections'] for l in d['listeners'] if l['address'] == '127.0.0.1:{port}']"
            ),
        );
        n.trim_matches(|c| c == '[' || c == ']').parse().ok()
    }

    /// Wait up to 5 s until the listener on `port` has `n` connections.
    ///
    /// # Panics
    /// If it does not, with the summary.
    pub fn wait_connections(&self, port: u16, n: u64) {
        assert!(
            wait_until(Duration::from_secs(5), Duration::from_millis(20), || self
                .connections(port)
                == Some(n)),
            "listener {port} never had {n} connections: {}",
            self.ctl_json(&["-j", "show", "summary"], "d")
        );
    }

    /// Start `switchctl monitor`, writing into `monitor-<n>` in the daemon's directory, and
    /// give it 300 ms to subscribe (switchctl says nothing when it has).
    pub fn monitor(&self) -> std::io::Result<Monitor> {
        let file = self.dir.0.join(format!(
            "monitor-{}",
            MONITORS.fetch_add(1, Ordering::Relaxed)
        ));
        let before = self.monitors();
        let m = self.ctl.monitor(&file)?;
        // Subscribed once `show summary` counts one monitor more (a fixed wait was too
        // short under load: an event could come before the subscription and be missed).
        let subscribed =
            crate::wait::wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
                self.monitors() > before
            });
        if !subscribed {
            return Err(std::io::Error::other(
                "switchctl monitor did not subscribe within 30 s",
            ));
        }
        Ok(m)
    }

    /// How many `switchctl monitor` clients the daemon counts (`show summary`).
    fn monitors(&self) -> u32 {
        self.ctl_ok(&["show", "summary"])
            .lines()
            .find_map(|l| l.strip_prefix("monitors:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The daemon's child processes, as (title, pid), sorted by title.
    pub fn children(&self) -> Vec<(String, u32)> {
        procfs::children(self.pid())
    }

    /// The pid of the child titled `switchd: ROLE` (`control`, `ofp`, `datapath`).
    ///
    /// # Panics
    /// If there is none, with the daemon's log.
    pub fn child(&self, role: &str) -> u32 {
        let title = format!("switchd: {role}");
        self.children()
            .into_iter()
            .find(|(t, _)| *t == title)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no {title} process; stderr:\n{}", self.log()))
    }

    /// Wait up to `timeout` until the log contains `text`; whether it did.
    pub fn wait_log(&self, text: &str, timeout: Duration) -> bool {
        wait_until(timeout, Duration::from_millis(100), || {
            self.log().contains(text)
        })
    }
}

/// A TCP connection to 127.0.0.1:`port` (a switchd listener), given up after 2 s.
pub fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_puts_the_test_lines_from_line_5() {
        let c = Config::new(7000, Path::new("/d/s.sock"), Path::new("/d/empty"))
            .with_extra("echo-interval 1\n");
        assert_eq!(
            c.text(),
            "listen on 127.0.0.1 port 7000\nsocket \"/d/s.sock\"\nuser \"_switchd\"\n\
             chroot \"/d/empty\"\necho-interval 1\n"
        );
        let mut g = c.with_port(7001).with_extra("");
        g.socket_group = Some("nogroup".into());
        assert_eq!(
            g.text().lines().nth(1),
            Some("socket \"/d/s.sock\" group \"nogroup\"")
        );
        assert_eq!(g.text().lines().count(), 4);
    }
}
