use super::*;

use bytes::BytesMut;
use ofproto::v13::action::action_type;
use ofproto::v13::instruction::instruction_type;
use ofproto::v13::oxm::field;
use ofproto::v13::{multipart as mp, Message as M};

/// The OXM field of a header.
fn field_of(h: u32) -> u8 {
    ((h >> 9) & 0x7f) as u8
}

fn listed(v: &[u32], f: u8) -> Option<bool> {
    v.iter()
        .find(|h| field_of(**h) == f)
        .map(|h| h & 0x100 != 0)
}

#[test]
fn what_the_translation_takes_is_listed_and_what_is_refused_is_not() {
    let c = probe();
    // Flower keys, with masks where flower has them.
    assert_eq!(listed(&c.matches, field::IN_PORT), Some(false));
    assert_eq!(listed(&c.matches, field::ETH_TYPE), Some(false));
    assert_eq!(listed(&c.matches, field::VLAN_VID), Some(true));
    assert_eq!(listed(&c.matches, field::IPV4_SRC), Some(true));
    assert_eq!(listed(&c.matches, field::TCP_DST), Some(false));
    // Nothing in flower for PBB.
    assert_eq!(listed(&c.matches, field::PBB_ISID), None);
    assert!(c.apply_actions.contains(&action_type::OUTPUT));
    assert!(c.apply_actions.contains(&action_type::PUSH_VLAN));
    assert!(c.apply_actions.contains(&action_type::POP_VLAN));
    assert!(c.apply_actions.contains(&action_type::SET_FIELD));
    // No queues (7.2.5 checks), no PBB in TC.
    assert!(!c.apply_actions.contains(&action_type::SET_QUEUE));
    assert!(!c.apply_actions.contains(&26) && !c.apply_actions.contains(&27));
    assert!(c.instructions.contains(&instruction_type::APPLY_ACTIONS));
    assert!(c.instructions.contains(&instruction_type::GOTO_TABLE));
    assert!(c.instructions.contains(&instruction_type::METER));
    // Set-field of in_port or metadata is no set-field at all.
    assert!(!c
        .apply_setfields
        .iter()
        .any(|h| [field::IN_PORT, field::METADATA].contains(&field_of(*h))));
    assert_eq!(
        c.metadata_match,
        listed(&c.matches, field::METADATA) == Some(true)
    );
    // Every listed field is one a flow can really have: each header is that of a probe.
    for h in &c.matches {
        assert!(
            field_probes()
                .iter()
                .any(|p| p.exact.header() == *h
                    || p.masked.as_ref().is_some_and(|m| m.header() == *h)),
            "{h:#x}"
        );
    }
}

#[test]
fn the_last_table_goes_nowhere_and_the_others_go_forward() {
    let c = probe();
    let next = |t: &TableFeatures| -> Vec<u8> {
        t.properties
            .iter()
            .find_map(|p| match p {
                TableFeatureProp::NextTables {
                    miss: false,
                    tables,
                } => Some(tables.to_vec()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let instructions = |t: &TableFeatures| -> Vec<u16> {
        t.properties
            .iter()
            .find_map(|p| match p {
                TableFeatureProp::Instructions { miss: false, ids } => {
                    Some(ids.iter().map(|i| i.id_type).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    };
    let first = table_features(&c, 0, 4);
    let last = table_features(&c, 3, 4);
    assert_eq!(next(&first), [1, 2, 3]);
    assert!(instructions(&first).contains(&instruction_type::GOTO_TABLE));
    assert!(next(&last).is_empty());
    assert!(!instructions(&last).contains(&instruction_type::GOTO_TABLE));
    assert_eq!(&last.name[..], b"table 3");
    // The wildcards are the match fields, unmasked.
    let wild = last
        .properties
        .iter()
        .find_map(|p| match p {
            TableFeatureProp::Wildcards(ids) => Some(ids.clone()),
            _ => None,
        })
        .expect("wildcards");
    assert_eq!(wild.len(), c.matches.len());
    assert!(wild.iter().all(|i| i.header & 0x100 == 0));
}

#[test]
fn the_reply_is_as_long_as_said_and_decodes_to_what_was_sent() {
    let c = probe();
    let tables: Vec<TableFeatures> = (0..3).map(|t| table_features(&c, t, 3)).collect();
    let m = M::MultipartReply(v13::MultipartReply {
        flags: 0,
        body: mp::MultipartReplyBody::TableFeatures(tables.clone()),
    });
    let mut b = BytesMut::new();
    m.encode(1, &mut b);
    // Header 8, multipart header 8.
    assert_eq!(b.len(), 16 + tables.iter().map(wire_len).sum::<usize>());
    let (_, back) = v13::decode(&b.freeze()).expect("decodes");
    assert_eq!(back, m);
}
