# An os-ken application for regress/tests/kernel_forward.rs: when an OpenFlow 1.3 switch
# connects, it installs a drop flow for ICMP (priority 100) and a table-miss NORMAL
# (priority 0), then asks for a barrier; each connection and each barrier reply is
# written as a line to the file named by $SWITCHD_REGRESS_OSKEN_LOG, so the test can see
# that the switch (re)connected and that the flows were accepted.

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

from regress_notes import note


class StaticFlows13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp = dp.ofproto
        p = dp.ofproto_parser
        note("connected %016x n_tables %d" % (dp.id, ev.msg.n_tables))
        drop_icmp = p.OFPFlowMod(
            datapath=dp,
            priority=100,
            match=p.OFPMatch(eth_type=0x0800, ip_proto=1),
            instructions=[],
        )
        normal = p.OFPFlowMod(
            datapath=dp,
            priority=0,
            match=p.OFPMatch(),
            instructions=[
                p.OFPInstructionActions(
                    ofp.OFPIT_APPLY_ACTIONS, [p.OFPActionOutput(ofp.OFPP_NORMAL, 0)]
                )
            ],
        )
        dp.send_msg(drop_icmp)
        dp.send_msg(normal)
        dp.send_msg(p.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        note("barrier %016x" % ev.msg.datapath.id)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error(self, ev):
        m = ev.msg
        note("error type %d code %d" % (m.type, m.code))
