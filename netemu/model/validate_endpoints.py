"""VPC endpoints (`vpc_endpoints:`): the service, the type, its route tables or subnets, and
AWS's refusals (ref 17.1-17.5); the emulated services they lead to (model.aws_services).

A gateway endpoint adds, to each route table it names, one route per entry of its service's
AWS-managed prefix list, targeting the endpoint (ref 17.2). Every service a scenario uses
(through an endpoint, a rule's prefix list, or `internet.aws_services`) becomes an internet
host named after it, at its public address, answering HTTP on 80 and 443.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Literal, cast

from netemu.model.aws_services import (
    SERVICE_PORTS,
    SERVICES,
    AwsService,
    managed_prefix_list,
    service_by_name,
)
from netemu.model.ids import aws_id, eni_mac
from netemu.model.types import Eni, Route, Service, VpcEndpoint
from netemu.model.validate_context import HOST, INSTANCE, NAT, SUBNET, TABLE, VPC, Ctx, aws, q
from netemu.model.validate_fields import (
    as_list,
    as_map,
    check_keys,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.model.validate_internet import add_host
from netemu.model.validate_managed_prefix_lists import used_services
from netemu.model.validate_security import group_list
from netemu.scenario import Node

VPCE = "VPC endpoint"
ENDPOINT_KEYS = (
    "id",
    "vpc",
    "service_name",
    "vpc_endpoint_type",
    "route_table_ids",
    "subnet_ids",
    "security_group_ids",
    "private_dns_enabled",
    "policy_document",
)
TYPES = ("Gateway", "Interface")
EndpointType = Literal["Gateway", "Interface"]


def read_vpc_endpoints(ctx: Ctx, top: dict[str, Node]) -> dict[str, VpcEndpoint]:
    """Every endpoint of the scenario; gateway routes go into ctx.route_tables."""
    out: dict[str, VpcEndpoint] = {}
    for name, node in section(ctx, top, "vpc_endpoints").items():
        object_name(ctx, VPCE, name, node)
        ctx.declare(VPCE, name, node)
        what = f"VPC endpoint {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, ENDPOINT_KEYS, ("vpc", "service_name"))
        endpoint = _endpoint(ctx, name, m, what, len(out))
        if endpoint is not None:
            out[name] = endpoint
    out = _interface_enis(ctx, out)  # after every instance and NAT gateway has its ENI
    _one_route_per_service(ctx, out, top)
    for ep in out.values():
        if ep.vpc_endpoint_type == "Gateway":
            _add_routes(ctx, ep)
    add_services(ctx, top, {ep.service for ep in out.values()})
    return out


def _endpoint(ctx: Ctx, name: str, m: dict[str, Node], what: str, index: int) -> VpcEndpoint | None:
    vpc_node = m.get("vpc")
    vpc_name = text(ctx, vpc_node, f"{what} vpc") if vpc_node is not None else None
    vpc = ctx.lookup(VPC, vpc_name, vpc_node, ctx.vpcs, what) if vpc_node and vpc_name else None
    kind = _type(ctx, m, what)
    service = _service(ctx, m, what, kind)
    if vpc is None or kind is None or service is None:
        return None
    vpce_id = object_id(ctx, m, "vpce", name, what)
    policy = _policy(ctx, m, what)
    if kind == "Gateway":
        for key in ("subnet_ids", "security_group_ids", "private_dns_enabled"):
            if key in m:
                rule = aws("a gateway endpoint has route tables, not subnets or groups", "17.2")
                ctx.error(m[key].where, f"{what}: '{key}' is for Interface endpoints" + rule)
        tables = _names(ctx, m.get("route_table_ids"), f"{what} route_table_ids", TABLE)
        for table, tnode in tables:
            head = ctx.route_tables.get(table)
            if head is None:
                if not ctx.is_declared(TABLE, table):
                    ctx.lookup(TABLE, table, tnode, ctx.route_tables, what)
                continue
            if head.vpc != vpc.name:
                rule = aws("an endpoint's route tables belong to its VPC", "17.2")
                msg = f"{what}: route table {q(table)} is in VPC {q(head.vpc)}, not {q(vpc.name)}"
                ctx.error(tnode, msg + rule)
        return VpcEndpoint(
            name,
            vpce_id,
            vpc.name,
            service.short,
            service.service_name(ctx.region),
            "Gateway",
            route_table_ids=tuple(t for t, _ in tables if t in ctx.route_tables),
            index=index,
            policy=policy,
        )
    if "route_table_ids" in m:
        rule = aws("an interface endpoint has subnets, not route tables", "17.3")
        ctx.error(m["route_table_ids"].where, f"{what}: 'route_table_ids' is for Gateway" + rule)
    subnets = _names(ctx, m.get("subnet_ids"), f"{what} subnet_ids", SUBNET)
    zones: dict[str, str] = {}
    for sub_name, snode in subnets:
        sub = ctx.lookup(SUBNET, sub_name, snode, ctx.subnets, what)
        if sub is None:
            continue
        if sub.vpc != vpc.name:
            rule = aws("an endpoint's subnets belong to its VPC", "17.3")
            msg = f"{what}: subnet {q(sub_name)} is in VPC {q(sub.vpc)}, not {q(vpc.name)}"
            ctx.error(snode, msg + rule)
        elif sub.az in zones:
            rule = aws("an interface endpoint has one subnet per Availability Zone", "17.3")
            other = q(zones[sub.az])
            ctx.error(
                snode, f"{what}: subnets {other} and {q(sub_name)} are both in {sub.az}" + rule
            )
        zones[sub.az] = sub_name
    if not subnets:
        ctx.error(
            m.get("subnet_ids", m["vpc"]).where, f"{what} needs at least one subnet in 'subnet_ids'"
        )
    groups = group_list(ctx, m.get("security_group_ids"), what, vpc.name)
    dns = opt_bool(ctx, m, "private_dns_enabled", what, True)
    if dns and not vpc.dns_hostnames:
        rule = aws("private DNS needs the VPC's enableDnsHostnames and enableDnsSupport", "17.4")
        at = m.get("private_dns_enabled", m["vpc"])
        msg = f"{what}: private DNS needs dns_hostnames: true on VPC {q(vpc.name)}"
        ctx.error(at.where, msg + rule)
    return VpcEndpoint(
        name,
        vpce_id,
        vpc.name,
        service.short,
        service.service_name(ctx.region),
        "Interface",
        subnet_ids=tuple(zones.values()),
        security_group_ids=groups,
        private_dns_enabled=dns,
        index=index,
        policy=policy,
    )


def _type(ctx: Ctx, m: dict[str, Node], what: str) -> EndpointType | None:
    node = m.get("vpc_endpoint_type")
    if node is None:
        return "Gateway"  # CreateVpcEndpoint's default (ref 17.1)
    value = text(ctx, node, f"{what} vpc_endpoint_type")
    if value is not None and value not in TYPES:
        ctx.error(node, f"{what} vpc_endpoint_type {q(value)} must be Gateway or Interface")
        return None
    return cast(EndpointType, value) if value is not None else None


def _service(ctx: Ctx, m: dict[str, Node], what: str, kind: str | None) -> AwsService | None:
    node = m.get("service_name")
    value = text(ctx, node, f"{what} service_name") if node is not None else None
    if node is None or value is None:
        return None
    service = service_by_name(ctx.region, value)
    if service is None:
        names = ", ".join(s.service_name(ctx.region) for s in SERVICES.values())
        msg = f"{what} service_name {q(value)} is not an emulated service of {ctx.region}"
        ctx.error(node, f"{msg} (emulated: {names})")
        return None
    if kind == "Gateway" and not service.gateway:
        rule = aws("gateway endpoints exist for Amazon S3 and DynamoDB only", "17.1")
        ctx.error(node, f"{what}: {value} has no Gateway endpoint" + rule)
        return None
    return service


def _policy(ctx: Ctx, m: dict[str, Node], what: str) -> str | None:
    node = m.get("policy_document")
    if node is None:
        return None
    ctx.warn(
        node.where,
        f"{what}: the endpoint policy is kept but not enforced; every principal and action "
        "is allowed (netemu: see aws-decisions.md)",
    )
    return str(node.value) if isinstance(node.value, str) else "{}"


def _names(ctx: Ctx, node: Node | None, what: str, kind: str) -> list[tuple[str, Node]]:
    out: list[tuple[str, Node]] = []
    for item in as_list(ctx, node, what):
        value = text(ctx, item, what)
        if value is None:
            continue
        if any(v == value for v, _ in out):
            ctx.error(item, f"{what} lists {kind} {q(value)} twice")
            continue
        out.append((value, item))
    return out


def _one_route_per_service(ctx: Ctx, eps: dict[str, VpcEndpoint], top: dict[str, Node]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for ep in eps.values():
        for table in ep.route_table_ids:
            key = (table, ep.service)
            if key in seen:
                rule = aws("a route table has one endpoint route per service", "17.2")
                node = section(ctx, top, "vpc_endpoints")[ep.name]
                msg = (
                    f"VPC endpoint {q(ep.name)}: route table {q(table)} already routes "
                    f"{ep.service_name} to VPC endpoint {q(seen[key])}"
                )
                ctx.error(node.where, msg + rule)
            seen[key] = ep.name


def _add_routes(ctx: Ctx, ep: VpcEndpoint) -> None:
    """One route per prefix-list entry in each chosen table, after the declared ones."""
    pl = managed_prefix_list(ctx.region, ep.service)
    for name in ep.route_table_ids:
        table = ctx.route_tables[name]
        static = {r.destination for r in table.routes}
        # A static route to the same CIDR wins over the prefix-list route (ref 4.12).
        extra = tuple(
            Route(c, "vpc_endpoint", ep.name, prefix_list_id=pl.id)
            for c in pl.cidrs
            if c not in static
        )
        ctx.route_tables[name] = replace(table, routes=table.routes + extra)


def add_services(ctx: Ctx, top: dict[str, Node], wanted: set[str]) -> None:
    """The emulated services the scenario uses, as internet hosts named after them."""
    wanted = wanted | used_services(ctx) | _asked(ctx, top)
    for short in sorted(wanted, key=list(SERVICES).index):
        service = SERVICES[short]
        who = f"the emulated service {service.service_name(ctx.region)} at {service.address}"
        for kind in (INSTANCE, NAT, HOST):
            if ctx.is_declared(kind, short):
                msg = f"{kind} {q(short)} has the name of {who}; expectations name it {q(short)}"
                ctx.error(ctx.declared[kind][short], msg)
        svcs = tuple(Service("http", port) for port in SERVICE_PORTS)
        add_host(ctx, short, service.address, svcs, None, who)
        ctx.internet_hosts[short] = replace(ctx.internet_hosts[short], aws_service=short)
        ctx.declare(HOST, short, None)


def _asked(ctx: Ctx, top: dict[str, Node]) -> set[str]:
    """`internet.aws_services: [s3, ...]`: services wanted without an endpoint (e.g. via NAT)."""
    internet = top.get("internet")
    node = (
        internet.value.get("aws_services")
        if internet and isinstance(internet.value, dict)
        else None
    )
    out: set[str] = set()
    for item in as_list(ctx, node, "internet aws_services") if node is not None else []:
        value = text(ctx, item, "internet aws_services")
        if value is not None and value not in SERVICES:
            known = ", ".join(SERVICES)
            msg = f"internet aws_services: {q(value)} is not an emulated service"
            ctx.error(item, f"{msg} (emulated: {known})")
        elif value is not None:
            out.add(value)
    return out


def _interface_enis(ctx: Ctx, eps: dict[str, VpcEndpoint]) -> dict[str, VpcEndpoint]:
    """One requester-managed ENI per subnet of each interface endpoint (17.3): the lowest
    free address of the subnet, the next port, its groups, no public IP."""
    enis = [i.eni for i in ctx.instances.values()] + [n.eni for n in ctx.nat_gateways.values()]
    macs = {e.mac for e in enis}
    taken = {e.private_ip for e in enis}
    ports: dict[str, int] = {}
    for e in enis:
        ports[e.subnet] = max(ports.get(e.subnet, 0), e.port + 1)
    out: dict[str, VpcEndpoint] = {}
    for ep in eps.values():
        made: list[Eni] = []
        for sub_name in ep.subnet_ids:
            sub = ctx.subnets[sub_name]
            if sub.cidr is None:
                msg = f"interface endpoint {q(ep.name)}: subnet {q(sub_name)} is IPv6-only"
                ctx.error(None, msg + "; netemu emulates IPv4 endpoint ENIs only (17.3)")
                continue
            ip = next((a for a in _free(sub.cidr) if a not in taken), None)
            if ip is None:
                msg = f"subnet {q(sub_name)} {sub.cidr} has no free address left for {ep.name}"
                ctx.error(None, msg + aws("an endpoint ENI takes an address of its subnet", "17.3"))
                continue
            taken.add(ip)
            eni_id = aws_id(ctx.scenario, "eni", f"vpce/{ep.name}/{sub_name}")
            mac = eni_mac(eni_id, macs)
            macs.add(mac)
            port = ports.get(sub_name, 0)
            ports[sub_name] = port + 1
            owner = f"{ep.name}-{sub.az[len(ctx.region) :] or sub.az}"
            made.append(
                Eni(eni_id, sub_name, ip, mac, ep.security_group_ids, True, None, False,
                    "vpc_endpoint", owner, port)
            )  # fmt: skip
        out[ep.name] = replace(ep, network_interfaces=tuple(made))
    return out


def _free(net: IPv4Network) -> Iterator[IPv4Address]:
    """A subnet's usable addresses, lowest first (the first four and the last are AWS's, 2.3)."""
    for n in range(int(net.network_address) + 4, int(net.broadcast_address)):
        yield IPv4Address(n)
