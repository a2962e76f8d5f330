"""Scenario -> Model: the resolution pipeline, one step per line, then one verdict.

Every step reads its part of the raw scenario, applies the AWS defaults, records what it
resolved in a shared context and adds every problem it finds without stopping. Only at the
end is the verdict given: a Model plus warnings, or ScenarioInvalid carrying every problem.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePath

from netemu.errors import Problem, ScenarioInvalid
from netemu.model import validate_elastic_ips
from netemu.model import validate_ipv6 as v6
from netemu.model.types import Model
from netemu.model.validate_context import (
    ACL,
    EIGW,
    GROUP,
    HOST,
    IGW,
    INSTANCE,
    NAT,
    NIC,
    SUBNET,
    TABLE,
    VPC,
    Ctx,
    q,
)
from netemu.model.validate_dhcp_options import read_dhcp_options
from netemu.model.validate_endpoints import read_vpc_endpoints
from netemu.model.validate_enis import read_enis
from netemu.model.validate_expect import read_expectations
from netemu.model.validate_fields import as_map, check_keys, text
from netemu.model.validate_flow_logs import read_flow_logs
from netemu.model.validate_internet import read_internet
from netemu.model.validate_key_pairs import read_key_pairs
from netemu.model.validate_network import (
    read_internet_gateways,
    read_route_table_heads,
    read_subnets,
    read_vpcs,
)
from netemu.model.validate_peering import read_vpc_peering_connections
from netemu.model.validate_prefix_lists import read_prefix_lists
from netemu.model.validate_routes import check_nat_routes, read_routes
from netemu.model.validate_security import read_network_acls, read_security_groups
from netemu.model.validate_transit_gateway import read_transit_gateways
from netemu.scenario import Node, load, load_text

TOP_KEYS = (
    "name",
    "region",
    "description",
    "vpcs",
    "internet_gateways",
    "subnets",
    "route_tables",
    "nat_gateways",
    "security_groups",
    "network_acls",
    "instances",
    "key_pairs",
    "internet",
    "expect",
    "flow_logs",
    "vpc_peering_connections",
    "elastic_ips",
    "egress_only_internet_gateways",
    "prefix_lists",
    "dhcp_options",
    "transit_gateways",
    "transit_gateway_attachments",
    "transit_gateway_vpc_attachments",
    "transit_gateway_route_tables",
    "vpc_endpoints",
    "network_interfaces",
)
SECTIONS = {
    "vpcs": VPC,
    "internet_gateways": IGW,
    "subnets": SUBNET,
    "route_tables": TABLE,
    "nat_gateways": NAT,
    "security_groups": GROUP,
    "network_acls": ACL,
    "instances": INSTANCE,
    "egress_only_internet_gateways": EIGW,
    "network_interfaces": NIC,
}
SCENARIO_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,11}")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
DEFAULT_REGION = "us-east-1"


def load_model(path: str) -> tuple[Model, list[Problem]]:
    """Load, resolve and validate a scenario file: the Model and its warnings."""
    return resolve(load(path), path)


def load_model_text(text: str, path: str = "<test>") -> tuple[Model, list[Problem]]:
    """load_model for inline YAML (tests)."""
    return resolve(load_text(text, path), path)


def resolve(raw: Node, path: str) -> tuple[Model, list[Problem]]:
    """Raw scenario -> (Model, warnings); raises ScenarioInvalid with every problem found."""
    ctx = Ctx(path)
    top = _read_top(ctx, raw)  # name, region, known top-level keys
    if top is None:
        raise ScenarioInvalid(ctx.problems)
    _declare_names(ctx, top)  # every name, so references to broken objects stay quiet
    validate_elastic_ips.declare(ctx, top)  # `elastic_ip: NAME` must know them (9.13)
    read_vpcs(ctx, raw, top)  # VPCs and the default VPC shortcut (1.x, 3.x)
    v6.read_vpc_ipv6(ctx)  # their IPv6 blocks (16.1)
    read_dhcp_options(ctx, top)  # DHCP options sets and each VPC's (10.20)
    read_prefix_lists(ctx, top)  # customer-managed prefix lists (19.x)
    read_vpc_peering_connections(ctx, top)  # two VPCs that do not overlap (1.10-1.14)
    read_internet_gateways(ctx, top)  # at most one per VPC (5.1)
    read_route_table_heads(ctx, top)  # one main route table per VPC (4.1-4.3)
    read_network_acls(ctx, top)  # default and declared network ACLs (8.x)
    read_subnets(ctx, top)  # CIDRs, zones, table and ACL associations (2.x)
    v6.read_subnet_ipv6(ctx, top)  # their /64s (16.2, 16.3)
    read_transit_gateways(ctx, top)  # gateways, VPC attachments, their route tables (18.1-18.9)
    read_security_groups(ctx, top)  # default and declared security groups (7.x)
    read_internet(ctx, top)  # public pool and internet hosts (5.5)
    v6.read_host_ipv6(ctx, top)  # internet hosts' IPv6 addresses
    read_key_pairs(ctx, top)  # key pairs an instance may be launched with (9.12)
    read_enis(ctx, top)  # instances, NAT gateways, their addresses (2.3, 6.x, 9.x)
    v6.read_eni_ipv6(ctx, top)  # instances' IPv6 addresses (16.3)
    v6.read_egress_only_gateways(ctx, top)  # egress-only internet gateways (16.5)
    read_routes(ctx)  # routes of every route table (4.x)
    endpoints = read_vpc_endpoints(ctx, top)  # VPC endpoints, their routes and services (17.x)
    check_nat_routes(ctx)  # a NAT gateway's subnet routes to the IGW (6.6)
    read_expectations(ctx, top)  # the expect list (contract section 3)
    flow_logs = read_flow_logs(ctx, top)  # VPC Flow Logs (12.x)
    problems = sorted(ctx.problems, key=_order)
    if any(p.severity == "error" for p in problems):
        raise ScenarioInvalid(problems)
    model = _model(ctx)
    return dataclasses.replace(model, flow_logs=tuple(flow_logs), vpc_endpoints=endpoints), problems


def default_name(path: str) -> str:
    """The file stem made into a scenario name: lowercase, [a-z0-9-], at most 12 chars."""
    stem = re.sub(r"[^a-z0-9-]", "-", PurePath(path).stem.lower())
    name = re.sub(r"^[^a-z]+", "", stem)[:12].rstrip("-")
    return name if SCENARIO_NAME_RE.fullmatch(name) else "scenario"


def _read_top(ctx: Ctx, raw: Node) -> dict[str, Node] | None:
    if raw.tag == "null":
        ctx.error(raw.pos, "the scenario is empty; it needs at least a 'vpcs' mapping")
        return None
    top = as_map(ctx, raw, "the scenario", null_ok=False)
    if top is None:
        return None
    check_keys(ctx, top, raw, "the scenario", TOP_KEYS)
    ctx.scenario = default_name(ctx.path)
    if "name" in top:
        name = text(ctx, top["name"], "name")
        if name is not None and SCENARIO_NAME_RE.fullmatch(name):
            ctx.scenario = name
        elif name is not None:
            msg = f"name {q(name)} must be a lowercase letter then up to 11 of a-z, 0-9, '-'"
            ctx.error(top["name"], msg + " (netemu: it prefixes every kernel object)")
    if "region" in top:
        region = text(ctx, top["region"], "region")
        if region is not None and REGION_RE.fullmatch(region):
            ctx.region = region
        elif region is not None:
            ctx.error(top["region"], f"region {q(region)} does not look like us-east-1")
    else:
        ctx.region = DEFAULT_REGION
    if "description" in top:
        text(ctx, top["description"], "description")
    return top


def _declare_names(ctx: Ctx, top: dict[str, Node]) -> None:
    for key, kind in SECTIONS.items():
        node = top.get(key)
        if node is not None and isinstance(node.value, dict):
            for name, value in node.value.items():
                ctx.declare(kind, name, value)
    internet = top.get("internet")
    hosts = internet.value.get("hosts") if internet and isinstance(internet.value, dict) else None
    if hosts is not None and isinstance(hosts.value, dict):
        for name, value in hosts.value.items():
            ctx.declare(HOST, name, value)


def _order(p: Problem) -> tuple[int, int, int]:
    return (0, 0, 0) if p.pos is None else (1, p.pos.line, p.pos.col)


def _model(ctx: Ctx) -> Model:
    return Model(
        name=ctx.scenario,
        region=ctx.region,
        source=ctx.path,
        vpcs=ctx.vpcs,
        internet_gateways=ctx.internet_gateways,
        subnets=ctx.subnets,
        route_tables=ctx.route_tables,
        security_groups=ctx.security_groups,
        network_acls=ctx.network_acls,
        instances=ctx.instances,
        nat_gateways=ctx.nat_gateways,
        public_pool=ctx.public_pool,
        internet_hosts=ctx.internet_hosts,
        expectations=tuple(ctx.expectations),
        key_pairs=ctx.key_pairs,
        command_checks=tuple(ctx.command_checks),
        vpc_peering_connections=ctx.vpc_peering_connections,
        elastic_ips=ctx.elastic_ips,
        egress_only_internet_gateways=ctx.egress_only_gateways,
        prefix_lists=ctx.prefix_lists,
        dhcp_options=ctx.dhcp_options,
        transit_gateways=ctx.transit_gateways,
        transit_gateway_attachments=ctx.transit_gateway_attachments,
        transit_gateway_route_tables=ctx.transit_gateway_route_tables,
        network_interfaces=ctx.network_interfaces,
    )
