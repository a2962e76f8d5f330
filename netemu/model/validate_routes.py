"""Routes of every route table (ref 4.x) and the NAT gateway's own route to the IGW (6.6)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

from netemu.model import validate_prefix_lists as pl
from netemu.model.ids import aws_id
from netemu.model.types import Route, RouteTable, RouteTargetKind, Vpc
from netemu.model.validate_context import IGW, INSTANCE, NAT, Ctx, TableHead, aws, q
from netemu.model.validate_fields import as_list, as_map, boolean, check_keys, cidr, text
from netemu.model.validate_ipv6 import is_v6, routes6
from netemu.model.validate_peering import peering_target
from netemu.model.validate_transit_gateway import transit_target
from netemu.scenario import Node

TARGETS: tuple[RouteTargetKind, ...] = (
    "internet_gateway",
    "nat_gateway",
    "instance",
    "blackhole",
    "vpc_peering_connection",
    "transit_gateway",
)
ROUTE_KEYS = (
    "destination",
    *TARGETS,
    "egress_only_internet_gateway",
    "destination_prefix_list_id",
    "transit_gateway_id",
)
MAX_ROUTES = 50  # non-propagated routes per table, ref 1.8, 4.15
_RESERVED = IPv4Network("169.254.168.0/22")  # ref 4.7


def read_routes(ctx: Ctx) -> None:
    for head in ctx.tables.values():
        vpc = ctx.vpcs[head.vpc]
        # ref 4.4, 1.4: one local route per VPC CIDR, always first
        routes = [*(Route(c, "local", None) for c in vpc.cidrs), *head.extra]
        if not head.implicit:
            routes += _declared_routes(ctx, head, vpc)
        rtb_id = head.id or aws_id(ctx.scenario, "rtb", head.name)
        ctx.route_tables[head.name] = RouteTable(
            head.name, rtb_id, vpc.name, head.main, tuple(routes), implicit=head.implicit
        )
        six = routes6(ctx, head, vpc)  # IPv6 is routed apart (4.5)
        if six:
            ctx.route_tables[head.name] = replace(ctx.route_tables[head.name], ipv6_routes=six)


def _declared_routes(ctx: Ctx, head: TableHead, vpc: Vpc) -> list[Route]:
    what = f"route table {q(head.name)}"
    items = as_list(ctx, head.routes, f"{what} routes")
    quota = "a route table holds at most 50 static routes"
    pl.check_quota(ctx, items, what, "destination_prefix_list_id", MAX_ROUTES, quota, "4.15")
    to_lists: list[tuple[int, Node, dict[str, Node], RouteTargetKind]] = []
    subnet_cidrs = {s.cidr for s in ctx.subnets.values() if s.vpc == vpc.name and s.cidr}
    seen: dict[IPv4Network, int] = {}
    routes: list[Route] = []
    for index, item in enumerate(items):
        rwhat = f"{what} route {index + 1}"
        m = as_map(ctx, item, rwhat, null_ok=False)
        if m is None:
            continue
        to_list = "destination_prefix_list_id" in m
        check_keys(ctx, m, item, rwhat, ROUTE_KEYS, () if to_list else ("destination",))
        if to_list and "destination" in m:
            rule = aws("a route has one destination: a CIDR or a prefix list", "19.4")
            ctx.error(item.where, f"{rwhat} gives both destination and a prefix list" + rule)
            continue
        if "transit_gateway_id" in m and "transit_gateway" not in m:  # AWS's spelling
            m = {**m, "transit_gateway": m["transit_gateway_id"]}
        if is_v6(m.get("destination")):
            continue  # an IPv6 route (validate_ipv6.routes6)
        if "egress_only_internet_gateway" in m:
            rule = aws("EgressOnlyInternetGatewayId routes are IPv6-only", "4.8")
            ctx.error(m["egress_only_internet_gateway"].where, f"{rwhat} is IPv4" + rule)
            continue
        given = [k for k in TARGETS if k in m]
        dest_node = m.get("destination")
        dest = cidr(ctx, dest_node, f"{rwhat} destination") if dest_node is not None else None
        if len(given) != 1:
            rule = aws("a route has exactly one target", "4.8")
            choices = (
                "internet_gateway, nat_gateway, instance, vpc_peering_connection, "
                "transit_gateway or blackhole: true"
            )
            ctx.error(item.where, f"{rwhat} needs exactly one target of {choices}" + rule)
            continue
        kind = given[0]
        if to_list:
            to_lists.append((index, item, m, kind))  # after the CIDR routes (4.12)
            continue
        target = _target(ctx, kind, m[kind], rwhat, vpc)
        if dest is None or dest_node is None:
            continue
        if dest in seen:
            rule = aws("RouteAlreadyExists, one route per destination", "4.9")
            ctx.error(dest_node, f"{rwhat} repeats destination {dest} of route {seen[dest]}" + rule)
            continue
        seen[dest] = index + 1
        dest_ok = _destination_ok(ctx, dest, dest_node, kind, rwhat, vpc, subnet_cidrs)
        if dest_ok and target is not False:
            name = target if isinstance(target, str) else None
            routes.append(Route(dest, kind, name, pos=item.pos))

    def to_target(kind: RouteTargetKind, node: Node) -> str | bool:
        return _target(ctx, kind, node, f"{what} route", vpc)

    def ok(dest: IPv4Network, node: Node, kind: RouteTargetKind) -> bool:
        entry = f"{what} prefix list entry"
        return _destination_ok(ctx, dest, node, kind, entry, vpc, subnet_cidrs)

    return routes + pl.prefix_list_routes(ctx, to_lists, set(seen), to_target, ok, what)


def _destination_ok(
    ctx: Ctx,
    dest: IPv4Network,
    node: Node,
    kind: RouteTargetKind,
    what: str,
    vpc: Vpc,
    subnet_cidrs: set[IPv4Network],
) -> bool:
    if dest in vpc.cidrs:
        rule = aws(
            "every route table already has the local route of the VPC CIDR; it cannot be "
            "deleted, and its target can only be replaced by a network interface or a "
            "Gateway Load Balancer endpoint, which netemu does not model; "
            "route a whole subnet CIDR to the interface instead",
            "4.4, 4.6",
        )
        ctx.error(node, f"{what} destination {dest} is the CIDR of VPC {q(vpc.name)}" + rule)
        return False
    if any(dest.subnet_of(c) for c in vpc.cidrs):
        if dest in subnet_cidrs and kind in ("nat_gateway", "instance"):
            return True
        rule = aws(
            "a route more specific than the local route must match a whole subnet CIDR "
            "and target a NAT gateway or a network interface",
            "4.6",
        )
        inside = next(c for c in vpc.cidrs if dest.subnet_of(c))
        msg = f"{what} destination {dest} lies inside VPC {q(vpc.name)} {inside}"
        ctx.error(node, msg + rule)
        return False
    if dest.subnet_of(_RESERVED):
        rule = aws("routes to 169.254.168.0/22 cannot be created", "4.7")
        ctx.error(node, f"{what} destination {dest} is reserved for AWS services" + rule)
        return False
    return True


def _target(ctx: Ctx, kind: RouteTargetKind, node: Node, what: str, vpc: Vpc) -> str | bool:
    """The target's name, True for a blackhole, or False when it is unusable."""
    if kind == "blackhole":
        if boolean(ctx, node, f"{what} blackhole") is False:
            ctx.error(node, f"{what}: blackhole takes only true; give a target instead")
            return False
        return True
    name = text(ctx, node, f"{what} {kind}")
    if name is None:
        return False
    owner: str | None
    if kind == "vpc_peering_connection":
        return peering_target(ctx, name, node, what, vpc)
    if kind == "transit_gateway":
        return transit_target(ctx, name, node, what, vpc)
    if kind == "internet_gateway":
        igw = ctx.lookup(IGW, name, node, ctx.internet_gateways, what)
        owner = igw.vpc if igw else None
    elif kind == "nat_gateway":
        nat = ctx.lookup(NAT, name, node, ctx.nat_gateways, what)
        owner = ctx.subnets[nat.subnet].vpc if nat else None
    else:
        instance = ctx.lookup(INSTANCE, name, node, ctx.instances, what)
        owner = ctx.subnets[instance.subnet].vpc if instance else None
        if instance is not None and instance.private_ip is None:
            rule = aws("an IPv4 route needs an interface with an IPv4 address", "4.8, 16.11")
            msg = f"{what}: instance {q(name)} has no IPv4 address (its subnet is IPv6-only)"
            ctx.error(node, msg + rule)
            return False
    if owner is None:
        return False
    if owner != vpc.name:
        label = {"internet_gateway": IGW, "nat_gateway": NAT}.get(kind, INSTANCE)
        rule = aws("a route targets a gateway or interface of the table's own VPC", "4.8, 1.9")
        msg = f"{what} targets {label} {q(name)} of VPC {q(owner)}, not of VPC {q(vpc.name)}"
        ctx.error(node, msg + rule)
        return False
    return name


def check_nat_routes(ctx: Ctx) -> None:
    """Warn when a NAT gateway's own subnet does not route to the IGW (ref 6.6)."""
    for nat in ctx.nat_gateways.values():
        subnet = ctx.subnets[nat.subnet]
        igw = ctx.igw_of(subnet.vpc)
        table = ctx.route_tables.get(subnet.route_table)
        if igw is None or table is None:
            continue  # no IGW is an error reported elsewhere
        if _reaches_igw(table, igw.name, [h.ip for h in ctx.internet_hosts.values()]):
            continue
        node = ctx.declared.get(NAT, {}).get(nat.name)
        rule = aws("the NAT gateway's own subnet needs a 0.0.0.0/0 route to the IGW", "6.6")
        msg = (
            f"NAT gateway {q(nat.name)} is in subnet {q(subnet.name)}, whose route table "
            f"{q(table.name)} has no 0.0.0.0/0 route to internet gateway {q(igw.name)}"
        )
        ctx.warn(node.where if node else None, msg + rule)


def _reaches_igw(table: RouteTable, igw: str, hosts: list[IPv4Address]) -> bool:
    """A default route to the IGW, or routes that send every internet host to it."""
    to_igw = [r for r in table.routes if r.target_kind == "internet_gateway" and r.target == igw]
    if any(r.destination.prefixlen == 0 for r in to_igw):
        return True
    if not hosts:
        return False
    for ip in hosts:
        matches = [r for r in table.routes if ip in r.destination]
        best = max(matches, key=lambda r: r.destination.prefixlen, default=None)
        if best is None or best not in to_igw:
            return False
    return True
