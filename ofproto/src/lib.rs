//! The OpenFlow wire protocol, sans-IO: no sockets, no clock, no tokio.
//!
//! (The codec arrives with the ofproto issue; this crate is the workspace slot for it.)
