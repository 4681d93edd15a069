//! What the emulated switches say, built with `ofproto`: the benchmark's own content (its
//! ports, its frame, its descriptions) in OpenFlow 1.3 messages. The PACKET_IN that the
//! generator sends per packet is a template built once by `ofproto`'s template encoder
//! and patched in place through its view (`ofproto::v13::PacketInView`), so that the
//! generator costs less per packet-in than the controller under test.

use bytes::{Bytes, BytesMut};
use ofproto::v13::{self, Message as M, MultipartReplyBody as B};

/// The ports every emulated switch has: 1 (where the learned destination lives) and 2
/// (where the random sources come from), plus two idle ones.
pub(crate) const PORTS: [u32; 4] = [1, 2, 3, 4];
pub(crate) const DST_PORT: u32 = 1;
pub(crate) const SRC_PORT: u32 = 2;

/// Length of the Ethernet frame carried by each PACKET_IN (a minimal UDP/IPv4 packet).
pub(crate) const FRAME_LEN: usize = 60;

/// Append `m` to `out`.
pub fn put(out: &mut Vec<u8>, xid: u32, m: M) {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    out.extend_from_slice(&b);
}

/// HELLO with a version bitmap of 1.3 only.
pub fn hello(out: &mut Vec<u8>) {
    let mut b = BytesMut::new();
    v13::encode_hello(&[ofproto::header::OFP13_VERSION], 1, &mut b);
    out.extend_from_slice(&b);
}

pub(crate) fn features_reply(out: &mut Vec<u8>, xid: u32, dpid: u64) {
    let f = v13::FeaturesReply {
        datapath_id: dpid,
        n_buffers: 256,
        n_tables: 254,
        auxiliary_id: 0,
        capabilities: v13::OFPC_FLOW_STATS | v13::OFPC_TABLE_STATS | v13::OFPC_PORT_STATS,
        reserved: 0,
    };
    put(out, xid, M::FeaturesReply(f));
}

/// The async configuration the switches report: packet-in for no-match and action
/// (master and slave); port status: all; flow removed: all.
pub fn async_config() -> v13::AsyncConfig {
    v13::AsyncConfig {
        packet_in_mask: [3, 3],
        port_status_mask: [7, 7],
        flow_removed_mask: [0xf, 0xf],
    }
}

fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The reply to a multipart request of `mp_type`, or `None` for the types the switches do
/// not know (OFPBRC_BAD_MULTIPART). Every list-shaped statistic is empty.
pub fn multipart_reply(mp_type: u16, dpid: u64) -> Option<B> {
    use v13::multipart::mp_type as mp;
    Some(match mp_type {
        mp::DESC => B::Desc(v13::multipart::Desc {
            mfr_desc: text("switchd regress"),
            hw_desc: text("ofbench emulated switch"),
            sw_desc: text(env!("CARGO_PKG_VERSION")),
            serial_num: text(&format!("{dpid:016x}")),
            dp_desc: text("ofbench"),
        }),
        mp::PORT_DESC => B::PortDesc(PORTS.iter().map(|&p| port(p, dpid)).collect()),
        mp::AGGREGATE => B::Aggregate(Default::default()),
        mp::FLOW => B::Flow(vec![]),
        mp::TABLE => B::Table(vec![]),
        mp::PORT_STATS => B::PortStats(vec![]),
        mp::QUEUE => B::Queue(vec![]),
        mp::GROUP => B::Group(vec![]),
        mp::GROUP_DESC => B::GroupDesc(vec![]),
        mp::METER => B::Meter(vec![]),
        mp::METER_CONFIG => B::MeterConfig(vec![]),
        mp::TABLE_FEATURES => B::TableFeatures(vec![]),
        _ => return None,
    })
}

fn port(p: u32, dpid: u64) -> v13::Port {
    // 10 Gb/s full duplex, copper; live.
    let features = 0x840;
    v13::Port {
        port_no: p,
        hw_addr: v13::MacAddr([0x02, 0xbe, (dpid >> 8) as u8, dpid as u8, 0, p as u8]),
        name: text(&format!("p{p}")),
        config: 0,
        state: 4,
        curr: features,
        advertised: features,
        supported: features,
        peer: 0,
        curr_speed: 10_000_000,
        max_speed: 10_000_000,
    }
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

/// A minimal UDP/IPv4 frame from `src` to `dst`, [`FRAME_LEN`] bytes.
fn frame(dst: [u8; 6], src: [u8; 6]) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f[14..34].copy_from_slice(&ip);
    // UDP 1024 -> 1025, length 26, no checksum, 18 bytes of zeros.
    f[34..42].copy_from_slice(&[0x04, 0x00, 0x04, 0x01, 0, 26, 0, 0]);
    f
}

/// A table-miss PACKET_IN template (reason OFPR_NO_MATCH, table 0) carrying a minimal
/// UDP/IPv4 frame from `src` to `dst`; xid, buffer id and the source address are patched
/// per packet through [`v13::PacketInView`].
pub fn packet_in(in_port: u32, dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let head = v13::PacketInHead {
        buffer_id: v13::OFP_NO_BUFFER,
        total_len: FRAME_LEN as u16,
        reason: v13::OFPR_NO_MATCH,
        table_id: 0,
        cookie: 0,
        in_port,
    };
    let mut out = head.bytes(0, FRAME_LEN).to_vec();
    out.extend_from_slice(&frame(dst, src));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_in_template_has_its_fields_where_the_view_says() {
        let p = packet_in(7, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let v = v13::PacketInView::new_checked(&p[..]).expect("a packet-in");
        assert_eq!(v.buffer_id(), v13::OFP_NO_BUFFER);
        assert_eq!(v.in_port_only(), Some(7));
        assert_eq!(v.data().len(), FRAME_LEN);
        assert_eq!(v.data()[..6], [2, 0, 0, 0, 0, 1]);
        assert_eq!(ip_checksum(&v.data()[14..34]), 0);
    }

    /// Every message an emulated switch writes is valid OpenFlow 1.3 to `ofproto`.
    #[test]
    fn what_the_switches_write_decodes() {
        use v13::multipart::mp_type as mp;
        let one = |b: Vec<u8>| v13::decode(&Bytes::from(b)).expect("decodes");
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
            let body = multipart_reply(ty, 0x42).expect("a known type");
            put(
                &mut b,
                3,
                M::MultipartReply(v13::MultipartReply { flags: 0, body }),
            );
            let (_, m) = one(b);
            let M::MultipartReply(r) = m else {
                panic!("{m:?}")
            };
            assert_eq!(r.body.mp_type(), ty);
            if let B::PortDesc(ports) = r.body {
                assert_eq!(ports.iter().map(|p| p.port_no).collect::<Vec<_>>(), PORTS);
            }
        }
        assert_eq!(multipart_reply(mp::GROUP_FEATURES, 0x42), None);
    }
}
