//! PACKET_OUT on a local switch (OpenFlow 1.3.5 section 7.3.7): the controller's frame,
//! edited in userspace by the actions that change it, sent on the real devices.
//!
//! The frames leave through one AF_PACKET socket (SOCK_RAW, protocol 0: it receives
//! nothing) that the parent opens and hands to this process at start ([`set_socket`]): the
//! datapath process has CAP_NET_ADMIN only, and opening a packet socket needs CAP_NET_RAW,
//! which it is not given on purpose. The socket is non-blocking; a full send queue drops
//! the frame (counted), a send error is logged at most once every [`LOG_EVERY`] with the
//! count of those not logged. Neither ever blocks the switch's task nor ends a connection:
//! OpenFlow has no error for a frame the wire did not take.
//!
//! [`plan`] is pure: it checks the whole message first and returns the frames to send and
//! where; nothing is sent unless every action is acceptable, so a refused packet-out has no
//! effect at all.
//!
//! Buffers: the switch keeps none (FEATURES says n_buffers 0, packet-ins carry the frame),
//! so a packet-out must carry its frame: any buffer_id but OFP_NO_BUFFER is
//! OFPBRC_BUFFER_UNKNOWN.
//!
//! Output to TABLE and LOCAL goes through the switch's injection pair (see `inject.rs`):
//! the frame, with an 802.1ad tag in front that names in_port (TABLE) or
//! [`inject::LOCAL_VID`] (LOCAL), is sent on the pair's near end, and a filter on the far
//! end takes the tag off and hands the frame to in_port's ingress, where the flow table
//! sees it as if in_port had received it, or to the bridge device's ingress, i.e. to the
//! host. For TABLE, in_port must be a port of the switch numbered at most
//! [`inject::MAX_PORT`] (a tag has 12 bits); CONTROLLER, ANY and LOCAL as in_port are
//! refused with OFPBRC_BAD_PORT, since the flow table is only on the ports.
//!
//! What is refused, with OFPBAC_BAD_OUT_PORT and the reason in the log: output to
//! CONTROLLER (the packet-in path is not in this process), and to TABLE or LOCAL when the
//! switch has no injection pair (its creation failed: see the log). Output to NORMAL is a
//! transmission on the bridge device, which forwards it as the bridge does.
//!
//! A pop_vlan, or a set-field of a VLAN field, on a frame without a VLAN tag is refused with
//! OFPBAC_BAD_TAG (12, "actions uses an unsupported tag/encap"), not OFPBAC_MATCH_INCONSISTENT
//! (10): that one is for an action that does not fit a flow's match, and a 1.3 PACKET_OUT
//! has no match; what is wrong here is the tag the frame lacks.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ofproto::v13::errors::{bad_action, bad_request};
use ofproto::v13::{self, port, Action, Oxm};

use super::inject;
use super::switch::{Dest, FrameSink, Switch, SwitchPort};
use tc_datapath::Refusal;

/// Send errors of one switch are logged at most this often.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// The frames a packet-out sends, in the order of its actions, or why it is refused.
pub(crate) fn plan(
    po: &v13::PacketOut,
    ports: &BTreeMap<u32, SwitchPort>,
) -> Result<Vec<(Dest, Bytes)>, Refusal> {
    // 7.3.7: buffer_id refers to a packet buffered at the switch; we buffer none.
    if po.buffer_id != v13::OFP_NO_BUFFER {
        return Err(Refusal::new(
            bad_request::BUFFER_UNKNOWN,
            format!(
                "buffer_id 0x{:x}: this switch buffers no packets (n_buffers 0)",
                po.buffer_id
            ),
        ));
    }
    // 7.3.7: in_port is a standard port or OFPP_CONTROLLER; LOCAL and ANY (no port,
    // as Open vSwitch takes it) are accepted too.
    let in_port = po.in_port;
    if !(ports.contains_key(&in_port)
        || matches!(in_port, port::CONTROLLER | port::LOCAL | port::ANY))
    {
        return Err(Refusal::new(
            bad_request::BAD_PORT,
            format!("in_port {in_port:#x} is not a port of this switch"),
        ));
    }
    if po.data.len() < 14 {
        return Err(Refusal::new(
            bad_request::BAD_PACKET,
            format!(
                "the frame is {} bytes, shorter than an Ethernet header",
                po.data.len()
            ),
        ));
    }
    let mut frame = po.data.to_vec();
    let mut out = Vec::new();
    for a in &po.actions {
        match a {
            Action::Output { port: p, .. } => output(*p, in_port, ports, &frame, &mut out)?,
            Action::PushVlan(tpid) => push_vlan(&mut frame, *tpid)?,
            Action::PopVlan => {
                if !tagged(&frame) {
                    // No tag to pop: OFPBAC_BAD_TAG (see the module doc).
                    return Err(Refusal::new(
                        bad_action::BAD_TAG,
                        "pop_vlan on a frame without a VLAN tag",
                    ));
                }
                frame.drain(12..16);
            }
            Action::SetField(f) => set_field(&mut frame, f)?,
            Action::Group(g) => {
                return Err(Refusal::new(
                    bad_action::BAD_OUT_GROUP,
                    format!("no group {g}: this switch has no groups"),
                ))
            }
            Action::SetQueue(q) => {
                return Err(Refusal::new(
                    bad_action::BAD_QUEUE,
                    format!("no queue {q}: this switch has no queues"),
                ))
            }
            Action::Experimenter { experimenter, .. } => {
                return Err(Refusal::new(
                    bad_action::BAD_EXPERIMENTER,
                    format!("experimenter action 0x{experimenter:08x}"),
                ))
            }
            other => {
                return Err(Refusal::new(
                    bad_action::BAD_TYPE,
                    format!(
                        "packet-out action {other:?} is not supported (output, push_vlan, \
                         pop_vlan and set-field of eth_dst, eth_src, vlan_vid, vlan_pcp are)"
                    ),
                ))
            }
        }
    }
    Ok(out)
}

fn output(
    p: u32,
    in_port: u32,
    ports: &BTreeMap<u32, SwitchPort>,
    frame: &[u8],
    out: &mut Vec<(Dest, Bytes)>,
) -> Result<(), Refusal> {
    let frame = Bytes::copy_from_slice(frame);
    let refuse = |why: String| Err(Refusal::new(bad_action::BAD_OUT_PORT, why));
    match p {
        port::IN_PORT => match ports.get(&in_port) {
            Some(sp) => out.push((Dest::Ifindex(sp.ifindex), frame)),
            None => return refuse(format!("output:IN_PORT with in_port {in_port:#x}")),
        },
        // 1.3 has no OFPPC_NO_FLOOD: FLOOD is ALL, but a port that is down cannot send.
        port::ALL | port::FLOOD => {
            for (no, sp) in ports {
                let down = sp.desc.config & 1 != 0 || sp.desc.state & 1 != 0;
                if *no != in_port && !(p == port::FLOOD && down) {
                    out.push((Dest::Ifindex(sp.ifindex), frame.clone()));
                }
            }
        }
        port::NORMAL => out.push((Dest::Bridge, frame)),
        // 7.3.7: TABLE is for packet-outs; the frame goes through the flow table as if
        // in_port had received it.
        port::TABLE => {
            if !ports.contains_key(&in_port) {
                return Err(Refusal::new(
                    bad_request::BAD_PORT,
                    format!(
                        "output:TABLE with in_port {in_port:#x}: the flow table is on the \
                         switch's ports, so in_port must be one of them"
                    ),
                ));
            }
            if in_port > inject::MAX_PORT {
                return Err(Refusal::new(
                    bad_request::BAD_PORT,
                    format!(
                        "output:TABLE with in_port {in_port}: ports above {} cannot be \
                         carried in the injection tag",
                        inject::MAX_PORT
                    ),
                ));
            }
            out.push((Dest::Inject, inject::tag(&frame, in_port as u16).into()));
        }
        port::CONTROLLER => {
            return refuse("output:CONTROLLER from a packet-out is not supported".into())
        }
        port::LOCAL => out.push((Dest::Inject, inject::tag(&frame, inject::LOCAL_VID).into())),
        p if p <= port::MAX && p != 0 => match ports.get(&p) {
            Some(sp) => out.push((Dest::Ifindex(sp.ifindex), frame)),
            None => return refuse(format!("output:{p}: no such port")),
        },
        p => return refuse(format!("output to port {p:#x}")),
    }
    Ok(())
}

fn is_tpid(t: u16) -> bool {
    t == 0x8100 || t == 0x88a8
}

fn tagged(frame: &[u8]) -> bool {
    frame.len() >= 18 && is_tpid(u16::from_be_bytes([frame[12], frame[13]]))
}

/// 7.2.5: the new tag copies VID and PCP from the outer tag there is, or is zero.
fn push_vlan(frame: &mut Vec<u8>, tpid: u16) -> Result<(), Refusal> {
    if !is_tpid(tpid) {
        return Err(Refusal::new(
            bad_action::BAD_SET_ARGUMENT,
            format!("push_vlan ethertype {tpid:#06x}"),
        ));
    }
    let tci = if tagged(frame) {
        [frame[14], frame[15]]
    } else {
        [0, 0]
    };
    let t = tpid.to_be_bytes();
    frame.splice(12..12, [t[0], t[1], tci[0], tci[1]]);
    Ok(())
}

fn set_field(frame: &mut [u8], f: &Oxm) -> Result<(), Refusal> {
    let masked = |m: bool| {
        if m {
            Err(Refusal::new(
                bad_action::BAD_SET_ARGUMENT,
                "masked set-field in a packet-out",
            ))
        } else {
            Ok(())
        }
    };
    // No VLAN tag to set a field in: OFPBAC_BAD_TAG (see the module doc).
    let no_tag = || {
        Err(Refusal::new(
            bad_action::BAD_TAG,
            "set-field of a VLAN field on a frame without a VLAN tag",
        ))
    };
    match f {
        Oxm::EthDst(m) => {
            masked(m.mask.is_some())?;
            frame[0..6].copy_from_slice(&m.value.0);
        }
        Oxm::EthSrc(m) => {
            masked(m.mask.is_some())?;
            frame[6..12].copy_from_slice(&m.value.0);
        }
        Oxm::VlanVid(m) => {
            masked(m.mask.is_some())?;
            if !tagged(frame) {
                return no_tag();
            }
            let tci = u16::from_be_bytes([frame[14], frame[15]]);
            let tci = (tci & 0xf000) | (m.value & 0x0fff);
            frame[14..16].copy_from_slice(&tci.to_be_bytes());
        }
        Oxm::VlanPcp(pcp) => {
            if !tagged(frame) {
                return no_tag();
            }
            let tci = u16::from_be_bytes([frame[14], frame[15]]);
            let tci = (tci & 0x1fff) | (u16::from(*pcp & 7) << 13);
            frame[14..16].copy_from_slice(&tci.to_be_bytes());
        }
        other => {
            return Err(Refusal::new(
                bad_action::BAD_SET_TYPE,
                format!(
                    "packet-out set-field {other:?} is not supported (eth_dst, eth_src, \
                     vlan_vid and vlan_pcp are)"
                ),
            ))
        }
    }
    Ok(())
}

/// The packet socket the parent handed over, shared by every local switch.
static SOCKET: OnceLock<Arc<OwnedFd>> = OnceLock::new();

/// Keep the parent's packet socket for the switches to send on (once, at start).
pub(crate) fn set_socket(fd: OwnedFd) {
    if SOCKET.set(Arc::new(fd)).is_err() {
        tracing::warn!("BUG: a second packet socket from the parent; the first is kept");
    }
}

/// The sink for switch `name` on bridge `bridge_ifindex`, if the parent gave us a socket.
pub(crate) fn sink(name: &str, bridge_ifindex: u32) -> Option<Box<dyn FrameSink + Send>> {
    let fd = SOCKET.get()?.clone();
    Some(Box::new(PacketSocket {
        fd,
        name: name.to_string(),
        bridge: bridge_ifindex,
        counters: Counters::default(),
        logged: None,
        unlogged: Counters::default(),
    }))
}

/// What a switch's packet-outs came to, since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) sent: u64,
    /// The socket's send queue was full (EAGAIN): the frame was dropped.
    pub(crate) dropped: u64,
    /// Any other send error (ENETDOWN, ENXIO, EMSGSIZE, ENOBUFS...).
    pub(crate) failed: u64,
}

/// One switch's view of the packet socket.
struct PacketSocket {
    fd: Arc<OwnedFd>,
    name: String,
    bridge: u32,
    counters: Counters,
    logged: Option<Instant>,
    /// Drops and failures since the last log line.
    unlogged: Counters,
}

impl FrameSink for PacketSocket {
    fn transmit(&mut self, dest: Dest, frame: &[u8]) {
        let ifindex = match dest {
            Dest::Ifindex(i) => i,
            Dest::Bridge => self.bridge,
            // Resolved by `execute`; never reaches a sink.
            Dest::Inject => {
                tracing::warn!("BUG: switch {}: an unresolved injection frame", self.name);
                return;
            }
        };
        match send(&self.fd, ifindex, frame) {
            Ok(()) => {
                self.counters.sent += 1;
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.counters.dropped += 1;
                self.unlogged.dropped += 1;
            }
            Err(e) => {
                self.counters.failed += 1;
                self.unlogged.failed += 1;
                self.maybe_log(ifindex, &e);
                return;
            }
        }
        self.maybe_log(ifindex, &io::Error::from_raw_os_error(libc::EAGAIN));
    }
}

impl PacketSocket {
    fn maybe_log(&mut self, ifindex: u32, e: &io::Error) {
        let now = Instant::now();
        if self
            .logged
            .is_some_and(|t| now.duration_since(t) < LOG_EVERY)
        {
            return;
        }
        self.logged = Some(now);
        let u = std::mem::take(&mut self.unlogged);
        tracing::warn!(
            "switch {}: packet-out on ifindex {ifindex}: {e}; since the last report {} \
             frames failed and {} were dropped (send queue full); in all {} sent, {} \
             failed, {} dropped",
            self.name,
            u.failed,
            u.dropped,
            self.counters.sent,
            self.counters.failed,
            self.counters.dropped
        );
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        let c = self.counters;
        if c != Counters::default() {
            tracing::info!(
                "switch {}: packet-out: {} frames sent, {} failed, {} dropped",
                self.name,
                c.sent,
                c.failed,
                c.dropped
            );
        }
    }
}

/// sendto(2) of one whole Ethernet frame on interface `ifindex`, without waiting.
fn send(fd: &OwnedFd, ifindex: u32, frame: &[u8]) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    // The frame's own ethertype (network order), as skb->protocol.
    sll.sll_protocol = u16::from_ne_bytes([frame[12], frame[13]]);
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&frame[..6]);
    // SAFETY: sendto with a buffer and an address we own, of the sizes given.
    let r = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            libc::MSG_DONTWAIT,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The parent's side: the packet socket it hands to the datapath process. SOCK_RAW with
/// protocol 0 is bound to no protocol, so the kernel queues nothing on it to read.
pub(crate) fn open_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// Carry out a packet-out on `switch`: all of it, or nothing and the refusal.
pub(crate) fn execute(po: &v13::PacketOut, switch: &mut Switch) -> Result<usize, Refusal> {
    // Groups expanded first (`groups.rs`), as for a flow.
    let expanded = switch.groups.expand_packet_out(po)?;
    let frames = plan(expanded.as_ref().unwrap_or(po), &switch.ports)?;
    let Some(sink) = switch.frames.as_mut() else {
        return Err(Refusal::new(
            bad_request::EPERM,
            "packet-out is unavailable: no packet socket from the parent",
        ));
    };
    let inject = switch.inject;
    if inject.is_none() && frames.iter().any(|(d, _)| *d == Dest::Inject) {
        return Err(Refusal::new(
            bad_action::BAD_OUT_PORT,
            "output:TABLE and LOCAL are unavailable: the switch has no injection pair \
             (see the log)",
        ));
    }
    let n = frames.len();
    for (dest, f) in frames {
        let dest = match (dest, inject) {
            (Dest::Inject, Some(i)) => Dest::Ifindex(i),
            (d, _) => d,
        };
        sink.transmit(dest, &f);
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
