//! TLS on the OpenFlow channel (OpenFlow 1.3.5, 6.3.3; Open vSwitch's `ssl:`/`pssl:`),
//! with mutual authentication, TLS 1.2 and 1.3 only, through rustls.
//!
//! - `listen on ADDRESS tls`: the ofp process is the server; a switch must present a
//!   certificate that the switch CA (`PKI/switchca/cacert.pem`) signed, and is shown the
//!   `tls controller` certificate.
//! - `forward to tls:HOST:PORT`: the datapath process is the client; it presents the
//!   `tls switch` certificate and checks the controller's against the controller CA
//!   (`PKI/controllerca/cacert.pem`). As Open vSwitch does, the CA is the whole check:
//!   certificates made by `ovs-pki` name no host, so no host name is compared.
//!
//! The root parent reads the files ([`read`]) and sends their text ([`Material`]) to the
//! process that needs it over its channel; nothing unprivileged opens a key file. A reload
//! sends new material: new connections use it, established ones keep the session they have.
//!
//! The crypto provider is *ring*: it builds with the C compiler alone (aws-lc-rs needs
//! cmake for its non-default builds and compiles a far larger C library), and covers what
//! `ovs-pki` makes (RSA 2048, SHA-512 signatures) and what TLS 1.2/1.3 peers offer.
//!
//! The stream ([`TlsStream`]) is driven by readiness, as the TCP and Unix streams are: a
//! handshake first ([`TlsStream::handshake`], bounded in time), then reads and writes that
//! never block.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, Connection, DigitallySignedStruct,
    RootCertStore, ServerConfig, ServerConnection, SignatureScheme,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

/// How long a peer may take over its handshake before the connection is dropped.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one process needs for its TLS channels, as PEM text: the CA that signs its peers,
/// its own certificate chain and private key. Sent by the parent; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub peer_ca: String,
    pub cert: String,
    pub key: String,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("peer_ca", &format_args!("{} bytes", self.peer_ca.len()))
            .field("cert", &format_args!("{} bytes", self.cert.len()))
            .field("key", &format_args!("<secret>"))
            .finish()
    }
}

/// Which side of a TLS channel a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// ofp: `listen on ... tls`.
    Server,
    /// datapath: `forward to tls:`.
    Client,
}

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The parent's read of the files `side` needs, checked by building the configuration
/// from them; `None` if the configuration has no TLS channel of that side.
pub(crate) fn read(c: &conf::Config, side: Side) -> Result<Option<Material>, String> {
    let (used, kp, ca) = match side {
        Side::Server => (
            c.listen.iter().any(|l| l.tls),
            &c.tls.controller,
            c.tls.switch_ca(),
        ),
        Side::Client => (
            c.switches
                .iter()
                .any(|s| s.forward_to.as_ref().is_some_and(|f| f.tls)),
            &c.tls.switch,
            c.tls.controller_ca(),
        ),
    };
    if !used {
        return Ok(None);
    }
    // The grammar requires the key pair wherever a TLS channel is configured.
    let Some(kp) = kp else {
        return Err("TLS is configured but no certificate for it".into());
    };
    let m = Material {
        peer_ca: read_file(&ca)?,
        cert: read_file(&c.tls.pki.join(&kp.certificate))?,
        key: read_file(&c.tls.pki.join(&kp.key))?,
    };
    match side {
        Side::Server => server_config(&m).map(drop)?,
        Side::Client => client_config(&m).map(drop)?,
    }
    Ok(Some(m))
}

/// ring's provider. rustls 0.23.48 marks it deprecated because ring has no post-quantum
/// key exchange; the peers an OpenFlow channel has (Open vSwitch with OpenSSL, os-ken with
/// Python's ssl) agree on X25519 or P-256 with it, and it is the provider that builds here
/// without cmake (see the module comment).
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let v: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: {e}"))?;
    if v.is_empty() {
        return Err(format!("{what}: no certificate in it"));
    }
    Ok(v)
}

fn roots(pem: &str) -> Result<Arc<RootCertStore>, String> {
    let mut r = RootCertStore::empty();
    for c in certs(pem, "CA certificate")? {
        r.add(c).map_err(|e| format!("CA certificate: {e}"))?;
    }
    Ok(Arc::new(r))
}

fn key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("private key: {e}"))
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ofp process's side: switches must present a certificate the switch CA signed.
pub(crate) fn server_config(m: &Material) -> Result<Arc<ServerConfig>, String> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&m.peer_ca)?, provider())
        .build()
        .map_err(|e| format!("switch CA: {e}"))?;
    let c = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&m.cert, "certificate")?, key(&m.key)?)
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(Arc::new(c))
}

/// The datapath's side: the controller's certificate must be signed by the controller CA.
pub(crate) fn client_config(m: &Material) -> Result<Arc<ClientConfig>, String> {
    let inner = WebPkiServerVerifier::builder_with_provider(roots(&m.peer_ca)?, provider())
        .build()
        .map_err(|e| format!("controller CA: {e}"))?;
    let c = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(CaOnly(inner)))
        .with_client_auth_cert(certs(&m.cert, "certificate")?, key(&m.key)?)
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(Arc::new(c))
}

/// The controller's certificate checked against the CA (chain, validity, signatures), but
/// not against a host name: `ovs-pki` certificates name none, and Open vSwitch checks none.
#[derive(Debug)]
struct CaOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for CaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is compared last, once the chain is verified.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The configurations in force in this process: set from the parent's material, taken
/// by each new connection (a reload does not touch a connection that is up).
static SERVER: Mutex<Option<Arc<ServerConfig>>> = Mutex::new(None);
static CLIENT: Mutex<Option<Arc<ClientConfig>>> = Mutex::new(None);

/// Install the parent's material for `side`; an error is logged and leaves what was there.
pub(crate) fn install(side: Side, m: Option<&Material>) {
    let r = match (side, m) {
        (Side::Server, Some(m)) => server_config(m).map(|c| {
            *SERVER.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
        }),
        (Side::Client, Some(m)) => client_config(m).map(|c| {
            *CLIENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
        }),
        (Side::Server, None) => {
            *SERVER.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(())
        }
        (Side::Client, None) => {
            *CLIENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(())
        }
    };
    match r {
        Ok(()) if m.is_some() => tracing::info!("TLS certificates loaded"),
        Ok(()) => {}
        Err(e) => tracing::warn!("TLS certificates not loaded: {e}"),
    }
}

/// A new server connection with the certificates in force, if there are any.
pub(crate) fn accept(tcp: TcpStream) -> Result<TlsStream, String> {
    let cfg = SERVER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or("no TLS certificates loaded")?;
    let conn = ServerConnection::new(cfg).map_err(|e| e.to_string())?;
    Ok(TlsStream::new(tcp, conn.into()))
}

/// A new client connection to `host` with the certificates in force, if there are any.
pub(crate) fn connect(tcp: TcpStream, host: &str) -> Result<TlsStream, String> {
    let cfg = CLIENT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or("no TLS certificates loaded")?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(cfg, name).map_err(|e| e.to_string())?;
    Ok(TlsStream::new(tcp, conn.into()))
}

/// The socket as rustls reads and writes it: without blocking, through tokio's readiness.
struct Sock<'a>(&'a TcpStream);

impl Read for Sock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TCP stream under TLS.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    conn: Connection,
    /// Plaintext rustls holds that has not been read yet.
    pending: usize,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").field("tcp", &self.tcp).finish()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl TlsStream {
    fn new(tcp: TcpStream, conn: Connection) -> TlsStream {
        TlsStream {
            tcp,
            conn,
            pending: 0,
        }
    }

    /// The handshake, at most [`HANDSHAKE_TIMEOUT`]; on failure, why (after the alert
    /// that tells the peer, if it can be sent).
    pub(crate) async fn handshake(&mut self) -> Result<(), String> {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.handshake_inner()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no handshake within {} s",
                HANDSHAKE_TIMEOUT.as_secs()
            )),
        }
    }

    async fn handshake_inner(&mut self) -> Result<(), String> {
        while self.conn.is_handshaking() {
            if self.conn.wants_write() {
                self.tcp.writable().await.map_err(|e| e.to_string())?;
                match self.conn.write_tls(&mut Sock(&self.tcp)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.to_string()),
                }
                continue;
            }
            self.tcp.readable().await.map_err(|e| e.to_string())?;
            match self.conn.read_tls(&mut Sock(&self.tcp)) {
                Ok(0) => return Err("closed by the peer during the handshake".into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.to_string()),
            }
            match self.conn.process_new_packets() {
                Ok(st) => self.pending = st.plaintext_bytes_to_read(),
                Err(e) => {
                    // The alert that says why, if the socket takes it.
                    let _ = self.conn.write_tls(&mut Sock(&self.tcp));
                    return Err(e.to_string());
                }
            }
        }
        // What the handshake leaves to send (a TLS 1.3 server's session tickets).
        while self.conn.wants_write() {
            self.tcp.writable().await.map_err(|e| e.to_string())?;
            match self.conn.write_tls(&mut Sock(&self.tcp)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    /// Records rustls has ready for the socket; written as far as it takes them.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut Sock(&self.tcp))?;
        }
        Ok(())
    }

    pub(crate) fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp.peer_addr()
    }

    /// Whether rustls holds records the socket has not taken yet.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    pub(crate) async fn readable(&self) -> io::Result<()> {
        if self.pending > 0 {
            return Ok(());
        }
        self.tcp.readable().await
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.tcp.writable().await
    }

    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pending > 0 {
                let n = self.conn.reader().read(buf)?;
                self.pending -= n.min(self.pending);
                return Ok(n);
            }
            if self.conn.read_tls(&mut Sock(&self.tcp))? == 0 {
                return Ok(0);
            }
            let st = self.conn.process_new_packets().map_err(|e| {
                let _ = self.conn.write_tls(&mut Sock(&self.tcp));
                tls_error(e)
            })?;
            self.pending = st.plaintext_bytes_to_read();
            if self.pending == 0 && st.peer_has_closed() {
                return Ok(0);
            }
            // Anything the records asked us to answer (a key update).
            match self.flush_tls() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    /// Takes `buf` once what rustls held is on the socket, so that it never holds more
    /// than one write's worth.
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.flush_tls()?;
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.conn.writer().write(buf)?;
        match self.flush_tls() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    pub(crate) async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() || self.conn.wants_write() {
            self.tcp.writable().await?;
            match self.try_write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// close_notify, then the TCP shutdown.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.write_all(&[])).await;
        use tokio::io::AsyncWriteExt;
        self.tcp.shutdown().await
    }
}

/// The parent's read for both processes: what ofp (the server side) and datapath (the
/// client side) are sent, `None` where the configuration has no TLS channel of theirs.
pub(crate) fn read_all(
    c: &conf::Config,
) -> Result<Vec<(crate::msg::Role, Option<Material>)>, String> {
    use crate::msg::Role;
    Ok(vec![
        (
            Role::Ofp,
            read(c, Side::Server).map_err(|e| format!("tls: {e}"))?,
        ),
        (
            Role::Datapath,
            read(c, Side::Client).map_err(|e| format!("tls: {e}"))?,
        ),
    ])
}

/// The side a child's material is for.
pub(crate) fn side_of(role: crate::msg::Role) -> Option<Side> {
    match role {
        crate::msg::Role::Ofp => Some(Side::Server),
        crate::msg::Role::Datapath => Some(Side::Client),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A PKI made by `ovs-pki` (Debian's openvswitch-common), or `None` where it is not
    /// installed: (controller, switch) material, each with the other side's CA.
    fn pki(dir: &std::path::Path) -> Option<(Material, Material, Material)> {
        let run = |ca: &str, args: &[&str]| {
            Command::new("ovs-pki")
                .arg(format!("--dir={}/{ca}", dir.display()))
                .arg(format!("--log={}/log", dir.display()))
                .args(args)
                .current_dir(dir)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !(run("pki", &["init"])
            && run("pki", &["req+sign", "ctl", "controller"])
            && run("pki", &["req+sign", "sc", "switch"])
            && run("other", &["init"])
            && run("other", &["req+sign", "rogue", "controller"]))
        {
            return None;
        }
        let f = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_default();
        let ctl = Material {
            peer_ca: f("pki/switchca/cacert.pem"),
            cert: f("ctl-cert.pem"),
            key: f("ctl-privkey.pem"),
        };
        let sw = Material {
            peer_ca: f("pki/controllerca/cacert.pem"),
            cert: f("sc-cert.pem"),
            key: f("sc-privkey.pem"),
        };
        let rogue = Material {
            peer_ca: f("other/switchca/cacert.pem"),
            cert: f("rogue-cert.pem"),
            key: f("rogue-privkey.pem"),
        };
        Some((ctl, sw, rogue))
    }

    /// One handshake between a server with `srv` and a client with `cli`, then a few bytes
    /// each way through try_read/try_write; the client's result.
    async fn exchange(srv: &Material, cli: &Material) -> Result<(), String> {
        let sc = server_config(srv)?;
        let cc = client_config(cli)?;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = l.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(async move {
            let (tcp, _) = l.accept().await.map_err(|e| e.to_string())?;
            let conn = ServerConnection::new(sc).map_err(|e| e.to_string())?;
            let mut s = TlsStream::new(tcp, conn.into());
            s.handshake().await?;
            s.write_all(b"hello").await.map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        });
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        // An address: the controller's certificate names no host, as with ovs-pki.
        let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
        let conn = ClientConnection::new(cc, name).map_err(|e| e.to_string())?;
        let mut c = TlsStream::new(tcp, conn.into());
        let r = c.handshake().await;
        let mut got = Vec::new();
        if r.is_ok() {
            while got.len() < 5 {
                c.readable().await.map_err(|e| e.to_string())?;
                let mut buf = [0u8; 16];
                match c.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        let s = server.await.map_err(|e| e.to_string())?;
        r?;
        s?;
        if got != b"hello" {
            return Err(format!("got {got:?}"));
        }
        Ok(())
    }

    #[test]
    fn both_sides_authenticate_and_a_foreign_ca_is_refused() {
        let dir = std::env::temp_dir().join(format!("swt-tlsunit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let Some((ctl, sw, rogue)) = pki(&dir) else {
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("ovs-pki is not installed (regress/setup installs it): skipped");
            return;
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // ofp as server, datapath as client (forward to tls:): both certificates of
            // the right CAs, and no host name compared.
            assert_eq!(exchange(&ctl, &sw).await, Ok(()));
            // A controller whose certificate another CA signed: the switch refuses it.
            // ovs-pki names a CA after the second it was made: two made in the same
            // second have the same name, and the signature is what fails.
            let r = exchange(&rogue, &sw).await;
            assert!(
                r.as_ref()
                    .is_err_and(|e| e.contains("UnknownIssuer") || e.contains("BadSignature")),
                "{r:?}"
            );
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
