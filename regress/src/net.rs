//! Network namespaces, veth pairs, Linux bridges, and a star of hosts around a switch.
//!
//! Every object here is a guard: dropping it removes what it made, also during a panic.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::process::Command;
use std::time::Duration;

use crate::cmd::{run_ok, CmdError};
use crate::proc::Proc;
use crate::unique_name;

/// A network namespace of the test's own, `/run/netns/swt<pid>x<n>`.
///
/// Dropping it kills every process still inside, then deletes it (which also deletes the
/// veth ends inside, and with them their peers).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Result<Netns, CmdError> {
        let name = unique_name();
        run_ok(&["ip", "netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS...`
    pub fn ip(&self, args: &[&str]) -> Result<String, CmdError> {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        run_ok(&v)
    }

    /// Run a command inside the namespace and return its output.
    pub fn exec(&self, args: &[&str]) -> Result<String, CmdError> {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        run_ok(&v)
    }

    /// A `Command` that runs inside the namespace (for [`Proc::spawn`]).
    pub fn command(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]);
        c
    }

    /// Start a long-running process inside the namespace.
    pub fn spawn(&self, name: &str, args: &[&str]) -> std::io::Result<Proc> {
        let (prog, rest) = args
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        Proc::spawn(name, self.command(prog).args(rest))
    }

    /// Run `f` on a fresh thread that has entered this namespace, and return its result.
    /// Sockets that `f` opens belong to the namespace; the caller's thread is untouched.
    pub fn enter<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::io::Result<R> {
        let path = format!("/run/netns/{}", self.name);
        let file = std::fs::File::open(&path)?;
        std::thread::spawn(move || -> std::io::Result<R> {
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            Ok(f())
        })
        .join()
        .map_err(|_| std::io::Error::other("thread inside the namespace panicked"))?
    }

    /// Ping `dst` once from inside the namespace; whether a reply came within `wait_s`.
    pub fn ping(&self, dst: Ipv4Addr, wait_s: u32) -> bool {
        let dst = dst.to_string();
        let wait = wait_s.to_string();
        self.exec(&["ping", "-n", "-q", "-c", "1", "-W", &wait, &dst])
            .is_ok()
    }

    /// Ping until a reply comes or `tries` pings went unanswered (ARP and learning may
    /// swallow the first ones).
    pub fn ping_eventually(&self, dst: Ipv4Addr, tries: u32) -> bool {
        (0..tries).any(|_| self.ping(dst, 1))
    }

    /// Whether a TCP connection from this namespace to `to` (a listener that
    /// [`Netns::tcp_listen`] opened in the peer namespace) gets its bytes echoed back.
    pub fn tcp_reaches(&self, to: SocketAddr, timeout: Duration) -> bool {
        self.enter(move || -> std::io::Result<bool> {
            let mut s = TcpStream::connect_timeout(&to, timeout)?;
            s.set_read_timeout(Some(timeout))?;
            s.write_all(b"switchd-regress")?;
            let mut buf = [0u8; 15];
            s.read_exact(&mut buf)?;
            Ok(&buf == b"switchd-regress")
        })
        .and_then(|r| r)
        .unwrap_or(false)
    }

    /// Open a TCP echo listener at `addr` inside this namespace; it serves connections on a
    /// background thread for as long as the namespace lives.
    pub fn tcp_listen(&self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = self.enter(move || TcpListener::bind(addr))??;
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf) {
                    let _ = s.write_all(&buf[..n]);
                }
            }
        });
        Ok(())
    }

    /// Send one UDP datagram from this namespace to `to`, where a socket from
    /// [`Netns::udp_bind`] waits.
    pub fn udp_send(&self, to: SocketAddr, payload: &'static [u8]) -> std::io::Result<()> {
        self.enter(move || -> std::io::Result<()> {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
            s.send_to(payload, to)?;
            Ok(())
        })?
    }

    /// Send `count` UDP datagrams of `len` bytes (0x5a each) from one socket in this
    /// namespace to `to`: traffic of a known size for counters, meters and packet-ins.
    pub fn udp_send_many(&self, to: SocketAddr, count: usize, len: usize) -> std::io::Result<()> {
        self.enter(move || -> std::io::Result<()> {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
            let payload = vec![0x5a; len];
            for _ in 0..count {
                s.send_to(&payload, to)?;
            }
            Ok(())
        })?
    }

    /// Bind a UDP socket inside this namespace (usable from any thread afterwards).
    pub fn udp_bind(&self, addr: SocketAddr) -> std::io::Result<UdpSocket> {
        self.enter(move || UdpSocket::bind(addr))?
    }

    /// `ethtool -K IFNAME tx off` inside this namespace: the host computes the checksums of
    /// what it sends. A veth otherwise leaves them to the receiver (checksum offload), which
    /// is fine for the kernel on the other end but not for Open vSwitch's userspace
    /// datapath, which forwards the frame as it is: TCP through it fails.
    pub fn tx_checksum_off(&self, ifname: &str) -> std::io::Result<()> {
        let ifname = ifname.to_string();
        self.enter(move || tx_checksum_off(&ifname))?
    }
}

/// ETHTOOL_STXCSUM through SIOCETHTOOL on `ifname` in the calling thread's namespace (the
/// ethtool program is not needed).
fn tx_checksum_off(ifname: &str) -> std::io::Result<()> {
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    const ETHTOOL_STXCSUM: u32 = 0x17;
    // SAFETY: an all-zero ifreq is a valid value of that plain C struct.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    if ifname.len() >= ifr.ifr_name.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{ifname}: longer than an interface name can be"),
        ));
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(ifname.bytes()) {
        *d = s as libc::c_char;
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    ifr.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    // SAFETY: a socket we close, an ifreq we own whose data points at `value`, which
    // outlives the call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let r = libc::ioctl(fd, libc::SIOCETHTOOL, &mut ifr);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if r < 0 {
            return Err(std::io::Error::new(
                err.kind(),
                format!("SIOCETHTOOL ETHTOOL_STXCSUM on {ifname}: {err}"),
            ));
        }
    }
    Ok(())
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(pids) = run_ok(&["ip", "netns", "pids", &self.name]) {
            for pid in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // Deleting a namespace removes its links asynchronously (in a kernel workqueue), so
        // the root-side peers of its veths would linger for a moment; delete them now.
        if let Ok(links) = self.ip(&["-o", "link", "show"]) {
            for l in links.lines().filter_map(|l| l.split(": ").nth(1)) {
                let l = l.split('@').next().unwrap_or(l);
                if l != "lo" {
                    let _ = self.ip(&["link", "del", l]);
                }
            }
        }
        let _ = run_ok(&["ip", "netns", "del", &self.name]);
    }
}

/// Where a link lives: a namespace of the test's, or the root namespace.
fn ip_in(ns: Option<&Netns>, args: &[&str]) -> Result<String, CmdError> {
    match ns {
        Some(ns) => ns.ip(args),
        None => {
            let mut v = vec!["ip"];
            v.extend_from_slice(args);
            run_ok(&v)
        }
    }
}

/// A veth pair; end `a` and end `b` each in a namespace or in the root namespace.
/// Dropping it deletes the pair (deleting one end deletes both).
#[derive(Debug)]
pub struct VethPair {
    pub a: String,
    pub b: String,
    a_ns: Option<String>,
}

impl VethPair {
    pub fn new(a_ns: Option<&Netns>, b_ns: Option<&Netns>) -> Result<VethPair, CmdError> {
        let a = unique_name();
        let b = unique_name();
        let mut args: Vec<&str> = vec!["ip", "link", "add", &a];
        if let Some(ns) = a_ns {
            args.extend(["netns", ns.name()]);
        }
        args.extend(["type", "veth", "peer", "name", &b]);
        if let Some(ns) = b_ns {
            args.extend(["netns", ns.name()]);
        }
        run_ok(&args)?;
        let pair = VethPair {
            a: a.clone(),
            b: b.clone(),
            a_ns: a_ns.map(|n| n.name().to_string()),
        };
        ip_in(a_ns, &["link", "set", &a, "up"])?;
        ip_in(b_ns, &["link", "set", &b, "up"])?;
        Ok(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = match &self.a_ns {
            Some(ns) => run_ok(&["ip", "-n", ns, "link", "del", &self.a]),
            None => run_ok(&["ip", "link", "del", &self.a]),
        };
    }
}

/// A Linux bridge, in a namespace or in the root namespace; deleted when dropped.
#[derive(Debug)]
pub struct Bridge {
    pub name: String,
    ns: Option<String>,
}

impl Bridge {
    pub fn new(ns: Option<&Netns>) -> Result<Bridge, CmdError> {
        let name = unique_name();
        ip_in(ns, &["link", "add", &name, "type", "bridge"])?;
        let br = Bridge {
            name: name.clone(),
            ns: ns.map(|n| n.name().to_string()),
        };
        ip_in(ns, &["link", "set", &name, "up"])?;
        Ok(br)
    }

    fn ip(&self, args: &[&str]) -> Result<String, CmdError> {
        let mut v = vec!["ip"];
        if let Some(ns) = &self.ns {
            v.extend(["-n", ns.as_str()]);
        }
        v.extend_from_slice(args);
        run_ok(&v)
    }

    /// Enslave `ifname` (which must live in the bridge's namespace) to the bridge.
    pub fn attach(&self, ifname: &str) -> Result<(), CmdError> {
        self.ip(&["link", "set", ifname, "master", &self.name])?;
        Ok(())
    }

    /// The namespace the bridge lives in, `None` for the root namespace.
    pub fn netns(&self) -> Option<&str> {
        self.ns.as_deref()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.ip(&["link", "del", &self.name]);
    }
}

/// One host of a [`Lan`]: its own namespace with `eth0`, whose peer is `port` on the switch
/// side.
#[derive(Debug)]
pub struct LanHost {
    pub ns: Netns,
    pub ip: Ipv4Addr,
    pub mac: String,
    /// The switch-side end of the host's veth (in the switch namespace or the root one).
    pub port: String,
}

impl LanHost {
    pub fn ping(&self, dst: &LanHost) -> bool {
        self.ns.ping(dst.ip, 1)
    }
}

/// How the hosts of a [`Lan`] are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanSwitch {
    /// A Linux bridge in a namespace of its own (the usual case: nothing touches the root
    /// namespace).
    BridgeInNetns,
    /// A Linux bridge in the root namespace (where a daemon under test runs).
    BridgeInRoot,
    /// No bridge: the switch-side veth ends wait in the root namespace, for Open vSwitch
    /// or another switch to take them.
    PortsOnly,
}

/// `n` hosts, each in its own namespace with `eth0` = 10.77.0.(i+1)/24, joined by a switch.
///
/// Fields drop in declaration order: hosts (and their veths) first, then the bridge, then
/// the switch namespace.
#[derive(Debug)]
pub struct Lan {
    pub hosts: Vec<LanHost>,
    pub bridge: Option<Bridge>,
    pub switch_ns: Option<Netns>,
}

impl Lan {
    pub fn new(n: usize, switch: LanSwitch) -> Result<Lan, CmdError> {
        let switch_ns = match switch {
            LanSwitch::BridgeInNetns => Some(Netns::new()?),
            _ => None,
        };
        let bridge = match switch {
            LanSwitch::PortsOnly => None,
            _ => Some(Bridge::new(switch_ns.as_ref())?),
        };
        let mut lan = Lan {
            hosts: Vec::new(),
            bridge,
            switch_ns,
        };
        for i in 0..n {
            let ns = Netns::new()?;
            let inner = unique_name();
            let port = unique_name();
            // Create both ends directly where they belong, then name the host's end eth0.
            let mut args: Vec<&str> = vec!["ip", "link", "add", &inner, "netns", ns.name()];
            args.extend(["type", "veth", "peer", "name", &port]);
            if let Some(sw) = &lan.switch_ns {
                args.extend(["netns", sw.name()]);
            }
            run_ok(&args)?;
            let ip = Ipv4Addr::new(10, 77, 0, (i + 1) as u8);
            ns.ip(&["link", "set", &inner, "name", "eth0"])?;
            ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
            ns.ip(&["link", "set", "eth0", "up"])?;
            ip_in(lan.switch_ns.as_ref(), &["link", "set", &port, "up"])?;
            if let Some(br) = &lan.bridge {
                br.attach(&port)?;
            }
            let mac = ns
                .ip(&["-br", "link", "show", "dev", "eth0"])?
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_string();
            lan.hosts.push(LanHost { ns, ip, mac, port });
        }
        Ok(lan)
    }

    /// Run `ip ARGS` where the switch-side ports live.
    pub fn switch_ip(&self, args: &[&str]) -> Result<String, CmdError> {
        ip_in(self.switch_ns.as_ref(), args)
    }

    /// Run a command where the switch-side ports live (e.g. `tc`).
    pub fn switch_exec(&self, args: &[&str]) -> Result<String, CmdError> {
        match &self.switch_ns {
            Some(ns) => ns.exec(args),
            None => run_ok(args),
        }
    }
}
