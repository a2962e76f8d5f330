"""The running and the wanted scenario as models and plans, computed no more than a change
needs: nothing for an equal model, only the chains the changed rules fill for a change of
security-group rules alone (the common live change, render.rule_change), the subnets'
rulesets for a change of security groups and network ACLs, whole plans otherwise."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netemu.driver import state as st
from netemu.model.types import Model
from netemu.render import render
from netemu.render.plan import Plan

if TYPE_CHECKING:
    from netemu.driver.nft_contexts import NftContexts


@dataclass(frozen=True)
class Running:
    """A running scenario's model and plan, as an in-process caller (the API endpoint) may
    keep them between applies to spare computing them again from the state directory."""

    model: Model
    plan: Plan
    # libnftables contexts with the namespaces' tables cached (driver.nft_contexts):
    # a chain refilled through one costs a tenth of one made afresh.
    nft: NftContexts | None = field(default=None, compare=False)


def plans(old: Model, new: Model, running: Running | None) -> tuple[Plan, Plan, Plan | None]:
    """(before, after, the whole plan after or None if not computed). The plan is a function
    of the model, so an equal model needs no rendering; a change of security-group rules
    and network ACLs only (the common live change) reaches nothing but the subnets'
    rulesets (render.subnet, first in a plan's rulesets), so only those are rendered and
    compared, in plans that hold nothing else."""
    from netemu.render import subnet_rulesets

    # Both without positions, made once: comparing them is most of a rule change's cost.
    a, b = _positionless(old, new), _positionless(new, new)
    if a == b:
        plan = running.plan if running else Plan(new.name, ())
        return plan, plan, running.plan if running else None
    if _filters_only(a, b):
        spliced = _group_rules_only(old, new, running, _changed_groups(a, b))
        if spliced is not None:
            return spliced
        fresh = tuple(subnet_rulesets(new))
        was = running.plan.rulesets[: len(fresh)] if running else tuple(subnet_rulesets(old))
        whole = None
        if running:
            whole = dataclasses.replace(
                running.plan, rulesets=(*fresh, *running.plan.rulesets[len(fresh) :])
            )
        return Plan(new.name, (), rulesets=was), Plan(new.name, (), rulesets=fresh), whole
    before = running.plan if running else render(old)
    after = render(new)
    return before, after, after


def _group_rules_only(
    old: Model, new: Model, running: Running | None, groups: set[str] | None
) -> tuple[Plan, Plan, Plan | None] | None:
    """`plans` for a change of the rules of security groups `groups` and nothing else (None:
    not such a change): the subnets' rulesets with only the chains those rules fill
    rendered again (render.rule_change), and the plans holding only the subnets whose
    ruleset changed. None for any other change."""
    from netemu.render import rule_change, subnet_rulesets

    if groups is None:
        return None
    count = len(new.subnets)
    was = running.plan.rulesets[:count] if running else tuple(subnet_rulesets(old))
    fresh = rule_change.security_group_rules(old, new, groups, was)
    if fresh is None:
        return None
    whole = None
    if running:
        whole = dataclasses.replace(running.plan, rulesets=(*fresh, *running.plan.rulesets[count:]))
    pairs = [(a, b) for a, b in zip(was, fresh, strict=True) if a is not b]
    before = Plan(new.name, (), rulesets=tuple(a for a, _ in pairs))
    return before, Plan(new.name, (), rulesets=tuple(b for _, b in pairs)), whole


def changed_groups(old: Model, new: Model) -> set[str] | None:
    """The security groups whose rules differ (positions aside), when nothing else of any
    group or network ACL does; else None."""
    return _changed_groups(_positionless(old, new), _positionless(new, new))


def _changed_groups(a: Model, b: Model) -> set[str] | None:
    """The security groups whose rules differ between position-free models `a` and `b`,
    when nothing else of any group or network ACL does; else None."""
    if a.network_acls != b.network_acls or a.security_groups.keys() != b.security_groups.keys():
        return None
    out = set()
    for key, was in a.security_groups.items():
        now = b.security_groups[key]
        if was == now:
            continue
        if dataclasses.replace(was, ingress=(), egress=()) != dataclasses.replace(
            now, ingress=(), egress=()
        ):
            return None
        out.add(key)
    return out


def filters_only(old: Model, new: Model) -> bool:
    """Only security groups and network ACLs differ (positions in the file aside)."""
    return _filters_only(_positionless(old, new), _positionless(new, new))


def _filters_only(a: Model, b: Model) -> bool:
    same = dataclasses.replace(a, security_groups=b.security_groups, network_acls=b.network_acls)
    return same == b


def running_model(scenario: str, state: st.State) -> Model:
    """lifecycle.running_model, with positions naming the file the scenario came from
    rather than its copy, so that an unchanged file gives an equal model."""
    from netemu import instance_state
    from netemu.driver import model_cache
    from netemu.model import load_model_text

    copy = st.scenario_copy(scenario, state.source)

    def load() -> Model:
        with open(copy, encoding="utf-8") as f:
            model, _ = load_model_text(f.read(), state.source)
        return instance_state.apply_overrides(model, state.overrides)

    return model_cache.cached(scenario, copy, state.overrides, load, state.source)


def _positionless(model: Model, like: Model) -> Model:
    """`model` without the positions in the file, with `like`'s file and checks."""
    tables = {
        k: dataclasses.replace(t, routes=tuple(dataclasses.replace(r, pos=None) for r in t.routes))
        for k, t in model.route_tables.items()
    }
    groups = {
        k: dataclasses.replace(
            g,
            ingress=tuple(dataclasses.replace(r, pos=None) for r in g.ingress),
            egress=tuple(dataclasses.replace(r, pos=None) for r in g.egress),
        )
        for k, g in model.security_groups.items()
    }
    acls = {
        k: dataclasses.replace(
            a,
            ingress=tuple(dataclasses.replace(r, pos=None) for r in a.ingress),
            egress=tuple(dataclasses.replace(r, pos=None) for r in a.egress),
        )
        for k, a in model.network_acls.items()
    }
    return dataclasses.replace(
        model, route_tables=tables, security_groups=groups, network_acls=acls,
        source=like.source, expectations=like.expectations,
    )  # fmt: skip
