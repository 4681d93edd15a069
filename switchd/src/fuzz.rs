//! Entry points for the fuzz targets (`fuzz/`, run by `regress/fuzz`): each takes bytes as
//! they come from outside a process and must not panic; where the code offers an invariant,
//! the entry checks it (a failed check panics, which the fuzzer reports as a crash). Not
//! part of switchd's interface.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ofproto::header::Header;
use ofproto::v13;
use tc_datapath::{Backend, Counters, FlowId, FlowSpec, MeterTable, PortMap, Refusal};

use crate::ctlproto::{self, Request, Response};
use crate::datapath::agent::{Agent, AgentConfig, AgentEvent, LinkCounters, Switch, SwitchPort};
use crate::ipc;
use crate::msg::Msg;

/// The kernel side of the fuzzed switch: the real TC translation (what it refuses is
/// refused), and the ids of what it holds, shared with the check.
struct Translating {
    ports: PortMap,
    meters: MeterTable,
    installed: Arc<Mutex<BTreeSet<FlowId>>>,
}

impl Backend for Translating {
    fn install(&mut self, id: FlowId, flow: &FlowSpec) -> Result<(), Refusal> {
        flow.with_decoded(|f| tc_datapath::translate(f, &self.ports, &self.meters))??;
        let fresh = lock(&self.installed).insert(id);
        assert!(fresh, "flow id {id} installed twice");
        Ok(())
    }

    fn remove(&mut self, id: FlowId) {
        lock(&self.installed).remove(&id);
    }

    fn counters(&mut self, _now: Instant) -> HashMap<FlowId, Counters> {
        HashMap::new()
    }

    fn set_ports(&mut self, ports: &PortMap) {
        self.ports = ports.clone();
    }

    fn set_meters(&mut self, meters: &MeterTable) {
        self.meters = meters.clone();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sw_port(no: u32) -> SwitchPort {
    SwitchPort {
        desc: v13::Port {
            port_no: no,
            name: Bytes::from(format!("p{no}")),
            hw_addr: v13::MacAddr([2, 0, 0, 0, 0, no as u8]),
            ..Default::default()
        },
        ifindex: 100 + no,
        since: Instant::now(),
    }
}

/// Every message the agent queued; each must be valid OpenFlow 1.3.
fn drain(a: &mut Agent) {
    let mut buf = Bytes::copy_from_slice(a.output());
    a.consume(buf.len());
    while let Ok(Some((_, m))) = Header::frame(&buf) {
        let msg = buf.split_to(m.len());
        if let Err(e) = v13::decode(&msg) {
            panic!("the agent sent a message it cannot decode ({e:?}): {msg:02x?}");
        }
    }
    assert!(buf.is_empty(), "the agent sent a partial message");
}

fn hello(a: &mut Agent, now: Instant) {
    let mut h = BytesMut::new();
    v13::encode_hello(&[1, 4], 1, &mut h);
    a.handle_input(&h, now);
}

/// A remote controller's messages into a local switch (agent, flow table, groups, meters,
/// the TC translation). `data` is a stream of OpenFlow messages; each header's version is
/// made 1.3 and its length made to fit, so that every input reaches the decoders. After
/// each message the flow table and the kernel side must hold the same flows. A connection
/// the agent closes is started again with the same switch.
#[doc(hidden)]
pub fn fuzz_agent(data: &[u8]) {
    let installed = Arc::new(Mutex::new(BTreeSet::new()));
    let backend = Translating {
        ports: PortMap::new(),
        meters: MeterTable::new(),
        installed: installed.clone(),
    };
    let cfg = AgentConfig {
        name: "fuzz".into(),
        bridge: "br-fuzz".into(),
        datapath_id: 1,
        n_tables: 4,
        echo_interval: Duration::ZERO,
    };
    let mut now = Instant::now();
    let mut a = Agent::new(cfg, Switch::new(4, Box::new(backend)), now);
    hello(&mut a, now);
    for no in 1..=3 {
        a.port_update(sw_port(no));
    }
    drain(&mut a);
    let mut rest = data;
    while rest.len() >= 8 {
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]])).clamp(8, rest.len());
        let mut msg = rest[..len].to_vec();
        rest = &rest[len..];
        msg[0] = ofproto::header::OFP13_VERSION;
        msg[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        a.handle_input(&msg, now);
        while let Some(AgentEvent::NeedPortStats { xid, ports }) = a.poll_event() {
            let counters = ports
                .iter()
                .map(|(no, _)| (*no, LinkCounters::default()))
                .collect();
            a.port_stats(xid, counters, now);
        }
        // Time passes (one second a message), so that timeouts expire.
        now += Duration::from_secs(1);
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.handle_timeout(now);
        }
        drain(&mut a);
        let table: BTreeSet<FlowId> = a.switch.table.entries().map(|e| e.id).collect();
        assert_eq!(
            table,
            *lock(&installed),
            "the flow table and the kernel side disagree"
        );
        if a.close_reason().is_some() {
            a.restart(now);
            hello(&mut a, now);
            drain(&mut a);
        }
    }
}

/// The control protocol as switchctl clients send it: one line, a [`Request`]; whatever
/// decodes must encode back to an equal request. The daemon's answers (what switchctl
/// reads) decode the same way.
#[doc(hidden)]
pub fn fuzz_ctl(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(req) = serde_json::from_str::<Request>(line) {
        let again = ctlproto::to_line(&req);
        let back: Request = serde_json::from_str(&again)
            .unwrap_or_else(|e| panic!("our own request line {again:?} does not decode: {e}"));
        assert_eq!(back, req);
        if let Request::AddFlow { flow, .. } = &req {
            let _ = ofproto::text::parse_flow(flow, v13::FlowModCommand::Add);
        }
        if let Request::Load {
            text: Some(text), ..
        } = &req
        {
            let _ = conf::parse_untrusted("load", text, &[]);
        }
    }
    if let Ok(resp) = serde_json::from_str::<Response>(line) {
        let again = ctlproto::to_line(&resp);
        let back: Response = serde_json::from_str(&again)
            .unwrap_or_else(|e| panic!("our own response line {again:?} does not decode: {e}"));
        assert_eq!(back, resp);
    }
}

/// The records one process receives from another on its IPC channel: `data` is a
/// sequence of records, each a 2-byte length then the record, joined as the channel joins
/// them. Every message that comes out must go back through the records we send and come
/// out equal.
#[doc(hidden)]
pub fn fuzz_ipc(data: &[u8]) {
    let mut partial = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let record = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let _ = ipc::decode(record);
        if let Ok(Some(m)) = ipc::join(&mut partial, record) {
            round_trip(&m);
        }
    }
}

fn round_trip(m: &Msg) {
    let Ok(records) = ipc::encode_records(m) else {
        return;
    };
    let mut partial = Vec::new();
    let mut out = None;
    for r in &records {
        match ipc::join(&mut partial, r) {
            Ok(Some(back)) => out = Some(back),
            Ok(None) => {}
            Err(e) => panic!("our own record does not decode: {e}"),
        }
    }
    assert_eq!(out.as_ref(), Some(m));
}
