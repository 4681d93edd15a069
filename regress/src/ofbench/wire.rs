//! The few OpenFlow 1.3 messages an emulated switch writes, as bytes. Hand-built rather
//! than through `ofproto`: the generator must cost less per packet-in than the controller
//! under test, so PACKET_INs come from a template that is patched in place.

pub const OFP13: u8 = 0x04;
pub const NO_BUFFER: u32 = 0xffff_ffff;

pub mod t {
    pub const HELLO: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const ECHO_REQUEST: u8 = 2;
    pub const ECHO_REPLY: u8 = 3;
    pub const FEATURES_REQUEST: u8 = 5;
    pub const FEATURES_REPLY: u8 = 6;
    pub const GET_CONFIG_REQUEST: u8 = 7;
    pub const GET_CONFIG_REPLY: u8 = 8;
    pub const PACKET_IN: u8 = 10;
    pub const PACKET_OUT: u8 = 13;
    pub const FLOW_MOD: u8 = 14;
    pub const MULTIPART_REQUEST: u8 = 18;
    pub const MULTIPART_REPLY: u8 = 19;
    pub const BARRIER_REQUEST: u8 = 20;
    pub const BARRIER_REPLY: u8 = 21;
    pub const QUEUE_GET_CONFIG_REQUEST: u8 = 22;
    pub const QUEUE_GET_CONFIG_REPLY: u8 = 23;
    pub const ROLE_REQUEST: u8 = 24;
    pub const ROLE_REPLY: u8 = 25;
    pub const GET_ASYNC_REQUEST: u8 = 26;
    pub const GET_ASYNC_REPLY: u8 = 27;
}

/// Multipart types (`enum ofp_multipart_type`).
pub mod mp {
    pub const DESC: u16 = 0;
    pub const FLOW: u16 = 1;
    pub const AGGREGATE: u16 = 2;
    pub const TABLE: u16 = 3;
    pub const PORT_STATS: u16 = 4;
    pub const QUEUE: u16 = 5;
    pub const GROUP: u16 = 6;
    pub const GROUP_DESC: u16 = 7;
    pub const METER: u16 = 9;
    pub const METER_CONFIG: u16 = 10;
    pub const TABLE_FEATURES: u16 = 12;
    pub const PORT_DESC: u16 = 13;
}

/// The ports every emulated switch has: 1 (where the learned destination lives) and 2
/// (where the random sources come from), plus two idle ones.
pub const PORTS: [u32; 4] = [1, 2, 3, 4];
pub const DST_PORT: u32 = 1;
pub const SRC_PORT: u32 = 2;

/// Length of the Ethernet frame carried by each PACKET_IN (a minimal UDP/IPv4 packet).
pub const FRAME_LEN: usize = 60;
/// `ofp_packet_in` with an in_port-only match (16 bytes with padding) and the frame.
pub const PACKET_IN_LEN: usize = 8 + 16 + 16 + 2 + FRAME_LEN;
/// Offsets into a PACKET_IN built by [`packet_in`].
pub const PI_XID: usize = 4;
pub const PI_BUFFER_ID: usize = 8;
pub const PI_IN_PORT: usize = 8 + 16 + 8;
pub const PI_FRAME: usize = 8 + 16 + 16 + 2;

/// `ofp_flow_mod.buffer_id`: header, cookie, cookie_mask, table_id, command, idle, hard,
/// priority.
pub const FLOW_MOD_BUFFER_ID: usize = 8 + 8 + 8 + 1 + 1 + 2 + 2 + 2;

pub fn header(out: &mut Vec<u8>, msg_type: u8, len: usize, xid: u32) {
    out.push(OFP13);
    out.push(msg_type);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&xid.to_be_bytes());
}

pub fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// HELLO with a version bitmap of 1.3 only.
pub fn hello(out: &mut Vec<u8>) {
    header(out, t::HELLO, 16, 1);
    // OFPHET_VERSIONBITMAP, length 8, bitmap with bit 4 (1.3).
    out.extend_from_slice(&[0, 1, 0, 8, 0, 0, 0, 0x10]);
}

pub fn features_reply(out: &mut Vec<u8>, xid: u32, dpid: u64) {
    header(out, t::FEATURES_REPLY, 32, xid);
    out.extend_from_slice(&dpid.to_be_bytes());
    out.extend_from_slice(&256u32.to_be_bytes()); // n_buffers
    out.push(254); // n_tables
    out.push(0); // auxiliary_id
    out.extend_from_slice(&[0, 0]);
    // OFPC_FLOW_STATS | TABLE_STATS | PORT_STATS
    out.extend_from_slice(&7u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
}

pub fn simple(out: &mut Vec<u8>, msg_type: u8, xid: u32, body: &[u8]) {
    header(out, msg_type, 8 + body.len(), xid);
    out.extend_from_slice(body);
}

fn padded(out: &mut Vec<u8>, s: &str, len: usize) {
    let b = s.as_bytes();
    let n = b.len().min(len - 1);
    out.extend_from_slice(&b[..n]);
    out.resize(out.len() + len - n, 0);
}

/// A multipart reply of `mp_type` with `body`; unknown types get an empty body, which is
/// a valid (empty) reply for every list-shaped statistic.
pub fn multipart_reply(out: &mut Vec<u8>, xid: u32, mp_type: u16, dpid: u64) {
    let mut body = Vec::new();
    match mp_type {
        mp::DESC => {
            padded(&mut body, "switchd regress", 256);
            padded(&mut body, "ofbench emulated switch", 256);
            padded(&mut body, env!("CARGO_PKG_VERSION"), 256);
            padded(&mut body, &format!("{dpid:016x}"), 32);
            padded(&mut body, "ofbench", 256);
        }
        mp::PORT_DESC => {
            for p in PORTS {
                body.extend_from_slice(&p.to_be_bytes());
                body.extend_from_slice(&[0; 4]);
                body.extend_from_slice(&[0x02, 0xbe, (dpid >> 8) as u8, dpid as u8, 0, p as u8]);
                body.extend_from_slice(&[0; 2]);
                padded(&mut body, &format!("p{p}"), 16);
                // config, state (live), curr, advertised, supported, peer (10GB_FD|COPPER),
                // curr_speed, max_speed (kbps)
                for v in [0u32, 4, 0x840, 0x840, 0x840, 0, 10_000_000, 10_000_000] {
                    body.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        mp::AGGREGATE => body.extend_from_slice(&[0; 24]),
        _ => {}
    }
    header(out, t::MULTIPART_REPLY, 16 + body.len(), xid);
    out.extend_from_slice(&mp_type.to_be_bytes());
    out.extend_from_slice(&[0; 6]); // flags, pad
    out.extend_from_slice(&body);
}

/// OFPT_ERROR bad request / `code` for the request `req` (its first 64 bytes).
pub fn error_for(out: &mut Vec<u8>, req: &[u8], code: u16) {
    let data = &req[..req.len().min(64)];
    header(out, t::ERROR, 12 + data.len(), u32_at(req, 4));
    out.extend_from_slice(&1u16.to_be_bytes()); // OFPET_BAD_REQUEST
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(data);
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A table-miss PACKET_IN template (reason OFPR_NO_MATCH, table 0) carrying a minimal
/// UDP/IPv4 frame from `src` to `dst`; xid and buffer id are patched per packet.
pub fn packet_in(in_port: u32, dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PACKET_IN_LEN);
    header(&mut out, t::PACKET_IN, PACKET_IN_LEN, 0);
    out.extend_from_slice(&NO_BUFFER.to_be_bytes());
    out.extend_from_slice(&(FRAME_LEN as u16).to_be_bytes()); // total_len
    out.push(0); // OFPR_NO_MATCH
    out.push(0); // table_id
    out.extend_from_slice(&[0; 8]); // cookie
                                    // ofp_match: OFPMT_OXM, length 12 (4 + one 8-byte OXM), padded to 16.
    out.extend_from_slice(&[0, 1, 0, 12]);
    out.extend_from_slice(&[0x80, 0x00, 0x00, 0x04]); // OXM_OF_IN_PORT
    out.extend_from_slice(&in_port.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[0; 2]); // pad before the frame
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(&ip);
    // UDP 1024 -> 1025, length 26, no checksum, 18 bytes of zeros.
    out.extend_from_slice(&[0x04, 0x00, 0x04, 0x01, 0, 26, 0, 0]);
    out.resize(PACKET_IN_LEN, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_in_template_has_its_fields_where_the_offsets_say() {
        let p = packet_in(7, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        assert_eq!(p.len(), PACKET_IN_LEN);
        assert_eq!(usize::from(u16_at(&p, 2)), PACKET_IN_LEN);
        assert_eq!(u32_at(&p, PI_BUFFER_ID), NO_BUFFER);
        assert_eq!(u32_at(&p, PI_IN_PORT), 7);
        assert_eq!(p[PI_FRAME..PI_FRAME + 6], [2, 0, 0, 0, 0, 1]);
        assert_eq!(ip_checksum(&p[PI_FRAME + 14..PI_FRAME + 34]), 0);
    }

    /// Every message an emulated switch writes is valid OpenFlow 1.3 to `ofproto`.
    #[test]
    fn what_the_switches_write_decodes() {
        use ofproto::v13::{self, Message as M, MultipartReplyBody as B};
        let one = |b: Vec<u8>| v13::decode(&bytes::Bytes::from(b)).expect("decodes");
        let mut b = Vec::new();
        hello(&mut b);
        assert!(matches!(one(b).1, M::Hello(h) if h.version_bitmap() == Some(&[0x10][..])));
        let mut b = Vec::new();
        features_reply(&mut b, 9, 0x42);
        assert!(matches!(one(b), (9, M::FeaturesReply(f)) if f.datapath_id == 0x42));
        let (_, m) = one(packet_in(2, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]));
        let M::PacketIn(p) = m else { panic!("{m:?}") };
        assert_eq!(p.match_.fields[..], [v13::Oxm::InPort(2)]);
        assert_eq!(p.data.len(), FRAME_LEN);
        for ty in [
            mp::DESC,
            mp::FLOW,
            mp::AGGREGATE,
            mp::TABLE,
            mp::PORT_STATS,
            mp::QUEUE,
            mp::GROUP,
            mp::GROUP_DESC,
            mp::METER,
            mp::METER_CONFIG,
            mp::TABLE_FEATURES,
            mp::PORT_DESC,
        ] {
            let mut b = Vec::new();
            multipart_reply(&mut b, 3, ty, 0x42);
            let (_, m) = one(b);
            let M::MultipartReply(r) = m else {
                panic!("{m:?}")
            };
            assert_eq!(r.body.mp_type(), ty);
            if let B::PortDesc(ports) = r.body {
                assert_eq!(ports.iter().map(|p| p.port_no).collect::<Vec<_>>(), PORTS);
            }
        }
        for (ty, body) in [
            (t::ECHO_REPLY, vec![1, 2, 3]),
            (t::BARRIER_REPLY, vec![]),
            (t::GET_CONFIG_REPLY, vec![0, 0, 0xff, 0xff]),
            (t::ROLE_REPLY, vec![0; 16]),
            (t::GET_ASYNC_REPLY, vec![0; 24]),
            (t::QUEUE_GET_CONFIG_REPLY, vec![0; 8]),
        ] {
            let mut b = Vec::new();
            simple(&mut b, ty, 5, &body);
            assert_eq!(one(b).1.msg_type(), ty);
        }
        let mut b = Vec::new();
        error_for(
            &mut b,
            &[4, 18, 0, 16, 0, 0, 0, 7, 0, 99, 0, 0, 0, 0, 0, 0],
            2,
        );
        assert!(matches!(one(b), (7, M::Error(_))));
    }
}
