//! switchctl(8): the operator's tool for switchd.

fn main() {
    eprintln!("switchctl: not built yet (see the daemon issue)");
    std::process::exit(1);
}
