//! ofp's view of a local switch that a remote controller drives (`forward to`).
//!
//! The switch's one OpenFlow channel goes to the remote controller, so without more the
//! ofp process (and so `switchctl show switches|ports|flows`) would not know it. The
//! observer is a second connection of the same switch, over a socketpair to ofp like any
//! local switch's, made by an [`Agent`] that is a slave for good: it answers FEATURES,
//! PORT_DESC, flow and port statistics, refuses every change (OFPBRC_IS_SLAVE) and sends
//! no packet-in or flow-removed. OpenFlow 1.3 allows a switch several controllers (6.3.6);
//! this is one of them.
//!
//! The observer's agent has a switch of its own that holds nothing; while it handles
//! input it borrows the real one ([`Observer::step`]).

use std::time::Instant;

use super::agent::{Agent, AgentConfig, Switch};
use super::channel::{offer, sleep_until, RECONNECT};
use super::links::Links;
use super::portstats::answer_port_stats;
use super::switch::N_TABLES;
use crate::child::Peers;
use crate::endpoint::pump::{Pump, Ready};
use ofproto::v13;
use tc_datapath::NormalOnly;

/// What woke the observer.
#[derive(Debug)]
pub(crate) enum Wake {
    /// The connection to ofp can be read or written.
    Io(std::io::Result<Ready>),
    Timeout,
    /// Time to offer ofp a (new) connection.
    Offer,
}

/// See [`Observer::waiter`].
pub(crate) struct Waiter<'a> {
    conn: Option<&'a Pump>,
    write: bool,
    deadline: Option<Instant>,
    offer_at: Option<tokio::time::Instant>,
}

impl Waiter<'_> {
    /// The next thing to do; cancel-safe (it only waits).
    pub(crate) async fn wake(self) -> Wake {
        let Some(s) = self.conn else {
            sleep_until(self.offer_at).await;
            return Wake::Offer;
        };
        tokio::select! {
            r = s.ready(true, self.write) => Wake::Io(r),
            _ = sleep_until(self.deadline.map(Into::into)) => Wake::Timeout,
        }
    }
}

pub(crate) struct Observer {
    agent: Agent,
    conn: Option<Pump>,
    offer_at: Option<tokio::time::Instant>,
}

impl Observer {
    pub(crate) fn new(cfg: AgentConfig, now: Instant) -> Observer {
        let mut agent = Agent::new(cfg, Switch::new(N_TABLES, Box::new(NormalOnly)), now);
        agent.set_observer();
        Observer {
            agent,
            conn: None,
            offer_at: Some(tokio::time::Instant::now()),
        }
    }

    /// What to wait for next (borrowing only what can be shared across the task's awaits).
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        Waiter {
            conn: self.conn.as_ref(),
            write: !self.agent.output().is_empty(),
            deadline: self.agent.poll_timeout(),
            offer_at: self.offer_at,
        }
    }

    /// Act on `w`, with the real switch lent for the time.
    pub(crate) async fn step(
        &mut self,
        w: Wake,
        switch: &mut Switch,
        peers: &Peers,
        links: &Links,
        name: &str,
    ) {
        if matches!(w, Wake::Offer) {
            self.offer_at = None;
            match offer(peers, name, true).await {
                Ok(s) => {
                    self.agent.restart(Instant::now());
                    self.conn = Some(Pump::new(s.into(), "ofp".into()));
                }
                Err(e) => {
                    tracing::debug!("local switch {name}: no observer connection: {e}");
                    self.offer_at = Some(tokio::time::Instant::now() + RECONNECT);
                }
            }
            return;
        }
        if let Some(pump) = self.conn.as_mut() {
            match w {
                Wake::Io(Ok(Ready::Read)) => {
                    // Requests read the real switch. Only input borrows it: a timeout here
                    // must not expire its flows (the main connection does, and tells its
                    // controller).
                    std::mem::swap(&mut self.agent.switch, switch);
                    pump.transfer(Ok(Ready::Read), &mut self.agent);
                    answer_port_stats(&mut self.agent, links).await;
                    std::mem::swap(&mut self.agent.switch, switch);
                }
                Wake::Io(r) => pump.transfer(r, &mut self.agent),
                Wake::Timeout => self.agent.handle_timeout(Instant::now()),
                Wake::Offer => {}
            }
        }
        if let Some(why) = self.agent.close_reason() {
            tracing::debug!("local switch {name}: observer connection closed: {why}");
            self.conn = None;
            self.offer_at = Some(tokio::time::Instant::now() + RECONNECT);
        }
    }

    /// A port changed: tell ofp.
    pub(crate) fn port_status(&mut self, change: Option<(u8, v13::Port)>) {
        if let Some((reason, desc)) = change {
            self.agent.port_status(reason, desc);
        }
    }
}
