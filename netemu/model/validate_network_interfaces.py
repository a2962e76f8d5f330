"""Secondary ENIs (`network_interfaces:`): subnet, attachment, device index, groups and limits
(ref 9.6-9.8, 9.20-9.23).

A secondary ENI is attached to an instance at device index 1 and up (index 0 is the ENI the
instance was launched with, which cannot be detached, 9.7). It lies in a subnet of the
instance's Availability Zone and VPC, possibly another subnet than the instance's own (9.20),
with security groups and a source/destination check of its own (9.6). Its addresses,
primary and `secondary_private_ips`, are claimed with the instance's in validate_enis, so one
set of checks covers every private address of the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

from netemu.model.types import Subnet
from netemu.model.validate_context import INSTANCE, NIC, SUBNET, Ctx, aws, q
from netemu.model.validate_fields import (
    as_list,
    as_map,
    check_keys,
    integer,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.model.validate_security import group_list
from netemu.scenario import Node

ENI_KEYS = (
    "id",
    "subnet",
    "instance",
    "device_index",
    "private_ip",
    "secondary_private_ips",
    "security_groups",
    "source_dest_check",
    "description",
)
# netemu's instances have the limits of an m5.large: 3 network interfaces, 10 private IPv4
# addresses per interface (ref 9.22; docs/aws-decisions.md).
MAX_ENIS = 3
MAX_IPS_PER_ENI = 10
LIMIT_RULE = aws(
    f"an instance type caps the ENIs and the IPv4 addresses per ENI; netemu's instances "
    f"have an m5.large's: {MAX_ENIS} ENIs, {MAX_IPS_PER_ENI} IPv4 addresses each",
    "9.22",
)


@dataclass
class NicSpec:
    """A secondary ENI as read, before its addresses are claimed (validate_enis)."""

    name: str
    node: Node
    id: str
    subnet: Subnet
    instance: str
    device_index: int
    ip_node: Node | None
    secondary: tuple[Node, ...]
    groups: tuple[str, ...]
    source_dest_check: bool


def secondary_nodes(ctx: Ctx, m: dict[str, Node], what: str) -> tuple[Node, ...]:
    """The `secondary_private_ips` list (addresses are checked when claimed)."""
    nodes = tuple(as_list(ctx, m.get("secondary_private_ips"), f"{what} secondary_private_ips"))
    if len(nodes) + 1 > MAX_IPS_PER_ENI:
        msg = f"{what} has {len(nodes) + 1} private IPv4 addresses"
        ctx.error(nodes[MAX_IPS_PER_ENI - 1], msg + LIMIT_RULE)
    return nodes


def read(ctx: Ctx, top: dict[str, Node], instances: dict[str, Subnet]) -> list[NicSpec]:
    """`network_interfaces:`; `instances` maps each readable instance to its subnet."""
    out: list[NicSpec] = []
    for name, node in section(ctx, top, "network_interfaces").items():
        object_name(ctx, NIC, name, node)
        what = f"network interface {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, ENI_KEYS, ("subnet", "instance", "device_index"))
        eni_id = object_id(ctx, m, "eni", f"network_interface/{name}", what)
        subnet = _subnet(ctx, m, what)
        owner = _instance(ctx, m, what, instances)
        index = _device_index(ctx, m, what)
        secondary = secondary_nodes(ctx, m, what)
        if "description" in m:
            text(ctx, m["description"], f"{what} description")
        sdc = opt_bool(ctx, m, "source_dest_check", what, True)  # ref 9.9, per ENI
        if subnet is None or owner is None:
            continue
        if not _same_place(ctx, m, what, subnet, owner, instances[owner]) or index is None:
            continue
        groups = group_list(ctx, m.get("security_groups"), what, subnet.vpc)
        spec = NicSpec(name, node, eni_id, subnet, owner, index, m.get("private_ip"),
                       secondary, groups, sdc)  # fmt: skip
        out.append(spec)
    _check_attachments(ctx, out)
    return out


def _subnet(ctx: Ctx, m: dict[str, Node], what: str) -> Subnet | None:
    name = text(ctx, m["subnet"], f"{what} subnet") if "subnet" in m else None
    if name is None:
        return None
    sub = ctx.lookup(SUBNET, name, m["subnet"], ctx.subnets, what)
    if sub is not None and sub.cidr is None:
        msg = f"{what}: subnet {q(name)} is IPv6-only; netemu attaches IPv4 secondary ENIs only"
        ctx.error(m["subnet"], msg + " (aws-decisions.md)")
        return None
    return sub


def _instance(ctx: Ctx, m: dict[str, Node], what: str, instances: dict[str, Subnet]) -> str | None:
    name = text(ctx, m["instance"], f"{what} instance") if "instance" in m else None
    if name is None:
        return None
    found = ctx.lookup(INSTANCE, name, m["instance"], instances, what)
    return name if found is not None else None


def _device_index(ctx: Ctx, m: dict[str, Node], what: str) -> int | None:
    node = m.get("device_index")
    if node is None:
        return None
    if node.tag == "int" and str(node.value) == "0":
        rule = aws("device index 0 is the instance's primary ENI, which cannot be detached", "9.7")
        ctx.error(node, f"{what} device_index 0 is taken by the instance's own ENI" + rule)
        return None
    return integer(ctx, node, f"{what} device_index", 1, MAX_ENIS - 1, LIMIT_RULE)


def _same_place(
    ctx: Ctx, m: dict[str, Node], what: str, subnet: Subnet, owner: str, home: Subnet
) -> bool:
    """An ENI and its instance share the Availability Zone (AWS) and the VPC (netemu)."""
    if subnet.vpc != home.vpc:
        rule = " (netemu: an ENI attaches to an instance of its own VPC; docs/aws-decisions.md)"
        msg = f"{what} is in VPC {q(subnet.vpc)}, instance {q(owner)} in VPC {q(home.vpc)}"
        ctx.error(m["subnet"], msg + rule)
        return False
    if subnet.az != home.az:
        rule = aws("an ENI attaches only to an instance in its own Availability Zone", "9.20")
        msg = f"{what} is in subnet {q(subnet.name)} ({subnet.az}), instance {q(owner)}"
        msg += f" in {home.az}"
        ctx.error(m["subnet"], msg + rule)
        return False
    return True


def _check_attachments(ctx: Ctx, specs: list[NicSpec]) -> None:
    """One ENI per device index of an instance (9.20); indices stop below MAX_ENIS, so an
    instance never has more than MAX_ENIS (9.22)."""
    taken: dict[tuple[str, int], str] = {}
    for s in specs:
        key = (s.instance, s.device_index)
        where = s.node.where
        if key in taken:
            rule = aws("a device index holds one ENI per instance", "9.20")
            msg = (f"network interface {q(s.name)}: device_index {s.device_index} of instance "
                   f"{q(s.instance)} is already taken by {q(taken[key])}")  # fmt: skip
            ctx.error(where, msg + rule)
            continue
        taken[key] = s.name
