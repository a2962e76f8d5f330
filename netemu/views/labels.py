"""Short texts of AWS rules for diagram labels: routes, security group and ACL rules."""

from __future__ import annotations

from netemu.model.types import Model, NetworkAcl, NetworkAclRule, RouteTable, SecurityGroupRule
from netemu.model.validate_traffic import protocol_name


def routes(table: RouteTable) -> list[str]:
    return [
        f"{r.destination} → {'local' if r.target_kind == 'local' else r.target or r.target_kind}"
        for r in table.routes
    ]


def _traffic(protocol: int, ports: tuple[int, int] | None, icmp_type: int | None) -> str:
    name = protocol_name(protocol)
    if ports:
        lo, hi = ports
        return f"{name}/{lo}" if lo == hi else f"{name}/{lo}-{hi}"
    if protocol == 1 and icmp_type is not None and icmp_type >= 0:
        return f"icmp type {icmp_type}"
    return name


def _sg_rule(model: Model, r: SecurityGroupRule) -> str:
    net = r.cidr or r.cidr_ipv6  # an IPv6 rule has only cidr_ipv6 (16.6)
    peer = str(net) if net else f"sg {model.security_groups[r.security_group or ''].name}"
    return f"{_traffic(r.protocol, r.ports, r.icmp_type)} {peer}"


def security_groups(model: Model, vpc: str) -> list[str]:
    """One line per group of the VPC that an ENI uses: `name  in: ...  out: ...`."""
    used = {g for e in model.enis() for g in e.security_groups}
    out = []
    for g in model.security_groups.values():
        if g.vpc != vpc or g.id not in used:
            continue
        ins = ", ".join(_sg_rule(model, r) for r in g.ingress) or "nothing"
        outs = ", ".join(_sg_rule(model, r) for r in g.egress) or "nothing"
        out.append(f"{g.name}  in: {ins}  out: {outs}")
    return out


def _acl_rule(r: NetworkAclRule) -> str:
    return f"{r.number} {r.action} {_traffic(r.protocol, r.ports, r.icmp_type)} {r.cidr}"


def _acl_rules(rules: tuple[NetworkAclRule, ...]) -> str:
    return ", ".join([*(_acl_rule(r) for r in rules), "* deny"])


def network_acls(model: Model, vpc: str) -> list[str]:
    """One line per ACL of the VPC that a subnet uses; the `*` deny closes each list."""
    used = {s.network_acl for s in model.subnets.values()}
    acls: list[NetworkAcl] = [a for a in model.network_acls.values() if a.vpc == vpc]
    return [
        f"{a.name}  in: {_acl_rules(a.ingress)}  out: {_acl_rules(a.egress)}"
        for a in acls
        if a.name in used
    ]
