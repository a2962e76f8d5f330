"""Builders for libnftables JSON commands: scenario values become JSON strings, never rule text.

nft's text parser treats many short words as keywords (a chain called `fwd` is a syntax
error), and rule text built from scenario strings would be an injection path; the JSON
API avoids both (architecture.md 4 and 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import Any

from netemu.render.names import NFT_TABLE

Json = dict[str, Any]
Expr = Any

FAMILY = "inet"
ACCEPT: Json = {"accept": None}
DROP: Json = {"drop": None}
RETURN: Json = {"return": None}
COUNTER: Json = {"counter": None}


def add_table() -> Json:
    return {"add": {"table": {"family": FAMILY, "name": NFT_TABLE}}}


def add_chain(name: str, hook: str | None = None, priority: int = 0, kind: str = "filter") -> Json:
    chain: Json = {"family": FAMILY, "table": NFT_TABLE, "name": name}
    if hook:
        chain.update(type=kind, hook=hook, prio=priority, policy="accept")
    return {"add": {"chain": chain}}


def add_rule(chain: str, *exprs: Expr, comment: str | None = None) -> Json:
    rule: Json = {"family": FAMILY, "table": NFT_TABLE, "chain": chain, "expr": list(exprs)}
    if comment:
        rule["comment"] = comment[:127]  # the kernel keeps at most 128 bytes of comment
    return {"add": {"rule": rule}}


# Every drop that stands for an AWS rule is logged to this NFLOG group, and so is every
# probe packet entering a namespace with AWS rules (`probe_hops`): a probe learns where its
# packet was seen and which rule dropped it the moment it happens.
DROP_LOG_GROUP = 17
# Log prefixes are structured, never prose (probe.reason reads them field by field):
# "ne1|CODE|DIRECTION|RULE|COMPONENT" for a drop, "ne1|HOP" for a probe packet seen.
PREFIX_VERSION = "ne1"
HOP_PREFIX = f"{PREFIX_VERSION}|HOP"
LOG_PREFIX_MAX = 127  # the kernel keeps 128 bytes, NUL included
# Probe packets carry these marks, and so do their replies: the top half of the TCP sequence
# number (a SYN-ACK or RST acknowledges sequence + 1, which keeps it), the first four bytes
# of a UDP or ICMP echo payload (echoed back). NAT rewrites neither.
PROBE_SEQ_MARK = 0x4E45 << 16
PROBE_SEQ_MASK = 0xFFFF0000
PROBE_PAYLOAD = b"netemu probe"
PROBE_PAYLOAD_MARK = int.from_bytes(PROBE_PAYLOAD[:4], "big")


# VPC Flow Logs (netemu.flowlogs) hear every drop on a group of their own, so their
# collector never competes with a probe for DROP_LOG_GROUP. With nobody bound to it the
# kernel discards the copy at once, so scenarios without flow logs pay nothing for it.
FLOW_LOG_GROUP = 18


@dataclass(frozen=True)
class Drop:
    """What an AWS refusal is, carried by the rule that enacts it (ref 13.2): the
    Reachability Analyzer code, the AWS component, the direction and the rule (an ACL rule
    number, a security group's ID, a route's destination)."""

    code: str
    component: str
    direction: str | None = None  # "ingress" | "egress"
    rule: str | None = None

    def prefix(self) -> str:
        fields = [PREFIX_VERSION, self.code, self.direction or "", self.rule or ""]
        head = "|".join(fields) + "|"
        return head + self.component[: LOG_PREFIX_MAX - len(head)]


def add_drop(chain: str, *exprs: Expr, why: str, drop: Drop) -> Json:
    """A rule that drops what `exprs` match: `why` in words in its comment, `drop` in its
    log prefix for probes."""
    log = {"log": {"prefix": drop.prefix(), "group": DROP_LOG_GROUP}}
    flow_log = {"log": {"prefix": drop.prefix(), "group": FLOW_LOG_GROUP}}
    return add_rule(chain, *exprs, COUNTER, log, flow_log, DROP, comment=why)


def probe_hops() -> list[Json]:
    """A chain that logs (never drops) every probe packet entering the namespace, before any
    other rule, so a probe's hops are places its packet was seen."""
    log = {"log": {"prefix": HOP_PREFIX, "group": DROP_LOG_GROUP}}
    tcp = match(meta("l4proto"), "tcp")
    return [
        add_chain("probe_hops", "prerouting", -300),
        add_rule(
            "probe_hops",
            tcp,
            match({"&": [payload("tcp", "sequence"), PROBE_SEQ_MASK]}, PROBE_SEQ_MARK),
            log,
            comment="probe request seen here",
        ),
        add_rule(
            "probe_hops",
            tcp,
            match({"&": [payload("tcp", "ackseq"), PROBE_SEQ_MASK]}, PROBE_SEQ_MARK),
            log,
            comment="probe reply seen here",
        ),
        add_rule(
            "probe_hops",
            match(meta("l4proto"), anon_set(["udp", "icmp"])),
            match({"payload": {"base": "th", "offset": 64, "len": 32}}, PROBE_PAYLOAD_MARK),
            log,
            comment="probe datagram or echo seen here",
        ),
    ]


def add_set(name: str, kind: str | list[str], elements: list[Expr], interval: bool) -> Json:
    s: Json = {"family": FAMILY, "table": NFT_TABLE, "name": name, "type": kind}
    if interval:
        s["flags"] = ["interval"]
    if elements:
        s["elem"] = elements
    return {"add": {"set": s}}


def add_map(name: str, key: str, value: str, pairs: list[tuple[str, str]]) -> Json:
    m: Json = {"family": FAMILY, "table": NFT_TABLE, "name": name, "type": key, "map": value}
    if pairs:
        m["elem"] = [[k, v] for k, v in pairs]
    return {"add": {"map": m}}


def match(left: Expr, right: Expr, op: str = "==") -> Json:
    return {"match": {"op": op, "left": left, "right": right}}


def meta(key: str) -> Json:
    return {"meta": {"key": key}}


def payload(protocol: str, field: str) -> Json:
    return {"payload": {"protocol": protocol, "field": field}}


def anon_set(elements: list[Expr]) -> Json:
    return {"set": elements}


def one_or_set(addresses: Sequence[IPv4Address]) -> Expr:
    """One address as itself, several as an anonymous set (an ENI's private IPs, 9.21)."""
    if len(addresses) == 1:
        return str(addresses[0])
    return anon_set([str(a) for a in addresses])


def ref(set_name: str) -> str:
    return f"@{set_name}"


def prefix(net: IPv4Network | IPv6Network) -> Expr:
    """A CIDR as an nft value; a /32 (or IPv6 /128) is a plain address."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}


def prefixes(nets: tuple[IPv4Network, ...]) -> Expr:
    """One CIDR as `prefix` gives it; several as an anonymous set of them."""
    if len(nets) == 1:
        return prefix(nets[0])
    return anon_set([prefix(n) for n in nets])


def port_range(ports: tuple[int, int]) -> Expr:
    lo, hi = ports
    return lo if lo == hi else {"range": [lo, hi]}


def jump(chain: str) -> Json:
    return {"jump": {"target": chain}}


def vmap(key: Expr, pairs: list[tuple[Expr, Json]]) -> Json:
    return {"vmap": {"key": key, "data": {"set": [[k, v] for k, v in pairs]}}}


def ct_state(*states: str) -> Json:
    return match({"ct": {"key": "state"}}, list(states) if len(states) > 1 else states[0], "in")


def fib_no_route(policy: bool = True) -> Json:
    """Matches when the kernel's route lookup for this packet finds no usable route (no
    route at all, or a blackhole/unreachable one). With `policy`, the lookup carries the
    packet's mark, so fwmark policy rules apply as they do for the packet itself.

    Two kernel facts shape this: `fib ... type` reports address types from the local
    table only, so it never sees a blackhole route; and `fib daddr . iif` restricts the
    lookup to routes *out of* the input interface (the rp-filter idiom), so policy rules
    keyed on the input interface cannot be reproduced with it. Hence marks."""
    flags = ["daddr", "mark"] if policy else ["daddr"]
    return match({"fib": {"result": "oif", "flags": flags}}, False)


def fib_local() -> Json:
    """Matches packets addressed to this namespace itself (an address on one of its
    interfaces). `fib_no_route` finds no route for those, since they are delivered, not
    routed, so rules that drop with it must let them pass first."""
    return match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")


def set_mark_by_iif(pairs: list[tuple[str, int]]) -> Json:
    """meta mark set iifname map { "s0" : 1, ... }: one lookup, however many interfaces."""
    table = {"map": {"key": meta("iifname"), "data": {"set": [[k, v] for k, v in pairs]}}}
    return {"mangle": {"key": meta("mark"), "value": table}}


def nat_map(kind: str, field: str, map_name: str) -> Json:
    """snat|dnat ip to ip saddr|daddr map @map_name: 1:1 translation by a map."""
    key = payload("ip", field)
    return {kind: {"family": "ip", "addr": {"map": {"key": key, "data": ref(map_name)}}}}


PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp"}


def traffic(
    protocol: int, ports: tuple[int, int] | None, icmp_type: int | None, icmp_code: int | None
) -> list[Json]:
    """Matches for an AWS rule's traffic fields, shared by security groups and network ACLs:
    protocol -1 is everything; ports only for TCP/UDP; ICMP type and code, -1 = any."""
    if protocol == -1:
        return []
    out = [match(meta("l4proto"), PROTO_NAMES.get(protocol, protocol))]
    if protocol in (6, 17) and ports:
        out.append(match(payload("th", "dport"), port_range(ports)))
    if protocol == 1 and icmp_type is not None and icmp_type >= 0:
        out.append(match(payload("icmp", "type"), icmp_type))
        if icmp_code is not None and icmp_code >= 0:
            out.append(match(payload("icmp", "code"), icmp_code))
    if protocol == 58 and icmp_type is not None and icmp_type >= 0:  # ICMPv6 (ref 16.6)
        out.append(match(payload("icmpv6", "type"), icmp_type))
        if icmp_code is not None and icmp_code >= 0:
            out.append(match(payload("icmpv6", "code"), icmp_code))
    return out


def add_counter(name: str) -> Json:
    """A named counter object: rules count into it by name, `netemu status` reads it."""
    return {"add": {"counter": {"family": FAMILY, "table": NFT_TABLE, "name": name}}}


def add_packet_set(name: str, kind: list[str], size: int) -> Json:
    """A set the packet path fills (`add @set { key ct count over N }`): it needs a size."""
    s: Json = {"family": FAMILY, "table": NFT_TABLE, "name": name, "type": kind, "size": size}
    return {"add": {"set": s}}


def in_order(blocks: Sequence[tuple[int, Sequence[Json]]]) -> list[Json]:
    """The commands of `blocks`, block by block in the order of their keys (a stable sort:
    blocks of equal keys keep theirs)."""
    return [cmd for _, block in sorted(blocks, key=lambda b: b[0]) for cmd in block]
