//! The second and later controllers of a local switch (`forward to` repeated; OpenFlow
//! 1.3 section 6.3.6). The first controller's connection is the local switch's own
//! ([`super::local`]); each further one is an [`Extra`]: its own TCP connection, channel
//! state, reconnection schedule and [`Agent`] (so its own role, SET_ASYNC configuration,
//! switch config and xids). Like ofp's observer, an extra agent holds an empty switch of
//! its own and borrows the real one while it works on it (input, packet-ins).
//!
//! After each event the task calls [`settle`]: a connection that became master demotes
//! the other masters to slaves, and the flows one connection removed (its FLOW_MOD, or the
//! first connection's timeouts) are told to the others, as their role and async config say.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::endpoint::stream::Stream;

use super::agent::{Agent, AgentConfig, SampledPacket, Switch};
use super::channel::{self, sleep_until, Channel};
use super::links::Links;
use super::portstats::answer_port_stats;
use super::remote;
use super::switch::N_TABLES;
use ofproto::v13;
use tc_datapath::psample::Sample;
use tc_datapath::NormalOnly;

/// One more controller of the switch.
pub(crate) struct Extra {
    addr: SocketAddr,
    /// `forward to tls:`.
    tls: bool,
    agent: Agent,
    channel: Channel,
    backoff: remote::Backoff,
}

/// What woke one [`Extra`].
#[derive(Debug)]
pub(crate) enum Wake {
    Channel(channel::Wake),
    /// Its agent's timer (echo, dead peer).
    Timeout,
}

/// The switch's controllers after the first.
pub(crate) struct Controllers {
    name: String,
    extras: Vec<Extra>,
}

impl Controllers {
    /// `addrs`: the later `forward to` addresses (and whether over TLS); `start`: connect
    /// at once.
    pub(crate) fn new(
        acfg: &AgentConfig,
        addrs: &[(SocketAddr, bool)],
        now: Instant,
        start: bool,
    ) -> Controllers {
        let extras = addrs
            .iter()
            .enumerate()
            .map(|(i, &(addr, tls))| {
                let sw = Switch::new(N_TABLES, Box::new(NormalOnly));
                let mut agent = Agent::new(acfg.clone(), sw, now);
                agent.set_conn(i as u32 + 1);
                Extra {
                    addr,
                    tls,
                    agent,
                    channel: Channel::Idle {
                        retry_at: start.then(tokio::time::Instant::now),
                    },
                    backoff: remote::Backoff::default(),
                }
            })
            .collect();
        Controllers {
            name: acfg.name.clone(),
            extras,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.extras.is_empty()
    }

    /// Whether one of them has a controller through the handshake.
    pub(crate) fn any_connected(&self) -> bool {
        self.extras.iter().any(|x| x.agent.is_connected())
    }

    /// The next event of any of them: which, and what. Cancel-safe (it only waits; a
    /// connection attempt goes on where it was).
    pub(crate) async fn wake(&mut self) -> (usize, Wake) {
        if self.extras.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.extras.iter_mut().enumerate().map(|(i, x)| {
            let write = !x.agent.output().is_empty();
            let deadline = x.agent.poll_timeout();
            Box::pin(async move {
                tokio::select! {
                    w = x.channel.wake(write) => (i, Wake::Channel(w)),
                    _ = sleep_until(deadline.map(Into::into)) => (i, Wake::Timeout),
                }
            })
        });
        futures::future::select_all(waits).await.0
    }

    /// Act on controller `i`'s event, with the real switch lent for input.
    pub(crate) async fn event(&mut self, i: usize, w: Wake, switch: &mut Switch, links: &Links) {
        let name = &self.name;
        let Some(x) = self.extras.get_mut(i) else {
            return;
        };
        match w {
            // Its switch is empty: only the echo and dead-peer timers run here; the flows'
            // timeouts are the first connection's.
            Wake::Timeout => x.agent.handle_timeout(Instant::now()),
            Wake::Channel(channel::Wake::Retry) => {
                tracing::debug!("local switch {name}: connecting to controller {}", x.addr);
                x.channel = Channel::Connecting(Box::pin(remote::connect(x.addr, x.tls)));
            }
            Wake::Channel(channel::Wake::Connected(r)) => x.connected(name, r),
            Wake::Channel(channel::Wake::Io(r)) => {
                if let Some(pump) = x.channel.pump() {
                    std::mem::swap(&mut x.agent.switch, switch);
                    pump.transfer(r, &mut x.agent);
                    answer_port_stats(&mut x.agent, links).await;
                    std::mem::swap(&mut x.agent.switch, switch);
                }
            }
        }
        if x.agent.is_connected() {
            x.backoff.reset();
        }
        if x.agent.close_reason().is_some() && x.channel.is_open() {
            x.closed(name).await;
        }
    }

    /// Packets that output:CONTROLLER copied, for each controller (its role and async
    /// config decide).
    pub(crate) fn packet_ins(&mut self, switch: &mut Switch, samples: &[Arc<Sample>]) {
        for x in &mut self.extras {
            if !x.agent.is_connected() {
                continue;
            }
            std::mem::swap(&mut x.agent.switch, switch);
            for s in samples {
                x.agent.packet_in(SampledPacket {
                    ifindex16: s.ifindex,
                    group: s.group,
                    total_len: s.orig_size,
                    data: &s.data,
                });
            }
            std::mem::swap(&mut x.agent.switch, switch);
        }
    }

    /// A port changed: PORT_STATUS to each, as its async config says.
    pub(crate) fn port_status(&mut self, reason: u8, desc: &v13::Port) {
        for x in &mut self.extras {
            x.agent.port_status(reason, desc.clone());
        }
    }

    /// `switchctl connect` (`again`) or `disconnect`: close each connection, and connect
    /// again at once or stay closed.
    pub(crate) fn command(&mut self, again: bool) {
        for x in &mut self.extras {
            let idle = Channel::Idle { retry_at: None };
            x.backoff.reset();
            x.channel = match std::mem::replace(&mut x.channel, idle) {
                Channel::Open(pump) | Channel::Closing { pump, .. } => {
                    x.agent.close(if again {
                        "switchctl connect"
                    } else {
                        "switchctl disconnect"
                    });
                    Channel::Closing { pump, again }
                }
                Channel::Idle { .. } | Channel::Connecting(_) => Channel::Idle {
                    retry_at: again.then(tokio::time::Instant::now),
                },
            };
        }
    }

    /// The agents, the first connection's included.
    fn agents<'a>(&'a mut self, first: &'a mut Agent) -> impl Iterator<Item = &'a mut Agent> {
        std::iter::once(first).chain(self.extras.iter_mut().map(|x| &mut x.agent))
    }
}

impl Extra {
    fn connected(&mut self, name: &str, r: std::io::Result<Stream>) {
        let addr = self.addr.to_string();
        self.channel =
            remote::channel_after_connect(name, &addr, r, &mut self.agent, &mut self.backoff);
    }

    /// The agent ended the connection (or switchctl did): flush, shut down, and decide
    /// when to connect again.
    async fn closed(&mut self, name: &str) {
        let Some(reason) = self.agent.close_reason().cloned() else {
            return;
        };
        let idle = Channel::Idle { retry_at: None };
        let (pump, again) = match std::mem::replace(&mut self.channel, idle) {
            Channel::Open(p) => (p, None),
            Channel::Closing { pump, again } => (pump, Some(again)),
            other => {
                self.channel = other;
                return;
            }
        };
        let peer = pump.peer().to_string();
        pump.finish(&reason, self.agent.output()).await;
        let reason = reason.to_string();
        self.agent.restart(Instant::now());
        let retry_at = match again {
            Some(again) => {
                tracing::info!("local switch {name}: connection to {peer} closed: {reason}");
                again.then(tokio::time::Instant::now)
            }
            None => {
                let wait = self.backoff.failed(&reason).0;
                tracing::info!(
                    "local switch {name}: connection to {peer} closed: {reason}; \
                     reconnecting in {} s",
                    wait.as_secs()
                );
                Some(tokio::time::Instant::now() + wait)
            }
        };
        self.channel = Channel::Idle { retry_at };
    }
}

/// After an event: a new master demotes the others that were master, and flows removed
/// by one connection are told to the others.
pub(crate) fn settle(first: &mut Agent, more: &mut Controllers, now: Instant) {
    let master = first.switch.roles.new_master.take();
    let removed = std::mem::take(&mut first.switch.roles.removed);
    if let Some(m) = master {
        for a in more.agents(first) {
            if a.conn() != m {
                a.demote();
            }
        }
    }
    for (origin, r) in removed {
        for a in more.agents(first) {
            if a.conn() != origin {
                a.removed_elsewhere(std::slice::from_ref(&r), now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
