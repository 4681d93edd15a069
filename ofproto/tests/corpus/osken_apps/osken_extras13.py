# switchd conformance corpus: an os-ken app that runs next to simple_switch_13 and
# makes os-ken's OpenFlow 1.3 encoder write the messages simple_switch_13 never sends
# (role, async config, table mod, port mod, group/meter mods, multipart requests of
# most kinds, OXM matches over many fields), and a few that the switch must reject.
# Everything is sent once, about a second after the handshake.

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER
from os_ken.controller.handler import set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3


class CorpusExtras13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        hub.spawn_after(1, self.burst, ev.msg.datapath)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error(self, ev):
        m = ev.msg
        self.logger.info("corpus: error type=%d code=%d", m.type, m.code)

    def burst(self, dp):
        ofp = dp.ofproto
        p = dp.ofproto_parser
        send = dp.send_msg
        log = self.logger.info
        log("corpus: sending extras")

        # echo, config, barrier
        send(p.OFPEchoRequest(dp, data=b"switchd corpus"))
        send(p.OFPGetConfigRequest(dp))
        send(p.OFPSetConfig(dp, ofp.OFPC_FRAG_NORMAL, 256))
        send(p.OFPGetConfigRequest(dp))
        send(p.OFPBarrierRequest(dp))

        # roles: query, become slave (a flow mod is then refused), stale generation,
        # master, equal again
        send(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_NOCHANGE, 0))
        send(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_SLAVE, 10))
        send(p.OFPFlowMod(dp, table_id=0, priority=3, match=p.OFPMatch(eth_type=0x88cc),
                          instructions=[]))
        send(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_MASTER, 5))        # stale: error
        send(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_MASTER, 11))
        send(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_EQUAL, 0))
        send(p.OFPBarrierRequest(dp))

        # asynchronous message configuration
        send(p.OFPGetAsyncRequest(dp))
        send(p.OFPSetAsync(dp,
                           [1 << ofp.OFPR_NO_MATCH | 1 << ofp.OFPR_ACTION, 1 << ofp.OFPR_ACTION],
                           [0x7, 0x1],
                           [1 << ofp.OFPRR_IDLE_TIMEOUT | 1 << ofp.OFPRR_DELETE, 0]))
        send(p.OFPGetAsyncRequest(dp))
        send(p.OFPSetAsync(dp, [0x7, 0x0], [0x7, 0x7], [0xf, 0x0]))

        # table mod (OF1.3: config is deprecated, 0 is the only sensible value),
        # port mod (no_flood on and off again)
        send(p.OFPTableMod(dp, 0, 0))
        send(p.OFPTableMod(dp, ofp.OFPTT_ALL, 0))
        send(p.OFPPortDescStatsRequest(dp, 0))
        for port_no, hw in ((1, "02:00:00:00:01:01"), (2, "02:00:00:00:02:01")):
            send(p.OFPPortMod(dp, port_no, hw, ofp.OFPPC_NO_FWD, ofp.OFPPC_NO_FWD, 0))
            send(p.OFPPortMod(dp, port_no, hw, 0, ofp.OFPPC_NO_FWD, 0))
        send(p.OFPPortMod(dp, 99, "02:00:00:00:99:99", 0, ofp.OFPPC_PORT_DOWN, 0))  # bad port

        # meters and groups, os-ken's encoding
        send(p.OFPMeterMod(dp, ofp.OFPMC_ADD, ofp.OFPMF_KBPS | ofp.OFPMF_BURST | ofp.OFPMF_STATS,
                           11, [p.OFPMeterBandDrop(rate=2000, burst_size=200)]))
        send(p.OFPMeterMod(dp, ofp.OFPMC_ADD, ofp.OFPMF_PKTPS, 12,
                           [p.OFPMeterBandDrop(rate=100, burst_size=0)]))
        send(p.OFPMeterMod(dp, ofp.OFPMC_MODIFY, ofp.OFPMF_PKTPS, 12,
                           [p.OFPMeterBandDrop(rate=300, burst_size=0)]))
        send(p.OFPMeterMod(dp, ofp.OFPMC_ADD, ofp.OFPMF_KBPS, 13,
                           [p.OFPMeterBandDscpRemark(rate=10, burst_size=0, prec_level=1)]))
        send(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_ALL, 11, [
            p.OFPBucket(actions=[p.OFPActionOutput(1)]),
            p.OFPBucket(actions=[p.OFPActionOutput(2)])]))
        send(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_SELECT, 12, [
            p.OFPBucket(weight=10, actions=[p.OFPActionSetField(eth_dst="02:00:00:00:02:02"),
                                            p.OFPActionOutput(2)]),
            p.OFPBucket(weight=20, actions=[p.OFPActionOutput(1)])]))
        send(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_INDIRECT, 13, [
            p.OFPBucket(actions=[p.OFPActionGroup(11)])]))
        send(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_FF, 14, [
            p.OFPBucket(watch_port=1, actions=[p.OFPActionOutput(1)]),
            p.OFPBucket(watch_port=2, actions=[p.OFPActionOutput(2)])]))
        send(p.OFPGroupMod(dp, ofp.OFPGC_MODIFY, ofp.OFPGT_ALL, 11, [
            p.OFPBucket(actions=[p.OFPActionOutput(2)])]))

        # flows with many OXM fields and instructions, in table 5 (out of the way of
        # simple_switch_13's table 0)
        def flow(prio, match, inst, table=5, **kw):
            send(p.OFPFlowMod(dp, table_id=table, priority=prio, match=match,
                              instructions=inst, **kw))

        def apply(*actions):
            return p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(actions))

        flow(10, p.OFPMatch(in_port=1, eth_dst=("01:00:00:00:00:00", "01:00:00:00:00:00"),
                            vlan_vid=(0x1000, 0x1000)),
             [apply(p.OFPActionPopVlan(), p.OFPActionOutput(2))])
        flow(11, p.OFPMatch(eth_type=0x0800, ip_dscp=10, ip_ecn=1, ip_proto=6,
                            ipv4_src=("10.0.0.0", "255.0.0.0"), ipv4_dst="10.0.0.2",
                            tcp_src=80, tcp_dst=443),
             [apply(p.OFPActionSetField(ipv4_dst="10.0.0.3"), p.OFPActionDecNwTtl(),
                    p.OFPActionSetQueue(1)),
              p.OFPInstructionWriteMetadata(0x10, 0xff),
              p.OFPInstructionGotoTable(6)],
             cookie=0xc0ffee, idle_timeout=30, hard_timeout=60, flags=ofp.OFPFF_SEND_FLOW_REM)
        flow(12, p.OFPMatch(eth_type=0x86dd, ip_proto=58, ipv6_src="2001:db8::1",
                            ipv6_dst=("2001:db8::", "ffff:ffff::"), ipv6_flabel=0x12345,
                            icmpv6_type=135, icmpv6_code=0, ipv6_nd_target="2001:db8::2",
                            ipv6_nd_sll="02:00:00:00:01:02"),
             [p.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, [p.OFPActionOutput(2)])])
        flow(13, p.OFPMatch(eth_type=0x0806, arp_op=1, arp_spa="10.0.0.1",
                            arp_tpa=("10.0.0.0", "255.255.255.0"), arp_sha="02:00:00:00:01:02",
                            arp_tha="00:00:00:00:00:00"),
             [p.OFPInstructionActions(ofp.OFPIT_CLEAR_ACTIONS, []),
              apply(p.OFPActionOutput(ofp.OFPP_FLOOD))])
        flow(14, p.OFPMatch(eth_type=0x8847, mpls_label=100, mpls_tc=3, mpls_bos=1),
             [apply(p.OFPActionPopMpls(0x0800), p.OFPActionOutput(1))])
        flow(15, p.OFPMatch(eth_type=0x0800, ip_proto=17, udp_src=53, udp_dst=5353,
                            metadata=(0x5, 0xff), tunnel_id=0x1234),
             [apply(p.OFPActionPushMpls(0x8847), p.OFPActionSetField(mpls_label=200),
                    p.OFPActionSetMplsTtl(10), p.OFPActionDecMplsTtl(),
                    p.OFPActionOutput(2)), p.OFPInstructionMeter(11)])
        flow(16, p.OFPMatch(eth_type=0x0800, ip_proto=132, sctp_src=1, sctp_dst=2,
                            vlan_vid=0x1000 | 100, vlan_pcp=3),
             [apply(p.OFPActionPushVlan(0x8100), p.OFPActionSetField(vlan_vid=0x1000 | 200),
                    p.OFPActionGroup(12))])
        flow(17, p.OFPMatch(eth_type=0x0800, ip_proto=1, icmpv4_type=8, icmpv4_code=0),
             [apply(p.OFPActionSetNwTtl(7), p.OFPActionCopyTtlOut(), p.OFPActionCopyTtlIn(),
                    p.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER))])
        flow(18, p.OFPMatch(eth_type=0x86dd, ip_proto=58, icmpv6_type=136,
                            ipv6_nd_target="2001:db8::1", ipv6_nd_tll="02:00:00:00:02:02",
                            ipv6_exthdr=(0, 0x1ff)),
             [apply(p.OFPActionOutput(1))])
        flow(19, p.OFPMatch(in_port=1),
             [apply(p.NXActionResubmitTable(in_port=0xfff8, table_id=6),
                    p.NXActionNote(note=[0xde, 0xad, 0xbe, 0xef]),
                    p.NXActionRegLoad(ofs_nbits=(0 << 6) | 31, dst="reg0", value=0x55))])
        flow(20, p.OFPMatch(eth_type=0x0800), [p.OFPInstructionGotoTable(2)])       # backwards
        flow(21, p.OFPMatch(eth_type=0x0800), [apply(p.OFPActionGroup(999))])       # no group
        flow(22, p.OFPMatch(ip_proto=6), [apply(p.OFPActionOutput(1))])             # no prereq
        send(p.OFPFlowMod(dp, table_id=5, command=ofp.OFPFC_MODIFY, match=p.OFPMatch(in_port=1),
                          instructions=[apply(p.OFPActionOutput(2))]))
        send(p.OFPFlowMod(dp, table_id=5, command=ofp.OFPFC_DELETE_STRICT, priority=13,
                          out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                          match=p.OFPMatch(eth_type=0x0806, arp_op=1, arp_spa="10.0.0.1",
                                           arp_tpa=("10.0.0.0", "255.255.255.0"),
                                           arp_sha="02:00:00:00:01:02",
                                           arp_tha="00:00:00:00:00:00")))
        send(p.OFPBarrierRequest(dp))

        # packet out with data
        pkt = bytes.fromhex("020000000202020000000102080045000020000100004011669b"
                            "0a0000010a000002303900350000c49c41424344")
        send(p.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
                            actions=[p.OFPActionOutput(2)], data=pkt))

        # multipart requests
        send(p.OFPDescStatsRequest(dp, 0))
        send(p.OFPTableStatsRequest(dp, 0))
        send(p.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY))
        send(p.OFPPortStatsRequest(dp, 0, 1))
        send(p.OFPQueueStatsRequest(dp, 0, ofp.OFPP_ANY, ofp.OFPQ_ALL))
        send(p.OFPQueueGetConfigRequest(dp, ofp.OFPP_ANY))
        send(p.OFPFlowStatsRequest(dp, 0, 5, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, p.OFPMatch()))
        send(p.OFPFlowStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY,
                                   0xc0ffee, 0xffffffffffffffff, p.OFPMatch(eth_type=0x0800)))
        send(p.OFPAggregateStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY,
                                        0, 0, p.OFPMatch()))
        send(p.OFPGroupStatsRequest(dp, 0, ofp.OFPG_ALL))
        send(p.OFPGroupDescStatsRequest(dp, 0))
        send(p.OFPGroupFeaturesStatsRequest(dp, 0))
        send(p.OFPMeterStatsRequest(dp, 0, ofp.OFPM_ALL))
        send(p.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL))
        send(p.OFPMeterFeaturesStatsRequest(dp, 0))
        send(p.OFPBarrierRequest(dp))

        # clean up what was added, so that simple_switch_13 works on
        send(p.OFPFlowMod(dp, table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE,
                          out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                          cookie=0xc0ffee, cookie_mask=0xffffffffffffffff, match=p.OFPMatch()))
        send(p.OFPFlowMod(dp, table_id=5, command=ofp.OFPFC_DELETE,
                          out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=p.OFPMatch()))
        send(p.OFPGroupMod(dp, ofp.OFPGC_DELETE, 0, ofp.OFPG_ALL, []))
        send(p.OFPMeterMod(dp, ofp.OFPMC_DELETE, 0, ofp.OFPM_ALL, []))
        send(p.OFPBarrierRequest(dp))
        log("corpus: extras sent")
