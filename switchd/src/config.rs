//! The daemon's one door to its configuration: load it, apply the command-line overrides,
//! and name listeners the way every process names them.

use std::net::SocketAddr;
use std::path::Path;

pub use shim::{Config, Listen};

/// `-c` and `-t` from the command line; they win over the file, also after a reload.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub cache: Option<u32>,
    pub timeout: Option<u32>,
}

/// Load and validate `path`; on failure every error as one `file:line: message`.
pub fn load(
    path: &Path,
    defines: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, Vec<String>> {
    let mut config = shim::load(path, defines).map_err(|e| {
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
    Ok(config)
}

/// The name of a listener everywhere (logs, IPC, switchctl): `addr:port`, `[v6]:port`.
pub fn listen_name(l: &Listen) -> String {
    SocketAddr::new(l.addr, l.port).to_string()
}

/// A stand-in for the `conf` crate with its announced API, until it is merged: the few
/// global settings the process model needs, one per line.
mod shim {
    use std::fmt;
    use std::net::IpAddr;
    use std::path::{Path, PathBuf};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Config {
        pub listen: Vec<Listen>,
        pub socket: PathBuf,
        pub socket_group: Option<String>,
        pub user: String,
        pub chroot: PathBuf,
        pub timeout: u32,
        pub cache: u32,
        pub echo_interval: u32,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Listen {
        pub addr: IpAddr,
        pub port: u16,
    }

    #[derive(Debug)]
    pub struct Errors(pub Vec<String>);

    impl fmt::Display for Errors {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, e) in self.0.iter().enumerate() {
                if i > 0 {
                    writeln!(f)?;
                }
                write!(f, "{e}")?;
            }
            Ok(())
        }
    }

    impl fmt::Display for Config {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for l in &self.listen {
                writeln!(f, "listen on {} port {}", l.addr, l.port)?;
            }
            writeln!(f, "socket \"{}\"", self.socket.display())?;
            if let Some(g) = &self.socket_group {
                writeln!(f, "socket group {g}")?;
            }
            writeln!(f, "user {}", self.user)?;
            writeln!(f, "chroot \"{}\"", self.chroot.display())?;
            writeln!(f, "timeout {}", self.timeout)?;
            writeln!(f, "cache {}", self.cache)
        }
    }

    pub fn load(path: &Path, _defines: &[(String, String)]) -> Result<Config, Errors> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| Errors(vec![format!("{name}:0: {e}")]))?;
        let mut c = Config {
            listen: Vec::new(),
            socket: PathBuf::from("/run/switchd.sock"),
            socket_group: None,
            user: "_switchd".into(),
            chroot: PathBuf::from("/var/empty"),
            timeout: 240,
            cache: 4096,
            echo_interval: 15,
        };
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let w: Vec<&str> = line
                .split_whitespace()
                .map(|w| w.trim_matches('"'))
                .collect();
            let err = |m: &str| format!("{name}:{}: {m}", i + 1);
            match w.as_slice() {
                [] => {}
                ["listen", "on", a, "port", p] => match (a.parse(), p.parse()) {
                    (Ok(addr), Ok(port)) => c.listen.push(Listen { addr, port }),
                    _ => errors.push(err("invalid listen address or port")),
                },
                ["socket", p, "group", g] => {
                    c.socket = PathBuf::from(p);
                    c.socket_group = Some(g.to_string());
                }
                ["socket", p] => c.socket = PathBuf::from(p),
                ["user", u] => c.user = u.to_string(),
                ["chroot", p] => c.chroot = PathBuf::from(p),
                ["timeout", n] => match n.parse() {
                    Ok(n) => c.timeout = n,
                    Err(_) => errors.push(err("invalid timeout")),
                },
                ["cache", n] => match n.parse() {
                    Ok(n) => c.cache = n,
                    Err(_) => errors.push(err("invalid cache")),
                },
                _ => errors.push(err("syntax error")),
            }
        }
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        if c.listen.is_empty() {
            c.listen.push(Listen {
                addr: IpAddr::from([127, 0, 0, 1]),
                port: 6653,
            });
        }
        Ok(c)
    }
}
