"""VPCs (with the default VPC shortcut), internet gateways, route table heads and subnets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Network
from typing import Protocol

from netemu.model import validate_vpc_cidrs
from netemu.model.ids import aws_id
from netemu.model.types import InternetGateway, Route, Subnet, Vpc
from netemu.model.validate_context import (
    ACL,
    IGW,
    SUBNET,
    TABLE,
    VPC,
    Ctx,
    TableHead,
    aws,
    q,
)
from netemu.model.validate_fields import (
    as_list,
    as_map,
    check_keys,
    cidr,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.scenario import Node

VPC_KEYS = (
    "id",
    "is_default",
    "cidr",
    "cidrs",
    "dns_hostnames",
    "default",
    "azs",
    "default_security_group",
    "default_network_acl",
    "ipv6",
    "ipv6_cidr",
    "dhcp_options_id",
)
SUBNET_KEYS = (
    *("id", "vpc", "cidr", "az", "public_ip_on_launch", "route_table", "network_acl"),
    "default_for_az",
    *("ipv6_cidr", "assign_ipv6_address_on_creation", "ipv6_native", "enable_dns64"),
)
TABLE_KEYS = ("id", "vpc", "main", "routes")
IGW_KEYS = ("id", "vpc")

MAX_VPCS = 5  # default quota, ref 1.8
DEFAULT_VPC_CIDR = IPv4Network("172.31.0.0/16")  # ref 3.2
DEFAULT_AZS = ("a", "b", "c")
ANY = IPv4Network("0.0.0.0/0")
_LINK_LOCAL = IPv4Network("169.254.0.0/16")
_DOCKER = IPv4Network("172.17.0.0/16")
_NOT_UNICAST = tuple(
    IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
)
_ZONE_SUFFIX = re.compile(r"[a-z]|-[a-z0-9-]*[a-z]")


class _InVpc(Protocol):
    @property
    def vpc(self) -> str: ...


def read_vpcs(ctx: Ctx, root: Node, top: dict[str, Node]) -> None:
    node = top.get("vpcs")
    if node is None:
        ctx.error(root.pos, "the scenario needs a 'vpcs' mapping with at least one VPC")
        return
    entries = as_map(ctx, node, "'vpcs'")
    if entries is None:
        return
    if not entries:
        ctx.error(node.where, "'vpcs' declares no VPC; a scenario needs at least one")
    default_vpc: str | None = None
    for index, (name, vnode) in enumerate(entries.items()):
        object_name(ctx, VPC, name, vnode)
        what = f"VPC {q(name)}"
        if index == MAX_VPCS:
            msg = f"{what} is a VPC too many" + aws("the default quota is 5 VPCs per Region", "1.8")
            ctx.error(vnode.where, msg)
        m = as_map(ctx, vnode, what, null_ok=False)
        if m is None:
            continue
        is_default = opt_bool(ctx, m, "default", what, False)
        check_keys(ctx, m, vnode, what, VPC_KEYS, () if is_default else ("cidr",))
        net: IPv4Network | None
        if is_default:
            net = _default_vpc(ctx, name, m, default_vpc)
            default_vpc = default_vpc or name
        else:
            net = _vpc_cidr(ctx, m, what)
        # is_default: the IsDefault flag of an imported default VPC, built from its own
        # declared parts instead of the `default: true` shortcut
        flagged = opt_bool(ctx, m, "is_default", what, False)
        if flagged and not is_default:
            if default_vpc is not None:
                rule = aws("a Region has one default VPC", "3.1")
                msg = f"{what} is a second default VPC; {q(default_vpc)} already is"
                ctx.error(m["is_default"], msg + rule)
            default_vpc = default_vpc or name
        dns = opt_bool(ctx, m, "dns_hostnames", what, is_default or flagged)  # ref 3.4, 10.3
        vpc_id = object_id(ctx, m, "vpc", name, what)
        if net is not None:
            more = validate_vpc_cidrs.secondary(ctx, m, what, net)  # `cidrs:` (1.4, 1.5)
            ctx.vpcs[name] = Vpc(name, vpc_id, net, dns, is_default or flagged, index, more)
            ctx.vpc_raw[name] = m


def _vpc_cidr(ctx: Ctx, m: dict[str, Node], what: str) -> IPv4Network | None:
    if "azs" in m:
        ctx.error(m["azs"].where, f"{what}: 'azs' only applies to a default VPC (default: true)")
    if "cidr" not in m:
        return None
    node = m["cidr"]
    net = cidr(ctx, node, f"{what} CIDR", (16, 28), aws("a VPC CIDR is /16 to /28", "1.1"))
    if net is None:
        return None
    if net.overlaps(_LINK_LOCAL):
        rule = aws("169.254.0.0/16 may never be used for a VPC", "1.3")
        ctx.error(node, f"{what} CIDR {net} is link-local" + rule)
    elif any(net.overlaps(bad) for bad in _NOT_UNICAST):
        ctx.error(node, f"{what} CIDR {net} is not a unicast range (netemu cannot address it)")
    elif net.overlaps(_DOCKER):
        rule = aws("AWS advises against 172.17.0.0/16, which Docker uses", "1.3")
        ctx.warn(node, f"{what} CIDR {net} overlaps 172.17.0.0/16" + rule)
    return net


def _default_vpc(ctx: Ctx, name: str, m: dict[str, Node], other: str | None) -> IPv4Network:
    what = f"VPC {q(name)}"
    if other is not None:
        rule = aws("a Region has one default VPC", "3.1")
        ctx.error(m["default"], f"{what} is a second default VPC; {q(other)} already is" + rule)
    if "cidr" in m:
        net = cidr(ctx, m["cidr"], f"{what} CIDR")
        if net is not None and net != DEFAULT_VPC_CIDR:
            rule = aws("a default VPC's CIDR is 172.31.0.0/16", "3.2")
            ctx.error(m["cidr"], f"{what} is a default VPC and cannot use {net}" + rule)
    zones: list[str] = []
    items = as_list(ctx, m["azs"], f"{what} azs") if "azs" in m else None
    for item in items if items is not None else []:
        zone_name = zone(ctx, item, f"{what} azs entry")
        if zone_name in zones:
            rule = aws("at most one default subnet per Availability Zone", "3.5")
            ctx.error(item, f"{what} lists zone {zone_name} twice" + rule)
        elif zone_name is not None:
            zones.append(zone_name)
    if items is None:
        zones = [ctx.region + z for z in DEFAULT_AZS]
    if len(zones) > 16:
        rule = aws("a default subnet is a /20 and only 16 fit in 172.31.0.0/16", "3.5")
        ctx.error(m["azs"], f"{what} lists {len(zones)} zones" + rule)
        zones = zones[:16]
    if other is None:  # a second default VPC gets no subnets: their names would clash
        ctx.default_azs[name] = zones
    return DEFAULT_VPC_CIDR


def zone(ctx: Ctx, node: Node, what: str) -> str | None:
    """`a` -> `<region>a`; a full zone name must belong to the scenario's Region."""
    raw = text(ctx, node, what)
    if raw is None:
        return None
    if re.fullmatch(r"[a-z]", raw):
        return ctx.region + raw
    if raw.startswith(ctx.region) and _ZONE_SUFFIX.fullmatch(raw[len(ctx.region) :]):
        return raw
    ctx.error(
        node,
        f"{what} {q(raw)} is not an Availability Zone of {ctx.region}: write a letter like "
        f"'a' or a full name like '{ctx.region}a'"
        + aws("a subnet lives in one Availability Zone of its Region", "2.2"),
    )
    return None


def read_internet_gateways(ctx: Ctx, top: dict[str, Node]) -> None:
    for default in ctx.vpcs.values():
        if default.name in ctx.default_azs:  # ref 3.2: the default VPC comes with an IGW
            name = f"{default.name}-igw"
            igw_id = aws_id(ctx.scenario, "igw", name)
            ctx.internet_gateways[name] = InternetGateway(name, igw_id, default.name)
    for name, node in section(ctx, top, "internet_gateways").items():
        object_name(ctx, IGW, name, node)
        what = f"internet gateway {q(name)}"
        if name in ctx.internet_gateways:
            ctx.error(node.where, f"{what}: the name is taken by the default VPC's gateway")
            continue
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, IGW_KEYS, ("vpc",))
        vpc = vpc_ref(ctx, m, what)
        if vpc is None:
            continue
        other = ctx.igw_of(vpc.name)
        if other is not None:
            rule = aws("a VPC has at most one internet gateway", "5.1")
            msg = f"{what}: VPC {q(vpc.name)} already has internet gateway {q(other.name)}"
            ctx.error(m["vpc"], msg + rule)
            continue
        igw_id = object_id(ctx, m, "igw", name, what)
        ctx.internet_gateways[name] = InternetGateway(name, igw_id, vpc.name)


def vpc_ref(ctx: Ctx, m: dict[str, Node], what: str) -> Vpc | None:
    """The VPC named by an object's `vpc` key (missing keys are reported by check_keys)."""
    node = m.get("vpc")
    name = text(ctx, node, f"{what} vpc") if node is not None else None
    if node is None or name is None:
        return None
    return ctx.lookup(VPC, name, node, ctx.vpcs, what)


def read_route_table_heads(ctx: Ctx, top: dict[str, Node]) -> None:
    """Which table is main in each VPC (ref 4.1-4.3); routes are read later."""
    entries = section(ctx, top, "route_tables")
    declared: list[TableHead] = []
    for name, node in entries.items():
        object_name(ctx, TABLE, name, node)
        what = f"route table {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, TABLE_KEYS, ("vpc",))
        vpc = vpc_ref(ctx, m, what)
        main = opt_bool(ctx, m, "main", what, False)
        if vpc is None:
            continue
        if main and vpc.name in ctx.main_table:
            first = ctx.main_table[vpc.name]
            rule = aws("a VPC has exactly one main route table", "4.1, 4.2")
            msg = f"{what} is a second main route table of VPC {q(vpc.name)}; {q(first)} already is"
            ctx.error(m["main"], msg + rule)
            main = False
        elif main:
            ctx.main_table[vpc.name] = name
        head = TableHead(name, vpc.name, main, False, m.get("routes"))
        head.id = object_id(ctx, m, "rtb", name, what)
        declared.append(head)
    for owner in ctx.vpcs.values():
        if owner.name in ctx.main_table:
            continue
        name = f"{owner.name}-main"
        if name in entries:
            msg = f"route table name {q(name)} is taken by the implicit main route table of VPC"
            ctx.error(entries[name].where, f"{msg} {q(owner.name)}; pick another name")
        igw = ctx.igw_of(owner.name)
        extra: tuple[Route, ...] = ()
        if (
            owner.name in ctx.default_azs and igw is not None
        ):  # ref 3.2: 0.0.0.0/0 -> igw in the main table
            extra = (Route(ANY, "internet_gateway", igw.name),)
        ctx.tables[name] = TableHead(name, owner.name, True, True, extra=extra)
        ctx.main_table[owner.name] = name
        ctx.declare(TABLE, name, None)
    for head in declared:
        if head.name not in ctx.tables:
            ctx.tables[head.name] = head


def read_subnets(ctx: Ctx, top: dict[str, Node]) -> None:
    for default in ctx.vpcs.values():
        for i, zone_name in enumerate(ctx.default_azs.get(default.name, [])):
            suffix = zone_name[len(ctx.region) :].lstrip("-")
            block = IPv4Network((int(DEFAULT_VPC_CIDR.network_address) + i * 4096, 20))  # ref 3.2
            _add(ctx, f"default-{suffix}", default, block, zone_name, True, None, None)
    for name, node in section(ctx, top, "subnets").items():
        object_name(ctx, SUBNET, name, node)
        what = f"subnet {q(name)}"
        if name in ctx.subnets:
            ctx.error(node.where, f"{what}: the name is taken by a subnet of the default VPC")
            continue
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        native = opt_bool(ctx, m, "ipv6_native", what, False)  # IPv6-only (16.11)
        check_keys(ctx, m, node, what, SUBNET_KEYS, ("vpc",))
        if not native and "cidr" not in m:  # an IPv6-only subnet has none (16.11)
            ctx.error(node.where, f"{what} needs the key 'cidr' (or ipv6_native: true)")
        vpc = vpc_ref(ctx, m, what)
        size_rule = aws("a subnet CIDR is /16 to /28", "2.1")
        net = cidr(ctx, m["cidr"], f"{what} CIDR", (16, 28), size_rule) if "cidr" in m else None
        az = zone(ctx, m["az"], f"{what} az") if "az" in m else ctx.region + "a"
        public = opt_bool(ctx, m, "public_ip_on_launch", what, False)  # ref 2.6
        subnet_id = object_id(ctx, m, "subnet", name, what)
        if native:
            _native_conflicts(ctx, m, what, public)
            if vpc is not None:
                _add(ctx, name, vpc, None, az or ctx.region + "a", False, m, what, subnet_id)
            continue
        if vpc is None or net is None:
            continue
        if not any(net.subnet_of(c) for c in vpc.cidrs):
            rule = aws("a subnet's CIDR must lie within its VPC's CIDR", "2.1")
            blocks = ", ".join(map(str, vpc.cidrs))
            msg = f"{what} CIDR {net} is not inside VPC {q(vpc.name)} {blocks}"
            ctx.error(m["cidr"], msg + rule)
            continue
        clash = next(
            (
                s
                for s in ctx.subnets.values()
                if s.vpc == vpc.name and s.cidr is not None and s.cidr.overlaps(net)
            ),
            None,
        )
        if clash is not None:
            rule = aws("InvalidSubnet.Conflict, subnets of a VPC must not overlap", "2.1")
            msg = f"{what} CIDR {net} conflicts with subnet {q(clash.name)} {clash.cidr}"
            ctx.error(m["cidr"], msg + rule)
            continue
        _add(ctx, name, vpc, net, az or ctx.region + "a", public, m, what, subnet_id)


def _native_conflicts(ctx: Ctx, m: dict[str, Node], what: str, public: bool) -> None:
    """What an IPv6-only subnet cannot have: an IPv4 block or public IPv4 on launch (16.11)."""
    if "cidr" in m:
        rule = aws("an IPv6-only subnet has no IPv4 CIDR block", "16.11")
        ctx.error(m["cidr"], f"{what} is ipv6_native and cannot have an IPv4 cidr" + rule)
    if public:
        rule = aws("instances in an IPv6-only subnet get no IPv4 address", "16.11")
        msg = f"{what} is ipv6_native: public_ip_on_launch (MapPublicIpOnLaunch) cannot be true"
        ctx.error(m["public_ip_on_launch"], msg + rule)
    if "ipv6_cidr" not in m:
        rule = aws("an IPv6-only subnet is created with an IPv6 CIDR block", "16.11")
        ctx.error(m["ipv6_native"], f"{what} is ipv6_native and needs an ipv6_cidr" + rule)


def _add(
    ctx: Ctx,
    name: str,
    vpc: Vpc,
    net: IPv4Network | None,
    az: str,
    public: bool,
    m: dict[str, Node] | None,
    what: str | None,
    subnet_id: str | None = None,
) -> None:
    table = ctx.main_table.get(vpc.name, "")  # ref 2.8: implicitly the main table
    acl = ctx.default_acl.get(vpc.name, "")  # ... and the default network ACL
    if m is not None and what is not None:
        table = _association(ctx, m, "route_table", TABLE, ctx.tables, vpc, what) or table
        acl = _association(ctx, m, "network_acl", ACL, ctx.network_acls, vpc, what) or acl
    default_for_az = m is None  # a subnet of the default VPC shortcut
    if m is not None and what is not None:
        default_for_az = opt_bool(ctx, m, "default_for_az", what, False)
        if default_for_az and not vpc.is_default:
            rule = aws("default subnets exist only in the default VPC", "3.5")
            ctx.error(
                m["default_for_az"], f"{what} is a default subnet in VPC {q(vpc.name)}" + rule
            )
    ctx.subnets[name] = Subnet(
        name,
        subnet_id or aws_id(ctx.scenario, "subnet", name),
        *(vpc.name, net, az, public, table, acl, len(ctx.subnets), default_for_az),
    )
    if m is None:
        ctx.declare(SUBNET, name, None)


def _association(
    ctx: Ctx,
    m: dict[str, Node],
    key: str,
    kind: str,
    found: Mapping[str, _InVpc],
    vpc: Vpc,
    what: str,
) -> str | None:
    node = m.get(key)
    name = text(ctx, node, f"{what} {key}") if node is not None else None
    if node is None or name is None:
        return None
    target = ctx.lookup(kind, name, node, found, what)
    if target is not None and target.vpc != vpc.name:
        rule = aws(f"a subnet can only be associated with a {kind} of its own VPC", "2.8")
        msg = f"{what} uses {kind} {q(name)} of VPC {q(target.vpc)}, not of its VPC {q(vpc.name)}"
        ctx.error(node, msg + rule)
    return name if target is not None else None
