"""Transit gateways -> a namespace per gateway, a cable per VPC attachment, and one
policy-routing table per transit gateway route table (ref 18.1-18.9).

Each VPC attachment is one veth pair between the gateway's namespace (`a<i>`) and the
attached VPC's router (`tg<i>`). In the gateway, what enters on attachment i is marked i+1
and the mark selects the kernel table of the route table associated with i (18.3): static
routes, blackholes, and the CIDRs of the attachments that propagate into it (18.5). An
attachment with no association has no policy rule, so its traffic finds no route at all.
As in the VPC router (render.route_table), nftables repeats the route lookup before the
kernel makes it and drops, under the Reachability Analyzer code, what has no usable route:
TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION, TGW_RTB_BAD_STATE_ROUTE, TGW_RTB_CANNOT_ROUTE.

In the VPC router, a route table's `transit_gateway` route leads down the VPC's attachment
cable; what comes back up it is routed by the route table of the attachment's subnet
(18.2; the first subnet listed, see aws-decisions.md), and what a subnet of a zone without
an attachment subnet sends to the gateway is dropped as TGW_ROUTE_AZ_RESTRICTION (18.2).
The gateway is a router hop of its own: it decrements the TTL (aws-decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netemu.model.transit_gateway import (
    TransitGatewayRouteTable,
    TransitGatewayVpcAttachment,
    effective_routes,
    lookup,
)
from netemu.model.types import Model, Route, Subnet
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Address, Link, Namespace, Rule, Ruleset
from netemu.render.plan import Route as KernelRoute

CHAIN = "transit_gateway_route_table"
AZ_CHAIN = "transit_gateway_az"
NO_ROUTE_METRIC = 0xFFFFFFFF
MTU = 8500  # the transit gateway's MTU for VPC attachments (ref 18.9)
SYSCTLS = (
    ("net/ipv6/conf/all/disable_ipv6", "1"),
    ("net/ipv6/conf/default/disable_ipv6", "1"),
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv4/conf/all/rp_filter", "0"),
    ("net/ipv4/conf/default/rp_filter", "0"),
)


def attachment_mark(att: TransitGatewayVpcAttachment) -> int:
    return att.index + 1


def namespaces(model: Model) -> list[Namespace]:
    return [
        Namespace(n.transit_gateway_ns(model.name, t.name), f"transit_gateway:{t.name}", SYSCTLS)
        for t in model.transit_gateways.values()
    ]


def wiring(model: Model) -> tuple[list[Link], list[Address]]:
    s = model.name
    links: list[Link] = []
    addrs: list[Address] = []
    for att in model.transit_gateway_attachments.values():
        tns, rns = n.transit_gateway_ns(s, att.transit_gateway), n.router_ns(s, att.vpc)
        a_if, r_if = n.tgw_attachment_if(att.index), n.router_tgw_if(att.index)
        alias = f"{att.id} {att.name}"
        links.append(Link(tns, a_if, rns, r_if, alias=alias, mtu_a=MTU, mtu_b=MTU))
        addrs.append(Address(tns, a_if, f"{n.TGW_LINK[0]}/32"))
        addrs.append(Address(rns, r_if, f"{n.TGW_LINK[1]}/32"))
    return links, addrs


def association(model: Model, att: str) -> TransitGatewayRouteTable | None:
    """The route table an attachment is associated with (one at most, 18.3)."""
    return next(
        (t for t in model.transit_gateway_route_tables.values() if att in t.associations), None
    )


def routes_and_rules(model: Model) -> tuple[list[KernelRoute], list[Rule]]:
    """Every transit gateway route table as a kernel table in its gateway's namespace, and
    one policy rule per associated attachment."""
    s = model.name
    atts = model.transit_gateway_attachments
    routes: list[KernelRoute] = []
    rules: list[Rule] = []
    for table in model.transit_gateway_route_tables.values():
        tns, kt = n.transit_gateway_ns(s, table.transit_gateway), n.kernel_table(table.index)
        for r in effective_routes(table, atts, model.vpcs):
            dst = str(r.destination)
            if r.attachment is None:
                routes.append(KernelRoute(tns, dst, kind="blackhole", table=kt))
                continue
            dev = n.tgw_attachment_if(atts[r.attachment].index)
            routes.append(KernelRoute(tns, dst, via=n.TGW_LINK[1], dev=dev, table=kt, onlink=True))
        routes.append(
            KernelRoute(tns, "0.0.0.0/0", kind="unreachable", table=kt, metric=NO_ROUTE_METRIC)
        )
        for name in table.associations:
            att = atts[name]
            prio = n.RULE_PRIORITY_BASE + att.index
            rules.append(Rule(tns, kt, prio, fwmark=attachment_mark(att)))
    return routes, rules


def rulesets(model: Model) -> list[Ruleset]:
    """Per gateway: the attachment marks and the named drops of its route tables."""
    out = []
    for tgw in model.transit_gateways.values():
        mine = [
            a for a in model.transit_gateway_attachments.values() if a.transit_gateway == tgw.name
        ]
        cmds: list[dict[str, Any]] = [
            nft.add_table(),
            nft.add_chain("attachment_mark", "prerouting", -150),
            nft.add_chain(CHAIN, "prerouting", 0),
            nft.add_chain("unrouted"),
            nft.add_rule(CHAIN, nft.fib_no_route(), nft.jump("unrouted")),
            nft.add_rule("unrouted", nft.fib_local(), nft.RETURN, comment="the gateway's own"),
        ]
        if mine:
            marks = [(n.tgw_attachment_if(a.index), attachment_mark(a)) for a in mine]
            cmds.append(nft.add_rule("attachment_mark", nft.set_mark_by_iif(marks)))
        dispatch = []
        for att in mine:
            chain = f"unrouted_{att.index}"
            cmds.append(nft.add_chain(chain))
            dispatch.append((n.tgw_attachment_if(att.index), nft.jump(chain)))
            cmds += _attachment_drops(model, att, chain)
        if dispatch:
            cmds.append(nft.add_rule("unrouted", nft.vmap(nft.meta("iifname"), dispatch)))
        out.append(Ruleset(n.transit_gateway_ns(model.name, tgw.name), tuple(cmds)))
    return out


def drop_rules(
    model: Model, att: TransitGatewayVpcAttachment
) -> list[tuple[IPv4Network, str, nft.Drop]]:
    """What the gateway drops of what comes in on `att`, longest prefix first: (destination,
    rule comment, drop). explain.transit_gateway names its drops the same way."""
    table = association(model, att.name)
    if table is None:
        drop = nft.Drop(
            "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION",
            f"transit_gateway_attachment:{att.name}",
            "ingress",
        )
        why = f"transit_gateway_attachment:{att.name} associated with no route table"
        return [(IPv4Network("0.0.0.0/0"), why, drop)]
    component = f"transit_gateway_route_table:{table.name}"
    dead = [
        (
            r.destination,
            f"{component} route {r.destination} blackhole",
            nft.Drop("TGW_RTB_BAD_STATE_ROUTE", component, "egress", str(r.destination)),
        )
        for r in effective_routes(table, model.transit_gateway_attachments, model.vpcs)
        if r.blackhole
    ]
    dead.append(
        (
            IPv4Network("0.0.0.0/0"),
            f"{component} no route",
            nft.Drop("TGW_RTB_CANNOT_ROUTE", component, "egress"),
        )
    )
    dead.sort(key=lambda d: -d[0].prefixlen)  # stable: a blackhole 0/0 before the catch-all
    return dead


def _attachment_drops(
    model: Model, att: TransitGatewayVpcAttachment, chain: str
) -> list[dict[str, Any]]:
    cmds = []
    for dst, why, drop in drop_rules(model, att):
        to = [] if dst.prefixlen == 0 else [nft.match(nft.payload("ip", "daddr"), nft.prefix(dst))]
        cmds.append(nft.add_drop(chain, *to, why=why, drop=drop))
    return cmds


def next_vpc(model: Model, vpc: str, tgw: str, dst: IPv4Address) -> tuple[str, str] | None:
    """Where gateway `tgw` sends what `vpc` sends it for `dst`: (VPC, the subnet whose
    route table takes it there), or None when the gateway drops it (probe.path)."""
    att = model.attachment_of(vpc, tgw)
    table = association(model, att.name) if att else None
    if table is None:
        return None
    route = lookup(effective_routes(table, model.transit_gateway_attachments, model.vpcs), dst)
    if route is None or route.attachment is None:
        return None
    out = model.transit_gateway_attachments[route.attachment]
    return out.vpc, out.subnets[0]


# -- the VPC router's side ------------------------------------------------------------------


def table_route(model: Model, route: Route, vpc: str, table: int) -> KernelRoute:
    """A VPC route table's route to a transit gateway: down the VPC's attachment (18.8)."""
    att = model.attachment_of(vpc, route.target or "")
    assert att is not None  # validation: the VPC is attached to the gateway it routes to
    return KernelRoute(
        n.router_ns(model.name, vpc),
        str(route.destination),
        via=n.TGW_LINK[0],
        dev=n.router_tgw_if(att.index),
        table=table,
        onlink=True,
    )


def router_ingress(model: Model, vpc: str) -> list[tuple[str, Subnet]]:
    """(router interface, subnet): what comes in from the gateway is routed by the route
    table of the attachment's first subnet (18.2)."""
    return [
        (n.router_tgw_if(a.index), model.subnets[a.subnets[0]])
        for a in model.transit_gateway_attachments.values()
        if a.vpc == vpc
    ]


def router_commands(model: Model, vpc: str, mark: Callable[[int], int]) -> list[dict[str, Any]]:
    """Rules for `vpc`'s router: a subnet of a zone where the attachment has no subnet
    cannot reach the gateway (18.2). `mark`: render.route_table's subnet mark."""
    cmds: list[dict[str, Any]] = []
    for att in model.transit_gateway_attachments.values():
        if att.vpc != vpc:
            continue
        zones = {model.subnets[s].az for s in att.subnets}
        outside = [s for s in model.subnets.values() if s.vpc == vpc and s.az not in zones]
        if not outside:
            continue
        if not cmds:
            cmds.append(nft.add_chain(AZ_CHAIN, "forward", 0))
        cmds.append(
            nft.add_drop(
                AZ_CHAIN,
                nft.match(nft.meta("oifname"), n.router_tgw_if(att.index)),
                nft.match(nft.meta("mark"), nft.anon_set([mark(s.index) for s in outside])),
                why=f"transit_gateway_attachment:{att.name} no subnet in the source's zone",
                drop=az_drop(att),
            )
        )
    return cmds


def az_drop(att: TransitGatewayVpcAttachment) -> nft.Drop:
    return nft.Drop("TGW_ROUTE_AZ_RESTRICTION", f"transit_gateway_attachment:{att.name}", "egress")
