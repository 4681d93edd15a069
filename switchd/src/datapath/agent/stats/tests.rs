//! Table stats, table features and meter stats as a controller reads them: encoded
//! requests in, decoded replies out, over a backend whose counters the test sets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::Header;
use ofproto::v13::{self, multipart as mp, Message as M};
use ofproto::OfpErrorCode;
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, Refusal};

use super::super::{Agent, AgentConfig};
use crate::datapath::switch::Switch;

/// Installs everything; counters and misses as the test sets them.
#[derive(Default)]
struct Counted {
    counters: HashMap<FlowId, Counters>,
    misses: Option<Vec<(u8, u64)>>,
}

impl Backend for Counted {
    fn install(&mut self, _id: FlowId, _flow: &FlowSpec) -> Result<(), Refusal> {
        Ok(())
    }

    fn remove(&mut self, id: FlowId) {
        self.counters.remove(&id);
    }

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        self.counters.clone()
    }

    fn table_misses(&self) -> Option<Vec<(u8, u64)>> {
        self.misses.clone()
    }
}

fn agent(backend: Counted, now: Instant) -> Agent {
    let cfg = AgentConfig {
        name: "vm".into(),
        bridge: "br-vm".into(),
        datapath_id: 7,
        n_tables: 3,
        echo_interval: Duration::from_secs(10),
    };
    let mut a = Agent::new(cfg, Switch::new(3, Box::new(backend)), now);
    drain(&mut a);
    let mut h = BytesMut::new();
    v13::encode_hello(&[1, 4], 1, &mut h);
    a.handle_input(&h, now);
    assert!(a.is_connected());
    drain(&mut a);
    a
}

fn drain(a: &mut Agent) -> Vec<(u32, M)> {
    let mut out = Vec::new();
    let mut buf = Bytes::copy_from_slice(a.output());
    a.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let n = m.len();
        let msg = buf.split_to(n);
        out.push(v13::decode(&msg).expect("the agent sends valid 1.3"));
    }
    out
}

fn ask(a: &mut Agent, xid: u32, m: M, now: Instant) -> Vec<(u32, M)> {
    let mut b = BytesMut::new();
    m.encode(xid, &mut b);
    a.handle_input(&b, now);
    drain(a)
}

fn mp_req(body: mp::MultipartRequestBody) -> M {
    M::MultipartRequest(v13::MultipartRequest { flags: 0, body })
}

/// The bodies of the replies, in order.
fn bodies(r: Vec<(u32, M)>) -> Vec<mp::MultipartReplyBody> {
    r.into_iter()
        .map(|(_, m)| match m {
            M::MultipartReply(r) => r.body,
            m => panic!("not a multipart reply: {m:?}"),
        })
        .collect()
}

fn add(table_id: u8, priority: u16, instructions: Vec<v13::Instruction>) -> M {
    M::FlowMod(v13::FlowMod {
        command: v13::FlowModCommand::Add,
        table_id,
        priority,
        buffer_id: v13::OFP_NO_BUFFER,
        out_port: v13::port::ANY,
        out_group: v13::OFPG_ANY,
        match_: v13::Match::from_fields([v13::Oxm::InPort(table_id as u32 + 1)]),
        instructions: instructions.into_iter().collect(),
        ..Default::default()
    })
}

fn output(port: u32) -> v13::Instruction {
    v13::Instruction::ApplyActions(
        [v13::Action::Output { port, max_len: 0 }]
            .into_iter()
            .collect(),
    )
}

fn table_stats(a: &mut Agent, now: Instant) -> Vec<mp::TableStats> {
    match &bodies(ask(a, 9, mp_req(mp::MultipartRequestBody::Table), now))[..] {
        [mp::MultipartReplyBody::Table(t)] => t.clone(),
        r => panic!("{r:?}"),
    }
}

#[test]
fn table_stats_lookups_are_matches_plus_the_kernels_misses() {
    let now = Instant::now();
    let backend = Counted {
        misses: Some(vec![(0, 5), (2, 1)]),
        ..Default::default()
    };
    let mut a = agent(backend, now);
    assert!(ask(&mut a, 1, add(0, 10, vec![output(2)]), now).is_empty());
    assert!(ask(&mut a, 2, add(0, 20, vec![output(3)]), now).is_empty());
    assert!(ask(&mut a, 3, add(1, 10, vec![output(3)]), now).is_empty());
    // The flow table gives ids from 1 in order of addition.
    let c = |packets| Counters {
        packets,
        bytes: packets * 100,
        last_used: None,
    };
    let counted: HashMap<FlowId, Counters> = [(1, c(3)), (2, c(4)), (3, c(7))].into();
    a.switch.backend = Box::new(Counted {
        counters: counted,
        misses: Some(vec![(0, 5), (2, 1)]),
    });
    let t = table_stats(&mut a, now);
    let row = |t: &mp::TableStats| (t.table_id, t.active_count, t.lookup_count, t.matched_count);
    assert_eq!(
        t.iter().map(row).collect::<Vec<_>>(),
        [(0, 2, 12, 7), (1, 1, 7, 7), (2, 0, 1, 0)]
    );
}

#[test]
fn table_stats_without_misses_from_the_backend_say_lookups_are_unavailable() {
    let now = Instant::now();
    let mut a = agent(Counted::default(), now);
    let t = table_stats(&mut a, now);
    assert!(t
        .iter()
        .all(|t| t.lookup_count == u64::MAX && t.matched_count == 0));
}

#[test]
fn table_features_list_every_table_and_a_set_is_refused() {
    let now = Instant::now();
    let mut a = agent(Counted::default(), now);
    let r = bodies(ask(
        &mut a,
        4,
        mp_req(mp::MultipartRequestBody::TableFeatures(Vec::new())),
        now,
    ));
    let tables: Vec<v13::TableFeatures> = r
        .into_iter()
        .flat_map(|b| match b {
            mp::MultipartReplyBody::TableFeatures(t) => t,
            b => panic!("{b:?}"),
        })
        .collect();
    assert_eq!(
        tables.iter().map(|t| t.table_id).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let next = |t: &v13::TableFeatures| -> Vec<u8> {
        t.properties
            .iter()
            .find_map(|p| match p {
                v13::TableFeatureProp::NextTables {
                    miss: false,
                    tables,
                } => Some(tables.to_vec()),
                _ => None,
            })
            .expect("next tables")
    };
    assert_eq!(next(&tables[0]), [1, 2]);
    assert_eq!(next(&tables[2]), Vec::<u8>::new());
    // Setting features is refused: OFPET_TABLE_FEATURES_FAILED / OFPTFFC_EPERM.
    let r = ask(
        &mut a,
        5,
        mp_req(mp::MultipartRequestBody::TableFeatures(vec![
            tables[0].clone()
        ])),
        now,
    );
    assert!(
        matches!(&r[..], [(5, M::Error(v13::ErrorMsg::Standard { code, .. }))] if *code == OfpErrorCode::new(13, 5)),
        "{r:?}"
    );
}

fn meter(id: u32) -> M {
    M::MeterMod(v13::MeterMod {
        command: v13::MeterModCommand::Add,
        flags: v13::OFPMF_KBPS,
        meter_id: id,
        bands: vec![v13::MeterBand::Drop {
            rate: 1000,
            burst_size: 0,
        }],
    })
}

#[test]
fn meter_stats_count_the_flows_through_each_meter() {
    let t0 = Instant::now();
    let mut a = agent(Counted::default(), t0);
    assert!(ask(&mut a, 1, meter(3), t0).is_empty());
    let t1 = t0 + Duration::from_secs(5);
    assert!(ask(&mut a, 2, meter(4), t1).is_empty());
    let metered = vec![v13::Instruction::Meter(3), output(2)];
    assert!(ask(&mut a, 3, add(0, 10, metered.clone()), t1).is_empty());
    assert!(ask(&mut a, 4, add(1, 10, metered), t1).is_empty());
    assert!(ask(&mut a, 5, add(0, 11, vec![output(2)]), t1).is_empty());
    let c = |packets| Counters {
        packets,
        bytes: packets * 64,
        last_used: None,
    };
    a.switch.backend = Box::new(Counted {
        counters: [(1, c(2)), (2, c(3)), (3, c(100))].into(),
        misses: None,
    });
    let t2 = t0 + Duration::from_secs(7);
    let r = bodies(ask(
        &mut a,
        6,
        mp_req(mp::MultipartRequestBody::Meter {
            meter_id: v13::OFPM_ALL,
        }),
        t2,
    ));
    let [mp::MultipartReplyBody::Meter(m)] = &r[..] else {
        panic!("{r:?}")
    };
    let row = |m: &mp::MeterStats| {
        (
            m.meter_id,
            m.flow_count,
            m.packet_in_count,
            m.byte_in_count,
            m.duration_sec,
            m.band_stats.len(),
        )
    };
    assert_eq!(
        m.iter().map(row).collect::<Vec<_>>(),
        [(3, 2, 5, 320, 7, 1), (4, 0, 0, 0, 2, 1)]
    );
    // A meter that does not exist: OFPMMFC_UNKNOWN_METER.
    let r = ask(
        &mut a,
        7,
        mp_req(mp::MultipartRequestBody::Meter { meter_id: 9 }),
        t2,
    );
    assert!(
        matches!(&r[..], [(7, M::Error(v13::ErrorMsg::Standard { code, .. }))] if *code == v13::errors::meter_mod_failed::UNKNOWN_METER),
        "{r:?}"
    );
}
