//! One hypervisor's part of the virtual networks as one local switch: ports, meters and
//! ordinary OpenFlow 1.3 flows in ovs-ofctl text.
//!
//! # The pipeline
//!
//! A frame's network is known from where it came in, its *context*: a VM's port (the VM's
//! network), the tunnel port with the network's VNI (`tunnel_id`, set by the decapsulation),
//! or a VLAN uplink with the network's VLAN id. TC can carry nothing else between tables
//! (no metadata: flower has no key for it), so every flow of tables 1 to 7 matches its
//! context again; flower places a flow on its in_port's device anyway, so this costs no
//! filter more than a flow without in_port would. A flow of one network therefore never
//! sees a frame of another, whatever its MACs and addresses.
//!
//! - table 0, *classify and anti-spoofing*: a VM's port admits only frames from its MAC:
//!   IPv4 from its addresses (and DHCP discovery from 0.0.0.0), ARP about itself (and ARP
//!   probes), IPv6 from its addresses and its EUI-64 link-local address (and DAD from ::);
//!   IP goes to conntrack (`ct(zone=Z,table=1)`, Z the network's zone), ARP and IPv6
//!   neighbour discovery straight to table 3. DHCP server replies and router advertisements
//!   are dropped unless the VM is allowed them; the rest is dropped by flows of its own, so
//!   each kind of forgery is counted (forged ARP, forged IPv4 or IPv6 source, other
//!   ethertypes, forged MAC). A VM's `rate` is a meter on its admitted traffic. The tunnel
//!   port admits only the configured VNIs of the networks this hypervisor hosts, an uplink
//!   only their VLAN ids. The table-miss drops.
//! - table 1, *egress security group*: `+inv` dropped; `+est`/`+rel` pass; a new connection
//!   from a local VM passes if the VM's (and its network's) `pass out` rules allow it, or
//!   if there are none; otherwise it is dropped (and counted). New connections from the
//!   tunnel or an uplink pass (the sender's hypervisor checked them).
//! - table 2, *ingress security group*: `+est`/`+rel` pass; a new connection to a local VM
//!   is committed (`ct(commit)`) and passes only if a `pass in` rule of the VM or its
//!   network allows it, otherwise it is dropped (and counted); a new connection to anyone
//!   else (a remote VM, broadcast, multicast) is committed and passes: the receiver's
//!   hypervisor checks it.
//! - table 3, *L2 forwarding*: known unicast to a local VM's port; to a remote VM out of
//!   the tunnel with the VNI and the hypervisor's address (`tunnel_id`, `tun_dst`,
//!   `tun_src`), or tagged out of the uplink; the rest (broadcast, multicast, unknown
//!   unicast) flooded to the network's local ports but the sender's, and to every other
//!   hypervisor hosting the network (head-end replication; never from the tunnel back
//!   into it, nor from the uplink back out).
//! - tables 4 to 7, *flood continuation*: a flood that needs more actions than one TC
//!   filter holds goes on in the next table ([`ACTION_BUDGET`] actions per flow).
//!
//! Every flow carries a cookie of its own ([`COOKIE_BASE`]): 0x766e, 24 bits of the
//! network's name and 24 bits of the VM's name (0 for a network's flows), hashed, so a
//! flow's cookie (and port numbers, zones, meter ids) does not change when other VMs come
//! and go: a reload after a migration changes only the flows that concern the moved VM.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use conf::vnet::{Direction, Family, Mac, Network, Rule, Segment, Vm, Vnet};
use conf::TunnelKind;

/// The local switch of the virtual networks.
pub const SWITCH: &str = "vnet";
/// Its bridge.
pub const BRIDGE: &str = "vnet0";
/// The collect-metadata tunnel devices and their port numbers.
pub const VXLAN_PORT: (&str, u32) = ("vnet-vxlan", 1);
pub const GENEVE_PORT: (&str, u32) = ("vnet-geneve", 2);
/// The high 16 bits of every cookie of the virtual networks ("vn").
pub const COOKIE_BASE: u64 = 0x766e << 48;

pub const T_CLASSIFY: u8 = 0;
pub const T_EGRESS: u8 = 1;
pub const T_INGRESS: u8 = 2;
pub const T_L2: u8 = 3;
/// The last table a flood may continue into.
pub const T_LAST: u8 = 7;

/// The actions (counted as TC counts them: an output one, a tunnel's set-fields and output
/// two, a VLAN push or pop one) that one flood flow may hold; TC takes 32 per filter, and
/// the continuation's goto and headroom take the rest.
pub const ACTION_BUDGET: usize = 28;

/// A hypervisor's part: `None` when it hosts no VM.
#[derive(Debug)]
pub struct Compiled {
    pub switch: Option<conf::Switch>,
}

/// 24 bits of FNV-1a over `s`.
fn h24(s: &str) -> u64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    u64::from((h >> 8) ^ (h & 0xff)) & 0xff_ffff
}

/// The cookie of a network's flows.
pub fn network_cookie(net: &str) -> u64 {
    COOKIE_BASE | (h24(net) << 24)
}

/// The cookie of a VM's flows (never the network's).
pub fn vm_cookie(net: &str, vm: &str) -> u64 {
    network_cookie(net) | h24(vm).max(1)
}

/// Numbers from `lo..=hi` for `names` (sorted), each at its name's hash or the next free.
fn assign(
    names: &BTreeSet<String>,
    lo: u64,
    hi: u64,
    taken: &BTreeSet<u64>,
) -> BTreeMap<String, u64> {
    let mut used = taken.clone();
    let mut out = BTreeMap::new();
    let span = hi - lo + 1;
    for n in names {
        let mut v = lo + (h24(n) ^ (h24(&format!("{n}#")) << 24)) % span;
        while used.contains(&v) {
            v = if v == hi { lo } else { v + 1 };
        }
        used.insert(v);
        out.insert(n.clone(), v);
    }
    out
}

/// Where a frame came in: what every flow of a network matches first.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ctx {
    /// A local VM's port (the index into the network's VMs).
    Vm {
        vm: usize,
        port: u32,
    },
    Tunnel {
        port: u32,
        vni: u32,
    },
    Uplink {
        port: u32,
        vid: u16,
    },
}

impl Ctx {
    fn matches(&self) -> String {
        match self {
            Ctx::Vm { port, .. } => format!("in_port={port}"),
            Ctx::Tunnel { port, vni } => format!("in_port={port},tunnel_id={vni}"),
            Ctx::Uplink { port, vid } => format!("in_port={port},dl_vlan={vid}"),
        }
    }
}

/// The flows being made, with their cookie and where they were written.
struct Out<'a> {
    flows: Vec<conf::Flow>,
    errors: Vec<String>,
    at: &'a conf::vnet::At,
    cookie: u64,
}

impl Out<'_> {
    fn flow(&mut self, table: u8, priority: u16, m: &str, actions: &str) {
        let mut text = format!(
            "cookie={:#x},table={table},priority={priority}",
            self.cookie
        );
        if !m.is_empty() {
            let _ = write!(text, ",{m}");
        }
        let _ = write!(text, ",actions={actions}");
        match make_flow(text, &self.at.file, self.at.line) {
            Ok(f) => self.flows.push(f),
            Err(e) => self.errors.push(e),
        }
    }
}

/// A flow of the compiler as conf keeps a flow line (the text and its 1.3 FLOW_MOD).
/// The compiler's flows set a cookie, which a flow line may not: they are built here.
fn make_flow(text: String, file: &str, line: u32) -> Result<conf::Flow, String> {
    use ofproto::{text as t, v13};
    let fm = t::parse_flow(&text, v13::FlowModCommand::Add).map_err(|e| {
        format!("{file}:{line}: BUG: the compiled flow \"{text}\" does not parse: {e}")
    })?;
    let mut wire = bytes::BytesMut::new();
    v13::Message::FlowMod(fm).encode(0, &mut wire);
    Ok(conf::Flow {
        text,
        line,
        file: file.to_string(),
        of13: Ok(Arc::from(&wire[..])),
    })
}

/// The EUI-64 link-local address of `mac`.
pub fn link_local(mac: &[u8; 6]) -> Ipv6Addr {
    let m = mac;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 2, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

/// The match of a rule for one family: `new` connections, `peer` the VM's MAC as dl_dst
/// (`in` rules) or nothing (`out` rules: the context is the VM's port).
fn rule_match(r: &Rule, fam: Family) -> String {
    let v6 = fam == Family::Inet6;
    let mut m = match (r.proto, v6) {
        (Some(6), false) => "tcp".to_string(),
        (Some(6), true) => "tcp6".to_string(),
        (Some(17), false) => "udp".to_string(),
        (Some(17), true) => "udp6".to_string(),
        (Some(132), false) => "sctp".to_string(),
        (Some(132), true) => "sctp6".to_string(),
        (Some(1), false) => "icmp".to_string(),
        (Some(58), true) => "icmp6".to_string(),
        (Some(p), false) => format!("ip,nw_proto={p}"),
        (Some(p), true) => format!("ipv6,nw_proto={p}"),
        (None, false) => "ip".to_string(),
        (None, true) => "ipv6".to_string(),
    };
    let (src, dst) = if v6 {
        ("ipv6_src", "ipv6_dst")
    } else {
        ("nw_src", "nw_dst")
    };
    if let Some(n) = r.from {
        let _ = write!(m, ",{src}={}/{}", n.addr, n.len);
    }
    if let Some(n) = r.to {
        let _ = write!(m, ",{dst}={}/{}", n.addr, n.len);
    }
    if let Some(p) = r.from_port {
        let _ = write!(m, ",tp_src={p}");
    }
    if let Some(p) = r.to_port {
        let _ = write!(m, ",tp_dst={p}");
    }
    m
}

/// This hypervisor's view of one network it hosts.
struct Local<'a> {
    net: &'a Network,
    zone: u64,
    /// Local VMs: index into `net.vms`, and port number.
    vms: Vec<(usize, u32)>,
    /// Other hypervisors hosting the network: name and underlay address.
    remotes: Vec<(String, IpAddr)>,
    ctxs: Vec<Ctx>,
}

/// Compiles `hypervisor`'s part of `vnet`: errors as `file:line: message`.
pub fn compile(vnet: &Vnet, hypervisor: &str) -> Result<Compiled, Vec<String>> {
    let Some(me) = vnet.hypervisors.iter().find(|h| h.name == hypervisor) else {
        return Err(vec![format!(
            "no hypervisor \"{hypervisor}\" in the configuration"
        )]);
    };
    let addresses: BTreeMap<&str, IpAddr> = vnet
        .hypervisors
        .iter()
        .map(|h| (h.name.as_str(), h.address))
        .collect();
    let hosted: Vec<&Network> = vnet
        .networks
        .iter()
        .filter(|n| n.vms.iter().any(|v| v.hypervisor == hypervisor))
        .collect();
    if hosted.is_empty() {
        return Ok(Compiled { switch: None });
    }
    let mut errors = Vec::new();

    // Ports: the tunnels, then the uplinks and the VMs' ports by their names' hashes.
    let mut kinds = BTreeSet::new();
    let mut names = BTreeSet::new();
    for n in &hosted {
        match &n.segment {
            Segment::Overlay { kind, .. } => {
                kinds.insert(matches!(kind, TunnelKind::Geneve));
            }
            Segment::Vlan { uplink, .. } => {
                names.insert(uplink.clone());
            }
        }
        for v in n.vms.iter().filter(|v| v.hypervisor == hypervisor) {
            names.insert(v.port.clone());
        }
    }
    let numbers = assign(&names, 16, 0x00ff_ffff, &BTreeSet::new());
    let mut sw = conf::Switch::new(SWITCH);
    sw.bridge = Some(BRIDGE.to_string());
    sw.table_miss = conf::TableMiss::Drop;
    for (geneve, (name, no)) in [(false, VXLAN_PORT), (true, GENEVE_PORT)] {
        if kinds.contains(&geneve) {
            let kind = if geneve {
                TunnelKind::Geneve
            } else {
                TunnelKind::Vxlan
            };
            sw.ports.push(conf::Port {
                name: name.to_string(),
                number: Some(no),
                tunnel: Some(conf::Tunnel {
                    kind,
                    dst_port: kind.default_port(),
                }),
            });
        }
    }
    for (name, no) in &numbers {
        sw.ports.push(conf::Port {
            name: name.clone(),
            number: Some(*no as u32),
            tunnel: None,
        });
    }

    // Zones per network, meters per rated VM, by their names' hashes.
    let zones = assign(
        &hosted.iter().map(|n| n.name.clone()).collect(),
        1,
        0xffff,
        &BTreeSet::new(),
    );
    let rated: BTreeSet<String> = hosted
        .iter()
        .flat_map(|n| {
            n.vms
                .iter()
                .filter(|v| v.hypervisor == hypervisor && v.rate_kbps.is_some())
                .map(|v| format!("{}/{}", n.name, v.name))
        })
        .collect();
    let meter_ids = assign(&rated, 1, 0xffff, &BTreeSet::new());

    let mut locals = Vec::new();
    for n in &hosted {
        let mut vms = Vec::new();
        let mut remotes = BTreeMap::new();
        for (i, v) in n.vms.iter().enumerate() {
            if v.hypervisor == hypervisor {
                vms.push((i, numbers[&v.port] as u32));
            } else if let Some(a) = addresses.get(v.hypervisor.as_str()) {
                remotes.insert(v.hypervisor.clone(), *a);
            }
        }
        let mut ctxs: Vec<Ctx> = vms.iter().map(|&(vm, port)| Ctx::Vm { vm, port }).collect();
        match &n.segment {
            Segment::Overlay { kind, vni } => {
                if !remotes.is_empty() {
                    let port = match kind {
                        TunnelKind::Vxlan => VXLAN_PORT.1,
                        TunnelKind::Geneve => GENEVE_PORT.1,
                    };
                    ctxs.push(Ctx::Tunnel { port, vni: *vni });
                }
                let v6 = std::iter::once(me.address)
                    .chain(remotes.values().copied())
                    .any(|a| a.is_ipv6());
                if v6 && !remotes.is_empty() {
                    errors.push(format!(
                        "{}:{}: network \"{}\": an IPv6 underlay address: the translation to TC sets IPv4 tunnel addresses only",
                        n.at.file, n.at.line, n.name
                    ));
                }
            }
            Segment::Vlan { vid, uplink } => ctxs.push(Ctx::Uplink {
                port: numbers[uplink] as u32,
                vid: *vid,
            }),
        }
        locals.push(Local {
            net: n,
            zone: zones[&n.name],
            vms,
            remotes: remotes.into_iter().collect(),
            ctxs,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut flows = Vec::new();
    for l in &locals {
        let net_at = &l.net.at;
        let mut o = Out {
            flows: Vec::new(),
            errors: Vec::new(),
            at: net_at,
            cookie: network_cookie(&l.net.name),
        };
        for &(i, port) in &l.vms {
            let v = &l.net.vms[i];
            let meter = meter_ids
                .get(&format!("{}/{}", l.net.name, v.name))
                .map(|&id| {
                    sw.meters.push(conf::Meter {
                        id: id as u32,
                        rate_kbps: v.rate_kbps.unwrap_or(0),
                        burst_kb: None,
                    });
                    id
                });
            o.at = &v.at;
            o.cookie = vm_cookie(&l.net.name, &v.name);
            classify_vm(&mut o, l, v, port, meter);
        }
        o.at = net_at;
        o.cookie = network_cookie(&l.net.name);
        for c in &l.ctxs {
            if !matches!(c, Ctx::Vm { .. }) {
                classify_remote(&mut o, l, c);
            }
        }
        for c in &l.ctxs {
            security_groups(&mut o, l, c);
            forwarding(&mut o, l, c, me.address);
        }
        errors.extend(o.errors);
        flows.extend(o.flows);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    sw.meters.sort_by_key(|m| m.id);
    sw.flows = flows;
    Ok(Compiled { switch: Some(sw) })
}

/// Table 0 for a local VM's port.
fn classify_vm<'a>(o: &mut Out<'a>, l: &Local<'a>, v: &Vm, port: u32, meter: Option<u64>) {
    let mac = Mac(&v.mac).to_string();
    let z = l.zone;
    let m = meter.map(|id| format!("meter:{id},")).unwrap_or_default();
    let to_ct = format!("{m}ct(zone={z},table={T_EGRESS})");
    let to_l2 = format!("{m}goto_table:{T_L2}");
    let me = format!("in_port={port},dl_src={mac}");
    // What the VM may not be unless allowed: a DHCP server, an IPv6 router.
    if !v.dhcp_server {
        o.flow(
            T_CLASSIFY,
            300,
            &format!("in_port={port},udp,tp_src=67"),
            "drop",
        );
        o.flow(
            T_CLASSIFY,
            300,
            &format!("in_port={port},udp6,tp_src=547"),
            "drop",
        );
    }
    if !v.router_advertisements {
        o.flow(
            T_CLASSIFY,
            300,
            &format!("in_port={port},icmp6,icmp_type=134"),
            "drop",
        );
    }
    // IPv4 from its addresses, ARP about itself.
    for a in v.addresses.iter().filter(|a| a.is_ipv4()) {
        o.flow(T_CLASSIFY, 200, &format!("{me},ip,nw_src={a}"), &to_ct);
        o.flow(
            T_CLASSIFY,
            200,
            &format!("{me},arp,arp_spa={a},arp_sha={mac}"),
            &to_l2,
        );
    }
    o.flow(
        T_CLASSIFY,
        200,
        &format!("{me},arp,arp_spa=0.0.0.0,arp_sha={mac}"),
        &to_l2,
    );
    o.flow(
        T_CLASSIFY,
        210,
        &format!("{me},udp,nw_src=0.0.0.0,nw_dst=255.255.255.255,tp_src=68,tp_dst=67"),
        &to_l2,
    );
    // IPv6 from its addresses and its link-local address; neighbour discovery (which
    // conntrack does not track) straight to forwarding; DAD from ::.
    let v6: Vec<IpAddr> = v
        .addresses
        .iter()
        .filter(|a| a.is_ipv6())
        .copied()
        .chain(std::iter::once(IpAddr::V6(link_local(&v.mac))))
        .collect();
    for a in &v6 {
        o.flow(T_CLASSIFY, 200, &format!("{me},ipv6,ipv6_src={a}"), &to_ct);
        for t in [133, 135, 136, 143] {
            o.flow(
                T_CLASSIFY,
                210,
                &format!("{me},icmp6,ipv6_src={a},icmp_type={t}"),
                &to_l2,
            );
        }
    }
    for t in [135, 143] {
        o.flow(
            T_CLASSIFY,
            210,
            &format!("{me},icmp6,ipv6_src=::,icmp_type={t}"),
            &to_l2,
        );
    }
    if v.router_advertisements {
        o.flow(
            T_CLASSIFY,
            210,
            &format!("{me},icmp6,icmp_type=134"),
            &to_l2,
        );
    }
    // The forgeries, each counted by a flow of its own.
    o.flow(T_CLASSIFY, 100, &format!("in_port={port},arp"), "drop");
    o.flow(T_CLASSIFY, 100, &format!("{me},ip"), "drop");
    o.flow(T_CLASSIFY, 100, &format!("{me},ipv6"), "drop");
    o.flow(T_CLASSIFY, 90, &me, "drop");
    o.flow(T_CLASSIFY, 80, &format!("in_port={port}"), "drop");
}

/// Table 0 for the tunnel (the network's VNI) and the uplink (its VLAN id).
fn classify_remote<'a>(o: &mut Out<'a>, l: &Local<'a>, c: &Ctx) {
    let cm = c.matches();
    let z = l.zone;
    for t in [133, 134, 135, 136, 143] {
        o.flow(
            T_CLASSIFY,
            210,
            &format!("{cm},icmp6,icmp_type={t}"),
            &format!("goto_table:{T_L2}"),
        );
    }
    for p in ["ip", "ipv6"] {
        o.flow(
            T_CLASSIFY,
            200,
            &format!("{cm},{p}"),
            &format!("ct(zone={z},table={T_EGRESS})"),
        );
    }
    o.flow(T_CLASSIFY, 100, &cm, &format!("goto_table:{T_L2}"));
}

/// The rules of a VM in a direction: its network's, then its own.
fn rules<'a>(l: &Local<'a>, v: &'a Vm, d: Direction) -> impl Iterator<Item = &'a Rule> + 'a {
    let net: &'a Network = l.net;
    net.rules
        .iter()
        .chain(v.rules.iter())
        .filter(move |r| r.direction == d)
}

/// Tables 1 and 2 for one context.
fn security_groups<'a>(o: &mut Out<'a>, l: &Local<'a>, c: &Ctx) {
    let cm = c.matches();
    let z = l.zone;
    let (at, cookie) = (o.at, o.cookie);
    o.flow(T_EGRESS, 300, &format!("{cm},ct_state=+inv+trk"), "drop");
    for t in [T_EGRESS, T_INGRESS] {
        for s in ["+est+trk", "+rel+trk"] {
            o.flow(
                t,
                200,
                &format!("{cm},ct_state={s}"),
                &format!("goto_table:{}", t + 1),
            );
        }
    }
    // Egress: a local VM's new connections out.
    let goto_in = format!("goto_table:{T_INGRESS}");
    if let Ctx::Vm { vm, .. } = c {
        let v = &l.net.vms[*vm];
        let outs: Vec<&Rule> = rules(l, v, Direction::Out).collect();
        o.cookie = vm_cookie(&l.net.name, &v.name);
        if outs.is_empty() {
            o.flow(T_EGRESS, 100, &format!("{cm},ct_state=+new+trk"), &goto_in);
        } else {
            for r in outs {
                o.at = &r.at;
                for f in r.families() {
                    let m = format!("{cm},ct_state=+new+trk,{}", rule_match(r, f));
                    o.flow(T_EGRESS, 150, &m, &goto_in);
                }
            }
            o.at = &v.at;
            o.flow(T_EGRESS, 100, &format!("{cm},ct_state=+new+trk"), "drop");
        }
        (o.at, o.cookie) = (at, cookie);
    } else {
        o.flow(T_EGRESS, 100, &format!("{cm},ct_state=+new+trk"), &goto_in);
    }
    // Ingress: new connections to each local VM, by its `pass in` rules.
    let commit = format!("ct(commit,zone={z}),goto_table:{T_L2}");
    for &(i, _) in &l.vms {
        let d = &l.net.vms[i];
        let dst = format!("{cm},ct_state=+new+trk,dl_dst={}", Mac(&d.mac));
        o.cookie = vm_cookie(&l.net.name, &d.name);
        for r in rules(l, d, Direction::In) {
            o.at = &r.at;
            for f in r.families() {
                o.flow(
                    T_INGRESS,
                    150,
                    &format!("{dst},{}", rule_match(r, f)),
                    &commit,
                );
            }
        }
        o.at = &d.at;
        o.flow(T_INGRESS, 100, &dst, "drop");
        (o.at, o.cookie) = (at, cookie);
    }
    o.flow(T_INGRESS, 50, &format!("{cm},ct_state=+new+trk"), &commit);
}

/// The actions that send a frame of context `c` to a local VM port, or to a remote
/// hypervisor, with their TC cost.
fn to_remote(l: &Local, c: &Ctx, addr: IpAddr, me: IpAddr) -> Option<(String, usize)> {
    match (&l.net.segment, c) {
        (Segment::Overlay { .. }, Ctx::Tunnel { .. }) => None,
        (Segment::Overlay { kind, vni }, _) => {
            let port = match kind {
                TunnelKind::Vxlan => VXLAN_PORT.1,
                TunnelKind::Geneve => GENEVE_PORT.1,
            };
            let (IpAddr::V4(dst), IpAddr::V4(src)) = (addr, me) else {
                return None;
            };
            Some((tunnel_out(*vni, dst, src, port), 2))
        }
        (Segment::Vlan { .. }, Ctx::Uplink { .. }) => None,
        (Segment::Vlan { vid, .. }, Ctx::Vm { .. }) => Some((uplink_out(l, *vid), 2)),
        (Segment::Vlan { .. }, Ctx::Tunnel { .. }) => None,
    }
}

fn tunnel_out(vni: u32, dst: Ipv4Addr, src: Ipv4Addr, port: u32) -> String {
    format!("set_field:{vni}->tunnel_id,set_field:{dst}->tun_dst,set_field:{src}->tun_src,output:{port}")
}

fn uplink_out(l: &Local, vid: u16) -> String {
    let port = l
        .ctxs
        .iter()
        .find_map(|c| match c {
            Ctx::Uplink { port, .. } => Some(*port),
            _ => None,
        })
        .unwrap_or(0);
    format!(
        "push_vlan:0x8100,set_field:{}->vlan_vid,output:{port}",
        0x1000 | vid
    )
}

/// Table 3 (and the flood's continuation in 4 to 7) for one context.
fn forwarding<'a>(o: &mut Out<'a>, l: &Local<'a>, c: &Ctx, me: IpAddr) {
    let cm = c.matches();
    let (at, cookie) = (o.at, o.cookie);
    let pop = if matches!(c, Ctx::Uplink { .. }) {
        "pop_vlan,"
    } else {
        ""
    };
    let src_vm = match c {
        Ctx::Vm { vm, .. } => Some(*vm),
        _ => None,
    };
    // Known unicast.
    for (i, v) in l.net.vms.iter().enumerate() {
        if src_vm == Some(i) {
            continue;
        }
        o.at = &v.at;
        o.cookie = vm_cookie(&l.net.name, &v.name);
        let m = format!("{cm},dl_dst={}", Mac(&v.mac));
        if let Some(&(_, port)) = l.vms.iter().find(|(j, _)| *j == i) {
            o.flow(T_L2, 100, &m, &format!("{pop}output:{port}"));
        } else if let Some((_, addr)) = l.remotes.iter().find(|(h, _)| *h == v.hypervisor) {
            if let Some((a, _)) = to_remote(l, c, *addr, me) {
                o.flow(T_L2, 100, &m, &a);
            }
        }
    }
    (o.at, o.cookie) = (at, cookie);
    // The rest: flooded.
    let mut parts: Vec<(String, usize)> = Vec::new();
    if !pop.is_empty() {
        parts.push(("pop_vlan".into(), 1));
    }
    for &(i, port) in &l.vms {
        if src_vm != Some(i) {
            parts.push((format!("output:{port}"), 1));
        }
    }
    match &l.net.segment {
        Segment::Overlay { .. } => {
            for (_, addr) in &l.remotes {
                if let Some(p) = to_remote(l, c, *addr, me) {
                    parts.push(p);
                }
            }
        }
        Segment::Vlan { .. } => {
            if let Some((a, _)) = l
                .remotes
                .first()
                .and_then(|(_, addr)| to_remote(l, c, *addr, me))
            {
                parts.push((a, 2));
            } else if src_vm.is_some() {
                // No other hypervisor hosts it, but the VLAN reaches beyond: out anyway.
                if let Segment::Vlan { vid, .. } = &l.net.segment {
                    parts.push((uplink_out(l, *vid), 2));
                }
            }
        }
    }
    if parts.iter().all(|(p, _)| p == "pop_vlan") {
        o.flow(T_L2, 10, &cm, "drop");
        return;
    }
    let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
    let mut cost = 0;
    for (p, n) in parts {
        if cost + n > ACTION_BUDGET && !chunks.last().is_some_and(|c| c.is_empty()) {
            chunks.push(Vec::new());
            cost = 0;
        }
        cost += n;
        if let Some(last) = chunks.last_mut() {
            last.push(p);
        }
    }
    let n = chunks.len();
    if usize::from(T_LAST - T_L2) + 1 < n || (n > 1 && !pop.is_empty()) {
        o.errors.push(format!(
            "{}:{}: network \"{}\": flooding from one port needs {n} TC filters' actions (at most {ACTION_BUDGET} each); this hypervisor can chain {}{}",
            l.net.at.file,
            l.net.at.line,
            l.net.name,
            T_LAST - T_L2 + 1,
            if pop.is_empty() { "" } else { " (1 from a VLAN uplink)" }
        ));
        return;
    }
    for (k, chunk) in chunks.iter().enumerate() {
        let table = T_L2 + k as u8;
        let mut a = chunk.join(",");
        if k + 1 < n {
            let _ = write!(a, ",goto_table:{}", table + 1);
        }
        let prio = if k == 0 { 10 } else { 100 };
        o.flow(table, prio, &cm, &a);
    }
}
