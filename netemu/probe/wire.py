"""Probe packets on the wire: crafting a marked request, and sockets inside namespaces
(raw sends, captures on an ENI). probe.engine decides what the packets mean."""

from __future__ import annotations

import os
import socket
import struct
import threading
from ipaddress import IPv4Address

from netemu.driver import netns
from netemu.probe import path
from netemu.probe.nflog import Packet, parse_ipv4
from netemu.render import nft

ETH_P_IP = 0x0800
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
TCP_SYN = 0x02
PACKET_OUTGOING = 4


def in_ns(ns: str, family: int, kind: int, proto: int) -> socket.socket:
    """A socket opened inside namespace `ns` (it stays there)."""
    with netns.entered(ns):
        return socket.socket(family, kind, proto)


def capture(ns: str) -> socket.socket:
    """A non-blocking capture of IPv4 packets arriving on any ENI of namespace `ns` (an
    instance may have several, 9.20). Opened with its protocol and never bound: binding a
    socket that already hooks every device unhooks it first, which waits for an RCU grace
    period (several ms per capture, tens of captures per batch)."""
    s = in_ns(ns, socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    s.setblocking(False)
    return s


CLOSERS = 128  # threads closing sockets side by side (close_all)


def close_all(sockets: list[socket.socket]) -> None:
    """Close sockets side by side: closing a capture waits for an RCU grace period, and
    waits that overlap share one. A bounded number of threads, each closing its share:
    a batch over a thousand instances holds thousands of sockets."""
    if len(sockets) < 4:
        for s in sockets:
            s.close()
        return

    def close(share: list[socket.socket]) -> None:
        for s in share:
            s.close()

    count = min(CLOSERS, len(sockets))
    closers = [threading.Thread(target=close, args=(sockets[i::count],)) for i in range(count)]
    for t in closers:
        t.start()
    for t in closers:
        t.join()


def read_capture(s: socket.socket) -> list[Packet]:
    """The packets that arrived on a capture since it was last read."""
    out: list[Packet] = []
    while True:
        try:
            data, addr = s.recvfrom(256)
        except BlockingIOError:
            return out
        if addr[2] == PACKET_OUTGOING:
            continue
        p = parse_ipv4(data)
        if p:
            out.append(p)


def random16() -> int:
    """A random 16-bit number (the `random` module would add a few ms to every start)."""
    return int.from_bytes(os.urandom(2), "big")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def craft(
    protocol: str, src: IPv4Address, dst: IPv4Address, token: int, sport: int, port: int | None
) -> bytes:
    """The request: IP ID `token` (and ICMP echo id), TTL 64, and the probe mark of
    render.nft that its reply keeps (the TCP sequence number's top half, the payload).
    Packed by hand: three fixed headers do not need a packet library, and not importing
    one keeps `netemu probe` quick to start."""
    pseudo = src.packed + dst.packed
    if protocol == "tcp":
        # The reply acknowledges seq + 1: the low half never wraps into the mark.
        seq = nft.PROBE_SEQ_MARK | (random16() % 0xFFFF)
        head = struct.pack("!HHIIBBHHH", sport, port or 0, seq, 0, 5 << 4, TCP_SYN, 8192, 0, 0)
        csum = checksum(pseudo + struct.pack("!BBH", 0, PROTO_TCP, len(head)) + head)
        l4, proto = head[:16] + struct.pack("!H", csum) + head[18:], PROTO_TCP
    elif protocol == "udp":
        length = 8 + len(nft.PROBE_PAYLOAD)
        head = struct.pack("!HHHH", sport, port or 0, length, 0) + nft.PROBE_PAYLOAD
        csum = checksum(pseudo + struct.pack("!BBH", 0, PROTO_UDP, length) + head) or 0xFFFF
        l4, proto = head[:6] + struct.pack("!H", csum) + head[8:], PROTO_UDP
    else:
        head = struct.pack("!BBHHH", 8, 0, 0, token, 1) + nft.PROBE_PAYLOAD
        l4, proto = head[:2] + struct.pack("!H", checksum(head)) + head[4:], PROTO_ICMP
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), token, 0, path.INITIAL_TTL, proto, 0,
        src.packed, dst.packed,
    )  # fmt: skip
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + l4
