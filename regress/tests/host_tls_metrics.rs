//! Host tier: a failed TLS handshake on a `listen on ... tls` listener is counted in the
//! metrics (`switchd_tls_handshake_failures_total`, labelled with the listener), as
//! operators read it on `GET /metrics`. The certificates are made here with Debian's
//! `ovs-pki`; the peer is a plaintext OpenFlow client, which the listener refuses.

#[path = "common/prometheus.rs"]
mod prometheus;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use prometheus::http_get_text;
use regress::daemon::{connect, Daemon};
use regress::free_tcp_port;
use regress::workspace::TempDir;

/// An OpenFlow 1.3 HELLO.
const HELLO: [u8; 8] = [4, 0, 0, 8, 0, 0, 0, 1];

fn ovs_pki(dir: &TempDir, args: &[&str]) {
    let d = dir.0.display();
    let out = Command::new("ovs-pki")
        .arg(format!("--dir={d}/pki"))
        .arg(format!("--log={d}/ovs-pki.log"))
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("run ovs-pki");
    assert!(
        out.status.success(),
        "ovs-pki {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_failed_tls_handshake_is_counted_in_the_metrics() {
    let pki = TempDir::new("swt-pki");
    ovs_pki(&pki, &["init"]);
    ovs_pki(&pki, &["req+sign", "ctl", "controller"]);
    let path = |f: &str| pki.0.join(f).display().to_string();
    let tls_port = free_tcp_port().expect("free port");
    let metrics_port = free_tcp_port().expect("free port");
    let d = Daemon::builder()
        .verbose()
        .config(&format!(
            "metrics listen on 127.0.0.1 port {metrics_port}\n\
             listen on 127.0.0.1 tls port {tls_port}\ntls pki \"{}\"\n\
             tls controller certificate \"{}\" key \"{}\"\n",
            path("pki"),
            path("ctl-cert.pem"),
            path("ctl-privkey.pem"),
        ))
        .start()
        .expect("switchd with a TLS listener and metrics");
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let series =
        format!("switchd_tls_handshake_failures_total{{listener=\"tls:127.0.0.1:{tls_port}\"}}");

    // None yet.
    let text = http_get_text(&url).expect("GET /metrics");
    assert!(!text.contains(&series), "{text}");

    // A plaintext OpenFlow client: refused, and counted.
    let mut s = connect(tls_port).expect("connect");
    let me = s.local_addr().expect("local address");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&HELLO).expect("hello");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let line = format!("connection from {me} on tls:127.0.0.1:{tls_port} refused: TLS handshake:");
    assert!(
        d.wait_log(&line, Duration::from_secs(30)),
        "no refusal of {me} in the log:\n{}",
        d.log()
    );
    let text = http_get_text(&url).expect("GET /metrics");
    assert!(text.contains(&format!("{series} 1\n")), "{text}");
}
