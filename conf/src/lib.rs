//! The switchd.conf grammar, its validated types, and a printer whose output parses again.
//!
//! (The parser arrives with the daemon issue; this crate is the workspace slot for it.)
