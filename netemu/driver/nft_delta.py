"""The smallest nftables transaction from one ruleset of a namespace to another: the chains
whose rules differ are flushed and refilled, and the named sets whose elements differ are
flushed and refilled (a prefix list's entries, a group's members), in one transaction, so a
packet sees either the old or the new rules of every chain. A change of the table's shape
(chains or sets added or removed, a hook or priority changed, a map changed) replaces the
whole table."""

from __future__ import annotations

from typing import Any

from netemu.render.plan import Ruleset

Json = dict[str, Any]


def _parts(rs: Ruleset) -> tuple[list[Json], dict[str, list[Json]], dict[str, list[Any]]]:
    shape: list[Json] = []
    rules: dict[str, list[Json]] = {}
    elements: dict[str, list[Any]] = {}  # named set -> its elements, apart from its shape
    for cmd in rs.commands:
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


def sets_changed(old: Ruleset, new: Ruleset) -> bool:
    """Whether a delta refills sets (verify then reads the whole table, not only chains)."""
    return _parts(old)[2] != _parts(new)[2]


def delta(old: Ruleset, new: Ruleset) -> tuple[list[Json], list[str]] | None:
    """(commands, names of the chains they refill), or None when only a replacement of the
    whole table will do."""
    old_shape, old_rules, old_elements = _parts(old)
    new_shape, new_rules, new_elements = _parts(new)
    if old_shape != new_shape:
        return None
    cmds: list[Json] = []
    chains: list[str] = []
    for name, elem in new_elements.items():
        if old_elements.get(name) != elem:
            ref = next(
                c["add"]["set"] for c in new_shape if c["add"].get("set", {}).get("name") == name
            )
            where = {k: ref[k] for k in ("family", "table", "name")}
            cmds.append({"flush": {"set": where}})
            if elem:
                cmds.append({"add": {"element": {**where, "elem": elem}}})
    for chain, rules in new_rules.items():
        if old_rules.get(chain) != rules:
            ref = next(
                c["add"]["chain"]
                for c in new_shape
                if c["add"].get("chain", {}).get("name") == chain
            )
            cmds.append({"flush": {"chain": {k: ref[k] for k in ("family", "table", "name")}}})
            cmds += rules
            chains.append(chain)
    return cmds, chains
