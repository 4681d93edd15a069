//! Property tests: arbitrary messages of every type survive encode → decode → encode
//! unchanged, and arbitrary or mutated bytes never make the decoder panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};
use ofproto::v13::action::Action;
use ofproto::v13::multipart::*;
use ofproto::v13::oxm::OXM_CLASS_OPENFLOW_BASIC;
use ofproto::v13::table_features::*;
use ofproto::v13::*;
use ofproto::OfpErrorCode;
use proptest::prelude::*;
use proptest::strategy::Union;

fn bytes(max: usize) -> BoxedStrategy<Bytes> {
    prop::collection::vec(any::<u8>(), 0..=max)
        .prop_map(Bytes::from)
        .boxed()
}

/// Bytes whose length is a multiple of 8 (experimenter action/instruction bodies).
fn bytes8(max_words: usize) -> BoxedStrategy<Bytes> {
    (0..=max_words)
        .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n * 8))
        .prop_map(Bytes::from)
        .boxed()
}

/// A NUL-free string of at most `max` bytes (fixed-size string fields).
fn cstr(max: usize) -> BoxedStrategy<Bytes> {
    prop::collection::vec(1u8..=255, 0..=max)
        .prop_map(Bytes::from)
        .boxed()
}

fn mac() -> impl Strategy<Value = MacAddr> + Clone {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn v4() -> impl Strategy<Value = Ipv4Addr> + Clone {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn v6() -> impl Strategy<Value = Ipv6Addr> + Clone {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn masked<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + Clone + 'static,
) -> BoxedStrategy<Masked<T>> {
    (s.clone(), prop::option::of(s))
        .prop_map(|(value, mask)| Masked { value, mask })
        .boxed()
}

fn opaque_oxm() -> BoxedStrategy<Oxm> {
    (
        any::<u16>().prop_filter("not basic", |c| *c != OXM_CLASS_OPENFLOW_BASIC),
        0u8..128,
        any::<bool>(),
        bytes(24),
    )
        .prop_map(|(class, field, has_mask, payload)| {
            Oxm::Opaque(OxmOpaque {
                class,
                field,
                has_mask,
                payload,
            })
        })
        .boxed()
}

/// Every basic field, with masks where allowed (`mask = false`: never a mask).
fn basic_oxm(mask: bool) -> BoxedStrategy<Oxm> {
    fn m<T: std::fmt::Debug + Clone + 'static>(
        mask: bool,
        s: impl Strategy<Value = T> + Clone + 'static,
    ) -> BoxedStrategy<Masked<T>> {
        if mask {
            masked(s)
        } else {
            s.prop_map(Masked::exact).boxed()
        }
    }
    let u24 = 0u32..(1 << 24);
    Union::new(vec![
        any::<u32>().prop_map(Oxm::InPort).boxed(),
        any::<u32>().prop_map(Oxm::InPhyPort).boxed(),
        m(mask, any::<u64>()).prop_map(Oxm::Metadata).boxed(),
        m(mask, mac()).prop_map(Oxm::EthDst).boxed(),
        m(mask, mac()).prop_map(Oxm::EthSrc).boxed(),
        any::<u16>().prop_map(Oxm::EthType).boxed(),
        m(mask, any::<u16>()).prop_map(Oxm::VlanVid).boxed(),
        any::<u8>().prop_map(Oxm::VlanPcp).boxed(),
        any::<u8>().prop_map(Oxm::IpDscp).boxed(),
        any::<u8>().prop_map(Oxm::IpEcn).boxed(),
        any::<u8>().prop_map(Oxm::IpProto).boxed(),
        m(mask, v4()).prop_map(Oxm::Ipv4Src).boxed(),
        m(mask, v4()).prop_map(Oxm::Ipv4Dst).boxed(),
        any::<u16>().prop_map(Oxm::TcpSrc).boxed(),
        any::<u16>().prop_map(Oxm::TcpDst).boxed(),
        any::<u16>().prop_map(Oxm::UdpSrc).boxed(),
        any::<u16>().prop_map(Oxm::UdpDst).boxed(),
        any::<u16>().prop_map(Oxm::SctpSrc).boxed(),
        any::<u16>().prop_map(Oxm::SctpDst).boxed(),
        any::<u8>().prop_map(Oxm::Icmpv4Type).boxed(),
        any::<u8>().prop_map(Oxm::Icmpv4Code).boxed(),
        any::<u16>().prop_map(Oxm::ArpOp).boxed(),
        m(mask, v4()).prop_map(Oxm::ArpSpa).boxed(),
        m(mask, v4()).prop_map(Oxm::ArpTpa).boxed(),
        m(mask, mac()).prop_map(Oxm::ArpSha).boxed(),
        m(mask, mac()).prop_map(Oxm::ArpTha).boxed(),
        m(mask, v6()).prop_map(Oxm::Ipv6Src).boxed(),
        m(mask, v6()).prop_map(Oxm::Ipv6Dst).boxed(),
        m(mask, any::<u32>()).prop_map(Oxm::Ipv6Flabel).boxed(),
        any::<u8>().prop_map(Oxm::Icmpv6Type).boxed(),
        any::<u8>().prop_map(Oxm::Icmpv6Code).boxed(),
        v6().prop_map(Oxm::Ipv6NdTarget).boxed(),
        mac().prop_map(Oxm::Ipv6NdSll).boxed(),
        mac().prop_map(Oxm::Ipv6NdTll).boxed(),
        any::<u32>().prop_map(Oxm::MplsLabel).boxed(),
        any::<u8>().prop_map(Oxm::MplsTc).boxed(),
        any::<u8>().prop_map(Oxm::MplsBos).boxed(),
        m(mask, u24).prop_map(Oxm::PbbIsid).boxed(),
        m(mask, any::<u64>()).prop_map(Oxm::TunnelId).boxed(),
        m(mask, any::<u16>()).prop_map(Oxm::Ipv6Exthdr).boxed(),
        any::<u8>().prop_map(Oxm::PbbUca).boxed(),
    ])
    .boxed()
}

/// A match: basic fields at most once each (7.2.3.7), opaque ones anywhere.
fn a_match() -> BoxedStrategy<Match> {
    prop::collection::vec(prop_oneof![4 => basic_oxm(true), 1 => opaque_oxm()], 0..8)
        .prop_map(|fields| {
            let mut seen = 0u64;
            Match::from_fields(fields.into_iter().filter(|f| match f.basic_field() {
                Some(n) => {
                    let dup = seen & (1 << n) != 0;
                    seen |= 1 << n;
                    !dup
                }
                None => true,
            }))
        })
        .boxed()
}

fn action() -> BoxedStrategy<Action> {
    Union::new(vec![
        (any::<u32>(), any::<u16>())
            .prop_map(|(port, max_len)| Action::Output { port, max_len })
            .boxed(),
        Just(Action::CopyTtlOut).boxed(),
        Just(Action::CopyTtlIn).boxed(),
        any::<u8>().prop_map(Action::SetMplsTtl).boxed(),
        Just(Action::DecMplsTtl).boxed(),
        any::<u16>().prop_map(Action::PushVlan).boxed(),
        Just(Action::PopVlan).boxed(),
        any::<u16>().prop_map(Action::PushMpls).boxed(),
        any::<u16>().prop_map(Action::PopMpls).boxed(),
        any::<u32>().prop_map(Action::SetQueue).boxed(),
        any::<u32>().prop_map(Action::Group).boxed(),
        any::<u8>().prop_map(Action::SetNwTtl).boxed(),
        Just(Action::DecNwTtl).boxed(),
        prop_oneof![4 => basic_oxm(false), 1 => opaque_oxm()]
            .prop_map(Action::SetField)
            .boxed(),
        any::<u16>().prop_map(Action::PushPbb).boxed(),
        Just(Action::PopPbb).boxed(),
        (any::<u32>(), bytes8(3))
            .prop_map(|(experimenter, data)| Action::Experimenter { experimenter, data })
            .boxed(),
    ])
    .boxed()
}

fn actions() -> BoxedStrategy<ActionList> {
    prop::collection::vec(action(), 0..6)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

fn instruction() -> BoxedStrategy<Instruction> {
    Union::new(vec![
        any::<u8>().prop_map(Instruction::GotoTable).boxed(),
        (any::<u64>(), any::<u64>())
            .prop_map(|(metadata, mask)| Instruction::WriteMetadata { metadata, mask })
            .boxed(),
        actions().prop_map(Instruction::WriteActions).boxed(),
        actions().prop_map(Instruction::ApplyActions).boxed(),
        Just(Instruction::ClearActions).boxed(),
        any::<u32>().prop_map(Instruction::Meter).boxed(),
        (any::<u32>(), bytes8(2))
            .prop_map(|(experimenter, data)| Instruction::Experimenter { experimenter, data })
            .boxed(),
    ])
    .boxed()
}

fn instructions() -> BoxedStrategy<InstructionList> {
    prop::collection::vec(instruction(), 0..5)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

fn port() -> BoxedStrategy<Port> {
    (
        mac(),
        cstr(16),
        any::<(u32, u32, u32, u32, u32, u32, u32, u32, u32)>(),
    )
        .prop_map(|(hw_addr, name, (p, c, s, cu, a, su, pe, cs, ms))| Port {
            port_no: p,
            hw_addr,
            name,
            config: c,
            state: s,
            curr: cu,
            advertised: a,
            supported: su,
            peer: pe,
            curr_speed: cs,
            max_speed: ms,
        })
        .boxed()
}

fn bucket() -> BoxedStrategy<Bucket> {
    (any::<u16>(), any::<u32>(), any::<u32>(), actions())
        .prop_map(|(weight, watch_port, watch_group, actions)| Bucket {
            weight,
            watch_port,
            watch_group,
            actions,
        })
        .boxed()
}

fn band() -> BoxedStrategy<MeterBand> {
    prop_oneof![
        (any::<u32>(), any::<u32>())
            .prop_map(|(rate, burst_size)| MeterBand::Drop { rate, burst_size }),
        (any::<u32>(), any::<u32>(), any::<u8>()).prop_map(|(rate, burst_size, prec_level)| {
            MeterBand::DscpRemark {
                rate,
                burst_size,
                prec_level,
            }
        }),
        (any::<u32>(), any::<u32>(), any::<u32>(), bytes(16)).prop_map(
            |(rate, burst_size, experimenter, data)| MeterBand::Experimenter {
                rate,
                burst_size,
                experimenter,
                data,
            }
        ),
    ]
    .boxed()
}

fn experimenter() -> BoxedStrategy<Experimenter> {
    (any::<u32>(), any::<u32>(), bytes(32))
        .prop_map(|(experimenter, exp_type, data)| Experimenter {
            experimenter,
            exp_type,
            data,
        })
        .boxed()
}

fn oxm_id() -> BoxedStrategy<OxmId> {
    any::<u32>()
        .prop_flat_map(|header| {
            let exp = if header >> 16 == 0xffff {
                any::<u32>().prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            exp.prop_map(move |experimenter| OxmId {
                header,
                experimenter,
            })
        })
        .boxed()
}

fn table_feature_prop() -> BoxedStrategy<TableFeatureProp> {
    let ids = || {
        prop::collection::vec(
            (any::<u16>(), bytes(8)).prop_map(|(id_type, data)| FeatureId { id_type, data }),
            0..4,
        )
    };
    let oxm_ids = || prop::collection::vec(oxm_id(), 0..4);
    Union::new(vec![
        (any::<bool>(), ids())
            .prop_map(|(miss, ids)| TableFeatureProp::Instructions { miss, ids })
            .boxed(),
        (any::<bool>(), bytes(10))
            .prop_map(|(miss, tables)| TableFeatureProp::NextTables { miss, tables })
            .boxed(),
        (any::<bool>(), ids())
            .prop_map(|(miss, ids)| TableFeatureProp::WriteActions { miss, ids })
            .boxed(),
        (any::<bool>(), ids())
            .prop_map(|(miss, ids)| TableFeatureProp::ApplyActions { miss, ids })
            .boxed(),
        oxm_ids().prop_map(TableFeatureProp::Match).boxed(),
        oxm_ids().prop_map(TableFeatureProp::Wildcards).boxed(),
        (any::<bool>(), oxm_ids())
            .prop_map(|(miss, ids)| TableFeatureProp::WriteSetfield { miss, ids })
            .boxed(),
        (any::<bool>(), oxm_ids())
            .prop_map(|(miss, ids)| TableFeatureProp::ApplySetfield { miss, ids })
            .boxed(),
        (any::<bool>(), any::<u32>(), any::<u32>(), bytes(12))
            .prop_map(
                |(miss, experimenter, exp_type, data)| TableFeatureProp::Experimenter {
                    miss,
                    experimenter,
                    exp_type,
                    data,
                },
            )
            .boxed(),
        (16u16..0xfff0, bytes(12))
            .prop_map(|(prop_type, data)| TableFeatureProp::Unknown { prop_type, data })
            .boxed(),
    ])
    .boxed()
}

fn table_features() -> BoxedStrategy<TableFeatures> {
    (
        any::<u8>(),
        cstr(32),
        any::<(u64, u64, u32, u32)>(),
        prop::collection::vec(table_feature_prop(), 0..5),
    )
        .prop_map(
            |(table_id, name, (mm, mw, config, max_entries), properties)| TableFeatures {
                table_id,
                name,
                metadata_match: mm,
                metadata_write: mw,
                config,
                max_entries,
                properties,
            },
        )
        .boxed()
}

fn flow_stats_request() -> BoxedStrategy<FlowStatsRequest> {
    (any::<(u8, u32, u32, u64, u64)>(), a_match())
        .prop_map(
            |((table_id, out_port, out_group, cookie, cookie_mask), match_)| FlowStatsRequest {
                table_id,
                out_port,
                out_group,
                cookie,
                cookie_mask,
                match_,
            },
        )
        .boxed()
}

fn mp_request() -> BoxedStrategy<MultipartRequestBody> {
    use MultipartRequestBody as R;
    Union::new(vec![
        Just(R::Desc).boxed(),
        flow_stats_request().prop_map(R::Flow).boxed(),
        flow_stats_request().prop_map(R::Aggregate).boxed(),
        Just(R::Table).boxed(),
        any::<u32>()
            .prop_map(|port_no| R::PortStats { port_no })
            .boxed(),
        any::<(u32, u32)>()
            .prop_map(|(port_no, queue_id)| R::Queue { port_no, queue_id })
            .boxed(),
        any::<u32>()
            .prop_map(|group_id| R::Group { group_id })
            .boxed(),
        Just(R::GroupDesc).boxed(),
        Just(R::GroupFeatures).boxed(),
        any::<u32>()
            .prop_map(|meter_id| R::Meter { meter_id })
            .boxed(),
        any::<u32>()
            .prop_map(|meter_id| R::MeterConfig { meter_id })
            .boxed(),
        Just(R::MeterFeatures).boxed(),
        prop::collection::vec(table_features(), 0..3)
            .prop_map(R::TableFeatures)
            .boxed(),
        Just(R::PortDesc).boxed(),
        experimenter().prop_map(R::Experimenter).boxed(),
    ])
    .boxed()
}

fn mp_reply() -> BoxedStrategy<MultipartReplyBody> {
    use MultipartReplyBody as R;
    let flow_stats = (
        any::<(u8, u32, u32, u16, u16, u16, u16)>(),
        any::<(u64, u64, u64)>(),
        a_match(),
        instructions(),
    )
        .prop_map(
            |((t, ds, dn, p, it, ht, f), (c, pc, bc), match_, instructions)| FlowStats {
                table_id: t,
                duration_sec: ds,
                duration_nsec: dn,
                priority: p,
                idle_timeout: it,
                hard_timeout: ht,
                flags: f,
                cookie: c,
                packet_count: pc,
                byte_count: bc,
                match_,
                instructions,
            },
        );
    let group_stats = (
        any::<(u32, u32, u64, u64, u32, u32)>(),
        prop::collection::vec(
            any::<(u64, u64)>().prop_map(|(packet_count, byte_count)| BucketCounter {
                packet_count,
                byte_count,
            }),
            0..4,
        ),
    )
        .prop_map(|((g, r, p, b, s, n), bucket_stats)| GroupStats {
            group_id: g,
            ref_count: r,
            packet_count: p,
            byte_count: b,
            duration_sec: s,
            duration_nsec: n,
            bucket_stats,
        });
    let meter_stats = (
        any::<(u32, u32, u64, u64, u32, u32)>(),
        prop::collection::vec(
            any::<(u64, u64)>().prop_map(|(p, b)| MeterBandStats {
                packet_band_count: p,
                byte_band_count: b,
            }),
            0..4,
        ),
    )
        .prop_map(|((m, f, p, b, s, n), band_stats)| MeterStats {
            meter_id: m,
            flow_count: f,
            packet_in_count: p,
            byte_in_count: b,
            duration_sec: s,
            duration_nsec: n,
            band_stats,
        });
    Union::new(vec![
        (cstr(256), cstr(256), cstr(256), cstr(32), cstr(256))
            .prop_map(|(mfr_desc, hw_desc, sw_desc, serial_num, dp_desc)| {
                R::Desc(Desc {
                    mfr_desc,
                    hw_desc,
                    sw_desc,
                    serial_num,
                    dp_desc,
                })
            })
            .boxed(),
        prop::collection::vec(flow_stats, 0..4)
            .prop_map(R::Flow)
            .boxed(),
        any::<(u64, u64, u32)>()
            .prop_map(|(packet_count, byte_count, flow_count)| {
                R::Aggregate(AggregateStats {
                    packet_count,
                    byte_count,
                    flow_count,
                })
            })
            .boxed(),
        prop::collection::vec(
            any::<(u8, u32, u64, u64)>().prop_map(|(t, a, l, m)| TableStats {
                table_id: t,
                active_count: a,
                lookup_count: l,
                matched_count: m,
            }),
            0..4,
        )
        .prop_map(R::Table)
        .boxed(),
        prop::collection::vec(
            (any::<[u64; 12]>(), any::<(u32, u32, u32)>()).prop_map(|(c, (p, s, n))| PortStats {
                port_no: p,
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
                duration_sec: s,
                duration_nsec: n,
            }),
            0..3,
        )
        .prop_map(R::PortStats)
        .boxed(),
        prop::collection::vec(
            any::<(u32, u32, u64, u64, u64, u32, u32)>().prop_map(|(p, q, b, k, e, s, n)| {
                QueueStats {
                    port_no: p,
                    queue_id: q,
                    tx_bytes: b,
                    tx_packets: k,
                    tx_errors: e,
                    duration_sec: s,
                    duration_nsec: n,
                }
            }),
            0..3,
        )
        .prop_map(R::Queue)
        .boxed(),
        prop::collection::vec(group_stats, 0..3)
            .prop_map(R::Group)
            .boxed(),
        prop::collection::vec(
            (
                any::<u8>(),
                any::<u32>(),
                prop::collection::vec(bucket(), 0..3),
            )
                .prop_map(|(group_type, group_id, buckets)| GroupDesc {
                    group_type,
                    group_id,
                    buckets,
                }),
            0..3,
        )
        .prop_map(R::GroupDesc)
        .boxed(),
        any::<(u32, u32, [u32; 4], [u32; 4])>()
            .prop_map(|(types, capabilities, max_groups, actions)| {
                R::GroupFeatures(GroupFeatures {
                    types,
                    capabilities,
                    max_groups,
                    actions,
                })
            })
            .boxed(),
        prop::collection::vec(meter_stats, 0..3)
            .prop_map(R::Meter)
            .boxed(),
        prop::collection::vec(
            (
                any::<u16>(),
                any::<u32>(),
                prop::collection::vec(band(), 0..3),
            )
                .prop_map(|(flags, meter_id, bands)| MeterConfig {
                    flags,
                    meter_id,
                    bands,
                }),
            0..3,
        )
        .prop_map(R::MeterConfig)
        .boxed(),
        any::<(u32, u32, u32, u8, u8)>()
            .prop_map(
                |(max_meter, band_types, capabilities, max_bands, max_color)| {
                    R::MeterFeatures(MeterFeatures {
                        max_meter,
                        band_types,
                        capabilities,
                        max_bands,
                        max_color,
                    })
                },
            )
            .boxed(),
        prop::collection::vec(table_features(), 0..3)
            .prop_map(R::TableFeatures)
            .boxed(),
        prop::collection::vec(port(), 0..3)
            .prop_map(R::PortDesc)
            .boxed(),
        experimenter().prop_map(R::Experimenter).boxed(),
    ])
    .boxed()
}

fn queue_prop() -> BoxedStrategy<QueueProp> {
    prop_oneof![
        any::<u16>().prop_map(QueueProp::MinRate),
        any::<u16>().prop_map(QueueProp::MaxRate),
        (any::<u32>(), bytes(12))
            .prop_map(|(experimenter, data)| QueueProp::Experimenter { experimenter, data }),
        (3u16..0xfff0, bytes(12))
            .prop_map(|(property, data)| QueueProp::Unknown { property, data }),
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Message> {
    let hello_elem = prop_oneof![
        prop::collection::vec(any::<u32>(), 0..3).prop_map(HelloElement::VersionBitmap),
        (2u16.., bytes(12)).prop_map(|(elem_type, data)| HelloElement::Unknown { elem_type, data }),
    ];
    let flow_mod = (
        any::<(u64, u64, u8, u16, u16, u16, u32, u32, u32, u16)>(),
        0u8..5,
        a_match(),
        instructions(),
    )
        .prop_map(
            |((c, cm, t, it, ht, p, b, op, og, f), cmd, match_, instructions)| {
                Message::FlowMod(FlowMod {
                    cookie: c,
                    cookie_mask: cm,
                    table_id: t,
                    command: FlowModCommand::from_u8(cmd).unwrap(),
                    idle_timeout: it,
                    hard_timeout: ht,
                    priority: p,
                    buffer_id: b,
                    out_port: op,
                    out_group: og,
                    flags: f,
                    match_,
                    instructions,
                })
            },
        );
    let switch_config = any::<(u16, u16)>().prop_map(|(flags, miss_send_len)| SwitchConfig {
        flags,
        miss_send_len,
    });
    let role = any::<(u32, u64)>().prop_map(|(role, generation_id)| Role {
        role,
        generation_id,
    });
    let async_config = any::<[u32; 6]>().prop_map(|m| AsyncConfig {
        packet_in_mask: [m[0], m[1]],
        port_status_mask: [m[2], m[3]],
        flow_removed_mask: [m[4], m[5]],
    });
    Union::new(vec![
        prop::collection::vec(hello_elem, 0..3)
            .prop_map(|elements| Message::Hello(Hello { elements }))
            .boxed(),
        prop_oneof![
            (0u16..0xffff, any::<u16>(), bytes(64)).prop_map(|(t, c, data)| ErrorMsg::Standard {
                code: OfpErrorCode::new(t, c),
                data
            }),
            (any::<u16>(), any::<u32>(), bytes(64)).prop_map(|(exp_code, experimenter, data)| {
                ErrorMsg::Experimenter {
                    exp_code,
                    experimenter,
                    data,
                }
            }),
        ]
        .prop_map(Message::Error)
        .boxed(),
        bytes(64).prop_map(Message::EchoRequest).boxed(),
        bytes(64).prop_map(Message::EchoReply).boxed(),
        experimenter().prop_map(Message::Experimenter).boxed(),
        Just(Message::FeaturesRequest).boxed(),
        any::<(u64, u32, u8, u8, u32, u32)>()
            .prop_map(|(d, b, t, a, c, r)| {
                Message::FeaturesReply(FeaturesReply {
                    datapath_id: d,
                    n_buffers: b,
                    n_tables: t,
                    auxiliary_id: a,
                    capabilities: c,
                    reserved: r,
                })
            })
            .boxed(),
        Just(Message::GetConfigRequest).boxed(),
        switch_config
            .clone()
            .prop_map(Message::GetConfigReply)
            .boxed(),
        switch_config.prop_map(Message::SetConfig).boxed(),
        (any::<(u32, u16, u8, u8, u64)>(), a_match(), bytes(128))
            .prop_map(|((b, tl, r, t, c), match_, data)| {
                Message::PacketIn(PacketIn {
                    buffer_id: b,
                    total_len: tl,
                    reason: r,
                    table_id: t,
                    cookie: c,
                    match_,
                    data,
                })
            })
            .boxed(),
        (
            any::<(u64, u16, u8, u8, u32, u32, u16, u16, u64, u64)>(),
            a_match(),
        )
            .prop_map(|((c, p, r, t, ds, dn, it, ht, pc, bc), match_)| {
                Message::FlowRemoved(FlowRemoved {
                    cookie: c,
                    priority: p,
                    reason: r,
                    table_id: t,
                    duration_sec: ds,
                    duration_nsec: dn,
                    idle_timeout: it,
                    hard_timeout: ht,
                    packet_count: pc,
                    byte_count: bc,
                    match_,
                })
            })
            .boxed(),
        (any::<u8>(), port())
            .prop_map(|(reason, desc)| Message::PortStatus(PortStatus { reason, desc }))
            .boxed(),
        (any::<(u32, u32)>(), actions(), bytes(64))
            .prop_map(|((buffer_id, in_port), actions, data)| {
                Message::PacketOut(PacketOut {
                    buffer_id,
                    in_port,
                    actions,
                    data,
                })
            })
            .boxed(),
        flow_mod.boxed(),
        (
            0u16..3,
            any::<u8>(),
            any::<u32>(),
            prop::collection::vec(bucket(), 0..4),
        )
            .prop_map(|(c, group_type, group_id, buckets)| {
                Message::GroupMod(GroupMod {
                    command: GroupModCommand::from_u16(c).unwrap(),
                    group_type,
                    group_id,
                    buckets,
                })
            })
            .boxed(),
        (any::<u32>(), mac(), any::<(u32, u32, u32)>())
            .prop_map(|(port_no, hw_addr, (config, mask, advertise))| {
                Message::PortMod(PortMod {
                    port_no,
                    hw_addr,
                    config,
                    mask,
                    advertise,
                })
            })
            .boxed(),
        any::<(u8, u32)>()
            .prop_map(|(table_id, config)| Message::TableMod(TableMod { table_id, config }))
            .boxed(),
        (any::<u16>(), mp_request())
            .prop_map(|(flags, body)| Message::MultipartRequest(MultipartRequest { flags, body }))
            .boxed(),
        (any::<u16>(), mp_reply())
            .prop_map(|(flags, body)| Message::MultipartReply(MultipartReply { flags, body }))
            .boxed(),
        Just(Message::BarrierRequest).boxed(),
        Just(Message::BarrierReply).boxed(),
        any::<u32>()
            .prop_map(|port| Message::QueueGetConfigRequest(QueueGetConfigRequest { port }))
            .boxed(),
        (
            any::<u32>(),
            prop::collection::vec(
                (
                    any::<u32>(),
                    any::<u32>(),
                    prop::collection::vec(queue_prop(), 0..4),
                )
                    .prop_map(|(queue_id, port, properties)| PacketQueue {
                        queue_id,
                        port,
                        properties,
                    }),
                0..4,
            ),
        )
            .prop_map(|(port, queues)| {
                Message::QueueGetConfigReply(QueueGetConfigReply { port, queues })
            })
            .boxed(),
        role.clone().prop_map(Message::RoleRequest).boxed(),
        role.prop_map(Message::RoleReply).boxed(),
        Just(Message::GetAsyncRequest).boxed(),
        async_config
            .clone()
            .prop_map(Message::GetAsyncReply)
            .boxed(),
        async_config.prop_map(Message::SetAsync).boxed(),
        (
            0u16..3,
            any::<u16>(),
            any::<u32>(),
            prop::collection::vec(band(), 0..4),
        )
            .prop_map(|(c, flags, meter_id, bands)| {
                Message::MeterMod(MeterMod {
                    command: MeterModCommand::from_u16(c).unwrap(),
                    flags,
                    meter_id,
                    bands,
                })
            })
            .boxed(),
    ])
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// encode → decode gives the same message; encoding it again gives the same bytes.
    #[test]
    fn encode_decode_encode_is_identity(msg in message(), xid in any::<u32>()) {
        let mut first = BytesMut::new();
        msg.encode(xid, &mut first);
        let first = first.freeze();
        let (xid2, decoded) = decode(&first).map_err(|e| {
            TestCaseError::fail(format!("{e} decoding {msg:?}"))
        })?;
        prop_assert_eq!(xid2, xid);
        prop_assert_eq!(&decoded, &msg);
        let mut second = BytesMut::new();
        decoded.encode(xid, &mut second);
        prop_assert_eq!(&second[..], &first[..]);
    }

    /// Arbitrary bodies behind a valid 1.3 header never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(t in 0u8..32, body in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut v = vec![4, t, 0, 0, 0, 0, 0, 1];
        v.extend_from_slice(&body);
        let n = v.len() as u16;
        v[2..4].copy_from_slice(&n.to_be_bytes());
        let _ = decode(&Bytes::from(v));
    }

    /// Valid messages with random bytes overwritten never panic the decoder; whatever
    /// decodes re-encodes to a message that decodes to the same value.
    #[test]
    fn mutated_messages_never_panic(
        msg in message(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut v = BytesMut::new();
        msg.encode(1, &mut v);
        let mut v = v.to_vec();
        for (i, b) in edits {
            let i = 8 + i.index(v.len() - 8 + 1).min(v.len() - 8);
            if i < v.len() {
                v[i] = b;
            }
        }
        if let Ok((_, m)) = decode(&Bytes::from(v)) {
            let mut again = BytesMut::new();
            m.encode(1, &mut again);
            let (_, m2) = decode(&again.freeze()).map_err(|e| {
                TestCaseError::fail(format!("{e} re-decoding {m:?}"))
            })?;
            prop_assert_eq!(m2, m);
        }
    }
}
