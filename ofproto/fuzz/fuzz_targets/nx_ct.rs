//! Open vSwitch's connection tracking extension: any bytes as the body of a Nicira
//! experimenter action (the `ct`/`ct_clear` view must re-encode to exactly those bytes and
//! print as a flow that parses back to the same action), and as the payload of each ct
//! match field's NXM_1 OXM (the view must give back the same OXM).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ofproto::text;
use ofproto::v13::nx_ct::{CtMatch, NxCtAction, NX_VENDOR_ID};
use ofproto::v13::{Action, FlowModCommand, Instruction, Oxm, OxmOpaque};

fuzz_target!(|data: &[u8]| {
    let a = Action::Experimenter {
        experimenter: NX_VENDOR_ID,
        data: Bytes::copy_from_slice(data),
    };
    if let Some(v) = NxCtAction::from_action(&a) {
        assert_eq!(v.to_action(), a);
        let mut fm = text::parse_flow("ipv6,actions=drop", FlowModCommand::Add).unwrap();
        fm.instructions.push(Instruction::ApplyActions([a.clone()].into_iter().collect()));
        let printed = text::print_flow_mod(&fm);
        if !printed.contains("experimenter(") {
            let again = text::parse_flow(&printed, FlowModCommand::Add)
                .unwrap_or_else(|e| panic!("our own print {printed:?} does not parse: {e}"));
            assert_eq!(again, fm, "print/parse changed the flow: {printed:?}");
        }
    }
    for field in 105..=108 {
        for has_mask in [false, true] {
            let o = Oxm::Opaque(OxmOpaque {
                class: 1,
                field,
                has_mask,
                payload: Bytes::copy_from_slice(data),
            });
            if let Some(m) = CtMatch::from_oxm(&o) {
                assert_eq!(m.to_oxm(), o);
            }
        }
    }
});
