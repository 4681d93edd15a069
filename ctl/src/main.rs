//! switchctl(8): the operator's tool for switchd.
//!
//! `switchctl [-j] [-s socket] command`; the protocol is switchd's `ctlproto`: one JSON
//! request line, one JSON response line (or a stream of event lines for `monitor`). With
//! `-j`, what is printed is that response, one JSON document per command (one line per
//! event for `monitor`), errors included.
//!
//! - `parse.rs`: `switchctl parse`, OpenFlow messages in files printed one line each;
//! - here: the command line, the request to the control socket, and printing its answer.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use switchd::ctlproto::{self, Event, Request, Response, Summary, Table, TableKind};

mod ovsfmt;
mod parse;

const USAGE: &str = "usage: switchctl [-j] [-o ovs|json] [-s socket] command [argument ...]
commands:
  show summary
  show switches|ports|macs|flows|refusals [switch]
  show conntrack [switch] [zone n]
  show networks
  add flow switch flow
  del flow switch [match]
  connect switch [forward to tcp:host:port]
  disconnect switch
  reload
  load file
  log verbose|brief
  monitor
  parse [--check] file ...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_options(&args) {
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(opts, _)) => opts,
        Err(msg) => {
            eprintln!("switchctl: {msg}");
            return ExitCode::FAILURE;
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(message) if opts.json => {
            // The same shape as the daemon's own errors.
            print_response(&Response::Error { message }, &opts)
        }
        Err(msg) => {
            eprintln!("switchctl: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Opts {
    socket: String,
    json: bool,
    /// `-o ovs`: flows as `ovs-ofctl dump-flows` prints them.
    ovs: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Help,
    /// The options, and the index of the first word of the command.
    Run(Opts, usize),
}

/// getopt(3) style: flags may be combined (`-js`), an option's argument may follow it in
/// the same word (`-sPATH`) or in the next one, `--` ends the options.
fn parse_options(args: &[String]) -> Result<Parsed, String> {
    let mut opts = Opts {
        socket: ctlproto::DEFAULT_SOCKET.to_string(),
        json: false,
        ovs: false,
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if a == "--help" {
            return Ok(Parsed::Help);
        }
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            break;
        };
        i += 1;
        for (k, c) in flags.char_indices() {
            match c {
                'j' => opts.json = true,
                'h' => return Ok(Parsed::Help),
                'o' => {
                    let rest = &flags[k + 1..];
                    let format = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        args.get(i - 1)
                            .ok_or("option -o needs a format (ovs, json)")?
                    };
                    match format {
                        "ovs" => opts.ovs = true,
                        // `-o json` is `-j`.
                        "json" => opts.json = true,
                        _ => {
                            return Err(format!("unknown output format \"{format}\" (ovs or json)"))
                        }
                    }
                    break;
                }
                's' => {
                    let rest = &flags[k + 1..];
                    opts.socket = if !rest.is_empty() {
                        rest.to_string()
                    } else {
                        let s = args.get(i).ok_or("option -s needs a socket path")?;
                        i += 1;
                        s.clone()
                    };
                    break;
                }
                c => return Err(format!("unknown option -{c}\n{USAGE}")),
            }
        }
    }
    Ok(Parsed::Run(opts, i))
}

fn run(args: Vec<String>) -> Result<ExitCode, String> {
    let (opts, first) = match parse_options(&args)? {
        Parsed::Run(o, i) => (o, i),
        Parsed::Help => return Ok(ExitCode::SUCCESS),
    };
    let mut words: Vec<&str> = args[first..].iter().map(String::as_str).collect();
    // `-o ovs` may also follow the command, as in `show flows -o ovs`.
    let mut opts = opts;
    if let Some(at) = words.windows(2).position(|w| w == ["-o", "ovs"]) {
        words.drain(at..at + 2);
        opts.ovs = true;
    }
    if let Some(at) = words.windows(2).position(|w| w == ["-o", "json"]) {
        words.drain(at..at + 2);
        opts.json = true;
    }
    // `parse` reads files; it needs no daemon.
    if words.first() == Some(&"parse") {
        return parse::run(&words[1..]);
    }
    let req = parse_command(&words).ok_or_else(|| {
        if words.is_empty() {
            format!("no command given\n{USAGE}")
        } else {
            format!("unknown command \"{}\"\n{USAGE}", words.join(" "))
        }
    })?;
    let req = check_request(req)?;
    let req = match req {
        Request::Show {
            table: TableKind::Flows,
            switch,
        } if opts.ovs => Request::Show {
            table: TableKind::OvsFlows,
            switch,
        },
        _ if opts.ovs => return Err("-o ovs applies to show flows only".into()),
        other => other,
    };
    let stream = connect(&opts.socket)?;
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("{}: {e}", opts.socket))?;
    writer
        .write_all(ctlproto::to_line(&req).as_bytes())
        .map_err(|e| format!("{}: {e}", opts.socket))?;
    let mut reader = BufReader::new(stream);
    if req == Request::Monitor {
        // Keep `writer` open: closing it is how the daemon learns that we have gone.
        return monitor(&mut reader, &opts);
    }
    let resp = read_response(&mut reader, &opts.socket)?;
    Ok(print_response(&resp, &opts))
}

fn parse_command(words: &[&str]) -> Option<Request> {
    Some(match words {
        ["show", "summary"] | ["show"] => Request::ShowSummary,
        ["show", "conntrack", rest @ ..] => show_conntrack(rest)?,
        ["show", table] => Request::Show {
            table: TableKind::parse(table)?,
            switch: None,
        },
        ["show", table, switch] => Request::Show {
            table: TableKind::parse(table)?,
            switch: Some(switch.to_string()),
        },
        ["reload"] => Request::Reload,
        ["load", file] => Request::Load {
            file: file.to_string(),
            text: None,
        },
        // A flow may be given as one argument or as several words (joined by a space,
        // which the flow syntax reads as it reads a comma).
        ["add", "flow", switch, flow @ ..] if !flow.is_empty() => Request::AddFlow {
            switch: switch.to_string(),
            flow: flow.join(" "),
        },
        ["del", "flow", switch] => Request::DelFlow {
            switch: switch.to_string(),
            flow: None,
        },
        ["del", "flow", switch, flow @ ..] => Request::DelFlow {
            switch: switch.to_string(),
            flow: Some(flow.join(" ")),
        },
        ["connect", switch] => Request::Connect {
            switch: switch.to_string(),
            forward_to: None,
        },
        ["connect", switch, "forward", "to", to] => Request::Connect {
            switch: switch.to_string(),
            forward_to: Some(to.to_string()),
        },
        ["disconnect", switch] => Request::Disconnect {
            switch: switch.to_string(),
        },
        ["log", "verbose"] => Request::Log { verbose: true },
        ["log", "brief"] => Request::Log { verbose: false },
        ["monitor"] => Request::Monitor,
        _ => return None,
    })
}

/// `show conntrack [SWITCH] [zone N]`.
fn show_conntrack(words: &[&str]) -> Option<Request> {
    let zone = |n: &str| n.parse::<u16>().ok();
    let (switch, zone) = match words {
        [] => (None, None),
        ["zone", n] => (None, Some(zone(n)?)),
        [s] => (Some(s.to_string()), None),
        [s, "zone", n] => (Some(s.to_string()), Some(zone(n)?)),
        _ => return None,
    };
    Some(Request::ShowConntrack { switch, zone })
}

/// What can be checked before the daemon is asked: flow syntax (so that a typo never
/// reaches a switch), and `load`'s file, made absolute (the daemon has its own directory).
fn check_request(req: Request) -> Result<Request, String> {
    match req {
        Request::AddFlow { ref flow, .. } => {
            check_flow(flow, true)?;
            Ok(req)
        }
        Request::DelFlow {
            flow: Some(ref flow),
            ..
        } => {
            check_flow(flow, false)?;
            Ok(req)
        }
        // Read here, as the user running switchctl: switchd never opens a file that a
        // switchctl user names.
        Request::Load { file, .. } => {
            let path = std::path::absolute(&file).map_err(|e| format!("{file}: {e}"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
            Ok(Request::Load {
                file: path.display().to_string(),
                text: Some(text),
            })
        }
        other => Ok(other),
    }
}

/// A flow must parse for OpenFlow 1.3 or 1.0 (the daemon parses it again for the version
/// the switch speaks); the 1.3 error is the one shown.
fn check_flow(flow: &str, add: bool) -> Result<(), String> {
    use ofproto::{text, v10, v13};
    let (c13, c10) = if add {
        (v13::FlowModCommand::Add, v10::FlowModCommand::Add)
    } else {
        (v13::FlowModCommand::Delete, v10::FlowModCommand::Delete)
    };
    match text::parse_flow(flow, c13) {
        Ok(_) => Ok(()),
        Err(_) if text::parse_flow10(flow, c10).is_ok() => Ok(()),
        Err(e) => Err(format!("bad flow \"{flow}\": {e}")),
    }
}

/// Connect, turning the usual failures into sentences that say what to do.
fn connect(path: &str) -> Result<UnixStream, String> {
    UnixStream::connect(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            let group = std::fs::metadata(path)
                .ok()
                .and_then(|md| group_name(md.gid()))
                .unwrap_or_else(|| "root".to_string());
            format!("{path}: permission denied (are you root or in group {group}?)")
        }
        std::io::ErrorKind::NotFound => format!("{path}: no such socket (is switchd running?)"),
        std::io::ErrorKind::ConnectionRefused => {
            format!("{path}: connection refused (is switchd running?)")
        }
        _ => format!("{path}: {e}"),
    })
}

fn group_name(gid: u32) -> Option<String> {
    // SAFETY: getgrgid_r with buffers we own.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut result: *mut libc::group = std::ptr::null_mut();
        let r = libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result);
        if r != 0 || result.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(grp.gr_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

fn read_response(reader: &mut impl BufRead, socket: &str) -> Result<Response, String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err(format!(
            "{socket}: switchd closed the connection without answering"
        )),
        Ok(_) => serde_json::from_str(&line)
            .map_err(|e| format!("{socket}: unreadable answer from switchd: {e}")),
        Err(e) => Err(format!("{socket}: {e}")),
    }
}

fn print_response(resp: &Response, opts: &Opts) -> ExitCode {
    let failed = matches!(
        resp,
        Response::ReloadRejected { .. } | Response::Error { .. }
    );
    if opts.json {
        // Every command prints the daemon's response as it is: one object whose
        // "response" member says which kind it is.
        println!("{}", serde_json::to_string_pretty(resp).unwrap_or_default());
    } else {
        match resp {
            Response::Summary(s) => print_summary(s),
            Response::Table(t) if t.table == TableKind::OvsFlows => match ovsfmt::render(t) {
                Ok(text) => print!("{text}"),
                Err(e) => {
                    eprintln!("switchctl: {e}");
                    return ExitCode::FAILURE;
                }
            },
            Response::Table(t) => print!("{}", render_table(t)),
            Response::Ok { message, notes } => {
                println!("{message}");
                for n in notes {
                    println!("note: {n}");
                }
            }
            Response::ReloadRejected { errors } => {
                for e in errors {
                    eprintln!("{e}");
                }
                eprintln!("switchctl: the new configuration was rejected; the running one stays");
            }
            Response::Error { message } => eprintln!("switchctl: {message}"),
            Response::Event(e) => println!("{}", format_event(e)),
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_summary(s: &Summary) {
    let rows = [
        ("version", s.version.clone()),
        ("pid", s.pid.to_string()),
        ("uptime", format_duration(s.uptime_secs)),
        ("config file", s.config_file.clone()),
        ("datapath", s.datapath.clone()),
        ("monitors", s.monitors.to_string()),
    ];
    for (k, v) in rows {
        println!("{:<12} {v}", format!("{k}:"));
    }
    println!();
    print!(
        "{}",
        render_rows(
            &["listener", "connections"],
            &s.listeners
                .iter()
                .map(|l| vec![l.address.clone(), l.connections.to_string()])
                .collect::<Vec<_>>(),
        )
    );
}

fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

fn render_table(t: &Table) -> String {
    let cols: Vec<&str> = t.columns.iter().map(String::as_str).collect();
    render_rows(&cols, &t.rows)
}

/// Left-aligned columns, two spaces apart, header first.
fn render_rows(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i < width.len() {
                width[i] = width[i].max(cell.len());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(columns.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn format_event(e: &Event) -> String {
    let secs = (e.time_ms / 1000) as libc::time_t;
    let ms = e.time_ms % 1000;
    // SAFETY: localtime_r into a struct we own.
    let stamp = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            format!("{secs}.{ms:03}")
        } else {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{ms:03}",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            )
        }
    };
    format!("{stamp} {}", e.kind)
}

fn monitor(reader: &mut impl BufRead, opts: &Opts) -> Result<ExitCode, String> {
    let stdout = std::io::stdout();
    loop {
        match read_response(reader, &opts.socket) {
            Ok(Response::Event(e)) => {
                let line = if opts.json {
                    serde_json::to_string(&Response::Event(e)).unwrap_or_default()
                } else {
                    format_event(&e)
                };
                let mut out = stdout.lock();
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Ok(other) => return Ok(print_response(&other, opts)),
            Err(e) => return Err(e.replace("without answering", "")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse_command(&["show", "summary"]),
            Some(Request::ShowSummary)
        );
        assert_eq!(
            parse_command(&["show", "flows", "sw0"]),
            Some(Request::Show {
                table: TableKind::Flows,
                switch: Some("sw0".into())
            })
        );
        assert_eq!(
            parse_command(&["log", "verbose"]),
            Some(Request::Log { verbose: true })
        );
        assert_eq!(
            parse_command(&["show", "refusals", "vm"]),
            Some(Request::Show {
                table: TableKind::Refusals,
                switch: Some("vm".into())
            })
        );
        assert_eq!(
            parse_command(&["show", "networks"]),
            Some(Request::Show {
                table: TableKind::Networks,
                switch: None
            })
        );
        assert_eq!(parse_command(&["show", "nonsense"]), None);
        let ct = |switch: Option<&str>, zone| {
            Some(Request::ShowConntrack {
                switch: switch.map(str::to_string),
                zone,
            })
        };
        assert_eq!(parse_command(&["show", "conntrack"]), ct(None, None));
        assert_eq!(
            parse_command(&["show", "conntrack", "vm"]),
            ct(Some("vm"), None)
        );
        assert_eq!(
            parse_command(&["show", "conntrack", "vm", "zone", "7"]),
            ct(Some("vm"), Some(7))
        );
        assert_eq!(
            parse_command(&["show", "conntrack", "zone", "0"]),
            ct(None, Some(0))
        );
        assert_eq!(
            parse_command(&["show", "conntrack", "vm", "zone", "65536"]),
            None
        );
        assert_eq!(parse_command(&["show", "conntrack", "vm", "zone"]), None);
        assert_eq!(parse_command(&[]), None);
    }

    fn opts(args: &[&str]) -> Result<Parsed, String> {
        parse_options(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_combine_as_getopt_does() {
        let run = |json, socket: &str, i| {
            Ok(Parsed::Run(
                Opts {
                    socket: socket.into(),
                    json,
                    ovs: false,
                },
                i,
            ))
        };
        assert_eq!(opts(&["-js", "/x", "show"]), run(true, "/x", 2));
        assert_eq!(opts(&["-j", "-s", "/x", "show"]), run(true, "/x", 3));
        assert_eq!(opts(&["-s/x", "-j", "show"]), run(true, "/x", 2));
        assert_eq!(opts(&["-js/x", "show"]), run(true, "/x", 1));
        assert_eq!(opts(&["-sj", "show"]), run(false, "j", 1));
        assert_eq!(opts(&["--", "-j"]), run(false, ctlproto::DEFAULT_SOCKET, 1));
        assert_eq!(opts(&["-jh"]), Ok(Parsed::Help));
        assert!(opts(&["-s"]).is_err());
        assert!(opts(&["-jq"]).unwrap_err().starts_with("unknown option -q"));
    }

    #[test]
    fn connect_and_disconnect_parse() {
        assert_eq!(
            parse_command(&["connect", "vm", "forward", "to", "tcp:10.0.0.1:6653"]),
            Some(Request::Connect {
                switch: "vm".into(),
                forward_to: Some("tcp:10.0.0.1:6653".into())
            })
        );
        assert_eq!(
            parse_command(&["connect", "vm"]),
            Some(Request::Connect {
                switch: "vm".into(),
                forward_to: None
            })
        );
        assert_eq!(parse_command(&["connect", "vm", "tcp:10.0.0.1:6653"]), None);
        assert_eq!(
            parse_command(&["disconnect", "vm"]),
            Some(Request::Disconnect {
                switch: "vm".into()
            })
        );
    }

    #[test]
    fn flow_commands_parse_and_bad_flows_are_caught_here() {
        assert_eq!(
            parse_command(&["add", "flow", "sw0", "icmp", "actions=drop"]),
            Some(Request::AddFlow {
                switch: "sw0".into(),
                flow: "icmp actions=drop".into()
            })
        );
        assert_eq!(parse_command(&["add", "flow", "sw0"]), None);
        assert_eq!(
            parse_command(&["del", "flow", "1"]),
            Some(Request::DelFlow {
                switch: "1".into(),
                flow: None
            })
        );
        assert!(check_flow("icmp,actions=drop", true).is_ok());
        assert!(check_flow("icmp", false).is_ok());
        let e = check_flow("icmp,actions=frobnicate", true).unwrap_err();
        assert!(
            e.starts_with("bad flow \"icmp,actions=frobnicate\": column "),
            "{e}"
        );
        assert!(check_flow("icmp", true).is_err());
    }

    #[test]
    fn tables_align() {
        let t = render_rows(
            &["switch", "port"],
            &[
                vec!["a-long-name".into(), "1".into()],
                vec!["b".into(), "22".into()],
            ],
        );
        assert_eq!(t, "switch       port\na-long-name  1\nb            22\n");
    }
}
