//! The netlink side: one NETLINK_ROUTE socket with extended acks, pipelined requests whose
//! acks are matched by sequence number, dumps, and the probe of what the kernel supports.

use std::io;
use std::os::fd::AsRawFd;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

use crate::filter::{
    self, begin_msg, finish_msg, tcmsg, Filter, FilterId, FlowerKey, Installed, Listed,
    PeditHeader, PeditKey, PoliceRate, TcAction, Verdict,
};
use crate::nla::{self, attrs, NlaWriter};
use crate::uapi::*;

/// A refusal from the kernel: the errno, and the kernel's extended-ack text when it gave
/// one, else the errno's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno (EINVAL = 22, ...).
    pub errno: i32,
    pub message: String,
}

impl KernelError {
    fn from_errno(errno: i32) -> Self {
        let s = io::Error::from_raw_os_error(errno).to_string();
        let message = match s.rfind(" (os error") {
            Some(i) => s[..i].to_string(),
            None => s,
        };
        KernelError { errno, message }
    }

    fn io(e: &io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => KernelError::from_errno(n),
            None => KernelError {
                errno: libc::EIO,
                message: e.to_string(),
            },
        }
    }
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (errno {})", self.message, self.errno)
    }
}

impl std::error::Error for KernelError {}

/// What `probe` found: the TC parts that work, and a sentence for each one that does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelSupport {
    /// Module names that work: "sch_clsact", "cls_flower", "act_gact", ...
    pub present: Vec<&'static str>,
    /// One sentence per missing part, e.g. "kernel lacks cls_flower
    /// (CONFIG_NET_CLS_FLOWER): TC classifier not found".
    pub missing: Vec<String>,
}

impl KernelSupport {
    /// Whether `module` (e.g. "act_vlan") works.
    pub fn has(&self, module: &str) -> bool {
        self.present.contains(&module)
    }

    /// Whether everything the datapath uses is there.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Requests per sendmsg at most.
const WINDOW_MAX: usize = 4096;
/// Bytes per sendmsg at most (the kernel refuses a datagram larger than the send buffer).
const SEND_CHUNK_MAX: usize = 1 << 20;
/// What one answer may take of the receive buffer at worst (skb truesize): an error with
/// its extended ack fits in 2 KiB; an echoed filter (NLM_F_ECHO) comes in an
/// NLMSG_GOODSIZE skb.
const ANSWER_COST: usize = 2048;
const ECHO_COST: usize = 8192;
/// Requested size of the socket buffers.
const SOCK_BUF: libc::c_int = 8 << 20;
/// One received datagram: a dump part (at most 32 KiB), an echoed filter, acks.
const RECV_BUF: usize = 64 << 10;

/// One blocking NETLINK_ROUTE socket for TC (NETLINK_EXT_ACK and NETLINK_CAP_ACK on).
///
/// Every call returns when the kernel has answered it: the caller (a local switch's kernel
/// table) must know a FLOW_MOD's outcome before the next message. Batches keep many
/// requests in flight per `sendmsg` ([`Tc::install`]), so a blocking socket costs no
/// round trip per filter.
pub struct Tc {
    sock: Socket,
    seq: u32,
    rbuf: Vec<u8>,
    /// The send buffer of the batches, kept between calls.
    sbuf: Vec<u8>,
    /// The socket's receive and send buffer sizes as the kernel accounts them.
    rcvbuf: usize,
    sndbuf: usize,
}

/// A message as received: type, flags, seq and payload.
struct Msg<'a> {
    ty: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

/// The netlink messages in one datagram.
struct Msgs<'a>(&'a [u8]);

impl<'a> Iterator for Msgs<'a> {
    type Item = Msg<'a>;
    fn next(&mut self) -> Option<Msg<'a>> {
        let data = self.0;
        if data.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            self.0 = &[];
            return None;
        }
        let m = Msg {
            ty: u16::from_ne_bytes([data[4], data[5]]),
            flags: u16::from_ne_bytes([data[6], data[7]]),
            seq: u32::from_ne_bytes([data[8], data[9], data[10], data[11]]),
            payload: &data[NLMSG_HDRLEN..len],
        };
        self.0 = &data[((len + 3) & !3).min(data.len())..];
        Some(m)
    }
}

fn split_msgs(data: &[u8]) -> Msgs<'_> {
    Msgs(data)
}

/// Rewrite the flags of the netlink message that starts `msg`.
fn patch_flags(msg: &mut [u8], f: impl FnOnce(u16) -> u16) {
    if let Some(b) = msg.get_mut(6..8) {
        let v = f(u16::from_ne_bytes([b[0], b[1]]));
        b.copy_from_slice(&v.to_ne_bytes());
    }
}

/// Receive one datagram from a blocking netlink socket into `buf`, waiting until one is
/// there; its length.
fn recv_datagram(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for its length.
        let r = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

fn sockopt(fd: std::os::fd::RawFd, opt: libc::c_int) -> usize {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: fd is a valid socket; v and len are valid for writing.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &mut v as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    if r == 0 {
        v.max(0) as usize
    } else {
        0
    }
}

/// Parse the payload of an NLMSG_ERROR: `Ok(())` for an ack, else the error with the
/// kernel's extended-ack message.
fn parse_error(payload: &[u8], flags_capped: bool, has_tlvs: bool) -> Result<(), KernelError> {
    let Ok(err) = nla::get_i32(payload) else {
        return Err(KernelError {
            errno: libc::EIO,
            message: "truncated netlink error message".into(),
        });
    };
    if err == 0 {
        return Ok(());
    }
    let mut e = KernelError::from_errno(err.saturating_neg());
    if has_tlvs {
        // After the errno comes the request's header (capped) or the whole request.
        let orig_len = payload
            .get(4..8)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .unwrap_or(0);
        let skip = 4 + if flags_capped {
            NLMSG_HDRLEN
        } else {
            (orig_len + 3) & !3
        };
        for (t, p) in attrs(payload.get(skip..).unwrap_or(&[])).flatten() {
            if t == NLMSGERR_ATTR_MSG {
                let s = p.split(|b| *b == 0).next().unwrap_or(p);
                let s = String::from_utf8_lossy(s).trim().to_string();
                if !s.is_empty() {
                    e.message = s;
                }
            }
        }
    }
    Err(e)
}

impl Tc {
    /// Open the socket.
    pub fn new() -> io::Result<Tc> {
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        s.set_ext_ack(true)?;
        s.set_cap_ack(true)?;
        // Batches and dumps need room; FORCE works with CAP_NET_ADMIN, else the plain
        // option (capped by rmem_max/wmem_max) is the fallback. The batch sizes follow
        // from what the kernel granted.
        let fd = s.as_raw_fd();
        for opts in [
            [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF],
            [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF],
        ] {
            for opt in opts {
                // SAFETY: fd is a valid socket; the option value is a c_int of the given size.
                let r = unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        opt,
                        &SOCK_BUF as *const libc::c_int as *const libc::c_void,
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                };
                if r == 0 {
                    break;
                }
            }
        }
        let (rcvbuf, sndbuf) = (sockopt(fd, libc::SO_RCVBUF), sockopt(fd, libc::SO_SNDBUF));
        Ok(Tc {
            sock: s,
            seq: 1,
            rbuf: vec![0u8; RECV_BUF],
            sbuf: Vec::new(),
            rcvbuf,
            sndbuf,
        })
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        let fd = self.sock.as_raw_fd();
        loop {
            // SAFETY: buf is valid for buf.len() bytes; a connected-less netlink socket
            // sends to the kernel (pid 0) by default with send().
            let r = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, buf.len(), 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }

    /// Receive one datagram into `self.rbuf`; returns its length.
    fn recv(&mut self) -> io::Result<usize> {
        recv_datagram(self.sock.as_raw_fd(), &mut self.rbuf)
    }

    /// Send `n` requests built by `build(i, seq, buf)` and return each one's answer in
    /// request order: `Ok` with the handle of the filter the kernel echoed (with `echo`;
    /// else 0).
    ///
    /// Many requests go out in one sendmsg, and only the last of each carries NLM_F_ACK.
    /// The kernel handles the messages of a datagram in order and answers every failed
    /// one with an error whether or not it asked for an ack, so once the last one's ack
    /// is in, every earlier request without an error has succeeded: one answer to read
    /// per datagram instead of one per request. The batch is as large as the send
    /// buffer allows and as the receive buffer can hold answers for if every request
    /// failed; an answer lost all the same (ENOBUFS) is never taken for success: every
    /// request not answered yet then fails.
    fn pipeline(
        &mut self,
        n: usize,
        echo: bool,
        mut build: impl FnMut(usize, u32, &mut Vec<u8>),
    ) -> Vec<Result<u32, KernelError>> {
        let base = self.seq;
        self.seq = self.seq.wrapping_add(n as u32 + 1);
        let mut results: Vec<Option<Result<(), KernelError>>> = vec![None; n];
        let mut handles: Vec<u32> = vec![0; if echo { n } else { 0 }];
        let cost = if echo { ECHO_COST } else { ANSWER_COST };
        let window = (self.rcvbuf / cost).clamp(1, WINDOW_MAX);
        let chunk = (self.sndbuf / 2).clamp(4096, SEND_CHUNK_MAX);
        let mut sbuf = std::mem::take(&mut self.sbuf);
        let mut next = 0usize;
        'batches: while next < n {
            sbuf.clear();
            let first = next;
            let mut last_at = 0;
            while next < n && next - first < window && sbuf.len() < chunk {
                last_at = sbuf.len();
                build(next, base.wrapping_add(next as u32), &mut sbuf);
                patch_flags(&mut sbuf[last_at..], |f| {
                    (f & !NLM_F_ACK) | if echo { NLM_F_ECHO } else { 0 }
                });
                next += 1;
            }
            patch_flags(&mut sbuf[last_at..], |f| f | NLM_F_ACK);
            let last = next - 1;
            if let Err(e) = self.send(&sbuf) {
                let ke = KernelError::io(&e);
                for r in &mut results[first..next] {
                    *r = Some(Err(ke.clone()));
                }
                continue;
            }
            loop {
                let len = match self.recv() {
                    Ok(l) => l,
                    Err(e) => {
                        // ENOBUFS: answers were lost; what the kernel did is unknown.
                        let mut ke = KernelError::io(&e);
                        ke.message = format!(
                            "{}: acks lost, dump to learn what the kernel holds",
                            ke.message
                        );
                        for r in results[first..].iter_mut().filter(|r| r.is_none()) {
                            *r = Some(Err(ke.clone()));
                        }
                        break 'batches;
                    }
                };
                let mut done = false;
                for m in split_msgs(&self.rbuf[..len]) {
                    let i = m.seq.wrapping_sub(base) as usize;
                    if i >= n {
                        continue;
                    }
                    match m.ty {
                        NLMSG_ERROR => {
                            if results[i].is_none() {
                                results[i] = Some(parse_error(
                                    m.payload,
                                    m.flags & NLM_F_CAPPED != 0,
                                    m.flags & NLM_F_ACK_TLVS != 0,
                                ));
                            }
                            done |= i == last;
                        }
                        // The echo of a created filter: its tcmsg says which handle.
                        RTM_NEWTFILTER if echo => {
                            if let Ok(h) = nla::get_u32(m.payload.get(8..).unwrap_or(&[])) {
                                handles[i] = h;
                            }
                        }
                        _ => {}
                    }
                }
                if done {
                    break;
                }
            }
            for r in results[first..next].iter_mut().filter(|r| r.is_none()) {
                *r = Some(Ok(()));
            }
        }
        self.sbuf = sbuf;
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| match r {
                Some(Ok(())) => Ok(handles.get(i).copied().unwrap_or(0)),
                Some(Err(e)) => Err(e),
                None => Err(KernelError {
                    errno: libc::EIO,
                    message: "no answer from the kernel".into(),
                }),
            })
            .collect()
    }

    fn request(&mut self, msg: impl FnOnce(u32, &mut Vec<u8>)) -> Result<(), KernelError> {
        let mut msg = Some(msg);
        self.pipeline(1, false, |_, seq, buf| {
            if let Some(m) = msg.take() {
                m(seq, buf)
            }
        })
        .pop()
        .unwrap_or(Ok(0))
        .map(|_| ())
    }

    /// Add the clsact qdisc to `ifindex` (already there is fine).
    pub fn ensure_clsact(&mut self, ifindex: u32) -> Result<(), KernelError> {
        let r = self.request(|seq, buf| {
            let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
            let at = begin_msg(buf, RTM_NEWQDISC, flags, seq);
            buf.extend_from_slice(&tcmsg(ifindex, TC_H_INGRESS_HANDLE, TC_H_CLSACT, 0));
            let mut w = NlaWriter::with_buf(std::mem::take(buf));
            w.str(TCA_KIND, "clsact");
            *buf = w.buf;
            finish_msg(buf, at);
        });
        match r {
            Err(e) if e.errno == libc::EEXIST => Ok(()),
            r => r,
        }
    }

    /// Install `filters` (create), many per sendmsg; one result per filter, in order.
    ///
    /// A filter goes in under its own `handle` when that is free in its (device, chain,
    /// prio). Handles derived from cookies can collide (about n²/2³³ for n filters in
    /// one place), and `tc` may have taken one: when the kernel answers EEXIST, or when
    /// `handle` is 0, the filter is sent again with handle 0, which makes flower pick a
    /// free one, and NLM_F_ECHO, which makes the kernel say which; `handle` is updated.
    /// An EEXIST that remains after that means a filter with the same match (key and
    /// mask) already sits in that (device, chain, prio): flower allows one.
    pub fn install(&mut self, filters: &mut [Filter]) -> Vec<Result<(), KernelError>> {
        let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
        let mut out: Vec<Result<(), KernelError>> = vec![Ok(()); filters.len()];
        let own: Vec<usize> = (0..filters.len())
            .filter(|&i| filters[i].handle != 0)
            .collect();
        let mut again: Vec<usize> = (0..filters.len())
            .filter(|&i| filters[i].handle == 0)
            .collect();
        let f = &*filters;
        let first = self.pipeline(own.len(), false, |j, seq, buf| {
            let x = &f[own[j]];
            x.encode_request(seq, flags, x.handle, buf)
        });
        for (&i, r) in own.iter().zip(first) {
            match r {
                Err(e) if e.errno == libc::EEXIST => again.push(i),
                Err(e) => out[i] = Err(e),
                Ok(_) => {}
            }
        }
        if again.is_empty() {
            return out;
        }
        again.sort_unstable();
        let second = self.pipeline(again.len(), true, |j, seq, buf| {
            f[again[j]].encode_request(seq, flags, 0, buf)
        });
        for (&i, r) in again.iter().zip(second) {
            match r {
                Ok(h) if h != 0 => filters[i].handle = h,
                Ok(_) => {
                    out[i] = Err(KernelError {
                        errno: libc::EIO,
                        message: "the kernel did not echo the handle it chose".into(),
                    })
                }
                Err(e) => out[i] = Err(e),
            }
        }
        out
    }

    /// Replace installed filters in place: each filter's `handle` names the filter of
    /// its (device, chain, prio) that it replaces (`tc filter replace`). The kernel swaps
    /// the old for the new at once, so no packet sees neither: this is how a filter whose
    /// key stays and whose actions change is updated (adding it beside the old one fails,
    /// flower allows one filter per key in a prio). See [`crate::Table`].
    pub fn replace(&mut self, filters: &[Filter]) -> Vec<Result<(), KernelError>> {
        let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
        self.pipeline(filters.len(), false, |i, seq, buf| {
            filters[i].encode_request(seq, flags, filters[i].handle, buf)
        })
        .into_iter()
        .map(|r| r.map(|_| ()))
        .collect()
    }

    /// Remove filters, many per sendmsg; one result per filter, in order.
    pub fn remove(&mut self, filters: &[FilterId]) -> Vec<Result<(), KernelError>> {
        self.pipeline(filters.len(), false, |i, seq, buf| {
            filters[i].encode_del(seq, buf)
        })
        .into_iter()
        .map(|r| r.map(|_| ()))
        .collect()
    }

    /// Remove flower filters of any protocol (`tc filter del dev D ingress pref P chain C
    /// handle H flower`): those switchd did not make may have been added with a protocol
    /// of their own (`protocol ip`), which [`Tc::remove`] (protocol all, as switchd
    /// installs) does not find. One result per filter, in order.
    pub(crate) fn remove_any_protocol(
        &mut self,
        filters: &[FilterId],
    ) -> Vec<Result<(), KernelError>> {
        self.pipeline(filters.len(), false, |i, seq, buf| {
            let f = &filters[i];
            let at = begin_msg(buf, RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, seq);
            // tcm_info: the prio in the upper half, protocol 0 (any) in the lower.
            buf.extend_from_slice(&tcmsg(
                f.ifindex,
                f.handle,
                TC_H_INGRESS_PARENT,
                (f.prio as u32) << 16,
            ));
            let mut w = NlaWriter::with_buf(std::mem::take(buf));
            w.str(TCA_KIND, "flower");
            w.u32(TCA_CHAIN, f.chain);
            *buf = w.buf;
            finish_msg(buf, at);
        })
        .into_iter()
        .map(|r| r.map(|_| ()))
        .collect()
    }

    /// Every flower filter on the clsact ingress of `ifindex`, all chains, with key,
    /// actions, cookie, counters and last use.
    pub fn dump(&mut self, ifindex: u32) -> Result<Vec<Installed>, KernelError> {
        self.dump_with(ifindex, None, false, filter::parse_filter)
    }

    /// The flower filters of one place, (`chain`, `prio`) on the clsact ingress of
    /// `ifindex`, in full: what [`Tc::dump`] gives for that place alone.
    pub fn dump_place(
        &mut self,
        ifindex: u32,
        chain: u32,
        prio: u16,
    ) -> Result<Vec<Installed>, KernelError> {
        self.dump_with(ifindex, Some((chain, prio)), false, filter::parse_filter)
    }

    /// Every flower filter on the clsact ingress of `ifindex`, all chains, tersely
    /// (TCA_DUMP_FLAGS_TERSE): place, cookie and counters, without the flower key and the
    /// actions' options, which are most of a full dump's bytes and of the kernel's work
    /// (`fl_terse_dump`). No time of last use then. A kernel older than 5.7 ignores the
    /// flag and answers in full; that parses the same, with the last use.
    pub fn dump_terse(&mut self, ifindex: u32) -> Result<Vec<Listed>, KernelError> {
        self.dump_with(ifindex, None, true, filter::parse_listed)
    }

    /// Dump the filters of `ifindex` (of one (chain, prio) with `place`), each message
    /// parsed by `parse`.
    fn dump_with<T>(
        &mut self,
        ifindex: u32,
        place: Option<(u32, u16)>,
        terse: bool,
        parse: impl Fn(&[u8]) -> Result<Option<T>, nla::NlaError>,
    ) -> Result<Vec<T>, KernelError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mut buf = Vec::new();
        let at = begin_msg(&mut buf, RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq);
        // tcm_info selects a prio (its upper half), TCA_CHAIN a chain.
        let info = place.map_or(0, |(_, prio)| (prio as u32) << 16);
        buf.extend_from_slice(&tcmsg(ifindex, 0, TC_H_INGRESS_PARENT, info));
        let mut w = NlaWriter::with_buf(buf);
        if let Some((chain, _)) = place {
            w.u32(TCA_CHAIN, chain);
        }
        if terse {
            // struct nla_bitfield32: value, selector.
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&TCA_DUMP_FLAGS_TERSE.to_ne_bytes());
            b[4..].copy_from_slice(&TCA_DUMP_FLAGS_TERSE.to_ne_bytes());
            w.put(TCA_DUMP_FLAGS, &b);
        }
        let mut buf = w.buf;
        finish_msg(&mut buf, at);
        self.send(&buf).map_err(|e| KernelError::io(&e))?;
        let mut out = Vec::new();
        loop {
            let len = self.recv().map_err(|e| KernelError::io(&e))?;
            for m in split_msgs(&self.rbuf[..len]) {
                if m.seq != seq {
                    continue;
                }
                match m.ty {
                    NLMSG_DONE => {
                        let err = nla::get_i32(m.payload).unwrap_or(0);
                        if err < 0 {
                            return Err(KernelError::from_errno(err.saturating_neg()));
                        }
                        return Ok(out);
                    }
                    NLMSG_ERROR => {
                        parse_error(
                            m.payload,
                            m.flags & NLM_F_CAPPED != 0,
                            m.flags & NLM_F_ACK_TLVS != 0,
                        )?;
                        return Ok(out);
                    }
                    RTM_NEWTFILTER => match parse(m.payload) {
                        Ok(Some(f)) => out.push(f),
                        Ok(None) => {}
                        Err(e) => {
                            return Err(KernelError {
                                errno: libc::EPROTO,
                                message: format!("unparsable filter in the dump: {e}"),
                            })
                        }
                    },
                    _ => {}
                }
            }
        }
    }

    fn link(&mut self, ty: u16, name: &str) -> Result<(), KernelError> {
        self.request(|seq, buf| {
            let flags = if ty == RTM_NEWLINK {
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
            } else {
                NLM_F_REQUEST | NLM_F_ACK
            };
            let at = begin_msg(buf, ty, flags, seq);
            buf.extend_from_slice(&[0u8; 16]); // struct ifinfomsg
            let mut w = NlaWriter::with_buf(std::mem::take(buf));
            w.str(IFLA_IFNAME, name);
            if ty == RTM_NEWLINK {
                let li = w.begin(IFLA_LINKINFO);
                w.str(IFLA_INFO_KIND, "bridge");
                w.end(li);
            }
            *buf = w.buf;
            finish_msg(buf, at);
        })
    }

    /// Create a stand-alone action (no filter) with index `index`, then delete it.
    fn probe_action(&mut self, a: &TcAction, index: u32) -> Result<(), KernelError> {
        let kind = a.kind().to_string();
        let r = self.request(|seq, buf| {
            let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
            let at = begin_msg(buf, RTM_NEWACTION, flags, seq);
            buf.extend_from_slice(&[0u8; 4]); // struct tcamsg
            let mut w = NlaWriter::with_buf(std::mem::take(buf));
            let t = w.begin(TCA_ACT_TAB);
            a.encode_indexed(1, index, None, &mut w);
            w.end(t);
            *buf = w.buf;
            finish_msg(buf, at);
        });
        match r {
            Ok(()) => {
                let _ = self.request(|seq, buf| {
                    let at = begin_msg(buf, RTM_DELACTION, NLM_F_REQUEST | NLM_F_ACK, seq);
                    buf.extend_from_slice(&[0u8; 4]);
                    let mut w = NlaWriter::with_buf(std::mem::take(buf));
                    let t = w.begin(TCA_ACT_TAB);
                    let e = w.begin(1);
                    w.str(TCA_ACT_KIND, &kind);
                    w.u32(TCA_ACT_INDEX, index);
                    w.end(e);
                    w.end(t);
                    *buf = w.buf;
                    finish_msg(buf, at);
                });
                Ok(())
            }
            // Someone else's action holds that index: the module is there.
            Err(e) if e.errno == libc::EEXIST => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Which TC parts work: the clsact qdisc and cls_flower (tried on a bridge made for
    /// the probe and deleted after it), and each action module (created stand-alone and
    /// deleted). Each missing part gets a sentence with the kernel's own words.
    pub fn probe(&mut self) -> KernelSupport {
        let mut s = KernelSupport::default();
        let lacks = |what: &str, cfg: &str, e: &KernelError| {
            format!("kernel lacks {what} ({cfg}): {}", e.message)
        };
        let name = format!("swdp{}", std::process::id() % 10_000_000);
        let _ = self.link(RTM_DELLINK, &name);
        match self.link(RTM_NEWLINK, &name) {
            Err(e) => s.missing.push(format!(
                "cannot create the probe bridge {name} to try clsact and cls_flower: {}",
                e.message
            )),
            Ok(()) => {
                let c = std::ffi::CString::new(name.clone()).unwrap_or_default();
                // SAFETY: c is a valid NUL-terminated string.
                let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) };
                match self.ensure_clsact(ifindex) {
                    Err(e) => {
                        s.missing
                            .push(lacks("the clsact qdisc", "CONFIG_NET_SCH_INGRESS", &e))
                    }
                    Ok(()) => {
                        s.present.push("sch_clsact");
                        let mut f = Filter {
                            ifindex,
                            chain: 0,
                            prio: 1,
                            handle: 1,
                            key: FlowerKey {
                                eth_type: Some(0x0800),
                                ..FlowerKey::default()
                            },
                            actions: vec![],
                            cookie: [0; 16],
                        };
                        match self.install(std::slice::from_mut(&mut f)).pop() {
                            Some(Err(e)) => {
                                s.missing
                                    .push(lacks("cls_flower", "CONFIG_NET_CLS_FLOWER", &e))
                            }
                            _ => s.present.push("cls_flower"),
                        }
                    }
                }
                let _ = self.link(RTM_DELLINK, &name);
            }
        }
        let actions: [(&'static str, &str, TcAction); 9] = [
            (
                "act_gact",
                "CONFIG_NET_ACT_GACT",
                TcAction::Gact(Verdict::Shot),
            ),
            (
                "act_mirred",
                "CONFIG_NET_ACT_MIRRED",
                TcAction::Mirred {
                    kind: filter::MirredKind::EgressMirror,
                    ifindex: 1,
                },
            ),
            ("act_vlan", "CONFIG_NET_ACT_VLAN", TcAction::VlanPop),
            (
                "act_pedit",
                "CONFIG_NET_ACT_PEDIT",
                TcAction::Pedit(PeditKey::set_bytes(
                    PeditHeader::Eth,
                    0,
                    &[2, 0, 0, 0, 0, 1],
                )),
            ),
            ("act_csum", "CONFIG_NET_ACT_CSUM", TcAction::Csum(1)),
            (
                "act_police",
                "CONFIG_NET_ACT_POLICE",
                TcAction::Police(PoliceRate::Bytes {
                    rate: 125_000,
                    burst: 12_500,
                }),
            ),
            (
                "act_tunnel_key",
                "CONFIG_NET_ACT_TUNNEL_KEY",
                TcAction::TunnelRelease,
            ),
            (
                "act_skbedit",
                "CONFIG_NET_ACT_SKBEDIT",
                TcAction::SkbeditMark(1),
            ),
            (
                "act_sample",
                "CONFIG_NET_ACT_SAMPLE",
                TcAction::Sample {
                    group: 1,
                    trunc: Some(64),
                },
            ),
        ];
        for (i, (module, cfg, a)) in actions.iter().enumerate() {
            // An index far above what `tc` or switchd's filters get by default.
            match self.probe_action(a, 0x7fff_ff00 + i as u32) {
                Ok(()) => s.present.push(module),
                Err(e) => s.missing.push(lacks(module, cfg, &e)),
            }
        }
        s
    }
}

/// One received datagram read as [`Tc`]'s batches and dumps read theirs (acks and errors
/// with their extended ack, the filters of a full and of a terse dump, an echoed filter's
/// handle), the results dropped: the fuzz target's entry (`fuzz.rs`).
pub(crate) fn read_datagram(data: &[u8]) {
    for m in split_msgs(data) {
        let _ = parse_error(
            m.payload,
            m.flags & NLM_F_CAPPED != 0,
            m.flags & NLM_F_ACK_TLVS != 0,
        );
        let _ = filter::parse_filter(m.payload);
        let _ = filter::parse_listed(m.payload);
        let _ = nla::get_u32(m.payload.get(8..).unwrap_or(&[]));
        let _ = (m.ty, m.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_payload_with_ext_ack_gives_the_kernels_words() {
        // errno -22, capped request header (16 bytes), then NLMSGERR_ATTR_MSG.
        let mut p = (-22i32).to_ne_bytes().to_vec();
        p.extend_from_slice(&[0u8; 16]);
        let mut w = NlaWriter::with_buf(p);
        w.str(NLMSGERR_ATTR_MSG, "TC classifier not found");
        let e = parse_error(&w.buf, true, true).unwrap_err();
        assert_eq!(e.errno, 22);
        assert_eq!(e.message, "TC classifier not found");
        // Without TLVs: strerror.
        let e = parse_error(&(-2i32).to_ne_bytes(), true, false).unwrap_err();
        assert_eq!(
            e,
            KernelError {
                errno: 2,
                message: "No such file or directory".into()
            }
        );
        assert_eq!(parse_error(&0i32.to_ne_bytes(), true, false), Ok(()));
        assert!(parse_error(&[1], true, false).is_err());
    }

    /// regress/fuzz rtnetlink (crash-63762be4): an error of i32::MIN has no negation;
    /// it is an error, not an overflow panic.
    #[test]
    fn the_most_negative_errno_is_an_error_not_a_panic() {
        let e = parse_error(&i32::MIN.to_ne_bytes(), true, false).unwrap_err();
        assert_eq!(e.errno, i32::MAX);
    }
}
