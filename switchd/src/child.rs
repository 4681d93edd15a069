//! What every child does between exec and its entry function: take the parent channel from
//! descriptor 3, shed everything inherited, receive its setup, drop privileges, and start a
//! single-threaded runtime. Also the plumbing each child's event loop shares.

use std::collections::HashMap;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use caps::Capability;
use tokio::sync::mpsc;

use crate::ipc::{self, Channel};
use crate::msg::{self, Init, Msg, Role};
use crate::{fatalx, log, privsep, title};

/// The descriptor on which a child finds its channel to the parent.
pub(crate) const PARENT_FD: i32 = 3;

/// Everything a child received from the parent before it started serving.
#[derive(Debug)]
pub struct Setup {
    pub(crate) init: Init,
    pub(crate) parent: OwnedFd,
    pub(crate) peers: Vec<(Role, OwnedFd)>,
    pub(crate) control_socket: Option<(String, OwnedFd)>,
    pub(crate) listeners: Vec<(String, OwnedFd)>,
    /// Datapath: the AF_PACKET socket packet-outs are sent on.
    pub(crate) packet_socket: Option<OwnedFd>,
}

/// Whether descriptor 3 is a SEQPACKET socket, i.e. we were started by a switchd parent.
fn parent_channel_present() -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a c_int we own; fails harmlessly on a non-socket.
    let r = unsafe {
        libc::getsockopt(
            PARENT_FD,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            &mut ty as *mut _ as *mut libc::c_void,
            &mut len,
        )
    };
    r == 0 && ty == libc::SOCK_SEQPACKET
}

/// Turn this exec'd process into the child `role`: take the parent channel, shed what was
/// inherited, receive the setup, drop privileges keeping only `keep`. Exits on failure.
pub(crate) fn setup(role: Role, keep: &[Capability]) -> Setup {
    if !parent_channel_present() {
        eprintln!(
            "switchd: \"{}\" is a process switchd starts itself; run switchd instead",
            role.title()
        );
        std::process::exit(1);
    }
    // SAFETY: descriptor 3 was checked to be our parent channel; nothing else owns it.
    let parent = unsafe { OwnedFd::from_raw_fd(PARENT_FD) };
    if let Err(e) = privsep::close_inherited(PARENT_FD as u32) {
        fatalx!("{role}: {e}");
    }
    let probe = std::env::var_os(crate::sandbox::PROBE_ENV).is_some();
    privsep::clear_env();
    title::set_comm("switchd");
    // The parent orchestrates shutdown: a terminal's ^C reaches the whole process group,
    // and the children must not die before the parent has decided what to do.
    // SAFETY: setting dispositions to SIG_IGN before any thread exists.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }

    let init = match ipc::recv_blocking(parent.as_fd()) {
        Ok(Some((Msg::Init(init), _))) => init,
        Ok(Some((other, _))) => fatalx!("{role}: expected init from parent, got {}", other.kind()),
        Ok(None) => std::process::exit(1),
        Err(e) => fatalx!("{role}: reading init from parent: {e}"),
    };
    log::init(role.name(), init.foreground, init.verbose);

    let last_cap = privsep::cap_last_cap();
    let dropped = privsep::enter_chroot(&init.chroot)
        .and_then(|()| privsep::drop_privileges(init.uid, init.gid, keep, last_cap))
        .and_then(|()| privsep::no_new_privs())
        .and_then(|()| privsep::die_with_parent(init.parent_pid));
    if let Err(e) = dropped {
        fatalx!("cannot drop privileges: {e}");
    }

    let mut setup = Setup {
        init,
        parent,
        peers: Vec::new(),
        control_socket: None,
        listeners: Vec::new(),
        packet_socket: None,
    };
    loop {
        let (m, mut fds) = match ipc::recv_blocking(setup.parent.as_fd()) {
            Ok(Some(x)) => x,
            Ok(None) => std::process::exit(1),
            Err(e) => fatalx!("reading setup from parent: {e}"),
        };
        let one = |fds: &mut Vec<OwnedFd>, what: &str| -> OwnedFd {
            match (fds.pop(), fds.is_empty()) {
                (Some(fd), true) => fd,
                _ => fatalx!("BUG: {what} from parent without exactly one descriptor"),
            }
        };
        match m {
            Msg::PeerChannel { peer } => setup.peers.push((peer, one(&mut fds, "peer_channel"))),
            Msg::ControlSocket { path } if role == Role::Control => {
                setup.control_socket = Some((path, one(&mut fds, "control_socket")))
            }
            Msg::ListenerAdd { listener } if role == Role::Ofp => setup
                .listeners
                .push((listener, one(&mut fds, "listener_add"))),
            Msg::PacketSocket if role == Role::Datapath => {
                setup.packet_socket = Some(one(&mut fds, "packet_socket"))
            }
            Msg::Tls { material } => match crate::tls::side_of(role) {
                Some(side) => crate::tls::install(side, material.as_ref()),
                None => msg::unexpected(Role::Parent, &Msg::Tls { material }),
            },
            Msg::SetupDone => break,
            other => msg::unexpected(Role::Parent, &other),
        }
    }
    if let Err(e) = crate::sandbox::apply(role, probe) {
        fatalx!("cannot sandbox the {role} process: {e}");
    }
    setup
}

/// Run a child's entry function on a single-threaded runtime and exit with its status.
pub(crate) fn run(main: impl std::future::Future<Output = i32>) -> ! {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fatalx!("cannot start the runtime: {e}"),
    };
    std::process::exit(rt.block_on(main))
}

/// Something that arrived on one of a process's channels.
#[derive(Debug)]
pub(crate) enum Input {
    Msg(Role, Msg, Vec<OwnedFd>),
    /// The channel to this process was closed: it is gone.
    Closed(Role),
}

/// A child's channels: to the parent and to its peers.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    chans: HashMap<Role, Arc<Channel>>,
}

/// What every child's main loop starts with: its channels (see [`Peers::start`]) and a
/// handler for SIGTERM. `None`, after logging why, means the child cannot run.
pub(crate) fn start_channels(
    parent: OwnedFd,
    peers: Vec<(Role, OwnedFd)>,
) -> Option<(
    Peers,
    mpsc::UnboundedReceiver<Input>,
    tokio::signal::unix::Signal,
)> {
    let (peers, rx) = match Peers::start(parent, peers) {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("cannot set up channels: {e}");
            return None;
        }
    };
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => Some((peers, rx, term)),
        Err(e) => {
            tracing::warn!("cannot catch SIGTERM: {e}");
            None
        }
    }
}

impl Peers {
    /// Wrap the setup's channels (inside the runtime) and start one reader task per channel,
    /// all feeding the returned queue.
    pub(crate) fn start(
        parent: OwnedFd,
        peers: Vec<(Role, OwnedFd)>,
    ) -> std::io::Result<(Peers, mpsc::UnboundedReceiver<Input>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut chans = HashMap::new();
        for (role, fd) in std::iter::once((Role::Parent, parent)).chain(peers) {
            let chan = Arc::new(Channel::new(fd, role)?);
            chans.insert(role, chan.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    match chan.recv().await {
                        Ok(Some((m, fds))) => {
                            if tx.send(Input::Msg(role, m, fds)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {
                            let _ = tx.send(Input::Closed(role));
                            return;
                        }
                        Err(ipc::IpcError::Io(e)) => {
                            tracing::warn!("channel to {role}: {e}");
                            let _ = tx.send(Input::Closed(role));
                            return;
                        }
                        // A malformed frame is a bug in the sender, not a reason to stop.
                        Err(e) => tracing::warn!("BUG: bad message from {role}: {e}"),
                    }
                }
            });
        }
        Ok((Peers { chans }, rx))
    }

    /// Send to `to`; a failure is logged (the reader of that channel will report it gone).
    pub(crate) async fn send(&self, to: Role, m: &Msg) {
        self.send_with_fds(to, m, &[]).await
    }

    pub(crate) async fn send_with_fds(&self, to: Role, m: &Msg, fds: &[std::os::fd::RawFd]) {
        match self.chans.get(&to) {
            Some(chan) => {
                if let Err(e) = chan.send_with_fds(m, fds).await {
                    tracing::warn!("sending {} to {to}: {e}", m.kind());
                }
            }
            None => tracing::warn!("BUG: no channel to {to} for {}", m.kind()),
        }
    }
}

/// What a child does when a channel closes. The parent gone: exit quietly (it is shutting
/// down, or died and took us with it). A peer gone: the parent supervises, so it will see
/// that child die and stop us all within moments; only if it does not (a peer closed its
/// end without dying, which is a bug) do we give up by ourselves, loudly.
pub(crate) fn channel_closed(role: Role) -> Option<i32> {
    if role == Role::Parent {
        return Some(0);
    }
    tracing::debug!("channel to {role} closed");
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        tracing::warn!("lost channel to {role}, exiting");
        std::process::exit(1);
    });
    None
}
