//! Host tier: `switchctl load FILE` reads FILE as the user who runs switchctl, not as root:
//! a member of the socket group cannot make switchd read (and quote in its errors) a file
//! that user cannot read, directly or through an `include`.

use std::os::unix::fs::PermissionsExt;

use regress::daemon::Daemon;
use regress::free_tcp_port;

/// nobody, in the group that owns the control socket (nogroup).
const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

#[test]
fn load_reads_the_file_as_the_switchctl_user() {
    let d = Daemon::builder()
        .socket_group("nogroup")
        .start()
        .expect("switchd");
    let other = free_tcp_port().expect("port");

    // Root's file: switchctl cannot read it, and switchd is never asked to.
    let secret = d.dir().join("secret.conf");
    std::fs::write(&secret, "secret-line-42 {\n").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let s = secret.display().to_string();
    let o = d.switchctl().run_as(NOBODY, NOGROUP, &["load", &s]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!err.contains("secret-line-42"), "{err}");

    // Nor through an include in a file the user can read.
    let inc = d.dir().join("include.conf");
    std::fs::write(&inc, format!("include \"{s}\"\n")).expect("write");
    let o = d
        .switchctl()
        .run_as(NOBODY, NOGROUP, &["load", &inc.display().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("not read here"), "{err}");
    assert!(!err.contains("secret-line-42"), "{err}\n{}", d.log());

    // A file the user can read is loaded.
    let good = d.dir().join("good.conf");
    std::fs::write(&good, d.config().clone().with_port(other).text()).expect("write");
    let o = d
        .switchctl()
        .run_as(NOBODY, NOGROUP, &["load", &good.display().to_string()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = d.ctl_ok(&["show", "summary"]);
    assert!(summary.contains(&format!("127.0.0.1:{other}")), "{summary}");
}
