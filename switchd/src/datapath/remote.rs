//! The byte stream a local switch's agent speaks OpenFlow over: a socketpair to the ofp
//! process, or (`forward to tcp:HOST:PORT`) a TCP connection to a remote controller that
//! this process opens itself (an outgoing connection needs no privilege), with the
//! reconnection schedule for when that controller is away.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::endpoint::stream::Stream;

/// The first wait after a failed connection to a remote controller; it doubles up to
/// [`BACKOFF_MAX`].
pub(crate) const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long one connection attempt may take before it counts as failed.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Who a remote controller is, for the log: its address if the socket still knows it.
pub(crate) fn peer_name(addr: io::Result<SocketAddr>) -> String {
    match addr {
        Ok(a) => format!("controller {a}"),
        Err(_) => "the controller".into(),
    }
}

/// The address of `forward to` (`HOST:PORT`, `[V6]:PORT`). The datapath process runs in
/// an empty chroot, without /etc/hosts, /etc/resolv.conf or nsswitch, so it cannot
/// resolve host names: only IP addresses are accepted.
pub(crate) fn controller_addr(forward_to: &str) -> Result<SocketAddr, String> {
    forward_to.parse::<SocketAddr>().map_err(|_| {
        format!(
            "forward to tcp:{forward_to}: not an IP address and port (host names cannot be \
             resolved by the chrooted datapath process; give an IP address)"
        )
    })
}

/// Connect to a remote controller, giving up after [`CONNECT_TIMEOUT`]; with `tls`
/// (`forward to tls:`), through a TLS handshake (see `tls.rs`).
pub(crate) async fn connect(addr: SocketAddr, tls: bool) -> io::Result<Stream> {
    let s = connect_tcp(addr).await?;
    if !tls {
        return Ok(s.into());
    }
    let mut t = crate::tls::connect(s, &addr.ip().to_string())
        .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
    t.handshake()
        .await
        .map_err(|e| io::Error::other(format!("TLS handshake: {e}")))?;
    Ok(t.into())
}

async fn connect_tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            ))
        }
    };
    // OpenFlow messages are small and each one is a request or an answer.
    s.set_nodelay(true)?;
    Ok(s)
}

/// The waits between connection attempts to a controller that is away: 1, 2, 4 … 30 s,
/// back to 1 s once a connection got through the OpenFlow handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backoff {
    next: Duration,
    /// The reason of the last failure logged at the longest wait: at that wait a failure
    /// for the same reason is not logged again.
    quiet: Option<String>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: BACKOFF_MIN,
            quiet: None,
        }
    }
}

impl Backoff {
    /// An attempt failed for `reason`: the wait before the next one, and whether to log
    /// this failure (each step once; at the longest wait, only when the reason changes).
    pub(crate) fn failed(&mut self, reason: &str) -> (Duration, bool) {
        let wait = self.next;
        let log = if wait >= BACKOFF_MAX {
            let new = self.quiet.as_deref() != Some(reason);
            self.quiet = Some(reason.to_string());
            new
        } else {
            true
        };
        self.next = (self.next * 2).min(BACKOFF_MAX);
        (wait, log)
    }

    /// A connection got through the handshake: the next failure starts over at 1 s.
    pub(crate) fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// The channel after a connection attempt to controller `addr` of local switch `name`
/// ended: open (and `agent` restarted), or idle until the backoff says to try again.
pub(crate) fn channel_after_connect(
    name: &str,
    addr: &str,
    r: io::Result<Stream>,
    agent: &mut super::agent::Agent,
    backoff: &mut Backoff,
) -> super::channel::Channel {
    use super::channel::Channel;
    match r {
        Ok(s) => {
            tracing::info!("local switch {name}: connected to controller {addr}");
            agent.restart(std::time::Instant::now());
            let peer = peer_name(s.peer_addr());
            Channel::Open(crate::endpoint::pump::Pump::new(s, peer))
        }
        Err(e) => {
            let why = e.to_string();
            let (wait, log) = backoff.failed(&why);
            if log {
                tracing::warn!(
                    "local switch {name}: cannot connect to controller {addr}: \
                     {why}; retrying in {} s",
                    wait.as_secs()
                );
            }
            Channel::Idle {
                retry_at: Some(tokio::time::Instant::now() + wait),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_thirty_seconds_and_logs_each_step_once() {
        let mut b = Backoff::default();
        let waits: Vec<(u64, bool)> = (0..8)
            .map(|_| {
                let (w, log) = b.failed("connection refused");
                (w.as_secs(), log)
            })
            .collect();
        assert_eq!(
            waits,
            [
                (1, true),
                (2, true),
                (4, true),
                (8, true),
                (16, true),
                (30, true),
                (30, false),
                (30, false)
            ]
        );
        // A new reason at the longest wait is news.
        assert_eq!(b.failed("no route to host"), (BACKOFF_MAX, true));
        b.reset();
        assert_eq!(b.failed("connection refused"), (BACKOFF_MIN, true));
    }

    #[test]
    fn controller_addresses_are_ip_literals() {
        assert_eq!(
            controller_addr("127.0.0.1:6653"),
            Ok("127.0.0.1:6653".parse().unwrap())
        );
        assert_eq!(
            controller_addr("[2001:db8::1]:6633"),
            Ok("[2001:db8::1]:6633".parse().unwrap())
        );
        let e = controller_addr("ctl.example.org:6653").unwrap_err();
        assert!(e.contains("host names cannot be resolved"), "{e}");
    }
}
