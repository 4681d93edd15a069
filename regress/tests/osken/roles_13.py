# An os-ken application for regress/tests/kernel_controllers.rs: one of two controllers of
# the same OpenFlow 1.3 switch (section 6.3.6). Two instances run, told their part by the
# environment:
#
#   SWITCHD_REGRESS_ROLE=master  asks for MASTER (generation 1), then installs ARP and IPv4
#                                to the addresses in $SWITCHD_REGRESS_ALLOW -> NORMAL.
#   SWITCHD_REGRESS_ROLE=slave   asks for SLAVE (generation 1), then tries to install
#                                "ip -> NORMAL" (priority 50), which a slave is refused
#                                (OFPBRC_IS_SLAVE). When the file $SWITCHD_REGRESS_PROMOTE
#                                appears, it asks for MASTER with a stale generation (0:
#                                OFPRRFC_STALE), then with generation 2, and as master
#                                installs "ip -> NORMAL" (priority 5), and
#                                "udp -> goto_table:0" (priority 7), which every switch
#                                refuses (OFPBIC_BAD_TABLE_ID: goto_table goes forward).
#
# Every role reply, barrier reply and error is a line in $SWITCHD_REGRESS_OSKEN_LOG.

import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from regress_notes import note


def normal(p, ofp):
    return [
        p.OFPInstructionActions(
            ofp.OFPIT_APPLY_ACTIONS, [p.OFPActionOutput(ofp.OFPP_NORMAL, 0)]
        )
    ]


class Roles13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.part = os.environ.get("SWITCHD_REGRESS_ROLE", "master")
        self.dp = None
        self.promoted = False

    def start(self):
        t = super().start()
        if self.part == "slave":
            hub.spawn(self.wait_for_promotion)
        return t

    def role(self, dp, role, gen):
        dp.send_msg(dp.ofproto_parser.OFPRoleRequest(dp, role, gen))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp = dp.ofproto
        self.dp = dp
        note("connected %016x" % dp.id)
        if self.part == "master":
            self.role(dp, ofp.OFPCR_ROLE_MASTER, 1)
        else:
            self.role(dp, ofp.OFPCR_ROLE_SLAVE, 1)

    @set_ev_cls(ofp_event.EventOFPRoleReply, MAIN_DISPATCHER)
    def role_reply(self, ev):
        dp = ev.msg.datapath
        ofp = dp.ofproto
        p = dp.ofproto_parser
        names = {
            ofp.OFPCR_ROLE_EQUAL: "equal",
            ofp.OFPCR_ROLE_MASTER: "master",
            ofp.OFPCR_ROLE_SLAVE: "slave",
        }
        note("role %s %d" % (names.get(ev.msg.role, "?"), ev.msg.generation_id))
        if ev.msg.role == ofp.OFPCR_ROLE_MASTER and not self.promoted:
            # The first master: ARP, and IPv4 between the allowed addresses.
            dp.send_msg(
                p.OFPFlowMod(
                    datapath=dp,
                    priority=10,
                    match=p.OFPMatch(eth_type=0x0806),
                    instructions=normal(p, ofp),
                )
            )
            for a in os.environ.get("SWITCHD_REGRESS_ALLOW", "").split(","):
                if a:
                    dp.send_msg(
                        p.OFPFlowMod(
                            datapath=dp,
                            priority=10,
                            match=p.OFPMatch(eth_type=0x0800, ipv4_dst=a),
                            instructions=normal(p, ofp),
                        )
                    )
            dp.send_msg(p.OFPBarrierRequest(dp))
        elif ev.msg.role == ofp.OFPCR_ROLE_MASTER:
            # Promoted: all IPv4 passes; and a flow every switch refuses (goto_table
            # must go forward: OFPBIC_BAD_TABLE_ID).
            dp.send_msg(
                p.OFPFlowMod(
                    datapath=dp,
                    priority=5,
                    match=p.OFPMatch(eth_type=0x0800),
                    instructions=normal(p, ofp),
                )
            )
            dp.send_msg(
                p.OFPFlowMod(
                    datapath=dp,
                    priority=7,
                    match=p.OFPMatch(eth_type=0x0800, ip_proto=17),
                    instructions=[p.OFPInstructionGotoTable(0)],
                )
            )
            dp.send_msg(p.OFPBarrierRequest(dp))
        elif ev.msg.role == ofp.OFPCR_ROLE_SLAVE:
            # Refused to a slave; if it were not, all IPv4 would pass.
            dp.send_msg(
                p.OFPFlowMod(
                    datapath=dp,
                    priority=50,
                    match=p.OFPMatch(eth_type=0x0800),
                    instructions=normal(p, ofp),
                )
            )
            dp.send_msg(p.OFPBarrierRequest(dp))

    def wait_for_promotion(self):
        path = os.environ.get("SWITCHD_REGRESS_PROMOTE")
        while not (path and os.path.exists(path) and self.dp is not None):
            hub.sleep(0.2)
        dp = self.dp
        ofp = dp.ofproto
        self.promoted = True
        note("promoting")
        self.role(dp, ofp.OFPCR_ROLE_MASTER, 0)
        self.role(dp, ofp.OFPCR_ROLE_MASTER, 2)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        note("barrier")

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error(self, ev):
        m = ev.msg
        note("error type %d code %d" % (m.type, m.code))
