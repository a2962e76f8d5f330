"""Turns the name of the drop rule that took a probe's packet into a Reachability Analyzer
style reason (ref 13.2, 13.3): code, direction, component, rule, and which leg died."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from netemu.model.types import Model
from netemu.probe.endpoints import Endpoint, vpc_of_address
from netemu.probe.nflog import Packet


@dataclass(frozen=True)
class Reason:
    code: str
    direction: str | None  # "ingress" | "egress"
    component: str  # e.g. "network_acl:db"
    rule: str | None  # NACL number or "*", SG rule, route destination
    leg: Literal["request", "reply"]
    detail: str  # the kernel rule's own name
    packet: dict[str, str] | None = None  # addresses of the dropped packet where it died

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def from_drop(
    name: str,
    leg: Literal["request", "reply"],
    model: Model,
    src: Endpoint,
    dst: Endpoint,
    packet: Packet | None = None,
) -> Reason:
    reason = _classify(name, leg, model, src, dst)
    if packet is None:
        return reason
    return replace(reason, packet={"src": str(packet.src), "dst": str(packet.dst)})


def _classify(
    name: str, leg: Literal["request", "reply"], model: Model, src: Endpoint, dst: Endpoint
) -> Reason:
    """`name` is a drop rule's comment, "<kind>:<object> <words…>" (render.nft.add_drop)."""
    head, _, rest = name.partition(" ")
    kind = head.split(":", 1)[0]
    words = rest.split()
    direction = words[0] if words and words[0] in ("ingress", "egress") else None
    dst_vpc = vpc_of_address(model, dst.ip)
    cross_vpc = src.vpc is not None and dst_vpc is not None and dst_vpc != src.vpc

    def reason(code: str, rule: str | None = None, d: str | None = direction) -> Reason:
        return Reason(code, d, head, rule, leg, name)

    if kind == "network_acl":
        rule = words[2] if len(words) > 2 and words[1] == "rule" else None
        return reason("SUBNET_ACL_RESTRICTION", rule)
    if kind == "security_group":
        return reason("ENI_SG_RULES_MISMATCH")
    if kind == "eni":
        return reason("ENI_SOURCE_DEST_CHECK_RESTRICTION")
    if kind == "instance":
        return reason("INSTANCE_STOPPED", d=None)
    if kind == "nat_gateway" and "route loop" in rest:
        nat = model.nat_gateways.get(head.partition(":")[2])
        table = model.subnets[nat.subnet].route_table if nat else "?"
        return Reason("NO_ROUTE_TO_DESTINATION", "egress", f"route_table:{table}", None, leg, name)
    if kind == "nat_gateway":
        return reason("NAT_GATEWAY_NO_INBOUND", d="ingress")
    if kind == "route_table":
        if cross_vpc:
            return reason("DISCONNECTED_VPCS", d="egress")
        if "blackhole" in words:
            return reason("BAD_STATE_ROUTE", words[1] if len(words) > 1 else None, d="egress")
        return reason("NO_ROUTE_TO_DESTINATION", d="egress")
    if kind == "internet_gateway":
        if cross_vpc:
            return reason("DISCONNECTED_VPCS")
        if direction == "egress" and "no public IP" in rest:
            return reason("IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS")
        if direction == "ingress" and "no public IP" in rest:
            return reason("IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS")
        return reason("NO_ROUTE_TO_DESTINATION")
    if kind == "internet":
        # Only public addresses are announced on the internet: a packet to an address of a
        # VPC that no public IP stands for dies here, before any internet gateway.
        if dst_vpc is not None:
            igw = model.igw_of(dst_vpc)
            component = f"internet_gateway:{igw.name}" if igw else f"vpc:{dst_vpc}"
            code = (
                "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS" if src.vpc is None else "DISCONNECTED_VPCS"
            )
            return Reason(code, "ingress", component, None, leg, name)
        return reason("NO_ROUTE_TO_DESTINATION", d="egress")
    if kind == "subnet":
        return reason("NO_ROUTE_TO_DESTINATION", d="egress")
    return reason("NO_ROUTE_TO_DESTINATION")
