"""Route table lookup on the model, as the VPC router does it (ref 4.1, 4.5, 4.6).

Longest prefix wins. The local route stands for one route per subnet plus the rest of the
VPC CIDR, where no subnet holds the address; a user route to a whole subnet CIDR (a NAT
gateway or an instance, 4.6) wins over the local route of that subnet, and without any
matching route the packet has nowhere to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from netemu.model.types import Model, Route, RouteTable, Subnet

Kind = Literal[
    "subnet",
    "unheld",
    "blackhole",
    "internet_gateway",
    "nat_gateway",
    "instance",
    "vpc_peering_connection",
    "transit_gateway",
    "vpc_endpoint",
    "none",
]
DEAD: tuple[Kind, ...] = ("unheld", "blackhole", "none")


@dataclass(frozen=True)
class RouteChoice:
    table: RouteTable
    kind: Kind
    route: Route | None  # the model's route (the local route for "subnet"/"unheld")
    subnet: Subnet | None = None  # for "subnet": where the local route delivers

    @property
    def forwards(self) -> bool:
        return self.kind not in DEAD

    @property
    def destination(self) -> str | None:
        return str(self.route.destination) if self.route else None

    def kernel_name(self) -> str:
        """The name render.route_table gives the drop rule of a dead route."""
        head = f"route_table:{self.table.name}"
        if self.kind == "blackhole":
            return f"{head} route {self.destination} blackhole"
        if self.kind == "unheld":
            return f"{head} local route {self.destination}: no subnet holds the address"
        return f"{head} no route"

    def to_json(self) -> dict[str, Any]:
        """Reachability Analyzer's RouteTableRoute, in snake_case (ref 13.2)."""
        if self.route is None:
            return {"destination_cidr": None, "state": "no route"}
        r = self.route
        out: dict[str, Any] = {"destination_cidr": str(r.destination)}
        if r.target_kind == "local":
            out["gateway_id"] = "local"
            out["origin"] = "CreateRouteTable"
        else:
            out["origin"] = "CreateRoute"
            key = {
                "internet_gateway": "gateway_id",
                "nat_gateway": "nat_gateway_id",
                "instance": "instance_id",
                "vpc_peering_connection": "vpc_peering_connection_id",
                "transit_gateway": "transit_gateway_id",
            }.get(r.target_kind)
            if key:
                out[key] = r.target
            if r.target_kind == "vpc_endpoint":  # GatewayId vpce-…, DestinationPrefixListId
                out["gateway_id"] = r.target
                out["destination_prefix_list_id"] = r.prefix_list_id
        out["state"] = "blackhole" if self.kind == "blackhole" else "active"
        return out


def lookup(model: Model, table: RouteTable, dst: IPv4Address) -> RouteChoice:
    vpc = model.vpcs[table.vpc]
    locals_ = [r for r in table.routes if r.target_kind == "local"]

    def local_of(net: IPv4Network) -> Route:
        """The local route of the VPC block holding `net` (1.4)."""
        return next((r for r in locals_ if net.subnet_of(r.destination)), locals_[0])

    # (prefix length, preference: lower wins on a tie, choice), as the kernel's metrics.
    best: tuple[int, int, RouteChoice] | None = None

    def offer(net: IPv4Network, pref: int, choice: RouteChoice) -> None:
        nonlocal best
        if dst in net and (
            best is None or net.prefixlen > best[0] or (net.prefixlen == best[0] and pref < best[1])
        ):
            best = (net.prefixlen, pref, choice)

    for sub in model.subnets.values():
        if sub.vpc == vpc.name and sub.cidr is not None:
            offer(sub.cidr, 10, RouteChoice(table, "subnet", local_of(sub.cidr), sub))
    for block in vpc.cidrs:
        offer(block, 11, RouteChoice(table, "unheld", local_of(block)))
    for r in table.routes:
        if r.target_kind == "vpc_peering_connection" and not _active(model, r):
            offer(r.destination, 0, RouteChoice(table, "blackhole", r))  # ref 1.14
        elif r.target_kind != "local":
            offer(r.destination, 0, RouteChoice(table, r.target_kind, r))
    if best is None:
        return RouteChoice(table, "none", None)
    return best[2]


def _active(model: Model, r: Route) -> bool:
    return model.vpc_peering_connections[r.target or ""].active
