//! `switchctl parse`: what an operator sees for real captures and for broken input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ofproto/tests/corpus")
        .join(name)
}

fn switchctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchctl"))
        .args(args)
        .output()
        .expect("run switchctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("switchctl-parse-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn every_message_of_the_ovs_and_osken_streams_prints_and_checks() {
    let index = std::fs::read_to_string(corpus("messages.txt")).expect("index");
    for file in [
        "ofctl13.c2s.bin",
        "ofctl13.s2c.bin",
        "osken13.c2s.bin",
        "ofctl10.s2c.bin",
    ] {
        let expected = index
            .lines()
            .filter(|l| l.starts_with(&format!("{file} ")))
            .count();
        let path = corpus(file);
        let (code, out, err) = switchctl(&["parse", "--check", path.to_str().expect("path")]);
        assert_eq!(code, 0, "{file}: {err}");
        assert_eq!(
            out.lines().count(),
            expected,
            "{file}: one line per message"
        );
        assert!(out.lines().all(|l| l.contains(": OFP")), "{file}: {out}");
    }
    let (_, out, _) = switchctl(&["parse", corpus("osken13.c2s.bin").to_str().expect("path")]);
    assert!(
        out.contains("OFPT_FLOW_MOD (OF1.3)") && out.contains("actions=CONTROLLER:65535"),
        "{out}"
    );
}

#[test]
fn captures_are_reassembled_into_messages() {
    let path = corpus("osken13.pcap");
    let (code, out, err) = switchctl(&["parse", "--check", path.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("# ") && out.contains(" -> "),
        "a header per direction: {out}"
    );
    assert!(out.contains("OFPT_PACKET_IN (OF1.3)"), "{out}");
    assert!(out.lines().any(|l| l.contains(": frame ")), "{out}");
}

#[test]
fn a_malformed_message_stops_with_its_offset_and_the_error_to_answer() {
    // A valid ECHO_REQUEST, then a FLOW_MOD whose length (12) cannot hold its body.
    let mut bytes = vec![0x04, 0x02, 0x00, 0x08, 0, 0, 0, 1];
    bytes.extend_from_slice(&[0x04, 0x0e, 0x00, 0x0c, 0, 0, 0, 2, 0, 0, 0, 0]);
    let p = temp_file("bad", &bytes);
    let (code, out, err) = switchctl(&["parse", p.to_str().expect("path")]);
    std::fs::remove_file(&p).ok();
    assert_eq!(code, 1);
    assert!(out.contains("OFPT_ECHO_REQUEST"), "{out}");
    assert!(
        err.contains("offset 8") && err.contains("OFPT_ERROR type 1 code 6"),
        "{err}"
    );
}

#[test]
fn check_reports_the_first_byte_that_does_not_survive_reencoding() {
    // OFPMP_DESC request with a non-zero byte in its padding: decodes, re-encodes with 0.
    let bytes = [0x04, 0x12, 0x00, 0x10, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1];
    let p = temp_file("pad", &bytes);
    let (plain, _, _) = switchctl(&["parse", p.to_str().expect("path")]);
    let (code, _, err) = switchctl(&["parse", "--check", p.to_str().expect("path")]);
    std::fs::remove_file(&p).ok();
    assert_eq!(plain, 0);
    assert_eq!(code, 1);
    assert!(err.contains("differs at byte 15"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let (code, _, err) = switchctl(&["parse", "/nonexistent/x.bin"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/x.bin") && err.contains("No such file"),
        "{err}"
    );
}
