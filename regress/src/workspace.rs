//! The workspace's own binaries and what running the daemon in a test needs: an
//! unprivileged user and a scratch directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};

/// The directory of the binaries built with the running test (target/<profile>).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/<test>-HASH -> target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path to a workspace binary. `cargo build` runs once first: `cargo test -p regress` alone
/// would not rebuild switchd, and a stale daemon makes for confusing failures. Without
/// cargo (a test binary run by hand) the binaries already built are used.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "switchd", "-p", "switchctl"]);
        if bin_dir().ends_with("release") {
            cmd.arg("--release");
        }
        match cmd.status() {
            Ok(st) => assert!(st.success(), "cargo build -p switchd -p switchctl failed"),
            Err(e) => eprintln!("cannot run cargo ({e}); using the binaries already built"),
        }
    });
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// The unprivileged user must exist; the tests do not depend on regress/setup for it.
pub(crate) fn ensure_user(user: &str) {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|u| u == user) {
        return;
    }
    let exists = Command::new("getent")
        .args(["passwd", user])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !exists {
        let st = Command::new("useradd")
            .args(["-r", "-s", "/usr/sbin/nologin", "-d", "/var/empty", user])
            .status()
            .expect("run useradd");
        assert!(st.success(), "useradd {user} failed");
    }
    done.push(user.to_string());
}

/// A temporary directory `<tmp>/<prefix>-<pid>-<n>`, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
