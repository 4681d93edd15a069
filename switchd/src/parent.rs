//! The parent process: root. Reads the configuration, opens what needs privilege, starts
//! and supervises the children, and applies reloads.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::args::Args;
use crate::config::{self, listen_name, Config, Listen};
use crate::ctlproto::{Event, EventKind};
use crate::ipc::{self, Channel};
use crate::msg::{self, ConfiguredFlow, Init, Msg, Role, RuntimeConfig, SwitchConfig};
use crate::{fatalx, log, privsep, title};

/// The command line that tells `useradd` to create the unprivileged user.
fn useradd_hint(user: &str, chroot: &Path) -> String {
    format!(
        "useradd -r -s /usr/sbin/nologin -d {} {user}",
        chroot.display()
    )
}

/// `switchd`'s main function when started by a user: never returns.
pub fn main(args: Args) -> ! {
    log::init("parent", true, args.verbose);
    let config = match config::load(&args.file, &args.defines, &args.overrides) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            if !args.noaction {
                eprintln!("switchd: no valid configuration");
            }
            std::process::exit(1);
        }
    };
    if args.noaction {
        // The certificates are part of the configuration: they are read and checked too.
        if let Err(e) = crate::tls::read_all(&config) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        // Every hypervisor's part must compile, not only this host's.
        match crate::vnet::check_all(&config, args.overrides.hypervisor.as_deref()) {
            Ok(line) if !line.is_empty() => eprintln!("{line}"),
            Ok(_) => {}
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                std::process::exit(1);
            }
        }
        if args.verbose > 0 {
            // The file's form: the compiled switch of the virtual networks is no part of it.
            let mut shown = config.clone();
            shown.switches.retain(|s| s.name != crate::vnet::SWITCH);
            print!("{shown}");
        }
        eprintln!("configuration OK");
        std::process::exit(0);
    }
    parent(args, config)
}

fn parent(mut args: Args, config: Config) -> ! {
    // May do: everything root may (it is root), but it keeps to:
    // - reading the configuration (startup, SIGHUP, switchctl reload);
    // - opening privileged things and passing them down: OpenFlow listening sockets (ports
    //   below 1024 need privilege), the control socket (owned by root, group-accessible),
    //   the AF_PACKET socket the datapath sends packet-outs on (CAP_NET_RAW);
    //   creating the chroot directory;
    // - starting, supervising and stopping the children.
    // It parses nothing from the network and nothing from switchctl: requests reach it
    // only as typed messages from the control process.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        fatalx!("need root privileges");
    }
    match privsep::raise_nofile() {
        Ok(n) => tracing::debug!("descriptor limit {n}"),
        Err(e) => tracing::warn!("cannot raise the descriptor limit: {e}"),
    }
    let (uid, gid) = match privsep::lookup_user(&config.user) {
        Ok(Some(ids)) => ids,
        Ok(None) => fatalx!(
            "user {} does not exist; create it with: {}",
            config.user,
            useradd_hint(&config.user, &config.chroot)
        ),
        Err(e) => fatalx!("looking up user {}: {e}", config.user),
    };
    if uid == 0 {
        fatalx!(
            "user {} is root; the children must run unprivileged",
            config.user
        );
    }
    if let Err(e) = prepare_chroot(&config.chroot) {
        fatalx!("chroot directory {}: {e}", config.chroot.display());
    }
    let mut listeners = Vec::new();
    for l in &config.listen {
        match open_listener(l) {
            Ok(fd) => listeners.push((listen_name(l), fd)),
            Err(e) => fatalx!("listen on {}: {e}", listen_name(l)),
        }
    }
    let tls = match crate::tls::read_all(&config) {
        Ok(t) => t,
        Err(e) => fatalx!("{e}"),
    };
    let control_socket = match open_control_socket(&config.socket, config.socket_group.as_deref()) {
        Ok(fd) => fd,
        Err(e) => fatalx!("control socket {}: {e}", config.socket.display()),
    };
    let metrics_socket = config.metrics.map(|a| match crate::metrics::open(a) {
        Ok(fd) => (a, fd),
        Err(e) => fatalx!("metrics listen on {a}: {e}"),
    });
    // Without it only packet-outs fail (they are refused); the rest works.
    let packet_socket = match crate::datapath::packetout::open_socket() {
        Ok(fd) => Some(fd),
        Err(e) => {
            tracing::warn!("cannot open an AF_PACKET socket for packet-outs: {e}");
            None
        }
    };

    if !args.debug {
        // daemon() changes to /, and reload re-reads the file by name: make it absolute
        // first, or `switchd -f x.conf` could never reload.
        match std::path::absolute(&args.file) {
            Ok(p) => args.file = p,
            Err(e) => fatalx!("{}: {e}", args.file.display()),
        }
        if let Err(e) = nix::unistd::daemon(false, false) {
            fatalx!("daemon: {e}");
        }
        log::to_syslog();
    }
    if let Err(e) = title::set_cmdline(&Role::Parent.title()) {
        tracing::debug!("cannot set the process title: {e}");
    }

    let started_ms = Event::now(EventKind::Reloaded {
        config_file: String::new(),
    })
    .time_ms;
    let init = Init {
        uid,
        gid,
        user: config.user.clone(),
        chroot: config.chroot.clone(),
        foreground: args.debug,
        verbose: args.verbose,
        started_ms,
        parent_pid: std::process::id(),
        config_file: args.file.display().to_string(),
        config: runtime_config(&config),
    };

    // Start the children before any runtime exists: fork+exec from a single thread.
    let mut children: Vec<(Role, u32, OwnedFd)> = Vec::new();
    for role in Role::CHILDREN {
        match spawn(role) {
            Ok((pid, fd)) => children.push((role, pid, fd)),
            Err(e) => {
                tracing::warn!("cannot start {role}: {e}");
                kill_children(children.iter().map(|(r, p, _)| (*r, *p)).collect(), true);
                std::process::exit(1);
            }
        }
    }
    let setup = send_setup(
        &children,
        &init,
        listeners,
        &config.socket,
        control_socket,
        packet_socket,
        tls,
    );
    let setup = setup.and_then(|()| crate::metrics::send_socket(&children, metrics_socket));
    if let Err(e) = setup {
        tracing::warn!("setting up the children: {e}");
        kill_children(children.iter().map(|(r, p, _)| (*r, *p)).collect(), true);
        std::process::exit(1);
    }

    drop(init);
    let mut config = config;
    forget_flows(&mut config);

    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fatalx!("cannot start the runtime: {e}"),
    };
    let socket_path = config.socket.clone();
    let status = rt.block_on(async move {
        let mut p = Parent {
            args,
            config,
            pids: HashMap::new(),
            chans: HashMap::new(),
            barriers: HashMap::new(),
            next_barrier: 0,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        for (role, pid, fd) in children {
            p.pids.insert(role, pid);
            match Channel::new(fd, role) {
                Ok(c) => {
                    let c = Arc::new(c);
                    p.chans.insert(role, c.clone());
                    tokio::spawn(read_child(c, tx.clone()));
                }
                Err(e) => {
                    tracing::warn!("channel to {role}: {e}");
                    return p.shutdown(1);
                }
            }
        }
        p.run(rx).await
    });
    let _ = std::fs::remove_file(&socket_path);
    std::process::exit(status)
}

/// The parent has handed the flow lines to the children, and nothing of it reads them
/// again (a reload parses the file anew): free them, and give the memory back.
fn forget_flows(c: &mut Config) {
    for s in &mut c.switches {
        s.flows = Vec::new();
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only adjusts glibc's own allocator state.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What the children are told of the configuration `c`.
pub fn runtime_config(c: &Config) -> RuntimeConfig {
    RuntimeConfig {
        listen: c.listen.iter().map(listen_name).collect(),
        timeout: c.timeout,
        cache: c.cache,
        echo_interval: c.echo_interval,
        switches: c.switches.iter().map(switch_config).collect(),
        networks: Box::new(crate::vnet::show::vms(c)),
    }
}

fn switch_config(s: &conf::Switch) -> SwitchConfig {
    SwitchConfig {
        name: s.name.clone(),
        bridge: s.bridge.clone(),
        datapath_id: s.datapath_id,
        ports: s
            .port_numbers()
            .into_iter()
            .map(|(n, p)| (n.to_string(), p))
            .collect(),
        table_miss: s.table_miss,
        flows: ConfiguredFlow::all(&s.flows, s.is_local()),
        forward_to: s.forward_to.clone(),
        also_forward_to: s.also_forward_to.clone(),
        fail_mode: s.fail_mode,
        take_ports: s.take_ports,
        tunnels: s
            .ports
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.tunnel?)))
            .collect(),
        meters: s.meters.clone(),
    }
}

/// The chroot directory must exist, be root's, and be writable by nobody else: a directory
/// the unprivileged user could write to would let a compromised child plant files where it
/// lives. Created 0755 if absent.
fn prepare_chroot(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create: {e}"))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot chmod: {e}"))?;
        tracing::info!("created chroot directory {}", dir.display());
    }
    let md = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !md.is_dir() {
        return Err("not a directory".into());
    }
    if md.uid() != 0 || md.mode() & 0o022 != 0 {
        return Err("must be owned by root and writable by nobody else".into());
    }
    Ok(())
}

fn open_listener(l: &Listen) -> std::io::Result<OwnedFd> {
    // std sets SO_REUSEADDR and close-on-exec.
    let s = std::net::TcpListener::bind((l.addr, l.port))?;
    Ok(OwnedFd::from(s))
}

/// Create the control socket: mode 0660, owner root, group `group` (root if none). It is
/// bound under a umask that leaves it 0600 until chown and chmod are done, so there is no
/// moment when the wrong group could connect.
fn open_control_socket(path: &Path, group: Option<&str>) -> Result<OwnedFd, String> {
    let gid = match group {
        None => 0,
        Some(g) => match privsep::lookup_group(g) {
            Ok(Some(gid)) => gid,
            Ok(None) => return Err(format!("socket group {g} does not exist")),
            Err(e) => return Err(format!("looking up group {g}: {e}")),
        },
    };
    if let Ok(md) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !md.file_type().is_socket() {
            return Err("exists and is not a socket".into());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err("in use; is another switchd running?".into());
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot remove stale socket: {e}"))?;
    }
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = std::os::unix::net::UnixListener::bind(path);
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(old) };
    let l = bound.map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(path, Some(0), Some(gid)).map_err(|e| format!("chown: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("chmod: {e}"))?;
    Ok(OwnedFd::from(l))
}

/// Start one child: re-execute our own binary with an argv of only its title, its channel
/// to us on descriptor 3, an empty environment, and stdin on /dev/null.
fn spawn(role: Role) -> std::io::Result<(u32, OwnedFd)> {
    let (ours, theirs) = ipc::pair()?;
    let theirs_raw = theirs.as_raw_fd();
    let parent_pid = std::process::id() as libc::pid_t;
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0(role.title()).env_clear().stdin(Stdio::null());
    // The test-only request of sandbox.rs is the one variable a child is given.
    if let Some(v) = std::env::var_os(crate::sandbox::PROBE_ENV) {
        cmd.env(crate::sandbox::PROBE_ENV, v);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fd = crate::child::PARENT_FD;
            if theirs_raw == fd {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(theirs_raw, fd) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Die with the parent from the very start; the child sets it again after
            // changing credentials, which clears it.
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent_pid {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(theirs);
    Ok((child.id(), ours))
}

/// Give each child its init, its peer channels and its privileged descriptors.
fn send_setup(
    children: &[(Role, u32, OwnedFd)],
    init: &Init,
    listeners: Vec<(String, OwnedFd)>,
    socket_path: &Path,
    control_socket: OwnedFd,
    packet_socket: Option<OwnedFd>,
    tls: Vec<(Role, Option<crate::tls::Material>)>,
) -> Result<(), ipc::IpcError> {
    let chan = |role: Role| {
        children
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, _, fd)| fd.as_fd())
            .expect("every child was started")
    };
    for role in Role::CHILDREN {
        let init = Init {
            config: init.config.for_role(role),
            ..init.clone()
        };
        ipc::send_blocking(chan(role), &Msg::Init(init), &[])?;
    }
    // One channel for every pair of children, as OpenBSD's proc_connect does.
    for (a, b) in [
        (Role::Control, Role::Ofp),
        (Role::Control, Role::Datapath),
        (Role::Ofp, Role::Datapath),
    ] {
        let (fa, fb) = ipc::pair()?;
        ipc::send_blocking(chan(a), &Msg::PeerChannel { peer: b }, &[fa.as_raw_fd()])?;
        ipc::send_blocking(chan(b), &Msg::PeerChannel { peer: a }, &[fb.as_raw_fd()])?;
    }
    ipc::send_blocking(
        chan(Role::Control),
        &Msg::ControlSocket {
            path: socket_path.display().to_string(),
        },
        &[control_socket.as_raw_fd()],
    )?;
    for (listener, fd) in &listeners {
        ipc::send_blocking(
            chan(Role::Ofp),
            &Msg::ListenerAdd {
                listener: listener.clone(),
            },
            &[fd.as_raw_fd()],
        )?;
    }
    if let Some(fd) = &packet_socket {
        ipc::send_blocking(chan(Role::Datapath), &Msg::PacketSocket, &[fd.as_raw_fd()])?;
    }
    for (role, material) in tls {
        ipc::send_blocking(chan(role), &Msg::Tls { material }, &[])?;
    }
    for role in Role::CHILDREN {
        ipc::send_blocking(chan(role), &Msg::SetupDone, &[])?;
    }
    // Our copies of the listening sockets close here: ofp holds them now, and removing a
    // listener on reload must really close the port.
    Ok(())
}

async fn read_child(chan: Arc<Channel>, tx: mpsc::UnboundedSender<(Role, Option<Msg>)>) {
    let role = chan.peer;
    loop {
        match chan.recv().await {
            Ok(Some((m, fds))) => {
                if !fds.is_empty() {
                    tracing::warn!("BUG: {role} sent descriptors with {}", m.kind());
                }
                if tx.send((role, Some(m))).is_err() {
                    return;
                }
            }
            Ok(None) => {
                let _ = tx.send((role, None));
                return;
            }
            Err(ipc::IpcError::Io(e)) => {
                tracing::debug!("channel to {role}: {e}");
                let _ = tx.send((role, None));
                return;
            }
            Err(e) => tracing::warn!("BUG: bad message from {role}: {e}"),
        }
    }
}

struct Parent {
    args: Args,
    config: Config,
    pids: HashMap<Role, u32>,
    chans: HashMap<Role, Arc<Channel>>,
    /// Reloads requested by switchctl waiting for ofp: barrier id -> request id and the
    /// notes for its answer.
    barriers: HashMap<u64, (u64, Vec<String>)>,
    next_barrier: u64,
}

impl Parent {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<(Role, Option<Msg>)>) -> i32 {
        let mut sigs = Vec::new();
        for kind in [
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::hangup(),
            SignalKind::child(),
        ] {
            match signal(kind) {
                Ok(s) => sigs.push(s),
                Err(e) => {
                    tracing::warn!("cannot catch signals: {e}");
                    return self.shutdown(1);
                }
            }
        }
        let [term, int, hup, chld] = &mut sigs[..] else {
            return self.shutdown(1);
        };
        // A child that failed before we caught SIGCHLD would go unnoticed otherwise.
        if self.reap() {
            return self.shutdown(1);
        }
        tracing::info!("started");
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::info!("received SIGTERM, exiting");
                    return self.shutdown(0);
                }
                _ = int.recv() => {
                    tracing::info!("received SIGINT, exiting");
                    return self.shutdown(0);
                }
                _ = hup.recv() => {
                    tracing::info!("received SIGHUP, reloading the configuration");
                    let _ = self.reload_from(None).await;
                }
                _ = chld.recv() => {
                    if self.reap() {
                        return self.shutdown(1);
                    }
                }
                Some((role, m)) = rx.recv() => match m {
                    Some(m) => self.dispatch(role, m).await,
                    // The child is going away; SIGCHLD will say how.
                    None => tracing::debug!("channel to {role} closed"),
                },
            }
        }
    }

    async fn dispatch(&mut self, from: Role, m: Msg) {
        match from {
            Role::Control => self.dispatch_control(m).await,
            Role::Ofp => self.dispatch_ofp(m).await,
            Role::Datapath | Role::Parent => msg::unexpected(from, &m),
        }
    }

    async fn dispatch_ofp(&mut self, m: Msg) {
        match m {
            Msg::BarrierAck { id } => {
                if let Some(req) = self.barriers.remove(&id) {
                    self.send(
                        Role::Control,
                        &Msg::ReloadResult {
                            id: req.0,
                            errors: Vec::new(),
                            notes: req.1,
                        },
                    )
                    .await;
                }
            }
            other => msg::unexpected(Role::Ofp, &other),
        }
    }

    async fn dispatch_control(&mut self, m: Msg) {
        match m {
            Msg::ReloadRequest { id, file, text } => {
                let file = file.map(PathBuf::from);
                match &file {
                    Some(f) => tracing::info!("switchctl load {}", f.display()),
                    None => tracing::info!("reload requested by switchctl"),
                }
                let r = match (&file, text) {
                    (Some(f), Some(t)) => self.reload_text(f, &t).await,
                    (Some(f), None) => Err(self
                        .reject(vec![format!(
                            "{}: switchctl sent no text; the file is not read by switchd",
                            f.display()
                        )])
                        .await),
                    (None, _) => self.reload_from(None).await,
                };
                match r {
                    Ok(notes) => {
                        // Answer once ofp has acted on the listener changes.
                        self.next_barrier += 1;
                        let b = self.next_barrier;
                        self.barriers.insert(b, (id, notes));
                        self.send(Role::Ofp, &Msg::Barrier { id: b }).await;
                    }
                    Err(errors) => {
                        self.send(
                            Role::Control,
                            &Msg::ReloadResult {
                                id,
                                errors,
                                notes: Vec::new(),
                            },
                        )
                        .await;
                    }
                }
            }
            Msg::ProcStatsRequest { id } => {
                let procs = crate::metrics::proc_stats(&self.pids);
                self.send(Role::Control, &Msg::ProcStats { id, procs })
                    .await;
            }
            Msg::LogRequest { verbose } => {
                let level = if verbose { self.args.verbose.max(1) } else { 0 };
                log::set_verbose(level);
                tracing::info!("logging {}", if verbose { "verbose" } else { "brief" });
                for role in Role::CHILDREN {
                    self.send(role, &Msg::Verbose { verbose: level }).await;
                }
            }
            other => msg::unexpected(Role::Control, &other),
        }
    }

    async fn send(&self, to: Role, m: &Msg) {
        self.send_with_fds(to, m, &[]).await
    }

    async fn send_with_fds(&self, to: Role, m: &Msg, fds: &[std::os::fd::RawFd]) {
        if let Some(c) = self.chans.get(&to) {
            if let Err(e) = c.send_with_fds(m, fds).await {
                tracing::warn!("sending {} to {to}: {e}", m.kind());
            }
        }
    }

    async fn event(&self, kind: EventKind) {
        self.send(Role::Control, &Msg::Event(Event::now(kind)))
            .await;
    }

    /// Re-read the configuration (from `path` if given, `switchctl load`, else the `-f`
    /// file); if it is valid, apply the difference without restarting anything, else keep
    /// the running one. `Ok` holds notes on the settings only a restart applies; `Err` the
    /// errors.
    async fn reload_from(&mut self, path: Option<&Path>) -> Result<Vec<String>, Vec<String>> {
        let path = path.unwrap_or(&self.args.file).to_path_buf();
        let file = path.display().to_string();
        let new = match config::load(&path, &self.args.defines, &self.args.overrides) {
            Ok(c) => c,
            Err(errors) => return Err(self.reject(errors).await),
        };
        self.apply(new, file).await
    }

    /// `switchctl load`: the text switchctl read from `path` as its user.
    async fn reload_text(&mut self, path: &Path, text: &str) -> Result<Vec<String>, Vec<String>> {
        let file = path.display().to_string();
        let new = match config::load_text(&file, text, &self.args.defines, &self.args.overrides) {
            Ok(c) => c,
            Err(errors) => return Err(self.reject(errors).await),
        };
        self.apply(new, file).await
    }

    /// Apply a valid configuration read from `file`.
    async fn apply(&mut self, new: Config, file: String) -> Result<Vec<String>, Vec<String>> {
        // What the children were set up with cannot change under them.
        let mut notes = Vec::new();
        for (what, changed) in [
            ("socket", new.socket != self.config.socket),
            ("socket group", new.socket_group != self.config.socket_group),
            ("user", new.user != self.config.user),
            ("chroot", new.chroot != self.config.chroot),
            ("metrics listen", new.metrics != self.config.metrics),
        ] {
            if changed {
                let note = format!(
                    "{what} changed in {file}: not applied, it takes effect when switchd restarts"
                );
                tracing::warn!("{note}");
                notes.push(note);
            }
        }
        let old: Vec<String> = self.config.listen.iter().map(listen_name).collect();
        let wanted: Vec<String> = new.listen.iter().map(listen_name).collect();
        let mut opened = Vec::new();
        let mut errors = Vec::new();
        for l in &new.listen {
            let name = listen_name(l);
            if !old.contains(&name) {
                match open_listener(l) {
                    Ok(fd) => opened.push((name, fd)),
                    Err(e) => errors.push(format!("{file}: listen on {name}: {e}")),
                }
            }
        }
        let tls = crate::tls::read_all(&new).map_err(|e| errors.push(format!("{file}: {e}")));
        if !errors.is_empty() {
            // The sockets opened so far close when `opened` drops.
            return Err(self.reject(errors).await);
        }
        // New certificates for new connections (before a new listener can take one); the
        // established connections keep theirs.
        for (role, material) in tls.unwrap_or_default() {
            self.send(role, &Msg::Tls { material }).await;
        }
        for (name, fd) in &opened {
            tracing::info!("listening on {name}");
            self.send_with_fds(
                Role::Ofp,
                &Msg::ListenerAdd {
                    listener: name.clone(),
                },
                &[fd.as_raw_fd()],
            )
            .await;
        }
        for name in old.iter().filter(|n| !wanted.contains(n)) {
            tracing::info!("no longer listening on {name}");
            self.send(
                Role::Ofp,
                &Msg::ListenerRemove {
                    listener: name.clone(),
                },
            )
            .await;
        }
        // Keep what cannot be applied without a restart, so that `-nv`-style comparisons
        // and the next reload see what actually runs.
        let mut applied = new;
        applied.socket = self.config.socket.clone();
        applied.socket_group = self.config.socket_group.clone();
        applied.user = self.config.user.clone();
        applied.chroot = self.config.chroot.clone();
        applied.metrics = self.config.metrics;
        self.config = applied;
        let rc = runtime_config(&self.config);
        for role in Role::CHILDREN {
            self.send(role, &Msg::Config(rc.for_role(role))).await;
        }
        drop(rc);
        forget_flows(&mut self.config);
        tracing::info!("configuration reloaded from {file}");
        self.event(EventKind::Reloaded { config_file: file }).await;
        Ok(notes)
    }

    async fn reject(&self, errors: Vec<String>) -> Vec<String> {
        for e in &errors {
            tracing::warn!("{e}");
        }
        tracing::warn!("configuration not reloaded; the running configuration stays");
        self.event(EventKind::ReloadRejected {
            errors: errors.clone(),
        })
        .await;
        errors
    }

    /// Reap every child that has exited; true if any had. Each one is named, with why.
    fn reap(&mut self) -> bool {
        let mut lost = false;
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return lost,
                Ok(status) => {
                    let Some(pid) = status.pid() else { return lost };
                    let role = self
                        .pids
                        .iter()
                        .find(|(_, p)| **p as i32 == pid.as_raw())
                        .map(|(r, _)| *r);
                    if let Some(role) = role {
                        self.pids.remove(&role);
                        tracing::warn!("lost child: {role} (pid {pid}) {}", describe(&status));
                        lost = true;
                    }
                }
            }
        }
    }

    /// Stop every child and return `status`.
    ///
    /// A child that dies is not restarted: the set of processes shares state (channels
    /// between every pair, listeners handed to ofp, sessions that datapath and ofp hold
    /// together), so a restarted child would come back into a world whose other half
    /// assumes it never left. As OpenBSD's daemons do, we shut down cleanly and loudly and
    /// leave restarting the whole daemon to the service manager (Restart=on-failure in
    /// etc/switchd.service), which starts from a state that is consistent by construction.
    fn shutdown(&mut self, status: i32) -> i32 {
        self.chans.clear();
        let children: Vec<(Role, u32)> = self.pids.drain().collect();
        kill_children(children, status == 0);
        if status == 0 {
            tracing::info!("exiting");
        } else {
            tracing::warn!("shut down after losing a child");
        }
        status
    }
}

fn describe(status: &WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, sig, core) => format!(
            "terminated by signal {} ({sig}){}",
            *sig as i32,
            if *core { ", core dumped" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}

/// SIGTERM every child, give them a moment, SIGKILL whoever is left, and reap them all.
fn kill_children(children: Vec<(Role, u32)>, quiet: bool) {
    for (_, pid) in &children {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut left: Vec<(Role, u32)> = children;
    while !left.is_empty() {
        left.retain(|(role, pid)| {
            match waitpid(Pid::from_raw(*pid as i32), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => true,
                Ok(status) => {
                    if !quiet && !matches!(status, WaitStatus::Exited(_, 0)) {
                        tracing::warn!("{role} {}", describe(&status));
                    } else {
                        tracing::debug!("{role} {}", describe(&status));
                    }
                    false
                }
                Err(_) => false,
            }
        });
        if Instant::now() >= deadline {
            for (role, pid) in &left {
                tracing::warn!("{role} did not exit, killing it");
                let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
                let _ = waitpid(Pid::from_raw(*pid as i32), None);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
