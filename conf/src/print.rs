//! The canonical form: every setting explicit, one statement per line, switch blocks indented
//! by a tab, strings quoted. It is what `switchd -nv` prints, and it parses again to an equal
//! [`Config`].

use std::fmt::{self, Display, Formatter, Write};

use crate::{Config, FailMode, ForwardTo, Switch, TableMiss};

/// A string in double quotes, with `"` and `\` escaped as the lexer reads them.
pub(crate) struct Quoted<'a>(pub &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

impl Display for TableMiss {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableMiss::Normal => "normal",
            TableMiss::Controller => "controller",
            TableMiss::Drop => "drop",
        })
    }
}

impl Display for FailMode {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailMode::Secure => "secure",
            FailMode::Standalone => "standalone",
        })
    }
}

/// `tcp:HOST:PORT`, an IPv6 host in brackets.
impl Display for ForwardTo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "tls" } else { "tcp" };
        write!(f, "{scheme}:{}", self.host_port())
    }
}

impl Display for Config {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for l in &self.listen {
            let tls = if l.tls { " tls" } else { "" };
            writeln!(f, "listen on {}{tls} port {}", l.addr, l.port)?;
        }
        write!(f, "socket {}", Quoted(&self.socket.to_string_lossy()))?;
        if let Some(g) = &self.socket_group {
            write!(f, " group {}", Quoted(g))?;
        }
        writeln!(f)?;
        writeln!(f, "user {}", Quoted(&self.user))?;
        writeln!(f, "chroot {}", Quoted(&self.chroot.to_string_lossy()))?;
        writeln!(f, "timeout {}", self.timeout)?;
        writeln!(f, "cache {}", self.cache)?;
        writeln!(f, "echo-interval {}", self.echo_interval)?;
        if let Some(m) = self.metrics {
            writeln!(f, "metrics listen on {} port {}", m.ip(), m.port())?;
        }
        // Shown once TLS is in use (or the directory is not the default).
        if self.tls != crate::Tls::default() {
            writeln!(f, "tls pki {}", Quoted(&self.tls.pki.to_string_lossy()))?;
        }
        for (who, kp) in [
            ("controller", &self.tls.controller),
            ("switch", &self.tls.switch),
        ] {
            if let Some(kp) = kp {
                writeln!(
                    f,
                    "tls {who} certificate {} key {}",
                    Quoted(&kp.certificate.to_string_lossy()),
                    Quoted(&kp.key.to_string_lossy())
                )?;
            }
        }
        for s in &self.switches {
            writeln!(f)?;
            write!(f, "{s}")?;
        }
        if let Some(v) = &self.vnet {
            writeln!(f)?;
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl Display for Switch {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "switch {} {{", Quoted(&self.name))?;
        if let Some(b) = &self.bridge {
            writeln!(f, "\tbridge {}", Quoted(b))?;
        }
        if let Some(d) = self.datapath_id {
            writeln!(f, "\tdatapath-id 0x{d:016x}")?;
        }
        if self.is_local() {
            writeln!(f, "\ttable-miss {}", self.table_miss)?;
            writeln!(f, "\tfail-mode {}", self.fail_mode)?;
            if let Some(to) = &self.forward_to {
                writeln!(f, "\tforward to {to}")?;
            }
            for to in &self.also_forward_to {
                writeln!(f, "\tforward to {to}")?;
            }
            if self.take_ports {
                writeln!(f, "\ttake ports")?;
            }
            for p in &self.ports {
                write!(f, "\tport {}", Quoted(&p.name))?;
                if let Some(t) = &p.tunnel {
                    let kind = match t.kind {
                        crate::TunnelKind::Vxlan => "vxlan",
                        crate::TunnelKind::Geneve => "geneve",
                    };
                    write!(f, " {kind} dstport {}", t.dst_port)?;
                }
                if let Some(n) = p.number {
                    write!(f, " number {n}")?;
                }
                writeln!(f)?;
            }
            for m in &self.meters {
                write!(f, "\tmeter {} rate {} kbps", m.id, m.rate_kbps)?;
                if let Some(b) = m.burst_kb {
                    write!(f, " burst {b} kb")?;
                }
                writeln!(f)?;
            }
        }
        for fl in &self.flows {
            writeln!(f, "\tflow {}", Quoted(&fl.text))?;
        }
        writeln!(f, "}}")
    }
}
