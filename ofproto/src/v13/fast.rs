//! The hot paths of a learning switch and of a switch that reports packets, on bytes: a
//! zero-copy view of a PACKET_IN and template encoders for the three messages sent once
//! per packet (PACKET_IN, the learned FLOW_MOD, PACKET_OUT).
//!
//! The general codec ([`super::decode`], [`super::Message::encode`]) builds and moves
//! structures of several hundred bytes per message; here a PACKET_IN is a few loads and an
//! answer is one fixed-size head written on the stack, then one copy. Each encoder writes
//! exactly the bytes the general encoder writes for the same message (tested below).
//!
//! ```text
//! PACKET_IN (7.4.1), with the match a switch sends for a table miss (in_port alone):
//!  0 | version 4 | type 10 | length : 16 | xid : 32 |
//!  8 | buffer_id : 32 | total_len : 16 | reason : 8 | table_id : 8 |
//! 16 | cookie : 64 |
//! 24 | OFPMT_OXM : 16 | match length 12 : 16 | OXM_OF_IN_PORT : 32 |
//! 32 | in_port : 32 | pad : 32 |
//! 40 | pad : 16 | data ...
//! ```

use std::ops::Range;

use bytes::BytesMut;

use super::{msg_type, OFPP_ANY};
use crate::header::OFP13_VERSION;

/// An OXM header of the OpenFlow basic class: `field`, no mask, `len` bytes of value.
const fn oxm_basic(field: u8, len: u8) -> u32 {
    (super::oxm::OXM_CLASS_OPENFLOW_BASIC as u32) << 16 | (field as u32) << 9 | len as u32
}

/// `OXM_OF_IN_PORT`
pub const OXM_OF_IN_PORT: u32 = oxm_basic(super::oxm::field::IN_PORT, 4);
/// `OXM_OF_ETH_DST`
pub(crate) const OXM_OF_ETH_DST: u32 = oxm_basic(super::oxm::field::ETH_DST, 6);
/// `OXM_OF_ETH_SRC`
pub(crate) const OXM_OF_ETH_SRC: u32 = oxm_basic(super::oxm::field::ETH_SRC, 6);

/// Where the fields of `ofp_packet_in` are (7.4.1).
mod pi {
    use std::ops::Range;
    pub(crate) const XID: Range<usize> = 4..8;
    pub(crate) const BUFFER_ID: Range<usize> = 8..12;
    pub(crate) const TOTAL_LEN: Range<usize> = 12..14;
    pub(crate) const REASON: usize = 14;
    pub(crate) const TABLE_ID: usize = 15;
    pub const COOKIE: Range<usize> = 16..24;
    pub(crate) const MATCH_TYPE: Range<usize> = 24..26;
    pub const MATCH_LEN: Range<usize> = 26..28;
    pub(crate) const OXMS: usize = 28;
    /// The match starts here; after it (padded to 8) come 2 bytes of padding, then data.
    pub const MATCH: usize = 24;
}

#[inline]
fn u16_at(b: &[u8], at: Range<usize>) -> u16 {
    let mut v = [0; 2];
    v.copy_from_slice(&b[at]);
    u16::from_be_bytes(v)
}

#[inline]
fn u32_at(b: &[u8], at: Range<usize>) -> u32 {
    let mut v = [0; 4];
    v.copy_from_slice(&b[at]);
    u32::from_be_bytes(v)
}

#[inline]
fn u64_at(b: &[u8], at: Range<usize>) -> u64 {
    let mut v = [0; 8];
    v.copy_from_slice(&b[at]);
    u64::from_be_bytes(v)
}

#[inline]
const fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// One framed OpenFlow 1.3 PACKET_IN, read (and for a `&mut [u8]`, patched) in place.
///
/// [`PacketInView::new_checked`] accepts a buffer whose header, fixed part and match
/// framing are sound, so that every accessor is in bounds; it does not look inside the
/// OXMs. Whatever it refuses, and whatever a caller needs checked beyond that, is for the
/// general decoder ([`super::decode`]), which also names the error to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInView<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PacketInView<T> {
    /// A view without checks: for a buffer that [`PacketInView::new_checked`] accepted
    /// before, or that [`PacketInHead`] wrote. Accessors panic on a shorter buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        PacketInView { buffer }
    }

    /// The view if `buffer` is one whole OpenFlow 1.3 PACKET_IN: version 0x04, type
    /// PACKET_IN, the header's length equal to the buffer's, an OFPMT_OXM match of at
    /// least its 4-byte header, and room for the match's padding and the 2 bytes of
    /// padding before the data. `None` otherwise.
    #[inline]
    pub fn new_checked(buffer: T) -> Option<Self> {
        let b = buffer.as_ref();
        if b.len() < pi::OXMS
            || b[0] != OFP13_VERSION
            || b[1] != msg_type::PACKET_IN
            || usize::from(u16_at(b, 2..4)) != b.len()
            || u16_at(b, pi::MATCH_TYPE) != super::oxm::OFPMT_OXM
        {
            return None;
        }
        let match_len = usize::from(u16_at(b, pi::MATCH_LEN));
        if match_len < 4 || pi::MATCH + pad8(match_len) + 2 > b.len() {
            return None;
        }
        Some(PacketInView { buffer })
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn xid(&self) -> u32 {
        u32_at(self.buffer.as_ref(), pi::XID)
    }

    #[inline]
    pub fn buffer_id(&self) -> u32 {
        u32_at(self.buffer.as_ref(), pi::BUFFER_ID)
    }

    #[inline]
    pub fn total_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), pi::TOTAL_LEN)
    }

    /// `OFPR_*`
    #[inline]
    pub fn reason(&self) -> u8 {
        self.buffer.as_ref()[pi::REASON]
    }

    #[inline]
    pub fn table_id(&self) -> u8 {
        self.buffer.as_ref()[pi::TABLE_ID]
    }

    #[inline]
    pub fn cookie(&self) -> u64 {
        u64_at(self.buffer.as_ref(), pi::COOKIE)
    }

    #[inline]
    fn match_len(&self) -> usize {
        usize::from(u16_at(self.buffer.as_ref(), pi::MATCH_LEN))
    }

    /// The match's OXM TLVs, without the match header and padding.
    #[inline]
    pub(crate) fn oxms(&self) -> &[u8] {
        &self.buffer.as_ref()[pi::OXMS..pi::MATCH + self.match_len()]
    }

    /// Each OXM of the match as (header, value and mask), in wire order, up to the first
    /// one that does not fit.
    #[inline]
    pub(crate) fn oxm_iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        let mut rest = self.oxms();
        std::iter::from_fn(move || {
            if rest.len() < 4 {
                return None;
            }
            let header = u32_at(rest, 0..4);
            let end = 4 + (header & 0xff) as usize;
            let value = rest.get(4..end)?;
            rest = &rest[end..];
            Some((header, value))
        })
    }

    /// The value of the match's OXM_OF_IN_PORT, if it has one.
    #[inline]
    pub fn in_port(&self) -> Option<u32> {
        self.oxm_iter()
            .find(|(h, _)| *h == OXM_OF_IN_PORT)
            .map(|(_, v)| u32_at(v, 0..4))
    }

    /// The in_port if the match is exactly OXM_OF_IN_PORT, the shape switches send for a
    /// table miss. For such a PACKET_IN the general decoder has nothing further to check:
    /// it decodes with the same values.
    #[inline]
    pub fn in_port_only(&self) -> Option<u32> {
        let b = self.buffer.as_ref();
        (self.match_len() == 12 && u32_at(b, 28..32) == OXM_OF_IN_PORT).then(|| u32_at(b, 32..36))
    }

    /// Where the data starts: after the match, its padding and 2 bytes that align the
    /// frame's payload (IP header) to 32 bits (7.4.1).
    #[inline]
    pub(crate) fn data_offset(&self) -> usize {
        pi::MATCH + pad8(self.match_len()) + 2
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> PacketInView<&'a T> {
    /// The frame (the first `total_len` bytes of it or fewer), borrowed from the buffer
    /// rather than from the view.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.data_offset()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> PacketInView<T> {
    #[inline]
    pub fn set_xid(&mut self, xid: u32) {
        self.buffer.as_mut()[pi::XID].copy_from_slice(&xid.to_be_bytes());
    }

    #[inline]
    pub fn set_buffer_id(&mut self, buffer_id: u32) {
        self.buffer.as_mut()[pi::BUFFER_ID].copy_from_slice(&buffer_id.to_be_bytes());
    }

    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let at = self.data_offset();
        &mut self.buffer.as_mut()[at..]
    }
}

/// A PACKET_IN whose match is in_port alone, as a switch sends it: every field but the
/// data, which [`PacketInHead::encode`] copies straight from the caller's slice (no
/// `Bytes` of its own first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInHead {
    pub buffer_id: u32,
    pub total_len: u16,
    /// `OFPR_*`
    pub reason: u8,
    pub table_id: u8,
    pub cookie: u64,
    pub in_port: u32,
}

impl PacketInHead {
    /// The bytes before the data.
    pub const LEN: usize = 42;

    /// The head of the message for `data_len` bytes of data. The length field is the low
    /// 16 bits of the total, as the general encoder writes it.
    #[inline]
    pub fn bytes(&self, xid: u32, data_len: usize) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = OFP13_VERSION;
        b[1] = msg_type::PACKET_IN;
        b[2..4].copy_from_slice(&((Self::LEN + data_len) as u16).to_be_bytes());
        b[pi::XID].copy_from_slice(&xid.to_be_bytes());
        b[pi::BUFFER_ID].copy_from_slice(&self.buffer_id.to_be_bytes());
        b[pi::TOTAL_LEN].copy_from_slice(&self.total_len.to_be_bytes());
        b[pi::REASON] = self.reason;
        b[pi::TABLE_ID] = self.table_id;
        b[pi::COOKIE].copy_from_slice(&self.cookie.to_be_bytes());
        b[pi::MATCH_TYPE].copy_from_slice(&super::oxm::OFPMT_OXM.to_be_bytes());
        // The match's length excludes its padding (7.2.2): 4 + one 8-byte OXM.
        b[pi::MATCH_LEN].copy_from_slice(&12u16.to_be_bytes());
        b[28..32].copy_from_slice(&OXM_OF_IN_PORT.to_be_bytes());
        b[32..36].copy_from_slice(&self.in_port.to_be_bytes());
        b
    }

    /// Append the PACKET_IN with `data`, as `Message::PacketIn(..).encode` would.
    #[inline]
    pub fn encode(&self, xid: u32, data: &[u8], out: &mut BytesMut) {
        out.reserve(Self::LEN + data.len());
        out.extend_from_slice(&self.bytes(xid, data.len()));
        out.extend_from_slice(data);
    }
}

/// The FLOW_MOD a MAC-learning switch sends: ADD in table 0, no hard timeout, match
/// in_port, eth_dst and eth_src exactly, apply-actions output to one port (max_len 0),
/// out_port and out_group ANY, no flags. 104 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedFlowMod {
    pub cookie: u64,
    pub priority: u16,
    pub idle_timeout: u16,
    pub buffer_id: u32,
    pub in_port: u32,
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub out_port: u32,
}

impl LearnedFlowMod {
    pub const LEN: usize = 104;

    #[inline]
    pub fn bytes(&self, xid: u32) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = OFP13_VERSION;
        b[1] = msg_type::FLOW_MOD;
        b[2..4].copy_from_slice(&(Self::LEN as u16).to_be_bytes());
        b[4..8].copy_from_slice(&xid.to_be_bytes());
        b[8..16].copy_from_slice(&self.cookie.to_be_bytes());
        // cookie_mask 0, table 0, command OFPFC_ADD (0), hard_timeout 0
        b[26..28].copy_from_slice(&self.idle_timeout.to_be_bytes());
        b[30..32].copy_from_slice(&self.priority.to_be_bytes());
        b[32..36].copy_from_slice(&self.buffer_id.to_be_bytes());
        b[36..40].copy_from_slice(&OFPP_ANY.to_be_bytes());
        b[40..44].copy_from_slice(&super::OFPG_ANY.to_be_bytes());
        // flags 0, pad; the match: OXM, length 4 + 8 + 10 + 10 = 32 (no padding needed)
        b[48..50].copy_from_slice(&super::oxm::OFPMT_OXM.to_be_bytes());
        b[50..52].copy_from_slice(&32u16.to_be_bytes());
        b[52..56].copy_from_slice(&OXM_OF_IN_PORT.to_be_bytes());
        b[56..60].copy_from_slice(&self.in_port.to_be_bytes());
        b[60..64].copy_from_slice(&OXM_OF_ETH_DST.to_be_bytes());
        b[64..70].copy_from_slice(&self.eth_dst);
        b[70..74].copy_from_slice(&OXM_OF_ETH_SRC.to_be_bytes());
        b[74..80].copy_from_slice(&self.eth_src);
        // OFPIT_APPLY_ACTIONS, length 24, pad; OFPAT_OUTPUT, length 16, port, max_len 0, pad
        b[80..82]
            .copy_from_slice(&super::instruction::instruction_type::APPLY_ACTIONS.to_be_bytes());
        b[82..84].copy_from_slice(&24u16.to_be_bytes());
        b[88..90].copy_from_slice(&super::action::action_type::OUTPUT.to_be_bytes());
        b[90..92].copy_from_slice(&16u16.to_be_bytes());
        b[92..96].copy_from_slice(&self.out_port.to_be_bytes());
        b
    }

    /// Append the FLOW_MOD, as `Message::FlowMod(..).encode` would.
    #[inline]
    pub fn encode(&self, xid: u32, out: &mut BytesMut) {
        out.extend_from_slice(&self.bytes(xid));
    }
}

/// A PACKET_OUT whose one action is output to `out_port` (max_len 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketOutHead {
    pub buffer_id: u32,
    pub in_port: u32,
    pub out_port: u32,
}

impl PacketOutHead {
    /// The bytes before the data.
    pub const LEN: usize = 40;

    #[inline]
    pub fn bytes(&self, xid: u32, data_len: usize) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = OFP13_VERSION;
        b[1] = msg_type::PACKET_OUT;
        b[2..4].copy_from_slice(&((Self::LEN + data_len) as u16).to_be_bytes());
        b[4..8].copy_from_slice(&xid.to_be_bytes());
        b[8..12].copy_from_slice(&self.buffer_id.to_be_bytes());
        b[12..16].copy_from_slice(&self.in_port.to_be_bytes());
        b[16..18].copy_from_slice(&16u16.to_be_bytes()); // actions_len
        b[24..26].copy_from_slice(&super::action::action_type::OUTPUT.to_be_bytes());
        b[26..28].copy_from_slice(&16u16.to_be_bytes());
        b[28..32].copy_from_slice(&self.out_port.to_be_bytes());
        b
    }

    /// Append the PACKET_OUT with `data`, as `Message::PacketOut(..).encode` would.
    #[inline]
    pub fn encode(&self, xid: u32, data: &[u8], out: &mut BytesMut) {
        out.reserve(Self::LEN + data.len());
        out.extend_from_slice(&self.bytes(xid, data.len()));
        out.extend_from_slice(data);
    }
}

/// The fixed part of one framed OpenFlow 1.3 FLOW_MOD (7.3.4.1), read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowModView<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> FlowModView<T> {
    /// `ofp_flow_mod` up to its match.
    pub(crate) const FIXED_LEN: usize = 48;

    /// The view if `buffer` is a version 0x04 FLOW_MOD at least as long as its fixed part.
    #[inline]
    pub fn new_checked(buffer: T) -> Option<Self> {
        let b = buffer.as_ref();
        (b.len() >= Self::FIXED_LEN && b[0] == OFP13_VERSION && b[1] == msg_type::FLOW_MOD)
            .then_some(FlowModView { buffer })
    }

    #[inline]
    pub fn xid(&self) -> u32 {
        u32_at(self.buffer.as_ref(), 4..8)
    }

    #[inline]
    pub fn cookie(&self) -> u64 {
        u64_at(self.buffer.as_ref(), 8..16)
    }

    #[inline]
    pub fn table_id(&self) -> u8 {
        self.buffer.as_ref()[24]
    }

    /// `OFPFC_*`
    #[inline]
    pub fn command(&self) -> u8 {
        self.buffer.as_ref()[25]
    }

    #[inline]
    pub fn priority(&self) -> u16 {
        u16_at(self.buffer.as_ref(), 30..32)
    }

    #[inline]
    pub fn buffer_id(&self) -> u32 {
        u32_at(self.buffer.as_ref(), 32..36)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        decode, Action, FlowMod, FlowModCommand, Instruction, MacAddr, Masked, Match, Message, Oxm,
        PacketIn, PacketOut, OFP_NO_BUFFER,
    };
    use super::*;
    use bytes::Bytes;

    fn general(xid: u32, m: Message) -> BytesMut {
        let mut out = BytesMut::new();
        m.encode(xid, &mut out);
        out
    }

    fn general_flow_mod(xid: u32, f: &LearnedFlowMod) -> BytesMut {
        general(
            xid,
            Message::FlowMod(FlowMod {
                cookie: f.cookie,
                table_id: 0,
                command: FlowModCommand::Add,
                idle_timeout: f.idle_timeout,
                priority: f.priority,
                buffer_id: f.buffer_id,
                out_port: OFPP_ANY,
                out_group: super::super::OFPG_ANY,
                match_: Match::from_fields([
                    Oxm::InPort(f.in_port),
                    Oxm::EthDst(Masked::exact(MacAddr(f.eth_dst))),
                    Oxm::EthSrc(Masked::exact(MacAddr(f.eth_src))),
                ]),
                instructions: [Instruction::ApplyActions(
                    [Action::Output {
                        port: f.out_port,
                        max_len: 0,
                    }]
                    .into_iter()
                    .collect(),
                )]
                .into_iter()
                .collect(),
                ..Default::default()
            }),
        )
    }

    #[test]
    fn the_learned_flow_mod_is_what_the_general_encoder_writes() {
        for (i, buffer_id) in [OFP_NO_BUFFER, 0, 0x1234_5678].into_iter().enumerate() {
            let f = LearnedFlowMod {
                cookie: 0x5357_444c_0000_0001,
                priority: 1,
                idle_timeout: 240 + i as u16,
                buffer_id,
                in_port: 0xffff_fff0 + i as u32,
                eth_dst: [2, 0xd, 0, 0, 0, i as u8],
                eth_src: [2, 0xa, 1, 2, 3, i as u8],
                out_port: 7 + i as u32,
            };
            let mut fast = BytesMut::from(&b"prefix"[..]);
            f.encode(99 + i as u32, &mut fast);
            let general = general_flow_mod(99 + i as u32, &f);
            assert_eq!(fast[6..], general[..]);
            let v = FlowModView::new_checked(&fast[6..]).expect("a flow mod");
            assert_eq!(
                (v.xid(), v.cookie(), v.table_id(), v.command()),
                (99 + i as u32, f.cookie, 0, 0)
            );
            assert_eq!((v.priority(), v.buffer_id()), (1, buffer_id));
        }
        assert_eq!(
            FlowModView::new_checked(&[4u8, 14, 0, 8, 0, 0, 0, 1][..]),
            None
        );
    }

    #[test]
    fn the_packet_out_is_what_the_general_encoder_writes() {
        for data in [&[][..], &[1, 2, 3][..], &[0xab; 60][..]] {
            let mut fast = BytesMut::new();
            PacketOutHead {
                buffer_id: 0x42,
                in_port: 3,
                out_port: super::super::OFPP_FLOOD,
            }
            .encode(5, data, &mut fast);
            let general = general(
                5,
                Message::PacketOut(PacketOut {
                    buffer_id: 0x42,
                    in_port: 3,
                    actions: [Action::Output {
                        port: super::super::OFPP_FLOOD,
                        max_len: 0,
                    }]
                    .into_iter()
                    .collect(),
                    data: Bytes::copy_from_slice(data),
                }),
            );
            assert_eq!(fast, general);
        }
    }

    #[test]
    fn the_packet_in_is_what_the_general_encoder_writes() {
        for data in [&[][..], &[1, 2, 3][..], &[0xab; 1500][..]] {
            let head = PacketInHead {
                buffer_id: OFP_NO_BUFFER,
                total_len: 1514,
                reason: 1,
                table_id: 3,
                cookie: 0x0123_4567_89ab_cdef,
                in_port: 0xfffe_0001,
            };
            let mut fast = BytesMut::from(&b"xy"[..]);
            head.encode(77, data, &mut fast);
            let general = general(
                77,
                Message::PacketIn(PacketIn {
                    buffer_id: OFP_NO_BUFFER,
                    total_len: 1514,
                    reason: 1,
                    table_id: 3,
                    cookie: 0x0123_4567_89ab_cdef,
                    match_: Match::from_fields([Oxm::InPort(0xfffe_0001)]),
                    data: Bytes::copy_from_slice(data),
                }),
            );
            assert_eq!(fast[2..], general[..], "{} bytes of data", data.len());
        }
    }

    fn encoded_packet_in(match_: Match, data: &[u8]) -> Bytes {
        general(
            9,
            Message::PacketIn(PacketIn {
                buffer_id: 77,
                total_len: data.len() as u16,
                reason: 2,
                table_id: 4,
                cookie: 0xc0ffee,
                match_,
                data: Bytes::copy_from_slice(data),
            }),
        )
        .freeze()
    }

    #[test]
    fn the_view_reads_what_the_general_decoder_reads() {
        let matches = [
            Match::from_fields([Oxm::InPort(5)]),
            Match::from_fields([Oxm::EthType(0x800), Oxm::InPort(6)]),
            Match::from_fields([Oxm::EthType(0x800)]),
            Match::new(),
        ];
        for match_ in matches {
            for data in [&[][..], &[0xcd; 14][..], &[1; 100][..]] {
                let msg = encoded_packet_in(match_.clone(), data);
                let v = PacketInView::new_checked(&msg[..]).expect("a packet-in");
                let (xid, Message::PacketIn(p)) = decode(&msg).expect("decodes") else {
                    panic!("not a packet-in")
                };
                let in_port = p.match_.fields.iter().find_map(|f| match f {
                    Oxm::InPort(p) => Some(*p),
                    _ => None,
                });
                assert_eq!(
                    (
                        v.xid(),
                        v.buffer_id(),
                        v.total_len(),
                        v.reason(),
                        v.table_id()
                    ),
                    (xid, p.buffer_id, p.total_len, p.reason, p.table_id)
                );
                assert_eq!(
                    (v.cookie(), v.in_port(), v.data()),
                    (p.cookie, in_port, &p.data[..])
                );
                assert_eq!(v.oxm_iter().count(), p.match_.fields.len());
                let only = matches!(p.match_.fields[..], [Oxm::InPort(_)]);
                assert_eq!(v.in_port_only(), in_port.filter(|_| only));
            }
        }
    }

    #[test]
    fn the_view_patches_in_place() {
        let head = PacketInHead {
            buffer_id: OFP_NO_BUFFER,
            total_len: 4,
            reason: 0,
            table_id: 0,
            cookie: 0,
            in_port: 2,
        };
        let mut b = head.bytes(1, 4).to_vec();
        b.extend_from_slice(&[0; 4]);
        let mut v = PacketInView::new_checked(&mut b[..]).expect("a packet-in");
        v.set_xid(0x55);
        v.set_buffer_id(7);
        v.data_mut()[1] = 9;
        let v = PacketInView::new_unchecked(&b[..]);
        assert_eq!(
            (v.xid(), v.buffer_id(), v.data()),
            (0x55, 7, &[0, 9, 0, 0][..])
        );
    }

    #[test]
    fn the_view_refuses_what_it_cannot_frame() {
        let ok = encoded_packet_in(Match::from_fields([Oxm::InPort(5)]), &[0; 20]);
        let mut wrong_version = ok.to_vec();
        wrong_version[0] = 1;
        assert_eq!(PacketInView::new_checked(&wrong_version[..]), None);
        let mut wrong_type = ok.to_vec();
        wrong_type[1] = msg_type::PACKET_OUT;
        assert_eq!(PacketInView::new_checked(&wrong_type[..]), None);
        // A length field that disagrees with the frame is the general decoder's to refuse.
        let mut short = ok.to_vec();
        short.pop();
        assert_eq!(PacketInView::new_checked(&short[..]), None);
        assert_eq!(PacketInView::new_checked(&ok[..30]), None);
        let mut long_match = ok.to_vec();
        long_match[26..28].copy_from_slice(&100u16.to_be_bytes());
        assert_eq!(PacketInView::new_checked(&long_match[..]), None);
        let mut tiny_match = ok.to_vec();
        tiny_match[26..28].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(PacketInView::new_checked(&tiny_match[..]), None);
        let mut standard_match = ok.to_vec();
        standard_match[24..26].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(PacketInView::new_checked(&standard_match[..]), None);
        // An OXM running past the match ends the walk.
        let mut bad_oxm = ok.to_vec();
        bad_oxm[31] = 40;
        let v = PacketInView::new_checked(&bad_oxm[..]).expect("framed");
        assert_eq!((v.in_port(), v.in_port_only()), (None, None));
    }
}
