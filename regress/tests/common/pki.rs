//! Certificates for the TLS tests, made with Debian's `ovs-pki` as operators make them
//! (host_tls.rs, kernel_osken_tls.rs).
#![allow(dead_code)]

use std::process::Command;

use regress::rig::OvsSsl;
use regress::workspace::TempDir;

/// Two certificate authorities made by `ovs-pki init` (switchd's, in `pki/`, and a foreign
/// one in `other/`), a controller certificate `ctl`, a switch certificate `sc`, and a
/// switch certificate `rogue` of the foreign CA.
pub struct Pki {
    pub dir: TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new("swt-pki"),
        };
        pki.ovs_pki("pki", &["init"]);
        pki.ovs_pki("other", &["init"]);
        pki.sign("ctl", "controller");
        pki.sign("sc", "switch");
        pki.ovs_pki("other", &["req+sign", "rogue", "switch"]);
        pki
    }

    pub fn ovs_pki(&self, ca: &str, args: &[&str]) {
        let d = self.dir.0.display();
        let out = Command::new("ovs-pki")
            .arg(format!("--dir={d}/{ca}"))
            .arg(format!("--log={d}/ovs-pki.log"))
            .args(args)
            .current_dir(&self.dir.0)
            .output()
            .expect("run ovs-pki");
        assert!(
            out.status.success(),
            "ovs-pki {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ovs-pki req+sign NAME TYPE` with switchd's CA: NAME-privkey.pem, NAME-cert.pem.
    pub fn sign(&self, name: &str, kind: &str) {
        self.ovs_pki("pki", &["req+sign", name, kind]);
    }

    pub fn path(&self, f: &str) -> String {
        self.dir.0.join(f).display().to_string()
    }

    /// The `tls` lines and a TLS listener on `port`, presenting certificate `ctl`.
    pub fn config(&self, port: u16, ctl: &str) -> String {
        format!(
            "listen on 127.0.0.1 tls port {port}\ntls pki \"{}\"\n\
             tls controller certificate \"{}\" key \"{}\"\n",
            self.path("pki"),
            self.path(&format!("{ctl}-cert.pem")),
            self.path(&format!("{ctl}-privkey.pem")),
        )
    }

    /// Open vSwitch's settings: the switch certificate, the controller CA.
    pub fn ovs(&self, port: u16) -> OvsSsl {
        OvsSsl {
            privkey: self.path("sc-privkey.pem"),
            cert: self.path("sc-cert.pem"),
            cacert: self.path("pki/controllerca/cacert.pem"),
            port,
        }
    }
}
