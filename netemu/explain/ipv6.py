"""The static answer for an IPv6 probe: the dual-stack rules walked from the model alone.

The same stages as the kernel's IPv6 path (render.ipv6, render.ipv6_rules): the source's
security groups, its subnet's network ACL and route table, the internet gateway (no
translation, 16.4) or the egress-only gateway (outbound-only, 16.5), the destination's
ACL and groups; then the reply, which the groups admit by state (7.10) and the ACLs and
route tables judge again. A probe's TCP source port is the kernel's choice; the reply is
judged from a port of the middle of the client range (noted when an ACL could care).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Literal

from netemu.explain.hop import Hop
from netemu.explain.result import StaticResult
from netemu.model.types import PROTO_ALL, Eni, Model, Route6, Subnet
from netemu.probe.engine import ProbeSpec
from netemu.probe.ipv6 import DETAIL, address_of
from netemu.probe.reason import Reason

ECHO_REQUEST, ECHO_REPLY = 128, 129
CLIENT_PORT = 50000  # a port of the kernel's client range, for judging replies


@dataclass(frozen=True)
class _Packet:
    src: IPv6Address
    dst: IPv6Address
    proto: int  # 6, 17 or 58
    dport: int | None  # TCP or UDP destination port
    icmp_type: int | None


class _Blocked(Exception):
    def __init__(self, reason: Reason) -> None:
        self.reason = reason


def explain(model: Model, spec: ProbeSpec) -> StaticResult:
    src_ip, dst_ip = (
        IPv6Address(address_of(model, spec.source)),
        IPv6Address(address_of(model, spec.destination)),
    )
    src, dst = _eni_of(model, src_ip), _eni_of(model, dst_ip)
    ported = spec.protocol in ("tcp", "udp")
    proto = {"tcp": 6, "udp": 17}.get(spec.protocol, 58)
    request = _Packet(src_ip, dst_ip, proto, spec.port, None if ported else ECHO_REQUEST)
    reply = _Packet(dst_ip, src_ip, proto, CLIENT_PORT, None if ported else ECHO_REPLY)
    forward: list[Hop] = []
    back: list[Hop] = []
    reason = None
    try:
        _leg(model, request, src, dst, "request", forward, stateful_at_source=False)
        _leg(model, reply, dst, src, "reply", back, stateful_at_source=True)
    except _Blocked as b:
        reason = b.reason
    result: Literal["reachable", "blocked"] = "blocked" if reason else "reachable"
    return StaticResult(
        spec=spec,
        src_ip=str(src_ip),
        dst_ip=str(dst_ip),
        result=result,
        seen_source=str(src_ip) if reason is None or reason.leg == "reply" else None,
        seen_port=None,
        reason=reason,
        hops=[h.component for h in forward + back],
        elapsed_ms=0,
        forward_path=forward,
        return_path=back,
        notes=[f"replies are judged from client port {CLIENT_PORT}"] if ported else [],
    )


def _pkt(p: _Packet) -> dict[str, str]:
    return {"src": str(p.src), "dst": str(p.dst)}


def _eni_of(model: Model, ip: IPv6Address) -> Eni | None:
    return next((e for e in model.enis() if e.ipv6_address == ip), None)


def _leg(
    model: Model,
    p: _Packet,
    sender: Eni | None,
    receiver: Eni | None,
    leg: Literal["request", "reply"],
    hops: list[Hop],
    stateful_at_source: bool,
) -> None:
    out_sub = model.subnets[sender.subnet] if sender else None
    in_sub = model.subnets[receiver.subnet] if receiver else None
    if sender and not stateful_at_source:
        _groups(model, sender, p, "egress", leg)
    if out_sub is None or in_sub is None or out_sub.name != in_sub.name:
        if out_sub is not None:
            _acl(model, out_sub, p, "egress", leg)
            hops.append(Hop(f"network_acl:{out_sub.network_acl}"))
            _route(model, out_sub, p, leg, hops)
        else:
            _from_internet(model, p, leg, hops)
        if in_sub is not None:
            _acl(model, in_sub, p, "ingress", leg)
            hops.append(Hop(f"network_acl:{in_sub.network_acl}"))
    if receiver and leg == "request":
        _groups(model, receiver, p, "ingress", leg)
        hops.append(Hop(f"eni:{receiver.owner}", receiver.id))


def _traffic(proto: int, ports: tuple[int, int] | None, icmp_type: int | None, p: _Packet) -> bool:
    if proto == PROTO_ALL:
        return True
    if proto != p.proto:
        return False
    if proto in (6, 17):
        return ports is None or p.dport is None or ports[0] <= p.dport <= ports[1]
    if proto == 58:
        return icmp_type in (None, -1) or icmp_type == p.icmp_type
    return True


def _groups(
    model: Model, eni: Eni, p: _Packet, direction: str, leg: Literal["request", "reply"]
) -> None:
    peer = p.src if direction == "ingress" else p.dst
    groups = [model.security_groups[g] for g in eni.security_groups]
    for g in groups:
        for r in g.ingress if direction == "ingress" else g.egress:
            if not _traffic(r.protocol, r.ports, r.icmp_type, p):
                continue
            if r.cidr_ipv6 is not None and peer in r.cidr_ipv6:
                return
            if r.security_group is not None and any(
                e.ipv6_address == peer and r.security_group in e.security_groups
                for e in model.enis()
            ):
                return
            if r.prefix_list and model.prefix_lists[r.prefix_list].holds(peer):
                return  # 19.3
    names = ",".join(g.name for g in groups) or "(none)"
    raise _Blocked(
        Reason(
            "ENI_SG_RULES_MISMATCH",
            direction,
            f"security_group:{names}",
            ",".join(g.id for g in groups) or None,
            leg,
            "no IPv6 rule of the security groups admits it",
            packet=_pkt(p),
            origin="model",
        )
    )


def _acl(
    model: Model, sub: Subnet, p: _Packet, direction: str, leg: Literal["request", "reply"]
) -> None:
    acl = model.network_acls[sub.network_acl]
    peer = p.src if direction == "ingress" else p.dst
    for r in acl.ingress_ipv6 if direction == "ingress" else acl.egress_ipv6:
        if peer in r.cidr and _traffic(r.protocol, r.ports, r.icmp_type, p):
            if r.action == "allow":
                return
            number = str(r.number)
            break
    else:
        number = "*"
    raise _Blocked(
        Reason(
            "SUBNET_ACL_RESTRICTION",
            direction,
            f"network_acl:{acl.name}",
            number,
            leg,
            f"IPv6 entry {number} denies it",
            packet=_pkt(p),
            origin="model",
        )
    )


def _route(
    model: Model, sub: Subnet, p: _Packet, leg: Literal["request", "reply"], hops: list[Hop]
) -> None:
    table = model.route_tables[sub.route_table]
    matches = [r for r in table.ipv6_routes if p.dst in r.destination]
    best: Route6 | None = max(matches, key=lambda r: r.destination.prefixlen, default=None)
    component = f"route_table:{table.name}"
    hops.append(Hop(component, table.id))

    def blocked(code: str, why: str, rule: str | None = None) -> _Blocked:
        return _Blocked(
            Reason(code, "egress", component, rule, leg, why, packet=_pkt(p), origin="model")
        )

    if best is None:
        raise blocked("NO_ROUTE_TO_DESTINATION", "no IPv6 route applies")
    if best.target_kind == "blackhole":
        raise blocked("BAD_STATE_ROUTE", "a blackhole route", str(best.destination))
    if best.target_kind == "local":
        if not any(s.ipv6_cidr and p.dst in s.ipv6_cidr for s in model.subnets.values()):
            raise blocked("NO_ROUTE_TO_DESTINATION", "no subnet holds the address")
        return
    if best.target_kind == "internet_gateway":
        hops.append(Hop(f"internet_gateway:{best.target}"))
    elif best.target_kind == "egress_only_internet_gateway":
        component = f"egress_only_internet_gateway:{best.target}"
        # The reply of a connection that came in from the internet (16.5). A UDP reply is
        # a datagram like any the VPC starts, so the gateway lets it out (aws-decisions);
        # a TCP SYN-ACK or an echo reply starts nothing.
        if leg == "reply" and p.proto != 17:
            raise _Blocked(
                Reason(
                    "NO_POSSIBLE_DESTINATION",
                    "ingress",
                    component,
                    "inbound-initiated IPv6",
                    leg,
                    DETAIL["NO_POSSIBLE_DESTINATION"],
                    packet=_pkt(p),
                    origin="model",
                )
            )
        hops.append(Hop(component))


def _from_internet(
    model: Model, p: _Packet, leg: Literal["request", "reply"], hops: list[Hop]
) -> None:
    """From the internet into a VPC: through its internet gateway as it is (16.4), else
    an egress-only gateway, which refuses what the internet starts (16.5)."""
    vpc = next((v for v in model.vpcs.values() if v.ipv6_cidr and p.dst in v.ipv6_cidr), None)
    if vpc is None:
        return  # between internet hosts
    igw = model.igw_of(vpc.name)
    if igw is not None:
        hops.append(Hop(f"internet_gateway:{igw.name}", igw.id))
        return
    eigw = next(
        (g for g in model.egress_only_internet_gateways.values() if g.vpc == vpc.name), None
    )
    if eigw is not None and leg == "request":
        raise _Blocked(
            Reason(
                "NO_POSSIBLE_DESTINATION",
                "ingress",
                f"egress_only_internet_gateway:{eigw.name}",
                "inbound-initiated IPv6",
                leg,
                DETAIL["NO_POSSIBLE_DESTINATION"],
                packet=_pkt(p),
                origin="model",
            )
        )
    if eigw is not None:
        hops.append(Hop(f"egress_only_internet_gateway:{eigw.name}", eigw.id))
        return
    raise _Blocked(
        Reason(
            "NO_ROUTE_TO_DESTINATION",
            None,
            "internet",
            None,
            leg,
            "nothing announces the VPC",
            packet=_pkt(p),
            origin="model",
        )
    )
