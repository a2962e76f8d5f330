"""The smallest nftables transaction from one ruleset of a namespace to another: the chains
whose rules differ are flushed and refilled, in one transaction, so a packet sees either
the old or the new rules of every chain. A change of the table's shape (chains added or
removed, a hook or priority changed, a set or map changed) replaces the whole table."""

from __future__ import annotations

from typing import Any

from netemu.render.plan import Ruleset

Json = dict[str, Any]


def _parts(rs: Ruleset) -> tuple[list[Json], dict[str, list[Json]]]:
    shape: list[Json] = []
    rules: dict[str, list[Json]] = {}
    for cmd in rs.commands:
        body = cmd.get("add", {})
        if "rule" in body:
            rules.setdefault(body["rule"]["chain"], []).append(cmd)
        else:
            shape.append(cmd)
            if "chain" in body:
                rules.setdefault(body["chain"]["name"], [])
    return shape, rules


def delta(old: Ruleset, new: Ruleset) -> tuple[list[Json], list[str]] | None:
    """(commands, names of the chains they refill), or None when only a replacement of the
    whole table will do."""
    old_shape, old_rules = _parts(old)
    new_shape, new_rules = _parts(new)
    if old_shape != new_shape:
        return None
    cmds: list[Json] = []
    chains: list[str] = []
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
