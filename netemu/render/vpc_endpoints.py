"""Gateway VPC endpoints -> a cable from the VPC router to the emulated service, the routes
to its prefix list, and the service's way back (ref 17.1, 17.2).

The service (model.aws_services) is an internet host namespace holding its public address.
A gateway endpoint is one veth pair between the endpoint VPC's router and that namespace:
a route table's endpoint route (one per prefix-list entry) sends the packet down it, so it
reaches the service without an internet gateway or NAT gateway and keeps its private
source address, as on AWS. The service answers over the cable the request came in on:
conntrack remembers the endpoint's cable in the connection's mark, and every reply the
service sends looks up that cable's table (two VPCs with the same CIDR may both have an
endpoint). Back in the router, the reply finds the subnet through the main table, as
traffic from the internet gateway does.
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model, Route, VpcEndpoint
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Address, Link, Rule, Ruleset
from netemu.render.plan import Route as KernelRoute
from netemu.render.topology import VPC_MTU

# The service's table for replies over endpoint i is SERVICE_TABLE_BASE + i, chosen by the
# mark MARK_BASE + i that conntrack keeps for the connection.
SERVICE_TABLE_BASE = 200
MARK_BASE = 0x100
RULE_PRIORITY = 900


def gateways(model: Model) -> list[VpcEndpoint]:
    return [e for e in model.vpc_endpoints.values() if e.vpc_endpoint_type == "Gateway"]


def wiring(model: Model) -> tuple[list[Link], list[Address], list[KernelRoute], list[Rule]]:
    s = model.name
    links: list[Link] = []
    addrs: list[Address] = []
    routes: list[KernelRoute] = []
    rules: list[Rule] = []
    for ep in gateways(model):
        rns, sns = n.router_ns(s, ep.vpc), n.host_ns(s, ep.service)
        r_if, s_if = n.router_endpoint_if(ep.index), n.service_endpoint_if(ep.index)
        # Inside the Region, like the VPC itself (aws-decisions.md): jumbo frames.
        links.append(
            Link(rns, r_if, sns, s_if, alias=f"{ep.id} {ep.name}", mtu_a=VPC_MTU, mtu_b=VPC_MTU)
        )
        addrs.append(Address(rns, r_if, f"{n.VPCE_LINK[0]}/32"))
        addrs.append(Address(sns, s_if, f"{n.VPCE_LINK[1]}/32"))
        table = SERVICE_TABLE_BASE + ep.index
        routes.append(
            KernelRoute(sns, "0.0.0.0/0", via=n.VPCE_LINK[0], dev=s_if, table=table, onlink=True)
        )
        rules.append(Rule(sns, table, RULE_PRIORITY + ep.index, fwmark=MARK_BASE + ep.index))
    return links, addrs, routes, rules


def table_route(model: Model, route: Route, table: int) -> KernelRoute:
    """A route table's route to one prefix-list entry of a gateway endpoint (17.2)."""
    ep = model.vpc_endpoints[route.target or ""]
    return KernelRoute(
        n.router_ns(model.name, ep.vpc),
        str(route.destination),
        via=n.VPCE_LINK[1],
        dev=n.router_endpoint_if(ep.index),
        table=table,
        onlink=True,
    )


def rulesets(model: Model) -> list[Ruleset]:
    """In each service with endpoints: remember the cable of a connection, answer over it."""
    by_service: dict[str, list[VpcEndpoint]] = {}
    for ep in gateways(model):
        by_service.setdefault(ep.service, []).append(ep)
    out: list[Ruleset] = []
    for service, eps in by_service.items():
        pairs = [(n.service_endpoint_if(e.index), MARK_BASE + e.index) for e in eps]
        ct_mark: dict[str, Any] = {"ct": {"key": "mark"}}
        remember = {
            "mangle": {
                "key": ct_mark,
                "value": {
                    "map": {"key": nft.meta("iifname"), "data": {"set": [list(p) for p in pairs]}}
                },
            }
        }
        answer = {"mangle": {"key": nft.meta("mark"), "value": ct_mark}}
        cmds = [
            nft.add_table(),
            nft.add_chain("vpc_endpoint_in", "prerouting", -150),
            nft.add_rule(
                "vpc_endpoint_in",
                nft.match(nft.meta("iifname"), {"set": [p[0] for p in pairs]}),
                remember,
            ),
            nft.add_chain("vpc_endpoint_out", "output", -150, kind="route"),
            nft.add_rule("vpc_endpoint_out", nft.match(ct_mark, 0, "!="), answer),
        ]
        out.append(Ruleset(n.host_ns(model.name, service), tuple(cmds)))
    return out
