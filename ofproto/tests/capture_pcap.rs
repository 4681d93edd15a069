//! ofproto::capture against captures of ovs-ofctl talking to a private Open vSwitch
//! (tests/data/*.pcap: Ethernet on lo, micro- and nanosecond; LINUX_SLL2 and LINUX_SLL
//! from `-i any`), pcapng built here from them, and synthetic segment orders.

use bytes::{Bytes, BytesMut};
use ofproto::capture::{read_pcap, read_stream, CaptureError, Flow, StreamErrorKind};
use ofproto::header::Header;
use ofproto::{v10, v13};

/// Every message of every flow decodes with the codec of its version.
fn decode_all(flows: &[Flow]) -> Vec<String> {
    let mut names = Vec::new();
    for f in flows {
        assert!(f.errors.is_empty(), "{}->{}: {:?}", f.src, f.dst, f.errors);
        for m in &f.messages {
            let h = Header::decode(&m.bytes).unwrap();
            // A HELLO of any version decodes (version negotiation); OVS offers up to 1.5.
            let s = match h.version {
                _ if h.msg_type == 0 => {
                    let (xid, msg) = v13::decode(&m.bytes).unwrap();
                    ofproto::text::print_message(xid, &msg)
                }
                4 => {
                    let (xid, msg) =
                        v13::decode(&m.bytes).unwrap_or_else(|e| panic!("frame {}: {e}", m.frame));
                    ofproto::text::print_message(xid, &msg)
                }
                1 => {
                    let (xid, msg) =
                        v10::decode(&m.bytes).unwrap_or_else(|e| panic!("frame {}: {e}", m.frame));
                    ofproto::text::print_message10(xid, &msg)
                }
                v => panic!("version {v}"),
            };
            names.push(s);
        }
    }
    names
}

#[test]
fn captures_of_ovs_ofctl() {
    for (file, link_flows) in [
        (&include_bytes!("data/of.pcap")[..], 6),
        (&include_bytes!("data/of-nano.pcap")[..], 6),
        (&include_bytes!("data/of-any.pcap")[..], 4),
        (&include_bytes!("data/of-sll.pcap")[..], 4),
    ] {
        let flows = read_pcap(file).unwrap();
        assert_eq!(flows.len(), link_flows, "{flows:#?}");
        let lines = decode_all(&flows);
        assert!(lines.iter().any(|l| l.contains("OFPT_HELLO")), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("OFPST_FLOW reply") && l.contains("OF1.3")),
            "{lines:#?}"
        );
        // ovs-ofctl dumps 1.0 flows with Nicira's vendor stats.
        assert!(
            lines.iter().any(|l| l.contains("OFPT_VENDOR (OF1.0)")),
            "{lines:#?}"
        );
        for f in &flows {
            assert!(f.messages.iter().all(|m| m.frame >= f.first_frame));
        }
    }
    let lines = decode_all(&read_pcap(include_bytes!("data/of.pcap")).unwrap());
    assert!(
        lines.iter().any(|l| l.contains("OFPT_FLOW_MOD (OF1.3)")
            && l.contains("ADD ip,nw_src=10.0.0.0/8 actions=NORMAL")),
        "{lines:#?}"
    );
}

/// pcap records (header fields in file byte order) of a classic capture.
fn records(pcap: &[u8]) -> (u32, Vec<&[u8]>) {
    let link = u32::from_le_bytes(pcap[20..24].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 24;
    while pos < pcap.len() {
        let incl = u32::from_le_bytes(pcap[pos + 8..pos + 12].try_into().unwrap()) as usize;
        out.push(&pcap[pos + 16..pos + 16 + incl]);
        pos += 16 + incl;
    }
    (link, out)
}

fn put32(b: &mut Vec<u8>, v: u32, big: bool) {
    b.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

fn block(out: &mut Vec<u8>, btype: u32, body: &[u8], big: bool) {
    let len = 12 + body.len().div_ceil(4) * 4;
    put32(out, btype, big);
    put32(out, len as u32, big);
    out.extend_from_slice(body);
    out.resize(out.len() + (len - 12 - body.len()), 0);
    put32(out, len as u32, big);
}

/// A pcapng file: SHB, IDB, then packets as EPBs (or SPBs).
fn pcapng(link: u32, pkts: &[&[u8]], big: bool, simple: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    put32(&mut shb, 0x1a2b_3c4d, big);
    shb.extend_from_slice(&if big { [0, 1, 0, 0] } else { [1, 0, 0, 0] });
    shb.extend_from_slice(&[0xff; 8]); // section length unknown
    block(&mut out, 0x0a0d_0d0a, &shb, big);
    let mut idb = Vec::new();
    idb.extend_from_slice(&if big {
        (link as u16).to_be_bytes()
    } else {
        (link as u16).to_le_bytes()
    });
    idb.extend_from_slice(&[0, 0]);
    put32(&mut idb, 0, big);
    block(&mut out, 1, &idb, big);
    // A custom block to be skipped.
    block(&mut out, 0x0bad, &[1, 2, 3, 4], big);
    for p in pkts {
        let mut b = Vec::new();
        if simple {
            put32(&mut b, p.len() as u32, big);
        } else {
            for v in [0, 0, 0, p.len() as u32, p.len() as u32] {
                put32(&mut b, v, big);
            }
        }
        b.extend_from_slice(p);
        block(&mut out, if simple { 3 } else { 6 }, &b, big);
    }
    out
}

#[test]
fn pcapng_both_byte_orders_epb_and_spb() {
    let pcap = include_bytes!("data/of.pcap");
    let want = read_pcap(pcap).unwrap();
    let (link, pkts) = records(pcap);
    for big in [false, true] {
        for simple in [false, true] {
            let ng = pcapng(link, &pkts, big, simple);
            assert_eq!(read_pcap(&ng).unwrap(), want, "big={big} simple={simple}");
        }
    }
}

#[test]
fn big_endian_pcap() {
    let pcap = include_bytes!("data/of-nano.pcap");
    let want = read_pcap(pcap).unwrap();
    let mut be = Vec::new();
    let h = &pcap[..24];
    be.extend_from_slice(&u32::from_le_bytes(h[0..4].try_into().unwrap()).to_be_bytes());
    be.extend_from_slice(&u16::from_le_bytes(h[4..6].try_into().unwrap()).to_be_bytes());
    be.extend_from_slice(&u16::from_le_bytes(h[6..8].try_into().unwrap()).to_be_bytes());
    for i in 0..4 {
        let at = 8 + 4 * i;
        be.extend_from_slice(&u32::from_le_bytes(h[at..at + 4].try_into().unwrap()).to_be_bytes());
    }
    let mut pos = 24;
    while pos < pcap.len() {
        for i in 0..4 {
            let at = pos + 4 * i;
            be.extend_from_slice(
                &u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap()).to_be_bytes(),
            );
        }
        let incl = u32::from_le_bytes(pcap[pos + 8..pos + 12].try_into().unwrap()) as usize;
        be.extend_from_slice(&pcap[pos + 16..pos + 16 + incl]);
        pos += 16 + incl;
    }
    assert_eq!(read_pcap(&be).unwrap(), want);
}

// ---- synthetic captures -------------------------------------------------------------

/// An Ethernet/IPv4/TCP frame from 10.0.0.1:40000 to 10.0.0.2:6653.
fn frame(seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let total = 20 + 20 + payload.len();
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&6653u16.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = if syn { 0x02 } else { 0x18 };
    f.extend_from_slice(&tcp);
    f.extend_from_slice(payload);
    f
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for f in frames {
        for v in [0u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

/// Three messages back to back: ECHO_REQUEST with 20 bytes, BARRIER_REQUEST, HELLO.
fn stream() -> Vec<u8> {
    let mut b = BytesMut::new();
    v13::Message::EchoRequest(Bytes::from_static(&[7; 20])).encode(1, &mut b);
    v13::Message::BarrierRequest.encode(2, &mut b);
    v13::Message::Hello(v13::Hello::default()).encode(3, &mut b);
    b.to_vec()
}

#[test]
fn reordered_retransmitted_and_overlapping_segments() {
    let s = stream();
    let isn = 0xffff_fff0u32; // the sequence numbers wrap inside the stream
    let at = |o: usize| isn.wrapping_add(1).wrapping_add(o as u32);
    let frames = vec![
        frame(isn, true, &[]),
        frame(at(10), false, &s[10..30]), // out of order
        frame(at(0), false, &s[0..12]),   // overlaps the next one
        frame(at(0), false, &s[0..12]),   // retransmission
        frame(at(25), false, &s[25..44]), // overlap with the held segment
        frame(at(44), false, &s[44..]),
    ];
    let flows = read_pcap(&pcap(&frames)).unwrap();
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    let got: Vec<&[u8]> = f.messages.iter().map(|m| &m.bytes[..]).collect();
    assert_eq!(got, vec![&s[0..28], &s[28..36], &s[36..44]]);
    // Origins: the echo starts in frame 3 at 0; the barrier at stream byte 28 is in frame 2
    // (which starts at 10), the hello at 36 in frame 5 (which starts at 25).
    let origins: Vec<(usize, usize)> = f.messages.iter().map(|m| (m.frame, m.offset)).collect();
    assert_eq!(origins, vec![(3, 0), (2, 18), (5, 11)]);
    assert_eq!(f.src.to_string(), "10.0.0.1:40000");
}

#[test]
fn gaps_and_truncated_streams_are_errors() {
    let s = stream();
    let frames = vec![frame(100, false, &s[0..10]), frame(128, false, &s[28..])];
    let flows = read_pcap(&pcap(&frames)).unwrap();
    let f = &flows[0];
    assert!(
        matches!(f.errors[0].error, StreamErrorKind::Gap { missing: 18 }),
        "{:?}",
        f.errors
    );
    assert_eq!(f.messages.len(), 2, "resumes after the gap");
    let flows = read_pcap(&pcap(&[frame(5, false, &s[0..30])])).unwrap();
    let e = &flows[0].errors;
    assert_eq!(flows[0].messages.len(), 1);
    assert!(
        matches!(
            e[0].error,
            StreamErrorKind::Truncated { have: 2, needed: 8 }
        ),
        "{e:?}"
    );
}

#[test]
fn malformed_captures_are_errors_not_panics() {
    assert!(matches!(
        read_pcap(b"hello world"),
        Err(CaptureError::NotACapture(_))
    ));
    assert!(matches!(
        read_pcap(&[0xd4, 0xc3]),
        Err(CaptureError::Truncated { .. })
    ));
    let good = include_bytes!("data/of.pcap");
    assert!(matches!(
        read_pcap(&good[..good.len() - 3]),
        Err(CaptureError::Truncated { .. })
    ));
    let mut bad_link = good.to_vec();
    bad_link[20] = 200;
    assert!(matches!(
        read_pcap(&bad_link),
        Err(CaptureError::UnsupportedLinkType { link_type: 200 })
    ));
    // Every prefix and many corruptions: an answer, never a panic.
    let (link, pkts) = records(good);
    let ng = pcapng(link, &pkts, false, false);
    for file in [&good[..], &ng[..]] {
        for n in 0..file.len() {
            let _ = read_pcap(&file[..n]);
        }
        let mut x = file.to_vec();
        for i in 0..x.len() {
            x[i] ^= 0x5a;
            let _ = read_pcap(&x);
            x[i] ^= 0x5a;
        }
    }
}

#[test]
fn raw_streams() {
    let s = stream();
    let got: Vec<_> = read_stream(&s).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap().0, 28);
    let got: Vec<_> = read_stream(&s[..40]).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2],
        Err((36, ofproto::DecodeError::Incomplete { needed: 8 }))
    );
    let bad = [4u8, 0, 0, 4, 0, 0, 0, 0, 1, 2];
    let got: Vec<_> = read_stream(&bad).collect();
    assert!(matches!(
        got[..],
        [Err((0, ofproto::DecodeError::Malformed { .. }))]
    ));
    assert_eq!(read_stream(&[]).count(), 0);
}
