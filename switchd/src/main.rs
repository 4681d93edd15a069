//! switchd(8): the OpenFlow controller daemon.

use switchd::msg::Role;

fn main() {
    switchd::log::install();
    // A child is exec'd with its title as its only argument (see title.rs).
    let mut argv = std::env::args_os();
    let arg0 = argv.next().unwrap_or_default();
    if argv.len() == 0 {
        if let Some(role) = arg0.to_str().and_then(Role::from_title) {
            switchd::run::child(role);
        }
    }
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(a) => a,
        Err(bad) => {
            eprintln!("switchd: argument {bad:?} is not UTF-8");
            std::process::exit(1);
        }
    };
    match switchd::args::parse(args) {
        Ok(args) => switchd::parent::main(args),
        Err(e) => {
            eprintln!("switchd: {e}");
            eprintln!("{}", switchd::args::USAGE);
            std::process::exit(1);
        }
    }
}
