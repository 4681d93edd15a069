//! Channels between switchd's processes: typed, framed messages with descriptor passing.
//!
//! A channel is one end of a `SOCK_SEQPACKET` socketpair. Each record is one frame: a 4-byte
//! big-endian length, then that many bytes of JSON (one [`Msg`]). Descriptors ride along as
//! SCM_RIGHTS on the record of the message that names them, so a descriptor can never be
//! paired with the wrong message, and a frame is never split or merged (the length prefix is
//! checked against the record, which catches truncation).
//!
//! A message larger than one record (a configuration with many thousand static flows)
//! goes as several records: the top bit of the length says that more records of the same
//! message follow. The descriptors ride on the first; the receiver joins the pieces, up to
//! [`MAX_MESSAGE`]. A message that fits one record is framed exactly as before.
//!
//! Why JSON: these are control-plane messages, a few per second at most; serde derive keeps
//! both ends in one type, a frame can be read in a log when something goes wrong, and the
//! same encoding serves switchctl. Packet-rate traffic (OpenFlow between ofp and datapath)
//! will travel as raw OpenFlow bytes on its own channel, not through JSON.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::msg::{Msg, Role};

/// The largest frame we send or accept. Comfortably below the default socket buffer
/// (about 208 KiB), which bounds a SEQPACKET record.
pub(crate) const MAX_FRAME: usize = 64 * 1024;
/// The largest message, over all its records.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// In a record's length: more records of this message follow.
const MORE: u32 = 1 << 31;
/// The most descriptors one message carries.
pub(crate) const MAX_FDS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub(crate) enum IpcError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("frame of {0} bytes is larger than {MAX_FRAME}")]
    TooLarge(usize),
    #[error("message of {0} bytes is larger than {MAX_MESSAGE}")]
    MessageTooLarge(usize),
    #[error("truncated frame (record {record} bytes, header says {header})")]
    Truncated { record: usize, header: usize },
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("ancillary data truncated (too many descriptors)")]
    FdsTruncated,
}

impl From<nix::Error> for IpcError {
    fn from(e: nix::Error) -> Self {
        IpcError::Io(io::Error::from(e))
    }
}

/// A new channel: two connected SEQPACKET sockets, close-on-exec.
pub(crate) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

/// Encode a message as one frame (the tests' reference for a small message's one record).
#[cfg(test)]
fn encode(msg: &Msg) -> Result<Vec<u8>, IpcError> {
    let json = serde_json::to_vec(msg)?;
    let len = json.len();
    if len + 4 > MAX_FRAME {
        return Err(IpcError::TooLarge(len + 4));
    }
    let mut frame = Vec::with_capacity(len + 4);
    frame.extend_from_slice(&(len as u32).to_be_bytes());
    frame.extend_from_slice(&json);
    Ok(frame)
}

/// Encode a message as the records it takes: one, or several for a large one.
pub(crate) fn encode_records(msg: &Msg) -> Result<Vec<Vec<u8>>, IpcError> {
    let json = serde_json::to_vec(msg)?;
    if json.len() > MAX_MESSAGE {
        return Err(IpcError::MessageTooLarge(json.len()));
    }
    let mut chunks = json.chunks(MAX_FRAME - 4).peekable();
    let mut out = Vec::new();
    while let Some(c) = chunks.next() {
        let more = if chunks.peek().is_some() { MORE } else { 0 };
        let mut frame = Vec::with_capacity(c.len() + 4);
        frame.extend_from_slice(&(c.len() as u32 | more).to_be_bytes());
        frame.extend_from_slice(c);
        out.push(frame);
    }
    if out.is_empty() {
        out.push(0u32.to_be_bytes().to_vec());
    }
    Ok(out)
}

/// What one record adds to the message being received: `Some` when it is complete.
pub(crate) fn join(partial: &mut Vec<u8>, record: &[u8]) -> Result<Option<Msg>, IpcError> {
    if record.len() < 4 {
        partial.clear();
        return Err(IpcError::Truncated {
            record: record.len(),
            header: 4,
        });
    }
    let header = u32::from_be_bytes([record[0], record[1], record[2], record[3]]);
    if header & MORE == 0 && partial.is_empty() {
        return decode(record).map(Some);
    }
    let len = (header & !MORE) as usize;
    if len != record.len() - 4 {
        partial.clear();
        return Err(IpcError::Truncated {
            record: record.len() - 4,
            header: len,
        });
    }
    if partial.len() + len > MAX_MESSAGE {
        let n = partial.len() + len;
        partial.clear();
        return Err(IpcError::MessageTooLarge(n));
    }
    partial.extend_from_slice(&record[4..]);
    if header & MORE != 0 {
        return Ok(None);
    }
    let json = std::mem::take(partial);
    Ok(Some(serde_json::from_slice(&json)?))
}

/// Decode one received record.
pub(crate) fn decode(record: &[u8]) -> Result<Msg, IpcError> {
    if record.len() < 4 {
        return Err(IpcError::Truncated {
            record: record.len(),
            header: 4,
        });
    }
    let header = u32::from_be_bytes([record[0], record[1], record[2], record[3]]) as usize;
    if header != record.len() - 4 {
        return Err(IpcError::Truncated {
            record: record.len() - 4,
            header,
        });
    }
    Ok(serde_json::from_slice(&record[4..])?)
}

fn send_raw(fd: RawFd, frame: &[u8], fds: &[RawFd]) -> nix::Result<usize> {
    let iov = [IoSlice::new(frame)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)
}

/// Receive one record into `partial`; `Ok(None)` at end of file (the peer closed its
/// end), `Ok(Some((None, fds)))` when more records of the message follow.
#[allow(clippy::type_complexity)]
fn recv_raw(
    fd: RawFd,
    partial: &mut Vec<u8>,
) -> Result<Option<(Option<Msg>, Vec<OwnedFd>)>, IpcError> {
    let mut buf = vec![0u8; MAX_FRAME];
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (n, flags, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let r = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)?;
        let mut fds = Vec::new();
        for c in r.cmsgs()? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for f in raw {
                    // SAFETY: the kernel just installed this descriptor for us; we own it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(f) });
                }
            }
        }
        (r.bytes, r.flags, fds)
    };
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    if flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(IpcError::FdsTruncated);
    }
    if flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(IpcError::TooLarge(n));
    }
    Ok(Some((join(partial, &buf[..n])?, fds)))
}

/// Send on a blocking descriptor (before a process's runtime starts).
pub(crate) fn send_blocking(fd: BorrowedFd<'_>, msg: &Msg, fds: &[RawFd]) -> Result<(), IpcError> {
    for (i, frame) in encode_records(msg)?.iter().enumerate() {
        send_raw(fd.as_raw_fd(), frame, if i == 0 { fds } else { &[] })?;
    }
    Ok(())
}

/// Receive on a blocking descriptor (before a process's runtime starts).
pub(crate) fn recv_blocking(fd: BorrowedFd<'_>) -> Result<Option<(Msg, Vec<OwnedFd>)>, IpcError> {
    let mut partial = Vec::new();
    let mut all = Vec::new();
    loop {
        match recv_raw(fd.as_raw_fd(), &mut partial)? {
            None => return Ok(None),
            Some((None, fds)) => all.extend(fds),
            Some((Some(m), fds)) => {
                all.extend(fds);
                return Ok(Some((m, all)));
            }
        }
    }
}

/// One end of a channel, inside a tokio runtime. `send` and `recv` take `&self`, so one task
/// can read while others write (each record goes out whole).
#[derive(Debug)]
pub(crate) struct Channel {
    fd: AsyncFd<OwnedFd>,
    /// The process at the other end.
    pub(crate) peer: Role,
    /// The records of a message received so far, and their descriptors.
    partial: std::sync::Mutex<(Vec<u8>, Vec<OwnedFd>)>,
    /// Held while the records of one message go out, so that two never interleave.
    sending: tokio::sync::Mutex<()>,
}

impl Channel {
    /// Wrap a channel descriptor; must be called inside a runtime.
    pub(crate) fn new(fd: OwnedFd, peer: Role) -> io::Result<Channel> {
        set_nonblocking(fd.as_raw_fd())?;
        // SAFETY: an OwnedFd is a valid open descriptor, always the same one, for as long
        // as the AsyncFd that owns it lives.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
                .map_err(io::Error::from)?;
        Ok(Channel {
            fd,
            peer,
            partial: Default::default(),
            sending: Default::default(),
        })
    }

    pub(crate) async fn send_with_fds(&self, msg: &Msg, fds: &[RawFd]) -> Result<(), IpcError> {
        let frames = encode_records(msg)?;
        let _one_at_a_time = self.sending.lock().await;
        for (i, frame) in frames.iter().enumerate() {
            let fds = if i == 0 { fds } else { &[] };
            loop {
                let mut guard = self.fd.writable().await?;
                match guard
                    .try_io(|fd| send_raw(fd.as_raw_fd(), frame, fds).map_err(io::Error::from))
                {
                    Ok(r) => {
                        r.map_err(IpcError::Io)?;
                        break;
                    }
                    Err(_would_block) => continue,
                }
            }
        }
        Ok(())
    }

    /// The next message and its descriptors; `Ok(None)` when the peer has gone.
    pub(crate) async fn recv(&self) -> Result<Option<(Msg, Vec<OwnedFd>)>, IpcError> {
        loop {
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|fd| {
                let mut p = self.partial.lock().unwrap_or_else(|e| e.into_inner());
                let (partial, held) = &mut *p;
                match recv_raw(fd.as_raw_fd(), partial) {
                    Err(IpcError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
                    Ok(Some((None, fds))) => {
                        held.extend(fds);
                        Ok(Ok(None))
                    }
                    Ok(Some((Some(m), fds))) => {
                        let mut all = std::mem::take(held);
                        all.extend(fds);
                        Ok(Ok(Some(Some((m, all)))))
                    }
                    Ok(None) => Ok(Ok(Some(None))),
                    Err(e) => {
                        held.clear();
                        Ok(Err(e))
                    }
                }
            });
            match res {
                Ok(Ok(Ok(Some(r)))) => return Ok(r),
                Ok(Ok(Ok(None))) => continue, // more records of this message follow
                Ok(Ok(Err(e))) => return Err(e),
                Ok(Err(e)) => return Err(IpcError::Io(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn frames_round_trip_with_descriptors() {
        let (a, b) = pair().unwrap();
        let (mut r, w) = std::os::unix::net::UnixStream::pair().unwrap();
        let msg = Msg::ListenerAdd {
            listener: "127.0.0.1:6653".into(),
        };
        send_blocking(a.as_fd(), &msg, &[w.as_raw_fd()]).unwrap();
        let (got, fds) = recv_blocking(b.as_fd()).unwrap().unwrap();
        assert_eq!(got, msg);
        assert_eq!(fds.len(), 1);
        // The descriptor that arrived is the same socket: writing to it reaches `r`.
        let mut passed = std::os::unix::net::UnixStream::from(fds.into_iter().next().unwrap());
        passed.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        r.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"x");
        drop(a);
        assert!(
            recv_blocking(b.as_fd()).unwrap().is_none(),
            "EOF after close"
        );
    }

    #[test]
    fn a_message_larger_than_a_record_goes_in_several_and_arrives_whole() {
        let (a, b) = pair().unwrap();
        let (_r, w) = std::os::unix::net::UnixStream::pair().unwrap();
        // A configuration with many static flows: several records.
        let big = Msg::ReloadResult {
            id: 7,
            errors: (0..5000)
                .map(|i| format!("flow {i} {}", "x".repeat(40)))
                .collect(),
            notes: Vec::new(),
        };
        assert!(encode_records(&big).unwrap().len() > 3);
        let small = Msg::ListenerAdd {
            listener: "127.0.0.1:6653".into(),
        };
        assert_eq!(
            encode_records(&small).unwrap(),
            vec![encode(&small).unwrap()]
        );
        let sender = std::thread::spawn({
            let big = big.clone();
            move || {
                send_blocking(a.as_fd(), &big, &[w.as_raw_fd()]).unwrap();
                send_blocking(a.as_fd(), &small, &[]).unwrap();
            }
        });
        let (got, fds) = recv_blocking(b.as_fd()).unwrap().unwrap();
        assert_eq!(got, big);
        assert_eq!(fds.len(), 1, "the descriptor arrives with the message");
        let (got, _) = recv_blocking(b.as_fd()).unwrap().unwrap();
        assert!(matches!(got, Msg::ListenerAdd { .. }));
        sender.join().unwrap();
        // The same through the async channel.
        let (a, b) = pair().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = Channel::new(a, Role::Ofp).unwrap();
            let b = Channel::new(b, Role::Parent).unwrap();
            let (sent, got) = tokio::join!(a.send_with_fds(&big, &[]), b.recv());
            sent.unwrap();
            assert_eq!(got.unwrap().unwrap().0, big);
        });
    }

    #[test]
    fn truncated_and_garbage_frames_are_errors() {
        assert!(matches!(decode(&[0, 0]), Err(IpcError::Truncated { .. })));
        assert!(matches!(
            decode(&[0, 0, 0, 9, b'{']),
            Err(IpcError::Truncated { .. })
        ));
        assert!(matches!(
            decode(&[0, 0, 0, 1, b'{']),
            Err(IpcError::Malformed(_))
        ));
        let big = Msg::ReloadResult {
            id: 1,
            errors: vec!["x".repeat(MAX_FRAME)],
            notes: Vec::new(),
        };
        assert!(matches!(encode(&big), Err(IpcError::TooLarge(_))));
    }
}
