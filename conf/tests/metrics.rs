//! `metrics listen on ADDRESS port N`: off by default, parsed, printed back, errors.

#[test]
fn metrics_listen_parses_prints_and_is_off_by_default() {
    let none = conf::parse_str("t", "listen on 127.0.0.1\n", &[]).expect("parses");
    assert_eq!(none.metrics, None);
    let c = conf::parse_str("t", "metrics listen on 127.0.0.1 port 9302\n", &[]).expect("parses");
    assert_eq!(c.metrics, Some("127.0.0.1:9302".parse().unwrap()));
    let again = conf::parse_str("t", &c.to_string(), &[]).expect("the printed form parses");
    assert_eq!(again.metrics, c.metrics);
    let v6 = conf::parse_str("t", "metrics listen on \"[::1]\" port 9302\n", &[]).expect("parses");
    assert_eq!(v6.metrics, Some("[::1]:9302".parse().unwrap()));
}

#[test]
fn metrics_listen_errors_are_sentences() {
    let e = conf::parse_str("t", "metrics listen on nowhere port 9302\n", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid metrics address \"nowhere\""), "{e}");
    let e = conf::parse_str("t", "metrics listen on 127.0.0.1\n", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("port"), "{e}");
    let twice = "metrics listen on 127.0.0.1 port 1\nmetrics listen on 127.0.0.1 port 2\n";
    let e = conf::parse_str("t", twice, &[]).unwrap_err().to_string();
    assert!(e.contains("metrics listen given twice"), "{e}");
}
