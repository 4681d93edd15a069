//! The recursive-descent parser and the semantic checks.
//!
//! Like OpenBSD's parse.y it keeps going after an error: the statement in error is skipped to
//! its end (end of line or `;`, or the `}` of its block), and every error is collected. The
//! checks that need a whole `switch` block run at its `}` but report the line of the statement
//! concerned; errors are sorted into reading order at the end.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

mod tunnel;
mod vnet;

use crate::error::{ConfError, Errors};
use crate::lex::{is_macro_name, Lexer, Tok, Token};
use crate::{
    lowest_unused, Config, FailMode, Flow, ForwardTo, KeyPair, Listen, Port, Switch, TableMiss,
};

/// Every keyword; none of them can be a macro name.
const KEYWORDS: &[&str] = &[
    "bridge",
    "cache",
    "certificate",
    "chroot",
    "controller",
    "datapath-id",
    "drop",
    "dstport",
    "echo-interval",
    "fail-mode",
    "flow",
    "forward",
    "geneve",
    "group",
    "hypervisor",
    "include",
    "key",
    "listen",
    "meter",
    "metrics",
    "network",
    "normal",
    "number",
    "on",
    "pki",
    "port",
    "secure",
    "socket",
    "standalone",
    "switch",
    "table-miss",
    "take",
    "timeout",
    "tls",
    "to",
    "user",
    "vxlan",
];

const GLOBAL_KEYWORDS: &[&str] = &[
    "include",
    "listen",
    "metrics",
    "socket",
    "user",
    "chroot",
    "timeout",
    "cache",
    "echo-interval",
    "switch",
    "tls",
    "hypervisor",
    "network",
];

const SWITCH_KEYWORDS: &[&str] = &[
    "bridge",
    "datapath-id",
    "port",
    "table-miss",
    "flow",
    "forward",
    "fail-mode",
    "take",
    "meter",
];

/// Linux's IFNAMSIZ less the terminating NUL.
const IFNAME_MAX: usize = 15;
/// sun_path less the terminating NUL.
const SOCKET_PATH_MAX: usize = 107;

/// A statement error was reported; skip to the end of the statement.
struct Skip;

type PResult<T> = Result<T, Skip>;

/// Where something was written, for "first given at" messages.
#[derive(Clone)]
struct Loc {
    file: Rc<str>,
    line: u32,
    seq: u64,
}

impl Loc {
    fn of(t: &Token) -> Self {
        Loc {
            file: t.file.clone(),
            line: t.line,
            seq: t.seq,
        }
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

pub(crate) fn parse(
    name: &str,
    text: &str,
    dir: PathBuf,
    defines: &[(String, String)],
) -> Result<Config, Errors> {
    parse_with(name, text, dir, defines, true)
}

/// [`parse`], with `include` refused unless `includes`.
pub(crate) fn parse_with(
    name: &str,
    text: &str,
    dir: PathBuf,
    defines: &[(String, String)],
    includes: bool,
) -> Result<Config, Errors> {
    let mut lex = Lexer::new(name, text, dir, defines);
    lex.includes = includes;
    let mut p = Parser {
        lex,
        peeked: None,
        cfg: Config {
            listen: Vec::new(),
            ..Config::default()
        },
        globals: HashMap::new(),
        switch_names: HashMap::new(),
        dpids: HashMap::new(),
        bridges: HashMap::new(),
        port_owner: HashMap::new(),
        tls_listen: None,
        tls_forward: None,
        vnet: vnet::State::default(),
    };
    p.grammar();
    p.check_tls();
    p.check_vnet();
    if p.cfg.listen.is_empty() {
        p.cfg.listen.push(Listen::default());
    }
    let mut errors = std::mem::take(&mut p.lex.errors);
    if errors.is_empty() {
        return Ok(p.cfg);
    }
    errors.sort_by_key(|(seq, _)| *seq);
    Err(Errors(errors.into_iter().map(|(_, e)| e).collect()))
}

struct Parser {
    lex: Lexer,
    peeked: Option<Token>,
    cfg: Config,
    /// Global settings that may be given once, and where.
    globals: HashMap<&'static str, Loc>,
    switch_names: HashMap<String, Loc>,
    dpids: HashMap<u64, String>,
    bridges: HashMap<String, String>,
    port_owner: HashMap<String, String>,
    /// The first `listen on ... tls` and `forward to tls:`, for the checks at the end.
    tls_listen: Option<Loc>,
    tls_forward: Option<Loc>,
    /// The virtual-network part's checks (`parse/vnet.rs`).
    vnet: vnet::State,
}

/// A switch block being read, with where each local-only statement was.
struct SwitchBuilder {
    sw: Switch,
    at: Loc,
    given: HashMap<&'static str, Loc>,
    local_only: Vec<(&'static str, Loc)>,
    port_locs: Vec<Loc>,
    /// Whether each port was numbered automatically.
    port_auto: Vec<bool>,
    used_numbers: BTreeSet<u32>,
    /// Where each `meter` id was first given.
    meter_locs: HashMap<u32, Loc>,
    /// Statements seen, even those in error: a "bridge" in error still makes the switch
    /// local for the checks at the end, so one mistake gives one error.
    seen: BTreeSet<&'static str>,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::LBrace => "\"{\"".into(),
        Tok::RBrace => "\"}\"".into(),
        Tok::Semi => "\";\"".into(),
        Tok::Eq => "\"=\"".into(),
        Tok::Newline => "end of line".into(),
        Tok::Eof | Tok::FileEnd => "end of file".into(),
        Tok::Bad(c) => format!("\"{}\"", c.escape_default()),
        Tok::Error => "error".into(),
    }
}

enum NumberError {
    NotANumber,
    TooLarge,
}

/// Decimal, or hexadecimal after `0x`.
fn parse_number(s: &str) -> Result<u64, NumberError> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumberError::NotANumber);
    }
    u64::from_str_radix(digits, radix).map_err(|_| NumberError::TooLarge)
}

/// A number, or eight colon-separated octets in hex (`00:00:00:00:00:00:00:01`).
fn parse_dpid(s: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "invalid datapath-id \"{s}\": expected a number (decimal or 0x hex) or eight hex \
             octets separated by \":\""
        )
    };
    if !s.contains(':') {
        return parse_number(s).map_err(|e| match e {
            NumberError::NotANumber => invalid(),
            NumberError::TooLarge => format!("datapath-id \"{s}\" is too large (over 64 bits)"),
        });
    }
    let octets: Vec<&str> = s.split(':').collect();
    let ok = octets.len() == 8
        && octets
            .iter()
            .all(|o| (1..=2).contains(&o.len()) && o.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(invalid());
    }
    Ok(octets.iter().fold(0u64, |acc, o| {
        (acc << 8) | u64::from(u8::from_str_radix(o, 16).unwrap_or(0))
    }))
}

/// A static flow must be one `ovs-ofctl add-flow` takes: it parses for OpenFlow 1.3 or,
/// failing that, for 1.0 (the version the switch speaks is known only when it connects; the
/// 1.3 error is the one reported). switchd marks static flows with a cookie of its own, so
/// the text may not set one.
///
/// `Ok` holds the flow as a 1.3 OFPT_FLOW_MOD message, or why it is none (a 1.0 flow).
pub(crate) fn check_flow(text: &str) -> Result<Result<Arc<[u8]>, String>, String> {
    use ofproto::{text as t, v10, v13};
    let (cookie, of13) = match t::parse_flow(text, v13::FlowModCommand::Add) {
        Ok(fm) => {
            let cookie = fm.cookie;
            let mut wire = bytes::BytesMut::new();
            v13::Message::FlowMod(fm).encode(0, &mut wire);
            (cookie, Ok(Arc::from(&wire[..])))
        }
        Err(e) => match t::parse_flow10(text, v10::FlowModCommand::Add) {
            Ok(fm) => (fm.cookie, Err(format!("bad flow for OpenFlow 1.3: {e}"))),
            Err(_) => return Err(e.to_string()),
        },
    };
    if cookie != 0 {
        return Err(
            "cookie= is not allowed: switchd gives static flows a cookie of its own".into(),
        );
    }
    Ok(of13)
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `tcp:HOST:PORT` or `tls:HOST:PORT`, HOST a name, an IPv4 address or a bracketed IPv6
/// address.
fn parse_forward(s: &str) -> Result<ForwardTo, String> {
    let syntax = || format!("forward to: expected tcp:HOST:PORT or tls:HOST:PORT, got \"{s}\"");
    let (scheme, rest) = s.split_once(':').ok_or_else(syntax)?;
    if scheme != "tcp" && scheme != "tls" {
        if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "forward to: unsupported scheme \"{scheme}\" (tcp and tls are supported)"
            ));
        }
        return Err(syntax());
    }
    let missing_port = || format!("forward to: missing port in \"{s}\"");
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(syntax)?;
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(format!("forward to: invalid IPv6 address \"{addr}\""));
        }
        if after.is_empty() {
            return Err(missing_port());
        }
        let port = after.strip_prefix(':').ok_or_else(syntax)?;
        (addr, port)
    } else {
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(missing_port());
        };
        if host.contains(':') {
            return Err(format!(
                "forward to: an IPv6 address needs brackets: tcp:[ADDRESS]:PORT, got \"{s}\""
            ));
        }
        if !is_hostname(host) {
            return Err(format!("forward to: invalid host \"{host}\""));
        }
        (host, port)
    };
    if port.is_empty() {
        return Err(missing_port());
    }
    let n = match port.parse::<u64>() {
        Ok(n) if port.chars().all(|c| c.is_ascii_digit()) => n,
        _ => return Err(format!("forward to: invalid port \"{port}\"")),
    };
    if !(1..=65535).contains(&n) {
        return Err(format!("forward to: port {n} out of range (1-65535)"));
    }
    Ok(ForwardTo {
        host: host.to_string(),
        port: n as u16,
        tls: scheme == "tls",
    })
}

fn check_ifname(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= IFNAME_MAX
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} name \"{s}\": an interface name has 1-{IFNAME_MAX} characters, \
             without \"/\", \":\" or white space"
        ))
    }
}

impl Parser {
    fn peek(&mut self) -> &Token {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next_token());
        }
        self.peeked.as_ref().expect("just filled")
    }

    fn next(&mut self) -> Token {
        match self.peeked.take() {
            Some(t) => t,
            None => self.lex.next_token(),
        }
    }

    fn error(&mut self, at: &Loc, message: String) {
        self.lex.errors.push((
            at.seq,
            ConfError {
                file: at.file.to_string(),
                line: at.line,
                message,
            },
        ));
    }

    fn error_tok(&mut self, at: &Token, message: String) {
        self.error(&Loc::of(at), message);
    }

    /// Reports that the next token is not `what` (unless the lexer already reported it).
    fn expected<T>(&mut self, what: &str) -> PResult<T> {
        let t = self.peek().clone();
        if t.tok != Tok::Error {
            self.error_tok(
                &t,
                format!("syntax error: expected {what}, got {}", describe(&t.tok)),
            );
        }
        Err(Skip)
    }

    /// A word or a quoted string.
    fn string(&mut self, what: &str) -> PResult<(String, Token)> {
        match &self.peek().tok {
            Tok::Word(s) | Tok::Str(s) => {
                let s = s.clone();
                Ok((s, self.next()))
            }
            _ => self.expected(what),
        }
    }

    fn nonempty(&mut self, what: &str) -> PResult<(String, Token)> {
        let (s, t) = self.string(what)?;
        if s.is_empty() {
            self.error_tok(&t, format!("{what} is empty"));
            return Err(Skip);
        }
        Ok((s, t))
    }

    fn keyword(&mut self, kw: &str) -> PResult<()> {
        if matches!(&self.peek().tok, Tok::Word(w) if w == kw) {
            self.next();
            Ok(())
        } else {
            self.expected(&format!("\"{kw}\""))
        }
    }

    fn optional_keyword(&mut self, kw: &str) -> bool {
        if matches!(&self.peek().tok, Tok::Word(w) if w == kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn number(&mut self, what: &str, lo: u64, hi: u64) -> PResult<u64> {
        let (s, t) = self.string("a number")?;
        let n = match parse_number(&s) {
            Ok(n) => n,
            Err(NumberError::NotANumber) => {
                self.error_tok(&t, format!("{what} \"{s}\" is not a number"));
                return Err(Skip);
            }
            Err(NumberError::TooLarge) => {
                self.error_tok(&t, format!("{what} {s} out of range ({lo}-{hi})"));
                return Err(Skip);
            }
        };
        if !(lo..=hi).contains(&n) {
            self.error_tok(&t, format!("{what} {n} out of range ({lo}-{hi})"));
            return Err(Skip);
        }
        Ok(n)
    }

    /// One of `choices`, as bare words.
    fn choice<T: Copy>(&mut self, what: &str, choices: &[(&str, T)]) -> PResult<T> {
        if let Tok::Word(w) = &self.peek().tok {
            if let Some(&(_, v)) = choices.iter().find(|(k, _)| k == w) {
                self.next();
                return Ok(v);
            }
        }
        let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        };
        self.expected(&format!("{what} ({list})"))
    }

    /// End of a statement: end of line, `;`, end of file, or (in a block) its `}`.
    fn end_of_statement(&mut self, in_block: bool) -> PResult<()> {
        match self.peek().tok {
            Tok::Newline | Tok::Semi => {
                self.next();
                Ok(())
            }
            Tok::Eof | Tok::FileEnd => Ok(()),
            Tok::RBrace if in_block => Ok(()),
            _ => self.expected("end of line"),
        }
    }

    /// Skips the rest of a statement in error, with any `{ ... }` it opened.
    fn skip_statement(&mut self, in_block: bool) {
        let mut depth = 0u32;
        loop {
            match self.peek().tok {
                Tok::Eof | Tok::FileEnd => return,
                Tok::Newline | Tok::Semi if depth == 0 => {
                    self.next();
                    return;
                }
                Tok::RBrace if depth == 0 && in_block => return,
                Tok::RBrace => {
                    depth = depth.saturating_sub(1);
                    self.next();
                }
                Tok::LBrace => {
                    depth += 1;
                    self.next();
                }
                _ => {
                    self.next();
                }
            }
        }
    }

    /// A setting that may be given once; reports a repeat.
    fn once(
        given: &mut HashMap<&'static str, Loc>,
        what: &'static str,
        t: &Token,
    ) -> Result<(), String> {
        if let Some(first) = given.get(what) {
            return Err(format!("\"{what}\" is given twice (first at {first})"));
        }
        given.insert(what, Loc::of(t));
        Ok(())
    }

    fn grammar(&mut self) {
        loop {
            let t = self.next();
            let w = match &t.tok {
                Tok::Eof => return,
                Tok::Newline | Tok::Semi | Tok::FileEnd | Tok::Error => {
                    if t.tok == Tok::Error {
                        self.skip_statement(false);
                    }
                    continue;
                }
                Tok::Word(w) => w.clone(),
                other => {
                    let msg = format!("syntax error: expected a keyword, got {}", describe(other));
                    self.error_tok(&t, msg);
                    self.skip_statement(false);
                    continue;
                }
            };
            let r = if self.peek().tok == Tok::Eq {
                self.varset(&w, &t)
            } else {
                match w.as_str() {
                    "include" => self.include(),
                    "listen" => self.listen(&t),
                    "metrics" => self.metrics(&t),
                    "socket" => self.socket(&t),
                    "user" => self.user(&t),
                    "chroot" => self.chroot(&t),
                    "timeout" => self
                        .global_number(&t, "timeout")
                        .map(|n| self.cfg.timeout = n),
                    "cache" => self.global_number(&t, "cache").map(|n| self.cfg.cache = n),
                    "echo-interval" => self
                        .global_number(&t, "echo-interval")
                        .map(|n| self.cfg.echo_interval = n),
                    "switch" => self.switch(&t),
                    "tls" => self.tls(&t),
                    "hypervisor" => self.hypervisor(&t),
                    "network" => self.network(&t),
                    w if SWITCH_KEYWORDS.contains(&w) => {
                        self.error_tok(&t, format!("\"{w}\" is only valid in a switch block"));
                        Err(Skip)
                    }
                    w if vnet::NETWORK_KEYWORDS.contains(&w) => {
                        self.error_tok(&t, format!("\"{w}\" is only valid in a network block"));
                        Err(Skip)
                    }
                    w => {
                        self.error_tok(&t, format!("unknown keyword \"{w}\""));
                        Err(Skip)
                    }
                }
            };
            if r.is_err() {
                self.skip_statement(false);
            }
        }
    }

    fn varset(&mut self, name: &str, t: &Token) -> PResult<()> {
        self.next(); // "="
        if KEYWORDS.contains(&name) {
            self.error_tok(t, format!("keyword \"{name}\" cannot be a macro name"));
            return Err(Skip);
        }
        if !is_macro_name(name) {
            self.error_tok(
                t,
                format!("invalid macro name \"{name}\": use letters, digits and \"_\""),
            );
            return Err(Skip);
        }
        let (value, _) = self.string("a macro value")?;
        self.end_of_statement(false)?;
        self.lex.set_macro(name, &value);
        Ok(())
    }

    fn include(&mut self) -> PResult<()> {
        let (path, t) = self.nonempty("a file name")?;
        // The include's own end of line is read before the file starts.
        self.end_of_statement(false)?;
        debug_assert!(self.peeked.is_none());
        if let Err(e) = self.lex.include(&path) {
            self.error_tok(&t, e);
        }
        Ok(())
    }

    fn listen(&mut self, kw: &Token) -> PResult<()> {
        self.keyword("on")?;
        let (a, t) = self.string("an IP address")?;
        let bare = a
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(&a);
        let Ok(addr) = bare.parse::<IpAddr>() else {
            self.error_tok(
                &t,
                format!("invalid listen address \"{a}\": an IP address is needed"),
            );
            return Err(Skip);
        };
        let tls = self.optional_keyword("tls");
        let port = if self.optional_keyword("port") {
            self.number("port", 1, 65535)? as u16
        } else {
            crate::DEFAULT_PORT
        };
        self.end_of_statement(false)?;
        let l = Listen { addr, port, tls };
        if tls && self.tls_listen.is_none() {
            self.tls_listen = Some(Loc::of(kw));
        }
        if self
            .cfg
            .listen
            .iter()
            .any(|o| (o.addr, o.port) == (addr, port))
        {
            self.error_tok(kw, format!("duplicate listen on {addr} port {port}"));
            return Ok(());
        }
        self.cfg.listen.push(l);
        Ok(())
    }

    /// `metrics listen on ADDRESS port N`.
    fn metrics(&mut self, kw: &Token) -> PResult<()> {
        self.keyword("listen")?;
        self.keyword("on")?;
        let (a, t) = self.string("an IP address")?;
        let bare = a
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(&a);
        let Ok(addr) = bare.parse::<IpAddr>() else {
            let msg = format!("invalid metrics address \"{a}\": an IP address is needed");
            self.error_tok(&t, msg);
            return Err(Skip);
        };
        self.keyword("port")?;
        let port = self.number("port", 1, 65535)? as u16;
        self.end_of_statement(false)?;
        if self.cfg.metrics.is_some() {
            self.error_tok(kw, "metrics listen given twice".into());
            return Ok(());
        }
        self.cfg.metrics = Some(std::net::SocketAddr::new(addr, port));
        Ok(())
    }

    /// `tls pki DIRECTORY`, `tls controller certificate FILE key FILE`, `tls switch
    /// certificate FILE key FILE`.
    fn tls(&mut self, kw: &Token) -> PResult<()> {
        if self.optional_keyword("pki") {
            let (dir, t) = self.nonempty("a directory")?;
            self.end_of_statement(false)?;
            self.set_once("tls pki", kw);
            if !dir.starts_with('/') {
                self.error_tok(&t, format!("tls pki \"{dir}\" is not absolute"));
            }
            self.cfg.tls.pki = PathBuf::from(dir);
            return Ok(());
        }
        let (who, what) = match self.choice(
            "pki, controller or switch",
            &[("controller", true), ("switch", false)],
        )? {
            true => ("controller", "tls controller"),
            false => ("switch", "tls switch"),
        };
        self.keyword("certificate")?;
        let (certificate, _) = self.nonempty("a certificate file")?;
        self.keyword("key")?;
        let (key, _) = self.nonempty("a key file")?;
        self.end_of_statement(false)?;
        self.set_once(what, kw);
        let kp = Some(KeyPair {
            certificate: PathBuf::from(certificate),
            key: PathBuf::from(key),
        });
        if who == "controller" {
            self.cfg.tls.controller = kp;
        } else {
            self.cfg.tls.switch = kp;
        }
        Ok(())
    }

    /// TLS channels need the certificate switchd presents on them.
    fn check_tls(&mut self) {
        if let Some(at) = self.tls_listen.clone() {
            if self.cfg.tls.controller.is_none() {
                self.error(
                    &at,
                    "listen on ... tls needs \"tls controller certificate FILE key FILE\"".into(),
                );
            }
        }
        if let Some(at) = self.tls_forward.clone() {
            if self.cfg.tls.switch.is_none() {
                self.error(
                    &at,
                    "forward to tls: needs \"tls switch certificate FILE key FILE\"".into(),
                );
            }
        }
    }

    fn set_once(&mut self, what: &'static str, t: &Token) {
        if let Err(e) = Self::once(&mut self.globals, what, t) {
            self.error_tok(t, e);
        }
    }

    fn socket(&mut self, kw: &Token) -> PResult<()> {
        let (path, t) = self.nonempty("a socket path")?;
        let group = if self.optional_keyword("group") {
            Some(self.nonempty("a group name")?.0)
        } else {
            None
        };
        self.end_of_statement(false)?;
        self.set_once("socket", kw);
        if !path.starts_with('/') {
            self.error_tok(&t, format!("socket path \"{path}\" is not absolute"));
        } else if path.len() > SOCKET_PATH_MAX {
            self.error_tok(
                &t,
                format!("socket path \"{path}\" is too long (at most {SOCKET_PATH_MAX} bytes)"),
            );
        }
        self.cfg.socket = PathBuf::from(path);
        self.cfg.socket_group = group;
        Ok(())
    }

    fn user(&mut self, kw: &Token) -> PResult<()> {
        let (user, _) = self.nonempty("a user name")?;
        self.end_of_statement(false)?;
        self.set_once("user", kw);
        self.cfg.user = user;
        Ok(())
    }

    fn chroot(&mut self, kw: &Token) -> PResult<()> {
        let (path, t) = self.nonempty("a directory")?;
        self.end_of_statement(false)?;
        self.set_once("chroot", kw);
        if !path.starts_with('/') {
            self.error_tok(&t, format!("chroot directory \"{path}\" is not absolute"));
        }
        self.cfg.chroot = PathBuf::from(path);
        Ok(())
    }

    fn global_number(&mut self, kw: &Token, what: &'static str) -> PResult<u32> {
        let n = self.number(what, 1, u64::from(u32::MAX))? as u32;
        self.end_of_statement(false)?;
        self.set_once(what, kw);
        Ok(n)
    }

    fn switch(&mut self, kw: &Token) -> PResult<()> {
        let header = self.nonempty("a switch name").and_then(|(name, _)| {
            while self.peek().tok == Tok::Newline {
                self.next();
            }
            if self.peek().tok != Tok::LBrace {
                return self.expected("\"{\"");
            }
            self.next();
            Ok(name)
        });
        let Ok(name) = header else {
            self.skip_switch();
            return Ok(());
        };
        let at = Loc::of(kw);
        if let Some(first) = self.switch_names.get(&name) {
            let msg = format!("duplicate switch \"{name}\" (first at {first})");
            self.error(&at, msg);
        } else {
            self.switch_names.insert(name.clone(), at.clone());
        }
        let mut b = SwitchBuilder {
            sw: Switch::new(name),
            at,
            given: HashMap::new(),
            local_only: Vec::new(),
            port_locs: Vec::new(),
            port_auto: Vec::new(),
            used_numbers: BTreeSet::new(),
            meter_locs: HashMap::new(),
            seen: BTreeSet::new(),
        };
        let closed = loop {
            let t = self.next();
            let w = match &t.tok {
                Tok::RBrace => break true,
                Tok::Eof | Tok::FileEnd => {
                    let msg = format!(
                        "syntax error: switch \"{}\" has no closing \"}}\"",
                        b.sw.name
                    );
                    self.error(&b.at, msg);
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
            if let Some(k) = SWITCH_KEYWORDS.iter().find(|k| **k == w) {
                b.seen.insert(k);
            }
            let r = match w.as_str() {
                "bridge" => self.bridge(&mut b, &t),
                "datapath-id" => self.datapath_id(&mut b, &t),
                "port" => self.port(&mut b, &t),
                "table-miss" => self.table_miss(&mut b, &t),
                "flow" => self.flow(&mut b),
                "forward" => self.forward(&mut b, &t),
                "fail-mode" => self.fail_mode(&mut b, &t),
                "take" => self.take_ports(&mut b, &t),
                "meter" => tunnel::meter(self, &mut b, &t),
                w if GLOBAL_KEYWORDS.contains(&w) => {
                    self.error_tok(&t, format!("\"{w}\" is not valid in a switch block"));
                    Err(Skip)
                }
                w if self.peek().tok == Tok::Eq => {
                    self.error_tok(&t, format!("macro \"{w}\" must be defined outside blocks"));
                    Err(Skip)
                }
                w => {
                    self.error_tok(&t, format!("unknown keyword \"{w}\""));
                    Err(Skip)
                }
            };
            if r.is_err() {
                self.skip_statement(true);
            }
        };
        self.finish_switch(b);
        if closed {
            self.end_of_statement(false)
        } else {
            Ok(())
        }
    }

    /// After a broken `switch` header, skips the block that probably follows, so that its
    /// statements are not taken for top-level ones: to its `}`, or to the next line that
    /// starts with `switch`.
    fn skip_switch(&mut self) {
        let mut line_start = false;
        let mut depth = 0u32;
        loop {
            match &self.peek().tok {
                Tok::Eof | Tok::FileEnd => return,
                Tok::Word(w) if line_start && depth == 0 && w == "switch" => return,
                Tok::LBrace => depth += 1,
                Tok::RBrace if depth <= 1 => {
                    self.next();
                    let _ = self.end_of_statement(false);
                    return;
                }
                Tok::RBrace => depth -= 1,
                _ => {}
            }
            line_start = self.next().tok == Tok::Newline;
        }
    }

    fn block_once(&mut self, b: &mut SwitchBuilder, what: &'static str, t: &Token) {
        if let Err(e) = Self::once(&mut b.given, what, t) {
            self.error_tok(t, e);
        }
    }

    fn bridge(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        let (name, t) = self.string("a bridge name")?;
        self.end_of_statement(true)?;
        self.block_once(b, "bridge", kw);
        if let Err(e) = check_ifname("bridge", &name) {
            self.error_tok(&t, e);
        } else if let Some(other) = self.bridges.get(&name) {
            let msg = format!("duplicate bridge \"{name}\" (also in switch \"{other}\")");
            self.error_tok(&t, msg);
        } else {
            self.bridges.insert(name.clone(), b.sw.name.clone());
        }
        b.sw.bridge = Some(name);
        Ok(())
    }

    fn datapath_id(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        let (s, t) = self.string("a datapath id")?;
        let dpid = match parse_dpid(&s) {
            Ok(d) => d,
            Err(e) => {
                self.error_tok(&t, e);
                return Err(Skip);
            }
        };
        self.end_of_statement(true)?;
        self.block_once(b, "datapath-id", kw);
        if let Some(other) = self.dpids.get(&dpid) {
            let msg = format!("duplicate datapath-id 0x{dpid:016x} (also in switch \"{other}\")");
            self.error_tok(&t, msg);
        } else {
            self.dpids.insert(dpid, b.sw.name.clone());
        }
        b.sw.datapath_id = Some(dpid);
        Ok(())
    }

    fn port(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        let (name, t) = self.string("a port name")?;
        let (tunnel, number) = tunnel::port_options(self)?;
        self.end_of_statement(true)?;
        b.local_only.push(("port", Loc::of(kw)));
        if let Err(e) = check_ifname("port", &name) {
            self.error_tok(&t, e);
            return Ok(());
        }
        if b.sw.ports.iter().any(|p| p.name == name) {
            let msg = format!("duplicate port \"{name}\" in switch \"{}\"", b.sw.name);
            self.error_tok(&t, msg);
            return Ok(());
        }
        if let Some(other) = self.port_owner.get(&name) {
            let msg = format!("port \"{name}\" is already in switch \"{other}\"");
            self.error_tok(&t, msg);
            return Ok(());
        }
        self.port_owner.insert(name.clone(), b.sw.name.clone());
        let n = match number {
            Some(n) => {
                if b.used_numbers.contains(&n) {
                    let holder =
                        b.sw.ports
                            .iter()
                            .zip(&b.port_auto)
                            .find(|(p, _)| p.number == Some(n));
                    let msg = match holder {
                        Some((p, true)) => format!(
                            "duplicate port number {n}: port \"{}\" was numbered {n} automatically",
                            p.name
                        ),
                        Some((p, false)) => {
                            format!("duplicate port number {n}: already port \"{}\"", p.name)
                        }
                        None => format!("duplicate port number {n}"),
                    };
                    self.error_tok(&t, msg);
                    return Ok(());
                }
                n
            }
            None => lowest_unused(&b.used_numbers),
        };
        b.used_numbers.insert(n);
        b.sw.ports.push(Port {
            name,
            number: Some(n),
            tunnel,
        });
        b.port_locs.push(Loc::of(&t));
        b.port_auto.push(number.is_none());
        Ok(())
    }

    fn table_miss(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        let v = self.choice(
            "a table-miss action",
            &[
                ("normal", TableMiss::Normal),
                ("controller", TableMiss::Controller),
                ("drop", TableMiss::Drop),
            ],
        )?;
        self.end_of_statement(true)?;
        self.block_once(b, "table-miss", kw);
        b.local_only.push(("table-miss", Loc::of(kw)));
        b.sw.table_miss = v;
        Ok(())
    }

    fn flow(&mut self, b: &mut SwitchBuilder) -> PResult<()> {
        let (text, t) = self.nonempty("a flow")?;
        self.end_of_statement(true)?;
        match Flow::new(text, t.file.to_string(), t.line) {
            Ok(f) => b.sw.flows.push(f),
            Err(e) => self.error_tok(&t, format!("bad flow: {e}")),
        }
        Ok(())
    }

    fn forward(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        self.keyword("to")?;
        let (s, t) = self.string("tcp:HOST:PORT")?;
        let f = match parse_forward(&s) {
            Ok(f) => f,
            Err(e) => {
                self.error_tok(&t, e);
                return Err(Skip);
            }
        };
        self.end_of_statement(true)?;
        b.local_only.push(("forward to", Loc::of(kw)));
        if f.tls && self.tls_forward.is_none() {
            self.tls_forward = Some(Loc::of(kw));
        }
        // Repeated: one more controller of the switch (6.3.6), each address once.
        let first = b.sw.forward_to.iter();
        if first.chain(&b.sw.also_forward_to).any(|o| *o == f) {
            self.error_tok(&t, format!("forward to {f} given twice"));
        } else if b.sw.forward_to.is_none() {
            b.sw.forward_to = Some(f);
        } else {
            b.sw.also_forward_to.push(f);
        }
        Ok(())
    }

    fn fail_mode(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        let v = self.choice(
            "a fail mode",
            &[
                ("secure", FailMode::Secure),
                ("standalone", FailMode::Standalone),
            ],
        )?;
        self.end_of_statement(true)?;
        self.block_once(b, "fail-mode", kw);
        b.local_only.push(("fail-mode", Loc::of(kw)));
        b.sw.fail_mode = v;
        Ok(())
    }

    fn take_ports(&mut self, b: &mut SwitchBuilder, kw: &Token) -> PResult<()> {
        self.keyword("ports")?;
        self.end_of_statement(true)?;
        self.block_once(b, "take ports", kw);
        b.local_only.push(("take ports", Loc::of(kw)));
        b.sw.take_ports = true;
        Ok(())
    }

    /// The checks that need the whole block: what an external switch may not have.
    fn finish_switch(&mut self, b: SwitchBuilder) {
        let name = &b.sw.name;
        match &b.sw.bridge {
            None if b.seen.contains("bridge") => {}
            None => {
                if !b.seen.contains("datapath-id") {
                    let msg = format!(
                        "switch \"{name}\": an external switch (one without \"bridge\") \
                         needs a \"datapath-id\""
                    );
                    self.error(&b.at, msg);
                }
                for (what, at) in &b.local_only {
                    let msg = format!(
                        "switch \"{name}\": \"{what}\" is only valid for a local switch \
                         (one with a \"bridge\")"
                    );
                    self.error(at, msg);
                }
            }
            Some(bridge) => {
                for (p, at) in b.sw.ports.iter().zip(&b.port_locs) {
                    if &p.name == bridge {
                        let msg = format!("port \"{bridge}\" is the bridge itself");
                        self.error(at, msg);
                    }
                }
            }
        }
        self.cfg.switches.push(b.sw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x10").ok(), Some(16));
        assert_eq!(parse_number("10").ok(), Some(10));
        assert!(parse_number("0x").is_err());
        assert!(parse_number("-1").is_err());
        assert!(parse_number("18446744073709551616").is_err());
    }

    #[test]
    fn dpids() {
        assert_eq!(parse_dpid("00:00:00:00:00:00:00:01"), Ok(1));
        assert_eq!(parse_dpid("ff:0:0:0:0:0:0:a"), Ok(0xff00_0000_0000_000a));
        assert!(parse_dpid("00:00:01").is_err());
    }

    #[test]
    fn forwards() {
        let f = parse_forward("tcp:[::1]:6653").map_err(|_| ()).unwrap();
        assert_eq!((f.host.as_str(), f.port), ("::1", 6653));
        let f = parse_forward("tcp:ctl.example.org:6633")
            .map_err(|_| ())
            .unwrap();
        assert_eq!((f.host.as_str(), f.port), ("ctl.example.org", 6633));
        assert!(parse_forward("tls:h:1").is_ok_and(|f| f.tls));
        assert!(parse_forward("ssl:h:1").is_err());
        assert!(parse_forward("tcp:h").is_err());
        assert!(parse_forward("tcp:h:").is_err());
        assert!(parse_forward("tcp:[::1]").is_err());
        assert!(parse_forward("tcp:::1:80").is_err());
        assert!(parse_forward("tcp:h:0").is_err());
    }
}
