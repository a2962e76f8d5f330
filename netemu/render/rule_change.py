"""A change of security-group rules alone, rendered chain by chain: the subnets' rulesets
as they were, with only the chains those rules fill rendered again (`apply`, ops.plans).

A subnet holding a thousand ENIs has thousands of chains, and a rule of one group fills
two or three of them; rendering the namespace again would redo them all. The result is
exactly what `render.subnet_rulesets` gives for the new model (tests/unit/test_rule_change.py
holds the two equal), or None where that cannot be promised cheaply, and the caller then
renders the subnets in full. Whoever makes group rules render anything outside the chains
`security_group.rule_chains` names must add it there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from netemu.model.types import Model
from netemu.render import names as n
from netemu.render import nft, security_group
from netemu.render.plan import Ruleset

_SET_REF = re.compile(r'"@([^"\\]+)"')  # a named set in nftables JSON: "@name"

Json = dict[str, Any]


def security_group_rules(
    old: Model, new: Model, groups: set[str], before: Sequence[Ruleset]
) -> list[Ruleset] | None:
    """The subnets' rulesets for `new`, from `before` (those of `old`, in the order
    `subnet_rulesets` gives them), where the two models differ in nothing but the rules of
    `groups`. A subnet the change does not reach keeps its Ruleset object itself. None
    when a subnet's sets of group members would change (a rule that starts or stops
    referring to a group): the table's shape changes, and a full render is simpler."""
    subnets = list(new.subnets.values())
    if len(before) != len(subnets):
        return None
    out: list[Ruleset] = []
    for sub, rs in zip(subnets, before, strict=True):
        if rs.ns != n.subnet_ns(new.name, sub.name):
            return None
        enis = [e for e in new.enis_in(sub.name) if e.owner_kind == "instance"]
        if security_group.referenced(old, enis) != security_group.referenced(new, enis):
            return None
        fresh = security_group.rule_chains(new, sub.name, groups)
        if not fresh:
            out.append(rs)
            continue
        commands = _splice(rs.commands, fresh)
        if commands is None or not _sets_declared(fresh, rs.commands):
            return None
        out.append(rs if commands == rs.commands else Ruleset(rs.ns, commands))
    return out


def _splice(commands: Sequence[Json], fresh: dict[str, list[Json]]) -> tuple[Json, ...] | None:
    """`commands` with each chain named in `fresh` (its `add chain` and the rules right
    after it) replaced by fresh's block; None if such a chain is missing or has a rule
    anywhere else (the block would not be the whole chain). One pass, kept tight: a
    subnet of a thousand ENIs has tens of thousands of commands."""
    out: list[Json] = []
    placed: set[str] = set()
    current = None  # the replaced chain whose old rules are being skipped
    for cmd in commands:
        body = cmd.get("add")
        if body is None:
            if any(_names(b, fresh) for b in cmd.values()):
                return None  # another verb on a replaced chain: not a plain block
            current = None
            out.append(cmd)
            continue
        rule = body.get("rule")
        if rule is not None:
            if rule["chain"] in fresh and rule.get("family") == nft.FAMILY:
                if rule["chain"] != current:
                    return None
                continue
        else:
            chain = body.get("chain")
            if chain is not None and chain["name"] in fresh and chain.get("family") == nft.FAMILY:
                if chain["name"] in placed:
                    return None
                placed.add(chain["name"])
                out += fresh[chain["name"]]
                current = chain["name"]
                continue
        current = None
        out.append(cmd)
    return tuple(out) if len(placed) == len(fresh) else None


def _names(body: Any, chains: dict[str, list[Json]]) -> bool:
    """The body of a command other than `add` names one of `chains`."""
    if not isinstance(body, dict):
        return False
    obj = body.get("rule") or body.get("chain")
    if not isinstance(obj, dict):
        return False
    return obj.get("chain", obj.get("name")) in chains


def _sets_declared(fresh: dict[str, list[Json]], commands: Sequence[Json]) -> bool:
    """Every named set the fresh chains refer to (`@name`) is declared in the ruleset: a
    rule kind rendered with a set of its own elsewhere in the namespace (one not known
    here) sends the change to a full render instead of to a table that lacks the set."""
    # Found in the blocks' JSON text: a walk of every value of every rule cost more.
    wanted = set(_SET_REF.findall(json.dumps(list(fresh.values()))))
    if not wanted:
        return True
    declared = {
        body[kind]["name"]
        for cmd in commands
        if isinstance(body := cmd.get("add"), dict)
        for kind in ("set", "map")
        if kind in body
    }
    return wanted <= declared
