//! Codec benchmarks, plain (no harness): `cargo bench -p ofproto --bench codec`.
//! Prints nanoseconds per message for the hot paths: decoding a PACKET_IN and encoding a
//! FLOW_MOD with a 5-field match into a reused buffer, with the general codec; then the
//! same paths through `v13::fast` (the PACKET_IN view and the template encoders).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ofproto::v13::action::Action;
use ofproto::v13::*;

fn packet_in(data_len: usize) -> Bytes {
    let m = Message::PacketIn(PacketIn {
        buffer_id: OFP_NO_BUFFER,
        total_len: data_len as u16,
        reason: 0,
        table_id: 0,
        cookie: 0,
        match_: Match::from_fields([Oxm::InPort(3)]),
        data: Bytes::from(vec![0xab; data_len]),
    });
    let mut b = BytesMut::new();
    m.encode(1, &mut b);
    b.freeze()
}

fn flow_mod() -> Message {
    Message::FlowMod(FlowMod {
        cookie: 1,
        command: FlowModCommand::Add,
        priority: 100,
        buffer_id: OFP_NO_BUFFER,
        out_port: 0xffff_ffff,
        out_group: 0xffff_ffff,
        match_: Match::from_fields([
            Oxm::InPort(1),
            Oxm::EthType(0x0800),
            Oxm::IpProto(6),
            Oxm::Ipv4Dst(Masked::with_mask(
                Ipv4Addr::new(10, 0, 0, 0),
                Ipv4Addr::new(255, 255, 255, 0),
            )),
            Oxm::TcpDst(80),
        ]),
        instructions: [Instruction::ApplyActions(
            [Action::Output {
                port: 2,
                max_len: 0,
            }]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
        ..FlowMod::default()
    })
}

/// Run `f` in batches until about 0.5 s have passed; report the best batch's ns/iteration.
fn bench(name: &str, mut f: impl FnMut()) {
    const BATCH: u32 = 10_000;
    let mut best = f64::MAX;
    let start = Instant::now();
    while start.elapsed().as_millis() < 500 {
        let t = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    println!("{name:<56} {best:>8.1} ns/message");
}

fn main() {
    let pin128 = packet_in(86); // 128 bytes on the wire
    let pin142 = packet_in(100); // 100-byte frame
    let _share = (pin128.clone(), pin142.clone());
    assert_eq!(pin128.len(), 128);
    bench(
        "decode PACKET_IN, 128 bytes (in_port, 86-byte frame)",
        || {
            black_box(decode(black_box(&pin128)).ok());
        },
    );
    bench(
        "decode PACKET_IN, 142 bytes (in_port, 100-byte frame)",
        || {
            black_box(decode(black_box(&pin142)).ok());
        },
    );
    let fm = flow_mod();
    let mut out = BytesMut::with_capacity(4096);
    bench(
        "encode FLOW_MOD, 5-field match + output (120 bytes)",
        || {
            out.clear();
            black_box(&fm).encode(7, &mut out);
            black_box(&out);
        },
    );
    bench("build + encode FLOW_MOD, 5-field match + output", || {
        out.clear();
        flow_mod().encode(7, &mut out);
        black_box(&out);
    });
    let wire = {
        let mut b = BytesMut::new();
        fm.encode(7, &mut b);
        b.freeze()
    };
    let _share = wire.clone();
    bench("decode FLOW_MOD, 5-field match + output", || {
        black_box(decode(black_box(&wire)).ok());
    });

    bench("fast: view PACKET_IN, 128 bytes (in_port, data)", || {
        let v = PacketInView::new_checked(black_box(&pin128[..]));
        black_box(v.and_then(|v| Some((v.buffer_id(), v.in_port_only()?, v.data()))));
    });
    let frame = [0xab; 86];
    bench("fast: encode PACKET_IN, 128 bytes (from a slice)", || {
        out.clear();
        PacketInHead {
            buffer_id: OFP_NO_BUFFER,
            total_len: 86,
            reason: 0,
            table_id: 0,
            cookie: 0,
            in_port: 3,
        }
        .encode(7, black_box(&frame), &mut out);
        black_box(&out);
    });
    bench("fast: encode learned FLOW_MOD (104 bytes)", || {
        out.clear();
        black_box(LearnedFlowMod {
            cookie: 1,
            priority: 1,
            idle_timeout: 300,
            buffer_id: 5,
            in_port: 1,
            eth_dst: [2, 0, 0, 0, 0, 1],
            eth_src: [2, 0, 0, 0, 0, 2],
            out_port: 2,
        })
        .encode(7, &mut out);
        black_box(&out);
    });
    bench("fast: encode PACKET_OUT, output + 86-byte frame", || {
        out.clear();
        PacketOutHead {
            buffer_id: OFP_NO_BUFFER,
            in_port: 1,
            out_port: 2,
        }
        .encode(7, black_box(&frame), &mut out);
        black_box(&out);
    });
}
