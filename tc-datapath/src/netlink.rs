//! The netlink side: one NETLINK_ROUTE socket with extended acks, pipelined requests whose
//! acks are matched by sequence number, dumps, and the probe of what the kernel supports.

use std::io;
use std::os::fd::AsRawFd;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use tokio::io::unix::AsyncFd;

use crate::filter::{
    self, begin_msg, finish_msg, tcmsg, Filter, FilterId, FlowerKey, Installed, PeditHeader,
    PeditKey, PoliceRate, TcAction, Verdict,
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

/// Requests in flight at most: their acks must fit the receive buffer.
const WINDOW: usize = 512;
/// Bytes per sendmsg at most (the kernel refuses more than the socket's send buffer).
const SEND_CHUNK: usize = 128 * 1024;
const RECV_BUF: usize = 1 << 20;

/// One NETLINK_ROUTE socket for TC (NETLINK_EXT_ACK and NETLINK_CAP_ACK on).
pub struct Tc {
    fd: AsyncFd<Socket>,
    seq: u32,
    rbuf: Vec<u8>,
}

/// A message as received: type, flags, seq and payload.
struct Msg<'a> {
    ty: u16,
    seq: u32,
    payload: &'a [u8],
}

fn split_msgs(mut data: &[u8]) -> Vec<Msg<'_>> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        out.push(Msg {
            ty: u16::from_ne_bytes([data[4], data[5]]),
            seq: u32::from_ne_bytes([data[8], data[9], data[10], data[11]]),
            payload: &data[NLMSG_HDRLEN..len],
        });
        let next = ((len + 3) & !3).min(data.len());
        data = &data[next..];
    }
    out
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
    let mut e = KernelError::from_errno(-err);
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
    /// Open the socket. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Tc> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("Tc::new needs a tokio runtime"));
        }
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        s.set_ext_ack(true)?;
        s.set_cap_ack(true)?;
        s.set_non_blocking(true)?;
        // Pipelined acks and dumps need room; FORCE works with CAP_NET_ADMIN, else the
        // plain option (capped by rmem_max) is the fallback.
        let size: libc::c_int = 8 << 20;
        let fd = s.as_raw_fd();
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: fd is a valid socket; the option value is a c_int of the given size.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    &size as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
        // SAFETY: the socket is owned by the AsyncFd from here on and closed only when the
        // AsyncFd drops, after its deregistration.
        let fd = unsafe { AsyncFd::register(s) }.map_err(io::Error::from)?;
        Ok(Tc {
            fd,
            seq: 1,
            rbuf: vec![0u8; RECV_BUF],
        })
    }

    async fn send(&self, buf: &[u8]) -> io::Result<()> {
        loop {
            let mut g = self.fd.writable().await?;
            let fd = g.get_inner().as_raw_fd();
            // SAFETY: buf is valid for buf.len() bytes; a connected-less netlink socket
            // sends to the kernel (pid 0) by default with send().
            let r = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, buf.len(), 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                g.clear_ready();
                continue;
            }
            return Err(e);
        }
    }

    /// Receive one datagram into `self.rbuf`; returns its length.
    async fn recv(&mut self) -> io::Result<usize> {
        loop {
            let mut g = self.fd.readable().await?;
            let fd = g.get_inner().as_raw_fd();
            // SAFETY: rbuf is valid for its length.
            let r = unsafe {
                libc::recv(
                    fd,
                    self.rbuf.as_mut_ptr() as *mut libc::c_void,
                    self.rbuf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                g.clear_ready();
                continue;
            }
            return Err(e);
        }
    }

    /// Send `n` requests built by `build(i, seq, buf)`, at most [`WINDOW`] in flight, and
    /// return each one's ack in request order.
    async fn pipeline(
        &mut self,
        n: usize,
        mut build: impl FnMut(usize, u32, &mut Vec<u8>),
    ) -> Vec<Result<(), KernelError>> {
        let base = self.seq;
        self.seq = self.seq.wrapping_add(n as u32 + 1);
        let mut results: Vec<Option<Result<(), KernelError>>> = vec![None; n];
        let (mut next, mut in_flight) = (0usize, 0usize);
        let mut sbuf = Vec::with_capacity(SEND_CHUNK + 4096);
        let fail_rest = |results: &mut Vec<Option<Result<(), KernelError>>>, e: KernelError| {
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(Err(e.clone()));
            }
        };
        while next < n || in_flight > 0 {
            sbuf.clear();
            let first = next;
            while next < n && in_flight < WINDOW && sbuf.len() < SEND_CHUNK {
                build(next, base.wrapping_add(next as u32), &mut sbuf);
                next += 1;
                in_flight += 1;
            }
            if !sbuf.is_empty() {
                if let Err(e) = self.send(&sbuf).await {
                    let ke = KernelError::io(&e);
                    for r in &mut results[first..next] {
                        *r = Some(Err(ke.clone()));
                    }
                    in_flight -= next - first;
                    continue;
                }
            }
            // Read acks until the window has room again (or everything is answered).
            while in_flight > 0 && (next == n || in_flight >= WINDOW / 2) {
                let len = match self.recv().await {
                    Ok(l) => l,
                    Err(e) => {
                        // ENOBUFS: acks were lost; what the kernel did is unknown.
                        let mut ke = KernelError::io(&e);
                        ke.message = format!(
                            "{}: acks lost, dump to learn what the kernel holds",
                            ke.message
                        );
                        fail_rest(&mut results, ke);
                        return results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect();
                    }
                };
                let data = &self.rbuf[..len];
                let mut off = 0;
                while off + NLMSG_HDRLEN <= len {
                    let mlen = u32::from_ne_bytes([
                        data[off],
                        data[off + 1],
                        data[off + 2],
                        data[off + 3],
                    ]) as usize;
                    if mlen < NLMSG_HDRLEN || off + mlen > len {
                        break;
                    }
                    let ty = u16::from_ne_bytes([data[off + 4], data[off + 5]]);
                    let flags = u16::from_ne_bytes([data[off + 6], data[off + 7]]);
                    let seq = u32::from_ne_bytes([
                        data[off + 8],
                        data[off + 9],
                        data[off + 10],
                        data[off + 11],
                    ]);
                    let i = seq.wrapping_sub(base) as usize;
                    if ty == NLMSG_ERROR && i < n && results[i].is_none() {
                        results[i] = Some(parse_error(
                            &data[off + NLMSG_HDRLEN..off + mlen],
                            flags & NLM_F_CAPPED != 0,
                            flags & NLM_F_ACK_TLVS != 0,
                        ));
                        in_flight -= 1;
                    }
                    off += (mlen + 3) & !3;
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(KernelError {
                    errno: libc::EIO,
                    message: "no answer from the kernel".into(),
                }))
            })
            .collect()
    }

    async fn request(&mut self, msg: impl FnOnce(u32, &mut Vec<u8>)) -> Result<(), KernelError> {
        let mut msg = Some(msg);
        self.pipeline(1, |_, seq, buf| {
            if let Some(m) = msg.take() {
                m(seq, buf)
            }
        })
        .await
        .pop()
        .unwrap_or(Ok(()))
    }

    /// Add the clsact qdisc to `ifindex` (already there is fine).
    pub async fn ensure_clsact(&mut self, ifindex: u32) -> Result<(), KernelError> {
        let r = self
            .request(|seq, buf| {
                let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
                let at = begin_msg(buf, RTM_NEWQDISC, flags, seq);
                buf.extend_from_slice(&tcmsg(ifindex, TC_H_INGRESS_HANDLE, TC_H_CLSACT, 0));
                let mut w = NlaWriter::with_buf(std::mem::take(buf));
                w.str(TCA_KIND, "clsact");
                *buf = w.buf;
                finish_msg(buf, at);
            })
            .await;
        match r {
            Err(e) if e.errno == libc::EEXIST => Ok(()),
            r => r,
        }
    }

    /// Install `filters` (create; a filter whose handle exists fails with EEXIST), many
    /// requests in flight; one result per filter, in order.
    pub async fn install(&mut self, filters: &[Filter]) -> Vec<Result<(), KernelError>> {
        self.pipeline(filters.len(), |i, seq, buf| filters[i].encode_new(seq, buf))
            .await
    }

    /// Remove filters; one result per filter, in order.
    pub async fn remove(&mut self, filters: &[FilterId]) -> Vec<Result<(), KernelError>> {
        self.pipeline(filters.len(), |i, seq, buf| filters[i].encode_del(seq, buf))
            .await
    }

    /// Every flower filter on the clsact ingress of `ifindex`, all chains, with cookie,
    /// counters and last use.
    pub async fn dump(&mut self, ifindex: u32) -> Result<Vec<Installed>, KernelError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mut buf = Vec::new();
        let at = begin_msg(&mut buf, RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq);
        buf.extend_from_slice(&tcmsg(ifindex, 0, TC_H_INGRESS_PARENT, 0));
        finish_msg(&mut buf, at);
        self.send(&buf).await.map_err(|e| KernelError::io(&e))?;
        let mut out = Vec::new();
        loop {
            let len = self.recv().await.map_err(|e| KernelError::io(&e))?;
            // Copy out: parsing borrows the buffer that the next recv reuses.
            let data = self.rbuf[..len].to_vec();
            for m in split_msgs(&data) {
                if m.seq != seq {
                    continue;
                }
                match m.ty {
                    NLMSG_DONE => {
                        let err = nla::get_i32(m.payload).unwrap_or(0);
                        if err < 0 {
                            return Err(KernelError::from_errno(-err));
                        }
                        return Ok(out);
                    }
                    NLMSG_ERROR => {
                        let flags = u16::from_ne_bytes([data[6], data[7]]);
                        parse_error(
                            m.payload,
                            flags & NLM_F_CAPPED != 0,
                            flags & NLM_F_ACK_TLVS != 0,
                        )?;
                        return Ok(out);
                    }
                    RTM_NEWTFILTER => match filter::parse_filter(m.payload) {
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

    async fn link(&mut self, ty: u16, name: &str) -> Result<(), KernelError> {
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
        .await
    }

    /// Create a stand-alone action (no filter) with index `index`, then delete it.
    async fn probe_action(&mut self, a: &TcAction, index: u32) -> Result<(), KernelError> {
        let kind = a.kind().to_string();
        let r = self
            .request(|seq, buf| {
                let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
                let at = begin_msg(buf, RTM_NEWACTION, flags, seq);
                buf.extend_from_slice(&[0u8; 4]); // struct tcamsg
                let mut w = NlaWriter::with_buf(std::mem::take(buf));
                let t = w.begin(TCA_ACT_TAB);
                a.encode_indexed(1, index, None, &mut w);
                w.end(t);
                *buf = w.buf;
                finish_msg(buf, at);
            })
            .await;
        match r {
            Ok(()) => {
                let _ = self
                    .request(|seq, buf| {
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
                    })
                    .await;
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
    pub async fn probe(&mut self) -> KernelSupport {
        let mut s = KernelSupport::default();
        let lacks = |what: &str, cfg: &str, e: &KernelError| {
            format!("kernel lacks {what} ({cfg}): {}", e.message)
        };
        let name = format!("swdp{}", std::process::id() % 10_000_000);
        let _ = self.link(RTM_DELLINK, &name).await;
        match self.link(RTM_NEWLINK, &name).await {
            Err(e) => s.missing.push(format!(
                "cannot create the probe bridge {name} to try clsact and cls_flower: {}",
                e.message
            )),
            Ok(()) => {
                let c = std::ffi::CString::new(name.clone()).unwrap_or_default();
                // SAFETY: c is a valid NUL-terminated string.
                let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) };
                match self.ensure_clsact(ifindex).await {
                    Err(e) => {
                        s.missing
                            .push(lacks("the clsact qdisc", "CONFIG_NET_SCH_INGRESS", &e))
                    }
                    Ok(()) => {
                        s.present.push("sch_clsact");
                        let f = Filter {
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
                        match self.install(std::slice::from_ref(&f)).await.pop() {
                            Some(Err(e)) => {
                                s.missing
                                    .push(lacks("cls_flower", "CONFIG_NET_CLS_FLOWER", &e))
                            }
                            _ => s.present.push("cls_flower"),
                        }
                    }
                }
                let _ = self.link(RTM_DELLINK, &name).await;
            }
        }
        let actions: [(&'static str, &str, TcAction); 8] = [
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
        ];
        for (i, (module, cfg, a)) in actions.iter().enumerate() {
            // An index far above what `tc` or switchd's filters get by default.
            match self.probe_action(a, 0x7fff_ff00 + i as u32).await {
                Ok(()) => s.present.push(module),
                Err(e) => s.missing.push(lacks(module, cfg, &e)),
            }
        }
        s
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
}
