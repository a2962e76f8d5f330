"""Route tables -> policy routing in each VPC router namespace (ref section 4).

Each route table is one kernel table; traffic entering the router from subnet X is marked
and the mark looks up X's table (ref 4.1), so the kernel's longest-prefix match is AWS's
(4.5). Drops that the routing makes (blackhole routes, no matching route) are taken by
nftables rules before the routing decision, each named after the table and route, so a
probe can say which route table and route dropped it.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from netemu.model.types import Model, RouteTable
from netemu.render import hops, ipv6, nft, transit_gateway, vpc_endpoints, vpc_peering
from netemu.render import names as n
from netemu.render.plan import Route, Rule, Ruleset
from netemu.render.topology import router_target_if, target_enis, target_link_if

# The local route (one per subnet) yields to a user route with the same destination,
# which AWS allows for whole-subnet destinations to a NAT gateway or ENI (ref 4.6).
LOCAL_METRIC = 10
NO_ROUTE_METRIC = 0xFFFFFFFF
# Subnet-side tables that send route-target traffic to its ENI.
TARGET_TABLE_BASE = 100
CHAIN = "route_table"


def subnet_mark(subnet_index: int) -> int:
    """The router marks what enters from a subnet; the mark selects the subnet's route
    table (a policy rule) and lets nftables repeat that same lookup (nft.fib_no_route)."""
    return subnet_index + 1


def _table_routes(model: Model, table: RouteTable, index: int) -> list[Route]:
    s, vpc = model.name, model.vpcs[table.vpc]
    rns, kt = n.router_ns(s, vpc.name), n.kernel_table(index)
    out: list[Route] = []
    for sub in model.subnets.values():
        if sub.vpc == vpc.name and sub.cidr is not None:  # IPv6-only: render.ipv6 (16.11)
            out.append(
                Route(
                    rns,
                    str(sub.cidr),
                    via=n.SUBNET_LINK[1],
                    dev=n.router_subnet_if(sub.index),
                    table=kt,
                    metric=LOCAL_METRIC,
                    onlink=True,
                )
            )
    # The rest of each VPC CIDR holds no subnet: the local route leads nowhere there.
    for block in vpc.cidrs:
        out.append(Route(rns, str(block), kind="unreachable", table=kt, metric=LOCAL_METRIC))
    # A route to an instance goes to its primary ENI (ref 9.20).
    enis = {(e.owner_kind, e.owner): e for e in model.enis() if e.device_index == 0}
    for route in table.routes:
        dst = str(route.destination)
        if route.target_kind == "local":
            continue
        if route.target_kind == "blackhole":
            out.append(Route(rns, dst, kind="blackhole", table=kt))
        elif route.target_kind == "vpc_peering_connection":
            out.append(vpc_peering.table_route(model, route, vpc.name, kt))
        elif route.target_kind == "transit_gateway":
            out.append(transit_gateway.table_route(model, route, vpc.name, kt))
        elif route.target_kind == "vpc_endpoint":
            out.append(vpc_endpoints.table_route(model, route, kt))
        elif route.target_kind == "internet_gateway":
            out.append(
                Route(rns, dst, via=n.IGW_LINK[1], dev=n.ROUTER_IGW_IF, table=kt, onlink=True)
            )
        else:
            eni = enis[(route.target_kind, route.target or "")]
            out.append(
                Route(
                    rns,
                    dst,
                    via=n.SUBNET_LINK[1],
                    dev=router_target_if(model, eni),
                    table=kt,
                    onlink=True,
                )
            )
    out.append(Route(rns, "0.0.0.0/0", kind="unreachable", table=kt, metric=NO_ROUTE_METRIC))
    return out


def render(model: Model) -> tuple[list[Route], list[Rule], list[Ruleset]]:
    s = model.name
    tables = list(model.route_tables.values())
    index = {t.name: i for i, t in enumerate(tables)}
    routes: list[Route] = []
    rules: list[Rule] = []
    for table in tables:
        routes += _table_routes(model, table, index[table.name])
    for sub in model.subnets.values():
        rules.append(
            Rule(
                n.router_ns(s, sub.vpc),
                n.kernel_table(index[sub.route_table]),
                n.RULE_PRIORITY_BASE + sub.index,
                fwmark=subnet_mark(sub.index),
            )
        )
    # In the target ENI's subnet, traffic arriving on its cable goes to that ENI.
    for eni in target_enis(model):
        sns = n.subnet_ns(s, eni.subnet)
        kt = TARGET_TABLE_BASE + eni.port
        routes.append(
            Route(
                sns,
                "0.0.0.0/0",
                via=str(eni.private_ip),
                dev=n.eni_port_if(eni.port),
                table=kt,
                onlink=True,
            )
        )
        rules.append(Rule(sns, kt, n.RULE_PRIORITY_BASE + eni.port, iif=target_link_if(eni)))

    marks = {sub.name: subnet_mark(sub.index) for sub in model.subnets.values()}
    routes6, rules6 = ipv6.table_routes(model, index, LOCAL_METRIC, marks)
    routes, rules = routes + routes6, rules + rules6
    rulesets = [_attribution(model, vpc.name) for vpc in model.vpcs.values()]
    return routes, rules, rulesets


def _attribution(model: Model, vpc: str) -> Ruleset:
    """Rules that drop, with a name, what the routing would drop anyway.

    When the kernel finds no usable route, the route it chose is the longest-prefix match
    among all routes, hence also the longest among the non-forwarding ones (blackholes,
    the VPC CIDR outside every subnet, the catch-all). Trying those longest first therefore
    names exactly the route the kernel used. Every packet pays one route lookup here; only
    packets that found no route go on to the naming rules."""
    subnets = [sub for sub in model.subnets.values() if sub.vpc == vpc]
    cmds: list[dict[str, Any]] = [
        nft.add_table(),
        *hops.render(),  # the VPC router decrements no TTL (10.9)
        nft.add_chain("subnet_mark", "prerouting", -150),
        nft.add_chain(CHAIN, "prerouting", 0),
        nft.add_chain("unrouted"),
    ]
    # What comes in from a transit gateway is routed as if from its attachment's subnet.
    from_tgw = transit_gateway.router_ingress(model, vpc)
    if subnets:
        marks = [(n.router_subnet_if(sub.index), subnet_mark(sub.index)) for sub in subnets]
        marks += [(ifname, subnet_mark(sub.index)) for ifname, sub in from_tgw]
        cmds.append(nft.add_rule("subnet_mark", nft.set_mark_by_iif(marks)))
    cmds.append(nft.add_rule(CHAIN, nft.fib_no_route(), nft.jump("unrouted")))
    # The router's own addresses (the Amazon DNS at VPC base+2, 10.2) have no route: they
    # are delivered to the router itself, whatever the route tables say.
    cmds.append(
        nft.add_rule("unrouted", nft.fib_local(), nft.RETURN, comment="VPC router's own address")
    )
    dispatch = []
    vpc_cidrs = model.vpcs[vpc].cidrs
    for sub in subnets:
        table = model.route_tables[sub.route_table]
        component = f"route_table:{table.name}"
        dead = [
            (
                r.destination,
                f"route {r.destination} blackhole",
                nft.Drop("BAD_STATE_ROUTE", component, "egress", str(r.destination)),
            )
            for r in table.routes
            if r.target_kind == "blackhole" or vpc_peering.is_dead(model, r)
        ]
        dead += [
            (
                block,
                f"local route {block}: no subnet holds the address",
                nft.Drop("NO_ROUTE_TO_DESTINATION", component, "egress", f"local {block}"),
            )
            for block in vpc_cidrs
        ]
        dead.append(
            (
                IPv4Network("0.0.0.0/0"),
                "no route",
                nft.Drop("NO_ROUTE_TO_DESTINATION", component, "egress"),
            )
        )
        dead.sort(key=lambda d: -d[0].prefixlen)  # stable: a blackhole 0/0 before the catch-all
        chain = f"unrouted_{sub.index}"
        cmds.append(nft.add_chain(chain))
        dispatch.append((n.router_subnet_if(sub.index), nft.jump(chain)))
        dispatch += [(ifname, nft.jump(chain)) for ifname, s in from_tgw if s == sub]
        for dst, what, drop in dead:
            to = (
                []
                if dst.prefixlen == 0
                else [nft.match(nft.payload("ip", "daddr"), nft.prefix(dst))]
            )
            cmds.append(nft.add_drop(chain, *to, why=f"route_table:{table.name} {what}", drop=drop))
    if dispatch:
        cmds.append(nft.add_rule("unrouted", nft.vmap(nft.meta("iifname"), dispatch)))
    cmds += vpc_peering.router_commands(model, vpc)
    cmds += transit_gateway.router_commands(model, vpc, subnet_mark)
    return Ruleset(n.router_ns(model.name, vpc), tuple(cmds))
