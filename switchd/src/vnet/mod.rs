//! The virtual networks of switchd.conf (`hypervisor`, `network`, `vm`; conf's `vnet`
//! module) made real on this host: its hypervisor's part compiled into one ordinary local
//! switch ([`compile::compile`]) that joins the configuration's switches, so that the flow
//! table, TC, `show flows`, restart adoption and reload diffing treat it as any other.
//!
//! - `mod.rs`: which hypervisor this host is, and the hook into the configuration's loading;
//! - `compile.rs`: the compiler and the pipeline it generates (documented there and in
//!   switchd(8)).

pub mod compile;
pub mod show;
#[cfg(test)]
mod tests;

pub use compile::{compile, Compiled, BRIDGE, SWITCH};

/// The hypervisor this switchd is: the one `-H` names, or the host's name.
pub fn this_hypervisor(flag: Option<&str>) -> Result<String, String> {
    if let Some(h) = flag {
        return Ok(h.to_string());
    }
    match nix::unistd::gethostname() {
        Ok(h) => h
            .into_string()
            .map_err(|h| format!("the host name {h:?} is not UTF-8: name the hypervisor with -H")),
        Err(e) => Err(format!(
            "cannot read the host name ({e}): name the hypervisor with -H"
        )),
    }
}

/// Appends this hypervisor's part of the virtual networks to `config.switches`.
///
/// `flag` is `-H`'s hypervisor: it must be one of the file. Without it the host name is
/// taken, and a host that is no hypervisor of the file gets no part (`switchd -n` says so).
/// Errors as `file:line: message` lines.
pub fn apply(config: &mut conf::Config, flag: Option<&str>) -> Result<(), Vec<String>> {
    let Some(vnet) = &config.vnet else {
        if let Some(h) = flag {
            return Err(vec![format!(
                "-H {h}: the configuration describes no virtual networks"
            )]);
        }
        return Ok(());
    };
    let me = this_hypervisor(flag).map_err(|e| vec![e])?;
    if !vnet.hypervisors.iter().any(|h| h.name == me) {
        if flag.is_some() {
            return Err(vec![format!(
                "-H {me}: no hypervisor \"{me}\" in the configuration"
            )]);
        }
        return Ok(());
    }
    for s in &config.switches {
        if s.name == SWITCH || s.bridge.as_deref() == Some(BRIDGE) {
            let at = s
                .flows
                .first()
                .map(|f| format!("{}: ", f.file))
                .unwrap_or_default();
            return Err(vec![format!(
                "{at}switch \"{}\": the name \"{SWITCH}\" and the bridge \"{BRIDGE}\" are the virtual networks' own",
                s.name
            )]);
        }
    }
    let c = compile(vnet, &me)?;
    if let Some(sw) = c.switch {
        config.switches.push(sw);
    }
    Ok(())
}

/// What `switchd -n` says about the virtual networks: every hypervisor's part compiled
/// (the first errors are returned), and one line on which hypervisor this host is.
pub fn check_all(config: &conf::Config, flag: Option<&str>) -> Result<String, Vec<String>> {
    let Some(vnet) = &config.vnet else {
        return Ok(String::new());
    };
    let mut errors = Vec::new();
    let mut flows = 0usize;
    for h in &vnet.hypervisors {
        match compile(vnet, &h.name) {
            Ok(c) => flows += c.switch.map_or(0, |s| s.flows.len()),
            Err(e) => errors.extend(
                e.into_iter()
                    .map(|e| format!("{e} (hypervisor {})", h.name)),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let me = this_hypervisor(flag).map_err(|e| vec![e])?;
    let mine = config.switches.iter().find(|s| s.name == SWITCH);
    let line = match (vnet.hypervisors.iter().any(|h| h.name == me), mine) {
        (false, _) => format!(
            "virtual networks: {} hypervisors, {} networks, {flows} flows; this host ({me}) is none of them",
            vnet.hypervisors.len(),
            vnet.networks.len()
        ),
        (true, None) => format!(
            "virtual networks: {} hypervisors, {} networks, {flows} flows; this host is hypervisor {me}, which hosts no vm",
            vnet.hypervisors.len(),
            vnet.networks.len()
        ),
        (true, Some(s)) => format!(
            "virtual networks: {} hypervisors, {} networks, {flows} flows; this host is hypervisor {me}: switch \"{SWITCH}\" on bridge \"{BRIDGE}\", {} ports, {} meters, {} flows",
            vnet.hypervisors.len(),
            vnet.networks.len(),
            s.ports.len(),
            s.meters.len(),
            s.flows.len()
        ),
    };
    Ok(line)
}
