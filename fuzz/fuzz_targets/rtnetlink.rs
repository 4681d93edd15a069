//! One NETLINK_ROUTE datagram as the datapath's TC socket reads it (acks, errors, filter
//! dumps): must not panic (`tc_datapath::fuzz::fuzz_rtnetlink`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tc_datapath::fuzz::fuzz_rtnetlink(data));
