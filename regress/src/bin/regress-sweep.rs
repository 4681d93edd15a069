//! `regress-sweep [--all] [--check]`: remove (or with --check only list) what test fixtures
//! left behind. Without --all only what dead test processes own; with --all everything that
//! carries the fixture prefix (for the end of a run, when no test may be alive).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|a| a == "--all");
    let check = args.iter().any(|a| a == "--check");
    if let Some(bad) = args.iter().find(|a| *a != "--all" && *a != "--check") {
        eprintln!("usage: regress-sweep [--all] [--check] (unknown argument {bad})");
        std::process::exit(2);
    }
    if check {
        let left = regress::leftovers(all);
        for what in &left {
            println!("left behind: {what}");
        }
        std::process::exit(if left.is_empty() { 0 } else { 1 });
    }
    for what in regress::sweep(all) {
        println!("removed {what}");
    }
}
