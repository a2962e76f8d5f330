"""The packet the static walker carries, and the traffic match AWS rules share.

`matches_traffic` is the model-side twin of render.nft.traffic: the same protocol, port and
ICMP type/code semantics that security groups and network ACLs apply (ref 7.5, 8.8).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from netemu.model.types import PROTO_ALL, PROTO_ICMP, PROTO_TCP, PROTO_UDP

PROTOCOLS = {"tcp": PROTO_TCP, "udp": PROTO_UDP, "icmp": PROTO_ICMP}
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0


@dataclass(frozen=True)
class Packet:
    """An IPv4 packet as a rule sees it. For ICMP, sport and dport both hold the echo id."""

    src: IPv4Address
    dst: IPv4Address
    protocol: int
    sport: int
    dport: int
    icmp_type: int | None = None
    syn: bool = False  # a TCP connection request (the probe's request)
    rst: bool = False  # a TCP reset (the answer of a closed port)

    @property
    def opens(self) -> bool:
        """Can this packet start a tracked connection? Linux conntrack (and with it every
        translating place in netemu) takes only a TCP SYN, any UDP datagram or an ICMP echo
        request as the first packet of a flow."""
        if self.protocol == PROTO_TCP:
            return self.syn
        if self.protocol == PROTO_ICMP:
            return self.icmp_type == ICMP_ECHO_REQUEST
        return True

    @property
    def flow(self) -> tuple[IPv4Address, IPv4Address, int, int, int]:
        return (self.src, self.dst, self.protocol, self.sport, self.dport)

    def reversed_flow(self) -> tuple[IPv4Address, IPv4Address, int, int, int]:
        return (self.dst, self.src, self.protocol, self.dport, self.sport)

    def reply(self, listening: bool = True) -> Packet:
        """What the destination sends back (TCP SYN-ACK, or RST from a closed port; UDP
        echo; ICMP echo reply)."""
        icmp = ICMP_ECHO_REPLY if self.protocol == PROTO_ICMP else None
        rst = self.protocol == PROTO_TCP and not listening
        return Packet(self.dst, self.src, self.protocol, self.dport, self.sport, icmp, rst=rst)

    def with_source(self, src: IPv4Address, sport: int | None = None) -> Packet:
        return replace(self, src=src, sport=self.sport if sport is None else sport)

    def with_destination(self, dst: IPv4Address, dport: int | None = None) -> Packet:
        return replace(self, dst=dst, dport=self.dport if dport is None else dport)

    def describe(self) -> str:
        if self.protocol == PROTO_ICMP:
            what = "echo-request" if self.icmp_type == ICMP_ECHO_REQUEST else "echo-reply"
            return f"{self.src} -> {self.dst} icmp {what}"
        name = {PROTO_TCP: "tcp", PROTO_UDP: "udp"}.get(self.protocol, str(self.protocol))
        return f"{self.src}:{self.sport} -> {self.dst}:{self.dport} {name}"


def matches_traffic(
    protocol: int,
    ports: tuple[int, int] | None,
    icmp_type: int | None,
    icmp_code: int | None,
    p: Packet,
) -> bool:
    """Protocol -1 is everything; ports only for TCP/UDP; ICMP type and code, -1 = any."""
    if protocol == PROTO_ALL:
        return True
    if protocol != p.protocol:
        return False
    if protocol in (PROTO_TCP, PROTO_UDP) and ports:
        return ports[0] <= p.dport <= ports[1]
    if protocol == PROTO_ICMP and icmp_type is not None and icmp_type >= 0:
        if p.icmp_type != icmp_type:
            return False
        # Echo request and reply both have code 0.
        return icmp_code is None or icmp_code < 0 or icmp_code == 0
    return True
