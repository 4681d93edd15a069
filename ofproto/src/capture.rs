//! Reading OpenFlow out of captures: raw back-to-back messages ([`read_stream`]), and pcap
//! / pcapng files ([`read_pcap`]) with TCP reassembled per direction.
//!
//! Sans-IO like the rest of the crate: the caller hands over the bytes of a whole file.
//! Malformed input gives errors, never panics; memory beyond the input and the output is
//! bounded (out-of-order data per direction, number of connections).
//!
//! ```text
//! pcap:   | magic a1b2c3d4 (µs) or a1b23c4d (ns), either byte order | 20 bytes | records... |
//!         record: | ts_sec | ts_frac | incl_len | orig_len | incl_len bytes |
//! pcapng: blocks | type | total_len | body | total_len |; SHB 0x0a0d0d0a (byte-order magic
//!         1a2b3c4d), IDB 1 (link type), EPB 6, SPB 3; other blocks are skipped.
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use crate::error::DecodeError;
use crate::header::Header;

/// Split raw back-to-back OpenFlow messages. Each item is one message with its offset, or
/// an error with the offset of the message it concerns; iteration ends after an error
/// (the framing is lost). A truncated final message is `DecodeError::Incomplete`.
pub fn read_stream(
    bytes: &[u8],
) -> impl Iterator<Item = Result<(usize, Bytes), (usize, DecodeError)>> + '_ {
    let mut pos = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || pos >= bytes.len() {
            return None;
        }
        match Header::frame(&bytes[pos..]) {
            Ok(Some((_, msg))) => {
                let at = pos;
                pos += msg.len();
                Some(Ok((at, Bytes::copy_from_slice(msg))))
            }
            Ok(None) => {
                done = true;
                let needed = Header::decode(&bytes[pos..])
                    .map(|h| h.length as usize)
                    .unwrap_or(crate::header::HEADER_LEN);
                Some(Err((pos, DecodeError::Incomplete { needed })))
            }
            Err(e) => {
                done = true;
                Some(Err((pos, e)))
            }
        }
    })
}

/// Why a capture file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    #[error("not a pcap or pcapng file (magic {0:#010x})")]
    NotACapture(u32),
    #[error("capture truncated at byte {offset}: {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("malformed capture at byte {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
    #[error("link type {link_type} is not supported (EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP are)")]
    UnsupportedLinkType { link_type: u32 },
}

/// One OpenFlow message of a TCP stream, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// 1-based number of the frame (packet record) in which the message starts.
    pub frame: usize,
    /// Byte offset of the message's first byte in that frame's TCP payload.
    pub offset: usize,
    /// Byte offset in the reassembled stream of this direction.
    pub stream_offset: u64,
    pub bytes: Bytes,
}

/// Something wrong inside one stream: the framing broke, data was missing, or the stream
/// ended inside a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub frame: usize,
    pub offset: usize,
    pub stream_offset: u64,
    pub error: StreamErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamErrorKind {
    /// A message header that cannot be framed; bytes up to the next segment are dropped.
    Framing(DecodeError),
    /// Data missing from the capture (not captured, or beyond the reordering bound): the
    /// stream continues after the hole, at a segment boundary.
    Gap { missing: u64 },
    /// The stream ends inside a message.
    Truncated { have: usize, needed: usize },
}

/// One direction of one TCP connection, and the OpenFlow messages it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Frame number of the first packet of this direction.
    pub first_frame: usize,
    pub messages: Vec<CapturedMessage>,
    pub errors: Vec<StreamError>,
}

/// Out-of-order data held per direction, at most.
const MAX_REORDER_BYTES: usize = 1 << 20;
/// Connections (directions) followed at most; more are ignored.
const MAX_FLOWS: usize = 1 << 14;

/// Read a pcap or pcapng capture; return every TCP direction that carried payload, in the
/// order of their first packet, with its OpenFlow messages.
pub fn read_pcap(bytes: &[u8]) -> Result<Vec<Flow>, CaptureError> {
    let mut r = Reassembler::default();
    if bytes.len() < 4 {
        return Err(CaptureError::Truncated {
            offset: 0,
            what: "file shorter than its magic number",
        });
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => read_classic(bytes, &mut r)?,
        0x0a0d_0d0a => read_ng(bytes, &mut r)?,
        m => return Err(CaptureError::NotACapture(m)),
    }
    Ok(r.finish())
}

#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let x: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(x)
        } else {
            u16::from_le_bytes(x)
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let x: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        })
    }
}

fn read_classic(b: &[u8], r: &mut Reassembler) -> Result<(), CaptureError> {
    if b.len() < 24 {
        return Err(CaptureError::Truncated {
            offset: 0,
            what: "pcap file header",
        });
    }
    // The magic reads a1b2c3d4 / a1b23c4d in the writer's byte order.
    let e = Endian {
        big: matches!(b[0], 0xa1),
    };
    let link = e.u32(b, 20).unwrap_or(0) & 0xffff;
    check_link(link)?;
    let mut pos = 24;
    let mut frame = 0;
    while pos < b.len() {
        let Some(incl) = e.u32(b, pos + 8) else {
            return Err(CaptureError::Truncated {
                offset: pos,
                what: "pcap record header",
            });
        };
        let incl = incl as usize;
        let start = pos + 16;
        if incl > 0x0400_0000 {
            return Err(CaptureError::Malformed {
                offset: pos,
                what: "pcap record length beyond 64 MiB",
            });
        }
        let Some(data) = b.get(start..start + incl) else {
            return Err(CaptureError::Truncated {
                offset: pos,
                what: "pcap record data",
            });
        };
        frame += 1;
        r.packet(frame, link, data);
        pos = start + incl;
    }
    Ok(())
}

fn read_ng(b: &[u8], r: &mut Reassembler) -> Result<(), CaptureError> {
    let mut pos = 0;
    let mut e = Endian { big: false };
    let mut links: Vec<u32> = Vec::new();
    let mut frame = 0;
    while pos < b.len() {
        if b.len() - pos < 12 {
            return Err(CaptureError::Truncated {
                offset: pos,
                what: "pcapng block header",
            });
        }
        let raw_type = u32::from_le_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]);
        if raw_type == 0x0a0d_0d0a {
            // Section header: the byte-order magic decides how the section reads.
            let bom = &b[pos + 8..pos + 12];
            e = match bom {
                [0x1a, 0x2b, 0x3c, 0x4d] => Endian { big: true },
                [0x4d, 0x3c, 0x2b, 0x1a] => Endian { big: false },
                _ => {
                    return Err(CaptureError::Malformed {
                        offset: pos + 8,
                        what: "pcapng byte-order magic",
                    })
                }
            };
            links.clear();
        }
        let btype = e.u32(b, pos).unwrap_or(0);
        let len = e.u32(b, pos + 4).unwrap_or(0) as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(CaptureError::Malformed {
                offset: pos,
                what: "pcapng block length",
            });
        }
        let Some(block) = b.get(pos..pos + len) else {
            return Err(CaptureError::Truncated {
                offset: pos,
                what: "pcapng block",
            });
        };
        if e.u32(block, len - 4) != Some(len as u32) {
            return Err(CaptureError::Malformed {
                offset: pos + len - 4,
                what: "pcapng trailing block length differs",
            });
        }
        let body = &block[8..len - 4];
        match btype {
            1 => {
                let link = e.u16(body, 0).ok_or(CaptureError::Malformed {
                    offset: pos,
                    what: "pcapng interface block too short",
                })? as u32;
                links.push(link);
            }
            6 => {
                let (Some(ifc), Some(cap)) = (e.u32(body, 0), e.u32(body, 12)) else {
                    return Err(CaptureError::Malformed {
                        offset: pos,
                        what: "pcapng enhanced packet block too short",
                    });
                };
                let Some(data) = body.get(20..20 + cap as usize) else {
                    return Err(CaptureError::Malformed {
                        offset: pos,
                        what: "pcapng packet data runs past its block",
                    });
                };
                let Some(&link) = links.get(ifc as usize) else {
                    return Err(CaptureError::Malformed {
                        offset: pos,
                        what: "pcapng packet names an undefined interface",
                    });
                };
                check_link(link)?;
                frame += 1;
                r.packet(frame, link, data);
            }
            3 => {
                let orig = e.u32(body, 0).unwrap_or(0) as usize;
                let data = &body[4.min(body.len())..];
                let data = &data[..orig.min(data.len())];
                let Some(&link) = links.first() else {
                    return Err(CaptureError::Malformed {
                        offset: pos,
                        what: "pcapng simple packet before any interface",
                    });
                };
                check_link(link)?;
                frame += 1;
                r.packet(frame, link, data);
            }
            _ => {}
        }
        pos += len;
    }
    Ok(())
}

/// Link types: NULL 0, EN10MB 1, RAW 101 (and 12/14 on some systems), LOOP 108,
/// LINUX_SLL 113, IPV4 228, IPV6 229, LINUX_SLL2 276.
fn check_link(link: u32) -> Result<(), CaptureError> {
    match link {
        0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276 => Ok(()),
        l => Err(CaptureError::UnsupportedLinkType { link_type: l }),
    }
}

/// The IP packet inside a link-layer frame, or `None` if it is not IP.
fn ip_of(link: u32, d: &[u8]) -> Option<&[u8]> {
    let by_ethertype = |et: u16, rest: &'_ [u8]| -> Option<()> {
        match (et, rest.first().map(|b| b >> 4)) {
            (0x0800, Some(4)) | (0x86dd, Some(6)) => Some(()),
            _ => None,
        }
    };
    match link {
        1 => {
            let mut at = 12;
            let mut et = u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?);
            while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                at += 4;
                et = u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?);
            }
            let rest = d.get(at + 2..)?;
            by_ethertype(et, rest).map(|_| rest)
        }
        113 => {
            let et = u16::from_be_bytes(d.get(14..16)?.try_into().ok()?);
            let rest = d.get(16..)?;
            by_ethertype(et, rest).map(|_| rest)
        }
        276 => {
            let et = u16::from_be_bytes(d.get(0..2)?.try_into().ok()?);
            let rest = d.get(20..)?;
            by_ethertype(et, rest).map(|_| rest)
        }
        0 | 108 => d.get(4..),
        _ => Some(d),
    }
}

struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

/// The TCP segment in an IP packet (IPv4 or IPv6), or `None` (not TCP, a fragment, or
/// damaged).
fn tcp_of(ip: &[u8]) -> Option<Segment<'_>> {
    let (src, dst, tcp) = match ip.first()? >> 4 {
        4 => {
            let ihl = (ip[0] & 0x0f) as usize * 4;
            let total = u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?) as usize;
            let frag = u16::from_be_bytes(ip.get(6..8)?.try_into().ok()?);
            // Fragments are not reassembled (OpenFlow over TCP on loopback never has any).
            if ip.get(9)? != &6 || frag & 0x3fff != 0 || ihl < 20 || total < ihl {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            (
                IpAddr::V4(Ipv4Addr::from(s)),
                IpAddr::V4(Ipv4Addr::from(d)),
                ip.get(ihl..end)?,
            )
        }
        6 => {
            let plen = u16::from_be_bytes(ip.get(4..6)?.try_into().ok()?) as usize;
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let mut next = *ip.get(6)?;
            let mut at = 40;
            // Hop-by-hop, routing and destination options headers; a fragment is skipped.
            while matches!(next, 0 | 43 | 60) {
                next = *ip.get(at)?;
                at += (*ip.get(at + 1)? as usize + 1) * 8;
            }
            if next != 6 {
                return None;
            }
            let end = (40 + plen).min(ip.len());
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                ip.get(at..end)?,
            )
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes(tcp.get(0..2)?.try_into().ok()?);
    let dport = u16::from_be_bytes(tcp.get(2..4)?.try_into().ok()?);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let doff = (*tcp.get(12)? >> 4) as usize * 4;
    let flags = *tcp.get(13)?;
    if doff < 20 {
        return None;
    }
    Some(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        syn: flags & 0x02 != 0,
        payload: tcp.get(doff..)?,
    })
}

/// One direction being reassembled.
struct Stream {
    flow: Flow,
    /// Sequence number of stream offset 0.
    base: u32,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// Out-of-order segments by stream offset: (frame, payload offset, data).
    ooo: BTreeMap<u64, (usize, usize, Vec<u8>)>,
    ooo_bytes: usize,
    /// Delivered bytes not yet framed into a message, and where each piece came from:
    /// (stream offset, frame, payload offset).
    pending: Vec<u8>,
    pending_start: u64,
    origins: Vec<(u64, usize, usize)>,
}

impl Stream {
    fn new(src: SocketAddr, dst: SocketAddr, frame: usize, base: u32) -> Stream {
        Stream {
            flow: Flow {
                src,
                dst,
                first_frame: frame,
                messages: Vec::new(),
                errors: Vec::new(),
            },
            base,
            next: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            pending: Vec::new(),
            pending_start: 0,
            origins: Vec::new(),
        }
    }

    /// The 64-bit stream offset of `seq`, the one closest to `next`.
    fn unwrap(&self, seq: u32) -> i64 {
        let rel = seq.wrapping_sub(self.base) as u64;
        let cur = self.next;
        let mut best = (cur & !0xffff_ffff) | rel;
        if best > cur + (1 << 31) && best >= 1 << 32 {
            best -= 1 << 32;
        } else if best + (1 << 31) < cur {
            best += 1 << 32;
        }
        best as i64
    }

    fn segment(&mut self, frame: usize, seq: u32, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let off = self.unwrap(seq);
        let next = self.next as i64;
        let end = off + data.len() as i64;
        if end <= next {
            return; // a retransmission of delivered data
        }
        // Trim what was already delivered (overlap).
        let skip = (next - off).max(0) as usize;
        let off = off.max(next) as u64;
        let data = &data[skip..];
        if off == self.next {
            self.deliver(frame, skip, data);
            self.drain();
        } else if self.ooo_bytes + data.len() <= MAX_REORDER_BYTES {
            if !self.ooo.contains_key(&off) {
                self.ooo_bytes += data.len();
                self.ooo.insert(off, (frame, skip, data.to_vec()));
            }
        } else {
            // Out of room: give up on the hole and continue at the first held segment.
            self.skip_gap();
            self.ooo_bytes += data.len();
            self.ooo.entry(off).or_insert((frame, skip, data.to_vec()));
            self.drain();
        }
    }

    fn drain(&mut self) {
        while let Some((&off, _)) = self.ooo.iter().next() {
            if off > self.next {
                break;
            }
            let Some((frame, skip, data)) = self.ooo.remove(&off) else {
                break;
            };
            self.ooo_bytes -= data.len();
            let cut = (self.next - off) as usize;
            if cut < data.len() {
                self.deliver(frame, skip + cut, &data[cut..]);
            }
        }
    }

    /// Jump over missing data to the first held segment, dropping any partial message.
    fn skip_gap(&mut self) {
        let Some((&off, &(frame, skip, _))) = self.ooo.iter().next() else {
            return;
        };
        if off <= self.next {
            return;
        }
        self.flow.errors.push(StreamError {
            frame,
            offset: skip,
            stream_offset: self.next,
            error: StreamErrorKind::Gap {
                missing: off - self.next,
            },
        });
        self.pending.clear();
        self.origins.clear();
        self.next = off;
        self.pending_start = off;
    }

    fn origin(&self, at: u64) -> (usize, usize) {
        let i = self
            .origins
            .partition_point(|o| o.0 <= at)
            .saturating_sub(1);
        match self.origins.get(i) {
            Some(&(start, frame, skip)) => (frame, skip + (at - start) as usize),
            None => (0, 0),
        }
    }

    fn deliver(&mut self, frame: usize, skip: usize, data: &[u8]) {
        if self.pending.is_empty() {
            self.pending_start = self.next;
            self.origins.clear();
        }
        self.origins.push((self.next, frame, skip));
        self.pending.extend_from_slice(data);
        self.next += data.len() as u64;
        let mut used = 0;
        loop {
            match Header::frame(&self.pending[used..]) {
                Ok(Some((_, msg))) => {
                    let at = self.pending_start + used as u64;
                    let (frame, offset) = self.origin(at);
                    self.flow.messages.push(CapturedMessage {
                        frame,
                        offset,
                        stream_offset: at,
                        bytes: Bytes::copy_from_slice(msg),
                    });
                    used += msg.len();
                }
                Ok(None) => break,
                Err(e) => {
                    let at = self.pending_start + used as u64;
                    let (frame, offset) = self.origin(at);
                    self.flow.errors.push(StreamError {
                        frame,
                        offset,
                        stream_offset: at,
                        error: StreamErrorKind::Framing(e),
                    });
                    // Resynchronise at the next segment boundary.
                    used = self.pending.len();
                    break;
                }
            }
        }
        self.pending.drain(..used);
        self.pending_start += used as u64;
        if self.pending.is_empty() {
            self.origins.clear();
        } else {
            let keep_from = self.origins.partition_point(|o| o.0 <= self.pending_start);
            self.origins.drain(..keep_from.saturating_sub(1));
        }
    }

    fn finish(mut self) -> Flow {
        while !self.ooo.is_empty() {
            self.skip_gap();
            self.drain();
        }
        if !self.pending.is_empty() {
            let (frame, offset) = self.origin(self.pending_start);
            let needed = Header::decode(&self.pending)
                .map(|h| h.length as usize)
                .unwrap_or(crate::header::HEADER_LEN);
            self.flow.errors.push(StreamError {
                frame,
                offset,
                stream_offset: self.pending_start,
                error: StreamErrorKind::Truncated {
                    have: self.pending.len(),
                    needed,
                },
            });
        }
        self.flow
    }
}

#[derive(Default)]
struct Reassembler {
    streams: Vec<Stream>,
    index: HashMap<(SocketAddr, SocketAddr), usize>,
}

impl Reassembler {
    fn packet(&mut self, frame: usize, link: u32, data: &[u8]) {
        let Some(seg) = ip_of(link, data).and_then(tcp_of) else {
            return;
        };
        let key = (seg.src, seg.dst);
        let i = match self.index.get(&key) {
            // A SYN with another initial sequence number starts a new connection.
            Some(&i) if seg.syn && self.streams[i].base != seg.seq.wrapping_add(1) => None,
            Some(&i) => Some(i),
            None => None,
        };
        let i = match i {
            Some(i) => i,
            None => {
                if self.streams.len() >= MAX_FLOWS {
                    return;
                }
                // Without a SYN (capture started mid-stream) the first segment seen
                // starts the stream.
                let base = if seg.syn {
                    seg.seq.wrapping_add(1)
                } else {
                    seg.seq
                };
                self.streams
                    .push(Stream::new(seg.src, seg.dst, frame, base));
                self.index.insert(key, self.streams.len() - 1);
                self.streams.len() - 1
            }
        };
        let s = &mut self.streams[i];
        let seq = if seg.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        s.segment(frame, seq, seg.payload);
    }

    fn finish(self) -> Vec<Flow> {
        self.streams
            .into_iter()
            .map(Stream::finish)
            .filter(|f| !f.messages.is_empty() || !f.errors.is_empty())
            .collect()
    }
}
