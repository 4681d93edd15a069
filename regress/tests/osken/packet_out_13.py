# An os-ken application for regress/tests/kernel_packet_out.rs: when an OpenFlow 1.3
# switch connects, it sends packet-outs of UDP broadcasts (to 255.255.255.255, port
# $SWITCHD_REGRESS_PKTOUT_PORT) whose payload names what the packet-out asked for, then a
# barrier. Each connection, each error the switch answers with and the barrier reply are
# written as a line to the file named by $SWITCHD_REGRESS_OSKEN_LOG, so the test can see
# what the switch refused; the hosts behind the ports say what arrived where.
#
#   payload       in_port     buffer_id  actions            expected
#   po-output2    CONTROLLER  NO_BUFFER  output:2           host of port 2 only
#   po-flood      1           NO_BUFFER  output:FLOOD       ports 2 and 3, not 1
#   po-in-port    1           NO_BUFFER  output:IN_PORT     port 1 only
#   po-all-vlan   3           NO_BUFFER  push_vlan, vid 7,  ports 1 and 2, tagged (the
#                                        output:ALL         hosts' eth0.7 receive it)
#   po-buffered   CONTROLLER  0x1234     output:2           error type 1 code 8, nothing
#   po-set-dst    CONTROLLER  NO_BUFFER  set eth_dst to     port 3 only; sent to a MAC
#                                        host 3, output:3   nobody has, so only the
#                                                           edit lets host 3 take it
#   po-table      1           NO_BUFFER  output:TABLE       port 2 only: the flow table's
#                                                           udp flow of in_port 1 says so
#   po-table-drop 1           NO_BUFFER  output:TABLE       nowhere: from UDP port 9998,
#                                                           the higher-priority drop flow
#                                                           takes it before the output:2
#   po-table-ctl  CONTROLLER  NO_BUFFER  output:TABLE       error type 1 code 11 (in_port
#                                                           must be a port), nothing
#   po-local      CONTROLLER  NO_BUFFER  output:LOCAL       the host, through the bridge
#                                                           device: to the bridge's MAC
#                                                           ($SWITCHD_REGRESS_PKTOUT_BRMAC)
#                                                           and 10.77.0.254
#
# Before the packet-outs, two flows in table 0 (the switch's table-miss is drop):
#   priority 10, in_port=1, udp, udp_dst=PORT                 -> output:2
#   priority 20, in_port=1, udp, udp_dst=PORT, udp_src=9998   -> drop
#
# Every frame is a broadcast (ff:ff:ff:ff:ff:ff) but po-set-dst and po-local.
import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, ipv4, packet, udp
from os_ken.ofproto import ofproto_v1_3

from regress_notes import note


def udp_port():
    return int(os.environ.get("SWITCHD_REGRESS_PKTOUT_PORT", "5099"))


def frame(payload, dst="ff:ff:ff:ff:ff:ff", ip_dst="255.255.255.255", src_port=9999):
    p = packet.Packet()
    p.add_protocol(
        ethernet.ethernet(
            dst=dst, src="02:00:00:00:00:99", ethertype=0x0800
        )
    )
    p.add_protocol(ipv4.ipv4(src="10.77.0.99", dst=ip_dst, proto=17))
    p.add_protocol(udp.udp(src_port=src_port, dst_port=udp_port()))
    p.add_protocol(payload.encode())
    p.serialize()
    return p.data


class PacketOut13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp = dp.ofproto
        p = dp.ofproto_parser
        note("connected %016x n_tables %d" % (dp.id, ev.msg.n_tables))
        host3 = os.environ.get("SWITCHD_REGRESS_PKTOUT_MAC3", "02:00:00:00:00:03")
        brmac = os.environ.get("SWITCHD_REGRESS_PKTOUT_BRMAC", "02:00:00:00:00:fe")
        out = p.OFPActionOutput
        # The flows that output:TABLE must meet (applied before the next message).
        for prio, extra, actions in [
            (10, {}, [out(2)]),
            (20, {"udp_src": 9998}, []),
        ]:
            m = p.OFPMatch(
                in_port=1, eth_type=0x0800, ip_proto=17, udp_dst=udp_port(), **extra
            )
            inst = (
                [p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
                if actions
                else []
            )
            dp.send_msg(
                p.OFPFlowMod(datapath=dp, priority=prio, match=m, instructions=inst)
            )
        sends = [
            ("po-output2", ofp.OFPP_CONTROLLER, ofp.OFP_NO_BUFFER, [out(2)]),
            ("po-flood", 1, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_FLOOD)]),
            ("po-in-port", 1, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_IN_PORT)]),
            (
                "po-all-vlan",
                3,
                ofp.OFP_NO_BUFFER,
                [
                    p.OFPActionPushVlan(0x8100),
                    p.OFPActionSetField(vlan_vid=(ofp.OFPVID_PRESENT | 7)),
                    out(ofp.OFPP_ALL),
                ],
            ),
            ("po-buffered", ofp.OFPP_CONTROLLER, 0x1234, [out(2)]),
            ("po-table", 1, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_TABLE)]),
            ("po-table-drop", 1, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_TABLE)]),
            ("po-table-ctl", ofp.OFPP_CONTROLLER, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_TABLE)]),
            ("po-local", ofp.OFPP_CONTROLLER, ofp.OFP_NO_BUFFER, [out(ofp.OFPP_LOCAL)]),
            (
                "po-set-dst",
                ofp.OFPP_CONTROLLER,
                ofp.OFP_NO_BUFFER,
                [p.OFPActionSetField(eth_dst=host3), out(3)],
            ),
        ]
        for payload, in_port, buffer_id, actions in sends:
            kw = {}
            if payload == "po-set-dst":
                kw = {"dst": "02:00:00:00:00:77"}
            elif payload == "po-table-drop":
                kw = {"src_port": 9998}
            elif payload == "po-local":
                kw = {"dst": brmac, "ip_dst": "10.77.0.254"}
            dp.send_msg(
                p.OFPPacketOut(
                    datapath=dp,
                    buffer_id=buffer_id,
                    in_port=in_port,
                    actions=actions,
                    # os-ken sends data only with OFP_NO_BUFFER (it asserts so).
                    data=frame(payload, **kw) if buffer_id == ofp.OFP_NO_BUFFER else None,
                )
            )
        dp.send_msg(p.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        note("barrier %016x" % ev.msg.datapath.id)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error(self, ev):
        m = ev.msg
        note("error type %d code %d" % (m.type, m.code))
