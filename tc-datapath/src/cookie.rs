//! Deterministic cookies: which OpenFlow flow, and which exact filter content.
//!
//! A filter's 16-byte cookie (TCA_ACT_COOKIE of its first action) is two FNV-1a 64 hashes:
//! bytes 0..8 of the OpenFlow flow (table, priority, match with its fields sorted,
//! instructions, all in their wire encoding), bytes 8..16 of the filter as sent to the
//! kernel (device, chain, prio, keys, actions; the cookie itself left out). After a
//! restart a dump therefore tells for each installed filter which flow it belongs to and
//! whether it is still exactly what the flow translates to now (a port added to a FLOOD
//! changes the second half only). FNV is fixed by its definition, so cookies stay equal
//! across builds and versions of Rust, which `std`'s hasher does not promise.

use bytes::BytesMut;

use crate::filter::Filter;
use crate::flow::DecodedFlow;
use crate::nla::NlaWriter;

/// FNV-1a, 64 bits.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The first half of the cookies of `flow`'s filters.
pub(crate) fn flow_hash(flow: &DecodedFlow) -> [u8; 8] {
    let mut h = Fnv::new();
    h.write(b"flow");
    h.write(&[flow.table_id]);
    h.write(&flow.priority.to_be_bytes());
    // OpenFlow compares matches as sets of fields: the order on the wire does not count.
    let mut fields: Vec<Vec<u8>> = flow
        .r#match
        .fields
        .iter()
        .map(|f| {
            let mut b = BytesMut::new();
            f.encode(&mut b);
            b.to_vec()
        })
        .collect();
    fields.sort();
    for f in &fields {
        h.write(&(f.len() as u32).to_be_bytes());
        h.write(f);
    }
    h.write(b"instructions");
    for i in flow.instructions {
        let mut b = BytesMut::new();
        i.encode(&mut b);
        h.write(&b);
    }
    h.finish().to_be_bytes()
}

/// The cookie of `filter` as part of the flow whose hash is `flow`.
pub fn filter_cookie(flow: [u8; 8], filter: &Filter) -> [u8; 16] {
    let mut w = NlaWriter::new();
    w.raw(&filter.ifindex.to_be_bytes());
    w.raw(&filter.chain.to_be_bytes());
    w.raw(&filter.prio.to_be_bytes());
    filter.key.encode(&mut w);
    for (i, a) in filter.actions.iter().enumerate() {
        a.encode(i as u16 + 1, None, &mut w);
    }
    let mut h = Fnv::new();
    h.write(&flow);
    h.write(&w.buf);
    let mut c = [0u8; 16];
    c[..8].copy_from_slice(&flow);
    c[8..].copy_from_slice(&h.finish().to_be_bytes());
    c
}

/// A handle derived from the cookie: stable across restarts, never 0. Two filters of one
/// (device, chain, prio) collide with probability about n^2 / 2^33 (likely from about
/// 77,000 filters in one place); [`crate::Tc::install`] then lets the kernel pick a free
/// handle and learns it. Reconciliation goes by cookie, never by handle.
pub fn handle_for(cookie: &[u8; 16]) -> u32 {
    let h = u32::from_be_bytes([cookie[8], cookie[9], cookie[10], cookie[11]]);
    if h == 0 {
        1
    } else {
        h
    }
}
