//! The daemon's one door to its configuration: load it, apply the command-line overrides,
//! and name listeners the way every process names them.

use std::net::SocketAddr;
use std::path::Path;

pub(crate) use conf::{Config, Listen};

/// `-c` and `-t` from the command line; they win over the file, also after a reload.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) cache: Option<u32>,
    pub(crate) timeout: Option<u32>,
    /// `-H name`: the hypervisor of the virtual networks this host is (default: its name).
    pub(crate) hypervisor: Option<String>,
}

/// Load and validate `path`; on failure every error as one `file:line: message`.
pub(crate) fn load(
    path: &Path,
    defines: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, Vec<String>> {
    let config = conf::load(path, defines);
    finish(config, overrides)
}

/// As [`load`], from the text `switchctl load` read as its user (named `name`); includes
/// are refused, so that nothing is read with the parent's privileges.
pub(crate) fn load_text(
    name: &str,
    text: &str,
    defines: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, Vec<String>> {
    finish(conf::parse_untrusted(name, text, defines), overrides)
}

fn finish(
    config: Result<Config, conf::Errors>,
    overrides: &Overrides,
) -> Result<Config, Vec<String>> {
    let mut config = config.map_err(|e| {
        e.to_string()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    })?;
    if let Some(c) = overrides.cache {
        config.cache = c;
    }
    if let Some(t) = overrides.timeout {
        config.timeout = t;
    }
    // This hypervisor's part of the virtual networks: one more local switch.
    crate::vnet::apply(&mut config, overrides.hypervisor.as_deref())?;
    Ok(config)
}

/// The name of a listener everywhere (logs, IPC, switchctl): `addr:port`, `[v6]:port`,
/// after `tls:` for a TLS listener.
pub(crate) fn listen_name(l: &Listen) -> String {
    let a = SocketAddr::new(l.addr, l.port);
    if l.tls {
        format!("{TLS_PREFIX}{a}")
    } else {
        a.to_string()
    }
}

/// What a TLS listener's name starts with.
pub(crate) const TLS_PREFIX: &str = "tls:";
