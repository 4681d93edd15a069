//! Packets to the controller: what act_sample copies, read from the kernel's psample
//! generic-netlink family.
//!
//! Output to CONTROLLER becomes act_sample (rate 1) with a psample group number that names
//! the flow (`group_of`). The kernel sends every sampled packet to the multicast group
//! "packets" of the family "psample" (`net/psample/psample.c`, `include/uapi/linux/psample.h`
//! in Linux 6.1), as one PSAMPLE_CMD_SAMPLE message:
//!
//! ```text
//! nlmsghdr (type: the family's id) | genlmsghdr (cmd 0, version, reserved) | attributes:
//!   PSAMPLE_ATTR_IIFINDEX     (0) u16  the ingress device (act_sample at TC ingress)
//!   PSAMPLE_ATTR_SAMPLE_RATE  (5) u32
//!   PSAMPLE_ATTR_ORIGSIZE     (2) u32  the packet's length (skb->len, MAC header on)
//!   PSAMPLE_ATTR_SAMPLE_GROUP (3) u32  the group number of the action
//!   PSAMPLE_ATTR_GROUP_SEQ    (4) u32
//!   PSAMPLE_ATTR_DATA         (6)      the frame from its MAC header, cut to the
//!                                      action's trunc size; absent when that is 0
//! ```
//!
//! Known limit, from the kernel: the ingress ifindex is sent as a u16, so a device whose
//! ifindex is above 65535 is known by its low 16 bits only.
//!
//! DATA is the packet's bytes only: the outer VLAN tag that the receive path (or an
//! act_vlan push) keeps in the skb's metadata is not among them. The translation puts it
//! there for the copy: a placeholder push before the sample and a pop after it
//! ([`crate::translate::controller_actions`]), so the controller gets the frame with its
//! tags, as it would leave a port.
//!
//! The datapath process (CAP_NET_ADMIN) listens; later kernels require that capability
//! for the group. One [`Psample`] socket per process: the kernel copies each sample once
//! per listening socket.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use netlink_sys::{protocols::NETLINK_GENERIC, Socket};
use tokio::io::unix::AsyncFd;

use crate::cookie::Fnv;
use crate::nla::{self, attrs, NlaError, NlaWriter};
use crate::uapi::{NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST};

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

const PSAMPLE_CMD_SAMPLE: u8 = 0;
const PSAMPLE_ATTR_IIFINDEX: u16 = 0;
const PSAMPLE_ATTR_ORIGSIZE: u16 = 2;
const PSAMPLE_ATTR_SAMPLE_GROUP: u16 = 3;
const PSAMPLE_ATTR_DATA: u16 = 6;

/// The family and its multicast group for sampled packets.
pub(crate) const FAMILY: &str = "psample";
pub(crate) const GROUP_PACKETS: &str = "packets";

/// Requested receive buffer: a burst of samples (the controller police lets 100 through
/// at once per filter) waits here while the daemon is busy.
const SOCK_BUF: libc::c_int = 16 << 20;
/// One datagram: psample caps a message at 64 KiB.
const RECV_BUF: usize = 68 << 10;
/// Datagrams read with one recvmmsg: under a stream of samples each wake-up takes what
/// has queued with one system call instead of one per sample. The buffers are touched
/// only as far as datagrams fill them.
const BATCH: usize = 16;

/// The psample group of a flow whose cookie hash ([`crate::cookie::flow_hash`]) is
/// `flow_hash`: the same flow content gives the same group in every run, so a restart
/// adopts an unchanged CONTROLLER flow's filters. Never 0.
pub(crate) fn group_of(flow_hash: [u8; 8]) -> u32 {
    let mut h = Fnv::new();
    h.write(b"psample");
    h.write(&flow_hash);
    let v = h.finish();
    match (v ^ (v >> 32)) as u32 {
        0 => 1,
        g => g,
    }
}

/// One sampled packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The ingress device's ifindex (its low 16 bits, see the module's notes).
    pub ifindex: u16,
    pub group: u32,
    /// The packet's whole length.
    pub orig_size: u32,
    /// The frame from its MAC header, as far as the action's trunc size.
    pub data: Vec<u8>,
}

/// Parse one PSAMPLE_CMD_SAMPLE message's payload (after the nlmsghdr). `Ok(None)` for
/// another command.
pub(crate) fn parse_sample(payload: &[u8]) -> Result<Option<Sample>, NlaError> {
    let cmd = nla::get_u8(payload)?;
    if cmd != PSAMPLE_CMD_SAMPLE {
        return Ok(None);
    }
    let (mut ifindex, mut group, mut orig_size, mut data) = (0u16, None, 0u32, Vec::new());
    for r in attrs(payload.get(4..).unwrap_or(&[])) {
        let (t, p) = r?;
        match t {
            PSAMPLE_ATTR_IIFINDEX => ifindex = nla::get_u16(p)?,
            PSAMPLE_ATTR_ORIGSIZE => orig_size = nla::get_u32(p)?,
            PSAMPLE_ATTR_SAMPLE_GROUP => group = Some(nla::get_u32(p)?),
            PSAMPLE_ATTR_DATA => data = p.to_vec(),
            _ => {}
        }
    }
    let group = group.ok_or(NlaError("psample message without a sample group"))?;
    Ok(Some(Sample {
        ifindex,
        group,
        orig_size,
        data,
    }))
}

/// A generic-netlink request: nlmsghdr, genlmsghdr, attributes.
fn genl_request(ty: u16, cmd: u8, seq: u32, attrs: impl FnOnce(&mut NlaWriter)) -> Vec<u8> {
    let mut w = NlaWriter::new();
    w.raw(&[0u8; 4]);
    w.raw(&ty.to_ne_bytes());
    w.raw(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    w.raw(&seq.to_ne_bytes());
    w.raw(&0u32.to_ne_bytes());
    w.raw(&[cmd, 1, 0, 0]);
    attrs(&mut w);
    let len = w.buf.len() as u32;
    w.buf[..4].copy_from_slice(&len.to_ne_bytes());
    w.buf
}

fn bad(e: NlaError) -> io::Error {
    io::Error::other(e.0)
}

/// The family id of "psample" and the id of its multicast group "packets", from the
/// generic-netlink controller.
fn resolve() -> io::Result<(u16, u32)> {
    let mut s = Socket::new(NETLINK_GENERIC)?;
    s.bind_auto()?;
    let req = genl_request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, |w| {
        w.str(CTRL_ATTR_FAMILY_NAME, FAMILY)
    });
    s.send(&req, 0)?;
    let mut buf = vec![0u8; 32 << 10];
    let mut found: Option<(u16, Option<u32>)> = None;
    loop {
        let n = s.recv(&mut &mut buf[..], 0)?;
        let mut data = &buf[..n];
        while data.len() >= NLMSG_HDRLEN {
            let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            let ty = u16::from_ne_bytes([data[4], data[5]]);
            if len < NLMSG_HDRLEN || len > data.len() {
                return Err(io::Error::other("truncated generic netlink answer"));
            }
            let payload = &data[NLMSG_HDRLEN..len];
            data = &data[((len + 3) & !3).min(data.len())..];
            match ty {
                NLMSG_ERROR => {
                    let err = nla::get_i32(payload).map_err(bad)?;
                    if err == 0 {
                        return match found {
                            Some((fam, Some(grp))) => Ok((fam, grp)),
                            Some((_, None)) => Err(io::Error::other(format!(
                                "the {FAMILY} family has no multicast group \"{GROUP_PACKETS}\""
                            ))),
                            None => Err(io::Error::other("no answer to CTRL_CMD_GETFAMILY")),
                        };
                    }
                    let e = io::Error::from_raw_os_error(-err);
                    return Err(if -err == libc::ENOENT {
                        io::Error::new(
                            e.kind(),
                            format!("kernel lacks the {FAMILY} family (CONFIG_PSAMPLE): {e}"),
                        )
                    } else {
                        e
                    });
                }
                GENL_ID_CTRL => {
                    let mut fam = None;
                    let mut grp = None;
                    for r in attrs(payload.get(4..).unwrap_or(&[])) {
                        let (t, p) = r.map_err(bad)?;
                        match t {
                            CTRL_ATTR_FAMILY_ID => fam = Some(nla::get_u16(p).map_err(bad)?),
                            CTRL_ATTR_MCAST_GROUPS => {
                                for g in attrs(p) {
                                    let (_, g) = g.map_err(bad)?;
                                    let (mut name, mut id) = (&[][..], None);
                                    for a in attrs(g) {
                                        let (t, v) = a.map_err(bad)?;
                                        match t {
                                            CTRL_ATTR_MCAST_GRP_NAME => name = v,
                                            CTRL_ATTR_MCAST_GRP_ID => id = nla::get_u32(v).ok(),
                                            _ => {}
                                        }
                                    }
                                    let name = name.split(|b| *b == 0).next().unwrap_or(name);
                                    if name == GROUP_PACKETS.as_bytes() {
                                        grp = id;
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if let Some(f) = fam {
                        found = Some((f, grp));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Receive up to [`BATCH`] datagrams from a non-blocking socket into `buf` (cut into
/// [`RECV_BUF`] slots), their lengths into `lens`; how many. The first datagram's error
/// (EAGAIN, ENOBUFS) is the caller's; an error after some datagrams is kept by the kernel
/// for the next call (`do_recvmmsg`), so an overrun is still counted.
fn recv_batch(fd: RawFd, buf: &mut [u8], lens: &mut [usize; BATCH]) -> io::Result<usize> {
    // SAFETY: all-zero iovec and mmsghdr are valid values (null pointers, zero lengths).
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    let mut n = 0;
    for ((slot, v), m) in buf
        .chunks_exact_mut(RECV_BUF)
        .zip(iov.iter_mut())
        .zip(msgs.iter_mut())
    {
        v.iov_base = slot.as_mut_ptr().cast();
        v.iov_len = slot.len();
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
        n += 1;
    }
    // SAFETY: the first n headers point at n iovecs, each valid for writing its length,
    // all of which outlive the call.
    let r = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = (r as usize).min(n);
    for (l, m) in lens.iter_mut().zip(&msgs[..got]) {
        *l = m.msg_len as usize;
    }
    Ok(got)
}

/// The socket that receives sampled packets.
pub struct Psample {
    fd: AsyncFd<Socket>,
    family: u16,
    /// [`BATCH`] receive slots of [`RECV_BUF`] bytes.
    buf: Vec<u8>,
    /// Times the kernel dropped samples because the receive buffer was full (ENOBUFS).
    pub overruns: u64,
    /// Messages that did not parse.
    pub malformed: u64,
}

impl Psample {
    /// Resolve the family, join its "packets" group. Must be called inside a tokio
    /// runtime.
    pub fn open() -> io::Result<Psample> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("Psample::open needs a tokio runtime"));
        }
        let (family, group) = resolve()?;
        let mut s = Socket::new(NETLINK_GENERIC)?;
        s.bind_auto()?;
        let fd = s.as_raw_fd();
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: fd is a valid socket; the value is a c_int of the given size.
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
        s.add_membership(group)?;
        s.set_non_blocking(true)?;
        // SAFETY: the socket is owned by the AsyncFd from here on.
        let fd = unsafe { AsyncFd::register(s) }.map_err(io::Error::from)?;
        Ok(Psample {
            fd,
            family,
            buf: vec![0u8; BATCH * RECV_BUF],
            overruns: 0,
            malformed: 0,
        })
    }

    /// The samples of the datagrams that are there, waiting for one if none is (possibly
    /// no sample: an overrun, counted in [`Psample::overruns`], or messages of another
    /// kind).
    pub async fn next(&mut self) -> io::Result<Vec<Sample>> {
        let mut lens = [0usize; BATCH];
        let got = loop {
            let mut g = self.fd.readable().await?;
            match recv_batch(g.get_inner().as_raw_fd(), &mut self.buf, &mut lens) {
                // Fewer than asked for does not prove the queue empty: the batch also
                // stops at an overrun (ENOBUFS, returned by the next call), and a full
                // queue gives no new readiness event. Readiness is cleared on EAGAIN only.
                Ok(k) => break k,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => g.clear_ready(),
                    Some(libc::EINTR) => {}
                    Some(libc::ENOBUFS) => {
                        self.overruns += 1;
                        return Ok(Vec::new());
                    }
                    _ => return Err(e),
                },
            }
        };
        let mut out = Vec::with_capacity(got);
        for (slot, n) in self.buf.chunks_exact(RECV_BUF).zip(&lens[..got]) {
            parse_datagram(
                self.family,
                &slot[..(*n).min(RECV_BUF)],
                &mut out,
                &mut self.malformed,
            );
        }
        Ok(out)
    }
}

/// The samples of one datagram (messages of `family`), into `out`; what does not parse is
/// counted in `malformed`.
pub(crate) fn parse_datagram(
    family: u16,
    mut data: &[u8],
    out: &mut Vec<Sample>,
    malformed: &mut u64,
) {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let ty = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            *malformed += 1;
            break;
        }
        if ty == family {
            match parse_sample(&data[NLMSG_HDRLEN..len]) {
                Ok(Some(s)) => out.push(s),
                Ok(None) => {}
                Err(_) => *malformed += 1,
            }
        }
        data = &data[((len + 3) & !3).min(data.len())..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_stable_and_never_zero() {
        let a = group_of([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(a, group_of([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_ne!(a, group_of([1, 2, 3, 4, 5, 6, 7, 9]));
        assert_ne!(a, 0);
    }

    #[test]
    fn a_sample_message_parses() {
        // genlmsghdr, then the attributes in the order psample_sample_packet puts them.
        let mut w = NlaWriter::new();
        w.raw(&[PSAMPLE_CMD_SAMPLE, 1, 0, 0]);
        w.u16(PSAMPLE_ATTR_IIFINDEX, 7);
        w.u32(5, 1);
        w.u32(PSAMPLE_ATTR_ORIGSIZE, 98);
        w.u32(PSAMPLE_ATTR_SAMPLE_GROUP, 0xdead_beef);
        w.u32(4, 3);
        w.put(PSAMPLE_ATTR_DATA, &[0xff; 14]);
        let s = parse_sample(&w.buf).unwrap().unwrap();
        assert_eq!(
            s,
            Sample {
                ifindex: 7,
                group: 0xdead_beef,
                orig_size: 98,
                data: vec![0xff; 14]
            }
        );
        // Truncated to nothing: no DATA attribute at all.
        let mut w = NlaWriter::new();
        w.raw(&[PSAMPLE_CMD_SAMPLE, 1, 0, 0]);
        w.u32(PSAMPLE_ATTR_SAMPLE_GROUP, 9);
        assert!(parse_sample(&w.buf).unwrap().unwrap().data.is_empty());
        // No group: malformed, not a panic.
        let mut w = NlaWriter::new();
        w.raw(&[PSAMPLE_CMD_SAMPLE, 1, 0, 0]);
        w.u16(PSAMPLE_ATTR_IIFINDEX, 7);
        assert!(parse_sample(&w.buf).is_err());
    }
}
