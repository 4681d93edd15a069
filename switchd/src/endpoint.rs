//! One end of an OpenFlow connection, sans-IO: what the controller side (`ofp/session.rs`)
//! and the switch side (`datapath/agent.rs`) have in common. The caller feeds bytes and the
//! time in and takes bytes out; nothing here reads a clock or touches a socket.
//!
//! - framing (`ofproto::header`), and the OFPT_ERROR a stream that cannot be framed or a
//!   message that does not decode is answered with (7.4.4), in the peer's version;
//! - xid allocation;
//! - HELLO and version negotiation (6.3.1);
//! - echo and dead-peer timing: an echo request every interval of silence, closed after
//!   three;
//! - the bounded output queue: a peer that lets it fill is closed;
//! - why the connection ends ([`CloseReason`]).
//!
//! - `stream.rs`: the byte stream a connection runs on (TCP or Unix);
//! - `pump.rs`: bytes between a stream and an endpoint's owner, and the end of a stream.

pub(crate) mod pump;
pub(crate) mod stream;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::{Header, OFP10_VERSION, OFP13_VERSION};
use ofproto::{v10, v13, DecodeError, OfpErrorCode};

/// The read side keeps at most one partial message plus one read's worth of bytes.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Why a connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Nothing received for 3 echo intervals.
    Dead(Duration),
    /// A message that did not decode (answered with the OFPT_ERROR the decoder names).
    Malformed(DecodeError),
    /// The HELLO exchange failed (answered with OFPET_HELLO_FAILED), in a sentence.
    HelloFailed(&'static str),
    /// The peer (named as the endpoint's configuration says) lets the output queue fill.
    QueueFull { peer: &'static str, max: usize },
    /// The peer closed the stream; who it is, for the log.
    ClosedBy(String),
    /// The stream failed.
    Io(String),
    /// The owner ended it (replaced, reconfigured, switchctl), in a sentence.
    Other(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Dead(d) => write!(f, "dead: nothing received for {} s", d.as_secs()),
            CloseReason::Malformed(e) => write!(f, "malformed message: {e}"),
            CloseReason::HelloFailed(why) => write!(f, "hello failed: {why}"),
            CloseReason::QueueFull { peer, max } => {
                write!(f, "{peer} does not read: write queue over {max} bytes")
            }
            CloseReason::ClosedBy(who) => write!(f, "closed by {who}"),
            CloseReason::Io(s) | CloseReason::Other(s) => f.write_str(s),
        }
    }
}

/// What an endpoint is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndpointConfig {
    /// The versions we speak, in our HELLO's bitmap, lowest first.
    pub(crate) versions: &'static [u8],
    /// The HELLO_FAILED explanation when the peer speaks none of them.
    pub(crate) no_common_version: &'static str,
    /// Zero disables echoes and the dead-peer check.
    pub(crate) echo_interval: Duration,
    /// The most we queue for a peer that does not read; past this the connection is closed.
    pub(crate) queue_max: usize,
    /// Who the peer is in [`CloseReason::QueueFull`] ("peer", "controller").
    pub(crate) peer: &'static str,
}

/// One OpenFlow connection's framing, timing and output queue.
#[derive(Debug)]
pub(crate) struct Endpoint {
    cfg: EndpointConfig,
    /// The negotiated version, once the peer's HELLO came.
    version: Option<u8>,
    inbuf: BytesMut,
    out: BytesMut,
    next_xid: u32,
    last_rx: Instant,
    next_echo: Instant,
    close: Option<CloseReason>,
    /// Messages by OpenFlow type, for the metrics.
    counts: MsgCounts,
}

/// Messages sent and received on a connection, by message type (the header's second
/// byte; OFPT_PACKET_IN, OFPT_ERROR and OFPT_FLOW_MOD have the same numbers in 1.0 and 1.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MsgCounts {
    pub(crate) sent: [u64; 32],
    pub(crate) received: [u64; 32],
}

impl MsgCounts {
    fn count(table: &mut [u64; 32], msg_type: Option<&u8>) {
        if let Some(n) = msg_type.and_then(|&t| table.get_mut(usize::from(t))) {
            *n += 1;
        }
    }
}

impl Endpoint {
    /// A new connection; our HELLO is queued.
    pub(crate) fn new(cfg: EndpointConfig, now: Instant) -> Endpoint {
        let mut e = Endpoint {
            cfg,
            version: None,
            inbuf: BytesMut::new(),
            out: BytesMut::new(),
            next_xid: 0,
            counts: MsgCounts::default(),
            last_rx: now,
            next_echo: now,
            close: None,
        };
        e.restart(now);
        e
    }

    /// Begin a new connection: buffers emptied, nothing negotiated, our HELLO queued (6.3.1:
    /// the highest version we speak in the header and a bitmap of all of them). Xids go on
    /// from where they were.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.version = None;
        self.inbuf.clear();
        self.out.clear();
        self.last_rx = now;
        self.next_echo = now + self.cfg.echo_interval;
        self.close = None;
        let xid = self.xid();
        v13::encode_hello(self.cfg.versions, xid, &mut self.out);
    }

    /// A new echo interval (a reload); the next echo stays where it was.
    pub(crate) fn set_echo_interval(&mut self, d: Duration) {
        self.cfg.echo_interval = d;
    }

    /// Messages sent and received so far, by type.
    pub(crate) fn counts(&self) -> &MsgCounts {
        &self.counts
    }

    /// The negotiated version (`None` until the peer's HELLO).
    pub(crate) fn version(&self) -> Option<u8> {
        self.version
    }

    pub(crate) fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_add(1);
        self.next_xid
    }

    // ---- output ----

    /// Bytes waiting to be written.
    pub(crate) fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Endpoint::output`] were written.
    pub(crate) fn consume(&mut self, n: usize) {
        let _ = self.out.split_to(n.min(self.out.len()));
    }

    /// Encode a message in place with a new xid (the hot paths write their layouts
    /// straight into the queue); a peer that lets the queue fill is closed.
    pub(crate) fn send_with(&mut self, encode: impl FnOnce(u32, &mut BytesMut)) -> u32 {
        let xid = self.xid();
        self.send_xid_with(xid, encode);
        xid
    }

    /// As [`Endpoint::send_with`], with the xid given (an answer carries its request's).
    pub(crate) fn send_xid_with(&mut self, xid: u32, encode: impl FnOnce(u32, &mut BytesMut)) {
        let start = self.out.len();
        encode(xid, &mut self.out);
        if self.out.len() > self.cfg.queue_max {
            self.out.truncate(start);
            self.close(CloseReason::QueueFull {
                peer: self.cfg.peer,
                max: self.cfg.queue_max,
            });
        } else {
            MsgCounts::count(&mut self.counts.sent, self.out.get(start + 1));
        }
    }

    pub(crate) fn send13(&mut self, m: &v13::Message) -> u32 {
        self.send_with(|xid, out| m.encode(xid, out))
    }

    pub(crate) fn send13_xid(&mut self, m: &v13::Message, xid: u32) {
        self.send_xid_with(xid, |xid, out| m.encode(xid, out));
    }

    pub(crate) fn send10(&mut self, m: &v10::Message) -> u32 {
        self.send_with(|xid, out| m.encode(xid, out))
    }

    pub(crate) fn send10_xid(&mut self, m: &v10::Message, xid: u32) {
        self.send_xid_with(xid, |xid, out| m.encode(xid, out));
    }

    /// Whether an answer to `msg` goes in OpenFlow 1.0: the negotiated version, or before
    /// the HELLO, the message's own if we speak it.
    fn answers_in_v10(&self, msg: &[u8]) -> bool {
        match self.version {
            Some(v) => v == OFP10_VERSION,
            None => {
                msg.first() == Some(&OFP10_VERSION) && self.cfg.versions.contains(&OFP10_VERSION)
            }
        }
    }

    /// Answer `request` with `code` (7.4.4: the data is its first 64 bytes), in the
    /// connection's version.
    pub(crate) fn error(&mut self, code: OfpErrorCode, request: &Bytes) {
        let xid = Header::decode(request).map(|h| h.xid).unwrap_or(0);
        if self.answers_in_v10(request) {
            let c = v10::error_code(code);
            self.send10_xid(
                &v10::Message::Error(v10::ErrorMsg {
                    err_type: c.err_type,
                    code: c.code,
                    data: request.slice(..request.len().min(64)),
                }),
                xid,
            );
        } else {
            self.send13_xid(
                &v13::Message::Error(v13::ErrorMsg::for_request(code, request)),
                xid,
            );
        }
    }

    /// A message that did not decode: answered with the error the decoder names, then
    /// closed.
    pub(crate) fn malformed(&mut self, e: &DecodeError, msg: &Bytes) {
        if let Some(code) = e.ofp_error() {
            self.error(code, msg);
        }
        self.close(CloseReason::Malformed(e.clone()));
    }

    // ---- input ----

    /// Bytes from the peer; `false` if the connection is closing (they are dropped).
    pub(crate) fn received(&mut self, data: &[u8], now: Instant) -> bool {
        if self.close.is_some() {
            return false;
        }
        if !data.is_empty() {
            self.last_rx = now;
            self.next_echo = now + self.cfg.echo_interval;
        }
        self.inbuf.extend_from_slice(data);
        true
    }

    /// The input buffer, taken out so that its messages can be read in place while the
    /// owner changes; give it back with [`Endpoint::restore_input`].
    pub(crate) fn take_input(&mut self) -> BytesMut {
        std::mem::take(&mut self.inbuf)
    }

    /// What is left of the input (at most a partial message).
    pub(crate) fn restore_input(&mut self, inbuf: BytesMut) {
        self.inbuf = inbuf;
    }

    /// The length of the whole message at the start of `input`, if there is one. A stream
    /// that cannot be framed (a length below 8) is answered and closed.
    pub(crate) fn frame(&mut self, input: &[u8]) -> Option<usize> {
        if self.close.is_some() {
            return None;
        }
        match Header::frame(input) {
            Ok(Some((_, m))) => {
                MsgCounts::count(&mut self.counts.received, m.get(1));
                Some(m.len())
            }
            Ok(None) => {
                // Framing takes every whole message, so what is left is less than one.
                debug_assert!(input.len() < ofproto::header::MAX_MESSAGE_LEN);
                None
            }
            Err(e) => {
                let bad = Bytes::copy_from_slice(&input[..input.len().min(64)]);
                self.malformed(&e, &bad);
                None
            }
        }
    }

    /// The peer's first message (6.3.1: it must be a HELLO; the v13 decoder reads a HELLO
    /// of any version, and a pre-1.3.1 HELLO without elements negotiates by its header's
    /// version). The negotiated version, or `None` once the failure is answered and the
    /// connection closing.
    pub(crate) fn negotiate(&mut self, msg: &Bytes) -> Option<u8> {
        let peer_version = msg.first().copied().unwrap_or(0);
        let why = match v13::decode(msg) {
            Ok((_, v13::Message::Hello(h))) => {
                match v13::negotiate(self.cfg.versions, &h, peer_version) {
                    Ok(v) => {
                        self.version = Some(v);
                        return Some(v);
                    }
                    Err(_) => self.cfg.no_common_version,
                }
            }
            Ok(_) => "the first message was not a HELLO",
            Err(e) => {
                self.malformed(&e, msg);
                return None;
            }
        };
        // OFPET_HELLO_FAILED / OFPHFC_INCOMPATIBLE (the same numbers in 1.0 and 1.3), an
        // ASCII explanation as data.
        let xid = Header::decode(msg).map(|h| h.xid).unwrap_or(0);
        let data = Bytes::copy_from_slice(why.as_bytes());
        if self.answers_in_v10(msg) {
            self.send10_xid(
                &v10::Message::Error(v10::ErrorMsg {
                    err_type: 0,
                    code: 0,
                    data,
                }),
                xid,
            );
        } else {
            self.send13_xid(
                &v13::Message::Error(v13::ErrorMsg::Standard {
                    code: OfpErrorCode::HELLO_INCOMPATIBLE,
                    data,
                }),
                xid,
            );
        }
        self.close(CloseReason::HelloFailed(why));
        None
    }

    // ---- time ----

    /// When [`Endpoint::handle_timeout`] wants to run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        (!self.cfg.echo_interval.is_zero() && self.close.is_none())
            .then(|| self.next_echo.min(self.dead_at()))
    }

    fn dead_at(&self) -> Instant {
        self.last_rx + self.cfg.echo_interval * 3
    }

    /// Close a peer silent for 3 intervals; send an echo request after each interval of
    /// silence (once a version is negotiated: before, there is none to send it in).
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.cfg.echo_interval.is_zero() || self.close.is_some() {
            return;
        }
        if now >= self.dead_at() {
            self.close(CloseReason::Dead(now - self.last_rx));
            return;
        }
        if now >= self.next_echo {
            self.next_echo = now + self.cfg.echo_interval;
            match self.version {
                Some(OFP13_VERSION) => {
                    self.send13(&v13::Message::EchoRequest(Bytes::new()));
                }
                Some(OFP10_VERSION) => {
                    self.send10(&v10::Message::EchoRequest(Bytes::new()));
                }
                _ => {}
            }
        }
    }

    // ---- the end ----

    /// End the connection (the first reason stays): flush [`Endpoint::output`] (best
    /// effort), close the stream.
    pub(crate) fn close(&mut self, why: CloseReason) {
        if self.close.is_none() {
            self.close = Some(why);
        }
    }

    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.close.as_ref()
    }

    pub(crate) fn is_open(&self) -> bool {
        self.close.is_none()
    }
}
