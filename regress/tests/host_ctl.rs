//! Host tier: switchctl against a running switchd without switches — `load FILE`,
//! what `reload` says about settings only a restart applies, getopt-style options, and the
//! one shape of `-j` output (errors included).

use std::process::{Command, Output};

use regress::daemon::{output_text as text, Daemon};
use regress::free_tcp_port;
use regress::workspace::bin;

fn summary(d: &Daemon) -> String {
    d.ctl_ok(&["show", "summary"])
}

#[test]
fn load_reads_another_file_once_and_keeps_the_running_one_on_errors() {
    let d = Daemon::start().expect("start switchd");
    let port = d.port();
    let other = free_tcp_port().expect("port");

    // A file with errors: file:line for each, exit 1, nothing changes.
    let bad = d.dir().join("bad.conf");
    std::fs::write(
        &bad,
        d.config()
            .clone()
            .with_port(other)
            .with_extra(
                "bogus 1\nswitch \"s\" {\n\tdatapath-id 1\n\tflow \"icmp,actions=frobnicate\"\n}\n",
            )
            .text(),
    )
    .expect("write");
    let o = d.ctl(&["load", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let b = bad.display();
    assert!(
        err.contains(&format!("{b}:5: unknown keyword \"bogus\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{b}:8: bad flow: column 14: unknown action \"frobnicate\""
        )),
        "{err}"
    );
    assert!(err.ends_with("switchctl: the new configuration was rejected; the running one stays\n"));
    assert!(!summary(&d).contains(&format!("127.0.0.1:{other}")));

    // A good one, given relative to switchctl's directory: applied.
    let good = d.dir().join("good.conf");
    std::fs::write(&good, d.config().clone().with_port(other).text()).expect("write");
    let o = Command::new(bin("switchctl"))
        .current_dir(d.dir())
        .arg(format!("-s{}", d.socket().display()))
        .args(["load", "good.conf"])
        .output()
        .expect("switchctl");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("configuration loaded from {}\n", good.display())
    );
    let s = summary(&d);
    assert!(
        s.contains(&format!("127.0.0.1:{other}")) && !s.contains(&format!("127.0.0.1:{port} ")),
        "{s}"
    );

    // A plain reload reads the daemon's own file again.
    let o = d.ctl(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = summary(&d);
    assert!(
        s.contains(&format!("127.0.0.1:{port}")) && !s.contains(&format!("127.0.0.1:{other}")),
        "{s}"
    );

    // A file that is not there is reported by switchctl itself.
    let o = d.ctl(&["load", "/nonexistent/switchd.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).starts_with("switchctl: /nonexistent/switchd.conf: ")
    );
}

#[test]
fn reload_says_which_settings_wait_for_a_restart() {
    let d = Daemon::start().expect("start switchd");
    let moved = d.dir().join("moved.sock");
    d.write_config(&d.config().clone().with_socket(&moved).text());
    let o = d.ctl(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    let note = format!(
        "socket changed in {}: not applied, it takes effect when switchd restarts",
        d.conf().display()
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("configuration reloaded\nnote: {note}\n")
    );
    assert!(d.log().contains(&note), "{}", d.log());
    // It really was not applied: the old socket answers, no new one appeared.
    assert!(!moved.exists());
    let o = d.ctl(&["-j", "reload"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\"notes\": ["),
        "{}",
        text(&o)
    );
}

#[test]
fn options_combine_and_json_has_one_shape_for_every_command() {
    let d = Daemon::start().expect("start switchd");
    let sock = d.socket().display().to_string();
    let run = |args: &[&str]| {
        Command::new(bin("switchctl"))
            .args(args)
            .output()
            .expect("switchctl")
    };
    let out = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    for args in [
        vec!["-js", sock.as_str(), "show", "summary"],
        vec!["-j", "-s", sock.as_str(), "show", "summary"],
        vec!["-j", &format!("-s{sock}"), "show", "summary"],
    ] {
        let o = run(&args.iter().map(|s| &**s).collect::<Vec<_>>());
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            out(&o).starts_with("{\n  \"response\": \"summary\","),
            "{args:?}: {}",
            out(&o)
        );
    }
    let shapes = [
        (vec!["show", "flows"], "table", 0),
        (vec!["log", "brief"], "ok", 0),
        (vec!["add", "flow", "nosuch", "actions=drop"], "error", 1),
        // Found by switchctl itself, printed in the daemon's shape.
        (
            vec!["add", "flow", "nosuch", "actions=frobnicate"],
            "error",
            1,
        ),
    ];
    for (cmd, kind, status) in shapes {
        let mut args = vec!["-js", sock.as_str()];
        args.extend(cmd.iter());
        let o = run(&args);
        assert_eq!(o.status.code(), Some(status), "{cmd:?}: {}", text(&o));
        assert!(
            out(&o).starts_with(&format!("{{\n  \"response\": \"{kind}\"")),
            "{cmd:?}: {}",
            out(&o)
        );
        assert!(o.stderr.is_empty(), "{cmd:?}: {}", text(&o));
    }
    let o = run(&["-js", "/nonexistent.sock", "show"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).contains("\"message\": \"/nonexistent.sock: no such socket"),
        "{}",
        out(&o)
    );
}
