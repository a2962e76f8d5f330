"""What AWS refuses to change on a live object, refused by `netemu apply` with AWS's error
at the place in the file that asks for it; nothing is changed then (1.6, 2.1, 2.2)."""

from __future__ import annotations

from netemu.errors import Problem, ScenarioInvalid
from netemu.model.types import Model
from netemu.ops import network_interfaces, prefix_lists
from netemu.scenario import Node, load


def refuse_forbidden(old: Model, new: Model, path: str) -> None:
    """What AWS does not allow on a live object, with AWS's error; nothing is changed."""
    problems: list[Problem] = []
    raw: Node | None = None

    def where(*keys: str) -> Problem:
        nonlocal raw
        if raw is None:
            raw = load(path)
        node: Node | None = raw
        for k in keys:
            if node is None or not isinstance(node.value, dict):
                node = None
                break
            node = node.value.get(k)
        return Problem(node.where if node else None, "", file=path)

    def fail(keys: tuple[str, ...], message: str) -> None:
        problems.append(Problem(where(*keys).pos, message, file=path))

    if old.region != new.region:
        fail(("region",), f"InvalidParameterValue: a running scenario's region cannot change "
             f"({old.region} -> {new.region}); bring it down and up again")  # fmt: skip
    for v, vpc in new.vpcs.items():
        was = old.vpcs.get(v)
        if was is not None and was.cidr != vpc.cidr:
            fail(("vpcs", v, "cidr"), f"OperationNotPermitted: the primary CIDR block {was.cidr} "
                 f"of vpc {v} cannot be changed to {vpc.cidr}; an existing CIDR block cannot be "
                 "resized or replaced (1.6): create a new VPC")  # fmt: skip
    for s, sub in new.subnets.items():
        prev = old.subnets.get(s)
        if prev is None:
            continue
        refused = "OperationNotPermitted: "
        if prev.cidr != sub.cidr:
            refused += (
                f"the CIDR block {prev.cidr} of subnet {s} cannot be changed to {sub.cidr} "
                "(2.1): create a new subnet"
            )
            fail(("subnets", s, "cidr"), refused)
        elif prev.vpc != sub.vpc:
            refused += f"subnet {s} cannot move from vpc {prev.vpc} to vpc {sub.vpc}"
            fail(("subnets", s, "vpc"), refused + ": create a new subnet")
        elif prev.az != sub.az:
            refused += f"subnet {s} cannot move from {prev.az} to {sub.az}"
            fail(("subnets", s, "az"), refused + "; a subnet lives in one Availability Zone (2.2)")
    for keys, message in prefix_lists.refusals(old, new):  # 19.1
        fail(keys, message)
    for keys, message in network_interfaces.refused(old, new):  # a live ENI (9.7)
        fail(keys, message)
    if problems:
        raise ScenarioInvalid(problems)
