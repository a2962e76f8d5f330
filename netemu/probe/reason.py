"""Why a probe's packet was dropped: read from the structured log prefix the dropping rule
carries (render.nft.Drop), looked up, never parsed from words (ref 13.2, 13.3).

Codes are Reachability Analyzer explanation codes. One refinement comes from the model, and
is labelled `"origin": "model"`: a packet that found no route (or hit an internet gateway or
the emulated internet) towards an address of another VPC is reported as `DISCONNECTED_VPCS`
(or, from the internet, `IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS` at that VPC's gateway),
because which VPC an address belongs to is configuration, not something the dropping rule
sees. Everything else is `"origin": "rule"`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from netemu.model.types import Model
from netemu.probe.endpoints import Endpoint, vpc_of_address
from netemu.probe.nflog import Packet
from netemu.render.nft import HOP_PREFIX, PREFIX_VERSION, Drop

# Old names accepted in `reason:` expectations (contract 6.3), with the codes they stand for
# and the kind of component that must have dropped the packet.
ALIASES: dict[str, tuple[frozenset[str], str]] = {
    "NAT_GATEWAY_NO_INBOUND": (
        frozenset({"NO_POSSIBLE_DESTINATION", "NGW_REQUIRES_SOURCE_IN_VPC"}),
        "nat_gateway",
    ),
    "INSTANCE_STOPPED": (frozenset({"BAD_STATE"}), "instance"),
}

# What each code means, in netemu's words (docs/aws-reference.md 13.3).
MEANING = {
    "NO_ROUTE_TO_DESTINATION": "the route table has no usable route to the destination",
    "BAD_STATE_ROUTE": "the route that matches is a blackhole",
    "BAD_STATE": "the component is not in a functional state",
    "SUBNET_ACL_RESTRICTION": "the subnet's network ACL does not admit the packet",
    "ENI_SG_RULES_MISMATCH": "no security group rule admits the packet",
    "ENI_SOURCE_DEST_CHECK_RESTRICTION": "the ENI's source/destination check",
    "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS": "the source has no public IP",
    "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS": "the destination is not a public IP of the VPC",
    "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS": "an internet gateway refuses private sources",
    "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS": "an internet gateway refuses private "
    "destinations",
    "NGW_REQUIRES_SOURCE_IN_VPC": "a NAT gateway forwards only connections from its VPC",
    "NO_POSSIBLE_DESTINATION": "a NAT gateway answers nothing addressed to itself",
    "PROTOCOL_RESTRICTION": "a NAT gateway carries only TCP, UDP and ICMP",
    "DISCONNECTED_VPCS": "the destination is in a VPC that nothing connects to the source's",
    "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR": "a peering connection carries only traffic for "
    "addresses of the peer VPC",
    "TGW_RTB_CANNOT_ROUTE": "the transit gateway route table has no route to the destination",
    "TGW_RTB_BAD_STATE_ROUTE": "the transit gateway route that matches is a blackhole",
    "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION": "the transit gateway attachment the packet came "
    "in on is associated with no route table",
    "TGW_ROUTE_AZ_RESTRICTION": "the transit gateway has no attachment subnet in the "
    "Availability Zone the packet comes from",
}


@dataclass(frozen=True)
class Reason:
    code: str
    direction: str | None  # "ingress" | "egress"
    component: str  # e.g. "network_acl:db"
    rule: str | None  # NACL number or "*", security group IDs, route destination
    leg: Literal["request", "reply"]
    detail: str  # what the code means here
    packet: dict[str, str] | None = None  # addresses of the dropped packet where it died
    origin: Literal["rule", "model"] = "rule"  # who decided the code (module docstring)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_prefix(prefix: str) -> Drop | Literal["hop"] | None:
    """The structured content of a netemu log prefix; None for anything else."""
    if prefix == HOP_PREFIX:
        return "hop"
    fields = prefix.split("|", 4)
    if len(fields) != 5 or fields[0] != PREFIX_VERSION or not fields[1] or not fields[4]:
        return None
    _, code, direction, rule, component = fields
    return Drop(code, component, direction or None, rule or None)


def from_drop(
    drop: Drop,
    leg: Literal["request", "reply"],
    model: Model,
    src: Endpoint,
    dst: Endpoint,
    packet: Packet | None = None,
) -> Reason:
    reason = Reason(
        drop.code,
        drop.direction,
        drop.component,
        drop.rule,
        leg,
        MEANING.get(drop.code, drop.code),
    )
    reason = _refine(reason, model, src, dst)
    if packet is None:
        return reason
    return replace(reason, packet={"src": str(packet.src), "dst": str(packet.dst)})


def _refine(r: Reason, model: Model, src: Endpoint, dst: Endpoint) -> Reason:
    """The model-derived codes of the module docstring."""
    kind = r.component.partition(":")[0]
    dst_vpc = vpc_of_address(model, dst.ip)
    if dst_vpc is None or kind not in ("route_table", "internet_gateway", "internet"):
        return r
    if r.code not in (
        "NO_ROUTE_TO_DESTINATION",
        "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
        "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS",
        "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS",
        "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
    ):
        return r
    if src.vpc is not None and (
        dst_vpc == src.vpc
        or model.peering_between(src.vpc, dst_vpc)
        or model.transit_gateway_between(src.vpc, dst_vpc)
    ):
        return r  # the same VPC, or VPCs a peering (1.10) or a transit gateway (18.1) connects
    if src.vpc is None:  # from the internet to a private address of a VPC
        if kind != "internet":
            return r
        igw = model.igw_of(dst_vpc)
        component = f"internet_gateway:{igw.name}" if igw else f"vpc:{dst_vpc}"
        code = "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"
        return replace(r, code=code, component=component, direction="ingress", origin="model",
                       detail=MEANING[code])  # fmt: skip
    return replace(r, code="DISCONNECTED_VPCS", origin="model", detail=MEANING["DISCONNECTED_VPCS"])


def satisfies(expected: str, reason: Reason | None) -> bool:
    """Whether `reason` is what a `reason:` expectation asks for (old names included)."""
    if reason is None:
        return False
    if reason.code == expected:
        return True
    codes, kind = ALIASES.get(expected, (frozenset(), ""))
    return reason.code in codes and reason.component.startswith(f"{kind}:")
