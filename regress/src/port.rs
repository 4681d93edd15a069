//! A free TCP port chooser: never a fixed port such as 6653, which another process on the
//! machine may hold.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

/// A TCP port on 127.0.0.1 that was free when asked, and that this process has not handed
/// out before (so two tests in one process never get the same port even if the first has
/// not bound it yet).
pub fn free_tcp_port() -> std::io::Result<u16> {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    for _ in 0..64 {
        // Port 0 makes the kernel choose from its ephemeral range.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no free TCP port after 64 tries",
    ))
}
