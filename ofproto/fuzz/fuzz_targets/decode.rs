//! The message decoder, fed any bytes: it must never panic, and whatever it accepts must
//! survive encode -> decode unchanged (so what we forward or log is what we understood).
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use ofproto::header::{OFP10_VERSION, OFP13_VERSION};
use ofproto::{v10, v13, Header};

fuzz_target!(|data: &[u8]| {
    let mut rest = Bytes::copy_from_slice(data);
    // A stream of messages, framed as a session reader frames them.
    while let Ok(Some((h, msg))) = Header::frame(&rest) {
        let len = msg.len();
        let msg = rest.split_to(len);
        match h.version {
            OFP13_VERSION => {
                if let Ok((xid, m)) = v13::decode(&msg) {
                    let mut out = BytesMut::new();
                    m.encode(xid, &mut out);
                    let again = v13::decode(&out.freeze()).expect("re-decode of our encoding");
                    assert_eq!(again, (xid, m));
                }
            }
            OFP10_VERSION => {
                if let Ok((xid, m)) = v10::decode(&msg) {
                    let mut out = BytesMut::new();
                    m.encode(xid, &mut out);
                    let again = v10::decode(&out.freeze()).expect("re-decode of our encoding");
                    assert_eq!(again, (xid, m));
                }
            }
            _ => {
                let _ = v13::decode(&msg);
                let _ = v10::decode(&msg);
            }
        }
    }
});
