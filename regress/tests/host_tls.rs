//! Host tier: TLS on the OpenFlow channel. A real Open vSwitch (`ovs-vsctl set-ssl`,
//! `set-controller ssl:`) connects to switchd's `listen on ... tls` and the learning switch
//! works over it; peers without a certificate of the switch CA (a plaintext client, a
//! client whose certificate another CA signed, a client with none) are refused, each costing
//! only its own connection; a reload replaces the certificate without dropping the
//! established channel. The certificates are made here, with Debian's `ovs-pki`; the other
//! TLS peer is `openssl s_client`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[path = "common/pki.rs"]
mod pki;

use pki::Pki;
use regress::daemon::{connect, Daemon};
use regress::{free_tcp_port, OvsRig};

/// An OpenFlow 1.3 HELLO.
const HELLO: [u8; 8] = [4, 0, 0, 8, 0, 0, 0, 1];

/// `openssl s_client` to 127.0.0.1:`port` with certificate `cert` (none if `None`),
/// checking switchd against the controller CA; it sends a HELLO. What it read before the
/// connection ended or 8 bytes came, and its stderr.
fn s_client(pki: &Pki, port: u16, cert: Option<&str>) -> (Vec<u8>, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CAfile")
        .arg(pki.path("pki/controllerca/cacert.pem"))
        .arg("-verify_return_error");
    if let Some(c) = cert {
        cmd.arg("-cert")
            .arg(pki.path(&format!("{c}-cert.pem")))
            .arg("-key")
            .arg(pki.path(&format!("{c}-privkey.pem")));
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(&HELLO);
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < 8 {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tx.send(got);
    });
    // A bound for a peer that hangs, not a measurement: switchd answers at once.
    let got = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    let _ = child.kill();
    drop(stdin);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let _ = child.wait();
    (got, err)
}

fn refusals(d: &Daemon) -> usize {
    d.log().matches("refused: TLS handshake:").count()
}

fn tls_rig(pki: &Pki, tls_port: u16) -> OvsRig {
    OvsRig::builder()
        .hosts(3)
        .daemon(
            Daemon::builder()
                .verbose()
                .config(&pki.config(tls_port, "ctl")),
        )
        .ssl(pki.ovs(tls_port))
        .start()
        .expect("OVS bridge over TLS, hosts and switchd")
}

fn tls_connections(d: &Daemon, port: u16) -> String {
    d.ctl_json(
        &["-j", "show", "summary"],
        &format!(
            "[l['connections'] for l in d['listeners'] if l['address'] == 'tls:127.0.0.1:{port}']"
        ),
    )
}

#[test]
fn ovs_over_tls_learns_and_peers_without_a_switch_ca_certificate_are_refused() {
    let pki = Pki::new();
    let tls_port = free_tcp_port().expect("free port");
    let rig = tls_rig(&pki, tls_port);
    let d = rig.daemon();

    // The learning switch over TLS: every pair reaches each other, flows are learned.
    rig.all_pairs_ping(5);
    let flows = rig.dump_flows();
    assert!(
        flows
            .lines()
            .filter(|l| l.contains("priority=1,") && l.contains("dl_dst="))
            .count()
            >= 2,
        "too few learned flows:\n{flows}"
    );
    assert_eq!(tls_connections(d, tls_port), "[1]", "{}", d.log());
    let switches = d.rows("switches");

    // A plaintext OpenFlow client: no OpenFlow answer, refused, logged with its address.
    let mut s = connect(tls_port).expect("connect");
    let me = s.local_addr().expect("local address");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&HELLO).expect("hello");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(
        got.first() != Some(&4),
        "a plaintext client got OpenFlow: {got:?}"
    );
    let line = format!("connection from {me} on tls:127.0.0.1:{tls_port} refused: TLS handshake:");
    assert!(
        d.wait_log(&line, Duration::from_secs(10)),
        "no refusal of {me} in the log:\n{}",
        d.log()
    );

    // A certificate of another CA, and no certificate: refused, for that reason.
    let before = refusals(d);
    let (got, err) = s_client(&pki, tls_port, Some("rogue"));
    assert!(got.is_empty(), "the foreign CA's client got {got:?}; {err}");
    let (got, err) = s_client(&pki, tls_port, None);
    assert!(
        got.is_empty(),
        "a client without certificate got {got:?}; {err}"
    );
    assert!(
        regress::wait::wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            refusals(d) >= before + 2
        }),
        "two more refusals expected:\n{}",
        d.log()
    );
    // ovs-pki names a CA after the second it was made: two made in the same second have
    // the same name, and the foreign certificate's signature is what fails.
    let log = d.log();
    assert!(
        (log.contains("UnknownIssuer") || log.contains("BadSignature"))
            && log.contains("no certificates"),
        "the reasons are not in the log:\n{log}"
    );

    // The same client with the switch CA's certificate is answered with a HELLO: the
    // refusals were the certificates'.
    let (got, err) = s_client(&pki, tls_port, Some("sc"));
    assert_eq!(
        got.get(..2),
        Some(&[4u8, 0][..]),
        "no HELLO over TLS; {err}"
    );

    // The refusals cost only their own connections: the bridge's session is the same.
    assert_eq!(d.rows("switches"), switches);
    rig.all_pairs_ping(3);
}

#[test]
fn a_reload_replaces_the_certificate_and_keeps_the_established_channel() {
    let pki = Pki::new();
    let tls_port = free_tcp_port().expect("free port");
    let rig = tls_rig(&pki, tls_port);
    let d = rig.daemon();
    rig.all_pairs_ping(5);
    let mut monitor = d.monitor().expect("switchctl monitor");

    pki.sign("ctl2", "controller");
    let text = std::fs::read_to_string(d.conf()).expect("read config");
    d.write_config(&text.replace("ctl-", "ctl2-"));
    d.ctl_ok(&["reload"]);
    assert!(
        d.wait_log("TLS certificates loaded", Duration::from_secs(5)),
        "{}",
        d.log()
    );

    // A new connection is shown the new certificate.
    let out = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{tls_port}"))
        .arg("-cert")
        .arg(pki.path("sc-cert.pem"))
        .arg("-key")
        .arg(pki.path("sc-privkey.pem"))
        .arg("-CAfile")
        .arg(pki.path("pki/controllerca/cacert.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("CN = ctl2 id:"),
        "not the new certificate:\n{shown}"
    );

    // The established channel stayed: no disconnection, and traffic still flows.
    rig.all_pairs_ping(3);
    monitor.stop();
    let seen = monitor.events();
    assert!(
        !seen.contains(&format!("switch {} disconnected", rig.dpid())),
        "the bridge was disconnected by the reload: {seen}"
    );
    assert_eq!(tls_connections(d, tls_port), "[1]");
}

/// A plaintext OpenFlow client on `port`: whether it is answered with a HELLO.
fn plain_hello(port: u16) -> bool {
    let Ok(mut s) = connect(port) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if s.write_all(&HELLO).is_err() {
        return false;
    }
    let mut got = [0u8; 2];
    s.read_exact(&mut got).is_ok() && got == [4, 0]
}

#[test]
fn a_reload_turns_tls_off_and_on_again_on_the_same_address() {
    let pki = Pki::new();
    let tls_port = free_tcp_port().expect("free port");
    let rig = tls_rig(&pki, tls_port);
    let d = rig.daemon();
    rig.all_pairs_ping(5);
    assert!(!plain_hello(tls_port), "a plaintext client was answered");
    let tls_text = std::fs::read_to_string(d.conf()).expect("read config");
    let tls_line = format!("listen on 127.0.0.1 tls port {tls_port}");
    let plain_line = format!("listen on 127.0.0.1 port {tls_port}");
    assert!(tls_text.contains(&tls_line), "{tls_text}");

    // TLS off: the reload succeeds (the address is the same socket), the bridge's TLS
    // channel closes with the listener it came in on, and a plaintext client is answered.
    let mut monitor = d.monitor().expect("switchctl monitor");
    d.write_config(&tls_text.replace(&tls_line, &plain_line));
    d.ctl_ok(&["reload"]);
    let closed = format!("listener changed to 127.0.0.1:{tls_port}");
    assert!(
        d.wait_log(&closed, Duration::from_secs(10)),
        "the TLS channel was not closed:\n{}",
        d.log()
    );
    assert!(plain_hello(tls_port), "no HELLO to a plaintext client");
    let summary = d.ctl_ok(&["show", "summary"]);
    assert!(!summary.contains("tls:"), "{summary}");
    let event = format!("on tls:127.0.0.1:{tls_port} (listener changed to 127.0.0.1:{tls_port})");
    let seen =
        regress::wait::wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            monitor.events().contains(&event)
        });
    monitor.stop();
    assert!(
        seen,
        "the bridge's TLS channel stayed: {}",
        monitor.events()
    );

    // TLS on again: the reload succeeds, the bridge comes back over TLS and learns, and a
    // plaintext client is refused.
    d.write_config(&tls_text);
    d.ctl_ok(&["reload"]);
    assert!(
        regress::wait::wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
            tls_connections(d, tls_port) == "[1]"
        }),
        "Open vSwitch did not come back over TLS:\n{}",
        d.log()
    );
    rig.all_pairs_ping(5);
    assert!(!plain_hello(tls_port), "a plaintext client was answered");
}
