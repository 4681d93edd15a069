//! switchctl(8): the operator's tool for switchd.
//!
//! `switchctl [-s socket] [-j] command`; the protocol is switchd's `ctlproto`: one JSON
//! request line, one JSON response line (or a stream of event lines for `monitor`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use switchd::ctlproto::{self, Event, Request, Response, Summary, Table, TableKind};

mod parse;

const USAGE: &str = "usage: switchctl [-s socket] [-j] command [argument ...]
commands:
  show summary
  show switches|ports|macs|flows [switch]
  reload
  log verbose|brief
  monitor
  parse [--check] file ...";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("switchctl: {msg}");
            ExitCode::FAILURE
        }
    }
}

struct Opts {
    socket: String,
    json: bool,
}

fn run(args: Vec<String>) -> Result<ExitCode, String> {
    let mut opts = Opts {
        socket: ctlproto::DEFAULT_SOCKET.to_string(),
        json: false,
    };
    let mut it = args.into_iter().peekable();
    while let Some(a) = it.peek() {
        match a.as_str() {
            "-j" => {
                opts.json = true;
                it.next();
            }
            "-s" => {
                it.next();
                opts.socket = it.next().ok_or("option -s needs a socket path")?;
            }
            s if s.starts_with("-s") => {
                opts.socket = s[2..].to_string();
                it.next();
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            _ => break,
        }
    }
    let words: Vec<String> = it.collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
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
        ["show", table] => Request::Show {
            table: TableKind::parse(table)?,
            switch: None,
        },
        ["show", table, switch] => Request::Show {
            table: TableKind::parse(table)?,
            switch: Some(switch.to_string()),
        },
        ["reload"] => Request::Reload,
        ["log", "verbose"] => Request::Log { verbose: true },
        ["log", "brief"] => Request::Log { verbose: false },
        ["monitor"] => Request::Monitor,
        _ => return None,
    })
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
        let json = match resp {
            Response::Summary(s) => serde_json::to_string_pretty(s),
            Response::Table(t) => serde_json::to_string_pretty(t),
            other => serde_json::to_string_pretty(other),
        };
        println!("{}", json.unwrap_or_default());
    } else {
        match resp {
            Response::Summary(s) => print_summary(s),
            Response::Table(t) => print!("{}", render_table(t)),
            Response::Ok { message } => println!("{message}"),
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
                    serde_json::to_string(&e).unwrap_or_default()
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
        assert_eq!(parse_command(&["show", "nonsense"]), None);
        assert_eq!(parse_command(&[]), None);
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
