//! The hot path does not allocate: framing and decoding PACKET_INs out of a read buffer,
//! and building and encoding FLOW_MODs (5-field match, one output action) into a reused
//! buffer. A counting global allocator counts allocations made on this test's thread.
//!
//! This binary holds a single test so that nothing else runs beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use ofproto::v13::action::Action;
use ofproto::v13::*;
use ofproto::Header;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTING.with(|c| c.get()) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Count the allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.load(Ordering::Relaxed)
}

/// A PACKET_IN with an in_port match and a 100-byte frame (142 bytes on the wire).
fn packet_in() -> Message {
    Message::PacketIn(PacketIn {
        buffer_id: OFP_NO_BUFFER,
        total_len: 100,
        reason: 0,
        table_id: 0,
        cookie: 0,
        match_: Match::from_fields([Oxm::InPort(3)]),
        data: Bytes::from(vec![0xab; 100]),
    })
}

/// A FLOW_MOD with a 5-field match and one output action.
fn flow_mod(i: u32) -> Message {
    Message::FlowMod(FlowMod {
        cookie: i as u64,
        command: FlowModCommand::Add,
        priority: 100,
        buffer_id: OFP_NO_BUFFER,
        out_port: 0xffff_ffff,
        out_group: 0xffff_ffff,
        match_: Match::from_fields([
            Oxm::InPort(i),
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

#[test]
fn hot_path_does_not_allocate() {
    const N: usize = 1000;
    // The counter sees allocations at all.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
    // ... including the one a Vec-backed hello makes, so the zero below means something.
    assert!(allocations(|| drop(std::hint::black_box(Hello::with_versions(&[4])))) > 0);

    // A read buffer holding N packet-ins, as a connection's reader would have it.
    let mut rx = BytesMut::with_capacity(N * 160);
    for i in 0..N {
        packet_in().encode(i as u32, &mut rx);
    }
    // The first split turns the buffer into a shared one (one allocation, once per buffer).
    let (h, _) = Header::frame(&rx).unwrap().unwrap();
    let first = rx.split_to(h.length as usize).freeze();
    assert!(decode(&first).is_ok());

    let mut decoded = 0;
    let n = allocations(|| {
        while let Ok(Some((h, _))) = Header::frame(&rx) {
            let msg = rx.split_to(h.length as usize).freeze();
            if let Ok((_, Message::PacketIn(p))) = decode(&msg) {
                decoded += usize::from(p.data.len() == 100 && p.match_.fields.len() == 1);
            }
        }
    });
    assert_eq!(decoded, N - 1);
    assert_eq!(n, 0, "decoding {} packet-ins allocated {n} times", N - 1);

    // Build and encode flow-mods into a reused buffer, and decode them back.
    let mut tx = BytesMut::with_capacity(4096);
    let mut ok = 0;
    let n = allocations(|| {
        for i in 0..N as u32 {
            tx.clear();
            flow_mod(i).encode(i, &mut tx);
            ok += usize::from(tx.len() == 120);
        }
    });
    assert_eq!(ok, N);
    assert_eq!(n, 0, "encoding {N} flow-mods allocated {n} times");

    let wire = {
        let mut b = BytesMut::new();
        flow_mod(7).encode(7, &mut b);
        b.freeze()
    };
    let _warm = wire.clone(); // share the buffer once, outside the count
    let n = allocations(|| {
        for _ in 0..N {
            assert!(matches!(decode(&wire), Ok((7, Message::FlowMod(_)))));
        }
    });
    assert_eq!(n, 0, "decoding {N} flow-mods allocated {n} times");
}
