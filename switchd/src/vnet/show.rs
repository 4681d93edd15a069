//! `switchctl show networks`: every VM of the virtual networks, where it is, its port, and
//! (for the VMs of this hypervisor) the counters of its table-0 flows, found by cookie.

use serde::{Deserialize, Serialize};

use super::compile::{vm_cookie, T_CLASSIFY};
use conf::vnet::{Mac, Segment};

/// One VM as the control process knows it (from the parent, with the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetVm {
    pub network: String,
    /// `vxlan vni 100`, `geneve vni 200`, `vlan 42 on eth1`.
    pub segment: String,
    pub vm: String,
    pub hypervisor: String,
    pub port: String,
    pub mac: String,
    pub addresses: Vec<String>,
    /// The cookie of its flows.
    pub cookie: u64,
    /// On this host's hypervisor.
    pub local: bool,
}

/// The VMs of `config`'s virtual networks; `local` for those in its `vnet` switch.
pub fn vms(config: &conf::Config) -> Vec<VnetVm> {
    let Some(v) = &config.vnet else {
        return Vec::new();
    };
    let ports: Vec<&str> = config
        .switches
        .iter()
        .filter(|s| s.name == super::SWITCH)
        .flat_map(|s| s.ports.iter().map(|p| p.name.as_str()))
        .collect();
    // The compiled switch holds this hypervisor's VM ports; which hypervisor that is, the
    // first VM with such a port says.
    let me = v
        .networks
        .iter()
        .flat_map(|n| n.vms.iter())
        .find(|vm| ports.contains(&vm.port.as_str()))
        .map(|vm| vm.hypervisor.clone());
    let mut out = Vec::new();
    for n in &v.networks {
        let segment = match &n.segment {
            Segment::Overlay { kind, vni } => {
                let k = match kind {
                    conf::TunnelKind::Vxlan => "vxlan",
                    conf::TunnelKind::Geneve => "geneve",
                };
                format!("{k} vni {vni}")
            }
            Segment::Vlan { vid, uplink } => format!("vlan {vid} on {uplink}"),
        };
        for vm in &n.vms {
            out.push(VnetVm {
                network: n.name.clone(),
                segment: segment.clone(),
                vm: vm.name.clone(),
                hypervisor: vm.hypervisor.clone(),
                port: vm.port.clone(),
                mac: Mac(&vm.mac).to_string(),
                addresses: vm.addresses.iter().map(|a| a.to_string()).collect(),
                cookie: vm_cookie(&n.name, &vm.name),
                local: me.as_deref() == Some(vm.hypervisor.as_str()),
            });
        }
    }
    out
}

/// The columns of `show networks`.
pub const COLUMNS: &[&str] = &[
    "network",
    "segment",
    "vm",
    "hypervisor",
    "port",
    "mac",
    "addresses",
    "sent pkts",
    "sent bytes",
    "dropped pkts",
];

/// The rows of `show networks`: `flows` are the rows of `show flows vnet` (switch, table,
/// priority, cookie, match, actions, packets, bytes), or `None` when they could not be had.
/// A local VM's `sent` are its admitted frames (its table-0 flows that do not drop),
/// `dropped` those its table-0 flows dropped (forged, or a server it may not be); a remote
/// VM's are `-`.
pub fn rows(vms: &[VnetVm], flows: Option<&[Vec<String>]>) -> Vec<Vec<String>> {
    let table0 = T_CLASSIFY.to_string();
    vms.iter()
        .map(|v| {
            let (mut sent, mut bytes, mut dropped) = (0u64, 0u64, 0u64);
            let cookie = format!("0x{:x}", v.cookie);
            for f in flows.unwrap_or_default() {
                if f.len() < 8 || f[1] != table0 || f[3] != cookie {
                    continue;
                }
                let p: u64 = f[6].parse().unwrap_or(0);
                if f[5] == "drop" {
                    dropped += p;
                } else {
                    sent += p;
                    bytes += f[7].parse::<u64>().unwrap_or(0);
                }
            }
            let counters = if v.local && flows.is_some() {
                [sent.to_string(), bytes.to_string(), dropped.to_string()]
            } else {
                ["-".into(), "-".into(), "-".into()]
            };
            let mut r = vec![
                v.network.clone(),
                v.segment.clone(),
                v.vm.clone(),
                v.hypervisor.clone(),
                v.port.clone(),
                v.mac.clone(),
                if v.addresses.is_empty() {
                    "-".into()
                } else {
                    v.addresses.join(" ")
                },
            ];
            r.extend(counters);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_a_local_vms_table_0_flows_by_cookie() {
        let mut c = conf::parse_str(
            "t.conf",
            "hypervisor \"a\" address 192.0.2.1\nhypervisor \"b\" address 192.0.2.2\n\
             network \"n\" {\n\tvxlan vni 5\n\
             \tvm \"x\" on \"a\" port \"tx\" mac 52:54:00:00:00:01 address 10.0.0.1\n\
             \tvm \"y\" on \"b\" port \"ty\" mac 52:54:00:00:00:02\n}\n",
            &[],
        )
        .expect("parses");
        crate::vnet::apply(&mut c, Some("a")).expect("compiles");
        let vms = vms(&c);
        assert_eq!(vms.len(), 2);
        assert!(vms[0].local && !vms[1].local);
        let ck = format!("0x{:x}", vms[0].cookie);
        let flow = |table: &str, actions: &str, p: &str| {
            ["vnet", table, "200", &ck, "in_port=1", actions, p, "100"]
                .map(String::from)
                .to_vec()
        };
        let flows = vec![
            flow("0", "ct(zone=1,table=1)", "3"),
            flow("0", "drop", "2"),
            flow("3", "output:5", "7"),
        ];
        let r = rows(&vms, Some(&flows));
        assert_eq!(r[0][2], "x");
        assert_eq!(r[0][6], "10.0.0.1");
        assert_eq!(&r[0][7..], ["3", "100", "2"]);
        assert_eq!(&r[1][7..], ["-", "-", "-"]);
        assert_eq!(r[0].len(), COLUMNS.len());
        let r = rows(&vms, None);
        assert_eq!(&r[0][7..], ["-", "-", "-"]);
    }
}
