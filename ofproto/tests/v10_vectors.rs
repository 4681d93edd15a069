//! OpenFlow 1.0 test vectors, one or more per message type, annotated field by field.
//!
//! Each vector is decoded to the expected message and re-encoded to the same bytes. Every
//! vector was also fed to Open vSwitch 3.1.0 (`ovs-ofctl ofp-print <hex>`), and OVS decodes
//! it to the same fields (its output is quoted next to the vector, shortened).

use bytes::Bytes;
use ofproto::v10::*;
use ofproto::{DecodeError, OfpErrorCode};

/// Hex with `#` comments to the end of the line; whitespace ignored.
fn h(s: &str) -> Bytes {
    let hex: String = s
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert!(hex.len().is_multiple_of(2), "odd hex: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

/// To re-check the vectors against Open vSwitch:
/// `V10_DUMP_HEX=1 cargo test -p ofproto --test v10_vectors -- --nocapture --test-threads 1 2>&1 |
///  sed -n 's/^HEX //p' | while read x; do ovs-ofctl ofp-print "$x"; done`
#[track_caller]
fn round_trip(bytes: &Bytes, xid: u32, expected: Message) {
    if std::env::var_os("V10_DUMP_HEX").is_some() {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        println!("HEX {hex}");
    }
    let (x, m) = decode(bytes).unwrap();
    assert_eq!(x, xid);
    assert_eq!(m, expected);
    assert_eq!(m.to_bytes(xid), *bytes, "re-encoding differs");
}

/// `v` without its last `n` bytes, with the header length adjusted to match.
fn shorten(v: &Bytes, n: usize) -> Bytes {
    let mut b = v[..v.len() - n].to_vec();
    let len = b.len() as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    b.into()
}

#[track_caller]
fn fails_with(bytes: &Bytes, err_type: u16, code: u16) {
    match decode(bytes) {
        Err(DecodeError::Malformed { code: c, .. }) => {
            assert_eq!(c, OfpErrorCode::new(err_type, code), "{:?}", decode(bytes))
        }
        other => panic!("expected error ({err_type},{code}), got {other:?}"),
    }
}

const MAC1: [u8; 6] = [0x0a, 0, 0, 0, 0, 0x01];
const MAC2: [u8; 6] = [0x0a, 0, 0, 0, 0, 0x02];

/// in_port=1,tcp,nw_src=10.0.0.0/24,nw_dst=10.0.0.2,tp_dst=80 as 40 annotated bytes.
const TCP_MATCH_HEX: &str = "
    0030084e            # wildcards: DL_VLAN|DL_SRC|DL_DST|TP_SRC (0x4e), nw_src 8 bits
                        #   wild (8<<8), DL_VLAN_PCP|NW_TOS (0x300000)
    0001                # in_port 1
    000000000000        # dl_src (wildcarded, kept)
    000000000000        # dl_dst (wildcarded, kept)
    0000                # dl_vlan (wildcarded)
    00                  # dl_vlan_pcp (wildcarded)
    00                  # pad1
    0800                # dl_type IPv4
    00                  # nw_tos (wildcarded)
    06                  # nw_proto TCP
    0000                # pad2
    0a000000            # nw_src 10.0.0.0
    0a000002            # nw_dst 10.0.0.2
    0000                # tp_src (wildcarded)
    0050                # tp_dst 80
";

fn tcp_match() -> Match {
    Match {
        wildcards: 0x0030_084e,
        in_port: 1,
        dl_src: [0; 6],
        dl_dst: [0; 6],
        dl_vlan: 0,
        dl_vlan_pcp: 0,
        dl_type: 0x0800,
        nw_tos: 0,
        nw_proto: 6,
        nw_src: 0x0a00_0000,
        nw_dst: 0x0a00_0002,
        tp_src: 0,
        tp_dst: 80,
    }
}

/// Match everything: all 22 wildcard bits, every field zero.
const ANY_MATCH_HEX: &str = "
    003fffff            # wildcards: OFPFW_ALL
    0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0000 0000
";

/// ofp_phy_port for port 1 "eth1".
const PORT1_HEX: &str = "
    0001                # port_no 1
    0a0000000001        # hw_addr
    65746831000000000000000000000000  # name \"eth1\", NUL padded to 16
    00000000            # config
    00000000            # state (link up, STP listen)
    000002a0            # curr: 1GB_FD|COPPER|AUTONEG
    000002a0            # advertised
    000002bf            # supported: 10M..1G HD/FD|COPPER|AUTONEG
    00000000            # peer
";

fn port1() -> PhyPort {
    PhyPort {
        port_no: 1,
        hw_addr: MAC1,
        name: FixedStr::new("eth1"),
        config: 0,
        state: 0,
        curr: 0x2a0,
        advertised: 0x2a0,
        supported: 0x2bf,
        peer: 0,
    }
}

#[test]
fn hello_1_0() {
    // OVS: OFPT_HELLO (xid=0x2a): version bitmap: 0x01
    let v = h("01 00 0008 0000002a  # version 1, HELLO, length 8, xid 42");
    round_trip(&v, 42, Message::Hello(Hello::default()));
}

#[test]
fn hello_from_a_1_3_peer_keeps_version_and_elements() {
    // OVS: OFPT_HELLO (OF1.3) (xid=0x1): version bitmap: 0x01, 0x04
    let v = h("
        04 00 0010 00000001   # version 4 (1.3), HELLO, length 16, xid 1
        0001 0008             # hello element VERSIONBITMAP, length 8
        00000012              # bitmap: versions 1 and 4
    ");
    round_trip(
        &v,
        1,
        Message::Hello(Hello {
            version: 4,
            body: v.slice(8..),
        }),
    );
}

#[test]
fn error() {
    // OVS: OFPT_ERROR (xid=0x7): OFPBRC_BAD_LEN / OFPT_FEATURES_REQUEST (xid=0x1):
    let v = h("
        01 01 0014 00000007   # version 1, ERROR, length 20, xid 7
        0001                  # type OFPET_BAD_REQUEST
        0006                  # code OFPBRC_BAD_LEN
        01 05 0008 00000001   # data: the offending FEATURES_REQUEST
    ");
    round_trip(
        &v,
        7,
        Message::Error(ErrorMsg {
            err_type: err_type::BAD_REQUEST,
            code: bad_request::BAD_LEN,
            data: v.slice(12..),
        }),
    );
}

#[test]
fn echo_request_and_reply() {
    // OVS: OFPT_ECHO_REQUEST (xid=0x3): 4 bytes of payload / 00000000  01 02 03 04
    let v = h("01 02 000c 00000003  # ECHO_REQUEST, length 12, xid 3
               01020304             # arbitrary data");
    round_trip(&v, 3, Message::EchoRequest(v.slice(8..)));
    // OVS: OFPT_ECHO_REPLY (xid=0x3): 4 bytes of payload
    let v = h("01 03 000c 00000003  # ECHO_REPLY, length 12, xid 3
               01020304             # the request's data");
    round_trip(&v, 3, Message::EchoReply(v.slice(8..)));
}

#[test]
fn vendor_nicira_role_request() {
    // OVS: NXT_ROLE_REQUEST (xid=0x5): role=primary
    let v = h("
        01 04 0014 00000005   # VENDOR, length 20, xid 5
        00002320              # vendor: Nicira
        0000000a              # (opaque) NXT_ROLE_REQUEST
        00000001              # (opaque) role master
    ");
    round_trip(
        &v,
        5,
        Message::Vendor(Vendor {
            vendor: 0x2320,
            data: v.slice(12..),
        }),
    );
}

#[test]
fn features_request_and_reply() {
    // OVS: OFPT_FEATURES_REQUEST (xid=0x2):
    let v = h("01 05 0008 00000002  # FEATURES_REQUEST, length 8, xid 2");
    round_trip(&v, 2, Message::FeaturesRequest);

    // OVS: OFPT_FEATURES_REPLY (xid=0x2): dpid:0000000000000001 n_tables:254,
    // n_buffers:256 capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP
    // actions: output enqueue set_vlan_vid ... / 1(eth1): addr:0a:00:00:00:00:01 ...
    let v = h(&format!(
        "
        01 06 0050 00000002   # FEATURES_REPLY, length 80, xid 2
        0000000000000001      # datapath_id
        00000100              # n_buffers 256
        fe                    # n_tables 254
        000000                # pad
        000000c7              # capabilities FLOW|TABLE|PORT|QUEUE_STATS|ARP_MATCH_IP
        00000fff              # actions: the 12 standard action types
        {PORT1_HEX}           # ports[0]
    "
    ));
    round_trip(
        &v,
        2,
        Message::FeaturesReply(FeaturesReply {
            datapath_id: 1,
            n_buffers: 256,
            n_tables: 254,
            capabilities: 0xc7,
            actions: 0xfff,
            ports: vec![port1()],
        }),
    );
}

#[test]
fn switch_config() {
    // OVS: OFPT_GET_CONFIG_REQUEST (xid=0x4):
    let v = h("01 07 0008 00000004  # GET_CONFIG_REQUEST, length 8, xid 4");
    round_trip(&v, 4, Message::GetConfigRequest);
    // OVS: OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=128
    let v = h("01 08 000c 00000004  # GET_CONFIG_REPLY, length 12, xid 4
               0000                 # flags FRAG_NORMAL
               0080                 # miss_send_len 128");
    round_trip(
        &v,
        4,
        Message::GetConfigReply(SwitchConfig {
            flags: config_flags::FRAG_NORMAL,
            miss_send_len: 128,
        }),
    );
    // OVS: OFPT_SET_CONFIG (xid=0x5): frags=drop miss_send_len=65535
    let v = h("01 09 000c 00000005  # SET_CONFIG, length 12, xid 5
               0001                 # flags FRAG_DROP
               ffff                 # miss_send_len: whole packet");
    round_trip(
        &v,
        5,
        Message::SetConfig(SwitchConfig {
            flags: config_flags::FRAG_DROP,
            miss_send_len: 0xffff,
        }),
    );
}

#[test]
fn packet_in() {
    // OVS: OFPT_PACKET_IN (xid=0x0): total_len=60 in_port=1 (via no_match) data_len=14
    // buffer=0x00000100 / arp,dl_src=0a:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff ...
    let v = h("
        01 0a 0020 00000000   # PACKET_IN, length 32, xid 0
        00000100              # buffer_id 256
        003c                  # total_len 60
        0001                  # in_port 1
        00                    # reason NO_MATCH
        00                    # pad
        ffffffffffff 0a0000000001 0806  # data: Ethernet header of an ARP frame
    ");
    round_trip(
        &v,
        0,
        Message::PacketIn(PacketIn {
            buffer_id: 256,
            total_len: 60,
            in_port: 1,
            reason: packet_in_reason::NO_MATCH,
            data: v.slice(18..),
        }),
    );
}

#[test]
fn flow_removed() {
    // OVS: OFPT_FLOW_REMOVED (xid=0x0): priority=32768,tcp,in_port=1,nw_src=10.0.0.0/24,
    // nw_dst=10.0.0.2,tp_dst=80 reason=idle cookie:0xabc duration10.5s idle60 pkts5 bytes310
    let v = h(&format!(
        "
        01 0b 0058 00000000   # FLOW_REMOVED, length 88, xid 0
        {TCP_MATCH_HEX}       # match
        0000000000000abc      # cookie
        8000                  # priority 32768
        00                    # reason IDLE_TIMEOUT
        00                    # pad
        0000000a              # duration_sec 10
        1dcd6500              # duration_nsec 500000000
        003c                  # idle_timeout 60
        0000                  # pad2
        0000000000000005      # packet_count 5
        0000000000000136      # byte_count 310
    "
    ));
    round_trip(
        &v,
        0,
        Message::FlowRemoved(FlowRemoved {
            r#match: tcp_match(),
            cookie: 0xabc,
            priority: 0x8000,
            reason: flow_removed_reason::IDLE_TIMEOUT,
            duration_sec: 10,
            duration_nsec: 500_000_000,
            idle_timeout: 60,
            packet_count: 5,
            byte_count: 310,
        }),
    );
}

#[test]
fn port_status() {
    // OVS: OFPT_PORT_STATUS (xid=0x0): MOD: 1(eth1): addr:0a:00:00:00:00:01 ...
    let v = h(&format!(
        "
        01 0c 0040 00000000   # PORT_STATUS, length 64, xid 0
        02                    # reason MODIFY
        00000000000000        # pad
        {PORT1_HEX}           # desc
    "
    ));
    round_trip(
        &v,
        0,
        Message::PortStatus(PortStatus {
            reason: port_reason::MODIFY,
            desc: port1(),
        }),
    );
}

#[test]
fn packet_out() {
    // OVS: OFPT_PACKET_OUT (xid=0x9): in_port=LOCAL actions=output:2 data_len=14
    let v = h("
        01 0d 0026 00000009   # PACKET_OUT, length 38, xid 9
        ffffffff              # buffer_id: none, packet in data
        fffe                  # in_port LOCAL
        0008                  # actions_len 8
        0000 0008 0002 0000   # action OUTPUT, len 8, port 2, max_len 0
        ffffffffffff 0a0000000001 0806  # data: Ethernet header
    ");
    round_trip(
        &v,
        9,
        Message::PacketOut(PacketOut {
            buffer_id: NO_BUFFER,
            in_port: port_no::LOCAL,
            actions: vec![Action::Output {
                port: 2,
                max_len: 0,
            }],
            data: v.slice(24..),
        }),
    );
}

/// Every 1.0 action once, plus a Nicira vendor action, as annotated bytes (144 bytes).
const ALL_ACTIONS_HEX: &str = "
    0000 0008 0002 0000            # OUTPUT port 2, max_len 0
    0001 0008 000a 0000            # SET_VLAN_VID 10, pad
    0002 0008 05 000000            # SET_VLAN_PCP 5, pad
    0003 0008 00000000             # STRIP_VLAN, pad
    0004 0010 0a0000000001 000000000000  # SET_DL_SRC 0a:00:00:00:00:01, pad
    0005 0010 0a0000000002 000000000000  # SET_DL_DST 0a:00:00:00:00:02, pad
    0006 0008 0a000001             # SET_NW_SRC 10.0.0.1
    0007 0008 0a000002             # SET_NW_DST 10.0.0.2
    0008 0008 10 000000            # SET_NW_TOS 0x10, pad
    0009 0008 1f90 0000            # SET_TP_SRC 8080, pad
    000a 0008 0050 0000            # SET_TP_DST 80, pad
    000b 0010 0003 000000000000 00000001  # ENQUEUE port 3, pad, queue 1
    ffff 0010 00002320             # VENDOR len 16, Nicira
      0001 0005 00000000           #   (opaque) NXAST_RESUBMIT in_port 5, pad
    0000 0008 fffd ffff            # OUTPUT CONTROLLER, max_len 65535
";

fn all_actions(nicira: Bytes) -> Vec<Action> {
    vec![
        Action::Output {
            port: 2,
            max_len: 0,
        },
        Action::SetVlanVid(10),
        Action::SetVlanPcp(5),
        Action::StripVlan,
        Action::SetDlSrc(MAC1),
        Action::SetDlDst(MAC2),
        Action::SetNwSrc(0x0a00_0001),
        Action::SetNwDst(0x0a00_0002),
        Action::SetNwTos(0x10),
        Action::SetTpSrc(8080),
        Action::SetTpDst(80),
        Action::Enqueue {
            port: 3,
            queue_id: 1,
        },
        Action::Vendor {
            vendor: 0x2320,
            data: nicira,
        },
        Action::Output {
            port: port_no::CONTROLLER,
            max_len: 0xffff,
        },
    ]
}

#[test]
fn flow_mod_add_with_every_action() {
    // OVS: OFPT_FLOW_MOD (xid=0xb): ADD tcp,in_port=1,nw_src=10.0.0.0/24,
    // nw_dst=10.0.0.2,tp_dst=80 send_flow_rem actions=output:2,mod_vlan_vid:10,
    // mod_vlan_pcp:5,strip_vlan,mod_dl_src:0a:00:00:00:00:01,mod_dl_dst:0a:00:00:00:00:02,
    // mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,mod_nw_tos:16,mod_tp_src:8080,mod_tp_dst:80,
    // enqueue:3:1,resubmit:5,CONTROLLER:65535
    let v = h(&format!(
        "
        01 0e 00d8 0000000b   # FLOW_MOD, length 216, xid 11
        {TCP_MATCH_HEX}       # match
        0000000000000000      # cookie
        0000                  # command ADD
        0000                  # idle_timeout
        0000                  # hard_timeout
        8000                  # priority 32768
        ffffffff              # buffer_id none
        ffff                  # out_port NONE
        0001                  # flags SEND_FLOW_REM
        {ALL_ACTIONS_HEX}     # actions
    "
    ));
    // The Nicira action's body: after the 72-byte fixed part, 120 bytes of standard
    // actions and the vendor action's own 8-byte header.
    let nicira = v.slice(200..208);
    round_trip(
        &v,
        11,
        Message::FlowMod(FlowMod {
            r#match: tcp_match(),
            cookie: 0,
            command: FlowModCommand::Add,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0x8000,
            buffer_id: NO_BUFFER,
            out_port: port_no::NONE,
            flags: flow_mod_flags::SEND_FLOW_REM,
            actions: all_actions(nicira),
        }),
    );
}

#[test]
fn flow_mod_every_command() {
    // OVS: OFPT_FLOW_MOD (xid=0xc): DEL_STRICT priority=100 out_port:2 / MOD / MOD_STRICT
    // / DEL / ADD with idle:10 hard:20 (cookie 0x1234)
    let cmds = [
        (0u16, FlowModCommand::Add),
        (1, FlowModCommand::Modify),
        (2, FlowModCommand::ModifyStrict),
        (3, FlowModCommand::Delete),
        (4, FlowModCommand::DeleteStrict),
    ];
    for (wire, cmd) in cmds {
        let v = h(&format!(
            "
            01 0e 0048 0000000c   # FLOW_MOD, length 72, xid 12
            {ANY_MATCH_HEX}       # match: everything
            0000000000001234      # cookie
            {wire:04x}            # command
            000a                  # idle_timeout 10
            0014                  # hard_timeout 20
            0064                  # priority 100
            ffffffff              # buffer_id none
            0002                  # out_port 2
            0000                  # flags
        "
        ));
        round_trip(
            &v,
            12,
            Message::FlowMod(FlowMod {
                r#match: Match::any(),
                cookie: 0x1234,
                command: cmd,
                idle_timeout: 10,
                hard_timeout: 20,
                priority: 100,
                buffer_id: NO_BUFFER,
                out_port: 2,
                flags: 0,
                actions: vec![],
            }),
        );
    }
}

#[test]
fn port_mod() {
    // OVS: OFPT_PORT_MOD (xid=0xd): port: 1: addr:0a:00:00:00:00:01
    //      config: PORT_DOWN  mask: PORT_DOWN  advertise: UNCHANGED
    let v = h("
        01 0f 0020 0000000d   # PORT_MOD, length 32, xid 13
        0001                  # port_no 1
        0a0000000001          # hw_addr
        00000001              # config PORT_DOWN
        00000001              # mask PORT_DOWN
        00000000              # advertise: unchanged
        00000000              # pad
    ");
    round_trip(
        &v,
        13,
        Message::PortMod(PortMod {
            port_no: 1,
            hw_addr: MAC1,
            config: port_config::PORT_DOWN,
            mask: port_config::PORT_DOWN,
            advertise: 0,
        }),
    );
}

#[test]
fn stats_requests_of_every_type() {
    let req = |flags, body| Message::StatsRequest(StatsRequest { flags, body });

    // OVS: OFPST_DESC request (xid=0x10):
    let v = h("01 10 000c 00000010  # STATS_REQUEST, length 12, xid 16
               0000 0000            # type DESC, flags 0");
    round_trip(&v, 16, req(0, StatsRequestBody::Desc));

    // OVS: OFPST_FLOW request (xid=0x11):  (all flows, all tables)
    let flow = FlowStatsRequest {
        r#match: Match::any(),
        table_id: 0xff,
        out_port: port_no::NONE,
    };
    let v = h(&format!(
        "
        01 10 0038 00000011   # STATS_REQUEST, length 56, xid 17
        0001 0000             # type FLOW, flags 0
        {ANY_MATCH_HEX}       # match
        ff                    # table_id: all
        00                    # pad
        ffff                  # out_port NONE
    "
    ));
    round_trip(&v, 17, req(0, StatsRequestBody::Flow(flow)));

    // OVS: OFPST_AGGREGATE request (xid=0x12): table_id=1 out_port=2 tcp,...
    let v = h(&format!(
        "
        01 10 0038 00000012   # STATS_REQUEST, length 56, xid 18
        0002 0000             # type AGGREGATE, flags 0
        {TCP_MATCH_HEX}       # match
        01                    # table_id 1
        00                    # pad
        0002                  # out_port 2
    "
    ));
    round_trip(
        &v,
        18,
        req(
            0,
            StatsRequestBody::Aggregate(FlowStatsRequest {
                r#match: tcp_match(),
                table_id: 1,
                out_port: 2,
            }),
        ),
    );

    // OVS: OFPST_TABLE request (xid=0x13):
    let v = h("01 10 000c 00000013  # STATS_REQUEST, length 12, xid 19
               0003 0000            # type TABLE, flags 0");
    round_trip(&v, 19, req(0, StatsRequestBody::Table));

    // OVS: OFPST_PORT request (xid=0x14): port_no=ANY
    let v = h("01 10 0014 00000014  # STATS_REQUEST, length 20, xid 20
               0004 0000            # type PORT, flags 0
               ffff                 # port_no NONE: all ports
               000000000000         # pad");
    round_trip(
        &v,
        20,
        req(
            0,
            StatsRequestBody::Port {
                port_no: port_no::NONE,
            },
        ),
    );

    // OVS: OFPST_QUEUE request (xid=0x15):port=ALL queue=ALL
    let v = h("01 10 0014 00000015  # STATS_REQUEST, length 20, xid 21
               0005 0000            # type QUEUE, flags 0
               fffc                 # port_no ALL
               0000                 # pad
               ffffffff             # queue_id ALL");
    round_trip(
        &v,
        21,
        req(
            0,
            StatsRequestBody::Queue {
                port_no: port_no::ALL,
                queue_id: QUEUE_ALL,
            },
        ),
    );

    // OVS: NXST_FLOW request (xid=0x16):
    let v = h("
        01 10 0020 00000016   # STATS_REQUEST, length 32, xid 22
        ffff 0000             # type VENDOR, flags 0
        00002320              # vendor Nicira
        00000000 00000000     # (opaque) subtype NXST_FLOW, pad
        ffff 0000 ff 000000   # (opaque) out_port NONE, match_len 0, table all, pad
    ");
    round_trip(
        &v,
        22,
        req(
            0,
            StatsRequestBody::Vendor {
                vendor: 0x2320,
                data: v.slice(16..),
            },
        ),
    );
}

fn nul_padded(s: &str, n: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b.resize(n, 0);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn stats_replies_of_every_type() {
    let rep = |flags, body| Message::StatsReply(StatsReply { flags, body });

    // OVS: OFPST_DESC reply (xid=0x10): Manufacturer: Nicira, Inc. Hardware: Open vSwitch
    // Software: 3.1.0 Serial Num: None DP Description: None
    let v = h(&format!(
        "
        01 11 042c 00000010   # STATS_REPLY, length 1068, xid 16
        0000 0000             # type DESC, flags 0
        {}                    # mfr_desc[256]
        {}                    # hw_desc[256]
        {}                    # sw_desc[256]
        {}                    # serial_num[32]
        {}                    # dp_desc[256]
    ",
        nul_padded("Nicira, Inc.", 256),
        nul_padded("Open vSwitch", 256),
        nul_padded("3.1.0", 256),
        nul_padded("None", 32),
        nul_padded("None", 256),
    ));
    round_trip(
        &v,
        16,
        rep(
            0,
            StatsReplyBody::Desc(Box::new(DescStats {
                mfr_desc: FixedStr::new("Nicira, Inc."),
                hw_desc: FixedStr::new("Open vSwitch"),
                sw_desc: FixedStr::new("3.1.0"),
                serial_num: FixedStr::new("None"),
                dp_desc: FixedStr::new("None"),
            })),
        ),
    );

    // OVS: OFPST_FLOW reply (xid=0x11): cookie=0xabc, duration=10.5s, table=0,
    // n_packets=5, n_bytes=310, idle_timeout=60, priority=32768,tcp,in_port=1,
    // nw_src=10.0.0.0/24,nw_dst=10.0.0.2,tp_dst=80 actions=output:2
    let v = h(&format!(
        "
        01 11 006c 00000011   # STATS_REPLY, length 108, xid 17
        0001 0000             # type FLOW, flags 0
        0060                  # entry length 96
        00                    # table_id 0
        00                    # pad
        {TCP_MATCH_HEX}       # match
        0000000a              # duration_sec 10
        1dcd6500              # duration_nsec 500000000
        8000                  # priority 32768
        003c                  # idle_timeout 60
        0000                  # hard_timeout 0
        000000000000          # pad2
        0000000000000abc      # cookie
        0000000000000005      # packet_count 5
        0000000000000136      # byte_count 310
        0000 0008 0002 0000   # action OUTPUT port 2
    "
    ));
    round_trip(
        &v,
        17,
        rep(
            0,
            StatsReplyBody::Flow(vec![FlowStats {
                table_id: 0,
                r#match: tcp_match(),
                duration_sec: 10,
                duration_nsec: 500_000_000,
                priority: 0x8000,
                idle_timeout: 60,
                hard_timeout: 0,
                cookie: 0xabc,
                packet_count: 5,
                byte_count: 310,
                actions: vec![Action::Output {
                    port: 2,
                    max_len: 0,
                }],
            }]),
        ),
    );

    // OVS: OFPST_AGGREGATE reply (xid=0x12): packet_count=5 byte_count=310 flow_count=2
    let v = h("
        01 11 0024 00000012   # STATS_REPLY, length 36, xid 18
        0002 0000             # type AGGREGATE, flags 0
        0000000000000005      # packet_count 5
        0000000000000136      # byte_count 310
        00000002              # flow_count 2
        00000000              # pad
    ");
    round_trip(
        &v,
        18,
        rep(
            0,
            StatsReplyBody::Aggregate(AggregateStats {
                packet_count: 5,
                byte_count: 310,
                flow_count: 2,
            }),
        ),
    );

    // OVS: OFPST_TABLE reply (xid=0x13): 1 tables  0: classifier: wild=0x3fffff,
    // max=1000000, active=2  lookup=100, matched=90
    let v = h(&format!(
        "
        01 11 004c 00000013   # STATS_REPLY, length 76, xid 19
        0003 0000             # type TABLE, flags 0
        00                    # table_id 0
        000000                # pad
        {}                    # name[32] \"classifier\"
        003fffff              # wildcards supported: all
        000f4240              # max_entries 1000000
        00000002              # active_count 2
        0000000000000064      # lookup_count 100
        000000000000005a      # matched_count 90
    ",
        nul_padded("classifier", 32)
    ));
    round_trip(
        &v,
        19,
        rep(
            0,
            StatsReplyBody::Table(vec![TableStats {
                table_id: 0,
                name: FixedStr::new("classifier"),
                wildcards: wildcards::ALL,
                max_entries: 1_000_000,
                active_count: 2,
                lookup_count: 100,
                matched_count: 90,
            }]),
        ),
    );

    // OVS: OFPST_PORT reply (xid=0x14): 1 ports  port  1: rx pkts=1, bytes=3, drop=5,
    // errs=7, frame=9, over=10, crc=11  tx pkts=2, bytes=4, drop=6, errs=8, coll=12
    let v = h("
        01 11 0074 00000014   # STATS_REPLY, length 116, xid 20
        0004 0001             # type PORT, flags REPLY_MORE
        0001 000000000000     # port_no 1, pad
        0000000000000001      # rx_packets
        0000000000000002      # tx_packets
        0000000000000003      # rx_bytes
        0000000000000004      # tx_bytes
        0000000000000005      # rx_dropped
        0000000000000006      # tx_dropped
        0000000000000007      # rx_errors
        0000000000000008      # tx_errors
        0000000000000009      # rx_frame_err
        000000000000000a      # rx_over_err
        000000000000000b      # rx_crc_err
        000000000000000c      # collisions
    ");
    round_trip(
        &v,
        20,
        rep(
            STATS_REPLY_MORE,
            StatsReplyBody::Port(vec![PortStats {
                port_no: 1,
                rx_packets: 1,
                tx_packets: 2,
                rx_bytes: 3,
                tx_bytes: 4,
                rx_dropped: 5,
                tx_dropped: 6,
                rx_errors: 7,
                tx_errors: 8,
                rx_frame_err: 9,
                rx_over_err: 10,
                rx_crc_err: 11,
                collisions: 12,
            }]),
        ),
    );

    // OVS: OFPST_QUEUE reply (xid=0x15): 1 queues  port 1 queue 2: bytes=1500, pkts=1,
    // errors=0
    let v = h("
        01 11 002c 00000015   # STATS_REPLY, length 44, xid 21
        0005 0000             # type QUEUE, flags 0
        0001 0000             # port_no 1, pad
        00000002              # queue_id 2
        00000000000005dc      # tx_bytes 1500
        0000000000000001      # tx_packets 1
        0000000000000000      # tx_errors 0
    ");
    round_trip(
        &v,
        21,
        rep(
            0,
            StatsReplyBody::Queue(vec![QueueStats {
                port_no: 1,
                queue_id: 2,
                tx_bytes: 1500,
                tx_packets: 1,
                tx_errors: 0,
            }]),
        ),
    );

    // OVS: NXST_AGGREGATE reply (xid=0x16): packet_count=5 byte_count=310 flow_count=2
    let v = h("
        01 11 0030 00000016   # STATS_REPLY, length 48, xid 22
        ffff 0000             # type VENDOR, flags 0
        00002320              # vendor Nicira
        00000001 00000000     # (opaque) subtype NXST_AGGREGATE, pad
        0000000000000005      # (opaque) packet_count 5
        0000000000000136      # (opaque) byte_count 310
        00000002 00000000     # (opaque) flow_count 2, pad
    ");
    round_trip(
        &v,
        22,
        rep(
            0,
            StatsReplyBody::Vendor {
                vendor: 0x2320,
                data: v.slice(16..),
            },
        ),
    );
}

#[test]
fn barrier() {
    // OVS: OFPT_BARRIER_REQUEST (xid=0x17):
    let v = h("01 12 0008 00000017  # BARRIER_REQUEST, length 8, xid 23");
    round_trip(&v, 23, Message::BarrierRequest);
    // OVS: OFPT_BARRIER_REPLY (xid=0x17):
    let v = h("01 13 0008 00000017  # BARRIER_REPLY, length 8, xid 23");
    round_trip(&v, 23, Message::BarrierReply);
}

#[test]
fn queue_get_config() {
    // OVS: OFPT_QUEUE_GET_CONFIG_REQUEST (xid=0x18): port=1
    let v = h(
        "01 14 000c 00000018  # QUEUE_GET_CONFIG_REQUEST, length 12, xid 24
               0001 0000            # port 1, pad",
    );
    round_trip(&v, 24, Message::QueueGetConfigRequest { port: 1 });

    // OVS: OFPT_QUEUE_GET_CONFIG_REPLY (xid=0x18): port=1 / queue 1: min_rate:50.0% / queue 2:
    // max_rate:80.0%
    let v = h("
        01 15 0040 00000018   # QUEUE_GET_CONFIG_REPLY, length 64, xid 24
        0001 000000000000     # port 1, pad
        00000001 0018 0000    # queue 1, len 24, pad
          0001 0010 00000000  #   property MIN_RATE, len 16, pad
          01f4 000000000000   #   rate 500 (50.0%), pad
        00000002 0018 0000    # queue 2, len 24, pad
          0002 0010 00000000  #   property 2 (MAX_RATE, 1.2+; opaque here), len 16
          0320 000000000000   #   (opaque) rate 800, pad
    ");
    round_trip(
        &v,
        24,
        Message::QueueGetConfigReply(QueueGetConfigReply {
            port: 1,
            queues: vec![
                PacketQueue {
                    queue_id: 1,
                    properties: vec![QueueProp::MinRate { rate: 500 }],
                },
                PacketQueue {
                    queue_id: 2,
                    properties: vec![QueueProp::Other {
                        property: 2,
                        data: v.slice(56..64),
                    }],
                },
            ],
        }),
    );
}

// ---- Errors: the code a 1.0 receiver must answer with (1.0 numbering). ----

#[test]
fn incomplete_input_waits() {
    assert_eq!(
        decode(&h("01 00 00")),
        Err(DecodeError::Incomplete { needed: 8 })
    );
    // FEATURES_REPLY claiming 80 bytes, 8 present.
    assert_eq!(
        decode(&h("01 06 0050 00000002")),
        Err(DecodeError::Incomplete { needed: 80 })
    );
}

#[test]
fn version_and_type_errors() {
    // A 1.3 ECHO_REQUEST on a 1.0 decoder: BAD_REQUEST/BAD_VERSION (1,0).
    fails_with(&h("04 02 0008 00000001"), 1, 0);
    // Type 22 does not exist in 1.0: BAD_REQUEST/BAD_TYPE (1,1).
    fails_with(&h("01 16 0008 00000001"), 1, 1);
    // Header length below 8: BAD_REQUEST/BAD_LEN (1,6).
    fails_with(&h("01 00 0007 00000001"), 1, 6);
    // Bytes after the message's length: BAD_LEN.
    fails_with(&h("01 12 0008 00000001 00"), 1, 6);
    // Stats type 6 does not exist in 1.0: BAD_REQUEST/BAD_STAT (1,2).
    fails_with(&h("01 10 000c 00000001 0006 0000"), 1, 2);
    fails_with(&h("01 11 000c 00000001 0006 0000"), 1, 2);
    // FLOW_MOD command 5: FLOW_MOD_FAILED/BAD_COMMAND (3,4).
    let mut fm = decode(&h(&format!(
        "01 0e 0048 00000001 {ANY_MATCH_HEX} 0000000000000000 0000 0000 0000 0000 ffffffff ffff 0000"
    )))
    .unwrap()
    .1
    .to_bytes(1)
    .to_vec();
    fm[56..58].copy_from_slice(&[0, 5]);
    fails_with(&fm.into(), 3, 4);
}

#[test]
fn fixed_size_messages_reject_other_lengths() {
    // BARRIER_REQUEST with a body; FEATURES_REQUEST with a body.
    fails_with(&h("01 12 000c 00000001 00000000"), 1, 6);
    fails_with(&h("01 05 0009 00000001 00"), 1, 6);
    // SET_CONFIG one byte short, one byte long.
    fails_with(&h("01 09 000b 00000001 0000 00"), 1, 6);
    fails_with(&h("01 09 000d 00000001 0000 0080 00"), 1, 6);
    // ERROR and VENDOR shorter than their 12-byte fixed part.
    fails_with(&h("01 01 000a 00000001 0001"), 1, 6);
    fails_with(&h("01 04 000b 00000001 002320"), 1, 6);
    // PORT_STATUS truncated inside the port.
    let ps = h(&format!(
        "01 0c 0040 00000000 02 00000000000000 {PORT1_HEX}"
    ));
    fails_with(&shorten(&ps, 1), 1, 6);
    // FEATURES_REPLY with a port list that is not a multiple of 48 bytes.
    fails_with(
        &h("01 06 0021 00000002 0000000000000001 00000100 fe 000000 000000c7 00000fff 00"),
        1,
        6,
    );
    // FLOW_REMOVED one byte short (match intact).
    let v = h(&format!(
        "01 0b 0057 00000000 {TCP_MATCH_HEX} 0000000000000abc 8000 00 00 0000000a 1dcd6500 003c 0000 0000000000000005 00000000000001"
    ));
    fails_with(&v, 1, 6);
    // FLOW_MOD shorter than the match.
    fails_with(&h("01 0e 0010 00000001 003fffff 00000000"), 1, 6);
    // Stats bodies of the wrong size: desc request with a body, port request short,
    // table reply not a multiple of 64, aggregate reply short.
    fails_with(&h("01 10 0010 00000001 0000 0000 00000000"), 1, 6);
    fails_with(&h("01 10 0012 00000001 0004 0000 ffff 00000000"), 1, 6);
    fails_with(&h("01 11 0010 00000001 0003 0000 00000000"), 1, 6);
    fails_with(&h("01 11 0014 00000001 0002 0000 0000000000000005"), 1, 6);
}

#[test]
fn action_errors() {
    // OVS 3.1.0 answers these PACKET_OUTs the same: OFPBRC_BAD_LEN for actions_len past the
    // message, OFPBAC_BAD_LEN for an OUTPUT of len 0 or 16, OFPBAC_BAD_TYPE for type 12.
    let po = |actions_len: u16, actions: &str| {
        let body = h(actions);
        let len = 16 + body.len();
        h(&format!(
            "01 0d {len:04x} 00000001 ffffffff ffff {actions_len:04x} {actions}"
        ))
    };
    // actions_len past the message: BAD_REQUEST/BAD_LEN (1,6).
    fails_with(&po(16, "0000 0008 0002 0000"), 1, 6);
    // actions_len not a multiple of 8: BAD_REQUEST/BAD_LEN.
    fails_with(&po(4, "0000 0008"), 1, 6);
    // Action len 0 / not a multiple of 8 / past the list: BAD_ACTION/BAD_LEN (2,1).
    fails_with(&po(8, "0000 0000 0002 0000"), 2, 1);
    fails_with(&po(8, "0000 0006 0002 0000"), 2, 1);
    fails_with(&po(8, "0000 0010 0002 0000"), 2, 1);
    // OUTPUT with len 16: wrong size for its type: BAD_ACTION/BAD_LEN.
    fails_with(&po(16, "0000 0010 0002 0000 00000000 00000000"), 2, 1);
    // Unknown action type 12: BAD_ACTION/BAD_TYPE (2,0).
    fails_with(&po(8, "000c 0008 00000000"), 2, 0);
    // Vendor action with len 8 has its vendor id and an empty body: fine.
    let v = po(8, "ffff 0008 00002320");
    let (_, m) = decode(&v).unwrap();
    assert_eq!(m.to_bytes(1), v);
    // Flow stats entry whose length runs past the reply: BAD_LEN.
    let v = h(&format!(
        "01 11 006c 00000011 0001 0000 0068 00 00 {TCP_MATCH_HEX} 0000000a 1dcd6500 8000 003c 0000 000000000000 0000000000000abc 0000000000000005 0000000000000136 0000 0008 0002 0000"
    ));
    fails_with(&v, 1, 6);
    // Flow stats entry shorter than 88: BAD_LEN.
    let v = h("01 11 000e 00000011 0001 0000 0002");
    fails_with(&v, 1, 6);
}

#[test]
fn queue_config_errors() {
    // Queue len running past the reply.
    fails_with(
        &h("01 15 0018 00000001 0001 000000000000 00000001 0010 0000"),
        1,
        6,
    );
    // Property len below 8.
    fails_with(
        &h("01 15 0020 00000001 0001 000000000000 00000001 0010 0000 0001 0004 00000000"),
        1,
        6,
    );
    // MIN_RATE property of len 8 (must be 16).
    fails_with(
        &h("01 15 0020 00000001 0001 000000000000 00000001 0010 0000 0001 0008 00000000"),
        1,
        6,
    );
}

#[test]
fn match_helpers() {
    let m = tcp_match();
    assert_eq!(m.nw_src_wild_bits(), 8);
    assert_eq!(m.nw_src_mask(), 0xffff_ff00);
    assert_eq!(m.nw_dst_mask(), 0xffff_ffff);
    assert!(m.is_wild(wildcards::TP_SRC));
    assert!(!m.is_wild(wildcards::TP_DST));
    let any = Match::any();
    assert_eq!(any.nw_src_mask(), 0);
    // 6-bit counts above 32 mean "all wildcarded".
    let m = Match {
        wildcards: 63 << wildcards::NW_DST_SHIFT,
        ..Match::default()
    };
    assert_eq!(m.nw_dst_wild_bits(), 32);
}
