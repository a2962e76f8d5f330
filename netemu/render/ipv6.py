"""IPv6 of a dual-stack scenario in the same namespaces: addresses, routes, egress-only gateways.

Only a scenario with an IPv6 block gets any of this; every other scenario keeps IPv6
disabled in all its namespaces (render.topology). The links between netemu's own parts
carry IPv6 on link-local addresses (fe80::1 on the side towards the VPC router or the
internet, fe80::2 on the other), so the only global IPv6 addresses are the scenario's,
all inside 2001:db8::/32 (closed world, ref 16.1). Instances lease their address as a /128
by DHCPv6 and learn their default route, via fe80::1, the subnet namespace's address on
every ENI port, from router advertisements (render.dhcpv6): every
packet, even to a neighbour in the same /64, crosses the subnet's forward hook where the
security groups and network ACLs are, as IPv4 does with proxy ARP (docs/aws-decisions.md).
The internet gateway routes IPv6 as it is, without translation (16.4); an egress-only
internet gateway is a namespace of its own that lets out what the VPC starts and drops
what the internet starts (16.5).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from netemu.model.types import EgressOnlyInternetGateway, Model
from netemu.render import dhcpv6, hops, nft
from netemu.render import names as n
from netemu.render.plan import Address, Link, Namespace, Route, Rule, Ruleset

NEAR, FAR = "fe80::1", "fe80::2"  # towards the router / internet, and away from it
EIGW_ROUTER_IF = "eigw"  # VPC router -> egress-only internet gateway
NO_ROUTE_METRIC = 0xFFFFFFFF
_ON = (
    ("net/ipv6/conf/all/disable_ipv6", "0"),
    ("net/ipv6/conf/default/disable_ipv6", "0"),
    # Netemu's own cables are static (the plan's): no router advertisement is taken there;
    # instances take them (_INSTANCE, after this in the list).
    ("net/ipv6/conf/all/accept_ra", "0"),
    ("net/ipv6/conf/default/accept_ra", "0"),
)
_FORWARD = ("net/ipv6/conf/all/forwarding", "1")
# An instance takes its default route from the VPC router's advertisements (16.8), even
# when it forwards (source/destination check off: accept_ra 2), and its link-local address
# is usable at once (no duplicate address detection), so DHCPv6 can start right away.
_INSTANCE = (
    ("net/ipv6/conf/all/accept_ra", "2"),
    ("net/ipv6/conf/default/accept_ra", "2"),
    ("net/ipv6/conf/default/accept_dad", "0"),
    # Solicit an advertisement as soon as eth0 is up, and again each second.
    ("net/ipv6/conf/default/router_solicitation_delay", "0"),
    ("net/ipv6/conf/default/router_solicitation_interval", "1"),
)
# The subnet namespace's ports carry fe80::1 alone (no address made from the MAC), so it
# is the source of every router advertisement and the instances' default router.
_SUBNET = (("net/ipv6/conf/default/addr_gen_mode", "1"),)


def enabled(model: Model) -> bool:
    return any(v.ipv6_cidr is not None for v in model.vpcs.values())


def eigw_ns(scenario: str, name: str) -> str:
    return f"{n.PREFIX}{scenario}-x-{name}"


def internet_eigw_if(index: int) -> str:
    return f"x{index}"


def namespaces(model: Model, out: list[Namespace]) -> list[Namespace]:
    """IPv6 switched on where it was switched off, forwarding where IPv4 forwards; plus a
    namespace per egress-only internet gateway."""
    if not enabled(model):
        return out
    out = out + [
        Namespace(eigw_ns(model.name, g.name), f"egress_only_internet_gateway:{g.name}", (
            ("net/ipv4/ip_forward", "1"),
        ))
        for g in model.egress_only_internet_gateways.values()
    ]  # fmt: skip
    result: list[Namespace] = []
    for ns in out:
        kept = tuple(kv for kv in ns.sysctls if not kv[0].startswith("net/ipv6/conf/"))
        forward = ("net/ipv4/ip_forward", "1") in ns.sysctls
        own: tuple[tuple[str, str], ...] = ()
        if ns.aws.startswith("instance:"):
            own = _INSTANCE
        elif ns.aws.startswith("subnet:"):
            own = _SUBNET
        sysctls = (*kept, *_ON, *((_FORWARD,) if forward else ()), *own)
        result.append(replace(ns, sysctls=sysctls))
    return result


def wiring(model: Model) -> tuple[list[Link], list[Address], list[Route]]:
    """The IPv6 addresses and routes on netemu's cables, and the egress-only gateways'."""
    if not enabled(model):
        return [], [], []
    s = model.name
    links: list[Link] = []
    addrs: list[Address] = []
    routes: list[Route] = []
    for eni in model.enis():
        sub = model.subnets[eni.subnet]
        if sub.ipv6_cidr is None:
            continue
        sns, port = n.subnet_ns(s, sub.name), n.eni_port_if(eni.port)
        addrs.append(Address(sns, port, f"{NEAR}/64"))
        if eni.ipv6_address is not None and eni.owner_kind == "instance":
            # The instance's own address and default route come by DHCPv6 and router
            # advertisement (render.dhcpv6); the subnet namespace routes to its port.
            routes.append(Route(sns, f"{eni.ipv6_address}/128", dev=port))
    addrs += dhcpv6.port_addresses(model, [e for e in model.enis() if e.owner_kind == "instance"])
    for sub in model.subnets.values():
        if sub.ipv6_cidr is None:
            continue
        sns, rns, r_if = (
            n.subnet_ns(s, sub.name),
            n.router_ns(s, sub.vpc),
            n.router_subnet_if(sub.index),
        )
        addrs.append(Address(sns, n.UPLINK_IF, f"{FAR}/64"))
        addrs.append(Address(rns, r_if, f"{NEAR}/64"))
        routes.append(Route(sns, "::/0", via=NEAR, dev=n.UPLINK_IF))
        # What arrives from a gateway finds the subnet through the router's main table.
        routes.append(Route(rns, str(sub.ipv6_cidr), via=FAR, dev=r_if))
    inet = n.internet_ns(s)
    for i, igw in enumerate(model.internet_gateways.values()):
        vpc = model.vpcs[igw.vpc]
        if vpc.ipv6_cidr is None:
            continue
        gns, rns = n.igw_ns(s, igw.name), n.router_ns(s, igw.vpc)
        addrs.append(Address(rns, n.ROUTER_IGW_IF, f"{NEAR}/64"))
        addrs.append(Address(gns, n.IGW_VPC_IF, f"{FAR}/64"))
        addrs.append(Address(inet, n.internet_igw_if(i), f"{NEAR}/64"))
        addrs.append(Address(gns, n.IGW_INET_IF, f"{FAR}/64"))
        routes.append(Route(gns, str(vpc.ipv6_cidr), via=NEAR, dev=n.IGW_VPC_IF))
        routes.append(Route(gns, "::/0", via=NEAR, dev=n.IGW_INET_IF))
        # The VPC's block is announced by its internet gateway: no translation (16.4).
        routes.append(Route(inet, str(vpc.ipv6_cidr), via=FAR, dev=n.internet_igw_if(i)))
    for i, eigw in enumerate(model.egress_only_internet_gateways.values()):
        vpc = model.vpcs[eigw.vpc]
        xns, rns = eigw_ns(s, eigw.name), n.router_ns(s, eigw.vpc)
        x_if = internet_eigw_if(i)
        links.append(Link(rns, EIGW_ROUTER_IF, xns, n.IGW_VPC_IF, alias=f"{eigw.id} {eigw.name}"))
        links.append(Link(inet, x_if, xns, n.IGW_INET_IF, alias=f"{eigw.id} {eigw.name}"))
        addrs += [
            Address(rns, EIGW_ROUTER_IF, f"{NEAR}/64"),
            Address(xns, n.IGW_VPC_IF, f"{FAR}/64"),
            Address(inet, x_if, f"{NEAR}/64"),
            Address(xns, n.IGW_INET_IF, f"{FAR}/64"),
        ]
        routes.append(Route(xns, "::/0", via=NEAR, dev=n.IGW_INET_IF))
        if vpc.ipv6_cidr is not None:
            routes.append(Route(xns, str(vpc.ipv6_cidr), via=NEAR, dev=n.IGW_VPC_IF))
            if model.igw_of(vpc.name) is None:  # else the internet gateway announces it
                routes.append(Route(inet, str(vpc.ipv6_cidr), via=FAR, dev=x_if))
    for i, host in enumerate(model.internet_hosts.values()):
        if host.ipv6 is None:
            continue
        hns, h_if = n.host_ns(s, host.name), n.internet_host_if(i)
        addrs.append(Address(inet, h_if, f"{NEAR}/64"))
        addrs.append(Address(hns, n.ENI_IF, f"{host.ipv6}/128"))
        routes.append(Route(inet, f"{host.ipv6}/128", dev=h_if))
        routes.append(Route(hns, "::/0", via=NEAR, dev=n.ENI_IF))
    return links, addrs, routes


def table_routes(
    model: Model, index: dict[str, int], local_metric: int, mark: dict[str, int]
) -> tuple[list[Route], list[Rule]]:
    """Each route table's IPv6 routes in its kernel table, and the ip -6 rules that send
    a subnet's traffic there (IPv4 and IPv6 are routed apart, ref 4.5)."""
    if not enabled(model):
        return [], []
    s = model.name
    routes: list[Route] = []
    rules: list[Rule] = []
    for table in model.route_tables.values():
        vpc = model.vpcs[table.vpc]
        rns, kt = n.router_ns(s, vpc.name), n.kernel_table(index[table.name])
        for sub in model.subnets.values():
            if sub.vpc == vpc.name and sub.ipv6_cidr is not None:
                dev = n.router_subnet_if(sub.index)
                routes.append(
                    Route(rns, str(sub.ipv6_cidr), via=FAR, dev=dev, table=kt, metric=local_metric)
                )
        for route in table.ipv6_routes:
            dst = str(route.destination)
            if route.target_kind == "local":
                routes.append(Route(rns, dst, kind="unreachable", table=kt, metric=local_metric))
            elif route.target_kind == "blackhole":
                routes.append(Route(rns, dst, kind="blackhole", table=kt))
            elif route.target_kind == "internet_gateway":
                routes.append(Route(rns, dst, via=FAR, dev=n.ROUTER_IGW_IF, table=kt))
            elif route.target_kind == "egress_only_internet_gateway":
                routes.append(Route(rns, dst, via=FAR, dev=EIGW_ROUTER_IF, table=kt))
        routes.append(Route(rns, "::/0", kind="unreachable", table=kt, metric=NO_ROUTE_METRIC))
    for sub in model.subnets.values():
        if sub.ipv6_cidr is None:
            continue
        rns = n.router_ns(s, sub.vpc)
        kt = n.kernel_table(index[sub.route_table])
        prio = n.RULE_PRIORITY_BASE + sub.index
        rules.append(Rule(rns, kt, prio, fwmark=mark[sub.name], family=6))
    return routes, rules


def rulesets(model: Model) -> list[Ruleset]:
    """The egress-only internet gateways' rules."""
    if not enabled(model):
        return []
    return [_eigw(model, g) for g in model.egress_only_internet_gateways.values()]


def _eigw(model: Model, eigw: EgressOnlyInternetGateway) -> Ruleset:
    """Stateful and outbound-only (16.5): what the VPC starts goes out and its replies come
    back; what the internet starts is dropped with a name, whichever side it is seen on
    (inbound through the gateway, or the reply of a connection that came in through the
    internet gateway and would leave through this one)."""
    who = f"egress_only_internet_gateway:{eigw.name}"
    from_vpc = nft.match(nft.meta("iifname"), n.IGW_VPC_IF)
    cmds: list[dict[str, Any]] = [
        nft.add_table(),
        *hops.render(),  # AWS documents no hop for the gateway (as for the IGW)
        nft.add_chain("forward", "forward", 0),
        nft.add_rule(
            "forward",
            nft.ct_state("established", "related"),
            nft.ACCEPT,
            comment=f"{who}: packets of connections the VPC started (16.5)",
        ),
        nft.add_rule(
            "forward",
            from_vpc,
            nft.ct_state("new"),
            nft.match(nft.meta("l4proto"), "tcp", "!="),
            nft.ACCEPT,
            comment=f"{who}: a flow the VPC starts (16.5)",
        ),
        nft.add_rule(
            "forward",
            from_vpc,
            nft.ct_state("new"),
            nft.match({"&": [nft.payload("tcp", "flags"), ["syn", "ack"]]}, "syn"),
            nft.ACCEPT,
            comment=f"{who}: a TCP connection the VPC opens (16.5)",
        ),
        nft.add_drop(
            "forward",
            why=f"{who} drops what the internet starts (16.5)",
            drop=nft.Drop("NO_POSSIBLE_DESTINATION", who, "ingress", "inbound-initiated IPv6"),
        ),
    ]
    return Ruleset(eigw_ns(model.name, eigw.name), tuple(cmds))
