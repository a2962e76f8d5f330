"""Transit gateways, their VPC attachments and route tables, and the route lookup (ref 18.1-18.9).

A transit gateway routes by the route table associated with the attachment a packet came
in on (18.3): static routes and the VPC CIDRs that attachments propagate into that table,
longest prefix first, a static route before a propagated one of the same destination
(18.5). It is transitive by construction: whatever its route tables say, it forwards,
unlike a peering connection (18.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from netemu.model.types import Vpc

# Both enabled by default on CreateTransitGateway (ref 18.4).
DEFAULT_ASN = 64512


@dataclass(frozen=True)
class TransitGateway:
    name: str
    id: str  # tgw-…
    index: int  # 0-based order in the scenario; names its namespace's kernel objects
    default_route_table_association: bool = True  # DefaultRouteTableAssociation enable
    default_route_table_propagation: bool = True  # DefaultRouteTablePropagation enable
    amazon_side_asn: int = DEFAULT_ASN
    # The route tables that new attachments are associated with / propagate to (18.4).
    association_default_route_table: str | None = None
    propagation_default_route_table: str | None = None


@dataclass(frozen=True)
class TransitGatewayVpcAttachment:
    """A VPC attachment: one subnet per Availability Zone (ref 18.2)."""

    name: str
    id: str  # tgw-attach-…
    transit_gateway: str  # TransitGateway.name
    vpc: str  # Vpc.name
    subnets: tuple[str, ...]  # Subnet.name, at most one per zone
    index: int  # 0-based order in the scenario; names its cable


@dataclass(frozen=True)
class TransitGatewayRoute:
    destination: IPv4Network
    attachment: str | None  # TransitGatewayVpcAttachment.name; None for a blackhole
    type: Literal["static", "propagated"] = "static"

    @property
    def blackhole(self) -> bool:
        return self.attachment is None


@dataclass(frozen=True)
class TransitGatewayRouteTable:
    name: str
    id: str  # tgw-rtb-…
    transit_gateway: str
    index: int  # 0-based order among all transit gateway route tables; its kernel table
    associations: tuple[str, ...]  # attachment names, defaults applied (18.3, 18.4)
    propagations: tuple[str, ...]  # attachment names, defaults applied
    static_routes: tuple[TransitGatewayRoute, ...] = ()
    default_association: bool = False  # DefaultAssociationRouteTable
    default_propagation: bool = False  # DefaultPropagationRouteTable
    implicit: bool = False  # the default route table AWS creates with the gateway


def effective_routes(
    table: TransitGatewayRouteTable,
    attachments: Mapping[str, TransitGatewayVpcAttachment],
    vpcs: Mapping[str, Vpc],
) -> list[TransitGatewayRoute]:
    """The table's routes as search-transit-gateway-routes shows them: static ones, then
    each propagating attachment's VPC CIDRs, unless a static route has that destination
    (18.5) or an earlier attachment's propagated CIDR overlaps it (18.6: the later VPC's
    routes are not propagated)."""
    out = list(table.static_routes)
    static = {r.destination for r in out}
    propagated: list[IPv4Network] = []
    for name in table.propagations:
        for block in vpcs[attachments[name].vpc].cidrs:
            if any(block.overlaps(p) for p in propagated):
                continue
            propagated.append(block)
            if block not in static:
                out.append(TransitGatewayRoute(block, name, "propagated"))
    return out


def lookup(routes: list[TransitGatewayRoute], dst: IPv4Address) -> TransitGatewayRoute | None:
    """Longest prefix match (18.5); None when no route matches."""
    matching = [r for r in routes if dst in r.destination]
    return max(matching, key=lambda r: r.destination.prefixlen, default=None)
