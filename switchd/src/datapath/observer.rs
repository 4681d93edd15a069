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

use tokio::net::UnixStream;

use super::agent::{Agent, AgentConfig, Switch};
use super::links::Links;
use super::{answer_port_stats, offer, sleep_until, N_TABLES, RECONNECT};
use crate::child::Peers;
use crate::log_debug;
use ofproto::v13;
use tc_datapath::NormalOnly;

/// What woke the observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Readable,
    Writable,
    Timeout,
    /// Time to offer ofp a (new) connection.
    Offer,
}

/// See [`Observer::waiter`].
pub struct Waiter<'a> {
    conn: Option<&'a UnixStream>,
    write: bool,
    deadline: Option<Instant>,
    offer_at: Option<tokio::time::Instant>,
}

impl Waiter<'_> {
    /// The next thing to do; cancel-safe (it only waits).
    pub async fn wake(self) -> Wake {
        let Some(s) = self.conn else {
            sleep_until(self.offer_at).await;
            return Wake::Offer;
        };
        tokio::select! {
            r = s.readable() => { let _ = r; Wake::Readable }
            r = s.writable(), if self.write => { let _ = r; Wake::Writable }
            _ = sleep_until(self.deadline.map(Into::into)) => Wake::Timeout,
        }
    }
}

pub struct Observer {
    agent: Agent,
    conn: Option<UnixStream>,
    offer_at: Option<tokio::time::Instant>,
    buf: Vec<u8>,
}

impl Observer {
    pub fn new(cfg: AgentConfig, now: Instant) -> Observer {
        let mut agent = Agent::new(cfg, Switch::new(N_TABLES, Box::new(NormalOnly)), now);
        agent.set_observer();
        Observer {
            agent,
            conn: None,
            offer_at: Some(tokio::time::Instant::now()),
            buf: vec![0; super::agent::READ_CHUNK],
        }
    }

    /// What to wait for next (borrowing only what can be shared across the task's awaits).
    pub fn waiter(&self) -> Waiter<'_> {
        Waiter {
            conn: self.conn.as_ref(),
            write: !self.agent.output().is_empty(),
            deadline: self.agent.poll_timeout(),
            offer_at: self.offer_at,
        }
    }

    /// Act on `w`, with the real switch lent for the time.
    pub async fn step(
        &mut self,
        w: Wake,
        switch: &mut Switch,
        peers: &Peers,
        links: &Links,
        name: &str,
    ) {
        if w == Wake::Offer {
            self.offer_at = None;
            match offer(peers, name, true).await {
                Ok(s) => {
                    self.agent.restart(Instant::now());
                    self.conn = Some(s);
                }
                Err(e) => {
                    log_debug!("local switch {name}: no observer connection: {e}");
                    self.offer_at = Some(tokio::time::Instant::now() + RECONNECT);
                }
            }
            return;
        }
        if let Some(s) = &self.conn {
            match w {
                Wake::Readable => match s.try_read(&mut self.buf) {
                    Ok(0) => self.agent.close("closed by ofp"),
                    Ok(n) => {
                        // Requests read the real switch. Only input borrows it: a timeout
                        // here must not expire its flows (the main connection does, and
                        // tells its controller).
                        std::mem::swap(&mut self.agent.switch, switch);
                        self.agent.handle_input(&self.buf[..n], Instant::now());
                        answer_port_stats(&mut self.agent, links).await;
                        std::mem::swap(&mut self.agent.switch, switch);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => self.agent.close(e.to_string()),
                },
                Wake::Writable => match s.try_write(self.agent.output()) {
                    Ok(n) => self.agent.consume(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => self.agent.close(e.to_string()),
                },
                Wake::Timeout => self.agent.handle_timeout(Instant::now()),
                Wake::Offer => {}
            }
        }
        if let Some(why) = self.agent.close_reason() {
            log_debug!("local switch {name}: observer connection closed: {why}");
            self.conn = None;
            self.offer_at = Some(tokio::time::Instant::now() + RECONNECT);
        }
    }

    /// A port changed: tell ofp.
    pub fn port_status(&mut self, change: Option<(u8, v13::Port)>) {
        if let Some((reason, desc)) = change {
            self.agent.port_status(reason, desc);
        }
    }
}
