//! Property tests for the OpenFlow 1.0 codec: arbitrary messages of every type survive
//! encode → decode → encode unchanged, and no input (random or a damaged valid message)
//! makes the decoder panic.

use bytes::Bytes;
use ofproto::v10::*;
use ofproto::DecodeError;
use proptest::collection::vec;
use proptest::prelude::*;

fn payload(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn mac() -> impl Strategy<Value = [u8; 6]> {
    any::<[u8; 6]>()
}

fn fixed<const N: usize>() -> impl Strategy<Value = FixedStr<N>> {
    vec(any::<u8>(), N).prop_map(|v| {
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        FixedStr(a)
    })
}

fn a_match() -> impl Strategy<Value = Match> {
    (
        (
            any::<u32>(),
            any::<u16>(),
            mac(),
            mac(),
            any::<u16>(),
            any::<u8>(),
        ),
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
        ),
    )
        .prop_map(
            |(
                (wildcards, in_port, dl_src, dl_dst, dl_vlan, dl_vlan_pcp),
                (dl_type, nw_tos, nw_proto, nw_src, nw_dst, tp_src, tp_dst),
            )| Match {
                wildcards,
                in_port,
                dl_src,
                dl_dst,
                dl_vlan,
                dl_vlan_pcp,
                dl_type,
                nw_tos,
                nw_proto,
                nw_src,
                nw_dst,
                tp_src,
                tp_dst,
            },
        )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(port, max_len)| Action::Output { port, max_len }),
        any::<u16>().prop_map(Action::SetVlanVid),
        any::<u8>().prop_map(Action::SetVlanPcp),
        Just(Action::StripVlan),
        mac().prop_map(Action::SetDlSrc),
        mac().prop_map(Action::SetDlDst),
        any::<u32>().prop_map(Action::SetNwSrc),
        any::<u32>().prop_map(Action::SetNwDst),
        any::<u8>().prop_map(Action::SetNwTos),
        any::<u16>().prop_map(Action::SetTpSrc),
        any::<u16>().prop_map(Action::SetTpDst),
        (any::<u16>(), any::<u32>())
            .prop_map(|(port, queue_id)| Action::Enqueue { port, queue_id }),
        // A vendor action's body keeps the action a multiple of 8 bytes long.
        (any::<u32>(), 0usize..4)
            .prop_flat_map(|(vendor, n)| (Just(vendor), vec(any::<u8>(), n * 8)))
            .prop_map(|(vendor, d)| Action::Vendor {
                vendor,
                data: d.into()
            }),
    ]
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    vec(action(), 0..6)
}

fn phy_port() -> impl Strategy<Value = PhyPort> {
    (
        any::<u16>(),
        mac(),
        fixed::<MAX_PORT_NAME_LEN>(),
        any::<[u32; 6]>(),
    )
        .prop_map(|(port_no, hw_addr, name, n)| PhyPort {
            port_no,
            hw_addr,
            name,
            config: n[0],
            state: n[1],
            curr: n[2],
            advertised: n[3],
            supported: n[4],
            peer: n[5],
        })
}

fn switch_config() -> impl Strategy<Value = SwitchConfig> {
    (any::<u16>(), any::<u16>()).prop_map(|(flags, miss_send_len)| SwitchConfig {
        flags,
        miss_send_len,
    })
}

fn flow_stats_request() -> impl Strategy<Value = FlowStatsRequest> {
    (a_match(), any::<u8>(), any::<u16>()).prop_map(|(m, table_id, out_port)| FlowStatsRequest {
        r#match: m,
        table_id,
        out_port,
    })
}

fn stats_request() -> impl Strategy<Value = StatsRequest> {
    let body = prop_oneof![
        Just(StatsRequestBody::Desc),
        flow_stats_request().prop_map(StatsRequestBody::Flow),
        flow_stats_request().prop_map(StatsRequestBody::Aggregate),
        Just(StatsRequestBody::Table),
        any::<u16>().prop_map(|port_no| StatsRequestBody::Port { port_no }),
        (any::<u16>(), any::<u32>())
            .prop_map(|(port_no, queue_id)| StatsRequestBody::Queue { port_no, queue_id }),
        (any::<u32>(), payload(32))
            .prop_map(|(vendor, data)| StatsRequestBody::Vendor { vendor, data }),
    ];
    (any::<u16>(), body).prop_map(|(flags, body)| StatsRequest { flags, body })
}

fn flow_stats() -> impl Strategy<Value = FlowStats> {
    (
        a_match(),
        any::<[u16; 3]>(),
        any::<[u32; 2]>(),
        any::<[u64; 3]>(),
        any::<u8>(),
        actions(),
    )
        .prop_map(|(m, t, d, c, table_id, actions)| FlowStats {
            table_id,
            r#match: m,
            duration_sec: d[0],
            duration_nsec: d[1],
            priority: t[0],
            idle_timeout: t[1],
            hard_timeout: t[2],
            cookie: c[0],
            packet_count: c[1],
            byte_count: c[2],
            actions,
        })
}

fn stats_reply() -> impl Strategy<Value = StatsReply> {
    let desc = (
        fixed::<DESC_STR_LEN>(),
        fixed::<DESC_STR_LEN>(),
        fixed::<DESC_STR_LEN>(),
        fixed::<SERIAL_NUM_LEN>(),
        fixed::<DESC_STR_LEN>(),
    )
        .prop_map(|(mfr_desc, hw_desc, sw_desc, serial_num, dp_desc)| {
            StatsReplyBody::Desc(Box::new(DescStats {
                mfr_desc,
                hw_desc,
                sw_desc,
                serial_num,
                dp_desc,
            }))
        });
    let table = (
        any::<u8>(),
        fixed::<MAX_TABLE_NAME_LEN>(),
        any::<[u32; 3]>(),
        any::<[u64; 2]>(),
    )
        .prop_map(|(table_id, name, n, c)| TableStats {
            table_id,
            name,
            wildcards: n[0],
            max_entries: n[1],
            active_count: n[2],
            lookup_count: c[0],
            matched_count: c[1],
        });
    let port = (any::<u16>(), any::<[u64; 12]>()).prop_map(|(port_no, c)| PortStats {
        port_no,
        rx_packets: c[0],
        tx_packets: c[1],
        rx_bytes: c[2],
        tx_bytes: c[3],
        rx_dropped: c[4],
        tx_dropped: c[5],
        rx_errors: c[6],
        tx_errors: c[7],
        rx_frame_err: c[8],
        rx_over_err: c[9],
        rx_crc_err: c[10],
        collisions: c[11],
    });
    let queue =
        (any::<u16>(), any::<u32>(), any::<[u64; 3]>()).prop_map(|(port_no, queue_id, c)| {
            QueueStats {
                port_no,
                queue_id,
                tx_bytes: c[0],
                tx_packets: c[1],
                tx_errors: c[2],
            }
        });
    let body = prop_oneof![
        desc,
        vec(flow_stats(), 0..4).prop_map(StatsReplyBody::Flow),
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
            |(packet_count, byte_count, flow_count)| {
                StatsReplyBody::Aggregate(AggregateStats {
                    packet_count,
                    byte_count,
                    flow_count,
                })
            }
        ),
        vec(table, 0..4).prop_map(StatsReplyBody::Table),
        vec(port, 0..4).prop_map(StatsReplyBody::Port),
        vec(queue, 0..4).prop_map(StatsReplyBody::Queue),
        (any::<u32>(), payload(32))
            .prop_map(|(vendor, data)| StatsReplyBody::Vendor { vendor, data }),
    ];
    (any::<u16>(), body).prop_map(|(flags, body)| StatsReply { flags, body })
}

fn queue_prop() -> impl Strategy<Value = QueueProp> {
    prop_oneof![
        any::<u16>().prop_map(|rate| QueueProp::MinRate { rate }),
        // Any property but MIN_RATE stays opaque.
        (
            any::<u16>().prop_filter("not MIN_RATE", |p| *p != queue_prop_type::MIN_RATE),
            payload(16)
        )
            .prop_map(|(property, data)| QueueProp::Other { property, data }),
    ]
}

fn queue_config_reply() -> impl Strategy<Value = QueueGetConfigReply> {
    let queue =
        (any::<u32>(), vec(queue_prop(), 0..3)).prop_map(|(queue_id, properties)| PacketQueue {
            queue_id,
            properties,
        });
    (any::<u16>(), vec(queue, 0..4)).prop_map(|(port, queues)| QueueGetConfigReply { port, queues })
}

fn flow_mod() -> impl Strategy<Value = FlowMod> {
    let command = prop_oneof![
        Just(FlowModCommand::Add),
        Just(FlowModCommand::Modify),
        Just(FlowModCommand::ModifyStrict),
        Just(FlowModCommand::Delete),
        Just(FlowModCommand::DeleteStrict),
    ];
    (
        a_match(),
        any::<u64>(),
        command,
        any::<[u16; 5]>(),
        any::<u32>(),
        actions(),
    )
        .prop_map(|(m, cookie, command, n, buffer_id, actions)| FlowMod {
            r#match: m,
            cookie,
            command,
            idle_timeout: n[0],
            hard_timeout: n[1],
            priority: n[2],
            buffer_id,
            out_port: n[3],
            flags: n[4],
            actions,
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u8>(), payload(32))
            .prop_map(|(version, body)| Message::Hello(Hello { version, body })),
        (any::<u16>(), any::<u16>(), payload(64)).prop_map(
            |(err_type, code, data)| Message::Error(ErrorMsg {
                err_type,
                code,
                data
            })
        ),
        payload(64).prop_map(Message::EchoRequest),
        payload(64).prop_map(Message::EchoReply),
        (any::<u32>(), payload(64))
            .prop_map(|(vendor, data)| Message::Vendor(Vendor { vendor, data })),
        Just(Message::FeaturesRequest),
        (
            any::<u64>(),
            any::<u32>(),
            any::<u8>(),
            any::<[u32; 2]>(),
            vec(phy_port(), 0..4)
        )
            .prop_map(|(datapath_id, n_buffers, n_tables, c, ports)| {
                Message::FeaturesReply(FeaturesReply {
                    datapath_id,
                    n_buffers,
                    n_tables,
                    capabilities: c[0],
                    actions: c[1],
                    ports,
                })
            }),
        Just(Message::GetConfigRequest),
        switch_config().prop_map(Message::GetConfigReply),
        switch_config().prop_map(Message::SetConfig),
        (any::<u32>(), any::<[u16; 2]>(), any::<u8>(), payload(64)).prop_map(
            |(buffer_id, n, reason, data)| Message::PacketIn(PacketIn {
                buffer_id,
                total_len: n[0],
                in_port: n[1],
                reason,
                data,
            })
        ),
        (
            a_match(),
            any::<u64>(),
            any::<[u16; 2]>(),
            any::<u8>(),
            any::<[u32; 2]>(),
            any::<[u64; 2]>()
        )
            .prop_map(
                |(m, cookie, n, reason, d, c)| Message::FlowRemoved(FlowRemoved {
                    r#match: m,
                    cookie,
                    priority: n[0],
                    reason,
                    duration_sec: d[0],
                    duration_nsec: d[1],
                    idle_timeout: n[1],
                    packet_count: c[0],
                    byte_count: c[1],
                })
            ),
        (any::<u8>(), phy_port())
            .prop_map(|(reason, desc)| Message::PortStatus(PortStatus { reason, desc })),
        (any::<u32>(), any::<u16>(), actions(), payload(64)).prop_map(
            |(buffer_id, in_port, actions, data)| Message::PacketOut(PacketOut {
                buffer_id,
                in_port,
                actions,
                data,
            })
        ),
        flow_mod().prop_map(Message::FlowMod),
        (any::<u16>(), mac(), any::<[u32; 3]>()).prop_map(|(port_no, hw_addr, n)| {
            Message::PortMod(PortMod {
                port_no,
                hw_addr,
                config: n[0],
                mask: n[1],
                advertise: n[2],
            })
        }),
        stats_request().prop_map(Message::StatsRequest),
        stats_reply().prop_map(Message::StatsReply),
        Just(Message::BarrierRequest),
        Just(Message::BarrierReply),
        any::<u16>().prop_map(|port| Message::QueueGetConfigRequest { port }),
        queue_config_reply().prop_map(Message::QueueGetConfigReply),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_decode_encode_is_identity(m in message(), xid in any::<u32>()) {
        let wire = m.to_bytes(xid);
        let (x, back) = decode(&wire).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(x, xid);
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes(xid), wire.clone());
        prop_assert_eq!(back.msg_type(), wire[1]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(v in vec(any::<u8>(), 0..512)) {
        let _ = decode(&Bytes::from(v));
    }

    /// Arbitrary bodies behind a valid 1.0 header of every type: reaches the body decoders.
    #[test]
    fn arbitrary_bodies_never_panic(ty in 0u8..24, body in vec(any::<u8>(), 0..300)) {
        let mut v = vec![1, ty, 0, 0, 0, 0, 0, 1];
        v.extend_from_slice(&body);
        let len = v.len() as u16;
        v[2..4].copy_from_slice(&len.to_be_bytes());
        let _ = decode(&Bytes::from(v));
    }

    /// Valid messages, damaged: bytes overwritten, then cut short with the header length
    /// either kept (incomplete) or patched to match (malformed or a different valid message).
    #[test]
    fn damaged_messages_never_panic(
        m in message(),
        hits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        patch in any::<bool>(),
    ) {
        let mut v = m.to_bytes(7).to_vec();
        for (i, b) in hits {
            let i = i.index(v.len());
            v[i] = b;
        }
        let keep = 8 + cut.index(v.len() - 7);
        v.truncate(keep.min(v.len()));
        if patch && v.len() >= 4 {
            let len = v.len() as u16;
            v[2..4].copy_from_slice(&len.to_be_bytes());
        }
        match decode(&Bytes::from(v.clone())) {
            Ok((_, back)) => {
                // Whatever decodes must re-encode to something that decodes to it again.
                let again = back.to_bytes(7);
                prop_assert_eq!(decode(&again).map(|(_, m)| m), Ok(back));
            }
            Err(DecodeError::Incomplete { needed }) => prop_assert!(needed > v.len()),
            Err(DecodeError::Malformed { .. }) => {}
        }
    }
}
