//! One-line printing of every message (filled in below).

use crate::v10;
use crate::v13;

pub fn print_message(xid: u32, m: &v13::Message) -> String {
    format!("(OF1.3) (xid=0x{xid:x}): {m:?}")
}

pub fn print_message10(xid: u32, m: &v10::Message) -> String {
    format!("(OF1.0) (xid=0x{xid:x}): {m:?}")
}

pub fn print_raw(_msg: &[u8]) -> String {
    String::new()
}
