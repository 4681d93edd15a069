//! `switchctl parse [--check] FILE...`: print the OpenFlow messages in files, one line each.
//!
//! A file is either raw messages back to back (as a session carries them) or a pcap/pcapng
//! capture of OpenFlow over TCP, whose streams are reassembled per direction. The first
//! malformed message stops everything with its offset and the OFPT_ERROR (type, code) a
//! receiver would answer it with; the exit status is then 1. With `--check`, every message
//! is also encoded again and any byte that differs is reported (also exit 1).

use std::process::ExitCode;

use bytes::{Bytes, BytesMut};
use ofproto::header::{Header, OFP10_VERSION, OFP13_VERSION};
use ofproto::{capture, text, v10, v13, DecodeError, OfpErrorCode};

pub const USAGE: &str = "parse [--check] file ...";

/// A message decoded by its version's codec, with what re-encoding it gives.
struct Decoded {
    line: String,
    reencoded: Vec<u8>,
}

fn decode(msg: &Bytes) -> Result<Decoded, DecodeError> {
    let h = Header::decode(msg)?;
    // HELLO is the one message every version must read (spec 6.3.1). A 1.3 HELLO goes to
    // the 1.3 decoder (version bitmap); any other version's to the 1.0 decoder, whose Hello
    // keeps the header version and the body as they came.
    let is_hello = h.msg_type == 0;
    if h.version == OFP10_VERSION || (is_hello && h.version != OFP13_VERSION) {
        let (xid, m) = v10::decode(msg)?;
        let mut out = BytesMut::new();
        m.encode(xid, &mut out);
        Ok(Decoded {
            line: text::print_message10(xid, &m),
            reencoded: out.to_vec(),
        })
    } else if h.version == OFP13_VERSION {
        let (xid, m) = v13::decode(msg)?;
        let mut out = BytesMut::new();
        m.encode(xid, &mut out);
        Ok(Decoded {
            line: text::print_message(xid, &m),
            reencoded: out.to_vec(),
        })
    } else if h.msg_type == 1 {
        // OFPT_ERROR has one layout in every version, and a peer that fails negotiation
        // sends its HELLO_FAILED in the version it speaks (spec 6.3.1): read it as 1.3's.
        let mut as13 = msg.to_vec();
        as13[0] = OFP13_VERSION;
        let (xid, m) = v13::decode(&Bytes::from(as13))?;
        let mut out = BytesMut::new();
        m.encode(xid, &mut out);
        out[0] = h.version;
        Ok(Decoded {
            line: text::print_message(xid, &m).replacen(
                "(OF1.3)",
                &format!("(version 0x{:02x})", h.version),
                1,
            ),
            reencoded: out.to_vec(),
        })
    } else {
        // Spec 6.3.1: a version we do not speak is OFPBRC_BAD_VERSION.
        Err(DecodeError::malformed(
            OfpErrorCode::BAD_VERSION,
            0,
            "neither OpenFlow 1.0 nor 1.3",
        ))
    }
}

fn is_capture(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0x3c, 0x4d])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0x0a, 0x0d, 0x0d, 0x0a])
    )
}

/// Print one message; `Err` with the sentence to report if it is malformed or, with
/// `check`, does not re-encode to the same bytes.
fn one(where_: &str, msg: &Bytes, check: bool) -> Result<(), String> {
    match decode(msg) {
        Ok(d) => {
            println!("{where_}: {}", d.line);
            if check && d.reencoded[..] != msg[..] {
                let at = d
                    .reencoded
                    .iter()
                    .zip(msg.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(d.reencoded.len().min(msg.len()));
                return Err(format!(
                    "{where_}: re-encoding differs at byte {at} of the message \
                     (ours {} bytes, the file's {})",
                    d.reencoded.len(),
                    msg.len()
                ));
            }
            Ok(())
        }
        Err(e) => Err(malformed(where_, &e)),
    }
}

fn malformed(where_: &str, e: &DecodeError) -> String {
    match e.ofp_error() {
        Some(code) => format!(
            "{where_}: malformed message: {e}; a receiver answers OFPT_ERROR type {} code {}",
            code.err_type, code.code
        ),
        None => format!("{where_}: {e}"),
    }
}

fn parse_file(path: &str, check: bool) -> Result<usize, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut n = 0;
    if is_capture(&bytes) {
        let flows = capture::read_pcap(&bytes).map_err(|e| format!("{path}: {e}"))?;
        for flow in &flows {
            println!("# {path}: {} -> {}", flow.src, flow.dst);
            // Messages and stream errors in stream order, so the first problem stops us at
            // the right place.
            let mut errors = flow.errors.iter().peekable();
            for m in &flow.messages {
                while let Some(e) = errors.next_if(|e| e.stream_offset <= m.stream_offset) {
                    stream_error(path, e)?;
                }
                let where_ = format!("{path}: frame {} +{}", m.frame, m.offset);
                one(&where_, &m.bytes, check)?;
                n += 1;
            }
            for e in errors {
                stream_error(path, e)?;
            }
        }
    } else {
        for item in capture::read_stream(&bytes) {
            match item {
                Ok((offset, msg)) => {
                    one(&format!("{path}: offset {offset}"), &msg, check)?;
                    n += 1;
                }
                Err((offset, e)) => return Err(malformed(&format!("{path}: offset {offset}"), &e)),
            }
        }
    }
    Ok(n)
}

fn stream_error(path: &str, e: &capture::StreamError) -> Result<(), String> {
    let where_ = format!("{path}: frame {} +{}", e.frame, e.offset);
    match &e.error {
        capture::StreamErrorKind::Framing(d) => Err(malformed(&where_, d)),
        // Holes and a capture that stops mid-message are facts about the capture, not
        // malformed OpenFlow: say so and go on.
        capture::StreamErrorKind::Gap { missing } => {
            eprintln!(
                "{where_}: {missing} bytes missing from the capture; continuing after the gap"
            );
            Ok(())
        }
        capture::StreamErrorKind::Truncated { have, needed } => {
            eprintln!("{where_}: the capture ends inside a message ({have} of {needed} bytes)");
            Ok(())
        }
    }
}

/// Run `parse` with the words after it.
pub fn run(args: &[&str]) -> Result<ExitCode, String> {
    let check = args.first() == Some(&"--check");
    let files = if check { &args[1..] } else { args };
    if files.is_empty() {
        return Err(format!("usage: switchctl {USAGE}"));
    }
    for f in files {
        if let Err(e) = parse_file(f, check) {
            eprintln!("switchctl: {e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
