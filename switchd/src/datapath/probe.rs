//! Does the kernel have what a local switch needs? A minimal probe, until tc-datapath's
//! own replaces it: on a bridge of its own (created and deleted here), add a clsact qdisc,
//! then flower filters with a gact and a mirred action, and read what the kernel answers.
//! A missing module is named with its kernel option.

use futures::StreamExt;
use netlink_packet_core::{
    DefaultNla, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionOption, TcAttribute, TcFilterFlowerOption, TcHandle,
    TcMessage, TcOption,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::links::{error_text, Links};
use crate::log_debug;

/// What the kernel lacks, as a sentence ("kernel lacks cls_flower
/// (CONFIG_NET_CLS_FLOWER)"), or `None` if it has it all.
pub async fn probe(links: &Links) -> Option<String> {
    let name = format!("swdprobe{}", std::process::id() % 1_000_000);
    if let Ok(Some(old)) = links.by_name(&name).await {
        let _ = links.delete(old.index).await;
    }
    if let Err(e) = links.add_bridge(&name).await {
        return Some(format!("cannot probe TC: creating bridge {name}: {e}"));
    }
    let index = match links.by_name(&name).await {
        Ok(Some(l)) => l.index,
        Ok(None) => return Some(format!("cannot probe TC: bridge {name} vanished")),
        Err(e) => return Some(format!("cannot probe TC: {e}")),
    };
    let missing = probe_on(links, index).await;
    if let Err(e) = links.delete(index).await {
        crate::log_warn!("deleting probe bridge {name}: {e}");
    }
    missing
}

async fn probe_on(links: &Links, index: u32) -> Option<String> {
    let mut q = TcMessage::with_index(index as i32);
    q.header.handle = TcHandle {
        major: 0xffff,
        minor: 0,
    };
    q.header.parent = TcHandle::CLSACT;
    q.attributes.push(TcAttribute::Kind("clsact".into()));
    if let Err(e) = request(links, RouteNetlinkMessage::NewQueueDiscipline(q)).await {
        log_debug!("probe: clsact: {e}");
        return Some(lacks("sch_ingress", "CONFIG_NET_SCH_INGRESS", &e));
    }
    // tc_gact: index, capab, action (TC_ACT_OK), refcnt, bindcnt.
    let gact = action("gact", gen_params(0, &[]));
    // tc_mirred: tc_gen with TC_ACT_STOLEN, eaction TCA_EGRESS_REDIR, ifindex.
    let mirred = action("mirred", gen_params(4, &[1, index as i32]));
    for (prio, kind, act, option) in [
        (1u16, "gact", gact, "CONFIG_NET_ACT_GACT"),
        (2, "mirred", mirred, "CONFIG_NET_ACT_MIRRED"),
    ] {
        let mut f = TcMessage::with_index(index as i32);
        f.header.parent = TcHandle {
            major: 0xffff,
            minor: TcHandle::MIN_INGRESS,
        };
        // info: priority, and the protocol (ETH_P_ALL) in network byte order.
        f.header.info = u32::from(TcHandle {
            major: prio,
            minor: 0x0300,
        });
        f.attributes.push(TcAttribute::Kind("flower".into()));
        f.attributes
            .push(TcAttribute::Options(vec![TcOption::Flower(
                TcFilterFlowerOption::Actions(vec![act]),
            )]));
        if let Err(e) = request(links, RouteNetlinkMessage::NewTrafficFilter(f)).await {
            log_debug!("probe: flower with {kind}: {e}");
            if e.contains("classifier") {
                return Some(lacks("cls_flower", "CONFIG_NET_CLS_FLOWER", &e));
            }
            return Some(lacks(&format!("act_{kind}"), option, &e));
        }
    }
    None
}

/// The sentence for a missing module: the kernel's words for "not there" are ENOENT and a
/// "not found" or "Failed to load" message; anything else is said as the kernel said it.
fn lacks(module: &str, option: &str, kernel: &str) -> String {
    let missing = kernel.contains("not found")
        || kernel.contains("unknown")
        || kernel.contains("Failed to load")
        || kernel.contains("No such file");
    if missing {
        format!("kernel lacks {module} ({option})")
    } else {
        format!("cannot probe {module}: {kernel}")
    }
}

fn gen_params(action: i32, tail: &[i32]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0i32, 0, action, 0, 0].iter().chain(tail) {
        v.extend_from_slice(&w.to_ne_bytes());
    }
    v
}

fn action(kind: &str, params: Vec<u8>) -> TcAction {
    let mut a = TcAction::default();
    a.tab = 1;
    a.attributes.push(TcActionAttribute::Kind(kind.into()));
    // TCA_GACT_PARMS and TCA_MIRRED_PARMS are both attribute 2.
    a.attributes
        .push(TcActionAttribute::Options(vec![TcActionOption::Other(
            DefaultNla::new(2, params),
        )]));
    a
}

async fn request(links: &Links, m: RouteNetlinkMessage) -> Result<(), String> {
    let mut req = NetlinkMessage::from(m);
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut handle = links.handle().clone();
    let mut resp = handle.request(req).map_err(|e| e.to_string())?;
    while let Some(m) = resp.next().await {
        if let NetlinkPayload::Error(e) = m.payload {
            if e.code.is_some() {
                return Err(error_text(&e));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_module_is_named_with_its_option() {
        assert_eq!(
            lacks(
                "cls_flower",
                "CONFIG_NET_CLS_FLOWER",
                "Error: TC classifier not found. (No such file or directory (os error 2))"
            ),
            "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER)"
        );
        assert_eq!(
            lacks(
                "act_gact",
                "CONFIG_NET_ACT_GACT",
                "Operation not permitted (os error 1)"
            ),
            "cannot probe act_gact: Operation not permitted (os error 1)"
        );
    }
}
