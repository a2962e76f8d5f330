"""The smallest nftables transaction from one ruleset of a namespace to another: the chains
whose rules differ are flushed and refilled, in one transaction, so a packet sees either
the old or the new rules of every chain. A change of the table's shape (chains added or
removed, a hook or priority changed, a set or map changed) replaces the whole table."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from netemu.render.plan import Ruleset

Json = dict[str, Any]


def _parts(commands: Sequence[Json]) -> tuple[list[Json], dict[str, list[Json]]]:
    shape: list[Json] = []
    rules: dict[str, list[Json]] = {}
    for cmd in commands:
        body = cmd.get("add", {})
        if "rule" in body:
            rules.setdefault(body["rule"]["chain"], []).append(cmd)
        else:
            shape.append(cmd)
            if "chain" in body:
                rules.setdefault(body["chain"]["name"], [])
    return shape, rules


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
    """(commands, names of the chains they refill), or None when only a replacement of the
    whole table will do. Only the commands between the two rulesets' common head and
    tail can differ, so only the chains they name are compared in full."""
    head, tail = _common_ends(old.commands, new.commands)
    old_mid = old.commands[head : len(old.commands) - tail]
    new_mid = new.commands[head : len(new.commands) - tail]
    old_shape, old_rules = _parts(old_mid)
    new_shape, new_rules = _parts(new_mid)
    if old_shape != new_shape:
        return None
    named = new_rules.keys() | old_rules.keys()
    if not named:
        return [], []
    # The chains' rules outside the middle too, in the order the new ruleset names them.
    whole_old, _, _ = _chains_of(old.commands, named)
    whole_new, refs, order = _chains_of(new.commands, named)
    cmds: list[Json] = []
    chains: list[str] = []
    for chain in order:
        rules = whole_new.get(chain, [])
        if whole_old.get(chain, []) != rules:
            ref = refs[chain]
            cmds.append({"flush": {"chain": {k: ref[k] for k in ("family", "table", "name")}}})
            cmds += rules
            chains.append(chain)
    return cmds, chains


def _chains_of(
    commands: Sequence[Json], names: Set[str]
) -> tuple[dict[str, list[Json]], dict[str, Json], list[str]]:
    """Of the chains `names`: their rules, their `add chain` bodies, and the order in
    which `commands` first names them."""
    rules: dict[str, list[Json]] = {}
    refs: dict[str, Json] = {}
    order: dict[str, None] = {}
    for cmd in commands:
        body = cmd.get("add", {})
        if "rule" in body:
            name = body["rule"]["chain"]
            if name in names:
                rules.setdefault(name, []).append(cmd)
                order.setdefault(name)
        elif "chain" in body:
            name = body["chain"]["name"]
            if name in names:
                refs.setdefault(name, body["chain"])
                order.setdefault(name)
    return rules, refs, list(order)
