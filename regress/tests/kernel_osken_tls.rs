//! Kernel tier (the VM; `regress/run` runs this with `--include-ignored`): os-ken 3.1.1,
//! started with `--ctl-privkey --ctl-cert --ca-certs` (TLS only, switches' certificates
//! required), drives a local switch through `forward to tls:127.0.0.1:PORT`: its own
//! `simple_switch_13` learns, and two namespaces on the bridge reach each other. A
//! controller whose certificate another CA signed (`openssl s_server`, a real TLS peer) is
//! refused by a second local switch: its channel never comes up, and the log says why. The
//! certificates are made here with Debian's `ovs-pki`.

#[path = "common/local_switch.rs"]
mod common;
#[path = "common/osken.rs"]
mod osken;
#[path = "common/pki.rs"]
mod pki;

use std::process::{Command, Stdio};

use common::LinkGuard;
use osken::{simple_switch_13, wait_long, OsKen};
use pki::Pki;
use regress::daemon::Daemon;
use regress::net::LanSwitch;
use regress::{free_tcp_port, unique_name, Lan, Proc};

#[test]
#[ignore = "kernel tier: needs cls_flower, act_sample and os-ken, runs in the VM"]
fn osken_over_tls_drives_a_local_switch_and_a_foreign_controller_is_refused() {
    let pki = Pki::new();
    pki.ovs_pki("other", &["req+sign", "roguectl", "controller"]);
    let lan = Lan::new(2, LanSwitch::PortsOnly).expect("hosts");
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);

    // os-ken over TLS, with switchd's controller certificate; it requires the switch CA's.
    let port = free_tcp_port().expect("free port");
    let osken = OsKen::start_tls(
        &pki.dir.0,
        "127.0.0.1",
        port,
        &simple_switch_13(),
        1,
        (
            &pki.path("ctl-cert.pem"),
            &pki.path("ctl-privkey.pem"),
            &pki.path("pki/switchca/cacert.pem"),
        ),
    );
    // A controller of the foreign CA.
    let rogue_port = free_tcp_port().expect("free port");
    let mut rogue = Proc::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{rogue_port}"))
            .arg("-cert")
            .arg(pki.path("roguectl-cert.pem"))
            .arg("-key")
            .arg(pki.path("roguectl-privkey.pem"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("openssl s_server");
    assert!(
        wait_long(60, || osken::listening(rogue_port)),
        "openssl s_server does not listen"
    );

    let (br, br2) = (LinkGuard(unique_name()), LinkGuard(unique_name()));
    let conf = format!(
        "tls pki \"{}\"\ntls switch certificate \"{}\" key \"{}\"\n\
         switch \"vm\" {{\n\tbridge \"{}\"\n\tport \"{}\" number 1\n\tport \"{}\" number 2\n\
         \ttable-miss drop\n\tforward to tls:127.0.0.1:{port}\n}}\n",
        pki.path("pki"),
        pki.path("sc-cert.pem"),
        pki.path("sc-privkey.pem"),
        br.0,
        h0.port,
        h1.port,
    );
    // Added by a reload once the first runs: a forward to a controller that fails its
    // handshake must cost that switch only, also when it comes with a reload.
    let rogue_conf = format!(
        "switch \"vm2\" {{\n\tbridge \"{}\"\n\ttable-miss drop\n\
         \tforward to tls:127.0.0.1:{rogue_port}\n}}\n",
        br2.0
    );
    let d = Daemon::builder()
        .verbose()
        .config(&conf)
        .ready_within(std::time::Duration::from_secs(120))
        .start()
        .expect("switchd");

    // The channel comes up over TLS, and os-ken's learning switch forwards.
    let up = format!("local switch vm: connected to controller 127.0.0.1:{port}");
    assert!(
        wait_long(300, || d.log().contains(&up)),
        "no TLS channel to os-ken:\n{}\nos-ken:\n{}",
        d.log(),
        osken.log_text()
    );
    assert!(
        wait_long(300, || h0.ns.ping(h1.ip, 2)),
        "no ping through os-ken's learning switch over TLS:\n{}\nos-ken:\n{}",
        d.log(),
        osken.log_text()
    );
    assert!(
        osken.log_text().contains("packet in "),
        "os-ken saw no packet-in:\n{}",
        osken.log_text()
    );
    // Later packets stay in the kernel: the learned flows are flower filters.
    let tc = Command::new("tc")
        .args(["filter", "show", "dev", &h0.port, "ingress"])
        .output()
        .expect("tc");
    assert!(
        String::from_utf8_lossy(&tc.stdout).contains("flower"),
        "no flower filter on {}",
        h0.port
    );
    let switches = d.ctl_ok(&["show", "switches"]);
    assert!(switches.contains("forwarded:vm"), "{switches}");

    // The foreign CA's controller: refused, with the reason, never connected.
    d.write_config(
        &d.config()
            .clone()
            .with_extra(&format!("{conf}{rogue_conf}"))
            .text(),
    );
    d.ctl_ok(&["reload"]);
    let refused = format!(
        "local switch vm2: cannot connect to controller 127.0.0.1:{rogue_port}: TLS handshake:"
    );
    assert!(
        wait_long(120, || d.log().contains(&refused)),
        "the foreign controller was not refused:\n{}",
        d.log()
    );
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains(&refused))
        .unwrap_or_default();
    // ovs-pki names a CA after the second it was made: two made in the same second have
    // the same name, and the foreign certificate's signature is what fails.
    assert!(
        line.contains("UnknownIssuer") || line.contains("BadSignature"),
        "not refused for its certificate: {line}"
    );
    assert!(
        !log.contains("local switch vm2: connected to controller"),
        "{log}"
    );
    assert!(rogue.is_running(), "openssl s_server exited");
    // The refusal cost only that switch: os-ken's channel still forwards.
    assert!(
        h0.ns.ping_eventually(h1.ip, 10),
        "no ping after the refusal"
    );
}
