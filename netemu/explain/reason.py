"""Drops of the static walk as reasons, in the same JSON as a probe's (scenario-format 5).

Each method names a drop exactly as the kernel rule that stands for it does (its
render.nft.Drop), so the static answer and a probe's go through the same lookup
(probe.reason.from_drop) and can be compared field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from netemu.render import nft, vpc_peering

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
    """Names each drop as the kernel rule standing for it names itself (render.nft.Drop):
    code, component, direction, rule. The codes that depend on the probe's endpoints
    (DISCONNECTED_VPCS) are decided afterwards by probe.reason, for both sides alike."""

    def __init__(self, model: Model) -> None:
        self.m = model
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
        ids = ",".join(g.id for g in v.groups) or None
        code = codes.ENI_SG_RULES_MISMATCH
        return self._drop(code, v.direction, v.component, ids, leg, p, v.kernel_name())

    def source_dest_check(self, eni: Eni, direction: str, leg: Leg, p: Packet) -> Drop:
        name = f"eni:{eni.label} {direction} source/destination check"
        code = codes.ENI_SOURCE_DEST_CHECK_RESTRICTION
        return self._drop(code, direction, f"eni:{eni.label}", None, leg, p, name)

    def stopped(self, inst: Instance, direction: str, leg: Leg, p: Packet) -> Drop:
        name = f"instance:{inst.name} stopped"
        component = f"instance:{inst.name}"
        return self._drop(codes.BAD_STATE, direction, component, "stopped", leg, p, name)

    def unheld(self, subnet: str, leg: Leg, p: Packet) -> Drop:
        name = f"subnet:{subnet} no ENI holds the address"
        code = codes.NO_ROUTE_TO_DESTINATION
        return self._drop(code, "egress", f"subnet:{subnet}", None, leg, p, name)

    def route(self, c: RouteChoice, leg: Leg, p: Packet) -> Drop:
        component, name = f"route_table:{c.table.name}", c.kernel_name()
        if c.kind == "blackhole":
            code = codes.BAD_STATE_ROUTE
            return self._drop(code, "egress", component, c.destination, leg, p, name)
        rule = f"local {c.destination}" if c.kind == "unheld" else None
        return self._drop(codes.NO_ROUTE_TO_DESTINATION, "egress", component, rule, leg, p, name)

    def peering(self, pcx: VpcPeeringConnection, what: str, leg: Leg, p: Packet) -> Drop:
        """Over a peering, only addresses of the peer VPC's subnets (1.10, 1.12)."""
        drop = vpc_peering.drop_for(pcx, what)
        name = vpc_peering.rule_name(pcx, what)
        return self._drop(drop.code, drop.direction, drop.component, None, leg, p, name)

    def transit(self, drop: nft.Drop, rule_name: str, leg: Leg, p: Packet) -> Drop:
        """A drop of a transit gateway or its attachment (18.2, 18.3, 18.5)."""
        return self._drop(drop.code, drop.direction, drop.component, drop.rule, leg, p, rule_name)

    def nat_loop(self, nat: NatGateway, leg: Leg, p: Packet) -> Drop:
        table = self.m.route_tables[self.m.subnets[nat.subnet].route_table]
        to_itself = [
            str(r.destination)
            for r in table.routes
            if (r.target_kind, r.target) == ("nat_gateway", nat.name)
        ]
        name = f"nat_gateway:{nat.name} route loop: its own subnet routes its traffic back to it"
        code = codes.NO_ROUTE_TO_DESTINATION
        rule = to_itself[0] if to_itself else None
        return self._drop(code, "egress", f"route_table:{table.name}", rule, leg, p, name)

    def nat_no_inbound(self, nat: NatGateway, to_itself: bool, leg: Leg, p: Packet) -> Drop:
        """6.9, 6.10: nothing addressed to the gateway is answered; nothing from outside
        its VPC is forwarded."""
        name = f"nat_gateway:{nat.name} no inbound"
        code = codes.NO_POSSIBLE_DESTINATION if to_itself else codes.NGW_REQUIRES_SOURCE_IN_VPC
        return self._drop(code, "ingress", f"nat_gateway:{nat.name}", None, leg, p, name)

    def nat_protocol(self, nat: NatGateway, leg: Leg, p: Packet) -> Drop:
        name = f"nat_gateway:{nat.name} carries only TCP, UDP and ICMP"
        code = codes.PROTOCOL_RESTRICTION
        return self._drop(code, "egress", f"nat_gateway:{nat.name}", None, leg, p, name)

    def igw(self, igw: InternetGateway, direction: str, what: str, leg: Leg, p: Packet) -> Drop:
        """The gateway's own refusals (5.5), as its rules name them; which of them stand for
        another VPC is decided afterwards, as for probes (probe.reason)."""
        table = {
            ("egress", "no public IP"): (
                "egress from a source with no public IP",
                codes.IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS,
            ),
            ("egress", "private destination"): (
                "egress to a private destination",
                codes.IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS,
            ),
            ("ingress", "private source"): (
                "ingress from a private source",
                codes.IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS,
            ),
            ("ingress", "no public IP"): (
                "ingress to an address with no public IP",
                codes.IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS,
            ),
        }
        words, code = table[(direction, what)]
        component = f"internet_gateway:{igw.name}"
        return self._drop(code, direction, component, None, leg, p, f"{component} {words}")

    def internet(self, leg: Leg, p: Packet) -> Drop:
        """Only public addresses are announced on the internet (5.5)."""
        name = "internet no route to the destination"
        return self._drop(codes.NO_ROUTE_TO_DESTINATION, "egress", "internet", None, leg, p, name)
