"""IPv6 of a dual-stack scenario: VPC /56, subnet /64, addresses, egress-only gateways, routes.

Each step runs right after the IPv4 step it extends (model.resolve) and replaces the objects
that step resolved with their IPv6 fields filled in, so the IPv4 readers stay unaware of
IPv6. netemu's closed world holds for IPv6 too: every block lies in the documentation
prefix 2001:db8::/32 (ref 16.1, docs/aws-decisions.md).
"""

from __future__ import annotations

import dataclasses
from ipaddress import AddressValueError, IPv6Address, IPv6Network, NetmaskValueError
from typing import Literal

from netemu.model.types import EgressOnlyInternetGateway, Route6, Route6TargetKind, Subnet, Vpc
from netemu.model.validate_context import EIGW, IGW, INSTANCE, Ctx, TableHead, aws, q
from netemu.model.validate_fields import (
    as_map,
    check_keys,
    integer,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.model.validate_network import vpc_ref
from netemu.scenario import Node

EIGW_KEYS = ("id", "vpc")
DOCUMENTATION = IPv6Network("2001:db8::/32")  # the only IPv6 netemu addresses (closed world)
INTERNET_BLOCK = IPv6Network("2001:db8:ff00::/40")  # internet hosts' picked addresses
ANY6 = IPv6Network("::/0")
FIRST_PICKED = 0x10  # picked addresses start at ::10 of a subnet (after the reserved ::0-::3)


def is_v6(node: Node | None) -> bool:
    """An IPv6 literal is recognised by its colon (no IPv4 form has one)."""
    return node is not None and isinstance(node.value, str) and ":" in node.value


def cidr6(
    ctx: Ctx, node: Node, what: str, sizes: tuple[int, int] = (0, 128), size_rule: str = ""
) -> IPv6Network | None:
    """An IPv6 CIDR with host bits zero and a prefix length within `sizes`."""
    raw = text(ctx, node, what)
    if raw is None:
        return None
    try:
        net = IPv6Network(raw.strip(), strict=False)
    except (AddressValueError, NetmaskValueError, ValueError):
        ctx.error(node, f"{what} {q(raw)} is not an IPv6 CIDR like 2001:db8:1::/56")
        return None
    lo, hi = sizes
    if not lo <= net.prefixlen <= hi:
        ctx.error(node, f"{what} {raw} must be between /{lo} and /{hi}{size_rule}")
        return None
    if IPv6Address(raw.strip().split("/")[0]) != net.network_address:
        rule = aws("a CIDR is taken with its host bits zeroed", "1.2")
        ctx.warn(node, f"{what} {raw} has host bits set; taken as {net}" + rule)
    return net


def address6(ctx: Ctx, node: Node, what: str) -> IPv6Address | None:
    raw = text(ctx, node, what)
    if raw is None:
        return None
    try:
        return IPv6Address(raw.strip())
    except (AddressValueError, ValueError):
        ctx.error(node, f"{what} {q(raw)} is not an IPv6 address like 2001:db8:1::10")
        return None


def _closed_world(ctx: Ctx, node: Node, net: IPv6Network, what: str) -> bool:
    if net.subnet_of(DOCUMENTATION):
        return True
    msg = f"{what} {net} is outside 2001:db8::/32; netemu addresses only the documentation"
    ctx.error(node, msg + " prefix so that nothing can leave the emulation (ref 16.1)")
    return False


# -- VPCs ---------------------------------------------------------------------------------


def read_vpc_ipv6(ctx: Ctx) -> None:
    """`ipv6: true` (an Amazon-provided /56, written from 2001:db8::/32) or `ipv6_cidr`."""
    taken: dict[IPv6Network, str] = {}
    for vpc in list(ctx.vpcs.values()):
        m = ctx.vpc_raw.get(vpc.name, {})
        what = f"VPC {q(vpc.name)}"
        wanted = opt_bool(ctx, m, "ipv6", what, False)
        net: IPv6Network | None = None
        if "ipv6_cidr" in m:
            rule = aws("a VPC's IPv6 block is a /56 (Amazon-provided) or /44 to /60", "16.1")
            net = cidr6(ctx, m["ipv6_cidr"], f"{what} ipv6_cidr", (44, 60), rule)
            if net is not None and not _closed_world(ctx, m["ipv6_cidr"], net, f"{what} ipv6_cidr"):
                net = None
            if "ipv6" in m and not wanted:
                ctx.error(m["ipv6"], f"{what} has an ipv6_cidr; 'ipv6: false' contradicts it")
        elif wanted:
            net = IPv6Network(f"2001:db8:{vpc.index + 1:x}::/56")
        if net is None:
            continue
        clash = next((n for n in taken if n.overlaps(net)), None)
        if clash is not None:
            rule = aws("Amazon-provided IPv6 blocks are globally unique", "16.1")
            node = m.get("ipv6_cidr") or m.get("ipv6")
            msg = f"{what} IPv6 block {net} overlaps VPC {q(taken[clash])} {clash}"
            ctx.error(node.where if node else None, msg + rule)
            continue
        taken[net] = vpc.name
        ctx.vpcs[vpc.name] = dataclasses.replace(vpc, ipv6_cidr=net)


# -- subnets ------------------------------------------------------------------------------


def read_subnet_ipv6(ctx: Ctx, top: dict[str, Node]) -> None:
    """A subnet's /64 (given, or `auto`: the VPC block's next /64) and its launch default."""
    for name, node in section(ctx, top, "subnets").items():
        subnet = ctx.subnets.get(name)
        m = node.value if isinstance(node.value, dict) else None
        if subnet is None or m is None:
            continue
        what = f"subnet {q(name)}"
        vpc = ctx.vpcs[subnet.vpc]
        native = subnet.cidr is None  # ipv6_native (validate_network)
        if opt_bool(ctx, m, "enable_dns64", what, False):
            msg = f"{what} enable_dns64: DNS64 (and NAT64 by a NAT gateway's 64:ff9b::/96 route,"
            ctx.error(m["enable_dns64"], msg + " ref 16.13) is not emulated by netemu yet")
        net = _subnet_block(ctx, m, subnet, vpc, what) if "ipv6_cidr" in m else None
        assign = opt_bool(ctx, m, "assign_ipv6_address_on_creation", what, native)
        if native and not assign:
            rule = aws("an IPv6-only subnet assigns an IPv6 address to every ENI", "16.11")
            msg = f"{what} is ipv6_native: assign_ipv6_address_on_creation cannot be false"
            ctx.error(m["assign_ipv6_address_on_creation"], msg + rule)
        if assign and net is None and "ipv6_cidr" not in m and not native:
            rule = aws("only a subnet with an IPv6 CIDR can assign IPv6 addresses", "16.3")
            ctx.error(m["assign_ipv6_address_on_creation"], f"{what} has no ipv6_cidr" + rule)
        if net is not None:
            ctx.subnets[name] = dataclasses.replace(
                subnet, ipv6_cidr=net, assign_ipv6_address_on_creation=assign
            )


def _subnet_block(
    ctx: Ctx, m: dict[str, Node], subnet: Subnet, vpc: Vpc, what: str
) -> IPv6Network | None:
    node = m["ipv6_cidr"]
    if vpc.ipv6_cidr is None:
        rule = aws("a subnet's IPv6 CIDR comes from its VPC's IPv6 block", "16.2")
        ctx.error(node, f"{what}: VPC {q(vpc.name)} has no IPv6 block (ipv6: true)" + rule)
        return None
    used = {s.ipv6_cidr for s in ctx.subnets.values() if s.vpc == vpc.name and s.ipv6_cidr}
    if node.value == "auto":
        return next(n for n in vpc.ipv6_cidr.subnets(new_prefix=64) if n not in used)
    rule = aws("a subnet's IPv6 CIDR is a /64", "16.2")
    net = cidr6(ctx, node, f"{what} ipv6_cidr", (64, 64), rule)
    if net is None:
        return None
    if not net.subnet_of(vpc.ipv6_cidr):
        rule = aws("a subnet's IPv6 CIDR lies within its VPC's IPv6 block", "16.2")
        ctx.error(node, f"{what} ipv6_cidr {net} is not inside {vpc.ipv6_cidr}" + rule)
        return None
    if net in used:
        other = next(s.name for s in ctx.subnets.values() if s.ipv6_cidr == net)
        rule = aws("InvalidSubnet.Conflict, subnets of a VPC must not overlap", "2.1")
        ctx.error(node, f"{what} ipv6_cidr {net} is already subnet {q(other)}'s" + rule)
        return None
    return net


# -- egress-only internet gateways --------------------------------------------------------


def read_egress_only_gateways(ctx: Ctx, top: dict[str, Node]) -> None:
    for name, node in section(ctx, top, "egress_only_internet_gateways").items():
        object_name(ctx, EIGW, name, node)
        what = f"egress-only internet gateway {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, EIGW_KEYS, ("vpc",))
        vpc = vpc_ref(ctx, m, what)
        eigw_id = object_id(ctx, m, "eigw", name, what)
        if vpc is not None:
            ctx.egress_only_gateways[name] = EgressOnlyInternetGateway(name, eigw_id, vpc.name)


# -- IPv6 routes --------------------------------------------------------------------------


def routes6(ctx: Ctx, head: TableHead, vpc: Vpc) -> tuple[Route6, ...]:
    """The IPv6 local route (ref 4.4) and the table's routes with an IPv6 destination."""
    out: list[Route6] = []
    if vpc.ipv6_cidr is not None:
        out.append(Route6(vpc.ipv6_cidr, "local", None))
    if head.implicit:
        return tuple(out)
    seen: set[IPv6Network] = set()
    items = head.routes.value if head.routes and isinstance(head.routes.value, list) else []
    for index, item in enumerate(items):
        m = item.value if isinstance(item.value, dict) else None
        if m is None or not is_v6(m.get("destination")):
            continue  # IPv4 routes and broken entries are read by validate_routes
        what = f"route table {q(head.name)} route {index + 1}"
        dest = cidr6(ctx, m["destination"], f"{what} destination")
        kinds = [k for k in (*_TARGETS6, "nat_gateway") if k in m]
        if len(kinds) != 1 or dest is None:
            if len(kinds) != 1:
                choices = "internet_gateway, egress_only_internet_gateway, instance or blackhole"
                rule = aws("a route has exactly one target", "4.8")
                ctx.error(item.where, f"{what} needs exactly one target of {choices}" + rule)
            continue
        if kinds[0] == "nat_gateway":
            rule = aws("NatGatewayId routes are IPv4-only; IPv6 has no NAT", "4.8, 16.5")
            msg = f"{what}: a NAT gateway cannot take IPv6 destination {dest}"
            ctx.error(m["nat_gateway"].where, msg + "; use an egress-only internet gateway" + rule)
            continue
        if kinds[0] == "instance":
            msg = f"{what}: IPv6 routes to an instance are not emulated by netemu yet"
            ctx.error(m["instance"].where, msg + " (docs/aws-decisions.md)")
            continue
        kind: Route6TargetKind = kinds[0]  # type: ignore[assignment]
        if dest in seen:
            rule = aws("RouteAlreadyExists, one route per destination", "4.9")
            ctx.error(m["destination"], f"{what} repeats destination {dest}" + rule)
            continue
        seen.add(dest)
        if vpc.ipv6_cidr is not None and dest.subnet_of(vpc.ipv6_cidr):
            rule = aws("the local route covers the VPC's IPv6 block", "4.4, 4.6")
            msg = f"{what} destination {dest} lies inside VPC {q(vpc.name)} {vpc.ipv6_cidr}"
            ctx.error(m["destination"], msg + rule)
            continue
        target = _target6(ctx, kind, m[kind], what, vpc)
        if target is not False:
            out.append(Route6(dest, kind, target if isinstance(target, str) else None, item.pos))
    return tuple(out)


_TARGETS6: tuple[Route6TargetKind, ...] = (
    "internet_gateway",
    "egress_only_internet_gateway",
    "instance",
    "blackhole",
)


def _target6(ctx: Ctx, kind: Route6TargetKind, node: Node, what: str, vpc: Vpc) -> str | bool:
    if kind == "blackhole":
        return True
    name = text(ctx, node, f"{what} {kind}")
    if name is None:
        return False
    owner: str | None
    if kind == "internet_gateway":
        igw = ctx.lookup(IGW, name, node, ctx.internet_gateways, what)
        owner = igw.vpc if igw else None
    elif kind == "egress_only_internet_gateway":
        eigw = ctx.lookup(EIGW, name, node, ctx.egress_only_gateways, what)
        owner = eigw.vpc if eigw else None
    else:
        instance = ctx.lookup(INSTANCE, name, node, ctx.instances, what)
        owner = ctx.subnets[instance.subnet].vpc if instance else None
    if owner is None:
        return False
    if owner != vpc.name:
        rule = aws("a route targets a gateway or interface of the table's own VPC", "4.8, 1.9")
        ctx.error(node, f"{what} targets {q(name)} of VPC {q(owner)}, not {q(vpc.name)}" + rule)
        return False
    return name


# -- instance and internet host addresses -------------------------------------------------


def read_eni_ipv6(ctx: Ctx, top: dict[str, Node]) -> None:
    """`ipv6_address: ADDRESS|auto|none`; default auto where the subnet assigns on launch."""
    taken: dict[IPv6Address, str] = {}
    picks: list[str] = []
    for name, node in section(ctx, top, "instances").items():
        instance = ctx.instances.get(name)
        m = node.value if isinstance(node.value, dict) else None
        if instance is None or m is None:
            continue
        subnet = ctx.subnets[instance.subnet]
        what = f"instance {q(name)}"
        given = m.get("ipv6_address")
        raw = given.value if given is not None else None
        if raw == "none" and subnet.cidr is None:
            rule = aws("an instance in an IPv6-only subnet has an IPv6 address", "16.11")
            ctx.error(given, f"{what} is in IPv6-only subnet {q(subnet.name)}" + rule)
            continue
        if raw == "none" or (given is None and not subnet.assign_ipv6_address_on_creation):
            continue
        if subnet.ipv6_cidr is None:
            rule = aws("an instance's IPv6 address comes from its subnet's /64", "16.3")
            ctx.error(given or node, f"{what}: subnet {q(subnet.name)} has no ipv6_cidr" + rule)
            continue
        if given is None or raw == "auto":
            picks.append(name)
            continue
        ip = address6(ctx, given, f"{what} ipv6_address")
        if ip is None:
            continue
        offset = int(ip) - int(subnet.ipv6_cidr.network_address)
        if ip not in subnet.ipv6_cidr:
            ctx.error(given, f"{what} ipv6_address {ip} is not in subnet {subnet.ipv6_cidr}")
        elif offset < 4 or ip == subnet.ipv6_cidr.broadcast_address:
            rule = aws("the first four and the last IPv6 address of a subnet are reserved", "16.3")
            ctx.error(given, f"{what} ipv6_address {ip} is reserved" + rule)
        elif ip in taken:
            ctx.error(given, f"{what} ipv6_address {ip} is already instance {q(taken[ip])}'s")
        else:
            taken[ip] = name
            _set(ctx, name, ip)
    for name in picks:  # after the given ones, so a pick never steals one
        net = ctx.subnets[ctx.instances[name].subnet].ipv6_cidr
        assert net is not None
        ip = net.network_address + FIRST_PICKED
        while ip in taken:
            ip += 1
        taken[ip] = name
        _set(ctx, name, ip)


def _set(ctx: Ctx, name: str, ip: IPv6Address) -> None:
    instance = ctx.instances[name]
    eni = dataclasses.replace(instance.eni, ipv6_address=ip)
    ctx.instances[name] = dataclasses.replace(instance, eni=eni)


def read_host_ipv6(ctx: Ctx, top: dict[str, Node]) -> None:
    """Internet hosts' `ipv6_address`; picked from 2001:db8:ff00::/40 when a VPC has IPv6."""
    internet = top.get("internet")
    hosts = internet.value.get("hosts") if internet and isinstance(internet.value, dict) else None
    raw = hosts.value if hosts is not None and isinstance(hosts.value, dict) else {}
    any_v6 = any(v.ipv6_cidr for v in ctx.vpcs.values())
    blocks = [v.ipv6_cidr for v in ctx.vpcs.values() if v.ipv6_cidr is not None]
    for index, (name, host) in enumerate(list(ctx.internet_hosts.items())):
        node = raw.get(name)
        given = node.value.get("ipv6_address") if node and isinstance(node.value, dict) else None
        ip: IPv6Address | None = None
        if given is not None:
            what = f"internet host {q(name)} ipv6_address"
            ip = address6(ctx, given, what)
            if ip is not None and not _closed_world(ctx, given, IPv6Network(ip), what):
                ip = None
            if ip is not None and any(ip in b for b in blocks):
                ctx.error(given, f"{what} {ip} lies inside a VPC's IPv6 block")
                ip = None
        elif any_v6:
            ip = INTERNET_BLOCK.network_address + FIRST_PICKED + index
        if ip is not None:
            ctx.internet_hosts[name] = dataclasses.replace(host, ipv6=ip)


# -- expectations -------------------------------------------------------------------------


def expect_family(
    ctx: Ctx, m: dict[str, Node], source: str | None, dest: str | None, what: str
) -> Literal[4, 6] | None:
    """`family: 4|6` (default 4; 6 for an IPv6 literal `to`), with both ends holding an
    IPv6 address when it is 6 (contract 6.2)."""
    node = m.get("family")
    family: Literal[4, 6] = 6 if dest is not None and ":" in dest else 4
    if node is not None:
        value = integer(ctx, node, f"{what} family", 4, 6)
        if value not in (4, 6, None):
            ctx.error(node, f"{what} family must be 4 or 6")
        if value not in (4, 6):
            return None
        if value == 4 and family == 6:
            ctx.error(node, f"{what} family 4 contradicts the IPv6 address in 'to'")
            return None
        family = 6 if value == 6 else 4
    if family == 4:
        for key, name in (("from", source), ("to", dest)):
            inst = ctx.instances.get(name or "")
            if inst is not None and inst.private_ip is None:
                msg = f"{what}: instance {q(inst.name)} has no IPv4 address (its subnet is"
                ctx.error(m[key], msg + " IPv6-only, ref 16.11); add 'family: 6'")
                return None
        return family
    for key, name in (("from", source), ("to", dest)):
        if name is None:
            continue
        if key == "to" and ":" in name:
            try:
                IPv6Address(name)
            except (AddressValueError, ValueError):
                ctx.error(m["to"], f"{what} to {q(name)} is not a valid IPv6 address")
                return None
            continue
        if _ipv6_of(ctx, name) is None:
            msg = f"{what} family 6: {key} {q(name)} has no IPv6 address"
            ctx.error(m[key], msg + " (ipv6_address, or a subnet that assigns one, ref 16.3)")
            return None
    return family


def _ipv6_of(ctx: Ctx, name: str) -> IPv6Address | None:
    if name in ctx.instances:
        return ctx.instances[name].ipv6_address
    host = ctx.internet_hosts.get(name)
    return host.ipv6 if host is not None else None  # NAT gateways have none here
