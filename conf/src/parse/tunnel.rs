//! The statements of a local switch that make its overlay: tunnel ports
//! (`port "NAME" vxlan|geneve [dstport N] [number N]`) and meters
//! (`meter N rate R kbps [burst B kb]`).

use super::{Loc, PResult, Parser, Skip, SwitchBuilder};
use crate::lex::{Tok, Token};
use crate::{Meter, Tunnel, TunnelKind, METER_ID_MAX, PORT_NUMBER_MAX};

/// What follows a port's name, in any order, each at most once: the tunnel kind (then its
/// `dstport`), and `number`.
pub(super) fn port_options(p: &mut Parser) -> PResult<(Option<Tunnel>, Option<u32>)> {
    let mut tunnel: Option<Tunnel> = None;
    let mut number = None;
    loop {
        let t = p.peek().clone();
        let Tok::Word(w) = &t.tok else { break };
        match w.as_str() {
            "number" => {
                p.next();
                if number.is_some() {
                    p.error_tok(&t, "\"number\" given twice".into());
                    return Err(Skip);
                }
                number = Some(p.number("port number", 1, u64::from(PORT_NUMBER_MAX))? as u32);
            }
            "vxlan" | "geneve" => {
                p.next();
                if tunnel.is_some() {
                    p.error_tok(&t, "a port has one tunnel kind".into());
                    return Err(Skip);
                }
                let kind = if w == "vxlan" {
                    TunnelKind::Vxlan
                } else {
                    TunnelKind::Geneve
                };
                tunnel = Some(Tunnel {
                    kind,
                    dst_port: kind.default_port(),
                });
            }
            "dstport" => {
                p.next();
                let Some(tun) = tunnel.as_mut() else {
                    p.error_tok(
                        &t,
                        "\"dstport\" needs a tunnel kind before it (vxlan or geneve)".into(),
                    );
                    return Err(Skip);
                };
                tun.dst_port = p.number("dstport", 1, 65535)? as u16;
            }
            _ => break,
        }
    }
    Ok((tunnel, number))
}

/// `meter N rate R kbps [burst B kb]`.
pub(super) fn meter(p: &mut Parser, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
    let id_tok = p.peek().clone();
    let id = p.number("meter id", 1, u64::from(METER_ID_MAX))? as u32;
    p.keyword("rate")?;
    let rate_kbps = p.number("meter rate", 1, u64::from(u32::MAX))? as u32;
    p.keyword("kbps")?;
    let burst_kb = if p.optional_keyword("burst") {
        let n = p.number("meter burst", 1, u64::from(u32::MAX))? as u32;
        p.keyword("kb")?;
        Some(n)
    } else {
        None
    };
    p.end_of_statement(true)?;
    b.local_only.push(("meter", Loc::of(kw)));
    if let Some(first) = b.meter_locs.get(&id) {
        let msg = format!("duplicate meter {id} (first at {first})");
        p.error_tok(&id_tok, msg);
        return Ok(());
    }
    b.meter_locs.insert(id, Loc::of(kw));
    b.sw.meters.push(Meter {
        id,
        rate_kbps,
        burst_kb,
    });
    Ok(())
}
