//! Host tier: switchctl against a running switchd without switches — `load FILE`,
//! what `reload` says about settings only a restart applies, getopt-style options, and the
//! one shape of `-j` output (errors included).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use regress::workspace::{bin, ensure_user, TempDir};
use regress::{free_tcp_port, Proc};

const USER: &str = "_switchd";

struct Daemon {
    _proc: Proc,
    sock: PathBuf,
    conf: PathBuf,
    stderr: PathBuf,
    dir: TempDir,
}

fn config(dir: &Path, port: u16, sock: &Path, extra: &str) -> String {
    format!(
        "listen on 127.0.0.1 port {port}\nsocket \"{}\"\nuser \"{USER}\"\nchroot \"{}\"\n{extra}",
        sock.display(),
        dir.join("empty").display()
    )
}

impl Daemon {
    fn start(port: u16) -> Daemon {
        ensure_user(USER);
        let dir = TempDir::new("switchd-ctl-test");
        let chroot = dir.0.join("empty");
        std::fs::create_dir(&chroot).expect("mkdir chroot");
        std::fs::set_permissions(&chroot, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod chroot");
        let sock = dir.0.join("switchd.sock");
        let conf = dir.0.join("switchd.conf");
        let stderr = dir.0.join("stderr");
        std::fs::write(&conf, config(&dir.0, port, &sock, "")).expect("write config");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let proc = Proc::spawn(
            "switchd",
            Command::new(bin("switchd"))
                .args(["-d", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err),
        )
        .expect("start switchd");
        let d = Daemon {
            _proc: proc,
            sock,
            conf,
            stderr,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(d.sock.exists() && d.ctl(&["show", "summary"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "switchd did not come up; stderr:\n{}",
                d.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("switchctl"))
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run switchctl")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn summary(&self) -> String {
        let o = self.ctl(&["show", "summary"]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn load_reads_another_file_once_and_keeps_the_running_one_on_errors() {
    let port = free_tcp_port().expect("port");
    let d = Daemon::start(port);
    let other = free_tcp_port().expect("port");

    // A file with errors: file:line for each, exit 1, nothing changes.
    let bad = d.dir.0.join("bad.conf");
    std::fs::write(
        &bad,
        config(
            &d.dir.0,
            other,
            &d.sock,
            "bogus 1\nswitch \"s\" {\n\tdatapath-id 1\n\tflow \"icmp,actions=frobnicate\"\n}\n",
        ),
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
    assert!(!d.summary().contains(&format!("127.0.0.1:{other}")));

    // A good one, given relative to switchctl's directory: applied.
    let good = d.dir.0.join("good.conf");
    std::fs::write(&good, config(&d.dir.0, other, &d.sock, "")).expect("write");
    let o = Command::new(bin("switchctl"))
        .current_dir(&d.dir.0)
        .arg(format!("-s{}", d.sock.display()))
        .args(["load", "good.conf"])
        .output()
        .expect("switchctl");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("configuration loaded from {}\n", good.display())
    );
    let s = d.summary();
    assert!(
        s.contains(&format!("127.0.0.1:{other}")) && !s.contains(&format!("127.0.0.1:{port} ")),
        "{s}"
    );

    // A plain reload reads the daemon's own file again.
    let o = d.ctl(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = d.summary();
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
    let port = free_tcp_port().expect("port");
    let d = Daemon::start(port);
    let moved = d.dir.0.join("moved.sock");
    std::fs::write(&d.conf, config(&d.dir.0, port, &moved, "")).expect("write");
    let o = d.ctl(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    let note = format!(
        "socket changed in {}: not applied, it takes effect when switchd restarts",
        d.conf.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("configuration reloaded\nnote: {note}\n")
    );
    assert!(d.stderr().contains(&note), "{}", d.stderr());
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
    let port = free_tcp_port().expect("port");
    let d = Daemon::start(port);
    let sock = d.sock.display().to_string();
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
