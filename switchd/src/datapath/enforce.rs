//! Failing closed: a local switch whose flows the kernel cannot enforce (no cls_flower, a
//! TC action module it cannot do without, no TC netlink socket) does not forward.
//!
//! Its bridge is held down (administratively down). A bridge that is down puts every one
//! of its ports in the disabled state, and the bridge consumes and drops what arrives on a
//! disabled port, so nothing crosses the switch and nothing reaches the host's own stack
//! through its ports (an unbridged port would hand its frames to the host, which answers
//! ARP for all its addresses). A port added later joins a bridge that is down and is
//! disabled too, with nothing to do for it; the ports keep their own state, so that a VM's
//! tap is not reconfigured. The bridge's alias says why (`ip link show`) and marks it as
//! held by switchd: the next run that forwards (a kernel that has what was missing, or the
//! operator's `unenforced forward`) brings it up again, and switchd brings up no bridge it
//! did not hold down. A bridge stays held when switchd stops or the switch leaves the
//! configuration.
//!
//! `unenforced forward` in the switch block lets the bridge forward anyway, as a plain
//! Linux bridge: no flow is enforced, so it is unsafe for a switch whose flows drop
//! anything.

use std::time::Duration;

use futures::StreamExt;
use netlink_packet_route::link::LinkAttribute;
use rtnetlink::LinkUnspec;
use tc_datapath::KernelSupport;

use super::links::{kernel_words, Links};

/// The modules a local switch cannot do without.
const REQUIRED: &[&str] = &["sch_clsact", "cls_flower", "act_gact", "act_mirred"];

/// What a held bridge's alias starts with.
const HELD: &str = "switchd: held down: ";

/// How a local switch whose flows are not in the kernel runs.
#[derive(Debug)]
pub(crate) struct Unenforced {
    /// Why its flows are not enforced (the kernel's missing piece).
    pub(crate) why: String,
    /// `unenforced forward`: the bridge forwards anyway.
    pub(crate) forward: bool,
    /// The port count last told to ofp (`None`: nothing told yet).
    pub(crate) reported: Option<u32>,
}

impl Unenforced {
    /// What `switchctl show switches` says of the switch.
    pub(crate) fn note(&self, bridge: &str) -> String {
        if self.forward {
            format!(
                "forwarding without its flows (unenforced forward): {}",
                self.why
            )
        } else {
            format!("not forwarding, bridge {bridge} held down: {}", self.why)
        }
    }
}

/// The first piece a local switch cannot do without that `k` lacks, named with its kernel
/// option ("kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)"), or `None`.
pub(crate) fn missing(k: &KernelSupport) -> Option<String> {
    let m = REQUIRED.iter().find(|m| !k.has(m))?;
    let said = k
        .missing
        .iter()
        .find(|s| s.starts_with("kernel lacks ") && s.contains(m.trim_start_matches("sch_")));
    Some(match said {
        Some(s) => s
            .split_once(": ")
            .map_or(s.as_str(), |(head, _)| head)
            .to_string(),
        None => format!("kernel probe failed: {}", k.missing.join("; ")),
    })
}

/// What the kernel lacks that a local switch needs, or `None`; logged with the kernel's
/// own words.
pub(crate) fn probe() -> Option<String> {
    let mut tc = match tc_datapath::Tc::new() {
        Ok(t) => t,
        Err(e) => return Some(format!("cannot open a TC netlink socket: {e}")),
    };
    let k = tc.probe();
    tracing::info!("kernel probe: present: {}", k.present.join(", "));
    for m in &k.missing {
        tracing::info!("kernel probe: {m}");
    }
    let why = missing(&k)?;
    tracing::warn!(
        "kernel probe: {why}: a local switch cannot enforce its flows on this kernel and \
         holds its bridge down (unless its switch block says unenforced forward)"
    );
    Some(why)
}

/// The probe of `switchd -n`, in a network namespace of its own (nothing on the host's
/// links changes): `Err` if it cannot be made (not root).
pub(crate) fn probe_private() -> Result<Option<String>, String> {
    let t = std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which does nothing else.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("cannot make a network namespace to probe in: {e}"));
        }
        let mut tc =
            tc_datapath::Tc::new().map_err(|e| format!("cannot open a TC netlink socket: {e}"))?;
        Ok(missing(&tc.probe()))
    });
    t.join()
        .unwrap_or_else(|_| Err("the kernel probe panicked".into()))
}

/// `switchd -n`: what each local switch of `config` will do on this kernel, one line
/// each; nothing if it has none or the kernel has all they need.
pub(crate) fn check(config: &conf::Config) -> Vec<String> {
    let local: Vec<&conf::Switch> = config.switches.iter().filter(|s| s.is_local()).collect();
    if local.is_empty() {
        return Vec::new();
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return vec![
            "not root: the kernel is not probed; whether local switches can enforce their \
             flows is known (and logged) when switchd starts"
                .into(),
        ];
    }
    match probe_private() {
        Err(e) => vec![format!("kernel probe: {e}")],
        Ok(None) => Vec::new(),
        Ok(Some(why)) => local
            .iter()
            .map(|s| {
                let br = s.bridge.as_deref().unwrap_or_default();
                if s.unenforced_forward {
                    format!(
                        "local switch {}: {why}: it will forward without enforcing its flows \
                         (unenforced forward)",
                        s.name
                    )
                } else {
                    format!(
                        "local switch {}: {why}: it will not forward (bridge {br} held down; \
                         unenforced forward in its switch block forwards without its flows)",
                        s.name
                    )
                }
            })
            .collect(),
    }
}

/// Hold bridge `index` down, its alias saying why.
pub(crate) async fn hold(links: &Links, index: u32, why: &str) -> Result<(), String> {
    // IFALIASZ is 256 with the NUL.
    let mut alias = format!("{HELD}{why}");
    while alias.len() > 255 {
        alias.pop();
    }
    links
        .handle()
        .link()
        .set(
            LinkUnspec::new_with_index(index)
                .down()
                .alias(alias)
                .build(),
        )
        .execute()
        .await
        .map_err(|e| kernel_words(&e))
}

/// Bring bridge `index` up again if switchd held it down (its alias says so); whether it
/// did.
pub(crate) async fn release(links: &Links, index: u32) -> Result<bool, String> {
    let mut s = links.handle().link().get().match_index(index).execute();
    let held = match tokio::time::timeout(Duration::from_secs(5), s.next()).await {
        Ok(Some(Ok(m))) => m
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::IfAlias(x) if x.starts_with(HELD))),
        Ok(Some(Err(e))) => return Err(kernel_words(&e)),
        Ok(None) | Err(_) => false,
    };
    drop(s);
    if !held {
        return Ok(false);
    }
    // An empty alias deletes it.
    links
        .handle()
        .link()
        .set(LinkUnspec::new_with_index(index).up().alias("").build())
        .execute()
        .await
        .map_err(|e| kernel_words(&e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_required_piece_missing_is_named_with_its_option() {
        let k = KernelSupport {
            present: vec!["sch_clsact", "act_gact", "act_mirred"],
            missing: vec![
                "kernel lacks act_vlan (CONFIG_NET_ACT_VLAN): Failed to load TC action module"
                    .into(),
                "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER): TC classifier not found".into(),
            ],
        };
        assert_eq!(
            missing(&k).as_deref(),
            Some("kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)")
        );
        // An optional action missing is no reason to hold the switch.
        let k = KernelSupport {
            present: REQUIRED.to_vec(),
            missing: vec!["kernel lacks act_vlan (CONFIG_NET_ACT_VLAN): x".into()],
        };
        assert_eq!(missing(&k), None);
    }

    #[test]
    fn the_note_says_whether_the_switch_forwards() {
        let mut u = Unenforced {
            why: "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)".into(),
            forward: false,
            reported: None,
        };
        assert_eq!(
            u.note("br0"),
            "not forwarding, bridge br0 held down: kernel lacks cls_flower \
             (CONFIG_NET_CLS_FLOWER)"
        );
        u.forward = true;
        assert!(u.note("br0").starts_with("forwarding without its flows"));
    }
}
