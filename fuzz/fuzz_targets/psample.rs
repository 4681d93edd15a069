//! One psample datagram as the datapath's packet-in reader parses it: must not panic
//! (`tc_datapath::fuzz::fuzz_psample`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tc_datapath::fuzz::fuzz_psample(data));
