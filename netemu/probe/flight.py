"""One probe in flight (what has been seen of it so far) and the index that finds the flight
a logged or captured packet belongs to without scanning every flight (probe.engine).

A request is recognised by its IP ID (the probe's token, which NAT leaves alone); a reply
by the ports or ICMP echo id it carries back, which are the source's own or, once the
destination's capture saw the request, the ones NAT gave it. With thousands of probes in
one batch, matching each log line against every flight cost O(lines x flights); the index
makes it one dictionary look-up.
"""

from __future__ import annotations

import socket
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from netemu.probe import hops
from netemu.probe.endpoints import Endpoint
from netemu.probe.nflog import Packet
from netemu.render import nft

if TYPE_CHECKING:
    from netemu.probe.engine import ProbeSpec

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
TCP_RST, TCP_ACK = 0x04, 0x10


@dataclass
class Flight:
    spec: ProbeSpec
    src: Endpoint
    dst: Endpoint
    token: int  # IP ID of the request, and ICMP echo id
    sport: int
    sent_at: float = 0.0
    arrived: Packet | None = None
    reply: Packet | None = None
    drop: tuple[nft.Drop, Literal["request", "reply"], str, Packet] | None = None  # leg, ns
    seen: list[hops.Sighting] = field(default_factory=list)
    done_at: float = 0.0
    extra: list[socket.socket] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.proto = PROTOCOLS[self.spec.protocol]

    def is_request(self, p: Packet) -> bool:
        if p.protocol != self.proto or p.ip_id != self.token:
            return False
        if self.proto == 1:
            return p.icmp_type == 8
        return p.dport == self.spec.port

    def is_reply(self, p: Packet) -> bool:
        if p.protocol != self.proto:
            return False
        if self.proto == 1:
            ids = {self.token, self.arrived.icmp_id if self.arrived else None}
            return p.icmp_type == 0 and p.icmp_id in ids
        ports = {self.sport, self.arrived.sport if self.arrived else None}
        if p.sport != self.spec.port or p.dport not in ports:
            return False
        return self.proto == 17 or bool((p.tcp_flags or 0) & (TCP_RST | TCP_ACK))

    @property
    def decided(self) -> bool:
        return self.reply is not None or self.drop is not None


ReplyKey = tuple[int, int | None, int]


def reply_key(proto: int, port: int | None, local: int | None) -> ReplyKey:
    """Replies are looked up by (protocol, the probed port, the source's port or echo id)."""
    return (proto, None if proto == 1 else port, local or 0)


def key_of_reply(p: Packet) -> ReplyKey:
    """The look-up key of a packet read as a reply."""
    if p.protocol == 1:
        return reply_key(1, None, p.icmp_id)
    return reply_key(p.protocol, p.sport, p.dport)


class Flights:
    """The flights of one batch, indexed by the keys their packets carry."""

    def __init__(self, flights: list[Flight]) -> None:
        self.all = flights
        self._requests: dict[tuple[int, int], list[Flight]] = defaultdict(list)
        self._replies: dict[ReplyKey, list[Flight]] = defaultdict(list)
        for f in flights:
            self._requests[(f.proto, f.token)].append(f)
            local = f.token if f.proto == 1 else f.sport
            self._replies[reply_key(f.proto, f.spec.port, local)].append(f)
        self.undecided = len(flights)
        self.progress = 0  # sightings and arrivals of undecided flights, for patience

    def requested(self, p: Packet) -> Flight | None:
        """The flight whose request `p` is."""
        for f in self._requests.get((p.protocol, p.ip_id), ()):
            if f.is_request(p):
                return f
        return None

    def replied(self, p: Packet) -> list[Flight]:
        """The flights `p` may be the reply of (ports are reused across flights)."""
        return [f for f in self._replies.get(key_of_reply(p), ()) if f.is_reply(p)]

    def arrive(self, f: Flight, p: Packet) -> ReplyKey:
        """The destination saw the request: NAT may have given it other ports to reply to.
        Returns the key its replies carry from now on."""
        f.arrived = p
        local = p.icmp_id if f.proto == 1 else p.sport
        key = reply_key(f.proto, f.spec.port, local)
        if f not in self._replies[key]:
            self._replies[key].append(f)
        if not f.decided:
            self.progress += 1
        return key

    def saw(self, f: Flight, sighting: hops.Sighting) -> None:
        f.seen.append(sighting)
        if not f.decided:
            self.progress += 1

    def decide(self, f: Flight) -> None:
        """Called once, when `f` got its reply or its drop."""
        self.undecided -= 1
        self.progress -= len(f.seen) + (f.arrived is not None)
