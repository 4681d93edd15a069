//! A child process owned by a test: terminated and reaped when dropped.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A running child process. Dropping it sends SIGTERM, waits up to two seconds, then
/// SIGKILLs it, and always reaps it: no zombie, no orphan.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Option<Child>,
}

impl Proc {
    /// Start `cmd`; `name` appears in errors and logs.
    pub fn spawn(name: &str, cmd: &mut Command) -> std::io::Result<Proc> {
        let child = cmd.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start {name} ({cmd:?}): {e}"))
        })?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process is still running (it is reaped if it has exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Send a signal to the process.
    pub fn signal(&self, sig: Signal) -> nix::Result<()> {
        kill(Pid::from_raw(self.pid() as i32), sig)
    }

    /// Wait up to `timeout` for the process to exit by itself; its status if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the process now (SIGTERM, then SIGKILL after two seconds) and reap it.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
