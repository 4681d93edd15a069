//! Symmetric messages: HELLO, ERROR, ECHO, EXPERIMENTER (spec 7.5), and version
//! negotiation (spec 6.3.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{pad8, pad_from, patch_u16, Reader};
use crate::error::{DecodeError, OfpErrorCode};

/// `OFPHET_VERSIONBITMAP`
pub(crate) const OFPHET_VERSIONBITMAP: u16 = 1;

/// OFPT_HELLO body: a list of hello elements (7.5.1). Empty for pre-1.3.1 peers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    pub elements: Vec<HelloElement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloElement {
    /// `ofp_hello_elem_versionbitmap`: bit `n` of word `n / 32` set = version `n` supported.
    VersionBitmap(Vec<u32>),
    /// An element type we do not know: kept (`data` excludes header and padding).
    Unknown { elem_type: u16, data: Bytes },
}

impl Hello {
    /// The first version bitmap element, if any.
    pub fn version_bitmap(&self) -> Option<&[u32]> {
        self.elements.iter().find_map(|e| match e {
            HelloElement::VersionBitmap(b) => Some(b.as_slice()),
            _ => None,
        })
    }

    /// A HELLO advertising `versions` in a bitmap element.
    pub fn with_versions(versions: &[u8]) -> Hello {
        let max = versions.iter().copied().max().unwrap_or(0) as usize;
        let mut words = vec![0u32; max / 32 + 1];
        for &v in versions {
            words[v as usize / 32] |= 1 << (v % 32);
        }
        Hello {
            elements: vec![HelloElement::VersionBitmap(words)],
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Hello, DecodeError> {
        let mut elements = Vec::new();
        while !r.is_empty() {
            // 7.5.1: each element is type, length (header included, padding excluded),
            // then padding to a multiple of 8 bytes.
            if r.remaining() < 4 {
                return Err(r.err(OfpErrorCode::BAD_LEN, "hello element header truncated"));
            }
            let elem_type = r.peek_u16(0)?;
            let len = r.peek_u16(2)? as usize;
            if len < 4 || pad8(len) > r.remaining() {
                return Err(r.err(OfpErrorCode::BAD_LEN, "hello element length invalid"));
            }
            let mut e = r.sub(pad8(len), OfpErrorCode::BAD_LEN, "hello element truncated")?;
            e.skip(4)?;
            let mut body = e.sub(len - 4, OfpErrorCode::BAD_LEN, "hello element truncated")?;
            if elem_type == OFPHET_VERSIONBITMAP {
                // 7.5.1.1: the bitmaps are 32-bit words.
                if !(len - 4).is_multiple_of(4) {
                    return Err(r.err(OfpErrorCode::BAD_LEN, "version bitmap not whole words"));
                }
                let mut words = Vec::new();
                while !body.is_empty() {
                    words.push(body.u32()?);
                }
                elements.push(HelloElement::VersionBitmap(words));
            } else {
                elements.push(HelloElement::Unknown {
                    elem_type,
                    data: body.rest(),
                });
            }
        }
        Ok(Hello { elements })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        for e in &self.elements {
            let start = out.len();
            match e {
                HelloElement::VersionBitmap(words) => {
                    out.put_u16(OFPHET_VERSIONBITMAP);
                    out.put_u16(0);
                    for w in words {
                        out.put_u32(*w);
                    }
                }
                HelloElement::Unknown { elem_type, data } => {
                    out.put_u16(*elem_type);
                    out.put_u16(0);
                    out.put_slice(data);
                }
            }
            patch_u16(out, start + 2, out.len() - start);
            pad_from(out, start);
        }
    }
}

fn bitmap_has(bitmap: &[u32], v: u8) -> bool {
    bitmap
        .get(v as usize / 32)
        .is_some_and(|w| w & (1 << (v % 32)) != 0)
}

/// Version negotiation, spec 6.3.1 (OpenFlow 1.3.5).
///
/// We always send a HELLO with a version bitmap of `our_versions` and header version
/// `max(our_versions)` (see [`Hello::with_versions`]). "If both the Hello message sent and the
/// Hello message received contained a OFPHET_VERSIONBITMAP hello element, and if those bitmaps
/// have some common bits set, the negotiated version must be the highest version set in both
/// bitmaps. Otherwise, the negotiated version must be the smaller of the version number that
/// was sent and the one that was received in the version fields. If the negotiated version is
/// supported by the recipient, then the connection proceeds. Otherwise, the recipient must
/// reply with an OFPT_ERROR message with a type field of OFPET_HELLO_FAILED, a code field of
/// OFPHFC_INCOMPATIBLE."
pub fn negotiate(
    our_versions: &[u8],
    peer_hello: &Hello,
    peer_header_version: u8,
) -> Result<u8, OfpErrorCode> {
    let Some(&our_max) = our_versions.iter().max() else {
        return Err(OfpErrorCode::HELLO_INCOMPATIBLE);
    };
    if let Some(peer_bitmap) = peer_hello.version_bitmap() {
        let common = our_versions
            .iter()
            .copied()
            .filter(|&v| bitmap_has(peer_bitmap, v))
            .max();
        if let Some(v) = common {
            return Ok(v);
        }
    }
    let v = our_max.min(peer_header_version);
    if our_versions.contains(&v) {
        Ok(v)
    } else {
        Err(OfpErrorCode::HELLO_INCOMPATIBLE)
    }
}

/// `OFPET_EXPERIMENTER`
pub const OFPET_EXPERIMENTER: u16 = 0xffff;

/// OFPT_ERROR (7.5.4). `data` is kept as it came (usually the start of the failed request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorMsg {
    /// Any error type but OFPET_EXPERIMENTER (`code.err_type != 0xffff`).
    Standard { code: OfpErrorCode, data: Bytes },
    /// `ofp_error_experimenter_msg`
    Experimenter {
        exp_code: u16,
        experimenter: u32,
        data: Bytes,
    },
}

impl ErrorMsg {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<ErrorMsg, DecodeError> {
        let err_type = r.u16()?;
        let code = r.u16()?;
        if err_type == OFPET_EXPERIMENTER {
            let experimenter = r.u32()?;
            Ok(ErrorMsg::Experimenter {
                exp_code: code,
                experimenter,
                data: r.rest(),
            })
        } else {
            Ok(ErrorMsg::Standard {
                code: OfpErrorCode::new(err_type, code),
                data: r.rest(),
            })
        }
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        match self {
            ErrorMsg::Standard { code, data } => {
                out.put_u16(code.err_type);
                out.put_u16(code.code);
                out.put_slice(data);
            }
            ErrorMsg::Experimenter {
                exp_code,
                experimenter,
                data,
            } => {
                out.put_u16(OFPET_EXPERIMENTER);
                out.put_u16(*exp_code);
                out.put_u32(*experimenter);
                out.put_slice(data);
            }
        }
    }

    /// The error to send for a message that failed to decode: at least the first 64 bytes
    /// of the offending message (7.4.4).
    pub fn for_request(code: OfpErrorCode, request: &Bytes) -> ErrorMsg {
        ErrorMsg::Standard {
            code,
            data: request.slice(..request.len().min(64)),
        }
    }
}

/// OFPT_EXPERIMENTER (7.5.5), and the experimenter multipart bodies share its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experimenter {
    pub experimenter: u32,
    pub exp_type: u32,
    pub data: Bytes,
}

impl Experimenter {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Experimenter, DecodeError> {
        let experimenter = r.u32()?;
        let exp_type = r.u32()?;
        Ok(Experimenter {
            experimenter,
            exp_type,
            data: r.rest(),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.experimenter);
        out.put_u32(self.exp_type);
        out.put_slice(&self.data);
    }
}
