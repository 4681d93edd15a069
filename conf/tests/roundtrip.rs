//! The printed form of any valid configuration parses again to an equal `Config`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use conf::{
    Config, FailMode, Flow, ForwardTo, KeyPair, Listen, Meter, Port, Switch, TableMiss, Tls,
    Tunnel, TunnelKind, PORT_NUMBER_MAX,
};
use proptest::prelude::*;

/// Any characters a quoted string can hold: everything but a newline, quotes and
/// backslashes included.
const TEXT: &str = "[^\n]";

fn text(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TEXT}{{{},{}}}", len.start(), len.end()))
        .expect("valid regex")
}

fn abs_path() -> impl Strategy<Value = PathBuf> {
    proptest::string::string_regex("/[a-zA-Z0-9_./ \"\\\\#$-]{0,60}")
        .expect("valid regex")
        .prop_map(PathBuf::from)
}

fn listens() -> impl Strategy<Value = Vec<Listen>> {
    proptest::collection::vec((any::<IpAddr>(), 1..=u16::MAX, any::<bool>()), 1..4).prop_map(|v| {
        let mut seen = BTreeSet::new();
        v.into_iter()
            .filter(|(addr, port, _)| seen.insert((*addr, *port)))
            .map(|(addr, port, tls)| Listen { addr, port, tls })
            .collect()
    })
}

fn forward_to() -> impl Strategy<Value = ForwardTo> {
    let host = prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
        "[a-z0-9][a-z0-9._-]{0,20}",
    ];
    (host, 1..=u16::MAX, any::<bool>()).prop_map(|(host, port, tls)| ForwardTo { host, port, tls })
}

fn table_miss() -> impl Strategy<Value = TableMiss> {
    prop_oneof![
        Just(TableMiss::Normal),
        Just(TableMiss::Controller),
        Just(TableMiss::Drop)
    ]
}

fn fail_mode() -> impl Strategy<Value = FailMode> {
    prop_oneof![Just(FailMode::Secure), Just(FailMode::Standalone)]
}

/// Static flows are validated as ovs-ofctl text, so they are valid flows: a priority and a
/// port chosen at random in a few shapes (one with spaces as separators).
fn flows() -> impl Strategy<Value = Vec<Flow>> {
    let shapes = [
        "priority={p},actions=drop",
        "priority={p},in_port={n},actions=output:{m}",
        "priority={p} icmp actions=drop",
        "priority={p},tcp,tp_dst={n},actions=CONTROLLER:65535",
    ];
    let flow = (
        proptest::sample::select(shapes.to_vec()),
        any::<u16>(),
        1..=0xff00u32,
        1..=0xff00u32,
    )
        .prop_map(|(shape, p, n, m)| {
            shape
                .replace("{p}", &p.to_string())
                .replace("{n}", &(n % 65536).to_string())
                .replace("{m}", &m.to_string())
        });
    proptest::collection::vec(flow, 0..4).prop_map(|v| {
        v.into_iter()
            .map(|text| Flow::new(text, String::new(), 0).expect("the shapes are flows"))
            .collect()
    })
}

/// Tunnel kinds for the first ports, and meters (ids may repeat: the caller keeps the first).
fn overlay() -> impl Strategy<Value = (Vec<Option<Tunnel>>, Vec<Meter>)> {
    let tunnel =
        proptest::option::of(
            (any::<bool>(), 1..=u16::MAX).prop_map(|(vx, dst_port)| Tunnel {
                kind: if vx {
                    TunnelKind::Vxlan
                } else {
                    TunnelKind::Geneve
                },
                dst_port,
            }),
        );
    let meter = (
        1..=conf::METER_ID_MAX,
        1..=u32::MAX,
        proptest::option::of(1..=u32::MAX),
    )
        .prop_map(|(id, rate_kbps, burst_kb)| Meter {
            id,
            rate_kbps,
            burst_kb,
        });
    (
        proptest::collection::vec(tunnel, 0..5),
        proptest::collection::vec(meter, 0..4),
    )
}

/// One switch; `i` makes its name, datapath id, bridge and port names unique.
fn switch(i: usize) -> impl Strategy<Value = Switch> {
    let local = (
        "[a-z0-9-]{0,8}",
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(1..=PORT_NUMBER_MAX, 0..5),
        table_miss(),
        proptest::option::of(forward_to()),
        fail_mode(),
        proptest::collection::vec(forward_to(), 0..3),
        overlay(),
    );
    (text(0..=12), any::<u64>(), any::<bool>(), local, flows()).prop_map(
        move |(
            name,
            dpid,
            is_local,
            (br, ldpid, numbers, tm, fwd, fm, more, (tunnels, meters)),
            flows,
        )| {
            let unique_dpid = |d: u64| (d & !0xff) | i as u64;
            let mut sw = Switch::new(format!("{name}#{i}"));
            sw.flows = flows;
            if !is_local {
                sw.datapath_id = Some(unique_dpid(dpid));
                return sw;
            }
            sw.bridge = Some(format!("br{i}{br}"));
            sw.datapath_id = ldpid.map(unique_dpid);
            let mut seen = BTreeSet::new();
            sw.ports = numbers
                .into_iter()
                .filter(|n| seen.insert(*n))
                .enumerate()
                .map(|(j, n)| Port {
                    name: format!("p{i}-{j}"),
                    number: Some(n),
                    tunnel: tunnels.get(j).copied().flatten(),
                })
                .collect();
            let mut ids = BTreeSet::new();
            sw.meters = meters.into_iter().filter(|m| ids.insert(m.id)).collect();
            sw.table_miss = tm;
            // The second and later `forward to`: only after a first, each address once.
            if let Some(first) = &fwd {
                for m in more {
                    if m != *first && !sw.also_forward_to.contains(&m) {
                        sw.also_forward_to.push(m);
                    }
                }
            }
            sw.forward_to = fwd;
            sw.fail_mode = fm;
            sw
        },
    )
}

fn switches() -> impl Strategy<Value = Vec<Switch>> {
    (0usize..5).prop_flat_map(|n| (0..n).map(switch).collect::<Vec<_>>())
}

fn config() -> impl Strategy<Value = Config> {
    (
        listens(),
        abs_path(),
        proptest::option::of(text(1..=10)),
        text(1..=10),
        abs_path(),
        (1..=u32::MAX, 1..=u32::MAX, 1..=u32::MAX),
        switches(),
    )
        .prop_map(
            |(listen, socket, socket_group, user, chroot, (timeout, cache, echo), switches)| {
                Config {
                    listen,
                    socket,
                    socket_group,
                    user,
                    chroot,
                    timeout,
                    cache,
                    echo_interval: echo,
                    switches,
                    metrics: None,
                    vnet: None,
                    tls: Tls {
                        pki: PathBuf::from("/var/lib/openvswitch/pki"),
                        controller: Some(KeyPair {
                            certificate: PathBuf::from("ctl-cert.pem"),
                            key: PathBuf::from("/etc/switchd/ctl privkey.pem"),
                        }),
                        switch: Some(KeyPair {
                            certificate: PathBuf::from("sc-cert.pem"),
                            key: PathBuf::from("sc-privkey.pem"),
                        }),
                    },
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(cfg in config()) {
        let text = cfg.to_string();
        match conf::parse_str("printed.conf", &text, &[]) {
            Ok(again) => prop_assert_eq!(again, cfg, "printed:\n{}", text),
            Err(e) => prop_assert!(false, "printed form does not parse:\n{}\n{}", text, e),
        }
    }
}

#[test]
fn automatic_port_numbers_are_printed() {
    let mut sw = Switch::new("s");
    sw.bridge = Some("br0".into());
    for (name, number) in [
        ("a", Some(2)),
        ("b", None),
        ("c", None),
        ("d", Some(4)),
        ("e", None),
    ] {
        sw.ports.push(Port {
            name: name.into(),
            number,
            tunnel: None,
        });
    }
    let want: Vec<(&str, u32)> = vec![("a", 2), ("b", 1), ("c", 3), ("d", 4), ("e", 5)];
    assert_eq!(sw.port_numbers(), want);
    let cfg = Config {
        switches: vec![sw.clone()],
        ..Config::default()
    };
    let parsed = conf::parse_str("t", &cfg.to_string(), &[]).expect("parses");
    let got: Vec<(String, Option<u32>)> = parsed.switches[0]
        .ports
        .iter()
        .map(|p| (p.name.clone(), p.number))
        .collect();
    let want: Vec<(String, Option<u32>)> = want
        .into_iter()
        .map(|(n, k)| (n.to_string(), Some(k)))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn default_config_prints_and_parses() {
    let cfg = Config::default();
    assert_eq!(conf::parse_str("t", "", &[]), Ok(cfg.clone()));
    assert_eq!(conf::parse_str("t", &cfg.to_string(), &[]), Ok(cfg));
}

#[test]
fn unreadable_file_is_one_error_without_line() {
    let e = conf::load(std::path::Path::new("/nonexistent/switchd.conf"), &[])
        .expect_err("no such file");
    assert_eq!(
        e.to_string(),
        "/nonexistent/switchd.conf: No such file or directory"
    );
}

#[test]
fn parse_str_includes_relative_to_cwd() {
    // cargo runs integration tests in the package directory.
    let cfg = conf::parse_str("<text>", "include \"tests/golden/inc/globals.conf\"\n", &[])
        .expect("include found relative to the current directory");
    assert_eq!((cfg.timeout, cfg.cache), (120, 100));
}

#[test]
fn defines_parse_at_the_first_equals_sign() {
    assert_eq!(
        conf::parse_define("f=priority=1,actions=drop"),
        Some(("f".to_string(), "priority=1,actions=drop".to_string()))
    );
    assert_eq!(conf::parse_define("no-equals"), None);
    assert_eq!(conf::parse_define("bad-name=1"), None);
}

#[test]
fn flows_remember_where_they_were_written() {
    let cfg = conf::parse_str(
        "f.conf",
        "\nswitch \"s\" {\n\tdatapath-id 1\n\tflow \"actions=drop\"\n}\n",
        &[],
    )
    .expect("valid");
    let f = &cfg.switches[0].flows[0];
    assert_eq!(
        (f.file.as_str(), f.line, f.text.as_str()),
        ("f.conf", 4, "actions=drop")
    );
}

#[test]
fn shipped_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("switchd.conf");
    let cfg = conf::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.listen, vec![Listen::default()]);
    assert_eq!(cfg.switches.len(), 1);
    assert_eq!(cfg.switches[0].datapath_id, Some(0xa1));

    // The commented-out local bridge block is valid too, once uncommented (one level).
    let text = std::fs::read_to_string(&path).expect("readable");
    let mut inside = false;
    let uncommented: String = text
        .lines()
        .map(|l| {
            if l.starts_with("#switch") {
                inside = true;
            }
            let out = if inside {
                l.strip_prefix('#').unwrap_or(l)
            } else {
                l
            };
            if l == "#}" {
                inside = false;
            }
            format!("{out}\n")
        })
        .collect();
    let cfg = conf::parse_str("uncommented", &uncommented, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.switches.len(), 2);
    assert_eq!(cfg.switches[1].bridge.as_deref(), Some("br-vm"));
}

/// Fragments that make up configurations, broken ones included.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "switch",
            "bridge",
            "port",
            "number",
            "datapath-id",
            "flow",
            "forward",
            "to",
            "table-miss",
            "fail-mode",
            "listen",
            "on",
            "include",
            "timeout",
            "cache",
            "user",
            "socket",
            "group",
            "chroot",
            "echo-interval",
            "drop",
            "secure",
            "tcp:h:1",
            "::1",
            "127.0.0.1",
            "0x1",
            "7",
            "$a",
            "$b",
            "$",
            "a = \"$b\"",
            "b = x",
            "{",
            "}",
            ";",
            "=",
            "\"",
            "'",
            "\\",
            "\\\n",
            "\n",
            " ",
            "\t",
            "#",
            "\"q\"",
            "inc",
        ])
        .prop_map(str::to_string),
        "[^\n]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any input ends in a Config or in errors, never in a panic or a hang, and a Config
    /// found prints and parses again to itself.
    #[test]
    fn arbitrary_input(parts in proptest::collection::vec(fragment(), 0..40)) {
        let text = parts.join(" ");
        match conf::parse_str("fuzz.conf", &text, &[("b".into(), "1".into())]) {
            Ok(cfg) => {
                let again = conf::parse_str("printed", &cfg.to_string(), &[]);
                prop_assert_eq!(again, Ok(cfg));
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                // No include can succeed here, so all errors are in this file, in order.
                let lines: Vec<u32> = e.0.iter().map(|err| err.line).collect();
                prop_assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{}", e);
                for err in &e.0 {
                    prop_assert!(err.file == "fuzz.conf" && err.line >= 1, "{}", err);
                }
            }
        }
    }
}
