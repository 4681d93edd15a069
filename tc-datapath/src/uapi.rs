//! Numbers from the kernel's uapi headers (`linux/rtnetlink.h`, `linux/pkt_cls.h`,
//! `linux/pkt_sched.h`, `linux/tc_act/*.h`, `linux/gen_stats.h`, `linux/netlink.h`).
#![allow(dead_code)]

// linux/netlink.h
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_ECHO: u16 = 0x8;
/// In an NLMSG_ERROR: the original request was cut to its header (NETLINK_CAP_ACK).
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an NLMSG_ERROR: extended-ack TLVs follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
pub const NLMSG_HDRLEN: usize = 16;

// linux/rtnetlink.h
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_NEWQDISC: u16 = 36;
pub const RTM_DELQDISC: u16 = 37;
pub const RTM_NEWTFILTER: u16 = 44;
pub const RTM_DELTFILTER: u16 = 45;
pub const RTM_GETTFILTER: u16 = 46;
pub const RTM_NEWACTION: u16 = 48;
pub const RTM_DELACTION: u16 = 49;
pub const TCMSG_LEN: usize = 20;
pub const TCA_KIND: u16 = 1;
pub const TCA_OPTIONS: u16 = 2;
pub const TCA_CHAIN: u16 = 11;
/// struct nla_bitfield32 (value, selector); kernel 5.7+.
pub const TCA_DUMP_FLAGS: u16 = 15;
pub const TCA_DUMP_FLAGS_TERSE: u32 = 1;
pub const TCA_ACT_TAB: u16 = 1;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_INFO_KIND: u16 = 1;

// linux/pkt_sched.h
pub const TC_H_CLSACT: u32 = 0xffff_fff1;
pub const TC_H_INGRESS_HANDLE: u32 = 0xffff_0000;
/// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS): the clsact ingress hook.
pub const TC_H_INGRESS_PARENT: u32 = 0xffff_fff2;
pub const ETH_P_ALL: u16 = 0x0003;

// linux/pkt_cls.h: actions
pub const TCA_ACT_KIND: u16 = 1;
pub const TCA_ACT_OPTIONS: u16 = 2;
pub const TCA_ACT_INDEX: u16 = 3;
pub const TCA_ACT_STATS: u16 = 4;
pub const TCA_ACT_COOKIE: u16 = 6;
pub const TCA_ACT_MAX_PRIO: usize = 32;
pub const TC_ACT_OK: i32 = 0;
pub const TC_ACT_SHOT: i32 = 2;
pub const TC_ACT_PIPE: i32 = 3;
pub const TC_ACT_STOLEN: i32 = 4;
pub const TC_ACT_GOTO_CHAIN: i32 = 2 << 28;
/// `TC_ACT_JUMP`: skip to the action at the index in the low bits (counted from the first).
pub const TC_ACT_JUMP: i32 = 1 << 28;
pub const TC_ACT_EXT_OPCODE_MAX: i32 = 0xf << 28;
pub const TCA_CLS_FLAGS_SKIP_HW: u32 = 1;

// linux/gen_stats.h
pub const TCA_STATS_BASIC: u16 = 1;
pub const TCA_STATS_PKT64: u16 = 8;

// tc_act/tc_gact.h
pub const TCA_GACT_TM: u16 = 1;
pub const TCA_GACT_PARMS: u16 = 2;
// tc_act/tc_mirred.h
pub const TCA_MIRRED_TM: u16 = 1;
pub const TCA_MIRRED_PARMS: u16 = 2;
pub const TCA_EGRESS_REDIR: i32 = 1;
pub const TCA_EGRESS_MIRROR: i32 = 2;
pub const TCA_INGRESS_REDIR: i32 = 3;
pub const TCA_INGRESS_MIRROR: i32 = 4;
// tc_act/tc_vlan.h
pub const TCA_VLAN_TM: u16 = 1;
pub const TCA_VLAN_PARMS: u16 = 2;
pub const TCA_VLAN_PUSH_VLAN_ID: u16 = 3;
pub const TCA_VLAN_PUSH_VLAN_PROTOCOL: u16 = 4;
pub const TCA_VLAN_PUSH_VLAN_PRIORITY: u16 = 6;
pub const TCA_VLAN_ACT_POP: i32 = 1;
pub const TCA_VLAN_ACT_PUSH: i32 = 2;
pub const TCA_VLAN_ACT_MODIFY: i32 = 3;
// tc_act/tc_pedit.h
pub const TCA_PEDIT_TM: u16 = 1;
pub const TCA_PEDIT_PARMS: u16 = 2;
pub const TCA_PEDIT_PARMS_EX: u16 = 4;
pub const TCA_PEDIT_KEYS_EX: u16 = 5;
pub const TCA_PEDIT_KEY_EX: u16 = 6;
pub const TCA_PEDIT_KEY_EX_HTYPE: u16 = 1;
pub const TCA_PEDIT_KEY_EX_CMD: u16 = 2;
// tc_act/tc_csum.h
pub const TCA_CSUM_PARMS: u16 = 1;
pub const TCA_CSUM_TM: u16 = 2;
// linux/pkt_cls.h: police
pub const TCA_POLICE_TBF: u16 = 1;
pub const TCA_POLICE_RATE: u16 = 2;
pub const TCA_POLICE_RESULT: u16 = 5;
pub const TCA_POLICE_TM: u16 = 6;
pub const TCA_POLICE_RATE64: u16 = 8;
pub const TCA_POLICE_PKTRATE64: u16 = 10;
pub const TCA_POLICE_PKTBURST64: u16 = 11;
pub const TC_LINKLAYER_ETHERNET: u8 = 1;
// tc_act/tc_tunnel_key.h
pub const TCA_TUNNEL_KEY_TM: u16 = 1;
pub const TCA_TUNNEL_KEY_PARMS: u16 = 2;
pub const TCA_TUNNEL_KEY_ENC_IPV4_SRC: u16 = 3;
pub const TCA_TUNNEL_KEY_ENC_IPV4_DST: u16 = 4;
pub const TCA_TUNNEL_KEY_ENC_KEY_ID: u16 = 7;
pub const TCA_TUNNEL_KEY_ENC_DST_PORT: u16 = 9;
pub const TCA_TUNNEL_KEY_ACT_SET: i32 = 1;
pub const TCA_TUNNEL_KEY_ACT_RELEASE: i32 = 2;
// tc_act/tc_skbedit.h
pub const TCA_SKBEDIT_PARMS: u16 = 2;
pub const TCA_SKBEDIT_MARK: u16 = 5;

// linux/pkt_cls.h: flower
pub const TCA_FLOWER_ACT: u16 = 3;
pub const TCA_FLOWER_KEY_ETH_DST: u16 = 4;
pub const TCA_FLOWER_KEY_ETH_DST_MASK: u16 = 5;
pub const TCA_FLOWER_KEY_ETH_SRC: u16 = 6;
pub const TCA_FLOWER_KEY_ETH_SRC_MASK: u16 = 7;
pub const TCA_FLOWER_KEY_ETH_TYPE: u16 = 8;
pub const TCA_FLOWER_KEY_IP_PROTO: u16 = 9;
pub const TCA_FLOWER_KEY_IPV4_SRC: u16 = 10;
pub const TCA_FLOWER_KEY_IPV4_SRC_MASK: u16 = 11;
pub const TCA_FLOWER_KEY_IPV4_DST: u16 = 12;
pub const TCA_FLOWER_KEY_IPV4_DST_MASK: u16 = 13;
pub const TCA_FLOWER_KEY_IPV6_SRC: u16 = 14;
pub const TCA_FLOWER_KEY_IPV6_SRC_MASK: u16 = 15;
pub const TCA_FLOWER_KEY_IPV6_DST: u16 = 16;
pub const TCA_FLOWER_KEY_IPV6_DST_MASK: u16 = 17;
pub const TCA_FLOWER_KEY_TCP_SRC: u16 = 18;
pub const TCA_FLOWER_KEY_TCP_DST: u16 = 19;
pub const TCA_FLOWER_KEY_UDP_SRC: u16 = 20;
pub const TCA_FLOWER_KEY_UDP_DST: u16 = 21;
pub const TCA_FLOWER_FLAGS: u16 = 22;
pub const TCA_FLOWER_KEY_VLAN_ID: u16 = 23;
pub const TCA_FLOWER_KEY_VLAN_PRIO: u16 = 24;
pub const TCA_FLOWER_KEY_VLAN_ETH_TYPE: u16 = 25;
pub const TCA_FLOWER_KEY_ENC_KEY_ID: u16 = 26;
pub const TCA_FLOWER_KEY_ENC_IPV4_SRC: u16 = 27;
pub const TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK: u16 = 28;
pub const TCA_FLOWER_KEY_ENC_IPV4_DST: u16 = 29;
pub const TCA_FLOWER_KEY_ENC_IPV4_DST_MASK: u16 = 30;
pub const TCA_FLOWER_KEY_TCP_SRC_MASK: u16 = 35;
pub const TCA_FLOWER_KEY_TCP_DST_MASK: u16 = 36;
pub const TCA_FLOWER_KEY_UDP_SRC_MASK: u16 = 37;
pub const TCA_FLOWER_KEY_UDP_DST_MASK: u16 = 38;
pub const TCA_FLOWER_KEY_SCTP_SRC_MASK: u16 = 39;
pub const TCA_FLOWER_KEY_SCTP_DST_MASK: u16 = 40;
pub const TCA_FLOWER_KEY_SCTP_SRC: u16 = 41;
pub const TCA_FLOWER_KEY_SCTP_DST: u16 = 42;
pub const TCA_FLOWER_KEY_ICMPV4_CODE: u16 = 49;
pub const TCA_FLOWER_KEY_ICMPV4_CODE_MASK: u16 = 50;
pub const TCA_FLOWER_KEY_ICMPV4_TYPE: u16 = 51;
pub const TCA_FLOWER_KEY_ICMPV4_TYPE_MASK: u16 = 52;
pub const TCA_FLOWER_KEY_ICMPV6_CODE: u16 = 53;
pub const TCA_FLOWER_KEY_ICMPV6_CODE_MASK: u16 = 54;
pub const TCA_FLOWER_KEY_ICMPV6_TYPE: u16 = 55;
pub const TCA_FLOWER_KEY_ICMPV6_TYPE_MASK: u16 = 56;
pub const TCA_FLOWER_KEY_ARP_SIP: u16 = 57;
pub const TCA_FLOWER_KEY_ARP_SIP_MASK: u16 = 58;
pub const TCA_FLOWER_KEY_ARP_TIP: u16 = 59;
pub const TCA_FLOWER_KEY_ARP_TIP_MASK: u16 = 60;
pub const TCA_FLOWER_KEY_ARP_OP: u16 = 61;
pub const TCA_FLOWER_KEY_ARP_OP_MASK: u16 = 62;
pub const TCA_FLOWER_KEY_ARP_SHA: u16 = 63;
pub const TCA_FLOWER_KEY_ARP_SHA_MASK: u16 = 64;
pub const TCA_FLOWER_KEY_ARP_THA: u16 = 65;
pub const TCA_FLOWER_KEY_ARP_THA_MASK: u16 = 66;
pub const TCA_FLOWER_KEY_TCP_FLAGS: u16 = 71;
pub const TCA_FLOWER_KEY_TCP_FLAGS_MASK: u16 = 72;
pub const TCA_FLOWER_KEY_IP_TOS: u16 = 73;
pub const TCA_FLOWER_KEY_IP_TOS_MASK: u16 = 74;
pub const TCA_FLOWER_KEY_IP_TTL: u16 = 75;
pub const TCA_FLOWER_KEY_IP_TTL_MASK: u16 = 76;
pub const TCA_FLOWER_KEY_MPLS_TTL: u16 = 67;
pub const TCA_FLOWER_KEY_MPLS_BOS: u16 = 68;
pub const TCA_FLOWER_KEY_MPLS_TC: u16 = 69;
pub const TCA_FLOWER_KEY_MPLS_LABEL: u16 = 70;
pub const TCA_FLOWER_KEY_CVLAN_ID: u16 = 77;
pub const TCA_FLOWER_KEY_CVLAN_PRIO: u16 = 78;
pub const TCA_FLOWER_KEY_CVLAN_ETH_TYPE: u16 = 79;
/// u8, exact: how many VLAN tags the frame carries (Linux 5.19+).
pub const TCA_FLOWER_KEY_NUM_OF_VLANS: u16 = 102;

// tc_act/tc_sample.h
pub const TCA_SAMPLE_PARMS: u16 = 2;
pub const TCA_SAMPLE_RATE: u16 = 3;
pub const TCA_SAMPLE_TRUNC_SIZE: u16 = 4;
pub const TCA_SAMPLE_PSAMPLE_GROUP: u16 = 5;
