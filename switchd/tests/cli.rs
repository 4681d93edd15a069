//! switchd's command line without starting the daemon: `-n`, `-nv`, `-D`, `-c`, `-t`, and
//! the errors that must reach the terminal before it daemonizes.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn switchd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchd"))
        .args(args)
        .output()
        .expect("run switchd")
}

struct Conf(PathBuf);

impl Conf {
    fn new(name: &str, text: &str) -> Conf {
        let p =
            std::env::temp_dir().join(format!("switchd-cli-{}-{name}.conf", std::process::id()));
        std::fs::write(&p, text).expect("write config");
        Conf(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Conf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn n_checks_and_nv_prints_a_config_that_parses_again() {
    let c = Conf::new("ok", "listen on 127.0.0.1 port 6654\nuser \"_switchd\"\n");
    let o = switchd(&["-n", "-f", c.path()]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr, "configuration OK\n");

    let o = switchd(&["-nv", "-c", "10", "-t", "5", "-f", c.path()]);
    let (printed, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        printed.contains("listen on 127.0.0.1 port 6654\n"),
        "{printed}"
    );
    assert!(printed.contains("cache 10\n"), "-c overrides: {printed}");
    assert!(printed.contains("timeout 5\n"), "-t overrides: {printed}");
    let again = Conf::new("again", &printed);
    let o = switchd(&["-nv", "-c", "10", "-t", "5", "-f", again.path()]);
    assert_eq!(
        out(&o).0,
        printed,
        "the printed form parses to the same configuration"
    );
}

#[test]
fn n_reports_every_error_with_file_and_line() {
    let c = Conf::new(
        "bad",
        "listen on 127.0.0.1 port 6654\nnonsense here\nlisten on 127.0.0.1 port 99999\n",
    );
    let o = switchd(&["-n", "-f", c.path()]);
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert!(stderr.contains(&format!("{}:2:", c.path())), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:", c.path())), "{stderr}");
    assert!(!stderr.contains("configuration OK"));

    let o = switchd(&["-n", "-f", "/nonexistent/switchd.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).1.contains("/nonexistent/switchd.conf"),
        "{}",
        out(&o).1
    );
}

#[test]
fn bad_usage_prints_usage() {
    for args in [&["-x"][..], &["-f"], &["-c", "lots"], &["stray"]] {
        let o = switchd(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            out(&o).1.contains("usage: switchd [-dnv]"),
            "{args:?}: {}",
            out(&o).1
        );
    }
}

#[test]
fn a_missing_user_is_reported_with_the_command_that_creates_it() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to get past the privilege check");
        return;
    }
    let c = Conf::new(
        "nouser",
        "listen on 127.0.0.1 port 1\nuser \"switchd-no-such-user\"\nsocket \"/nonexistent/s.sock\"\n",
    );
    let o = switchd(&["-d", "-f", c.path()]);
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr.contains("useradd -r -s /usr/sbin/nologin -d /var/empty switchd-no-such-user"),
        "{stderr}"
    );
}

#[test]
fn child_titles_are_not_a_way_in() {
    // argv[0] alone selects a child role, but only with a parent channel on descriptor 3.
    let o = Command::new(env!("CARGO_BIN_EXE_switchd"))
        .arg0("switchd: ofp")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).1.contains("is a process switchd starts itself"),
        "{}",
        out(&o).1
    );
}
