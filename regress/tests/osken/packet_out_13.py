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
#   po-table      1           NO_BUFFER  output:TABLE       error type 2 code 4, nothing
#   po-set-dst    CONTROLLER  NO_BUFFER  set eth_dst to     port 3 only; sent to a MAC
#                                        host 3, output:3   nobody has, so only the
#                                                           edit lets host 3 take it
#
# Every frame is a broadcast (ff:ff:ff:ff:ff:ff) but the last.
import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, ipv4, packet, udp
from os_ken.ofproto import ofproto_v1_3


def note(line):
    path = os.environ.get("SWITCHD_REGRESS_OSKEN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def frame(payload, dst="ff:ff:ff:ff:ff:ff"):
    port = int(os.environ.get("SWITCHD_REGRESS_PKTOUT_PORT", "5099"))
    p = packet.Packet()
    p.add_protocol(
        ethernet.ethernet(
            dst=dst, src="02:00:00:00:00:99", ethertype=0x0800
        )
    )
    p.add_protocol(ipv4.ipv4(src="10.77.0.99", dst="255.255.255.255", proto=17))
    p.add_protocol(udp.udp(src_port=9999, dst_port=port))
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
        out = p.OFPActionOutput
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
            (
                "po-set-dst",
                ofp.OFPP_CONTROLLER,
                ofp.OFP_NO_BUFFER,
                [p.OFPActionSetField(eth_dst=host3), out(3)],
            ),
        ]
        for payload, in_port, buffer_id, actions in sends:
            dst = "02:00:00:00:00:77" if payload == "po-set-dst" else "ff:ff:ff:ff:ff:ff"
            dp.send_msg(
                p.OFPPacketOut(
                    datapath=dp,
                    buffer_id=buffer_id,
                    in_port=in_port,
                    actions=actions,
                    # os-ken sends data only with OFP_NO_BUFFER (it asserts so).
                    data=frame(payload, dst) if buffer_id == ofp.OFP_NO_BUFFER else None,
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
