//! A remote controller's OpenFlow messages into a local switch: the agent, the flow table,
//! groups, meters and the TC translation over an in-memory kernel side. Must not panic,
//! and after each message the table and the kernel side hold the same flows
//! (`switchd::fuzz::fuzz_agent`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchd::fuzz::fuzz_agent(data));
