"""The smallest nftables transaction from one ruleset of a namespace to another: the chains
whose rules differ are flushed and refilled (or, when rules are only added at the end,
appended to), and the named sets whose elements differ are flushed and refilled (a prefix
list's entries, a group's members), in one transaction, so a packet sees either the old or
the new rules of every chain. A change of the table's shape (chains or sets added or
removed, a hook or priority changed, a map changed) replaces the whole table."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from netemu.render.plan import Ruleset

Json = dict[str, Any]


def _parts(
    commands: Sequence[Json],
) -> tuple[list[Json], dict[str, list[Json]], dict[str, list[Any]]]:
    shape: list[Json] = []
    rules: dict[str, list[Json]] = {}
    elements: dict[str, list[Any]] = {}  # named set -> its elements, apart from its shape
    for cmd in commands:
        body = cmd.get("add", {})
        if "rule" in body:
            rules.setdefault(body["rule"]["chain"], []).append(cmd)
        elif "set" in body:
            bare = {k: v for k, v in body["set"].items() if k != "elem"}
            shape.append({"add": {"set": bare}})
            elements[bare["name"]] = list(body["set"].get("elem", []))
        else:
            shape.append(cmd)
            if "chain" in body:
                rules.setdefault(body["chain"]["name"], [])
    return shape, rules, elements


def _middles(old: Ruleset, new: Ruleset) -> tuple[Sequence[Json], Sequence[Json]]:
    """The commands of each ruleset between their common head and tail: only these differ."""
    head, tail = _common_ends(old.commands, new.commands)
    return (
        old.commands[head : len(old.commands) - tail],
        new.commands[head : len(new.commands) - tail],
    )


def sets_changed(old: Ruleset, new: Ruleset) -> bool:
    """Whether a delta refills sets (verify then reads the whole table, not only chains).
    From the delta itself when there is one (kept: `apply` made it for the load)."""
    found = delta(old, new)
    if found is not None:
        return any("set" in c.get("flush", {}) for c in found[0])
    was, now = _middles(old, new)
    return _parts(was)[2] != _parts(now)[2]


def _common_ends(old: Sequence[Json], new: Sequence[Json]) -> tuple[int, int]:
    """The lengths of the longest common head and tail of two command lists (disjoint). A
    ruleset rendered again after a rule change shares most commands with the old one,
    often as the same objects, which compare at once."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def delta(old: Ruleset, new: Ruleset) -> tuple[list[Json], list[str]] | None:
    """(commands, names of the chains they change), or None when only a replacement of the
    whole table will do. A chain whose old rules all stay, in front, gets the new ones
    appended; any other changed chain is flushed and refilled.

    Only the commands between the two rulesets' common head and tail can differ. A chain's
    rules are its rules in the head, then in the middle, then in the tail, and head and
    tail are the same on both sides: its rules differ exactly when its rules in the middle
    do. So only the middle is compared, and only the chains to refill are looked up in
    the whole ruleset. The answer for the last pairs of rulesets is kept: `apply` asks
    again for its read-back (verify_rulesets)."""
    key = (id(old), id(new))
    kept = _recent.get(key)
    if kept is not None and kept[0] is old and kept[1] is new:
        return kept[2]
    found = _delta(old, new)
    if len(_recent) >= _RECENT:
        _recent.pop(next(iter(_recent)))
    _recent[key] = (old, new, found)  # holding both keeps their ids from being reused
    return found


_RECENT = 64
_recent: dict[tuple[int, int], tuple[Ruleset, Ruleset, tuple[list[Json], list[str]] | None]] = {}


def _delta(old: Ruleset, new: Ruleset) -> tuple[list[Json], list[str]] | None:
    was_middle, new_middle = _middles(old, new)
    old_shape, old_rules, old_elements = _parts(was_middle)
    new_shape, new_rules, new_elements = _parts(new_middle)
    if old_shape != new_shape:
        return None
    cmds: list[Json] = []
    for name, elem in new_elements.items():
        if old_elements.get(name) != elem:
            ref = next(
                c["add"]["set"] for c in new_shape if c["add"].get("set", {}).get("name") == name
            )
            where = {k: ref[k] for k in ("family", "table", "name")}
            cmds.append({"flush": {"set": where}})
            if elem:
                cmds.append({"add": {"element": {**where, "elem": elem}}})
    named = new_rules.keys() | old_rules.keys()
    differ = {c for c in named if old_rules.get(c) != new_rules.get(c)}
    if not differ:
        return cmds, []
    rules, refs, order = _chains_of(new.commands, differ)
    was, _, _ = _chains_of(old.commands, differ)
    for chain in order:
        now, before = rules.get(chain, []), was.get(chain, [])
        if now[: len(before)] == before:
            # Rules added after the old ones (an authorized rule of a new port): appended,
            # nothing deleted, so the kernel frees no rule and libnftables needs no
            # reading of the table first.
            cmds += now[len(before) :]
            continue
        ref = refs[chain]
        cmds.append({"flush": {"chain": {k: ref[k] for k in ("family", "table", "name")}}})
        cmds += now
    return cmds, order


def _chains_of(
    commands: Sequence[Json], names: Set[str]
) -> tuple[dict[str, list[Json]], dict[str, Json], list[str]]:
    """Of the chains `names`: their rules, their `add chain` bodies, and the order in
    which `commands` first names them."""
    rules: dict[str, list[Json]] = {}
    refs: dict[str, Json] = {}
    order: dict[str, None] = {}
    for cmd in commands:
        body = cmd.get("add")
        if body is None:
            continue
        rule = body.get("rule")
        if rule is not None:
            if rule["chain"] in names:
                rules.setdefault(rule["chain"], []).append(cmd)
                order.setdefault(rule["chain"])
        elif "chain" in body and body["chain"]["name"] in names:
            refs.setdefault(body["chain"]["name"], body["chain"])
            order.setdefault(body["chain"]["name"])
    return rules, refs, list(order)
