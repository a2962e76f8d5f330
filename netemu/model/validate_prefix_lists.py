"""Customer-managed prefix lists (`prefix_lists:`) and the references to them from
security group rules (`prefix_list_id`) and routes (`destination_prefix_list_id`), with the
quotas a reference counts toward by the list's max entries (ref 19.1-19.5, 7.9, 4.15)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from netemu.model.types import ManagedPrefixList, PrefixListEntry, Route, RouteTargetKind
from netemu.model.validate_context import PL, Ctx, aws, q, suggest
from netemu.model.validate_fields import (
    as_list,
    as_map,
    check_keys,
    cidr,
    integer,
    object_id,
    object_name,
    section,
    text,
)
from netemu.model.validate_ipv6 import cidr6, is_v6
from netemu.scenario import Node

PL_KEYS = ("id", "prefix_list_name", "address_family", "max_entries", "entries")
ENTRY_KEYS = ("cidr", "description")
FAMILIES = ("IPv4", "IPv6")
MAX_ENTRIES = 1000  # entries per prefix list, the default quota (19.2)
Family = Literal["IPv4", "IPv6"]


def read_prefix_lists(ctx: Ctx, top: dict[str, Node]) -> None:
    for name, node in section(ctx, top, "prefix_lists").items():
        object_name(ctx, PL, name, node)
        ctx.declare(PL, name, node)
        what = f"prefix list {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, PL_KEYS, ("address_family", "max_entries"))
        family = _family(ctx, m.get("address_family"), what)
        limit = aws("a prefix list holds 1 to 1,000 entries", "19.2")
        size = m.get("max_entries")
        most = integer(ctx, size, f"{what} max_entries", 1, MAX_ENTRIES, limit) if size else None
        label = _label(ctx, m, name, what)
        if family is None or most is None or label is None:
            continue
        entries = _entries(ctx, m.get("entries"), what, family, most)
        pl_id = object_id(ctx, m, "pl", name, what)
        ctx.prefix_lists[name] = ManagedPrefixList(name, pl_id, label, family, most, entries)


def _family(ctx: Ctx, node: Node | None, what: str) -> Family | None:
    raw = text(ctx, node, f"{what} address_family") if node is not None else None
    if node is None or raw is None:
        return None
    if raw == "IPv4":
        return "IPv4"
    if raw == "IPv6":
        return "IPv6"
    rule = aws("AddressFamily is IPv4 or IPv6", "19.1")
    ctx.error(node, f"{what} address_family {q(raw)} must be IPv4 or IPv6" + rule)
    return None


def _label(ctx: Ctx, m: dict[str, Node], name: str, what: str) -> str | None:
    """PrefixListName: the scenario's key unless given; never com.amazonaws… (19.1)."""
    node = m.get("prefix_list_name")
    label = name if node is None else text(ctx, node, f"{what} prefix_list_name")
    if label is None:
        return None
    if node is not None and (label.startswith("com.amazonaws") or not 0 < len(label) <= 255):
        rule = aws("a name is 1 to 255 characters and cannot start with com.amazonaws", "19.1")
        ctx.error(node, f"{what} prefix_list_name {q(label)} is not allowed" + rule)
        return None
    return label


def _entries(
    ctx: Ctx, node: Node | None, what: str, family: Family, most: int
) -> tuple[PrefixListEntry, ...]:
    items = as_list(ctx, node, f"{what} entries")
    if len(items) > most:
        rule = aws("a prefix list holds at most its max entries", "19.2")
        ctx.error(items[most], f"{what} has {len(items)} entries, max_entries is {most}" + rule)
    out: list[PrefixListEntry] = []
    seen: set[IPv4Network | IPv6Network] = set()
    for index, item in enumerate(items):
        ewhat = f"{what} entry {index + 1}"
        m = as_map(ctx, item, ewhat, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, item, ewhat, ENTRY_KEYS, ("cidr",))
        if "cidr" not in m:
            continue
        six = is_v6(m["cidr"])
        if six != (family == "IPv6"):
            rule = aws("a prefix list holds CIDRs of its one address family", "19.1")
            ctx.error(m["cidr"], f"{ewhat} {m['cidr'].value} is not {family}" + rule)
            continue
        net: IPv4Network | IPv6Network | None
        net = (
            cidr6(ctx, m["cidr"], f"{ewhat} cidr") if six else cidr(ctx, m["cidr"], f"{ewhat} cidr")
        )
        desc = text(ctx, m["description"], f"{ewhat} description") if "description" in m else None
        if net is None:
            continue
        if net in seen:
            rule = aws("a CIDR appears once in a prefix list", "19.1")
            ctx.error(m["cidr"], f"{ewhat} repeats {net}" + rule)
            continue
        seen.add(net)
        out.append(PrefixListEntry(net, desc))
    return tuple(out)


def find(ctx: Ctx, ref: str) -> ManagedPrefixList | None:
    """The list a reference names: its scenario key or its pl- id."""
    return ctx.prefix_lists.get(ref) or next(
        (p for p in ctx.prefix_lists.values() if p.id == ref), None
    )


def prefix_list_ref(ctx: Ctx, node: Node, what: str) -> ManagedPrefixList | None:
    """A `prefix_list_id` / `destination_prefix_list_id`: the list, or None (reported)."""
    ref = text(ctx, node, what)
    if ref is None:
        return None
    found = find(ctx, ref)
    if found is None and not ctx.is_declared(PL, ref):
        hint = suggest(ref, ctx.prefix_lists, "prefix lists")
        ctx.error(node, f"{what} refers to unknown prefix list {q(ref)}{hint}")
    return found


def weight(ctx: Ctx, item: Node, key: str) -> int:
    """How many rules or routes an entry of a list counts as: a reference to a prefix list
    counts as its max entries (19.2), anything else as one."""
    m = item.value if isinstance(item.value, dict) else {}
    node = m.get(key)
    ref = node.value if node is not None and isinstance(node.value, str) else None
    found = find(ctx, ref) if ref is not None else None
    return found.max_entries if found is not None else 1


def check_quota(
    ctx: Ctx, items: list[Node], what: str, key: str, limit: int, rule: str, ref: str
) -> None:
    """One error at the entry that takes `items` past `limit`, counting references to prefix
    lists by their max entries (19.2)."""
    counted = [weight(ctx, item, key) for item in items]
    if sum(counted) <= limit:
        return
    running, at = 0, items[-1]
    for item, w in zip(items, counted, strict=True):
        running += w
        if running > limit:
            at = item
            break
    noun = "routes" if key == "destination_prefix_list_id" else "rules"
    how = "" if sum(counted) == len(items) else " (a prefix list counts as its max_entries, 19.2)"
    ctx.error(at, f"{what} has {sum(counted)} {noun}{how}" + aws(rule, ref))


Target = Callable[[RouteTargetKind, Node], "str | bool"]


def prefix_list_routes(
    ctx: Ctx,
    pending: list[tuple[int, Node, dict[str, Node], RouteTargetKind]],
    taken: set[IPv4Network],
    target: Target,
    destination_ok: Callable[[IPv4Network, Node, RouteTargetKind], bool],
    what: str,
) -> list[Route]:
    """Routes to prefix lists, one kernel route per entry (19.4), read after the table's
    CIDR routes: a CIDR route beats a prefix-list entry with the same destination, and of two
    lists holding one CIDR the first in the file keeps it (ref 4.12; AWS picks one)."""
    out: list[Route] = []
    for index, item, m, kind in pending:
        rwhat = f"{what} route {index + 1}"
        node = m["destination_prefix_list_id"]
        pl = prefix_list_ref(ctx, node, f"{rwhat} destination_prefix_list_id")
        goal = target(kind, m[kind])
        if pl is None or goal is False:
            continue
        if pl.address_family == "IPv6":
            msg = f"{rwhat}: routes to IPv6 prefix list {q(pl.name)} are not emulated yet"
            ctx.error(node, msg + " (docs/aws-decisions.md)")
            continue
        name = goal if isinstance(goal, str) else None
        for entry in pl.entries:
            dest = entry.cidr
            if not isinstance(dest, IPv4Network) or dest in taken:
                continue
            if destination_ok(dest, node, kind):
                taken.add(dest)
                out.append(Route(dest, kind, name, pos=item.pos, prefix_list=pl.name))
    return out
