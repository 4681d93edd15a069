//! A bounds-checked cursor over one message, and helpers for writing length-prefixed parts.
//!
//! Every read checks the bytes are there; running short is `Malformed` with the code the
//! reader was created with (BAD_LEN for message bodies, BAD_ACTION_LEN inside an action),
//! because the framing step has already proved the whole message arrived.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, OfpErrorCode};

pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    short: OfpErrorCode,
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`; offsets are positions in `buf`.
    pub(crate) fn new(buf: &'a Bytes) -> Self {
        Reader {
            buf,
            pos: 0,
            end: buf.len(),
            short: OfpErrorCode::BAD_LEN,
        }
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<usize, DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::malformed(self.short, self.pos, what));
        }
        let at = self.pos;
        self.pos += n;
        Ok(at)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let at = self.take(1, what)?;
        Ok(self.buf[at])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let at = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[at..at + N]);
        Ok(a)
    }

    /// Skip padding. Its contents are ignored, as the spec asks of receivers.
    pub(crate) fn pad(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.take(n, what).map(|_| ())
    }

    /// Everything left, zero-copy.
    pub(crate) fn rest(&mut self) -> Bytes {
        let b = self.buf.slice(self.pos..self.end);
        self.pos = self.end;
        b
    }

    /// Split off the next `n` bytes as their own reader (same offsets), whose shortfalls are
    /// reported as `short`. Fails with `code` if fewer than `n` bytes remain.
    pub(crate) fn sub(
        &mut self,
        n: usize,
        code: OfpErrorCode,
        short: OfpErrorCode,
        what: &'static str,
    ) -> Result<Reader<'a>, DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::malformed(code, self.pos, what));
        }
        let at = self.pos;
        self.pos += n;
        Ok(Reader {
            buf: self.buf,
            pos: at,
            end: at + n,
            short,
        })
    }

    /// Fail with BAD_LEN unless everything was consumed.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::malformed(self.short, self.pos, what))
        }
    }
}

/// Write a 16-bit length placeholder; [`patch_len`] fills it in once the part is written.
pub(crate) fn len_placeholder(out: &mut BytesMut) -> usize {
    let at = out.len();
    out.put_u16(0);
    at
}

/// Set the 16-bit length at `at` to the bytes written since `start`. A part longer than
/// 65535 bytes cannot be expressed on the wire: that is a bug of the caller that built it,
/// caught by a debug assertion; release builds write 0xffff.
pub(crate) fn patch_len(out: &mut BytesMut, at: usize, start: usize) {
    let len = out.len() - start;
    debug_assert!(len <= 0xffff, "OpenFlow part of {len} bytes exceeds 65535");
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out[at..at + 2].copy_from_slice(&len.to_be_bytes());
}

/// Write `n` zero bytes of padding.
pub(crate) fn put_pad(out: &mut BytesMut, n: usize) {
    out.put_bytes(0, n);
}

/// A fixed-size, NUL-padded character field (`char name[N]`), kept byte for byte so that it
/// re-encodes exactly; [`FixedStr::as_str_lossy`] gives the text up to the first NUL.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize>(pub [u8; N]);

impl<const N: usize> FixedStr<N> {
    /// A field holding `s`, truncated to `N - 1` bytes so that a NUL always terminates it.
    pub fn new(s: &str) -> Self {
        let mut a = [0u8; N];
        let n = s.len().min(N.saturating_sub(1));
        a[..n].copy_from_slice(&s.as_bytes()[..n]);
        FixedStr(a)
    }

    /// The bytes before the first NUL (all of them if there is none).
    pub(crate) fn as_bytes_trimmed(&self) -> &[u8] {
        let n = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..n]
    }

    pub fn as_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes_trimmed())
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        FixedStr([0u8; N])
    }
}

impl<const N: usize> std::fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str_lossy())
    }
}
