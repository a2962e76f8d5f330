"""What `netemu apply` does with customer-managed prefix lists, in AWS terms
(CreateManagedPrefixList, ModifyManagedPrefixList, DeleteManagedPrefixList; ref 19.5):
entries added and removed live, every rule and route referencing the list follows (the
kernel side is one nftables set per list and the routes of its entries)."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name, pl in new.prefix_lists.items():
        res = f"prefix_list:{name}"
        was = old.prefix_lists.get(name)
        if was is None:
            entries = ", ".join(str(e.cidr) for e in pl.entries) or "no entries"
            text = f"create managed prefix list {name} ({pl.address_family}, max {pl.max_entries}"
            out.append(_c("create", res, f"{text}): {entries}"))
            continue
        if was.max_entries != pl.max_entries:
            text = f"modify prefix list {name}: max entries {was.max_entries} -> {pl.max_entries}"
            out.append(_c("modify", res, text))
        before = {e.cidr for e in was.entries}
        after = {e.cidr for e in pl.entries}
        for e in pl.entries:
            if e.cidr not in before:
                out.append(_c("modify", res, f"modify prefix list {name}: add {e.cidr}"))
        for e in was.entries:
            if e.cidr not in after:
                out.append(_c("modify", res, f"modify prefix list {name}: remove {e.cidr}"))
    for name in old.prefix_lists:
        if name not in new.prefix_lists:
            out.append(_c("delete", f"prefix_list:{name}", f"delete managed prefix list {name}"))
    return out


def refusals(old: Model, new: Model) -> list[tuple[tuple[str, ...], str]]:
    """(place in the file, AWS's error) for what cannot change on a live list (19.1)."""
    out: list[tuple[tuple[str, ...], str]] = []
    for name, pl in new.prefix_lists.items():
        was = old.prefix_lists.get(name)
        if was is not None and was.address_family != pl.address_family:
            out.append(
                (
                    ("prefix_lists", name, "address_family"),
                    f"InvalidParameterValue: the address family of prefix list {name} cannot "
                    f"change ({was.address_family} -> {pl.address_family}, 19.1): create a new "
                    "list",
                )
            )
    return out
