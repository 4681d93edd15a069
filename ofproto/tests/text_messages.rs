//! print_raw / print_message: one line for every message, never a panic, on real and
//! damaged input.

use ofproto::capture::read_pcap;
use ofproto::text::print_raw;

#[test]
fn every_captured_message_prints_one_line_and_damage_never_panics() {
    let mut n = 0;
    for file in [
        &include_bytes!("data/of.pcap")[..],
        &include_bytes!("data/of-any.pcap")[..],
    ] {
        for f in read_pcap(file).unwrap() {
            for m in f.messages {
                let line = print_raw(&m.bytes);
                assert!(!line.contains('\n'), "{line}");
                assert!(line.contains("(xid=0x"), "{line}");
                n += 1;
                let mut x = m.bytes.to_vec();
                for i in 0..x.len() {
                    for v in [0u8, 0xff, x[i] ^ 1] {
                        let old = std::mem::replace(&mut x[i], v);
                        let _ = print_raw(&x);
                        x[i] = old;
                    }
                }
                for len in 0..x.len() {
                    let _ = print_raw(&x[..len]);
                }
            }
        }
    }
    assert!(n > 10);
}
