//! A local switch's OpenFlow channel to its controller, as one state: idle (and when to
//! try again), connecting to a remote controller, open, or closing at switchctl's word
//! (and whether to connect again after). The agent speaks over it; the local switch
//! (`local.rs`) moves it from state to state.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use tokio::net::UnixStream;

use crate::child::Peers;
use crate::endpoint::pump::{Pump, Ready};
use crate::endpoint::stream::Stream;
use crate::msg::{Msg, Role};

/// How long a local switch waits before offering the ofp process a new connection.
pub(crate) const RECONNECT: Duration = Duration::from_secs(1);

/// A connection attempt to a remote controller under way.
pub(crate) type Connecting =
    std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Stream>> + Send>>;

pub(crate) enum Channel {
    /// No connection; `Some`: (re)connect at that time, `None`: stay so.
    Idle {
        retry_at: Option<tokio::time::Instant>,
    },
    /// Connecting to the remote controller of `forward to`.
    Connecting(Connecting),
    /// The agent speaks over this stream.
    Open(Pump),
    /// switchctl closed it; `again`: connect at once afterwards, else stay disconnected.
    Closing { pump: Pump, again: bool },
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Idle { retry_at } => {
                f.debug_struct("Idle").field("retry_at", retry_at).finish()
            }
            Channel::Connecting(_) => f.write_str("Connecting"),
            Channel::Open(p) => f.debug_tuple("Open").field(&p.peer()).finish(),
            Channel::Closing { pump, again } => f
                .debug_struct("Closing")
                .field("peer", &pump.peer())
                .field("again", again)
                .finish(),
        }
    }
}

/// What the channel is ready for.
#[derive(Debug)]
pub(crate) enum Wake {
    /// Time to (re)connect.
    Retry,
    /// The connection attempt ended.
    Connected(io::Result<Stream>),
    /// The stream can be read or written.
    Io(io::Result<Ready>),
}

impl Channel {
    /// Wait for the channel's next event (`write`: there is output to write). Cancel-safe:
    /// a connection attempt goes on where it was.
    pub(crate) async fn wake(&mut self, write: bool) -> Wake {
        match self {
            Channel::Idle { retry_at: Some(at) } => {
                tokio::time::sleep_until(*at).await;
                Wake::Retry
            }
            Channel::Idle { retry_at: None } => std::future::pending().await,
            Channel::Connecting(f) => Wake::Connected(f.await),
            Channel::Open(p) | Channel::Closing { pump: p, .. } => {
                Wake::Io(p.ready(true, write).await)
            }
        }
    }

    /// The open stream, if there is one.
    pub(crate) fn pump(&mut self) -> Option<&mut Pump> {
        match self {
            Channel::Open(p) | Channel::Closing { pump: p, .. } => Some(p),
            Channel::Idle { .. } | Channel::Connecting(_) => None,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self, Channel::Open(_) | Channel::Closing { .. })
    }
}

/// A socketpair for one OpenFlow connection: our end, and the other handed to ofp.
pub(crate) async fn offer(peers: &Peers, name: &str, observe: bool) -> io::Result<UnixStream> {
    let (ours, theirs) = UnixStream::pair()?;
    let theirs: OwnedFd = theirs.into_std()?.into();
    peers
        .send_with_fds(
            Role::Ofp,
            &Msg::LocalSwitch {
                name: name.to_string(),
                observe,
            },
            &[theirs.as_raw_fd()],
        )
        .await;
    Ok(ours)
}

pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
