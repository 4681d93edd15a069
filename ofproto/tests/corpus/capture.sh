#!/bin/bash
# Regenerate the OpenFlow conformance corpus from scratch.
#
# Runs a private Open vSwitch (userspace datapath) in a temporary directory, never
# the system's one, and records with tcpdump on loopback:
#   ofctl13.pcap  ovs-ofctl -O OpenFlow13 (controller side) <-> ovs-vswitchd (switch, listening)
#   ofctl13tf.pcap  dump-table-features only, cut after the first reply part (see below)
#   ofctl10.pcap  ovs-ofctl -O OpenFlow10 (controller side) <-> ovs-vswitchd (switch, listening)
#   osken13.pcap  os-ken simple_switch_13 + osken_extras13 (listening) <-> ovs-vswitchd
#   osken10.pcap  os-ken simple_switch (OpenFlow 1.0, listening) <-> ovs-vswitchd
# then runs split.py, which writes NAME.c2s.bin / NAME.s2c.bin, messages.txt, summary.txt.
#
# Not run by CI; the outputs are committed. Needs root (namespaces, veth, tcpdump),
# Open vSwitch 3.1 tools, tcpdump, python3. os-ken (OSKEN_VERSION, default 3.1.1) is
# installed into a venv (VENV, default /tmp/switchd-corpus-venv) from PyPI if it is not
# there yet; the apps it runs are in osken_apps/. KEEP=1 keeps the temporary directory.
#
# usage: capture.sh [ofctl13|ofctl13tf|ofctl10|osken13|osken10]...   (default: all)

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
VENV=${VENV:-/tmp/switchd-corpus-venv}
OSKEN_VERSION=${OSKEN_VERSION:-3.1.1}   # last release with osken-manager
STEPS=${*:-ofctl13 ofctl13tf ofctl10 osken13 osken10}
LOGS=${LOGS:-/tmp/switchd-corpus-logs}   # ovs-ofctl / monitor / os-ken output, for reference

DIR=$(mktemp -d /tmp/switchd-corpus.XXXXXX)
export OVS_RUNDIR=$DIR OVS_DBDIR=$DIR OVS_LOGDIR=$DIR OVS_PKGDATADIR=/usr/share/openvswitch
TAG=$$
NS1=swcorp1-$TAG NS2=swcorp2-$TAG
V1=swc1-$TAG V2=swc2-$TAG          # root-side veth ends (OVS ports)
BR=br-corpus
VSCTL="ovs-vsctl --db=unix:$DIR/db.sock --timeout=20"
PIDS=()

log() { echo "== $*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -S "$DIR/db.sock" ] && $VSCTL --no-wait --if-exists del-br $BR 2>/dev/null
    for f in vswitchd ovsdb; do
        [ -f "$DIR/$f.pid" ] && kill "$(cat "$DIR/$f.pid")" 2>/dev/null
    done
    sleep 0.5
    for f in vswitchd ovsdb; do
        [ -f "$DIR/$f.pid" ] && kill -9 "$(cat "$DIR/$f.pid")" 2>/dev/null
    done
    ip link del "$V1" 2>/dev/null
    ip link del "$V2" 2>/dev/null
    ip netns del "$NS1" 2>/dev/null
    ip netns del "$NS2" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_ovs() {
    ovsdb-tool create "$DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server "$DIR/conf.db" --remote=punix:"$DIR/db.sock" --unixctl="$DIR/ovsdb.ctl" \
        --log-file="$DIR/ovsdb.log" --no-chdir --detach --pidfile="$DIR/ovsdb.pid"
    $VSCTL --no-wait init
    ovs-vswitchd unix:"$DIR/db.sock" --unixctl="$DIR/vswitchd.ctl" --log-file="$DIR/vswitchd.log" \
        --no-chdir --detach --pidfile="$DIR/vswitchd.pid"
}

# A netdev bridge with two veth ports whose other ends live in two namespaces
# (10.0.0.1 and 10.0.0.2). $1 = OpenFlow protocols for the bridge.
make_bridge() {
    $VSCTL add-br $BR -- set bridge $BR datapath_type=netdev protocols="$1" \
        other-config:datapath-id=0000000000c0ffee fail-mode=secure
    ip netns add "$NS1"; ip netns add "$NS2"
    ip link add "$V1" type veth peer name eth0 netns "$NS1"
    ip link add "$V2" type veth peer name eth0 netns "$NS2"
    ip link set "$V1" address 02:00:00:00:01:01; ip link set "$V2" address 02:00:00:00:02:01
    ip -n "$NS1" link set eth0 address 02:00:00:00:01:02
    ip -n "$NS2" link set eth0 address 02:00:00:00:02:02
    ip -n "$NS1" addr add 10.0.0.1/24 dev eth0; ip -n "$NS2" addr add 10.0.0.2/24 dev eth0
    ip -n "$NS1" addr add 2001:db8::1/64 dev eth0 nodad; ip -n "$NS2" addr add 2001:db8::2/64 dev eth0 nodad
    for n in "$NS1" "$NS2"; do ip -n "$n" link set eth0 up; ip -n "$n" link set lo up; done
    ip link set "$V1" up; ip link set "$V2" up
    $VSCTL add-port $BR "$V1" -- set interface "$V1" ofport_request=1 \
        -- add-port $BR "$V2" -- set interface "$V2" ofport_request=2
}

remove_bridge() {
    $VSCTL --if-exists del-br $BR
    ip link del "$V1" 2>/dev/null; ip link del "$V2" 2>/dev/null
    ip netns del "$NS1" 2>/dev/null; ip netns del "$NS2" 2>/dev/null
}

# start_tcpdump NAME PORT: record loopback traffic on PORT into $OUT/NAME.pcap
start_tcpdump() {
    local name=$1 port=$2
    rm -f "$OUT/$name.pcap"
    # shellcheck disable=SC2086
    tcpdump -i lo -U -n -s 0 ${TCPDUMP_OPTS:-} -w "$OUT/$name.pcap" "tcp port $port" \
        2>"$DIR/tcpdump-$name.err" &
    TCPDUMP_PID=$!
    PIDS+=("$TCPDUMP_PID")
    for _ in $(seq 100); do
        grep -q "listening on" "$DIR/tcpdump-$name.err" && return 0
        sleep 0.1
    done
    echo "tcpdump did not start" >&2; cat "$DIR/tcpdump-$name.err" >&2; exit 1
}

stop_tcpdump() {
    sleep 1
    kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null
    chown --reference="$OUT" "$OUT/$1.pcap"
    cat "$DIR/tcpdump-$1.err" | tail -3 >&2
}

# of CMD ARGS...: one ovs-ofctl run against the switch; failures are expected for
# some commands (their error replies are part of the corpus) and do not stop the run.
of() {
    local cmd=$1; shift
    echo "+ ovs-ofctl $OFVER $cmd $*" >>"$DIR/ofctl-$NAME.log"
    ovs-ofctl -O "$OFVER" --no-names -t 10 "$cmd" "$SW" "$@" >>"$DIR/ofctl-$NAME.log" 2>&1 \
        || echo "   (exit $?)" >>"$DIR/ofctl-$NAME.log"
}
# ofx OPTS CMD ARGS...: same with extra options before the command
ofx() {
    local opts=$1 cmd=$2; shift 2
    echo "+ ovs-ofctl $OFVER $opts $cmd $*" >>"$DIR/ofctl-$NAME.log"
    # shellcheck disable=SC2086
    ovs-ofctl -O "$OFVER" --no-names -t 10 $opts "$cmd" "$SW" "$@" >>"$DIR/ofctl-$NAME.log" 2>&1 \
        || echo "   (exit $?)" >>"$DIR/ofctl-$NAME.log"
}

# start_monitor [OPTS]: ovs-ofctl monitor in the background (receives packet-ins,
# port status, flow removed, flow monitor updates).
start_monitor() {
    # shellcheck disable=SC2086
    ovs-ofctl -O "$OFVER" --no-names ${MONOPTS:-} monitor "$SW" 65535 "$@" >>"$DIR/monitor-$NAME.log" 2>&1 &
    MON_PID=$!
    PIDS+=("$MON_PID")
    sleep 1
}
stop_monitor() { sleep 1; kill "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null; }

pings() {
    ip netns exec "$NS1" ping -c "${1:-2}" -i 0.2 -W 1 10.0.0.2 >/dev/null 2>&1
    ip netns exec "$NS1" ping -c 1 -W 1 2001:db8::2 >/dev/null 2>&1
}

# An Ethernet/IPv4/UDP frame from ns1's MAC to ns2's MAC (hex, for packet-out)
PKT_UDP=020000000202020000000102080045000020000100004011669b0a0000010a000002303900350000c49c41424344
PKT_ARP=ffffffffffff020000000102080600010800060400010200000001020a0000010000000000000a000002

########################################################################### OpenFlow 1.3
ofctl13() {
    NAME=ofctl13 OFVER=OpenFlow13
    local port; port=$(free_port); SW=tcp:127.0.0.1:$port
    make_bridge OpenFlow10,OpenFlow13
    # A QoS with two queues on port 1 so queue-get-config / queue-stats have content.
    $VSCTL -- set port "$V1" qos=@q -- --id=@q create qos type=linux-htb \
        other-config:max-rate=100000000 queues:0=@q0 queues:1=@q1 \
        -- --id=@q0 create queue other-config:min-rate=1000000 other-config:max-rate=50000000 \
        -- --id=@q1 create queue other-config:min-rate=2000000 other-config:max-rate=80000000 >/dev/null
    start_tcpdump $NAME "$port"
    $VSCTL set-controller $BR "ptcp:$port:127.0.0.1"
    sleep 2

    # handshake, echo, description; a client that only speaks OpenFlow 1.4 gets a
    # hello-failed error
    of probe
    ovs-ofctl -O OpenFlow14 -t 3 probe "$SW" >>"$DIR/ofctl-$NAME.log" 2>&1
    ovs-ofctl -O $OFVER ping "$SW" 64 >>"$DIR/ofctl-$NAME.log" 2>&1
    of show
    of dump-desc
    of dump-tables
    of get-frags
    of set-frags drop
    of set-frags reassemble     # not supported by the userspace datapath: error reply
    of set-frags nx-match
    of set-frags normal
    of get-frags
    of dump-ports-desc
    of dump-ports-desc 2

    # meters
    of add-meter 'meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100'
    of add-meter 'meter=2,pktps,stats,bands=type=drop,rate=100'
    of add-meter 'meter=3,kbps,bands=type=dscp_remark,rate=500,prec_level=1'
    of add-meter 'meter=4,pktps,burst,bands=type=drop,rate=10,burst_size=5,type=drop,rate=50,burst_size=20'
    of mod-meter 'meter=2,pktps,stats,bands=type=drop,rate=200'
    of mod-meter 'meter=77,kbps,bands=type=drop,rate=1'          # unknown meter: error
    of meter-features
    of dump-meters
    of dump-meters meter=1
    of meter-stats
    of meter-stats meter=2

    # groups of every type
    of add-group 'group_id=1,type=all,bucket=output:1,bucket=output:2'
    of add-group 'group_id=2,type=select,bucket=weight:100,output:1,bucket=weight:50,actions=set_field:02:00:00:00:00:99->eth_src,output:2'
    of add-group 'group_id=3,type=indirect,bucket=actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:1'
    of add-group 'group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2'
    of add-group 'group_id=5,type=all,bucket=group:1,bucket=dec_ttl,output:2'
    of add-group 'group_id=6,type=all,bucket=watch_group:1,output:1'
    of add-group 'group_id=1,type=all,bucket=output:1'            # exists: error
    of mod-group 'group_id=1,type=all,bucket=output:2,bucket=output:CONTROLLER'
    of mod-group 'group_id=40,type=indirect,bucket=output:1'      # unknown group: error
    ofx --may-create mod-group 'group_id=7,type=indirect,bucket=output:2'
    of dump-group-features
    of dump-groups
    of dump-groups 2
    of dump-group-stats
    of dump-group-stats group_id=4

    # flows: a file with many matches and actions, in one connection
    cat >"$DIR/flows13.txt" <<'EOF'
table=0,priority=100,in_port=1,actions=output:2
table=0,priority=100,in_port=2,dl_src=02:00:00:00:02:02,dl_dst=02:00:00:00:01:02,actions=output:1,CONTROLLER:128
cookie=0x1234,table=0,priority=90,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=FLOOD
table=0,priority=89,dl_src=02:00:00:00:00:00/ff:ff:ff:00:00:00,actions=ALL
table=0,priority=80,dl_vlan=100,dl_vlan_pcp=3,actions=pop_vlan,output:2
table=0,priority=81,vlan_tci=0x1000/0x1000,actions=strip_vlan,IN_PORT
table=0,priority=82,vlan_tci=0,dl_type=0x88cc,actions=drop
table=0,priority=70,ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,nw_tos=32,nw_ecn=1,actions=set_field:10.1.1.1->ip_src,dec_ttl,output:2
table=0,priority=70,ip,nw_src=10.0.0.0/255.0.255.0,nw_ttl=5,nw_frag=first,actions=mod_nw_tos:64,mod_nw_ecn:2,mod_nw_ttl:9,output:2
table=0,priority=71,tcp,nw_dst=10.0.0.2,tp_src=80,tp_dst=443,tcp_flags=+syn-ack,actions=set_field:8080->tcp_dst,mod_tp_src:1000,output:2
table=0,priority=72,tcp,tp_src=0x1000/0xf000,tp_dst=0x0050/0xfff0,actions=group:1
table=0,priority=73,udp,udp_src=53,udp_dst=5353,actions=set_field:1234->udp_dst,output:1
table=0,priority=74,sctp,sctp_src=1,sctp_dst=2,actions=set_field:99->sctp_src,output:1
table=0,priority=75,icmp,icmp_type=8,icmp_code=0,actions=set_queue:1,output:1
table=0,priority=76,icmp6,icmp_type=128,icmp_code=0,actions=output:2
table=0,priority=77,ipv6,ipv6_src=2001:db8::/32,ipv6_dst=2001:db8::1,ipv6_label=0x12345,nw_tos=8,actions=set_field:2001:db8::2->ipv6_dst,dec_ttl,output:2
table=0,priority=77,ipv6,ipv6_src=2001:db8::1/ffff:ffff::ffff,ipv6_label=0x0000f/0x0000f,actions=set_field:0x54321->ipv6_label,output:2
table=0,priority=78,icmp6,icmp_type=135,icmp_code=0,nd_target=2001:db8::1,nd_sll=02:00:00:00:01:02,actions=output:2
table=0,priority=78,icmp6,icmp_type=136,icmp_code=0,nd_target=2001:db8::2,nd_tll=02:00:00:00:02:02,actions=output:1
table=0,priority=79,arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,arp_sha=02:00:00:00:01:02,arp_tha=00:00:00:00:00:00,actions=FLOOD
table=0,priority=79,arp,arp_op=2,actions=set_field:2->arp_op,set_field:02:00:00:00:00:01->arp_sha,set_field:10.9.9.9->arp_spa,output:1
table=0,priority=60,mpls,mpls_label=100,mpls_tc=3,mpls_bos=1,actions=pop_mpls:0x0800,output:1
table=0,priority=61,mpls,mpls_label=200,actions=dec_mpls_ttl,set_mpls_ttl:10,set_field:5->mpls_tc,set_mpls_label:300,output:1
table=0,priority=62,ip,nw_dst=172.16.0.0/12,actions=push_mpls:0x8847,set_field:200->mpls_label,output:2
table=0,priority=63,ip,nw_dst=172.17.0.0/16,actions=push_vlan:0x8100,set_field:4196->vlan_vid,set_field:5->vlan_pcp,output:2
table=0,priority=64,ip,nw_dst=172.18.0.0/16,actions=mod_vlan_vid:10,mod_vlan_pcp:2,mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb,output:2
table=0,priority=50,tun_id=0x1234/0xffff,actions=goto_table:1
table=0,priority=51,tunnel_id=0x99,tun_src=192.168.0.1,tun_dst=192.168.0.2,actions=set_tunnel:0x10,output:1
table=0,priority=52,metadata=0x5/0xff,actions=write_metadata:0x1/0xff,goto_table:2
table=0,priority=53,ip,nw_dst=10.10.0.0/16,actions=meter:1,write_actions(output:1),goto_table:3
table=0,priority=54,ip,nw_dst=10.11.0.0/16,actions=clear_actions,write_actions(set_field:10.0.0.2->ip_dst,group:2),write_metadata:0xff00,goto_table:4
table=0,priority=40,reg0=5,reg1=0x10/0xf0,actions=resubmit(,5),load:0x5->NXM_NX_REG0[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:NXM_NX_REG1[0..15]
table=0,priority=41,dl_type=0x0800,xreg0=0x1,actions=learn(table=10,hard_timeout=60,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),note:de.ad.be.ef.00.11,resubmit(,10)
table=0,priority=42,ct_state=-trk,ip,actions=ct(table=6,zone=5)
table=0,priority=43,ct_state=+trk+new,ip,actions=ct(commit,zone=5,exec(set_field:0x1->ct_mark)),output:2
table=0,priority=44,pkt_mark=0x10,actions=set_field:0x20->pkt_mark,push:NXM_NX_REG0[],pop:NXM_NX_REG2[],multipath(eth_src,50,hrw,12,0,NXM_NX_REG0[0..3]),bundle(eth_src,0,active_backup,ofport,members:1,2)
table=0,priority=45,udp,actions=controller(reason=no_match,max_len=100,id=7,userdata=01.02.03),sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3)
table=0,priority=45,tcp,tp_dst=22,actions=fin_timeout(idle_timeout=5,hard_timeout=10),output:1
table=0,priority=46,ip,actions=clone(set_field:1.2.3.4->ip_dst,output:1),exit
table=0,priority=47,conj_id=10,actions=output:1
table=0,priority=48,ip,nw_src=1.1.1.1,actions=conjunction(10,1/2)
table=0,priority=48,ip,nw_dst=2.2.2.2,actions=conjunction(10,2/2)
table=0,priority=1,actions=CONTROLLER:65535
table=1,priority=10,ip,actions=output:2
table=2,priority=10,actions=write_actions(pop_vlan,output:1)
table=3,priority=0,actions=drop
table=4,priority=0,actions=goto_table:5
table=5,priority=5,idle_timeout=60,hard_timeout=120,send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,cookie=0xdeadbeef,actions=LOCAL
EOF
    of add-flows "$DIR/flows13.txt"
    of add-flow 'table=0,priority=30,in_port=LOCAL,actions=output:1'
    of add-flow 'table=0,priority=30,ip,actions=group:99'                     # unknown group: error
    of add-flow 'table=0,priority=30,ip,actions=meter:99,output:1'           # unknown meter: error
    of add-flow 'table=7,priority=30,ip,actions=goto_table:3'                 # backwards goto (rejected by ovs-ofctl or switch)
    of add-flow 'table=0,priority=31,sctp,nw_proto=17,actions=output:1'       # inconsistent prerequisites
    of add-flow 'table=0,priority=100,ip,check_overlap,actions=output:2'  # overlaps in_port=1: error
    of add-flow 'table=254,priority=0,actions=drop'
    of mod-flows 'table=0,in_port=1,actions=output:2,output:CONTROLLER'
    ofx --strict mod-flows 'table=0,priority=100,in_port=2,dl_src=02:00:00:00:02:02,dl_dst=02:00:00:00:01:02,actions=output:1'
    of mod-flows 'cookie=0x1234/-1,actions=FLOOD,output:CONTROLLER'
    of dump-flows
    of dump-flows 'table=0,ip'
    of dump-flows 'cookie=0x1234/0xffff,out_port=1'
    of dump-flows 'table=5'
    of dump-aggregate
    of dump-aggregate 'table=0,tcp'
    of del-flows 'table=0,icmp6'
    ofx --strict del-flows 'table=0,priority=79,arp,arp_op=2'
    of del-flows 'cookie=0x1234/-1'
    of del-flows 'out_port=2'
    of del-flows 'table=3'
    of dump-tables

    # ports, queues, tables
    of dump-ports
    of dump-ports 1
    of queue-stats
    of queue-stats 1
    of queue-stats 1 1
    of queue-get-config
    of queue-get-config 1
    of mod-port 2 no-flood
    of mod-port 2 flood

    # Nicira/ONF extension requests carried as experimenter messages
    of dump-tlv-map
    of add-tlv-map '{class=0xffff,type=0,len=4}->tun_metadata0'
    of dump-tlv-map
    of del-tlv-map
    of ct-flush-zone 5
    of dump-ipfix-bridge
    printf '%s\n' 'table=9,priority=1,actions=drop' 'table=9,priority=2,ip,actions=output:1' >"$DIR/bundle13.txt"
    ofx --bundle add-flows "$DIR/bundle13.txt"

    # asynchronous messages: a monitor connection sees packet-in, port status,
    # flow removed; the second one also asks for flow monitor updates.
    MONOPTS="-P standard" start_monitor
    of add-flow 'table=0,priority=200,hard_timeout=1,send_flow_rem,cookie=0x77,icmp,actions=output:2'
    of add-flow 'table=0,priority=200,idle_timeout=1,send_flow_rem,cookie=0x78,udp,actions=output:2'
    of add-flow 'table=0,priority=199,send_flow_rem,cookie=0x79,ip,nw_dst=10.0.0.99,actions=output:2'
    of packet-out CONTROLLER 'output:CONTROLLER' "$PKT_UDP"
    of packet-out 1 'output:CONTROLLER' "$PKT_ARP"
    of packet-out CONTROLLER 'set_field:10.0.0.9->ip_src,output:2' "$PKT_UDP"
    of packet-out CONTROLLER 'group:1' "$PKT_UDP"
    of packet-out 1 'controller(reason=action,userdata=aa.bb,max_len=64)' "$PKT_UDP"
    of packet-out 77 'output:1' "$PKT_UDP"          # no such in_port: error
    pings 2
    of del-flows 'cookie=0x79/-1'
    of mod-port 2 down
    of mod-port 2 up
    of mod-port 2 no-packet-in
    of mod-port 2 packet-in
    $VSCTL -- add-port $BR swc3-$TAG -- set interface swc3-$TAG type=internal ofport_request=3
    sleep 1
    $VSCTL del-port $BR swc3-$TAG
    sleep 2           # hard/idle timeouts expire -> flow removed
    stop_monitor
    MONOPTS="-P standard" start_monitor watch:
    of add-flow 'table=0,priority=5,in_port=2,udp,actions=output:1'
    of mod-flows 'table=0,in_port=2,udp,actions=drop'
    of del-flows 'table=0,in_port=2,udp'
    stop_monitor
    MONOPTS="-P nxt_packet_in2" start_monitor
    of packet-out CONTROLLER 'output:CONTROLLER' "$PKT_UDP"
    pings 1
    stop_monitor

    # finish: delete everything
    of del-flows
    of del-groups group_id=7
    of del-groups
    of del-meters meter=4
    of del-meters
    of dump-groups
    of dump-meters
    $VSCTL del-controller $BR
    stop_tcpdump $NAME
    $VSCTL -- clear port "$V1" qos -- --all destroy qos -- --all destroy queue
    remove_bridge
}

# OVS answers OFPMP_TABLE_FEATURES with 254 tables in 20 messages, 1.2 MB: tcpdump
# stops after a few packets, so only the first parts of the reply are kept (split.py
# cuts the open stream after its last complete message).
ofctl13tf() {
    NAME=ofctl13tf OFVER=OpenFlow13
    local port; port=$(free_port); SW=tcp:127.0.0.1:$port
    make_bridge OpenFlow10,OpenFlow13
    $VSCTL set-controller $BR "ptcp:$port:127.0.0.1"
    sleep 2
    TCPDUMP_OPTS="-c ${TF_PACKETS:-12}" start_tcpdump $NAME "$port"
    of dump-table-features
    stop_tcpdump $NAME
    $VSCTL del-controller $BR
    remove_bridge
}

########################################################################### OpenFlow 1.0
ofctl10() {
    NAME=ofctl10 OFVER=OpenFlow10
    local port; port=$(free_port); SW=tcp:127.0.0.1:$port
    make_bridge OpenFlow10,OpenFlow13
    $VSCTL -- set port "$V1" qos=@q -- --id=@q create qos type=linux-htb \
        other-config:max-rate=100000000 queues:0=@q0 queues:1=@q1 \
        -- --id=@q0 create queue other-config:min-rate=1000000 other-config:max-rate=50000000 \
        -- --id=@q1 create queue other-config:min-rate=2000000 other-config:max-rate=80000000 >/dev/null
    start_tcpdump $NAME "$port"
    $VSCTL set-controller $BR "ptcp:$port:127.0.0.1"
    sleep 2

    of probe
    ovs-ofctl -O OpenFlow11 -t 3 probe "$SW" >>"$DIR/ofctl-$NAME.log" 2>&1
    ovs-ofctl -O $OFVER ping "$SW" 32 >>"$DIR/ofctl-$NAME.log" 2>&1
    of show
    of dump-desc
    of dump-tables
    of dump-table-features
    of get-frags
    of set-frags drop
    of set-frags normal
    of dump-ports-desc
    of add-meter 'meter=1,kbps,bands=type=drop,rate=1000'        # OF1.0 has no meters
    of add-group 'group_id=1,type=all,bucket=output:1'           # OF1.0 has no groups

    # plain OpenFlow 1.0 matches (ofp_match) ...
    cat >"$DIR/flows10.txt" <<'EOF'
priority=100,in_port=1,actions=output:2
priority=100,in_port=2,dl_src=02:00:00:00:02:02,dl_dst=02:00:00:00:01:02,actions=output:1,CONTROLLER:128
cookie=0x1234,priority=90,dl_dst=ff:ff:ff:ff:ff:ff,actions=FLOOD
priority=80,dl_vlan=100,dl_vlan_pcp=3,actions=strip_vlan,output:2
priority=81,dl_vlan=0xffff,arp,actions=NORMAL
priority=70,ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,nw_tos=32,actions=mod_nw_src:10.1.1.1,mod_nw_dst:10.2.2.2,mod_nw_tos:64,output:2
priority=71,tcp,nw_dst=10.0.0.2,tp_src=80,tp_dst=443,actions=mod_tp_dst:8080,mod_tp_src:1000,output:2
priority=73,udp,tp_src=53,tp_dst=5353,actions=enqueue:1:1
priority=75,icmp,icmp_type=8,icmp_code=0,actions=mod_vlan_vid:10,mod_vlan_pcp:2,output:1
priority=76,arp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=1,actions=mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb,IN_PORT
priority=77,dl_type=0x88cc,actions=drop
priority=5,idle_timeout=60,hard_timeout=120,send_flow_rem,check_overlap,cookie=0xdeadbeef,actions=LOCAL
priority=1,actions=CONTROLLER:65535
EOF
    of add-flows "$DIR/flows10.txt"
    # ... and matches/actions that need Nicira extensions (NXT_FLOW_MOD, NXM)
    cat >"$DIR/flows10nx.txt" <<'EOF'
priority=60,ipv6,ipv6_src=2001:db8::/32,ipv6_dst=2001:db8::1,ipv6_label=0x12345,actions=dec_ttl,output:2
priority=61,icmp6,icmp_type=135,nd_target=2001:db8::1,nd_sll=02:00:00:00:01:02,actions=output:2
priority=62,tcp,tcp_flags=+syn-ack,tp_src=0x1000/0xf000,actions=output:1
priority=63,arp,arp_sha=02:00:00:00:01:02,arp_op=1,actions=FLOOD
priority=64,mpls,mpls_label=100,actions=pop_mpls:0x0800,output:1
priority=65,tun_id=0x1234/0xffff,reg0=5,actions=resubmit(,1),load:0x5->NXM_NX_REG0[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_tunnel64:0x1122334455,note:01.02.03
priority=66,ip,actions=learn(table=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),push_mpls:0x8847,set_mpls_label:7,output:2
priority=67,tcp,actions=controller(reason=no_match,max_len=100,id=7,userdata=01.02.03),fin_timeout(idle_timeout=5)
table=1,priority=10,ip,nw_ttl=3,actions=dec_ttl(1,2),output:2
EOF
    of add-flows "$DIR/flows10nx.txt"
    ofx --flow-format=openflow10 add-flow 'priority=59,ipv6,actions=drop'       # cannot be expressed in OF1.0: local error
    ofx --flow-format=nxm add-flow 'priority=58,ip,nw_src=10.0.0.3,actions=output:1'   # force NXM for a plain match
    ofx --flow-format=openflow10+table_id add-flow 'table=1,priority=5,ip,actions=output:1'
    of add-flow 'priority=100,ip,check_overlap,actions=output:2'  # overlaps in_port=1: error
    of mod-flows 'in_port=1,actions=output:2,output:CONTROLLER'
    ofx --strict mod-flows 'priority=100,in_port=2,dl_src=02:00:00:00:02:02,dl_dst=02:00:00:00:01:02,actions=output:1'
    of mod-flows 'cookie=0x1234/-1,actions=FLOOD'
    of dump-flows
    of dump-flows 'ip'
    of dump-flows 'ipv6'
    ofx --flow-format=openflow10 dump-flows          # plain OFPST_FLOW instead of NXST_FLOW
    ofx --flow-format=openflow10 dump-flows 'tcp,tp_dst=443'
    ofx --flow-format=openflow10 dump-aggregate 'ip'
    ofx --flow-format=openflow10+table_id add-flow 'table=254,priority=0,actions=drop'  # hidden table: error
    of packet-out 77 'output:1' "$PKT_UDP"          # no such in_port: error
    of dump-aggregate
    of dump-aggregate 'tcp'
    of del-flows 'icmp'
    ofx --strict del-flows 'priority=77,dl_type=0x88cc'
    of del-flows 'out_port=2'
    of del-flows 'ipv6'
    of dump-tables

    of dump-ports
    of dump-ports 1
    of queue-stats
    of queue-stats 1 1
    of queue-get-config 1
    of queue-get-config
    of mod-port 2 no-flood
    of mod-port 2 flood
    of mod-table 0 drop
    of dump-tlv-map

    MONOPTS="-P standard" start_monitor
    of add-flow 'priority=200,hard_timeout=1,send_flow_rem,cookie=0x77,icmp,actions=output:2'
    of add-flow 'priority=199,send_flow_rem,cookie=0x79,ip,nw_dst=10.0.0.99,actions=output:2'
    of packet-out CONTROLLER 'output:CONTROLLER' "$PKT_UDP"
    of packet-out 1 'output:CONTROLLER' "$PKT_ARP"
    of packet-out none 'mod_nw_src:10.0.0.9,output:2' "$PKT_UDP"
    pings 2
    of del-flows 'ip,nw_dst=10.0.0.99'
    of mod-port 2 down
    of mod-port 2 up
    $VSCTL -- add-port $BR swc3-$TAG -- set interface swc3-$TAG type=internal ofport_request=3
    sleep 1
    $VSCTL del-port $BR swc3-$TAG
    sleep 2
    stop_monitor
    MONOPTS="-P nxt_packet_in" start_monitor watch:
    of add-flow 'priority=5,in_port=2,udp,actions=output:1'
    of packet-out CONTROLLER 'output:CONTROLLER' "$PKT_UDP"
    of del-flows 'in_port=2,udp'
    stop_monitor

    of del-flows
    $VSCTL del-controller $BR
    stop_tcpdump $NAME
    $VSCTL -- clear port "$V1" qos -- --all destroy qos -- --all destroy queue
    remove_bridge
}

########################################################################### os-ken
ensure_osken() {
    if [ ! -x "$VENV/bin/osken-manager" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "os-ken==$OSKEN_VERSION"
    fi
}

# osken NAME OFPROTOCOLS APP...
osken() {
    local name=$1 protos=$2; shift 2
    NAME=$name
    ensure_osken
    local port; port=$(free_port)
    make_bridge "$protos"
    start_tcpdump "$name" "$port"
    "$VENV/bin/osken-manager" --ofp-tcp-listen-port "$port" --ofp-listen-host 127.0.0.1 \
        "$@" >"$DIR/osken-$name.log" 2>&1 &
    local opid=$!
    PIDS+=("$opid")
    local up=
    for _ in $(seq 120); do
        if ss -Hltn "sport = :$port" | grep -q LISTEN; then up=1; break; fi
        sleep 0.5
    done
    [ -n "$up" ] || { echo "os-ken did not start:" >&2; tail "$DIR/osken-$name.log" >&2; exit 1; }
    $VSCTL set-controller $BR "tcp:127.0.0.1:$port" -- set controller $BR inactivity_probe=3000
    sleep 5
    pings 3
    ip netns exec "$NS2" ping -c 3 -i 0.2 -W 1 10.0.0.1 >/dev/null 2>&1
    ip netns exec "$NS2" ping -c 2 -i 0.2 -W 1 2001:db8::1 >/dev/null 2>&1
    sleep 5                      # let one inactivity probe (echo) go by
    pings 2
    $VSCTL del-controller $BR
    sleep 1
    kill "$opid"; wait "$opid" 2>/dev/null
    stop_tcpdump "$name"
    remove_bridge
}

########################################################################### main
start_ovs
for step in $STEPS; do
    log "$step"
    case $step in
        ofctl13) ofctl13 ;;
        ofctl13tf) ofctl13tf ;;
        ofctl10) ofctl10 ;;
        osken13) osken osken13 OpenFlow13 "$HERE/osken_apps/simple_switch_13.py" "$HERE/osken_apps/osken_extras13.py" ;;
        osken10) osken osken10 OpenFlow10 "$HERE/osken_apps/simple_switch.py" ;;
        *) echo "unknown step $step" >&2; exit 1 ;;
    esac
    mkdir -p "$LOGS"; cp "$DIR"/ofctl-*.log "$DIR"/monitor-*.log "$DIR"/osken-*.log "$LOGS"/ 2>/dev/null
done
python3 "$HERE/split.py" "$OUT"
