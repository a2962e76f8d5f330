"""Drops of the static walk as reasons, in the same JSON as a probe's (scenario-format 5).

Each method names a drop the way the kernel rule for it is named (render/), and picks the
code, direction and component that probe/reason.py derives from that name, so the two can
be compared field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Literal

from netemu.explain import codes
from netemu.explain.network_acl import AclVerdict
from netemu.explain.packet import Packet
from netemu.explain.route_table import RouteChoice
from netemu.explain.security_group import SgVerdict
from netemu.model.types import (
    PROTO_ICMP,
    Eni,
    Instance,
    InternetGateway,
    Model,
    NatGateway,
    VpcPeeringConnection,
)
from netemu.render import vpc_peering

Leg = Literal["request", "reply"]


@dataclass(frozen=True)
class Drop:
    code: str
    direction: str | None
    component: str
    rule: str | None
    leg: Leg
    detail: str  # the name of the kernel rule that stands for this drop
    packet: dict[str, str]
    recognisable: bool = True  # would a probe tell this packet is its own?

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "direction": self.direction,
            "component": self.component,
            "rule": self.rule,
            "leg": self.leg,
            "detail": self.detail,
            "packet": self.packet,
        }


class Classifier:
    """Knows the probe's endpoints, which some codes depend on (1.9 DISCONNECTED_VPCS)."""

    def __init__(
        self, model: Model, src_vpc: str | None, dst_ip: IPv4Address, dst_vpc: str | None
    ) -> None:
        self.m = model
        self.src_vpc = src_vpc
        self.dst_vpc = dst_vpc
        self.cross_vpc = (
            src_vpc is not None
            and dst_vpc is not None
            and dst_vpc != src_vpc
            and model.peering_between(src_vpc, dst_vpc) is None  # peered VPCs connect (1.10)
        )
        self.port: int | None = None  # the probe's destination port (None for ICMP)
        self.reply_ports: set[int] = set()  # ports a reply may be addressed to

    def recognisable(self, leg: Leg, p: Packet) -> bool:
        """What a probe can attribute: its request always (by IP ID), a reply only when
        its ports (or ICMP id) are the request's, reversed."""
        if leg == "request":
            return True
        if p.protocol == PROTO_ICMP:
            return p.dport in self.reply_ports
        return p.sport == self.port and p.dport in self.reply_ports

    def _drop(
        self,
        code: str,
        direction: str | None,
        component: str,
        rule: str | None,
        leg: Leg,
        p: Packet,
        detail: str,
    ) -> Drop:
        packet = {"src": str(p.src), "dst": str(p.dst)}
        return Drop(
            code, direction, component, rule, leg, detail, packet, self.recognisable(leg, p)
        )

    def silent(self, code: str, leg: Leg, p: Packet, what: str) -> Drop:
        return self._drop(code, None, what, None, leg, p, what)

    def acl(self, v: AclVerdict, leg: Leg, p: Packet) -> Drop:
        component = f"network_acl:{v.acl.name}"
        name = v.kernel_name()
        return self._drop(
            codes.SUBNET_ACL_RESTRICTION, v.direction, component, v.rule_name, leg, p, name
        )

    def security_group(self, v: SgVerdict, leg: Leg, p: Packet) -> Drop:
        name = v.kernel_name()
        ids = ",".join(v.eni.security_groups) or None  # as the kernel rule names them
        return self._drop(codes.ENI_SG_RULES_MISMATCH, v.direction, v.component, ids, leg, p, name)

    def source_dest_check(self, eni: Eni, direction: str, leg: Leg, p: Packet) -> Drop:
        name = f"eni:{eni.owner} {direction} source/destination check"
        code = codes.ENI_SOURCE_DEST_CHECK_RESTRICTION
        return self._drop(code, direction, f"eni:{eni.owner}", None, leg, p, name)

    def stopped(self, inst: Instance, leg: Leg, p: Packet) -> Drop:
        name = f"instance:{inst.name} stopped"
        return self._drop(codes.BAD_STATE, None, f"instance:{inst.name}", None, leg, p, name)

    def unheld(self, subnet: str, leg: Leg, p: Packet) -> Drop:
        name = f"subnet:{subnet} no ENI holds the address"
        code = codes.NO_ROUTE_TO_DESTINATION
        return self._drop(code, "egress", f"subnet:{subnet}", None, leg, p, name)

    def route(self, c: RouteChoice, leg: Leg, p: Packet) -> Drop:
        component, name = f"route_table:{c.table.name}", c.kernel_name()
        # A route to a peering connection that is not active names the route (1.14).
        to_peering = c.route is not None and c.route.target_kind == "vpc_peering_connection"
        if self.cross_vpc and not to_peering:
            return self._drop(codes.DISCONNECTED_VPCS, "egress", component, None, leg, p, name)
        if c.kind == "blackhole":
            code = codes.BAD_STATE_ROUTE
            return self._drop(code, "egress", component, c.destination, leg, p, name)
        # the local route of a block no subnet fills is named by its block, as the kernel's
        # rule names it (render.route_table)
        rule = f"local {c.destination}" if c.kind == "unheld" else None
        return self._drop(codes.NO_ROUTE_TO_DESTINATION, "egress", component, rule, leg, p, name)

    def peering(self, pcx: VpcPeeringConnection, what: str, leg: Leg, p: Packet) -> Drop:
        """Over a peering, only addresses of the peer VPC's subnets (1.10, 1.12)."""
        drop = vpc_peering.drop_for(pcx, what)
        name = vpc_peering.rule_name(pcx, what)
        return self._drop(drop.code, drop.direction, drop.component, None, leg, p, name)

    def nat_loop(self, nat: NatGateway, leg: Leg, p: Packet) -> Drop:
        table = self.m.subnets[nat.subnet].route_table
        name = f"nat_gateway:{nat.name} route loop: its own subnet routes its traffic back to it"
        code = codes.NO_ROUTE_TO_DESTINATION
        return self._drop(code, "egress", f"route_table:{table}", None, leg, p, name)

    def nat_no_inbound(self, nat: NatGateway, leg: Leg, p: Packet, to_itself: bool) -> Drop:
        """Addressed to the gateway itself (6.10), or from outside its VPC (6.9)."""
        name = f"nat_gateway:{nat.name} no inbound"
        code = codes.NO_POSSIBLE_DESTINATION if to_itself else codes.NGW_REQUIRES_SOURCE_IN_VPC
        return self._drop(code, "ingress", f"nat_gateway:{nat.name}", None, leg, p, name)

    def nat_protocol(self, nat: NatGateway, leg: Leg, p: Packet) -> Drop:
        name = f"nat_gateway:{nat.name} carries only TCP, UDP and ICMP"
        code = codes.PROTOCOL_RESTRICTION
        return self._drop(code, "egress", f"nat_gateway:{nat.name}", None, leg, p, name)

    def igw(self, igw: InternetGateway, direction: str, what: str, leg: Leg, p: Packet) -> Drop:
        names = {
            ("egress", "no public IP"): "egress from a source with no public IP",
            ("egress", "private destination"): "egress to a private destination",
            ("ingress", "private source"): "ingress from a private source",
            ("ingress", "no public IP"): "ingress to an address with no public IP",
        }
        component = f"internet_gateway:{igw.name}"
        name = f"{component} {names[(direction, what)]}"
        if self.cross_vpc:
            code = codes.DISCONNECTED_VPCS
        elif what == "no public IP":
            code = (
                codes.IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS
                if direction == "egress"
                else codes.IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS
            )
        else:
            code = codes.NO_ROUTE_TO_DESTINATION
        return self._drop(code, direction, component, None, leg, p, name)

    def internet(self, leg: Leg, p: Packet) -> Drop:
        """Only public addresses are announced on the internet: a packet for any other
        address dies there; for an address of a VPC, the VPC's gateway is named (5.5)."""
        name = "internet no route to the destination"
        if self.dst_vpc is not None:
            igw = self.m.igw_of(self.dst_vpc)
            component = f"internet_gateway:{igw.name}" if igw else f"vpc:{self.dst_vpc}"
            code = (
                codes.IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS
                if self.src_vpc is None
                else codes.DISCONNECTED_VPCS
            )
            return self._drop(code, "ingress", component, None, leg, p, name)
        return self._drop(codes.NO_ROUTE_TO_DESTINATION, "egress", "internet", None, leg, p, name)
