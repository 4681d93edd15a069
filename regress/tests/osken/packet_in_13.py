# An os-ken application for regress/tests/kernel_packet_in.rs: when an OpenFlow 1.3
# switch connects, it installs a table-miss CONTROLLER flow (whole packets) and a
# priority-10 flow udp,udp_dst=9999 -> CONTROLLER:64 with cookie 0x5157c0de, then asks
# for a barrier. Every PACKET_IN is written as a JSON line to the file named by
# $SWITCHD_REGRESS_OSKEN_LOG (in_port, reason, table_id, cookie, total_len, len(data),
# buffer_id), and so are connections, barrier replies and errors.

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

from regress_notes import note_json

COOKIE = 0x5157C0DE


class PacketIn13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp = dp.ofproto
        p = dp.ofproto_parser
        note_json(
            {"event": "connected", "dpid": dp.id, "n_buffers": ev.msg.n_buffers}
        )
        miss = p.OFPFlowMod(
            datapath=dp,
            priority=0,
            match=p.OFPMatch(),
            instructions=[
                p.OFPInstructionActions(
                    ofp.OFPIT_APPLY_ACTIONS,
                    [p.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)],
                )
            ],
        )
        udp = p.OFPFlowMod(
            datapath=dp,
            cookie=COOKIE,
            priority=10,
            match=p.OFPMatch(eth_type=0x0800, ip_proto=17, udp_dst=9999),
            instructions=[
                p.OFPInstructionActions(
                    ofp.OFPIT_APPLY_ACTIONS, [p.OFPActionOutput(ofp.OFPP_CONTROLLER, 64)]
                )
            ],
        )
        dp.send_msg(miss)
        dp.send_msg(udp)
        dp.send_msg(p.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        note_json({"event": "barrier", "dpid": ev.msg.datapath.id})

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        m = ev.msg
        note_json(
            {
                "event": "packet_in",
                "in_port": m.match.get("in_port"),
                "reason": m.reason,
                "table_id": m.table_id,
                "cookie": m.cookie,
                "total_len": m.total_len,
                "data_len": len(m.data),
                "buffer_id": m.buffer_id,
            }
        )

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error(self, ev):
        m = ev.msg
        note_json({"event": "error", "type": m.type, "code": m.code})
