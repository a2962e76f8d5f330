"""AWS wording of `netemu apply`'s changes: one line per change, as the console says it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netemu.model.types import (
    PROTO_ALL,
    Model,
    NetworkAclRule,
    NetworkAclRule6,
    Route,
    Route6,
    SecurityGroupRule,
)
from netemu.render.nft import PROTO_NAMES


@dataclass(frozen=True)
class Change:
    action: str  # the AWS verb: authorize, revoke, create, delete, replace, associate, ...
    resource: str  # the object changed, e.g. "security_group:web"
    text: str  # the whole line, e.g. "authorize sg-web ingress tcp/443 from 0.0.0.0/0"

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "text": self.text}


def _c(action: str, resource: str, text: str) -> Change:
    return Change(action, resource, text)


def traffic(protocol: int, ports: tuple[int, int] | None, icmp: tuple[Any, Any]) -> str:
    """`tcp/443`, `tcp/1024-65535`, `icmp/8:0`, `all` (the console's wording, compressed)."""
    if protocol == PROTO_ALL:
        return "all"
    name = PROTO_NAMES.get(protocol, str(protocol))
    if ports:
        lo, hi = ports
        return f"{name}/{lo}" if lo == hi else f"{name}/{lo}-{hi}"
    if protocol == 1:
        kind, code = icmp
        if kind is None or kind < 0:
            return "icmp/all"
        return f"icmp/{kind}" + ("" if code is None or code < 0 else f":{code}")
    return name


def _group_name(model: Model, group_id: str) -> str:
    g = model.security_groups.get(group_id)
    return g.name if g else group_id


def sg_rule_text(model: Model, rule: SecurityGroupRule, direction: str) -> str:
    what = traffic(rule.protocol, rule.ports, (rule.icmp_type, rule.icmp_code))
    peer = (
        str(rule.cidr)
        if rule.cidr is not None
        else str(rule.cidr_ipv6)
        if rule.cidr_ipv6 is not None
        else f"pl {rule.prefix_list}"
        if rule.prefix_list is not None
        else f"sg-{_group_name(model, rule.security_group or '')}"
    )
    return f"{what} {'from' if direction == 'ingress' else 'to'} {peer}"


def _sg_key(model: Model, rule: SecurityGroupRule) -> tuple[Any, ...]:
    peer = (
        str(rule.cidr)
        if rule.cidr is not None
        else str(rule.cidr_ipv6)
        if rule.cidr_ipv6 is not None
        else ("pl", rule.prefix_list)
        if rule.prefix_list is not None
        else ("sg", _group_name(model, rule.security_group or ""))
    )
    return (rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code, peer)


def acl_rule_text(rule: NetworkAclRule | NetworkAclRule6, direction: str) -> str:
    what = traffic(rule.protocol, rule.ports, (rule.icmp_type, rule.icmp_code))
    where = "from" if direction == "ingress" else "to"
    return f"{rule.number} {rule.action} {what} {where} {rule.cidr}"


def route_target(route: Route | Route6) -> str:
    if route.target_kind == "blackhole":
        return "blackhole"
    if route.target_kind == "local":
        return "local"
    if route.target_kind == "vpc_endpoint":  # the endpoint's prefix-list route (17.2)
        return f"vpc endpoint {route.target}"
    return route.target or route.target_kind
