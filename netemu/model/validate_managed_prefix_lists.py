"""AWS-managed prefix lists named in security group rules (`prefix_list_id`, ref 17.6, 17.7).

A rule naming a prefix list matches every entry of the list; the model keeps it as one rule
per entry, each carrying the list's id, so the renderer and the static walk see plain CIDR
rules while export writes the PrefixListId back.
"""

from __future__ import annotations

from netemu.model.aws_services import AwsManagedPrefixList, managed_prefix_lists
from netemu.model.validate_context import Ctx, aws, q
from netemu.model.validate_fields import text
from netemu.scenario import Node


def managed_list(ctx: Ctx, node: Node, what: str) -> AwsManagedPrefixList | None:
    """The AWS-managed prefix list `node` names by its pl- id, or None (reported)."""
    pid = text(ctx, node, f"{what} prefix_list_id")
    if pid is None:
        return None
    lists = managed_prefix_lists(ctx.region)
    if pid in lists:
        return lists[pid]
    known = ", ".join(f"{p.id} ({p.name})" for p in lists.values())
    rule = aws("a rule names a prefix list of the Region by its id", "17.6")
    ctx.error(
        node, f"{what} names unknown prefix list {q(pid)}; known in {ctx.region}: {known}" + rule
    )
    return None


def used_services(ctx: Ctx) -> set[str]:
    """The services whose prefix lists some security group rule names."""
    lists = managed_prefix_lists(ctx.region)
    return {
        lists[r.prefix_list_id].service
        for g in ctx.security_groups.values()
        for r in (*g.ingress, *g.egress)
        if r.prefix_list_id in lists
    }
