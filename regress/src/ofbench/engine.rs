//! Emulated OpenFlow 1.3 switches on one thread: non-blocking sockets under an
//! edge-triggered epoll, one small state machine per switch.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ofproto::header::{Header, OFP13_VERSION};
use ofproto::v13::{self, msg_type as t, FlowModView, Message as M, PacketInView};

use std::sync::Arc;

use super::tls::Conn;
use super::wire;

/// What the switches send once they are ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Nothing (connected and learned, waiting).
    Idle,
    /// Keep every socket full of PACKET_INs.
    Flood,
    /// One PACKET_IN outstanding per switch.
    PingPong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SwState {
    /// HELLO sent, no FEATURES_REQUEST answered yet.
    Handshake,
    /// FEATURES_REPLY sent; the destination's PACKET_IN is out, waiting for its answer.
    Learning,
    Ready,
    Closed,
}

pub struct Switch {
    pub dpid: u64,
    pub index: u32,
    stream: Conn,
    pub state: SwState,
    pub close_reason: Option<String>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    readable: bool,
    writable: bool,
    /// Template PACKET_IN from a random source on port 2 to the learned destination.
    template: Vec<u8>,
    /// The destination's own PACKET_IN (to broadcast, on port 1), sent once when learning.
    learn: Vec<u8>,
    learn_sent: Option<Instant>,
    macs: u32,
    rng: u64,
    xid: u32,
    buffer_id: u32,
    buffered: bool,
    outstanding: Option<Instant>,
    /// Answered PACKET_INs: PACKET_OUTs, and FLOW_MODs that carry a buffer id.
    pub answered: u64,
    pub sent: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// The learned destination: one host behind port 1 of every switch.
pub(crate) const DST_MAC: [u8; 6] = [0x02, 0xdd, 0, 0, 0, 1];

fn src_mac(index: u32, mac: u32) -> [u8; 6] {
    let i = index.to_be_bytes();
    let m = mac.to_be_bytes();
    // Locally administered unicast; distinct per switch and per address.
    [0x02, i[2], i[3], m[1], m[2], m[3]]
}

impl Switch {
    fn new(stream: Conn, index: u32, dpid: u64, macs: u32, buffered: bool) -> Switch {
        let mut out = Vec::with_capacity(64 * 1024);
        wire::hello(&mut out);
        Switch {
            dpid,
            index,
            stream,
            state: SwState::Handshake,
            close_reason: None,
            inbuf: Vec::with_capacity(64 * 1024),
            out,
            out_pos: 0,
            readable: true,
            writable: true,
            template: wire::packet_in(wire::SRC_PORT, DST_MAC, src_mac(index, 0)),
            learn: wire::packet_in(wire::DST_PORT, [0xff; 6], DST_MAC),
            learn_sent: None,
            macs: macs.max(1),
            rng: 0x9e37_79b9_7f4a_7c15 ^ u64::from(index).wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1,
            xid: 0x1000,
            buffer_id: 0,
            buffered,
            outstanding: None,
            answered: 0,
            sent: 0,
            errors: 0,
            first_error: None,
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Append one PACKET_IN from a random source of this switch's pool.
    fn push_packet_in(&mut self) {
        let mac = (self.next_rand() >> 32) as u32 % self.macs;
        self.xid = self.xid.wrapping_add(1);
        let buffer_id = if self.buffered {
            self.buffer_id = (self.buffer_id + 1) & 0x7fff_ffff;
            self.buffer_id
        } else {
            v13::OFP_NO_BUFFER
        };
        let at = self.out.len();
        self.out.extend_from_slice(&self.template);
        let mut p = PacketInView::new_unchecked(&mut self.out[at..]);
        p.set_xid(self.xid);
        p.set_buffer_id(buffer_id);
        p.data_mut()[6..12].copy_from_slice(&src_mac(self.index, mac));
        self.sent += 1;
    }

    fn send_learn(&mut self, now: Instant) {
        self.xid = self.xid.wrapping_add(1);
        let at = self.out.len();
        self.out.extend_from_slice(&self.learn);
        PacketInView::new_unchecked(&mut self.out[at..]).set_xid(self.xid);
        self.learn_sent = Some(now);
    }

    fn close(&mut self, why: String) {
        if self.state != SwState::Closed {
            self.state = SwState::Closed;
            self.close_reason = Some(why);
        }
    }

    /// One whole message from the controller.
    fn handle(&mut self, m: &[u8], now: Instant, latencies: Option<&mut Vec<u32>>) {
        // The answers to PACKET_INs are read in place; everything else is decoded.
        let answered = match m[1] {
            t::PACKET_OUT => true,
            t::FLOW_MOD => {
                FlowModView::new_checked(m).is_some_and(|f| f.buffer_id() != v13::OFP_NO_BUFFER)
            }
            _ => {
                self.control(m, now);
                false
            }
        };
        if !answered {
            return;
        }
        match self.state {
            SwState::Learning => {
                self.state = SwState::Ready;
                self.learn_sent = None;
            }
            SwState::Ready => {
                self.answered += 1;
                if let Some(t0) = self.outstanding.take() {
                    if let Some(l) = latencies {
                        l.push(now.duration_since(t0).as_nanos().min(u32::MAX as u128) as u32);
                    }
                }
            }
            _ => {}
        }
    }

    /// A message that is not the answer to a PACKET_IN: answer it as a switch would.
    fn control(&mut self, m: &[u8], now: Instant) {
        let (xid, req) = match v13::decode(&Bytes::copy_from_slice(m)) {
            Ok(x) => x,
            Err(e) => {
                // An unknown multipart type; other messages we cannot read are ignored.
                if let (t::MULTIPART_REQUEST, Some(code)) = (m[1], e.ofp_error()) {
                    let data = Bytes::copy_from_slice(&m[..m.len().min(64)]);
                    let xid = Header::decode(m).map_or(0, |h| h.xid);
                    let err = v13::ErrorMsg::Standard { code, data };
                    wire::put(&mut self.out, xid, M::Error(err));
                }
                return;
            }
        };
        let reply = match req {
            M::Hello(_) => {
                if m[0] < OFP13_VERSION {
                    self.close(format!("controller speaks OpenFlow version {}", m[0]));
                }
                return;
            }
            M::Error(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    let what = v13::errors::describe(&e);
                    self.first_error = Some(format!("OFPT_ERROR {what}"));
                }
                return;
            }
            M::EchoRequest(d) => M::EchoReply(d),
            M::FeaturesRequest => {
                wire::features_reply(&mut self.out, xid, self.dpid);
                if self.state == SwState::Handshake {
                    self.state = SwState::Learning;
                    self.send_learn(now);
                }
                return;
            }
            M::GetConfigRequest => M::GetConfigReply(v13::SwitchConfig {
                flags: 0,
                miss_send_len: v13::OFPCML_NO_BUFFER,
            }),
            M::BarrierRequest => M::BarrierReply,
            M::RoleRequest(r) => M::RoleReply(r),
            M::GetAsyncRequest => M::GetAsyncReply(wire::async_config()),
            M::QueueGetConfigRequest(q) => M::QueueGetConfigReply(v13::QueueGetConfigReply {
                port: q.port,
                queues: vec![],
            }),
            M::MultipartRequest(r) => match wire::multipart_reply(r.body.mp_type(), self.dpid) {
                Some(body) => M::MultipartReply(v13::MultipartReply { flags: 0, body }),
                None => M::Error(v13::ErrorMsg::Standard {
                    code: v13::errors::bad_request::BAD_MULTIPART,
                    data: Bytes::copy_from_slice(&m[..m.len().min(64)]),
                }),
            },
            // SET_CONFIG, table-miss and other FLOW_MODs without a buffer, group, meter,
            // port and table mods, SET_ASYNC, replies: a real switch would apply them.
            _ => return,
        };
        wire::put(&mut self.out, xid, reply);
    }

    fn do_read(&mut self, now: Instant, mut latencies: Option<&mut Vec<u32>>) {
        const CHUNK: usize = 64 * 1024;
        // Bounded per call, so that one busy switch does not starve the others.
        for _ in 0..4 {
            let have = self.inbuf.len();
            self.inbuf.resize(have + CHUNK, 0);
            let r = self.stream.read(&mut self.inbuf[have..]);
            let n = match r {
                Ok(0) => {
                    self.inbuf.truncate(have);
                    self.close("closed by the controller".into());
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.inbuf.truncate(have);
                    self.readable = false;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {
                    self.inbuf.truncate(have);
                    continue;
                }
                Err(e) => {
                    self.inbuf.truncate(have);
                    self.close(format!("read: {e}"));
                    return;
                }
            };
            self.inbuf.truncate(have + n);
            let mut pos = 0;
            while self.inbuf.len() - pos >= 8 {
                // At least 8 bytes are there: the only error left is a length below 8.
                let len = match Header::decode(&self.inbuf[pos..]) {
                    Ok(h) => usize::from(h.length),
                    Err(e) => {
                        self.close(format!(
                            "controller sent a message that cannot be framed: {e}"
                        ));
                        return;
                    }
                };
                if self.inbuf.len() - pos < len {
                    break;
                }
                let msg = std::mem::take(&mut self.inbuf);
                self.handle(&msg[pos..pos + len], now, latencies.as_deref_mut());
                self.inbuf = msg;
                pos += len;
            }
            self.inbuf.drain(..pos);
        }
    }

    fn do_write(&mut self) {
        // TLS records of earlier writes first.
        match self.stream.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.writable = false;
                return;
            }
            Err(e) => {
                self.close(format!("write: {e}"));
                return;
            }
        }
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.writable = false;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.close(format!("write: {e}"));
                    return;
                }
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > 256 * 1024 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }
}

/// A set of switches served by one thread.
pub(crate) struct Engine {
    epoll: OwnedFd,
    pub switches: Vec<Switch>,
    pub load: Load,
    /// Latency samples (nanoseconds) are collected while this is set.
    pub record: bool,
    pub latencies: Vec<u32>,
    events: Vec<libc::epoll_event>,
    /// Connect over TLS with this configuration.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// PACKET_INs queued per switch per turn when flooding (about 64 KiB).
const FLOOD_BATCH: usize = 640;
/// How often the destination's PACKET_IN is repeated until answered (a controller may
/// drop PACKET_INs that arrive before its own handshake is done).
const LEARN_RETRY: Duration = Duration::from_millis(200);

impl Engine {
    pub fn new() -> std::io::Result<Engine> {
        // SAFETY: plain syscall; the descriptor is owned right away.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Engine {
            // SAFETY: fd is a fresh descriptor we own.
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
            switches: Vec::new(),
            load: Load::Idle,
            record: false,
            latencies: Vec::new(),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 256],
            tls: None,
        })
    }

    /// Connect one switch (blocking connect, then non-blocking) and queue its HELLO.
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        index: u32,
        dpid: u64,
        macs: u32,
        buffered: bool,
        timeout: Duration,
    ) -> std::io::Result<()> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        let stream = Conn::new(stream, self.tls.as_ref())?;
        stream.tcp().set_nonblocking(true)?;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: self.switches.len() as u64,
        };
        // SAFETY: both descriptors are open; ev lives across the call.
        let r = unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                stream.as_raw_fd(),
                &mut ev,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.switches
            .push(Switch::new(stream, index, dpid, macs, buffered));
        Ok(())
    }

    /// One turn: wait for events (at most `wait`, not at all if some switch has work),
    /// read, answer, generate load, write.
    pub fn turn(&mut self, wait: Duration) {
        let busy = self.switches.iter().any(|s| {
            s.state != SwState::Closed
                && (s.readable
                    || (s.writable
                        && (s.out_pos < s.out.len()
                            || s.stream.wants_write()
                            || (self.load == Load::Flood && s.state == SwState::Ready))))
        });
        let timeout = if busy { 0 } else { wait.as_millis() as i32 };
        // SAFETY: events has room for its length; the kernel fills at most that many.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                timeout,
            )
        };
        for i in 0..n.max(0) as usize {
            let ev = self.events[i];
            let Some(s) = self.switches.get_mut(ev.u64 as usize) else {
                continue;
            };
            let bits = ev.events as i32;
            if bits & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                s.readable = true;
            }
            if bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0 {
                s.writable = true;
            }
        }
        let now = Instant::now();
        let load = self.load;
        let record = self.record;
        for s in &mut self.switches {
            if s.state == SwState::Closed {
                continue;
            }
            if s.readable {
                let lat = if record {
                    Some(&mut self.latencies)
                } else {
                    None
                };
                s.do_read(now, lat);
            }
            match s.state {
                SwState::Learning
                    if s.learn_sent
                        .is_some_and(|t0| now.duration_since(t0) >= LEARN_RETRY) =>
                {
                    s.send_learn(now);
                }
                SwState::Ready => match load {
                    Load::Flood if s.writable && s.out.len() - s.out_pos < 16 * 1024 => {
                        for _ in 0..FLOOD_BATCH {
                            s.push_packet_in();
                        }
                    }
                    Load::PingPong if s.outstanding.is_none() => {
                        s.push_packet_in();
                        s.outstanding = Some(now);
                    }
                    _ => {}
                },
                _ => {}
            }
            if s.writable && (s.out_pos < s.out.len() || s.stream.wants_write()) {
                s.do_write();
            }
        }
    }

    pub fn count(&self, state: SwState) -> usize {
        self.switches.iter().filter(|s| s.state == state).count()
    }

    pub fn answered(&self) -> u64 {
        self.switches.iter().map(|s| s.answered).sum()
    }

    pub fn errors(&self) -> u64 {
        self.switches.iter().map(|s| s.errors).sum()
    }

    /// The first thing that went wrong on any switch, for a report.
    pub(crate) fn first_problem(&self) -> Option<String> {
        self.switches.iter().find_map(|s| {
            s.close_reason
                .as_ref()
                .map(|r| format!("switch {:016x}: {r}", s.dpid))
                .or_else(|| {
                    s.first_error
                        .as_ref()
                        .map(|e| format!("switch {:016x}: {e}", s.dpid))
                })
        })
    }
}
