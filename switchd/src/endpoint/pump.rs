//! The socket side of an endpoint: bytes from the stream into the endpoint's owner, its
//! output onto the stream, and the last words and shutdown at the end. One step at a time
//! ([`Pump::ready`] waits, [`Pump::transfer`] moves bytes without blocking), so that each
//! owner's loop can wait for its other inputs in the same `select!`.

use std::io;
use std::time::{Duration, Instant};

use super::stream::Stream;
use super::{CloseReason, READ_CHUNK};

/// How long we keep trying to deliver our last words (an OFPT_ERROR) before closing.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// What the pump moves bytes for: the owner of an endpoint (a session, an agent).
pub(crate) trait Pumped {
    /// Bytes waiting to be written.
    fn output(&self) -> &[u8];
    /// `n` bytes of the output were written.
    fn consume(&mut self, n: usize);
    /// Bytes from the peer.
    fn handle_input(&mut self, data: &[u8], now: Instant);
    /// The stream ended.
    fn close_for(&mut self, why: CloseReason);
}

/// Which way the stream is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ready {
    Read,
    Write,
}

/// A stream and its read buffer.
#[derive(Debug)]
pub(crate) struct Pump {
    stream: Stream,
    buf: Vec<u8>,
    /// Who is at the other end ("peer", "the ofp process", "controller ADDR").
    peer: String,
}

impl Pump {
    pub(crate) fn new(stream: Stream, peer: String) -> Pump {
        Pump {
            stream,
            buf: vec![0; READ_CHUNK],
            peer,
        }
    }

    /// Who is at the other end, for the log.
    pub(crate) fn peer(&self) -> &str {
        &self.peer
    }

    /// Wait until the stream can be read (if `read`: the owner may stop reading while its
    /// output backs up) or written (if `write`: there is output). Cancel-safe: it only
    /// waits.
    pub(crate) async fn ready(&self, read: bool, write: bool) -> io::Result<Ready> {
        let write = write || self.stream.wants_write();
        tokio::select! {
            r = self.stream.readable(), if read => r.map(|()| Ready::Read),
            r = self.stream.writable(), if write => r.map(|()| Ready::Write),
            else => std::future::pending().await,
        }
    }

    /// One read (at most [`READ_CHUNK`] bytes, handed to the owner at once) or one write,
    /// without blocking; the end of the stream or an error closes the owner's endpoint.
    pub(crate) fn transfer(&mut self, ready: io::Result<Ready>, owner: &mut impl Pumped) {
        let r = ready.and_then(|ready| match ready {
            Ready::Read => match self.stream.try_read(&mut self.buf)? {
                0 => {
                    owner.close_for(CloseReason::ClosedBy(self.peer.clone()));
                    Ok(())
                }
                n => {
                    owner.handle_input(&self.buf[..n], Instant::now());
                    Ok(())
                }
            },
            Ready::Write => {
                let n = self.stream.try_write(owner.output())?;
                owner.consume(n);
                Ok(())
            }
        });
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => owner.close_for(CloseReason::Io(e.to_string())),
        }
    }

    /// The end: `last` (the output left, our last words) written if the stream still
    /// works, for at most [`FLUSH_TIMEOUT`], then the stream shut down.
    pub(crate) async fn finish(mut self, why: &CloseReason, last: &[u8]) {
        let failed = matches!(why, CloseReason::ClosedBy(_) | CloseReason::Io(_));
        if !failed && !last.is_empty() {
            let _ = tokio::time::timeout(FLUSH_TIMEOUT, self.stream.write_all(last)).await;
        }
        let _ = self.stream.shutdown().await;
    }
}
