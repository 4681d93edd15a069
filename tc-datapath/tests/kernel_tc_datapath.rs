//! Kernel tier: flows translated by tc-datapath and installed through `Tc` on the bridge
//! ports of a Linux bridge, proven with real packets. Runs in the VM (`regress/run`, or
//! `regress/vm "cargo test -p tc-datapath --test kernel_tc_datapath -- --include-ignored
//! --test-threads=1"`); the host kernel lacks cls_flower, so every test is ignored there.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ofproto::v13::action::Action;
use ofproto::v13::{
    Instruction, MacAddr, Masked, Match, MeterBand, MeterMod, MeterModCommand, Oxm,
};
use regress::net::LanSwitch;
use regress::Lan;
use tc_datapath::translate::port;
use tc_datapath::{
    prio, translate, Backend, DecodedFlow, Filter, FilterId, Installed, MeterTable, MirredKind,
    PortMap, Table, Tc, TcAction, Verdict,
};

const IGNORE: &str = "kernel tier: needs cls_flower, runs in the VM";

/// What the kernel lacks of `wanted` and holds beside it: a wanted filter is there when an
/// installed one has its place (device, chain, prio) and cookie (equal cookies, equal
/// content); every other installed filter, and a second copy, is extra.
fn difference<'a>(
    wanted: &'a [Filter],
    installed: &[Installed],
) -> (Vec<&'a Filter>, Vec<FilterId>) {
    use std::collections::HashSet;
    type Place = (u32, u32, u16, [u8; 16]);
    let have: HashSet<Place> = installed
        .iter()
        .filter_map(|i| i.cookie.map(|c| (i.id.ifindex, i.id.chain, i.id.prio, c)))
        .collect();
    let want: HashSet<Place> = wanted
        .iter()
        .map(|f| (f.ifindex, f.chain, f.prio, f.cookie))
        .collect();
    let missing = wanted
        .iter()
        .filter(|f| !have.contains(&(f.ifindex, f.chain, f.prio, f.cookie)))
        .collect();
    let mut seen = HashSet::new();
    let extra = installed
        .iter()
        .filter(|i| match i.cookie {
            Some(c) => {
                let p = (i.id.ifindex, i.id.chain, i.id.prio, c);
                !(want.contains(&p) && seen.insert(p))
            }
            None => true,
        })
        .map(|i| i.id)
        .collect();
    (missing, extra)
}

/// One flow: table, priority, match fields, instructions.
struct Flow(u8, u16, Vec<Oxm>, Vec<Instruction>);

fn apply(a: Vec<Action>) -> Vec<Instruction> {
    vec![Instruction::ApplyActions(a.into_iter().collect())]
}
fn out(p: u32) -> Action {
    Action::Output {
        port: p,
        max_len: 0,
    }
}
fn normal_flow(table: u8) -> Flow {
    Flow(table, 0, vec![], apply(vec![out(port::NORMAL)]))
}
const IP: Oxm = Oxm::EthType(0x0800);
const ICMP: Oxm = Oxm::IpProto(1);

/// A Linux bridge with `n` hosts in its own namespace; host i is OpenFlow port i+1.
struct Switch {
    lan: Lan,
    ports: PortMap,
    meters: MeterTable,
}

impl Switch {
    fn new(n: usize) -> Switch {
        let lan = Lan::new(n, LanSwitch::BridgeInNetns).expect("lan");
        let mut ports = PortMap::new();
        for (i, h) in lan.hosts.iter().enumerate() {
            let ifx = lan
                .switch_exec(&["cat", &format!("/sys/class/net/{}/ifindex", h.port)])
                .expect("ifindex");
            ports.insert(
                i as u32 + 1,
                ifx.trim().parse().expect("ifindex number"),
                &h.port,
            );
        }
        let sw = Switch {
            lan,
            ports,
            meters: MeterTable::new(),
        };
        let ifxs: Vec<u32> = sw.ports.iter().map(|p| p.1).collect();
        for r in sw.tc(move |tc| {
            ifxs.iter()
                .map(|i| tc.ensure_clsact(*i))
                .collect::<Vec<_>>()
        }) {
            r.expect("clsact");
        }
        sw
    }

    /// Run `f` with a `Tc` opened inside the switch's namespace.
    fn tc<R: Send + 'static>(&self, f: impl FnOnce(&mut Tc) -> R + Send + 'static) -> R {
        let ns = self.lan.switch_ns.as_ref().expect("switch namespace");
        ns.enter(move || {
            let mut tc = Tc::new().expect("netlink socket");
            f(&mut tc)
        })
        .expect("enter the switch namespace")
    }

    fn translate(&self, flows: &[Flow]) -> Vec<Filter> {
        let mut out = Vec::new();
        let mut tables: Vec<u8> = flows.iter().map(|f| f.0).collect();
        tables.sort();
        tables.dedup();
        for Flow(table, priority, fields, inst) in flows {
            let m = Match::from_fields(fields.clone());
            let spec = DecodedFlow {
                table_id: *table,
                priority: *priority,
                cookie: 0,
                r#match: &m,
                instructions: inst,
            };
            out.extend(
                translate(&spec, &self.ports, &self.meters).unwrap_or_else(|r| panic!("{r}")),
            );
        }
        for (_, ifx, _) in self.ports.iter() {
            for t in &tables {
                out.extend(prio::table_miss_filters(ifx, *t));
            }
        }
        out
    }

    /// Install; returns the filters with the handles they got.
    fn install_filters(&self, mut filters: Vec<Filter>) -> Vec<Filter> {
        let (res, filters) = self.tc(move |tc| {
            let res = tc.install(&mut filters);
            (res, filters)
        });
        for r in res {
            r.expect("install");
        }
        filters
    }

    fn install(&self, flows: &[Flow]) -> Vec<Filter> {
        self.install_filters(self.translate(flows))
    }

    fn dump(&self, ifindex: u32) -> Vec<tc_datapath::Installed> {
        self.tc(move |tc| tc.dump(ifindex)).expect("dump")
    }

    fn clear(&self) {
        let ifxs: Vec<u32> = self.ports.iter().map(|p| p.1).collect();
        for i in ifxs {
            let ids: Vec<_> = self.dump(i).into_iter().map(|f| f.id).collect();
            for r in self.tc(move |tc| tc.remove(&ids)) {
                r.expect("remove");
            }
        }
    }

    fn host(&self, i: usize) -> &regress::LanHost {
        &self.lan.hosts[i]
    }
}

fn tcp_ok(sw: &Switch, from: usize, to: usize, port: u16) -> bool {
    let to_addr = SocketAddr::from((sw.host(to).ip, port));
    sw.host(from)
        .ns
        .tcp_reaches(to_addr, Duration::from_secs(3))
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn probe_reports_everything_present_in_the_vm() {
    let sw = Switch::new(1);
    let s = sw.tc(|tc| tc.probe());
    assert!(s.is_complete(), "missing in the VM: {:?}", s.missing);
    for m in [
        "sch_clsact",
        "cls_flower",
        "act_gact",
        "act_mirred",
        "act_vlan",
        "act_pedit",
        "act_csum",
        "act_police",
        "act_tunnel_key",
        "act_skbedit",
        "act_sample",
    ] {
        assert!(s.has(m), "{m} not reported present: {s:?}");
    }
    let _ = IGNORE;
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn drop_flow_stops_ping_while_tcp_crosses() {
    let sw = Switch::new(2);
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8080)))
        .expect("listen");
    sw.install(&[
        normal_flow(0),
        Flow(0, 100, vec![Oxm::InPort(1), IP, ICMP], vec![]),
    ]);
    assert!(tcp_ok(&sw, 0, 1, 8080), "TCP blocked, only ICMP should be");
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "ping crossed a drop flow"
    );
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "ping crossed a drop flow"
    );
    // The other direction's echo reaches host 0, whose reply enters at port 1: dropped.
    assert!(!sw.host(1).ns.ping(sw.host(0).ip, 1));
    sw.clear();
    assert!(
        sw.host(0).ns.ping_eventually(sw.host(1).ip, 3),
        "no ping after removal"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn table_without_flows_drops_everything() {
    let sw = Switch::new(2);
    assert!(sw.host(0).ns.ping_eventually(sw.host(1).ip, 3));
    // Only the table-miss filters: an OpenFlow table without a table-miss flow drops.
    sw.install_filters(sw.translate(&[Flow(0, 5, vec![Oxm::InPort(2), ICMP, IP], vec![])]));
    assert!(!sw.host(0).ns.ping(sw.host(1).ip, 1));
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8081)))
        .expect("listen");
    assert!(
        !tcp_ok(&sw, 0, 1, 8081),
        "TCP crossed a table that has no flow for it"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn output_port_redirects_past_the_bridge() {
    let sw = Switch::new(3);
    // Everything from host 0 goes to host 2 only; the rest is normal bridging.
    sw.install(&[
        normal_flow(0),
        Flow(0, 10, vec![Oxm::InPort(1)], apply(vec![out(3)])),
    ]);
    assert!(
        sw.host(0).ns.ping_eventually(sw.host(2).ip, 3),
        "redirect to port 3 failed"
    );
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "host 0 reached port 2 past the redirect"
    );
    let filters = sw.dump(sw.ports.ifindex(1).unwrap());
    let f = filters
        .iter()
        .find(|f| f.id.prio == prio::placement(0, 10).1)
        .expect("filter");
    assert_eq!(
        f.actions,
        vec![TcAction::Mirred {
            kind: MirredKind::EgressRedirect,
            ifindex: sw.ports.ifindex(3).unwrap()
        }]
    );
    assert!(f.packets >= 1, "the redirect counted nothing");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn higher_priority_wins_in_either_insertion_order() {
    let sw = Switch::new(2);
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8082)))
        .expect("listen");
    let icmp = vec![Oxm::InPort(1), IP, ICMP];
    let ip = vec![Oxm::InPort(1), IP];
    let allow = apply(vec![out(port::NORMAL)]);
    // (high, low): ICMP at 200, all IP at 100; one of them drops.
    for icmp_drops in [true, false] {
        let (hi, lo) = if icmp_drops {
            (
                Flow(0, 200, icmp.clone(), vec![]),
                Flow(0, 100, ip.clone(), allow.clone()),
            )
        } else {
            (
                Flow(0, 200, icmp.clone(), allow.clone()),
                Flow(0, 100, ip.clone(), vec![]),
            )
        };
        for hi_first in [true, false] {
            let flows: Vec<Flow> = if hi_first {
                vec![normal_flow(0), hi.clone_flow(), lo.clone_flow()]
            } else {
                vec![normal_flow(0), lo.clone_flow(), hi.clone_flow()]
            };
            sw.install(&flows);
            let ping = sw.host(0).ns.ping_eventually(sw.host(1).ip, 2);
            let tcp = tcp_ok(&sw, 0, 1, 8082);
            assert_eq!(
                (ping, tcp),
                (!icmp_drops, icmp_drops),
                "icmp_drops={icmp_drops} hi_first={hi_first}: ping {ping} tcp {tcp}"
            );
            sw.clear();
        }
    }
}

impl Flow {
    fn clone_flow(&self) -> Flow {
        Flow(self.0, self.1, self.2.clone(), self.3.clone())
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn goto_table_continues_in_the_next_chain() {
    let sw = Switch::new(2);
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8083)))
        .expect("listen");
    sw.install(&[
        normal_flow(0),
        Flow(
            0,
            10,
            vec![Oxm::InPort(1), IP],
            vec![Instruction::GotoTable(1)],
        ),
        Flow(1, 10, vec![IP, ICMP], vec![]),
        normal_flow(1),
    ]);
    assert!(tcp_ok(&sw, 0, 1, 8083), "TCP did not get through table 1");
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "ICMP crossed table 1's drop"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn dump_returns_cookies_and_growing_counters_that_agree_with_tc() {
    let sw = Switch::new(2);
    let wanted = sw.install(&[
        normal_flow(0),
        Flow(0, 100, vec![Oxm::InPort(1), IP, ICMP], vec![]),
    ]);
    let ifx = sw.ports.ifindex(1).unwrap();
    let drop = wanted
        .iter()
        .find(|f| f.ifindex == ifx && f.prio == prio::placement(0, 100).1)
        .expect("the drop filter")
        .clone();
    let count = |sw: &Switch| {
        sw.dump(ifx)
            .into_iter()
            .find(|i| i.cookie == Some(drop.cookie))
            .expect("the drop filter in the dump, found by cookie")
    };
    let before = count(&sw);
    assert_eq!(before.id, drop.id());
    assert_eq!(before.key, drop.key);
    assert_eq!(before.actions, vec![TcAction::Gact(Verdict::Shot)]);
    for _ in 0..3 {
        assert!(!sw.host(0).ns.ping(sw.host(1).ip, 1));
    }
    let after = count(&sw);
    assert!(
        after.packets >= before.packets + 3,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.bytes >= before.bytes + 3 * 84,
        "{before:?} -> {after:?}"
    );
    assert!(after.last_used.is_some_and(|d| d < Duration::from_secs(30)));

    // The same numbers as `tc -s -j filter show`.
    let json = sw
        .lan
        .switch_exec(&[
            "tc",
            "-s",
            "-j",
            "filter",
            "show",
            "dev",
            &sw.host(0).port,
            "ingress",
            "chain",
            "0",
        ])
        .expect("tc -j");
    let v: serde_json::Value = serde_json::from_str(&json).expect("tc json");
    let entry = v
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["options"]["handle"].as_u64() == Some(drop.handle as u64))
        .unwrap_or_else(|| panic!("handle {:#x} not in {json}", drop.handle));
    let act = &entry["options"]["actions"][0];
    let stats = &act["stats"];
    assert_eq!(stats["packets"].as_u64(), Some(after.packets), "{act}");
    assert_eq!(stats["bytes"].as_u64(), Some(after.bytes), "{act}");
    let hex: String = drop.cookie.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(act["cookie"].as_str(), Some(hex.as_str()), "{act}");

    // Reconcile after a "restart": the dump holds exactly what is wanted.
    let mut installed = Vec::new();
    for (_, i, _) in sw.ports.iter() {
        installed.extend(sw.dump(i));
    }
    let (add, remove) = difference(&wanted, &installed);
    assert!(
        add.is_empty() && remove.is_empty(),
        "add {add:?} remove {remove:?}"
    );
    // A changed flow set: only the difference is applied.
    let wanted2 = sw.translate(&[normal_flow(0)]);
    let (add, remove) = difference(&wanted2, &installed);
    assert!(add.is_empty());
    assert_eq!(remove.len(), 1);
    assert_eq!(remove[0], drop.id());
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn terse_dump_gives_the_places_cookies_and_counters_of_the_full_dump() {
    let sw = Switch::new(3);
    let wanted = sw.install(&[
        normal_flow(0),
        Flow(0, 100, vec![Oxm::InPort(1), IP, ICMP], vec![]),
        Flow(
            0,
            200,
            vec![Oxm::InPort(2), IP],
            vec![Instruction::GotoTable(1)],
        ),
        normal_flow(1),
        Flow(0, 1, vec![Oxm::InPort(3), IP], apply(vec![out(2), out(1)])),
    ]);
    for _ in 0..3 {
        assert!(!sw.host(0).ns.ping(sw.host(1).ip, 1));
    }
    assert!(sw.host(1).ns.ping(sw.host(2).ip, 5));
    for (_, ifx, _) in sw.ports.iter() {
        // Full, terse, full: the counters of the terse one lie between the other two's
        // (stray IPv6 packets may hit a filter meanwhile).
        let (before, terse, after, places) = sw.tc(move |tc| {
            let before = tc.dump(ifx).expect("dump");
            let terse = tc.dump_terse(ifx).expect("terse dump");
            let after = tc.dump(ifx).expect("dump");
            let mut places = Vec::new();
            for i in &before {
                let p = tc
                    .dump_place(ifx, i.id.chain, i.id.prio)
                    .expect("dump of a place");
                places.push((i.id.chain, i.id.prio, p));
            }
            (before, terse, after, places)
        });
        let mine: Vec<&Filter> = wanted.iter().filter(|f| f.ifindex == ifx).collect();
        assert_eq!(terse.len(), mine.len(), "{terse:?}");
        assert_eq!(before.len(), mine.len());
        for f in mine {
            let t = terse
                .iter()
                .find(|t| t.id == f.id())
                .unwrap_or_else(|| panic!("{:?} not in the terse dump {terse:?}", f.id()));
            assert_eq!(t.cookie, Some(f.cookie), "{t:?}");
            // The flag was honoured: no actions' options, so no time of last use.
            assert_eq!(t.last_used, None, "{t:?}");
            let b = before
                .iter()
                .find(|i| i.id == t.id)
                .expect("in the full dump");
            let a = after
                .iter()
                .find(|i| i.id == t.id)
                .expect("in the full dump");
            assert_eq!(b.cookie, t.cookie);
            assert!(
                b.packets <= t.packets && t.packets <= a.packets,
                "{b:?} {t:?} {a:?}"
            );
            assert!(
                b.bytes <= t.bytes && t.bytes <= a.bytes,
                "{b:?} {t:?} {a:?}"
            );
        }
        // The drop filter's count is the pings' (not all zero by accident).
        if ifx == sw.ports.ifindex(1).unwrap() {
            let drop = wanted
                .iter()
                .find(|f| f.ifindex == ifx && f.prio == prio::placement(0, 100).1)
                .expect("the drop filter");
            let t = terse.iter().find(|t| t.id == drop.id()).expect("terse");
            assert!(t.packets >= 3 && t.bytes >= 3 * 84, "{t:?}");
        }
        // A place's dump is the full dump's filters of that chain and prio.
        for (chain, prio, p) in places {
            let mut got: Vec<_> = p.into_iter().map(|i| (i.id, i.key, i.cookie)).collect();
            let mut want: Vec<_> = before
                .iter()
                .filter(|i| i.id.chain == chain && i.id.prio == prio)
                .map(|i| (i.id, i.key.clone(), i.cookie))
                .collect();
            got.sort_by_key(|x| x.0.handle);
            want.sort_by_key(|x| x.0.handle);
            assert_eq!(got, want, "chain {chain} prio {prio}");
        }
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn kernel_refusal_carries_the_kernels_words() {
    let sw = Switch::new(1);
    let ifx = sw.ports.ifindex(1).unwrap();
    let mut bad = sw.translate(&[Flow(0, 7, vec![Oxm::InPort(1)], apply(vec![out(1)]))]);
    bad.truncate(1);
    bad[0].actions = vec![TcAction::Mirred {
        kind: MirredKind::EgressRedirect,
        ifindex: 999_999,
    }];
    let twice = vec![bad[0].clone()];
    let res = sw.tc(move |tc| tc.install(&mut bad));
    let e = res[0]
        .clone()
        .expect_err("a redirect to no device must fail");
    assert_eq!(e.errno, libc_enodev(), "{e}");
    assert!(
        e.message.to_lowercase().contains("device"),
        "not the kernel's words: {e}"
    );
    // The same filter twice: its handle is taken, and with a kernel-chosen handle its
    // key is: EEXIST, and the first one stays.
    let mut ok = twice.clone();
    ok[0].actions = vec![TcAction::Gact(Verdict::Ok)];
    let res = sw.tc(move |tc| {
        let a = tc.install(&mut ok.clone());
        let b = tc.install(&mut ok);
        (a, b)
    });
    assert!(res.0[0].is_ok(), "{:?}", res.0);
    assert_eq!(res.1[0].as_ref().map_err(|e| e.errno), Err(17));
    assert_eq!(sw.dump(ifx).len(), 1);
}

fn libc_enodev() -> i32 {
    19
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn vlan_push_and_pop_join_a_tagged_and_an_untagged_port() {
    let sw = Switch::new(2);
    let (a, b) = (sw.host(0), sw.host(1));
    a.ns.ip(&["addr", "add", "10.78.0.1/24", "dev", "eth0"])
        .expect("addr");
    b.ns.ip(&[
        "link", "add", "link", "eth0", "name", "eth0.10", "type", "vlan", "id", "10",
    ])
    .expect("vlan");
    b.ns.ip(&["addr", "add", "10.78.0.2/24", "dev", "eth0.10"])
        .expect("addr");
    b.ns.ip(&["link", "set", "eth0.10", "up"]).expect("up");
    let dst = Ipv4Addr::new(10, 78, 0, 2);
    assert!(
        !a.ns.ping_eventually(dst, 2),
        "tagged and untagged met without a flow"
    );
    sw.install(&[
        Flow(
            0,
            10,
            vec![Oxm::InPort(1)],
            apply(vec![
                Action::PushVlan(0x8100),
                Action::SetField(Oxm::VlanVid(Masked::exact(0x1000 | 10))),
                out(2),
            ]),
        ),
        Flow(
            0,
            10,
            vec![Oxm::InPort(2), Oxm::VlanVid(Masked::exact(0x1000 | 10))],
            apply(vec![Action::PopVlan, out(1)]),
        ),
    ]);
    assert!(a.ns.ping_eventually(dst, 3), "no ping through push/pop");
}

/// Receive on `eth0` of a namespace with a packet socket until a UDP datagram to `port`
/// arrives; returns its Ethernet source address.
fn eth_src_of_udp(ns: &regress::Netns, port: u16, wait: Duration) -> Option<[u8; 6]> {
    ns.enter(move || {
        // SAFETY: plain socket calls with valid arguments; the fd is closed below.
        unsafe {
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW,
                (libc::ETH_P_ALL as u16).to_be() as i32,
            );
            if fd < 0 {
                return None;
            }
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 200_000,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            );
            let end = Instant::now() + wait;
            let mut buf = [0u8; 2048];
            let mut found = None;
            while Instant::now() < end && found.is_none() {
                let n = libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
                if n < 42 {
                    continue;
                }
                let p = &buf[..n as usize];
                // IPv4 (no tag), UDP, destination port.
                if p[12..14] == [0x08, 0x00] && p[23] == 17 {
                    let ihl = ((p[14] & 0x0f) as usize) * 4;
                    let dport = u16::from_be_bytes([p[14 + ihl + 2], p[14 + ihl + 3]]);
                    if dport == port {
                        found = Some(<[u8; 6]>::try_from(&p[6..12]).ok()?);
                    }
                }
            }
            libc::close(fd);
            found
        }
    })
    .ok()
    .flatten()
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn mac_rewrite_is_seen_by_the_receiver() {
    let sw = Switch::new(2);
    let new_src = MacAddr([0x02, 0, 0, 0, 0, 0x99]);
    sw.install(&[
        normal_flow(0),
        Flow(
            0,
            10,
            vec![Oxm::InPort(1), IP, Oxm::IpProto(17)],
            apply(vec![
                Action::SetField(Oxm::EthSrc(Masked::exact(new_src))),
                out(2),
            ]),
        ),
    ]);
    let (a, b) = (sw.host(0), sw.host(1));
    assert!(
        a.ns.ping_eventually(b.ip, 3),
        "ARP/ICMP through NORMAL failed"
    );
    let to = SocketAddr::from((b.ip, 9999));
    let bns_name = b.ns.name().to_string();
    let _ = bns_name;
    let rx = std::thread::scope(|s| {
        let h = s.spawn(|| eth_src_of_udp(&b.ns, 9999, Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..5 {
            let _ = a.ns.udp_send(to, b"rewrite-me");
            std::thread::sleep(Duration::from_millis(100));
        }
        h.join().ok().flatten()
    });
    assert_eq!(
        rx,
        Some(new_src.0),
        "the receiver did not see the rewritten source MAC"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn meter_limits_the_rate() {
    let mut sw = Switch::new(2);
    // 80 kbit/s = 10,000 bytes/s, burst 80 kbit = 10,000 bytes.
    sw.meters
        .apply(&MeterMod {
            command: MeterModCommand::Add,
            flags: 1 | 4,
            meter_id: 1,
            bands: vec![MeterBand::Drop {
                rate: 80,
                burst_size: 80,
            }],
        })
        .expect("meter");
    sw.install(&[
        normal_flow(0),
        Flow(
            0,
            10,
            vec![Oxm::InPort(1), IP, Oxm::IpProto(17)],
            vec![
                Instruction::Meter(1),
                Instruction::ApplyActions([out(port::NORMAL)].into_iter().collect()),
            ],
        ),
    ]);
    let (a, b) = (sw.host(0), sw.host(1));
    assert!(a.ns.ping_eventually(b.ip, 3));
    let sock = b.ns.udp_bind(SocketAddr::from((b.ip, 7777))).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    const LEN: usize = 1000;
    const SENT: usize = 500;
    let to = SocketAddr::from((b.ip, 7777));
    let start = Instant::now();
    a.ns.udp_send_many(to, SENT, LEN).expect("send udp");
    let elapsed = start.elapsed();
    let mut got = 0usize;
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        got += n;
    }
    let allowed = 10_000.0 * (elapsed.as_secs_f64() + 1.5) + 10_000.0 + 2.0 * 1042.0;
    eprintln!(
        "meter: sent {} bytes in {:.3} s, received {got} bytes ({:.0} B/s over the send time); bound {allowed:.0}",
        SENT * LEN,
        elapsed.as_secs_f64(),
        got as f64 / elapsed.as_secs_f64().max(0.001)
    );
    assert!(got > 0, "the meter dropped everything");
    assert!(got < SENT * LEN, "nothing was dropped");
    assert!(
        (got as f64) <= allowed,
        "received {got} bytes, the meter allows {allowed:.0}"
    );
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn udp_port_rewrite_arrives_with_a_valid_checksum() {
    let sw = Switch::new(2);
    sw.install(&[
        normal_flow(0),
        Flow(
            0,
            10,
            vec![Oxm::InPort(1), IP, Oxm::IpProto(17), Oxm::UdpDst(7000)],
            apply(vec![Action::SetField(Oxm::UdpDst(7001)), out(2)]),
        ),
    ]);
    let (a, b) = (sw.host(0), sw.host(1));
    assert!(a.ns.ping_eventually(b.ip, 3));
    // The receiver's kernel drops a datagram whose checksum is wrong: arriving on the new
    // port proves both the pedit and the csum action.
    let sock = b.ns.udp_bind(SocketAddr::from((b.ip, 7001))).expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    a.ns.udp_send(SocketAddr::from((b.ip, 7000)), b"to-7000")
        .expect("send");
    let mut buf = [0u8; 64];
    let n = sock
        .recv(&mut buf)
        .expect("nothing arrived on the rewritten port");
    assert_eq!(&buf[..n], b"to-7000");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn colliding_handles_both_install_and_reconcile() {
    let sw = Switch::new(2);
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8084)))
        .expect("listen");
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((sw.host(1).ip, 8085)))
        .expect("listen");
    let ifx = sw.ports.ifindex(1).unwrap();
    let mut wanted = sw.translate(&[
        normal_flow(0),
        Flow(
            0,
            100,
            vec![Oxm::InPort(1), IP, Oxm::IpProto(6), Oxm::TcpDst(8084)],
            vec![],
        ),
        Flow(0, 100, vec![Oxm::InPort(1), IP, ICMP], vec![]),
    ]);
    // Two distinct flows in one (device, chain, prio) with the same handle: what a
    // collision of derived handles looks like to the kernel (tests/translate.rs shows
    // a real pair of flows whose derived handles are equal).
    let place = (ifx, 0, prio::placement(0, 100).1);
    let at: Vec<usize> = (0..wanted.len())
        .filter(|&i| (wanted[i].ifindex, wanted[i].chain, wanted[i].prio) == place)
        .collect();
    assert_eq!(at.len(), 2);
    let taken = wanted[at[0]].handle;
    wanted[at[1]].handle = taken;
    let wanted = sw.install_filters(wanted);
    assert_eq!(wanted[at[0]].handle, taken, "the first keeps its handle");
    assert_ne!(wanted[at[1]].handle, taken, "the second got another one");
    assert_ne!(wanted[at[1]].handle, 0);
    // Both work.
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "ICMP crossed its drop"
    );
    assert!(!tcp_ok(&sw, 0, 1, 8084), "TCP 8084 crossed its drop");
    assert!(tcp_ok(&sw, 0, 1, 8085), "TCP 8085 should pass (NORMAL)");
    // The dump shows both under the handles install reported, and nothing to do.
    let dumped = sw.dump(ifx);
    for &i in &at {
        let d = dumped
            .iter()
            .find(|d| d.cookie == Some(wanted[i].cookie))
            .expect("filter in the dump by cookie");
        assert_eq!(d.id, wanted[i].id());
    }
    let mut installed = Vec::new();
    for (_, i, _) in sw.ports.iter() {
        installed.extend(sw.dump(i));
    }
    let (add, remove) = difference(&wanted, &installed);
    assert!(add.is_empty() && remove.is_empty(), "{add:?} {remove:?}");
    // The id install reported removes exactly that filter.
    let gone = wanted[at[1]].id();
    let res = sw.tc(move |tc| tc.remove(&[gone]));
    assert_eq!(res, vec![Ok(())]);
    assert!(
        sw.host(0).ns.ping_eventually(sw.host(1).ip, 3),
        "ICMP still dropped after its filter was removed"
    );
    assert!(!tcp_ok(&sw, 0, 1, 8084), "the other filter went too");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn changed_actions_under_the_same_match_are_replaced_in_place() {
    let sw = Switch::new(2);
    let ifx = sw.ports.ifindex(1).unwrap();
    let icmp = vec![Oxm::InPort(1), IP, ICMP];
    let old = sw.install(&[normal_flow(0), Flow(0, 100, icmp.clone(), vec![])]);
    assert!(
        !sw.host(0).ns.ping(sw.host(1).ip, 1),
        "ICMP crossed its drop"
    );
    // The flow now allows ICMP: same match and priority, other actions.
    let new = sw.translate(&[
        normal_flow(0),
        Flow(0, 100, icmp, apply(vec![out(port::NORMAL)])),
    ]);
    let changed: Vec<Filter> = new
        .iter()
        .filter(|f| f.ifindex == ifx && f.prio == prio::placement(0, 100).1)
        .cloned()
        .collect();
    assert_eq!(changed.len(), 1);
    // Beside the old one it cannot go: flower holds one filter per key in a prio.
    let mut beside = changed.clone();
    let res = sw.tc(move |tc| tc.install(&mut beside));
    assert_eq!(res[0].as_ref().map_err(|e| e.errno), Err(17), "{res:?}");
    // The kernel table's reconciler (a new table, as after a restart, keeping the port's
    // filters as the injection pair's) adopts the rest and replaces it under the installed
    // handle.
    let was = old
        .iter()
        .find(|f| f.ifindex == ifx && f.prio == prio::placement(0, 100).1)
        .expect("old filter")
        .clone();
    let on_port: Vec<Filter> = new.iter().filter(|f| f.ifindex == ifx).cloned().collect();
    let ns = sw.lan.switch_ns.as_ref().expect("switch namespace");
    let ok = ns
        .enter(move || {
            let mut t = Table::open("test").expect("netlink socket");
            t.set_injection(ifx, "port 1", &on_port)
        })
        .expect("enter the switch namespace");
    assert!(ok, "the table refused a filter");
    assert!(
        sw.host(0).ns.ping_eventually(sw.host(1).ip, 3),
        "ICMP still dropped after the replacement"
    );
    let dumped = sw.dump(ifx);
    let at: Vec<_> = dumped
        .iter()
        .filter(|d| d.id.prio == prio::placement(0, 100).1)
        .collect();
    assert_eq!(at.len(), 1, "{at:?}");
    assert_eq!(at[0].cookie, Some(changed[0].cookie));
    assert_eq!(at[0].id.handle, was.handle, "replaced in place");
    let mut installed = Vec::new();
    for (_, i, _) in sw.ports.iter() {
        installed.extend(sw.dump(i));
    }
    let (add, remove) = difference(&new, &installed);
    assert!(add.is_empty() && remove.is_empty(), "{add:?} {remove:?}");
}

/// Give host `i` a VLAN 10 interface `eth0.10` with address 10.79.0.(i+1)/24.
fn vlan10(sw: &Switch, i: usize) -> Ipv4Addr {
    let h = sw.host(i);
    let addr = Ipv4Addr::new(10, 79, 0, i as u8 + 1);
    h.ns.ip(&[
        "link", "add", "link", "eth0", "name", "eth0.10", "type", "vlan", "id", "10",
    ])
    .expect("vlan");
    h.ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0.10"])
        .expect("addr");
    h.ns.ip(&["link", "set", "eth0.10", "up"]).expect("up");
    addr
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn ip_match_without_vlan_fields_matches_tagged_packets_by_their_inner_header() {
    // OpenFlow 1.3: a match without vlan_vid matches tagged and untagged packets, and
    // eth_type (and every L3/L4 field) is that of the header after the tags. flower
    // does the same: the receive path moves the outer tag into skb metadata before TC
    // ingress, and the flow dissector walks past any tag left in the packet, so a
    // filter without VLAN keys sees the inner EtherType and headers.
    let sw = Switch::new(2);
    let (a, b) = (vlan10(&sw, 0), vlan10(&sw, 1));
    sw.host(1)
        .ns
        .tcp_listen(SocketAddr::from((b, 8086)))
        .expect("listen");
    assert!(sw.host(0).ns.ping_eventually(b, 3), "no tagged ping at all");
    let _ = a;
    let wanted = sw.install(&[
        normal_flow(0),
        Flow(
            0,
            100,
            vec![IP, ICMP, Oxm::Ipv4Dst(Masked::exact(b))],
            vec![],
        ),
    ]);
    let ifx = sw.ports.ifindex(1).unwrap();
    let drop = wanted
        .iter()
        .find(|f| f.ifindex == ifx && f.prio == prio::placement(0, 100).1)
        .expect("drop filter on port 1")
        .clone();
    assert_eq!(drop.key.eth_type, Some(0x0800));
    assert_eq!(drop.key.vlan_id, None);
    let count = || {
        sw.dump(ifx)
            .into_iter()
            .find(|d| d.cookie == Some(drop.cookie))
            .map(|d| d.packets)
            .expect("drop filter in the dump")
    };
    let before = count();
    // Tagged ICMP to the address in the match: dropped, and counted by the filter.
    for _ in 0..3 {
        assert!(!sw.host(0).ns.ping(b, 1), "tagged ICMP crossed the drop");
    }
    assert!(
        count() >= before + 3,
        "the filter did not count the tagged pings"
    );
    // Tagged TCP to that address, and untagged ICMP to another: not matched.
    assert!(
        sw.host(0)
            .ns
            .tcp_reaches(SocketAddr::from((b, 8086)), Duration::from_secs(3)),
        "tagged TCP was dropped: the match saw more than ICMP"
    );
    assert!(
        sw.host(0).ns.ping_eventually(sw.host(1).ip, 3),
        "untagged ICMP to another address was dropped"
    );
}

/// Collect samples from psample inside the switch's namespace (psample delivers in the
/// namespace of the action) while `send` runs; stops when `want` samples of `group` are in
/// or nothing came for 3 s.
fn sampled_while(
    sw: &Switch,
    group: u32,
    want: usize,
    send: impl FnOnce(),
) -> Vec<tc_datapath::psample::Sample> {
    use tc_datapath::psample::Psample;
    let ns = sw.lan.switch_ns.as_ref().expect("switch namespace");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::scope(|s| {
        let collector = s.spawn(move || {
            ns.enter(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let mut ps = match Psample::open() {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return (Vec::new(), 0);
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let mut got = Vec::new();
                    while got
                        .iter()
                        .filter(|s: &&tc_datapath::psample::Sample| s.group == group)
                        .count()
                        < want
                    {
                        match tokio::time::timeout(Duration::from_secs(3), ps.next()).await {
                            Ok(Ok(v)) => got.extend(v),
                            Ok(Err(e)) => panic!("psample: {e}"),
                            Err(_) => break,
                        }
                    }
                    (got, ps.overruns)
                })
            })
            .expect("enter the switch namespace")
        });
        ready_rx
            .recv()
            .expect("collector started")
            .unwrap_or_else(|e| panic!("cannot listen to psample: {e}"));
        send();
        let (got, overruns) = collector.join().expect("collector");
        eprintln!("psample: {} samples, {overruns} overruns", got.len());
        got
    })
}

fn controller(max_len: u16) -> Action {
    Action::Output {
        port: port::CONTROLLER,
        max_len,
    }
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn output_to_controller_delivers_each_packet_to_psample_cut_to_max_len() {
    let sw = Switch::new(2);
    let filters = sw.install(&[
        normal_flow(0),
        Flow(
            0,
            10,
            vec![Oxm::InPort(1), IP, Oxm::IpProto(17), Oxm::UdpDst(9999)],
            apply(vec![controller(64), out(port::NORMAL)]),
        ),
    ]);
    let group = filters
        .iter()
        .flat_map(|f| &f.actions)
        .find_map(|a| match a {
            TcAction::Sample { group, .. } => Some(*group),
            _ => None,
        })
        .expect("a sample action");
    let (a, b) = (sw.host(0), sw.host(1));
    assert!(a.ns.ping_eventually(b.ip, 3));
    let sink = b.ns.udp_bind(SocketAddr::from((b.ip, 9999))).expect("bind");
    sink.set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    const SENT: usize = 20;
    let got = sampled_while(&sw, group, SENT, || {
        a.ns.udp_send_many(SocketAddr::from((b.ip, 9999)), SENT, 200)
            .expect("send udp");
        // Another port: not for the controller.
        a.ns.udp_send_many(SocketAddr::from((b.ip, 8888)), 5, 200)
            .expect("send udp");
    });
    let ours: Vec<_> = got.iter().filter(|s| s.group == group).collect();
    assert_eq!(ours.len(), SENT, "samples: {got:?}");
    let ifx1 = sw.ports.ifindex(1).expect("port 1");
    for s in &ours {
        assert_eq!(u32::from(s.ifindex), ifx1 & 0xffff, "ingress device");
        // Ethernet 14 + IPv4 20 + UDP 8 + 200.
        assert_eq!(s.orig_size, 242, "original size");
        assert_eq!(s.data.len(), 64, "cut to max_len");
        assert_eq!(
            &s.data[12..14],
            &[0x08, 0x00],
            "the frame from its MAC header"
        );
    }
    // The copy does not take the packet: all of them still reach the receiver.
    let mut buf = [0u8; 2048];
    let mut received = 0;
    while sink.recv(&mut buf).is_ok() {
        received += 1;
    }
    assert_eq!(received, SENT, "packets lost on the way to the receiver");
}

#[test]
#[ignore = "kernel tier: needs cls_flower, runs in the VM"]
fn a_flood_to_the_controller_is_bounded_by_the_police_and_still_forwarded() {
    let sw = Switch::new(2);
    let filters = sw.install(&[Flow(
        0,
        0,
        vec![],
        apply(vec![controller(0xffff), out(port::NORMAL)]),
    )]);
    let group = filters
        .iter()
        .flat_map(|f| &f.actions)
        .find_map(|a| match a {
            TcAction::Sample { group, .. } => Some(*group),
            _ => None,
        })
        .expect("a sample action");
    let (a, b) = (sw.host(0), sw.host(1));
    assert!(a.ns.ping_eventually(b.ip, 3));
    const SENT: usize = 20_000;
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    let got = sampled_while(&sw, group, SENT, || {
        a.ns.udp_send_many(SocketAddr::from((b.ip, 9998)), SENT, 100)
            .expect("send udp");
        elapsed = start.elapsed();
    });
    let ours = got.iter().filter(|s| s.group == group).count();
    eprintln!(
        "controller police: sent {SENT} packets in {:.3} s, {ours} reached psample \
         ({:?} allowed)",
        elapsed.as_secs_f64(),
        tc_datapath::meter::CONTROLLER_DEFAULT
    );
    assert!(ours > 0, "nothing reached the controller path");
    assert!(
        ours < SENT,
        "the police let every packet of the flood through"
    );
    // Whole packets (no max_len): 14 + 20 + 8 + 100.
    assert!(got
        .iter()
        .filter(|s| s.group == group && s.orig_size == 142)
        .all(|s| s.data.len() == 142));
    // Over the rate the police jumps past the copy to NORMAL: forwarding goes on.
    assert!(a.ns.ping_eventually(b.ip, 3));
}
