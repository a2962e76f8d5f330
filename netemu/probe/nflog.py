"""Receives what netemu's rules log (NFLOG) from inside a namespace: drops and probe hops.

Every rule that stands for an AWS verdict logs what it drops to one NFLOG group, with a
structured prefix saying which refusal it is (render.nft.Drop), and every probe packet that
enters the namespace is logged there too (render.nft.probe_hops). A socket bound to that
group inside a namespace hears each of them the moment it happens, with the packet's
headers, so a probe knows where its packet went and which AWS object dropped it without
waiting for a timeout. The kernel allows one such socket per group and namespace, hence
probe.lock.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from netemu.driver import netns
from netemu.errors import HostUnsupported
from netemu.render.nft import DROP_LOG_GROUP

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULA_CFG_TIMEOUT = 4
NFULA_CFG_QTHRESH = 5
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2
NFULA_PAYLOAD = 9
NFULA_PREFIX = 10
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
BIND_RETRIES, BIND_RETRY_S = 20, 0.025
COPY_RANGE = 128  # IP header and the first transport bytes are all a verdict needs


@dataclass(frozen=True)
class Packet:
    """The headers of an IPv4 (or IPv6, probe.ipv6) packet, as far as probes care."""

    protocol: int
    src: IPv4Address | IPv6Address
    dst: IPv4Address | IPv6Address
    ip_id: int
    sport: int | None = None  # TCP/UDP
    dport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    icmp_id: int | None = None  # echo request/reply identifier
    tcp_flags: int | None = None
    ttl: int = 0


def parse_ipv4(data: bytes) -> Packet | None:
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    proto = data[9]
    ip_id = struct.unpack_from("!H", data, 4)[0]
    ttl = data[8]
    src, dst = IPv4Address(data[12:16]), IPv4Address(data[16:20])
    l4 = data[ihl:]
    if proto in (6, 17) and len(l4) >= 4:
        sport, dport = struct.unpack_from("!HH", l4)
        flags = l4[13] if proto == 6 and len(l4) >= 14 else None
        return Packet(proto, src, dst, ip_id, sport, dport, tcp_flags=flags, ttl=ttl)
    if proto == 1 and len(l4) >= 8:
        t, c = l4[0], l4[1]
        ident = struct.unpack_from("!H", l4, 4)[0] if t in (0, 8) else None
        return Packet(proto, src, dst, ip_id, icmp_type=t, icmp_code=c, icmp_id=ident, ttl=ttl)
    return Packet(proto, src, dst, ip_id, ttl=ttl)


def parse_ipv6(data: bytes) -> Packet | None:
    """An IPv6 packet without extension headers (netemu sends none); ip_id is 0."""
    if len(data) < 40 or data[0] >> 4 != 6:
        return None
    proto, hop_limit = data[6], data[7]
    src, dst = IPv6Address(data[8:24]), IPv6Address(data[24:40])
    l4 = data[40:]
    if proto in (6, 17) and len(l4) >= 4:
        sport, dport = struct.unpack_from("!HH", l4)
        flags = l4[13] if proto == 6 and len(l4) >= 14 else None
        return Packet(proto, src, dst, 0, sport, dport, tcp_flags=flags, ttl=hop_limit)
    if proto == 58 and len(l4) >= 8:
        t, c = l4[0], l4[1]
        ident = struct.unpack_from("!H", l4, 4)[0] if t in (128, 129) else None
        return Packet(proto, src, dst, 0, icmp_type=t, icmp_code=c, icmp_id=ident, ttl=hop_limit)
    return Packet(proto, src, dst, 0, ttl=hop_limit)


def ip_length(data: bytes) -> int:
    """The packet's length from its own header (IPv4 total length, IPv6 40 + payload)."""
    if data[:1] and data[0] >> 4 == 6:
        return 40 + int(struct.unpack_from("!H", data, 4)[0])
    return int(struct.unpack_from("!H", data, 2)[0])


def _attrs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, i)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[i + 4 : i + length]
        i += (length + 3) & ~3
    return out


def _config(sock: socket.socket, group: int, attr: int, value: bytes) -> None:
    nfgen = struct.pack("!BBH", socket.AF_UNSPEC, 0, group)
    nla = struct.pack("=HH", 4 + len(value), attr) + value
    nla += b"\0" * (-len(nla) % 4)
    body = nfgen + nla
    kind = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    sock.send(struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, 0, 0) + body)
    reply = sock.recv(4096)
    _len, rkind, _f, _s, _p = struct.unpack_from("=IHHII", reply)
    if rkind == NLMSG_ERROR:
        err = struct.unpack_from("=i", reply, 16)[0]
        if err:
            raise OSError(-err, os.strerror(-err))


def open_listener(ns: str, group: int = DROP_LOG_GROUP) -> socket.socket:
    """A non-blocking socket that receives what is logged inside namespace `ns`. Any failure
    is the host's (exit 3), with one line saying what failed."""
    for _ in range(BIND_RETRIES):
        try:
            return _open(ns, group)
        except PermissionError:
            # The previous prober of this scenario was killed: the kernel releases its
            # turn (a file lock) a moment before its sockets. Anyone else stays bound.
            time.sleep(BIND_RETRY_S)
    try:
        return _open(ns, group)
    except OSError as e:
        why = e.strerror or str(e)
        if e.errno == errno.EPERM:
            why += (
                f"; another process already listens to NFLOG group {group} there "
                "(a netemu older than this one, or ulogd?)"
            )
        raise HostUnsupported(f"cannot listen for probe logs in namespace {ns}: {why}") from None


def _open(ns: str, group: int) -> socket.socket:
    with netns.entered(ns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        sock.bind((0, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        _config(sock, group, NFULA_CFG_CMD, struct.pack("B", NFULNL_CFG_CMD_BIND))
        _config(sock, group, NFULA_CFG_MODE, struct.pack("!IBB", COPY_RANGE, NFULNL_COPY_PACKET, 0))
        # Deliver each drop at once instead of batching them for up to a second.
        _config(sock, group, NFULA_CFG_QTHRESH, struct.pack("!I", 1))
        _config(sock, group, NFULA_CFG_TIMEOUT, struct.pack("!I", 1))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def read_logged(sock: socket.socket) -> list[tuple[str, Packet]]:
    """Every (log prefix, packet) waiting on a listener socket."""
    out: list[tuple[str, Packet]] = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return out
        except OSError as e:  # ENOBUFS: the kernel dropped messages; the rest still count
            if e.errno != errno.ENOBUFS:
                raise HostUnsupported(f"reading probe logs failed: {e.strerror}") from None
            continue
        out += parse_messages(data)


def parse_messages(data: bytes) -> list[tuple[str, Packet]]:
    """The (log prefix, packet) of each NFLOG packet message in one netlink datagram."""
    out: list[tuple[str, Packet]] = []
    i = 0
    while i + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, i)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
            attrs = _attrs(data[i + 20 : i + length])  # after nlmsghdr and nfgenmsg
            prefix = attrs.get(NFULA_PREFIX, b"").rstrip(b"\0").decode(errors="replace")
            pkt = parse_ipv4(attrs.get(NFULA_PAYLOAD, b""))
            if pkt:
                out.append((prefix, pkt))
        i += (length + 3) & ~3
    return out
