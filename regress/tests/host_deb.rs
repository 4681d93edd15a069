//! Host tier: the Debian package. Built from a copy of the tree with the one command the
//! README gives (`dpkg-buildpackage -b -us -uc`, with SWITCHD_BIN_DIR naming the
//! workspace's release build so that nothing is compiled twice),
//! checked by lintian (no errors), then installed with `apt-get install ./switchd_*.deb`
//! into a clean Debian 12 system (debootstrap minbase, made once by regress/debian-chroot
//! and cached where the runner keeps its downloads; unpacked afresh for every run). There
//! the service is installed but not enabled, /etc/switchd.conf is a conffile, _switchd
//! exists, `switchd -n -f /etc/switchd.conf` accepts the shipped file, and the daemon runs
//! (in a network namespace of its own, under the unit's capability bounding set and
//! no_new_privs, as systemd would start it) and answers `switchctl show summary` and
//! `GET /metrics`.
//!
//! The chroot's mounts live in a private mount namespace (`unshare --mount`) and go with
//! it; the scratch directory and the network namespace are guards.

use std::path::{Path, PathBuf};
use std::process::Command;

use regress::workspace::TempDir;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// The tree's files (tracked and new, not ignored) copied into `dest`.
fn copy_tree(dest: &Path) {
    let files = run(
        "git ls-files",
        Command::new("git").current_dir(root()).args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ]),
    );
    for f in files.split('\0').filter(|f| !f.is_empty()) {
        let from = root().join(f);
        if !from.is_file() {
            continue;
        }
        let to = dest.join(f);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
}

/// The unit's CapabilityBoundingSet as setpriv(1) reads it: `-all,+net_admin,...`.
fn bounding_set() -> String {
    let unit = std::fs::read_to_string(root().join("etc/switchd.service")).expect("the unit");
    let caps = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit has a CapabilityBoundingSet");
    let mut s = String::from("-all");
    for c in caps.split_whitespace() {
        s.push_str(",+");
        s.push_str(&c.trim_start_matches("CAP_").to_lowercase());
    }
    s
}

/// Inside the chroot, as root, in a private mount namespace: install, check, run.
const SCRIPT: &str = r#"
set -eu
root=$1 deb=$2 archives=$3 ns=$4 caps=$5
mount -t proc proc "$root/proc"
mount --bind "$archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
ch() { chroot "$root" "$@"; }
ch apt-get update -q >/dev/null
ch env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$deb")" >/dev/null
echo "== files"; ch dpkg -L switchd | grep -E "^/(usr/sbin|usr/share/man|lib/systemd|usr/lib/sysusers.d|etc)/.+" | sort
echo "== conffiles"; ch dpkg-query -W -f='${Conffiles}\n' switchd
echo "== user"; ch getent passwd _switchd
echo "== enabled"; ch systemctl is-enabled switchd.service || true
echo "== running"
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && cat "$p/comm" 2>/dev/null
done
echo none
echo "== postinst"; grep -h 'deb-systemd-invoke' "$root/var/lib/dpkg/info/switchd.postinst" || echo "starts nothing"
echo "== check"; ch /usr/sbin/switchd -n -f /etc/switchd.conf 2>&1
echo "== run"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" setpriv --no-new-privs --bounding-set="$caps" \
	chroot "$root" /usr/sbin/switchd -d -f /etc/switchd.conf >"$root/tmp/switchd.log" 2>&1 &
pid=$!
ok=""
for i in $(seq 1 100); do
	if ch switchctl show summary >"$root/tmp/summary" 2>&1; then ok=1; break; fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
echo "== summary"; cat "$root/tmp/summary"
echo "== metrics"; ip netns exec "$ns" curl -sS --max-time 5 http://127.0.0.1:9302/metrics | grep -E '^switchd_process_resident_memory_bytes' || true
kill "$pid" 2>/dev/null || true
wait "$pid" || true
echo "== log"; cat "$root/tmp/switchd.log"
[ -n "$ok" ]
"#;

/// `== name` sections of the script's output.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("== {name}\n"))
        .map(|i| i + name.len() + 4)
        .unwrap_or_else(|| panic!("no section {name} in\n{out}"));
    let rest = &out[start..];
    &rest[..rest.find("\n== ").map(|i| i + 1).unwrap_or(rest.len())]
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn package_builds_passes_lintian_installs_and_runs_on_debian_12() {
    let tarball = run(
        "regress/debian-chroot",
        &mut Command::new(root().join("regress/debian-chroot")),
    );
    let tarball = PathBuf::from(tarball.trim());
    let archives = tarball.with_file_name("debian12-apt-archives");
    std::fs::create_dir_all(archives.join("partial")).expect("apt archive cache");

    let dir = TempDir::new("swt-deb");
    let src = dir.0.join("switchd-0.1.0");
    copy_tree(&src);
    // The workspace's release binaries (regress/run has built them; a no-op then): the
    // copy would otherwise compile the workspace's crates again under its own path.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        "cargo build --release",
        Command::new(cargo).current_dir(root()).args([
            "build",
            "--release",
            "--locked",
            "-p",
            "switchd",
            "-p",
            "switchctl",
        ]),
    );
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    run(
        "dpkg-buildpackage -b -us -uc",
        Command::new("dpkg-buildpackage")
            .current_dir(&src)
            .args(["-b", "-us", "-uc"])
            .env("SWITCHD_BIN_DIR", target.join("release")),
    );
    let deb = std::fs::read_dir(&dir.0)
        .expect("the build directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned());
            n.is_some_and(|n| n.starts_with("switchd_") && n.ends_with(".deb"))
        })
        .expect("dpkg-buildpackage made switchd_*.deb");

    let lintian = Command::new("lintian")
        .args(["--fail-on", "error", "--no-tag-display-limit"])
        .arg(&deb)
        .output()
        .expect("run lintian");
    let tags = String::from_utf8_lossy(&lintian.stdout);
    assert!(
        lintian.status.success() && !tags.lines().any(|l| l.starts_with("E:")),
        "lintian reports errors:\n{tags}{}",
        String::from_utf8_lossy(&lintian.stderr)
    );

    let chroot = dir.0.join("root");
    std::fs::create_dir(&chroot).expect("chroot directory");
    run(
        "unpack the Debian 12 system",
        Command::new("tar")
            .arg("-C")
            .arg(&chroot)
            .arg("-xf")
            .arg(&tarball),
    );
    let ns = Netns(regress::unique_name());
    run(
        "ip netns add",
        Command::new("ip").args(["netns", "add", &ns.0]),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--fork", "bash", "-c", SCRIPT, "bash"])
        .arg(&chroot)
        .arg(&deb)
        .arg(&archives)
        .arg(&ns.0)
        .arg(bounding_set())
        .output()
        .expect("run the install script");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "install and run failed:\n{text}");

    let files = section(&text, "files");
    for f in [
        "/usr/sbin/switchd",
        "/usr/sbin/switchctl",
        "/usr/share/man/man8/switchd.8.gz",
        "/usr/share/man/man8/switchctl.8.gz",
        "/usr/share/man/man5/switchd.conf.5.gz",
        "/lib/systemd/system/switchd.service",
        "/usr/lib/sysusers.d/switchd.conf",
        "/etc/switchd.conf",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} not installed:\n{files}");
    }
    assert!(
        section(&text, "conffiles").contains("/etc/switchd.conf "),
        "{text}"
    );
    assert!(section(&text, "user").starts_with("_switchd:"), "{text}");
    assert_eq!(section(&text, "enabled").trim(), "disabled", "{text}");
    // Nothing runs from the chroot after the install, and the package starts nothing.
    assert_eq!(section(&text, "running").trim(), "none", "{text}");
    assert!(!section(&text, "postinst").contains(" start"), "{text}");
    assert_eq!(section(&text, "check").trim(), "configuration OK", "{text}");
    let summary = section(&text, "summary");
    assert!(summary.contains("127.0.0.1:6653"), "{text}");
    assert!(summary.contains("config file:"), "{text}");
    assert!(
        section(&text, "metrics")
            .contains("switchd_process_resident_memory_bytes{process=\"ofp\"}"),
        "{text}"
    );
}
