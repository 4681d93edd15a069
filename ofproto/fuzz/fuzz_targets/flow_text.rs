//! The ovs-ofctl flow syntax parser, fed any text: it must never panic, and whatever it
//! accepts must print and parse again to the same flow-mod (the round trip operators rely
//! on when they paste `switchctl show flows` output back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofproto::text;
use ofproto::v13::FlowModCommand;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fm) = text::parse_flow(s, FlowModCommand::Add) {
        let printed = text::print_flow_mod(&fm);
        let again = text::parse_flow(&printed, FlowModCommand::Add)
            .unwrap_or_else(|e| panic!("our own print {printed:?} does not parse: {e}"));
        assert_eq!(again, fm, "print/parse changed the flow: {printed:?}");
    }
});
