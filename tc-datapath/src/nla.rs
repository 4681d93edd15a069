//! A small netlink attribute writer and reader.
//!
//! ```text
//! nlattr: | nla_len : 16 (header included) | nla_type : 16 | payload | pad to 4 |
//! ```
//! netlink-packet-route 0.34 lacks the gact, vlan, pedit, csum and police actions, so the
//! whole RTM_NEWTFILTER message is built here, and dumps are read here; every structure is
//! written exactly as `include/uapi/linux/pkt_cls.h` and `tc_act/*.h` lay it out.

/// `NLA_F_NESTED`: set on every attribute that holds attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends attributes to a byte buffer; nests are opened and closed around their content.
#[derive(Debug, Default, Clone)]
pub struct NlaWriter {
    pub buf: Vec<u8>,
}

impl NlaWriter {
    pub fn new() -> Self {
        NlaWriter { buf: Vec::new() }
    }

    pub fn with_buf(buf: Vec<u8>) -> Self {
        NlaWriter { buf }
    }

    /// Raw bytes that are not an attribute (a message header, a fixed struct).
    pub fn raw(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub fn put(&mut self, ty: u16, data: &[u8]) {
        self.put_parts(ty, &[data]);
    }

    /// One attribute whose payload is `parts` one after the other (a fixed struct and
    /// what follows it), written without an intermediate buffer.
    pub fn put_parts(&mut self, ty: u16, parts: &[&[u8]]) {
        let len = 4 + parts.iter().map(|p| p.len()).sum::<usize>();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub fn u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }
    /// Host byte order.
    pub fn u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }
    /// Network byte order.
    pub fn be16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_be_bytes());
    }
    /// Host byte order.
    pub fn u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }
    /// Network byte order.
    pub fn be32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_be_bytes());
    }
    /// Host byte order.
    pub fn u64(&mut self, ty: u16, v: u64) {
        self.put(ty, &v.to_ne_bytes());
    }
    /// A NUL-terminated string.
    pub fn str(&mut self, ty: u16, s: &str) {
        self.put_parts(ty, &[s.as_bytes(), &[0]]);
    }

    /// Open a nested attribute; pass the returned position to [`NlaWriter::end`].
    pub fn begin(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    pub fn end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

/// Why an attribute stream did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlaError(pub &'static str);

impl std::fmt::Display for NlaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Iterates over the attributes in a byte slice: `(type without flags, payload)`.
/// A truncated attribute ends the iteration with an error item.
pub struct NlaIter<'a> {
    data: &'a [u8],
}

pub fn attrs(data: &[u8]) -> NlaIter<'_> {
    NlaIter { data }
}

impl<'a> Iterator for NlaIter<'a> {
    type Item = Result<(u16, &'a [u8]), NlaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([self.data[0], self.data[1]]) as usize;
        let ty = u16::from_ne_bytes([self.data[2], self.data[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.data.len() {
            self.data = &[];
            return Some(Err(NlaError("netlink attribute length out of range")));
        }
        let payload = &self.data[4..len];
        let next = align4(len).min(self.data.len());
        self.data = &self.data[next..];
        Some(Ok((ty, payload)))
    }
}

/// Fixed-size readers for attribute payloads.
pub fn get_u8(p: &[u8]) -> Result<u8, NlaError> {
    p.first().copied().ok_or(NlaError("u8 attribute too short"))
}
pub fn get_arr<const N: usize>(p: &[u8]) -> Result<[u8; N], NlaError> {
    p.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or(NlaError("attribute too short"))
}
pub fn get_u16(p: &[u8]) -> Result<u16, NlaError> {
    get_arr::<2>(p).map(u16::from_ne_bytes)
}
pub fn get_be16(p: &[u8]) -> Result<u16, NlaError> {
    get_arr::<2>(p).map(u16::from_be_bytes)
}
pub fn get_u32(p: &[u8]) -> Result<u32, NlaError> {
    get_arr::<4>(p).map(u32::from_ne_bytes)
}
pub fn get_be32(p: &[u8]) -> Result<u32, NlaError> {
    get_arr::<4>(p).map(u32::from_be_bytes)
}
pub fn get_u64(p: &[u8]) -> Result<u64, NlaError> {
    get_arr::<8>(p).map(u64::from_ne_bytes)
}
pub fn get_i32(p: &[u8]) -> Result<i32, NlaError> {
    get_arr::<4>(p).map(i32::from_ne_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_round_trip_with_padding() {
        let mut w = NlaWriter::new();
        w.str(1, "flower");
        let n = w.begin(2);
        w.u8(9, 6);
        w.be16(8, 0x0800);
        w.end(n);
        // "flower\0" is 7 bytes: 4 + 7 = 11, padded to 12.
        assert_eq!(&w.buf[..4], &[11, 0, 1, 0]);
        assert_eq!(w.buf.len(), 12 + 4 + 8 + 8);
        let got: Vec<_> = attrs(&w.buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(got[0], (1, &b"flower\0"[..]));
        assert_eq!(got[1].0, 2);
        let inner: Vec<_> = attrs(got[1].1).collect::<Result<_, _>>().unwrap();
        assert_eq!(inner, vec![(9, &[6u8][..]), (8, &[8u8, 0][..])]);
    }

    #[test]
    fn truncated_attribute_is_an_error_not_a_panic() {
        let bad = [40u8, 0, 1, 0, 0, 0];
        let got: Vec<_> = attrs(&bad).collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }
}
