//! Checked reading and length-patched writing, shared by every OpenFlow 1.3 structure.
//!
//! A [`Reader`] walks one window of the message (`pos..end`) and never reads past `end`:
//! every read checks what remains and fails with the OpenFlow error the enclosing structure
//! must be answered with. Offsets in errors count from the start of the whole message.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, OfpErrorCode};

#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    /// The error to answer with when this structure is shorter than it says it is.
    short: OfpErrorCode,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over the whole message `buf`, starting at `start`.
    pub fn new(buf: &'a Bytes, start: usize, short: OfpErrorCode, what: &'static str) -> Self {
        Reader {
            buf,
            pos: start.min(buf.len()),
            end: buf.len(),
            short,
            what,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// A malformed-input error at the current position.
    pub fn err(&self, code: OfpErrorCode, reason: &'static str) -> DecodeError {
        DecodeError::malformed(code, self.pos, reason)
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.remaining() < n {
            Err(DecodeError::malformed(self.short, self.pos, self.what))
        } else {
            Ok(())
        }
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.need(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Skip padding; its content is ignored (we are lenient on decode, and write zeros).
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.need(n)?;
        self.pos += n;
        Ok(())
    }

    /// The next `n` bytes as a zero-copy slice of the message.
    pub fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    /// Everything left in this window, zero-copy.
    pub fn rest(&mut self) -> Bytes {
        let b = self.buf.slice(self.pos..self.end);
        self.pos = self.end;
        b
    }

    /// Peek a big-endian u16 at `pos + at` without consuming.
    pub(crate) fn peek_u16(&self, at: usize) -> Result<u16, DecodeError> {
        self.need(at + 2)?;
        let p = self.pos + at;
        Ok(u16::from_be_bytes([self.buf[p], self.buf[p + 1]]))
    }

    /// Split the next `n` bytes off as their own window; `short` and `what` describe the
    /// structure inside it. Fails with *this* reader's error if fewer than `n` remain.
    pub(crate) fn sub(
        &mut self,
        n: usize,
        short: OfpErrorCode,
        what: &'static str,
    ) -> Result<Reader<'a>, DecodeError> {
        self.need(n)?;
        let r = Reader {
            buf: self.buf,
            pos: self.pos,
            end: self.pos + n,
            short,
            what,
        };
        self.pos += n;
        Ok(r)
    }

    /// Fail unless the window has been read to its end (fixed-size structures).
    pub fn finish(&self, code: OfpErrorCode, reason: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err(code, reason))
        }
    }
}

/// Round up to the next multiple of 8 (OpenFlow aligns most structures to 64 bits).
pub(crate) const fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

pub(crate) fn put_zeros(out: &mut BytesMut, n: usize) {
    out.put_bytes(0, n);
}

/// Zero-pad what was written since `start` to a multiple of 8 bytes.
pub(crate) fn pad_from(out: &mut BytesMut, start: usize) {
    let len = out.len() - start;
    put_zeros(out, pad8(len) - len);
}

/// Write a big-endian u16 at `at` (a length field reserved earlier).
///
/// Lengths are 16 bits on the wire; building a structure longer than 65535 bytes is a bug of
/// the caller, and the length is then truncated, as every OpenFlow implementation would.
pub(crate) fn patch_u16(out: &mut BytesMut, at: usize, v: usize) {
    out[at..at + 2].copy_from_slice(&(v as u16).to_be_bytes());
}

/// A fixed-size, NUL-padded string field (`char name[N]`): the bytes before the first NUL.
pub(crate) fn read_str(r: &mut Reader<'_>, n: usize) -> Result<Bytes, DecodeError> {
    let b = r.bytes(n)?;
    let len = b.iter().position(|&c| c == 0).unwrap_or(n);
    Ok(b.slice(..len))
}

/// Write `s` into a NUL-padded field of `n` bytes, truncated if longer.
pub(crate) fn put_str(out: &mut BytesMut, s: &[u8], n: usize) {
    let len = s.len().min(n);
    out.put_slice(&s[..len]);
    put_zeros(out, n - len);
}
