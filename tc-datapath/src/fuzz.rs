//! Entry points for the fuzz targets (`fuzz/`, run by `regress/fuzz`): the rtnetlink and
//! psample messages this crate parses, as the kernel (or whoever reaches the socket) sends
//! them. They must not panic. Not part of the crate's interface.

/// One NETLINK_ROUTE datagram, read as `Tc` reads acks, errors and dumps.
#[doc(hidden)]
pub fn fuzz_rtnetlink(data: &[u8]) {
    crate::netlink::read_datagram(data);
}

/// One datagram of the psample family (family id 0x20 here: messages of another type are
/// skipped as the reader skips them), and the same bytes as one message's payload.
#[doc(hidden)]
pub fn fuzz_psample(data: &[u8]) {
    let mut out = Vec::new();
    let mut malformed = 0;
    crate::psample::parse_datagram(0x20, data, &mut out, &mut malformed);
    let _ = crate::psample::parse_sample(data);
}
