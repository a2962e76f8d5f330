"""VPC peering connections: the two VPCs, the status, and AWS's refusals (ref 1.10-1.14)."""

from __future__ import annotations

from typing import Literal, cast

from netemu.model.types import Vpc, VpcPeeringConnection
from netemu.model.validate_context import PCX, VPC, Ctx, aws, q
from netemu.model.validate_fields import (
    as_map,
    check_keys,
    object_id,
    object_name,
    section,
    text,
)
from netemu.scenario import Node

PEERING_KEYS = ("id", "requester", "accepter", "status")
STATUSES = ("active", "pending-acceptance", "rejected")
Status = Literal["active", "pending-acceptance", "rejected"]


def read_vpc_peering_connections(ctx: Ctx, top: dict[str, Node]) -> None:
    pairs: dict[frozenset[str], str] = {}
    for name, node in section(ctx, top, "vpc_peering_connections").items():
        object_name(ctx, PCX, name, node)
        ctx.declare(PCX, name, node)
        what = f"VPC peering connection {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, PEERING_KEYS, ("requester", "accepter"))
        ends = [_vpc(ctx, m, side, what) for side in ("requester", "accepter")]
        status = _status(ctx, m, what)
        requester, accepter = ends
        if requester is None or accepter is None or status is None:
            continue
        if requester == accepter:
            rule = aws("a peering connection links two different VPCs", "1.10")
            ctx.error(m["accepter"], f"{what} peers VPC {q(requester)} with itself" + rule)
            continue
        a, b = ctx.vpcs[requester], ctx.vpcs[accepter]
        clash = next(((x, y) for x in a.cidrs for y in b.cidrs if x.overlaps(y)), None)
        if clash is not None:
            rule = aws("VPCs whose CIDR blocks overlap cannot be peered", "1.11")
            msg = f"{what}: VPC {q(a.name)} {clash[0]} overlaps VPC {q(b.name)} {clash[1]}"
            ctx.error(m["accepter"], msg + rule)
            continue
        pair = frozenset((requester, accepter))
        if pair in pairs:
            rule = aws("two VPCs have at most one peering connection", "1.11")
            by = q(pairs[pair])
            msg = f"{what}: VPCs {q(requester)} and {q(accepter)} are already peered by {by}"
            ctx.error(node.where, msg + rule)
            continue
        pairs[pair] = name
        pcx_id = object_id(ctx, m, "pcx", name, what)
        index = len(ctx.vpc_peering_connections)
        ctx.vpc_peering_connections[name] = VpcPeeringConnection(
            name, pcx_id, requester, accepter, cast(Status, status), index
        )


def _vpc(ctx: Ctx, m: dict[str, Node], side: str, what: str) -> str | None:
    node = m.get(side)
    name = text(ctx, node, f"{what} {side}") if node is not None else None
    if node is None or name is None:
        return None
    vpc = ctx.lookup(VPC, name, node, ctx.vpcs, f"{what} {side}")
    return vpc.name if vpc else None


def _status(ctx: Ctx, m: dict[str, Node], what: str) -> str | None:
    node = m.get("status")
    if node is None:
        return "active"
    value = text(ctx, node, f"{what} status")
    if value is None:
        return None
    if value not in STATUSES:
        rule = aws("a peering connection is pending-acceptance until the accepter accepts", "1.14")
        ctx.error(node, f"{what} status {q(value)} must be one of {', '.join(STATUSES)}" + rule)
        return None
    return value


def peer_of(ctx: Ctx, vpc: str, other: str) -> VpcPeeringConnection | None:
    """The active peering connection between `vpc` and `other` (for group references, 1.16)."""
    return next(
        (
            p
            for p in ctx.vpc_peering_connections.values()
            if p.active and {p.requester, p.accepter} == {vpc, other}
        ),
        None,
    )


def peering_target(ctx: Ctx, name: str, node: Node, what: str, vpc: Vpc) -> str | bool:
    """A route's `vpc_peering_connection:` target: one whose either end is the table's VPC
    (ref 1.10). Any status is accepted: a route to a connection that is not active is a
    blackhole on AWS (1.14)."""
    pcx = ctx.lookup(PCX, name, node, ctx.vpc_peering_connections, what)
    if pcx is None:
        return False
    if vpc.name not in (pcx.requester, pcx.accepter):
        rule = aws("a route targets a peering connection of the table's own VPC", "1.10")
        msg = (
            f"{what} targets VPC peering connection {q(name)} between {q(pcx.requester)} "
            f"and {q(pcx.accepter)}, not of VPC {q(vpc.name)}"
        )
        ctx.error(node, msg + rule)
        return False
    if not pcx.active:
        rule = aws("a route to a peering connection that is not active is a blackhole", "1.14")
        ctx.warn(
            node, f"{what} targets VPC peering connection {q(name)}, which is {pcx.status}" + rule
        )
    return name
