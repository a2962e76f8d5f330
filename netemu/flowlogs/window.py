"""One aggregation window: conntrack counters and logged drops become per-ENI records.

Accepted traffic comes from conntrack's counters (read and zeroed once a window, and from
each connection's end); rejected traffic from the drops that security groups and network
ACLs log (REJECT for both, ref 12.3). Conntrack counts a packet before the filter decides,
so a dropped reply of a tracked connection is taken off its ACCEPT count (ref 12.4: the
ACL-dropped ping reply gives one REJECT record and no ACCEPT for it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from netemu.flowlogs.attribute import Attributor, Direction, Side
from netemu.flowlogs.conntrack import TCP_CLOSE, TCP_ESTABLISHED, TCP_TIME_WAIT, Flow, Tuple
from netemu.flowlogs.records import Record
from netemu.model.types import Model
from netemu.probe.nflog import Packet
from netemu.probe.reason import parse_prefix
from netemu.render.nft import Drop

FIN, SYN, RST, SYN_ACK = 1, 2, 4, 18
# Drop rules that stand for a flow-log REJECT: security groups and network ACLs (ref 12.3).
REJECTING = ("security_group:", "network_acl:")

# (eni id, direction, srcaddr, dstaddr, protocol, srcport, dstport, pkt-src, pkt-dst, action)
Key = tuple[str, str, str, str, int, int, int, str, str, str]


@dataclass
class Counts:
    packets: int = 0
    bytes: int = 0
    tcp_flags: int = 0
    side: Side | None = None


@dataclass
class Window:
    """Traffic of one window, gathered from every subnet namespace."""

    model: Model
    counts: dict[Key, Counts] = field(default_factory=lambda: defaultdict(Counts))

    def _add(self, side: Side, action: str, proto: int, sport: int, dport: int,
             packets: int, size: int, flags: int) -> None:  # fmt: skip
        c = self.counts[_key(side, action, proto, sport, dport)]
        c.packets += packets
        c.bytes += size
        c.tcp_flags |= flags
        c.side = side

    def add_flow(self, at: Attributor, flow: Flow, new: bool) -> None:
        """A connection's counters since the last read; `new` when first seen now."""
        orig_flags, reply_flags = _tcp_flags(flow, new)
        for t, packets, size, flags in (
            (flow.orig, flow.orig_packets, flow.orig_bytes, orig_flags),
            (flow.reply, flow.reply_packets, flow.reply_bytes, reply_flags),
        ):
            if packets == 0 or not at.logged(flow.protocol, t.src, t.dst, t.sport, t.dport):
                continue
            sport, dport = _ports(flow.protocol, t)
            for side in at.sides(t.src, t.dst):
                self._add(side, "ACCEPT", flow.protocol, sport, dport, packets, size, flags)

    def add_drop(self, at: Attributor, prefix: str, pkt: Packet, size: int) -> None:
        """A packet a drop rule logged, with the rule's structured prefix (render.nft.Drop)."""
        drop = parse_prefix(prefix)
        if not isinstance(drop, Drop) or not drop.component.startswith(REJECTING):
            return  # route, gateway and source/destination-check drops are not flow-log REJECTs
        only: Direction | None = None
        if drop.direction in ("ingress", "egress"):
            only = "ingress" if drop.direction == "ingress" else "egress"
        sport, dport = _packet_ports(pkt)
        if not at.logged(pkt.protocol, pkt.src, pkt.dst, sport, dport):
            return
        flags = _aws_flags(pkt.tcp_flags or 0) if pkt.protocol == 6 else 0
        for side in at.sides(pkt.src, pkt.dst, only):
            self._add(side, "REJECT", pkt.protocol, sport, dport, 1, size, flags)

    def records(self, account: str, start: int, end: int) -> list[Record]:
        """The window's records; rejected packets are taken off the matching accepts."""
        out: list[Record] = []
        for key, c in self.counts.items():
            if c.side is None:
                continue
            packets, size = c.packets, c.bytes
            if key[-1] == "ACCEPT":
                rejected = self.counts.get((*key[:-1], "REJECT"))
                if rejected is not None:
                    packets -= rejected.packets
                    size -= rejected.bytes
            if packets <= 0:
                continue
            out.append(self._record(c.side, key, packets, max(size, 0), c.tcp_flags, account,
                                    start, end))  # fmt: skip
        return out

    def _record(self, side: Side, key: Key, packets: int, size: int, flags: int,
                account: str, start: int, end: int) -> Record:  # fmt: skip
        eni = side.eni
        subnet = self.model.subnets[eni.subnet]
        instance = self.model.instances.get(eni.owner) if eni.owner_kind == "instance" else None
        proto, sport, dport = key[4], key[5], key[6]
        at = Attributor(self.model, eni.subnet)
        return {
            "version": 2, "account-id": account, "interface-id": eni.id,
            "srcaddr": str(side.srcaddr), "dstaddr": str(side.dstaddr),
            "srcport": sport, "dstport": dport, "protocol": proto,
            "packets": packets, "bytes": size, "start": start, "end": end,
            "action": key[-1], "log-status": "OK",
            "vpc-id": self.model.vpcs[subnet.vpc].id, "subnet-id": subnet.id,
            "instance-id": instance.id if instance else None,  # requester-managed: - (12.5)
            "tcp-flags": flags if proto == 6 else None, "type": f"IPv{side.srcaddr.version}",
            "pkt-srcaddr": str(side.pkt_srcaddr), "pkt-dstaddr": str(side.pkt_dstaddr),
            "flow-direction": side.direction, "traffic-path": at.traffic_path(side),
        }  # fmt: skip


def _key(side: Side, action: str, proto: int, sport: int, dport: int) -> Key:
    return (side.eni.id, side.direction, str(side.srcaddr), str(side.dstaddr), proto, sport,
            dport, str(side.pkt_srcaddr), str(side.pkt_dstaddr), action)  # fmt: skip


def _ports(protocol: int, t: Tuple) -> tuple[int, int]:
    """TCP/UDP ports as they are; ICMP records carry 0 and 0 as AWS's do."""
    return (t.sport, t.dport) if protocol in (6, 17) else (0, 0)


def _packet_ports(pkt: Packet) -> tuple[int, int]:
    if pkt.protocol in (6, 17):
        return pkt.sport or 0, pkt.dport or 0
    return 0, 0


def _aws_flags(flags: int) -> int:
    """FIN, SYN, RST as they are, SYN-ACK as 18; a bare ACK or PSH is 0 (ref 12.6)."""
    out = flags & (FIN | SYN | RST)
    if flags & 0x12 == 0x12:
        out |= SYN_ACK
    return out


def _tcp_flags(flow: Flow, new: bool) -> tuple[int, int]:
    """tcp-flags of each direction, derived from conntrack's TCP state (netemu decision: the
    kernel keeps no per-packet flags): a connection first seen in this window opened with
    SYN and, once answered, SYN-ACK; one past ESTABLISHED saw FIN; CLOSE without TIME_WAIT
    means a reset."""
    if flow.protocol != 6 or flow.tcp_state is None:
        return 0, 0
    orig = reply = 0
    if new:
        orig |= SYN
        reply |= SYN_ACK if flow.seen_reply else 0
    if TCP_ESTABLISHED < flow.tcp_state <= TCP_TIME_WAIT:
        orig |= FIN
        reply |= FIN if flow.tcp_state == TCP_TIME_WAIT else 0
    elif flow.tcp_state == TCP_CLOSE:
        orig |= RST
    return orig, reply
