//! act_tunnel_key: set the tunnel metadata a tunnel device encapsulates with, or release it.

use std::net::Ipv4Addr;

use super::{after_tc_gen, tc_gen, TcAction};
use crate::filter::Attrs;
use crate::nla::{self, NlaError, NlaWriter};
use crate::uapi::*;

/// `TCA_TUNNEL_KEY_PARMS`: struct tc_tunnel_key { tc_gen, t_action }.
fn parms(t_action: i32, index: u32, w: &mut NlaWriter) {
    w.put_parts(
        TCA_TUNNEL_KEY_PARMS,
        &[&tc_gen(index, TC_ACT_PIPE), &t_action.to_ne_bytes()],
    );
}

pub(super) fn encode_set(
    key_id: Option<u32>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dst_port: Option<u16>,
    index: u32,
    w: &mut NlaWriter,
) {
    parms(TCA_TUNNEL_KEY_ACT_SET, index, w);
    w.put(TCA_TUNNEL_KEY_ENC_IPV4_SRC, &src.octets());
    w.put(TCA_TUNNEL_KEY_ENC_IPV4_DST, &dst.octets());
    if let Some(id) = key_id {
        w.be32(TCA_TUNNEL_KEY_ENC_KEY_ID, id);
    }
    if let Some(port) = dst_port {
        w.be16(TCA_TUNNEL_KEY_ENC_DST_PORT, port);
    }
}

pub(super) fn encode_release(index: u32, w: &mut NlaWriter) {
    parms(TCA_TUNNEL_KEY_ACT_RELEASE, index, w);
}

pub(super) fn parse(o: &Attrs) -> Result<Option<TcAction>, NlaError> {
    let p = o
        .get(TCA_TUNNEL_KEY_PARMS)
        .ok_or(NlaError("tunnel_key without parameters"))?;
    Ok(match after_tc_gen(p)? {
        TCA_TUNNEL_KEY_ACT_RELEASE => Some(TcAction::TunnelRelease),
        TCA_TUNNEL_KEY_ACT_SET => {
            let v4 = |t| {
                o.get(t)
                    .map(nla::get_arr::<4>)
                    .transpose()
                    .map(|a| a.map(Ipv4Addr::from).unwrap_or(Ipv4Addr::UNSPECIFIED))
            };
            Some(TcAction::TunnelSet {
                key_id: o
                    .get(TCA_TUNNEL_KEY_ENC_KEY_ID)
                    .map(nla::get_be32)
                    .transpose()?,
                src: v4(TCA_TUNNEL_KEY_ENC_IPV4_SRC)?,
                dst: v4(TCA_TUNNEL_KEY_ENC_IPV4_DST)?,
                dst_port: o
                    .get(TCA_TUNNEL_KEY_ENC_DST_PORT)
                    .map(nla::get_be16)
                    .transpose()?,
            })
        }
        _ => None,
    })
}
