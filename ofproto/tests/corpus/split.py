#!/usr/bin/env python3
"""Split the corpus captures into raw OpenFlow byte streams.

usage: split.py [DIR]        (DIR defaults to the directory of this script)

For every DIR/NAME.pcap (classic libpcap format, as written by `tcpdump -w`) this
reassembles each TCP connection by sequence number, per direction, dropping
retransmitted bytes, and writes

    NAME.c2s.bin   controller -> switch bytes of every connection, back to back
    NAME.s2c.bin   switch -> controller bytes of every connection, back to back
    summary.txt    the per-file message counts printed below

Connections are concatenated in the order their first packet appears; each one
starts with an OFPT_HELLO. Which side is the switch is given by the file name:
captures whose name starts with "ofctl" have the switch (ovs-vswitchd) listening
and the controller (ovs-ofctl) connecting; captures whose name starts with "osken"
have the controller (os-ken) listening and the switch connecting. The listening
side is the one that answered the SYN.

Every .bin file is then checked to be a clean sequence of OpenFlow messages
(8-byte header, length >= 8, ending exactly at EOF); per file, the count of
messages by (version, type) is printed, and DIR/messages.txt is written with one
line per message:

    FILE OFFSET VERSION TYPE LEN        (all numbers decimal)

Only the Python standard library is used.
"""

import collections
import os
import struct
import sys

# ---------------------------------------------------------------- names

OFP10_TYPES = [
    "HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "VENDOR", "FEATURES_REQUEST",
    "FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY", "SET_CONFIG",
    "PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD", "PORT_MOD",
    "STATS_REQUEST", "STATS_REPLY", "BARRIER_REQUEST", "BARRIER_REPLY",
    "QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY",
]
OFP13_TYPES = [
    "HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "EXPERIMENTER", "FEATURES_REQUEST",
    "FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY", "SET_CONFIG",
    "PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD", "GROUP_MOD",
    "PORT_MOD", "TABLE_MOD", "MULTIPART_REQUEST", "MULTIPART_REPLY", "BARRIER_REQUEST",
    "BARRIER_REPLY", "QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY",
    "ROLE_REQUEST", "ROLE_REPLY", "GET_ASYNC_REQUEST", "GET_ASYNC_REPLY", "SET_ASYNC",
    "METER_MOD",
]
OFP10_STATS = {0: "DESC", 1: "FLOW", 2: "AGGREGATE", 3: "TABLE", 4: "PORT", 5: "QUEUE",
               0xFFFF: "VENDOR"}
OFP13_MP = {0: "DESC", 1: "FLOW", 2: "AGGREGATE", 3: "TABLE", 4: "PORT_STATS", 5: "QUEUE",
            6: "GROUP", 7: "GROUP_DESC", 8: "GROUP_FEATURES", 9: "METER",
            10: "METER_CONFIG", 11: "METER_FEATURES", 12: "TABLE_FEATURES", 13: "PORT_DESC",
            0xFFFF: "EXPERIMENTER"}
EXPERIMENTERS = {0x00002320: "NX", 0x4F4E4600: "ONF", 0x000026E1: "NX_OLD"}


def type_name(version, mtype):
    table = OFP10_TYPES if version == 1 else OFP13_TYPES
    return table[mtype] if mtype < len(table) else "TYPE%d" % mtype


def detail(version, mtype, msg):
    """A finer label: multipart/stats subtype, experimenter id+subtype, error type/code."""
    name = type_name(version, mtype)
    if name in ("STATS_REQUEST", "STATS_REPLY", "MULTIPART_REQUEST", "MULTIPART_REPLY") \
            and len(msg) >= 10:
        (st,) = struct.unpack_from("!H", msg, 8)
        sname = (OFP10_STATS if version == 1 else OFP13_MP).get(st, str(st))
        if st == 0xFFFF:
            off = 12 if version == 1 else 16
            if len(msg) >= off + 8:
                exp, sub = struct.unpack_from("!II", msg, off)
                sname += "/%s:%d" % (EXPERIMENTERS.get(exp, hex(exp)), sub)
        return "%s/%s" % (name, sname)
    if name in ("VENDOR", "EXPERIMENTER") and len(msg) >= 16:
        exp, sub = struct.unpack_from("!II", msg, 8)
        return "%s/%s:%d" % (name, EXPERIMENTERS.get(exp, hex(exp)), sub)
    if name == "ERROR" and len(msg) >= 12:
        et, ec = struct.unpack_from("!HH", msg, 8)
        if et == 0xFFFF and len(msg) >= 16:
            (exp,) = struct.unpack_from("!I", msg, 12)
            return "ERROR/EXPERIMENTER(%s,%d)" % (EXPERIMENTERS.get(exp, hex(exp)), ec)
        return "ERROR/%d.%d" % (et, ec)
    return name


# ---------------------------------------------------------------- pcap

def read_pcap(path):
    """Yield (linktype, frame bytes) for each record of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    magic = data[:4]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    else:
        raise ValueError("%s: not a classic pcap file (pcapng is not supported)" % path)
    _, _, _, _, _, linktype = struct.unpack_from(endian + "HHiIII", data, 4)
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        if incl != orig:
            raise ValueError("%s: truncated frame (snaplen too small)" % path)
        yield linktype & 0x0FFFFFFF, data[off:off + incl]
        off += incl
    if off != len(data):
        raise ValueError("%s: trailing garbage" % path)


def l3(linktype, frame):
    """Return (ethertype, payload) of the network layer of a frame."""
    if linktype == 1:                 # EN10MB
        etype = struct.unpack_from("!H", frame, 12)[0]
        off = 14
        while etype in (0x8100, 0x88A8):
            etype = struct.unpack_from("!H", frame, off + 2)[0]
            off += 4
        return etype, frame[off:]
    if linktype == 113:               # LINUX_SLL
        return struct.unpack_from("!H", frame, 14)[0], frame[16:]
    if linktype == 276:               # LINUX_SLL2
        return struct.unpack_from("!H", frame, 0)[0], frame[20:]
    if linktype == 0:                 # NULL (BSD loopback)
        fam = struct.unpack_from("=I", frame, 0)[0]
        return (0x0800 if fam == 2 else 0x86DD), frame[4:]
    if linktype in (12, 101):         # raw IP
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    raise ValueError("unsupported link type %d" % linktype)


def tcp_segment(linktype, frame):
    """Return (src, sport, dst, dport, seq, flags, payload) or None."""
    etype, ip = l3(linktype, frame)
    if etype == 0x0800:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        if ip[9] != 6:
            return None
        src, dst = ip[12:16], ip[16:20]
        tcp = ip[ihl:total]
    elif etype == 0x86DD:
        plen = struct.unpack_from("!H", ip, 4)[0]
        if ip[6] != 6:                 # extension headers are not expected on loopback
            return None
        src, dst = ip[8:24], ip[24:40]
        tcp = ip[40:40 + plen]
    else:
        return None
    sport, dport, seq = struct.unpack_from("!HHI", tcp, 0)
    doff = (tcp[12] >> 4) * 4
    flags = tcp[13]
    return src, sport, dst, dport, seq, flags, tcp[doff:]


SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


class Direction:
    def __init__(self):
        self.isn = None
        self.segments = []            # (seq, payload)
        self.closed = False           # FIN or RST seen

    def assemble(self, label):
        if not self.segments:
            return b""
        if self.isn is None:          # capture started mid-connection: trust the first seq
            self.isn = min(s for s, _ in self.segments)
        out = bytearray()
        for seq, payload in sorted(((s - self.isn) % (1 << 32), p)
                                   for s, p in self.segments):
            end = seq + len(payload)
            if seq > len(out):
                raise ValueError("%s: gap in TCP stream at offset %d" % (label, len(out)))
            if end <= len(out):
                continue              # retransmission
            out += payload[len(out) - seq:]
        return bytes(out)


def split_pcap(path):
    """Return a list of connections: (client_to_server bytes, server_to_client bytes)."""
    conns = collections.OrderedDict()  # key: (client, cport, server, sport)
    for linktype, frame in read_pcap(path):
        seg = tcp_segment(linktype, frame)
        if seg is None:
            continue
        src, sport, dst, dport, seq, flags, payload = seg
        a, b = (src, sport), (dst, dport)
        if (a + b) in conns:
            key, fwd = a + b, True
        elif (b + a) in conns:
            key, fwd = b + a, False
        else:
            # New connection. The SYN (without ACK) comes from the client; a
            # SYN-ACK from the server. Without either, guess the lower port is the server.
            if flags & SYN and not flags & ACK:
                key, fwd = a + b, True
            elif flags & SYN and flags & ACK:
                key, fwd = b + a, False
            elif sport < dport:
                key, fwd = b + a, False
            else:
                key, fwd = a + b, True
            conns[key] = (Direction(), Direction())
        d = conns[key][0 if fwd else 1]
        if flags & SYN:
            d.isn = (seq + 1) % (1 << 32)
        elif payload:
            d.segments.append((seq, payload))
        if flags & (FIN | RST):
            d.closed = True
    result = []
    for key, (c2s, s2c) in conns.items():
        label = "%s port %d->%d" % (os.path.basename(path), key[1], key[3])
        pair = []
        for d, lab in ((c2s, label), (s2c, label + " (reverse)")):
            data = d.assemble(lab)
            if not d.closed:
                data = trim_open_stream(data, lab)
            pair.append(data)
        result.append(tuple(pair))
    return result


def trim_open_stream(data, label):
    """A stream the capture stopped in the middle of (tcpdump -c) may end inside a
    message: cut it after the last complete message."""
    off = 0
    while off + 8 <= len(data):
        (length,) = struct.unpack_from("!H", data, off + 2)
        if length < 8 or off + length > len(data):
            break
        off += length
    if off != len(data):
        print("note: %s: capture ends inside a message; %d trailing bytes dropped"
              % (label, len(data) - off), file=sys.stderr)
    return data[:off]


# ---------------------------------------------------------------- OpenFlow framing

def messages(data, label):
    """Yield (offset, version, type, length, bytes); raise if the framing is broken."""
    off = 0
    while off < len(data):
        if off + 8 > len(data):
            raise ValueError("%s: %d stray bytes at offset %d" % (label, len(data) - off, off))
        version, mtype, length = struct.unpack_from("!BBH", data, off)
        if length < 8 or off + length > len(data):
            raise ValueError("%s: bad message length %d at offset %d" % (label, length, off))
        if version not in (1, 2, 3, 4, 5, 6):
            raise ValueError("%s: bad version %d at offset %d" % (label, version, off))
        yield off, version, mtype, length, data[off:off + length]
        off += length


SUMMARY = []


def out(line):
    """Print a summary line and keep it for summary.txt."""
    print(line)
    SUMMARY.append(line)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    pcaps = sorted(f for f in os.listdir(outdir) if f.endswith(".pcap"))
    lines = ["# FILE OFFSET VERSION TYPE LEN -- one OpenFlow message per line, "
             "numbers decimal; written by split.py"]
    failed = False
    for pcap in pcaps:
        name = pcap[:-5]
        if name.startswith("ofctl"):
            switch_listens = True
        elif name.startswith("osken"):
            switch_listens = False
        else:
            print("%s: name must start with ofctl or osken, skipped" % pcap, file=sys.stderr)
            continue
        conns = split_pcap(os.path.join(outdir, pcap))
        c2s = bytearray()
        s2c = bytearray()
        for client_bytes, server_bytes in conns:
            if switch_listens:
                c2s += client_bytes
                s2c += server_bytes
            else:
                c2s += server_bytes
                s2c += client_bytes
        out("%s: %d TCP connections" % (pcap, len(conns)))
        for suffix, data in (("c2s", c2s), ("s2c", s2c)):
            fname = "%s.%s.bin" % (name, suffix)
            with open(os.path.join(outdir, fname), "wb") as f:
                f.write(data)
            counts = collections.Counter()
            details = collections.Counter()
            n = 0
            try:
                for off, version, mtype, length, msg in messages(bytes(data), fname):
                    lines.append("%s %d %d %d %d" % (fname, off, version, mtype, length))
                    counts[(version, mtype)] += 1
                    details[(version, detail(version, mtype, msg))] += 1
                    n += 1
            except ValueError as e:
                print("ERROR %s" % e, file=sys.stderr)
                failed = True
            out("  %s: %d bytes, %d messages" % (fname, len(data), n))
            for (version, mtype), c in sorted(counts.items()):
                out("    v%d type %2d %-26s %5d" % (version, mtype, type_name(version, mtype), c))
            subs = [(k, c) for k, c in sorted(details.items()) if "/" in k[1]]
            for (version, d), c in subs:
                out("      v%d %-44s %5d" % (version, d, c))
    with open(os.path.join(outdir, "messages.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    out("messages.txt: %d messages" % (len(lines) - 1))
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write("# written by split.py: messages per file by (version, type); indented lines\n"
                "# break down multipart/stats, experimenter/vendor (id:subtype) and error"
                " (type.code)\n")
        f.write("\n".join(SUMMARY) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
