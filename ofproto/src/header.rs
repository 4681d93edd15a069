//! The OpenFlow header, common to every version.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +---------------+---------------+-------------------------------+
//! |    version    |     type      |            length             |
//! +---------------+---------------+-------------------------------+
//! |                              xid                              |
//! +---------------------------------------------------------------+
//! ```
//! `length` counts the whole message including this header (spec 7.1).

use crate::error::{DecodeError, OfpErrorCode};

/// `ofp_header` is 8 bytes.
pub(crate) const HEADER_LEN: usize = 8;

/// OpenFlow 1.0 wire version.
pub const OFP10_VERSION: u8 = 0x01;
/// OpenFlow 1.3 wire version.
pub const OFP13_VERSION: u8 = 0x04;

/// The largest message: `length` is 16 bits.
pub const MAX_MESSAGE_LEN: usize = 0xffff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u8,
    pub msg_type: u8,
    pub length: u16,
    pub xid: u32,
}

impl Header {
    /// Decode the header at the start of `buf`, checking only what every version shares:
    /// at least 8 bytes, and `length >= 8`. Does not require the whole message.
    pub fn decode(buf: &[u8]) -> Result<Header, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Incomplete { needed: HEADER_LEN });
        }
        let h = Header {
            version: buf[0],
            msg_type: buf[1],
            length: u16::from_be_bytes([buf[2], buf[3]]),
            xid: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        };
        if (h.length as usize) < HEADER_LEN {
            return Err(DecodeError::malformed(
                OfpErrorCode::BAD_LEN,
                2,
                "header length below 8",
            ));
        }
        Ok(h)
    }

    /// Split one whole message off the front of `buf`: `Ok(Some((header, message_bytes)))`,
    /// or `Ok(None)` if more bytes are needed. The framing step of every stream reader.
    pub fn frame(buf: &[u8]) -> Result<Option<(Header, &[u8])>, DecodeError> {
        match Header::decode(buf) {
            Err(DecodeError::Incomplete { .. }) => Ok(None),
            Err(e) => Err(e),
            Ok(h) if buf.len() < h.length as usize => Ok(None),
            Ok(h) => Ok(Some((h, &buf[..h.length as usize]))),
        }
    }

    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        out.put_u8(self.version);
        out.put_u8(self.msg_type);
        out.put_u16(self.length);
        out.put_u32(self.xid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_header_round_trips() {
        // OFPT_HELLO, OpenFlow 1.3, length 8, xid 0x11223344
        let bytes = [0x04, 0x00, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44];
        let h = Header::decode(&bytes).unwrap();
        assert_eq!(
            h,
            Header {
                version: OFP13_VERSION,
                msg_type: 0,
                length: 8,
                xid: 0x1122_3344
            }
        );
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn short_input_is_incomplete_and_short_length_is_malformed() {
        assert_eq!(
            Header::decode(&[4, 0, 0]),
            Err(DecodeError::Incomplete { needed: 8 })
        );
        let e = Header::decode(&[4, 0, 0, 7, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.ofp_error(), Some(OfpErrorCode::BAD_LEN));
        assert_eq!(Header::frame(&[4, 0, 0, 16, 0, 0, 0, 0, 1]), Ok(None));
    }
}
