//! The control protocol as switchctl clients send it (one JSON line), and the answers
//! switchctl reads: must not panic; what decodes round-trips (`switchd::fuzz::fuzz_ctl`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchd::fuzz::fuzz_ctl(data));
