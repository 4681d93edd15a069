//! The OpenFlow wire protocol, sans-IO: no sockets, no clock, no tokio.
//!
//! - [`header`]: the 8-byte header every version shares, and stream framing.
//! - [`error`]: decode errors and the OpenFlow error (type, code) each maps to.
//! - [`v13`]: OpenFlow 1.3.5, all of it. [`v10`]: OpenFlow 1.0.
//! - [`text`]: the ovs-ofctl flow syntax (parse and print) and one-line message printing.
//! - [`capture`]: raw message streams and pcap/pcapng captures of OpenFlow over TCP.

pub mod capture;
pub mod error;
pub mod header;
pub mod text;
pub mod v10;
pub mod v13;

pub use error::{DecodeError, OfpErrorCode};
pub use header::Header;
