"""ctnetlink from inside a namespace: the end of each connection (DESTROY events, a
multicast group any number of listeners may join) and a dump that zeroes the counters it
reads (GET_CTRZERO), so each aggregation window gets exactly its own packets and bytes.

Counters exist only for connections made while `nf_conntrack_acct` is on in the namespace;
`enable_accounting` turns it on before any traffic the flow logs should see.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from netemu.driver import netns

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_DELETE = 2
IPCTNL_MSG_CT_GET_CTRZERO = 3
NFNLGRP_CONNTRACK_DESTROY = 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_PROTOINFO = 1, 2, 3, 4
CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY, CTA_ID = 9, 10, 12
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_IP_V6_SRC, CTA_IP_V6_DST = 3, 4
CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE, CTA_PROTO_ICMPV6_CODE = 7, 8, 9
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE = 4, 5, 6
CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES = 1, 2
CTA_PROTOINFO_TCP, CTA_PROTOINFO_TCP_STATE = 1, 1
IPS_SEEN_REPLY = 1 << 1

# conntrack's TCP states (ctnetlink numbering)
TCP_SYN_SENT, TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_TIME_WAIT, TCP_CLOSE = 1, 3, 4, 7, 8


@dataclass(frozen=True)
class Tuple:
    """One direction of a connection as its packets carry it."""

    src: IPv4Address | IPv6Address
    dst: IPv4Address | IPv6Address
    sport: int  # TCP/UDP port; for ICMP the echo id
    dport: int  # TCP/UDP port; for ICMP type << 8 | code


@dataclass(frozen=True)
class Flow:
    """A connection's state and the counters since they were last read (dump or end)."""

    id: int
    protocol: int
    orig: Tuple
    reply: Tuple
    orig_packets: int
    orig_bytes: int
    reply_packets: int
    reply_bytes: int
    seen_reply: bool
    tcp_state: int | None  # None for other protocols
    ended: bool  # from a DESTROY event


def attrs(data: bytes) -> dict[int, bytes]:
    """Netlink attributes (type without the nested/byte-order flags -> payload)."""
    out: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, i)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[i + 4 : i + length]
        i += (length + 3) & ~3
    return out


def _tuple(data: bytes, protocol: int) -> Tuple | None:
    a = attrs(data)
    ip, proto = attrs(a.get(CTA_TUPLE_IP, b"")), attrs(a.get(CTA_TUPLE_PROTO, b""))
    src: IPv4Address | IPv6Address
    dst: IPv4Address | IPv6Address
    if CTA_IP_V4_SRC in ip and CTA_IP_V4_DST in ip:
        src, dst = IPv4Address(ip[CTA_IP_V4_SRC]), IPv4Address(ip[CTA_IP_V4_DST])
    elif CTA_IP_V6_SRC in ip and CTA_IP_V6_DST in ip:  # a dual-stack scenario (render.ipv6)
        src, dst = IPv6Address(ip[CTA_IP_V6_SRC]), IPv6Address(ip[CTA_IP_V6_DST])
    else:
        return None
    if protocol == 58:
        ident = struct.unpack("!H", proto.get(CTA_PROTO_ICMPV6_ID, b"\0\0"))[0]
        kind = (
            proto.get(CTA_PROTO_ICMPV6_TYPE, b"\0")[0] << 8
            | proto.get(CTA_PROTO_ICMPV6_CODE, b"\0")[0]
        )
        return Tuple(src, dst, ident, kind)
    if protocol == 1:
        ident = struct.unpack("!H", proto.get(CTA_PROTO_ICMP_ID, b"\0\0"))[0]
        kind = (
            proto.get(CTA_PROTO_ICMP_TYPE, b"\0")[0] << 8 | proto.get(CTA_PROTO_ICMP_CODE, b"\0")[0]
        )
        return Tuple(src, dst, ident, kind)
    sport = struct.unpack("!H", proto.get(CTA_PROTO_SRC_PORT, b"\0\0"))[0]
    dport = struct.unpack("!H", proto.get(CTA_PROTO_DST_PORT, b"\0\0"))[0]
    return Tuple(src, dst, sport, dport)


def _counters(data: bytes | None) -> tuple[int, int]:
    if data is None:
        return 0, 0
    a = attrs(data)
    packets = a.get(CTA_COUNTERS_PACKETS, b"\0" * 8)
    size = a.get(CTA_COUNTERS_BYTES, b"\0" * 8)
    return struct.unpack("!Q", packets)[0], struct.unpack("!Q", size)[0]


def parse(body: bytes, ended: bool) -> Flow | None:
    """One ctnetlink message body (after nlmsghdr and nfgenmsg)."""
    a = attrs(body)
    orig_raw = attrs(a.get(CTA_TUPLE_ORIG, b""))
    protocol_raw = attrs(orig_raw.get(CTA_TUPLE_PROTO, b"")).get(CTA_PROTO_NUM)
    if protocol_raw is None:
        return None
    protocol = protocol_raw[0]
    orig = _tuple(a.get(CTA_TUPLE_ORIG, b""), protocol)
    reply = _tuple(a.get(CTA_TUPLE_REPLY, b""), protocol)
    if orig is None or reply is None:
        return None
    op, ob = _counters(a.get(CTA_COUNTERS_ORIG))
    rp, rb = _counters(a.get(CTA_COUNTERS_REPLY))
    status = struct.unpack("!I", a.get(CTA_STATUS, b"\0\0\0\0"))[0]
    ident = struct.unpack("!I", a.get(CTA_ID, b"\0\0\0\0"))[0]
    state = None
    if protocol == 6:
        tcp = attrs(attrs(a.get(CTA_PROTOINFO, b"")).get(CTA_PROTOINFO_TCP, b""))
        state = tcp[CTA_PROTOINFO_TCP_STATE][0] if CTA_PROTOINFO_TCP_STATE in tcp else None
    # DESTROY events may carry no status: a counted reply packet says the same
    seen_reply = bool(status & IPS_SEEN_REPLY) or rp > 0
    return Flow(ident, protocol, orig, reply, op, ob, rp, rb, seen_reply, state, ended)


def messages(data: bytes) -> list[tuple[int, bytes]]:
    """(nlmsg type, body after the 4-byte nfgenmsg) of each netlink message in `data`."""
    out = []
    i = 0
    while i + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, i)
        if length < 16:
            break
        out.append((kind, data[i + 20 : i + length]))
        i += (length + 3) & ~3
    return out


def enable_accounting(ns: str) -> None:
    """Per-connection packet and byte counters in `ns` (off by default)."""
    with netns.entered(ns):
        netns.write_sysctl("net/netfilter/nf_conntrack_acct", "1")


def open_events(ns: str) -> socket.socket:
    """A non-blocking socket hearing each connection's end (with its last counters)."""
    with netns.entered(ns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((0, 1 << (NFNLGRP_CONNTRACK_DESTROY - 1)))
    sock.setblocking(False)
    return sock


def read_events(sock: socket.socket) -> list[Flow]:
    out: list[Flow] = []
    while True:
        try:
            data = sock.recv(1 << 16)
        except BlockingIOError:
            return out
        except OSError:  # ENOBUFS: events were lost under load; the next dump still counts
            continue
        for kind, body in messages(data):
            if kind == (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE:
                flow = parse(body, ended=True)
                if flow:
                    out.append(flow)


def dump_and_zero(ns: str) -> list[Flow]:
    """Every connection in `ns` with its counters since the last read, zeroing them: IPv4,
    then IPv6 (an empty table in a scenario without IPv6)."""
    return _dump_and_zero(ns, socket.AF_INET) + _dump_and_zero(ns, socket.AF_INET6)


def _dump_and_zero(ns: str, family: int) -> list[Flow]:
    with netns.entered(ns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    with sock:
        sock.bind((0, 0))
        kind = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_CTRZERO
        nfgen = struct.pack("!BBH", family, 0, 0)
        seq = os.getpid() & 0xFFFF
        sock.send(struct.pack("=IHHII", 20, kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + nfgen)
        out: list[Flow] = []
        while True:
            data = sock.recv(1 << 16)
            for mtype, body in messages(data):
                if mtype in (NLMSG_DONE, NLMSG_ERROR):
                    return out
                flow = parse(body, ended=False)
                if flow:
                    out.append(flow)
