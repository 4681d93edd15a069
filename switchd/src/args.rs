//! The command line: `switchd [-dnv] [-D macro=value] [-f file] [-c cachesize] [-t timeout]
//! [-H hypervisor]`.

use std::path::PathBuf;

use crate::config::Overrides;

pub const USAGE: &str =
    "usage: switchd [-dnv] [-D macro=value] [-f file] [-c cachesize] [-t timeout] [-H hypervisor]";

/// The default configuration file.
pub(crate) const DEFAULT_CONFIG: &str = "/etc/switchd.conf";

#[derive(Debug, Clone)]
pub struct Args {
    /// `-d`: stay in the foreground and log to stderr.
    pub(crate) debug: bool,
    /// `-n`: check the configuration and exit.
    pub(crate) noaction: bool,
    /// `-v`, repeatable.
    pub(crate) verbose: u8,
    /// `-D name=value`.
    pub(crate) defines: Vec<(String, String)>,
    pub(crate) file: PathBuf,
    pub(crate) overrides: Overrides,
}

/// Parse the arguments after the program name, getopt style (`-dv`, `-ffile`, `-f file`).
pub fn parse<I: IntoIterator<Item = String>>(argv: I) -> Result<Args, String> {
    let mut a = Args {
        debug: false,
        noaction: false,
        verbose: 0,
        defines: Vec::new(),
        file: PathBuf::from(DEFAULT_CONFIG),
        overrides: Overrides::default(),
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument \"{arg}\""));
        };
        for (i, c) in flags.char_indices() {
            match c {
                'd' => a.debug = true,
                'n' => a.noaction = true,
                'v' => a.verbose = a.verbose.saturating_add(1),
                'D' | 'f' | 'c' | 't' | 'H' => {
                    let rest = &flags[i + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        it.next()
                            .ok_or_else(|| format!("option -{c} needs a value"))?
                    } else {
                        rest.to_string()
                    };
                    match c {
                        'D' => a.defines.push(parse_define(&value)?),
                        'f' => a.file = PathBuf::from(value),
                        'c' => a.overrides.cache = Some(number(c, &value)?),
                        'H' => a.overrides.hypervisor = Some(value),
                        _ => a.overrides.timeout = Some(number(c, &value)?),
                    }
                    break;
                }
                _ => return Err(format!("unknown option -{c}")),
            }
        }
    }
    if let Some(extra) = it.next() {
        return Err(format!("unexpected argument \"{extra}\""));
    }
    Ok(a)
}

fn parse_define(value: &str) -> Result<(String, String), String> {
    conf::parse_define(value).ok_or_else(|| format!("could not parse macro definition {value}"))
}

fn number(opt: char, value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("-{opt} {value}: not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn getopt_style() {
        let a = p(&["-dvv", "-f", "x.conf", "-Dport=6654", "-c", "10", "-t5"]).unwrap();
        assert!(a.debug && !a.noaction);
        assert_eq!(a.verbose, 2);
        assert_eq!(a.file, PathBuf::from("x.conf"));
        assert_eq!(a.defines, vec![("port".into(), "6654".into())]);
        assert_eq!(a.overrides.cache, Some(10));
        assert_eq!(a.overrides.timeout, Some(5));
        assert_eq!(
            p(&["-H", "hv3"]).unwrap().overrides.hypervisor.as_deref(),
            Some("hv3")
        );
        let a = p(&["-nv"]).unwrap();
        assert!(a.noaction && a.verbose == 1);
        assert_eq!(a.file, PathBuf::from(DEFAULT_CONFIG));
        assert!(p(&["-x"]).is_err());
        assert!(p(&["-f"]).is_err());
        assert!(p(&["-c", "many"]).is_err());
        assert!(p(&["-D", "novalue"]).is_err());
        assert!(p(&["extra"]).is_err());
    }
}
