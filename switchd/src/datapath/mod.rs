//! The datapath process: the one unprivileged process that may change the kernel's network
//! configuration (bridges, ports, qdiscs, flower filters) over rtnetlink. For now it proves
//! it holds CAP_NET_ADMIN and answers pings; the TC translation arrives later.

pub mod agent;
pub mod backend;
pub mod flowtable;

use caps::{CapSet, Capability};
use tokio::signal::unix::{signal, SignalKind};

use crate::child::{self, Input, Peers, Setup};
use crate::msg::{self, Msg, Role};
use crate::{log, log_debug, log_info, log_warn};

/// The only capability this process keeps (effective and permitted).
pub const KEEP_CAPS: &[Capability] = &[Capability::CAP_NET_ADMIN];

/// The datapath process.
pub async fn datapath(setup: Setup) -> i32 {
    // May do (enforced before this function runs, see child.rs):
    // - user `_switchd`, chrooted to the empty directory: it reads no files at all;
    // - CAP_NET_ADMIN, effective and permitted, nothing else, ambient and inheritable empty:
    //   rtnetlink changes to bridges, ports, qdiscs and filters need it, and nothing else
    //   this process does needs any privilege;
    // - no_new_privs: nothing it could exec would gain privilege;
    // - talks to parent (config, verbosity), ofp (OpenFlow as a switch, later) and control
    //   (pings, later counters); it trusts none of them: every request is re-validated,
    //   because ofp faces the network.
    let have = caps::has_cap(None, CapSet::Effective, Capability::CAP_NET_ADMIN).unwrap_or(false);
    if !have {
        log_warn!("CAP_NET_ADMIN is not effective; the kernel will refuse every change");
    }
    let (peers, mut rx) = match Peers::start(setup.parent, setup.peers) {
        Ok(x) => x,
        Err(e) => {
            log_warn!("cannot set up channels: {e}");
            return 1;
        }
    };
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            log_warn!("cannot catch SIGTERM: {e}");
            return 1;
        }
    };
    log_info!("started");
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => return 0,
            input = rx.recv() => match input {
                Some(Input::Msg(from, m, _fds)) => match from {
                    Role::Parent => dispatch_parent(m),
                    Role::Ofp | Role::Control => dispatch_peer(&peers, from, m).await,
                    Role::Datapath => msg::unexpected(from, &m),
                },
                Some(Input::Closed(role)) => {
                    if let Some(status) = child::channel_closed(role) {
                        return status;
                    }
                }
                None => return 1,
            },
        }
    }
}

fn dispatch_parent(m: Msg) {
    match m {
        Msg::Verbose { verbose } => log::set_verbose(verbose),
        Msg::Config(c) => log_debug!("new configuration: {c:?}"),
        other => msg::unexpected(Role::Parent, &other),
    }
}

/// Messages from ofp and control: the same few for now.
async fn dispatch_peer(peers: &Peers, from: Role, m: Msg) {
    match m {
        Msg::Ping { id } => peers.send(from, &Msg::Pong { id }).await,
        other => msg::unexpected(from, &other),
    }
}
