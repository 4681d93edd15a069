//! switchd(8): the OpenFlow controller daemon.

fn main() {
    eprintln!("switchd: the daemon is not built yet (see the daemon issue)");
    std::process::exit(1);
}
