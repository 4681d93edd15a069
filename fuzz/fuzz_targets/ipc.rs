//! The records one switchd process receives from another, joined as the IPC channel joins
//! them: must not panic; every message round-trips (`switchd::fuzz::fuzz_ipc`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchd::fuzz::fuzz_ipc(data));
