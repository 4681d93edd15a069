//! `ofbench`: a cbench-style OpenFlow 1.3 load generator; see `regress::ofbench`.
//!
//! ```text
//! ofbench --port 6653 --switches 16 --macs 1000 --rounds 10 --mode throughput
//! ofbench --port 6653 --mode latency --json
//! ```

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match regress::ofbench::Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ofbench: {e}");
            eprintln!("{}", regress::ofbench::USAGE);
            std::process::exit(2);
        }
    };
    println!("{}", opts.describe());
    let mut progress = |line: &str| {
        println!("{line}");
        let _ = std::io::stdout().flush();
    };
    match regress::ofbench::run(&opts, &mut progress) {
        Ok(report) => {
            print!("{}", report.text());
            if opts.json {
                println!("{}", report.json());
            }
        }
        Err(e) => {
            eprintln!("ofbench: {e}");
            std::process::exit(1);
        }
    }
}
