//! The learning switch's hot path in OpenFlow 1.3, on bytes: reading a table-miss
//! PACKET_IN and writing the learned FLOW_MOD and the PACKET_OUT without building
//! `ofproto` messages. The general codec builds and moves structures of several hundred
//! bytes per message; here a PACKET_IN is a few loads and an answer is one copy of a
//! template plus a few stores.
//!
//! Nothing here decides anything: [`packet_in`] only recognises the one shape that
//! switches send for a table miss (a match holding just OXM_OF_IN_PORT) and returns `None`
//! for anything else, which then takes the general decoder, errors included. The encoders
//! write exactly the bytes `ofproto` writes for the same message (tested below).

use bytes::BytesMut;
use ofproto::v13;

/// What the learning switch needs from a PACKET_IN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketIn<'a> {
    pub xid: u32,
    pub buffer_id: u32,
    pub in_port: u32,
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `ofp_packet_in` up to the match, the match (type, length 12, OXM_OF_IN_PORT, 4 bytes of
/// padding) and the 2 bytes of padding before the frame.
const PI_FRAME: usize = 8 + 16 + 16 + 2;
const OXM_IN_PORT: u32 = 0x8000_0004;

/// `msg` (one framed message) as a PACKET_IN whose match is exactly `in_port`; `None` for
/// every other message, which then goes through [`v13::decode`]. For the messages it
/// accepts, the general decoder would succeed with the same values: an OXM match of length
/// 12 whose only field is an unmasked 4-byte IN_PORT has nothing else to check, and a
/// PACKET_IN's data is the rest of the message whatever its length.
pub fn packet_in(msg: &[u8]) -> Option<PacketIn<'_>> {
    if msg.len() < PI_FRAME
        || msg[0] != ofproto::header::OFP13_VERSION
        || msg[1] != v13::msg_type::PACKET_IN
        || usize::from(u16_at(msg, 2)) != msg.len()
        // OFPMT_OXM, length 12
        || u32_at(msg, 24) != 0x0001_000c
        || u32_at(msg, 28) != OXM_IN_PORT
    {
        return None;
    }
    Some(PacketIn {
        xid: u32_at(msg, 4),
        buffer_id: u32_at(msg, 8),
        in_port: u32_at(msg, 32),
        data: &msg[PI_FRAME..],
    })
}

/// The learned flow: cookie, ADD, idle timeout, priority, buffer id, match in_port +
/// eth_dst + eth_src, apply-actions output. 104 bytes.
pub struct LearnedFlow {
    pub cookie: u64,
    pub priority: u16,
    pub idle_timeout: u16,
    pub buffer_id: u32,
    pub in_port: u32,
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub out_port: u32,
}

const FM_LEN: usize = 104;

/// Append the FLOW_MOD [`LearnedFlow`] describes, as `ofproto` encodes
/// `FlowMod { cookie, command: Add, idle_timeout, priority, buffer_id, out_port: ANY,
/// out_group: ANY, match_: [InPort, EthDst, EthSrc], instructions: [ApplyActions([Output
/// { port, max_len: 0 }])] }`.
pub fn flow_mod(out: &mut BytesMut, xid: u32, f: &LearnedFlow) {
    let mut b = [0u8; FM_LEN];
    b[0] = ofproto::header::OFP13_VERSION;
    b[1] = v13::msg_type::FLOW_MOD;
    b[2..4].copy_from_slice(&(FM_LEN as u16).to_be_bytes());
    b[4..8].copy_from_slice(&xid.to_be_bytes());
    b[8..16].copy_from_slice(&f.cookie.to_be_bytes());
    // cookie_mask 0, table 0, command OFPFC_ADD (0), hard_timeout 0
    b[26..28].copy_from_slice(&f.idle_timeout.to_be_bytes());
    b[30..32].copy_from_slice(&f.priority.to_be_bytes());
    b[32..36].copy_from_slice(&f.buffer_id.to_be_bytes());
    b[36..44].fill(0xff); // out_port, out_group: ANY
                          // flags 0, pad; the match: OXM, length 4 + 8 + 10 + 10 = 32 (no padding needed)
    b[48..52].copy_from_slice(&[0, 1, 0, 32]);
    b[52..56].copy_from_slice(&OXM_IN_PORT.to_be_bytes());
    b[56..60].copy_from_slice(&f.in_port.to_be_bytes());
    b[60..64].copy_from_slice(&0x8000_0606u32.to_be_bytes()); // OXM_OF_ETH_DST
    b[64..70].copy_from_slice(&f.dst);
    b[70..74].copy_from_slice(&0x8000_0806u32.to_be_bytes()); // OXM_OF_ETH_SRC
    b[74..80].copy_from_slice(&f.src);
    // OFPIT_APPLY_ACTIONS, length 24, pad; OFPAT_OUTPUT, length 16, port, max_len 0, pad
    b[80..84].copy_from_slice(&[0, 4, 0, 24]);
    b[88..92].copy_from_slice(&[0, 0, 0, 16]);
    b[92..96].copy_from_slice(&f.out_port.to_be_bytes());
    out.extend_from_slice(&b);
}

/// Append PACKET_OUT { buffer_id, in_port, actions: [Output { port, max_len: 0 }], data }.
pub fn packet_out(
    out: &mut BytesMut,
    xid: u32,
    buffer_id: u32,
    in_port: u32,
    port: u32,
    data: &[u8],
) {
    let mut b = [0u8; 40];
    b[0] = ofproto::header::OFP13_VERSION;
    b[1] = v13::msg_type::PACKET_OUT;
    b[2..4].copy_from_slice(&((40 + data.len()) as u16).to_be_bytes());
    b[4..8].copy_from_slice(&xid.to_be_bytes());
    b[8..12].copy_from_slice(&buffer_id.to_be_bytes());
    b[12..16].copy_from_slice(&in_port.to_be_bytes());
    b[16..18].copy_from_slice(&16u16.to_be_bytes()); // actions_len
    b[24..28].copy_from_slice(&[0, 0, 0, 16]); // OFPAT_OUTPUT, length 16
    b[28..32].copy_from_slice(&port.to_be_bytes());
    out.reserve(40 + data.len());
    out.extend_from_slice(&b);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use v13::{Action, FlowMod, FlowModCommand, Instruction, Masked, Match, Message, Oxm};

    fn general_flow_mod(xid: u32, f: &LearnedFlow) -> BytesMut {
        let mut out = BytesMut::new();
        Message::FlowMod(FlowMod {
            cookie: f.cookie,
            table_id: 0,
            command: FlowModCommand::Add,
            idle_timeout: f.idle_timeout,
            priority: f.priority,
            buffer_id: f.buffer_id,
            out_port: 0xffff_ffff,
            out_group: 0xffff_ffff,
            match_: Match::from_fields([
                Oxm::InPort(f.in_port),
                Oxm::EthDst(Masked::exact(v13::MacAddr(f.dst))),
                Oxm::EthSrc(Masked::exact(v13::MacAddr(f.src))),
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
        })
        .encode(xid, &mut out);
        out
    }

    #[test]
    fn flow_mod_is_what_the_general_encoder_writes() {
        for (i, buffer_id) in [v13::OFP_NO_BUFFER, 0, 0x1234_5678].into_iter().enumerate() {
            let f = LearnedFlow {
                cookie: 0x5357_444c_0000_0001,
                priority: 1,
                idle_timeout: 240 + i as u16,
                buffer_id,
                in_port: 0xfffffff0 + i as u32,
                dst: [2, 0xd, 0, 0, 0, i as u8],
                src: [2, 0xa, 1, 2, 3, i as u8],
                out_port: 7 + i as u32,
            };
            let mut fast = BytesMut::from(&b"prefix"[..]);
            flow_mod(&mut fast, 99 + i as u32, &f);
            assert_eq!(fast[6..], general_flow_mod(99 + i as u32, &f)[..]);
        }
    }

    #[test]
    fn packet_out_is_what_the_general_encoder_writes() {
        for data in [&[][..], &[1, 2, 3][..], &[0xab; 60][..]] {
            let mut fast = BytesMut::new();
            packet_out(&mut fast, 5, 0x42, 3, 0xffff_fffb, data);
            let mut general = BytesMut::new();
            Message::PacketOut(v13::PacketOut {
                buffer_id: 0x42,
                in_port: 3,
                actions: [Action::Output {
                    port: 0xffff_fffb,
                    max_len: 0,
                }]
                .into_iter()
                .collect(),
                data: Bytes::copy_from_slice(data),
            })
            .encode(5, &mut general);
            assert_eq!(fast, general);
        }
    }

    fn encoded_packet_in(match_: Match, data: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        Message::PacketIn(v13::PacketIn {
            buffer_id: 77,
            total_len: data.len() as u16,
            match_,
            data: Bytes::copy_from_slice(data),
            ..Default::default()
        })
        .encode(9, &mut b);
        b.freeze()
    }

    #[test]
    fn an_in_port_only_packet_in_reads_as_the_general_decoder_reads_it() {
        for data in [&[][..], &[0xcd; 14][..], &[1; 100][..]] {
            let msg = encoded_packet_in(Match::from_fields([Oxm::InPort(5)]), data);
            let fast = packet_in(&msg).expect("fast path");
            let (xid, Message::PacketIn(p)) = v13::decode(&msg).expect("decodes") else {
                panic!("not a packet-in")
            };
            assert_eq!(
                (fast.xid, fast.buffer_id, fast.in_port, fast.data),
                (xid, p.buffer_id, 5, &p.data[..])
            );
        }
    }

    #[test]
    fn every_other_shape_is_left_to_the_general_decoder() {
        let two = encoded_packet_in(
            Match::from_fields([Oxm::InPort(5), Oxm::EthType(0x800)]),
            &[0; 20],
        );
        assert_eq!(packet_in(&two), None);
        let none = encoded_packet_in(Match::new(), &[0; 20]);
        assert_eq!(packet_in(&none), None);
        let ok = encoded_packet_in(Match::from_fields([Oxm::InPort(5)]), &[0; 20]);
        let mut wrong_version = ok.to_vec();
        wrong_version[0] = 1;
        assert_eq!(packet_in(&wrong_version), None);
        // A length field that disagrees with the frame is the general decoder's to refuse.
        let mut short = ok.to_vec();
        short.pop();
        assert_eq!(packet_in(&short), None);
        assert_eq!(packet_in(&ok[..30]), None);
    }
}
