"""The resolution context: problems found so far, objects resolved so far, reference lookup."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from netemu.errors import Problem
from netemu.model.transit_gateway import (
    TransitGateway,
    TransitGatewayRouteTable,
    TransitGatewayVpcAttachment,
)
from netemu.model.types import (
    CommandCheck,
    DhcpOptions,
    EgressOnlyInternetGateway,
    ElasticIp,
    Eni,
    Expectation,
    Instance,
    InternetGateway,
    InternetHost,
    KeyPair,
    ManagedPrefixList,
    NatGateway,
    NetworkAcl,
    Pos,
    Route,
    RouteTable,
    SecurityGroup,
    Subnet,
    Vpc,
    VpcPeeringConnection,
)
from netemu.scenario import Node

T = TypeVar("T")

DEFAULT_POOL = IPv4Network("203.0.113.0/24")  # contract: internet.public_pool default

# Kinds of named objects, as used in Ctx.declared and in messages.
VPC = "VPC"
IGW = "internet gateway"
SUBNET = "subnet"
TABLE = "route table"
NAT = "NAT gateway"
GROUP = "security group"
ACL = "network ACL"
INSTANCE = "instance"
HOST = "internet host"
PCX = "VPC peering connection"
EIP = "elastic IP"
EIGW = "egress-only internet gateway"
PL = "prefix list"
DOPT = "DHCP options set"
NIC = "network interface"


def q(text: str) -> str:
    """A user-supplied string quoted for a message; control characters escaped, long cut."""
    shown = text if len(text) <= 64 else text[:61] + "..."
    return f"'{shown}'" if shown.isprintable() else ascii(shown)


def aws(rule: str, ref: str) -> str:
    """The trailing clause naming the AWS rule a problem breaks."""
    return f" (AWS: {rule}, ref {ref})"


def suggest(name: str, candidates: Iterable[str], what: str, label: str = "known") -> str:
    """'; did you mean 'x'?' plus the valid choices, for unknown keys and references."""
    pool = sorted(set(candidates))
    text = ""
    close = difflib.get_close_matches(name, pool, n=1)
    if not close and len(name) >= 3:  # cidr_block -> cidr, sec -> security_groups
        close = [c for c in pool if len(c) >= 3 and (name.startswith(c) or c.startswith(name))]
    if close:
        text = f"; did you mean {q(close[0])}?"
    if not pool:
        return text + f" (there are no {what})"
    listed = ", ".join(pool[:12]) + (", ..." if len(pool) > 12 else "")
    return text + f" ({label} {what}: {listed})"


@dataclass
class TableHead:
    """A route table before its routes are read (they need NAT gateways and instances)."""

    name: str
    vpc: str
    main: bool
    implicit: bool
    routes: Node | None = None  # the declared `routes` list
    id: str | None = None  # the declared `id:`; None derives one from the name
    extra: tuple[Route, ...] = ()  # routes of an implicit table after the local route


@dataclass
class Ctx:
    """Everything resolved so far. Objects with errors may be missing or hold placeholders;
    a Model is only built when no error was found."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    scenario: str = "scenario"
    region: str = "us-east-1"
    # Every name found in the file (valid or not) and every generated one, per kind: a
    # reference to a declared but broken object stays quiet instead of cascading.
    declared: dict[str, dict[str, Node | None]] = field(default_factory=dict)
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    vpc_raw: dict[str, dict[str, Node]] = field(default_factory=dict)
    default_azs: dict[str, list[str]] = field(default_factory=dict)  # default VPC -> zones
    internet_gateways: dict[str, InternetGateway] = field(default_factory=dict)
    tables: dict[str, TableHead] = field(default_factory=dict)
    main_table: dict[str, str] = field(default_factory=dict)  # vpc -> table name
    network_acls: dict[str, NetworkAcl] = field(default_factory=dict)
    default_acl: dict[str, str] = field(default_factory=dict)  # vpc -> ACL name
    subnets: dict[str, Subnet] = field(default_factory=dict)
    group_ids: dict[str, dict[str, str]] = field(default_factory=dict)  # vpc -> name -> id
    group_vpc: dict[str, str] = field(default_factory=dict)  # declared group name -> vpc
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)  # by id
    public_pool: IPv4Network = DEFAULT_POOL
    internet_hosts: dict[str, InternetHost] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    nat_gateways: dict[str, NatGateway] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    command_checks: list[CommandCheck] = field(default_factory=list)
    given_ids: dict[str, str] = field(default_factory=dict)  # `id:` values -> who gave them
    key_pairs: dict[str, KeyPair] = field(default_factory=dict)
    vpc_peering_connections: dict[str, VpcPeeringConnection] = field(default_factory=dict)
    elastic_ips: dict[str, ElasticIp] = field(default_factory=dict)
    egress_only_gateways: dict[str, EgressOnlyInternetGateway] = field(default_factory=dict)
    prefix_lists: dict[str, ManagedPrefixList] = field(default_factory=dict)
    dhcp_options: dict[str, DhcpOptions] = field(default_factory=dict)
    transit_gateways: dict[str, TransitGateway] = field(default_factory=dict)
    transit_gateway_attachments: dict[str, TransitGatewayVpcAttachment] = field(
        default_factory=dict
    )
    transit_gateway_route_tables: dict[str, TransitGatewayRouteTable] = field(default_factory=dict)
    network_interfaces: dict[str, Eni] = field(default_factory=dict)  # secondary ENIs (9.20)

    def error(self, at: Node | Pos | None, message: str) -> None:
        self.problems.append(Problem(_where(at), message, "error", self.path))

    def warn(self, at: Node | Pos | None, message: str) -> None:
        self.problems.append(Problem(_where(at), message, "warning", self.path))

    def declare(self, kind: str, name: str, node: Node | None) -> None:
        self.declared.setdefault(kind, {})[name] = node

    def is_declared(self, kind: str, name: str) -> bool:
        return name in self.declared.get(kind, {})

    def lookup(self, kind: str, name: str, at: Node, found: Mapping[str, T], who: str) -> T | None:
        """The resolved object `name` of `kind`, or None. Reports an unknown name with a
        hint; stays quiet for an object that exists but had errors of its own."""
        if name in found:
            return found[name]
        if not self.is_declared(kind, name):
            self.error(
                at, f"{who} refers to unknown {kind} {q(name)}{suggest(name, found, kind + 's')}"
            )
        return None

    def igw_of(self, vpc: str) -> InternetGateway | None:
        return next((g for g in self.internet_gateways.values() if g.vpc == vpc), None)


def _where(at: Node | Pos | None) -> Pos | None:
    # A Node means its value; pass node.where to blame the key naming it.
    if isinstance(at, Node):
        return at.pos
    return at


def in_vpc(address: IPv4Address | IPv4Network, vpcs: Iterable[Vpc]) -> Vpc | None:
    """The first VPC whose CIDR contains (or overlaps) the address or network."""
    for vpc in vpcs:
        if isinstance(address, IPv4Network):
            if any(address.overlaps(c) for c in vpc.cidrs):
                return vpc
        elif vpc.holds(address):
            return vpc
    return None
