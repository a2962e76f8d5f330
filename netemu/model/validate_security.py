"""Security groups and network ACLs: the defaults every VPC gets, declared ones, their rules."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network
from typing import Literal, TypeVar

from netemu.model import validate_prefix_lists as pl
from netemu.model.aws_services import managed_prefix_lists
from netemu.model.types import (
    PROTO_ALL,
    PROTO_ICMP,
    PROTO_ICMPV6,
    NetworkAcl,
    NetworkAclRule,
    NetworkAclRule6,
    SecurityGroup,
    SecurityGroupRule,
)
from netemu.model.validate_context import ACL, GROUP, PL, Ctx, aws, q, suggest
from netemu.model.validate_fields import (
    as_list,
    as_map,
    check_keys,
    cidr,
    integer,
    object_id,
    object_name,
    section,
    text,
)
from netemu.model.validate_ipv6 import ANY6, cidr6, is_v6
from netemu.model.validate_managed_prefix_lists import managed_list
from netemu.model.validate_network import vpc_ref
from netemu.model.validate_peering import peer_of
from netemu.model.validate_traffic import TRAFFIC_KEYS, traffic
from netemu.scenario import Node

R = TypeVar("R")

ANY = IPv4Network("0.0.0.0/0")
SG_KEYS = ("id", "vpc", "ingress", "egress", "description")
SG_RULE_KEYS = (
    *TRAFFIC_KEYS,
    *("cidr", "security_group", "description", "cidr_ipv6", "prefix_list_id"),
)
ACL_KEYS = ("id", "vpc", "ingress", "egress")
ACL_RULE_KEYS = ("rule", *TRAFFIC_KEYS, "cidr", "action", "cidr_ipv6")
_NEEDS4 = ("rule", "protocol", "cidr", "action")
_NEEDS6 = ("rule", "protocol", "action")  # an IPv6 entry names cidr_ipv6 instead
DEFAULT_RULES_KEYS = ("id", "ingress", "egress")
MAX_SG_RULES = 60  # per direction, ref 7.9
MAX_ACL_RULES = 19  # per direction, 20 including the `*` rule, ref 8.11

_ALLOW_ALL_SG = SecurityGroupRule(0, PROTO_ALL, None, None, None, ANY, None)  # ref 7.3, 7.4
_ALLOW_ALL_ACL = NetworkAclRule(100, PROTO_ALL, None, None, None, ANY, "allow")  # ref 8.4
# With an IPv6 block: all outbound to ::/0 (7.4) and the default ACL's rule 101 (8.4).
_ALLOW_ALL_SG6 = SecurityGroupRule(1, PROTO_ALL, None, None, None, None, None, cidr_ipv6=ANY6)
_ALLOW_ALL_ACL6 = NetworkAclRule6(101, PROTO_ALL, None, None, None, ANY6, "allow")


def _all_out(ctx: Ctx, vpc: str) -> tuple[SecurityGroupRule, ...]:
    """A new group's outbound rules: all IPv4, and all IPv6 when the VPC has IPv6 (7.3, 7.4)."""
    six = ctx.vpcs[vpc].ipv6_cidr is not None
    return (_ALLOW_ALL_SG, _ALLOW_ALL_SG6) if six else (_ALLOW_ALL_SG,)


def _defaults_spec(ctx: Ctx, vpc: str, key: str, report: bool = True) -> dict[str, Node]:
    """vpcs.<vpc>.default_security_group / default_network_acl as a checked mapping;
    report=False reads it a second time without repeating its problems."""
    node = ctx.vpc_raw.get(vpc, {}).get(key)
    if node is None:
        return {}
    what = f"VPC {q(vpc)} {key}"
    if not report:
        return node.value if isinstance(node.value, dict) else {}
    spec = as_map(ctx, node, what) or {}
    check_keys(ctx, spec, node, what, DEFAULT_RULES_KEYS)
    return spec


def _direction(
    ctx: Ctx,
    spec: dict[str, Node],
    key: str,
    default: tuple[R, ...],
    read: Callable[[Ctx, Node, str], tuple[R, ...]],
    what: str,
) -> tuple[R, ...]:
    node = spec.get(key)
    return default if node is None else read(ctx, node, f"{what} {key}")


# -- security groups ----------------------------------------------------------------------


def read_security_groups(ctx: Ctx, top: dict[str, Node]) -> None:
    for owner in ctx.vpcs.values():  # ids first: rules may reference any group of the VPC
        spec = _defaults_spec(ctx, owner.name, "default_security_group")
        what = f"VPC {q(owner.name)} default security group"
        default_id = object_id(ctx, spec, "sg", f"{owner.name}/default", what)
        ctx.group_ids[owner.name] = {"default": default_id}
    heads: list[tuple[str, str, dict[str, Node]]] = []
    for name, node in section(ctx, top, "security_groups").items():
        object_name(ctx, GROUP, name, node)
        what = f"security group {q(name)}"
        if name == "default":
            rule = aws("every VPC already has a group named default; its rules are editable", "7.4")
            msg = f"{what}: change the default group under vpcs.<vpc>.default_security_group"
            ctx.error(node.where, msg + rule)
            continue
        if name.startswith("sg-"):
            rule = aws("a group name may not start with sg-", "7.8")
            ctx.error(node.where, f"{what}: the name starts with 'sg-'" + rule)
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, SG_KEYS, ("vpc",))
        vpc = vpc_ref(ctx, m, what)
        if vpc is None:
            continue
        ctx.group_ids[vpc.name][name] = object_id(ctx, m, "sg", name, what)
        ctx.group_vpc[name] = vpc.name
        if "description" in m:
            text(ctx, m["description"], f"{what} description")
        heads.append((name, vpc.name, m))
    for owner in ctx.vpcs.values():  # ref 7.4: all from members of itself, all out
        own = ctx.group_ids[owner.name]["default"]
        spec = _defaults_spec(ctx, owner.name, "default_security_group", report=False)
        what = f"VPC {q(owner.name)} default security group"
        self_rule = SecurityGroupRule(0, PROTO_ALL, None, None, None, None, own)
        reader = _sg_reader(owner.name)
        ingress = _direction(ctx, spec, "ingress", (self_rule,), reader, what)
        egress = _direction(ctx, spec, "egress", _all_out(ctx, owner.name), reader, what)
        group = SecurityGroup("default", own, owner.name, ingress, egress, is_default=True)
        ctx.security_groups[own] = group
    for name, vpc_name, m in heads:  # ref 7.3: no inbound, all outbound unless given
        what = f"security group {q(name)}"
        reader = _sg_reader(vpc_name)
        ingress = _direction(ctx, m, "ingress", (), reader, what)
        egress = _direction(ctx, m, "egress", _all_out(ctx, vpc_name), reader, what)
        group_id = ctx.group_ids[vpc_name][name]
        ctx.security_groups[group_id] = SecurityGroup(name, group_id, vpc_name, ingress, egress)


def _sg_reader(vpc: str) -> Callable[[Ctx, Node, str], tuple[SecurityGroupRule, ...]]:
    def read(ctx: Ctx, node: Node, what: str) -> tuple[SecurityGroupRule, ...]:
        return sg_rules(ctx, node, what, vpc)

    return read


def sg_rules(ctx: Ctx, node: Node, what: str, vpc: str) -> tuple[SecurityGroupRule, ...]:
    items = as_list(ctx, node, what)
    quota = "a security group has at most 60 inbound and 60 outbound rules"
    pl.check_quota(ctx, items, what, "prefix_list_id", MAX_SG_RULES, quota, "7.9")
    rules: list[SecurityGroupRule] = []
    for index, item in enumerate(items):
        rwhat = f"{what} rule {index + 1}"
        m = as_map(ctx, item, rwhat, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, item, rwhat, SG_RULE_KEYS, ("protocol",))
        spec = traffic(ctx, m, item, rwhat, "7.5")
        peers = [k for k in ("cidr", "cidr_ipv6", "security_group", "prefix_list_id") if k in m]
        if len(peers) != 1:
            rule = aws("a rule has one source or destination: a CIDR, a group or a list", "7.5")
            msg = f"{rwhat} needs exactly one of 'cidr' or 'security_group' (or 'cidr_ipv6'"
            ctx.error(item.where, msg + " or 'prefix_list_id')" + rule)
        net6 = _rule_cidr6(ctx, m, rwhat, spec.protocol if spec else None)
        net = cidr(ctx, m["cidr"], f"{rwhat} cidr") if "cidr" in m and net6 is None else None
        peer = _group_ref(ctx, m["security_group"], rwhat, vpc) if "security_group" in m else None
        if "description" in m:
            text(ctx, m["description"], f"{rwhat} description")
        desc = m["description"].value if "description" in m else None
        if "prefix_list_id" in m and _aws_managed(ctx, m["prefix_list_id"]):  # 17.7
            aws_list = managed_list(ctx, m["prefix_list_id"], rwhat)
            if spec is None or len(peers) != 1 or aws_list is None:
                continue
            rules += [
                SecurityGroupRule(
                    index,
                    *spec,
                    cidr=c,
                    security_group=None,
                    pos=item.pos,
                    description=desc if isinstance(desc, str) else None,
                    prefix_list_id=aws_list.id,
                )
                for c in aws_list.cidrs
            ]
            continue
        plist = _prefix_list(ctx, m, rwhat)  # a customer-managed list (19.3)
        if spec is None or len(peers) != 1 or (net, peer, net6, plist) == (None,) * 4:
            continue
        rules.append(
            SecurityGroupRule(
                index,
                *spec,
                cidr=net,
                security_group=peer,
                pos=item.pos,
                description=desc if isinstance(desc, str) else None,
                cidr_ipv6=net6,
                prefix_list=plist,
            )
        )
    return tuple(rules)


def _aws_managed(ctx: Ctx, node: Node) -> bool:
    """Whether a rule's `prefix_list_id` names an AWS-managed list of the Region (17.6) rather
    than one of the scenario's own (19.3): an id of neither is reported as AWS-managed, with
    the Region's list ids."""
    ref = node.value
    if not isinstance(ref, str):
        return False
    return ref in managed_prefix_lists(ctx.region) or (
        ref.startswith("pl-") and pl.find(ctx, ref) is None and not ctx.is_declared(PL, ref)
    )


def _prefix_list(ctx: Ctx, m: dict[str, Node], what: str) -> str | None:
    """A rule's `prefix_list_id` (PrefixListId, 7.5, 19.3): the list's name."""
    node = m.get("prefix_list_id")
    found = pl.prefix_list_ref(ctx, node, f"{what} prefix_list_id") if node is not None else None
    return found.name if found is not None else None


def _rule_cidr6(ctx: Ctx, m: dict[str, Node], what: str, proto: int | None) -> IPv6Network | None:
    """A rule's IPv6 CIDR: `cidr_ipv6`, or an IPv6 `cidr` (CidrIpv6 / Ipv6CidrBlock, 7.5)."""
    key = "cidr_ipv6" if "cidr_ipv6" in m else "cidr"
    if key not in m or (key == "cidr" and not is_v6(m["cidr"])):
        if proto == PROTO_ICMPV6 and key in m:
            ctx.warn(m[key], f"{what}: icmpv6 never matches IPv4 traffic (ref 8.8)")
        return None
    net = cidr6(ctx, m[key], f"{what} {key}")
    if net is not None and proto == PROTO_ICMP:
        ctx.warn(m[key], f"{what}: icmp never matches IPv6 traffic; use icmpv6 (ref 8.8)")
    return net


def _group_ref(ctx: Ctx, node: Node, what: str, vpc: str) -> str | None:
    """A group name of the same VPC -> its id (ref 7.6); `default` is the VPC's own."""
    name = text(ctx, node, f"{what} security_group")
    if name is None:
        return None
    ids = ctx.group_ids.get(vpc, {})
    if name in ids:
        return ids[name]
    owner = ctx.group_vpc.get(name)
    if owner is not None and peer_of(ctx, vpc, owner) is not None:
        return ctx.group_ids[owner][name]  # a group of an actively peered VPC (1.16)
    if owner is not None:
        rule = aws("a rule references a group of its own VPC or of an active peer VPC", "7.6, 1.16")
        ctx.error(
            node, f"{what} references group {q(name)} of VPC {q(owner)}, not of {q(vpc)}" + rule
        )
    elif not ctx.is_declared(GROUP, name):
        hint = suggest(name, ids, f"security groups of {q(vpc)}")
        ctx.error(node, f"{what} refers to unknown security group {q(name)}{hint}")
    return None


def group_list(ctx: Ctx, node: Node | None, what: str, vpc: str) -> tuple[str, ...]:
    """An ENI's groups: names in its VPC, default [default], at most 5, no duplicates."""
    items = as_list(ctx, node, f"{what} security_groups")
    if not items:  # ref 7.1: no group given -> the VPC's default group
        return (ctx.group_ids.get(vpc, {}).get("default", ""),)
    if len(items) > 5:
        rule = aws("an ENI has at most 5 security groups", "7.1")
        ctx.error(node, f"{what} lists {len(items)} security groups" + rule)
    out: list[str] = []
    for item in items:
        group_id = _group_ref(ctx, item, what, vpc)
        if group_id is not None and group_id in out:
            ctx.error(item, f"{what} lists security group {q(str(item.value))} twice")
        elif group_id is not None:
            out.append(group_id)
    return tuple(out)


# -- network ACLs -------------------------------------------------------------------------


def read_network_acls(ctx: Ctx, top: dict[str, Node]) -> None:
    for owner in ctx.vpcs.values():  # ref 8.4: rule 100 allows all, both ways
        name = f"{owner.name}-default"
        spec = _defaults_spec(ctx, owner.name, "default_network_acl")
        what = f"network ACL {q(name)}"
        six = (_ALLOW_ALL_ACL6,) if owner.ipv6_cidr is not None else ()
        ingress = _direction(ctx, spec, "ingress", (_ALLOW_ALL_ACL, *six), acl_rules, what)
        egress = _direction(ctx, spec, "egress", (_ALLOW_ALL_ACL, *six), acl_rules, what)
        acl_id = object_id(ctx, spec, "acl", name, what)
        ctx.network_acls[name] = _acl(name, acl_id, owner.name, ingress, egress, True)
        ctx.default_acl[owner.name] = name
        ctx.declare(ACL, name, None)
    for name, node in section(ctx, top, "network_acls").items():
        object_name(ctx, ACL, name, node)
        what = f"network ACL {q(name)}"
        if name in ctx.network_acls:
            msg = f"{what}: the name is taken by the default network ACL of VPC"
            ctx.error(node.where, f"{msg} {q(ctx.network_acls[name].vpc)}; pick another name")
            continue
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, ACL_KEYS, ("vpc",))
        vpc = vpc_ref(ctx, m, what)
        ingress = _direction(ctx, m, "ingress", (), acl_rules, what)  # ref 8.5: none = deny all
        egress = _direction(ctx, m, "egress", (), acl_rules, what)
        acl_id = object_id(ctx, m, "acl", name, what)
        if vpc is not None:
            ctx.network_acls[name] = _acl(name, acl_id, vpc.name, ingress, egress)


_AclRules = tuple[NetworkAclRule | NetworkAclRule6, ...]


def _acl(
    name: str, acl_id: str, vpc: str, ingress: _AclRules, egress: _AclRules, default: bool = False
) -> NetworkAcl:
    """The ACL with its IPv4 and IPv6 entries in separate lists (ref 8.7)."""

    def four(rules: _AclRules) -> tuple[NetworkAclRule, ...]:
        return tuple(r for r in rules if isinstance(r, NetworkAclRule))

    def six(rules: _AclRules) -> tuple[NetworkAclRule6, ...]:
        return tuple(r for r in rules if isinstance(r, NetworkAclRule6))

    return NetworkAcl(
        *(name, acl_id, vpc, four(ingress), four(egress), default),
        ingress_ipv6=six(ingress),
        egress_ipv6=six(egress),
    )


def acl_rules(ctx: Ctx, node: Node, what: str) -> _AclRules:
    items = as_list(ctx, node, what)
    if len(items) > MAX_ACL_RULES:
        rule = aws("a network ACL has at most 20 rules per direction, the * rule included", "8.11")
        ctx.error(items[MAX_ACL_RULES], f"{what} has {len(items)} rules" + rule)
    rules: list[NetworkAclRule | NetworkAclRule6] = []
    numbers: dict[tuple[bool, int], int] = {}
    for index, item in enumerate(items):
        rwhat = f"{what} rule {index + 1}"
        m = as_map(ctx, item, rwhat, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, item, rwhat, ACL_RULE_KEYS, _NEEDS6 if "cidr_ipv6" in m else _NEEDS4)
        cidrs = [k for k in ("cidr", "cidr_ipv6") if k in m]
        if len(cidrs) > 1:
            rule = aws("an entry has one CidrBlock or Ipv6CidrBlock", "8.8")
            ctx.error(item.where, f"{rwhat} needs exactly one of 'cidr' or 'cidr_ipv6'" + rule)
        family6 = "cidr_ipv6" in m or is_v6(m.get("cidr"))
        number = None
        if "rule" in m:
            nrule = aws("rule numbers are 1 to 32766", "8.2")
            number = integer(ctx, m["rule"], f"{rwhat} number", 1, 32766, nrule)
            if number is not None and (family6, number) in numbers:
                rule = aws("a rule number is unique within its direction", "8.7")
                used = numbers[(family6, number)]
                msg = f"{rwhat}: rule number {number} is already used by rule {used}"
                ctx.error(m["rule"], msg + rule)
                number = None
            elif number is not None:
                numbers[(family6, number)] = index + 1
        spec = traffic(ctx, m, item, rwhat, "8.8")
        net6 = _rule_cidr6(ctx, m, rwhat, spec.protocol if spec else None)
        net = cidr(ctx, m["cidr"], f"{rwhat} cidr") if "cidr" in m and not family6 else None
        action = _action(ctx, m["action"], rwhat) if "action" in m else None
        if number is None or spec is None or action is None or len(cidrs) != 1:
            continue
        if net6 is not None:
            rules.append(NetworkAclRule6(number, *spec, cidr=net6, action=action, pos=item.pos))
        elif net is not None:
            rules.append(NetworkAclRule(number, *spec, cidr=net, action=action, pos=item.pos))
    return tuple(sorted(rules, key=lambda r: r.number))  # ref 8.2: lowest number first


def _action(ctx: Ctx, node: Node, what: str) -> Literal["allow", "deny"] | None:
    raw = text(ctx, node, f"{what} action")
    if raw == "allow":
        return "allow"
    if raw == "deny":
        return "deny"
    if raw is not None:
        rule = aws("each rule either allows or denies", "8.2")
        ctx.error(node, f"{what} action {q(raw)} must be allow or deny" + rule)
    return None
