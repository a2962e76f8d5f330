"""VPC peering connections -> a cable between the two VPC routers and the rules that keep
peering one hop deep (ref 1.10-1.12, 1.14).

An active connection is one veth pair between the requester's and the accepter's router
namespaces. A route table's `vpc_peering_connection` route sends the packet down that cable
(render.route_table); on the far side the packet is not marked by any subnet, so it looks
up the router's main table, which holds only the VPC's subnets: peering delivers into the
peer VPC and nowhere else. What is not addressed to the peer VPC is dropped with the name
Reachability Analyzer gives it, before any routing, so a peer can use neither this VPC's
internet gateway, its NAT gateway nor another of its peerings (no edge-to-edge routing,
1.12; not transitive, 1.10; Reachability Analyzer's code, 1.17).
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model, Route, VpcPeeringConnection
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Address, Link
from netemu.render.plan import Route as KernelRoute
from netemu.render.topology import VPC_MTU

CHAIN = "vpc_peering"
# Before the route tables' naming rules (priority 0), after the subnet marks (-150).
PRIORITY = -10
PCX_CODE = "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR"


def active(model: Model) -> list[VpcPeeringConnection]:
    return [p for p in model.vpc_peering_connections.values() if p.active]


def _far_address(pcx: VpcPeeringConnection, vpc: str) -> str:
    """The address of the other router on the cable, seen from `vpc`'s router."""
    return n.PEERING_LINK[1] if vpc == pcx.requester else n.PEERING_LINK[0]


def wiring(model: Model) -> tuple[list[Link], list[Address]]:
    s = model.name
    links: list[Link] = []
    addrs: list[Address] = []
    for pcx in active(model):
        # Peering within a Region carries jumbo frames like the VPC itself (ref 1.15).
        ifname = n.router_peering_if(pcx.index)
        a, b = n.router_ns(s, pcx.requester), n.router_ns(s, pcx.accepter)
        alias = f"{pcx.id} {pcx.name}"
        links.append(Link(a, ifname, b, ifname, alias=alias, mtu_a=VPC_MTU, mtu_b=VPC_MTU))
        addrs.append(Address(a, ifname, f"{n.PEERING_LINK[0]}/32"))
        addrs.append(Address(b, ifname, f"{n.PEERING_LINK[1]}/32"))
    return links, addrs


def is_dead(model: Model, route: Route) -> bool:
    """A route to a peering connection that is not active is a blackhole (1.14)."""
    if route.target_kind != "vpc_peering_connection" or route.target is None:
        return False
    return not model.vpc_peering_connections[route.target].active


def table_route(model: Model, route: Route, vpc: str, table: int) -> KernelRoute:
    """A route table's route to a peering connection, in `vpc`'s router."""
    rns, dst = n.router_ns(model.name, vpc), str(route.destination)
    pcx = model.vpc_peering_connections[route.target or ""]
    if not pcx.active:
        return KernelRoute(rns, dst, kind="blackhole", table=table)
    return KernelRoute(
        rns,
        dst,
        via=_far_address(pcx, vpc),
        dev=n.router_peering_if(pcx.index),
        table=table,
        onlink=True,
    )


def drop_for(pcx: VpcPeeringConnection, what: str) -> nft.Drop:
    code = PCX_CODE if what == "outside" else "NO_ROUTE_TO_DESTINATION"
    return nft.Drop(code, f"vpc_peering_connection:{pcx.name}", "ingress")


def rule_name(pcx: VpcPeeringConnection, what: str) -> str:
    """The drop rule's comment; explain.walk names its drops the same way."""
    if what == "outside":
        return f"vpc_peering_connection:{pcx.name} destination outside the VPC"
    return f"vpc_peering_connection:{pcx.name} no subnet holds the address"


def router_commands(model: Model, vpc: str) -> list[dict[str, Any]]:
    """Rules for `vpc`'s router: what comes in over a peering must be for a subnet of the
    VPC. Added to the router's ruleset (render.route_table), which made the table."""
    mine = [p for p in active(model) if vpc in (p.requester, p.accepter)]
    if not mine:
        return []
    blocks = nft.prefixes(model.vpcs[vpc].cidrs)
    subnets = [s.cidr for s in model.subnets.values() if s.vpc == vpc and s.cidr]
    daddr = nft.payload("ip", "daddr")
    cmds: list[dict[str, Any]] = [nft.add_chain(CHAIN, "prerouting", PRIORITY)]
    for pcx in mine:
        iif = nft.match(nft.meta("iifname"), n.router_peering_if(pcx.index))
        cmds.append(
            nft.add_drop(
                CHAIN,
                iif,
                nft.match(daddr, blocks, "!="),
                why=rule_name(pcx, "outside"),
                drop=drop_for(pcx, "outside"),
            )
        )
        held = [nft.match(daddr, nft.anon_set([nft.prefix(c) for c in subnets]), "!=")]
        cmds.append(
            nft.add_drop(
                CHAIN,
                iif,
                *(held if subnets else []),
                why=rule_name(pcx, "unheld"),
                drop=drop_for(pcx, "unheld"),
            )
        )
    return cmds
