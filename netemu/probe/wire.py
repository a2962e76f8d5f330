"""Probe packets on the wire: crafting a marked request, and sockets inside namespaces
(raw sends, captures on an ENI). probe.engine decides what the packets mean."""

from __future__ import annotations

import random
import socket
from ipaddress import IPv4Address

from netemu.driver import netns
from netemu.probe import path
from netemu.probe.nflog import Packet, parse_ipv4
from netemu.render import names as n
from netemu.render import nft

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def in_ns(ns: str, family: int, kind: int, proto: int) -> socket.socket:
    """A socket opened inside namespace `ns` (it stays there)."""
    with netns.entered(ns):
        return socket.socket(family, kind, proto)


def capture(ns: str) -> socket.socket:
    """A non-blocking capture of IPv4 packets arriving on the ENI of namespace `ns`."""
    s = in_ns(ns, socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    s.bind((n.ENI_IF, ETH_P_IP))
    s.setblocking(False)
    return s


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


def craft(
    protocol: str, src: IPv4Address, dst: IPv4Address, token: int, sport: int, port: int | None
) -> bytes:
    """The request: IP ID `token` (and ICMP echo id), TTL 64, and the probe mark of
    render.nft that its reply keeps (the TCP sequence number's top half, the payload)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP

    ip = IP(src=str(src), dst=str(dst), id=token, ttl=path.INITIAL_TTL)
    if protocol == "tcp":
        # The reply acknowledges seq + 1: the low half never wraps into the mark.
        seq = nft.PROBE_SEQ_MARK | random.randrange(0, 0xFFFF)
        return bytes(ip / TCP(sport=sport, dport=port, flags="S", seq=seq))
    if protocol == "udp":
        return bytes(ip / UDP(sport=sport, dport=port) / nft.PROBE_PAYLOAD)
    return bytes(ip / ICMP(type=8, id=token, seq=1) / nft.PROBE_PAYLOAD)
