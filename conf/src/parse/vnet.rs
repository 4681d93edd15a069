//! The virtual-network statements: `hypervisor`, `network { ... }` with its segment, rules
//! and `vm`s (the types are in `crate::vnet`). Checks that need the whole file (a VM's
//! hypervisor declared further down, a port used twice on one hypervisor) run at the end.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{check_ifname, describe, Loc, PResult, Parser, Skip};
use crate::lex::{Tok, Token};
use crate::vnet::{
    parse_mac, parse_rate, At, Direction, Family, Hypervisor, Mac, Net, Network, Rule, Segment, Vm,
    Vnet, PROTOCOLS,
};
use crate::TunnelKind;

/// The keywords of a network block.
pub(super) const NETWORK_KEYWORDS: &[&str] = &["vxlan", "geneve", "vlan", "vm", "pass"];
/// The keywords of a VM block.
const VM_KEYWORDS: &[&str] = &["pass", "rate", "allow"];

/// The largest VNI: VXLAN's and Geneve's keys have 24 bits.
const VNI_MAX: u64 = 0xff_ffff;

/// What the checks remember while reading.
#[derive(Default)]
pub(super) struct State {
    hypervisors: HashMap<String, Loc>,
    addresses: HashMap<IpAddr, String>,
    networks: HashMap<String, Loc>,
    vnis: HashMap<(TunnelKind, u32), String>,
    vlans: HashMap<(u16, String), String>,
    /// Every VM's hypervisor reference, for the check at the end.
    vm_hypervisors: Vec<(String, Loc)>,
    /// (hypervisor, port) → "network/vm", with where, for the check at the end.
    ports: Vec<(String, String, String, Loc)>,
}

fn loc_at(l: &Loc) -> At {
    At {
        file: l.file.to_string(),
        line: l.line,
    }
}

impl Parser {
    fn vnet_mut(&mut self) -> &mut Vnet {
        self.cfg.vnet.get_or_insert_with(Vnet::default)
    }

    /// `hypervisor "NAME" address ADDRESS`.
    pub(super) fn hypervisor(&mut self, kw: &Token) -> PResult<()> {
        let (name, _) = self.nonempty("a hypervisor name")?;
        self.keyword("address")?;
        let (a, t) = self.string("an address")?;
        let Ok(address) = a.parse::<IpAddr>() else {
            self.error_tok(&t, format!("invalid hypervisor address \"{a}\""));
            return Err(Skip);
        };
        self.end_of_statement(false)?;
        let at = Loc::of(kw);
        if let Some(first) = self.vnet.hypervisors.get(&name) {
            let msg = format!("duplicate hypervisor \"{name}\" (first at {first})");
            self.error(&at, msg);
            return Ok(());
        }
        if let Some(other) = self.vnet.addresses.get(&address) {
            let msg =
                format!("hypervisor \"{name}\": address {address} is hypervisor \"{other}\"'s too");
            self.error(&at, msg);
        }
        self.vnet.addresses.insert(address, name.clone());
        self.vnet.hypervisors.insert(name.clone(), at.clone());
        self.vnet_mut().hypervisors.push(Hypervisor {
            name,
            address,
            at: loc_at(&at),
        });
        Ok(())
    }

    /// `network "NAME" { ... }`.
    pub(super) fn network(&mut self, kw: &Token) -> PResult<()> {
        let (name, _) = self.nonempty("a network name")?;
        while self.peek().tok == Tok::Newline {
            self.next();
        }
        if self.peek().tok != Tok::LBrace {
            return self.expected("\"{\"");
        }
        self.next();
        let at = Loc::of(kw);
        let dup = self.vnet.networks.get(&name).cloned();
        if let Some(first) = &dup {
            let msg = format!("duplicate network \"{name}\" (first at {first})");
            self.error(&at, msg);
        } else {
            self.vnet.networks.insert(name.clone(), at.clone());
        }
        let mut net = Network {
            name,
            segment: Segment::Overlay {
                kind: TunnelKind::Vxlan,
                vni: 0,
            },
            rules: Vec::new(),
            vms: Vec::new(),
            at: loc_at(&at),
        };
        let mut segment: Option<Loc> = None;
        let mut segment_error = false;
        let mut vm_names: HashMap<String, Loc> = HashMap::new();
        let mut macs: HashMap<[u8; 6], String> = HashMap::new();
        let mut addrs: HashMap<IpAddr, String> = HashMap::new();
        let closed = loop {
            let t = self.next();
            let w = match &t.tok {
                Tok::RBrace => break true,
                Tok::Eof | Tok::FileEnd => {
                    let msg = format!(
                        "syntax error: network \"{}\" has no closing \"}}\"",
                        net.name
                    );
                    self.error(&at, msg);
                    break false;
                }
                Tok::Newline | Tok::Semi => continue,
                Tok::Error => {
                    self.skip_statement(true);
                    continue;
                }
                Tok::Word(w) => w.clone(),
                other => {
                    let msg = format!("syntax error: expected a keyword, got {}", describe(other));
                    self.error_tok(&t, msg);
                    self.skip_statement(true);
                    continue;
                }
            };
            let r = match w.as_str() {
                "vxlan" | "geneve" | "vlan" => {
                    let r = self.segment(&w, &t);
                    if let Some(first) = &segment {
                        let msg = format!(
                            "network \"{}\": a second segment (first at {first})",
                            net.name
                        );
                        self.error_tok(&t, msg);
                    } else {
                        segment = Some(Loc::of(&t));
                        match &r {
                            Ok(s) => net.segment = s.clone(),
                            Err(_) => segment_error = true,
                        }
                    }
                    r.map(|_| ())
                }
                "pass" => self.rule(&t, true).map(|r| net.rules.push(r)),
                "vm" => self.vm(&t).map(|vm| {
                    let l = Loc::of(&t);
                    if let Some(first) = vm_names.get(&vm.name) {
                        let msg = format!(
                            "duplicate vm \"{}\" in network \"{}\" (first at {first})",
                            vm.name, net.name
                        );
                        self.error(&l, msg);
                    } else {
                        vm_names.insert(vm.name.clone(), l.clone());
                    }
                    if let Some(other) = macs.get(&vm.mac) {
                        let msg = format!(
                            "vm \"{}\": mac {} is vm \"{other}\"'s in network \"{}\"",
                            vm.name,
                            Mac(&vm.mac),
                            net.name
                        );
                        self.error(&l, msg);
                    } else {
                        macs.insert(vm.mac, vm.name.clone());
                    }
                    for a in &vm.addresses {
                        if let Some(other) = addrs.get(a) {
                            if *other != vm.name {
                                let msg = format!(
                                    "vm \"{}\": address {a} is vm \"{other}\"'s in network \"{}\"",
                                    vm.name, net.name
                                );
                                self.error(&l, msg);
                            }
                        } else {
                            addrs.insert(*a, vm.name.clone());
                        }
                    }
                    self.vnet
                        .vm_hypervisors
                        .push((vm.hypervisor.clone(), l.clone()));
                    self.vnet.ports.push((
                        vm.hypervisor.clone(),
                        vm.port.clone(),
                        format!("{}/{}", net.name, vm.name),
                        l,
                    ));
                    net.vms.push(vm);
                }),
                w if VM_KEYWORDS.contains(&w) => {
                    self.error_tok(&t, format!("\"{w}\" is only valid in a vm block"));
                    Err(Skip)
                }
                w => {
                    self.error_tok(&t, format!("unknown keyword \"{w}\" in a network block"));
                    Err(Skip)
                }
            };
            if r.is_err() {
                self.skip_statement(true);
            }
        };
        if segment.is_none() {
            let msg = format!(
                "network \"{}\" has no segment: give vxlan vni N, geneve vni N or vlan N on \"IF\"",
                net.name
            );
            self.error(&at, msg);
        } else if !segment_error && dup.is_none() {
            let key = match &net.segment {
                Segment::Overlay { kind, vni } => Ok((*kind, *vni)),
                Segment::Vlan { vid, uplink } => Err((*vid, uplink.clone())),
            };
            let seg_at = segment.clone().unwrap_or(at.clone());
            match key {
                Ok(k) => {
                    if let Some(other) = self.vnet.vnis.get(&k) {
                        let msg = format!(
                            "network \"{}\": vni {} is network \"{other}\"'s already",
                            net.name, k.1
                        );
                        self.error(&seg_at, msg);
                    } else {
                        self.vnet.vnis.insert(k, net.name.clone());
                    }
                }
                Err(k) => {
                    if let Some(other) = self.vnet.vlans.get(&k) {
                        let msg = format!(
                            "network \"{}\": vlan {} on \"{}\" is network \"{other}\"'s already",
                            net.name, k.0, k.1
                        );
                        self.error(&seg_at, msg);
                    } else {
                        self.vnet.vlans.insert(k, net.name.clone());
                    }
                }
            }
        }
        self.vnet_mut().networks.push(net);
        if closed {
            self.end_of_statement(false)
        } else {
            Ok(())
        }
    }

    /// `vxlan vni N`, `geneve vni N` or `vlan N on "IF"` (the keyword read).
    fn segment(&mut self, w: &str, _kw: &Token) -> PResult<Segment> {
        let s = if w == "vlan" {
            let vid = self.number("vlan", 1, 4094)? as u16;
            self.keyword("on")?;
            let (uplink, t) = self.nonempty("an uplink interface")?;
            if let Err(e) = check_ifname("uplink", &uplink) {
                self.error_tok(&t, e);
                return Err(Skip);
            }
            Segment::Vlan { vid, uplink }
        } else {
            self.keyword("vni")?;
            let vni = self.number("vni", 1, VNI_MAX)? as u32;
            let kind = if w == "vxlan" {
                TunnelKind::Vxlan
            } else {
                TunnelKind::Geneve
            };
            Segment::Overlay { kind, vni }
        };
        self.end_of_statement(true)?;
        Ok(s)
    }

    /// `vm "NAME" on "HV" port "IF" mac MAC [address A]... [{ ... }]`.
    fn vm(&mut self, kw: &Token) -> PResult<Vm> {
        let (name, _) = self.nonempty("a vm name")?;
        self.keyword("on")?;
        let (hypervisor, _) = self.nonempty("a hypervisor name")?;
        self.keyword("port")?;
        let (port, t) = self.nonempty("a port name")?;
        if let Err(e) = check_ifname("port", &port) {
            self.error_tok(&t, e);
            return Err(Skip);
        }
        self.keyword("mac")?;
        let (m, t) = self.string("a MAC address")?;
        let Some(mac) = parse_mac(&m) else {
            self.error_tok(
                &t,
                format!("invalid mac \"{m}\": expected six hex octets separated by \":\""),
            );
            return Err(Skip);
        };
        if mac[0] & 1 == 1 || mac == [0; 6] {
            self.error_tok(&t, format!("mac {m} is not a unicast address"));
            return Err(Skip);
        }
        let mut vm = Vm {
            name,
            hypervisor,
            port,
            mac,
            addresses: Vec::new(),
            rules: Vec::new(),
            rate_kbps: None,
            dhcp_server: false,
            router_advertisements: false,
            at: loc_at(&Loc::of(kw)),
        };
        while self.optional_keyword("address") {
            let (a, t) = self.string("an address")?;
            match a.parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() || ip.is_multicast() => {
                    self.error_tok(&t, format!("address {a} is not a unicast address"));
                    return Err(Skip);
                }
                Ok(ip) => {
                    if vm.addresses.contains(&ip) {
                        self.error_tok(&t, format!("address {a} is given twice"));
                        return Err(Skip);
                    }
                    vm.addresses.push(ip)
                }
                Err(_) => {
                    self.error_tok(
                        &t,
                        format!("invalid address \"{a}\": expected an IPv4 or IPv6 address"),
                    );
                    return Err(Skip);
                }
            }
        }
        if self.peek().tok == Tok::LBrace {
            self.next();
            self.vm_block(&mut vm)?;
        }
        self.end_of_statement(true)?;
        Ok(vm)
    }

    /// The statements of a VM's block, to its `}` (read).
    fn vm_block(&mut self, vm: &mut Vm) -> PResult<()> {
        let mut rate: Option<Loc> = None;
        loop {
            let t = self.next();
            let w = match &t.tok {
                Tok::RBrace => return Ok(()),
                Tok::Eof | Tok::FileEnd => {
                    let msg = format!("syntax error: vm \"{}\" has no closing \"}}\"", vm.name);
                    self.error_tok(&t, msg);
                    return Err(Skip);
                }
                Tok::Newline | Tok::Semi => continue,
                Tok::Error => {
                    self.skip_statement(true);
                    continue;
                }
                Tok::Word(w) => w.clone(),
                other => {
                    let msg = format!("syntax error: expected a keyword, got {}", describe(other));
                    self.error_tok(&t, msg);
                    self.skip_statement(true);
                    continue;
                }
            };
            let r = match w.as_str() {
                "pass" => self.rule(&t, true).map(|r| vm.rules.push(r)),
                "rate" => {
                    if let Some(first) = &rate {
                        let msg = format!("\"rate\" is given twice (first at {first})");
                        self.error_tok(&t, msg);
                    }
                    rate = Some(Loc::of(&t));
                    self.rate().map(|r| vm.rate_kbps = Some(r))
                }
                "allow" => self
                    .choice(
                        "what to allow",
                        &[("dhcp-server", true), ("router-advertisements", false)],
                    )
                    .and_then(|dhcp| {
                        self.end_of_statement(true)?;
                        if dhcp {
                            vm.dhcp_server = true
                        } else {
                            vm.router_advertisements = true
                        }
                        Ok(())
                    }),
                w if NETWORK_KEYWORDS.contains(&w) => {
                    self.error_tok(&t, format!("\"{w}\" is not valid in a vm block"));
                    Err(Skip)
                }
                w => {
                    self.error_tok(&t, format!("unknown keyword \"{w}\" in a vm block"));
                    Err(Skip)
                }
            };
            if r.is_err() {
                self.skip_statement(true);
            }
        }
    }

    /// `rate N[K|M|G]` (the keyword read), kbit/s.
    fn rate(&mut self) -> PResult<u32> {
        let (s, t) = self.string("a rate")?;
        let Some(k) = parse_rate(&s) else {
            self.error_tok(
                &t,
                format!("invalid rate \"{s}\": expected bit/s with K, M or G (as 100M)"),
            );
            return Err(Skip);
        };
        if k == 0 || k > u64::from(u32::MAX) {
            self.error_tok(&t, format!("rate {s} out of range (1K-4294G)"));
            return Err(Skip);
        }
        self.end_of_statement(true)?;
        Ok(k as u32)
    }

    /// `pass in|out [inet|inet6] [proto P] [all | [from A [port N]] [to A [port N]]]`
    /// (the keyword read).
    fn rule(&mut self, kw: &Token, in_block: bool) -> PResult<Rule> {
        let direction = self.choice(
            "a direction",
            &[("in", Direction::In), ("out", Direction::Out)],
        )?;
        let family = if self.optional_keyword("inet") {
            Some(Family::Inet)
        } else if self.optional_keyword("inet6") {
            Some(Family::Inet6)
        } else {
            None
        };
        let mut proto = None;
        if self.optional_keyword("proto") {
            let (p, t) = self.string("a protocol")?;
            proto = match PROTOCOLS.iter().find(|(n, _)| *n == p) {
                Some((_, n)) => Some(*n),
                None => match p.parse::<u8>() {
                    Ok(n) if p.chars().all(|c| c.is_ascii_digit()) => Some(n),
                    _ => {
                        self.error_tok(&t, format!("unknown protocol \"{p}\""));
                        return Err(Skip);
                    }
                },
            };
        }
        let mut rule = Rule {
            direction,
            family,
            proto,
            from: None,
            from_port: None,
            to: None,
            to_port: None,
            at: loc_at(&Loc::of(kw)),
        };
        if !self.optional_keyword("all") {
            for end in ["from", "to"] {
                if !self.optional_keyword(end) {
                    continue;
                }
                let net = if matches!(&self.peek().tok, Tok::Word(w) if w == "port") {
                    None
                } else {
                    self.address_or_any()?
                };
                let port = if self.optional_keyword("port") {
                    Some(self.number("port", 1, 65535)? as u16)
                } else {
                    None
                };
                if end == "from" {
                    (rule.from, rule.from_port) = (net, port);
                } else {
                    (rule.to, rule.to_port) = (net, port);
                }
            }
        }
        let at = Loc::of(kw);
        if (rule.from_port.is_some() || rule.to_port.is_some())
            && !matches!(rule.proto, Some(6 | 17 | 132))
        {
            self.error(
                &at,
                "a rule with a port needs proto tcp, udp or sctp".into(),
            );
            return Err(Skip);
        }
        let fams: Vec<Family> = [
            rule.family,
            rule.from.map(|n| n.family()),
            rule.to.map(|n| n.family()),
            match rule.proto {
                Some(1) => Some(Family::Inet),
                Some(58) => Some(Family::Inet6),
                _ => None,
            },
        ]
        .into_iter()
        .flatten()
        .collect();
        if fams.windows(2).any(|w| w[0] != w[1]) {
            self.error(
                &at,
                "a rule mixes IPv4 and IPv6 (its family, addresses and protocol must agree)".into(),
            );
            return Err(Skip);
        }
        self.end_of_statement(in_block)?;
        Ok(rule)
    }

    /// `any`, or an address with an optional prefix length.
    fn address_or_any(&mut self) -> PResult<Option<Net>> {
        let (a, t) = self.string("an address or \"any\"")?;
        if a == "any" {
            return Ok(None);
        }
        match a.parse::<Net>() {
            Ok(n) => Ok(Some(n)),
            Err(e) => {
                self.error_tok(&t, e);
                Err(Skip)
            }
        }
    }

    /// The checks that need the whole file.
    pub(super) fn check_vnet(&mut self) {
        let refs = std::mem::take(&mut self.vnet.vm_hypervisors);
        for (hv, at) in refs {
            if !self.vnet.hypervisors.contains_key(&hv) {
                self.error(&at, format!("vm on unknown hypervisor \"{hv}\""));
            }
        }
        let mut seen: HashMap<(String, String), (String, Loc)> = HashMap::new();
        let ports = std::mem::take(&mut self.vnet.ports);
        let uplinks: Vec<String> = self.vnet.vlans.keys().map(|(_, u)| u.clone()).collect();
        for (hv, port, who, at) in ports {
            if uplinks.contains(&port) {
                let msg = format!("vm {who}: port \"{port}\" is a vlan uplink");
                self.error(&at, msg);
                continue;
            }
            if let Some((other, first)) = seen.get(&(hv.clone(), port.clone())) {
                let msg = format!(
                    "vm {who}: port \"{port}\" on hypervisor \"{hv}\" is vm {other}'s (at {first})"
                );
                self.error(&at, msg);
            } else {
                seen.insert((hv, port), (who, at));
            }
        }
    }
}
